//! Intern kontroll: plans with risks and kontrollmoment, results per tertial, findings and their actions.

use crate::state::*;
use crate::*;
use std::collections::BTreeSet;

use chrono::Datelike;

use crate::decide::*;

impl KommunState {
    /// `adopt_internal_control_plan`: see [`Command::AdoptInternalControlPlan`].
    pub(crate) fn decide_adopt_internal_control_plan(
        &self,
        p: &Provenance,
        c: &AdoptInternalControlPlan,
    ) -> Decided {
        let AdoptInternalControlPlan {
            plan,
            body,
            year,
            risks,
            controls,
        } = c;
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
    pub(crate) fn decide_report_control_result(
        &self,
        p: &Provenance,
        c: &ReportControlResult,
    ) -> Decided {
        let ReportControlResult {
            plan,
            control,
            tertial,
            result,
        } = c;
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
    pub(crate) fn decide_record_finding_action(
        &self,
        p: &Provenance,
        c: &RecordFindingAction,
    ) -> Decided {
        let RecordFindingAction {
            finding,
            action,
            description,
            responsible,
            due,
        } = c;
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

    pub(crate) fn decide_close_finding(&self, p: &Provenance, c: &CloseFinding) -> Decided {
        let CloseFinding { finding, outcome } = c;
        self.open_finding(p, finding)?;
        check_text("outcome", outcome)?;
        Ok(vec![Event::FindingClosed(FindingClosed {
            finding: finding.clone(),
            outcome: outcome.clone(),
        })])
    }

    /// `report_internal_control_tertial`: see [`Command::ReportInternalControlTertial`].
    pub(crate) fn decide_report_internal_control_tertial(
        &self,
        p: &Provenance,
        c: &ReportInternalControlTertial,
    ) -> Decided {
        let ReportInternalControlTertial {
            plan,
            tertial,
            summary,
        } = c;
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
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_internal_control_plan_adopted(
        &mut self,
        _meta: &EventMeta,
        e: &InternalControlPlanAdopted,
    ) {
        let InternalControlPlanAdopted {
            plan,
            body,
            year,
            controls,
            ..
        } = e.clone();
        self.control_plans.insert(
            plan,
            ControlPlan {
                body,
                year,
                controls: controls.into_iter().map(|c| (c.id.clone(), c)).collect(),
                results: Default::default(),
                tertials_reported: Default::default(),
            },
        );
    }

    pub(crate) fn evolve_control_result_reported(
        &mut self,
        _meta: &EventMeta,
        e: &ControlResultReported,
    ) {
        let ControlResultReported {
            plan,
            control,
            tertial,
            result,
        } = e.clone();
        if let ControlResult::Finding { finding, .. } = result {
            self.findings.insert(
                finding,
                Finding {
                    plan: plan.clone(),
                    control: control.clone(),
                    actions: Vec::new(),
                    closed: false,
                },
            );
        }
        if let Some(p) = self.control_plans.get_mut(&plan) {
            p.results.insert((control, tertial));
        }
    }

    pub(crate) fn evolve_finding_action_recorded(
        &mut self,
        _meta: &EventMeta,
        e: &FindingActionRecorded,
    ) {
        let FindingActionRecorded {
            finding, action, ..
        } = e.clone();
        if let Some(f) = self.findings.get_mut(&finding) {
            f.actions.push(action);
        }
    }

    pub(crate) fn evolve_finding_closed(&mut self, _meta: &EventMeta, e: &FindingClosed) {
        let FindingClosed { finding, .. } = e.clone();
        if let Some(f) = self.findings.get_mut(&finding) {
            f.closed = true;
        }
    }

    pub(crate) fn evolve_internal_control_tertial_reported(
        &mut self,
        _meta: &EventMeta,
        e: &InternalControlTertialReported,
    ) {
        let InternalControlTertialReported { plan, tertial, .. } = e.clone();
        if let Some(p) = self.control_plans.get_mut(&plan) {
            p.tertials_reported.insert(tertial);
        }
    }
}
