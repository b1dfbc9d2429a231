//! Follow-up reports: budgetuppföljning, tertialrapport, delårsrapport and årsredovisning.

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    pub(crate) fn decide_adopt_follow_up_report(
        &self,
        p: &Provenance,
        c: &AdoptFollowUpReport,
    ) -> Decided {
        let AdoptFollowUpReport {
            body,
            year,
            kind,
            ramar,
            goals,
            uppdrag,
            atgardsplan,
            investments,
            balanskrav,
        } = c;
        self.decide_report(
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
        )
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

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_follow_up_report_adopted(
        &mut self,
        _meta: &EventMeta,
        e: &FollowUpReportAdopted,
    ) {
        let FollowUpReportAdopted {
            body,
            year,
            kind,
            through,
            uppdrag,
            ..
        } = e.clone();
        // A report's uppdrag lines are status reports as of its period end.
        for line in uppdrag {
            if let Some(u) = self.uppdrag.get_mut(&line.uppdrag) {
                if u.last_status.is_none_or(|(d, _)| d <= through) {
                    u.last_status = Some((through, line.status));
                }
            }
        }
        self.reports.insert((body, year, kind));
    }

    pub(crate) fn evolve_atgardsplan_adopted(&mut self, _meta: &EventMeta, e: &AtgardsplanAdopted) {
        let AtgardsplanAdopted { body, plan, .. } = e.clone();
        for d in &plan.deviations {
            if let Some(dev) = self.deviations.get_mut(d) {
                dev.atgardsplan = Some(plan.id.clone());
            }
        }
        self.atgardsplaner.insert(plan.id, (body, plan.deviations));
    }

    pub(crate) fn evolve_investment_followed_up(
        &mut self,
        _meta: &EventMeta,
        e: &InvestmentFollowedUp,
    ) {
        let InvestmentFollowedUp {
            investment, year, ..
        } = e.clone();
        self.investment_follow_ups.insert((investment, year));
    }
}
