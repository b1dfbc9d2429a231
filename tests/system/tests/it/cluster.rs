//! A three-node cluster with R3 kommun streams, the service's writer (its
//! group-commit path, one decision at a time here) writing while the
//! stream's leader is killed with SIGKILL and later restarted, then the
//! whole cluster killed and started again (a process kill: the page cache
//! survives it, so this shows that nothing acknowledged is lost to a crashed
//! server, not that fsync reached the disk).

use std::sync::Arc;
use std::time::{Duration, Instant};

use styr_natsrun::NatsServer;
use styr_service::{example, Kommuner, Submission};
use styr_store::KommunId;
use styr_system_tests::{
    all_current, assert_each_once_and_verified, assert_same_projection, eventually, stream_leader,
    submit_until_answered, Cluster,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_mid_write_loses_nothing_acknowledged() {
    let mut cluster = Cluster::start().await;
    let k = KommunId::new("vimmerby").unwrap();
    let first = cluster.r3_store(&k).await;
    let leader = stream_leader(&first, &k).await;
    let (writer_node, other_node) = match leader {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let store = cluster.store(writer_node).await;
    let kommuner = Arc::new(Kommuner::new(store.clone()));
    let decisions = example::vimmerby().unwrap();
    let (before, after) = decisions.split_at(60);
    let mut acked = Vec::new();
    for s in before {
        submit_until_answered(&kommuner, &k, s).await;
        acked.push(s.idempotency_key.clone());
    }
    all_current(&store, &k, None, Duration::from_secs(30)).await;
    // Leadership may have moved meanwhile: the one to kill is the leader now.
    let leader_now = store.stream_health(&k).await.unwrap().unwrap().leader;
    assert_eq!(
        leader_now.as_deref(),
        Some(format!("n{leader}").as_str()),
        "the leader did not move (the writer is on another node)"
    );

    // The writer goes on submitting — the rest of the example, then more
    // indicator values — and the stream's leader is killed as soon as the
    // writer's next decision is recorded, while it still has plenty to write.
    let mut rest: Vec<Submission> = after.to_vec();
    let outcome = decisions
        .iter()
        .find(|s| s.idempotency_key == "ks-forv-2026-09-01-behoriga")
        .expect("the example records an indicator value")
        .clone();
    rest.extend((0..200).map(|i| Submission {
        idempotency_key: format!("extra-outcome-{i}"),
        ..outcome.clone()
    }));
    let (under_way, mut started) = tokio::sync::watch::channel(false);
    let writer = {
        let (kommuner, k) = (kommuner.clone(), k.clone());
        tokio::spawn(async move {
            for (i, s) in rest.iter().enumerate() {
                submit_until_answered(&kommuner, &k, s).await;
                if i == 0 {
                    let _ = under_way.send(true);
                }
            }
            rest.into_iter()
                .map(|s| s.idempotency_key)
                .collect::<Vec<_>>()
        })
    };
    started.wait_for(|s| *s).await.unwrap();
    assert!(
        !writer.is_finished(),
        "the leader dies while the writer writes"
    );
    cluster.nodes[leader].kill();
    acked.extend(writer.await.unwrap());
    assert_each_once_and_verified(&store, &k, &acked).await;
    let settled = Instant::now();
    let health = loop {
        match store.stream_health(&k).await {
            Ok(Some(h)) => break h,
            Ok(None) => panic!("the stream is gone"),
            Err(e) => assert!(settled.elapsed() < Duration::from_secs(60), "{e}"),
        }
    };
    assert!(health.has_quorum(), "two of three keep quorum: {health:?}");
    assert_ne!(
        health.leader.as_deref(),
        Some(format!("n{leader}").as_str()),
        "another node leads"
    );

    // The dead node comes back and catches up; projections read through two
    // different nodes agree.
    cluster.nodes[leader].restart().await.unwrap();
    let last = store.last_sequence(&k).await.unwrap();
    let back = cluster.store(leader).await;
    all_current(&back, &k, Some(last), Duration::from_secs(60)).await;
    let through_other = cluster.store(other_node).await;
    assert_same_projection(cluster.dir.path(), &store, &through_other, &k).await;

    // The whole cluster killed at once and started again: nothing
    // acknowledged is lost.
    for node in &mut cluster.nodes {
        node.kill();
    }
    let restarts = cluster.nodes.iter_mut().map(NatsServer::restart);
    for r in futures::future::join_all(restarts).await {
        r.unwrap();
    }
    eventually(
        "the stream is back with quorum",
        Duration::from_secs(60),
        || async {
            store
                .stream_health(&k)
                .await
                .ok()
                .flatten()
                .is_some_and(|h| h.has_quorum() && h.last_sequence == last)
        },
    )
    .await;
    assert_each_once_and_verified(&store, &k, &acked).await;
}

/// Pipelined group commit on a replicated stream: with more callers than
/// one group takes, groups are staged as open batches behind the one being
/// replicated and committed by their end-of-batch marker; every decision
/// lands once and the history verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_groups_commit_on_a_replicated_stream() {
    let cluster = Cluster::start().await;
    let k = KommunId::new("vimmerby").unwrap();
    let store = cluster.r3_store(&k).await;
    let kommuner = Arc::new(Kommuner::new(store.clone()));
    let decisions = example::vimmerby().unwrap();
    let mut acked = Vec::new();
    for s in &decisions {
        submit_until_answered(&kommuner, &k, s).await;
        acked.push(s.idempotency_key.clone());
    }
    let outcome = decisions
        .iter()
        .find(|s| s.idempotency_key == "ks-forv-2026-09-01-behoriga")
        .expect("the example records an indicator value")
        .clone();
    let callers: Vec<_> = (0..160)
        .map(|c| {
            let (kommuner, k, outcome) = (kommuner.clone(), k.clone(), outcome.clone());
            tokio::spawn(async move {
                let mut keys = Vec::new();
                for round in 0..3 {
                    let s = Submission {
                        idempotency_key: format!("pipelined-{c}-{round}"),
                        ..outcome.clone()
                    };
                    submit_until_answered(&kommuner, &k, &s).await;
                    keys.push(s.idempotency_key);
                }
                keys
            })
        })
        .collect();
    for caller in callers {
        acked.extend(caller.await.unwrap());
    }
    assert!(
        kommuner.pipelined_groups() > 0,
        "no group was committed behind another"
    );
    assert_each_once_and_verified(&store, &k, &acked).await;
}

/// A follower loses its disk: killed, its JetStream folder wiped, started
/// again after the others wrote on. It catches up to the same stream, and a
/// projection read through it equals one read through the writer's node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_minority_node_catches_up() {
    let mut cluster = Cluster::start().await;
    let k = KommunId::new("vimmerby").unwrap();
    let first = cluster.r3_store(&k).await;
    let leader = stream_leader(&first, &k).await;
    let follower = (leader + 1) % 3;
    let writer_node = (leader + 2) % 3;
    let store = cluster.store(writer_node).await;
    let kommuner = Kommuner::new(store.clone());
    let decisions = example::vimmerby().unwrap();
    let (before, after) = decisions.split_at(50);
    let mut acked = Vec::new();
    for s in before {
        submit_until_answered(&kommuner, &k, s).await;
        acked.push(s.idempotency_key.clone());
    }
    // The follower's disk is lost; the others go on.
    cluster.nodes[follower].kill();
    std::fs::remove_dir_all(cluster.nodes[follower].data_dir().join("jetstream")).unwrap();
    for s in after {
        submit_until_answered(&kommuner, &k, s).await;
        acked.push(s.idempotency_key.clone());
    }
    cluster.nodes[follower].restart().await.unwrap();
    let last = store.last_sequence(&k).await.unwrap();
    let wiped = cluster.store(follower).await;
    all_current(&wiped, &k, Some(last), Duration::from_secs(90)).await;
    // The leader counts its replica current at the head (a lone replica
    // cannot be read by itself: it has no quorum). A projection read through
    // its connection equals one read through the writer's node.
    assert_same_projection(cluster.dir.path(), &store, &wiped, &k).await;
    assert_each_once_and_verified(&wiped, &k, &acked).await;

    // Two of three gone: the stream has lost its quorum, and its health —
    // what `styr health` exits 4 on — says so.
    for i in [leader, writer_node] {
        cluster.nodes[i].kill();
    }
    let start = Instant::now();
    loop {
        let h = styr_service::health::kommun_health(&wiped, None, &k)
            .await
            .unwrap();
        if !h.healthy() {
            assert!(!h.quorum && !h.problem.is_empty(), "{h:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still healthy with two of three gone: {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
