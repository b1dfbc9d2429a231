//! `styr`: run Styrkedja, submit decisions, look into a kommun's history.
//!
//! With no NATS URL configured it runs its own nats-server with JetStream
//! (the embedded default) in the data folder, and stops it on exit; with
//! `--nats-url`/`NATS_URL` it connects to that server or cluster and starts
//! nothing.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use styr_natsrun::{NatsServer, ServerOptions};
use styr_service::{Kommuner, Outcome, Submission};
use styr_store::{EventStore, KommunId, StoreConfig, StoredEvent};

mod audit;
mod example;
mod serve;
mod views;

#[derive(Parser)]
#[command(
    name = "styr",
    version,
    about = "Styrkedja: a kommun's decisions as a verifiable event log"
)]
pub(crate) struct Cli {
    /// NATS server or cluster to use, as the service user
    /// (`nats://styr-service:PASSWORD@host:4222`). Without it, styr runs its
    /// own nats-server with JetStream, accounts and users in --data-dir.
    #[arg(long, env = "NATS_URL", global = true)]
    nats_url: Option<String>,
    /// For `serve` against an external server: the service's request
    /// connection (`nats://styr-api:PASSWORD@host:4222`, account
    /// STYRKEDJA_API), so that every request carries the caller's identity.
    #[arg(long, env = "STYR_API_URL", global = true)]
    api_url: Option<String>,
    /// Folder for the embedded nats-server's data.
    #[arg(long, env = "STYR_DATA_DIR", default_value = ".styr", global = true)]
    data_dir: PathBuf,
    /// This node's projection folder (sled; a cache of JetStream). Default:
    /// `projections` in the data folder.
    #[arg(long, env = "STYR_PROJECTIONS", global = true)]
    projections: Option<PathBuf>,
    /// Who records, for decisions this command submits itself (`submit`,
    /// `example`): the local operator's name in the audit trail. It must be
    /// granted what it records, like any user (the first `register_kommun`
    /// makes its recorder the kommun's administrator). Over NATS the name is
    /// always the caller's authenticated user instead.
    #[arg(
        long,
        env = "STYR_SOM",
        default_value = "lokal-operator",
        global = true
    )]
    som: String,
    /// Replicas per kommun stream (3 in a cluster).
    #[arg(long, env = "STYR_REPLICAS", default_value_t = 1, global = true)]
    replicas: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Loads the example kommun (Vimmerby-shaped) through the command path
    /// and shows its styrkedja, gaps, uppdrag and one audit history.
    Example {
        /// The kommun id to load it as.
        #[arg(long, default_value = "vimmerby")]
        kommun: String,
    },
    /// Submits decisions from a JSON or YAML (`.yaml`/`.yml`) file: one
    /// submission or a list of them. Exit code 2 when one is rejected
    /// (nothing of it is recorded; earlier ones in the file stay recorded).
    Submit { kommun: String, file: PathBuf },
    /// Runs the embedded nats-server until interrupted (Ctrl-C), signing a
    /// checkpoint for every kommun whose history moved, every
    /// --checkpoint-every seconds.
    Serve {
        #[arg(long, default_value_t = 3600)]
        checkpoint_every: u64,
        /// An identity that may register a new kommun over NATS (repeatable;
        /// STYR_REGISTRARS takes a comma-separated list). Nobody else may:
        /// whoever registers a kommun becomes its first administrator.
        #[arg(long = "registrar", env = "STYR_REGISTRARS", value_delimiter = ',')]
        registrars: Vec<String>,
    },
    /// Brings this node's projection of a kommun up to date (and keeps it so
    /// with --follow).
    Project {
        kommun: String,
        #[arg(long)]
        follow: bool,
        /// Events applied per sled batch.
        #[arg(long, default_value_t = 512)]
        flush_every: usize,
    },
    /// Rebuilds a kommun's projection from JetStream and prints its digest.
    Rebuild { kommun: String },
    /// Verifies a kommun's history: live from JetStream, or an export file
    /// offline (--file). Exit code 3 when it does not hold.
    Verify {
        /// The kommun (not needed with --file).
        kommun: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        trust: audit::Trust,
    },
    /// Writes a kommun's full history (or up to a sequence) to one
    /// self-contained file, with its checkpoints and public keys.
    Export {
        kommun: String,
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long)]
        up_to: Option<u64>,
    },
    /// Verifies an export file and rebuilds every read model from it, offline;
    /// prints the digest (equal to a live projection's of the same history).
    Replay {
        file: PathBuf,
        #[command(flatten)]
        trust: audit::Trust,
    },
    /// Signs the kommun's current chain head and records the checkpoint
    /// (publishing the kommun's key first if needed).
    Checkpoint { kommun: String },
    /// Rotates the kommun's signing key; the new key is published, endorsed by the old.
    RotateKey { kommun: String },
    /// Prints what a revisor writes down: the kommun's public key in force
    /// (full, and its 16-digit key id) and its latest signed checkpoint as
    /// SEQ:HASH, ready for `verify --trusted-key … --pin …` (only after the
    /// history verifies).
    Key { kommun: String },
    /// The embedded server's users: `users list`, `users add NAME` (an
    /// application user, e.g. a nämnd's secretary), `users add NAME --revisor`.
    /// A new user can log in once `styr serve` is started again; what it may
    /// record is decided in the kommun's history (grant_access).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// The revisor's underlag for a year: the verification of the history
    /// first, then the year's decisions (ändringslogg), måluppfyllelse with
    /// traffic lights, uppdrag, economy against ramar, the budget,
    /// investments, balanskrav, deviations, intern kontroll, granskningar,
    /// gaps and access — as Markdown, HTML (prints on A4), an Excel
    /// workbook and CSV files for Swedish Excel.
    Report {
        kommun: String,
        year: i32,
        /// Folder to write rapport.md, rapport.html, rapport.xlsx and the CSV files to.
        #[arg(long, short)]
        out: PathBuf,
        /// The date the report is made on (default: today).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Report from an export file, offline.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        trust: audit::Trust,
    },
    #[command(flatten)]
    Query(views::Query),
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

impl Cli {
    /// The projection folder: `--projections`, or `projections` in the data folder.
    pub(crate) fn projections(&self) -> PathBuf {
        self.projections
            .clone()
            .unwrap_or_else(|| self.data_dir.join("projections"))
    }
}

#[derive(Subcommand)]
enum UsersAction {
    /// Lists the users and their roles (no passwords).
    List,
    /// Adds a user with a new password.
    Add {
        /// The user name: 1–64 of a-z, A-Z, 0-9, '-' and '_'.
        name: String,
        /// An auditor (reads and queries, never submits) instead of an
        /// application user.
        #[arg(long)]
        revisor: bool,
    },
}

/// The NATS connection and, in the embedded default, the server behind it.
pub(crate) struct Backend {
    store: Arc<EventStore>,
    /// The URL of the service's request connection (user `styr-api`).
    api_url: Option<String>,
    _server: Option<NatsServer>,
    /// Held while this process runs the data folder's server.
    _lock: Option<std::fs::File>,
}

/// Who holds a data folder.
enum DataDir {
    /// This process: it may start the folder's nats-server.
    Ours(std::fs::File),
    /// Another `styr` process, whose server this one attaches to.
    Held(String),
}

/// Locks `<data-dir>/styr.lock` (and writes this process id into it), or
/// says which process holds it. One data folder, one nats-server: a second
/// server on the same JetStream store would lose acknowledged decisions.
fn lock_data_dir(dir: &std::path::Path) -> Result<DataDir> {
    use std::io::{Read, Seek, Write};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("styr.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            Ok(DataDir::Ours(file))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Ok(DataDir::Held(pid.trim().to_owned()))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

impl Backend {
    async fn open(cli: &Cli) -> Result<Self> {
        let config = StoreConfig {
            replicas: cli.replicas,
            keys: Some(cli.data_dir.join("keys")),
            ..StoreConfig::default()
        };
        let mut lock = None;
        let (url, api_url, server) = match &cli.nats_url {
            Some(url) => (url.clone(), cli.api_url.clone(), None),
            None => {
                let held = match lock_data_dir(&cli.data_dir)? {
                    DataDir::Ours(file) => {
                        lock = Some(file);
                        None
                    }
                    DataDir::Held(pid) => Some(pid),
                };
                if let Some(pid) = held {
                    // Attach to the server the other process runs.
                    let read = |user: &str| {
                        let path = cli.data_dir.join("credentials").join(format!("{user}.url"));
                        std::fs::read_to_string(&path)
                            .map(|t| t.trim().to_owned())
                            .with_context(|| {
                                format!(
                                    "datamappen {} används av styr med process-id {pid}, och {} går inte att läsa",
                                    cli.data_dir.display(),
                                    path.display()
                                )
                            })
                    };
                    eprintln!(
                        "Datamappen {} används av styr med process-id {pid}: ansluter till dess nats-server",
                        cli.data_dir.display()
                    );
                    let url = read(styr_access::SERVICE_USER)?;
                    let api = read(styr_access::API_USER)?;
                    (url, Some(api), None)
                } else {
                    let (server, access) = start_embedded(cli).await?;
                    let user = |role| {
                        access
                            .with_role(role)
                            .map(|u| u.url("127.0.0.1", server.port()))
                            .context("the users file lacks the service's users")
                    };
                    (
                        user(styr_access::Role::Service)?,
                        Some(user(styr_access::Role::Api)?),
                        Some(server),
                    )
                }
            }
        };
        // Reach the server once before going on, so that an unreachable or
        // refusing server is an error naming it, not a later time-out.
        let (address, options) = styr_store::connect_options(&url);
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            options.connect(address.clone()),
        )
        .await;
        match probe {
            Ok(Ok(client)) => drop(client),
            Ok(Err(e)) => anyhow::bail!(
                "kunde inte ansluta till NATS på {}: {e}",
                without_password(&url)
            ),
            Err(_) => anyhow::bail!("NATS på {} svarade inte inom 10 s", without_password(&url)),
        }
        let store = EventStore::connect(&url, config)
            .await
            .with_context(|| format!("connecting to NATS at {}", without_password(&url)))?;
        Ok(Backend {
            store: Arc::new(store),
            api_url,
            _server: server,
            _lock: lock,
        })
    }

    fn kommuner(&self) -> Kommuner {
        Kommuner::new(self.store.clone())
    }
}

/// `nats://user:***@host` for messages: a password never reaches a log.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, host))) => {
            let user = rest.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Starts the embedded nats-server with the permission model (accounts and
/// users from `<data-dir>/access/users.json`, created on first start) and
/// writes every user's URL to `<data-dir>/credentials/<user>.url` (0600).
async fn start_embedded(cli: &Cli) -> Result<(NatsServer, styr_access::Access)> {
    eprintln!(
        "Startar inbyggd nats-server {} (JetStream, fsync vid varje skrivning, konton och användare) i {}",
        styr_natsrun::NATS_SERVER_VERSION,
        cli.data_dir.display()
    );
    let access = styr_access::Access::load_or_create(&cli.data_dir.join("access"))
        .context("reading the users of the embedded server")?;
    let server = NatsServer::start(
        ServerOptions::new(cli.data_dir.join("nats")).with_config(access.server_config()),
    )
    .await
    .context("starting the embedded nats-server")?;
    access
        .write_credentials(
            &cli.data_dir.join("credentials"),
            "127.0.0.1",
            server.port(),
        )
        .context("writing the users' credentials")?;
    Ok((server, access))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Uppdragsstatus in Swedish, for tables.
fn status_sv(s: styr_domain::UppdragStatus) -> &'static str {
    match s {
        styr_domain::UppdragStatus::NotStarted => "ej påbörjat",
        styr_domain::UppdragStatus::Ongoing => "pågår",
        styr_domain::UppdragStatus::Done => "klart",
        styr_domain::UppdragStatus::Delayed => "försenat",
    }
}

/// A kommun named on the command line must have a history here: a typo
/// (`vimerby`) is an error, never an empty answer that looks like success.
pub(crate) async fn require_kommun(store: &EventStore, k: &KommunId) -> Result<()> {
    if store.last_sequence(k).await? == 0 {
        let known: Vec<String> = store
            .kommuner()
            .await
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        anyhow::bail!(
            "kommunen {k} finns inte här (ingen historik){}",
            if known.is_empty() {
                String::new()
            } else {
                format!("; kända kommuner: {}", known.join(", "))
            }
        );
    }
    Ok(())
}

fn kommun(id: &str) -> Result<KommunId> {
    KommunId::new(id).with_context(|| format!("kommun {id:?}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `styr history vimmerby | head`: a closed stdout ends the program
    // quietly, as it does for other command-line tools, not with a panic.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STYR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // A usage error exits 64 (sysexits EX_USAGE), distinct from a rejected
    // decision (2); --help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 64 } else { 0 });
        }
    };
    match run(cli).await {
        Ok(Exit::Ok) => std::process::ExitCode::SUCCESS,
        Ok(Exit::Rejected) => std::process::ExitCode::from(2),
        Ok(Exit::Broken) => std::process::ExitCode::from(3),
        Err(e) => {
            eprintln!("fel: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Exit codes scripts can rely on: 0 done, 1 error, 2 a decision rejected,
/// 3 a history that does not verify.
enum Exit {
    Ok,
    Rejected,
    Broken,
}

fn read_submissions(file: &std::path::Path) -> Result<Vec<Submission>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("läser {}", file.display()))?;
    let yaml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        let value: serde_json::Value = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{}: inte giltig YAML", file.display()))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        return items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_path_to_error::deserialize(v).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: beslut {i}, fältet {}: {}",
                        file.display(),
                        e.path(),
                        e.inner()
                    )
                })
            })
            .collect();
    }
    // JSON straight into the types (not through a map): a key given twice
    // is refused here as it is over NATS, and errors name the field.
    let many = text.trim_start().starts_with('[');
    let de = &mut serde_json::Deserializer::from_str(&text);
    let parsed = if many {
        serde_path_to_error::deserialize::<_, Vec<Submission>>(de)
    } else {
        serde_path_to_error::deserialize::<_, Submission>(de).map(|s| vec![s])
    };
    parsed.map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            anyhow::anyhow!("{}: inte giltig JSON: {}", file.display(), e.inner())
        } else {
            anyhow::anyhow!("{}: fältet {}: {}", file.display(), e.path(), e.inner())
        }
    })
}

async fn run(cli: Cli) -> Result<Exit> {
    match &cli.command {
        Command::Example { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            example::run(&backend.kommuner(), &k, &cli.som, &cli.projections()).await?;
            Ok(Exit::Ok)
        }
        Command::Project {
            kommun: k,
            follow,
            flush_every,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let p = styr_projections::Projector::open(cli.projections())
                .with_context(|| format!("opening {}", cli.projections().display()))?
                .with_flush_every(*flush_every);
            // Fault-test hook, only in a build with the `failpoints` feature
            // (the tests'): abort, as kill -9 would, after this many batches.
            let crash_after: Option<u64> = if cfg!(feature = "failpoints") {
                std::env::var("STYR_CRASH_AFTER_BATCHES")
                    .ok()
                    .and_then(|v| v.parse().ok())
            } else {
                None
            };
            let mut batches = 0u64;
            let bar = progress(backend.store.last_sequence(&k).await?, "projicerar");
            let progress = |seq: u64| {
                bar.set_position(seq);
                println!("projicerat till sekvens {seq}");
                batches += 1;
                if crash_after.is_some_and(|n| batches >= n) {
                    std::process::abort();
                }
            };
            let last = if *follow {
                p.follow(&backend.store, &k, progress).await?
            } else {
                p.catch_up_with(&backend.store, &k, progress).await?
            };
            println!(
                "{k}: projektionen är vid sekvens {last}, digest {}",
                p.digest(&k)?
            );
            Ok(Exit::Ok)
        }
        Command::Rebuild { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let p = styr_projections::Projector::open(cli.projections())?;
            let bar = progress(backend.store.last_sequence(&k).await?, "bygger om");
            let last = p
                .rebuild_with(&backend.store, &k, |seq| bar.set_position(seq))
                .await?;
            bar.finish_and_clear();
            println!("{k}: ombyggd till sekvens {last}, digest {}", p.digest(&k)?);
            Ok(Exit::Ok)
        }
        Command::Query(q) => {
            if q.offline() {
                views::run(None, &cli.projections(), q).await?;
            } else {
                let backend = Backend::open(&cli).await?;
                views::run(Some(&backend.store), &cli.projections(), q).await?;
            }
            Ok(Exit::Ok)
        }
        Command::Submit { kommun: k, file } => {
            let k = kommun(k)?;
            let submissions = read_submissions(file)?;
            let backend = Backend::open(&cli).await?;
            let kommuner = backend.kommuner();
            let bar = progress(submissions.len() as u64, "registrerar");
            for (i, s) in submissions.into_iter().enumerate() {
                bar.inc(1);
                let key = s.idempotency_key.clone();
                match kommuner.submit_as(&k, &cli.som, s).await? {
                    Outcome::Recorded(c) => println!(
                        "{key}: registrerat, sekvens {}–{}",
                        c.first_sequence, c.last_sequence
                    ),
                    Outcome::Duplicate(c) => println!(
                        "{key}: fanns redan (sekvens {}–{}), inget nytt registrerat",
                        c.first_sequence, c.last_sequence
                    ),
                    Outcome::Rejected(r) => {
                        eprintln!(
                            "{}: beslut {i} ({key}) avslogs: {}: {} [{}]",
                            file.display(),
                            r.field,
                            r.message,
                            r.rule
                        );
                        return Ok(Exit::Rejected);
                    }
                }
            }
            Ok(Exit::Ok)
        }
        Command::Serve {
            checkpoint_every,
            registrars,
        } => {
            let backend = Backend::open(&cli).await?;
            serve::run(&cli, backend, *checkpoint_every, registrars.clone()).await?;
            Ok(Exit::Ok)
        }
        Command::Verify {
            kommun: k,
            file,
            trust,
        } => {
            let options = trust.options()?;
            let ok = match file {
                Some(file) => {
                    let (header, _, result) = audit::verify_file(file, options)?;
                    audit::print_result(header.kommun.as_str(), &result)
                }
                None => {
                    let k = kommun(k.as_deref().context("name the kommun, or give --file")?)?;
                    let backend = Backend::open(&cli).await?;
                    require_kommun(&backend.store, &k).await?;
                    let result = styr_audit::verify_stream(&backend.store, &k, options).await?;
                    audit::print_result(k.as_str(), &result)
                }
            };
            Ok(if ok { Exit::Ok } else { Exit::Broken })
        }
        Command::Export {
            kommun: k,
            out,
            up_to,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            require_kommun(&backend.store, &k).await?;
            let h = audit::export(&backend.store, &k, *up_to, out).await?;
            println!(
                "{k}: {} händelser till {} (huvud {})",
                h.last_sequence,
                out.display(),
                h.head_hash
            );
            Ok(Exit::Ok)
        }
        Command::Replay { file, trust } => {
            let (header, entries, result) = audit::verify_file(file, trust.options()?)?;
            if !audit::print_result(header.kommun.as_str(), &result) {
                return Ok(Exit::Broken);
            }
            let stored = audit::stored(&header, &entries)?;
            let bar = progress(stored.len() as u64, "återskapar");
            let view = styr_projections::fold_records(
                &header.kommun,
                stored.iter().inspect(|_| bar.inc(1)),
            )?;
            bar.finish_and_clear();
            println!(
                "{}: alla läsmodeller återskapade från {}; digest {}",
                header.kommun,
                file.display(),
                styr_projections::digest(&view, &header.kommun)?
            );
            println!(
                "Ställ frågor offline med --file, t.ex. `styr plan {} 2026 --file {} --as-of 2026-06-30`",
                header.kommun,
                file.display()
            );
            Ok(Exit::Ok)
        }
        Command::Checkpoint { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let (covered, at) = audit::checkpointer(&backend.store).checkpoint(&k).await?;
            println!("{k}: kontrollpunkt för sekvens {covered} signerad och registrerad som händelse {at}");
            Ok(Exit::Ok)
        }
        Command::Key { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            require_kommun(&backend.store, &k).await?;
            let report =
                match styr_audit::verify_stream(&backend.store, &k, Default::default()).await? {
                    Ok(r) => r,
                    Err(b) => {
                        audit::print_result(k.as_str(), &Err(b));
                        return Ok(Exit::Broken);
                    }
                };
            let chain = backend.store.chain_head(&k).await?;
            let key = chain.key.context("kommunen har ingen publicerad nyckel")?;
            let first = report.keys.first().cloned().unwrap_or_default();
            println!("{k}: historiken verifierad ({} händelser)", report.events);
            println!("  nyckel i kraft: {}", hex::encode(key.key.as_bytes()));
            println!("  nyckel-id (fingeravtryck): {}", key.id);
            if first != key.id {
                println!(
                    "  (kommunens första nyckel, den som --trusted-key avser, har nyckel-id {first})"
                );
            }
            match report.last_checkpoint() {
                Some((covered, _, _, signed_at)) => {
                    let hash = styr_store::ChainHash::of_event(
                        &backend.store.raw_message(&k, *covered).await?,
                    );
                    println!("  senaste signerade kontrollpunkt: {covered}:{hash} (signerad {signed_at})");
                    println!(
                        "Skriv ner och verifiera senare med: styr verify --file FIL --trusted-key {first} --pin {covered}:{hash}"
                    );
                }
                None => println!(
                    "  ingen signerad kontrollpunkt ännu: `styr checkpoint {k}` signerar en"
                ),
            }
            Ok(Exit::Ok)
        }
        Command::Users { action } => {
            if cli.nats_url.is_some() {
                anyhow::bail!(
                    "styr users ändrar den inbyggda serverns användare; en egen server (--nats-url) har sina användare i sin konfiguration (se deploy/nats)"
                );
            }
            let dir = cli.data_dir.join("access");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // One change at a time (serve holds styr.lock, so not that one).
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join("users.lock"))
                .context("opening the users lock")?;
            lock.lock().context("locking the users file")?;
            let mut access = styr_access::Access::load_or_create(&dir)
                .with_context(|| format!("reading {}", dir.display()))?;
            match action {
                UsersAction::List => {
                    for u in &access.users {
                        println!("{:<24} {}", u.name, u.role.label());
                    }
                }
                UsersAction::Add { name, revisor } => {
                    // A user name is an identity in every kommun's history:
                    // one that has recorded there (the example's loader, the
                    // local operator) already holds what was granted to it.
                    if [cli.som.as_str(), "lokal-operator", "exempel-laddning"]
                        .contains(&name.as_str())
                    {
                        anyhow::bail!(
                            "{name} är en identitet som redan registrerar beslut lokalt (och kan vara administratör); välj ett annat namn för en inloggning"
                        );
                    }
                    let role = if *revisor {
                        styr_access::Role::Auditor
                    } else {
                        styr_access::Role::App
                    };
                    access.add(&dir, name, role)?;
                    println!(
                        "Användaren {name} ({}) är tillagd. Starta om styr serve; därefter finns dess NATS-URL i {}.",
                        role.label(),
                        cli.data_dir.join("credentials").join(format!("{name}.url")).display()
                    );
                    println!(
                        "Vad {name} får registrera beslutas i kommunens historik: grant_access av KS eller en administratör."
                    );
                }
            }
            Ok(Exit::Ok)
        }
        Command::RotateKey { kommun: k } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            let kid = audit::checkpointer(&backend.store).rotate_key(&k).await?;
            println!("{k}: ny signeringsnyckel {kid} publicerad, intygad av den förra");
            Ok(Exit::Ok)
        }
        Command::Report {
            kommun: k,
            year,
            out,
            today,
            file,
            trust,
        } => {
            let k = kommun(k)?;
            let today = today.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let report = match file {
                Some(file) => {
                    let (header, entries, verification) =
                        audit::verify_file(file, trust.options()?)?;
                    if header.kommun != k {
                        anyhow::bail!("{} holds kommun {}, not {k}", file.display(), header.kommun);
                    }
                    let view = styr_projections::fold_records(
                        &k,
                        audit::stored(&header, &entries)?.iter(),
                    )?;
                    styr_audit::RevisorReport::build(&view, &k, *year, today, verification)?
                }
                None => {
                    let backend = Backend::open(&cli).await?;
                    require_kommun(&backend.store, &k).await?;
                    let verification =
                        styr_audit::verify_stream(&backend.store, &k, trust.options()?).await?;
                    let p = views::projector(&backend.store, &cli.projections(), &k).await?;
                    styr_audit::RevisorReport::build(p.view(), &k, *year, today, verification)?
                }
            };
            std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            let write = |name: &str, bytes: &[u8]| {
                let path = out.join(name);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("kunde inte skriva {}", path.display()))
            };
            write("rapport.md", report.markdown().as_bytes())?;
            write("rapport.html", report.html().as_bytes())?;
            write(
                "rapport.xlsx",
                &report.xlsx().context("kunde inte skapa rapport.xlsx")?,
            )?;
            for (name, bytes) in report.csv().context("kunde inte skriva CSV-tabellerna")? {
                write(name, &bytes)?;
            }
            println!(
                "Rapport för {k} {year} skriven till {} (rapport.md, rapport.html, rapport.xlsx, CSV med semikolon för Excel)",
                out.display()
            );
            Ok(if report.verification.is_ok() {
                Exit::Ok
            } else {
                Exit::Broken
            })
        }
        Command::History {
            kommun: k,
            from,
            json,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            require_kommun(&backend.store, &k).await?;
            let events = backend
                .store
                .history(&k, styr_store::ChainState::genesis(&k))
                .await?;
            futures::pin_mut!(events);
            if !json {
                print_header();
            }
            while let Some(e) = events.next().await {
                let e = e?;
                if e.sequence() >= *from {
                    print_record(&e, *json)?;
                }
            }
            Ok(Exit::Ok)
        }
        Command::Follow {
            kommun: k,
            from,
            json,
        } => {
            let k = kommun(k)?;
            let backend = Backend::open(&cli).await?;
            require_kommun(&backend.store, &k).await?;
            let events = backend
                .store
                .follow(&k, styr_store::ChainState::genesis(&k))
                .await?;
            futures::pin_mut!(events);
            if !json {
                print_header();
            }
            loop {
                tokio::select! {
                    e = events.next() => match e {
                        Some(e) => {
                            let e = e?;
                            if e.sequence() >= *from {
                                print_record(&e, *json)?;
                            }
                        }
                        None => return Ok(Exit::Ok),
                    },
                    _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
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

/// One message of the stream: an event, or a foreign message (intrång).
pub(crate) fn print_record(r: &styr_store::Record, json: bool) -> Result<()> {
    match r {
        styr_store::Record::Event(e) => print_event(e, json),
        styr_store::Record::Foreign(f) if json => {
            let line = styr_service::api::HistoryLine::Foreign {
                foreign: styr_service::api::ForeignLine {
                    sequence: f.sequence,
                    reason: f.reason.clone(),
                    hash: f.hash.to_hex(),
                },
            };
            println!("{}", serde_json::to_string(&line)?);
            Ok(())
        }
        styr_store::Record::Foreign(f) => {
            println!(
                "{:>5}  INTRÅNG: främmande meddelande, inte skrivet av Styrkedja: {}",
                f.sequence, f.reason
            );
            Ok(())
        }
    }
}

pub(crate) fn print_event(e: &StoredEvent, json: bool) -> Result<()> {
    if json {
        let line = styr_service::api::HistoryLine::Event {
            sequence: e.sequence,
            envelope: serde_json::from_slice(&e.raw).context("händelsens lagrade bytes")?,
        };
        println!("{}", serde_json::to_string(&line)?);
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
