//! The fold: one recorded event into the read models, as key writes.

use std::collections::BTreeSet;
use styr_domain::{
    AccessGranted, AccessRevoked, AtgardsplanAdopted, BalanskravBudgeted, BalanskravReported,
    BodyEstablished, BudgetAdopted, BudgetEstablished, CheckpointSigned, ContributionRecorded,
    ControlResultReported, DecisionCorrected, DelegationGranted, DetaljbudgetAdopted,
    DeviationActionRecorded, DeviationClosed, DeviationEscalated, DeviationReported,
    DirectionAdopted, EconomicPlanSet, ElectionRecorded, FindingActionRecorded, FindingClosed,
    FollowUpReportAdopted, GoalAssessedInReport, InternalControlPlanAdopted,
    InternalControlTertialReported, InvestmentBudgeted, InvestmentFollowedUp, KfGoalAdopted,
    KoladaValuesImported, KommunRegistered, MalgruppDefined, NamndmalAdopted, NamndplanAdopted,
    OutcomesRecorded, PlanAdopted, PlanReportedToNamnd, ProcessClosed, ProcessEstablished,
    ProcessGoalAdopted, RamSet, ReviewRecorded, ReviewReplied, RurPlanned, SigningKeyPublished,
    SkattesatsSet, StyrdokumentAdopted, StyrdokumentRepealed, UnitEstablished, UppdragChanged,
    UppdragClosed, UppdragExtended, UppdragGiven, UppdragStatusInReport, UppdragStatusReported,
};

use serde::de::DeserializeOwned;
use serde::Serialize;
use styr_domain::*;
use styr_store::StoredEvent;

use crate::docs::*;
use crate::kv::{KvRead, Overlay};
use crate::ProjectionError;

mod budget;
mod follow_up;
mod goals_and_uppdrag;
mod internal_control;
mod investments;
mod organisation;
mod plans;

pub(crate) fn view_key(kommun: &str, path: &str) -> String {
    format!("v/{kommun}/{path}")
}

pub(crate) fn history_prefix(kommun: &str, path: &str) -> String {
    format!("{}{path}/", histories_prefix(kommun))
}

/// Which documents an event touched, by event id: the fold's own index
/// (a rättelse notes itself in the history of each), not a view. Kept only
/// for the events a rättelse that takes effect names: the fold that first
/// meets such a rättelse folds again with it known (the live projection,
/// an as-of fold), so the record is there when the rättelse is applied.
pub(crate) fn event_index_key(kommun: &str, event_id: impl std::fmt::Display) -> String {
    format!("{}{event_id}", event_indexes_prefix(kommun))
}

pub(crate) fn event_indexes_prefix(kommun: &str) -> String {
    format!("e/{kommun}/")
}

/// Where every audit-history line of the kommun lies.
pub(crate) fn histories_prefix(kommun: &str) -> String {
    format!("h/{kommun}/")
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

    /// Writes an uppdrag's status under its own key — the uppdrag, the
    /// date it speaks of, the event's sequence and its row in the event,
    /// so key order is date order, then recording order — and notes the
    /// event in the uppdrag's history. The uppdrag's document is neither
    /// read nor rewritten, so a long-running uppdrag costs the same per
    /// status as a new one. A status of an uppdrag not projected is left
    /// out (the domain never lets an event name one that does not exist).
    fn put_status(
        &mut self,
        uppdrag: &str,
        row: usize,
        entry: &StatusEntry,
    ) -> Result<(), ProjectionError> {
        let doc = DocKind::Uppdrag.path(uppdrag);
        if self.kv.get(&view_key(&self.kommun, &doc))?.is_none() {
            return Ok(());
        }
        self.touch(doc);
        let path = DocKind::UppdragStatus.path(format_args!(
            "{uppdrag}/{}/{:020}-{row:06}",
            entry.as_of, entry.source.sequence
        ));
        self.put_part(&path, entry)?;
        let count = DocKind::Count.path(DocKind::UppdragStatus.path(uppdrag));
        let before: Option<ListCount> = self.get(&count)?;
        let latest = before
            .and_then(|c| c.latest())
            .map_or(entry.as_of, |d| d.max(entry.as_of));
        let items = before.map_or(0, |c| c.items());
        self.put_part(&count, &ListCount::Dated(items + 1, latest))
    }

    /// One more item in the list at `list` (its count, kept beside it, so
    /// that reading the latest items never walks the whole list).
    fn count_one(&mut self, list: &str) -> Result<(), ProjectionError> {
        let path = DocKind::Count.path(list);
        let n: u64 = self.get(&path)?.unwrap_or(0);
        self.put_part(&path, &(n + 1))
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
    cx.update(&DocKind::Budget.path(budget_year), |b: &mut BudgetDoc| {
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
    let path = DocKind::Access.path(&identity);
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
            &DocKind::Intrusion.path(format_args!("{:020}", foreign.sequence)),
        ),
        serde_json::to_vec(&doc)?,
    );
    Ok(())
}

/// Applies one stored event: its documents, the history of every entity it
/// touched, and — when one of `corrections` names it — the record of what
/// it touched, for the rättelse's own history lines.
pub fn apply<R: KvRead + ?Sized>(
    kv: &mut Overlay<'_, R>,
    stored: &StoredEvent,
    event: &Event,
    corrections: &Corrections,
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
    let mut correction = None;
    if let Event::DecisionCorrected(DecisionCorrected {
        corrects: id,
        reason,
        corrections,
        ground,
        replaced,
    }) = event
    {
        corrects = Some(*id);
        correction = Some(crate::docs::CorrectionNote {
            ground: *ground,
            reason: reason.clone(),
            fields: corrections
                .iter()
                .map(|(field, after)| crate::docs::CorrectedField {
                    field: field.clone(),
                    before: replaced.get(field).cloned(),
                    after: after.clone(),
                })
                .collect(),
        });
        for path in touched_by(&*cx.kv, &cx.kommun, *id, ground.is_none())? {
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
        correction,
    };
    let bytes = serde_json::to_vec(&entry)?;
    for path in &touched {
        kv.put(
            format!("{}{:020}", history_prefix(&kommun, path), stored.sequence),
            bytes.clone(),
        );
    }
    if corrections.names(env.event_id) {
        kv.put(
            event_index_key(&kommun, env.event_id),
            serde_json::to_vec(&touched)?,
        );
    }
    Ok(())
}

/// What the event `id` touched, for a rättelse of it: its record in the
/// event index. A rättelse with a ground found before its event's record
/// was kept is folded again with it known, so none is needed then. An
/// annotation (a rättelse recorded without a ground, before rättelser took
/// effect) changes nothing and folds nothing again: its event's entities
/// are those whose history holds the event, read from the kommun's history
/// lines (rare: only histories from before rättelser took effect have one).
fn touched_by(
    kv: &impl KvRead,
    kommun: &str,
    id: uuid::Uuid,
    annotation: bool,
) -> Result<Vec<String>, ProjectionError> {
    if let Some(paths) = read(kv, &event_index_key(kommun, id))? {
        return Ok(paths);
    }
    if !annotation {
        return Ok(Vec::new());
    }
    let prefix = histories_prefix(kommun);
    let needle = format!("\"event_id\":\"{id}\"");
    let mut paths = Vec::new();
    for (key, line) in kv.scan(&prefix)? {
        if !line.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            continue;
        }
        // `h/<kommun>/<path>/<sequence, 20 digits>`
        let rest = &key[prefix.len()..];
        if let Some(path) = rest.len().checked_sub(21).map(|end| &rest[..end]) {
            paths.push(path.to_owned());
        }
    }
    Ok(paths)
}

/// One event into its documents, handed to the fold of the event in its
/// area's module.
fn fold<R: KvRead + ?Sized>(cx: &mut Ctx<'_, '_, R>, event: &Event) -> Result<(), ProjectionError> {
    let src = cx.source.clone();
    match event {
        Event::KommunRegistered(e) => organisation::kommun_registered(cx, src, e.clone()),
        Event::ElectionRecorded(e) => organisation::election_recorded(cx, src, e.clone()),
        Event::BodyEstablished(e) => organisation::body_established(cx, src, e.clone()),
        Event::UnitEstablished(e) => organisation::unit_established(cx, src, e.clone()),
        Event::DelegationGranted(e) => organisation::delegation_granted(cx, src, e.clone()),
        Event::DirectionAdopted(e) => organisation::direction_adopted(cx, src, e.clone()),
        Event::StyrdokumentAdopted(e) => organisation::styrdokument_adopted(cx, src, e.clone()),
        Event::StyrdokumentRepealed(e) => organisation::styrdokument_repealed(cx, src, e.clone()),
        Event::AccessGranted(e) => organisation::access_granted(cx, src, e.clone()),
        Event::AccessRevoked(e) => organisation::access_revoked(cx, src, e.clone()),
        Event::SigningKeyPublished(e) => organisation::signing_key_published(cx, src, e.clone()),
        Event::CheckpointSigned(e) => organisation::checkpoint_signed(cx, src, e.clone()),
        Event::BudgetAdopted(e) => budget::budget_adopted(cx, src, e.clone()),
        Event::BudgetEstablished(e) => budget::budget_established(cx, src, e.clone()),
        Event::SkattesatsSet(e) => budget::skattesats_set(cx, src, e.clone()),
        Event::EconomicPlanSet(e) => budget::economic_plan_set(cx, src, e.clone()),
        Event::RurPlanned(e) => budget::rur_planned(cx, src, e.clone()),
        Event::RamSet(e) => budget::ram_set(cx, src, e.clone()),
        Event::BalanskravBudgeted(e) => budget::balanskrav_budgeted(cx, src, e.clone()),
        Event::InvestmentBudgeted(e) => investments::investment_budgeted(cx, src, e.clone()),
        Event::InvestmentFollowedUp(e) => investments::investment_followed_up(cx, src, e.clone()),
        Event::BalanskravReported(e) => investments::balanskrav_reported(cx, src, e.clone()),
        Event::KfGoalAdopted(e) => goals_and_uppdrag::kf_goal_adopted(cx, src, e.clone()),
        Event::FollowUpCalendarAdopted(e) => follow_up::calendar_adopted(cx, src, e.clone()),
        Event::MalgruppDefined(e) => goals_and_uppdrag::malgrupp_defined(cx, src, e.clone()),
        Event::ProcessEstablished(e) => goals_and_uppdrag::process_established(cx, src, e.clone()),
        Event::ProcessGoalAdopted(e) => goals_and_uppdrag::process_goal_adopted(cx, src, e.clone()),
        Event::ContributionRecorded(e) => {
            goals_and_uppdrag::contribution_recorded(cx, src, e.clone())
        }
        Event::ProcessClosed(e) => goals_and_uppdrag::process_closed(cx, src, e.clone()),
        Event::UppdragGiven(e) => goals_and_uppdrag::uppdrag_given(cx, src, e.clone()),
        Event::UppdragChanged(e) => goals_and_uppdrag::uppdrag_changed(cx, src, e.clone()),
        Event::UppdragExtended(e) => goals_and_uppdrag::uppdrag_extended(cx, src, e.clone()),
        Event::UppdragClosed(e) => goals_and_uppdrag::uppdrag_closed(cx, src, e.clone()),
        Event::UppdragStatusReported(e) => {
            goals_and_uppdrag::uppdrag_status_reported(cx, src, e.clone())
        }
        Event::NamndplanAdopted(e) => plans::namndplan_adopted(cx, src, e.clone()),
        Event::NamndmalAdopted(e) => plans::namndmal_adopted(cx, src, e.clone()),
        Event::DetaljbudgetAdopted(e) => plans::detaljbudget_adopted(cx, src, e.clone()),
        Event::PlanAdopted(e) => plans::plan_adopted(cx, src, e.clone()),
        Event::PlanReportedToNamnd(e) => plans::plan_reported_to_namnd(cx, src, e.clone()),
        Event::OutcomesRecorded(e) => follow_up::outcomes_recorded(cx, src, e.clone()),
        Event::KoladaValuesImported(e) => follow_up::kolada_values_imported(cx, src, e.clone()),
        Event::DeviationReported(e) => follow_up::deviation_reported(cx, src, e.clone()),
        Event::DeviationActionRecorded(e) => {
            follow_up::deviation_action_recorded(cx, src, e.clone())
        }
        Event::DeviationEscalated(e) => follow_up::deviation_escalated(cx, src, e.clone()),
        Event::DeviationClosed(e) => follow_up::deviation_closed(cx, src, e.clone()),
        Event::FollowUpReportAdopted(e) => follow_up::follow_up_report_adopted(cx, src, e.clone()),
        Event::AtgardsplanAdopted(e) => follow_up::atgardsplan_adopted(cx, src, e.clone()),
        Event::UppdragStatusInReport(e) => follow_up::uppdrag_status_in_report(cx, src, e.clone()),
        Event::GoalAssessedInReport(e) => follow_up::goal_assessed_in_report(cx, src, e.clone()),
        Event::InternalControlPlanAdopted(e) => {
            internal_control::internal_control_plan_adopted(cx, src, e.clone())
        }
        Event::ControlResultReported(e) => {
            internal_control::control_result_reported(cx, src, e.clone())
        }
        Event::FindingActionRecorded(e) => {
            internal_control::finding_action_recorded(cx, src, e.clone())
        }
        Event::FindingClosed(e) => internal_control::finding_closed(cx, src, e.clone()),
        Event::InternalControlTertialReported(e) => {
            internal_control::internal_control_tertial_reported(cx, src, e.clone())
        }
        Event::ReviewRecorded(e) => internal_control::review_recorded(cx, src, e.clone()),
        Event::ReviewReplied(e) => internal_control::review_replied(cx, src, e.clone()),
        Event::DecisionCorrected(_) => Ok(()),
    }
}
