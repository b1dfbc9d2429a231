//! The follow-up calendar a kommun decides in the read models: `gaps`
//! names every report not adopted by its last day under it.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use styr_projections::*;
use styr_store::KommunId;

use crate::support::{decision, example_written};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn reports_due_under_the_kommuns_calendar_are_gaps_once_late() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    // KS decides the law's minimum from 2027: a delårsrapport through June.
    let calendar = decision(
        "ks-kalender",
        "ks",
        "2026-11-24",
        serde_json::json!({"command": "adopt_follow_up_calendar", "from_year": 2027, "reports": [
            {"kind": "delarsrapport", "through": "06-30", "due_days": 45},
            {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]}),
    );
    writer.record(&calendar).await;
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let missing = |today: &str| missing_reports(&p, &k, today);
    // Before 14 August nothing is late; after it every nämnd's and KS's
    // delårsrapport is; the årsredovisning is not due until March.
    assert!(missing("2027-08-14").is_empty());
    let late = missing("2027-08-15");
    assert_eq!(late.len(), 6, "{late:?}");
    assert!(late.contains("report/bun/2027/delarsrapport"));
    assert!(!late.iter().any(|g| g.contains("budgetuppfoljning")));
    assert_eq!(
        calendar_for(p.view(), &k, 2027).unwrap().unwrap().from_year,
        2027
    );
    // 2026 had no calendar of the kommun's own: nothing is judged by one.
    assert!(calendar_for(p.view(), &k, 2026).unwrap().is_none());
}

#[tokio::test]
async fn several_budgetuppfoljningar_a_year_are_each_a_report_of_their_own() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    let month = |through: &str| serde_json::json!({"kind": "budgetuppfoljning", "through": through, "due_days": 20});
    writer
        .record(&decision(
            "ks-kalender-manad",
            "ks",
            "2026-11-24",
            serde_json::json!({"command": "adopt_follow_up_calendar", "from_year": 2027, "reports": [
                month("03-31"), month("05-31"),
                {"kind": "delarsrapport", "through": "08-31", "due_days": 45},
                {"kind": "arsredovisning", "through": "12-31", "due_days": 90}]}),
        ))
        .await;
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    let missing = |today: &str| -> BTreeSet<String> {
        missing_reports(&p, &k, today)
            .into_iter()
            .filter(|e| e.contains("/bun/"))
            .collect()
    };
    let march = "report/bun/2027/budgetuppfoljning-03-31";
    let may = "report/bun/2027/budgetuppfoljning-05-31";
    assert_eq!(missing("2027-04-21"), BTreeSet::from([march.to_owned()]));
    assert_eq!(
        missing("2027-06-21"),
        BTreeSet::from([march.to_owned(), may.to_owned()])
    );
    // BUN adopts March's: that one is no longer missing, May's still is.
    writer
        .record(&decision(
            "bun-bu-2027-03",
            "bun",
            "2027-04-15",
            serde_json::json!({"command": "adopt_follow_up_report", "body": "bun", "year": 2027,
                "kind": "budgetuppfoljning", "period": "03-31", "ramar": [], "goals": [], "uppdrag": []}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    assert_eq!(missing("2027-06-21"), BTreeSet::from([may.to_owned()]));
    let r: styr_projections::docs::ReportDoc = doc(p.view(), &k, march).unwrap().unwrap();
    assert_eq!(
        (r.period.as_deref(), r.through),
        (Some("03-31"), date("2027-03-31"))
    );
    assert_eq!(history(p.view(), &k, march).unwrap().len(), 1);
}

/// The reports of 2027 the gaps call missing on `today`.
fn missing_reports(p: &Projector, k: &KommunId, today: &str) -> BTreeSet<String> {
    gaps(p.view(), k, 2027, date(today))
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == "report_missing")
        .map(|g| g.entity)
        .collect()
}
