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
    /// The key every event of the batch is signed with (in force after it).
    signed_with: KeyInForce,
    /// Hash of the batch's last event.
    head: ChainHash,
}

/// A group's batch on its way (pipelined group commit): sent and
/// committing, its acknowledgement not yet read. [`EventStore::settle`]
/// reads it and answers the group.
pub struct InFlight {
    kommun: KommunId,
    expected: u64,
    decisions: Vec<Decision>,
    fresh: Vec<usize>,
    batch: Batch,
    ack: wire::Ack,
    /// Committed from an open batch: the server may have discarded it
    /// before the commit came (its idle timeout, or a new leader), and
    /// then refuses the commit with nothing stored.
    from_open: bool,
}

impl InFlight {
    /// The sequence the stream ends at once this batch is stored.
    pub fn last_sequence(&self) -> u64 {
        self.expected + self.batch.prepared.len() as u64
    }

    /// The idempotency keys going in the batch.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fresh
            .iter()
            .map(|&i| self.decisions[i].idempotency_key.as_str())
    }
}

/// A group's batch sent after an [`InFlight`] one, chained to its end, but
/// left open: the server stores none of it until it is committed, which
/// [`EventStore::settle`] does only once its predecessor is recorded whole,
/// and drops it otherwise. A stream's sequence alone cannot tell that the
/// predecessor is what the stream ends with (another writer can reach the
/// same sequence), so nothing chained to an unconfirmed batch is committed.
pub struct Staged {
    expected: u64,
    decisions: Vec<Decision>,
    fresh: Vec<usize>,
    batch: Batch,
    batch_id: String,
}

impl Staged {
    /// The id the server holds the open batch under.
    pub fn batch_id(&self) -> &str {
        &self.batch_id
    }
}

/// What [`EventStore::begin_group`] did with a group.
pub enum Begun {
    /// Nothing to send: every decision is answered (duplicates, or a
    /// conflict the store could already see).
    Answered(Vec<AppendOutcome>),
    /// Sent and committing.
    Sent(Box<InFlight>),
}

/// A settled batch: each decision's outcome, where the chain ends, and the
/// staged successor's fate.
pub struct Settled {
    pub outcomes: Vec<AppendOutcome>,
    /// Where the chain ends after the batch, when the acknowledgement said
    /// this batch was stored as sent and the index has taken it in (only
    /// then does a staged successor commit).
    pub end: Option<ChainEnd>,
    /// The staged successor, committing now; `None` when there was none or
    /// it was dropped (its predecessor was not recorded whole): decide its
    /// decisions again.
    pub next: Option<InFlight>,
}

/// Where a kommun's chain ends after a batch this store published.
#[derive(Debug, Clone)]
pub struct ChainEnd {
    pub last: u64,
    pub head: ChainHash,
    /// The key in force after the batch.
    pub key: KeyInForce,
}

impl ChainEnd {
    /// Moves `chain` (standing where the batch began) to the batch's end.
    pub fn advance(&self, chain: &mut crate::chain::ChainState) {
        chain.next = self.last + 1;
        chain.chained = self.last;
        chain.head = self.head;
        chain.key = Some(self.key.clone());
    }
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
        match self.begin_group(kommun, expected, decisions).await? {
            Begun::Answered(outcomes) => Ok(outcomes),
            Begun::Sent(sent) => Ok(self.settle(*sent, None).await?.outcomes),
        }
    }

    /// The first half of [`EventStore::append_group`]: checks the group,
    /// prepares its batch after the kommun's log and sends it, without
    /// waiting for the acknowledgement — so that the next group can be
    /// decided and staged after it ([`EventStore::stage_after`]) while the
    /// server stores this one. [`EventStore::settle`] answers it.
    pub async fn begin_group(
        &self,
        kommun: &KommunId,
        expected: u64,
        decisions: Vec<Decision>,
    ) -> Result<Begun, StoreError> {
        check_group(&decisions)?;
        let log = self.log(kommun);
        let mut log = log.lock().await;
        if log.stream.is_none() || expected > log.head() {
            self.read_into_index(&mut log, Some(expected)).await?;
        }
        // Decisions whose key is recorded, or repeated in this group, are
        // answered from the log after the batch; the rest go in it.
        let fresh = log.fresh(&decisions)?;
        if fresh.is_empty() {
            return Ok(Begun::Answered(log.answer(
                &decisions,
                expected,
                &[],
                &[],
                None,
            )?));
        }
        if expected != log.head() {
            self.read_into_index(&mut log, None).await?;
            let head = log.head();
            return Ok(Begun::Answered(log.answer(
                &decisions,
                expected,
                &[],
                &[],
                Some(head),
            )?));
        }
        if log.stream.is_none() {
            log.stream = Some(self.ensure_stream(kommun).await?);
        }
        let batch = self.prepare_batch(
            kommun,
            log.chain.head,
            log.chain.key.as_ref(),
            &decisions,
            &fresh,
        )?;
        let ack = match wire::send_batch(
            &self.client,
            self.config.ack_timeout,
            expected,
            &batch.prepared,
        )
        .await
        {
            Ok(ack) => ack,
            // Not all of it reached the connection: settled as a lost
            // acknowledgement (read back, sent again).
            Err(e) => tokio::spawn(async move { Err(e) }),
        };
        Ok(Begun::Sent(Box::new(InFlight {
            kommun: kommun.clone(),
            expected,
            decisions,
            fresh,
            batch,
            ack,
            from_open: false,
        })))
    }

    /// Prepares the next group after `prev` — chained to its last event,
    /// expecting its last sequence, signed with its key — and sends it as an
    /// open batch, before `prev` is acknowledged. `None` when the group
    /// cannot go that way: a key in it is recorded already or goes in `prev`,
    /// or repeats within it (decide it after `prev` is settled instead).
    pub async fn stage_after(
        &self,
        prev: &InFlight,
        decisions: Vec<Decision>,
    ) -> Result<Option<Staged>, StoreError> {
        check_group(&decisions)?;
        let kommun = &prev.kommun;
        let fresh = {
            let log = self.log(kommun);
            let log = log.lock().await;
            log.fresh(&decisions)?
        };
        let in_prev: std::collections::HashSet<&str> = prev.keys().collect();
        if decisions.is_empty()
            || fresh.len() != decisions.len()
            || decisions
                .iter()
                .any(|d| in_prev.contains(d.idempotency_key.as_str()))
        {
            return Ok(None);
        }
        let batch = self.prepare_batch(
            kommun,
            prev.batch.head,
            Some(&prev.batch.signed_with),
            &decisions,
            &fresh,
        )?;
        let expected = prev.last_sequence();
        let batch_id = wire::send_open(&self.client, expected, &batch.prepared)
            .await
            .map_err(|e| StoreError::nats_said("staging a batch", format!("{e:?}")))?;
        Ok(Some(Staged {
            expected,
            decisions,
            fresh,
            batch,
            batch_id,
        }))
    }

    /// Reads a sent batch's acknowledgement and answers its group (a lost
    /// one resolved from what the stream holds, as [`EventStore::append_group`]
    /// does). A staged successor is committed if — and only if — every
    /// decision of this batch was recorded as sent; otherwise it is dropped,
    /// storing nothing, and its decisions are to be decided again.
    pub async fn settle(
        &self,
        mut sent: InFlight,
        next: Option<Staged>,
    ) -> Result<Settled, StoreError> {
        let span = tracing::info_span!("settle", kommun = %sent.kommun, expected = sent.expected);
        let settled = self.settle_one(&mut sent).instrument(span).await;
        let whole = matches!(&settled, Ok(s) if s.end.is_some()
            && s.outcomes.iter().all(|o| matches!(o, AppendOutcome::Appended(_))));
        let Some(staged) = next else {
            return settled;
        };
        let subject = staged
            .batch
            .prepared
            .last()
            .map(|p| p.subject.clone())
            .unwrap_or_default();
        let n = staged.batch.prepared.len();
        if !whole {
            wire::drop_open(&self.client, &subject, &staged.batch_id, n).await;
            return settled;
        }
        let ack = wire::commit_open(
            &self.client,
            self.config.ack_timeout,
            &subject,
            &staged.batch_id,
            n,
        );
        settled.map(|mut s| {
            s.next = Some(InFlight {
                kommun: sent.kommun.clone(),
                expected: staged.expected,
                decisions: staged.decisions,
                fresh: staged.fresh,
                batch: staged.batch,
                ack,
                from_open: true,
            });
            s
        })
    }

    async fn settle_one(&self, sent: &mut InFlight) -> Result<Settled, StoreError> {
        let first = (&mut sent.ack)
            .await
            .unwrap_or_else(|e| Err(BatchError::Lost(e.to_string())));
        let log = self.log(&sent.kommun);
        let mut log = log.lock().await;
        let (outcomes, end) = self.resolve(&mut log, sent, first).await?;
        Ok(Settled {
            outcomes,
            end,
            next: None,
        })
    }

    /// Signs and chains the fresh decisions of a group after `head`, with
    /// `key` (the key in force there); a kommun without one gets its first
    /// key published at the start of the batch.
    fn prepare_batch(
        &self,
        kommun: &KommunId,
        head: ChainHash,
        key: Option<&KeyInForce>,
        decisions: &[Decision],
        fresh: &[usize],
    ) -> Result<Batch, StoreError> {
        let (signer, signed_with, key) = match key {
            Some(k) => (self.signing_key(kommun, &k.id)?, k.clone(), None),
            None => {
                let key = self.keys.create(kommun)?;
                let decision = key_decision(&key, None);
                let in_force = KeyInForce {
                    id: key_id(&key.verifying_key()),
                    key: key.verifying_key(),
                };
                (key, in_force.clone(), Some((decision, in_force)))
            }
        };
        let mut prepared = Vec::new();
        let mut head = head;
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
            signed_with,
            head,
        })
    }

    /// Resolves a sent batch from its first acknowledgement and answers
    /// every decision of the group. A lost acknowledgement is resolved by
    /// reading the stream: stored (by this or an earlier attempt) is an
    /// answer; not stored and the head unmoved is sent again, up to
    /// [`MAX_ATTEMPTS`]; a moved head is a conflict for every decision not
    /// recorded. The chain's end comes with the answer when the batch was
    /// acknowledged as sent.
    async fn resolve(
        &self,
        log: &mut KommunLog,
        sent: &InFlight,
        first: Result<u64, BatchError>,
    ) -> Result<(Vec<AppendOutcome>, Option<ChainEnd>), StoreError> {
        let (expected, decisions, fresh, batch) =
            (sent.expected, &sent.decisions, &sent.fresh, &sent.batch);
        let mut attempt = 0;
        let mut result = first;
        loop {
            attempt += 1;
            let lost = match result {
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
                    tracing::debug!(first = expected + 1, last, "appended");
                    let end = ChainEnd {
                        last,
                        head: batch.head,
                        key: batch.signed_with.clone(),
                    };
                    let indexed = self
                        .index_published(log, expected, last, published(batch, decisions, fresh))
                        .await;
                    return match indexed {
                        Ok(()) => Ok((
                            log.answer(decisions, expected, fresh, &batch.ids, None)?,
                            Some(end),
                        )),
                        Err(e @ StoreError::Corrupt { .. }) => Err(e),
                        // Stored, as the acknowledgement says; the index
                        // catches up at its next read. Not counted as
                        // recorded whole: nothing is committed behind it
                        // (its keys are not in the index yet, so a batch
                        // behind it could take one of them again).
                        Err(e) => {
                            tracing::warn!(error = %e, "acknowledged, but the index could not read it back; answering from what was sent");
                            Ok((answer_sent(log, decisions, expected, fresh, batch)?, None))
                        }
                    };
                }
                // An open batch the server no longer held: nothing stored;
                // sent again whole below if the stream still ends where it
                // expects (its predecessor is recorded).
                Err(BatchError::Rejected(detail)) if sent.from_open && attempt == 1 => {
                    tracing::warn!(%detail, "the staged batch's commit was refused; sending it again whole");
                    Some(detail)
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
                let outcomes = log.answer(decisions, expected, fresh, &batch.ids, None)?;
                return Ok((outcomes, None));
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
                    let head = log.head();
                    let outcomes = log.answer(decisions, expected, &[], &[], Some(head))?;
                    return Ok((outcomes, None));
                }
            }
            result = self.publish(expected, &batch.prepared).await;
        }
    }

    /// Takes an acknowledged batch into the log's index: from what was sent
    /// when the index ends where the batch began, by reading the stream
    /// when the index is elsewhere short of it (nothing when a reader has
    /// already taken it in).
    async fn index_published(
        &self,
        log: &mut KommunLog,
        expected: u64,
        last: u64,
        batch: Published<'_>,
    ) -> Result<(), StoreError> {
        if log.head() == expected {
            log.record_published(expected, last, batch);
        } else if log.head() < last {
            self.read_into_index(log, Some(last)).await?;
        }
        Ok(())
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
                submission_digest: if index == 0 {
                    decision.submission_digest.clone()
                } else {
                    None
                },
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
                    // An export keeps the stored bytes, not the headers.
                    submission_digest: None,
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

/// The answers to a group whose batch was acknowledged, from what was sent
/// (the index could not read it back): the fresh decisions at their places
/// after `expected`, the others duplicates of what the index knows or of
/// their key's first place in the batch.
fn answer_sent(
    log: &KommunLog,
    decisions: &[Decision],
    expected: u64,
    fresh: &[usize],
    batch: &Batch,
) -> Result<Vec<AppendOutcome>, StoreError> {
    let mut next = expected + 1 + batch.key.as_ref().map_or(0, |(_, ids, _)| ids.len() as u64);
    let mut sent = std::collections::HashMap::new();
    for (slot, &i) in fresh.iter().enumerate() {
        let ids = &batch.ids[slot];
        let commit = crate::Commit {
            idempotency_key: decisions[i].idempotency_key.clone(),
            first_sequence: next,
            last_sequence: next + ids.len() as u64 - 1,
            event_ids: ids.clone(),
        };
        next += ids.len() as u64;
        sent.insert(i, commit);
    }
    decisions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if let Some(c) = sent.get(&i) {
                return Ok(AppendOutcome::Appended(c.clone()));
            }
            let first = sent
                .values()
                .find(|c| c.idempotency_key == d.idempotency_key)
                .cloned();
            let known = match first {
                Some(c) => Some(c),
                None => log.known(&d.idempotency_key)?,
            };
            Ok(match known {
                Some(c) => AppendOutcome::Duplicate(c),
                None => AppendOutcome::Conflict {
                    expected,
                    actual: log.head(),
                },
            })
        })
        .collect()
}

/// What every group must hold before anything is sent: each decision
/// valid, at most [`MAX_EVENTS_PER_DECISION`] events in all.
fn check_group(decisions: &[Decision]) -> Result<(), StoreError> {
    for d in decisions {
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
    Ok(())
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
        submission_digest: None,
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

#[cfg(test)]
mod tests {
    use super::super::log::tests::decision;
    use super::*;

    /// Answering from what was sent (the index could not read the batch
    /// back) gives what the index gives once it has it: the first batch of
    /// a kommun (its key first), a key recorded before, a key repeated.
    #[test]
    fn answers_from_what_was_sent_equal_the_indexs() {
        let kommun = KommunId::new("testkommun").expect("a valid id");
        let signer = SigningKey::from_bytes(&[7; 32]);
        let in_force = KeyInForce {
            id: key_id(&signer.verifying_key()),
            key: signer.verifying_key(),
        };
        let key = key_decision(&signer, None);
        let mut log = KommunLog::new(&kommun);
        let earlier = vec![Uuid::now_v7()];
        log.record_published(
            0,
            1,
            super::super::log::Published {
                commits: vec![("old", &earlier)],
                head: ChainHash([1; 32]),
                new_key: None,
            },
        );
        let decisions = vec![
            decision("a", 2),
            decision("old", 1),
            decision("b", 1),
            decision("a", 2),
        ];
        let fresh = log.fresh(&decisions).expect("fresh");
        assert_eq!(fresh, vec![0, 2]);
        let batch = Batch {
            prepared: Vec::new(),
            ids: vec![vec![Uuid::now_v7(), Uuid::now_v7()], vec![Uuid::now_v7()]],
            key: Some((key, vec![Uuid::now_v7()], in_force.clone())),
            signed_with: in_force,
            head: ChainHash([2; 32]),
        };
        let sent = answer_sent(&log, &decisions, 1, &fresh, &batch).expect("answers");
        log.record_published(1, 5, published(&batch, &decisions, &fresh));
        let indexed = log
            .answer(&decisions, 1, &fresh, &batch.ids, None)
            .expect("answers");
        assert_eq!(sent, indexed);
        assert!(matches!(&sent[0], AppendOutcome::Appended(c) if c.sequences() == (3..=4)));
        assert!(matches!(&sent[1], AppendOutcome::Duplicate(c) if c.first_sequence == 1));
        assert!(matches!(&sent[2], AppendOutcome::Appended(c) if c.sequences() == (5..=5)));
        assert!(matches!(&sent[3], AppendOutcome::Duplicate(c) if c.sequences() == (3..=4)));
    }
}
