//! Styrkedja on one node (R1) and on a three-node cluster (R3), in the same
//! run, beside raw JetStream on each: durable decisions per second, the time
//! writes stop when the stream's leader dies, and the restore rate.
//!
//! Run: `cargo bench -p styr-system-tests --bench cluster`
//! (STYR_BENCH_N decisions per scenario, default 2000; STYR_BENCH_REPEATS,
//! default 3; ranges are min–max over the repeats).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::header::NATS_EXPECTED_LAST_SEQUENCE;
use async_nats::jetstream;
use futures::StreamExt;
use styr_natsrun::{NatsServer, ServerOptions};
use styr_service::{example, Kommuner, Outcome, Submission};
use styr_store::{EventStore, KommunId, StoreConfig};
use styr_system_tests::{all_current, stream_leader, submit_until_answered, Cluster};

fn report(i: usize) -> Submission {
    let body = if i.is_multiple_of(2) { "sn" } else { "bun" };
    serde_json::from_value(serde_json::json!({
        "idempotency_key": format!("bench-{i}"), "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": "2026-06-10", "paragraph": "33"}, "effective_date": "2026-06-10"},
        "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": body, "as_of": "2026-05-31", "status": "ongoing"}
    }))
    .unwrap()
}

/// Raw JetStream: `n` 900-byte publishes, each expecting the last sequence.
async fn raw(store: &EventStore, kommun: &KommunId, n: usize) -> f64 {
    let js = jetstream::new(store.client().clone());
    store.ensure_stream(kommun).await.unwrap();
    let mut head = store.last_sequence(kommun).await.unwrap();
    let payload = bytes::Bytes::from(vec![b'x'; 900]);
    let start = Instant::now();
    for _ in 0..n {
        let mut h = async_nats::HeaderMap::new();
        h.insert(NATS_EXPECTED_LAST_SEQUENCE, head.to_string());
        js.publish_with_headers(format!("styr.{kommun}.raw.x"), h, payload.clone())
            .await
            .unwrap()
            .await
            .unwrap();
        head += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `n` decisions through the service's writer, `in_flight` callers at a time.
async fn submit(
    k: Arc<Kommuner>,
    kommun: &KommunId,
    n: usize,
    in_flight: usize,
    offset: usize,
) -> f64 {
    for s in example::vimmerby().unwrap() {
        k.submit(kommun, s).await.unwrap();
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|w| {
            let (k, kommun) = (k.clone(), kommun.clone());
            tokio::spawn(async move {
                let mut i = w;
                while i < n {
                    let o = k.submit(&kommun, report(offset + i)).await.unwrap();
                    assert!(matches!(o, Outcome::Recorded(_)), "{o:?}");
                    i += in_flight;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A kommun's stored messages, as an export holds them.
async fn messages(store: &EventStore, kommun: &KommunId) -> Vec<(u64, bytes::Bytes)> {
    let stream = store.raw_history(kommun, 1).await.unwrap();
    futures::pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(m) = stream.next().await {
        out.push(m.unwrap());
    }
    out
}

async fn restore(store: &EventStore, kommun: &KommunId, messages: &[(u64, bytes::Bytes)]) -> f64 {
    let start = Instant::now();
    store.restore(kommun, messages, |_| {}).await.unwrap();
    messages.len() as f64 / start.elapsed().as_secs_f64()
}

/// Writes one decision at a time through a node that does not lead; kills
/// the leader; returns how long no decision was acknowledged.
async fn leader_loss(cluster: &mut Cluster, kommun: &KommunId, offset: usize) -> Duration {
    let first = cluster.store(0).await;
    first.ensure_stream(kommun).await.unwrap();
    let k0 = Kommuner::new(first.clone());
    for s in example::vimmerby().unwrap() {
        submit_until_answered(&k0, kommun, &s).await;
    }
    let leader = stream_leader(&first, kommun).await;
    let writer = Kommuner::new(cluster.store((leader + 1) % 3).await);
    submit_until_answered(&writer, kommun, &report(offset)).await;
    cluster.nodes[leader].kill();
    let killed = Instant::now();
    submit_until_answered(&writer, kommun, &report(offset + 1)).await;
    let gap = killed.elapsed();
    cluster.nodes[leader].restart().await.unwrap();
    let last = first.last_sequence(kommun).await.unwrap();
    all_current(&first, kommun, Some(last), Duration::from_secs(60)).await;
    gap
}

fn range(xs: &[f64]) -> String {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(0.0, f64::max);
    format!("{lo:.0}–{hi:.0}")
}

/// The allocator the `styr` binary runs with, so that what is measured is what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("STYR_BENCH_N", 2000);
    let repeats = env("STYR_BENCH_REPEATS", 3);
    let dir = tempfile::tempdir().unwrap();
    let single = NatsServer::start(ServerOptions::new(dir.path().join("single")))
        .await
        .unwrap();
    let r1 = Arc::new(
        EventStore::connect(&single.url(), StoreConfig::default())
            .await
            .unwrap(),
    );
    let mut cluster = Cluster::start().await;
    let r3 = cluster.r3_store(&KommunId::new("warm").unwrap()).await;
    println!(
        "nats-server {} sync_interval=always, loopback; {n} single-event decisions per scenario, {repeats} repeats (min–max)",
        styr_natsrun::NATS_SERVER_VERSION
    );

    let scenarios: [(&str, usize); 2] = [("1 caller", 1), ("64 in flight", 64)];
    let mut rows: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut offset = 0;
    for (name, store) in [("R1, one node", &r1), ("R3, three nodes", &r3)] {
        let mut raws = Vec::new();
        let mut by_scenario: Vec<Vec<f64>> = vec![Vec::new(); scenarios.len()];
        for rep in 0..repeats {
            raws.push(raw(store, &KommunId::new(format!("raw{rep}")).unwrap(), n).await);
            let kommuner = Arc::new(Kommuner::new(store.clone()));
            for (i, (_, in_flight)) in scenarios.iter().enumerate() {
                let kommun = KommunId::new(format!("s{rep}x{in_flight}")).unwrap();
                by_scenario[i].push(submit(kommuner.clone(), &kommun, n, *in_flight, offset).await);
                offset += n;
            }
        }
        rows.push((
            format!("{name}: raw JetStream, 1 writer"),
            raws.clone(),
            raws.clone(),
        ));
        for (i, (scenario, _)) in scenarios.iter().enumerate() {
            rows.push((
                format!("{name}: submit, {scenario}"),
                by_scenario[i].clone(),
                raws.clone(),
            ));
        }
    }
    println!("\n| scenario | decisions/s | vs raw on the same servers |\n|---|---|---|");
    for (name, xs, raws) in &rows {
        let ratios: Vec<f64> = xs.iter().zip(raws).map(|(x, r)| x / r * 100.0).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min) / 100.0;
        let hi = ratios.iter().copied().fold(0.0, f64::max) / 100.0;
        println!("| {name} | {} | {lo:.2}–{hi:.2}× |", range(xs));
    }
    let r1_seq: &Vec<f64> = &rows[1].1;
    let r3_seq: &Vec<f64> = &rows[4].1;
    let r1_64: &Vec<f64> = &rows[2].1;
    let r3_64: &Vec<f64> = &rows[5].1;
    let ratio = |a: &Vec<f64>, b: &Vec<f64>| {
        let xs: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
        (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(0.0, f64::max),
        )
    };
    let (lo, hi) = ratio(r3_seq, r1_seq);
    println!("\nR3 / R1, 1 caller: {lo:.2}–{hi:.2}×");
    let (lo, hi) = ratio(r3_64, r1_64);
    println!("R3 / R1, 64 in flight: {lo:.2}–{hi:.2}×");

    // Restore: the largest kommun written above, into fresh streams.
    let source = KommunId::new(format!("s0x{}", scenarios[1].1)).unwrap();
    let export = messages(&r1, &source).await;
    let mut restores: Vec<(String, Vec<f64>)> = Vec::new();
    for (name, store) in [("R1", &r1), ("R3", &r3)] {
        let mut xs = Vec::new();
        for rep in 0..repeats {
            let target = KommunId::new(format!("restored{name}{rep}").to_lowercase()).unwrap();
            xs.push(restore(store, &target, &export).await);
        }
        restores.push((name.to_owned(), xs));
    }
    println!(
        "\n| restore of {} events | events/s |\n|---|---|",
        export.len()
    );
    for (name, xs) in &restores {
        println!("| {name} | {} |", range(xs));
    }

    // Writes after the stream's leader is killed.
    let mut gaps = Vec::new();
    for rep in 0..repeats {
        let kommun = KommunId::new(format!("loss{rep}")).unwrap();
        gaps.push(
            leader_loss(&mut cluster, &kommun, 10_000_000 + rep * 10)
                .await
                .as_secs_f64()
                * 1000.0,
        );
    }
    println!(
        "\nleader killed (SIGKILL) while one caller writes: no decision acknowledged for {} ms",
        range(&gaps)
    );
}
