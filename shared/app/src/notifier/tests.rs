//! The notifier against the fakes: GIVEN an incident opened by the real
//! intake and the destinations in oncall.yaml, WHEN its committed entries
//! reach the notifier as stream records, THEN each destination is told
//! once, and every outcome is on the timeline.

use serde_json::Value;

use super::*;
use crate::operator::{UpdateOutcome, change_status, post_update};
use crate::world::World;
use klaxon_core::incident::Status;
use klaxon_core::notifications::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use klaxon_ports::{SecretError, Transition};
use klaxon_testing::{
    CONFIG, FakeEndpoints, FakeIncidentManager, FakeSecrets, FakeUndelivered, MemoryStore,
    MirrorCall, Reply, StaticConfig, transient,
};

const SLACK: &str = "https://slack.test/api";
const POST: &str = "https://slack.test/api/chat.postMessage";
const UPDATE: &str = "https://slack.test/api/chat.update";
const HOOK: &str = "https://partner.example.com/klaxon";
const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/checkout";

fn config() -> String {
    let with_mirror = CONFIG.replace(
        "checkout: {escalation_policy: default, flapping_window_seconds: 600}",
        &format!(
            "checkout: {{escalation_policy: default, flapping_window_seconds: 600, incident_manager: {{response_plan_arn: \"{PLAN}\"}}}}"
        ),
    );
    format!(
        "{with_mirror}
notifications:
  ops-slack: {{type: slack, channel: C0OPS, token: \"ssm:/klaxon/slack-token\"}}
  partner: {{type: webhook, url: \"secretsmanager:klaxon/partner-url\", signing_key: \"secretsmanager:klaxon/partner-key\"}}
  execs: {{type: email, to: [exec@example.com], services: [checkout]}}
"
    )
}

/// Klaxon on fakes, plus the destinations' side.
struct Given {
    w: World,
    endpoints: FakeEndpoints,
    secrets: FakeSecrets,
    incident_manager: FakeIncidentManager,
    undelivered: FakeUndelivered,
    /// Timeline entries already handed to the notifier (time and key).
    handed: std::sync::Mutex<std::collections::BTreeSet<(jiff::Timestamp, String)>>,
}

fn given() -> Given {
    let secrets = FakeSecrets::new();
    secrets.put("ssm:/klaxon/slack-token", "xoxb-test-token");
    secrets.put("secretsmanager:klaxon/partner-url", HOOK);
    secrets.put("secretsmanager:klaxon/partner-key", "partner-signing-key");
    let endpoints = FakeEndpoints::new();
    let mut ts = 0;
    let posted: Vec<Reply> = std::iter::repeat_with(|| {
        ts += 1;
        Reply::ok(&format!(
            r#"{{"ok":true,"channel":"C0OPS","ts":"1764576000.00{ts}"}}"#
        ))
    })
    .take(20)
    .collect();
    endpoints.script(POST, posted);
    endpoints.always(UPDATE, Reply::ok(r#"{"ok":true}"#));
    let incident_manager = FakeIncidentManager::new();
    incident_manager.accept_all();
    Given {
        w: World::new(&config()),
        endpoints,
        secrets,
        incident_manager,
        undelivered: FakeUndelivered::new(),
        handed: std::sync::Mutex::new(std::collections::BTreeSet::new()),
    }
}

/// The fakes as the notifier's ports.
enum TestPorts {}

impl NotifierPorts for TestPorts {
    type Incidents = MemoryStore;
    type Config = StaticConfig;
    type Endpoints = FakeEndpoints;
    type Secrets = FakeSecrets;
    type Email = klaxon_testing::FakeEmail;
    type IncidentManager = FakeIncidentManager;
    type Undelivered = FakeUndelivered;
}

type TestNotifier<'a> = Notifier<'a, TestPorts>;

impl Given {
    fn notifier(&self) -> TestNotifier<'_> {
        Notifier {
            incidents: &self.w.store,
            config: &self.w.config,
            endpoints: &self.endpoints,
            secrets: &self.secrets,
            email: &self.w.email,
            incident_manager: &self.incident_manager,
            undelivered: &self.undelivered,
            clock: &self.w.clock,
            slack_api: SLACK,
        }
    }

    async fn open(&self, alarm: &str) -> String {
        self.w.open_incident(alarm, self.w.clock.now()).await
    }

    async fn timeline(&self, id: &str) -> Vec<TimelineEntry> {
        self.w.store.timeline(id).await.unwrap()
    }

    /// The stream records of the entries written since the last call, in
    /// the order they were written.
    async fn new_records(&self, id: &str) -> Vec<StreamRecord> {
        let timeline = self.timeline(id).await;
        let mut handed = self.handed.lock().unwrap();
        let base = handed.len();
        timeline
            .into_iter()
            .filter(|e| handed.insert((e.at, e.key.clone())))
            .enumerate()
            .map(|(n, entry)| StreamRecord::Entry {
                sequence: format!("{:06}", base + n),
                incident_id: id.to_string(),
                entry,
            })
            .collect()
    }

    async fn notify_new(&self, id: &str) -> NotifyReport {
        let records = self.new_records(id).await;
        self.notifier().handle(&records).await
    }

    async fn transition(&self, id: &str, transition: Transition) {
        self.w.clock.advance(30);
        change_status(
            &self.w.store,
            &self.w.escalations,
            &self.w.clock,
            id,
            transition,
            "hana",
        )
        .await
        .unwrap();
    }

    fn outcomes(timeline: &[TimelineEntry], target: &str) -> Vec<TimelineEvent> {
        timeline
            .iter()
            .filter(|e| match &e.event {
                TimelineEvent::NotificationDelivered { target: t, .. }
                | TimelineEvent::NotificationFailed { target: t, .. } => t == target,
                _ => false,
            })
            .map(|e| e.event.clone())
            .collect()
    }
}

fn json(request: &klaxon_ports::HttpRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn header<'r>(request: &'r klaxon_ports::HttpRequest, name: &str) -> &'r str {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn an_alarm_posts_one_slack_message_that_ack_and_resolve_rewrite_in_place() {
    // GIVEN an incident opened by an alarm
    let g = given();
    let id = g.open("checkout-5xx").await;
    // WHEN its entries are notified
    let report = g.notify_new(&id).await;
    // THEN Slack got one message, with the bot token, in the channel
    assert_eq!(report.failed_at, None);
    let posts = g.endpoints.attempts_to(POST);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(header(&posts[0], "Authorization"), "Bearer xoxb-test-token");
    let message = json(&posts[0]);
    assert_eq!(message["channel"], "C0OPS");
    assert!(message["text"].as_str().unwrap().contains("Triggered"));
    let timeline = g.timeline(&id).await;
    let ts = klaxon_core::notifications::posted_message(&timeline, "ops-slack").unwrap();
    assert_eq!(ts, "1764576000.001");

    // WHEN it is acknowledged, then resolved
    g.transition(&id, Transition::Acknowledge).await;
    g.notify_new(&id).await;
    g.transition(&id, Transition::Resolve).await;
    g.notify_new(&id).await;
    // THEN the same message was rewritten each time, and no other posted
    let updates = g.endpoints.attempts_to(UPDATE);
    assert_eq!(updates.len(), 2);
    for u in &updates {
        assert_eq!(json(u)["ts"], ts.as_str());
        assert_eq!(json(u)["channel"], "C0OPS");
    }
    assert!(
        json(&updates[0])["text"]
            .as_str()
            .unwrap()
            .contains("Acknowledged by")
    );
    assert!(
        json(&updates[1])["text"]
            .as_str()
            .unwrap()
            .contains("Resolved by")
    );
    let parents = g
        .endpoints
        .attempts_to(POST)
        .iter()
        .filter(|p| json(p).get("thread_ts").is_none())
        .count();
    assert_eq!(parents, 1);
}

#[tokio::test]
async fn a_redelivered_batch_tells_no_destination_twice() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    let records = g.new_records(&id).await;
    let first = g.notifier().handle(&records).await;
    let sent = g.endpoints.attempts().len();
    let emails = g.w.email.sent().len();
    // WHEN the same batch comes again (the event source mapping retried it)
    let again = g.notifier().handle(&records).await;
    // THEN nothing more was sent, and every delivery was skipped
    assert!(first.delivered > 0);
    assert_eq!(again.delivered, 0);
    assert_eq!(g.endpoints.attempts().len(), sent);
    assert_eq!(g.w.email.sent().len(), emails);
    assert_eq!(again.skipped, first.delivered + first.skipped);
}

#[tokio::test]
async fn a_webhook_gets_the_bus_event_signed_over_timestamp_and_body() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    g.notify_new(&id).await;
    let hooks = g.endpoints.attempts_to(HOOK);
    // A webhook gets every event (its default).
    let timeline = g.timeline(&id).await;
    let published = timeline
        .iter()
        .filter(|e| !klaxon_core::notifications::is_delivery_outcome(&e.event))
        .count();
    assert_eq!(hooks.len(), published);
    for hook in &hooks {
        let body = json(hook);
        assert_eq!(body["source"], "klaxon");
        assert_eq!(body["detail"]["incident_id"], id.as_str());
        let timestamp: i64 = header(hook, TIMESTAMP_HEADER).parse().unwrap();
        assert_eq!(timestamp, g.w.clock.now().as_second());
        assert_eq!(
            header(hook, SIGNATURE_HEADER),
            klaxon_core::signature::sign(b"partner-signing-key", timestamp, &hook.body)
        );
    }
}

#[tokio::test]
async fn a_server_error_then_success_delivers_once_with_both_attempts_recorded() {
    let g = given();
    g.endpoints.script(
        HOOK,
        [Reply::Status(500, "oops".into()), Reply::ok("thanks")],
    );
    let id = g.open("checkout-5xx").await;
    let report = g.notify_new(&id).await;
    assert_eq!(report.failed, 0);
    let timeline = g.timeline(&id).await;
    let outcomes = Given::outcomes(&timeline, "partner");
    assert!(
        matches!(
            &outcomes[0],
            TimelineEvent::NotificationDelivered {
                status: Some(200),
                attempts: 2,
                ..
            }
        ),
        "{outcomes:?}"
    );
    assert!(g.undelivered.parked().is_empty());
}

#[tokio::test]
async fn a_refused_delivery_is_parked_and_on_the_timeline_and_the_rest_goes_on() {
    let g = given();
    g.endpoints
        .always(HOOK, Reply::Status(404, "no such hook".into()));
    let id = g.open("checkout-5xx").await;
    let report = g.notify_new(&id).await;
    // THEN the batch is not retried: a 404 will not heal
    assert_eq!(report.failed_at, None);
    let timeline = g.timeline(&id).await;
    let outcomes = Given::outcomes(&timeline, "partner");
    assert!(!outcomes.is_empty());
    for o in &outcomes {
        assert!(
            matches!(
                o,
                TimelineEvent::NotificationFailed {
                    status: Some(404),
                    attempts: 1,
                    ..
                }
            ),
            "{o:?}"
        );
    }
    let parked = g.undelivered.parked();
    assert_eq!(parked.len(), outcomes.len());
    assert_eq!(parked[0].target, "partner");
    assert_eq!(parked[0].incident_id, id);
    assert!(!parked[0].error.contains(HOOK), "the URL is a secret");
    // Slack still got its message.
    assert_eq!(g.endpoints.attempts_to(POST).len(), 1);
}

#[tokio::test]
async fn a_missing_secret_fails_the_delivery_for_good_naming_the_secret() {
    let g = given();
    let secrets = FakeSecrets::new();
    secrets.put("secretsmanager:klaxon/partner-url", HOOK);
    secrets.put("secretsmanager:klaxon/partner-key", "k");
    let g = Given { secrets, ..g };
    let id = g.open("checkout-5xx").await;
    let report = g.notify_new(&id).await;
    assert_eq!(report.failed_at, None);
    let timeline = g.timeline(&id).await;
    match &Given::outcomes(&timeline, "ops-slack")[0] {
        TimelineEvent::NotificationFailed {
            error, attempts, ..
        } => {
            assert!(error.contains("ssm:/klaxon/slack-token"), "{error}");
            assert_eq!(*attempts, 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(g.endpoints.attempts_to(POST).is_empty());
}

#[tokio::test]
async fn a_secret_store_that_is_unavailable_retries_the_batch_from_that_record() {
    let g = given();
    g.secrets.fail(SecretError::Unavailable {
        secret: "ssm:/klaxon/slack-token".parse().unwrap(),
        message: "throttled".into(),
    });
    let id = g.open("checkout-5xx").await;
    let records = g.new_records(&id).await;
    let report = g.notifier().handle(&records).await;
    let (sequence, why) = report.failed_at.clone().unwrap();
    assert!(why.contains("throttled"), "{why}");
    assert!(g.undelivered.parked().is_empty());
    // WHEN the store recovers and the mapping retries from that record
    let g2 = Given {
        secrets: {
            let s = FakeSecrets::new();
            s.put("ssm:/klaxon/slack-token", "xoxb-test-token");
            s.put("secretsmanager:klaxon/partner-url", HOOK);
            s.put("secretsmanager:klaxon/partner-key", "partner-signing-key");
            s
        },
        ..g
    };
    let from: Vec<StreamRecord> = records
        .into_iter()
        .skip_while(|r| r.sequence() != sequence)
        .collect();
    let retried = g2.notifier().handle(&from).await;
    // THEN Slack got its one message
    assert_eq!(retried.failed_at, None);
    assert_eq!(g2.endpoints.attempts_to(POST).len(), 1);
}

#[tokio::test]
async fn an_ack_handled_after_the_resolve_still_leaves_slack_showing_resolved() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    g.notify_new(&id).await;
    g.transition(&id, Transition::Acknowledge).await;
    g.transition(&id, Transition::Resolve).await;
    // WHEN the resolve's record is handled before the ack's
    let mut records = g.new_records(&id).await;
    records.reverse();
    for record in records {
        g.notifier().handle(&[record]).await;
    }
    // THEN the last rewrite shows the incident resolved
    let updates = g.endpoints.attempts_to(UPDATE);
    let last = json(updates.last().unwrap());
    assert!(
        last["text"].as_str().unwrap().contains("Resolved"),
        "{last}"
    );
    assert_eq!(
        g.w.store.get(&id).await.unwrap().unwrap().status,
        Status::Resolved
    );
}

#[tokio::test]
async fn the_incident_manager_record_is_started_once_told_of_changes_and_resolved() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    g.notify_new(&id).await;
    // a redelivery starts nothing more
    g.transition(&id, Transition::Resolve).await;
    g.notify_new(&id).await;
    let records = g.incident_manager.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].is_resolved());
    let calls = g.incident_manager.calls();
    assert!(calls.contains(&MirrorCall::Start));
    assert!(calls.contains(&MirrorCall::AddTimelineEvent));
    assert!(calls.contains(&MirrorCall::Resolve));
    let timeline = g.timeline(&id).await;
    let arn =
        klaxon_core::notifications::posted_message(&timeline, INCIDENT_MANAGER_TARGET).unwrap();
    assert_eq!(arn, records[0].arn);
}

#[tokio::test]
async fn a_service_without_a_mirror_starts_no_incident_manager_record() {
    let g = given();
    let id = g.open("api-latency").await; // the general service
    g.notify_new(&id).await;
    assert!(g.incident_manager.calls().is_empty());
    // and the execs' list is only for checkout
    assert!(g.w.email.sent().is_empty());
}

#[tokio::test]
async fn an_incident_manager_that_refuses_is_on_the_timeline_and_parked() {
    let g = given();
    g.incident_manager.reject(
        MirrorCall::Start,
        klaxon_testing::permanent("StartIncident"),
    );
    let id = g.open("checkout-5xx").await;
    let report = g.notify_new(&id).await;
    assert_eq!(report.failed_at, None);
    assert!(
        g.undelivered
            .parked()
            .iter()
            .any(|p| p.target == INCIDENT_MANAGER_TARGET)
    );
}

#[tokio::test]
async fn stakeholders_get_status_updates_by_email_and_not_the_pages() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    g.notify_new(&id).await;
    assert!(g.w.email.sent().iter().all(|e| e.to != "exec@example.com"));
    let posted = post_update(
        &g.w.store,
        &g.w.clock,
        &id,
        None,
        "Card payments fail for some customers; a fix is rolling out",
        "hana",
    )
    .await
    .unwrap();
    assert!(matches!(posted, UpdateOutcome::Posted(_)));
    g.notify_new(&id).await;
    let to_execs: Vec<_> =
        g.w.email
            .sent()
            .into_iter()
            .filter(|e| e.to == "exec@example.com")
            .collect();
    assert_eq!(to_execs.len(), 1);
    assert!(to_execs[0].body.contains("a fix is rolling out"));
    // and Slack got it in the incident's thread
    let replies: Vec<_> = g
        .endpoints
        .attempts_to(POST)
        .into_iter()
        .filter(|p| json(p).get("thread_ts").is_some())
        .collect();
    assert!(replies.iter().any(|r| {
        json(r)["text"]
            .as_str()
            .unwrap()
            .contains("a fix is rolling out")
    }));
}

#[tokio::test]
async fn a_store_failure_recording_an_outcome_retries_the_batch() {
    let g = given();
    let id = g.open("checkout-5xx").await;
    g.w.store
        .fail_next(klaxon_testing::Op::Append, transient("PutItem"));
    let report = g.notify_new(&id).await;
    assert!(report.failed_at.is_some());
    assert_eq!(report.response().batch_item_failures.len(), 1);
}
