//! Test support for every crate's integration tests: a real nats-server with
//! JetStream on a free port, in its own temporary folder, stopped and removed
//! when the value is dropped; and the benches' figure lines
//! (`bench_figure`). Not used outside tests and benches.

pub mod example;

use std::path::PathBuf;
use std::sync::Arc;

use styr_access::{Access, Role};
use styr_natsrun::{NatsServer, ServerOptions};
use styr_store::{EventStore, StoreConfig};

/// Connects to a URL that may carry `user:password@`.
pub async fn connect(url: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    let (address, options) = styr_store::connect_options(url);
    options.connect(address).await
}

/// A free loopback port for a server to listen on, below the kernel's
/// ephemeral range: a port taken from that range (`bind` to port 0) is
/// free only until the next outgoing connection of any process is given
/// it, which happened between a test's choice and its server's start.
/// Below the range nothing is handed out by the kernel; each port is
/// chosen once per process (a counter, from a start that differs between
/// processes) and checked to be bindable.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 10_000;
    let high = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&first| first > LOW + 1_000)
        .unwrap_or(32_768);
    let span = high - LOW;
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (start + n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range ({LOW}-{high})")
}

/// An envelope of `kommun`'s as the store writes one, for tests that make
/// stored bytes by hand: aggregate `thing/<id>`, a system provenance in
/// force from 2026-01-01, fresh ids, recorded now, not signed.
pub fn envelope(
    kommun: &styr_store::KommunId,
    id: &str,
    (event_type, payload): (&str, serde_json::Value),
    idempotency_key: String,
    prev_hash: styr_store::ChainHash,
) -> styr_store::Envelope {
    styr_store::Envelope {
        event_id: uuid::Uuid::now_v7(),
        kommun: kommun.clone(),
        aggregate: styr_store::AggregateRef::new("thing", id),
        event_type: event_type.into(),
        schema_version: 1,
        provenance: styr_store::Provenance::new(
            styr_store::DecidedBy::System {
                component: "test".into(),
            },
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        ),
        recorded_at: chrono::Utc::now(),
        recorded_by: "test".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        idempotency_key,
        prev_hash,
        payload,
        signature: None,
    }
}

pub struct TestNats {
    pub server: NatsServer,
    // Declared after the server so the folder outlives the process using it.
    pub dir: tempfile::TempDir,
    /// The server's users (the shipped permission model).
    pub access: Access,
}

impl TestNats {
    /// Starts the server (installing the pinned nats-server on first use).
    /// `RUST_LOG` turns on tracing output for the test.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`TestNats::start`], the server's options adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerOptions)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let access_dir = dir.path().join("access");
        let mut access = Access::load_or_create(&access_dir).expect("users");
        for name in ["bun-sekreterare", "ks-kansli", "ny-handlaggare"] {
            access.add(&access_dir, name, Role::App).expect("test user");
        }
        let mut options = ServerOptions {
            // As an operator's server would: `styr serve` against it
            // reads /varz to check that it fsyncs every write.
            monitor: true,
            ..ServerOptions::new(dir.path().join("nats"))
        }
        .with_config(access.server_config());
        adjust(&mut options);
        let server = NatsServer::start(options)
            .await
            .expect("nats-server starts");
        TestNats {
            server,
            dir,
            access,
        }
    }

    /// The service's URL (user `styr-service`: everything on the streams).
    pub fn url(&self) -> String {
        self.user_url(styr_access::SERVICE_USER)
    }

    /// A URL with `name`'s credentials (`app`, `revisor`, `styr-api`,
    /// `bun-sekreterare`, `ks-kansli`).
    pub fn user_url(&self, name: &str) -> String {
        self.access
            .user(name)
            .unwrap_or_else(|| panic!("no test user {name}"))
            .url("127.0.0.1", self.server.port())
    }

    /// The server's HTTP monitoring endpoint.
    pub fn monitor_url(&self) -> String {
        self.server
            .monitor_url()
            .expect("the test server serves monitoring")
    }

    /// The server's URL without credentials (refused).
    pub fn anonymous_url(&self) -> String {
        self.server.url()
    }

    /// A connection as `name`.
    pub async fn client_as(&self, name: &str) -> async_nats::Client {
        connect(&self.user_url(name)).await.expect("connect")
    }

    /// A path inside the test's temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A fresh connection's event store (a separate "process" each time).
    pub async fn store(&self) -> EventStore {
        let config = StoreConfig {
            keys: Some(self.path("keys")),
            ..StoreConfig::default()
        };
        EventStore::connect(&self.url(), config)
            .await
            .expect("connect")
    }

    pub async fn shared_store(&self) -> Arc<EventStore> {
        Arc::new(self.store().await)
    }

    /// A connection as the service (`styr-service`).
    pub async fn client(&self) -> async_nats::Client {
        connect(&self.url()).await.expect("connect")
    }

    /// A raw JetStream context, for checks behind the store's back.
    pub async fn js(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client().await)
    }
}

/// A burst of plan queries in flight, each with a reply subject of its own
/// (read with [`count_plan_answers`]).
pub struct PlanBurst {
    replies: async_nats::Subscriber,
    n: usize,
}

/// A burst of `n` plan queries for 2026 to vimmerby: when this returns,
/// every one of them has reached the server (published, then flushed) and
/// one more has been answered.
pub async fn plan_query_burst(client: &async_nats::Client, n: usize) -> PlanBurst {
    const SUBJECT: &str = "styrkedja.api.vimmerby.query";
    const BODY: &str = r#"{"query":{"kind":"plan","year":2026}}"#;
    let inbox = client.new_inbox();
    let replies = client.subscribe(format!("{inbox}.*")).await.unwrap();
    for i in 0..n {
        client
            .publish_with_reply(SUBJECT, format!("{inbox}.{i}"), BODY.into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    let first = client.request(SUBJECT, BODY.into()).await.unwrap();
    assert!(!first.payload.is_empty());
    PlanBurst { replies, n }
}

/// How many of a burst were answered with the plan and how many refused at
/// once ("no responders"); a request with neither within a minute, or
/// answered twice, fails the test.
pub async fn count_plan_answers(burst: PlanBurst) -> (usize, usize) {
    use futures::StreamExt;
    let PlanBurst { mut replies, n } = burst;
    let (mut answered, mut refused) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < n {
        let m = tokio::time::timeout(std::time::Duration::from_secs(60), replies.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {n} requests neither answered nor refused",
                    n - seen.len()
                )
            })
            .expect("the reply subscription ended");
        assert!(
            seen.insert(m.subject.to_string()),
            "two replies to {}",
            m.subject
        );
        if m.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            refused += 1;
        } else {
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            assert_eq!(v["result"]["budget"]["year"], 2026, "{v}");
            answered += 1;
        }
    }
    (answered, refused)
}

/// Records one benchmark figure for the benchmark report (`benches/run`):
/// appends a JSON line `{bench, name, value, unit}` to the file named by
/// `STYR_BENCH_JSON`, if set. Benchmarks print their figures as well.
pub fn bench_figure(bench: &str, name: &str, value: f64, unit: &str) {
    let Ok(path) = std::env::var("STYR_BENCH_JSON") else {
        return;
    };
    let line = serde_json::json!({"bench": bench, "name": name, "value": value, "unit": unit});
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!("kunde inte skriva mätvärdet till {path}: {e}");
    }
}
