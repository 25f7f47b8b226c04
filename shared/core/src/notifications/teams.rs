//! Microsoft Teams: one Adaptive Card per event, posted to a Teams
//! workflow webhook ("Post to a channel when a webhook request is
//! received"), which takes a message with the card as its attachment.

use serde_json::{Value, json};

use super::headline;
use crate::events::{BusEvent, IncidentSummary};
use crate::incident::Status;

/// The Adaptive Card schema version Teams renders.
pub const CARD_VERSION: &str = "1.4";

fn accent(status: Status) -> &'static str {
    match status {
        Status::Triggered => "attention",
        Status::Acknowledged => "warning",
        Status::Resolved => "good",
    }
}

/// The workflow webhook's body for `event`, with the incident as it is now.
pub fn message(event: &BusEvent, incident: &IncidentSummary, paging: &[String]) -> Value {
    let mut facts = vec![
        json!({"title": "Service", "value": incident.service}),
        json!({"title": "Severity", "value": incident.severity.to_string()}),
        json!({"title": "Status", "value": incident.status.as_str()}),
        json!({"title": "Alarm", "value": incident.alarm_name}),
    ];
    if incident.status == Status::Triggered && !paging.is_empty() {
        facts.push(json!({"title": "Paging", "value": paging.join(", ")}));
    }
    if let Some(by) = &incident.acknowledged_by {
        facts.push(json!({"title": "Acknowledged by", "value": by}));
    }
    if let Some(by) = &incident.resolved_by {
        facts.push(json!({"title": "Resolved by", "value": by}));
    }
    facts.push(json!({"title": "Incident", "value": incident.id}));
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": format!("{} · {}", incident.severity, incident.title),
                "weight": "Bolder",
                "size": "Medium",
                "color": accent(incident.status),
                "wrap": true
            },
            {"type": "TextBlock", "text": headline(event), "wrap": true},
            {"type": "FactSet", "facts": facts}
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Open the alarm", "url": incident.alarm_url}
        ]
    });
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DetailType;
    use crate::fixtures::sample_bus_event;

    #[test]
    fn the_card_is_an_adaptive_card_attachment_with_the_event_and_the_incident() {
        let event = sample_bus_event(DetailType::IncidentOpened);
        let incident = event.detail.incident.clone().unwrap();
        let m = message(&event, &incident, &["aiko".into()]);
        assert_eq!(m["type"], "message");
        let attachment = &m["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], CARD_VERSION);
        assert_eq!(card["body"][1]["text"], headline(&event));
        assert_eq!(card["actions"][0]["url"], incident.alarm_url.as_str());
        let facts = card["body"][2]["facts"].to_string();
        assert!(
            facts.contains("Paging") && facts.contains("aiko"),
            "{facts}"
        );
        assert!(facts.contains(&incident.service));
    }
}
