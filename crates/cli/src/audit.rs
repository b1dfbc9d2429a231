//! Helpers of the integrity verbs (`integrity.rs`): trust options, export
//! files read and verified, verification results printed, the checkpointer.

use std::path::Path;

use anyhow::{Context, Result};
use styr_audit::{
    read_export, Break, Checkpointer, ExportEntry, ExportHeader, Options, Report, Verifier,
};
use styr_store::{ChainState, EventStore, KommunId, Record};

/// What the auditor trusts from outside the history.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Trust {
    /// Kommunens första publika signeringsnyckel (hex, eller dess nyckel-id
    /// på 16 tecken), fått på annan väg (`styr key`).
    #[arg(long, value_name = "NYCKEL")]
    pub trusted_key: Option<String>,
    /// En tidigare antecknad kontrollpunkt, som SEKVENS:HASH (kan upprepas).
    #[arg(long, value_name = "SEKVENS:HASH")]
    pub pin: Vec<String>,
}

impl Trust {
    pub fn options(&self) -> Result<Options> {
        let pins = self
            .pin
            .iter()
            .map(|p| {
                let (s, h) = p
                    .split_once(':')
                    .with_context(|| format!("--pin {p:?}: skriv SEKVENS:HASH"))?;
                Ok((
                    s.parse()
                        .with_context(|| format!("--pin {p:?}: sekvensen är inget heltal"))?,
                    h.to_owned(),
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Options {
            trusted_key: self.trusted_key.clone(),
            pins,
        })
    }
}

pub fn load_export(file: &Path) -> Result<(ExportHeader, Vec<ExportEntry>)> {
    let f = std::fs::File::open(file)
        .with_context(|| format!("kunde inte öppna {}", file.display()))?;
    read_export(std::io::BufReader::new(f))
        .with_context(|| format!("kunde inte läsa {}", file.display()))
}

/// Verifies an export file with no server and no projections.
pub fn verify_file(
    file: &Path,
    options: Options,
) -> Result<(ExportHeader, Vec<ExportEntry>, Result<Report, Break>)> {
    let (header, entries) = load_export(file)?;
    let mut v = Verifier::new(header.kommun.clone(), options);
    for e in &entries {
        if let Err(b) = v.push(e.sequence, &e.bytes(), Some(&e.hash)) {
            return Ok((header, entries, Err(b)));
        }
    }
    let result = v.finish(Some(header.last_sequence));
    Ok((header, entries, result))
}

/// The file's messages, classified as a reader of the live stream would —
/// quietly: a file's foreign messages are reported by its verification, not
/// logged one line each as an intrusion into a live stream is.
pub fn stored(header: &ExportHeader, entries: &[ExportEntry]) -> Result<Vec<Record>> {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        classify(header, entries)
    })
}

fn classify(header: &ExportHeader, entries: &[ExportEntry]) -> Result<Vec<Record>> {
    let mut chain = ChainState::genesis(&header.kommun);
    entries
        .chunks(1024)
        .flat_map(|run| {
            chain.classify_run(run.iter().map(|e| (e.sequence, e.bytes().into())).collect())
        })
        .map(|r| r.map_err(Into::into))
        .collect()
}

pub fn print_result(kommun: &str, result: &Result<Report, Break>) -> Result<bool> {
    match result {
        Ok(r) => {
            outln!(
                "✓ {kommun}: {} händelser verifierade; kedjans huvud {} vid sekvens {}",
                r.events,
                r.head_hash,
                r.head_sequence
            )?;
            match r.last_checkpoint() {
                Some((covered, at, key, signed_at)) => outln!(
                    "  senaste signerade kontrollpunkt: sekvens {covered} (händelse {at}), nyckel {key}, {signed_at}; {}, nycklar {}",
                    if r.checkpoints.len() == 1 {
                        "1 kontrollpunkt".to_owned()
                    } else {
                        format!("{} kontrollpunkter", r.checkpoints.len())
                    },
                    r.keys.join(", ")
                )?,
                None => outln!("  ingen signerad kontrollpunkt ännu (`styr checkpoint {kommun}`)")?,
            }
            Ok(true)
        }
        Err(b) => {
            outln!("✗ {kommun}: historiken håller inte, {b}")?;
            for f in &b.foreign {
                outln!(
                    "  INTRÅNG vid sekvens {}: främmande meddelande, inte skrivet av Styrkedja ({})",
                    f.sequence, f.reason
                )?;
            }
            Ok(false)
        }
    }
}

/// Prints what each reference to a kommunalförbund's own history found;
/// false when one points at another decision than the one recorded, or at
/// nothing that can be read.
pub fn print_references(
    checked: &[(styr_audit::ForbundReference, styr_audit::ReferenceOutcome)],
) -> Result<bool> {
    use styr_audit::ReferenceOutcome as O;
    let mut ok = true;
    for (r, outcome) in checked {
        let at = format!(
            "sekvens {} hänvisar till {} sekvens {}",
            r.sequence, r.stream, r.referenced_sequence
        );
        match outcome {
            O::Holds {
                event_type,
                decided,
            } => outln!(
                "  ✓ {at}: där står {event_type}, beslutat {decided}, med den angivna hashen"
            )?,
            O::Differs { actual } => {
                ok = false;
                outln!(
                    "  ✗ {at}: hashen där är {actual}, inte den angivna {} — hänvisningen pekar på ett annat beslut",
                    r.hash
                )?
            }
            O::Unreachable { reason } => {
                ok = false;
                outln!("  ✗ {at}: kunde inte kontrolleras, så den håller inte ({reason})")?
            }
        }
    }
    Ok(ok)
}

pub async fn export(
    store: &EventStore,
    kommun: &KommunId,
    up_to: Option<u64>,
    out: &Path,
    progress: impl FnMut(u64),
) -> Result<ExportHeader> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(out)
            .with_context(|| format!("kunde inte skapa {}", out.display()))?,
    );
    Ok(styr_audit::write_export_with(store, kommun, up_to, &mut f, progress).await?)
}

pub fn checkpointer(store: &EventStore) -> Checkpointer<'_> {
    Checkpointer { store }
}
