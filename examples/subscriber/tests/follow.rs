//! The example subscriber receives the decisions it follows, in order, and
//! resumes where it left off.

use futures::StreamExt;
use styr_service::{example, Kommuner, Outcome};
use styr_store::KommunId;
use styr_testkit::TestNats;

#[tokio::test]
async fn follows_closed_uppdrag_and_deviations_in_order_and_resumes() {
    let nats = TestNats::start().await;
    let kommuner = Kommuner::new(nats.shared_store().await);
    let k = KommunId::new("vimmerby").unwrap();
    for s in example::vimmerby().unwrap() {
        assert!(matches!(
            kommuner.submit(&k, s).await.unwrap(),
            Outcome::Recorded(_)
        ));
    }

    // An application user, with only the rights the shipped permission model gives it.
    let client = nats.client_as("app").await;
    let mut notices = Box::pin(
        styr_subscriber_example::follow(client.clone(), "vimmerby", "test-sub")
            .await
            .unwrap(),
    );
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(notices.next().await.unwrap().unwrap());
    }
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|n| (n.event_type.as_str(), n.id.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("DeviationReported", "dev-2026-01"),
            ("DeviationReported", "dev-2026-02"),
            ("DeviationReported", "dev-2026-03"),
            ("DeviationReported", "dev-2026-04"),
            ("UppdragClosed", "u-2026-05"),
        ]
    );
    assert!(got.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert_eq!(got[4].decided_by["body"], "kf");
    // The subscriber goes away: its connection closes, and with it its pull request.
    drop(notices);
    drop(client);

    // A new deviation while the subscriber is away; on return it gets only that.
    let s: styr_service::Submission = serde_json::from_value(serde_json::json!({
        "idempotency_key": "dev-2026-10", "recorded_by": "exempel-laddning",
        "provenance": {"decided_by": {"kind": "official", "official": "Rektor", "unit": "bun-norra-skolan", "decision_date": "2026-10-02"}, "effective_date": "2026-10-02"},
        "command": {"command": "report_deviation", "deviation": "dev-2026-10", "unit": "bun-norra-skolan",
            "from": {"kind": "goal", "goal": "bun-m1"}, "sign": "negative", "analysis": "Lägre måluppfyllelse i åk 6", "noticed": "2026-10-01"}
    }))
    .unwrap();
    assert!(matches!(
        kommuner.submit(&k, s).await.unwrap(),
        Outcome::Recorded(_)
    ));
    // An application user, with only the rights the shipped permission model gives it.
    let client = nats.client_as("app").await;
    let notices = styr_subscriber_example::follow(client, "vimmerby", "test-sub")
        .await
        .unwrap();
    futures::pin_mut!(notices);
    let next = notices.next().await.unwrap().unwrap();
    assert_eq!(
        (next.event_type.as_str(), next.id.as_str()),
        ("DeviationReported", "dev-2026-10")
    );
}
