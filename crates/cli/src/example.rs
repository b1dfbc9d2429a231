//! `styr example`: loads the example kommun through the command path and
//! shows what it decided: the styrkedja, its gaps, the uppdrag, and one
//! uppdrag's full audit history.

use anyhow::{Context, Result};
use styr_domain::KommunState;
use styr_service::{example, Kommuner, Outcome};
use styr_store::KommunId;

pub async fn run(kommuner: &Kommuner, kommun: &KommunId) -> Result<()> {
    let submissions = example::vimmerby().context("parsing the bundled example kommun")?;
    let (mut recorded, mut duplicate) = (0, 0);
    let bar = crate::progress(submissions.len() as u64, "läser in exempelkommunen");
    for s in submissions {
        bar.inc(1);
        let key = s.idempotency_key.clone();
        match kommuner.submit(kommun, s).await? {
            Outcome::Recorded(_) => recorded += 1,
            Outcome::Duplicate(_) => duplicate += 1,
            Outcome::Rejected(r) => anyhow::bail!("the example's decision {key} was rejected: {r}"),
        }
    }
    bar.finish_and_clear();
    let (state, seq) = kommuner.state(kommun).await?;
    println!(
        "Exempelkommunen {} ({}): {recorded} beslut registrerade, {duplicate} fanns redan; historiken har {seq} händelser.\n",
        state.kommun.as_ref().map_or("?", |k| k.name.as_str()),
        kommun
    );
    print_chain(&state);
    print_uppdrag(&state);
    print_follow_up(&state);
    println!("\nRevisionsspår för uppdrag u-2026-01 (varje händelse, i ordning):");
    crate::print_header();
    for e in kommuner
        .store()
        .read_aggregate(kommun, "uppdrag", "u-2026-01")
        .await?
    {
        crate::print_event(&e, false)?;
    }
    println!("\nMer: `styr history {kommun}` visar hela kedjan, `styr history {kommun} --json` varje händelse i sin helhet.");
    Ok(())
}

fn print_chain(state: &KommunState) {
    println!(
        "Styrkedjan {}:",
        state
            .budgets
            .keys()
            .next_back()
            .map_or(String::new(), |y| format!("(budget {y})"))
    );
    for (id, goal) in &state.goals {
        println!(
            "  KF-mål {id}: {} ({}–{})",
            goal.title, goal.from_year, goal.to_year
        );
        let below: Vec<_> = state
            .namndmal
            .iter()
            .filter(|(_, m)| m.kf_goals.contains(id))
            .collect();
        if below.is_empty() {
            println!("    ⚠ lucka: ingen nämnd har brutit ned målet");
        }
        for (mid, m) in below {
            println!(
                "    └ {} nämndmål {mid}: {}",
                m.body.to_uppercase(),
                m.title
            );
            for (pid, plan) in state.plans.iter().filter(|(_, p)| p.year == m.year) {
                for a in plan.activities.iter().filter(|a| a.namndmal.contains(mid)) {
                    println!(
                        "        └ aktivitet {} ({pid}, {}): {}",
                        a.id,
                        a.unit.as_deref().unwrap_or(&plan.unit),
                        a.title
                    );
                }
            }
        }
    }
    let without: Vec<_> = state
        .bodies
        .iter()
        .filter(|(_, b)| b.kind == styr_domain::BodyKind::Committee)
        .filter(|(id, _)| !state.namndplaner.keys().any(|(b, _)| b == *id))
        .map(|(id, b)| format!("{} ({id})", b.name))
        .collect();
    if !without.is_empty() {
        println!("  ⚠ lucka: nämnder utan nämndplan: {}", without.join(", "));
    }
}

fn print_uppdrag(state: &KommunState) {
    println!("\nUppdrag från KF:");
    println!(
        "  {:<11} {:<40} {:<12} {:<10} senaste status",
        "id", "titel", "till", "klart"
    );
    for (id, u) in &state.uppdrag {
        let status = match (&u.closed, &u.last_status) {
            (true, _) => "avslutat".to_owned(),
            (false, Some((date, s))) => format!("{} per {date}", crate::status_sv(*s)),
            (false, None) => "⚠ ingen återrapport".to_owned(),
        };
        println!(
            "  {id:<11} {:<40} {:<12} {:<10} {status}",
            truncate(&u.title, 40),
            u.to.join(","),
            u.due
        );
    }
}

fn print_follow_up(state: &KommunState) {
    println!("\nAvvikelser:");
    for (id, d) in &state.deviations {
        let status = if d.closed {
            "avslutad".to_owned()
        } else if let Some(plan) = &d.atgardsplan {
            format!("öppen, åtgärdsplan {plan}")
        } else if d.escalated {
            "⚠ hos nämnden utan åtgärdsplan".to_owned()
        } else if d.actions.is_empty() {
            "⚠ ingen åtgärd".to_owned()
        } else {
            "öppen, åtgärdad inom delegation".to_owned()
        };
        println!(
            "  {id:<12} {:<18} rapporterad {}  {status}",
            d.unit, d.reported
        );
    }
    let mut reports: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (body, _, kind) in &state.reports {
        reports.entry(body).or_default().push(kind.slug());
    }
    println!("\nUppföljningsrapporter:");
    for (body, kinds) in reports {
        println!("  {body:<5} {}", kinds.join(", "));
    }
    println!("\nIntern kontroll:");
    for (id, p) in &state.control_plans {
        let findings: Vec<_> = state
            .findings
            .iter()
            .filter(|(_, f)| &f.plan == id)
            .collect();
        let open = findings.iter().filter(|(_, f)| !f.closed).count();
        println!(
            "  {id:<12} {} {}: {} kontrollmoment, {} resultat, {} brister ({open} öppna), tertialrapporter: {}",
            p.body.to_uppercase(),
            p.year,
            p.controls.len(),
            p.results.len(),
            findings.len(),
            if p.tertials_reported.is_empty() {
                "⚠ inga".to_owned()
            } else {
                p.tertials_reported.iter().map(|t| format!("T{t}")).collect::<Vec<_>>().join(", ")
            }
        );
    }
    for (id, r) in &state.reviews {
        println!(
            "  granskning {id}: yttranden från {} av {} ({}), svar senast {}",
            r.replied.len(),
            r.bodies.len(),
            r.bodies.join(", "),
            r.reply_due
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}
