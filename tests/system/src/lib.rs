//! System tests of Styrkedja across crates and processes (in `tests/it`)
//! and the cluster benchmark (`benches/cluster.rs`): the harness they share.
//! A three-node nats-server cluster with the permission model, on loopback
//! or in network namespaces, and the checks every fault test ends with.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use styr_access::{Access, Role};
use styr_natsrun::{NatsServer, ServerOptions};
use styr_service::{Kommuner, Outcome, Submission};
use styr_store::{EventStore, KommunId, StoreConfig};

/// A free loopback port below the kernel's ephemeral range (from `styr-testkit`).
pub use styr_testkit::free_port;

pub struct Cluster {
    pub nodes: Vec<NatsServer>,
    access: Access,
    pub dir: tempfile::TempDir,
    hosts: Vec<String>,
}

/// Where a node lives on the network.
pub struct Place {
    /// Its address (clients and routes).
    pub host: String,
    /// Its route port.
    pub route_port: u16,
    /// The network namespace it runs in, if not this process's.
    pub netns: Option<String>,
}

impl Cluster {
    /// Three nats-servers on loopback, each with its own client and route
    /// port and data folder, routed to each other, with the permission model.
    pub async fn start() -> Self {
        let places = (0..3)
            .map(|_| Place {
                host: "127.0.0.1".to_owned(),
                route_port: free_port(),
                netns: None,
            })
            .collect();
        Self::start_at(places).await
    }

    /// Three nats-servers at `places`, routed to each other.
    pub async fn start_at(places: Vec<Place>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let access = Access::load_or_create(&dir.path().join("access")).unwrap();
        let route_list = places
            .iter()
            .map(|p| format!("\"nats-route://{}:{}\"", p.host, p.route_port))
            .collect::<Vec<_>>()
            .join(", ");
        let starts = places.iter().enumerate().map(|(i, place)| {
            let extra = format!(
                "server_name: \"n{i}\"\ncluster {{\n  name: \"styr-test\"\n  listen: \"{}:{}\"\n  routes: [{route_list}]\n}}\n{}",
                place.host,
                place.route_port,
                access.server_config()
            );
            let mut options =
                ServerOptions::new(dir.path().join(format!("n{i}"))).with_config(extra);
            options.host.clone_from(&place.host);
            options.netns.clone_from(&place.netns);
            NatsServer::start(options)
        });
        let nodes = futures::future::join_all(starts)
            .await
            .into_iter()
            .map(|n| n.expect("a cluster node starts"))
            .collect();
        Cluster {
            nodes,
            access,
            dir,
            hosts: places.into_iter().map(|p| p.host).collect(),
        }
    }

    /// The service user's URL on node `i`.
    fn url(&self, i: usize) -> String {
        self.access
            .with_role(Role::Service)
            .expect("the service user")
            .url(&self.hosts[i], self.nodes[i].port())
    }

    pub async fn store(&self, i: usize) -> Arc<EventStore> {
        // One service's signing keys, whichever node it writes through.
        let config = StoreConfig {
            replicas: 3,
            keys: Some(self.dir.path().join("keys")),
            ..StoreConfig::default()
        };
        Arc::new(EventStore::connect(&self.url(i), config).await.unwrap())
    }
}

/// Polls `what` until it holds, at most `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits until the decision is answered (a lost acknowledgement during a
/// leader change is an error; the same idempotency key is sent again).
pub async fn submit_until_answered(kommuner: &Kommuner, k: &KommunId, s: &Submission) {
    let start = Instant::now();
    loop {
        match kommuner.submit(k, s.clone()).await {
            Ok(Outcome::Recorded(_) | Outcome::Duplicate(_)) => return,
            Ok(Outcome::Rejected(r)) => panic!("{} rejected: {r}", s.idempotency_key),
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(90),
                    "{} never answered: {e}",
                    s.idempotency_key
                );
                // An election under way: ask again shortly.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Every acknowledged key is in the stream exactly once, as one run of
/// events; nothing else is there; the chain verifies.
pub async fn assert_each_once_and_verified(store: &EventStore, k: &KommunId, acked: &[String]) {
    // Just after a node died a read may time out while the group settles.
    let start = Instant::now();
    let events = loop {
        match store.read(k, 1).await {
            Ok(events) => break events,
            Err(e) => assert!(start.elapsed() < Duration::from_secs(60), "{e}"),
        }
    };
    let mut runs: Vec<&str> = Vec::new();
    for e in &events {
        let key = e.envelope.idempotency_key.as_str();
        if runs.last() != Some(&key) {
            runs.push(key);
        }
    }
    let distinct: BTreeSet<&str> = runs.iter().copied().collect();
    assert_eq!(distinct.len(), runs.len(), "a decision recorded twice");
    for key in acked {
        assert!(
            distinct.contains(key.as_str()),
            "{key} acknowledged but lost"
        );
    }
    let verified = loop {
        match styr_audit::verify_stream(store, k, Default::default()).await {
            Ok(verified) => break verified,
            Err(e) => assert!(start.elapsed() < Duration::from_secs(60), "{e}"),
        }
    };
    assert!(verified.is_ok(), "{verified:?}");
}

/// The node (index) that leads `k`'s stream, waiting at most 30 s for
/// one to be elected.
pub async fn stream_leader(store: &EventStore, k: &KommunId) -> usize {
    let start = Instant::now();
    loop {
        let health = store.stream_health(k).await.ok().flatten();
        if let Some(name) = health.and_then(|h| h.leader).filter(|l| !l.is_empty()) {
            return name[1..].parse().expect("nodes are named n0, n1, n2");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no stream leader within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Cluster {
    /// The service's store on node 0, once the cluster takes an R3 stream
    /// for `k` (the JetStream meta leader is elected first).
    pub async fn r3_store(&self, k: &KommunId) -> Arc<EventStore> {
        let store = self.store(0).await;
        eventually(
            "an R3 stream can be created",
            Duration::from_secs(60),
            || async { store.ensure_stream(k).await.is_ok() },
        )
        .await;
        store
    }
}

/// Waits (at most `limit`) until all three replicas of `k`'s stream are
/// current, at sequence `last` when one is given.
pub async fn all_current(store: &EventStore, k: &KommunId, last: Option<u64>, limit: Duration) {
    eventually("all three replicas current", limit, || async {
        store
            .stream_health(k)
            .await
            .ok()
            .flatten()
            .is_some_and(|h| h.current == 3 && last.is_none_or(|l| h.last_sequence == l))
    })
    .await;
}

/// Projections of `k` read through two connections (two nodes) give the
/// same digest.
pub async fn assert_same_projection(
    dir: &std::path::Path,
    a: &EventStore,
    b: &EventStore,
    k: &KommunId,
) {
    let pa = styr_projections::Projector::open(dir.join("proj-a")).unwrap();
    let pb = styr_projections::Projector::open(dir.join("proj-b")).unwrap();
    pa.catch_up(a, k).await.unwrap();
    pb.catch_up(b, k).await.unwrap();
    assert_eq!(pa.digest(k).unwrap(), pb.digest(k).unwrap());
}
