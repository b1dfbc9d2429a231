//! The subscription and submission contract as JSON Schema (draft 2020-12),
//! generated from the Rust types and committed under `schemas/`.
//!
//! - `schemas/submission.json`: what `styr submit` and the service accept;
//! - `schemas/commands/<command>.json`: one command each;
//! - `schemas/events/<EventType>.v<N>.json`: the `payload` of each event type;
//! - `schemas/rejection.json`: the structured rejection.
//!
//! A test regenerates them and fails on any difference; update with
//! `STYR_UPDATE_SCHEMAS=1 cargo test -p styr-service --test schemas`.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use styr_domain::{Command, Event, Rejection, EVENT_SCHEMA_VERSION};

use crate::Submission;

fn schema_of<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Splits a tagged enum's schema into one schema per variant: the variant's
/// subschema with the enum's `$defs`, titled with the tag value.
fn variants(enum_schema: &Value, tag: &str, take: Option<&str>) -> BTreeMap<String, Value> {
    let defs = enum_schema.get("$defs").cloned();
    let mut out = BTreeMap::new();
    for v in enum_schema["oneOf"].as_array().into_iter().flatten() {
        let Some(name) = v["properties"][tag]["const"].as_str() else {
            continue;
        };
        let mut schema = match take {
            Some(field) => v["properties"][field].clone(),
            None => v.clone(),
        };
        let obj = match schema.as_object_mut() {
            Some(o) => o,
            None => continue,
        };
        let mut head = serde_json::Map::new();
        head.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        head.insert("title".into(), json!(name));
        if let Some(d) = v.get("description") {
            head.insert("description".into(), d.clone());
        }
        head.extend(std::mem::take(obj));
        if let Some(defs) = defs.as_ref().and_then(Value::as_object) {
            let used = used_defs(defs, &Value::Object(head.clone()));
            if !used.is_empty() {
                head.insert("$defs".into(), Value::Object(used));
            }
        }
        out.insert(name.to_owned(), Value::Object(head));
    }
    out
}

/// The definitions `root` refers to, directly or through other definitions.
fn used_defs(
    defs: &serde_json::Map<String, Value>,
    root: &Value,
) -> serde_json::Map<String, Value> {
    let refers = |text: &str, k: &str| text.contains(&format!("\"#/$defs/{k}\""));
    let mut used = serde_json::Map::new();
    let mut frontier = vec![root.to_string()];
    while let Some(text) = frontier.pop() {
        for (k, body) in defs {
            if !used.contains_key(k) && refers(&text, k) {
                used.insert(k.clone(), body.clone());
                frontier.push(body.to_string());
            }
        }
    }
    used
}

/// Every schema file, by path relative to the repository root.
pub fn generate() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut put = |path: String, v: &Value| {
        let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
        text.push('\n');
        files.insert(path, text);
    };
    put("schemas/submission.json".into(), &schema_of::<Submission>());
    put("schemas/rejection.json".into(), &schema_of::<Rejection>());
    for (name, s) in variants(&schema_of::<Command>(), "command", None) {
        put(format!("schemas/commands/{name}.json"), &s);
    }
    for (name, s) in variants(&schema_of::<Event>(), "type", Some("data")) {
        put(
            format!("schemas/events/{name}.v{EVENT_SCHEMA_VERSION}.json"),
            &s,
        );
    }
    files
}
