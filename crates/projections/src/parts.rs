//! The parts a kept plan is assembled from: every goal of a kommun with the
//! latest values of its indicators, every uppdrag with its latest statuses
//! (the values and statuses read only once a plan's year takes the goal or
//! uppdrag in), each read and written as JSON once and kept until a write
//! touches it. A plan asked for after a write reads again only what the
//! write touched; the rest of the answer is copied from JSON already
//! written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use styr_store::KommunId;

use crate::docs::DocKind;
use crate::kv::KvRead;
use crate::query::{
    doc, docs, goal_in_plan_of, uppdrag_in_plan_of, with_latest_outcomes, with_latest_statuses,
    GoalAnswer, UppdragAnswer,
};
use crate::ProjectionError;

/// A document and its JSON, written once: serializes as that JSON (only
/// JSON does; the parts are read by `serde_json` alone).
pub struct Part<T>(Arc<Written<T>>);

struct Written<T> {
    doc: T,
    json: Box<RawValue>,
}

impl<T: Serialize> Part<T> {
    pub(crate) fn new(doc: T) -> Result<Self, serde_json::Error> {
        let json = serde_json::value::to_raw_value(&doc)?;
        Ok(Part(Arc::new(Written { doc, json })))
    }
}

impl<T> Part<T> {
    /// The JSON written.
    pub fn json(&self) -> &str {
        self.0.json.get()
    }
}

impl<T> Clone for Part<T> {
    fn clone(&self) -> Self {
        Part(self.0.clone())
    }
}

impl<T> std::borrow::Borrow<T> for Part<T> {
    fn borrow(&self) -> &T {
        &self.0.doc
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Part<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.doc.fmt(f)
    }
}

impl<T> Serialize for Part<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.json.serialize(serializer)
    }
}

/// Every goal and every uppdrag of a kommun, as parts, in id order.
pub(crate) type GoalsAndUppdrag = (Vec<Part<GoalAnswer>>, Vec<Part<UppdragAnswer>>);

/// Which goals and uppdrag a batch wrote to: their documents, their values
/// or statuses, or the counts kept beside those.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    goals: BTreeSet<String>,
    uppdrag: BTreeSet<String>,
}

impl Touched {
    /// Notes the view path (`goal/g-1`, `outcome/g-1/i-2/…`, …) of a key a
    /// batch writes; a path of any other document is no part's.
    pub(crate) fn note(&mut self, path: &str) {
        let first = |rest: &str| rest.split('/').next().unwrap_or(rest).to_owned();
        let (kind, rest) = path.split_once('/').unwrap_or((path, ""));
        let (kind, rest) = if kind == DocKind::Count.prefix() {
            rest.split_once('/').unwrap_or((rest, ""))
        } else {
            (kind, rest)
        };
        if kind == DocKind::Goal.prefix() {
            self.goals.insert(rest.to_owned());
        } else if kind == DocKind::Outcome.prefix() {
            self.goals.insert(first(rest));
        } else if kind == DocKind::Uppdrag.prefix() {
            self.uppdrag.insert(rest.to_owned());
        } else if kind == DocKind::UppdragStatus.prefix() {
            self.uppdrag.insert(first(rest));
        }
    }
}

/// A kommun's parts as last read, and what writes have touched since.
#[derive(Clone, Default)]
pub(crate) struct PlanParts {
    /// `None`: not read yet, or dropped with everything.
    read: Option<Read>,
}

#[derive(Clone)]
struct Read {
    /// By id, in id order (the order the documents are kept in).
    goals: BTreeMap<String, Kept<GoalAnswer>>,
    uppdrag: BTreeMap<String, Kept<UppdragAnswer>>,
    /// Touched since they were read: read again before the next answer.
    stale_goals: BTreeSet<String>,
    stale_uppdrag: BTreeSet<String>,
    /// An id with a `/` in it (the domain never gives one): a value's key
    /// would not say whose it is, so any touch reads everything again.
    slashed: bool,
}

/// A goal or uppdrag as kept between plans: with its latest values or
/// statuses, written as JSON, once the year of a plan asked for takes it
/// in; until then its document alone (a goal of an earlier mandate period,
/// an uppdrag closed years ago, is in no plan asked for, and its items are
/// never read).
enum Kept<T> {
    Whole(Part<T>),
    Bare(Arc<T>),
}

impl<T> Clone for Kept<T> {
    fn clone(&self) -> Self {
        match self {
            Kept::Whole(part) => Kept::Whole(part.clone()),
            Kept::Bare(doc) => Kept::Bare(doc.clone()),
        }
    }
}

/// How a kind of document is kept: whether a year's plan takes one in, and
/// how its latest items are read.
trait Keep: Serialize + Clone + Sized {
    /// Whether `year`'s plan takes it in.
    fn in_plan(&self, year: i32) -> bool;
    /// Reads its latest `n` values or statuses into it.
    fn with_items(
        &mut self,
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        n: usize,
    ) -> Result<(), ProjectionError>;
}

impl Keep for GoalAnswer {
    fn in_plan(&self, year: i32) -> bool {
        goal_in_plan_of(self, year)
    }
    fn with_items(
        &mut self,
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        n: usize,
    ) -> Result<(), ProjectionError> {
        with_latest_outcomes(kv, kommun, std::slice::from_mut(self), n)
    }
}

impl Keep for UppdragAnswer {
    fn in_plan(&self, year: i32) -> bool {
        uppdrag_in_plan_of(self, year)
    }
    fn with_items(
        &mut self,
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        n: usize,
    ) -> Result<(), ProjectionError> {
        with_latest_statuses(kv, kommun, std::slice::from_mut(self), n)
    }
}

/// Reads what a year's plan needs of the kept documents.
struct Reading<'a, K: ?Sized> {
    kv: &'a K,
    kommun: &'a KommunId,
    n: usize,
    year: i32,
}

impl<K: KvRead + ?Sized> Reading<'_, K> {
    /// A document as read: whole when the year's plan takes it in.
    fn keep<T: Keep>(&self, mut doc: T) -> Result<Kept<T>, ProjectionError> {
        Ok(if doc.in_plan(self.year) {
            doc.with_items(self.kv, self.kommun, self.n)?;
            Kept::Whole(Part::new(doc)?)
        } else {
            Kept::Bare(Arc::new(doc))
        })
    }

    /// Every document of a kind, kept.
    fn keep_all<T: Keep>(
        &self,
        docs: Vec<T>,
        id: impl Fn(&T) -> String,
    ) -> Result<BTreeMap<String, Kept<T>>, ProjectionError> {
        docs.into_iter()
            .map(|d| Ok((id(&d), self.keep(d)?)))
            .collect()
    }

    /// Reads whole those kept bare that the year's plan takes in, and
    /// returns every one kept whole.
    fn whole<T: Keep>(
        &self,
        kept: &mut BTreeMap<String, Kept<T>>,
    ) -> Result<Vec<Part<T>>, ProjectionError> {
        for k in kept.values_mut() {
            if let Kept::Bare(doc) = k {
                if doc.in_plan(self.year) {
                    *k = self.keep(Arc::unwrap_or_clone(doc.clone()))?;
                }
            }
        }
        Ok(kept
            .values()
            .filter_map(|k| match k {
                Kept::Whole(part) => Some(part.clone()),
                Kept::Bare(_) => None,
            })
            .collect())
    }
}

impl PlanParts {
    /// After a batch that wrote `touched`.
    pub(crate) fn touched(&mut self, touched: &Touched) {
        let Some(read) = &mut self.read else {
            return;
        };
        if read.slashed && !(touched.goals.is_empty() && touched.uppdrag.is_empty()) {
            self.read = None;
            return;
        }
        read.stale_goals.extend(touched.goals.iter().cloned());
        read.stale_uppdrag.extend(touched.uppdrag.iter().cloned());
    }

    /// After a batch that may have written anything (a view cleared).
    pub(crate) fn drop_all(&mut self) {
        self.read = None;
    }

    /// Reads what is not read yet or was touched since, with the latest `n`
    /// values of each indicator and statuses of each uppdrag (read only once
    /// `year`'s plan takes the goal or uppdrag in: [`Kept`]); returns the
    /// goals and uppdrag kept whole — `year`'s plan's among them — in id
    /// order.
    pub(crate) fn refresh(
        &mut self,
        kv: &(impl KvRead + ?Sized),
        kommun: &KommunId,
        n: usize,
        year: i32,
    ) -> Result<GoalsAndUppdrag, ProjectionError> {
        let reading = Reading {
            kv,
            kommun,
            n,
            year,
        };
        let read = match &mut self.read {
            Some(read) => {
                read.slashed |= read.stale_goals.iter().any(|id| id.contains('/'))
                    || read.stale_uppdrag.iter().any(|id| id.contains('/'));
                let stale = std::mem::take(&mut read.stale_goals);
                reread(&reading, DocKind::Goal, stale, &mut read.goals)?;
                let stale = std::mem::take(&mut read.stale_uppdrag);
                reread(&reading, DocKind::Uppdrag, stale, &mut read.uppdrag)?;
                read
            }
            None => {
                let goals: Vec<GoalAnswer> = docs(kv, kommun, DocKind::Goal)?;
                let uppdrag: Vec<UppdragAnswer> = docs(kv, kommun, DocKind::Uppdrag)?;
                let slashed = goals.iter().any(|g| g.id.contains('/'))
                    || uppdrag.iter().any(|u| u.id.contains('/'));
                self.read.insert(Read {
                    goals: reading.keep_all(goals, |g| g.id.clone())?,
                    uppdrag: reading.keep_all(uppdrag, |u| u.id.clone())?,
                    stale_goals: BTreeSet::new(),
                    stale_uppdrag: BTreeSet::new(),
                    slashed,
                })
            }
        };
        Ok((
            reading.whole(&mut read.goals)?,
            reading.whole(&mut read.uppdrag)?,
        ))
    }
}

/// Reads the documents of `kind` with the ids in `stale` again into
/// `kept`, as the year's plan needs them; one no longer there leaves.
fn reread<T: Keep + serde::de::DeserializeOwned>(
    reading: &Reading<'_, impl KvRead + ?Sized>,
    kind: DocKind,
    stale: BTreeSet<String>,
    kept: &mut BTreeMap<String, Kept<T>>,
) -> Result<(), ProjectionError> {
    for id in stale {
        match doc::<T>(reading.kv, reading.kommun, &kind.path(&id))? {
            Some(d) => {
                kept.insert(id, reading.keep(d)?);
            }
            None => {
                kept.remove(&id);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touched(paths: &[&str]) -> Touched {
        let mut t = Touched::default();
        for p in paths {
            t.note(p);
        }
        t
    }

    #[test]
    fn a_written_key_names_the_goal_or_uppdrag_it_belongs_to() {
        let t = touched(&[
            "goal/g-1",
            "outcome/g-2/i-1/00000000000000000007-000001",
            "count/outcome/g-3/i-1",
            "uppdrag/u-1",
            "uppdrag-status/u-2/2026-04-01/00000000000000000009-000000",
            "count/uppdrag-status/u-3",
            // Others are no part's.
            "deviation/d-1",
            "count/deviation/d-1",
            "budget/2026",
            "kommun",
        ]);
        let ids = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
        assert_eq!(ids(&t.goals), ["g-1", "g-2", "g-3"]);
        assert_eq!(ids(&t.uppdrag), ["u-1", "u-2", "u-3"]);
    }

    #[test]
    fn with_an_id_holding_a_slash_any_touch_reads_everything_again() {
        let read = |slashed| PlanParts {
            read: Some(Read {
                goals: BTreeMap::new(),
                uppdrag: BTreeMap::new(),
                stale_goals: BTreeSet::new(),
                stale_uppdrag: BTreeSet::new(),
                slashed,
            }),
        };
        let mut parts = read(true);
        parts.touched(&touched(&["budget/2026"]));
        assert!(parts.read.is_some(), "no part touched");
        parts.touched(&touched(&["outcome/a/b/i/1"]));
        assert!(parts.read.is_none());
        let mut parts = read(false);
        parts.touched(&touched(&["outcome/g-1/i/1"]));
        let stale = &parts.read.as_ref().unwrap().stale_goals;
        assert_eq!(stale.iter().collect::<Vec<_>>(), ["g-1"]);
    }
}
