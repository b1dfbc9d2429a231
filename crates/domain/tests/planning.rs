//! given / when / then for every planning decision and every rule.

use serde_json::json;
use styr_domain::*;
use uuid::Uuid;

mod common;

use common::*;

#[test]
fn register_kommun() {
    let mut w = World::new();
    let p = || by("kf", "2022-11-07");
    let reg = json!({"command": "register_kommun", "name": "Vimmerby kommun", "kommunkod": "0884", "council": "kf"});
    w.then_rejected(by("ks", "2022-11-07"), reg.clone(), Rule::P1, "decided_by");
    w.then_rejected(
        p(),
        json!({"command": "register_kommun", "name": "V", "kommunkod": "884", "council": "kf"}),
        Rule::Input,
        "kommunkod",
    );
    w.then_rejected(p(), json!({"command": "establish_body", "body": "ks", "kind": "executive_board", "name": "KS", "area": "a"}), Rule::Reference, "command");
    let events = w.then_ok(p(), reg.clone());
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event_type(), "BodyEstablished");
    w.then_rejected(p(), reg, Rule::P6, "command");
}

#[test]
fn establish_body_and_units() {
    let mut w = kommun();
    let body = |id: &str| json!({"command": "establish_body", "body": id, "kind": "committee", "name": "N", "area": "a"});
    w.then_rejected(by("ks", "2023-02-01"), body("tn"), Rule::P1, "decided_by");
    w.then_rejected(by("kf", "2023-02-01"), body("bun"), Rule::P6, "body");
    w.then_rejected(by("kf", "2023-02-01"), body("t.n"), Rule::Input, "body");
    w.then_rejected(by("kf", "2023-02-01"), json!({"command": "establish_body", "body": "x", "kind": "company", "name": "X", "area": "a", "parent_company": "bun"}), Rule::Reference, "parent_company");
    w.then_ok(by("kf", "2023-02-01"), body("tn"));

    let unit = |id: &str, parent: &str| json!({"command": "establish_unit", "unit": id, "name": id, "namnd": "bun", "parent": parent, "level": "ansvarsenhet"});
    // Fourth level is allowed, a fifth is not.
    w.then_ok(by("bun", "2023-02-01"), unit("bun-klass", "bun-sodra"));
    w.then_rejected(
        by("bun", "2023-02-01"),
        unit("bun-grupp", "bun-klass"),
        Rule::Consistency,
        "parent",
    );
    w.then_rejected(
        by("bun", "2023-02-01"),
        unit("bun-x", "sn-forv"),
        Rule::Reference,
        "parent",
    );
    w.then_rejected(
        by("bun", "2023-02-01"),
        unit("bun-y", "nowhere"),
        Rule::Reference,
        "parent",
    );
    w.then_rejected(
        by("sn", "2023-02-01"),
        unit("bun-z", "bun-forv"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("bun-forv", "2023-02-01"),
        unit("bun-z", "bun-forv"),
        Rule::P1,
        "decided_by",
    );
    // The delegat's point covers organisation; another point does not exist.
    w.then_ok(
        delegate("bun", "2.1", "forvaltningschef", "2023-02-01"),
        unit("bun-z", "bun-forv"),
    );
    w.then_rejected(
        delegate("bun", "9.9", "forvaltningschef", "2023-02-01"),
        unit("bun-w", "bun-forv"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        delegate("bun", "2.1", "rektor", "2023-02-01"),
        unit("bun-w", "bun-forv"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(by("kf", "2023-02-01"), json!({"command": "establish_unit", "unit": "u", "name": "u", "namnd": "rev", "level": "forvaltning"}), Rule::Reference, "namnd");
    w.then_rejected(by("ks", "2023-02-01"), json!({"command": "grant_delegation", "body": "bun", "point": "1", "delegate": "x", "matters": ["plan"]}), Rule::P1, "decided_by");
    w.then_rejected(by("bun", "2023-02-01"), json!({"command": "grant_delegation", "body": "bun", "point": "1", "delegate": "x", "matters": []}), Rule::Input, "matters");
}

#[test]
fn direction_and_styrdokument() {
    let mut w = kommun();
    let kf = || by("kf", "2023-10-09");
    w.then_rejected(kf(), json!({"command": "adopt_direction", "id": "sp", "kind": "strategisk_plan", "title": "S", "text": "t"}), Rule::Input, "period");
    w.then_rejected(kf(), json!({"command": "adopt_direction", "id": "sp", "kind": "strategisk_plan", "title": "S", "text": "t", "period": {"from_year": 2023, "to_year": 2025}}), Rule::Consistency, "period");
    w.then_rejected(by("ks", "2023-10-09"), json!({"command": "adopt_direction", "id": "v", "kind": "vision", "title": "V", "text": "t"}), Rule::P1, "decided_by");
    w.then_ok(kf(), json!({"command": "adopt_direction", "id": "sp", "kind": "strategisk_plan", "title": "S", "text": "t", "period": {"from_year": 2023, "to_year": 2026}}));
    w.then_rejected(kf(), json!({"command": "adopt_direction", "id": "sp", "kind": "vision", "title": "S", "text": "t"}), Rule::P6, "id");

    let doc = |owner: &str, kind: &str, replaces: Option<u32>| json!({"command": "adopt_styrdokument", "doc": "d1", "kind": kind, "title": "T", "owner": owner, "valid_from": "2024-01-01", "replaces_version": replaces});
    w.then_rejected(
        by("bun", "2023-10-09"),
        doc("bun", "policy", None),
        Rule::P1,
        "owner",
    );
    w.then_rejected(
        by("ks", "2023-10-09"),
        doc("bun", "riktlinje", None),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(by("bun", "2023-10-09"), doc("bun", "riktlinje", None));
    w.then_rejected(
        by("bun", "2023-11-09"),
        doc("bun", "riktlinje", None),
        Rule::P6,
        "replaces_version",
    );
    w.then_rejected(
        by("bun", "2023-11-09"),
        doc("bun", "riktlinje", Some(3)),
        Rule::P6,
        "replaces_version",
    );
    let events = w.then_ok(by("bun", "2023-11-09"), doc("bun", "riktlinje", Some(1)));
    assert!(matches!(
        events[0],
        Event::StyrdokumentAdopted {
            version: 2,
            replaces_version: Some(1),
            ..
        }
    ));
    let repeal =
        json!({"command": "repeal_styrdokument", "doc": "d1", "reason": "Ersatt av policy"});
    w.then_rejected(
        by("kf", "2024-01-01"),
        repeal.clone(),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(by("bun", "2024-01-01"), repeal.clone());
    w.then_rejected(by("bun", "2024-02-01"), repeal, Rule::P6, "doc");
    w.then_rejected(
        by("bun", "2024-02-01"),
        doc("bun", "riktlinje", Some(2)),
        Rule::P6,
        "doc",
    );
}

#[test]
fn budget_is_one_decision_with_all_its_parts() {
    let w = kommun();
    let events = World::new_with(&w)
        .state
        .decide(&by("kf", "2026-06-15"), &cmd(budget_2027(json!({}))))
        .unwrap();
    assert_eq!(
        events[0],
        Event::BudgetAdopted {
            year: 2027,
            plan_years: [2028, 2029]
        }
    );
    let types: Vec<_> = events.iter().map(Event::event_type).collect();
    assert!(
        types.contains(&"RamSet")
            && types.contains(&"UppdragClosed")
            && types.contains(&"UppdragExtended")
    );
    assert!(w.state.uppdrag["u-1"].to.contains(&"sn".to_owned()));
}

impl World {
    fn new_with(w: &World) -> World {
        World {
            state: w.state.clone(),
            next_id: w.next_id,
            ids: w.ids.clone(),
        }
    }
}

/// A 2027 budget closing u-1 and extending u-2, with `extra` fields merged in.
fn budget_2027(extra: serde_json::Value) -> serde_json::Value {
    let mut b = json!({"command": "adopt_budget", "year": 2027,
        "ramar": [{"body": "bun", "year": 2027, "amount": 520000}],
        "uppdrag_closed": {"u-1": "Genomfört"},
        "uppdrag_extended": {"u-2": "2027-12-31"}});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[test]
fn budget_rules() {
    let w = kommun();
    let kf = || by("kf", "2026-06-15");
    w.then_rejected(
        by("ks", "2026-06-15"),
        budget_2027(json!({})),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(by("kf", "2025-06-20"), budget_2026(), Rule::P6, "year");
    w.then_rejected(
        by("kf", "2027-01-15"),
        budget_2027(json!({})),
        Rule::Consistency,
        "year",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"ramar": [{"body": "bun", "year": 2030, "amount": 1}]})),
        Rule::Consistency,
        "ramar[0].year",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"ramar": [{"body": "bun", "year": 2028, "amount": 1}]})),
        Rule::P4,
        "ramar",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"ramar": [{"body": "rev", "year": 2027, "amount": 1}]})),
        Rule::Reference,
        "ramar[0].body",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"ramar": [{"body": "bun", "year": 2027, "amount": -1}]})),
        Rule::Input,
        "ramar[0].amount",
    );
    w.then_rejected(kf(), budget_2027(json!({"ramar": [{"body": "bun", "year": 2027, "amount": 1}, {"body": "bun", "year": 2027, "amount": 2}]})), Rule::Input, "ramar[1]");
    let goal = |from: i32, to: i32, targets: serde_json::Value, kpi: &str| {
        json!([{"id": "kf-2", "kind": "inriktningsmal", "title": "G", "from_year": from, "to_year": to,
        "indicators": [{"id": "i", "name": "I", "kolada_kpi": kpi, "direction": "decrease", "targets": targets}]}])
    };
    w.then_rejected(
        kf(),
        budget_2027(json!({"goals": goal(2027, 2031, json!([]), "N00001")})),
        Rule::Consistency,
        "goals[0].to_year",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"goals": goal(2026, 2027, json!([]), "N00001")})),
        Rule::Consistency,
        "goals[0].to_year",
    );
    w.then_rejected(
        kf(),
        budget_2027(
            json!({"goals": goal(2027, 2028, json!([{"year": 2029, "value": 1.0}]), "N00001")}),
        ),
        Rule::Consistency,
        "indicators[0].targets",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"goals": goal(2027, 2028, json!([]), "kpi1")})),
        Rule::Input,
        "kolada_kpi",
    );
    w.then_rejected(kf(), budget_2027(json!({"goals": [{"id": "kf-1", "kind": "inriktningsmal", "title": "G", "from_year": 2027, "to_year": 2027}]})), Rule::P6, "goals[0].id");
    let uppdrag = |id: &str, to: serde_json::Value, due: &str| json!([{"id": id, "title": "T", "description": "D", "to": to, "due": due}]);
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": uppdrag("u-9", json!(["nowhere"]), "2027-12-31")})),
        Rule::Reference,
        "uppdrag_given[0].to[0]",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": uppdrag("u-9", json!([]), "2027-12-31")})),
        Rule::Input,
        "uppdrag_given[0].to",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": uppdrag("u-1", json!(["bun"]), "2027-12-31")})),
        Rule::P6,
        "uppdrag_given[0].id",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": uppdrag("u-9", json!(["bun"]), "2026-12-31")})),
        Rule::Consistency,
        "uppdrag_given[0].due",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_changed": [{"id": "u-7", "title": "x"}]})),
        Rule::Reference,
        "uppdrag_changed[0].id",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_changed": [{"id": "u-1", "title": "x"}]})),
        Rule::Input,
        "uppdrag_closed.u-1",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_extended": {"u-2": "2027-01-01"}})),
        Rule::Consistency,
        "uppdrag_extended.u-2",
    );
}

#[test]
fn uppdrag_lifecycle_ends_at_closure() {
    let mut w = kommun();
    w.then_ok(by("kf", "2026-06-15"), budget_2027(json!({})));
    assert!(w.state.uppdrag["u-1"].closed);
    assert_eq!(w.state.uppdrag["u-2"].due, date("2027-12-31"));
    // P2: nothing after closure, neither by KF nor by a nämnd.
    let b2028 = |extra: serde_json::Value| {
        let mut b = json!({"command": "adopt_budget", "year": 2028, "ramar": [{"body": "bun", "year": 2028, "amount": 1}]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    w.then_rejected(
        by("kf", "2027-06-14"),
        b2028(json!({"uppdrag_changed": [{"id": "u-1", "title": "x"}]})),
        Rule::P2,
        "uppdrag_changed[0].id",
    );
    w.then_rejected(
        by("kf", "2027-06-14"),
        b2028(json!({"uppdrag_extended": {"u-1": "2028-12-31"}})),
        Rule::P2,
        "uppdrag_extended.u-1",
    );
    w.then_rejected(
        by("kf", "2027-06-14"),
        b2028(json!({"uppdrag_closed": {"u-1": "igen"}})),
        Rule::P2,
        "uppdrag_closed.u-1",
    );
    w.then_rejected(by("bun", "2027-02-01"), json!({"command": "report_uppdrag_status", "uppdrag": "u-1", "body": "bun", "as_of": "2027-01-31", "status": "done"}), Rule::P2, "uppdrag");
    // Changing an open uppdrag is KF's, in a budget: there is no other command for it.
    let events = w.then_ok(
        by("kf", "2027-06-14"),
        b2028(json!({"uppdrag_changed": [{"id": "u-2", "to": ["ks", "bun"]}]})),
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::UppdragChanged { id, .. } if id == "u-2")));
    assert_eq!(w.state.uppdrag["u-2"].to, vec!["ks", "bun"]);
}

#[test]
fn amend_ramar() {
    let mut w = kommun();
    let amend = |year: i32, change: &str| json!({"command": "amend_ramar", "year": year, "change": change, "ramar": [{"body": "bun", "year": year, "amount": 515000}]});
    w.then_rejected(
        by("kf", "2026-10-12"),
        amend(2027, "complementary"),
        Rule::Consistency,
        "change",
    );
    w.then_rejected(
        by("kf", "2025-11-10"),
        amend(2026, "complementary"),
        Rule::Consistency,
        "change",
    );
    w.then_rejected(
        by("bun", "2026-11-16"),
        amend(2027, "complementary"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("kf", "2026-11-16"),
        amend(2031, "complementary"),
        Rule::Reference,
        "year",
    );
    w.then_ok(by("kf", "2026-11-16"), amend(2027, "complementary"));
    assert_eq!(w.state.ramar[&("bun".to_owned(), 2027)], 515000);
    w.then_rejected(
        by("kf", "2027-03-01"),
        amend(2026, "supplementary"),
        Rule::Consistency,
        "year",
    );
    w.then_ok(by("kf", "2026-03-01"), amend(2026, "supplementary"));
    w.then_rejected(
        by("kf", "2026-03-01"),
        amend(2026, "budget"),
        Rule::Input,
        "change",
    );
}

#[test]
fn namndplan_keeps_the_red_thread() {
    let mut w = kommun();
    let plan = |body: &str, year: i32, links: serde_json::Value| {
        json!({"command": "adopt_namndplan", "body": body, "year": year, "grunduppdrag": "G",
        "goals": [{"id": format!("{body}-{year}-m1"), "title": "M", "perspective": "ekonomi", "kf_goals": links}]})
    };
    w.then_rejected(
        by("sn", "2025-11-20"),
        plan("sn", 2026, json!([])),
        Rule::P3,
        "goals[0].kf_goals",
    );
    w.then_rejected(
        by("sn", "2025-11-20"),
        plan("sn", 2026, json!(["kf-9"])),
        Rule::Reference,
        "goals[0].kf_goals[0]",
    );
    // kf-1 runs 2026–2027: not in force for 2028.
    w.then_rejected(
        by("sn", "2027-11-20"),
        plan("sn", 2028, json!(["kf-1"])),
        Rule::P3,
        "goals[0].kf_goals[0]",
    );
    w.then_rejected(
        by("ks", "2025-11-20"),
        plan("sn", 2026, json!(["kf-1"])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        delegate("bun", "2.1", "forvaltningschef", "2025-11-20"),
        plan("bun", 2027, json!(["kf-1"])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("sn", "2025-11-20"),
        plan("sn", 2030, json!(["kf-1"])),
        Rule::Reference,
        "year",
    );
    w.then_rejected(
        by("bun", "2025-11-21"),
        plan("bun", 2026, json!(["kf-1"])),
        Rule::P6,
        "year",
    );
    let events = w.then_ok(
        by("sn", "2025-11-20"),
        plan("sn", 2026, json!(["kf-1", "kf-f1"])),
    );
    assert_eq!(events.len(), 2);
    assert_eq!(
        w.state.namndmal["sn-2026-m1"].kf_goals,
        vec!["kf-1", "kf-f1"]
    );

    // A revision replaces the plan; its own nämndmål keep their ids.
    let mut revised = plan("sn", 2026, json!(["kf-f1"]));
    revised["revises"] = json!(true);
    w.then_rejected(
        by("bun", "2026-03-01"),
        revised.clone(),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(by("sn", "2026-03-01"), revised);
    assert_eq!(w.state.namndmal["sn-2026-m1"].kf_goals, vec!["kf-f1"]);
    // It may not take over another nämnd's goal id, nor revise what does not exist.
    let mut theft = plan("sn", 2026, json!(["kf-1"]));
    theft["revises"] = json!(true);
    theft["goals"][0]["id"] = json!("bun-m1");
    w.then_rejected(by("sn", "2026-03-02"), theft, Rule::P6, "goals[0].id");
    let mut nothing = plan("sn", 2027, json!(["kf-1"]));
    nothing["revises"] = json!(true);
    w.then_rejected(by("sn", "2026-11-02"), nothing, Rule::Reference, "revises");
}

#[test]
fn detaljbudget_distributes_the_ram() {
    let mut w = kommun();
    let db = |lines: serde_json::Value| json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": lines});
    w.then_rejected(
        by("bun", "2025-12-01"),
        db(json!([{"unit": "bun-forv", "amount": 499999}])),
        Rule::P4,
        "lines",
    );
    w.then_rejected(
        by("bun", "2025-12-01"),
        db(json!([{"unit": "bun-forv", "amount": 500001}])),
        Rule::P4,
        "lines",
    );
    w.then_rejected(
        by("bun", "2025-12-01"),
        db(json!([{"unit": "sn-forv", "amount": 500000}])),
        Rule::Reference,
        "lines[0].unit",
    );
    w.then_rejected(
        by("bun", "2025-12-01"),
        db(json!([{"unit": "bun-forv", "amount": 250000}, {"unit": "bun-forv", "amount": 250000}])),
        Rule::Input,
        "lines[1].unit",
    );
    w.then_rejected(
        by("sn", "2025-12-01"),
        db(json!([{"unit": "bun-forv", "amount": 500000}])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("bun", "2025-12-01"),
        json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2029, "lines": []}),
        Rule::P4,
        "year",
    );
    w.then_ok(
        delegate("bun", "2.1", "forvaltningschef", "2025-12-01"),
        db(json!([{"unit": "bun-forv", "amount": 500000}])),
    );
}

#[test]
fn uppdrag_status_reports() {
    let mut w = kommun();
    let report = |body: &str, status: &str, reason: Option<&str>| json!({"command": "report_uppdrag_status", "uppdrag": "u-1", "body": body, "as_of": "2026-04-30", "status": status, "reason": reason});
    w.then_rejected(
        by("ks", "2026-05-10"),
        report("ks", "ongoing", None),
        Rule::P1,
        "body",
    );
    w.then_rejected(
        by("sn", "2026-05-10"),
        report("bun", "ongoing", None),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("bun", "2026-05-10"),
        report("bun", "delayed", None),
        Rule::Input,
        "reason",
    );
    w.then_rejected(by("bun", "2026-05-10"), json!({"command": "report_uppdrag_status", "uppdrag": "u-9", "body": "bun", "as_of": "2026-04-30", "status": "done"}), Rule::Reference, "uppdrag");
    w.then_ok(
        by("bun", "2026-05-10"),
        report("bun", "delayed", Some("Rekrytering")),
    );
    w.then_ok(
        delegate("bun", "2.1", "forvaltningschef", "2026-05-10"),
        report("bun", "ongoing", None),
    );
    assert_eq!(
        w.state.uppdrag["u-1"].last_status,
        Some((date("2026-04-30"), UppdragStatus::Ongoing))
    );
}

#[test]
fn forvaltning_plans() {
    let mut w = kommun();
    let plan = |unit: &str, acts: serde_json::Value| json!({"command": "adopt_plan", "plan": "vp-bun-2026", "kind": "verksamhetsplan", "body": "bun", "unit": unit, "year": 2026, "activities": acts});
    let act = |id: &str, unit: &str, cost: i64| json!({"id": id, "title": "A", "unit": unit, "namndmal": ["bun-m1"], "uppdrag": ["u-1"], "cost": cost});
    // P1: the förvaltning decides its own plan; a sibling unit's chef does not.
    w.then_rejected(
        official("bun-norra", "2026-01-10"),
        plan("bun-sodra", json!([act("a1", "bun-sodra", 1)])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("sn-forv", "2026-01-10"),
        plan("bun-forv", json!([act("a1", "bun-sodra", 1)])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("bun-forv", "2026-01-10"),
        plan("bun-forv", json!([{"id": "a1", "title": "A"}])),
        Rule::P3,
        "activities[0].namndmal",
    );
    w.then_rejected(
        official("bun-forv", "2026-01-10"),
        plan(
            "bun-forv",
            json!([{"id": "a1", "title": "A", "uppdrag": ["u-2"]}]),
        ),
        Rule::P3,
        "activities[0].uppdrag[0]",
    );
    w.then_rejected(
        official("bun-forv", "2026-01-10"),
        plan(
            "bun-forv",
            json!([{"id": "a1", "title": "A", "namndmal": ["nope"]}]),
        ),
        Rule::Reference,
        "activities[0].namndmal[0]",
    );
    w.then_rejected(
        official("bun-forv", "2026-01-10"),
        plan("bun-forv", json!([act("a1", "sn-forv", 1)])),
        Rule::Reference,
        "activities[0].unit",
    );
    // P4: the unit's line is 200 000 tkr.
    w.then_rejected(
        official("bun-forv", "2026-01-10"),
        plan(
            "bun-forv",
            json!([
                act("a1", "bun-sodra", 150000),
                act("a2", "bun-sodra", 60000)
            ]),
        ),
        Rule::P4,
        "cost",
    );
    let events = w.then_ok(
        official("bun-forv", "2026-01-10"),
        plan("bun-forv", json!([act("a1", "bun-sodra", 150000)])),
    );
    assert!(matches!(events[0], Event::PlanAdopted { version: 1, .. }));
    // A revision replaces the plan: its old commitments do not count twice.
    w.then_rejected(
        official("bun-skola", "2026-03-01"),
        plan("bun-forv", json!([act("a1", "bun-sodra", 1)])),
        Rule::P1,
        "decided_by",
    );
    let events = w.then_ok(
        official("bun-forv", "2026-03-01"),
        plan("bun-forv", json!([act("a1", "bun-sodra", 190000)])),
    );
    assert!(matches!(events[0], Event::PlanAdopted { version: 2, .. }));
    // The nämnd takes note of the current version, once.
    let note =
        |v: u32| json!({"command": "note_plan_reported", "plan": "vp-bun-2026", "version": v});
    w.then_rejected(
        official("bun-forv", "2026-01-20"),
        note(2),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(by("bun", "2026-01-20"), note(1), Rule::Reference, "version");
    w.then_ok(by("bun", "2026-01-20"), note(2));
    w.then_rejected(by("bun", "2026-01-21"), note(2), Rule::P6, "version");
    assert_eq!(w.state.plans["vp-bun-2026"].reported_version, Some(2));
    // Another plan can only take what remains.
    let other = json!({"command": "adopt_plan", "plan": "ep-sodra", "kind": "enhetsplan", "body": "bun", "unit": "bun-sodra", "year": 2026, "activities": [act("b1", "bun-sodra", 20000)]});
    w.then_rejected(official("bun-sodra", "2026-03-02"), other, Rule::P4, "cost");
    // And a detaljbudget may not cut a line below what plans commit.
    w.then_rejected(
        by("bun", "2026-03-10"),
        json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": [
        {"unit": "bun-forv", "amount": 320000}, {"unit": "bun-sodra", "amount": 180000}]}),
        Rule::P4,
        "lines[1].amount",
    );
}

#[test]
fn correction_names_what_it_corrects() {
    let mut w = kommun();
    let target = w.ids[w.ids.len() - 1]; // the detaljbudget
    let fix = |id: Uuid| json!({"command": "correct_decision", "corrects": id, "reason": "Skrivfel i protokollet", "corrections": {"lines[0].amount": 100000}});
    w.then_rejected(by("sn", "2025-12-01"), fix(target), Rule::P1, "decided_by");
    w.then_rejected(
        by("bun", "2025-12-01"),
        fix(Uuid::from_u128(999_999)),
        Rule::Reference,
        "corrects",
    );
    let events = w.then_ok(by("bun", "2025-12-01"), fix(target));
    assert!(matches!(&events[0], Event::DecisionCorrected { corrects, .. } if *corrects == target));
}

#[test]
fn provenance_must_be_complete_and_in_order() {
    let w = kommun();
    let c = json!({"command": "establish_body", "body": "tn", "kind": "committee", "name": "TN", "area": "a"});
    let mut p = by("kf", "2023-02-01");
    p.effective_date = date("2023-01-31");
    w.then_rejected(p, c.clone(), Rule::P7, "effective_date");
    let mut p = by("kf", "2023-02-01");
    p.decided_by = DecidedBy::Body {
        body: "kf".into(),
        meeting_date: date("2023-02-01"),
        paragraph: " ".into(),
    };
    w.then_rejected(p, c.clone(), Rule::P7, "paragraph");
    let mut p = by("kf", "2023-02-01");
    p.protocol_approved = Some(date("2023-02-05"));
    p.announced = Some(date("2023-02-04"));
    w.then_rejected(p, c, Rule::P7, "announced");
}

#[test]
fn events_round_trip_through_their_stored_form() {
    let w = kommun();
    let events = w
        .state
        .decide(&by("kf", "2026-06-15"), &cmd(budget_2027(json!({}))))
        .unwrap();
    for e in events {
        let (t, payload) = e.to_payload();
        assert_eq!(
            Event::from_payload(t, EVENT_SCHEMA_VERSION, &payload).unwrap(),
            e
        );
    }
    assert!(Event::from_payload("NoSuchEvent", 1, &json!({})).is_err());
    assert!(Event::from_payload(
        "BudgetAdopted",
        2,
        &json!({"year": 1, "plan_years": [2, 3]})
    )
    .is_err());
}

#[test]
fn unknown_fields_and_wrong_types_do_not_parse() {
    let bad = [
        json!({"command": "register_kommun", "name": "V", "kommunkod": "0884", "council": "kf", "extra": 1}),
        json!({"command": "adopt_budget", "year": "2026", "ramar": []}),
        json!({"command": "no_such_command"}),
        json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": [{"unit": "u", "amount": 1, "x": 2}]}),
    ];
    for b in bad {
        assert!(serde_json::from_value::<Command>(b.clone()).is_err(), "{b}");
    }
}
