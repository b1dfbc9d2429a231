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
    #[error("kunde inte ansluta till NATS på {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    /// A JetStream operation failed; `source` is the client's error, or
    /// the server's answer in words when there is no error value.
    #[error("JetStream-åtgärden {operation} misslyckades: {source}")]
    Nats {
        operation: &'static str,
        #[source]
        source: BoxError,
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

/// The error a failed NATS operation came from.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl StoreError {
    /// A JetStream operation that failed with the client's error `e`.
    pub(crate) fn nats(operation: &'static str, e: impl Into<BoxError>) -> Self {
        StoreError::Nats {
            operation,
            source: e.into(),
        }
    }

    /// A JetStream operation the server refused or left unanswered, told in
    /// words (there is no error value to keep).
    pub(crate) fn nats_said(operation: &'static str, detail: impl Into<String>) -> Self {
        StoreError::Nats {
            operation,
            source: detail.into().into(),
        }
    }
}
