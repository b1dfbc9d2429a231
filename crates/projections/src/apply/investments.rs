//! Investments and the balanskrav in the read models.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn investment_budgeted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: InvestmentBudgeted,
) -> Result<(), ProjectionError> {
    let InvestmentBudgeted {
        budget_year,
        change,
        investment,
    } = e;
    let path = DocKind::Investment.path(&investment.id);
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
    cx.touch(DocKind::Body.path(&investment.body));
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
    )?;
    Ok(())
}

pub(super) fn investment_followed_up<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: InvestmentFollowedUp,
) -> Result<(), ProjectionError> {
    let InvestmentFollowedUp {
        investment,
        year,
        report,
        period,
        outcome,
        forecast,
        ..
    } = e;
    cx.update(
        &DocKind::Investment.path(&investment),
        |d: &mut InvestmentDoc| {
            d.follow_ups.push(InvestmentFollowUpDoc {
                year,
                report,
                period,
                outcome,
                forecast,
                source: src,
            })
        },
    )?;
    Ok(())
}

pub(super) fn balanskrav_reported<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: BalanskravReported,
) -> Result<(), ProjectionError> {
    let BalanskravReported {
        year,
        report,
        utredning,
    } = e;
    // The report in the same batch applied it; the aggregate's history
    // notes the event.
    let path = DocKind::Balanskrav.path(year);
    let mut doc = cx.get::<BalanskravDoc>(&path)?.unwrap_or(BalanskravDoc {
        year,
        reports: Vec::new(),
    });
    doc.reports.push(BalanskravEntry {
        report,
        utredning,
        source: src,
    });
    cx.put(&path, &doc)?;
    Ok(())
}
