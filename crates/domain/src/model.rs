//! Value types of the styrmodell.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Amounts are whole thousands of kronor (tkr), as in Swedish budgets.
pub type Tkr = i64;

/// Organ: the kind of a decision-making body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// Kommunfullmäktige (KF), the council.
    Council,
    /// Kommunstyrelsen (KS), the executive board.
    ExecutiveBoard,
    /// Nämnd: a committee such as barn- och utbildningsnämnden.
    Committee,
    /// Kommunalt bolag: a company owned by the kommun.
    Company,
    /// Moderbolag (e.g. Förvaltnings AB): the parent of the bolag group.
    ParentCompany,
    /// Revisorer: the auditors.
    Auditors,
}

impl BodyKind {
    /// Bodies that receive a ram, set their own goals and run units: KS,
    /// nämnder and bolag.
    pub fn is_operating(self) -> bool {
        matches!(
            self,
            BodyKind::ExecutiveBoard
                | BodyKind::Committee
                | BodyKind::Company
                | BodyKind::ParentCompany
        )
    }
}

/// Organisationsnivå: a unit's level in the förvaltning under a nämnd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    /// Förvaltning or sektor.
    Forvaltning,
    /// Område (verksamhetsområde).
    Omrade,
    /// Ansvarsenhet: the unit with its own chef and budget line.
    Ansvarsenhet,
}

/// The deepest a unit tree under one nämnd may go (Götene's four levels).
pub const MAX_UNIT_DEPTH: usize = 4;

/// Ärendetyp: the kinds of decision a delegationsordning point can cover.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Matter {
    /// Establishing units in the förvaltning.
    Organisation,
    /// Distributing the ram over units.
    Detaljbudget,
    /// Reporting an uppdrag's status.
    UppdragReport,
    /// Adopting verksamhetsplaner and enhetsplaner.
    Plan,
    /// Recording indicator outcomes.
    FollowUp,
    /// Reporting intern kontroll results and acting on findings.
    InternalControl,
}

/// Styrande inriktning: the top of the red thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectionKind {
    Vision,
    /// Värdegrund: the shared values.
    Vardegrund,
    /// Strategisk plan for a mandatperiod.
    StrategiskPlan,
}

/// Styrdokument: kinds of governing documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Program,
    Plan,
    Strategi,
    Policy,
    Riktlinje,
    Reglemente,
    Delegationsordning,
    Bolagsordning,
    Agardirektiv,
}

impl DocumentKind {
    /// Documents only KF may adopt (KL 5 kap: what only fullmäktige decides); riktlinjer and
    /// delegationsordningar may be a nämnd's or KS's own.
    pub fn council_only(self) -> bool {
        !matches!(
            self,
            DocumentKind::Riktlinje | DocumentKind::Delegationsordning
        )
    }
}

/// Målkategori: KF's two kinds of övergripande mål.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// Inriktningsmål (verksamhet).
    Inriktningsmal,
    /// Finansiellt mål (god ekonomisk hushållning).
    Finansiellt,
}

/// Perspektiv: the four perspectives of the balanced scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Perspective {
    Ekonomi,
    InvanareOchBrukare,
    VerksamhetOchMedarbetare,
    Utveckling,
}

/// Riktning: which way an indicator should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Increase,
    Decrease,
    Maintain,
}

/// Indikator: a key figure with direction and målvärde per year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    /// Kolada KPI id, e.g. `N01951`, when the indicator is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kolada_kpi: Option<String>,
    pub direction: Trend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// Målvärde per year.
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// Målvärde: an indicator's target for one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub year: i32,
    pub value: f64,
}

/// Uppdragsstatus as a nämnd reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UppdragStatus {
    /// Ej påbörjat.
    NotStarted,
    /// Pågår.
    Ongoing,
    /// Klart.
    Done,
    /// Försenat (a reason is required).
    Delayed,
}

/// Ramändring: why ramar changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RamChange {
    /// Set in the budget med plan.
    Budget,
    /// KF's complementary decision in November of an election year.
    Complementary,
    /// Tilläggsbudget: a supplementary decision during the budget year.
    Supplementary,
}

/// Plannivå: the förvaltning's plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    Verksamhetsplan,
    Enhetsplan,
}

/// Aktivitet: a step in a verksamhetsplan or enhetsplan toward nämndmål or uppdrag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub id: String,
    pub title: String,
    /// The unit that carries it out; the plan's unit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Nämndmål it works toward.
    #[serde(default)]
    pub namndmal: Vec<String>,
    /// Uppdrag it carries out.
    #[serde(default)]
    pub uppdrag: Vec<String>,
    /// What it commits from the unit's detaljbudget line, in tkr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Tkr>,
}

/// Mandatperiod: the four-year term a strategisk plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MandatePeriod {
    pub from_year: i32,
    pub to_year: i32,
}

/// Utfall: one indicator value for one period, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRow {
    /// The KF goal or nämndmål the indicator belongs to.
    pub goal: String,
    pub indicator: String,
    /// `2025` (a year, as Kolada), `2025-T2` (a tertial) or `2025-06` (a month).
    pub period: String,
    pub value: f64,
}

/// Avvikelse: what a deviation deviates from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeviationFrom {
    /// A KF goal or a nämndmål.
    Goal {
        goal: String,
    },
    Indicator {
        goal: String,
        indicator: String,
    },
    Uppdrag {
        uppdrag: String,
    },
    /// A nämnd's ram for a year.
    Ram {
        body: String,
        year: i32,
    },
    /// A unit's line in its nämnd's detaljbudget.
    Detaljbudget {
        body: String,
        year: i32,
        unit: String,
    },
}

/// Negative or positive deviation (positive ones are analysed too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviationSign {
    Negative,
    Positive,
}

/// Rapporttyp: the three written follow-up reports of the year.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Budgetuppföljning: through April, with a full-year forecast.
    Budgetuppfoljning,
    /// Delårsrapport: through August, with a forecast.
    Delarsrapport,
    /// Årsredovisning: through December.
    Arsredovisning,
}

impl ReportKind {
    /// A subject-safe name.
    pub fn slug(self) -> &'static str {
        match self {
            ReportKind::Budgetuppfoljning => "budgetuppfoljning",
            ReportKind::Delarsrapport => "delarsrapport",
            ReportKind::Arsredovisning => "arsredovisning",
        }
    }

    /// The last day the report covers, in `year` (Vimmerby's calendar).
    pub fn through(self, year: i32) -> Option<chrono::NaiveDate> {
        let (m, d) = match self {
            ReportKind::Budgetuppfoljning => (4, 30),
            ReportKind::Delarsrapport => (8, 31),
            ReportKind::Arsredovisning => (12, 31),
        };
        chrono::NaiveDate::from_ymd_opt(year, m, d)
    }

    /// Does the report carry a full-year forecast?
    pub fn has_forecast(self) -> bool {
        self != ReportKind::Arsredovisning
    }
}

/// Måluppfyllelse: a report's assessment of one goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// Uppfyllt.
    Met,
    /// Delvis uppfyllt.
    Partly,
    /// Ej uppfyllt.
    NotMet,
    /// Kan ej bedömas.
    NotAssessable,
}

/// Ekonomiskt utfall: outcome against one ram, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RamOutcome {
    pub body: String,
    /// Outcome for the period the report covers.
    pub outcome: Tkr,
    /// Forecast for the whole year (budgetuppföljning and delårsrapport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Tkr>,
}

/// A goal's assessment in a report, with the indicator values behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalAssessment {
    pub goal: String,
    pub assessment: Assessment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub indicators: Vec<IndicatorValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorValue {
    pub indicator: String,
    pub value: f64,
}

/// An uppdrag's status as a report states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UppdragLine {
    pub uppdrag: String,
    pub status: UppdragStatus,
}

/// Åtgärdsplan: the nämnd's plan for deviations beyond the förvaltning's
/// delegation (P5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Atgardsplan {
    pub id: String,
    /// The deviations it answers.
    pub deviations: Vec<String>,
    pub measures: Vec<String>,
    /// Expected effect in tkr, when it is about money.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Tkr>,
    pub follow_up_by: chrono::NaiveDate,
}

/// Riskhantering: the response chosen for a risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskResponse {
    /// Accept the risk as it is.
    Accept,
    /// Put a control point on it.
    Control,
    /// Act to reduce it.
    Reduce,
}

/// Risk in the risk- och väsentlighetsanalys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub id: String,
    pub description: String,
    pub area: String,
    /// Sannolikhet, 1–4.
    pub likelihood: u8,
    /// Konsekvens, 1–4.
    pub consequence: u8,
    pub response: RiskResponse,
}

impl Risk {
    /// Riskvärde: likelihood × consequence, 1–16.
    pub fn score(&self) -> u8 {
        self.likelihood * self.consequence
    }
}

/// A risk as adopted, with its score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoredRisk {
    pub id: String,
    pub description: String,
    pub area: String,
    pub likelihood: u8,
    pub consequence: u8,
    /// likelihood × consequence, 1–16.
    pub score: u8,
    pub response: RiskResponse,
}

/// How often a control is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Monthly,
    PerTertial,
    Yearly,
}

/// Kontrollmoment: what is checked, how, how often and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlPoint {
    pub id: String,
    pub what: String,
    pub how: String,
    pub frequency: Frequency,
    pub responsible_role: String,
    /// The risk it controls.
    pub risk: String,
}

/// Kontrollresultat for one control and tertial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlResult {
    /// Utan anmärkning.
    NoRemark,
    /// Brist: a finding, with its own id for the actions that follow.
    Finding {
        finding: String,
        description: String,
    },
}

/// Rekommendation from the revisorer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    pub id: String,
    pub text: String,
}

/// The board's answer to one recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationResponse {
    pub recommendation: String,
    pub response: String,
}

/// The last day of tertial 1–3 of `year`.
pub fn tertial_end(year: i32, tertial: u8) -> Option<chrono::NaiveDate> {
    let (m, d) = match tertial {
        1 => (4, 30),
        2 => (8, 31),
        3 => (12, 31),
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(year, m, d)
}

/// Behörighet: what an identity may record in a kommun's history.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Access {
    /// Administratör: may record every decision and grant access.
    Administrator,
    /// May record decisions of this body (at its meetings, by its delegater
    /// and by officials of its units).
    Body { body: String },
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Administrator => f.write_str("administratör"),
            Access::Body { body } => write!(f, "beslut för {}", body.to_uppercase()),
        }
    }
}
