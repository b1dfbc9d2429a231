//! The fold: one recorded event into the read models, as key writes.

use std::collections::BTreeSet;
use styr_domain::{
    AccessGranted, AccessRevoked, AtgardsplanAdopted, BalanskravReported, BodyEstablished,
    BudgetAdopted, BudgetEstablished, CheckpointSigned, ControlResultReported, DecisionCorrected,
    DelegationGranted, DetaljbudgetAdopted, DeviationActionRecorded, DeviationClosed,
    DeviationEscalated, DeviationReported, DirectionAdopted, EconomicPlanSet,
    FindingActionRecorded, FindingClosed, FollowUpReportAdopted, GoalAssessedInReport,
    InternalControlPlanAdopted, InternalControlTertialReported, InvestmentBudgeted,
    InvestmentFollowedUp, KfGoalAdopted, KommunRegistered, NamndmalAdopted, NamndplanAdopted,
    OutcomesRecorded, PlanAdopted, PlanReportedToNamnd, RamSet, ReviewRecorded, ReviewReplied,
    RurPlanned, SigningKeyPublished, SkattesatsSet, StyrdokumentAdopted, StyrdokumentRepealed,
    UnitEstablished, UppdragChanged, UppdragClosed, UppdragExtended, UppdragGiven,
    UppdragStatusInReport, UppdragStatusReported,
};

use serde::de::DeserializeOwned;
use serde::Serialize;
use styr_domain::*;
use styr_store::StoredEvent;

use crate::docs::*;
use crate::kv::{KvRead, Overlay};
use crate::ProjectionError;

pub(crate) fn view_key(kommun: &str, path: &str) -> String {
    format!("v/{kommun}/{path}")
}

pub(crate) fn history_prefix(kommun: &str, path: &str) -> String {
    format!("h/{kommun}/{path}/")
}

fn read<T: DeserializeOwned>(kv: &impl KvRead, key: &str) -> Result<Option<T>, ProjectionError> {
    match kv.get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

struct Ctx<'o, 'a, R: KvRead + ?Sized> {
    kv: &'o mut Overlay<'a, R>,
    kommun: String,
    source: Source,
    touched: BTreeSet<String>,
}

impl<R: KvRead + ?Sized> Ctx<'_, '_, R> {
    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ProjectionError> {
        read(&*self.kv, &view_key(&self.kommun, path))
    }

    fn put<T: Serialize>(&mut self, path: &str, doc: &T) -> Result<(), ProjectionError> {
        self.touched.insert(path.to_owned());
        let bytes = serde_json::to_vec(doc)?;
        self.kv.put(view_key(&self.kommun, path), bytes);
        Ok(())
    }

    /// Writes a document that is not an entity of its own (its entity's
    /// history is noted separately).
    fn put_part<T: Serialize>(&mut self, path: &str, doc: &T) -> Result<(), ProjectionError> {
        let bytes = serde_json::to_vec(doc)?;
        self.kv.put(view_key(&self.kommun, path), bytes);
        Ok(())
    }

    /// Read-modify-write of an existing document; a missing one is left alone
    /// (the domain never lets an event name what does not exist).
    fn update<T: DeserializeOwned + Serialize>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut T),
    ) -> Result<(), ProjectionError> {
        if let Some(mut doc) = self.get::<T>(path)? {
            f(&mut doc);
            self.put(path, &doc)?;
        }
        Ok(())
    }

    fn touch(&mut self, path: String) {
        self.touched.insert(path);
    }
}

/// Sets one part of the budget for `budget_year` (`set` gets the document
/// and the deciding source) and records the change — (part, object, value in
/// words) — in its `part_changes`.
fn set_budget_part<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    budget_year: i32,
    (part, object, value): (&str, String, String),
    change: BudgetChange,
    source: Source,
    set: impl FnOnce(&mut BudgetDoc, Source),
) -> Result<(), ProjectionError> {
    cx.update(&format!("budget/{budget_year}"), |b: &mut BudgetDoc| {
        b.part_changes.push(PartChange {
            part: part.to_owned(),
            object,
            value,
            change,
            source: source.clone(),
        });
        set(b, source);
    })
}

/// A grant or revocation into the identity's `access/<identity>` document.
fn apply_grant<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    identity: String,
    access: Access,
    granted: bool,
    source: Source,
) -> Result<(), ProjectionError> {
    let path = format!("access/{identity}");
    let mut doc = cx.get::<AccessDoc>(&path)?.unwrap_or(AccessDoc {
        identity,
        access: Vec::new(),
        changes: Vec::new(),
    });
    doc.access.retain(|a| *a != access);
    if granted {
        doc.access.push(access.clone());
        doc.access.sort();
    }
    doc.changes.push(AccessChange {
        granted,
        access,
        source,
    });
    cx.put(&path, &doc)
}

/// Intrång: a message in the kommun's stream that Styrkedja did not write
/// (see `styr_store::ChainState`), as the projections record it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct IntrusionDoc {
    pub sequence: u64,
    pub reason: String,
    pub event_id: Option<uuid::Uuid>,
    pub hash: String,
}

/// Records a foreign message as an intrusion document (`intrusion/<seq>`),
/// listed by the `intrusion` register. It is never folded into any view.
pub fn apply_foreign<R: KvRead + ?Sized>(
    kv: &mut Overlay<'_, R>,
    kommun: &styr_store::KommunId,
    foreign: &styr_store::ForeignMessage,
) -> Result<(), ProjectionError> {
    let doc = IntrusionDoc {
        sequence: foreign.sequence,
        reason: foreign.reason.clone(),
        event_id: foreign.event_id,
        hash: foreign.hash.to_hex(),
    };
    kv.put(
        view_key(
            kommun.as_str(),
            &format!("intrusion/{:020}", foreign.sequence),
        ),
        serde_json::to_vec(&doc)?,
    );
    Ok(())
}

/// Applies one stored event: its documents, the history of every entity it
/// touched, and the record of what it touched (for a later rättelse).
pub fn apply<R: KvRead + ?Sized>(
    kv: &mut Overlay<'_, R>,
    stored: &StoredEvent,
    event: &Event,
) -> Result<(), ProjectionError> {
    let env = &stored.envelope;
    let kommun = env.kommun.to_string();
    let source = Source {
        sequence: stored.sequence,
        event_id: env.event_id,
        decided_by: env.provenance.decided_by.clone(),
        decided: env.provenance.decided_by.to_string(),
        effective_date: env.provenance.effective_date,
    };
    let mut cx = Ctx {
        kv,
        kommun: kommun.clone(),
        source: source.clone(),
        touched: BTreeSet::new(),
    };
    fold(&mut cx, event)?;
    let mut corrects = None;
    if let Event::DecisionCorrected(DecisionCorrected { corrects: id, .. }) = event {
        corrects = Some(*id);
        let earlier: Vec<String> = cx.get(&format!("event/{id}"))?.unwrap_or_default();
        for path in earlier {
            cx.touch(path);
        }
    }
    let touched: Vec<String> = cx.touched.iter().cloned().collect();
    let entry = HistoryEntry {
        sequence: stored.sequence,
        event_id: env.event_id,
        event_type: env.event_type.clone(),
        provenance: env.provenance.clone(),
        recorded_at: env.recorded_at,
        recorded_by: env.recorded_by.clone(),
        idempotency_key: env.idempotency_key.clone(),
        hash: stored.hash.to_hex(),
        corrects,
    };
    let bytes = serde_json::to_vec(&entry)?;
    for path in &touched {
        kv.put(
            format!("{}{:020}", history_prefix(&kommun, path), stored.sequence),
            bytes.clone(),
        );
    }
    kv.put(
        view_key(&kommun, &format!("event/{}", env.event_id)),
        serde_json::to_vec(&touched)?,
    );
    Ok(())
}

/// One event into its documents, handed to the fold of its area.
fn fold<R: KvRead + ?Sized>(cx: &mut Ctx<'_, '_, R>, event: &Event) -> Result<(), ProjectionError> {
    let src = cx.source.clone();
    match event.clone() {
        e @ (Event::KommunRegistered(_)
        | Event::BodyEstablished(_)
        | Event::UnitEstablished(_)
        | Event::DelegationGranted(_)
        | Event::DirectionAdopted(_)
        | Event::StyrdokumentAdopted(_)
        | Event::StyrdokumentRepealed(_)
        | Event::DecisionCorrected(_)
        | Event::AccessGranted(_)
        | Event::AccessRevoked(_)
        | Event::SigningKeyPublished(_)
        | Event::CheckpointSigned(_)) => fold_organisation(cx, src, e),
        e @ (Event::BudgetAdopted(_)
        | Event::BudgetEstablished(_)
        | Event::SkattesatsSet(_)
        | Event::EconomicPlanSet(_)
        | Event::RurPlanned(_)
        | Event::RamSet(_)) => fold_budget(cx, src, e),
        e @ (Event::InvestmentBudgeted(_)
        | Event::InvestmentFollowedUp(_)
        | Event::BalanskravReported(_)) => fold_investments(cx, src, e),
        e @ (Event::KfGoalAdopted(_)
        | Event::UppdragGiven(_)
        | Event::UppdragChanged(_)
        | Event::UppdragExtended(_)
        | Event::UppdragClosed(_)
        | Event::UppdragStatusReported(_)) => fold_goals_and_uppdrag(cx, src, e),
        e @ (Event::NamndplanAdopted(_)
        | Event::NamndmalAdopted(_)
        | Event::DetaljbudgetAdopted(_)
        | Event::PlanAdopted(_)
        | Event::PlanReportedToNamnd(_)) => fold_plans(cx, src, e),
        e @ (Event::OutcomesRecorded(_)
        | Event::DeviationReported(_)
        | Event::DeviationActionRecorded(_)
        | Event::DeviationEscalated(_)
        | Event::DeviationClosed(_)
        | Event::FollowUpReportAdopted(_)
        | Event::AtgardsplanAdopted(_)
        | Event::UppdragStatusInReport(_)
        | Event::GoalAssessedInReport(_)) => fold_follow_up(cx, src, e),
        e @ (Event::InternalControlPlanAdopted(_)
        | Event::ControlResultReported(_)
        | Event::FindingActionRecorded(_)
        | Event::FindingClosed(_)
        | Event::InternalControlTertialReported(_)
        | Event::ReviewRecorded(_)
        | Event::ReviewReplied(_)) => fold_internal_control(cx, src, e),
    }
}

/// The fold of the organisation, direction and styrdokument, access, keys and checkpoints; every other event belongs to another area.
fn fold_organisation<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::KommunRegistered(KommunRegistered {
            name,
            kommunkod,
            council,
        }) => cx.put(
            "kommun",
            &KommunDoc {
                name,
                kommunkod,
                council,
            },
        )?,
        Event::BodyEstablished(BodyEstablished {
            body,
            kind,
            name,
            area,
            parent_company,
        }) => cx.put(
            &format!("body/{body}"),
            &BodyDoc {
                id: body.clone(),
                kind,
                name,
                area,
                parent_company,
                delegations: Default::default(),
            },
        )?,
        Event::UnitEstablished(UnitEstablished {
            unit,
            name,
            namnd,
            parent,
            level,
        }) => {
            cx.touch(format!("body/{namnd}"));
            cx.put(
                &format!("unit/{unit}"),
                &UnitDoc {
                    id: unit.clone(),
                    name,
                    namnd,
                    parent,
                    level,
                },
            )?
        }
        Event::DelegationGranted(DelegationGranted {
            body,
            point,
            delegate,
            matters,
        }) => cx.update(&format!("body/{body}"), |b: &mut BodyDoc| {
            b.delegations.insert(point, (delegate, matters));
        })?,
        Event::DirectionAdopted(DirectionAdopted {
            id,
            kind,
            title,
            text,
            period,
        }) => cx.put(
            &format!("direction/{id}"),
            &DirectionDoc {
                id: id.clone(),
                kind,
                title,
                text,
                period,
                source: src,
            },
        )?,
        Event::StyrdokumentAdopted(StyrdokumentAdopted {
            doc,
            version,
            kind,
            title,
            owner,
            valid_from,
            valid_until,
            ..
        }) => {
            let path = format!("document/{doc}");
            let mut d: DocumentDoc = cx.get(&path)?.unwrap_or(DocumentDoc {
                id: doc.clone(),
                kind,
                owner: owner.clone(),
                versions: Vec::new(),
                repealed: None,
            });
            d.versions.push(DocumentVersion {
                version,
                title,
                valid_from,
                valid_until,
                source: src,
            });
            cx.put(&path, &d)?
        }
        Event::StyrdokumentRepealed(StyrdokumentRepealed { doc, reason }) => {
            cx.update(&format!("document/{doc}"), |d: &mut DocumentDoc| {
                d.repealed = Some(Statement {
                    text: reason,
                    source: src,
                })
            })?
        }
        Event::DecisionCorrected(_) => {}
        Event::AccessGranted(AccessGranted { identity, access }) => {
            apply_grant(cx, identity, access, true, src)?
        }
        Event::AccessRevoked(AccessRevoked { identity, access }) => {
            apply_grant(cx, identity, access, false, src)?
        }
        Event::SigningKeyPublished(SigningKeyPublished {
            key_id,
            public_key,
            replaces,
            ..
        }) => cx.put(
            &format!("key/{key_id}"),
            &SigningKeyDoc {
                key_id: key_id.clone(),
                public_key,
                replaces,
                source: src,
            },
        )?,
        Event::CheckpointSigned(CheckpointSigned {
            sequence,
            head_hash,
            signed_at,
            key_id,
            ..
        }) => cx.put(
            &format!("checkpoint/{sequence:020}"),
            &CheckpointDoc {
                sequence,
                head_hash,
                signed_at,
                key_id,
                recorded_at: src.sequence,
            },
        )?,
        _ => {}
    }
    Ok(())
}

/// The fold of the budget: its steps, skattesats, plan för ekonomin and RUR; every other event belongs to another area.
fn fold_budget<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::BudgetAdopted(BudgetAdopted { year, plan_years }) => cx.put(
            &format!("budget/{year}"),
            &BudgetDoc {
                year,
                plan_years,
                source: src,
                ramar: Default::default(),
                changes: Vec::new(),
                established: None,
                skattesats: None,
                economy: None,
                investments: Default::default(),
                rur: Default::default(),
                part_changes: Vec::new(),
            },
        )?,
        Event::BudgetEstablished(BudgetEstablished { year }) => cx
            .update(&format!("budget/{year}"), |b: &mut BudgetDoc| {
                b.established = Some(src)
            })?,
        Event::SkattesatsSet(SkattesatsSet {
            budget_year,
            skattesats,
            change,
        }) => set_budget_part(
            cx,
            budget_year,
            (
                "skattesats",
                budget_year.to_string(),
                format!("{skattesats} kr per skattekrona"),
            ),
            change,
            src,
            |b, source| {
                b.skattesats = Some(Figure {
                    value: skattesats,
                    change,
                    source,
                })
            },
        )?,
        Event::EconomicPlanSet(EconomicPlanSet {
            budget_year,
            change,
            years,
        }) => set_budget_part(
            cx,
            budget_year,
            (
                "plan för ekonomin",
                format!("{budget_year}–{}", budget_year + 2),
                years
                    .iter()
                    .map(|y| format!("resultat {} {}", y.year, y.resultat.resultat))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            change,
            src,
            |b, source| {
                b.economy = Some(Figure {
                    value: years,
                    change,
                    source,
                })
            },
        )?,
        Event::RurPlanned(RurPlanned {
            budget_year,
            change,
            disposition,
        }) => set_budget_part(
            cx,
            budget_year,
            (
                "resultatutjämningsreserv",
                disposition.year.to_string(),
                format!(
                    "reservering {}, disposition {}",
                    disposition.reservation, disposition.disposition
                ),
            ),
            change,
            src,
            |b, source| {
                b.rur.insert(
                    disposition.year,
                    Figure {
                        value: disposition,
                        change,
                        source,
                    },
                );
            },
        )?,
        Event::RamSet(RamSet {
            body,
            year,
            amount,
            change,
            budget_year,
        }) => {
            cx.touch(format!("body/{body}"));
            cx.update(&format!("budget/{budget_year}"), |b: &mut BudgetDoc| {
                b.ramar
                    .entry(body.clone())
                    .or_default()
                    .insert(year, amount);
                b.changes.push(RamEntry {
                    body,
                    year,
                    amount,
                    change,
                    source: src,
                });
            })?
        }
        _ => {}
    }
    Ok(())
}

/// The fold of investments and the balanskrav; every other event belongs to another area.
fn fold_investments<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::InvestmentBudgeted(InvestmentBudgeted {
            budget_year,
            change,
            investment,
        }) => {
            let path = format!("investment/{}", investment.id);
            let mut doc = cx.get::<InvestmentDoc>(&path)?.unwrap_or(InvestmentDoc {
                id: investment.id.clone(),
                investment: investment.clone(),
                budgeted: Vec::new(),
                follow_ups: Vec::new(),
            });
            doc.investment = doc.investment.restated(&investment, budget_year, change);
            doc.budgeted.push(InvestmentBudgetEntry {
                budget_year,
                change,
                years: investment.years.clone(),
                source: src.clone(),
            });
            cx.put(&path, &doc)?;
            cx.touch(format!("body/{}", investment.body));
            let id = investment.id.clone();
            set_budget_part(
                cx,
                budget_year,
                (
                    "investering",
                    id.clone(),
                    investment
                        .years
                        .iter()
                        .map(|y| format!("{} {}", y.year, y.amount))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                change,
                src,
                |b, source| {
                    b.investments.insert(
                        id,
                        Figure {
                            value: investment,
                            change,
                            source,
                        },
                    );
                },
            )?
        }
        Event::InvestmentFollowedUp(InvestmentFollowedUp {
            investment,
            year,
            report,
            outcome,
            forecast,
            ..
        }) => cx.update(
            &format!("investment/{investment}"),
            |d: &mut InvestmentDoc| {
                d.follow_ups.push(InvestmentFollowUpDoc {
                    year,
                    report,
                    outcome,
                    forecast,
                    source: src,
                })
            },
        )?,
        // The report in the same batch applied it; the aggregate's history
        // notes the event.
        Event::BalanskravReported(BalanskravReported {
            year,
            report,
            utredning,
        }) => {
            let path = format!("balanskrav/{year}");
            let mut doc = cx.get::<BalanskravDoc>(&path)?.unwrap_or(BalanskravDoc {
                year,
                reports: Vec::new(),
            });
            doc.reports.push(BalanskravEntry {
                report,
                utredning,
                source: src,
            });
            cx.put(&path, &doc)?
        }
        _ => {}
    }
    Ok(())
}

/// The fold of KF goals and uppdrag; every other event belongs to another area.
fn fold_goals_and_uppdrag<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::KfGoalAdopted(KfGoalAdopted { budget_year, goal }) => {
            cx.touch(format!("budget/{budget_year}"));
            cx.put(
                &format!("goal/{}", goal.id),
                &GoalDoc {
                    id: goal.id.clone(),
                    level: "kf".into(),
                    title: goal.title,
                    body: None,
                    kind: Some(goal.kind),
                    perspective: None,
                    from_year: goal.from_year,
                    to_year: goal.to_year,
                    kf_goals: Vec::new(),
                    indicators: goal.indicators,
                    outcomes: Default::default(),
                    source: src,
                },
            )?
        }
        Event::UppdragGiven(UppdragGiven {
            budget_year,
            uppdrag,
        }) => {
            cx.touch(format!("budget/{budget_year}"));
            cx.put(
                &format!("uppdrag/{}", uppdrag.id),
                &UppdragDoc {
                    id: uppdrag.id.clone(),
                    title: uppdrag.title.clone(),
                    description: uppdrag.description,
                    to: uppdrag.to.clone(),
                    resources: uppdrag.resources,
                    due: uppdrag.due,
                    given_year: budget_year,
                    closed: None,
                    lifecycle: vec![LifecycleEntry {
                        what: "given".into(),
                        budget_year,
                        detail: format!("till {}", uppdrag.to.join(", ")),
                        source: src,
                    }],
                    status: Vec::new(),
                },
            )?
        }
        Event::UppdragChanged(UppdragChanged {
            budget_year,
            id,
            title,
            description,
            to,
            resources,
        }) => {
            cx.touch(format!("budget/{budget_year}"));
            cx.update(&format!("uppdrag/{id}"), |u: &mut UppdragDoc| {
                let mut what = Vec::new();
                if let Some(t) = title {
                    what.push(format!("titel: {t}"));
                    u.title = t;
                }
                if let Some(d) = description {
                    what.push("beskrivning".to_owned());
                    u.description = d;
                }
                if let Some(t) = to {
                    what.push(format!("till: {}", t.join(", ")));
                    u.to = t;
                }
                if let Some(r) = resources {
                    what.push(format!("resurser: {r} tkr"));
                    u.resources = Some(r);
                }
                u.lifecycle.push(LifecycleEntry {
                    what: "changed".into(),
                    budget_year,
                    detail: what.join("; "),
                    source: src,
                });
            })?
        }
        Event::UppdragExtended(UppdragExtended {
            budget_year,
            id,
            due,
        }) => {
            cx.touch(format!("budget/{budget_year}"));
            cx.update(&format!("uppdrag/{id}"), |u: &mut UppdragDoc| {
                u.lifecycle.push(LifecycleEntry {
                    what: "extended".into(),
                    budget_year,
                    detail: format!("från {} till {due}", u.due),
                    source: src,
                });
                u.due = due;
            })?
        }
        Event::UppdragClosed(UppdragClosed {
            budget_year,
            id,
            outcome,
        }) => {
            cx.touch(format!("budget/{budget_year}"));
            cx.update(&format!("uppdrag/{id}"), |u: &mut UppdragDoc| {
                u.lifecycle.push(LifecycleEntry {
                    what: "closed".into(),
                    budget_year,
                    detail: outcome.clone(),
                    source: src,
                });
                u.closed = Some(outcome);
            })?
        }
        Event::UppdragStatusReported(UppdragStatusReported {
            uppdrag,
            body,
            as_of,
            status,
            reason,
            ..
        }) => cx.update(&format!("uppdrag/{uppdrag}"), |u: &mut UppdragDoc| {
            u.status.push(StatusEntry {
                as_of,
                body,
                status,
                reason,
                via: "status_report".into(),
                source: src,
            })
        })?,
        _ => {}
    }
    Ok(())
}

/// The fold of nämndplaner, detaljbudgetar, verksamhets- and enhetsplaner; every other event belongs to another area.
fn fold_plans<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::NamndplanAdopted(NamndplanAdopted {
            body,
            year,
            grunduppdrag,
            goals,
        }) => {
            let path = format!("namndplan/{body}/{year}");
            let mut d: NamndplanDoc = cx.get(&path)?.unwrap_or(NamndplanDoc {
                body,
                year,
                ..Default::default()
            });
            d.grunduppdrag = Some(grunduppdrag);
            d.goals = goals;
            d.sources.push(src);
            cx.put(&path, &d)?
        }
        Event::NamndmalAdopted(NamndmalAdopted { body, year, goal }) => {
            cx.touch(format!("namndplan/{body}/{year}"));
            for kg in &goal.kf_goals {
                cx.touch(format!("goal/{kg}"));
            }
            // A revised nämndmål keeps the outcomes recorded against it:
            // they live under their own keys.
            let outcomes = Default::default();
            cx.put(
                &format!("goal/{}", goal.id),
                &GoalDoc {
                    id: goal.id.clone(),
                    level: "namnd".into(),
                    title: goal.title,
                    body: Some(body),
                    kind: None,
                    perspective: Some(goal.perspective),
                    from_year: year,
                    to_year: year,
                    kf_goals: goal.kf_goals,
                    indicators: goal.indicators,
                    outcomes,
                    source: src,
                },
            )?
        }
        Event::DetaljbudgetAdopted(DetaljbudgetAdopted { body, year, lines }) => {
            let path = format!("namndplan/{body}/{year}");
            let mut d: NamndplanDoc = cx.get(&path)?.unwrap_or(NamndplanDoc {
                body,
                year,
                ..Default::default()
            });
            d.detaljbudget = lines.into_iter().map(|l| (l.unit, l.amount)).collect();
            d.sources.push(src);
            cx.put(&path, &d)?
        }
        Event::PlanAdopted(PlanAdopted {
            plan,
            version,
            kind,
            body,
            unit,
            year,
            activities,
        }) => cx.put(
            &format!("plan/{plan}"),
            &PlanDoc {
                id: plan.clone(),
                kind,
                body,
                unit,
                year,
                version,
                activities,
                reported_version: None,
                source: src,
            },
        )?,
        Event::PlanReportedToNamnd(PlanReportedToNamnd { plan, version, .. }) => cx
            .update(&format!("plan/{plan}"), |p: &mut PlanDoc| {
                p.reported_version = Some(version)
            })?,
        _ => {}
    }
    Ok(())
}

/// The fold of outcomes, deviations and follow-up reports; every other event belongs to another area.
fn fold_follow_up<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::OutcomesRecorded(OutcomesRecorded {
            source,
            fetched_at,
            rows,
        }) => {
            // Each value under its own key: no goal document is read or
            // rewritten, so a busy indicator costs the same per value as a
            // quiet one. The goal's history notes the event.
            for (i, row) in rows.into_iter().enumerate() {
                cx.touch(format!("goal/{}", row.goal));
                let path = format!(
                    "outcome/{}/{}/{:020}-{i:06}",
                    row.goal, row.indicator, src.sequence
                );
                cx.put_part(
                    &path,
                    &OutcomeDoc {
                        goal: row.goal,
                        indicator: row.indicator,
                        period: row.period,
                        value: row.value,
                        source: source.clone(),
                        fetched_at,
                        sequence: src.sequence,
                    },
                )?;
            }
        }
        Event::DeviationReported(DeviationReported {
            deviation,
            unit,
            body,
            from,
            sign,
            amount,
            value,
            analysis,
            noticed,
            reported,
        }) => cx.put(
            &format!("deviation/{deviation}"),
            &DeviationDoc {
                id: deviation.clone(),
                unit,
                body,
                from,
                sign,
                amount,
                value,
                analysis,
                noticed,
                reported,
                actions: Vec::new(),
                escalated: None,
                atgardsplan: None,
                closed: None,
            },
        )?,
        Event::DeviationActionRecorded(DeviationActionRecorded {
            deviation,
            action,
            description,
        }) => cx.update(&format!("deviation/{deviation}"), |d: &mut DeviationDoc| {
            d.actions.push(ActionEntry {
                action,
                description,
                source: src,
            })
        })?,
        Event::DeviationEscalated(DeviationEscalated {
            deviation, reason, ..
        }) => cx.update(&format!("deviation/{deviation}"), |d: &mut DeviationDoc| {
            d.escalated = Some(Statement {
                text: reason,
                source: src,
            })
        })?,
        Event::DeviationClosed(DeviationClosed { deviation, outcome }) => {
            cx.update(&format!("deviation/{deviation}"), |d: &mut DeviationDoc| {
                d.closed = Some(Statement {
                    text: outcome,
                    source: src,
                })
            })?
        }
        Event::FollowUpReportAdopted(FollowUpReportAdopted {
            body,
            year,
            kind,
            through,
            ramar,
            goals,
            uppdrag,
        }) => {
            for g in &goals {
                cx.touch(format!("goal/{}", g.goal));
            }
            for line in &uppdrag {
                let entry = StatusEntry {
                    as_of: through,
                    body: body.clone(),
                    status: line.status,
                    reason: None,
                    via: kind.slug().to_owned(),
                    source: src.clone(),
                };
                cx.update(
                    &format!("uppdrag/{}", line.uppdrag),
                    |u: &mut UppdragDoc| u.status.push(entry),
                )?;
            }
            cx.put(
                &format!("report/{body}/{year}/{}", kind.slug()),
                &ReportDoc {
                    body: body.clone(),
                    year,
                    kind,
                    through,
                    ramar,
                    goals,
                    uppdrag,
                    atgardsplan: None,
                    source: src,
                },
            )?
        }
        Event::AtgardsplanAdopted(AtgardsplanAdopted {
            body,
            year,
            report,
            plan,
        }) => {
            for d in &plan.deviations {
                let id = plan.id.clone();
                cx.update(&format!("deviation/{d}"), |dev: &mut DeviationDoc| {
                    dev.atgardsplan = Some(id)
                })?;
            }
            cx.update(
                &format!("report/{body}/{year}/{}", report.slug()),
                |r: &mut ReportDoc| r.atgardsplan = Some(plan),
            )?
        }
        Event::UppdragStatusInReport(UppdragStatusInReport { uppdrag, .. }) => {
            cx.touch(format!("uppdrag/{uppdrag}"))
        }
        Event::GoalAssessedInReport(GoalAssessedInReport { goal, .. }) => {
            cx.touch(format!("goal/{goal}"))
        }
        _ => {}
    }
    Ok(())
}

/// The fold of intern kontroll and the revisorer's reviews; every other event belongs to another area.
fn fold_internal_control<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    event: Event,
) -> Result<(), ProjectionError> {
    match event {
        Event::InternalControlPlanAdopted(InternalControlPlanAdopted {
            plan,
            body,
            year,
            risks,
            controls,
        }) => cx.put(
            &format!("ic/{plan}"),
            &ControlPlanDoc {
                plan: plan.clone(),
                body,
                year,
                risks,
                controls,
                results: Default::default(),
                tertial_reports: Default::default(),
                source: src,
            },
        )?,
        Event::ControlResultReported(ControlResultReported {
            plan,
            control,
            tertial,
            result,
        }) => {
            if let ControlResult::Finding {
                finding,
                description,
            } = &result
            {
                cx.put(
                    &format!("finding/{finding}"),
                    &FindingDoc {
                        finding: finding.clone(),
                        plan: plan.clone(),
                        control: control.clone(),
                        tertial,
                        description: description.clone(),
                        actions: Vec::new(),
                        closed: None,
                    },
                )?;
            }
            cx.update(&format!("ic/{plan}"), |p: &mut ControlPlanDoc| {
                p.results
                    .entry(control)
                    .or_default()
                    .insert(tertial, result);
            })?
        }
        Event::FindingActionRecorded(FindingActionRecorded {
            finding,
            action,
            description,
            responsible,
            due,
        }) => cx.update(&format!("finding/{finding}"), |f: &mut FindingDoc| {
            f.actions.push(FindingAction {
                action,
                description,
                responsible,
                due,
                source: src,
            })
        })?,
        Event::FindingClosed(FindingClosed { finding, outcome }) => {
            cx.update(&format!("finding/{finding}"), |f: &mut FindingDoc| {
                f.closed = Some(Statement {
                    text: outcome,
                    source: src,
                })
            })?
        }
        Event::InternalControlTertialReported(InternalControlTertialReported {
            plan,
            tertial,
            summary,
            ..
        }) => cx.update(&format!("ic/{plan}"), |p: &mut ControlPlanDoc| {
            p.tertial_reports.insert(tertial, summary);
        })?,
        Event::ReviewRecorded(ReviewRecorded {
            review,
            title,
            year,
            bodies,
            observations,
            recommendations,
            reply_due,
        }) => cx.put(
            &format!("review/{review}"),
            &ReviewDoc {
                review: review.clone(),
                title,
                year,
                bodies,
                observations,
                recommendations,
                reply_due,
                replies: Default::default(),
                source: src,
            },
        )?,
        Event::ReviewReplied(ReviewReplied {
            review,
            body,
            reply,
            responses,
            late,
        }) => cx.update(&format!("review/{review}"), |r: &mut ReviewDoc| {
            r.replies.insert(
                body,
                ReplyDoc {
                    reply,
                    responses,
                    late,
                    source: src,
                },
            );
        })?,
        _ => {}
    }
    Ok(())
}
