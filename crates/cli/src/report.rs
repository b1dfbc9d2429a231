//! `styr report`: the revisor's underlag for a year, in every format.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;

/// What `styr report` was asked for.
pub(crate) struct Request<'a> {
    pub kommun: &'a str,
    pub year: &'a i32,
    pub out: &'a std::path::Path,
    pub today: &'a Option<chrono::NaiveDate>,
    /// An export file to make the report from, offline.
    pub file: Option<&'a std::path::Path>,
    pub grouping: Option<styr_audit::GoalGrouping>,
}

pub(crate) async fn report(
    ctx: &mut Ctx<'_>,
    request: Request<'_>,
    trust: &audit::Trust,
) -> Result<Exit> {
    let Request {
        kommun: k,
        year,
        out,
        today,
        file,
        grouping,
    } = request;
    let cli = ctx.cli;
    let k = kommun(k)?;
    let today = today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = match file {
        Some(file) => {
            let (header, entries, verification) = audit::verify_file(file, trust.options()?)?;
            if header.kommun != k {
                anyhow::bail!(
                    "{} innehåller kommunen {}, inte {k}",
                    file.display(),
                    header.kommun
                );
            }
            let view =
                styr_projections::fold_records(&k, audit::stored(&header, &entries)?.iter())?;
            styr_audit::RevisorReport::build(&view, &k, *year, today, verification)?
        }
        None => {
            let backend = ctx.backend().await?;
            require_kommun(&backend.store, &k).await?;
            let verification =
                styr_audit::verify_stream(&backend.store, &k, trust.options()?).await?;
            let v = views::now(&backend.store, &cli.projections(), &k).await?;
            styr_audit::RevisorReport::build(v.kv(), &k, *year, today, verification)?
        }
    };
    let report = report.grouped_by(grouping);
    std::fs::create_dir_all(out).with_context(|| format!("kunde inte skapa {}", out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("kunde inte skriva {}", path.display()))
    };
    write("rapport.md", report.markdown().as_bytes())?;
    write("rapport.html", report.html().as_bytes())?;
    write(
        "rapport.xlsx",
        &report.xlsx().context("kunde inte skapa rapport.xlsx")?,
    )?;
    for (name, bytes) in report.csv().context("kunde inte skriva CSV-tabellerna")? {
        write(name, &bytes)?;
    }
    outln!(
        "Rapport för {k} {year} skriven till {} (rapport.md, rapport.html, rapport.xlsx, CSV med semikolon för Excel)",
        out.display()
    )?;
    Ok(if report.verification.is_ok() {
        Exit::Ok
    } else {
        Exit::Broken
    })
}
