//! Deciding the follow-up half: outcomes, deviations, reports with P5,
//! intern kontroll and the revisorer's reviews.

use crate::{
    AdoptFollowUpReport, AdoptInternalControlPlan, AtgardsplanAdopted, CloseDeviation,
    CloseFinding, ControlResultReported, DeviationActionRecorded, DeviationClosed,
    DeviationEscalated, DeviationReported, EscalateDeviation, FindingActionRecorded, FindingClosed,
    FollowUpReportAdopted, GoalAssessedInReport, ImportOutcomes, InternalControlPlanAdopted,
    InternalControlTertialReported, OutcomesRecorded, RecordDeviationAction, RecordFindingAction,
    RecordOutcome, RecordReview, ReplyToReview, ReportControlResult, ReportDeviation,
    ReportInternalControlTertial, ReviewRecorded, ReviewReplied, UppdragStatusInReport,
};
use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use crate::command::Command;
use crate::decide::{check_id, check_text, reject, Authority, Decided};
use crate::event::Event;
use crate::model::*;
use crate::rejection::{Rejection, Rule};
use crate::state::KommunState;
use styr_provenance::Provenance;

/// `2025`, `2025-T1`..`2025-T3` or `2025-01`..`2025-12`.
fn check_period(field: &str, period: &str) -> Result<i32, Rejection> {
    let bad = || {
        reject(
            Rule::Input,
            field,
            format!("{period:?} är ingen period: använd 2025, 2025-T2 eller 2025-06"),
        )
    };
    // By characters, not bytes: "202é" must be refused, not split inside é.
    let split = period
        .char_indices()
        .nth(4)
        .map_or(period.len(), |(i, _)| i);
    let (year, rest) = period.split_at(split);
    let Ok(y) = year.parse::<i32>() else {
        return bad();
    };
    if year.len() != 4 {
        return bad();
    }
    let ok = match rest.strip_prefix('-') {
        None => rest.is_empty(),
        Some(t) if t.starts_with('T') => matches!(t, "T1" | "T2" | "T3"),
        Some(m) => m.len() == 2 && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)),
    };
    if ok {
        Ok(y)
    } else {
        bad()
    }
}

impl KommunState {
    /// The date the decision was taken (the effective date for system records).
    fn decided_on(p: &Provenance) -> NaiveDate {
        p.decided_by.decision_date().unwrap_or(p.effective_date)
    }

    fn executive_board(&self) -> Option<&str> {
        self.bodies
            .iter()
            .find(|(_, b)| b.kind == BodyKind::ExecutiveBoard)
            .map(|(id, _)| id.as_str())
    }

    /// Who answers for a goal's follow-up: the nämnd for a nämndmål, KS for a KF goal.
    fn goal_owner(&self, goal: &str) -> Option<&str> {
        if let Some(m) = self.namndmal.get(goal) {
            return Some(&m.body);
        }
        if self.goals.contains_key(goal) {
            return self.executive_board();
        }
        None
    }

    fn check_rows(
        &self,
        p: &Provenance,
        rows: &[OutcomeRow],
        field: &str,
    ) -> Result<(), Rejection> {
        if rows.is_empty() {
            return reject(Rule::Input, field, "minst ett värde");
        }
        let ks = self.executive_board().map(str::to_owned);
        let by_ks = ks.as_deref().is_some_and(|ks| {
            self.authorize(p, Authority::Organisation(ks, Matter::FollowUp))
                .is_ok()
        });
        for (i, r) in rows.iter().enumerate() {
            let f = |n: &str| format!("{field}[{i}].{n}");
            if !self
                .indicators
                .contains(&(r.goal.clone(), r.indicator.clone()))
            {
                return reject(
                    Rule::Reference,
                    f("indicator"),
                    format!("målet {:?} har ingen indikator {:?}", r.goal, r.indicator),
                );
            }
            check_period(&f("period"), &r.period)?;
            if !r.value.is_finite() {
                return reject(Rule::Input, f("value"), "ska vara ett tal");
            }
            if !by_ks {
                let owner = self.goal_owner(&r.goal).unwrap_or_default();
                self.authorize(p, Authority::Organisation(owner, Matter::FollowUp))?;
            }
        }
        Ok(())
    }

    fn deviation_target_exists(&self, from: &DeviationFrom) -> Result<(), Rejection> {
        let field = "from";
        match from {
            DeviationFrom::Goal { goal } if self.goal_owner(goal).is_none() => {
                reject(Rule::Reference, field, format!("inget mål {goal:?}"))
            }
            DeviationFrom::Indicator { goal, indicator }
                if !self.indicators.contains(&(goal.clone(), indicator.clone())) =>
            {
                reject(
                    Rule::Reference,
                    field,
                    format!("målet {goal:?} har ingen indikator {indicator:?}"),
                )
            }
            DeviationFrom::Uppdrag { uppdrag } if !self.uppdrag.contains_key(uppdrag) => {
                reject(Rule::Reference, field, format!("inget uppdrag {uppdrag:?}"))
            }
            DeviationFrom::Ram { body, year }
                if !self.ramar.contains_key(&(body.clone(), *year)) =>
            {
                reject(
                    Rule::Reference,
                    field,
                    format!("{body:?} har ingen ram för {year}"),
                )
            }
            DeviationFrom::Investment { investment, year }
                if !self
                    .investments
                    .get(investment)
                    .is_some_and(|i| i.years.iter().any(|y| y.year == *year)) =>
            {
                reject(
                    Rule::Reference,
                    field,
                    format!("investeringen {investment:?} har ingen budget för {year}"),
                )
            }
            DeviationFrom::Detaljbudget { body, year, unit }
                if !self
                    .detaljbudgetar
                    .get(&(body.clone(), *year))
                    .is_some_and(|d| d.contains_key(unit)) =>
            {
                reject(
                    Rule::Reference,
                    field,
                    format!("ingen rad för {unit:?} i detaljbudgeten för {body:?} {year}"),
                )
            }
            _ => Ok(()),
        }
    }

    /// The open deviation `id`, and the authority to act on it.
    fn open_deviation(
        &self,
        p: &Provenance,
        id: &str,
    ) -> Result<&crate::state::Deviation, Rejection> {
        let Some(d) = self.deviations.get(id) else {
            return reject(
                Rule::Reference,
                "deviation",
                format!("ingen avvikelse {id:?}"),
            );
        };
        if d.escalated {
            // Beyond the förvaltning's delegation: the nämnd's now.
            self.authorize(p, Authority::BodyOrDelegate(&d.body, Matter::FollowUp))?;
        } else {
            self.authorize(
                p,
                Authority::Forvaltning(&d.body, &d.unit, Matter::FollowUp),
            )?;
        }
        if d.closed {
            return reject(
                Rule::P6,
                "deviation",
                format!("avvikelsen {id:?} är avslutad"),
            );
        }
        Ok(d)
    }

    fn control_plan(
        &self,
        p: &Provenance,
        id: &str,
    ) -> Result<&crate::state::ControlPlan, Rejection> {
        let Some(plan) = self.control_plans.get(id) else {
            return reject(
                Rule::Reference,
                "plan",
                format!("ingen intern kontrollplan {id:?}"),
            );
        };
        self.authorize(
            p,
            Authority::Organisation(&plan.body, Matter::InternalControl),
        )?;
        Ok(plan)
    }

    fn open_finding(&self, p: &Provenance, id: &str) -> Result<&crate::state::Finding, Rejection> {
        let Some(f) = self.findings.get(id) else {
            return reject(Rule::Reference, "finding", format!("ingen brist {id:?}"));
        };
        self.control_plan(p, &f.plan)?;
        if f.closed {
            return reject(Rule::P6, "finding", format!("bristen {id:?} är avslutad"));
        }
        Ok(f)
    }

    fn tertial_passed(p: &Provenance, year: i32, tertial: u8) -> Result<(), Rejection> {
        let Some(end) = tertial_end(year, tertial) else {
            return reject(Rule::Input, "tertial", "ett tertial är 1, 2 eller 3");
        };
        if Self::decided_on(p) <= end {
            return reject(
                Rule::Consistency,
                "tertial",
                format!("tertial {tertial} {year} löper till {end}; rapportera det därefter"),
            );
        }
        Ok(())
    }

    /// Decides the follow-up commands (outcomes, deviations, reports,
    /// intern kontroll, granskningar): one arm per command, each a single
    /// call to the command's own function with its fields. It runs past 150
    /// lines only because each arm lists its fields; the checks live in the
    /// functions it calls. Modules per area are the refactor of issue 12.
    pub(crate) fn decide_follow_up(&self, p: &Provenance, command: &Command) -> Decided {
        match command {
            Command::RecordOutcome(RecordOutcome {
                goal,
                indicator,
                period,
                value,
                source,
            }) => {
                check_text("source", source)?;
                let row = OutcomeRow {
                    goal: goal.clone(),
                    indicator: indicator.clone(),
                    period: period.clone(),
                    value: *value,
                };
                self.check_rows(p, std::slice::from_ref(&row), "row")
                    .map_err(|r| {
                        Rejection::new(r.rule, r.field.replace("row[0].", ""), r.message)
                    })?;
                Ok(vec![Event::OutcomesRecorded(OutcomesRecorded {
                    source: source.clone(),
                    fetched_at: None,
                    rows: vec![row],
                })])
            }
            Command::ImportOutcomes(ImportOutcomes {
                source,
                fetched_at,
                rows,
            }) => {
                check_text("source", source)?;
                self.check_rows(p, rows, "rows")?;
                Ok(vec![Event::OutcomesRecorded(OutcomesRecorded {
                    source: source.clone(),
                    fetched_at: Some(*fetched_at),
                    rows: rows.clone(),
                })])
            }
            Command::ReportDeviation(ReportDeviation {
                deviation,
                unit,
                from,
                sign,
                amount,
                value,
                analysis,
                noticed,
            }) => self.decide_report_deviation(
                p, deviation, unit, from, sign, amount, value, analysis, noticed,
            ),
            Command::RecordDeviationAction(RecordDeviationAction {
                deviation,
                action,
                description,
            }) => {
                let d = self.open_deviation(p, deviation)?;
                check_id("action", action)?;
                check_text("description", description)?;
                if d.actions.contains(action) {
                    return reject(
                        Rule::P6,
                        "action",
                        format!("åtgärden {action:?} är redan registrerad"),
                    );
                }
                Ok(vec![Event::DeviationActionRecorded(
                    DeviationActionRecorded {
                        deviation: deviation.clone(),
                        action: action.clone(),
                        description: description.clone(),
                    },
                )])
            }
            Command::EscalateDeviation(EscalateDeviation { deviation, reason }) => {
                let d = self.open_deviation(p, deviation)?;
                check_text("reason", reason)?;
                if d.escalated {
                    return reject(
                        Rule::P6,
                        "deviation",
                        format!("avvikelsen {deviation:?} ligger redan hos nämnden"),
                    );
                }
                Ok(vec![Event::DeviationEscalated(DeviationEscalated {
                    deviation: deviation.clone(),
                    to: d.body.clone(),
                    reason: reason.clone(),
                })])
            }
            Command::CloseDeviation(CloseDeviation { deviation, outcome }) => {
                self.open_deviation(p, deviation)?;
                check_text("outcome", outcome)?;
                Ok(vec![Event::DeviationClosed(DeviationClosed {
                    deviation: deviation.clone(),
                    outcome: outcome.clone(),
                })])
            }
            Command::AdoptFollowUpReport(AdoptFollowUpReport {
                body,
                year,
                kind,
                ramar,
                goals,
                uppdrag,
                atgardsplan,
                investments,
                balanskrav,
            }) => self.decide_report(
                p,
                body,
                *year,
                *kind,
                ramar,
                goals,
                uppdrag,
                atgardsplan.as_ref(),
                &crate::budget::ReportedEconomy {
                    investments,
                    balanskrav: balanskrav.as_ref(),
                },
            ),
            Command::AdoptInternalControlPlan(AdoptInternalControlPlan {
                plan,
                body,
                year,
                risks,
                controls,
            }) => self.decide_adopt_internal_control_plan(p, plan, body, year, risks, controls),
            Command::ReportControlResult(ReportControlResult {
                plan,
                control,
                tertial,
                result,
            }) => self.decide_report_control_result(p, plan, control, tertial, result),
            Command::RecordFindingAction(RecordFindingAction {
                finding,
                action,
                description,
                responsible,
                due,
            }) => {
                self.decide_record_finding_action(p, finding, action, description, responsible, due)
            }
            Command::CloseFinding(CloseFinding { finding, outcome }) => {
                self.open_finding(p, finding)?;
                check_text("outcome", outcome)?;
                Ok(vec![Event::FindingClosed(FindingClosed {
                    finding: finding.clone(),
                    outcome: outcome.clone(),
                })])
            }
            Command::ReportInternalControlTertial(ReportInternalControlTertial {
                plan,
                tertial,
                summary,
            }) => self.decide_report_internal_control_tertial(p, plan, tertial, summary),
            Command::RecordReview(RecordReview {
                review,
                title,
                year,
                bodies,
                observations,
                recommendations,
                reply_due,
            }) => self.decide_record_review(
                p,
                review,
                title,
                year,
                bodies,
                observations,
                recommendations,
                reply_due,
            ),
            Command::ReplyToReview(ReplyToReview {
                review,
                body,
                reply,
                responses,
            }) => self.decide_reply_to_review(p, review, body, reply, responses),
            _ => reject(Rule::Input, "command", "inget uppföljningskommando"),
        }
    }

    /// A report's lines: each ram the body's own (KS reports every ram, a
    /// moderbolag its bolag's), with a forecast where the report has one;
    /// each goal one the body reports on for the year, with indicators it
    /// has; each uppdrag one given to the body (KS: any).
    #[allow(clippy::too_many_arguments)]
    fn check_report_lines(
        &self,
        body: &str,
        is_ks: bool,
        year: i32,
        kind: ReportKind,
        ramar: &[RamOutcome],
        goals: &[GoalAssessment],
        uppdrag: &[UppdragLine],
    ) -> Result<(), Rejection> {
        for (i, r) in ramar.iter().enumerate() {
            let f = |n: &str| format!("ramar[{i}].{n}");
            let own = r.body == body
                || is_ks
                || self
                    .bodies
                    .get(&r.body)
                    .and_then(|b| b.parent_company.as_deref())
                    == Some(body);
            if !own {
                return reject(
                    Rule::P1,
                    f("body"),
                    format!(
                        "{body:?} redovisar sin egen ram, inte ramen för {:?}",
                        r.body
                    ),
                );
            }
            if !self.ramar.contains_key(&(r.body.clone(), year)) {
                return reject(
                    Rule::Reference,
                    f("body"),
                    format!("{:?} har ingen ram för {year}", r.body),
                );
            }
            check_forecast(&f("forecast"), kind, r.forecast)?;
        }
        for (i, g) in goals.iter().enumerate() {
            let f = |n: &str| format!("goals[{i}].{n}");
            let ok = match self.namndmal.get(&g.goal) {
                Some(m) => m.body == body && m.year == year,
                None => is_ks && self.goals.get(&g.goal).is_some_and(|k| k.in_force(year)),
            };
            if !ok {
                return reject(
                    Rule::Reference,
                    f("goal"),
                    format!(
                        "{:?} är inget mål som {body:?} redovisar för {year}",
                        g.goal
                    ),
                );
            }
            for (j, v) in g.indicators.iter().enumerate() {
                if !self
                    .indicators
                    .contains(&(g.goal.clone(), v.indicator.clone()))
                {
                    return reject(
                        Rule::Reference,
                        format!("goals[{i}].indicators[{j}].indicator"),
                        format!("målet {:?} har ingen indikator {:?}", g.goal, v.indicator),
                    );
                }
            }
        }
        for (i, u) in uppdrag.iter().enumerate() {
            match self.uppdrag.get(&u.uppdrag) {
                Some(x) if is_ks || x.to.iter().any(|b| b == body) => {}
                Some(_) => {
                    return reject(
                        Rule::Reference,
                        format!("uppdrag[{i}].uppdrag"),
                        format!("{:?} är inte givet till {body:?}", u.uppdrag),
                    )
                }
                None => {
                    return reject(
                        Rule::Reference,
                        format!("uppdrag[{i}].uppdrag"),
                        format!("inget uppdrag {:?}", u.uppdrag),
                    )
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_report(
        &self,
        p: &Provenance,
        body: &str,
        year: i32,
        kind: ReportKind,
        ramar: &[RamOutcome],
        goals: &[GoalAssessment],
        uppdrag: &[UppdragLine],
        atgardsplan: Option<&Atgardsplan>,
        economy: &crate::budget::ReportedEconomy<'_>,
    ) -> Decided {
        self.operating_body("body", body)?;
        self.authorize(p, Authority::Body(body))?;
        let Some(through) = kind.through(year) else {
            return reject(Rule::Input, "year", "inget giltigt år");
        };
        if Self::decided_on(p) <= through {
            return reject(
                Rule::Consistency,
                "kind",
                format!(
                    "en {} omfattar tiden till och med {through}: den antas därefter",
                    kind.swedish()
                ),
            );
        }
        if self.budget_covering(year).is_none() {
            return reject(
                Rule::Reference,
                "year",
                format!("ingen antagen budget omfattar {year}"),
            );
        }
        if self.reports.contains(&(body.to_owned(), year, kind)) {
            return reject(
                Rule::P6,
                "kind",
                format!(
                    "{body:?} har redan antagit sin {} för {year}",
                    kind.swedish()
                ),
            );
        }
        let is_ks = self.executive_board() == Some(body);
        self.check_report_lines(body, is_ks, year, kind, ramar, goals, uppdrag)?;
        // P5: deviations beyond delegation still open need the nämnd's åtgärdsplan now.
        let pending: Vec<&String> = self
            .deviations
            .iter()
            .filter(|(_, d)| d.body == body && d.escalated && !d.closed && d.atgardsplan.is_none())
            .map(|(id, _)| id)
            .collect();
        let covered: Vec<&String> = atgardsplan
            .map(|a| a.deviations.iter().collect())
            .unwrap_or_default();
        if kind != ReportKind::Arsredovisning {
            if let Some(missing) = pending.iter().find(|d| !covered.contains(d)) {
                return reject(
                    Rule::P5,
                    "atgardsplan",
                    format!(
                        "avvikelsen {missing:?} går utöver förvaltningens delegation och är fortfarande öppen: nämnden beslutar om en åtgärdsplan tillsammans med denna {}",
                        kind.swedish()
                    ),
                );
            }
        }
        let mut events = vec![Event::FollowUpReportAdopted(FollowUpReportAdopted {
            body: body.to_owned(),
            year,
            kind,
            through,
            ramar: ramar.to_vec(),
            goals: goals.to_vec(),
            uppdrag: uppdrag.to_vec(),
        })];
        // Each aggregate the report speaks of hears it on its own subject.
        events.extend(uppdrag.iter().map(|u| {
            Event::UppdragStatusInReport(UppdragStatusInReport {
                uppdrag: u.uppdrag.clone(),
                body: body.to_owned(),
                year,
                report: kind,
                as_of: through,
                status: u.status,
            })
        }));
        events.extend(goals.iter().map(|g| {
            Event::GoalAssessedInReport(GoalAssessedInReport {
                goal: g.goal.clone(),
                level: if self.namndmal.contains_key(&g.goal) {
                    GoalLevel::Namndmal
                } else {
                    GoalLevel::Kf
                },
                body: body.to_owned(),
                year,
                report: kind,
                assessment: g.clone(),
            })
        }));
        if let Some(a) = atgardsplan {
            check_id("atgardsplan.id", &a.id)?;
            if self.atgardsplaner.contains_key(&a.id) {
                return reject(
                    Rule::P6,
                    "atgardsplan.id",
                    format!("åtgärdsplanen {:?} finns redan", a.id),
                );
            }
            if a.deviations.is_empty() {
                return reject(
                    Rule::Input,
                    "atgardsplan.deviations",
                    "en åtgärdsplan avser minst en avvikelse",
                );
            }
            for (i, d) in a.deviations.iter().enumerate() {
                match self.deviations.get(d) {
                    Some(dev) if dev.body == body && !dev.closed => {}
                    Some(_) => {
                        return reject(
                            Rule::Reference,
                            format!("atgardsplan.deviations[{i}]"),
                            format!("{d:?} är ingen öppen avvikelse hos {body:?}"),
                        )
                    }
                    None => {
                        return reject(
                            Rule::Reference,
                            format!("atgardsplan.deviations[{i}]"),
                            format!("ingen avvikelse {d:?}"),
                        )
                    }
                }
            }
            if a.measures.iter().all(|m| m.trim().is_empty()) {
                return reject(
                    Rule::Input,
                    "atgardsplan.measures",
                    "en åtgärdsplan anger sina åtgärder",
                );
            }
            events.push(Event::AtgardsplanAdopted(AtgardsplanAdopted {
                body: body.to_owned(),
                year,
                report: kind,
                plan: a.clone(),
            }));
        }
        self.report_economy(p, body, is_ks, year, kind, economy, &mut events)?;
        Ok(events)
    }
}

impl KommunState {
    /// `report_deviation`: see [`Command::ReportDeviation`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_report_deviation(
        &self,
        p: &Provenance,
        deviation: &String,
        unit: &String,
        from: &DeviationFrom,
        sign: &DeviationSign,
        amount: &Option<Tkr>,
        value: &Option<f64>,
        analysis: &String,
        noticed: &chrono::NaiveDate,
    ) -> Decided {
        let today = Self::decided_on(p);
        check_id("deviation", deviation)?;
        let Some(u) = self.units.get(unit) else {
            return reject(Rule::Reference, "unit", format!("ingen enhet {unit:?}"));
        };
        self.authorize(p, Authority::Forvaltning(&u.namnd, unit, Matter::FollowUp))?;
        if self.deviations.contains_key(deviation) {
            return reject(
                Rule::P6,
                "deviation",
                format!("avvikelsen {deviation:?} finns redan"),
            );
        }
        self.deviation_target_exists(from)?;
        if matches!(
            from,
            DeviationFrom::Ram { .. }
                | DeviationFrom::Detaljbudget { .. }
                | DeviationFrom::Investment { .. }
        ) && amount.is_none()
        {
            return reject(
                Rule::Input,
                "amount",
                "en budgetavvikelse anger sitt belopp i tkr",
            );
        }
        check_text("analysis", analysis)?;
        if *noticed > today {
            return reject(
                Rule::Consistency,
                "noticed",
                "upptäckt efter att den rapporterats",
            );
        }
        Ok(vec![Event::DeviationReported(DeviationReported {
            deviation: deviation.clone(),
            unit: unit.clone(),
            body: u.namnd.clone(),
            from: from.clone(),
            sign: *sign,
            amount: *amount,
            value: *value,
            analysis: analysis.clone(),
            noticed: *noticed,
            reported: today,
        })])
    }

    /// `adopt_internal_control_plan`: see [`Command::AdoptInternalControlPlan`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_adopt_internal_control_plan(
        &self,
        p: &Provenance,
        plan: &String,
        body: &String,
        year: &i32,
        risks: &Vec<Risk>,
        controls: &Vec<ControlPoint>,
    ) -> Decided {
        let today = Self::decided_on(p);
        check_id("plan", plan)?;
        self.operating_body("body", body)?;
        self.authorize(p, Authority::Body(body))?;
        if self.control_plans.contains_key(plan) {
            return reject(Rule::P6, "plan", format!("planen {plan:?} finns redan"));
        }
        if self
            .control_plans
            .values()
            .any(|c| c.body == *body && c.year == *year)
        {
            return reject(
                Rule::P6,
                "year",
                format!("{body:?} har redan en intern kontrollplan för {year}"),
            );
        }
        if today.year() > *year {
            return reject(
                Rule::Consistency,
                "year",
                "en plan antas före eller under sitt år",
            );
        }
        let mut ids = BTreeSet::new();
        for (i, r) in risks.iter().enumerate() {
            let f = |n: &str| format!("risks[{i}].{n}");
            check_id(&f("id"), &r.id)?;
            check_text(&f("description"), &r.description)?;
            check_text(&f("area"), &r.area)?;
            if !ids.insert(r.id.as_str()) {
                return reject(Rule::Input, f("id"), "varje risk en gång");
            }
            for (name, v) in [("likelihood", r.likelihood), ("consequence", r.consequence)] {
                if !(1..=4).contains(&v) {
                    return reject(Rule::Input, f(name), "bedöms på skalan 1-4");
                }
            }
        }
        if controls.is_empty() {
            return reject(
                Rule::Input,
                "controls",
                "en plan har minst ett kontrollmoment",
            );
        }
        let mut cids = BTreeSet::new();
        for (i, c) in controls.iter().enumerate() {
            let f = |n: &str| format!("controls[{i}].{n}");
            check_id(&f("id"), &c.id)?;
            check_text(&f("what"), &c.what)?;
            check_text(&f("how"), &c.how)?;
            check_text(&f("responsible_role"), &c.responsible_role)?;
            if !cids.insert(c.id.as_str()) {
                return reject(Rule::Input, f("id"), "varje kontrollmoment en gång");
            }
            if !ids.contains(c.risk.as_str()) {
                return reject(
                    Rule::Reference,
                    f("risk"),
                    format!("ingen risk {:?} i planen", c.risk),
                );
            }
        }
        Ok(vec![Event::InternalControlPlanAdopted(
            InternalControlPlanAdopted {
                plan: plan.clone(),
                body: body.clone(),
                year: *year,
                risks: risks
                    .iter()
                    .map(|r| ScoredRisk {
                        id: r.id.clone(),
                        description: r.description.clone(),
                        area: r.area.clone(),
                        likelihood: r.likelihood,
                        consequence: r.consequence,
                        score: r.score(),
                        response: r.response,
                    })
                    .collect(),
                controls: controls.clone(),
            },
        )])
    }

    /// `report_control_result`: see [`Command::ReportControlResult`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_report_control_result(
        &self,
        p: &Provenance,
        plan: &String,
        control: &String,
        tertial: &u8,
        result: &ControlResult,
    ) -> Decided {
        let cp = self.control_plan(p, plan)?;
        if !cp.controls.contains_key(control) {
            return reject(
                Rule::Reference,
                "control",
                format!("planen {plan:?} har inget kontrollmoment {control:?}"),
            );
        }
        Self::tertial_passed(p, cp.year, *tertial)?;
        if cp.results.contains(&(control.clone(), *tertial)) {
            return reject(
                Rule::P6,
                "tertial",
                format!("{control:?} har redan ett resultat för tertial {tertial}"),
            );
        }
        if let ControlResult::Finding {
            finding,
            description,
        } = result
        {
            check_id("result.finding", finding)?;
            check_text("result.description", description)?;
            if self.findings.contains_key(finding) {
                return reject(
                    Rule::P6,
                    "result.finding",
                    format!("bristen {finding:?} finns redan"),
                );
            }
        }
        Ok(vec![Event::ControlResultReported(ControlResultReported {
            plan: plan.clone(),
            control: control.clone(),
            tertial: *tertial,
            result: result.clone(),
        })])
    }

    /// `record_finding_action`: see [`Command::RecordFindingAction`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_record_finding_action(
        &self,
        p: &Provenance,
        finding: &String,
        action: &String,
        description: &String,
        responsible: &String,
        due: &chrono::NaiveDate,
    ) -> Decided {
        let today = Self::decided_on(p);
        let f = self.open_finding(p, finding)?;
        check_id("action", action)?;
        check_text("description", description)?;
        check_text("responsible", responsible)?;
        if f.actions.contains(action) {
            return reject(
                Rule::P6,
                "action",
                format!("åtgärden {action:?} är redan registrerad"),
            );
        }
        if *due < today {
            return reject(
                Rule::Consistency,
                "due",
                "slutdatumet ligger före beslutsdatumet",
            );
        }
        Ok(vec![Event::FindingActionRecorded(FindingActionRecorded {
            finding: finding.clone(),
            action: action.clone(),
            description: description.clone(),
            responsible: responsible.clone(),
            due: *due,
        })])
    }

    /// `report_internal_control_tertial`: see [`Command::ReportInternalControlTertial`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_report_internal_control_tertial(
        &self,
        p: &Provenance,
        plan: &String,
        tertial: &u8,
        summary: &String,
    ) -> Decided {
        let Some(cp) = self.control_plans.get(plan) else {
            return reject(
                Rule::Reference,
                "plan",
                format!("ingen intern kontrollplan {plan:?}"),
            );
        };
        self.authorize(p, Authority::Body(&cp.body))?;
        Self::tertial_passed(p, cp.year, *tertial)?;
        check_text("summary", summary)?;
        if cp.tertials_reported.contains(tertial) {
            return reject(
                Rule::P6,
                "tertial",
                format!("tertial {tertial} är redan rapporterat"),
            );
        }
        Ok(vec![Event::InternalControlTertialReported(
            InternalControlTertialReported {
                plan: plan.clone(),
                body: cp.body.clone(),
                tertial: *tertial,
                summary: summary.clone(),
            },
        )])
    }

    /// `record_review`: see [`Command::RecordReview`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_record_review(
        &self,
        p: &Provenance,
        review: &String,
        title: &String,
        year: &i32,
        bodies: &Vec<String>,
        observations: &Vec<String>,
        recommendations: &Vec<Recommendation>,
        reply_due: &chrono::NaiveDate,
    ) -> Decided {
        let today = Self::decided_on(p);
        let auditors = self
            .bodies
            .iter()
            .find(|(_, b)| b.kind == BodyKind::Auditors)
            .map(|(id, _)| id.as_str());
        let Some(auditors) = auditors else {
            return reject(
                Rule::Reference,
                "provenance.decided_by",
                "kommunen har inga revisorer",
            );
        };
        self.authorize(p, Authority::Body(auditors))?;
        check_id("review", review)?;
        check_text("title", title)?;
        if self.reviews.contains_key(review) {
            return reject(
                Rule::P6,
                "review",
                format!("granskningen {review:?} finns redan"),
            );
        }
        if bodies.is_empty() {
            return reject(
                Rule::Input,
                "bodies",
                "en granskning gäller minst en nämnd eller styrelse",
            );
        }
        for (i, b) in bodies.iter().enumerate() {
            self.operating_body(&format!("bodies[{i}]"), b)?;
        }
        if observations.iter().all(|o| o.trim().is_empty()) {
            return reject(
                Rule::Input,
                "observations",
                "en granskning anger sina iakttagelser",
            );
        }
        let mut ids = BTreeSet::new();
        for (i, r) in recommendations.iter().enumerate() {
            check_id(&format!("recommendations[{i}].id"), &r.id)?;
            check_text(&format!("recommendations[{i}].text"), &r.text)?;
            if !ids.insert(r.id.as_str()) {
                return reject(
                    Rule::Input,
                    format!("recommendations[{i}].id"),
                    "varje rekommendation en gång",
                );
            }
        }
        if *reply_due <= today {
            return reject(
                Rule::Consistency,
                "reply_due",
                "sista dag för yttrandet ligger efter granskningen",
            );
        }
        if *year > today.year() {
            return reject(
                Rule::Consistency,
                "year",
                "en granskning avser ett år som har börjat",
            );
        }
        Ok(vec![Event::ReviewRecorded(ReviewRecorded {
            review: review.clone(),
            title: title.clone(),
            year: *year,
            bodies: bodies.clone(),
            observations: observations.clone(),
            recommendations: recommendations.clone(),
            reply_due: *reply_due,
        })])
    }

    /// `reply_to_review`: see [`Command::ReplyToReview`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_reply_to_review(
        &self,
        p: &Provenance,
        review: &String,
        body: &String,
        reply: &String,
        responses: &Vec<RecommendationResponse>,
    ) -> Decided {
        let today = Self::decided_on(p);
        let Some(r) = self.reviews.get(review) else {
            return reject(
                Rule::Reference,
                "review",
                format!("ingen granskning {review:?}"),
            );
        };
        if !r.bodies.contains(body) {
            return reject(
                Rule::P1,
                "body",
                format!(
                    "granskningen {review:?} riktar sig till {:?}, inte {body:?}",
                    r.bodies
                ),
            );
        }
        self.authorize(p, Authority::Body(body))?;
        check_text("reply", reply)?;
        if r.replied.contains(body) {
            return reject(Rule::P6, "body", format!("{body:?} har redan yttrat sig"));
        }
        for (i, resp) in responses.iter().enumerate() {
            if !r.recommendations.contains(&resp.recommendation) {
                return reject(
                    Rule::Reference,
                    format!("responses[{i}].recommendation"),
                    format!("ingen rekommendation {:?}", resp.recommendation),
                );
            }
        }
        Ok(vec![Event::ReviewReplied(ReviewReplied {
            review: review.clone(),
            body: body.clone(),
            reply: reply.clone(),
            responses: responses.clone(),
            late: today > r.reply_due,
        })])
    }
}

/// A full-year forecast where the report has one (budgetuppföljning,
/// delårsrapport), none in an årsredovisning.
pub(crate) fn check_forecast(
    field: &str,
    kind: ReportKind,
    forecast: Option<crate::model::Tkr>,
) -> Result<(), Rejection> {
    match (kind.has_forecast(), forecast) {
        (true, None) => reject(
            Rule::Input,
            field,
            format!("en {} har en helårsprognos", kind.swedish()),
        ),
        (false, Some(_)) => reject(Rule::Input, field, "en årsredovisning har ingen prognos"),
        _ => Ok(()),
    }
}
