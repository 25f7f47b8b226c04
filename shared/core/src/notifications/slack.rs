//! Slack: one message per incident, showing the incident as it is now
//! (severity, status, service, alarm, who is being paged), updated in
//! place on acknowledge and resolve; other events go in its thread. An
//! incoming webhook can only post, so in that mode each event is a new
//! message carrying the same facts.

use serde_json::{Value, json};

use super::headline;
use crate::events::{BusEvent, IncidentSummary};
use crate::incident::Status;

/// Text for Slack's `mrkdwn`: `&`, `<` and `>` are its control characters
/// (links, mentions) and must be escaped, as Slack documents.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn status_text(incident: &IncidentSummary) -> String {
    let by = |who: &Option<String>| {
        who.as_deref()
            .map(|w| format!(" by {w}"))
            .unwrap_or_default()
    };
    match incident.status {
        Status::Triggered => "Triggered".into(),
        Status::Acknowledged => format!("Acknowledged{}", by(&incident.acknowledged_by)),
        Status::Resolved => format!("Resolved{}", by(&incident.resolved_by)),
    }
}

fn icon(incident: &IncidentSummary) -> &'static str {
    match incident.status {
        Status::Triggered => ":red_circle:",
        Status::Acknowledged => ":large_orange_circle:",
        Status::Resolved => ":large_green_circle:",
    }
}

/// The plain-text line Slack shows in notifications and where blocks
/// cannot be drawn.
pub fn fallback_text(incident: &IncidentSummary) -> String {
    format!(
        "[{}] {}: {} ({})",
        incident.severity,
        status_text(incident),
        incident.title,
        incident.service
    )
}

fn facts(incident: &IncidentSummary, paging: &[String]) -> Vec<Value> {
    let mut fields = vec![
        ("Service", escape(&incident.service)),
        ("Severity", incident.severity.to_string()),
        ("Status", escape(&status_text(incident))),
        (
            "Alarm",
            format!("<{}|{}>", incident.alarm_url, escape(&incident.alarm_name)),
        ),
    ];
    if incident.status == Status::Triggered {
        let who = if paging.is_empty() {
            "nobody yet".to_string()
        } else {
            escape(&paging.join(", "))
        };
        fields.push(("Paging", who));
    }
    fields
        .into_iter()
        .map(|(name, value)| json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")}))
        .collect()
}

/// The incident's message (the body of `chat.postMessage` and
/// `chat.update`, without `channel` and `ts`): always the incident's
/// current state, so an update that arrives late cannot show an older one.
pub fn incident_message(incident: &IncidentSummary, paging: &[String]) -> Value {
    let mut body = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!(
            "{} *{} · {}*\n*<{}|{}>*",
            icon(incident),
            incident.severity,
            escape(&status_text(incident)),
            incident.alarm_url,
            escape(&incident.title),
        )},
    })];
    if let Some(description) = incident.description.as_deref().filter(|d| !d.is_empty()) {
        body.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": escape(description)}}),
        );
    }
    body.push(json!({"type": "section", "fields": facts(incident, paging)}));
    body.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!(
            "Klaxon incident `{}` · opened {}", escape(&incident.id), incident.opened_at
        )}],
    }));
    json!({"text": fallback_text(incident), "blocks": body, "unfurl_links": false})
}

/// A later event, as a reply in the incident message's thread.
pub fn thread_reply(event: &BusEvent) -> Value {
    json!({"text": escape(&headline(event)), "unfurl_links": false})
}

/// One event as a message of its own (incoming-webhook mode): what
/// happened, then the incident as it is now.
pub fn webhook_message(event: &BusEvent, incident: &IncidentSummary, paging: &[String]) -> Value {
    let mut message = incident_message(incident, paging);
    let line = escape(&headline(event));
    message["text"] = Value::String(format!("{line} — {}", fallback_text(incident)));
    if let Some(blocks) = message["blocks"].as_array_mut() {
        blocks.insert(
            0,
            json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{line}*")}}),
        );
    }
    message
}

/// What Slack's Web API answered: HTTP 200 with `{"ok": false, "error"}`
/// is still a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAnswer {
    /// The message's `ts`.
    Ok { ts: Option<String> },
    /// Slack refused: `retryable` for its transient errors (rate limits,
    /// its own failures), not for bad tokens or channels.
    Refused { error: String, retryable: bool },
}

/// Reads a Web API answer body.
pub fn api_answer(body: &str) -> ApiAnswer {
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return ApiAnswer::Refused {
                error: "Slack answered with something that is not JSON".into(),
                retryable: true,
            };
        }
    };
    if value["ok"].as_bool() == Some(true) {
        return ApiAnswer::Ok {
            ts: value["ts"].as_str().map(str::to_string),
        };
    }
    let error = value["error"]
        .as_str()
        .unwrap_or("unknown_error")
        .to_string();
    let retryable = matches!(
        error.as_str(),
        "ratelimited"
            | "rate_limited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
    );
    ApiAnswer::Refused { error, retryable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DetailType;
    use crate::fixtures::sample_bus_event as sample_event;

    fn incident(status: Status) -> IncidentSummary {
        let mut i = sample_event(DetailType::IncidentOpened)
            .detail
            .incident
            .expect("sample has an incident");
        i.status = status;
        i.title = "p99 > 2s <checkout & pay>".into();
        if status != Status::Triggered {
            i.acknowledged_by = Some("aiko".into());
        }
        if status == Status::Resolved {
            i.resolved_by = Some("alarm OK".into());
        }
        i
    }

    #[test]
    fn the_incident_message_shows_severity_status_service_alarm_link_and_who_is_paged() {
        let i = incident(Status::Triggered);
        let m = incident_message(&i, &["aiko (schedule primary)".into()]);
        let all = m.to_string();
        assert!(all.contains(&i.alarm_url), "{all}");
        assert!(all.contains("*Paging*\\naiko (schedule primary)"), "{all}");
        assert!(all.contains("Triggered"));
        assert!(all.contains(&i.service));
        assert_eq!(
            m["text"],
            format!("[{}] Triggered: {} ({})", i.severity, i.title, i.service)
        );
        assert!(
            all.contains("p99 &gt; 2s &lt;checkout &amp; pay&gt;"),
            "title escaped: {all}"
        );
    }

    #[test]
    fn an_acknowledged_or_resolved_message_says_by_whom_and_pages_nobody() {
        let m = incident_message(&incident(Status::Acknowledged), &["bob".into()]).to_string();
        assert!(
            m.contains("Acknowledged by aiko") && !m.contains("Paging"),
            "{m}"
        );
        let m = incident_message(&incident(Status::Resolved), &[]).to_string();
        assert!(
            m.contains("Resolved by alarm OK") && m.contains(":large_green_circle:"),
            "{m}"
        );
    }

    #[test]
    fn webhook_mode_puts_the_event_first_then_the_incident() {
        let e = sample_event(DetailType::IncidentAcknowledged);
        let i = incident(Status::Acknowledged);
        let m = webhook_message(&e, &i, &[]);
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .starts_with("Incident Acknowledged: ")
        );
        assert!(
            m["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("Incident Acknowledged")
        );
    }

    #[test]
    fn slack_refusals_in_a_200_are_read_and_only_transient_ones_retry() {
        assert_eq!(
            api_answer(r#"{"ok":true,"ts":"1.2"}"#),
            ApiAnswer::Ok {
                ts: Some("1.2".into())
            }
        );
        assert_eq!(
            api_answer(r#"{"ok":false,"error":"channel_not_found"}"#),
            ApiAnswer::Refused {
                error: "channel_not_found".into(),
                retryable: false
            }
        );
        assert!(matches!(
            api_answer(r#"{"ok":false,"error":"ratelimited"}"#),
            ApiAnswer::Refused {
                retryable: true,
                ..
            }
        ));
        assert!(matches!(
            api_answer("<html>"),
            ApiAnswer::Refused {
                retryable: true,
                ..
            }
        ));
    }
}
