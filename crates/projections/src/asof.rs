//! As-of: any read model as it stood at a past moment, folded in memory from
//! the stream without touching the live projection.

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use styr_store::{EventStore, KommunId, StoredEvent};

use crate::kv::{MemKv, Overlay};
use crate::{apply, domain_event, ProjectionError};

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

/// Folds events into an in-memory view.
pub fn fold<'e>(
    events: impl IntoIterator<Item = &'e StoredEvent>,
) -> Result<MemKv, ProjectionError> {
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    for stored in events {
        let event = domain_event(stored)?;
        apply(&mut overlay, stored, &event)?;
    }
    Ok(MemKv(overlay.take()))
}

/// Folds classified messages (events and foreign messages) into an
/// in-memory view, as the live projection does.
pub fn fold_records<'e>(
    kommun: &KommunId,
    records: impl IntoIterator<Item = &'e styr_store::Record>,
) -> Result<MemKv, ProjectionError> {
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    for record in records {
        match record {
            styr_store::Record::Event(stored) => {
                let event = domain_event(stored)?;
                apply(&mut overlay, stored, &event)?;
            }
            styr_store::Record::Foreign(f) => {
                crate::apply_foreign(&mut overlay, kommun, f)?;
            }
        }
    }
    Ok(MemKv(overlay.take()))
}

/// The kommun's read models as of `at`, read from JetStream.
#[tracing::instrument(skip(store), fields(kommun = %kommun))]
pub async fn as_of(
    store: &EventStore,
    kommun: &KommunId,
    at: AsOf,
) -> Result<MemKv, ProjectionError> {
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
        if at.includes(&stored) {
            let event = domain_event(&stored)?;
            apply(&mut overlay, &stored, &event)?;
        }
    }
    Ok(MemKv(overlay.take()))
}
