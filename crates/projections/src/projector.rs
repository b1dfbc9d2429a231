//! The live projection: sled, one batch per flush holding the view writes
//! and the checkpoint together.

use std::path::{Path, PathBuf};

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use styr_store::{ChainHash, ChainState, EventStore, KeyInForce, KommunId, Record};

use crate::apply::{histories_prefix, view_key};
use crate::kv::{KvRead, Overlay};
use crate::versions;
use styr_domain::Corrections;

use crate::{apply, apply_foreign, read_event, ProjectionError, PROJECTION_VERSION};

const VERSION_KEY: &str = "meta/version";

/// How far a kommun's projection has got: the last message applied and its
/// hash, and where the chain stood then (so a later catch-up classifies the
/// next messages exactly as a reader from the start would).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub sequence: u64,
    pub hash: String,
    /// The last chained event (foreign messages are not).
    pub chained: u64,
    pub chain_head: String,
    /// The key in force: (key id, public key hex).
    pub key: Option<(String, String)>,
}

impl Checkpoint {
    fn new(state: &ChainState, hash: &ChainHash) -> Self {
        Checkpoint {
            sequence: state.next - 1,
            hash: hash.to_hex(),
            chained: state.chained,
            chain_head: state.head.to_hex(),
            key: state
                .key
                .as_ref()
                .map(|k| (k.id.clone(), hex::encode(k.key.as_bytes()))),
        }
    }

    pub(crate) fn chain_state(&self, kommun: &KommunId) -> Option<ChainState> {
        let key = match &self.key {
            Some((id, public)) => {
                let bytes: [u8; 32] = hex::decode(public).ok()?.try_into().ok()?;
                Some(KeyInForce {
                    id: id.clone(),
                    key: ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?,
                })
            }
            None => None,
        };
        Some(ChainState {
            kommun: kommun.clone(),
            next: self.sequence + 1,
            chained: self.chained,
            head: self.chain_head.parse().ok()?,
            key,
        })
    }
}

fn checkpoint_key(kommun: &KommunId) -> String {
    format!("c/{kommun}")
}

/// Where the kommun's rättelser that take effect are kept: every catch-up
/// reads the history through them.
fn corrections_key(kommun: &KommunId) -> String {
    format!("r/{kommun}")
}

/// The sequence of the latest rättelse noted in `r/<kommun>`: views at
/// a checkpoint before it are being re-projected through it.
fn rattelse_key(kommun: &KommunId) -> String {
    format!("rs/{kommun}")
}

/// SHA-256 over a kommun's views and histories in key order (the checkpoint
/// is left out, so an in-memory as-of fold of the same events compares equal).
pub fn digest(kv: &(impl KvRead + ?Sized), kommun: &KommunId) -> Result<String, ProjectionError> {
    let mut h = Sha256::new();
    for prefix in [
        view_key(kommun.as_str(), ""),
        histories_prefix(kommun.as_str()),
    ] {
        for (k, v) in kv.scan(&prefix)? {
            h.update((k.len() as u64).to_be_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_be_bytes());
            h.update(&v);
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// The file that marks a folder as a Styrkedja projection.
pub const MARKER: &str = "STYRKEDJA-PROJEKTION";

/// Makes sure `path` is ours to use: absent or empty (then it is created and
/// marked), or already marked. Anything else — a folder from before the
/// marker existed included — is refused and left as it is.
fn claim(path: &Path) -> Result<(), ProjectionError> {
    let marker = path.join(MARKER);
    if marker.is_file() {
        return Ok(());
    }
    let io = |e: std::io::Error| ProjectionError::Sled(sled::Error::Io(e));
    let empty = match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(io(e)),
    };
    if !empty {
        return Err(ProjectionError::NotAProjection {
            path: path.display().to_string(),
            marker: MARKER,
        });
    }
    std::fs::create_dir_all(path).map_err(io)?;
    std::fs::write(
        &marker,
        "Den här mappen är en Styrkedja-projektion: en cache som byggs om från JetStream.\n",
    )
    .map_err(io)
}

fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
        || e.to_string().contains("could not acquire lock")
}

/// How many events a rebuild or catch-up applies between two sled batches
/// by default: one segment of the kept versions (a segment closes at the
/// end of the batch that fills it), so that a past view folds at most that
/// many events on top of them. 256 gave past views a p99 a third lower
/// than 512, the rebuild's rate within noise (128: no lower again, the
/// rebuild slower). The CLI's `project --flush-every` help names the
/// figure.
pub const FLUSH_EVENTS: usize = versions::SEGMENT_EVENTS as usize;

/// One node's projection of any number of kommuner.
pub struct Projector {
    _db: sled::Db,
    tree: sled::Tree,
    path: PathBuf,
    flush_every: usize,
    /// Events per segment of the kept versions (see `versions`).
    segment_events: u64,
    /// How many events between two stretches a past view reads through.
    pub(crate) read_through: u64,
    /// Per kommun: serialises batch application, so that concurrent
    /// catch-ups of one kommun never apply an event twice (kommuner fold
    /// side by side: their keys never overlap; sled itself writes every
    /// batch under one process-wide lock).
    applying:
        std::sync::Mutex<std::collections::HashMap<KommunId, std::sync::Arc<std::sync::Mutex<()>>>>,
    /// One catch-up per kommun at a time: a burst of queries waits for the
    /// one reading the stream instead of each reading it again.
    catching_up: std::sync::Mutex<
        std::collections::HashMap<KommunId, std::sync::Arc<tokio::sync::Mutex<()>>>,
    >,
    /// Per kommun: readers of its view share it, a catch-up holds it alone
    /// (a rättelse clears the view and projects it again meanwhile).
    views: std::sync::Mutex<
        std::collections::HashMap<KommunId, std::sync::Arc<tokio::sync::RwLock<()>>>,
    >,
    /// Kommuner whose checkpoint this process has checked against the
    /// stream (it is the same history, not one restored or replaced).
    verified: std::sync::Mutex<std::collections::HashSet<KommunId>>,
    /// Per kommun: how many batches have written a document the
    /// styrkedja graph is built from, and the graph built at such a count.
    /// Each kommun's slot has a lock of its own, held while its batches are
    /// written, so no kommun waits on another's slot (sled's own batch
    /// lock is still one for the process).
    graphs: std::sync::Mutex<
        std::collections::HashMap<KommunId, std::sync::Arc<std::sync::Mutex<GraphSlot>>>,
    >,
}

/// Plan answers kept per kommun (the years a dashboard shows: this, the
/// next two, the last).
const PLANS_KEPT: usize = 4;

/// A kommun's styrkedja graph as last built, and the generation of its
/// documents: the graph serves while `built == changed`.
#[derive(Default)]
struct GraphSlot {
    changed: u64,
    built: Option<(u64, std::sync::Arc<crate::query::Graph>)>,
    /// Every batch written for the kommun, counted like `changed`: a plan
    /// answer built at `written == n` serves while it is still `n`.
    written: u64,
    /// Plan answers (as a service answers them: latest values only) by
    /// year, with the write generation they were built at.
    plans: std::collections::HashMap<i32, (u64, std::sync::Arc<crate::KeptPlan>)>,
    /// The goals and uppdrag the kept plans are assembled from, as the
    /// last plan that was kept read them, with what has been touched
    /// since: the next plan reads only those again.
    parts: crate::parts::PlanParts,
    /// The kommun's closed segments of kept versions as far as read: a
    /// batch only ever adds segments after them, a clearing drops them.
    segments: Option<std::sync::Arc<Vec<versions::Segment>>>,
}

/// What a batch wrote, as far as what is kept between writes goes.
enum Wrote {
    /// The kommun's view cleared (a rättelse, a rebuild): everything.
    Everything,
    /// Documents and values: whether any the styrkedja graph is built from,
    /// and which goals and uppdrag.
    Views {
        graph: bool,
        parts: crate::parts::Touched,
    },
}

impl Projector {
    /// Opens (or creates) the projection folder. sled is a cache: if it does
    /// not open, or holds another projection version, it is emptied and
    /// rebuilt from JetStream on the next catch-up — but only a folder that
    /// is provably a Styrkedja projection (it carries [`MARKER`], written at
    /// creation) is ever emptied, and never because another process has it
    /// open ([`ProjectionError::InUse`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ProjectionError> {
        let path = path.as_ref().to_path_buf();
        claim(&path)?;
        match Self::try_open(&path) {
            Err(ProjectionError::Sled(e)) if is_lock_error(&e) => Err(ProjectionError::InUse {
                path: path.display().to_string(),
            }),
            Err(e @ (ProjectionError::Sled(_) | ProjectionError::Json(_))) => {
                // Damaged on disk: it is a cache (and provably ours), so
                // start it afresh; the next catch-up rebuilds it.
                tracing::warn!(error = %e, path = %path.display(), "projection store unreadable; starting it afresh");
                let _ = std::fs::remove_dir_all(&path);
                claim(&path)?;
                Self::try_open(&path)
            }
            other => other,
        }
    }

    /// Deletes a projection folder found damaged while in use (closed first:
    /// drop the projector), if it is provably a Styrkedja projection.
    pub fn discard(path: &Path) -> Result<(), ProjectionError> {
        if path.join(MARKER).is_file() {
            std::fs::remove_dir_all(path).map_err(|e| ProjectionError::Sled(sled::Error::Io(e)))?;
        }
        Ok(())
    }

    /// Opens sled and reads what opening needs; any damage shows here (and
    /// a folder written with other storage settings, e.g. uncompressed
    /// before compression was turned on: sled refuses to open it).
    fn try_open(path: &Path) -> Result<Self, ProjectionError> {
        let db = sled_config(path).open()?;
        let tree = db.open_tree("views")?;
        let version = tree.get(VERSION_KEY)?.map(|v| v.to_vec());
        if version.as_deref() != Some(PROJECTION_VERSION.to_string().as_bytes()) {
            if version.is_some() {
                tracing::info!(
                    want = PROJECTION_VERSION,
                    "projection version changed; rebuilding"
                );
            }
            tree.clear()?;
            tree.insert(VERSION_KEY, PROJECTION_VERSION.to_string().as_bytes())?;
        }
        // Reading every checkpoint touches the pages a catch-up needs first.
        for entry in tree.scan_prefix("c/") {
            let (_, v) = entry?;
            serde_json::from_slice::<Checkpoint>(&v)?;
        }
        Ok(Projector {
            _db: db,
            tree,
            path: path.to_path_buf(),
            flush_every: FLUSH_EVENTS,
            segment_events: versions::SEGMENT_EVENTS,
            read_through: versions::READ_THROUGH,
            applying: Default::default(),
            catching_up: Default::default(),
            views: Default::default(),
            verified: Default::default(),
            graphs: Default::default(),
        })
    }

    /// Applies at most this many events between two sled batches.
    pub fn with_flush_every(mut self, n: usize) -> Self {
        self.flush_every = n.max(1);
        self
    }

    /// Closes a segment of the kept versions once it holds this many
    /// events (a past view folds at most about one segment on top of
    /// them); for tests and tuning.
    pub fn with_segment_events(mut self, n: u64) -> Self {
        self.segment_events = n.max(1);
        self
    }

    /// Reads through at most this many events between two stretches a
    /// past view folds, rather than reading the second apart; for tests
    /// and tuning.
    pub fn with_read_through(mut self, n: u64) -> Self {
        self.read_through = n;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The view the queries read.
    pub fn view(&self) -> &sled::Tree {
        &self.tree
    }

    pub fn checkpoint(&self, kommun: &KommunId) -> Result<Option<Checkpoint>, ProjectionError> {
        match self.tree.get(checkpoint_key(kommun))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    pub fn digest(&self, kommun: &KommunId) -> Result<String, ProjectionError> {
        digest(&self.tree, kommun)
    }

    /// [`crate::chain`] over the live view, from a graph built once per
    /// change of the documents it is made of (goals, uppdrag, bodies, units,
    /// plans, vision) and kept in memory: outcomes, statuses of other kinds
    /// and the like do not rebuild it.
    pub fn chain(
        &self,
        kommun: &KommunId,
        node: &str,
    ) -> Result<Option<crate::ChainPath>, ProjectionError> {
        let slot = per_kommun(&self.graphs, kommun);
        let changed = {
            let slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((built, graph)) = &slot.built {
                if *built == slot.changed {
                    return Ok(crate::query::chain_in(graph, node));
                }
            }
            slot.changed
        };
        // Built from what the view holds now, which is at least as new as
        // `changed` (a batch counts its change only once it is written).
        let graph = std::sync::Arc::new(crate::query::graph(&self.tree, kommun)?);
        let path = crate::query::chain_in(&graph, node);
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        // A slower build of an older state never replaces a newer one.
        if slot
            .built
            .as_ref()
            .is_none_or(|(built, _)| *built <= changed)
        {
            slot.built = Some((changed, graph));
        }
        Ok(path)
    }

    /// Writes a sled batch of the kommun's; what is kept between writes
    /// (the graph, plans and their parts) is marked stale under the
    /// kommun's graph lock in the same step, so a query never finds the new
    /// view with the old kept still counted current.
    fn write(
        &self,
        kommun: &KommunId,
        batch: sled::Batch,
        wrote: Wrote,
    ) -> Result<(), ProjectionError> {
        let slot = per_kommun(&self.graphs, kommun);
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        self.tree.apply_batch(batch)?;
        slot.written += 1;
        slot.plans.clear();
        match wrote {
            Wrote::Everything => {
                slot.changed += 1;
                slot.parts.drop_all();
                slot.segments = None;
            }
            Wrote::Views { graph, parts } => {
                slot.changed += u64::from(graph);
                slot.parts.touched(&parts);
            }
        }
        Ok(())
    }

    /// The kommun's closed segments of kept versions, in order: those read
    /// before and, read now, those closed since (under the lock the
    /// kommun's batches are written under, so a clearing is never half
    /// seen). A question about the past
    /// costs no decoding of the whole list, which grows with the history.
    pub(crate) fn closed_segments(
        &self,
        kommun: &KommunId,
    ) -> Result<std::sync::Arc<Vec<versions::Segment>>, ProjectionError> {
        let slot = per_kommun(&self.graphs, kommun);
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        let cached = slot.segments.get_or_insert_with(Default::default);
        let prefix = versions::segments_prefix(kommun);
        let from = match cached.last() {
            Some(s) => versions::segment_key(kommun, s.end.saturating_add(1)),
            None => prefix.clone(),
        };
        for entry in self.tree.range(from.as_bytes()..) {
            let (key, value) = entry?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            std::sync::Arc::make_mut(cached).push(serde_json::from_slice(&value)?);
        }
        Ok(cached.clone())
    }

    /// The plan for `year` as a service answers it over the network (each
    /// indicator's and uppdrag's latest values: [`crate::Outcomes::Latest`]),
    /// built once per write of the kommun's view and kept until the next:
    /// what a dashboard asks again and again costs one build per change.
    /// A build after a write reads again only the goals and uppdrag the
    /// writes since the last build touched; the others' JSON is kept
    /// ([`crate::Part`]).
    /// The caller reads under [`Projector::reading`] (as the service does),
    /// so that a rättelse's clearing of the view is never seen half done.
    pub fn plan(
        &self,
        kommun: &KommunId,
        year: i32,
    ) -> Result<std::sync::Arc<crate::KeptPlan>, ProjectionError> {
        let slot = per_kommun(&self.graphs, kommun);
        let (written, mut parts) = {
            let slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, plan)) = slot.plans.get(&year) {
                if slot.written == *at {
                    return Ok(plan.clone());
                }
            }
            (slot.written, slot.parts.clone())
        };
        let (goals, uppdrag) = parts.refresh(&self.tree, kommun, crate::OUTCOMES_KEPT, year)?;
        let view = crate::query::plan_of(&self.tree, kommun, year, goals, uppdrag)?;
        let plan = std::sync::Arc::new(crate::KeptPlan::new(view));
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        // Kept only if nothing was written while it was built; a few
        // years per kommun (a client asking year after year keeps no more).
        if slot.written == written {
            if slot.plans.len() >= PLANS_KEPT {
                slot.plans.clear();
            }
            slot.plans.insert(year, (written, plan.clone()));
            slot.parts = parts;
        }
        Ok(plan)
    }

    /// Checks the checkpoint against the stream: the message at its sequence
    /// must still be there with the same hash. Returns where to go on from.
    async fn verify_checkpoint(
        &self,
        store: &EventStore,
        kommun: &KommunId,
    ) -> Result<ChainState, ProjectionError> {
        let Some(cp) = self.checkpoint(kommun)? else {
            return Ok(ChainState::genesis(kommun));
        };
        let halted = |reason: String| ProjectionError::Halted {
            kommun: kommun.to_string(),
            reason,
        };
        let last = store.last_sequence(kommun).await?;
        if last < cp.sequence {
            return Err(halted(format!(
                "strömmen slutar före kontrollpunkten vid sekvens {}",
                cp.sequence
            )));
        }
        let stored = ChainHash::of_event(&store.raw_message(kommun, cp.sequence).await?);
        if stored.to_hex() != cp.hash {
            return Err(halted(format!(
                "strömmens meddelande {} har hashen {stored}, projektionen såg {}",
                cp.sequence, cp.hash
            )));
        }
        cp.chain_state(kommun)
            .ok_or_else(|| halted("kontrollpunktens kedjeläge går inte att läsa".into()))
    }

    /// Applies every event after the checkpoint; returns the new checkpoint sequence.
    #[tracing::instrument(skip(self, store), fields(kommun = %kommun))]
    pub async fn catch_up(
        &self,
        store: &EventStore,
        kommun: &KommunId,
    ) -> Result<u64, ProjectionError> {
        self.catch_up_with(store, kommun, |_| {}).await
    }

    /// Catches up until the view holds `sequence` (a head just read from
    /// the stream): a view exactly there, whose checkpoint this process has
    /// checked against the stream before, is answered without touching the
    /// stream (a view ahead of the stream, or a failed check, goes the long
    /// way, which refuses a history that is not the view's); concurrent
    /// callers for one kommun share one catch-up. Returns the checkpoint
    /// sequence reached.
    pub async fn catch_up_to(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        sequence: u64,
    ) -> Result<u64, ProjectionError> {
        let reached = || -> Result<Option<u64>, ProjectionError> {
            if !self
                .verified
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(kommun)
            {
                return Ok(None);
            }
            Ok(self
                .checkpoint(kommun)?
                .map(|c| c.sequence)
                .filter(|&at| at == sequence))
        };
        if let Some(at) = reached()? {
            return Ok(at);
        }
        let lock = self.turn(kommun);
        let _turn = lock.lock().await;
        if let Some(at) = reached()? {
            return Ok(at);
        }
        self.catch_up_in_turn(store, kommun, |_| {}).await
    }

    /// Waits until no catch-up of the kommun is under way and keeps the next
    /// one waiting while the guard lives: read the view under it, and a
    /// rättelse's clearing and projecting again is never seen half done.
    pub async fn reading(&self, kommun: &KommunId) -> tokio::sync::OwnedRwLockReadGuard<()> {
        self.view_lock(kommun).read_owned().await
    }

    fn view_lock(&self, kommun: &KommunId) -> std::sync::Arc<tokio::sync::RwLock<()>> {
        per_kommun(&self.views, kommun)
    }

    /// The kommun's turn to catch up: one catch-up (and rebuild) per kommun
    /// at a time in this process, since a rättelse clears the view and reads
    /// again. `follow` does not take it: it is the CLI's, alone in its
    /// process.
    fn turn(&self, kommun: &KommunId) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        per_kommun(&self.catching_up, kommun)
    }

    /// Like [`catch_up`](Self::catch_up), calling `progress` with each applied sequence.
    pub async fn catch_up_with(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let lock = self.turn(kommun);
        let _turn = lock.lock().await;
        self.catch_up_in_turn(store, kommun, progress).await
    }

    /// Catches up (the caller holds the kommun's turn). A new rättelse
    /// among the events read clears the view and reads the history again
    /// through it: what it corrects was folded as recorded.
    async fn catch_up_in_turn(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let view = self.view_lock(kommun);
        let _writing = view.write().await;
        self.catch_up_writing(store, kommun, progress).await
    }

    /// Catches up (the caller holds the kommun's turn and its views' lock
    /// for writing).
    async fn catch_up_writing(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        loop {
            let checked = self.verify_checkpoint(store, kommun).await;
            {
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if checked.is_ok() {
                    verified.insert(kommun.clone());
                } else {
                    verified.remove(kommun);
                }
            }
            let state = checked?;
            let messages = store.raw_history(kommun, state.next).await?;
            let (last, _, refold) = self
                .apply_stream(kommun, state, messages, self.flush_every, &mut progress)
                .await?;
            if !refold {
                return Ok(last);
            }
            // The batch that found it cleared the view.
            tracing::info!(kommun = %kommun, "a rättelse takes effect: projecting the history again");
        }
    }

    /// Catches up, then applies each new event as it is recorded (one batch
    /// per event) until the stream ends or the future is dropped.
    pub async fn follow(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        loop {
            let state = self.verify_checkpoint(store, kommun).await?;
            let messages = store.raw_history(kommun, state.next).await?;
            let (_, state, refold) = self
                .apply_stream(kommun, state, messages, self.flush_every, &mut progress)
                .await?;
            if !refold {
                let messages = store.raw_follow(kommun, state.next).await?;
                let (last, _, refold) = self
                    .apply_stream(kommun, state, messages, 1, &mut progress)
                    .await?;
                if !refold {
                    return Ok(last);
                }
            }
            // The batch that found it cleared the view.
            tracing::info!(kommun = %kommun, "a rättelse takes effect: projecting the history again");
        }
    }

    /// Applies `messages` in batches of `flush_every`, on two cores: a task
    /// of its own reads, classifies and decodes the next batch while this
    /// one folds and writes the one before. Returns the last sequence
    /// applied, where the chain stands, and whether it stopped at a new
    /// rättelse (then the history must be read again through it).
    async fn apply_stream(
        &self,
        kommun: &KommunId,
        state: ChainState,
        messages: impl Stream<Item = Result<(u64, bytes::Bytes), styr_store::StoreError>>
            + Send
            + 'static,
        flush_every: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<(u64, ChainState, bool), ProjectionError> {
        let mut last = state.next - 1;
        let mut after = state.clone();
        let mut corrections = self.corrections(kommun)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let reader = AbortOnDrop::new(tokio::spawn(read_batches(
            kommun.clone(),
            state,
            messages,
            flush_every,
            corrections.clone(),
            tx,
        )));
        while let Some(batch) = rx.recv().await {
            let (items, state) = batch?;
            after = state;
            let refold;
            (last, refold) = self.apply_batch(kommun, &items, &after, &mut corrections)?;
            progress(last);
            if refold {
                return Ok((last, after, true));
            }
        }
        // The channel also closes when the reader dies: that is no end.
        if let Err(e) = reader.join().await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            return Err(ProjectionError::Halted {
                kommun: kommun.to_string(),
                reason: format!("läsningen av strömmen avbröts: {e}"),
            });
        }
        Ok((last, after, false))
    }

    /// Folds `records` and writes their documents and the new checkpoint
    /// (`after`: the chain as it stands after the last of them) in one sled
    /// batch: a crash leaves either all of it or none. A foreign message is
    /// recorded as an intrusion, never folded. A new rättelse among them is
    /// noted in `corrections` and written with the batch; then the second
    /// value is true.
    fn apply_batch(
        &self,
        kommun: &KommunId,
        records: &[Decoded],
        after: &ChainState,
        corrections: &mut Corrections,
    ) -> Result<(u64, bool), ProjectionError> {
        let applying = per_kommun(&self.applying, kommun);
        let _guard = applying.lock().unwrap_or_else(|p| p.into_inner());
        // Another catch-up may have applied some of these already: skip them.
        let done = self.checkpoint(kommun)?.map_or(0, |c| c.sequence);
        let records: Vec<&Decoded> = records.iter().filter(|r| r.sequence() > done).collect();
        let Some(last) = records.last().copied() else {
            return Ok((done, false));
        };
        if records[0].sequence() != done + 1 {
            return Err(ProjectionError::Halted {
                kommun: kommun.to_string(),
                reason: format!(
                    "händelserna efter {done} börjar vid {}",
                    records[0].sequence()
                ),
            });
        }
        let _span = tracing::debug_span!("project", kommun = %kommun, first = records[0].sequence(), last = last.sequence()).entered();
        let mut overlay = Overlay::new(&self.tree);
        let mut refold = false;
        let mut rattelse_at = 0;
        for record in records.iter().copied() {
            match record {
                Decoded::Event(stored, event) => {
                    apply(&mut overlay, stored, event, corrections)?;
                    if corrections.note_event(stored.envelope.event_id, event) {
                        refold = true;
                        rattelse_at = stored.sequence;
                    }
                }
                Decoded::Foreign(foreign) => apply_foreign(&mut overlay, kommun, foreign)?,
            }
        }
        if refold {
            // What the rättelse corrects was projected as recorded: the
            // rättelse is kept and the kommun's views go, in one batch, so
            // a crash leaves either the old view or one to project afresh.
            let mut batch = sled::Batch::default();
            self.clear_into(&mut batch, kommun, true)?;
            batch.insert(
                corrections_key(kommun).as_bytes(),
                serde_json::to_vec(&*corrections)?,
            );
            batch.insert(
                rattelse_key(kommun).as_bytes(),
                rattelse_at.to_string().as_bytes(),
            );
            self.write(kommun, batch, Wrote::Everything)?;
            return Ok((last.sequence(), true));
        }
        let writes = overlay.take();
        let graph_prefixes: Vec<String> = crate::query::GRAPH_KINDS
            .iter()
            .map(|kind| view_key(kommun.as_str(), &kind.path("")))
            .collect();
        let graph_changed = writes
            .keys()
            .any(|k| graph_prefixes.iter().any(|p| k.starts_with(p.as_str())));
        let views = view_key(kommun.as_str(), "");
        let mut parts = crate::parts::Touched::default();
        for k in writes.keys() {
            if let Some(path) = k.strip_prefix(views.as_str()) {
                parts.note(path);
            }
        }
        let mut batch = sled::Batch::default();
        let open_key = versions::open_segment_key(kommun);
        let mut segment: versions::Segment = match self.tree.get(&open_key)? {
            Some(bytes) => serde_json::from_slice(&bytes)?,
            None => Default::default(),
        };
        // What each write replaces is kept (past views read it back); a
        // list item new in this batch says so by its key. Past views start
        // only where a segment ends, so a key keeps one version per
        // segment: the value it had when the segment began, written by the
        // first batch in it that replaces the key.
        let first = records[0].sequence();
        let segment_began = (segment.events > 0).then_some(segment.first);
        for (k, v) in writes {
            let new_item = versions::named_sequence(&k).is_some_and(|n| n >= first);
            if versions::versioned(&k) && !new_item {
                let old = self.tree.get(k.as_bytes())?;
                let kept = |began: u64| {
                    let versions =
                        versions::version_key(&k, began)..=versions::version_key(&k, u64::MAX);
                    self.tree.range(versions).next().transpose()
                };
                let replaced = old.as_deref() != Some(&v[..]);
                if replaced && segment_began.map_or(Ok(None), kept)?.is_none() {
                    batch.insert(
                        versions::version_key(&k, first),
                        versions::encode(old.as_deref()),
                    );
                }
            }
            batch.insert(k.as_bytes(), v);
        }
        let last_hash = match last {
            Decoded::Event(e, _) => e.hash,
            Decoded::Foreign(f) => f.hash,
        };
        let cp = Checkpoint::new(after, &last_hash);
        for record in &records {
            match record {
                Decoded::Event(stored, _) => segment.add_event(stored),
                Decoded::Foreign(f) => segment.add_foreign(f.sequence),
            }
        }
        // A segment closes when it is full, and with a rättelse: only a
        // closed segment's end is a past view's base, and a question after
        // a rättelse can start from none before it.
        if segment.events >= self.segment_events || segment.rattelse {
            segment.at = Some(cp.clone());
            batch.insert(
                versions::segment_key(kommun, segment.end).as_bytes(),
                serde_json::to_vec(&segment)?,
            );
            batch.remove(open_key.as_bytes());
        } else {
            // The open segment ends where the checkpoint written beside it
            // stands, so it is kept without a copy of it: a live projection
            // rewrites it with every batch, and the copy was about a third
            // of the JSON such a batch wrote besides the views.
            segment.at = None;
            batch.insert(open_key.as_bytes(), serde_json::to_vec(&segment)?);
        }
        batch.insert(checkpoint_key(kommun).as_bytes(), serde_json::to_vec(&cp)?);
        self.write(
            kommun,
            batch,
            Wrote::Views {
                graph: graph_changed,
                parts,
            },
        )?;
        Ok((last.sequence(), false))
    }

    /// The kommun's rättelser that take effect, as far as projected.
    pub fn corrections(&self, kommun: &KommunId) -> Result<Corrections, ProjectionError> {
        Ok(match self.tree.get(corrections_key(kommun))? {
            Some(bytes) => serde_json::from_slice(&bytes)?,
            None => Corrections::default(),
        })
    }

    /// Where the latest rättelse noted for the kommun lies (none: `None`).
    pub(crate) fn rattelse_noted_at(
        &self,
        kommun: &KommunId,
    ) -> Result<Option<u64>, ProjectionError> {
        Ok(self
            .tree
            .get(rattelse_key(kommun))?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Removes everything projected for the kommun.
    pub fn clear(&self, kommun: &KommunId) -> Result<(), ProjectionError> {
        let mut batch = sled::Batch::default();
        self.clear_into(&mut batch, kommun, false)?;
        self.write(kommun, batch, Wrote::Everything)
    }

    /// Adds to `batch` the removal of the kommun's views, histories and
    /// checkpoint, and of its rättelser unless `keep_corrections`.
    fn clear_into(
        &self,
        batch: &mut sled::Batch,
        kommun: &KommunId,
        keep_corrections: bool,
    ) -> Result<(), ProjectionError> {
        if !keep_corrections {
            batch.remove(corrections_key(kommun).as_bytes());
            batch.remove(rattelse_key(kommun).as_bytes());
        }
        let views = view_key(kommun.as_str(), "");
        let histories = histories_prefix(kommun.as_str());
        for prefix in [
            views.as_bytes().to_vec(),
            histories.as_bytes().to_vec(),
            versions::versions_prefix(&views),
            versions::versions_prefix(&histories),
            versions::segments_prefix(kommun).into_bytes(),
            crate::apply::event_indexes_prefix(kommun.as_str()).into_bytes(),
        ] {
            for key in self.tree.scan_prefix(prefix).keys() {
                batch.remove(key?);
            }
        }
        batch.remove(versions::open_segment_key(kommun).as_bytes());
        batch.remove(checkpoint_key(kommun).as_bytes());
        Ok(())
    }

    /// Projects the kommun from scratch.
    pub async fn rebuild(
        &self,
        store: &EventStore,
        kommun: &KommunId,
    ) -> Result<u64, ProjectionError> {
        self.rebuild_with(store, kommun, |_| {}).await
    }

    /// Like [`rebuild`](Self::rebuild), calling `progress` with each applied sequence.
    pub async fn rebuild_with(
        &self,
        store: &EventStore,
        kommun: &KommunId,
        progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let lock = self.turn(kommun);
        let _turn = lock.lock().await;
        // Cleared under the views' lock: a question being answered sees
        // them as they were, one asked from now on the rebuilt ones.
        let view = self.view_lock(kommun);
        let _writing = view.write().await;
        self.clear(kommun)?;
        self.catch_up_writing(store, kommun, progress).await
    }
}

/// A classified message with its domain event decoded.
#[allow(clippy::large_enum_variant)]
enum Decoded {
    Event(styr_store::StoredEvent, styr_domain::Event),
    Foreign(styr_store::ForeignMessage),
}

impl Decoded {
    fn sequence(&self) -> u64 {
        match self {
            Decoded::Event(e, _) => e.sequence,
            Decoded::Foreign(f) => f.sequence,
        }
    }
}

/// The kommun's entry of a per-kommun map of locks, made on first use.
fn per_kommun<T: Default>(
    map: &std::sync::Mutex<std::collections::HashMap<KommunId, std::sync::Arc<T>>>,
    kommun: &KommunId,
) -> std::sync::Arc<T> {
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(kommun.clone())
        .or_default()
        .clone()
}

/// A batch ready to apply, and the chain after it.
type Batch = Result<(Vec<Decoded>, ChainState), ProjectionError>;

/// Reads `messages`, classifies each `flush_every` of them as one run,
/// decodes their events and sends each batch on; stops at the first error
/// (sent on) or when the receiver is gone.
async fn read_batches(
    kommun: KommunId,
    mut state: ChainState,
    messages: impl Stream<Item = Result<(u64, bytes::Bytes), styr_store::StoreError>>,
    flush_every: usize,
    corrections: Corrections,
    tx: tokio::sync::mpsc::Sender<Batch>,
) {
    futures::pin_mut!(messages);
    let mut pending = Vec::with_capacity(flush_every);
    loop {
        let next = messages.next().await;
        let end = next.is_none();
        match next {
            Some(Ok(message)) => pending.push(message),
            Some(Err(e)) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
            None => {}
        }
        if pending.len() >= flush_every || (end && !pending.is_empty()) {
            let run = std::mem::take(&mut pending);
            let _span =
                tracing::debug_span!("classify", kommun = %kommun, messages = run.len()).entered();
            let batch =
                decode_run(&mut state, run, &corrections).map(|items| (items, state.clone()));
            let failed = batch.is_err();
            drop(_span);
            if tx.send(batch).await.is_err() || failed {
                return;
            }
        }
        if end {
            return;
        }
    }
}

/// Classifies one run and decodes its events.
fn decode_run(
    state: &mut ChainState,
    run: Vec<(u64, bytes::Bytes)>,
    corrections: &Corrections,
) -> Result<Vec<Decoded>, ProjectionError> {
    state
        .classify_run(run)
        .into_iter()
        .map(|record| match record? {
            Record::Event(stored) => {
                let event = read_event(&stored, corrections)?;
                Ok(Decoded::Event(stored, event))
            }
            Record::Foreign(f) => Ok(Decoded::Foreign(f)),
        })
        .collect()
}

/// Ends a spawned task when dropped (a caller that stops following stops
/// its reader too).
struct AbortOnDrop<T>(Option<tokio::task::JoinHandle<T>>);

impl<T> AbortOnDrop<T> {
    fn new(task: tokio::task::JoinHandle<T>) -> Self {
        AbortOnDrop(Some(task))
    }

    /// Waits for the task to end, with its outcome.
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        match self.0.take() {
            Some(task) => task.await,
            None => unreachable!("joined once"),
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// sled as the projections use it. What sled writes is compressed with zstd
/// at its fastest level: the folder shrinks to about a third (sled rewrites
/// whole leaf nodes of JSON and keys with long common prefixes, which
/// compress four- to fivefold); compressing takes about a quarter of the
/// rebuild's fold. The workspace's `zstd` (`crates/zstd-contexts`) keeps a
/// context per thread and leaves messages under a kilobyte uncompressed.
fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .cache_capacity(64 << 20)
        .use_compression(true)
        .compression_factor(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_in_use_or_not_ours_is_never_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proj");
        let first = Projector::open(&path).unwrap();
        first.view().insert("x", "kept").unwrap();
        // A second process (here: a second open) finds it locked: an
        // error naming the folder, and nothing deleted.
        assert!(matches!(
            Projector::open(&path),
            Err(ProjectionError::InUse { .. })
        ));
        assert_eq!(first.view().get("x").unwrap().unwrap(), "kept".as_bytes());
        drop(first);
        // A mistyped --projections naming someone's folder: left alone.
        let other = dir.path().join("documents");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("thesis.txt"), "years of work").unwrap();
        assert!(matches!(
            Projector::open(&other),
            Err(ProjectionError::NotAProjection { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(other.join("thesis.txt")).unwrap(),
            "years of work"
        );
        // A projection that no longer opens (garbage where sled's files
        // were) is ours: it is started afresh.
        std::fs::write(path.join("conf"), b"\xff\xfe garbage").unwrap();
        std::fs::write(path.join("db"), b"garbage").unwrap();
        let p = Projector::open(&path).unwrap();
        assert!(p.view().get("x").unwrap().is_none());
    }

    /// A folder sled wrote uncompressed (before compression was turned on)
    /// does not open with compression; it is ours, so it is started afresh
    /// instead of stopping the service.
    #[test]
    fn an_uncompressed_folder_from_before_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proj");
        claim(&path).unwrap();
        {
            let db = sled_config(&path).use_compression(false).open().unwrap();
            let tree = db.open_tree("views").unwrap();
            tree.insert(VERSION_KEY, PROJECTION_VERSION.to_string().as_bytes())
                .unwrap();
            tree.insert("x", "old").unwrap();
            db.flush().unwrap();
        }
        assert!(matches!(
            sled_config(&path).open(),
            Err(sled::Error::Unsupported(m)) if m.contains("compression")
        ));
        let p = Projector::open(&path).unwrap();
        assert!(p.view().get("x").unwrap().is_none());
        p.view().insert("x", "new").unwrap();
        drop(p);
        let p = Projector::open(&path).unwrap();
        assert_eq!(p.view().get("x").unwrap().unwrap(), "new".as_bytes());
    }
}
