//! The append protocol: a group of decisions prepared as one signed,
//! chained batch, published expecting the kommun's last sequence, and a lost
//! acknowledgement resolved by reading what the stream holds. Also restore
//! (an export's bytes into an empty stream) and key rotation.

use bytes::Bytes;
use chrono::Utc;
use ed25519_dalek::{Signer, SigningKey};
use tracing::Instrument;
use uuid::Uuid;

use super::log::{KommunLog, Published};
use super::wire::{self, BatchError, Prepared};
use super::{AppendOutcome, EventStore, HEADER_ALLOWANCE};
use crate::chain::{key_id, sign_envelope, KeyInForce, KEY_EVENT_TYPE};
use crate::{
    AggregateRef, ChainHash, DecidedBy, Decision, Envelope, KommunId, NewEvent, Provenance,
    StoreError, StoredEvent, MAX_EVENTS_PER_DECISION, SUBJECT_ROOT,
};

/// A lost acknowledgement with nothing stored is sent again this often.
const MAX_ATTEMPTS: u32 = 3;

/// A group's batch, prepared: every event signed and chained, the ids of
/// each decision's events, and the key published first when the kommun had
/// none.
struct Batch {
    prepared: Vec<Prepared>,
    /// Event ids per decision of the batch, in the batch's order.
    ids: Vec<Vec<Uuid>>,
    /// The store's own decision publishing a kommun's first key, with its
    /// event ids.
    key: Option<(Decision, Vec<Uuid>, KeyInForce)>,
    /// Hash of the batch's last event.
    head: ChainHash,
}

impl EventStore {
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
        self.append_checked(kommun, expected, decisions)
            .instrument(span)
            .await
    }

    async fn append_checked(
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
            self.read_into_index(&mut log, Some(expected)).await?;
        }
        // Decisions whose key is recorded, or repeated in this group, are
        // answered from the log after the batch; the rest go in it.
        let fresh = log.fresh(&decisions)?;
        if fresh.is_empty() {
            return log.answer(&decisions, expected, &[], &[], None);
        }
        if expected != log.head() {
            self.read_into_index(&mut log, None).await?;
            return log.answer(&decisions, expected, &[], &[], Some(log.head()));
        }
        if log.stream.is_none() {
            log.stream = Some(self.ensure_stream(kommun).await?);
        }
        let batch = self.prepare_batch(&log, &decisions, &fresh)?;
        self.commit(&mut log, expected, &decisions, &fresh, batch)
            .await
    }

    /// Signs and chains the fresh decisions of a group after the log's
    /// head, with the key the history has in force; a kommun without one
    /// gets its first key published at the start of the batch.
    fn prepare_batch(
        &self,
        log: &KommunLog,
        decisions: &[Decision],
        fresh: &[usize],
    ) -> Result<Batch, StoreError> {
        let kommun = &log.kommun;
        let (signer, key) = match &log.chain.key {
            Some(k) => (self.signing_key(kommun, &k.id)?, None),
            None => {
                let key = self.keys.create(kommun)?;
                let decision = key_decision(&key, None);
                let in_force = KeyInForce {
                    id: key_id(&key.verifying_key()),
                    key: key.verifying_key(),
                };
                (key, Some((decision, in_force)))
            }
        };
        let mut prepared = Vec::new();
        let mut head = log.chain.head;
        let mut sign = |decision: &Decision| -> Result<Vec<Uuid>, StoreError> {
            let p = self.prepare(kommun, head, decision, &signer)?;
            head = p.last().map_or(head, |e| e.hash);
            let ids = p.iter().map(|e| e.event_id).collect();
            prepared.extend(p);
            Ok(ids)
        };
        let key = match key {
            Some((decision, in_force)) => {
                let ids = sign(&decision)?;
                Some((decision, ids, in_force))
            }
            None => None,
        };
        let ids = fresh
            .iter()
            .map(|&i| sign(&decisions[i]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch {
            prepared,
            ids,
            key,
            head,
        })
    }

    /// Publishes a prepared batch expecting the log's head and answers every
    /// decision of the group. A lost acknowledgement is resolved by reading
    /// the stream: stored (by this or an earlier attempt) is an answer; not
    /// stored and the head unmoved is sent again, up to [`MAX_ATTEMPTS`];
    /// a moved head is a conflict for every decision not recorded.
    async fn commit(
        &self,
        log: &mut KommunLog,
        expected: u64,
        decisions: &[Decision],
        fresh: &[usize],
        batch: Batch,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lost = match self.publish(expected, &batch.prepared).await {
                Ok(last) => {
                    let n = batch.prepared.len() as u64;
                    if last != expected + n {
                        return Err(StoreError::Corrupt {
                            sequence: last,
                            reason: format!(
                                "a batch of {n} after sequence {expected} was acknowledged at {last}"
                            ),
                        });
                    }
                    log.record_published(expected, last, published(&batch, decisions, fresh));
                    tracing::debug!(first = expected + 1, last, "appended");
                    return log.answer(decisions, expected, fresh, &batch.ids, None);
                }
                Err(BatchError::Rejected(detail)) => {
                    return Err(StoreError::nats_said("atomic batch publish", detail))
                }
                Err(BatchError::WrongLastSequence) => None,
                Err(BatchError::Lost(detail)) => Some(detail),
            };
            // Find out what the stream holds now, then decide.
            if let Err(e) = self.read_into_index(log, None).await {
                return Err(StoreError::Unresolved {
                    attempts: attempt,
                    detail: format!(
                        "{}; att läsa tillbaka vad strömmen håller misslyckades också: {e}",
                        lost.filter(|l| !l.is_empty())
                            .unwrap_or_else(|| "inget svar på publiceringen".to_owned())
                    ),
                });
            }
            let mut stored = false;
            for &i in fresh {
                stored |= log.known(&decisions[i].idempotency_key)?.is_some();
            }
            if stored {
                tracing::info!(
                    attempt,
                    "an earlier attempt was stored; not appending again"
                );
                return log.answer(decisions, expected, fresh, &batch.ids, None);
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
                _ => return log.answer(decisions, expected, &[], &[], Some(log.head())),
            }
        }
    }

    /// Publishes one atomic batch with this store's connection and timeout.
    async fn publish(&self, expected: u64, events: &[Prepared]) -> Result<u64, BatchError> {
        wire::publish_batch(&self.client, self.config.ack_timeout, expected, events).await
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
        let mut last = 0;
        for chunk in wire::batches(&prepared, 500, 4 << 20) {
            last = match self.publish(last, chunk).await {
                Ok(seq) => seq,
                Err(BatchError::WrongLastSequence) => {
                    return Err(StoreError::NotEmpty {
                        kommun: kommun.to_string(),
                        last: self.last_sequence(kommun).await?,
                    })
                }
                Err(BatchError::Lost(detail) | BatchError::Rejected(detail)) => {
                    return Err(StoreError::nats_said("återställning", detail))
                }
            };
            progress(last);
        }
        Ok(last)
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
        self.read_into_index(&mut log, None).await?;
        if let Some(c) = log.known(&decision.idempotency_key)? {
            return Ok(AppendOutcome::Duplicate(c));
        }
        if log.head() != expected {
            return Ok(AppendOutcome::Conflict {
                expected,
                actual: log.head(),
            });
        }
        let prepared = self.prepare(kommun, log.chain.head, &decision, signer)?;
        let result = self.publish(expected, &prepared).await;
        // Whatever happened, the log learns it from the stream itself.
        self.read_into_index(&mut log, None).await?;
        match (result, log.known(&decision.idempotency_key)?) {
            (_, Some(c)) => Ok(AppendOutcome::Appended(c)),
            (Err(BatchError::Rejected(detail)), None) => {
                Err(StoreError::nats_said("publishing a key", detail))
            }
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

/// What a stored batch adds to the log's index.
fn published<'a>(batch: &'a Batch, decisions: &'a [Decision], fresh: &[usize]) -> Published<'a> {
    let mut commits: Vec<(&str, &[Uuid])> = Vec::with_capacity(fresh.len() + 1);
    if let Some((decision, ids, _)) = &batch.key {
        commits.push((&decision.idempotency_key, ids));
    }
    for (slot, &i) in fresh.iter().enumerate() {
        commits.push((&decisions[i].idempotency_key, &batch.ids[slot]));
    }
    Published {
        commits,
        head: batch.head,
        new_key: batch.key.as_ref().map(|(_, _, k)| k.clone()),
    }
}
