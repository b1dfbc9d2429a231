//! As-of: any read model as it stood at a past moment, folded in memory from
//! the stream without touching the live projection.

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use styr_store::{EventStore, KommunId, StoredEvent};

use styr_domain::Corrections;

use crate::kv::{MemKv, Overlay};
use crate::{apply, domain_event, read_event, ProjectionError};

/// Which past to ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// What was in force on this date: decisions whose effective date is on
    /// or before it, as they are recorded now (later rättelser included).
    InForce(NaiveDate),
    /// What the system said at this moment: events recorded up to it.
    Recorded(DateTime<Utc>),
    /// The history up to and including this stream sequence.
    Sequence(u64),
}

impl AsOf {
    pub fn includes(&self, e: &StoredEvent) -> bool {
        match self {
            AsOf::InForce(d) => e.envelope.provenance.effective_date <= *d,
            AsOf::Recorded(t) => e.envelope.recorded_at <= *t,
            AsOf::Sequence(s) => e.sequence <= *s,
        }
    }
}

/// Folds events into an in-memory view (through every rättelse among them).
pub fn fold<'e>(
    events: impl IntoIterator<Item = &'e StoredEvent>,
) -> Result<MemKv, ProjectionError> {
    let events: Vec<&StoredEvent> = events.into_iter().collect();
    let corrections = corrections_among(events.iter().copied())?;
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    for stored in events {
        let event = read_event(stored, &corrections)?;
        apply(&mut overlay, stored, &event, &corrections)?;
    }
    Ok(MemKv(overlay.take()))
}

/// Folds classified messages (events and foreign messages) into an
/// in-memory view, as the live projection does.
pub fn fold_records<'e>(
    kommun: &KommunId,
    records: impl IntoIterator<Item = &'e styr_store::Record>,
) -> Result<MemKv, ProjectionError> {
    let records: Vec<&styr_store::Record> = records.into_iter().collect();
    let corrections = corrections_among(records.iter().filter_map(|r| match r {
        styr_store::Record::Event(e) => Some(e),
        styr_store::Record::Foreign(_) => None,
    }))?;
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    for record in records {
        match record {
            styr_store::Record::Event(stored) => {
                let event = read_event(stored, &corrections)?;
                apply(&mut overlay, stored, &event, &corrections)?;
            }
            styr_store::Record::Foreign(f) => {
                crate::apply_foreign(&mut overlay, kommun, f)?;
            }
        }
    }
    Ok(MemKv(overlay.take()))
}

/// The rättelser among `events` that take effect.
fn corrections_among<'e>(
    events: impl Iterator<Item = &'e StoredEvent>,
) -> Result<Corrections, ProjectionError> {
    let mut corrections = Corrections::default();
    for stored in events.filter(|e| e.envelope.event_type == "DecisionCorrected") {
        corrections.note_event(stored.envelope.event_id, &domain_event(stored)?);
    }
    Ok(corrections)
}

/// The kommun's read models as of `at`, read from JetStream: every event
/// `at` includes, read through the rättelser it includes. A rättelse comes
/// after what it corrects, so a history with one is read a second time
/// with all of them known.
#[tracing::instrument(skip(store), fields(kommun = %kommun))]
pub async fn as_of(
    store: &EventStore,
    kommun: &KommunId,
    at: AsOf,
) -> Result<MemKv, ProjectionError> {
    let mut corrections = Corrections::default();
    loop {
        let (kv, found) = as_of_pass(store, kommun, at, corrections.clone()).await?;
        if found == corrections {
            return Ok(kv);
        }
        corrections = found;
    }
}

/// One read of the history through `corrections`; returns the view and
/// the rättelser found on the way (those given and any new).
async fn as_of_pass(
    store: &EventStore,
    kommun: &KommunId,
    at: AsOf,
    mut corrections: Corrections,
) -> Result<(MemKv, Corrections), ProjectionError> {
    let records = store
        .history(kommun, styr_store::ChainState::genesis(kommun))
        .await?;
    futures::pin_mut!(records);
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    while let Some(record) = records.next().await {
        let stored = match record? {
            styr_store::Record::Event(e) => e,
            styr_store::Record::Foreign(f) => {
                if matches!(at, AsOf::Sequence(s) if f.sequence > s) {
                    break;
                }
                crate::apply_foreign(&mut overlay, kommun, &f)?;
                continue;
            }
        };
        if let AsOf::Sequence(s) = at {
            if stored.sequence > s {
                break;
            }
        }
        let included = at.includes(&stored);
        // What was in force is read as it is known now: a rättelse
        // decided later still says what the decision said.
        let rattelse =
            matches!(at, AsOf::InForce(_)) && stored.envelope.event_type == "DecisionCorrected";
        if included || rattelse {
            let event = read_event(&stored, &corrections)?;
            corrections.note_event(stored.envelope.event_id, &event);
            if included {
                apply(&mut overlay, &stored, &event, &corrections)?;
            }
        }
    }
    Ok((MemKv(overlay.take()), corrections))
}
