//! Deliveries end to end: the incidents table's stream handed to the real
//! notifier (as its event source mapping would), secrets read from the
//! emulator's SSM and Secrets Manager, the real HTTP adapter posting to the
//! harness's receiver, which stands in for Slack and a webhook endpoint.

use std::time::Duration;

use klaxon_aws::dynamo::stream;
use klaxon_core::incident::TimelineEvent;
use klaxon_core::notifications::webhook::{EVENT_ID_HEADER, SIGNATURE_HEADER};
use klaxon_http::HttpEndpoints;
use klaxon_local::events::{Delivery, alarm, sms_reply};
use klaxon_local::receiver::{Answer, Receiver};
use klaxon_ports::RetryPolicy;
use klaxon_secrets::AwsSecrets;

use crate::common::{World, ack_code, oncall_yaml, opened_id};

const CHANNEL: &str = "C0INCIDENTS";
const TOKEN: &str = "xoxb-local-test-token";
const KEY: &str = "local-signing-key";

/// A stack whose configuration sends every incident to a Slack channel
/// and, for `webhook_events`, to a signed webhook on the receiver; the
/// secrets in the emulator's SSM (SecureString) and Secrets Manager.
struct Given {
    w: World,
    receiver: Receiver,
    endpoints: HttpEndpoints,
    secrets: AwsSecrets,
    slack_api: String,
}

async fn given(webhook_events: &str) -> Given {
    given_with(|prefix| {
        format!(
            "  incidents-slack:
    type: slack
    channel: {CHANNEL}
    token: ssm:/{prefix}/slack-token
  partner:
    type: webhook
    url: secretsmanager:{prefix}/hook-url
    signing_key: secretsmanager:{prefix}/hook-key
    events: [{webhook_events}]
"
        )
    })
    .await
}

/// A stack with the `notifications` entries `destinations` gives for the
/// secrets' prefix: the Slack token in SSM (`ssm:/<prefix>/slack-token`),
/// the receiver's `/hook`, `/slack-hook` and `/teams` URLs and the signing
/// key in Secrets Manager (`secretsmanager:<prefix>/hook-url`,
/// `.../slack-hook-url`, `.../teams-url`, `.../hook-key`).
async fn given_with(destinations: impl FnOnce(&str) -> String) -> Given {
    let w = World::new(60, 0).await;
    let receiver = Receiver::start().await.unwrap();
    receiver.slack_token(TOKEN);
    receiver.verify_signatures(KEY.as_bytes());
    let ssm = aws_sdk_ssm::Client::new(&w.local.sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&w.local.sdk);
    let prefix = format!("klaxon/{}", w.tag);
    ssm.put_parameter()
        .name(format!("/{prefix}/slack-token"))
        .value(TOKEN)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    for (name, value) in [
        ("hook-url", receiver.url("/hook")),
        ("slack-hook-url", receiver.url("/slack-hook")),
        ("teams-url", receiver.url("/teams")),
        ("hook-key", KEY.to_string()),
    ] {
        sm.create_secret()
            .name(format!("{prefix}/{name}"))
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let yaml = format!(
        "{}
notifications:
{}",
        oncall_yaml(&w, 60, 0),
        destinations(&prefix)
    );
    w.local.apply_config(&yaml).await.unwrap();
    // The production policy's shape with short waits, so a test takes
    // milliseconds where AWS would take seconds.
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        ..RetryPolicy::default()
    };
    let slack_api = receiver.url("/api");
    Given {
        endpoints: HttpEndpoints::new(policy),
        // The notifier reads secrets as its own role.
        secrets: AwsSecrets::from_sdk(&w.local.as_notifier.sdk),
        receiver,
        slack_api,
        w,
    }
}

impl Given {
    async fn notify(&self) -> klaxon_local::notifications::NotifyRound {
        let round = self
            .w
            .local
            .notify_events(&self.endpoints, &self.secrets, &self.slack_api)
            .await
            .unwrap();
        assert_eq!(round.failed_at, None, "{round:?}");
        round
    }

    async fn open(&self, name: &str) -> String {
        let event = alarm(
            Delivery::EventBridge,
            &self.w.alarm_name(name),
            "ALARM",
            "2026-12-01T08:00:00.000Z",
        )
        .unwrap();
        opened_id(&self.w.local.deliver_alarm(&event).await.unwrap())
    }

    async fn ack(&self, before: usize) {
        let sms = self.w.wait_for_sms(&self.w.alice, before + 1).await;
        let code = ack_code(&sms.last().unwrap().message);
        let reply = sms_reply(
            &self.w.alice,
            &format!("ACK {code}"),
            &format!("ack-{}", self.w.tag),
        )
        .unwrap();
        self.w.local.deliver_reply(&reply).await.unwrap();
    }

    async fn ok(&self, name: &str) {
        let ok = alarm(
            Delivery::Sns,
            &self.w.alarm_name(name),
            "OK",
            "2026-12-01T08:05:00.000Z",
        )
        .unwrap();
        self.w.local.deliver_alarm(&ok).await.unwrap();
    }

    fn slack_text(&self) -> Vec<String> {
        self.receiver
            .slack_messages(CHANNEL)
            .iter()
            .map(|m| m.text.clone().unwrap_or_default())
            .collect()
    }
}

fn outcomes(timeline: &[klaxon_core::incident::TimelineEntry], target: &str) -> Vec<TimelineEvent> {
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::NotificationDelivered { target: t, .. }
            | TimelineEvent::NotificationFailed { target: t, .. }
                if t == target =>
            {
                Some(e.event.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_alarm_posts_one_slack_message_updated_on_ack_and_again_on_ok() {
    let g = given("incident-opened").await;
    let pump = g.w.pump();
    let before = g.w.sms_to(&g.w.alice).await.len();
    let id = g.open("slack").await;
    g.notify().await;
    let texts = g.slack_text();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("Triggered"), "{texts:?}");
    assert!(texts[0].contains("(checkout)"), "{texts:?}");

    g.ack(before).await;
    g.notify().await;
    let texts = g.slack_text();
    assert_eq!(texts.len(), 1, "still one message: {texts:?}");
    assert!(texts[0].contains("Acknowledged"), "{texts:?}");

    g.ok("slack").await;
    g.w.wait_execution_end(&id).await;
    pump.stop().await;
    g.notify().await;
    let messages = g.receiver.slack_messages(CHANNEL);
    assert_eq!(messages.len(), 1);
    let text = messages[0].text.clone().unwrap_or_default();
    assert!(text.contains("Resolved"), "{text}");
    // The message links the alarm in the CloudWatch console.
    let blocks = messages[0].blocks.clone().unwrap_or_default().to_string();
    assert!(
        blocks.contains("console.aws.amazon.com/cloudwatch"),
        "{blocks}"
    );
    // Every delivery's outcome is on the timeline, with the message's ts.
    let timeline = g.w.timeline(&id).await;
    let delivered = outcomes(&timeline, "incidents-slack");
    assert!(delivered.len() >= 3, "{delivered:?}");
    assert!(delivered.iter().all(|o| matches!(
        o,
        TimelineEvent::NotificationDelivered {
            status: Some(200),
            ..
        }
    )));
    // AND the notifier read its secrets (SSM and Secrets Manager) and the
    // incident as its own role, which allowed every call, each of which
    // `klaxon doctor` asks the simulator about
    let calls =
        crate::iam::every_call_allowed_and_checked_by_doctor(&g.w, klaxon_local::ids::NOTIFIER)
            .await;
    for read in ["ssm:GetParameter", "secretsmanager:GetSecretValue"] {
        assert!(calls.iter().any(|c| c.action == read), "{calls:#?}");
    }
}

#[tokio::test]
async fn a_webhook_gets_signed_events_whose_signature_verifies() {
    let g = given("incident-opened, incident-classified").await;
    let id = g.open("signed").await;
    g.notify().await;
    let hooks = g.receiver.requests_to("/hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    for hook in &hooks {
        assert_eq!(hook.verified, Some(true), "{:?}", hook.headers);
        let body = hook.json().unwrap();
        assert_eq!(body["source"], "klaxon");
        assert_eq!(body["detail"]["incident_id"], id.as_str());
        assert_eq!(hook.header(EVENT_ID_HEADER), body["id"].as_str());
        assert!(hook.header(SIGNATURE_HEADER).unwrap().starts_with("v1="));
    }
}

#[tokio::test]
async fn a_server_error_then_success_delivers_exactly_once() {
    let g = given("incident-opened").await;
    g.receiver.script("/hook", [Answer::status(500)]);
    let id = g.open("flaky").await;
    g.notify().await;
    // The mapping hands the batch again: nothing more is sent.
    g.notify().await;
    let hooks = g.receiver.requests_to("/hook");
    assert_eq!(hooks.len(), 2, "a 500, then the 200");
    assert_eq!(
        hooks[0].header(EVENT_ID_HEADER),
        hooks[1].header(EVENT_ID_HEADER)
    );
    let timeline = g.w.timeline(&id).await;
    let partner = outcomes(&timeline, "partner");
    assert_eq!(partner.len(), 1, "{partner:?}");
    assert!(matches!(
        partner[0],
        TimelineEvent::NotificationDelivered {
            status: Some(200),
            attempts: 2,
            ..
        }
    ));
}

#[tokio::test]
async fn a_permanent_404_ends_in_the_dead_letter_queue_with_a_timeline_entry() {
    let g = given("incident-opened").await;
    g.receiver.always("/hook", Answer::status(404));
    let id = g.open("gone").await;
    let round = g.notify().await;
    assert_eq!(round.failed, 1);
    assert_eq!(
        g.receiver.requests_to("/hook").len(),
        1,
        "a 404 is not retried"
    );
    let timeline = g.w.timeline(&id).await;
    let partner = outcomes(&timeline, "partner");
    assert!(
        matches!(
            partner.as_slice(),
            [TimelineEvent::NotificationFailed {
                status: Some(404),
                attempts: 1,
                ..
            }]
        ),
        "{partner:?}"
    );
    let parked = g.w.local.undelivered().await.unwrap();
    let mine: Vec<_> = parked.iter().filter(|p| p.incident_id == id).collect();
    assert_eq!(mine.len(), 1, "{parked:?}");
    assert_eq!(mine[0].target, "partner");
    assert_eq!(mine[0].status, Some(404));
    assert!(
        !mine[0].error.contains("127.0.0.1"),
        "the URL is a secret: {}",
        mine[0].error
    );
    // AND `klaxon dlq list` reads what the notifier parked
    let clients = klaxon_cli::dlq::Clients::from_sdk(&g.w.local.as_operator().await.unwrap());
    let names = klaxon_cli::names::StackNames::new(&g.w.local.stack.name);
    let listed = klaxon_cli::dlq::list(
        &clients,
        &names,
        &[klaxon_cli::dlq::DlqQueue::UndeliveredNotifications],
    )
    .await
    .unwrap();
    let reasons: Vec<&str> = listed[0]
        .letters
        .iter()
        .map(|d| d.reason.as_str())
        .filter(|r| r.contains(&id))
        .collect();
    assert_eq!(reasons.len(), 1, "{listed:?}");
    assert!(
        reasons[0].contains("not delivered to partner (webhook) after 1 attempt(s), status 404"),
        "{}",
        reasons[0]
    );
}

#[tokio::test]
async fn an_ack_and_a_resolve_handled_out_of_order_still_leave_slack_showing_resolved() {
    let g = given("incident-opened").await;
    let pump = g.w.pump();
    let before = g.w.sms_to(&g.w.alice).await.len();
    let id = g.open("order").await;
    g.notify().await;
    g.ack(before).await;
    g.ok("order").await;
    g.w.wait_execution_end(&id).await;
    pump.stop().await;
    // WHEN the new records reach the notifier newest first, one at a time
    let (event, sequences) = g.w.local.as_notifier.stream.next_batch(100).await.unwrap();
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
    let mut records = stream::records(&event);
    records.reverse();
    let notifier = g.w.local.notifier(&g.endpoints, &g.secrets, &g.slack_api);
    for record in records {
        let report = notifier.handle(&[record]).await;
        assert_eq!(report.failed_at, None);
    }
    g.w.local
        .as_notifier
        .stream
        .commit(sequences.last().unwrap());
    // THEN the message shows the incident resolved
    let texts = g.slack_text();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("Resolved"), "{texts:?}");
}

#[tokio::test]
async fn teams_and_a_slack_incoming_webhook_get_a_new_message_per_event() {
    // GIVEN a Teams workflow webhook and a Slack incoming webhook, both
    // for the opening and the resolution of incidents
    let g = given_with(|prefix| {
        format!(
            "  ops-teams:
    type: teams
    url: secretsmanager:{prefix}/teams-url
    events: [incident-opened, incident-resolved]
  ops-slack-hook:
    type: slack_webhook
    url: secretsmanager:{prefix}/slack-hook-url
    events: [incident-opened, incident-resolved]
"
        )
    })
    .await;
    // WHEN an alarm opens an incident and its OK resolves it
    let id = g.open("chat").await;
    g.notify().await;
    let teams = g.receiver.requests_to("/teams");
    let hook = g.receiver.requests_to("/slack-hook");
    assert_eq!(
        (teams.len(), hook.len()),
        (1, 1),
        "one message each on open"
    );
    g.ok("chat").await;
    g.notify().await;

    // THEN each got one new message per event: an Adaptive Card for Teams
    let teams = g.receiver.requests_to("/teams");
    assert_eq!(teams.len(), 2, "{teams:?}");
    for (request, status) in teams.iter().zip(["triggered", "resolved"]) {
        let body = request.json().unwrap();
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(attachment["content"]["type"], "AdaptiveCard");
        let card = attachment["content"].to_string();
        assert!(card.to_lowercase().contains(status), "{status}: {card}");
        assert!(card.contains(&g.w.alarm_name("chat")), "{card}");
    }
    // AND a Slack message for the incoming webhook
    let hook = g.receiver.requests_to("/slack-hook");
    assert_eq!(hook.len(), 2, "{hook:?}");
    for (request, status) in hook.iter().zip(["triggered", "resolved"]) {
        let text = request.json().unwrap()["text"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(text.contains(status), "{status}: {text}");
    }
    // AND every delivery is on the timeline
    let timeline = g.w.timeline(&id).await;
    for target in ["ops-teams", "ops-slack-hook"] {
        let delivered = outcomes(&timeline, target);
        assert_eq!(delivered.len(), 2, "{target}: {delivered:?}");
        assert!(
            delivered
                .iter()
                .all(|e| matches!(e, TimelineEvent::NotificationDelivered { .. })),
            "{target}: {delivered:?}"
        );
    }
}

/// The code block after `marker` in the README.
fn readme_snippet(marker: &str) -> String {
    let readme = std::fs::read_to_string(klaxon_local::template::repo_root().join("README.md"))
        .expect("README.md");
    let after = readme
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no {marker} in the README"));
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let code_start = body.find('\n').unwrap() + 1;
    let code_end = body[code_start..].find("```").unwrap();
    body[code_start..code_start + code_end].to_string()
}

/// Runs `program` with `script` on stdin; what it printed.
fn run(program: &str, script: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Three requests as the notifier signs them: genuine, with the body
/// changed after signing, and signed 10 minutes ago. Each as (headers
/// JSON, body as a JSON string).
fn signed_requests() -> Vec<(String, String)> {
    use klaxon_core::events::DetailType;
    use klaxon_core::notifications::webhook::signed;
    let event = klaxon_testing::events::sample_bus_event(DetailType::IncidentOpened);
    let now = jiff::Timestamp::now().as_second();
    let as_case = |(body, headers): (Vec<u8>, Vec<(String, String)>)| {
        let headers: serde_json::Map<String, serde_json::Value> = headers
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        (
            serde_json::Value::Object(headers).to_string(),
            serde_json::Value::String(String::from_utf8(body).unwrap()).to_string(),
        )
    };
    let genuine = as_case(signed(&event, KEY.as_bytes(), now));
    let (body, headers) = signed(&event, KEY.as_bytes(), now);
    let mut changed = body.clone();
    changed.extend_from_slice(b" ");
    let tampered = as_case((changed, headers));
    let old = as_case(signed(&event, KEY.as_bytes(), now - 600));
    vec![genuine, tampered, old]
}

#[test]
fn the_readmes_python_verification_accepts_klaxons_signature_and_rejects_tampering_and_replays() {
    let snippet = readme_snippet("<!-- verify-python -->");
    let mut script = format!("import json\n{snippet}\n");
    for (headers, body) in signed_requests() {
        script.push_str(&format!(
            "print(klaxon_request_is_genuine({KEY:?}.encode(), json.loads({headers:?}), json.loads({body:?}).encode()))\n"
        ));
    }
    assert_eq!(
        run("python3", &script)
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["True", "False", "False"]
    );
}

#[test]
fn the_readmes_node_verification_accepts_klaxons_signature_and_rejects_tampering_and_replays() {
    let snippet = readme_snippet("<!-- verify-node -->");
    let mut script = format!("{snippet}\n");
    for (headers, body) in signed_requests() {
        // Node lower-cases header names, as http.IncomingMessage does.
        script.push_str(&format!(
            "console.log(klaxonRequestIsGenuine({KEY:?}, Object.fromEntries(Object.entries({headers}).map(([k, v]) => [k.toLowerCase(), v])), Buffer.from({body}, 'utf8')));\n"
        ));
    }
    assert_eq!(
        run("node", &script).split_whitespace().collect::<Vec<_>>(),
        ["true", "false", "false"]
    );
}

/// Milliseconds of each sample: min / median / p90.
fn spread(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "min_ms={:.1} median_ms={:.1} p90_ms={:.1} n={}",
        at(0.0),
        at(0.5),
        at(0.9),
        ms.len()
    )
}

/// A benchmark, not a test (`make bench` runs it and reads what it
/// prints): the time from an alarm reaching the intake handler to its
/// Slack message reaching the receiver, with the stream handed to the
/// notifier at once, as its event source mapping does after polling (AWS
/// adds that polling delay, which the emulator cannot show). Also the
/// event publisher's time per stream record against the emulator
/// (GetItem of the incident, PutEvents). `BENCH_ALARMS` alarms (30), each
/// opening an incident of its own; the first, which reads the
/// configuration and the Slack token, is reported apart.
#[tokio::test]
#[ignore = "a benchmark: make bench"]
async fn bench_alarm_to_slack_message_and_publisher_per_record() {
    let alarms: usize = std::env::var("BENCH_ALARMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
        .max(2);
    let g = given("incident-resolved").await;
    let post = "/api/chat.postMessage";
    let (mut slack, mut intake, mut publish) = (Vec::new(), Vec::new(), Vec::new());
    let mut first = None;
    for n in 0..alarms {
        let started = jiff::Timestamp::now();
        let clock = std::time::Instant::now();
        g.open(&format!("latency-{n}")).await;
        let intake_ms = clock.elapsed().as_secs_f64() * 1000.0;
        g.notify().await;
        let posted = g.receiver.requests_to(post);
        assert_eq!(posted.len(), n + 1, "one message per alarm");
        let arrived = posted.last().unwrap().at;
        let slack_ms = (arrived - started).total(jiff::Unit::Millisecond).unwrap();
        let clock = std::time::Instant::now();
        let round = g.w.local.publish_events().await.unwrap();
        assert_eq!(round.failed_at, None);
        let publish_ms = clock.elapsed().as_secs_f64() * 1000.0 / round.published.max(1) as f64;
        if n == 0 {
            first = Some(slack_ms);
            continue;
        }
        slack.push(slack_ms);
        intake.push(intake_ms);
        publish.push(publish_ms);
    }
    println!(
        "bench alarm_to_slack first_ms={:.1} {}",
        first.unwrap_or_default(),
        spread(slack)
    );
    println!("bench intake_handler {}", spread(intake));
    println!("bench publisher_per_record {}", spread(publish));
}
