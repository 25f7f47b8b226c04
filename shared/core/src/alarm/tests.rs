//! Alarm parsing tests: the EventBridge and alarm-action shapes, the SNS
//! message, rejections.

use super::*;
use serde_json::json;

fn eventbridge(state: &str) -> Value {
    json!({
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-21T06:00:00Z",
        "region": "ap-northeast-1",
        "resources": ["arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:api-5xx"],
        "detail": {
            "alarmName": "api-5xx",
            "state": {"value": state, "reason": "Threshold Crossed", "timestamp": "2026-11-21T06:00:00.123+0000"},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-21T05:00:00.000+0000"},
            "configuration": {
                "description": "API errors severity:critical",
                "metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/ApiGateway", "name": "5XXError", "dimensions": {"ApiName": "shop"}}, "period": 60, "stat": "Sum"}, "returnData": true}]
            }
        }
    })
}

#[test]
fn parses_an_eventbridge_metric_alarm() {
    let c = &parse_direct_event(&eventbridge("ALARM")).unwrap();
    assert_eq!(c.alarm_name, "api-5xx");
    assert_eq!(c.state, AlarmState::Alarm);
    assert_eq!(c.previous_state, Some(AlarmState::Ok));
    assert_eq!(c.account, "123456789012");
    assert_eq!(c.region, "ap-northeast-1");
    assert_eq!(c.kind, AlarmKind::Metric);
    assert_eq!(c.route, Route::EventBridge);
    assert_eq!(c.metrics[0].name.as_deref(), Some("5XXError"));
    assert_eq!(c.metrics[0].dimensions["ApiName"], "shop");
    assert_eq!(
        c.description.as_deref(),
        Some("API errors severity:critical")
    );
}

#[test]
fn recognises_composite_and_metric_math_and_anomaly_alarms() {
    let mut e = eventbridge("ALARM");
    e["detail"]["configuration"] = json!({"alarmRule": "ALARM(a) OR ALARM(b)"});
    assert_eq!(parse_direct_event(&e).unwrap().kind, AlarmKind::Composite);

    e["detail"]["configuration"] = json!({"metrics": [
        {"id": "e1", "expression": "m1/m2*100", "returnData": true},
        {"id": "m1", "metricStat": {"metric": {"namespace": "N", "name": "a"}}}
    ]});
    assert_eq!(parse_direct_event(&e).unwrap().kind, AlarmKind::MetricMath);

    e["detail"]["configuration"] = json!({"metrics": [
        {"id": "ad1", "expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
        {"id": "m1", "metricStat": {"metric": {"namespace": "N", "name": "a"}}}
    ]});
    assert_eq!(
        parse_direct_event(&e).unwrap().kind,
        AlarmKind::AnomalyDetection
    );
}

#[test]
fn the_three_routes_give_the_same_change_key() {
    let eb = &parse_direct_event(&eventbridge("ALARM")).unwrap();
    let classic = json!({
        "AlarmName": "api-5xx",
        "AlarmDescription": "API errors severity:critical",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-11-21T06:00:00.123+0000",
        "Region": "Asia Pacific (Tokyo)",
        "AlarmArn": "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:api-5xx",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "5XXError", "Namespace": "AWS/ApiGateway", "Dimensions": [{"name": "ApiName", "value": "shop"}]}
    });
    let via_sns = &parse_sns_message(&classic.to_string()).unwrap();
    let action = json!({
        "source": "aws.cloudwatch",
        "alarmArn": "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:api-5xx",
        "accountId": "123456789012",
        "time": "2026-11-21T06:00:00.123+0000",
        "region": "ap-northeast-1",
        "alarmData": {
            "alarmName": "api-5xx",
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-21T06:00:00.123+0000"},
            "configuration": {"description": "API errors severity:critical"}
        }
    });
    let via_action = &parse_direct_event(&action).unwrap();
    assert_eq!(eb.change_key(), via_sns.change_key());
    assert_eq!(eb.change_key(), via_action.change_key());
    assert_eq!(via_sns.region, "ap-northeast-1");
    assert_eq!(via_sns.metrics, eb.metrics);
    assert_eq!(via_sns.route, Route::Sns);
    assert_eq!(via_action.route, Route::AlarmAction);
    assert_eq!(via_action.description, eb.description);
}

#[test]
fn rejects_other_eventbridge_events_by_name() {
    let mut e = eventbridge("ALARM");
    e["detail-type"] = json!("EC2 Instance State-change Notification");
    let err = parse_direct_event(&e).unwrap_err();
    assert!(
        err.to_string().contains("EC2 Instance State-change"),
        "{err}"
    );
}

#[test]
fn names_the_missing_field() {
    let mut e = eventbridge("ALARM");
    e["detail"]["state"]
        .as_object_mut()
        .unwrap()
        .remove("value");
    let err = parse_direct_event(&e).unwrap_err();
    assert_eq!(
        err,
        IntakeError::MissingField {
            format: "EventBridge event",
            field: "detail.state.value".into()
        }
    );
}

#[test]
fn rejects_an_unknown_state_and_a_bad_timestamp() {
    let e = eventbridge("BROKEN");
    assert!(
        parse_direct_event(&e)
            .unwrap_err()
            .to_string()
            .contains("detail.state.value")
    );
    let mut e = eventbridge("OK");
    e["detail"]["state"]["timestamp"] = json!("soon");
    assert!(
        parse_direct_event(&e)
            .unwrap_err()
            .to_string()
            .contains("detail.state.timestamp")
    );
}

#[test]
fn rejects_an_oversized_description() {
    let mut e = eventbridge("ALARM");
    e["detail"]["configuration"]["description"] = json!("x".repeat(1024 * 1024));
    let err = parse_direct_event(&e).unwrap_err();
    assert!(
        matches!(err, IntakeError::TooLong { max: 1024, .. }),
        "{err}"
    );
}

#[test]
fn rejects_an_arn_account_or_region_too_long_to_be_from_aws_naming_the_field() {
    // GIVEN events whose ARN, account or region is longer than AWS's
    // (they would not fit the store's keys, so the write would fail)
    let long = "9".repeat(65);
    let arn_with = |region: &str, account: &str, name: &str| {
        json!([format!(
            "arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
        )])
    };
    let cases = [
        (
            "/resources",
            arn_with("ap-northeast-1", "1", &"n".repeat(256)),
            "resources[0]",
        ),
        ("/resources", arn_with(&long, "1", "a"), "resources[0]"),
        (
            "/resources",
            arn_with("ap-northeast-1", &long, "a"),
            "resources[0]",
        ),
        ("/account", json!(long), "account"),
        ("/region", json!(long), "region"),
    ];
    for (pointer, value, field) in cases {
        let mut e = eventbridge("ALARM");
        if let Some(slot) = e.pointer_mut(pointer) {
            *slot = value;
        }
        // WHEN parsed, THEN the error names the field, not the store
        let err = parse_direct_event(&e).unwrap_err();
        assert!(
            matches!(&err, IntakeError::InvalidField { field: f, .. } if f == field),
            "{err}"
        );
    }
    // The classic message's account, and the alarm action's, likewise.
    let classic = json!({"AlarmName": "a", "AlarmArn": "arn:aws:cloudwatch:r:1:alarm:a",
        "AWSAccountId": long, "NewStateValue": "ALARM", "StateChangeTime": "2026-11-21T06:00:00Z"});
    let err = parse_sns_message(&classic.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'AWSAccountId' is invalid"), "{err}");
    // At the limits, they parse.
    let mut e = eventbridge("ALARM");
    e["resources"] = arn_with(&"r".repeat(64), &"1".repeat(64), &"n".repeat(255));
    e["account"] = json!("1".repeat(64));
    assert!(parse_direct_event(&e).is_ok());
}

#[test]
fn rejects_garbage_without_panicking() {
    for event in [
        json!([]),
        json!(42),
        json!({}),
        json!({"alarmArn": "arn:aws:sns:us-east-1:1:topic"}),
    ] {
        assert!(parse_direct_event(&event).is_err(), "{event}");
    }
    for message in ["", "{oops", "[]", "{}", "{\"AlarmArn\": 1}"] {
        assert!(parse_sns_message(message).is_err(), "{message:?}");
    }
}

#[test]
fn an_sns_wrapped_eventbridge_event_is_accepted() {
    let c = parse_sns_message(&eventbridge("OK").to_string()).unwrap();
    assert_eq!(c.state, AlarmState::Ok);
    assert_eq!(c.route, Route::Sns);
}

#[test]
fn sns_message_errors_name_the_field() {
    assert_eq!(
        parse_sns_message(" ").unwrap_err(),
        IntakeError::MissingField {
            format: "SNS notification",
            field: "Sns.Message".into()
        }
    );
    let e = parse_sns_message("{oops").unwrap_err().to_string();
    assert!(
        e.contains("field 'Sns.Message' is invalid: not JSON"),
        "{e}"
    );
}
