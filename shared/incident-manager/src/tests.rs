use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_ssmincidents::config::retry::RetryConfig;
use aws_sdk_ssmincidents::error::ErrorMetadata;
use aws_sdk_ssmincidents::operation::create_timeline_event::{
    CreateTimelineEventInput, CreateTimelineEventOutput,
};
use aws_sdk_ssmincidents::operation::start_incident::{StartIncidentInput, StartIncidentOutput};
use aws_sdk_ssmincidents::operation::update_incident_record::UpdateIncidentRecordOutput;
use aws_sdk_ssmincidents::types::error::{
    InternalServerException, ThrottlingException, ValidationException,
};
use aws_sdk_ssmincidents::types::{ResourceType, ServiceCode};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::Value;

use super::*;
use klaxon_core::events::{DetailType, bus_event};
use klaxon_core::incident::Incident;
use klaxon_core::incident_manager::timeline_client_token;
use klaxon_core::time::iso;
use klaxon_testing::contract::{incident, t0};
use klaxon_testing::events::sample_entries;

const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/payments";
const RECORD: &str = "arn:aws:ssm-incidents::123456789012:incident-record/payments/0f1e2d3c";

/// A mirror answering with `rules` only, without the SDK's retries (so
/// each call is one request).
fn mirror(rules: &[&Rule]) -> SsmIncidentManager {
    let client = mock_client!(aws_sdk_ssmincidents, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    SsmIncidentManager::new(client)
}

fn klaxon_incident() -> Incident {
    let mut i = incident("abcdef", "A", t0());
    i.title = "payments-api 5xx".into();
    i.service = "payments".into();
    i.severity = klaxon_core::classify::Severity::Sev1;
    i
}

fn event(i: &Incident, detail_type: DetailType) -> BusEvent {
    sample_entries(t0())
        .iter()
        .filter_map(|e| bus_event(&i.id, Some(i), e))
        .find(|e| e.detail_type == detail_type)
        .unwrap()
}

fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

type Starts = Arc<Mutex<Vec<StartIncidentInput>>>;

/// Incident Manager's StartIncident: one record per client token, the same
/// ARN for a repeated token; every request recorded.
fn start_rule() -> (Rule, Starts) {
    let seen: Starts = Arc::default();
    let record = Arc::clone(&seen);
    let records: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let rule = mock!(aws_sdk_ssmincidents::Client::start_incident)
        .match_requests(|_| true)
        .then_compute_output(move |r| {
            record.lock().unwrap().push(r.clone());
            let mut records = records.lock().unwrap();
            let n = records.len();
            let arn = records
                .entry(r.client_token().unwrap_or_default().to_string())
                .or_insert_with(|| format!("{RECORD}-{n}"))
                .clone();
            StartIncidentOutput::builder()
                .incident_record_arn(arn)
                .build()
                .unwrap()
        });
    (rule, seen)
}

#[tokio::test]
async fn a_start_sends_title_impact_token_plan_and_trigger_and_returns_the_record() {
    let (rule, seen) = start_rule();
    let i = klaxon_incident();
    let arn = mirror(&[&rule])
        .start(PLAN, &IncidentSummary::from(&i), &i.alarm_arn)
        .await
        .unwrap();
    assert_eq!(arn, format!("{RECORD}-0"));
    let [r] = seen.lock().unwrap().clone().try_into().unwrap();
    assert_eq!(r.response_plan_arn(), Some(PLAN));
    assert_eq!(r.title(), Some("[SEV1] payments: payments-api 5xx"));
    assert_eq!(r.impact(), Some(1));
    assert_eq!(r.client_token(), Some(format!("klaxon-{}", i.id).as_str()));
    assert!(r.related_items().is_empty());
    let t = r.trigger_details().unwrap();
    assert_eq!(t.source(), "dev.klaxon");
    assert_eq!(t.trigger_arn(), Some(i.alarm_arn.as_str()));
    assert_eq!(t.timestamp().to_millis().unwrap(), t0().as_millisecond());
    let raw: Value = serde_json::from_str(t.raw_data().unwrap()).unwrap();
    assert_eq!(raw["klaxon_incident_id"], i.id.as_str());
    assert_eq!(raw["alarm_arn"], i.alarm_arn.as_str());
    assert_eq!(raw["opened_at"], iso(t0()).as_str());
}

#[tokio::test]
async fn a_retried_start_sends_the_same_request_and_gets_the_same_record() {
    let (rule, seen) = start_rule();
    let m = mirror(&[&rule]);
    let i = klaxon_incident();
    let first = m
        .start(PLAN, &IncidentSummary::from(&i), &i.alarm_arn)
        .await
        .unwrap();
    let mut later = i.clone();
    later.status = klaxon_core::incident::Status::Acknowledged;
    later.alarm_count = 3;
    let again = m
        .start(PLAN, &IncidentSummary::from(&later), &i.alarm_arn)
        .await
        .unwrap();
    assert_eq!(again, first);
    let other = incident("abcdef", "B", t0());
    let second = m
        .start(PLAN, &IncidentSummary::from(&other), &other.alarm_arn)
        .await
        .unwrap();
    assert_ne!(second, first, "another incident, another record");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], seen[1], "byte for byte, so no ConflictException");
}

#[tokio::test]
async fn an_alarm_arn_incident_manager_would_refuse_is_left_out_of_the_trigger() {
    let (rule, seen) = start_rule();
    let i = klaxon_incident();
    mirror(&[&rule])
        .start(PLAN, &IncidentSummary::from(&i), "payments-api-5xx")
        .await
        .unwrap();
    let r = seen.lock().unwrap()[0].clone();
    let t = r.trigger_details().unwrap();
    assert_eq!(t.trigger_arn(), None);
    assert!(t.raw_data().unwrap().contains("payments-api-5xx"));
}

#[tokio::test]
async fn an_incident_without_an_opening_time_is_refused_before_any_call() {
    let (rule, _) = start_rule();
    let mut summary = IncidentSummary::from(&klaxon_incident());
    summary.opened_at = "soon".into();
    let err = mirror(&[&rule])
        .start(
            PLAN,
            &summary,
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
        )
        .await
        .unwrap_err();
    assert_eq!(err.operation, "StartIncident");
    assert!(!err.retryable);
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_timeline_event_sends_record_time_type_data_and_its_token() {
    let seen: Arc<Mutex<Vec<CreateTimelineEventInput>>> = Arc::default();
    let record = Arc::clone(&seen);
    let rule = mock!(aws_sdk_ssmincidents::Client::create_timeline_event)
        .match_requests(|_| true)
        .then_compute_output(move |r| {
            record.lock().unwrap().push(r.clone());
            CreateTimelineEventOutput::builder()
                .incident_record_arn(RECORD)
                .event_id("e-1")
                .build()
                .unwrap()
        });
    let i = klaxon_incident();
    let e = event(&i, DetailType::IncidentAcknowledged);
    let m = mirror(&[&rule]);
    m.add_timeline_event(RECORD, &e).await.unwrap();
    m.add_timeline_event(RECORD, &e).await.unwrap();
    let seen = seen.lock().unwrap();
    let r = &seen[0];
    assert_eq!(r.incident_record_arn(), Some(RECORD));
    assert_eq!(
        r.event_time().unwrap().to_millis().unwrap(),
        e.time.as_millisecond()
    );
    assert_eq!(r.event_type(), Some("Custom Event"));
    assert_eq!(
        r.client_token(),
        Some(timeline_client_token(e.event_id()).as_str())
    );
    assert!(r.event_references().is_empty());
    let data: Value = serde_json::from_str(r.event_data().unwrap()).unwrap();
    assert_eq!(data["summary"], e.detail.summary.as_str());
    assert_eq!(data["kind"], "acknowledged");
    assert_eq!(data["event_id"], e.event_id());
    assert_eq!(seen[1], seen[0], "a redelivery repeats the token");
}

#[tokio::test]
async fn resolving_sets_the_record_resolved() {
    let rule = mock!(aws_sdk_ssmincidents::Client::update_incident_record)
        .match_requests(|r| {
            r.arn() == Some(RECORD)
                && r.status() == Some(&IncidentRecordStatus::Resolved)
                && r.title().is_none()
                && r.impact().is_none()
                && r.summary().is_none()
        })
        .then_output(|| UpdateIncidentRecordOutput::builder().build());
    mirror(&[&rule]).resolve(RECORD).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttling_and_internal_errors_are_retryable() {
    let throttled = mock!(aws_sdk_ssmincidents::Client::start_incident).then_error(|| {
        StartIncidentError::ThrottlingException(
            ThrottlingException::builder()
                .message("Rate exceeded")
                .service_code(ServiceCode::SsmIncidents)
                .quota_code("StartIncident")
                .meta(meta("ThrottlingException", "Rate exceeded"))
                .build()
                .unwrap(),
        )
    });
    let i = klaxon_incident();
    let err = mirror(&[&throttled])
        .start(PLAN, &IncidentSummary::from(&i), &i.alarm_arn)
        .await
        .unwrap_err();
    assert_eq!(err.service, "SsmIncidentManager");
    assert_eq!(err.operation, "StartIncident");
    assert_eq!(err.message, "ThrottlingException: Rate exceeded");
    assert!(err.retryable);

    let internal = mock!(aws_sdk_ssmincidents::Client::create_timeline_event).then_error(|| {
        CreateTimelineEventError::InternalServerException(
            InternalServerException::builder()
                .message("oops")
                .meta(meta("InternalServerException", "oops"))
                .build()
                .unwrap(),
        )
    });
    let err = mirror(&[&internal])
        .add_timeline_event(RECORD, &event(&i, DetailType::PageSent))
        .await
        .unwrap_err();
    assert_eq!(err.operation, "CreateTimelineEvent");
    assert!(err.retryable, "{err}");
}

#[tokio::test]
async fn a_validation_error_is_not_retryable() {
    let rule = mock!(aws_sdk_ssmincidents::Client::update_incident_record).then_error(|| {
        UpdateIncidentRecordError::ValidationException(
            ValidationException::builder()
                .message("arn is not valid")
                .meta(meta("ValidationException", "arn is not valid"))
                .build()
                .unwrap(),
        )
    });
    let err = mirror(&[&rule]).resolve("nope").await.unwrap_err();
    assert_eq!(err.operation, "UpdateIncidentRecord");
    assert_eq!(err.message, "ValidationException: arn is not valid");
    assert!(!err.retryable);
}

fn conflict(retry_after: Option<DateTime>) -> StartIncidentError {
    StartIncidentError::ConflictException(
        ConflictException::builder()
            .message("client token used with other details")
            .resource_type(ResourceType::IncidentRecord)
            .resource_identifier(RECORD)
            .set_retry_after(retry_after)
            .meta(meta(
                "ConflictException",
                "client token used with other details",
            ))
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_conflicting_start_is_retryable_only_when_incident_manager_says_when() {
    let i = klaxon_incident();
    let summary = IncidentSummary::from(&i);

    let final_conflict =
        mock!(aws_sdk_ssmincidents::Client::start_incident).then_error(|| conflict(None));
    let err = mirror(&[&final_conflict])
        .start(PLAN, &summary, &i.alarm_arn)
        .await
        .unwrap_err();
    assert!(!err.retryable, "the same call cannot succeed");
    assert!(err.message.starts_with("ConflictException: "), "{err}");
    assert!(
        err.message
            .ends_with(&format!("(INCIDENT_RECORD {RECORD})")),
        "{err}"
    );

    let busy = mock!(aws_sdk_ssmincidents::Client::start_incident)
        .then_error(|| conflict(Some(DateTime::from_secs(1_795_000_060))));
    let err = mirror(&[&busy])
        .start(PLAN, &summary, &i.alarm_arn)
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
}
