//! `styr` as a process against a real nats-server: the example, submit and
//! its exit codes, history.

use std::process::{Command, Output};

use styr_testkit::TestNats;

struct Cli {
    nats: TestNats,
}

impl Cli {
    async fn start() -> Self {
        Cli {
            nats: TestNats::start().await,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        // Defaults inside the test's own folder; explicit flags override them.
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env("NATS_URL", self.nats.url())
            .env("STYR_DATA_DIR", self.nats.path("styr"))
            .env("STYR_PROJECTIONS", self.nats.path("styr/projections"))
            .args(args)
            .output()
            .unwrap()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.nats.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

fn validator(rel: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, instance: &serde_json::Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

/// A `--json` answer: parsed, and valid against the service's reply schema.
fn reply(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid(
        &validator("schemas/api/query-reply.json"),
        &v,
        "a --json answer",
    );
    v
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
    assert!(t.contains("127 beslut registrerade"), "{t}");
    // The budget as fastställd, with the investment KS:s årsredovisning left out.
    assert!(
        t.contains("fastställd KF 2025-11-17 § 132") && t.contains("Skattesats 2026: 22:16"),
        "{t}"
    );
    assert!(
        t.contains("KS:s årsredovisning för 2026 följer inte upp investeringen"),
        "{t}"
    );
    assert!(
        t.contains("Miljö- och byggnadsnämnden saknar nämndplan för 2026"),
        "{t}"
    );
    assert!(
        t.contains("UppdragGiven") && t.contains("KF 2025-06-16 § 87"),
        "{t}"
    );
    // Loading again records nothing new.
    assert!(text(&cli.run(&["example"])).contains("0 beslut registrerade, 127 fanns redan"));

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
    // The same key with other content: refused (P6), the first stands.
    let changed = cli.file(
        "changed.json",
        &REPORT.replacen("not_started", "ongoing", 1),
    );
    let out = cli.run(&["submit", "vimmerby", &changed]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("annat innehåll") && text(&out).contains("[P6"),
        "{}",
        text(&out)
    );
    // A mistyped kommun: named, with the kommuner there are (exit 1), and
    // no stream made for it.
    let out = cli.run(&["submit", "vimerby", &ok]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("kommunen vimerby finns inte här")
            && text(&out).contains("kända kommuner: vimmerby"),
        "{}",
        text(&out)
    );
    let out = cli.run(&["health", "vimerby"]);
    assert!(text(&out).contains("ingen ström"), "{}", text(&out));

    // The same kind of decision as YAML.
    let yaml = cli.file(
        "report.yaml",
        "idempotency_key: sbn-2026-09-15-41\n\
         recorded_by: nämndsekreterare\n\
         provenance:\n  decided_by: {kind: body, body: sbn, meeting_date: 2026-09-15, paragraph: '41'}\n  effective_date: 2026-09-15\n\
         command:\n  command: report_uppdrag_status\n  uppdrag: u-2026-04\n  body: sbn\n  as_of: 2026-08-31\n  status: ongoing\n",
    );
    let out = cli.run(&["submit", "vimmerby", &yaml]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("sbn-2026-09-15-41: registrerat"),
        "{}",
        text(&out)
    );
    let bad_yaml = cli.file("bad.yaml", "idempotency_key: [unclosed\n");
    let out = cli.run(&["submit", "vimmerby", &bad_yaml]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("bad.yaml") && text(&out).contains("YAML"),
        "{}",
        text(&out)
    );

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
        ("broken.json", "{ not json", "inte giltig JSON"),
        (
            "unknown.json",
            &REPORT.replace("\"recorded_by\"", "\"recordedby\""),
            "okänt fält",
        ),
        ("types.json", &REPORT.replace("\"33\"}", "33}"), "fel typ"),
    ] {
        let f = cli.file(name, body);
        let out = cli.run(&["submit", "vimmerby", &f]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains(name) && t.contains(expect), "{name}: {t}");
    }
    let out = cli.run(&["submit", "Vimmerby!", &ok]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("gemena tecken a-z"), "{}", text(&out));

    // Nothing of the rejected or malformed submissions was appended: only
    // the JSON and the YAML report follow the first one.
    let out = cli.run(&["history", "vimmerby", "--from", &seq, "--json"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[tokio::test]
async fn queries_live_and_as_of() {
    let cli = Cli::start().await;
    assert!(cli.run(&["example"]).status.success());
    let proj = cli.nats.dir.path().join("proj").display().to_string();
    let q = |args: &[&str]| {
        let mut all = vec!["--projections", proj.as_str()];
        all.extend_from_slice(args);
        cli.run(&all)
    };

    let out = q(&["plan", "vimmerby", "2026", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = reply(&out);
    assert!(
        text(&out).contains("\"kf_goals\": [\n"),
        "the plan is indented like the rest of the answer"
    );
    assert_eq!(plan["query"], "plan");
    assert_eq!(plan["kommun"], "vimmerby");
    assert!(plan["sequence"].as_u64().unwrap() > 100);
    let plan = &plan["result"];
    assert_eq!(plan["budget"]["year"], 2026);
    assert_eq!(plan["kf_goals"].as_array().unwrap().len(), 4);
    // As the service answers it: an indicator's latest 12 values and
    // the count of all (here 14 more recorded on top of the example's).
    let outcomes: Vec<serde_json::Value> = (1..=14)
        .map(|i| {
            serde_json::json!({
                "idempotency_key": format!("behoriga-{i}"), "recorded_by": "exempel-laddning",
                "provenance": {"decided_by": {"kind": "official", "official": "Controller", "unit": "ks-forv", "decision_date": "2026-09-02"}, "effective_date": "2026-09-02"},
                "command": {"command": "record_outcome", "goal": "kf-m2", "indicator": "behoriga-gy", "period": "2026", "value": 80 + i, "source": "test"}
            })
        })
        .collect();
    let file = cli.nats.path("outcomes.json");
    std::fs::write(&file, serde_json::to_vec(&outcomes).unwrap()).unwrap();
    let out = cli.run(&["submit", "vimmerby", &file.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = reply(&q(&["plan", "vimmerby", "2026", "--json"]));
    let goal = plan["result"]["kf_goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "kf-m2")
        .unwrap();
    assert_eq!(
        goal["outcomes"]["behoriga-gy"].as_array().unwrap().len(),
        12
    );
    assert!(goal["outcome_counts"]["behoriga-gy"].as_u64().unwrap() >= 14);
    let t = text(&q(&["plan", "vimmerby", "2026"]));
    assert!(
        t.contains("Barn- och utbildningsnämnden") && t.contains("498600"),
        "{t}"
    );

    let t = text(&q(&["gaps", "vimmerby", "2026", "--today", "2026-11-25"]));
    assert!(
        t.contains("nämnd utan nämndplan") && t.contains("body/mbn"),
        "{t}"
    );

    let t = text(&q(&["audit", "vimmerby", "uppdrag/u-2026-05"]));
    assert!(
        t.contains("UppdragGiven")
            && t.contains("UppdragClosed")
            && t.contains("KF 2026-06-15 § 75"),
        "{t}"
    );
    let out = q(&["audit", "vimmerby", "uppdrag/none"]);
    assert_eq!(out.status.code(), Some(1));

    let t = text(&q(&["chain", "vimmerby", "goal/kf-m2"]));
    assert!(
        t.contains("goal/bun-m1") && t.contains("direction/vision-2030"),
        "{t}"
    );
    // An uppdrag lies below the KF goal it serves, and says so.
    assert!(t.contains("uppdrag/u-2026-03"), "{t}");
    let t = text(&q(&["register", "vimmerby", "uppdrag"]));
    assert!(t.contains("tjänar KF-mål kf-m2"), "{t}");

    // Goals across the organisation: processes, contributions, Agenda 2030.
    let t = text(&q(&["register", "vimmerby", "processer"]));
    assert!(
        t.contains("Etablering av företag (ägare KS)")
            && t.contains("bidrag rtj-barn-2026 RTJ 2026")
            && t.contains("avslutad: sista året 2025"),
        "{t}"
    );
    let t = text(&q(&["chain", "vimmerby", "process/etablering"]));
    assert!(t.contains("contribution/vemab-etab-2026"), "{t}");
    let t = text(&q(&["agenda2030", "vimmerby", "4"]));
    assert!(
        t.contains("God utbildning för alla")
            && t.contains("goal/kf-m2")
            && t.contains("goal/bun-m1"),
        "{t}"
    );
    let a = reply(&q(&["agenda2030", "vimmerby", "8", "--json"]));
    assert_eq!(a["query"], "agenda2030");
    assert_eq!(a["result"]["serving"][0]["path"], "goal/etab-m1");
    // Before the 2026 budget nothing served goal 4.
    let t = text(&q(&[
        "agenda2030",
        "vimmerby",
        "4",
        "--as-of",
        "2025-06-01",
    ]));
    assert!(t.contains("Inget mål och ingen indikator"), "{t}");
    // Balanskravet: the 2027 budget restores its planned deficit for 2029;
    // no årsredovisning has reported a negative result.
    let t = text(&q(&["plan", "vimmerby", "2027"]));
    assert!(
        t.contains("Balanskrav: 12\u{a0}000 tkr av underskottet 2029 återställs 2030"),
        "{t}"
    );
    let t = text(&q(&["register", "vimmerby", "balanskrav"]));
    assert!(t.contains("Inget negativt balanskravsresultat"), "{t}");
    let out = q(&["agenda2030", "vimmerby", "18"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(
        text(&out).contains("ange ett nummer 1–17"),
        "{}",
        text(&out)
    );

    let t = text(&q(&["register", "vimmerby", "avvikelser"]));
    assert!(
        t.contains("dev-2026-01") && t.contains("åtgärdsplan ap-bun-2026-1"),
        "{t}"
    );

    // As of March 2026 the uppdrag had no status and the 2027 budget did not exist.
    let out = q(&[
        "plan",
        "vimmerby",
        "2027",
        "--as-of",
        "2026-03-01",
        "--json",
    ]);
    assert_eq!(reply(&out)["result"]["budget"]["year"], 2026);
    let out = q(&["plan", "vimmerby", "2027", "--json"]);
    assert_eq!(reply(&out)["result"]["budget"]["year"], 2027);
    // Before anything was recorded, nothing.
    let out = q(&[
        "plan",
        "vimmerby",
        "2026",
        "--recorded-at",
        "2000-01-01T00:00:00Z",
        "--json",
    ]);
    assert!(reply(&out)["result"]["budget"].is_null());

    // Every --json answer is the document the service sends, and follows
    // schemas/api/query-reply.json; history lines follow history-line.json.
    for args in [
        &["chain", "vimmerby", "goal/kf-m2", "--json"][..],
        &[
            "gaps",
            "vimmerby",
            "2026",
            "--today",
            "2027-03-01",
            "--json",
        ],
        &["audit", "vimmerby", "uppdrag/u-2026-05", "--json"],
        &[
            "plan",
            "vimmerby",
            "2027",
            "--as-of",
            "2026-12-31",
            "--json",
        ],
    ] {
        let out = q(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        reply(&out);
    }
    for register in [
        "uppdrag",
        "avvikelser",
        "rapporter",
        "intern-kontroll",
        "brister",
        "granskningar",
        "behorigheter",
        "intrang",
        "investeringar",
    ] {
        let out = q(&["register", "vimmerby", register, "--json"]);
        assert!(out.status.success(), "{register}: {}", text(&out));
        let r = reply(&out);
        assert!(r["result"].is_array(), "{register}");
        assert!(r["query"].as_str().unwrap().starts_with("register:"), "{r}");
    }
    let out = q(&["history", "vimmerby", "--json"]);
    let line = validator("schemas/api/history-line.json");
    let mut sequences = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_valid(&line, &v, l);
        sequences.push(v["sequence"].as_u64().unwrap());
    }
    assert!(sequences.windows(2).all(|w| w[1] == w[0] + 1) && sequences[0] == 1);

    // Rebuild prints the same digest the projection had.
    let t1 = text(&q(&["project", "vimmerby"]));
    let t2 = text(&q(&["rebuild", "vimmerby"]));
    let digest = |t: &str| t.rsplit("kontrollsumma ").next().unwrap().trim().to_owned();
    assert_eq!(digest(&t1), digest(&t2));
}

#[tokio::test]
async fn checkpoint_export_verify_replay_and_report_as_a_revisor_would() {
    let cli = Cli::start().await;
    let data = cli.nats.dir.path().join("data").display().to_string();
    let proj = cli.nats.dir.path().join("proj").display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--data-dir", data.as_str(), "--projections", proj.as_str()];
        all.extend_from_slice(args);
        cli.run(&all)
    };
    assert!(run(&["example"]).status.success());
    let out = run(&["checkpoint", "vimmerby"]);
    assert!(out.status.success(), "{}", text(&out));
    // The kommun's key lives in the data folder, one file per key id.
    let keys: Vec<_> = std::fs::read_dir(cli.nats.dir.path().join("data/keys/vimmerby"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].extension().unwrap(), "ed25519");
    let out = run(&["verify", "vimmerby"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("senaste signerade kontrollpunkt"));

    let file = cli
        .nats
        .dir
        .path()
        .join("vimmerby.styrlog")
        .display()
        .to_string();
    assert!(run(&["export", "vimmerby", "-o", &file]).status.success());
    // Offline: no NATS needed for any of these.
    let offline = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env_remove("NATS_URL")
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(offline(&["verify", "--file", &file]).status.code(), Some(0));
    // What a revisor writes down, printed ready to paste: with it the file
    // verifies; with a pin that does not match it does not.
    let key = text(&run(&["key", "vimmerby"]));
    let line = key
        .lines()
        .find(|l| l.contains("--trusted-key"))
        .unwrap_or_else(|| panic!("{key}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| words[words.iter().position(|w| *w == flag).unwrap() + 1].to_owned();
    let (trusted, pin) = (after("--trusted-key"), after("--pin"));
    assert_eq!(trusted.len(), 16, "{key}");
    let out = offline(&[
        "verify",
        "--file",
        &file,
        "--trusted-key",
        &trusted,
        "--pin",
        &pin,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (seq, _) = pin.split_once(':').unwrap();
    let wrong = format!("{seq}:{}", "0".repeat(64));
    let out = offline(&["verify", "--file", &file, "--pin", &wrong]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let replay = text(&offline(&["replay", &file]));
    let rebuild = text(&run(&["rebuild", "vimmerby"]));
    let digest = |t: &str| {
        t.split("kontrollsumma ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(digest(&replay), digest(&rebuild), "{replay}\n{rebuild}");

    // Restore on a new server: the same bytes, so the same history, digest
    // and head; a second restore onto it is refused, nothing added.
    let elsewhere = tempfile::tempdir().unwrap();
    let restore = || {
        embedded(elsewhere.path())
            .args(["restore", "vimmerby", &file])
            .output()
            .unwrap()
    };
    let out = restore();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("som i filen"), "{}", text(&out));
    let restored = embedded(elsewhere.path())
        .args(["rebuild", "vimmerby"])
        .output()
        .unwrap();
    assert_eq!(digest(&text(&restored)), digest(&rebuild));
    let out = restore();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("har redan en historik"),
        "{}",
        text(&out)
    );
    let verified = embedded(elsewhere.path())
        .args(["verify", "vimmerby"])
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    let out = offline(&[
        "plan",
        "vimmerby",
        "2027",
        "--file",
        &file,
        "--as-of",
        "2026-03-01",
        "--json",
    ]);
    let plan = reply(&out);
    assert_eq!(plan["result"]["budget"]["year"], 2026);

    let report_dir = cli.nats.dir.path().join("rapport");
    let out = offline(&[
        "report",
        "vimmerby",
        "2026",
        "--file",
        &file,
        "--today",
        "2027-03-01",
        "--gruppera",
        "agenda2030",
        "-o",
        &report_dir.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let goals = std::fs::read_to_string(report_dir.join("maluppfyllelse.csv")).unwrap();
    assert!(
        goals.starts_with("\u{feff}agenda_2030;mål;") || goals.starts_with("agenda_2030;mål;"),
        "{goals}"
    );
    assert!(
        goals.contains("04 God utbildning för alla;kf-m2;"),
        "{goals}"
    );
    let html = std::fs::read_to_string(report_dir.join("rapport.html")).unwrap();
    assert!(html.contains("class=\"matrix\"") && html.contains("r-behorighet"));
    for f in [
        "rapport.md",
        "rapport.xlsx",
        "andringslogg.csv",
        "risker.csv",
        "kontrollmoment.csv",
        "brister.csv",
        "avvikelser.csv",
        "luckor.csv",
    ] {
        assert!(report_dir.join(f).is_file(), "{f}");
    }
    prints_on_a4(&report_dir.join("rapport.html"), &html);

    // One byte changed in the middle of the file: exit 3, located.
    let original = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    lines[40] = lines[40].replacen("vimmerby", "vimmerbx", 1);
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = offline(&["verify", "--file", &file]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("sekvens 40"), "{}", text(&out));
    assert_eq!(offline(&["replay", &file]).status.code(), Some(3));
    // Nor does a question get an answer from it.
    let out = offline(&["plan", "vimmerby", "2026", "--file", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("håller inte"), "{}", text(&out));
    // The report is still written, saying first where the history breaks,
    // without a log line for every message after the break.
    let broken_dir = cli.nats.dir.path().join("rapport-bruten");
    let out = offline(&[
        "report",
        "vimmerby",
        "2026",
        "--file",
        &file,
        "--today",
        "2027-03-01",
        "-o",
        &broken_dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(broken_dir.join("rapport.md")).unwrap();
    assert!(md.contains("HISTORIKEN HÅLLER INTE"));
    // A file that does not hold is not restored: exit 3, nothing written.
    let empty = tempfile::tempdir().unwrap();
    let out = embedded(empty.path())
        .args(["restore", "vimmerby", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "no server was even started"
    );
}

#[tokio::test]
async fn serve_answers_on_nats_and_signs_checkpoints_by_itself() {
    let cli = Cli::start().await;
    // The same node (data folder, so the same signing keys) as `example`.
    let data = cli.nats.path("styr").display().to_string();
    let proj = cli.nats.dir.path().join("serve-proj").display().to_string();
    assert!(cli.run(&["example"]).status.success());
    assert_eq!(cli.run(&["verify", "nowhere"]).status.code(), Some(1));
    let mut serve = Running(
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env("NATS_URL", cli.nats.url())
            .env("STYR_API_URL", cli.nats.user_url("styr-api"))
            .env("STYR_MONITOR_URL", cli.nats.monitor_url())
            .args([
                "--data-dir",
                &data,
                "--projections",
                &proj,
                "serve",
                "--checkpoint-every",
                "1",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // An application user asks; the service answers in its own account.
    let client = cli.nats.client_as("app").await;
    // Wait for the service by asking it (no sleeping): discovery answers once it is up.
    let mut pong = None;
    for _ in 0..10_000 {
        if let Ok(m) = client.request("$SRV.PING.styrkedja", "".into()).await {
            pong = Some(m);
            break;
        }
    }
    assert!(pong.is_some(), "the service never answered");
    let reply = client
        .request(
            "styrkedja.api.vimmerby.query",
            r#"{"query":{"kind":"plan","year":2026}}"#.into(),
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(v["result"]["budget"]["year"], 2026, "{v}");
    // The first checkpoint tick signs the head: follow the stream until the
    // CheckpointSigned event arrives (at most 30 s), then verify shows it.
    let store = cli.nats.store().await;
    let k = styr_store::KommunId::new("vimmerby").unwrap();
    let records = store
        .follow(&k, styr_store::ChainState::genesis(&k))
        .await
        .unwrap();
    futures::pin_mut!(records);
    let signed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(r) = futures::StreamExt::next(&mut records).await {
            if let styr_store::Record::Event(e) = r.unwrap() {
                if e.envelope.event_type == "CheckpointSigned" {
                    return true;
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(signed, "serve signed no checkpoint");
    let t = text(&cli.run(&["verify", "vimmerby"]));
    assert!(t.contains("senaste signerade kontrollpunkt"), "{t}");
}

/// A process killed when the test ends, however it ends (a failing
/// assertion included), so no test leaves a server behind.
struct Running(std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `styr` on its own data folder, with the embedded server (no NATS_URL).
/// Debian's chromium: on PATH, or installed with apt-get where the tests run
/// as root (as CI does); otherwise the test says what to install.
fn chromium() -> std::path::PathBuf {
    let found = || {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
    };
    if let Some(p) = found() {
        return p;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    assert!(
        root,
        "the print test needs Debian's chromium: apt-get install chromium"
    );
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium"][..],
    ] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(out.status.success(), "apt-get {args:?}: {}", text(&out));
    }
    found().expect("chromium after apt-get install")
}

/// The revisor's HTML in a real headless browser: its screenshot is not a
/// blank page, and printed to PDF (A4) it has a page per section at least.
fn prints_on_a4(html_file: &std::path::Path, html: &str) {
    let browser = chromium();
    let dir = html_file.parent().unwrap();
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let shoot = |page: &std::path::Path, png: &str| {
        let out = Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1200,1600",
            ])
            .arg(format!("--screenshot={}", dir.join(png).display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        std::fs::metadata(dir.join(png)).unwrap().len()
    };
    let empty = shoot(&blank, "blank.png");
    let report = shoot(html_file, "rapport.png");
    assert!(
        report > 10 * empty,
        "the report renders ({report} bytes against a blank page's {empty})"
    );
    let pdf = dir.join("rapport.pdf");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html_file.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let occurrences = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
    // Page objects: `/Type /Page`, not the page tree's `/Type /Pages`.
    let pages = occurrences(b"/Type /Page") - occurrences(b"/Type /Pages")
        + occurrences(b"/Type/Page")
        - occurrences(b"/Type/Pages");
    // A4 is 595 × 842 points.
    let text_of_pdf = String::from_utf8_lossy(&bytes);
    assert!(
        text_of_pdf.contains("/MediaBox [0 0 594.95996 841.91998]")
            || text_of_pdf.contains("/MediaBox [0 0 595")
            || text_of_pdf.contains("/MediaBox [0 0 594.96"),
        "pages are A4: {:?}",
        text_of_pdf
            .find("/MediaBox")
            .map(|i| &text_of_pdf[i..i + 40])
    );
    let sections = html.matches("<section").count();
    assert!(
        pages >= sections && sections > 10,
        "{pages} pages for {sections} sections, each starting a page"
    );
}

fn embedded(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_styr"));
    c.env_remove("NATS_URL")
        .env_remove("STYR_API_URL")
        .env("STYR_PROJECTIONS", data.join("projections"))
        .arg("--data-dir")
        .arg(data);
    c
}

/// Polls an observable condition, at most 30 s: for things only the
/// operating system knows (a process gone, a file written).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("gave up waiting for {what}");
}

fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

fn nats_pid(data: &std::path::Path) -> u32 {
    std::fs::read_to_string(data.join("nats/nats-server.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Starts `styr serve` with its own server on the folder and waits until it
/// says it serves.
fn serve(data: &std::path::Path, name: &str) -> Running {
    std::fs::create_dir_all(data).unwrap();
    let log = data.join(format!("{name}.log"));
    let child = Running(
        embedded(data)
            .arg("--projections")
            .arg(data.join(format!("projections-{name}")))
            .args(["serve", "--checkpoint-every", "3600"])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(data.join(format!("{name}.err"))).unwrap())
            .spawn()
            .unwrap(),
    );
    let read = || {
        std::fs::read_to_string(&log).unwrap_or_default()
            + &std::fs::read_to_string(data.join(format!("{name}.err"))).unwrap_or_default()
    };
    for _ in 0..1500 {
        if read().contains("tjänsten styrkedja svarar") || read().contains("fel:") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(read().contains("tjänsten styrkedja svarar"), "{}", read());
    assert!(
        !read().contains("ansluter till dess nats-server"),
        "{}",
        read()
    );
    child
}

fn submit(data: &std::path::Path, key: &str) -> Output {
    let file = data.join(format!("{key}.json"));
    std::fs::write(&file, REPORT.replace("sbn-2026-06-10-33", key)).unwrap();
    embedded(data)
        .arg("submit")
        .arg("vimmerby")
        .arg(&file)
        .output()
        .unwrap()
}

/// The split-brain sequence that once lost an acknowledged decision: serve
/// killed with -9, restarted on the same folder, a decision through each.
/// The embedded server dies with its `styr`; a second `styr` on a folder in
/// use attaches to its server instead of starting another; SIGTERM stops
/// serve cleanly; every acknowledged decision is there exactly once.
#[tokio::test]
async fn one_data_folder_one_server_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let first = nats_pid(&data);
    assert!(!alive(first), "the example's nats-server outlived it");

    // Serve A; a decision through a second `styr`, which attaches.
    let mut a = serve(&data, "a");
    let server_a = nats_pid(&data);
    let out = submit(&data, "d1");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ansluter till dess nats-server"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("registrerat"), "{}", text(&out));

    // kill -9 of serve: its nats-server goes with it.
    a.kill().unwrap();
    a.wait().unwrap();
    wait_until("A's nats-server to end", || !alive(server_a));

    // Serve B on the same folder; a decision through it.
    let mut b = serve(&data, "b");
    let server_b = nats_pid(&data);
    assert_ne!(server_a, server_b);
    let out = submit(&data, "d2");
    assert!(text(&out).contains("registrerat"), "{}", text(&out));
    // `example` and `report` beside it, on the projection it holds:
    // answered from the stream, folded in memory.
    let beside = |args: &[&str]| {
        embedded(&data)
            .arg("--projections")
            .arg(data.join("projections-b"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = beside(&["example"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 beslut registrerade, 127 fanns redan")
            && text(&out).contains("UppdragGiven"),
        "{}",
        text(&out)
    );
    let report = data.join("rapport");
    let out = beside(&[
        "report",
        "vimmerby",
        "2026",
        "-o",
        &report.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(report.join("rapport.html").is_file());
    // A second serve on the folder refuses (it never starts a second server,
    // nor hangs on to B's), naming the lock.
    let out = embedded(&data).arg("serve").output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("styr.lock"), "{}", text(&out));
    assert_eq!(nats_pid(&data), server_b);
    assert!(alive(server_b));

    // SIGTERM (systemd, docker stop): B stops cleanly, exit 0, server gone.
    let status = Command::new("/bin/kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = b.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    wait_until("B's nats-server to end", || !alive(server_b));

    // Both acknowledged decisions, once each; the history verifies.
    assert_each_once_and_verified(&data, &["d1", "d2"]);
}

/// A `styr` started while another is still starting the folder's server
/// waits for it rather than reading its users' URLs before they are
/// written (here those of a server gone: the folder's last run), and takes
/// the folder itself if the other ends first.
#[tokio::test]
async fn a_styr_waits_for_the_folders_holder_and_takes_the_folder_when_it_ends() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // A `styr` that ended no longer says its server is ready.
    let lock = std::fs::read_to_string(data.join("styr.lock")).unwrap();
    assert!(!lock.contains("ready"), "{lock}");
    // Another `styr` holds the folder and has not said its server is ready.
    let mut held = std::fs::OpenOptions::new()
        .write(true)
        .open(data.join("styr.lock"))
        .unwrap();
    held.lock().unwrap();
    held.set_len(0).unwrap();
    writeln!(held, "4242").unwrap();
    let mut plan = embedded(&data)
        .args(["plan", "vimmerby", "2026"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(plan.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("väntar") {
        assert_ne!(stderr.read_line(&mut said).unwrap(), 0, "{said}");
    }
    assert!(said.contains("process-id 4242"), "{said}");
    // The other ends: the waiting one takes the folder and answers.
    drop(held);
    let out = plan.wait_with_output().unwrap();
    stderr.read_to_string(&mut said).unwrap();
    assert!(out.status.success(), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("KF-mål 2026"),
        "{said}"
    );
}

/// Every acknowledged key is in vimmerby's history exactly once, and the
/// history verifies.
fn assert_each_once_and_verified(data: &std::path::Path, acknowledged: &[&str]) {
    let history = embedded(data)
        .args(["history", "vimmerby", "--json"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&history.stdout);
    for key in acknowledged {
        let n = lines
            .lines()
            .filter(|l| l.contains(&format!("\"idempotency_key\":\"{key}\"")))
            .count();
        assert_eq!(n, 1, "{key} acknowledged, recorded {n} times");
    }
    let out = embedded(data)
        .args(["verify", "vimmerby"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Mistakes that once looked like success: each is now an error with its
/// own exit code that names what was wrong.
#[tokio::test]
async fn mistakes_are_errors_that_say_what_is_wrong() {
    let cli = Cli::start().await;
    assert!(cli.run(&["example"]).status.success());
    // A mistyped kommun: exit 1, named, with the kommuner that exist.
    for args in [
        vec!["plan", "vimerby", "2026"],
        vec!["gaps", "vimerby", "2026"],
        vec!["history", "vimerby"],
        vec!["verify", "vimerby"],
    ] {
        let out = cli.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("vimerby finns inte") && text(&out).contains("vimmerby"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let file = cli.nats.path("x.styrlog").display().to_string();
    assert_eq!(
        cli.run(&["export", "vimerby", "-o", &file]).status.code(),
        Some(1)
    );
    // Usage errors: 64, not the 2 of a rejected decision.
    assert_eq!(cli.run(&["plan", "vimmerby"]).status.code(), Some(64));
    assert_eq!(cli.run(&["no-such-verb"]).status.code(), Some(64));
    assert_eq!(cli.run(&["--help"]).status.code(), Some(0));
    // An impossible date names its field; a key given twice is refused.
    for (name, from, to, expect) in [
        (
            "date.json",
            "\"effective_date\": \"2026-06-10\"",
            "\"effective_date\": \"2026-06-31\"",
            "provenance.effective_date",
        ),
        (
            "twice.json",
            "\"idempotency_key\": \"sbn-2026-06-10-33\",",
            "\"idempotency_key\": \"a\", \"idempotency_key\": \"b\",",
            "fältet `idempotency_key` finns två gånger",
        ),
    ] {
        let file = cli.file(name, &REPORT.replace(from, to));
        let out = cli.run(&["submit", "vimmerby", &file]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        assert!(text(&out).contains(expect), "{name}: {}", text(&out));
    }
    // An unreachable server is named.
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env("NATS_URL", "nats://127.0.0.1:9")
        .args(["plan", "vimmerby", "2026"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("127.0.0.1:9"), "{}", text(&out));
}

/// The projections live under the data folder unless told otherwise.
#[tokio::test]
async fn the_data_folder_holds_the_projections() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("elsewhere");
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env_remove("NATS_URL")
        .env_remove("STYR_PROJECTIONS")
        .arg("--data-dir")
        .arg(&data)
        .arg("example")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(data.join("projections/STYRKEDJA-PROJEKTION").is_file());
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env_remove("NATS_URL")
        .env_remove("STYR_PROJECTIONS")
        .arg("--data-dir")
        .arg(&data)
        .args(["plan", "vimmerby", "2026"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// When its nats-server dies, serve notices and exits non-zero, so that a
/// supervisor restarts it, instead of running on without a server.
#[tokio::test]
async fn serve_exits_when_its_server_dies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = serve(&data, "s");
    let pid = nats_pid(&data);
    let status = Command::new("/bin/kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    wait_until("serve to notice", || {
        exited = s.try_wait().unwrap();
        exited.is_some()
    });
    assert_ne!(exited.unwrap().code(), Some(0));
    let err = std::fs::read_to_string(data.join("s.err")).unwrap();
    assert!(err.contains("har avslutats oväntat"), "{err}");
}

/// A tmpfs mounted for one test, unmounted when it ends.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The data folder on a 24 MiB tmpfs, filled up while decisions come in:
/// submissions are answered "no space" (507), nothing acknowledged is lost,
/// and once space returns the service records again by itself (it restarts
/// its server, whose JetStream would otherwise store nothing more).
#[tokio::test]
async fn a_full_disk_is_answered_and_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(&mnt)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: a_full_disk_is_answered_and_recovered_from needs to mount a tmpfs (root); {mounted:?}"
        );
        return;
    }
    let _tmpfs = Tmpfs(mnt.clone());
    let data = mnt.join("d");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut s = serve(&data, "s");
    let grant = data.join("grant.json");
    std::fs::write(
        &grant,
        r#"{"idempotency_key":"g-app","provenance":{"decided_by":{"kind":"body","body":"ks","meeting_date":"2026-06-15","paragraph":"5"},"effective_date":"2026-06-15"},"command":{"command":"grant_access","identity":"app","access":{"kind":"body","body":"bun"}}}"#,
    )
    .unwrap();
    let out = embedded(&data)
        .arg("submit")
        .arg("vimmerby")
        .arg(&grant)
        .output()
        .unwrap();
    assert!(text(&out).contains("registrerat"), "{}", text(&out));

    let url = std::fs::read_to_string(data.join("credentials/app.url")).unwrap();
    let (address, options) = styr_store::connect_options(url.trim());
    let app = options
        .request_timeout(Some(std::time::Duration::from_secs(3)))
        .connect(address)
        .await
        .unwrap();
    let submit = |key: String| {
        let app = app.clone();
        async move {
            let body = serde_json::json!({"idempotency_key": key,
                "provenance": {"decided_by": {"kind": "body", "body": "bun", "meeting_date": "2026-06-15", "paragraph": "80"}, "effective_date": "2026-06-15"},
                "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": "bun", "as_of": "2026-05-31", "status": "ongoing", "reason": "x".repeat(4000)}});
            app.request(
                "styrkedja.api.vimmerby.submit",
                serde_json::to_vec(&body).unwrap().into(),
            )
            .await
            .ok()
            .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).ok())
        }
    };
    // Fill the disk to the last byte.
    {
        use std::io::Write;
        let mut ballast = std::fs::File::create(mnt.join("ballast")).unwrap();
        let chunk = vec![0u8; 1 << 20];
        while ballast.write_all(&chunk).is_ok() {}
        let _ = ballast.write_all(&[0u8; 4096]);
    }
    let mut acknowledged = Vec::new();
    let mut no_space = 0;
    for i in 0..200 {
        let key = format!("full-{i}");
        match submit(key.clone()).await {
            Some(r) if r["outcome"] == "recorded" => acknowledged.push(key),
            Some(r) if r["error"]["kind"] == "no_space" => no_space += 1,
            _ => {}
        }
        if no_space >= 3 {
            break;
        }
    }
    assert!(no_space >= 3, "no submission was answered 'no space'");
    // Space returns: the service records again by itself.
    std::fs::remove_file(mnt.join("ballast")).unwrap();
    // A client retries as any client would: with a pause, at most a minute.
    let mut recovered = false;
    for i in 0..300 {
        let key = format!("after-{i}");
        if let Some(r) = submit(key.clone()).await {
            if r["outcome"] == "recorded" {
                acknowledged.push(key);
                recovered = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "the service did not record again after space returned"
    );
    let status = Command::new("/bin/kill")
        .args(["-TERM", &s.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(s.wait().unwrap().code(), Some(0));

    let keys: Vec<&str> = acknowledged.iter().map(String::as_str).collect();
    assert_each_once_and_verified(&data, &keys);
}

/// The projection is a cache: damaged on disk (truncated, bytes flipped,
/// garbage, a broken configuration), it gives the same answer as an
/// undamaged one, rebuilding itself where it must.
#[tokio::test]
async fn a_damaged_projection_answers_as_a_clean_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let plan = || {
        embedded(&data)
            .args(["plan", "vimmerby", "2026", "--json"])
            .output()
            .unwrap()
    };
    let clean = plan();
    assert!(clean.status.success());
    let proj = data.join("projections");
    let pristine = dir.path().join("pristine");
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            } else {
                copy_dir(&e.path(), &to.join(e.file_name()));
            }
        }
    };
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    copy(&proj, &pristine);
    let db_len = std::fs::metadata(pristine.join("db")).unwrap().len();
    type Damage = Box<dyn Fn(&std::path::Path)>;
    let mut damages: Vec<(String, Damage)> = Vec::new();
    for fraction in [0u64, 1, 2, 3] {
        damages.push((
            format!("db truncated to {fraction}/4"),
            Box::new(move |p| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(p.join("db"))
                    .unwrap();
                f.set_len(db_len * fraction / 4).unwrap();
            }),
        ));
    }
    let spread = (1..10).map(|i| db_len * i / 10);
    for offset in [16u64, 512, db_len / 3, db_len - 100]
        .into_iter()
        .chain(spread)
    {
        damages.push((
            format!("db byte {offset} flipped"),
            Box::new(move |p| {
                let mut b = std::fs::read(p.join("db")).unwrap();
                b[offset as usize] ^= 0xff;
                std::fs::write(p.join("db"), b).unwrap();
            }),
        ));
    }
    damages.push((
        "db garbage".into(),
        Box::new(|p| std::fs::write(p.join("db"), vec![0x5a; 100_000]).unwrap()),
    ));
    damages.push((
        "conf garbage".into(),
        Box::new(|p| std::fs::write(p.join("conf"), "garbage").unwrap()),
    ));
    damages.push((
        "conf empty".into(),
        Box::new(|p| std::fs::write(p.join("conf"), "").unwrap()),
    ));
    for (name, damage) in &damages {
        copy(&pristine, &proj);
        damage(&proj);
        let out = plan();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        assert_eq!(out.stdout, clean.stdout, "{name}: a different answer");
    }
}

/// nats-py, pinned, in the project's own tools folder (installed once, as
/// nats-server is).
fn nats_py() -> std::path::PathBuf {
    styr_natsrun::install_from_pypi("nats-py", "2.16.0").expect("nats-py from PyPI")
}

/// The trust boundary tried from outside Rust: tests/outsider/attack.py
/// (nats-py) against a running `styr serve` with the embedded server.
#[tokio::test]
async fn an_outsider_with_nats_py_cannot_break_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let _serve = serve(&data, "s");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/outsider/attack.py");
    let out = Command::new("python3")
        .arg(script)
        .env("PYTHONPATH", nats_py())
        .env("STYR_CREDENTIALS", data.join("credentials"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("FAIL"), "{}", text(&out));
}

/// An operator adds a nämnd's secretary; after a restart of serve, the
/// secretary logs in with the credentials file and may query.
#[tokio::test]
async fn an_operator_adds_a_user_who_then_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    assert!(embedded(&data)
        .arg("example")
        .output()
        .unwrap()
        .status
        .success());
    let users = |args: &[&str]| {
        embedded(&data)
            .arg("users")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(users(&["add", "bun-sekreterare"]), Some(0));
    // Taken, not a name, or a name that already records locally (and may
    // be administrator): refused.
    for name in ["bun-sekreterare", "bad name", "lokal-operator"] {
        assert_eq!(users(&["add", name]), Some(1), "{name}");
    }
    let list = text(&embedded(&data).args(["users", "list"]).output().unwrap());
    assert!(
        list.contains("bun-sekreterare") && list.contains("revisor"),
        "{list}"
    );
    assert!(!list.contains("password"), "{list}");
    let _serve = serve(&data, "s");
    let url = std::fs::read_to_string(data.join("credentials/bun-sekreterare.url")).unwrap();
    let client = styr_testkit::connect(url.trim()).await.unwrap();
    let reply = client
        .request(
            "styrkedja.api.vimmerby.query",
            r#"{"query":{"kind":"plan","year":2026}}"#.into(),
        )
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(v["result"]["budget"]["year"], 2026, "{v}");
}

/// Logs for a collector: one JSON object per line when asked; never colour
/// codes when stderr is not a terminal.
#[test]
fn logs_are_json_when_asked_and_plain_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let out = embedded(&dir.path().join("d"))
        .env("STYR_LOG", "info")
        .env("STYR_LOG_FORMAT", "json")
        .arg("example")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        logs.iter()
            .any(|l| l["level"] == "INFO" && l["target"] == "styr_natsrun"),
        "{stderr}"
    );
    let out = embedded(&dir.path().join("d"))
        .env("STYR_LOG", "info")
        .args(["verify", "vimmerby"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INFO"));
    assert!(
        !out.stderr.contains(&0x1b),
        "no ANSI escapes off a terminal"
    );
}

/// `--port` (STYR_PORT) fixes the embedded server's address across
/// restarts; the credentials files say it.
#[test]
fn the_embedded_server_listens_where_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let port = styr_testkit::free_port();
    for _ in 0..2 {
        let out = embedded(&data)
            .env("STYR_PORT", port.to_string())
            .args(["users", "list"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let out = embedded(&data)
            .args(["--port", &port.to_string(), "verify", "nowhere"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let url = std::fs::read_to_string(data.join("credentials/app.url")).unwrap();
        assert!(url.trim().ends_with(&format!("@127.0.0.1:{port}")), "{url}");
    }
}

/// `styr health` for a probe: 0 with every kommun's stream in quorum and the
/// projection's lag and last checkpoint shown; 4 for a kommun with no stream.
#[tokio::test]
async fn health_says_per_kommun_whether_its_stream_can_commit() {
    let cli = Cli::start().await;
    assert!(cli.run(&["example"]).status.success());
    assert!(cli.run(&["checkpoint", "vimmerby"]).status.success());
    assert!(cli.run(&["project", "vimmerby"]).status.success());
    let out = cli.run(&["health"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = text(&out);
    assert!(
        table.contains("vimmerby") && table.contains("kvorum"),
        "{table}"
    );
    let out = cli.run(&["health", "vimmerby", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["quorum"], true);
    assert_eq!(h["replicas"], 1);
    assert_eq!(h["projection_lag"], 0, "{h}");
    assert!(h["last_checkpoint_age_seconds"].as_i64().unwrap() >= 0);
    let out = cli.run(&["health", "vimerby"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("ingen ström"), "{}", text(&out));
}

/// An installed `styr` finds its tools folder at run time; where pip cannot
/// be run, the error says what to install instead of failing silently.
#[test]
fn a_machine_without_pip_is_told_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = embedded(&dir.path().join("data"))
        .env_remove("STYR_NATS_SERVER")
        .env("PYTHON", dir.path().join("no-python-here"))
        .arg("--tools-dir")
        .arg(dir.path().join("tools"))
        .args(["plan", "vimmerby", "2026"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("installera Python 3 med pip"), "{said}");
    assert!(said.contains("STYR_NATS_SERVER"), "{said}");
}

/// `styr serve` against a server it does not run first checks that
/// JetStream fsyncs every write (the monitoring endpoint's /varz): a server
/// that does not is refused, as is one it cannot ask, unless the operator
/// says `--allow-unsafe-fsync`.
#[tokio::test]
async fn serve_refuses_a_server_that_does_not_fsync_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let unsafe_server = styr_natsrun::NatsServer::start(styr_natsrun::ServerOptions {
        sync_always: false,
        monitor: true,
        ..styr_natsrun::ServerOptions::new(dir.path().join("nats"))
    })
    .await
    .unwrap();
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env("NATS_URL", unsafe_server.url())
            .env("STYR_API_URL", unsafe_server.url())
            .env_remove("STYR_MONITOR_URL")
            .env_remove("STYR_ALLOW_UNSAFE_FSYNC")
            .arg("--data-dir")
            .arg(dir.path().join("styr"))
            .args(extra)
            .args(["serve"])
            .output()
            .unwrap()
    };
    let monitor = unsafe_server.monitor_url().unwrap();
    let out = serve(&["--monitor-url", &monitor]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("fsyncar inte varje skrivning"),
        "{}",
        text(&out)
    );
    let out = serve(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--monitor-url"), "{}", text(&out));
}

/// SIGTERM to `styr serve` in the middle of a burst of requests: every
/// request is answered or refused at once (none waits for its time-out),
/// serve exits 0, and its nats-server is gone with it.
#[tokio::test]
async fn sigterm_under_load_answers_everything_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = embedded(&data).arg("example").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let mut serving = serve(&data, "a");
    let server = nats_pid(&data);
    let url = std::fs::read_to_string(data.join("credentials/app.url")).unwrap();
    let (address, options) = styr_store::connect_options(url.trim());
    // A lost request would wait out this time-out and fail the count; a
    // slow machine answering 300 plans in debug builds needs more than 5 s.
    let client = options
        .request_timeout(Some(std::time::Duration::from_secs(30)))
        .connect(address)
        .await
        .unwrap();
    let burst = styr_testkit::plan_query_burst(&client, 300).await;
    let status = Command::new("/bin/kill")
        .args(["-TERM", &serving.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // After serve unsubscribed, a request is refused at once.
    let (answered, _) = styr_testkit::count_plan_answers(burst).await;
    assert!(answered > 0);
    let exit = serving.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    wait_until("serve's nats-server to end", || !alive(server));
}

/// An operator's configuration file: every option by its flag's name, the
/// command line and the environment before it; `serve` publishes metrics
/// for Prometheus where the file says. A key no command knows is a usage
/// error that names it.
#[tokio::test]
async fn serve_reads_its_config_file_and_publishes_metrics() {
    let cli = Cli::start().await;
    assert!(cli.run(&["example"]).status.success());
    let metrics_port = styr_testkit::free_port();
    let config = cli.file(
        "styr.toml",
        &format!(
            "# styr serve on this node\napi-url = \"{}\"\nmonitor-url = \"{}\"\nprojections = \"{}\"\ncheckpoint-every = 3600\nmetrics-addr = \"127.0.0.1:{metrics_port}\"\nregistrar = [\"kansli\", \"app\"]\n",
            cli.nats.user_url("styr-api"),
            cli.nats.monitor_url(),
            cli.nats.path("serve-proj").display(),
        ),
    );
    let mut serve = Running(
        Command::new(env!("CARGO_BIN_EXE_styr"))
            .env("NATS_URL", cli.nats.url())
            .env("STYR_DATA_DIR", cli.nats.path("styr"))
            .env_remove("STYR_API_URL")
            .env_remove("STYR_MONITOR_URL")
            .env_remove("STYR_PROJECTIONS")
            .args(["--config", &config, "serve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = cli.nats.client_as("app").await;
    let mut up = false;
    for _ in 0..10_000 {
        if client
            .request("$SRV.PING.styrkedja", "".into())
            .await
            .is_ok()
        {
            up = true;
            break;
        }
    }
    assert!(up, "the service never answered");
    // One rejected decision (app has no grant in vimmerby) and one query.
    let rejected = client
        .request(
            "styrkedja.api.vimmerby.submit",
            REPORT
                .replace("sbn-2026-06-10-33", "m1")
                .into_bytes()
                .into(),
        )
        .await
        .unwrap();
    let rejected: serde_json::Value = serde_json::from_slice(&rejected.payload).unwrap();
    assert_eq!(rejected["outcome"], "rejected", "{rejected}");
    client
        .request(
            "styrkedja.api.vimmerby.query",
            r#"{"query":{"kind":"plan","year":2026}}"#.into(),
        )
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut metrics = String::new();
    for _ in 0..500 {
        metrics = ureq::get(&url)
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default();
        if metrics.contains("styr_projection_lag_events{kommun=\"vimmerby\"}") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for expected in [
        "styr_submissions_total{outcome=\"rejected\"} 1",
        "styr_rejections_total{rule=\"P1\"} 1",
        "styr_request_seconds_bucket{endpoint=\"query\",le=",
        "styr_request_seconds_count{endpoint=\"submit\"} 1",
        "styr_projection_lag_events{kommun=\"vimmerby\"}",
    ] {
        assert!(metrics.contains(expected), "{expected} in\n{metrics}");
    }
    serve.kill().unwrap();
    serve.wait().unwrap();

    // A mistyped key: a usage error naming it, nothing started.
    let bad = cli.file("bad.toml", "nats-ulr = \"nats://x\"\n");
    let out = cli.run(&["--config", &bad, "health"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("`nats-ulr`"), "{}", text(&out));
    // The command line wins over the file: the file's kommun server is
    // wrong, the flag's is right.
    let wrong = cli.file("wrong.toml", "nats-url = \"nats://127.0.0.1:1\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env_remove("NATS_URL")
        .env("STYR_DATA_DIR", cli.nats.path("styr"))
        .args(["--config", &wrong, "--nats-url", &cli.nats.url(), "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The environment wins over the file too.
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env("NATS_URL", cli.nats.url())
        .env("STYR_DATA_DIR", cli.nats.path("styr"))
        .args(["--config", &wrong, "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // And the file is used where nothing else says: it names a server
    // that is not there, and the error names it.
    let out = Command::new(env!("CARGO_BIN_EXE_styr"))
        .env_remove("NATS_URL")
        .env("STYR_DATA_DIR", cli.nats.path("styr"))
        .args(["--config", &wrong, "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("127.0.0.1:1"), "{}", text(&out));
    // A nested command's option (`import kolada --enhet`) is a known key.
    let nested = cli.file(
        "nested.toml",
        "enhet = \"ks-forv\"\ntjansteperson = \"Controller\"\n",
    );
    let out = cli.run(&["--config", &nested, "health"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// `styr` against a server that requires TLS, trusting the CA made by
/// `deploy/tls/make-test-certs.sh`: without `--tls-ca` it cannot connect
/// and says so; with it, the example loads and health reads the stream.
#[tokio::test]
async fn styr_speaks_tls_with_the_ca_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/tls/make-test-certs.sh");
    let made = Command::new(script)
        .arg(&certs)
        .arg("styr-1")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let node = certs.join("styr-1");
    let server = styr_natsrun::NatsServer::start(
        styr_natsrun::ServerOptions::new(dir.path().join("nats")).with_config(format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n}}\n",
            node.join("node.pem").display(),
            node.join("node-key.pem").display()
        )),
    )
    .await
    .unwrap();
    let url = format!("tls://localhost:{}", server.port());
    let styr = |args: &[&str], ca: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_styr"));
        c.env_remove("STYR_TLS_CA")
            .env("NATS_URL", &url)
            .env("STYR_DATA_DIR", dir.path().join("styr"));
        if ca {
            c.arg("--tls-ca").arg(certs.join("ca.pem"));
        }
        c.args(args).output().unwrap()
    };
    let out = styr(&["health"], false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("kunde inte ansluta"), "{}", text(&out));
    let out = styr(&["example"], true);
    assert!(out.status.success(), "{}", text(&out));
    let out = styr(&["health", "vimmerby"], true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Kolada's answer as it comes: the values land on the indicators that
/// name their nyckeltal, with kpi, kommunkod and status; a re-import adds
/// nothing; another kommun's file is refused with nothing appended; a
/// revised value stands beside the old one, and `--recorded-at` before it
/// shows only the old.
#[tokio::test]
async fn kolada_files_import_as_they_come() {
    let cli = Cli::start().await;
    assert!(cli.run(&["example"]).status.success());
    let fixture = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/kolada")
            .join(name)
            .display()
            .to_string()
    };
    let import = |file: &str, extra: &[&str]| {
        let mut args = vec![
            "import",
            "kolada",
            "vimmerby",
            file,
            "--tjansteperson",
            "Controller",
            "--enhet",
            "ks-forv",
        ];
        args.extend_from_slice(extra);
        cli.run(&args)
    };
    let head = |cli: &Cli| {
        let out = cli.run(&["history", "vimmerby", "--json"]);
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let before = head(&cli);
    let first = fixture("vimmerby-2025.json");
    let out = import(&first, &["--hamtad", "2026-03-05T06:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("N00002"), "{}", text(&out));
    assert!(
        text(&out).contains("4 värden registrerade"),
        "{}",
        text(&out)
    );
    assert_eq!(head(&cli), before + 1);
    let between = chrono::Utc::now().to_rfc3339();

    // The same file again: nothing new.
    let out = import(&first, &["--hamtad", "2026-03-05T06:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("inget nytt"), "{}", text(&out));
    assert_eq!(head(&cli), before + 1);
    // Another kommun's file: refused, naming the row, nothing appended.
    let out = import(&fixture("gotene-2025.json"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("rows[0].municipality") && text(&out).contains("1471"),
        "{}",
        text(&out)
    );
    assert_eq!(head(&cli), before + 1);
    // A revised value: recorded beside the old one.
    let out = import(
        &fixture("vimmerby-2025-reviderad.json"),
        &["--hamtad", "2026-06-10T06:00:00Z"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(head(&cli), before + 2);

    let kolada_values = |extra: &[&str]| -> Vec<(f64, String)> {
        let mut args = vec!["register", "vimmerby", "mal", "--json"];
        args.extend_from_slice(extra);
        let v = reply(&cli.run(&args));
        let goal = v["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == "kf-m2")
            .unwrap()
            .clone();
        goal["outcomes"]["behoriga-gy"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o.get("kolada").is_some())
            .map(|o| {
                assert_eq!(o["kolada"]["kpi"], "N15428");
                assert_eq!(o["kolada"]["kommunkod"], "0884");
                (
                    o["value"].as_f64().unwrap(),
                    o["fetched_at"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // The example's own import first, then these two.
    let example = (84.6, "2026-09-15T06:00:00Z".to_owned());
    assert_eq!(
        kolada_values(&[]),
        vec![
            example.clone(),
            (67.4, "2026-03-05T06:00:00Z".to_owned()),
            (68.1, "2026-06-10T06:00:00Z".to_owned())
        ]
    );
    assert_eq!(
        kolada_values(&["--recorded-at", &between]),
        vec![example, (67.4, "2026-03-05T06:00:00Z".to_owned())]
    );
}

#[tokio::test]
async fn the_gotene_example_has_one_forvaltning_serving_several_namnder() {
    let cli = Cli::start().await;
    let out = cli.run(&["example", "--exempel", "gotene"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("Götene kommun (gotene): 28 beslut registrerade"),
        "{t}"
    );
    // The tree: KS's förvaltning, a sektor answering to BUN, a unit to two.
    assert!(t.contains("Kommunförvaltningen (förvaltning) — KS"), "{t}");
    assert!(
        t.contains("Sektor barn och utbildning (sektor) — svarar inför BUN: Förskola, grundskola och gymnasium"),
        "{t}"
    );
    assert!(
        t.contains(
            "Svarar inför flera nämnder: Elevhälsan (BUN, SN); Sektor samhällsbyggnad (MBN, KS)"
        ),
        "{t}"
    );
    // Each nämnd's detaljbudget uses the units that answer to it, Elevhälsan in two.
    assert!(t.contains("BUN  elevhalsan 28\u{a0}000"), "{t}");
    assert!(t.contains("SN   elevhalsan 6\u{a0}000"), "{t}");
    // The styrkedja runs from KF's goal to the enhetsplan the sektorschef adopted for BUN.
    assert!(
        t.contains("aktivitet sprakutveckling (ep-kallby-2026, forskola-kallby)"),
        "{t}"
    );
    // The deviation at Elevhälsan against SN's detaljbudget is SN's.
    let reg = text(&cli.run(&["register", "gotene", "avvikelser"]));
    assert!(reg.contains("dev-2026-elevhalsan elevhalsan (SN)"), "{reg}");
    let units = text(&cli.run(&["register", "gotene", "enheter"]));
    assert!(
        units.contains("Elevhälsan (ansvarsenhet i KS:s förvaltning, under sektor-bou)")
            && units.contains("svarar inför SN för Skolsocialt arbete"),
        "{units}"
    );
    let chain = text(&cli.run(&["chain", "gotene", "body/sn"]));
    assert!(chain.contains("Elevhälsan"), "{chain}");
}
