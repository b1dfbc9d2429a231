//! Commands: what a body, delegat or official asks to have recorded.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::*;

/// Ärende: one decision to record. Its provenance (who decided, when, where)
/// travels beside it; [`crate::KommunState::decide`] checks both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
pub enum Command {
    RegisterKommun(RegisterKommun),
    RecordElection(RecordElection),
    EstablishBody(EstablishBody),
    EstablishUnit(EstablishUnit),
    GrantDelegation(GrantDelegation),
    AdoptDirection(AdoptDirection),
    AdoptStyrdokument(AdoptStyrdokument),
    RepealStyrdokument(RepealStyrdokument),
    AdoptBudget(AdoptBudget),
    #[serde(alias = "amend_ramar")]
    AmendBudget(AmendBudget),
    AdoptNamndplan(AdoptNamndplan),
    AdoptDetaljbudget(AdoptDetaljbudget),
    ReportUppdragStatus(ReportUppdragStatus),
    AdoptPlan(AdoptPlan),
    NotePlanReported(NotePlanReported),
    RecordOutcome(RecordOutcome),
    ImportOutcomes(ImportOutcomes),
    ImportKolada(ImportKolada),
    ReportDeviation(ReportDeviation),
    RecordDeviationAction(RecordDeviationAction),
    EscalateDeviation(EscalateDeviation),
    CloseDeviation(CloseDeviation),
    AdoptFollowUpReport(AdoptFollowUpReport),
    AdoptInternalControlPlan(AdoptInternalControlPlan),
    ReportControlResult(ReportControlResult),
    RecordFindingAction(RecordFindingAction),
    CloseFinding(CloseFinding),
    ReportInternalControlTertial(ReportInternalControlTertial),
    RecordReview(RecordReview),
    ReplyToReview(ReplyToReview),
    AdoptFollowUpCalendar(AdoptFollowUpCalendar),
    DefineMalgrupp(DefineMalgrupp),
    EstablishProcess(EstablishProcess),
    AdoptProcessGoals(AdoptProcessGoals),
    RecordContribution(RecordContribution),
    CloseProcess(CloseProcess),
    CorrectDecision(CorrectDecision),
    GrantAccess(GrantAccess),
    RevokeAccess(RevokeAccess),
}

/// Val till fullmäktige: KF records an election and the mandatperiod it
/// begins. An ordinary election is held on the second Sunday of September
/// and its mandatperiod runs from 15 October that year for four years; an
/// extra val's fullmäktige serves from the date given until the ordinary
/// period ends. The rules that depend on an election year (the
/// complementary November decision, the budget's last day) read these
/// records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordElection {
    pub date: NaiveDate,
    pub kind: ElectionKind,
    /// For an extra val: when the newly elected fullmäktige's mandate begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandate_from: Option<NaiveDate>,
}

/// Register the kommun and its kommunfullmäktige (the first decision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RegisterKommun {
    pub name: String,
    /// The four-digit kommunkod, e.g. `0884`.
    pub kommunkod: String,
    /// The id the council (KF) gets, e.g. `kf`.
    pub council: String,
    /// When the history is a kommunalförbund's own: its members and organ.
    /// `kommunkod` is then the kommunkod of its säte (as its
    /// förbundsordning states it, KL 9 kap), one
    /// of the members, and `council` its förbundsfullmäktige or direktion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<ForbundCharter>,
}

/// KF establishes a body (KS, a nämnd, a bolag, the revisorer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct EstablishBody {
    pub body: String,
    pub kind: BodyKind,
    pub name: String,
    /// Its area of responsibility (ansvarsområde) from the reglemente or ägardirektiv.
    pub area: String,
    /// For a bolag: its parent company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_company: Option<String>,
    /// For a kommunalförbund (required for one, refused for any other
    /// body): its members, its organ and its own history's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<Forbund>,
}

/// Uppföljningskalender: KF or KS decides which follow-up reports the
/// kommun has from `from_year` on — the årsredovisning and at least one
/// delårsrapport (KL 11 kap), a budgetuppföljning when it wants one — with
/// each period's last day and the days to adopt it in. Until a kommun has
/// decided one, Vimmerby's applies (budgetuppföljning through 30 April,
/// delårsrapport through 31 August, årsredovisning).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptFollowUpCalendar {
    pub from_year: i32,
    pub reports: Vec<ReportPeriod>,
}

/// Målgrupp: those the kommun is there for (invånare, företag, besökare),
/// defined once by KF or KS and named by processes and goals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct DefineMalgrupp {
    pub malgrupp: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Process: a flow of work that cuts across the organisation towards the
/// kommun's målgrupper (e.g. "Etablering av företag"), established by KF or
/// KS with the body that owns it. Its goals may be owned by the process
/// instead of a body; nämnder, bolag and förbund contribute to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct EstablishProcess {
    pub process: String,
    pub name: String,
    pub purpose: String,
    /// The body that owns the process (processägare): KF, KS, a nämnd or a
    /// bolag (not a kommunalförbund: the kommun does not direct it).
    pub owner: String,
    /// The målgrupper it serves (defined before).
    pub malgrupper: Vec<String>,
}

/// Processmål: goals owned by a process, adopted by KF or by the body that
/// owns the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptProcessGoals {
    pub process: String,
    pub goals: Vec<ProcessGoalInput>,
}

/// Bidrag: a body's contribution to a process goal — one of its own goals
/// (a nämndmål of its nämndplan) or an activity it commits to — decided by
/// the contributing body (P1). A kommunalförbund's contribution can name
/// where the förbund recorded it in its own history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordContribution {
    pub contribution: String,
    /// The contributing body: a nämnd, KS, a bolag or a kommunalförbund.
    pub body: String,
    /// The process goal (or KF goal belonging to a process) it serves.
    pub goal: String,
    pub year: i32,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The body's own nämndmål the contribution is, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namndmal: Option<String>,
    /// For a kommunalförbund with its own history: where it recorded the
    /// decision (sequence and chain hash in its stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund_record: Option<ForbundRecordInput>,
}

/// Where a förbund recorded a decision in its own history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForbundRecordInput {
    pub sequence: u64,
    /// The event's chain hash there, 64 hex digits.
    pub hash: String,
}

/// KF or KS closes a process: it runs through `last_year`; no contribution
/// or goal is recorded for it after that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CloseProcess {
    pub process: String,
    pub last_year: i32,
    pub reason: String,
}

/// A nämnd (or its delegat) establishes a unit in its förvaltning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct EstablishUnit {
    pub unit: String,
    pub name: String,
    /// The nämnd whose förvaltning the unit is part of (organisation: who
    /// employs and leads; it decides the unit).
    pub namnd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub level: UnitLevel,
    /// The nämnder its verksamhet answers to, each for a verksamhet
    /// (responsibility); none: it answers to `namnd`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<Ansvar>,
}

/// A body adopts a point of its delegationsordning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct GrantDelegation {
    pub body: String,
    /// The point's number, e.g. `3.2`.
    pub point: String,
    /// Who may decide under it (a role), e.g. `forvaltningschef`.
    pub delegate: String,
    pub matters: Vec<Matter>,
}

/// KF adopts the vision, the värdegrund or a strategisk plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptDirection {
    pub id: String,
    pub kind: DirectionKind,
    pub title: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<MandatePeriod>,
}

/// Adopt a styrdokument, or revise one (a new version replacing the named one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptStyrdokument {
    pub doc: String,
    pub kind: DocumentKind,
    pub title: String,
    pub owner: String,
    pub valid_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// The version this one replaces; absent for a first adoption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_version: Option<u32>,
}

/// Repeal (upphäva) a styrdokument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RepealStyrdokument {
    pub doc: String,
    pub reason: String,
}

/// KF adopts budget med plan: the budget year and two plan years, ramar,
/// goals with indicators, and the uppdrag decisions, as one batch. A
/// kommun that adopts in two steps records the ramar (`stage: ramar`, in
/// June) and then the fastställd budget (`stage: faststalld`, in
/// November, with skattesats and economic plan); one that adopts in one
/// step records only the fastställd budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptBudget {
    pub year: i32,
    /// Which of the year's budget decisions this is; `ramar` when absent.
    #[serde(default)]
    pub stage: BudgetStage,
    /// Ramar for the budget year and plan years. In a fastställd budget
    /// after budgetramar: only the ramar it changes.
    #[serde(default)]
    pub ramar: Vec<Ram>,
    /// Skattesats for the budget year (required when fastställd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skattesats: Option<Skattesats>,
    /// Plan för ekonomin: resultat, balans and finansiering for the budget
    /// year and the two plan years (required when fastställd).
    #[serde(default)]
    pub economy: Vec<EconomicYear>,
    /// Investeringsbudget: projects with their yearly amounts.
    #[serde(default)]
    pub investments: Vec<Investment>,
    /// Reservation to and disposition from the resultatutjämningsreserv.
    #[serde(default)]
    pub rur: Vec<RurDisposition>,
    /// Balanskravet: synnerliga skäl for a negative result, reglering of
    /// negative results, avstående (KL 11 kap 5, 12–13 §§).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balanskrav: Option<BudgetBalanskrav>,
    #[serde(default)]
    pub goals: Vec<GoalInput>,
    #[serde(default)]
    pub uppdrag_given: Vec<UppdragInput>,
    #[serde(default)]
    pub uppdrag_changed: Vec<UppdragChange>,
    /// Uppdrag whose time frame is extended to a new due date.
    #[serde(default)]
    pub uppdrag_extended: BTreeMap<String, NaiveDate>,
    /// Uppdrag closed, with what came of each.
    #[serde(default)]
    pub uppdrag_closed: BTreeMap<String, String>,
}

/// KF changes an adopted budget: the November complementary decision of
/// an election year, a tilläggsbudget during the year, or an
/// ändringsbudget of a fastställd budget (before or during its year).
/// `amend_ramar` is the same command under its earlier name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AmendBudget {
    /// The year amended: the budget year or one of its plan years.
    pub year: i32,
    pub change: BudgetChange,
    #[serde(default)]
    pub ramar: Vec<Ram>,
    /// A new skattesats for the budget year, decided before it begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skattesats: Option<Skattesats>,
    /// A new three-year economic plan, replacing the one in force.
    #[serde(default)]
    pub economy: Vec<EconomicYear>,
    /// Investments added or replaced (by id).
    #[serde(default)]
    pub investments: Vec<Investment>,
    /// RUR dispositions replacing those of the same year.
    #[serde(default)]
    pub rur: Vec<RurDisposition>,
    /// Balanskravet as this decision states it: synnerliga skäl, reglering
    /// of a negative result, avstående (kept beside earlier decisions').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balanskrav: Option<BudgetBalanskrav>,
}

/// A nämnd adopts its nämndplan: nämndmål linked to KF goals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptNamndplan {
    pub body: String,
    pub year: i32,
    /// The nämnd's grunduppdrag as the plan states it.
    pub grunduppdrag: String,
    pub goals: Vec<NamndmalInput>,
    /// A revision of the nämnd's plan for the year: it replaces the plan
    /// in force; its nämndmål may keep their ids (revised) or be new.
    #[serde(default)]
    pub revises: bool,
}

/// A nämnd distributes its ram over its units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptDetaljbudget {
    pub body: String,
    pub year: i32,
    pub lines: Vec<BudgetLine>,
}

/// A nämnd reports an uppdrag's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReportUppdragStatus {
    pub uppdrag: String,
    pub body: String,
    pub as_of: NaiveDate,
    pub status: UppdragStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The förvaltning adopts (or revises: same id, next version) a
/// verksamhetsplan or enhetsplan. No nämnd decision is needed (P1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptPlan {
    pub plan: String,
    pub kind: PlanKind,
    pub body: String,
    pub unit: String,
    pub year: i32,
    pub activities: Vec<Activity>,
}

/// Anmälan: the nämnd takes note of a verksamhetsplan or enhetsplan (by
/// January of its year, per the styrmodell). It does not approve it: the
/// plan is the förvaltning's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct NotePlanReported {
    pub plan: String,
    pub version: u32,
}

/// Utfall: one indicator value for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordOutcome {
    pub goal: String,
    pub indicator: String,
    /// `2025` (a year), `2025-T2` (a tertial) or `2025-06` (a month).
    pub period: String,
    pub value: f64,
    /// Where the value comes from, e.g. `Kolada` or `Procapita`.
    pub source: String,
}

/// A bulk import of indicator values (e.g. a year of Kolada values for
/// every indicator), recorded as one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ImportOutcomes {
    pub source: String,
    /// When the values were fetched from the source (caller's clock).
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub rows: Vec<OutcomeRow>,
}

/// Kolada-import: values as Kolada's open API gives them
/// (`/v3/data/kpi/{kpi}/municipality/{id}`), mapped onto the indicators that
/// name their nyckeltal (`kolada_kpi`). Rows for another kommunkod, or for a
/// nyckeltal no indicator names, are refused; a row whose value and status
/// are what the last import recorded is left out; a revised value is
/// recorded beside the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ImportKolada {
    /// When the values were fetched from Kolada (caller's clock).
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub rows: Vec<KoladaRow>,
}

/// A unit's chef reports a deviation, without delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReportDeviation {
    pub deviation: String,
    pub unit: String,
    pub from: DeviationFrom,
    pub sign: DeviationSign,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Tkr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Avvikelseanalys: the cause as understood.
    pub analysis: String,
    /// When it was noticed; the report date is the decision date.
    pub noticed: NaiveDate,
}

/// An action taken on a deviation within the reporter's delegation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordDeviationAction {
    pub deviation: String,
    pub action: String,
    pub description: String,
}

/// The deviation cannot be handled within the förvaltning's delegation:
/// it goes to the nämnd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct EscalateDeviation {
    pub deviation: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CloseDeviation {
    pub deviation: String,
    pub outcome: String,
}

/// A nämnd, KS or bolag adopts a follow-up report; an åtgärdsplan decided
/// in the same decision is committed with it (P5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptFollowUpReport {
    pub body: String,
    pub year: i32,
    pub kind: ReportKind,
    /// Which of the year's reports of this kind (its period's last day,
    /// `MM-DD`): needed when the calendar in force has several, e.g.
    /// monthly budgetuppföljningar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub ramar: Vec<RamOutcome>,
    #[serde(default)]
    pub goals: Vec<GoalAssessment>,
    #[serde(default)]
    pub uppdrag: Vec<UppdragLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atgardsplan: Option<Atgardsplan>,
    /// Investeringsuppföljning: outcome (and forecast) per investment.
    #[serde(default)]
    pub investments: Vec<InvestmentOutcome>,
    /// Balanskravsutredning (KS, in the delårsrapport and årsredovisning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balanskrav: Option<Balanskravsutredning>,
}

/// KS (kommun-wide) or a nämnd or bolag (its own area) adopts its intern
/// kontrollplan for a year from a risk- och väsentlighetsanalys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct AdoptInternalControlPlan {
    pub plan: String,
    pub body: String,
    pub year: i32,
    pub risks: Vec<Risk>,
    pub controls: Vec<ControlPoint>,
}

/// The result of one control point for one tertial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReportControlResult {
    pub plan: String,
    pub control: String,
    pub tertial: u8,
    pub result: ControlResult,
}

/// An action on a finding (brist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordFindingAction {
    pub finding: String,
    pub action: String,
    pub description: String,
    pub responsible: String,
    pub due: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CloseFinding {
    pub finding: String,
    pub outcome: String,
}

/// A nämnd's or bolag's tertial report on intern kontroll, to KS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReportInternalControlTertial {
    pub plan: String,
    pub tertial: u8,
    pub summary: String,
}

/// Granskning: the revisorer record a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RecordReview {
    pub review: String,
    pub title: String,
    pub year: i32,
    /// The boards reviewed; each is asked for a reply.
    pub bodies: Vec<String>,
    pub observations: Vec<String>,
    pub recommendations: Vec<Recommendation>,
    pub reply_due: NaiveDate,
}

/// Yttrande: a reviewed board replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct ReplyToReview {
    pub review: String,
    pub body: String,
    pub reply: String,
    #[serde(default)]
    pub responses: Vec<RecommendationResponse>,
}

/// Rättelse (förvaltningslagen (2017:900) 36 §): corrects an obvious
/// error in a recorded decision by naming it and the fields that were wrong
/// (P6). From its recording on, state, plans and registers read the
/// corrected values; the decision itself stays in the history as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct CorrectDecision {
    /// The event id of the decision corrected (the id its reply gave).
    pub corrects: Uuid,
    /// Skrivfel, räknefel or liknande förbiseende.
    pub ground: CorrectionGround,
    pub reason: String,
    /// What is right, field by field: a JSON Pointer into the corrected
    /// event's data (`/goals/0/title`) → the right value. Texts and
    /// measured or target values only; ids, years, references and amounts a
    /// rule has checked are changed by a new decision, not a rättelse.
    pub corrections: BTreeMap<String, serde_json::Value>,
}

/// KS (or an administrator) lets an identity record decisions: for one
/// body, or everything (administrator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct GrantAccess {
    /// The NATS user name the identity authenticates as.
    pub identity: String,
    pub access: Access,
}

/// KS (or an administrator) takes a grant back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct RevokeAccess {
    pub identity: String,
    pub access: Access,
}

impl Command {
    /// The command's name as in its `command` tag (strum's snake case of
    /// the variant, as serde's; a test holds the two together).
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// Ram: a body's budget frame for one year, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ram {
    pub body: String,
    pub year: i32,
    pub amount: Tkr,
}

/// Övergripande mål as KF adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalInput {
    pub id: String,
    pub kind: GoalKind,
    pub title: String,
    pub from_year: i32,
    pub to_year: i32,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// The process the goal also belongs to (beside KF), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// The målgrupper it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malgrupper: Vec<String>,
    /// The Agenda 2030 goals or targets it serves (`"4"`, `"4.1"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// Processmål as its process's owner (or KF) adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessGoalInput {
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
pub struct UppdragInput {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The nämnder (KS included) it is given to.
    pub to: Vec<String>,
    /// Resources set aside for it, in tkr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Tkr>,
    pub due: NaiveDate,
    /// The KF goals (övergripande mål) the uppdrag serves: in force in the
    /// budget year, adopted before or in the same decision (P3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<String>,
}

/// A change KF makes to an uppdrag: the fields given replace the old ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UppdragChange {
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

/// Nämndmål as the nämnd adopts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamndmalInput {
    pub id: String,
    pub title: String,
    pub perspective: Perspective,
    /// KF goals it breaks down (at least one, in force for the year: P3).
    pub kf_goals: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// The Agenda 2030 goals or targets it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// One line of a detaljbudget: a unit's share of the ram, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLine {
    pub unit: String,
    pub amount: Tkr,
}
