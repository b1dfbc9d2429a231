//! Commands: what a body, delegat or official asks to have recorded.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::*;

/// Ärende: one decision to record. Its provenance (who decided, when, where)
/// travels beside it; [`crate::KommunState::decide`] checks both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Register the kommun and its kommunfullmäktige (the first decision).
    RegisterKommun {
        name: String,
        /// The four-digit kommunkod, e.g. `0884`.
        kommunkod: String,
        /// The id the council (KF) gets, e.g. `kf`.
        council: String,
    },
    /// KF establishes a body (KS, a nämnd, a bolag, the revisorer).
    EstablishBody {
        body: String,
        kind: BodyKind,
        name: String,
        /// Its area of responsibility (ansvarsområde) from the reglemente or ägardirektiv.
        area: String,
        /// For a bolag: its parent company.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_company: Option<String>,
    },
    /// A nämnd (or its delegat) establishes a unit in its förvaltning.
    EstablishUnit {
        unit: String,
        name: String,
        namnd: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        level: UnitLevel,
    },
    /// A body adopts a point of its delegationsordning.
    GrantDelegation {
        body: String,
        /// The point's number, e.g. `3.2`.
        point: String,
        /// Who may decide under it (a role), e.g. `forvaltningschef`.
        delegate: String,
        matters: Vec<Matter>,
    },
    /// KF adopts the vision, the värdegrund or a strategisk plan.
    AdoptDirection {
        id: String,
        kind: DirectionKind,
        title: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period: Option<MandatePeriod>,
    },
    /// Adopt a styrdokument, or revise one (a new version replacing the named one).
    AdoptStyrdokument {
        doc: String,
        kind: DocumentKind,
        title: String,
        owner: String,
        valid_from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<NaiveDate>,
        /// The version this one replaces; absent for a first adoption.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces_version: Option<u32>,
    },
    /// Repeal (upphäva) a styrdokument.
    RepealStyrdokument {
        doc: String,
        reason: String,
    },
    /// KF adopts budget med plan: the budget year and two plan years, ramar,
    /// goals with indicators, and the uppdrag decisions, as one batch. A
    /// kommun that adopts in two steps records the ramar (`stage: ramar`, in
    /// June) and then the fastställd budget (`stage: faststalld`, in
    /// November, with skattesats and economic plan); one that adopts in one
    /// step records only the fastställd budget.
    AdoptBudget {
        year: i32,
        /// Which of the year's budget decisions this is; `ramar` when absent.
        #[serde(default)]
        stage: BudgetStage,
        /// Ramar for the budget year and plan years. In a fastställd budget
        /// after budgetramar: only the ramar it changes.
        #[serde(default)]
        ramar: Vec<Ram>,
        /// Skattesats for the budget year (required when fastställd).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skattesats: Option<Skattesats>,
        /// Plan för ekonomin: resultat, balans and finansiering for the budget
        /// year and the two plan years (required when fastställd).
        #[serde(default)]
        economy: Vec<EconomicYear>,
        /// Investeringsbudget: projects with their yearly amounts.
        #[serde(default)]
        investments: Vec<Investment>,
        /// Reservation to and disposition from the resultatutjämningsreserv.
        #[serde(default)]
        rur: Vec<RurDisposition>,
        #[serde(default)]
        goals: Vec<GoalInput>,
        #[serde(default)]
        uppdrag_given: Vec<UppdragInput>,
        #[serde(default)]
        uppdrag_changed: Vec<UppdragChange>,
        /// Uppdrag whose time frame is extended to a new due date.
        #[serde(default)]
        uppdrag_extended: BTreeMap<String, NaiveDate>,
        /// Uppdrag closed, with what came of each.
        #[serde(default)]
        uppdrag_closed: BTreeMap<String, String>,
    },
    /// KF changes an adopted budget: the November complementary decision of
    /// an election year, a tilläggsbudget during the year, or an
    /// ändringsbudget of a fastställd budget (before or during its year).
    /// `amend_ramar` is the same command under its earlier name.
    #[serde(alias = "amend_ramar")]
    AmendBudget {
        /// The year amended: the budget year or one of its plan years.
        year: i32,
        change: BudgetChange,
        #[serde(default)]
        ramar: Vec<Ram>,
        /// A new skattesats for the budget year, decided before it begins.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skattesats: Option<Skattesats>,
        /// A new three-year economic plan, replacing the one in force.
        #[serde(default)]
        economy: Vec<EconomicYear>,
        /// Investments added or replaced (by id).
        #[serde(default)]
        investments: Vec<Investment>,
        /// RUR dispositions replacing those of the same year.
        #[serde(default)]
        rur: Vec<RurDisposition>,
    },
    /// A nämnd adopts its nämndplan: nämndmål linked to KF goals.
    AdoptNamndplan {
        body: String,
        year: i32,
        /// The nämnd's grunduppdrag as the plan states it.
        grunduppdrag: String,
        goals: Vec<NamndmalInput>,
        /// A revision of the nämnd's plan for the year: it replaces the plan
        /// in force; its nämndmål may keep their ids (revised) or be new.
        #[serde(default)]
        revises: bool,
    },
    /// A nämnd distributes its ram over its units.
    AdoptDetaljbudget {
        body: String,
        year: i32,
        lines: Vec<BudgetLine>,
    },
    /// A nämnd reports an uppdrag's status.
    ReportUppdragStatus {
        uppdrag: String,
        body: String,
        as_of: NaiveDate,
        status: UppdragStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// The förvaltning adopts (or revises: same id, next version) a
    /// verksamhetsplan or enhetsplan. No nämnd decision is needed (P1).
    AdoptPlan {
        plan: String,
        kind: PlanKind,
        body: String,
        unit: String,
        year: i32,
        activities: Vec<Activity>,
    },
    /// Anmälan: the nämnd takes note of a verksamhetsplan or enhetsplan (by
    /// January of its year, per the styrmodell). It does not approve it: the
    /// plan is the förvaltning's.
    NotePlanReported {
        plan: String,
        version: u32,
    },
    /// Utfall: one indicator value for one period.
    RecordOutcome {
        goal: String,
        indicator: String,
        /// `2025` (a year), `2025-T2` (a tertial) or `2025-06` (a month).
        period: String,
        value: f64,
        /// Where the value comes from, e.g. `Kolada` or `Procapita`.
        source: String,
    },
    /// A bulk import of indicator values (e.g. a year of Kolada values for
    /// every indicator), recorded as one event.
    ImportOutcomes {
        source: String,
        /// When the values were fetched from the source (caller's clock).
        fetched_at: chrono::DateTime<chrono::Utc>,
        rows: Vec<OutcomeRow>,
    },
    /// A unit's chef reports a deviation, without delay.
    ReportDeviation {
        deviation: String,
        unit: String,
        from: DeviationFrom,
        sign: DeviationSign,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<Tkr>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// Avvikelseanalys: the cause as understood.
        analysis: String,
        /// When it was noticed; the report date is the decision date.
        noticed: NaiveDate,
    },
    /// An action taken on a deviation within the reporter's delegation.
    RecordDeviationAction {
        deviation: String,
        action: String,
        description: String,
    },
    /// The deviation cannot be handled within the förvaltning's delegation:
    /// it goes to the nämnd.
    EscalateDeviation {
        deviation: String,
        reason: String,
    },
    CloseDeviation {
        deviation: String,
        outcome: String,
    },
    /// A nämnd, KS or bolag adopts a follow-up report; an åtgärdsplan decided
    /// in the same decision is committed with it (P5).
    AdoptFollowUpReport {
        body: String,
        year: i32,
        kind: ReportKind,
        ramar: Vec<RamOutcome>,
        #[serde(default)]
        goals: Vec<GoalAssessment>,
        #[serde(default)]
        uppdrag: Vec<UppdragLine>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        atgardsplan: Option<Atgardsplan>,
        /// Investeringsuppföljning: outcome (and forecast) per investment.
        #[serde(default)]
        investments: Vec<InvestmentOutcome>,
        /// Balanskravsutredning (KS, in the delårsrapport and årsredovisning).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        balanskrav: Option<Balanskravsutredning>,
    },
    /// KS (kommun-wide) or a nämnd or bolag (its own area) adopts its intern
    /// kontrollplan for a year from a risk- och väsentlighetsanalys.
    AdoptInternalControlPlan {
        plan: String,
        body: String,
        year: i32,
        risks: Vec<Risk>,
        controls: Vec<ControlPoint>,
    },
    /// The result of one control point for one tertial.
    ReportControlResult {
        plan: String,
        control: String,
        tertial: u8,
        result: ControlResult,
    },
    /// An action on a finding (brist).
    RecordFindingAction {
        finding: String,
        action: String,
        description: String,
        responsible: String,
        due: NaiveDate,
    },
    CloseFinding {
        finding: String,
        outcome: String,
    },
    /// A nämnd's or bolag's tertial report on intern kontroll, to KS.
    ReportInternalControlTertial {
        plan: String,
        tertial: u8,
        summary: String,
    },
    /// Granskning: the revisorer record a review.
    RecordReview {
        review: String,
        title: String,
        year: i32,
        /// The boards reviewed; each is asked for a reply.
        bodies: Vec<String>,
        observations: Vec<String>,
        recommendations: Vec<Recommendation>,
        reply_due: NaiveDate,
    },
    /// Yttrande: a reviewed board replies.
    ReplyToReview {
        review: String,
        body: String,
        reply: String,
        #[serde(default)]
        responses: Vec<RecommendationResponse>,
    },
    /// Rättelse: corrects a recorded decision by naming it (P6).
    CorrectDecision {
        corrects: Uuid,
        reason: String,
        /// What is right, field by field.
        corrections: BTreeMap<String, serde_json::Value>,
    },
    /// KS (or an administrator) lets an identity record decisions: for one
    /// body, or everything (administrator).
    GrantAccess {
        /// The NATS user name the identity authenticates as.
        identity: String,
        access: Access,
    },
    /// KS (or an administrator) takes a grant back.
    RevokeAccess {
        identity: String,
        access: Access,
    },
}

impl Command {
    /// The command's name as in its `command` tag.
    pub fn name(&self) -> &'static str {
        match self {
            Command::RegisterKommun { .. } => "register_kommun",
            Command::GrantAccess { .. } => "grant_access",
            Command::RevokeAccess { .. } => "revoke_access",
            Command::EstablishBody { .. } => "establish_body",
            Command::EstablishUnit { .. } => "establish_unit",
            Command::GrantDelegation { .. } => "grant_delegation",
            Command::AdoptDirection { .. } => "adopt_direction",
            Command::AdoptStyrdokument { .. } => "adopt_styrdokument",
            Command::RepealStyrdokument { .. } => "repeal_styrdokument",
            Command::AdoptBudget { .. } => "adopt_budget",
            Command::AmendBudget { .. } => "amend_budget",
            Command::AdoptNamndplan { .. } => "adopt_namndplan",
            Command::AdoptDetaljbudget { .. } => "adopt_detaljbudget",
            Command::ReportUppdragStatus { .. } => "report_uppdrag_status",
            Command::AdoptPlan { .. } => "adopt_plan",
            Command::NotePlanReported { .. } => "note_plan_reported",
            Command::RecordOutcome { .. } => "record_outcome",
            Command::ImportOutcomes { .. } => "import_outcomes",
            Command::ReportDeviation { .. } => "report_deviation",
            Command::RecordDeviationAction { .. } => "record_deviation_action",
            Command::EscalateDeviation { .. } => "escalate_deviation",
            Command::CloseDeviation { .. } => "close_deviation",
            Command::AdoptFollowUpReport { .. } => "adopt_follow_up_report",
            Command::AdoptInternalControlPlan { .. } => "adopt_internal_control_plan",
            Command::ReportControlResult { .. } => "report_control_result",
            Command::RecordFindingAction { .. } => "record_finding_action",
            Command::CloseFinding { .. } => "close_finding",
            Command::ReportInternalControlTertial { .. } => "report_internal_control_tertial",
            Command::RecordReview { .. } => "record_review",
            Command::ReplyToReview { .. } => "reply_to_review",
            Command::CorrectDecision { .. } => "correct_decision",
        }
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
}

/// One line of a detaljbudget: a unit's share of the ram, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLine {
    pub unit: String,
    pub amount: Tkr,
}
