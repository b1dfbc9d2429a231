//! `styr project` and `styr rebuild`: this node's projection of a kommun,
//! brought up to date (and kept so) or built afresh.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;

pub(crate) async fn project(
    ctx: &mut Ctx<'_>,
    k: &str,
    follow: &bool,
    flush_every: &usize,
) -> Result<Exit> {
    let cli = ctx.cli;
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    let p = styr_projections::Projector::open(cli.projections())
        .with_context(|| format!("kunde inte öppna {}", cli.projections().display()))?
        .with_flush_every(*flush_every);
    // Fault-test hook, only in a build with the `failpoints` feature
    // (the tests'): abort, as kill -9 would, after this many batches.
    let crash_after: Option<u64> = if cfg!(feature = "failpoints") {
        std::env::var("STYR_CRASH_AFTER_BATCHES")
            .ok()
            .and_then(|v| v.parse().ok())
    } else {
        None
    };
    let mut batches = 0u64;
    let bar = progress(backend.store.last_sequence(&k).await?, "projicerar");
    let progress = |seq: u64| {
        bar.set_position(seq);
        if outln!("projicerat till sekvens {seq}").is_err() {
            // stdout closed (`styr project k --follow | head -1`): stop
            // quietly, as every other verb does; what is projected is flushed.
            std::process::exit(141);
        }
        batches += 1;
        if crash_after.is_some_and(|n| batches >= n) {
            std::process::abort();
        }
    };
    let last = if *follow {
        p.follow(&backend.store, &k, progress).await?
    } else {
        p.catch_up_with(&backend.store, &k, progress).await?
    };
    outln!(
        "{k}: projektionen är vid sekvens {last}, kontrollsumma {}",
        p.digest(&k)?
    )?;
    Ok(Exit::Ok)
}

pub(crate) async fn rebuild(ctx: &mut Ctx<'_>, k: &str) -> Result<Exit> {
    let cli = ctx.cli;
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    let p = styr_projections::Projector::open(cli.projections())?;
    let bar = progress(backend.store.last_sequence(&k).await?, "bygger om");
    let last = p
        .rebuild_with(&backend.store, &k, |seq| bar.set_position(seq))
        .await?;
    bar.finish_and_clear();
    outln!(
        "{k}: ombyggd till sekvens {last}, kontrollsumma {}",
        p.digest(&k)?
    )?;
    Ok(Exit::Ok)
}
