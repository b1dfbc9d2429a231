//! Test harness: a real nats-server on a free port with its own data folder,
//! removed when the harness is dropped.

#![allow(dead_code)]

use chrono::NaiveDate;
use serde_json::json;
use styr_store::{AggregateRef, DecidedBy, Decision, KommunId, NewEvent, Provenance, StoredEvent};
use uuid::Uuid;

pub use styr_testkit::TestNats;

pub fn kommun(id: &str) -> KommunId {
    KommunId::new(id).unwrap()
}

pub fn provenance() -> Provenance {
    Provenance::new(
        DecidedBy::Body {
            body: "kf".into(),
            meeting_date: NaiveDate::from_ymd_opt(2025, 6, 16).unwrap(),
            paragraph: "87".into(),
        },
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
    )
}

/// A decision of `n` events on aggregates `goal-0..n`, under `key`.
pub fn decision(key: &str, n: usize) -> Decision {
    Decision {
        submission_digest: None,
        idempotency_key: key.to_owned(),
        recorded_by: "test".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        provenance: provenance(),
        events: (0..n)
            .map(|i| NewEvent {
                aggregate: AggregateRef::new("goal", format!("goal-{i}")),
                event_type: "GoalAdopted".into(),
                schema_version: 1,
                payload: json!({ "key": key, "index": i }),
            })
            .collect(),
    }
}

/// Checks that `events` are the whole history of `kommun`: sequences 1..=n
/// without gaps, and every event chained to the one before it.
pub fn assert_chain(kommun: &KommunId, events: &[StoredEvent]) {
    let mut prev = styr_store::ChainHash::genesis(kommun);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e.sequence,
            i as u64 + 1,
            "gap before sequence {}",
            e.sequence
        );
        assert_eq!(e.envelope.prev_hash, prev, "chain broken at {}", e.sequence);
        assert_eq!(&e.envelope.kommun, kommun);
        prev = e.hash;
    }
}
