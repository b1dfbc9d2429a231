//! Deciding: a command and its provenance against the state give events or
//! a rejection naming the rule (P1–P7) and the field.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::command::{Command, Ram};
use crate::event::Event;
use crate::model::*;
use crate::rejection::{Rejection, Rule};
use crate::state::KommunState;
use styr_provenance::{DecidedBy, Provenance};

pub(crate) type Decided = Result<Vec<Event>, Rejection>;

pub(crate) fn reject<T>(
    rule: Rule,
    field: impl Into<String>,
    message: impl Into<String>,
) -> Result<T, Rejection> {
    Err(Rejection::new(rule, field, message))
}

/// An id that becomes part of a NATS subject: 1–64 of ASCII letters, digits,
/// `-` and `_`.
pub(crate) fn check_id(field: &str, id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        reject(
            Rule::Input,
            field,
            format!("{id:?} är inget giltigt id: använd 1-64 tecken av a-z, A-Z, 0-9, '-' och '_'"),
        )
    }
}

pub(crate) fn check_text(field: &str, text: &str) -> Result<(), Rejection> {
    if text.trim().is_empty() {
        reject(Rule::Input, field, "får inte vara tomt")
    } else {
        Ok(())
    }
}

/// Who must have decided a command (P1).
pub(crate) enum Authority<'a> {
    /// Kommunfullmäktige at a meeting; not delegable.
    Council,
    /// The body itself at a meeting; not delegable.
    Body(&'a str),
    /// The body, or a delegat under a point of its delegationsordning that
    /// covers the matter.
    BodyOrDelegate(&'a str, Matter),
    /// As above, or an official acting for `unit` or a unit above it
    /// (verkställighet inside the förvaltning).
    Forvaltning(&'a str, &'a str, Matter),
    /// As above, with an official of any unit of the body.
    Organisation(&'a str, Matter),
    /// Kommunfullmäktige or kommunstyrelsen at a meeting, as the kommun's
    /// own model puts it (processes and målgrupper).
    CouncilOrBoard,
    /// Kommunfullmäktige, or the named body, at a meeting.
    CouncilOr(&'a str),
}

impl KommunState {
    /// Decides a command: the events to record, or why not.
    ///
    /// The input and provenance checks every command shares run here; then
    /// each command goes to its own `decide_<command>` in the module of its
    /// area (`organisation`, `budget`, `deviations`, …), which checks its
    /// rules and names the events.
    pub fn decide(&self, provenance: &Provenance, command: &Command) -> Decided {
        self.decide_with(provenance, command, None)
    }

    /// As [`decide`](Self::decide), given the recorded decision a rättelse
    /// corrects (`correct_decision` needs it; the caller reads it from the
    /// kommun's history).
    pub fn decide_with(
        &self,
        provenance: &Provenance,
        command: &Command,
        original: Option<&crate::Original>,
    ) -> Decided {
        crate::input::check_provenance_input(provenance)?;
        crate::input::check_command_input(command)?;
        self.check_provenance(provenance)?;
        if self.kommun.is_none() && !matches!(command, Command::RegisterKommun(_)) {
            return reject(
                Rule::Reference,
                "command",
                "kommunen är inte registrerad än: dess första beslut är register_kommun",
            );
        }
        match command {
            Command::RegisterKommun(c) => self.decide_register_kommun(provenance, c),
            Command::RecordElection(c) => self.decide_record_election(provenance, c),
            Command::EstablishBody(c) => self.decide_establish_body(provenance, c),
            Command::EstablishUnit(c) => self.decide_establish_unit(provenance, c),
            Command::GrantDelegation(c) => self.decide_grant_delegation(provenance, c),
            Command::AdoptDirection(c) => self.decide_adopt_direction(provenance, c),
            Command::AdoptStyrdokument(c) => self.decide_adopt_styrdokument(provenance, c),
            Command::RepealStyrdokument(c) => self.decide_repeal_styrdokument(provenance, c),
            Command::AdoptBudget(c) => self.decide_adopt_budget(provenance, c),
            Command::AmendBudget(c) => self.decide_amend_budget(provenance, c),
            Command::AdoptNamndplan(c) => self.decide_adopt_namndplan(provenance, c),
            Command::AdoptDetaljbudget(c) => self.decide_adopt_detaljbudget(provenance, c),
            Command::ReportUppdragStatus(c) => self.decide_report_uppdrag_status(provenance, c),
            Command::AdoptPlan(c) => self.decide_adopt_plan(provenance, c),
            Command::NotePlanReported(c) => self.decide_note_plan_reported(provenance, c),
            Command::GrantAccess(c) => self.decide_grant_access(provenance, c),
            Command::RevokeAccess(c) => self.decide_revoke_access(provenance, c),
            Command::CorrectDecision(c) => self.decide_correct_decision(provenance, c, original),
            Command::AdoptFollowUpCalendar(c) => {
                self.decide_adopt_follow_up_calendar(provenance, c)
            }
            Command::DefineMalgrupp(c) => self.decide_define_malgrupp(provenance, c),
            Command::EstablishProcess(c) => self.decide_establish_process(provenance, c),
            Command::AdoptProcessGoals(c) => self.decide_adopt_process_goals(provenance, c),
            Command::RecordContribution(c) => self.decide_record_contribution(provenance, c),
            Command::CloseProcess(c) => self.decide_close_process(provenance, c),
            Command::RecordOutcome(c) => self.decide_record_outcome(provenance, c),
            Command::ImportOutcomes(c) => self.decide_import_outcomes(provenance, c),
            Command::ImportKolada(c) => self.decide_import_kolada(provenance, c),
            Command::ReportDeviation(c) => self.decide_report_deviation(provenance, c),
            Command::RecordDeviationAction(c) => self.decide_record_deviation_action(provenance, c),
            Command::EscalateDeviation(c) => self.decide_escalate_deviation(provenance, c),
            Command::CloseDeviation(c) => self.decide_close_deviation(provenance, c),
            Command::AdoptFollowUpReport(c) => self.decide_adopt_follow_up_report(provenance, c),
            Command::AdoptInternalControlPlan(c) => {
                self.decide_adopt_internal_control_plan(provenance, c)
            }
            Command::ReportControlResult(c) => self.decide_report_control_result(provenance, c),
            Command::RecordFindingAction(c) => self.decide_record_finding_action(provenance, c),
            Command::CloseFinding(c) => self.decide_close_finding(provenance, c),
            Command::ReportInternalControlTertial(c) => {
                self.decide_report_internal_control_tertial(provenance, c)
            }
            Command::RecordReview(c) => self.decide_record_review(provenance, c),
            Command::ReplyToReview(c) => self.decide_reply_to_review(provenance, c),
        }
    }

    pub(crate) fn council(&self) -> Option<&String> {
        self.kommun.as_ref().map(|k| &k.council)
    }

    /// The budget whose three years include `year`.
    pub(crate) fn budget_covering(&self, year: i32) -> Option<i32> {
        self.budgets
            .keys()
            .rev()
            .copied()
            .find(|b| (*b..=b + 2).contains(&year))
    }

    /// `unit` exists and its verksamhet answers to the nämnd `body`.
    pub(crate) fn unit_of(&self, field: &str, unit: &str, body: &str) -> Result<(), Rejection> {
        match self.units.get(unit) {
            Some(u) if u.serves(body) => Ok(()),
            Some(u) => reject(
                Rule::Reference,
                field,
                format!(
                    "enheten {unit:?} svarar inte inför {body:?} (den svarar inför {})",
                    u.responsible().join(", ")
                ),
            ),
            None => reject(Rule::Reference, field, format!("ingen enhet {unit:?}")),
        }
    }

    /// A new goal's id and title, its id not in use (P6) nor twice in the
    /// decision (`seen`); `f` names a field of the goal.
    pub(crate) fn check_new_goal<'a>(
        &self,
        f: &impl Fn(&str) -> String,
        id: &'a str,
        title: &str,
        seen: &mut BTreeSet<&'a str>,
    ) -> Result<(), Rejection> {
        check_id(&f("id"), id)?;
        check_text(&f("title"), title)?;
        if self.goal_id_taken(id) || !seen.insert(id) {
            return reject(Rule::P6, f("id"), format!("målet {id:?} finns redan"));
        }
        Ok(())
    }

    /// What a KF goal and a processmål both carry: indicators within the
    /// goal's years, målgrupper defined, Agenda 2030 tags on the list.
    pub(crate) fn check_goal_tags(
        &self,
        f: &impl Fn(&str) -> String,
        (from, to): (i32, i32),
        indicators: &[Indicator],
        malgrupper: &[String],
        agenda2030: &[String],
    ) -> Result<(), Rejection> {
        check_indicators(&f("indicators"), indicators, from, to)?;
        self.check_malgrupper(&f("malgrupper"), malgrupper)?;
        crate::agenda2030::check_tags(&f("agenda2030"), agenda2030)
    }

    /// A goal id in use: KF goals, processmål and nämndmål share one
    /// namespace (`goal/<id>`), so that no decision can take over another's goal.
    pub(crate) fn goal_id_taken(&self, id: &str) -> bool {
        self.goals.contains_key(id) || self.namndmal.contains_key(id)
    }

    /// `body` is one whose goals, reports and contributions the kommun
    /// records: an operating body or a kommunalförbund.
    pub(crate) fn participating_body(&self, field: &str, body: &str) -> Result<(), Rejection> {
        self.body_of_kind(
            field,
            body,
            BodyKind::takes_part,
            "en nämnd, KS, ett bolag eller ett kommunalförbund",
        )
    }

    /// `body` is one the kommun directs: KS, a nämnd or a bolag.
    pub(crate) fn operating_body(&self, field: &str, body: &str) -> Result<(), Rejection> {
        self.body_of_kind(
            field,
            body,
            BodyKind::is_operating,
            "en nämnd, KS eller ett bolag",
        )
    }

    fn body_of_kind(
        &self,
        field: &str,
        body: &str,
        fits: fn(BodyKind) -> bool,
        wanted: &str,
    ) -> Result<(), Rejection> {
        match self.bodies.get(body) {
            Some(b) if fits(b.kind) => Ok(()),
            Some(b) => reject(
                Rule::Reference,
                field,
                format!("{body:?} är {}, inte {wanted}", b.kind.swedish()),
            ),
            None => reject(Rule::Reference, field, format!("inget organ {body:?}")),
        }
    }

    /// P7: provenance complete and its dates in order.
    pub(crate) fn check_provenance(&self, p: &Provenance) -> Result<(), Rejection> {
        if let Err((field, message)) = p.check() {
            return reject(Rule::P7, field, message);
        }
        if let Some(registered) = self.registered {
            if p.effective_date < registered {
                return reject(
                    Rule::P7,
                    "provenance.effective_date",
                    format!(
                        "gäller från {} men kommunen registrerades {registered}",
                        p.effective_date
                    ),
                );
            }
        }
        if let Some(d) = p.decided_by.decision_date() {
            if p.effective_date < d {
                return reject(
                    Rule::P7,
                    "provenance.effective_date",
                    format!(
                        "träder i kraft {}, före beslutsdatumet {d}",
                        p.effective_date
                    ),
                );
            }
            if let Some(a) = p.protocol_approved {
                if a < d {
                    return reject(
                        Rule::P7,
                        "provenance.protocol_approved",
                        "protokollet justerat före sammanträdet",
                    );
                }
            }
            if let (Some(a), Some(n)) = (p.protocol_approved, p.announced) {
                if n < a {
                    return reject(
                        Rule::P7,
                        "provenance.announced",
                        "tillkännagivet innan protokollet justerades",
                    );
                }
            }
        }
        Ok(())
    }

    /// P1: the decision was taken by whoever owns it.
    pub(crate) fn authorize(&self, p: &Provenance, needed: Authority<'_>) -> Result<(), Rejection> {
        let field = "provenance.decided_by";
        let by_body =
            |want: &str| matches!(&p.decided_by, DecidedBy::Body { body, .. } if body == want);
        let by_delegate = |body: &str, matter: Matter| match &p.decided_by {
            DecidedBy::Delegate {
                delegate,
                on_behalf_of,
                delegation_point,
                ..
            } if on_behalf_of == body => self
                .delegations
                .get(&(body.to_owned(), delegation_point.clone()))
                .is_some_and(|d| d.delegate == *delegate && d.matters.contains(&matter)),
            _ => false,
        };
        let ok = match needed {
            Authority::Council => self.council().is_some_and(|c| by_body(c)),
            Authority::Body(b) => by_body(b),
            Authority::BodyOrDelegate(b, m) => by_body(b) || by_delegate(b, m),
            Authority::Forvaltning(b, unit, m) => {
                by_body(b)
                    || by_delegate(b, m)
                    || matches!(&p.decided_by, DecidedBy::Official { unit: acting, .. }
                        if self.units.get(unit).is_some_and(|u| u.serves(b)) && self.unit_within(unit, acting))
            }
            Authority::Organisation(b, m) => {
                by_body(b)
                    || by_delegate(b, m)
                    || matches!(&p.decided_by, DecidedBy::Official { unit, .. }
                        if self.leads_for(unit, b))
            }
            Authority::CouncilOrBoard => {
                self.council().is_some_and(|c| by_body(c))
                    || self.executive_board().is_some_and(by_body)
            }
            Authority::CouncilOr(b) => self.council().is_some_and(|c| by_body(c)) || by_body(b),
        };
        if ok {
            return Ok(());
        }
        let who = match needed {
            Authority::Council => "kommunfullmäktige vid ett sammanträde".to_owned(),
            Authority::Body(b) => format!("{b:?} vid ett sammanträde"),
            Authority::BodyOrDelegate(b, m) => format!(
                "{b:?} vid ett sammanträde, eller en delegat enligt en punkt i dess delegationsordning som omfattar {}",
                m.swedish()
            ),
            Authority::Forvaltning(b, u, m) => format!(
                "{b:?}, en av dess delegater för {}, eller en tjänsteperson vid enheten {u:?} eller en enhet ovanför den",
                m.swedish()
            ),
            Authority::Organisation(b, m) => format!(
                "{b:?}, en av dess delegater för {}, eller en tjänsteperson vid en enhet som svarar inför den eller en enhet ovanför en sådan",
                m.swedish()
            ),
            Authority::CouncilOrBoard => {
                "kommunfullmäktige eller kommunstyrelsen vid ett sammanträde".to_owned()
            }
            Authority::CouncilOr(b) => {
                format!("kommunfullmäktige eller processens ägare {b:?} vid ett sammanträde")
            }
        };
        reject(Rule::P1, field, format!("beslutet fattas av {who}"))
    }

    pub(crate) fn check_ramar(&self, ramar: &[Ram], years: &[i32]) -> Result<(), Rejection> {
        let mut seen = BTreeSet::new();
        for (i, r) in ramar.iter().enumerate() {
            self.operating_body(&format!("ramar[{i}].body"), &r.body)?;
            if !years.contains(&r.year) {
                return reject(
                    Rule::Consistency,
                    format!("ramar[{i}].year"),
                    format!("{} är inte ett av budgetens år {years:?}", r.year),
                );
            }
            if r.amount < 0 {
                return reject(
                    Rule::Input,
                    format!("ramar[{i}].amount"),
                    "får inte vara negativt",
                );
            }
            if !seen.insert((r.body.as_str(), r.year)) {
                return reject(
                    Rule::Input,
                    format!("ramar[{i}]"),
                    "en ram per organ och år",
                );
            }
        }
        Ok(())
    }

    pub(crate) fn check_recipients(&self, field: &str, to: &[String]) -> Result<(), Rejection> {
        if to.is_empty() {
            return reject(Rule::Input, field, "ett uppdrag ges till minst en nämnd");
        }
        for (j, b) in to.iter().enumerate() {
            self.operating_body(&format!("{field}[{j}]"), b)?;
        }
        Ok(())
    }
}

pub(crate) fn same_decider(a: &DecidedBy, b: &DecidedBy) -> bool {
    match (a, b) {
        (DecidedBy::Body { body: x, .. }, DecidedBy::Body { body: y, .. }) => x == y,
        (
            DecidedBy::Delegate {
                on_behalf_of: x,
                delegate: dx,
                ..
            },
            DecidedBy::Delegate {
                on_behalf_of: y,
                delegate: dy,
                ..
            },
        ) => x == y && dx == dy,
        (DecidedBy::Official { unit: x, .. }, DecidedBy::Official { unit: y, .. }) => x == y,
        _ => false,
    }
}

pub(crate) fn check_indicators(
    field: &str,
    indicators: &[Indicator],
    from: i32,
    to: i32,
) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for (i, ind) in indicators.iter().enumerate() {
        let f = |n: &str| format!("{field}[{i}].{n}");
        check_id(&f("id"), &ind.id)?;
        check_text(&f("name"), &ind.name)?;
        if !seen.insert(ind.id.as_str()) {
            return reject(Rule::Input, f("id"), "varje indikator en gång");
        }
        if let Some(k) = &ind.kolada_kpi {
            let b = k.as_bytes();
            if b.len() != 6 || !b[0].is_ascii_uppercase() || !b[1..].iter().all(u8::is_ascii_digit)
            {
                return reject(
                    Rule::Input,
                    f("kolada_kpi"),
                    format!("{k:?} är inget id för ett Kolada-nyckeltal, t.ex. N01951"),
                );
            }
        }
        if let Some(g) = &ind.kolada_kpi_group {
            let ok = g
                .strip_prefix('G')
                .and_then(|r| r.split_once("KPI"))
                .is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                });
            if !ok {
                return reject(
                    Rule::Input,
                    f("kolada_kpi_group"),
                    format!("{g:?} är inget id för en Kolada-nyckeltalsgrupp, t.ex. G2KPI92539"),
                );
            }
        }
        crate::agenda2030::check_tags(&f("agenda2030"), &ind.agenda2030)?;
        if let Some(y) = ind
            .targets
            .iter()
            .map(|t| t.year)
            .find(|y| !(from..=to).contains(y))
        {
            return reject(
                Rule::Consistency,
                f("targets"),
                format!("ett målvärde för {y} ligger utanför målets år {from}–{to}"),
            );
        }
    }
    Ok(())
}

impl KommunState {
    /// The date the decision was taken (the effective date for system records).
    pub(crate) fn decided_on(p: &Provenance) -> NaiveDate {
        p.decided_by.decision_date().unwrap_or(p.effective_date)
    }

    pub(crate) fn executive_board(&self) -> Option<&str> {
        self.bodies
            .iter()
            .find(|(_, b)| b.kind == BodyKind::ExecutiveBoard)
            .map(|(id, _)| id.as_str())
    }

    /// Who answers for a goal's follow-up: the nämnd for a nämndmål, KS for a KF goal.
    pub(crate) fn goal_owner(&self, goal: &str) -> Option<&str> {
        if let Some(m) = self.namndmal.get(goal) {
            return Some(&m.body);
        }
        match self.goals.get(goal) {
            Some(g) if g.of_process => g
                .process
                .as_ref()
                .and_then(|p| self.processes.get(p))
                .map(|p| p.owner.as_str()),
            Some(_) => self.executive_board(),
            None => None,
        }
    }
}
