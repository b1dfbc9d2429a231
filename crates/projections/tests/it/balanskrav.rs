//! The obligation to restore a negative balanskravsresultat in the read
//! models: opened by KS's årsredovisning, restored by later results,
//! planned and waived by KF; `gaps` flags it while it is open.

use chrono::NaiveDate;
use styr_projections::*;
use styr_store::KommunId;
use styr_testkit::example;

use crate::support::{decision, example_written};

/// KS's årsredovisning for `year` with this balanskravsresultat (no RUR).
fn arsredovisning(year: i32, on: &str, result: i64) -> example::ExampleDecision {
    decision(
        &format!("ks-ar-{year}"),
        "ks",
        on,
        serde_json::json!({"command": "adopt_follow_up_report", "body": "ks", "year": year, "kind": "arsredovisning",
            "ramar": [], "balanskrav": {"arets_resultat": result, "balanskravsresultat": result, "efter_rur": result}}),
    )
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_negative_balanskravsresultat_stays_open_until_restored_or_waived() {
    let (nats, store, mut writer) = example_written().await;
    let k = KommunId::new("vimmerby").unwrap();
    let p = Projector::open(nats.path("proj")).unwrap();
    p.catch_up(&store, &k).await.unwrap();
    // The example's 2026 result was positive: nothing to restore.
    assert!(balanskrav_obligations(p.view(), &k).unwrap().is_empty());

    writer
        .record(&arsredovisning(2027, "2028-02-22", -6000))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let o = &balanskrav_obligations(p.view(), &k).unwrap()[0];
    assert_eq!(
        (o.year, o.deficit, o.left(), o.last_year),
        (2027, 6000, 6000, 2030)
    );
    assert_eq!(o.status, ObligationStatus::Open);
    let open = |year: i32| -> Vec<String> {
        gaps(p.view(), &k, year, date("2028-12-31"))
            .unwrap()
            .into_iter()
            .filter(|g| g.kind == "balanskrav_not_restored")
            .map(|g| g.reason)
            .collect()
    };
    let g = open(2028);
    assert_eq!(g.len(), 1, "{g:?}");
    assert!(
        g[0].contains("6\u{a0}000 tkr återstår") && g[0].contains("ingen budget har beslutat"),
        "{g:?}"
    );
    // Not a gap of the year the result belongs to.
    assert!(open(2027).is_empty());

    // KF plans the reglering; the 2028 result restores part of it.
    writer
        .record(&decision(
            "kf-reglering",
            "kf",
            "2028-03-13",
            serde_json::json!({"command": "amend_budget", "year": 2028, "change": "amendment",
                "balanskrav": {"reglering": [{"of_year": 2027, "year": 2028, "amount": 4000},
                                             {"of_year": 2027, "year": 2029, "amount": 2000}]}}),
        ))
        .await;
    // A later decision plans it anew: its plan replaces the earlier one.
    writer
        .record(&decision(
            "kf-reglering-ny",
            "kf",
            "2028-06-01",
            serde_json::json!({"command": "amend_budget", "year": 2028, "change": "amendment",
                "balanskrav": {"reglering": [{"of_year": 2027, "year": 2029, "amount": 6000}]}}),
        ))
        .await;
    writer
        .record(&arsredovisning(2028, "2029-02-20", 4000))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let o = &balanskrav_obligations(p.view(), &k).unwrap()[0];
    assert_eq!(o.left(), 2000);
    let planned: Vec<(i32, i64)> = o.planned.iter().map(|r| (r.year, r.amount)).collect();
    assert_eq!(planned, [(2029, 6000)]);
    assert_eq!(o.restored.len(), 1);
    let g = open(2029);
    assert!(
        g[0].contains("2\u{a0}000 tkr återstår") && !g[0].contains("ingen budget"),
        "{g:?}"
    );
    // As it stood before the 2028 årsredovisning: all of it was left.
    let before = as_of(&store, &k, AsOf::InForce(date("2029-01-31")))
        .await
        .unwrap();
    assert_eq!(balanskrav_obligations(&before, &k).unwrap()[0].left(), 6000);

    // KF avstår from the rest for synnerliga skäl: no longer open.
    writer
        .record(&decision(
            "kf-avstar",
            "kf",
            "2029-03-12",
            serde_json::json!({"command": "amend_budget", "year": 2029, "change": "amendment",
                "balanskrav": {"avstar": [{"of_year": 2027, "reason": "Realisationsförlust vid försäljning av en fastighet"}]}}),
        ))
        .await;
    p.catch_up(&store, &k).await.unwrap();
    let o = &balanskrav_obligations(p.view(), &k).unwrap()[0];
    assert_eq!(o.status, ObligationStatus::Waived);
    assert!(open(2029).is_empty());
}
