//! The subscription and submission contract as JSON Schema (draft 2020-12),
//! generated from the Rust types and committed under `schemas/`.
//!
//! - `schemas/submission.json`: what `styr submit` and the service accept;
//! - `schemas/commands/<command>.json`: one command each;
//! - `schemas/events/<EventType>.v<N>.json`: the `payload` of each event type;
//! - `schemas/rejection.json`: the structured rejection;
//! - `schemas/envelope.json`: what every message on `styr.<kommun>.>` carries;
//! - `schemas/api/submit-reply.json`, `schemas/api/query.json`,
//!   `schemas/api/query-reply.json`, `schemas/api/error.json`: the service
//!   (and `styr … --json`, which prints the query reply);
//! - `schemas/asyncapi.yaml`: the channels, for subscribers in any language;
//! - `schemas/agenda2030.json`: the Agenda 2030 goals and targets a tag may
//!   name (data, not a schema).
//!
//! A test regenerates them and fails on any difference; update with
//! `STYR_UPDATE_SCHEMAS=1 cargo test -p styr-service --test it schemas`.

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
        // Every schema names itself: `urn:styrkedja:schemas/<file>`.
        let mut v = v.clone();
        if let (Some(obj), Some(rel)) = (v.as_object_mut(), path.strip_prefix("schemas/")) {
            let mut named = serde_json::Map::new();
            if let Some(s) = obj.remove("$schema") {
                named.insert("$schema".into(), s);
            }
            named.insert("$id".into(), json!(format!("urn:styrkedja:schemas/{rel}")));
            named.extend(std::mem::take(obj));
            *obj = named;
        }
        let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
        text.push('\n');
        files.insert(path, text);
    };
    put("schemas/submission.json".into(), &schema_of::<Submission>());
    put(
        "schemas/envelope.json".into(),
        &schema_of::<styr_store::Envelope>(),
    );
    put(
        "schemas/api/submit-reply.json".into(),
        &schema_of::<crate::api::SubmitReply>(),
    );
    put(
        "schemas/api/query.json".into(),
        &schema_of::<crate::api::QueryRequest>(),
    );
    put(
        "schemas/api/query-reply.json".into(),
        &schema_of::<crate::api::QueryReply>(),
    );
    put(
        "schemas/api/error.json".into(),
        &schema_of::<crate::api::ErrorReply>(),
    );
    put(
        "schemas/api/history-line.json".into(),
        &schema_of::<crate::api::HistoryLine>(),
    );
    put("schemas/rejection.json".into(), &schema_of::<Rejection>());
    for (name, s) in variants(&schema_of::<Command>(), "command", None) {
        put(format!("schemas/commands/{name}.json"), &s);
    }
    let events = variants(&schema_of::<Event>(), "type", Some("data"));
    for (name, s) in &events {
        put(
            format!("schemas/events/{name}.v{EVENT_SCHEMA_VERSION}.json"),
            s,
        );
    }
    // Not a schema: the Agenda 2030 list goals and indicators are tagged
    // from, as data for integrators.
    let list = json!({
        "version": styr_domain::AGENDA2030_VERSION,
        "goals": styr_domain::GLOBAL_GOALS.iter().map(|g| json!({
            "goal": g.number.to_string(),
            "name": g.name,
            "targets": g.targets(),
        })).collect::<Vec<_>>(),
    });
    files.insert(
        "schemas/agenda2030.json".into(),
        serde_json::to_string_pretty(&list).unwrap_or_default() + "\n",
    );
    let mut yaml = String::from(
        "# Generated from the Rust types by styr-service (schemas::generate); do not edit.\n",
    );
    emit_yaml(&asyncapi(events.keys()), 0, &mut yaml);
    files.insert("schemas/asyncapi.yaml".into(), yaml);
    files
}

/// The AsyncAPI message of one event type: an envelope whose payload
/// follows the event's own schema.
fn event_message(t: &str) -> Value {
    json!({
        "name": t,
        "title": t,
        "summary": format!("{t}: an envelope whose payload follows events/{t}.v{EVENT_SCHEMA_VERSION}.json"),
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/EventHeaders"},
        "payload": {
            "allOf": [
                {"$ref": "./envelope.json"},
                {
                    "type": "object",
                    "required": ["event_type", "schema_version", "payload"],
                    "properties": {
                        "event_type": {"const": t},
                        "schema_version": {"const": EVENT_SCHEMA_VERSION},
                        "payload": {"$ref": format!("./events/{t}.v{EVENT_SCHEMA_VERSION}.json")}
                    }
                }
            ]
        }
    })
}

/// The AsyncAPI 3.1 document: the server, the event channel with one message
/// per event type, and the two service channels.
fn asyncapi<'a>(event_types: impl Iterator<Item = &'a String>) -> Value {
    let mut messages = serde_json::Map::new();
    for t in event_types {
        messages.insert(t.clone(), event_message(t));
    }
    let event_refs: Vec<Value> = messages
        .keys()
        .map(|k| json!({"$ref": format!("#/channels/kommunEvents/messages/{k}")}))
        .collect();
    json!({
        "asyncapi": "3.1.0",
        "info": {
            "title": "Styrkedja",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A kommun's governance decisions as immutable events on NATS JetStream. One stream per kommun (styr-<kommun>); the stream sequence is the kommun's position in history; each message payload is an envelope (envelope.json) whose payload field is shaped by its event_type and schema_version (events/<type>.v<version>.json). A decision's events are committed as one atomic batch."
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "{host}",
                "protocol": "nats",
                "description": "The NATS server or cluster Styrkedja runs on: `styr serve` starts an embedded one on loopback (its address is in the data folder's credentials files), or it runs against your own. Every client authenticates with a user and password and sets its inbox prefix to _INBOX_<user> (README: who may do what).",
                "variables": {"host": {"default": "127.0.0.1:4222", "description": "host:port of a NATS server"}},
                "security": [{"$ref": "#/components/securitySchemes/natsUser"}]
            }
        },
        "channels": {
            "kommunEvents": {
                "address": "styr.{kommun}.{aggregateKind}.{aggregateId}",
                "title": "Decisions of a kommun",
                "description": "Subscribe with a JetStream consumer on stream styr-<kommun>, filtered by subject (e.g. styr.vimmerby.uppdrag.>) and/or the Styr-Event-Type header; examples/subscriber does this with a durable consumer.",
                "parameters": {
                    "kommun": {"description": "Kommun id, a lowercase ASCII slug, e.g. vimmerby"},
                    "aggregateKind": {"description": "kommun, body, unit, direction, styrdokument, budget, investment, goal, namndmal, uppdrag, namndplan, detaljbudget, plan, outcome, deviation, report, atgardsplan, internal-control, finding, review, access, signing-key, checkpoint, correction"},
                    "aggregateId": {"description": "The aggregate's id (a subject token)"}
                },
                "messages": Value::Object(messages)
            },
            "submit": {
                "address": "styrkedja.api.{kommun}.submit",
                "title": "Submit a decision (request/reply)",
                "parameters": {"kommun": {"description": "Kommun id"}},
                "messages": {
                    "submission": {"payload": {"$ref": "./submission.json"}},
                    "submitReply": {"payload": {"$ref": "./api/submit-reply.json"}}
                }
            },
            "query": {
                "address": "styrkedja.api.{kommun}.query",
                "title": "Query a read model (request/reply)",
                "parameters": {"kommun": {"description": "Kommun id"}},
                "messages": {
                    "query": {"payload": {"$ref": "./api/query.json"}},
                    "queryReply": {"payload": {"$ref": "./api/query-reply.json"}},
                    "errorReply": {"payload": {"$ref": "./api/error.json"}}
                }
            }
        },
        "operations": {
            "receiveDecisions": {
                "action": "receive",
                "bindings": {"nats": {"bindingVersion": "0.1.0"}},
                "channel": {"$ref": "#/channels/kommunEvents"},
                "messages": Value::Array(event_refs)
            },
            "submitDecision": {
                "action": "send",
                "bindings": {"nats": {"bindingVersion": "0.1.0"}},
                "channel": {"$ref": "#/channels/submit"},
                "messages": [{"$ref": "#/channels/submit/messages/submission"}],
                "reply": {"channel": {"$ref": "#/channels/submit"}, "messages": [{"$ref": "#/channels/submit/messages/submitReply"}]}
            },
            "queryReadModel": {
                "action": "send",
                "bindings": {"nats": {"bindingVersion": "0.1.0"}},
                "channel": {"$ref": "#/channels/query"},
                "messages": [{"$ref": "#/channels/query/messages/query"}],
                "reply": {"channel": {"$ref": "#/channels/query"}, "messages": [{"$ref": "#/channels/query/messages/queryReply"}, {"$ref": "#/channels/query/messages/errorReply"}]}
            }
        },
        "components": {
            "securitySchemes": {
                "natsUser": {"type": "userPassword", "description": "A NATS user of the STYRKEDJA account: an application user, a revisor, or the service"}
            },
            "schemas": {
                "EventHeaders": {
                    "$id": "urn:styrkedja:schemas/asyncapi.yaml#EventHeaders",
                    "type": "object",
                    "properties": {
                        "Nats-Msg-Id": {"type": "string", "description": "The event id (UUIDv7)"},
                        "Styr-Event-Id": {"type": "string", "description": "The event id (UUIDv7)"},
                        "Styr-Event-Type": {"type": "string", "description": "The event type, e.g. UppdragClosed"},
                        "Styr-Schema-Version": {"type": "string", "description": "The payload's schema version"},
                        "Styr-Event-Hash": {"type": "string", "description": "SHA-256 of the stored payload (verifiers recompute it)"},
                        "Styr-Submission-Digest": {"type": "string", "description": "On a decision's first event only: SHA-256 of the submission's provenance and command, which tells a retry under the same idempotency key from other content (not covered by the hash chain)"}
                    }
                }
            }
        }
    })
}

/// A small YAML writer for JSON values (keys and strings double-quoted with
/// JSON escapes, which YAML reads the same).
fn emit_yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    let nested = |v: &Value| {
        matches!(v, Value::Object(m) if !m.is_empty())
            || matches!(v, Value::Array(a) if !a.is_empty())
    };
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let key = serde_json::to_string(k).unwrap_or_default();
                if nested(val) {
                    out.push_str(&format!("{pad}{key}:\n"));
                    emit_yaml(val, indent + 1, out);
                } else {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(val)));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if nested(item) {
                    let mut inner = String::new();
                    emit_yaml(item, indent + 1, &mut inner);
                    out.push_str(&format!("{pad}- {}", inner.trim_start()));
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}
