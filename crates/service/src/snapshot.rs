//! Snapshots of the decide state, so that a restarted service serves its
//! first submission without folding a kommun's whole history.
//!
//! One sled database (the service's own, beside the projections) holds per
//! kommun:
//! - `s/<kommun>` — the state folded through a sequence, where the chain
//!   stood there and the rättelser in force: a SHA-256 of the rest, then
//!   the rest as MessagePack;
//! - `r/<kommun>/<sequence>-<part>` — every commit recorded through that
//!   sequence, in runs of up to [`KEYS_PER_RUN`] sorted by idempotency key
//!   (the store looks them up here instead of keeping them all in memory,
//!   [`styr_store::CommitArchive`]), and beside each run
//!   `f/<kommun>/<sequence>-<part>`, a filter of its keys (about 3 bytes a
//!   key, kept in memory once read) that tells a key not in the run without
//!   reading it but about once in 100 000. One sled entry per key made
//!   opening the folder replay one entry per decision ever recorded.
//! - `e/<kommun>/<sequence>` — the sequence of every event recorded through
//!   it, in chunks of up to [`EVENTS_PER_CHUNK`] (keyed by the chunk's last
//!   sequence; the value is the chunk's lowest and highest event id, then
//!   its (id, sequence) pairs sorted by id): a rättelse reads the decision
//!   it corrects from there. One entry per event made the folder, and
//!   opening it, grow with the history (200 000 events: 59 MB, half a
//!   second to open).
//!
//! A snapshot and the keys and events it vouches for are written in one
//! sled batch. It is used only if the stream still holds the chain it was
//! taken at (the event at its sequence hashes to its head, which covers
//! everything before it); a snapshot that cannot be read, was taken by
//! another format, or belongs to another history is dropped with
//! everything it vouched for, and the history is folded from its start.
//! It is a cache: deleting the folder costs one full fold.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use styr_domain::{Corrections, KommunState};
use styr_store::{ChainPosition, Commit, CommitArchive, KommunId, StoreError};
use uuid::Uuid;

/// Bumped whenever what a snapshot holds changes shape (a new field in the
/// state): an older snapshot is then dropped and the history folded again.
pub const SNAPSHOT_FORMAT: u32 = 4;

/// At most this many commits in one `r/` run.
pub const KEYS_PER_RUN: usize = 4096;

/// Bits of a run's filter per key, and probes per key: a key not in the
/// run passes the filter with a chance of about 0.6185^24 ≈ 1e-5.
const FILTER_BITS_PER_KEY: usize = 24;
const FILTER_PROBES: u64 = 16;

/// At most this many events' sequences in one `e/` entry.
pub const EVENTS_PER_CHUNK: usize = 4096;

/// Bytes of one (event id, sequence) pair in an `e/` chunk.
const PAIR: usize = 24;

/// A snapshot is taken once this many events were folded or recorded
/// since the last one: a restart folds at most about this many.
pub const SNAPSHOT_EVERY: u64 = 2_000;

/// Why a snapshot could not be used or kept.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("ögonblicksbilderna i {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("ögonblicksbilden: {0}")]
    Sled(#[from] sled::Error),
    #[error("ögonblicksbilden går inte att skriva: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("ögonblicksbilden går inte att läsa: {0}")]
    Decode(String),
}

/// What deciding needs, as taken at a sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taken {
    pub format: u32,
    pub kommun: String,
    /// The last stream sequence folded.
    pub sequence: u64,
    pub chain: ChainPosition,
    pub state: KommunState,
    pub corrections: Corrections,
}

/// [`Taken`] by reference, for writing without a copy of the state.
#[derive(Serialize)]
pub struct TakenRef<'a> {
    pub format: u32,
    pub kommun: &'a str,
    pub sequence: u64,
    pub chain: ChainPosition,
    pub state: &'a KommunState,
    pub corrections: &'a Corrections,
}

/// The service's snapshots (see the module documentation).
#[derive(Debug)]
pub struct Snapshots {
    tree: sled::Tree,
    every: u64,
    /// Per kommun, once read: each run's sled key and its filter.
    runs: std::sync::Mutex<std::collections::HashMap<String, Arc<Vec<Arc<Run>>>>>,
}

/// A run of archived commits: where it is, and the filter of its keys.
#[derive(Debug)]
struct Run {
    key: Vec<u8>,
    filter: Filter,
}

/// A Bloom filter over a run's idempotency keys: `FILTER_PROBES` bits per
/// key, chosen by double hashing from the key's SHA-256.
#[derive(Debug)]
struct Filter(Vec<u8>);

/// The two hashes a key's probes are made from.
fn probes_of(key: &str) -> (u64, u64) {
    let h = Sha256::digest(key.as_bytes());
    let word = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or_default());
    (word(0), word(8) | 1)
}

impl Filter {
    fn with_keys<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let mut filter = Filter(vec![
            0;
            (keys.len().max(1) * FILTER_BITS_PER_KEY).div_ceil(8)
        ]);
        for key in keys {
            for bit in filter.bits(probes_of(key)) {
                filter.0[bit / 8] |= 1 << (bit % 8);
            }
        }
        filter
    }

    fn bits(&self, (h1, h2): (u64, u64)) -> impl Iterator<Item = usize> {
        let m = (self.0.len() * 8) as u64;
        (0..FILTER_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m.max(1)) as usize)
    }

    fn may_hold(&self, probes: (u64, u64)) -> bool {
        !self.0.is_empty()
            && self
                .bits(probes)
                .all(|bit| self.0[bit / 8] & (1 << (bit % 8)) != 0)
    }
}

/// A value with its SHA-256 in front: a run, a filter or a chunk that was
/// damaged is told from one that says "not here".
fn seal(body: &[u8]) -> Vec<u8> {
    let mut value = Sha256::digest(body).to_vec();
    value.extend_from_slice(body);
    value
}

/// The body of a sealed value, if it is as written.
fn unseal<'a>(value: &'a [u8], what: &str) -> Result<&'a [u8], String> {
    match value.split_at_checked(32) {
        Some((sum, body)) if Sha256::digest(body).as_slice() == sum => Ok(body),
        _ => Err(format!(
            "{what} i ögonblicksbilderna är skadad (kontrollsumman stämmer inte)"
        )),
    }
}

/// A length or offset of a run as written: at most `u32::MAX`.
fn len32(n: usize) -> Result<[u8; 4], SnapshotError> {
    u32::try_from(n)
        .map(u32::to_le_bytes)
        .map_err(|_| SnapshotError::Decode(format!("en nyckelserie blev för stor ({n} byte)")))
}

/// A run's value: the number of commits, each one's offset, then each as
/// key length (u32), key, commit length (u32), commit (MessagePack), in key
/// order — so a lookup decodes only the commits its binary search visits.
fn run_value(commits: &[&Commit]) -> Result<Vec<u8>, SnapshotError> {
    let mut entries = Vec::new();
    let mut offsets = Vec::with_capacity(commits.len());
    for c in commits {
        offsets.push(len32(entries.len())?);
        let body = rmp_serde::to_vec(c)?;
        entries.extend_from_slice(&len32(c.idempotency_key.len())?);
        entries.extend_from_slice(c.idempotency_key.as_bytes());
        entries.extend_from_slice(&len32(body.len())?);
        entries.extend_from_slice(&body);
    }
    let mut value = Vec::with_capacity(4 + offsets.len() * 4 + entries.len());
    value.extend_from_slice(&len32(commits.len())?);
    for o in offsets {
        value.extend_from_slice(&o);
    }
    value.extend_from_slice(&entries);
    Ok(value)
}

/// The commit recorded under `key` in a run's value; `Err` when the value
/// does not read as a run.
fn in_run(value: &[u8], key: &str) -> Result<Option<Commit>, String> {
    let bad = || "en nyckelserie går inte att läsa".to_owned();
    let u32_at = |at: usize| -> Result<usize, String> {
        let b: [u8; 4] = value
            .get(at..at + 4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        Ok(u32::from_le_bytes(b) as usize)
    };
    let count = u32_at(0)?;
    let entries = 4 + count * 4;
    let entry = |i: usize| -> Result<(&[u8], usize), String> {
        let at = entries + u32_at(4 + i * 4)?;
        let len = u32_at(at)?;
        Ok((
            value.get(at + 4..at + 4 + len).ok_or_else(bad)?,
            at + 4 + len,
        ))
    };
    let (mut low, mut high) = (0, count);
    while low < high {
        let mid = (low + high) / 2;
        let (k, body_at) = entry(mid)?;
        match k.cmp(key.as_bytes()) {
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
            std::cmp::Ordering::Equal => {
                let len = u32_at(body_at)?;
                let body = value.get(body_at + 4..body_at + 4 + len).ok_or_else(bad)?;
                return rmp_serde::from_slice(body)
                    .map(Some)
                    .map_err(|e| e.to_string());
            }
        }
    }
    Ok(None)
}

fn state_key(kommun: &KommunId) -> String {
    format!("s/{kommun}")
}

/// Where a kommun's commits were kept one per key, before runs (format 2):
/// still cleared.
fn keys_prefix(kommun: &KommunId) -> String {
    format!("k/{kommun}/")
}

fn runs_prefix(kommun: &KommunId) -> String {
    format!("r/{kommun}/")
}

fn filters_prefix(kommun: &KommunId) -> String {
    format!("f/{kommun}/")
}

fn events_prefix(kommun: &KommunId) -> String {
    format!("e/{kommun}/")
}

fn chunk_key(kommun: &KommunId, last: u64) -> Vec<u8> {
    format!("{}{last:020}", events_prefix(kommun)).into_bytes()
}

/// An `e/` chunk's value: its lowest and highest id, then the pairs by id.
fn chunk_value(mut pairs: Vec<(Uuid, u64)>) -> Vec<u8> {
    pairs.sort_unstable();
    let (Some(low), Some(high)) = (pairs.first(), pairs.last()) else {
        return Vec::new();
    };
    let mut value = Vec::with_capacity(32 + pairs.len() * PAIR);
    value.extend_from_slice(low.0.as_bytes());
    value.extend_from_slice(high.0.as_bytes());
    for (id, sequence) in &pairs {
        value.extend_from_slice(id.as_bytes());
        value.extend_from_slice(&sequence.to_be_bytes());
    }
    value
}

/// The sequence of `id` in an `e/` chunk, if it holds it; `Err` when the
/// value does not read as a chunk.
fn in_chunk(value: &[u8], id: Uuid) -> Result<Option<u64>, String> {
    let bad = || "en händelseförteckning går inte att läsa".to_owned();
    let (bounds, pairs) = value.split_at_checked(32).ok_or_else(bad)?;
    if !pairs.len().is_multiple_of(PAIR) {
        return Err(bad());
    }
    let id = *id.as_bytes();
    if id[..] < bounds[..16] || id[..] > bounds[16..] {
        return Ok(None);
    }
    let pairs: Vec<&[u8]> = pairs.chunks_exact(PAIR).collect();
    let Ok(at) = pairs.binary_search_by(|p| p[..16].cmp(&id[..])) else {
        return Ok(None);
    };
    let sequence: [u8; 8] = pairs[at][16..].try_into().map_err(|_| bad())?;
    Ok(Some(u64::from_be_bytes(sequence)))
}

impl Snapshots {
    /// Opens (or creates) the snapshot folder at `path`.
    pub fn open(path: &Path) -> Result<Self, SnapshotError> {
        let db = sled::open(path).map_err(|source| SnapshotError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::in_tree(db.open_tree("decide")?))
    }

    /// Snapshots kept in `tree` of a database the caller opened. One
    /// handle per tree in a process: each keeps the filters it has read,
    /// and only its own writes reach them.
    pub fn in_tree(tree: sled::Tree) -> Self {
        Snapshots {
            tree,
            every: SNAPSHOT_EVERY,
            runs: Default::default(),
        }
    }

    /// Takes a snapshot once `events` were folded or recorded since the
    /// last one (default [`SNAPSHOT_EVERY`]).
    pub fn every(mut self, events: u64) -> Self {
        self.every = events.max(1);
        self
    }

    /// How many events pass between snapshots.
    pub fn interval(&self) -> u64 {
        self.every
    }

    /// The kommun's snapshot, if there is one and it reads as written.
    pub fn load(&self, kommun: &KommunId) -> Result<Option<Taken>, SnapshotError> {
        let Some(bytes) = self.tree.get(state_key(kommun))? else {
            return Ok(None);
        };
        if bytes.len() < 32 || Sha256::digest(&bytes[32..]).as_slice() != &bytes[..32] {
            return Err(SnapshotError::Decode(
                "kontrollsumman stämmer inte".to_owned(),
            ));
        }
        let taken: Taken = rmp_serde::from_slice(&bytes[32..])
            .map_err(|e| SnapshotError::Decode(e.to_string()))?;
        if taken.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Decode(format!(
                "format {}, inte {SNAPSHOT_FORMAT}",
                taken.format
            )));
        }
        if taken.kommun != kommun.as_str() {
            return Err(SnapshotError::Decode(format!(
                "tagen för kommunen {}",
                taken.kommun
            )));
        }
        Ok(Some(taken))
    }

    /// Writes a snapshot with the commits it vouches for that are not
    /// written yet (every commit recorded through `taken.sequence` must be
    /// here or in an earlier snapshot's batch), in one batch.
    pub fn write(
        &self,
        kommun: &KommunId,
        taken: &TakenRef<'_>,
        commits: &[Commit],
    ) -> Result<usize, SnapshotError> {
        let body = rmp_serde::to_vec_named(taken)?;
        let mut value = Sha256::digest(&body).to_vec();
        value.extend_from_slice(&body);
        let mut batch = sled::Batch::default();
        let mut events: Vec<(Uuid, u64)> = Vec::new();
        let mut sorted: Vec<&Commit> = commits.iter().collect();
        sorted.sort_unstable_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
        let mut runs = Vec::new();
        for (part, run) in sorted.chunks(KEYS_PER_RUN).enumerate() {
            let name = format!("{}/{:020}-{part:05}", kommun, taken.sequence);
            let filter = Filter::with_keys(run.iter().map(|c| c.idempotency_key.as_str()));
            let key = format!("r/{name}").into_bytes();
            batch.insert(key.clone(), seal(&run_value(run)?));
            batch.insert(format!("f/{name}").into_bytes(), seal(&filter.0));
            runs.push(Arc::new(Run { key, filter }));
        }
        for c in commits {
            events.extend(c.event_ids.iter().copied().zip(c.sequences()));
        }
        events.sort_unstable_by_key(|&(_, sequence)| sequence);
        for chunk in events.chunks(EVENTS_PER_CHUNK) {
            if let Some(&(_, last)) = chunk.last() {
                batch.insert(chunk_key(kommun, last), seal(&chunk_value(chunk.to_vec())));
            }
        }
        let size = value.len();
        batch.insert(state_key(kommun).into_bytes(), value);
        // Under the lock of the filters read, so that they and the folder
        // never differ.
        let mut read = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        self.tree.apply_batch(batch)?;
        if let Some(known) = read.get_mut(kommun.as_str()) {
            let mut more = known.as_ref().clone();
            more.extend(runs);
            *known = Arc::new(more);
        }
        Ok(size)
    }

    /// Drops the kommun's snapshot and everything it vouched for.
    pub fn clear(&self, kommun: &KommunId) -> Result<(), SnapshotError> {
        // Held from the scan to the write: a snapshot written meanwhile is
        // either cleared too or written after.
        let mut read = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        batch.remove(state_key(kommun).into_bytes());
        for prefix in [
            keys_prefix(kommun),
            runs_prefix(kommun),
            filters_prefix(kommun),
            events_prefix(kommun),
        ] {
            for key in self.tree.scan_prefix(prefix.as_bytes()).keys() {
                batch.remove(key?);
            }
        }
        read.remove(kommun.as_str());
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The commit recorded under `key` in the kommun's runs: only runs
    /// whose filter may hold it are read (their filters are read from the
    /// folder on first use, and looked through without holding the lock).
    /// A filter without its run, or a run or filter that is not as written,
    /// is an error, never "not recorded": the store has forgotten these
    /// keys and would record a retry again.
    fn archived_commit(&self, kommun: &KommunId, key: &str) -> Result<Option<Commit>, String> {
        let runs = {
            let mut read = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            match read.get(kommun.as_str()) {
                Some(runs) => runs.clone(),
                None => {
                    let runs = Arc::new(self.read_filters(kommun)?);
                    read.insert(kommun.as_str().to_owned(), runs.clone());
                    runs
                }
            }
        };
        if runs.is_empty() {
            return Ok(None);
        }
        let probes = probes_of(key);
        for run in runs.iter().filter(|r| r.filter.may_hold(probes)) {
            let value = self
                .tree
                .get(&run.key)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "en nyckelserie saknas i ögonblicksbilderna".to_owned())?;
            if let Some(commit) = in_run(unseal(&value, "en nyckelserie")?, key)? {
                return Ok(Some(commit));
            }
        }
        Ok(None)
    }

    /// The filters of the kommun's runs, as written.
    fn read_filters(&self, kommun: &KommunId) -> Result<Vec<Arc<Run>>, String> {
        let mut runs = Vec::new();
        for entry in self.tree.scan_prefix(filters_prefix(kommun).as_bytes()) {
            let (name, value) = entry.map_err(|e| e.to_string())?;
            let bits = unseal(&value, "ett nyckelfilter")?;
            if bits.is_empty() {
                return Err("ett nyckelfilter i ögonblicksbilderna är tomt".to_owned());
            }
            let mut key = b"r".to_vec();
            key.extend_from_slice(&name[1..]);
            runs.push(Arc::new(Run {
                key,
                filter: Filter(bits.to_vec()),
            }));
        }
        Ok(runs)
    }

    /// The sequence of an event recorded through the kommun's snapshot. It
    /// reads the chunks one by one until one holds it (a rättelse is rare).
    pub fn sequence_of(&self, kommun: &KommunId, id: Uuid) -> Result<Option<u64>, SnapshotError> {
        for entry in self.tree.scan_prefix(events_prefix(kommun).as_bytes()) {
            let (_, value) = entry?;
            let chunk = unseal(&value, "en händelseförteckning").map_err(SnapshotError::Decode)?;
            if let Some(sequence) = in_chunk(chunk, id).map_err(SnapshotError::Decode)? {
                return Ok(Some(sequence));
            }
        }
        Ok(None)
    }
}

impl CommitArchive for Snapshots {
    fn commit(&self, kommun: &KommunId, key: &str) -> Result<Option<Commit>, StoreError> {
        let unreadable = |detail: String| StoreError::Corrupt {
            sequence: 0,
            reason: format!("idempotensnyckeln {key:?} i ögonblicksbilderna: {detail}"),
        };
        self.archived_commit(kommun, key).map_err(unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(key: &str, at: u64) -> Commit {
        Commit {
            idempotency_key: key.to_owned(),
            first_sequence: at,
            last_sequence: at,
            event_ids: vec![Uuid::now_v7()],
        }
    }

    #[test]
    fn a_run_finds_each_of_its_commits_and_no_other() {
        let mut commits: Vec<Commit> = (0..500u64)
            .map(|i| commit(&format!("nyckel-{i}"), i + 1))
            .collect();
        commits.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
        let refs: Vec<&Commit> = commits.iter().collect();
        let value = run_value(&refs).unwrap();
        let filter = Filter::with_keys(commits.iter().map(|c| c.idempotency_key.as_str()));
        for c in &commits {
            assert_eq!(in_run(&value, &c.idempotency_key), Ok(Some(c.clone())));
            assert!(filter.may_hold(probes_of(&c.idempotency_key)));
        }
        for absent in ["", "nyckel-", "nyckel-500", "zzz", "a"] {
            assert_eq!(in_run(&value, absent), Ok(None));
        }
        // Of keys not in the run, the filter lets almost none through.
        let passed = (0..100_000)
            .filter(|i| filter.may_hold(probes_of(&format!("annan-{i}"))))
            .count();
        assert!(passed < 20, "{passed} of 100 000 passed");
        assert!(in_run(&value[..value.len() / 2], "nyckel-499").is_err());
        assert_eq!(in_run(&run_value(&[]).unwrap(), "nyckel-1"), Ok(None));
    }

    #[test]
    fn a_chunk_finds_each_of_its_events_and_no_other() {
        let pairs: Vec<(Uuid, u64)> = (0..100u64).map(|s| (Uuid::now_v7(), s + 1)).collect();
        let value = chunk_value(pairs.iter().rev().copied().collect());
        for (id, sequence) in &pairs {
            assert_eq!(in_chunk(&value, *id), Ok(Some(*sequence)));
        }
        assert_eq!(in_chunk(&value, Uuid::now_v7()), Ok(None));
        assert_eq!(in_chunk(&value, Uuid::nil()), Ok(None));
        assert!(in_chunk(&value[..40], pairs[0].0).is_err());
        assert!(in_chunk(&[], pairs[0].0).is_err());
        // Sealed: a flipped byte is told from "not here".
        let mut sealed = seal(&value);
        assert_eq!(unseal(&sealed, "x"), Ok(&value[..]));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(unseal(&sealed, "x").is_err());
    }
}
