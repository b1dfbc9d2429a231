//! `styr`: run Styrkedja, submit decisions, look into a kommun's history.
//!
//! With no NATS URL configured it runs its own nats-server with JetStream
//! (the embedded default) in the data folder, and stops it on exit; with
//! `--nats-url`/`NATS_URL` it connects to that server or cluster and starts
//! nothing.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Writes a line to standard output and returns the error instead of
/// panicking as `println!` does: `styr history vimmerby | head` closes the
/// pipe, and `main` ends quietly when an error's cause is a broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err($crate::StdoutError)
    }};
}

/// `outln!` without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err($crate::StdoutError)
    }};
}

/// Writing to standard output failed: told apart from every other I/O
/// error, so that only a closed stdout ends the program quietly.
#[derive(Debug)]
pub(crate) struct StdoutError(std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kunde inte skriva till standard ut: {}", self.0)
    }
}

impl std::error::Error for StdoutError {}

// The shared context, and one module per verb (or verb family).
mod context;
mod example;
mod health;
mod history;
mod import;
mod integrity;
mod project;
mod registers;
mod report;
mod serve;
mod submit;
mod users;
mod views;
// Helpers of the verbs: export files and verification output; Swedish
// clap texts.
mod audit;
mod config;
mod swedish;

pub(crate) use context::{kommun, progress, require_kommun, Backend, Ctx};

/// Källor för `styr import`.
#[derive(Subcommand)]
pub(crate) enum ImportSource {
    /// Kolada-värden: filer med Koladas svar (API v3,
    /// `/v3/data/kpi/{kpi}/municipality/{id}`) som de hämtades. Varje
    /// nyckeltal blir utfall för de indikatorer som anger det (kolada_kpi);
    /// oförändrade värden hoppas över, ett reviderat värde registreras
    /// bredvid det gamla, och rader för en annan kommunkod avslås.
    Kolada {
        /// Kommunens id.
        #[arg(value_name = "KOMMUN")]
        kommun: String,
        /// Koladas svar, en eller flera filer.
        #[arg(value_name = "FIL", required = true)]
        files: Vec<PathBuf>,
        /// Tjänstepersonen som gör importen (beslutsfattaren i
        /// revisionsspåret), t.ex. `Controller`.
        #[arg(long = "tjansteperson", value_name = "TITEL")]
        official: String,
        /// Enheten tjänstepersonen handlar för, t.ex. `ks-forv`.
        #[arg(long = "enhet", value_name = "ENHET")]
        unit: String,
        /// När värdena hämtades från Kolada (RFC 3339); standard: filernas
        /// ändringstid.
        #[arg(long = "hamtad", value_name = "TID")]
        fetched: Option<chrono::DateTime<chrono::Utc>>,
    },
}

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
    /// En inställningsfil i TOML med flaggornas namn som nycklar
    /// (`nats-url = "…"`, `checkpoint-every = 600`); kommandoraden och
    /// miljövariablerna går före filen (miljövariabel STYR_CONFIG).
    #[arg(long, env = "STYR_CONFIG", global = true, value_name = "FIL")]
    config: Option<PathBuf>,
    /// För `serve` mot en extern server: tjänstens anslutning för
    /// förfrågningar (`nats://styr-api:LÖSENORD@värd:4222`, kontot
    /// STYRKEDJA_API), så att varje förfrågan bär anroparens identitet
    /// (miljövariabel STYR_API_URL).
    #[arg(long, env = "STYR_API_URL", global = true, value_name = "URL")]
    api_url: Option<String>,
    /// Certifikatutfärdaren (PEM) att lita på när NATS-servern talar TLS
    /// (`tls://värd:4222`); med den krävs TLS (miljövariabel STYR_TLS_CA).
    #[arg(long, env = "STYR_TLS_CA", global = true, value_name = "FIL")]
    tls_ca: Option<PathBuf>,
    /// Porten den inbyggda nats-servern lyssnar på (på 127.0.0.1); utan den
    /// väljer servern en ledig port vid varje start (miljövariabel
    /// STYR_PORT). Med en fast port hittar andra program servern på samma
    /// adress efter en omstart.
    #[arg(long, env = "STYR_PORT", global = true, value_name = "PORT")]
    port: Option<u16>,
    /// För `serve` mot en extern server: serverns övervakningsadress
    /// (`http://värd:8222`, nats-serverns `http:`), där styr läser att
    /// JetStream fsyncar varje skrivning innan den börjar (miljövariabel
    /// STYR_MONITOR_URL).
    #[arg(long, env = "STYR_MONITOR_URL", global = true, value_name = "URL")]
    monitor_url: Option<String>,
    /// För `serve` mot en extern server: kör även om servern inte visar att
    /// den fsyncar varje skrivning (ett bekräftat beslut kan då gå förlorat
    /// vid ett strömavbrott; miljövariabel STYR_ALLOW_UNSAFE_FSYNC).
    #[arg(long, env = "STYR_ALLOW_UNSAFE_FSYNC", global = true)]
    allow_unsafe_fsync: bool,
    /// Mappen där styr installerar den fastlåsta nats-servern första gången
    /// den behövs (miljövariabel STYR_TOOLS_DIR). Standard: `.tools` i
    /// källkatalogen binären byggdes från, annars
    /// `$XDG_DATA_HOME/styrkedja/tools` (`~/.local/share/styrkedja/tools`).
    /// STYR_NATS_SERVER pekar i stället ut en färdig nats-server.
    #[arg(long, env = "STYR_TOOLS_DIR", global = true, value_name = "MAPP")]
    tools_dir: Option<PathBuf>,
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
    /// Läser in en exempelkommun genom kommandovägen och visar dess
    /// styrkedja: Vimmerby-lik (budget, luckor, uppdrag, processer och ett
    /// revisionsspår) eller Götene-lik (en förvaltning vars sektorer och
    /// enheter svarar inför olika nämnder).
    Example {
        /// Vilket exempel (standard vimmerby).
        #[arg(long, default_value = "vimmerby", value_name = "EXEMPEL", value_parser = ["vimmerby", "gotene"])]
        exempel: String,
        /// Kommun-id att läsa in det som (standard exemplets namn).
        #[arg(long, value_name = "KOMMUN")]
        kommun: Option<String>,
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
        /// Adress där mätvärden för Prometheus publiceras över HTTP
        /// (`127.0.0.1:9464` ger http://127.0.0.1:9464/metrics); utan den
        /// publiceras inga (miljövariabel STYR_METRICS_ADDR).
        #[arg(long, env = "STYR_METRICS_ADDR", value_name = "ADRESS")]
        metrics_addr: Option<std::net::SocketAddr>,
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
        /// Händelser per sled-batch (standard 256).
        #[arg(long, default_value_t = styr_projections::FLUSH_EVENTS, value_name = "ANTAL")]
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
    /// Importerar utfall från en källa som den kommer, som ett beslut i
    /// kommunens historik.
    Import {
        #[command(subcommand)]
        source: ImportSource,
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
        /// Gruppera måluppfyllelsen per process eller per Agenda 2030-mål.
        #[arg(long, value_name = "GRUPPERING", value_parser = ["process", "agenda2030"])]
        gruppera: Option<String>,
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
    /// Hälsan, för skript och övervakning: per kommun om strömmen nås, hur
    /// många repliker som är i fas, om gruppen har kvorum, hur långt den här
    /// nodens projektion släpar och hur gammal senaste signerade
    /// kontrollpunkten är. Slutkod 4 när en kommuns ström inte nås eller
    /// saknar kvorum.
    Health {
        /// Kommunerna att se till (standard: alla på servern).
        #[arg(value_name = "KOMMUN")]
        kommuner: Vec<String>,
        /// En JSON-rad per kommun i stället för en tabell.
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

/// The allocator the `styr` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
    let command = swedish::command(<Cli as clap::CommandFactory>::command());
    let argv = match config::args_with_config(&command, std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("fel: {message}");
            return std::process::ExitCode::from(64);
        }
    };
    let parsed = command
        .try_get_matches_from(argv)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!("{}", swedish::usage_error(&e));
            return std::process::ExitCode::from(64);
        }
        Err(e) => {
            // --help into a closed pipe has nothing left to say.
            let _ = out!("{}", swedish::help_text(&e));
            return std::process::ExitCode::SUCCESS;
        }
    };
    if let Some(dir) = &cli.tools_dir {
        styr_natsrun::set_tools_dir(dir.clone());
    }
    match run(cli).await {
        Ok(Exit::Ok) => std::process::ExitCode::SUCCESS,
        Ok(Exit::Rejected) => std::process::ExitCode::from(2),
        Ok(Exit::Broken) => std::process::ExitCode::from(3),
        Ok(Exit::Unhealthy) => std::process::ExitCode::from(4),
        // `styr history vimmerby | head`: a closed stdout ends the program
        // quietly (128 + SIGPIPE), as it does for other command-line tools.
        Err(e) if broken_pipe(&e) => std::process::ExitCode::from(141),
        Err(e) => {
            eprintln!("fel: {}", described(&e));
            std::process::ExitCode::from(1)
        }
    }
}

/// Whether an error comes from writing to a closed stdout.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<StdoutError>()
            .is_some_and(|out| out.0.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes on one line, each cause once: a message that
/// already ends with its cause's text (as the store's and the service's
/// errors do, so that logs and API replies carry it) does not repeat it.
fn described(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Exit codes scripts can rely on: 0 done, 1 error, 2 a decision rejected,
/// 3 a history that does not verify, 4 unhealthy (`styr health`).
enum Exit {
    Ok,
    Rejected,
    Broken,
    /// `styr health`: a kommun's stream cannot be reached or has lost quorum.
    Unhealthy,
}

/// Hands the command to its verb's module, with a context that opens the
/// connection (and the embedded server) once, on first use.
async fn run(cli: Cli) -> Result<Exit> {
    let mut ctx = Ctx::new(&cli);
    match &cli.command {
        Command::Example { exempel, kommun: k } => {
            example::example(&mut ctx, exempel, k.as_deref().unwrap_or(exempel)).await
        }
        Command::Project {
            kommun: k,
            follow,
            flush_every,
        } => project::project(&mut ctx, k, follow, flush_every).await,
        Command::Rebuild { kommun: k } => project::rebuild(&mut ctx, k).await,
        Command::Query(q) => views::query(&mut ctx, q).await,
        Command::Submit { kommun: k, file } => submit::submit(&mut ctx, k, file).await,
        Command::Serve {
            checkpoint_every,
            registrars,
            metrics_addr,
        } => serve::serve(&mut ctx, checkpoint_every, registrars, *metrics_addr).await,
        Command::Verify {
            kommun: k,
            file,
            trust,
        } => integrity::verify(&mut ctx, k.as_deref(), file.as_deref(), trust).await,
        Command::Export {
            kommun: k,
            out,
            up_to,
        } => integrity::export(&mut ctx, k, out, up_to).await,
        Command::Restore {
            kommun: k,
            file,
            trust,
        } => integrity::restore(&mut ctx, k, file, trust).await,
        Command::Replay { file, trust } => integrity::replay(file, trust).await,
        Command::Checkpoint { kommun: k } => integrity::checkpoint(&mut ctx, k).await,
        Command::Key { kommun: k } => integrity::key(&mut ctx, k).await,
        Command::Users { action } => users::users(&mut ctx, action).await,
        Command::Import {
            source:
                ImportSource::Kolada {
                    kommun: k,
                    files,
                    official,
                    unit,
                    fetched,
                },
        } => {
            import::kolada(
                &mut ctx,
                import::KoladaArgs {
                    kommun: k,
                    files,
                    official,
                    unit,
                    fetched: *fetched,
                },
            )
            .await
        }
        Command::RotateKey { kommun: k } => integrity::rotate_key(&mut ctx, k).await,
        Command::Report {
            kommun: k,
            year,
            out,
            today,
            file,
            gruppera,
            trust,
        } => {
            let grouping = match gruppera.as_deref() {
                Some("process") => Some(styr_audit::GoalGrouping::Process),
                Some(_) => Some(styr_audit::GoalGrouping::Agenda2030),
                None => None,
            };
            let request = report::Request {
                kommun: k,
                year,
                out,
                today,
                file: file.as_deref(),
                grouping,
            };
            report::report(&mut ctx, request, trust).await
        }
        Command::History {
            kommun: k,
            from,
            json,
        } => history::history(&mut ctx, k, from, json).await,
        Command::Health { kommuner, json } => health::health(&mut ctx, kommuner, *json).await,
        Command::Follow {
            kommun: k,
            from,
            json,
        } => history::follow(&mut ctx, k, from, json).await,
    }
}

#[cfg(test)]
mod tests {
    use super::{broken_pipe, described, StdoutError};

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "JetStream-åtgärden läsning misslyckades: {}", self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn pipe() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, "Broken pipe")
    }

    #[test]
    fn a_cause_already_in_its_message_is_told_once() {
        let e = anyhow::Error::new(Wrapped(pipe())).context("kunde inte läsa vimmerby");
        assert_eq!(
            described(&e),
            "kunde inte läsa vimmerby: JetStream-åtgärden läsning misslyckades: Broken pipe"
        );
    }

    #[test]
    fn only_a_closed_stdout_ends_quietly() {
        assert!(broken_pipe(&anyhow::Error::new(StdoutError(pipe()))));
        // A broken pipe to the NATS server is an error like any other.
        assert!(!broken_pipe(&anyhow::Error::new(Wrapped(pipe()))));
    }

    #[test]
    fn the_flush_help_names_the_default_it_gets() {
        let command = <super::Cli as clap::CommandFactory>::command();
        let project = command.find_subcommand("project").unwrap();
        let flush = project
            .get_arguments()
            .find(|a| a.get_id() == "flush_every")
            .unwrap();
        let help = flush.get_help().unwrap().to_string();
        let default = styr_projections::FLUSH_EVENTS.to_string();
        assert!(help.contains(&format!("(standard {default})")), "{help}");
        assert_eq!(flush.get_default_values(), [default.as_str()]);
    }
}
