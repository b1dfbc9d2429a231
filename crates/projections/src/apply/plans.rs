//! Plans in the read models: nämndplaner with nämndmål, detaljbudgetar, verksamhets- and enhetsplaner.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn namndplan_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: NamndplanAdopted,
) -> Result<(), ProjectionError> {
    let NamndplanAdopted {
        body,
        year,
        grunduppdrag,
        goals,
    } = e;
    let path = namndplan_path(&body, year);
    let mut d: NamndplanDoc = cx.get(&path)?.unwrap_or(NamndplanDoc {
        body,
        year,
        ..Default::default()
    });
    d.grunduppdrag = Some(grunduppdrag);
    d.goals = goals;
    d.sources.push(src);
    cx.put(&path, &d)?;
    Ok(())
}

pub(super) fn namndmal_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: NamndmalAdopted,
) -> Result<(), ProjectionError> {
    let NamndmalAdopted { body, year, goal } = e;
    cx.touch(namndplan_path(&body, year));
    for kg in &goal.kf_goals {
        cx.touch(DocKind::Goal.path(kg));
    }
    // A revised nämndmål keeps the outcomes recorded against it: they
    // live under their own keys.
    cx.put(
        &DocKind::Goal.path(&goal.id),
        &GoalDoc {
            body: Some(body),
            perspective: Some(goal.perspective),
            kf_goals: goal.kf_goals,
            ..GoalDoc::adopted(
                goal.id,
                "namnd",
                goal.title,
                (year, year),
                goal.indicators,
                goal.agenda2030,
                src,
            )
        },
    )?;
    Ok(())
}

pub(super) fn detaljbudget_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: DetaljbudgetAdopted,
) -> Result<(), ProjectionError> {
    let DetaljbudgetAdopted { body, year, lines } = e;
    let path = namndplan_path(&body, year);
    let mut d: NamndplanDoc = cx.get(&path)?.unwrap_or(NamndplanDoc {
        body,
        year,
        ..Default::default()
    });
    d.detaljbudget = lines.into_iter().map(|l| (l.unit, l.amount)).collect();
    d.sources.push(src);
    cx.put(&path, &d)?;
    Ok(())
}

pub(super) fn plan_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: PlanAdopted,
) -> Result<(), ProjectionError> {
    let PlanAdopted {
        plan,
        version,
        kind,
        body,
        unit,
        year,
        activities,
    } = e;
    cx.put(
        &DocKind::Plan.path(&plan),
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
    )?;
    Ok(())
}

pub(super) fn plan_reported_to_namnd<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: PlanReportedToNamnd,
) -> Result<(), ProjectionError> {
    let PlanReportedToNamnd { plan, version, .. } = e;
    cx.update(&DocKind::Plan.path(&plan), |p: &mut PlanDoc| {
        p.reported_version = Some(version)
    })?;
    Ok(())
}
