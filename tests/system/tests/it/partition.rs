//! A network partition: the stream's leader cut off from the other two
//! nodes with nftables while writers on both sides go on, then the network
//! healed. Whatever was acknowledged is stored, nothing twice, and the chain
//! verifies.
//!
//! The test runs itself again inside a network namespace of its own
//! (`unshare --net`), where it makes one namespace per node (`ip netns`),
//! joined to its own by veth pairs and routed through it; the partition is
//! an nftables rule on that forwarding. No traffic leaves those namespaces.
//! It needs root and `unshare`, `ip` and `nft` (CI installs nftables);
//! without them it says so and stops.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use styr_service::{example, Kommuner, Outcome, Submission};
use styr_store::KommunId;

use styr_system_tests::{
    all_current, assert_each_once_and_verified, stream_leader, submit_until_answered,
};
use styr_system_tests::{Cluster, Place};

const INSIDE: &str = "STYR_PARTITION_NETNS";
const NAME: &str = "partition::a_partitioned_leader_acknowledges_nothing_it_cannot_keep";

#[test]
fn a_partitioned_leader_acknowledges_nothing_it_cannot_keep() {
    if std::env::var_os(INSIDE).is_none() {
        let missing: Vec<&str> = [("unshare", "--version"), ("ip", "-V"), ("nft", "--version")]
            .into_iter()
            .filter(|(tool, version)| {
                Command::new(tool)
                    .arg(version)
                    .output()
                    .map_or(true, |o| !o.status.success())
            })
            .map(|(tool, _)| tool)
            .collect();
        if !missing.is_empty() {
            // CI installs them and says so: there, their absence fails.
            assert!(
                std::env::var_os("STYR_REQUIRE_NETNS").is_none(),
                "the partition test needs {}",
                missing.join(", ")
            );
            eprintln!(
                "the partition test needs {} (and root): not run",
                missing.join(", ")
            );
            return;
        }
        let status = Command::new("unshare")
            .args(["--net", "--"])
            .arg(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(INSIDE, "1")
            .status()
            .unwrap();
        assert!(status.success(), "the test inside its namespace: {status}");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(partitioned());
}

/// Runs `cmd` (a shell-free argument list), failing the test with its
/// output if it fails.
fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The nodes' namespaces, removed however the test ends.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Node `i` at 10.77.i.2 in namespace `ns`, its veth's other end (10.77.i.1)
/// here; this namespace forwards between them.
fn wire(i: usize, ns: &str) {
    let (here, there) = (format!("h{i}"), format!("n{i}"));
    run(&["ip", "netns", "add", ns]);
    run(&[
        "ip", "link", "add", &here, "type", "veth", "peer", "name", &there, "netns", ns,
    ]);
    run(&[
        "ip",
        "addr",
        "add",
        &format!("10.77.{i}.1/24"),
        "dev",
        &here,
    ]);
    run(&["ip", "link", "set", &here, "up"]);
    let inside = |args: &[&str]| {
        let mut all = vec!["ip", "netns", "exec", ns];
        all.extend_from_slice(args);
        run(&all);
    };
    inside(&["ip", "link", "set", "lo", "up"]);
    inside(&[
        "ip",
        "addr",
        "add",
        &format!("10.77.{i}.2/24"),
        "dev",
        &there,
    ]);
    inside(&["ip", "link", "set", &there, "up"]);
    inside(&[
        "ip",
        "route",
        "add",
        "default",
        "via",
        &format!("10.77.{i}.1"),
    ]);
}

/// Cuts node `i` off from the other nodes (this namespace still reaches it).
fn cut(i: usize) {
    let net = format!("10.77.{i}.0/24");
    run(&[
        "nft", "add", "rule", "inet", "styr", "forward", "ip", "saddr", &net, "drop",
    ]);
    run(&[
        "nft", "add", "rule", "inet", "styr", "forward", "ip", "daddr", &net, "drop",
    ]);
}

fn heal() {
    run(&["nft", "flush", "chain", "inet", "styr", "forward"]);
}

/// An indicator value of the example, under a key of its own.
fn outcome(template: &Submission, key: String) -> Submission {
    Submission {
        idempotency_key: key,
        ..template.clone()
    }
}

/// Submits once with a deadline; `Some(key)` when acknowledged.
async fn try_once(kommuner: &Kommuner, k: &KommunId, s: &Submission) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(10), kommuner.submit(k, s.clone())).await {
        Ok(Ok(Outcome::Recorded(_) | Outcome::Duplicate(_))) => Some(s.idempotency_key.clone()),
        Ok(Ok(Outcome::Rejected(r))) => panic!("{} rejected: {r}", s.idempotency_key),
        _ => None,
    }
}

async fn partitioned() {
    run(&["ip", "link", "set", "lo", "up"]);
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
    run(&["nft", "add", "table", "inet", "styr"]);
    run(&[
        "nft",
        "add chain inet styr forward { type filter hook forward priority 0 ; }",
    ]);
    let names: Vec<String> = (0..3)
        .map(|i| format!("styr-part-{}-{i}", std::process::id()))
        .collect();
    let _namespaces = Namespaces(names.clone());
    let places = names
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            wire(i, ns);
            Place {
                host: format!("10.77.{i}.2"),
                route_port: 6222,
                netns: Some(ns.clone()),
            }
        })
        .collect();
    let cluster = Cluster::start_at(places).await;
    let k = KommunId::new("vimmerby").unwrap();
    let first = cluster.r3_store(&k).await;
    let decisions = example::vimmerby().unwrap();
    let template = decisions
        .iter()
        .find(|s| s.idempotency_key == "ks-forv-2026-09-01-behoriga")
        .expect("the example records an indicator value")
        .clone();
    let mut acked = Vec::new();
    let kommuner0 = Kommuner::new(first.clone());
    for s in &decisions {
        submit_until_answered(&kommuner0, &k, s).await;
        acked.push(s.idempotency_key.clone());
    }
    let leader = stream_leader(&first, &k).await;
    let majority = (leader + 1) % 3;

    // A writer on the leader's node and one on a majority node.
    let on_leader = Arc::new(Kommuner::new(cluster.store(leader).await));
    let on_majority = Arc::new(Kommuner::new(cluster.store(majority).await));
    // Both have folded the stream and written once: during the cut, the
    // leader's side gets as far as publishing.
    for (kommuner, key) in [(&on_leader, "warm-leader"), (&on_majority, "warm-majority")] {
        let s = outcome(&template, key.to_owned());
        submit_until_answered(kommuner, &k, &s).await;
        acked.push(s.idempotency_key);
    }
    cut(leader);
    let cut_at = Instant::now();
    let (cut_off, go_on) = tokio::join!(
        async {
            let mut acked = Vec::new();
            for i in 0..20 {
                let s = outcome(&template, format!("cut-off-{i}"));
                acked.extend(try_once(&on_leader, &k, &s).await);
            }
            acked
        },
        async {
            let mut acked = Vec::new();
            let mut i = 0;
            // The majority elects a leader of its own and goes on.
            while acked.len() < 30 {
                assert!(
                    cut_at.elapsed() < Duration::from_secs(120),
                    "the majority never took writes"
                );
                let s = outcome(&template, format!("majority-{i}"));
                acked.extend(try_once(&on_majority, &k, &s).await);
                i += 1;
            }
            acked
        }
    );
    // Cut off from its followers, the old leader can commit nothing: it
    // must not have acknowledged anything.
    assert!(
        cut_off.is_empty(),
        "acknowledged while cut off: {cut_off:?}"
    );
    acked.extend(go_on);
    heal();

    // After healing, both writers finish what they began; every
    // acknowledged decision is there once, and the chain verifies.
    for i in 0..20 {
        let s = outcome(&template, format!("cut-off-{i}"));
        submit_until_answered(&on_leader, &k, &s).await;
        acked.push(s.idempotency_key);
    }
    acked.sort();
    acked.dedup();
    let store = cluster.store(majority).await;
    all_current(&store, &k, None, Duration::from_secs(60)).await;
    assert_each_once_and_verified(&store, &k, &acked).await;
}
