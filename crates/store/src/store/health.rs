//! A kommun stream's health as its leader reports it: reachable, how many
//! replicas are current, whether the group keeps its quorum.

use async_nats::jetstream::stream;

use super::EventStore;
use crate::{KommunId, StoreError};

/// Hur strömmen mår: a kommun stream's replication as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHealth {
    /// The stream's last sequence.
    pub last_sequence: u64,
    /// How many replicas the stream is configured with (1, or 3 in a cluster).
    pub replicas: usize,
    /// The server that leads the stream's group, when one does.
    pub leader: Option<String>,
    /// Replicas current with the leader, the leader included.
    pub current: usize,
    /// Replicas the group considers offline.
    pub offline: Vec<String>,
}

impl StreamHealth {
    /// The group can commit: it has a leader and a majority of its replicas
    /// (the leader counted) is current. A write needs this; without it every
    /// append times out.
    pub fn has_quorum(&self) -> bool {
        self.leader.is_some() && self.current * 2 > self.replicas
    }

    fn from_info(info: &stream::Info) -> Self {
        let replicas = info.config.num_replicas.max(1);
        let (leader, current, offline) = match &info.cluster {
            // A single server answers without a group: it is the leader.
            None => (Some(String::new()), 1, Vec::new()),
            Some(c) => {
                let leader = c.leader.clone();
                let current = usize::from(leader.is_some())
                    + c.replicas
                        .iter()
                        .filter(|p| p.current && !p.offline)
                        .count();
                let offline = c
                    .replicas
                    .iter()
                    .filter(|p| p.offline)
                    .map(|p| p.name.clone())
                    .collect();
                (leader, current, offline)
            }
        };
        StreamHealth {
            last_sequence: info.state.last_sequence,
            replicas,
            leader,
            current,
            offline,
        }
    }
}

impl EventStore {
    /// The kommun stream's health, or `None` when it has no stream.
    pub async fn stream_health(
        &self,
        kommun: &KommunId,
    ) -> Result<Option<StreamHealth>, StoreError> {
        let Some(mut stream) = self.existing_stream(kommun).await? else {
            return Ok(None);
        };
        let info = stream
            .info()
            .await
            .map_err(|e| StoreError::nats("reading stream info", e))?;
        Ok(Some(StreamHealth::from_info(info)))
    }
}

#[cfg(test)]
mod tests {
    use super::StreamHealth;

    fn health(replicas: usize, leader: bool, current: usize) -> StreamHealth {
        StreamHealth {
            last_sequence: 7,
            replicas,
            leader: leader.then(|| "n1".to_owned()),
            current,
            offline: Vec::new(),
        }
    }

    #[test]
    fn quorum_is_a_leader_and_a_majority_current() {
        assert!(health(1, true, 1).has_quorum());
        assert!(health(3, true, 3).has_quorum());
        assert!(health(3, true, 2).has_quorum(), "one replica down is fine");
        assert!(
            !health(3, true, 1).has_quorum(),
            "the leader alone is no majority"
        );
        assert!(!health(3, false, 2).has_quorum(), "no leader, no writes");
    }
}
