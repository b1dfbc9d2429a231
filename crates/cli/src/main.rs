//! `styr`: run Styrkedja and look into a kommun's history.
//!
//! With no NATS URL configured it runs its own nats-server with JetStream
//! (the embedded default) in the data folder, and stops it on exit; with
//! `--nats-url`/`NATS_URL` it connects to that server or cluster and starts
//! nothing.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use styr_natsrun::{NatsServer, ServerOptions};
use styr_store::{EventStore, KommunId, StoreConfig, StoredEvent};

mod demo;

#[derive(Parser)]
#[command(
    name = "styr",
    version,
    about = "Styrkedja: a kommun's decisions as a verifiable event log"
)]
struct Cli {
    /// NATS server or cluster to use. Without it, styr runs its own
    /// nats-server with JetStream in --data-dir.
    #[arg(long, env = "NATS_URL", global = true)]
    nats_url: Option<String>,
    /// Folder for the embedded nats-server's data.
    #[arg(long, env = "STYR_DATA_DIR", default_value = ".styr", global = true)]
    data_dir: PathBuf,
    /// Replicas per kommun stream (3 in a cluster).
    #[arg(long, env = "STYR_REPLICAS", default_value_t = 1, global = true)]
    replicas: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Records an example decision in a demo kommun and shows the chain.
    Demo {
        /// The kommun to record into.
        #[arg(long, default_value = "demo")]
        kommun: String,
    },
    /// Runs the embedded nats-server until interrupted (Ctrl-C).
    Serve,
    /// Prints a kommun's recorded events.
    History {
        kommun: String,
        /// First sequence to show.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// One JSON envelope per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Prints a kommun's events as they are recorded, after those already there.
    Follow {
        kommun: String,
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long)]
        json: bool,
    },
}

/// The NATS connection and, in the embedded default, the server behind it.
struct Backend {
    store: EventStore,
    _server: Option<NatsServer>,
}

impl Backend {
    async fn open(cli: &Cli) -> Result<Self> {
        let config = StoreConfig {
            replicas: cli.replicas,
            ..StoreConfig::default()
        };
        let (url, server) = match &cli.nats_url {
            Some(url) => (url.clone(), None),
            None => {
                let server = start_embedded(cli).await?;
                (server.url(), Some(server))
            }
        };
        let store = EventStore::connect(&url, config)
            .await
            .with_context(|| format!("connecting to NATS at {url}"))?;
        Ok(Backend {
            store,
            _server: server,
        })
    }
}

async fn start_embedded(cli: &Cli) -> Result<NatsServer> {
    eprintln!(
        "Startar inbyggd nats-server {} (JetStream, fsync vid varje skrivning) i {}",
        styr_natsrun::NATS_SERVER_VERSION,
        cli.data_dir.display()
    );
    NatsServer::start(ServerOptions::new(cli.data_dir.join("nats")))
        .await
        .context("starting the embedded nats-server")
}

fn kommun(id: &str) -> Result<KommunId> {
    KommunId::new(id).with_context(|| format!("kommun {id:?}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STYR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fel: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Demo { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            demo::run(&backend.store, &k).await
        }
        Command::Serve => {
            if cli.nats_url.is_some() {
                anyhow::bail!(
                    "serve runs the embedded nats-server; unset NATS_URL/--nats-url to use it"
                );
            }
            let server = start_embedded(&cli).await?;
            println!(
                "nats-server lyssnar på {} (avsluta med Ctrl-C)",
                server.url()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            server.stop();
            Ok(())
        }
        Command::History {
            kommun: k,
            from,
            json,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let events = backend.store.history(&k, *from).await?;
            futures::pin_mut!(events);
            if !json {
                print_header();
            }
            while let Some(e) = events.next().await {
                print_event(&e?, *json)?;
            }
            Ok(())
        }
        Command::Follow {
            kommun: k,
            from,
            json,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let events = backend.store.follow(&k, *from).await?;
            futures::pin_mut!(events);
            if !json {
                print_header();
            }
            loop {
                tokio::select! {
                    e = events.next() => match e {
                        Some(e) => print_event(&e?, *json)?,
                        None => return Ok(()),
                    },
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
        }
    }
}

pub(crate) fn print_header() {
    println!(
        "{:>5}  {:<24} {:<28} {:<30} {:<16}",
        "sekv", "händelse", "aggregat", "beslut", "hash"
    );
}

pub(crate) fn print_event(e: &StoredEvent, json: bool) -> Result<()> {
    if json {
        println!("{}", std::str::from_utf8(&e.raw).context("event bytes")?);
        return Ok(());
    }
    let env = &e.envelope;
    let decided = match &env.provenance.decided_by {
        styr_store::DecidedBy::Body {
            body,
            meeting_date,
            paragraph,
        } => format!("{} {} § {}", body.to_uppercase(), meeting_date, paragraph),
        styr_store::DecidedBy::Delegate {
            delegate,
            delegation_point,
            decision_date,
            ..
        } => format!("{delegate} {decision_date} p. {delegation_point}"),
        styr_store::DecidedBy::Official {
            official,
            decision_date,
            ..
        } => format!("{official} {decision_date}"),
        styr_store::DecidedBy::System { component } => format!("system: {component}"),
    };
    println!(
        "{:>5}  {:<24} {:<28} {:<30} {}…",
        e.sequence,
        env.event_type,
        format!("{}/{}", env.aggregate.kind, env.aggregate.id),
        decided,
        &e.hash.to_hex()[..12]
    );
    Ok(())
}
