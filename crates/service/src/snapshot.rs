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
//! - `e/<kommun>/<event id>` — the sequence of every event recorded through
//!   it (a rättelse reads the decision it corrects from there).
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
pub const SNAPSHOT_FORMAT: u32 = 1;

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

fn event_key(kommun: &KommunId, id: Uuid) -> Vec<u8> {
    let mut key = events_prefix(kommun).into_bytes();
    key.extend_from_slice(id.as_bytes());
    key
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
        for c in commits {
            batch.insert(
                format!("{}{}", keys_prefix(kommun), c.idempotency_key).into_bytes(),
                rmp_serde::to_vec(c)?,
            );
            for (id, sequence) in c.event_ids.iter().zip(c.sequences()) {
                batch.insert(event_key(kommun, *id), sequence.to_be_bytes().to_vec());
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

    /// The sequence of an event recorded through the kommun's snapshot.
    pub fn sequence_of(&self, kommun: &KommunId, id: Uuid) -> Result<Option<u64>, SnapshotError> {
        Ok(self.tree.get(event_key(kommun, id))?.and_then(|v| {
            let bytes: [u8; 8] = v.as_ref().try_into().ok()?;
            Some(u64::from_be_bytes(bytes))
        }))
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
