//! `styr plan | chain | gaps | audit | register`: the read models, live
//! from the local projection, as of a past moment, or from an export file.

use crate::*;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use styr_projections::docs::*;
use styr_projections::{AsOf, KvRead, MemKv, Past, Projector};
use styr_service::api::{QueryReply, QueryResult, RegisterDocs};
use styr_store::{EventStore, KommunId};

/// When to answer for: now (the live projection), or a past moment.
#[derive(Args, Debug, Clone)]
pub struct When {
    /// Det som gällde detta datum (beslut med verkan senast då).
    #[arg(long, value_name = "ÅÅÅÅ-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// Det systemet visade vid denna tidpunkt (händelser registrerade
    /// dittills), RFC 3339, t.ex. 2026-06-01T12:00:00Z.
    #[arg(long, value_name = "TIDPUNKT", conflicts_with = "as_of")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Svara ur en exportfil i stället för den levande historiken (offline:
    /// ingen server, inga projektioner); går att kombinera med --as-of och
    /// --recorded-at.
    #[arg(long, value_name = "FIL")]
    pub file: Option<std::path::PathBuf>,
    /// Samma JSON-dokument som tjänsten svarar med, i stället för en tabell.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Query {
    /// Gällande planer för ett år: budget med skattesats, plan för ekonomin
    /// och investeringar, ramar med beslutet som satte dem, KF-mål med utfall,
    /// varje nämnds plan, uppdrag.
    Plan {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Året, t.ex. 2026.
        #[arg(value_name = "ÅR")]
        year: i32,
        #[command(flatten)]
        when: When,
    },
    /// Styrkedjan kring en nod (`goal/kf-m2`, `activity/<plan>/<id>`,
    /// `unit/<id>`, `uppdrag/<id>`): vägen upp till KF och allt under.
    Chain {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Noden, t.ex. goal/kf-m2.
        #[arg(value_name = "NOD")]
        node: String,
        #[command(flatten)]
        when: When,
    },
    /// Luckor i den röda tråden och mot lagen för ett år, med skäl.
    Gaps {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Året, t.ex. 2026.
        #[arg(value_name = "ÅR")]
        year: i32,
        /// Datumet perioderna bedöms per (standard: i dag).
        #[arg(long, value_name = "ÅÅÅÅ-MM-DD")]
        today: Option<NaiveDate>,
        #[command(flatten)]
        when: When,
    },
    /// Agenda 2030: vad som tjänar ett av de 17 globala målen — varje
    /// KF-mål, nämndmål och processmål som anger målet eller något av dess
    /// delmål, och varje sådan indikator, med utfall, över organ,
    /// processer och år.
    Agenda2030 {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Det globala målets nummer, 1–17.
        #[arg(value_name = "MÅL", value_parser = parse_global_goal)]
        goal: u8,
        #[command(flatten)]
        when: When,
    },
    /// Revisionsspåret för ett objekt (`uppdrag/u-2026-01`, `goal/kf-m1`,
    /// `namndplan/bun/2026`, `deviation/<id>`, `investment/<id>`,
    /// `report/bun/2026/delarsrapport` …).
    Audit {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Objektets sökväg, t.ex. uppdrag/u-2026-01.
        #[arg(value_name = "OBJEKT")]
        entity: String,
        #[command(flatten)]
        when: When,
    },
    /// Ett register: uppdrag, avvikelser, rapporter, intern kontroll,
    /// brister, granskningar, behörigheter, intrång, investeringar, mål,
    /// organ, enheter, planer.
    Register {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Registret: uppdrag, avvikelser, rapporter, intern-kontroll,
        /// brister, granskningar, behorigheter, intrang, investeringar, mal,
        /// organ, enheter eller planer.
        #[arg(value_name = "REGISTER", value_parser = parse_register)]
        register: Register,
        #[command(flatten)]
        when: When,
    },
}

/// Reads a register's name as a person types it (`avvikelser`,
/// `intern-kontroll`, `behörigheter`, …; the API's names work too).
fn parse_register(name: &str) -> Result<Register, String> {
    Register::from_swedish(name).ok_or_else(|| {
        let known: Vec<&str> = Register::ALL.iter().map(|r| r.swedish()).collect();
        format!("okänt register; ett av {}", known.join(", "))
    })
}

/// A goal's years as a person writes them: `2026`, or `2026–2029`.
pub(crate) fn years(from: i32, to: i32) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}–{to}")
    }
}

/// A decimal as Swedish text writes it: `84,3`, `−1,3`.
pub(crate) fn decimal(v: f64) -> String {
    v.to_string().replace('.', ",").replace('-', "−")
}

/// Reads one of Agenda 2030's goals by its number, 1–17.
fn parse_global_goal(s: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .filter(|n| styr_domain::GlobalGoal::get(*n).is_some())
        .ok_or_else(|| format!("{s:?} är inget av Agenda 2030:s mål: ange ett nummer 1–17"))
}

/// The kommun as it stands now: this node's projection brought up to
/// date, or — while `styr serve` has the projection open — the stream
/// folded in memory (slower, the same answer).
pub(crate) async fn now(
    store: &EventStore,
    dir: &std::path::Path,
    kommun: &KommunId,
) -> Result<View> {
    let sequence = store.last_sequence(kommun).await?;
    let source = match projection(store, dir, kommun).await? {
        Some(p) => Source::Live(Box::new(p)),
        None => Source::Past {
            past: Past::Folded(
                styr_projections::as_of(store, kommun, AsOf::Sequence(sequence)).await?,
            ),
            _projector: None,
        },
    };
    Ok(View { source, sequence })
}

enum Source {
    Live(Box<Projector>),
    /// A past view; read from the projection's versions when it is open
    /// (kept open while the view is read).
    Past {
        past: Past,
        _projector: Option<Box<Projector>>,
    },
    /// Folded from a history file.
    File(MemKv),
}

/// A read model to answer from, and the kommun's last sequence it was
/// answered at (the `sequence` of a `--json` reply).
pub(crate) struct View {
    source: Source,
    /// The stream's last sequence when the view was taken.
    pub(crate) sequence: u64,
}

impl View {
    pub(crate) fn kv(&self) -> &dyn KvRead {
        match &self.source {
            Source::Live(p) => p.view(),
            Source::Past { past, .. } => past,
            Source::File(m) => m,
        }
    }

    /// Prints the reply document the service sends for the same question.
    fn reply(&self, kommun: &KommunId, result: QueryResult) -> Result<()> {
        json(&QueryReply::new(kommun.to_string(), self.sequence, result))
    }
}

impl Query {
    fn when(&self) -> &When {
        match self {
            Query::Plan { when, .. }
            | Query::Chain { when, .. }
            | Query::Gaps { when, .. }
            | Query::Audit { when, .. }
            | Query::Agenda2030 { when, .. }
            | Query::Register { when, .. } => when,
        }
    }

    /// Answered from a file, without NATS.
    pub fn offline(&self) -> bool {
        self.when().file.is_some()
    }
}

async fn view(
    store: Option<&EventStore>,
    dir: &std::path::Path,
    kommun: &KommunId,
    when: &When,
) -> Result<View> {
    let at = match (when.as_of, when.recorded_at) {
        (Some(d), _) => Some(AsOf::InForce(d)),
        (None, Some(t)) => Some(AsOf::Recorded(t)),
        (None, None) => None,
    };
    if let Some(file) = &when.file {
        // A revisor's question is answered only from a history that holds.
        let (header, entries, verified) =
            crate::audit::verify_file(file, styr_audit::Options::default())?;
        if &header.kommun != kommun {
            anyhow::bail!(
                "{} innehåller kommunen {}, inte {kommun}",
                file.display(),
                header.kommun
            );
        }
        if let Err(b) = verified {
            anyhow::bail!(
                "{} håller inte ({b}); inget svar byggs på en historik som inte verifieras (se `styr verify --file`)",
                file.display()
            );
        }
        let records = crate::audit::stored(&header, &entries)?;
        let sequence = entries.last().map_or(0, |e| e.sequence);
        let kept = records.iter().filter(|r| match (r, at) {
            (styr_store::Record::Event(e), Some(a)) => a.includes(e),
            _ => true,
        });
        return Ok(View {
            source: Source::File(styr_projections::fold_records(kommun, kept)?),
            sequence,
        });
    }
    let store = store.context("en fråga mot den levande historiken behöver NATS")?;
    crate::require_kommun(store, kommun).await?;
    let sequence = store.last_sequence(kommun).await?;
    let live = projection(store, dir, kommun).await;
    // A question about the past does not need the projection: if it does
    // not open or catch up, the history is folded instead.
    let live = match (at, live) {
        (Some(_), Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "the projection is not usable; folding the history");
            None
        }
        (_, live) => live?,
    };
    let source = match (at, live) {
        (Some(at), Some(p)) => {
            let past = p.as_of(store, kommun, at).await?;
            Source::Past {
                past,
                _projector: Some(Box::new(p)),
            }
        }
        (Some(at), None) => Source::Past {
            past: Past::Folded(styr_projections::as_of(store, kommun, at).await?),
            _projector: None,
        },
        (None, Some(p)) => Source::Live(Box::new(p)),
        (None, None) => Source::Past {
            past: Past::Folded(
                styr_projections::as_of(store, kommun, AsOf::Sequence(sequence)).await?,
            ),
            _projector: None,
        },
    };
    Ok(View { source, sequence })
}

/// This node's projection of `kommun`, caught up and read through once;
/// `None` when `styr serve` has it open.
async fn projection(
    store: &EventStore,
    dir: &std::path::Path,
    kommun: &KommunId,
) -> Result<Option<Projector>> {
    Ok(match Projector::open(dir) {
        // `styr serve` has this node's projection open: answer from the
        // stream itself, folded in memory (slower, the same answer).
        Err(styr_projections::ProjectionError::InUse { .. }) => None,
        Err(e) => {
            return Err(e)
                .with_context(|| format!("kunde inte öppna projektionen i {}", dir.display()))
        }
        // Caught up and read through once (the digest reads every view
        // and history of the kommun), so damage shows here, not halfway
        // through an answer.
        Ok(p) => match p
            .catch_up(store, kommun)
            .await
            .and_then(|_| p.digest(kommun))
        {
            Ok(_) => Some(p),
            // Damage found while reading: the folder is a cache, so
            // start it afresh from the stream.
            Err(styr_projections::ProjectionError::Sled(e)) => {
                tracing::warn!(error = %e, "projection damaged; rebuilding it");
                drop(p);
                Projector::discard(dir)?;
                let p = Projector::open(dir)?;
                p.catch_up(store, kommun)
                    .await
                    .context("kunde inte uppdatera projektionen")?;
                Some(p)
            }
            Err(e) => return Err(e).context("kunde inte uppdatera projektionen"),
        },
    })
}

fn json<T: serde::Serialize>(v: &T) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?)?;
    Ok(())
}

pub async fn run(store: Option<&EventStore>, dir: &std::path::Path, query: &Query) -> Result<()> {
    match query {
        Query::Plan { kommun, year, when } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            if when.json {
                // The service's answer: each indicator's and uppdrag's
                // latest values, with their counts.
                let plan = styr_projections::plan_answer(v.kv(), &k, *year)?;
                let plan = styr_projections::PlanAnswer::Answered(Box::new(plan));
                return v.reply(&k, QueryResult::Plan(plan));
            }
            print_plan(&styr_projections::plan(v.kv(), &k, *year)?)?;
        }
        Query::Chain { kommun, node, when } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            let Some(c) = styr_projections::chain(v.kv(), &k, node)? else {
                anyhow::bail!("noden {node:?} finns inte i {k}s styrkedja (prova goal/<id>, unit/<id>, uppdrag/<id>, budget/<år>, activity/<plan>/<id>)");
            };
            if when.json {
                return v.reply(&k, QueryResult::Chain(c));
            }
            print_chain(&c)?;
        }
        Query::Gaps {
            kommun,
            year,
            today,
            when,
        } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            let today = today
                .or(when.as_of)
                .unwrap_or_else(|| Utc::now().date_naive());
            let gaps = styr_projections::gaps(v.kv(), &k, *year, today)?;
            if when.json {
                return v.reply(&k, QueryResult::Gaps(gaps));
            }
            outln!(
                "Luckor i styrkedjan {year} (bedömt {today}): {}",
                gaps.len()
            )?;
            for g in gaps {
                outln!("  ⚠ {:<30} {:<36} {}", g.kind_sv(), g.entity, g.reason)?;
            }
        }
        Query::Audit {
            kommun,
            entity,
            when,
        } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            let h = styr_projections::history(v.kv(), &k, entity)?;
            if when.json {
                return v.reply(&k, QueryResult::History(h));
            }
            print_history(&k, entity, &h)?;
        }
        Query::Agenda2030 { kommun, goal, when } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            let a = styr_projections::agenda2030(v.kv(), &k, *goal)?
                .with_context(|| format!("Agenda 2030 har mål 1–17, inte {goal}"))?;
            if when.json {
                return v.reply(&k, QueryResult::Agenda2030(Box::new(a)));
            }
            print_agenda2030(&a)?;
        }
        Query::Register {
            kommun,
            register,
            when,
        } => {
            let k = crate::kommun(kommun)?;
            let v = view(store, dir, &k, when).await?;
            if when.json {
                let docs = RegisterDocs::load(v.kv(), &k, *register)?;
                return v.reply(&k, QueryResult::Register(docs));
            }
            crate::registers::print(v.kv(), &k, *register)?;
        }
    }
    Ok(())
}

fn print_agenda2030(a: &styr_projections::Agenda2030View) -> Result<()> {
    outln!(
        "Agenda 2030 mål {} — {} (delmål {})",
        a.goal,
        a.name,
        a.targets.join(", ")
    )?;
    if a.serving.is_empty() {
        outln!("Inget mål och ingen indikator anger mål {} ännu.", a.goal)?;
    }
    for g in &a.serving {
        let who = match g.level.as_str() {
            "kf" => "KF-mål".to_owned(),
            "process" => format!(
                "processmål i processen {}",
                g.process.as_deref().unwrap_or_default()
            ),
            _ => format!(
                "nämndmål {}",
                g.body.as_deref().unwrap_or_default().to_uppercase()
            ),
        };
        outln!(
            "  {} {} ({who}, {}){}",
            g.path,
            g.title,
            years(g.from_year, g.to_year),
            crate::registers::agenda_tags(&g.tags)
        )?;
        for i in &g.indicators {
            let latest = i
                .outcomes
                .iter()
                .max_by(|x, y| x.period.cmp(&y.period).then(x.sequence.cmp(&y.sequence)));
            let kolada = i
                .kolada_kpi
                .iter()
                .chain(&i.kolada_kpi_group)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            outln!(
                "      {:<44} {}{}",
                if kolada.is_empty() {
                    i.name.clone()
                } else {
                    format!("{} ({kolada})", i.name)
                },
                latest.map_or("inget utfall".to_owned(), |o| format!(
                    "utfall {} ({}, {}; {})",
                    decimal(o.value),
                    o.period,
                    o.source,
                    match i.outcome_count {
                        1 => "1 värde".to_owned(),
                        n => format!("{n} värden"),
                    }
                )),
                crate::registers::agenda_tags(&i.tags)
            )?;
        }
    }
    outln!("Listan: {}", a.list)?;
    Ok(())
}

fn print_chain(c: &styr_projections::ChainPath) -> Result<()> {
    outln!("{} — {}", c.node.path, c.node.label)?;
    outln!("Uppåt i kedjan:")?;
    for n in &c.up {
        outln!("  ↑ {:<36} {}", n.path, n.label)?;
    }
    outln!("Nedåt i kedjan:")?;
    for n in &c.down {
        outln!("  ↓ {:<36} {}", n.path, n.label)?;
    }
    Ok(())
}

/// An entity's audit trail as a table.
fn print_history(k: &KommunId, entity: &str, history: &[HistoryEntry]) -> Result<()> {
    if history.is_empty() {
        anyhow::bail!("objektet {entity:?} har inga händelser i {k} (sökvägar ser ut som uppdrag/u-2026-01, goal/kf-m1, namndplan/bun/2026)");
    }
    outln!("Revisionsspår för {entity} i {k}:")?;
    outln!(
        "{:>5}  {:<30} {:<38} {:<11} {:<20} {:<22} hash",
        "sekv",
        "händelse",
        "beslut",
        "gäller från",
        "registrerad",
        "av"
    )?;
    for e in history {
        outln!(
            "{:>5}  {:<30} {:<38} {:<11} {:<20} {:<22} {}…{}",
            e.sequence,
            e.event_type,
            e.provenance.decided_by.to_string(),
            e.provenance.effective_date,
            e.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            e.recorded_by,
            &e.hash[..12],
            e.corrects
                .map(|c| format!(" rättar {c}"))
                .unwrap_or_default()
        )?;
        if let Some(note) = &e.correction {
            let ground = note
                .ground
                .map_or("utan verkan (äldre rättelse)", |g| g.swedish());
            outln!(
                "       rättelse, {ground} (förvaltningslagen 36 §): {}",
                note.reason
            )?;
            for f in &note.fields {
                let before = f.before.as_ref().map_or("–".to_owned(), |v| v.to_string());
                outln!("         {}: {before} → {}", f.field, f.after)?;
            }
        }
    }
    Ok(())
}

fn print_plan(plan: &styr_projections::PlanView) -> Result<()> {
    match &plan.budget {
        Some(b) => print_budget_parts(b, plan.year)?,
        None => outln!("Ingen antagen budget omfattar {}", plan.year)?,
    }
    outln!("\nKF-mål {}:", plan.year)?;
    for g in &plan.kf_goals {
        outln!("  {} {} ({})", g.id, g.title, years(g.from_year, g.to_year))?;
        let latest = g.latest();
        for i in &g.indicators {
            let target = i
                .targets
                .iter()
                .find(|t| t.year == plan.year)
                .map(|t| t.value);
            let outcome = latest.get(i.id.as_str());
            outln!(
                "      {:<44} målvärde {:>8}  utfall {}",
                format!(
                    "{}{}",
                    i.name,
                    i.kolada_kpi
                        .as_ref()
                        .map(|k| format!(" ({k})"))
                        .unwrap_or_default()
                ),
                target.map_or("–".to_owned(), |t| t.to_string()),
                outcome.map_or("–".to_owned(), |o| format!(
                    "{} ({}, {})",
                    o.value, o.period, o.source
                ))
            )?;
        }
    }
    outln!("\nNämnder {}:", plan.year)?;
    outln!(
        "  {:<40} {:>12}  {:>10}  nämndmål  {:<24}  ramen beslutad",
        "nämnd",
        "ram tkr",
        "fördelat",
        "planer"
    )?;
    for n in &plan.namnder {
        let distributed: i64 = n.plan.as_ref().map_or(0, |p| p.detaljbudget.values().sum());
        let set_by = plan
            .budget
            .as_ref()
            .and_then(|b| b.ram_set_by(&n.body.id, plan.year))
            .map_or(String::new(), |e| {
                format!("{} ({})", e.source.decided, e.change.swedish())
            });
        outln!(
            "  {:<40} {:>12}  {:>10}  {:>8}  {:<24}  {}",
            n.body.name,
            n.ram.map_or("–".to_owned(), |r| r.to_string()),
            if distributed == 0 {
                "–".to_owned()
            } else {
                distributed.to_string()
            },
            n.goals.len(),
            n.plans
                .iter()
                .map(|p| format!("{} v{}", p.id, p.version))
                .collect::<Vec<_>>()
                .join(", "),
            set_by
        )?;
    }
    print_investments(plan)?;
    print_balanskrav(plan)?;
    print_processes(plan)?;
    outln!("\nUppdrag:")?;
    for u in &plan.uppdrag {
        let status = u.status.last().map_or("ingen återrapport".to_owned(), |s| {
            format!("{} per {}", s.status.swedish(), s.as_of)
        });
        let state = if u.closed.is_some() {
            "avslutat".to_owned()
        } else if plan.overdue.contains(&u.id) {
            format!(
                "FÖRFALLET: skulle vara klart {}, inte avslutat av KF ({status})",
                u.due
            )
        } else {
            format!("{status}; ska vara klart {}", u.due)
        };
        outln!("  {:<10} {:<44} {state}", u.id, u.title)?;
    }
    Ok(())
}

/// The processes running in the plan's year: their goals and who contributes.
fn print_processes(plan: &styr_projections::PlanView) -> Result<()> {
    if plan.processes.is_empty() {
        return Ok(());
    }
    outln!("\nProcesser {}:", plan.year)?;
    for v in &plan.processes {
        let malgrupper: Vec<&str> = v.malgrupper.iter().map(|m| m.name.as_str()).collect();
        outln!(
            "  {} {} (ägare {}; för {})",
            v.process.id,
            v.process.name,
            v.process.owner.to_uppercase(),
            malgrupper.join(", ")
        )?;
        for g in &v.goals {
            let mut by: Vec<String> = v
                .namndmal
                .iter()
                .filter(|m| m.goals.contains(&g.id))
                .map(|m| m.body.to_uppercase())
                .chain(
                    v.contributions
                        .iter()
                        .filter(|c| c.goal == g.id)
                        .map(|c| c.body.to_uppercase()),
                )
                .collect();
            by.sort();
            by.dedup();
            outln!(
                "      {} {}{} — bidrar: {}",
                g.id,
                g.title,
                crate::registers::agenda_tags(&g.agenda2030),
                if by.is_empty() {
                    "ingen ännu".to_owned()
                } else {
                    by.join(", ")
                }
            )?;
        }
    }
    Ok(())
}

/// A terminal table with a header row, right-aligning the columns `numeric`.
fn table(header: &[&str], numeric: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    for &i in numeric {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

/// Skattesats, the plan för ekonomin and the RUR, each with the decision
/// that set it.
fn print_budget_parts(b: &BudgetDoc, year: i32) -> Result<()> {
    outln!(
        "Budget {} med plan {}–{}: antagen {}{}",
        b.year,
        b.plan_years[0],
        b.plan_years[1],
        b.source.decided,
        b.established.as_ref().map_or_else(
            || ", ännu inte fastställd".to_owned(),
            |s| format!(", fastställd {}", s.decided)
        )
    )?;
    for c in b
        .changes
        .iter()
        .map(|e| (e.change, &e.source))
        .chain(b.part_changes.iter().map(|p| (p.change, &p.source)))
        .filter(|(c, _)| {
            !matches!(
                c,
                styr_domain::BudgetChange::Budget | styr_domain::BudgetChange::Established
            )
        })
        .map(|(c, s)| format!("{} {}", c.swedish(), s.decided))
        .collect::<std::collections::BTreeSet<_>>()
    {
        outln!("  ändrad genom {c}")?;
    }
    match &b.skattesats {
        Some(s) => outln!(
            "Skattesats {}: {} ({}, {})",
            b.year,
            s.value,
            s.change.swedish(),
            s.source.decided
        )?,
        None => outln!("Skattesats {}: inte beslutad", b.year)?,
    }
    if let Some(e) = &b.economy {
        outln!(
            "\nPlan för ekonomin, tkr ({}, {}):",
            e.change.swedish(),
            e.source.decided
        )?;
        let mut t = table(
            &[
                "år",
                "skatteintäkter",
                "generella statsbidrag",
                "nettokostnader",
                "finansnetto",
                "resultat",
                "resultat %",
                "eget kapital",
                "förändring likvida medel",
            ],
            &[1, 2, 3, 4, 5, 6, 7, 8],
        );
        for y in &e.value {
            let r = &y.resultat;
            let revenue = r.skatteintakter.saturating_add(r.generella_statsbidrag);
            let share = if revenue == 0 {
                "–".to_owned()
            } else {
                decimal((r.resultat as f64 * 1000.0 / revenue as f64).round() / 10.0)
            };
            t.add_row(vec![
                y.year.to_string(),
                styr_audit::grouped(r.skatteintakter),
                styr_audit::grouped(r.generella_statsbidrag),
                styr_audit::grouped(r.verksamhetens_nettokostnader),
                styr_audit::grouped(r.finansnetto),
                styr_audit::grouped(r.resultat),
                share,
                styr_audit::grouped(y.balans.eget_kapital),
                styr_audit::grouped(y.finansiering.forandring_likvida_medel),
            ]);
        }
        outln!("{t}")?;
    }
    for f in &b.balanskrav {
        let v = &f.value;
        let mut parts = Vec::new();
        if let Some(why) = &v.synnerliga_skal {
            parts.push(format!("negativt resultat av synnerliga skäl: {why}"));
        }
        for r in &v.reglering {
            parts.push(format!(
                "{} tkr av underskottet {} återställs {}",
                styr_audit::grouped(r.amount),
                r.of_year,
                r.year
            ));
        }
        for a in &v.avstar {
            parts.push(format!(
                "underskottet {} återställs inte: {}",
                a.of_year, a.reason
            ));
        }
        outln!(
            "Balanskrav: {} ({}, {})",
            parts.join("; "),
            f.change.swedish(),
            f.source.decided
        )?;
    }
    for r in b.rur.values().filter(|r| r.value.year == year) {
        outln!(
            "Resultatutjämningsreserv {}: reservering {} tkr, disposition {} tkr enligt {} ({}, {})",
            r.value.year,
            styr_audit::grouped(r.value.reservation),
            styr_audit::grouped(r.value.disposition),
            r.value.riktlinjer,
            r.change.swedish(),
            r.source.decided
        )?;
    }
    Ok(())
}

/// The budget's economy for the plan's year: skattesats, plan för ekonomin,
/// RUR, investments and balanskrav (the example's summary).
pub(crate) fn print_economy(plan: &styr_projections::PlanView) -> Result<()> {
    if let Some(b) = &plan.budget {
        print_budget_parts(b, plan.year)?;
    }
    print_investments(plan)?;
    print_balanskrav(plan)?;
    Ok(())
}

fn print_investments(plan: &styr_projections::PlanView) -> Result<()> {
    if plan.investments.is_empty() {
        return Ok(());
    }
    outln!("\nInvesteringar {}, tkr:", plan.year)?;
    let mut t = table(
        &[
            "investering",
            "nämnd",
            "projekt",
            "total",
            "budget",
            "utfall",
            "prognos",
            "uppföljd i",
            "budget beslutad",
        ],
        &[3, 4, 5, 6],
    );
    for i in &plan.investments {
        let latest = i.follow_ups.iter().rev().find(|f| f.year == plan.year);
        let set_by = i.set_by(plan.year).map_or(String::new(), |e| {
            format!("{} ({})", e.source.decided, e.change.swedish())
        });
        t.add_row(vec![
            i.id.clone(),
            i.investment.body.clone(),
            i.investment.title.clone(),
            styr_audit::grouped(i.investment.total),
            styr_audit::grouped(i.budget_for(plan.year).unwrap_or_default()),
            latest.map_or("–".to_owned(), |f| styr_audit::grouped(f.outcome)),
            latest
                .and_then(|f| f.forecast)
                .map_or("–".to_owned(), styr_audit::grouped),
            latest.map_or("–".to_owned(), |f| f.report.swedish().to_owned()),
            set_by,
        ]);
    }
    outln!("{t}")?;
    Ok(())
}

fn print_balanskrav(plan: &styr_projections::PlanView) -> Result<()> {
    let Some(b) = &plan.balanskrav else {
        return Ok(());
    };
    outln!("\nBalanskravsutredning {}, tkr:", plan.year)?;
    let mut t = table(
        &[
            "rapport",
            "årets resultat",
            "justeringar",
            "balanskravsresultat",
            "till RUR",
            "från RUR",
            "efter RUR",
            "beslut",
        ],
        &[1, 2, 3, 4, 5, 6],
    );
    for e in &b.reports {
        let u = &e.utredning;
        t.add_row(vec![
            e.report.swedish().to_owned(),
            styr_audit::grouped(u.arets_resultat),
            styr_audit::grouped(u.justeringar),
            styr_audit::grouped(u.balanskravsresultat),
            styr_audit::grouped(u.till_rur),
            styr_audit::grouped(u.fran_rur),
            styr_audit::grouped(u.efter_rur),
            e.source.decided.clone(),
        ]);
    }
    outln!("{t}")?;
    Ok(())
}

/// Where a status was reported, in Swedish: a status report of its own, or
/// a follow-up report.
pub(crate) fn via_sv(via: &str) -> &str {
    match via {
        "status_report" => "statusrapport",
        "budgetuppfoljning" => "budgetuppföljning",
        "delarsrapport" => "delårsrapport",
        "arsredovisning" => "årsredovisning",
        other => other,
    }
}

pub(crate) async fn query(ctx: &mut Ctx<'_>, q: &Query) -> Result<Exit> {
    let cli = ctx.cli;
    if q.offline() {
        run(None, &cli.projections(), q).await?;
    } else {
        let backend = ctx.backend().await?;
        run(Some(&backend.store), &cli.projections(), q).await?;
    }
    Ok(Exit::Ok)
}
