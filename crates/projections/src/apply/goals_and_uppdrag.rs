//! KF goals, uppdrag, målgrupper, processes and their goals and
//! contributions in the read models.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn kf_goal_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: KfGoalAdopted,
) -> Result<(), ProjectionError> {
    let KfGoalAdopted { budget_year, goal } = e;
    cx.touch(DocKind::Budget.path(budget_year));
    if let Some(p) = &goal.process {
        cx.touch(DocKind::Process.path(p));
    }
    cx.put(
        &DocKind::Goal.path(&goal.id),
        &GoalDoc {
            kind: Some(goal.kind),
            process: goal.process,
            malgrupper: goal.malgrupper,
            ..GoalDoc::adopted(
                goal.id,
                "kf",
                goal.title,
                (goal.from_year, goal.to_year),
                goal.indicators,
                goal.agenda2030,
                src,
            )
        },
    )?;
    Ok(())
}

pub(super) fn malgrupp_defined<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: MalgruppDefined,
) -> Result<(), ProjectionError> {
    cx.put(
        &DocKind::Malgrupp.path(&e.malgrupp),
        &MalgruppDoc {
            id: e.malgrupp,
            name: e.name,
            description: e.description,
            source: src,
        },
    )
}

pub(super) fn process_established<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ProcessEstablished,
) -> Result<(), ProjectionError> {
    let ProcessEstablished {
        process,
        name,
        purpose,
        owner,
        malgrupper,
    } = e;
    cx.put(
        &DocKind::Process.path(&process),
        &ProcessDoc {
            id: process,
            name,
            purpose,
            owner,
            malgrupper,
            source: src,
            closed: None,
        },
    )
}

pub(super) fn process_goal_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ProcessGoalAdopted,
) -> Result<(), ProjectionError> {
    let ProcessGoalAdopted { process, goal } = e;
    cx.touch(DocKind::Process.path(&process));
    cx.put(
        &DocKind::Goal.path(&goal.id),
        &GoalDoc {
            process: Some(process),
            malgrupper: goal.malgrupper,
            ..GoalDoc::adopted(
                goal.id,
                "process",
                goal.title,
                (goal.from_year, goal.to_year),
                goal.indicators,
                goal.agenda2030,
                src,
            )
        },
    )
}

pub(super) fn contribution_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ContributionRecorded,
) -> Result<(), ProjectionError> {
    let ContributionRecorded {
        contribution,
        body,
        goal,
        process,
        year,
        title,
        description,
        namndmal,
        forbund_record,
    } = e;
    cx.touch(DocKind::Goal.path(&goal));
    cx.touch(DocKind::Body.path(&body));
    cx.put(
        &DocKind::Contribution.path(&contribution),
        &ContributionDoc {
            id: contribution,
            body,
            goal,
            process,
            year,
            title,
            description,
            namndmal,
            forbund_record,
            source: src,
        },
    )
}

pub(super) fn process_closed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ProcessClosed,
) -> Result<(), ProjectionError> {
    let ProcessClosed {
        process,
        last_year,
        reason,
    } = e;
    cx.update(&DocKind::Process.path(&process), |p: &mut ProcessDoc| {
        p.closed = Some(ProcessClosure {
            last_year,
            reason,
            source: src,
        });
    })
}

pub(super) fn uppdrag_given<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: UppdragGiven,
) -> Result<(), ProjectionError> {
    let UppdragGiven {
        budget_year,
        uppdrag,
    } = e;
    cx.touch(DocKind::Budget.path(budget_year));
    cx.put(
        &DocKind::Uppdrag.path(&uppdrag.id),
        &UppdragDoc {
            id: uppdrag.id.clone(),
            title: uppdrag.title.clone(),
            description: uppdrag.description,
            to: uppdrag.to.clone(),
            resources: uppdrag.resources,
            due: uppdrag.due,
            given_year: budget_year,
            goals: uppdrag.goals,
            closed: None,
            lifecycle: vec![LifecycleEntry {
                what: "given".into(),
                budget_year,
                detail: format!("till {}", uppdrag.to.join(", ")),
                source: src,
            }],
            status: Vec::<StatusEntry>::new(),
            status_count: 0,
        },
    )?;
    Ok(())
}

pub(super) fn uppdrag_changed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: UppdragChanged,
) -> Result<(), ProjectionError> {
    let UppdragChanged {
        budget_year,
        id,
        title,
        description,
        to,
        resources,
    } = e;
    cx.touch(DocKind::Budget.path(budget_year));
    cx.update(&DocKind::Uppdrag.path(&id), |u: &mut UppdragDoc| {
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
    })?;
    Ok(())
}

pub(super) fn uppdrag_extended<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: UppdragExtended,
) -> Result<(), ProjectionError> {
    let UppdragExtended {
        budget_year,
        id,
        due,
    } = e;
    cx.touch(DocKind::Budget.path(budget_year));
    cx.update(&DocKind::Uppdrag.path(&id), |u: &mut UppdragDoc| {
        u.lifecycle.push(LifecycleEntry {
            what: "extended".into(),
            budget_year,
            detail: format!("från {} till {due}", u.due),
            source: src,
        });
        u.due = due;
    })?;
    Ok(())
}

pub(super) fn uppdrag_closed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: UppdragClosed,
) -> Result<(), ProjectionError> {
    let UppdragClosed {
        budget_year,
        id,
        outcome,
    } = e;
    cx.touch(DocKind::Budget.path(budget_year));
    cx.update(&DocKind::Uppdrag.path(&id), |u: &mut UppdragDoc| {
        u.lifecycle.push(LifecycleEntry {
            what: "closed".into(),
            budget_year,
            detail: outcome.clone(),
            source: src,
        });
        u.closed = Some(outcome);
    })?;
    Ok(())
}

pub(super) fn uppdrag_status_reported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: UppdragStatusReported,
) -> Result<(), ProjectionError> {
    let UppdragStatusReported {
        uppdrag,
        body,
        as_of,
        status,
        reason,
        ..
    } = e;
    cx.put_status(
        &uppdrag,
        0,
        &StatusEntry {
            as_of,
            body,
            status,
            reason,
            via: "status_report".into(),
            source: src,
        },
    )
}
