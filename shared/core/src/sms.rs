//! SMS text: pages and confirmations that fit one SMS segment.
//!
//! A single segment holds 160 GSM-7 characters (extension characters such as
//! `{` or `€` count twice) or 70 UCS-2 characters. Any character outside
//! GSM-7 (Japanese, for instance) switches the whole message to UCS-2.
//! Pages keep the reply instruction whole and shorten the names instead.

use super::incident::{Incident, Status};

/// GSM 03.38 basic character set.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table: each costs two septets.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Single-segment capacity for GSM-7 text, in septets.
pub const GSM7_SEGMENT: usize = 160;
/// Single-segment capacity for UCS-2 text, in UTF-16 code units.
pub const UCS2_SEGMENT: usize = 70;

/// How a text would be encoded, and its size in that encoding's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// The encoding a text needs and its length in that encoding's units.
pub fn measure(text: &str) -> (Encoding, usize) {
    let mut septets = 0;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            return (Encoding::Ucs2, text.encode_utf16().count());
        }
    }
    (Encoding::Gsm7, septets)
}

/// Whether the text fits in one SMS segment.
pub fn fits_one_segment(text: &str) -> bool {
    match measure(text) {
        (Encoding::Gsm7, n) => n <= GSM7_SEGMENT,
        (Encoding::Ucs2, n) => n <= UCS2_SEGMENT,
    }
}

/// Builds `prefix + name + suffix`, cutting `name` (marked with `..`) until
/// the whole fits one segment. The suffix (reply instructions) stays whole.
fn fit(prefix: &str, name: &str, suffix: &str) -> String {
    let whole = format!("{prefix}{name}{suffix}");
    if fits_one_segment(&whole) {
        return whole;
    }
    let chars: Vec<char> = name.chars().collect();
    let mut keep = chars.len();
    while keep > 0 {
        keep -= 1;
        let cut: String = chars[..keep].iter().collect();
        let candidate = format!("{prefix}{cut}..{suffix}");
        if fits_one_segment(&candidate) {
            return candidate;
        }
    }
    format!("{prefix}{suffix}")
}

/// The page sent to a responder.
///
/// `Klaxon SEV1 ALARM payments/api-5xx-prod. Reply ACK 4821 to acknowledge, RES 4821 to resolve.`
pub fn page_text(incident: &Incident) -> String {
    let name = format!("{}/{}", incident.service, incident.alarm_name);
    let code = &incident.ack_code;
    let prefix = format!("Klaxon {} ALARM ", incident.severity);
    let long = format!(". Reply ACK {code} to acknowledge, RES {code} to resolve.");
    let text = format!("{prefix}{name}{long}");
    if fits_one_segment(&text) {
        return text;
    }
    if measure(&name).0 == Encoding::Ucs2 {
        // UCS-2 leaves 70 characters: keep the instruction short.
        return fit(&prefix, &name, &format!(" Reply ACK {code} / RES {code}"));
    }
    fit(&prefix, &name, &long)
}

/// Confirms an acknowledgement to the responder who sent it.
pub fn acknowledged_text(incident: &Incident) -> String {
    fit(
        "Klaxon: acknowledged ",
        &incident.alarm_name,
        &format!(
            " ({}). Reply RES {} to resolve.",
            incident.id, incident.ack_code
        ),
    )
}

/// Confirms a resolution to the responder who sent it.
pub fn resolved_text(incident: &Incident) -> String {
    fit(
        "Klaxon: resolved ",
        &incident.alarm_name,
        &format!(" ({}).", incident.id),
    )
}

/// Tells a paged responder someone else already acted.
pub fn already_text(incident_id: &str, status: Status) -> String {
    format!("Klaxon: incident {incident_id} is already {status}; nothing to do.")
}

/// Tells a known responder their reply was not understood, or came too late.
pub fn help_text(detail: &str) -> String {
    format!("Klaxon: {detail} Reply ACK <code> or RES <code> with the 4-digit code from the page.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::{AlarmKind, AlarmState, AlarmStateChange, Route};
    use crate::classify::Severity;
    use crate::incident::AckCode;
    use crate::routing::{Classification, Decision, Urgency};

    fn incident(alarm: &str) -> Incident {
        let change = AlarmStateChange {
            alarm_arn: format!("arn:aws:cloudwatch:us-east-1:1:alarm:{alarm}"),
            alarm_name: alarm.into(),
            account: "1".into(),
            region: "us-east-1".into(),
            state: AlarmState::Alarm,
            previous_state: None,
            reason: String::new(),
            changed_at: jiff::Timestamp::UNIX_EPOCH,
            description: None,
            kind: AlarmKind::Metric,
            metrics: vec![],
            route: Route::EventBridge,
        };
        let class = Decision {
            classification: Classification {
                service: "payments".into(),
                severity: Severity::Sev1,
                urgency: None,
                policy: None,
                rule: None,
                severity_from: "default".into(),
                matched: vec![],
            },
            urgency: Urgency::High,
            policy: "default".into(),
        };
        Incident::open(
            "20261121-K7Q2XM".into(),
            &change,
            &class,
            &AckCode("4821".into()),
            jiff::Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn page_says_severity_alarm_and_how_to_reply() {
        let text = page_text(&incident("api-5xx-prod"));
        assert_eq!(
            text,
            "Klaxon SEV1 ALARM payments/api-5xx-prod. Reply ACK 4821 to acknowledge, RES 4821 to resolve."
        );
        assert!(fits_one_segment(&text));
    }

    #[test]
    fn long_ascii_names_are_cut_but_the_instruction_survives() {
        let text = page_text(&incident(&"very-long-alarm-name-".repeat(12)));
        assert_eq!(measure(&text).0, Encoding::Gsm7);
        assert!(measure(&text).1 <= GSM7_SEGMENT, "{text}");
        assert!(text.ends_with("Reply ACK 4821 to acknowledge, RES 4821 to resolve."));
        assert!(text.contains(".."));
    }

    #[test]
    fn japanese_names_fit_one_ucs2_segment() {
        let text = page_text(&incident(
            "決済APIのエラー率が高い状態が続いています-本番環境",
        ));
        assert_eq!(measure(&text).0, Encoding::Ucs2);
        assert!(measure(&text).1 <= UCS2_SEGMENT, "{text}");
        assert!(text.contains("ACK 4821"));
        assert!(text.contains("RES 4821"));
    }

    #[test]
    fn extension_characters_count_twice() {
        assert_eq!(measure("{}"), (Encoding::Gsm7, 4));
        assert_eq!(measure("abc"), (Encoding::Gsm7, 3));
        assert_eq!(measure("aé"), (Encoding::Gsm7, 2));
        assert_eq!(measure("a✓"), (Encoding::Ucs2, 2));
    }

    #[test]
    fn confirmations_fit_one_segment() {
        let i = incident(&"x".repeat(200));
        assert!(fits_one_segment(&acknowledged_text(&i)));
        assert!(fits_one_segment(&resolved_text(&i)));
        assert!(acknowledged_text(&i).contains("RES 4821"));
    }
}
