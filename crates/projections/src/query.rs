//! Questions the read models answer, over any [`KvRead`] (live sled or an
//! as-of fold in memory).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use styr_domain::{BodyKind, DirectionKind, ReportKind};
use styr_store::KommunId;

use crate::apply::{histories_prefix, history_prefix, view_key};
use crate::docs::*;
use crate::kv::KvRead;
use crate::ProjectionError;

type R<T> = Result<T, ProjectionError>;

/// Every document of one kind, in id order.
pub fn docs<T: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    kind: DocKind,
) -> R<Vec<T>> {
    kv.scan(&view_key(kommun.as_str(), &kind.path("")))?
        .into_iter()
        .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
        .collect()
}

/// One document by its path (`uppdrag/u-2026-01`, `namndplan/bun/2026`).
pub fn doc<T: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    path: &str,
) -> R<Option<T>> {
    match kv.get(&view_key(kommun.as_str(), path))? {
        Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
        None => Ok(None),
    }
}

/// How many of an indicator's values a service's answer carries (the
/// latest recorded); the rest page by page through the `outcomes` query.
pub const OUTCOMES_KEPT: usize = 12;

/// Which items of a list kept under keys of its own a document is read
/// with: an indicator's recorded values, an uppdrag's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcomes {
    /// Every value (reports, the CLI's own reading).
    Every,
    /// The latest `n` recorded, with the count of all: what an answer over
    /// the network carries, so it stays bounded however busy an indicator.
    Latest(usize),
}

/// Where an indicator's values lie, one key per value in recording order.
fn outcomes_prefix(kommun: &KommunId, goal: &str, indicator: &str) -> String {
    view_key(
        kommun.as_str(),
        &DocKind::Outcome.path(format_args!("{goal}/{indicator}/")),
    )
}

/// Every KF goal, nämndmål and processmål with the values recorded for its
/// indicators (the values live under their own keys, `outcome/…`) and
/// their counts.
pub fn goals(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> R<Vec<GoalDoc>> {
    goals_with(kv, kommun, Outcomes::Every)
}

/// [`goals`], with every value or only the latest of each indicator.
pub fn goals_with(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    outcomes: Outcomes,
) -> R<Vec<GoalDoc>> {
    goals_where(kv, kommun, outcomes, |_| true)
}

/// The goals `keep` keeps, their values read as [`goals_with`] reads them
/// (only theirs).
fn goals_where(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    outcomes: Outcomes,
    keep: impl Fn(&GoalDoc) -> bool,
) -> R<Vec<GoalDoc>> {
    let mut goals: Vec<GoalDoc> = docs(kv, kommun, DocKind::Goal)?;
    goals.retain(keep);
    match outcomes {
        Outcomes::Every => with_every_outcome(kv, kommun, &mut goals)?,
        Outcomes::Latest(n) => with_latest_outcomes(kv, kommun, &mut goals, n)?,
    }
    Ok(goals)
}

/// Gives each goal every value recorded for it, by indicator, and their
/// counts, read from the goal's own keys (`outcome/<goal>/…`): a plan
/// reads the values of its year's goals only.
fn with_every_outcome(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    goals: &mut [GoalDoc],
) -> R<()> {
    for g in goals {
        let prefix = view_key(
            kommun.as_str(),
            &DocKind::Outcome.path(format_args!("{}/", g.id)),
        );
        let mut outcomes: BTreeMap<String, Vec<OutcomeDoc>> = BTreeMap::new();
        for (_, v) in kv.scan(&prefix)? {
            let o: OutcomeDoc = serde_json::from_slice(&v)?;
            outcomes.entry(o.indicator.clone()).or_default().push(o);
        }
        if !outcomes.is_empty() {
            g.outcome_counts = outcomes.iter().map(|(i, v)| (i.clone(), v.len())).collect();
            g.outcomes = outcomes;
        }
    }
    Ok(())
}

/// How many items the list at `list` holds (its count, kept beside it).
fn count_of(kv: &(impl KvRead + ?Sized), kommun: &KommunId, list: &str) -> R<usize> {
    Ok(doc::<ListCount>(kv, kommun, &DocKind::Count.path(list))?.map_or(0, |c| c.items() as usize))
}

/// The last `n` items under `prefix`, decoded.
fn last<T: DeserializeOwned>(kv: &(impl KvRead + ?Sized), prefix: &str, n: usize) -> R<Vec<T>> {
    kv.scan_last(prefix, n)?
        .into_iter()
        .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
        .collect()
}

/// Gives each goal the latest `n` recorded values of each of its
/// indicators and the count of all (read from the end of each indicator's
/// keys and its count, so a busy indicator costs no more than a quiet one).
pub(crate) fn with_latest_outcomes<O: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    goals: &mut [GoalDoc<O>],
    n: usize,
) -> R<()> {
    for g in goals {
        for i in &g.indicators {
            let list = DocKind::Outcome.path(format_args!("{}/{}", g.id, i.id));
            let total = count_of(kv, kommun, &list)?;
            if total == 0 {
                continue;
            }
            let values = last(kv, &outcomes_prefix(kommun, &g.id, &i.id), n)?;
            g.outcomes.insert(i.id.clone(), values);
            g.outcome_counts.insert(i.id.clone(), total);
        }
    }
    Ok(())
}

/// Gives each uppdrag its latest `n` statuses (by date) and the count of
/// all.
pub(crate) fn with_latest_statuses<S: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    uppdrag: &mut [UppdragDoc<S>],
    n: usize,
) -> R<()> {
    for u in uppdrag {
        u.status_count = count_of(kv, kommun, &DocKind::UppdragStatus.path(&u.id))?;
        u.status = if u.status_count == 0 {
            Vec::new()
        } else {
            last(kv, &statuses_prefix(kommun, &u.id), n)?
        };
    }
    Ok(())
}

/// One page of an uppdrag's statuses, in date order, then recording order.
pub fn statuses_page(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    uppdrag: &str,
    after: Option<&str>,
    limit: usize,
) -> R<Page<StatusEntry>> {
    page_of(kv, &statuses_prefix(kommun, uppdrag), after, limit)
}

/// Every uppdrag with its statuses (each under its own key,
/// `uppdrag-status/<uppdrag>/<as of>/…`, in date order, then recording
/// order), in id order.
pub fn uppdrag(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> R<Vec<UppdragDoc>> {
    uppdrag_with(kv, kommun, Outcomes::Every)
}

/// [`uppdrag`] with every status, or only the latest `n` (by date).
pub fn uppdrag_with(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    statuses: Outcomes,
) -> R<Vec<UppdragDoc>> {
    uppdrag_where(kv, kommun, statuses, |_| true)
}

/// The uppdrag `keep` keeps, their statuses read as [`uppdrag_with`] reads
/// them (only theirs).
fn uppdrag_where(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    statuses: Outcomes,
    keep: impl Fn(&UppdragDoc) -> bool,
) -> R<Vec<UppdragDoc>> {
    let mut uppdrag: Vec<UppdragDoc> = docs(kv, kommun, DocKind::Uppdrag)?;
    uppdrag.retain(keep);
    match statuses {
        Outcomes::Every => with_statuses(kv, kommun, &mut uppdrag)?,
        Outcomes::Latest(n) => with_latest_statuses(kv, kommun, &mut uppdrag, n)?,
    }
    Ok(uppdrag)
}

/// Where an uppdrag's statuses lie, in date order, then recording order.
fn statuses_prefix(kommun: &KommunId, id: &str) -> String {
    view_key(
        kommun.as_str(),
        &DocKind::UppdragStatus.path(format_args!("{id}/")),
    )
}

/// One uppdrag by id, with its statuses.
pub fn uppdrag_one(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    id: &str,
) -> R<Option<UppdragDoc>> {
    let Some(mut u) = doc::<UppdragDoc>(kv, kommun, &DocKind::Uppdrag.path(id))? else {
        return Ok(None);
    };
    with_statuses(kv, kommun, std::slice::from_mut(&mut u))?;
    Ok(Some(u))
}

/// Gives each uppdrag its statuses.
fn with_statuses(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    uppdrag: &mut [UppdragDoc],
) -> R<()> {
    for u in uppdrag {
        u.status = kv
            .scan(&statuses_prefix(kommun, &u.id))?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v))
            .collect::<Result<_, _>>()?;
        u.status_count = u.status.len();
    }
    Ok(())
}

/// Cuts a page read one item long to `limit` items; where the next page
/// begins (the last kept item's key after its list's prefix) when there
/// was that one more item, so the last page says it is the last.
fn next_after(page: &mut Vec<(String, Vec<u8>)>, prefix: &str, limit: usize) -> Option<String> {
    if page.len() <= limit || limit == 0 {
        return None;
    }
    page.truncate(limit);
    page.last().map(|(k, _)| k[prefix.len()..].to_owned())
}

/// One page of a list: its items, and where the next page begins (`None`
/// on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

fn page_of<T: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> R<Page<T>> {
    let mut raw = kv.scan_page(prefix, after, limit.saturating_add(1))?;
    let next = next_after(&mut raw, prefix, limit);
    let items = raw
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v))
        .collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// One page of a list read whole (one computed from several documents):
/// the items whose `key` sorts after `after`, in key order.
pub fn page_in_memory<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    after: Option<&str>,
    limit: usize,
) -> Page<T> {
    items.sort_by_key(|item| key(item));
    let mut items: Vec<T> = items
        .into_iter()
        .filter(|item| after.is_none_or(|a| key(item).as_str() > a))
        .collect();
    let next = (items.len() > limit && limit > 0).then(|| key(&items[limit - 1]));
    items.truncate(limit);
    Page { items, next }
}

/// One page of an indicator's values, in recording order, after the
/// cursor `after` (a previous page's `next`).
pub fn outcomes_page(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    goal: &str,
    indicator: &str,
    after: Option<&str>,
    limit: usize,
) -> R<Page<OutcomeDoc>> {
    page_of(kv, &outcomes_prefix(kommun, goal, indicator), after, limit)
}

/// One page of an entity's revisionsspår, in stream order.
pub fn history_page(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    path: &str,
    after: Option<&str>,
    limit: usize,
) -> R<Page<HistoryEntry>> {
    page_of(kv, &history_prefix(kommun.as_str(), path), after, limit)
}

/// One page of the documents of one kind, in id order.
pub fn docs_page<T: DeserializeOwned>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    kind: DocKind,
    after: Option<&str>,
    limit: usize,
) -> R<Page<T>> {
    page_of(kv, &view_key(kommun.as_str(), &kind.path("")), after, limit)
}

/// Revisionsspår: every event that touched the entity at `path`, in order,
/// with full provenance.
pub fn history(kv: &(impl KvRead + ?Sized), kommun: &KommunId, path: &str) -> R<Vec<HistoryEntry>> {
    kv.scan(&history_prefix(kommun.as_str(), path))?
        .into_iter()
        .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
        .collect()
}

/// Every audit-history line of the kommun with the entity it belongs to
/// (`uppdrag/u-2026-01`, …), entity by entity, each in stream order; an
/// event that touched several entities has a line in each.
pub fn histories(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> R<Vec<(String, HistoryEntry)>> {
    let prefix = &histories_prefix(kommun.as_str());
    kv.scan(prefix)?
        .into_iter()
        .map(|(key, value)| {
            let entity = key[prefix.len()..]
                .rsplit_once('/')
                .map_or(String::new(), |(path, _)| path.to_owned());
            Ok((entity, serde_json::from_slice(&value)?))
        })
        .collect()
}

/// A nämnd's (or KS's, or a bolag's) part of the plan for a year.
// `G` is how its goals are held: as documents, or (in a kept plan) as
// `Part`s written once (this comment stays out of the published schema).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "NamndView")]
pub struct NamndView<G = GoalDoc> {
    pub body: BodyDoc,
    pub ram: Option<i64>,
    pub plan: Option<NamndplanDoc>,
    pub goals: Vec<G>,
    pub plans: Vec<PlanDoc>,
}

/// A live plan answer kept between writes (`Projector::plan`): the plan
/// with its goals and uppdrag as [`crate::Part`]s, whose JSON was written
/// when they were read — a plan of a large kommun is about a megabyte of
/// JSON, nearly all of it theirs, so writing the answer is mostly copying.
#[derive(Debug)]
pub struct KeptPlan {
    view: PlanView<crate::Part<GoalAnswer>, crate::Part<UppdragAnswer>>,
    /// About how long its JSON is (the parts' and a margin for the rest).
    size: usize,
}

impl KeptPlan {
    pub(crate) fn new(view: PlanView<crate::Part<GoalAnswer>, crate::Part<UppdragAnswer>>) -> Self {
        let goals = |goals: &[crate::Part<GoalAnswer>]| -> usize {
            goals.iter().map(|g| g.json().len() + 1).sum()
        };
        let size = goals(&view.kf_goals)
            + view.namnder.iter().map(|n| goals(&n.goals)).sum::<usize>()
            + view
                .processes
                .iter()
                .map(|p| goals(&p.goals))
                .sum::<usize>()
            + view
                .uppdrag
                .iter()
                .map(|u| u.json().len() + 1)
                .sum::<usize>()
            + (64 << 10);
        KeptPlan { view, size }
    }

    /// The answer as JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = Vec::with_capacity(self.size);
        serde_json::to_writer(&mut out, &self.view)?;
        // serde_json writes UTF-8 only; the error is there for the types.
        String::from_utf8(out).map_err(<serde_json::Error as serde::ser::Error>::custom)
    }
}

/// A plan as a query answers it: kept between writes (the live plan), or
/// built for this answer (as of a date, the CLI). Only JSON writes a kept
/// plan as itself: its parts are `RawValue`s, which any other serializer
/// would write as maps around strings.
#[derive(Debug, Clone)]
pub enum PlanAnswer {
    Kept(std::sync::Arc<KeptPlan>),
    Built(Box<PlanView>),
    /// Built for this answer with the latest values as stored
    /// ([`plan_answer`]).
    Answered(Box<PlanAnswerView>),
}

impl PlanAnswer {
    /// About how long the answer's JSON is, where that is known without
    /// writing it (a kept plan); 0 otherwise.
    pub fn json_len_hint(&self) -> usize {
        match self {
            PlanAnswer::Kept(kept) => kept.size,
            PlanAnswer::Built(_) | PlanAnswer::Answered(_) => 0,
        }
    }
}

impl Serialize for PlanAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PlanAnswer::Kept(kept) => kept.view.serialize(serializer),
            PlanAnswer::Built(view) => view.serialize(serializer),
            PlanAnswer::Answered(view) => view.serialize(serializer),
        }
    }
}

/// The view's schema: either way the JSON is the view's.
impl schemars::JsonSchema for PlanAnswer {
    fn inline_schema() -> bool {
        <PlanView as schemars::JsonSchema>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <PlanView as schemars::JsonSchema>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <PlanView as schemars::JsonSchema>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <PlanView as schemars::JsonSchema>::json_schema(generator)
    }
}

/// Gällande planer: the budget and everything below it for one year.
// `G` and `U` are how goals and uppdrag are held: as documents, or (in a
// plan kept between writes, `Projector::plan`) as `Part`s written once and
// kept until a write touches them; the JSON is the same (this comment stays
// out of the published schema).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "PlanView")]
pub struct PlanView<G = GoalDoc, U = UppdragDoc> {
    pub year: i32,
    /// The budget whose years include `year` (the latest such).
    pub budget: Option<BudgetDoc>,
    /// KF goals in force for the year, with their outcomes (every one, or
    /// the latest of each indicator in an answer over the network).
    pub kf_goals: Vec<G>,
    pub namnder: Vec<NamndView<G>>,
    /// Uppdrag of the year: given by then, not closed by KF in an earlier
    /// year's budget, and either due during or after it or still open
    /// however late (kvarvarande).
    pub uppdrag: Vec<U>,
    /// The uppdrag above whose deadline passed before the year began and
    /// that KF has not closed: förfallna, shown until KF closes them.
    pub overdue: Vec<String>,
    /// Investments with an amount budgeted for the year, with their follow-up.
    pub investments: Vec<InvestmentDoc>,
    /// The year's balanskravsutredningar, once reported.
    pub balanskrav: Option<BalanskravDoc>,
    /// Processes running in the year, with their goals in force and the
    /// year's contributions.
    pub processes: Vec<crate::ProcessView<G>>,
}

pub fn plan(kv: &(impl KvRead + ?Sized), kommun: &KommunId, year: i32) -> R<PlanView> {
    plan_with(kv, kommun, year, Outcomes::Every)
}

/// [`plan`], its goals read with every value or only the latest.
pub fn plan_with(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    outcomes: Outcomes,
) -> R<PlanView> {
    let goals = goals_where(kv, kommun, outcomes, |g| goal_in_plan_of(g, year))?;
    let uppdrag = uppdrag_where(kv, kommun, outcomes, |u| uppdrag_in_plan_of(u, year))?;
    plan_of(kv, kommun, year, goals, uppdrag)
}

/// A goal as an answer over the network carries it: each indicator's
/// latest [`OUTCOMES_KEPT`] values as stored.
pub type GoalAnswer = GoalDoc<Stored<OutcomeDoc>>;

/// An uppdrag as an answer over the network carries it: its latest
/// [`OUTCOMES_KEPT`] statuses as stored.
pub type UppdragAnswer = UppdragDoc<Stored<StatusEntry>>;

/// The plan as an answer over the network carries it.
pub type PlanAnswerView = PlanView<GoalAnswer, UppdragAnswer>;

/// The plan for `year` as a service answers it (the same JSON as
/// [`plan_with`] and [`Outcomes::Latest`]`(`[`OUTCOMES_KEPT`]`)`): the
/// latest values and statuses passed on as stored, not read into their
/// types and written again.
pub fn plan_answer(kv: &(impl KvRead + ?Sized), kommun: &KommunId, year: i32) -> R<PlanAnswerView> {
    let mut goals: Vec<GoalAnswer> = docs(kv, kommun, DocKind::Goal)?;
    goals.retain(|g| goal_in_plan_of(g, year));
    with_latest_outcomes(kv, kommun, &mut goals, OUTCOMES_KEPT)?;
    let mut uppdrag: Vec<UppdragAnswer> = docs(kv, kommun, DocKind::Uppdrag)?;
    uppdrag.retain(|u| uppdrag_in_plan_of(u, year));
    with_latest_statuses(kv, kommun, &mut uppdrag, OUTCOMES_KEPT)?;
    plan_of(kv, kommun, year, goals, uppdrag)
}

/// Whether a goal is in the plan for `year`: in force in the year (a KF
/// goal, a process's goal, a nämndmål broken down from one) or a nämnd's
/// goal set for it — every way [`plan_of`] takes goals in. It reads the
/// goal's document alone, so a plan reads the values of its year's goals
/// only, not of every goal of earlier mandate periods.
pub(crate) fn goal_in_plan_of<O>(g: &GoalDoc<O>, year: i32) -> bool {
    (g.from_year..=g.to_year).contains(&year) || g.from_year == year
}

/// Whether an uppdrag belongs in the plan for `year`, as the year saw it:
/// given by then, not closed in an earlier year's budget (KF closes an
/// uppdrag in a budget decision, for that budget's year; a later closure
/// does not rewrite earlier years), and due in the year or later, or
/// overdue by then. It reads the uppdrag's document alone, so a plan built
/// whole reads statuses only for its year's uppdrag, not for every uppdrag
/// the kommun ever gave. [`plan_of`] takes in exactly these.
pub(crate) fn uppdrag_in_plan_of<S>(u: &UppdragDoc<S>, year: i32) -> bool {
    let year_begins = NaiveDate::from_ymd_opt(year, 1, 1);
    u.given_year <= year
        && closed_in(u).is_none_or(|closed| closed >= year)
        && (year_begins.is_some_and(|b| u.due >= b) || overdue_by(u, year))
}

/// The budget year of the decision that closed the uppdrag, if any did.
fn closed_in<S>(u: &UppdragDoc<S>) -> Option<i32> {
    u.lifecycle
        .iter()
        .filter(|l| l.what == "closed")
        .map(|l| l.budget_year)
        .min()
}

/// Whether the uppdrag was overdue when `year` began: due before then and
/// not closed in that year's budget or an earlier one.
fn overdue_by<S>(u: &UppdragDoc<S>, year: i32) -> bool {
    closed_in(u).is_none_or(|closed| closed > year)
        && NaiveDate::from_ymd_opt(year, 1, 1).is_some_and(|b| u.due < b)
}

/// The plan for `year` around the kommun's goals and uppdrag — `year`'s at
/// least: a plan built whole passes only those, a kept plan every part it
/// holds whole —, read with their values already (as documents, or as
/// parts kept between writes); the rest is read here.
pub(crate) fn plan_of<G, U, O, S>(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    goals: Vec<G>,
    uppdrag: Vec<U>,
) -> R<PlanView<G, U>>
where
    G: Borrow<GoalDoc<O>> + Clone,
    U: Borrow<UppdragDoc<S>>,
{
    let budget = docs::<BudgetDoc>(kv, kommun, DocKind::Budget)?
        .into_iter()
        .filter(|b| (b.year..=b.year + 2).contains(&year))
        .max_by_key(|b| b.year);
    let plans: Vec<PlanDoc> = docs(kv, kommun, DocKind::Plan)?;
    let mut namnder = Vec::new();
    for body in docs::<BodyDoc>(kv, kommun, DocKind::Body)? {
        if matches!(body.kind, BodyKind::Council | BodyKind::Auditors) {
            continue;
        }
        let ram = budget
            .as_ref()
            .and_then(|b| b.ramar.get(&body.id))
            .and_then(|r| r.get(&year))
            .copied();
        let plan: Option<NamndplanDoc> = doc(kv, kommun, &namndplan_path(&body.id, year))?;
        let goals = goals
            .iter()
            .filter(|g| {
                let g: &GoalDoc<O> = (*g).borrow();
                g.body.as_deref() == Some(&body.id) && g.from_year == year
            })
            .cloned()
            .collect();
        let plans = plans
            .iter()
            .filter(|p| p.body == body.id && p.year == year)
            .cloned()
            .collect();
        namnder.push(NamndView {
            body,
            ram,
            plan,
            goals,
            plans,
        });
    }
    let uppdrag: Vec<U> = uppdrag
        .into_iter()
        .filter(|u| uppdrag_in_plan_of(u.borrow(), year))
        .collect();
    let overdue = uppdrag
        .iter()
        .map(|u| u.borrow())
        .filter(|u| overdue_by(u, year))
        .map(|u| u.id.clone())
        .collect();
    let investments = docs::<InvestmentDoc>(kv, kommun, DocKind::Investment)?
        .into_iter()
        .filter(|i| i.budget_for(year).is_some())
        .collect();
    let balanskrav = doc(kv, kommun, &DocKind::Balanskrav.path(year))?;
    let processes = crate::crosscut::processes_in(kv, kommun, &goals, Some(year))?;
    Ok(PlanView {
        year,
        processes,
        investments,
        balanskrav,
        budget,
        kf_goals: goals
            .into_iter()
            .filter(|g| {
                let g: &GoalDoc<O> = g.borrow();
                g.level == "kf" && (g.from_year..=g.to_year).contains(&year)
            })
            .collect(),
        namnder,
        uppdrag,
        overdue,
    })
}

/// A node of the styrkedja: `direction/<id>`, `goal/<id>`,
/// `activity/<plan>/<id>`, `uppdrag/<id>`, `budget/<year>` (the budget that
/// gave uppdrag), `body/<id>`, `unit/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Node {
    pub path: String,
    pub label: String,
}

/// A node's place in the chain: the way up to KF and vision, and everything below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ChainPath {
    pub node: Node,
    pub up: Vec<Node>,
    pub down: Vec<Node>,
}

pub(crate) struct Graph {
    /// child path → parent paths
    up: BTreeMap<String, Vec<String>>,
    /// parent path → child paths (the same edges, built once)
    down: BTreeMap<String, Vec<String>>,
    labels: BTreeMap<String, String>,
}

// What the graph reads of each document: serde skips the rest (an
// uppdrag's statuses, a goal's indicators) without building it.

#[derive(serde::Deserialize)]
struct GoalNode {
    id: String,
    title: String,
    level: String,
    kf_goals: Vec<String>,
    #[serde(default)]
    process: Option<String>,
}

#[derive(serde::Deserialize)]
struct ProcessNode {
    id: String,
    name: String,
}

#[derive(serde::Deserialize)]
struct ContributionNode {
    id: String,
    body: String,
    goal: String,
    year: i32,
    title: String,
    namndmal: Option<String>,
}

#[derive(serde::Deserialize)]
struct UppdragNode {
    id: String,
    title: String,
    to: Vec<String>,
    given_year: i32,
    #[serde(default)]
    goals: Vec<String>,
    lifecycle: Vec<LifecycleNode>,
}

#[derive(serde::Deserialize)]
struct LifecycleNode {
    what: String,
    budget_year: i32,
    source: DecidedNode,
}

#[derive(serde::Deserialize)]
struct DecidedNode {
    decided: String,
}

#[derive(serde::Deserialize)]
struct UnitNode {
    id: String,
    name: String,
    namnd: String,
    parent: Option<String>,
    #[serde(default)]
    serves: Vec<styr_domain::Ansvar>,
}

#[derive(serde::Deserialize)]
struct BodyNode {
    id: String,
    name: String,
}

/// The kinds of document the styrkedja graph is built from: a projection
/// batch that writes none of them leaves a built graph as it is.
pub(crate) const GRAPH_KINDS: [DocKind; 8] = [
    DocKind::Direction,
    DocKind::Goal,
    DocKind::Uppdrag,
    DocKind::Body,
    DocKind::Unit,
    DocKind::Plan,
    DocKind::Process,
    DocKind::Contribution,
];

pub(crate) fn graph(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> R<Graph> {
    let mut up: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut labels = BTreeMap::new();
    let visions: Vec<String> = docs::<DirectionDoc>(kv, kommun, DocKind::Direction)?
        .into_iter()
        .map(|d| {
            let path = DocKind::Direction.path(&d.id);
            labels.insert(path.clone(), d.title);
            (path, d.kind)
        })
        .filter(|(_, k)| *k != DirectionKind::Vardegrund)
        .map(|(p, _)| p)
        .collect();
    // A process sits below the vision; its own goals below it, and a KF
    // goal that belongs to one below both the vision and the process.
    for p in docs::<ProcessNode>(kv, kommun, DocKind::Process)? {
        let path = DocKind::Process.path(&p.id);
        labels.insert(path.clone(), format!("{} (process)", p.name));
        up.insert(path, visions.clone());
    }
    for g in docs::<GoalNode>(kv, kommun, DocKind::Goal)? {
        let path = DocKind::Goal.path(&g.id);
        labels.insert(path.clone(), g.title.clone());
        let process = g.process.iter().map(|p| DocKind::Process.path(p));
        let parents = match g.level.as_str() {
            "kf" => visions.iter().cloned().chain(process).collect(),
            "process" => process.collect(),
            _ => g.kf_goals.iter().map(|k| DocKind::Goal.path(k)).collect(),
        };
        up.insert(path, parents);
    }
    // An uppdrag sits below the budget decision that gave it (its label
    // names the meeting and §), and that below the vision.
    let uppdrag = docs::<UppdragNode>(kv, kommun, DocKind::Uppdrag)?;
    for u in &uppdrag {
        let path = DocKind::Uppdrag.path(&u.id);
        let given = u.lifecycle.iter().find(|l| l.what == "given");
        let label = match given {
            Some(l) => format!("{} (givet {})", u.title, l.source.decided),
            None => u.title.clone(),
        };
        labels.insert(path.clone(), label);
        for b in &u.to {
            up.entry(DocKind::Body.path(b)).or_default();
        }
        let budget = DocKind::Budget.path(given.map_or(u.given_year, |l| l.budget_year));
        labels
            .entry(budget.clone())
            .or_insert_with(|| format!("Budget {}", given.map_or(u.given_year, |l| l.budget_year)));
        up.entry(budget.clone()).or_insert_with(|| visions.clone());
        // Below the decision that gave it and the KF goals it serves.
        let mut parents = vec![budget];
        parents.extend(u.goals.iter().map(|g| DocKind::Goal.path(g)));
        up.insert(path, parents);
    }
    for b in docs::<BodyNode>(kv, kommun, DocKind::Body)? {
        labels.insert(DocKind::Body.path(&b.id), b.name);
    }
    // A contribution sits below the goal it serves, the nämndmål it is (if
    // one) and the body that made it.
    for c in docs::<ContributionNode>(kv, kommun, DocKind::Contribution)? {
        let path = DocKind::Contribution.path(&c.id);
        let by = labels
            .get(&DocKind::Body.path(&c.body))
            .cloned()
            .unwrap_or_else(|| c.body.clone());
        labels.insert(
            path.clone(),
            format!("{} (bidrag från {by} {})", c.title, c.year),
        );
        let mut parents = vec![DocKind::Goal.path(&c.goal)];
        parents.extend(c.namndmal.iter().map(|m| DocKind::Goal.path(m)));
        parents.push(DocKind::Body.path(&c.body));
        up.insert(path, parents);
    }
    // A nämnd sits below the uppdrag it was given.
    for u in &uppdrag {
        for b in &u.to {
            up.entry(DocKind::Body.path(b))
                .or_default()
                .push(DocKind::Uppdrag.path(&u.id));
        }
    }
    // A unit sits below its parent in the organisation (the nämnd whose
    // förvaltning it is, at the top), and below each nämnd its verksamhet
    // answers to that its parent does not.
    let units: BTreeMap<String, UnitNode> = docs::<UnitNode>(kv, kommun, DocKind::Unit)?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    for u in units.values() {
        let path = DocKind::Unit.path(&u.id);
        labels.insert(path.clone(), u.name.clone());
        let mut parents = vec![u
            .parent
            .as_ref()
            .map_or(DocKind::Body.path(&u.namnd), |p| DocKind::Unit.path(p))];
        let above: Vec<&str> = match u.parent.as_ref().and_then(|p| units.get(p)) {
            Some(p) => styr_domain::answers_to(&p.namnd, &p.serves),
            None => vec![u.namnd.as_str()],
        };
        for b in styr_domain::answers_to(&u.namnd, &u.serves) {
            let node = DocKind::Body.path(b);
            if !above.contains(&b) && !parents.contains(&node) {
                parents.push(node);
            }
        }
        up.insert(path, parents);
    }
    for p in docs::<PlanDoc>(kv, kommun, DocKind::Plan)? {
        for a in &p.activities {
            let path = activity_path(&p.id, &a.id);
            labels.insert(path.clone(), a.title.clone());
            let mut parents: Vec<String> =
                a.namndmal.iter().map(|m| DocKind::Goal.path(m)).collect();
            parents.extend(a.uppdrag.iter().map(|u| DocKind::Uppdrag.path(u)));
            // Carried out by its unit: below it in the organisation.
            parents.push(DocKind::Unit.path(a.unit.as_deref().unwrap_or(&p.unit)));
            up.insert(path, parents);
        }
    }
    let mut down: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (child, parents) in &up {
        for parent in parents {
            down.entry(parent.clone()).or_default().push(child.clone());
        }
    }
    Ok(Graph { up, down, labels })
}

impl Graph {
    fn node(&self, path: &str) -> Node {
        Node {
            path: path.to_owned(),
            label: self.labels.get(path).cloned().unwrap_or_default(),
        }
    }

    fn walk(&self, start: &str, next: impl Fn(&str) -> Vec<String>) -> Vec<Node> {
        let mut seen = std::collections::BTreeSet::new();
        let mut queue = std::collections::VecDeque::from([start.to_owned()]);
        let mut out = Vec::new();
        while let Some(p) = queue.pop_front() {
            for n in next(&p) {
                if seen.insert(n.clone()) {
                    out.push(self.node(&n));
                    queue.push_back(n);
                }
            }
        }
        out
    }
}

/// The path from `node` up to KF (and vision), and everything below it.
pub fn chain(kv: &(impl KvRead + ?Sized), kommun: &KommunId, node: &str) -> R<Option<ChainPath>> {
    Ok(chain_in(&graph(kv, kommun)?, node))
}

/// [`chain`] over a graph already built.
pub(crate) fn chain_in(g: &Graph, node: &str) -> Option<ChainPath> {
    if !g.labels.contains_key(node) {
        return None;
    }
    let up = g.walk(node, |p| g.up.get(p).cloned().unwrap_or_default());
    let down = g.walk(node, |p| g.down.get(p).cloned().unwrap_or_default());
    Some(ChainPath {
        node: g.node(node),
        up,
        down,
    })
}

/// Lucka: a visible gap in the red thread (P3).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Gap {
    pub kind: &'static str,
    pub entity: String,
    pub reason: String,
}

impl Gap {
    /// The kind of gap in Swedish words (`kind` stays the identifier).
    pub fn kind_sv(&self) -> &'static str {
        match self.kind {
            "kf_goal_not_broken_down" => "KF-mål inte nedbrutet",
            "kf_goal_without_indicator" => "KF-mål utan indikator",
            "namndmal_without_valid_link" => "nämndmål utan giltigt KF-mål",
            "namnd_without_namndplan" => "nämnd utan nämndplan",
            "uppdrag_without_status" => "uppdrag utan återrapport",
            "uppdrag_overdue" => "förfallet uppdrag",
            "deviation_without_action" => "avvikelse utan åtgärd",
            "control_without_result" => "kontrollmoment utan resultat",
            "tertial_report_missing" => "tertialrapport saknas",
            "finding_without_action" => "brist utan åtgärd",
            "budget_not_established" => "budget inte fastställd",
            "budget_established_late" => "budget fastställd för sent",
            "budget_not_by_newly_elected" => "budget inte fastställd av nyvalda fullmäktige",
            "review_unanswered" => "granskning utan yttrande",
            "investment_without_follow_up" => "investering utan uppföljning",
            "process_goal_without_contribution" => "mål i process utan bidrag",
            "contribution_to_closed_process" => "bidrag till avslutad process",
            "balanskrav_not_restored" => "underskott inte återställt",
            "report_missing" => "uppföljningsrapport saknas",
            other => other,
        }
    }
}

/// Gaps for `year`, judged on `today` (for periods that have passed).
pub fn gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
) -> R<Vec<Gap>> {
    let mut out = Vec::new();
    // The goals (without their outcomes) and processes two checks read.
    let goals: Vec<GoalDoc> = docs(kv, kommun, DocKind::Goal)?;
    let processes: Vec<ProcessDoc> = docs(kv, kommun, DocKind::Process)?;
    goal_gaps(&goals, &processes, year, &mut out);
    namndplan_gaps(kv, kommun, year, &mut out)?;
    uppdrag_gaps(kv, kommun, year, today, &mut out)?;
    action_gaps(kv, kommun, today, &mut out)?;
    control_gaps(kv, kommun, year, today, &mut out)?;
    budget_gaps(kv, kommun, year, today, &mut out)?;
    review_gaps(kv, kommun, year, today, &mut out)?;
    crate::crosscut::process_gaps(kv, kommun, (&goals, &processes), year, &mut out)?;
    crate::balanskrav::balanskrav_gaps(kv, kommun, year, &mut out)?;
    report_gaps(kv, kommun, year, today, &mut out)?;
    out.sort();
    Ok(out)
}

/// The follow-up calendar the kommun decided for `year` (the latest from
/// that year or before), if it has decided one.
pub fn calendar_for(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
) -> R<Option<CalendarDoc>> {
    Ok(docs::<CalendarDoc>(kv, kommun, DocKind::Calendar)?
        .into_iter()
        .filter(|c| c.from_year <= year)
        .max_by_key(|c| c.from_year))
}

/// Under a calendar the kommun decided: each report KS and every nämnd
/// has not adopted by its last day, once that day has passed.
fn report_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    let Some(calendar) = calendar_for(kv, kommun, year)? else {
        return Ok(());
    };
    let bodies: Vec<BodyDoc> = docs(kv, kommun, DocKind::Body)?;
    for b in bodies
        .iter()
        .filter(|b| matches!(b.kind, BodyKind::Committee | BodyKind::ExecutiveBoard))
    {
        for period in &calendar.reports {
            let Some(due) = period.due_in(year) else {
                continue;
            };
            let several = calendar
                .reports
                .iter()
                .filter(|p| p.kind == period.kind)
                .count()
                > 1;
            let path = report_path(
                &b.id,
                year,
                period.kind,
                several.then_some(period.through.as_str()),
            );
            if today <= due || kv.get(&view_key(kommun.as_str(), &path))?.is_some() {
                continue;
            }
            out.push(Gap {
                kind: "report_missing",
                entity: path,
                reason: format!(
                    "{} har inte antagit sin {} till och med {}, som skulle antas senast {due} enligt uppföljningskalendern från {} ({})",
                    b.id.to_uppercase(),
                    period.kind.swedish(),
                    period.through_in(year).map_or_else(|| period.through.clone(), |d| d.to_string()),
                    calendar.from_year,
                    calendar.source.decided
                ),
            });
        }
    }
    Ok(())
}

/// A granskning of the year, or one whose replies were due in it, that a
/// board it asked has not answered by the date the revisorer set, once
/// that date has passed.
fn review_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    for r in docs::<ReviewDoc>(kv, kommun, DocKind::Review)? {
        let of_the_year = r.year == year || chrono::Datelike::year(&r.reply_due) == year;
        if !of_the_year || today <= r.reply_due {
            continue;
        }
        for body in &r.bodies {
            let answered = r
                .replies
                .get(body)
                .is_some_and(|reply| reply.source.effective_date <= today);
            if !answered {
                out.push(Gap {
                    kind: "review_unanswered",
                    entity: DocKind::Review.path(&r.review),
                    reason: format!(
                        "{} har inte yttrat sig över granskningen \"{}\", som skulle besvaras senast {} (revisorernas begäran, KL 12 kap)",
                        body.to_uppercase(),
                        r.title,
                        r.reply_due
                    ),
                });
            }
        }
    }
    Ok(())
}

/// KF goals in force that no nämnd broke down, and nämndmål with no KF goal in force.
fn goal_gaps(goals: &[GoalDoc], processes: &[ProcessDoc], year: i32, out: &mut Vec<Gap>) {
    let kf: BTreeMap<&str, &GoalDoc> = goals
        .iter()
        .filter(|g| g.level == "kf")
        .map(|g| (g.id.as_str(), g))
        .collect();
    // A goal in force that names no indicator cannot be followed up: the
    // kommun cannot say whether it was reached.
    for g in kf
        .values()
        .filter(|g| (g.from_year..=g.to_year).contains(&year) && g.indicators.is_empty())
    {
        out.push(Gap {
            kind: "kf_goal_without_indicator",
            entity: DocKind::Goal.path(&g.id),
            reason: format!(
                "KF-målet har ingen indikator: det går inte att följa upp om målet nås {year}"
            ),
        });
    }
    let running = |id: &str| processes.iter().any(|p| p.id == id && p.runs_in(year));
    // A KF goal of a process that runs in the year is followed as a process
    // goal (`process_gaps`): broken down by a nämndmål or served by a bidrag.
    for g in kf.values().filter(|g| {
        (g.from_year..=g.to_year).contains(&year)
            && g.process.as_deref().is_none_or(|p| !running(p))
    }) {
        if !goals
            .iter()
            .any(|m| m.level == "namnd" && m.from_year == year && m.kf_goals.contains(&g.id))
        {
            out.push(Gap {
                kind: "kf_goal_not_broken_down",
                entity: DocKind::Goal.path(&g.id),
                reason: format!("ingen nämnd har brutit ned KF-målet för {year}"),
            });
        }
    }
    for m in goals
        .iter()
        .filter(|m| m.level == "namnd" && m.from_year == year)
    {
        // A nämndmål may break down a KF goal or a processmål.
        let valid = m.kf_goals.iter().any(|k| {
            goals.iter().any(|g| {
                g.id == *k
                    && (g.level == "kf" || g.level == "process")
                    && (g.from_year..=g.to_year).contains(&year)
            })
        });
        if !valid {
            out.push(Gap {
                kind: "namndmal_without_valid_link",
                entity: DocKind::Goal.path(&m.id),
                reason: "nämndmålet saknar koppling till ett gällande KF-mål".into(),
            });
        }
    }
}

/// Nämnder without a nämndplan with goals for the year.
fn namndplan_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    out: &mut Vec<Gap>,
) -> R<()> {
    for b in docs::<BodyDoc>(kv, kommun, DocKind::Body)? {
        if b.kind == BodyKind::Committee
            && doc::<NamndplanDoc>(kv, kommun, &namndplan_path(&b.id, year))?
                .is_none_or(|p| p.goals.is_empty())
        {
            out.push(Gap {
                kind: "namnd_without_namndplan",
                entity: DocKind::Body.path(&b.id),
                reason: format!("{} saknar nämndplan för {year}", b.name),
            });
        }
    }
    Ok(())
}

/// Uppdrag in force that a nämnd it was given to has not reported on
/// during the year, and uppdrag past their deadline (by `today`, within the
/// year) that KF has not closed.
fn uppdrag_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    let year_ends = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
    for u in uppdrag(kv, kommun)? {
        if u.closed.is_some() || u.given_year > year {
            continue;
        }
        if u.due < today.min(year_ends) {
            let last = u.status.last().map_or(String::new(), |s| {
                format!(
                    "; senast återrapporterat {} per {}",
                    s.status.swedish(),
                    s.as_of
                )
            });
            out.push(Gap {
                kind: "uppdrag_overdue",
                entity: DocKind::Uppdrag.path(&u.id),
                reason: format!(
                    "skulle vara klart {} och är inte avslutat av fullmäktige{last}",
                    u.due
                ),
            });
        }
        let reported_by: std::collections::BTreeSet<&str> = u
            .status
            .iter()
            .filter(|s| s.as_of.format("%Y").to_string() == year.to_string())
            .map(|s| s.body.as_str())
            .collect();
        for b in u.to.iter().filter(|b| !reported_by.contains(b.as_str())) {
            out.push(Gap {
                kind: "uppdrag_without_status",
                entity: DocKind::Uppdrag.path(&u.id),
                reason: format!("{b} har inte återrapporterat uppdraget under {year}"),
            });
        }
    }
    Ok(())
}

/// Deviations reported by `today` and findings, open and without an action.
fn action_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    for d in docs::<DeviationDoc>(kv, kommun, DocKind::Deviation)? {
        if d.reported <= today
            && d.closed.is_none()
            && d.actions.is_empty()
            && d.atgardsplan.is_none()
        {
            out.push(Gap {
                kind: "deviation_without_action",
                entity: DocKind::Deviation.path(&d.id),
                reason: format!("avvikelsen från {} saknar åtgärd", d.unit),
            });
        }
    }
    for f in docs::<FindingDoc>(kv, kommun, DocKind::Finding)? {
        if f.closed.is_none() && f.actions.is_empty() {
            out.push(Gap {
                kind: "finding_without_action",
                entity: DocKind::Finding.path(&f.finding),
                reason: format!("bristen i {} saknar åtgärd", f.control),
            });
        }
    }
    Ok(())
}

/// Intern kontroll: tertials that have passed without a report or a result per kontrollmoment.
fn control_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    for p in docs::<ControlPlanDoc>(kv, kommun, DocKind::InternalControl)?
        .into_iter()
        .filter(|p| p.year == year)
    {
        for t in 1..=3u8 {
            if styr_domain::tertial_end(year, t).is_none_or(|end| end >= today) {
                continue;
            }
            if !p.tertial_reports.contains_key(&t) {
                out.push(Gap {
                    kind: "tertial_report_missing",
                    entity: DocKind::InternalControl.path(&p.plan),
                    reason: format!(
                        "{} har inte rapporterat sin interna kontroll för tertial {t}",
                        p.body.to_uppercase()
                    ),
                });
            }
            for c in &p.controls {
                if !p.results.get(&c.id).is_some_and(|r| r.contains_key(&t)) {
                    out.push(Gap {
                        kind: "control_without_result",
                        entity: DocKind::InternalControl.path(&p.plan),
                        reason: format!("kontrollmoment {} saknar resultat för tertial {t}", c.id),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The budget's gaps: a budget adopted but not fastställd when the law's
/// last day has passed (30 November, 31 December after an election), and an
/// investment budgeted for the year that a delårsrapport or årsredovisning
/// of its own nämnd left out (unless KS's report covered it), or that no
/// report followed up once the årsredovisning's time (30 April) has come.
fn budget_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    today: NaiveDate,
    out: &mut Vec<Gap>,
) -> R<()> {
    if let Some(b) = doc::<BudgetDoc>(kv, kommun, &DocKind::Budget.path(year))? {
        // The last day: 30 November the year before, or 31 December when
        // an ordinary election was held that year (as recorded).
        let before = year.saturating_sub(1);
        let election = docs::<ElectionDoc>(kv, kommun, DocKind::Election)?
            .into_iter()
            .find(|e| {
                e.kind == styr_domain::ElectionKind::Ordinary
                    && chrono::Datelike::year(&e.date) == before
            });
        let election_year = election.is_some();
        let last_day = if election_year { (12, 31) } else { (11, 30) };
        let deadline = NaiveDate::from_ymd_opt(before, last_day.0, last_day.1);
        let passed = deadline.is_some_and(|d| today > d);
        match (&b.established, deadline) {
            (None, _) if passed => out.push(Gap {
                kind: "budget_not_established",
                entity: DocKind::Budget.path(year),
                reason: format!(
                    "budgeten för {year} är inte fastställd: skattesats och plan för ekonomin saknas (KL 11 kap 8–9 §§)"
                ),
            }),
            // Recorded as decided, and flagged: a legal finding, not a refusal.
            (Some(e), Some(d)) if e.effective_date > d && e.effective_date <= today => {
                out.push(Gap {
                    kind: "budget_established_late",
                    entity: DocKind::Budget.path(year),
                    reason: format!(
                        "budgeten för {year} fastställdes {} ({}), efter den {d} som kommunallagen anger{} (KL 11 kap 10–11 §§)",
                        e.effective_date,
                        e.decided,
                        if election_year { " för ett valår" } else { "" }
                    ),
                });
            }
            _ => {}
        }
        // After an election the newly elected fullmäktige fastställer the
        // budget (KL 11 kap 10 §): a fastställande at a meeting before its
        // mandate began is recorded, and flagged.
        if let (Some(e), Some(established)) = (&election, &b.established) {
            let meeting = match &established.decided_by {
                styr_domain::DecidedBy::Body { meeting_date, .. } => *meeting_date,
                _ => established.effective_date,
            };
            if meeting < e.mandate_from && established.effective_date <= today {
                out.push(Gap {
                    kind: "budget_not_by_newly_elected",
                    entity: DocKind::Budget.path(year),
                    reason: format!(
                        "budgeten för {year} fastställdes {meeting} ({}), före den {} då de fullmäktige som valdes {} tillträdde; efter ett val fastställer nyvalda fullmäktige budgeten (KL 11 kap 10 §)",
                        established.decided, e.mandate_from, e.date
                    ),
                });
            }
        }
    }
    // Only reports adopted by `today` count.
    let reports: Vec<ReportDoc> = docs::<ReportDoc>(kv, kommun, DocKind::Report)?
        .into_iter()
        .filter(|r| r.source.effective_date <= today)
        .collect();
    let annual_due =
        NaiveDate::from_ymd_opt(year.saturating_add(1), 4, 30).is_some_and(|d| today > d);
    for i in docs::<InvestmentDoc>(kv, kommun, DocKind::Investment)? {
        if i.budget_for(year).is_none_or(|a| a == 0) {
            continue;
        }
        let followed: BTreeSet<ReportKind> = i
            .follow_ups
            .iter()
            .filter(|f| f.year == year)
            .map(|f| f.report)
            .collect();
        let skipped = reports.iter().find(|r| {
            r.year == year
                && r.kind != ReportKind::Budgetuppfoljning
                && r.body == i.investment.body
                && !followed.contains(&r.kind)
        });
        let reason = match skipped {
            Some(r) => Some(format!(
                "{}:s {} för {year} följer inte upp investeringen",
                r.body.to_uppercase(),
                r.kind.swedish()
            )),
            None if annual_due && followed.is_empty() => {
                Some(format!("investeringen saknar uppföljning för {year}"))
            }
            None => None,
        };
        if let Some(reason) = reason {
            out.push(Gap {
                kind: "investment_without_follow_up",
                entity: DocKind::Investment.path(&i.id),
                reason: format!("{}: {reason}", i.investment.title),
            });
        }
    }
    Ok(())
}

/// Follow-up reports, optionally of one kind.
pub fn reports(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    kind: Option<ReportKind>,
) -> R<Vec<ReportDoc>> {
    Ok(docs::<ReportDoc>(kv, kommun, DocKind::Report)?
        .into_iter()
        .filter(|r| kind.is_none_or(|k| r.kind == k))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::kv::MemKv;

    fn source(date: &str) -> serde_json::Value {
        json!({
            "sequence": 1,
            "event_id": "01900000-0000-7000-8000-000000000000",
            "decided_by": {"kind": "body", "body": "kf", "meeting_date": date, "paragraph": "1"},
            "decided": format!("KF {date} § 1"),
            "effective_date": date,
        })
    }

    /// A 2027 budget fastställd on `established`, and the elections given.
    fn kommun(established: &str, elections: &[&str]) -> MemKv {
        let mut kv = MemKv(Default::default());
        let budget = json!({
            "year": 2027, "plan_years": [2028, 2029], "source": source("2026-06-15"),
            "ramar": {}, "changes": [], "established": source(established),
        });
        kv.0.insert(
            "v/k/budget/2027".into(),
            serde_json::to_vec(&budget).unwrap(),
        );
        for date in elections {
            let e = json!({"date": date, "kind": "ordinary", "mandate_from": "2026-10-15",
                "mandate_to": "2030-10-14", "source": source("2026-10-26")});
            kv.0.insert(
                format!("v/k/election/{date}"),
                serde_json::to_vec(&e).unwrap(),
            );
        }
        kv
    }

    fn kinds(kv: &MemKv) -> Vec<&'static str> {
        let k = styr_store::KommunId::new("k").unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        super::gaps(kv, &k, 2027, today)
            .unwrap()
            .into_iter()
            .map(|g| g.kind)
            .filter(|k| k.starts_with("budget_"))
            .collect()
    }

    #[test]
    fn a_budget_established_after_the_last_day_is_a_finding() {
        // 20 December: late in an ordinary year, in time after an election.
        assert_eq!(
            kinds(&kommun("2026-12-20", &[])),
            ["budget_established_late"]
        );
        assert!(kinds(&kommun("2026-12-20", &["2026-09-13"])).is_empty());
        assert!(kinds(&kommun("2026-11-16", &[])).is_empty());
        // After New Year even in an election year.
        assert_eq!(
            kinds(&kommun("2027-01-10", &["2026-09-13"])),
            ["budget_established_late"]
        );
    }

    #[test]
    fn a_granskning_unanswered_past_its_date_is_a_gap() {
        let mut kv = MemKv(Default::default());
        let review = json!({
            "review": "g-1", "title": "Intern kontroll", "year": 2026, "bodies": ["bun", "sn"],
            "observations": [], "recommendations": [], "reply_due": "2026-11-30",
            "replies": {"bun": {"reply": "Vi åtgärdar", "responses": [], "late": false,
                                "source": source("2026-11-20")}},
            "source": source("2026-09-01"),
        });
        kv.0.insert(
            "v/k/review/g-1".into(),
            serde_json::to_vec(&review).unwrap(),
        );
        // BUN answers this one on 10 December, late.
        let mut late = review.clone();
        late["review"] = json!("g-2");
        late["bodies"] = json!(["bun"]);
        late["replies"]["bun"]["source"] = source("2026-12-10");
        kv.0.insert("v/k/review/g-2".into(), serde_json::to_vec(&late).unwrap());
        let k = styr_store::KommunId::new("k").unwrap();
        let unanswered = |today: &str| -> Vec<String> {
            super::gaps(&kv, &k, 2026, today.parse().unwrap())
                .unwrap()
                .into_iter()
                .filter(|g| g.kind == "review_unanswered")
                .map(|g| g.reason)
                .collect()
        };
        assert!(unanswered("2026-11-30").is_empty(), "not before the date");
        // On 1 December: SN never answered g-1, BUN has not yet answered g-2.
        let after = unanswered("2026-12-01");
        assert_eq!(after.len(), 2, "{after:?}");
        assert!(after.iter().any(|r| r.starts_with("SN ")), "{after:?}");
        // Once BUN's late reply is in, only SN's stays open.
        let later = unanswered("2026-12-11");
        assert_eq!(later.len(), 1, "{later:?}");
        assert!(later[0].starts_with("SN "), "{later:?}");
    }

    #[test]
    fn after_an_election_the_newly_elected_adopt_the_budget() {
        // The mandate began 15 October: a fastställande in early October
        // was the outgoing fullmäktige's.
        assert_eq!(
            kinds(&kommun("2026-10-05", &["2026-09-13"])),
            ["budget_not_by_newly_elected"]
        );
        assert!(kinds(&kommun("2026-10-26", &["2026-09-13"])).is_empty());
        // Without an election that year the rule does not apply.
        assert!(kinds(&kommun("2026-10-05", &[])).is_empty());
    }

    /// A KF goal in force that names no indicator is a gap of its own; one
    /// with an indicator, or not in force that year, is not.
    #[test]
    fn a_kf_goal_without_indicator_cannot_be_followed_up() {
        let goal = |id: &str, to_year: i32, indicators: serde_json::Value| {
            serde_json::from_value::<super::GoalDoc>(json!({
                "id": id, "level": "kf", "title": id, "body": null, "kind": null,
                "perspective": null, "from_year": 2026, "to_year": to_year,
                "kf_goals": [], "indicators": indicators, "outcomes": {},
                "source": source("2025-11-17"),
            }))
            .unwrap()
        };
        let goals = [
            goal("utan", 2027, json!([])),
            goal(
                "med",
                2027,
                json!([{"id": "i", "name": "I", "direction": "increase"}]),
            ),
            goal("slut", 2026, json!([])),
        ];
        let without = |year| {
            let mut out = Vec::new();
            super::goal_gaps(&goals, &[], year, &mut out);
            out.into_iter()
                .filter(|g| g.kind == "kf_goal_without_indicator")
                .map(|g| g.entity)
                .collect::<Vec<_>>()
        };
        assert_eq!(without(2026), ["goal/slut", "goal/utan"]);
        assert_eq!(without(2027), ["goal/utan"]);
    }
}
