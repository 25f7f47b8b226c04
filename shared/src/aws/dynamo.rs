//! DynamoDB adapters: the incident store and the configuration store.
//!
//! One table holds everything about incidents (single-table design):
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | incident | `INC#<id>` | `META` |
//! | timeline entry | `INC#<id>` | `TL#<ISO time>#<key>` |
//! | fired escalation level | `INC#<id>` | `LEVEL#<step>` |
//! | page dedup claim | `INC#<id>` | `PAGE#<step>#<person>#<channel>#<contact>` |
//! | open incident for a dedup key | `DEDUP#<key>` | `DEDUP` |
//! | open incident for an ack code | `CODE#<code>` | `CODE` |
//! | handled inbound SMS | `INBOUND#<message id>` | `INBOUND` |
//! | last incident its alarm's OK resolved | `LASTOK#<dedup key>` | `LASTOK` |
//!
//! Open incidents carry `gsi_open = OPEN` (sparse index `open-incidents`);
//! every incident carries `gsi_month` (index `incidents-by-month`), so lists
//! never scan. The `DEDUP` and `CODE` items exist exactly while the incident
//! is open; they are written and deleted in the same transactions that open
//! and resolve it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use jiff::{Timestamp, ToSpan};

use super::backend_error;
use crate::config::OncallConfig;
use crate::core::classify::Severity;
use crate::core::incident::{AckCode, Actor, Incident, Status, TimelineEntry, TimelineEvent};
use crate::core::phone::Phone;
use crate::core::policy::ResolvedTarget;
use crate::core::routing::Urgency;
use crate::core::time::{iso, parse_instant};
use crate::ports::{
    BackendError, ClaimOutcome, ConfigLoadError, ConfigSource, FoldOutcome, IncidentStore,
    LevelRecord, OpenOutcome, PageClaim, Transition, TransitionOutcome,
};

type Item = HashMap<String, AttributeValue>;

const META: &str = "META";
/// A page claim older than this may be taken over by a retry (the first
/// attempt died between claiming and sending).
const STALE_CLAIM_SECONDS: i64 = 60;
/// How long the last OK-resolved incident of an alarm is remembered (longer
/// than any flapping window).
const LASTOK_TTL_DAYS: i64 = 2;
/// How long handled inbound message ids are remembered.
const INBOUND_TTL_DAYS: i64 = 7;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn incident_pk(id: &str) -> String {
    format!("INC#{id}")
}

fn dedup_pk(key: &str) -> String {
    format!("DEDUP#{key}")
}

fn code_pk(code: &str) -> String {
    format!("CODE#{code}")
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn corrupt(what: String) -> BackendError {
    BackendError {
        service: "DynamoDB",
        operation: "read",
        message: format!("stored item is malformed: {what}"),
        retryable: false,
    }
}

fn build_error(operation: &'static str, e: impl std::fmt::Display) -> BackendError {
    BackendError {
        service: "DynamoDB",
        operation,
        message: format!("could not build request: {e}"),
        retryable: false,
    }
}

fn get_s<'a>(item: &'a Item, field: &str) -> Option<&'a str> {
    item.get(field)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn req_s<'a>(item: &'a Item, field: &str) -> Result<&'a str, BackendError> {
    get_s(item, field).ok_or_else(|| corrupt(format!("missing '{field}'")))
}

fn req_time(item: &Item, field: &str) -> Result<Timestamp, BackendError> {
    parse_instant(req_s(item, field)?).ok_or_else(|| corrupt(format!("bad time in '{field}'")))
}

fn opt_time(item: &Item, field: &str) -> Option<Timestamp> {
    get_s(item, field).and_then(parse_instant)
}

/// The incident as a DynamoDB item: plain, readable attributes.
fn incident_item(i: &Incident) -> Item {
    let mut item = key(incident_pk(&i.id), META);
    let mut put = |k: &str, v: AttributeValue| {
        item.insert(k.to_string(), v);
    };
    put("entity", s("incident"));
    put("incident_id", s(&i.id));
    put("title", s(&i.title));
    put("status", s(i.status.as_str()));
    put("severity", s(i.severity.as_str()));
    put("urgency", s(i.urgency.to_string()));
    put("service", s(&i.service));
    put("policy", s(&i.policy));
    put("decided_by", s(&i.decided_by));
    put("severity_from", s(&i.severity_from));
    if !i.matched.is_empty() {
        put(
            "matched",
            AttributeValue::L(i.matched.iter().map(s).collect()),
        );
    }
    put("alarm_name", s(&i.alarm_name));
    put("alarm_arn", s(&i.alarm_arn));
    put("account", s(&i.account));
    put("region", s(&i.region));
    put("dedup_key", s(&i.dedup_key));
    if let Some(d) = &i.description {
        put("description", s(d));
    }
    put("reason", s(&i.reason));
    put("opened_at", s(iso(i.opened_at)));
    put("last_alarm_at", s(iso(i.last_alarm_at)));
    put("alarm_count", n(i.alarm_count));
    put("ack_code", s(&i.ack_code));
    if i.status.is_open() {
        put("gsi_open", s("OPEN"));
    }
    put("gsi_month", s(i.opened_at.strftime("%Y-%m").to_string()));
    item
}

fn incident_from_item(item: &Item) -> Result<Incident, BackendError> {
    let status = req_s(item, "status")?;
    let severity = req_s(item, "severity")?;
    Ok(Incident {
        id: req_s(item, "incident_id")?.to_string(),
        title: req_s(item, "title")?.to_string(),
        status: Status::parse(status).ok_or_else(|| corrupt(format!("status '{status}'")))?,
        severity: severity
            .parse::<Severity>()
            .map_err(|e| corrupt(format!("severity: {e}")))?,
        urgency: match get_s(item, "urgency") {
            Some("low") => Urgency::Low,
            _ => Urgency::High,
        },
        matched: item
            .get("matched")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        service: req_s(item, "service")?.to_string(),
        policy: req_s(item, "policy")?.to_string(),
        decided_by: get_s(item, "decided_by").unwrap_or_default().to_string(),
        severity_from: get_s(item, "severity_from").unwrap_or_default().to_string(),
        alarm_name: req_s(item, "alarm_name")?.to_string(),
        alarm_arn: req_s(item, "alarm_arn")?.to_string(),
        account: get_s(item, "account").unwrap_or_default().to_string(),
        region: get_s(item, "region").unwrap_or_default().to_string(),
        dedup_key: req_s(item, "dedup_key")?.to_string(),
        description: get_s(item, "description").map(str::to_string),
        reason: get_s(item, "reason").unwrap_or_default().to_string(),
        opened_at: req_time(item, "opened_at")?,
        last_alarm_at: req_time(item, "last_alarm_at")?,
        alarm_count: item
            .get("alarm_count")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        acknowledged_at: opt_time(item, "acknowledged_at"),
        acknowledged_by: get_s(item, "acknowledged_by").map(str::to_string),
        resolved_at: opt_time(item, "resolved_at"),
        resolved_by: get_s(item, "resolved_by").map(str::to_string),
        ack_code: req_s(item, "ack_code")?.to_string(),
        paged_numbers: item
            .get("paged_numbers")
            .and_then(|v| v.as_ss().ok())
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default(),
        escalation_execution: get_s(item, "escalation_execution").map(str::to_string),
    })
}

fn level_from_item(item: &Item) -> Result<LevelRecord, BackendError> {
    let num = |field: &str| -> Result<u32, BackendError> {
        item.get(field)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt(format!("level record without '{field}'")))
    };
    let targets = item
        .get("targets")
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|t| t.as_m().ok())
                .filter_map(|m| {
                    Some(ResolvedTarget {
                        person: get_s(m, "person")?.to_string(),
                        via: get_s(m, "via").map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(LevelRecord {
        step: num("step")?,
        pass: num("pass")?,
        level: num("level")?,
        fired_at: req_time(item, "fired_at")?,
        targets,
    })
}

fn timeline_sk(entry: &TimelineEntry) -> String {
    format!("TL#{}#{}", iso(entry.at), entry.key)
}

fn timeline_item(incident_id: &str, entry: &TimelineEntry) -> Result<Item, BackendError> {
    let data = serde_json::to_string(&entry.event).map_err(|e| build_error("PutItem", e))?;
    let mut item = key(incident_pk(incident_id), &timeline_sk(entry));
    item.insert("entity".into(), s("timeline"));
    item.insert("incident_id".into(), s(incident_id));
    item.insert("at".into(), s(iso(entry.at)));
    item.insert("kind".into(), s(entry.event.kind()));
    item.insert("summary".into(), s(entry.event.summary()));
    item.insert("data".into(), s(data));
    Ok(item)
}

fn timeline_from_item(item: &Item) -> Result<TimelineEntry, BackendError> {
    let sk = req_s(item, "sk")?;
    // sk = TL#<24-char ISO time>#<key>
    let key = sk.get(3 + 24 + 1..).unwrap_or_default().to_string();
    let event: TimelineEvent = serde_json::from_str(req_s(item, "data")?)
        .map_err(|e| corrupt(format!("timeline data: {e}")))?;
    Ok(TimelineEntry {
        at: req_time(item, "at")?,
        key,
        event,
    })
}

fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, BackendError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(|e| build_error("TransactWriteItems", e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The transaction that opens an incident: the dedup and ack-code pointers
/// (each only if free), the incident, and its first timeline entries.
/// Item 0 is the dedup pointer and item 1 the code pointer.
pub fn open_transaction(
    table: &str,
    incident: &Incident,
    entries: &[TimelineEntry],
) -> Result<Vec<TransactWriteItem>, BackendError> {
    let pointer = |pk: String, sk: &str| {
        let mut item = key(pk, sk);
        item.insert("incident_id".into(), s(&incident.id));
        item.insert("opened_at".into(), s(iso(incident.opened_at)));
        item
    };
    let mut items = vec![
        put(
            table,
            pointer(dedup_pk(&incident.dedup_key), "DEDUP"),
            Some("attribute_not_exists(pk)"),
        )?,
        put(
            table,
            pointer(code_pk(&incident.ack_code), "CODE"),
            Some("attribute_not_exists(pk)"),
        )?,
        put(
            table,
            incident_item(incident),
            Some("attribute_not_exists(pk)"),
        )?,
    ];
    for entry in entries {
        items.push(put(table, timeline_item(&incident.id, entry)?, None)?);
    }
    Ok(items)
}

/// Which items of a cancelled transaction failed their condition, where the
/// service says so.
fn cancelled(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> Option<Vec<bool>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

/// The incident store on DynamoDB.
#[derive(Clone, Debug)]
pub struct DynamoIncidents {
    client: Client,
    table: String,
}

impl DynamoIncidents {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Runs a transaction. `Ok(None)` means it committed; `Ok(Some(flags))`
    /// means it was cancelled, with the per-item condition failures (empty
    /// when the service did not say).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<bool>>, BackendError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e) => match cancelled(&e) {
                Some(flags) => Ok(Some(flags)),
                None => Err(backend_error("DynamoDB", "TransactWriteItems", e)),
            },
        }
    }

    /// Puts an item unless one with its key exists; `false` if it did.
    async fn put_if_absent(&self, item: Item, key_attr: &str) -> Result<bool, BackendError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists({key_attr})"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(backend_error("DynamoDB", "PutItem", e)),
        }
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend_error("DynamoDB", "GetItem", e))?;
        Ok(out.item)
    }

    async fn query_index(
        &self,
        index: &str,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Incident>, BackendError> {
        let mut incidents = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", attr)
                .expression_attribute_values(":v", s(value))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend_error("DynamoDB", "Query", e))?;
            for item in out.items() {
                let incident = incident_from_item(item)?;
                // An index is eventually consistent; never list an incident twice.
                if seen.insert(incident.id.clone()) {
                    incidents.push(incident);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(incidents);
            }
        }
    }
}

impl IncidentStore for DynamoIncidents {
    async fn open(
        &self,
        incident: &Incident,
        entries: &[TimelineEntry],
    ) -> Result<OpenOutcome, BackendError> {
        let items = open_transaction(&self.table, incident, entries)?;
        match self.transact(items).await? {
            None => Ok(OpenOutcome::Opened),
            Some(flags) => {
                if flags.get(1) == Some(&true) && flags.first() != Some(&true) {
                    return Ok(OpenOutcome::CodeTaken);
                }
                match self.open_for_dedup_key(&incident.dedup_key).await? {
                    Some(incident_id) => Ok(OpenOutcome::AlreadyOpen { incident_id }),
                    None => Ok(OpenOutcome::CodeTaken),
                }
            }
        }
    }

    async fn open_for_dedup_key(&self, dedup_key: &str) -> Result<Option<String>, BackendError> {
        Ok(self
            .get_item(dedup_pk(dedup_key), "DEDUP")
            .await?
            .and_then(|item| get_s(&item, "incident_id").map(str::to_string)))
    }

    async fn fold_repeat(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
    ) -> Result<FoldOutcome, BackendError> {
        let t = &self.table;
        let reason = match &entry.event {
            TimelineEvent::AlarmState { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        let update = Update::builder()
            .table_name(t)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .update_expression(
                "SET alarm_count = alarm_count + :one, last_alarm_at = :at, reason = :reason",
            )
            .condition_expression("attribute_exists(pk) AND #status <> :resolved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", s(iso(entry.at)))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":resolved", s(Status::Resolved.as_str()))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let items = vec![
            put(
                t,
                timeline_item(incident_id, entry)?,
                Some("attribute_not_exists(sk)"),
            )?,
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.transact(items).await? {
            None => {
                let count = self.get(incident_id).await?.map_or(1, |i| i.alarm_count);
                Ok(FoldOutcome::Folded { alarm_count: count })
            }
            Some(flags) => {
                if flags.first() == Some(&true) {
                    return Ok(FoldOutcome::Duplicate);
                }
                let exists = self
                    .get_item(incident_pk(incident_id), &timeline_sk(entry))
                    .await?
                    .is_some();
                Ok(if exists {
                    FoldOutcome::Duplicate
                } else {
                    FoldOutcome::NotOpen
                })
            }
        }
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, BackendError> {
        self.get_item(incident_pk(incident_id), META)
            .await?
            .map(|item| incident_from_item(&item))
            .transpose()
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, BackendError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :tl)")
                .expression_attribute_values(":pk", s(incident_pk(incident_id)))
                .expression_attribute_values(":tl", s("TL#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend_error("DynamoDB", "Query", e))?;
            for item in out.items() {
                entries.push(timeline_from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(entries);
            }
        }
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, BackendError> {
        self.put_if_absent(timeline_item(incident_id, entry)?, "sk")
            .await
    }

    async fn set_escalation(
        &self,
        incident_id: &str,
        execution: &str,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .update_expression("SET escalation_execution = :e")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(escalation_execution)",
            )
            .expression_attribute_values(":e", s(execution))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            put(&self.table, timeline_item(incident_id, entry)?, None)?,
        ];
        // Cancelled means another run recorded it first: nothing to do.
        self.transact(items).await.map(|_| ())
    }

    async fn claim_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        now: Timestamp,
    ) -> Result<ClaimOutcome, BackendError> {
        let t = &self.table;
        // The claim records the person's numbers: from now on their replies count.
        let mut update = Update::builder()
            .table_name(t)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .condition_expression("#status = :triggered")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":triggered", s(Status::Triggered.as_str()))
            .expression_attribute_values(":now", s(iso(now)));
        update = if claim.ack_numbers.is_empty() {
            update.update_expression("SET last_page_at = :now")
        } else {
            update
                .update_expression("SET last_page_at = :now ADD paged_numbers :phones")
                .expression_attribute_values(
                    ":phones",
                    AttributeValue::Ss(
                        claim
                            .ack_numbers
                            .iter()
                            .map(|p| p.as_str().to_string())
                            .collect(),
                    ),
                )
        };
        let update = update
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let mut page = key(incident_pk(incident_id), &format!("PAGE#{}", claim.key()));
        page.insert("entity".into(), s("page"));
        page.insert("state".into(), s("claimed"));
        page.insert("claimed_at".into(), s(iso(now)));
        page.insert("person".into(), s(&claim.person));
        page.insert("channel".into(), s(claim.channel.as_str()));
        page.insert("contact".into(), s(&claim.contact));
        let stale = now - STALE_CLAIM_SECONDS.seconds();
        let page_put = Put::builder()
            .table_name(t)
            .set_item(Some(page))
            .condition_expression(
                "attribute_not_exists(sk) OR (#state = :claimed AND claimed_at < :stale)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":stale", s(iso(stale)))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().put(page_put).build(),
        ];
        match self.transact(items).await? {
            None => Ok(ClaimOutcome::Claimed),
            // Cancelled for another reason than a condition (a conflicting
            // concurrent transaction): nobody holds the claim yet, try again.
            Some(flags) if !flags.is_empty() && !flags.iter().any(|f| *f) => Err(BackendError {
                service: "DynamoDB",
                operation: "TransactWriteItems",
                message: "page claim conflicted with a concurrent write".into(),
                retryable: true,
            }),
            Some(_) => match self.get(incident_id).await? {
                Some(i) if !i.status.pages() => Ok(ClaimOutcome::NotPaging(i.status)),
                Some(_) => Ok(ClaimOutcome::AlreadyClaimed),
                None => Err(corrupt(format!("incident {incident_id} vanished"))),
            },
        }
    }

    async fn fire_level(
        &self,
        incident_id: &str,
        record: &LevelRecord,
        entries: &[TimelineEntry],
    ) -> Result<LevelRecord, BackendError> {
        let sk = format!("LEVEL#{:04}", record.step);
        let mut item = key(incident_pk(incident_id), &sk);
        item.insert("entity".into(), s("level"));
        item.insert("step".into(), n(record.step));
        item.insert("pass".into(), n(record.pass));
        item.insert("level".into(), n(record.level));
        item.insert("fired_at".into(), s(iso(record.fired_at)));
        item.insert(
            "targets".into(),
            AttributeValue::L(
                record
                    .targets
                    .iter()
                    .map(|t| {
                        let mut m = HashMap::from([("person".to_string(), s(&t.person))]);
                        if let Some(via) = &t.via {
                            m.insert("via".into(), s(via));
                        }
                        AttributeValue::M(m)
                    })
                    .collect(),
            ),
        );
        let mut items = vec![put(&self.table, item, Some("attribute_not_exists(sk)"))?];
        for entry in entries {
            items.push(put(&self.table, timeline_item(incident_id, entry)?, None)?);
        }
        if self.transact(items).await?.is_none() {
            return Ok(record.clone());
        }
        // Fired before (a concurrent run): use what was stored. Missing means
        // the transaction lost to a concurrent one still in flight: a retry
        // will find it.
        self.level(incident_id, record.step)
            .await?
            .ok_or_else(|| BackendError {
                service: "DynamoDB",
                operation: "TransactWriteItems",
                message: format!("level {sk} of {incident_id} is being recorded concurrently"),
                retryable: true,
            })
    }

    async fn level(
        &self,
        incident_id: &str,
        step: u32,
    ) -> Result<Option<LevelRecord>, BackendError> {
        self.get_item(incident_pk(incident_id), &format!("LEVEL#{step:04}"))
            .await?
            .map(|item| level_from_item(&item))
            .transpose()
    }

    async fn complete_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let message_id = match &entry.event {
            TimelineEvent::Paged { message_id, .. } => message_id.clone(),
            _ => String::new(),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                incident_pk(incident_id),
                &format!("PAGE#{}", claim.key()),
            )))
            .update_expression("SET #state = :sent, message_id = :m, sent_at = :at")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":m", s(message_id))
            .expression_attribute_values(":at", s(iso(entry.at)))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            put(&self.table, timeline_item(incident_id, entry)?, None)?,
        ];
        match self.transact(items).await? {
            None => Ok(()),
            Some(_) => Err(BackendError {
                service: "DynamoDB",
                operation: "TransactWriteItems",
                message: "recording a sent page was cancelled".into(),
                retryable: true,
            }),
        }
    }

    async fn transition(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        require_paged: Option<&Phone>,
        entry: &TimelineEntry,
    ) -> Result<TransitionOutcome, BackendError> {
        for _ in 0..3 {
            let Some(current) = self.get(incident_id).await? else {
                return Ok(TransitionOutcome::NotFound);
            };
            if let Some(phone) = require_paged
                && !current.paged_numbers.contains(phone.as_str())
            {
                return Ok(TransitionOutcome::NotPaged);
            }
            let allowed = match transition {
                Transition::Acknowledge => current.status.can_acknowledge(),
                Transition::Resolve => current.status.can_resolve(),
            };
            if !allowed {
                return Ok(TransitionOutcome::Refused(current.status));
            }
            let at = s(iso(entry.at));
            let by = s(actor.display());
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(incident_pk(incident_id), META)))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":by", by);
            let mut condition = match transition {
                Transition::Acknowledge => {
                    update = update
                        .update_expression(
                            "SET #status = :new, acknowledged_at = :at, acknowledged_by = :by",
                        )
                        .expression_attribute_values(":new", s(Status::Acknowledged.as_str()))
                        .expression_attribute_values(":triggered", s(Status::Triggered.as_str()));
                    "#status = :triggered".to_string()
                }
                Transition::Resolve => {
                    update = update
                        .update_expression("SET #status = :new, resolved_at = :at, resolved_by = :by REMOVE gsi_open")
                        .expression_attribute_values(":new", s(Status::Resolved.as_str()))
                        .expression_attribute_values(":triggered", s(Status::Triggered.as_str()))
                        .expression_attribute_values(":acked", s(Status::Acknowledged.as_str()));
                    "#status IN (:triggered, :acked)".to_string()
                }
            };
            if let Some(phone) = require_paged {
                condition.push_str(" AND contains(paged_numbers, :phone)");
                update = update.expression_attribute_values(":phone", s(phone.as_str()));
            }
            let update = update
                .condition_expression(condition)
                .build()
                .map_err(|e| build_error("TransactWriteItems", e))?;
            let mut items = vec![TransactWriteItem::builder().update(update).build()];
            if transition == Transition::Resolve {
                for (pk, sk) in [
                    (dedup_pk(&current.dedup_key), "DEDUP"),
                    (code_pk(&current.ack_code), "CODE"),
                ] {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, sk)))
                        .condition_expression("attribute_not_exists(pk) OR incident_id = :id")
                        .expression_attribute_values(":id", s(incident_id))
                        .build()
                        .map_err(|e| build_error("TransactWriteItems", e))?;
                    items.push(TransactWriteItem::builder().delete(delete).build());
                }
            }
            items.push(put(&self.table, timeline_item(incident_id, entry)?, None)?);
            if self.transact(items).await?.is_none() {
                return match self.get(incident_id).await? {
                    Some(i) => Ok(TransitionOutcome::Done(Box::new(i))),
                    None => Ok(TransitionOutcome::NotFound),
                };
            }
            // Lost a race: re-read and decide again.
        }
        Err(BackendError {
            service: "DynamoDB",
            operation: "TransactWriteItems",
            message: format!("status change of {incident_id} kept conflicting"),
            retryable: true,
        })
    }

    async fn incident_for_code(&self, code: &AckCode) -> Result<Option<String>, BackendError> {
        Ok(self
            .get_item(code_pk(code.as_str()), "CODE")
            .await?
            .and_then(|item| get_s(&item, "incident_id").map(str::to_string)))
    }

    async fn list_open(&self) -> Result<Vec<Incident>, BackendError> {
        self.query_index("open-incidents", "gsi_open", "OPEN").await
    }

    async fn list_month(&self, month: &str) -> Result<Vec<Incident>, BackendError> {
        self.query_index("incidents-by-month", "gsi_month", month)
            .await
    }

    async fn note_resolved_by_alarm(
        &self,
        dedup_key: &str,
        incident_id: &str,
        at: Timestamp,
    ) -> Result<(), BackendError> {
        let mut item = key(format!("LASTOK#{dedup_key}"), "LASTOK");
        item.insert("incident_id".into(), s(incident_id));
        item.insert("resolved_at".into(), s(iso(at)));
        item.insert(
            "expires_at".into(),
            n((at + (LASTOK_TTL_DAYS * 24).hours()).as_second()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| backend_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    async fn last_resolved_by_alarm(
        &self,
        dedup_key: &str,
    ) -> Result<Option<(String, Timestamp)>, BackendError> {
        let Some(item) = self
            .get_item(format!("LASTOK#{dedup_key}"), "LASTOK")
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            req_s(&item, "incident_id")?.to_string(),
            req_time(&item, "resolved_at")?,
        )))
    }

    async fn claim_inbound(&self, message_id: &str, now: Timestamp) -> Result<bool, BackendError> {
        let mut item = key(format!("INBOUND#{message_id}"), "INBOUND");
        item.insert("at".into(), s(iso(now)));
        let expires = now + (INBOUND_TTL_DAYS * 24).hours();
        item.insert("expires_at".into(), n(expires.as_second()));
        self.put_if_absent(item, "pk").await
    }

    async fn release_inbound(&self, message_id: &str) -> Result<(), BackendError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("INBOUND#{message_id}"), "INBOUND")))
            .send()
            .await
            .map_err(|e| backend_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }
}

/// The configuration item: the YAML as applied, readable in the console.
const CONFIG_PK: &str = "CURRENT";

/// Reads and writes the current configuration in the config table, and
/// caches it for the functions.
#[derive(Debug)]
pub struct DynamoConfig {
    client: Client,
    table: String,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<OncallConfig>)>>,
}

/// A stored configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConfig {
    pub yaml: String,
    pub revision: u64,
    pub applied_at: String,
    pub applied_by: String,
}

impl DynamoConfig {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>, ttl: Duration) -> Self {
        Self::new(Client::new(sdk), table, ttl)
    }

    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// The stored document, if any.
    pub async fn load(&self) -> Result<Option<StoredConfig>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(CONFIG_PK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        Ok(Some(StoredConfig {
            yaml: req_s(&item, "yaml")?.to_string(),
            revision: item
                .get("revision")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            applied_at: get_s(&item, "applied_at").unwrap_or_default().to_string(),
            applied_by: get_s(&item, "applied_by").unwrap_or_default().to_string(),
        }))
    }

    /// Stores a validated document as the new revision. Fails if someone
    /// else applied in between (`expected_revision` no longer current).
    /// Stores a document as the new revision; callers validate it first.
    pub async fn store(
        &self,
        yaml: &str,
        applied_by: &str,
        expected_revision: u64,
    ) -> Result<u64, BackendError> {
        let revision = expected_revision + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(CONFIG_PK))
            .item("yaml", s(yaml))
            .item("revision", n(revision))
            .item("applied_at", s(iso(Timestamp::now())))
            .item("applied_by", s(applied_by))
            .condition_expression("attribute_not_exists(pk) OR revision = :expected")
            .expression_attribute_values(":expected", n(expected_revision))
            .send()
            .await;
        match result {
            Ok(_) => Ok(revision),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(BackendError {
                    service: "DynamoDB",
                    operation: "PutItem",
                    message: format!(
                        "configuration changed since revision {expected_revision}; apply again"
                    ),
                    retryable: true,
                })
            }
            Err(e) => Err(backend_error("DynamoDB", "PutItem", e)),
        }
    }
}

impl ConfigSource for DynamoConfig {
    async fn current(&self) -> Result<Arc<OncallConfig>, ConfigLoadError> {
        if let Ok(guard) = self.cache.lock()
            && let Some((at, config)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(config));
        }
        let stored = self.load().await?.ok_or(ConfigLoadError::Missing)?;
        let config = Arc::new(OncallConfig::from_yaml(&stored.yaml)?);
        if let Ok(mut guard) = self.cache.lock() {
            *guard = Some((Instant::now(), Arc::clone(&config)));
        }
        Ok(config)
    }
}
