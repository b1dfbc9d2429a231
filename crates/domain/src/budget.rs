//! Budget med plan (KL 11 kap 8–9, 14 §§): KF's budget decisions in their
//! steps (budgetramar, fastställd budget, tilläggs- and ändringsbudget) and
//! the parts a budget holds besides ramar, goals and uppdrag: skattesats,
//! the three-year economic plan, the investeringsbudget and RUR dispositions.

use crate::state::*;
use crate::*;
use crate::{
    BalanskravBudgeted, BalanskravReported, BudgetAdopted, BudgetEstablished, EconomicPlanSet,
    InvestmentBudgeted, InvestmentFollowedUp, KfGoalAdopted, RamSet, RurPlanned, SkattesatsSet,
    UppdragChanged, UppdragClosed, UppdragExtended, UppdragGiven,
};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use crate::command::{GoalInput, Ram, UppdragChange, UppdragInput};
use crate::decide::{check_id, check_text, reject, Authority, Decided};
use crate::event::Event;
use crate::model::*;
use crate::rejection::{Rejection, Rule};
use crate::state::KommunState;
use styr_provenance::Provenance;

/// The parts of a budget decision beyond ramar, goals and uppdrag.
pub(crate) struct BudgetParts<'a> {
    pub skattesats: Option<Skattesats>,
    pub economy: &'a [EconomicYear],
    pub investments: &'a [Investment],
    pub rur: &'a [RurDisposition],
    pub balanskrav: Option<&'a BudgetBalanskrav>,
}

impl BudgetParts<'_> {
    fn is_empty(&self) -> bool {
        self.skattesats.is_none()
            && self.economy.is_empty()
            && self.investments.is_empty()
            && self.rur.is_empty()
            && self.balanskrav.is_none()
    }
}

/// `adopt_budget` as the decider reads it.
pub(crate) struct BudgetDecision<'a> {
    pub year: i32,
    pub stage: BudgetStage,
    pub ramar: &'a [Ram],
    pub goals: &'a [GoalInput],
    pub uppdrag: UppdragDecisions<'a>,
    pub parts: BudgetParts<'a>,
}

/// The uppdrag decisions a budget carries (P2: only KF, only in a budget).
#[derive(Clone, Copy)]
pub(crate) struct UppdragDecisions<'a> {
    pub given: &'a [UppdragInput],
    pub changed: &'a [UppdragChange],
    pub extended: &'a BTreeMap<String, NaiveDate>,
    pub closed: &'a BTreeMap<String, String>,
}

/// What a follow-up report says of the investments and the balanskrav.
pub(crate) struct ReportedEconomy<'a> {
    pub investments: &'a [InvestmentOutcome],
    pub balanskrav: Option<&'a Balanskravsutredning>,
}

/// The lowest and highest skattesats accepted, in öre per skattekrona.
const SKATTESATS_ORE: std::ops::RangeInclusive<u16> = 100..=4000;

impl KommunState {
    /// `adopt_budget`: budgetramar, or the fastställd budget (after
    /// budgetramar, or as the year's one budget decision).
    pub(crate) fn decide_budget(&self, provenance: &Provenance, b: &BudgetDecision<'_>) -> Decided {
        let BudgetDecision {
            year,
            stage,
            ramar,
            goals,
            ref uppdrag,
            ref parts,
        } = *b;
        self.authorize(provenance, Authority::Council)?;
        let adopted = self.budgets.contains_key(&year);
        match stage {
            BudgetStage::Ramar if adopted => {
                return reject(
                    Rule::P6,
                    "year",
                    format!("budgeten för {year} är redan antagen; ändra den med amend_budget eller fastställ den med stage: faststalld"),
                )
            }
            BudgetStage::Faststalld if self.established.contains(&year) => {
                return reject(
                    Rule::P6,
                    "stage",
                    format!("budgeten för {year} är redan fastställd; ändra den med amend_budget (change: amendment)"),
                )
            }
            _ => {}
        }
        if let Some(d) = provenance.decided_by.decision_date() {
            if d.year() >= year {
                return reject(
                    Rule::Consistency,
                    "year",
                    format!("budgeten för {year} antas året före, inte {d}"),
                );
            }
        }
        let years = [year, year + 1, year + 2];
        self.check_ramar(ramar, &years)?;
        if !adopted && ramar.iter().all(|r| r.year != year) {
            return reject(
                Rule::P4,
                "ramar",
                format!("budgeten anger ramar (anslag) för {year}"),
            );
        }
        let change = match stage {
            BudgetStage::Ramar => BudgetChange::Budget,
            BudgetStage::Faststalld => {
                if parts.skattesats.is_none() {
                    return reject(
                        Rule::Law,
                        "skattesats",
                        "KL 11 kap 9 §: en fastställd budget anger skattesatsen",
                    );
                }
                if parts.economy.is_empty() {
                    return reject(
                        Rule::Law,
                        "economy",
                        format!("KL 11 kap 8 §: en fastställd budget innehåller en plan för ekonomin för {year}–{}", year + 2),
                    );
                }
                BudgetChange::Established
            }
        };
        let mut events = Vec::new();
        if !adopted {
            events.push(Event::BudgetAdopted(BudgetAdopted {
                year,
                plan_years: [year + 1, year + 2],
            }));
        }
        if stage == BudgetStage::Faststalld {
            events.push(Event::BudgetEstablished(BudgetEstablished { year }));
        }
        events.extend(ramar.iter().map(|r| {
            Event::RamSet(RamSet {
                body: r.body.clone(),
                year: r.year,
                amount: r.amount,
                change,
                budget_year: year,
            })
        }));
        self.budget_parts(provenance, year, change, parts, &mut events)?;
        self.budget_goals_and_uppdrag(year, goals, uppdrag, &mut events)?;
        Ok(events)
    }

    /// `amend_budget`: a complementary decision, tilläggsbudget or
    /// ändringsbudget changing ramar and the budget's other parts.
    pub(crate) fn decide_amendment(
        &self,
        provenance: &Provenance,
        year: i32,
        change: BudgetChange,
        ramar: &[Ram],
        parts: &BudgetParts<'_>,
    ) -> Decided {
        self.authorize(provenance, Authority::Council)?;
        let Some(budget_year) = self.budget_covering(year) else {
            return reject(
                Rule::Reference,
                "year",
                format!("ingen antagen budget omfattar {year}"),
            );
        };
        let meeting = provenance
            .decided_by
            .decision_date()
            .unwrap_or(provenance.effective_date);
        match change {
            BudgetChange::Budget | BudgetChange::Established => {
                return reject(
                    Rule::Input,
                    "change",
                    "budgetramar och fastställd budget beslutas med adopt_budget",
                )
            }
            BudgetChange::Complementary => {
                if !self.ordinary_election_in(meeting.year()) {
                    return reject(
                        Rule::Consistency,
                        "change",
                        format!(
                            "det kompletterande beslutet fattas i november ett valår, och inget ordinarie val är registrerat {} (record_election)",
                            meeting.year()
                        ),
                    );
                }
                if meeting.month() != 11 || year != meeting.year() + 1 {
                    return reject(
                        Rule::Consistency,
                        "change",
                        "det kompletterande beslutet fattas i november ett valår, för nästa år",
                    );
                }
            }
            BudgetChange::Supplementary => {
                if meeting.year() != year {
                    return reject(
                        Rule::Consistency,
                        "year",
                        "en tilläggsbudget ändrar det år den beslutas",
                    );
                }
            }
            BudgetChange::Amendment => {
                if !self.established.contains(&budget_year) {
                    return reject(
                        Rule::Consistency,
                        "change",
                        format!("budgeten för {budget_year} är inte fastställd: fastställ den med adopt_budget (stage: faststalld)"),
                    );
                }
                if meeting.year() < budget_year - 1 || meeting.year() > year {
                    return reject(
                        Rule::Consistency,
                        "year",
                        format!("en ändringsbudget för {year} beslutas året före eller under året, inte {meeting}"),
                    );
                }
            }
        }
        if ramar.is_empty() && parts.is_empty() {
            return reject(Rule::Input, "ramar", "ändrar minst en del av budgeten");
        }
        if parts.skattesats.is_some() {
            if year != budget_year {
                return reject(
                    Rule::Consistency,
                    "skattesats",
                    format!("skattesatsen gäller budgetåret {budget_year}, inte planåret {year}"),
                );
            }
            if meeting.year() >= budget_year {
                return reject(
                    Rule::Consistency,
                    "skattesats",
                    format!(
                        "skattesatsen för {budget_year} beslutas före budgetåret, inte {meeting}"
                    ),
                );
            }
        }
        self.check_ramar(ramar, &[budget_year, budget_year + 1, budget_year + 2])?;
        let mut events: Vec<Event> = ramar
            .iter()
            .map(|r| {
                Event::RamSet(RamSet {
                    body: r.body.clone(),
                    year: r.year,
                    amount: r.amount,
                    change,
                    budget_year,
                })
            })
            .collect();
        self.budget_parts(provenance, budget_year, change, parts, &mut events)?;
        Ok(events)
    }

    /// Checks skattesats, economic plan, investments and RUR dispositions and
    /// appends their events.
    fn budget_parts(
        &self,
        provenance: &Provenance,
        budget_year: i32,
        change: BudgetChange,
        parts: &BudgetParts<'_>,
        events: &mut Vec<Event>,
    ) -> Result<(), Rejection> {
        let years = budget_year..=budget_year + 2;
        if let Some(skattesats) = parts.skattesats {
            if !SKATTESATS_ORE.contains(&skattesats.in_ore()) {
                return reject(
                    Rule::Input,
                    "skattesats",
                    format!("{skattesats} ligger utanför 1:00–40:00"),
                );
            }
            events.push(Event::SkattesatsSet(SkattesatsSet {
                budget_year,
                skattesats,
                change,
            }));
        }
        if !parts.economy.is_empty() {
            check_economy(budget_year, parts.economy)?;
            events.push(Event::EconomicPlanSet(EconomicPlanSet {
                budget_year,
                change,
                years: parts.economy.to_vec(),
            }));
        }
        self.check_budget_balanskrav(parts.economy, parts.balanskrav)?;
        if let Some(b) = parts.balanskrav {
            events.push(Event::BalanskravBudgeted(BalanskravBudgeted {
                budget_year,
                change,
                balanskrav: b.clone(),
            }));
        }
        let mut seen = BTreeSet::new();
        for (i, inv) in parts.investments.iter().enumerate() {
            let f = |n: &str| format!("investments[{i}].{n}");
            check_id(&f("id"), &inv.id)?;
            if !seen.insert(inv.id.as_str()) {
                return reject(
                    Rule::Input,
                    f("id"),
                    format!("investeringen {:?} finns två gånger i beslutet", inv.id),
                );
            }
            self.operating_body(&f("body"), &inv.body)?;
            check_text(&f("title"), &inv.title)?;
            check_investment(&f, inv, &years)?;
            if let Some(old) = self.investments.get(&inv.id) {
                if old.body != inv.body {
                    return reject(
                        Rule::Consistency,
                        f("body"),
                        format!("investeringen {:?} tillhör {}", inv.id, old.body),
                    );
                }
                check_restated(&f, &old.restated(inv, budget_year, change))?;
            }
            events.push(Event::InvestmentBudgeted(InvestmentBudgeted {
                budget_year,
                change,
                investment: inv.clone(),
            }));
        }
        let mut seen = BTreeSet::new();
        for (i, r) in parts.rur.iter().enumerate() {
            let f = |n: &str| format!("rur[{i}].{n}");
            if !years.contains(&r.year) {
                return reject(
                    Rule::Consistency,
                    f("year"),
                    format!(
                        "{} är inte ett av budgetens år {budget_year}–{}",
                        r.year,
                        budget_year + 2
                    ),
                );
            }
            if !seen.insert(r.year) {
                return reject(Rule::Input, f("year"), "en disposition per år");
            }
            for (name, amount) in [
                ("reservation", r.reservation),
                ("disposition", r.disposition),
            ] {
                if amount < 0 {
                    return reject(Rule::Input, f(name), "belopp är aldrig negativa");
                }
            }
            if r.reservation == 0 && r.disposition == 0 {
                return reject(
                    Rule::Input,
                    f("disposition"),
                    "anger en reservering eller en disposition",
                );
            }
            self.check_rur_riktlinjer(&f("riktlinjer"), &r.riktlinjer, provenance.effective_date)?;
            events.push(Event::RurPlanned(RurPlanned {
                budget_year,
                change,
                disposition: r.clone(),
            }));
        }
        Ok(())
    }

    /// Balanskravet in a budget decision (KL 11 kap 5, 12–13 §§): a year of
    /// the plan för ekonomin with a negative result needs synnerliga skäl or
    /// a reglering that restores it within the three following years; a
    /// reglering restores a negative result of this plan or one an
    /// årsredovisning reported, within three years of it; KF avstår only
    /// from restoring a reported one, and says why.
    fn check_budget_balanskrav(
        &self,
        economy: &[EconomicYear],
        balanskrav: Option<&BudgetBalanskrav>,
    ) -> Result<(), Rejection> {
        let negative: BTreeMap<i32, Tkr> = economy
            .iter()
            .filter(|y| y.resultat.resultat < 0)
            .map(|y| (y.year, y.resultat.resultat.saturating_neg()))
            .collect();
        if let Some(b) = balanskrav {
            if b.synnerliga_skal.is_none() && b.reglering.is_empty() && b.avstar.is_empty() {
                return reject(
                    Rule::Input,
                    "balanskrav",
                    "anger synnerliga skäl, en reglering eller ett avstående",
                );
            }
            if let Some(why) = &b.synnerliga_skal {
                check_text("balanskrav.synnerliga_skal", why)?;
                if negative.is_empty() {
                    return reject(
                        Rule::Consistency,
                        "balanskrav.synnerliga_skal",
                        "beslutets plan för ekonomin har inget år med negativt resultat; synnerliga skäl behövs inte",
                    );
                }
            }
            let mut seen = BTreeSet::new();
            for (i, r) in b.reglering.iter().enumerate() {
                let f = |n: &str| format!("balanskrav.reglering[{i}].{n}");
                if r.amount <= 0 {
                    return reject(
                        Rule::Input,
                        f("amount"),
                        "beloppet som återställs ska vara större än noll",
                    );
                }
                if !negative.contains_key(&r.of_year)
                    && !self.balanskrav_deficits.contains_key(&r.of_year)
                {
                    return reject(
                        Rule::Reference,
                        f("of_year"),
                        format!("{} har inget negativt resultat att återställa, varken i planen för ekonomin eller i en årsredovisning", r.of_year),
                    );
                }
                if !(r.of_year + 1..=r.of_year + 3).contains(&r.year) {
                    return reject(
                        Rule::Law,
                        f("year"),
                        format!(
                            "KL 11 kap 12 §: ett negativt resultat för {} återställs under de tre följande åren, {}–{}, inte {}",
                            r.of_year,
                            r.of_year + 1,
                            r.of_year + 3,
                            r.year
                        ),
                    );
                }
                if !seen.insert((r.of_year, r.year)) {
                    return reject(Rule::Input, f("year"), "en rad per år och underskott");
                }
            }
            // What a reglering restores is there to restore: no more than
            // the deficit, and, in a year of this plan, out of that year's
            // own surplus (a negative year restores nothing; two deficits
            // cannot both count one surplus).
            let results: BTreeMap<i32, Tkr> = economy
                .iter()
                .map(|y| (y.year, y.resultat.resultat))
                .collect();
            let mut per_year: BTreeMap<i32, Tkr> = BTreeMap::new();
            for (i, r) in b.reglering.iter().enumerate() {
                let f = |n: &str| format!("balanskrav.reglering[{i}].{n}");
                let in_year = per_year.entry(r.year).or_default();
                *in_year = in_year.saturating_add(r.amount);
                if let Some(result) = results.get(&r.year) {
                    if *in_year > (*result).max(0) {
                        return reject(
                            Rule::Law,
                            f("year"),
                            format!(
                                "KL 11 kap 12 §: planen för ekonomin har resultatet {result} tkr för {}, som inte räcker till att återställa {in_year} tkr",
                                r.year
                            ),
                        );
                    }
                }
                let deficit = negative
                    .get(&r.of_year)
                    .or_else(|| self.balanskrav_deficits.get(&r.of_year))
                    .copied()
                    .unwrap_or_default();
                if b.planned_for(r.of_year) > deficit {
                    return reject(
                        Rule::Consistency,
                        f("amount"),
                        format!(
                            "återställer mer än underskottet för {}, {deficit} tkr",
                            r.of_year
                        ),
                    );
                }
            }
            let mut seen = BTreeSet::new();
            for (i, a) in b.avstar.iter().enumerate() {
                let f = |n: &str| format!("balanskrav.avstar[{i}].{n}");
                if !self.balanskrav_deficits.contains_key(&a.of_year) {
                    return reject(
                        Rule::Reference,
                        f("of_year"),
                        format!("ingen årsredovisning har redovisat ett negativt balanskravsresultat för {}", a.of_year),
                    );
                }
                check_text(&f("reason"), &a.reason)?;
                if !seen.insert(a.of_year) {
                    return reject(Rule::Input, f("of_year"), "ett avstående per år");
                }
            }
        }
        for (i, y) in economy.iter().enumerate() {
            let Some(deficit) = negative.get(&y.year) else {
                continue;
            };
            let planned = balanskrav.map_or(0, |b| b.planned_for(y.year));
            let excused = balanskrav.is_some_and(|b| b.synnerliga_skal.is_some());
            if planned < *deficit && !excused {
                return reject(
                    Rule::Law,
                    format!("economy[{i}].resultat.resultat"),
                    format!(
                        "KL 11 kap 5 §: budgeten upprättas så att intäkterna överstiger kostnaderna; resultatet {} tkr för {} kräver synnerliga skäl (balanskrav.synnerliga_skal) eller en plan som återställer det inom tre år (balanskrav.reglering, nu {planned} tkr)",
                        y.resultat.resultat, y.year
                    ),
                );
            }
        }
        Ok(())
    }

    /// A report's investeringsuppföljning and balanskravsutredning: each
    /// investment by its own body (or KS for all), with a forecast where
    /// the report has one; the balanskrav by KS in a delårsrapport or
    /// årsredovisning, its sums right and any use of the RUR under KF's
    /// riktlinjer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn report_economy(
        &self,
        p: &Provenance,
        body: &str,
        is_ks: bool,
        year: i32,
        kind: ReportKind,
        economy: &ReportedEconomy<'_>,
        events: &mut Vec<Event>,
    ) -> Result<(), Rejection> {
        let mut seen = BTreeSet::new();
        for (i, o) in economy.investments.iter().enumerate() {
            let f = |n: &str| format!("investments[{i}].{n}");
            let Some(inv) = self.investments.get(&o.investment) else {
                return reject(
                    Rule::Reference,
                    f("investment"),
                    format!("ingen investering {:?}", o.investment),
                );
            };
            if inv.body != body && !is_ks {
                return reject(
                    Rule::P1,
                    f("investment"),
                    format!(
                        "{body:?} följer upp sina egna investeringar, inte {}s",
                        inv.body
                    ),
                );
            }
            if !inv.years.iter().any(|y| y.year == year) {
                return reject(
                    Rule::Reference,
                    f("investment"),
                    format!(
                        "investeringen {:?} har ingen budget för {year}",
                        o.investment
                    ),
                );
            }
            if !seen.insert(o.investment.as_str()) {
                return reject(Rule::Input, f("investment"), "en rad per investering");
            }
            crate::reports::check_forecast(&f("forecast"), kind, o.forecast)?;
            events.push(Event::InvestmentFollowedUp(InvestmentFollowedUp {
                investment: o.investment.clone(),
                body: inv.body.clone(),
                year,
                report: kind,
                // Set by the report, which knows its period.
                period: None,
                outcome: o.outcome,
                forecast: o.forecast,
            }));
        }
        let Some(b) = economy.balanskrav else {
            return Ok(());
        };
        self.check_balanskrav(p, is_ks, kind, b)?;
        events.push(Event::BalanskravReported(BalanskravReported {
            year,
            report: kind,
            utredning: b.clone(),
        }));
        Ok(())
    }

    /// The balanskravsutredning: KS's, in a delårsrapport or
    /// årsredovisning, its sums right, and any use of the RUR under KF's
    /// riktlinjer (KL 11 kap 14 §).
    fn check_balanskrav(
        &self,
        p: &Provenance,
        is_ks: bool,
        kind: ReportKind,
        b: &Balanskravsutredning,
    ) -> Result<(), Rejection> {
        if !is_ks {
            return reject(
                Rule::P1,
                "balanskrav",
                "balanskravsutredningen är kommunstyrelsens, för hela kommunen",
            );
        }
        if kind == ReportKind::Budgetuppfoljning {
            return reject(
                Rule::Consistency,
                "balanskrav",
                "balanskravsresultatet redovisas i delårsrapporten och årsredovisningen",
            );
        }
        if b.balanskravsresultat != b.arets_resultat.saturating_add(b.justeringar) {
            return reject(
                Rule::Consistency,
                "balanskrav.balanskravsresultat",
                format!(
                    "balanskravsresultatet är årets resultat + justeringar = {}, inte {}",
                    b.arets_resultat.saturating_add(b.justeringar),
                    b.balanskravsresultat
                ),
            );
        }
        for (field, amount) in [
            ("balanskrav.till_rur", b.till_rur),
            ("balanskrav.fran_rur", b.fran_rur),
        ] {
            if amount < 0 {
                return reject(Rule::Input, field, "belopp är aldrig negativa");
            }
        }
        let after = b
            .balanskravsresultat
            .saturating_sub(b.till_rur)
            .saturating_add(b.fran_rur);
        if b.efter_rur != after {
            return reject(
                Rule::Consistency,
                "balanskrav.efter_rur",
                format!("resultatet efter RUR är balanskravsresultat − till RUR + från RUR = {after}, inte {}", b.efter_rur),
            );
        }
        if b.till_rur > 0 || b.fran_rur > 0 {
            let Some(doc) = &b.riktlinjer else {
                return reject(
                    Rule::Law,
                    "balanskrav.riktlinjer",
                    "KL 11 kap 14 §: den som använder resultatutjämningsreserven anger fullmäktiges riktlinjer för den",
                );
            };
            self.check_rur_riktlinjer("balanskrav.riktlinjer", doc, p.effective_date)?;
        }
        Ok(())
    }

    /// KL 11 kap 14 §: the reserve is used under KF's own riktlinjer, a
    /// styrdokument in force.
    pub(crate) fn check_rur_riktlinjer(
        &self,
        field: &str,
        doc: &str,
        on: NaiveDate,
    ) -> Result<(), Rejection> {
        let Some(d) = self.documents.get(doc) else {
            return reject(
                Rule::Reference,
                field,
                format!("inget styrdokument {doc:?}"),
            );
        };
        let council = self.kommun.as_ref().map(|k| k.council.as_str());
        let in_force = !d.repealed && d.valid_from <= on && d.valid_until.is_none_or(|u| on <= u);
        if d.kind != DocumentKind::Riktlinje || Some(d.owner.as_str()) != council || !in_force {
            return reject(
                Rule::Law,
                field,
                format!("KL 11 kap 14 §: resultatutjämningsreserven används enligt fullmäktiges riktlinjer, och {doc:?} är inte riktlinjer som fullmäktige antagit och som gäller {on}"),
            );
        }
        Ok(())
    }

    /// KF's goals in the budget: new ids, 1–4 years from the budget year,
    /// indicators that hold.
    fn budget_goals(
        &self,
        year: i32,
        goals: &[GoalInput],
        events: &mut Vec<Event>,
    ) -> Result<(), Rejection> {
        let mut seen = BTreeSet::new();
        for (i, g) in goals.iter().enumerate() {
            let f = |n: &str| format!("goals[{i}].{n}");
            self.check_new_goal(&f, &g.id, &g.title, &mut seen)?;
            if g.from_year < year || g.to_year < g.from_year || g.to_year - g.from_year > 3 {
                return reject(
                    Rule::Consistency,
                    f("to_year"),
                    format!("ett KF-mål gäller 1–4 år från budgetåret {year}"),
                );
            }
            // The process runs every year the goal is in force.
            if let Some(p) = &g.process {
                self.open_process(&f("process"), p, g.to_year)?;
            }
            self.check_goal_tags(
                &f,
                (g.from_year, g.to_year),
                &g.indicators,
                &g.malgrupper,
                &g.agenda2030,
            )?;
            events.push(Event::KfGoalAdopted(KfGoalAdopted {
                budget_year: year,
                goal: AdoptedGoal::from(g),
            }));
        }
        Ok(())
    }

    /// P3: the goals an uppdrag serves are KF goals in force in the budget
    /// year, adopted before or in the same decision (`adopted`), each once.
    fn check_uppdrag_goals(
        &self,
        field: &str,
        year: i32,
        named: &[String],
        adopted: &[GoalInput],
    ) -> Result<(), Rejection> {
        let mut seen = BTreeSet::new();
        for (j, id) in named.iter().enumerate() {
            let field = format!("{field}[{j}]");
            if !seen.insert(id) {
                return reject(
                    Rule::Input,
                    field,
                    format!("KF-målet {id:?} står två gånger"),
                );
            }
            let in_force = match (self.goals.get(id), adopted.iter().find(|g| g.id == *id)) {
                (Some(g), _) => g.in_force(year),
                (None, Some(g)) => (g.from_year..=g.to_year).contains(&year),
                (None, None) => {
                    return reject(
                        Rule::P3,
                        field,
                        format!("inget KF-mål {id:?}: ett uppdrag kan bara tjäna KF:s mål"),
                    )
                }
            };
            if !in_force {
                return reject(
                    Rule::P3,
                    field,
                    format!("KF-målet {id:?} gäller inte {year}, budgetåret uppdraget ges"),
                );
            }
            let process = match (self.goals.get(id), adopted.iter().find(|g| g.id == *id)) {
                (Some(g), _) => g.process.as_ref(),
                (None, Some(g)) => g.process.as_ref(),
                (None, None) => None,
            };
            if let Some(p) = process {
                self.open_process(&field, p, year)?;
            }
        }
        Ok(())
    }

    fn budget_goals_and_uppdrag(
        &self,
        year: i32,
        goals: &[GoalInput],
        uppdrag: &UppdragDecisions<'_>,
        events: &mut Vec<Event>,
    ) -> Result<(), Rejection> {
        let UppdragDecisions {
            given,
            changed,
            extended,
            closed,
        } = *uppdrag;
        self.budget_goals(year, goals, events)?;
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for (i, u) in given.iter().enumerate() {
            let f = |n: &str| format!("uppdrag_given[{i}].{n}");
            check_id(&f("id"), &u.id)?;
            check_text(&f("title"), &u.title)?;
            check_text(&f("description"), &u.description)?;
            if self.uppdrag.contains_key(&u.id) || !touched.insert(u.id.clone()) {
                return reject(
                    Rule::P6,
                    f("id"),
                    format!("uppdraget {:?} finns redan", u.id),
                );
            }
            self.check_recipients(&f("to"), &u.to)?;
            if u.due.year() < year {
                return reject(
                    Rule::Consistency,
                    f("due"),
                    format!("slutdatum före budgetåret {year}"),
                );
            }
            if u.resources.is_some_and(|r| r < 0) {
                return reject(Rule::Input, f("resources"), "får inte vara negativt");
            }
            self.check_uppdrag_goals(&f("goals"), year, &u.goals, goals)?;
            events.push(Event::UppdragGiven(UppdragGiven {
                budget_year: year,
                uppdrag: GivenUppdrag::from(u),
            }));
        }
        let mut existing_open = |field: String, id: &str| -> Result<(), Rejection> {
            match self.uppdrag.get(id) {
                None => reject(Rule::Reference, field, format!("inget uppdrag {id:?}")),
                Some(u) if u.closed => {
                    reject(Rule::P2, field, format!("uppdraget {id:?} är avslutat"))
                }
                Some(_) if !touched.insert(id.to_owned()) => reject(
                    Rule::Input,
                    field,
                    format!("uppdraget {id:?} finns två gånger i beslutet"),
                ),
                Some(_) => Ok(()),
            }
        };
        for (i, c) in changed.iter().enumerate() {
            existing_open(format!("uppdrag_changed[{i}].id"), &c.id)?;
            if let Some(to) = &c.to {
                self.check_recipients(&format!("uppdrag_changed[{i}].to"), to)?;
            }
            events.push(Event::UppdragChanged(UppdragChanged {
                budget_year: year,
                id: c.id.clone(),
                title: c.title.clone(),
                description: c.description.clone(),
                to: c.to.clone(),
                resources: c.resources,
            }));
        }
        for (id, due) in extended {
            existing_open(format!("uppdrag_extended.{id}"), id)?;
            if self.uppdrag.get(id).is_some_and(|u| *due <= u.due) {
                return reject(
                    Rule::Consistency,
                    format!("uppdrag_extended.{id}"),
                    "en förlängning flyttar slutdatumet senare",
                );
            }
            events.push(Event::UppdragExtended(UppdragExtended {
                budget_year: year,
                id: id.clone(),
                due: *due,
            }));
        }
        for (id, outcome) in closed {
            existing_open(format!("uppdrag_closed.{id}"), id)?;
            check_text(&format!("uppdrag_closed.{id}"), outcome)?;
            events.push(Event::UppdragClosed(UppdragClosed {
                budget_year: year,
                id: id.clone(),
                outcome: outcome.clone(),
            }));
        }
        Ok(())
    }
}

/// KL 11 kap 8 §: a plan för ekonomin for three years, the budget year first;
/// each year's result, balance and financing add up.
fn check_economy(budget_year: i32, economy: &[EconomicYear]) -> Result<(), Rejection> {
    let years: Vec<i32> = economy.iter().map(|e| e.year).collect();
    let want = [budget_year, budget_year + 1, budget_year + 2];
    if years != want {
        return reject(
            Rule::Law,
            "economy",
            format!("KL 11 kap 8 §: planen för ekonomin omfattar {}–{} i ordning, budgetåret först (gavs {years:?})", want[0], want[2]),
        );
    }
    for (i, e) in economy.iter().enumerate() {
        let r = &e.resultat;
        if r.resultat != r.computed() {
            return reject(
                Rule::Consistency,
                format!("economy[{i}].resultat.resultat"),
                format!(
                    "resultatet är skatteintäkter + generella statsbidrag − nettokostnader + finansnetto = {}, inte {}",
                    r.computed(),
                    r.resultat
                ),
            );
        }
        let b = &e.balans;
        if b.tillgangar != b.eget_kapital.saturating_add(b.skulder) {
            return reject(
                Rule::Consistency,
                format!("economy[{i}].balans.tillgangar"),
                format!(
                    "tillgångarna är eget kapital + skulder = {}, inte {}",
                    b.eget_kapital.saturating_add(b.skulder),
                    b.tillgangar
                ),
            );
        }
        let f = &e.finansiering;
        let sum = f
            .lopande_verksamhet
            .saturating_add(f.investeringsverksamhet)
            .saturating_add(f.finansieringsverksamhet);
        if f.forandring_likvida_medel != sum {
            return reject(
                Rule::Consistency,
                format!("economy[{i}].finansiering.forandring_likvida_medel"),
                format!(
                    "förändringen av likvida medel är de tre kassaflödenas summa {sum}, inte {}",
                    f.forandring_likvida_medel
                ),
            );
        }
    }
    Ok(())
}

/// The project as it stands after a restatement (earlier budgets' years
/// kept): its years within the project's and its amounts within its total (P4).
fn check_restated(f: &dyn Fn(&str) -> String, merged: &Investment) -> Result<(), Rejection> {
    if let Some(y) = merged
        .years
        .iter()
        .find(|y| !(merged.start_year..=merged.finish_year).contains(&y.year))
    {
        return reject(
            Rule::Consistency,
            f("start_year"),
            format!(
                "projektet har redan {} tkr budgeterat för {}, utanför {}–{}",
                y.amount, y.year, merged.start_year, merged.finish_year
            ),
        );
    }
    let sum = merged
        .years
        .iter()
        .fold(0i64, |s, y| s.saturating_add(y.amount));
    if sum > merged.total {
        return reject(
            Rule::P4,
            f("total"),
            format!(
                "med tidigare budgeterade år blir årsbeloppen {sum} tkr, mer än projektets totala utgift {} tkr",
                merged.total
            ),
        );
    }
    Ok(())
}

/// An investment's years lie within the project and the budget, and the
/// yearly amounts stay within its total (P4).
fn check_investment(
    f: &dyn Fn(&str) -> String,
    inv: &Investment,
    budget_years: &std::ops::RangeInclusive<i32>,
) -> Result<(), Rejection> {
    if inv.total < 0 {
        return reject(Rule::Input, f("total"), "får inte vara negativ");
    }
    if inv.finish_year < inv.start_year {
        return reject(
            Rule::Consistency,
            f("finish_year"),
            format!("slutår {} före startår {}", inv.finish_year, inv.start_year),
        );
    }
    if inv.years.is_empty() {
        return reject(
            Rule::Input,
            f("years"),
            "anger beloppet för minst ett av budgetens år",
        );
    }
    let mut seen = BTreeSet::new();
    let mut sum: Tkr = 0;
    for (j, y) in inv.years.iter().enumerate() {
        let field = f(&format!("years[{j}].year"));
        if !budget_years.contains(&y.year) || !(inv.start_year..=inv.finish_year).contains(&y.year)
        {
            return reject(
                Rule::Consistency,
                field,
                format!(
                    "{} ligger utanför budgetens år {}–{} eller projektets {}–{}",
                    y.year,
                    budget_years.start(),
                    budget_years.end(),
                    inv.start_year,
                    inv.finish_year
                ),
            );
        }
        if !seen.insert(y.year) {
            return reject(Rule::Input, field, "ett belopp per år");
        }
        if y.amount < 0 {
            return reject(
                Rule::Input,
                f(&format!("years[{j}].amount")),
                "får inte vara negativt",
            );
        }
        sum = sum.saturating_add(y.amount);
    }
    if sum > inv.total {
        return reject(
            Rule::P4,
            f("years"),
            format!(
                "årsbeloppen {sum} tkr överstiger projektets totala utgift {} tkr",
                inv.total
            ),
        );
    }
    Ok(())
}

impl KommunState {
    pub(crate) fn decide_adopt_budget(&self, provenance: &Provenance, c: &AdoptBudget) -> Decided {
        let AdoptBudget {
            year,
            stage,
            ramar,
            skattesats,
            economy,
            investments,
            rur,
            balanskrav,
            goals,
            uppdrag_given,
            uppdrag_changed,
            uppdrag_extended,
            uppdrag_closed,
        } = c;
        self.decide_budget(
            provenance,
            &crate::budget::BudgetDecision {
                year: *year,
                stage: *stage,
                ramar,
                goals,
                uppdrag: crate::budget::UppdragDecisions {
                    given: uppdrag_given,
                    changed: uppdrag_changed,
                    extended: uppdrag_extended,
                    closed: uppdrag_closed,
                },
                parts: crate::budget::BudgetParts {
                    skattesats: *skattesats,
                    economy,
                    investments,
                    rur,
                    balanskrav: balanskrav.as_ref(),
                },
            },
        )
    }

    pub(crate) fn decide_amend_budget(&self, provenance: &Provenance, c: &AmendBudget) -> Decided {
        let AmendBudget {
            year,
            change,
            ramar,
            skattesats,
            economy,
            investments,
            rur,
            balanskrav,
        } = c;
        self.decide_amendment(
            provenance,
            *year,
            *change,
            ramar,
            &crate::budget::BudgetParts {
                skattesats: *skattesats,
                economy,
                investments,
                rur,
                balanskrav: balanskrav.as_ref(),
            },
        )
    }
}

/// Folding this area's events into the state.
impl KommunState {
    pub(crate) fn evolve_budget_adopted(&mut self, _meta: &EventMeta, e: &BudgetAdopted) {
        let BudgetAdopted { year, plan_years } = e.clone();
        self.budgets.insert(year, plan_years);
    }

    /// A negative balanskravsresultat after RUR in KS's årsredovisning is an
    /// obligation to restore it (a delårsrapport's is a forecast).
    pub(crate) fn evolve_balanskrav_reported(&mut self, _meta: &EventMeta, e: &BalanskravReported) {
        if e.report == ReportKind::Arsredovisning && e.utredning.efter_rur < 0 {
            self.balanskrav_deficits
                .insert(e.year, e.utredning.efter_rur.saturating_neg());
        }
    }

    pub(crate) fn evolve_ram_set(&mut self, _meta: &EventMeta, e: &RamSet) {
        let RamSet {
            body, year, amount, ..
        } = e.clone();
        self.ramar.insert((body, year), amount);
    }

    pub(crate) fn evolve_budget_established(&mut self, _meta: &EventMeta, e: &BudgetEstablished) {
        let BudgetEstablished { year } = e.clone();
        self.established.insert(year);
    }

    pub(crate) fn evolve_skattesats_set(&mut self, _meta: &EventMeta, e: &SkattesatsSet) {
        let SkattesatsSet {
            budget_year,
            skattesats,
            ..
        } = e.clone();
        self.skattesatser.insert(budget_year, skattesats);
    }

    pub(crate) fn evolve_investment_budgeted(&mut self, _meta: &EventMeta, e: &InvestmentBudgeted) {
        let InvestmentBudgeted {
            investment,
            budget_year,
            change,
        } = e.clone();
        let merged = match self.investments.get(&investment.id) {
            Some(old) => old.restated(&investment, budget_year, change),
            None => investment,
        };
        self.investments.insert(merged.id.clone(), merged);
    }

    pub(crate) fn evolve_kf_goal_adopted(&mut self, _meta: &EventMeta, e: &KfGoalAdopted) {
        let KfGoalAdopted { goal, .. } = e.clone();
        for i in &goal.indicators {
            self.indicators.insert((goal.id.clone(), i.id.clone()));
            self.note_kolada_kpi(&goal.id, i);
        }
        self.goals.insert(
            goal.id,
            KfGoal {
                kind: goal.kind,
                title: goal.title,
                from_year: goal.from_year,
                to_year: goal.to_year,
                process: goal.process,
                of_process: false,
            },
        );
    }
}

/// The goal as the event records it, from KF's decision.
impl From<&GoalInput> for AdoptedGoal {
    fn from(g: &GoalInput) -> Self {
        AdoptedGoal {
            id: g.id.clone(),
            kind: g.kind,
            title: g.title.clone(),
            from_year: g.from_year,
            to_year: g.to_year,
            indicators: g.indicators.clone(),
            process: g.process.clone(),
            malgrupper: g.malgrupper.clone(),
            agenda2030: g.agenda2030.clone(),
        }
    }
}

/// The uppdrag as the event records it, from KF's decision.
impl From<&UppdragInput> for GivenUppdrag {
    fn from(u: &UppdragInput) -> Self {
        GivenUppdrag {
            id: u.id.clone(),
            title: u.title.clone(),
            description: u.description.clone(),
            to: u.to.clone(),
            resources: u.resources,
            due: u.due,
            goals: u.goals.clone(),
        }
    }
}
