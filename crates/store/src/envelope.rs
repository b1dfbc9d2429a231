//! The event envelope, its stored encoding and the hash chain.
//!
//! # Stored encoding (what an auditor verifies)
//!
//! Each JetStream message payload is the [`Envelope`] serialised as compact
//! JSON (UTF-8, no whitespace, fields in the order declared below, object keys
//! inside `payload` sorted). Those exact bytes are what is hashed, so a
//! verifier never re-serialises anything:
//!
//! ```text
//! hash(event)   = SHA-256( "styrkedja/event/v1\n" || payload bytes )
//! genesis(k)    = SHA-256( "styrkedja/genesis/v1\n" || kommun id )
//! event.prev_hash = hash(previous event of the same kommun), or genesis(k) for the first
//! ```
//!
//! The tags separate the two uses of SHA-256, and the genesis value ties a
//! chain to its kommun, so one kommun's history cannot be passed off as
//! another's. Hashes are written as lowercase hex.

use std::fmt;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use styr_provenance::Provenance;

use crate::{KommunId, StoreError};

const EVENT_TAG: &[u8] = b"styrkedja/event/v1\n";
const GENESIS_TAG: &[u8] = b"styrkedja/genesis/v1\n";

/// A SHA-256 hash in the chain, shown and serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The hash an event's stored bytes chain under.
    pub fn of_event(stored: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(EVENT_TAG);
        h.update(stored);
        ChainHash(h.finalize().into())
    }

    /// The `prev_hash` of a kommun's first event.
    pub fn genesis(kommun: &KommunId) -> Self {
        let mut h = Sha256::new();
        h.update(GENESIS_TAG);
        h.update(kommun.as_str().as_bytes());
        ChainHash(h.finalize().into())
    }

    pub fn to_hex(&self) -> String {
        const_hex::encode(self.0)
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for ChainHash {
    type Err = hex::FromHexError;
    /// Exactly 64 hex digits, either case (a hash is read in every stored
    /// event: `const-hex` decodes it several times faster than `hex`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(hex::FromHexError::InvalidStringLength);
        }
        let mut out = [0u8; 32];
        if const_hex::decode_to_slice(s, &mut out).is_err() {
            let (index, c) = s
                .char_indices()
                .find(|(_, c)| !c.is_ascii_hexdigit())
                .unwrap_or((0, '?'));
            return Err(hex::FromHexError::InvalidHexCharacter { c, index });
        }
        Ok(ChainHash(out))
    }
}

impl schemars::JsonSchema for ChainHash {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChainHash".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "SHA-256, lowercase hex",
            "pattern": "^[0-9a-f]{64}$"
        })
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FromText::<ChainHash>::new("a SHA-256 hash, hex"))
    }
}

/// Reads a value from a string without keeping the string (no allocation
/// when the text needs none).
struct FromText<T> {
    expecting: &'static str,
    read: std::marker::PhantomData<T>,
}

impl<T> FromText<T> {
    fn new(expecting: &'static str) -> Self {
        FromText {
            expecting,
            read: std::marker::PhantomData,
        }
    }
}

/// How a type reads itself from text.
pub(crate) trait Text: Sized {
    fn read(text: &str) -> Result<Self, String>;
}

impl Text for ChainHash {
    fn read(text: &str) -> Result<Self, String> {
        text.parse().map_err(|e: hex::FromHexError| e.to_string())
    }
}

impl Text for DateTime<Utc> {
    /// RFC 3339, as the store writes it, by chrono's fast parser; anything
    /// else as `DateTime<Utc>` reads it (which takes every RFC 3339 time and
    /// some more).
    fn read(text: &str) -> Result<Self, String> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Ok(t.with_timezone(&Utc)),
            Err(_) => text.parse().map_err(|e: chrono::ParseError| e.to_string()),
        }
    }
}

impl<T: Text> serde::de::Visitor<'_> for FromText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        T::read(v).map_err(E::custom)
    }
}

/// A recorded time: see [`Text`] for `DateTime<Utc>`.
pub(crate) fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(FromText::<DateTime<Utc>>::new("an RFC 3339 time"))
}

/// Which aggregate an event belongs to: its kind and id become the subject
/// `styr.<kommun>.<kind>.<id>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct AggregateRef {
    pub kind: String,
    pub id: String,
}

impl AggregateRef {
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        AggregateRef {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

/// One event as recorded: the stored payload of one JetStream message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// UUIDv7, also the message's `Nats-Msg-Id`.
    pub event_id: Uuid,
    pub kommun: KommunId,
    pub aggregate: AggregateRef,
    pub event_type: String,
    pub schema_version: u32,
    pub provenance: Provenance,
    #[serde(deserialize_with = "timestamp")]
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The idempotency key of the command this event came from; every event
    /// of one command carries the same key.
    pub idempotency_key: String,
    pub prev_hash: ChainHash,
    /// The event's own data, shaped by `event_type` and `schema_version`.
    pub payload: serde_json::Value,
    /// The store's ed25519 signature (hex) over the envelope without this
    /// field; always last (see the `chain` module for the exact bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// An event read back from a kommun's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The stream sequence: this event's position in the kommun's history.
    pub sequence: u64,
    pub envelope: Envelope,
    /// Hash of `raw`, computed on reading.
    pub hash: ChainHash,
    /// The stored bytes exactly as read from JetStream.
    pub raw: Bytes,
}

impl StoredEvent {
    /// Decodes stored bytes. The hash is always recomputed from the bytes.
    pub fn decode(sequence: u64, raw: Bytes) -> Result<Self, StoreError> {
        let envelope: Envelope = serde_json::from_slice(&raw).map_err(|e| StoreError::Corrupt {
            sequence,
            reason: format!("innehållet är inget Styrkedja-kuvert: {e}"),
        })?;
        Ok(StoredEvent {
            sequence,
            hash: ChainHash::of_event(&raw),
            envelope,
            raw,
        })
    }
}

/// One event a decision yields, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub aggregate: AggregateRef,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: serde_json::Value,
}

/// Beslut: what one command decided — 1..N events with one provenance and one
/// idempotency key, committed as one atomic batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Chosen by the caller; a retry with the same key records nothing new.
    pub idempotency_key: String,
    pub recorded_by: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub provenance: Provenance,
    pub events: Vec<NewEvent>,
    /// What the decision was decided from (its command and provenance as
    /// the caller submitted them), digested by whoever decided it: carried
    /// in the header [`HEADER_SUBMISSION_DIGEST`] of the decision's first
    /// message, so that a later submission under the same key can be told
    /// apart from a retry of this one. `None` writes no header.
    ///
    /// [`HEADER_SUBMISSION_DIGEST`]: crate::HEADER_SUBMISSION_DIGEST
    pub submission_digest: Option<String>,
}

/// At most this many events in one decision (the JetStream batch limit).
pub const MAX_EVENTS_PER_DECISION: usize = 1000;

impl Decision {
    /// Checks everything the store itself requires (P7 provenance present,
    /// subject tokens valid, batch size) before anything is published.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        non_empty("idempotency_key", &self.idempotency_key)?;
        if self.idempotency_key.len() > 256 {
            return Err(StoreError::InvalidField {
                field: "idempotency_key",
                value: self.idempotency_key.chars().take(40).collect(),
                rule: "at most 256 bytes",
            });
        }
        non_empty("recorded_by", &self.recorded_by)?;
        if let Err((field, rule)) = self.provenance.check() {
            return Err(StoreError::InvalidField {
                field,
                value: String::new(),
                rule,
            });
        }
        if self.events.is_empty() || self.events.len() > MAX_EVENTS_PER_DECISION {
            return Err(StoreError::InvalidField {
                field: "events",
                value: self.events.len().to_string(),
                rule: "a decision records 1 to 1000 events (one atomic batch)",
            });
        }
        for event in &self.events {
            if event.event_type == crate::chain::KEY_EVENT_TYPE {
                return Err(StoreError::InvalidField {
                    field: "event_type",
                    value: event.event_type.clone(),
                    rule: "signing keys are published by the store itself",
                });
            }
            crate::ids::check_token("aggregate.kind", &event.aggregate.kind)?;
            crate::ids::check_token("aggregate.id", &event.aggregate.id)?;
            crate::ids::check_token("event_type", &event.event_type)?;
        }
        Ok(())
    }
}

fn non_empty(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        Err(StoreError::InvalidField {
            field,
            value: value.to_owned(),
            rule: "P7 beslutets ursprung: får inte vara tomt",
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trip() {
        let h = ChainHash::of_event(b"{}");
        let parsed: ChainHash = h.to_hex().parse().unwrap();
        assert_eq!(parsed, h);
        assert_eq!(h.to_hex().len(), 64);
        // Read as the `hex` crate reads 32 bytes, no more.
        let digits = h.to_hex();
        for text in [
            digits.clone(),
            digits.to_uppercase(),
            format!("0x{}", &digits[2..]),
            format!("0x{digits}"),
            digits[1..].to_owned(),
            format!("{digits}0"),
            format!("{}g", &digits[1..]),
            format!("{}å", &digits[2..]),
            String::new(),
        ] {
            let mut out = [0u8; 32];
            let reference = hex::decode_to_slice(&text, &mut out).map(|()| ChainHash(out));
            assert_eq!(text.parse::<ChainHash>().ok(), reference.ok(), "{text}");
        }
    }

    #[test]
    fn genesis_differs_per_kommun() {
        let a = ChainHash::genesis(&KommunId::new("a").unwrap());
        let b = ChainHash::genesis(&KommunId::new("b").unwrap());
        assert_ne!(a, b);
        assert_ne!(a, ChainHash::of_event(b"a"));
    }

    #[test]
    fn documented_encoding_is_pinned() {
        // Computed independently (Python hashlib) from the documented formulas.
        assert_eq!(
            ChainHash::of_event(b"{}").to_hex(),
            "5d29a50e959c48c5dbc57a069217ffc1f132b0be4e410559258af31185054cac"
        );
        assert_eq!(
            ChainHash::genesis(&KommunId::new("vimmerby").unwrap()).to_hex(),
            "4b950178d09e17b5747d95b6736ddb15fcbbf6aa1b865ad03fb7e6ec63f5536d"
        );
    }
}
