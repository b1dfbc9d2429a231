//! The budget in the read models: its steps, ramar, skattesats, plan för ekonomin, RUR and balanskrav.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn budget_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: BudgetAdopted,
) -> Result<(), ProjectionError> {
    let BudgetAdopted { year, plan_years } = e;
    cx.put(
        &DocKind::Budget.path(year),
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
            balanskrav: Vec::new(),
        },
    )?;
    Ok(())
}

pub(super) fn budget_established<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: BudgetEstablished,
) -> Result<(), ProjectionError> {
    let BudgetEstablished { year } = e;
    cx.update(&DocKind::Budget.path(year), |b: &mut BudgetDoc| {
        b.established = Some(src)
    })?;
    Ok(())
}

pub(super) fn skattesats_set<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: SkattesatsSet,
) -> Result<(), ProjectionError> {
    let SkattesatsSet {
        budget_year,
        skattesats,
        change,
    } = e;
    set_budget_part(
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
    )?;
    Ok(())
}

pub(super) fn economic_plan_set<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: EconomicPlanSet,
) -> Result<(), ProjectionError> {
    let EconomicPlanSet {
        budget_year,
        change,
        years,
    } = e;
    set_budget_part(
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
    )?;
    Ok(())
}

pub(super) fn rur_planned<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: RurPlanned,
) -> Result<(), ProjectionError> {
    let RurPlanned {
        budget_year,
        change,
        disposition,
    } = e;
    set_budget_part(
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
    )?;
    Ok(())
}

pub(super) fn ram_set<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: RamSet,
) -> Result<(), ProjectionError> {
    let RamSet {
        body,
        year,
        amount,
        change,
        budget_year,
    } = e;
    cx.touch(DocKind::Body.path(&body));
    cx.update(&DocKind::Budget.path(budget_year), |b: &mut BudgetDoc| {
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
    })?;
    Ok(())
}

pub(super) fn balanskrav_budgeted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: BalanskravBudgeted,
) -> Result<(), ProjectionError> {
    let BalanskravBudgeted {
        budget_year,
        change,
        balanskrav,
    } = e;
    let mut words = Vec::new();
    if let Some(why) = &balanskrav.synnerliga_skal {
        words.push(format!("synnerliga skäl: {why}"));
    }
    for r in &balanskrav.reglering {
        words.push(format!(
            "återställer {} tkr av {} under {}",
            r.amount, r.of_year, r.year
        ));
    }
    for a in &balanskrav.avstar {
        words.push(format!(
            "avstår från att återställa {}: {}",
            a.of_year, a.reason
        ));
    }
    set_budget_part(
        cx,
        budget_year,
        ("balanskrav", budget_year.to_string(), words.join("; ")),
        change,
        src,
        |b, source| {
            b.balanskrav.push(Figure {
                value: balanskrav,
                change,
                source,
            });
        },
    )
}
