//! The event store: one JetStream stream per kommun, appends as atomic
//! batches guarded by the expected last sequence, reads through ordered
//! consumers.
//!
//! By layer: this module connects, configures streams and keeps one
//! [`KommunLog`] index per kommun; [`log`] is that index and the answers a
//! group commit gives from it; [`append`] is the append protocol (prepare,
//! publish, resolve a lost acknowledgement; restore; key rotation);
//! [`wire`] is the batch on the wire and its acknowledgement; [`read`] is
//! history, follow and single messages.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use ed25519_dalek::SigningKey;
use futures::StreamExt;
use uuid::Uuid;

use crate::chain::{ChainState, Record};
use crate::keys::KeyStore;
use crate::{KommunId, StoreError};
use log::KommunLog;

pub use health::StreamHealth;
pub use wire::{
    HEADER_EVENT_HASH, HEADER_EVENT_ID, HEADER_EVENT_TYPE, HEADER_SCHEMA_VERSION,
    HEADER_SUBMISSION_DIGEST,
};

/// Room left in a message for headers when checking payload size.
const HEADER_ALLOWANCE: usize = 1024;

/// How the store talks to JetStream.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Replicas per kommun stream: 1 on a single server, 3 in a cluster.
    pub replicas: usize,
    /// How long to wait for a publish acknowledgement before treating it as
    /// lost and resolving the outcome from what was stored.
    pub ack_timeout: Duration,
    /// Where the kommuner's signing keys are kept; `None` keeps them in this
    /// process's memory only (tests and benchmarks).
    pub keys: Option<std::path::PathBuf>,
    /// The certificate authority (PEM) to trust for a server that speaks
    /// TLS; with it, the connection requires TLS.
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            replicas: 1,
            ack_timeout: Duration::from_secs(5),
            keys: None,
            tls_ca: None,
        }
    }
}

/// Where a decision landed: the sequences of its events in the kommun's stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Commit {
    pub idempotency_key: String,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub event_ids: Vec<Uuid>,
}

impl Commit {
    pub fn sequences(&self) -> std::ops::RangeInclusive<u64> {
        self.first_sequence..=self.last_sequence
    }
}

/// The outcome of an append. Only a failure to reach or trust the store is an
/// error; these three are answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The decision's events are recorded, in order, at these sequences.
    Appended(Commit),
    /// The kommun's history moved on: it ends at `actual`, not at `expected`.
    /// Nothing was recorded. Re-read, re-decide, try again.
    Conflict { expected: u64, actual: u64 },
    /// The idempotency key was recorded before: this is that original commit,
    /// and nothing new was recorded.
    Duplicate(Commit),
}

mod append;
pub use append::{Begun, ChainEnd, InFlight, Settled, Staged};
mod archive;
pub use archive::{ChainPosition, CommitArchive};
mod health;
mod log;
mod read;
mod wire;

/// The JetStream event log of Styrkedja.
pub struct EventStore {
    client: async_nats::Client,
    js: jetstream::Context,
    config: StoreConfig,
    keys: KeyStore,
    logs: std::sync::Mutex<HashMap<KommunId, Arc<tokio::sync::Mutex<KommunLog>>>>,
    /// Keys recorded before a snapshot (see [`EventStore::resume`]).
    archive: std::sync::OnceLock<Arc<dyn CommitArchive>>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// Connects to the NATS server or cluster at `url` (credentials may be
    /// given in it: `nats://user:password@host:port`).
    pub async fn connect(url: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let (address, options) = connect_options(url);
        let url = address.as_str();
        let client = with_tls_ca(options, config.tls_ca.as_deref())
            .name("styrkedja")
            .request_timeout(Some(config.ack_timeout))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                source: e,
            })?;
        Ok(Self::with_client(client, config))
    }

    /// Uses an existing connection.
    pub fn with_client(client: async_nats::Client, config: StoreConfig) -> Self {
        let js = jetstream::new(client.clone());
        let keys = match &config.keys {
            Some(dir) => KeyStore::in_dir(dir),
            None => KeyStore::in_memory(),
        };
        EventStore {
            client,
            js,
            config,
            keys,
            logs: std::sync::Mutex::new(HashMap::new()),
            archive: std::sync::OnceLock::new(),
        }
    }

    /// The server's largest message, as it says once connected (read each
    /// time: with a connection still being made it is not known yet, and
    /// the 64 KiB floor applies only then).
    fn max_payload(&self) -> usize {
        self.client.server_info().max_payload.max(64 * 1024)
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The kommun's stream configuration, as the project creates it.
    pub fn stream_config(&self, kommun: &KommunId) -> stream::Config {
        stream::Config {
            name: kommun.stream_name(),
            description: Some(format!("Styrkedja: the decisions of kommun {kommun}")),
            subjects: vec![kommun.subjects()],
            storage: stream::StorageType::File,
            num_replicas: self.config.replicas,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            allow_atomic_publish: true,
            ..Default::default()
        }
    }

    /// Creates the kommun's stream if it does not exist yet (idempotent).
    #[tracing::instrument(skip(self), fields(kommun = %kommun))]
    pub async fn ensure_stream(&self, kommun: &KommunId) -> Result<stream::Stream, StoreError> {
        self.js
            .get_or_create_stream(self.stream_config(kommun))
            .await
            .map_err(|e| StoreError::nats("creating the kommun stream", e))
    }

    /// The kommun's stream, if it exists.
    async fn existing_stream(
        &self,
        kommun: &KommunId,
    ) -> Result<Option<stream::Stream>, StoreError> {
        match self.js.get_stream(kommun.stream_name()).await {
            Ok(s) => Ok(Some(s)),
            Err(e)
                if matches!(
                    e.kind(),
                    jetstream::context::GetStreamErrorKind::JetStream(ref js)
                        if js.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::nats("looking up the kommun stream", e)),
        }
    }

    /// Every kommun that has a stream on the server.
    pub async fn kommuner(&self) -> Result<Vec<KommunId>, StoreError> {
        let mut names = self.js.stream_names();
        let mut out = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| StoreError::nats("listing streams", e))?;
            if let Some(k) = name
                .strip_prefix("styr-")
                .and_then(|k| KommunId::new(k).ok())
            {
                out.push(k);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The sequence of the kommun's last event; 0 when it has none.
    pub async fn last_sequence(&self, kommun: &KommunId) -> Result<u64, StoreError> {
        // The stream was just looked up: its info is fresh (one request,
        // not a second to refresh it).
        match self.existing_stream(kommun).await? {
            Some(s) => Ok(s.cached_info().state.last_sequence),
            None => Ok(0),
        }
    }

    fn log(&self, kommun: &KommunId) -> Arc<tokio::sync::Mutex<KommunLog>> {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        logs.entry(kommun.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(KommunLog::new(kommun))))
            .clone()
    }

    /// Reads the stream from the log's head up to `until` (or its end) into
    /// the log's index.
    async fn read_into_index(
        &self,
        log: &mut KommunLog,
        until: Option<u64>,
    ) -> Result<(), StoreError> {
        let head = log.head();
        // Reading never creates a stream: only an append does (a refused
        // submission for a kommun that does not exist leaves no trace).
        let stream = match &mut log.stream {
            Some(s) => s,
            None => match self.existing_stream(&log.kommun).await? {
                Some(s) => log.stream.insert(s),
                None => return Ok(()),
            },
        };
        let last = last_seq(stream).await?;
        let target = until.map_or(last, |u| u.min(last));
        if target <= head {
            return Ok(());
        }
        let stream = stream.clone();
        let messages = read::raw_messages(&stream, head + 1, Some(target)).await?;
        let runs = messages.chunks(read::RUN);
        futures::pin_mut!(runs);
        while let Some(run) = runs.next().await {
            log.absorb_run(run.into_iter().collect::<Result<_, _>>()?)?;
        }
        if log.head() < target {
            return Err(StoreError::Corrupt {
                sequence: log.head() + 1,
                reason: format!(
                    "the stream reported last sequence {target} but ended at {}",
                    log.head()
                ),
            });
        }
        Ok(())
    }

    /// Takes a run of the kommun's stream that the caller has read and
    /// classified (`records`, consecutive, and `after`: the chain after
    /// them) into this store's index, so that it need not read them again —
    /// if they continue where the index stands; otherwise nothing happens
    /// and the index reads the stream itself when it needs to. A service
    /// folding a kommun's history on first use hands each run on.
    pub async fn take_classified(
        &self,
        kommun: &KommunId,
        records: &[Record],
        after: &ChainState,
    ) -> Result<(), StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        log.take_classified(records, after)
    }

    /// Where this store last saw the kommun's chain (no reading: after an
    /// append it is the end of that append).
    pub async fn known_chain(&self, kommun: &KommunId) -> ChainState {
        self.log(kommun).lock().await.chain.clone()
    }

    /// Where the kommun's chain stands now (read up to the stream's end):
    /// the last chained event, its hash and the key in force.
    pub async fn chain_head(&self, kommun: &KommunId) -> Result<ChainState, StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        self.read_into_index(&mut log, None).await?;
        Ok(log.chain.clone())
    }

    /// The commit recorded under `idempotency_key`, if any (reads the stream
    /// up to its end first).
    pub async fn lookup(
        &self,
        kommun: &KommunId,
        idempotency_key: &str,
    ) -> Result<Option<Commit>, StoreError> {
        let log = self.log(kommun);
        let mut log = log.lock().await;
        self.read_into_index(&mut log, None).await?;
        log.known(idempotency_key)
    }

    /// The commits this store has seen recorded under these keys (no
    /// reading: what appends and catch-ups have brought so far).
    pub async fn known_commits(
        &self,
        kommun: &KommunId,
        idempotency_keys: &[&str],
    ) -> Vec<Option<Commit>> {
        let log = self.log(kommun);
        let log = log.lock().await;
        // A key the archive cannot be asked about counts as unknown here:
        // the append asks again, and fails then.
        idempotency_keys
            .iter()
            .map(|k| log.known(k).ok().flatten())
            .collect()
    }

    fn signing_key(&self, kommun: &KommunId, kid: &str) -> Result<SigningKey, StoreError> {
        self.keys.get(kommun, kid)?.ok_or_else(|| StoreError::Key {
            path: self
                .keys
                .dir()
                .map_or_else(|| "(minnet)".to_owned(), |d| d.display().to_string()),
            detail: format!(
                "kommunen {kommun} har nyckeln {kid} i kraft, men den här noden har inte den nyckeln"
            ),
        })
    }

    /// The key store this store signs with.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }
}

/// Splits `nats://user:password@host:port` into the address and connect
/// options carrying the credentials (the client does not read them from the
/// URL itself) and the user's inbox prefix `_INBOX_<user>`. A URL without
/// credentials gives plain options.
pub fn connect_options(url: &str) -> (String, async_nats::ConnectOptions) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("nats", url));
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            // Each user's replies arrive under its own inbox prefix, the only
            // one it may subscribe to (see the access model).
            (
                format!("{scheme}://{host}"),
                async_nats::ConnectOptions::with_user_and_password(
                    user.to_owned(),
                    password.to_owned(),
                )
                .custom_inbox_prefix(format!("_INBOX_{user}")),
            )
        }
        None => (url.to_owned(), async_nats::ConnectOptions::new()),
    }
}

/// `options` trusting the certificate authority `ca` (PEM) and requiring
/// TLS; unchanged without one.
pub fn with_tls_ca(
    options: async_nats::ConnectOptions,
    ca: Option<&std::path::Path>,
) -> async_nats::ConnectOptions {
    match ca {
        Some(ca) => options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true),
        None => options,
    }
}

async fn last_seq(stream: &mut stream::Stream) -> Result<u64, StoreError> {
    Ok(stream
        .info()
        .await
        .map_err(|e| StoreError::nats("reading stream info", e))?
        .state
        .last_sequence)
}
