//! `styr example`: loads the example kommun through the command path, brings
//! this node's projection up to date, and shows from the read models what a
//! newcomer should see first: the styrkedja for 2026, its gaps, the uppdrag,
//! the follow-up, and one uppdrag's full audit history.

use crate::*;
use anyhow::{Context, Result};
use styr_projections::docs::*;
use styr_projections::KvRead;
use styr_service::{example, Kommuner, Outcome};
use styr_store::KommunId;

/// The year the example is about, and the day its gaps are judged on (the
/// example's last decisions are from spring 2027).
const YEAR: i32 = 2026;

pub async fn run(
    kommuner: &Kommuner,
    kommun: &KommunId,
    identity: &str,
    projections: &std::path::Path,
) -> Result<()> {
    let submissions =
        example::vimmerby().context("den inbyggda exempelkommunen går inte att läsa")?;
    let v = load(kommuner, kommun, identity, projections, submissions).await?;
    let kv = v.kv();
    print_chain(kv, kommun)?;
    outln!("\nBudget och ekonomi {YEAR}:")?;
    crate::views::print_economy(&styr_projections::plan(kv, kommun, YEAR)?)?;
    let today = chrono::NaiveDate::from_ymd_opt(YEAR + 1, 3, 31).context("datum")?;
    let gaps = styr_projections::gaps(kv, kommun, YEAR, today)?;
    outln!("\nLuckor i styrkedjan {YEAR} (bedömt {today}):")?;
    for g in &gaps {
        outln!("  ⚠ {:<26} {}", g.entity, g.reason)?;
    }
    print_processes(kv, kommun)?;
    print_uppdrag(kv, kommun)?;
    print_follow_up(kv, kommun)?;
    outln!("\nRevisionsspår för uppdrag u-2026-01 (varje händelse som rört det, i ordning):")?;
    for e in styr_projections::history(kv, kommun, &DocKind::Uppdrag.path("u-2026-01"))? {
        outln!(
            "  {:>4}  {:<24} {:<26} gäller {}  registrerad {} av {}  {}…",
            e.sequence,
            e.event_type,
            e.provenance.decided_by.to_string(),
            e.provenance.effective_date,
            e.recorded_at.format("%Y-%m-%d %H:%M"),
            e.recorded_by,
            &e.hash[..12]
        )?;
    }
    outln!(
        "\nMer: `styr plan {kommun} {YEAR}`, `styr gaps {kommun} {YEAR}`, `styr chain {kommun} goal/kf-m2`, \
         `styr audit {kommun} uppdrag/u-2026-05`, `styr plan {kommun} 2027 --as-of 2026-03-01`, \
         `styr register {kommun} processer`, `styr agenda2030 {kommun} 4`, `styr chain {kommun} process/etablering`, `styr verify {kommun}`."
    )?;
    Ok(())
}

fn print_chain(kv: &dyn KvRead, kommun: &KommunId) -> Result<()> {
    let plan = styr_projections::plan(kv, kommun, YEAR)?;
    let goals: Vec<GoalDoc> = styr_projections::docs(kv, kommun, DocKind::Goal)?;
    let plans: Vec<PlanDoc> = styr_projections::docs(kv, kommun, DocKind::Plan)?;
    outln!(
        "Styrkedjan {YEAR}{}:",
        plan.budget
            .as_ref()
            .map(|b| format!(" (budget {}, {})", b.year, b.source.decided))
            .unwrap_or_default()
    )?;
    for kf in &plan.kf_goals {
        outln!(
            "  KF-mål {}: {} ({}–{})",
            kf.id,
            kf.title,
            kf.from_year,
            kf.to_year
        )?;
        for m in goals
            .iter()
            .filter(|g| g.level == "namnd" && g.from_year == YEAR && g.kf_goals.contains(&kf.id))
        {
            outln!(
                "    └ {} nämndmål {}: {}",
                m.body.as_deref().unwrap_or("?").to_uppercase(),
                m.id,
                m.title
            )?;
            for p in plans.iter().filter(|p| p.year == YEAR) {
                for a in p.activities.iter().filter(|a| a.namndmal.contains(&m.id)) {
                    outln!(
                        "        └ aktivitet {} ({}, {}): {}",
                        a.id,
                        p.id,
                        a.unit.as_deref().unwrap_or(&p.unit),
                        a.title
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Goals across the organisation: each process with who contributes in
/// the year, and what serves Agenda 2030's goal 4.
fn print_processes(kv: &dyn KvRead, kommun: &KommunId) -> Result<()> {
    outln!("\nProcesser {YEAR} (mål tvärs över organisationen):")?;
    for v in styr_projections::processes(kv, kommun)?
        .into_iter()
        .filter(|v| {
            v.process
                .closed
                .as_ref()
                .is_none_or(|c| c.last_year >= YEAR)
        })
    {
        let malgrupper: Vec<&str> = v.malgrupper.iter().map(|m| m.name.as_str()).collect();
        outln!(
            "  {} (ägare {}, för {})",
            v.process.name,
            v.process.owner.to_uppercase(),
            malgrupper.join(", ")
        )?;
        for g in v
            .goals
            .iter()
            .filter(|g| (g.from_year..=g.to_year).contains(&YEAR))
        {
            outln!("    mål {}: {}", g.id, g.title)?;
            for m in v
                .namndmal
                .iter()
                .filter(|m| m.year == YEAR && m.goals.contains(&g.id))
            {
                outln!(
                    "      └ {} mål {}: {}",
                    m.body.to_uppercase(),
                    m.id,
                    m.title
                )?;
            }
            for c in v
                .contributions
                .iter()
                .filter(|c| c.goal == g.id && c.year == YEAR)
            {
                outln!(
                    "      └ {} bidrag: {} ({})",
                    c.body.to_uppercase(),
                    c.title,
                    c.source.decided
                )?;
            }
        }
    }
    if let Some(a) = styr_projections::agenda2030(kv, kommun, 4)? {
        outln!("\nAgenda 2030 mål {} ({}) tjänas av:", a.goal, a.name)?;
        for g in &a.serving {
            outln!("  {} {} [{}]", g.path, g.title, g.tags.join(", "))?;
        }
    }
    Ok(())
}

fn print_uppdrag(kv: &dyn KvRead, kommun: &KommunId) -> Result<()> {
    outln!("\nUppdrag från KF:")?;
    outln!(
        "  {:<11} {:<40} {:<12} {:<10} senaste status",
        "id",
        "titel",
        "till",
        "slutdatum"
    )?;
    for u in styr_projections::uppdrag(kv, kommun)? {
        let status = match (&u.closed, u.status.last()) {
            (Some(_), _) => "avslutat".to_owned(),
            (None, Some(s)) => format!("{} per {}", s.status.swedish(), s.as_of),
            (None, None) => "⚠ ingen återrapport".to_owned(),
        };
        outln!(
            "  {:<11} {:<40} {:<12} {:<10} {status}",
            u.id,
            truncate(&u.title, 40),
            u.to.join(","),
            u.due
        )?;
    }
    Ok(())
}

fn print_follow_up(kv: &dyn KvRead, kommun: &KommunId) -> Result<()> {
    outln!("\nAvvikelser:")?;
    for d in styr_projections::docs::<DeviationDoc>(kv, kommun, DocKind::Deviation)? {
        let status = if d.closed.is_some() {
            "avslutad".to_owned()
        } else if let Some(plan) = &d.atgardsplan {
            format!("öppen, åtgärdsplan {plan}")
        } else if d.escalated.is_some() {
            "⚠ hos nämnden utan åtgärdsplan".to_owned()
        } else if d.actions.is_empty() {
            "⚠ ingen åtgärd".to_owned()
        } else {
            "öppen, åtgärdad inom delegation".to_owned()
        };
        outln!(
            "  {:<12} {:<18} rapporterad {}  {status}",
            d.id,
            d.unit,
            d.reported
        )?;
    }
    let mut reports: std::collections::BTreeMap<String, Vec<styr_domain::ReportKind>> =
        Default::default();
    for r in styr_projections::reports(kv, kommun, None)?
        .into_iter()
        .filter(|r| r.year == YEAR)
    {
        reports.entry(r.body).or_default().push(r.kind);
    }
    outln!("\nUppföljningsrapporter {YEAR}:")?;
    for (body, mut kinds) in reports {
        kinds.sort();
        let names: Vec<&str> = kinds.iter().map(|k| k.swedish()).collect();
        outln!("  {body:<5} {}", names.join(", "))?;
    }
    outln!("\nIntern kontroll:")?;
    let findings: Vec<FindingDoc> = styr_projections::docs(kv, kommun, DocKind::Finding)?;
    for p in styr_projections::docs::<ControlPlanDoc>(kv, kommun, DocKind::InternalControl)? {
        let mine: Vec<_> = findings.iter().filter(|f| f.plan == p.plan).collect();
        let open = mine.iter().filter(|f| f.closed.is_none()).count();
        let results: usize = p.results.values().map(|r| r.len()).sum();
        outln!(
            "  {:<12} {} {}: {} kontrollmoment, {results} resultat, {} ({open} öppna), tertialrapporter: {}",
            p.plan,
            p.body.to_uppercase(),
            p.year,
            p.controls.len(),
            if mine.len() == 1 { "1 brist".to_owned() } else { format!("{} brister", mine.len()) },
            if p.tertial_reports.is_empty() {
                "⚠ inga".to_owned()
            } else {
                p.tertial_reports.keys().map(|t| format!("T{t}")).collect::<Vec<_>>().join(", ")
            }
        )?;
    }
    for r in styr_projections::docs::<ReviewDoc>(kv, kommun, DocKind::Review)? {
        outln!(
            "  granskning {}: yttranden från {} av {} ({}), svar senast {}",
            r.review,
            r.replies.len(),
            r.bodies.len(),
            r.bodies.join(", "),
            r.reply_due
        )?;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

pub(crate) async fn example(ctx: &mut Ctx<'_>, exempel: &str, k: &str) -> Result<Exit> {
    let cli = ctx.cli;
    let k = kommun(k)?;
    let backend = ctx.backend().await?;
    if exempel == "gotene" {
        run_gotene(&backend.kommuner(), &k, &cli.som, &cli.projections()).await?;
    } else {
        run(&backend.kommuner(), &k, &cli.som, &cli.projections()).await?;
    }
    Ok(Exit::Ok)
}

/// Submits `submissions` as `identity`, brings this node's projection up
/// to date and says what was recorded.
async fn load(
    kommuner: &Kommuner,
    kommun: &KommunId,
    identity: &str,
    projections: &std::path::Path,
    submissions: Vec<styr_service::Submission>,
) -> Result<crate::views::View> {
    let (mut recorded, mut duplicate) = (0, 0);
    let bar = crate::progress(submissions.len() as u64, "läser in exempelkommunen");
    for s in submissions {
        bar.inc(1);
        let key = s.idempotency_key.clone();
        match kommuner.submit_as(kommun, identity, s).await? {
            Outcome::Recorded(_) => recorded += 1,
            Outcome::Duplicate(_) => duplicate += 1,
            Outcome::Rejected(r) => anyhow::bail!("exemplets beslut {key} avslogs: {r}"),
        }
    }
    bar.finish_and_clear();
    let v = crate::views::now(kommuner.store(), projections, kommun).await?;
    let name = styr_projections::doc::<KommunDoc>(v.kv(), kommun, KOMMUN_PATH)?
        .map_or_else(|| kommun.to_string(), |k| k.name);
    let seq = v.sequence;
    outln!(
        "Exempelkommunen {name} ({kommun}): {recorded} beslut registrerade, {duplicate} fanns redan; historiken har {seq} händelser.\n"
    )?;
    Ok(v)
}

/// `styr example --exempel gotene`: one organisation, one förvaltning
/// (KS's), whose sektorer and enheter answer to different nämnder.
pub async fn run_gotene(
    kommuner: &Kommuner,
    kommun: &KommunId,
    identity: &str,
    projections: &std::path::Path,
) -> Result<()> {
    let submissions =
        example::gotene().context("det inbyggda Götene-exemplet går inte att läsa")?;
    let v = load(kommuner, kommun, identity, projections, submissions).await?;
    let kv = v.kv();
    print_chain(kv, kommun)?;
    let units: Vec<UnitDoc> = styr_projections::docs(kv, kommun, DocKind::Unit)?;
    outln!("\nEn organisation, en förvaltning: enheterna och de nämnder deras verksamhet svarar inför:")?;
    print_unit_tree(&units, None, 1)?;
    let shared: Vec<String> = units
        .iter()
        .filter(|u| u.responsible().len() > 1)
        .map(|u| {
            format!(
                "{} ({})",
                u.name,
                u.responsible()
                    .iter()
                    .map(|b| b.to_uppercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    outln!("\nSvarar inför flera nämnder: {}", shared.join("; "))?;
    let plan = styr_projections::plan(kv, kommun, YEAR)?;
    outln!("\nNämndernas detaljbudgetar {YEAR} över de enheter som svarar inför dem:")?;
    for n in &plan.namnder {
        let Some(d) = n.plan.as_ref().filter(|p| !p.detaljbudget.is_empty()) else {
            continue;
        };
        let lines: Vec<String> = d
            .detaljbudget
            .iter()
            .map(|(unit, amount)| format!("{unit} {}", styr_domain::grouped(*amount)))
            .collect();
        outln!("  {:<4} {}", n.body.id.to_uppercase(), lines.join(", "))?;
    }
    outln!(
        "\nMer: `styr register {kommun} enheter`, `styr chain {kommun} unit/elevhalsan`, `styr chain {kommun} body/bun`, `styr register {kommun} avvikelser`."
    )?;
    Ok(())
}

/// The units below `parent` (the förvaltning's top when `None`), indented.
fn print_unit_tree(units: &[UnitDoc], parent: Option<&str>, depth: usize) -> Result<()> {
    for u in units.iter().filter(|u| u.parent.as_deref() == parent) {
        let serves: Vec<String> = u
            .serves
            .iter()
            .map(|a| format!("{}: {}", a.namnd.to_uppercase(), a.verksamhet))
            .collect();
        outln!(
            "{}{} ({}){}",
            "  ".repeat(depth),
            u.name,
            u.level.swedish(),
            if serves.is_empty() {
                format!(" — {}", u.namnd.to_uppercase())
            } else {
                format!(" — svarar inför {}", serves.join("; "))
            }
        )?;
        print_unit_tree(units, Some(&u.id), depth + 1)?;
    }
    Ok(())
}
