//! Verification throughput on a 1,000,000-event history (in memory, chained
//! exactly as the store chains it) beside raw SHA-256 over the same bytes in
//! the same run. Run: `cargo bench -p styr-audit --bench verify`
//! (STYR_BENCH_EVENTS to change the size).

use std::time::Instant;
use styr_domain::OutcomesRecorded;

use chrono::{NaiveDate, Utc};
use sha2::{Digest, Sha256};
use styr_audit::{Options, Verifier};
use styr_domain::{DecidedBy, Event, OutcomeRow, Provenance};
use styr_store::{AggregateRef, ChainHash, Envelope, KommunId};

/// The allocator the `styr` binary runs with, so that what is measured is what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::var("STYR_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kommun = KommunId::new("bench").unwrap();
    // Decisions of three events each: each its own paragraph, effective
    // date and idempotency key (the events of one decision share them).
    const PER_DECISION: usize = 3;
    let provenance = |i: usize| {
        let decision = i / PER_DECISION;
        Provenance::new(
            DecidedBy::Body {
                body: "kf".into(),
                meeting_date: NaiveDate::from_ymd_opt(2025, 6, 16).unwrap(),
                paragraph: decision.to_string(),
            },
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Duration::days((decision % 3650) as i64),
        )
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let public = key.verifying_key();
    let kid = styr_store::key_id(&public);
    let envelope = |i: usize, prev: ChainHash, aggregate, event_type: &str, payload| Envelope {
        event_id: uuid::Uuid::now_v7(),
        kommun: kommun.clone(),
        aggregate,
        event_type: event_type.into(),
        schema_version: 1,
        provenance: provenance(i),
        recorded_at: Utc::now(),
        recorded_by: "bench".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        idempotency_key: format!("k-{}", i / PER_DECISION),
        prev_hash: prev,
        payload,
        signature: None,
    };
    // The kommun's key first, as the store records it; then every event
    // signed with it.
    let first = envelope(
        0,
        ChainHash::genesis(&kommun),
        AggregateRef::new("signing-key", kid.clone()),
        styr_store::KEY_EVENT_TYPE,
        serde_json::json!({"key_id": kid, "public_key": hex::encode(public.as_bytes())}),
    );
    let raw = styr_store::sign_envelope(serde_json::to_vec(&first).unwrap(), &key);
    let mut prev = ChainHash::of_event(&raw);
    let mut history = Vec::with_capacity(n + 1);
    history.push(raw);
    for i in 1..=n {
        let event = Event::OutcomesRecorded(OutcomesRecorded {
            source: "Kolada".into(),
            fetched_at: None,
            rows: vec![OutcomeRow {
                goal: format!("g-{}", i % 10),
                indicator: "i-1".into(),
                period: "2026".into(),
                value: i as f64,
            }],
        });
        let (event_type, payload) = event.to_payload();
        let env = envelope(
            i,
            prev,
            AggregateRef::new("outcome", format!("g-{}", i % 10)),
            event_type,
            payload,
        );
        let raw = styr_store::sign_envelope(serde_json::to_vec(&env).unwrap(), &key);
        prev = ChainHash::of_event(&raw);
        history.push(raw);
    }
    // As verify reads a stream: messages already in memory, not copied
    // again, each a slice of a shared buffer as the client's reads hand them
    // over (a `Bytes` made from a `Vec` of its own allocates a shared header
    // at its first clone, which reading a stream does not).
    let buffer = bytes::Bytes::from(history.concat());
    let mut at = 0;
    let history: Vec<bytes::Bytes> = history
        .iter()
        .map(|raw| {
            at += raw.len();
            buffer.slice(at - raw.len()..at)
        })
        .collect();
    let bytes: usize = history.iter().map(|raw| raw.len()).sum();
    println!("{n} events, {} MB", bytes / 1_000_000);

    // Each round measures both side by side (the machine's noise moves
    // them together); STYR_BENCH_ROUNDS to change how many. The report
    // takes one round per process, as `styr verify` runs: later rounds in
    // the same process run faster (they reuse memory the first one touched
    // for the first time, which is dear on a virtual machine).
    let rounds: usize = std::env::var("STYR_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let mut acc = 0u8;
        for raw in &history {
            acc ^= Sha256::digest(raw)[0];
        }
        let sha = n as f64 / start.elapsed().as_secs_f64();
        styr_testkit::bench_figure("verify", "raw_sha256", sha, "events/s");
        println!("raw SHA-256 over the stored bytes      {sha:>10.0} events/s   1.00x   ({acc})");

        let start = Instant::now();
        let mut v = Verifier::new(kommun.clone(), Options::default());
        for (i, raw) in history.iter().enumerate() {
            v.push_bytes(i as u64 + 1, raw.clone(), None).unwrap();
        }
        let report = v.finish(Some(n as u64 + 1)).unwrap();
        let rate = n as f64 / start.elapsed().as_secs_f64();
        styr_testkit::bench_figure("verify", "verify", rate, "events/s");
        println!(
            "styr verify (parse, hash, link, sig, P7) {rate:>8.0} events/s   {:.2}x   head {}",
            rate / sha,
            &report.head_hash[..12]
        );
    }
}
