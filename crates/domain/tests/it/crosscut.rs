//! Goals that cross the organisation, given/when/then: målgrupper,
//! processes and their goals, contributions from nämnder, bolag and
//! kommunalförbund, and Agenda 2030 tags.

use serde_json::json;
use styr_domain::*;

use crate::common::*;

/// The starting kommun with a räddningstjänstförbund, two målgrupper and
/// a process owned by KS with one process goal for 2026–2027.
fn with_process() -> World {
    let mut w = kommun();
    w.then_ok(
        by("kf", "2025-04-14"),
        json!({"command": "establish_body", "body": "rtj", "kind": "kommunalforbund", "name": "Räddningstjänsten",
               "area": "Räddningstjänst", "forbund": {"members": ["0884", "0860"], "organ": "direktion", "stream": "rtj-sydost"}}),
    );
    for (id, name) in [("invanare", "Invånare"), ("foretag", "Företag")] {
        w.then_ok(
            by("ks", "2025-05-12"),
            json!({"command": "define_malgrupp", "malgrupp": id, "name": name}),
        );
    }
    w.then_ok(
        by("ks", "2025-05-12"),
        json!({"command": "establish_process", "process": "etablering", "name": "Etablering av företag",
               "purpose": "En väg in", "owner": "ks", "malgrupper": ["foretag"]}),
    );
    w.then_ok(
        by("ks", "2025-12-08"),
        json!({"command": "adopt_process_goals", "process": "etablering", "goals": [
            {"id": "etab-1", "title": "Fler företag etablerar sig", "from_year": 2026, "to_year": 2027,
             "malgrupper": ["foretag"], "agenda2030": ["8.3", "9"],
             "indicators": [{"id": "nya", "name": "Nya företag", "direction": "increase", "agenda2030": ["8.3"],
                             "kolada_kpi_group": "G2KPI92539"}]}]}),
    );
    w
}

fn contribution(body: &str, id: &str) -> serde_json::Value {
    json!({"command": "record_contribution", "contribution": id, "body": body, "goal": "etab-1",
           "year": 2026, "title": "Planlagd mark"})
}

#[test]
fn a_process_is_established_by_kf_or_ks_for_defined_malgrupper() {
    let w = with_process();
    let process = |owner: &str, malgrupper: serde_json::Value| {
        json!({"command": "establish_process", "process": "barn", "name": "Barns uppväxt",
               "purpose": "En kedja", "owner": owner, "malgrupper": malgrupper})
    };
    // Given the kommun, when KF establishes one, then it is recorded.
    let mut kf = with_process();
    let events = kf.then_ok(by("kf", "2025-06-16"), process("bun", json!(["invanare"])));
    assert!(matches!(&events[..], [Event::ProcessEstablished(p)] if p.owner == "bun"));
    // A nämnd does not establish one (P1) …
    w.then_rejected(
        by("bun", "2025-06-16"),
        process("bun", json!(["invanare"])),
        Rule::P1,
        "decided_by",
    );
    // … a målgrupp must be defined, and named once …
    w.then_rejected(
        by("ks", "2025-06-16"),
        process("bun", json!(["besokare"])),
        Rule::Reference,
        "malgrupper[0]",
    );
    w.then_rejected(
        by("ks", "2025-06-16"),
        process("bun", json!(["invanare", "invanare"])),
        Rule::Input,
        "malgrupper[1]",
    );
    w.then_rejected(
        by("ks", "2025-06-16"),
        process("bun", json!([])),
        Rule::Input,
        "malgrupper",
    );
    // … the owner is a body that runs something, and the id is new (P6).
    w.then_rejected(
        by("ks", "2025-06-16"),
        process("rev", json!(["invanare"])),
        Rule::Reference,
        "owner",
    );
    w.then_rejected(
        by("ks", "2025-06-16"),
        json!({"command": "establish_process", "process": "etablering", "name": "x", "purpose": "x", "owner": "ks", "malgrupper": ["foretag"]}),
        Rule::P6,
        "process",
    );
    w.then_rejected(
        by("ks", "2025-06-16"),
        json!({"command": "define_malgrupp", "malgrupp": "foretag", "name": "Företag"}),
        Rule::P6,
        "malgrupp",
    );
    // Målgrupper are KF's or KS's to define, not a nämnd's (P1).
    w.then_rejected(
        by("bun", "2025-06-16"),
        json!({"command": "define_malgrupp", "malgrupp": "elever", "name": "Elever"}),
        Rule::P1,
        "decided_by",
    );
}

#[test]
fn process_goals_are_adopted_by_kf_or_the_process_owner() {
    let w = with_process();
    let goals = |id: &str, extra: serde_json::Value| {
        let mut g = json!({"id": id, "title": "Mål", "from_year": 2026, "to_year": 2026});
        for (k, v) in extra.as_object().unwrap() {
            g[k] = v.clone();
        }
        json!({"command": "adopt_process_goals", "process": "etablering", "goals": [g]})
    };
    w.clone_ok(by("kf", "2025-12-15"), goals("etab-2", json!({})));
    w.then_rejected(
        by("bun", "2025-12-15"),
        goals("etab-2", json!({})),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-1", json!({})),
        Rule::P6,
        "goals[0].id",
    );
    // A nämndmål's id is not reused either.
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("bun-m1", json!({})),
        Rule::P6,
        "goals[0].id",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-2", json!({"agenda2030": ["18"]})),
        Rule::Input,
        "goals[0].agenda2030[0]",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-2", json!({"agenda2030": ["4.8"]})),
        Rule::Input,
        "goals[0].agenda2030[0]",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-2", json!({"malgrupper": ["turister"]})),
        Rule::Reference,
        "goals[0].malgrupper[0]",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-2", json!({"indicators": [{"id": "x", "name": "x", "direction": "increase", "kolada_kpi_group": "N01951"}]})),
        Rule::Input,
        "goals[0].indicators[0].kolada_kpi_group",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        goals("etab-2", json!({"indicators": [{"id": "x", "name": "x", "direction": "increase", "agenda2030": ["4.1", "4.1"]}]})),
        Rule::Input,
        "goals[0].indicators[0].agenda2030[1]",
    );
    w.then_rejected(
        by("ks", "2025-12-15"),
        json!({"command": "adopt_process_goals", "process": "okand", "goals": []}),
        Rule::Reference,
        "process",
    );
}

#[test]
fn contributions_are_decided_by_the_contributing_body() {
    let mut w = with_process();
    // A nämnd, a bolag and the förbund each contribute, by their own decision.
    w.then_ok(by("bun", "2026-01-20"), contribution("bun", "c-bun"));
    w.then_ok(by("hem", "2026-02-10"), contribution("hem", "c-hem"));
    let events = w.then_ok(by("rtj", "2026-03-05"), contribution("rtj", "c-rtj"));
    assert!(matches!(&events[..], [Event::ContributionRecorded(c)] if c.process == "etablering"));
    // P1: KS does not decide BUN's contribution; a delegat of BUN does only
    // under a point that covers plans.
    w.then_rejected(
        by("ks", "2026-01-20"),
        contribution("bun", "c-2"),
        Rule::P1,
        "decided_by",
    );
    let chef = |point: &str| delegate("bun", point, "forvaltningschef", "2026-01-20");
    w.then_rejected(
        chef("2.1"),
        contribution("bun", "c-2"),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(
        by("bun", "2026-01-15"),
        json!({"command": "grant_delegation", "body": "bun", "point": "2.2",
               "delegate": "forvaltningschef", "matters": ["plan"]}),
    );
    w.then_ok(chef("2.2"), contribution("bun", "c-delegat"));
    // The revisorer contribute nothing; ids are not reused.
    w.then_rejected(
        by("rev", "2026-01-20"),
        contribution("rev", "c-2"),
        Rule::Reference,
        "body",
    );
    w.then_rejected(
        by("bun", "2026-01-20"),
        contribution("bun", "c-bun"),
        Rule::P6,
        "contribution",
    );
    // P3: the goal belongs to a process and is in force in the year.
    let mut c = contribution("bun", "c-2");
    c["goal"] = json!("kf-1");
    w.then_rejected(by("bun", "2026-01-20"), c, Rule::P3, "goal");
    let mut c = contribution("bun", "c-2");
    c["year"] = json!(2028);
    w.then_rejected(by("bun", "2026-01-20"), c, Rule::P3, "year");
    // A contribution that is one of the body's nämndmål names its own.
    let mut c = contribution("sn", "c-2");
    c["namndmal"] = json!("bun-m1");
    w.then_rejected(by("sn", "2026-01-20"), c, Rule::P3, "namndmal");
}

#[test]
fn a_forbund_refers_to_its_own_history_by_sequence_and_hash() {
    let mut w = with_process();
    let hash = "ab".repeat(32);
    let mut c = contribution("rtj", "c-rtj");
    c["forbund_record"] = json!({"sequence": 17, "hash": hash.to_uppercase()});
    let events = w.then_ok(by("rtj", "2026-03-05"), c);
    let Event::ContributionRecorded(recorded) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        recorded.forbund_record,
        Some(ForbundRecord {
            stream: "rtj-sydost".into(),
            sequence: 17,
            hash
        })
    );
    // Only a förbund with a history of its own has somewhere to refer to.
    let mut c = contribution("bun", "c-bun");
    c["forbund_record"] = json!({"sequence": 17, "hash": "ab".repeat(32)});
    w.then_rejected(
        by("bun", "2026-03-05"),
        c,
        Rule::Reference,
        "forbund_record",
    );
    let mut c = contribution("rtj", "c-rtj2");
    c["forbund_record"] = json!({"sequence": 17, "hash": "abc"});
    w.then_rejected(
        by("rtj", "2026-03-05"),
        c,
        Rule::Input,
        "forbund_record.hash",
    );
    let mut c = contribution("rtj", "c-rtj2");
    c["forbund_record"] = json!({"sequence": 0, "hash": "ab".repeat(32)});
    w.then_rejected(
        by("rtj", "2026-03-05"),
        c,
        Rule::Input,
        "forbund_record.sequence",
    );
}

#[test]
fn a_forbund_has_members_and_an_organ() {
    let w = kommun();
    let forbund = |f: serde_json::Value| json!({"command": "establish_body", "body": "rtj", "kind": "kommunalforbund", "name": "R", "area": "R", "forbund": f});
    w.then_rejected(
        by("kf", "2025-04-14"),
        json!({"command": "establish_body", "body": "rtj", "kind": "kommunalforbund", "name": "R", "area": "R"}),
        Rule::Input,
        "forbund",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        json!({"command": "establish_body", "body": "x", "kind": "committee", "name": "R", "area": "R",
               "forbund": {"members": ["0884", "0860"], "organ": "direktion"}}),
        Rule::Input,
        "forbund",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        forbund(json!({"members": ["0884"], "organ": "direktion"})),
        Rule::Consistency,
        "forbund.members",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        forbund(json!({"members": ["0860", "0882"], "organ": "direktion"})),
        Rule::Consistency,
        "forbund.members",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        forbund(json!({"members": ["0884", "884"], "organ": "direktion"})),
        Rule::Input,
        "forbund.members[1]",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        forbund(json!({"members": ["0884", "0884"], "organ": "direktion"})),
        Rule::Input,
        "forbund.members[1]",
    );
    w.then_rejected(
        by("kf", "2025-04-14"),
        forbund(json!({"members": ["0884", "0860"], "organ": "direktion", "stream": "a b"})),
        Rule::Input,
        "forbund.stream",
    );
    w.then_rejected(
        by("ks", "2025-04-14"),
        forbund(json!({"members": ["0884", "0860"], "organ": "direktion"})),
        Rule::P1,
        "decided_by",
    );
}

#[test]
fn a_closed_process_takes_no_more_goals_or_contributions() {
    let mut w = with_process();
    w.then_rejected(
        by("bun", "2026-01-20"),
        json!({"command": "close_process", "process": "etablering", "last_year": 2026, "reason": "Klar"}),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(
        by("ks", "2026-01-20"),
        json!({"command": "close_process", "process": "etablering", "last_year": 2026, "reason": "Går upp i en ny process"}),
    );
    w.then_rejected(
        by("ks", "2026-02-20"),
        json!({"command": "close_process", "process": "etablering", "last_year": 2026, "reason": "igen"}),
        Rule::P6,
        "process",
    );
    // 2026 still runs; 2027 does not.
    w.then_ok(by("bun", "2026-02-20"), contribution("bun", "c-1"));
    let mut c = contribution("bun", "c-2");
    c["year"] = json!(2027);
    w.then_rejected(by("bun", "2026-02-20"), c, Rule::P3, "goal");
    w.then_rejected(
        by("ks", "2026-02-20"),
        json!({"command": "adopt_process_goals", "process": "etablering", "goals": [
            {"id": "etab-9", "title": "Mål", "from_year": 2027, "to_year": 2027}]}),
        Rule::P3,
        "process",
    );
}

#[test]
fn kf_goals_and_namndmal_carry_processes_malgrupper_and_agenda_2030() {
    let mut w = with_process();
    let budget = |goal: serde_json::Value| {
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
               "goals": [goal]})
    };
    let goal = json!({"id": "kf-9", "kind": "inriktningsmal", "title": "Fler jobb", "from_year": 2027, "to_year": 2028,
                      "process": "etablering", "malgrupper": ["foretag"], "agenda2030": ["8", "8.5"]});
    w.then_rejected(by("kf", "2026-06-15"), budget(json!({"id": "kf-9", "kind": "inriktningsmal", "title": "x", "from_year": 2027, "to_year": 2027, "process": "okand"})), Rule::Reference, "goals[0].process");
    w.then_rejected(by("kf", "2026-06-15"), budget(json!({"id": "kf-9", "kind": "inriktningsmal", "title": "x", "from_year": 2027, "to_year": 2027, "agenda2030": ["17.a"]})), Rule::Input, "goals[0].agenda2030[0]");
    let events = w.then_ok(by("kf", "2026-06-15"), budget(goal));
    assert!(events.iter().any(|e| matches!(e, Event::KfGoalAdopted(g)
        if g.goal.process.as_deref() == Some("etablering") && g.goal.agenda2030 == ["8", "8.5"])));
    // A KF goal in a process takes contributions like a process goal.
    let mut c = contribution("rtj", "c-kf9");
    c["goal"] = json!("kf-9");
    c["year"] = json!(2027);
    w.then_ok(by("rtj", "2027-01-10"), c);
    // A nämndmål may break down a process goal, and carries its own tags.
    w.then_ok(
        by("sn", "2025-12-10"),
        json!({"command": "adopt_namndplan", "body": "sn", "year": 2026, "grunduppdrag": "Omsorg",
               "goals": [{"id": "sn-m1", "title": "Stöd till nya företagare", "perspective": "utveckling",
                          "kf_goals": ["etab-1"], "agenda2030": ["8.3"]}]}),
    );
    w.then_rejected(
        by("sn", "2025-12-10"),
        json!({"command": "adopt_namndplan", "body": "sn", "year": 2026, "grunduppdrag": "Omsorg", "revises": true,
               "goals": [{"id": "sn-m1", "title": "x", "perspective": "utveckling", "kf_goals": ["etab-1"], "agenda2030": ["0"]}]}),
        Rule::Input,
        "goals[0].agenda2030[0]",
    );
}

#[test]
fn the_agenda_2030_list_answers_goals_and_targets() {
    assert_eq!(GLOBAL_GOALS.len(), 17);
    assert_eq!(global_goal_of("4.1"), Some(4));
    assert_eq!(global_goal_of("16.b"), Some(16));
    assert_eq!(global_goal_of("16.c"), None);
    assert_eq!(
        GlobalGoal::get(13).unwrap().targets(),
        ["13.1", "13.2", "13.3", "13.a", "13.b"]
    );
    assert!(GlobalGoal::get(0).is_none() && GlobalGoal::get(18).is_none());
}

#[test]
fn a_processmal_is_followed_up_by_its_process_owner() {
    let mut w = with_process();
    w.then_ok(
        by("ks", "2025-05-12"),
        json!({"command": "establish_process", "process": "barn", "name": "Barns uppväxt",
               "purpose": "En kedja", "owner": "bun", "malgrupper": ["invanare"]}),
    );
    w.then_ok(
        by("bun", "2025-12-10"),
        json!({"command": "adopt_process_goals", "process": "barn", "goals": [
            {"id": "barn-1", "title": "Tidiga insatser", "from_year": 2026, "to_year": 2026,
             "indicators": [{"id": "tidiga", "name": "Barn med tidiga insatser", "direction": "increase"}]}]}),
    );
    let report = |body: &str| {
        json!({"command": "adopt_follow_up_report", "body": body, "year": 2026, "kind": "budgetuppfoljning",
               "ramar": [{"body": body, "outcome": 1000, "forecast": 1000}],
               "goals": [{"goal": "barn-1", "assessment": "partly", "comment": "På väg"}]})
    };
    // Another nämnd does not report on it; its owner and KS do.
    w.then_rejected(
        by("sn", "2026-05-10"),
        report("sn"),
        Rule::Reference,
        "goals[0].goal",
    );
    w.clone_ok(by("ks", "2026-05-10"), report("ks"));
    w.then_ok(by("bun", "2026-05-10"), report("bun"));
    // Its indicator values are recorded by the owner's organisation.
    let outcome = json!({"command": "record_outcome", "goal": "barn-1", "indicator": "tidiga",
                         "period": "2026-T1", "value": 12.0, "source": "Elevhälsan"});
    w.then_rejected(
        official("sn-forv", "2026-05-11"),
        outcome.clone(),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(official("bun-forv", "2026-05-11"), outcome);
}

#[test]
fn goal_ids_are_one_namespace_whoever_adopts_them() {
    let w = with_process();
    // A nämnd cannot take over a processmål by adopting a nämndmål of its id …
    w.then_rejected(
        by("bun", "2025-12-10"),
        json!({"command": "adopt_namndplan", "body": "bun", "year": 2026, "grunduppdrag": "x", "revises": true,
               "goals": [{"id": "etab-1", "title": "x", "perspective": "utveckling", "kf_goals": ["kf-1"]}]}),
        Rule::P6,
        "goals[0].id",
    );
    // … nor KF a nämndmål's by adopting a KF goal of its id.
    w.then_rejected(
        by("kf", "2026-06-15"),
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
               "goals": [{"id": "bun-m1", "kind": "inriktningsmal", "title": "x", "from_year": 2027, "to_year": 2027}]}),
        Rule::P6,
        "goals[0].id",
    );
}

#[test]
fn nothing_serves_a_closed_process_after_its_last_year() {
    let mut w = with_process();
    w.then_ok(
        by("ks", "2026-01-20"),
        json!({"command": "close_process", "process": "etablering", "last_year": 2026, "reason": "Klar"}),
    );
    // A nämndmål for 2027 does not break down its processmål (in force 2026–2027).
    w.then_ok(by("kf", "2026-06-15"), json!({"command": "adopt_budget", "year": 2027,
        "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
        "goals": [{"id": "kf-27", "kind": "inriktningsmal", "title": "Mål 2027", "from_year": 2027, "to_year": 2027}]}));
    w.then_rejected(
        by("sn", "2026-11-20"),
        json!({"command": "adopt_namndplan", "body": "sn", "year": 2027, "grunduppdrag": "x",
               "goals": [{"id": "sn-27", "title": "x", "perspective": "utveckling", "kf_goals": ["etab-1"]}]}),
        Rule::P3,
        "goals[0].kf_goals[0]",
    );
}

#[test]
fn a_goal_of_a_process_lies_within_the_years_the_process_runs() {
    let mut w = with_process();
    w.then_ok(
        by("ks", "2026-01-20"),
        json!({"command": "close_process", "process": "etablering", "last_year": 2026, "reason": "Klar"}),
    );
    // A processmål to 2027 would outlive its process.
    w.then_rejected(
        by("ks", "2026-02-20"),
        json!({"command": "adopt_process_goals", "process": "etablering", "goals": [
            {"id": "etab-9", "title": "Mål", "from_year": 2026, "to_year": 2027}]}),
        Rule::P3,
        "process",
    );
    // So would a KF goal of it, and an uppdrag serving its goal in 2027.
    w.then_rejected(
        by("kf", "2026-06-15"),
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
               "goals": [{"id": "kf-9", "kind": "inriktningsmal", "title": "x", "from_year": 2027, "to_year": 2027, "process": "etablering"}]}),
        Rule::P3,
        "goals[0].process",
    );
    w.then_rejected(
        by("kf", "2026-06-15"),
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
               "uppdrag_given": [{"id": "u-9", "title": "x", "description": "x", "to": ["bun"], "due": "2027-12-31", "goals": ["etab-1"]}]}),
        Rule::P3,
        "uppdrag_given[0].goals[0]",
    );
    // Years far outside the calendar are input errors, not arithmetic.
    w.then_rejected(
        by("ks", "2026-02-20"),
        json!({"command": "adopt_process_goals", "process": "etablering", "goals": [
            {"id": "etab-9", "title": "Mål", "from_year": i32::MIN, "to_year": i32::MAX}]}),
        Rule::Input,
        "goals[0].from_year",
    );
}

#[test]
fn a_forbund_is_not_directed_by_the_kommun() {
    let w = with_process();
    // KF gives a förbund no ram, no uppdrag and no units; it owns no process.
    w.then_rejected(
        by("kf", "2026-06-15"),
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "rtj", "year": 2027, "amount": 1}]}),
        Rule::Reference,
        "ramar[0].body",
    );
    w.then_rejected(
        by("kf", "2026-06-15"),
        json!({"command": "adopt_budget", "year": 2027, "ramar": [{"body": "bun", "year": 2027, "amount": 1}],
               "uppdrag_given": [{"id": "u-9", "title": "x", "description": "x", "to": ["rtj"], "due": "2027-12-31"}]}),
        Rule::Reference,
        "uppdrag_given[0].to[0]",
    );
    w.then_rejected(
        by("rtj", "2026-01-10"),
        json!({"command": "establish_unit", "unit": "rtj-station", "name": "Station", "namnd": "rtj", "level": "forvaltning"}),
        Rule::Reference,
        "namnd",
    );
    w.then_rejected(
        by("ks", "2026-01-10"),
        json!({"command": "establish_process", "process": "trygghet", "name": "Trygghet", "purpose": "x",
               "owner": "rtj", "malgrupper": ["invanare"]}),
        Rule::Reference,
        "owner",
    );
    // Its own decisions that concern the kommun are its own: not KS's, not KF's.
    for body in ["ks", "kf"] {
        w.then_rejected(
            by(body, "2026-03-05"),
            contribution("rtj", "c-rtj"),
            Rule::P1,
            "decided_by",
        );
    }
    w.clone_ok(
        by("rtj", "2025-12-04"),
        json!({"command": "adopt_namndplan", "body": "rtj", "year": 2026, "grunduppdrag": "Räddningstjänst",
               "goals": [{"id": "rtj-m1", "title": "Färre bränder", "perspective": "invanare_och_brukare", "kf_goals": ["kf-1"]}]}),
    );
}

#[test]
fn a_contribution_that_is_a_namndmal_breaks_the_goal_down() {
    let mut w = with_process();
    // bun-m1 breaks down kf-1, not etab-1.
    let mut c = contribution("bun", "c-1");
    c["namndmal"] = json!("bun-m1");
    w.then_rejected(by("bun", "2026-01-20"), c, Rule::P3, "namndmal");
    w.then_ok(
        by("bun", "2025-12-10"),
        json!({"command": "adopt_namndplan", "body": "bun", "year": 2026, "grunduppdrag": "x", "revises": true,
               "goals": [{"id": "bun-m1", "title": "Fler elever når målen", "perspective": "invanare_och_brukare", "kf_goals": ["kf-1"]},
                         {"id": "bun-m9", "title": "Entreprenörskap i skolan", "perspective": "utveckling", "kf_goals": ["etab-1"]}]}),
    );
    let mut c = contribution("bun", "c-1");
    c["namndmal"] = json!("bun-m9");
    w.then_ok(by("bun", "2026-01-20"), c);
}
