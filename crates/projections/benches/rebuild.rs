//! Rebuild throughput of the projections on a generated history (default
//! 1,000,000 events across 100 kommuner), beside raw JetStream ordered replay
//! of the same streams in the same run, and query latency p50/p99 at that size.
//!
//! Run: `cargo bench -p styr-projections --bench rebuild`
//! (STYR_BENCH_EVENTS, STYR_BENCH_KOMMUNER to change the size).

use std::time::{Duration, Instant};
use styr_domain::{
    BodyEstablished, BudgetAdopted, DeviationActionRecorded, DeviationReported, KfGoalAdopted,
    KommunRegistered, NamndmalAdopted, OutcomesRecorded, RamSet, UnitEstablished, UppdragGiven,
    UppdragStatusReported,
};

use async_nats::jetstream::{self, consumer};
use chrono::NaiveDate;
use futures::StreamExt;
use styr_domain::*;
use styr_natsrun::{NatsServer, ServerOptions};
use styr_projections::Projector;
use styr_store::{AppendOutcome, Decision, EventStore, KommunId, StoreConfig};

const GOALS: usize = 10;
const INDICATORS: usize = 5;
const UPPDRAG: usize = 200;
const BODIES: [&str; 6] = ["ks", "bun", "sn", "kfn", "sbn", "mbn"];

/// The first decision's effective date: the day the bench runs, when each
/// stream's signing key is published (a history recorded as it is decided).
fn first_day() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A kommun's organisation, budget, goals and uppdrag.
fn base() -> Vec<Event> {
    let mut out = vec![Event::KommunRegistered(KommunRegistered {
        name: "Genererad kommun".into(),
        kommunkod: "0000".into(),
        council: "kf".into(),
        forbund: None,
    })];
    for b in BODIES {
        out.push(Event::BodyEstablished(BodyEstablished {
            body: b.into(),
            kind: if b == "ks" {
                BodyKind::ExecutiveBoard
            } else {
                BodyKind::Committee
            },
            name: b.to_uppercase(),
            area: "ansvar".into(),
            parent_company: None,
            forbund: None,
        }));
        out.push(Event::UnitEstablished(UnitEstablished {
            unit: format!("{b}-forv"),
            name: format!("{b} förvaltning"),
            namnd: b.into(),
            parent: None,
            level: UnitLevel::Forvaltning,
            serves: Vec::new(),
        }));
    }
    out.push(Event::BudgetAdopted(BudgetAdopted {
        year: 2026,
        plan_years: [2027, 2028],
    }));
    for b in BODIES {
        out.push(Event::RamSet(RamSet {
            body: b.into(),
            year: 2026,
            amount: 100_000,
            change: BudgetChange::Budget,
            budget_year: 2026,
        }));
    }
    for g in 0..GOALS {
        out.push(Event::KfGoalAdopted(KfGoalAdopted {
            budget_year: 2026,
            goal: AdoptedGoal {
                id: format!("g-{g}"),
                kind: GoalKind::Inriktningsmal,
                title: format!("Mål {g}"),
                from_year: 2026,
                to_year: 2029,
                indicators: (0..INDICATORS)
                    .map(|i| Indicator {
                        id: format!("i-{i}"),
                        name: format!("Indikator {i}"),
                        kolada_kpi: Some(format!("N{:05}", g * 10 + i)),
                        direction: Trend::Increase,
                        baseline: Some(50.0),
                        targets: vec![Target {
                            year: 2026,
                            value: 60.0,
                        }],
                        kolada_kpi_group: None,
                        agenda2030: Vec::new(),
                    })
                    .collect(),
                process: None,
                malgrupper: Vec::new(),
                agenda2030: Vec::new(),
            },
        }));
        let body = BODIES[1 + g % 5];
        out.push(Event::NamndmalAdopted(NamndmalAdopted {
            body: body.into(),
            year: 2026,
            goal: AdoptedNamndmal {
                id: format!("{body}-m{g}"),
                title: format!("Nämndmål {g}"),
                perspective: Perspective::VerksamhetOchMedarbetare,
                kf_goals: vec![format!("g-{g}")],
                indicators: Vec::new(),
                agenda2030: Vec::new(),
            },
        }));
    }
    for u in 0..UPPDRAG {
        out.push(Event::UppdragGiven(UppdragGiven {
            budget_year: 2026,
            uppdrag: GivenUppdrag {
                id: format!("u-{u}"),
                title: format!("Uppdrag {u}"),
                description: "Genererat".into(),
                to: vec![BODIES[1 + u % 5].into()],
                resources: Some(100),
                due: d("2027-12-31"),
                goals: vec![format!("g-{}", u % GOALS)],
            },
        }));
    }
    out
}

/// The i-th event after the base: outcomes, status reports, deviations and actions.
fn filler(i: usize) -> Event {
    let month = 1 + (i / 4) % 12;
    let year = 2026 + (i / 48) % 4;
    match i % 4 {
        0 => Event::OutcomesRecorded(OutcomesRecorded {
            source: "Kolada".into(),
            fetched_at: None,
            rows: vec![OutcomeRow {
                goal: format!("g-{}", (i / 4) % GOALS),
                indicator: format!("i-{}", (i / 40) % INDICATORS),
                period: format!("{year}-{month:02}"),
                value: (i % 1000) as f64 / 10.0,
            }],
        }),
        1 => {
            let u = (i / 4) % UPPDRAG;
            Event::UppdragStatusReported(UppdragStatusReported {
                uppdrag: format!("u-{u}"),
                body: BODIES[1 + u % 5].into(),
                as_of: NaiveDate::from_ymd_opt(year as i32, month as u32, 1).unwrap(),
                status: UppdragStatus::Ongoing,
                reason: None,
                comment: None,
            })
        }
        2 => {
            let body = BODIES[(i / 4) % 6];
            Event::DeviationReported(DeviationReported {
                deviation: format!("d-{}", i / 4),
                unit: format!("{body}-forv"),
                body: body.into(),
                from: DeviationFrom::Ram {
                    body: body.into(),
                    year: 2026,
                },
                sign: DeviationSign::Negative,
                amount: Some(-((i % 500) as i64)),
                value: None,
                analysis: "Genererad avvikelse".into(),
                noticed: d("2026-03-01"),
                reported: d("2026-03-02"),
            })
        }
        _ => Event::DeviationActionRecorded(DeviationActionRecorded {
            deviation: format!("d-{}", i / 4),
            action: "a1".into(),
            description: "Åtgärd".into(),
        }),
    }
}

/// A KF decision of `events` (the bench's every decision) taking effect on
/// `effective`.
fn kf_decision(key: String, effective: NaiveDate, events: &[Event]) -> Decision {
    Decision {
        submission_digest: None,
        idempotency_key: key,
        recorded_by: "bench".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::Body {
                body: "kf".into(),
                meeting_date: d("2025-06-16"),
                paragraph: "1".into(),
            },
            effective,
        ),
        events: events.iter().map(styr_projections::new_event).collect(),
    }
}

async fn generate(store: &EventStore, kommun: &KommunId, total: usize) {
    let mut events = base();
    let mut i = 0;
    while events.len() < total {
        events.push(filler(i));
        i += 1;
    }
    let mut head = 0;
    for (n, chunk) in events.chunks(500).enumerate() {
        // A day per decision from the day the stream began (its signing
        // key's): an as-of date falls between two.
        let effective = first_day() + chrono::Duration::days(n as i64);
        let decision = kf_decision(format!("gen-{n}"), effective, chunk);
        match store.append(kommun, head, decision).await.unwrap() {
            AppendOutcome::Appended(c) => head = c.last_sequence,
            other => panic!("{other:?}"),
        }
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Under which name the figures go to the report: `rebuild` for the
/// history over many kommuner, another (`STYR_BENCH_NAME`) for a run at
/// another shape, such as one kommun with a long history.
fn bench_name() -> String {
    std::env::var("STYR_BENCH_NAME").unwrap_or_else(|_| "rebuild".into())
}

fn latency(name: &str, figure: &str, samples: Vec<Duration>) {
    for (p, label) in [(0.5, "p50"), (0.99, "p99")] {
        styr_testkit::bench_figure(
            &bench_name(),
            &format!("{figure}_{label}"),
            pct(samples.clone(), p).as_secs_f64() * 1e3,
            "ms",
        );
    }
    println!(
        "  {name:<34} p50 {:>9.3} ms   p99 {:>9.3} ms",
        pct(samples.clone(), 0.5).as_secs_f64() * 1e3,
        pct(samples, 0.99).as_secs_f64() * 1e3
    );
}

/// The allocator the `styr` binary runs with, so that what is measured is what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let total = env("STYR_BENCH_EVENTS", 1_000_000);
    let kommuner = env("STYR_BENCH_KOMMUNER", 100);
    let per = total / kommuner;
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(ServerOptions::new(dir.path().join("nats")))
        .await
        .unwrap();
    let store = std::sync::Arc::new(
        EventStore::connect(&server.url(), StoreConfig::default())
            .await
            .unwrap(),
    );
    let ks: Vec<KommunId> = (0..kommuner)
        .map(|i| KommunId::new(format!("k{i:03}")).unwrap())
        .collect();
    println!(
        "nats-server {}, sync_interval=always; {kommuner} kommuner × {per} events = {} events",
        styr_natsrun::NATS_SERVER_VERSION,
        per * kommuner
    );

    let start = Instant::now();
    let mut tasks = Vec::new();
    for chunk in ks.chunks(kommuner.div_ceil(4)) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for k in chunk {
                generate(&store, &k, per).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = (per * kommuner) as f64;
    println!(
        "generated (atomic batches of 500)        {:>10.0} events/s",
        n / start.elapsed().as_secs_f64()
    );

    // Raw JetStream ordered replay of the same streams: messages only.
    let js = jetstream::new(store.client().clone());
    let start = Instant::now();
    let mut bytes = 0usize;
    for k in &ks {
        let stream = js.get_stream(k.stream_name()).await.unwrap();
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap().take(per);
        while let Some(m) = messages.next().await {
            bytes += m.unwrap().payload.len();
        }
    }
    let raw = n / start.elapsed().as_secs_f64();
    styr_testkit::bench_figure(&bench_name(), "raw_replay", raw, "events/s");
    styr_testkit::bench_figure(&bench_name(), "log_bytes", bytes as f64, "bytes");
    println!(
        "raw JetStream ordered replay             {raw:>10.0} events/s   1.00x   ({} MB)",
        bytes / 1_000_000
    );

    // The store's replay: decode the envelope and hash the bytes.
    let start = Instant::now();
    for k in &ks {
        let events = store
            .history(k, styr_store::ChainState::genesis(k))
            .await
            .unwrap();
        futures::pin_mut!(events);
        while let Some(e) = events.next().await {
            e.unwrap();
        }
    }
    let r = n / start.elapsed().as_secs_f64();
    styr_testkit::bench_figure(&bench_name(), "store_replay", r, "events/s");
    println!(
        "store replay (decode, SHA-256, signature) {r:>9.0} events/s   {:.2}x",
        r / raw
    );

    // Projection rebuild into a fresh sled.
    let proj = Projector::open(dir.path().join("proj")).unwrap();
    let start = Instant::now();
    let mut each = Vec::new();
    for k in &ks {
        let t = Instant::now();
        proj.rebuild(&store, k).await.unwrap();
        each.push(t.elapsed().as_secs_f64());
    }
    let r = n / start.elapsed().as_secs_f64();
    styr_testkit::bench_figure(&bench_name(), "projection_rebuild", r, "events/s");
    println!(
        "projection rebuild (sled, {}/batch)     {r:>10.0} events/s   {:.2}x",
        styr_projections::FLUSH_EVENTS,
        r / raw
    );
    // Whether the rate holds as the folder fills: the first tenth of the
    // kommuner rebuilt into an empty folder, the last tenth into a full one.
    let tenth = (ks.len() / 10).max(1);
    let rate = |secs: &[f64]| (secs.len() * per) as f64 / secs.iter().sum::<f64>();
    println!(
        "  first / last tenth of the kommuner     {:>10.0} / {:.0} events/s",
        rate(&each[..tenth]),
        rate(&each[each.len() - tenth..])
    );
    let size: u64 = walk(&dir.path().join("proj"));
    println!("  sled folder after rebuild: {} MB", size / 1_000_000);
    styr_testkit::bench_figure(&bench_name(), "sled_bytes", size as f64, "bytes");
    // What the folder holds, by the key's first segment (views `v/`,
    // history lines `h/`, kept versions `x/`, the event index `e/`, …):
    // where sled's per-entry cost goes.
    let mut kinds: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for entry in proj.view().iter() {
        let (k, v) = entry.unwrap();
        let text = String::from_utf8_lossy(&k);
        let parts: Vec<&str> = text.split('/').collect();
        let kind = match parts.as_slice() {
            ["x", _, "v" | "h", _, kind, ..] => format!("x/{}/{kind}", parts[2]),
            ["x", "v" | "h", _, kind, ..] => format!("x/{}/{kind}", parts[1]),
            ["v" | "h", _, kind, ..] => format!("{}/{kind}", parts[0]),
            [first, ..] => first.to_string(),
            [] => String::new(),
        };
        let e = kinds.entry(kind).or_default();
        e.0 += 1;
        e.1 += (k.len() + v.len()) as u64;
    }
    let line: Vec<String> = kinds
        .iter()
        .map(|(kind, (n, b))| {
            format!(
                "{kind} {:.2}/event {} MB",
                *n as f64 / total as f64,
                b / 1_000_000
            )
        })
        .collect();
    println!("  entries per kind:\n    {}", line.join("\n    "));

    // A live projection writes a batch per decision or so, not 256 events
    // at a time: one kommun projected an event a batch, its folder beside
    // its share of the log (left out for long histories: it takes long).
    if per <= 50_000 {
        let folder = dir.path().join("live");
        let live = Projector::open(&folder).unwrap().with_flush_every(1);
        let t = Instant::now();
        live.catch_up(&store, &ks[0]).await.unwrap();
        let rate = per as f64 / t.elapsed().as_secs_f64();
        let (sled, log) = (walk(&folder), bytes / kommuner);
        let versions = live.view().scan_prefix("x/").count();
        styr_testkit::bench_figure(&bench_name(), "live_sled_bytes", sled as f64, "bytes");
        styr_testkit::bench_figure(&bench_name(), "live_log_bytes", log as f64, "bytes");
        println!(
            "  one kommun projected an event a batch: {} MB, {:.2}x its log, {rate:.0} events/s, {:.2} kept versions/event",
            sled / 1_000_000,
            sled as f64 / log as f64,
            versions as f64 / per as f64
        );
        drop(live);
        std::fs::remove_dir_all(&folder).unwrap();
    }

    // STYR_BENCH_PARALLEL=0 leaves this out (a 10 M run would need the
    // disk twice).
    if env("STYR_BENCH_PARALLEL", 1) != 0 {
        // The same into another fresh folder, two kommuner at a time (as a
        // serving node catches up kommuner asked about at once).
        let parallel = std::sync::Arc::new(Projector::open(dir.path().join("proj-2")).unwrap());
        let start = Instant::now();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (parallel, store, ks, next) =
                    (parallel.clone(), store.clone(), ks.clone(), next.clone());
                tokio::spawn(async move {
                    while let Some(k) =
                        ks.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        parallel.rebuild(&store, k).await.unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let r = n / start.elapsed().as_secs_f64();
        styr_testkit::bench_figure(
            &bench_name(),
            "projection_rebuild_2_at_a_time",
            r,
            "events/s",
        );
        println!(
            "  the same, 2 kommuner at a time         {r:>10.0} events/s   {:.2}x",
            r / raw
        );
        for k in &ks {
            assert_eq!(parallel.digest(k).unwrap(), proj.digest(k).unwrap(), "{k}");
        }
        drop(parallel);
    }

    println!("query latency at this size ({} samples each):", 300);
    let kv = proj.view();
    // The kept plans are built before the samples: the first question per
    // kommun after a write builds it, which is what "built per call"
    // measures; 20 builds among 300 samples were the kept figure's p99.
    for k in &ks {
        proj.plan(k, 2026).unwrap();
    }
    let mut plan = Vec::new();
    let mut plan_kept = Vec::new();
    let mut chain = Vec::new();
    let mut hist = Vec::new();
    let mut kept = Vec::new();
    for s in 0..300usize {
        let k = &ks[(s * 7919) % ks.len()];
        // The answer the service gives, as bytes: each indicator's latest
        // values, written as JSON.
        let t = Instant::now();
        let answer = styr_projections::plan_answer(kv, k, 2026).unwrap();
        std::hint::black_box(serde_json::to_vec(&answer).unwrap());
        plan.push(t.elapsed());
        // The same as the live service answers it when no write came
        // since the last question: kept.
        let t = Instant::now();
        let answer = proj.plan(k, 2026).unwrap();
        std::hint::black_box(answer.to_json().unwrap());
        plan_kept.push(t.elapsed());
        let t = Instant::now();
        styr_projections::chain(kv, k, &format!("goal/g-{}", s % GOALS))
            .unwrap()
            .unwrap();
        chain.push(t.elapsed());
        let t = Instant::now();
        proj.chain(k, &format!("goal/g-{}", s % GOALS))
            .unwrap()
            .unwrap();
        kept.push(t.elapsed());
        let t = Instant::now();
        // The first page, as the service answers (its default page size).
        let h =
            styr_projections::history_page(kv, k, &format!("uppdrag/u-{}", s % UPPDRAG), None, 200)
                .unwrap();
        std::hint::black_box(serde_json::to_vec(&h.items).unwrap());
        assert!(!h.items.is_empty());
        hist.push(t.elapsed());
    }
    // The first question after a write: one decision (an indicator value
    // or an uppdrag status) recorded and projected, then the plan asked —
    // built from the parts the write left as they were and those it
    // touched, read again.
    let mut after_write = Vec::new();
    for s in 0..300usize {
        let k = &ks[(s * 7919) % ks.len()];
        let head = store.last_sequence(k).await.unwrap();
        let decision = kf_decision(
            format!("after-write-{s}"),
            first_day(),
            &[filler(s * 4 + s % 2)],
        );
        match store.append(k, head, decision).await.unwrap() {
            AppendOutcome::Appended(_) => {}
            other => panic!("{other:?}"),
        }
        proj.catch_up(&store, k).await.unwrap();
        let t = Instant::now();
        let answer = proj.plan(k, 2026).unwrap();
        std::hint::black_box(answer.to_json().unwrap());
        after_write.push(t.elapsed());
    }
    latency("plan (kommun, year), built whole", "plan", plan);
    latency(
        "  the same, kept between writes (live)",
        "plan_kept",
        plan_kept,
    );
    latency(
        "  the same, first question after a write",
        "plan_after_write",
        after_write,
    );
    latency("styrkedja path (KF goal up/down)", "chain", chain);
    latency("  the same from the kept graph", "chain_kept", kept);
    latency(
        "entity history (one uppdrag, first page of 200)",
        "history",
        hist,
    );
    // As-of: the plan as it stood at a moment — a sequence, a record time,
    // a decision date — read from the kept versions with the rest of a
    // segment folded on top; beside it, a few whole folds (what every
    // as-of question cost before).
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut past, mut views, mut folded, mut from_versions) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    // The past view's time by kind of question (sequence, record time,
    // decision date): where the tail comes from.
    let mut by_kind: [Vec<Duration>; 3] = Default::default();
    for s in 0..150usize {
        let k = &ks[next(ks.len() as u64) as usize];
        let sequence = 1 + next(per as u64);
        let at = match s % 3 {
            0 => styr_projections::AsOf::Sequence(sequence),
            1 => {
                let bytes = store.raw_message(k, sequence).await.unwrap();
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                styr_projections::AsOf::Recorded(
                    v["recorded_at"].as_str().unwrap().parse().unwrap(),
                )
            }
            _ => styr_projections::AsOf::InForce(
                first_day() + chrono::Duration::days((sequence / 500) as i64),
            ),
        };
        let t = Instant::now();
        let view = proj.as_of(&store, k, at).await.unwrap();
        views.push(t.elapsed());
        by_kind[s % 3].push(t.elapsed());
        let answer = styr_projections::plan_answer(&view, k, 2026).unwrap();
        std::hint::black_box(serde_json::to_vec(&answer).unwrap());
        past.push(t.elapsed());
        from_versions += usize::from(view.is_versioned());
        drop(view);
        if s % 30 == 0 {
            let t = Instant::now();
            let view = styr_projections::as_of(&store, k, at).await.unwrap();
            let whole = styr_projections::plan_answer(&view, k, 2026).unwrap();
            folded.push(t.elapsed());
            assert_eq!(
                serde_json::to_vec(&whole).unwrap(),
                serde_json::to_vec(&answer).unwrap(),
                "{at:?}"
            );
        }
    }
    println!("  ({from_versions} of 150 as-of answers from the kept versions)");
    latency("past view (sequence, time, date)", "past_view", views);
    for (kind, samples) in ["sequence", "time", "date"].iter().zip(by_kind) {
        latency(
            &format!("  by {kind}"),
            &format!("past_view_{kind}"),
            samples,
        );
    }
    latency("plan as-of (sequence, time, date)", "plan_as_of", past);
    latency(
        "  the same, whole history folded",
        "plan_as_of_folded",
        folded,
    );
    // The plan answer of one kommun, for the PostgreSQL peer to store and
    // read back by key (the same bytes).
    if let Ok(out) = std::env::var("STYR_BENCH_PLAN_OUT") {
        let answer = styr_projections::plan_answer(kv, &ks[0], 2026).unwrap();
        std::fs::write(out, serde_json::to_vec(&answer).unwrap()).unwrap();
    }
    drop(server);
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
