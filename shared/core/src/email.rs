//! Email text for pages.

use super::incident::Incident;
use super::time::iso;

/// Subject and plain-text body of a page by email.
pub fn page_email(incident: &Incident) -> (String, String) {
    let subject = format!(
        "[Klaxon] {} {} ALARM {}/{} ({})",
        incident.severity, incident.urgency, incident.service, incident.alarm_name, incident.id
    );
    let mut body = format!(
        "Incident {id} is {status}.\n\n\
         Alarm:    {alarm}\n\
         Service:  {service}\n\
         Severity: {severity} ({urgency} urgency)\n\
         Opened:   {opened} (UTC)\n\
         Account:  {account} {region}\n\
         Reason:   {reason}\n",
        id = incident.id,
        status = incident.status,
        alarm = incident.alarm_name,
        service = incident.service,
        severity = incident.severity,
        urgency = incident.urgency,
        opened = iso(incident.opened_at),
        account = incident.account,
        region = incident.region,
        reason = incident.reason,
    );
    if let Some(d) = &incident.description {
        body.push_str(&format!("Details:  {d}\n"));
    }
    body.push_str(&format!(
        "\nTo acknowledge, reply to the SMS page with ACK {code} (RES {code} resolves), \
         or run: klaxon incidents ack {id}\n",
        code = incident.ack_code,
        id = incident.id
    ));
    (subject, body)
}
