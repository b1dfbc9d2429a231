//! The NATS micro-service protocol for the API's endpoints: discovery
//! (`$SRV.PING|INFO|STATS`, with and without the service's name and id) and
//! the per-endpoint counts.
//!
//! Kept here rather than taken from the client library for two reasons an
//! operator sees: an error reply carries its JSON body *and* counts in
//! `$SRV.STATS` (`num_errors`, `last_error`), and a shutdown drains the
//! endpoint subscriptions, so every request the client has received is
//! answered. (A request still on its way from the server at the moment the
//! unsubscription is sent can be lost with the subscription: its caller
//! times out and resends, under the same idempotency key for a submit.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, HeaderMap, Message, Subscriber};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use serde_json::{json, Value};

/// The queue group every instance of the service subscribes in, so that a
/// request goes to one of them.
pub const QUEUE_GROUP: &str = "q";

/// One endpoint: its subject and what it has answered.
#[derive(Debug)]
pub struct Endpoint {
    pub name: &'static str,
    pub subject: String,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    requests: u64,
    errors: u64,
    processing: Duration,
    last_error: String,
}

impl Endpoint {
    /// Counts one answered request; `error` is its code and message when
    /// the answer was an error reply.
    pub fn record(&self, elapsed: Duration, error: Option<(usize, &str)>) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.requests += 1;
        c.processing += elapsed;
        if let Some((code, message)) = error {
            c.errors += 1;
            c.last_error = format!("{code}:{message}");
        }
    }

    fn stats(&self) -> Value {
        let c = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let average = c
            .processing
            .checked_div(u32::try_from(c.requests).unwrap_or(u32::MAX))
            .unwrap_or_default();
        json!({
            "name": self.name,
            "subject": self.subject,
            "queue_group": QUEUE_GROUP,
            "num_requests": c.requests,
            "num_errors": c.errors,
            "last_error": c.last_error,
            "processing_time": nanos(c.processing),
            "average_processing_time": nanos(average),
        })
    }

    fn info(&self) -> Value {
        json!({
            "name": self.name,
            "subject": self.subject,
            "queue_group": QUEUE_GROUP,
            "metadata": {},
        })
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A running service: its endpoints' subscriptions are handed out by
/// [`Service::start`]; discovery runs until the service is dropped.
pub struct Service {
    discovery: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.discovery.abort();
    }
}

/// Who the service is, as discovery tells it.
struct Identity {
    name: &'static str,
    id: String,
    version: &'static str,
    description: &'static str,
    started: DateTime<Utc>,
}

impl Identity {
    fn head(&self, kind: &str) -> Value {
        json!({
            "type": format!("io.nats.micro.v1.{kind}_response"),
            "name": self.name,
            "id": self.id,
            "version": self.version,
            "metadata": {},
        })
    }
}

impl Service {
    /// Subscribes the endpoints (`(name, subject)`, in the queue group) and
    /// answers discovery for them.
    pub async fn start(
        client: &Client,
        name: &'static str,
        version: &'static str,
        description: &'static str,
        endpoints: &[(&'static str, String)],
    ) -> Result<(Self, Vec<(Arc<Endpoint>, Subscriber)>), async_nats::SubscribeError> {
        let mut subscribed = Vec::new();
        for (endpoint, subject) in endpoints {
            let sub = client
                .queue_subscribe(subject.clone(), QUEUE_GROUP.to_string())
                .await?;
            let endpoint = Arc::new(Endpoint {
                name: endpoint,
                subject: subject.clone(),
                counts: Mutex::default(),
            });
            subscribed.push((endpoint, sub));
        }
        let identity = Identity {
            name,
            id: client
                .new_inbox()
                .rsplit('.')
                .next()
                .unwrap_or("styrkedja")
                .to_string(),
            version,
            description,
            started: Utc::now(),
        };
        let mut discovery = Vec::new();
        for verb in ["PING", "INFO", "STATS"] {
            for subject in [
                format!("$SRV.{verb}"),
                format!("$SRV.{verb}.{name}"),
                format!("$SRV.{verb}.{name}.{}", identity.id),
            ] {
                discovery.push(client.subscribe(subject).await?);
            }
        }
        let endpoints: Vec<Arc<Endpoint>> = subscribed.iter().map(|(e, _)| e.clone()).collect();
        let client = client.clone();
        let discovery = tokio::spawn(async move {
            let mut all = futures::stream::select_all(discovery);
            while let Some(m) = all.next().await {
                let answer = discover(&identity, &endpoints, &m);
                if let (Some(reply), Some(answer)) = (m.reply, answer) {
                    if let Err(e) = client.publish(reply, answer.to_string().into()).await {
                        tracing::warn!(error = %e, "could not answer discovery");
                    }
                }
            }
        });
        Ok((Service { discovery }, subscribed))
    }
}

fn discover(identity: &Identity, endpoints: &[Arc<Endpoint>], m: &Message) -> Option<Value> {
    let verb = m.subject.split('.').nth(1)?;
    let v = match verb {
        "PING" => identity.head("ping"),
        "INFO" => {
            let mut v = identity.head("info");
            v["description"] = json!(identity.description);
            v["endpoints"] = endpoints.iter().map(|e| e.info()).collect();
            v
        }
        "STATS" => {
            let mut v = identity.head("stats");
            v["started"] = json!(identity.started.to_rfc3339_opts(SecondsFormat::Nanos, true));
            v["endpoints"] = endpoints.iter().map(|e| e.stats()).collect();
            v
        }
        _ => return None,
    };
    Some(v)
}

/// Takes requests from `sub` and hands each to `handle` until `stop` says
/// so; then unsubscribes and drains: the requests the client has already
/// received are handed over too.
pub async fn take(
    mut sub: Subscriber,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut handle: impl FnMut(Message),
) {
    loop {
        tokio::select! {
            m = sub.next() => match m {
                Some(m) => handle(m),
                None => return,
            },
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    if let Err(e) = sub.drain().await {
        tracing::warn!(error = %e, "could not drain a subscription");
        return;
    }
    while let Some(m) = sub.next().await {
        handle(m);
    }
}

/// Returns once the server has read and routed everything `client` sent
/// before the call. A flush in async-nats 0.51 only writes to the socket
/// (no PING/PONG), so after it the server may still hold unread
/// subscriptions or replies — and a server stopped then drops them. A
/// message to the client's own new inbox comes back only after the server
/// has processed every message the connection sent before it. A reconnect
/// meanwhile loses what the old connection had not delivered (the echo
/// too: it is sent again every second until one comes back); callers bound
/// the wait.
pub async fn server_has_read(client: &Client) -> Result<(), async_nats::Error> {
    let inbox = client.new_inbox();
    let mut echo = client.subscribe(inbox.clone()).await?;
    loop {
        client.publish(inbox.clone(), Default::default()).await?;
        client.flush().await?;
        match tokio::time::timeout(Duration::from_secs(1), echo.next()).await {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => return Err("anslutningen till NATS stängdes innan servern svarade".into()),
            Err(_) => continue,
        }
    }
}

/// Replies to `request` with `body`; an error reply (`error` = code and
/// message) carries the standard `Nats-Service-Error` headers beside its
/// body.
pub async fn reply(
    client: &Client,
    request: &Message,
    body: Vec<u8>,
    error: Option<(usize, &str)>,
) -> Result<(), async_nats::PublishError> {
    let Some(reply) = request.reply.clone() else {
        return Ok(());
    };
    match error {
        None => client.publish(reply, body.into()).await,
        Some((code, message)) => {
            let mut h = HeaderMap::new();
            h.insert(async_nats::service::NATS_SERVICE_ERROR, message);
            h.insert(
                async_nats::service::NATS_SERVICE_ERROR_CODE,
                code.to_string().as_str(),
            );
            client.publish_with_headers(reply, h, body.into()).await
        }
    }
}
