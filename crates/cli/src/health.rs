//! `styr health`: for scripts and probes, per kommun — is the stream
//! reachable, how many replicas are current, does its group keep its quorum,
//! how far this node's projection lags, how old the last signed checkpoint
//! is. Exit 4 when a kommun's stream cannot be reached or has lost quorum.

use anyhow::Result;
use styr_projections::Projector;
use styr_service::health::{kommun_health, KommunHealth};
use styr_store::KommunId;

use crate::*;

pub(crate) async fn health(ctx: &mut Ctx<'_>, kommuner: &[String], json: bool) -> Result<Exit> {
    let cli = ctx.cli;
    let backend = ctx.backend().await?;
    let kommuner: Vec<KommunId> = if kommuner.is_empty() {
        backend.store.kommuner().await?
    } else {
        kommuner.iter().map(|k| kommun(k)).collect::<Result<_>>()?
    };
    // The node's projection when there is one and this process may open it
    // (`styr serve` holds it while it runs; ask with its own health then).
    let (projector, projection_note) = if cli.projections().exists() {
        match Projector::open(cli.projections()) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, Some("ingen projektion på den här noden".to_owned()))
    };
    let mut all = Vec::new();
    for k in &kommuner {
        all.push(kommun_health(&backend.store, projector.as_ref(), k).await?);
    }
    if json {
        for h in &all {
            outln!("{}", serde_json::to_string(h)?)?;
        }
    } else {
        print_table(&all, projection_note.as_deref())?;
    }
    let healthy = all.iter().all(KommunHealth::healthy);
    Ok(if healthy { Exit::Ok } else { Exit::Unhealthy })
}

fn print_table(all: &[KommunHealth], projection_note: Option<&str>) -> Result<()> {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(vec![
            "kommun",
            "ström",
            "repliker i fas",
            "sekvens",
            "projektionen släpar",
            "senaste kontrollpunkt",
        ]);
    for h in all {
        t.add_row(vec![
            h.kommun.clone(),
            if !h.exists {
                "finns inte".to_owned()
            } else if !h.reachable {
                "nås inte".to_owned()
            } else if h.quorum {
                "kvorum".to_owned()
            } else {
                "UTAN KVORUM".to_owned()
            },
            format!("{} av {}", h.current, h.replicas),
            h.last_sequence.to_string(),
            h.projection_lag
                .map_or("–".to_owned(), |l| format!("{l} händelser")),
            h.last_checkpoint_age_seconds
                .map_or("ingen".to_owned(), |s| format!("{} min sedan", s / 60)),
        ]);
    }
    outln!("{t}")?;
    for h in all.iter().filter(|h| !h.problem.is_empty()) {
        outln!("⚠ {}: {}", h.kommun, h.problem)?;
    }
    if let Some(note) = projection_note {
        outln!("(projektionen: {note})")?;
    }
    Ok(())
}
