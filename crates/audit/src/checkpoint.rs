//! Signing keys and signed checkpoints.
//!
//! # Key handling
//! Each kommun has its own ed25519 key, kept by the store (which signs every
//! event with it, see `styr_store::KeyStore`). Its public key is the first
//! event of the kommun's history; a rotation publishes a new key that names
//! the old one and carries the old key's signature over the new public key.
//! Checkpoints are signed with the key in force.
//!
//! # Signed text
//! ```text
//! styrkedja/checkpoint/v1
//! <kommun>
//! <sequence>
//! <hash of the event at sequence, hex>
//! <signed_at, RFC 3339, UTC, seconds>
//! ```
//! (lines joined by `\n`, with a final `\n`), signed with ed25519.

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::Signer;
use styr_domain::CheckpointSigned;
use styr_domain::{DecidedBy, Event, Provenance};
use styr_store::{AppendOutcome, ChainHash, Decision, EventStore, KommunId};

use crate::AuditError;

/// The exact bytes a checkpoint signature covers.
pub fn signed_text(
    kommun: &KommunId,
    sequence: u64,
    head_hash: &str,
    signed_at: DateTime<Utc>,
) -> Vec<u8> {
    format!(
        "styrkedja/checkpoint/v1\n{kommun}\n{sequence}\n{head_hash}\n{}\n",
        signed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
    .into_bytes()
}

/// Records signed checkpoints in kommun histories, with the keys the store
/// signs events with (see [`styr_store::KeyStore`]).
pub struct Checkpointer<'a> {
    pub store: &'a EventStore,
}

fn system_decision(key: String, events: Vec<Event>) -> Decision {
    let today = Utc::now().date_naive();
    Decision {
        submission_digest: None,
        idempotency_key: key,
        recorded_by: "styrkedja".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::System {
                component: "checkpoint".into(),
            },
            today,
        ),
        events: events.iter().map(styr_projections::new_event).collect(),
    }
}

impl Checkpointer<'_> {
    /// Rotates the kommun's key: the new public key, endorsed by the old, is
    /// recorded first and only then used (see [`EventStore::rotate_key`]).
    pub async fn rotate_key(&self, kommun: &KommunId) -> Result<String, AuditError> {
        Ok(self.store.rotate_key(kommun).await?)
    }

    /// Signs the kommun's chain head (its last event, foreign messages never
    /// count) and records it; returns the covered sequence and the sequence
    /// of the checkpoint event.
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn checkpoint(&self, kommun: &KommunId) -> Result<(u64, u64), AuditError> {
        for _ in 0..8 {
            let chain = self.store.chain_head(kommun).await?;
            let Some(in_force) = chain.key.as_ref() else {
                return Err(AuditError::Empty(kommun.to_string()));
            };
            let key = self
                .store
                .keys()
                .get(kommun, &in_force.id)?
                .ok_or_else(|| AuditError::Key {
                    path: in_force.id.clone(),
                    detail: "den här noden har inte kommunens gällande nyckel".into(),
                })?;
            let head = chain.chained;
            // Re-read what was stored: sign the hash of the bytes JetStream holds.
            let stored = self.store.raw_message(kommun, head).await?;
            let head_hash = ChainHash::of_event(&stored);
            if head_hash != chain.head {
                return Err(AuditError::Store(styr_store::StoreError::Corrupt {
                    sequence: head,
                    reason: "de lagrade byten ändrades under kedjehuvudet".into(),
                }));
            }
            let head_hash = head_hash.to_hex();
            let signed_at = Utc::now().trunc_subsecs(0);
            let signature = key.sign(&signed_text(kommun, head, &head_hash, signed_at));
            let event = Event::CheckpointSigned(CheckpointSigned {
                sequence: head,
                head_hash,
                signed_at,
                key_id: in_force.id.clone(),
                signature: hex::encode(signature.to_bytes()),
            });
            if let AppendOutcome::Appended(c) = self
                .store
                .append(
                    kommun,
                    chain.next - 1,
                    system_decision(format!("checkpoint-{head}"), vec![event]),
                )
                .await?
            {
                return Ok((head, c.last_sequence));
            }
        }
        Err(AuditError::Contended(kommun.to_string()))
    }
}
