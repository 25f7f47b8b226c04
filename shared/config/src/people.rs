//! People: how to reach each responder, and when.
//!
//! A person has contact methods (SMS, voice, email; several of each) and
//! notification rules per urgency: which contact method to use how long after
//! a level fires. The `phone` and `email` shorthands add contact methods
//! labelled `phone` and `email`.

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use klaxon_core::incident::Channel;
use klaxon_core::phone::Phone;
use klaxon_core::routing::Urgency;
use klaxon_core::voice::{LANGUAGES, Language};

/// Why `self_test` is refused as a contact method or rule channel.
const RESERVED_CHANNEL: &str =
    "self_test is reserved for Klaxon's own self-test sink, which pages nobody";

/// Longest delay of a notification rule after its level fires: one day.
pub const MAX_RULE_DELAY_SECONDS: u32 = 24 * 60 * 60;

/// A person as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    pub name: String,
    /// IANA time zone, e.g. `Asia/Tokyo`: how times are shown to this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The language phone calls speak to this person: `en-US` (default) or
    /// `ja-JP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Shorthand for an SMS and a voice contact method labelled `phone` (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Shorthand for an email contact method labelled `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_methods: Vec<ContactMethodSpec>,
    /// Per urgency; when omitted: high = SMS and email at once, low = email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_rules: Option<NotificationRulesSpec>,
}

/// One way to reach a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactMethodSpec {
    #[serde(rename = "type")]
    pub kind: Channel,
    /// E.164 number for `sms` and `voice`, an address for `email`.
    pub address: String,
    /// Name used by notification rules (`contact: work`); defaults to the
    /// type, then `<type>-2`, `<type>-3`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationRulesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Vec<NotificationRuleSpec>>,
    /// Email only: low urgency never sends SMS or voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Vec<NotificationRuleSpec>>,
}

/// "Notify me by `channel` `after_minutes` after the level fires."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationRuleSpec {
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_minutes: Option<u32>,
    /// Finer-grained alternative to `after_minutes`, meant for drills and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_seconds: Option<u32>,
    /// Label of the contact method; default: the person's first of that type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A usable contact method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub channel: Channel,
    pub address: String,
    pub label: String,
}

/// A compiled notification rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationRule {
    pub channel: Channel,
    pub after_secs: u32,
    /// Index into [`Profile::contacts`].
    pub contact: usize,
}

/// A validated person.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub time_zone: Option<TimeZone>,
    /// What calls to this person speak.
    pub language: Language,
    pub contacts: Vec<Contact>,
    high: Vec<NotificationRule>,
    low: Vec<NotificationRule>,
}

impl Profile {
    /// Validates a person; problems carry paths relative to the person.
    pub fn compile(id: &str, spec: &PersonSpec) -> Result<Profile, Vec<(String, String)>> {
        let mut issues = Vec::new();
        if spec.name.trim().is_empty() {
            issues.push(("name".into(), "must not be empty".into()));
        }
        let time_zone = spec
            .time_zone
            .as_deref()
            .and_then(|tz| match TimeZone::get(tz) {
                Ok(z) => Some(z),
                Err(_) => {
                    issues.push((
                        "time_zone".into(),
                        format!("unknown time zone '{tz}' (use an IANA name such as Asia/Tokyo)"),
                    ));
                    None
                }
            });
        let language = match spec.language.as_deref() {
            None => Language::default(),
            Some(code) => Language::parse(code).unwrap_or_else(|| {
                issues.push((
                    "language".into(),
                    format!(
                        "unknown language '{code}' (calls can speak {})",
                        LANGUAGES.join(", ")
                    ),
                ));
                Language::default()
            }),
        };

        let mut contacts: Vec<Contact> = Vec::new();
        let mut add = |path: String, channel: Channel, address: &str, label: Option<&str>| {
            let address = match channel {
                Channel::Sms | Channel::Voice => match Phone::parse(address) {
                    Ok(p) => p.as_str().to_string(),
                    Err(e) => {
                        issues.push((path, e));
                        return;
                    }
                },
                Channel::Email => {
                    if !is_email(address) {
                        issues.push((path, format!("'{address}' is not an email address")));
                        return;
                    }
                    address.to_string()
                }
                Channel::SelfTest => {
                    issues.push((path, RESERVED_CHANNEL.into()));
                    return;
                }
            };
            let label = match label {
                Some(l) => l.to_string(),
                None => {
                    let taken = |l: &str| {
                        contacts
                            .iter()
                            .any(|c| c.channel == channel && c.label == l)
                    };
                    let mut label = channel.as_str().to_string();
                    let mut n = 1;
                    while taken(&label) {
                        n += 1;
                        label = format!("{}-{n}", channel.as_str());
                    }
                    label
                }
            };
            if contacts
                .iter()
                .any(|c| c.channel == channel && c.label == label)
            {
                issues.push((
                    path,
                    format!("a {channel} contact method labelled '{label}' already exists"),
                ));
                return;
            }
            contacts.push(Contact {
                channel,
                address,
                label,
            });
        };
        if let Some(phone) = &spec.phone {
            add("phone".into(), Channel::Sms, phone, Some("phone"));
            // A bad number is reported once, for the SMS contact.
            if Phone::parse(phone).is_ok() {
                add("phone".into(), Channel::Voice, phone, Some("phone"));
            }
        }
        if let Some(email) = &spec.email {
            add("email".into(), Channel::Email, email, Some("email"));
        }
        for (i, m) in spec.contact_methods.iter().enumerate() {
            add(
                format!("contact_methods[{i}].address"),
                m.kind,
                &m.address,
                m.label.as_deref(),
            );
        }
        if contacts.is_empty()
            && spec.contact_methods.is_empty()
            && spec.phone.is_none()
            && spec.email.is_none()
        {
            issues.push((
                String::new(),
                "has no contact method (phone, email or contact_methods)".into(),
            ));
        }

        let rules = spec.notification_rules.as_ref();
        let high = match rules.and_then(|r| r.high.as_ref()) {
            Some(list) => compile_rules(
                "notification_rules.high",
                list,
                Urgency::High,
                &contacts,
                &mut issues,
            ),
            None => default_rules(Urgency::High, &contacts),
        };
        let low = match rules.and_then(|r| r.low.as_ref()) {
            Some(list) => compile_rules(
                "notification_rules.low",
                list,
                Urgency::Low,
                &contacts,
                &mut issues,
            ),
            None => default_rules(Urgency::Low, &contacts),
        };

        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(Profile {
            id: id.to_string(),
            name: spec.name.clone(),
            time_zone,
            language,
            contacts,
            high,
            low,
        })
    }

    /// The rules for an urgency, earliest first. Low urgency never includes
    /// SMS or voice.
    pub fn rules(&self, urgency: Urgency) -> &[NotificationRule] {
        match urgency {
            Urgency::High => &self.high,
            Urgency::Low => &self.low,
        }
    }

    pub fn contact(&self, rule: &NotificationRule) -> &Contact {
        &self.contacts[rule.contact]
    }

    /// The numbers whose SMS replies count as this person's.
    pub fn ack_numbers(&self) -> Vec<Phone> {
        let mut out: Vec<Phone> = Vec::new();
        for c in &self.contacts {
            if c.channel == Channel::Sms
                && let Ok(p) = Phone::parse(&c.address)
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
        out
    }

    /// Whether this number belongs to one of the person's SMS or voice contacts.
    pub fn owns_number(&self, number: &str) -> bool {
        self.contacts
            .iter()
            .any(|c| c.channel.interrupts() && c.address == number)
    }

    /// Whether any rule for `urgency` can reach the person.
    pub fn reachable(&self, urgency: Urgency) -> bool {
        !self.rules(urgency).is_empty()
    }
}

fn compile_rules(
    base: &str,
    list: &[NotificationRuleSpec],
    urgency: Urgency,
    contacts: &[Contact],
    issues: &mut Vec<(String, String)>,
) -> Vec<NotificationRule> {
    let mut out: Vec<NotificationRule> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let path = format!("{base}[{i}]");
        if r.after_minutes.is_some() && r.after_seconds.is_some() {
            issues.push((path, "set after_minutes or after_seconds, not both".into()));
            continue;
        }
        let after_secs = klaxon_core::policy::minutes_or_seconds(r.after_minutes, r.after_seconds);
        if after_secs > MAX_RULE_DELAY_SECONDS {
            issues.push((
                path,
                format!("a delay of {after_secs} s is more than one day"),
            ));
            continue;
        }
        if r.channel == Channel::SelfTest {
            issues.push((format!("{path}.channel"), RESERVED_CHANNEL.into()));
            continue;
        }
        if urgency == Urgency::Low && r.channel.interrupts() {
            issues.push((
                format!("{path}.channel"),
                format!("low urgency never sends {}: use email", r.channel),
            ));
            continue;
        }
        let found = contacts.iter().position(|c| {
            c.channel == r.channel && r.contact.as_deref().is_none_or(|l| l == c.label)
        });
        let Some(contact) = found else {
            let what = match &r.contact {
                Some(l) => format!("no {} contact method labelled '{l}'", r.channel),
                None => format!("no {} contact method", r.channel),
            };
            issues.push((path, what));
            continue;
        };
        if out.iter().any(|o| o.contact == contact) {
            issues.push((
                path,
                format!(
                    "{} '{}' is already notified by an earlier rule; each contact method is used once per level",
                    r.channel, contacts[contact].label
                ),
            ));
            continue;
        }
        out.push(NotificationRule {
            channel: r.channel,
            after_secs,
            contact,
        });
    }
    if list.is_empty() {
        issues.push((
            base.to_string(),
            "is empty: this person could never be notified at this urgency".into(),
        ));
    }
    out.sort_by_key(|r| r.after_secs);
    out
}

/// High: SMS and email at once (voice if that is all there is). Low: email.
fn default_rules(urgency: Urgency, contacts: &[Contact]) -> Vec<NotificationRule> {
    let first = |ch: Channel| contacts.iter().position(|c| c.channel == ch);
    let mut out = Vec::new();
    let mut push = |ch: Channel| {
        if let Some(contact) = first(ch) {
            out.push(NotificationRule {
                channel: ch,
                after_secs: 0,
                contact,
            });
        }
    };
    match urgency {
        Urgency::High => {
            push(Channel::Sms);
            push(Channel::Email);
            if first(Channel::Sms).is_none() && first(Channel::Email).is_none() {
                push(Channel::Voice);
            }
        }
        Urgency::Low => push(Channel::Email),
    }
    out
}

fn is_email(s: &str) -> bool {
    s.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && !s.chars().any(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(yaml: &str) -> Result<Profile, Vec<(String, String)>> {
        let spec: PersonSpec = serde_norway::from_str(yaml).unwrap();
        Profile::compile("p", &spec)
    }

    #[test]
    fn shorthands_give_sms_voice_and_email_with_default_rules() {
        let p = person("{name: Aiko, phone: '+819012340001', email: a@example.com}").unwrap();
        let kinds: Vec<_> = p
            .contacts
            .iter()
            .map(|c| (c.channel, c.label.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Channel::Sms, "phone"),
                (Channel::Voice, "phone"),
                (Channel::Email, "email")
            ]
        );
        let high: Vec<_> = p.rules(Urgency::High).iter().map(|r| r.channel).collect();
        assert_eq!(high, vec![Channel::Sms, Channel::Email]);
        let low: Vec<_> = p.rules(Urgency::Low).iter().map(|r| r.channel).collect();
        assert_eq!(low, vec![Channel::Email]);
        assert_eq!(p.ack_numbers()[0].as_str(), "+819012340001");
    }

    #[test]
    fn explicit_rules_are_sorted_by_delay_and_pick_labelled_contacts() {
        let p = person(
            r#"
name: Ben
time_zone: Europe/Berlin
contact_methods:
  - {type: sms, address: "+4915112345678", label: work}
  - {type: sms, address: "+4915187654321", label: home}
  - {type: email, address: ben@example.com}
notification_rules:
  high:
    - {channel: sms, after_minutes: 2, contact: home}
    - {channel: email, after_minutes: 0}
  low:
    - {channel: email}
"#,
        )
        .unwrap();
        let high = p.rules(Urgency::High);
        assert_eq!(high[0].channel, Channel::Email);
        assert_eq!(high[1].after_secs, 120);
        assert_eq!(p.contact(&high[1]).address, "+4915187654321");
        assert_eq!(p.ack_numbers().len(), 2);
    }

    #[test]
    fn low_urgency_rules_may_not_use_sms_or_voice() {
        let e =
            person("{name: C, phone: '+14155550102', notification_rules: {low: [{channel: sms}]}}")
                .unwrap_err();
        assert_eq!(e[0].0, "notification_rules.low[0].channel");
    }

    #[test]
    fn rules_need_a_matching_contact_method() {
        let e = person(
            "{name: C, phone: '+14155550102', notification_rules: {high: [{channel: email}]}}",
        )
        .unwrap_err();
        assert_eq!(e[0].0, "notification_rules.high[0]");
        assert!(e[0].1.contains("no email contact method"), "{e:?}");
    }

    #[test]
    fn the_same_contact_twice_in_one_urgency_is_rejected() {
        let e = person(
            "{name: C, phone: '+14155550102', notification_rules: {high: [{channel: sms}, {channel: sms, after_minutes: 5}]}}",
        )
        .unwrap_err();
        assert_eq!(e[0].0, "notification_rules.high[1]");
    }

    #[test]
    fn bad_numbers_zones_and_addresses_are_named() {
        let e = person(
            "{name: C, time_zone: Mars/Olympus, contact_methods: [{type: voice, address: '0312345678'}, {type: email, address: 'nope'}]}",
        )
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"time_zone"), "{e:?}");
        assert!(paths.contains(&"contact_methods[0].address"), "{e:?}");
        assert!(paths.contains(&"contact_methods[1].address"), "{e:?}");
    }

    #[test]
    fn nobody_can_be_reached_through_the_self_test_sink() {
        let e = person(
            "{name: C, email: c@example.com, contact_methods: [{type: self_test, address: sink}], notification_rules: {low: [{channel: self_test}]}}",
        )
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "contact_methods[0].address",
                "notification_rules.low[0].channel"
            ],
            "{e:?}"
        );
        assert!(e[0].1.contains("reserved"), "{e:?}");
    }

    #[test]
    fn a_person_without_contact_methods_is_rejected() {
        let e = person("{name: C}").unwrap_err();
        assert_eq!(e[0].0, "");
    }
}
