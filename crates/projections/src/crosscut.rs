//! Goals that cross the organisation: processes with their målgrupper,
//! goals and contributions (bidrag), and what serves each Agenda 2030 goal.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use serde::Serialize;
use styr_domain::{global_goal_of, GlobalGoal, AGENDA2030_VERSION};
use styr_store::KommunId;

use crate::docs::*;
use crate::kv::KvRead;
use crate::query::{docs, goals_with, Gap, Outcomes};
use crate::ProjectionError;

type R<T> = Result<T, ProjectionError>;

/// A process with everything that hangs on it.
// `G` is how its goals are held: as documents, or (in a kept plan) as
// `Part`s written once (this comment stays out of the published schema).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ProcessView")]
pub struct ProcessView<G = GoalDoc> {
    pub process: ProcessDoc,
    /// The målgrupper it serves, as defined.
    pub malgrupper: Vec<MalgruppDoc>,
    /// Its goals: processmål, and KF goals that belong to it, with outcomes.
    pub goals: Vec<G>,
    /// Nämndmål that break its goals down, each a contribution of its nämnd.
    pub namndmal: Vec<BrokenDown>,
    /// Every recorded bidrag to its goals.
    pub contributions: Vec<ContributionDoc>,
}

/// A nämndmål that breaks down goals of a process.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BrokenDown {
    pub id: String,
    pub body: String,
    pub year: i32,
    pub title: String,
    /// The process's goals it breaks down.
    pub goals: Vec<String>,
}

/// Every process with its målgrupper, goals and contributions.
pub fn processes(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> R<Vec<ProcessView>> {
    processes_with(kv, kommun, Outcomes::Every)
}

/// [`processes`], their goals read with every value or only the latest.
pub fn processes_with(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    outcomes: Outcomes,
) -> R<Vec<ProcessView>> {
    processes_in(kv, kommun, &goals_with(kv, kommun, outcomes)?, None)
}

/// [`processes`] over the goals already read; for `year`, only processes
/// running then, their goals in force and that year's contributions.
pub(crate) fn processes_in<O, G: Borrow<GoalDoc<O>> + Clone>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    all_goals: &[G],
    year: Option<i32>,
) -> R<Vec<ProcessView<G>>> {
    let in_year = |from: i32, to: i32| year.is_none_or(|y| (from..=to).contains(&y));
    let malgrupper: Vec<MalgruppDoc> = docs(kv, kommun, DocKind::Malgrupp)?;
    let contributions: Vec<ContributionDoc> = docs(kv, kommun, DocKind::Contribution)?;
    let mut out = Vec::new();
    for process in docs::<ProcessDoc>(kv, kommun, DocKind::Process)? {
        if year.is_some_and(|y| !process.runs_in(y)) {
            continue;
        }
        let goals: Vec<G> = all_goals
            .iter()
            .filter(|g| {
                let g: &GoalDoc<O> = (*g).borrow();
                g.process.as_deref() == Some(&process.id) && in_year(g.from_year, g.to_year)
            })
            .cloned()
            .collect();
        let ids: BTreeSet<&str> = goals.iter().map(|g| g.borrow().id.as_str()).collect();
        let namndmal = all_goals
            .iter()
            .map(|m| m.borrow())
            .filter(|m| m.level == "namnd" && in_year(m.from_year, m.to_year))
            .filter_map(|m| {
                let goals: Vec<String> = m
                    .kf_goals
                    .iter()
                    .filter(|k| ids.contains(k.as_str()))
                    .cloned()
                    .collect();
                (!goals.is_empty()).then(|| BrokenDown {
                    id: m.id.clone(),
                    body: m.body.clone().unwrap_or_default(),
                    year: m.from_year,
                    title: m.title.clone(),
                    goals,
                })
            })
            .collect();
        out.push(ProcessView {
            malgrupper: malgrupper
                .iter()
                .filter(|m| process.malgrupper.contains(&m.id))
                .cloned()
                .collect(),
            contributions: contributions
                .iter()
                .filter(|c| c.process == process.id && in_year(c.year, c.year))
                .cloned()
                .collect(),
            namndmal,
            goals,
            process,
        });
    }
    Ok(out)
}

/// What serves one of Agenda 2030's goals: every goal (KF goal, nämndmål,
/// processmål) tagged with it or one of its targets, and every indicator so
/// tagged, with their outcomes, across bodies, processes and years.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Agenda2030View {
    /// The global goal, 1–17.
    pub goal: u8,
    pub name: String,
    /// Its targets, as on the shipped list.
    pub targets: Vec<String>,
    /// The list's version.
    pub list: String,
    pub serving: Vec<ServingGoal>,
}

/// A goal that serves the global goal, itself or through its indicators.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServingGoal {
    /// `goal/<id>`.
    pub path: String,
    /// `kf`, `namnd` or `process`.
    pub level: String,
    pub title: String,
    /// The nämnd of a nämndmål.
    pub body: Option<String>,
    pub process: Option<String>,
    pub from_year: i32,
    pub to_year: i32,
    /// The goal's own tags that name the global goal (empty when only
    /// indicators do).
    pub tags: Vec<String>,
    /// The indicators that measure it: every indicator of a tagged goal,
    /// only the tagged ones of another.
    pub indicators: Vec<ServingIndicator>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServingIndicator {
    pub id: String,
    pub name: String,
    pub kolada_kpi: Option<String>,
    pub kolada_kpi_group: Option<String>,
    /// The indicator's own tags that name the global goal.
    pub tags: Vec<String>,
    /// Its recorded values, in recording order: every value, or in a
    /// service's answer the latest [`crate::OUTCOMES_KEPT`].
    pub outcomes: Vec<OutcomeDoc>,
    /// How many values are recorded for it in all.
    pub outcome_count: usize,
}

/// What serves Agenda 2030's goal `number` (`None` when 1–17 does not hold it).
pub fn agenda2030(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    number: u8,
) -> R<Option<Agenda2030View>> {
    agenda2030_with(kv, kommun, number, Outcomes::Every)
}

/// [`agenda2030`], its indicators read with every value or only the latest.
pub fn agenda2030_with(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    number: u8,
    outcomes: Outcomes,
) -> R<Option<Agenda2030View>> {
    let Some(global) = GlobalGoal::get(number) else {
        return Ok(None);
    };
    let of_goal = |tags: &[String]| -> Vec<String> {
        tags.iter()
            .filter(|t| global_goal_of(t) == Some(number))
            .cloned()
            .collect()
    };
    let mut serving = Vec::new();
    for mut g in goals_with(kv, kommun, outcomes)? {
        let tags = of_goal(&g.agenda2030);
        let indicators: Vec<ServingIndicator> = g
            .indicators
            .iter()
            .filter_map(|i| {
                let own = of_goal(&i.agenda2030);
                (!tags.is_empty() || !own.is_empty()).then(|| ServingIndicator {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    kolada_kpi: i.kolada_kpi.clone(),
                    kolada_kpi_group: i.kolada_kpi_group.clone(),
                    tags: own,
                    outcome_count: g.outcome_counts.get(&i.id).copied().unwrap_or(0),
                    outcomes: g.outcomes.remove(&i.id).unwrap_or_default(),
                })
            })
            .collect();
        if tags.is_empty() && indicators.is_empty() {
            continue;
        }
        serving.push(ServingGoal {
            path: DocKind::Goal.path(&g.id),
            level: g.level,
            title: g.title,
            body: g.body,
            process: g.process,
            from_year: g.from_year,
            to_year: g.to_year,
            tags,
            indicators,
        });
    }
    Ok(Some(Agenda2030View {
        goal: number,
        name: global.name.to_owned(),
        targets: global.targets(),
        list: AGENDA2030_VERSION.to_owned(),
        serving,
    }))
}

/// Process goals in force with nothing serving them in `year` (no bidrag,
/// no nämndmål breaking them down), and bidrag for a year after their
/// process's last.
pub(crate) fn process_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    (all, processes): (&[GoalDoc], &[ProcessDoc]),
    year: i32,
    out: &mut Vec<Gap>,
) -> R<()> {
    let runs = |id: &str| processes.iter().any(|p| p.id == id && p.runs_in(year));
    let name = |id: &str| {
        processes
            .iter()
            .find(|p| p.id == id)
            .map_or(id.to_owned(), |p| p.name.clone())
    };
    let contributions: Vec<ContributionDoc> = docs(kv, kommun, DocKind::Contribution)?;
    for g in all {
        let Some(process) = &g.process else { continue };
        if !(g.from_year..=g.to_year).contains(&year) || !runs(process) {
            continue;
        }
        let served = contributions
            .iter()
            .any(|c| c.goal == g.id && c.year == year)
            || all
                .iter()
                .any(|m| m.level == "namnd" && m.from_year == year && m.kf_goals.contains(&g.id));
        if !served {
            out.push(Gap {
                kind: "process_goal_without_contribution",
                entity: DocKind::Goal.path(&g.id),
                reason: format!(
                    "varken KS, en nämnd, ett bolag eller ett förbund bidrar under {year} till målet i processen {} (P3)",
                    name(process)
                ),
            });
        }
    }
    for c in contributions.iter().filter(|c| c.year == year) {
        let closed = processes
            .iter()
            .find(|p| p.id == c.process)
            .and_then(|p| p.closed.as_ref())
            .filter(|cl| cl.last_year < year);
        if let Some(cl) = closed {
            out.push(Gap {
                kind: "contribution_to_closed_process",
                entity: DocKind::Contribution.path(&c.id),
                reason: format!(
                    "{} bidrar under {year} till processen {}, som avslutades med {} som sista år ({})",
                    c.body.to_uppercase(),
                    name(&c.process),
                    cl.last_year,
                    cl.source.decided
                ),
            });
        }
    }
    Ok(())
}
