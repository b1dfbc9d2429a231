//! Append throughput of the store beside raw JetStream on the same server in
//! the same run (nats-server with `sync_interval: always`, one fsync per
//! acknowledged write). Prints events/s and the store/raw ratio.
//!
//! Run: `cargo bench -p styr-store --bench append` (STYR_BENCH_N to change the
//! number of appends per scenario).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::header::NATS_EXPECTED_LAST_SEQUENCE;
use async_nats::jetstream;
use chrono::NaiveDate;
use serde_json::json;
use styr_natsrun::{NatsServer, ServerOptions};
use styr_store::{
    AggregateRef, AppendOutcome, DecidedBy, Decision, EventStore, KommunId, NewEvent, Provenance,
    StoreConfig,
};

fn decision(i: usize, events: usize) -> Decision {
    Decision {
        submission_digest: None,
        idempotency_key: format!("bench-{i}"),
        recorded_by: "bench".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::Body {
                body: "kf".into(),
                meeting_date: NaiveDate::from_ymd_opt(2025, 6, 16).unwrap(),
                paragraph: "87".into(),
            },
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        ),
        events: (0..events)
            .map(|j| NewEvent {
                aggregate: AggregateRef::new("goal", format!("g{}", j % 16)),
                event_type: "IndicatorOutcomeRecorded".into(),
                schema_version: 1,
                payload: json!({"indicator": "N01951", "period": 2025, "value": i * 10 + j}),
            })
            .collect(),
    }
}

/// Raw JetStream: one message per event, awaiting each ack, guarded by the
/// expected last sequence like the store's appends.
async fn raw(js: &jetstream::Context, kommun: &KommunId, n: usize) -> Duration {
    let store_cfg = EventStore::with_client(js.client(), StoreConfig::default());
    store_cfg.ensure_stream(kommun).await.unwrap();
    // A payload of the size of a stored envelope (~600 bytes).
    let payload = bytes::Bytes::from(vec![b'x'; 600]);
    let start = Instant::now();
    for i in 0..n {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(NATS_EXPECTED_LAST_SEQUENCE, i.to_string());
        js.publish_with_headers(
            format!("styr.{kommun}.goal.g{}", i % 16),
            headers,
            payload.clone(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    start.elapsed()
}

async fn store(store: &EventStore, kommun: &KommunId, n: usize, per: usize) -> Duration {
    let start = Instant::now();
    let mut head = 0;
    for i in 0..n / per {
        match store.append(kommun, head, decision(i, per)).await.unwrap() {
            AppendOutcome::Appended(c) => head = c.last_sequence,
            other => panic!("{other:?}"),
        }
    }
    start.elapsed()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn line(name: &str, n: usize, d: Duration, base: Option<f64>) -> f64 {
    let r = rate(n, d);
    match base {
        Some(b) => println!("{name:<52} {r:>10.0} events/s   {:>5.2}x raw", r / b),
        None => println!("{name:<52} {r:>10.0} events/s"),
    }
    r
}

/// The allocator the `styr` binary runs with, so that what is measured is what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("STYR_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(ServerOptions::new(dir.path().join("nats")))
        .await
        .unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client.clone());
    let es = Arc::new(EventStore::with_client(
        client.clone(),
        StoreConfig::default(),
    ));
    let k = |s: &str| KommunId::new(s).unwrap();
    println!(
        "nats-server {} sync_interval=always, {n} events per scenario",
        styr_natsrun::NATS_SERVER_VERSION
    );

    let raw1 = line(
        "raw JetStream, 1 writer, 1 event per publish",
        n,
        raw(&js, &k("raw1"), n).await,
        None,
    );
    line(
        "store.append, 1 writer, 1 event per decision",
        n,
        store(&es, &k("st1"), n, 1).await,
        Some(raw1),
    );
    line(
        "store.append, 1 writer, 10 events per decision",
        n,
        store(&es, &k("st10"), n, 10).await,
        Some(raw1),
    );
    line(
        "store.append, 1 writer, 100 events per decision",
        n,
        store(&es, &k("st100"), n, 100).await,
        Some(raw1),
    );

    // Eight kommuner in parallel, one writer each.
    let par = 8;
    let start = Instant::now();
    let tasks: Vec<_> = (0..par)
        .map(|p| {
            let js = js.clone();
            tokio::spawn(async move {
                raw(&js, &KommunId::new(format!("rawp{p}")).unwrap(), n / par).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rawp = line(
        "raw JetStream, 8 kommuner in parallel",
        n,
        start.elapsed(),
        None,
    );
    let start = Instant::now();
    let tasks: Vec<_> = (0..par)
        .map(|p| {
            let es = es.clone();
            tokio::spawn(async move {
                store(&es, &KommunId::new(format!("stp{p}")).unwrap(), n / par, 1).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    line(
        "store.append, 8 kommuner in parallel, 1 event each",
        n,
        start.elapsed(),
        Some(rawp),
    );
    drop(server);
}
