//! The index a store keeps of one kommun's log — where its chain stands and
//! every idempotency key in it — and the answers a group commit gives from
//! it. No IO here: what is read from or written to the stream arrives as
//! arguments, so every rule is tested without a server.

use std::collections::{HashMap, HashSet};

use async_nats::jetstream::stream;
use bytes::Bytes;
use uuid::Uuid;

use super::{AppendOutcome, Commit};
use crate::chain::{ChainState, KeyInForce, Record};
use crate::{ChainHash, Decision, KommunId, StoreError};

/// What the store knows of one kommun's log. Loaded from the stream on
/// first use and kept current by appends.
pub(super) struct KommunLog {
    pub(super) kommun: KommunId,
    pub(super) stream: Option<stream::Stream>,
    pub(super) chain: ChainState,
    /// The keys recorded in memory: all of them, or those after
    /// `archived_through` when the log resumed from a snapshot.
    pub(super) commits: HashMap<String, Commit>,
    /// Where keys recorded through `archived_through` are looked up.
    pub(super) archive: Option<std::sync::Arc<dyn super::CommitArchive>>,
    pub(super) archived_through: u64,
}

/// A batch as it was published: the commits it holds in order (the
/// store's own key decision first, when there is one) and where the chain
/// ends after it.
pub(super) struct Published<'a> {
    /// Idempotency key and event ids of each decision in the batch.
    pub(super) commits: Vec<(&'a str, &'a [Uuid])>,
    /// Hash of the batch's last event.
    pub(super) head: ChainHash,
    /// The key the batch published and put in force, if it did.
    pub(super) new_key: Option<KeyInForce>,
}

impl KommunLog {
    pub(super) fn new(kommun: &KommunId) -> Self {
        KommunLog {
            kommun: kommun.clone(),
            stream: None,
            chain: ChainState::genesis(kommun),
            commits: HashMap::new(),
            archive: None,
            archived_through: 0,
        }
    }

    /// The commit recorded under `key`: in memory, or in the archive as
    /// far as it is vouched for.
    pub(super) fn known(&self, key: &str) -> Result<Option<Commit>, StoreError> {
        if let Some(c) = self.commits.get(key) {
            return Ok(Some(c.clone()));
        }
        match &self.archive {
            Some(archive) if self.archived_through > 0 => Ok(archive
                .commit(&self.kommun, key)?
                .filter(|c| c.last_sequence <= self.archived_through)),
            _ => Ok(None),
        }
    }

    /// The stream's last sequence as far as the log has read it.
    pub(super) fn head(&self) -> u64 {
        self.chain.next - 1
    }

    /// Takes the next messages of the stream into the index, classified as
    /// one run. A foreign message is skipped (and logged by the chain); it
    /// never stops the log.
    pub(super) fn absorb_run(&mut self, messages: Vec<(u64, Bytes)>) -> Result<(), StoreError> {
        let mut chain = self.chain.clone();
        let records = chain
            .classify_run(messages)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        self.take_classified(&records, &chain)
    }

    /// Takes messages another reader of the stream has classified —
    /// consecutive `records`, and `after`, where the chain stands after them
    /// — if they continue the index exactly (classification is
    /// deterministic, so that reader's chain equals this one at the same
    /// sequence); otherwise leaves the index to read the stream itself.
    pub(super) fn take_classified(
        &mut self,
        records: &[Record],
        after: &ChainState,
    ) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(());
        };
        if first.sequence() != self.chain.next
            || after.next != last.sequence() + 1
            || after.kommun != self.kommun
        {
            return Ok(());
        }
        // All or nothing: the run's commits are worked out aside and taken
        // only if every one of them holds.
        let mut taken: HashMap<&str, Commit> = HashMap::new();
        for record in records {
            let Record::Event(event) = record else {
                continue;
            };
            let key = event.envelope.idempotency_key.as_str();
            let known = match taken.get(key) {
                Some(c) => Some(c.clone()),
                None => self.known(key)?,
            };
            let commit = match known {
                Some(mut c) if c.last_sequence + 1 == event.sequence => {
                    c.last_sequence = event.sequence;
                    c.event_ids.push(event.envelope.event_id);
                    c
                }
                Some(_) => {
                    return Err(StoreError::Corrupt {
                        sequence: event.sequence,
                        reason: format!("idempotency key {key:?} appears in two separate commits"),
                    })
                }
                None => Commit {
                    idempotency_key: key.to_owned(),
                    first_sequence: event.sequence,
                    last_sequence: event.sequence,
                    event_ids: vec![event.envelope.event_id],
                },
            };
            taken.insert(key, commit);
        }
        self.commits
            .extend(taken.into_iter().map(|(k, c)| (k.to_owned(), c)));
        self.chain = after.clone();
        Ok(())
    }

    /// The decisions of a group that go in its batch, by index: those whose
    /// key is not recorded yet, each key once (a repeat within the group is
    /// answered as a duplicate of its first).
    pub(super) fn fresh(&self, decisions: &[Decision]) -> Result<Vec<usize>, StoreError> {
        let mut seen = HashSet::new();
        let mut fresh = Vec::new();
        for (i, d) in decisions.iter().enumerate() {
            let key = d.idempotency_key.as_str();
            if self.known(key)?.is_none() && seen.insert(key) {
                fresh.push(i);
            }
        }
        Ok(fresh)
    }

    /// The answer to each decision of a group, in order. `batch` holds the
    /// indices that were published with `ids` their event ids; a decision
    /// recorded with exactly those ids is `Appended`, one recorded otherwise
    /// a `Duplicate`, and one not recorded a `Conflict` (at `conflict`, or
    /// the log's head).
    pub(super) fn answer(
        &self,
        decisions: &[Decision],
        expected: u64,
        batch: &[usize],
        ids: &[Vec<Uuid>],
        conflict: Option<u64>,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        decisions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let slot = batch.iter().position(|&b| b == i);
                Ok(match (self.known(&d.idempotency_key)?, slot) {
                    (Some(c), Some(s)) if c.event_ids == ids[s] => AppendOutcome::Appended(c),
                    (Some(c), _) => AppendOutcome::Duplicate(c),
                    (None, _) => AppendOutcome::Conflict {
                        expected,
                        actual: conflict.unwrap_or_else(|| self.head()),
                    },
                })
            })
            .collect()
    }

    /// Takes an acknowledged batch into the index: its commits at the
    /// sequences after `expected`, through `last`, and the chain's new end.
    pub(super) fn record_published(&mut self, expected: u64, last: u64, batch: Published<'_>) {
        let mut next = expected + 1;
        for (key, event_ids) in batch.commits {
            let len = event_ids.len() as u64;
            self.commits.insert(
                key.to_owned(),
                Commit {
                    idempotency_key: key.to_owned(),
                    first_sequence: next,
                    last_sequence: next + len - 1,
                    event_ids: event_ids.to_vec(),
                },
            );
            next += len;
        }
        self.chain.next = last + 1;
        self.chain.chained = last;
        self.chain.head = batch.head;
        if let Some(key) = batch.new_key {
            self.chain.key = Some(key);
        }
    }
}

#[cfg(test)]
pub(in crate::store) mod tests {
    use super::*;
    use crate::{AggregateRef, DecidedBy, NewEvent, Provenance};

    /// A decision of `events` events under `key` (the store's unit tests').
    pub(in crate::store) fn decision(key: &str, events: usize) -> Decision {
        Decision {
            submission_digest: None,
            idempotency_key: key.into(),
            recorded_by: "test".into(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            provenance: Provenance::new(
                DecidedBy::System {
                    component: "test".into(),
                },
                chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            ),
            events: (0..events)
                .map(|i| NewEvent {
                    aggregate: AggregateRef::new("thing", format!("t{i}")),
                    event_type: "Happened".into(),
                    schema_version: 1,
                    payload: serde_json::json!({}),
                })
                .collect(),
        }
    }

    fn log() -> KommunLog {
        KommunLog::new(&KommunId::new("testkommun").expect("a valid id"))
    }

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    #[test]
    fn a_recorded_key_and_a_repeat_within_the_group_stay_out_of_the_batch() {
        let mut log = log();
        let one = ids(1);
        log.record_published(
            0,
            1,
            Published {
                commits: vec![("a", &one)],
                head: ChainHash([1; 32]),
                new_key: None,
            },
        );
        let group = [
            decision("a", 1),
            decision("b", 1),
            decision("b", 1),
            decision("c", 1),
        ];
        assert_eq!(log.fresh(&group).unwrap(), vec![1, 3]);
    }

    #[test]
    fn a_published_batch_is_indexed_at_consecutive_sequences() {
        let mut log = log();
        let (a, b) = (ids(2), ids(3));
        log.record_published(
            4,
            9,
            Published {
                commits: vec![("a", &a), ("b", &b)],
                head: ChainHash([7; 32]),
                new_key: None,
            },
        );
        assert_eq!(log.commits["a"].sequences(), 5..=6);
        assert_eq!(log.commits["b"].sequences(), 7..=9);
        assert_eq!((log.head(), log.chain.chained), (9, 9));
        assert_eq!(log.chain.head, ChainHash([7; 32]));
    }

    #[test]
    fn answers_tell_appended_from_duplicate_from_conflict() {
        let mut log = log();
        let (earlier, mine) = (ids(1), ids(1));
        log.record_published(
            0,
            1,
            Published {
                commits: vec![("old", &earlier)],
                head: ChainHash([1; 32]),
                new_key: None,
            },
        );
        log.record_published(
            1,
            2,
            Published {
                commits: vec![("new", &mine)],
                head: ChainHash([2; 32]),
                new_key: None,
            },
        );
        let group = [decision("old", 1), decision("new", 1), decision("lost", 1)];
        let answers = log
            .answer(&group, 1, &[1, 2], &[mine.clone(), ids(1)], None)
            .unwrap();
        assert!(matches!(&answers[0], AppendOutcome::Duplicate(c) if c.first_sequence == 1));
        assert!(matches!(&answers[1], AppendOutcome::Appended(c) if c.event_ids == mine));
        assert_eq!(
            answers[2],
            AppendOutcome::Conflict {
                expected: 1,
                actual: 2
            }
        );
        // Recorded by someone else with other event ids: a duplicate, not ours.
        let answers = log
            .answer(&group[1..2], 1, &[0], &[ids(1)], Some(5))
            .unwrap();
        assert!(matches!(&answers[0], AppendOutcome::Duplicate(_)));
        let answers = log.answer(&group[2..], 1, &[], &[], Some(5)).unwrap();
        assert_eq!(
            answers[0],
            AppendOutcome::Conflict {
                expected: 1,
                actual: 5
            }
        );
    }
}
