//! The service as a process runs it: answer requests until told to stop
//! (SIGTERM from systemd or `docker stop`, SIGINT from Ctrl-C), watching
//! what it depends on meanwhile; then stop taking requests, answer every
//! request already taken, and return.

use std::future::Future;
use std::time::Duration;

use crate::api;

/// What the supervised service keeps an eye on between requests (for
/// `styr serve`, its embedded nats-server: still running, disk not full).
pub trait Watch {
    /// One look; an error ends the service (so that a supervisor such as
    /// systemd restarts the whole unit).
    fn check(&mut self) -> impl Future<Output = Result<(), String>> + Send;

    /// Told when the service begins to stop (to say so to the operator).
    fn stopping(&mut self) {}
}

/// Why the supervised service ended other than by being told to stop.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("kunde inte lyssna efter SIGTERM: {0}")]
    Signal(#[source] std::io::Error),
    #[error("tjänsten stannade oväntat")]
    ServiceEnded,
    #[error("{0}")]
    Watch(String),
}

/// Runs the started API (see [`api::start`]) until SIGTERM or SIGINT,
/// looking through `watch` every `every`; then drains (no new request is
/// taken, every one already taken is answered) and returns `Ok`. A failed
/// look, or a service that ends by itself, returns the error at once.
pub async fn run<W: Watch>(
    started: api::Started,
    watch: &mut W,
    every: Duration,
) -> Result<(), SuperviseError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(SuperviseError::Signal)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut service = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = started.serve_until(shutdown).await {
            tracing::error!(error = %e, "the NATS service stopped");
        }
    });
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => watch.check().await.map_err(SuperviseError::Watch)?,
            _ = &mut service => return Err(SuperviseError::ServiceEnded),
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    tracing::info!("stopping: answering the requests already taken");
    watch.stopping();
    let _ = stop.send(());
    let _ = service.await;
    Ok(())
}
