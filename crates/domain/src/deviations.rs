//! Deviations: avvikelser against ramar, detaljbudgetar, goals and investments, with their actions and escalation.

use crate::decide::*;
use crate::state::*;
use crate::*;

impl KommunState {
    /// The nämnd a deviation at unit `u` answers to: the one its `from`
    /// names (a ram, a detaljbudget, a nämndmål, an investment, an uppdrag
    /// given to nämnder the unit answers to) when the unit answers to it,
    /// otherwise the first nämnd the unit answers to.
    fn deviation_body(&self, u: &Unit, from: &DeviationFrom) -> String {
        let named: Vec<String> = match from {
            DeviationFrom::Ram { body, .. } | DeviationFrom::Detaljbudget { body, .. } => {
                vec![body.clone()]
            }
            DeviationFrom::Goal { goal } | DeviationFrom::Indicator { goal, .. } => self
                .namndmal
                .get(goal)
                .map(|m| m.body.clone())
                .into_iter()
                .collect(),
            DeviationFrom::Investment { investment, .. } => self
                .investments
                .get(investment)
                .map(|i| i.body.clone())
                .into_iter()
                .collect(),
            DeviationFrom::Uppdrag { uppdrag } => self
                .uppdrag
                .get(uppdrag)
                .map(|x| x.to.clone())
                .unwrap_or_default(),
        };
        named
            .into_iter()
            .find(|b| u.serves(b))
            .unwrap_or_else(|| u.responsible()[0].to_owned())
    }

    /// `report_deviation`: see [`Command::ReportDeviation`].
    pub(crate) fn decide_report_deviation(&self, p: &Provenance, c: &ReportDeviation) -> Decided {
        let ReportDeviation {
            deviation,
            unit,
            from,
            sign,
            amount,
            value,
            analysis,
            noticed,
        } = c;
        let today = Self::decided_on(p);
        check_id("deviation", deviation)?;
        let Some(u) = self.units.get(unit) else {
            return reject(Rule::Reference, "unit", format!("ingen enhet {unit:?}"));
        };
        let body = self.deviation_body(u, from);
        self.authorize(p, Authority::Forvaltning(&body, unit, Matter::FollowUp))?;
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
            body,
            from: from.clone(),
            sign: *sign,
            amount: *amount,
            value: *value,
            analysis: analysis.clone(),
            noticed: *noticed,
            reported: today,
        })])
    }

    pub(crate) fn decide_record_deviation_action(
        &self,
        p: &Provenance,
        c: &RecordDeviationAction,
    ) -> Decided {
        let RecordDeviationAction {
            deviation,
            action,
            description,
        } = c;
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

    pub(crate) fn decide_escalate_deviation(
        &self,
        p: &Provenance,
        c: &EscalateDeviation,
    ) -> Decided {
        let EscalateDeviation { deviation, reason } = c;
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

    pub(crate) fn decide_close_deviation(&self, p: &Provenance, c: &CloseDeviation) -> Decided {
        let CloseDeviation { deviation, outcome } = c;
        self.open_deviation(p, deviation)?;
        check_text("outcome", outcome)?;
        Ok(vec![Event::DeviationClosed(DeviationClosed {
            deviation: deviation.clone(),
            outcome: outcome.clone(),
        })])
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
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_deviation_reported(&mut self, _meta: &EventMeta, e: &DeviationReported) {
        let DeviationReported {
            deviation,
            unit,
            body,
            reported,
            ..
        } = e.clone();
        self.deviations.insert(
            deviation,
            Deviation {
                unit,
                body,
                reported,
                actions: Vec::new(),
                escalated: false,
                atgardsplan: None,
                closed: false,
            },
        );
    }

    pub(crate) fn evolve_deviation_action_recorded(
        &mut self,
        _meta: &EventMeta,
        e: &DeviationActionRecorded,
    ) {
        let DeviationActionRecorded {
            deviation, action, ..
        } = e.clone();
        if let Some(d) = self.deviations.get_mut(&deviation) {
            d.actions.push(action);
        }
    }

    pub(crate) fn evolve_deviation_escalated(&mut self, _meta: &EventMeta, e: &DeviationEscalated) {
        let DeviationEscalated { deviation, .. } = e.clone();
        if let Some(d) = self.deviations.get_mut(&deviation) {
            d.escalated = true;
        }
    }

    pub(crate) fn evolve_deviation_closed(&mut self, _meta: &EventMeta, e: &DeviationClosed) {
        let DeviationClosed { deviation, .. } = e.clone();
        if let Some(d) = self.deviations.get_mut(&deviation) {
            d.closed = true;
        }
    }
}
