//! Incidents and their life cycle. Their timeline is [`super::timeline`],
//! re-exported here.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::alarm::{AlarmStateChange, Route};
use super::classify::Severity;
use super::phone::mask;
use super::routing::Decision;
use super::routing::Urgency;

pub use super::timeline::{Channel, TimelineEntry, TimelineEvent};

/// Where an incident is in its life.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "TRIGGERED",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Resolved => "RESOLVED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TRIGGERED" => Some(Self::Triggered),
            "ACKNOWLEDGED" => Some(Self::Acknowledged),
            "RESOLVED" => Some(Self::Resolved),
            _ => None,
        }
    }

    pub fn is_open(self) -> bool {
        self != Self::Resolved
    }

    /// Only a triggered incident can be acknowledged.
    pub fn can_acknowledge(self) -> bool {
        self == Self::Triggered
    }

    /// Any open incident can be resolved.
    pub fn can_resolve(self) -> bool {
        self.is_open()
    }

    /// Pages go out only while nobody has acknowledged.
    pub fn pages(self) -> bool {
        self == Self::Triggered
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who or what acted on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Actor {
    /// An SMS reply from a paged number.
    Sms { person: String, phone: String },
    /// A keypress on a call to a paged number.
    Voice { person: String, phone: String },
    /// An operator using the CLI.
    Cli { user: String },
    /// The alarm itself returned to OK.
    Alarm,
}

impl Actor {
    /// A name for humans; never a full phone number.
    pub fn display(&self) -> String {
        match self {
            Self::Sms { person, phone } | Self::Voice { person, phone } => {
                format!("{person} ({})", mask(phone))
            }
            Self::Cli { user } => user.clone(),
            Self::Alarm => "alarm OK".into(),
        }
    }

    pub fn via(&self) -> &'static str {
        match self {
            Self::Sms { .. } => "sms",
            Self::Voice { .. } => "voice",
            Self::Cli { .. } => "cli",
            Self::Alarm => "alarm",
        }
    }
}

/// A per-incident code responders quote in replies: four random digits,
/// independent of the incident id, unique among open incidents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AckCode(pub String);

impl AckCode {
    pub const LEN: usize = 4;

    /// The code for a number drawn at random (any `u32`).
    pub fn from_number(n: u32) -> Self {
        Self(format!("{:04}", n % 10_000))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_digit())).then(|| Self(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An incident id: UTC date plus six Crockford base32 characters taken
/// from 30 bits of `entropy`, e.g. `20261121-K7Q2XM`. Readable aloud,
/// sortable by day.
pub fn incident_id(now: Timestamp, entropy: u32) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let suffix: String = (0..6)
        .map(|i| ALPHABET[((entropy >> (5 * i)) & 31) as usize] as char)
        .collect();
    format!("{}-{suffix}", now.strftime("%Y%m%d"))
}

/// The dedup key: one open incident per key. Default: account, region and
/// alarm ARN. Self-test alarms have keys of their own, so a self-test and a
/// real alarm never share an incident.
pub fn dedup_key(change: &AlarmStateChange) -> String {
    let key = format!("{}|{}|{}", change.account, change.region, change.alarm_arn);
    match change.route {
        Route::SelfTest => format!("{}{key}", super::self_test::DEDUP_PREFIX),
        _ => key,
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub urgency: Urgency,
    pub service: String,
    pub policy: String,
    /// `default` or `rule:<name>`: the routing decision.
    pub decided_by: String,
    pub severity_from: String,
    /// Why the rule matched, e.g. `alarm_name ~ rds-*`.
    pub matched: Vec<String>,
    pub alarm_name: String,
    pub alarm_arn: String,
    pub account: String,
    pub region: String,
    pub dedup_key: String,
    pub description: Option<String>,
    pub reason: String,
    /// When Klaxon opened it.
    #[serde(with = "super::time::iso_ms")]
    pub opened_at: Timestamp,
    /// When Klaxon last received an ALARM for it.
    #[serde(with = "super::time::iso_ms")]
    pub last_alarm_at: Timestamp,
    /// The alarm's own state time of the newest ALARM folded in: an OK
    /// older than this does not resolve the incident.
    #[serde(with = "super::time::iso_ms")]
    pub alarm_state_at: Timestamp,
    pub alarm_count: u32,
    #[serde(default, with = "super::time::iso_ms_opt")]
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    #[serde(default, with = "super::time::iso_ms_opt")]
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub ack_code: String,
    /// Numbers that were paged for this incident: the only ones whose replies count.
    #[serde(skip)]
    pub paged_numbers: BTreeSet<String>,
    pub escalation_execution: Option<String>,
    /// Opened by Klaxon's self-test: routed to the built-in sink, never to
    /// a person, and left out of listings by default.
    #[serde(default)]
    pub self_test: bool,
}

impl Incident {
    /// A new, triggered incident for an alarm, opened at `now` (Klaxon's clock).
    pub fn open(
        id: String,
        change: &AlarmStateChange,
        decision: &Decision,
        ack_code: &AckCode,
        now: Timestamp,
    ) -> Self {
        let c = &decision.classification;
        Self {
            id,
            title: change.alarm_name.clone(),
            status: Status::Triggered,
            severity: c.severity,
            urgency: decision.urgency,
            service: c.service.clone(),
            policy: decision.policy.clone(),
            decided_by: match &c.rule {
                Some(rule) => format!("rule:{rule}"),
                None => "default".into(),
            },
            severity_from: c.severity_from.clone(),
            matched: c.matched.clone(),
            alarm_name: change.alarm_name.clone(),
            alarm_arn: change.alarm_arn.clone(),
            account: change.account.clone(),
            region: change.region.clone(),
            dedup_key: dedup_key(change),
            description: change.description.clone(),
            reason: change.reason.clone(),
            opened_at: now,
            last_alarm_at: now,
            alarm_state_at: change.changed_at,
            alarm_count: 1,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            ack_code: ack_code.0.clone(),
            paged_numbers: BTreeSet::new(),
            escalation_execution: None,
            self_test: change.route == Route::SelfTest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_triggered_incidents_can_be_acknowledged_or_page() {
        assert!(Status::Triggered.can_acknowledge());
        assert!(!Status::Acknowledged.can_acknowledge());
        assert!(!Status::Resolved.can_acknowledge());
        assert!(Status::Triggered.pages());
        assert!(!Status::Acknowledged.pages());
    }

    #[test]
    fn open_incidents_can_be_resolved_once() {
        assert!(Status::Triggered.can_resolve());
        assert!(Status::Acknowledged.can_resolve());
        assert!(!Status::Resolved.can_resolve());
        for s in [Status::Triggered, Status::Acknowledged, Status::Resolved] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn ack_codes_are_four_digits() {
        for n in [0, 7, 9_999, 10_000, 123_456_789, u32::MAX] {
            let c = AckCode::from_number(n);
            assert!(AckCode::parse(c.as_str()).is_some(), "{c:?}");
        }
        assert_eq!(AckCode::from_number(42).as_str(), "0042");
        assert!(AckCode::parse("12a4").is_none());
        assert!(AckCode::parse("12345").is_none());
    }

    #[test]
    fn incident_ids_carry_the_day_and_differ_by_entropy() {
        let now: Timestamp = "2026-11-21T06:00:00Z".parse().unwrap();
        let a = incident_id(now, 1);
        let b = incident_id(now, 2);
        assert!(a.starts_with("20261121-"), "{a}");
        assert_eq!(a.len(), 15);
        assert_ne!(a, b);
        assert_eq!(incident_id(now, 0), "20261121-000000");
        assert!(!incident_id(now, u32::MAX).contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn actors_never_show_a_whole_number() {
        let a = Actor::Sms {
            person: "Alice".into(),
            phone: "+819012345678".into(),
        };
        assert_eq!(a.display(), "Alice (+81******5678)");
        assert_eq!(a.via(), "sms");
    }
}
