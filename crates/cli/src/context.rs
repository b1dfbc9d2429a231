//! What every verb shares: the connection to NATS (and, in the embedded
//! default, the nats-server and the data folder's lock behind it), opened
//! once on first use; kommun ids from the command line; progress bars.

use std::sync::Arc;

use anyhow::{Context, Result};
use styr_natsrun::{NatsServer, ServerOptions};
use styr_service::Kommuner;
use styr_store::{EventStore, KommunId, StoreConfig};

use crate::Cli;

/// The context of one `styr` run: the parsed command line and the backend,
/// opened when a verb first asks for it.
pub(crate) struct Ctx<'a> {
    pub(crate) cli: &'a Cli,
    backend: Option<Backend>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(cli: &'a Cli) -> Self {
        Ctx { cli, backend: None }
    }

    /// The connection to NATS, opened (and the embedded server started) on
    /// first use.
    pub(crate) async fn backend(&mut self) -> Result<&Backend> {
        if self.backend.is_none() {
            self.backend = Some(Backend::open(self.cli).await?);
        }
        self.backend.as_ref().context("the backend was just opened")
    }
}

/// The NATS connection and, in the embedded default, the server behind it.
pub(crate) struct Backend {
    pub(crate) store: Arc<EventStore>,
    /// The URL of the service's request connection (user `styr-api`).
    pub(crate) api_url: Option<String>,
    pub(crate) _server: Option<NatsServer>,
    /// Held while this process runs the data folder's server.
    _lock: Option<std::fs::File>,
    /// The decide state's snapshots (`<data-dir>/decide-snapshots`), when
    /// this process could open them (another `styr` holding them folds the
    /// history itself instead).
    snapshots: Option<Arc<styr_service::snapshot::Snapshots>>,
}

/// Who holds a data folder.
enum DataDir {
    /// This process: it may start the folder's nats-server.
    Ours(std::fs::File),
    /// Another `styr` process, whose server this one attaches to once it
    /// is ready.
    Held { pid: String, ready: bool },
}

/// The line the process holding `styr.lock` adds below its process id once
/// its nats-server runs and the users' URLs are written for it: before
/// that, a `styr` attaching would find no URL, or one of a server gone.
const READY: &str = "ready";

/// How long a `styr` waits for the process holding the data folder to
/// have its nats-server ready.
const ATTACH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Locks `<data-dir>/styr.lock` (and writes this process id into it), or
/// says which process holds it. One data folder, one nats-server: a second
/// server on the same JetStream store would lose acknowledged decisions.
fn lock_data_dir(dir: &std::path::Path) -> Result<DataDir> {
    use std::io::Read;
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
            not_ready(&mut file)?;
            Ok(DataDir::Ours(file))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let (pid, ready) = holder(&text);
            Ok(DataDir::Held { pid, ready })
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("kunde inte låsa {}", path.display()))
        }
    }
}

/// What the lock file says of the process holding it: its id, and whether
/// to try its server. A `styr` from before the `ready` line wrote its
/// process id alone, without a line end (this one writes the id and its
/// line end at once, [`not_ready`]), and never says when its server runs:
/// its server is tried, and attached to once it answers.
fn holder(text: &str) -> (String, bool) {
    let mut lines = text.lines().map(str::trim);
    let pid = lines.next().unwrap_or_default().to_owned();
    let older = !text.contains('\n') && !pid.is_empty();
    let ready = older || lines.any(|l| l == READY);
    (pid, ready)
}

/// Writes this process's id alone into the lock file, in one write: not
/// (or no longer) ready for others to attach.
fn not_ready(file: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
}

/// Whether a `styr` may attach to the server of another holding the data
/// folder: every command may, `serve` may not (the other may end at any
/// time), and is told so before anything else.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attach {
    Allowed,
    Refused,
}

/// The data folder as this process finds it: its own to run the server
/// in, or another `styr`'s whose server it attaches to.
enum Folder {
    Ours(std::fs::File),
    Attached {
        url: String,
        api: String,
        pid: String,
    },
}

/// Locks the data folder, or attaches to the server of the process
/// holding it once that process says the server is ready and it answers —
/// waiting at most [`ATTACH_WAIT`] for both, and taking the folder if the
/// holder ends meanwhile.
async fn take_or_attach(cli: &Cli, attach: Attach) -> Result<Folder> {
    let waited = std::time::Instant::now();
    let mut told = false;
    loop {
        let (pid, ready) = match lock_data_dir(&cli.data_dir)? {
            DataDir::Ours(file) => return Ok(Folder::Ours(file)),
            DataDir::Held { .. } if attach == Attach::Refused => anyhow::bail!(
                "datamappen {} används redan av en annan styr-process (se {}); stoppa den först, eller kör serve mot en server med --nats-url",
                cli.data_dir.display(),
                cli.data_dir.join("styr.lock").display()
            ),
            DataDir::Held { pid, ready } => (pid, ready),
        };
        let tried = if ready {
            Some(attached(cli, &pid).await)
        } else {
            None
        };
        let late = waited.elapsed() > ATTACH_WAIT;
        match tried {
            Some(Ok((url, api))) => return Ok(Folder::Attached { url, api, pid }),
            Some(Err(e)) if late => return Err(e),
            None if late => anyhow::bail!(
                "datamappen {} används av styr med process-id {pid}, vars nats-server inte blev klar inom {} s (startar den fortfarande: kör kommandot igen)",
                cli.data_dir.display(),
                ATTACH_WAIT.as_secs()
            ),
            // Said ready, yet no server answers at the URLs written for it:
            // the holder is stopping it (or took the folder a moment ago
            // over a previous run's lines). Look again.
            Some(Err(e)) => {
                tracing::debug!(error = %format!("{e:#}"), "the folder's server did not answer; looking again");
            }
            None if !told => {
                eprintln!(
                    "Datamappen {} används av styr med process-id {pid}, som startar sin nats-server: väntar på den",
                    cli.data_dir.display()
                );
                told = true;
            }
            // The holder is starting its server (or ending: then the lock
            // is free at the next look).
            None => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The service's and the API's URLs of the server the process `pid`
/// holding the data folder runs, once that server answers.
async fn attached(cli: &Cli, pid: &str) -> Result<(String, String)> {
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
    let url = read(styr_access::SERVICE_USER)?;
    let api = read(styr_access::API_USER)?;
    let (address, options) = styr_store::connect_options(&url);
    match tokio::time::timeout(
        std::time::Duration::from_secs(2),
        options.connect(address),
    )
    .await
    {
        Ok(Ok(client)) => drop(client),
        Ok(Err(e)) => anyhow::bail!(
            "datamappen {} används av styr med process-id {pid}, men dess nats-server på {} svarar inte: {e}",
            cli.data_dir.display(),
            without_password(&url)
        ),
        Err(_) => anyhow::bail!(
            "datamappen {} används av styr med process-id {pid}, men dess nats-server på {} svarade inte inom 2 s",
            cli.data_dir.display(),
            without_password(&url)
        ),
    }
    Ok((url, api))
}

/// Before the server stops (a struct's fields drop after its `drop`): a
/// `styr` looking at the folder from now on waits instead of attaching to a
/// server on its way out.
impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(file) = self._lock.as_mut() {
            let _ = not_ready(file);
        }
    }
}

impl Backend {
    pub(crate) async fn open(cli: &Cli) -> Result<Self> {
        Self::open_as(cli, Attach::Allowed).await
    }

    /// Opens the store as [`open`](Self::open) does; with
    /// [`Attach::Refused`], a data folder another `styr` holds is an error.
    pub(crate) async fn open_as(cli: &Cli, attach: Attach) -> Result<Self> {
        let config = StoreConfig {
            replicas: cli.replicas,
            keys: Some(cli.data_dir.join("keys")),
            // The CA is for a server named with --nats-url; the embedded
            // one speaks plain NATS on loopback.
            tls_ca: cli.nats_url.as_ref().and(cli.tls_ca.clone()),
            ..StoreConfig::default()
        };
        let mut lock = None;
        let (url, api_url, server) = match &cli.nats_url {
            Some(url) => (url.clone(), cli.api_url.clone(), None),
            None => match take_or_attach(cli, attach).await? {
                Folder::Attached { url, api, pid } => {
                    eprintln!(
                        "Datamappen {} används av styr med process-id {pid}: ansluter till dess nats-server",
                        cli.data_dir.display()
                    );
                    (url, Some(api), None)
                }
                Folder::Ours(file) => {
                    let file = lock.insert(file);
                    let (server, access) = start_embedded(cli).await?;
                    {
                        use std::io::Write;
                        // Others on the folder may attach from now on.
                        writeln!(file, "{READY}")
                            .and_then(|()| file.flush())
                            .context("kunde inte skriva i styr.lock")?;
                    }
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
            },
        };
        // Reach the server once before going on, so that an unreachable or
        // refusing server is an error naming it, not a later time-out.
        let (address, options) = styr_store::connect_options(&url);
        let options = styr_store::with_tls_ca(options, config.tls_ca.as_deref());
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
        let snapshots = match styr_service::snapshot::Snapshots::open(
            &cli.data_dir.join("decide-snapshots"),
        ) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                tracing::info!(error = %e, "no snapshots of the decide state: the history is folded from its start");
                None
            }
        };
        Ok(Backend {
            store: Arc::new(store),
            api_url,
            _server: server,
            _lock: lock,
            snapshots,
        })
    }

    pub(crate) fn kommuner(&self) -> Kommuner {
        let kommuner = Kommuner::new(self.store.clone());
        match &self.snapshots {
            Some(s) => kommuner.with_snapshots(s.clone()),
            None => kommuner,
        }
    }
}

/// `nats://user:***@host` for messages: a password never reaches a log.
pub(crate) fn without_password(url: &str) -> String {
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
pub(crate) async fn start_embedded(cli: &Cli) -> Result<(NatsServer, styr_access::Access)> {
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
pub(crate) fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
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

pub(crate) fn kommun(id: &str) -> Result<KommunId> {
    KommunId::new(id).with_context(|| format!("kommun {id:?}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_file_says_whether_its_holder_is_ready() {
        let said = |text: &str| super::holder(text);
        assert_eq!(said(""), (String::new(), false));
        assert_eq!(said("4242\n"), ("4242".into(), false));
        assert_eq!(said("4242\nready\n"), ("4242".into(), true));
        // A holder from before the `ready` line: its id alone.
        assert_eq!(said("4242"), ("4242".into(), true));
    }
}
