//! The committed schemas match the Rust types, and golden examples validate.

use std::path::Path;

use serde_json::Value;
use styr_domain::{EventMeta, KommunState};
use styr_service::{example, schemas};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn load(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_schemas_match_the_types() {
    let update = std::env::var_os("STYR_UPDATE_SCHEMAS").is_some();
    let generated = schemas::generate();
    let mut stale = Vec::new();
    for (path, text) in &generated {
        let full = root().join(path);
        if std::fs::read_to_string(&full).ok().as_deref() != Some(text.as_str()) {
            // Rewritten when asked, and reported all the same: a run that
            // changed the committed files never passes (so CI cannot pass
            // by rewriting them).
            if update {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, text).unwrap();
            }
            stale.push(path.clone());
        }
    }
    // No schema file without a type behind it.
    for dir in ["schemas/commands", "schemas/events"] {
        for entry in std::fs::read_dir(root().join(dir)).into_iter().flatten() {
            let name = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            if !generated.contains_key(&name) {
                if update {
                    std::fs::remove_file(root().join(&name)).unwrap();
                }
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "schemas drifted from the types: {stale:?}\nupdate with: STYR_UPDATE_SCHEMAS=1 cargo test -p styr-service --test it schemas (it rewrites them and still fails once; run it again)"
    );
}

#[test]
fn the_example_uses_every_command_and_event_but_rattelse() {
    // A rättelse names a recorded event id, which a static example cannot know.
    let generated = schemas::generate();
    let names = |prefix: &str, suffix: &str| -> std::collections::BTreeSet<String> {
        generated
            .keys()
            .filter_map(|k| {
                k.strip_prefix(prefix)?
                    .strip_suffix(suffix)
                    .map(str::to_owned)
            })
            .collect()
    };
    let commands = names("schemas/commands/", ".json");
    let events = names("schemas/events/", ".v1.json");
    assert_eq!(commands.len(), 39);
    assert_eq!(events.len(), 57);
    let mut used_commands = std::collections::BTreeSet::new();
    let mut used_events = std::collections::BTreeSet::new();
    let mut state = KommunState::default();
    for (i, s) in example::vimmerby().unwrap().into_iter().enumerate() {
        used_commands.insert(s.command.name().to_owned());
        let decided = state.decide(&s.provenance, &s.command).unwrap();
        for (j, e) in decided.iter().enumerate() {
            used_events.insert(e.event_type().to_owned());
            state.evolve(
                &EventMeta {
                    event_id: uuid::Uuid::from_u128((i * 1000 + j) as u128),
                    decided_by: s.provenance.decided_by.clone(),
                },
                e,
            );
        }
    }
    let missing: Vec<_> = commands.difference(&used_commands).collect();
    assert_eq!(missing, vec!["correct_decision"]);
    let missing: Vec<_> = events.difference(&used_events).collect();
    // Keys and checkpoints are recorded by Styrkedja itself, not submitted.
    assert_eq!(
        missing,
        vec![
            "CheckpointSigned",
            "DecisionCorrected",
            "SigningKeyPublished"
        ]
    );
}

fn validator(rel: &str) -> jsonschema::Validator {
    jsonschema::draft202012::new(&load(rel))
        .unwrap_or_else(|e| panic!("{rel} is not a valid schema: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

#[test]
fn golden_examples_validate() {
    let submission = validator("schemas/submission.json");
    let raw: Vec<Value> = serde_json::from_str(example::VIMMERBY_JSON).unwrap();
    for (i, s) in raw.iter().enumerate() {
        assert_valid(&submission, s, &format!("example submission {i}"));
        let name = s["command"]["command"].as_str().unwrap();
        assert_valid(
            &validator(&format!("schemas/commands/{name}.json")),
            &s["command"],
            name,
        );
    }
    // Every event the example produces validates against its event schema.
    let mut state = KommunState::default();
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in example::vimmerby().unwrap().into_iter().enumerate() {
        let events = state.decide(&s.provenance, &s.command).unwrap();
        assert_eq!(
            serde_json::to_value(&s.command).unwrap()["command"],
            s.command.name(),
            "Command::name() is serde's tag"
        );
        for (j, e) in events.iter().enumerate() {
            let (t, payload) = e.to_payload();
            assert_eq!(
                serde_json::to_value(e).unwrap()["type"],
                t,
                "Event::event_type() is serde's tag"
            );
            if seen.insert(t) {
                assert_valid(
                    &validator(&format!("schemas/events/{t}.v1.json")),
                    &payload,
                    t,
                );
            }
            state.evolve(
                &EventMeta {
                    event_id: uuid::Uuid::from_u128((i * 1000 + j) as u128),
                    decided_by: s.provenance.decided_by.clone(),
                },
                e,
            );
        }
    }
    assert!(
        seen.len() >= 14,
        "the example covers {} event types",
        seen.len()
    );
    // And schemas reject what serde rejects: an unknown field.
    let mut bad = raw[0].clone();
    bad["command"]["extra"] = Value::Bool(true);
    assert!(!validator("schemas/submission.json").is_valid(&bad));
}

/// The official AsyncAPI parser (`@asyncapi/parser`, pinned, from npm into
/// `.tools/`) reads `schemas/asyncapi.yaml` with every file it refers to,
/// and reports no error.
#[test]
fn the_asyncapi_document_parses_with_the_official_parser() {
    const PARSER: &str = "3.6.3";
    let tools = root()
        .join(".tools")
        .join(format!("asyncapi-parser-{PARSER}"));
    let module = tools.join("node_modules/@asyncapi/parser");
    if !module.is_dir() {
        std::fs::create_dir_all(&tools).unwrap();
        let out = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&tools)
            .arg(format!("@asyncapi/parser@{PARSER}"))
            .output()
            .expect("npm (Node.js) is needed for this test");
        assert!(
            out.status.success(),
            "npm install @asyncapi/parser@{PARSER}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let script = r#"
const [module, file] = process.argv.slice(1);
const { Parser, fromFile } = require(module);
(async () => {
  const { document, diagnostics } = await fromFile(new Parser(), file).parse();
  for (const d of diagnostics) {
    console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  }
  const messages = document ? document.allMessages().length : 0;
  console.log(JSON.stringify({ messages }));
  process.exit(!document || diagnostics.some((d) => d.severity === 0) ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
"#;
    let out = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&module)
        .arg(root().join("schemas/asyncapi.yaml"))
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One message per event type, plus the service's five.
    let events = schemas::generate()
        .keys()
        .filter(|k| k.starts_with("schemas/events/"))
        .count();
    assert!(
        text.contains(&format!("{{\"messages\":{}}}", events + 5)),
        "{text}"
    );
}
