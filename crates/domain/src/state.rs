//! The state a kommun's decisions build, as far as deciding needs it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::event::{Event, EventMeta};
use crate::model::*;

/// Kommunens beslutsläge: everything decided so far in one kommun, folded
/// from its events. Deciding reads it; only [`KommunState::evolve`] writes it.
///
/// Each collection is [`Shared`]: a clone (a group decided ahead of the
/// state, on a copy of its own) shares them all, and copies only what the
/// group then changes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KommunState {
    pub kommun: Option<KommunInfo>,
    pub bodies: Shared<BTreeMap<String, Body>>,
    pub units: Shared<BTreeMap<String, Unit>>,
    /// (body, point) → delegation.
    pub delegations: Shared<BTreeMap<(String, String), Delegation>>,
    pub directions: Shared<BTreeMap<String, DirectionKind>>,
    pub documents: Shared<BTreeMap<String, Styrdokument>>,
    /// Budget year → its two plan years.
    pub budgets: Shared<BTreeMap<i32, [i32; 2]>>,
    /// (body, year) → ram in tkr, as last set.
    pub ramar: Shared<BTreeMap<(String, i32), Tkr>>,
    /// Budget year → its skattesats, once fastställd.
    pub skattesatser: Shared<BTreeMap<i32, Skattesats>>,
    /// Year → the negative balanskravsresultat (after RUR, as a positive
    /// amount) KS's årsredovisning reported for it: an obligation to restore
    /// (KL 11 kap 12 §).
    pub balanskrav_deficits: Shared<BTreeMap<i32, Tkr>>,
    /// Budget years KF has fastställt.
    pub established: Shared<std::collections::BTreeSet<i32>>,
    /// Investeringsprojekt by id, as last budgeted.
    pub investments: Shared<BTreeMap<String, Investment>>,
    /// (investment, year) of every investment outcome reported.
    pub investment_follow_ups: Shared<std::collections::BTreeSet<(String, i32)>>,
    pub goals: Shared<BTreeMap<String, KfGoal>>,
    /// From year → the follow-up calendar decided for it and later years.
    pub calendars: Shared<BTreeMap<i32, Vec<ReportPeriod>>>,
    /// Målgrupp id → its name.
    pub malgrupper: Shared<BTreeMap<String, String>>,
    pub processes: Shared<BTreeMap<String, Process>>,
    /// Contribution id → the process goal it serves.
    pub contributions: Shared<BTreeMap<String, String>>,
    pub uppdrag: Shared<BTreeMap<String, Uppdrag>>,
    /// (body, year) → the nämndmål of its nämndplan.
    pub namndplaner: Shared<BTreeMap<(String, i32), Vec<String>>>,
    pub namndmal: Shared<BTreeMap<String, Namndmal>>,
    /// (body, year) → unit → amount.
    pub detaljbudgetar: Shared<BTreeMap<(String, i32), BTreeMap<String, Tkr>>>,
    pub plans: Shared<BTreeMap<String, Plan>>,
    /// (goal, indicator) of every KF goal and nämndmål.
    pub indicators: Shared<std::collections::BTreeSet<(String, String)>>,
    /// Kolada nyckeltal → the indicators that name it.
    pub kolada_kpis: Shared<BTreeMap<String, std::collections::BTreeSet<IndicatorRef>>>,
    /// (kpi, year, gender) → the value and status Kolada last gave.
    pub kolada_values: Shared<KoladaValues>,
    pub deviations: Shared<BTreeMap<String, Deviation>>,
    /// (body, year, kind, period) of every adopted follow-up report; the
    /// period (`MM-DD`) names one of several reports of a kind in a year.
    pub reports: Shared<AdoptedReports>,
    pub atgardsplaner: Shared<BTreeMap<String, (String, Vec<String>)>>,
    pub control_plans: Shared<BTreeMap<String, ControlPlan>>,
    pub findings: Shared<BTreeMap<String, Finding>>,
    pub reviews: Shared<BTreeMap<String, Review>>,
    /// Elections to fullmäktige by date: kind and mandatperiod.
    pub elections: Shared<BTreeMap<NaiveDate, crate::ElectionRecorded>>,
    /// When the kommun was registered (no decision takes effect before).
    pub registered: Option<NaiveDate>,
    /// Identity → what it may record (grants in force).
    pub access: Shared<BTreeMap<String, std::collections::BTreeSet<Access>>>,
}

/// (kpi, year, gender) → the value and status Kolada last gave.
pub type KoladaValues = BTreeMap<(String, i32, String), (Option<f64>, String)>;

/// (body, year, kind, period) of every adopted follow-up report.
pub type AdoptedReports = std::collections::BTreeSet<(String, i32, ReportKind, Option<String>)>;

/// A collection shared between clones of the state until one of them
/// changes it (then that one gets a copy of its own: `Arc::make_mut`).
/// Reads and writes go through it as through the collection itself.
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Shared<T>(std::sync::Arc<T>);

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> std::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Shared<T> {
    /// Whether the two are one collection (not yet copied apart).
    pub fn is_shared_with(&self, other: &Shared<T>) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared(std::sync::Arc::new(value))
    }
}

impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KommunInfo {
    pub name: String,
    pub kommunkod: String,
    pub council: String,
    /// Set when the history is a kommunalförbund's own.
    pub forbund: Option<ForbundCharter>,
}

/// Organ: a body as established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Body {
    pub kind: BodyKind,
    pub name: String,
    pub area: String,
    pub parent_company: Option<String>,
    /// For a kommunalförbund: its members, organ and own history.
    pub forbund: Option<Forbund>,
}

/// Enhet: a unit in a förvaltning (organisation: `namnd`'s), answering
/// to one or more nämnder for its verksamhet (responsibility: `serves`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    pub name: String,
    /// The nämnd whose förvaltning it is part of.
    pub namnd: String,
    pub parent: Option<String>,
    pub level: UnitLevel,
    /// 1 for a unit directly under the nämnd.
    pub depth: usize,
    /// The nämnder it answers to; empty: `namnd`.
    pub serves: Vec<Ansvar>,
}

impl Unit {
    /// Whether its verksamhet answers to `body` (P1, P4 and plans follow
    /// this, not the organisation).
    pub fn serves(&self, body: &str) -> bool {
        self.responsible().contains(&body)
    }

    /// The nämnder it answers to, in the order decided.
    pub fn responsible(&self) -> Vec<&str> {
        answers_to(&self.namnd, &self.serves)
    }
}

/// Delegationspunkt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delegation {
    pub delegate: String,
    pub matters: Vec<Matter>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Styrdokument {
    pub kind: DocumentKind,
    pub owner: String,
    pub version: u32,
    pub repealed: bool,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// Övergripande mål (KF).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KfGoal {
    pub kind: GoalKind,
    pub title: String,
    pub from_year: i32,
    pub to_year: i32,
    /// The process the goal belongs to: beside KF, or (a processmål) instead of it.
    pub process: Option<String>,
    /// A processmål: owned by its process, not by KF.
    pub of_process: bool,
}

/// Process: a flow across the organisation towards the kommun's målgrupper.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Process {
    pub owner: String,
    /// The last year it runs, once KF or KS has closed it.
    pub last_year: Option<i32>,
}

impl KfGoal {
    pub fn in_force(&self, year: i32) -> bool {
        (self.from_year..=self.to_year).contains(&year)
    }
}

/// Uppdrag: an assignment from KF to one or more nämnder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Namndmal {
    pub body: String,
    pub year: i32,
    pub title: String,
    pub perspective: Perspective,
    pub kf_goals: Vec<String>,
}

/// Verksamhetsplan or enhetsplan, current version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ControlPlan {
    pub body: String,
    pub year: i32,
    pub controls: BTreeMap<String, ControlPoint>,
    /// (control, tertial) with a reported result.
    pub results: std::collections::BTreeSet<(String, u8)>,
    pub tertials_reported: std::collections::BTreeSet<u8>,
}

/// Brist found by a control.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub plan: String,
    pub control: String,
    pub actions: Vec<String>,
    pub closed: bool,
}

/// Granskning by the revisorer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Review {
    pub bodies: Vec<String>,
    pub recommendations: Vec<String>,
    pub reply_due: NaiveDate,
    pub replied: std::collections::BTreeSet<String>,
}

impl KommunState {
    /// Folds one recorded event into the state: each event to its own
    /// `evolve_<event>` in the module of its area; the events at the end
    /// leave nothing a later decision checks.
    pub fn evolve(&mut self, meta: &EventMeta, event: &Event) {
        match event {
            Event::KommunRegistered(e) => self.evolve_kommun_registered(meta, e),
            Event::ElectionRecorded(e) => self.evolve_election_recorded(meta, e),
            Event::BodyEstablished(e) => self.evolve_body_established(meta, e),
            Event::UnitEstablished(e) => self.evolve_unit_established(meta, e),
            Event::DelegationGranted(e) => self.evolve_delegation_granted(meta, e),
            Event::DirectionAdopted(e) => self.evolve_direction_adopted(meta, e),
            Event::StyrdokumentAdopted(e) => self.evolve_styrdokument_adopted(meta, e),
            Event::StyrdokumentRepealed(e) => self.evolve_styrdokument_repealed(meta, e),
            Event::BudgetAdopted(e) => self.evolve_budget_adopted(meta, e),
            Event::RamSet(e) => self.evolve_ram_set(meta, e),
            Event::BudgetEstablished(e) => self.evolve_budget_established(meta, e),
            Event::SkattesatsSet(e) => self.evolve_skattesats_set(meta, e),
            Event::InvestmentBudgeted(e) => self.evolve_investment_budgeted(meta, e),
            Event::InvestmentFollowedUp(e) => self.evolve_investment_followed_up(meta, e),
            Event::KfGoalAdopted(e) => self.evolve_kf_goal_adopted(meta, e),
            Event::UppdragGiven(e) => self.evolve_uppdrag_given(meta, e),
            Event::UppdragChanged(e) => self.evolve_uppdrag_changed(meta, e),
            Event::UppdragExtended(e) => self.evolve_uppdrag_extended(meta, e),
            Event::UppdragClosed(e) => self.evolve_uppdrag_closed(meta, e),
            Event::NamndplanAdopted(e) => self.evolve_namndplan_adopted(meta, e),
            Event::NamndmalAdopted(e) => self.evolve_namndmal_adopted(meta, e),
            Event::DetaljbudgetAdopted(e) => self.evolve_detaljbudget_adopted(meta, e),
            Event::UppdragStatusReported(e) => self.evolve_uppdrag_status_reported(meta, e),
            Event::PlanAdopted(e) => self.evolve_plan_adopted(meta, e),
            Event::PlanReportedToNamnd(e) => self.evolve_plan_reported_to_namnd(meta, e),
            Event::DeviationReported(e) => self.evolve_deviation_reported(meta, e),
            Event::DeviationActionRecorded(e) => self.evolve_deviation_action_recorded(meta, e),
            Event::DeviationEscalated(e) => self.evolve_deviation_escalated(meta, e),
            Event::DeviationClosed(e) => self.evolve_deviation_closed(meta, e),
            Event::FollowUpReportAdopted(e) => self.evolve_follow_up_report_adopted(meta, e),
            Event::AtgardsplanAdopted(e) => self.evolve_atgardsplan_adopted(meta, e),
            Event::InternalControlPlanAdopted(e) => {
                self.evolve_internal_control_plan_adopted(meta, e)
            }
            Event::ControlResultReported(e) => self.evolve_control_result_reported(meta, e),
            Event::FindingActionRecorded(e) => self.evolve_finding_action_recorded(meta, e),
            Event::FindingClosed(e) => self.evolve_finding_closed(meta, e),
            Event::InternalControlTertialReported(e) => {
                self.evolve_internal_control_tertial_reported(meta, e)
            }
            Event::ReviewRecorded(e) => self.evolve_review_recorded(meta, e),
            Event::ReviewReplied(e) => self.evolve_review_replied(meta, e),
            Event::AccessGranted(e) => self.evolve_access_granted(meta, e),
            Event::AccessRevoked(e) => self.evolve_access_revoked(meta, e),
            Event::FollowUpCalendarAdopted(e) => {
                self.calendars.insert(e.from_year, e.reports.clone());
            }
            Event::MalgruppDefined(e) => self.evolve_malgrupp_defined(meta, e),
            Event::ProcessEstablished(e) => self.evolve_process_established(meta, e),
            Event::ProcessGoalAdopted(e) => self.evolve_process_goal_adopted(meta, e),
            Event::ContributionRecorded(e) => self.evolve_contribution_recorded(meta, e),
            Event::ProcessClosed(e) => self.evolve_process_closed(meta, e),
            // The report in the same batch has already said it.
            Event::UppdragStatusInReport(_) | Event::GoalAssessedInReport(_) => {}
            Event::BalanskravReported(e) => self.evolve_balanskrav_reported(meta, e),
            Event::EconomicPlanSet(_) | Event::RurPlanned(_) | Event::BalanskravBudgeted(_) => {}
            Event::OutcomesRecorded(_) => {}
            Event::KoladaValuesImported(e) => self.evolve_kolada_values_imported(meta, e),
            Event::DecisionCorrected(_)
            | Event::SigningKeyPublished(_)
            | Event::CheckpointSigned(_) => {}
        }
    }

    /// Whether an official at `acting` acts for `body` in its follow-up:
    /// `acting` answers to `body`, or heads a förvaltning (its top unit)
    /// with a unit that does — a sektorschef does not act for every nämnd
    /// one of the sektor's enheter also answers to.
    pub fn leads_for(&self, acting: &str, body: &str) -> bool {
        let Some(a) = self.units.get(acting) else {
            return false;
        };
        a.serves(body)
            || (a.parent.is_none()
                && self
                    .units
                    .iter()
                    .any(|(id, u)| u.serves(body) && self.unit_within(id, acting)))
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

    /// What the activities of `body`'s current plans of `year` commit from
    /// `unit`'s line in its detaljbudget, leaving out the plan `except`
    /// (being replaced). A unit answering to two nämnder has a line in
    /// each nämnd's detaljbudget, and each nämnd's plans take from its own.
    pub fn committed(&self, body: &str, unit: &str, year: i32, except: Option<&str>) -> Tkr {
        self.plans
            .iter()
            .filter(|(id, p)| p.year == year && p.body == body && Some(id.as_str()) != except)
            .flat_map(|(_, p)| {
                p.activities
                    .iter()
                    .filter(move |a| a.unit.as_deref().unwrap_or(&p.unit) == unit)
            })
            .filter_map(|a| a.cost)
            .fold(0, Tkr::saturating_add)
    }
}
