//! Goals across the organisation, as a revisor meets them: a
//! kommunalförbund on the same platform keeps its own history and a member
//! refers to the förbund's decision by sequence and hash instead of copying
//! it (verifying the member checks each reference against the förbund);
//! the report groups måluppfyllelse by process and by Agenda 2030 goal.

use std::sync::Arc;

use serde_json::json;
use styr_audit::*;
use styr_service::{Kommuner, Outcome, Submission};
use styr_store::{ChainHash, EventStore, KommunId};
use styr_testkit::TestNats;

fn submission(key: &str, body: &str, on: &str, command: serde_json::Value) -> Submission {
    serde_json::from_value(json!({
        "idempotency_key": key, "recorded_by": "registrator",
        "provenance": {"decided_by": {"kind": "body", "body": body, "meeting_date": on, "paragraph": "1"}, "effective_date": on},
        "command": command
    }))
    .unwrap()
}

async fn record(kommuner: &Kommuner, k: &KommunId, s: Submission) -> u64 {
    match kommuner.submit(k, s).await.unwrap() {
        Outcome::Recorded(c) => c.last_sequence,
        other => panic!("not recorded: {other:?}"),
    }
}

/// The förbund's own history with its handlingsprogram; the member with
/// the förbund as a body, a process and a process goal.
async fn platform() -> (TestNats, Arc<EventStore>, Kommuner, u64, String) {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let kommuner = Kommuner::new(store.clone());
    let rtj = KommunId::new("rtj-sydost").unwrap();
    record(&kommuner, &rtj, submission("r1", "direktion", "2025-01-10", json!({
        "command": "register_kommun", "name": "Räddningstjänstförbundet Sydost", "kommunkod": "0884",
        "council": "direktion", "forbund": {"members": ["0884", "0860", "0882"], "organ": "direktion"}}))).await;
    let seq = record(&kommuner, &rtj, submission("r2", "direktion", "2026-03-05", json!({
        "command": "adopt_styrdokument", "doc": "handlingsprogram", "kind": "program",
        "title": "Handlingsprogram för skydd mot olyckor 2026–2029", "owner": "direktion", "valid_from": "2026-04-01"}))).await;
    let hash = ChainHash::of_event(&store.raw_message(&rtj, seq).await.unwrap()).to_hex();

    let k = KommunId::new("vimmerby").unwrap();
    for (key, body, on, c) in [
        (
            "v1",
            "kf",
            "2022-11-07",
            json!({"command": "register_kommun", "name": "Vimmerby kommun", "kommunkod": "0884", "council": "kf"}),
        ),
        (
            "v2",
            "kf",
            "2022-11-07",
            json!({"command": "establish_body", "body": "ks", "kind": "executive_board", "name": "KS", "area": "Leder"}),
        ),
        (
            "v3",
            "kf",
            "2025-04-14",
            json!({"command": "establish_body", "body": "rtj", "kind": "kommunalforbund", "name": "Räddningstjänstförbundet Sydost",
            "area": "Räddningstjänst", "forbund": {"members": ["0884", "0860", "0882"], "organ": "direktion", "stream": "rtj-sydost"}}),
        ),
        (
            "v4",
            "ks",
            "2025-05-12",
            json!({"command": "define_malgrupp", "malgrupp": "invanare", "name": "Invånare"}),
        ),
        (
            "v5",
            "ks",
            "2025-05-12",
            json!({"command": "establish_process", "process": "trygghet", "name": "Trygg kommun",
            "purpose": "Färre olyckor", "owner": "ks", "malgrupper": ["invanare"]}),
        ),
        (
            "v6",
            "ks",
            "2025-12-08",
            json!({"command": "adopt_process_goals", "process": "trygghet", "goals": [
            {"id": "tr-1", "title": "Färre bränder i bostäder", "from_year": 2026, "to_year": 2027, "agenda2030": ["11.5"]}]}),
        ),
    ] {
        record(&kommuner, &k, submission(key, body, on, c)).await;
    }
    (nats, store, kommuner, seq, hash)
}

/// The example kommun, loaded through the service on a server of its own.
async fn example_kommun() -> (TestNats, Arc<EventStore>, Kommuner, KommunId) {
    let nats = TestNats::start().await;
    let store = nats.shared_store().await;
    let kommuner = Kommuner::new(store.clone());
    let k = KommunId::new("vimmerby").unwrap();
    for s in styr_service::example::vimmerby().unwrap() {
        kommuner.submit(&k, s).await.unwrap();
    }
    (nats, store, kommuner, k)
}

fn contribution(id: &str, sequence: u64, hash: &str) -> serde_json::Value {
    json!({"command": "record_contribution", "contribution": id, "body": "rtj", "goal": "tr-1", "year": 2026,
           "title": "Handlingsprogrammet", "forbund_record": {"sequence": sequence, "hash": hash}})
}

#[tokio::test]
async fn a_members_reference_to_the_forbunds_history_is_checked_against_it() {
    let (_nats, store, kommuner, seq, hash) = platform().await;
    let k = KommunId::new("vimmerby").unwrap();
    let at = record(
        &kommuner,
        &k,
        submission("c1", "rtj", "2026-03-05", contribution("c1", seq, &hash)),
    )
    .await;

    let report = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        report.references,
        [ForbundReference {
            sequence: at,
            stream: "rtj-sydost".into(),
            referenced_sequence: seq,
            hash: hash.clone()
        }]
    );
    let checked = check_references(&store, &report.references).await;
    assert_eq!(
        checked[0].1,
        ReferenceOutcome::Holds {
            event_type: "StyrdokumentAdopted".into(),
            decided: "DIREKTION 2026-03-05 § 1".into()
        }
    );

    // A reference to another of the förbund's events (its registration)
    // under the handlingsprogram's hash points at another decision; one
    // past the förbund's history cannot be read.
    let wrong = record(
        &kommuner,
        &k,
        submission("c2", "rtj", "2026-03-05", contribution("c2", 1, &hash)),
    )
    .await;
    let beyond = record(
        &kommuner,
        &k,
        submission("c3", "rtj", "2026-03-05", contribution("c3", 99, &hash)),
    )
    .await;
    let report = verify_stream(&store, &k, Options::default())
        .await
        .unwrap()
        .unwrap();
    let checked = check_references(&store, &report.references).await;
    let by_seq = |s: u64| {
        checked
            .iter()
            .find(|(r, _)| r.sequence == s)
            .unwrap()
            .1
            .clone()
    };
    assert!(by_seq(at).holds());
    let actual = ChainHash::of_event(
        &store
            .raw_message(&KommunId::new("rtj-sydost").unwrap(), 1)
            .await
            .unwrap(),
    )
    .to_hex();
    assert_eq!(by_seq(wrong), ReferenceOutcome::Differs { actual });
    assert!(matches!(
        by_seq(beyond),
        ReferenceOutcome::Unreachable { .. }
    ));

    // The förbund's own history verifies on its own, and its register
    // says what it is.
    let rtj = KommunId::new("rtj-sydost").unwrap();
    assert!(verify_stream(&store, &rtj, Options::default())
        .await
        .unwrap()
        .is_ok());
}

#[tokio::test]
async fn a_forbunds_own_history_takes_no_kolada_import() {
    let (_nats, _store, kommuner, _, _) = platform().await;
    let rtj = KommunId::new("rtj-sydost").unwrap();
    let out = kommuner
        .submit(
            &rtj,
            submission("k1", "direktion", "2026-03-05", json!({
                "command": "import_kolada", "fetched_at": "2026-03-01T10:00:00Z",
                "rows": [{"kpi": "N01951", "municipality": "0884", "period": 2025, "gender": "T", "status": "", "value": 1.0}]})),
        )
        .await
        .unwrap();
    assert!(
        matches!(&out, Outcome::Rejected(r) if r.field == "rows" && r.message.contains("kommunalförbund")),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_revisor_report_groups_goals_by_process_and_by_agenda_2030_when_asked() {
    let (nats, store, _, k) = example_kommun().await;
    let p = styr_projections::Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let today: chrono::NaiveDate = "2027-03-01".parse().unwrap();
    let verification = verify_stream(&store, &k, Options::default()).await.unwrap();
    let build = |grouping| {
        let r = RevisorReport::build(p.view(), &k, 2026, today, verification.clone())
            .unwrap()
            .grouped_by(grouping);
        let t = r
            .tables()
            .into_iter()
            .find(|t| t.file == "maluppfyllelse.csv")
            .unwrap();
        let rows: Vec<(String, String)> = t
            .rows
            .iter()
            .map(|r| (r[0].plain(), r[1].plain()))
            .collect();
        (t.header, rows)
    };
    // Ungrouped: every goal of the year once, the processmål among them.
    let (header, plain) = build(None);
    assert_eq!(header[0], "mål");
    let ids: Vec<&str> = plain.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&"etab-m1") && ids.contains(&"kf-m2") && ids.contains(&"bun-m1"));
    // By process: the KF goal of Barns uppväxt and the nämndmål that
    // break it down under it (the räddningstjänstförbund's among them);
    // the processmål under Etablering.
    let (header, by_process) = build(Some(GoalGrouping::Process));
    assert_eq!(header[0], "process");
    let under = |rows: &[(String, String)], group: &str| -> Vec<String> {
        rows.iter()
            .filter(|(g, _)| g == group)
            .map(|(_, id)| id.clone())
            .collect()
    };
    assert_eq!(
        under(&by_process, "Barns uppväxt"),
        ["kf-m2", "bun-m1", "bun-m2", "kfn-m1", "rtj-m1"]
    );
    assert_eq!(under(&by_process, "Etablering av företag"), ["etab-m1"]);
    assert!(under(&by_process, "ingen process").contains(&"kf-m1".to_owned()));
    assert_eq!(by_process.last().unwrap().0, "ingen process");
    // By Agenda 2030: a goal under each global goal it (or an indicator) serves.
    let (header, by_goal) = build(Some(GoalGrouping::Agenda2030));
    assert_eq!(header[0], "agenda_2030");
    assert_eq!(
        under(&by_goal, "04 God utbildning för alla"),
        ["kf-m2", "bun-m1"]
    );
    assert_eq!(
        under(
            &by_goal,
            "08 Anständiga arbetsvillkor och ekonomisk tillväxt"
        ),
        ["etab-m1"]
    );
    assert_eq!(
        under(
            &by_goal,
            "09 Hållbar industri, innovationer och infrastruktur"
        ),
        ["etab-m1"]
    );
    assert!(under(&by_goal, "inget Agenda 2030-mål").contains(&"kf-f1".to_owned()));
}

#[tokio::test]
async fn the_revisor_report_lists_negative_results_to_restore() {
    let (nats, store, kommuner, k) = example_kommun().await;
    // KS's årsredovisning for 2027: −6 000 tkr after RUR.
    let mut s = submission(
        "ks-ar-2027",
        "ks",
        "2028-02-22",
        json!({"command": "adopt_follow_up_report", "body": "ks", "year": 2027, "kind": "arsredovisning",
               "ramar": [], "balanskrav": {"arets_resultat": -6000, "balanskravsresultat": -6000, "efter_rur": -6000}}),
    );
    s.recorded_by = "exempel-laddning".into();
    record(&kommuner, &k, s).await;
    let p = styr_projections::Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let verification = verify_stream(&store, &k, Options::default()).await.unwrap();
    let today: chrono::NaiveDate = "2028-12-31".parse().unwrap();
    let r = RevisorReport::build(p.view(), &k, 2028, today, verification).unwrap();
    let t = r
        .tables()
        .into_iter()
        .find(|t| t.file == "aterstallande.csv")
        .unwrap();
    let row: Vec<String> = t.rows[0].iter().map(Cell::plain).collect();
    assert_eq!(row[0], "2027");
    assert_eq!(row[1], "6000");
    assert_eq!(row[3], "6000");
    assert_eq!(row[4], "2030");
    assert_eq!(row[5], "öppet");
    assert_eq!(t.rows[0][5].tone(), Some(Tone::Warn));
    assert!(r.csv().unwrap().contains_key("aterstallande.csv"));
}
