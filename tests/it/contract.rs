//! The store contract (`klaxon::testing::contract`) against DynamoDB in the
//! emulator: the same cases the in-memory fake passes, each on a new stack.

use crate::common::store_of_a_new_stack;

klaxon::store_contract_tests!(store_of_a_new_stack().await);

/// The other ports' contract against the AWS adapters in the emulator.
mod outbound {
    use klaxon::testing::contract::{outbound as case, unique};

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
        klaxon::testing::contract::events::every_event_is_published_with_its_type_and_detail(
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
        use klaxon::aws::status_page::{S3StatusPages, client};
        use klaxon::testing::StoredObject;
        use klaxon::testing::contract::{status_page as case, unique};

        /// An object read back, or none.
        type Read = std::pin::Pin<Box<dyn Future<Output = Option<StoredObject>>>>;

        /// A new bucket and the adapter writing under `status/` in it, with a
        /// reader of the objects it wrote.
        async fn site() -> (S3StatusPages, impl Fn(&'static str) -> Read) {
            assert!(
                std::env::var_os("AWS_ENDPOINT_URL").is_some(),
                "AWS_ENDPOINT_URL must name the emulator (scripts/local-aws.sh start)"
            );
            let sdk = klaxon::aws::sdk_config().await;
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
