//! Plans: nämndplaner with nämndmål, detaljbudgetar, verksamhets- and enhetsplaner.

use crate::state::*;
use crate::*;
use std::collections::{BTreeMap, BTreeSet};

use crate::decide::*;

impl KommunState {
    /// `adopt_namndplan`: see [`Command::AdoptNamndplan`].
    pub(crate) fn decide_adopt_namndplan(
        &self,
        provenance: &Provenance,
        c: &AdoptNamndplan,
    ) -> Decided {
        let AdoptNamndplan {
            body,
            year,
            grunduppdrag,
            goals,
            revises,
        } = c;
        self.participating_body("body", body)?;
        self.authorize(provenance, Authority::Body(body))?;
        check_text("grunduppdrag", grunduppdrag)?;
        if self.budget_covering(*year).is_none() {
            return reject(
                Rule::Reference,
                "year",
                format!("ingen antagen budget omfattar {year}"),
            );
        }
        let exists = self.namndplaner.contains_key(&(body.clone(), *year));
        if exists && !revises {
            return reject(
                Rule::P6,
                "year",
                format!("{body:?} har redan en nämndplan för {year}; en ny reviderar den (revises: true)"),
            );
        }
        if *revises && !exists {
            return reject(
                Rule::Reference,
                "revises",
                format!("{body:?} har ingen nämndplan för {year} att revidera"),
            );
        }
        if goals.is_empty() {
            return reject(Rule::P3, "goals", "en nämndplan har minst ett nämndmål");
        }
        let mut seen = BTreeSet::new();
        for (i, g) in goals.iter().enumerate() {
            let f = |name: &str| format!("goals[{i}].{name}");
            check_id(&f("id"), &g.id)?;
            check_text(&f("title"), &g.title)?;
            // A revision may keep its own nämndmål ids; no other id is reused.
            let own = self
                .namndmal
                .get(&g.id)
                .is_some_and(|m| *revises && m.body == *body && m.year == *year);
            if (self.goal_id_taken(&g.id) && !own) || !seen.insert(g.id.as_str()) {
                return reject(
                    Rule::P6,
                    f("id"),
                    format!("nämndmålet {:?} finns redan", g.id),
                );
            }
            if g.kf_goals.is_empty() {
                return reject(
                    Rule::P3,
                    f("kf_goals"),
                    "ett nämndmål kopplas till minst ett KF-mål",
                );
            }
            for (j, kg) in g.kf_goals.iter().enumerate() {
                match self.goals.get(kg) {
                    // The red thread (P3) is what the user broke: a goal
                    // linked to nothing the kommun has decided.
                    None => {
                        return reject(
                            Rule::P3,
                            format!("goals[{i}].kf_goals[{j}]"),
                            format!("inget KF-mål {kg:?} att bryta ned"),
                        )
                    }
                    Some(k) if !k.in_force(*year) => {
                        return reject(
                            Rule::P3,
                            format!("goals[{i}].kf_goals[{j}]"),
                            format!(
                                "KF-målet {kg:?} gäller {}–{}, inte {year}",
                                k.from_year, k.to_year
                            ),
                        )
                    }
                    // A processmål, or a KF goal of a process, is broken
                    // down only while its process runs.
                    Some(k) => {
                        if let Some(p) = &k.process {
                            self.open_process(&format!("goals[{i}].kf_goals[{j}]"), p, *year)?;
                        }
                    }
                }
            }
            check_indicators(&f("indicators"), &g.indicators, *year, *year)?;
            crate::agenda2030::check_tags(&f("agenda2030"), &g.agenda2030)?;
        }
        let mut events = vec![Event::NamndplanAdopted(NamndplanAdopted {
            body: body.clone(),
            year: *year,
            grunduppdrag: grunduppdrag.clone(),
            goals: goals.iter().map(|g| g.id.clone()).collect(),
        })];
        events.extend(goals.iter().map(|g| {
            Event::NamndmalAdopted(NamndmalAdopted {
                body: body.clone(),
                year: *year,
                goal: AdoptedNamndmal::from(g),
            })
        }));
        Ok(events)
    }

    /// `adopt_detaljbudget`: see [`Command::AdoptDetaljbudget`].
    pub(crate) fn decide_adopt_detaljbudget(
        &self,
        provenance: &Provenance,
        c: &AdoptDetaljbudget,
    ) -> Decided {
        let AdoptDetaljbudget { body, year, lines } = c;
        self.operating_body("body", body)?;
        self.authorize(
            provenance,
            Authority::BodyOrDelegate(body, Matter::Detaljbudget),
        )?;
        let Some(ram) = self.ramar.get(&(body.clone(), *year)) else {
            return reject(
                Rule::P4,
                "year",
                format!("{body:?} har ingen ram för {year}"),
            );
        };
        let mut seen = BTreeSet::new();
        let mut sum: Tkr = 0;
        for (i, l) in lines.iter().enumerate() {
            self.unit_of(&format!("lines[{i}].unit"), &l.unit, body)?;
            if !seen.insert(l.unit.as_str()) {
                return reject(
                    Rule::Input,
                    format!("lines[{i}].unit"),
                    "varje enhet en gång",
                );
            }
            if l.amount < 0 {
                return reject(
                    Rule::Input,
                    format!("lines[{i}].amount"),
                    "får inte vara negativt",
                );
            }
            let committed = self.committed(body, &l.unit, *year, None);
            if l.amount < committed {
                return reject(
                    Rule::P4,
                    format!("lines[{i}].amount"),
                    format!(
                        "{} tkr är mindre än de {committed} tkr som enhetens planer redan tar i anspråk",
                        l.amount
                    ),
                );
            }
            // Amounts are bounded (MAX_AMOUNT): the sum cannot overflow.
            sum = sum.saturating_add(l.amount);
        }
        if sum != *ram {
            return reject(
                Rule::P4,
                "lines",
                format!("raderna summerar till {sum} tkr; ramen för {year} är {ram} tkr"),
            );
        }
        Ok(vec![Event::DetaljbudgetAdopted(DetaljbudgetAdopted {
            body: body.clone(),
            year: *year,
            lines: lines.iter().map(DetaljbudgetLine::from).collect(),
        })])
    }

    /// `note_plan_reported`: see [`Command::NotePlanReported`].
    pub(crate) fn decide_note_plan_reported(
        &self,
        provenance: &Provenance,
        c: &NotePlanReported,
    ) -> Decided {
        let NotePlanReported { plan, version } = c;
        let Some(p) = self.plans.get(plan) else {
            return reject(Rule::Reference, "plan", format!("ingen plan {plan:?}"));
        };
        self.authorize(provenance, Authority::Body(&p.body))?;
        if *version != p.version {
            return reject(
                Rule::Reference,
                "version",
                format!("planen {plan:?} är i version {}, inte {version}", p.version),
            );
        }
        if p.reported_version == Some(*version) {
            return reject(
                Rule::P6,
                "version",
                format!("version {version} är redan anmäld till nämnden"),
            );
        }
        Ok(vec![Event::PlanReportedToNamnd(PlanReportedToNamnd {
            plan: plan.clone(),
            version: *version,
            body: p.body.clone(),
        })])
    }

    /// A verksamhets- or enhetsplan (a new version of one already adopted
    /// replaces its commitments): its activities serve the nämnd's goals or
    /// its open uppdrag (P3, P2) within what the detaljbudget leaves (P4).
    pub(crate) fn decide_adopt_plan(&self, provenance: &Provenance, c: &AdoptPlan) -> Decided {
        let (plan, body, unit) = (c.plan.as_str(), c.body.as_str(), c.unit.as_str());
        let (kind, year, activities) = (c.kind, c.year, c.activities.as_slice());
        check_id("plan", plan)?;
        self.operating_body("body", body)?;
        self.unit_of("unit", unit, body)?;
        self.authorize(provenance, Authority::Forvaltning(body, unit, Matter::Plan))?;
        let version = match self.plans.get(plan) {
            None => 1,
            Some(p) if p.body == body && p.unit == unit && p.year == year && p.kind == kind => {
                p.version + 1
            }
            Some(_) => {
                return reject(
                    Rule::P6,
                    "plan",
                    format!(
                    "planen {plan:?} hör till en annan enhet, ett annat år eller en annan plantyp"
                ),
                )
            }
        };
        let mut ids = BTreeSet::new();
        let mut costs: BTreeMap<&str, Tkr> = BTreeMap::new();
        for (i, a) in activities.iter().enumerate() {
            let f = |n: &str| format!("activities[{i}].{n}");
            check_id(&f("id"), &a.id)?;
            check_text(&f("title"), &a.title)?;
            if !ids.insert(a.id.as_str()) {
                return reject(Rule::Input, f("id"), "varje aktivitet en gång");
            }
            if a.namndmal.is_empty() && a.uppdrag.is_empty() {
                return reject(
                    Rule::P3,
                    f("namndmal"),
                    "en aktivitet bidrar till ett nämndmål eller ett uppdrag",
                );
            }
            self.check_activity_links(i, a, body, year)?;
            let au = a.unit.as_deref().unwrap_or(unit);
            if !self.unit_within(au, unit) {
                return reject(
                    Rule::Reference,
                    f("unit"),
                    format!("enheten {au:?} är varken {unit:?} eller en enhet under den"),
                );
            }
            self.unit_of(&f("unit"), au, body)?;
            if let Some(c) = a.cost {
                if c < 0 {
                    return reject(Rule::Input, f("cost"), "får inte vara negativt");
                }
                *costs.entry(au).or_default() += c;
            }
        }
        self.check_plan_costs(plan, body, unit, year, activities, costs)?;
        Ok(vec![Event::PlanAdopted(PlanAdopted {
            plan: plan.to_owned(),
            version,
            kind,
            body: body.to_owned(),
            unit: unit.to_owned(),
            year,
            activities: activities.to_vec(),
        })])
    }

    /// An activity's links: each nämndmål the body's own for the year, each
    /// uppdrag open and given to the body (P3, P2).
    fn check_activity_links(
        &self,
        i: usize,
        a: &Activity,
        body: &str,
        year: i32,
    ) -> Result<(), Rejection> {
        for (j, m) in a.namndmal.iter().enumerate() {
            match self.namndmal.get(m) {
                Some(g) if g.body == body && g.year == year => {}
                Some(g) => {
                    return reject(
                        Rule::P3,
                        format!("activities[{i}].namndmal[{j}]"),
                        format!("nämndmålet {m:?} tillhör {:?} för {}", g.body, g.year),
                    )
                }
                None => {
                    return reject(
                        Rule::P3,
                        format!("activities[{i}].namndmal[{j}]"),
                        format!("inget nämndmål {m:?} att bidra till"),
                    )
                }
            }
        }
        for (j, id) in a.uppdrag.iter().enumerate() {
            match self.uppdrag.get(id) {
                Some(u) if u.closed => {
                    return reject(
                        Rule::P2,
                        format!("activities[{i}].uppdrag[{j}]"),
                        format!("uppdraget {id:?} är avslutat"),
                    )
                }
                Some(u) if !u.to.iter().any(|b| b == body) => {
                    return reject(
                        Rule::P3,
                        format!("activities[{i}].uppdrag[{j}]"),
                        format!("uppdraget {id:?} är inte givet till {body:?}"),
                    )
                }
                Some(_) => {}
                None => {
                    return reject(
                        Rule::Reference,
                        format!("activities[{i}].uppdrag[{j}]"),
                        format!("inget uppdrag {id:?}"),
                    )
                }
            }
        }
        Ok(())
    }

    /// P4: what the plan commits fits what remains of each unit's line in
    /// the detaljbudget (`costs`: the plan's cost per unit).
    fn check_plan_costs(
        &self,
        plan: &str,
        body: &str,
        unit: &str,
        year: i32,
        activities: &[Activity],
        mut costs: BTreeMap<&str, Tkr>,
    ) -> Result<(), Rejection> {
        for (i, a) in activities.iter().enumerate() {
            let au = a.unit.as_deref().unwrap_or(unit);
            let Some(total) = costs.remove(au) else {
                continue;
            };
            let line = self
                .detaljbudgetar
                .get(&(body.to_owned(), year))
                .and_then(|d| d.get(au))
                .copied();
            let Some(line) = line else {
                return reject(
                    Rule::P4,
                    format!("activities[{i}].cost"),
                    format!("enheten {au:?} har ingen rad i detaljbudgeten för {year}"),
                );
            };
            let remaining = line - self.committed(body, au, year, Some(plan));
            if total > remaining {
                return reject(
                    Rule::P4,
                    format!("activities[{i}].cost"),
                    format!("planen tar {total} tkr av enheten {au:?} i anspråk; {remaining} tkr återstår av dess {line} tkr"),
                );
            }
        }
        Ok(())
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_namndplan_adopted(&mut self, _meta: &EventMeta, e: &NamndplanAdopted) {
        let NamndplanAdopted {
            body, year, goals, ..
        } = e.clone();
        self.namndplaner.insert((body, year), goals);
    }

    pub(crate) fn evolve_namndmal_adopted(&mut self, _meta: &EventMeta, e: &NamndmalAdopted) {
        let NamndmalAdopted { body, year, goal } = e.clone();
        for i in &goal.indicators {
            self.indicators.insert((goal.id.clone(), i.id.clone()));
            self.note_kolada_kpi(&goal.id, i);
        }
        self.namndmal.insert(
            goal.id,
            Namndmal {
                body,
                year,
                title: goal.title,
                perspective: goal.perspective,
                kf_goals: goal.kf_goals,
            },
        );
    }

    pub(crate) fn evolve_detaljbudget_adopted(
        &mut self,
        _meta: &EventMeta,
        e: &DetaljbudgetAdopted,
    ) {
        let DetaljbudgetAdopted { body, year, lines } = e.clone();
        let lines = lines
            .into_iter()
            .map(|DetaljbudgetLine { unit, amount }| (unit, amount))
            .collect();
        self.detaljbudgetar.insert((body, year), lines);
    }

    pub(crate) fn evolve_plan_adopted(&mut self, _meta: &EventMeta, e: &PlanAdopted) {
        let PlanAdopted {
            plan,
            version,
            kind,
            body,
            unit,
            year,
            activities,
        } = e.clone();
        self.plans.insert(
            plan,
            Plan {
                kind,
                body,
                unit,
                year,
                version,
                activities,
                reported_version: None,
            },
        );
    }

    pub(crate) fn evolve_plan_reported_to_namnd(
        &mut self,
        _meta: &EventMeta,
        e: &PlanReportedToNamnd,
    ) {
        let PlanReportedToNamnd { plan, version, .. } = e.clone();
        if let Some(p) = self.plans.get_mut(&plan) {
            p.reported_version = Some(version);
        }
    }
}

/// The nämndmål as the event records it, from the nämnd's decision.
impl From<&NamndmalInput> for AdoptedNamndmal {
    fn from(g: &NamndmalInput) -> Self {
        AdoptedNamndmal {
            id: g.id.clone(),
            title: g.title.clone(),
            perspective: g.perspective,
            kf_goals: g.kf_goals.clone(),
            indicators: g.indicators.clone(),
            agenda2030: g.agenda2030.clone(),
        }
    }
}

/// A detaljbudget line as the event records it.
impl From<&BudgetLine> for DetaljbudgetLine {
    fn from(l: &BudgetLine) -> Self {
        DetaljbudgetLine {
            unit: l.unit.clone(),
            amount: l.amount,
        }
    }
}
