//! Events as AWS delivers them, built from the samples in `events/` with
//! the fields a test needs changed (alarm name, state, time, sender, text).

use serde_json::{Value, json};

use crate::HarnessError;
use crate::template::repo_root;

/// Loads `events/<name>`.
pub fn sample(name: &str) -> Result<Value, HarnessError> {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| HarnessError::Template(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| HarnessError::Template(format!("{}: {e}", path.display())))
}

/// How an alarm state change is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    EventBridge,
    Sns,
    AlarmAction,
}

/// An alarm state change for `alarm` moving to `state` at `at` (ISO 8601).
pub fn alarm(
    delivery: Delivery,
    alarm: &str,
    state: &str,
    at: &str,
) -> Result<Value, HarnessError> {
    let arn = format!("arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:{alarm}");
    let cw_time = at.replace('Z', "+0000");
    // Each state comes with CloudWatch's wording for it.
    let reason = match state {
        "OK" => {
            "Threshold Crossed: 1 out of the last 1 datapoints [0.0] was not greater than the threshold (5.0)."
        }
        "INSUFFICIENT_DATA" => "Insufficient Data: 1 datapoint was unknown.",
        _ => {
            "Threshold Crossed: 1 out of the last 1 datapoints [12.0] was greater than the threshold (5.0)."
        }
    };
    match delivery {
        Delivery::EventBridge => {
            let mut e = sample("eventbridge-alarm.json")?;
            e["id"] = json!(format!("evt-{alarm}-{state}-{at}"));
            e["time"] = json!(at);
            e["resources"] = json!([arn]);
            e["detail"]["alarmName"] = json!(alarm);
            e["detail"]["state"]["value"] = json!(state);
            e["detail"]["state"]["timestamp"] = json!(cw_time);
            e["detail"]["state"]["reason"] = json!(reason);
            Ok(e)
        }
        Delivery::Sns => {
            let mut e = sample("sns-alarm.json")?;
            let inner = e["Records"][0]["Sns"]["Message"]
                .as_str()
                .ok_or_else(|| HarnessError::Template("sns-alarm.json has no Message".into()))?;
            let mut msg: Value = serde_json::from_str(inner)
                .map_err(|e| HarnessError::Template(format!("sns-alarm.json Message: {e}")))?;
            msg["AlarmName"] = json!(alarm);
            msg["AlarmArn"] = json!(arn);
            msg["NewStateValue"] = json!(state);
            msg["StateChangeTime"] = json!(cw_time);
            msg["NewStateReason"] = json!(reason);
            e["Records"][0]["Sns"]["Message"] = json!(msg.to_string());
            Ok(e)
        }
        Delivery::AlarmAction => {
            let mut e = sample("alarm-action.json")?;
            e["alarmArn"] = json!(arn);
            e["time"] = json!(cw_time);
            e["alarmData"]["alarmName"] = json!(alarm);
            e["alarmData"]["state"]["value"] = json!(state);
            e["alarmData"]["state"]["timestamp"] = json!(cw_time);
            e["alarmData"]["state"]["reason"] = json!(reason);
            Ok(e)
        }
    }
}

/// An inbound SMS from `from` saying `body`, as the SNS event End User
/// Messaging two-way SMS produces.
pub fn sms_reply(from: &str, body: &str, message_id: &str) -> Result<Value, HarnessError> {
    let mut e = sample("sms-reply.json")?;
    let inner = e["Records"][0]["Sns"]["Message"]
        .as_str()
        .ok_or_else(|| HarnessError::Template("sms-reply.json has no Message".into()))?;
    let mut msg: Value = serde_json::from_str(inner)
        .map_err(|e| HarnessError::Template(format!("sms-reply.json Message: {e}")))?;
    msg["originationNumber"] = json!(from);
    msg["messageBody"] = json!(body);
    msg["inboundMessageId"] = json!(message_id);
    e["Records"][0]["Sns"]["Message"] = json!(msg.to_string());
    Ok(e)
}
