//! Commands in, events out. For each kommun the service keeps the domain
//! state in memory (folded from the kommun's stream on first use), decides a
//! command against it, and appends the events with the sequence it decided
//! against; on a conflict it reads what it missed and decides again.
//!
//! It does not touch NATS itself (the store does) and holds no rules (the
//! domain does).

pub mod api;
pub mod example;
pub mod schemas;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use styr_domain::{
    Command, Event, EventMeta, KommunState, Provenance, Rejection, EVENT_SCHEMA_VERSION,
};
use styr_store::{
    AggregateRef, AppendOutcome, Commit, Decision, EventStore, KommunId, NewEvent, StoreError,
};
use uuid::Uuid;

/// Ärende som lämnas in: a command with its provenance and the caller's
/// idempotency key. This is the shape of a submitted file or request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Chosen by the caller, unique per decision: a retry with the same key
    /// records nothing new and answers with the original outcome.
    pub idempotency_key: String,
    /// Who records it (a person or integration), for the audit trail.
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
    #[error("event at sequence {sequence} cannot be read: {detail}")]
    Unreadable { sequence: u64, detail: String },
    #[error("kommun {kommun} kept moving: gave up after {attempts} conflicting attempts")]
    Contended { kommun: String, attempts: u32 },
}

struct Loaded {
    state: KommunState,
    sequence: u64,
}

/// The command side for all kommuner this process serves.
pub struct Kommuner {
    store: Arc<EventStore>,
    loaded: std::sync::Mutex<HashMap<KommunId, Arc<tokio::sync::Mutex<Loaded>>>>,
}

impl Kommuner {
    pub fn new(store: Arc<EventStore>) -> Self {
        Kommuner {
            store,
            loaded: Default::default(),
        }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    fn slot(&self, kommun: &KommunId) -> Arc<tokio::sync::Mutex<Loaded>> {
        let mut map = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(kommun.clone())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Loaded {
                    state: KommunState::default(),
                    sequence: 0,
                }))
            })
            .clone()
    }

    /// Folds the events after `loaded.sequence` into the state.
    async fn catch_up(&self, kommun: &KommunId, loaded: &mut Loaded) -> Result<(), ServiceError> {
        let events = self.store.history(kommun, loaded.sequence + 1).await?;
        futures::pin_mut!(events);
        while let Some(stored) = events.next().await {
            let stored = stored?;
            let env = &stored.envelope;
            let event = Event::from_payload(&env.event_type, env.schema_version, &env.payload)
                .map_err(|e| ServiceError::Unreadable {
                    sequence: stored.sequence,
                    detail: e.to_string(),
                })?;
            let _step = tracing::debug_span!("evolve", kommun = %kommun, seq = stored.sequence, event_type = %env.event_type).entered();
            loaded.state.evolve(
                &EventMeta {
                    event_id: env.event_id,
                    decided_by: env.provenance.decided_by.clone(),
                },
                &event,
            );
            loaded.sequence = stored.sequence;
        }
        Ok(())
    }

    /// The kommun's current state, as far as deciding knows it (a copy).
    pub async fn state(&self, kommun: &KommunId) -> Result<(KommunState, u64), ServiceError> {
        let slot = self.slot(kommun);
        let mut loaded = slot.lock().await;
        self.catch_up(kommun, &mut loaded).await?;
        Ok((loaded.state.clone(), loaded.sequence))
    }

    /// Decides and records one submission.
    #[tracing::instrument(skip(self, submission), fields(kommun = %kommun, command = submission.command.name(), key = %submission.idempotency_key))]
    pub async fn submit(
        &self,
        kommun: &KommunId,
        submission: Submission,
    ) -> Result<Outcome, ServiceError> {
        const MAX_ATTEMPTS: u32 = 8;
        let slot = self.slot(kommun);
        let mut loaded = slot.lock().await;
        if loaded.sequence == 0 {
            self.catch_up(kommun, &mut loaded).await?;
        }
        let correlation_id = submission.correlation_id.unwrap_or_else(Uuid::now_v7);
        for _ in 0..MAX_ATTEMPTS {
            let events = match loaded
                .state
                .decide(&submission.provenance, &submission.command)
            {
                Ok(events) => events,
                Err(rejection) => {
                    // A retry of something already recorded is a duplicate,
                    // even if deciding it again would now be refused.
                    if let Some(c) = self
                        .store
                        .lookup(kommun, &submission.idempotency_key)
                        .await?
                    {
                        return Ok(Outcome::Duplicate(c));
                    }
                    tracing::info!(%rejection, "rejected");
                    return Ok(Outcome::Rejected(rejection));
                }
            };
            let decision = Decision {
                idempotency_key: submission.idempotency_key.clone(),
                recorded_by: submission.recorded_by.clone(),
                correlation_id,
                causation_id: submission.causation_id,
                provenance: submission.provenance.clone(),
                events: events
                    .iter()
                    .map(|e| {
                        let (event_type, payload) = e.to_payload();
                        let (kind, id) = e.aggregate();
                        NewEvent {
                            aggregate: AggregateRef::new(kind, id),
                            event_type: event_type.to_owned(),
                            schema_version: EVENT_SCHEMA_VERSION,
                            payload,
                        }
                    })
                    .collect(),
            };
            match self.store.append(kommun, loaded.sequence, decision).await? {
                AppendOutcome::Appended(commit) => {
                    for (event, id) in events.iter().zip(&commit.event_ids) {
                        loaded.state.evolve(
                            &EventMeta {
                                event_id: *id,
                                decided_by: submission.provenance.decided_by.clone(),
                            },
                            event,
                        );
                    }
                    loaded.sequence = commit.last_sequence;
                    return Ok(Outcome::Recorded(commit));
                }
                AppendOutcome::Duplicate(commit) => {
                    self.catch_up(kommun, &mut loaded).await?;
                    return Ok(Outcome::Duplicate(commit));
                }
                AppendOutcome::Conflict { actual, .. } => {
                    tracing::debug!(actual, "conflict: reading what was missed, deciding again");
                    self.catch_up(kommun, &mut loaded).await?;
                }
            }
        }
        Err(ServiceError::Contended {
            kommun: kommun.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }
}
