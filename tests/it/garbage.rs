//! Bad input: a clear error, no incident, no panic.

use klaxon::ports::Incidents;
use klaxon::runtime::HandlerError;
use klaxon_local::events::{Delivery, alarm};
use serde_json::{Value, json};

use crate::common::World;

async fn rejected(w: &World, event: &Value) -> String {
    let err = w
        .local
        .deliver_alarm(event)
        .await
        .expect_err("must be rejected");
    assert!(!err.retryable(), "bad input is not retryable: {err}");
    let message = err.to_string();
    assert_eq!(HandlerError(err).error_type(), "Klaxon.InvalidEvent");
    message
}

#[tokio::test]
async fn garbage_is_rejected_with_a_clear_error_and_opens_nothing() {
    let w = World::new(60, 0).await;
    // Incidents are listed by the UTC month they open in, by the clock.
    let month_at_start = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let good = alarm(
        Delivery::EventBridge,
        &w.alarm_name("g"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();

    // Not JSON: the bytes never become an event.
    let err = klaxon::app::alarm_event::parse_alarm_bytes(b"<html>oops</html>").unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    let mut wrong_type = good.clone();
    wrong_type["detail-type"] = json!("EC2 Instance State-change Notification");
    assert!(rejected(&w, &wrong_type).await.contains("detail-type"));

    let mut missing = good.clone();
    missing["detail"].as_object_mut().unwrap().remove("state");
    assert!(rejected(&w, &missing).await.contains("detail.state.value"));

    let mut huge = good.clone();
    huge["detail"]["configuration"]["description"] = json!("x".repeat(1024 * 1024));
    assert!(rejected(&w, &huge).await.contains("at most 1024"));

    assert!(
        rejected(&w, &json!("just a string"))
            .await
            .contains("not a CloudWatch alarm")
    );
    assert!(
        rejected(&w, &json!({"hello": "world"}))
            .await
            .contains("hello")
    );
    assert!(
        rejected(&w, &json!({"Records": [{"Sns": {"Message": "{"}}]}))
            .await
            .contains("Sns.Message")
    );

    assert!(
        w.local.store.list_open().await.unwrap().is_empty(),
        "no incident"
    );
    let mut months = vec![month_at_start];
    months.push(jiff::Timestamp::now().strftime("%Y-%m").to_string());
    months.dedup();
    for m in &months {
        let month = w.local.store.list_month(m).await.unwrap();
        assert!(month.is_empty(), "no partial write in {m}: {month:?}");
    }
}
