//! `styr import kolada`: files of Kolada's open API (`/v3/data/kpi/{kpi}/
//! municipality/{id}`, saved as they came; no network here) into the
//! kommun's history as one `import_kolada` decision.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use styr_domain::{Command, DecidedBy, ImportKolada, KoladaRow, Provenance};
use styr_service::{Outcome, Submission};

use crate::context::Ctx;
use crate::*;

/// One page of Kolada's answer.
#[derive(Debug, Deserialize)]
struct Page {
    values: Vec<ApiRow>,
}

#[derive(Debug, Deserialize)]
struct ApiRow {
    kpi: String,
    municipality: String,
    period: i32,
    values: Vec<ApiValue>,
}

#[derive(Debug, Deserialize)]
struct ApiValue {
    gender: String,
    #[serde(default)]
    status: Option<String>,
    value: Option<f64>,
    #[serde(default)]
    isdeleted: bool,
}

/// Reads Kolada's response files into rows, leaving out values Kolada has
/// marked deleted.
fn read_rows(files: &[PathBuf]) -> Result<Vec<KoladaRow>> {
    let mut rows = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("läser {}", file.display()))?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let page: Page = serde_path_to_error::deserialize(de).map_err(|e| {
            anyhow::anyhow!(
                "{}: inget svar från Kolada i väntad form (fältet {}: {})",
                file.display(),
                e.path(),
                styr_service::wording::serde_message(&e.inner().to_string())
            )
        })?;
        for r in page.values {
            for v in r.values.into_iter().filter(|v| !v.isdeleted) {
                rows.push(KoladaRow {
                    kpi: r.kpi.clone(),
                    municipality: r.municipality.clone(),
                    period: r.period,
                    gender: v.gender,
                    status: v.status.unwrap_or_default(),
                    value: v.value,
                });
            }
        }
    }
    Ok(rows)
}

/// When the files were fetched: as given, or the newest file's time.
fn fetched_at(files: &[PathBuf], given: Option<DateTime<Utc>>) -> Result<DateTime<Utc>> {
    if let Some(t) = given {
        return Ok(t);
    }
    let mut newest = None;
    for f in files {
        let modified = std::fs::metadata(f)
            .and_then(|m| m.modified())
            .with_context(|| format!("läser tidpunkten för {}", f.display()))?;
        newest = newest.max(Some(DateTime::<Utc>::from(modified)));
    }
    newest.context("ingen fil att importera")
}

pub(crate) struct KoladaArgs<'a> {
    pub kommun: &'a str,
    pub files: &'a [PathBuf],
    pub official: &'a str,
    pub unit: &'a str,
    pub fetched: Option<DateTime<Utc>>,
}

pub(crate) async fn kolada(ctx: &mut Ctx<'_>, a: KoladaArgs<'_>) -> Result<Exit> {
    let cli = ctx.cli;
    let k = kommun(a.kommun)?;
    let rows = read_rows(a.files)?;
    let fetched = fetched_at(a.files, a.fetched)?;
    let backend = ctx.backend().await?;
    require_kommun(&backend.store, &k).await?;
    let kommuner = backend.kommuner();
    let (state, _) = kommuner.state(&k).await?;
    // What no indicator names, and what the last import already said, is
    // told and left out; the rest (another kommun's rows included) goes to
    // the decision, whose rules refuse what does not belong.
    let unknown: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !state.kolada_kpis.contains_key(&r.kpi))
        .map(|r| r.kpi.as_str())
        .collect();
    let unchanged = |r: &KoladaRow| {
        state
            .kolada_values
            .get(&(r.kpi.clone(), r.period, r.gender.clone()))
            == Some(&(r.value, r.status.clone()))
    };
    let new: Vec<KoladaRow> = rows
        .iter()
        .filter(|r| !unknown.contains(r.kpi.as_str()) && !unchanged(r))
        .cloned()
        .collect();
    let skipped = rows.len() - new.len();
    if !unknown.is_empty() {
        outln!(
            "nyckeltal som ingen indikator har (lägg till kolada_kpi på indikatorn för att importera dem): {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        )?;
    }
    if new.is_empty() {
        outln!(
            "inget nytt att registrera: {} värden lästa, alla redan registrerade eller utan indikator",
            rows.len()
        )?;
        return Ok(Exit::Ok);
    }
    let key = idempotency_key(&new, fetched);
    let submission = Submission {
        idempotency_key: key.clone(),
        recorded_by: cli.som.clone(),
        provenance: Provenance {
            decided_by: DecidedBy::Official {
                official: a.official.to_owned(),
                unit: a.unit.to_owned(),
                decision_date: fetched.date_naive(),
            },
            effective_date: fetched.date_naive(),
            announced: None,
            case_number: None,
            protocol_approved: None,
        },
        command: Command::ImportKolada(ImportKolada {
            fetched_at: fetched,
            rows: new.clone(),
        }),
        causation_id: None,
        correlation_id: None,
    };
    match kommuner.submit_as(&k, &cli.som, submission).await? {
        Outcome::Recorded(c) => outln!(
            "{} värden registrerade (sekvens {}); {skipped} oförändrade eller utan indikator hoppades över",
            new.len(),
            c.last_sequence
        )?,
        Outcome::Duplicate(c) => outln!(
            "importen {key} fanns redan (sekvens {}), inget nytt registrerat",
            c.last_sequence
        )?,
        Outcome::Rejected(r) => {
            eprintln!(
                "importen avslogs, inget registrerat: {}: {} [{}]",
                r.field, r.message, r.rule
            );
            return Ok(Exit::Rejected);
        }
    }
    Ok(Exit::Ok)
}

/// The same values fetched at the same time are the same import.
fn idempotency_key(rows: &[KoladaRow], fetched: DateTime<Utc>) -> String {
    let mut h = Sha256::new();
    h.update(fetched.to_rfc3339().as_bytes());
    h.update(serde_json::to_vec(rows).unwrap_or_default());
    format!(
        "kolada-{}-{}",
        fetched.format("%Y-%m-%d"),
        &hex::encode(h.finalize())[..16]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_koladas_response_shape() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("page.json");
        std::fs::write(
            &f,
            r#"{"values":[{"kpi":"N01951","municipality":"0884","period":2025,"values":[
                {"gender":"T","count":1,"status":"","value":84.7,"isdeleted":false},
                {"gender":"K","count":1,"status":"Saknas","value":null,"isdeleted":false},
                {"gender":"M","count":1,"status":"","value":80.0,"isdeleted":true}]}],
                "count":1,"next_page":null}"#,
        )
        .unwrap();
        let rows = super::read_rows(std::slice::from_ref(&f)).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].value, Some(84.7));
        assert_eq!(rows[1].status, "Saknas");
        assert_eq!(rows[1].value, None);
        std::fs::write(&f, r#"{"values":[{"kpi":"N01951"}]}"#).unwrap();
        let e = super::read_rows(&[f]).unwrap_err().to_string();
        assert!(e.contains("values[0]"), "{e}");
    }
}
