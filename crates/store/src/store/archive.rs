//! Resuming a kommun's index from a snapshot instead of reading its whole
//! stream: where the chain stood ([`ChainPosition`]) and the idempotency
//! keys recorded up to there, kept outside the store by whoever takes the
//! snapshot ([`CommitArchive`]) and looked up one key at a time.

use serde::{Deserialize, Serialize};

use super::{Commit, EventStore};
use crate::chain::{ChainState, KeyInForce};
use crate::{ChainHash, KommunId, StoreError};

/// Idempotency keys recorded before a snapshot, looked up on demand so
/// that the store keeps in memory only the keys recorded since. Its
/// keeper writes it together with the snapshot it belongs to and vouches
/// for it only as far as that snapshot ([`EventStore::resume`]).
pub trait CommitArchive: Send + Sync {
    /// The commit recorded under `key`, if the archive holds it.
    fn commit(&self, kommun: &KommunId, key: &str) -> Result<Option<Commit>, StoreError>;
}

/// Where a kommun's chain stands, in a form that can be stored: the next
/// sequence, the last chained event and its hash, the key in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainPosition {
    pub next: u64,
    pub chained: u64,
    pub head: ChainHash,
    /// The key in force: its id and public key.
    pub key: Option<(String, [u8; 32])>,
}

impl ChainState {
    /// Where this chain stands, to be stored.
    pub fn position(&self) -> ChainPosition {
        ChainPosition {
            next: self.next,
            chained: self.chained,
            head: self.head,
            key: self.key.as_ref().map(|k| (k.id.clone(), k.key.to_bytes())),
        }
    }

    /// The chain of `kommun` at a stored position (not checked against the
    /// stream: see [`EventStore::holds`]).
    pub fn at(kommun: &KommunId, p: &ChainPosition) -> Result<ChainState, StoreError> {
        let key = match &p.key {
            Some((id, bytes)) => Some(KeyInForce {
                id: id.clone(),
                key: ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|e| {
                    StoreError::Corrupt {
                        sequence: p.chained,
                        reason: format!("a stored chain position holds no valid key: {e}"),
                    }
                })?,
            }),
            None => None,
        };
        Ok(ChainState {
            kommun: kommun.clone(),
            next: p.next,
            chained: p.chained,
            head: p.head,
            key,
        })
    }
}

impl EventStore {
    /// Looks up keys recorded before a snapshot in `archive`. A store has
    /// one archive: false (and nothing changes) if another is set already.
    pub fn use_archive(&self, archive: std::sync::Arc<dyn CommitArchive>) -> bool {
        let set = self.archive.get_or_init(|| archive.clone());
        std::ptr::addr_eq(
            std::sync::Arc::as_ptr(set),
            std::sync::Arc::as_ptr(&archive),
        )
    }

    /// Whether the kommun's index looks keys up in the archive (it resumed
    /// from a snapshot, or gave keys over to one).
    pub async fn uses_archive(&self, kommun: &KommunId) -> bool {
        self.log(kommun).lock().await.archived_through > 0
    }

    /// Whether the kommun's stream holds the chain as `chain` has it: the
    /// event at its last chained sequence hashes to its head, and the
    /// stream reaches its end. The hash covers every event before it, so
    /// a stream that differs anywhere up to there — another history under
    /// the same name, one restored from an older backup — does not hold it.
    pub async fn holds(&self, kommun: &KommunId, chain: &ChainState) -> Result<bool, StoreError> {
        if chain.chained == 0 {
            return Ok(false);
        }
        if self.last_sequence(kommun).await? < chain.next - 1 {
            return Ok(false);
        }
        let raw = self.raw_message(kommun, chain.chained).await?;
        Ok(ChainHash::of_event(&raw) == chain.head)
    }

    /// Whether the stream [`holds`](Self::holds) `chain`; if it does and
    /// this store has read nothing of the kommun yet, its index resumes
    /// there, with every key recorded up to `chain`'s end in the archive,
    /// instead of reading the stream from its start (an index that has
    /// read already holds every key itself). False without an archive.
    pub async fn resume(&self, kommun: &KommunId, chain: &ChainState) -> Result<bool, StoreError> {
        let Some(archive) = self.archive.get() else {
            return Ok(false);
        };
        let log = self.log(kommun);
        let mut log = log.lock().await;
        if !self.holds(kommun, chain).await? {
            return Ok(false);
        }
        if log.head() == 0 {
            log.chain = chain.clone();
            log.archived_through = chain.next - 1;
            log.archive = Some(archive.clone());
        }
        Ok(true)
    }

    /// The commits this store holds in memory that end at or before
    /// `through`: what an archive taken there must receive.
    pub async fn commits_through(&self, kommun: &KommunId, through: u64) -> Vec<Commit> {
        let log = self.log(kommun);
        let log = log.lock().await;
        let mut commits: Vec<Commit> = log
            .commits
            .values()
            .filter(|c| c.last_sequence <= through)
            .cloned()
            .collect();
        commits.sort_by_key(|c| c.first_sequence);
        commits
    }

    /// The archive now holds every key recorded through `through`: the
    /// store forgets them from memory and looks them up there.
    pub async fn archived(&self, kommun: &KommunId, through: u64) {
        let Some(archive) = self.archive.get() else {
            return;
        };
        let log = self.log(kommun);
        let mut log = log.lock().await;
        if through > log.head() {
            return;
        }
        log.commits.retain(|_, c| c.last_sequence > through);
        log.archived_through = log.archived_through.max(through);
        log.archive = Some(archive.clone());
    }
}
