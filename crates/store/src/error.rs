use thiserror::Error;

/// Everything that can go wrong in the event log that is not an expected
/// outcome. A conflict or a duplicate is an [`crate::AppendOutcome`], not an
/// error.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("invalid kommun id {value:?}: must be {rule}")]
    InvalidKommun { value: String, rule: &'static str },
    #[error("invalid {field} {value:?}: {rule}")]
    InvalidField {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error(
        "event {index} of the decision is {size} bytes encoded, over the server's limit of {limit}"
    )]
    TooLarge {
        index: usize,
        size: usize,
        limit: usize,
    },
    #[error("connecting to NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("JetStream {operation} failed: {detail}")]
    Nats {
        operation: &'static str,
        detail: String,
    },
    #[error("the stored history is corrupt at sequence {sequence}: {reason}")]
    Corrupt { sequence: u64, reason: String },
    #[error("signing key {path}: {detail}")]
    Key { path: String, detail: String },
    #[error(
        "the outcome of an append could not be established after {attempts} attempts: {detail}"
    )]
    Unresolved { attempts: u32, detail: String },
}

impl StoreError {
    pub(crate) fn nats(operation: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Nats {
            operation,
            detail: e.to_string(),
        }
    }
}
