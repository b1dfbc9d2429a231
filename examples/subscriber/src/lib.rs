//! An example subscriber: follows every uppdrag closed (`UppdragClosed`) and
//! deviation reported (`DeviationReported`) in one kommun, through a durable
//! JetStream consumer, so a restart resumes where it left off.
//!
//! It relies only on the published contract: the stream `styr-<kommun>`,
//! subjects `styr.<kommun>.<aggregate kind>.<aggregate id>`, the
//! `Styr-Event-Type` header, and the envelope and payload schemas in
//! `schemas/`.

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures::{Stream, StreamExt};
use serde_json::Value;

/// The event types this subscriber cares about.
pub const WANTED: [&str; 2] = ["UppdragClosed", "DeviationReported"];

/// One decision as the subscriber sees it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub sequence: u64,
    pub event_type: String,
    /// The aggregate id: the uppdrag or deviation.
    pub id: String,
    /// Who decided it, as the envelope says.
    pub decided_by: Value,
    pub payload: Value,
}

/// Follows `kommun` with the durable consumer `durable`: every wanted event
/// already recorded and not yet acknowledged, then each new one. Each notice
/// is acknowledged once it has been yielded.
pub async fn follow(
    client: async_nats::Client,
    kommun: &str,
    durable: &str,
) -> Result<impl Stream<Item = Result<Notice>>> {
    let js = jetstream::new(client);
    let stream = js
        .get_stream(format!("styr-{kommun}"))
        .await
        .with_context(|| format!("kommun {kommun} has no stream"))?;
    let consumer = stream
        .get_or_create_consumer(
            durable,
            pull::Config {
                durable_name: Some(durable.to_owned()),
                filter_subjects: vec![
                    format!("styr.{kommun}.uppdrag.>"),
                    format!("styr.{kommun}.deviation.>"),
                ],
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                // A notice delivered to a subscriber that went away before
                // acknowledging it comes again after this long.
                ack_wait: std::time::Duration::from_secs(3),
                ..Default::default()
            },
        )
        .await
        .context("creating the durable consumer")?;
    let messages = consumer.messages().await.context("subscribing")?;
    Ok(messages.filter_map(|m| async move {
        let m = match m {
            Ok(m) => m,
            Err(e) => return Some(Err(anyhow::anyhow!(e))),
        };
        let event_type = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Styr-Event-Type"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let sequence = m.info().map(|i| i.stream_sequence).unwrap_or_default();
        let notice = if WANTED.contains(&event_type.as_str()) {
            match serde_json::from_slice::<Value>(&m.payload) {
                Ok(env) => Some(Ok(Notice {
                    sequence,
                    event_type,
                    id: env["aggregate"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    decided_by: env["provenance"]["decided_by"].clone(),
                    payload: env["payload"].clone(),
                })),
                Err(e) => Some(Err(anyhow::anyhow!("event {sequence} is not JSON: {e}"))),
            }
        } else {
            None
        };
        if let Err(e) = m.ack_with(AckKind::Ack).await {
            return Some(Err(anyhow::anyhow!(e)));
        }
        notice
    }))
}
