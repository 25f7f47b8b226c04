//! The local stack and the SAM template must agree: everything local is
//! derived from `infra/template.yaml`, and these tests fail if a resource
//! the functions rely on is not provisioned the same way.

use std::collections::BTreeSet;

use klaxon_local::ids;
use serde_norway::Value;

use crate::common::World;

/// Whether a template condition holds on the stacks `World` deploys
/// (`StatusPage=enabled`, the self-test's default interval, no voice
/// number, an operator email and no operator phone).
fn holds_locally(condition: &str) -> bool {
    match condition {
        "HasStatusPage" | "SelfTestEnabled" | "HasOperatorEmail" => true,
        "HasVoice" | "HasOperatorPhone" => false,
        other => panic!("a new condition {other}: say whether it holds locally"),
    }
}

#[tokio::test]
async fn every_resource_the_template_declares_is_deployed_by_cloudformation() {
    let w = World::new(60, 0).await;
    let template = klaxon_local::Template::repo().unwrap();
    let stack = &w.local.stack;
    let resources = template.doc["Resources"].as_mapping().unwrap();
    for (id, body) in resources {
        let id = id.as_str().unwrap();
        let expected = body
            .get("Condition")
            .and_then(Value::as_str)
            .is_none_or(holds_locally);
        assert_eq!(stack.has(id), expected, "{id} deployed: {}", stack.has(id));
    }
    // What the SAM transform adds (roles, event source mappings,
    // permissions, subscriptions) is deployed too, each with its id.
    for (id, resource) in stack.resources() {
        assert!(
            resource.physical.as_deref().is_some_and(|p| !p.is_empty()),
            "{id} ({}) has no physical id",
            resource.kind
        );
    }
    assert!(
        stack.resources().len() > resources.len(),
        "the transform's resources are there"
    );
    stack
        .self_test_settings()
        .unwrap_or_else(|e| panic!("{}: {e}", ids::SELF_TEST));
    for id in [ids::INTAKE, ids::SMS_REPLY, ids::ESCALATOR] {
        stack.settings(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[tokio::test]
async fn local_tables_have_the_template_key_schema_and_indexes() {
    let w = World::new(60, 0).await;
    let ddb = aws_sdk_dynamodb::Client::new(&w.local.sdk);
    let template = klaxon_local::Template::repo().unwrap();
    for id in [ids::INCIDENTS_TABLE, ids::CONFIG_TABLE] {
        let body = template.resource(id).unwrap();
        let props = body.get("Properties").unwrap();
        let table = ddb
            .describe_table()
            .table_name(w.local.stack.physical(id).unwrap())
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys = |v: Option<&Value>| -> Vec<(String, String)> {
            v.and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|k| {
                    (
                        k.get("AttributeName")
                            .and_then(Value::as_str)
                            .unwrap()
                            .to_string(),
                        k.get("KeyType")
                            .and_then(Value::as_str)
                            .unwrap()
                            .to_string(),
                    )
                })
                .collect()
        };
        let actual: Vec<(String, String)> = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(actual, keys(props.get("KeySchema")), "{id} key schema");
        let mut expected_gsis: Vec<(String, Vec<(String, String)>)> = props
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|g| {
                (
                    g.get("IndexName")
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_string(),
                    keys(g.get("KeySchema")),
                )
            })
            .collect();
        let mut actual_gsis: Vec<(String, Vec<(String, String)>)> = table
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                (
                    g.index_name().unwrap().to_string(),
                    g.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.attribute_name().to_string(),
                                k.key_type().as_str().to_string(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        expected_gsis.sort();
        actual_gsis.sort();
        assert_eq!(actual_gsis, expected_gsis, "{id} indexes");
    }
}

#[tokio::test]
async fn the_deployed_state_machine_runs_the_asl_file_from_infra_with_its_substitutions() {
    let w = World::new(60, 0).await;
    let sfn = aws_sdk_sfn::Client::new(&w.local.sdk);
    let arn = w.local.stack.physical(ids::STATE_MACHINE).unwrap();
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap();
    let asl = std::fs::read_to_string(
        klaxon_local::template::repo_root().join("infra/escalation.asl.json"),
    )
    .unwrap();
    let actual: serde_json::Value = serde_json::from_str(described.definition()).unwrap();
    let states = |v: &serde_json::Value| -> BTreeSet<String> {
        v["States"].as_object().unwrap().keys().cloned().collect()
    };
    let file: serde_json::Value = serde_json::from_str(&asl).unwrap();
    assert_eq!(states(&actual), states(&file), "the file's states");
    let queue = w.local.stack.physical(ids::ESCALATION_QUEUE).unwrap();
    assert!(
        described.definition().contains(queue),
        "queue URL substituted"
    );
    assert!(
        !described.definition().contains("${"),
        "no substitution left: {}",
        described.definition()
    );
}

/// Every place a failure can end up silently is watched by an alarm that
/// reaches the operators directly, never through Klaxon's own paging.
#[test]
fn every_dead_letter_queue_function_and_the_workflow_raise_an_alarm_to_the_operators() {
    let template = klaxon_local::Template::repo().unwrap();
    let alarms = template.resources_of("AWS::CloudWatch::Alarm");
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    // The alarm names the resource (a Ref or GetAtt of its logical id).
    let watched = |id: &str| alarms.iter().any(|(_, body)| text(body).contains(id));
    let mut targets = vec![
        ids::INTAKE.to_string(),
        ids::SMS_REPLY.into(),
        ids::ESCALATOR.into(),
        ids::SELF_TEST.into(),
        ids::VOICE_CALL.into(),
        ids::EVENT_PUBLISHER.into(),
        ids::NOTIFIER.into(),
        ids::STATUS_PAGE.into(),
        ids::STATE_MACHINE.into(),
    ];
    for (id, body) in template.resources_of("AWS::SQS::Queue") {
        if id != ids::ESCALATION_QUEUE {
            assert!(text(body).contains("MessageRetentionPeriod"), "{id}");
            targets.push(id);
        }
    }
    for id in &targets {
        assert!(watched(id), "no alarm watches {id}");
    }
    for (id, body) in &alarms {
        let actions = body
            .get("Properties")
            .and_then(|p| p.get("AlarmActions"))
            .map(text)
            .unwrap_or_default();
        assert!(
            actions.contains("OperatorAlertsTopic"),
            "{id} notifies nobody: {actions}"
        );
        let missing = body
            .get("Properties")
            .and_then(|p| p.get("TreatMissingData"))
            .and_then(Value::as_str);
        assert!(missing.is_some(), "{id}: say what missing data means");
    }
    let names: Vec<&str> = alarms.iter().map(|(id, _)| id.as_str()).collect();
    for expected in [
        "SmsSpendAlarm",
        "SmsDeliveryFailuresAlarm",
        "AlarmRuleFailedInvocationsAlarm",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    // The operators hear from SNS directly, not from a Klaxon function.
    for (id, body) in template.resources_of("AWS::SNS::Subscription") {
        let protocol = body["Properties"]["Protocol"].as_str().unwrap_or_default();
        assert!(matches!(protocol, "email" | "sms"), "{id}: {protocol}");
    }
}

/// The self-test runs on a schedule, is alarmed on with missing data as
/// breaching within about one interval, and is switched off as a whole.
#[test]
fn the_self_test_is_scheduled_alarmed_and_switched_off_together() {
    use klaxon_aws::metrics::{NAMESPACE, SELF_TEST_SUCCEEDED, STACK_DIMENSION};
    let template = klaxon_local::Template::repo().unwrap();
    let doc = &template.doc;
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    let param = &doc["Parameters"]["SelfTestIntervalMinutes"];
    let allowed: Vec<u64> = param["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(allowed.contains(&0), "0 turns it off");
    assert!(allowed.contains(&param["Default"].as_u64().unwrap()));
    // Every self-test resource, and everything naming the function, goes
    // with the condition.
    let resources = doc["Resources"].as_mapping().unwrap();
    for (id, body) in resources {
        let id = id.as_str().unwrap();
        if id.starts_with("SelfTest") || text(&body["Properties"]).contains(ids::SELF_TEST) {
            assert_eq!(
                body["Condition"].as_str(),
                Some("SelfTestEnabled"),
                "{id} must go when the self-test is off"
            );
        }
    }
    // No success in the interval plus a little: noticed within the interval.
    let window = &doc["Mappings"]["SelfTestWindow"];
    for minutes in allowed.iter().filter(|m| **m > 0) {
        let w = window[&minutes.to_string()]["Minutes"].as_u64().unwrap();
        assert!(
            w > *minutes && w <= minutes + 5,
            "{minutes} min interval: {w} min window"
        );
    }
    let alarm = &doc["Resources"]["SelfTestAlarm"]["Properties"];
    assert_eq!(alarm["TreatMissingData"].as_str(), Some("breaching"));
    assert_eq!(alarm["Namespace"].as_str(), Some(NAMESPACE));
    assert_eq!(alarm["MetricName"].as_str(), Some(SELF_TEST_SUCCEEDED));
    assert_eq!(
        alarm["Dimensions"][0]["Name"].as_str(),
        Some(STACK_DIMENSION)
    );
    assert!(text(&alarm["Dimensions"][0]["Value"]).contains("AWS::StackName"));
    assert_eq!(alarm["Period"].as_u64(), Some(60));
    assert!(text(&alarm["EvaluationPeriods"]).contains("SelfTestWindow"));
    assert!(text(&alarm["OKActions"]).contains("OperatorAlertsTopic"));
    // The schedule invokes the function, through a role that may do only that.
    let schedule = &doc["Resources"]["SelfTestSchedule"]["Properties"];
    let expression = text(&schedule["ScheduleExpression"]);
    assert!(
        expression.contains("rate(${SelfTestIntervalMinutes} minutes)"),
        "{expression}"
    );
    assert_eq!(schedule["FlexibleTimeWindow"]["Mode"].as_str(), Some("OFF"));
    assert!(text(&schedule["Target"]["Arn"]).contains("SelfTestFunction.Arn"));
    let role = text(&doc["Resources"]["SelfTestScheduleRole"]["Properties"]["Policies"]);
    assert!(role.contains("lambda:InvokeFunction") && role.contains("SelfTestFunction.Arn"));
    assert_eq!(role.matches("Action").count(), 1, "{role}");
    // The function may invoke the intake function only, and outlasts its waits.
    let function = &doc["Resources"][ids::SELF_TEST]["Properties"];
    let policies = text(&function["Policies"]);
    assert_eq!(policies.matches("lambda:InvokeFunction").count(), 1);
    assert!(policies.contains("AlarmIntakeFunction.Arn"), "{policies}");
    let limits = klaxon_app::self_test::Limits::default();
    let intake_timeout = doc["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let worst = limits.page_within.as_secs() + limits.resolve_within.as_secs() + 2 * intake_timeout;
    let timeout = function["Timeout"].as_u64().unwrap();
    assert!(
        timeout > worst,
        "timeout {timeout} s, a failing run takes {worst} s"
    );
    assert_eq!(
        function["EventInvokeConfig"]["MaximumRetryAttempts"].as_u64(),
        Some(0),
        "the next run is the retry"
    );
}

/// Voice exists only with a voice number: every voice resource is behind
/// `HasVoice`, the functions that call are told the application, and only
/// its own calls can be placed or updated.
#[test]
fn voice_resources_exist_only_with_a_voice_number_and_calls_are_scoped_to_its_application() {
    let template = klaxon_local::Template::repo().unwrap();
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    for id in [
        ids::VOICE_CALL,
        ids::SIP_MEDIA_APPLICATION,
        "VoiceCallPermission",
        "VoiceSetupFunction",
        "VoiceCallLogGroup",
        "VoiceCallFailingAlarm",
    ] {
        let body = template.resource(id).unwrap();
        assert_eq!(
            body.get("Condition").and_then(Value::as_str),
            Some("HasVoice"),
            "{id}"
        );
    }
    let permission = text(template.resource("VoiceCallPermission").unwrap());
    assert!(
        permission.contains("voiceconnector.chime.amazonaws.com"),
        "{permission}"
    );
    let escalator = text(template.resource(ids::ESCALATOR).unwrap());
    assert!(escalator.contains("chime:CreateSipMediaApplicationCall"));
    assert!(escalator.contains("SipMediaApplication.SipMediaApplicationArn"));
    let reply = text(template.resource(ids::SMS_REPLY).unwrap());
    assert!(reply.contains("chime:UpdateSipMediaApplicationCall"));
    assert!(
        !reply.contains("chime:CreateSipMediaApplicationCall"),
        "sms-reply never calls anyone"
    );
    let voice = text(template.resource(ids::VOICE_CALL).unwrap());
    assert!(
        !voice.contains("chime:CreateSipMediaApplicationCall"),
        "voice-call never places calls"
    );
    for (id, body) in template.resources_of("AWS::Serverless::Function") {
        if ![ids::ESCALATOR, ids::SMS_REPLY, ids::VOICE_CALL].contains(&id.as_str()) {
            assert!(
                !text(body).contains("SipMediaApplicationCall"),
                "{id} has no business with calls"
            );
        }
    }
}

#[tokio::test]
async fn a_stack_with_a_voice_number_gives_its_functions_the_application() {
    let network = klaxon_local::phone::PhoneNetwork::start().await.unwrap();
    let local = klaxon_local::Local::up_voice(
        &format!("tv{}", &klaxon_testing::contract::unique()[..6]),
        &network,
    )
    .await
    .unwrap();
    let sma = local
        .stack
        .physical(ids::SIP_MEDIA_APPLICATION)
        .unwrap()
        .to_string();
    for id in [ids::ESCALATOR, ids::SMS_REPLY] {
        let settings = local.stack.settings(id).unwrap();
        let voice = settings
            .voice
            .unwrap_or_else(|| panic!("{id} has no voice settings"));
        assert_eq!(voice.sip_media_application_id, sma, "{id}");
        assert_eq!(voice.from.as_str(), klaxon_local::LOCAL_VOICE_FROM);
    }
    let voice_call = local.stack.settings(ids::VOICE_CALL).unwrap();
    assert!(voice_call.state_machine_arn.is_some());
}

/// The handlers that read an incident's timeline (a redelivered SMS reply,
/// the calls to end, a key's redelivery, the self-test's checks) may Query
/// the table; the template once left sms-reply without it.
#[test]
fn every_function_that_reads_timelines_may_query_the_incidents_table() {
    let template = klaxon_local::Template::repo().unwrap();
    for id in [
        ids::SMS_REPLY,
        ids::VOICE_CALL,
        ids::SELF_TEST,
        ids::NOTIFIER,
        ids::STATUS_PAGE,
    ] {
        let policies = serde_norway::to_string(
            template.resource(id).unwrap()["Properties"]
                .get("Policies")
                .unwrap(),
        )
        .unwrap();
        assert!(policies.contains("dynamodb:Query"), "{id}: {policies}");
    }
}

/// The status page is off by default: its function, bucket and alarm exist
/// only with `StatusPage=enabled`. Only that function may write the page
/// (and only its two files); it may query the table's indexes, which list
/// the incidents it shows; it runs one refresh at a time.
#[test]
fn the_status_page_function_exists_only_with_a_page_and_alone_writes_it() {
    let template = klaxon_local::Template::repo().unwrap();
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    for id in [
        ids::STATUS_PAGE,
        "StatusPageLogGroup",
        "StatusPageFailingAlarm",
        "StatusPageBucket",
        "StatusPageBucketPolicy",
    ] {
        let body = template.resource(id).unwrap();
        assert_eq!(
            body.get("Condition").and_then(Value::as_str),
            Some("HasStatusPage"),
            "{id}"
        );
    }
    let function = &template.resource(ids::STATUS_PAGE).unwrap()["Properties"];
    let policies = text(&function["Policies"]);
    assert_eq!(policies.matches("s3:").count(), 1, "{policies}");
    assert!(policies.contains("s3:PutObject"), "{policies}");
    assert!(policies.contains("/index/*"), "{policies}");
    assert!(
        !policies.contains("dynamodb:PutItem"),
        "it only reads incidents"
    );
    assert_eq!(function["ReservedConcurrentExecutions"].as_u64(), Some(1));
    // Batches it gives up on go to its own queue, alarmed by its own alarm,
    // apart from the notifier's.
    let destination = |id: &str| {
        text(
            &template.resource(id).unwrap()["Properties"]["Events"]["IncidentChanges"]["Properties"]
                ["DestinationConfig"]["OnFailure"]["Destination"],
        )
    };
    assert!(
        destination(ids::STATUS_PAGE).contains("StatusPageFailedBatchesQueue"),
        "{}",
        destination(ids::STATUS_PAGE)
    );
    assert!(destination(ids::NOTIFIER).contains("UnnotifiedEventsQueue"));
    let queue = template.resource("StatusPageFailedBatchesQueue").unwrap();
    assert_eq!(queue["Condition"].as_str(), Some("HasStatusPage"));
    assert!(
        text(template.resource("StatusPageFailingAlarm").unwrap())
            .contains("StatusPageFailedBatchesQueue")
    );
    assert!(
        !text(template.resource("NotifierFailingAlarm").unwrap()).contains("StatusPage"),
        "the notifier's alarm is the notifier's alone"
    );
    for (id, body) in template.resources_of("AWS::Serverless::Function") {
        if id != ids::STATUS_PAGE {
            let body = text(body);
            assert!(!body.contains("s3:"), "{id} has no business with S3");
            assert!(!body.contains("KLAXON_STATUS_PAGE_BUCKET"), "{id}");
        }
    }
}

/// The alarms that read one of Klaxon's own metrics, by metric name: a
/// plain alarm's, or one of a metric-math alarm's queries.
fn klaxon_metric_alarms(template: &klaxon_local::Template) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (id, body) in template.resources_of("AWS::CloudWatch::Alarm") {
        let props = &body["Properties"];
        let mut stats = vec![props.clone()];
        if let Some(queries) = props["Metrics"].as_sequence() {
            stats.extend(queries.iter().map(|q| q["MetricStat"]["Metric"].clone()));
        }
        for stat in stats {
            if stat["Namespace"].as_str() == Some(klaxon_core::metrics::NAMESPACE) {
                let name = stat["MetricName"].as_str().unwrap_or_default().to_string();
                found.push((id.clone(), name, stat));
            }
        }
    }
    found
}

/// Every metric Klaxon counts for something that went wrong (all but pages
/// sent) has an alarm to the operators: on the stack's total (dimension
/// `Stack` only, which the functions emit beside the per-channel one),
/// with no data meaning nothing happened, and a description that says
/// what to do.
#[test]
fn every_metric_of_something_gone_wrong_raises_an_alarm_to_the_operators() {
    use klaxon_core::metrics::{Metric, STACK};
    let template = klaxon_local::Template::repo().unwrap();
    let alarmed = klaxon_metric_alarms(&template);
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    let wrong: BTreeSet<&str> = Metric::each()
        .into_iter()
        .filter(|m| !matches!(m, Metric::PageSent(_)))
        .map(Metric::name)
        .collect();
    for name in &wrong {
        let Some((id, _, stat)) = alarmed.iter().find(|(_, n, _)| n == name) else {
            panic!("no alarm on Klaxon/{name}");
        };
        let dims = stat["Dimensions"].as_sequence().expect("dimensions");
        assert_eq!(dims.len(), 1, "{id}: the stack's total, not one channel");
        assert_eq!(dims[0]["Name"].as_str(), Some(STACK), "{id}");
        assert!(text(&dims[0]["Value"]).contains("AWS::StackName"), "{id}");
        let props = &template.resource(id).unwrap()["Properties"];
        assert!(
            text(&props["AlarmActions"]).contains("OperatorAlertsTopic"),
            "{id}"
        );
        assert_eq!(
            props["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id}"
        );
        assert_eq!(props["Threshold"].as_u64(), Some(1), "{id}: the first one");
        let description = props["AlarmDescription"].as_str().unwrap_or_default();
        assert!(
            description.len() > 120,
            "{id}: say what to do: {description}"
        );
    }
    // Nothing alarms on a metric no function counts.
    for (id, name, _) in &alarmed {
        assert!(
            wrong.contains(name.as_str()) || name == klaxon_core::metrics::SELF_TEST_SUCCEEDED,
            "{id} reads Klaxon/{name}, which nothing emits"
        );
    }
}

/// The metrics the functions count carry the stack's name, as the alarms
/// read them: every function has `KLAXON_STACK_NAME`.
#[test]
fn every_function_knows_its_stack_name_for_its_metrics() {
    let template = klaxon_local::Template::repo().unwrap();
    let globals = &template.doc["Globals"]["Function"]["Environment"]["Variables"];
    assert!(
        serde_norway::to_string(&globals[klaxon_runtime::ENV_STACK_NAME])
            .unwrap()
            .contains("AWS::StackName")
    );
}

/// A stack deployed with the defaults has nobody subscribed to its
/// operator alerts: CloudFormation refuses it (the template's rule), and
/// so does the local deployment, which checks the rules the emulator
/// ignores. With an operator email it deploys.
#[tokio::test]
async fn a_stack_deployed_with_defaults_cannot_leave_its_operator_alarms_unheard() {
    let w = World::new(60, 0).await;
    let template = klaxon_local::template::repo_root()
        .join("infra")
        .join("template.yaml");
    let refused = klaxon_local::Stack::deploy(
        &w.local.sdk,
        "klaxon-unheard",
        &template,
        Default::default(),
        &[],
    )
    .await
    .expect_err("nobody would hear the operator alarms");
    let said = refused.to_string();
    assert!(
        said.contains("OperatorsHearKlaxon") && said.contains("OperatorEmail"),
        "{said}"
    );
    // The rule names both ways to be heard.
    let doc = klaxon_local::Template::repo().unwrap().doc;
    let rule = serde_norway::to_string(&doc["Rules"]["OperatorsHearKlaxon"]).unwrap();
    assert!(
        rule.contains("OperatorEmail") && rule.contains("OperatorPhone"),
        "{rule}"
    );
    // The stacks the tests deploy pass an operator email, and SNS lists
    // its subscription on the topic.
    let subs = w.local.operator_subscriptions().await.unwrap();
    assert!(
        subs.iter()
            .any(|s| s.endpoint() == Some(klaxon_local::stack::OPERATOR_EMAIL)),
        "{subs:?}"
    );
}

/// A role that texts phone numbers must have `sns:Publish` on `*` (a
/// phone-number publish names no resource), but none may publish to a
/// topic: a message forged onto the inbound SMS topic would acknowledge
/// an incident. The emulator enforces the denial as IAM does: the
/// escalator's and sms-reply's roles are refused the topic and still text.
#[tokio::test]
async fn no_role_that_texts_may_publish_to_a_topic() {
    let template = klaxon_local::Template::repo().unwrap();
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    let statements = |body: &Value| -> Vec<Value> {
        let mut out = Vec::new();
        for policy in body["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            out.extend(
                policy["Statement"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        out.extend(
            body["Properties"]["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
                .cloned(),
        );
        out
    };
    let mut texting = Vec::new();
    for kind in ["AWS::Serverless::Function", "AWS::IAM::ManagedPolicy"] {
        for (id, body) in template.resources_of(kind) {
            let all = statements(body);
            let publishes = all.iter().any(|s| {
                s["Effect"].as_str() == Some("Allow") && text(&s["Action"]).contains("sns:Publish")
            });
            if !publishes {
                continue;
            }
            texting.push(id.clone());
            assert!(
                all.iter().any(|s| s["Effect"].as_str() == Some("Deny")
                    && text(&s["Action"]).contains("sns:Publish")
                    && text(&s["Resource"]).contains(":sns:*:*:*")),
                "{id} may publish to topics"
            );
        }
    }
    assert!(texting.len() >= 3, "{texting:?}");

    let w = World::new(60, 0).await;
    let topic = w
        .local
        .stack
        .physical("InboundSmsTopic")
        .unwrap()
        .to_string();
    for function in [ids::ESCALATOR, ids::SMS_REPLY] {
        let credentials =
            klaxon_local::roles::role_credentials(&w.local.sdk, &w.local.stack, function)
                .await
                .unwrap();
        let sns =
            aws_sdk_sns::Client::new(&klaxon_local::roles::signed(&w.local.sdk, &credentials));
        let forged = sns
            .publish()
            .topic_arn(&topic)
            .message("ACK 1234")
            .send()
            .await
            .expect_err("a function's role may not publish to the inbound SMS topic");
        let said = format!("{}", aws_sdk_sns::error::DisplayErrorContext(&forged));
        assert!(
            said.contains("AuthorizationError") || said.contains("AccessDenied"),
            "{function}: {said}"
        );
        sns.publish()
            .phone_number("+819012345678")
            .message("klaxon: a page")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{function} may text: {}",
                    aws_sdk_sns::error::DisplayErrorContext(&e)
                )
            });
    }
}

/// The alarm gaps stay closed: a new dead letter in any dead-letter queue
/// fires again while older ones wait (an increase, not a level), a step
/// left waiting in the escalation queue alarms, and so do events Lambda
/// dropped for the functions invoked asynchronously.
#[test]
fn a_new_dead_letter_an_old_step_and_a_dropped_event_each_raise_an_alarm() {
    let template = klaxon_local::Template::repo().unwrap();
    let text = |v: &Value| serde_norway::to_string(v).unwrap_or_default();
    let arrived = text(template.resource("DeadLetterArrivedAlarm").unwrap());
    for (id, _) in template.resources_of("AWS::SQS::Queue") {
        if id != ids::ESCALATION_QUEUE {
            assert!(arrived.contains(&format!("{id}.QueueName")), "{id}");
        }
    }
    assert!(arrived.contains("DIFF(FILL("), "{arrived}");
    let arrived = &template.resource("DeadLetterArrivedAlarm").unwrap()["Properties"];
    assert!(
        arrived.get("OKActions").is_none(),
        "it goes back to OK by itself a minute later: no OK message"
    );
    let age = &template.resource("EscalationQueueAgeAlarm").unwrap()["Properties"];
    assert_eq!(
        age["MetricName"].as_str(),
        Some("ApproximateAgeOfOldestMessage")
    );
    assert!(text(&age["Dimensions"]).contains("EscalationQueue.QueueName"));
    let dropped = text(template.resource("AsyncEventsDroppedAlarm").unwrap());
    assert!(dropped.contains("AsyncEventsDropped"));
    for function in [ids::INTAKE, ids::SMS_REPLY, ids::ESCALATION_SWEEP] {
        assert!(dropped.contains(function), "{function}");
    }
}
