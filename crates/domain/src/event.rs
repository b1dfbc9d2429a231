//! Events: what was decided, as recorded. A published event shape never
//! changes; a new shape is a new `schema_version` with an upcaster.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::command::{BudgetLine, GoalInput, NamndmalInput, UppdragInput};
use crate::model::*;
use styr_provenance::DecidedBy;

/// The schema version every event type is at today.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// Händelse: one recorded fact of the styrmodell. Stored as
/// `event_type` = the variant name and `payload` = its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
pub enum Event {
    KommunRegistered {
        name: String,
        kommunkod: String,
        council: String,
    },
    BodyEstablished {
        body: String,
        kind: BodyKind,
        name: String,
        area: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_company: Option<String>,
    },
    UnitEstablished {
        unit: String,
        name: String,
        namnd: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        level: UnitLevel,
    },
    DelegationGranted {
        body: String,
        point: String,
        delegate: String,
        matters: Vec<Matter>,
    },
    DirectionAdopted {
        id: String,
        kind: DirectionKind,
        title: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period: Option<MandatePeriod>,
    },
    StyrdokumentAdopted {
        doc: String,
        version: u32,
        kind: DocumentKind,
        title: String,
        owner: String,
        valid_from: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces_version: Option<u32>,
    },
    StyrdokumentRepealed {
        doc: String,
        reason: String,
    },
    BudgetAdopted {
        year: i32,
        plan_years: [i32; 2],
    },
    RamSet {
        body: String,
        year: i32,
        amount: Tkr,
        change: BudgetChange,
        /// The budget (year) this ram belongs to.
        budget_year: i32,
    },
    /// Fastställd budget: KF has fastställt the budget for `year`.
    BudgetEstablished {
        year: i32,
    },
    SkattesatsSet {
        budget_year: i32,
        skattesats: Skattesats,
        change: BudgetChange,
    },
    /// The three-year plan för ekonomin, replacing any earlier one.
    EconomicPlanSet {
        budget_year: i32,
        change: BudgetChange,
        years: Vec<EconomicYear>,
    },
    /// An investment project budgeted (or its budget replaced).
    InvestmentBudgeted {
        budget_year: i32,
        change: BudgetChange,
        investment: Investment,
    },
    /// RUR reservation or disposition for one year, replacing that year's.
    RurPlanned {
        budget_year: i32,
        change: BudgetChange,
        disposition: RurDisposition,
    },
    KfGoalAdopted {
        budget_year: i32,
        goal: GoalInput,
    },
    UppdragGiven {
        budget_year: i32,
        uppdrag: UppdragInput,
    },
    UppdragChanged {
        budget_year: i32,
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resources: Option<Tkr>,
    },
    UppdragExtended {
        budget_year: i32,
        id: String,
        due: NaiveDate,
    },
    UppdragClosed {
        budget_year: i32,
        id: String,
        outcome: String,
    },
    NamndplanAdopted {
        body: String,
        year: i32,
        grunduppdrag: String,
        goals: Vec<String>,
    },
    NamndmalAdopted {
        body: String,
        year: i32,
        goal: NamndmalInput,
    },
    DetaljbudgetAdopted {
        body: String,
        year: i32,
        lines: Vec<BudgetLine>,
    },
    UppdragStatusReported {
        uppdrag: String,
        body: String,
        as_of: NaiveDate,
        status: UppdragStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    PlanAdopted {
        plan: String,
        version: u32,
        kind: PlanKind,
        body: String,
        unit: String,
        year: i32,
        activities: Vec<Activity>,
    },
    PlanReportedToNamnd {
        plan: String,
        version: u32,
        body: String,
    },
    /// Outcomes recorded one at a time or by an import: never overwritten;
    /// a revised value is a new row with a later fetch.
    OutcomesRecorded {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fetched_at: Option<chrono::DateTime<chrono::Utc>>,
        rows: Vec<OutcomeRow>,
    },
    DeviationReported {
        deviation: String,
        unit: String,
        body: String,
        from: DeviationFrom,
        sign: DeviationSign,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<Tkr>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        analysis: String,
        noticed: NaiveDate,
        reported: NaiveDate,
    },
    DeviationActionRecorded {
        deviation: String,
        action: String,
        description: String,
    },
    DeviationEscalated {
        deviation: String,
        to: String,
        reason: String,
    },
    DeviationClosed {
        deviation: String,
        outcome: String,
    },
    FollowUpReportAdopted {
        body: String,
        year: i32,
        kind: ReportKind,
        through: NaiveDate,
        ramar: Vec<RamOutcome>,
        goals: Vec<GoalAssessment>,
        uppdrag: Vec<UppdragLine>,
    },
    AtgardsplanAdopted {
        body: String,
        year: i32,
        report: ReportKind,
        plan: Atgardsplan,
    },
    /// An investment's outcome in a follow-up report (on the investment's
    /// subject, in the report's batch).
    InvestmentFollowedUp {
        investment: String,
        body: String,
        year: i32,
        report: ReportKind,
        outcome: Tkr,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forecast: Option<Tkr>,
    },
    /// An uppdrag's status as a follow-up report states it, on the
    /// uppdrag's subject in the report's batch (the report carries it too;
    /// folds apply the report and only note this).
    UppdragStatusInReport {
        uppdrag: String,
        body: String,
        year: i32,
        report: ReportKind,
        as_of: NaiveDate,
        status: UppdragStatus,
    },
    /// A goal's assessment as a follow-up report states it, on the goal's
    /// subject in the report's batch (as `UppdragStatusInReport`).
    GoalAssessedInReport {
        goal: String,
        level: GoalLevel,
        body: String,
        year: i32,
        report: ReportKind,
        assessment: GoalAssessment,
    },
    /// The balanskravsutredning of a delårsrapport or årsredovisning.
    BalanskravReported {
        year: i32,
        report: ReportKind,
        utredning: Balanskravsutredning,
    },
    InternalControlPlanAdopted {
        plan: String,
        body: String,
        year: i32,
        /// Each risk with its score (likelihood × consequence).
        risks: Vec<ScoredRisk>,
        controls: Vec<ControlPoint>,
    },
    ControlResultReported {
        plan: String,
        control: String,
        tertial: u8,
        result: ControlResult,
    },
    FindingActionRecorded {
        finding: String,
        action: String,
        description: String,
        responsible: String,
        due: NaiveDate,
    },
    FindingClosed {
        finding: String,
        outcome: String,
    },
    InternalControlTertialReported {
        plan: String,
        body: String,
        tertial: u8,
        summary: String,
    },
    ReviewRecorded {
        review: String,
        title: String,
        year: i32,
        bodies: Vec<String>,
        observations: Vec<String>,
        recommendations: Vec<Recommendation>,
        reply_due: NaiveDate,
    },
    ReviewReplied {
        review: String,
        body: String,
        reply: String,
        responses: Vec<RecommendationResponse>,
        /// Whether the reply came after `reply_due`.
        late: bool,
    },
    DecisionCorrected {
        corrects: Uuid,
        reason: String,
        corrections: BTreeMap<String, serde_json::Value>,
    },
    /// An identity may now record what `access` covers.
    AccessGranted {
        identity: String,
        access: Access,
    },
    /// An identity may no longer record what `access` covered.
    AccessRevoked {
        identity: String,
        access: Access,
    },
    /// Recorded by Styrkedja: a kommun's public ed25519 signing key, so that
    /// anyone can verify its checkpoints. A rotation names the key it replaces
    /// and carries that key's signature over the new public key.
    SigningKeyPublished {
        key_id: String,
        /// 32 bytes, hex.
        public_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<String>,
        /// The replaced key's signature over `public_key`'s bytes, hex.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endorsement: Option<String>,
    },
    /// Recorded by Styrkedja: a signed statement that the kommun's event at
    /// `sequence` has hash `head_hash` (see the audit crate for the signed text).
    CheckpointSigned {
        sequence: u64,
        head_hash: String,
        signed_at: chrono::DateTime<chrono::Utc>,
        key_id: String,
        /// ed25519 signature, hex.
        signature: String,
    },
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
    /// The stored `event_type`: the variant name.
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::KommunRegistered { .. } => "KommunRegistered",
            Event::BodyEstablished { .. } => "BodyEstablished",
            Event::UnitEstablished { .. } => "UnitEstablished",
            Event::DelegationGranted { .. } => "DelegationGranted",
            Event::DirectionAdopted { .. } => "DirectionAdopted",
            Event::StyrdokumentAdopted { .. } => "StyrdokumentAdopted",
            Event::StyrdokumentRepealed { .. } => "StyrdokumentRepealed",
            Event::BudgetAdopted { .. } => "BudgetAdopted",
            Event::RamSet { .. } => "RamSet",
            Event::BudgetEstablished { .. } => "BudgetEstablished",
            Event::SkattesatsSet { .. } => "SkattesatsSet",
            Event::EconomicPlanSet { .. } => "EconomicPlanSet",
            Event::InvestmentBudgeted { .. } => "InvestmentBudgeted",
            Event::RurPlanned { .. } => "RurPlanned",
            Event::InvestmentFollowedUp { .. } => "InvestmentFollowedUp",
            Event::UppdragStatusInReport { .. } => "UppdragStatusInReport",
            Event::GoalAssessedInReport { .. } => "GoalAssessedInReport",
            Event::BalanskravReported { .. } => "BalanskravReported",
            Event::KfGoalAdopted { .. } => "KfGoalAdopted",
            Event::UppdragGiven { .. } => "UppdragGiven",
            Event::UppdragChanged { .. } => "UppdragChanged",
            Event::UppdragExtended { .. } => "UppdragExtended",
            Event::UppdragClosed { .. } => "UppdragClosed",
            Event::NamndplanAdopted { .. } => "NamndplanAdopted",
            Event::NamndmalAdopted { .. } => "NamndmalAdopted",
            Event::DetaljbudgetAdopted { .. } => "DetaljbudgetAdopted",
            Event::UppdragStatusReported { .. } => "UppdragStatusReported",
            Event::PlanAdopted { .. } => "PlanAdopted",
            Event::PlanReportedToNamnd { .. } => "PlanReportedToNamnd",
            Event::OutcomesRecorded { .. } => "OutcomesRecorded",
            Event::DeviationReported { .. } => "DeviationReported",
            Event::DeviationActionRecorded { .. } => "DeviationActionRecorded",
            Event::DeviationEscalated { .. } => "DeviationEscalated",
            Event::DeviationClosed { .. } => "DeviationClosed",
            Event::FollowUpReportAdopted { .. } => "FollowUpReportAdopted",
            Event::AtgardsplanAdopted { .. } => "AtgardsplanAdopted",
            Event::InternalControlPlanAdopted { .. } => "InternalControlPlanAdopted",
            Event::ControlResultReported { .. } => "ControlResultReported",
            Event::FindingActionRecorded { .. } => "FindingActionRecorded",
            Event::FindingClosed { .. } => "FindingClosed",
            Event::InternalControlTertialReported { .. } => "InternalControlTertialReported",
            Event::ReviewRecorded { .. } => "ReviewRecorded",
            Event::ReviewReplied { .. } => "ReviewReplied",
            Event::DecisionCorrected { .. } => "DecisionCorrected",
            Event::AccessGranted { .. } => "AccessGranted",
            Event::AccessRevoked { .. } => "AccessRevoked",
            Event::SigningKeyPublished { .. } => "SigningKeyPublished",
            Event::CheckpointSigned { .. } => "CheckpointSigned",
        }
    }

    /// The aggregate (kind, id) the event belongs to; it names the subject.
    /// A correction belongs to the aggregate of the event it corrects, which
    /// the state knows; here it is filed under `correction`.
    pub fn aggregate(&self) -> (&'static str, String) {
        match self {
            Event::KommunRegistered { .. } => ("kommun", "kommun".into()),
            Event::BodyEstablished { body, .. } | Event::DelegationGranted { body, .. } => {
                ("body", body.clone())
            }
            Event::UnitEstablished { unit, .. } => ("unit", unit.clone()),
            Event::DirectionAdopted { id, .. } => ("direction", id.clone()),
            Event::StyrdokumentAdopted { doc, .. } | Event::StyrdokumentRepealed { doc, .. } => {
                ("styrdokument", doc.clone())
            }
            Event::BudgetAdopted { year, .. } => ("budget", year.to_string()),
            Event::RamSet { budget_year, .. }
            | Event::SkattesatsSet { budget_year, .. }
            | Event::EconomicPlanSet { budget_year, .. }
            | Event::RurPlanned { budget_year, .. } => ("budget", budget_year.to_string()),
            Event::BudgetEstablished { year, .. } | Event::BalanskravReported { year, .. } => {
                ("budget", year.to_string())
            }
            Event::InvestmentBudgeted { investment, .. } => ("investment", investment.id.clone()),
            Event::InvestmentFollowedUp { investment, .. } => ("investment", investment.clone()),
            Event::UppdragStatusInReport { uppdrag, .. } => ("uppdrag", uppdrag.clone()),
            Event::GoalAssessedInReport {
                goal,
                level: GoalLevel::Kf,
                ..
            } => ("goal", goal.clone()),
            Event::GoalAssessedInReport { goal, .. } => ("namndmal", goal.clone()),
            Event::KfGoalAdopted { goal, .. } => ("goal", goal.id.clone()),
            Event::UppdragGiven { uppdrag, .. } => ("uppdrag", uppdrag.id.clone()),
            Event::UppdragChanged { id, .. }
            | Event::UppdragExtended { id, .. }
            | Event::UppdragClosed { id, .. } => ("uppdrag", id.clone()),
            Event::UppdragStatusReported { uppdrag, .. } => ("uppdrag", uppdrag.clone()),
            Event::NamndplanAdopted { body, year, .. } => ("namndplan", format!("{body}-{year}")),
            Event::NamndmalAdopted { goal, .. } => ("namndmal", goal.id.clone()),
            Event::DetaljbudgetAdopted { body, year, .. } => {
                ("detaljbudget", format!("{body}-{year}"))
            }
            Event::PlanAdopted { plan, .. } | Event::PlanReportedToNamnd { plan, .. } => {
                ("plan", plan.clone())
            }
            Event::OutcomesRecorded { rows, .. } => match rows.as_slice() {
                [one] => ("outcome", one.goal.clone()),
                _ => ("outcome", "import".to_owned()),
            },
            Event::DeviationReported { deviation, .. }
            | Event::DeviationActionRecorded { deviation, .. }
            | Event::DeviationEscalated { deviation, .. }
            | Event::DeviationClosed { deviation, .. } => ("deviation", deviation.clone()),
            Event::FollowUpReportAdopted {
                body, year, kind, ..
            } => ("report", format!("{body}-{year}-{}", kind.slug())),
            Event::AtgardsplanAdopted { plan, .. } => ("atgardsplan", plan.id.clone()),
            Event::InternalControlPlanAdopted { plan, .. }
            | Event::ControlResultReported { plan, .. }
            | Event::InternalControlTertialReported { plan, .. } => {
                ("internal-control", plan.clone())
            }
            Event::FindingActionRecorded { finding, .. } | Event::FindingClosed { finding, .. } => {
                ("finding", finding.clone())
            }
            Event::ReviewRecorded { review, .. } | Event::ReviewReplied { review, .. } => {
                ("review", review.clone())
            }
            Event::AccessGranted { identity, .. } | Event::AccessRevoked { identity, .. } => {
                ("access", identity.clone())
            }
            Event::SigningKeyPublished { key_id, .. } => ("signing-key", key_id.clone()),
            Event::CheckpointSigned { sequence, .. } => ("checkpoint", sequence.to_string()),
            Event::DecisionCorrected { corrects, .. } => {
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
        serde_json::from_value(serde_json::json!({ "type": event_type, "data": payload }))
            .map_err(|e| unknown(e.to_string()))
    }
}
