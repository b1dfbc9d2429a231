//! Test support for every crate's integration tests: a real nats-server with
//! JetStream on a free port, in its own temporary folder, stopped and removed
//! when the value is dropped. Not used outside tests.

use std::path::PathBuf;
use std::sync::Arc;

use styr_natsrun::{NatsServer, ServerOptions};
use styr_store::{EventStore, StoreConfig};

pub struct TestNats {
    pub server: NatsServer,
    // Declared after the server so the folder outlives the process using it.
    pub dir: tempfile::TempDir,
}

impl TestNats {
    /// Starts the server (installing the pinned nats-server on first use).
    /// `RUST_LOG` turns on tracing output for the test.
    pub async fn start() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let server = NatsServer::start(ServerOptions::new(dir.path().join("nats")))
            .await
            .expect("nats-server starts");
        TestNats { server, dir }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A path inside the test's temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A fresh connection's event store (a separate "process" each time).
    pub async fn store(&self) -> EventStore {
        let config = StoreConfig {
            keys: Some(self.path("keys")),
            ..StoreConfig::default()
        };
        EventStore::connect(&self.url(), config)
            .await
            .expect("connect")
    }

    pub async fn shared_store(&self) -> Arc<EventStore> {
        Arc::new(self.store().await)
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url()).await.expect("connect")
    }

    /// A raw JetStream context, for checks behind the store's back.
    pub async fn js(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client().await)
    }
}
