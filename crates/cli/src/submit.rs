//! `styr submit`: decisions from a JSON or YAML file, one by one.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;
use styr_service::{Outcome, Submission};

pub(crate) async fn submit(ctx: &mut Ctx<'_>, k: &str, file: &std::path::Path) -> Result<Exit> {
    let cli = ctx.cli;
    let k = kommun(k)?;
    let submissions = read_submissions(file)?;
    let backend = ctx.backend().await?;
    let kommuner = backend.kommuner();
    // Only a register_kommun starts a history: any other first decision
    // to a kommun with none is a mistyped name, said as such (the domain
    // would refuse it too, without knowing the name).
    let registers = matches!(
        submissions.first().map(|s| &s.command),
        Some(styr_domain::Command::RegisterKommun(_))
    );
    if !registers {
        crate::context::require_kommun(kommuner.store(), &k).await?;
    }
    let bar = progress(submissions.len() as u64, "registrerar");
    for (i, s) in submissions.into_iter().enumerate() {
        bar.inc(1);
        let key = s.idempotency_key.clone();
        match kommuner.submit_as(&k, &cli.som, s).await? {
            Outcome::Recorded(c) => outln!(
                "{key}: registrerat, sekvens {}–{}",
                c.first_sequence,
                c.last_sequence
            )?,
            Outcome::Duplicate(c) => outln!(
                "{key}: fanns redan (sekvens {}–{}), inget nytt registrerat",
                c.first_sequence,
                c.last_sequence
            )?,
            Outcome::Rejected(r) => {
                eprintln!(
                    "{}: beslut {i} ({key}) avslogs: {}: {} [{}]",
                    file.display(),
                    r.field,
                    r.message,
                    r.rule
                );
                return Ok(Exit::Rejected);
            }
        }
    }
    Ok(Exit::Ok)
}

fn read_submissions(file: &std::path::Path) -> Result<Vec<Submission>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("läser {}", file.display()))?;
    let yaml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        let value: serde_json::Value = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{}: inte giltig YAML", file.display()))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        return items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_path_to_error::deserialize(v).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: beslut {i}, fältet {}: {}",
                        file.display(),
                        e.path(),
                        styr_service::wording::serde_message(&e.inner().to_string())
                    )
                })
            })
            .collect();
    }
    // JSON straight into the types (not through a map): a key given twice
    // is refused here as it is over NATS, and errors name the field.
    let many = text.trim_start().starts_with('[');
    let de = &mut serde_json::Deserializer::from_str(&text);
    let parsed = if many {
        serde_path_to_error::deserialize::<_, Vec<Submission>>(de)
    } else {
        serde_path_to_error::deserialize::<_, Submission>(de).map(|s| vec![s])
    };
    parsed.map_err(|e| {
        let why = styr_service::wording::serde_message(&e.inner().to_string());
        if e.inner().is_syntax() || e.inner().is_eof() {
            anyhow::anyhow!("{}: inte giltig JSON: {why}", file.display())
        } else {
            match e.path().to_string().as_str() {
                "." => anyhow::anyhow!("{}: {why}", file.display()),
                path => anyhow::anyhow!("{}: fältet {path}: {why}", file.display()),
            }
        }
    })
}
