//! DynamoDB adapters: one table holds everything about incidents
//! (single-table design, layout in [`items`]); a second holds the applied
//! configuration. [`DynamoStore`] implements every store port, one module
//! per port.
//!
//! Open incidents carry `gsi_open = OPEN` (sparse index `open-incidents`);
//! every incident carries `gsi_month` (index `incidents-by-month`), so lists
//! never scan. The `DEDUP` and `CODE` items exist exactly while the incident
//! is open; they are written and deleted in the same transactions that open
//! and resolve it.

mod alarm_memory;
mod config;
mod inbound;
mod incidents;
pub mod items;
mod paging;
mod rate_limits;
pub mod stream;

use std::collections::BTreeSet;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

pub use config::{DynamoConfig, StoredConfig};
pub use incidents::open_transaction;
use items::{Item, build_error, key, s};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use crate::{backend_error, error_code};
use klaxon_ports::BackendError;

/// The incident store on DynamoDB: incidents and timelines, paging,
/// inbound-message dedup and alarm memory, in one table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// How a transaction ended.
enum Txn {
    Committed,
    /// Cancelled; per item, whether its condition failed (empty when the
    /// service did not say).
    Cancelled(Vec<bool>),
}

impl Txn {
    fn failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled(flags) if flags.get(index) == Some(&true))
    }

    /// Cancelled for another reason than a condition (a conflicting
    /// concurrent transaction).
    fn conflicted(&self) -> bool {
        matches!(self, Self::Cancelled(flags) if !flags.iter().any(|f| *f))
    }
}

/// A transaction that conflicted with a concurrent one: retrying settles it.
fn conflict(what: &str) -> BackendError {
    BackendError {
        service: "DynamoDB",
        operation: "TransactWriteItems",
        message: format!("{what} conflicted with a concurrent write"),
        retryable: true,
    }
}

/// A put, with an optional condition.
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

/// The writes that record timeline entries: each entry, and for an entry
/// with a once key, its marker (only if absent). An entry without a once
/// key overwrites an identical one.
fn entry_writes(
    table: &str,
    incident_id: &str,
    entries: &[klaxon_core::incident::TimelineEntry],
) -> Result<Vec<TransactWriteItem>, BackendError> {
    let mut writes = Vec::with_capacity(entries.len());
    let mut seen = BTreeSet::new();
    for entry in entries {
        if let Some(once) = entry.once_key()
            && seen.insert(once.clone())
        {
            writes.push(put(
                table,
                items::once_item(incident_id, &once, entry)?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        writes.push(put(table, items::timeline_item(incident_id, entry)?, None)?);
    }
    Ok(writes)
}

impl DynamoStore {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One update (item 0) and the timeline entry that records it, in one
    /// transaction.
    async fn update_with_entry(
        &self,
        update: UpdateBuilder,
        incident_id: &str,
        entry: &klaxon_core::incident::TimelineEntry,
    ) -> Result<Txn, BackendError> {
        let update = update
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        writes.extend(entry_writes(
            &self.table,
            incident_id,
            std::slice::from_ref(entry),
        )?);
        self.transact(writes).await
    }

    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<Txn, BackendError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(Txn::Committed),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Txn::Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code() == Some("ConditionalCheckFailed"))
                            .collect(),
                    ))
                }
                _ => Err(backend_error("DynamoDB", "TransactWriteItems", e)),
            },
        }
    }

    /// Puts an item unless one with its key exists; `false` if it did.
    async fn put_if_absent(&self, item: Item) -> Result<bool, BackendError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held(result, "PutItem")
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

    /// Every item of a partition whose sort key starts with `prefix`, in
    /// sort-key order.
    async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, BackendError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        query_all(query).await
    }

    /// Items of an index partition, newest first.
    async fn query_index(
        &self,
        index: &str,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Item>, BackendError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attr)
            .expression_attribute_values(":v", s(value))
            .scan_index_forward(false);
        query_all(query).await
    }
}

/// Every page of a query.
async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, BackendError> {
    query
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| backend_error("DynamoDB", "Query", e))
}

/// The result of a single-item write with a condition: `Ok(false)` when the
/// condition did not hold.
fn condition_held<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &'static str,
) -> Result<bool, BackendError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(backend_error("DynamoDB", operation, e)),
    }
}
