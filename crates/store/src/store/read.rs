//! Reading a kommun's log: its history to the end, live follow, one
//! aggregate, one message — all through ordered consumers.

use std::time::Duration;

use async_nats::jetstream::{consumer, stream};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::EventStore;
use crate::chain::{ChainState, Record};
use crate::{KommunId, StoreError, StoredEvent};

impl EventStore {
    /// The kommun's stream from `from.next` to its last message at the time
    /// of the call, each message classified against `from` (start with
    /// [`ChainState::genesis`], or go on from a state kept earlier). Ordered
    /// consumer: no round trip per event.
    pub async fn history(
        &self,
        kommun: &KommunId,
        from: ChainState,
    ) -> Result<impl Stream<Item = Result<Record, StoreError>> + Send + 'static, StoreError> {
        let start = from.next;
        Ok(classified(self.raw_history(kommun, start).await?, from))
    }

    /// The kommun's stream from `from.next` through `until`, each message
    /// classified against `from`: a stretch the caller knows is there (its
    /// projection has read it), read without first asking the server for
    /// the stream's state — one request fewer than
    /// [`history`](Self::history).
    pub async fn history_between(
        &self,
        kommun: &KommunId,
        from: ChainState,
        until: u64,
    ) -> Result<impl Stream<Item = Result<Record, StoreError>> + Send + 'static, StoreError> {
        let start = from.next.max(1);
        let raw = if until < start {
            futures::stream::empty().right_stream()
        } else {
            let stream = self
                .js
                .get_stream_no_info(kommun.stream_name())
                .await
                .map_err(|e| StoreError::nats("looking up the kommun stream", e))?;
            raw_messages(&stream, start, Some(until))
                .await?
                .left_stream()
        };
        Ok(classified(raw, from))
    }

    /// The raw messages (sequence, stored bytes) of the kommun's stream from
    /// `from` to its last message at the time of the call, unclassified: for
    /// readers that keep their own [`ChainState`].
    pub async fn raw_history(
        &self,
        kommun: &KommunId,
        from: u64,
    ) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError>
    {
        let stream = self.existing_stream(kommun).await?;
        let (stream, last) = match stream {
            Some(s) => {
                // Just looked up: its info is fresh.
                let last = s.cached_info().state.last_sequence;
                (Some(s), last)
            }
            None => (None, 0),
        };
        let from = from.max(1);
        Ok(match stream {
            Some(s) if last >= from => raw_messages(&s, from, Some(last)).await?.left_stream(),
            _ => futures::stream::empty().right_stream(),
        })
    }

    /// Like [`raw_history`](Self::raw_history), then live: never ends by itself.
    pub async fn raw_follow(
        &self,
        kommun: &KommunId,
        from: u64,
    ) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError>
    {
        let stream = self.ensure_stream(kommun).await?;
        raw_messages(&stream, from.max(1), None).await
    }

    /// The events of the kommun's history (foreign messages left out) with
    /// sequence `from` or later.
    pub async fn read(&self, kommun: &KommunId, from: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let records = self.history(kommun, ChainState::genesis(kommun)).await?;
        futures::pin_mut!(records);
        let mut out = Vec::new();
        while let Some(r) = records.next().await {
            if let Record::Event(e) = r? {
                if e.sequence >= from {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// Every event of one aggregate, in order (foreign messages left out).
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn read_aggregate(
        &self,
        kommun: &KommunId,
        kind: &str,
        id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        crate::ids::check_token("aggregate.kind", kind)?;
        crate::ids::check_token("aggregate.id", id)?;
        let mut events = self.read(kommun, 1).await?;
        events.retain(|e| e.envelope.aggregate.kind == kind && e.envelope.aggregate.id == id);
        Ok(events)
    }

    /// Follows the kommun live: every message from `from.next` on, first
    /// those already recorded, then each new one as it is recorded, each
    /// classified. Never ends by itself; drop the stream to stop.
    pub async fn follow(
        &self,
        kommun: &KommunId,
        from: ChainState,
    ) -> Result<impl Stream<Item = Result<Record, StoreError>> + Send + 'static, StoreError> {
        let stream = self.ensure_stream(kommun).await?;
        let start = from.next;
        Ok(classified(raw_messages(&stream, start, None).await?, from))
    }

    /// The stored bytes of one message, read from the stream's leader.
    pub async fn raw_message(&self, kommun: &KommunId, sequence: u64) -> Result<Bytes, StoreError> {
        Ok(self.stored_message(kommun, sequence).await?.payload)
    }

    /// The stored bytes of one message and, on a decision's first message,
    /// the digest of the submission it was decided from
    /// ([`crate::HEADER_SUBMISSION_DIGEST`]; absent on messages written
    /// before it existed, restored from an export, or not Styrkedja's).
    pub async fn raw_message_and_digest(
        &self,
        kommun: &KommunId,
        sequence: u64,
    ) -> Result<(Bytes, Option<String>), StoreError> {
        let message = self.stored_message(kommun, sequence).await?;
        let digest = message
            .headers
            .get(super::wire::HEADER_SUBMISSION_DIGEST)
            .map(|v| v.as_str().to_owned());
        Ok((message.payload, digest))
    }

    async fn stored_message(
        &self,
        kommun: &KommunId,
        sequence: u64,
    ) -> Result<async_nats::jetstream::message::StreamMessage, StoreError> {
        let Some(stream) = self.existing_stream(kommun).await? else {
            return Err(StoreError::nats_said(
                "reading a message",
                format!("kommun {kommun} has no stream"),
            ));
        };
        let message = stream
            .get_raw_message(sequence)
            .await
            .map_err(|e| StoreError::nats("reading a message", e))?;
        Ok(message)
    }
}

/// At most this many messages already received are classified as one run
/// ([`ChainState::classify_run`]: one signature check per run).
pub(super) const RUN: usize = 512;

/// Classifies raw messages in order, starting from `state`, in runs of what
/// has arrived (a live reader is never kept waiting for a run to fill).
fn classified(
    raw: impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static,
    state: ChainState,
) -> impl Stream<Item = Result<Record, StoreError>> + Send + 'static {
    raw.ready_chunks(RUN)
        .scan(state, |state, items| {
            let mut out = Vec::with_capacity(items.len());
            let mut run = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Ok(message) => run.push(message),
                    Err(e) => {
                        out.extend(state.classify_run(std::mem::take(&mut run)));
                        out.push(Err(e));
                    }
                }
            }
            out.extend(state.classify_run(run));
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten()
}

/// Raw messages (sequence, stored bytes) from `from` through an ordered
/// consumer, ending after `until` if given.
pub(super) async fn raw_messages<I: Clone + Send + Sync + 'static>(
    stream: &stream::Stream<I>,
    from: u64,
    until: Option<u64>,
) -> Result<impl Stream<Item = Result<(u64, Bytes), StoreError>> + Send + 'static, StoreError> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| StoreError::nats("creating an ordered consumer", e))?;
    let consumer_gone = DeleteOnDrop {
        stream: stream.clone(),
        name: consumer.cached_info().name.clone(),
    };
    let messages = consumer
        .messages()
        .await
        .map_err(|e| StoreError::nats("reading the stream", e))?;
    let messages = messages.map(|msg| {
        let msg = msg.map_err(|e| StoreError::nats("reading the stream", e))?;
        let seq = msg
            .info()
            .map_err(|e| StoreError::nats("reading message info", e))?
            .stream_sequence;
        Ok((seq, msg.message.payload.clone()))
    });
    // Stop right after the message at `until`, without waiting for another.
    let count = until.map_or(usize::MAX, |u| (u + 1).saturating_sub(from) as usize);
    let messages = messages.take(count);
    // A bounded read whose next message does not come (a server out of disk,
    // a consumer that cannot be created) ends in an error rather than
    // holding its caller, and the kommun's writer, for ever.
    let stall = until.map(|_| READ_STALL);
    Ok(futures::stream::unfold(
        (Box::pin(messages), false, consumer_gone),
        move |(mut messages, done, consumer_gone)| async move {
            if done {
                return None;
            }
            let next = match stall {
                Some(limit) => match tokio::time::timeout(limit, messages.next()).await {
                    Ok(next) => next,
                    Err(_) => Some(Err(StoreError::nats_said(
                        "reading the stream",
                        format!("no message for {limit:?}"),
                    ))),
                },
                None => messages.next().await,
            };
            let failed = matches!(next, Some(Err(_)));
            next.map(|item| (item, (messages, failed, consumer_gone)))
        },
    ))
}

/// Deletes a read's consumer when the read ends or is dropped. The server
/// would remove it after seconds of inactivity, but it keeps at most 1 000
/// consumers per stream meanwhile: a burst of reads (as-of questions, say)
/// would be refused.
struct DeleteOnDrop<I: Clone + Send + Sync + 'static> {
    stream: stream::Stream<I>,
    name: String,
}

impl<I: Clone + Send + Sync + 'static> Drop for DeleteOnDrop<I> {
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (stream, name) = (self.stream.clone(), std::mem::take(&mut self.name));
            runtime.spawn(async move {
                if let Err(e) = stream.delete_consumer(&name).await {
                    tracing::debug!(error = %e, consumer = %name, "a read's consumer was not deleted; the server removes it when idle");
                }
            });
        }
    }
}

/// How long a bounded read waits for its next message.
const READ_STALL: Duration = Duration::from_secs(10);
