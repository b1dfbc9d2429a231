//! Intern kontroll and the revisorer's granskningar in the read models.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn internal_control_plan_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: InternalControlPlanAdopted,
) -> Result<(), ProjectionError> {
    let InternalControlPlanAdopted {
        plan,
        body,
        year,
        risks,
        controls,
    } = e;
    cx.put(
        &DocKind::InternalControl.path(&plan),
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
    )?;
    Ok(())
}

pub(super) fn control_result_reported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: ControlResultReported,
) -> Result<(), ProjectionError> {
    let ControlResultReported {
        plan,
        control,
        tertial,
        result,
    } = e;
    if let ControlResult::Finding {
        finding,
        description,
    } = &result
    {
        cx.put(
            &DocKind::Finding.path(finding),
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
    cx.update(
        &DocKind::InternalControl.path(&plan),
        |p: &mut ControlPlanDoc| {
            p.results
                .entry(control)
                .or_default()
                .insert(tertial, result);
        },
    )?;
    Ok(())
}

pub(super) fn finding_action_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: FindingActionRecorded,
) -> Result<(), ProjectionError> {
    let FindingActionRecorded {
        finding,
        action,
        description,
        responsible,
        due,
    } = e;
    cx.update(&DocKind::Finding.path(&finding), |f: &mut FindingDoc| {
        f.actions.push(FindingAction {
            action,
            description,
            responsible,
            due,
            source: src,
        })
    })?;
    Ok(())
}

pub(super) fn finding_closed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: FindingClosed,
) -> Result<(), ProjectionError> {
    let FindingClosed { finding, outcome } = e;
    cx.update(&DocKind::Finding.path(&finding), |f: &mut FindingDoc| {
        f.closed = Some(Statement {
            text: outcome,
            source: src,
        })
    })?;
    Ok(())
}

pub(super) fn internal_control_tertial_reported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: InternalControlTertialReported,
) -> Result<(), ProjectionError> {
    let InternalControlTertialReported {
        plan,
        tertial,
        summary,
        ..
    } = e;
    cx.update(
        &DocKind::InternalControl.path(&plan),
        |p: &mut ControlPlanDoc| {
            p.tertial_reports.insert(tertial, summary);
        },
    )?;
    Ok(())
}

pub(super) fn review_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ReviewRecorded,
) -> Result<(), ProjectionError> {
    let ReviewRecorded {
        review,
        title,
        year,
        bodies,
        observations,
        recommendations,
        reply_due,
    } = e;
    cx.put(
        &DocKind::Review.path(&review),
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
    )?;
    Ok(())
}

pub(super) fn review_replied<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ReviewReplied,
) -> Result<(), ProjectionError> {
    let ReviewReplied {
        review,
        body,
        reply,
        responses,
        late,
    } = e;
    cx.update(&DocKind::Review.path(&review), |r: &mut ReviewDoc| {
        r.replies.insert(
            body,
            ReplyDoc {
                reply,
                responses,
                late,
                source: src,
            },
        );
    })?;
    Ok(())
}
