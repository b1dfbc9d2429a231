//! A rättelse takes effect: from its recording on, plans and histories read
//! the corrected values; an as-of before it reads the original; a rebuild
//! from scratch comes to the same view.

use std::sync::Arc;

use styr_projections::*;
use styr_store::{EventStore, KommunId};
use styr_testkit::example;
use styr_testkit::TestNats;
use uuid::Uuid;

use crate::support::{decision, kf_m2_adoption, Writer};

fn kf_m2(plan: &PlanView) -> &styr_projections::docs::GoalDoc {
    plan.kf_goals.iter().find(|g| g.id == "kf-m2").unwrap()
}

/// The value recorded for behoriga-gy in `period`.
fn outcome(plan: &PlanView, period: &str) -> f64 {
    kf_m2(plan).outcomes["behoriga-gy"]
        .iter()
        .rfind(|o| o.period == period)
        .unwrap()
        .value
}

#[tokio::test]
async fn a_rattelse_takes_effect_from_its_recording_on() {
    let nats = TestNats::start().await;
    let store: Arc<EventStore> = nats.shared_store().await;
    let k = KommunId::new("vimmerby").unwrap();
    let mut writer = Writer::new(store.clone(), k.clone());
    let mut outcome_id = None;
    for d in &example::vimmerby() {
        let commit = writer.record(d).await;
        if d.idempotency_key == "ks-forv-2026-09-01-behoriga" {
            outcome_id = Some(commit.event_ids[0]);
        }
    }
    let outcome_id = outcome_id.unwrap();
    let (goal_id, title) = kf_m2_adoption(&writer);
    let pointer = "/goal/title".to_owned();
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let before = plan(p.view(), &k, 2026).unwrap();
    assert_eq!(kf_m2(&before).title, title);
    assert_eq!(outcome(&before, "2026"), 84.3);
    let last_before = store.last_sequence(&k).await.unwrap();

    // KF corrects a skrivfel in the goal's title; the controller who
    // recorded the outcome corrects a räknefel in its value.
    let corrected = format!("{title} (rättad)");
    let fix = |corrects: Uuid, ground: &str, corrections: serde_json::Value| {
        serde_json::json!({"command": "correct_decision", "corrects": corrects, "ground": ground,
            "reason": "Fel i protokollet", "corrections": corrections})
    };
    let title_fix = writer
        .record(&decision(
            "rattelse-titel",
            "kf",
            "2026-12-14",
            fix(
                goal_id,
                "skrivfel",
                serde_json::json!({pointer.clone(): corrected}),
            ),
        ))
        .await;
    let mut value_fix = example::vimmerby()
        .into_iter()
        .find(|d| d.idempotency_key == "ks-forv-2026-09-01-behoriga")
        .unwrap();
    value_fix.idempotency_key = "rattelse-varde".into();
    value_fix.command = serde_json::from_value(fix(
        outcome_id,
        "raknefel",
        serde_json::json!({"/rows/0/value": 85.1}),
    ))
    .unwrap();
    writer.record(&value_fix).await;

    // Live: the plan reads the corrected values.
    p.catch_up(&store, &k).await.unwrap();
    let after = plan(p.view(), &k, 2026).unwrap();
    assert_eq!(kf_m2(&after).title, corrected);
    assert_eq!(outcome(&after, "2026"), 85.1);
    // The goal's audit trail holds the decision and its rättelse, with the
    // rättelse's own provenance.
    let trail = history(p.view(), &k, "goal/kf-m2").unwrap();
    let original = trail.iter().find(|h| h.event_id == goal_id).unwrap();
    let rattelse = trail
        .iter()
        .find(|h| h.event_type == "DecisionCorrected")
        .unwrap();
    assert_eq!(rattelse.corrects, Some(goal_id));
    let note = rattelse.correction.as_ref().unwrap();
    assert_eq!(note.ground, Some(styr_domain::CorrectionGround::Skrivfel));
    assert_eq!(
        (
            &note.fields[0].field,
            &note.fields[0].before,
            &note.fields[0].after
        ),
        (
            &pointer,
            &Some(serde_json::json!(title)),
            &serde_json::json!(corrected)
        )
    );
    assert_eq!(rattelse.sequence, title_fix.first_sequence);
    assert!(original.correction.is_none());
    assert!(matches!(
        &rattelse.provenance.decided_by,
        styr_domain::DecidedBy::Body { body, meeting_date, .. }
            if body == "kf" && meeting_date.to_string() == "2026-12-14"
    ));

    // Before the rättelse the history said what was recorded then.
    let then = as_of(&store, &k, AsOf::Sequence(last_before))
        .await
        .unwrap();
    let then_plan = plan(&then, &k, 2026).unwrap();
    assert_eq!(kf_m2(&then_plan).title, title);
    assert_eq!(outcome(&then_plan, "2026"), 84.3);
    let recorded = as_of(
        &store,
        &k,
        AsOf::Recorded(rattelse.recorded_at - chrono::Duration::microseconds(1)),
    )
    .await
    .unwrap();
    assert_eq!(kf_m2(&plan(&recorded, &k, 2026).unwrap()).title, title);
    // What was in force on a date is read as it is known now.
    let in_force = as_of(&store, &k, AsOf::InForce("2026-06-30".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(kf_m2(&plan(&in_force, &k, 2026).unwrap()).title, corrected);
    let now = as_of(&store, &k, AsOf::Sequence(u64::MAX)).await.unwrap();
    assert_eq!(digest(&now, &k).unwrap(), p.digest(&k).unwrap());

    // A projection built from scratch, and one that saw the rättelse as it
    // came one event at a time, come to the same view.
    let fresh = Projector::open(nats.path("fresh")).unwrap();
    fresh.rebuild(&store, &k).await.unwrap();
    assert_eq!(fresh.digest(&k).unwrap(), p.digest(&k).unwrap());
    let stepwise = Projector::open(nats.path("stepwise"))
        .unwrap()
        .with_flush_every(1);
    stepwise.catch_up(&store, &k).await.unwrap();
    assert_eq!(stepwise.digest(&k).unwrap(), p.digest(&k).unwrap());

    // A second rättelse of the same decision applies over the first.
    let again = writer
        .record(&decision(
            "rattelse-titel-2",
            "kf",
            "2027-01-25",
            fix(
                goal_id,
                "skrivfel",
                serde_json::json!({pointer.clone(): "Alla elever ska nå behörighet"}),
            ),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let latest = plan(p.view(), &k, 2026).unwrap();
    assert_eq!(kf_m2(&latest).title, "Alla elever ska nå behörighet");
    let second = history(p.view(), &k, "goal/kf-m2")
        .unwrap()
        .into_iter()
        .find(|h| h.sequence == again.first_sequence)
        .unwrap();
    assert_eq!(
        second.correction.unwrap().fields[0].before,
        Some(serde_json::json!(corrected)),
        "the second rättelse replaced the first one's value"
    );
    let fresh = Projector::open(nats.path("fresh-2")).unwrap();
    fresh.rebuild(&store, &k).await.unwrap();
    assert_eq!(fresh.digest(&k).unwrap(), p.digest(&k).unwrap());
    let now = as_of(&store, &k, AsOf::Sequence(u64::MAX)).await.unwrap();
    assert_eq!(digest(&now, &k).unwrap(), p.digest(&k).unwrap());
    // What an event touched is kept only for the two events a rättelse
    // names, in every projection that came to this view.
    for projection in [&p, &fresh, &stepwise] {
        assert_eq!(indexed(projection, &k), [goal_id, outcome_id].into());
    }
}

/// The events whose record of what they touched the projection keeps.
fn indexed(p: &Projector, k: &KommunId) -> std::collections::BTreeSet<Uuid> {
    p.view()
        .scan_prefix(format!("e/{k}/"))
        .map(|e| {
            let key = e.unwrap().0;
            let id = std::str::from_utf8(&key)
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            id.parse().unwrap()
        })
        .collect()
}

/// A rättelse recorded without a ground (as before rättelser took effect)
/// is an annotation: the decision stands as recorded, and the annotation's
/// line still joins the history of what the decision touched — read from
/// the history lines, as no record of what an event touched is kept for an
/// event that no rättelse with effect names.
#[tokio::test]
async fn an_annotation_joins_the_history_of_what_its_decision_touched() {
    let nats = TestNats::start().await;
    let store: Arc<EventStore> = nats.shared_store().await;
    let k = KommunId::new("vimmerby").unwrap();
    let mut writer = Writer::new(store.clone(), k.clone());
    let decisions = example::vimmerby();
    for d in &decisions {
        writer.record(d).await;
    }
    let (goal_id, title) = kf_m2_adoption(&writer);
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    // Appended as an older version recorded it (the styrmodell now
    // demands a ground).
    let annotation = styr_domain::Event::DecisionCorrected(styr_domain::DecisionCorrected {
        corrects: goal_id,
        reason: "Anteckning i protokollet".into(),
        corrections: [("/goal/title".to_owned(), serde_json::json!("Annan titel"))].into(),
        ground: None,
        replaced: Default::default(),
    });
    let last = decisions.last().unwrap();
    let expected = store.last_sequence(&k).await.unwrap();
    let outcome = store
        .append(
            &k,
            expected,
            styr_store::Decision {
                submission_digest: None,
                idempotency_key: "anteckning".into(),
                recorded_by: last.recorded_by.clone(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                provenance: last.provenance.clone(),
                events: vec![new_event(&annotation)],
            },
        )
        .await
        .unwrap();
    let styr_store::AppendOutcome::Appended(commit) = outcome else {
        panic!("not appended: {outcome:?}");
    };
    p.catch_up(&store, &k).await.unwrap();
    assert_eq!(kf_m2(&plan(p.view(), &k, 2026).unwrap()).title, title);
    let trail = history(p.view(), &k, "goal/kf-m2").unwrap();
    let line = trail
        .iter()
        .find(|h| h.event_type == "DecisionCorrected")
        .expect("the annotation's line in the goal's history");
    assert_eq!(
        (line.sequence, line.corrects),
        (commit.first_sequence, Some(goal_id))
    );
    assert!(indexed(&p, &k).is_empty());
    // Folded from scratch, one event at a time, and as of now: the same.
    let stepwise = Projector::open(nats.path("stepwise"))
        .unwrap()
        .with_flush_every(1);
    stepwise.catch_up(&store, &k).await.unwrap();
    assert_eq!(stepwise.digest(&k).unwrap(), p.digest(&k).unwrap());
    let now = as_of(&store, &k, AsOf::Sequence(u64::MAX)).await.unwrap();
    assert_eq!(digest(&now, &k).unwrap(), p.digest(&k).unwrap());
}
