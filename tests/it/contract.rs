//! The store contract (`klaxon_testing::contract`) against DynamoDB in the
//! emulator: the same cases the in-memory fake passes, each on a new stack.

use crate::common::store_of_a_new_stack;

klaxon_testing::store_contract_tests!(store_of_a_new_stack().await);

/// The other ports' contract against the AWS adapters in the emulator.
mod outbound {
    use klaxon_testing::contract::{outbound as case, unique};

    use crate::common::World;

    #[tokio::test]
    async fn an_escalation_starts_once_and_stops_harmlessly() {
        let w = World::bare().await;
        case::an_escalation_starts_once_and_stops_harmlessly(&w.local.escalations, &unique()).await;
    }

    #[tokio::test]
    async fn an_sms_is_accepted_with_its_own_id() {
        let w = World::bare().await;
        case::an_sms_is_accepted_with_its_own_id(&w.local.sms, &unique()).await;
    }

    #[tokio::test]
    async fn an_email_is_accepted_with_its_own_id() {
        let w = World::bare().await;
        let email = w.local.email.as_ref().expect("local stacks send email");
        case::an_email_is_accepted_with_its_own_id(email, &unique()).await;
    }

    /// The Chime SDK Voice adapter against the simulated phone network (no
    /// emulator runs the Chime SDK).
    #[tokio::test]
    async fn a_call_is_placed_with_its_own_id_and_updated_while_under_way() {
        let network = klaxon_local::phone::PhoneNetwork::start().await.unwrap();
        let tag = unique();
        let local = klaxon_local::Local::up_voice(&format!("c{}", &tag[..8]), &network)
            .await
            .unwrap();
        let calls = local
            .calls
            .as_ref()
            .expect("a stack with voice places calls");
        case::a_call_is_placed_with_its_own_id_and_updated_while_under_way(calls, &tag).await;
    }

    /// EventBridge, read back through a rule on the stack's bus with an
    /// SQS target.
    #[tokio::test]
    async fn every_event_is_published_with_its_type_and_detail() {
        let w = World::bare().await;
        let tap = w.local.tap_bus("contract").await.unwrap();
        klaxon_testing::contract::events::every_event_is_published_with_its_type_and_detail(
            &w.local.bus,
            &unique(),
            || async { tap.drain().await.unwrap() },
        )
        .await;
    }

    #[tokio::test]
    async fn an_escalation_has_ended_once_stopped() {
        let w = World::bare().await;
        case::an_escalation_has_ended_once_stopped(&w.local.escalations, &unique()).await;
    }

    /// The harness's delivery (the intake handler itself): moto cannot run
    /// the intake function behind `lambda:Invoke` without Docker, so the
    /// Lambda adapter is checked against a mocked client instead.
    #[tokio::test]
    async fn an_alarm_event_reaches_intake_and_its_answer_returns() {
        let w = World::new(60, 0).await;
        case::an_alarm_event_reaches_intake_and_its_answer_returns(
            &*w.local,
            &unique(),
            jiff::Timestamp::now(),
        )
        .await;
    }

    #[tokio::test]
    async fn a_self_test_success_is_counted() {
        let w = World::bare().await;
        let at = jiff::Timestamp::now();
        let window = jiff::SignedDuration::from_mins(5);
        case::a_self_test_success_is_counted(&w.local.metrics, at, || {
            crate::self_test::successes(&w.local, at - window, at + window)
        })
        .await;
    }

    #[tokio::test]
    async fn the_configuration_is_missing_invalid_or_current() {
        let w = World::bare().await;
        let config = &w.local.config;
        case::the_configuration_is_missing_invalid_or_current(config, |yaml| async move {
            let revision = config.load().await.unwrap().map_or(0, |c| c.revision);
            config.store(&yaml, "contract", revision).await.unwrap();
        })
        .await;
    }

    /// The status page's S3 adapter, on a new bucket under a key prefix,
    /// read back with `GetObject`.
    mod status_page {
        use klaxon_s3::{S3StatusPages, client};
        use klaxon_testing::StoredObject;
        use klaxon_testing::contract::{status_page as case, unique};

        /// An object read back, or none.
        type Read = std::pin::Pin<Box<dyn Future<Output = Option<StoredObject>>>>;

        /// A new bucket and the adapter writing under `status/` in it, with a
        /// reader of the objects it wrote.
        async fn site() -> (S3StatusPages, impl Fn(&'static str) -> Read) {
            assert!(
                std::env::var_os("AWS_ENDPOINT_URL").is_some(),
                "AWS_ENDPOINT_URL must name the emulator (scripts/local-aws.sh start)"
            );
            let sdk = klaxon_aws::sdk_config().await;
            let s3 = client(&sdk);
            let bucket = format!("klaxon-status-{}", unique());
            s3.create_bucket()
                .bucket(&bucket)
                .send()
                .await
                .expect("create the bucket");
            let pages = S3StatusPages::new(s3.clone(), bucket.clone(), Some("status"));
            let keys = pages.clone();
            let read = move |name: &'static str| {
                let (s3, bucket, key) = (s3.clone(), bucket.clone(), keys.key(name));
                Box::pin(async move {
                    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
                    let content_type = out.content_type().unwrap_or_default().to_string();
                    let cache_control = out.cache_control().unwrap_or_default().to_string();
                    let bytes = out.body.collect().await.ok()?.into_bytes();
                    Some(StoredObject {
                        body: String::from_utf8(bytes.to_vec()).ok()?,
                        content_type,
                        cache_control,
                    })
                }) as Read
            };
            (pages, read)
        }

        #[tokio::test]
        async fn a_publish_serves_the_page_and_the_feed_with_their_headers() {
            let (pages, read) = site().await;
            assert!(pages.key("index.html").starts_with("status/"));
            case::a_publish_serves_the_page_and_the_feed_with_their_headers(
                &pages,
                &unique(),
                read,
            )
            .await;
        }

        #[tokio::test]
        async fn a_later_publish_replaces_the_page_and_the_feed() {
            let (pages, read) = site().await;
            case::a_later_publish_replaces_the_page_and_the_feed(&pages, &unique(), read).await;
        }
    }
}

/// The HTTP adapter against the harness's receiver (a local server): the
/// endpoints contract, then what only a real server shows.
mod endpoints {
    use std::sync::Arc;
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};
    use klaxon_core::events::DetailType;
    use klaxon_core::notifications::webhook;
    use klaxon_http::HttpEndpoints;
    use klaxon_local::receiver::{Answer, Receiver};
    use klaxon_ports::{Clock, Endpoints, HttpRequest, RetryPolicy};
    use klaxon_testing::ManualClock;
    use klaxon_testing::contract::endpoints::{self as case, Script, Scripted};
    use klaxon_testing::contract::unique;
    use klaxon_testing::events::sample_bus_event;

    struct Receiving(Receiver);

    impl Receiving {
        fn path<'a>(&self, url: &'a str) -> &'a str {
            let base = self.0.url("");
            url.strip_prefix(base.as_str()).unwrap_or(url)
        }
    }

    fn answer(s: Scripted) -> Answer {
        match s {
            Scripted::Status(status, body) => Answer::Status {
                status,
                body,
                retry_after: None,
            },
            Scripted::RetryAfter(status, seconds) => Answer::retry_after(status, seconds),
        }
    }

    impl Script for Receiving {
        fn url(&self, path: &str) -> String {
            self.0.url(path)
        }

        fn script(&self, url: &str, answers: Vec<Scripted>, then: Scripted) {
            let path = self.path(url);
            self.0.script(path, answers.into_iter().map(answer));
            self.0.always(path, answer(then));
        }

        async fn received(&self, url: &str) -> Vec<Vec<u8>> {
            self.0
                .requests_to(self.path(url))
                .into_iter()
                .map(|r| r.body)
                .collect()
        }
    }

    const ATTEMPTS: u32 = 3;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: ATTEMPTS,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
        }
    }

    /// The adapter, waiting by moving a clock (nothing sleeps), and a
    /// receiver.
    async fn setup(
        policy: RetryPolicy,
    ) -> (HttpEndpoints<ManualClock>, Arc<ManualClock>, Receiving) {
        let clock = Arc::new(ManualClock::at(Timestamp::UNIX_EPOCH));
        let endpoints = HttpEndpoints::with_sleep(policy, Arc::clone(&clock));
        (
            endpoints,
            clock,
            Receiving(Receiver::start().await.unwrap()),
        )
    }

    #[tokio::test]
    async fn a_server_error_then_success_delivers_on_the_second_attempt() {
        let (e, _, r) = setup(policy()).await;
        case::a_server_error_then_success_delivers_on_the_second_attempt(&e, &r, &unique()).await;
    }

    #[tokio::test]
    async fn a_not_found_is_refused_without_a_retry() {
        let (e, _, r) = setup(policy()).await;
        case::a_not_found_is_refused_without_a_retry(&e, &r, &unique()).await;
    }

    #[tokio::test]
    async fn a_throttled_request_is_retried() {
        let (e, _, r) = setup(policy()).await;
        case::a_throttled_request_is_retried(&e, &r, &unique()).await;
    }

    #[tokio::test]
    async fn an_endpoint_always_unavailable_gets_every_attempt() {
        let (e, _, r) = setup(policy()).await;
        case::an_endpoint_always_unavailable_gets_every_attempt(&e, &r, &unique(), ATTEMPTS).await;
    }

    #[tokio::test]
    async fn an_accepted_answer_returns_its_body() {
        let (e, _, r) = setup(policy()).await;
        case::an_accepted_answer_returns_its_body(&e, &r, &unique()).await;
    }

    fn post(r: &Receiving, path: &str) -> HttpRequest {
        HttpRequest {
            url: r.url(path),
            headers: vec![],
            body: b"{}".to_vec(),
        }
    }

    #[tokio::test]
    async fn a_retry_after_is_waited_but_never_longer_than_the_maximum_delay() {
        let (e, clock, r) = setup(policy()).await;
        r.0.script("/short", [Answer::retry_after(429, 1)]);
        e.post(&post(&r, "/short")).await.unwrap();
        assert!(
            clock.now() >= Timestamp::UNIX_EPOCH + SignedDuration::from_secs(1),
            "waited at least the second asked: {}",
            clock.now()
        );
        let before = clock.now();
        r.0.script("/long", [Answer::retry_after(503, 3600)]);
        e.post(&post(&r, "/long")).await.unwrap();
        assert_eq!(
            clock.now().duration_since(before),
            SignedDuration::from_secs(2),
            "capped"
        );
    }

    #[tokio::test]
    async fn an_answer_slower_than_the_timeout_is_retried_then_reported_as_timed_out() {
        let quick = RetryPolicy {
            max_attempts: 2,
            timeout: Duration::from_millis(300),
            ..policy()
        };
        let (e, _, r) = setup(quick).await;
        r.0.always("/slow", Answer::Hang(Duration::from_secs(30)));
        let failure = e.post(&post(&r, "/slow")).await.unwrap_err();
        assert_eq!(failure.error, "timed out after 300ms");
        assert_eq!((failure.attempts, failure.retryable), (2, true));
        assert_eq!(failure.status, None);
    }

    #[tokio::test]
    async fn a_signed_webhook_verifies_at_the_receiver_with_its_headers_and_json_type() {
        let (e, _, r) = setup(policy()).await;
        r.0.verify_signatures(b"whsec-contract");
        let event = sample_bus_event(DetailType::IncidentResolved);
        let (body, headers) =
            webhook::signed(&event, b"whsec-contract", Timestamp::now().as_second());
        let request = HttpRequest {
            url: r.url("/hooks/signed"),
            headers,
            body,
        };
        e.post(&request).await.unwrap();
        let received = r.0.requests_to("/hooks/signed");
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].verified, Some(true));
        assert_eq!(received[0].header("content-type"), Some("application/json"));
        assert_eq!(
            received[0].header(webhook::EVENT_ID_HEADER),
            Some(event.detail.event_id.as_str())
        );
    }

    #[tokio::test]
    async fn slack_answers_a_post_with_its_ts_and_refuses_a_wrong_token_in_the_body() {
        let (e, _, r) = setup(policy()).await;
        r.0.slack_token("xoxb-contract");
        let call = |token: &str| HttpRequest {
            url: r.url("/api/chat.postMessage"),
            headers: vec![("Authorization".into(), format!("Bearer {token}"))],
            body: br#"{"channel":"C1","text":"SEV2 opened"}"#.to_vec(),
        };
        let posted = e.post(&call("xoxb-contract")).await.unwrap();
        let answer: serde_json::Value = serde_json::from_str(&posted.body).unwrap();
        assert_eq!(answer["ok"], true);
        assert!(answer["ts"].is_string());
        let refused = e.post(&call("xoxb-wrong")).await.unwrap();
        assert!(refused.body.contains("invalid_auth"), "{}", refused.body);
        assert_eq!(r.0.slack_messages("C1").len(), 1);
    }
}

/// The secrets adapter against SSM and Secrets Manager in the emulator.
mod secrets {
    use aws_sdk_ssm::types::ParameterType;
    use klaxon_core::secrets::SecretRef;
    use klaxon_secrets::AwsSecrets;
    use klaxon_testing::contract::secrets::{self as case, Seed};
    use klaxon_testing::contract::unique;

    struct Emulated {
        ssm: aws_sdk_ssm::Client,
        secrets_manager: aws_sdk_secretsmanager::Client,
    }

    impl Seed for Emulated {
        async fn put(&self, secret: &SecretRef, value: &str) {
            match secret {
                SecretRef::Ssm(name) => {
                    self.ssm
                        .put_parameter()
                        .name(name)
                        .value(value)
                        .r#type(ParameterType::SecureString)
                        .overwrite(true)
                        .send()
                        .await
                        .unwrap();
                }
                SecretRef::SecretsManager(name) => {
                    self.secrets_manager
                        .create_secret()
                        .name(name)
                        .secret_string(value)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }

    async fn adapter() -> (AwsSecrets, Emulated) {
        let sdk = klaxon_aws::sdk_config().await;
        let seed = Emulated {
            ssm: aws_sdk_ssm::Client::new(&sdk),
            secrets_manager: aws_sdk_secretsmanager::Client::new(&sdk),
        };
        (AwsSecrets::from_sdk(&sdk), seed)
    }

    #[tokio::test]
    async fn a_secure_string_parameter_is_read_decrypted() {
        let (s, p) = adapter().await;
        case::a_secure_string_parameter_is_read_decrypted(&s, &p, &unique()).await;
    }

    #[tokio::test]
    async fn a_secrets_manager_string_is_read() {
        let (s, p) = adapter().await;
        case::a_secrets_manager_string_is_read(&s, &p, &unique()).await;
    }

    #[tokio::test]
    async fn a_missing_secret_is_missing() {
        let (s, _) = adapter().await;
        case::a_missing_secret_is_missing(&s, &unique()).await;
    }

    #[tokio::test]
    async fn an_existing_secret_exists() {
        let (s, p) = adapter().await;
        case::an_existing_secret_exists(&s, &p, &unique()).await;
    }
}

/// The delivery channels' reads against the emulator: SNS's SMS sandbox and
/// SES's account through its stand-ins (`scripts/moto_ext/sandboxes.py`),
/// SNS's SMS attributes, SES identities and CloudWatch in moto. The cases
/// own one region no other test uses.
mod channels {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::MetricDatum;
    use aws_types::region::Region;
    use klaxon_aws::channels::AwsDeliveryChannels;
    use klaxon_local::Emulator;
    use klaxon_local::phone::{PhoneNetwork, VoiceEndpoint};
    use klaxon_testing::contract::channels::{self as case, Seed};
    use klaxon_testing::contract::unique;

    const REGION: &str = "sa-east-1";

    struct Emulated {
        emulator: Emulator,
        /// The Chime SDK's stand-in (no emulator runs it).
        network: PhoneNetwork,
        sns: aws_sdk_sns::Client,
        ses: aws_sdk_sesv2::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
    }

    impl Seed for Emulated {
        async fn sms_sandbox(&self, in_sandbox: bool, verified: &[&str], pending: &[&str]) {
            self.emulator
                .sms_sandbox(REGION, in_sandbox, verified, pending)
                .await
                .unwrap();
        }

        async fn sms_spent(&self, usd: f64, at: jiff::Timestamp) {
            self.cloudwatch
                .put_metric_data()
                .namespace("AWS/SNS")
                .metric_data(
                    MetricDatum::builder()
                        .metric_name("SMSMonthToDateSpentUSD")
                        .value(usd)
                        .timestamp(DateTime::from_millis(at.as_millisecond()))
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }

        async fn sms_spend_limit(&self, usd: &str) {
            self.sns
                .set_sms_attributes()
                .attributes("MonthlySpendLimit", usd)
                .send()
                .await
                .unwrap();
        }

        async fn verified_email_identity(&self, name: &str) {
            // moto verifies an identity as it is created.
            self.ses
                .create_email_identity()
                .email_identity(name)
                .send()
                .await
                .unwrap();
        }

        async fn ses_sending(&self, enabled: bool) {
            self.emulator.ses_sending(REGION, enabled).await.unwrap();
        }

        async fn voice_number(&self, number: &str, status: Option<&str>) {
            self.network.number_status(number, status);
        }
    }

    async fn adapter() -> (AwsDeliveryChannels, Emulated) {
        let network = PhoneNetwork::start().await.unwrap();
        let sdk = klaxon_aws::sdk_config()
            .await
            .to_builder()
            .region(Region::from_static(REGION))
            .service_config(VoiceEndpoint(network.endpoint.clone()))
            .build();
        let seed = Emulated {
            emulator: Emulator::from_env().unwrap(),
            network,
            sns: aws_sdk_sns::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
        };
        (AwsDeliveryChannels::from_sdk(&sdk), seed)
    }

    #[tokio::test]
    async fn the_sms_sandbox_lists_only_verified_numbers() {
        let (c, p) = adapter().await;
        case::the_sms_sandbox_lists_only_verified_numbers(&c, &p).await;
    }

    #[tokio::test]
    async fn this_months_sms_spend_is_its_latest_datapoint() {
        let (c, p) = adapter().await;
        case::this_months_sms_spend_is_its_latest_datapoint(&c, &p, jiff::Timestamp::now()).await;
    }

    #[tokio::test]
    async fn an_email_identity_is_found_by_name() {
        let (c, p) = adapter().await;
        case::an_email_identity_is_found_by_name(&c, &p, &unique()).await;
    }

    #[tokio::test]
    async fn ses_sending_reads_back() {
        let (c, p) = adapter().await;
        case::ses_sending_reads_back(&c, &p).await;
    }

    #[tokio::test]
    async fn a_voice_number_reads_back_with_its_status() {
        let (c, p) = adapter().await;
        case::a_voice_number_reads_back_with_its_status(&c, &p).await;
    }
}
