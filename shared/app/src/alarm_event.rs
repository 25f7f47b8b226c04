//! The event the alarm intake function receives, in any of its three
//! shapes: SNS envelopes are unwrapped by the shared [`super::sns`] reader,
//! their messages and the other shapes parsed by [`klaxon_core::alarm`].

use serde_json::Value;

use super::sns::{SnsError, sns_messages};
use klaxon_core::alarm::{
    AlarmStateChange, IntakeError, MAX_EVENT_BYTES, parse_direct_event, parse_sns_message,
};

/// Parses raw bytes as delivered to the Lambda function.
pub fn parse_alarm_bytes(bytes: &[u8]) -> Result<Vec<AlarmStateChange>, IntakeError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(IntakeError::EventTooLarge {
            len: bytes.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| IntakeError::NotJson(e.to_string()))?;
    parse_alarm_event(&value)
}

/// Parses an already-decoded event. SNS events may carry several records, so
/// the result is a list; the other routes always yield exactly one change.
pub fn parse_alarm_event(event: &Value) -> Result<Vec<AlarmStateChange>, IntakeError> {
    if event.get("Records").is_none() {
        return parse_direct_event(event).map(|c| vec![c]);
    }
    sns_messages(event)
        .map_err(envelope_error)?
        .map(|record| {
            let record = record.map_err(envelope_error)?;
            parse_sns_message(record.message).map_err(|e| IntakeError::InSnsRecord {
                index: record.index,
                source: Box::new(e),
            })
        })
        .collect()
}

/// An SNS envelope problem in intake's terms.
fn envelope_error(e: SnsError) -> IntakeError {
    match e {
        // Only events with a `Records` key are read as SNS.
        SnsError::NoRecordsArray => {
            IntakeError::Unrecognised("'Records' that is not an array".into())
        }
        SnsError::NoRecords => IntakeError::NoRecords,
        SnsError::NoMessage { index } => IntakeError::InSnsRecord {
            index,
            source: Box::new(IntakeError::MissingField {
                format: "SNS notification",
                field: "Sns.Message".into(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use klaxon_core::alarm::{AlarmState, Route};

    fn eventbridge(state: &str) -> Value {
        let mut e: Value =
            serde_json::from_str(include_str!("../../../events/eventbridge-alarm.json")).unwrap();
        e["detail"]["state"]["value"] = json!(state);
        e
    }

    #[test]
    fn each_shape_parses() {
        for (file, route) in [
            (
                include_str!("../../../events/eventbridge-alarm.json"),
                Route::EventBridge,
            ),
            (include_str!("../../../events/sns-alarm.json"), Route::Sns),
            (
                include_str!("../../../events/alarm-action.json"),
                Route::AlarmAction,
            ),
        ] {
            let changes = parse_alarm_bytes(file.as_bytes()).unwrap();
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].route, route);
        }
    }

    #[test]
    fn an_sns_wrapped_eventbridge_event_is_accepted() {
        let sns = json!({"Records": [{"Sns": {"Message": eventbridge("OK").to_string()}}]});
        let c = &parse_alarm_event(&sns).unwrap()[0];
        assert_eq!(c.state, AlarmState::Ok);
        assert_eq!(c.route, Route::Sns);
    }

    #[test]
    fn every_sns_record_is_parsed_and_errors_name_the_record() {
        let message = eventbridge("ALARM").to_string();
        let two =
            json!({"Records": [{"Sns": {"Message": message}}, {"Sns": {"Message": message}}]});
        assert_eq!(parse_alarm_event(&two).unwrap().len(), 2);

        let cases = [
            (
                json!({"Records": [{"Sns": {"Message": message}}, {"Sns": {}}]}),
                "SNS record 1: SNS notification: required field 'Sns.Message' is missing or not a string",
            ),
            (
                json!({"Records": [{"Sns": {"Message": " "}}]}),
                "SNS record 0: SNS notification: required field 'Sns.Message' is missing or not a string",
            ),
            (
                json!({"Records": [{"Sns": {"Message": "{oops"}}]}),
                "SNS record 0: SNS notification: field 'Sns.Message' is invalid: not JSON",
            ),
            (json!({"Records": []}), "SNS event has no records"),
            (json!({"Records": 7}), "got 'Records' that is not an array"),
        ];
        for (event, want) in cases {
            let e = parse_alarm_event(&event).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn rejects_an_oversized_event() {
        let mut e = eventbridge("ALARM");
        e["detail"]["configuration"]["description"] = json!("x".repeat(1024 * 1024));
        let bytes = serde_json::to_vec(&e).unwrap();
        assert!(matches!(
            parse_alarm_bytes(&bytes),
            Err(IntakeError::EventTooLarge { .. })
        ));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for raw in [
            &b"not json"[..],
            b"[]",
            b"42",
            b"{}",
            b"{\"Records\": []}",
            b"{\"Records\": [{\"Sns\": {\"Message\": \"{oops\"}}]}",
            b"{\"alarmArn\": \"arn:aws:sns:us-east-1:1:topic\"}",
            b"\xff\xfe",
        ] {
            assert!(
                parse_alarm_bytes(raw).is_err(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
