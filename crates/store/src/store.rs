//! The event store: one JetStream stream per kommun, appends as atomic
//! batches guarded by the expected last sequence, reads through ordered
//! consumers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::header::{
    NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE, NATS_EXPECTED_LAST_SEQUENCE,
    NATS_MESSAGE_ID,
};
use async_nats::jetstream::{self, consumer, stream};
use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tracing::Instrument;
use uuid::Uuid;

use ed25519_dalek::{Signer, SigningKey};

use crate::chain::{key_id, sign_envelope, ChainState, KeyInForce, Record, KEY_EVENT_TYPE};
use crate::keys::KeyStore;
use crate::{
    AggregateRef, ChainHash, DecidedBy, Decision, Envelope, KommunId, NewEvent, Provenance,
    StoreError, StoredEvent, MAX_EVENTS_PER_DECISION, SUBJECT_ROOT,
};

/// Header carrying the event type, so subscribers can filter without parsing.
pub const HEADER_EVENT_TYPE: &str = "Styr-Event-Type";
/// Header carrying the event's schema version.
pub const HEADER_SCHEMA_VERSION: &str = "Styr-Schema-Version";
/// Header carrying the event id (also in `Nats-Msg-Id`).
pub const HEADER_EVENT_ID: &str = "Styr-Event-Id";
/// Header carrying the event's chain hash (a convenience; verifiers recompute it).
pub const HEADER_EVENT_HASH: &str = "Styr-Event-Hash";

/// JetStream's error code for a failed expected-last-sequence check.
const ERR_WRONG_LAST_SEQUENCE: u64 = 10071;
/// Room left in a message for headers when checking payload size.
const HEADER_ALLOWANCE: usize = 1024;

/// How the store talks to JetStream.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Replicas per kommun stream: 1 on a single server, 3 in a cluster.
    pub replicas: usize,
    /// How long to wait for a publish acknowledgement before treating it as
    /// lost and resolving the outcome from what was stored.
    pub ack_timeout: Duration,
    /// Where the kommuner's signing keys are kept; `None` keeps them in this
    /// process's memory only (tests and benchmarks).
    pub keys: Option<std::path::PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            replicas: 1,
            ack_timeout: Duration::from_secs(5),
            keys: None,
        }
    }
}

/// Where a decision landed: the sequences of its events in the kommun's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub idempotency_key: String,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub event_ids: Vec<Uuid>,
}

impl Commit {
    pub fn sequences(&self) -> std::ops::RangeInclusive<u64> {
        self.first_sequence..=self.last_sequence
    }
}

/// The outcome of an append. Only a failure to reach or trust the store is an
/// error; these three are answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The decision's events are recorded, in order, at these sequences.
    Appended(Commit),
    /// The kommun's history moved on: it ends at `actual`, not at `expected`.
    /// Nothing was recorded. Re-read, re-decide, try again.
    Conflict { expected: u64, actual: u64 },
    /// The idempotency key was recorded before: this is that original commit,
    /// and nothing new was recorded.
    Duplicate(Commit),
}

/// What the store knows of one kommun's log: where its chain stands and
/// every idempotency key in it. Loaded from the stream on first use and kept
/// current by appends.
struct KommunLog {
    kommun: KommunId,
    stream: Option<stream::Stream>,
    chain: ChainState,
    commits: HashMap<String, Commit>,
}

impl KommunLog {
    /// The stream's last sequence as far as the log has read it.
    fn head(&self) -> u64 {
        self.chain.next - 1
    }

    /// Takes the next message of the stream into the index. A foreign
    /// message is skipped (and logged by the chain); it never stops the log.
    fn absorb(&mut self, sequence: u64, raw: Bytes) -> Result<(), StoreError> {
        let event = match self.chain.classify(sequence, raw)? {
            Record::Event(e) => e,
            Record::Foreign(_) => return Ok(()),
        };
        let key = &event.envelope.idempotency_key;
        match self.commits.get_mut(key) {
            Some(c) if c.last_sequence + 1 == event.sequence => {
                c.last_sequence = event.sequence;
                c.event_ids.push(event.envelope.event_id);
            }
            Some(_) => {
                return Err(StoreError::Corrupt {
                    sequence,
                    reason: format!("idempotency key {key:?} appears in two separate commits"),
                })
            }
            None => {
                self.commits.insert(
                    key.clone(),
                    Commit {
                        idempotency_key: key.clone(),
                        first_sequence: event.sequence,
                        last_sequence: event.sequence,
                        event_ids: vec![event.envelope.event_id],
                    },
                );
            }
        }
        Ok(())
    }
}

/// An event encoded and hashed, ready to publish.
struct Prepared {
    subject: String,
    event_id: Uuid,
    event_type: String,
    schema_version: u32,
    hash: ChainHash,
    bytes: Bytes,
}

enum BatchError {
    /// The expected last sequence did not hold; nothing was stored.
    WrongLastSequence,
    /// No answer: the batch may or may not have been stored.
    Lost(String),
    /// The server refused the batch for another reason; nothing was stored.
    Rejected(String),
}

/// The JetStream event log of Styrkedja.
pub struct EventStore {
    client: async_nats::Client,
    js: jetstream::Context,
    config: StoreConfig,
    keys: KeyStore,
    logs: std::sync::Mutex<HashMap<KommunId, Arc<tokio::sync::Mutex<KommunLog>>>>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// Connects to the NATS server or cluster at `url` (credentials may be
    /// given in it: `nats://user:password@host:port`).
    pub async fn connect(url: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let (address, options) = connect_options(url);
        let url = address.as_str();
        let client = options
            .name("styrkedja")
            .request_timeout(Some(config.ack_timeout))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(Self::with_client(client, config))
    }

    /// Uses an existing connection.
    pub fn with_client(client: async_nats::Client, config: StoreConfig) -> Self {
        let js = jetstream::new(client.clone());
        let keys = match &config.keys {
            Some(dir) => KeyStore::in_dir(dir),
            None => KeyStore::in_memory(),
        };
        EventStore {
            client,
            js,
            config,
            keys,
            logs: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The server's largest message, as it says once connected (read each
    /// time: with a connection still being made it is not known yet, and
    /// the 64 KiB floor applies only then).
    fn max_payload(&self) -> usize {
        self.client.server_info().max_payload.max(64 * 1024)
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The kommun's stream configuration, as the project creates it.
    pub fn stream_config(&self, kommun: &KommunId) -> stream::Config {
        stream::Config {
            name: kommun.stream_name(),
            description: Some(format!("Styrkedja: the decisions of kommun {kommun}")),
            subjects: vec![kommun.subjects()],
            storage: stream::StorageType::File,
            num_replicas: self.config.replicas,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            allow_atomic_publish: true,
            ..Default::default()
        }
    }

    /// Creates the kommun's stream if it does not exist yet (idempotent).
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn ensure_stream(&self, kommun: &KommunId) -> Result<stream::Stream, StoreError> {
        self.js
            .get_or_create_stream(self.stream_config(kommun))
            .await
            .map_err(|e| StoreError::nats("creating the kommun stream", e))
    }

    /// The kommun's stream, if it exists.
    async fn existing_stream(
        &self,
        kommun: &KommunId,
    ) -> Result<Option<stream::Stream>, StoreError> {
        match self.js.get_stream(kommun.stream_name()).await {
            Ok(s) => Ok(Some(s)),
            Err(e)
                if matches!(
                    e.kind(),
                    jetstream::context::GetStreamErrorKind::JetStream(ref js)
                        if js.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::nats("looking up the kommun stream", e)),
        }
    }

    /// Every kommun that has a stream on the server.
    pub async fn kommuner(&self) -> Result<Vec<KommunId>, StoreError> {
        let mut names = self.js.stream_names();
        let mut out = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| StoreError::nats("listing streams", e))?;
            if let Some(k) = name
                .strip_prefix("styr-")
                .and_then(|k| KommunId::new(k).ok())
            {
                out.push(k);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The sequence of the kommun's last event; 0 when it has none.
    pub async fn last_sequence(&self, kommun: &KommunId) -> Result<u64, StoreError> {
        match self.existing_stream(kommun).await? {
            Some(mut s) => last_seq(&mut s).await,
            None => Ok(0),
        }
    }

    fn log(&self, kommun: &KommunId) -> Arc<tokio::sync::Mutex<KommunLog>> {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        logs.entry(kommun.clone())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(KommunLog {
                    kommun: kommun.clone(),
                    stream: None,
                    chain: ChainState::genesis(kommun),
                    commits: HashMap::new(),
                }))
            })
            .clone()
    }

    /// Reads the stream from the log's head up to `until` (or its end) into
    /// the log's index.
    async fn catch_up(&self, log: &mut KommunLog, until: Option<u64>) -> Result<(), StoreError> {
        let head = log.head();
        // Reading never creates a stream: only an append does (a refused
        // submission for a kommun that does not exist leaves no trace).
        let stream = match &mut log.stream {
            Some(s) => s,
            None => match self.existing_stream(&log.kommun).await? {
                Some(s) => log.stream.insert(s),
                None => return Ok(()),
            },
        };
        let last = last_seq(stream).await?;
        let target = until.map_or(last, |u| u.min(last));
        if target <= head {
            return Ok(());
        }
        let stream = stream.clone();
        let messages = raw_messages(&stream, head + 1, Some(target)).await?;
        futures::pin_mut!(messages);
        while let Some(message) = messages.next().await {
            let (sequence, raw) = message?;
            log.absorb(sequence, raw)?;
        }
        if log.head() < target {
            return Err(StoreError::Corrupt {
                sequence: log.head() + 1,
                reason: format!(
                    "the stream reported last sequence {target} but ended at {}",
                    log.head()
                ),
            });
        }
        Ok(())
    }

    /// Where this store last saw the kommun's chain (no reading: after an
    /// append it is the end of that append).
    pub async fn known_chain(&self, kommun: &KommunId) -> ChainState {
        self.log(kommun).lock().await.chain.clone()
    }

    /// Where the kommun's chain stands now (read up to the stream's end):
    /// the last chained event, its hash and the key in force.
    pub async fn chain_head(&self, kommun: &KommunId) -> Result<ChainState, StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        self.catch_up(&mut log, None).await?;
        Ok(log.chain.clone())
    }

    /// The commit recorded under `idempotency_key`, if any (reads the stream
    /// up to its end first).
    pub async fn lookup(
        &self,
        kommun: &KommunId,
        idempotency_key: &str,
    ) -> Result<Option<Commit>, StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        self.catch_up(&mut log, None).await?;
        Ok(log.commits.get(idempotency_key).cloned())
    }

    /// The commits this store has seen recorded under these keys (no
    /// reading: what appends and catch-ups have brought so far).
    pub async fn known_commits(
        &self,
        kommun: &KommunId,
        idempotency_keys: &[&str],
    ) -> Vec<Option<Commit>> {
        let log = self.log(kommun);
        let log = log.lock().await;
        idempotency_keys
            .iter()
            .map(|k| log.commits.get(*k).cloned())
            .collect()
    }

    /// Records a decision's events as one atomic batch at the end of the
    /// kommun's history, provided that history ends at `expected` (0: empty).
    ///
    /// - [`AppendOutcome::Appended`]: recorded, with their sequences;
    /// - [`AppendOutcome::Conflict`]: the history ends elsewhere, nothing recorded;
    /// - [`AppendOutcome::Duplicate`]: the idempotency key was recorded before
    ///   (at any time, not only within the server's dedupe window).
    ///
    /// A lost acknowledgement is resolved by reading what was stored; the
    /// expected-sequence guard makes a resend unable to record twice.
    pub async fn append(
        &self,
        kommun: &KommunId,
        expected: u64,
        decision: Decision,
    ) -> Result<AppendOutcome, StoreError> {
        let mut outcomes = self.append_group(kommun, expected, vec![decision]).await?;
        outcomes.pop().ok_or_else(|| StoreError::Unresolved {
            attempts: 0,
            detail: "no outcome for the decision".into(),
        })
    }

    /// Group commit: records several decisions as **one** atomic batch (one
    /// server commit, one fsync) at the end of the kommun's history, provided
    /// it ends at `expected`. The outcome of each decision, in order:
    /// duplicates are answered and left out of the batch; if the expectation
    /// fails every other decision is a `Conflict`; otherwise all the others
    /// are `Appended` together. At most [`MAX_EVENTS_PER_DECISION`] events in all.
    pub async fn append_group(
        &self,
        kommun: &KommunId,
        expected: u64,
        decisions: Vec<Decision>,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let span = tracing::info_span!(
            "append",
            kommun = %kommun,
            expected,
            decisions = decisions.len(),
        );
        self.append_inner(kommun, expected, decisions)
            .instrument(span)
            .await
    }

    async fn append_inner(
        &self,
        kommun: &KommunId,
        expected: u64,
        decisions: Vec<Decision>,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        for d in &decisions {
            d.check()?;
        }
        let total: usize = decisions.iter().map(|d| d.events.len()).sum();
        if total > MAX_EVENTS_PER_DECISION {
            return Err(StoreError::InvalidField {
                field: "events",
                value: total.to_string(),
                rule: "a group commit records at most 1000 events (one atomic batch)",
            });
        }
        let log = self.log(kommun);
        let mut log = log.lock().await;
        if log.stream.is_none() || expected > log.head() {
            self.catch_up(&mut log, Some(expected)).await?;
        }
        // Decisions whose key is recorded, or repeated in this group, are
        // answered from the log after the batch; the rest go in it.
        let fresh = |log: &KommunLog| -> Vec<usize> {
            let mut seen = std::collections::HashSet::new();
            (0..decisions.len())
                .filter(|&i| {
                    let key = decisions[i].idempotency_key.as_str();
                    !log.commits.contains_key(key) && seen.insert(key)
                })
                .collect()
        };
        let answer =
            |log: &KommunLog, batch: &[usize], ids: &[Vec<Uuid>], conflict: Option<u64>| {
                decisions
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let slot = batch.iter().position(|&b| b == i);
                        match (log.commits.get(&d.idempotency_key), slot, conflict) {
                            (Some(c), Some(s), _) if c.event_ids == ids[s] => {
                                AppendOutcome::Appended(c.clone())
                            }
                            (Some(c), _, _) => AppendOutcome::Duplicate(c.clone()),
                            (None, _, Some(actual)) => AppendOutcome::Conflict { expected, actual },
                            (None, _, None) => AppendOutcome::Conflict {
                                expected,
                                actual: log.head(),
                            },
                        }
                    })
                    .collect::<Vec<_>>()
            };
        let mut batch = fresh(&log);
        if batch.is_empty() {
            return Ok(answer(&log, &[], &[], None));
        }
        if expected != log.head() {
            self.catch_up(&mut log, None).await?;
            return Ok(answer(&log, &[], &[], Some(log.head())));
        }

        if log.stream.is_none() {
            log.stream = Some(self.ensure_stream(kommun).await?);
        }
        // Every event is signed by the key the history has in force; a
        // kommun without one gets its first key published in this batch.
        let (signer, key_decision) = match &log.chain.key {
            Some(k) => (self.signing_key(kommun, &k.id)?, None),
            None => {
                let key = self.keys.create(kommun)?;
                let decision = key_decision(&key, None);
                (key, Some(decision))
            }
        };
        let mut prepared = Vec::with_capacity(total + 1);
        let mut ids: Vec<Vec<Uuid>> = Vec::with_capacity(batch.len());
        let mut prev = log.chain.head;
        let key_commit = match &key_decision {
            Some(d) => {
                let p = self.prepare(kommun, prev, d, &signer)?;
                prev = p.last().map_or(prev, |e| e.hash);
                let ids: Vec<Uuid> = p.iter().map(|e| e.event_id).collect();
                prepared.extend(p);
                Some((d.idempotency_key.clone(), ids))
            }
            None => None,
        };
        for &i in &batch {
            let p = self.prepare(kommun, prev, &decisions[i], &signer)?;
            prev = p.last().map_or(prev, |e| e.hash);
            ids.push(p.iter().map(|e| e.event_id).collect());
            prepared.extend(p);
        }
        const MAX_ATTEMPTS: u32 = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lost = match self.publish_batch(expected, &prepared).await {
                Ok(last) => {
                    let n = prepared.len() as u64;
                    if last != expected + n {
                        return Err(StoreError::Corrupt {
                            sequence: last,
                            reason: format!(
                                "a batch of {n} after sequence {expected} was acknowledged at {last}"
                            ),
                        });
                    }
                    let mut next = expected + 1;
                    if let Some((key, event_ids)) = &key_commit {
                        let len = event_ids.len() as u64;
                        log.commits.insert(
                            key.clone(),
                            Commit {
                                idempotency_key: key.clone(),
                                first_sequence: next,
                                last_sequence: next + len - 1,
                                event_ids: event_ids.clone(),
                            },
                        );
                        next += len;
                    }
                    for (slot, &i) in batch.iter().enumerate() {
                        let len = ids[slot].len() as u64;
                        let commit = Commit {
                            idempotency_key: decisions[i].idempotency_key.clone(),
                            first_sequence: next,
                            last_sequence: next + len - 1,
                            event_ids: ids[slot].clone(),
                        };
                        next += len;
                        log.commits.insert(commit.idempotency_key.clone(), commit);
                    }
                    // The chain now ends with what was just stored.
                    log.chain.next = last + 1;
                    log.chain.chained = last;
                    log.chain.head = prev;
                    if key_decision.is_some() {
                        log.chain.key = Some(KeyInForce {
                            id: key_id(&signer.verifying_key()),
                            key: signer.verifying_key(),
                        });
                    }
                    tracing::debug!(first = expected + 1, last, "appended");
                    return Ok(answer(&log, &batch, &ids, None));
                }
                Err(BatchError::Rejected(detail)) => {
                    return Err(StoreError::Nats {
                        operation: "atomic batch publish",
                        detail,
                    })
                }
                Err(BatchError::WrongLastSequence) => None,
                Err(BatchError::Lost(detail)) => Some(detail),
            };
            // Find out what the stream holds now, then decide.
            if let Err(e) = self.catch_up(&mut log, None).await {
                return Err(StoreError::Unresolved {
                    attempts: attempt,
                    detail: format!(
                        "{}; then reading back failed: {e}",
                        lost.unwrap_or_default()
                    ),
                });
            }
            let stored = batch
                .iter()
                .any(|&i| log.commits.contains_key(&decisions[i].idempotency_key));
            if stored {
                tracing::info!(
                    attempt,
                    "an earlier attempt was stored; not appending again"
                );
                return Ok(answer(&log, &batch, &ids, None));
            }
            match lost {
                Some(detail) if log.head() == expected => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Unresolved {
                            attempts: attempt,
                            detail,
                        });
                    }
                    tracing::warn!(attempt, %detail, "acknowledgement lost and nothing stored; sending again");
                }
                _ => {
                    batch.clear();
                    return Ok(answer(&log, &batch, &ids, Some(log.head())));
                }
            }
        }
    }

    fn prepare(
        &self,
        kommun: &KommunId,
        mut prev: ChainHash,
        decision: &Decision,
        signer: &SigningKey,
    ) -> Result<Vec<Prepared>, StoreError> {
        let recorded_at = Utc::now();
        let mut out = Vec::with_capacity(decision.events.len());
        for (index, event) in decision.events.iter().enumerate() {
            let envelope = Envelope {
                event_id: Uuid::now_v7(),
                kommun: kommun.clone(),
                aggregate: event.aggregate.clone(),
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                provenance: decision.provenance.clone(),
                recorded_at,
                recorded_by: decision.recorded_by.clone(),
                correlation_id: decision.correlation_id,
                causation_id: decision.causation_id,
                idempotency_key: decision.idempotency_key.clone(),
                prev_hash: prev,
                payload: event.payload.clone(),
                signature: None,
            };
            let unsigned = serde_json::to_vec(&envelope).map_err(|e| StoreError::InvalidField {
                field: "payload",
                value: e.to_string(),
                rule: "must encode as JSON",
            })?;
            let bytes = sign_envelope(unsigned, signer);
            let max_payload = self.max_payload();
            if bytes.len() + HEADER_ALLOWANCE > max_payload {
                return Err(StoreError::TooLarge {
                    index,
                    size: bytes.len(),
                    limit: max_payload - HEADER_ALLOWANCE,
                });
            }
            let hash = ChainHash::of_event(&bytes);
            prev = hash;
            out.push(Prepared {
                subject: format!(
                    "{SUBJECT_ROOT}.{kommun}.{}.{}",
                    event.aggregate.kind, event.aggregate.id
                ),
                event_id: envelope.event_id,
                event_type: envelope.event_type,
                schema_version: envelope.schema_version,
                hash,
                bytes: Bytes::from(bytes),
            });
        }
        Ok(out)
    }

    /// Restore: writes a kommun's messages — exactly the stored bytes of an
    /// export, sequences 1, 2, 3, … — into an empty stream, so that every
    /// hash and signature holds as it did. Refuses a stream that already
    /// has messages, and sequences that do not run from 1 without gaps.
    /// Messages go in atomic batches (up to 500 messages, about 4 MiB), each
    /// expecting the previous one's last sequence. Returns the last sequence
    /// written.
    pub async fn restore(
        &self,
        kommun: &KommunId,
        messages: &[(u64, Bytes)],
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StoreError> {
        let existing = self.last_sequence(kommun).await?;
        if existing > 0 {
            return Err(StoreError::NotEmpty {
                kommun: kommun.to_string(),
                last: existing,
            });
        }
        if let Some((i, (s, _))) = messages
            .iter()
            .enumerate()
            .find(|(i, (s, _))| *s != *i as u64 + 1)
        {
            return Err(StoreError::Corrupt {
                sequence: *s,
                reason: format!(
                    "meddelande {} har sekvens {s}; en återställning börjar vid 1 utan luckor",
                    i + 1
                ),
            });
        }
        self.ensure_stream(kommun).await?;
        let prepared: Vec<Prepared> = messages
            .iter()
            .map(|(sequence, raw)| {
                // A message Styrkedja did not write keeps its bytes too, on
                // a subject of its own (its original subject is not in the
                // export).
                let (subject, event_id, event_type, schema_version) =
                    match StoredEvent::decode(*sequence, raw.clone()) {
                        Ok(e) => (
                            format!(
                                "{SUBJECT_ROOT}.{kommun}.{}.{}",
                                e.envelope.aggregate.kind, e.envelope.aggregate.id
                            ),
                            e.envelope.event_id,
                            e.envelope.event_type,
                            e.envelope.schema_version,
                        ),
                        Err(_) => (
                            format!("{SUBJECT_ROOT}.{kommun}.foreign.{sequence}"),
                            Uuid::now_v7(),
                            "Foreign".to_owned(),
                            0,
                        ),
                    };
                Prepared {
                    subject,
                    event_id,
                    event_type,
                    schema_version,
                    hash: ChainHash::of_event(raw),
                    bytes: raw.clone(),
                }
            })
            .collect();
        // Batches of at most 500 messages and about 4 MiB.
        let mut chunks: Vec<&[Prepared]> = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, p) in prepared.iter().enumerate() {
            if i > start && (i - start == 500 || bytes + p.bytes.len() > 4 << 20) {
                chunks.push(&prepared[start..i]);
                (start, bytes) = (i, 0);
            }
            bytes += p.bytes.len();
        }
        if start < prepared.len() {
            chunks.push(&prepared[start..]);
        }
        let mut last = 0;
        for chunk in chunks {
            last = match self.publish_batch(last, chunk).await {
                Ok(seq) => seq,
                Err(BatchError::WrongLastSequence) => {
                    return Err(StoreError::NotEmpty {
                        kommun: kommun.to_string(),
                        last: self.last_sequence(kommun).await?,
                    })
                }
                Err(BatchError::Lost(detail) | BatchError::Rejected(detail)) => {
                    return Err(StoreError::Nats {
                        operation: "återställning",
                        detail,
                    })
                }
            };
            progress(last);
        }
        Ok(last)
    }

    /// Publishes the events as one JetStream atomic batch (hand-rolled: the
    /// client has no batch API). Returns the last stored sequence.
    async fn publish_batch(&self, expected: u64, events: &[Prepared]) -> Result<u64, BatchError> {
        let batch_id = Uuid::now_v7().simple().to_string();
        let n = events.len();
        for (i, event) in events.iter().enumerate() {
            let mut headers = HeaderMap::new();
            headers.insert(NATS_MESSAGE_ID, event.event_id.to_string());
            headers.insert(HEADER_EVENT_ID, event.event_id.to_string());
            headers.insert(HEADER_EVENT_TYPE, event.event_type.as_str());
            headers.insert(HEADER_SCHEMA_VERSION, event.schema_version.to_string());
            headers.insert(HEADER_EVENT_HASH, event.hash.to_hex());
            let first = i == 0;
            let last = i + 1 == n;
            // A single event is atomic by itself: a plain publish (no batch
            // headers) is one fsync cheaper on the server.
            if n > 1 {
                headers.insert(NATS_BATCH_ID, batch_id.as_str());
                headers.insert(NATS_BATCH_SEQUENCE, (i + 1).to_string());
                if last {
                    headers.insert(NATS_BATCH_COMMIT, "1");
                }
            }
            if first {
                headers.insert(NATS_EXPECTED_LAST_SEQUENCE, expected.to_string());
            }
            let subject = event.subject.clone();
            if last {
                let reply = tokio::time::timeout(
                    self.config.ack_timeout,
                    self.client
                        .request_with_headers(subject, headers, event.bytes.clone()),
                )
                .await
                .map_err(|_| BatchError::Lost("no acknowledgement in time".to_owned()))?
                .map_err(|e| BatchError::Lost(e.to_string()))?;
                if last {
                    return parse_ack(&reply.payload);
                }
                if !reply.payload.is_empty() {
                    parse_ack(&reply.payload)?;
                }
            } else {
                self.client
                    .publish_with_headers(subject, headers, event.bytes.clone())
                    .await
                    .map_err(|e| BatchError::Lost(e.to_string()))?;
            }
        }
        Err(BatchError::Rejected("empty batch".to_owned()))
    }

    /// The kommun's stream from `from.next` to its last message at the time
    /// of the call, each message classified against `from` (start with
    /// [`ChainState::genesis`], or go on from a state kept earlier). Ordered
    /// consumer: no round trip per event.
    pub async fn history(
        &self,
        kommun: &KommunId,
        from: ChainState,
    ) -> Result<impl Stream<Item = Result<Record, StoreError>> + Send + 'static, StoreError> {
        let start = from.next;
        Ok(classified(self.raw_history(kommun, start).await?, from))
    }

    /// The raw messages (sequence, stored bytes) of the kommun's stream from
    /// `from` to its last message at the time of the call, unclassified: for
    /// readers that keep their own [`ChainState`].
    pub async fn raw_history(
        &self,
        kommun: &KommunId,
        from: u64,
    ) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError>
    {
        let stream = self.existing_stream(kommun).await?;
        let (stream, last) = match stream {
            Some(mut s) => {
                let last = last_seq(&mut s).await?;
                (Some(s), last)
            }
            None => (None, 0),
        };
        let from = from.max(1);
        Ok(match stream {
            Some(s) if last >= from => raw_messages(&s, from, Some(last)).await?.left_stream(),
            _ => futures::stream::empty().right_stream(),
        })
    }

    /// Like [`raw_history`](Self::raw_history), then live: never ends by itself.
    pub async fn raw_follow(
        &self,
        kommun: &KommunId,
        from: u64,
    ) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError>
    {
        let stream = self.ensure_stream(kommun).await?;
        raw_messages(&stream, from.max(1), None).await
    }

    /// The events of the kommun's history (foreign messages left out) with
    /// sequence `from` or later.
    pub async fn read(&self, kommun: &KommunId, from: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let records = self.history(kommun, ChainState::genesis(kommun)).await?;
        futures::pin_mut!(records);
        let mut out = Vec::new();
        while let Some(r) = records.next().await {
            if let Record::Event(e) = r? {
                if e.sequence >= from {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// Every event of one aggregate, in order (foreign messages left out).
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn read_aggregate(
        &self,
        kommun: &KommunId,
        kind: &str,
        id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        crate::ids::check_token("aggregate.kind", kind)?;
        crate::ids::check_token("aggregate.id", id)?;
        let mut events = self.read(kommun, 1).await?;
        events.retain(|e| e.envelope.aggregate.kind == kind && e.envelope.aggregate.id == id);
        Ok(events)
    }

    /// Follows the kommun live: every message from `from.next` on, first
    /// those already recorded, then each new one as it is recorded, each
    /// classified. Never ends by itself; drop the stream to stop.
    pub async fn follow(
        &self,
        kommun: &KommunId,
        from: ChainState,
    ) -> Result<impl Stream<Item = Result<Record, StoreError>> + Send + 'static, StoreError> {
        let stream = self.ensure_stream(kommun).await?;
        let start = from.next;
        Ok(classified(raw_messages(&stream, start, None).await?, from))
    }

    fn signing_key(&self, kommun: &KommunId, kid: &str) -> Result<SigningKey, StoreError> {
        self.keys.get(kommun, kid)?.ok_or_else(|| StoreError::Key {
            path: self
                .keys
                .dir()
                .map_or_else(|| "(minnet)".to_owned(), |d| d.display().to_string()),
            detail: format!(
                "kommunen {kommun} har nyckeln {kid} i kraft, men den här noden har inte den nyckeln"
            ),
        })
    }

    /// The stored bytes of one message, read from the stream's leader.
    pub async fn raw_message(&self, kommun: &KommunId, sequence: u64) -> Result<Bytes, StoreError> {
        let Some(stream) = self.existing_stream(kommun).await? else {
            return Err(StoreError::Nats {
                operation: "reading a message",
                detail: format!("kommun {kommun} has no stream"),
            });
        };
        let message = stream
            .get_raw_message(sequence)
            .await
            .map_err(|e| StoreError::nats("reading a message", e))?;
        Ok(message.payload)
    }

    /// The key store this store signs with.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Rotates the kommun's signing key: a new key, endorsed by the one in
    /// force, is recorded first; only once it is recorded does the store sign
    /// with it. If recording fails, the old key stays in force (the new key's
    /// file is left unused) and the history stays verifiable. Returns the new
    /// key id.
    pub async fn rotate_key(&self, kommun: &KommunId) -> Result<String, StoreError> {
        for _ in 0..8 {
            let chain = self.chain_head(kommun).await?;
            let Some(current) = chain.key else {
                return Err(StoreError::Key {
                    path: kommun.to_string(),
                    detail: "kommunen har ingen publicerad nyckel att rotera".into(),
                });
            };
            let old = self.signing_key(kommun, &current.id)?;
            let new = self.keys.create(kommun)?;
            let decision = key_decision(&new, Some(&old));
            let new_id = key_id(&new.verifying_key());
            match self
                .append_signed(kommun, chain.next - 1, decision, &new)
                .await?
            {
                AppendOutcome::Appended(_) | AppendOutcome::Duplicate(_) => return Ok(new_id),
                AppendOutcome::Conflict { .. } => continue,
            }
        }
        Err(StoreError::Unresolved {
            attempts: 8,
            detail: format!("kommunen {kommun} ändrades hela tiden under nyckelrotationen"),
        })
    }

    /// Appends one store-made decision (a key rotation) signed with `signer`.
    async fn append_signed(
        &self,
        kommun: &KommunId,
        expected: u64,
        decision: Decision,
        signer: &SigningKey,
    ) -> Result<AppendOutcome, StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        self.catch_up(&mut log, None).await?;
        if let Some(c) = log.commits.get(&decision.idempotency_key) {
            return Ok(AppendOutcome::Duplicate(c.clone()));
        }
        if log.head() != expected {
            return Ok(AppendOutcome::Conflict {
                expected,
                actual: log.head(),
            });
        }
        let prepared = self.prepare(kommun, log.chain.head, &decision, signer)?;
        let result = self.publish_batch(expected, &prepared).await;
        // Whatever happened, the log learns it from the stream itself.
        self.catch_up(&mut log, None).await?;
        match (result, log.commits.get(&decision.idempotency_key)) {
            (_, Some(c)) => Ok(AppendOutcome::Appended(c.clone())),
            (Err(BatchError::Rejected(detail)), None) => Err(StoreError::Nats {
                operation: "publishing a key",
                detail,
            }),
            (Err(BatchError::Lost(detail)), None) => Err(StoreError::Unresolved {
                attempts: 1,
                detail,
            }),
            _ => Ok(AppendOutcome::Conflict {
                expected,
                actual: log.head(),
            }),
        }
    }
}

/// The decision that publishes `key`: a kommun's first key, or a rotation
/// endorsed by `old`.
fn key_decision(key: &SigningKey, old: Option<&SigningKey>) -> Decision {
    let public = key.verifying_key();
    let kid = key_id(&public);
    let mut payload = serde_json::json!({
        "key_id": kid,
        "public_key": hex::encode(public.as_bytes()),
    });
    if let Some(old) = old {
        payload["replaces"] = key_id(&old.verifying_key()).into();
        payload["endorsement"] = hex::encode(old.sign(public.as_bytes()).to_bytes()).into();
    }
    Decision {
        idempotency_key: format!("key-{kid}"),
        recorded_by: "styrkedja".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::System {
                component: "signing".into(),
            },
            Utc::now().date_naive(),
        ),
        events: vec![NewEvent {
            aggregate: AggregateRef::new("signing-key", kid),
            event_type: KEY_EVENT_TYPE.into(),
            schema_version: 1,
            payload,
        }],
    }
}

/// Classifies raw messages in order, starting from `state`.
fn classified(
    raw: impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static,
    state: ChainState,
) -> impl Stream<Item = Result<Record, StoreError>> + Send + 'static {
    raw.scan(state, |state, item| {
        let record = item.and_then(|(sequence, bytes)| state.classify(sequence, bytes));
        futures::future::ready(Some(record))
    })
}

/// Splits `nats://user:password@host:port` into the address and connect
/// options carrying the credentials (the client does not read them from the
/// URL itself) and the user's inbox prefix `_INBOX_<user>`. A URL without
/// credentials gives plain options.
pub fn connect_options(url: &str) -> (String, async_nats::ConnectOptions) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("nats", url));
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            // Each user's replies arrive under its own inbox prefix, the only
            // one it may subscribe to (see the access model).
            (
                format!("{scheme}://{host}"),
                async_nats::ConnectOptions::with_user_and_password(
                    user.to_owned(),
                    password.to_owned(),
                )
                .custom_inbox_prefix(format!("_INBOX_{user}")),
            )
        }
        None => (url.to_owned(), async_nats::ConnectOptions::new()),
    }
}

async fn last_seq(stream: &mut stream::Stream) -> Result<u64, StoreError> {
    Ok(stream
        .info()
        .await
        .map_err(|e| StoreError::nats("reading stream info", e))?
        .state
        .last_sequence)
}

/// Raw messages (sequence, stored bytes) from `from` through an ordered
/// consumer, ending after `until` if given.
async fn raw_messages(
    stream: &stream::Stream,
    from: u64,
    until: Option<u64>,
) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| StoreError::nats("creating an ordered consumer", e))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|e| StoreError::nats("reading the stream", e))?;
    let messages = messages.map(|msg| {
        let msg = msg.map_err(|e| StoreError::nats("reading the stream", e))?;
        let seq = msg
            .info()
            .map_err(|e| StoreError::nats("reading message info", e))?
            .stream_sequence;
        Ok((seq, msg.message.payload.clone()))
    });
    // Stop right after the message at `until`, without waiting for another.
    let count = until.map_or(usize::MAX, |u| (u + 1).saturating_sub(from) as usize);
    let messages = messages.take(count);
    // A bounded read whose next message does not come (a server out of disk,
    // a consumer that cannot be created) ends in an error rather than
    // holding its caller, and the kommun's writer, for ever.
    let stall = until.map(|_| READ_STALL);
    Ok(futures::stream::unfold(
        (Box::pin(messages), false),
        move |(mut messages, done)| async move {
            if done {
                return None;
            }
            let next = match stall {
                Some(limit) => match tokio::time::timeout(limit, messages.next()).await {
                    Ok(next) => next,
                    Err(_) => Some(Err(StoreError::Nats {
                        operation: "reading the stream",
                        detail: format!("no message for {limit:?}"),
                    })),
                },
                None => messages.next().await,
            };
            let failed = matches!(next, Some(Err(_)));
            next.map(|item| (item, (messages, failed)))
        },
    ))
}

/// How long a bounded read waits for its next message.
const READ_STALL: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct AckResponse {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

fn parse_ack(payload: &[u8]) -> Result<u64, BatchError> {
    let ack: AckResponse = serde_json::from_slice(payload).map_err(|e| {
        BatchError::Lost(format!(
            "unreadable acknowledgement ({e}): {}",
            String::from_utf8_lossy(payload)
        ))
    })?;
    match (ack.error, ack.seq) {
        (Some(err), _) if err.err_code == ERR_WRONG_LAST_SEQUENCE => {
            Err(BatchError::WrongLastSequence)
        }
        (Some(err), _) => Err(BatchError::Rejected(format!(
            "{} (JetStream error {})",
            err.description, err.err_code
        ))),
        (None, Some(seq)) => Ok(seq),
        (None, None) => Err(BatchError::Lost(format!(
            "acknowledgement without sequence: {}",
            String::from_utf8_lossy(payload)
        ))),
    }
}
