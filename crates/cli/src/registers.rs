//! `styr register <kommun> <register>`: one register as text, one function
//! per register.

use anyhow::Result;
use styr_projections::docs::*;
use styr_projections::KvRead;
use styr_store::KommunId;

use crate::views::via_sv;

/// Prints a register.
pub(crate) fn print(kv: &dyn KvRead, k: &KommunId, register: Register) -> Result<()> {
    match register {
        Register::Uppdrag => uppdrag(kv, k),
        Register::Deviation => deviations(kv, k),
        Register::Report => reports(kv, k),
        Register::InternalControl => internal_control(kv, k),
        Register::Finding => findings(kv, k),
        Register::Review => reviews(kv, k),
        Register::Access => access(kv, k),
        Register::Intrusion => intrusions(kv, k),
        Register::Investment => investments(kv, k),
        Register::Goal => goals(kv, k),
        Register::Body => bodies(kv, k),
        Register::Unit => units(kv, k),
        Register::Plan => plans(kv, k),
        Register::Process => processes(kv, k),
        Register::Balanskrav => balanskrav(kv, k),
    }
}

fn balanskrav(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    let obligations = styr_projections::balanskrav_obligations(kv, k)?;
    if obligations.is_empty() {
        outln!("Inget negativt balanskravsresultat att återställa.")?;
    }
    for o in obligations {
        outln!(
            "{}: balanskravsresultat −{} tkr ({}); {} — {} tkr återstår, senast {} (KL 11 kap 12 §)",
            o.year,
            styr_audit::grouped(o.deficit),
            o.reported.decided,
            o.status.swedish(),
            styr_audit::grouped(o.left()),
            o.last_year
        )?;
        for r in &o.restored {
            outln!(
                "    återställt {}: {} tkr",
                r.year,
                styr_audit::grouped(r.amount)
            )?;
        }
        for p in &o.planned {
            outln!(
                "    planerat {}: {} tkr [{}]",
                p.year,
                styr_audit::grouped(p.amount),
                p.decided
            )?;
        }
        if let Some(w) = &o.waived {
            outln!("    avstår: {} [{}]", w.text, w.source.decided)?;
        }
    }
    Ok(())
}

fn processes(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for v in styr_projections::processes(kv, k)? {
        let p = &v.process;
        outln!(
            "{} {} (ägare {}) [{}]",
            p.id,
            p.name,
            p.owner.to_uppercase(),
            p.source.decided
        )?;
        outln!("    syfte: {}", p.purpose)?;
        let malgrupper: Vec<&str> = v.malgrupper.iter().map(|m| m.name.as_str()).collect();
        outln!("    målgrupper: {}", malgrupper.join(", "))?;
        if let Some(c) = &p.closed {
            outln!(
                "    avslutad: sista året {} — {} [{}]",
                c.last_year,
                c.reason,
                c.source.decided
            )?;
        }
        for g in &v.goals {
            let level = if g.level == "kf" {
                "KF-mål"
            } else {
                "processmål"
            };
            outln!(
                "    {level} {} ({}): {}{}",
                g.id,
                crate::views::years(g.from_year, g.to_year),
                g.title,
                agenda_tags(&g.agenda2030)
            )?;
        }
        for m in &v.namndmal {
            outln!(
                "    mål {} ({} {}) bryter ned {}: {}",
                m.id,
                m.body.to_uppercase(),
                m.year,
                m.goals.join(", "),
                m.title
            )?;
        }
        for c in &v.contributions {
            outln!(
                "    bidrag {} {} {} till {}: {}{} [{}]",
                c.id,
                c.body.to_uppercase(),
                c.year,
                c.goal,
                c.title,
                c.forbund_record
                    .as_ref()
                    .map(|r| format!(" (förbundets historik {} sekvens {})", r.stream, r.sequence))
                    .unwrap_or_default(),
                c.source.decided
            )?;
        }
    }
    Ok(())
}

/// A goal's or indicator's Agenda 2030 tags, as ` [Agenda 2030: 4.1, 8]`.
pub(crate) fn agenda_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(" [Agenda 2030: {}]", tags.join(", "))
    }
}

fn uppdrag(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for u in styr_projections::uppdrag(kv, k)? {
        outln!(
            "{} {} (till {}, ska vara klart {})",
            u.id,
            u.title,
            u.to.join(", "),
            u.due
        )?;
        if !u.goals.is_empty() {
            outln!("    tjänar KF-mål {}", u.goals.join(", "))?;
        }
        for l in &u.lifecycle {
            let what = match l.what.as_str() {
                "given" => "givet",
                "changed" => "ändrat",
                "extended" => "förlängt",
                "closed" => "avslutat",
                other => other,
            };
            outln!(
                "    {:<9} budget {} — {} [{}]",
                what,
                l.budget_year,
                l.detail,
                l.source.decided
            )?;
        }
        for s in &u.status {
            outln!(
                "    status    {} {} {} i {} [{}]",
                s.as_of,
                s.body.to_uppercase(),
                s.status.swedish(),
                via_sv(&s.via),
                s.source.decided
            )?;
        }
    }

    Ok(())
}

fn deviations(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for d in styr_projections::docs::<DeviationDoc>(kv, k, DocKind::Deviation)? {
        outln!(
            "{} {} ({}): {} avvikelse mot {}, noterad {} rapporterad {}: {}",
            d.id,
            d.unit,
            d.body.to_uppercase(),
            d.sign.swedish(),
            d.from.swedish(),
            d.noticed,
            d.reported,
            d.analysis
        )?;
        for a in &d.actions {
            outln!(
                "    åtgärd {}: {} [{}]",
                a.action,
                a.description,
                a.source.decided
            )?;
        }
        if let Some(e) = &d.escalated {
            outln!("    till nämnden: {} [{}]", e.text, e.source.decided)?;
        }
        if let Some(p) = &d.atgardsplan {
            outln!("    åtgärdsplan {p}")?;
        }
        if let Some(c) = &d.closed {
            outln!("    avslutad: {} [{}]", c.text, c.source.decided)?;
        }
    }

    Ok(())
}

fn reports(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for r in styr_projections::docs::<ReportDoc>(kv, k, DocKind::Report)? {
        outln!(
            "{:<5} {} {:<18} t.o.m. {} [{}]{}",
            r.body,
            r.year,
            r.kind.swedish(),
            r.through,
            r.source.decided,
            r.atgardsplan
                .as_ref()
                .map(|a| format!(" med åtgärdsplan {}", a.id))
                .unwrap_or_default()
        )?;
    }

    Ok(())
}

fn internal_control(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for p in styr_projections::docs::<ControlPlanDoc>(kv, k, DocKind::InternalControl)? {
        outln!("{} ({} {}) [{}]", p.plan, p.body, p.year, p.source.decided)?;
        for r in &p.risks {
            outln!(
                "    risk {:<14} S{} × K{} = {:>2}  {:<11}  {}",
                r.id,
                r.likelihood,
                r.consequence,
                r.score,
                r.response.swedish(),
                r.description
            )?;
        }
        for c in &p.controls {
            let results: Vec<String> = p
                .results
                .get(&c.id)
                .map(|m| {
                    m.iter()
                        .map(|(t, r)| {
                            format!(
                                "T{t}: {}",
                                match r {
                                    styr_domain::ControlResult::NoRemark =>
                                        "utan anmärkning".to_owned(),
                                    styr_domain::ControlResult::Finding { finding, .. } =>
                                        format!("brist {finding}"),
                                }
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            outln!(
                "    kontroll {:<14} {}  [{}]",
                c.id,
                c.what,
                results.join(", ")
            )?;
        }
    }

    Ok(())
}

fn findings(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for f in styr_projections::docs::<FindingDoc>(kv, k, DocKind::Finding)? {
        outln!(
            "{} ({} T{}): {} — {}",
            f.finding,
            f.control,
            f.tertial,
            f.description,
            if f.closed.is_some() {
                "avslutad"
            } else {
                "öppen"
            }
        )?;
        for a in &f.actions {
            outln!(
                "    åtgärd {}: {} ({}, senast {})",
                a.action,
                a.description,
                a.responsible,
                a.due
            )?;
        }
    }

    Ok(())
}

fn reviews(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for r in styr_projections::docs::<ReviewDoc>(kv, k, DocKind::Review)? {
        outln!(
            "{} {} ({}), svar senast {}",
            r.review,
            r.title,
            r.bodies.join(", "),
            r.reply_due
        )?;
        for (b, reply) in &r.replies {
            outln!(
                "    yttrande från {b}{}: {}",
                if reply.late { " (sent)" } else { "" },
                reply.reply
            )?;
        }
    }

    Ok(())
}

fn access(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for a in styr_projections::docs::<styr_projections::docs::AccessDoc>(kv, k, DocKind::Access)? {
        let now: Vec<String> = a.access.iter().map(ToString::to_string).collect();
        outln!(
            "{}: {}",
            a.identity,
            if now.is_empty() {
                "ingen behörighet".to_owned()
            } else {
                now.join(", ")
            }
        )?;
        for c in &a.changes {
            outln!(
                "    {} {} ({}, sekvens {})",
                if c.granted { "beviljad" } else { "återkallad" },
                c.access,
                c.source.decided,
                c.source.sequence
            )?;
        }
    }

    Ok(())
}

fn intrusions(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    let found =
        styr_projections::docs::<styr_projections::IntrusionDoc>(kv, k, DocKind::Intrusion)?;
    if found.is_empty() {
        outln!("Inga främmande meddelanden i historiken.")?;
    }
    for i in found {
        outln!(
            "INTRÅNG vid sekvens {}: {} (hash {})",
            i.sequence,
            i.reason,
            i.hash
        )?;
    }

    Ok(())
}

fn investments(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for i in styr_projections::docs::<InvestmentDoc>(kv, k, DocKind::Investment)? {
        let inv = &i.investment;
        outln!(
            "{} {} ({}, {}–{}, totalt {} tkr)",
            i.id,
            inv.title,
            inv.body.to_uppercase(),
            inv.start_year,
            inv.finish_year,
            styr_audit::grouped(inv.total)
        )?;
        for e in &i.budgeted {
            let years: Vec<String> = e
                .years
                .iter()
                .map(|y| format!("{} {}", y.year, styr_audit::grouped(y.amount)))
                .collect();
            outln!(
                "    budget     {} [{}, {}]",
                years.join(", "),
                e.change.swedish(),
                e.source.decided
            )?;
        }
        for f in &i.follow_ups {
            outln!(
                "    uppföljd   {}{} {}: utfall {}{} [{}]",
                f.report.swedish(),
                f.period
                    .as_ref()
                    .map(|p| format!(" t.o.m. {p}"))
                    .unwrap_or_default(),
                f.year,
                styr_audit::grouped(f.outcome),
                f.forecast
                    .map(|p| format!(", prognos {}", styr_audit::grouped(p)))
                    .unwrap_or_default(),
                f.source.decided
            )?;
        }
    }

    Ok(())
}

fn goals(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for g in styr_projections::goals(kv, k)? {
        let (level, owner) = match g.level.as_str() {
            "kf" => ("KF-mål", "KF".to_owned()),
            "process" => (
                "processmål",
                format!("processen {}", g.process.as_deref().unwrap_or_default()),
            ),
            _ => (
                "nämndmål",
                g.body.as_deref().unwrap_or_default().to_uppercase(),
            ),
        };
        outln!(
            "{} {level} ({owner}, {}): {}{}",
            g.id,
            crate::views::years(g.from_year, g.to_year),
            g.title,
            agenda_tags(&g.agenda2030)
        )?;
        if g.level == "kf" {
            if let Some(p) = &g.process {
                outln!("    hör även till processen {p}")?;
            }
        }
        for i in &g.indicators {
            let values = g.outcome_counts.get(&i.id).copied().unwrap_or(0);
            outln!(
                "    indikator {} {} ({values} utfall){}",
                i.id,
                i.name,
                agenda_tags(&i.agenda2030)
            )?;
        }
    }
    Ok(())
}

fn bodies(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for b in styr_projections::docs::<BodyDoc>(kv, k, DocKind::Body)? {
        outln!(
            "{:<8} {:<22} {} — {}",
            b.id,
            b.kind.swedish(),
            b.name,
            b.area
        )?;
        if let Some(f) = &b.forbund {
            outln!(
                "         medlemmar {}; beslutar genom {}{}",
                f.members.join(", "),
                f.organ.swedish(),
                f.stream
                    .as_ref()
                    .map(|s| format!("; egen historik: {s}"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

fn units(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for u in styr_projections::docs::<UnitDoc>(kv, k, DocKind::Unit)? {
        outln!(
            "{:<20} {} ({} i {}:s förvaltning, under {})",
            u.id,
            u.name,
            u.level.swedish(),
            u.namnd.to_uppercase(),
            u.parent.as_deref().unwrap_or("nämnden")
        )?;
        for a in &u.serves {
            outln!(
                "{:<20}   svarar inför {} för {}",
                "",
                a.namnd.to_uppercase(),
                a.verksamhet
            )?;
        }
    }
    Ok(())
}

fn plans(kv: &dyn KvRead, k: &KommunId) -> Result<()> {
    for p in styr_projections::docs::<PlanDoc>(kv, k, DocKind::Plan)? {
        outln!(
            "{} {} {} {} version {} ({} aktiviteter) [{}]",
            p.id,
            p.body.to_uppercase(),
            p.unit,
            p.year,
            p.version,
            p.activities.len(),
            p.source.decided
        )?;
    }
    Ok(())
}
