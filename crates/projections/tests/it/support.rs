//! Writing a kommun's history for the tests without the service: each
//! decision decided by the styrmodell against the state so far and recorded
//! through the store as one atomic batch, mapped to records the way the
//! service maps them ([`styr_projections::new_event`]).

use std::sync::Arc;

use styr_domain::{EventMeta, KommunState};
use styr_store::{AppendOutcome, Commit, Decision, EventStore, KommunId};
use styr_testkit::example::ExampleDecision;

pub struct Writer {
    store: Arc<EventStore>,
    kommun: KommunId,
    state: KommunState,
    /// Every event recorded, by id (a rättelse is decided against the
    /// decision it corrects).
    pub recorded:
        std::collections::HashMap<uuid::Uuid, (styr_domain::Event, styr_domain::DecidedBy)>,
    corrections: styr_domain::Corrections,
}

impl Writer {
    pub fn new(store: Arc<EventStore>, kommun: KommunId) -> Self {
        Writer {
            store,
            kommun,
            state: KommunState::default(),
            recorded: Default::default(),
            corrections: Default::default(),
        }
    }

    /// Records one decision, which the styrmodell must accept.
    pub async fn record(&mut self, d: &ExampleDecision) -> Commit {
        // A rättelse is decided against what it corrects, read through
        // the rättelser before it (as the service reads it).
        let original = match &d.command {
            styr_domain::Command::CorrectDecision(c) => {
                self.recorded.get(&c.corrects).map(|(e, by)| {
                    let (event_type, payload) = e.to_payload();
                    let payload = self
                        .corrections
                        .apply(c.corrects, &payload)
                        .unwrap_or(payload);
                    styr_domain::Original {
                        event_type: event_type.to_owned(),
                        payload,
                        decided_by: by.clone(),
                    }
                })
            }
            _ => None,
        };
        let events = self
            .state
            .decide_as_with(&d.recorded_by, &d.provenance, &d.command, original.as_ref())
            .unwrap_or_else(|r| panic!("{} was rejected: {r}", d.idempotency_key));
        let decision = Decision {
            submission_digest: None,
            idempotency_key: d.idempotency_key.clone(),
            recorded_by: d.recorded_by.clone(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            provenance: d.provenance.clone(),
            events: events.iter().map(styr_projections::new_event).collect(),
        };
        let expected = self.store.last_sequence(&self.kommun).await.unwrap();
        match self.store.append(&self.kommun, expected, decision).await {
            Ok(AppendOutcome::Appended(commit)) => {
                for (event, id) in events.iter().zip(&commit.event_ids) {
                    let meta = EventMeta {
                        event_id: *id,
                        decided_by: d.provenance.decided_by.clone(),
                    };
                    self.state.evolve(&meta, event);
                    self.recorded
                        .insert(*id, (event.clone(), d.provenance.decided_by.clone()));
                    if let styr_domain::Event::DecisionCorrected(c) = event {
                        self.corrections.note(*id, c);
                    }
                }
                commit
            }
            other => panic!("{} was not recorded: {other:?}", d.idempotency_key),
        }
    }
}

/// A decision of `body` at its meeting on `on` (§ 1), recorded by the
/// example's loader (the kommun's administrator).
pub fn decision(key: &str, body: &str, on: &str, command: serde_json::Value) -> ExampleDecision {
    serde_json::from_value(serde_json::json!({
        "idempotency_key": key, "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": on, "paragraph": "1"}, "effective_date": on},
        "command": command
    }))
    .unwrap()
}

/// A nats-server of its own with the example kommun (`vimmerby`) written
/// into it, and the writer to go on with.
pub async fn example_written() -> (styr_testkit::TestNats, Arc<EventStore>, Writer) {
    let nats = styr_testkit::TestNats::start().await;
    let store = nats.shared_store().await;
    let mut writer = Writer::new(store.clone(), KommunId::new("vimmerby").unwrap());
    for d in &styr_testkit::example::vimmerby() {
        writer.record(d).await;
    }
    (nats, store, writer)
}

/// The KF decision that adopted kf-m2: its event id and the goal's title.
pub fn kf_m2_adoption(writer: &Writer) -> (uuid::Uuid, String) {
    writer
        .recorded
        .iter()
        .find_map(|(id, (e, _))| match e {
            styr_domain::Event::KfGoalAdopted(g) if g.goal.id == "kf-m2" => {
                Some((*id, g.goal.title.clone()))
            }
            _ => None,
        })
        .expect("the example adopts kf-m2")
}
