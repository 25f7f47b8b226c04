//! Item mapping: every item Klaxon keeps in DynamoDB, as a serde type
//! (through `serde_dynamo`), and its keys. The layout is the console's
//! view of an incident, so attributes are plain and readable; items written
//! by earlier versions still read (new attributes are optional).
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | incident | `INC#<id>` | `META` |
//! | timeline entry | `INC#<id>` | `TL#<ISO time>#<key>` |
//! | once marker of a timeline entry | `INC#<id>` | `ONCE#<once key>` |
//! | fired escalation level | `INC#<id>` | `LEVEL#<step>` |
//! | page dedup claim | `INC#<id>` | `PAGE#<step>#<person>#<channel>#<contact>` |
//! | open incident for a dedup key | `DEDUP#<key>` | `DEDUP` |
//! | open incident for an ack code | `CODE#<code>` | `CODE` |
//! | handled inbound SMS | `INBOUND#<message id>` | `INBOUND` |
//! | what is remembered of an alarm's OKs | `LASTOK#<dedup key>` | `LASTOK` |
//! | rate-limited uses of a destination (`rate_limits.rs`) | `RATE#<subject>` | `RATE` |
//!
//! Every item of a self-test incident (ids `selftest-...`) carries
//! `expires_at` (DynamoDB TTL, [`klaxon_core::self_test::expires_at`]), so
//! they go away by themselves; items of real incidents never expire.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use klaxon_core::classify::Severity;
use klaxon_core::incident::{Incident, Status, TimelineEntry, TimelineEvent};
use klaxon_core::policy::ResolvedTarget;
use klaxon_core::routing::Urgency;
use klaxon_core::self_test::expires_at;
use klaxon_core::time::{iso, iso_ms, iso_ms_opt};
use klaxon_ports::{BackendError, LevelRecord};

pub type Item = HashMap<String, AttributeValue>;

pub const META: &str = "META";
pub const DEDUP: &str = "DEDUP";
pub const CODE: &str = "CODE";
pub const INBOUND: &str = "INBOUND";
pub const LASTOK: &str = "LASTOK";

pub fn incident_pk(id: &str) -> String {
    format!("INC#{id}")
}

pub fn dedup_pk(key: &str) -> String {
    format!("DEDUP#{key}")
}

pub fn code_pk(code: &str) -> String {
    format!("CODE#{code}")
}

pub fn inbound_pk(message_id: &str) -> String {
    format!("INBOUND#{message_id}")
}

pub fn lastok_pk(dedup_key: &str) -> String {
    format!("LASTOK#{dedup_key}")
}

pub fn timeline_sk(entry: &TimelineEntry) -> String {
    format!("TL#{}#{}", iso(entry.at), entry.key)
}

pub fn once_sk(once_key: &str) -> String {
    format!("ONCE#{once_key}")
}

pub fn level_sk(step: u32) -> String {
    format!("LEVEL#{step:04}")
}

pub fn page_sk(claim_key: &str) -> String {
    format!("PAGE#{claim_key}")
}

/// The key of an item.
pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(pk)),
        ("sk".to_string(), AttributeValue::S(sk.to_string())),
    ])
}

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A time attribute value in Klaxon's one format.
pub fn t(at: Timestamp) -> AttributeValue {
    AttributeValue::S(iso(at))
}

/// An item that cannot be read: never retried, it will not change.
pub fn corrupt(what: impl std::fmt::Display) -> BackendError {
    BackendError {
        service: "DynamoDB",
        operation: "read",
        message: format!("stored item is malformed: {what}"),
        retryable: false,
    }
}

/// A request that cannot be built: a bug, never retried.
pub fn build_error(operation: &'static str, e: impl std::fmt::Display) -> BackendError {
    BackendError {
        service: "DynamoDB",
        operation,
        message: format!("could not build request: {e}"),
        retryable: false,
    }
}

pub fn to_item(value: &impl Serialize) -> Result<Item, BackendError> {
    serde_dynamo::to_item(value).map_err(|e| build_error("serialize", e))
}

pub fn from_item<T: DeserializeOwned>(item: Item, what: &str) -> Result<T, BackendError> {
    serde_dynamo::from_item(item).map_err(|e| corrupt(format!("{what}: {e}")))
}

fn one() -> u32 {
    1
}

fn is_empty(v: &[String]) -> bool {
    v.is_empty()
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// The incident (`sk = META`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentItem {
    pub pk: String,
    pub sk: String,
    #[serde(default)]
    pub entity: String,
    pub incident_id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    #[serde(default)]
    pub urgency: Urgency,
    pub service: String,
    pub policy: String,
    #[serde(default)]
    pub decided_by: String,
    #[serde(default)]
    pub severity_from: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub matched: Vec<String>,
    pub alarm_name: String,
    pub alarm_arn: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub region: String,
    pub dedup_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub reason: String,
    #[serde(with = "iso_ms")]
    pub opened_at: Timestamp,
    #[serde(with = "iso_ms")]
    pub last_alarm_at: Timestamp,
    /// Absent in items written before version 0.2: `last_alarm_at` then
    /// held the alarm's own time.
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub alarm_state_at: Option<Timestamp>,
    #[serde(default = "one")]
    pub alarm_count: u32,
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    pub ack_code: String,
    #[serde(
        default,
        with = "serde_dynamo::string_set",
        skip_serializing_if = "is_empty"
    )]
    pub paged_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_execution: Option<String>,
    /// `OPEN` while open: the sparse index `open-incidents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_open: Option<String>,
    /// `2026-11`: the index `incidents-by-month`.
    pub gsi_month: String,
    /// Opened by the self-test (absent for real incidents).
    #[serde(default, skip_serializing_if = "is_false")]
    pub self_test: bool,
    /// TTL, epoch seconds: self-test incidents only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl From<&Incident> for IncidentItem {
    fn from(i: &Incident) -> Self {
        Self {
            pk: incident_pk(&i.id),
            sk: META.into(),
            entity: "incident".into(),
            incident_id: i.id.clone(),
            title: i.title.clone(),
            status: i.status,
            severity: i.severity,
            urgency: i.urgency,
            service: i.service.clone(),
            policy: i.policy.clone(),
            decided_by: i.decided_by.clone(),
            severity_from: i.severity_from.clone(),
            matched: i.matched.clone(),
            alarm_name: i.alarm_name.clone(),
            alarm_arn: i.alarm_arn.clone(),
            account: i.account.clone(),
            region: i.region.clone(),
            dedup_key: i.dedup_key.clone(),
            description: i.description.clone(),
            reason: i.reason.clone(),
            opened_at: i.opened_at,
            last_alarm_at: i.last_alarm_at,
            alarm_state_at: Some(i.alarm_state_at),
            alarm_count: i.alarm_count,
            acknowledged_at: i.acknowledged_at,
            acknowledged_by: i.acknowledged_by.clone(),
            resolved_at: i.resolved_at,
            resolved_by: i.resolved_by.clone(),
            ack_code: i.ack_code.clone(),
            paged_numbers: i.paged_numbers.iter().cloned().collect(),
            escalation_execution: i.escalation_execution.clone(),
            gsi_open: i.status.is_open().then(|| "OPEN".into()),
            gsi_month: i.opened_at.strftime("%Y-%m").to_string(),
            self_test: i.self_test,
            expires_at: expires_at(&i.id, i.opened_at),
        }
    }
}

impl From<IncidentItem> for Incident {
    fn from(i: IncidentItem) -> Self {
        Self {
            id: i.incident_id,
            title: i.title,
            status: i.status,
            severity: i.severity,
            urgency: i.urgency,
            service: i.service,
            policy: i.policy,
            decided_by: i.decided_by,
            severity_from: i.severity_from,
            matched: i.matched,
            alarm_name: i.alarm_name,
            alarm_arn: i.alarm_arn,
            account: i.account,
            region: i.region,
            dedup_key: i.dedup_key,
            description: i.description,
            reason: i.reason,
            opened_at: i.opened_at,
            last_alarm_at: i.last_alarm_at,
            alarm_state_at: i.alarm_state_at.unwrap_or(i.last_alarm_at),
            alarm_count: i.alarm_count,
            acknowledged_at: i.acknowledged_at,
            acknowledged_by: i.acknowledged_by,
            resolved_at: i.resolved_at,
            resolved_by: i.resolved_by,
            ack_code: i.ack_code,
            paged_numbers: i.paged_numbers.into_iter().collect(),
            escalation_execution: i.escalation_execution,
            self_test: i.self_test,
        }
    }
}

pub fn incident_item(i: &Incident) -> Result<Item, BackendError> {
    to_item(&IncidentItem::from(i))
}

pub fn incident_from(item: Item) -> Result<Incident, BackendError> {
    from_item::<IncidentItem>(item, "incident").map(Incident::from)
}

/// A timeline entry: readable fields, and the event as JSON in `data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineItem {
    pub pk: String,
    pub sk: String,
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub incident_id: String,
    #[serde(with = "iso_ms")]
    pub at: Timestamp,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub summary: String,
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

pub fn timeline_item(incident_id: &str, entry: &TimelineEntry) -> Result<Item, BackendError> {
    let data = serde_json::to_string(&entry.event).map_err(|e| build_error("serialize", e))?;
    to_item(&TimelineItem {
        pk: incident_pk(incident_id),
        sk: timeline_sk(entry),
        entity: "timeline".into(),
        incident_id: incident_id.into(),
        at: entry.at,
        kind: entry.event.kind().into(),
        summary: entry.event.summary(),
        data,
        expires_at: expires_at(incident_id, entry.at),
    })
}

pub fn timeline_from(item: Item) -> Result<TimelineEntry, BackendError> {
    timeline_entry(from_item(item, "timeline entry")?)
}

/// The entry a timeline item holds.
pub fn timeline_entry(item: TimelineItem) -> Result<TimelineEntry, BackendError> {
    // sk = TL#<time>#<key>; the time has no '#' (the state machine writes
    // its own `EnteredTime` there).
    let key = item
        .sk
        .strip_prefix("TL#")
        .and_then(|rest| rest.split_once('#'))
        .map_or_else(String::new, |(_, key)| key.to_string());
    let event: TimelineEvent =
        serde_json::from_str(&item.data).map_err(|e| corrupt(format!("timeline data: {e}")))?;
    Ok(TimelineEntry {
        at: item.at,
        key,
        event,
    })
}

/// The marker that makes an entry with a once key happen once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnceItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    /// The timeline entry it guards.
    pub entry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

pub fn once_item(
    incident_id: &str,
    once_key: &str,
    entry: &TimelineEntry,
) -> Result<Item, BackendError> {
    to_item(&OnceItem {
        pk: incident_pk(incident_id),
        sk: once_sk(once_key),
        entity: "once".into(),
        entry: timeline_sk(entry),
        expires_at: expires_at(incident_id, entry.at),
    })
}

/// A pointer from a dedup key or an ack code to the open incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointerItem {
    pub pk: String,
    pub sk: String,
    pub incident_id: String,
    #[serde(with = "iso_ms")]
    pub opened_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A fired level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LevelItem {
    pub pk: String,
    pub sk: String,
    #[serde(default)]
    pub entity: String,
    pub step: u32,
    pub pass: u32,
    pub level: u32,
    #[serde(with = "iso_ms")]
    pub fired_at: Timestamp,
    #[serde(default)]
    pub targets: Vec<ResolvedTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

pub fn level_item(incident_id: &str, r: &LevelRecord) -> Result<Item, BackendError> {
    to_item(&LevelItem {
        pk: incident_pk(incident_id),
        sk: level_sk(r.step),
        entity: "level".into(),
        step: r.step,
        pass: r.pass,
        level: r.level,
        fired_at: r.fired_at,
        targets: r.targets.clone(),
        expires_at: expires_at(incident_id, r.fired_at),
    })
}

pub fn level_from(item: Item) -> Result<LevelRecord, BackendError> {
    let l: LevelItem = from_item(item, "level")?;
    Ok(LevelRecord {
        step: l.step,
        pass: l.pass,
        level: l.level,
        fired_at: l.fired_at,
        targets: l.targets,
    })
}

/// A page claim; `message_id` and `sent_at` once sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub state: String,
    #[serde(with = "iso_ms")]
    pub claimed_at: Timestamp,
    /// Until when the claiming run may still send; absent in claims written
    /// before version 0.2.
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    pub person: String,
    pub channel: String,
    pub contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The page's step (also the start of its key); absent in claims
    /// written before failed pages were retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// A failed page's failed sends.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub first_failed_at: Option<Timestamp>,
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub last_failed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The states of a page item.
pub const PAGE_CLAIMED: &str = "claimed";
pub const PAGE_FAILED: &str = "failed";
pub const PAGE_ABANDONED: &str = "abandoned";

/// A failed page from its item.
pub fn failed_page_from(item: Item) -> Result<klaxon_ports::paging::FailedPage, BackendError> {
    let p: PageItem = from_item(item, "page")?;
    let key = p.sk.strip_prefix("PAGE#").unwrap_or(&p.sk);
    let step = match p.step {
        Some(step) => step,
        None => key
            .split('#')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(format!("page {key} without a step")))?,
    };
    let channel = klaxon_core::incident::Channel::parse(&p.channel)
        .ok_or_else(|| corrupt(format!("page {key}: unknown channel {}", p.channel)))?;
    let failed_at = p.last_failed_at.unwrap_or(p.claimed_at);
    Ok(klaxon_ports::paging::FailedPage {
        step,
        person: p.person,
        channel,
        contact: p.contact,
        attempts: p.attempts,
        first_failed_at: p.first_failed_at.unwrap_or(failed_at),
        last_failed_at: failed_at,
        error: p.last_error.unwrap_or_default(),
    })
}

/// A handled inbound message, and the incident it named once known.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundItem {
    pub pk: String,
    pub sk: String,
    #[serde(with = "iso_ms")]
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// TTL, epoch seconds.
    pub expires_at: i64,
    /// Until when the run that claimed sending the confirmation may still
    /// send it.
    #[serde(default, with = "iso_ms_opt", skip_serializing_if = "Option::is_none")]
    pub confirm_until: Option<Timestamp>,
}

/// What is remembered of an alarm's OKs. Earlier versions wrote only
/// `incident_id` and `resolved_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastOkItem {
    pub pk: String,
    pub sk: String,
    #[serde(default)]
    pub incident_id: Option<String>,
    #[serde(default, with = "iso_ms_opt")]
    pub resolved_at: Option<Timestamp>,
    #[serde(default, with = "iso_ms_opt")]
    pub ok_state_at: Option<Timestamp>,
}

/// The applied configuration (config table, `pk = CURRENT`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigItem {
    pub pk: String,
    pub yaml: String,
    #[serde(default)]
    pub revision: u64,
    #[serde(default)]
    pub applied_at: String,
    #[serde(default)]
    pub applied_by: String,
}

#[cfg(test)]
mod tests;
