//! `styr health`: for scripts and probes, per kommun — is the stream
//! reachable, how many replicas are current, does its group keep its quorum,
//! how far this node's projection lags, how old the last signed checkpoint
//! is. Exit 4 when a kommun's stream cannot be reached or has lost quorum.

use anyhow::Result;
use chrono::Utc;
use serde::Serialize;
use styr_projections::docs::{CheckpointDoc, DocKind};
use styr_projections::Projector;
use styr_store::{KommunId, StreamHealth};

use crate::*;

/// One kommun's health, as a JSON line or a table row.
#[derive(Serialize)]
struct KommunHealth {
    kommun: String,
    /// The kommun has a stream on the server.
    exists: bool,
    /// The stream answered.
    reachable: bool,
    /// Its group can commit (a leader and a majority of replicas current).
    quorum: bool,
    replicas: usize,
    current: usize,
    leader: Option<String>,
    offline: Vec<String>,
    last_sequence: u64,
    /// This node's projection: its sequence and how far behind it is
    /// (absent where the projection is not on this node, or held by serve).
    projection_sequence: Option<u64>,
    projection_lag: Option<u64>,
    /// The last signed checkpoint, from the projection.
    last_checkpoint_signed_at: Option<String>,
    last_checkpoint_age_seconds: Option<i64>,
    /// What is wrong, in words; empty when nothing is.
    problem: String,
}

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
        let stream = backend.store.stream_health(k).await;
        all.push(kommun_health(k, stream, projector.as_ref())?);
    }
    if json {
        for h in &all {
            outln!("{}", serde_json::to_string(h)?)?;
        }
    } else {
        print_table(&all, projection_note.as_deref())?;
    }
    let healthy = all.iter().all(|h| h.reachable && h.quorum);
    Ok(if healthy { Exit::Ok } else { Exit::Unhealthy })
}

fn kommun_health(
    k: &KommunId,
    stream: Result<Option<StreamHealth>, styr_store::StoreError>,
    projector: Option<&Projector>,
) -> Result<KommunHealth> {
    let mut h = KommunHealth {
        kommun: k.to_string(),
        exists: false,
        reachable: false,
        quorum: false,
        replicas: 0,
        current: 0,
        leader: None,
        offline: Vec::new(),
        last_sequence: 0,
        projection_sequence: None,
        projection_lag: None,
        last_checkpoint_signed_at: None,
        last_checkpoint_age_seconds: None,
        problem: String::new(),
    };
    match stream {
        Ok(Some(s)) => {
            h.exists = true;
            h.reachable = true;
            h.quorum = s.has_quorum();
            if !h.quorum {
                h.problem = format!(
                    "strömmen saknar kvorum: {} av {} repliker i fas{}",
                    s.current,
                    s.replicas,
                    if s.leader.is_none() {
                        ", ingen ledare"
                    } else {
                        ""
                    }
                );
            }
            h.replicas = s.replicas;
            h.current = s.current;
            h.leader = s.leader.filter(|l| !l.is_empty());
            h.offline = s.offline;
            h.last_sequence = s.last_sequence;
        }
        Ok(None) => h.problem = "kommunen har ingen ström här".into(),
        Err(e) => {
            h.exists = true;
            h.problem = format!("strömmen går inte att nå: {e}");
        }
    }
    if let Some(p) = projector {
        if let Some(c) = p.checkpoint(k)? {
            h.projection_sequence = Some(c.sequence);
            h.projection_lag = Some(h.last_sequence.saturating_sub(c.sequence));
        }
        let last = styr_projections::docs::<CheckpointDoc>(p.view(), k, DocKind::Checkpoint)?
            .into_iter()
            .max_by_key(|c| c.signed_at);
        if let Some(c) = last {
            h.last_checkpoint_age_seconds = Some((Utc::now() - c.signed_at).num_seconds());
            h.last_checkpoint_signed_at = Some(c.signed_at.to_rfc3339());
        }
    }
    Ok(h)
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
