//! Deciding: a command and its provenance against the state give events or
//! a rejection naming the rule (P1–P7) and the field.

use crate::{
    AdoptBudget, AdoptDetaljbudget, AdoptDirection, AdoptNamndplan, AdoptPlan, AdoptStyrdokument,
    AmendBudget, BodyEstablished, CorrectDecision, DecisionCorrected, DelegationGranted,
    DetaljbudgetAdopted, DirectionAdopted, EstablishBody, EstablishUnit, GrantAccess,
    GrantDelegation, KommunRegistered, NamndmalAdopted, NamndplanAdopted, NotePlanReported,
    PlanAdopted, PlanReportedToNamnd, RegisterKommun, RepealStyrdokument, ReportUppdragStatus,
    RevokeAccess, StyrdokumentAdopted, StyrdokumentRepealed, UnitEstablished,
    UppdragStatusReported,
};
use std::collections::BTreeSet;

use chrono::Datelike;

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
}

impl KommunState {
    /// Decides a command: the events to record, or why not.
    ///
    /// One arm per command kind, each handing over to the command's own
    /// function (`decide_adopt_namndplan`, `decide_budget`,
    /// `decide_follow_up`, `decide_grant`, …) with the command's fields:
    /// this match is where a newcomer finds which function checks which
    /// command. It runs past 150 lines only because each of the 31 arms
    /// lists its command's fields; no arm holds a check of its own. Moving
    /// each area into a module beside its events' `evolve` is the refactor
    /// of issue 12.
    pub fn decide(&self, provenance: &Provenance, command: &Command) -> Decided {
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
            Command::RegisterKommun(RegisterKommun {
                name,
                kommunkod,
                council,
            }) => self.decide_register_kommun(provenance, name, kommunkod, council),
            Command::EstablishBody(EstablishBody {
                body,
                kind,
                name,
                area,
                parent_company,
            }) => self.decide_establish_body(provenance, body, kind, name, area, parent_company),
            Command::EstablishUnit(EstablishUnit {
                unit,
                name,
                namnd,
                parent,
                level,
            }) => self.decide_establish_unit(provenance, unit, name, namnd, parent, level),
            Command::GrantDelegation(GrantDelegation {
                body,
                point,
                delegate,
                matters,
            }) => {
                if !self.bodies.contains_key(body) {
                    return reject(Rule::Reference, "body", format!("inget organ {body:?}"));
                }
                self.authorize(provenance, Authority::Body(body))?;
                check_text("point", point)?;
                check_text("delegate", delegate)?;
                if matters.is_empty() {
                    return reject(
                        Rule::Input,
                        "matters",
                        "en delegering omfattar minst ett ärendeslag",
                    );
                }
                Ok(vec![Event::DelegationGranted(DelegationGranted {
                    body: body.clone(),
                    point: point.clone(),
                    delegate: delegate.clone(),
                    matters: matters.clone(),
                })])
            }
            Command::AdoptDirection(AdoptDirection {
                id,
                kind,
                title,
                text,
                period,
            }) => self.decide_adopt_direction(provenance, id, kind, title, text, period),
            Command::AdoptStyrdokument(AdoptStyrdokument {
                doc,
                kind,
                title,
                owner,
                valid_from,
                valid_until,
                replaces_version,
            }) => self.decide_adopt_styrdokument(
                provenance,
                doc,
                kind,
                title,
                owner,
                valid_from,
                valid_until,
                replaces_version,
            ),
            Command::RepealStyrdokument(RepealStyrdokument { doc, reason }) => {
                let Some(d) = self.documents.get(doc) else {
                    return reject(
                        Rule::Reference,
                        "doc",
                        format!("inget styrdokument {doc:?}"),
                    );
                };
                self.authorize(provenance, Authority::Body(&d.owner))?;
                check_text("reason", reason)?;
                if d.repealed {
                    return reject(Rule::P6, "doc", format!("{doc:?} är redan upphävt"));
                }
                Ok(vec![Event::StyrdokumentRepealed(StyrdokumentRepealed {
                    doc: doc.clone(),
                    reason: reason.clone(),
                })])
            }
            Command::AdoptBudget(AdoptBudget {
                year,
                stage,
                ramar,
                skattesats,
                economy,
                investments,
                rur,
                goals,
                uppdrag_given,
                uppdrag_changed,
                uppdrag_extended,
                uppdrag_closed,
            }) => self.decide_budget(
                provenance,
                &crate::budget::BudgetDecision {
                    year: *year,
                    stage: *stage,
                    ramar,
                    goals,
                    uppdrag: crate::budget::UppdragDecisions {
                        given: uppdrag_given,
                        changed: uppdrag_changed,
                        extended: uppdrag_extended,
                        closed: uppdrag_closed,
                    },
                    parts: crate::budget::BudgetParts {
                        skattesats: *skattesats,
                        economy,
                        investments,
                        rur,
                    },
                },
            ),
            Command::AmendBudget(AmendBudget {
                year,
                change,
                ramar,
                skattesats,
                economy,
                investments,
                rur,
            }) => self.decide_amend_budget(
                provenance,
                *year,
                *change,
                ramar,
                &crate::budget::BudgetParts {
                    skattesats: *skattesats,
                    economy,
                    investments,
                    rur,
                },
            ),
            Command::AdoptNamndplan(AdoptNamndplan {
                body,
                year,
                grunduppdrag,
                goals,
                revises,
            }) => self.decide_adopt_namndplan(provenance, body, year, grunduppdrag, goals, revises),
            Command::AdoptDetaljbudget(AdoptDetaljbudget { body, year, lines }) => {
                self.decide_adopt_detaljbudget(provenance, body, year, lines)
            }
            Command::ReportUppdragStatus(ReportUppdragStatus {
                uppdrag,
                body,
                as_of,
                status,
                reason,
                comment,
            }) => self.decide_report_uppdrag_status(
                provenance, uppdrag, body, as_of, status, reason, comment,
            ),
            Command::AdoptPlan(AdoptPlan {
                plan,
                kind,
                body,
                unit,
                year,
                activities,
            }) => self.decide_plan(provenance, plan, *kind, body, unit, *year, activities),
            Command::RecordOutcome(_)
            | Command::ImportOutcomes(_)
            | Command::ReportDeviation(_)
            | Command::RecordDeviationAction(_)
            | Command::EscalateDeviation(_)
            | Command::CloseDeviation(_)
            | Command::AdoptFollowUpReport(_)
            | Command::AdoptInternalControlPlan(_)
            | Command::ReportControlResult(_)
            | Command::RecordFindingAction(_)
            | Command::CloseFinding(_)
            | Command::ReportInternalControlTertial(_)
            | Command::RecordReview(_)
            | Command::ReplyToReview(_) => self.decide_follow_up(provenance, command),
            Command::NotePlanReported(NotePlanReported { plan, version }) => {
                self.decide_note_plan_reported(provenance, plan, version)
            }
            Command::GrantAccess(GrantAccess { identity, access }) => {
                self.decide_grant(identity, access, true)
            }
            Command::RevokeAccess(RevokeAccess { identity, access }) => {
                self.decide_grant(identity, access, false)
            }
            Command::CorrectDecision(CorrectDecision {
                corrects,
                reason,
                corrections,
            }) => self.decide_correct_decision(provenance, corrects, reason, corrections),
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

    /// `unit` exists and belongs to the nämnd `body`.
    fn unit_of(&self, field: &str, unit: &str, body: &str) -> Result<(), Rejection> {
        match self.units.get(unit) {
            Some(u) if u.namnd == body => Ok(()),
            Some(u) => reject(
                Rule::Reference,
                field,
                format!("enheten {unit:?} hör till {:?}", u.namnd),
            ),
            None => reject(Rule::Reference, field, format!("ingen enhet {unit:?}")),
        }
    }

    pub(crate) fn operating_body(&self, field: &str, body: &str) -> Result<(), Rejection> {
        match self.bodies.get(body) {
            Some(b) if b.kind.is_operating() => Ok(()),
            Some(b) => reject(
                Rule::Reference,
                field,
                format!(
                    "{body:?} är {}, inte en nämnd, KS eller ett bolag",
                    b.kind.swedish()
                ),
            ),
            None => reject(Rule::Reference, field, format!("inget organ {body:?}")),
        }
    }

    /// P7: provenance complete and its dates in order.
    fn check_provenance(&self, p: &Provenance) -> Result<(), Rejection> {
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
                        if self.units.get(acting).is_some_and(|u| u.namnd == b) && self.unit_within(unit, acting))
            }
            Authority::Organisation(b, m) => {
                by_body(b)
                    || by_delegate(b, m)
                    || matches!(&p.decided_by, DecidedBy::Official { unit, .. }
                        if self.units.get(unit).is_some_and(|u| u.namnd == b))
            }
        };
        if ok {
            return Ok(());
        }
        let who = match needed {
            Authority::Council => "kommunfullmäktige vid ett sammanträde".to_owned(),
            Authority::Body(b) => format!("{b:?} vid ett sammanträde"),
            Authority::BodyOrDelegate(b, m) => {
                format!("{b:?} vid ett sammanträde, eller en delegat enligt en punkt i dess delegationsordning som omfattar {m:?}")
            }
            Authority::Forvaltning(b, u, m) => format!(
                "{b:?}, en av dess delegater för {m:?}, eller en tjänsteperson vid enheten {u:?} eller en enhet ovanför den"
            ),
            Authority::Organisation(b, m) => format!(
                "{b:?}, en av dess delegater för {m:?}, eller en tjänsteperson vid någon av dess enheter"
            ),
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

    #[allow(clippy::too_many_arguments)]
    fn decide_plan(
        &self,
        provenance: &Provenance,
        plan: &str,
        kind: PlanKind,
        body: &str,
        unit: &str,
        year: i32,
        activities: &[Activity],
    ) -> Decided {
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
        let mut costs: std::collections::BTreeMap<&str, Tkr> = Default::default();
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
                            Rule::Reference,
                            format!("activities[{i}].namndmal[{j}]"),
                            format!("inget nämndmål {m:?}"),
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
            let au = a.unit.as_deref().unwrap_or(unit);
            if !self.unit_within(au, unit) {
                return reject(
                    Rule::Reference,
                    f("unit"),
                    format!("enheten {au:?} är varken {unit:?} eller en enhet under den"),
                );
            }
            if let Some(c) = a.cost {
                if c < 0 {
                    return reject(Rule::Input, f("cost"), "får inte vara negativt");
                }
                *costs.entry(au).or_default() += c;
            }
        }
        // P4: what the plan commits fits what remains of each unit's line.
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
            let remaining = line - self.committed(au, year, Some(plan));
            if total > remaining {
                return reject(
                    Rule::P4,
                    format!("activities[{i}].cost"),
                    format!("planen tar {total} tkr av enheten {au:?} i anspråk; {remaining} tkr återstår av dess {line} tkr"),
                );
            }
        }
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
}

fn same_decider(a: &DecidedBy, b: &DecidedBy) -> bool {
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
    /// `register_kommun`: see [`Command::RegisterKommun`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_register_kommun(
        &self,
        provenance: &Provenance,
        name: &String,
        kommunkod: &String,
        council: &String,
    ) -> Decided {
        if self.kommun.is_some() {
            return reject(Rule::P6, "command", "kommunen är redan registrerad");
        }
        check_text("name", name)?;
        if kommunkod.len() != 4 || !kommunkod.bytes().all(|b| b.is_ascii_digit()) {
            return reject(
                Rule::Input,
                "kommunkod",
                "ska vara fyra siffror, t.ex. 0884",
            );
        }
        check_id("council", council)?;
        match &provenance.decided_by {
            DecidedBy::Body { body, .. } if body == council => {}
            _ => {
                return reject(
                    Rule::P1,
                    "provenance.decided_by",
                    format!(
                        "kommunen registreras av sitt fullmäktige {council:?} vid ett sammanträde"
                    ),
                )
            }
        }
        Ok(vec![
            Event::KommunRegistered(KommunRegistered {
                name: name.clone(),
                kommunkod: kommunkod.clone(),
                council: council.clone(),
            }),
            Event::BodyEstablished(BodyEstablished {
                body: council.clone(),
                kind: BodyKind::Council,
                name: "Kommunfullmäktige".into(),
                area: "Kommunens högsta beslutande organ".into(),
                parent_company: None,
            }),
        ])
    }

    /// `establish_body`: see [`Command::EstablishBody`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_establish_body(
        &self,
        provenance: &Provenance,
        body: &String,
        kind: &BodyKind,
        name: &String,
        area: &String,
        parent_company: &Option<String>,
    ) -> Decided {
        self.authorize(provenance, Authority::Council)?;
        check_id("body", body)?;
        check_text("name", name)?;
        check_text("area", area)?;
        if self.bodies.contains_key(body) {
            return reject(Rule::P6, "body", format!("organet {body:?} finns redan"));
        }
        if *kind == BodyKind::Council {
            return reject(
                Rule::Input,
                "kind",
                "kommunen har ett enda fullmäktige, som registreras tillsammans med kommunen",
            );
        }
        match (kind, parent_company) {
            (BodyKind::Company, Some(parent)) => match self.bodies.get(parent) {
                Some(b) if b.kind == BodyKind::ParentCompany => {}
                _ => {
                    return reject(
                        Rule::Reference,
                        "parent_company",
                        format!("{parent:?} är inget inrättat moderbolag"),
                    )
                }
            },
            (_, Some(_)) => {
                return reject(
                    Rule::Input,
                    "parent_company",
                    "bara ett bolag har ett moderbolag",
                )
            }
            _ => {}
        }
        Ok(vec![Event::BodyEstablished(BodyEstablished {
            body: body.clone(),
            kind: *kind,
            name: name.clone(),
            area: area.clone(),
            parent_company: parent_company.clone(),
        })])
    }

    /// `establish_unit`: see [`Command::EstablishUnit`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_establish_unit(
        &self,
        provenance: &Provenance,
        unit: &String,
        name: &String,
        namnd: &String,
        parent: &Option<String>,
        level: &UnitLevel,
    ) -> Decided {
        self.operating_body("namnd", namnd)?;
        self.authorize(
            provenance,
            Authority::BodyOrDelegate(namnd, Matter::Organisation),
        )?;
        check_id("unit", unit)?;
        check_text("name", name)?;
        if self.units.contains_key(unit) {
            return reject(Rule::P6, "unit", format!("enheten {unit:?} finns redan"));
        }
        if let Some(p) = parent {
            let Some(pu) = self.units.get(p) else {
                return reject(Rule::Reference, "parent", format!("ingen enhet {p:?}"));
            };
            if pu.namnd != *namnd {
                return reject(
                    Rule::Reference,
                    "parent",
                    format!("enheten {p:?} hör till {:?}, inte {namnd:?}", pu.namnd),
                );
            }
            if pu.depth >= MAX_UNIT_DEPTH {
                return reject(
                    Rule::Consistency,
                    "parent",
                    format!("ett enhetsträd har högst {MAX_UNIT_DEPTH} nivåer"),
                );
            }
        }
        Ok(vec![Event::UnitEstablished(UnitEstablished {
            unit: unit.clone(),
            name: name.clone(),
            namnd: namnd.clone(),
            parent: parent.clone(),
            level: *level,
        })])
    }

    /// `adopt_direction`: see [`Command::AdoptDirection`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_adopt_direction(
        &self,
        provenance: &Provenance,
        id: &String,
        kind: &DirectionKind,
        title: &String,
        text: &String,
        period: &Option<MandatePeriod>,
    ) -> Decided {
        self.authorize(provenance, Authority::Council)?;
        check_id("id", id)?;
        check_text("title", title)?;
        check_text("text", text)?;
        if self.directions.contains_key(id) {
            return reject(
                Rule::P6,
                "id",
                format!("{id:?} är redan antagen; anta en ny"),
            );
        }
        match (kind, period) {
            (DirectionKind::StrategiskPlan, None) => {
                return reject(
                    Rule::Input,
                    "period",
                    "en strategisk plan omfattar en mandatperiod",
                )
            }
            (_, Some(p)) if p.to_year - p.from_year != 3 => {
                return reject(Rule::Consistency, "period", "en mandatperiod är fyra år")
            }
            _ => {}
        }
        Ok(vec![Event::DirectionAdopted(DirectionAdopted {
            id: id.clone(),
            kind: *kind,
            title: title.clone(),
            text: text.clone(),
            period: *period,
        })])
    }

    /// `adopt_styrdokument`: see [`Command::AdoptStyrdokument`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_adopt_styrdokument(
        &self,
        provenance: &Provenance,
        doc: &String,
        kind: &DocumentKind,
        title: &String,
        owner: &String,
        valid_from: &chrono::NaiveDate,
        valid_until: &Option<chrono::NaiveDate>,
        replaces_version: &Option<u32>,
    ) -> Decided {
        check_id("doc", doc)?;
        check_text("title", title)?;
        if !self.bodies.contains_key(owner) {
            return reject(Rule::Reference, "owner", format!("inget organ {owner:?}"));
        }
        if kind.council_only() && Some(owner) != self.council() {
            return reject(
                Rule::P1,
                "owner",
                format!("{} ägs och antas av kommunfullmäktige", kind.swedish()),
            );
        }
        self.authorize(provenance, Authority::Body(owner))?;
        if valid_until.is_some_and(|u| u < *valid_from) {
            return reject(
                Rule::Consistency,
                "valid_until",
                "slutar gälla innan det börjar gälla",
            );
        }
        let version = match (self.documents.get(doc), replaces_version) {
            (None, None) => 1,
            (None, Some(_)) => {
                return reject(
                    Rule::Reference,
                    "replaces_version",
                    format!("inget styrdokument {doc:?}"),
                )
            }
            (Some(_), None) => {
                return reject(
                    Rule::P6,
                    "replaces_version",
                    format!("{doc:?} finns redan: en revidering anger vilken version den ersätter"),
                )
            }
            (Some(d), Some(v)) => {
                if d.repealed {
                    return reject(Rule::P6, "doc", format!("{doc:?} är upphävt"));
                }
                if *v != d.version {
                    return reject(
                        Rule::P6,
                        "replaces_version",
                        format!("gällande version är {}, inte {v}", d.version),
                    );
                }
                if d.kind != *kind {
                    return reject(
                        Rule::Input,
                        "kind",
                        "en revidering behåller styrdokumentets typ",
                    );
                }
                v + 1
            }
        };
        Ok(vec![Event::StyrdokumentAdopted(StyrdokumentAdopted {
            doc: doc.clone(),
            version,
            kind: *kind,
            title: title.clone(),
            owner: owner.clone(),
            valid_from: *valid_from,
            valid_until: *valid_until,
            replaces_version: *replaces_version,
        })])
    }

    /// `adopt_namndplan`: see [`Command::AdoptNamndplan`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_adopt_namndplan(
        &self,
        provenance: &Provenance,
        body: &String,
        year: &i32,
        grunduppdrag: &String,
        goals: &Vec<crate::command::NamndmalInput>,
        revises: &bool,
    ) -> Decided {
        self.operating_body("body", body)?;
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
            if (self.namndmal.contains_key(&g.id) && !own) || !seen.insert(g.id.as_str()) {
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
                    None => {
                        return reject(
                            Rule::Reference,
                            format!("goals[{i}].kf_goals[{j}]"),
                            format!("inget KF-mål {kg:?}"),
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
                    Some(_) => {}
                }
            }
            check_indicators(&f("indicators"), &g.indicators, *year, *year)?;
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
                goal: g.clone(),
            })
        }));
        Ok(events)
    }

    /// `adopt_detaljbudget`: see [`Command::AdoptDetaljbudget`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_adopt_detaljbudget(
        &self,
        provenance: &Provenance,
        body: &String,
        year: &i32,
        lines: &Vec<crate::command::BudgetLine>,
    ) -> Decided {
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
            let committed = self.committed(&l.unit, *year, None);
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
            lines: lines.clone(),
        })])
    }

    /// `report_uppdrag_status`: see [`Command::ReportUppdragStatus`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_report_uppdrag_status(
        &self,
        provenance: &Provenance,
        uppdrag: &String,
        body: &String,
        as_of: &chrono::NaiveDate,
        status: &UppdragStatus,
        reason: &Option<String>,
        comment: &Option<String>,
    ) -> Decided {
        let Some(u) = self.uppdrag.get(uppdrag) else {
            return reject(
                Rule::Reference,
                "uppdrag",
                format!("inget uppdrag {uppdrag:?}"),
            );
        };
        if !u.to.contains(body) {
            return reject(
                Rule::P1,
                "body",
                format!(
                    "uppdraget {uppdrag:?} är givet till {:?}, inte {body:?}",
                    u.to
                ),
            );
        }
        self.authorize(
            provenance,
            Authority::BodyOrDelegate(body, Matter::UppdragReport),
        )?;
        if u.closed {
            return reject(
                Rule::P2,
                "uppdrag",
                format!("uppdraget {uppdrag:?} är avslutat"),
            );
        }
        if *status == UppdragStatus::Delayed
            && reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return reject(
                Rule::Input,
                "reason",
                "ett försenat uppdrag behöver en orsak",
            );
        }
        if as_of.year() < u.given - 1 {
            return reject(Rule::Consistency, "as_of", "innan uppdraget gavs");
        }
        Ok(vec![Event::UppdragStatusReported(UppdragStatusReported {
            uppdrag: uppdrag.clone(),
            body: body.clone(),
            as_of: *as_of,
            status: *status,
            reason: reason.clone(),
            comment: comment.clone(),
        })])
    }

    /// `note_plan_reported`: see [`Command::NotePlanReported`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_note_plan_reported(
        &self,
        provenance: &Provenance,
        plan: &String,
        version: &u32,
    ) -> Decided {
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

    /// `correct_decision`: see [`Command::CorrectDecision`].
    #[allow(clippy::ptr_arg, clippy::too_many_arguments)]
    fn decide_correct_decision(
        &self,
        provenance: &Provenance,
        corrects: &uuid::Uuid,
        reason: &String,
        corrections: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Decided {
        let Some(original) = self.decisions.get(corrects) else {
            return reject(
                Rule::Reference,
                "corrects",
                format!("ingen registrerad händelse {corrects}"),
            );
        };
        if !same_decider(original, &provenance.decided_by) {
            return reject(
                Rule::P1,
                "provenance.decided_by",
                "en rättelse görs av den som fattade beslutet som rättas",
            );
        }
        check_text("reason", reason)?;
        if corrections.is_empty() {
            return reject(Rule::Input, "corrections", "ange minst ett rättat fält");
        }
        Ok(vec![Event::DecisionCorrected(DecisionCorrected {
            corrects: *corrects,
            reason: reason.clone(),
            corrections: corrections.clone(),
        })])
    }
}
