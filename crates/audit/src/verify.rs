//! The verifier: every hash recomputed, every link checked, sequences
//! gap-free, provenance present, keys and signed checkpoints checked; the
//! first break is reported with its sequence, event id and what is wrong.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use futures::StreamExt;
use serde::Serialize;
use styr_domain::Event;
use styr_store::{ChainHash, Envelope, EventStore, KommunId, StoreError};
use uuid::Uuid;

use crate::checkpoint::{key_id, signed_text};

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub sequence: u64,
    pub event_id: Option<Uuid>,
    pub problem: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sekvens {}", self.sequence)?;
        if let Some(id) = self.event_id {
            write!(f, " (händelse {id})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// What an auditor brings: a key to trust and checkpoints pinned from before.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The public key (hex) the history's first signing key must be. Without
    /// it the first published key is trusted on first use.
    pub trusted_key: Option<String>,
    /// (sequence, hash) pairs pinned earlier, e.g. from last year's checkpoint.
    pub pins: Vec<(u64, String)>,
}

/// The verified history: what it ends with and what vouches for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kommun: String,
    pub events: u64,
    pub head_sequence: u64,
    pub head_hash: String,
    /// (sequence covered, sequence of the checkpoint event, key id, signed at).
    pub checkpoints: Vec<(u64, u64, String, String)>,
    pub keys: Vec<String>,
}

impl Report {
    pub fn last_checkpoint(&self) -> Option<&(u64, u64, String, String)> {
        self.checkpoints.last()
    }
}

/// Feeds events in stream order; stops at the first break.
pub struct Verifier {
    kommun: KommunId,
    options: Options,
    next: u64,
    prev: ChainHash,
    hashes: BTreeMap<u64, ChainHash>,
    keys: BTreeMap<String, VerifyingKey>,
    current_key: Option<String>,
    checkpoints: Vec<(u64, u64, String, String)>,
}

impl Verifier {
    pub fn new(kommun: KommunId, options: Options) -> Self {
        Verifier {
            prev: ChainHash::genesis(&kommun),
            kommun,
            options,
            next: 1,
            hashes: BTreeMap::new(),
            keys: BTreeMap::new(),
            current_key: None,
            checkpoints: Vec::new(),
        }
    }

    /// Checks the event stored at `sequence` with exactly these bytes.
    /// `claimed_hash` is what the export (or header) says its hash is.
    pub fn push(
        &mut self,
        sequence: u64,
        raw: &[u8],
        claimed_hash: Option<&str>,
    ) -> Result<(), Break> {
        let brk = |event_id: Option<Uuid>, problem: String| Break {
            sequence,
            event_id,
            problem,
        };
        if sequence != self.next {
            return Err(brk(
                None,
                if sequence > self.next {
                    format!(
                        "händelse {} saknas (nästa i följd var {}, nu kom {sequence})",
                        self.next, self.next
                    )
                } else {
                    format!("sekvensen går bakåt eller upprepas (väntade {})", self.next)
                },
            ));
        }
        let hash = ChainHash::of_event(raw);
        let env: Envelope = serde_json::from_slice(raw).map_err(|e| {
            brk(
                None,
                format!("händelsens bytes är inte ett Styrkedja-kuvert: {e}"),
            )
        })?;
        let id = Some(env.event_id);
        if let Some(claimed) = claimed_hash {
            if claimed != hash.to_hex() {
                return Err(brk(
                    id,
                    format!(
                        "hashen {claimed} stämmer inte med de lagrade bytesen ({})",
                        hash.to_hex()
                    ),
                ));
            }
        }
        if env.kommun != self.kommun {
            return Err(brk(
                id,
                format!("händelsen tillhör {}, inte {}", env.kommun, self.kommun),
            ));
        }
        if env.prev_hash != self.prev {
            return Err(brk(
                id,
                format!(
                    "länken bryts: prev_hash {} men föregående händelse har hash {}",
                    env.prev_hash, self.prev
                ),
            ));
        }
        if let Err((field, rule)) = env.provenance.check() {
            return Err(brk(id, format!("{field}: {rule}")));
        }
        if env.recorded_by.trim().is_empty() || env.idempotency_key.trim().is_empty() {
            return Err(brk(
                id,
                "recorded_by och idempotency_key måste finnas (P7)".into(),
            ));
        }
        for (pin_seq, pin_hash) in &self.options.pins {
            if *pin_seq == sequence && *pin_hash != hash.to_hex() {
                return Err(brk(
                    id,
                    format!(
                        "den fästa kontrollpunkten säger hash {pin_hash}, historiken har {}",
                        hash.to_hex()
                    ),
                ));
            }
        }
        // Only keys and checkpoints need their payload read.
        let system = matches!(
            env.event_type.as_str(),
            "SigningKeyPublished" | "CheckpointSigned"
        );
        let event = if system {
            Some(
                Event::from_payload(&env.event_type, env.schema_version, &env.payload)
                    .map_err(|e| brk(id, e.to_string()))?,
            )
        } else {
            None
        };
        match event {
            Some(Event::SigningKeyPublished {
                key_id: kid,
                public_key,
                replaces,
                endorsement,
            }) => self
                .key(
                    &kid,
                    &public_key,
                    replaces.as_deref(),
                    endorsement.as_deref(),
                )
                .map_err(|p| brk(id, p))?,
            Some(Event::CheckpointSigned {
                sequence: covered,
                head_hash,
                signed_at,
                key_id: kid,
                signature,
            }) => {
                self.checkpoint(covered, &head_hash, signed_at, &kid, &signature)
                    .map_err(|p| brk(id, p))?;
                self.checkpoints
                    .push((covered, sequence, kid, signed_at.to_rfc3339()));
            }
            _ => {}
        }
        self.hashes.insert(sequence, hash);
        self.prev = hash;
        self.next += 1;
        Ok(())
    }

    fn key(
        &mut self,
        kid: &str,
        public_key: &str,
        replaces: Option<&str>,
        endorsement: Option<&str>,
    ) -> Result<(), String> {
        let bytes: [u8; 32] = hex::decode(public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("publicerad nyckel är inte 32 bytes hex")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("ogiltig nyckel: {e}"))?;
        if key_id(&key) != kid {
            return Err(format!("nyckel-id {kid} stämmer inte med nyckeln"));
        }
        match (replaces, &self.current_key) {
            (None, None) => {
                if let Some(trusted) = &self.options.trusted_key {
                    if trusted != public_key {
                        return Err(format!("första nyckeln {kid} är inte den betrodda nyckeln"));
                    }
                }
            }
            (Some(old), Some(current)) if old == current => {
                let sig = endorsement
                    .and_then(|s| hex::decode(s).ok())
                    .and_then(|b| Signature::from_slice(&b).ok())
                    .ok_or("rotationen saknar den gamla nyckelns signatur")?;
                self.keys[old]
                    .verify_strict(&bytes, &sig)
                    .map_err(|_| format!("rotationen till {kid} är inte signerad av {old}"))?;
            }
            _ => return Err(format!("nyckeln {kid} ersätter inte den gällande nyckeln")),
        }
        self.keys.insert(kid.to_owned(), key);
        self.current_key = Some(kid.to_owned());
        Ok(())
    }

    fn checkpoint(
        &self,
        covered: u64,
        head_hash: &str,
        signed_at: chrono::DateTime<chrono::Utc>,
        kid: &str,
        signature: &str,
    ) -> Result<(), String> {
        let Some(actual) = self.hashes.get(&covered) else {
            return Err(format!(
                "kontrollpunkten gäller sekvens {covered}, som inte finns före den"
            ));
        };
        if actual.to_hex() != head_hash {
            return Err(format!("kontrollpunkten säger att sekvens {covered} har hash {head_hash}, men den har {actual}"));
        }
        if self.current_key.as_deref() != Some(kid) {
            return Err(format!("kontrollpunkten är signerad med {kid}, som inte är den gällande publicerade nyckeln"));
        }
        let sig = hex::decode(signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or("signaturen är inte 64 bytes hex")?;
        self.keys[kid]
            .verify_strict(
                &signed_text(&self.kommun, covered, head_hash, signed_at),
                &sig,
            )
            .map_err(|_| {
                "signaturen stämmer inte (förfalskad eller omsignerad kontrollpunkt)".to_owned()
            })
    }

    /// Ends verification; `expected_last` is where the history should end.
    pub fn finish(self, expected_last: Option<u64>) -> Result<Report, Break> {
        let head = self.next - 1;
        if let Some(last) = expected_last {
            if head != last {
                return Err(Break {
                    sequence: head + 1,
                    event_id: None,
                    problem: format!(
                        "historiken slutar vid {head}, men ska sluta vid {last} (avkortad)"
                    ),
                });
            }
        }
        for (s, _) in &self.options.pins {
            if *s > head {
                return Err(Break {
                    sequence: *s,
                    event_id: None,
                    problem: "den fästa kontrollpunkten ligger bortom historikens slut".into(),
                });
            }
        }
        if let Some((covered, _, _, _)) = self.checkpoints.last() {
            if *covered > head {
                return Err(Break {
                    sequence: head,
                    event_id: None,
                    problem: "historiken slutar före den senaste kontrollpunkten".into(),
                });
            }
        }
        Ok(Report {
            kommun: self.kommun.to_string(),
            events: head,
            head_sequence: head,
            head_hash: self.prev.to_hex(),
            checkpoints: self.checkpoints,
            keys: self.keys.keys().cloned().collect(),
        })
    }
}

/// Verifies a kommun's history straight from JetStream.
#[tracing::instrument(skip(store, options), fields(kommun = %kommun))]
pub async fn verify_stream(
    store: &EventStore,
    kommun: &KommunId,
    options: Options,
) -> Result<Result<Report, Break>, StoreError> {
    let last = store.last_sequence(kommun).await?;
    let mut v = Verifier::new(kommun.clone(), options);
    let events = store.history(kommun, 1).await?;
    futures::pin_mut!(events);
    while let Some(e) = events.next().await {
        let e = match e {
            Ok(e) => e,
            Err(StoreError::Corrupt { sequence, reason }) => {
                return Ok(Err(Break {
                    sequence,
                    event_id: None,
                    problem: reason,
                }))
            }
            Err(other) => return Err(other),
        };
        if let Err(b) = v.push(e.sequence, &e.raw, None) {
            return Ok(Err(b));
        }
    }
    Ok(v.finish(Some(last)))
}
