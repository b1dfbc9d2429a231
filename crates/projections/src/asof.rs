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

/// The kommun's read models as of `at`, read from JetStream.
#[tracing::instrument(skip(store), fields(kommun = %kommun))]
pub async fn as_of(
    store: &EventStore,
    kommun: &KommunId,
    at: AsOf,
) -> Result<MemKv, ProjectionError> {
    let events = store.history(kommun, 1).await?;
    futures::pin_mut!(events);
    let base = MemKv::default();
    let mut overlay = Overlay::new(&base);
    while let Some(stored) = events.next().await {
        let stored = stored?;
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
