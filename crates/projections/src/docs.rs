//! The documents the read models store, one per entity, as JSON.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use styr_domain::*;
use uuid::Uuid;

/// Where a fact in a view comes from: the event that recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    pub sequence: u64,
    pub event_id: Uuid,
    /// Who decided it, structured: body and meeting with §, delegat with
    /// point, official with unit.
    pub decided_by: DecidedBy,
    /// The same in words, e.g. `KF 2025-06-16 § 87`,
    /// `delegat forvaltningschef (BUN p. 1.4) 2026-02-05`.
    pub decided: String,
    pub effective_date: NaiveDate,
}

/// Something said in a decision (an outcome, a reason) and the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Statement {
    pub text: String,
    pub source: Source,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KommunDoc {
    pub name: String,
    /// For a kommunalförbund's own history: the kommunkod of its säte.
    pub kommunkod: String,
    pub council: String,
    /// Set when the history is a kommunalförbund's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<ForbundCharter>,
}

/// Val: an election to fullmäktige and the mandatperiod it began.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ElectionDoc {
    pub date: NaiveDate,
    pub kind: ElectionKind,
    pub mandate_from: NaiveDate,
    pub mandate_to: NaiveDate,
    pub source: Source,
}

/// Organ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BodyDoc {
    pub id: String,
    pub kind: BodyKind,
    pub name: String,
    pub area: String,
    pub parent_company: Option<String>,
    /// Delegationsordning: point → (delegate, matters).
    pub delegations: BTreeMap<String, (String, Vec<Matter>)>,
    /// For a kommunalförbund: its members, organ and own history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbund: Option<Forbund>,
}

/// Enhet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnitDoc {
    pub id: String,
    pub name: String,
    /// The nämnd whose förvaltning it is part of (organisation).
    pub namnd: String,
    pub parent: Option<String>,
    pub level: UnitLevel,
    /// The nämnder its verksamhet answers to, each for a verksamhet
    /// (responsibility); empty: `namnd`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<styr_domain::Ansvar>,
}

impl UnitDoc {
    /// The nämnder it answers to.
    pub fn responsible(&self) -> Vec<&str> {
        styr_domain::answers_to(&self.namnd, &self.serves)
    }
}

/// Vision, värdegrund or strategisk plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DirectionDoc {
    pub id: String,
    pub kind: DirectionKind,
    pub title: String,
    pub text: String,
    pub period: Option<MandatePeriod>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentVersion {
    pub version: u32,
    pub title: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub source: Source,
}

/// Styrdokument with all its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocumentDoc {
    pub id: String,
    pub kind: DocumentKind,
    pub owner: String,
    pub versions: Vec<DocumentVersion>,
    pub repealed: Option<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RamEntry {
    pub body: String,
    pub year: i32,
    pub amount: Tkr,
    pub change: BudgetChange,
    pub source: Source,
}

/// Budget med plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetDoc {
    pub year: i32,
    pub plan_years: [i32; 2],
    pub source: Source,
    /// body → year → the ram as last set (history in `changes`).
    pub ramar: BTreeMap<String, BTreeMap<i32, Tkr>>,
    /// Every ram set, in order.
    pub changes: Vec<RamEntry>,
    /// The decision that fastställde the budget, once one has.
    #[serde(default)]
    pub established: Option<Source>,
    #[serde(default)]
    pub skattesats: Option<Figure<Skattesats>>,
    /// Plan för ekonomin: resultat, balans, finansiering for the three years.
    #[serde(default)]
    pub economy: Option<Figure<Vec<EconomicYear>>>,
    /// Investeringsbudget: investment id → the project as this budget last set it.
    #[serde(default)]
    pub investments: BTreeMap<String, Figure<Investment>>,
    /// Year → RUR reservation or disposition.
    #[serde(default)]
    pub rur: BTreeMap<i32, Figure<RurDisposition>>,
    /// Every change to a part other than ramar, in order: what, by which step, decided where.
    #[serde(default)]
    pub part_changes: Vec<PartChange>,
    /// Every balanskrav this budget's decisions stated, in order:
    /// synnerliga skäl, reglering, avstående.
    #[serde(default)]
    pub balanskrav: Vec<Figure<BudgetBalanskrav>>,
}

impl BudgetDoc {
    /// The decision that set `body`'s ram for `year` as it stands.
    pub fn ram_set_by(&self, body: &str, year: i32) -> Option<&RamEntry> {
        self.changes
            .iter()
            .rev()
            .find(|e| e.body == body && e.year == year)
    }
}

/// A budget figure with the decision that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Figure<T> {
    pub value: T,
    pub change: BudgetChange,
    pub source: Source,
}

/// One change to a budget part besides ramar: what (`skattesats`,
/// `investering`, `plan för ekonomin`, `resultatutjämningsreserv`), of
/// which (`2026`, the investment's id), the value it set in words, by which
/// step and decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PartChange {
    pub part: String,
    pub object: String,
    pub value: String,
    pub change: BudgetChange,
    pub source: Source,
}

/// Investeringsprojekt with its budget history and its follow-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvestmentDoc {
    pub id: String,
    /// The project as last budgeted.
    pub investment: Investment,
    /// Every budget decision that set it, in order.
    pub budgeted: Vec<InvestmentBudgetEntry>,
    pub follow_ups: Vec<InvestmentFollowUpDoc>,
}

/// One budget decision's amounts for an investment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvestmentBudgetEntry {
    pub budget_year: i32,
    pub change: BudgetChange,
    pub years: Vec<YearAmount>,
    pub source: Source,
}

impl InvestmentDoc {
    /// Budgeted for `year`, in tkr.
    pub fn budget_for(&self, year: i32) -> Option<Tkr> {
        self.investment
            .years
            .iter()
            .find(|y| y.year == year)
            .map(|y| y.amount)
    }

    /// The budget decision that set the amount for `year` as it stands.
    pub fn set_by(&self, year: i32) -> Option<&InvestmentBudgetEntry> {
        self.budgeted
            .iter()
            .rev()
            .find(|e| e.years.iter().any(|y| y.year == year))
    }
}

/// An investment's outcome as one report states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvestmentFollowUpDoc {
    pub year: i32,
    pub report: ReportKind,
    /// The report's period (`MM-DD`) when it is one of several of its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub outcome: Tkr,
    pub forecast: Option<Tkr>,
    pub source: Source,
}

/// Balanskravsutredningar of one year (`balanskrav/<year>`), per report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BalanskravDoc {
    pub year: i32,
    pub reports: Vec<BalanskravEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BalanskravEntry {
    pub report: ReportKind,
    pub utredning: Balanskravsutredning,
    pub source: Source,
}

/// One indicator value as recorded (never overwritten), stored under its
/// own key `outcome/<goal>/<indicator>/<sequence>-<row>` so that recording
/// one more value writes one small document, however many came before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutcomeDoc {
    pub goal: String,
    pub indicator: String,
    pub period: String,
    pub value: f64,
    pub source: String,
    pub fetched_at: Option<DateTime<Utc>>,
    pub sequence: u64,
    /// The Kolada nyckeltal the value was imported as, with Kolada's status
    /// flag (empty when none), for values from a Kolada import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kolada: Option<KoladaOrigin>,
}

/// Where an imported Kolada value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KoladaOrigin {
    pub kpi: String,
    pub kommunkod: String,
    pub status: String,
}

/// A KF goal (`level = kf`), a nämndmål (`level = namnd`) or a processmål
/// (`level = process`, owned by its process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "GoalDoc")]
// `O` is how its values are held: read into `OutcomeDoc`s, or as stored
// (`Stored`) in an answer that only passes them on (this comment stays out
// of the published schema).
pub struct GoalDoc<O = OutcomeDoc> {
    pub id: String,
    pub level: String,
    pub title: String,
    /// For a nämndmål: its nämnd.
    pub body: Option<String>,
    pub kind: Option<GoalKind>,
    pub perspective: Option<Perspective>,
    pub from_year: i32,
    pub to_year: i32,
    /// For a nämndmål: the KF goals it breaks down.
    pub kf_goals: Vec<String>,
    pub indicators: Vec<Indicator>,
    /// indicator → its recorded values, in recording order: every value, or
    /// in a service's answer the latest [`crate::OUTCOMES_KEPT`] (the rest
    /// page by page through the `outcomes` query).
    pub outcomes: BTreeMap<String, Vec<O>>,
    /// indicator → how many values are recorded for it in all (filled when
    /// read with outcomes; stored documents leave it empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outcome_counts: BTreeMap<String, usize>,
    pub source: Source,
    /// The process the goal belongs to (a processmål's own; a KF goal's beside KF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// The målgrupper it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malgrupper: Vec<String>,
    /// The Agenda 2030 goals and targets it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
}

/// Uppföljningskalender in force from a year on (`calendar/<from_year>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CalendarDoc {
    pub from_year: i32,
    pub reports: Vec<ReportPeriod>,
    pub source: Source,
}

/// Målgrupp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MalgruppDoc {
    pub id: String,
    pub name: String,
    pub description: String,
    pub source: Source,
}

/// Process: owner, målgrupper, and its closure once decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessDoc {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub owner: String,
    pub malgrupper: Vec<String>,
    pub source: Source,
    /// The last year it runs and why it was closed, once it has been.
    pub closed: Option<ProcessClosure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessClosure {
    pub last_year: i32,
    pub reason: String,
    pub source: Source,
}

impl ProcessDoc {
    /// The process runs in `year`: it has not been closed with an earlier last year.
    pub fn runs_in(&self, year: i32) -> bool {
        self.closed.as_ref().is_none_or(|c| c.last_year >= year)
    }
}

/// Bidrag: a body's contribution to a process goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContributionDoc {
    pub id: String,
    pub body: String,
    pub goal: String,
    pub process: String,
    pub year: i32,
    pub title: String,
    pub description: String,
    pub namndmal: Option<String>,
    /// For a kommunalförbund: where the decision lies in its own history.
    pub forbund_record: Option<ForbundRecord>,
    pub source: Source,
}

impl GoalDoc {
    /// A goal as adopted, at `level`, for `years`; what only some levels
    /// have (a nämnd, a kind, a perspective, the goals broken down, a
    /// process, målgrupper) left empty for the caller to set. Outcomes
    /// live under their own keys.
    pub(crate) fn adopted(
        id: String,
        level: &str,
        title: String,
        (from_year, to_year): (i32, i32),
        indicators: Vec<Indicator>,
        agenda2030: Vec<String>,
        source: Source,
    ) -> Self {
        GoalDoc {
            id,
            level: level.to_owned(),
            title,
            body: None,
            kind: None,
            perspective: None,
            from_year,
            to_year,
            kf_goals: Vec::new(),
            indicators,
            outcomes: Default::default(),
            outcome_counts: Default::default(),
            source,
            process: None,
            malgrupper: Vec::new(),
            agenda2030,
        }
    }

    /// The latest recorded value of each indicator for its latest period.
    pub fn latest(&self) -> BTreeMap<&str, &OutcomeDoc> {
        self.outcomes
            .iter()
            .filter_map(|(k, v)| {
                let best = v
                    .iter()
                    .max_by(|a, b| a.period.cmp(&b.period).then(a.sequence.cmp(&b.sequence)))?;
                Some((k.as_str(), best))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LifecycleEntry {
    /// given, changed, extended, closed
    pub what: String,
    pub budget_year: i32,
    pub detail: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusEntry {
    pub as_of: NaiveDate,
    pub body: String,
    pub status: UppdragStatus,
    pub reason: Option<String>,
    /// `status_report` or the report kind it came in.
    pub via: String,
    pub source: Source,
}

/// A list's count (`count/<list>`), kept beside its items so that the
/// latest of them are read without walking the list. For a list kept in
/// date order (an uppdrag's statuses) it holds the latest date among its
/// items too: a past view reads the list's tail from that date back,
/// past the items recorded later (JSON: a number, or `[count, date]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListCount {
    Plain(u64),
    Dated(u64, NaiveDate),
}

impl ListCount {
    pub fn items(&self) -> u64 {
        match *self {
            ListCount::Plain(n) | ListCount::Dated(n, _) => n,
        }
    }

    /// The latest date among the items of a list kept in date order.
    pub fn latest(&self) -> Option<NaiveDate> {
        match *self {
            ListCount::Plain(_) => None,
            ListCount::Dated(_, date) => Some(date),
        }
    }
}

/// A list item (an indicator's value, an uppdrag's status) as it was
/// stored: its JSON, checked as JSON when read and written back as it is,
/// for answers that pass items on without looking into them. The stored
/// JSON is the item's type written by `serde_json` (a change of that type
/// bumps the projection version, which rebuilds every item), so it is the
/// JSON the type would write — floats included, since the workspace reads
/// them with serde_json's `float_roundtrip`. Only its JSON syntax is checked
/// when read, and only `serde_json` writes it as itself.
pub struct Stored<T> {
    json: Box<serde_json::value::RawValue>,
    of: std::marker::PhantomData<fn() -> T>,
}

impl<T> Stored<T> {
    /// The item's JSON.
    pub fn json(&self) -> &str {
        self.json.get()
    }
}

impl<T> Clone for Stored<T> {
    fn clone(&self) -> Self {
        Stored {
            json: self.json.clone(),
            of: std::marker::PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Stored<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.json())
    }
}

impl<T> PartialEq for Stored<T> {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl<T> Serialize for Stored<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Stored<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Stored {
            json: Box::<serde_json::value::RawValue>::deserialize(d)?,
            of: std::marker::PhantomData,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Stored<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Uppdrag with its lifecycle and every status report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "UppdragDoc")]
#[serde(bound(deserialize = "S: Deserialize<'de>"))]
// `S` is how its statuses are held: read into `StatusEntry`s, or as stored
// (`Stored`) in an answer that only passes them on (this comment stays out
// of the published schema).
pub struct UppdragDoc<S = StatusEntry> {
    pub id: String,
    pub title: String,
    pub description: String,
    pub to: Vec<String>,
    pub resources: Option<Tkr>,
    pub due: NaiveDate,
    pub given_year: i32,
    /// The KF goals it serves (as given).
    #[serde(default)]
    pub goals: Vec<String>,
    pub closed: Option<String>,
    pub lifecycle: Vec<LifecycleEntry>,
    /// In the order of the dates they speak of (`as_of`), then recorded:
    /// the last is the latest status, whatever order reports came in.
    /// Each lies under its own key (`uppdrag-status/…`); reading an uppdrag
    /// through [`crate::uppdrag`] fills them in (stored, the list is empty);
    /// a plan answered over the network carries the latest
    /// [`crate::OUTCOMES_KEPT`].
    #[serde(default)]
    #[schemars(extend("default" = []))]
    pub status: Vec<S>,
    /// How many statuses are recorded in all (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub status_count: usize,
}

/// A nämnd's plan for a year, with its detaljbudget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamndplanDoc {
    pub body: String,
    pub year: i32,
    pub grunduppdrag: Option<String>,
    pub goals: Vec<String>,
    pub detaljbudget: BTreeMap<String, Tkr>,
    pub sources: Vec<Source>,
}

/// Verksamhetsplan or enhetsplan, current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanDoc {
    pub id: String,
    pub kind: PlanKind,
    pub body: String,
    pub unit: String,
    pub year: i32,
    pub version: u32,
    pub activities: Vec<Activity>,
    pub reported_version: Option<u32>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionEntry {
    pub action: String,
    pub description: String,
    pub source: Source,
}

/// Avvikelse with its actions, escalation and closure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeviationDoc {
    pub id: String,
    pub unit: String,
    pub body: String,
    pub from: DeviationFrom,
    pub sign: DeviationSign,
    pub amount: Option<Tkr>,
    pub value: Option<f64>,
    pub analysis: String,
    pub noticed: NaiveDate,
    pub reported: NaiveDate,
    pub actions: Vec<ActionEntry>,
    pub escalated: Option<Statement>,
    pub atgardsplan: Option<String>,
    pub closed: Option<Statement>,
}

/// Budgetuppföljning, delårsrapport or årsredovisning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportDoc {
    pub body: String,
    pub year: i32,
    pub kind: ReportKind,
    /// `MM-DD` when the calendar has several reports of the kind that year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub through: NaiveDate,
    pub ramar: Vec<RamOutcome>,
    pub goals: Vec<GoalAssessment>,
    pub uppdrag: Vec<UppdragLine>,
    pub atgardsplan: Option<Atgardsplan>,
    pub source: Source,
}

/// Intern kontrollplan with results per control and tertial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ControlPlanDoc {
    pub plan: String,
    pub body: String,
    pub year: i32,
    pub risks: Vec<ScoredRisk>,
    pub controls: Vec<ControlPoint>,
    /// control → tertial → result.
    pub results: BTreeMap<String, BTreeMap<u8, ControlResult>>,
    pub tertial_reports: BTreeMap<u8, String>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindingAction {
    pub action: String,
    pub description: String,
    pub responsible: String,
    pub due: NaiveDate,
    pub source: Source,
}

/// Brist and what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindingDoc {
    pub finding: String,
    pub plan: String,
    pub control: String,
    pub tertial: u8,
    pub description: String,
    pub actions: Vec<FindingAction>,
    pub closed: Option<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplyDoc {
    pub reply: String,
    pub responses: Vec<RecommendationResponse>,
    pub late: bool,
    pub source: Source,
}

/// Granskning and the yttranden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReviewDoc {
    pub review: String,
    pub title: String,
    pub year: i32,
    pub bodies: Vec<String>,
    pub observations: Vec<String>,
    pub recommendations: Vec<Recommendation>,
    pub reply_due: NaiveDate,
    pub replies: BTreeMap<String, ReplyDoc>,
    pub source: Source,
}

/// One line of an entity's audit history: the event with full provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryEntry {
    pub sequence: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub provenance: Provenance,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
    pub idempotency_key: String,
    pub hash: String,
    /// For a rättelse: the event it corrects.
    pub corrects: Option<Uuid>,
    /// For a rättelse: on what ground, why, and which fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionNote>,
}

/// Rättelse: what a rättelse says in an audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorrectionNote {
    /// None for a rättelse recorded before rättelser took effect.
    pub ground: Option<styr_domain::CorrectionGround>,
    pub reason: String,
    /// Each corrected field (JSON Pointer) with its value before and after.
    pub fields: Vec<CorrectedField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorrectedField {
    pub field: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// Behörigheter: what one identity may record, and every grant and
/// revocation with the decision behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccessDoc {
    pub identity: String,
    /// In force now.
    pub access: Vec<styr_domain::Access>,
    /// Every change, in order: (granted?, what, decided by).
    pub changes: Vec<AccessChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccessChange {
    pub granted: bool,
    pub access: styr_domain::Access,
    pub source: Source,
}

/// A published signing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SigningKeyDoc {
    pub key_id: String,
    pub public_key: String,
    pub replaces: Option<String>,
    pub source: Source,
}

/// A signed checkpoint (its signature is checked by `styr verify`, not here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointDoc {
    pub sequence: u64,
    pub head_hash: String,
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
    /// The sequence of the checkpoint event itself.
    pub recorded_at: u64,
}

/// Register: a list of one kind of document, the same for the API
/// (`register:<name>`, [`Register::name`]) and the CLI (`styr register
/// <kommun> <svenskt namn>`, [`Register::swedish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Register {
    Uppdrag,
    Deviation,
    Report,
    InternalControl,
    Finding,
    Review,
    Goal,
    Body,
    Unit,
    Plan,
    Access,
    Intrusion,
    Investment,
    /// Processes with their målgrupper, goals and contributions.
    Process,
    /// Obligations to restore a negative balanskravsresultat.
    Balanskrav,
}

impl Register {
    /// Every register, in the order the CLI lists them.
    pub const ALL: [Register; 15] = [
        Register::Uppdrag,
        Register::Deviation,
        Register::Report,
        Register::InternalControl,
        Register::Finding,
        Register::Review,
        Register::Access,
        Register::Intrusion,
        Register::Investment,
        Register::Goal,
        Register::Body,
        Register::Unit,
        Register::Plan,
        Register::Process,
        Register::Balanskrav,
    ];

    /// The name in the API (`register:<name>`).
    pub fn name(self) -> &'static str {
        // The API names a register by the kind of document it lists.
        self.kind().prefix()
    }

    /// The kind of document the register lists.
    pub fn kind(self) -> DocKind {
        match self {
            Register::Uppdrag => DocKind::Uppdrag,
            Register::Deviation => DocKind::Deviation,
            Register::Report => DocKind::Report,
            Register::InternalControl => DocKind::InternalControl,
            Register::Finding => DocKind::Finding,
            Register::Review => DocKind::Review,
            Register::Goal => DocKind::Goal,
            Register::Body => DocKind::Body,
            Register::Unit => DocKind::Unit,
            Register::Plan => DocKind::Plan,
            Register::Access => DocKind::Access,
            Register::Intrusion => DocKind::Intrusion,
            Register::Investment => DocKind::Investment,
            Register::Process => DocKind::Process,
            Register::Balanskrav => DocKind::Balanskrav,
        }
    }

    /// The name a person types (`styr register vimmerby avvikelser`).
    pub fn swedish(self) -> &'static str {
        match self {
            Register::Uppdrag => "uppdrag",
            Register::Deviation => "avvikelser",
            Register::Report => "rapporter",
            Register::InternalControl => "intern-kontroll",
            Register::Finding => "brister",
            Register::Review => "granskningar",
            Register::Goal => "mal",
            Register::Body => "organ",
            Register::Unit => "enheter",
            Register::Plan => "planer",
            Register::Access => "behorigheter",
            Register::Intrusion => "intrang",
            Register::Investment => "investeringar",
            Register::Process => "processer",
            Register::Balanskrav => "balanskrav",
        }
    }

    /// Other spellings a person may type: with å/ä/ö, or run together.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Register::InternalControl => &["internkontroll", "intern kontroll"],
            Register::Goal => &["mål"],
            Register::Access => &["behörigheter"],
            Register::Intrusion => &["intrång"],
            _ => &[],
        }
    }

    /// The register with this API name.
    pub fn from_name(name: &str) -> Option<Register> {
        Register::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The register a person named: its Swedish name, an alias, or its API
    /// name.
    pub fn from_swedish(name: &str) -> Option<Register> {
        Register::ALL
            .into_iter()
            .find(|r| r.swedish() == name || r.aliases().contains(&name) || r.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::Register;

    /// Items are passed on as stored, so a change of their JSON must
    /// rebuild every stored one: the item types' schemas are pinned beside
    /// the projection version. When this fails, bump `PROJECTION_VERSION`
    /// if the JSON an item writes changed (a field added, renamed, of
    /// another type), then pin the new version and digest.
    #[test]
    fn the_stored_items_shape_is_pinned_to_the_projection_version() {
        use sha2::Digest;
        let schemas = serde_json::to_vec(&[
            schemars::schema_for!(super::OutcomeDoc),
            schemars::schema_for!(super::StatusEntry),
        ])
        .unwrap();
        let digest = hex::encode(sha2::Sha256::digest(&schemas));
        assert_eq!(
            (crate::PROJECTION_VERSION, digest.as_str()),
            (
                14,
                "af2c7fa9353f125351afea17cc6132a65cb5bbadfd197037075905df0c653ffe"
            ),
            "the stored items' JSON shape changed: see this test's comment"
        );
    }

    /// An item passed on as stored is the JSON its type writes back after
    /// reading it: floats of 16–17 digits and extreme exponents (serde_json
    /// reads them exactly only with `float_roundtrip`, which the workspace
    /// turns on), strings with quotes, backslashes and control characters.
    #[test]
    fn a_stored_item_is_written_as_its_type_writes_it_back() {
        let values = [
            15.384615384615385,
            0.1 + 0.2,
            1e-7,
            123_456_789.123_456_79,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            2.0f64.powi(60) / 3.0,
        ];
        let texts = ["Skolverket", "a\"b\\c\n\u{1}/ö", ""];
        for (i, value) in values.into_iter().enumerate() {
            let doc = super::OutcomeDoc {
                goal: "g".into(),
                indicator: "i".into(),
                period: "2026".into(),
                value,
                source: texts[i % texts.len()].into(),
                fetched_at: None,
                sequence: i as u64,
                kolada: (i % 2 == 0).then(|| super::KoladaOrigin {
                    kpi: "N15428".into(),
                    kommunkod: "0884".into(),
                    status: texts[(i + 1) % texts.len()].into(),
                }),
            };
            let stored = serde_json::to_vec(&doc).unwrap();
            let typed: super::OutcomeDoc = serde_json::from_slice(&stored).unwrap();
            let passed: super::Stored<super::OutcomeDoc> = serde_json::from_slice(&stored).unwrap();
            assert_eq!(
                serde_json::to_string(&passed).unwrap(),
                serde_json::to_string(&typed).unwrap(),
                "{value:e}"
            );
            assert_eq!(typed.value.to_bits(), value.to_bits(), "{value:e}");
        }
    }

    #[test]
    fn every_register_is_found_by_each_of_its_names_and_by_no_other() {
        for r in Register::ALL {
            assert_eq!(Register::from_name(r.name()), Some(r));
            assert_eq!(
                r.kind().prefix(),
                r.name(),
                "the API names a register by its kind"
            );
            assert_eq!(Register::from_swedish(r.swedish()), Some(r));
            assert_eq!(Register::from_swedish(r.name()), Some(r));
        }
        let mut names: Vec<&str> = Register::ALL
            .iter()
            .flat_map(|r| [r.name(), r.swedish()])
            .collect();
        names.sort_unstable();
        names.dedup();
        // `uppdrag` and `balanskrav` are each both their API and their
        // Swedish name; every other name is one register's.
        assert_eq!(names.len(), 2 * Register::ALL.len() - 2);
        assert_eq!(
            Register::from_swedish("behörigheter"),
            Some(Register::Access)
        );
        assert_eq!(Register::from_name("avvikelser"), None);
    }
}

/// The kinds of document in a kommun's read models. A document's path is
/// `<kind>/<id>` ([`DocKind::path`]; [`namndplan_path`], [`report_path`]
/// and [`activity_path`] for the ids made of parts), and [`crate::docs`]
/// lists every document of a kind: the fold, the queries, the report, the
/// API and the CLI all address documents through these, never by a path
/// written by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Body,
    Unit,
    Direction,
    Document,
    Budget,
    Balanskrav,
    Investment,
    Goal,
    /// An indicator value, under its goal and indicator.
    Outcome,
    Uppdrag,
    /// An uppdrag's status, under its uppdrag and the date it speaks of.
    UppdragStatus,
    /// How many items a list kept under keys of their own holds (an
    /// indicator's values, an uppdrag's statuses), under the list's path.
    Count,
    Namndplan,
    Plan,
    Activity,
    Deviation,
    Report,
    InternalControl,
    Finding,
    Review,
    Access,
    Intrusion,
    Key,
    Checkpoint,
    /// Val: an election to fullmäktige, by date.
    Election,
    /// Uppföljningskalender, by the year it applies from.
    Calendar,
    Malgrupp,
    Process,
    /// Bidrag to a process goal.
    Contribution,
}

impl DocKind {
    /// The first segment of the kind's paths.
    pub fn prefix(self) -> &'static str {
        match self {
            DocKind::Body => "body",
            DocKind::Unit => "unit",
            DocKind::Direction => "direction",
            DocKind::Document => "document",
            DocKind::Budget => "budget",
            DocKind::Balanskrav => "balanskrav",
            DocKind::Investment => "investment",
            DocKind::Goal => "goal",
            DocKind::Outcome => "outcome",
            DocKind::Uppdrag => "uppdrag",
            DocKind::UppdragStatus => "uppdrag-status",
            DocKind::Count => "count",
            DocKind::Namndplan => "namndplan",
            DocKind::Plan => "plan",
            DocKind::Activity => "activity",
            DocKind::Deviation => "deviation",
            DocKind::Report => "report",
            DocKind::InternalControl => "ic",
            DocKind::Finding => "finding",
            DocKind::Review => "review",
            DocKind::Access => "access",
            DocKind::Intrusion => "intrusion",
            DocKind::Key => "key",
            DocKind::Checkpoint => "checkpoint",
            DocKind::Election => "election",
            DocKind::Calendar => "calendar",
            DocKind::Malgrupp => "malgrupp",
            DocKind::Process => "process",
            DocKind::Contribution => "contribution",
        }
    }

    /// The path of the document with this id, e.g. `uppdrag/u-2026-01`.
    pub fn path(self, id: impl std::fmt::Display) -> String {
        format!("{}/{id}", self.prefix())
    }
}

/// The path of the kommun's own document (name, kommunkod, council).
pub const KOMMUN_PATH: &str = "kommun";

/// A nämnd's nämndplan for a year: `namndplan/<body>/<year>`.
pub fn namndplan_path(body: &str, year: i32) -> String {
    DocKind::Namndplan.path(format_args!("{body}/{year}"))
}

/// A body's follow-up report: `report/<body>/<year>/<kind>`, or
/// `report/<body>/<year>/<kind>-<MM-DD>` for one of several of its kind.
pub fn report_path(
    body: &str,
    year: i32,
    kind: styr_domain::ReportKind,
    period: Option<&str>,
) -> String {
    match period {
        Some(p) => DocKind::Report.path(format_args!("{body}/{year}/{}-{p}", kind.slug())),
        None => DocKind::Report.path(format_args!("{body}/{year}/{}", kind.slug())),
    }
}

/// An activity of a plan: `activity/<plan>/<activity>`.
pub fn activity_path(plan: &str, activity: &str) -> String {
    DocKind::Activity.path(format_args!("{plan}/{activity}"))
}
