//! given / when / then for the follow-up half: outcomes, deviations,
//! reports (P5), intern kontroll and the revisorer.

use crate::common::*;
use serde_json::json;
use styr_domain::*;
use styr_domain::{
    DeviationReported, InternalControlPlanAdopted, InvestmentFollowedUp, KoladaValuesImported,
    OutcomesRecorded, ReviewReplied,
};

/// The common kommun plus a KS förvaltning and an indicator on a nämndmål.
fn world() -> World {
    let mut w = kommun();
    w.then_ok(by("ks", "2023-01-10"), json!({"command": "establish_unit", "unit": "ks-forv", "name": "KLF", "namnd": "ks", "level": "forvaltning"}));
    w
}

#[test]
fn outcomes_one_at_a_time_and_as_an_import() {
    let mut w = world();
    let one = |goal: &str, ind: &str, period: &str| json!({"command": "record_outcome", "goal": goal, "indicator": ind, "period": period, "value": 84.2, "source": "Kolada"});
    w.then_ok(by("ks", "2026-03-01"), one("kf-1", "i1", "2025"));
    w.then_ok(
        official("ks-forv", "2026-03-01"),
        one("kf-1", "i1", "2026-T1"),
    );
    w.then_rejected(
        official("bun-forv", "2026-03-01"),
        one("kf-1", "i1", "2025"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2026-03-01"),
        one("kf-1", "nope", "2025"),
        Rule::Reference,
        "indicator",
    );
    w.then_rejected(
        by("ks", "2026-03-01"),
        one("kf-1", "i1", "2025-T4"),
        Rule::Input,
        "period",
    );
    w.then_rejected(
        by("ks", "2026-03-01"),
        one("kf-1", "i1", "25"),
        Rule::Input,
        "period",
    );
    w.then_rejected(by("ks", "2026-03-01"), json!({"command": "record_outcome", "goal": "kf-1", "indicator": "i1", "period": "2025", "value": 1.0, "source": " "}), Rule::Input, "source");

    let import = |rows: serde_json::Value| json!({"command": "import_outcomes", "source": "Kolada", "fetched_at": "2026-03-02T06:00:00Z", "rows": rows});
    let rows = json!([
        {"goal": "kf-1", "indicator": "i1", "period": "2024", "value": 81.0},
        {"goal": "kf-1", "indicator": "i1", "period": "2025", "value": 84.0}]);
    let events = w.then_ok(official("ks-forv", "2026-03-02"), import(rows.clone()));
    assert_eq!(events.len(), 1, "one event for the whole import");
    assert!(
        matches!(&events[0], Event::OutcomesRecorded(OutcomesRecorded { rows, fetched_at: Some(_), .. }) if rows.len() == 2)
    );
    // A re-fetch with a revised value is recorded beside the old one, never over it.
    w.then_ok(official("ks-forv", "2026-04-02"), import(rows));
    w.then_rejected(
        by("bun", "2026-03-02"),
        import(json!([{"goal": "kf-1", "indicator": "i1", "period": "2025", "value": 1.0}])),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2026-03-02"),
        import(json!([])),
        Rule::Input,
        "rows",
    );
    w.then_rejected(by("ks", "2026-03-02"), import(json!([{"goal": "kf-1", "indicator": "i1", "period": "2025", "value": 1.0}, {"goal": "x", "indicator": "i1", "period": "2025", "value": 1.0}])), Rule::Reference, "rows[1].indicator");
}

#[test]
fn kolada_values_land_on_the_indicators_that_name_them() {
    let mut w = world();
    let import = |rows: serde_json::Value| json!({"command": "import_kolada", "fetched_at": "2026-03-02T06:00:00Z", "rows": rows});
    let row = |kpi: &str, kommun: &str, gender: &str, value: serde_json::Value| json!({"kpi": kpi, "municipality": kommun, "period": 2025, "gender": gender, "status": "", "value": value});
    // Given an indicator with kolada_kpi N15428, when Kolada's rows for it
    // are imported, then one event maps each row onto that indicator.
    let events = w.then_ok(
        official("ks-forv", "2026-03-02"),
        import(json!([
            row("N15428", "0884", "T", json!(67.4)),
            row("N15428", "0884", "K", json!(71.2))
        ])),
    );
    let [Event::KoladaValuesImported(KoladaValuesImported {
        kommunkod, rows, ..
    })] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(kommunkod, "0884");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].indicators,
        vec![IndicatorRef {
            goal: "kf-1".into(),
            indicator: "i1".into()
        }]
    );
    // The same values again: nothing new, refused as such.
    w.then_rejected(
        official("ks-forv", "2026-03-03"),
        import(json!([row("N15428", "0884", "T", json!(67.4))])),
        Rule::Input,
        "rows",
    );
    // A revised value: recorded, and only it.
    let events = w.then_ok(
        official("ks-forv", "2026-06-10"),
        import(json!([
            row("N15428", "0884", "T", json!(68.1)),
            row("N15428", "0884", "K", json!(71.2))
        ])),
    );
    assert!(
        matches!(&events[0], Event::KoladaValuesImported(e) if e.rows.len() == 1 && e.rows[0].value == Some(68.1))
    );
    // Another kommun's row, a nyckeltal no indicator names, a bad gender, a
    // row twice, and someone without follow-up authority: refused.
    w.then_rejected(
        official("ks-forv", "2026-06-10"),
        import(json!([row("N15428", "1471", "T", json!(1.0))])),
        Rule::Reference,
        "rows[0].municipality",
    );
    w.then_rejected(
        official("ks-forv", "2026-06-10"),
        import(json!([row("N00002", "0884", "T", json!(1.0))])),
        Rule::Reference,
        "rows[0].kpi",
    );
    w.then_rejected(
        official("ks-forv", "2026-06-10"),
        import(json!([row("N15428", "0884", "X", json!(1.0))])),
        Rule::Input,
        "rows[0].gender",
    );
    w.then_rejected(
        official("ks-forv", "2026-06-10"),
        import(json!([
            row("N15428", "0884", "T", json!(1.0)),
            row("N15428", "0884", "T", json!(2.0))
        ])),
        Rule::Input,
        "rows[1].kpi",
    );
    w.then_rejected(
        by("bun", "2026-06-10"),
        import(json!([row("N15428", "0884", "T", json!(2.0))])),
        Rule::P1,
        "decided_by",
    );
    // The P1 message names the matter in Swedish, not as code.
    let refused = w
        .state
        .decide(
            &by("bun", "2026-06-10"),
            &serde_json::from_value(import(json!([row("N15428", "0884", "T", json!(2.0))])))
                .unwrap(),
        )
        .unwrap_err();
    assert!(
        refused.message.contains("uppföljning (utfall)") && !refused.message.contains("FollowUp"),
        "{refused}"
    );
    // A value Kolada does not have is recorded with its status.
    let events = w.then_ok(
        official("ks-forv", "2026-06-11"),
        import(json!([{"kpi": "N15428", "municipality": "0884", "period": 2024, "gender": "T", "status": "Saknas", "value": null}])),
    );
    assert!(
        matches!(&events[0], Event::KoladaValuesImported(e) if e.rows[0].value.is_none() && e.rows[0].status == "Saknas")
    );
}

fn deviation(
    id: &str,
    unit: &str,
    from: serde_json::Value,
    amount: Option<i64>,
) -> serde_json::Value {
    json!({"command": "report_deviation", "deviation": id, "unit": unit, "from": from, "sign": "negative",
           "amount": amount, "analysis": "Fler elever än budgeterat", "noticed": "2026-03-15"})
}

#[test]
fn deviations_from_report_to_closure() {
    let mut w = world();
    let line = json!({"kind": "detaljbudget", "body": "bun", "year": 2026, "unit": "bun-sodra"});
    w.then_rejected(
        official("sn-forv", "2026-03-16"),
        deviation("d1", "bun-sodra", line.clone(), Some(-800)),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-16"),
        deviation("d1", "bun-sodra", line.clone(), None),
        Rule::Input,
        "amount",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-16"),
        deviation(
            "d1",
            "bun-sodra",
            json!({"kind": "uppdrag", "uppdrag": "u-9"}),
            None,
        ),
        Rule::Reference,
        "from",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-16"),
        deviation(
            "d1",
            "bun-sodra",
            json!({"kind": "ram", "body": "bun", "year": 2030}),
            Some(1),
        ),
        Rule::Reference,
        "from",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-16"),
        deviation(
            "d1",
            "bun-sodra",
            json!({"kind": "indicator", "goal": "kf-1", "indicator": "x"}),
            None,
        ),
        Rule::Reference,
        "from",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-14"),
        deviation("d1", "bun-sodra", line.clone(), Some(-800)),
        Rule::Consistency,
        "noticed",
    );
    let events = w.then_ok(
        official("bun-sodra", "2026-03-16"),
        deviation("d1", "bun-sodra", line.clone(), Some(-800)),
    );
    assert!(
        matches!(&events[0], Event::DeviationReported(DeviationReported { reported, noticed, body, .. })
        if reported.to_string() == "2026-03-16" && noticed.to_string() == "2026-03-15" && body == "bun")
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-16"),
        deviation("d1", "bun-sodra", line, Some(-1)),
        Rule::P6,
        "deviation",
    );
    w.then_ok(
        official("bun-sodra", "2026-03-16"),
        deviation(
            "d2",
            "bun-sodra",
            json!({"kind": "goal", "goal": "bun-m1"}),
            None,
        ),
    );

    let action = |d: &str, a: &str| json!({"command": "record_deviation_action", "deviation": d, "action": a, "description": "Omfördela resurser"});
    // Within the unit's own delegation, or from above it; not from a sibling.
    w.then_ok(official("bun-sodra", "2026-03-20"), action("d1", "a1"));
    w.then_ok(official("bun-skola", "2026-03-21"), action("d1", "a2"));
    w.then_rejected(
        official("bun-norra", "2026-03-21"),
        action("d1", "a3"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-21"),
        action("d1", "a1"),
        Rule::P6,
        "action",
    );
    w.then_rejected(
        official("bun-sodra", "2026-03-21"),
        action("d9", "a1"),
        Rule::Reference,
        "deviation",
    );
    // Beyond delegation: escalated to the nämnd, whose matter it now is.
    let escalate = json!({"command": "escalate_deviation", "deviation": "d1", "reason": "Kräver beslut om omprioritering"});
    w.then_ok(official("bun-forv", "2026-04-02"), escalate.clone());
    w.then_rejected(
        official("bun-forv", "2026-04-03"),
        escalate,
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("bun-sodra", "2026-04-03"),
        action("d1", "a4"),
        Rule::P1,
        "decided_by",
    );
    // The delegat's point does not cover follow-up; the nämnd itself acts.
    w.then_rejected(
        delegate("bun", "2.1", "forvaltningschef", "2026-04-03"),
        action("d1", "a4"),
        Rule::P1,
        "decided_by",
    );
    w.then_ok(by("bun", "2026-04-03"), action("d1", "a4"));
    // Closed deviations take nothing more.
    w.then_ok(
        official("bun-sodra", "2026-04-05"),
        json!({"command": "close_deviation", "deviation": "d2", "outcome": "Åtgärdat"}),
    );
    w.then_rejected(
        official("bun-sodra", "2026-04-06"),
        action("d2", "a9"),
        Rule::P6,
        "deviation",
    );
    w.then_rejected(
        official("bun-sodra", "2026-04-06"),
        json!({"command": "close_deviation", "deviation": "d2", "outcome": "igen"}),
        Rule::P6,
        "deviation",
    );
}

fn report(
    kind: &str,
    forecast: Option<i64>,
    atgardsplan: Option<serde_json::Value>,
) -> serde_json::Value {
    json!({"command": "adopt_follow_up_report", "body": "bun", "year": 2026, "kind": kind,
        "ramar": [{"body": "bun", "outcome": 160000, "forecast": forecast}],
        "goals": [{"goal": "bun-m1", "assessment": "partly", "comment": "Förbättring i åk 6"}],
        "uppdrag": [{"uppdrag": "u-1", "status": "ongoing"}],
        "atgardsplan": atgardsplan})
}

#[test]
fn reports_follow_the_calendar_and_p5() {
    let mut w = world();
    let line = json!({"kind": "ram", "body": "bun", "year": 2026});
    w.then_ok(
        official("bun-forv", "2026-04-10"),
        deviation("d1", "bun-forv", line, Some(-4200)),
    );
    w.then_ok(
        official("bun-forv", "2026-04-12"),
        json!({"command": "escalate_deviation", "deviation": "d1", "reason": "Över delegation"}),
    );
    let plan = json!({"id": "ap-bun-2026-1", "deviations": ["d1"], "measures": ["Anställningsstopp", "Översyn av skolskjutsar"], "effect": 3000, "follow_up_by": "2026-09-30"});

    w.then_rejected(
        by("bun", "2026-04-29"),
        report("budgetuppfoljning", Some(-3000), Some(plan.clone())),
        Rule::Consistency,
        "kind",
    );
    w.then_rejected(
        by("sn", "2026-05-20"),
        report("budgetuppfoljning", Some(-3000), Some(plan.clone())),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("bun", "2026-05-20"),
        report("budgetuppfoljning", None, Some(plan.clone())),
        Rule::Input,
        "ramar[0].forecast",
    );
    // P5: the escalated deviation is still open and no åtgärdsplan comes with the report.
    w.then_rejected(
        by("bun", "2026-05-20"),
        report("budgetuppfoljning", Some(-3000), None),
        Rule::P5,
        "atgardsplan",
    );
    let mut wrong = plan.clone();
    wrong["deviations"] = json!(["d7"]);
    w.then_rejected(
        by("bun", "2026-05-20"),
        report("budgetuppfoljning", Some(-3000), Some(wrong)),
        Rule::P5,
        "atgardsplan",
    );
    let events = w.then_ok(
        by("bun", "2026-05-20"),
        report("budgetuppfoljning", Some(-3000), Some(plan)),
    );
    assert_eq!(
        events.iter().map(Event::event_type).collect::<Vec<_>>(),
        vec![
            "FollowUpReportAdopted",
            "UppdragStatusInReport",
            "GoalAssessedInReport",
            "AtgardsplanAdopted"
        ],
        "report, its uppdrag and goal on their own subjects, and åtgärdsplan in one decision"
    );
    assert_eq!(events[1].aggregate(), ("uppdrag", "u-1".to_owned()));
    assert_eq!(events[2].aggregate(), ("namndmal", "bun-m1".to_owned()));
    w.then_rejected(
        by("bun", "2026-05-21"),
        report("budgetuppfoljning", Some(-3000), None),
        Rule::P6,
        "kind",
    );
    // The deviation is answered: the delårsrapport needs no new plan.
    w.then_ok(
        by("bun", "2026-09-22"),
        report("delarsrapport", Some(-1200), None),
    );
    w.then_rejected(
        by("bun", "2027-02-20"),
        report("arsredovisning", Some(0), None),
        Rule::Input,
        "ramar[0].forecast",
    );
    w.then_ok(
        by("bun", "2027-02-20"),
        report("arsredovisning", None, None),
    );

    let mut other = report("budgetuppfoljning", Some(1), None);
    other["body"] = json!("sn");
    other["ramar"] = json!([{"body": "bun", "outcome": 1, "forecast": 1}]);
    w.then_rejected(
        by("sn", "2026-05-20"),
        other.clone(),
        Rule::P1,
        "ramar[0].body",
    );
    other["ramar"] = json!([]);
    w.then_rejected(
        by("sn", "2026-05-20"),
        other,
        Rule::Reference,
        "goals[0].goal",
    );
}

fn control_plan(body: &str, year: i32, likelihood: u8, risk_ref: &str) -> serde_json::Value {
    json!({"command": "adopt_internal_control_plan", "plan": format!("ik-{body}-{year}"), "body": body, "year": year,
        "risks": [{"id": "r1", "description": "Felaktiga utbetalningar", "area": "ekonomi", "likelihood": likelihood, "consequence": 3, "response": "control"}],
        "controls": [{"id": "k1", "what": "Attest av leverantörsfakturor", "how": "Stickprov 20 fakturor", "frequency": "per_tertial", "responsible_role": "ekonomichef", "risk": risk_ref}]})
}

#[test]
fn intern_kontroll_plan_results_findings_and_tertial_reports() {
    let mut w = world();
    w.then_rejected(
        by("bun", "2025-12-10"),
        control_plan("ks", 2026, 2, "r1"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2025-12-10"),
        control_plan("ks", 2026, 5, "r1"),
        Rule::Input,
        "risks[0].likelihood",
    );
    w.then_rejected(
        by("ks", "2025-12-10"),
        control_plan("ks", 2026, 2, "r9"),
        Rule::Reference,
        "controls[0].risk",
    );
    w.then_rejected(
        by("ks", "2027-01-10"),
        control_plan("ks", 2026, 2, "r1"),
        Rule::Consistency,
        "year",
    );
    let events = w.then_ok(by("ks", "2025-12-10"), control_plan("ks", 2026, 2, "r1"));
    assert!(
        matches!(&events[0], Event::InternalControlPlanAdopted(InternalControlPlanAdopted { risks, .. }) if risks[0].score == 6)
    );
    w.then_rejected(
        by("ks", "2025-12-11"),
        control_plan("ks", 2026, 2, "r1"),
        Rule::P6,
        "plan",
    );
    w.then_ok(by("bun", "2025-12-12"), control_plan("bun", 2026, 1, "r1"));

    let result = |control: &str, tertial: u8, finding: Option<&str>| {
        let result = match finding {
            Some(f) => {
                json!({"kind": "finding", "finding": f, "description": "Två fakturor saknade attest"})
            }
            None => json!({"kind": "no_remark"}),
        };
        json!({"command": "report_control_result", "plan": "ik-ks-2026", "control": control, "tertial": tertial, "result": result})
    };
    w.then_rejected(
        official("ks-forv", "2026-04-30"),
        result("k1", 1, None),
        Rule::Consistency,
        "tertial",
    );
    w.then_rejected(
        official("ks-forv", "2026-05-05"),
        result("k9", 1, None),
        Rule::Reference,
        "control",
    );
    w.then_rejected(
        official("bun-forv", "2026-05-05"),
        result("k1", 1, None),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        official("ks-forv", "2026-05-05"),
        result("k1", 4, None),
        Rule::Input,
        "tertial",
    );
    w.then_ok(
        official("ks-forv", "2026-05-05"),
        result("k1", 1, Some("b1")),
    );
    w.then_rejected(
        official("ks-forv", "2026-05-06"),
        result("k1", 1, None),
        Rule::P6,
        "tertial",
    );

    let action = |a: &str, due: &str| json!({"command": "record_finding_action", "finding": "b1", "action": a, "description": "Utbildning i attestrutiner", "responsible": "ekonomichef", "due": due});
    w.then_rejected(
        official("ks-forv", "2026-05-10"),
        action("a1", "2026-05-01"),
        Rule::Consistency,
        "due",
    );
    w.then_ok(
        official("ks-forv", "2026-05-10"),
        action("a1", "2026-06-30"),
    );
    w.then_rejected(
        official("ks-forv", "2026-05-10"),
        action("a1", "2026-06-30"),
        Rule::P6,
        "action",
    );
    w.then_ok(
        by("ks", "2026-09-15"),
        json!({"command": "close_finding", "finding": "b1", "outcome": "Rutinen följs"}),
    );
    w.then_rejected(
        official("ks-forv", "2026-09-16"),
        action("a2", "2026-12-31"),
        Rule::P6,
        "finding",
    );

    let tertial = |t: u8| json!({"command": "report_internal_control_tertial", "plan": "ik-ks-2026", "tertial": t, "summary": "En brist, åtgärdad"});
    w.then_rejected(
        official("ks-forv", "2026-05-20"),
        tertial(1),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2026-04-20"),
        tertial(1),
        Rule::Consistency,
        "tertial",
    );
    w.then_ok(by("ks", "2026-05-20"), tertial(1));
    w.then_rejected(by("ks", "2026-05-21"), tertial(1), Rule::P6, "tertial");
}

#[test]
fn reviews_and_replies() {
    let mut w = world();
    let review = json!({"command": "record_review", "review": "g-2026-1", "title": "Granskning av intern kontroll", "year": 2026,
        "bodies": ["ks", "bun"], "observations": ["Uppföljningen av brister är ofullständig"],
        "recommendations": [{"id": "r1", "text": "Följ upp alla brister per tertial"}], "reply_due": "2026-11-30"});
    w.then_rejected(
        by("ks", "2026-10-01"),
        review.clone(),
        Rule::P1,
        "decided_by",
    );
    let mut bad = review.clone();
    bad["reply_due"] = json!("2026-09-01");
    w.then_rejected(by("rev", "2026-10-01"), bad, Rule::Consistency, "reply_due");
    w.then_ok(by("rev", "2026-10-01"), review);
    let reply = |body: &str, rec: &str| {
        json!({"command": "reply_to_review", "review": "g-2026-1", "body": body, "reply": "Nämnden instämmer",
        "responses": [{"recommendation": rec, "response": "Införs från T3"}]})
    };
    w.then_rejected(by("sn", "2026-11-10"), reply("sn", "r1"), Rule::P1, "body");
    w.then_rejected(
        by("ks", "2026-11-10"),
        reply("bun", "r1"),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("bun", "2026-11-10"),
        reply("bun", "r7"),
        Rule::Reference,
        "responses[0].recommendation",
    );
    let on_time = w.then_ok(by("bun", "2026-11-10"), reply("bun", "r1"));
    assert!(matches!(
        &on_time[0],
        Event::ReviewReplied(ReviewReplied { late: false, .. })
    ));
    w.then_rejected(
        by("bun", "2026-11-12"),
        reply("bun", "r1"),
        Rule::P6,
        "body",
    );
    let late = w.then_ok(by("ks", "2026-12-07"), reply("ks", "r1"));
    assert!(matches!(
        &late[0],
        Event::ReviewReplied(ReviewReplied { late: true, .. })
    ));
}

/// The world with a fastställd 2026 budget holding a BUN and a KS
/// investment, and KF's riktlinjer for the RUR (and BUN's own riktlinje).
fn with_investments() -> World {
    let mut w = world();
    for (body, doc) in [("kf", "rur"), ("bun", "bun-riktlinje")] {
        w.then_ok(
            by(body, "2024-10-07"),
            json!({"command": "adopt_styrdokument", "doc": doc, "kind": "riktlinje", "title": "Riktlinjer",
                   "owner": body, "valid_from": "2025-01-01"}),
        );
    }
    let economy: Vec<_> = (2026..2029)
        .map(|y| {
            json!({"year": y,
                "resultat": {"skatteintakter": 1000, "generella_statsbidrag": 300,
                             "verksamhetens_nettokostnader": 1270, "finansnetto": -4, "resultat": 26},
                "balans": {"tillgangar": 100, "eget_kapital": 40, "skulder": 60},
                "finansiering": {"lopande_verksamhet": 50, "investeringsverksamhet": -60,
                                 "finansieringsverksamhet": 10, "forandring_likvida_medel": 0}})
        })
        .collect();
    w.then_ok(
        by("kf", "2025-11-17"),
        json!({"command": "adopt_budget", "year": 2026, "stage": "faststalld", "skattesats": "22:16", "economy": economy,
               "investments": [
                 {"id": "inv-skola", "body": "bun", "title": "Ny skola", "total": 60000, "start_year": 2026, "finish_year": 2027,
                  "years": [{"year": 2026, "amount": 30000}]},
                 {"id": "inv-it", "body": "ks", "title": "E-tjänster", "total": 5000, "start_year": 2026, "finish_year": 2026,
                  "years": [{"year": 2026, "amount": 5000}]}]}),
    );
    w
}

fn economy_report(body: &str, kind: &str, extra: serde_json::Value) -> serde_json::Value {
    let forecast = (kind != "arsredovisning").then_some(150000);
    let mut r = json!({"command": "adopt_follow_up_report", "body": body, "year": 2026, "kind": kind,
                       "ramar": [{"body": body, "outcome": 100000, "forecast": forecast}]});
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

#[test]
fn deviations_against_an_investment() {
    let mut w = with_investments();
    let on = |investment: &str, year: i32| json!({"kind": "investment", "investment": investment, "year": year});
    w.then_rejected(
        official("bun-forv", "2026-08-25"),
        deviation("d-inv", "bun-forv", on("inv-nope", 2026), Some(-2400)),
        Rule::Reference,
        "from",
    );
    w.then_rejected(
        official("bun-forv", "2026-08-25"),
        deviation("d-inv", "bun-forv", on("inv-skola", 2028), Some(-2400)),
        Rule::Reference,
        "from",
    );
    w.then_rejected(
        official("bun-forv", "2026-08-25"),
        deviation("d-inv", "bun-forv", on("inv-skola", 2026), None),
        Rule::Input,
        "amount",
    );
    let events = w.then_ok(
        official("bun-forv", "2026-08-25"),
        deviation("d-inv", "bun-forv", on("inv-skola", 2026), Some(-2400)),
    );
    assert!(matches!(
        &events[0],
        Event::DeviationReported(DeviationReported {
            from: DeviationFrom::Investment { .. },
            ..
        })
    ));
}

#[test]
fn reports_follow_up_investments_and_the_balanskrav() {
    let mut w = with_investments();
    let sep = || by("bun", "2026-09-22");
    let inv = |lines: serde_json::Value| {
        economy_report("bun", "delarsrapport", json!({"investments": lines}))
    };
    w.then_rejected(
        sep(),
        inv(json!([{"investment": "inv-nope", "outcome": 1, "forecast": 2}])),
        Rule::Reference,
        "investments[0].investment",
    );
    w.then_rejected(
        sep(),
        inv(json!([{"investment": "inv-it", "outcome": 1, "forecast": 2}])),
        Rule::P1,
        "investments[0].investment",
    );
    w.then_rejected(
        sep(),
        inv(json!([{"investment": "inv-skola", "outcome": 1}])),
        Rule::Input,
        "investments[0].forecast",
    );
    w.then_rejected(
        sep(),
        inv(json!([{"investment": "inv-skola", "outcome": 1, "forecast": 2}, {"investment": "inv-skola", "outcome": 1, "forecast": 2}])),
        Rule::Input,
        "investments[1].investment",
    );
    // The balanskrav is KS's, for the whole kommun.
    let balans = json!({"arets_resultat": 19500, "balanskravsresultat": 19500, "efter_rur": 19500});
    w.then_rejected(
        sep(),
        economy_report("bun", "delarsrapport", json!({"balanskrav": balans})),
        Rule::P1,
        "balanskrav",
    );
    let events = w.then_ok(
        sep(),
        inv(json!([{"investment": "inv-skola", "outcome": 12400, "forecast": 32400}])),
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::InvestmentFollowedUp(InvestmentFollowedUp { investment, outcome: 12400, forecast: Some(32400), .. }) if investment == "inv-skola"
    )));
    assert_eq!(events[0].event_type(), "FollowUpReportAdopted");

    let ks = |kind: &str, date: &str, extra: serde_json::Value| {
        (by("ks", date), economy_report("ks", kind, extra))
    };
    let (p, c) = ks(
        "budgetuppfoljning",
        "2026-05-19",
        json!({"balanskrav": balans}),
    );
    w.then_rejected(p, c, Rule::Consistency, "balanskrav");
    let mut wrong = balans.clone();
    wrong["balanskravsresultat"] = json!(19000);
    let (p, c) = ks("delarsrapport", "2026-09-22", json!({"balanskrav": wrong}));
    w.then_rejected(p, c, Rule::Consistency, "balanskrav.balanskravsresultat");
    let (p, c) = ks(
        "delarsrapport",
        "2026-09-22",
        json!({"balanskrav": {"arets_resultat": 19500, "balanskravsresultat": 19500, "till_rur": 5000, "efter_rur": 19500}}),
    );
    w.then_rejected(p, c, Rule::Consistency, "balanskrav.efter_rur");
    // Using the reserve names KF's riktlinjer for it (KL 11 kap 14 §).
    let to_rur = |riktlinjer: Option<&str>| {
        let mut b = json!({"arets_resultat": 24100, "justeringar": -1200, "balanskravsresultat": 22900, "till_rur": 5000, "efter_rur": 17900});
        if let Some(r) = riktlinjer {
            b["riktlinjer"] = json!(r);
        }
        b
    };
    for (riktlinjer, rule) in [
        (None, Rule::Law),
        (Some("bun-riktlinje"), Rule::Law),
        (Some("nope"), Rule::Reference),
    ] {
        let (p, c) = ks(
            "arsredovisning",
            "2027-02-23",
            json!({"balanskrav": to_rur(riktlinjer)}),
        );
        w.then_rejected(p, c, rule, "balanskrav.riktlinjer");
    }
    // KS follows up every investment; an årsredovisning has no forecast.
    let (p, c) = ks(
        "arsredovisning",
        "2027-02-23",
        json!({"investments": [{"investment": "inv-skola", "outcome": 1, "forecast": 2}]}),
    );
    w.then_rejected(p, c, Rule::Input, "investments[0].forecast");
    let (p, c) = ks(
        "arsredovisning",
        "2027-02-23",
        json!({"balanskrav": to_rur(Some("rur")), "investments": [{"investment": "inv-it", "outcome": 4800}, {"investment": "inv-skola", "outcome": 31000}]}),
    );
    let events = w.then_ok(p, c);
    let types: Vec<_> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        types,
        [
            "FollowUpReportAdopted",
            "InvestmentFollowedUp",
            "InvestmentFollowedUp",
            "BalanskravReported"
        ]
    );
    assert!(w
        .state
        .investment_follow_ups
        .contains(&("inv-it".to_owned(), 2026)));
}

#[test]
fn a_negative_balanskravsresultat_must_be_restored_or_waived() {
    let mut w = with_investments();
    // KS's årsredovisning for 2026: −4 000 tkr after RUR.
    let deficit =
        json!({"arets_resultat": -4000, "balanskravsresultat": -4000, "efter_rur": -4000});
    // A delårsrapport's is a forecast: no obligation yet.
    w.then_ok(
        by("ks", "2026-09-22"),
        economy_report("ks", "delarsrapport", json!({"balanskrav": deficit})),
    );
    assert!(w.state.balanskrav_deficits.is_empty());
    w.then_ok(
        by("ks", "2027-02-23"),
        economy_report("ks", "arsredovisning", json!({"balanskrav": deficit})),
    );
    assert_eq!(w.state.balanskrav_deficits[&2026], 4000);
    // KF plans its reglering in the budget, or avstår for synnerliga skäl.
    let amend = |balanskrav: serde_json::Value| json!({"command": "amend_budget", "year": 2027, "change": "amendment", "balanskrav": balanskrav});
    w.clone_ok(
        by("kf", "2027-03-20"),
        amend(json!({"reglering": [{"of_year": 2026, "year": 2028, "amount": 4000}]})),
    );
    w.then_rejected(
        by("kf", "2027-03-20"),
        amend(json!({"reglering": [{"of_year": 2026, "year": 2030, "amount": 4000}]})),
        Rule::Law,
        "balanskrav.reglering[0].year",
    );
    w.then_rejected(
        by("kf", "2027-03-20"),
        amend(json!({"avstar": [{"of_year": 2026, "reason": " "}]})),
        Rule::Input,
        "balanskrav.avstar[0].reason",
    );
    w.clone_ok(
        by("kf", "2027-03-20"),
        amend(json!({"avstar": [{"of_year": 2026, "reason": "Realisationsförlust vid försäljning av en fastighet"}]})),
    );
    w.then_rejected(
        by("ks", "2027-03-20"),
        amend(json!({"avstar": [{"of_year": 2026, "reason": "x"}]})),
        Rule::P1,
        "decided_by",
    );
}

/// A calendar with only the reports the law asks for: a delårsrapport
/// through June and the årsredovisning.
fn law_minimum() -> serde_json::Value {
    json!({"command": "adopt_follow_up_calendar", "from_year": 2026, "reports": [
        {"kind": "delarsrapport", "through": "06-30", "due_days": 60},
        {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]})
}

#[test]
fn the_follow_up_calendar_is_the_kommuns_own_decision() {
    let mut w = world();
    let calendar = |reports: serde_json::Value| json!({"command": "adopt_follow_up_calendar", "from_year": 2026, "reports": reports});
    let dec = || by("ks", "2025-12-01");
    w.then_rejected(
        by("bun", "2025-12-01"),
        law_minimum(),
        Rule::P1,
        "decided_by",
    );
    w.then_rejected(
        by("ks", "2026-01-10"),
        law_minimum(),
        Rule::Consistency,
        "from_year",
    );
    w.then_rejected(
        dec(),
        calendar(json!([{"kind": "arsredovisning", "through": "12-31", "due_days": 90}])),
        Rule::Law,
        "reports",
    );
    w.then_rejected(
        dec(),
        calendar(json!([{"kind": "delarsrapport", "through": "08-31", "due_days": 60}])),
        Rule::Law,
        "reports",
    );
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "02-29", "due_days": 60},
                        {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]),
        ),
        Rule::Input,
        "reports[0].through",
    );
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "08-31", "due_days": 60},
                        {"kind": "budgetuppfoljning", "through": "04-30", "due_days": 30},
                        {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]),
        ),
        Rule::Consistency,
        "reports[1].through",
    );
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "08-31", "due_days": 0},
                        {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]),
        ),
        Rule::Input,
        "reports[0].due_days",
    );
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "08-31", "due_days": 60},
                        {"kind": "arsredovisning", "through": "11-30", "due_days": 90}]),
        ),
        Rule::Consistency,
        "reports[1].through",
    );
    // The law: a delårsrapport covers half to two thirds of the year
    // (LKBR 13 kap 1 §); the årsredovisning is handed over by 15 April.
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "03-31", "due_days": 60},
                        {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]),
        ),
        Rule::Law,
        "reports[0].through",
    );
    w.then_rejected(
        dec(),
        calendar(
            json!([{"kind": "delarsrapport", "through": "08-31", "due_days": 60},
                        {"kind": "arsredovisning", "through": "12-31", "due_days": 120}]),
        ),
        Rule::Law,
        "reports[1].due_days",
    );
    // In force before its first year, however it is dated.
    let mut late = dec();
    late.effective_date = date("2026-02-01");
    w.then_rejected(late, law_minimum(), Rule::Consistency, "from_year");
    w.then_ok(dec(), law_minimum());
    // No budgetuppföljning in 2026; the delårsrapport through June is
    // adopted in July (Vimmerby's calendar would have refused it before September).
    w.then_rejected(
        by("bun", "2026-05-19"),
        report("budgetuppfoljning", Some(500000), None),
        Rule::Consistency,
        "kind",
    );
    w.then_rejected(
        by("bun", "2026-06-20"),
        report("delarsrapport", Some(500000), None),
        Rule::Consistency,
        "kind",
    );
    w.then_ok(
        by("bun", "2026-07-15"),
        report("delarsrapport", Some(500000), None),
    );
    // A calendar dated before 2026 but recorded now cannot change 2026:
    // a report of it is in.
    w.then_rejected(
        by("ks", "2025-12-15"),
        json!({"command": "adopt_follow_up_calendar", "from_year": 2026, "reports": [
            {"kind": "delarsrapport", "through": "08-31", "due_days": 60},
            {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]}),
        Rule::Consistency,
        "from_year",
    );
    // A later decision changes it from 2027 on; 2026 keeps its own.
    w.then_ok(
        by("kf", "2026-11-16"),
        json!({"command": "adopt_follow_up_calendar", "from_year": 2027, "reports": [
            {"kind": "budgetuppfoljning", "through": "04-30", "due_days": 30},
            {"kind": "delarsrapport", "through": "08-31", "due_days": 60},
            {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]}),
    );
    let mut r2027 = report("budgetuppfoljning", Some(500000), None);
    r2027["year"] = json!(2027);
    r2027["ramar"] = json!([]);
    r2027["goals"] = json!([]);
    w.then_ok(by("bun", "2027-05-10"), r2027);
}

#[test]
fn a_measured_value_is_corrected_for_a_raknefel_its_indicator_is_not() {
    let mut w = world();
    w.then_ok(
        by("ks", "2026-03-01"),
        json!({"command": "record_outcome", "goal": "kf-1", "indicator": "i1", "period": "2025", "value": 842.0, "source": "Kolada"}),
    );
    let outcome = *w.ids.last().unwrap();
    let fix = |corrections: serde_json::Value| {
        json!({"command": "correct_decision", "corrects": outcome, "ground": "raknefel",
            "reason": "Decimalkommat hamnade fel", "corrections": corrections})
    };
    w.then_rejected(
        by("ks", "2026-03-02"),
        fix(json!({"/rows/0/indicator": "i2"})),
        Rule::P6,
        "/rows/0/indicator",
    );
    w.then_rejected(
        by("ks", "2026-03-02"),
        fix(json!({"/rows/0/period": "2024"})),
        Rule::P6,
        "/rows/0/period",
    );
    w.then_rejected(
        by("ks", "2026-03-02"),
        fix(json!({"/rows/0/value": "84,2"})),
        Rule::Input,
        "/rows/0/value",
    );
    let events = w.then_ok(by("ks", "2026-03-02"), fix(json!({"/rows/0/value": 84.2})));
    let Event::DecisionCorrected(c) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(c.replaced["/rows/0/value"], json!(842.0));
    assert_eq!(c.ground, Some(CorrectionGround::Raknefel));
}

#[test]
fn monthly_budgetuppfoljningar_are_known_by_their_period() {
    let mut w = world();
    let calendar = |reports: serde_json::Value| json!({"command": "adopt_follow_up_calendar", "from_year": 2026, "reports": reports});
    let month =
        |through: &str| json!({"kind": "budgetuppfoljning", "through": through, "due_days": 20});
    // One delårsrapport a year, however many budgetuppföljningar.
    w.then_rejected(
        by("ks", "2025-12-01"),
        calendar(
            json!([{"kind": "delarsrapport", "through": "06-30", "due_days": 45},
            {"kind": "delarsrapport", "through": "08-31", "due_days": 45},
            {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]),
        ),
        Rule::Input,
        "reports[1].kind",
    );
    w.then_ok(
        by("ks", "2025-12-01"),
        calendar(json!([month("02-28"), month("03-31"), month("05-31"),
            {"kind": "delarsrapport", "through": "08-31", "due_days": 45},
            month("10-31"),
            {"kind": "arsredovisning", "through": "12-31", "due_days": 90}])),
    );
    let april = |period: Option<&str>| {
        let mut r = report("budgetuppfoljning", Some(500000), None);
        if let Some(p) = period {
            r["period"] = json!(p);
        }
        r
    };
    // A deviation beyond delegation, reported in April.
    let line = json!({"kind": "ram", "body": "bun", "year": 2026});
    w.then_ok(
        official("bun-forv", "2026-04-05"),
        deviation("d1", "bun-forv", line, Some(-4200)),
    );
    w.then_ok(
        official("bun-forv", "2026-04-06"),
        json!({"command": "escalate_deviation", "deviation": "d1", "reason": "Över delegation"}),
    );
    // Which of the four is named by its period's last day.
    w.then_rejected(by("bun", "2026-04-10"), april(None), Rule::Input, "period");
    w.then_rejected(
        by("bun", "2026-04-10"),
        april(Some("04-30")),
        Rule::Consistency,
        "period",
    );
    w.then_rejected(
        by("bun", "2026-04-10"),
        april(Some("05-31")),
        Rule::Consistency,
        "kind",
    );
    let events = w.then_ok(by("bun", "2026-04-10"), april(Some("03-31")));
    let Event::FollowUpReportAdopted(r) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (r.period.as_deref(), r.through),
        (Some("03-31"), date("2026-03-31"))
    );
    assert_eq!(events[0].aggregate().1, "bun-2026-budgetuppfoljning-03-31");
    w.then_rejected(
        by("bun", "2026-04-20"),
        april(Some("03-31")),
        Rule::P6,
        "kind",
    );
    // An earlier month may still be adopted (March's and February's ended
    // before the deviation was reported: P5 asks the next report, May's).
    w.then_ok(by("bun", "2026-04-20"), april(Some("02-28")));
    w.then_rejected(
        by("bun", "2026-06-10"),
        april(Some("05-31")),
        Rule::P5,
        "atgardsplan",
    );
    let plan = json!({"id": "ap-1", "deviations": ["d1"], "measures": ["Anställningsstopp"], "effect": 3000, "follow_up_by": "2026-09-30"});
    let mut may = april(Some("05-31"));
    may["atgardsplan"] = plan;
    let events = w.then_ok(by("bun", "2026-06-10"), may);
    assert!(
        events.iter().any(
            |e| matches!(e, Event::AtgardsplanAdopted(a) if a.period.as_deref() == Some("05-31"))
        ),
        "{events:?}"
    );
    // The delårsrapport is the only one of its kind.
    let mut delar = report("delarsrapport", Some(500000), None);
    delar["uppdrag"] = json!([]);
    let events = w.then_ok(by("bun", "2026-09-15"), delar);
    assert!(matches!(&events[0], Event::FollowUpReportAdopted(r) if r.period.is_none()));
}
