//! The JetStream wire protocol of an append: a hand-rolled atomic batch
//! (the client has no batch API) and the server's acknowledgement.

use std::time::Duration;

use async_nats::header::{
    NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE, NATS_EXPECTED_LAST_SEQUENCE,
    NATS_MESSAGE_ID,
};
use async_nats::HeaderMap;
use bytes::Bytes;
use serde::Deserialize;
use uuid::Uuid;

use crate::ChainHash;

/// Header carrying the event type, so subscribers can filter without parsing.
pub const HEADER_EVENT_TYPE: &str = "Styr-Event-Type";
/// Header carrying the event's schema version.
pub const HEADER_SCHEMA_VERSION: &str = "Styr-Schema-Version";
/// Header carrying the event id (also in `Nats-Msg-Id`).
pub const HEADER_EVENT_ID: &str = "Styr-Event-Id";
/// Header carrying the event's chain hash (a convenience; verifiers recompute it).
pub const HEADER_EVENT_HASH: &str = "Styr-Event-Hash";
/// Header on a decision's first message: a digest of the submission it was
/// decided from ([`crate::Decision::submission_digest`]), so that a retry
/// under the same idempotency key is told from another decision reusing
/// it. Not covered by the hash chain: it decides only how a repeated key
/// is answered.
pub const HEADER_SUBMISSION_DIGEST: &str = "Styr-Submission-Digest";

/// JetStream's error code for a failed expected-last-sequence check.
const ERR_WRONG_LAST_SEQUENCE: u64 = 10071;

/// An event encoded and hashed, ready to publish.
pub(super) struct Prepared {
    pub(super) subject: String,
    pub(super) event_id: Uuid,
    pub(super) event_type: String,
    pub(super) schema_version: u32,
    pub(super) hash: ChainHash,
    pub(super) bytes: Bytes,
    /// On a decision's first event, the digest of its submission.
    pub(super) submission_digest: Option<String>,
}

/// Why a batch did not come back acknowledged.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BatchError {
    /// The expected last sequence did not hold; nothing was stored.
    WrongLastSequence,
    /// No answer: the batch may or may not have been stored.
    Lost(String),
    /// The server refused the batch for another reason; nothing was stored.
    Rejected(String),
}

/// How a batch on the wire ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Its last message commits it.
    Commit,
    /// Left open: an end-of-batch marker commits it later (pipelined group
    /// commit), or a gap drops it.
    Open,
}

/// The headers of message `i` of a batch of `n`: its ids, type, version and
/// hash; the batch headers when `n > 1` or the batch is left open (a single
/// committed event is atomic by itself, and a plain publish is one fsync
/// cheaper on the server); the expected last sequence on the first.
fn headers(
    event: &Prepared,
    i: usize,
    n: usize,
    batch_id: &str,
    expected: u64,
    ending: Ending,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, event.event_id.to_string());
    headers.insert(HEADER_EVENT_ID, event.event_id.to_string());
    headers.insert(HEADER_EVENT_TYPE, event.event_type.as_str());
    headers.insert(HEADER_SCHEMA_VERSION, event.schema_version.to_string());
    headers.insert(HEADER_EVENT_HASH, event.hash.to_hex());
    if let Some(digest) = &event.submission_digest {
        headers.insert(HEADER_SUBMISSION_DIGEST, digest.as_str());
    }
    if n > 1 || ending == Ending::Open {
        headers.insert(NATS_BATCH_ID, batch_id);
        headers.insert(NATS_BATCH_SEQUENCE, (i + 1).to_string());
        if i + 1 == n && ending == Ending::Commit {
            headers.insert(NATS_BATCH_COMMIT, "1");
        }
    }
    if i == 0 {
        headers.insert(NATS_EXPECTED_LAST_SEQUENCE, expected.to_string());
    }
    headers
}

/// The acknowledgement of a commit, read in a task of its own so that the
/// commit is on its way while the caller goes on.
pub(super) type Ack = tokio::task::JoinHandle<Result<u64, BatchError>>;

/// Publishes the events as one atomic batch expecting the stream to end at
/// `expected`, and waits up to `ack_timeout` for the commit's
/// acknowledgement. Returns the last stored sequence.
pub(super) async fn publish_batch(
    client: &async_nats::Client,
    ack_timeout: Duration,
    expected: u64,
    events: &[Prepared],
) -> Result<u64, BatchError> {
    match send_batch(client, ack_timeout, expected, events).await {
        Ok(ack) => ack
            .await
            .unwrap_or_else(|e| Err(BatchError::Lost(e.to_string()))),
        Err(e) => Err(e),
    }
}

/// Sends the events as one atomic batch expecting the stream to end at
/// `expected`: every message but the last is on the connection when this
/// returns, the last (the commit) goes out in the task whose answer is the
/// acknowledgement.
pub(super) async fn send_batch(
    client: &async_nats::Client,
    ack_timeout: Duration,
    expected: u64,
    events: &[Prepared],
) -> Result<Ack, BatchError> {
    let Some((last, rest)) = events.split_last() else {
        return Err(BatchError::Rejected("empty batch".to_owned()));
    };
    let batch_id = new_batch_id();
    let n = events.len();
    for (i, event) in rest.iter().enumerate() {
        client
            .publish_with_headers(
                event.subject.clone(),
                headers(event, i, n, &batch_id, expected, Ending::Commit),
                event.bytes.clone(),
            )
            .await
            .map_err(|e| BatchError::Lost(e.to_string()))?;
    }
    let commit = headers(last, n - 1, n, &batch_id, expected, Ending::Commit);
    Ok(request(
        client,
        ack_timeout,
        last.subject.clone(),
        commit,
        last.bytes.clone(),
    ))
}

/// Sends the events as an open batch expecting the stream to end at
/// `expected`; nothing is stored until [`commit_open`] commits it. Returns
/// the batch's id.
pub(super) async fn send_open(
    client: &async_nats::Client,
    expected: u64,
    events: &[Prepared],
) -> Result<String, BatchError> {
    let batch_id = new_batch_id();
    let n = events.len();
    for (i, event) in events.iter().enumerate() {
        client
            .publish_with_headers(
                event.subject.clone(),
                headers(event, i, n, &batch_id, expected, Ending::Open),
                event.bytes.clone(),
            )
            .await
            .map_err(|e| BatchError::Lost(e.to_string()))?;
    }
    Ok(batch_id)
}

/// Commits an open batch of `n` messages with an end-of-batch marker (a
/// message the server does not store); the server checks the batch's
/// expectation only now.
pub(super) fn commit_open(
    client: &async_nats::Client,
    ack_timeout: Duration,
    subject: &str,
    batch_id: &str,
    n: usize,
) -> Ack {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_BATCH_ID, batch_id);
    headers.insert(NATS_BATCH_SEQUENCE, (n + 1).to_string());
    headers.insert(NATS_BATCH_COMMIT, "eob");
    request(
        client,
        ack_timeout,
        subject.to_owned(),
        headers,
        Bytes::new(),
    )
}

/// Drops an open batch of `n` messages: a message that leaves a gap in its
/// sequence makes the server discard the whole batch, storing nothing.
pub(super) async fn drop_open(
    client: &async_nats::Client,
    subject: &str,
    batch_id: &str,
    n: usize,
) {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_BATCH_ID, batch_id);
    headers.insert(NATS_BATCH_SEQUENCE, (n + 2).to_string());
    if let Err(e) = client
        .publish_with_headers(subject.to_owned(), headers, Bytes::new())
        .await
    {
        // The server drops an open batch on its own after its idle timeout.
        tracing::warn!(error = %e, "could not drop an open batch; the server drops it when it times out");
    }
}

fn new_batch_id() -> String {
    Uuid::now_v7().simple().to_string()
}

/// Sends one request in a task of its own and reads its answer as an
/// acknowledgement, waiting at most `ack_timeout`.
fn request(
    client: &async_nats::Client,
    ack_timeout: Duration,
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
) -> Ack {
    let client = client.clone();
    tokio::spawn(async move {
        let reply = tokio::time::timeout(
            ack_timeout,
            client.request_with_headers(subject, headers, payload),
        )
        .await
        .map_err(|_| BatchError::Lost("no acknowledgement in time".to_owned()))?
        .map_err(|e| BatchError::Lost(e.to_string()))?;
        parse_ack(&reply.payload)
    })
}

/// Splits messages into batches of at most `max_messages` and about
/// `max_bytes` (a message larger than that goes alone).
pub(super) fn batches(
    prepared: &[Prepared],
    max_messages: usize,
    max_bytes: usize,
) -> Vec<&[Prepared]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, p) in prepared.iter().enumerate() {
        if i > start && (i - start == max_messages || bytes + p.bytes.len() > max_bytes) {
            out.push(&prepared[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += p.bytes.len();
    }
    if start < prepared.len() {
        out.push(&prepared[start..]);
    }
    out
}

#[derive(Deserialize)]
struct AckResponse {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// Reads a JetStream publish acknowledgement: the stored sequence, or why
/// nothing was stored, or that it cannot be told.
pub(super) fn parse_ack(payload: &[u8]) -> Result<u64, BatchError> {
    let ack: AckResponse = serde_json::from_slice(payload).map_err(|e| {
        BatchError::Lost(format!(
            "unreadable acknowledgement ({e}): {}",
            String::from_utf8_lossy(payload)
        ))
    })?;
    match (ack.error, ack.seq) {
        (Some(err), _) if err.err_code == ERR_WRONG_LAST_SEQUENCE => {
            Err(BatchError::WrongLastSequence)
        }
        (Some(err), _) => Err(BatchError::Rejected(format!(
            "{} (JetStream error {})",
            err.description, err.err_code
        ))),
        (None, Some(seq)) => Ok(seq),
        (None, None) => Err(BatchError::Lost(format!(
            "acknowledgement without sequence: {}",
            String::from_utf8_lossy(payload)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledgement_gives_the_last_sequence() {
        let ack = br#"{"stream":"styr-vimmerby","seq":42,"batch":"b","count":3}"#;
        assert_eq!(parse_ack(ack), Ok(42));
    }

    #[test]
    fn a_failed_expectation_is_told_from_other_refusals() {
        let wrong =
            br#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 7"}}"#;
        assert_eq!(parse_ack(wrong), Err(BatchError::WrongLastSequence));
        let full =
            br#"{"error":{"code":503,"err_code":10047,"description":"insufficient resources"}}"#;
        assert_eq!(
            parse_ack(full),
            Err(BatchError::Rejected(
                "insufficient resources (JetStream error 10047)".into()
            ))
        );
    }

    #[test]
    fn an_answer_that_says_nothing_is_a_lost_batch() {
        assert!(matches!(parse_ack(b"{}"), Err(BatchError::Lost(_))));
        assert!(matches!(parse_ack(b"+OK"), Err(BatchError::Lost(_))));
        assert!(matches!(parse_ack(b""), Err(BatchError::Lost(_))));
    }

    fn prepared(size: usize) -> Prepared {
        Prepared {
            subject: "styr.k.a.b".into(),
            event_id: Uuid::now_v7(),
            event_type: "T".into(),
            schema_version: 1,
            hash: ChainHash([0; 32]),
            bytes: Bytes::from(vec![b'x'; size]),
            submission_digest: None,
        }
    }

    #[test]
    fn batch_headers_open_expect_and_commit() {
        let events: Vec<Prepared> = (0..3).map(|_| prepared(1)).collect();
        let first = headers(&events[0], 0, 3, "b1", 7, Ending::Commit);
        let last = headers(&events[2], 2, 3, "b1", 7, Ending::Commit);
        let get = |h: &HeaderMap, k: async_nats::header::HeaderName| {
            h.get(k).map(|v| v.as_str().to_owned())
        };
        assert_eq!(get(&first, NATS_EXPECTED_LAST_SEQUENCE), Some("7".into()));
        assert_eq!(get(&first, NATS_BATCH_SEQUENCE), Some("1".into()));
        assert_eq!(get(&first, NATS_BATCH_COMMIT), None);
        assert_eq!(get(&last, NATS_EXPECTED_LAST_SEQUENCE), None);
        assert_eq!(get(&last, NATS_BATCH_SEQUENCE), Some("3".into()));
        assert_eq!(get(&last, NATS_BATCH_COMMIT), Some("1".into()));
        let single = headers(&events[0], 0, 1, "b2", 0, Ending::Commit);
        assert_eq!(get(&single, NATS_BATCH_ID), None);
        assert_eq!(get(&single, NATS_EXPECTED_LAST_SEQUENCE), Some("0".into()));
        // An open batch, even of one, is a batch, and nothing in it commits.
        let open = headers(&events[0], 0, 1, "b3", 9, Ending::Open);
        assert_eq!(get(&open, NATS_BATCH_ID), Some("b3".into()));
        assert_eq!(get(&open, NATS_BATCH_COMMIT), None);
        assert_eq!(get(&open, NATS_EXPECTED_LAST_SEQUENCE), Some("9".into()));
        let last_open = headers(&events[2], 2, 3, "b4", 9, Ending::Open);
        assert_eq!(get(&last_open, NATS_BATCH_COMMIT), None);
    }

    #[test]
    fn batches_respect_count_and_size() {
        let events: Vec<Prepared> = [1, 1, 1, 1, 1, 8, 1].into_iter().map(prepared).collect();
        let sizes: Vec<usize> = batches(&events, 2, 5).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1, 1, 1]);
        assert!(batches(&[], 2, 5).is_empty());
    }
}
