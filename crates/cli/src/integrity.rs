//! What a revisor needs to trust the history: `styr verify`, `export`,
//! `restore`, `replay`, `checkpoint`, `key` and `rotate-key`.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;

pub(crate) async fn verify(
    ctx: &mut Ctx<'_>,
    k: Option<&str>,
    file: Option<&std::path::Path>,
    trust: &audit::Trust,
) -> Result<Exit> {
    let options = trust.options()?;
    let ok = match file {
        Some(file) => {
            let (header, _, result) = audit::verify_file(file, options)?;
            let ok = audit::print_result(header.kommun.as_str(), &result)?;
            if let Ok(r) = &result {
                if !r.references.is_empty() {
                    outln!(
                        "  {} hänvisningar till kommunalförbunds egna historik; de kontrolleras mot servern med `styr verify {}`",
                        r.references.len(),
                        header.kommun
                    )?;
                }
            }
            ok
        }
        None => {
            let k = kommun(k.context("ange kommunen, eller --file")?)?;
            let backend = ctx.backend().await?;
            require_kommun(&backend.store, &k).await?;
            let bar = progress(backend.store.last_sequence(&k).await?, "verifierar");
            let result = styr_audit::verify_stream_with(&backend.store, &k, options, |s| {
                bar.set_position(s)
            })
            .await?;
            bar.finish_and_clear();
            let ok = audit::print_result(k.as_str(), &result)?;
            match &result {
                Ok(r) => {
                    let checked = styr_audit::check_references(&backend.store, &r.references).await;
                    audit::print_references(&checked)? && ok
                }
                Err(_) => ok,
            }
        }
    };
    Ok(if ok { Exit::Ok } else { Exit::Broken })
}

pub(crate) async fn export(
    ctx: &mut Ctx<'_>,
    k: &str,
    out: &std::path::Path,
    up_to: &Option<u64>,
) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    require_kommun(&backend.store, &k).await?;
    let total = backend.store.last_sequence(&k).await?;
    let bar = progress(up_to.map_or(total, |u| u.min(total)), "exporterar");
    let h = audit::export(&backend.store, &k, *up_to, out, |s| bar.set_position(s)).await?;
    bar.finish_and_clear();
    outln!(
        "{k}: {} händelser till {} (huvud {})",
        h.last_sequence,
        out.display(),
        h.head_hash
    )?;
    Ok(Exit::Ok)
}

pub(crate) async fn restore(
    ctx: &mut Ctx<'_>,
    k: &str,
    file: &std::path::Path,
    trust: &audit::Trust,
) -> Result<Exit> {
    let k = kommun(k)?;
    let (header, entries, verified) = audit::verify_file(file, trust.options()?)?;
    if header.kommun != k {
        anyhow::bail!(
            "{} innehåller kommunen {}, inte {k}",
            file.display(),
            header.kommun
        );
    }
    if !audit::print_result(header.kommun.as_str(), &verified)? {
        eprintln!("fel: filen håller inte; inget återställdes");
        return Ok(Exit::Broken);
    }
    let messages: Vec<(u64, bytes::Bytes)> = entries
        .iter()
        .map(|e| (e.sequence, e.bytes().into()))
        .collect();
    let backend = ctx.backend().await?;
    let bar = progress(messages.len() as u64, "återställer");
    let last = backend
        .store
        .restore(&k, &messages, |s| bar.set_position(s))
        .await?;
    bar.finish_and_clear();
    let live = styr_audit::verify_stream(&backend.store, &k, trust.options()?).await?;
    let same_head = live
        .as_ref()
        .is_ok_and(|r| r.head_hash == header.head_hash && r.head_sequence == last);
    audit::print_result(k.as_str(), &live)?;
    if !same_head {
        eprintln!("fel: den återställda strömmen stämmer inte med filens huvud");
        return Ok(Exit::Broken);
    }
    outln!(
        "{k}: {last} händelser återställda från {}, kedjans huvud {} som i filen. Kopiera kommunens signeringsnycklar (keys/{k}/) till den nya noden innan nya beslut registreras.",
        file.display(),
        header.head_hash
    )?;
    Ok(Exit::Ok)
}

pub(crate) async fn replay(file: &std::path::Path, trust: &audit::Trust) -> Result<Exit> {
    let (header, entries, result) = audit::verify_file(file, trust.options()?)?;
    if !audit::print_result(header.kommun.as_str(), &result)? {
        return Ok(Exit::Broken);
    }
    let stored = audit::stored(&header, &entries)?;
    let bar = progress(stored.len() as u64, "återskapar");
    let view =
        styr_projections::fold_records(&header.kommun, stored.iter().inspect(|_| bar.inc(1)))?;
    bar.finish_and_clear();
    outln!(
        "{}: alla läsmodeller återskapade från {}; kontrollsumma {}",
        header.kommun,
        file.display(),
        styr_projections::digest(&view, &header.kommun)?
    )?;
    outln!(
        "Ställ frågor offline med --file, t.ex. `styr plan {} 2026 --file {} --as-of 2026-06-30`",
        header.kommun,
        file.display()
    )?;
    Ok(Exit::Ok)
}

pub(crate) async fn checkpoint(ctx: &mut Ctx<'_>, k: &str) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    let (covered, at) = audit::checkpointer(&backend.store).checkpoint(&k).await?;
    outln!("{k}: kontrollpunkt för sekvens {covered} signerad och registrerad som händelse {at}")?;
    Ok(Exit::Ok)
}

pub(crate) async fn key(ctx: &mut Ctx<'_>, k: &str) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    require_kommun(&backend.store, &k).await?;
    let report = match styr_audit::verify_stream(&backend.store, &k, Default::default()).await? {
        Ok(r) => r,
        Err(b) => {
            audit::print_result(k.as_str(), &Err(b))?;
            return Ok(Exit::Broken);
        }
    };
    let chain = backend.store.chain_head(&k).await?;
    let key = chain.key.context("kommunen har ingen publicerad nyckel")?;
    let first = report.keys.first().cloned().unwrap_or_default();
    outln!("{k}: historiken verifierad ({} händelser)", report.events)?;
    outln!("  nyckel i kraft: {}", hex::encode(key.key.as_bytes()))?;
    outln!("  nyckel-id (fingeravtryck): {}", key.id)?;
    if first != key.id {
        outln!("  (kommunens första nyckel, den som --trusted-key avser, har nyckel-id {first})")?;
    }
    match report.last_checkpoint() {
        Some((covered, _, _, signed_at)) => {
            let hash =
                styr_store::ChainHash::of_event(&backend.store.raw_message(&k, *covered).await?);
            outln!("  senaste signerade kontrollpunkt: {covered}:{hash} (signerad {signed_at})")?;
            outln!(
                "Skriv ner och verifiera senare med: styr verify --file FIL --trusted-key {first} --pin {covered}:{hash}"
            )?;
        }
        None => outln!("  ingen signerad kontrollpunkt ännu: `styr checkpoint {k}` signerar en")?,
    }
    Ok(Exit::Ok)
}

pub(crate) async fn rotate_key(ctx: &mut Ctx<'_>, k: &str) -> Result<Exit> {
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    let kid = audit::checkpointer(&backend.store).rotate_key(&k).await?;
    outln!("{k}: ny signeringsnyckel {kid} publicerad, intygad av den förra")?;
    Ok(Exit::Ok)
}
