//! `styr demo`: records one decision and shows it read back from JetStream.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde_json::json;
use styr_store::{
    AggregateRef, AppendOutcome, DecidedBy, Decision, EventStore, KommunId, NewEvent, Provenance,
};

pub async fn run(store: &EventStore, kommun: &KommunId) -> Result<()> {
    let head = store.last_sequence(kommun).await?;
    let decision = Decision {
        // A fixed key: running the demo twice records the decision once.
        idempotency_key: "demo-kf-2025-06-16-87".into(),
        recorded_by: "styr demo".into(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        provenance: Provenance::new(
            DecidedBy::Body {
                body: "kf".into(),
                meeting_date: NaiveDate::from_ymd_opt(2025, 6, 16).context("date")?,
                paragraph: "87".into(),
            },
            NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?,
        ),
        events: vec![
            NewEvent {
                aggregate: AggregateRef::new("budget", "2026"),
                event_type: "BudgetAdopted".into(),
                schema_version: 1,
                payload: json!({"year": 2026, "plan_years": [2027, 2028]}),
            },
            NewEvent {
                aggregate: AggregateRef::new("uppdrag", "u-2026-1"),
                event_type: "UppdragGiven".into(),
                schema_version: 1,
                payload: json!({"title": "Ta fram en plan för digitalisering", "to": ["ks"]}),
            },
        ],
    };
    match store.append(kommun, head, decision).await? {
        AppendOutcome::Appended(c) => println!(
            "Beslutet KF 2025-06-16 § 87 registrerat i {kommun}: sekvens {}–{}",
            c.first_sequence, c.last_sequence
        ),
        AppendOutcome::Duplicate(c) => println!(
            "Beslutet fanns redan (sekvens {}–{}); inget nytt registrerat",
            c.first_sequence, c.last_sequence
        ),
        AppendOutcome::Conflict { actual, .. } => {
            anyhow::bail!("another writer moved {kommun} to sequence {actual}; run again")
        }
    }
    println!("\nHistorik för {kommun}, läst från JetStream:");
    crate::print_header();
    for e in store.read(kommun, 1).await? {
        crate::print_event(&e, false)?;
    }
    Ok(())
}
