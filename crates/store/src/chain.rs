//! Which stored messages belong to a kommun's history, and which are foreign.
//!
//! A kommun's stream should hold only what the store wrote. If something else
//! gets in (a misconfigured server, an old client, a privileged mistake) it
//! must not stop anything: it is classified as *foreign*, reported, and left
//! out of the chain. A message belongs to the history (is *chained*) when all
//! of these hold:
//!
//! 1. it decodes as an [`Envelope`] of this kommun;
//! 2. its `prev_hash` is the hash of the last chained event (or the kommun's
//!    genesis value);
//! 3. it carries a valid ed25519 signature by the kommun's key in force — for
//!    a `SigningKeyPublished` event, by the key it publishes, and that key is
//!    either the first (no key yet, `replaces` absent) or endorsed by the key
//!    in force.
//!
//! Everything else is foreign. Foreign messages still occupy stream
//! sequences (the stream refuses deletion), so sequences stay gap-free while
//! the chain skips them: the next chained event links to the last chained
//! one, never to a foreign message.
//!
//! # Event signatures
//! The stored bytes of every chained event end with
//! `,"signature":"<128 hex digits>"}`. The signature covers
//! `"styrkedja/event-sig/v1\n" ‖ U`, where `U` is the stored bytes with that
//! suffix replaced by `}` (the envelope as it was before it was signed).
//! Nothing is re-serialised to check it.
//!
//! # One signature vouches for the run before it
//! A signature covers its event's `prev_hash`, which is the hash of the
//! event before, whose bytes hold its own `prev_hash`, and so on back to
//! genesis. So a valid signature by the key in force on event *n*, over a
//! chain whose links a reader has recomputed itself, vouches for every event
//! it chains over: changing, inserting or removing any of them changes the
//! hash *n* signs. [`ChainState::classify_run`] uses this: it checks the
//! links of a run of messages, the keys it publishes, and the signature of
//! the run's last event only — and, at a key rotation inside the run, of
//! the last event before it under the key it replaces (an endorsement is not
//! tied to a place in the chain, so a new key vouches only for what comes
//! after it). Any anomaly — a message that does not decode
//! or link, a key event that does not hold, a last signature that fails — and
//! the run is classified again message by message, exactly as
//! [`ChainState::classify`] does, so the outcome never differs: an event a
//! per-message reader would call foreign cannot lie inside a run whose last
//! signature holds unless the kommun's own key signed over it.

use bytes::Bytes;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::envelope::Text;
use crate::{canonical, ChainHash, Envelope, KommunId, Provenance, StoreError, StoredEvent};

const SIGNATURE_TAG: &[u8] = b"styrkedja/event-sig/v1\n";
const SIGNATURE_FIELD: &[u8] = b",\"signature\":\"";
/// `,"signature":"` + 128 hex + `"}`.
const SIGNATURE_SUFFIX_LEN: usize = SIGNATURE_FIELD.len() + 128 + 2;

/// The event type under which the store publishes a kommun's signing keys.
pub const KEY_EVENT_TYPE: &str = "SigningKeyPublished";

/// The first 8 bytes of SHA-256 of a public key, hex: how keys are named.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Signs an envelope's unsigned encoding (compact JSON ending in `}`) and
/// returns the bytes to store: the same with the signature as last field.
pub fn sign_envelope(unsigned: Vec<u8>, key: &SigningKey) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_TAG.len() + unsigned.len());
    message.extend_from_slice(SIGNATURE_TAG);
    message.extend_from_slice(&unsigned);
    let signature = hex::encode(key.sign(&message).to_bytes());
    let mut out = unsigned;
    out.pop(); // the closing brace
    out.extend_from_slice(SIGNATURE_FIELD);
    out.extend_from_slice(signature.as_bytes());
    out.extend_from_slice(b"\"}");
    out
}

/// Checks the signature at the end of stored bytes against `key`.
fn signature_holds(stored: &[u8], key: &VerifyingKey) -> Result<(), &'static str> {
    let n = stored.len();
    if n < SIGNATURE_SUFFIX_LEN + 2 || !stored.ends_with(b"\"}") {
        return Err("händelsen saknar signatur");
    }
    let start = n - SIGNATURE_SUFFIX_LEN;
    if &stored[start..start + SIGNATURE_FIELD.len()] != SIGNATURE_FIELD {
        return Err("händelsen saknar signatur");
    }
    // Lowercase hex only: one signature, one encoding, one stored form.
    let digits = &stored[start + SIGNATURE_FIELD.len()..n - 2];
    if !digits
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err("signaturen är inte 64 bytes hex med gemener");
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(digits, &mut sig).map_err(|_| "signaturen är inte 64 bytes hex")?;
    let mut message = Vec::with_capacity(SIGNATURE_TAG.len() + start + 1);
    message.extend_from_slice(SIGNATURE_TAG);
    message.extend_from_slice(&stored[..start]);
    message.push(b'}');
    key.verify_strict(&message, &Signature::from_bytes(&sig))
        .map_err(|_| "signaturen stämmer inte med kommunens gällande nyckel")
}

/// The payload of a `SigningKeyPublished` event.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyPayload {
    pub key_id: String,
    /// 32 bytes, hex.
    pub public_key: String,
    #[serde(default)]
    pub replaces: Option<String>,
    /// The replaced key's signature over the new public key's 32 bytes, hex.
    #[serde(default)]
    pub endorsement: Option<String>,
}

impl KeyPayload {
    /// The key it publishes: 32 bytes of hex, named by its own key id.
    pub fn key(&self) -> Result<KeyInForce, String> {
        let bytes: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("publicerad nyckel är inte 32 bytes hex")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("ogiltig nyckel: {e}"))?;
        let id = key_id(&key);
        if id != self.key_id {
            return Err(format!(
                "nyckel-id {} stämmer inte med nyckeln",
                self.key_id
            ));
        }
        Ok(KeyInForce { id, key })
    }
}

/// The key a kommun's history has in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInForce {
    pub id: String,
    pub key: VerifyingKey,
}

/// A message in a kommun's stream that is not part of its history.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignMessage {
    pub sequence: u64,
    /// Why it is foreign, in Swedish, for people.
    pub reason: String,
    /// Its event id, if it decoded as an envelope at all.
    pub event_id: Option<uuid::Uuid>,
    /// SHA-256 of its bytes, tagged like an event hash.
    pub hash: ChainHash,
    pub raw: Bytes,
}

/// One message of a kommun's stream, classified.
// Nearly every record is an event; boxing it would cost an allocation per
// event read to save space on the rare foreign message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Part of the history.
    Event(StoredEvent),
    /// Not written by the store, or not continuing the chain: reported, skipped.
    Foreign(ForeignMessage),
}

impl Record {
    pub fn sequence(&self) -> u64 {
        match self {
            Record::Event(e) => e.sequence,
            Record::Foreign(f) => f.sequence,
        }
    }

    /// The event, if the message is part of the history.
    pub fn into_event(self) -> Option<StoredEvent> {
        match self {
            Record::Event(e) => Some(e),
            Record::Foreign(_) => None,
        }
    }
}

/// Where a reader stands in a kommun's stream: the next sequence to read, the
/// last chained event and the key in force. Start from [`ChainState::genesis`];
/// a reader that stops may keep its state and go on from it later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    pub kommun: KommunId,
    /// The next stream sequence expected.
    pub next: u64,
    /// Sequence of the last chained event; 0 before the first.
    pub chained: u64,
    /// Hash of the last chained event, or the genesis value.
    pub head: ChainHash,
    pub key: Option<KeyInForce>,
}

impl ChainState {
    pub fn genesis(kommun: &KommunId) -> Self {
        ChainState {
            kommun: kommun.clone(),
            next: 1,
            chained: 0,
            head: ChainHash::genesis(kommun),
            key: None,
        }
    }

    /// Classifies the message stored at `sequence` and advances. Only a
    /// sequence out of order is an error (the stream never skips one).
    pub fn classify(&mut self, sequence: u64, raw: Bytes) -> Result<Record, StoreError> {
        if sequence != self.next {
            return Err(StoreError::Corrupt {
                sequence,
                reason: format!(
                    "expected sequence {} next, the stream gave {sequence}",
                    self.next
                ),
            });
        }
        self.next += 1;
        let hash = ChainHash::of_event(&raw);
        let foreign = |reason: String, event_id| {
            tracing::error!(sequence, %reason, "främmande meddelande i kommunens ström");
            Ok(Record::Foreign(ForeignMessage {
                sequence,
                reason,
                event_id,
                hash,
                raw: raw.clone(),
            }))
        };
        let envelope: Envelope = match serde_json::from_slice(&raw) {
            Ok(e) => e,
            Err(e) => {
                let why = crate::wording::serde_message(&e.to_string());
                return foreign(format!("inte ett Styrkedja-kuvert: {why}"), None);
            }
        };
        let id = Some(envelope.event_id);
        if envelope.kommun != self.kommun {
            return foreign(
                format!("tillhör kommun {}, inte {}", envelope.kommun, self.kommun),
                id,
            );
        }
        if envelope.prev_hash != self.head {
            return foreign(
                format!(
                    "fortsätter inte kedjan: prev_hash {} men senaste händelse i kedjan har hash {}",
                    envelope.prev_hash, self.head
                ),
                id,
            );
        }
        let new_key = if envelope.event_type == KEY_EVENT_TYPE {
            match self.key_event(&envelope) {
                Ok(k) => Some(k),
                Err(reason) => return foreign(reason, id),
            }
        } else {
            None
        };
        let verifying = match (&new_key, &self.key) {
            (Some(k), _) | (None, Some(k)) => &k.key,
            (None, None) => {
                return foreign(
                    "signerad innan kommunen publicerat någon nyckel".to_owned(),
                    id,
                )
            }
        };
        if let Err(reason) = signature_holds(&raw, verifying) {
            return foreign(reason.to_owned(), id);
        }
        if let Some(k) = new_key {
            self.key = Some(k);
        }
        self.head = hash;
        self.chained = sequence;
        Ok(Record::Event(StoredEvent {
            sequence,
            envelope,
            hash,
            raw,
        }))
    }

    /// Classifies consecutive messages and advances, with the same outcome
    /// as [`classify`](Self::classify) on each in turn, but checking one
    /// signature per run instead of one per event (see the module
    /// documentation). A sequence out of order is an error at that message.
    pub fn classify_run(&mut self, messages: Vec<(u64, Bytes)>) -> Vec<Result<Record, StoreError>> {
        let start = self.clone();
        let decoded = decode_run(
            &messages,
            |raw| serde_json::from_slice::<Envelope>(raw).ok(),
            true,
        );
        if let Some(linked) = self.link_run(&messages, decoded) {
            return linked
                .into_iter()
                .zip(messages)
                .map(|((envelope, hash), (sequence, raw))| {
                    Ok(Record::Event(StoredEvent {
                        sequence,
                        envelope,
                        hash,
                        raw,
                    }))
                })
                .collect();
        }
        *self = start;
        messages
            .into_iter()
            .map(|(sequence, raw)| self.classify(sequence, raw))
            .collect()
    }

    /// Checks a run as [`classify_run`](Self::classify_run) does, reading
    /// only the envelope fields a check needs ([`EnvelopeHead`], borrowed
    /// from the messages) and keeping of each what `read` takes from it
    /// (`read` runs where the message is decoded, on either thread). A
    /// head is only ever read where the full envelope decodes too.
    pub fn check_run<'a, T: Send>(
        &mut self,
        messages: &'a [(u64, Bytes)],
        read: impl Fn(&EnvelopeHead<'a>) -> T + Sync,
    ) -> RunCheck<T> {
        let heads = decode_run(messages, Self::head_reader(&self.kommun, read), true);
        self.link_heads(messages, Heads(heads))
    }

    /// The part of [`check_run`](Self::check_run) that needs no chain: each
    /// message's head read and its bytes hashed, on this thread alone (a
    /// caller may decode the next run on another thread while it links
    /// this one with [`link_heads`](Self::link_heads)).
    pub fn decode_heads<'a, T: Send>(
        kommun: &KommunId,
        messages: &'a [(u64, Bytes)],
        read: impl Fn(&EnvelopeHead<'a>) -> T + Sync,
    ) -> Heads<T> {
        Heads(decode_run(messages, Self::head_reader(kommun, read), false))
    }

    fn head_reader<'a, 'k, T>(
        kommun: &'k KommunId,
        read: impl Fn(&EnvelopeHead<'a>) -> T + Sync + 'k,
    ) -> impl Fn(&'a [u8]) -> Option<Read<T>> + Sync + 'k {
        move |raw| {
            EnvelopeHead::decode(raw, kommun).map(|head| Read {
                prev_hash: head.prev_hash,
                key_event: head.event_type == KEY_EVENT_TYPE,
                value: read(&head),
            })
        }
    }

    /// Links a run whose heads [`decode_heads`](Self::decode_heads) read
    /// from exactly these messages, and advances: the outcome of
    /// [`check_run`](Self::check_run).
    pub fn link_heads<T>(&mut self, messages: &[(u64, Bytes)], heads: Heads<T>) -> RunCheck<T> {
        let start = self.clone();
        if heads.0.len() == messages.len() {
            if let Some(linked) = self.link_run(messages, heads.0) {
                return RunCheck::Chained(
                    linked
                        .into_iter()
                        .map(|(r, hash)| (r.value, hash))
                        .collect(),
                );
            }
        }
        *self = start;
        RunCheck::PerMessage(
            messages
                .iter()
                .map(|(sequence, raw)| self.classify(*sequence, raw.clone()))
                .collect(),
        )
    }

    /// The run's decoded envelopes with their hashes, if every message
    /// decodes and links and the last signature holds; `None` (with `self`
    /// in an unspecified state) at any doubt.
    fn link_run<E: Linked>(
        &mut self,
        messages: &[(u64, Bytes)],
        decoded: Vec<(Option<E>, ChainHash)>,
    ) -> Option<Vec<(E, ChainHash)>> {
        let mut linked = Vec::with_capacity(messages.len());
        // The last event not yet vouched for by a signature checked.
        let mut unchecked: Option<usize> = None;
        for ((sequence, raw), (envelope, hash)) in messages.iter().zip(decoded) {
            if *sequence != self.next {
                return None;
            }
            let envelope = envelope?;
            if !envelope.of_kommun(&self.kommun) || envelope.prev_hash() != self.head {
                return None;
            }
            if envelope.key_event() {
                // Rare: checked in full.
                let key = self.key_event(&*envelope.full(raw)?).ok()?;
                signature_holds(raw, &key.key).ok()?;
                // The events before it were signed by the key it replaces:
                // the last of them is checked under that key, so a key
                // endorsed once (its endorsement is not tied to a place in
                // the chain) cannot vouch for events it never signed.
                if let Some(i) = unchecked {
                    signature_holds(&messages[i].1, &self.key.as_ref()?.key).ok()?;
                }
                self.key = Some(key);
                unchecked = None;
            } else {
                self.key.as_ref()?;
                unchecked = Some(linked.len());
            }
            self.next += 1;
            self.chained = *sequence;
            self.head = hash;
            linked.push((envelope, hash));
        }
        if let Some(i) = unchecked {
            signature_holds(&messages[i].1, &self.key.as_ref()?.key).ok()?;
        }
        Some(linked)
    }

    /// The key a `SigningKeyPublished` envelope introduces, if it may.
    fn key_event(&self, envelope: &Envelope) -> Result<KeyInForce, String> {
        let payload: KeyPayload = serde_json::from_value(envelope.payload.clone())
            .map_err(|e| format!("nyckelhändelsen går inte att läsa: {e}"))?;
        let KeyInForce { id, key } = payload.key()?;
        let bytes = key.as_bytes();
        match (&payload.replaces, &self.key) {
            (None, None) => {}
            (Some(old), Some(current)) if *old == current.id => {
                let sig = payload
                    .endorsement
                    .as_deref()
                    .and_then(|s| hex::decode(s).ok())
                    .and_then(|b| Signature::from_slice(&b).ok())
                    .ok_or("rotationen saknar den gamla nyckelns signatur")?;
                current
                    .key
                    .verify_strict(bytes, &sig)
                    .map_err(|_| format!("rotationen till {id} är inte signerad av {old}"))?;
            }
            (None, Some(current)) => {
                return Err(format!(
                    "en första nyckel {id} trots att {} redan gäller",
                    current.id
                ))
            }
            (Some(old), _) => {
                return Err(format!(
                    "nyckeln {id} säger sig ersätta {old}, som inte är den gällande nyckeln"
                ))
            }
        }
        Ok(KeyInForce { id, key })
    }
}

/// A run checked by [`ChainState::check_run`].
pub enum RunCheck<T> {
    /// Every message is chained: what was read of each, and its hash.
    Chained(Vec<(T, ChainHash)>),
    /// Not all of them: the run classified message by message, with full
    /// envelopes.
    PerMessage(Vec<Result<Record, StoreError>>),
}

/// The heads of a run of messages with the hashes of their bytes, read
/// apart from the chain ([`ChainState::decode_heads`]); what the caller's
/// `read` took of each is linked by [`ChainState::link_heads`].
pub struct Heads<T>(Vec<(Option<Read<T>>, ChainHash)>);

impl<T> Heads<T> {
    /// What `read` took of each message, in the run's order; `None` for a
    /// message whose head could not be read (for tests).
    #[doc(hidden)]
    pub fn values(&self) -> impl Iterator<Item = Option<&T>> {
        self.0
            .iter()
            .map(|(read, _)| read.as_ref().map(|r| &r.value))
    }
}

/// What linking a run reads of a decoded envelope.
trait Linked {
    fn of_kommun(&self, kommun: &KommunId) -> bool;
    fn prev_hash(&self) -> ChainHash;
    fn key_event(&self) -> bool;
    /// The whole envelope (a key event is checked in full).
    fn full(&self, raw: &[u8]) -> Option<std::borrow::Cow<'_, Envelope>>;
}

impl Linked for Envelope {
    fn of_kommun(&self, kommun: &KommunId) -> bool {
        self.kommun == *kommun
    }
    fn prev_hash(&self) -> ChainHash {
        self.prev_hash
    }
    fn key_event(&self) -> bool {
        self.event_type == KEY_EVENT_TYPE
    }
    fn full(&self, _: &[u8]) -> Option<std::borrow::Cow<'_, Envelope>> {
        Some(std::borrow::Cow::Borrowed(self))
    }
}

/// What [`ChainState::check_run`] keeps of a head: what linking needs, and
/// what its caller read.
struct Read<T> {
    prev_hash: ChainHash,
    key_event: bool,
    value: T,
}

impl<T> Linked for Read<T> {
    /// Only the kommun's own heads are read ([`EnvelopeHead::decode`]).
    fn of_kommun(&self, _: &KommunId) -> bool {
        true
    }
    fn prev_hash(&self) -> ChainHash {
        self.prev_hash
    }
    fn key_event(&self) -> bool {
        self.key_event
    }
    /// Only a head was read: the envelope is decoded now.
    fn full(&self, raw: &[u8]) -> Option<std::borrow::Cow<'_, Envelope>> {
        serde_json::from_slice(raw)
            .ok()
            .map(std::borrow::Cow::Owned)
    }
}

/// The fields of a stored [`Envelope`] that a chain check and a verifier
/// read, borrowed from the stored bytes. The payload is checked to be JSON
/// exactly as the envelope's `payload` accepts it, and not kept.
///
/// It accepts no message the full envelope refuses: every field has the
/// envelope's name and type (strings are borrowed, so a string with an
/// escape is refused here and the caller falls back to the full envelope),
/// unknown fields are refused, and the kommun must be the one asked for (a
/// valid id).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeHead<'a> {
    pub event_id: uuid::Uuid,
    pub kommun: &'a str,
    #[serde(borrow)]
    pub aggregate: AggregateHead<'a>,
    pub event_type: &'a str,
    pub schema_version: u32,
    /// Shared with the heads before it that had the same provenance (the
    /// events of one decision follow each other).
    pub provenance: std::sync::Arc<Provenance>,
    #[serde(deserialize_with = "crate::envelope::timestamp")]
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    #[serde(borrow)]
    pub recorded_by: std::borrow::Cow<'a, str>,
    pub correlation_id: uuid::Uuid,
    #[serde(default)]
    pub causation_id: Option<uuid::Uuid>,
    #[serde(borrow)]
    pub idempotency_key: std::borrow::Cow<'a, str>,
    pub prev_hash: ChainHash,
    #[serde(rename = "payload")]
    _payload: AnyJson,
    #[serde(default, borrow)]
    pub signature: Option<&'a str>,
}

impl<'a> EnvelopeHead<'a> {
    /// The head of stored bytes of `kommun`'s; `None` where it cannot be
    /// read this way (the full envelope may still decode, or not) or is
    /// another kommun's.
    pub fn decode(raw: &'a [u8], kommun: &KommunId) -> Option<Self> {
        // Checked as UTF-8 once, not string by string: bytes that are not
        // UTF-8 can only stand in a string, where `from_slice` refuses them
        // too, so the same messages decode.
        let text = std::str::from_utf8(raw).ok()?;
        match Self::decode_canonical(text) {
            Some(head) => Some(head),
            None => Self::decode_general(text),
        }
        .filter(|head| head.kommun == kommun.as_str())
    }

    /// The head of an envelope in exactly the form the store writes
    /// (see the `canonical` module); `None` for any other text, which may
    /// still decode the general way. Public for the fuzz target, which
    /// holds it to [`decode_general`](Self::decode_general). Like that one,
    /// it does not check the kommun id (the envelope would refuse an
    /// invalid one): [`decode`](Self::decode) compares it with the one
    /// asked for.
    #[doc(hidden)]
    pub fn decode_canonical(text: &'a str) -> Option<Self> {
        let p = canonical::scan(text)?;
        Some(EnvelopeHead {
            event_id: p.event_id.parse().ok()?,
            kommun: p.kommun,
            aggregate: AggregateHead {
                kind: p.kind,
                id: p.id,
            },
            event_type: p.event_type,
            schema_version: p.schema_version,
            provenance: read_provenance(p.provenance)?,
            recorded_at: <chrono::DateTime<chrono::Utc> as Text>::read(p.recorded_at).ok()?,
            recorded_by: std::borrow::Cow::Borrowed(p.recorded_by),
            correlation_id: p.correlation_id.parse().ok()?,
            causation_id: match p.causation_id {
                Some(id) => Some(id.parse().ok()?),
                None => None,
            },
            idempotency_key: std::borrow::Cow::Borrowed(p.idempotency_key),
            prev_hash: p.prev_hash.parse().ok()?,
            _payload: AnyJson,
            signature: p.signature,
        })
    }

    /// The head read by `serde_json`, whatever the form.
    #[doc(hidden)]
    pub fn decode_general(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The first field in which this head says something else than the
    /// envelope decoded from the same bytes (for tests and the fuzz target).
    #[doc(hidden)]
    pub fn differs_from(&self, e: &Envelope) -> Option<&'static str> {
        [
            ("event_id", self.event_id == e.event_id),
            ("kommun", self.kommun == e.kommun.as_str()),
            ("aggregate.kind", self.aggregate.kind == e.aggregate.kind),
            ("aggregate.id", self.aggregate.id == e.aggregate.id),
            ("event_type", self.event_type == e.event_type),
            ("schema_version", self.schema_version == e.schema_version),
            ("provenance", *self.provenance == e.provenance),
            ("recorded_at", self.recorded_at == e.recorded_at),
            ("recorded_by", self.recorded_by == e.recorded_by),
            ("correlation_id", self.correlation_id == e.correlation_id),
            ("causation_id", self.causation_id == e.causation_id),
            ("idempotency_key", self.idempotency_key == e.idempotency_key),
            ("prev_hash", self.prev_hash == e.prev_hash),
            ("signature", self.signature == e.signature.as_deref()),
        ]
        .into_iter()
        .find_map(|(field, same)| (!same).then_some(field))
    }
}

/// A provenance in the store's form. The events of one decision share one
/// provenance and follow each other in the stream, so the last one read on
/// this thread is kept and compared first (and handed out again, not
/// copied); a new one is read by the canonical reader where it can be.
fn read_provenance(text: &str) -> Option<std::sync::Arc<Provenance>> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, std::sync::Arc<Provenance>)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((seen, provenance)) = last.as_ref() {
            if seen == text {
                return Some(provenance.clone());
            }
        }
        let provenance = match canonical::provenance(text) {
            Some(provenance) => provenance,
            None => serde_json::from_str(text).ok()?,
        };
        let provenance = std::sync::Arc::new(provenance);
        *last = Some((text.to_owned(), provenance.clone()));
        Some(provenance)
    })
}

/// [`AggregateRef`](crate::AggregateRef), borrowed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateHead<'a> {
    pub kind: &'a str,
    pub id: &'a str,
}

/// Any JSON value, read and not kept: accepts exactly what
/// `serde_json::Value` accepts (same parser calls, numbers included).
#[derive(Debug)]
struct AnyJson;

impl<'de> Deserialize<'de> for AnyJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyJson)
    }
}

impl<'de> serde::de::Visitor<'de> for AnyJson {
    type Value = AnyJson;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        // `Value` (serde_json's `raw_value` feature is on) reads an object
        // whose first key is its raw-value token as a raw value, and refuses
        // most such objects: refused here, so the full envelope decides.
        match map.next_key::<FirstKey>()? {
            None => return Ok(AnyJson),
            Some(FirstKey::RawValueToken) => {
                return Err(serde::de::Error::custom("serde_json's raw-value token"))
            }
            Some(FirstKey::Other) => map.next_value::<AnyJson>()?,
        };
        while map.next_entry::<AnyJson, AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
}

/// The first key of an object, as `serde_json::Value` tells it apart.
enum FirstKey {
    RawValueToken,
    Other,
}

/// The key `serde_json` (with `raw_value`) reserves for a raw value.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl<'de> Deserialize<'de> for FirstKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl serde::de::Visitor<'_> for Key {
            type Value = FirstKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<FirstKey, E> {
                Ok(if v == RAW_VALUE_TOKEN {
                    FirstKey::RawValueToken
                } else {
                    FirstKey::Other
                })
            }
        }
        d.deserialize_str(Key)
    }
}

/// Runs at least this long are decoded and hashed on two threads.
const PARALLEL_RUN: usize = 128;

/// Each message of a run decoded (`None`: it does not decode) with the hash
/// of its bytes — the work that needs no chain, so a long run is split in
/// two halves done side by side (when `parallel`); the chain is then checked
/// over the results in order.
fn decode_run<'a, E: Send>(
    messages: &'a [(u64, Bytes)],
    decode: impl Fn(&'a [u8]) -> Option<E> + Sync,
    parallel: bool,
) -> Vec<(Option<E>, ChainHash)> {
    let part = |part: &'a [(u64, Bytes)]| -> Vec<(Option<E>, ChainHash)> {
        part.iter()
            .map(|(_, raw)| (decode(raw), ChainHash::of_event(raw)))
            .collect()
    };
    if !parallel || messages.len() < PARALLEL_RUN {
        return part(messages);
    }
    let (first, second) = messages.split_at(messages.len() / 2);
    std::thread::scope(|s| {
        let later = s.spawn(|| part(second));
        let mut decoded = part(first);
        match later.join() {
            Ok(rest) => decoded.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        decoded
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_message_says_why_in_swedish() {
        let k = KommunId::new("vimmerby").unwrap();
        let mut state = ChainState::genesis(&k);
        let raw = Bytes::from_static(br#"{"forged": true}"#);
        let Ok(Record::Foreign(f)) = state.classify(1, raw) else {
            panic!("not foreign")
        };
        assert!(
            f.reason
                .starts_with("inte ett Styrkedja-kuvert: okänt fält `forged`; tillåtna:"),
            "{}",
            f.reason
        );
    }

    #[test]
    fn a_signature_covers_the_unsigned_bytes() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = sign_envelope(br#"{"a":1}"#.to_vec(), &key);
        let text = std::str::from_utf8(&signed).unwrap();
        assert!(text.starts_with(r#"{"a":1,"signature":""#), "{text}");
        assert!(signature_holds(&signed, &key.verifying_key()).is_ok());
        let mut flipped = signed.clone();
        flipped[5] = b'2';
        assert!(signature_holds(&flipped, &key.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(signature_holds(&signed, &other.verifying_key()).is_err());
        // The same signature in capitals is another stored form: refused.
        let text = String::from_utf8(signed.clone()).unwrap();
        let cut = text.len() - 130;
        let upper = format!("{}{}", &text[..cut], text[cut..].to_uppercase());
        assert_ne!(upper.as_bytes(), &signed[..]);
        assert!(signature_holds(upper.as_bytes(), &key.verifying_key()).is_err());
        assert!(signature_holds(br#"{"a":1}"#, &key.verifying_key()).is_err());
    }

    fn stored_envelope() -> Vec<u8> {
        let kommun = KommunId::new("bench").unwrap();
        let envelope = Envelope {
            event_id: uuid::Uuid::now_v7(),
            kommun: kommun.clone(),
            aggregate: crate::AggregateRef::new("goal", "g-1"),
            event_type: "GoalAdopted".into(),
            schema_version: 1,
            provenance: Provenance::new(
                crate::DecidedBy::System {
                    component: "test".into(),
                },
                chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            ),
            recorded_at: chrono::Utc::now(),
            recorded_by: "test".into(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            idempotency_key: "k-1".into(),
            prev_hash: ChainHash::genesis(&kommun),
            payload: serde_json::json!({"a": [1, 2.5, "x", null, true, {"b": {}}]}),
            signature: None,
        };
        sign_envelope(
            serde_json::to_vec(&envelope).unwrap(),
            &SigningKey::from_bytes(&[7; 32]),
        )
    }

    #[test]
    fn a_head_is_read_only_where_the_whole_envelope_is() {
        let stored = String::from_utf8(stored_envelope()).unwrap();
        let full: Envelope = serde_json::from_str(&stored).unwrap();
        let kommun = KommunId::new("bench").unwrap();
        let head = EnvelopeHead::decode(stored.as_bytes(), &kommun).unwrap();
        assert_eq!(head.event_id, full.event_id);
        assert_eq!(head.recorded_at, full.recorded_at);
        assert_eq!(head.prev_hash, full.prev_hash);
        assert_eq!(*head.provenance, full.provenance);
        let field = |name: &str, value: &str| -> String {
            let mut v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&stored).unwrap();
            v.remove(name);
            let mut text = serde_json::to_string(&v).unwrap();
            text.pop();
            format!("{text},\"{name}\":{value}}}")
        };
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let mut cases = vec![
            field("payload", "1e400"),
            field("payload", "-1e400"),
            field("payload", "123456789012345678901234567890"),
            field("payload", &deep),
            field("payload", r#""\u00e5""#),
            field("payload", r#""\ud800""#),
            field("payload", r#"{"a":1,"a":2}"#),
            field("payload", r#"{"$serde_json::private::RawValue":1}"#),
            field(
                "payload",
                r#"{"$serde_json::private::RawValue":"not json"}"#,
            ),
            field("payload", r#"{"$serde_json::private::RawValue":"1","b":2}"#),
            field("payload", r#"{"a":[{"$serde_json::private::RawValue":0}]}"#),
            field("payload", r#"{"\u0024serde_json::private::RawValue":0}"#),
            field("payload", r#"{"b":1,"$serde_json::private::RawValue":0}"#),
            field("idempotency_key", r#""k-\"1\"""#),
            field("kommun", r#""b\u0065nch""#),
            field("kommun", r#""Bench""#),
            field("kommun", "null"),
            field("extra", "1"),
            field("recorded_by", "null"),
            field("signature", "null"),
            field("causation_id", "null"),
            field("causation_id", r#""nej""#),
            field("schema_version", "-1"),
            field("schema_version", "1.0"),
            field("event_id", r#""01a21d7d109f71cb8a1740ab6d97cb11""#),
            field("event_id", r#""{01a21d7d-109f-71cb-8a17-40ab6d97cb11}""#),
            field("prev_hash", &format!("\"{}\"", "A".repeat(64))),
            field("prev_hash", &format!("\"{}\"", "a".repeat(63))),
            field("aggregate", r#"{"kind":"goal","id":"g-1","x":1}"#),
            field("aggregate", r#"{"kind":"goal"}"#),
            field(
                "provenance",
                r#"{"decided_by":{"kind":"system","component":"t","body":null},"effective_date":"2026-01-01"}"#,
            ),
            stored.replacen("{", "[", 1),
            format!("{stored} "),
            stored.replace("GoalAdopted", "Goal\\u0041dopted"),
        ];
        for time in [
            "2026-11-27 14:51:05Z",
            "2026-11-27t14:51:05z",
            "2026-11-27T14:51:05+00:00",
            "2026-11-27T14:51:05-00:00",
            "2026-11-27T14:51:05+0100",
            "2026-11-27T23:59:60Z",
            "2026-12-31T23:59:60.5Z",
            "2026-02-30T00:00:00Z",
            "2026-11-27T14:51Z",
            "2026-11-27T14:51:05.123456789012Z",
            "2026-11-27T14:51:05",
            "+12026-11-27T14:51:05Z",
            " 2026-11-27T14:51:05Z",
        ] {
            cases.push(field("recorded_at", &format!("\"{time}\"")));
            // The timestamp reader takes what chrono's `DateTime<Utc>` takes.
            let ours = <chrono::DateTime<chrono::Utc> as crate::envelope::Text>::read(time);
            let chrono = time.parse::<chrono::DateTime<chrono::Utc>>();
            assert_eq!(ours.ok(), chrono.ok(), "{time}");
        }
        let mut accepted = 0;
        for case in &cases {
            let full = serde_json::from_str::<Envelope>(case);
            if let Some(head) = EnvelopeHead::decode(case.as_bytes(), &kommun) {
                accepted += 1;
                let full = full.unwrap_or_else(|e| {
                    panic!("the head took what the envelope refuses ({e}): {case}")
                });
                assert_eq!(head.recorded_at, full.recorded_at, "{case}");
                assert_eq!(head.event_id, full.event_id, "{case}");
            }
        }
        // Some of them are envelopes, and the head reads those.
        assert!(accepted >= 5, "{accepted}");
    }

    /// The canonical reading of `text`, held to the general one: where it
    /// reads a head, the general reader reads the same head, and where that
    /// head is the kommun's (as `decode` asks), the whole envelope decodes
    /// with the same value in every field of the head. Whether it read one.
    fn canonical_agrees(text: &str) -> bool {
        let Some(canonical) = EnvelopeHead::decode_canonical(text) else {
            return false;
        };
        let general = EnvelopeHead::decode_general(text)
            .unwrap_or_else(|| panic!("canonical took what the general reader refuses: {text}"));
        assert_eq!(format!("{canonical:?}"), format!("{general:?}"), "{text}");
        let kommun = KommunId::new("bench").unwrap();
        if EnvelopeHead::decode(text.as_bytes(), &kommun).is_none() {
            assert_ne!(canonical.kommun, "bench", "{text}");
            return true;
        }
        match serde_json::from_str::<Envelope>(text) {
            Err(e) => panic!("canonical took what the envelope refuses ({e}): {text}"),
            Ok(envelope) => {
                if let Some(field) = canonical.differs_from(&envelope) {
                    panic!("canonical read {field} otherwise than the envelope: {text}");
                }
            }
        }
        true
    }

    #[test]
    fn the_stores_own_form_is_read_without_the_general_parser_and_the_same() {
        let stored = String::from_utf8(stored_envelope()).unwrap();
        assert!(canonical_agrees(&stored), "the store's form is canonical");
        let fields: std::collections::HashMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(&stored).unwrap();
        // The stored text with one field's value replaced in place (the
        // fields stay in the store's order).
        let with = |name: &str, value: &str| -> String {
            let mut text = String::from("{");
            for field in [
                "event_id",
                "kommun",
                "aggregate",
                "event_type",
                "schema_version",
                "provenance",
                "recorded_at",
                "recorded_by",
                "correlation_id",
                "causation_id",
                "idempotency_key",
                "prev_hash",
                "payload",
                "signature",
            ] {
                let original = fields.get(field).map(|v| v.get().to_owned());
                let Some(v) = (if field == name {
                    Some(value.to_owned())
                } else {
                    original
                }) else {
                    continue;
                };
                if text.len() > 1 {
                    text.push(',');
                }
                text.push_str(&format!("\"{field}\":{v}"));
            }
            text.push('}');
            text
        };
        assert_eq!(with("kommun", "\"bench\""), stored);
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let read = [
            ("payload", r#"{"a":1,"a":2}"#.to_owned()),
            ("payload", "123456789012345678901234567890".into()),
            ("payload", "-0.000001".into()),
            ("payload", deep(60)),
            ("payload", r#""åäö ✓""#.into()),
            (
                "causation_id",
                r#""01a21d7d-109f-71cb-8a17-40ab6d97cb11""#.into(),
            ),
            (
                "event_id",
                r#""01A21D7D-109F-71CB-8A17-40AB6D97CB11""#.into(),
            ),
            ("schema_version", "4294967295".into()),
            // Every form the uuid reader takes.
            (
                "event_id",
                r#""{01a21d7d-109f-71cb-8a17-40ab6d97cb11}""#.into(),
            ),
            ("event_id", r#""01a21d7d109f71cb8a1740ab6d97cb11""#.into()),
            // Every form the time reader takes.
            ("recorded_at", r#""2026-11-27 14:51:05Z""#.into()),
            ("recorded_at", r#""2026-11-27T14:51:05+01:00""#.into()),
        ];
        for (name, value) in &read {
            let text = with(name, value);
            assert!(canonical_agrees(&text), "{text}");
        }
        let left = [
            ("payload", "1e400".to_owned()),
            ("payload", "1e5".into()),
            ("payload", deep(200)),
            ("payload", r#""\u00e5""#.into()),
            ("payload", r#""\ud800""#.into()),
            ("payload", r#"{"$serde_json::private::RawValue":"1"}"#.into()),
            ("payload", r#"{"a":[{"$serde_json::private::RawValue":0}]}"#.into()),
            ("payload", "{\"a\":\n1}".into()),
            ("idempotency_key", r#""k-\"1\"""#.into()),
            ("kommun", r#""b\u0065nch""#.into()),
            ("kommun", "null".into()),
            ("signature", "null".into()),
            ("causation_id", "null".into()),
            ("schema_version", "4294967296".into()),
            ("schema_version", "01".into()),
            ("prev_hash", format!("\"{}\"", "a".repeat(63))),
            ("aggregate", r#"{"kind":"goal","id":"g-1","x":1}"#.into()),
            (
                "provenance",
                r#"{"decided_by":{"kind":"system","component":"t","body":null},"effective_date":"2026-01-01"}"#
                    .into(),
            ),
        ];
        for (name, value) in &left {
            let text = with(name, value);
            // Whatever the general reader says of these, the canonical one
            // leaves them to it (an escape, an exponent, too deep, or not an
            // envelope at all).
            assert!(
                EnvelopeHead::decode_canonical(&text).is_none(),
                "{name}: {value}"
            );
        }
        // Every byte of the stored text changed, dropped, or preceded by
        // another: wherever the canonical reader still reads a head, it is
        // the general reader's.
        let mut read = 0;
        let bytes = stored.as_bytes();
        for i in 0..bytes.len() {
            for b in b"\"\\{}[],:0-.e a\n".iter().copied() {
                for mutant in [
                    [&bytes[..i], &[b], &bytes[i + 1..]].concat(),
                    [&bytes[..i], &[b], &bytes[i..]].concat(),
                    [&bytes[..i], &bytes[i + 1..]].concat(),
                ] {
                    if let Ok(text) = std::str::from_utf8(&mutant) {
                        read += usize::from(canonical_agrees(text));
                    }
                }
            }
        }
        assert!(read > 100, "{read}");
    }
}
