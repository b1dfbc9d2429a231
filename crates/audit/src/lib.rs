//! What auditors and revisorer need to trust Styrkedja without trusting its
//! operators: verification of a kommun's hash chain (live from JetStream or
//! offline from an export file), signed checkpoints with published keys, and
//! the export format itself.
//!
//! Verification needs nothing but the stored bytes: it never consults the
//! projections, and it re-hashes every event itself.

mod checkpoint;
mod decoders;
mod export;
mod render;
mod report;
mod verify;

pub use checkpoint::{signed_text, Checkpointer};
pub use export::{
    read_export, write_export, write_export_with, ExportEntry, ExportHeader, EXPORT_FORMAT,
};
pub use report::{Cell, Change, GoalGrouping, RevisorReport, Table, Tone};
pub use styr_domain::grouped;
pub use styr_store::{key_id, KeyStore};
pub use verify::{
    check_references, verify_stream, verify_stream_with, Break, ForbundReference, ForeignFinding,
    Options, ReferenceOutcome, Report, Trust, Verifier,
};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] styr_store::StoreError),
    #[error("{path}: {detail}")]
    Key { path: String, detail: String },
    #[error("exportfilens rad {line}: {detail}")]
    Export { line: usize, detail: String },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("kommunen {0} ändrades medan en kontrollpunkt signerades; försök igen")]
    Contended(String),
    #[error("kommunen {0} har ingen historik att signera")]
    Empty(String),
}
