use super::*;
use crate::fixtures::sample_event;
use crate::fixtures::t0;
use crate::incident::TimelineEntry;

#[test]
fn who_is_paged_is_the_newest_level_that_fired() {
    let fired = |level, targets: &[&str]| TimelineEvent::LevelFired {
        step: level,
        pass: 1,
        level,
        targets: targets.iter().map(|t| t.to_string()).collect(),
    };
    let timeline = vec![
        TimelineEntry::new(t0(), "a", TimelineEvent::Opened),
        TimelineEntry::new(t0(), "b", fired(1, &["aiko"])),
        TimelineEntry::new(t0(), "c", fired(2, &["bob", "carol"])),
        TimelineEntry::new(t0(), "d", sample_event(DetailType::IncidentAcknowledged)),
    ];
    assert_eq!(paging_now(&timeline), vec!["bob", "carol"]);
    assert!(paging_now(&timeline[..1]).is_empty());
}

#[test]
fn the_posted_slack_message_is_found_per_destination() {
    let delivered = |target: &str, reference: Option<&str>| TimelineEvent::NotificationDelivered {
        target: target.into(),
        destination: DestinationKind::Slack,
        event: "e".into(),
        status: Some(200),
        attempts: 1,
        reference: reference.map(str::to_string),
    };
    let timeline = vec![
        TimelineEntry::new(t0(), "a", delivered("other", Some("9.9"))),
        TimelineEntry::new(t0(), "b", delivered("ops", Some("1.1"))),
        TimelineEntry::new(t0(), "c", delivered("ops", None)),
    ];
    assert_eq!(posted_message(&timeline, "ops").as_deref(), Some("1.1"));
    assert_eq!(posted_message(&timeline, "none"), None);
}

#[test]
fn outcomes_are_recorded_once_per_destination_and_entry_and_never_delivered() {
    let delivered = sample_event(DetailType::NotificationDelivered);
    let failed = sample_event(DetailType::NotificationFailed);
    assert!(is_delivery_outcome(&delivered) && is_delivery_outcome(&failed));
    assert!(!is_delivery_outcome(&TimelineEvent::Opened));
    assert_eq!(
        delivered.once_key(),
        Some(outcome_key("ops-slack", "2026-12-01T08:00:00.000Z/opened"))
    );
    for kind in [
        DestinationKind::Slack,
        DestinationKind::SlackWebhook,
        DestinationKind::Teams,
        DestinationKind::Webhook,
        DestinationKind::Email,
    ] {
        assert!(
            !kind
                .default_events()
                .contains(&DetailType::NotificationDelivered)
                || kind == DestinationKind::Webhook,
            "{kind}"
        );
    }
    assert_eq!(
        DestinationKind::Email.default_events(),
        &[DetailType::StatusUpdatePosted]
    );
}
