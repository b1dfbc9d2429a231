//! The event log against a real nats-server.

use std::collections::HashMap;

use crate::common::{assert_chain, decision, kommun, TestNats};
use futures::StreamExt;
use styr_store::{
    AppendOutcome, Begun, ChainState, EventStore, InFlight, StoreError, HEADER_EVENT_TYPE,
};

fn appended(outcome: AppendOutcome) -> styr_store::Commit {
    match outcome {
        AppendOutcome::Appended(c) => c,
        other => panic!("expected Appended, got {other:?}"),
    }
}

#[tokio::test]
async fn appends_a_decision_and_reads_it_back() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");

    let c1 = appended(
        store
            .append(&k, 0, decision("budget-2026", 3))
            .await
            .unwrap(),
    );
    // The kommun's first append publishes its signing key first (sequence 1).
    assert_eq!(c1.sequences(), 2..=4);
    assert_eq!(c1.event_ids.len(), 3);
    let c2 = appended(store.append(&k, 4, decision("uppdrag-1", 1)).await.unwrap());
    assert_eq!(c2.sequences(), 5..=5);

    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 5);
    assert_chain(&k, &events);
    assert_eq!(events[0].envelope.event_type, "SigningKeyPublished");
    let ids: Vec<_> = events.iter().map(|e| e.envelope.event_id).collect();
    assert_eq!(&ids[1..4], &c1.event_ids[..]);
    assert_eq!(events[1].envelope.idempotency_key, "budget-2026");
    assert_eq!(events[1].envelope.payload["index"], 0);
    assert_eq!(events[4].envelope.event_type, "GoalAdopted");
    assert!(events.iter().all(|e| e.envelope.signature.is_some()));
    assert_eq!(store.last_sequence(&k).await.unwrap(), 5);
    // Reading from the middle gives the tail only.
    let tail = store.read(&k, 4).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(store.read(&k, 6).await.unwrap().is_empty());

    // Type, version, id and hash also travel as headers.
    let stream = nats.js().await.get_stream(k.stream_name()).await.unwrap();
    let raw = stream.get_raw_message(2).await.unwrap();
    assert_eq!(
        raw.headers.get(HEADER_EVENT_TYPE).unwrap().as_str(),
        "GoalAdopted"
    );
    assert_eq!(
        raw.headers.get("Nats-Msg-Id").unwrap().as_str(),
        c1.event_ids[0].to_string()
    );
    assert_eq!(
        raw.headers.get("Styr-Event-Hash").unwrap().as_str(),
        events[1].hash.to_hex()
    );
}

#[tokio::test]
async fn stream_is_created_with_the_settled_configuration() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("gotene");
    let mut stream = store.ensure_stream(&k).await.unwrap();
    let config = &stream.info().await.unwrap().config;
    assert_eq!(config.subjects, vec!["styr.gotene.>".to_owned()]);
    assert!(config.deny_delete && config.deny_purge && !config.allow_rollup);
    assert!(config.allow_atomic_publish);
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
}

#[tokio::test]
async fn a_stale_expectation_is_a_conflict_and_stores_nothing() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("are");
    appended(store.append(&k, 0, decision("a", 2)).await.unwrap());

    // Behind the head, ahead of it, and on an empty-stream expectation.
    for expected in [0, 1, 7] {
        let outcome = store
            .append(&k, expected, decision(&format!("b-{expected}"), 5))
            .await
            .unwrap();
        assert_eq!(
            outcome,
            AppendOutcome::Conflict {
                expected,
                actual: 3
            }
        );
    }
    assert_eq!(store.read(&k, 1).await.unwrap().len(), 3);

    // A second process that has not seen the stream fails the server's own
    // check: its batch of five is refused whole.
    let other = nats.store().await;
    let outcome = other.append(&k, 1, decision("c", 5)).await.unwrap();
    assert_eq!(
        outcome,
        AppendOutcome::Conflict {
            expected: 1,
            actual: 3
        }
    );
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_chain(&k, &events);
}

#[tokio::test]
async fn server_refuses_a_batch_with_a_wrong_expectation_from_outside() {
    // Bypass the store's own bookkeeping: a raw atomic batch whose first
    // message expects the wrong sequence stores none of its messages.
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("gallivare");
    appended(store.append(&k, 0, decision("a", 1)).await.unwrap());
    let client = store.client();
    let mut h1 = async_nats::HeaderMap::new();
    h1.insert("Nats-Batch-Id", "raw1");
    h1.insert("Nats-Batch-Sequence", "1");
    h1.insert("Nats-Expected-Last-Sequence", "0");
    let first = client
        .request_with_headers("styr.gallivare.x.y", h1, "one".into())
        .await
        .unwrap();
    let mut h2 = async_nats::HeaderMap::new();
    h2.insert("Nats-Batch-Id", "raw1");
    h2.insert("Nats-Batch-Sequence", "2");
    h2.insert("Nats-Batch-Commit", "1");
    let commit = client
        .request_with_headers("styr.gallivare.x.y", h2, "two".into())
        .await;
    let answer = [first.payload, commit.map(|m| m.payload).unwrap_or_default()].concat();
    assert!(
        String::from_utf8_lossy(&answer).contains("10071"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(store.last_sequence(&k).await.unwrap(), 2);
}

#[tokio::test]
async fn a_retried_command_is_recorded_once() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    let original = appended(
        store
            .append(&k, 0, decision("kf-2025-87", 3))
            .await
            .unwrap(),
    );
    appended(store.append(&k, 4, decision("other", 1)).await.unwrap());

    // Same process, current expectation: duplicate.
    let again = store
        .append(&k, 5, decision("kf-2025-87", 3))
        .await
        .unwrap();
    assert_eq!(again, AppendOutcome::Duplicate(original.clone()));
    // A fresh process (new event ids, so the server's dedupe window cannot
    // help) with the expectation it had before: still the original commit.
    let fresh = nats.store().await;
    let retry = fresh
        .append(&k, 0, decision("kf-2025-87", 3))
        .await
        .unwrap();
    assert_eq!(retry, AppendOutcome::Duplicate(original.clone()));
    let retry = fresh
        .append(&k, 5, decision("kf-2025-87", 3))
        .await
        .unwrap();
    assert_eq!(retry, AppendOutcome::Duplicate(original));
    assert_eq!(store.read(&k, 1).await.unwrap().len(), 5);
}

#[tokio::test]
async fn the_server_refuses_delete_and_purge() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    appended(store.append(&k, 0, decision("a", 3)).await.unwrap());
    let stream = nats.js().await.get_stream(k.stream_name()).await.unwrap();
    assert!(stream.delete_message(2).await.is_err());
    assert!(stream.purge().await.is_err());
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 4);
    assert_chain(&k, &events);
}

#[tokio::test]
async fn bad_input_is_rejected_before_anything_is_appended() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    /// A valid decision with one thing broken.
    fn broken(mutate: impl FnOnce(&mut styr_store::Decision)) -> styr_store::Decision {
        let mut d = decision("bad", 2);
        mutate(&mut d);
        d
    }
    let cases: Vec<(styr_store::Decision, &str)> = vec![
        (broken(|d| d.idempotency_key.clear()), "idempotency_key"),
        (broken(|d| d.recorded_by = " ".into()), "recorded_by"),
        (broken(|d| d.events.clear()), "events"),
        (
            broken(|d| d.events[1].aggregate.id = "a.b".into()),
            "aggregate.id",
        ),
        (
            broken(|d| d.events[0].aggregate.kind = "*".into()),
            "aggregate.kind",
        ),
        (broken(|d| d.events[0].event_type = "".into()), "event_type"),
        (
            broken(|d| {
                d.provenance.decided_by = styr_store::DecidedBy::Body {
                    body: "kf".into(),
                    meeting_date: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                    paragraph: "".into(),
                }
            }),
            "provenance.decided_by.paragraph",
        ),
        (
            broken(|d| d.events[1].payload = serde_json::json!("x".repeat(2_000_000))),
            "händelse 1",
        ),
    ];
    for (d, field) in cases {
        let err = store.append(&k, 0, d).await.unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    assert!(matches!(
        styr_store::KommunId::new("Vimmerby"),
        Err(StoreError::InvalidKommun { .. })
    ));
    assert_eq!(store.last_sequence(&k).await.unwrap(), 0);
}

#[tokio::test]
async fn reads_one_aggregate_and_kommuner_are_separate() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let (a, b) = (kommun("vimmerby"), kommun("gotene"));
    appended(store.append(&a, 0, decision("a1", 3)).await.unwrap());
    appended(store.append(&b, 0, decision("b1", 2)).await.unwrap());
    appended(store.append(&a, 4, decision("a2", 2)).await.unwrap());

    let goal1 = store.read_aggregate(&a, "goal", "goal-1").await.unwrap();
    assert_eq!(
        goal1.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![3, 6]
    );
    assert!(store
        .read_aggregate(&a, "goal", "none")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .read_aggregate(&kommun("nowhere"), "goal", "goal-1")
        .await
        .unwrap()
        .is_empty());
    assert!(store.read(&kommun("nowhere"), 1).await.unwrap().is_empty());
    let eb = store.read(&b, 1).await.unwrap();
    assert_eq!(eb.len(), 3);
    assert_chain(&b, &eb);
    assert_chain(&a, &store.read(&a, 1).await.unwrap());
}

#[tokio::test]
async fn follow_catches_up_then_tails() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    appended(store.append(&k, 0, decision("a", 2)).await.unwrap());
    let mut live = Box::pin(store.follow(&k, ChainState::genesis(&k)).await.unwrap());
    for want in 1..=3 {
        assert_eq!(live.next().await.unwrap().unwrap().sequence(), want);
    }
    appended(store.append(&k, 3, decision("b", 3)).await.unwrap());
    let mut keys = Vec::new();
    for want in 4..=6 {
        let e = live.next().await.unwrap().unwrap().into_event().unwrap();
        assert_eq!(e.sequence, want);
        keys.push(e.envelope.idempotency_key);
    }
    assert_eq!(keys, vec!["b", "b", "b"]);
}

#[tokio::test]
async fn killing_the_server_loses_no_acknowledged_event() {
    let mut nats = TestNats::start().await;
    let k = kommun("vimmerby");
    let mut acked = HashMap::new();
    {
        let store = nats.store().await;
        let mut head = 0;
        for i in 0..40 {
            let c = appended(
                store
                    .append(&k, head, decision(&format!("d{i}"), 1 + i % 3))
                    .await
                    .unwrap(),
            );
            head = c.last_sequence;
            acked.insert(c.idempotency_key.clone(), c);
        }
    }
    nats.server.kill();
    nats.server.restart().await.unwrap();
    let store = nats.store().await;
    let events = store.read(&k, 1).await.unwrap();
    assert_chain(&k, &events);
    for c in acked.values() {
        for (seq, id) in c.sequences().zip(&c.event_ids) {
            let e = &events[seq as usize - 1];
            assert_eq!(&e.envelope.event_id, id);
            assert_eq!(e.envelope.idempotency_key, c.idempotency_key);
        }
    }
    // Every acknowledged event, after the kommun's key at sequence 1.
    let total: usize = acked.values().map(|c| c.event_ids.len()).sum::<usize>() + 1;
    assert_eq!(events.len(), total);
    // And the log goes on from where it was.
    let next = appended(
        store
            .append(&k, total as u64, decision("after", 1))
            .await
            .unwrap(),
    );
    assert_eq!(next.first_sequence, total as u64 + 1);
}

#[tokio::test]
async fn a_lost_acknowledgement_is_resolved_from_what_was_stored() {
    let nats = TestNats::start().await;
    let config = styr_store::StoreConfig {
        ack_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let store = EventStore::connect(&nats.url(), config).await.unwrap();
    let k = kommun("vimmerby");
    appended(store.append(&k, 0, decision("first", 1)).await.unwrap());

    // The server hangs while the batch is in flight: no acknowledgement, and
    // reading back fails too, so the outcome is honestly unknown.
    nats.server.pause().unwrap();
    let outcome = store.append(&k, 2, decision("in-flight", 2)).await;
    assert!(
        matches!(outcome, Err(StoreError::Unresolved { .. })),
        "{outcome:?}"
    );
    // The server wakes up and stores the batch it had been sent. The caller
    // retries the same command: it must not be recorded a second time.
    nats.server.resume().unwrap();
    let retry = store.append(&k, 2, decision("in-flight", 2)).await.unwrap();
    let commit = match retry {
        AppendOutcome::Appended(c) | AppendOutcome::Duplicate(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(commit.sequences(), 3..=4);
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 4);
    assert_chain(&k, &events);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.envelope.idempotency_key == "in-flight")
            .count(),
        2
    );
}

/// A writer that keeps trying until its decision is recorded, re-reading the
/// head on every conflict, as a command handler does.
async fn record(
    store: &EventStore,
    k: &styr_store::KommunId,
    key: String,
    n: usize,
) -> styr_store::Commit {
    let mut expected = store.last_sequence(k).await.unwrap();
    loop {
        match store.append(k, expected, decision(&key, n)).await.unwrap() {
            AppendOutcome::Appended(c) => return c,
            AppendOutcome::Conflict { actual, .. } => expected = actual,
            AppendOutcome::Duplicate(c) => panic!("{key} reported duplicate: {c:?}"),
        }
    }
}

mod concurrency {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
        /// Many writers in several processes (separate connections, separate
        /// in-memory indexes) append to one kommun at once: the history is
        /// gap-free, chained, and holds each decision exactly once, whole.
        #[test]
        fn concurrent_writers_give_one_unbroken_chain(
            sizes in proptest::collection::vec(1usize..6, 4..16),
            processes in 1usize..4,
        ) {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let nats = TestNats::start().await;
                let k = kommun("concurrent");
                let mut stores = Vec::new();
                for _ in 0..processes {
                    stores.push(std::sync::Arc::new(nats.store().await));
                }
                let mut tasks = Vec::new();
                for (i, n) in sizes.iter().copied().enumerate() {
                    let store = stores[i % processes].clone();
                    let k = k.clone();
                    tasks.push(tokio::spawn(async move {
                        record(&store, &k, format!("cmd-{i}"), n).await
                    }));
                }
                let mut commits = Vec::new();
                for t in tasks {
                    commits.push(t.await.unwrap());
                }
                let events = stores[0].read(&k, 1).await.unwrap();
                assert_chain(&k, &events);
                assert_eq!(events.len(), sizes.iter().sum::<usize>() + 1, "the key, then every decision");
                for (i, n) in sizes.iter().enumerate() {
                    let key = format!("cmd-{i}");
                    let seqs: Vec<u64> = events
                        .iter()
                        .filter(|e| e.envelope.idempotency_key == key)
                        .map(|e| e.sequence)
                        .collect();
                    prop_assert_eq!(seqs.len(), *n, "{} recorded {} times", key, seqs.len());
                    // One contiguous batch, where its caller was told.
                    let c = commits.iter().find(|c| c.idempotency_key == key).unwrap();
                    prop_assert_eq!(seqs, c.sequences().collect::<Vec<_>>());
                }
                Ok(())
            })?;
        }
    }
}

fn sent(begun: Begun) -> InFlight {
    match begun {
        Begun::Sent(s) => *s,
        Begun::Answered(o) => panic!("expected a batch on its way, got {o:?}"),
    }
}

fn sequences(outcomes: &[AppendOutcome]) -> Vec<std::ops::RangeInclusive<u64>> {
    outcomes
        .iter()
        .map(|o| appended(o.clone()).sequences())
        .collect()
}

#[tokio::test]
async fn a_staged_batch_commits_after_its_predecessor_and_never_without_it() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("eksjo");

    // From the kommun's first batch: the staged one is chained to its end
    // and signed with the key it publishes (sequence 1).
    let first = sent(
        store
            .begin_group(&k, 0, vec![decision("a", 2)])
            .await
            .unwrap(),
    );
    assert_eq!(first.last_sequence(), 3);
    let staged = store
        .stage_after(&first, vec![decision("b", 1), decision("c", 3)])
        .await
        .unwrap()
        .expect("staged");
    let settled = store.settle(first, Some(staged)).await.unwrap();
    assert_eq!(sequences(&settled.outcomes), vec![2..=3]);
    assert_eq!(settled.end.as_ref().map(|e| e.last), Some(3));
    let second = store
        .settle(settled.next.expect("committed"), None)
        .await
        .unwrap();
    assert_eq!(sequences(&second.outcomes), vec![4..=4, 5..=7]);
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 7);
    assert_chain(&k, &events);

    // A key recorded, or going in the batch before, is not staged.
    let third = sent(
        store
            .begin_group(&k, 7, vec![decision("d", 1)])
            .await
            .unwrap(),
    );
    for key in ["d", "a"] {
        let again = store.stage_after(&third, vec![decision(key, 1)]).await;
        assert!(again.unwrap().is_none(), "{key} staged twice");
    }
    let settled = store.settle(third, None).await.unwrap();
    assert_eq!(sequences(&settled.outcomes), vec![8..=8]);

    // Another writer moves the stream on by one event: the next batch
    // fails its expectation, and the stream now ends at the very sequence
    // the batch staged after it expects. Committing that one would chain it
    // to an event the stream does not hold; it is dropped instead.
    let other = nats.store().await;
    appended(other.append(&k, 8, decision("other", 1)).await.unwrap());
    let stale = sent(
        store
            .begin_group(&k, 8, vec![decision("e", 1)])
            .await
            .unwrap(),
    );
    assert_eq!(stale.last_sequence(), 9);
    let staged = store
        .stage_after(&stale, vec![decision("f", 2)])
        .await
        .unwrap()
        .expect("staged");
    let settled = store.settle(stale, Some(staged)).await.unwrap();
    assert_eq!(
        settled.outcomes,
        vec![AppendOutcome::Conflict {
            expected: 8,
            actual: 9
        }]
    );
    assert!(settled.end.is_none() && settled.next.is_none());
    assert_eq!(store.last_sequence(&k).await.unwrap(), 9);
    // Decided again after the other writer's event, both land once.
    let outcomes = store
        .append_group(&k, 9, vec![decision("e", 1), decision("f", 2)])
        .await
        .unwrap();
    assert_eq!(sequences(&outcomes), vec![10..=10, 11..=12]);
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 12);
    assert_chain(&k, &events);
    let mut keys: Vec<&str> = events
        .iter()
        .map(|e| e.envelope.idempotency_key.as_str())
        .collect();
    keys.dedup();
    // The kommun's signing key first, then each decision once, in order.
    assert!(keys[0].starts_with("key-"), "{keys:?}");
    assert_eq!(keys[1..], ["a", "b", "c", "d", "other", "e", "f"]);
}

/// The server keeps an open batch only so long (its idle timeout; in a
/// cluster, the leader that took it): a staged batch it no longer holds
/// has its commit refused with nothing stored, and is sent again whole.
#[tokio::test]
async fn a_staged_batch_the_server_let_go_of_is_sent_again_whole() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("ydre");
    appended(store.append(&k, 0, decision("a", 1)).await.unwrap());
    let first = sent(
        store
            .begin_group(&k, 2, vec![decision("b", 1)])
            .await
            .unwrap(),
    );
    let staged = store
        .stage_after(&first, vec![decision("c", 2)])
        .await
        .unwrap()
        .expect("staged");
    // The server drops the open batch: a message leaving a gap in it.
    let mut gap = async_nats::HeaderMap::new();
    gap.insert("Nats-Batch-Id", staged.batch_id());
    gap.insert("Nats-Batch-Sequence", "9");
    let client = nats.client().await;
    client
        .publish_with_headers("styr.ydre.goal.goal-0", gap, bytes::Bytes::new())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let settled = store.settle(first, Some(staged)).await.unwrap();
    assert_eq!(sequences(&settled.outcomes), vec![3..=3]);
    let second = store
        .settle(settled.next.expect("committed"), None)
        .await
        .unwrap();
    assert_eq!(sequences(&second.outcomes), vec![4..=5]);
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 5);
    assert_chain(&k, &events);
}

#[tokio::test]
async fn a_group_commit_records_many_decisions_in_one_batch() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    let first = appended(store.append(&k, 0, decision("old", 1)).await.unwrap());
    let group = vec![
        decision("a", 2),
        decision("old", 1),
        decision("b", 1),
        decision("a", 2),
    ];
    let outcomes = store.append_group(&k, 2, group.clone()).await.unwrap();
    let a = match &outcomes[0] {
        AppendOutcome::Appended(c) => c.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(a.sequences(), 3..=4);
    assert_eq!(outcomes[1], AppendOutcome::Duplicate(first));
    assert!(matches!(&outcomes[2], AppendOutcome::Appended(c) if c.sequences() == (5..=5)));
    assert_eq!(
        outcomes[3],
        AppendOutcome::Duplicate(a),
        "a key repeated in the group lands once"
    );
    let events = store.read(&k, 1).await.unwrap();
    assert_eq!(events.len(), 5);
    assert_chain(&k, &events);

    // A stale group: nothing of it is stored; its duplicates are still duplicates.
    let outcomes = store
        .append_group(&k, 1, vec![decision("c", 1), decision("b", 1)])
        .await
        .unwrap();
    assert_eq!(
        outcomes[0],
        AppendOutcome::Conflict {
            expected: 1,
            actual: 5
        }
    );
    assert!(matches!(outcomes[1], AppendOutcome::Duplicate(_)));
    assert_eq!(store.last_sequence(&k).await.unwrap(), 5);
    // More than one batch can hold is refused before anything is sent.
    let big: Vec<_> = (0..3).map(|i| decision(&format!("big-{i}"), 400)).collect();
    assert!(store.append_group(&k, 5, big).await.is_err());
    assert_eq!(store.last_sequence(&k).await.unwrap(), 5);
}

#[tokio::test]
async fn an_event_up_to_the_servers_limit_is_accepted_from_the_first_append() {
    // The limit is the server's (1 MB here), known once connected; a fresh
    // store used at once must not fall back to 64 KiB.
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    let mut d = decision("big", 1);
    d.events[0].payload = serde_json::json!({"text": "x".repeat(200_000)});
    appended(store.append(&k, 0, d).await.unwrap());
}

/// Every record of a read, each one read well.
async fn records(
    read: impl futures::Stream<Item = Result<styr_store::Record, StoreError>>,
) -> Vec<styr_store::Record> {
    read.map(|r| r.unwrap()).collect().await
}

#[tokio::test]
async fn a_known_stretch_reads_as_the_history_does() {
    let nats = TestNats::start().await;
    let store = nats.store().await;
    let k = kommun("vimmerby");
    appended(store.append(&k, 0, decision("a", 3)).await.unwrap());
    appended(store.append(&k, 4, decision("b", 3)).await.unwrap());
    let genesis = ChainState::genesis(&k);
    let whole = records(store.history(&k, genesis.clone()).await.unwrap()).await;
    assert_eq!(whole.len(), 7);
    // From the beginning to a sequence in the middle: ends there.
    let first = records(store.history_between(&k, genesis.clone(), 4).await.unwrap()).await;
    assert_eq!(first, whole[..4]);
    // From where a reader stood after it, to the end.
    let mut state = genesis;
    let raw: Vec<_> = store
        .raw_history(&k, 1)
        .await
        .unwrap()
        .take(4)
        .collect()
        .await;
    for message in raw {
        let (sequence, bytes) = message.unwrap();
        state.classify(sequence, bytes).unwrap();
    }
    let rest = records(store.history_between(&k, state.clone(), 7).await.unwrap()).await;
    assert_eq!(rest, whole[4..]);
    // A stretch that ends before it begins is empty, without a read.
    let none = records(store.history_between(&k, state, 4).await.unwrap()).await;
    assert!(none.is_empty());
}
