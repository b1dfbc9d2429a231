//! Commands in, events out. For each kommun the service keeps the domain
//! state in memory (folded from the kommun's stream on first use), decides a
//! command against it, and appends the events with the sequence it decided
//! against; on a conflict it reads what it missed and decides again.
//!
//! It never touches the event streams itself (the store does), though it
//! answers its own request subjects over NATS (`api`), and holds no rules
//! (the domain does).

pub mod api;
pub mod example;
pub mod health;
pub mod micro;
mod pipeline;
pub mod schemas;
pub mod snapshot;
pub mod supervise;
pub use styr_store::wording;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use styr_domain::{
    Command, Corrections, Event, EventMeta, KommunState, Original, Provenance, Rejection,
};
use styr_store::{ChainState, Commit, Decision, EventStore, KommunId, Record, StoreError};
use uuid::Uuid;

/// Ärende som lämnas in: a command with its provenance and the caller's
/// idempotency key. This is the shape of a submitted file or request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Chosen by the caller, unique per decision: a retry with the same key
    /// records nothing new and answers with the original outcome.
    pub idempotency_key: String,
    /// Who records it, for the audit trail and the check of what that
    /// identity may record (P1). Over NATS it is always the caller's
    /// authenticated user name, whatever is written here; only the local
    /// operator's `styr submit` (which holds the service's own credentials)
    /// records under the name given.
    #[serde(default)]
    pub recorded_by: String,
    pub provenance: Provenance,
    pub command: Command,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded now, at these sequences.
    Recorded(Commit),
    /// Recorded before under the same idempotency key; nothing new.
    Duplicate(Commit),
    /// Not recorded: the rule and field it broke.
    Rejected(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("händelsen vid sekvens {sequence} går inte att läsa: {detail}")]
    Unreadable { sequence: u64, detail: String },
    #[error("kommunen {kommun} fortsatte att ändras: gav upp efter {attempts} krockande försök")]
    Contended { kommun: String, attempts: u32 },
    /// The group commit this submission was part of failed; every member
    /// is told the same cause.
    #[error("registreringen misslyckades: {0}")]
    Failed(#[source] Arc<ServiceError>),
    /// A fault inside the service itself; nothing was recorded.
    #[error("internt fel: {0}; inget registrerades")]
    Internal(&'static str),
    /// The writer holding the submission stopped before answering: it may
    /// or may not have been recorded.
    #[error("skrivaren avbröts innan den svarade; om beslutet registrerades går inte att säga: slå upp idempotensnyckeln eller skicka in det igen (det registreras aldrig två gånger)")]
    WriterLost,
}

/// A submission waiting for the kommun's writer.
struct Pending {
    submission: Submission,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, ServiceError>>,
    /// How often it was sent back to be decided again (a stale state, or a
    /// rejection that depended on a member that was not recorded).
    requeued: u32,
}

/// One kommun's writer: its state, and the submissions waiting for it.
struct Slot {
    decider: tokio::sync::Mutex<Decider>,
    queue: std::sync::Mutex<std::collections::VecDeque<Pending>>,
}

impl Slot {
    /// Puts submissions back at the head of the queue, in their order.
    fn to_queue_head(&self, pending: Vec<Pending>) {
        if pending.is_empty() {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        for p in pending.into_iter().rev() {
            q.push_front(p);
        }
    }
}

/// At most this many times a submission is sent back to be decided again.
const MAX_REQUEUES: u32 = 8;

/// At most this many submissions are decided and committed together.
const MAX_GROUP: usize = 64;

/// What deciding for one kommun needs: its state, folded to a stream
/// sequence, and where its chain stands there.
struct Decider {
    state: KommunState,
    /// The last stream sequence folded (foreign messages included).
    sequence: u64,
    /// Where the chain stands after `sequence`.
    chain: ChainState,
    /// The stream has moved past `sequence` (seen by a rejection): catch up
    /// before deciding again.
    stale: bool,
    /// The stream sequence of each event recorded since the last
    /// snapshot (a rättelse reads the decision it corrects from the
    /// stream; earlier ones are in the snapshot's folder).
    sequences: HashMap<Uuid, u64>,
    /// The rättelser that take effect: every event is folded through them.
    corrections: Corrections,
    /// The sequence of the last snapshot written or loaded (or tried: a
    /// failed write waits an interval before the next try).
    snapshot_at: u64,
    /// Whether a snapshot was looked for (once per process: a fold again
    /// through a new rättelse starts from the beginning).
    snapshot_tried: bool,
    /// No snapshots are written for the kommun in this process (its folder
    /// could not be cleared of what another history left).
    snapshots_off: bool,
}

impl Decider {
    fn new(kommun: &KommunId) -> Self {
        Decider {
            state: KommunState::default(),
            sequence: 0,
            chain: ChainState::genesis(kommun),
            stale: false,
            sequences: HashMap::new(),
            corrections: Corrections::default(),
            snapshot_at: 0,
            snapshot_tried: false,
            snapshots_off: false,
        }
    }

    /// Forgets what was folded, keeping the rättelser: the next use folds
    /// the history again through them.
    fn refold(&mut self) {
        let kommun = self.chain.kommun.clone();
        let corrections = std::mem::take(&mut self.corrections);
        let snapshots_off = self.snapshots_off;
        *self = Decider::new(&kommun);
        self.corrections = corrections;
        self.snapshot_tried = true;
        self.snapshots_off = snapshots_off;
    }
}

/// The command side for all kommuner this process serves.
pub struct Kommuner {
    store: Arc<EventStore>,
    slots: std::sync::Mutex<HashMap<KommunId, Arc<Slot>>>,
    registrars: Vec<String>,
    snapshots: Option<Arc<snapshot::Snapshots>>,
    /// Groups committed after another group of their kommun while it was
    /// on its way (pipelined group commit).
    pipelined: std::sync::atomic::AtomicU64,
    /// Whether a group is decided and staged while the one before it is
    /// stored (on unless turned off: benchmarks compare both).
    pipeline: bool,
}

/// What a submission must hold whatever its command: an idempotency key of
/// 1–256 bytes without control characters, and a recorder that is an id.
fn check_submission(s: &Submission) -> Result<(), Rejection> {
    let key = &s.idempotency_key;
    if key.trim().is_empty() || key.len() > 256 {
        return Err(Rejection::new(
            styr_domain::Rule::Input,
            "idempotency_key",
            "ska vara 1–256 bytes",
        ));
    }
    styr_domain::check_plain_text("idempotency_key", key)?;
    // Styrkedja's own decisions use these: a user's key must not take them.
    for reserved in ["key-", "checkpoint-"] {
        if key.starts_with(reserved) {
            return Err(Rejection::new(
                styr_domain::Rule::Input,
                "idempotency_key",
                format!("nycklar som börjar med {reserved:?} används av Styrkedja själv"),
            ));
        }
    }
    if key.contains(['\n', '\r', '\t']) {
        return Err(Rejection::new(
            styr_domain::Rule::Input,
            "idempotency_key",
            "får inte innehålla radbrytningar eller tabbar",
        ));
    }
    Ok(())
}

impl Kommuner {
    pub fn new(store: Arc<EventStore>) -> Self {
        Kommuner {
            store,
            slots: Default::default(),
            registrars: Vec::new(),
            snapshots: None,
            pipelined: Default::default(),
            pipeline: true,
        }
    }

    /// Turns pipelined group commit on or off (on by default): off, each
    /// group's batch is acknowledged before the next group is decided.
    pub fn with_pipeline(mut self, on: bool) -> Self {
        self.pipeline = on;
        self
    }

    /// How many groups this process committed after another group of the
    /// same kommun while that one was still on its way (pipelined).
    pub fn pipelined_groups(&self) -> u64 {
        self.pipelined.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resumes each kommun from its snapshot in `snapshots` instead of
    /// folding its whole history, and takes new ones as it goes (see
    /// [`snapshot`]). The store looks up older idempotency keys there.
    pub fn with_snapshots(mut self, snapshots: Arc<snapshot::Snapshots>) -> Self {
        if self.store.use_archive(snapshots.clone()) {
            self.snapshots = Some(snapshots);
        } else {
            tracing::warn!("the store looks keys up in another snapshot folder; no snapshots");
        }
        self
    }

    /// Starts the decider from the kommun's snapshot, if there is one the
    /// stream still holds; otherwise drops whatever the folder holds for
    /// the kommun, so that nothing of another history is trusted, and
    /// leaves the decider to fold from the start.
    #[tracing::instrument(skip_all, fields(kommun = %kommun))]
    async fn resume(&self, kommun: &KommunId, decider: &mut Decider) -> Result<(), ServiceError> {
        let Some(snapshots) = &self.snapshots else {
            decider.snapshot_tried = true;
            return Ok(());
        };
        let taken = match snapshots.load(kommun) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "the snapshot cannot be used; folding the history from its start");
                None
            }
        };
        let chain = taken
            .as_ref()
            .map(|t| ChainState::at(kommun, &t.chain))
            .transpose()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the snapshot's chain position is unreadable");
                None
            });
        let resumed = match (taken, chain) {
            (Some(t), Some(chain)) => {
                // Written only where the chain's last event is the last
                // message, which the stream's hash check then covers.
                if t.sequence == chain.next - 1
                    && chain.chained == t.sequence
                    && self.store.resume(kommun, &chain).await?
                {
                    decider.state = t.state;
                    decider.sequence = t.sequence;
                    decider.chain = chain;
                    decider.corrections = t.corrections;
                    decider.snapshot_at = t.sequence;
                    tracing::info!(sequence = t.sequence, "resumed from the snapshot");
                    true
                } else {
                    tracing::warn!(
                        sequence = t.sequence,
                        "the stream does not hold the snapshot's history; folding it from its start"
                    );
                    false
                }
            }
            _ => false,
        };
        // Decided (an error reading the stream above leaves it to the next
        // try, before anything of the folder is trusted or written).
        decider.snapshot_tried = true;
        if resumed {
            return Ok(());
        }
        // The store already looks keys up in the folder (another service
        // on it resumed from it): it is not emptied under that service.
        if self.store.uses_archive(kommun).await {
            tracing::warn!("the snapshot folder is in use for this kommun; no snapshots this time");
            decider.snapshots_off = true;
        } else if let Err(e) = snapshots.clear(kommun) {
            // Left-overs of another history may remain: a snapshot written
            // now would vouch for them. None is, in this process.
            tracing::warn!(error = %e, "could not clear the kommun's snapshot; no snapshots this time");
            decider.snapshots_off = true;
        }
        Ok(())
    }

    /// Writes a snapshot when enough has been folded or recorded since the
    /// last one. A snapshot that cannot be written is logged: it is a cache.
    #[tracing::instrument(skip_all, fields(kommun = %kommun, sequence = decider.sequence))]
    async fn snapshot_if_due(&self, kommun: &KommunId, decider: &mut Decider) {
        let Some(snapshots) = &self.snapshots else {
            return;
        };
        let at = decider.sequence;
        // Taken only where the chain's last event is the stream's last
        // message (not after a foreign one: the chain's hash would not
        // cover the messages after it).
        if decider.snapshots_off
            || at < decider.snapshot_at + snapshots.interval()
            || decider.chain.next != at + 1
            || decider.chain.chained != at
        {
            return;
        }
        // Every key recorded through `at` must go with the snapshot: the
        // store's index has to have read that far (it has, unless another
        // reader moved it elsewhere; then the next chance is taken).
        if self.store.known_chain(kommun).await.next <= at {
            return;
        }
        let commits = self.store.commits_through(kommun, at).await;
        let taken = snapshot::TakenRef {
            format: snapshot::SNAPSHOT_FORMAT,
            kommun: kommun.as_str(),
            sequence: at,
            chain: decider.chain.position(),
            state: &decider.state,
            corrections: &decider.corrections,
        };
        match snapshots.write(kommun, &taken, &commits) {
            Ok(bytes) => {
                tracing::info!(bytes, keys = commits.len(), "snapshot written");
                self.store.archived(kommun, at).await;
                decider.sequences.retain(|_, s| *s > at);
                decider.snapshot_at = at;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not write the snapshot; trying again an interval later");
                // Not again at every commit: the interval starts over.
                decider.snapshot_at = at;
            }
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    fn slot(&self, kommun: &KommunId) -> Arc<Slot> {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(kommun.clone())
            .or_insert_with(|| {
                Arc::new(Slot {
                    decider: tokio::sync::Mutex::new(Decider::new(kommun)),
                    queue: Default::default(),
                })
            })
            .clone()
    }

    /// Folds the events after `decider.sequence` into the state. A foreign
    /// message (one Styrkedja did not write) is logged and skipped: it never
    /// stops the kommun. A new rättelse among them means what it corrects
    /// was folded as recorded: the history is folded again through it.
    async fn fold_missed(
        &self,
        kommun: &KommunId,
        decider: &mut Decider,
    ) -> Result<(), ServiceError> {
        if !decider.snapshot_tried && decider.sequence == 0 {
            self.resume(kommun, decider).await?;
        }
        loop {
            let known = decider.corrections.clone();
            self.fold_missed_once(kommun, decider).await?;
            if decider.corrections == known {
                self.snapshot_if_due(kommun, decider).await;
                return Ok(());
            }
            tracing::info!(kommun = %kommun, "a rättelse takes effect: folding the history again");
            decider.refold();
        }
    }

    async fn fold_missed_once(
        &self,
        kommun: &KommunId,
        decider: &mut Decider,
    ) -> Result<(), ServiceError> {
        let messages = self.store.raw_history(kommun, decider.chain.next).await?;
        let runs = messages.chunks(512);
        futures::pin_mut!(runs);
        while let Some(run) = runs.next().await {
            let run = run.into_iter().collect::<Result<Vec<_>, _>>()?;
            // Classified into a copy, kept only once every event is folded:
            // an event that cannot be read stops here and is read again next
            // time, never skipped.
            let mut chain = decider.chain.clone();
            let records = chain
                .classify_run(run.clone())
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            // The store's idempotency index needs the same run: it takes
            // it instead of reading the stream a second time.
            self.store.take_classified(kommun, &records, &chain).await?;
            for (i, record) in records.into_iter().enumerate() {
                if let Err(e) = Self::fold_one(kommun, decider, record) {
                    // Where the chain stood after the last event folded.
                    let mut before = decider.chain.clone();
                    before.classify_run(run[..i].to_vec());
                    decider.chain = before;
                    return Err(e);
                }
            }
            decider.chain = chain;
        }
        Ok(())
    }

    /// Folds one classified message into the decider's state (a foreign one
    /// is logged and skipped).
    fn fold_one(
        kommun: &KommunId,
        decider: &mut Decider,
        record: Record,
    ) -> Result<(), ServiceError> {
        let stored = match record {
            Record::Event(e) => e,
            Record::Foreign(f) => {
                tracing::error!(kommun = %kommun, sequence = f.sequence, reason = %f.reason, "INTRÅNG: a message Styrkedja did not write is in the kommun's stream; skipped");
                decider.sequence = f.sequence;
                return Ok(());
            }
        };
        let env = &stored.envelope;
        let payload = decider.corrections.read(env.event_id, &env.payload);
        let event =
            Event::from_payload(&env.event_type, env.schema_version, &payload).map_err(|e| {
                ServiceError::Unreadable {
                    sequence: stored.sequence,
                    detail: e.to_string(),
                }
            })?;
        decider.corrections.note_event(env.event_id, &event);
        decider.sequences.insert(env.event_id, stored.sequence);
        let _step = tracing::debug_span!("evolve", kommun = %kommun, seq = stored.sequence, event_type = %env.event_type).entered();
        decider.state.evolve(
            &EventMeta {
                event_id: env.event_id,
                decided_by: env.provenance.decided_by.clone(),
            },
            &event,
        );
        decider.sequence = stored.sequence;
        Ok(())
    }

    /// The kommun's current state, as far as deciding knows it (a copy).
    pub async fn state(&self, kommun: &KommunId) -> Result<(KommunState, u64), ServiceError> {
        let slot = self.slot(kommun);
        let mut decider = slot.decider.lock().await;
        self.fold_missed(kommun, &mut decider).await?;
        Ok((decider.state.clone(), decider.sequence))
    }

    /// The sequence of the kommun's snapshot this process last loaded or
    /// wrote (0: none).
    pub async fn snapshot_at(&self, kommun: &KommunId) -> u64 {
        self.slot(kommun).decider.lock().await.snapshot_at
    }

    /// Decides and records one submission for an authenticated `identity`:
    /// it becomes `recorded_by`, whatever the submission says, and decides
    /// what the submission may record (P1).
    pub async fn submit_as(
        &self,
        kommun: &KommunId,
        identity: &str,
        mut submission: Submission,
    ) -> Result<Outcome, ServiceError> {
        submission.recorded_by = identity.to_owned();
        self.submit(kommun, submission).await
    }

    /// As [`submit_as`](Self::submit_as), for a caller on the network: a new
    /// kommun is registered only by an identity the platform names as a
    /// registrar ([`Kommuner::with_registrars`]); anyone else would otherwise
    /// make themselves the administrator of a kommun that is not theirs.
    pub async fn submit_remote(
        &self,
        kommun: &KommunId,
        identity: &str,
        submission: Submission,
    ) -> Result<Outcome, ServiceError> {
        if matches!(submission.command, Command::RegisterKommun(_))
            && !self.registrars.iter().any(|r| r == identity)
        {
            return Ok(Outcome::Rejected(Rejection::new(
                styr_domain::Rule::P1,
                "command",
                format!(
                    "{identity} får inte registrera en ny kommun: det gör plattformens registratorer ({})",
                    if self.registrars.is_empty() {
                        "inga är utsedda; operatören registrerar med styr submit".to_owned()
                    } else {
                        self.registrars.join(", ")
                    }
                ),
            )));
        }
        self.submit_as(kommun, identity, submission).await
    }

    /// The identities that may register a new kommun over the network.
    pub fn with_registrars(mut self, registrars: Vec<String>) -> Self {
        self.registrars = registrars;
        self
    }

    /// Decides and records one submission under its own `recorded_by` (a
    /// trusted, in-process caller: the operator's CLI, tests).
    ///
    /// Group commit: submissions to one kommun queue for its writer; whoever
    /// holds the writer decides every queued submission in order (each against
    /// the state the ones before it leave) and records the accepted ones
    /// together as one atomic batch, so concurrent callers share one fsync.
    /// Each caller gets its own outcome.
    #[tracing::instrument(skip(self, submission), fields(kommun = %kommun, command = submission.command.name(), key = %submission.idempotency_key))]
    pub async fn submit(
        &self,
        kommun: &KommunId,
        submission: Submission,
    ) -> Result<Outcome, ServiceError> {
        let result = self.submit_inner(kommun, submission).await;
        metrics::counter!("styr_submissions_total", "outcome" => outcome_label(&result))
            .increment(1);
        if let Ok(Outcome::Rejected(r)) = &result {
            let rule = serde_json::to_value(r.rule)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            metrics::counter!("styr_rejections_total", "rule" => rule).increment(1);
        }
        result
    }

    async fn submit_inner(
        &self,
        kommun: &KommunId,
        submission: Submission,
    ) -> Result<Outcome, ServiceError> {
        if let Err(r) = check_submission(&submission) {
            return Ok(Outcome::Rejected(r));
        }
        let slot = self.slot(kommun);
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        slot.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Pending {
                submission,
                reply,
                requeued: 0,
            });
        loop {
            tokio::select! {
                biased;
                result = &mut answer => {
                    return result.unwrap_or(Err(ServiceError::WriterLost));
                }
                mut decider = slot.decider.lock() => {
                    let group: Vec<Pending> = {
                        let mut q = slot.queue.lock().unwrap_or_else(|p| p.into_inner());
                        let n = q.len().min(MAX_GROUP);
                        q.drain(..n).collect()
                    };
                    if !group.is_empty() {
                        self.commit_group(kommun, &slot, &mut decider, group).await;
                    }
                }
            }
        }
    }

    /// Decides a group in order and records the accepted part as one batch;
    /// answers every member. A group that conflicts with another writer is
    /// decided again on the caught-up state, up to `MAX_ATTEMPTS` times.
    async fn commit_group(
        &self,
        kommun: &KommunId,
        slot: &Slot,
        decider: &mut Decider,
        mut todo: Vec<Pending>,
    ) {
        const MAX_ATTEMPTS: u32 = 8;
        // Another writer (a second node, the operator's CLI) may have
        // recorded something this state has not seen. An acceptance decided
        // on a stale state fails at append (the expected sequence) and is
        // decided again; a rejection would stand, so a rejection that finds
        // the stream moved on sends its submission back to be decided after
        // a catch-up (`stale`). A first use loads the state.
        if decider.sequence == 0 || decider.stale {
            decider.stale = false;
            if let Err(e) = self.fold_missed(kommun, decider).await {
                fail(todo, e);
                return;
            }
        }
        for _ in 0..MAX_ATTEMPTS {
            todo = self
                .not_yet_recorded(kommun, slot, todo, &Default::default())
                .await;
            if todo.is_empty() {
                return;
            }
            let mut group = self.decide_group(kommun, decider, todo, None).await;
            if !group.stale.is_empty() {
                decider.stale = true;
                self.requeue(kommun, slot, group.stale);
            }
            // What did not fit goes back to the head of the queue.
            slot.to_queue_head(group.rest);
            if group.accepted.is_empty() {
                for (p, out) in group.deferred {
                    let _ = p.reply.send(out);
                }
                return;
            }
            let after = group.after.take();
            match self
                .record_group(
                    kommun,
                    slot,
                    decider,
                    pipeline::Group {
                        accepted: group.accepted,
                        deferred: group.deferred,
                    },
                    after,
                )
                .await
            {
                Some(retry) if !retry.is_empty() => todo = retry,
                _ => return,
            }
        }
        for p in todo {
            let _ = p.reply.send(Err(ServiceError::Contended {
                kommun: kommun.to_string(),
                attempts: MAX_ATTEMPTS,
            }));
        }
    }

    /// Answers the members whose key is recorded (what this process knows,
    /// no round trip: a key another writer recorded unseen makes the append
    /// conflict, and the retry sees it) and sends a key repeated in the
    /// group, or `on_its_way` in a batch not yet acknowledged, back to wait
    /// for the first one's outcome; neither may shape what the others are
    /// decided against. Returns the rest.
    async fn not_yet_recorded(
        &self,
        kommun: &KommunId,
        slot: &Slot,
        mut todo: Vec<Pending>,
        on_its_way: &std::collections::HashSet<String>,
    ) -> Vec<Pending> {
        let keys: Vec<&str> = todo
            .iter()
            .map(|p| p.submission.idempotency_key.as_str())
            .collect();
        let known = self.store.known_commits(kommun, &keys).await;
        let mut seen = std::collections::HashSet::new();
        let mut held = Vec::new();
        let mut fresh = Vec::new();
        for (p, known) in todo.drain(..).zip(known) {
            if let Some(commit) = known {
                let out = self.duplicate(kommun, &p.submission, commit).await;
                let _ = p.reply.send(out);
            } else if on_its_way.contains(&p.submission.idempotency_key)
                || !seen.insert(p.submission.idempotency_key.clone())
            {
                held.push(p);
            } else {
                fresh.push(p);
            }
        }
        slot.to_queue_head(held);
        fresh
    }

    /// Decides each member in order: a lone submission against the state
    /// itself, a group against a copy that each accepted member advances
    /// (kept in [`DecidedGroup::after`]) — or, with `speculative`, against
    /// that state (the one after groups still on their way), advancing it;
    /// every rejection then waits for the group to be recorded.
    async fn decide_group(
        &self,
        kommun: &KommunId,
        decider: &Decider,
        todo: Vec<Pending>,
        speculative: Option<&mut KommunState>,
    ) -> DecidedGroup {
        let ahead = speculative.is_some();
        let mut own = (!ahead && todo.len() > 1).then(|| decider.state.clone());
        let mut scratch = match speculative {
            Some(s) => Some(s),
            None => own.as_mut(),
        };
        let mut group = DecidedGroup::default();
        let mut total = 0;
        // A rättelse ends its group: what comes after it is decided on the
        // history folded again through it.
        let mut corrected = false;
        for p in todo {
            if !group.rest.is_empty() || corrected {
                group.rest.push(p);
                continue;
            }
            let original = match &p.submission.command {
                Command::CorrectDecision(c) => {
                    match self.original(kommun, decider, c.corrects).await {
                        Ok(original) => original,
                        Err(e) => {
                            let _ = p.reply.send(Err(e));
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let state = scratch.as_deref().unwrap_or(&decider.state);
            let Some(decided) = decide_one(state, &p, original.as_ref()) else {
                let _ = p
                    .reply
                    .send(Err(ServiceError::Internal("när beslutet prövades")));
                continue;
            };
            match decided {
                Err(rejection) => {
                    let Some(out) = self.rejected(kommun, decider, &p, rejection, ahead).await
                    else {
                        // Decided on a state the stream has moved past.
                        group.stale.push(p);
                        continue;
                    };
                    // A rejection decided after an accepted member may
                    // depend on it: its answer waits until that member is
                    // recorded.
                    if group.accepted.is_empty() && !ahead {
                        let _ = p.reply.send(out);
                    } else {
                        group.deferred.push((p, out));
                    }
                }
                Ok(events)
                    if total + events.len() > styr_store::MAX_EVENTS_PER_DECISION
                        && !group.accepted.is_empty() =>
                {
                    group.rest.push(p);
                }
                Ok(events) => {
                    total += events.len();
                    if let Some(st) = scratch.as_deref_mut() {
                        evolve_decided(st, &p, &events);
                    }
                    corrected = matches!(p.submission.command, Command::CorrectDecision(_));
                    group.accepted.push((p, events));
                }
            }
        }
        group.after = own;
        group
    }

    /// The recorded decision `id` as the history reads it now (its
    /// rättelser applied), read from the stream; `None` when this kommun
    /// recorded no such event.
    async fn original(
        &self,
        kommun: &KommunId,
        decider: &Decider,
        id: Uuid,
    ) -> Result<Option<Original>, ServiceError> {
        let sequence = match (decider.sequences.get(&id), &self.snapshots) {
            (Some(&s), _) => s,
            (None, Some(snapshots)) => match snapshots.sequence_of(kommun, id) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(None),
                Err(e) => {
                    return Err(ServiceError::Unreadable {
                        sequence: 0,
                        detail: e.to_string(),
                    })
                }
            },
            (None, None) => return Ok(None),
        };
        let raw = self.store.raw_message(kommun, sequence).await?;
        let stored = styr_store::StoredEvent::decode(sequence, raw)?;
        let env = stored.envelope;
        if env.event_id != id {
            return Ok(None);
        }
        let payload = decider
            .corrections
            .apply(env.event_id, &env.payload)
            .unwrap_or(env.payload);
        Ok(Some(Original {
            event_type: env.event_type,
            payload,
            decided_by: env.provenance.decided_by,
        }))
    }

    /// The answer to a rejected submission: a retry of something recorded
    /// is a duplicate (even if deciding it again would now be refused); a
    /// rejection on a state the stream has moved past is no answer (`None`:
    /// decide it again after catching up).
    async fn rejected(
        &self,
        kommun: &KommunId,
        decider: &Decider,
        p: &Pending,
        rejection: Rejection,
        speculative: bool,
    ) -> Option<Result<Outcome, ServiceError>> {
        match self
            .store
            .lookup(kommun, &p.submission.idempotency_key)
            .await
        {
            Ok(Some(c)) => Some(self.duplicate(kommun, &p.submission, c).await),
            // Decided after groups on their way, the stream is expected to
            // be ahead of the state; the rejection waits for them instead.
            Ok(None)
                if !speculative
                    && self.store.known_chain(kommun).await.next - 1 > decider.sequence =>
            {
                None
            }
            Ok(None) => {
                tracing::info!(%rejection, key = %p.submission.idempotency_key, "rejected");
                Some(Ok(Outcome::Rejected(rejection)))
            }
            Err(e) => Some(Err(e.into())),
        }
    }
}

/// A group decided against the state: what goes in the batch, and what is
/// answered or sent back around it.
#[derive(Default)]
struct DecidedGroup {
    accepted: Vec<(Pending, Vec<Event>)>,
    /// Did not fit in one batch: back to the head of the queue.
    rest: Vec<Pending>,
    /// Rejected on a state the stream has moved past: decided again.
    stale: Vec<Pending>,
    /// Rejections decided after an accepted member, answered once it is
    /// recorded.
    deferred: Vec<(Pending, Result<Outcome, ServiceError>)>,
    /// The state after the accepted members, when the group was decided on
    /// a copy of its own.
    after: Option<KommunState>,
}

/// Advances a state by a decided member's events, as deciding the next
/// member of its group sees them (the events' ids are not known yet).
fn evolve_decided(state: &mut KommunState, p: &Pending, events: &[Event]) {
    for e in events {
        state.evolve(
            &EventMeta {
                event_id: Uuid::nil(),
                decided_by: p.submission.provenance.decided_by.clone(),
            },
            e,
        );
    }
}

/// Decides one submission; a fault while deciding it (`None`) answers that
/// submission and no other in the group.
fn decide_one(
    state: &KommunState,
    p: &Pending,
    original: Option<&Original>,
) -> Option<Result<Vec<Event>, Rejection>> {
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        state.decide_as_with(
            &p.submission.recorded_by,
            &p.submission.provenance,
            &p.submission.command,
            original,
        )
    }));
    if decided.is_err() {
        tracing::error!(key = %p.submission.idempotency_key, "deciding panicked");
    }
    decided.ok()
}

/// Tells every submission the group failed, and why.
fn fail(pending: impl IntoIterator<Item = Pending>, why: impl Into<ServiceError>) {
    let why = Arc::new(why.into());
    for p in pending {
        let _ = p.reply.send(Err(ServiceError::Failed(why.clone())));
    }
}

impl Kommuner {
    /// Sends submissions back to the head of the queue to be decided again,
    /// at most [`MAX_REQUEUES`] times each; after that the caller is told the
    /// kommun kept moving.
    fn requeue(&self, kommun: &KommunId, slot: &Slot, pending: Vec<Pending>) {
        let mut q = slot.queue.lock().unwrap_or_else(|p| p.into_inner());
        for mut p in pending.into_iter().rev() {
            p.requeued += 1;
            if p.requeued > MAX_REQUEUES {
                let _ = p.reply.send(Err(ServiceError::Contended {
                    kommun: kommun.to_string(),
                    attempts: p.requeued,
                }));
            } else {
                q.push_front(p);
            }
        }
    }

    /// A key recorded before is a duplicate only for whoever recorded it,
    /// and only for the same submission: an idempotency key is the
    /// recorder's, and another identity's decision under the same key — or
    /// the recorder's own with other content (a corrected file sent again)
    /// — is refused rather than silently dropped.
    async fn duplicate(
        &self,
        kommun: &KommunId,
        submission: &Submission,
        commit: Commit,
    ) -> Result<Outcome, ServiceError> {
        // Who recorded it must be known: "duplicate" to the wrong caller
        // would tell them a decision of theirs is recorded when it is not.
        let (raw, recorded_digest) = self
            .store
            .raw_message_and_digest(kommun, commit.first_sequence)
            .await?;
        let owner = serde_json::from_slice::<styr_store::Envelope>(&raw)
            .map(|e| e.recorded_by)
            .map_err(|e| ServiceError::Unreadable {
                sequence: commit.first_sequence,
                detail: e.to_string(),
            })?;
        let other_content = other_content(recorded_digest.as_deref(), submission);
        Ok(match owner {
            owner if owner != submission.recorded_by => Outcome::Rejected(Rejection::new(
                styr_domain::Rule::P6,
                "idempotency_key",
                format!(
                    "nyckeln {:?} används redan av ett annat beslut (registrerat av {owner}); välj en egen nyckel",
                    commit.idempotency_key
                ),
            )),
            _ if other_content => Outcome::Rejected(Rejection::new(
                styr_domain::Rule::P6,
                "idempotency_key",
                format!(
                    "nyckeln {:?} användes redan för ett annat beslut ({}), med annat innehåll än detta; det står kvar oförändrat. \
                     Ett nytt beslut behöver en ny nyckel, och ett fel i det registrerade rättas med en rättelse",
                    commit.idempotency_key,
                    sequences_sv(&commit)
                ),
            )),
            _ => Outcome::Duplicate(commit),
        })
    }
}

/// Where a commit stands, in words: "sekvens 7" or "sekvens 7–9".
fn sequences_sv(commit: &Commit) -> String {
    if commit.first_sequence == commit.last_sequence {
        format!("sekvens {}", commit.first_sequence)
    } else {
        format!("sekvens {}–{}", commit.first_sequence, commit.last_sequence)
    }
}

/// The outcome as the submission counter labels it.
fn outcome_label(result: &Result<Outcome, ServiceError>) -> &'static str {
    match result {
        Ok(Outcome::Recorded(_)) => "recorded",
        Ok(Outcome::Duplicate(_)) => "duplicate",
        Ok(Outcome::Rejected(_)) => "rejected",
        Err(_) => "error",
    }
}

/// The form of the submission digests this version writes, before the hex
/// (`v1:<hex>`): a digest of another form is not compared. Whoever changes
/// how a command serializes for content already recorded — a field added
/// with a default that is not empty (`false`, `0`, `""`), a field or value
/// renamed — moves this on, or retries of decisions recorded before would
/// be refused as other content.
const DIGEST_FORM: &str = "v1:";

/// Whether `submission` differs from the decision whose first message
/// carries `recorded` (its [`HEADER_SUBMISSION_DIGEST`]). A decision
/// recorded before digests were kept (or restored from an export, which
/// keeps no headers), or digested in another form, is taken to be the
/// same.
///
/// [`HEADER_SUBMISSION_DIGEST`]: styr_store::HEADER_SUBMISSION_DIGEST
fn other_content(recorded: Option<&str>, submission: &Submission) -> bool {
    recorded
        .and_then(|d| d.strip_prefix(DIGEST_FORM))
        .is_some_and(|d| d != digest_of(submission))
}

/// The header value for `submission`: [`DIGEST_FORM`] and its digest.
fn submission_digest(submission: &Submission) -> String {
    format!("{DIGEST_FORM}{}", digest_of(submission))
}

/// What a submission asks to be recorded — its command and provenance,
/// not who sends it or its trace ids — digested: the same for a retry,
/// another for any change. Keys are written in sorted order (a
/// `serde_json::Value`'s map is ordered by key), so the digest does not
/// depend on how the submission was written; fields left empty (`null`,
/// `[]`, `{}`) are left out, so that a field a later version adds with an
/// empty default leaves a retry's digest as it was.
fn digest_of(submission: &Submission) -> String {
    use sha2::Digest;
    let mut content = serde_json::json!({
        "provenance": submission.provenance,
        "command": submission.command,
    });
    without_empty(&mut content);
    format!("{:x}", sha2::Sha256::digest(content.to_string().as_bytes()))
}

/// Removes every `null`, `[]` and `{}` member of the objects in `value`,
/// inner ones first (an object left empty by that goes too).
fn without_empty(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            for v in members.values_mut() {
                without_empty(v);
            }
            members.retain(|_, v| match v {
                Value::Null => false,
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            });
        }
        Value::Array(items) => items.iter_mut().for_each(without_empty),
        _ => {}
    }
}

fn to_decision(submission: &Submission, events: &[Event]) -> Decision {
    Decision {
        submission_digest: Some(submission_digest(submission)),
        idempotency_key: submission.idempotency_key.clone(),
        recorded_by: submission.recorded_by.clone(),
        correlation_id: submission.correlation_id.unwrap_or_else(Uuid::now_v7),
        causation_id: submission.causation_id,
        provenance: submission.provenance.clone(),
        events: events.iter().map(styr_projections::new_event).collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn only_a_digest_of_this_form_that_differs_is_other_content() {
        let s = &crate::example::vimmerby().unwrap()[0];
        let ours = super::submission_digest(s);
        assert!(ours.starts_with(super::DIGEST_FORM));
        assert!(!super::other_content(Some(&ours), s));
        assert!(super::other_content(Some("v1:00"), s));
        // Unknown: recorded before digests, or in another form.
        assert!(!super::other_content(None, s));
        assert!(!super::other_content(Some("v2:00"), s));
        assert!(!super::other_content(Some(&ours[3..]), s));
    }

    #[test]
    fn empty_fields_do_not_count_in_a_submissions_digest() {
        let mut v = json!({
            "a": 1, "b": null, "c": [], "d": {}, "e": {"f": null, "g": [{"h": []}]},
            "i": [null, {}], "j": false, "k": 0, "l": ""
        });
        super::without_empty(&mut v);
        assert_eq!(
            v,
            json!({"a": 1, "e": {"g": [{}]}, "i": [null, {}], "j": false, "k": 0, "l": ""})
        );
    }
}
