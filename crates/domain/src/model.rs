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
    /// Documents only KF may adopt (DOMAIN.md "Who decides"); riktlinjer and
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
