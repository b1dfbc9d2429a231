//! Events: what was decided, as recorded. A published event shape never
//! changes; a new shape is a new `schema_version` with an upcaster.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::*;
use styr_provenance::DecidedBy;

// The values events carry are the events' own types, never a command's:
// a command may change without changing a published event shape. Where a
// type began as a copy of a command's input its schema keeps that name, so
// the published schema files did not change when the two were separated.

/// Övergripande mål as KF adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "GoalInput")]
pub struct AdoptedGoal {
    pub id: String,
    pub kind: GoalKind,
    pub title: String,
    pub from_year: i32,
    pub to_year: i32,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// The process the goal also belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malgrupper: Vec<String>,
    /// The Agenda 2030 goals or targets it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// Processmål as adopted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ProcessGoalInput")]
pub struct AdoptedProcessGoal {
    pub id: String,
    pub title: String,
    pub from_year: i32,
    pub to_year: i32,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malgrupper: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// Uppdrag as KF gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "UppdragInput")]
pub struct GivenUppdrag {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The nämnder (KS included) it is given to.
    pub to: Vec<String>,
    /// Resources set aside for it, in tkr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Tkr>,
    pub due: NaiveDate,
    /// The KF goals it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<String>,
}

/// Nämndmål as the nämnd adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NamndmalInput")]
pub struct AdoptedNamndmal {
    pub id: String,
    pub title: String,
    pub perspective: Perspective,
    /// KF goals it breaks down (at least one, in force for the year: P3).
    pub kf_goals: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// One line of a detaljbudget: a unit's share of the ram, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BudgetLine")]
pub struct DetaljbudgetLine {
    pub unit: String,
    pub amount: Tkr,
}

/// The schema version every event type is at today.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Händelse: one recorded fact of the styrmodell. Stored as
/// `event_type` = the variant name and `payload` = its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
pub enum Event {
    KommunRegistered(KommunRegistered),
    ElectionRecorded(ElectionRecorded),
    BodyEstablished(BodyEstablished),
    UnitEstablished(UnitEstablished),
    DelegationGranted(DelegationGranted),
    DirectionAdopted(DirectionAdopted),
    StyrdokumentAdopted(StyrdokumentAdopted),
    StyrdokumentRepealed(StyrdokumentRepealed),
    BudgetAdopted(BudgetAdopted),
    RamSet(RamSet),
    BudgetEstablished(BudgetEstablished),
    SkattesatsSet(SkattesatsSet),
    EconomicPlanSet(EconomicPlanSet),
    InvestmentBudgeted(InvestmentBudgeted),
    RurPlanned(RurPlanned),
    BalanskravBudgeted(BalanskravBudgeted),
    KfGoalAdopted(KfGoalAdopted),
    UppdragGiven(UppdragGiven),
    UppdragChanged(UppdragChanged),
    UppdragExtended(UppdragExtended),
    UppdragClosed(UppdragClosed),
    NamndplanAdopted(NamndplanAdopted),
    NamndmalAdopted(NamndmalAdopted),
    DetaljbudgetAdopted(DetaljbudgetAdopted),
    UppdragStatusReported(UppdragStatusReported),
    PlanAdopted(PlanAdopted),
    PlanReportedToNamnd(PlanReportedToNamnd),
    OutcomesRecorded(OutcomesRecorded),
    KoladaValuesImported(KoladaValuesImported),
    DeviationReported(DeviationReported),
    DeviationActionRecorded(DeviationActionRecorded),
    DeviationEscalated(DeviationEscalated),
    DeviationClosed(DeviationClosed),
    FollowUpReportAdopted(FollowUpReportAdopted),
    AtgardsplanAdopted(AtgardsplanAdopted),
    InvestmentFollowedUp(InvestmentFollowedUp),
    UppdragStatusInReport(UppdragStatusInReport),
    GoalAssessedInReport(GoalAssessedInReport),
    BalanskravReported(BalanskravReported),
    InternalControlPlanAdopted(InternalControlPlanAdopted),
    ControlResultReported(ControlResultReported),
    FindingActionRecorded(FindingActionRecorded),
    FindingClosed(FindingClosed),
    InternalControlTertialReported(InternalControlTertialReported),
    ReviewRecorded(ReviewRecorded),
    ReviewReplied(ReviewReplied),
    FollowUpCalendarAdopted(FollowUpCalendarAdopted),
    MalgruppDefined(MalgruppDefined),
    ProcessEstablished(ProcessEstablished),
    ProcessGoalAdopted(ProcessGoalAdopted),
    ContributionRecorded(ContributionRecorded),
    ProcessClosed(ProcessClosed),
    DecisionCorrected(DecisionCorrected),
    AccessGranted(AccessGranted),
    AccessRevoked(AccessRevoked),
    SigningKeyPublished(SigningKeyPublished),
    CheckpointSigned(CheckpointSigned),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct KommunRegistered {
    pub name: String,
    pub kommunkod: String,
    pub council: String,
    /// A kommunalförbund's own history: its members and organ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<ForbundCharter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct BodyEstablished {
    pub body: String,
    pub kind: BodyKind,
    pub name: String,
    pub area: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<Forbund>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UnitEstablished {
    pub unit: String,
    pub name: String,
    pub namnd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub level: UnitLevel,
    /// The nämnder it answers to; none: `namnd`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<Ansvar>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DelegationGranted {
    pub body: String,
    pub point: String,
    pub delegate: String,
    pub matters: Vec<Matter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DirectionAdopted {
    pub id: String,
    pub kind: DirectionKind,
    pub title: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<MandatePeriod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct StyrdokumentAdopted {
    pub doc: String,
    pub version: u32,
    pub kind: DocumentKind,
    pub title: String,
    pub owner: String,
    pub valid_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_version: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct StyrdokumentRepealed {
    pub doc: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct BudgetAdopted {
    pub year: i32,
    pub plan_years: [i32; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RamSet {
    pub body: String,
    pub year: i32,
    pub amount: Tkr,
    pub change: BudgetChange,
    /// The budget (year) this ram belongs to.
    pub budget_year: i32,
}

/// Fastställd budget: KF has fastställt the budget for `year`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct BudgetEstablished {
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct SkattesatsSet {
    pub budget_year: i32,
    pub skattesats: Skattesats,
    pub change: BudgetChange,
}

/// The three-year plan för ekonomin, replacing any earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct EconomicPlanSet {
    pub budget_year: i32,
    pub change: BudgetChange,
    pub years: Vec<EconomicYear>,
}

/// An investment project budgeted (or its budget replaced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct InvestmentBudgeted {
    pub budget_year: i32,
    pub change: BudgetChange,
    pub investment: Investment,
}

/// RUR reservation or disposition for one year, replacing that year's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RurPlanned {
    pub budget_year: i32,
    pub change: BudgetChange,
    pub disposition: RurDisposition,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct FollowUpCalendarAdopted {
    pub from_year: i32,
    pub reports: Vec<ReportPeriod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct MalgruppDefined {
    pub malgrupp: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ProcessEstablished {
    pub process: String,
    pub name: String,
    pub purpose: String,
    pub owner: String,
    pub malgrupper: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ProcessGoalAdopted {
    pub process: String,
    pub goal: AdoptedProcessGoal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ContributionRecorded {
    pub contribution: String,
    pub body: String,
    pub goal: String,
    /// The process the goal belongs to.
    pub process: String,
    pub year: i32,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namndmal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund_record: Option<ForbundRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ProcessClosed {
    pub process: String,
    pub last_year: i32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct KfGoalAdopted {
    pub budget_year: i32,
    pub goal: AdoptedGoal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragGiven {
    pub budget_year: i32,
    pub uppdrag: GivenUppdrag,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragChanged {
    pub budget_year: i32,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Tkr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragExtended {
    pub budget_year: i32,
    pub id: String,
    pub due: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragClosed {
    pub budget_year: i32,
    pub id: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct NamndplanAdopted {
    pub body: String,
    pub year: i32,
    pub grunduppdrag: String,
    pub goals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct NamndmalAdopted {
    pub body: String,
    pub year: i32,
    pub goal: AdoptedNamndmal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DetaljbudgetAdopted {
    pub body: String,
    pub year: i32,
    pub lines: Vec<DetaljbudgetLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragStatusReported {
    pub uppdrag: String,
    pub body: String,
    pub as_of: NaiveDate,
    pub status: UppdragStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct PlanAdopted {
    pub plan: String,
    pub version: u32,
    pub kind: PlanKind,
    pub body: String,
    pub unit: String,
    pub year: i32,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct PlanReportedToNamnd {
    pub plan: String,
    pub version: u32,
    pub body: String,
}

/// Outcomes recorded one at a time or by an import: never overwritten;
/// a revised value is a new row with a later fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct OutcomesRecorded {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rows: Vec<OutcomeRow>,
}

/// Val registrerat: an election and the mandatperiod it begins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ElectionRecorded {
    pub date: NaiveDate,
    pub kind: ElectionKind,
    pub mandate_from: NaiveDate,
    pub mandate_to: NaiveDate,
}

/// Kolada-värden importerade: each row as Kolada gave it, with the
/// indicators that name its nyckeltal. Never overwritten: a revised value is
/// a new event beside the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct KoladaValuesImported {
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub kommunkod: String,
    pub rows: Vec<KoladaValue>,
}

/// One imported Kolada value and where it counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KoladaValue {
    pub kpi: String,
    pub period: i32,
    pub gender: String,
    pub status: String,
    pub value: Option<f64>,
    pub indicators: Vec<IndicatorRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DeviationReported {
    pub deviation: String,
    pub unit: String,
    pub body: String,
    pub from: DeviationFrom,
    pub sign: DeviationSign,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Tkr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub analysis: String,
    pub noticed: NaiveDate,
    pub reported: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DeviationActionRecorded {
    pub deviation: String,
    pub action: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DeviationEscalated {
    pub deviation: String,
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DeviationClosed {
    pub deviation: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct FollowUpReportAdopted {
    pub body: String,
    pub year: i32,
    pub kind: ReportKind,
    /// `MM-DD` when the calendar has several reports of this kind in the
    /// year (the report is known by it); otherwise absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub through: NaiveDate,
    pub ramar: Vec<RamOutcome>,
    pub goals: Vec<GoalAssessment>,
    pub uppdrag: Vec<UppdragLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AtgardsplanAdopted {
    pub body: String,
    pub year: i32,
    pub report: ReportKind,
    /// The report's period, as in its `FollowUpReportAdopted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub plan: Atgardsplan,
}

/// An investment's outcome in a follow-up report (on the investment's
/// subject, in the report's batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct InvestmentFollowedUp {
    pub investment: String,
    pub body: String,
    pub year: i32,
    pub report: ReportKind,
    /// The report's period, as in its `FollowUpReportAdopted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub outcome: Tkr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Tkr>,
}

/// An uppdrag's status as a follow-up report states it, on the
/// uppdrag's subject in the report's batch (the report carries it too;
/// folds apply the report and only note this).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct UppdragStatusInReport {
    pub uppdrag: String,
    pub body: String,
    pub year: i32,
    pub report: ReportKind,
    pub as_of: NaiveDate,
    pub status: UppdragStatus,
}

/// A goal's assessment as a follow-up report states it, on the goal's
/// subject in the report's batch (as `UppdragStatusInReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct GoalAssessedInReport {
    pub goal: String,
    pub level: GoalLevel,
    pub body: String,
    pub year: i32,
    pub report: ReportKind,
    /// The report's period, as in its `FollowUpReportAdopted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub assessment: GoalAssessment,
}

/// A budget decision's balanskrav: synnerliga skäl, reglering, avstående.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct BalanskravBudgeted {
    pub budget_year: i32,
    pub change: BudgetChange,
    pub balanskrav: BudgetBalanskrav,
}

/// The balanskravsutredning of a delårsrapport or årsredovisning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct BalanskravReported {
    pub year: i32,
    pub report: ReportKind,
    pub utredning: Balanskravsutredning,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct InternalControlPlanAdopted {
    pub plan: String,
    pub body: String,
    pub year: i32,
    /// Each risk with its score (likelihood × consequence).
    pub risks: Vec<ScoredRisk>,
    pub controls: Vec<ControlPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ControlResultReported {
    pub plan: String,
    pub control: String,
    pub tertial: u8,
    pub result: ControlResult,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct FindingActionRecorded {
    pub finding: String,
    pub action: String,
    pub description: String,
    pub responsible: String,
    pub due: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct FindingClosed {
    pub finding: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct InternalControlTertialReported {
    pub plan: String,
    pub body: String,
    pub tertial: u8,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReviewRecorded {
    pub review: String,
    pub title: String,
    pub year: i32,
    pub bodies: Vec<String>,
    pub observations: Vec<String>,
    pub recommendations: Vec<Recommendation>,
    pub reply_due: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReviewReplied {
    pub review: String,
    pub body: String,
    pub reply: String,
    pub responses: Vec<RecommendationResponse>,
    /// Whether the reply came after `reply_due`.
    pub late: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DecisionCorrected {
    pub corrects: Uuid,
    pub reason: String,
    /// JSON Pointer into the corrected event's data → the right value.
    pub corrections: BTreeMap<String, serde_json::Value>,
    /// The ground (FL 36 §). A rättelse recorded before rättelser took
    /// effect has none: it stays an annotation and changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground: Option<CorrectionGround>,
    /// The values the corrections replace, pointer by pointer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaced: BTreeMap<String, serde_json::Value>,
}

/// An identity may now record what `access` covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AccessGranted {
    pub identity: String,
    pub access: Access,
}

/// An identity may no longer record what `access` covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AccessRevoked {
    pub identity: String,
    pub access: Access,
}

/// Recorded by Styrkedja: a kommun's public ed25519 signing key, so that
/// anyone can verify its checkpoints. A rotation names the key it replaces
/// and carries that key's signature over the new public key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct SigningKeyPublished {
    pub key_id: String,
    /// 32 bytes, hex.
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The replaced key's signature over `public_key`'s bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<String>,
}

/// Recorded by Styrkedja: a signed statement that the kommun's event at
/// `sequence` has hash `head_hash` (see the audit crate for the signed text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CheckpointSigned {
    pub sequence: u64,
    pub head_hash: String,
    pub signed_at: chrono::DateTime<chrono::Utc>,
    pub key_id: String,
    /// ed25519 signature, hex.
    pub signature: String,
}

/// What the store records beside an event that the state needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMeta {
    pub event_id: Uuid,
    pub decided_by: DecidedBy,
}

/// A stored event whose type this version does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    pub event_type: String,
    pub schema_version: u32,
    pub detail: String,
}

impl std::fmt::Display for UnknownEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "händelsen {} v{} går inte att läsa: {}",
            self.event_type, self.schema_version, self.detail
        )
    }
}

impl std::error::Error for UnknownEvent {}

impl Event {
    /// The stored `event_type`: the variant name, as serde tags it (strum
    /// reads the same name off the enum; a test holds the two together).
    pub fn event_type(&self) -> &'static str {
        self.into()
    }

    /// The aggregate (kind, id) the event belongs to; it names the subject.
    /// A correction belongs to the aggregate of the event it corrects, which
    /// the state knows; here it is filed under `correction`.
    pub fn aggregate(&self) -> (&'static str, String) {
        match self {
            Event::KommunRegistered(_) => ("kommun", "kommun".into()),
            Event::ElectionRecorded(ElectionRecorded { date, .. }) => {
                ("election", date.to_string())
            }
            Event::BodyEstablished(BodyEstablished { body, .. })
            | Event::DelegationGranted(DelegationGranted { body, .. }) => ("body", body.clone()),
            Event::UnitEstablished(UnitEstablished { unit, .. }) => ("unit", unit.clone()),
            Event::DirectionAdopted(DirectionAdopted { id, .. }) => ("direction", id.clone()),
            Event::StyrdokumentAdopted(StyrdokumentAdopted { doc, .. })
            | Event::StyrdokumentRepealed(StyrdokumentRepealed { doc, .. }) => {
                ("styrdokument", doc.clone())
            }
            Event::BudgetAdopted(BudgetAdopted { year, .. }) => ("budget", year.to_string()),
            Event::RamSet(RamSet { budget_year, .. })
            | Event::SkattesatsSet(SkattesatsSet { budget_year, .. })
            | Event::EconomicPlanSet(EconomicPlanSet { budget_year, .. })
            | Event::RurPlanned(RurPlanned { budget_year, .. })
            | Event::BalanskravBudgeted(BalanskravBudgeted { budget_year, .. }) => {
                ("budget", budget_year.to_string())
            }
            Event::BudgetEstablished(BudgetEstablished { year, .. })
            | Event::BalanskravReported(BalanskravReported { year, .. }) => {
                ("budget", year.to_string())
            }
            Event::InvestmentBudgeted(InvestmentBudgeted { investment, .. }) => {
                ("investment", investment.id.clone())
            }
            Event::InvestmentFollowedUp(InvestmentFollowedUp { investment, .. }) => {
                ("investment", investment.clone())
            }
            Event::UppdragStatusInReport(UppdragStatusInReport { uppdrag, .. }) => {
                ("uppdrag", uppdrag.clone())
            }
            Event::GoalAssessedInReport(GoalAssessedInReport {
                goal,
                level: GoalLevel::Kf,
                ..
            }) => ("goal", goal.clone()),
            Event::GoalAssessedInReport(GoalAssessedInReport { goal, .. }) => {
                ("namndmal", goal.clone())
            }
            Event::KfGoalAdopted(KfGoalAdopted { goal, .. }) => ("goal", goal.id.clone()),
            Event::FollowUpCalendarAdopted(FollowUpCalendarAdopted { from_year, .. }) => {
                ("calendar", from_year.to_string())
            }
            Event::MalgruppDefined(MalgruppDefined { malgrupp, .. }) => {
                ("malgrupp", malgrupp.clone())
            }
            Event::ProcessEstablished(ProcessEstablished { process, .. })
            | Event::ProcessClosed(ProcessClosed { process, .. }) => ("process", process.clone()),
            Event::ProcessGoalAdopted(ProcessGoalAdopted { goal, .. }) => ("goal", goal.id.clone()),
            Event::ContributionRecorded(ContributionRecorded { contribution, .. }) => {
                ("contribution", contribution.clone())
            }
            Event::UppdragGiven(UppdragGiven { uppdrag, .. }) => ("uppdrag", uppdrag.id.clone()),
            Event::UppdragChanged(UppdragChanged { id, .. })
            | Event::UppdragExtended(UppdragExtended { id, .. })
            | Event::UppdragClosed(UppdragClosed { id, .. }) => ("uppdrag", id.clone()),
            Event::UppdragStatusReported(UppdragStatusReported { uppdrag, .. }) => {
                ("uppdrag", uppdrag.clone())
            }
            Event::NamndplanAdopted(NamndplanAdopted { body, year, .. }) => {
                ("namndplan", format!("{body}-{year}"))
            }
            Event::NamndmalAdopted(NamndmalAdopted { goal, .. }) => ("namndmal", goal.id.clone()),
            Event::DetaljbudgetAdopted(DetaljbudgetAdopted { body, year, .. }) => {
                ("detaljbudget", format!("{body}-{year}"))
            }
            Event::PlanAdopted(PlanAdopted { plan, .. })
            | Event::PlanReportedToNamnd(PlanReportedToNamnd { plan, .. }) => {
                ("plan", plan.clone())
            }
            Event::OutcomesRecorded(OutcomesRecorded { rows, .. }) => match rows.as_slice() {
                [one] => ("outcome", one.goal.clone()),
                _ => ("outcome", "import".to_owned()),
            },
            Event::KoladaValuesImported(_) => ("outcome", "kolada".to_owned()),
            Event::DeviationReported(DeviationReported { deviation, .. })
            | Event::DeviationActionRecorded(DeviationActionRecorded { deviation, .. })
            | Event::DeviationEscalated(DeviationEscalated { deviation, .. })
            | Event::DeviationClosed(DeviationClosed { deviation, .. }) => {
                ("deviation", deviation.clone())
            }
            Event::FollowUpReportAdopted(FollowUpReportAdopted {
                body,
                year,
                kind,
                period,
                ..
            }) => (
                "report",
                match period {
                    Some(p) => format!("{body}-{year}-{}-{p}", kind.slug()),
                    None => format!("{body}-{year}-{}", kind.slug()),
                },
            ),
            Event::AtgardsplanAdopted(AtgardsplanAdopted { plan, .. }) => {
                ("atgardsplan", plan.id.clone())
            }
            Event::InternalControlPlanAdopted(InternalControlPlanAdopted { plan, .. })
            | Event::ControlResultReported(ControlResultReported { plan, .. })
            | Event::InternalControlTertialReported(InternalControlTertialReported {
                plan, ..
            }) => ("internal-control", plan.clone()),
            Event::FindingActionRecorded(FindingActionRecorded { finding, .. })
            | Event::FindingClosed(FindingClosed { finding, .. }) => ("finding", finding.clone()),
            Event::ReviewRecorded(ReviewRecorded { review, .. })
            | Event::ReviewReplied(ReviewReplied { review, .. }) => ("review", review.clone()),
            Event::AccessGranted(AccessGranted { identity, .. })
            | Event::AccessRevoked(AccessRevoked { identity, .. }) => ("access", identity.clone()),
            Event::SigningKeyPublished(SigningKeyPublished { key_id, .. }) => {
                ("signing-key", key_id.clone())
            }
            Event::CheckpointSigned(CheckpointSigned { sequence, .. }) => {
                ("checkpoint", sequence.to_string())
            }
            Event::DecisionCorrected(DecisionCorrected { corrects, .. }) => {
                ("correction", corrects.simple().to_string())
            }
        }
    }

    /// Splits the event into its stored type and payload.
    pub fn to_payload(&self) -> (&'static str, serde_json::Value) {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let data = v
            .get_mut("data")
            .map(serde_json::Value::take)
            .unwrap_or(serde_json::Value::Null);
        (self.event_type(), data)
    }

    /// Reads a stored event back.
    pub fn from_payload(
        event_type: &str,
        schema_version: u32,
        payload: &serde_json::Value,
    ) -> Result<Self, UnknownEvent> {
        let unknown = |detail: String| UnknownEvent {
            event_type: event_type.to_owned(),
            schema_version,
            detail,
        };
        if schema_version != EVENT_SCHEMA_VERSION {
            return Err(unknown(format!("schemaversion {schema_version} är okänd")));
        }
        // The tag first, then the fields borrowed from `payload`: serde
        // then decodes the variant straight away, with no copy of the
        // payload and no buffering of it while it looks for the tag.
        use serde::Deserialize;
        let tag = serde_json::Value::String(event_type.to_owned());
        let entries = [("type", &tag), ("data", payload)];
        let map =
            serde::de::value::MapDeserializer::<_, serde_json::Error>::new(entries.into_iter());
        Event::deserialize(map).map_err(|e| unknown(e.to_string()))
    }
}
