//! Snapshots of the decide state, so that a restarted service serves its
//! first submission without folding a kommun's whole history.
//!
//! One sled database (the service's own, beside the projections) holds per
//! kommun:
//! - `s/<kommun>` — the state folded through a sequence, where the chain
//!   stood there and the rättelser in force: a SHA-256 of the rest, then
//!   the rest as MessagePack;
//! - `k/<kommun>/<idempotency key>` — every commit recorded through that
//!   sequence (the store looks them up here instead of keeping them all in
//!   memory, [`styr_store::CommitArchive`]);
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

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use styr_domain::{Corrections, KommunState};
use styr_store::{ChainPosition, Commit, CommitArchive, KommunId, StoreError};
use uuid::Uuid;

/// Bumped whenever what a snapshot holds changes shape (a new field in the
/// state): an older snapshot is then dropped and the history folded again.
pub const SNAPSHOT_FORMAT: u32 = 2;

/// At most this many events' sequences in one `e/` entry.
pub const EVENTS_PER_CHUNK: usize = 4096;

/// Bytes of one (event id, sequence) pair in an `e/` chunk.
const PAIR: usize = 24;

/// A snapshot is taken once this many events were folded or recorded
/// since the last one: a restart folds at most about this many.
pub const SNAPSHOT_EVERY: u64 = 5_000;

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
#[derive(Debug, Clone)]
pub struct Snapshots {
    tree: sled::Tree,
    every: u64,
}

fn state_key(kommun: &KommunId) -> String {
    format!("s/{kommun}")
}

fn keys_prefix(kommun: &KommunId) -> String {
    format!("k/{kommun}/")
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

/// The sequence of `id` in an `e/` chunk, if it holds it.
fn in_chunk(value: &[u8], id: Uuid) -> Option<u64> {
    let (bounds, pairs) = value.split_at_checked(32)?;
    let id = *id.as_bytes();
    if id[..] < bounds[..16] || id[..] > bounds[16..] || !pairs.len().is_multiple_of(PAIR) {
        return None;
    }
    let pairs: Vec<&[u8]> = pairs.chunks_exact(PAIR).collect();
    let at = pairs.binary_search_by(|p| p[..16].cmp(&id[..])).ok()?;
    let sequence: [u8; 8] = pairs[at][16..].try_into().ok()?;
    Some(u64::from_be_bytes(sequence))
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

    /// Snapshots kept in `tree` of a database the caller opened.
    pub fn in_tree(tree: sled::Tree) -> Self {
        Snapshots {
            tree,
            every: SNAPSHOT_EVERY,
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
        for c in commits {
            batch.insert(
                format!("{}{}", keys_prefix(kommun), c.idempotency_key).into_bytes(),
                rmp_serde::to_vec(c)?,
            );
            events.extend(c.event_ids.iter().copied().zip(c.sequences()));
        }
        events.sort_unstable_by_key(|&(_, sequence)| sequence);
        for chunk in events.chunks(EVENTS_PER_CHUNK) {
            if let Some(&(_, last)) = chunk.last() {
                batch.insert(chunk_key(kommun, last), chunk_value(chunk.to_vec()));
            }
        }
        let size = value.len();
        batch.insert(state_key(kommun).into_bytes(), value);
        self.tree.apply_batch(batch)?;
        Ok(size)
    }

    /// Drops the kommun's snapshot and everything it vouched for.
    pub fn clear(&self, kommun: &KommunId) -> Result<(), SnapshotError> {
        let mut batch = sled::Batch::default();
        batch.remove(state_key(kommun).into_bytes());
        for prefix in [keys_prefix(kommun), events_prefix(kommun)] {
            for key in self.tree.scan_prefix(prefix.as_bytes()).keys() {
                batch.remove(key?);
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The sequence of an event recorded through the kommun's snapshot
    /// (reads the chunks whose id range holds it: a rättelse is rare).
    pub fn sequence_of(&self, kommun: &KommunId, id: Uuid) -> Result<Option<u64>, SnapshotError> {
        for entry in self.tree.scan_prefix(events_prefix(kommun).as_bytes()) {
            let (_, value) = entry?;
            if let Some(sequence) = in_chunk(&value, id) {
                return Ok(Some(sequence));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_finds_each_of_its_events_and_no_other() {
        let pairs: Vec<(Uuid, u64)> = (0..100u64).map(|s| (Uuid::now_v7(), s + 1)).collect();
        let value = chunk_value(pairs.iter().rev().copied().collect());
        for (id, sequence) in &pairs {
            assert_eq!(in_chunk(&value, *id), Some(*sequence));
        }
        assert_eq!(in_chunk(&value, Uuid::now_v7()), None);
        assert_eq!(in_chunk(&value, Uuid::nil()), None);
        assert_eq!(in_chunk(&value[..40], pairs[0].0), None);
        assert_eq!(in_chunk(&[], pairs[0].0), None);
    }
}

impl CommitArchive for Snapshots {
    fn commit(&self, kommun: &KommunId, key: &str) -> Result<Option<Commit>, StoreError> {
        let unreadable = |detail: String| StoreError::Corrupt {
            sequence: 0,
            reason: format!("idempotensnyckeln {key:?} i ögonblicksbilderna: {detail}"),
        };
        match self
            .tree
            .get(format!("{}{key}", keys_prefix(kommun)))
            .map_err(|e| unreadable(e.to_string()))?
        {
            Some(v) => rmp_serde::from_slice(&v)
                .map(Some)
                .map_err(|e| unreadable(e.to_string())),
            None => Ok(None),
        }
    }
}
