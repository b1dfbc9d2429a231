//! Follow-up reports: budgetuppföljning, tertialrapport, delårsrapport and årsredovisning.

use chrono::NaiveDate;

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    /// A body's follow-up report (budgetuppföljning, tertialrapport,
    /// delårsrapport, årsredovisning) with its lines, the åtgärdsplan that
    /// deviations beyond delegation call for (P5), and its investments and
    /// balanskrav.
    pub(crate) fn decide_adopt_follow_up_report(
        &self,
        p: &Provenance,
        c: &AdoptFollowUpReport,
    ) -> Decided {
        let AdoptFollowUpReport {
            body,
            year,
            kind,
            period,
            ramar,
            goals,
            uppdrag,
            atgardsplan,
            investments,
            balanskrav,
        } = c;
        let (through, period) = self.check_report_due(p, body, *year, *kind, period.as_deref())?;
        let is_ks = self.executive_board() == Some(body.as_str());
        self.check_report_lines(body, is_ks, *year, *kind, ramar, goals, uppdrag)?;
        self.check_atgardsplan_given(body, *kind, through, atgardsplan.as_ref())?;
        if let Some(a) = atgardsplan {
            self.check_atgardsplan(body, a)?;
        }
        let mut events = self.report_events(c, through, period.clone());
        let economy = crate::budget::ReportedEconomy {
            investments,
            balanskrav: balanskrav.as_ref(),
        };
        self.report_economy(p, body, is_ks, *year, *kind, &economy, &mut events)?;
        // An investment's follow-up names the report it is in, period too.
        for e in &mut events {
            if let Event::InvestmentFollowedUp(i) = e {
                i.period.clone_from(&period);
            }
        }
        Ok(events)
    }

    /// The body may report, the period has ended, a budget covers the year
    /// and the report is not adopted already; returns the period's end and,
    /// when the calendar has several reports of the kind, its `MM-DD`.
    fn check_report_due(
        &self,
        p: &Provenance,
        body: &str,
        year: i32,
        kind: ReportKind,
        period: Option<&str>,
    ) -> Result<(NaiveDate, Option<String>), Rejection> {
        self.participating_body("body", body)?;
        self.authorize(p, Authority::Body(body))?;
        let periods = self.report_periods(kind, year)?;
        let (through, named) = match (periods.as_slice(), period) {
            ([], _) => {
                return reject(
                    Rule::Consistency,
                    "kind",
                    format!(
                        "uppföljningskalendern för {year} har ingen {}",
                        kind.swedish()
                    ),
                )
            }
            ([(d, _)], None) => (*d, None),
            (several, None) => {
                return reject(
                    Rule::Input,
                    "period",
                    format!(
                        "uppföljningskalendern för {year} har {} {}: ange vilken med period ({})",
                        several.len(),
                        kind.swedish_plural(),
                        several
                            .iter()
                            .map(|(_, md)| md.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }
            (all, Some(want)) => match all.iter().find(|(_, md)| md == want) {
                Some((d, md)) => (*d, (all.len() > 1).then(|| md.clone())),
                None => {
                    return reject(
                        Rule::Consistency,
                        "period",
                        format!(
                        "uppföljningskalendern för {year} har ingen {} till och med {want} ({})",
                        kind.swedish(),
                        all.iter()
                            .map(|(_, md)| md.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    )
                }
            },
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
        if self
            .reports
            .contains(&(body.to_owned(), year, kind, named.clone()))
        {
            return reject(
                Rule::P6,
                "kind",
                format!(
                    "{body:?} har redan antagit sin {} till och med {through}",
                    kind.swedish()
                ),
            );
        }
        Ok((through, named))
    }

    /// P5: a deviation beyond delegation that is still open needs the
    /// nämnd's åtgärdsplan in its next report (the årsredovisning excepted)
    /// — a report whose period ended before the deviation was reported
    /// (an earlier month adopted late) does not answer for it.
    fn check_atgardsplan_given(
        &self,
        body: &str,
        kind: ReportKind,
        through: NaiveDate,
        atgardsplan: Option<&Atgardsplan>,
    ) -> Result<(), Rejection> {
        if kind == ReportKind::Arsredovisning {
            return Ok(());
        }
        let covered: Vec<&String> = atgardsplan
            .map(|a| a.deviations.iter().collect())
            .unwrap_or_default();
        let missing = self.deviations.iter().find(|(id, d)| {
            d.body == body
                && d.reported <= through
                && d.escalated
                && !d.closed
                && d.atgardsplan.is_none()
                && !covered.contains(id)
        });
        match missing {
            Some((missing, _)) => reject(
                Rule::P5,
                "atgardsplan",
                format!(
                    "avvikelsen {missing:?} går utöver förvaltningens delegation och är fortfarande öppen: nämnden beslutar om en åtgärdsplan tillsammans med denna {}",
                    kind.swedish()
                ),
            ),
            None => Ok(()),
        }
    }

    /// An åtgärdsplan: a new id, open deviations of the body, measures.
    fn check_atgardsplan(&self, body: &str, a: &Atgardsplan) -> Result<(), Rejection> {
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
        Ok(())
    }

    /// The report's events: the report itself, then each uppdrag and goal
    /// it speaks of on its own subject, then the åtgärdsplan.
    fn report_events(
        &self,
        c: &AdoptFollowUpReport,
        through: NaiveDate,
        period: Option<String>,
    ) -> Vec<Event> {
        let (body, year, kind) = (&c.body, c.year, c.kind);
        let mut events = vec![Event::FollowUpReportAdopted(FollowUpReportAdopted {
            body: body.clone(),
            year,
            kind,
            period: period.clone(),
            through,
            ramar: c.ramar.clone(),
            goals: c.goals.clone(),
            uppdrag: c.uppdrag.clone(),
        })];
        events.extend(c.uppdrag.iter().map(|u| {
            Event::UppdragStatusInReport(UppdragStatusInReport {
                uppdrag: u.uppdrag.clone(),
                body: body.clone(),
                year,
                report: kind,
                as_of: through,
                status: u.status,
            })
        }));
        events.extend(c.goals.iter().map(|g| {
            Event::GoalAssessedInReport(GoalAssessedInReport {
                goal: g.goal.clone(),
                level: if self.namndmal.contains_key(&g.goal) {
                    GoalLevel::Namndmal
                } else {
                    GoalLevel::Kf
                },
                body: body.clone(),
                year,
                report: kind,
                period: period.clone(),
                assessment: g.clone(),
            })
        }));
        if let Some(a) = &c.atgardsplan {
            events.push(Event::AtgardsplanAdopted(AtgardsplanAdopted {
                body: body.clone(),
                year,
                report: kind,
                period,
                plan: a.clone(),
            }));
        }
        events
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
            // A nämnd its nämndmål; KS every KF goal and processmål; a
            // process's owner the processmål of its process.
            let ok = match self.namndmal.get(&g.goal) {
                Some(m) => m.body == body && m.year == year,
                None => self.goals.get(&g.goal).is_some_and(|k| {
                    k.in_force(year)
                        && (is_ks || (k.of_process && self.goal_owner(&g.goal) == Some(body)))
                }),
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
            period,
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
        self.reports.insert((body, year, kind, period));
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

/// The follow-up calendar.
impl KommunState {
    /// Each period end in `year` of a report of `kind` under the calendar in
    /// force then (Vimmerby's until the kommun decides its own), with its
    /// `MM-DD`; empty when that calendar has no such report.
    pub(crate) fn report_periods(
        &self,
        kind: ReportKind,
        year: i32,
    ) -> Result<Vec<(NaiveDate, String)>, Rejection> {
        if !crate::YEARS.contains(&year) {
            return reject(Rule::Input, "year", "inget giltigt år");
        }
        let Some((_, periods)) = self.calendars.range(..=year).next_back() else {
            return match kind.through(year) {
                Some(d) => Ok(vec![(d, d.format("%m-%d").to_string())]),
                None => reject(Rule::Input, "year", "inget giltigt år"),
            };
        };
        Ok(periods
            .iter()
            .filter(|p| p.kind == kind)
            .filter_map(|p| Some((p.through_in(year)?, p.through.clone())))
            .collect())
    }

    /// `adopt_follow_up_calendar`: see [`Command::AdoptFollowUpCalendar`].
    pub(crate) fn decide_adopt_follow_up_calendar(
        &self,
        provenance: &Provenance,
        c: &AdoptFollowUpCalendar,
    ) -> Decided {
        let AdoptFollowUpCalendar { from_year, reports } = c;
        self.authorize(provenance, Authority::CouncilOrBoard)?;
        if !crate::YEARS.contains(from_year) {
            return reject(Rule::Input, "from_year", "inget giltigt år");
        }
        // A calendar governs years to come: a year already under way keeps
        // the calendar it began with.
        let decided = Self::decided_on(provenance);
        if *from_year <= chrono::Datelike::year(&decided)
            || chrono::Datelike::year(&provenance.effective_date) >= *from_year
        {
            return reject(
                Rule::Consistency,
                "from_year",
                format!("en uppföljningskalender beslutas och träder i kraft före året den börjar gälla, inte {decided}"),
            );
        }
        // However a decision is dated: a year already reported on keeps
        // the calendar its reports followed.
        if let Some((body, y, kind, _)) = self.reports.iter().find(|(_, y, _, _)| y >= from_year) {
            return reject(
                Rule::Consistency,
                "from_year",
                format!(
                    "{} har redan antagit sin {} för {y} efter den kalender som gäller",
                    body.to_uppercase(),
                    kind.swedish()
                ),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut last: Option<(u32, u32)> = None;
        for (i, r) in reports.iter().enumerate() {
            let f = |n: &str| format!("reports[{i}].{n}");
            let Some(md) = r.month_day() else {
                return reject(
                    Rule::Input,
                    f("through"),
                    format!(
                        "{:?} är ingen dag varje år har: skriv MM-DD, t.ex. 08-31",
                        r.through
                    ),
                );
            };
            // Budgetuppföljningar as often as the kommun wants (monthly,
            // tertial); one delårsrapport and one årsredovisning.
            if !seen.insert(r.kind) && r.kind != ReportKind::Budgetuppfoljning {
                return reject(
                    Rule::Input,
                    f("kind"),
                    format!("en {} per år", r.kind.swedish()),
                );
            }
            if last.is_some_and(|l| md <= l) {
                return reject(
                    Rule::Consistency,
                    f("through"),
                    "rapporterna står i årets ordning, var och en efter den förra",
                );
            }
            last = Some(md);
            if r.kind == ReportKind::Arsredovisning && md != (12, 31) {
                return reject(
                    Rule::Consistency,
                    f("through"),
                    "årsredovisningen omfattar hela året, till 12-31",
                );
            }
            if r.due_days == 0 || r.due_days > 366 {
                return reject(
                    Rule::Input,
                    f("due_days"),
                    "1–366 dagar efter periodens slut",
                );
            }
            // A delårsrapport covers at least half and at most two thirds
            // of the year; the årsredovisning is handed over by 15 April.
            if r.kind == ReportKind::Delarsrapport && !((6, 30)..=(8, 31)).contains(&md) {
                return reject(
                    Rule::Law,
                    f("through"),
                    "LKBR 13 kap 1 §: en delårsrapport omfattar minst hälften och högst två tredjedelar av året, till 06-30–08-31",
                );
            }
            if r.kind == ReportKind::Arsredovisning && r.due_days > 105 {
                return reject(
                    Rule::Law,
                    f("due_days"),
                    "KL 11 kap: årsredovisningen lämnas till fullmäktige och revisorerna senast den 15 april; högst 105 dagar efter årets slut",
                );
            }
        }
        for (kind, why) in [
            (
                ReportKind::Arsredovisning,
                "KL 11 kap: kommunen upprättar en årsredovisning för varje år",
            ),
            (
                ReportKind::Delarsrapport,
                "KL 11 kap 16 §: kommunen upprättar en delårsrapport",
            ),
        ] {
            if !seen.contains(&kind) {
                return reject(Rule::Law, "reports", why);
            }
        }
        Ok(vec![Event::FollowUpCalendarAdopted(
            FollowUpCalendarAdopted {
                from_year: *from_year,
                reports: reports.clone(),
            },
        )])
    }
}
