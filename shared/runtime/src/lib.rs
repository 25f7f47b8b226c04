//! Lambda plumbing shared by every function: tracing, typed settings parsed
//! once at cold start, and errors that tell Lambda whether to retry.

use std::time::Duration;

use lambda_runtime::Diagnostic;

use klaxon_app::AppError;
use klaxon_app::channels::Setting;
use klaxon_core::phone::Phone;

/// Starts tracing. Lambda's advanced logging controls decide the level
/// (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, default INFO) and the format
/// (`AWS_LAMBDA_LOG_FORMAT=JSON` in the template). A plain level filter, not
/// an env-filter, keeps regex out of the function binaries.
pub fn init_tracing() {
    let level = log_level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok()
            .as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false)
        .without_time();
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Lambda's log levels (TRACE..FATAL) as a tracing level filter.
fn log_level(raw: Option<&str>) -> tracing_subscriber::filter::LevelFilter {
    use tracing_subscriber::filter::LevelFilter;
    match raw.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("trace") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("warn") | Some("warning") => LevelFilter::WARN,
        Some("error") | Some("fatal") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// A setting that is missing or malformed. Raised at cold start, before the
/// first event, so a bad deployment fails loudly instead of mid-page.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Settings every function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub incidents_table: String,
    pub config_table: String,
    pub config_cache: Duration,
    pub state_machine_arn: Option<String>,
    pub sms_origination_number: Option<Phone>,
    /// The verified SES identity pages by email come from; none = no email.
    pub email_from: Option<String>,
    /// Where calls come from; none = no voice pages.
    pub voice: Option<VoiceSettings>,
    /// How the escalator retries a failing page, and for how long.
    pub page_retry: klaxon_core::escalation::PageRetry,
}

/// The stack's voice number and the SIP media application that places
/// its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceSettings {
    pub from: Phone,
    pub sip_media_application_id: String,
}

pub const ENV_INCIDENTS_TABLE: &str = "KLAXON_INCIDENTS_TABLE";
pub const ENV_CONFIG_TABLE: &str = "KLAXON_CONFIG_TABLE";
pub const ENV_CONFIG_CACHE_SECONDS: &str = "KLAXON_CONFIG_CACHE_SECONDS";
pub const ENV_STATE_MACHINE_ARN: &str = "KLAXON_STATE_MACHINE_ARN";
pub const ENV_SMS_ORIGINATION_NUMBER: &str = "KLAXON_SMS_ORIGINATION_NUMBER";
pub const ENV_EMAIL_FROM: &str = "KLAXON_EMAIL_FROM";
pub const ENV_VOICE_FROM_NUMBER: &str = "KLAXON_VOICE_FROM_NUMBER";
pub const ENV_SIP_MEDIA_APPLICATION_ID: &str = "KLAXON_SIP_MEDIA_APPLICATION_ID";
pub const ENV_PAGE_RETRY_MINUTES: &str = "KLAXON_PAGE_RETRY_MINUTES";
pub const ENV_PAGE_RETRY_FIRST_SECONDS: &str = "KLAXON_PAGE_RETRY_FIRST_SECONDS";
pub const ENV_PAGE_RETRY_MAX_SECONDS: &str = "KLAXON_PAGE_RETRY_MAX_SECONDS";

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses settings from any lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| non_empty(name).ok_or(SettingsError::Missing(name));
        let config_cache = match non_empty(ENV_CONFIG_CACHE_SECONDS) {
            None => Duration::from_secs(60),
            Some(v) => Duration::from_secs(v.trim().parse::<u64>().map_err(|e| {
                SettingsError::Invalid {
                    name: ENV_CONFIG_CACHE_SECONDS,
                    reason: format!("'{v}': {e}"),
                }
            })?),
        };
        // A positive number of seconds (or minutes); decimals allowed, as a
        // CloudFormation `Number` parameter allows them.
        let duration = |name: &'static str, unit: f64, default: jiff::SignedDuration| {
            let Some(v) = non_empty(name) else {
                return Ok(default);
            };
            match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 && n * unit <= 86_400.0 => {
                    Ok(jiff::SignedDuration::from_secs_f64(n * unit))
                }
                _ => Err(SettingsError::Invalid {
                    name,
                    reason: format!("'{v}': a positive number, at most a day"),
                }),
            }
        };
        let defaults = klaxon_core::escalation::PageRetry::default();
        let page_retry = klaxon_core::escalation::PageRetry {
            first: duration(ENV_PAGE_RETRY_FIRST_SECONDS, 1.0, defaults.first)?,
            max: duration(ENV_PAGE_RETRY_MAX_SECONDS, 1.0, defaults.max)?,
            limit: duration(ENV_PAGE_RETRY_MINUTES, 60.0, defaults.limit)?,
        };
        if page_retry.first > page_retry.max {
            return Err(SettingsError::Invalid {
                name: ENV_PAGE_RETRY_FIRST_SECONDS,
                reason: format!(
                    "the first retry ({} s) comes after the longest wait ({ENV_PAGE_RETRY_MAX_SECONDS}, {} s)",
                    page_retry.first.as_secs_f64(),
                    page_retry.max.as_secs_f64()
                ),
            });
        }
        let sms_origination_number = non_empty(ENV_SMS_ORIGINATION_NUMBER)
            .map(|v| Phone::parse(v.trim()))
            .transpose()
            .map_err(|reason| SettingsError::Invalid {
                name: ENV_SMS_ORIGINATION_NUMBER,
                reason,
            })?;
        let voice = match (
            non_empty(ENV_VOICE_FROM_NUMBER),
            non_empty(ENV_SIP_MEDIA_APPLICATION_ID),
        ) {
            (None, None) => None,
            (Some(from), Some(sma)) => Some(VoiceSettings {
                from: Phone::parse(from.trim()).map_err(|reason| SettingsError::Invalid {
                    name: ENV_VOICE_FROM_NUMBER,
                    reason,
                })?,
                sip_media_application_id: sma.trim().to_string(),
            }),
            (Some(_), None) => return Err(SettingsError::Missing(ENV_SIP_MEDIA_APPLICATION_ID)),
            (None, Some(_)) => return Err(SettingsError::Missing(ENV_VOICE_FROM_NUMBER)),
        };
        Ok(Self {
            incidents_table: required(ENV_INCIDENTS_TABLE)?,
            config_table: required(ENV_CONFIG_TABLE)?,
            config_cache,
            state_machine_arn: non_empty(ENV_STATE_MACHINE_ARN),
            sms_origination_number,
            email_from: non_empty(ENV_EMAIL_FROM).map(|v| v.trim().to_string()),
            voice,
            page_retry,
        })
    }

    /// The state machine ARN, for functions that start escalations.
    pub fn state_machine_arn(&self) -> Result<&str, SettingsError> {
        self.state_machine_arn
            .as_deref()
            .ok_or(SettingsError::Missing(ENV_STATE_MACHINE_ARN))
    }
}

pub const ENV_STACK_NAME: &str = "KLAXON_STACK_NAME";
pub const ENV_INTAKE_FUNCTION: &str = "KLAXON_INTAKE_FUNCTION";
pub const ENV_ACCOUNT_ID: &str = "KLAXON_ACCOUNT_ID";
pub const ENV_REGION: &str = "AWS_REGION";

/// The stack's name (`KLAXON_STACK_NAME`): the `Stack` dimension of the
/// metrics a function counts.
pub fn stack_name() -> Result<String, SettingsError> {
    required(&|name: &str| std::env::var(name).ok(), ENV_STACK_NAME)
}

/// A setting that must be present and not blank, trimmed.
fn required(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, SettingsError> {
    get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or(SettingsError::Missing(name))
}

/// What the self-test function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTestSettings {
    pub incidents_table: String,
    /// The intake function the synthetic alarm is delivered to (name or ARN).
    pub intake_function: String,
    /// The metric's `Stack` dimension.
    pub stack: String,
    /// Where the synthetic alarm says it comes from: this stack's account
    /// and region.
    pub account: String,
    pub region: String,
    /// The applied configuration (the numbers the SMS sandbox must allow).
    pub config_table: String,
    /// The stack's channel settings, the escalator's own: checked, never used
    /// to send.
    pub channels: klaxon_app::channels::StackChannels,
}

impl SelfTestSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let required = |name: &'static str| required(&get, name);
        let account = required(ENV_ACCOUNT_ID)?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SettingsError::Invalid {
                name: ENV_ACCOUNT_ID,
                reason: format!("'{account}' is not a 12-digit AWS account id"),
            });
        }
        Ok(Self {
            incidents_table: required(ENV_INCIDENTS_TABLE)?,
            intake_function: required(ENV_INTAKE_FUNCTION)?,
            stack: required(ENV_STACK_NAME)?,
            account,
            region: required(ENV_REGION)?,
            config_table: required(ENV_CONFIG_TABLE)?,
            channels: klaxon_app::channels::StackChannels {
                origination: Setting::from_env(get(ENV_SMS_ORIGINATION_NUMBER).as_deref()),
                email_from: Setting::from_env(get(ENV_EMAIL_FROM).as_deref()),
                voice_from: Setting::from_env(get(ENV_VOICE_FROM_NUMBER).as_deref()),
            },
        })
    }
}

pub const ENV_EVENT_BUS: &str = "KLAXON_EVENT_BUS";

/// What the event publisher reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherSettings {
    pub incidents_table: String,
    /// The bus incident events go to (name or ARN).
    pub event_bus: String,
    /// The stack's name: the `Stack` dimension of the metrics it counts.
    pub stack: String,
}

impl PublisherSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let required = |name: &'static str| required(&get, name);
        Ok(Self {
            incidents_table: required(ENV_INCIDENTS_TABLE)?,
            event_bus: required(ENV_EVENT_BUS)?,
            stack: required(ENV_STACK_NAME)?,
        })
    }
}

pub const ENV_UNDELIVERED_QUEUE_URL: &str = "KLAXON_UNDELIVERED_QUEUE_URL";
pub const ENV_SLACK_API_URL: &str = "KLAXON_SLACK_API_URL";
pub const ENV_STATUS_PAGE_BUCKET: &str = "KLAXON_STATUS_PAGE_BUCKET";

/// What the notifier reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierSettings {
    pub incidents_table: String,
    pub config_table: String,
    pub config_cache: Duration,
    /// Where deliveries that failed for good are parked.
    pub undelivered_queue_url: String,
    /// The verified SES identity stakeholder email comes from; none = no
    /// email destinations (their deliveries fail, on the timeline).
    pub email_from: Option<String>,
    /// Slack's Web API (a stand-in's, in local tests).
    pub slack_api_url: String,
}

impl NotifierSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let common = Settings::from_lookup(&get)?;
        let optional = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(Self {
            incidents_table: common.incidents_table,
            config_table: common.config_table,
            config_cache: common.config_cache,
            undelivered_queue_url: required(&get, ENV_UNDELIVERED_QUEUE_URL)?,
            email_from: common.email_from,
            slack_api_url: optional(ENV_SLACK_API_URL)
                .unwrap_or_else(|| klaxon_app::notifier::SLACK_API_URL.to_string()),
        })
    }
}

/// What the status page function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageSettings {
    pub incidents_table: String,
    pub config_table: String,
    pub config_cache: Duration,
    /// The bucket the page and its feed are written to.
    pub bucket: String,
}

impl StatusPageSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let common = Settings::from_lookup(&get)?;
        Ok(Self {
            incidents_table: common.incidents_table,
            config_table: common.config_table,
            config_cache: common.config_cache,
            bucket: required(&get, ENV_STATUS_PAGE_BUCKET)?,
        })
    }
}

/// A handler failure as Lambda sees it. `error_type` says whether a retry
/// makes sense: `Klaxon.InvalidEvent` (never), `Klaxon.Retryable` (yes) or
/// `Klaxon.Failed` (not without a fix; the event waits in the DLQ).
#[derive(Debug)]
pub struct HandlerError(pub AppError);

impl From<AppError> for HandlerError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        self.0.error_type()
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        tracing::error!(error_type = e.error_type(), error = %e.0, "handler failed");
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.0.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn parses_settings_with_defaults() {
        let s = Settings::from_lookup(lookup(&[
            (ENV_INCIDENTS_TABLE, "k-incidents"),
            (ENV_CONFIG_TABLE, "k-config"),
            (ENV_SMS_ORIGINATION_NUMBER, ""),
        ]))
        .unwrap();
        assert_eq!(s.config_cache, Duration::from_secs(60));
        assert_eq!(s.sms_origination_number, None);
        assert!(s.state_machine_arn().is_err());
    }

    #[test]
    fn rejects_missing_and_malformed_settings() {
        let err = Settings::from_lookup(lookup(&[(ENV_CONFIG_TABLE, "c")])).unwrap_err();
        assert!(err.to_string().contains(ENV_INCIDENTS_TABLE));
        let err = Settings::from_lookup(lookup(&[
            (ENV_INCIDENTS_TABLE, "i"),
            (ENV_CONFIG_TABLE, "c"),
            (ENV_CONFIG_CACHE_SECONDS, "soon"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains(ENV_CONFIG_CACHE_SECONDS));
        let err = Settings::from_lookup(lookup(&[
            (ENV_INCIDENTS_TABLE, "i"),
            (ENV_CONFIG_TABLE, "c"),
            (ENV_SMS_ORIGINATION_NUMBER, "0120-000-000"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("E.164"));
    }

    #[test]
    fn page_retries_default_to_10_s_doubling_to_5_min_for_an_hour_and_take_decimals() {
        let base = [(ENV_INCIDENTS_TABLE, "k"), (ENV_CONFIG_TABLE, "c")];
        let s = Settings::from_lookup(lookup(&base)).unwrap();
        assert_eq!(s.page_retry, klaxon_core::escalation::PageRetry::default());
        let scaled = [
            base[0],
            base[1],
            (ENV_PAGE_RETRY_FIRST_SECONDS, "0.5"),
            (ENV_PAGE_RETRY_MAX_SECONDS, "15"),
            (ENV_PAGE_RETRY_MINUTES, "4.5"),
        ];
        let s = Settings::from_lookup(lookup(&scaled)).unwrap();
        assert_eq!(s.page_retry.first, jiff::SignedDuration::from_millis(500));
        assert_eq!(s.page_retry.max, jiff::SignedDuration::from_secs(15));
        assert_eq!(s.page_retry.limit, jiff::SignedDuration::from_secs(270));
        for (name, bad) in [
            (ENV_PAGE_RETRY_MINUTES, "0"),
            (ENV_PAGE_RETRY_MINUTES, "soon"),
            (ENV_PAGE_RETRY_MAX_SECONDS, "-1"),
            (ENV_PAGE_RETRY_FIRST_SECONDS, "600"),
        ] {
            let err = Settings::from_lookup(lookup(&[base[0], base[1], (name, bad)])).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={bad}: {err}");
        }
    }

    #[test]
    fn self_test_settings_need_the_intake_the_stack_and_a_real_account() {
        let full = [
            (ENV_INCIDENTS_TABLE, "k-incidents"),
            (ENV_INTAKE_FUNCTION, "k-alarm-intake"),
            (ENV_STACK_NAME, "k"),
            (ENV_ACCOUNT_ID, "123456789012"),
            (ENV_REGION, "ap-northeast-1"),
            (ENV_CONFIG_TABLE, "k-config"),
            (ENV_EMAIL_FROM, " pages@example.com "),
            (ENV_VOICE_FROM_NUMBER, ""),
        ];
        let s = SelfTestSettings::from_lookup(lookup(&full)).unwrap();
        assert_eq!(s.intake_function, "k-alarm-intake");
        assert_eq!(s.region, "ap-northeast-1");
        assert_eq!(s.config_table, "k-config");
        assert_eq!(
            s.channels.email_from,
            Setting::Set("pages@example.com".into())
        );
        assert_eq!(s.channels.voice_from, Setting::Empty);
        assert_eq!(s.channels.origination, Setting::Empty);
        let err = SelfTestSettings::from_lookup(lookup(&full[1..])).unwrap_err();
        assert!(err.to_string().contains(ENV_INCIDENTS_TABLE));
        let mut bad = full;
        bad[3] = (ENV_ACCOUNT_ID, "12345");
        let err = SelfTestSettings::from_lookup(lookup(&bad)).unwrap_err();
        assert!(err.to_string().contains("12-digit"), "{err}");
    }

    #[test]
    fn the_publisher_needs_its_table_its_bus_and_its_stack() {
        let s = PublisherSettings::from_lookup(lookup(&[
            (ENV_INCIDENTS_TABLE, "k-incidents"),
            (ENV_EVENT_BUS, "k-events"),
            (ENV_STACK_NAME, "k"),
        ]))
        .unwrap();
        assert_eq!((s.event_bus.as_str(), s.stack.as_str()), ("k-events", "k"));
        let err = PublisherSettings::from_lookup(lookup(&[
            (ENV_INCIDENTS_TABLE, "k-incidents"),
            (ENV_EVENT_BUS, "k-events"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains(ENV_STACK_NAME), "{err}");
        let err =
            PublisherSettings::from_lookup(lookup(&[(ENV_INCIDENTS_TABLE, "k")])).unwrap_err();
        assert!(err.to_string().contains(ENV_EVENT_BUS), "{err}");
    }

    #[test]
    fn the_notifier_needs_its_queue_and_defaults_to_slack_itself() {
        let base = [
            (ENV_INCIDENTS_TABLE, "k"),
            (ENV_CONFIG_TABLE, "c"),
            (ENV_UNDELIVERED_QUEUE_URL, "http://q"),
        ];
        let s = NotifierSettings::from_lookup(lookup(&base)).unwrap();
        assert_eq!(s.slack_api_url, "https://slack.com/api");
        assert_eq!(s.email_from, None);
        let err = NotifierSettings::from_lookup(lookup(&base[..2])).unwrap_err();
        assert!(err.to_string().contains(ENV_UNDELIVERED_QUEUE_URL));
        let mut with = base.to_vec();
        with.push((ENV_SLACK_API_URL, "http://127.0.0.1:9/api"));
        let s = NotifierSettings::from_lookup(lookup(&with)).unwrap();
        assert_eq!(s.slack_api_url, "http://127.0.0.1:9/api");
    }

    #[test]
    fn the_status_page_function_needs_its_bucket() {
        let base = [(ENV_INCIDENTS_TABLE, "k"), (ENV_CONFIG_TABLE, "c")];
        let err = StatusPageSettings::from_lookup(lookup(&base)).unwrap_err();
        assert!(err.to_string().contains(ENV_STATUS_PAGE_BUCKET), "{err}");
        let mut with = base.to_vec();
        with.push((ENV_STATUS_PAGE_BUCKET, " "));
        assert!(StatusPageSettings::from_lookup(lookup(&with)).is_err());
        with[2] = (ENV_STATUS_PAGE_BUCKET, "status-bucket");
        let s = StatusPageSettings::from_lookup(lookup(&with)).unwrap();
        assert_eq!(s.bucket, "status-bucket");
        assert_eq!(s.config_table, "c");
    }

    #[test]
    fn lambda_log_levels_map_to_filters() {
        use tracing_subscriber::filter::LevelFilter;
        assert_eq!(log_level(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(log_level(Some("FATAL")), LevelFilter::ERROR);
        assert_eq!(log_level(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(log_level(None), LevelFilter::INFO);
    }

    #[test]
    fn bad_events_are_not_retryable() {
        let e = HandlerError(AppError::InvalidEvent("x".into()));
        assert_eq!(e.error_type(), "Klaxon.InvalidEvent");
        let e = HandlerError(AppError::Backend(klaxon_ports::BackendError {
            service: "DynamoDB",
            operation: "PutItem",
            message: "throttled".into(),
            retryable: true,
        }));
        assert_eq!(e.error_type(), "Klaxon.Retryable");
        let e = HandlerError(AppError::Config(klaxon_ports::ConfigLoadError::Missing));
        assert_eq!(
            e.error_type(),
            "Klaxon.Failed",
            "a missing configuration is not retried"
        );
    }
}
