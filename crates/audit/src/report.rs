//! The intern kontroll report for revisorer, per kommun and year: plans,
//! risk matrix, control points, results per tertial, findings and actions,
//! open deviations and åtgärdsplaner, styrkedja gaps, and the verification
//! of the history — as Markdown, HTML (with the risk matrix drawn) and CSV.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDate;
use styr_domain::{ControlResult, ScoredRisk};
use styr_projections::docs::*;
use styr_projections::{Gap, KvRead, ProjectionError};
use styr_store::KommunId;

use crate::{Break, Report};

fn title(table: &str) -> &'static str {
    match table {
        "risker.csv" => "Risker",
        "kontrollmoment.csv" => "Kontrollmoment och resultat per tertial",
        "brister.csv" => "Brister och åtgärder",
        "avvikelser.csv" => "Avvikelser",
        "behorigheter.csv" => "Behörigheter: vem fick registrera beslut för vilket organ",
        "budgetbeslut.csv" => "Budgeten: varje beslut som satt en siffra (ramar, skattesats, plan för ekonomin, investeringar, RUR)",
        "investeringar.csv" => "Investeringar: budget, utfall och prognos",
        "balanskrav.csv" => "Balanskravsutredning före och efter resultatutjämningsreserv",
        _ => "Luckor i styrkedjan",
    }
}

fn response_sv(r: styr_domain::RiskResponse) -> &'static str {
    match r {
        styr_domain::RiskResponse::Accept => "acceptera",
        styr_domain::RiskResponse::Control => "kontrollera",
        styr_domain::RiskResponse::Reduce => "reducera",
    }
}

fn frequency_sv(f: styr_domain::Frequency) -> &'static str {
    match f {
        styr_domain::Frequency::Monthly => "månadsvis",
        styr_domain::Frequency::PerTertial => "per tertial",
        styr_domain::Frequency::Yearly => "årligen",
    }
}

/// A table: file name, column headers, rows.
pub type Table = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// Everything the report shows, gathered once.
pub struct RevisorReport {
    pub kommun: KommunId,
    pub kommun_name: String,
    pub year: i32,
    pub today: NaiveDate,
    pub verification: Result<Report, Break>,
    pub plans: Vec<ControlPlanDoc>,
    pub findings: Vec<FindingDoc>,
    pub deviations: Vec<DeviationDoc>,
    pub atgardsplaner: Vec<(String, styr_domain::Atgardsplan)>,
    pub gaps: Vec<Gap>,
    /// Every grant and revocation decided up to the end of the year.
    pub access: Vec<AccessDoc>,
    /// The year's budget, investments and balanskrav.
    pub plan: styr_projections::PlanView,
}

impl RevisorReport {
    pub fn build(
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        year: i32,
        today: NaiveDate,
        verification: Result<Report, Break>,
    ) -> Result<Self, ProjectionError> {
        let plans: Vec<ControlPlanDoc> =
            styr_projections::docs::<ControlPlanDoc>(kv, kommun, "ic")?
                .into_iter()
                .filter(|p| p.year == year)
                .collect();
        let findings = styr_projections::docs::<FindingDoc>(kv, kommun, "finding")?
            .into_iter()
            .filter(|f| plans.iter().any(|p| p.plan == f.plan))
            .collect();
        let deviations = styr_projections::docs::<DeviationDoc>(kv, kommun, "deviation")?
            .into_iter()
            .filter(|d| {
                d.reported.format("%Y").to_string() == year.to_string() || d.closed.is_none()
            })
            .collect();
        let atgardsplaner = styr_projections::reports(kv, kommun, None)?
            .into_iter()
            .filter(|r| r.year == year)
            .filter_map(|r| r.atgardsplan.map(|a| (r.body, a)))
            .collect();
        let kommun_name = styr_projections::doc::<KommunDoc>(kv, kommun, "kommun")?
            .map_or_else(|| kommun.to_string(), |k| k.name);
        Ok(RevisorReport {
            kommun: kommun.clone(),
            kommun_name,
            year,
            today,
            verification,
            plans,
            findings,
            deviations,
            atgardsplaner,
            gaps: styr_projections::gaps(kv, kommun, year, today)?,
            access: styr_projections::docs::<AccessDoc>(kv, kommun, "access")?,
            plan: styr_projections::plan(kv, kommun, year)?,
        })
    }

    fn risks(&self) -> Vec<(&str, &ScoredRisk)> {
        self.plans
            .iter()
            .flat_map(|p| p.risks.iter().map(move |r| (p.plan.as_str(), r)))
            .collect()
    }

    /// (consequence, likelihood) → risk ids.
    fn matrix(&self) -> BTreeMap<(u8, u8), Vec<String>> {
        let mut m: BTreeMap<(u8, u8), Vec<String>> = BTreeMap::new();
        for (plan, r) in self.risks() {
            m.entry((r.consequence, r.likelihood))
                .or_default()
                .push(format!("{plan}/{}", r.id));
        }
        m
    }

    fn verification_lines(&self) -> Vec<String> {
        match &self.verification {
            Ok(r) => {
                let mut v = vec![format!(
                    "Historiken verifierad: {} händelser, kedjans huvud {} (sekvens {}).",
                    r.events, r.head_hash, r.head_sequence
                )];
                v.push(match r.last_checkpoint() {
                    Some((covered, at, key, when)) => format!(
                        "Senaste signerade kontrollpunkt: sekvens {covered} (händelse {at}), nyckel {key}, signerad {when}."
                    ),
                    None => "Ingen signerad kontrollpunkt finns.".into(),
                });
                v.push(
                    match r.trust {
                        crate::Trust::TrustedKey => "Förtroendet bygger på en betrodd nyckel som revisorn angav.",
                        crate::Trust::Pinned => "Förtroendet bygger på en fäst kontrollpunkt som revisorn angav.",
                        crate::Trust::FirstUse => "Förtroendet bygger på den första publicerade nyckeln (förtroende vid första användning); ange --trusted-key eller --pin för mer.",
                    }
                    .into(),
                );
                v
            }
            Err(b) => {
                let mut v = vec![format!("HISTORIKEN HÅLLER INTE: {b}")];
                for f in &b.foreign {
                    v.push(format!(
                        "INTRÅNG vid sekvens {}: ett meddelande som Styrkedja inte skrivit ({})",
                        f.sequence, f.reason
                    ));
                }
                v
            }
        }
    }

    fn result_text(r: &ControlResult) -> String {
        match r {
            ControlResult::NoRemark => "utan anmärkning".into(),
            ControlResult::Finding {
                finding,
                description,
            } => format!("brist {finding}: {description}"),
        }
    }

    /// The tables, as (file name, header, rows).
    /// Every decision that set a figure of the budget covering the year:
    /// the year's ramar in every step, then the other parts.
    fn budget_rows(&self) -> Vec<Vec<String>> {
        let Some(b) = &self.plan.budget else {
            return Vec::new();
        };
        let row = |part: String,
                   object: String,
                   value: String,
                   change: styr_domain::BudgetChange,
                   src: &styr_projections::docs::Source| {
            vec![
                part,
                object,
                value,
                change.swedish().to_owned(),
                src.decided.clone(),
                src.effective_date.to_string(),
                src.sequence.to_string(),
            ]
        };
        let mut rows: Vec<Vec<String>> = b
            .changes
            .iter()
            .filter(|(_, y, _)| *y == self.year)
            .map(|(body, _, e)| {
                row(
                    "ram".into(),
                    body.clone(),
                    e.amount.to_string(),
                    e.change,
                    &e.source,
                )
            })
            .collect();
        rows.extend(b.part_changes.iter().map(|p| {
            row(
                p.part.clone(),
                p.object.clone(),
                p.value.clone(),
                p.change,
                &p.source,
            )
        }));
        rows
    }

    fn investment_rows(&self) -> Vec<Vec<String>> {
        self.plan
            .investments
            .iter()
            .map(|i| {
                let of = |k: styr_domain::ReportKind| {
                    i.follow_ups
                        .iter()
                        .rev()
                        .find(|f| f.year == self.year && f.report == k)
                };
                let interim = of(styr_domain::ReportKind::Delarsrapport);
                let annual = of(styr_domain::ReportKind::Arsredovisning);
                let amount = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
                vec![
                    i.id.clone(),
                    i.investment.body.clone(),
                    i.investment.title.clone(),
                    i.investment.total.to_string(),
                    amount(i.budget_for(self.year)),
                    amount(interim.map(|f| f.outcome)),
                    amount(interim.and_then(|f| f.forecast)),
                    amount(annual.map(|f| f.outcome)),
                    i.set_by(self.year)
                        .map_or(String::new(), |e| e.source.decided.clone()),
                ]
            })
            .collect()
    }

    fn balanskrav_rows(&self) -> Vec<Vec<String>> {
        self.plan
            .balanskrav
            .iter()
            .flat_map(|b| &b.reports)
            .map(|e| {
                let u = &e.utredning;
                vec![
                    e.report.swedish().to_owned(),
                    u.arets_resultat.to_string(),
                    u.justeringar.to_string(),
                    u.balanskravsresultat.to_string(),
                    u.till_rur.to_string(),
                    u.fran_rur.to_string(),
                    u.efter_rur.to_string(),
                    u.riktlinjer.clone().unwrap_or_default(),
                    e.source.decided.clone(),
                ]
            })
            .collect()
    }

    pub fn tables(&self) -> Vec<Table> {
        let risks = self
            .risks()
            .into_iter()
            .map(|(p, r)| {
                vec![
                    p.to_owned(),
                    r.id.clone(),
                    r.area.clone(),
                    r.description.clone(),
                    r.likelihood.to_string(),
                    r.consequence.to_string(),
                    r.score.to_string(),
                    response_sv(r.response).into(),
                ]
            })
            .collect();
        let mut controls = Vec::new();
        for p in &self.plans {
            for c in &p.controls {
                let mut row = vec![
                    p.plan.clone(),
                    c.id.clone(),
                    c.what.clone(),
                    c.how.clone(),
                    frequency_sv(c.frequency).into(),
                    c.responsible_role.clone(),
                    c.risk.clone(),
                ];
                for t in 1..=3u8 {
                    row.push(p.results.get(&c.id).and_then(|r| r.get(&t)).map_or_else(
                        || {
                            if styr_domain::tertial_end(self.year, t)
                                .is_some_and(|e| e < self.today)
                            {
                                "SAKNAS".into()
                            } else {
                                "–".into()
                            }
                        },
                        Self::result_text,
                    ));
                }
                controls.push(row);
            }
        }
        let findings = self
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.finding.clone(),
                    f.plan.clone(),
                    f.control.clone(),
                    format!("T{}", f.tertial),
                    f.description.clone(),
                    f.actions
                        .iter()
                        .map(|a| format!("{} ({}, senast {})", a.description, a.responsible, a.due))
                        .collect::<Vec<_>>()
                        .join("; "),
                    f.closed
                        .as_ref()
                        .map_or("öppen".into(), |(o, _)| format!("avslutad: {o}")),
                ]
            })
            .collect();
        let deviations = self
            .deviations
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.unit.clone(),
                    if d.sign == styr_domain::DeviationSign::Negative {
                        "negativ".into()
                    } else {
                        "positiv".into()
                    },
                    d.amount.map(|a| a.to_string()).unwrap_or_default(),
                    d.reported.to_string(),
                    d.analysis.clone(),
                    d.actions.len().to_string(),
                    if d.escalated.is_some() {
                        "ja".into()
                    } else {
                        "nej".into()
                    },
                    d.atgardsplan.clone().unwrap_or_default(),
                    d.closed
                        .as_ref()
                        .map_or("öppen".into(), |(o, _)| format!("avslutad: {o}")),
                ]
            })
            .collect();
        let gaps = self
            .gaps
            .iter()
            .map(|g| vec![g.kind.to_owned(), g.entity.clone(), g.reason.clone()])
            .collect();
        let year_end = NaiveDate::from_ymd_opt(self.year, 12, 31).unwrap_or(self.today);
        let access = self
            .access
            .iter()
            .flat_map(|a| {
                a.changes
                    .iter()
                    .filter(|c| c.source.effective_date <= year_end)
                    .map(|c| {
                        vec![
                            a.identity.clone(),
                            c.access.to_string(),
                            if c.granted { "beviljad" } else { "återkallad" }.into(),
                            c.source.decided.clone(),
                            c.source.effective_date.to_string(),
                            c.source.sequence.to_string(),
                        ]
                    })
            })
            .collect();
        vec![
            (
                "risker.csv",
                vec![
                    "plan",
                    "risk",
                    "område",
                    "beskrivning",
                    "sannolikhet",
                    "konsekvens",
                    "riskvärde",
                    "hantering",
                ],
                risks,
            ),
            (
                "kontrollmoment.csv",
                vec![
                    "plan", "kontroll", "vad", "hur", "frekvens", "ansvarig", "risk", "T1", "T2",
                    "T3",
                ],
                controls,
            ),
            (
                "brister.csv",
                vec![
                    "brist",
                    "plan",
                    "kontroll",
                    "tertial",
                    "beskrivning",
                    "åtgärder",
                    "status",
                ],
                findings,
            ),
            (
                "avvikelser.csv",
                vec![
                    "avvikelse",
                    "enhet",
                    "riktning",
                    "belopp_tkr",
                    "rapporterad",
                    "analys",
                    "åtgärder",
                    "till_nämnd",
                    "åtgärdsplan",
                    "status",
                ],
                deviations,
            ),
            (
                "budgetbeslut.csv",
                vec![
                    "del",
                    "objekt",
                    "värde",
                    "steg",
                    "beslut",
                    "gäller_från",
                    "sekvens",
                ],
                self.budget_rows(),
            ),
            (
                "investeringar.csv",
                vec![
                    "investering",
                    "nämnd",
                    "projekt",
                    "total_tkr",
                    "budget_tkr",
                    "utfall_delår_tkr",
                    "prognos_delår_tkr",
                    "utfall_år_tkr",
                    "budget_beslutad",
                ],
                self.investment_rows(),
            ),
            (
                "balanskrav.csv",
                vec![
                    "rapport",
                    "årets_resultat",
                    "justeringar",
                    "balanskravsresultat",
                    "till_rur",
                    "från_rur",
                    "efter_rur",
                    "riktlinjer",
                    "beslut",
                ],
                self.balanskrav_rows(),
            ),
            ("luckor.csv", vec!["typ", "objekt", "orsak"], gaps),
            (
                "behorigheter.csv",
                vec![
                    "identitet",
                    "behörighet",
                    "ändring",
                    "beslut",
                    "gäller_från",
                    "sekvens",
                ],
                access,
            ),
        ]
    }

    /// Each table as CSV (RFC 4180 quoting), by file name.
    pub fn csv(&self) -> BTreeMap<&'static str, String> {
        let q = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        self.tables()
            .into_iter()
            .map(|(name, header, rows)| {
                let mut out = header.iter().map(|h| q(h)).collect::<Vec<_>>().join(",") + "\n";
                for r in rows {
                    out += &(r.iter().map(|c| q(c)).collect::<Vec<_>>().join(",") + "\n");
                }
                (name, out)
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Intern kontroll {} — {}\n",
            self.year, self.kommun_name
        );
        let _ = writeln!(
            s,
            "Rapport för revisorerna, sammanställd {} ur Styrkedjas historik.\n",
            self.today
        );
        let _ = writeln!(s, "## Historikens äkthet\n");
        for l in self.verification_lines() {
            let _ = writeln!(s, "- {l}");
        }
        let _ = writeln!(s, "\n## Planer\n");
        for p in &self.plans {
            let _ = writeln!(
                s,
                "- **{}** ({} {}), antagen {}: {} risker, {} kontrollmoment, tertialrapporter: {}",
                p.plan,
                p.body.to_uppercase(),
                p.year,
                p.source.decided,
                p.risks.len(),
                p.controls.len(),
                if p.tertial_reports.is_empty() {
                    "inga".into()
                } else {
                    p.tertial_reports
                        .keys()
                        .map(|t| format!("T{t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        let _ = writeln!(s, "\n## Riskmatris (sannolikhet × konsekvens)\n");
        let m = self.matrix();
        let _ = writeln!(
            s,
            "| konsekvens \\ sannolikhet | 1 | 2 | 3 | 4 |\n|---|---|---|---|---|"
        );
        for c in (1..=4u8).rev() {
            let cells: Vec<String> = (1..=4u8)
                .map(|l| m.get(&(c, l)).map_or(String::new(), |v| v.join(", ")))
                .collect();
            let _ = writeln!(s, "| {c} | {} |", cells.join(" | "));
        }
        for (name, header, rows) in self.tables() {
            let _ = writeln!(s, "\n## {}\n", title(name));
            if rows.is_empty() {
                let _ = writeln!(s, "Inga.");
                continue;
            }
            let _ = writeln!(
                s,
                "| {} |\n|{}",
                header.join(" | "),
                "---|".repeat(header.len())
            );
            for r in rows {
                let _ = writeln!(
                    s,
                    "| {} |",
                    r.iter()
                        .map(|c| c.replace('|', "\\|"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
            }
        }
        let _ = writeln!(s, "\n## Åtgärdsplaner\n");
        if self.atgardsplaner.is_empty() {
            let _ = writeln!(s, "Inga.");
        }
        for (body, a) in &self.atgardsplaner {
            let _ = writeln!(
                s,
                "- **{}** ({}): avvikelser {}; åtgärder: {}; uppföljning senast {}",
                a.id,
                body.to_uppercase(),
                a.deviations.join(", "),
                a.measures.join("; "),
                a.follow_up_by
            );
        }
        s
    }

    pub fn html(&self) -> String {
        let e = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut s = String::new();
        let _ = write!(s, "<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n<title>Intern kontroll {} — {}</title>\n", self.year, e(&self.kommun_name));
        s += "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:4px 8px;vertical-align:top;font-size:90%}th{background:#eee}.matrix td{width:9em;height:4em;text-align:center}.low{background:#cfe8cf}.mid{background:#fbe7a6}.high{background:#f4b6b0}.ok{color:#1a6b1a}.bad{color:#a11}</style>\n</head>\n<body>\n";
        let _ = writeln!(
            s,
            "<h1>Intern kontroll {} — {}</h1>",
            self.year,
            e(&self.kommun_name)
        );
        let _ = writeln!(
            s,
            "<p>Rapport för revisorerna, sammanställd {} ur Styrkedjas historik.</p>",
            self.today
        );
        let _ = writeln!(s, "<h2>Historikens äkthet</h2>");
        let class = if self.verification.is_ok() {
            "ok"
        } else {
            "bad"
        };
        for l in self.verification_lines() {
            let _ = writeln!(s, "<p class=\"{class}\">{}</p>", e(&l));
        }
        let _ = writeln!(s, "<h2>Planer</h2>\n<ul>");
        for p in &self.plans {
            let _ = writeln!(
                s,
                "<li><b>{}</b> ({} {}), antagen {}: {} risker, {} kontrollmoment</li>",
                e(&p.plan),
                e(&p.body.to_uppercase()),
                p.year,
                e(&p.source.decided),
                p.risks.len(),
                p.controls.len()
            );
        }
        s += "</ul>\n<h2>Riskmatris</h2>\n<table class=\"matrix\">\n<tr><th>konsekvens \\ sannolikhet</th><th>1</th><th>2</th><th>3</th><th>4</th></tr>\n";
        let m = self.matrix();
        for c in (1..=4u8).rev() {
            let _ = write!(s, "<tr><th>{c}</th>");
            for l in 1..=4u8 {
                let score = c * l;
                let class = if score >= 12 {
                    "high"
                } else if score >= 6 {
                    "mid"
                } else {
                    "low"
                };
                let ids = m.get(&(c, l)).map_or(String::new(), |v| {
                    v.iter().map(|i| e(i)).collect::<Vec<_>>().join("<br>")
                });
                let _ = write!(s, "<td class=\"{class}\">{ids}</td>");
            }
            s += "</tr>\n";
        }
        s += "</table>\n";
        for (name, header, rows) in self.tables() {
            let _ = writeln!(s, "<h2>{}</h2>", e(title(name)));
            if rows.is_empty() {
                s += "<p>Inga.</p>\n";
                continue;
            }
            s += "<table>\n<tr>";
            for h in header {
                let _ = write!(s, "<th>{}</th>", e(h));
            }
            s += "</tr>\n";
            for r in rows {
                s += "<tr>";
                for c in r {
                    let _ = write!(s, "<td>{}</td>", e(&c));
                }
                s += "</tr>\n";
            }
            s += "</table>\n";
        }
        s += "<h2>Åtgärdsplaner</h2>\n<ul>\n";
        for (body, a) in &self.atgardsplaner {
            let _ = writeln!(
                s,
                "<li><b>{}</b> ({}): avvikelser {}; åtgärder: {}; uppföljning senast {}</li>",
                e(&a.id),
                e(&body.to_uppercase()),
                e(&a.deviations.join(", ")),
                e(&a.measures.join("; ")),
                a.follow_up_by
            );
        }
        s += "</ul>\n</body>\n</html>\n";
        s
    }
}
