//! Value types of the styrmodell.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Amounts are whole thousands of kronor (tkr), as in Swedish budgets.
pub type Tkr = i64;

/// `1 032 357`, with no-break spaces: an amount as Swedish tables write it.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("−{out}")
    } else {
        out
    }
}

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
    /// Kommunalförbund: a body of its own with several member kommuner
    /// (KL 9 kap), led by a förbundsfullmäktige or a direktion. Its
    /// decisions that concern the kommun are recorded in the kommun's
    /// history, decided by the förbund.
    Kommunalforbund,
}

impl BodyKind {
    /// The kind in Swedish, as a message names it.
    pub fn swedish(self) -> &'static str {
        match self {
            BodyKind::Council => "kommunfullmäktige",
            BodyKind::ExecutiveBoard => "kommunstyrelsen",
            BodyKind::Committee => "en nämnd",
            BodyKind::Company => "ett bolag",
            BodyKind::ParentCompany => "ett moderbolag",
            BodyKind::Auditors => "revisorerna",
            BodyKind::Kommunalforbund => "ett kommunalförbund",
        }
    }

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

    /// Bodies whose goals, reports and contributions the kommun records: the
    /// operating ones, and a kommunalförbund (a legal person of its own,
    /// which KF gives no ram, uppdrag or units, and the kommun's revisorer
    /// do not review).
    pub fn takes_part(self) -> bool {
        self.is_operating() || self == BodyKind::Kommunalforbund
    }
}

/// Förbundets organ: the body a kommunalförbund decides through (KL 9 kap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForbundOrgan {
    /// Förbundsfullmäktige, with a förbundsstyrelse.
    Forbundsfullmaktige,
    /// Förbundsdirektion: one organ for both.
    Direktion,
}

impl ForbundOrgan {
    pub fn swedish(self) -> &'static str {
        match self {
            ForbundOrgan::Forbundsfullmaktige => "förbundsfullmäktige",
            ForbundOrgan::Direktion => "förbundsdirektion",
        }
    }
}

/// Kommunalförbund as a member kommun records it: who the members are, the
/// organ it decides through, and — when the förbund keeps its own history
/// on the same platform — the id of that history (its stream), where its
/// decisions are recorded once; a member refers to them by sequence and
/// hash instead of copying them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Forbund {
    /// The member kommuner's kommunkoder (the recording kommun among them).
    pub members: Vec<String>,
    pub organ: ForbundOrgan,
    /// The förbund's own history on the platform (its id, as a kommun's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
}

/// Förbundsordning in brief: a kommunalförbund registered on the platform
/// with a history of its own — its members and the organ it decides
/// through (its `council`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForbundCharter {
    /// The member kommuner's kommunkoder.
    pub members: Vec<String>,
    pub organ: ForbundOrgan,
}

/// Förbundsbeslut: where a förbund's decision is recorded in the förbund's
/// own history — the stream, the sequence and the event's chain hash
/// (`styr verify` checks that the message there has that hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForbundRecord {
    pub stream: String,
    pub sequence: u64,
    /// SHA-256 chain hash of the event at `sequence`, 64 hex digits.
    pub hash: String,
}

/// Organisationsnivå: a unit's level in a förvaltning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    /// Förvaltning (the kommunchef's level in a kommun with one förvaltning).
    Forvaltning,
    /// Sektor: a part of a förvaltning under a sektorschef.
    Sektor,
    /// Område (verksamhetsområde).
    Omrade,
    /// Ansvarsenhet: the unit with its own chef and budget line.
    Ansvarsenhet,
}

impl UnitLevel {
    /// How a person reads it.
    pub fn swedish(self) -> &'static str {
        match self {
            UnitLevel::Forvaltning => "förvaltning",
            UnitLevel::Sektor => "sektor",
            UnitLevel::Omrade => "område",
            UnitLevel::Ansvarsenhet => "ansvarsenhet",
        }
    }
}

/// The deepest a förvaltning's unit tree may go (Götene's four levels).
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

/// Valtyp: an ordinary election to fullmäktige (the whole country, every
/// four years) or an extra val.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElectionKind {
    Ordinary,
    Extra,
}

impl ElectionKind {
    pub fn swedish(self) -> &'static str {
        match self {
            ElectionKind::Ordinary => "ordinarie val",
            ElectionKind::Extra => "extra val",
        }
    }
}

impl Matter {
    /// The matter as a delegationsordning names it.
    pub fn swedish(self) -> &'static str {
        match self {
            Matter::Organisation => "organisation (inrätta enheter)",
            Matter::Detaljbudget => "detaljbudget",
            Matter::UppdragReport => "återrapportering av uppdrag",
            Matter::Plan => "verksamhets- och enhetsplaner",
            Matter::FollowUp => "uppföljning (utfall)",
            Matter::InternalControl => "intern kontroll",
        }
    }
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
    /// The kind in Swedish, as a message names it.
    pub fn swedish(self) -> &'static str {
        match self {
            DocumentKind::Program => "ett program",
            DocumentKind::Plan => "en plan",
            DocumentKind::Strategi => "en strategi",
            DocumentKind::Policy => "en policy",
            DocumentKind::Riktlinje => "en riktlinje",
            DocumentKind::Reglemente => "ett reglemente",
            DocumentKind::Delegationsordning => "en delegationsordning",
            DocumentKind::Bolagsordning => "en bolagsordning",
            DocumentKind::Agardirektiv => "ett ägardirektiv",
        }
    }

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
    /// A Kolada KPI group id (nyckeltalsgrupp, e.g. one of Kolada's Agenda
    /// 2030 groups, `G2KPI92539`) when the indicator follows a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kolada_kpi_group: Option<String>,
    /// The Agenda 2030 goals or targets the indicator measures (`"4"`, `"4.1"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agenda2030: Vec<String>,
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

impl UppdragStatus {
    /// The status in Swedish, as tables show it.
    pub fn swedish(self) -> &'static str {
        match self {
            UppdragStatus::NotStarted => "ej påbörjat",
            UppdragStatus::Ongoing => "pågår",
            UppdragStatus::Done => "klart",
            UppdragStatus::Delayed => "försenat",
        }
    }
}

/// Budgetsteg: which step of the budget process set a figure (a ram, the
/// skattesats, the economic plan, an investment, a RUR disposition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetChange {
    /// Budgetramar: KF's first budget decision for the year (in June, in
    /// Vimmerby), or a budget adopted in one step.
    Budget,
    /// Fastställd budget: KF fastställer the budget (in November), with
    /// skattesats and economic plan (KL 11 kap 9 §).
    Established,
    /// KF's complementary decision in November of an election year.
    Complementary,
    /// Tilläggsbudget: a supplementary decision during the budget year.
    Supplementary,
    /// Ändringsbudget: KF changes a fastställd budget before or during its
    /// year (e.g. a new majority in December after an election).
    Amendment,
}

impl BudgetChange {
    /// The budget itself (budgetramar or fastställd budget), not a change to it.
    pub fn is_adoption(self) -> bool {
        matches!(self, BudgetChange::Budget | BudgetChange::Established)
    }

    /// The step's Swedish name, as tables and reports show it.
    pub fn swedish(self) -> &'static str {
        match self {
            BudgetChange::Budget => "budgetramar",
            BudgetChange::Established => "fastställd budget",
            BudgetChange::Complementary => "kompletterande beslut",
            BudgetChange::Supplementary => "tilläggsbudget",
            BudgetChange::Amendment => "ändringsbudget",
        }
    }
}

/// Budgetsteg as a command states it: which of KF's budget decisions for the
/// year this is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetStage {
    /// Budgetramar: ramar (and goals, uppdrag) for the year and the two plan
    /// years; the budget is fastställd by a later decision.
    #[default]
    Ramar,
    /// Fastställd budget: the budget as the law asks for it, with skattesats
    /// and the three-year economic plan. The year's first budget decision
    /// when a kommun adopts its budget in one step.
    Faststalld,
}

/// Skattesats: the kommunalskatt in kronor and öre per skattekrona, written
/// `22:16` (22 kronor 16 öre per 100 kronor of taxable income).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skattesats {
    ore: u16,
}

impl Skattesats {
    /// From kronor and öre (öre below 100).
    pub fn new(kronor: u16, ore: u16) -> Option<Self> {
        (ore < 100 && kronor < 100).then(|| Skattesats {
            ore: kronor * 100 + ore,
        })
    }

    /// The rate in öre per skattekrona (22:16 → 2216).
    pub fn in_ore(self) -> u16 {
        self.ore
    }
}

impl std::fmt::Display for Skattesats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:02}", self.ore / 100, self.ore % 100)
    }
}

impl std::str::FromStr for Skattesats {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} är ingen skattesats: skriv kronor:öre, t.ex. 22:16");
        let (kr, ore) = s.split_once(':').ok_or_else(bad)?;
        let digits = |t: &str, max: usize| {
            (!t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u16>().ok())
                .flatten()
        };
        match (digits(kr, 2), digits(ore, 2).filter(|_| ore.len() == 2)) {
            (Some(k), Some(o)) => Skattesats::new(k, o).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Skattesats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Skattesats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Skattesats {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Skattesats".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Skattesats: kronor och öre per skattekrona, t.ex. \"22:16\".",
            "type": "string",
            "pattern": "^[0-9]{1,2}:[0-9]{2}$"
        })
    }
}

/// Resultatbudget: one year's planned result, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resultatbudget {
    pub skatteintakter: Tkr,
    /// Generella statsbidrag och utjämning.
    pub generella_statsbidrag: Tkr,
    /// Verksamhetens nettokostnader, avskrivningar included (a positive cost).
    pub verksamhetens_nettokostnader: Tkr,
    /// Finansiella intäkter minus finansiella kostnader.
    pub finansnetto: Tkr,
    /// Årets resultat: skatteintäkter + statsbidrag − nettokostnader + finansnetto.
    pub resultat: Tkr,
}

impl Resultatbudget {
    /// What `resultat` must be.
    pub fn computed(&self) -> Tkr {
        self.skatteintakter
            .saturating_add(self.generella_statsbidrag)
            .saturating_sub(self.verksamhetens_nettokostnader)
            .saturating_add(self.finansnetto)
    }
}

/// Balansbudget: the balance at the year's end, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Balansbudget {
    /// Summa tillgångar.
    pub tillgangar: Tkr,
    pub eget_kapital: Tkr,
    /// Avsättningar och skulder.
    pub skulder: Tkr,
}

/// Finansieringsbudget (kassaflöde): how the year is financed, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finansieringsbudget {
    /// Kassaflöde från den löpande verksamheten.
    pub lopande_verksamhet: Tkr,
    /// Kassaflöde från investeringsverksamheten (negative when investing).
    pub investeringsverksamhet: Tkr,
    /// Kassaflöde från finansieringsverksamheten (loans taken, repaid).
    pub finansieringsverksamhet: Tkr,
    /// Årets förändring av likvida medel: the three flows summed.
    pub forandring_likvida_medel: Tkr,
}

/// Plan för ekonomin: one year of the budget's three-year economic plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconomicYear {
    pub year: i32,
    pub resultat: Resultatbudget,
    pub balans: Balansbudget,
    pub finansiering: Finansieringsbudget,
}

/// Balanskravet i budgeten (KL 11 kap 5, 12–13 §§): the synnerliga skäl
/// for a budgeted negative result, the plan that restores negative results
/// (reglering), and the negative results KF decides, for synnerliga skäl,
/// not to restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetBalanskrav {
    /// Why the budget may show a negative result (KL 11 kap 5 §).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synnerliga_skal: Option<String>,
    /// How negative results — this budget's own, or a balanskravsresultat
    /// an årsredovisning reported — are restored, within three years.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reglering: Vec<Reglering>,
    /// Negative balanskravsresultat not to be restored (KL 11 kap 13 §).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avstar: Vec<AvstarReglering>,
}

impl BudgetBalanskrav {
    /// What the budget plans to restore of the negative result of `of_year`.
    pub fn planned_for(&self, of_year: i32) -> Tkr {
        self.reglering
            .iter()
            .filter(|r| r.of_year == of_year)
            .map(|r| r.amount)
            .fold(0, Tkr::saturating_add)
    }
}

/// Reglering: part of the negative result of `of_year` restored in `year`, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reglering {
    pub of_year: i32,
    pub year: i32,
    pub amount: Tkr,
}

/// Avstående från reglering: KF decides, for synnerliga skäl, that the
/// negative balanskravsresultat of `of_year` is not restored (KL 11 kap 13 §).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvstarReglering {
    pub of_year: i32,
    pub reason: String,
}

/// An amount for one year, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YearAmount {
    pub year: i32,
    pub amount: Tkr,
}

/// Investeringsprojekt: one project of the investeringsbudget, with its
/// total cost and the amounts budgeted per year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Investment {
    pub id: String,
    /// The nämnd (or KS, bolag) that carries it out.
    pub body: String,
    pub title: String,
    /// Total utgift for the whole project, in tkr.
    pub total: Tkr,
    pub start_year: i32,
    pub finish_year: i32,
    /// Budgeted per year (the budget year and plan years it touches).
    pub years: Vec<YearAmount>,
}

impl Investment {
    /// The project after a budget decision restates it. A budget (its
    /// budgetramar or its fastställande, `change` [`BudgetChange::is_adoption`])
    /// governs its three years: it gives their amounts, and a year it leaves
    /// out is no longer budgeted. A change to a budget (tilläggs-,
    /// kompletterande or ändringsbudget) replaces only the years it names.
    /// Years outside what the decision governs stay as earlier decisions
    /// gave them.
    pub fn restated(
        &self,
        newer: &Investment,
        budget_year: i32,
        change: BudgetChange,
    ) -> Investment {
        let governed = |y: i32| {
            if change.is_adoption() {
                (budget_year..=budget_year.saturating_add(2)).contains(&y)
            } else {
                newer.years.iter().any(|n| n.year == y)
            }
        };
        let mut years: Vec<YearAmount> = self
            .years
            .iter()
            .filter(|y| !governed(y.year))
            .cloned()
            .chain(newer.years.iter().cloned())
            .collect();
        years.sort_by_key(|y| y.year);
        Investment {
            years,
            ..newer.clone()
        }
    }
}

/// Resultatutjämningsreserv (RUR): what a budget sets aside to the reserve
/// or draws from it in one year, under KF's riktlinjer for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RurDisposition {
    pub year: i32,
    /// Reservering till reserven, in tkr.
    #[serde(default)]
    pub reservation: Tkr,
    /// Disposition (uttag) ur reserven, in tkr.
    #[serde(default)]
    pub disposition: Tkr,
    /// The styrdokument with KF's riktlinjer for the RUR (KL 11 kap 14 §).
    pub riktlinjer: String,
}

/// Investeringsuppföljning: an investment's outcome in a report, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestmentOutcome {
    pub investment: String,
    /// Outcome for the period the report covers.
    pub outcome: Tkr,
    /// Forecast for the whole year (delårsrapport, budgetuppföljning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Tkr>,
}

/// Balanskravsutredning: the year's result as the balanskrav judges it,
/// before and after the resultatutjämningsreserv, in tkr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Balanskravsutredning {
    /// Årets resultat (a forecast in a delårsrapport).
    pub arets_resultat: Tkr,
    /// Justeringar: realisationsvinster (negative) and other items the
    /// balanskrav does not count.
    #[serde(default)]
    pub justeringar: Tkr,
    /// Balanskravsresultat: årets resultat + justeringar.
    pub balanskravsresultat: Tkr,
    /// Reservering till RUR.
    #[serde(default)]
    pub till_rur: Tkr,
    /// Disposition ur RUR.
    #[serde(default)]
    pub fran_rur: Tkr,
    /// Balanskravsresultat efter RUR: balanskravsresultat − till_rur + fran_rur.
    pub efter_rur: Tkr,
    /// KF's riktlinjer for the RUR, when the reserve is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riktlinjer: Option<String>,
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

/// Ett Kolada-värde: one row of Kolada's API (one nyckeltal, kommun, year
/// and gender), as the API spells its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KoladaRow {
    /// Nyckeltalets id, e.g. `N01951`.
    pub kpi: String,
    /// The kommunkod, e.g. `0884`.
    pub municipality: String,
    /// The year.
    pub period: i32,
    /// `T` (totalt), `K` (kvinnor) or `M` (män).
    pub gender: String,
    /// Kolada's flag for a missing or preliminary value; empty when none.
    #[serde(default)]
    pub status: String,
    /// The value; none when Kolada has none (then `status` says why).
    pub value: Option<f64>,
}

/// An indicator a Kolada value belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorRef {
    pub goal: String,
    pub indicator: String,
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
    /// An investment project's budget for a year.
    Investment {
        investment: String,
        year: i32,
    },
}

impl DeviationFrom {
    /// What the deviation deviates from, in Swedish words.
    pub fn swedish(&self) -> String {
        match self {
            DeviationFrom::Goal { goal } => format!("mål {goal}"),
            DeviationFrom::Indicator { goal, indicator } => {
                format!("indikator {indicator} ({goal})")
            }
            DeviationFrom::Uppdrag { uppdrag } => format!("uppdrag {uppdrag}"),
            DeviationFrom::Ram { body, year } => format!("ram {} {year}", body.to_uppercase()),
            DeviationFrom::Detaljbudget { body, year, unit } => {
                format!("detaljbudget {} {year}, {unit}", body.to_uppercase())
            }
            DeviationFrom::Investment { investment, year } => {
                format!("investering {investment} {year}")
            }
        }
    }
}

/// Negative or positive deviation (positive ones are analysed too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviationSign {
    Negative,
    Positive,
}

/// Uppföljningskalender: one report of a kommun's follow-up calendar —
/// which report, the last day of the period it covers (`MM-DD`), and how
/// many days after that it is to be adopted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportPeriod {
    pub kind: ReportKind,
    /// The period's last day in the year, `MM-DD` (e.g. `08-31`).
    pub through: String,
    /// Days after the period's end by which the report is adopted.
    pub due_days: u16,
}

impl ReportPeriod {
    /// (month, day) of `through`, when it is a day every year has.
    pub fn month_day(&self) -> Option<(u32, u32)> {
        let (m, d) = self.through.split_once('-')?;
        let ok = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
        if !ok(m) || !ok(d) {
            return None;
        }
        let (m, d) = (m.parse().ok()?, d.parse().ok()?);
        // 2001 is not a leap year: 29 February is not a day every year has.
        chrono::NaiveDate::from_ymd_opt(2001, m, d).map(|_| (m, d))
    }

    /// The period's last day in `year`.
    pub fn through_in(&self, year: i32) -> Option<chrono::NaiveDate> {
        let (m, d) = self.month_day()?;
        chrono::NaiveDate::from_ymd_opt(year, m, d)
    }

    /// The last day to adopt the report for `year`.
    pub fn due_in(&self, year: i32) -> Option<chrono::NaiveDate> {
        self.through_in(year)?
            .checked_add_days(chrono::Days::new(u64::from(self.due_days)))
    }
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

    /// The last day the report covers, in `year`, in the calendar a kommun
    /// has when it has decided none of its own (Vimmerby's).
    pub fn through(self, year: i32) -> Option<chrono::NaiveDate> {
        let (m, d) = match self {
            ReportKind::Budgetuppfoljning => (4, 30),
            ReportKind::Delarsrapport => (8, 31),
            ReportKind::Arsredovisning => (12, 31),
        };
        chrono::NaiveDate::from_ymd_opt(year, m, d)
    }

    /// The report's Swedish name, as tables show it.
    pub fn swedish(self) -> &'static str {
        match self {
            ReportKind::Budgetuppfoljning => "budgetuppföljning",
            ReportKind::Delarsrapport => "delårsrapport",
            ReportKind::Arsredovisning => "årsredovisning",
        }
    }

    /// The plural, as in "tre budgetuppföljningar".
    pub fn swedish_plural(self) -> &'static str {
        match self {
            ReportKind::Budgetuppfoljning => "budgetuppföljningar",
            ReportKind::Delarsrapport => "delårsrapporter",
            ReportKind::Arsredovisning => "årsredovisningar",
        }
    }

    /// Does the report carry a full-year forecast?
    pub fn has_forecast(self) -> bool {
        self != ReportKind::Arsredovisning
    }
}

/// Målnivå: whether a goal is one of KF's övergripande mål or a nämndmål.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalLevel {
    /// Övergripande mål (KF).
    Kf,
    Namndmal,
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

impl RiskResponse {
    /// The response in Swedish.
    pub fn swedish(self) -> &'static str {
        match self {
            RiskResponse::Accept => "acceptera",
            RiskResponse::Control => "kontrollera",
            RiskResponse::Reduce => "reducera",
        }
    }
}

impl DeviationSign {
    /// The sign in Swedish.
    pub fn swedish(self) -> &'static str {
        match self {
            DeviationSign::Negative => "negativ",
            DeviationSign::Positive => "positiv",
        }
    }
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

/// Rättelsegrund: what förvaltningslagen (2017:900) 36 § lets a decision
/// be corrected for — an obvious error from a skrivfel, a räknefel or a
/// similar förbiseende.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionGround {
    Skrivfel,
    Raknefel,
    Forbiseende,
}

impl CorrectionGround {
    /// How a person reads it.
    pub fn swedish(self) -> &'static str {
        match self {
            CorrectionGround::Skrivfel => "skrivfel",
            CorrectionGround::Raknefel => "räknefel",
            CorrectionGround::Forbiseende => "liknande förbiseende",
        }
    }
}

/// Ansvar: a nämnd a unit's verksamhet answers to, for one verksamhet. A
/// unit in one förvaltning (organisation: who employs and leads) may answer
/// to several nämnder (responsibility), each for its own verksamhet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ansvar {
    pub namnd: String,
    /// What it answers to that nämnd for, e.g. "Förskola".
    pub verksamhet: String,
}

/// The nämnder a unit of `own`'s förvaltning answers to, in the order
/// decided, each once: `own` when `serves` is empty.
pub fn answers_to<'a>(own: &'a str, serves: &'a [Ansvar]) -> Vec<&'a str> {
    if serves.is_empty() {
        return vec![own];
    }
    let mut out: Vec<&str> = Vec::new();
    for a in serves {
        if !out.contains(&a.namnd.as_str()) {
            out.push(&a.namnd);
        }
    }
    out
}
