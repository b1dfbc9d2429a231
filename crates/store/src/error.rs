use thiserror::Error;

/// Everything that can go wrong in the event log that is not an expected
/// outcome. A conflict or a duplicate is an [`crate::AppendOutcome`], not an
/// error.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("ogiltigt kommun-id {value:?}: ska vara {rule}")]
    InvalidKommun { value: String, rule: &'static str },
    #[error("ogiltigt {field} {value:?}: {rule}")]
    InvalidField {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("beslutets händelse {index} är {size} byte kodad, över serverns gräns på {limit}")]
    TooLarge {
        index: usize,
        size: usize,
        limit: usize,
    },
    #[error("kunde inte ansluta till NATS på {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("JetStream-åtgärden {operation} misslyckades: {detail}")]
    Nats {
        operation: &'static str,
        detail: String,
    },
    #[error("den lagrade historiken är skadad vid sekvens {sequence}: {reason}")]
    Corrupt { sequence: u64, reason: String },
    #[error("kommunen {kommun} har redan en historik (till sekvens {last}); en återställning görs bara till en tom ström")]
    NotEmpty { kommun: String, last: u64 },
    #[error("signeringsnyckeln {path}: {detail}")]
    Key { path: String, detail: String },
    #[error(
        "det gick inte att fastställa om en skrivning lyckades efter {attempts} försök: {detail}"
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
