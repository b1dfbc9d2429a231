//! `styr` as a process against a real nats-server: the example, submit and
//! its exit codes, history.

use std::process::{Command, Output};

use styr_natsrun::{NatsServer, ServerOptions};

struct Cli {
    server: NatsServer,
    dir: tempfile::TempDir,
}

impl Cli {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = NatsServer::start(ServerOptions::new(dir.path().join("nats")))
            .await
            .unwrap();
        Cli { server, dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env("NATS_URL", self.server.url())
            .args(args)
            .output()
            .unwrap()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const REPORT: &str = r#"{
  "idempotency_key": "sbn-2026-06-10-33", "recorded_by": "nämndsekreterare",
  "provenance": {"decided_by": {"kind": "body", "body": "sbn", "meeting_date": "2026-06-10", "paragraph": "33"}, "effective_date": "2026-06-10"},
  "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-04", "body": "sbn", "as_of": "2026-05-31", "status": "not_started"}
}"#;

#[tokio::test]
async fn example_then_submit_with_exit_codes() {
    let cli = Cli::start().await;
    let out = cli.run(&["example"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("98 beslut registrerade"), "{t}");
    assert!(
        t.contains("nämnder utan nämndplan: Miljö- och byggnadsnämnden"),
        "{t}"
    );
    assert!(
        t.contains("UppdragGiven") && t.contains("KF 2025-06-16 § 87"),
        "{t}"
    );
    // Loading again records nothing new.
    assert!(text(&cli.run(&["example"])).contains("0 beslut registrerade, 98 fanns redan"));

    let ok = cli.file("report.json", REPORT);
    let out = cli.run(&["submit", "vimmerby", &ok]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    let seq: String = t
        .split("registrerat, sekvens ")
        .nth(1)
        .expect("a recorded sequence")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let out = cli.run(&["submit", "vimmerby", &ok]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("fanns redan"));

    // Rejected by a rule: exit 2, names file, field and rule; nothing appended.
    let rejected = cli.file(
        "wrong-body.json",
        &REPORT.replace("sbn-2026-06-10-33", "k2").replace(
            "\"body\": \"sbn\", \"as_of\"",
            "\"body\": \"kfn\", \"as_of\"",
        ),
    );
    let out = cli.run(&["submit", "vimmerby", &rejected]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("wrong-body.json") && t.contains("body") && t.contains("P1"),
        "{t}"
    );

    // Malformed input: exit 1 with the file and the problem.
    for (name, body, expect) in [
        ("broken.json", "{ not json", "not valid JSON"),
        (
            "unknown.json",
            &REPORT.replace("\"recorded_by\"", "\"recordedby\""),
            "unknown field",
        ),
        (
            "types.json",
            &REPORT.replace("\"33\"}", "33}"),
            "invalid type",
        ),
    ] {
        let f = cli.file(name, body);
        let out = cli.run(&["submit", "vimmerby", &f]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains(name) && t.contains(expect), "{name}: {t}");
    }
    let out = cli.run(&["submit", "Vimmerby!", &ok]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("slug"));

    // Nothing of the rejected or malformed submissions was appended.
    let out = cli.run(&["history", "vimmerby", "--from", &seq, "--json"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
