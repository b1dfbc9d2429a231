//! The state a kommun's decisions build, as far as deciding needs it.

use crate::{
    AccessGranted, AccessRevoked, AtgardsplanAdopted, BodyEstablished, BudgetAdopted,
    BudgetEstablished, ControlResultReported, DelegationGranted, DetaljbudgetAdopted,
    DeviationActionRecorded, DeviationClosed, DeviationEscalated, DeviationReported,
    DirectionAdopted, FindingActionRecorded, FindingClosed, FollowUpReportAdopted,
    InternalControlPlanAdopted, InternalControlTertialReported, InvestmentBudgeted,
    InvestmentFollowedUp, KfGoalAdopted, KommunRegistered, NamndmalAdopted, NamndplanAdopted,
    PlanAdopted, PlanReportedToNamnd, RamSet, ReviewRecorded, ReviewReplied, SkattesatsSet,
    StyrdokumentAdopted, StyrdokumentRepealed, UnitEstablished, UppdragChanged, UppdragClosed,
    UppdragExtended, UppdragGiven, UppdragStatusReported,
};
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::command::{BudgetLine, UppdragInput};
use crate::event::{Event, EventMeta};
use crate::model::*;
use styr_provenance::DecidedBy;

/// Kommunens beslutsläge: everything decided so far in one kommun, folded
/// from its events. Deciding reads it; only [`KommunState::evolve`] writes it.
#[derive(Debug, Clone, Default)]
pub struct KommunState {
    pub kommun: Option<KommunInfo>,
    pub bodies: BTreeMap<String, Body>,
    pub units: BTreeMap<String, Unit>,
    /// (body, point) → delegation.
    pub delegations: BTreeMap<(String, String), Delegation>,
    pub directions: BTreeMap<String, DirectionKind>,
    pub documents: BTreeMap<String, Styrdokument>,
    /// Budget year → its two plan years.
    pub budgets: BTreeMap<i32, [i32; 2]>,
    /// (body, year) → ram in tkr, as last set.
    pub ramar: BTreeMap<(String, i32), Tkr>,
    /// Budget year → its skattesats, once fastställd.
    pub skattesatser: BTreeMap<i32, Skattesats>,
    /// Budget years KF has fastställt.
    pub established: std::collections::BTreeSet<i32>,
    /// Investeringsprojekt by id, as last budgeted.
    pub investments: BTreeMap<String, Investment>,
    /// (investment, year) of every investment outcome reported.
    pub investment_follow_ups: std::collections::BTreeSet<(String, i32)>,
    pub goals: BTreeMap<String, KfGoal>,
    pub uppdrag: BTreeMap<String, Uppdrag>,
    /// (body, year) → the nämndmål of its nämndplan.
    pub namndplaner: BTreeMap<(String, i32), Vec<String>>,
    pub namndmal: BTreeMap<String, Namndmal>,
    /// (body, year) → unit → amount.
    pub detaljbudgetar: BTreeMap<(String, i32), BTreeMap<String, Tkr>>,
    pub plans: BTreeMap<String, Plan>,
    /// (goal, indicator) of every KF goal and nämndmål.
    pub indicators: std::collections::BTreeSet<(String, String)>,
    pub deviations: BTreeMap<String, Deviation>,
    /// (body, year, kind) of every adopted follow-up report.
    pub reports: std::collections::BTreeSet<(String, i32, ReportKind)>,
    pub atgardsplaner: BTreeMap<String, (String, Vec<String>)>,
    pub control_plans: BTreeMap<String, ControlPlan>,
    pub findings: BTreeMap<String, Finding>,
    pub reviews: BTreeMap<String, Review>,
    /// Every recorded event: who decided it (for rättelse).
    pub decisions: HashMap<Uuid, DecidedBy>,
    /// When the kommun was registered (no decision takes effect before).
    pub registered: Option<NaiveDate>,
    /// Identity → what it may record (grants in force).
    pub access: BTreeMap<String, std::collections::BTreeSet<Access>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KommunInfo {
    pub name: String,
    pub kommunkod: String,
    pub council: String,
}

/// Organ: a body as established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub kind: BodyKind,
    pub name: String,
    pub area: String,
    pub parent_company: Option<String>,
}

/// Enhet: a unit in a nämnd's förvaltning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    pub namnd: String,
    pub parent: Option<String>,
    pub level: UnitLevel,
    /// 1 for a unit directly under the nämnd.
    pub depth: usize,
}

/// Delegationspunkt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub delegate: String,
    pub matters: Vec<Matter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Styrdokument {
    pub kind: DocumentKind,
    pub owner: String,
    pub version: u32,
    pub repealed: bool,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// Övergripande mål (KF).
#[derive(Debug, Clone, PartialEq)]
pub struct KfGoal {
    pub kind: GoalKind,
    pub title: String,
    pub from_year: i32,
    pub to_year: i32,
}

impl KfGoal {
    pub fn in_force(&self, year: i32) -> bool {
        (self.from_year..=self.to_year).contains(&year)
    }
}

/// Uppdrag: an assignment from KF to one or more nämnder.
#[derive(Debug, Clone, PartialEq)]
pub struct Uppdrag {
    pub title: String,
    pub to: Vec<String>,
    pub resources: Option<Tkr>,
    pub given: i32,
    pub due: NaiveDate,
    pub closed: bool,
    pub last_status: Option<(NaiveDate, UppdragStatus)>,
}

/// Nämndmål.
#[derive(Debug, Clone, PartialEq)]
pub struct Namndmal {
    pub body: String,
    pub year: i32,
    pub title: String,
    pub perspective: Perspective,
    pub kf_goals: Vec<String>,
}

/// Verksamhetsplan or enhetsplan, current version.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kind: PlanKind,
    pub body: String,
    pub unit: String,
    pub year: i32,
    pub version: u32,
    pub activities: Vec<Activity>,
    /// The latest version the nämnd has taken note of.
    pub reported_version: Option<u32>,
}

/// Avvikelse as far as deciding needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deviation {
    pub unit: String,
    pub body: String,
    pub reported: NaiveDate,
    pub actions: Vec<String>,
    pub escalated: bool,
    /// The åtgärdsplan that answers it, once the nämnd has decided one.
    pub atgardsplan: Option<String>,
    pub closed: bool,
}

/// Intern kontrollplan.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlPlan {
    pub body: String,
    pub year: i32,
    pub controls: BTreeMap<String, ControlPoint>,
    /// (control, tertial) with a reported result.
    pub results: std::collections::BTreeSet<(String, u8)>,
    pub tertials_reported: std::collections::BTreeSet<u8>,
}

/// Brist found by a control.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub plan: String,
    pub control: String,
    pub actions: Vec<String>,
    pub closed: bool,
}

/// Granskning by the revisorer.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub bodies: Vec<String>,
    pub recommendations: Vec<String>,
    pub reply_due: NaiveDate,
    pub replied: std::collections::BTreeSet<String>,
}

impl KommunState {
    /// Folds one recorded event into the state.
    pub fn evolve(&mut self, meta: &EventMeta, event: &Event) {
        self.decisions
            .insert(meta.event_id, meta.decided_by.clone());
        match event.clone() {
            Event::KommunRegistered(KommunRegistered {
                name,
                kommunkod,
                council,
            }) => {
                self.registered = meta.decided_by.decision_date();
                self.kommun = Some(KommunInfo {
                    name,
                    kommunkod,
                    council,
                })
            }
            Event::BodyEstablished(BodyEstablished {
                body,
                kind,
                name,
                area,
                parent_company,
            }) => {
                self.bodies.insert(
                    body,
                    Body {
                        kind,
                        name,
                        area,
                        parent_company,
                    },
                );
            }
            Event::UnitEstablished(UnitEstablished {
                unit,
                name,
                namnd,
                parent,
                level,
            }) => {
                let depth = parent
                    .as_ref()
                    .and_then(|p| self.units.get(p))
                    .map_or(1, |p| p.depth + 1);
                self.units.insert(
                    unit,
                    Unit {
                        name,
                        namnd,
                        parent,
                        level,
                        depth,
                    },
                );
            }
            Event::DelegationGranted(DelegationGranted {
                body,
                point,
                delegate,
                matters,
            }) => {
                self.delegations
                    .insert((body, point), Delegation { delegate, matters });
            }
            Event::DirectionAdopted(DirectionAdopted { id, kind, .. }) => {
                self.directions.insert(id, kind);
            }
            Event::StyrdokumentAdopted(StyrdokumentAdopted {
                doc,
                version,
                kind,
                owner,
                valid_from,
                valid_until,
                ..
            }) => {
                self.documents.insert(
                    doc,
                    Styrdokument {
                        kind,
                        owner,
                        version,
                        repealed: false,
                        valid_from,
                        valid_until,
                    },
                );
            }
            Event::StyrdokumentRepealed(StyrdokumentRepealed { doc, .. }) => {
                if let Some(d) = self.documents.get_mut(&doc) {
                    d.repealed = true;
                }
            }
            Event::BudgetAdopted(BudgetAdopted { year, plan_years }) => {
                self.budgets.insert(year, plan_years);
            }
            Event::RamSet(RamSet {
                body, year, amount, ..
            }) => {
                self.ramar.insert((body, year), amount);
            }
            Event::BudgetEstablished(BudgetEstablished { year }) => {
                self.established.insert(year);
            }
            Event::SkattesatsSet(SkattesatsSet {
                budget_year,
                skattesats,
                ..
            }) => {
                self.skattesatser.insert(budget_year, skattesats);
            }
            Event::InvestmentBudgeted(InvestmentBudgeted {
                investment,
                budget_year,
                change,
            }) => {
                let merged = match self.investments.get(&investment.id) {
                    Some(old) => old.restated(&investment, budget_year, change),
                    None => investment,
                };
                self.investments.insert(merged.id.clone(), merged);
            }
            Event::InvestmentFollowedUp(InvestmentFollowedUp {
                investment, year, ..
            }) => {
                self.investment_follow_ups.insert((investment, year));
            }
            // The report in the same batch has already said it.
            Event::UppdragStatusInReport(_) | Event::GoalAssessedInReport(_) => {}
            Event::EconomicPlanSet(_) | Event::RurPlanned(_) | Event::BalanskravReported(_) => {}
            Event::KfGoalAdopted(KfGoalAdopted { goal, .. }) => {
                for i in &goal.indicators {
                    self.indicators.insert((goal.id.clone(), i.id.clone()));
                }
                self.goals.insert(
                    goal.id,
                    KfGoal {
                        kind: goal.kind,
                        title: goal.title,
                        from_year: goal.from_year,
                        to_year: goal.to_year,
                    },
                );
            }
            Event::UppdragGiven(UppdragGiven {
                budget_year,
                uppdrag:
                    UppdragInput {
                        id,
                        title,
                        to,
                        resources,
                        due,
                        ..
                    },
            }) => {
                self.uppdrag.insert(
                    id,
                    Uppdrag {
                        title,
                        to,
                        resources,
                        given: budget_year,
                        due,
                        closed: false,
                        last_status: None,
                    },
                );
            }
            Event::UppdragChanged(UppdragChanged {
                id,
                title,
                to,
                resources,
                ..
            }) => {
                if let Some(u) = self.uppdrag.get_mut(&id) {
                    if let Some(t) = title {
                        u.title = t;
                    }
                    if let Some(t) = to {
                        u.to = t;
                    }
                    if resources.is_some() {
                        u.resources = resources;
                    }
                }
            }
            Event::UppdragExtended(UppdragExtended { id, due, .. }) => {
                if let Some(u) = self.uppdrag.get_mut(&id) {
                    u.due = due;
                }
            }
            Event::UppdragClosed(UppdragClosed { id, .. }) => {
                if let Some(u) = self.uppdrag.get_mut(&id) {
                    u.closed = true;
                }
            }
            Event::NamndplanAdopted(NamndplanAdopted {
                body, year, goals, ..
            }) => {
                self.namndplaner.insert((body, year), goals);
            }
            Event::NamndmalAdopted(NamndmalAdopted { body, year, goal }) => {
                for i in &goal.indicators {
                    self.indicators.insert((goal.id.clone(), i.id.clone()));
                }
                self.namndmal.insert(
                    goal.id,
                    Namndmal {
                        body,
                        year,
                        title: goal.title,
                        perspective: goal.perspective,
                        kf_goals: goal.kf_goals,
                    },
                );
            }
            Event::DetaljbudgetAdopted(DetaljbudgetAdopted { body, year, lines }) => {
                let lines = lines
                    .into_iter()
                    .map(|BudgetLine { unit, amount }| (unit, amount))
                    .collect();
                self.detaljbudgetar.insert((body, year), lines);
            }
            Event::UppdragStatusReported(UppdragStatusReported {
                uppdrag,
                as_of,
                status,
                ..
            }) => {
                if let Some(u) = self.uppdrag.get_mut(&uppdrag) {
                    u.last_status = Some((as_of, status));
                }
            }
            Event::PlanAdopted(PlanAdopted {
                plan,
                version,
                kind,
                body,
                unit,
                year,
                activities,
            }) => {
                self.plans.insert(
                    plan,
                    Plan {
                        kind,
                        body,
                        unit,
                        year,
                        version,
                        activities,
                        reported_version: None,
                    },
                );
            }
            Event::PlanReportedToNamnd(PlanReportedToNamnd { plan, version, .. }) => {
                if let Some(p) = self.plans.get_mut(&plan) {
                    p.reported_version = Some(version);
                }
            }
            Event::OutcomesRecorded(_) => {}
            Event::DeviationReported(DeviationReported {
                deviation,
                unit,
                body,
                reported,
                ..
            }) => {
                self.deviations.insert(
                    deviation,
                    Deviation {
                        unit,
                        body,
                        reported,
                        actions: Vec::new(),
                        escalated: false,
                        atgardsplan: None,
                        closed: false,
                    },
                );
            }
            Event::DeviationActionRecorded(DeviationActionRecorded {
                deviation, action, ..
            }) => {
                if let Some(d) = self.deviations.get_mut(&deviation) {
                    d.actions.push(action);
                }
            }
            Event::DeviationEscalated(DeviationEscalated { deviation, .. }) => {
                if let Some(d) = self.deviations.get_mut(&deviation) {
                    d.escalated = true;
                }
            }
            Event::DeviationClosed(DeviationClosed { deviation, .. }) => {
                if let Some(d) = self.deviations.get_mut(&deviation) {
                    d.closed = true;
                }
            }
            Event::FollowUpReportAdopted(FollowUpReportAdopted {
                body,
                year,
                kind,
                through,
                uppdrag,
                ..
            }) => {
                // A report's uppdrag lines are status reports as of its period end.
                for line in uppdrag {
                    if let Some(u) = self.uppdrag.get_mut(&line.uppdrag) {
                        if u.last_status.is_none_or(|(d, _)| d <= through) {
                            u.last_status = Some((through, line.status));
                        }
                    }
                }
                self.reports.insert((body, year, kind));
            }
            Event::AtgardsplanAdopted(AtgardsplanAdopted { body, plan, .. }) => {
                for d in &plan.deviations {
                    if let Some(dev) = self.deviations.get_mut(d) {
                        dev.atgardsplan = Some(plan.id.clone());
                    }
                }
                self.atgardsplaner.insert(plan.id, (body, plan.deviations));
            }
            Event::InternalControlPlanAdopted(InternalControlPlanAdopted {
                plan,
                body,
                year,
                controls,
                ..
            }) => {
                self.control_plans.insert(
                    plan,
                    ControlPlan {
                        body,
                        year,
                        controls: controls.into_iter().map(|c| (c.id.clone(), c)).collect(),
                        results: Default::default(),
                        tertials_reported: Default::default(),
                    },
                );
            }
            Event::ControlResultReported(ControlResultReported {
                plan,
                control,
                tertial,
                result,
            }) => {
                if let ControlResult::Finding { finding, .. } = result {
                    self.findings.insert(
                        finding,
                        Finding {
                            plan: plan.clone(),
                            control: control.clone(),
                            actions: Vec::new(),
                            closed: false,
                        },
                    );
                }
                if let Some(p) = self.control_plans.get_mut(&plan) {
                    p.results.insert((control, tertial));
                }
            }
            Event::FindingActionRecorded(FindingActionRecorded {
                finding, action, ..
            }) => {
                if let Some(f) = self.findings.get_mut(&finding) {
                    f.actions.push(action);
                }
            }
            Event::FindingClosed(FindingClosed { finding, .. }) => {
                if let Some(f) = self.findings.get_mut(&finding) {
                    f.closed = true;
                }
            }
            Event::InternalControlTertialReported(InternalControlTertialReported {
                plan,
                tertial,
                ..
            }) => {
                if let Some(p) = self.control_plans.get_mut(&plan) {
                    p.tertials_reported.insert(tertial);
                }
            }
            Event::ReviewRecorded(ReviewRecorded {
                review,
                bodies,
                recommendations,
                reply_due,
                ..
            }) => {
                self.reviews.insert(
                    review,
                    Review {
                        bodies,
                        recommendations: recommendations.into_iter().map(|r| r.id).collect(),
                        reply_due,
                        replied: Default::default(),
                    },
                );
            }
            Event::ReviewReplied(ReviewReplied { review, body, .. }) => {
                if let Some(r) = self.reviews.get_mut(&review) {
                    r.replied.insert(body);
                }
            }
            Event::AccessGranted(AccessGranted { identity, access }) => {
                self.access.entry(identity).or_default().insert(access);
            }
            Event::AccessRevoked(AccessRevoked { identity, access }) => {
                if let Some(set) = self.access.get_mut(&identity) {
                    set.remove(&access);
                }
            }
            Event::DecisionCorrected(_)
            | Event::SigningKeyPublished(_)
            | Event::CheckpointSigned(_) => {}
        }
    }

    /// Is `unit` the same as `ancestor` or below it?
    pub fn unit_within(&self, unit: &str, ancestor: &str) -> bool {
        let mut cur = Some(unit.to_owned());
        while let Some(u) = cur {
            if u == ancestor {
                return true;
            }
            cur = self.units.get(&u).and_then(|x| x.parent.clone());
        }
        false
    }

    /// What the activities of all current plans of `year` commit from `unit`'s
    /// detaljbudget line, leaving out the plan `except` (being replaced).
    pub fn committed(&self, unit: &str, year: i32, except: Option<&str>) -> Tkr {
        self.plans
            .iter()
            .filter(|(id, p)| p.year == year && Some(id.as_str()) != except)
            .flat_map(|(_, p)| {
                p.activities
                    .iter()
                    .filter(move |a| a.unit.as_deref().unwrap_or(&p.unit) == unit)
            })
            .filter_map(|a| a.cost)
            .fold(0, Tkr::saturating_add)
    }
}
