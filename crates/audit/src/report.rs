//! Revisionsunderlag: what the revisorer need for their granskning of a
//! kommun's year, gathered from the read models — the verification of the
//! history first, then the year's decisions in order (ändringslogg),
//! måluppfyllelse with traffic lights, uppdrag, the economy against the
//! ramar, the budget's decisions, investments and balanskrav, deviations
//! and åtgärdsplaner, intern kontroll (plans, risk matrix, control points,
//! findings), granskningar with the boards' yttranden, the gaps and who
//! could record what. The tables are typed ([`Cell`]) so that every output
//! (`render.rs`: Markdown, HTML, CSV, xlsx) shows the same content.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use styr_domain::{
    grouped, Assessment, ControlResult, ReportKind, ScoredRisk, Trend, UppdragStatus,
};
use styr_projections::docs::*;
use styr_projections::{Gap, KvRead, PlanView, ProjectionError};
use styr_store::KommunId;

use crate::{Break, Report};

/// How a status reads at a glance (trafikljus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Grön: met, within ram, in time.
    Good,
    /// Gul: partly, close, waiting.
    Warn,
    /// Röd: not met, over ram, missing, late, open.
    Bad,
    /// Grå: cannot be judged.
    Muted,
}

/// One cell of a report table, typed so that a spreadsheet gets numbers
/// and dates and every output shows the same thing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// An amount in tkr, or a count.
    Amount(i64),
    /// An indicator value.
    Number(f64),
    Date(NaiveDate),
    /// A status word with its colour.
    Status(String, Tone),
    Empty,
}

impl Cell {
    /// The cell as plain text (CSV, the spreadsheet's text cells).
    pub fn plain(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Status(s, _) => s.clone(),
            Cell::Amount(n) => n.to_string(),
            Cell::Number(f) => decimal(*f),
            Cell::Date(d) => d.to_string(),
            Cell::Empty => String::new(),
        }
    }

    /// The cell as a person reads it: amounts grouped by thousands with
    /// no-break spaces (`1 032 357`), decimals with a comma.
    pub fn display(&self) -> String {
        match self {
            Cell::Amount(n) => grouped(*n),
            other => other.plain(),
        }
    }

    pub fn tone(&self) -> Option<Tone> {
        match self {
            Cell::Status(_, t) => Some(*t),
            _ => None,
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

fn amount(v: Option<i64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Amount)
}

/// `84,3`: a decimal as Swedish text.
fn decimal(f: f64) -> String {
    let s = format!("{f}");
    s.replace('.', ",")
}

/// `1 risk`, `3 risker`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A table: its file name (CSV, and the spreadsheet's sheet), its title,
/// its column headers and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: &'static str,
    pub title: &'static str,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn frequency_sv(f: styr_domain::Frequency) -> &'static str {
    match f {
        styr_domain::Frequency::Monthly => "månadsvis",
        styr_domain::Frequency::PerTertial => "per tertial",
        styr_domain::Frequency::Yearly => "årligen",
    }
}

/// A goal assessment as a traffic light.
fn assessment_light(a: Assessment) -> Cell {
    match a {
        Assessment::Met => Cell::Status("grön: uppfyllt".into(), Tone::Good),
        Assessment::Partly => Cell::Status("gul: delvis uppfyllt".into(), Tone::Warn),
        Assessment::NotMet => Cell::Status("röd: ej uppfyllt".into(), Tone::Bad),
        Assessment::NotAssessable => Cell::Status("grå: kan ej bedömas".into(), Tone::Muted),
    }
}

/// An indicator's value against its målvärde, by its direction: green when
/// reached (for one to maintain: within 2 % of it), yellow when short of it
/// by at most 5 %, red beyond.
fn indicator_light(direction: Trend, value: f64, target: f64) -> Cell {
    let scale = target.abs().max(f64::EPSILON);
    let (gap, reached) = match direction {
        Trend::Increase => ((target - value) / scale, 0.0),
        Trend::Decrease => ((value - target) / scale, 0.0),
        Trend::Maintain => ((value - target).abs() / scale, 0.02),
    };
    if gap <= reached {
        Cell::Status("grön: målvärdet nått".into(), Tone::Good)
    } else if gap <= 0.05 {
        Cell::Status("gul: nära målvärdet".into(), Tone::Warn)
    } else {
        Cell::Status("röd: långt från målvärdet".into(), Tone::Bad)
    }
}

/// When a period (`2026`, `2026-T2`, `2026-06`) ends, and how much of the
/// year it covers (a whole year ranks above a tertial, a tertial above a
/// month ending the same day).
fn period_rank(period: &str) -> (Option<NaiveDate>, u8) {
    let (year, rest) = period.split_once('-').unwrap_or((period, ""));
    let Ok(year) = year.parse::<i32>() else {
        return (None, 0);
    };
    if rest.is_empty() {
        return (NaiveDate::from_ymd_opt(year, 12, 31), 2);
    }
    if let Some(t) = rest.strip_prefix('T').and_then(|t| t.parse::<u8>().ok()) {
        return (styr_domain::tertial_end(year, t), 1);
    }
    let end = rest.parse::<u32>().ok().and_then(|m| {
        let (y, m) = if m == 12 {
            (year + 1, 1)
        } else {
            (year, m + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.pred_opt())
    });
    (end, 0)
}

/// An investment's outcome (or forecast) against its budget for the year:
/// green within it, yellow up to 5 % over, red beyond.
fn investment_light(budget: Option<i64>, judged: Option<i64>) -> Cell {
    match (budget, judged) {
        (Some(b), Some(j)) if j <= b => Cell::Status("grön: inom budget".into(), Tone::Good),
        (Some(b), Some(j)) if (j - b) * 20 <= b => {
            Cell::Status("gul: högst 5 % över budget".into(), Tone::Warn)
        }
        (Some(_), Some(_)) => Cell::Status("röd: över budget".into(), Tone::Bad),
        _ => Cell::Status("ej uppföljd".into(), Tone::Muted),
    }
}

fn open_or_closed(closed: Option<&Statement>) -> Cell {
    match closed {
        Some(c) => Cell::Status(format!("avslutad: {}", c.text), Tone::Good),
        None => Cell::Status("öppen".into(), Tone::Bad),
    }
}

/// One line of the ändringslogg: an event of the year's decisions, the
/// entities it touched, and how it stands to rättelser.
#[derive(Debug, Clone)]
pub struct Change {
    pub entry: HistoryEntry,
    pub entities: Vec<String>,
    /// For a rättelse: the sequence of the event it corrects.
    pub corrects: Option<u64>,
    /// The rättelser of this event (sequences), whenever they were decided.
    pub corrected_by: Vec<u64>,
}

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
    /// The year's budget, goals, uppdrag, investments and balanskrav.
    pub plan: PlanView,
    /// The year's follow-up reports.
    pub reports: Vec<ReportDoc>,
    /// Uppdrag given by the year's end and not closed before it began,
    /// overdue ones from earlier years included.
    pub uppdrag: Vec<UppdragDoc>,
    /// Nämndmål of the year (KF goals are in `plan`).
    pub namndmal: Vec<GoalDoc>,
    pub reviews: Vec<ReviewDoc>,
    /// Every negative balanskravsresultat to restore, and how it stands.
    pub obligations: Vec<styr_projections::BalanskravObligation>,
    /// Every event of the year's decisions, once, with the entities it touched.
    pub changes: Vec<Change>,
    /// How måluppfyllelse is grouped, when the revisor asks for a grouping.
    pub grouping: Option<GoalGrouping>,
}

/// Gruppering: how the måluppfyllelse table groups the year's goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalGrouping {
    /// By the process a goal belongs to (a nämndmål by the process of the
    /// goal it breaks down).
    Process,
    /// By the Agenda 2030 goal a goal serves (a goal serving several shows
    /// under each).
    Agenda2030,
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
            styr_projections::docs::<ControlPlanDoc>(kv, kommun, DocKind::InternalControl)?
                .into_iter()
                .filter(|p| p.year == year)
                .collect();
        let findings = styr_projections::docs::<FindingDoc>(kv, kommun, DocKind::Finding)?
            .into_iter()
            .filter(|f| plans.iter().any(|p| p.plan == f.plan))
            .collect();
        let deviations = styr_projections::docs::<DeviationDoc>(kv, kommun, DocKind::Deviation)?
            .into_iter()
            .filter(|d| {
                d.reported.year() == year || (d.reported.year() < year && d.closed.is_none())
            })
            .collect();
        let mut reports: Vec<ReportDoc> = styr_projections::reports(kv, kommun, None)?
            .into_iter()
            .filter(|r| r.year == year)
            .collect();
        reports.sort_by(|a, b| (&a.body, a.kind).cmp(&(&b.body, b.kind)));
        let atgardsplaner = reports
            .iter()
            .filter_map(|r| r.atgardsplan.clone().map(|a| (r.body.clone(), a)))
            .collect();
        let kommun_name = styr_projections::doc::<KommunDoc>(kv, kommun, KOMMUN_PATH)?
            .map_or_else(|| kommun.to_string(), |k| k.name);
        let namndmal = styr_projections::goals(kv, kommun)?
            .into_iter()
            .filter(|g| g.level == "namnd" && (g.from_year..=g.to_year).contains(&year))
            .collect();
        let uppdrag = styr_projections::uppdrag(kv, kommun)?
            .into_iter()
            .filter(|u| {
                let closed_before = u
                    .lifecycle
                    .iter()
                    .any(|l| l.what == "closed" && l.source.effective_date.year() < year);
                u.given_year <= year && !closed_before
            })
            .collect();
        let reviews = styr_projections::docs::<ReviewDoc>(kv, kommun, DocKind::Review)?
            .into_iter()
            .filter(|r| r.year == year)
            .collect();
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
            access: styr_projections::docs::<AccessDoc>(kv, kommun, DocKind::Access)?,
            plan: styr_projections::plan(kv, kommun, year)?,
            reports,
            uppdrag,
            namndmal,
            reviews,
            obligations: styr_projections::balanskrav_obligations(kv, kommun)?,
            changes: changes_of_year(kv, kommun, year)?,
            grouping: None,
        })
    }

    /// The same report with måluppfyllelse grouped.
    pub fn grouped_by(mut self, grouping: Option<GoalGrouping>) -> Self {
        self.grouping = grouping;
        self
    }

    /// Every risk of the year's intern kontrollplaner, with its plan.
    pub fn risks(&self) -> Vec<(&str, &ScoredRisk)> {
        self.plans
            .iter()
            .flat_map(|p| p.risks.iter().map(move |r| (p.plan.as_str(), r)))
            .collect()
    }

    /// (consequence, likelihood) → the risks there: (plan/id, description).
    pub(crate) fn matrix(&self) -> BTreeMap<(u8, u8), Vec<(String, String)>> {
        let mut m: BTreeMap<(u8, u8), Vec<(String, String)>> = BTreeMap::new();
        for (plan, r) in self.risks() {
            m.entry((r.consequence, r.likelihood))
                .or_default()
                .push((format!("{plan}/{}", r.id), r.description.clone()));
        }
        m
    }

    pub(crate) fn verification_lines(&self) -> Vec<String> {
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
                v.push(
                    "Allt nedan bygger på den historik som finns och ska läsas med det i minnet."
                        .into(),
                );
                v
            }
        }
    }

    /// The report's tables, in the order the report shows them.
    pub fn tables(&self) -> Vec<Table> {
        vec![
            self.change_log(),
            self.goal_table(),
            self.indicator_table(),
            self.uppdrag_table(),
            self.economy_table(),
            self.budget_table(),
            self.investment_table(),
            self.balanskrav_table(),
            self.obligation_table(),
            self.deviation_table(),
            self.atgardsplan_table(),
            self.control_plan_table(),
            self.risk_table(),
            self.control_table(),
            self.finding_table(),
            self.review_table(),
            Table {
                file: "luckor.csv",
                title: "Luckor i styrkedjan",
                header: vec!["typ", "objekt", "orsak"],
                rows: self
                    .gaps
                    .iter()
                    .map(|g| {
                        vec![
                            g.kind.into(),
                            g.entity.clone().into(),
                            Cell::Status(g.reason.clone(), Tone::Bad),
                        ]
                    })
                    .collect(),
            },
            self.access_table(),
        ]
    }

    fn change_log(&self) -> Table {
        let sequences = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        Table {
            file: "andringslogg.csv",
            title: "Ändringslogg: årets beslut i ordning, med rättelser",
            header: vec![
                "sekvens",
                "beslutat",
                "beslut",
                "händelse",
                "rör",
                "gäller_från",
                "registrerad",
                "registrerad_av",
                "rättar_sekvens",
                "rättad_genom",
            ],
            rows: self
                .changes
                .iter()
                .map(|c| {
                    let e = &c.entry;
                    vec![
                        Cell::Amount(e.sequence as i64),
                        e.provenance
                            .decided_by
                            .decision_date()
                            .map_or(Cell::Empty, Cell::Date),
                        e.provenance.decided_by.to_string().into(),
                        e.event_type.clone().into(),
                        c.entities.join(", ").into(),
                        Cell::Date(e.provenance.effective_date),
                        Cell::Date(e.recorded_at.date_naive()),
                        e.recorded_by.clone().into(),
                        c.corrects
                            .map_or(Cell::Empty, |s| Cell::Status(s.to_string(), Tone::Warn)),
                        if c.corrected_by.is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Status(sequences(&c.corrected_by), Tone::Warn)
                        },
                    ]
                })
                .collect(),
        }
    }

    /// The latest assessment of `goal` in the year's reports (årsredovisning
    /// before delårsrapport before budgetuppföljning).
    fn assessment(&self, goal: &str) -> Option<(Assessment, &ReportDoc)> {
        self.reports
            .iter()
            .filter_map(|r| {
                r.goals
                    .iter()
                    .find(|g| g.goal == goal)
                    .map(|g| (g.assessment, r))
            })
            .max_by_key(|(_, r)| r.kind)
    }

    /// The year's goals: KF goals, processmål, nämndmål.
    fn goals(&self) -> impl Iterator<Item = &GoalDoc> {
        let process_goals = self
            .plan
            .processes
            .iter()
            .flat_map(|p| &p.goals)
            .filter(|g| g.level == "process");
        self.plan
            .kf_goals
            .iter()
            .chain(process_goals)
            .chain(&self.namndmal)
    }

    /// The groups a goal shows under: its process (a nämndmål's through
    /// the goals it breaks down), or the Agenda 2030 goals it serves.
    fn groups_of(&self, g: &GoalDoc, grouping: GoalGrouping) -> Vec<String> {
        let mut out: Vec<String> = match grouping {
            GoalGrouping::Process => {
                let name = |id: &str| {
                    self.plan
                        .processes
                        .iter()
                        .find(|p| p.process.id == id)
                        .map_or(id.to_owned(), |p| p.process.name.clone())
                };
                let via = g.kf_goals.iter().filter_map(|k| {
                    self.goals()
                        .find(|x| x.id == *k)
                        .and_then(|x| x.process.clone())
                });
                g.process
                    .clone()
                    .into_iter()
                    .chain(via)
                    .map(|p| name(&p))
                    .collect()
            }
            GoalGrouping::Agenda2030 => g
                .agenda2030
                .iter()
                .chain(g.indicators.iter().flat_map(|i| &i.agenda2030))
                .filter_map(|t| styr_domain::global_goal_of(t))
                .filter_map(styr_domain::GlobalGoal::get)
                .map(|gg| format!("{:02} {}", gg.number, gg.name))
                .collect(),
        };
        out.sort();
        out.dedup();
        if out.is_empty() {
            out.push(match grouping {
                GoalGrouping::Process => "ingen process".to_owned(),
                GoalGrouping::Agenda2030 => "inget Agenda 2030-mål".to_owned(),
            });
        }
        out
    }

    fn goal_table(&self) -> Table {
        let row = |g: &GoalDoc| {
            let (light, by) = match self.assessment(&g.id) {
                Some((a, r)) => (
                    assessment_light(a),
                    format!("{} {}", r.body.to_uppercase(), r.kind.swedish()),
                ),
                None => (Cell::Status("ej bedömd".into(), Tone::Muted), String::new()),
            };
            let (level, owner) = match g.level.as_str() {
                "kf" => ("KF-mål", "KF".to_owned()),
                // A processmål answers through its process's owner.
                "process" => {
                    let process = g.process.as_deref().unwrap_or_default();
                    let owner = self
                        .plan
                        .processes
                        .iter()
                        .find(|p| p.process.id == process)
                        .map_or(String::new(), |p| p.process.owner.to_uppercase());
                    ("processmål", format!("{owner} (process {process})"))
                }
                _ => (
                    "nämndmål",
                    g.body.as_deref().unwrap_or_default().to_uppercase(),
                ),
            };
            vec![
                g.id.clone().into(),
                level.into(),
                owner.into(),
                g.title.clone().into(),
                light,
                by.into(),
            ]
        };
        let header = vec![
            "mål",
            "nivå",
            "organ",
            "titel",
            "måluppfyllelse",
            "bedömd_i",
        ];
        let Some(grouping) = self.grouping else {
            return Table {
                file: "maluppfyllelse.csv",
                title: "Måluppfyllelse: KF-mål, processmål och nämndmål",
                header,
                rows: self.goals().map(row).collect(),
            };
        };
        let mut rows: Vec<(String, usize, Vec<Cell>)> = Vec::new();
        for (i, g) in self.goals().enumerate() {
            for group in self.groups_of(g, grouping) {
                let mut r = vec![Cell::Text(group.clone())];
                r.extend(row(g));
                rows.push((group, i, r));
            }
        }
        // Groups in order, the unlinked last; goals in their usual order within.
        rows.sort_by(|a, b| {
            let unlinked = |s: &str| s.starts_with("ingen") || s.starts_with("inget");
            (unlinked(&a.0), &a.0, a.1).cmp(&(unlinked(&b.0), &b.0, b.1))
        });
        let (title, first) = match grouping {
            GoalGrouping::Process => ("Måluppfyllelse per process", "process"),
            GoalGrouping::Agenda2030 => ("Måluppfyllelse per Agenda 2030-mål", "agenda_2030"),
        };
        Table {
            file: "maluppfyllelse.csv",
            title,
            header: std::iter::once(first).chain(header).collect(),
            rows: rows.into_iter().map(|(_, _, r)| r).collect(),
        }
    }

    fn indicator_table(&self) -> Table {
        let mut rows = Vec::new();
        let year = self.year.to_string();
        for g in self.goals() {
            for i in &g.indicators {
                let target = i.targets.iter().find(|t| t.year == self.year);
                let latest = g.outcomes.get(&i.id).and_then(|v| {
                    v.iter()
                        .filter(|o| o.period.starts_with(&year))
                        .max_by_key(|o| (period_rank(&o.period), o.sequence))
                });
                let light = match (latest, target) {
                    (Some(o), Some(t)) => indicator_light(i.direction, o.value, t.value),
                    (None, Some(_)) => Cell::Status("utfall saknas".into(), Tone::Muted),
                    (_, None) => Cell::Status("inget målvärde".into(), Tone::Muted),
                };
                rows.push(vec![
                    g.id.clone().into(),
                    i.name.clone().into(),
                    i.kolada_kpi.clone().map_or(Cell::Empty, Cell::Text),
                    target.map_or(Cell::Empty, |t| Cell::Number(t.value)),
                    latest.map_or(Cell::Empty, |o| Cell::Number(o.value)),
                    latest.map_or(Cell::Empty, |o| {
                        format!("{} ({})", o.period, o.source).into()
                    }),
                    light,
                ]);
            }
        }
        Table {
            file: "indikatorer.csv",
            title: "Indikatorer: årets utfall mot målvärdet",
            header: vec![
                "mål",
                "indikator",
                "kolada",
                "målvärde",
                "utfall",
                "period_och_källa",
                "ljus",
            ],
            rows,
        }
    }

    fn uppdrag_table(&self) -> Table {
        Table {
            file: "uppdrag.csv",
            title: "Uppdrag från fullmäktige",
            header: vec![
                "uppdrag",
                "titel",
                "givet_till",
                "ska_vara_klart",
                "senaste_status",
                "läge",
            ],
            rows: self
                .uppdrag
                .iter()
                .map(|u| {
                    let last = u.status.last();
                    let state = match (&u.closed, last.map(|s| s.status)) {
                        (Some(c), _) => Cell::Status(format!("avslutat: {c}"), Tone::Good),
                        (None, Some(UppdragStatus::Done)) => {
                            Cell::Status("klart".into(), Tone::Good)
                        }
                        (None, _) if u.due < self.today => Cell::Status(
                            format!("försenat: skulle vara klart {}", u.due),
                            Tone::Bad,
                        ),
                        (None, Some(UppdragStatus::Delayed)) => {
                            Cell::Status("försenat enligt återrapporten".into(), Tone::Bad)
                        }
                        (None, Some(UppdragStatus::NotStarted)) => {
                            Cell::Status("ej påbörjat".into(), Tone::Warn)
                        }
                        (None, Some(UppdragStatus::Ongoing)) => {
                            Cell::Status("pågår".into(), Tone::Good)
                        }
                        (None, None) => Cell::Status("ingen återrapport".into(), Tone::Warn),
                    };
                    vec![
                        u.id.clone().into(),
                        u.title.clone().into(),
                        u.to.join(", ").to_uppercase().into(),
                        Cell::Date(u.due),
                        last.map_or(Cell::Empty, |s| {
                            format!(
                                "{} per {} ({})",
                                s.status.swedish(),
                                s.as_of,
                                s.body.to_uppercase()
                            )
                            .into()
                        }),
                        state,
                    ]
                })
                .collect(),
        }
    }

    fn economy_table(&self) -> Table {
        // The ram in force when the report's period ended.
        let ram_of = |body: &str, through: NaiveDate| {
            self.plan.budget.as_ref().and_then(|b| {
                b.changes
                    .iter()
                    .rev()
                    .find(|e| {
                        e.body == body && e.year == self.year && e.source.effective_date <= through
                    })
                    .map(|e| e.amount)
            })
        };
        let mut rows = Vec::new();
        for r in &self.reports {
            for o in &r.ramar {
                let ram = ram_of(&o.body, r.through);
                let judged = if r.kind == ReportKind::Arsredovisning {
                    Some(o.outcome)
                } else {
                    o.forecast
                };
                let deviation = ram.zip(judged).map(|(ram, j)| ram - j);
                let light = match (deviation, ram) {
                    (Some(d), _) if d >= 0 => Cell::Status("grön: inom ram".into(), Tone::Good),
                    (Some(d), Some(ram)) if d.unsigned_abs() * 100 <= ram.unsigned_abs() => {
                        Cell::Status("gul: högst 1 % över ram".into(), Tone::Warn)
                    }
                    (Some(_), _) => Cell::Status("röd: över ram".into(), Tone::Bad),
                    (None, None) => Cell::Status("ram saknas".into(), Tone::Muted),
                    (None, Some(_)) => Cell::Status("prognos saknas".into(), Tone::Muted),
                };
                rows.push(vec![
                    o.body.to_uppercase().into(),
                    r.kind.swedish().into(),
                    Cell::Date(r.through),
                    amount(ram),
                    Cell::Amount(o.outcome),
                    amount(o.forecast),
                    amount(deviation),
                    light,
                ]);
            }
        }
        Table {
            file: "ekonomi.csv",
            title: "Ekonomi: utfall och prognos mot ram per nämnd och rapport (tkr; avvikelse = ram − prognos, i årsredovisningen ram − utfall)",
            header: vec!["organ", "rapport", "till_och_med", "ram", "utfall", "prognos", "avvikelse", "ljus"],
            rows,
        }
    }

    /// Every decision that set a figure of the budget covering the year:
    /// the year's ramar in every step, then the other parts.
    fn budget_table(&self) -> Table {
        let mut rows = Vec::new();
        if let Some(b) = &self.plan.budget {
            let row = |part: &str,
                       object: &str,
                       value: Cell,
                       change: styr_domain::BudgetChange,
                       src: &Source| {
                vec![
                    part.into(),
                    object.into(),
                    value,
                    change.swedish().into(),
                    src.decided.clone().into(),
                    Cell::Date(src.effective_date),
                    Cell::Amount(src.sequence as i64),
                ]
            };
            rows.extend(
                b.changes
                    .iter()
                    .filter(|e| e.year == self.year)
                    .map(|e| row("ram", &e.body, Cell::Amount(e.amount), e.change, &e.source)),
            );
            rows.extend(b.part_changes.iter().map(|p| {
                row(
                    &p.part,
                    &p.object,
                    p.value.clone().into(),
                    p.change,
                    &p.source,
                )
            }));
        }
        Table {
            file: "budgetbeslut.csv",
            title: "Budgeten: varje beslut som satt en siffra (ramar, skattesats, plan för ekonomin, investeringar, RUR)",
            header: vec!["del", "objekt", "värde", "steg", "beslut", "gäller_från", "sekvens"],
            rows,
        }
    }

    fn investment_table(&self) -> Table {
        Table {
            file: "investeringar.csv",
            title: "Investeringar: budget, utfall och prognos (tkr)",
            header: vec![
                "investering",
                "nämnd",
                "projekt",
                "total",
                "budget",
                "utfall_delår",
                "prognos_delår",
                "utfall_år",
                "budget_beslutad",
                "ljus",
            ],
            rows: self
                .plan
                .investments
                .iter()
                .map(|i| {
                    let of = |k: ReportKind| {
                        i.follow_ups
                            .iter()
                            .rev()
                            .find(|f| f.year == self.year && f.report == k)
                    };
                    let interim = of(ReportKind::Delarsrapport);
                    let annual = of(ReportKind::Arsredovisning);
                    vec![
                        i.id.clone().into(),
                        i.investment.body.to_uppercase().into(),
                        i.investment.title.clone().into(),
                        Cell::Amount(i.investment.total),
                        amount(i.budget_for(self.year)),
                        amount(interim.map(|f| f.outcome)),
                        amount(interim.and_then(|f| f.forecast)),
                        amount(annual.map(|f| f.outcome)),
                        i.set_by(self.year)
                            .map_or(Cell::Empty, |e| e.source.decided.clone().into()),
                        investment_light(
                            i.budget_for(self.year),
                            annual
                                .map(|f| f.outcome)
                                .or(interim.and_then(|f| f.forecast)),
                        ),
                    ]
                })
                .collect(),
        }
    }

    fn balanskrav_table(&self) -> Table {
        Table {
            file: "balanskrav.csv",
            title: "Balanskravsutredning före och efter resultatutjämningsreserv (tkr)",
            header: vec![
                "rapport",
                "årets_resultat",
                "justeringar",
                "balanskravsresultat",
                "till_rur",
                "från_rur",
                "efter_rur",
                "balanskravet",
                "riktlinjer",
                "beslut",
            ],
            rows: self
                .plan
                .balanskrav
                .iter()
                .flat_map(|b| &b.reports)
                .map(|e| {
                    let u = &e.utredning;
                    vec![
                        e.report.swedish().into(),
                        Cell::Amount(u.arets_resultat),
                        Cell::Amount(u.justeringar),
                        Cell::Amount(u.balanskravsresultat),
                        Cell::Amount(u.till_rur),
                        Cell::Amount(u.fran_rur),
                        Cell::Amount(u.efter_rur),
                        if u.efter_rur < 0 {
                            Cell::Status(
                                "ej uppfyllt: återställs inom tre år (KL 11 kap 12 §)".into(),
                                Tone::Bad,
                            )
                        } else {
                            Cell::Status("uppfyllt".into(), Tone::Good)
                        },
                        u.riktlinjer.clone().map_or(Cell::Empty, Cell::Text),
                        e.source.decided.clone().into(),
                    ]
                })
                .collect(),
        }
    }

    /// The obligations to restore a negative balanskravsresultat (KL 11
    /// kap 12–13 §§), whatever year they come from, as the year's end sees them.
    fn obligation_table(&self) -> Table {
        use styr_projections::ObligationStatus as S;
        Table {
            file: "aterstallande.csv",
            title: "Negativa balanskravsresultat att återställa (tkr, KL 11 kap 12 §)",
            header: vec![
                "år",
                "underskott",
                "återställt",
                "återstår",
                "senast",
                "status",
                "planerat",
                "avstående",
                "redovisat",
            ],
            rows: self
                .obligations
                .iter()
                .map(|o| {
                    let planned = o
                        .planned
                        .iter()
                        .map(|p| format!("{} {} ({})", p.year, grouped(p.amount), p.decided))
                        .collect::<Vec<_>>()
                        .join("; ");
                    vec![
                        Cell::Text(o.year.to_string()),
                        Cell::Amount(o.deficit),
                        Cell::Amount(o.deficit.saturating_sub(o.left())),
                        Cell::Amount(o.left()),
                        Cell::Text(o.last_year.to_string()),
                        Cell::Status(
                            o.status.swedish().into(),
                            match o.status {
                                S::Restored => Tone::Good,
                                S::Waived => Tone::Warn,
                                S::Open if self.year > o.last_year => Tone::Bad,
                                S::Open => Tone::Warn,
                            },
                        ),
                        planned.into(),
                        o.waived.as_ref().map_or(Cell::Empty, |w| {
                            format!("{} ({})", w.text, w.source.decided).into()
                        }),
                        o.reported.decided.clone().into(),
                    ]
                })
                .collect(),
        }
    }

    fn deviation_table(&self) -> Table {
        Table {
            file: "avvikelser.csv",
            title: "Avvikelser",
            header: vec![
                "avvikelse",
                "enhet",
                "mot",
                "riktning",
                "belopp",
                "rapporterad",
                "analys",
                "åtgärder",
                "till_nämnden",
                "åtgärdsplan",
                "status",
            ],
            rows: self
                .deviations
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone().into(),
                        d.unit.clone().into(),
                        d.from.swedish().into(),
                        if d.sign == styr_domain::DeviationSign::Negative {
                            "negativ"
                        } else {
                            "positiv"
                        }
                        .into(),
                        amount(d.amount),
                        Cell::Date(d.reported),
                        d.analysis.clone().into(),
                        d.actions
                            .iter()
                            .map(|a| a.description.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                            .into(),
                        if d.escalated.is_some() { "ja" } else { "nej" }.into(),
                        d.atgardsplan.clone().map_or(Cell::Empty, Cell::Text),
                        match (&d.closed, d.actions.is_empty() && d.atgardsplan.is_none()) {
                            (Some(_), _) => open_or_closed(d.closed.as_ref()),
                            (None, true) => Cell::Status("öppen, utan åtgärd".into(), Tone::Bad),
                            (None, false) => Cell::Status("öppen, åtgärdad".into(), Tone::Warn),
                        },
                    ]
                })
                .collect(),
        }
    }

    fn atgardsplan_table(&self) -> Table {
        Table {
            file: "atgardsplaner.csv",
            title: "Åtgärdsplaner",
            header: vec![
                "åtgärdsplan",
                "organ",
                "avvikelser",
                "åtgärder",
                "effekt",
                "följs_upp_senast",
            ],
            rows: self
                .atgardsplaner
                .iter()
                .map(|(body, a)| {
                    vec![
                        a.id.clone().into(),
                        body.to_uppercase().into(),
                        a.deviations.join(", ").into(),
                        a.measures.join("; ").into(),
                        amount(a.effect),
                        Cell::Date(a.follow_up_by),
                    ]
                })
                .collect(),
        }
    }

    fn control_plan_table(&self) -> Table {
        Table {
            file: "intern_kontroll.csv",
            title: "Intern kontroll: planer",
            header: vec![
                "plan",
                "organ",
                "antagen",
                "risker",
                "kontrollmoment",
                "tertialrapporter",
            ],
            rows: self
                .plans
                .iter()
                .map(|p| {
                    let passed: Vec<u8> = (1..=3u8)
                        .filter(|t| {
                            styr_domain::tertial_end(self.year, *t).is_some_and(|e| e < self.today)
                        })
                        .collect();
                    let reported: Vec<String> =
                        p.tertial_reports.keys().map(|t| format!("T{t}")).collect();
                    let missing = passed.iter().any(|t| !p.tertial_reports.contains_key(t));
                    let text = if reported.is_empty() {
                        "inga".to_owned()
                    } else {
                        reported.join(", ")
                    };
                    vec![
                        p.plan.clone().into(),
                        p.body.to_uppercase().into(),
                        p.source.decided.clone().into(),
                        count(p.risks.len(), "risk", "risker").into(),
                        count(p.controls.len(), "kontrollmoment", "kontrollmoment").into(),
                        Cell::Status(text, if missing { Tone::Bad } else { Tone::Good }),
                    ]
                })
                .collect(),
        }
    }

    fn risk_table(&self) -> Table {
        Table {
            file: "risker.csv",
            title: "Risker",
            header: vec![
                "plan",
                "risk",
                "område",
                "beskrivning",
                "sannolikhet",
                "konsekvens",
                "riskvärde",
                "hantering",
            ],
            rows: self
                .risks()
                .into_iter()
                .map(|(p, r)| {
                    vec![
                        p.into(),
                        r.id.clone().into(),
                        r.area.clone().into(),
                        r.description.clone().into(),
                        Cell::Amount(r.likelihood.into()),
                        Cell::Amount(r.consequence.into()),
                        Cell::Amount(r.score.into()),
                        r.response.swedish().into(),
                    ]
                })
                .collect(),
        }
    }

    fn control_table(&self) -> Table {
        let mut rows = Vec::new();
        for p in &self.plans {
            for c in &p.controls {
                let mut row: Vec<Cell> = vec![
                    p.plan.clone().into(),
                    c.id.clone().into(),
                    c.what.clone().into(),
                    c.how.clone().into(),
                    frequency_sv(c.frequency).into(),
                    c.responsible_role.clone().into(),
                    c.risk.clone().into(),
                ];
                for t in 1..=3u8 {
                    row.push(match p.results.get(&c.id).and_then(|r| r.get(&t)) {
                        Some(ControlResult::NoRemark) => {
                            Cell::Status("utan anmärkning".into(), Tone::Good)
                        }
                        Some(ControlResult::Finding {
                            finding,
                            description,
                        }) => Cell::Status(format!("brist {finding}: {description}"), Tone::Warn),
                        None if styr_domain::tertial_end(self.year, t)
                            .is_some_and(|e| e < self.today) =>
                        {
                            Cell::Status("SAKNAS".into(), Tone::Bad)
                        }
                        None => Cell::Text("–".into()),
                    });
                }
                rows.push(row);
            }
        }
        Table {
            file: "kontrollmoment.csv",
            title: "Kontrollmoment och resultat per tertial",
            header: vec![
                "plan", "kontroll", "vad", "hur", "frekvens", "ansvarig", "risk", "T1", "T2", "T3",
            ],
            rows,
        }
    }

    fn finding_table(&self) -> Table {
        Table {
            file: "brister.csv",
            title: "Brister och åtgärder",
            header: vec![
                "brist",
                "plan",
                "kontroll",
                "tertial",
                "beskrivning",
                "åtgärder",
                "status",
            ],
            rows: self
                .findings
                .iter()
                .map(|f| {
                    vec![
                        f.finding.clone().into(),
                        f.plan.clone().into(),
                        f.control.clone().into(),
                        format!("T{}", f.tertial).into(),
                        f.description.clone().into(),
                        f.actions
                            .iter()
                            .map(|a| {
                                format!("{} ({}, senast {})", a.description, a.responsible, a.due)
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                            .into(),
                        open_or_closed(f.closed.as_ref()),
                    ]
                })
                .collect(),
        }
    }

    fn review_table(&self) -> Table {
        let mut rows = Vec::new();
        for r in &self.reviews {
            for body in &r.bodies {
                let reply = r.replies.get(body);
                let timely = match reply {
                    Some(x) if x.late => {
                        Cell::Status("nej, yttrandet kom för sent".into(), Tone::Bad)
                    }
                    Some(_) => Cell::Status("ja".into(), Tone::Good),
                    None if r.reply_due < self.today => {
                        Cell::Status("yttrande saknas".into(), Tone::Bad)
                    }
                    None => Cell::Status("väntas".into(), Tone::Warn),
                };
                rows.push(vec![
                    r.review.clone().into(),
                    r.title.clone().into(),
                    body.to_uppercase().into(),
                    count(
                        r.recommendations.len(),
                        "rekommendation",
                        "rekommendationer",
                    )
                    .into(),
                    Cell::Date(r.reply_due),
                    reply.map_or(Cell::Empty, |x| x.source.decided.clone().into()),
                    reply.map_or(Cell::Empty, |x| x.reply.clone().into()),
                    timely,
                ]);
            }
        }
        Table {
            file: "granskningar.csv",
            title: "Granskningar och nämndernas yttranden",
            header: vec![
                "granskning",
                "titel",
                "organ",
                "rekommendationer",
                "svar_senast",
                "yttrande_beslutat",
                "yttrande",
                "i_tid",
            ],
            rows,
        }
    }

    fn access_table(&self) -> Table {
        let year_end = NaiveDate::from_ymd_opt(self.year, 12, 31).unwrap_or(self.today);
        Table {
            file: "behorigheter.csv",
            title: "Behörigheter: vem fick registrera beslut för vilket organ",
            header: vec![
                "identitet",
                "behörighet",
                "ändring",
                "beslut",
                "gäller_från",
                "sekvens",
            ],
            rows: self
                .access
                .iter()
                .flat_map(|a| {
                    a.changes
                        .iter()
                        .filter(|c| c.source.effective_date <= year_end)
                        .map(|c| {
                            vec![
                                a.identity.clone().into(),
                                c.access.to_string().into(),
                                if c.granted { "beviljad" } else { "återkallad" }.into(),
                                c.source.decided.clone().into(),
                                Cell::Date(c.source.effective_date),
                                Cell::Amount(c.source.sequence as i64),
                            ]
                        })
                })
                .collect(),
        }
    }
}

/// Every event whose decision date (or effective date) lies in `year`, once,
/// by decision date (then stream order), with the entities it touched —
/// from the audit histories, which hold one line per touched entity — and
/// every rättelse of such an event, whenever it was decided.
fn changes_of_year(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
) -> Result<Vec<Change>, ProjectionError> {
    let mut all: BTreeMap<u64, (HistoryEntry, Vec<String>)> = BTreeMap::new();
    for (entity, entry) in styr_projections::histories(kv, kommun)? {
        all.entry(entry.sequence)
            .or_insert_with(|| (entry, Vec::new()))
            .1
            .push(entity);
    }
    let sequence_of: BTreeMap<uuid::Uuid, u64> = all
        .values()
        .map(|(e, _)| (e.event_id, e.sequence))
        .collect();
    let decided = |e: &HistoryEntry| {
        e.provenance
            .decided_by
            .decision_date()
            .unwrap_or(e.provenance.effective_date)
    };
    let mut corrected_by: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (e, _) in all.values() {
        if let Some(target) = e.corrects.and_then(|c| sequence_of.get(&c)) {
            corrected_by.entry(*target).or_default().push(e.sequence);
        }
    }
    let in_year: std::collections::BTreeSet<u64> = all
        .values()
        .filter(|(e, _)| decided(e).year() == year)
        .map(|(e, _)| e.sequence)
        .collect();
    let mut changes: Vec<Change> = all
        .into_values()
        .filter_map(|(entry, entities)| {
            let corrects = entry.corrects.and_then(|c| sequence_of.get(&c).copied());
            let keep =
                in_year.contains(&entry.sequence) || corrects.is_some_and(|t| in_year.contains(&t));
            keep.then(|| Change {
                corrected_by: corrected_by.remove(&entry.sequence).unwrap_or_default(),
                corrects,
                entry,
                entities,
            })
        })
        .collect();
    changes.sort_by_key(|c| (decided(&c.entry), c.entry.sequence));
    Ok(changes)
}
