//! Read models of Styrkedja, kept in sled as a disposable cache of
//! JetStream: current plans, the styrkedja with its gaps, registers, and the
//! audit history of every entity; and the same questions as of a past date.
//!
//! One fold ([`apply`]) writes per-entity JSON documents through a small
//! key-value surface ([`KvRead`]); the live projection flushes its writes and
//! its checkpoint in one sled batch, the as-of projection keeps them in
//! memory ([`MemKv`]), and every query runs over either. Only this crate
//! writes the projection folder; it never writes JetStream.

mod apply;
mod asof;
mod balanskrav;
mod crosscut;
pub mod docs;
mod kv;
mod parts;
mod projector;
mod query;
mod record;
mod versions;

pub use apply::{apply, apply_foreign, IntrusionDoc};
pub use asof::{as_of, fold, fold_records, AsOf};
pub use balanskrav::*;
pub use crosscut::*;
pub use kv::{KvRead, MemKv, Overlay};
pub use parts::Part;
pub use projector::{digest, Checkpoint, Projector, FLUSH_EVENTS};
pub use query::*;
pub use record::new_event;
pub use versions::{Past, VersionedView};

/// Bumped whenever a document shape or the fold changes: a projector that
/// finds another version in its sled rebuilds from JetStream.
pub const PROJECTION_VERSION: u32 = 14;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("vydokument: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] styr_store::StoreError),
    #[error("händelsen vid sekvens {sequence} går inte att läsa: {detail}")]
    Unreadable { sequence: u64, detail: String },
    /// The stream no longer holds what the checkpoint says was projected:
    /// the projector stops rather than serve a view of another history.
    #[error("projektionen av {kommun} stoppad: {reason}")]
    Halted { kommun: String, reason: String },
    /// Another process has the projection open (sled holds a lock on it).
    #[error("projektionsmappen {path} används av en annan process (till exempel styr serve); ange en egen med --projections")]
    InUse { path: String },
    /// The folder exists, holds something, and is not a Styrkedja
    /// projection: it is left alone.
    #[error("{path} är inte en Styrkedja-projektion (markeringsfilen {marker} saknas); mappen lämnas orörd, ange en annan med --projections")]
    NotAProjection { path: String, marker: &'static str },
}

/// Decodes the domain event in a stored envelope, as recorded.
pub fn domain_event(
    stored: &styr_store::StoredEvent,
) -> Result<styr_domain::Event, ProjectionError> {
    read_event(stored, &styr_domain::Corrections::default())
}

/// Decodes the domain event in a stored envelope through the rättelser in
/// `corrections` (the corrected values in place of the recorded ones).
pub fn read_event(
    stored: &styr_store::StoredEvent,
    corrections: &styr_domain::Corrections,
) -> Result<styr_domain::Event, ProjectionError> {
    let env = &stored.envelope;
    let payload = corrections.read(env.event_id, &env.payload);
    styr_domain::Event::from_payload(&env.event_type, env.schema_version, &payload).map_err(|e| {
        ProjectionError::Unreadable {
            sequence: stored.sequence,
            detail: e.to_string(),
        }
    })
}
