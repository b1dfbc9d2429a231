//! The verifier: every hash recomputed, every link checked, sequences
//! gap-free, provenance present, keys and signed checkpoints checked; the
//! first break is reported with its sequence, event id and what is wrong.

use styr_domain::CheckpointSigned;

use bytes::Bytes;
use ed25519_dalek::Signature;
use futures::StreamExt;
use serde::Serialize;
use styr_domain::Event;
use styr_store::{
    ChainHash, ChainState, Envelope, EnvelopeHead, EventStore, KeyInForce, KeyPayload, KommunId,
    Record, RunCheck, StoreError, KEY_EVENT_TYPE,
};
use uuid::Uuid;

use crate::checkpoint::signed_text;
use crate::decoders::{Decoders, Run};

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
    /// Decisions of kommunalförbund the history refers to in the förbund's
    /// own history (checked against it by [`check_references`]).
    pub references: Vec<ForbundReference>,
}

/// Where a kommunalförbund's decision lies in its own history, as an event
/// of this history states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForbundReference {
    /// The event in this history that refers.
    pub sequence: u64,
    /// The förbund's history (its id on the platform).
    pub stream: String,
    pub referenced_sequence: u64,
    pub hash: String,
}

/// What the förbund's history holds where a reference points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReferenceOutcome {
    /// The message there has the hash the reference states: this event,
    /// decided so (the revisor reads what it decided there).
    Holds { event_type: String, decided: String },
    /// It has another hash: the referred decision is not the one recorded.
    Differs { actual: String },
    /// The förbund's history could not be read there (no such history or
    /// sequence, no access): the reference does not hold either.
    Unreachable { reason: String },
}

impl ReferenceOutcome {
    /// The reference holds: the förbund's history has that event unchanged.
    pub fn holds(&self) -> bool {
        matches!(self, ReferenceOutcome::Holds { .. })
    }
}

/// Checks each reference against the förbund's history in `store`: the
/// message at the referenced sequence must hash to the stated hash. (The
/// förbund's own history is verified by verifying it, as any kommun's.)
pub async fn check_references(
    store: &EventStore,
    references: &[ForbundReference],
) -> Vec<(ForbundReference, ReferenceOutcome)> {
    let mut out = Vec::new();
    for r in references {
        let outcome = match KommunId::new(r.stream.clone()) {
            Err(e) => ReferenceOutcome::Unreachable {
                reason: e.to_string(),
            },
            Ok(stream) => match store.raw_message(&stream, r.referenced_sequence).await {
                Err(e) => ReferenceOutcome::Unreachable {
                    reason: e.to_string(),
                },
                Ok(raw) => {
                    let actual = ChainHash::of_event(&raw).to_hex();
                    if actual != r.hash {
                        ReferenceOutcome::Differs { actual }
                    } else {
                        match styr_store::StoredEvent::decode(r.referenced_sequence, raw) {
                            Ok(e) => ReferenceOutcome::Holds {
                                event_type: e.envelope.event_type,
                                decided: e.envelope.provenance.decided_by.to_string(),
                            },
                            Err(e) => ReferenceOutcome::Unreachable {
                                reason: format!("meddelandet där går inte att läsa: {e}"),
                            },
                        }
                    }
                }
            },
        };
        out.push((r.clone(), outcome));
    }
    out
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

/// How many messages the verifier classifies as one run (one signature
/// check vouches for a run whose links hold: [`ChainState::check_run`]).
const RUN: usize = 4096;

/// What the verifier checks of a chained event that needs no chain: read
/// where the event is decoded (on either thread), from its head or from a
/// full envelope.
struct Checked {
    event_id: Uuid,
    /// The P7 rule it breaks, if any.
    p7: Option<String>,
    /// A key, a checkpoint or a contribution: its payload is read too.
    payload: bool,
}

impl Checked {
    fn of(
        event_id: Uuid,
        provenance: &styr_store::Provenance,
        recorded_by: &str,
        idempotency_key: &str,
        event_type: &str,
    ) -> Self {
        let p7 = match provenance.check() {
            Err((field, rule)) => Some(format!("{field}: {rule}")),
            Ok(()) if recorded_by.trim().is_empty() || idempotency_key.trim().is_empty() => {
                Some("recorded_by och idempotency_key måste finnas (P7)".into())
            }
            Ok(()) => None,
        };
        Checked {
            event_id,
            p7,
            payload: matches!(
                event_type,
                KEY_EVENT_TYPE | "CheckpointSigned" | "ContributionRecorded"
            ),
        }
    }

    fn of_head(e: &EnvelopeHead<'_>) -> Self {
        Checked::of(
            e.event_id,
            &e.provenance,
            &e.recorded_by,
            &e.idempotency_key,
            e.event_type,
        )
    }

    fn of_envelope(e: &Envelope) -> Self {
        Checked::of(
            e.event_id,
            &e.provenance,
            &e.recorded_by,
            &e.idempotency_key,
            &e.event_type,
        )
    }
}

/// Every message's hash in stream order, in blocks of a fixed size: a
/// block is allocated once and never moved. (A growing `Vec` of a million
/// hashes copies itself again and again into fresh memory, and first
/// touching memory is dear on a virtual machine: it was the larger part of
/// why a first verification in a process ran slower than later ones.)
#[derive(Default)]
struct Hashes {
    blocks: Vec<Vec<ChainHash>>,
}

impl Hashes {
    /// Hashes per block (1 MiB).
    const BLOCK: usize = 32 * 1024;

    fn push(&mut self, hash: ChainHash) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < Self::BLOCK => block.push(hash),
            _ => {
                let mut block = Vec::with_capacity(Self::BLOCK);
                block.push(hash);
                self.blocks.push(block);
            }
        }
    }

    fn get(&self, i: usize) -> Option<&ChainHash> {
        self.blocks.get(i / Self::BLOCK)?.get(i % Self::BLOCK)
    }
}

/// Feeds messages in stream order; classifies them (see
/// [`styr_store::ChainState`]) in runs and stops at the first break. Runs
/// are decoded on worker threads while the runs before them are linked
/// here, so a break is reported by the `push` that completes its run or a
/// later one, or by `finish`; it is always the first one in stream order.
/// Up to two runs per worker are held at once (4 096 messages each).
pub struct Verifier {
    kommun: KommunId,
    options: Options,
    chain: ChainState,
    /// Messages pushed and not yet handed to the decoders, with the hash an
    /// export claims for each.
    pending: Vec<(u64, Bytes)>,
    claimed: Vec<Option<String>>,
    decoders: Decoders<Checked>,
    /// The key in force at the event being checked (the chain's may be
    /// ahead of it, at the end of the run).
    key: Option<KeyInForce>,
    /// The hash of every message checked, by sequence - 1 (a foreign
    /// message's too; see `foreign`).
    hashes: Hashes,
    keys: Vec<String>,
    checkpoints: Vec<(u64, u64, String, String)>,
    /// In stream order.
    foreign: Vec<ForeignFinding>,
    references: Vec<ForbundReference>,
}

impl Verifier {
    pub fn new(kommun: KommunId, options: Options) -> Self {
        Verifier {
            chain: ChainState::genesis(&kommun),
            decoders: Decoders::new(kommun.clone(), Checked::of_head),
            kommun,
            options,
            pending: Vec::with_capacity(RUN),
            claimed: Vec::with_capacity(RUN),
            key: None,
            hashes: Hashes::default(),
            keys: Vec::new(),
            checkpoints: Vec::new(),
            foreign: Vec::new(),
            references: Vec::new(),
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

    /// Takes the message stored at `sequence` with exactly these bytes.
    /// `claimed_hash` is what the export (or header) says its hash is.
    pub fn push(
        &mut self,
        sequence: u64,
        raw: &[u8],
        claimed_hash: Option<&str>,
    ) -> Result<(), Break> {
        self.push_bytes(
            sequence,
            Bytes::copy_from_slice(raw),
            claimed_hash.map(str::to_owned),
        )
    }

    /// [`push`](Self::push) without copying the bytes.
    pub fn push_bytes(
        &mut self,
        sequence: u64,
        raw: Bytes,
        claimed_hash: Option<String>,
    ) -> Result<(), Break> {
        self.pending.push((sequence, raw));
        self.claimed.push(claimed_hash);
        if self.pending.len() >= RUN {
            let run = Run {
                messages: std::mem::replace(&mut self.pending, Vec::with_capacity(RUN)),
                claimed: std::mem::replace(&mut self.claimed, Vec::with_capacity(RUN)),
            };
            if let Some((run, heads)) = self.decoders.submit(run) {
                self.check_run(run, |chain, messages| chain.link_heads(messages, heads))?;
            }
        }
        Ok(())
    }

    /// Checks every message pushed: the runs under way in order, then what
    /// is left (decoded on this thread).
    fn check_pending(&mut self) -> Result<(), Break> {
        while let Some((run, heads)) = self.decoders.next_decoded() {
            self.check_run(run, |chain, messages| chain.link_heads(messages, heads))?;
        }
        let rest = Run {
            messages: std::mem::take(&mut self.pending),
            claimed: std::mem::take(&mut self.claimed),
        };
        self.check_run(rest, |chain, messages| {
            chain.check_run(messages, Checked::of_head)
        })
    }

    /// Links a run (`link` classifies it, advancing the chain) and checks
    /// each of its messages in order.
    fn check_run(
        &mut self,
        Run {
            messages: run,
            claimed,
        }: Run,
        link: impl FnOnce(&mut ChainState, &[(u64, Bytes)]) -> RunCheck<Checked>,
    ) -> Result<(), Break> {
        let first_expected = self.chain.next;
        // Quietly: the verifier reports foreign messages itself (a finding
        // each, in order), not as a log line for each, as an intrusion into
        // a live stream is logged.
        let checked =
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                link(&mut self.chain, &run)
            });
        match checked {
            // The whole run is chained: only the heads were read.
            RunCheck::Chained(checked) => {
                for (((sequence, raw), claimed), (event, hash)) in
                    run.iter().zip(claimed).zip(checked)
                {
                    self.check_claimed(*sequence, &hash, claimed.as_deref())?;
                    self.check_event(*sequence, hash, event, raw)?;
                }
            }
            RunCheck::PerMessage(records) => {
                for (i, (((sequence, raw), claimed), record)) in
                    run.into_iter().zip(claimed).zip(records).enumerate()
                {
                    // Every message before this one advanced the chain by one.
                    let expected = first_expected + i as u64;
                    self.check(sequence, raw, claimed, record, expected)?;
                }
            }
        }
        Ok(())
    }

    /// Checks one classified message.
    fn check(
        &mut self,
        sequence: u64,
        raw: Bytes,
        claimed_hash: Option<String>,
        record: Result<Record, StoreError>,
        expected: u64,
    ) -> Result<(), Break> {
        let hash = match &record {
            Ok(Record::Event(e)) => e.hash,
            Ok(Record::Foreign(f)) => f.hash,
            Err(_) => ChainHash::of_event(&raw),
        };
        self.check_claimed(sequence, &hash, claimed_hash.as_deref())?;
        let record = record.map_err(|_| {
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
        match record {
            Record::Foreign(f) => {
                self.foreign.push(ForeignFinding {
                    sequence,
                    event_id: f.event_id,
                    reason: f.reason,
                });
                self.hashes.push(hash);
                Ok(())
            }
            Record::Event(e) => {
                self.check_event(sequence, hash, Checked::of_envelope(&e.envelope), &raw)
            }
        }
    }

    /// Checks one chained event: provenance (P7), and what a key, a
    /// checkpoint or a reference to a förbund's history states.
    fn check_event(
        &mut self,
        sequence: u64,
        hash: ChainHash,
        event: Checked,
        raw: &[u8],
    ) -> Result<(), Break> {
        let brk = |problem: String| Break::new(sequence, Some(event.event_id), problem);
        if let Some(problem) = event.p7 {
            return Err(brk(problem));
        }
        // Only keys, checkpoints and contributions need their payload read
        // (rare: the whole envelope is decoded for them).
        if event.payload {
            let env: Envelope = serde_json::from_slice(raw).map_err(|e| brk(e.to_string()))?;
            self.check_payload(sequence, &env).map_err(brk)?;
        }
        self.hashes.push(hash);
        Ok(())
    }

    fn check_payload(&mut self, sequence: u64, env: &Envelope) -> Result<(), String> {
        match env.event_type.as_str() {
            KEY_EVENT_TYPE => {
                let key: KeyPayload =
                    serde_json::from_value(env.payload.clone()).map_err(|e| e.to_string())?;
                if key.replaces.is_none() {
                    if let Some(trusted) = &self.options.trusted_key {
                        if !trusted.eq_ignore_ascii_case(&key.public_key)
                            && !trusted.eq_ignore_ascii_case(&key.key_id)
                        {
                            return Err(format!(
                                "första nyckeln {} är inte den betrodda nyckeln {trusted}",
                                key.key_id
                            ));
                        }
                    }
                }
                self.key = Some(key.key()?);
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
                    return Err("kontrollpunkten går inte att läsa".into());
                };
                self.checkpoint(covered, &head_hash, signed_at, &kid, &signature)?;
                self.checkpoints
                    .push((covered, sequence, kid, signed_at.to_rfc3339()));
            }
            "ContributionRecorded" => {
                let Ok(Event::ContributionRecorded(c)) =
                    Event::from_payload(&env.event_type, env.schema_version, &env.payload)
                else {
                    return Err("bidraget går inte att läsa".into());
                };
                if let Some(r) = c.forbund_record {
                    self.references.push(ForbundReference {
                        sequence,
                        stream: r.stream,
                        referenced_sequence: r.sequence,
                        hash: r.hash,
                    });
                }
            }
            _ => {}
        }
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
        let actual = covered
            .checked_sub(1)
            .and_then(|i| self.hashes.get(i as usize))
            .filter(|_| {
                self.foreign
                    .binary_search_by_key(&covered, |f| f.sequence)
                    .is_err()
            });
        let Some(actual) = actual else {
            return Err(format!(
                "kontrollpunkten gäller sekvens {covered}, som inte finns före den"
            ));
        };
        if actual.to_hex() != head_hash {
            return Err(format!("kontrollpunkten säger att sekvens {covered} har hash {head_hash}, men den har {actual}"));
        }
        let Some(current) = self.key.as_ref().filter(|k| k.id == kid) else {
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
    pub fn finish(mut self, expected_last: Option<u64>) -> Result<Report, Break> {
        self.check_pending()?;
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
            references: self.references,
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

/// [`verify_stream`], telling `progress` the sequence of every message read
/// (checked a few runs later: the decoders work ahead).
pub async fn verify_stream_with(
    store: &EventStore,
    kommun: &KommunId,
    options: Options,
    mut progress: impl FnMut(u64),
) -> Result<Result<Report, Break>, StoreError> {
    let last = store.last_sequence(kommun).await?;
    let mut v = Verifier::new(kommun.clone(), options);
    // Raw: the verifier classifies, and only once.
    let messages = store.raw_history(kommun, 1).await?;
    futures::pin_mut!(messages);
    while let Some(m) = messages.next().await {
        let (sequence, raw) = match m {
            Ok(m) => m,
            Err(e) => {
                // What was read before the error is checked first: a break
                // in it is the answer, not the error.
                if let Err(b) = v.check_pending() {
                    return Ok(Err(b));
                }
                return Err(e);
            }
        };
        if let Err(b) = v.push_bytes(sequence, raw, None) {
            return Ok(Err(b));
        }
        progress(sequence);
    }
    Ok(v.finish(Some(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_found_by_position_across_blocks() {
        let hash = |i: usize| ChainHash::of_event(&i.to_le_bytes());
        let mut hashes = Hashes::default();
        let n = 2 * Hashes::BLOCK + 3;
        for i in 0..n {
            hashes.push(hash(i));
        }
        assert_eq!(hashes.blocks.len(), 3);
        for i in [
            0,
            1,
            Hashes::BLOCK - 1,
            Hashes::BLOCK,
            2 * Hashes::BLOCK,
            n - 1,
        ] {
            assert_eq!(hashes.get(i), Some(&hash(i)), "{i}");
        }
        assert_eq!(hashes.get(n), None);
        assert_eq!(hashes.get(usize::MAX), None);
    }
}
