//! The verifier: every hash recomputed, every link checked, sequences
//! gap-free, provenance present, keys and signed checkpoints checked; the
//! first break is reported with its sequence, event id and what is wrong.

use std::collections::BTreeMap;
use styr_domain::CheckpointSigned;

use ed25519_dalek::Signature;
use futures::StreamExt;
use serde::Serialize;
use styr_domain::Event;
use styr_store::{
    ChainHash, ChainState, EventStore, KeyPayload, KommunId, Record, StoreError, KEY_EVENT_TYPE,
};
use uuid::Uuid;

use crate::checkpoint::signed_text;

/// A message in the stream that is not part of the kommun's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignFinding {
    pub sequence: u64,
    pub event_id: Option<Uuid>,
    pub reason: String,
}

/// The first thing found wrong, and every foreign message found up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub sequence: u64,
    pub event_id: Option<Uuid>,
    pub problem: String,
    /// Every message found that is not part of the history (each is also a
    /// reason the history does not verify).
    pub foreign: Vec<ForeignFinding>,
}

impl Break {
    fn new(sequence: u64, event_id: Option<Uuid>, problem: String) -> Self {
        Break {
            sequence,
            event_id,
            problem,
            foreign: Vec::new(),
        }
    }
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
    /// The public key (64 hex digits) or its key id (16 hex digits, as `styr
    /// nyckel` prints it) the history's first signing key must be. Without it
    /// the first published key is trusted on first use.
    pub trusted_key: Option<String>,
    /// (sequence, hash) pairs pinned earlier, e.g. from last year's checkpoint.
    pub pins: Vec<(u64, String)>,
}

/// The verified history: what it ends with and what vouches for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kommun: String,
    /// Messages in the stream (all of them are events of the history).
    pub events: u64,
    pub head_sequence: u64,
    pub head_hash: String,
    /// (sequence covered, sequence of the checkpoint event, key id, signed at).
    pub checkpoints: Vec<(u64, u64, String, String)>,
    pub keys: Vec<String>,
    /// How the first key came to be trusted.
    pub trust: Trust,
}

/// How trust in the history's first key was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// The auditor named the key (`--trusted-key`).
    TrustedKey,
    /// A checkpoint pinned earlier matched (`--pin`).
    Pinned,
    /// Neither: the first published key was trusted on first use.
    FirstUse,
}

impl Report {
    pub fn last_checkpoint(&self) -> Option<&(u64, u64, String, String)> {
        self.checkpoints.last()
    }
}

/// Feeds messages in stream order; classifies each (see
/// [`styr_store::ChainState`]) and stops at the first break.
pub struct Verifier {
    kommun: KommunId,
    options: Options,
    chain: ChainState,
    hashes: BTreeMap<u64, ChainHash>,
    keys: Vec<String>,
    checkpoints: Vec<(u64, u64, String, String)>,
    foreign: Vec<ForeignFinding>,
}

impl Verifier {
    pub fn new(kommun: KommunId, options: Options) -> Self {
        Verifier {
            chain: ChainState::genesis(&kommun),
            kommun,
            options,
            hashes: BTreeMap::new(),
            keys: Vec::new(),
            checkpoints: Vec::new(),
            foreign: Vec::new(),
        }
    }

    /// The hash the export claims for a message, and a pinned checkpoint's
    /// hash, agree with the hash of its bytes.
    fn check_claimed(
        &self,
        sequence: u64,
        hash: &ChainHash,
        claimed_hash: Option<&str>,
    ) -> Result<(), Break> {
        if let Some(claimed) = claimed_hash {
            if claimed != hash.to_hex() {
                return Err(Break::new(
                    sequence,
                    None,
                    format!(
                        "hashen {claimed} stämmer inte med de lagrade bytesen ({})",
                        hash.to_hex()
                    ),
                ));
            }
        }
        for (pin_seq, pin_hash) in &self.options.pins {
            if *pin_seq == sequence && *pin_hash != hash.to_hex() {
                return Err(Break::new(
                    sequence,
                    None,
                    format!(
                        "den fästa kontrollpunkten säger hash {pin_hash}, historiken har {}",
                        hash.to_hex()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks the message stored at `sequence` with exactly these bytes.
    /// `claimed_hash` is what the export (or header) says its hash is.
    pub fn push(
        &mut self,
        sequence: u64,
        raw: &[u8],
        claimed_hash: Option<&str>,
    ) -> Result<(), Break> {
        let hash = ChainHash::of_event(raw);
        self.check_claimed(sequence, &hash, claimed_hash)?;
        let expected = self.chain.next;
        let record = self
            .chain
            .classify(sequence, bytes::Bytes::copy_from_slice(raw))
            .map_err(|_| {
                Break::new(
                    sequence,
                    None,
                    if sequence > expected {
                        format!(
                            "händelse {expected} saknas (nästa i följd var {expected}, nu kom {sequence})"
                        )
                    } else {
                        format!("sekvensen går bakåt eller upprepas (väntade {expected})")
                    },
                )
            })?;
        let event = match record {
            Record::Foreign(f) => {
                self.foreign.push(ForeignFinding {
                    sequence,
                    event_id: f.event_id,
                    reason: f.reason,
                });
                return Ok(());
            }
            Record::Event(e) => e,
        };
        let env = &event.envelope;
        let id = Some(env.event_id);
        let brk = |problem: String| Break::new(sequence, id, problem);
        if let Err((field, rule)) = env.provenance.check() {
            return Err(brk(format!("{field}: {rule}")));
        }
        if env.recorded_by.trim().is_empty() || env.idempotency_key.trim().is_empty() {
            return Err(brk(
                "recorded_by och idempotency_key måste finnas (P7)".into()
            ));
        }
        // Only keys and checkpoints need their payload read.
        match env.event_type.as_str() {
            KEY_EVENT_TYPE => {
                let key: KeyPayload =
                    serde_json::from_value(env.payload.clone()).map_err(|e| brk(e.to_string()))?;
                if key.replaces.is_none() {
                    if let Some(trusted) = &self.options.trusted_key {
                        if !trusted.eq_ignore_ascii_case(&key.public_key)
                            && !trusted.eq_ignore_ascii_case(&key.key_id)
                        {
                            return Err(brk(format!(
                                "första nyckeln {} är inte den betrodda nyckeln {trusted}",
                                key.key_id
                            )));
                        }
                    }
                }
                self.keys.push(key.key_id);
            }
            "CheckpointSigned" => {
                let Ok(Event::CheckpointSigned(CheckpointSigned {
                    sequence: covered,
                    head_hash,
                    signed_at,
                    key_id: kid,
                    signature,
                })) = Event::from_payload(&env.event_type, env.schema_version, &env.payload)
                else {
                    return Err(brk("kontrollpunkten går inte att läsa".into()));
                };
                self.checkpoint(covered, &head_hash, signed_at, &kid, &signature)
                    .map_err(brk)?;
                self.checkpoints
                    .push((covered, sequence, kid, signed_at.to_rfc3339()));
            }
            _ => {}
        }
        self.hashes.insert(sequence, hash);
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
        let Some(current) = self.chain.key.as_ref().filter(|k| k.id == kid) else {
            return Err(format!("kontrollpunkten är signerad med {kid}, som inte är den gällande publicerade nyckeln"));
        };
        let sig = hex::decode(signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or("signaturen är inte 64 bytes hex")?;
        current
            .key
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
        let head = self.chain.next - 1;
        let with_foreign = |mut b: Break| {
            b.foreign.clone_from(&self.foreign);
            b
        };
        if let Some(last) = expected_last {
            if head != last {
                return Err(with_foreign(Break::new(
                    head + 1,
                    None,
                    format!("historiken slutar vid {head}, men ska sluta vid {last} (avkortad)"),
                )));
            }
        }
        for (s, _) in &self.options.pins {
            if *s > head {
                return Err(with_foreign(Break::new(
                    *s,
                    None,
                    "den fästa kontrollpunkten ligger bortom historikens slut".into(),
                )));
            }
        }
        if let Some((covered, _, _, _)) = self.checkpoints.last() {
            if *covered > head {
                return Err(with_foreign(Break::new(
                    head,
                    None,
                    "historiken slutar före den senaste kontrollpunkten".into(),
                )));
            }
        }
        if let Some(first) = self.foreign.first() {
            return Err(with_foreign(Break::new(
                first.sequence,
                first.event_id,
                format!(
                    "främmande meddelande, inte skrivet av Styrkedja: {} ({} främmande meddelanden i alla)",
                    first.reason,
                    self.foreign.len()
                ),
            )));
        }
        let trust = if self.options.trusted_key.is_some() {
            Trust::TrustedKey
        } else if !self.options.pins.is_empty() {
            Trust::Pinned
        } else {
            Trust::FirstUse
        };
        Ok(Report {
            kommun: self.kommun.to_string(),
            events: head,
            head_sequence: head,
            head_hash: self.chain.head.to_hex(),
            checkpoints: self.checkpoints,
            keys: self.keys,
            trust,
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
    verify_stream_with(store, kommun, options, |_| {}).await
}

/// [`verify_stream`], telling `progress` the sequence of every message checked.
pub async fn verify_stream_with(
    store: &EventStore,
    kommun: &KommunId,
    options: Options,
    mut progress: impl FnMut(u64),
) -> Result<Result<Report, Break>, StoreError> {
    let last = store.last_sequence(kommun).await?;
    let mut v = Verifier::new(kommun.clone(), options);
    let records = store.history(kommun, ChainState::genesis(kommun)).await?;
    futures::pin_mut!(records);
    while let Some(r) = records.next().await {
        let (sequence, raw) = match r {
            Ok(Record::Event(e)) => (e.sequence, e.raw),
            Ok(Record::Foreign(f)) => (f.sequence, f.raw),
            Err(StoreError::Corrupt { sequence, reason }) => {
                return Ok(Err(Break::new(sequence, None, reason)))
            }
            Err(other) => return Err(other),
        };
        if let Err(b) = v.push(sequence, &raw, None) {
            return Ok(Err(b));
        }
        progress(sequence);
    }
    Ok(v.finish(Some(last)))
}
