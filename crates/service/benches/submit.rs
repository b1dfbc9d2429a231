//! Throughput of decisions through `Kommuner::submit` (decide + group commit)
//! beside raw JetStream on the same server in the same run (fsync always).
//! Single-event decisions (uppdrag status reports), N callers in flight.
//! Run: `cargo bench -p styr-service --bench submit` (STYR_BENCH_N per scenario).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::header::NATS_EXPECTED_LAST_SEQUENCE;
use async_nats::jetstream;
use styr_domain::{DecidedBy, Event, Provenance};
use styr_natsrun::{NatsServer, ServerOptions};
use styr_service::snapshot::{Snapshots, SNAPSHOT_EVERY};
use styr_service::{example, Kommuner, Outcome, Submission};
use styr_store::{AppendOutcome, Decision, EventStore, KommunId, StoreConfig};

fn report(i: usize) -> Submission {
    let body = if i.is_multiple_of(2) { "sn" } else { "bun" };
    serde_json::from_value(serde_json::json!({
        "idempotency_key": format!("bench-{i}"), "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": "2026-06-10", "paragraph": "33"}, "effective_date": "2026-06-10"},
        "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": body, "as_of": "2026-05-31", "status": "ongoing"}
    }))
    .unwrap()
}

async fn raw(js: &jetstream::Context, store: &EventStore, kommun: &KommunId, n: usize) -> Duration {
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
    start.elapsed()
}

/// `n` decisions to `kommun`, `in_flight` callers at a time.
async fn submit(
    k: Arc<Kommuner>,
    kommun: KommunId,
    n: usize,
    in_flight: usize,
    offset: usize,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..in_flight {
        let (k, kommun) = (k.clone(), kommun.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                let o = k.submit(&kommun, report(offset + i)).await.unwrap();
                assert!(matches!(o, Outcome::Recorded(_)), "{o:?}");
                i += in_flight;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

async fn load(k: &Kommuner, kommun: &KommunId) {
    for s in example::vimmerby().unwrap() {
        k.submit(kommun, s).await.unwrap();
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
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
    // Keys in a folder, so that a second store (the restart below) signs
    // with the kommun's key in force.
    let config = StoreConfig {
        keys: Some(dir.path().join("keys")),
        ..StoreConfig::default()
    };
    let store = Arc::new(
        EventStore::connect(&server.url(), config.clone())
            .await
            .unwrap(),
    );
    let js = jetstream::new(store.client().clone());
    let k = Arc::new(Kommuner::new(store.clone()));
    // The same service with each group acknowledged before the next is
    // decided: what pipelining gains, in the same run.
    let unpipelined = Arc::new(Kommuner::new(store.clone()).with_pipeline(false));
    println!(
        "nats-server {} sync_interval=always; {n} single-event decisions per scenario",
        styr_natsrun::NATS_SERVER_VERSION
    );
    println!("(the PostgreSQL bar from DESIGN.md: 5 000/s one writer, 14 000/s eight kommuner)");

    let raw1 = rate(n, raw(&js, &store, &KommunId::new("raw").unwrap(), n).await);
    styr_testkit::bench_figure("submit", "raw_1_writer", raw1, "events/s");
    println!(
        "{:<58} {raw1:>8.0}/s   1.00x",
        "raw JetStream, 1 writer awaiting each ack"
    );
    let mut offset = 0;
    for in_flight in [1, 8, 64, 256] {
        for (service, pipelined) in [(&k, true), (&unpipelined, false)] {
            let kommun =
                KommunId::new(format!("k{in_flight}{}", if pipelined { "" } else { "s" })).unwrap();
            load(service, &kommun).await;
            let r = rate(
                n,
                submit(service.clone(), kommun, n, in_flight, offset).await,
            );
            offset += n;
            let (name, label) = if pipelined {
                (
                    format!("submit_{in_flight}_in_flight"),
                    "pipelined group commit",
                )
            } else {
                (
                    format!("submit_{in_flight}_in_flight_unpipelined"),
                    "group commit, one batch at a time",
                )
            };
            styr_testkit::bench_figure("submit", &name, r, "decisions/s");
            println!(
                "{:<58} {r:>8.0}/s   {:.2}x",
                format!("submit ({label}), {in_flight} in flight, 1 kommun"),
                r / raw1
            );
        }
    }

    // Eight kommuner at once.
    let ks: Vec<KommunId> = (0..8)
        .map(|i| KommunId::new(format!("p{i}")).unwrap())
        .collect();
    let raw_ks: Vec<KommunId> = (0..8)
        .map(|i| KommunId::new(format!("rawp{i}")).unwrap())
        .collect();
    let start = Instant::now();
    let tasks: Vec<_> = raw_ks
        .iter()
        .map(|kommun| {
            let (js, store, kommun) = (js.clone(), store.clone(), kommun.clone());
            tokio::spawn(async move { raw(&js, &store, &kommun, n / 8).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let raw8 = rate(n, start.elapsed());
    styr_testkit::bench_figure("submit", "raw_8_kommuner", raw8, "events/s");
    println!(
        "{:<58} {raw8:>8.0}/s   1.00x",
        "raw JetStream, 8 kommuner, 1 writer each"
    );
    for (service, pipelined) in [(&k, true), (&unpipelined, false)] {
        let ks: Vec<KommunId> = ks
            .iter()
            .map(|kommun| {
                KommunId::new(format!("{kommun}{}", if pipelined { "" } else { "s" })).unwrap()
            })
            .collect();
        for kommun in &ks {
            load(service, kommun).await;
        }
        let start = Instant::now();
        let tasks: Vec<_> = ks
            .iter()
            .map(|kommun| tokio::spawn(submit(service.clone(), kommun.clone(), n / 8, 16, offset)))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        offset += n;
        let r = rate(n, start.elapsed());
        let (name, label) = if pipelined {
            ("submit_8_kommuner_x16", "pipelined")
        } else {
            ("submit_8_kommuner_x16_unpipelined", "one batch at a time")
        };
        styr_testkit::bench_figure("submit", name, r, "decisions/s");
        println!(
            "{:<58} {r:>8.0}/s   {:.2}x",
            format!("submit, 8 kommuner, 16 in flight each ({label})"),
            r / raw8
        );
    }
    restart(&server.url(), config, &k, offset + n).await;
    drop(server);
}

/// The first answer after a restart on a kommun with a long history: a new
/// store and service (nothing in memory) decide one submission, which folds
/// the whole history first; then a second one, warm.
async fn restart(url: &str, config: StoreConfig, k: &Arc<Kommuner>, offset: usize) {
    let events: usize = std::env::var("STYR_BENCH_RESTART_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let kommun = KommunId::new("restart").unwrap();
    load(k, &kommun).await;
    let store = k.store();
    let mut head = store.last_sequence(&kommun).await.unwrap();
    let status = styr_projections::new_event(&Event::UppdragStatusReported(
        styr_domain::UppdragStatusReported {
            uppdrag: "u-2026-01".into(),
            body: "bun".into(),
            as_of: "2026-05-31".parse().unwrap(),
            status: styr_domain::UppdragStatus::Ongoing,
            reason: None,
            comment: None,
        },
    ));
    // One event per decision, as a kommun's history mostly is (status
    // reports, outcomes): one idempotency key per event.
    let decision = |key: String| Decision {
        submission_digest: None,
        idempotency_key: key,
        recorded_by: "bench".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::Body {
                body: "bun".into(),
                meeting_date: "2026-06-10".parse().unwrap(),
                paragraph: "33".into(),
            },
            "2026-06-10".parse().unwrap(),
        ),
        events: vec![status.clone()],
    };
    let history = |i: usize, n: usize| -> Vec<Decision> {
        (0..n)
            .map(|j| decision(format!("history-{i}-{j}")))
            .collect()
    };
    for (i, start) in (0..events).step_by(500).enumerate() {
        for o in store
            .append_group(&kommun, head, history(i, (events - start).min(500)))
            .await
            .unwrap()
        {
            match o {
                AppendOutcome::Appended(c) => head = c.last_sequence,
                other => panic!("{other:?}"),
            }
        }
    }
    let restarted = Arc::new(EventStore::connect(url, config.clone()).await.unwrap());
    let fresh = Kommuner::new(restarted);
    let start = Instant::now();
    let first = fresh.submit(&kommun, report(offset)).await.unwrap();
    let cold = start.elapsed();
    assert!(matches!(first, Outcome::Recorded(_)), "{first:?}");
    let start = Instant::now();
    fresh.submit(&kommun, report(offset + 1)).await.unwrap();
    let warm = start.elapsed();
    styr_testkit::bench_figure("submit", "restart_history_events", head as f64, "events");
    drop(fresh);

    // The same with snapshots: one service folds the history and takes a
    // snapshot, then nearly another snapshot interval of events is
    // recorded behind its back (the worst a restart meets); a new process
    // opens the snapshots folder, resumes and folds only those.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("snapshots");
    {
        let snapshots = Arc::new(Snapshots::open(&path).unwrap());
        let store = Arc::new(EventStore::connect(url, config.clone()).await.unwrap());
        let taking = Kommuner::new(store).with_snapshots(snapshots);
        taking.state(&kommun).await.unwrap();
        assert!(taking.snapshot_at(&kommun).await > 0, "no snapshot taken");
    }
    let behind = (SNAPSHOT_EVERY as usize).saturating_sub(500);
    let mut head = store.last_sequence(&kommun).await.unwrap();
    for (i, start) in (0..behind).step_by(500).enumerate() {
        for o in store
            .append_group(
                &kommun,
                head,
                history(1_000_000 + i, (behind - start).min(500)),
            )
            .await
            .unwrap()
        {
            match o {
                AppendOutcome::Appended(c) => head = c.last_sequence,
                other => panic!("{other:?}"),
            }
        }
    }
    let start = Instant::now();
    let snapshots = Arc::new(Snapshots::open(&path).unwrap());
    let restarted = Arc::new(EventStore::connect(url, config).await.unwrap());
    let fresh = Kommuner::new(restarted).with_snapshots(snapshots);
    let first = fresh.submit(&kommun, report(offset + 2)).await.unwrap();
    let resumed = start.elapsed();
    assert!(matches!(first, Outcome::Recorded(_)), "{first:?}");
    styr_testkit::bench_figure(
        "submit",
        "first_answer_after_restart_snapshot",
        resumed.as_secs_f64() * 1e3,
        "ms",
    );
    println!(
        "{:<58} {:>8.1} ms ({behind} events after the snapshot)",
        format!("  the same from a snapshot, {head} events in the kommun"),
        resumed.as_secs_f64() * 1e3,
    );
    styr_testkit::bench_figure(
        "submit",
        "first_answer_after_restart",
        cold.as_secs_f64() * 1e3,
        "ms",
    );
    println!(
        "{:<58} {:>8.1} ms (the next one {:.1} ms)",
        format!("first decision after a restart, {head} events in the kommun"),
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
}
