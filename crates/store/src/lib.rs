//! The event log of Styrkedja: every decision an immutable event on NATS
//! JetStream, one stream per kommun, one hash chain per stream.
//!
//! This crate owns everything that touches JetStream: stream configuration,
//! the event envelope and its stored encoding, atomic batch appends guarded by
//! the expected last sequence, idempotency beyond the server's dedupe window,
//! and reading (history, one aggregate, live follow). It knows nothing of the
//! styrmodell: payloads are opaque JSON to it. It never edits or deletes.

mod canonical;
mod chain;
mod envelope;
mod error;
mod ids;
mod keys;
mod store;
pub mod wording;

pub use chain::{
    key_id, sign_envelope, AggregateHead, ChainState, EnvelopeHead, ForeignMessage, Heads,
    KeyInForce, KeyPayload, Record, RunCheck, KEY_EVENT_TYPE,
};
pub use keys::{write_secret, KeyStore};

pub use envelope::{
    AggregateRef, ChainHash, Decision, Envelope, NewEvent, StoredEvent, MAX_EVENTS_PER_DECISION,
};
pub use error::StoreError;
pub use ids::KommunId;
pub use store::{
    connect_options, with_tls_ca, AppendOutcome, Begun, ChainEnd, ChainPosition, Commit,
    CommitArchive, EventStore, InFlight, Settled, Staged, StoreConfig, StreamHealth,
    HEADER_EVENT_HASH, HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SCHEMA_VERSION,
    HEADER_SUBMISSION_DIGEST,
};
pub use styr_provenance::{DecidedBy, Provenance};

/// First token of every event subject: `styr.<kommun>.<aggregate kind>.<aggregate id>`.
pub const SUBJECT_ROOT: &str = "styr";
