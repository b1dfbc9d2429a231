//! Outcomes: indicator values (utfall) recorded by hand or imported from Kolada.

use crate::decide::*;
use crate::*;

impl KommunState {
    pub(crate) fn decide_record_outcome(&self, p: &Provenance, c: &RecordOutcome) -> Decided {
        let RecordOutcome {
            goal,
            indicator,
            period,
            value,
            source,
        } = c;
        check_text("source", source)?;
        let row = OutcomeRow {
            goal: goal.clone(),
            indicator: indicator.clone(),
            period: period.clone(),
            value: *value,
        };
        self.check_rows(p, std::slice::from_ref(&row), "row")
            .map_err(|r| Rejection::new(r.rule, r.field.replace("row[0].", ""), r.message))?;
        Ok(vec![Event::OutcomesRecorded(OutcomesRecorded {
            source: source.clone(),
            fetched_at: None,
            rows: vec![row],
        })])
    }

    pub(crate) fn decide_import_outcomes(&self, p: &Provenance, c: &ImportOutcomes) -> Decided {
        let ImportOutcomes {
            source,
            fetched_at,
            rows,
        } = c;
        check_text("source", source)?;
        self.check_rows(p, rows, "rows")?;
        Ok(vec![Event::OutcomesRecorded(OutcomesRecorded {
            source: source.clone(),
            fetched_at: Some(*fetched_at),
            rows: rows.clone(),
        })])
    }

    fn check_rows(
        &self,
        p: &Provenance,
        rows: &[OutcomeRow],
        field: &str,
    ) -> Result<(), Rejection> {
        if rows.is_empty() {
            return reject(Rule::Input, field, "minst ett värde");
        }
        let ks = self.executive_board().map(str::to_owned);
        let by_ks = ks.as_deref().is_some_and(|ks| {
            self.authorize(p, Authority::Organisation(ks, Matter::FollowUp))
                .is_ok()
        });
        for (i, r) in rows.iter().enumerate() {
            let f = |n: &str| format!("{field}[{i}].{n}");
            if !self
                .indicators
                .contains(&(r.goal.clone(), r.indicator.clone()))
            {
                return reject(
                    Rule::Reference,
                    f("indicator"),
                    format!("målet {:?} har ingen indikator {:?}", r.goal, r.indicator),
                );
            }
            check_period(&f("period"), &r.period)?;
            if !r.value.is_finite() {
                return reject(Rule::Input, f("value"), "ska vara ett tal");
            }
            if !by_ks {
                let owner = self.goal_owner(&r.goal).unwrap_or_default();
                self.authorize(p, Authority::Organisation(owner, Matter::FollowUp))?;
            }
        }
        Ok(())
    }
}

/// `2025`, `2025-T1`..`2025-T3` or `2025-01`..`2025-12`.
fn check_period(field: &str, period: &str) -> Result<i32, Rejection> {
    let bad = || {
        reject(
            Rule::Input,
            field,
            format!("{period:?} är ingen period: använd 2025, 2025-T2 eller 2025-06"),
        )
    };
    // By characters, not bytes: "202é" must be refused, not split inside é.
    let split = period
        .char_indices()
        .nth(4)
        .map_or(period.len(), |(i, _)| i);
    let (year, rest) = period.split_at(split);
    let Ok(y) = year.parse::<i32>() else {
        return bad();
    };
    if year.len() != 4 {
        return bad();
    }
    let ok = match rest.strip_prefix('-') {
        None => rest.is_empty(),
        Some(t) if t.starts_with('T') => matches!(t, "T1" | "T2" | "T3"),
        Some(m) => m.len() == 2 && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)),
    };
    if ok {
        Ok(y)
    } else {
        bad()
    }
}

impl KommunState {
    pub(crate) fn decide_import_kolada(&self, p: &Provenance, c: &ImportKolada) -> Decided {
        let ImportKolada { fetched_at, rows } = c;
        if rows.is_empty() {
            return reject(Rule::Input, "rows", "minst ett värde");
        }
        if self.kommun.as_ref().is_some_and(|k| k.forbund.is_some()) {
            return reject(
                Rule::Reference,
                "rows",
                "ett kommunalförbund har inga egna Kolada-värden per kommunkod: registrera förbundets utfall med record_outcome",
            );
        }
        let kommunkod = self
            .kommun
            .as_ref()
            .map(|k| k.kommunkod.clone())
            .unwrap_or_default();
        let ks = self.executive_board().map(str::to_owned);
        let by_ks = ks.as_deref().is_some_and(|ks| {
            self.authorize(p, Authority::Organisation(ks, Matter::FollowUp))
                .is_ok()
        });
        let mut values = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in rows.iter().enumerate() {
            let f = |n: &str| format!("rows[{i}].{n}");
            let targets = self.kolada_targets(i, r, &kommunkod)?;
            if !seen.insert((r.kpi.clone(), r.period, r.gender.clone())) {
                return reject(
                    Rule::Input,
                    f("kpi"),
                    format!(
                        "{} {} {} finns två gånger i importen",
                        r.kpi, r.period, r.gender
                    ),
                );
            }
            if !by_ks {
                for t in targets {
                    let owner = self.goal_owner(&t.goal).unwrap_or_default();
                    self.authorize(p, Authority::Organisation(owner, Matter::FollowUp))?;
                }
            }
            // What the last import said stands: only a new or revised value
            // is recorded.
            if self.kolada_unchanged(r) {
                continue;
            }
            values.push(KoladaValue {
                kpi: r.kpi.clone(),
                period: r.period,
                gender: r.gender.clone(),
                status: r.status.clone(),
                value: r.value,
                indicators: targets.iter().cloned().collect(),
            });
        }
        if values.is_empty() {
            return reject(
                Rule::Input,
                "rows",
                "inget nytt: varje värde är detsamma som den senaste importen registrerade",
            );
        }
        Ok(vec![Event::KoladaValuesImported(KoladaValuesImported {
            fetched_at: *fetched_at,
            kommunkod,
            rows: values,
        })])
    }

    /// One Kolada row's own checks (its kommun, nyckeltal, year, gender and
    /// value); the indicators its nyckeltal counts for.
    fn kolada_targets(
        &self,
        i: usize,
        r: &KoladaRow,
        kommunkod: &str,
    ) -> Result<&std::collections::BTreeSet<IndicatorRef>, Rejection> {
        let f = |n: &str| format!("rows[{i}].{n}");
        if r.municipality != kommunkod {
            return reject(
                Rule::Reference,
                f("municipality"),
                format!(
                    "raden gäller kommunkod {:?}, men den här kommunens kommunkod är {kommunkod:?}: filen hör till en annan kommun",
                    r.municipality
                ),
            );
        }
        let Some(targets) = self.kolada_kpis.get(&r.kpi) else {
            return reject(
                Rule::Reference,
                f("kpi"),
                format!(
                    "ingen indikator har Kolada-nyckeltalet {:?} (kolada_kpi i ett mål eller nämndmål)",
                    r.kpi
                ),
            );
        };
        if !crate::YEARS.contains(&r.period) {
            return reject(
                Rule::Input,
                f("period"),
                format!("{} är inget rimligt år", r.period),
            );
        }
        if !matches!(r.gender.as_str(), "T" | "K" | "M") {
            return reject(
                Rule::Input,
                f("gender"),
                format!(
                    "{:?}: använd T (totalt), K (kvinnor) eller M (män)",
                    r.gender
                ),
            );
        }
        if r.value.is_some_and(|v| !v.is_finite()) {
            return reject(Rule::Input, f("value"), "ska vara ett tal");
        }
        Ok(targets)
    }

    /// Whether Kolada's row says what the last import recorded (value and
    /// status), so importing it again would add nothing.
    pub fn kolada_unchanged(&self, r: &KoladaRow) -> bool {
        self.kolada_values
            .get(&(r.kpi.clone(), r.period, r.gender.clone()))
            == Some(&(r.value, r.status.clone()))
    }

    pub(crate) fn evolve_kolada_values_imported(
        &mut self,
        _meta: &EventMeta,
        e: &KoladaValuesImported,
    ) {
        for r in &e.rows {
            self.kolada_values.insert(
                (r.kpi.clone(), r.period, r.gender.clone()),
                (r.value, r.status.clone()),
            );
        }
    }

    /// Remembers which nyckeltal `indicator` of `goal` is, for Kolada imports.
    pub(crate) fn note_kolada_kpi(&mut self, goal: &str, indicator: &Indicator) {
        if let Some(kpi) = &indicator.kolada_kpi {
            self.kolada_kpis
                .entry(kpi.clone())
                .or_default()
                .insert(IndicatorRef {
                    goal: goal.to_owned(),
                    indicator: indicator.id.clone(),
                });
        }
    }
}
