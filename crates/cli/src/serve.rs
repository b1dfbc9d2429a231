//! `styr serve`: the NATS service, periodic checkpoints, and a clean stop.
//!
//! SIGTERM (systemd, `docker stop`) and SIGINT (Ctrl-C) stop it in order:
//! no new request is taken, every request already taken is answered, then
//! the embedded nats-server is stopped and the process exits 0. If the
//! embedded nats-server dies, `serve` exits non-zero at once so that a
//! supervisor restarts the whole unit; a transient NATS error or a contended
//! checkpoint is logged and tried again at the next tick.

use crate::*;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use styr_store::KommunId;

use crate::context::without_password;
use crate::{audit, Backend, Cli};

pub async fn run(
    cli: &Cli,
    mut backend: Backend,
    checkpoint_every: u64,
    registrars: Vec<String>,
    metrics: bool,
) -> Result<()> {
    // serve runs its own server or one named with --nats-url; it never
    // attaches to the server of another `styr` (which may end at any time).
    if cli.nats_url.is_none() && backend._server.is_none() {
        anyhow::bail!(
            "datamappen {} används redan av en annan styr-process (se {}); stoppa den först, eller kör serve mot en server med --nats-url",
            cli.data_dir.display(),
            cli.data_dir.join("styr.lock").display()
        );
    }
    // An acknowledged decision must survive a power cut: a server that
    // does not fsync every write is refused unless the operator says so.
    if cli.nats_url.is_some() {
        // The store's connection may still be completing its handshake: a
        // flush waits for it, and then the server has said who it is.
        let client = backend.store.client();
        client.flush().await.context("kunde inte nå NATS-servern")?;
        check_fsync(cli, &client.server_info().server_id).await?;
    }
    if let Some(s) = &backend._server {
        outln!("nats-server lyssnar på {} (avsluta med Ctrl-C)", s.url())?;
        outln!(
            "Inloggningsuppgifter (NATS-URL per användare, bara läsbara för dig) finns i {}",
            cli.data_dir.join("credentials").display()
        )?;
    }
    let health = Arc::new(styr_service::api::Health::default());
    let projector = Arc::new(
        styr_projections::Projector::open(cli.projections())
            .with_context(|| format!("kunde inte öppna {}", cli.projections().display()))?,
    );
    let api = Arc::new(styr_service::api::Api {
        kommuner: Arc::new(backend.kommuner().with_registrars(registrars)),
        projector: projector.clone(),
        health: health.clone(),
    });
    let lag = metrics.then(|| {
        tokio::spawn(measure_lag(
            backend.store.clone(),
            projector,
            Duration::from_secs(15),
        ))
    });
    let tls_ca = cli.nats_url.as_ref().and(cli.tls_ca.as_deref());
    let client = connect_api(&backend, tls_ca).await?;
    // Said only once the server has the service's subscriptions: a request
    // sent after this line finds a responder.
    let started = styr_service::api::start(client, api)
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .context("kunde inte starta tjänsten")?;
    outln!(
        "tjänsten styrkedja svarar på {0}.<kommun>.submit och {0}.<kommun>.query",
        styr_service::api::API_PREFIX
    )?;
    // Checkpoints in a task of their own: a slow one (time-outs, a
    // contended kommun) never keeps SIGTERM, a dead server or a full disk
    // waiting.
    let store = backend.store.clone();
    let checkpointing = tokio::spawn(async move {
        let cp = audit::checkpointer(&store);
        let mut signed: std::collections::BTreeMap<KommunId, u64> = Default::default();
        let mut tick = tokio::time::interval(Duration::from_secs(checkpoint_every.max(1)));
        loop {
            tick.tick().await;
            checkpoints(&store, &cp, &mut signed).await;
        }
    });
    let result = match backend._server.as_mut() {
        Some(server) => {
            let mut watch = EmbeddedServer {
                server,
                health,
                write_errors_seen: 0,
                data_dir: &cli.data_dir,
                checkpointing: &checkpointing,
            };
            styr_service::supervise::run(started, &mut watch, Duration::from_millis(500)).await
        }
        None => {
            let mut watch = ExternalServer {
                checkpointing: &checkpointing,
            };
            styr_service::supervise::run(started, &mut watch, Duration::from_secs(5)).await
        }
    };
    // Stopped when stopping began; also when the service ended otherwise.
    checkpointing.abort();
    if let Some(lag) = lag {
        lag.abort();
    }
    result?;
    Ok(())
}

/// What `serve` does when it begins to stop: no new checkpoint (one under
/// way is abandoned before it is recorded, or recorded whole), then say so.
fn stopping(checkpointing: &tokio::task::JoinHandle<()>) {
    checkpointing.abort();
    eprintln!("Avslutar: besvarar de förfrågningar som redan tagits emot");
}

/// The embedded nats-server as `serve` watches it: a server that has
/// exited ends `serve` (so that a supervisor restarts the unit); a full disk
/// makes submissions answer "no space" until there is room, then the server
/// is restarted.
struct EmbeddedServer<'a> {
    server: &'a mut styr_natsrun::NatsServer,
    health: Arc<styr_service::api::Health>,
    write_errors_seen: u64,
    data_dir: &'a std::path::Path,
    checkpointing: &'a tokio::task::JoinHandle<()>,
}

impl styr_service::supervise::Watch for EmbeddedServer<'_> {
    async fn check(&mut self) -> Result<(), String> {
        let server = &mut *self.server;
        if server.has_exited() {
            return Err(format!(
                "den inbyggda nats-servern (process {}) har avslutats oväntat; styr serve avslutas så att en övervakare kan starta om den",
                server.pid()
            ));
        }
        // A full disk: JetStream stores nothing more on the stream until
        // the server restarts. Answer "no space" meanwhile; restart the
        // server once there is room.
        if server.write_errors() > self.write_errors_seen {
            self.write_errors_seen = server.write_errors();
            if !self.health.storage_failed() {
                tracing::error!(
                    "nats-server cannot write to disk; submissions are refused until it can"
                );
                self.health.set_storage_failed(true);
            }
        }
        if self.health.storage_failed() && room_to_write(self.data_dir) {
            tracing::warn!("disk space is back: restarting the embedded nats-server");
            match server.restart_in_place().await {
                Ok(()) => {
                    self.write_errors_seen = server.write_errors();
                    self.health.set_storage_failed(false);
                }
                Err(e) => {
                    tracing::error!(error = %e, "restarting nats-server failed; trying again")
                }
            }
        }
        Ok(())
    }

    fn stopping(&mut self) {
        stopping(self.checkpointing);
    }
}

/// An external server must show that JetStream fsyncs every write: its
/// monitoring endpoint's `/varz` says `jetstream.config.sync_always`
/// (`jetstream { sync_interval: always }`). Refused otherwise, and when
/// there is no endpoint to ask, unless `--allow-unsafe-fsync`.
async fn check_fsync(cli: &Cli, server_id: &str) -> Result<()> {
    if cli.allow_unsafe_fsync {
        tracing::warn!("--allow-unsafe-fsync: not checking that the server fsyncs every write");
        return Ok(());
    }
    let Some(monitor) = cli.monitor_url.clone() else {
        anyhow::bail!(
            "styr serve mot en extern server kontrollerar först att JetStream fsyncar varje skrivning: ange serverns övervakningsadress med --monitor-url (http://värd:8222), eller --allow-unsafe-fsync för att köra utan den kontrollen"
        );
    };
    let varz = format!("{}/varz", monitor.trim_end_matches('/'));
    let body = tokio::task::spawn_blocking({
        let varz = varz.clone();
        move || -> Result<String, ureq::Error> {
            // A monitor that accepts and never answers must not hold serve.
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(std::time::Duration::from_secs(10)))
                .build()
                .into();
            agent.get(&varz).call()?.body_mut().read_to_string()
        }
    })
    .await
    .context("kontrollen av servern avbröts")?
    .with_context(|| format!("kunde inte läsa {varz}"))?;
    let varz_json: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("{varz} svarade inte med JSON"))?;
    // The monitor must be the connected server's own, not another's.
    if varz_json["server_id"].as_str() != Some(server_id) {
        anyhow::bail!(
            "{monitor} hör till en annan nats-server ({}) än den styr är ansluten till ({server_id}); ange den anslutna serverns övervakningsadress",
            varz_json["server_id"].as_str().unwrap_or("okänd")
        );
    }
    if varz_json["jetstream"]["config"]["sync_always"].as_bool() == Some(true) {
        return Ok(());
    }
    anyhow::bail!(
        "nats-servern bakom {monitor} fsyncar inte varje skrivning (jetstream {{ sync_interval: always }} saknas): ett bekräftat beslut kan gå förlorat vid ett strömavbrott. Ändra serverns konfiguration (se deploy/nats), eller ange --allow-unsafe-fsync för att ändå köra"
    )
}

/// A server someone else runs (`--nats-url`): nothing to watch here.
struct ExternalServer<'a> {
    checkpointing: &'a tokio::task::JoinHandle<()>,
}

impl styr_service::supervise::Watch for ExternalServer<'_> {
    async fn check(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn stopping(&mut self) {
        stopping(self.checkpointing);
    }
}

/// The service's request connection (user `styr-api`), on a server new
/// enough for the permission model.
async fn connect_api(
    backend: &Backend,
    tls_ca: Option<&std::path::Path>,
) -> Result<async_nats::Client> {
    let api_url = backend.api_url.clone().context(
        "serve behöver tjänstens anslutning för förfrågningar: sätt STYR_API_URL (eller --api-url) till nats://styr-api:LÖSENORD@värd:port",
    )?;
    let (address, options) = styr_store::connect_options(&api_url);
    let client = styr_store::with_tls_ca(options, tls_ca)
        .name("styrkedja-api")
        .connect(address)
        .await
        .with_context(|| {
            format!(
                "kunde inte ansluta till NATS på {}",
                without_password(&api_url)
            )
        })?;
    // The caller's identity rests on the server replacing a client's own
    // Nats-Request-Info; servers before 2.11.15 / 2.12.6 do not always.
    let version = client.server_info().version;
    if !server_strips_request_info(&version) {
        anyhow::bail!(
            "nats-server {version} är för gammal för Styrkedjas behörighetskontroll: den tar inte alltid bort en klients egen Nats-Request-Info; uppgradera till 2.12.6 eller senare (2.11.15 i 2.11-serien)"
        );
    }
    Ok(client)
}

/// Whether the data folder can take another 8 MiB (written and removed).
fn room_to_write(data_dir: &std::path::Path) -> bool {
    use std::io::Write;
    let probe = data_dir.join(".space-probe");
    let written = std::fs::File::create(&probe)
        .and_then(|mut f| {
            f.write_all(&vec![0u8; 8 << 20])?;
            f.sync_all()
        })
        .is_ok();
    let _ = std::fs::remove_file(&probe);
    written
}

/// Whether a nats-server of this version replaces a client's own
/// `Nats-Request-Info` on a service import (fixed in 2.11.15 and 2.12.6).
fn server_strips_request_info(version: &str) -> bool {
    let parts: Vec<u64> = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .take(3)
        .filter_map(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [2, 11, patch, ..] => *patch >= 15,
        [2, 12, patch, ..] => *patch >= 6,
        [2, minor, ..] => *minor > 12,
        [major, ..] => *major > 2,
        _ => false,
    }
}

/// Signs a checkpoint for every kommun whose head moved. A failure is
/// logged and tried again at the next tick; it never ends the service.
async fn checkpoints(
    store: &styr_store::EventStore,
    cp: &styr_audit::Checkpointer<'_>,
    signed: &mut std::collections::BTreeMap<KommunId, u64>,
) {
    let kommuner = match store.kommuner().await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "listing kommuner for checkpoints failed");
            return;
        }
    };
    for k in kommuner {
        let head = match store.last_sequence(&k).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(kommun = %k, error = %e, "reading the head failed");
                continue;
            }
        };
        if head > 0 && signed.get(&k) != Some(&head) {
            match cp.checkpoint(&k).await {
                Ok((covered, at)) => {
                    tracing::info!(kommun = %k, covered, at, "checkpoint signed");
                    signed.insert(k, at);
                }
                Err(e) => {
                    tracing::warn!(kommun = %k, error = %e, "checkpoint failed; next tick tries again")
                }
            }
        }
    }
}

pub(crate) async fn serve(
    ctx: &mut Ctx<'_>,
    checkpoint_every: &u64,
    registrars: &[String],
    metrics_addr: Option<std::net::SocketAddr>,
) -> Result<Exit> {
    let cli = ctx.cli;
    if let Some(addr) = metrics_addr {
        install_metrics(addr)?;
    }
    // serve keeps the connection (and the embedded server) until it stops.
    let backend = Backend::open_as(cli, crate::context::Attach::Refused).await?;
    run(
        cli,
        backend,
        *checkpoint_every,
        registrars.to_vec(),
        metrics_addr.is_some(),
    )
    .await?;
    Ok(Exit::Ok)
}

/// Publishes the service's metrics for Prometheus at `http://addr/metrics`:
/// submissions by outcome, rejections by rule, group sizes, append and
/// request latencies (histograms), and each kommun's projection lag.
fn install_metrics(addr: std::net::SocketAddr) -> Result<()> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    const SECONDS: [f64; 12] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
    ];
    const SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full("styr_group_size".into()), &SIZES))
        .context("ogiltiga histogramgränser")?
        .install()
        .with_context(|| format!("kunde inte publicera mätvärden på {addr}"))?;
    metrics::describe_counter!(
        "styr_submissions_total",
        "Besvarade inlämningar per utfall (recorded, duplicate, rejected, error)"
    );
    metrics::describe_counter!("styr_rejections_total", "Avslagna inlämningar per regel");
    metrics::describe_histogram!("styr_group_size", "Beslut per gruppskrivning");
    metrics::describe_histogram!(
        "styr_append_seconds",
        "Tid att skriva en grupp till JetStream (sekunder)"
    );
    metrics::describe_histogram!(
        "styr_request_seconds",
        "Tid från förfrågan till svar per ändpunkt (sekunder)"
    );
    metrics::describe_counter!("styr_request_errors_total", "Felsvar per ändpunkt och kod");
    metrics::describe_gauge!(
        "styr_projection_lag_events",
        "Händelser i kommunens ström som ännu inte finns i nodens projektion"
    );
    Ok(())
}

/// Sets each kommun's projection lag (stream head minus the projection's
/// checkpoint) for the metrics, every `every`.
async fn measure_lag(
    store: Arc<styr_store::EventStore>,
    projector: Arc<styr_projections::Projector>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Ok(kommuner) = store.kommuner().await else {
            continue;
        };
        for k in kommuner {
            let Ok(head) = store.last_sequence(&k).await else {
                continue;
            };
            let at = projector
                .checkpoint(&k)
                .ok()
                .flatten()
                .map_or(0, |c| c.sequence);
            #[allow(clippy::cast_precision_loss)] // a lag beyond 2^53 events is not a lag
            metrics::gauge!("styr_projection_lag_events", "kommun" => k.to_string())
                .set(head.saturating_sub(at) as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn servers_that_strip_a_forged_request_info() {
        for (v, ok) in [
            ("2.15.1", true),
            ("2.12.6", true),
            ("2.12.5", false),
            ("2.11.15", true),
            ("2.11.14", false),
            ("2.10.22", false),
            ("2.9.10", false),
            ("3.0.0", true),
            ("2.13.0-beta", true),
        ] {
            assert_eq!(super::server_strips_request_info(v), ok, "{v}");
        }
    }
}
