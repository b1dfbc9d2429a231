//! Signing keys and signed checkpoints.
//!
//! # Key handling
//! Each kommun has its own ed25519 key. The secret seed lives in a file
//! `<key dir>/<kommun>.ed25519` (hex, mode 0600) on the node that runs the
//! service, and nowhere else; it is created on first use. The public key is
//! published in the kommun's own history as a `SigningKeyPublished` event
//! before it signs anything, so the history carries the means to verify it.
//! Rotation publishes a new key that names the old one and carries the old
//! key's signature over the new public key; the old seed file is kept as
//! `<kommun>.ed25519.<old key id>`.
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

use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use styr_domain::{DecidedBy, Event, Provenance};
use styr_store::{AppendOutcome, Decision, EventStore, KommunId, NewEvent};

use crate::AuditError;

/// The first 8 bytes of SHA-256 of the public key, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

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

/// Where kommun signing keys are kept.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    fn path(&self, kommun: &KommunId) -> PathBuf {
        self.dir.join(format!("{kommun}.ed25519"))
    }

    fn err(path: &Path, detail: impl std::fmt::Display) -> AuditError {
        AuditError::Key {
            path: path.display().to_string(),
            detail: detail.to_string(),
        }
    }

    /// The kommun's signing key, created if there is none.
    pub fn load_or_create(&self, kommun: &KommunId) -> Result<SigningKey, AuditError> {
        let path = self.path(kommun);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let seed: [u8; 32] = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| Self::err(&path, "not a 32-byte hex seed"))?;
                Ok(SigningKey::from_bytes(&seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(&path)?;
                self.write(&path, &key)?;
                Ok(key)
            }
            Err(e) => Err(Self::err(&path, e)),
        }
    }

    fn generate(path: &Path) -> Result<SigningKey, AuditError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| Self::err(path, e))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    fn write(&self, path: &Path, key: &SigningKey) -> Result<(), AuditError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Self::err(&self.dir, e))?;
        std::fs::write(path, hex::encode(key.to_bytes())).map_err(|e| Self::err(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Self::err(path, e))?;
        }
        Ok(())
    }

    /// Replaces the kommun's key with a new one; returns (old, new).
    pub fn rotate(&self, kommun: &KommunId) -> Result<(SigningKey, SigningKey), AuditError> {
        let old = self.load_or_create(kommun)?;
        let path = self.path(kommun);
        let kept = self
            .dir
            .join(format!("{kommun}.ed25519.{}", key_id(&old.verifying_key())));
        std::fs::rename(&path, &kept).map_err(|e| Self::err(&path, e))?;
        let new = Self::generate(&path)?;
        self.write(&path, &new)?;
        Ok((old, new))
    }
}

/// Records signed checkpoints (and publishes keys) in kommun histories.
pub struct Checkpointer<'a> {
    pub store: &'a EventStore,
    pub keys: KeyStore,
}

fn system_decision(key: String, events: Vec<Event>) -> Decision {
    let today = Utc::now().date_naive();
    Decision {
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
        events: events.iter().map(NewEvent::from_domain).collect(),
    }
}

impl Checkpointer<'_> {
    async fn append(
        &self,
        kommun: &KommunId,
        key: String,
        events: Vec<Event>,
    ) -> Result<Option<u64>, AuditError> {
        let head = self.store.last_sequence(kommun).await?;
        match self
            .store
            .append(kommun, head, system_decision(key, events))
            .await?
        {
            AppendOutcome::Appended(c) | AppendOutcome::Duplicate(c) => Ok(Some(c.last_sequence)),
            AppendOutcome::Conflict { .. } => Ok(None),
        }
    }

    /// Publishes the kommun's current key if its history does not hold it yet.
    pub async fn publish_key(&self, kommun: &KommunId) -> Result<String, AuditError> {
        let key = self.keys.load_or_create(kommun)?.verifying_key();
        let kid = key_id(&key);
        if self
            .store
            .read_aggregate(kommun, "signing-key", &kid)
            .await?
            .is_empty()
        {
            let event = Event::SigningKeyPublished {
                key_id: kid.clone(),
                public_key: hex::encode(key.as_bytes()),
                replaces: None,
                endorsement: None,
            };
            for _ in 0..8 {
                if self
                    .append(kommun, format!("key-{kid}"), vec![event.clone()])
                    .await?
                    .is_some()
                {
                    return Ok(kid);
                }
            }
            return Err(AuditError::Contended(kommun.to_string()));
        }
        Ok(kid)
    }

    /// Rotates the key: the new public key, endorsed by the old, is published.
    pub async fn rotate_key(&self, kommun: &KommunId) -> Result<String, AuditError> {
        self.publish_key(kommun).await?;
        let (old, new) = self.keys.rotate(kommun)?;
        let new_pub = new.verifying_key();
        let kid = key_id(&new_pub);
        let event = Event::SigningKeyPublished {
            key_id: kid.clone(),
            public_key: hex::encode(new_pub.as_bytes()),
            replaces: Some(key_id(&old.verifying_key())),
            endorsement: Some(hex::encode(old.sign(new_pub.as_bytes()).to_bytes())),
        };
        for _ in 0..8 {
            if self
                .append(kommun, format!("key-{kid}"), vec![event.clone()])
                .await?
                .is_some()
            {
                return Ok(kid);
            }
        }
        Err(AuditError::Contended(kommun.to_string()))
    }

    /// Signs the kommun's current head and records it; returns the covered
    /// sequence and the sequence of the checkpoint event.
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn checkpoint(&self, kommun: &KommunId) -> Result<(u64, u64), AuditError> {
        let kid = self.publish_key(kommun).await?;
        let key = self.keys.load_or_create(kommun)?;
        for _ in 0..8 {
            let head = self.store.last_sequence(kommun).await?;
            // Re-read what was stored: sign the hash of the bytes JetStream holds.
            let stored = self.store.read(kommun, head).await?;
            let Some(last) = stored.first() else {
                return Err(AuditError::Contended(kommun.to_string()));
            };
            let head_hash = last.hash.to_hex();
            let signed_at = Utc::now().trunc_subsecs(0);
            let signature = key.sign(&signed_text(kommun, head, &head_hash, signed_at));
            let event = Event::CheckpointSigned {
                sequence: head,
                head_hash,
                signed_at,
                key_id: kid.clone(),
                signature: hex::encode(signature.to_bytes()),
            };
            if let AppendOutcome::Appended(c) = self
                .store
                .append(
                    kommun,
                    head,
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
