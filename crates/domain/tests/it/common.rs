//! The given / when / then harness and a Vimmerby-like starting point.

#![allow(dead_code)]

use chrono::NaiveDate;
use serde_json::json;
use styr_domain::*;
use uuid::Uuid;

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A decision by `body` at a meeting on `on`.
pub fn by(body: &str, on: &str) -> Provenance {
    Provenance::new(
        DecidedBy::Body {
            body: body.into(),
            meeting_date: date(on),
            paragraph: "12".into(),
        },
        date(on),
    )
}

pub fn delegate(body: &str, point: &str, who: &str, on: &str) -> Provenance {
    Provenance::new(
        DecidedBy::Delegate {
            delegate: who.into(),
            on_behalf_of: body.into(),
            delegation_point: point.into(),
            decision_date: date(on),
        },
        date(on),
    )
}

pub fn official(unit: &str, on: &str) -> Provenance {
    Provenance::new(
        DecidedBy::Official {
            official: "chef".into(),
            unit: unit.into(),
            decision_date: date(on),
        },
        date(on),
    )
}

pub fn cmd(v: serde_json::Value) -> Command {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("test command does not parse: {e}"))
}

/// State built by deciding and applying `history`; each step must be accepted.
pub struct World {
    pub state: KommunState,
    pub next_id: u128,
    pub ids: Vec<Uuid>,
    /// Every event recorded, by id (a rättelse is decided against the
    /// decision it corrects, as the service reads it from the stream).
    pub recorded: std::collections::HashMap<Uuid, (Event, DecidedBy)>,
}

impl World {
    pub fn new() -> Self {
        World {
            state: KommunState::default(),
            next_id: 1,
            ids: Vec::new(),
            recorded: Default::default(),
        }
    }

    /// What a command is decided against besides the state: for a
    /// rättelse, the decision it corrects.
    pub fn original(&self, c: &Command) -> Option<Original> {
        let Command::CorrectDecision(c) = c else {
            return None;
        };
        let (event, decided_by) = self.recorded.get(&c.corrects)?;
        let (event_type, payload) = event.to_payload();
        Some(Original {
            event_type: event_type.to_owned(),
            payload,
            decided_by: decided_by.clone(),
        })
    }

    fn decide(&self, p: &Provenance, c: &Command) -> Result<Vec<Event>, Rejection> {
        self.state.decide_with(p, c, self.original(c).as_ref())
    }

    pub fn then_ok(&mut self, p: Provenance, c: serde_json::Value) -> Vec<Event> {
        let c = cmd(c);
        let events = self
            .decide(&p, &c)
            .unwrap_or_else(|r| panic!("{} rejected: {r}", c.name()));
        for e in &events {
            let id = Uuid::from_u128(self.next_id);
            self.next_id += 1;
            self.ids.push(id);
            self.recorded.insert(id, (e.clone(), p.decided_by.clone()));
            self.state.evolve(
                &EventMeta {
                    event_id: id,
                    decided_by: p.decided_by.clone(),
                },
                e,
            );
        }
        events
    }

    /// The command is accepted on a copy of the state (the world stays as it was).
    pub fn clone_ok(&self, p: Provenance, c: serde_json::Value) -> Vec<Event> {
        let c = cmd(c);
        self.decide(&p, &c)
            .unwrap_or_else(|r| panic!("{} rejected: {r}", c.name()))
    }

    /// The command is rejected under `rule`, naming a field that contains `field`,
    /// and the state is unchanged.
    pub fn then_rejected(&self, p: Provenance, c: serde_json::Value, rule: Rule, field: &str) {
        let c = cmd(c);
        match self.decide(&p, &c) {
            Ok(events) => panic!("{} accepted, expected {rule}: {events:?}", c.name()),
            Err(r) => {
                assert_eq!(r.rule, rule, "{r}");
                assert!(r.field.contains(field), "expected field {field:?} in {r}");
                assert!(!r.message.is_empty());
            }
        }
    }
}

/// Vimmerby-like organisation, a 2026 budget, a BUN nämndplan and detaljbudget.
pub fn kommun() -> World {
    let mut w = World::new();
    w.then_ok(
        by("kf", "2022-11-07"),
        json!({"command": "register_kommun", "name": "Vimmerby kommun", "kommunkod": "0884", "council": "kf"}),
    );
    for (id, kind, parent) in [
        ("ks", "executive_board", None),
        ("bun", "committee", None),
        ("sn", "committee", None),
        ("rev", "auditors", None),
        ("vfab", "parent_company", None),
        ("hem", "company", Some("vfab")),
    ] {
        let mut c = json!({"command": "establish_body", "body": id, "kind": kind, "name": id, "area": "ansvar"});
        if let Some(p) = parent {
            c["parent_company"] = json!(p);
        }
        w.then_ok(by("kf", "2022-11-07"), c);
    }
    w.then_ok(by("bun", "2023-01-10"), json!({"command": "grant_delegation", "body": "bun", "point": "2.1", "delegate": "forvaltningschef", "matters": ["detaljbudget", "uppdrag_report", "organisation"]}));
    for (unit, parent, level) in [
        ("bun-forv", None, "forvaltning"),
        ("bun-skola", Some("bun-forv"), "omrade"),
        ("bun-sodra", Some("bun-skola"), "ansvarsenhet"),
        ("bun-norra", Some("bun-skola"), "ansvarsenhet"),
    ] {
        w.then_ok(by("bun", "2023-01-10"), json!({"command": "establish_unit", "unit": unit, "name": unit, "namnd": "bun", "parent": parent, "level": level}));
    }
    w.then_ok(by("sn", "2023-01-11"), json!({"command": "establish_unit", "unit": "sn-forv", "name": "Socialförvaltningen", "namnd": "sn", "level": "forvaltning"}));
    w.then_ok(by("kf", "2025-06-16"), budget_2026());
    w.then_ok(
        by("bun", "2025-11-20"),
        json!({"command": "adopt_namndplan", "body": "bun", "year": 2026, "grunduppdrag": "Förskola och skola",
               "goals": [{"id": "bun-m1", "title": "Fler elever når målen", "perspective": "invanare_och_brukare", "kf_goals": ["kf-1"]}]}),
    );
    w.then_ok(
        by("bun", "2025-11-20"),
        json!({"command": "adopt_detaljbudget", "body": "bun", "year": 2026, "lines": [
            {"unit": "bun-forv", "amount": 100000}, {"unit": "bun-sodra", "amount": 200000}, {"unit": "bun-norra", "amount": 200000}]}),
    );
    w
}

pub fn budget_2026() -> serde_json::Value {
    json!({"command": "adopt_budget", "year": 2026,
        "ramar": [
            {"body": "ks", "year": 2026, "amount": 150000}, {"body": "bun", "year": 2026, "amount": 500000},
            {"body": "sn", "year": 2026, "amount": 400000}, {"body": "bun", "year": 2027, "amount": 510000},
            {"body": "bun", "year": 2028, "amount": 520000}],
        "goals": [
            {"id": "kf-1", "kind": "inriktningsmal", "title": "Barn och unga lyckas", "from_year": 2026, "to_year": 2027,
             "indicators": [{"id": "i1", "name": "Behöriga till gymnasiet", "kolada_kpi": "N15428", "direction": "increase", "baseline": 82.0, "targets": [{"year": 2026, "value": 85.0}, {"year": 2027, "value": 88.0}]}]},
            {"id": "kf-f1", "kind": "finansiellt", "title": "Resultat minst 2 %", "from_year": 2026, "to_year": 2029}],
        "uppdrag_given": [
            {"id": "u-1", "title": "Samordnad elevhälsa", "description": "Utred", "to": ["bun", "sn"], "resources": 500, "due": "2026-12-31"},
            {"id": "u-2", "title": "Digital agenda", "description": "Ta fram", "to": ["ks"], "due": "2027-06-30"}]})
}
