//! [`InboundMessages`] on DynamoDB.

use jiff::{SignedDuration, Timestamp};

use super::DynamoStore;
use super::items::{INBOUND, InboundItem, inbound_pk, key, to_item};
use crate::ports::{BackendError, InboundMessages};

/// How long handled inbound message ids are remembered.
const INBOUND_TTL_DAYS: i64 = 7;

impl InboundMessages for DynamoStore {
    async fn claim(&self, message_id: &str, now: Timestamp) -> Result<bool, BackendError> {
        let expires = now + SignedDuration::from_hours(INBOUND_TTL_DAYS * 24);
        self.put_if_absent(to_item(&InboundItem {
            pk: inbound_pk(message_id),
            sk: INBOUND.into(),
            at: now,
            expires_at: expires.as_second(),
        })?)
        .await
    }

    async fn release(&self, message_id: &str) -> Result<(), BackendError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(inbound_pk(message_id), INBOUND)))
            .send()
            .await
            .map_err(|e| crate::aws::backend_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }
}
