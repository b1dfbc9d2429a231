//! A kommun's health, for probes and `styr health`: is its stream reachable,
//! does its group keep quorum, how far this node's projection lags, how old
//! the last signed checkpoint is. The same document over NATS (the query
//! `{"kind":"health"}`) and from `styr health --json`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use styr_projections::docs::{CheckpointDoc, DocKind};
use styr_projections::{ProjectionError, Projector};
use styr_store::{EventStore, KommunId};

/// Hälsa: one kommun's stream and this node's view of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KommunHealth {
    pub kommun: String,
    /// The kommun has a stream on the server.
    pub exists: bool,
    /// The stream answered.
    pub reachable: bool,
    /// Its group can commit: a leader and a majority of replicas current.
    pub quorum: bool,
    /// Replicas the stream is configured with.
    pub replicas: usize,
    /// Replicas current with the leader, the leader included.
    pub current: usize,
    pub leader: Option<String>,
    /// Replicas the group considers offline.
    pub offline: Vec<String>,
    pub last_sequence: u64,
    /// This node's projection: where it is, and how many events behind the
    /// stream (absent where there is no projection on this node).
    pub projection_sequence: Option<u64>,
    pub projection_lag: Option<u64>,
    /// The last signed checkpoint the projection has seen, and its age.
    pub last_checkpoint_signed_at: Option<DateTime<Utc>>,
    pub last_checkpoint_age_seconds: Option<i64>,
    /// What is wrong, in Swedish; empty when nothing is.
    pub problem: String,
}

impl KommunHealth {
    /// Reachable, and able to commit.
    pub fn healthy(&self) -> bool {
        self.reachable && self.quorum
    }
}

/// The kommun's health as `store` and (when there is one here) `projector`
/// see it now. A stream that cannot be read is an answer, not an error.
pub async fn kommun_health(
    store: &EventStore,
    projector: Option<&Projector>,
    kommun: &KommunId,
) -> Result<KommunHealth, ProjectionError> {
    let mut h = KommunHealth {
        kommun: kommun.to_string(),
        exists: false,
        reachable: false,
        quorum: false,
        replicas: 0,
        current: 0,
        leader: None,
        offline: Vec::new(),
        last_sequence: 0,
        projection_sequence: None,
        projection_lag: None,
        last_checkpoint_signed_at: None,
        last_checkpoint_age_seconds: None,
        problem: String::new(),
    };
    match store.stream_health(kommun).await {
        Ok(Some(s)) => {
            h.exists = true;
            h.reachable = true;
            h.quorum = s.has_quorum();
            if !h.quorum {
                h.problem = format!(
                    "strömmen saknar kvorum: {} av {} repliker i fas{}",
                    s.current,
                    s.replicas,
                    if s.leader.is_none() {
                        ", ingen ledare"
                    } else {
                        ""
                    }
                );
            }
            h.replicas = s.replicas;
            h.current = s.current;
            h.leader = s.leader.filter(|l| !l.is_empty());
            h.offline = s.offline;
            h.last_sequence = s.last_sequence;
        }
        Ok(None) => h.problem = "kommunen har ingen ström här".into(),
        Err(e) => {
            h.exists = true;
            h.problem = format!("strömmen går inte att nå: {e}");
        }
    }
    if let Some(p) = projector {
        if let Some(c) = p.checkpoint(kommun)? {
            h.projection_sequence = Some(c.sequence);
            // A lag needs the stream's end: none when it was not read.
            h.projection_lag = h
                .reachable
                .then(|| h.last_sequence.saturating_sub(c.sequence));
        }
        let last = styr_projections::docs::<CheckpointDoc>(p.view(), kommun, DocKind::Checkpoint)?
            .into_iter()
            .max_by_key(|c| c.signed_at);
        if let Some(c) = last {
            h.last_checkpoint_age_seconds = Some((Utc::now() - c.signed_at).num_seconds());
            h.last_checkpoint_signed_at = Some(c.signed_at);
        }
    }
    Ok(h)
}
