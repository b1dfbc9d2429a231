//! Pipelined group commit: while the server stores one group's batch, the
//! kommun's writer decides the next queued group against the state that
//! batch leaves, and sends it chained to it as an open batch; the store
//! commits it once the first is recorded whole, and drops it otherwise
//! (its members are then decided again after a catch-up). A group's fsync
//! no longer waits for the deciding, signing and sending of the next.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use styr_domain::{Command, Event, EventMeta, KommunState};
use styr_store::{AppendOutcome, Begun, ChainEnd, Decision, InFlight, KommunId, Staged};

use crate::{
    evolve_decided, fail, to_decision, Decider, Kommuner, Outcome, Pending, ServiceError, Slot,
    MAX_GROUP,
};

/// A group is staged behind one on its way only when at least this many
/// submissions wait: the server commits one batch after the other, each
/// with its own fsync, so a few submissions are better left to gather into
/// the next group than sent as a small batch of their own (measured: a
/// pipeline of small batches was slower than one batch at a time).
const PIPELINE_FROM: usize = 16;

/// At most this many groups in one run of the pipeline: the caller whose
/// task runs the writer is answered with the first group but returns only
/// when the run ends, so a run under steady load must end (the next
/// waiting caller then takes the writer).
const MAX_RUN: usize = 8;

/// A group's members going into one batch: the accepted ones with their
/// events, and the rejections decided after one of them (answered once the
/// batch is recorded).
pub(crate) struct Group {
    pub(crate) accepted: Vec<(Pending, Vec<Event>)>,
    pub(crate) deferred: Vec<(Pending, Result<Outcome, ServiceError>)>,
}

impl Group {
    fn decisions(&self) -> Vec<Decision> {
        self.accepted
            .iter()
            .map(|(p, events)| to_decision(&p.submission, events))
            .collect()
    }

    /// Every member, for the head of the queue (decided again there).
    fn members(self) -> impl Iterator<Item = Pending> {
        self.accepted
            .into_iter()
            .map(|(p, _)| p)
            .chain(self.deferred.into_iter().map(|(p, _)| p))
    }

    /// Whether a group may be decided after this one before it is
    /// recorded: not after a rättelse (what follows it is decided on the
    /// history folded again through it).
    fn may_be_followed(&self) -> bool {
        !self
            .accepted
            .iter()
            .any(|(p, _)| matches!(p.submission.command, Command::CorrectDecision(_)))
    }
}

impl Kommuner {
    /// Appends the accepted members as one batch and answers them — and,
    /// while the server stores it, decides and stages the next queued group
    /// after it, and so on while submissions keep coming. Returns the
    /// members of the last group to decide again (a conflict with another
    /// writer), or `None` when a group ended in an error its members were
    /// told.
    pub(crate) async fn record_group(
        &self,
        kommun: &KommunId,
        slot: &Slot,
        decider: &mut Decider,
        group: Group,
        after: Option<KommunState>,
    ) -> Option<Vec<Pending>> {
        let decisions = group.decisions();
        metrics::histogram!("styr_group_size").record(decisions.len() as f64);
        let mut started = Instant::now();
        let mut sent = match self
            .store
            .begin_group(kommun, decider.sequence, decisions)
            .await
        {
            Ok(Begun::Sent(sent)) => *sent,
            Ok(Begun::Answered(outcomes)) => {
                return self
                    .settle_group(kommun, slot, decider, group, outcomes, None)
                    .await
            }
            Err(e) => {
                self.failed(kommun, slot, group, e);
                return None;
            }
        };
        // The state after the groups on their way, once one is decided
        // after them (one copy per run of the pipeline, not per group).
        let mut ahead = after;
        let mut group = group;
        let mut run = 0;
        loop {
            run += 1;
            let next = if self.pipeline && run < MAX_RUN && group.may_be_followed() {
                self.stage_next(kommun, slot, decider, &mut ahead, &group, &sent)
                    .await
            } else {
                None
            };
            let (staged, next) = match next {
                Some((staged, next)) => (Some(staged), Some(next)),
                None => (None, None),
            };
            let settled = self.store.settle(sent, staged).await;
            metrics::histogram!("styr_append_seconds").record(started.elapsed().as_secs_f64());
            let settled = match settled {
                Ok(s) => s,
                Err(e) => {
                    self.failed(kommun, slot, group, e);
                    if let Some(next) = next {
                        decide_later(slot, next);
                    }
                    return None;
                }
            };
            let retry = self
                .settle_group(kommun, slot, decider, group, settled.outcomes, settled.end)
                .await;
            match (settled.next, next) {
                (Some(committing), Some(next)) => {
                    self.pipelined.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("styr_pipelined_groups_total").increment(1);
                    // Committed only after a group recorded whole: nothing
                    // of it is decided again.
                    if let Some(retry) = retry.filter(|r| !r.is_empty()) {
                        self.requeue(kommun, slot, retry);
                    }
                    metrics::histogram!("styr_group_size").record(next.accepted.len() as f64);
                    (sent, group, started) = (committing, next, Instant::now());
                }
                (_, next) => {
                    if let Some(next) = next {
                        // Dropped: decided again against what is recorded.
                        decide_later(slot, next);
                    }
                    return retry;
                }
            }
        }
    }

    /// Decides the next queued group against the state the group on its
    /// way leaves (`ahead`, made from `after` on first use) and stages its
    /// batch after `sent`. `None` (nothing staged, the members back at the
    /// head of the queue) when nothing is queued, nothing is accepted, or
    /// the store cannot stage it.
    async fn stage_next(
        &self,
        kommun: &KommunId,
        slot: &Slot,
        decider: &Decider,
        ahead: &mut Option<KommunState>,
        on_its_way: &Group,
        sent: &InFlight,
    ) -> Option<(Staged, Group)> {
        // Up to a rättelse: it reads the decision it corrects from the
        // stream, which does not hold the groups on their way yet.
        let todo: Vec<Pending> = {
            let mut q = slot.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.len() < PIPELINE_FROM {
                return None;
            }
            let n = q
                .iter()
                .take(MAX_GROUP)
                .take_while(|p| !matches!(p.submission.command, Command::CorrectDecision(_)))
                .count();
            q.drain(..n).collect()
        };
        if todo.is_empty() {
            return None;
        }
        let keys: HashSet<String> = sent.keys().map(str::to_owned).collect();
        let todo = self.not_yet_recorded(kommun, slot, todo, &keys).await;
        if todo.is_empty() {
            return None;
        }
        let state = ahead.get_or_insert_with(|| {
            let mut state = decider.state.clone();
            for (p, events) in &on_its_way.accepted {
                evolve_decided(&mut state, p, events);
            }
            state
        });
        let decided = self.decide_group(kommun, decider, todo, Some(state)).await;
        slot.to_queue_head(decided.rest);
        let group = Group {
            accepted: decided.accepted,
            deferred: decided.deferred,
        };
        if group.accepted.is_empty() {
            decide_later(slot, group);
            return None;
        }
        let staged = match self.store.stage_after(sent, group.decisions()).await {
            Ok(Some(staged)) => Some(staged),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not stage the next group; deciding it after this one is recorded");
                None
            }
        };
        match staged {
            Some(staged) => Some((staged, group)),
            None => {
                // The state now runs ahead of anything on its way.
                *ahead = None;
                decide_later(slot, group);
                None
            }
        }
    }

    /// Answers a group from its batch's outcomes (`end`: where the chain
    /// ends after it, when the store saw it stored as sent): the recorded
    /// members advance the state, the deferred rejections are answered once
    /// what they were decided after is recorded, and decided again
    /// otherwise. Returns the members to decide again (a conflict with
    /// another writer), or `None` when catching up failed (every one told).
    async fn settle_group(
        &self,
        kommun: &KommunId,
        slot: &Slot,
        decider: &mut Decider,
        group: Group,
        outcomes: Vec<AppendOutcome>,
        end: Option<ChainEnd>,
    ) -> Option<Vec<Pending>> {
        let all_recorded = outcomes
            .iter()
            .all(|o| matches!(o, AppendOutcome::Appended(_)));
        if all_recorded {
            for (p, out) in group.deferred {
                let _ = p.reply.send(out);
            }
        } else {
            // Something they were decided after was not recorded: decide
            // them again.
            self.requeue(
                kommun,
                slot,
                group.deferred.into_iter().map(|(p, _)| p).collect(),
            );
        }
        let mut retry = Vec::new();
        let mut appended_any = false;
        let mut corrected = false;
        for ((p, events), outcome) in group.accepted.into_iter().zip(outcomes) {
            match outcome {
                AppendOutcome::Appended(commit) => {
                    appended_any = true;
                    for ((event, id), sequence) in
                        events.iter().zip(&commit.event_ids).zip(commit.sequences())
                    {
                        decider.sequences.insert(*id, sequence);
                        corrected |= decider.corrections.note_event(*id, event);
                        decider.state.evolve(
                            &EventMeta {
                                event_id: *id,
                                decided_by: p.submission.provenance.decided_by.clone(),
                            },
                            event,
                        );
                    }
                    decider.sequence = decider.sequence.max(commit.last_sequence);
                    let _ = p.reply.send(Ok(Outcome::Recorded(commit)));
                }
                AppendOutcome::Duplicate(commit) => {
                    let out = self.duplicate(kommun, &p.submission, commit).await;
                    let _ = p.reply.send(out);
                }
                AppendOutcome::Conflict { actual, .. } => {
                    tracing::debug!(actual, "conflict: reading what was missed, deciding again");
                    retry.push(p);
                }
            }
        }
        if appended_any {
            self.chain_after(kommun, decider, end, corrected).await;
        }
        if !appended_any || decider.sequence == 0 {
            if let Err(e) = self.fold_missed(kommun, decider).await {
                fail(retry, e);
                return None;
            }
        } else {
            self.snapshot_if_due(kommun, decider).await;
        }
        Some(retry)
    }

    /// Where the decider's chain stands after a batch it recorded: the
    /// batch's own end when the store saw it stored as sent (the decider
    /// stood where it began), otherwise where the store's index stands if
    /// that is the same sequence. A rättelse just recorded changes what the
    /// history says, and a chain the decider cannot place is read again:
    /// both fold it afresh.
    async fn chain_after(
        &self,
        kommun: &KommunId,
        decider: &mut Decider,
        end: Option<ChainEnd>,
        corrected: bool,
    ) {
        if corrected {
            decider.refold();
            return;
        }
        match end {
            Some(end) if end.last == decider.sequence => end.advance(&mut decider.chain),
            _ => {
                let chain = self.store.known_chain(kommun).await;
                if chain.next - 1 == decider.sequence {
                    decider.chain = chain;
                } else {
                    decider.refold();
                }
            }
        }
    }

    /// A group whose batch could not be recorded: its accepted members are
    /// told why, its deferred rejections are decided again.
    fn failed(&self, kommun: &KommunId, slot: &Slot, group: Group, e: styr_store::StoreError) {
        fail(group.accepted.into_iter().map(|(p, _)| p), e);
        self.requeue(
            kommun,
            slot,
            group.deferred.into_iter().map(|(p, _)| p).collect(),
        );
    }
}

/// A group decided ahead that was not sent, or dropped: back to the head of
/// the queue, decided again (not counted as a requeue: nothing about it was
/// wrong).
fn decide_later(slot: &Slot, group: Group) {
    slot.to_queue_head(group.members().collect());
}
