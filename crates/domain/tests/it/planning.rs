//! given / when / then for every planning decision and every rule.

use serde_json::json;
use styr_domain::*;
use styr_domain::{
    BudgetAdopted, EconomicPlanSet, PlanAdopted, RamSet, RurPlanned, StyrdokumentAdopted,
    UppdragChanged,
};
use uuid::Uuid;

use crate::common::*;

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
        Event::StyrdokumentAdopted(StyrdokumentAdopted {
            version: 2,
            replaces_version: Some(1),
            ..
        })
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
        Event::BudgetAdopted(BudgetAdopted {
            year: 2027,
            plan_years: [2028, 2029]
        })
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
            recorded: w.recorded.clone(),
        }
    }
}

/// A 2027 budget closing u-1 and extending u-2, with `extra` fields merged in.
/// P3 above an uppdrag: the KF goals it serves are in force in the budget
/// year, adopted before or in the same decision.
#[test]
fn an_uppdrag_serves_kf_goals_in_force() {
    let mut w = kommun();
    let kf = || by("kf", "2026-06-15");
    let given = |goals: serde_json::Value| json!([{"id": "u-9", "title": "T", "description": "D", "to": ["bun"], "due": "2027-12-31", "goals": goals}]);
    let later_goal = |from: i32| json!([{"id": "kf-2", "kind": "inriktningsmal", "title": "Fler i arbete", "from_year": from, "to_year": 2029}]);
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": given(json!(["kf-9"]))})),
        Rule::P3,
        "uppdrag_given[0].goals[0]",
    );
    w.then_rejected(
        kf(),
        budget_2027(json!({"uppdrag_given": given(json!(["kf-1", "kf-1"]))})),
        Rule::Input,
        "uppdrag_given[0].goals[1]",
    );
    // kf-2 adopted in the same decision, but only from 2028.
    w.then_rejected(
        kf(),
        budget_2027(
            json!({"goals": later_goal(2028), "uppdrag_given": given(json!(["kf-1", "kf-2"]))}),
        ),
        Rule::P3,
        "uppdrag_given[0].goals[1]",
    );
    let events = w.then_ok(
        kf(),
        budget_2027(
            json!({"goals": later_goal(2027), "uppdrag_given": given(json!(["kf-1", "kf-2"]))}),
        ),
    );
    let given = events
        .iter()
        .find_map(|e| match e {
            Event::UppdragGiven(g) => Some(&g.uppdrag),
            _ => None,
        })
        .unwrap();
    assert_eq!(given.goals, ["kf-1", "kf-2"]);
}

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
        .any(|e| matches!(e, Event::UppdragChanged(UppdragChanged { id, .. }) if id == "u-2")));
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
    // Without a recorded election, 2026 is no election year.
    w.then_rejected(
        by("kf", "2026-11-16"),
        amend(2027, "complementary"),
        Rule::Consistency,
        "change",
    );
    w.then_ok(
        by("kf", "2026-10-26"),
        json!({"command": "record_election", "date": "2026-09-13", "kind": "ordinary"}),
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
        Rule::P3,
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
        Rule::P3,
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
    assert!(matches!(
        events[0],
        Event::PlanAdopted(PlanAdopted { version: 1, .. })
    ));
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
    assert!(matches!(
        events[0],
        Event::PlanAdopted(PlanAdopted { version: 2, .. })
    ));
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
fn a_rattelse_corrects_texts_and_measured_values_never_what_rules_checked() {
    let mut w = kommun();
    let fix = |id: Uuid, corrections: serde_json::Value| {
        json!({"command": "correct_decision", "corrects": id, "ground": "skrivfel",
            "reason": "Skrivfel i protokollet", "corrections": corrections})
    };
    let detaljbudget = w.ids[w.ids.len() - 1];
    let body = *w
        .ids
        .iter()
        .find(|id| matches!(&w.recorded[*id].0, Event::BodyEstablished(b) if b.body == "bun"))
        .unwrap();
    let on = "2025-12-01";
    let name = json!({"/name": "Barn- och utbildningsnämnden"});
    // Who decided it corrects it (P1); the event must exist.
    w.then_rejected(
        by("ks", on),
        fix(body, name.clone()),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("kf", on),
        fix(Uuid::from_u128(999_999), name.clone()),
        Rule::Reference,
        "corrects",
    );
    // A field is named by a JSON Pointer into the decision, and exists.
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"name": "x"})),
        Rule::Input,
        "corrections.name",
    );
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/namn": "x"})),
        Rule::Reference,
        "corrections./namn",
    );
    // Ids, kinds and amounts a rule checked change by a new decision (P6).
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/body": "bun2"})),
        Rule::P6,
        "corrections./body",
    );
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/kind": "auditors"})),
        Rule::P6,
        "corrections./kind",
    );
    w.then_rejected(
        by("bun", on),
        fix(detaljbudget, json!({"/lines/0/amount": 1})),
        Rule::P6,
        "corrections./lines/0/amount",
    );
    w.then_rejected(
        by("bun", on),
        fix(detaljbudget, json!({"/year": 2027})),
        Rule::P6,
        "/year",
    );
    // A text stays a text, not empty, and changes.
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/name": 7})),
        Rule::Input,
        "/name",
    );
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/name": " "})),
        Rule::Input,
        "/name",
    );
    w.then_rejected(
        by("kf", on),
        fix(body, json!({"/name": "bun"})),
        Rule::Input,
        "/name",
    );
    let mut without_ground = fix(body, name.clone());
    without_ground.as_object_mut().unwrap().remove("ground");
    assert!(
        serde_json::from_value::<Command>(without_ground).is_err(),
        "a rättelse names its ground"
    );

    let events = w.then_ok(by("kf", on), fix(body, name));
    let Event::DecisionCorrected(c) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(c.corrects, body);
    assert_eq!(c.ground, Some(CorrectionGround::Skrivfel));
    assert_eq!(c.replaced, [("/name".to_owned(), json!("bun"))].into());
    // A rättelse is not itself corrected: the decision is.
    let rattelse = *w.ids.last().unwrap();
    w.then_rejected(
        by("kf", on),
        fix(rattelse, json!({"/reason": "annat"})),
        Rule::P6,
        "corrects",
    );
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

/// A three-year plan för ekonomin from `year` whose sums add up.
fn economy(year: i32) -> serde_json::Value {
    let years: Vec<_> = (year..year + 3)
        .map(|y| {
            json!({"year": y,
                "resultat": {"skatteintakter": 1_000_000, "generella_statsbidrag": 350_000,
                             "verksamhetens_nettokostnader": 1_317_000, "finansnetto": -6_000, "resultat": 27_000},
                "balans": {"tillgangar": 2_400_000, "eget_kapital": 1_080_000, "skulder": 1_320_000},
                "finansiering": {"lopande_verksamhet": 85_000, "investeringsverksamhet": -70_000,
                                 "finansieringsverksamhet": 10_000, "forandring_likvida_medel": 25_000}})
        })
        .collect();
    json!(years)
}

/// The fastställd budget for `year`, with `extra` fields merged in.
fn faststalld(year: i32, extra: serde_json::Value) -> serde_json::Value {
    let mut b = json!({"command": "adopt_budget", "year": year, "stage": "faststalld",
        "skattesats": "22:16", "economy": economy(year),
        "investments": [{"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 90000,
                         "start_year": year, "finish_year": year + 2,
                         "years": [{"year": year, "amount": 30000}, {"year": year + 1, "amount": 30000}]}]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// KF's riktlinjer for the resultatutjämningsreserv, and BUN's own riktlinje.
fn with_riktlinjer(w: &mut World) {
    w.then_ok(
        by("kf", "2024-10-07"),
        json!({"command": "adopt_styrdokument", "doc": "rur", "kind": "riktlinje", "title": "Riktlinjer för RUR",
               "owner": "kf", "valid_from": "2025-01-01"}),
    );
    w.then_ok(
        by("bun", "2024-10-08"),
        json!({"command": "adopt_styrdokument", "doc": "bun-riktlinje", "kind": "riktlinje", "title": "BUN:s riktlinje",
               "owner": "bun", "valid_from": "2025-01-01"}),
    );
}

#[test]
fn budget_is_fastställd_in_a_second_step_with_skattesats_and_economic_plan() {
    let mut w = kommun();
    let nov = || by("kf", "2025-11-17");
    let without = |field: &str| {
        let mut b = faststalld(2026, json!({}));
        b.as_object_mut().unwrap().remove(field);
        b
    };
    w.then_rejected(nov(), without("skattesats"), Rule::Law, "skattesats");
    w.then_rejected(nov(), without("economy"), Rule::Law, "economy");
    w.then_rejected(
        by("ks", "2025-11-17"),
        faststalld(2026, json!({})),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        nov(),
        faststalld(2026, json!({"skattesats": "45:00"})),
        Rule::Input,
        "skattesats",
    );
    // The economic plan covers the budget year and the two plan years, in order.
    let mut two_years = economy(2026);
    two_years.as_array_mut().unwrap().pop();
    w.then_rejected(
        nov(),
        faststalld(2026, json!({"economy": two_years})),
        Rule::Law,
        "economy",
    );
    // Its sums add up.
    for (path, field) in [
        ("/0/resultat/resultat", "economy[0].resultat.resultat"),
        ("/1/balans/tillgangar", "economy[1].balans.tillgangar"),
        (
            "/2/finansiering/forandring_likvida_medel",
            "economy[2].finansiering.forandring_likvida_medel",
        ),
    ] {
        let mut e = economy(2026);
        *e.pointer_mut(path).unwrap() = json!(1);
        w.then_rejected(
            nov(),
            faststalld(2026, json!({"economy": e})),
            Rule::Consistency,
            field,
        );
    }
    let events = w.then_ok(nov(), faststalld(2026, json!({})));
    let types: Vec<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        types,
        [
            "BudgetEstablished",
            "SkattesatsSet",
            "EconomicPlanSet",
            "InvestmentBudgeted"
        ],
        "no second BudgetAdopted: the ramar were adopted in June"
    );
    assert!(w.state.established.contains(&2026));
    assert_eq!(w.state.skattesatser[&2026].to_string(), "22:16");
    // Fastställd once; the ramar step cannot come again either.
    w.then_rejected(nov(), faststalld(2026, json!({})), Rule::P6, "stage");
    w.then_rejected(nov(), budget_2026(), Rule::P6, "year");
}

#[test]
fn a_budget_adopted_in_one_step_is_fastställd_with_its_ramar() {
    let w = kommun();
    let kf = || by("kf", "2026-11-16");
    // Without budgetramar before, the fastställd budget sets the ramar itself.
    w.then_rejected(kf(), faststalld(2027, json!({})), Rule::P4, "ramar");
    let events = World::new_with(&w).then_ok(
        kf(),
        faststalld(
            2027,
            json!({"ramar": [{"body": "bun", "year": 2027, "amount": 520000}]}),
        ),
    );
    assert_eq!(events[0].event_type(), "BudgetAdopted");
    assert_eq!(events[1].event_type(), "BudgetEstablished");
    assert!(events.iter().any(|e| matches!(
        e,
        Event::RamSet(RamSet {
            change: BudgetChange::Established,
            amount: 520000,
            ..
        })
    )));
}

#[test]
fn investments_stay_within_their_project_and_the_budget() {
    let w = kommun();
    let nov = || by("kf", "2025-11-17");
    let inv = |patch: serde_json::Value| {
        let mut i = json!({"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 90000,
                           "start_year": 2026, "finish_year": 2028,
                           "years": [{"year": 2026, "amount": 30000}]});
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        faststalld(2026, json!({"investments": [i]}))
    };
    w.then_rejected(
        nov(),
        inv(json!({"body": "rev"})),
        Rule::Reference,
        "investments[0].body",
    );
    w.then_rejected(
        nov(),
        inv(json!({"body": "nobody"})),
        Rule::Reference,
        "investments[0].body",
    );
    w.then_rejected(
        nov(),
        inv(json!({"id": "inv skola"})),
        Rule::Input,
        "investments[0].id",
    );
    w.then_rejected(
        nov(),
        inv(json!({"title": " "})),
        Rule::Input,
        "investments[0].title",
    );
    w.then_rejected(
        nov(),
        inv(json!({"finish_year": 2025})),
        Rule::Consistency,
        "investments[0].finish_year",
    );
    w.then_rejected(
        nov(),
        inv(json!({"years": []})),
        Rule::Input,
        "investments[0].years",
    );
    // A year outside the budget's three, or outside the project's.
    w.then_rejected(
        nov(),
        inv(json!({"years": [{"year": 2029, "amount": 1}]})),
        Rule::Consistency,
        "investments[0].years[0].year",
    );
    w.then_rejected(
        nov(),
        inv(json!({"start_year": 2027, "years": [{"year": 2026, "amount": 1}]})),
        Rule::Consistency,
        "investments[0].years[0].year",
    );
    w.then_rejected(
        nov(),
        inv(json!({"years": [{"year": 2026, "amount": 1}, {"year": 2026, "amount": 2}]})),
        Rule::Input,
        "investments[0].years[1].year",
    );
    w.then_rejected(
        nov(),
        inv(json!({"years": [{"year": 2026, "amount": -1}]})),
        Rule::Input,
        "investments[0].years[0].amount",
    );
    // P4: the yearly amounts fit the project's total.
    w.then_rejected(
        nov(),
        inv(json!({"total": 20000})),
        Rule::P4,
        "investments[0].years",
    );
    let mut twice = inv(json!({}));
    let first = twice["investments"][0].clone();
    twice["investments"].as_array_mut().unwrap().push(first);
    w.then_rejected(nov(), twice, Rule::Input, "investments[1].id");

    // A later budget restates a project for its own years; earlier years stay.
    let mut w = World::new_with(&w);
    w.then_ok(nov(), faststalld(2026, json!({})));
    w.then_ok(by("kf", "2026-06-15"), budget_2027(json!({})));
    let mut later = json!({"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 95000,
                           "start_year": 2026, "finish_year": 2028, "years": [{"year": 2027, "amount": 40000}]});
    let k = || by("kf", "2026-11-16");
    w.then_rejected(
        k(),
        faststalld(2027, json!({"investments": [{"body": "sn", "id": "inv-skola", "title": "x", "total": 1,
                                               "start_year": 2027, "finish_year": 2027, "years": [{"year": 2027, "amount": 1}]}]})),
        Rule::Consistency,
        "investments[0].body",
    );
    w.then_ok(
        k(),
        faststalld(2027, json!({"investments": [later.take()]})),
    );
    let amounts: Vec<(i32, i64)> = w.state.investments["inv-skola"]
        .years
        .iter()
        .map(|y| (y.year, y.amount))
        .collect();
    assert_eq!(
        amounts,
        [(2026, 30000), (2027, 40000)],
        "2026 as the 2026 budget set it, 2027 as the 2027 budget restated it"
    );
    assert_eq!(w.state.investments["inv-skola"].total, 95000);

    // P4 holds for the project as restated: earlier years count against the total.
    let over = json!({"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 95000,
                      "start_year": 2026, "finish_year": 2028, "years": [{"year": 2028, "amount": 30000}]});
    w.then_rejected(
        by("kf", "2026-12-14"),
        json!({"command": "amend_budget", "year": 2028, "change": "amendment", "investments": [over]}),
        Rule::P4,
        "investments[0].total",
    );
    // A change names the years it changes; it leaves the others, even those
    // a later budget set, as they were.
    w.then_ok(
        by("kf", "2026-10-19"),
        json!({"command": "amend_budget", "year": 2026, "change": "supplementary", "investments": [
            {"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 95000,
             "start_year": 2026, "finish_year": 2028, "years": [{"year": 2026, "amount": 25000}]}]}),
    );
    let amounts: Vec<(i32, i64)> = w.state.investments["inv-skola"]
        .years
        .iter()
        .map(|y| (y.year, y.amount))
        .collect();
    assert_eq!(amounts, [(2026, 25000), (2027, 40000)]);
    // Shortening the project under years it already has budgeted is refused.
    w.then_rejected(
        by("kf", "2026-12-14"),
        json!({"command": "amend_budget", "year": 2028, "change": "amendment", "investments": [
            {"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 95000,
             "start_year": 2027, "finish_year": 2028, "years": [{"year": 2028, "amount": 1}]}]}),
        Rule::Consistency,
        "investments[0].start_year",
    );
}

#[test]
fn rur_is_used_under_kf_riktlinjer_in_force() {
    let mut w = kommun();
    with_riktlinjer(&mut w);
    w.then_ok(
        by("kf", "2025-09-01"),
        json!({"command": "adopt_styrdokument", "doc": "ekonomipolicy", "kind": "policy", "title": "Ekonomisk policy",
               "owner": "kf", "valid_from": "2025-01-01"}),
    );
    w.then_ok(
        by("kf", "2025-09-01"),
        json!({"command": "adopt_styrdokument", "doc": "rur-gammal", "kind": "riktlinje", "title": "Gamla riktlinjer",
               "owner": "kf", "valid_from": "2020-01-01", "valid_until": "2024-12-31"}),
    );
    let nov = || by("kf", "2025-11-17");
    let rur = |r: serde_json::Value| faststalld(2026, json!({"rur": [r]}));
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "disposition": 8000, "riktlinjer": "saknas"})),
        Rule::Reference,
        "rur[0].riktlinjer",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "disposition": 8000, "riktlinjer": "bun-riktlinje"})),
        Rule::Law,
        "rur[0].riktlinjer",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "disposition": 8000, "riktlinjer": "rur-gammal"})),
        Rule::Law,
        "rur[0].riktlinjer",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2030, "disposition": 8000, "riktlinjer": "rur"})),
        Rule::Consistency,
        "rur[0].year",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "riktlinjer": "rur"})),
        Rule::Input,
        "rur[0].disposition",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "disposition": -1, "riktlinjer": "rur"})),
        Rule::Input,
        "rur[0].disposition",
    );
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "reservation": -1, "riktlinjer": "rur"})),
        Rule::Input,
        "rur[0].reservation",
    );
    // Only riktlinjer: a KF policy is not the reserve's riktlinjer.
    w.then_rejected(
        nov(),
        rur(json!({"year": 2026, "disposition": 8000, "riktlinjer": "ekonomipolicy"})),
        Rule::Law,
        "rur[0].riktlinjer",
    );
    let events = w.then_ok(
        nov(),
        rur(json!({"year": 2026, "disposition": 8000, "riktlinjer": "rur"})),
    );
    assert!(events.iter().any(
        |e| matches!(e, Event::RurPlanned(RurPlanned { disposition, .. }) if disposition.disposition == 8000)
    ));
    // A repealed riktlinje no longer carries a disposition.
    w.then_ok(
        by("kf", "2026-03-01"),
        json!({"command": "repeal_styrdokument", "doc": "rur", "reason": "Ersätts"}),
    );
    w.then_rejected(
        by("kf", "2026-03-02"),
        json!({"command": "amend_budget", "year": 2026, "change": "supplementary",
               "rur": [{"year": 2026, "disposition": 9000, "riktlinjer": "rur"}]}),
        Rule::Law,
        "rur[0].riktlinjer",
    );
}

#[test]
fn ändringsbudget_changes_a_fastställd_budget_only_by_kf() {
    let mut w = kommun();
    let amend = |year: i32, extra: serde_json::Value| {
        let mut c = json!({"command": "amend_budget", "year": year, "change": "amendment"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let ramar = json!({"ramar": [{"body": "ks", "year": 2026, "amount": 148300}, {"body": "bun", "year": 2026, "amount": 501700}]});
    // Not yet fastställd: there is nothing to change by ändringsbudget.
    w.then_rejected(
        by("kf", "2025-12-15"),
        amend(2026, ramar.clone()),
        Rule::Consistency,
        "change",
    );
    w.then_ok(by("kf", "2025-11-17"), faststalld(2026, json!({})));
    w.then_rejected(
        by("ks", "2025-12-15"),
        amend(2026, ramar.clone()),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("kf", "2025-12-15"),
        amend(2026, json!({})),
        Rule::Input,
        "ramar",
    );
    w.then_rejected(
        by("kf", "2027-01-20"),
        amend(2026, ramar.clone()),
        Rule::Consistency,
        "year",
    );
    w.then_rejected(
        by("kf", "2024-12-16"),
        amend(2026, ramar.clone()),
        Rule::Consistency,
        "year",
    );
    // The skattesats is the budget year's, decided before the year begins.
    w.then_rejected(
        by("kf", "2026-03-16"),
        amend(2026, json!({"skattesats": "22:41"})),
        Rule::Consistency,
        "skattesats",
    );
    w.then_rejected(
        by("kf", "2025-12-15"),
        amend(2027, json!({"skattesats": "22:41"})),
        Rule::Consistency,
        "skattesats",
    );
    // The December ändringsbudget after an election: 1.7 mnkr from KS's oförutsedda medel to BUN.
    let events = w.then_ok(by("kf", "2025-12-15"), amend(2026, ramar));
    assert!(events.iter().all(|e| matches!(
        e,
        Event::RamSet(RamSet {
            change: BudgetChange::Amendment,
            ..
        })
    )));
    assert_eq!(w.state.ramar[&("bun".to_owned(), 2026)], 501700);
    assert_eq!(
        w.state.skattesatser[&2026].to_string(),
        "22:16",
        "skattesatsen oförändrad"
    );
    // During the year: a new economic plan by ändringsbudget.
    let events = w.then_ok(
        by("kf", "2026-04-20"),
        amend(2026, json!({"economy": economy(2026)})),
    );
    assert!(matches!(
        events[..],
        [Event::EconomicPlanSet(EconomicPlanSet {
            change: BudgetChange::Amendment,
            ..
        })]
    ));
    // The earlier name of the command still parses, as the same command.
    let old = cmd(
        json!({"command": "amend_ramar", "year": 2026, "change": "supplementary",
                         "ramar": [{"body": "sn", "year": 2026, "amount": 401000}]}),
    );
    assert_eq!(old.name(), "amend_budget");
    w.state.decide(&by("kf", "2026-05-18"), &old).unwrap();
    w.then_rejected(
        by("kf", "2026-05-18"),
        amend(2026, json!({"change": "established", "ramar": []})),
        Rule::Input,
        "change",
    );
}

#[test]
fn skattesats_is_written_in_kronor_and_öre() {
    for ok in ["22:16", "9:05", "0:99"] {
        let s: Skattesats = ok.parse().unwrap();
        assert_eq!(s.to_string(), ok);
        assert_eq!(serde_json::to_value(s).unwrap(), json!(ok));
    }
    for bad in [
        "22.16", "22:1", "22:160", "123:00", ":16", "22:", "", "22:1a", "−1:00",
    ] {
        assert!(bad.parse::<Skattesats>().is_err(), "{bad:?} parsed");
    }
    assert_eq!("22:16".parse::<Skattesats>().unwrap().in_ore(), 2216);
}

#[test]
fn elections_and_mandatperioder_are_recorded() {
    let mut w = kommun();
    let election =
        |date: &str, kind: &str| json!({"command": "record_election", "date": date, "kind": kind});
    // An ordinary election is held on the second Sunday of September.
    w.then_rejected(
        by("kf", "2022-11-07"),
        election("2022-09-18", "ordinary"),
        Rule::Input,
        "date",
    );
    w.then_rejected(
        by("kf", "2022-11-07"),
        election("2022-10-09", "ordinary"),
        Rule::Input,
        "date",
    );
    // Recorded by KF only.
    w.then_rejected(
        by("ks", "2022-11-07"),
        election("2022-09-11", "ordinary"),
        Rule::P1,
        "decided_by",
    );
    // An extra val needs the ordinary one before it.
    w.then_rejected(by("kf", "2024-05-13"), json!({"command": "record_election", "date": "2024-04-14", "kind": "extra", "mandate_from": "2024-05-01"}), Rule::Reference, "date");
    let events = w.then_ok(by("kf", "2022-11-07"), election("2022-09-11", "ordinary"));
    let [Event::ElectionRecorded(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (e.mandate_from.to_string(), e.mandate_to.to_string()),
        ("2022-10-15".into(), "2026-10-14".into())
    );
    w.then_rejected(
        by("kf", "2022-11-08"),
        election("2022-09-11", "ordinary"),
        Rule::P6,
        "date",
    );
    // An extra val: its fullmäktige serves out the ordinary period.
    w.then_rejected(
        by("kf", "2024-05-13"),
        election("2024-04-14", "extra"),
        Rule::Input,
        "mandate_from",
    );
    let events = w.then_ok(by("kf", "2024-05-13"), json!({"command": "record_election", "date": "2024-04-14", "kind": "extra", "mandate_from": "2024-05-01"}));
    let [Event::ElectionRecorded(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.mandate_to.to_string(), "2026-10-14");
    // An extra val is no election year for the budget's rules.
    assert!(w.state.ordinary_election_in(2022));
    assert!(!w.state.ordinary_election_in(2024));
}

/// The plan för ekonomin for `year` with a result of −5 000 tkr in its
/// second year (the costs raised to match).
fn economy_with_deficit(year: i32) -> serde_json::Value {
    let mut e = economy(year);
    e[1]["resultat"]["verksamhetens_nettokostnader"] = json!(1_349_000);
    e[1]["resultat"]["resultat"] = json!(-5_000);
    e
}

#[test]
fn a_negative_budgeted_result_needs_synnerliga_skal_or_a_plan_to_restore_it() {
    let w = kommun();
    let nov = || by("kf", "2025-11-17");
    let with = |balanskrav: serde_json::Value| {
        let mut b = faststalld(2026, json!({"economy": economy_with_deficit(2026)}));
        if !balanskrav.is_null() {
            b["balanskrav"] = balanskrav;
        }
        b
    };
    // KL 11 kap 5 §: a negative result needs a reason or a plan.
    w.then_rejected(
        nov(),
        with(json!(null)),
        Rule::Law,
        "economy[1].resultat.resultat",
    );
    let events = w.clone_ok(
        nov(),
        with(json!({"synnerliga_skal": "Engångskostnad för omställning av äldreomsorgen"})),
    );
    assert!(events
        .iter()
        .any(|e| e.event_type() == "BalanskravBudgeted"));
    // A plan that restores all of it within the three following years.
    w.then_rejected(
        nov(),
        with(json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 3000}]})),
        Rule::Law,
        "economy[1].resultat.resultat",
    );
    w.clone_ok(
        nov(),
        with(
            json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 3000},
                                  {"of_year": 2027, "year": 2030, "amount": 2000}]}),
        ),
    );
    // KL 11 kap 12 §: within three years, not a fourth.
    w.then_rejected(
        nov(),
        with(json!({"reglering": [{"of_year": 2027, "year": 2031, "amount": 5000}]})),
        Rule::Law,
        "balanskrav.reglering[0].year",
    );
    // Only a negative result is restored; only a reported one is waived.
    w.then_rejected(
        nov(),
        with(json!({"synnerliga_skal": "x", "reglering": [{"of_year": 2026, "year": 2027, "amount": 1}]})),
        Rule::Reference,
        "balanskrav.reglering[0].of_year",
    );
    w.then_rejected(
        nov(),
        with(json!({"synnerliga_skal": "x", "avstar": [{"of_year": 2025, "reason": "Pandemin"}]})),
        Rule::Reference,
        "balanskrav.avstar[0].of_year",
    );
    w.then_rejected(
        nov(),
        with(json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 0}]})),
        Rule::Input,
        "balanskrav.reglering[0].amount",
    );
    w.then_rejected(nov(), with(json!({})), Rule::Input, "balanskrav");
    // Synnerliga skäl excuse a negative result, not a positive plan.
    w.then_rejected(
        nov(),
        faststalld(2026, json!({"balanskrav": {"synnerliga_skal": "x"}})),
        Rule::Consistency,
        "balanskrav.synnerliga_skal",
    );
    // A reglering is paid out of a surplus: not out of a negative year of
    // the plan, not more than that year's surplus, never more than the deficit.
    let mut two = economy_with_deficit(2026);
    two[2]["resultat"]["verksamhetens_nettokostnader"] = json!(1_347_000);
    two[2]["resultat"]["resultat"] = json!(-3_000);
    let mut b = faststalld(2026, json!({"economy": two}));
    b["balanskrav"] = json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 5000},
                                           {"of_year": 2028, "year": 2029, "amount": 3000}]});
    w.then_rejected(nov(), b, Rule::Law, "balanskrav.reglering[0].year");
    let mut small = economy_with_deficit(2026);
    small[2]["resultat"]["verksamhetens_nettokostnader"] = json!(1_341_000);
    small[2]["resultat"]["resultat"] = json!(3_000);
    let mut b = faststalld(2026, json!({"economy": small}));
    b["balanskrav"] = json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 5000}]});
    w.then_rejected(nov(), b, Rule::Law, "balanskrav.reglering[0].year");
    w.then_rejected(
        nov(),
        with(json!({"reglering": [{"of_year": 2027, "year": 2028, "amount": 9000}]})),
        Rule::Consistency,
        "balanskrav.reglering[0].amount",
    );
    // A budget without a negative year needs no balanskrav.
    w.clone_ok(nov(), faststalld(2026, json!({})));
}

/// The Götene-shaped example: one förvaltning (KS's) whose sektorer and
/// enheter answer to different nämnder.
fn gotene() -> World {
    #[derive(serde::Deserialize)]
    struct Decision {
        provenance: Provenance,
        command: serde_json::Value,
    }
    let decisions: Vec<Decision> =
        serde_json::from_str(include_str!("../../../../examples/gotene/kommun.json")).unwrap();
    let mut w = World::new();
    for d in decisions {
        w.then_ok(d.provenance, d.command);
    }
    w
}

#[test]
fn organisation_and_responsibility_are_two_things() {
    let mut w = gotene();
    let unit = |id: &str, parent: &str, serves: serde_json::Value| {
        json!({"command": "establish_unit", "unit": id, "name": id, "namnd": "ks",
            "parent": parent, "level": "ansvarsenhet", "serves": serves})
    };
    // KS decides its förvaltning's units, whoever they answer to.
    w.then_rejected(
        by("bun", "2026-02-01"),
        unit(
            "fritids",
            "sektor-bou",
            json!([{"namnd": "bun", "verksamhet": "Fritidshem"}]),
        ),
        Rule::P1,
        "decided_by",
    );
    // The parent is in the same förvaltning; the message says how to write it.
    let mut in_bun = unit("fritids", "sektor-bou", json!([]));
    in_bun["namnd"] = json!("bun");
    w.then_rejected(by("bun", "2026-02-01"), in_bun, Rule::Reference, "parent");
    // Each nämnd answered to is an operating one, each (nämnd, verksamhet) once.
    w.then_rejected(
        by("ks", "2026-02-01"),
        unit(
            "fritids",
            "sektor-bou",
            json!([{"namnd": "rev", "verksamhet": "x"}]),
        ),
        Rule::Reference,
        "serves[0].namnd",
    );
    w.then_rejected(
        by("ks", "2026-02-01"),
        unit(
            "fritids",
            "sektor-bou",
            json!([{"namnd": "bun", "verksamhet": " "}]),
        ),
        Rule::Input,
        "serves[0].verksamhet",
    );
    let twice = json!([{"namnd": "bun", "verksamhet": "Fritidshem"}, {"namnd": "bun", "verksamhet": "Fritidshem"}]);
    w.then_rejected(
        by("ks", "2026-02-01"),
        unit("fritids", "sektor-bou", twice),
        Rule::Input,
        "serves[1]",
    );
    // A fifth level is one too many.
    w.then_rejected(
        by("ks", "2026-02-01"),
        unit(
            "grupp",
            "forskola-kallby",
            json!([{"namnd": "bun", "verksamhet": "Förskola"}]),
        ),
        Rule::Consistency,
        "parent",
    );
    assert!(w.state.units["elevhalsan"].serves("sn") && w.state.units["elevhalsan"].serves("bun"));
    assert!(!w.state.units["sektor-bou"].serves("ks"));

    // P4 follows the responsibility: BUN's detaljbudget takes only units
    // that answer to BUN.
    w.then_rejected(
        by("bun", "2026-02-01"),
        json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2027,
            "lines": [{"unit": "hemtjansten", "amount": 1}]}),
        Rule::Reference,
        "lines[0].unit",
    );
    // P1 follows it too: the omsorg sektorschef leads no unit answering to
    // BUN; the kommunchef leads them all.
    let plan = |plan: &str| {
        json!({"command": "adopt_plan", "plan": plan, "kind": "enhetsplan", "body": "bun",
            "unit": "forskola-hallekis", "year": 2026, "activities": []})
    };
    w.then_rejected(
        official("sektor-omsorg", "2026-02-01"),
        plan("ep-1"),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(official("kommunforvaltningen", "2026-02-01"), plan("ep-1"));
    // A deviation at a unit answering to two nämnder is the one its
    // detaljbudget line names.
    let deviation = |id: &str, body: &str| {
        json!({"command": "report_deviation", "deviation": id, "unit": "elevhalsan",
            "from": {"kind": "detaljbudget", "body": body, "year": 2026, "unit": "elevhalsan"},
            "sign": "negative", "amount": -100, "analysis": "Fler ärenden", "noticed": "2026-04-01"})
    };
    for (id, body) in [("d-bun", "bun"), ("d-sn", "sn")] {
        let events = w.then_ok(official("elevhalsan", "2026-04-02"), deviation(id, body));
        assert!(
            matches!(&events[0], Event::DeviationReported(d) if d.body == body),
            "{events:?}"
        );
    }

    // An investment's deviation is the nämnd that carries it out, though
    // Sektor samhällsbyggnad answers to MBN first.
    let events = w.then_ok(
        official("sektor-samhalle", "2026-05-04"),
        json!({"command": "report_deviation", "deviation": "d-gator", "unit": "sektor-samhalle",
            "from": {"kind": "investment", "investment": "inv-gator", "year": 2026},
            "sign": "negative", "amount": -400, "analysis": "Dyrare asfalt", "noticed": "2026-05-02"}),
    );
    assert!(
        matches!(&events[0], Event::DeviationReported(d) if d.body == "ks"),
        "{events:?}"
    );

    // Each nämnd's plans take from its own line: BUN's enhetsplan at
    // Elevhälsan leaves SN's 6 000 tkr there whole.
    let at_elevhalsan = |plan: &str, body: &str, goal: &str, cost: i64| {
        json!({"command": "adopt_plan", "plan": plan, "kind": "enhetsplan", "body": body,
            "unit": "elevhalsan", "year": 2026,
            "activities": [{"id": "a", "title": "Samordnade insatser", "namndmal": [goal], "cost": cost}]})
    };
    w.then_ok(
        official("elevhalsan", "2026-02-10"),
        at_elevhalsan("ep-bun", "bun", "bun-m1", 20000),
    );
    w.then_ok(
        official("elevhalsan", "2026-02-10"),
        at_elevhalsan("ep-sn", "sn", "sn-m1", 6000),
    );
    w.then_rejected(
        official("elevhalsan", "2026-02-10"),
        at_elevhalsan("ep-sn-2", "sn", "sn-m1", 1),
        Rule::P4,
        "cost",
    );
    // An activity's unit answers to the plan's nämnd.
    let mut stray = plan("ep-2");
    stray["unit"] = json!("sektor-bou");
    stray["activities"] = json!([{"id": "a", "title": "x", "namndmal": ["bun-m1"], "unit": "elevhalsan"},
        {"id": "b", "title": "y", "namndmal": ["bun-m1"], "unit": "sektor-bou"}]);
    w.then_ok(official("sektor-bou", "2026-02-11"), stray.clone());
    w.then_ok(
        by("ks", "2026-02-01"),
        unit(
            "skolhalsovard",
            "elevhalsan",
            json!([{"namnd": "bun", "verksamhet": "Skolhälsovård"}]),
        ),
    );
    let mut sn_plan = plan("ep-3");
    sn_plan["body"] = json!("sn");
    sn_plan["unit"] = json!("elevhalsan");
    sn_plan["activities"] =
        json!([{"id": "a", "title": "x", "namndmal": ["sn-m1"], "unit": "skolhalsovard"}]);
    w.then_rejected(
        official("elevhalsan", "2026-02-11"),
        sn_plan,
        Rule::Reference,
        "activities[0].unit",
    );

    // Follow-up for SN: an official at a unit answering to SN, or the
    // kommunchef; not the sektorschef for barn och utbildning, though
    // Elevhälsan below also answers to SN.
    let outcome = json!({"command": "record_outcome", "goal": "sn-m1", "indicator": "tidiga-insatser",
        "period": "2026-T1", "value": 64.0, "source": "Verksamhetssystemet"});
    w.then_rejected(
        official("sektor-bou", "2026-05-02"),
        outcome.clone(),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(official("sektor-omsorg", "2026-05-02"), outcome.clone());
    w.then_ok(official("kommunforvaltningen", "2026-05-02"), outcome);

    // Only KS's förvaltning has units answering to other nämnder.
    w.then_ok(
        by("bun", "2026-02-01"),
        json!({"command": "establish_unit", "unit": "bun-kansli", "name": "BUN:s kansli", "namnd": "bun", "level": "forvaltning"}),
    );
    w.then_rejected(
        by("bun", "2026-02-01"),
        json!({"command": "establish_unit", "unit": "bun-sn", "name": "x", "namnd": "bun", "parent": "bun-kansli",
            "level": "sektor", "serves": [{"namnd": "sn", "verksamhet": "Skolsocialt arbete"}]}),
        Rule::P1,
        "serves[0].namnd",
    );

    // A grant for BUN alone does not let an identity record as an official
    // at a unit that also answers to SN.
    let grant = |body: &str| {
        cmd(
            json!({"command": "grant_access", "identity": "rektor", "access": {"kind": "body", "body": body}}),
        )
    };
    let p = by("ks", "2026-02-01");
    for e in w.state.decide(&p, &grant("bun")).unwrap() {
        w.state.evolve(
            &EventMeta {
                event_id: Uuid::from_u128(90_001),
                decided_by: p.decided_by.clone(),
            },
            &e,
        );
    }
    let report = cmd(deviation("d-3", "bun"));
    let r = w
        .state
        .decide_as("rektor", &official("elevhalsan", "2026-04-03"), &report)
        .unwrap_err();
    assert_eq!(r.rule, Rule::P1, "{r}");
    assert!(
        r.message.contains("SN") && !r.message.contains("BUN"),
        "{r}"
    );
    assert!(w
        .state
        .decide_as("rektor", &official("forskola-kallby", "2026-04-03"), &cmd(json!({
            "command": "report_deviation", "deviation": "d-4", "unit": "forskola-kallby",
            "from": {"kind": "detaljbudget", "body": "bun", "year": 2026, "unit": "forskola-kallby"},
            "sign": "negative", "amount": -100, "analysis": "Vikarier", "noticed": "2026-04-01"})))
        .is_ok());
}

/// A group is decided on a copy of the state: the copy shares every
/// collection, and a decision folded into it copies only what it changes;
/// the state it came from stays as it was.
#[test]
fn a_copy_of_the_state_shares_what_it_does_not_change() {
    let w = kommun();
    let mut copy = w.state.clone();
    assert_eq!(copy, w.state);
    assert!(copy.units.is_shared_with(&w.state.units));
    assert!(copy.bodies.is_shared_with(&w.state.bodies));
    let events = w.clone_ok(
        by("bun", "2025-12-01"),
        json!({"command": "establish_unit", "unit": "bun-vast", "name": "Väst", "namnd": "bun", "parent": "bun-skola", "level": "ansvarsenhet"}),
    );
    for e in &events {
        copy.evolve(
            &EventMeta {
                event_id: Uuid::from_u128(999),
                decided_by: by("bun", "2025-12-01").decided_by,
            },
            e,
        );
    }
    assert!(copy.units.contains_key("bun-vast"));
    assert!(!w.state.units.contains_key("bun-vast"));
    assert!(!copy.units.is_shared_with(&w.state.units));
    assert!(copy.bodies.is_shared_with(&w.state.bodies));
    assert!(copy.goals.is_shared_with(&w.state.goals));
    // Serialised as the collection itself (a snapshot's form is unchanged).
    let json = serde_json::to_value(&w.state.units).unwrap();
    assert_eq!(json, serde_json::to_value(&*w.state.units).unwrap());
    assert!(json["bun-sodra"].is_object(), "{json}");
}
