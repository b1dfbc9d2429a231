//! Goals across the organisation in the read models: the chain from a
//! process goal to every contribution, what serves an Agenda 2030 goal
//! (live and as of a date), and the process gaps.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use styr_projections::*;
use styr_store::KommunId;

use crate::support::{decision, example_written};

fn vimmerby() -> KommunId {
    KommunId::new("vimmerby").unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn paths(nodes: &[Node]) -> BTreeSet<&str> {
    nodes.iter().map(|n| n.path.as_str()).collect()
}

#[tokio::test]
async fn the_chain_runs_from_a_process_goal_to_every_contribution() {
    let (nats, store, mut writer) = example_written().await;
    let k = vimmerby();
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();

    let c = p.chain(&k, "goal/etab-m1").unwrap().unwrap();
    assert_eq!(
        paths(&c.down),
        BTreeSet::from(["contribution/sbn-etab-2026", "contribution/vemab-etab-2026"])
    );
    assert!(paths(&c.up).contains("process/etablering"), "{:?}", c.up);
    // The KF goal that belongs to a process: below it, the förbund's
    // contribution beside the nämndmål that break it down.
    let kf = p.chain(&k, "goal/kf-m2").unwrap().unwrap();
    assert!(paths(&kf.up).contains("process/barns-uppvaxt"));
    for node in ["contribution/rtj-barn-2026", "goal/bun-m1"] {
        assert!(paths(&kf.down).contains(node), "{node}: {:?}", kf.down);
    }
    // The förbund's own node has its contributions below it.
    let rtj = p.chain(&k, "body/rtj").unwrap().unwrap();
    assert_eq!(
        paths(&rtj.down),
        BTreeSet::from(["contribution/rtj-barn-2026"])
    );

    // One more contribution reaches the kept chain and the register.
    writer
        .record(&decision(
            "kfn-bidrag",
            "kfn",
            "2026-04-01",
            serde_json::json!({"command": "record_contribution", "contribution": "kfn-etab-2026", "body": "kfn",
                               "goal": "etab-m1", "year": 2026, "title": "Evenemang som lockar företag"}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let c = p.chain(&k, "goal/etab-m1").unwrap().unwrap();
    assert!(paths(&c.down).contains("contribution/kfn-etab-2026"));
    assert_eq!(c, chain(p.view(), &k, "goal/etab-m1").unwrap().unwrap());
    let etablering = processes(p.view(), &k)
        .unwrap()
        .into_iter()
        .find(|v| v.process.id == "etablering")
        .unwrap();
    let ids: BTreeSet<&str> = etablering
        .contributions
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["kfn-etab-2026", "sbn-etab-2026", "vemab-etab-2026"])
    );
    assert_eq!(etablering.malgrupper[0].name, "Företag");
}

/// (goal path, its tags, (indicator, its tags, number of outcomes)).
type Served = Vec<(String, Vec<String>, Vec<(String, Vec<String>, usize)>)>;

fn served(v: &Agenda2030View) -> Served {
    v.serving
        .iter()
        .map(|g| {
            (
                g.path.clone(),
                g.tags.clone(),
                g.indicators
                    .iter()
                    .map(|i| (i.id.clone(), i.tags.clone(), i.outcomes.len()))
                    .collect(),
            )
        })
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn what_serves_an_agenda_2030_goal_live_and_as_of() {
    let (nats, store, _) = example_written().await;
    let k = vimmerby();
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let live = agenda2030(p.view(), &k, 4).unwrap().unwrap();
    assert_eq!(live.name, "God utbildning för alla");
    // Exactly the tagged goals, each tagged indicator with every outcome
    // recorded for it (the example has four values for behoriga-gy).
    let outcomes = goals(p.view(), &k)
        .unwrap()
        .into_iter()
        .find(|g| g.id == "kf-m2")
        .unwrap()
        .outcomes["behoriga-gy"]
        .len();
    assert!(outcomes > 0);
    assert_eq!(
        served(&live),
        vec![
            ("goal/bun-m1".to_owned(), s(&["4.1"]), vec![]),
            (
                "goal/kf-m2".to_owned(),
                s(&["4.1", "4.2"]),
                vec![("behoriga-gy".to_owned(), s(&["4.1"]), outcomes)]
            ),
        ]
    );
    // Goal 8: a processmål through its tag, and a KF goal of 2027.
    let eight = agenda2030(p.view(), &k, 8).unwrap().unwrap();
    let goals8: Vec<&str> = eight.serving.iter().map(|g| g.path.as_str()).collect();
    assert_eq!(goals8, ["goal/etab-m1", "goal/kf-m4"]);
    assert_eq!(eight.serving[0].level, "process");
    assert!(agenda2030(p.view(), &k, 18).unwrap().is_none());
    assert!(agenda2030(p.view(), &k, 14)
        .unwrap()
        .unwrap()
        .serving
        .is_empty());

    // As of a date: before the 2027 budget, goal 8 is served by the
    // processmål alone; before the 2026 budget, goal 4 by nothing; before
    // the first value, kf-m2 has its indicator without outcomes.
    let before_2027 = as_of(&store, &k, AsOf::InForce(date("2026-01-01")))
        .await
        .unwrap();
    let goals8: Vec<String> = agenda2030(&before_2027, &k, 8)
        .unwrap()
        .unwrap()
        .serving
        .into_iter()
        .map(|g| g.path)
        .collect();
    assert_eq!(goals8, ["goal/etab-m1"]);
    let early = agenda2030(&before_2027, &k, 4).unwrap().unwrap();
    assert_eq!(
        served(&early),
        vec![
            ("goal/bun-m1".to_owned(), s(&["4.1"]), vec![]),
            (
                "goal/kf-m2".to_owned(),
                s(&["4.1", "4.2"]),
                vec![("behoriga-gy".to_owned(), s(&["4.1"]), 0)]
            ),
        ]
    );
    let before_budget = as_of(&store, &k, AsOf::InForce(date("2025-06-01")))
        .await
        .unwrap();
    assert!(agenda2030(&before_budget, &k, 4)
        .unwrap()
        .unwrap()
        .serving
        .is_empty());
}

#[tokio::test]
async fn gaps_name_process_goals_nobody_serves_and_contributions_to_closed_processes() {
    let (nats, store, mut writer) = example_written().await;
    let k = vimmerby();
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let of = |gaps: &[Gap], kind: &str| -> BTreeSet<String> {
        gaps.iter()
            .filter(|g| g.kind == kind)
            .map(|g| g.entity.clone())
            .collect()
    };
    // 2026: every process goal is served; 2027: nobody has contributed yet.
    let g26 = gaps(p.view(), &k, 2026, date("2027-03-31")).unwrap();
    assert!(
        of(&g26, "process_goal_without_contribution").is_empty(),
        "{g26:?}"
    );
    assert!(of(&g26, "contribution_to_closed_process").is_empty());
    let g27 = gaps(p.view(), &k, 2027, date("2027-03-31")).unwrap();
    assert_eq!(
        of(&g27, "process_goal_without_contribution"),
        BTreeSet::from(["goal/etab-m1".to_owned(), "goal/kf-m2".to_owned()])
    );
    // A KF goal in a process is followed as one, not as unbroken-down.
    assert!(!of(&g27, "kf_goal_not_broken_down").contains("goal/kf-m2"));

    // A nämndmål that breaks down a processmål alone has a valid link.
    writer
        .record(&decision(
            "sbn-revision",
            "sbn",
            "2026-02-10",
            serde_json::json!({"command": "adopt_namndplan", "body": "sbn", "year": 2026, "grunduppdrag": "Enligt reglemente",
                "revises": true, "goals": [
                    {"id": "sbn-m1", "title": "Attraktiva bostadsområden och offentliga miljöer", "perspective": "invanare_och_brukare", "kf_goals": ["kf-m1"]},
                    {"id": "sbn-m2", "title": "Snabbare planbesked för företag", "perspective": "utveckling", "kf_goals": ["etab-m1"]}]}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let g26 = gaps(p.view(), &k, 2026, date("2027-03-31")).unwrap();
    assert!(
        of(&g26, "namndmal_without_valid_link").is_empty(),
        "{g26:?}"
    );

    // KS closes the process with 2025 as its last year: the 2026
    // contributions now serve a closed process.
    writer
        .record(&decision(
            "ks-stanger",
            "ks",
            "2026-05-04",
            serde_json::json!({"command": "close_process", "process": "etablering", "last_year": 2025,
                               "reason": "Arbetet går upp i näringslivsstrategin"}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let g26 = gaps(p.view(), &k, 2026, date("2027-03-31")).unwrap();
    assert_eq!(
        of(&g26, "contribution_to_closed_process"),
        BTreeSet::from([
            "contribution/sbn-etab-2026".to_owned(),
            "contribution/vemab-etab-2026".to_owned()
        ])
    );
    // A closed process asks nothing more of 2027.
    let g27 = gaps(p.view(), &k, 2027, date("2027-03-31")).unwrap();
    assert_eq!(
        of(&g27, "process_goal_without_contribution"),
        BTreeSet::from(["goal/kf-m2".to_owned()])
    );
    // A KF goal whose process has closed is followed as a KF goal again.
    writer
        .record(&decision(
            "ks-barn-stanger",
            "ks",
            "2026-05-04",
            serde_json::json!({"command": "close_process", "process": "barns-uppvaxt", "last_year": 2026,
                               "reason": "Uppdraget går till socialnämnden"}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let g27 = gaps(p.view(), &k, 2027, date("2027-03-31")).unwrap();
    assert!(
        of(&g27, "kf_goal_not_broken_down").contains("goal/kf-m2"),
        "{g27:?}"
    );
    assert!(
        of(&g27, "process_goal_without_contribution").is_empty(),
        "{g27:?}"
    );
    // The plan for 2026 no longer lists the closed process.
    let plan = plan(p.view(), &k, 2026).unwrap();
    let running: Vec<&str> = plan
        .processes
        .iter()
        .map(|v| v.process.id.as_str())
        .collect();
    assert_eq!(running, ["barns-uppvaxt"]);
}
