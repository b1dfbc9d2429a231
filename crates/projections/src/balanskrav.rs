//! The obligation to restore a negative balanskravsresultat (KL 11 kap
//! 12–13 §§): opened by KS's årsredovisning, restored by the following
//! years' positive results, planned by budget decisions, or waived by KF.

use std::collections::BTreeMap;

use serde::Serialize;
use styr_domain::{ReportKind, Tkr, YearAmount};
use styr_store::KommunId;

use crate::docs::*;
use crate::kv::KvRead;
use crate::query::{docs, Gap};
use crate::ProjectionError;

type R<T> = Result<T, ProjectionError>;

/// Återställandekrav: a negative balanskravsresultat an årsredovisning
/// reported, and how it stands.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BalanskravObligation {
    /// The year of the negative result.
    pub year: i32,
    /// The negative balanskravsresultat after RUR, as a positive amount (tkr).
    pub deficit: Tkr,
    /// The årsredovisning that reported it.
    pub reported: Source,
    /// The following years' positive balanskravsresultat (after RUR) that
    /// restore it, the oldest deficit first.
    pub restored: Vec<YearAmount>,
    /// What budget decisions plan to restore of it, and in which year.
    pub planned: Vec<PlannedReglering>,
    /// KF's decision not to restore it, for synnerliga skäl (KL 11 kap 13 §).
    pub waived: Option<Statement>,
    /// The last year it may be restored in (KL 11 kap 12 §).
    pub last_year: i32,
    pub status: ObligationStatus,
}

impl BalanskravObligation {
    /// What is left to restore, in tkr.
    pub fn left(&self) -> Tkr {
        let restored = self
            .restored
            .iter()
            .map(|r| r.amount)
            .fold(0, Tkr::saturating_add);
        self.deficit.saturating_sub(restored).max(0)
    }
}

/// Reglering a budget decided, with the decision.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlannedReglering {
    pub year: i32,
    pub amount: Tkr,
    pub decided: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    Open,
    Restored,
    Waived,
}

impl ObligationStatus {
    pub fn swedish(self) -> &'static str {
        match self {
            ObligationStatus::Open => "öppet",
            ObligationStatus::Restored => "återställt",
            ObligationStatus::Waived => "avstått (synnerliga skäl)",
        }
    }
}

/// Every obligation to restore a negative balanskravsresultat, by year.
pub fn balanskrav_obligations(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
) -> R<Vec<BalanskravObligation>> {
    // Each year's result after RUR, as its årsredovisning (the latest) says.
    let results: BTreeMap<i32, (Tkr, Source)> =
        docs::<BalanskravDoc>(kv, kommun, DocKind::Balanskrav)?
            .into_iter()
            .filter_map(|d| {
                let e = d
                    .reports
                    .iter()
                    .rev()
                    .find(|e| e.report == ReportKind::Arsredovisning)?;
                Some((d.year, (e.utredning.efter_rur, e.source.clone())))
            })
            .collect();
    let decided: Vec<Figure<styr_domain::BudgetBalanskrav>> =
        docs::<BudgetDoc>(kv, kommun, DocKind::Budget)?
            .into_iter()
            .flat_map(|b| b.balanskrav)
            .collect();
    let mut surplus: BTreeMap<i32, Tkr> = results
        .iter()
        .filter(|(_, (r, _))| *r > 0)
        .map(|(y, (r, _))| (*y, *r))
        .collect();
    let mut out = Vec::new();
    for (&year, (result, reported)) in &results {
        if *result >= 0 {
            continue;
        }
        let deficit = result.saturating_neg();
        let waived = decided.iter().find_map(|f| {
            f.value
                .avstar
                .iter()
                .find(|a| a.of_year == year)
                .map(|a| Statement {
                    text: a.reason.clone(),
                    source: f.source.clone(),
                })
        });
        let mut left = deficit;
        let mut restored = Vec::new();
        // A waived deficit takes no surplus: that goes to the next one.
        for z in (year + 1..=year + 3).filter(|_| waived.is_none()) {
            if let Some(s) = surplus.get_mut(&z) {
                let take = (*s).min(left);
                if take > 0 {
                    *s -= take;
                    left -= take;
                    restored.push(YearAmount {
                        year: z,
                        amount: take,
                    });
                }
            }
        }
        // The plan as the latest decision that planned this deficit's
        // reglering states it (an earlier plan is replaced, not added to).
        let planned = decided
            .iter()
            .rev()
            .find(|f| f.value.reglering.iter().any(|r| r.of_year == year))
            .map(|f| {
                f.value
                    .reglering
                    .iter()
                    .filter(|r| r.of_year == year)
                    .map(|r| PlannedReglering {
                        year: r.year,
                        amount: r.amount,
                        decided: f.source.decided.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let status = if waived.is_some() {
            ObligationStatus::Waived
        } else if left == 0 {
            ObligationStatus::Restored
        } else {
            ObligationStatus::Open
        };
        out.push(BalanskravObligation {
            year,
            deficit,
            reported: reported.clone(),
            restored,
            planned,
            waived,
            last_year: year + 3,
            status,
        });
    }
    Ok(out)
}

/// An obligation still open in `year` (its negative result lies before it).
pub(crate) fn balanskrav_gaps(
    kv: &(impl KvRead + ?Sized),
    kommun: &KommunId,
    year: i32,
    out: &mut Vec<Gap>,
) -> R<()> {
    for o in balanskrav_obligations(kv, kommun)? {
        if o.status != ObligationStatus::Open || o.year >= year {
            continue;
        }
        let when = if year > o.last_year {
            format!("skulle ha varit återställt senast {}", o.last_year)
        } else {
            format!("ska vara återställt senast {}", o.last_year)
        };
        let plan = if o.planned.is_empty() {
            "; ingen budget har beslutat hur det återställs"
        } else {
            ""
        };
        out.push(Gap {
            kind: "balanskrav_not_restored",
            entity: DocKind::Balanskrav.path(o.year),
            reason: format!(
                "balanskravsresultatet {} var {} tkr; {} tkr återstår och {when} (KL 11 kap 12 §){plan}",
                o.year,
                styr_domain::grouped(o.deficit.saturating_neg()),
                styr_domain::grouped(o.left())
            ),
        });
    }
    Ok(())
}
