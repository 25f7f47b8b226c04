//! Stakeholder email: a status update (or another event a list asked
//! for) as a short plain-text message, apart from responder paging.

use crate::events::{BusEvent, IncidentSummary};
use crate::incident::TimelineEvent;

/// Subject and body.
pub fn message(event: &BusEvent, incident: &IncidentSummary) -> (String, String) {
    let (subject, lead) = match &event.detail.data {
        TimelineEvent::StatusUpdate {
            status, message, ..
        } => {
            let status = status.as_str();
            let mut s = status.chars();
            let status = s
                .next()
                .map(|c| c.to_uppercase().chain(s).collect::<String>())
                .unwrap_or_default();
            (
                format!("[{}] {status}: {}", incident.service, incident.title),
                format!("{status}: {message}"),
            )
        }
        _ => (
            format!(
                "[{}] {}: {}",
                incident.service,
                event.detail_type.as_str(),
                incident.title
            ),
            event.detail.summary.clone(),
        ),
    };
    let body = format!(
        "{lead}\n\nService: {}\nSeverity: {}\nIncident status: {}\nOpened: {}\nAt: {}\n\nKlaxon incident {}\n",
        incident.service,
        incident.severity,
        incident.status.as_str(),
        incident.opened_at,
        event.detail.at,
        incident.id,
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DetailType;
    use crate::fixtures::sample_bus_event;

    #[test]
    fn a_status_update_email_leads_with_its_status_and_message() {
        let event = sample_bus_event(DetailType::StatusUpdatePosted);
        let incident = event.detail.incident.clone().unwrap();
        let (subject, body) = message(&event, &incident);
        assert_eq!(
            subject,
            format!("[payments] Identified: {}", incident.title)
        );
        assert!(body.starts_with("Identified: 決済APIの5xx"), "{body}");
        assert!(body.contains(&incident.id));
    }
}
