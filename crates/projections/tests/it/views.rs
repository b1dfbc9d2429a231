//! Read models against the example kommun on a real nats-server and a real sled.

use std::sync::Arc;

use chrono::NaiveDate;
use styr_domain::BudgetChange;
use styr_projections::docs::*;
use styr_projections::*;
use styr_store::{EventStore, KommunId};
use styr_testkit::example;
use styr_testkit::TestNats;

use crate::support::Writer;

struct App {
    store: Arc<EventStore>,
    nats: TestNats,
}

async fn spawn_app() -> App {
    let nats = TestNats::start().await;
    App {
        store: nats.shared_store().await,
        nats,
    }
}

fn vimmerby() -> KommunId {
    KommunId::new("vimmerby").unwrap()
}

/// Records the first `n` example decisions (all when `None`).
async fn load(app: &App, n: Option<usize>) -> Writer {
    let mut writer = Writer::new(app.store.clone(), vimmerby());
    let decisions = example::vimmerby();
    let n = n.unwrap_or(decisions.len());
    for d in &decisions[..n] {
        writer.record(d).await;
    }
    writer
}

/// One more indicator value for KF goal kf-m2 (2026-T3: 86.5).
fn one_more_outcome() -> example::ExampleDecision {
    serde_json::from_value(serde_json::json!({
        "idempotency_key": "one-more", "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "official", "official": "Controller", "unit": "ks-forv", "decision_date": "2026-10-01"}, "effective_date": "2026-10-01"},
        "command": {"command": "record_outcome", "goal": "kf-m2", "indicator": "behoriga-gy", "period": "2026-T3", "value": 86.5, "source": "Skolverket"}
    }))
    .unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn read_models_of_the_example_kommun() {
    let app = spawn_app().await;
    load(&app, None).await;
    let p = Projector::open(app.nats.path("proj")).unwrap();
    let last = p.catch_up(&app.store, &vimmerby()).await.unwrap();
    assert_eq!(last, app.store.last_sequence(&vimmerby()).await.unwrap());
    let kv = p.view();
    let k = vimmerby();

    // Current plans for 2026.
    let plan = plan(kv, &k, 2026).unwrap();
    assert_eq!(plan.budget.as_ref().unwrap().year, 2026);
    let bun = plan.namnder.iter().find(|n| n.body.id == "bun").unwrap();
    assert_eq!(bun.ram, Some(498_600));
    assert_eq!(
        bun.plan
            .as_ref()
            .unwrap()
            .detaljbudget
            .values()
            .sum::<i64>(),
        498_600
    );
    assert_eq!(bun.goals.len(), 3);
    assert_eq!(
        bun.plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["ep-sodra-2026", "vp-bun-2026"]
    );
    assert_eq!(plan.kf_goals.len(), 4);
    // Latest outcome: the revised Kolada value for 2025 lost to the 2026 value; both kept.
    let kf_m2 = plan.kf_goals.iter().find(|g| g.id == "kf-m2").unwrap();
    let values = &kf_m2.outcomes["behoriga-gy"];
    assert_eq!(values.len(), 4, "every fetched value is kept");
    assert_eq!(kf_m2.latest()["behoriga-gy"].period, "2026");
    assert!(plan.uppdrag.iter().any(|u| u.id == "u-2026-01"));
    // The 2027 plan comes from the 2027 budget, with the ändringsbudget's ram.
    let p27 = styr_projections::plan(kv, &k, 2027).unwrap();
    assert_eq!(p27.budget.as_ref().unwrap().year, 2027);
    let sn27 = p27.namnder.iter().find(|n| n.body.id == "sn").unwrap();
    assert_eq!(sn27.ram, Some(531_700));

    // The styrkedja: from an activity up to KF and the vision; from a KF goal down.
    let up = chain(kv, &k, "activity/vp-bun-2026/lasframjande")
        .unwrap()
        .unwrap();
    let paths: Vec<_> = up.up.iter().map(|n| n.path.as_str()).collect();
    assert!(
        paths.contains(&"goal/bun-m1")
            && paths.contains(&"goal/kf-m2")
            && paths.contains(&"direction/vision-2030"),
        "{paths:?}"
    );
    let down = chain(kv, &k, "goal/kf-m2").unwrap().unwrap();
    let paths: Vec<_> = down.down.iter().map(|n| n.path.as_str()).collect();
    assert!(
        paths.contains(&"goal/bun-m1") && paths.contains(&"activity/ep-sodra-2026/mattelyft"),
        "{paths:?}"
    );
    let unit = chain(kv, &k, "unit/bun-sodra-skolan").unwrap().unwrap();
    assert!(unit.up.iter().any(|n| n.path == "body/bun"));
    assert!(unit
        .down
        .iter()
        .any(|n| n.path == "activity/vp-bun-2026/lasframjande"));
    assert!(chain(kv, &k, "goal/nowhere").unwrap().is_none());

    // Gaps, with their reasons.
    let gaps = gaps(kv, &k, 2026, date("2026-11-25")).unwrap();
    let has = |kind: &str, entity: &str| gaps.iter().any(|g| g.kind == kind && g.entity == entity);
    assert!(has("namnd_without_namndplan", "body/mbn"), "{gaps:?}");
    assert!(
        has("deviation_without_action", "deviation/dev-2026-03"),
        "{gaps:?}"
    );
    assert!(!gaps.iter().any(|g| g.kind == "finding_without_action"));
    assert!(!gaps.iter().any(|g| g.kind == "kf_goal_not_broken_down"));
    assert!(!gaps.iter().any(|g| g.kind == "kf_goal_without_indicator"));
    // BUN reported no tertial of its intern kontroll (KS reported each).
    assert!(gaps.iter().any(|g| g.kind == "tertial_report_missing"
        && g.entity == "ic/ik-bun-2026"
        && g.reason.contains("tertial 2")));
    assert!(!gaps
        .iter()
        .any(|g| g.kind == "tertial_report_missing" && g.entity == "ic/ik-ks-2026"));
    // The BUN plan's third tertial had no result by the time T3 passed.
    let later = styr_projections::gaps(kv, &k, 2026, date("2027-03-01")).unwrap();
    assert!(
        later
            .iter()
            .any(|g| g.kind == "control_without_result" && g.entity == "ic/ik-bun-2026"),
        "{later:?}"
    );
    // In 2027 the new KF goal has no nämndmål yet.
    let g27 = styr_projections::gaps(kv, &k, 2027, date("2027-03-01")).unwrap();
    assert!(g27
        .iter()
        .any(|g| g.kind == "kf_goal_not_broken_down" && g.entity == "goal/kf-m4"));

    // Registers.
    let uppdrag: Vec<UppdragDoc> = styr_projections::uppdrag(kv, &k).unwrap();
    let u5 = uppdrag.iter().find(|u| u.id == "u-2026-05").unwrap();
    assert_eq!(
        u5.lifecycle
            .iter()
            .map(|l| l.what.as_str())
            .collect::<Vec<_>>(),
        vec!["given", "closed"]
    );
    let u3 = uppdrag.iter().find(|u| u.id == "u-2026-03").unwrap();
    assert_eq!(u3.due, date("2027-06-30"));
    let devs: Vec<DeviationDoc> = docs(kv, &k, DocKind::Deviation).unwrap();
    assert_eq!(devs.len(), 4);
    let d1 = devs.iter().find(|d| d.id == "dev-2026-01").unwrap();
    assert_eq!(d1.atgardsplan.as_deref(), Some("ap-bun-2026-1"));
    assert!(d1.escalated.is_some() && d1.closed.is_some());
    // Every body's three reports, and the räddningstjänstförbund's delårsrapport.
    assert_eq!(reports(kv, &k, None).unwrap().len(), 19);
    assert_eq!(
        reports(kv, &k, Some(styr_domain::ReportKind::Budgetuppfoljning))
            .unwrap()
            .len(),
        6
    );
    let ic: Vec<ControlPlanDoc> = docs(kv, &k, DocKind::InternalControl).unwrap();
    assert_eq!(ic.len(), 2);
    let findings: Vec<FindingDoc> = docs(kv, &k, DocKind::Finding).unwrap();
    assert_eq!(findings.len(), 1);
    assert!(findings[0].closed.is_some());
    let reviews: Vec<ReviewDoc> = docs(kv, &k, DocKind::Review).unwrap();
    assert_eq!(reviews[0].replies.len(), 2);

    // Audit history of one uppdrag: every event that touched it, in order, with provenance.
    let h = history(kv, &k, "uppdrag/u-2026-01").unwrap();
    let types: Vec<_> = h.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types[0], "UppdragGiven");
    assert!(
        types.contains(&"UppdragStatusReported") && types.contains(&"FollowUpReportAdopted"),
        "{types:?}"
    );
    assert!(h.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert_eq!(h[0].idempotency_key, "kf-2025-06-16-87");
    assert!(
        matches!(&h[0].provenance.decided_by, styr_domain::DecidedBy::Body { body, paragraph, .. } if body == "kf" && paragraph == "87")
    );
    assert_eq!(h[0].hash.len(), 64);
    let h = history(kv, &k, "goal/kf-m2").unwrap();
    assert!(
        h.iter().any(|e| e.event_type == "OutcomesRecorded")
            && h.iter().any(|e| e.event_type == "NamndmalAdopted")
    );
}

#[tokio::test]
async fn incremental_rebuild_as_of_and_two_nodes_agree() {
    let app = spawn_app().await;
    let k = vimmerby();
    let mut writer = load(&app, Some(40)).await;
    // Node A follows in small batches as history grows.
    let a = Projector::open(app.nats.path("a"))
        .unwrap()
        .with_flush_every(7);
    a.catch_up(&app.store, &k).await.unwrap();
    for d in &example::vimmerby()[40..] {
        writer.record(d).await;
    }
    let last = a.catch_up(&app.store, &k).await.unwrap();
    // Node B projects everything at once, in its own sled.
    let b = Projector::open(app.nats.path("b")).unwrap();
    b.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(a.digest(&k).unwrap(), b.digest(&k).unwrap());
    // A rebuild from scratch gives byte-identical views.
    let before = a.digest(&k).unwrap();
    assert_eq!(a.rebuild(&app.store, &k).await.unwrap(), last);
    assert_eq!(a.digest(&k).unwrap(), before);
    // The in-memory fold of the whole history is the same view.
    let mem = as_of(&app.store, &k, AsOf::Sequence(last)).await.unwrap();
    assert_eq!(digest(&mem, &k).unwrap(), before);
    // And catching up again changes nothing.
    a.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(a.digest(&k).unwrap(), before);
}

/// A rebuild clears a kommun's views under the lock its questions are
/// answered under: a question being answered sees the views as they were,
/// never emptied, and the rebuild waits for it.
#[tokio::test]
async fn a_rebuild_waits_for_the_questions_being_answered() {
    use futures::FutureExt;
    let app = spawn_app().await;
    let k = vimmerby();
    load(&app, None).await;
    let p = std::sync::Arc::new(Projector::open(app.nats.path("p")).unwrap());
    p.catch_up(&app.store, &k).await.unwrap();
    let before = p.digest(&k).unwrap();
    let answering = p.reading(&k).await;
    let rebuild = tokio::spawn({
        let (p, store, k) = (p.clone(), app.store.clone(), k.clone());
        async move { p.rebuild(&store, &k).await }
    });
    // Until the rebuild waits for the views: a question asked from then on
    // queues behind it.
    while p.reading(&k).now_or_never().is_some() {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        p.digest(&k).unwrap(),
        before,
        "the views were cleared while a question was being answered"
    );
    drop(answering);
    rebuild.await.unwrap().unwrap();
    assert_eq!(p.digest(&k).unwrap(), before);
}

/// The deciding paragraph of `body`'s 2027 ram, and the ram.
fn ram_2027(plan: &PlanView, body: &str) -> (String, Option<i64>) {
    let b = plan.budget.as_ref().unwrap();
    let n = plan.namnder.iter().find(|n| n.body.id == body).unwrap();
    (
        b.ram_set_by(body, 2027).unwrap().source.decided.clone(),
        n.ram,
    )
}

#[tokio::test]
async fn the_budget_as_it_stood_in_june_november_and_december() {
    let app = spawn_app().await;
    let k = vimmerby();
    load(&app, None).await;
    let on = |d: &'static str| {
        let (store, k) = (app.store.clone(), k.clone());
        async move {
            let kv = as_of(&store, &k, AsOf::InForce(date(d))).await.unwrap();
            plan(&kv, &k, 2027).unwrap()
        }
    };
    // June: budgetramar only; not fastställd, no skattesats.
    let june = on("2026-06-30").await;
    let b = june.budget.as_ref().unwrap();
    assert!(b.established.is_none() && b.skattesats.is_none() && b.economy.is_none());
    assert_eq!(
        ram_2027(&june, "sn"),
        ("KF 2026-06-15 § 75".into(), Some(527_772))
    );
    assert_eq!(
        ram_2027(&june, "ks"),
        ("KF 2026-06-15 § 75".into(), Some(156_869))
    );
    // November: fastställd with skattesats, economic plan, investments, RUR;
    // the ramar it changed name it.
    let nov = on("2026-11-30").await;
    let b = nov.budget.as_ref().unwrap();
    assert_eq!(
        b.established.as_ref().unwrap().decided,
        "KF 2026-11-16 § 140"
    );
    let s = b.skattesats.as_ref().unwrap();
    assert_eq!(
        (s.value.to_string(), s.change),
        ("22:16".into(), BudgetChange::Established)
    );
    let years: Vec<i32> = b
        .economy
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|e| e.year)
        .collect();
    assert_eq!(years, [2027, 2028, 2029]);
    let r = &b.economy.as_ref().unwrap().value[0].resultat;
    let share = r.resultat as f64 / (r.skatteintakter + r.generella_statsbidrag) as f64;
    assert!(
        (0.019..0.021).contains(&share),
        "a result of about 2 %: {share}"
    );
    assert_eq!(b.rur[&2027].value.disposition, 8_000);
    assert_eq!(
        ram_2027(&nov, "sn"),
        ("KF 2026-11-16 § 140".into(), Some(530_000))
    );
    assert_eq!(
        ram_2027(&nov, "ks"),
        ("KF 2026-06-15 § 75".into(), Some(156_869))
    );
    let ids: Vec<&str> = nov.investments.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        ["inv-ny-forskola", "inv-sporthall", "inv-va-ledningar"]
    );
    // December: the ändringsbudget moves 1.7 mnkr from KS to SN; skattesats unchanged.
    let dec = on("2026-12-31").await;
    assert_eq!(
        ram_2027(&dec, "sn"),
        ("KF 2026-12-14 § 162".into(), Some(531_700))
    );
    assert_eq!(
        ram_2027(&dec, "ks"),
        ("KF 2026-12-14 § 162".into(), Some(155_169))
    );
    let b = dec.budget.as_ref().unwrap();
    assert_eq!(
        b.ram_set_by("sn", 2027).unwrap().change,
        BudgetChange::Amendment
    );
    assert_eq!(
        b.skattesats.as_ref().unwrap().source.decided,
        "KF 2026-11-16 § 140"
    );

    // 2026: investments followed up; the balanskrav before and after RUR.
    let kv = as_of(&app.store, &k, AsOf::InForce(date("2027-03-31")))
        .await
        .unwrap();
    let p26 = plan(&kv, &k, 2026).unwrap();
    let school = p26
        .investments
        .iter()
        .find(|i| i.id == "inv-ny-forskola")
        .unwrap();
    assert_eq!(school.budget_for(2026), Some(30_000));
    assert_eq!(
        school.set_by(2026).unwrap().source.decided,
        "KF 2025-11-17 § 132"
    );
    let outcomes: Vec<(&str, i64)> = school
        .follow_ups
        .iter()
        .map(|f| (f.report.swedish(), f.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [("delårsrapport", 12_400), ("årsredovisning", 32_100)]
    );
    let bk = p26.balanskrav.as_ref().unwrap();
    let annual = bk.reports.last().unwrap();
    assert_eq!(
        (
            annual.utredning.balanskravsresultat,
            annual.utredning.efter_rur
        ),
        (22_900, 17_900)
    );
    let gaps = gaps(&kv, &k, 2026, date("2027-03-31")).unwrap();
    let missing: Vec<&str> = gaps
        .iter()
        .filter(|g| g.kind == "investment_without_follow_up")
        .map(|g| g.entity.as_str())
        .collect();
    assert_eq!(missing, ["investment/inv-ks-it"], "{gaps:?}");
    assert!(!gaps.iter().any(|g| g.kind == "budget_not_established"));
    // Before the November decision the 2027 budget is not yet late; after 31
    // December of an election year (KF recorded the September election on
    // 26 October) it would be.
    let october_kv = as_of(&app.store, &k, AsOf::InForce(date("2026-10-30")))
        .await
        .unwrap();
    let late = gaps_of(&october_kv, &k, 2027, "2027-01-01");
    assert!(late.contains(&"budget/2027".to_owned()), "{late:?}");
    assert!(gaps_of(&october_kv, &k, 2027, "2026-12-31").is_empty());
    // As in force in June, no election was recorded yet: the last day was
    // then 30 November.
    let june_kv = as_of(&app.store, &k, AsOf::InForce(date("2026-06-30")))
        .await
        .unwrap();
    assert_eq!(gaps_of(&june_kv, &k, 2027, "2026-12-01"), ["budget/2027"]);
    // Outside an election year the last day is 30 November.
    let before_nov = as_of(&app.store, &k, AsOf::InForce(date("2025-10-01")))
        .await
        .unwrap();
    assert!(gaps_of(&before_nov, &k, 2026, "2025-11-30").is_empty());
    assert_eq!(
        gaps_of(&before_nov, &k, 2026, "2025-12-01"),
        ["budget/2026"]
    );
}

fn gaps_of(kv: &MemKv, k: &KommunId, year: i32, today: &str) -> Vec<String> {
    gaps(kv, k, year, date(today))
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == "budget_not_established")
        .map(|g| g.entity)
        .collect()
}

#[tokio::test]
async fn as_of_by_record_time_and_by_decision_date() {
    let app = spawn_app().await;
    let k = vimmerby();
    load(&app, None).await;
    let events = app.store.read(&k, 1).await.unwrap();
    // By record time: equal to replaying exactly the events recorded by then.
    // The expectation is a prefix of the history (record times only grow
    // along the stream), folded; as-of selects by comparing every event's
    // record time. The uppdrag it holds are counted independently too.
    for n in [1usize, 30, 60, events.len() - 1] {
        let t = events[n - 1].envelope.recorded_at;
        let upto: Vec<_> = events
            .iter()
            .take_while(|e| e.envelope.recorded_at <= t)
            .collect();
        assert!(upto.len() >= n);
        let expected = fold(upto.iter().copied()).unwrap();
        let given = upto
            .iter()
            .filter(|e| e.envelope.event_type == "UppdragGiven")
            .count();
        let got = as_of(&app.store, &k, AsOf::Recorded(t)).await.unwrap();
        assert_eq!(
            digest(&got, &k).unwrap(),
            digest(&expected, &k).unwrap(),
            "recorded by event {n}"
        );
        assert_eq!(
            styr_projections::uppdrag(&got, &k).unwrap().len(),
            given,
            "uppdrag given by event {n}"
        );
        let by_seq = as_of(
            &app.store,
            &k,
            AsOf::Sequence(upto.last().unwrap().sequence),
        )
        .await
        .unwrap();
        assert_eq!(got, by_seq);
    }
    // By decision date: what was in force.
    let march = as_of(&app.store, &k, AsOf::InForce(date("2026-03-01")))
        .await
        .unwrap();
    let u1 = styr_projections::uppdrag_one(&march, &k, "u-2026-01")
        .unwrap()
        .unwrap();
    assert!(u1.status.is_empty(), "no status reported by March");
    assert!(
        plan(&march, &k, 2027).unwrap().budget.unwrap().year == 2026,
        "the 2027 budget is not adopted yet"
    );
    let june = as_of(&app.store, &k, AsOf::InForce(date("2026-06-16")))
        .await
        .unwrap();
    assert_eq!(plan(&june, &k, 2027).unwrap().budget.unwrap().year, 2027);
    let u1 = styr_projections::uppdrag_one(&june, &k, "u-2026-01")
        .unwrap()
        .unwrap();
    assert_eq!(
        u1.status.len(),
        4,
        "BUN's and SN's status reports and budgetuppföljningar"
    );
}

#[tokio::test]
async fn a_projection_of_another_history_halts_and_a_version_change_rebuilds() {
    let app = spawn_app().await;
    let k = vimmerby();
    load(&app, Some(30)).await;
    let dir = app.nats.path("p");
    {
        let p = Projector::open(&dir).unwrap();
        p.catch_up(&app.store, &k).await.unwrap();
    }
    // The same sled pointed at another server whose "vimmerby" is different.
    let other = spawn_app().await;
    load(&other, Some(35)).await;
    let p = Projector::open(&dir).unwrap();
    let err = p.catch_up(&other.store, &k).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Halted { .. }), "{err}");
    // A shorter stream than the checkpoint halts too.
    let short = spawn_app().await;
    load(&short, Some(10)).await;
    assert!(matches!(
        p.catch_up(&short.store, &k).await,
        Err(ProjectionError::Halted { .. })
    ));
    // A changed projection version empties the cache; it rebuilds to the same view.
    let digest_before = p.digest(&k).unwrap();
    p.view().insert("meta/version", "0").unwrap();
    drop(p);
    let p = Projector::open(&dir).unwrap();
    assert_eq!(p.checkpoint(&k).unwrap(), None);
    p.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(p.digest(&k).unwrap(), digest_before);
    drop(app);
}

/// Folding the history in groups of any sizes, each group read-modify-writing
/// on top of what the groups before it wrote, gives exactly the one-shot fold:
/// where a batch ends never changes a view.
#[test]
fn a_fold_in_random_group_sizes_equals_the_one_shot_fold() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (events, _app) = rt.block_on(async {
        let app = spawn_app().await;
        load(&app, None).await;
        (app.store.read(&vimmerby(), 1).await.unwrap(), app)
    });
    let k = vimmerby();
    let whole = digest(&fold(events.iter()).unwrap(), &k).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(1usize..40, 1..60), |sizes| {
            let mut base = MemKv::default();
            let mut rest = &events[..];
            for size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (group, tail) = rest.split_at((*size).min(rest.len()));
                let mut overlay = Overlay::new(&base);
                for stored in group {
                    let event = domain_event(stored).unwrap();
                    apply(&mut overlay, stored, &event, &Default::default()).unwrap();
                }
                let writes = overlay.take();
                base.0.extend(writes);
                rest = tail;
            }
            prop_assert_eq!(digest(&base, &k).unwrap(), whole.clone());
            Ok(())
        })
        .unwrap();
}

/// An indicator value is written under its own key: recording one more
/// leaves the goal's document as it was (no read-modify-write of a document
/// that grows with every value), and the plan still shows it.
#[tokio::test]
async fn an_outcome_is_its_own_document() {
    let app = spawn_app().await;
    let mut writer = load(&app, None).await;
    let k = vimmerby();
    let p = Projector::open(app.nats.path("proj")).unwrap();
    p.catch_up(&app.store, &k).await.unwrap();
    let goal_bytes = || p.view().get("v/vimmerby/goal/kf-m2").unwrap().unwrap();
    let before = goal_bytes();
    let d = one_more_outcome();
    writer.record(&d).await;
    p.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(goal_bytes(), before, "the goal document is not rewritten");
    let plan = plan(p.view(), &k, 2026).unwrap();
    let kf_m2 = plan.kf_goals.iter().find(|g| g.id == "kf-m2").unwrap();
    assert_eq!(kf_m2.outcomes["behoriga-gy"].len(), 5);
    assert!(kf_m2.outcomes["behoriga-gy"]
        .iter()
        .any(|o| o.period == "2026-T3" && o.value == 86.5));
    // The goal's audit history notes the event all the same.
    let h = history(p.view(), &k, "goal/kf-m2").unwrap();
    assert_eq!(h.last().unwrap().idempotency_key, "one-more");
}

/// An uppdrag past its deadline that KF has not closed is never lost: it
/// stays in every later year's plan, named as förfallet, and `gaps` flags
/// it once its deadline has passed; one KF closed is gone from later plans.
#[tokio::test]
async fn an_overdue_uppdrag_stays_in_later_plans_until_kf_closes_it() {
    let app = spawn_app().await;
    load(&app, None).await;
    let k = vimmerby();
    let p = Projector::open(app.nats.path("proj")).unwrap();
    p.catch_up(&app.store, &k).await.unwrap();
    let ids =
        |plan: &PlanView| -> Vec<String> { plan.uppdrag.iter().map(|u| u.id.clone()).collect() };

    // Due 2026-12-31, reported klart, never closed by KF.
    let plan_2027 = plan(p.view(), &k, 2027).unwrap();
    assert!(ids(&plan_2027).contains(&"u-2026-01".to_owned()));
    assert!(plan_2027.overdue.contains(&"u-2026-01".to_owned()));
    let plan_2028 = plan(p.view(), &k, 2028).unwrap();
    assert!(
        plan_2028.overdue.contains(&"u-2026-01".to_owned()),
        "and the year after"
    );
    // Due in 2027: in the plan, not overdue.
    assert!(ids(&plan_2027).contains(&"u-2026-02".to_owned()));
    assert!(!plan_2027.overdue.contains(&"u-2026-02".to_owned()));
    // Closed by KF in the 2027 budget (due 2026-06-30): gone from 2027.
    assert!(!ids(&plan_2027).contains(&"u-2026-05".to_owned()));
    // In 2026 itself it was on time.
    let plan_2026 = plan(p.view(), &k, 2026).unwrap();
    assert!(plan_2026.overdue.is_empty());

    let overdue_gaps = |year, today: &str| -> Vec<String> {
        gaps(p.view(), &k, year, date(today))
            .unwrap()
            .into_iter()
            .filter(|g| g.kind == "uppdrag_overdue")
            .map(|g| g.entity)
            .collect()
    };
    assert!(overdue_gaps(2027, "2027-03-01").contains(&"uppdrag/u-2026-01".to_owned()));
    assert!(
        overdue_gaps(2026, "2026-12-31").is_empty(),
        "not before its deadline has passed"
    );
    assert!(!overdue_gaps(2027, "2027-03-01").contains(&"uppdrag/u-2026-05".to_owned()));
}

/// The red thread above an uppdrag: the budget decision that gave it, named
/// by meeting and §, then the vision.
#[tokio::test]
async fn an_uppdrag_sits_below_the_budget_decision_that_gave_it() {
    let app = spawn_app().await;
    load(&app, None).await;
    let k = vimmerby();
    let p = Projector::open(app.nats.path("proj")).unwrap();
    p.catch_up(&app.store, &k).await.unwrap();
    let c = chain(p.view(), &k, "uppdrag/u-2026-03").unwrap().unwrap();
    assert!(
        c.node.label.ends_with("(givet KF 2025-06-16 § 87)"),
        "{}",
        c.node.label
    );
    let up: Vec<&str> = c.up.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(up.first(), Some(&"budget/2026"), "{up:?}");
    // … and below the KF goal it serves.
    assert_eq!(up.get(1), Some(&"goal/kf-m2"), "{up:?}");
    assert!(up.contains(&"direction/vision-2030"), "{up:?}");
    let budget = chain(p.view(), &k, "budget/2026").unwrap().unwrap();
    assert!(budget.down.iter().any(|n| n.path == "uppdrag/u-2026-03"));
    let goal = chain(p.view(), &k, "goal/kf-m2").unwrap().unwrap();
    assert!(goal.down.iter().any(|n| n.path == "uppdrag/u-2026-03"));
    let digital = chain(p.view(), &k, "uppdrag/u-2026-02").unwrap().unwrap();
    assert!(
        !digital.up.iter().any(|n| n.path.starts_with("goal/")),
        "an uppdrag that names no goal has none above it"
    );
}

/// The kept plan is assembled from goals and uppdrag read once and kept
/// until a write touches them: through the example kommun's decisions (new
/// goals, uppdrag, values, statuses, closures) asked after every third —
/// each decision its own batch, so several batches' touches wait for the
/// next plan — after a rättelse and after a clear, it is byte for byte the
/// plan built afresh from the view.
#[tokio::test]
async fn the_kept_plan_is_the_plan_built_afresh_after_every_decision() {
    let app = spawn_app().await;
    let k = vimmerby();
    let mut writer = Writer::new(app.store.clone(), k.clone());
    let p = Projector::open(app.nats.path("proj")).unwrap();
    let same = |p: &Projector, year: i32, step: &str| {
        let kept = p.plan(&k, year).unwrap();
        let built = plan_with(p.view(), &k, year, Outcomes::Latest(OUTCOMES_KEPT)).unwrap();
        let built = serde_json::to_string(&built).unwrap();
        assert_eq!(kept.to_json().unwrap(), built, "{year} after {step}");
        // The values and statuses passed on as stored: the same JSON.
        let answered = plan_answer(p.view(), &k, year).unwrap();
        assert_eq!(
            serde_json::to_string(&answered).unwrap(),
            built,
            "{year} after {step}"
        );
    };
    for (n, d) in example::vimmerby().iter().enumerate() {
        writer.record(d).await;
        p.catch_up(&app.store, &k).await.unwrap();
        // Not asked after every decision: the parts are shared by every
        // year, so what several batches touched waits for the next plan.
        if n % 3 == 2 {
            // A year none of the example's uppdrag belongs to first: its
            // plan keeps them without their statuses, which the next
            // year's plan must then read.
            same(&p, 2025, &d.idempotency_key);
            same(&p, 2026, &d.idempotency_key);
        }
        if n % 7 == 6 {
            same(&p, 2027, &d.idempotency_key);
        }
    }
    writer.record(&one_more_outcome()).await;
    p.catch_up(&app.store, &k).await.unwrap();
    same(&p, 2026, "one more value");
    same(&p, 2027, "one more value");
    // A rättelse of a goal's title clears the view and projects it again.
    let (goal_id, _) = crate::support::kf_m2_adoption(&writer);
    let plan_2026 = |p: &Projector| p.plan(&k, 2026).unwrap().to_json().unwrap();
    assert!(!plan_2026(&p).contains("Rättad titel"));
    writer
        .record(&crate::support::decision(
            "rattelse-titel",
            "kf",
            "2026-12-14",
            serde_json::json!({"command": "correct_decision", "corrects": goal_id,
                "ground": "skrivfel", "reason": "Fel i protokollet",
                "corrections": {"/goal/title": "Rättad titel"}}),
        ))
        .await;
    p.catch_up(&app.store, &k).await.unwrap();
    same(&p, 2026, "a rättelse");
    assert!(plan_2026(&p).contains("Rättad titel"));
    // Cleared: nothing kept is served from before.
    p.clear(&k).unwrap();
    same(&p, 2026, "the view cleared");
    assert!(!plan_2026(&p).contains("kf-m2"));
}

/// Every read a query makes, by key or prefix.
struct Recording<'a> {
    kv: &'a sled::Tree,
    read: std::sync::Mutex<Vec<String>>,
}

impl Recording<'_> {
    fn note(&self, what: &str) {
        self.read.lock().unwrap().push(what.to_owned());
    }
}

impl KvRead for Recording<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        self.note(key);
        KvRead::get(self.kv, key)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        self.note(prefix);
        KvRead::scan(self.kv, prefix)
    }

    fn scan_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        self.note(prefix);
        KvRead::scan_page(self.kv, prefix, after, limit)
    }

    fn scan_last(&self, prefix: &str, n: usize) -> Result<Vec<(String, Vec<u8>)>, ProjectionError> {
        self.note(prefix);
        KvRead::scan_last(self.kv, prefix, n)
    }
}

/// A plan built whole reads the values and statuses of its own year's goals
/// and uppdrag only, not of every goal and uppdrag the kommun ever had
/// (over ten years, most of them from earlier mandate periods or closed).
#[tokio::test]
async fn a_plan_reads_the_items_of_its_own_years_goals_and_uppdrag_only() {
    let app = spawn_app().await;
    load(&app, None).await;
    let k = vimmerby();
    let p = Projector::open(app.nats.path("proj")).unwrap();
    p.catch_up(&app.store, &k).await.unwrap();
    // The ids whose items (under `<kind>/<id>/…`, or the count beside
    // them) a plan for `year` read.
    let read_for = |year: i32| {
        let recording = Recording {
            kv: p.view(),
            read: Default::default(),
        };
        let answered = plan_answer(&recording, &k, year).unwrap();
        let built = plan_with(&recording, &k, year, Outcomes::Every).unwrap();
        assert_eq!(answered.uppdrag.len(), built.uppdrag.len());
        let read = recording.read.into_inner().unwrap();
        let ids = |kind: &str| -> std::collections::BTreeSet<String> {
            read.iter()
                .filter_map(|key| {
                    let (_, rest) = key.split_once(&format!("/{kind}/"))?;
                    Some(rest.split('/').next()?.to_owned())
                })
                .collect()
        };
        (built, ids("uppdrag-status"), ids("outcome"))
    };
    // The example's uppdrag are given and its goals set from 2026: none is
    // in 2025's plan, and none of their items is read for it.
    let (plan, statuses, values) = read_for(2025);
    assert!(plan.uppdrag.is_empty() && plan.kf_goals.is_empty());
    assert!(statuses.is_empty(), "{statuses:?}");
    assert!(values.is_empty(), "{values:?}");
    // 2026's plan reads each of its uppdrag's statuses, and the values of
    // the goals in force then, each as every value read at once gives it.
    let (plan, statuses, values) = read_for(2026);
    assert!(!plan.uppdrag.is_empty());
    let in_plan: std::collections::BTreeSet<String> =
        plan.uppdrag.iter().map(|u| u.id.clone()).collect();
    assert_eq!(statuses, in_plan);
    let every = goals(p.view(), &k).unwrap();
    let in_force: std::collections::BTreeSet<String> = every
        .iter()
        .filter(|g| (g.from_year..=g.to_year).contains(&2026) || g.from_year == 2026)
        .map(|g| g.id.clone())
        .collect();
    assert!(!plan.kf_goals.is_empty());
    assert_eq!(values, in_force);
    for g in &plan.kf_goals {
        let whole = every.iter().find(|e| e.id == g.id).unwrap();
        assert_eq!(
            serde_json::to_value(g).unwrap(),
            serde_json::to_value(whole).unwrap()
        );
    }
}

/// The live chain comes from a graph kept between queries: it follows every
/// change of the documents the red thread is made of, and equals the chain
/// built afresh from the view.
#[tokio::test]
async fn the_kept_chain_graph_follows_every_change() {
    let app = spawn_app().await;
    let decisions = example::vimmerby();
    let split = decisions.len() - 20;
    let mut writer = load(&app, Some(split)).await;
    let k = vimmerby();
    let p = Projector::open(app.nats.path("proj")).unwrap();
    p.catch_up(&app.store, &k).await.unwrap();
    let everything = |kv: &sled::Tree| {
        let top = chain(kv, &k, "direction/vision-2030").unwrap().unwrap();
        top.down.into_iter().map(|n| n.path).collect::<Vec<_>>()
    };
    let agree = |p: &Projector| {
        let nodes = everything(p.view());
        for node in nodes
            .iter()
            .chain(["direction/vision-2030".to_owned()].iter())
        {
            assert_eq!(
                p.chain(&k, node).unwrap(),
                chain(p.view(), &k, node).unwrap(),
                "{node}"
            );
        }
        // The kept plan answer is the one built from the view now, and it
        // is kept: asked again with nothing written, the same answer.
        let kept = p.plan(&k, 2026).unwrap();
        let built = styr_projections::plan_with(
            p.view(),
            &k,
            2026,
            styr_projections::Outcomes::Latest(styr_projections::OUTCOMES_KEPT),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&kept.to_json().unwrap()).unwrap(),
            serde_json::to_value(&built).unwrap()
        );
        assert!(std::sync::Arc::ptr_eq(&kept, &p.plan(&k, 2026).unwrap()));
        nodes
    };
    let before = agree(&p);
    // The rest of the year: a new budget's uppdrag, plans, reports.
    for d in &decisions[split..] {
        writer.record(d).await;
    }
    p.catch_up(&app.store, &k).await.unwrap();
    let after = agree(&p);
    assert_ne!(before, after, "the red thread changed");
    // A value for an indicator changes no document of the graph, but the
    // plan that shows it.
    let plan_before = p.plan(&k, 2026).unwrap();
    let d = one_more_outcome();
    writer.record(&d).await;
    p.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(agree(&p), after);
    assert_ne!(
        plan_before.to_json().unwrap(),
        p.plan(&k, 2026).unwrap().to_json().unwrap()
    );
    // Cleared and rebuilt: the kept graph is not served from before.
    p.clear(&k).unwrap();
    assert_eq!(p.chain(&k, "direction/vision-2030").unwrap(), None);
    p.catch_up(&app.store, &k).await.unwrap();
    assert_eq!(agree(&p), after);
}
