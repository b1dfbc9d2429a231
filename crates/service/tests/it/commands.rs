//! Commands through the real path: decide, append to a real nats-server, read back.

use std::sync::Arc;

use styr_domain::{Event, Rule};
use styr_service::snapshot::Snapshots;
use styr_service::{example, Kommuner, Outcome, Submission};
use styr_store::KommunId;
use styr_testkit::TestNats as App;

async fn spawn_app() -> App {
    App::start().await
}

async fn kommuner(app: &App) -> Kommuner {
    Kommuner::new(app.shared_store().await)
}

async fn load_example(k: &Kommuner, kommun: &KommunId) -> Vec<Outcome> {
    let mut out = Vec::new();
    for s in example::vimmerby().unwrap() {
        out.push(k.submit(kommun, s).await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_example_kommun_loads_and_holds_together() {
    let app = spawn_app().await;
    let k = kommuner(&app).await;
    let kommun = KommunId::new("vimmerby").unwrap();
    let outcomes = load_example(&k, &kommun).await;
    for (i, o) in outcomes.iter().enumerate() {
        assert!(matches!(o, Outcome::Recorded(_)), "submission {i}: {o:?}");
    }
    let (state, seq) = k.state(&kommun).await.unwrap();
    let operating: Vec<_> = state
        .bodies
        .values()
        .filter(|b| b.kind == styr_domain::BodyKind::Committee)
        .collect();
    assert!((5..=7).contains(&operating.len()));
    // KF's four goals for 2026, and the processmål for 2026–2027.
    assert_eq!(
        state
            .goals
            .values()
            .filter(|g| g.from_year == 2026 && !g.of_process)
            .count(),
        4
    );
    assert_eq!(state.goals.values().filter(|g| g.of_process).count(), 1);
    assert!(state.uppdrag.len() >= 5);
    assert!(state
        .bodies
        .values()
        .any(|b| b.kind == styr_domain::BodyKind::ParentCompany));
    // Ramar add up: each detaljbudget equals its nämnd's ram.
    for ((body, year), lines) in &state.detaljbudgetar {
        assert_eq!(
            lines.values().sum::<i64>(),
            state.ramar[&(body.clone(), *year)]
        );
    }
    // Every nämndmål links to a KF goal in force for its year.
    for m in state.namndmal.values() {
        assert!(m.kf_goals.iter().all(|g| state.goals[g].in_force(m.year)));
    }

    // The budget decision is one commit, and its events read back as events.
    let events = k.store().read(&kommun, 1).await.unwrap();
    assert_eq!(events.len() as u64, seq);
    let budget: Vec<_> = events
        .iter()
        .filter(|e| e.envelope.idempotency_key == "kf-2025-06-16-87")
        .collect();
    assert!(budget.len() > 20);
    assert!(budget
        .windows(2)
        .all(|w| w[1].sequence == w[0].sequence + 1));
    for e in &events {
        Event::from_payload(
            &e.envelope.event_type,
            e.envelope.schema_version,
            &e.envelope.payload,
        )
        .unwrap();
    }

    // Loading again (a fresh process) records nothing: every key is a duplicate.
    let again = kommuner(&app).await;
    for o in load_example(&again, &kommun).await {
        assert!(matches!(o, Outcome::Duplicate(_)), "{o:?}");
    }
    assert_eq!(k.store().last_sequence(&kommun).await.unwrap(), seq);
    // Its store took the history from the service's fold instead of reading
    // it again; the next decision continues that chain: chained, not foreign.
    let o = again
        .submit(&kommun, status_report("after-restart", "bun", 3))
        .await
        .unwrap();
    assert!(matches!(o, Outcome::Recorded(_)), "{o:?}");
    let head = app.shared_store().await.chain_head(&kommun).await.unwrap();
    assert_eq!((head.next, head.chained), (seq + 2, seq + 1));
}

#[tokio::test]
async fn a_rejected_command_appends_nothing() {
    let app = spawn_app().await;
    let k = kommuner(&app).await;
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let before = k.store().last_sequence(&kommun).await.unwrap();
    let s: Submission = serde_json::from_value(serde_json::json!({
        "idempotency_key": "bad-detaljbudget", "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": "bun", "meeting_date": "2026-02-01", "paragraph": "9"}, "effective_date": "2026-02-01"},
        "command": {"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": [{"unit": "bun-forv", "amount": 1}]}
    })).unwrap();
    match k.submit(&kommun, s).await.unwrap() {
        Outcome::Rejected(r) => {
            assert_eq!(r.rule, Rule::P4);
            assert!(r.field.starts_with("lines"), "{r}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(k.store().last_sequence(&kommun).await.unwrap(), before);
}

/// `submission` with its paragraph changed: the same command, other content.
fn with_paragraph(submission: &Submission, paragraph: &str) -> Submission {
    let mut v = serde_json::to_value(submission).unwrap();
    v["provenance"]["decided_by"]["paragraph"] = paragraph.into();
    serde_json::from_value(v).unwrap()
}

/// A key is a retry only of the submission it was first used for: the
/// recorder's own decision with other content under it (a corrected file
/// sent again) is refused, P6, naming what stands, and records nothing —
/// also in a process that starts afresh and reads the key from the
/// stream. A history restored from an export keeps no digests: there a
/// key is taken to be a retry, as before digests were kept.
#[tokio::test]
async fn a_key_reused_with_other_content_is_refused_not_called_a_retry() {
    let app = spawn_app().await;
    let k = kommuner(&app).await;
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let first = status_report("bun-status-3", "bun", 3);
    let Outcome::Recorded(commit) = k.submit(&kommun, first.clone()).await.unwrap() else {
        panic!("not recorded")
    };
    let head = k.store().last_sequence(&kommun).await.unwrap();
    let changed = with_paragraph(&first, "33");
    for k in [&k, &kommuner(&app).await] {
        match k.submit(&kommun, changed.clone()).await.unwrap() {
            Outcome::Rejected(r) => {
                assert_eq!((r.rule, r.field.as_str()), (Rule::P6, "idempotency_key"));
                let stands = format!("sekvens {}", commit.first_sequence);
                assert!(r.message.contains(&stands), "{r}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            k.submit(&kommun, first.clone()).await.unwrap(),
            Outcome::Duplicate(c) if c == commit
        ));
    }
    assert_eq!(k.store().last_sequence(&kommun).await.unwrap(), head);

    // Restored from an export: the same bytes, no headers.
    let elsewhere = spawn_app().await;
    let messages: Vec<_> = k
        .store()
        .read(&kommun, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.sequence, e.raw))
        .collect();
    let restored = kommuner(&elsewhere).await;
    restored
        .store()
        .restore(&kommun, &messages, |_| {})
        .await
        .unwrap();
    assert!(matches!(
        restored.submit(&kommun, changed).await.unwrap(),
        Outcome::Duplicate(c) if c.sequences() == commit.sequences()
    ));
}

fn status_report(key: &str, body: &str, day: u32) -> Submission {
    serde_json::from_value(serde_json::json!({
        "idempotency_key": key, "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": format!("2026-06-{day:02}"), "paragraph": day.to_string()}, "effective_date": format!("2026-06-{day:02}")},
        "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": body, "as_of": "2026-05-31", "status": "ongoing"}
    }))
    .unwrap()
}

#[tokio::test]
async fn two_processes_deciding_at_once_both_land_once() {
    let app = spawn_app().await;
    let a = Arc::new(kommuner(&app).await);
    let b = Arc::new(kommuner(&app).await);
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&a, &kommun).await;
    let before = a.store().last_sequence(&kommun).await.unwrap();
    // B has seen nothing; both submit at once. Each conflict makes the loser
    // read what it missed and decide again.
    let run = |k: Arc<Kommuner>, body: &'static str| {
        let kommun = kommun.clone();
        tokio::spawn(async move {
            let mut out = Vec::new();
            for day in 1..=10 {
                out.push(
                    k.submit(&kommun, status_report(&format!("{body}-{day}"), body, day))
                        .await
                        .unwrap(),
                );
            }
            out
        })
    };
    let (ta, tb) = (run(a.clone(), "bun"), run(b.clone(), "sn"));
    let outcomes: Vec<_> = ta
        .await
        .unwrap()
        .into_iter()
        .chain(tb.await.unwrap())
        .collect();
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Recorded(_))),
        "{outcomes:?}"
    );
    let events = a.store().read(&kommun, 1).await.unwrap();
    assert_eq!(events.len() as u64, before + 20);
    let keys: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| e.envelope.idempotency_key.clone())
        .collect();
    // Every decision once, and the kommun's signing key.
    assert_eq!(keys.len(), example::vimmerby().unwrap().len() + 20 + 1);
    for w in events.windows(2) {
        assert_eq!(w[1].envelope.prev_hash, w[0].hash);
    }
    // Both processes now agree on the state.
    let (sa, qa) = a.state(&kommun).await.unwrap();
    let (sb, qb) = b.state(&kommun).await.unwrap();
    assert_eq!(qa, qb);
    assert_eq!(sa.uppdrag, sb.uppdrag);
}

/// How many of the answers to one key recorded it, and how many were told
/// it was recorded before.
fn recorded_and_again(outcomes: &[Outcome]) -> (usize, usize) {
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    (
        count(|o| matches!(o, Outcome::Recorded(_))),
        count(|o| matches!(o, Outcome::Duplicate(_))),
    )
}

/// Many callers on one kommun keep its writer's pipeline full (each group
/// decided and sent while the one before it is stored), while a second
/// process records on the same kommun: some pipelined groups then fail
/// their expectation, and those staged after them are dropped and decided
/// again. Whatever the interleaving, every caller gets the right answer,
/// and the stream holds each decision once, without a gap, chained.
#[tokio::test]
async fn pipelined_groups_beside_another_writer_land_once_with_the_right_answers() {
    let app = spawn_app().await;
    let a = Arc::new(kommuner(&app).await);
    let b = Arc::new(kommuner(&app).await);
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&a, &kommun).await;
    let before = a.store().last_sequence(&kommun).await.unwrap();
    let other = {
        let (b, kommun) = (b.clone(), kommun.clone());
        tokio::spawn(async move {
            let mut out = Vec::new();
            for day in 1..=25 {
                let s = status_report(&format!("other-{day}"), "sn", day);
                out.push(b.submit(&kommun, s).await.unwrap());
            }
            out
        })
    };
    // More callers than one group takes, each submitting in turn: valid
    // reports, reports by a body the uppdrag is not given to (P1), and keys
    // sent twice at once (the same submission: a retry).
    let mut callers = Vec::new();
    for c in 0..160u32 {
        let (a, kommun) = (a.clone(), kommun.clone());
        callers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for round in 0..4u32 {
                let (key, body) = match (c, round) {
                    (0..8, 1) => (format!("bad-{c}-{round}"), "kfn"),
                    (8..16, 2) => (format!("twice-{}", c / 2), "bun"),
                    _ => (format!("ok-{c}-{round}"), "bun"),
                };
                let day = if key.starts_with("twice-") {
                    c / 2
                } else {
                    c + round
                };
                let s = status_report(&key, body, 1 + day % 28);
                out.push((key, a.submit(&kommun, s).await.unwrap()));
            }
            out
        }));
    }
    let mut twice: std::collections::HashMap<String, Vec<Outcome>> = Default::default();
    let mut recorded = 0;
    for caller in callers {
        for (key, outcome) in caller.await.unwrap() {
            match (&outcome, key.as_str()) {
                (Outcome::Recorded(_), k) if k.starts_with("ok-") => recorded += 1,
                (Outcome::Rejected(r), k) if k.starts_with("bad-") => {
                    assert_eq!(r.rule, Rule::P1, "{r}")
                }
                (_, k) if k.starts_with("twice-") => twice.entry(key).or_default().push(outcome),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(recorded, 160 * 4 - 8 - 8);
    assert_eq!(twice.len(), 4);
    for (key, outcomes) in &twice {
        assert_eq!(recorded_and_again(outcomes), (1, 1), "{key}: {outcomes:?}");
    }
    for o in other.await.unwrap() {
        assert!(matches!(o, Outcome::Recorded(_)), "{o:?}");
    }
    assert!(a.pipelined_groups() > 0, "no group was pipelined");

    let events = a.store().read(&kommun, 1).await.unwrap();
    let recorded_now = (160 * 4 - 8 - 8) + 4 + 25;
    assert_eq!(events.len() as u64, before + recorded_now as u64);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.sequence, i as u64 + 1, "a gap");
    }
    for w in events.windows(2) {
        assert_eq!(w[1].envelope.prev_hash, w[0].hash, "chain broken");
    }
    let keys: std::collections::BTreeSet<_> = events[before as usize..]
        .iter()
        .map(|e| e.envelope.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), recorded_now, "a decision recorded twice");
    // The writer's state is what a full fold of the stream gives.
    let fresh = kommuner(&app).await;
    let (folded, at) = fresh.state(&kommun).await.unwrap();
    let (kept, kept_at) = a.state(&kommun).await.unwrap();
    assert_eq!(kept_at, at);
    assert_eq!(kept, folded);
}

#[tokio::test]
async fn concurrent_submissions_share_commits_and_each_gets_its_own_answer() {
    let app = spawn_app().await;
    let k = Arc::new(kommuner(&app).await);
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let before = k.store().last_sequence(&kommun).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..42u32 {
        // 30 valid reports, 8 by a body the uppdrag is not given to (P1),
        // the same submission twice, and two under one key that differ.
        let (key, body) = match i {
            0..30 => (
                format!("ok-{i}"),
                if i.is_multiple_of(2) { "sn" } else { "bun" },
            ),
            30..38 => (format!("bad-{i}"), "kfn"),
            38..40 => ("same-key".to_owned(), "sn"),
            _ => ("reused-key".to_owned(), "sn"),
        };
        let k = k.clone();
        let kommun = kommun.clone();
        tasks.push(tokio::spawn(async move {
            let day = if key == "same-key" { 38 } else { i };
            let s = status_report(&key, body, 1 + day % 28);
            (key, k.submit(&kommun, s).await.unwrap())
        }));
    }
    let mut recorded = 0;
    let mut same_key = Vec::new();
    let mut reused_key = Vec::new();
    for t in tasks {
        let (key, outcome) = t.await.unwrap();
        match (&outcome, key.as_str()) {
            (Outcome::Recorded(_), k) if k.starts_with("ok-") => recorded += 1,
            (Outcome::Rejected(r), k) if k.starts_with("bad-") => assert_eq!(r.rule, Rule::P1),
            (_, "same-key") => same_key.push(outcome),
            (_, "reused-key") => reused_key.push(outcome),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(recorded, 30);
    assert_eq!(recorded_and_again(&same_key), (1, 1), "{same_key:?}");
    // Whichever came first stands; the other is refused, not a retry.
    assert_eq!(recorded_and_again(&reused_key), (1, 0), "{reused_key:?}");
    assert!(
        reused_key
            .iter()
            .any(|o| matches!(o, Outcome::Rejected(r) if r.rule == Rule::P6)),
        "{reused_key:?}"
    );
    let events = k.store().read(&kommun, before + 1).await.unwrap();
    assert_eq!(events.len(), 32);
    let keys: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| e.envelope.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 32);
}

/// Inputs once accepted (or answered "unavailable", or panicking): each is
/// now a rejection naming its field and rule, over the same path the CLI
/// and the NATS service take, and nothing is appended.
#[tokio::test]
async fn bad_inputs_are_rejected_with_field_and_rule_and_append_nothing() {
    let app = spawn_app().await;
    let k = kommuner(&app).await;
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let before = k.store().last_sequence(&kommun).await.unwrap();
    let outcome = serde_json::json!({"idempotency_key": "o-1", "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "official", "official": "Controller", "unit": "ks-forv", "decision_date": "2026-09-01"}, "effective_date": "2026-09-01"},
        "command": {"command": "record_outcome", "goal": "kf-m2", "indicator": "behoriga-gy", "period": "2026", "value": 84.3, "source": "Skolverket"}});
    let budget = serde_json::json!({"idempotency_key": "d-1", "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": "bun", "meeting_date": "2025-11-18", "paragraph": "99"}, "effective_date": "2025-11-18"},
        "command": {"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": [
            {"unit": "bun-forv", "amount": 9_223_372_036_854_775_807_i64}, {"unit": "bun-forskola", "amount": 9_223_372_036_854_775_807_i64},
            {"unit": "bun-sodra-skolan", "amount": 3}]}});
    let with = |base: &serde_json::Value, path: &[&str], value: serde_json::Value| {
        let mut v = base.clone();
        let mut at = &mut v;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        v
    };
    let cases: Vec<(serde_json::Value, Rule, &str)> = vec![
        // Before the kommun existed (registered 2022-11-07).
        (
            with(
                &outcome,
                &["provenance", "effective_date"],
                "2020-01-01".into(),
            ),
            Rule::P7,
            "provenance.effective_date",
        ),
        (
            with(
                &outcome,
                &["provenance", "effective_date"],
                "9999-12-31".into(),
            ),
            Rule::Input,
            "provenance.effective_date",
        ),
        (
            with(&outcome, &["idempotency_key"], "a\u{0}b".into()),
            Rule::Input,
            "idempotency_key",
        ),
        (
            with(&outcome, &["idempotency_key"], "".into()),
            Rule::Input,
            "idempotency_key",
        ),
        // Styrkedja's own keys (checkpoints, signing keys) are not for users.
        (
            with(&outcome, &["idempotency_key"], "checkpoint-170".into()),
            Rule::Input,
            "idempotency_key",
        ),
        (
            with(&outcome, &["idempotency_key"], "x".repeat(300).into()),
            Rule::Input,
            "idempotency_key",
        ),
        (
            with(&outcome, &["command", "value"], serde_json::json!(1e308)),
            Rule::Input,
            "value",
        ),
        // Once a panic inside the writer (split inside "é").
        (
            with(&outcome, &["command", "period"], "202é".into()),
            Rule::Input,
            "period",
        ),
        (
            with(&outcome, &["command", "source"], "Kolada\u{0}".into()),
            Rule::Input,
            "source",
        ),
        // Three huge lines could once wrap around to equal the ram.
        (budget, Rule::Input, "lines[0].amount"),
    ];
    for (i, (body, rule, field)) in cases.into_iter().enumerate() {
        let s: Submission = serde_json::from_value(body).unwrap();
        match k.submit(&kommun, s).await.unwrap() {
            Outcome::Rejected(r) => {
                assert_eq!(r.rule, rule, "case {i}: {r}");
                assert!(r.field.contains(field), "case {i}: {r}");
            }
            other => panic!("case {i}: {other:?}"),
        }
    }
    assert_eq!(k.store().last_sequence(&kommun).await.unwrap(), before);
}

/// Input that once panicked the writer, submitted among others decided in
/// the same group: it is refused, and every other submission is recorded.
#[tokio::test]
async fn bad_input_in_a_group_affects_only_its_own_answer() {
    let app = spawn_app().await;
    let k = Arc::new(kommuner(&app).await);
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let submission = |key: String, period: &str| -> Submission {
        serde_json::from_value(serde_json::json!({"idempotency_key": key, "recorded_by": "exempel-laddning",
            "provenance": {"decided_by": {"kind": "official", "official": "Controller", "unit": "ks-forv", "decision_date": "2026-09-01"}, "effective_date": "2026-09-01"},
            "command": {"command": "record_outcome", "goal": "kf-m2", "indicator": "behoriga-gy", "period": period, "value": 84.3, "source": "Skolverket"}}))
        .unwrap()
    };
    let mut tasks = Vec::new();
    for i in 0..24 {
        let k = k.clone();
        let kommun = kommun.clone();
        let s = if i == 12 {
            submission("bad".into(), "202é")
        } else {
            submission(format!("good-{i}"), "2026")
        };
        tasks.push(tokio::spawn(async move { k.submit(&kommun, s).await }));
    }
    let mut recorded = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap().unwrap() {
            Outcome::Recorded(_) => recorded += 1,
            Outcome::Rejected(r) if i == 12 => assert_eq!(r.field, "period", "{r}"),
            other => panic!("submission {i}: {other:?}"),
        }
    }
    assert_eq!(recorded, 23);
}

/// A rättelse by KF of BodyEstablished `id`'s name.
fn rename(key: &str, id: uuid::Uuid, name: &str) -> Submission {
    serde_json::from_value(serde_json::json!({
        "idempotency_key": key, "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": "kf", "meeting_date": "2026-12-14", "paragraph": "160"}, "effective_date": "2026-12-14"},
        "command": {"command": "correct_decision", "corrects": id, "ground": "skrivfel",
            "reason": "Namnet stavades fel i protokollet", "corrections": {"/name": name}}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_rattelse_changes_what_deciding_reads_now_and_after_a_restart() {
    let app = spawn_app().await;
    let k = kommuner(&app).await;
    let kommun = KommunId::new("vimmerby").unwrap();
    load_example(&k, &kommun).await;
    let events = k.store().read(&kommun, 1).await.unwrap();
    let established = events
        .iter()
        .find(|e| e.envelope.event_type == "BodyEstablished" && e.envelope.payload["body"] == "bun")
        .unwrap();
    let id = established.envelope.event_id;
    let recorded_name = established.envelope.payload["name"]
        .as_str()
        .unwrap()
        .to_owned();

    // A rättelse and a decision queued behind it: both land, the second
    // decided on the history read through the rättelse.
    let first = format!("{recorded_name} (rättad)");
    let (fixed, report) = tokio::join!(
        k.submit(&kommun, rename("rattelse-1", id, &first)),
        k.submit(&kommun, status_report("efter-rattelse", "bun", 20)),
    );
    assert!(matches!(fixed.unwrap(), Outcome::Recorded(_)));
    assert!(matches!(report.unwrap(), Outcome::Recorded(_)));
    let (state, _) = k.state(&kommun).await.unwrap();
    assert_eq!(state.bodies["bun"].name, first);

    // A second rättelse is decided against the decision as corrected.
    let second = "Barn- och utbildningsnämnden";
    let Outcome::Recorded(commit) = k
        .submit(&kommun, rename("rattelse-2", id, second))
        .await
        .unwrap()
    else {
        panic!("the second rättelse was not recorded")
    };
    let stored = k
        .store()
        .read(&kommun, commit.first_sequence)
        .await
        .unwrap();
    assert_eq!(
        stored[0].envelope.payload["replaced"]["/name"],
        first.as_str()
    );
    // The same value again is no rättelse.
    match k
        .submit(&kommun, rename("rattelse-3", id, second))
        .await
        .unwrap()
    {
        Outcome::Rejected(r) => assert_eq!(
            (r.rule, r.field.as_str()),
            (Rule::Input, "corrections./name")
        ),
        other => panic!("{other:?}"),
    }

    // A restarted service folds the history through both.
    let restarted = kommuner(&app).await;
    let (state, _) = restarted.state(&kommun).await.unwrap();
    assert_eq!(state.bodies["bun"].name, second);
    assert!(matches!(
        restarted
            .submit(&kommun, status_report("efter-omstart", "bun", 21))
            .await
            .unwrap(),
        Outcome::Recorded(_)
    ));
}

/// A service with a fresh store and its snapshots folder, as after a restart.
async fn restarted_with(app: &App, snapshots: &Arc<Snapshots>) -> Kommuner {
    Kommuner::new(app.shared_store().await).with_snapshots(snapshots.clone())
}

/// The state a restarted service without snapshots folds from the whole
/// history: what every snapshot must lead to.
async fn full_fold(app: &App, kommun: &KommunId) -> (styr_domain::KommunState, u64) {
    kommuner(app).await.state(kommun).await.unwrap()
}

#[tokio::test]
async fn a_snapshot_and_the_events_after_it_decide_as_a_full_fold() {
    let app = spawn_app().await;
    let kommun = KommunId::new("vimmerby").unwrap();
    let folder = tempfile::tempdir().unwrap();
    let db = sled::open(folder.path()).unwrap();
    let tree = db.open_tree("decide").unwrap();
    let snapshots = Arc::new(Snapshots::in_tree(tree.clone()).every(10));

    // The example through a service taking snapshots, then more decisions
    // by another writer that takes none: the last snapshot lies behind the
    // stream's end.
    let first = restarted_with(&app, &snapshots).await;
    let Outcome::Recorded(registered) = load_example(&first, &kommun).await.remove(0) else {
        panic!("the example's first decision was not recorded")
    };
    let taken = snapshots.load(&kommun).unwrap().expect("a snapshot");
    let other = kommuner(&app).await;
    for day in 1..=3 {
        let key = format!("efter-{day}");
        let out = other
            .submit(&kommun, status_report(&key, "bun", day))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Recorded(_)), "{out:?}");
    }
    let (whole, last) = full_fold(&app, &kommun).await;
    assert!(taken.sequence < last);
    drop(first);

    // Resumed from the snapshot and the events after it: the same state.
    let resumed = restarted_with(&app, &snapshots).await;
    assert_eq!(resumed.state(&kommun).await.unwrap(), (whole, last));
    assert_eq!(resumed.snapshot_at(&kommun).await, taken.sequence);
    // A key recorded before the snapshot (the store looks it up in the
    // snapshots' folder) and one after it are duplicates, answered with
    // where they were recorded.
    let events = resumed.store().read(&kommun, 1).await.unwrap();
    let first_key = example::vimmerby().unwrap().remove(0);
    match resumed.submit(&kommun, first_key).await.unwrap() {
        Outcome::Duplicate(c) => assert_eq!(c, registered),
        other => panic!("{other:?}"),
    }
    match resumed
        .submit(&kommun, status_report("efter-3", "bun", 3))
        .await
        .unwrap()
    {
        Outcome::Duplicate(c) => assert_eq!(c.last_sequence, last),
        other => panic!("{other:?}"),
    }
    // A rättelse of a decision recorded before the snapshot finds it.
    let established = events
        .iter()
        .find(|e| e.envelope.event_type == "BodyEstablished" && e.envelope.payload["body"] == "bun")
        .unwrap();
    assert!(established.sequence <= taken.sequence);
    let name = "Barn- och utbildningsnämnden (rättad)";
    let out = resumed
        .submit(
            &kommun,
            rename("rattelse", established.envelope.event_id, name),
        )
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Recorded(_)), "{out:?}");
    let (state, at) = resumed.state(&kommun).await.unwrap();
    assert_eq!(state.bodies["bun"].name, name);
    assert_eq!((state, at), full_fold(&app, &kommun).await);
    drop(resumed);

    // The rättelse folded the history again, and a snapshot was taken with
    // the rättelse in force: a restart resumes from it.
    let with_rattelse = snapshots.load(&kommun).unwrap().unwrap();
    assert_eq!(with_rattelse.sequence, at);
    let again = restarted_with(&app, &snapshots).await;
    assert_eq!(
        again.state(&kommun).await.unwrap(),
        full_fold(&app, &kommun).await
    );
    assert_eq!(again.snapshot_at(&kommun).await, at);
    assert_eq!(
        again.state(&kommun).await.unwrap().0.bodies["bun"].name,
        name
    );
    drop(again);

    // The store asks the folder for keys recorded before the snapshot. A
    // run of keys gone while its filter is there is damage, and an error —
    // never "not recorded", which would let a retry be recorded twice.
    let taken_out = |prefix: &str| -> Vec<(sled::IVec, sled::IVec)> {
        let entries: Vec<_> = tree
            .scan_prefix(format!("{prefix}/{kommun}/"))
            .map(Result::unwrap)
            .collect();
        assert!(!entries.is_empty(), "nothing under {prefix}/ in the folder");
        for (key, _) in &entries {
            tree.remove(key).unwrap();
        }
        entries
    };
    let fresh_folder = || Arc::new(Snapshots::in_tree(tree.clone()).every(10));
    let first_key = example::vimmerby().unwrap().remove(0);
    let head = app
        .shared_store()
        .await
        .last_sequence(&kommun)
        .await
        .unwrap();
    let runs = taken_out("r");
    let damaged = restarted_with(&app, &fresh_folder()).await;
    assert!(
        damaged.submit(&kommun, first_key.clone()).await.is_err(),
        "a filter without its run answered"
    );
    drop(damaged);
    // Runs and filters both gone: the key is unknown to a restarted
    // service (so the store did ask the folder).
    let filters = taken_out("f");
    let forgetful = restarted_with(&app, &fresh_folder()).await;
    assert!(
        !matches!(
            forgetful.submit(&kommun, first_key).await.unwrap(),
            Outcome::Duplicate(_)
        ),
        "the key was known without the folder"
    );
    drop(forgetful);
    assert_eq!(
        app.shared_store()
            .await
            .last_sequence(&kommun)
            .await
            .unwrap(),
        head
    );
    for (key, value) in runs.into_iter().chain(filters) {
        tree.insert(key, value).unwrap();
    }

    // A damaged snapshot is noticed and the history folded from its start;
    // the next snapshot replaces it.
    let key = format!("s/{kommun}");
    let mut damaged = tree.get(&key).unwrap().unwrap().to_vec();
    let end = damaged.len() - 1;
    damaged[end] ^= 0xff;
    tree.insert(&key, damaged).unwrap();
    assert!(snapshots.load(&kommun).is_err());
    let after_damage = restarted_with(&app, &snapshots).await;
    let whole = full_fold(&app, &kommun).await;
    assert_eq!(after_damage.state(&kommun).await.unwrap(), whole);
    // Folded from the start, so a new snapshot at the end, and keys from
    // before it are known after the next restart.
    assert_eq!(after_damage.snapshot_at(&kommun).await, whole.1);
    assert_eq!(snapshots.load(&kommun).unwrap().unwrap().sequence, whole.1);
    drop(after_damage);
    let after_rewrite = restarted_with(&app, &snapshots).await;
    match after_rewrite
        .submit(&kommun, status_report("efter-1", "bun", 1))
        .await
        .unwrap()
    {
        Outcome::Duplicate(_) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(after_rewrite.snapshot_at(&kommun).await, whole.1);
    drop(after_rewrite);

    // No snapshot is taken where the stream ends in a message Styrkedja
    // did not write (the chain's hash would not cover it); the next
    // decision ends the stream in the chain again, and one is.
    let every_event = Arc::new(Snapshots::in_tree(db.open_tree("every").unwrap()).every(1));
    app.js()
        .await
        .publish(format!("styr.{kommun}.intrang"), "inte ett kuvert".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let intruded = restarted_with(&app, &every_event).await;
    let (_, at) = intruded.state(&kommun).await.unwrap();
    assert_eq!(intruded.snapshot_at(&kommun).await, 0);
    assert!(every_event.load(&kommun).unwrap().is_none());
    let out = intruded
        .submit(&kommun, status_report("efter-intrang", "bun", 4))
        .await
        .unwrap();
    assert!(matches!(out, Outcome::Recorded(_)), "{out:?}");
    assert_eq!(every_event.load(&kommun).unwrap().unwrap().sequence, at + 1);
    drop(intruded);

    // A snapshot of another history under the same kommun's name (another
    // server, or a stream restored from elsewhere) is not the stream's: it
    // is dropped with every key it vouched for.
    let elsewhere = spawn_app().await;
    let there = kommuner(&elsewhere).await;
    load_example(&there, &kommun).await;
    // Longer than this history, so only the chain's hash tells them apart.
    for day in 10..20 {
        let out = there
            .submit(&kommun, status_report(&format!("dar-{day}"), "bun", day))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Recorded(_)), "{out:?}");
    }
    assert!(
        elsewhere
            .store()
            .await
            .last_sequence(&kommun)
            .await
            .unwrap()
            > snapshots.load(&kommun).unwrap().unwrap().sequence
    );
    let stale = restarted_with(&elsewhere, &snapshots).await;
    let whole = full_fold(&elsewhere, &kommun).await;
    assert_eq!(stale.state(&kommun).await.unwrap(), whole);
    assert_eq!(stale.snapshot_at(&kommun).await, whole.1);
    let out = stale
        .submit(&kommun, status_report("efter-1", "bun", 1))
        .await
        .unwrap();
    assert!(
        matches!(out, Outcome::Recorded(_)),
        "a key of the other history was taken for this one's: {out:?}"
    );
}
