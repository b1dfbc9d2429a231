//! The projector killed between view writes: restarted, it gives exactly the
//! view a clean rebuild gives. Needs the `failpoints` feature (the test
//! command, `cargo test --workspace --all-features`, enables it).
#![cfg(feature = "failpoints")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use styr_projections::Projector;
use styr_store::KommunId;
use styr_testkit::TestNats;

fn styr(nats: &TestNats, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_styr"));
    c.env("NATS_URL", nats.url())
        .env("STYR_DATA_DIR", nats.path("styr"))
        .env("STYR_PROJECTIONS", nats.path("styr/projections"))
        .args(args);
    c
}

#[tokio::test]
async fn a_killed_projector_resumes_to_the_same_view_as_a_rebuild() {
    let nats = TestNats::start().await;
    assert!(styr(&nats, &["example"]).output().unwrap().status.success());
    let k = KommunId::new("vimmerby").unwrap();
    let store = nats.store().await;
    let clean = Projector::open(nats.path("clean")).unwrap();
    let last = clean.rebuild(&store, &k).await.unwrap();
    let want = clean.digest(&k).unwrap();

    // 1. Aborted (no unwinding, no flush) right after its seventh batch of five.
    let proj = nats.path("crashed");
    let proj_arg = proj.display().to_string();
    let out = styr(
        &nats,
        &[
            "--projections",
            &proj_arg,
            "project",
            "vimmerby",
            "--flush-every",
            "5",
        ],
    )
    .env("STYR_CRASH_AFTER_BATCHES", "7")
    .output()
    .unwrap();
    assert!(!out.status.success(), "the failpoint aborts the process");
    assert!(String::from_utf8_lossy(&out.stdout).contains("projicerat till sekvens 35"));
    {
        let p = Projector::open(&proj).unwrap();
        let cp = p.checkpoint(&k).unwrap().map_or(0, |c| c.sequence);
        assert!(
            cp <= 35 && cp.is_multiple_of(5),
            "a checkpoint only ever lands with its whole batch: {cp}"
        );
        assert_eq!(p.catch_up(&store, &k).await.unwrap(), last);
        assert_eq!(p.digest(&k).unwrap(), want);
    }

    // 2. SIGKILL from outside while it projects one event per batch.
    let proj = nats.path("killed");
    let proj_arg = proj.display().to_string();
    let mut child = styr(
        &nats,
        &[
            "--projections",
            &proj_arg,
            "project",
            "vimmerby",
            "--follow",
            "--flush-every",
            "1",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap() == "projicerat till sekvens 60" {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let p = Projector::open(&proj).unwrap();
    assert_eq!(p.catch_up(&store, &k).await.unwrap(), last);
    assert_eq!(p.digest(&k).unwrap(), want);
}
