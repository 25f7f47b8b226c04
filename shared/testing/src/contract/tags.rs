//! The alarm tags contract: what CloudWatch answers to
//! `ListTagsForResource`, which the adapter and [`crate::FakeTags`]
//! must both give. The caller knows `KNOWN` with [`known_tags`], and no
//! alarm at `UNKNOWN`.

use std::collections::BTreeMap;

use klaxon_ports::AlarmTags;

/// An alarm the backend knows, tagged [`known_tags`].
pub const KNOWN: &str = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:orders-latency";
/// An alarm the backend does not know.
pub const UNKNOWN: &str = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:deleted";

/// The tags of [`KNOWN`].
pub fn known_tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("team".to_string(), "payments".to_string()),
        ("env".to_string(), "prod".to_string()),
    ])
}

pub async fn a_known_alarms_tags_are_read_as_a_map<T: AlarmTags>(t: &T) {
    assert_eq!(t.tags(KNOWN).await.unwrap(), known_tags());
}

pub async fn an_unknown_alarm_is_not_found_and_not_retried<T: AlarmTags>(t: &T) {
    let e = t.tags(UNKNOWN).await.unwrap_err();
    assert!(!e.retryable, "{e}");
    assert!(e.message.contains("ResourceNotFound"), "{e}");
    assert_eq!(e.operation, "ListTagsForResource");
}

#[cfg(test)]
mod fake {
    use crate::FakeTags;

    fn fake() -> FakeTags {
        FakeTags {
            tags: [(super::KNOWN.to_string(), super::known_tags())].into(),
            fail: false,
        }
    }

    #[tokio::test]
    async fn a_known_alarms_tags_are_read_as_a_map() {
        super::a_known_alarms_tags_are_read_as_a_map(&fake()).await;
    }

    #[tokio::test]
    async fn an_unknown_alarm_is_not_found_and_not_retried() {
        super::an_unknown_alarm_is_not_found_and_not_retried(&fake()).await;
    }
}
