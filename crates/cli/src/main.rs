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
mod swedish;
mod views;

#[derive(Parser)]
#[command(
    name = "styr",
    version,
    about = "Styrkedja: en kommuns beslut som en verifierbar händelselogg"
)]
pub(crate) struct Cli {
    /// NATS-server eller kluster att använda, som tjänsteanvändaren
    /// (`nats://styr-service:LÖSENORD@värd:4222`; miljövariabel NATS_URL).
    /// Utan den startar styr en egen nats-server med JetStream, konton och
    /// användare i --data-dir.
    #[arg(long, env = "NATS_URL", global = true, value_name = "URL")]
    nats_url: Option<String>,
    /// För `serve` mot en extern server: tjänstens anslutning för
    /// förfrågningar (`nats://styr-api:LÖSENORD@värd:4222`, kontot
    /// STYRKEDJA_API), så att varje förfrågan bär anroparens identitet
    /// (miljövariabel STYR_API_URL).
    #[arg(long, env = "STYR_API_URL", global = true, value_name = "URL")]
    api_url: Option<String>,
    /// Porten den inbyggda nats-servern lyssnar på (på 127.0.0.1); utan den
    /// väljer servern en ledig port vid varje start (miljövariabel
    /// STYR_PORT). Med en fast port hittar andra program servern på samma
    /// adress efter en omstart.
    #[arg(long, env = "STYR_PORT", global = true, value_name = "PORT")]
    port: Option<u16>,
    /// Mapp för den inbyggda nats-serverns data (standard `.styr`;
    /// miljövariabel STYR_DATA_DIR).
    #[arg(
        long,
        env = "STYR_DATA_DIR",
        default_value = ".styr",
        global = true,
        value_name = "MAPP"
    )]
    data_dir: PathBuf,
    /// Den här nodens projektionsmapp (sled; en cache av JetStream).
    /// Standard: `projections` i datamappen (miljövariabel STYR_PROJECTIONS).
    #[arg(long, env = "STYR_PROJECTIONS", global = true, value_name = "MAPP")]
    projections: Option<PathBuf>,
    /// Vem som registrerar, för beslut som det här kommandot lämnar in
    /// själv (`submit`, `example`): den lokala operatörens namn i
    /// revisionsspåret (standard `lokal-operator`; miljövariabel STYR_SOM).
    /// Namnet behöver behörighet som alla andra (den som registrerar
    /// kommunen blir dess administratör). Över NATS är namnet alltid
    /// anroparens inloggade användare.
    #[arg(
        long,
        env = "STYR_SOM",
        default_value = "lokal-operator",
        global = true,
        value_name = "NAMN"
    )]
    som: String,
    /// Repliker per kommunström (3 i ett kluster; standard 1; miljövariabel
    /// STYR_REPLICAS).
    #[arg(
        long,
        env = "STYR_REPLICAS",
        default_value_t = 1,
        global = true,
        value_name = "ANTAL"
    )]
    replicas: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Läser in exempelkommunen (Vimmerby-lik) genom kommandovägen och visar
    /// dess styrkedja, budget, luckor, uppdrag och ett revisionsspår.
    Example {
        /// Kommun-id att läsa in den som (standard vimmerby).
        #[arg(long, default_value = "vimmerby", value_name = "KOMMUN")]
        kommun: String,
    },
    /// Lämnar in beslut från en JSON- eller YAML-fil (`.yaml`/`.yml`): ett
    /// ärende eller en lista av dem. Slutkod 2 när ett avslås (inget av det
    /// registreras; tidigare ärenden i filen förblir registrerade).
    Submit {
        /// Kommunens id, t.ex. vimmerby.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Filen med ärendet eller ärendena.
        #[arg(value_name = "FIL")]
        file: PathBuf,
    },
    /// Kör den inbyggda nats-servern och tjänsten tills den avbryts (Ctrl-C,
    /// SIGTERM) och signerar en kontrollpunkt för varje kommun vars historik
    /// rört sig, var --checkpoint-every:e sekund.
    Serve {
        /// Sekunder mellan kontrollpunkterna (standard 3600).
        #[arg(long, default_value_t = 3600, value_name = "SEKUNDER")]
        checkpoint_every: u64,
        /// En identitet som får registrera en ny kommun över NATS (kan
        /// upprepas; STYR_REGISTRARS tar en kommaseparerad lista). Ingen
        /// annan får: den som registrerar en kommun blir dess första
        /// administratör.
        #[arg(
            long = "registrar",
            env = "STYR_REGISTRARS",
            value_delimiter = ',',
            value_name = "IDENTITET"
        )]
        registrars: Vec<String>,
    },
    /// Uppdaterar den här nodens projektion av en kommun (och håller den
    /// uppdaterad med --follow).
    Project {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Fortsätt och följ nya händelser.
        #[arg(long)]
        follow: bool,
        /// Händelser per sled-batch (standard 512).
        #[arg(long, default_value_t = 512, value_name = "ANTAL")]
        flush_every: usize,
    },
    /// Bygger om en kommuns projektion från JetStream och skriver dess
    /// kontrollsumma.
    Rebuild {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
    },
    /// Verifierar en kommuns historik: direkt från JetStream, eller en
    /// exportfil offline (--file). Slutkod 3 när den inte håller.
    Verify {
        /// Kommunens id (behövs inte med --file).
        #[arg(value_name = "KOMMUN")]
        kommun: Option<String>,
        /// En exportfil att verifiera offline.
        #[arg(long, value_name = "FIL")]
        file: Option<PathBuf>,
        #[command(flatten)]
        trust: audit::Trust,
    },
    /// Skriver en kommuns hela historik (eller fram till en sekvens) till en
    /// fristående fil, med kontrollpunkter och publika nycklar.
    Export {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Filen att skriva.
        #[arg(long, short, value_name = "FIL")]
        out: PathBuf,
        /// Sista sekvens att ta med (standard: hela historiken).
        #[arg(long, value_name = "SEKVENS")]
        up_to: Option<u64>,
    },
    /// Återställer en kommuns historik från en exportfil till en tom ström
    /// (t.ex. på en ny server eller ett nytt kluster): filen verifieras
    /// först, sedan skrivs varje meddelande med exakt samma byte, så att
    /// samma hashar och signaturer gäller; till sist verifieras strömmen.
    /// Vägrar en ström som redan har en historik och en fil som inte
    /// håller (slutkod 3).
    Restore {
        /// Kommunens id (det filen gäller).
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Exportfilen.
        #[arg(value_name = "FIL")]
        file: PathBuf,
        #[command(flatten)]
        trust: audit::Trust,
    },
    /// Verifierar en exportfil och bygger om varje läsmodell ur den, offline;
    /// skriver kontrollsumman (densamma som en levande projektion av samma
    /// historik).
    Replay {
        /// Exportfilen.
        #[arg(value_name = "FIL")]
        file: PathBuf,
        #[command(flatten)]
        trust: audit::Trust,
    },
    /// Signerar kommunens nuvarande kedjehuvud och registrerar
    /// kontrollpunkten (publicerar först kommunens nyckel vid behov).
    Checkpoint {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
    },
    /// Byter kommunens signeringsnyckel; den nya publiceras, intygad av den
    /// gamla.
    RotateKey {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
    },
    /// Skriver det en revisor antecknar: kommunens gällande publika nyckel
    /// (hel, och dess 16 tecken långa nyckel-id) och senaste signerade
    /// kontrollpunkt som SEKVENS:HASH, färdiga för `verify --trusted-key …
    /// --pin …` (först när historiken verifierats).
    Key {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
    },
    /// Den inbyggda serverns användare: `users list`, `users add NAMN` (en
    /// applikationsanvändare, t.ex. en nämndsekreterare), `users add NAMN
    /// --revisor`. En ny användare kan logga in när `styr serve` startats
    /// om; vad den får registrera beslutas i kommunens historik
    /// (grant_access).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Revisorns underlag för ett år: först verifieringen av historiken,
    /// sedan årets beslut (ändringslogg), måluppfyllelse med trafikljus,
    /// uppdrag, ekonomi mot ramar, budgeten, investeringar, balanskrav,
    /// avvikelser, intern kontroll, granskningar, luckor och behörigheter —
    /// som Markdown, HTML (skrivs ut på A4), en Excel-arbetsbok och
    /// CSV-filer för svensk Excel.
    Report {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Året rapporten gäller, t.ex. 2026.
        #[arg(value_name = "ÅR")]
        year: i32,
        /// Mappen att skriva rapport.md, rapport.html, rapport.xlsx och
        /// CSV-filerna till.
        #[arg(long, short, value_name = "MAPP")]
        out: PathBuf,
        /// Datum rapporten görs (standard: i dag).
        #[arg(long, value_name = "ÅÅÅÅ-MM-DD")]
        today: Option<chrono::NaiveDate>,
        /// Gör rapporten ur en exportfil, offline.
        #[arg(long, value_name = "FIL")]
        file: Option<PathBuf>,
        #[command(flatten)]
        trust: audit::Trust,
    },
    #[command(flatten)]
    Query(views::Query),
    /// Skriver en kommuns registrerade händelser.
    History {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Första sekvens att visa (standard 1).
        #[arg(long, default_value_t = 1, value_name = "SEKVENS")]
        from: u64,
        /// En JSON-rad per händelse (`{"sequence", "envelope"}`) i stället för
        /// en tabell.
        #[arg(long)]
        json: bool,
    },
    /// Skriver en kommuns händelser allteftersom de registreras, efter dem
    /// som redan finns.
    Follow {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Första sekvens att visa (standard 1).
        #[arg(long, default_value_t = 1, value_name = "SEKVENS")]
        from: u64,
        /// En JSON-rad per händelse i stället för en tabell.
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
    /// Listar användarna och deras roller (inga lösenord).
    List,
    /// Lägger till en användare med ett nytt lösenord.
    Add {
        /// Användarnamnet: 1–64 av a-z, A-Z, 0-9, '-' och '_'.
        #[arg(value_name = "NAMN")]
        name: String,
        /// En revisor (läser och frågar, lämnar aldrig in) i stället för en
        /// applikationsanvändare.
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
    std::fs::create_dir_all(dir).with_context(|| format!("kunde inte skapa {}", dir.display()))?;
    let path = dir.join("styr.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("kunde inte öppna {}", path.display()))?;
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
            Err(e).with_context(|| format!("kunde inte låsa {}", path.display()))
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
                            .context("användarfilen saknar tjänstens användare")
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
        let store = EventStore::connect(&url, config).await.with_context(|| {
            format!("kunde inte ansluta till NATS på {}", without_password(&url))
        })?;
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
        .context("kunde inte läsa den inbyggda serverns användare")?;
    let server = NatsServer::start(
        ServerOptions {
            port: cli.port,
            ..ServerOptions::new(cli.data_dir.join("nats"))
        }
        .with_config(access.server_config()),
    )
    .await
    .context("kunde inte starta den inbyggda nats-servern")?;
    access
        .write_credentials(
            &cli.data_dir.join("credentials"),
            "127.0.0.1",
            server.port(),
        )
        .context("kunde inte skriva användarnas inloggningsuppgifter")?;
    Ok((server, access))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} ({rate}, {eta} kvar)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", styr_audit::grouped(state.per_sec() as i64));
            },
        )
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
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
    // Logs on stderr: STYR_LOG sets the level (default warn),
    // STYR_LOG_FORMAT=json one JSON object per line for a log collector;
    // colours only on a terminal.
    let filter = tracing_subscriber::EnvFilter::try_from_env("STYR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("STYR_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    // A usage error exits 64 (sysexits EX_USAGE), distinct from a rejected
    // decision (2); --help and --version exit 0.
    let parsed = swedish::command(<Cli as clap::CommandFactory>::command())
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("{}", swedish::usage_error(&e));
            return std::process::ExitCode::from(64);
        }
        Err(e) => {
            print!("{}", swedish::help_text(&e));
            return std::process::ExitCode::SUCCESS;
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
                        styr_service::wording::serde_message(&e.inner().to_string())
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
        let why = styr_service::wording::serde_message(&e.inner().to_string());
        if e.inner().is_syntax() || e.inner().is_eof() {
            anyhow::anyhow!("{}: inte giltig JSON: {why}", file.display())
        } else {
            match e.path().to_string().as_str() {
                "." => anyhow::anyhow!("{}: {why}", file.display()),
                path => anyhow::anyhow!("{}: fältet {path}: {why}", file.display()),
            }
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
                .with_context(|| format!("kunde inte öppna {}", cli.projections().display()))?
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
                "{k}: projektionen är vid sekvens {last}, kontrollsumma {}",
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
            println!(
                "{k}: ombyggd till sekvens {last}, kontrollsumma {}",
                p.digest(&k)?
            );
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
                    let k = kommun(k.as_deref().context("ange kommunen, eller --file")?)?;
                    let backend = Backend::open(&cli).await?;
                    require_kommun(&backend.store, &k).await?;
                    let bar = progress(backend.store.last_sequence(&k).await?, "verifierar");
                    let result = styr_audit::verify_stream_with(&backend.store, &k, options, |s| {
                        bar.set_position(s)
                    })
                    .await?;
                    bar.finish_and_clear();
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
            let total = backend.store.last_sequence(&k).await?;
            let bar = progress(up_to.map_or(total, |u| u.min(total)), "exporterar");
            let h = audit::export(&backend.store, &k, *up_to, out, |s| bar.set_position(s)).await?;
            bar.finish_and_clear();
            println!(
                "{k}: {} händelser till {} (huvud {})",
                h.last_sequence,
                out.display(),
                h.head_hash
            );
            Ok(Exit::Ok)
        }
        Command::Restore {
            kommun: k,
            file,
            trust,
        } => {
            let k = kommun(k)?;
            let (header, entries, verified) = audit::verify_file(file, trust.options()?)?;
            if header.kommun != k {
                anyhow::bail!(
                    "{} innehåller kommunen {}, inte {k}",
                    file.display(),
                    header.kommun
                );
            }
            if !audit::print_result(header.kommun.as_str(), &verified) {
                eprintln!("fel: filen håller inte; inget återställdes");
                return Ok(Exit::Broken);
            }
            let messages: Vec<(u64, bytes::Bytes)> = entries
                .iter()
                .map(|e| (e.sequence, e.bytes().into()))
                .collect();
            let backend = Backend::open(&cli).await?;
            let bar = progress(messages.len() as u64, "återställer");
            let last = backend
                .store
                .restore(&k, &messages, |s| bar.set_position(s))
                .await?;
            bar.finish_and_clear();
            let live = styr_audit::verify_stream(&backend.store, &k, trust.options()?).await?;
            let same_head = live
                .as_ref()
                .is_ok_and(|r| r.head_hash == header.head_hash && r.head_sequence == last);
            audit::print_result(k.as_str(), &live);
            if !same_head {
                eprintln!("fel: den återställda strömmen stämmer inte med filens huvud");
                return Ok(Exit::Broken);
            }
            println!(
                "{k}: {last} händelser återställda från {}, kedjans huvud {} som i filen. Kopiera kommunens signeringsnycklar (keys/{k}/) till den nya noden innan nya beslut registreras.",
                file.display(),
                header.head_hash
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
                "{}: alla läsmodeller återskapade från {}; kontrollsumma {}",
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
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("kunde inte skapa {}", dir.display()))?;
            // One change at a time (serve holds styr.lock, so not that one).
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join("users.lock"))
                .context("kunde inte öppna användarfilens lås")?;
            lock.lock().context("kunde inte låsa användarfilen")?;
            let mut access = styr_access::Access::load_or_create(&dir)
                .with_context(|| format!("kunde inte läsa {}", dir.display()))?;
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
                        anyhow::bail!(
                            "{} innehåller kommunen {}, inte {k}",
                            file.display(),
                            header.kommun
                        );
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
            std::fs::create_dir_all(out)
                .with_context(|| format!("kunde inte skapa {}", out.display()))?;
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
            envelope: serde_json::value::RawValue::from_string(
                String::from_utf8(e.raw.to_vec()).context("händelsens lagrade bytes")?,
            )
            .context("händelsens lagrade bytes")?,
        };
        println!("{}", serde_json::to_string(&line)?);
        return Ok(());
    }
    let env = &e.envelope;
    let decided = env.provenance.decided_by.to_string();
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
