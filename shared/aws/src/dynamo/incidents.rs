//! [`Incidents`] on DynamoDB.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use jiff::Timestamp;

use super::items::{
    self, CODE, DEDUP, META, PointerItem, build_error, code_pk, dedup_pk, incident_pk, key, n, s, t,
};
use super::{DynamoStore, Txn, conflict, entry_writes, put};
use klaxon_core::incident::{AckCode, Actor, Incident, Status, TimelineEntry, TimelineEvent};
use klaxon_core::transition::check_transition;
use klaxon_ports::{
    BackendError, FoldOutcome, Incidents, OpenOutcome, Requirement, Transition, TransitionOutcome,
};

/// The transaction that opens an incident: the dedup and ack-code pointers
/// (each only if free), the incident, and its first timeline entries.
/// Item 0 is the dedup pointer, item 1 the code pointer, item 2 the incident.
pub fn open_transaction(
    table: &str,
    incident: &Incident,
    entries: &[TimelineEntry],
) -> Result<Vec<TransactWriteItem>, BackendError> {
    let pointer = |pk: String, sk: &str| {
        items::to_item(&PointerItem {
            pk,
            sk: sk.into(),
            incident_id: incident.id.clone(),
            opened_at: incident.opened_at,
            expires_at: klaxon_core::self_test::expires_at(&incident.id, incident.opened_at),
        })
    };
    let if_new = Some("attribute_not_exists(pk)");
    let mut writes = vec![
        put(
            table,
            pointer(dedup_pk(&incident.dedup_key), DEDUP)?,
            if_new,
        )?,
        put(table, pointer(code_pk(&incident.ack_code), CODE)?, if_new)?,
        put(table, items::incident_item(incident)?, if_new)?,
    ];
    writes.extend(entry_writes(table, &incident.id, entries)?);
    Ok(writes)
}

impl DynamoStore {
    async fn once_recorded(&self, incident_id: &str, once: &str) -> Result<bool, BackendError> {
        Ok(self
            .get_item(incident_pk(incident_id), &items::once_sk(once))
            .await?
            .is_some())
    }

    fn status_update(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        requirement: Requirement<'_>,
        at: Timestamp,
    ) -> Result<TransactWriteItem, BackendError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", t(at))
            .expression_attribute_values(":by", s(actor.display()))
            .expression_attribute_values(":triggered", s(Status::Triggered.as_str()));
        let mut condition = match transition {
            Transition::Acknowledge => {
                update = update
                    .update_expression(
                        "SET #status = :new, acknowledged_at = :at, acknowledged_by = :by",
                    )
                    .expression_attribute_values(":new", s(Status::Acknowledged.as_str()));
                "#status = :triggered".to_string()
            }
            Transition::Resolve => {
                update = update
                    .update_expression(
                        "SET #status = :new, resolved_at = :at, resolved_by = :by REMOVE gsi_open",
                    )
                    .expression_attribute_values(":new", s(Status::Resolved.as_str()))
                    .expression_attribute_values(":acked", s(Status::Acknowledged.as_str()));
                "#status IN (:triggered, :acked)".to_string()
            }
        };
        match requirement {
            Requirement::None => {}
            Requirement::Paged(phone) => {
                condition.push_str(" AND contains(paged_numbers, :phone)");
                update = update.expression_attribute_values(":phone", s(phone.as_str()));
            }
            Requirement::AlarmNotAfter(ok_at) => {
                condition.push_str(
                    " AND (attribute_not_exists(alarm_state_at) OR alarm_state_at <= :ok)",
                );
                update = update.expression_attribute_values(":ok", t(ok_at));
            }
        }
        let update = update
            .condition_expression(condition)
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Records in the alarm's memory that its OK resolved this incident.
    fn remember_resolution(
        &self,
        dedup_key: &str,
        incident_id: &str,
        at: Timestamp,
    ) -> Result<TransactWriteItem, BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(items::lastok_pk(dedup_key), items::LASTOK)))
            .update_expression("SET incident_id = :i, resolved_at = :at, expires_at = :e")
            .expression_attribute_values(":i", s(incident_id))
            .expression_attribute_values(":at", t(at))
            .expression_attribute_values(":e", super::alarm_memory::expires(at))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Deletes a pointer if it still points at this incident.
    fn release_pointer(
        &self,
        pk: String,
        sk: &str,
        incident_id: &str,
    ) -> Result<TransactWriteItem, BackendError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_not_exists(pk) OR incident_id = :id")
            .expression_attribute_values(":id", s(incident_id))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

impl Incidents for DynamoStore {
    async fn open(
        &self,
        incident: &Incident,
        entries: &[TimelineEntry],
    ) -> Result<OpenOutcome, BackendError> {
        let txn = self
            .transact(open_transaction(&self.table, incident, entries)?)
            .await?;
        if let Txn::Committed = txn {
            return Ok(OpenOutcome::Opened);
        }
        if txn.failed(1) && !txn.failed(0) {
            return Ok(OpenOutcome::CodeTaken);
        }
        // The dedup key is taken, or the service did not say: look.
        Ok(match self.open_for_dedup_key(&incident.dedup_key).await? {
            Some(incident_id) => OpenOutcome::AlreadyOpen { incident_id },
            // Freed meanwhile, or an id or code collision: draw again.
            None => OpenOutcome::CodeTaken,
        })
    }

    async fn open_for_dedup_key(&self, dedup_key: &str) -> Result<Option<String>, BackendError> {
        self.get_item(dedup_pk(dedup_key), DEDUP)
            .await?
            .map(|item| items::from_item::<PointerItem>(item, "dedup pointer"))
            .transpose()
            .map(|p| p.map(|p| p.incident_id))
    }

    async fn fold_repeat(
        &self,
        incident_id: &str,
        entry: &TimelineEntry,
        state_at: Timestamp,
    ) -> Result<FoldOutcome, BackendError> {
        let once = entry.once_key().ok_or_else(|| {
            build_error("TransactWriteItems", "a repeat alarm without a once key")
        })?;
        let reason = match &entry.event {
            TimelineEvent::AlarmState { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        // First with the alarm time raised in the same write (so an OK
        // older than this ALARM can no longer resolve); if this ALARM is
        // older than one folded before, again without raising it.
        for raise in [true, false] {
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(incident_pk(incident_id), META)))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":at", t(entry.at))
                .expression_attribute_values(":reason", s(reason.clone()))
                .expression_attribute_values(":resolved", s(Status::Resolved.as_str()));
            update = if raise {
                update
                    .update_expression(
                        "SET alarm_count = alarm_count + :one, last_alarm_at = :at, reason = :reason, alarm_state_at = :t",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND #status <> :resolved AND (attribute_not_exists(alarm_state_at) OR alarm_state_at <= :t)",
                    )
                    .expression_attribute_values(":t", t(state_at))
            } else {
                update
                    .update_expression(
                        "SET alarm_count = alarm_count + :one, last_alarm_at = :at, reason = :reason",
                    )
                    .condition_expression("attribute_exists(pk) AND #status <> :resolved")
            };
            let update = update
                .build()
                .map_err(|e| build_error("TransactWriteItems", e))?;
            // 0: the once marker, 1: the entry, 2: the count.
            let mut writes = entry_writes(&self.table, incident_id, std::slice::from_ref(entry))?;
            writes.push(TransactWriteItem::builder().update(update).build());
            let txn = self.transact(writes).await?;
            match &txn {
                Txn::Committed => {
                    let alarm_count = self.get(incident_id).await?.map_or(1, |i| i.alarm_count);
                    return Ok(FoldOutcome::Folded { alarm_count });
                }
                // Recorded before, with its alarm time, in one write.
                _ if txn.failed(0) => return Ok(FoldOutcome::Duplicate),
                _ if txn.conflicted() && self.once_recorded(incident_id, &once).await? => {
                    return Ok(FoldOutcome::Duplicate);
                }
                _ => {}
            }
            match self.get(incident_id).await? {
                Some(i) if !i.status.is_open() => return Ok(FoldOutcome::NotOpen),
                None => return Ok(FoldOutcome::NotOpen),
                // An older ALARM than one folded before: count it, keep the time.
                Some(i) if raise && txn.failed(2) && i.alarm_state_at > state_at => continue,
                Some(_) => return Err(conflict("folding a repeat alarm")),
            }
        }
        Err(conflict("folding a repeat alarm"))
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, BackendError> {
        self.get_item(incident_pk(incident_id), META)
            .await?
            .map(items::incident_from)
            .transpose()
    }

    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, BackendError> {
        self.query_prefix(incident_pk(incident_id), "TL#")
            .await?
            .into_iter()
            .map(items::timeline_from)
            .collect()
    }

    async fn append(&self, incident_id: &str, entry: &TimelineEntry) -> Result<bool, BackendError> {
        if entry.once_key().is_none() {
            return self
                .put_if_absent(items::timeline_item(incident_id, entry)?)
                .await;
        }
        let txn = self
            .transact(entry_writes(
                &self.table,
                incident_id,
                std::slice::from_ref(entry),
            )?)
            .await?;
        match txn {
            Txn::Committed => Ok(true),
            _ if txn.failed(0) => Ok(false),
            _ => Err(conflict("appending to the timeline")),
        }
    }

    async fn set_escalation(
        &self,
        incident_id: &str,
        execution: &str,
        entry: &TimelineEntry,
    ) -> Result<bool, BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .update_expression("SET escalation_execution = :e")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(escalation_execution)",
            )
            .expression_attribute_values(":e", s(execution));
        let txn = self.update_with_entry(update, incident_id, entry).await?;
        match txn {
            Txn::Committed => Ok(true),
            _ if txn.failed(0) => Ok(false),
            // A write conflict is not a success: say so, and retry.
            _ => match self.get(incident_id).await? {
                Some(i) if i.escalation_execution.is_some() => Ok(false),
                _ => Err(conflict("recording the escalation")),
            },
        }
    }

    async fn replace_escalation(
        &self,
        incident_id: &str,
        previous: Option<&str>,
        execution: &str,
        entry: &TimelineEntry,
    ) -> Result<bool, BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .update_expression("SET escalation_execution = :e")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":triggered", s(Status::Triggered.as_str()))
            .expression_attribute_values(":e", s(execution));
        let update = match previous {
            Some(previous) => update
                .condition_expression("#status = :triggered AND escalation_execution = :previous")
                .expression_attribute_values(":previous", s(previous)),
            None => update.condition_expression(
                "#status = :triggered AND attribute_not_exists(escalation_execution)",
            ),
        };
        let txn = self.update_with_entry(update, incident_id, entry).await?;
        match txn {
            Txn::Committed => Ok(true),
            _ if txn.failed(0) => Ok(false),
            _ => Err(conflict("replacing the escalation")),
        }
    }

    async fn transition(
        &self,
        incident_id: &str,
        transition: Transition,
        actor: &Actor,
        requirement: Requirement<'_>,
        entry: &TimelineEntry,
    ) -> Result<TransitionOutcome, BackendError> {
        for _ in 0..3 {
            let Some(current) = self.get(incident_id).await? else {
                return Ok(TransitionOutcome::NotFound);
            };
            if let Err(refused) = check_transition(&current, transition, requirement) {
                return Ok(refused);
            }
            let mut writes =
                vec![self.status_update(incident_id, transition, actor, requirement, entry.at)?];
            if transition == Transition::Resolve {
                writes.push(self.release_pointer(
                    dedup_pk(&current.dedup_key),
                    DEDUP,
                    incident_id,
                )?);
                writes.push(self.release_pointer(code_pk(&current.ack_code), CODE, incident_id)?);
            }
            if let (Transition::Resolve, Requirement::AlarmNotAfter(_)) = (transition, requirement)
            {
                writes.push(self.remember_resolution(&current.dedup_key, incident_id, entry.at)?);
            }
            writes.extend(entry_writes(
                &self.table,
                incident_id,
                std::slice::from_ref(entry),
            )?);
            if let Txn::Committed = self.transact(writes).await? {
                return match self.get(incident_id).await? {
                    Some(i) => Ok(TransitionOutcome::Done(Box::new(i))),
                    None => Ok(TransitionOutcome::NotFound),
                };
            }
            // Lost a race: re-read and decide again.
        }
        Err(conflict(&format!("status change of {incident_id}")))
    }

    async fn incident_for_code(&self, code: &AckCode) -> Result<Option<String>, BackendError> {
        self.get_item(code_pk(code.as_str()), CODE)
            .await?
            .map(|item| items::from_item::<PointerItem>(item, "code pointer"))
            .transpose()
            .map(|p| p.map(|p| p.incident_id))
    }

    async fn list_open(&self) -> Result<Vec<Incident>, BackendError> {
        listed(
            self.query_index("open-incidents", "gsi_open", "OPEN")
                .await?,
        )
    }

    async fn list_month(&self, month: &str) -> Result<Vec<Incident>, BackendError> {
        listed(
            self.query_index("incidents-by-month", "gsi_month", month)
                .await?,
        )
    }
}

/// Incidents from an index: an index is eventually consistent, so never
/// list an incident twice.
fn listed(found: Vec<items::Item>) -> Result<Vec<Incident>, BackendError> {
    let mut seen = BTreeSet::new();
    let mut incidents = Vec::with_capacity(found.len());
    for item in found {
        let incident = items::incident_from(item)?;
        if seen.insert(incident.id.clone()) {
            incidents.push(incident);
        }
    }
    Ok(incidents)
}
