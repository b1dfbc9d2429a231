//! `styr history` and `styr follow`: a kommun's recorded events as a
//! table or one JSON line each, to the end or live.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;
use futures::StreamExt;
use styr_store::StoredEvent;

pub(crate) async fn history(ctx: &mut Ctx<'_>, k: &str, from: &u64, json: &bool) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    require_kommun(&backend.store, &k).await?;
    let events = backend
        .store
        .history(&k, styr_store::ChainState::genesis(&k))
        .await?;
    futures::pin_mut!(events);
    if !json {
        print_header()?;
    }
    while let Some(e) = events.next().await {
        let e = e?;
        if e.sequence() >= *from {
            print_record(&e, *json)?;
        }
    }
    Ok(Exit::Ok)
}

pub(crate) async fn follow(ctx: &mut Ctx<'_>, k: &str, from: &u64, json: &bool) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    require_kommun(&backend.store, &k).await?;
    let events = backend
        .store
        .follow(&k, styr_store::ChainState::genesis(&k))
        .await?;
    futures::pin_mut!(events);
    if !json {
        print_header()?;
    }
    loop {
        tokio::select! {
            e = events.next() => match e {
                Some(e) => {
                    let e = e?;
                    if e.sequence() >= *from {
                        print_record(&e, *json)?;
                    }
                }
                None => return Ok(Exit::Ok),
            },
            _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
        }
    }
}

pub(crate) fn print_header() -> Result<()> {
    outln!(
        "{:>5}  {:<24} {:<28} {:<30} {:<16}",
        "sekv",
        "händelse",
        "aggregat",
        "beslut",
        "hash"
    )?;
    Ok(())
}

/// One message of the stream: an event, or a foreign message (intrång).
pub(crate) fn print_record(r: &styr_store::Record, json: bool) -> Result<()> {
    match r {
        styr_store::Record::Event(e) => print_event(e, json),
        styr_store::Record::Foreign(f) if json => {
            let line = styr_service::api::HistoryLine::Foreign {
                foreign: styr_service::api::ForeignLine {
                    sequence: f.sequence,
                    reason: f.reason.clone(),
                    hash: f.hash.to_hex(),
                },
            };
            outln!("{}", serde_json::to_string(&line)?)?;
            Ok(())
        }
        styr_store::Record::Foreign(f) => {
            outln!(
                "{:>5}  INTRÅNG: främmande meddelande, inte skrivet av Styrkedja: {}",
                f.sequence,
                f.reason
            )?;
            Ok(())
        }
    }
}

pub(crate) fn print_event(e: &StoredEvent, json: bool) -> Result<()> {
    if json {
        let line = styr_service::api::HistoryLine::Event {
            sequence: e.sequence,
            envelope: serde_json::value::RawValue::from_string(
                String::from_utf8(e.raw.to_vec()).context("händelsens lagrade bytes")?,
            )
            .context("händelsens lagrade bytes")?,
        };
        outln!("{}", serde_json::to_string(&line)?)?;
        return Ok(());
    }
    let env = &e.envelope;
    let decided = env.provenance.decided_by.to_string();
    outln!(
        "{:>5}  {:<24} {:<28} {:<30} {}…",
        e.sequence,
        env.event_type,
        format!("{}/{}", env.aggregate.kind, env.aggregate.id),
        decided,
        &e.hash.to_hex()[..12]
    )?;
    Ok(())
}
