//! Alarm intake: the three ways CloudWatch delivers an alarm state change,
//! turned into one internal [`AlarmStateChange`].
//!
//! * the EventBridge `CloudWatch Alarm State Change` event (the default route);
//! * an SNS notification whose `Message` is the classic alarm JSON (or, when
//!   an EventBridge rule targets an SNS topic, the EventBridge event itself);
//!   the SNS envelope is read outside the core (`app::alarm_event`), the
//!   message here ([`parse_sns_message`]);
//! * the direct Lambda alarm action payload (`alarmArn` / `alarmData`).
//!
//! Metric, metric-math, anomaly-detection and composite alarms all parse.
//! Anything else becomes an [`IntakeError`] naming what was wrong.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::self_test;
use super::time::parse_instant;

mod outcome;
pub use outcome::IntakeOutcome;

/// CloudWatch caps alarm names at 255 characters.
pub const MAX_ALARM_NAME: usize = 255;
/// CloudWatch caps alarm descriptions at 1024 characters.
pub const MAX_DESCRIPTION: usize = 1024;
/// Longest state reason kept; CloudWatch reasons are short, longer ones are cut.
pub const MAX_REASON: usize = 1024;
/// The largest event EventBridge or SNS can deliver (256 KiB).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// Longest account id or region accepted, in an ARN or a field of its own.
/// AWS's are 12 digits and at most about 20 characters; a longer one is
/// not from AWS, and would not fit the store's keys.
pub const MAX_ACCOUNT_OR_REGION: usize = 64;

/// The state an alarm moved into.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl AlarmState {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ALARM" => Some(Self::Alarm),
            "OK" => Some(Self::Ok),
            "INSUFFICIENT_DATA" => Some(Self::InsufficientData),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of alarm changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    Metric,
    MetricMath,
    AnomalyDetection,
    Composite,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::MetricMath => "metric_math",
            Self::AnomalyDetection => "anomaly_detection",
            Self::Composite => "composite",
        }
    }
}

/// How the state change reached Klaxon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    EventBridge,
    Sns,
    AlarmAction,
    /// Klaxon's own self-test, invoking intake directly (see
    /// [`crate::self_test`]).
    SelfTest,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventBridge => "eventbridge",
            Self::Sns => "sns",
            Self::AlarmAction => "alarm_action",
            Self::SelfTest => "self_test",
        }
    }
}

/// A metric an alarm watches (empty for composite alarms).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MetricRef {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub dimensions: BTreeMap<String, String>,
}

/// One alarm state change, whichever route delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmStateChange {
    pub alarm_arn: String,
    pub alarm_name: String,
    pub account: String,
    pub region: String,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: String,
    /// When CloudWatch says the state changed.
    pub changed_at: Timestamp,
    pub description: Option<String>,
    pub kind: AlarmKind,
    pub metrics: Vec<MetricRef>,
    pub route: Route,
}

impl AlarmStateChange {
    /// Identifies this state change regardless of route or redelivery: the
    /// same change delivered twice (or by two routes) has the same key.
    pub fn change_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.alarm_arn,
            self.state.as_str(),
            self.changed_at.as_millisecond()
        )
    }
}

/// Why an event could not be turned into an alarm state change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntakeError {
    #[error("event is not valid JSON: {0}")]
    NotJson(String),
    #[error("event is {len} bytes; the largest event AWS delivers is {max} bytes")]
    EventTooLarge { len: usize, max: usize },
    #[error(
        "not a CloudWatch alarm state change: expected an EventBridge event \
         (detail-type 'CloudWatch Alarm State Change'), an SNS notification, or a \
         Lambda alarm action (alarmArn/alarmData); got {0}"
    )]
    Unrecognised(String),
    #[error(
        "EventBridge event has source '{event_source}' and detail-type '{detail_type}'; \
         expected 'aws.cloudwatch' / 'CloudWatch Alarm State Change'"
    )]
    WrongDetailType {
        event_source: String,
        detail_type: String,
    },
    #[error("{format}: required field '{field}' is missing or not a string")]
    MissingField { format: &'static str, field: String },
    #[error("{format}: field '{field}' is invalid: {reason}")]
    InvalidField {
        format: &'static str,
        field: String,
        reason: String,
    },
    #[error("{format}: field '{field}' is {len} characters; CloudWatch allows at most {max}")]
    TooLong {
        format: &'static str,
        field: String,
        len: usize,
        max: usize,
    },
    #[error("SNS event has no records")]
    NoRecords,
    #[error("SNS record {index}: {source}")]
    InSnsRecord {
        index: usize,
        #[source]
        source: Box<IntakeError>,
    },
}

/// Parses an event that is not an SNS envelope: an EventBridge event or a
/// Lambda alarm action. (SNS events are unwrapped by the application's SNS
/// reader, which passes each message to [`parse_sns_message`].)
pub fn parse_direct_event(event: &Value) -> Result<AlarmStateChange, IntakeError> {
    let Some(obj) = event.as_object() else {
        return Err(IntakeError::Unrecognised(json_type(event).to_string()));
    };
    if obj.contains_key("alarmData") || obj.contains_key("alarmArn") {
        return parse_alarm_action(event);
    }
    if obj.contains_key("detail-type") || obj.contains_key("detail") {
        return parse_eventbridge(event, Route::EventBridge);
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
    keys.sort_unstable();
    Err(IntakeError::Unrecognised(format!(
        "an object with keys [{}]",
        keys.join(", ")
    )))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads fields by dotted path and reports the path when one is missing.
struct Fields<'a> {
    root: &'a Value,
    format: &'static str,
}

impl<'a> Fields<'a> {
    fn get(&self, path: &str) -> Option<&'a Value> {
        path.split('.').try_fold(self.root, |v, key| v.get(key))
    }

    fn opt_str(&self, path: &str) -> Option<&'a str> {
        self.get(path).and_then(Value::as_str)
    }

    /// An optional account id or region, which must be short enough to be one.
    fn opt_account_or_region(&self, path: &str) -> Result<Option<&'a str>, IntakeError> {
        match self.opt_str(path) {
            Some(s) if s.chars().count() > MAX_ACCOUNT_OR_REGION => {
                Err(IntakeError::InvalidField {
                    format: self.format,
                    field: path.to_string(),
                    reason: too_long_for_aws(s),
                })
            }
            other => Ok(other),
        }
    }

    fn req_str(&self, path: &str) -> Result<&'a str, IntakeError> {
        match self.opt_str(path) {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(IntakeError::MissingField {
                format: self.format,
                field: path.to_string(),
            }),
        }
    }

    fn state(&self, path: &str) -> Result<AlarmState, IntakeError> {
        let raw = self.req_str(path)?;
        AlarmState::parse(raw).ok_or_else(|| IntakeError::InvalidField {
            format: self.format,
            field: path.to_string(),
            reason: format!("'{}' is not ALARM, OK or INSUFFICIENT_DATA", clip(raw, 40)),
        })
    }

    fn opt_state(&self, path: &str) -> Option<AlarmState> {
        self.opt_str(path).and_then(AlarmState::parse)
    }

    fn instant(&self, path: &str) -> Result<Timestamp, IntakeError> {
        let raw = self.req_str(path)?;
        parse_instant(raw).ok_or_else(|| IntakeError::InvalidField {
            format: self.format,
            field: path.to_string(),
            reason: format!("'{}' is not an ISO 8601 timestamp", clip(raw, 40)),
        })
    }

    fn bounded(&self, path: &str, value: &str, max: usize) -> Result<(), IntakeError> {
        let len = value.chars().count();
        if len > max {
            return Err(IntakeError::TooLong {
                format: self.format,
                field: path.to_string(),
                len,
                max,
            });
        }
        Ok(())
    }

    fn description(&self, path: &str) -> Result<Option<String>, IntakeError> {
        match self.opt_str(path) {
            Some(d) => {
                self.bounded(path, d, MAX_DESCRIPTION)?;
                Ok(Some(d.to_string()).filter(|d| !d.trim().is_empty()))
            }
            None => Ok(None),
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn too_long_for_aws(s: &str) -> String {
    format!(
        "'{}' is {} characters, longer than any AWS account id or region (at most {MAX_ACCOUNT_OR_REGION})",
        clip(s, 40),
        s.chars().count()
    )
}

/// The parts of an alarm ARN: `arn:aws:cloudwatch:<region>:<account>:alarm:<name>`,
/// each no longer than CloudWatch or AWS allow.
fn split_alarm_arn(
    arn: &str,
    format: &'static str,
    field: &str,
) -> Result<(String, String, String), IntakeError> {
    let invalid = |reason: String| IntakeError::InvalidField {
        format,
        field: field.to_string(),
        reason,
    };
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [
        "arn",
        _partition,
        "cloudwatch",
        region,
        account,
        "alarm",
        name,
    ] = parts.as_slice()
    else {
        return Err(invalid(format!(
            "'{}' is not a CloudWatch alarm ARN",
            clip(arn, 80)
        )));
    };
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return Err(invalid(format!(
            "'{}' is not a CloudWatch alarm ARN",
            clip(arn, 80)
        )));
    }
    for part in [region, account] {
        if part.chars().count() > MAX_ACCOUNT_OR_REGION {
            return Err(invalid(too_long_for_aws(part)));
        }
    }
    let len = name.chars().count();
    if len > MAX_ALARM_NAME {
        return Err(invalid(format!(
            "the alarm name in it is {len} characters; CloudWatch allows at most {MAX_ALARM_NAME}"
        )));
    }
    Ok((region.to_string(), account.to_string(), name.to_string()))
}

/// Reads the `configuration` block shared by the EventBridge and alarm-action shapes.
fn configuration(f: &Fields<'_>, base: &str) -> (AlarmKind, Vec<MetricRef>) {
    let config = f.get(&format!("{base}.configuration"));
    let Some(config) = config else {
        return (AlarmKind::Metric, Vec::new());
    };
    if config.get("alarmRule").is_some() {
        return (AlarmKind::Composite, Vec::new());
    }
    let mut kind = AlarmKind::Metric;
    let mut metrics = Vec::new();
    for m in config
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(expr) = m.get("expression").and_then(Value::as_str) {
            kind = if expr.contains("ANOMALY_DETECTION_BAND") {
                AlarmKind::AnomalyDetection
            } else if kind == AlarmKind::AnomalyDetection {
                kind
            } else {
                AlarmKind::MetricMath
            };
            continue;
        }
        if let Some(metric) = m.get("metricStat").and_then(|s| s.get("metric")) {
            let dimensions = metric
                .get("dimensions")
                .and_then(Value::as_object)
                .map(|d| {
                    d.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            metrics.push(MetricRef {
                namespace: metric
                    .get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                name: metric
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                dimensions,
            });
        }
    }
    (kind, metrics)
}

fn parse_eventbridge(event: &Value, route: Route) -> Result<AlarmStateChange, IntakeError> {
    const FORMAT: &str = "EventBridge event";
    let f = Fields {
        root: event,
        format: FORMAT,
    };
    let source = f.opt_str("source").unwrap_or("");
    let detail_type = f.opt_str("detail-type").unwrap_or("");
    // Klaxon's self-test invokes intake directly; an EventBridge rule that
    // targets an SNS topic can only carry what EventBridge delivers.
    let self_test = route == Route::EventBridge && source == self_test::EVENT_SOURCE;
    if (source != "aws.cloudwatch" && !self_test) || detail_type != "CloudWatch Alarm State Change"
    {
        return Err(IntakeError::WrongDetailType {
            event_source: clip(source, 60),
            detail_type: clip(detail_type, 60),
        });
    }
    let alarm_name = f.req_str("detail.alarmName")?;
    f.bounded("detail.alarmName", alarm_name, MAX_ALARM_NAME)?;
    if self_test && !alarm_name.starts_with(self_test::ALARM_PREFIX) {
        return Err(IntakeError::InvalidField {
            format: FORMAT,
            field: "detail.alarmName".into(),
            reason: format!(
                "a self-test alarm is named {}<run id>, not '{}'",
                self_test::ALARM_PREFIX,
                clip(alarm_name, 40)
            ),
        });
    }
    let route = if self_test { Route::SelfTest } else { route };
    let arn = event
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .ok_or(IntakeError::MissingField {
            format: FORMAT,
            field: "resources[0]".into(),
        })?;
    let (arn_region, arn_account, _) = split_alarm_arn(arn, FORMAT, "resources[0]")?;
    let description = f.description("detail.configuration.description")?;
    let (kind, metrics) = configuration(&f, "detail");
    Ok(AlarmStateChange {
        alarm_arn: arn.to_string(),
        alarm_name: alarm_name.to_string(),
        account: f
            .opt_account_or_region("account")?
            .unwrap_or(&arn_account)
            .to_string(),
        region: f
            .opt_account_or_region("region")?
            .unwrap_or(&arn_region)
            .to_string(),
        state: f.state("detail.state.value")?,
        previous_state: f.opt_state("detail.previousState.value"),
        reason: clip(f.opt_str("detail.state.reason").unwrap_or(""), MAX_REASON),
        changed_at: f.instant("detail.state.timestamp")?,
        description,
        kind,
        metrics,
        route,
    })
}

fn parse_alarm_action(event: &Value) -> Result<AlarmStateChange, IntakeError> {
    const FORMAT: &str = "Lambda alarm action";
    let f = Fields {
        root: event,
        format: FORMAT,
    };
    let arn = f.req_str("alarmArn")?;
    let (arn_region, arn_account, _) = split_alarm_arn(arn, FORMAT, "alarmArn")?;
    let alarm_name = f.req_str("alarmData.alarmName")?;
    f.bounded("alarmData.alarmName", alarm_name, MAX_ALARM_NAME)?;
    let description = f.description("alarmData.configuration.description")?;
    let (kind, metrics) = configuration(&f, "alarmData");
    Ok(AlarmStateChange {
        alarm_arn: arn.to_string(),
        alarm_name: alarm_name.to_string(),
        account: f
            .opt_account_or_region("accountId")?
            .unwrap_or(&arn_account)
            .to_string(),
        region: f
            .opt_account_or_region("region")?
            .unwrap_or(&arn_region)
            .to_string(),
        state: f.state("alarmData.state.value")?,
        previous_state: f.opt_state("alarmData.previousState.value"),
        reason: clip(
            f.opt_str("alarmData.state.reason").unwrap_or(""),
            MAX_REASON,
        ),
        changed_at: f.instant("alarmData.state.timestamp")?,
        description,
        kind,
        metrics,
        route: Route::AlarmAction,
    })
}

/// Parses the `Message` of one SNS notification: the classic alarm JSON,
/// or the EventBridge event itself when an EventBridge rule targets the
/// topic. Errors name the field `Sns.Message`.
pub fn parse_sns_message(message: &str) -> Result<AlarmStateChange, IntakeError> {
    const FORMAT: &str = "SNS notification";
    if message.trim().is_empty() {
        return Err(IntakeError::MissingField {
            format: FORMAT,
            field: "Sns.Message".into(),
        });
    }
    let inner: Value = serde_json::from_str(message).map_err(|e| IntakeError::InvalidField {
        format: FORMAT,
        field: "Sns.Message".into(),
        reason: format!("not JSON ({e})"),
    })?;
    if inner.get("detail-type").is_some() {
        // An EventBridge rule that targets an SNS topic wraps the event as-is.
        return parse_eventbridge(&inner, Route::Sns);
    }
    parse_classic(&inner)
}

/// The classic alarm notification carried in an SNS `Message`.
fn parse_classic(msg: &Value) -> Result<AlarmStateChange, IntakeError> {
    const FORMAT: &str = "SNS alarm message";
    let f = Fields {
        root: msg,
        format: FORMAT,
    };
    let arn = f.req_str("AlarmArn")?;
    let (region, arn_account, _) = split_alarm_arn(arn, FORMAT, "AlarmArn")?;
    let alarm_name = f.req_str("AlarmName")?;
    f.bounded("AlarmName", alarm_name, MAX_ALARM_NAME)?;
    let description = f.description("AlarmDescription")?;
    let (kind, metrics) = if msg.get("AlarmRule").is_some() {
        (AlarmKind::Composite, Vec::new())
    } else {
        classic_trigger(msg)
    };
    Ok(AlarmStateChange {
        alarm_arn: arn.to_string(),
        alarm_name: alarm_name.to_string(),
        account: f
            .opt_account_or_region("AWSAccountId")?
            .unwrap_or(&arn_account)
            .to_string(),
        // The classic message names the region in words ("US East (N. Virginia)"),
        // so the code comes from the ARN.
        region,
        state: f.state("NewStateValue")?,
        previous_state: f.opt_state("OldStateValue"),
        reason: clip(f.opt_str("NewStateReason").unwrap_or(""), MAX_REASON),
        changed_at: f.instant("StateChangeTime")?,
        description,
        kind,
        metrics,
        route: Route::Sns,
    })
}

fn classic_trigger(msg: &Value) -> (AlarmKind, Vec<MetricRef>) {
    let Some(trigger) = msg.get("Trigger") else {
        return (AlarmKind::Metric, Vec::new());
    };
    let dims = |v: Option<&Value>| -> BTreeMap<String, String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let name = d.get("name").and_then(Value::as_str)?;
                let value = d.get("value").and_then(Value::as_str)?;
                Some((name.to_string(), value.to_string()))
            })
            .collect()
    };
    if let Some(name) = trigger.get("MetricName").and_then(Value::as_str) {
        return (
            AlarmKind::Metric,
            vec![MetricRef {
                namespace: trigger
                    .get("Namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                name: Some(name.to_string()),
                dimensions: dims(trigger.get("Dimensions")),
            }],
        );
    }
    let mut kind = AlarmKind::MetricMath;
    let mut metrics = Vec::new();
    for m in trigger
        .get("Metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(expr) = m.get("Expression").and_then(Value::as_str)
            && expr.contains("ANOMALY_DETECTION_BAND")
        {
            kind = AlarmKind::AnomalyDetection;
        }
        if let Some(metric) = m.get("MetricStat").and_then(|s| s.get("Metric")) {
            metrics.push(MetricRef {
                namespace: metric
                    .get("Namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                name: metric
                    .get("MetricName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                dimensions: dims(metric.get("Dimensions")),
            });
        }
    }
    (kind, metrics)
}

#[cfg(test)]
mod tests;
