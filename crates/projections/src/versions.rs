//! Past views without folding the history: the value a key had when a
//! segment began is kept beside the live one, with where the segment first
//! replaced it, so the view as it stood at the end of any segment can be
//! read back; a few events folded on top give the view at any moment a
//! question names (see [`Projector::as_of`]).
//!
//! Layout, in the projection's one sled tree:
//! - `x/` + the live key (0 bytes escaped as 0 1) + 0 0 + the first
//!   sequence of the batch that replaced the value (8 bytes, big-endian):
//!   the value before it, or "absent" (one byte 0; a value is 1 + bytes);
//!   only the first batch of a segment that replaces a key keeps one.
//!   A list item whose key ends in the sequence that created it (outcomes,
//!   statuses, history lines, intrusions) gets no "absent" entry: its key
//!   says when it appeared.
//! - `m/<kommun>/<end>`: a segment of at least [`SEGMENT_EVENTS`] events
//!   (fewer when a batch holding a rättelse closes it early), ending with
//!   a batch: its range, where the chain stood at its end, the
//!   range of its effective dates and recording times, and whether it holds
//!   a rättelse or a foreign message. `mo/<kommun>`: the segment still
//!   open (without where the chain stood: the checkpoint says).
//!
//! [`Projector::as_of`]: crate::Projector::as_of

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use styr_store::KommunId;

use futures::StreamExt;
use styr_store::{ChainState, EventStore, Record};

use crate::kv::{get_through, scan_last_through, scan_through, KvRead, Overlay, Pairs};
use crate::projector::Checkpoint;
use crate::{apply, apply_foreign, read_event, AsOf, ProjectionError, Projector};

/// A segment closes once it holds this many events (at the end of a batch).
pub(crate) const SEGMENT_EVENTS: u64 = 256;

const VERSIONS: &[u8] = b"x/";

fn escape_into(out: &mut Vec<u8>, key: &[u8]) {
    for &b in key {
        if b == 0 {
            out.extend_from_slice(&[0, 1]);
        } else {
            out.push(b);
        }
    }
}

/// Where the versions of keys beginning with `prefix` lie.
pub(crate) fn versions_prefix(prefix: &str) -> Vec<u8> {
    let mut out = VERSIONS.to_vec();
    escape_into(&mut out, prefix.as_bytes());
    out
}

/// The version of `key` that a batch beginning at `replaced_at` replaced.
pub(crate) fn version_key(key: &str, replaced_at: u64) -> Vec<u8> {
    let mut out = versions_prefix(key);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&replaced_at.to_be_bytes());
    out
}

/// The live key and the replacing batch's first sequence of a version key.
fn split_version_key(vk: &[u8]) -> Option<(String, u64)> {
    let rest = vk.strip_prefix(VERSIONS)?;
    let (escaped, at) = rest.split_at(rest.len().checked_sub(10)?);
    let at = at.strip_prefix(&[0, 0])?;
    let mut key = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        if b == 0 {
            bytes.next();
        }
        key.push(b);
    }
    Some((
        String::from_utf8(key).ok()?,
        u64::from_be_bytes(at.try_into().ok()?),
    ))
}

pub(crate) fn encode(old: Option<&[u8]>) -> Vec<u8> {
    match old {
        None => vec![0],
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(1);
            out.extend_from_slice(v);
            out
        }
    }
}

fn decode(v: &[u8]) -> Option<Vec<u8>> {
    match v.split_first() {
        Some((1, rest)) => Some(rest.to_vec()),
        _ => None,
    }
}

/// The sequence a list item's key names as its own: a history line, an
/// outcome, an uppdrag status, an intrusion (each keyed by the event or
/// message that wrote it) and a checkpoint document (keyed by the earlier
/// sequence it covers) cannot have existed before it. Only these kinds —
/// their last segment is ours, never an id someone chose.
pub(crate) fn named_sequence(key: &str) -> Option<u64> {
    let mut parts = key.splitn(4, '/');
    let (root, _kommun, kind) = (parts.next()?, parts.next()?, parts.next()?);
    let list_item = match root {
        "h" => true,
        "v" => matches!(
            kind,
            "outcome" | "uppdrag-status" | "intrusion" | "checkpoint"
        ),
        _ => false,
    };
    if !list_item {
        return None;
    }
    let last = key.rsplit('/').next()?;
    let digits = last.get(..20)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match last.as_bytes().get(20) {
        None | Some(b'-') => digits.parse().ok(),
        Some(_) => None,
    }
}

/// Whether the versions keep `key`: the views and histories queries read
/// (the event index is the fold's own and is not kept).
pub(crate) fn versioned(key: &str) -> bool {
    key.starts_with("v/") || key.starts_with("h/")
}

/// A stretch of a kommun's projected history, ending with a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Segment {
    pub first: u64,
    pub end: u64,
    pub events: u64,
    /// Where the chain stood after `end`; a closed segment's only (a
    /// question reads on from there). The open segment ends where the
    /// kommun's checkpoint stands and keeps none.
    pub at: Option<Checkpoint>,
    pub effective: Option<(NaiveDate, NaiveDate)>,
    pub recorded: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub rattelse: bool,
    pub foreign: bool,
}

fn widen<T: Ord + Copy>(range: &mut Option<(T, T)>, v: T) {
    *range = Some(match *range {
        None => (v, v),
        Some((lo, hi)) => (lo.min(v), hi.max(v)),
    });
}

impl Segment {
    pub fn add_event(&mut self, stored: &styr_store::StoredEvent) {
        self.note(stored.sequence);
        widen(
            &mut self.effective,
            stored.envelope.provenance.effective_date,
        );
        widen(&mut self.recorded, stored.envelope.recorded_at);
        self.rattelse |= stored.envelope.event_type == "DecisionCorrected";
    }

    pub fn add_foreign(&mut self, sequence: u64) {
        self.note(sequence);
        self.foreign = true;
    }

    fn note(&mut self, sequence: u64) {
        if self.events == 0 {
            self.first = sequence;
        }
        self.end = sequence;
        self.events += 1;
    }
}

pub(crate) fn segment_key(kommun: &KommunId, end: u64) -> String {
    format!("m/{kommun}/{end:020}")
}

pub(crate) fn segments_prefix(kommun: &KommunId) -> String {
    format!("m/{kommun}/")
}

pub(crate) fn open_segment_key(kommun: &KommunId) -> String {
    format!("mo/{kommun}")
}

/// The projection as it stood after the batch that ended at `at`.
#[derive(Clone)]
pub struct VersionedView {
    pub(crate) tree: sled::Tree,
    pub(crate) at: u64,
}

impl VersionedView {
    /// Where, under `prefix`, the items the view held end at the latest
    /// (exclusive), so that reading a list's tail as it stood does not
    /// walk past every item recorded since: for an indicator's values
    /// (keyed by the sequence that wrote them, first) the key of the next
    /// sequence; for an uppdrag's statuses (in date order) after the
    /// latest date among the items it held, which its count keeps
    /// ([`ListCount`]; items recorded later with earlier dates are skipped
    /// on the way, one by one). `None`: the whole prefix.
    ///
    /// [`ListCount`]: crate::docs::ListCount
    fn tail_bound(&self, prefix: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        let mut parts = prefix.splitn(4, '/');
        let (Some("v"), Some(kommun), Some(kind), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let Some(list) = rest.strip_suffix('/') else {
            return Ok(None);
        };
        use crate::docs::{DocKind, ListCount};
        let depth = list.matches('/').count();
        if kind == DocKind::Outcome.prefix() && depth == 1 {
            let next = format!("{prefix}{:020}", self.at.saturating_add(1));
            return Ok(Some(next.into_bytes()));
        }
        if kind != DocKind::UppdragStatus.prefix() || depth != 0 {
            return Ok(None);
        }
        let count = crate::apply::view_key(
            kommun,
            &DocKind::Count.path(DocKind::UppdragStatus.path(list)),
        );
        let Some(bytes) = KvRead::get(self, &count)? else {
            // No status yet: nothing under the prefix then.
            return Ok(Some(prefix.as_bytes().to_vec()));
        };
        Ok(match serde_json::from_slice(&bytes)? {
            // Keys sort as text: a year of other than four digits
            // (`+10000-…`) would not sort as its date.
            ListCount::Dated(_, latest)
                if (0..=9999).contains(&chrono::Datelike::year(&latest)) =>
            {
                let mut end = format!("{prefix}{latest}/").into_bytes();
                end.push(0xff);
                Some(end)
            }
            _ => None,
        })
    }
}

impl KvRead for VersionedView {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        if !versioned(key) {
            return Ok(sled::Tree::get(&self.tree, key.as_bytes())?.map(|v| v.to_vec()));
        }
        if named_sequence(key).is_some_and(|n| n > self.at) {
            return Ok(None);
        }
        // The live value first: a batch written between the two reads
        // leaves, among the versions, the value it replaced.
        let live = sled::Tree::get(&self.tree, key.as_bytes())?.map(|v| v.to_vec());
        let from = version_key(key, self.at.saturating_add(1));
        let to = version_key(key, u64::MAX);
        if let Some(entry) = self.tree.range(from..=to).next() {
            return Ok(decode(&entry?.1));
        }
        Ok(live)
    }

    /// The last `n` keys as they stood, without reading the whole list
    /// and its versions: a fold only writes keys (a rättelse's clearing
    /// removes the versions with the views), so every key the view held
    /// at `at` is still there, and the live keys read backwards, each as
    /// it stood ([`get`](KvRead::get): absent if it came later), give them.
    /// For the views' and histories' prefixes (`v/`, `h/`) that queries
    /// read; the versions' own keys are not text.
    fn scan_last(&self, prefix: &str, n: usize) -> Result<Pairs, ProjectionError> {
        let items = |tree: &sled::Tree| match self.tail_bound(prefix) {
            Ok(Some(end)) => Ok(tree.range(prefix.as_bytes().to_vec()..end)),
            Ok(None) => Ok(tree.scan_prefix(prefix.as_bytes())),
            Err(e) => Err(e),
        };
        // A list whose items are keyed by the sequences that wrote them
        // (outcomes, statuses, history lines) and that no batch ever
        // rewrote — it has no versions at all — stood at `at` as its live
        // items up to `at` do: one read from the end. The versions are read
        // after the items, so a batch written between leaves what it
        // replaced among them, and the long way below is taken.
        let mut tail = Vec::with_capacity(n);
        let mut items_only = true;
        for entry in items(&self.tree)?.rev() {
            if tail.len() == n {
                break;
            }
            let (key, value) = entry?;
            let key = String::from_utf8_lossy(&key).into_owned();
            match named_sequence(&key) {
                Some(written) if written > self.at => {}
                Some(_) => tail.push((key, value.to_vec())),
                None => {
                    items_only = false;
                    break;
                }
            }
        }
        if items_only
            && self
                .tree
                .scan_prefix(versions_prefix(prefix))
                .next()
                .is_none()
        {
            tail.reverse();
            return Ok(tail);
        }
        tail.clear();
        for entry in items(&self.tree)?.keys().rev() {
            if tail.len() == n {
                break;
            }
            let key = String::from_utf8_lossy(&entry?).into_owned();
            if let Some(value) = KvRead::get(self, &key)? {
                tail.push((key, value));
            }
        }
        tail.reverse();
        Ok(tail)
    }

    fn scan(&self, prefix: &str) -> Result<Pairs, ProjectionError> {
        let mut merged: BTreeMap<String, Vec<u8>> = KvRead::scan(&self.tree, prefix)?
            .into_iter()
            .filter(|(k, _)| named_sequence(k).is_none_or(|n| n <= self.at))
            .collect();
        // The first version replaced after `at` is the value then.
        let mut decided = HashSet::new();
        for entry in self.tree.scan_prefix(versions_prefix(prefix)) {
            let (vk, v) = entry?;
            let Some((key, replaced_at)) = split_version_key(&vk) else {
                continue;
            };
            if replaced_at <= self.at
                || !versioned(&key)
                || named_sequence(&key).is_some_and(|n| n > self.at)
                || !decided.insert(key.clone())
            {
                continue;
            }
            match decode(&v) {
                Some(value) => merged.insert(key, value),
                None => merged.remove(&key),
            };
        }
        Ok(merged.into_iter().collect())
    }
}

/// A past view: the projection after a batch, with the events up to the
/// moment asked about folded on top — or, where that cannot be told from
/// the projection, the whole history folded in memory.
pub enum Past {
    Versioned {
        base: VersionedView,
        writes: BTreeMap<String, Vec<u8>>,
        /// Keeps a rättelse's re-projection away while the view is read.
        _reading: tokio::sync::OwnedRwLockReadGuard<()>,
    },
    Folded(crate::MemKv),
}

impl Past {
    /// Whether the answer came from the versions (false: a full fold).
    pub fn is_versioned(&self) -> bool {
        matches!(self, Past::Versioned { .. })
    }
}

impl KvRead for Past {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ProjectionError> {
        match self {
            Past::Versioned { base, writes, .. } => get_through(base, writes, key),
            Past::Folded(kv) => kv.get(key),
        }
    }

    fn scan(&self, prefix: &str) -> Result<Pairs, ProjectionError> {
        match self {
            Past::Versioned { base, writes, .. } => scan_through(base, writes, prefix),
            Past::Folded(kv) => kv.scan(prefix),
        }
    }

    fn scan_last(&self, prefix: &str, n: usize) -> Result<Pairs, ProjectionError> {
        match self {
            Past::Versioned { base, writes, .. } => scan_last_through(base, writes, prefix, n),
            Past::Folded(kv) => kv.scan_last(prefix, n),
        }
    }
}

/// How many events between two stretches a past view reads through rather
/// than reading the second apart: a read of its own costs a consumer's
/// creation and the wait for its first message, about 1–2 ms, as much as
/// reading some 200 events (measured on the 2-core machine).
pub(crate) const READ_THROUGH: u64 = 256;

/// How many events a past view folds on top of the projection at most;
/// beyond that the history is folded whole.
const TAIL_LIMIT: u64 = 4096;

/// How much of a segment a question takes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    All,
    Some,
    None,
}

fn fit(at: AsOf, s: &Segment) -> Fit {
    fn within<T: Ord>(range: &Option<(T, T)>, limit: &T, foreign: bool) -> Fit {
        match range {
            // Foreign messages only: an as-of reading takes them in.
            None => Fit::All,
            Some((_, hi)) if hi <= limit => Fit::All,
            Some((lo, _)) if lo > limit && !foreign => Fit::None,
            Some(_) => Fit::Some,
        }
    }
    match at {
        AsOf::Sequence(n) if s.end <= n => Fit::All,
        AsOf::Sequence(n) if s.first > n => Fit::None,
        AsOf::Sequence(_) => Fit::Some,
        AsOf::InForce(d) => within(&s.effective, &d, s.foreign),
        AsOf::Recorded(t) => within(&s.recorded, &t, s.foreign),
    }
}

impl Projector {
    /// The kommun's read models as of `at`, as [`crate::as_of`] folds them,
    /// read from the projection's kept versions where it can tell that
    /// they hold the same: the view after the last segment wholly within
    /// `at`, and the events of later segments that `at` takes in (and of
    /// any not yet projected) folded on top — at most [`TAIL_LIMIT`] of
    /// them. Otherwise (a rättelse where it would change the reading, a
    /// history projected some other way, too many events to fold) the
    /// whole history is folded in memory, as before.
    #[tracing::instrument(skip(self, store), fields(kommun = %kommun))]
    pub async fn as_of(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        at: AsOf,
    ) -> Result<Past, ProjectionError> {
        let reading = self.reading(kommun).await;
        match self.read_versions(store, kommun, at).await {
            Ok(Some((base, writes))) => {
                return Ok(Past::Versioned {
                    base,
                    writes,
                    _reading: reading,
                })
            }
            Ok(None) => {}
            // The versions are a cache like the rest: the fold answers.
            Err(e) => {
                tracing::warn!(error = %e, kommun = %kommun, "a past view could not be read from the versions; folding the history")
            }
        }
        drop(reading);
        Ok(Past::Folded(crate::as_of(store, kommun, at).await?))
    }

    async fn read_versions(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        at: AsOf,
    ) -> Result<Option<(VersionedView, BTreeMap<String, Vec<u8>>)>, ProjectionError> {
        let Some(reading) = self.plan_reading(kommun, at)? else {
            return Ok(None);
        };
        let view = VersionedView {
            tree: self.view().clone(),
            at: reading.base,
        };
        let mut overlay = Overlay::new(&view);
        if !self
            .fold_stretches(store, kommun, at, reading, &mut overlay)
            .await?
        {
            return Ok(None);
        }
        let writes = overlay.take();
        Ok(Some((view, writes)))
    }

    /// Which kept view a question starts from and which stretches of the
    /// stream it folds on top; `None` where the versions cannot tell (the
    /// fold answers).
    fn plan_reading(
        &self,
        kommun: &KommunId,
        at: AsOf,
    ) -> Result<Option<Reading>, ProjectionError> {
        let Some(cp) = self.checkpoint(kommun)? else {
            return Ok(None);
        };
        let closed = self.closed_segments(kommun)?;
        let open: Option<Segment> = match self.view().get(open_segment_key(kommun))? {
            Some(bytes) => Some(serde_json::from_slice(&bytes)?),
            None => None,
        };
        let segments: Vec<&Segment> = closed.iter().chain(open.as_ref()).collect();
        // Segments that do not cover the projection end to end (one
        // projected before they were kept) say nothing.
        let mut end = 0;
        for s in &segments {
            if s.first != end + 1 || s.end < s.first {
                return Ok(None);
            }
            end = s.end;
        }
        if end != cp.sequence {
            return Ok(None);
        }
        // A rättelse noted by a re-projection that has not got past it yet
        // (it was interrupted): the views are read through it, and a
        // question by sequence or time before it must not be.
        if self
            .rattelse_noted_at(kommun)?
            .is_some_and(|r| r > cp.sequence)
        {
            return Ok(None);
        }
        // Only a closed segment's end is a base: a key keeps one version
        // per segment, so the view at the open segment's end could not be
        // told from a batch written into it while the view is read.
        let whole = closed.iter().take_while(|s| fit(at, s) == Fit::All).count();
        let base = segments[..whole].last().map_or(0, |s| s.end);
        // The views were projected through every rättelse: a reading that
        // takes in only those recorded by then cannot start from them if a
        // later one exists; and a rättelse folded on top is read the long way.
        let later = &segments[whole..];
        let read_rattelse = match at {
            AsOf::InForce(_) => later.iter().any(|s| fit(at, s) != Fit::None && s.rattelse),
            _ => later.iter().any(|s| s.rattelse),
        };
        if read_rattelse {
            return Ok(None);
        }
        // The stretches to read: each from where the chain stood before it.
        let mut stretches: Vec<(ChainState, u64)> = Vec::new();
        let mut before = match segments[..whole].last() {
            Some(s) => s.at.as_ref().and_then(|c| c.chain_state(kommun)),
            None => Some(ChainState::genesis(kommun)),
        };
        let mut count = 0;
        // Whether the segments since the last stretch hold a rättelse: a
        // gap is read through only without one (reading it would send
        // the question to the fold).
        let mut gap_rattelse = false;
        for s in later {
            if fit(at, s) == Fit::None {
                gap_rattelse |= s.rattelse;
            } else {
                count += s.events;
                let through = !std::mem::take(&mut gap_rattelse);
                match stretches.last_mut() {
                    // Read on through a short gap (segments wholly outside
                    // the question: their events are read and left out).
                    Some((_, end)) if through && *end + 1 + self.read_through >= s.first => {
                        *end = s.end
                    }
                    _ => {
                        let Some(state) = before.clone() else {
                            return Ok(None);
                        };
                        stretches.push((state, s.end));
                    }
                }
            }
            before = s.at.as_ref().and_then(|c| c.chain_state(kommun));
        }
        if count > TAIL_LIMIT {
            return Ok(None);
        }
        // And what the projection has not reached yet.
        if !matches!(at, AsOf::Sequence(n) if n <= cp.sequence) {
            match stretches.last_mut() {
                Some((_, end)) if !gap_rattelse && *end + self.read_through >= cp.sequence => {
                    *end = u64::MAX
                }
                _ => {
                    let Some(state) = cp.chain_state(kommun) else {
                        return Ok(None);
                    };
                    stretches.push((state, u64::MAX));
                }
            }
        }
        Ok(Some(Reading {
            projected: cp.sequence,
            base,
            stretches,
            folded: count,
        }))
    }

    /// Folds the reading's stretches onto `overlay`, each event the
    /// question takes in; false where the versions cannot answer after all
    /// (a rättelse read, more than [`TAIL_LIMIT`] events).
    async fn fold_stretches(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        at: AsOf,
        reading: Reading,
        overlay: &mut Overlay<'_, VersionedView>,
    ) -> Result<bool, ProjectionError> {
        let corrections = self.corrections(kommun)?;
        let mut count = reading.folded;
        for (state, end) in reading.stretches {
            // A stretch the projection has read ends where it knows; the
            // one it has not reached goes to the stream's end.
            let records = match (end, at) {
                (u64::MAX, _) => store.history(kommun, state).await?.boxed(),
                (end, AsOf::Sequence(n)) => store
                    .history_between(kommun, state, end.min(n))
                    .await?
                    .boxed(),
                (end, _) => store.history_between(kommun, state, end).await?.boxed(),
            };
            futures::pin_mut!(records);
            while let Some(record) = records.next().await {
                let record = record?;
                let sequence = match &record {
                    Record::Event(e) => e.sequence,
                    Record::Foreign(f) => f.sequence,
                };
                if sequence > end || matches!(at, AsOf::Sequence(n) if sequence > n) {
                    break;
                }
                if sequence > reading.projected {
                    count += 1;
                    if count > TAIL_LIMIT {
                        return Ok(false);
                    }
                }
                match record {
                    Record::Event(e) => {
                        if e.envelope.event_type == "DecisionCorrected" {
                            return Ok(false);
                        }
                        if at.includes(&e) {
                            let event = read_event(&e, &corrections)?;
                            apply(overlay, &e, &event, &corrections)?;
                        }
                    }
                    Record::Foreign(f) => apply_foreign(overlay, kommun, &f)?,
                }
            }
        }
        Ok(true)
    }
}

/// What a past view reads: the kept view after `base` (a closed segment's
/// end), and the stretches of the stream folded on top, each from the
/// chain state before it to its end (`u64::MAX`: the stream's end).
struct Reading {
    /// How far the projection has read (its checkpoint).
    projected: u64,
    base: u64,
    stretches: Vec<(ChainState, u64)>,
    /// Events of the later segments the question takes in.
    folded: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_read_back_and_keep_key_order() {
        for key in ["v/k/goal/g-1", "h/k/a\0b/00000000000000000001", ""] {
            for at in [0, 1, 255, 256, u64::MAX] {
                let vk = version_key(key, at);
                assert_eq!(split_version_key(&vk), Some((key.to_owned(), at)));
                assert!(vk.starts_with(&versions_prefix(&key[..key.len() / 2])));
            }
        }
        // Every version of a key sorts by its sequence; a longer key with
        // the same beginning sorts after all of them.
        assert!(version_key("v/a", 2) < version_key("v/a", 256));
        assert!(version_key("v/a", u64::MAX) < version_key("v/a/b", 0));
        assert!(version_key("v/a", u64::MAX) < version_key("v/a\0", 0));
    }

    #[test]
    fn a_key_names_its_sequence_only_in_its_last_segment() {
        assert_eq!(named_sequence("h/k/goal/g/00000000000000000042"), Some(42));
        assert_eq!(
            named_sequence("v/k/outcome/g/i/00000000000000000042-000001"),
            Some(42)
        );
        assert_eq!(named_sequence("v/k/goal/00000000000000000042x"), None);
        assert_eq!(named_sequence("v/k/goal/0000000000000000004"), None);
        assert_eq!(named_sequence("v/k/00000000000000000042/goal"), None);
        // An id someone chose may be all digits: never read as a sequence.
        assert_eq!(named_sequence("v/k/goal/00000000000000099999"), None);
        assert_eq!(
            named_sequence("v/k/count/outcome/g/10000000000000000000-x"),
            None
        );
        assert_eq!(
            named_sequence("v/k/intrusion/00000000000000000007"),
            Some(7)
        );
    }
}
