//! Identifiers that end up in NATS subjects and stream names, validated once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Kommun: the id of one kommun, a lowercase ASCII slug (`vimmerby`, `0884`,
/// `gotene`). It names the kommun's stream and the second token of every
/// subject, so it is validated before anything touches NATS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KommunId(String);

impl KommunId {
    pub const MAX_LEN: usize = 63;

    pub fn new(id: impl Into<String>) -> Result<Self, StoreError> {
        let id = id.into();
        let bytes = id.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= Self::MAX_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-';
        if ok {
            Ok(KommunId(id))
        } else {
            Err(StoreError::InvalidKommun {
                value: id,
                rule: "1–63 gemena tecken a-z, 0-9 och '-', inte '-' först eller sist",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JetStream stream that holds this kommun's history.
    pub fn stream_name(&self) -> String {
        format!("styr-{}", self.0)
    }

    /// The subjects of this kommun's stream: `styr.<kommun>.>`.
    pub fn subjects(&self) -> String {
        format!("{}.{}.>", crate::SUBJECT_ROOT, self.0)
    }
}

impl schemars::JsonSchema for KommunId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KommunId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Kommun id: a lowercase ASCII slug",
            "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
        })
    }
}

impl TryFrom<String> for KommunId {
    type Error = StoreError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        KommunId::new(value)
    }
}

impl From<KommunId> for String {
    fn from(value: KommunId) -> Self {
        value.0
    }
}

impl fmt::Display for KommunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for KommunId {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KommunId::new(s)
    }
}

/// Checks that `value` can stand as one NATS subject token: 1-128 of ASCII
/// letters, digits, `-` and `_`.
pub(crate) fn check_token(field: &'static str, value: &str) -> Result<(), StoreError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidField {
            field,
            value: value.to_owned(),
            rule: "1–128 tecken a-z, A-Z, 0-9, '-' och '_' (det blir en del av ett NATS-ämne)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, valid: bool) {
        assert_eq!(KommunId::new(id).is_ok(), valid, "{id:?}");
    }

    #[test]
    fn kommun_ids() {
        check("vimmerby", true);
        check("0884", true);
        check("upplands-vasby", true);
        check("", false);
        check("Vimmerby", false);
        check("vimmerby.ks", false);
        check("vimmer by", false);
        check("-vimmerby", false);
        check("vimmerby-", false);
        check("växjö", false);
        check("a*", false);
        check(&"a".repeat(63), true);
        check(&"a".repeat(64), false);
    }

    #[test]
    fn kommun_id_rejection_names_the_rule() {
        let err = KommunId::new("Bad.Id").unwrap_err().to_string();
        assert!(
            err.contains("Bad.Id") && err.contains("gemena tecken"),
            "{err}"
        );
    }

    #[test]
    fn tokens() {
        assert!(check_token("aggregate_id", "uppdrag-7").is_ok());
        assert!(check_token("aggregate_id", "a.b").is_err());
        assert!(check_token("aggregate_id", "").is_err());
        assert!(check_token("aggregate_id", ">").is_err());
    }
}
