//! The NATS micro service, driven over real NATS.

use std::sync::Arc;

use serde_json::{json, Value};
use styr_projections::Projector;
use styr_service::api::{self, Api};
use styr_service::{example, Kommuner};
use styr_store::{EventStore, KommunId};
use styr_testkit::TestNats;

struct App {
    client: async_nats::Client,
    store: Arc<EventStore>,
    nats: TestNats,
}

async fn spawn_app() -> App {
    spawn_app_on(TestNats::start().await).await
}

async fn spawn_app_on(nats: TestNats) -> App {
    let store = nats.shared_store().await;
    let api = Arc::new(Api {
        kommuner: Arc::new(Kommuner::new(store.clone()).with_registrars(vec!["app".into()])),
        projector: Arc::new(Projector::open(nats.path("proj")).unwrap()),
        health: Default::default(),
    });
    // The service answers in its own account, as `styr-api`; callers are
    // application users (here `app`, who registers the kommun and so becomes
    // its first administrator).
    tokio::spawn(api::serve(nats.client_as("styr-api").await, api));
    let client = nats.client_as("app").await;
    // Wait until discovery answers (no sleeping): the service is up. Each
    // try is a request with its own timeout; at most 500 of them.
    let mut up = false;
    for _ in 0..500 {
        if let Ok(m) = client.request("$SRV.PING.styrkedja", "".into()).await {
            if !m.payload.is_empty() {
                up = true;
                break;
            }
        }
    }
    assert!(up, "the service never answered discovery");
    App {
        client,
        store,
        nats,
    }
}

async fn call(app: &App, subject: String, body: Vec<u8>) -> (Value, Option<String>) {
    call_as(&app.client, subject, body).await
}

async fn call_as(
    client: &async_nats::Client,
    subject: String,
    body: Vec<u8>,
) -> (Value, Option<String>) {
    let reply = client.request(subject.clone(), body.into()).await.unwrap();
    let code = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error-Code"))
        .map(|v| v.to_string());
    let value: Value = serde_json::from_slice(&reply.payload).unwrap();
    // Every reply follows its published schema: an error, or the reply of
    // the endpoint asked.
    let schema = if value.get("error").is_some() {
        "error.json"
    } else if subject.ends_with(".submit") {
        "submit-reply.json"
    } else {
        "query-reply.json"
    };
    assert_valid(&schema_of(schema), &value, &subject);
    (value, code)
}

fn schema_of(file: &str) -> jsonschema::Validator {
    let path =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/api")).join(file);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{instance}");
}

async fn submit(app: &App, kommun: &str, body: &Value) -> (Value, Option<String>) {
    call(
        app,
        format!("styrkedja.api.{kommun}.submit"),
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

async fn query(app: &App, kommun: &str, body: Value) -> (Value, Option<String>) {
    call(
        app,
        format!("styrkedja.api.{kommun}.query"),
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn report(key: &str, body: &str, uppdrag: &str) -> Value {
    json!({"idempotency_key": key, "recorded_by": "test",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": "2026-06-10", "paragraph": "33"}, "effective_date": "2026-06-10"},
        "command": {"command": "report_uppdrag_status", "uppdrag": uppdrag, "body": body, "as_of": "2026-05-31", "status": "ongoing", "comment": "Enligt plan"}})
}

#[tokio::test]
async fn commands_queries_and_malformed_input_over_nats() {
    let app = spawn_app().await;
    let k = KommunId::new("vimmerby").unwrap();

    // Discovery.
    let info = app
        .client
        .request("$SRV.INFO.styrkedja", "".into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info.payload).unwrap();
    let names: Vec<&str> = info["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"submit") && names.contains(&"query"),
        "{info}"
    );

    // Every command kind of the example, accepted over NATS.
    let raw: Vec<Value> = serde_json::from_str(example::VIMMERBY_JSON).unwrap();
    for s in &raw {
        let (reply, code) = submit(&app, "vimmerby", s).await;
        assert_eq!(code, None);
        assert_eq!(reply["outcome"], "recorded", "{reply}");
    }
    let (reply, _) = submit(&app, "vimmerby", &raw[5]).await;
    assert_eq!(reply["outcome"], "duplicate");
    let head = app.store.last_sequence(&k).await.unwrap();

    // Rejections are answers naming rule and field; nothing is appended.
    let mut wrong_body = report("r1", "kfn", "u-2026-04");
    wrong_body["provenance"]["decided_by"]["body"] = json!("kfn");
    let mut closed = report("r2", "kfn", "u-2026-05");
    closed["command"]["body"] = json!("kfn");
    let mut p4 = raw
        .iter()
        .find(|s| s["command"]["command"] == "adopt_detaljbudget")
        .unwrap()
        .clone();
    p4["idempotency_key"] = json!("p4");
    p4["command"]["year"] = json!(2030);
    let cases = [
        (wrong_body, "P1", "body"),
        (closed, "P2", "uppdrag"),
        (p4, "P4", "year"),
    ];
    for (body, rule, field) in cases {
        let (reply, code) = submit(&app, "vimmerby", &body).await;
        assert_eq!(code, None);
        assert_eq!(reply["outcome"], "rejected", "{reply}");
        assert_eq!(reply["rule"], rule, "{reply}");
        assert!(reply["field"].as_str().unwrap().contains(field), "{reply}");
    }
    assert_eq!(app.store.last_sequence(&k).await.unwrap(), head);

    // Malformed input: a clear error, nothing appended.
    let ok = report("m", "sbn", "u-2026-04");
    let mut unknown = ok.clone();
    unknown["extra"] = json!(1);
    let mut wrong_type = ok.clone();
    wrong_type["command"]["as_of"] = json!(20260531);
    let big = format!("{{\"idempotency_key\":\"{}\"}}", "x".repeat(300_000));
    let malformed: Vec<(String, Vec<u8>, &str, &str)> = vec![
        (
            "styrkedja.api.vimmerby.submit".into(),
            b"{ not json".to_vec(),
            "400",
            "invalid_submission",
        ),
        (
            "styrkedja.api.vimmerby.submit".into(),
            serde_json::to_vec(&unknown).unwrap(),
            "400",
            "okänt fält",
        ),
        (
            "styrkedja.api.vimmerby.submit".into(),
            serde_json::to_vec(&wrong_type).unwrap(),
            "400",
            "fel typ",
        ),
        (
            "styrkedja.api.vimmerby.submit".into(),
            big.into_bytes(),
            "413",
            "too_large",
        ),
        (
            "styrkedja.api.Vimmerby.submit".into(),
            serde_json::to_vec(&ok).unwrap(),
            "400",
            "invalid_kommun",
        ),
        (
            "styrkedja.api.nowhere.query".into(),
            serde_json::to_vec(&json!({"query": {"kind": "plan", "year": 2026}})).unwrap(),
            "404",
            "unknown_kommun",
        ),
        (
            "styrkedja.api.vimmerby.query".into(),
            serde_json::to_vec(&json!({"query": {"kind": "plan"}})).unwrap(),
            "400",
            "invalid_query",
        ),
        (
            "styrkedja.api.vimmerby.query".into(),
            serde_json::to_vec(&json!({"query": {"kind": "register", "register": "secrets"}}))
                .unwrap(),
            "400",
            "registret \\\"secrets\\\" finns inte",
        ),
    ];
    for (subject, body, want_code, want_text) in malformed {
        let (reply, code) = call(&app, subject.clone(), body).await;
        assert_eq!(code.as_deref(), Some(want_code), "{subject}: {reply}");
        assert!(
            reply["error"].to_string().contains(want_text),
            "{subject}: {reply}"
        );
    }
    assert_eq!(app.store.last_sequence(&k).await.unwrap(), head);
    // Submitting to a kommun that does not exist yet is refused by the domain, nothing created.
    let (reply, _) = submit(&app, "nowhere", &ok).await;
    assert_eq!(reply["rule"], "reference");

    // Queries.
    let (plan, code) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "plan", "year": 2026}}),
    )
    .await;
    assert_eq!(code, None, "{plan}");
    assert_eq!(plan["result"]["budget"]["year"], 2026);
    let (chain, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "chain", "node": "goal/kf-m2"}}),
    )
    .await;
    assert!(chain["result"]["down"].to_string().contains("goal/bun-m1"));
    let (gaps, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "gaps", "year": 2026, "today": "2026-11-25"}}),
    )
    .await;
    assert!(gaps["result"].to_string().contains("body/mbn"));
    let (history, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "history", "entity": "uppdrag/u-2026-05"}}),
    )
    .await;
    assert_eq!(history["result"][0]["event_type"], "UppdragGiven");
    let (reg, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "register", "register": "deviation"}}),
    )
    .await;
    assert_eq!(reg["result"].as_array().unwrap().len(), 4);
    // A probe's question: the stream can commit, and the projection (caught
    // up by the queries above) does not lag.
    let (health, code) = query(&app, "vimmerby", json!({"query": {"kind": "health"}})).await;
    assert_eq!(code, None, "{health}");
    assert_eq!(health["query"], "health");
    assert_eq!(health["result"]["quorum"], true, "{health}");
    assert_eq!(health["result"]["replicas"], 1);
    assert_eq!(health["result"]["projection_lag"], 0, "{health}");
    let (past, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "plan", "year": 2027}, "as_of": "2026-03-01"}),
    )
    .await;
    assert_eq!(past["result"]["budget"]["year"], 2026);
    let (node, code) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "chain", "node": "goal/none"}}),
    )
    .await;
    assert_eq!(code.as_deref(), Some("404"), "{node}");

    // Read-your-writes: the reply's last_sequence as min_sequence.
    let (reply, _) = submit(&app, "vimmerby", &report("ryw", "sbn", "u-2026-04")).await;
    let seq = reply["last_sequence"].as_u64().unwrap();
    let (h, code) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "history", "entity": "uppdrag/u-2026-04"}, "min_sequence": seq}),
    )
    .await;
    assert_eq!(code, None, "{h}");
    assert_eq!(
        h["result"].as_array().unwrap().last().unwrap()["sequence"],
        seq
    );

    // A rättelse names the event it corrects (its id from the reply) and
    // the fields that were wrong; only the body that decided it may make
    // it, and a date is changed by a new decision, not a rättelse.
    let id = reply["event_ids"][0].clone();
    let fix = |key: &str, body: &str, corrections: Value| {
        json!({"idempotency_key": key, "recorded_by": "test",
            "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": "2026-06-20", "paragraph": "40"}, "effective_date": "2026-06-20"},
            "command": {"command": "correct_decision", "corrects": id, "ground": "skrivfel", "reason": "Fel i protokollet", "corrections": corrections}})
    };
    let comment = json!({"/comment": "Enligt plan; klart i augusti"});
    let (r, _) = submit(&app, "vimmerby", &fix("fix-1", "kfn", comment.clone())).await;
    assert_eq!(r["rule"], "P1", "{r}");
    let (r, _) = submit(
        &app,
        "vimmerby",
        &fix("fix-2", "sbn", json!({"/as_of": "2026-05-30"})),
    )
    .await;
    assert_eq!(
        (r["rule"].as_str(), r["field"].as_str()),
        (Some("P6"), Some("corrections./as_of")),
        "{r}"
    );
    let (r, _) = submit(&app, "vimmerby", &fix("fix-3", "sbn", comment)).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let (h, _) = query(&app, "vimmerby", json!({"query": {"kind": "history", "entity": "uppdrag/u-2026-04"}, "min_sequence": r["last_sequence"]})).await;
    let last = h["result"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event_type"], "DecisionCorrected");
    assert_eq!(last["corrects"], id);
}

fn decision(key: &str, decided_by: Value, command: Value) -> Value {
    let date = decided_by["meeting_date"].clone();
    json!({"idempotency_key": key, "recorded_by": "kf-ordforande",
        "provenance": {"decided_by": decided_by, "effective_date": date},
        "command": command})
}

fn meeting(body: &str, paragraph: &str) -> Value {
    json!({"kind": "body", "body": body, "meeting_date": "2026-06-15", "paragraph": paragraph})
}

async fn submit_as(client: &async_nats::Client, body: &Value) -> Value {
    call_as(
        client,
        "styrkedja.api.vimmerby.submit".into(),
        serde_json::to_vec(body).unwrap(),
    )
    .await
    .0
}

#[tokio::test]
async fn who_records_is_the_authenticated_user_and_grants_decide_what_it_may_record() {
    let app = spawn_app().await;
    let k = KommunId::new("vimmerby").unwrap();
    let raw: Vec<Value> = serde_json::from_str(example::VIMMERBY_JSON).unwrap();
    for s in &raw {
        assert_ne!(submit(&app, "vimmerby", s).await.0["outcome"], "rejected");
    }
    let bun = app.nats.client_as("bun-sekreterare").await;
    let ks = app.nats.client_as("ks-kansli").await;
    let status = |key: &str| {
        decision(
            key,
            meeting("bun", "71"),
            json!({"command": "report_uppdrag_status", "uppdrag": "u-2026-01", "body": "bun",
                   "as_of": "2026-05-31", "status": "ongoing"}),
        )
    };
    let grant = |key: &str, command: &str, identity: &str, body: &str| {
        decision(
            key,
            meeting("ks", "12"),
            json!({"command": command, "identity": identity, "access": {"kind": "body", "body": body}}),
        )
    };

    let new = app.nats.client_as("ny-handlaggare").await;

    // The example's KS granted BUN's secretary BUN: BUN decisions go
    // through, recorded under the authenticated name whatever the
    // submission claims ("kf-ordforande").
    let r = submit_as(&bun, &status("bun-1")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let seq = r["last_sequence"].as_u64().unwrap();
    let stored = app.store.read(&k, seq).await.unwrap();
    assert_eq!(stored[0].envelope.recorded_by, "bun-sekreterare");
    // … but neither KF's nor KS's decisions, nor grants.
    let head = app.store.last_sequence(&k).await.unwrap();
    let kf = decision(
        "bun-kf",
        meeting("kf", "99"),
        json!({"command": "establish_body", "body": "xn", "kind": "committee", "name": "X-nämnden", "area": "x"}),
    );
    let r = submit_as(&bun, &kf).await;
    assert_eq!(r["rule"], "P1", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("bun-sekreterare")
            && r["message"].as_str().unwrap().contains("KF"),
        "{r}"
    );
    let r = submit_as(
        &bun,
        &grant("bun-g", "grant_access", "bun-sekreterare", "ks"),
    )
    .await;
    assert_eq!(r["rule"], "P1", "{r}");
    // A new identity records nothing before it is granted.
    let r = submit_as(&new, &status("new-1")).await;
    assert_eq!(r["rule"], "P1", "{r}");
    assert_eq!(app.store.last_sequence(&k).await.unwrap(), head);

    // KS's kansli (granted KS and KF in the example) records KF's decision
    // and grants the new identity BUN.
    let r = submit_as(&ks, &kf).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let r = submit_as(&ks, &grant("g-1", "grant_access", "ny-handlaggare", "bun")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let r = submit_as(&new, &status("new-2")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");

    // KS's grantees cannot make anyone (themselves included) administrator.
    let admin = decision(
        "g-admin",
        meeting("ks", "13"),
        json!({"command": "grant_access", "identity": "ks-kansli", "access": {"kind": "administrator"}}),
    );
    let r = submit_as(&ks, &admin).await;
    assert_eq!(r["rule"], "P1", "{r}");

    // Revoked: refused again.
    let r = submit_as(&ks, &grant("g-2", "revoke_access", "ny-handlaggare", "bun")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let r = submit_as(&new, &status("new-3")).await;
    assert_eq!(r["rule"], "P1", "{r}");

    // An idempotency key is its recorder's: another identity's decision
    // under a key already used is refused, not answered "duplicate".
    let r = submit_as(&bun, &status("ks-2026-06-15-81")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");
    let r = submit_as(
        &ks,
        &grant("ks-2026-06-15-81", "grant_access", "ny-handlaggare", "sn"),
    )
    .await;
    assert_eq!(r["outcome"], "rejected", "{r}");
    assert_eq!(r["rule"], "P6", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("bun-sekreterare"),
        "{r}"
    );
    // The recorder's own retry is still a duplicate.
    let r = submit_as(&bun, &status("ks-2026-06-15-81")).await;
    assert_eq!(r["outcome"], "duplicate", "{r}");

    // A grant recorded by another writer (the CLI, another node; here by
    // `app`, who registered the kommun)
    // takes effect at once: the service decides against the stream as it is.
    let operator = Kommuner::new(app.store.clone());
    let s: styr_service::Submission =
        serde_json::from_value(grant("g-3", "grant_access", "ny-handlaggare", "bun")).unwrap();
    assert!(matches!(
        operator.submit_as(&k, "app", s).await.unwrap(),
        styr_service::Outcome::Recorded(_)
    ));
    let r = submit_as(&new, &status("new-4")).await;
    assert_eq!(r["outcome"], "recorded", "{r}");

    // Nobody but a registrar registers a kommun over NATS (whoever does
    // becomes its administrator), and a refused submission leaves no stream.
    let register = decision(
        "squat",
        meeting("kf", "1"),
        json!({"command": "register_kommun", "name": "Linköpings kommun", "kommunkod": "0580", "council": "kf"}),
    );
    let (r, _) = call_as(
        &bun,
        "styrkedja.api.linkoping.submit".into(),
        serde_json::to_vec(&register).unwrap(),
    )
    .await;
    assert_eq!(r["rule"], "P1", "{r}");
    let (r, _) = call_as(
        &bun,
        "styrkedja.api.nowhere.submit".into(),
        serde_json::to_vec(&status("x")).unwrap(),
    )
    .await;
    assert_eq!(r["outcome"], "rejected", "{r}");
    let js = async_nats::jetstream::new(app.nats.client().await);
    for ghost in ["styr-linkoping", "styr-nowhere"] {
        assert!(js.get_stream(ghost).await.is_err(), "{ghost} was created");
    }

    // Who could record what, and when, is in the history and the register.
    let (reg, _) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "register", "register": "access"}, "min_sequence": app.store.last_sequence(&k).await.unwrap()}),
    )
    .await;
    let text = reg["result"].to_string();
    assert!(
        text.contains("bun-sekreterare") && text.contains("ks-kansli"),
        "{text}"
    );
    let new_doc = reg["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["identity"] == "ny-handlaggare")
        .unwrap();
    assert_eq!(new_doc["access"], json!([{"kind": "body", "body": "bun"}]));
    assert_eq!(new_doc["changes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn application_users_cannot_write_or_destroy_history_but_read_it() {
    let app = spawn_app().await;
    let k = KommunId::new("vimmerby").unwrap();
    let raw: Vec<Value> = serde_json::from_str(example::VIMMERBY_JSON).unwrap();
    for s in &raw[..20] {
        submit(&app, "vimmerby", s).await;
    }
    let head = app.store.last_sequence(&k).await.unwrap();
    let (address, options) = styr_store::connect_options(&app.nats.user_url("app"));
    let quick = options
        .request_timeout(Some(std::time::Duration::from_millis(500)))
        .connect(address)
        .await
        .unwrap();
    // A raw publish into the kommun's subjects, and the stream API's
    // destructive verbs: refused by the server.
    assert!(quick
        .request("styr.vimmerby.uppdrag.u-2026-01", "not an envelope".into())
        .await
        .is_err());
    for verb in ["DELETE", "PURGE", "UPDATE"] {
        let reply = quick
            .request(
                format!("$JS.API.STREAM.{verb}.styr-vimmerby"),
                r#"{"name":"styr-vimmerby","subjects":["styr.vimmerby.>"],"max_msgs":10}"#.into(),
            )
            .await;
        assert!(reply.is_err(), "{verb}: {reply:?}");
    }
    let js = async_nats::jetstream::new(app.nats.client().await);
    let mut stream = js.get_stream("styr-vimmerby").await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.state.last_sequence, head);
    assert_eq!(info.config.max_messages, -1);

    // Reading through a durable consumer works.
    let js = async_nats::jetstream::new(app.client.clone());
    let stream = js.get_stream("styr-vimmerby").await.unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("app-las".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(1000)
        .messages()
        .await
        .unwrap();
    let mut n = 0;
    while let Some(m) = futures::StreamExt::next(&mut messages).await {
        m.unwrap().ack().await.unwrap();
        n += 1;
    }
    assert_eq!(n, head);

    // No credentials, no connection.
    assert!(async_nats::ConnectOptions::new()
        .connect(app.nats.anonymous_url())
        .await
        .is_err());

    // The revisor reads (and so exports and verifies) but cannot submit.
    let revisor = EventStore::connect(&app.nats.user_url("revisor"), Default::default())
        .await
        .unwrap();
    assert_eq!(revisor.read(&k, 1).await.unwrap().len() as u64, head);
    let (address, options) = styr_store::connect_options(&app.nats.user_url("revisor"));
    let revisor = options
        .request_timeout(Some(std::time::Duration::from_millis(500)))
        .connect(address)
        .await
        .unwrap();
    assert!(revisor
        .request(
            "styrkedja.api.vimmerby.submit",
            serde_json::to_vec(&raw[20]).unwrap().into()
        )
        .await
        .is_err());
    let q = revisor
        .request(
            "styrkedja.api.vimmerby.query",
            r#"{"query":{"kind":"plan","year":2026}}"#.into(),
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&q.payload).contains("\"result\""));
    assert_eq!(app.store.last_sequence(&k).await.unwrap(), head);
}

/// The committed `deploy/nats/accounts.conf` carries the same permission
/// model: started with its accounts (passwords from the environment), an
/// application user can neither write nor destroy, and nobody gets in
/// without credentials. (The node files around it, with TLS, are started
/// as a cluster by the system tests.)
#[tokio::test]
async fn the_deploy_configuration_enforces_the_permission_model() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats");
    let users = styr_access::deployment_users();
    let env: Vec<(String, String)> = users
        .users
        .iter()
        .map(|u| {
            (
                styr_access::password_variable(&u.name),
                format!("pw-{}", u.name),
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // nats-server resolves an include beside the including file.
    std::fs::create_dir_all(dir.path().join("nats")).unwrap();
    std::fs::copy(
        deploy.join("accounts.conf"),
        dir.path().join("nats/accounts.conf"),
    )
    .unwrap();
    let mut options = styr_natsrun::ServerOptions::new(dir.path().join("nats"))
        .with_config("include ./accounts.conf\n");
    options.env = env;
    let server = styr_natsrun::NatsServer::start(options).await.unwrap();
    let url = |user: &str| format!("nats://{user}:pw-{user}@127.0.0.1:{}", server.port());

    // The service creates a kommun stream and records into it.
    let store = EventStore::connect(&url("styr-service"), Default::default())
        .await
        .unwrap();
    let k = KommunId::new("vimmerby").unwrap();
    let kommuner = Kommuner::new(Arc::new(store));
    for s in &example::vimmerby().unwrap()[..5] {
        kommuner.submit(&k, s.clone()).await.unwrap();
    }
    let head = kommuner.store().last_sequence(&k).await.unwrap();
    assert!(head >= 5);

    let (address, options) = styr_store::connect_options(&url("app"));
    let app = options
        .request_timeout(Some(std::time::Duration::from_millis(500)))
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
    assert_eq!(kommuner.store().last_sequence(&k).await.unwrap(), head);
    // It reads.
    let reader = EventStore::connect(&url("revisor"), Default::default())
        .await
        .unwrap();
    assert_eq!(reader.read(&k, 1).await.unwrap().len() as u64, head);
    // No credentials, no connection; a wrong password neither.
    assert!(async_nats::ConnectOptions::new()
        .connect(server.url())
        .await
        .is_err());
    let (address, options) = styr_store::connect_options(&format!(
        "nats://styr-service:wrong@127.0.0.1:{}",
        server.port()
    ));
    assert!(options.connect(address).await.is_err());
}

/// A consumer filtered on one kind of aggregate sees everything said of
/// it: every status of every uppdrag in the example — reported on its own
/// or in a follow-up report — arrives on `styr.vimmerby.uppdrag.>`.
#[tokio::test]
async fn a_consumer_filtered_on_uppdrag_hears_every_status() {
    let app = spawn_app().await;
    let k = KommunId::new("vimmerby").unwrap();
    let kommuner = Kommuner::new(app.store.clone());
    let key = |u: &Value, b: &Value, d: &Value| (u.to_string(), b.to_string(), d.to_string());
    let mut expected = std::collections::BTreeSet::new();
    for s in example::vimmerby().unwrap() {
        let c = serde_json::to_value(&s.command).unwrap();
        match c["command"].as_str().unwrap() {
            "report_uppdrag_status" => {
                expected.insert(key(&c["uppdrag"], &c["body"], &c["as_of"]));
            }
            "adopt_follow_up_report" => {
                let kind: styr_domain::ReportKind =
                    serde_json::from_value(c["kind"].clone()).unwrap();
                let through = kind.through(c["year"].as_i64().unwrap() as i32).unwrap();
                for line in c["uppdrag"].as_array().unwrap() {
                    expected.insert(key(&line["uppdrag"], &c["body"], &json!(through)));
                }
            }
            _ => {}
        }
        assert!(matches!(
            kommuner.submit(&k, s).await.unwrap(),
            styr_service::Outcome::Recorded(_)
        ));
    }
    assert!(expected.len() > 20, "{expected:?}");

    let js = async_nats::jetstream::new(app.client.clone());
    let consumer = js
        .get_stream("styr-vimmerby")
        .await
        .unwrap()
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            durable_name: Some("app-uppdrag".into()),
            filter_subject: "styr.vimmerby.uppdrag.>".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(10_000)
        .messages()
        .await
        .unwrap();
    let mut heard = std::collections::BTreeSet::new();
    while let Some(m) = futures::StreamExt::next(&mut messages).await {
        let m = m.unwrap();
        let envelope: Value = serde_json::from_slice(&m.payload).unwrap();
        let p = &envelope["payload"];
        if matches!(
            envelope["event_type"].as_str(),
            Some("UppdragStatusReported" | "UppdragStatusInReport")
        ) {
            heard.insert(key(&p["uppdrag"], &p["body"], &p["as_of"]));
        }
        m.ack().await.unwrap();
    }
    assert_eq!(heard, expected);
}

/// Every page of a list in turn, from the first: the items in order and
/// how many pages it took.
async fn every_page(app: &App, body: Value, limit: usize) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = body.clone();
        request["limit"] = json!(limit);
        if let Some(a) = &after {
            request["after"] = json!(a);
        }
        let (reply, code) = query(app, "vimmerby", request).await;
        assert_eq!(code, None, "{reply}");
        let page = reply["result"].as_array().unwrap();
        assert!(
            page.len() <= limit,
            "a page of {} over limit {limit}",
            page.len()
        );
        items.extend(page.iter().cloned());
        pages += 1;
        match reply["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

/// Answers stay bounded however long a kommun's history: a plan carries
/// each indicator's latest values with the count of all; lists come page by
/// page, each item exactly once; and an answer larger than the server
/// carries is an error reply that says so, never a client left waiting for
/// its timeout.
#[tokio::test]
async fn answers_are_bounded_and_lists_come_page_by_page() {
    // A server carrying at most 256 KiB: what a busy kommun's answers would
    // meet at 1 MiB, met with a small history.
    let app = spawn_app_on(TestNats::start_with(|o| o.max_payload = 256 * 1024).await).await;
    let k = KommunId::new("vimmerby").unwrap();
    let kommuner = Kommuner::new(app.store.clone());
    for s in example::vimmerby().unwrap() {
        kommuner.submit(&k, s).await.unwrap();
    }
    // Ten imports of 300 monthly values for one indicator.
    for batch in 0..10 {
        let rows: Vec<Value> = (0..300)
            .map(|i| json!({"goal": "kf-m2", "indicator": "behoriga-gy", "period": format!("2026-{:02}", i % 12 + 1), "value": f64::from(batch * 300 + i)}))
            .collect();
        let import: styr_service::Submission = serde_json::from_value(json!({
            "idempotency_key": format!("import-{batch}"), "recorded_by": "exempel-laddning",
            "provenance": {"decided_by": {"kind": "official", "official": "Controller", "unit": "ks-forv", "decision_date": "2026-10-01"}, "effective_date": "2026-10-01"},
            "command": {"command": "import_outcomes", "source": "Kolada", "fetched_at": "2026-10-01T06:00:00Z", "rows": rows}
        }))
        .unwrap();
        assert!(matches!(
            kommuner.submit(&k, import).await.unwrap(),
            styr_service::Outcome::Recorded(_)
        ));
    }

    // Thirteen monthly statuses of one uppdrag, more than a plan carries.
    for month in 1..=13u32 {
        let (year, month) = (2026 + (month - 1) / 12, (month - 1) % 12 + 1);
        let status: styr_service::Submission = serde_json::from_value(json!({
            "idempotency_key": format!("status-{year}-{month}"), "recorded_by": "exempel-laddning",
            "provenance": {"decided_by": {"kind": "body", "body": "ks", "meeting_date": "2027-02-10", "paragraph": month.to_string()}, "effective_date": "2027-02-10"},
            "command": {"command": "report_uppdrag_status", "uppdrag": "u-2026-02", "body": "ks", "as_of": format!("{year}-{month:02}-01"), "status": "ongoing"}
        }))
        .unwrap();
        let out = kommuner.submit(&k, status).await.unwrap();
        assert!(matches!(out, styr_service::Outcome::Recorded(_)), "{out:?}");
    }

    // The plan carries the latest values and says how many there are.
    let (reply, code) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "plan", "year": 2026}}),
    )
    .await;
    assert_eq!(code, None, "{reply}");
    let goal = reply["result"]["kf_goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "kf-m2")
        .unwrap();
    let kept = goal["outcomes"]["behoriga-gy"].as_array().unwrap();
    assert_eq!(kept.len(), styr_projections::OUTCOMES_KEPT);
    let total = goal["outcome_counts"]["behoriga-gy"].as_u64().unwrap() as usize;
    assert!(total >= 3000, "{total}");
    assert_eq!(kept.last().unwrap()["value"], 2999.0);
    // And each uppdrag's latest statuses, by date, with their count.
    let u = reply["result"]["uppdrag"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "u-2026-02")
        .unwrap();
    let statuses_kept = u["status"].as_array().unwrap().clone();
    assert_eq!(statuses_kept.len(), styr_projections::OUTCOMES_KEPT);
    assert!(u["status_count"].as_u64().unwrap() >= 13);
    assert_eq!(statuses_kept.last().unwrap()["as_of"], "2027-01-01");

    // Every value, page by page: each exactly once, in recording order,
    // ending with the plan's latest.
    let outcomes =
        json!({"query": {"kind": "outcomes", "goal": "kf-m2", "indicator": "behoriga-gy"}});
    let (all, pages) = every_page(&app, outcomes.clone(), 700).await;
    assert_eq!(all.len(), total);
    assert!(pages >= 5, "{pages}");
    let imported: Vec<f64> = all[total - 3000..]
        .iter()
        .map(|o| o["value"].as_f64().unwrap())
        .collect();
    assert_eq!(imported, (0..3000).map(f64::from).collect::<Vec<_>>());
    assert_eq!(&all[total - kept.len()..], &kept[..]);

    // An uppdrag's statuses likewise, in the order of their dates; a
    // register carries the latest with their count.
    let (statuses, _) = every_page(
        &app,
        json!({"query": {"kind": "statuses", "uppdrag": "u-2026-02"}}),
        5,
    )
    .await;
    assert_eq!(statuses.len() as u64, u["status_count"].as_u64().unwrap());
    let dates: Vec<&str> = statuses
        .iter()
        .map(|s| s["as_of"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");
    assert_eq!(
        &statuses[statuses.len() - statuses_kept.len()..],
        &statuses_kept[..]
    );
    let (register, _) = every_page(
        &app,
        json!({"query": {"kind": "register", "register": "uppdrag"}}),
        2000,
    )
    .await;
    let in_register = register.iter().find(|u| u["id"] == "u-2026-02").unwrap();
    assert_eq!(in_register["status"], u["status"]);
    assert_eq!(in_register["status_count"], u["status_count"]);
    // Asking for what the kommun does not have is a 404, not an empty page.
    for (what, body) in [
        (
            "an indicator",
            json!({"query": {"kind": "outcomes", "goal": "kf-m2", "indicator": "saknas"}}),
        ),
        (
            "an uppdrag",
            json!({"query": {"kind": "statuses", "uppdrag": "u-saknas"}}),
        ),
    ] {
        let (reply, code) = query(&app, "vimmerby", body).await;
        assert_eq!(code.as_deref(), Some("404"), "{what}: {reply}");
        assert_eq!(reply["error"]["kind"], "not_found", "{what}");
    }

    // The same for an audit trail and a register: paged, they are the
    // whole list once.
    for list in [
        json!({"query": {"kind": "history", "entity": "goal/kf-m2"}}),
        json!({"query": {"kind": "register", "register": "uppdrag"}}),
        json!({"query": {"kind": "register", "register": "unit"}}),
    ] {
        let (whole, one) = every_page(&app, list.clone(), 2000).await;
        assert_eq!(one, 1, "{list}");
        assert!(whole.len() > 3, "{list}");
        let (paged, pages) = every_page(&app, list.clone(), 2).await;
        assert_eq!(paged, whole, "{list}");
        assert!(pages >= whole.len() / 2, "{list}");
    }

    // A page that would not fit comes shorter, and `next` leads on: every
    // value still exactly once.
    let mut too_much = outcomes.clone();
    too_much["limit"] = json!(2000);
    let (reply, code) = query(&app, "vimmerby", too_much).await;
    assert_eq!(code, None, "{reply}");
    let page = reply["result"].as_array().unwrap().len();
    assert!((1..2000).contains(&page), "{page}");
    assert!(reply["next"].is_string());
    assert!(reply.to_string().len() <= 256 * 1024);
    let (asked_big, _) = every_page(&app, outcomes.clone(), 2000).await;
    assert_eq!(asked_big, all);
    // A page of no items, or more than a page holds, is refused.
    for limit in [0, 100_000] {
        let mut bad = outcomes.clone();
        bad["limit"] = json!(limit);
        let (reply, code) = query(&app, "vimmerby", bad).await;
        assert_eq!(code.as_deref(), Some("400"), "{reply}");
        assert_eq!(reply["error"]["kind"], "invalid_query");
    }
}

/// On a server carrying little (here 12 KiB), a plan that does not fit is
/// an error reply naming where its parts are, and a register's page comes
/// as long as fits, each item once over the pages.
#[tokio::test]
async fn a_reply_over_the_servers_limit_pages_shorter_or_names_the_parts() {
    let max = 12 * 1024;
    let app = spawn_app_on(TestNats::start_with(|o| o.max_payload = max).await).await;
    let k = KommunId::new("vimmerby").unwrap();
    let kommuner = Kommuner::new(app.store.clone());
    for s in example::vimmerby().unwrap() {
        kommuner.submit(&k, s).await.unwrap();
    }
    let (reply, code) = query(
        &app,
        "vimmerby",
        json!({"query": {"kind": "plan", "year": 2026}}),
    )
    .await;
    assert_eq!(code.as_deref(), Some("413"), "{reply}");
    assert_eq!(reply["error"]["kind"], "reply_too_large");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("register uppdrag") && message.contains("max_payload"),
        "{message}"
    );
    let register = json!({"query": {"kind": "register", "register": "uppdrag"}});
    let (reply, code) = query(&app, "vimmerby", register.clone()).await;
    assert_eq!(code, None, "{reply}");
    assert!(reply.to_string().len() <= max as usize);
    let (whole, pages) = every_page(&app, register.clone(), 200).await;
    assert!(pages > 1, "{pages}");
    let (small, _) = every_page(&app, register, 1).await;
    assert_eq!(whole, small);
}

/// An error reply keeps its JSON body and counts as an error in
/// `$SRV.STATS`, per endpoint, with the last error's code and message.
#[tokio::test]
async fn error_replies_count_in_the_service_stats() {
    let app = spawn_app().await;
    let (reply, code) = call(
        &app,
        "styrkedja.api.vimmerby.submit".into(),
        b"{ not json".to_vec(),
    )
    .await;
    assert_eq!(code.as_deref(), Some("400"));
    assert_eq!(reply["error"]["kind"], "invalid_submission", "{reply}");
    let (reply, _) = query(
        &app,
        "nowhere",
        json!({"query": {"kind": "plan", "year": 2026}}),
    )
    .await;
    assert!(reply.get("error").is_some(), "{reply}");
    let (reply, _) = query(&app, "nowhere", json!({"query": {"kind": "nonsense"}})).await;
    assert!(reply.get("error").is_some(), "{reply}");

    let stats = app
        .client
        .request("$SRV.STATS.styrkedja", "".into())
        .await
        .unwrap();
    let stats: Value = serde_json::from_slice(&stats.payload).unwrap();
    assert_eq!(stats["type"], "io.nats.micro.v1.stats_response", "{stats}");
    let endpoint = |name: &str| {
        stats["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {stats}"))
            .clone()
    };
    let submit = endpoint("submit");
    assert_eq!(submit["num_requests"], 1, "{submit}");
    assert_eq!(submit["num_errors"], 1, "{submit}");
    assert!(
        submit["last_error"].as_str().unwrap().starts_with("400:"),
        "{submit}"
    );
    let q = endpoint("query");
    assert_eq!(q["num_requests"], 2, "{q}");
    assert_eq!(q["num_errors"], 2, "{q}");
    // The service answers discovery under its id too.
    let id = stats["id"].as_str().unwrap();
    let ping = app
        .client
        .request(format!("$SRV.PING.styrkedja.{id}"), "".into())
        .await
        .unwrap();
    let ping: Value = serde_json::from_slice(&ping.payload).unwrap();
    assert_eq!(ping["type"], "io.nats.micro.v1.ping_response", "{ping}");
}

/// A shutdown in the middle of a burst of requests: every request is
/// answered, or refused at once as having no responder (it came after the
/// service unsubscribed) — none waits for its time-out, and the service
/// returns cleanly.
#[tokio::test]
async fn a_shutdown_answers_every_request_it_was_given() {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let kommuner = Kommuner::new(store.clone()).with_registrars(vec!["app".into()]);
    let k = KommunId::new("vimmerby").unwrap();
    for s in example::vimmerby().unwrap() {
        kommuner.submit(&k, s).await.unwrap();
    }
    let api = Arc::new(Api {
        kommuner: Arc::new(kommuner),
        projector: Arc::new(Projector::open(nats.path("proj")).unwrap()),
        health: Default::default(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(api::serve_until(
        nats.client_as("styr-api").await,
        api,
        async {
            let _ = stopped.await;
        },
    ));
    let (address, options) = styr_store::connect_options(&nats.user_url("app"));
    let client = options
        .request_timeout(Some(std::time::Duration::from_secs(30)))
        .connect(address)
        .await
        .unwrap();
    answers_discovery(&client).await;

    // Stop once the first answers are coming in: the rest are in flight.
    let burst = styr_testkit::plan_query_burst(&client, 400).await;
    stop.send(()).unwrap();
    let (answered, refused) = styr_testkit::count_plan_answers(burst).await;
    assert_eq!(answered + refused, 400);
    assert!(answered > 0, "{answered} answered, {refused} refused");
    service.await.unwrap().unwrap();
}

/// The server the service talks to dies, then the service is told to stop:
/// it stops (it does not wait forever to drain subscriptions or flush
/// replies through a connection that never comes back).
#[tokio::test]
async fn a_service_whose_server_died_still_stops_when_told() {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let api = Arc::new(Api {
        kommuner: Arc::new(Kommuner::new(store)),
        projector: Arc::new(Projector::open(nats.path("proj")).unwrap()),
        health: Default::default(),
    });
    let client = nats.client_as("styr-api").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(api::serve_until(client.clone(), api, async {
        let _ = stopped.await;
    }));
    let probe = nats.client_as("app").await;
    answers_discovery(&probe).await;
    drop(probe);
    // The server stops (its folder removed with it).
    drop(nats);
    let _ = stop.send(());
    // A hang guard, not a timing: without the fix the service never returns.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(300), service).await;
    assert!(
        ended.is_ok(),
        "the service did not stop after its server died"
    );
}

/// Waits until the service answers discovery (it may still be starting: a
/// request with no responder yet is retried, a bounded number of times).
async fn answers_discovery(client: &async_nats::Client) {
    for _ in 0..500 {
        if client
            .request("$SRV.PING.styrkedja", "".into())
            .await
            .is_ok()
        {
            return;
        }
    }
    panic!("the service never answered discovery");
}
