//! Follow-up in the read models: outcomes, deviations, reports and åtgärdsplaner.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

/// Writes one indicator value under its own key — its goal and indicator,
/// the event's sequence and the value's row in it — and notes the event in
/// the goal's history. No goal document is read or rewritten, so a busy
/// indicator costs the same per value as a quiet one.
fn put_outcome<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    row: usize,
    doc: OutcomeDoc,
) -> Result<(), ProjectionError> {
    cx.touch(DocKind::Goal.path(&doc.goal));
    let path = DocKind::Outcome.path(format_args!(
        "{}/{}/{:020}-{row:06}",
        doc.goal, doc.indicator, doc.sequence
    ));
    cx.put_part(&path, &doc)?;
    cx.count_one(&DocKind::Outcome.path(format_args!("{}/{}", doc.goal, doc.indicator)))
}

pub(super) fn outcomes_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: OutcomesRecorded,
) -> Result<(), ProjectionError> {
    let OutcomesRecorded {
        source,
        fetched_at,
        rows,
    } = e;
    for (i, row) in rows.into_iter().enumerate() {
        put_outcome(
            cx,
            i,
            OutcomeDoc {
                goal: row.goal,
                indicator: row.indicator,
                period: row.period,
                value: row.value,
                source: source.clone(),
                fetched_at,
                sequence: src.sequence,
                kolada: None,
            },
        )?;
    }

    Ok(())
}

/// Kolada's total (`T`) values become outcomes of every indicator that
/// names their nyckeltal, each under its own key like any outcome; the
/// values for women and men (`K`, `M`) and values Kolada does not have stay
/// in the event only.
pub(super) fn kolada_values_imported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: KoladaValuesImported,
) -> Result<(), ProjectionError> {
    let KoladaValuesImported {
        fetched_at,
        kommunkod,
        rows,
    } = e;
    for (i, row) in rows.into_iter().enumerate() {
        let Some(value) = row.value.filter(|_| row.gender == "T") else {
            continue;
        };
        for target in row.indicators {
            put_outcome(
                cx,
                i,
                OutcomeDoc {
                    goal: target.goal,
                    indicator: target.indicator,
                    period: row.period.to_string(),
                    value,
                    source: "Kolada".to_owned(),
                    fetched_at: Some(fetched_at),
                    sequence: src.sequence,
                    kolada: Some(KoladaOrigin {
                        kpi: row.kpi.clone(),
                        kommunkod: kommunkod.clone(),
                        status: row.status.clone(),
                    }),
                },
            )?;
        }
    }
    Ok(())
}

pub(super) fn deviation_reported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: DeviationReported,
) -> Result<(), ProjectionError> {
    let DeviationReported {
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
    } = e;
    cx.put(
        &DocKind::Deviation.path(&deviation),
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
    )?;
    Ok(())
}

pub(super) fn deviation_action_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: DeviationActionRecorded,
) -> Result<(), ProjectionError> {
    let DeviationActionRecorded {
        deviation,
        action,
        description,
    } = e;
    cx.update(
        &DocKind::Deviation.path(&deviation),
        |d: &mut DeviationDoc| {
            d.actions.push(ActionEntry {
                action,
                description,
                source: src,
            })
        },
    )?;
    Ok(())
}

pub(super) fn deviation_escalated<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: DeviationEscalated,
) -> Result<(), ProjectionError> {
    let DeviationEscalated {
        deviation, reason, ..
    } = e;
    cx.update(
        &DocKind::Deviation.path(&deviation),
        |d: &mut DeviationDoc| {
            d.escalated = Some(Statement {
                text: reason,
                source: src,
            })
        },
    )?;
    Ok(())
}

pub(super) fn deviation_closed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: DeviationClosed,
) -> Result<(), ProjectionError> {
    let DeviationClosed { deviation, outcome } = e;
    cx.update(
        &DocKind::Deviation.path(&deviation),
        |d: &mut DeviationDoc| {
            d.closed = Some(Statement {
                text: outcome,
                source: src,
            })
        },
    )?;
    Ok(())
}

pub(super) fn follow_up_report_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: FollowUpReportAdopted,
) -> Result<(), ProjectionError> {
    let FollowUpReportAdopted {
        body,
        year,
        kind,
        period,
        through,
        ramar,
        goals,
        uppdrag,
    } = e;
    for g in &goals {
        cx.touch(DocKind::Goal.path(&g.goal));
    }
    for (row, line) in uppdrag.iter().enumerate() {
        let entry = StatusEntry {
            as_of: through,
            body: body.clone(),
            status: line.status,
            reason: None,
            via: kind.slug().to_owned(),
            source: src.clone(),
        };
        cx.put_status(&line.uppdrag, row, &entry)?;
    }
    cx.put(
        &report_path(&body, year, kind, period.as_deref()),
        &ReportDoc {
            body: body.clone(),
            year,
            kind,
            period,
            through,
            ramar,
            goals,
            uppdrag,
            atgardsplan: None,
            source: src,
        },
    )?;
    Ok(())
}

pub(super) fn atgardsplan_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: AtgardsplanAdopted,
) -> Result<(), ProjectionError> {
    let AtgardsplanAdopted {
        body,
        year,
        report,
        period,
        plan,
    } = e;
    for d in &plan.deviations {
        let id = plan.id.clone();
        cx.update(&DocKind::Deviation.path(d), |dev: &mut DeviationDoc| {
            dev.atgardsplan = Some(id)
        })?;
    }
    cx.update(
        &report_path(&body, year, report, period.as_deref()),
        |r: &mut ReportDoc| r.atgardsplan = Some(plan),
    )?;
    Ok(())
}

pub(super) fn uppdrag_status_in_report<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: UppdragStatusInReport,
) -> Result<(), ProjectionError> {
    let UppdragStatusInReport { uppdrag, .. } = e;
    cx.touch(DocKind::Uppdrag.path(&uppdrag));
    Ok(())
}

pub(super) fn goal_assessed_in_report<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: GoalAssessedInReport,
) -> Result<(), ProjectionError> {
    let GoalAssessedInReport { goal, .. } = e;
    cx.touch(DocKind::Goal.path(&goal));
    Ok(())
}

pub(super) fn calendar_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: FollowUpCalendarAdopted,
) -> Result<(), ProjectionError> {
    let FollowUpCalendarAdopted { from_year, reports } = e;
    cx.put(
        &DocKind::Calendar.path(from_year),
        &CalendarDoc {
            from_year,
            reports,
            source: src,
        },
    )
}
