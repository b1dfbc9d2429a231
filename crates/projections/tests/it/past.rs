//! Past views read from the projection's kept versions: the same as the
//! in-memory fold of the history, at every moment a question can name —
//! with the projection behind the stream, after more decisions, and around
//! rättelser (where the versions cannot tell, the fold answers).

use chrono::Duration;
use styr_projections::*;
use styr_store::{EventStore, KommunId, StoredEvent};

use crate::support::{decision, example_written};

/// Every third sequence and the last few (and one past the end), every
/// third event's record time and the moment before it, and every
/// effective date and the day before it.
fn moments(events: &[StoredEvent]) -> Vec<AsOf> {
    let last = events.len() as u64;
    let mut out: Vec<AsOf> = (0..=last + 1)
        .filter(|n| n % 3 == 0 || *n + 3 > last)
        .map(AsOf::Sequence)
        .collect();
    let mut dates = std::collections::BTreeSet::new();
    for (i, e) in events.iter().enumerate() {
        let (t, d) = (e.envelope.recorded_at, e.envelope.provenance.effective_date);
        if i % 3 == 0 {
            out.extend([
                AsOf::Recorded(t),
                AsOf::Recorded(t - Duration::microseconds(1)),
            ]);
        }
        dates.extend([d, d - Duration::days(1)]);
    }
    out.extend(dates.into_iter().map(AsOf::InForce));
    out
}

/// Asks `p` each question and compares the answer with the fold; returns
/// how many were read from the versions.
async fn same_as_the_fold(p: &Projector, store: &EventStore, k: &KommunId, ats: &[AsOf]) -> usize {
    let mut versioned = 0;
    for (i, &at) in ats.iter().enumerate() {
        let past = p.as_of(store, k, at).await.unwrap();
        let fold = as_of(store, k, at).await.unwrap();
        assert_eq!(
            digest(&past, k).unwrap(),
            digest(&fold, k).unwrap(),
            "{at:?} (from the versions: {})",
            past.is_versioned()
        );
        // The tail of a list (the plan reads the latest outcomes and
        // statuses so) — lists of items named by their sequence, the
        // counts beside them (rewritten by every item) and the documents
        // (rewritten when they change) — and the plan itself, with every
        // outcome and with the latest only (as the service answers).
        // Checkpoint documents are keyed by the earlier sequence they
        // cover, so they appear after the sequence their key names: their
        // "absent" versions send the tail the long way.
        // And each list by itself (each indicator's values, each
        // uppdrag's statuses), as the plan reads them: read from where its
        // items as they stood end, not past every later one.
        let mut lists = std::collections::BTreeSet::new();
        for (kind, depth) in [("outcome", 2), ("uppdrag-status", 1)] {
            let root = format!("v/{k}/{kind}/");
            for (key, _) in p.view().scan(&root).unwrap() {
                let rest: Vec<&str> = key[root.len()..].split('/').collect();
                lists.insert(format!("{root}{}/", rest[..depth].join("/")));
            }
        }
        for prefix in lists.into_iter().chain([
            format!("v/{k}/outcome/"),
            format!("v/{k}/uppdrag-status/"),
            format!("v/{k}/checkpoint/"),
            format!("v/{k}/intrusion/"),
            format!("v/{k}/count/"),
            format!("v/{k}/"),
            format!("h/{k}/goal/"),
            format!("h/{k}/"),
        ]) {
            for n in [1, 3, 12] {
                assert_eq!(
                    past.scan_last(&prefix, n).unwrap(),
                    fold.scan_last(&prefix, n).unwrap(),
                    "{at:?}: last {n} of {prefix}"
                );
            }
        }
        for outcomes in [Outcomes::Every, Outcomes::Latest(OUTCOMES_KEPT)] {
            let planned = |kv: &dyn KvRead| {
                plan_with(kv, k, 2026, outcomes)
                    .map(|p| serde_json::to_string(&p).unwrap())
                    .map_err(|e| e.to_string())
            };
            assert_eq!(planned(&past), planned(&fold), "{at:?}: the plan");
        }
        // As a service answers it, the latest values passed on as stored:
        // the same JSON as read into their types and written again.
        let answered = |kv: &dyn KvRead| {
            plan_answer(kv, k, 2026)
                .map(|p| serde_json::to_string(&p).unwrap())
                .map_err(|e| e.to_string())
        };
        assert_eq!(answered(&past), answered(&fold), "{at:?}: the answer");
        assert_eq!(
            answered(&past),
            plan_with(&past, k, 2026, Outcomes::Latest(OUTCOMES_KEPT))
                .map(|p| serde_json::to_string(&p).unwrap())
                .map_err(|e| e.to_string()),
            "{at:?}: the answer as stored and as read"
        );
        // Read key by key too, for every key the projection holds now
        // (the digest reads by prefix).
        if i % 7 == 0 {
            for prefix in [format!("v/{k}/"), format!("h/{k}/")] {
                for (key, _) in p.view().scan(&prefix).unwrap() {
                    assert_eq!(
                        past.get(&key).unwrap(),
                        fold.get(&key).unwrap(),
                        "{at:?}: {key}"
                    );
                }
            }
        }
        versioned += usize::from(past.is_versioned());
    }
    versioned
}

#[tokio::test]
async fn a_past_view_from_the_versions_is_the_fold() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    // Checkpoints signed along the way, each naming a sequence a few
    // before the one that records it: a document that appears after the
    // sequence its key names (the projection records checkpoints; their
    // signatures are the verifier's to check).
    for i in 0..3 {
        let head = store.last_sequence(&k).await.unwrap();
        let event = styr_domain::Event::CheckpointSigned(styr_domain::CheckpointSigned {
            sequence: head - 5,
            head_hash: "ab".repeat(32),
            signed_at: chrono::Utc::now(),
            key_id: "nyckel-1".into(),
            signature: "cd".repeat(64),
        });
        let decision = styr_store::Decision {
            submission_digest: None,
            idempotency_key: format!("kontrollpunkt-{i}"),
            recorded_by: "styrkedja".into(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            provenance: styr_store::Provenance::new(
                styr_store::DecidedBy::System {
                    component: "checkpoint".into(),
                },
                chrono::Utc::now().date_naive(),
            ),
            events: vec![new_event(&event)],
        };
        let appended = store.append(&k, head, decision).await.unwrap();
        assert!(matches!(appended, styr_store::AppendOutcome::Appended(_)));
    }
    // Small batches and segments: many versions and many segments, each
    // segment several batches (a key replaced in two of them keeps the
    // version from the first only).
    let p = Projector::open(nats.path("p"))
        .unwrap()
        .with_flush_every(2)
        .with_segment_events(5);
    p.catch_up(&store, &k).await.unwrap();
    let events = store.read(&k, 1).await.unwrap();
    let ats = moments(&events);
    let versioned = same_as_the_fold(&p, &store, &k, &ats).await;
    // Every question about a sequence is, and most others are (a
    // backdated decision puts a date's events far apart).
    assert!(
        versioned * 10 >= ats.len() * 9,
        "{versioned} of {} from the versions",
        ats.len()
    );

    // More decisions, the last one the projection has not seen (folded
    // on top).
    // An id of 20 digits reads like a list item's sequence: it is not one.
    writer
        .record(&decision(
            "efter-2",
            "kf",
            "2027-02-02",
            serde_json::json!({"command": "establish_body", "body": "00000000000000099999",
                "kind": "committee", "name": "Nämnd med siffernamn", "area": "prov"}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    writer
        .record(&decision(
            "efter-1",
            "kf",
            "2027-02-01",
            serde_json::json!({"command": "establish_body", "body": "vn", "kind": "committee",
                "name": "Valnämnden", "area": "val"}),
        ))
        .await;
    // Statuses of one uppdrag: a later date, then one recorded after it
    // for an earlier date than any (the list is in date order: a past
    // view reads it from its latest date then, past the later item).
    // Enough of them to close a segment since the questions above: the
    // segments kept in memory are read on from the last one.
    for (key, uppdrag, as_of) in [
        ("status-sent", "u-2026-01", "2026-08-31"),
        ("status-bakat", "u-2026-01", "2026-03-31"),
        ("status-3", "u-2026-03", "2026-08-31"),
        ("status-4", "u-2026-03", "2026-06-30"),
        ("status-5", "u-2026-03", "2026-07-31"),
    ] {
        writer
            .record(&decision(
                key,
                "bun",
                "2026-09-15",
                serde_json::json!({"command": "report_uppdrag_status", "uppdrag": uppdrag,
                    "body": "bun", "as_of": as_of, "status": "ongoing"}),
            ))
            .await;
        p.catch_up(&store, &k).await.unwrap();
    }
    let projected = p.checkpoint(&k).unwrap().unwrap().sequence;
    let now = p
        .as_of(&store, &k, AsOf::Sequence(projected))
        .await
        .unwrap();
    assert!(now.is_versioned(), "the segments closed since are read");
    drop(now);
    let events = store.read(&k, 1).await.unwrap();
    let ats = moments(&events);
    let behind = same_as_the_fold(&p, &store, &k, &ats).await;
    assert!(behind * 10 >= ats.len() * 9, "{behind} of {}", ats.len());

    // Projected an event a batch, each its own segment, and asked at
    // every event that recorded values and each of the last: each
    // question starts from a view ending with such an event, or between
    // the two statuses, or after them.
    let fine = Projector::open(nats.path("fine"))
        .unwrap()
        .with_flush_every(1)
        .with_segment_events(1);
    fine.catch_up(&store, &k).await.unwrap();
    let end = events.len() as u64;
    let last_ones: Vec<AsOf> = events
        .iter()
        .filter(|e| e.envelope.event_type == "OutcomesRecorded")
        .map(|e| e.sequence)
        .chain(end - 12..=end + 1)
        .map(AsOf::Sequence)
        .collect();
    assert!(last_ones.len() > 14, "the example records values");
    let versioned = same_as_the_fold(&fine, &store, &k, &last_ones).await;
    assert!(
        versioned * 10 >= last_ones.len() * 9,
        "{versioned} of {}",
        last_ones.len()
    );

    // Every stretch read apart (none read through), each from the chain
    // state its segment kept: the date questions, whose backdated
    // decisions put their events in segments far apart.
    let apart = Projector::open(nats.path("apart"))
        .unwrap()
        .with_flush_every(2)
        .with_segment_events(5)
        .with_read_through(0);
    apart.catch_up(&store, &k).await.unwrap();
    let dates: Vec<AsOf> = ats
        .iter()
        .copied()
        .filter(|at| matches!(at, AsOf::InForce(_)))
        .collect();
    let versioned = same_as_the_fold(&apart, &store, &k, &dates).await;
    assert!(
        versioned * 10 >= dates.len() * 9,
        "{versioned} of {}",
        dates.len()
    );

    // Projected as one batch into a fresh folder: one segment, so an
    // early moment folds from the start (within the limit): the same.
    let whole = Projector::open(nats.path("whole")).unwrap();
    whole.catch_up(&store, &k).await.unwrap();
    same_as_the_fold(&whole, &store, &k, &ats[..40]).await;
}

#[tokio::test]
async fn a_past_view_around_rattelser_is_the_fold() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    let goal = writer
        .recorded
        .iter()
        .find(
            |(_, (e, _))| matches!(e, styr_domain::Event::KfGoalAdopted(g) if g.goal.id == "kf-m2"),
        )
        .map(|(id, _)| *id)
        .unwrap();
    let p = Projector::open(nats.path("p"))
        .unwrap()
        .with_flush_every(4)
        .with_segment_events(6);
    p.catch_up(&store, &k).await.unwrap();
    let before = store.last_sequence(&k).await.unwrap();
    for (n, title) in [
        "Alla elever ska nå gymnasiebehörighet",
        "Alla elever når behörighet",
    ]
    .iter()
    .enumerate()
    {
        writer
            .record(&decision(
                &format!("rattelse-{n}"),
                "kf",
                "2026-12-14",
                serde_json::json!({"command": "correct_decision", "corrects": goal, "ground": "skrivfel",
                    "reason": "Skrivfel i målets titel",
                    "corrections": {"/goal/title": title}}),
            ))
            .await;
        // Moments that take in the rättelse the projection has not
        // reached: folded whole, the same.
        let events = store.read(&k, 1).await.unwrap();
        let newest = events.last().unwrap();
        let ahead = [
            AsOf::Sequence(newest.sequence),
            AsOf::Recorded(newest.envelope.recorded_at),
            AsOf::InForce(newest.envelope.provenance.effective_date),
        ];
        assert_eq!(same_as_the_fold(&p, &store, &k, &ahead).await, 0);
        p.catch_up(&store, &k).await.unwrap();
    }
    let events = store.read(&k, 1).await.unwrap();
    let ats = moments(&events);
    let versioned = same_as_the_fold(&p, &store, &k, &ats).await;
    // Sequences after the last rättelse are read from the versions.
    let last = store.last_sequence(&k).await.unwrap();
    assert!(last > before);
    for n in [last, last + 1] {
        assert!(p
            .as_of(&store, &k, AsOf::Sequence(n))
            .await
            .unwrap()
            .is_versioned());
    }
    assert!(versioned > 0);
    // Before the rättelser, by sequence: what was recorded then (folded).
    let then = p.as_of(&store, &k, AsOf::Sequence(before)).await.unwrap();
    assert!(!then.is_versioned());
    let plan = plan(&then, &k, 2026).unwrap();
    let kf_m2 = plan.kf_goals.iter().find(|g| g.id == "kf-m2").unwrap();
    assert_ne!(kf_m2.title, "Alla elever når behörighet");
}

/// Past views asked while the projection is being written: `follow` (the
/// CLI's, which takes no lock) projects each decision as it comes, in
/// segments of a few events, while statuses are recorded for the same
/// uppdrag one after another and questions about earlier moments are asked
/// of the same folder on another thread. Every answer is the fold: a past
/// view reads each key live first and then its versions, so a batch
/// written between the two reads leaves the value it replaced among them.
/// (How the threads interleave is the scheduler's: this fails when a
/// concurrent write shows through, not on every ordering there could be.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_view_asked_while_the_projection_is_written_is_the_fold() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    let p = std::sync::Arc::new(
        Projector::open(nats.path("p"))
            .unwrap()
            .with_flush_every(1)
            .with_segment_events(3),
    );
    p.catch_up(&store, &k).await.unwrap();
    let events = store.read(&k, 1).await.unwrap();
    // The latest moments recorded, whose keys the statuses replace.
    let last = events.len() as u64;
    let ats: Vec<AsOf> = (last - 5..=last).map(AsOf::Sequence).collect();
    // Moments past: what the fold says of them does not change.
    let mut folds = Vec::new();
    for at in ats {
        let fold = as_of(&store, &k, at).await.unwrap();
        folds.push((at, digest(&fold, &k).unwrap()));
    }
    let following = tokio::spawn({
        let (p, store, k) = (p.clone(), store.clone(), k.clone());
        async move { p.follow(&store, &k, |_| {}).await }
    });
    // The recording starts as the first question is asked, so the two
    // overlap whatever the machine's load; questions go on for at least
    // three rounds, while `follow` may still be projecting what was
    // recorded last.
    let (go, started) = tokio::sync::oneshot::channel::<()>();
    let recording = tokio::spawn(async move {
        started.await.unwrap();
        for i in 0..60u32 {
            writer
                .record(&decision(
                    &format!("medan-{i}"),
                    "bun",
                    "2026-09-15",
                    serde_json::json!({"command": "report_uppdrag_status", "uppdrag": "u-2026-01",
                        "body": "bun", "as_of": format!("2026-08-{:02}", 1 + i % 28),
                        "status": "ongoing"}),
                ))
                .await;
        }
    });
    go.send(()).unwrap();
    let mut rounds = 0;
    while rounds < 3 || !recording.is_finished() {
        for (at, fold) in &folds {
            let past = p.as_of(&store, &k, *at).await.unwrap();
            assert_eq!(&digest(&past, &k).unwrap(), fold, "{at:?}");
        }
        rounds += 1;
    }
    recording.await.unwrap();
    // Still following: it ends only with the stream, or when dropped.
    assert!(!following.is_finished());
    following.abort();
}
