//! [`InboundMessages`] on DynamoDB.

use jiff::{SignedDuration, Timestamp};

use super::items::{INBOUND, InboundItem, from_item, inbound_pk, key, s, t, to_item};
use super::{DynamoStore, condition_held, conflict};
use klaxon_ports::{BackendError, ConfirmationClaim, InboundClaim, InboundMessages};

/// How long handled inbound message ids are remembered.
const INBOUND_TTL_DAYS: i64 = 7;

impl InboundMessages for DynamoStore {
    async fn claim(&self, message_id: &str, now: Timestamp) -> Result<InboundClaim, BackendError> {
        let expires = now + SignedDuration::from_hours(INBOUND_TTL_DAYS * 24);
        let item = to_item(&InboundItem {
            pk: inbound_pk(message_id),
            sk: INBOUND.into(),
            at: now,
            incident_id: None,
            expires_at: expires.as_second(),
            confirm_until: None,
        })?;
        if self.put_if_absent(item).await? {
            return Ok(InboundClaim::First);
        }
        let incident_id = match self.get_item(inbound_pk(message_id), INBOUND).await? {
            Some(item) => from_item::<InboundItem>(item, "inbound message")?.incident_id,
            None => None,
        };
        Ok(InboundClaim::Again { incident_id })
    }

    async fn attach(&self, message_id: &str, incident_id: &str) -> Result<(), BackendError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(inbound_pk(message_id), INBOUND)))
            .update_expression("SET incident_id = :i")
            .expression_attribute_values(":i", s(incident_id))
            .send()
            .await
            .map_err(|e| crate::backend_error("DynamoDB", "UpdateItem", e))?;
        Ok(())
    }

    async fn release(&self, message_id: &str) -> Result<(), BackendError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(inbound_pk(message_id), INBOUND)))
            .send()
            .await
            .map_err(|e| crate::backend_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }

    async fn claim_confirmation(
        &self,
        message_id: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<ConfirmationClaim, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(inbound_pk(message_id), INBOUND)))
            .update_expression("SET confirm_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(confirm_until) OR confirm_until < :now)",
            )
            .expression_attribute_values(":until", t(lease_until))
            .expression_attribute_values(":now", t(now))
            .send()
            .await;
        if condition_held(result, "UpdateItem")? {
            return Ok(ConfirmationClaim::Claimed);
        }
        let held = match self.get_item(inbound_pk(message_id), INBOUND).await? {
            Some(item) => from_item::<InboundItem>(item, "inbound message")?.confirm_until,
            None => None,
        };
        match held {
            Some(lease_until) => Ok(ConfirmationClaim::InFlight { lease_until }),
            // The message's claim was given back meanwhile: try again.
            None => Err(conflict("confirmation claim")),
        }
    }

    async fn release_confirmation(&self, message_id: &str) -> Result<(), BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(inbound_pk(message_id), INBOUND)))
            .update_expression("REMOVE confirm_until")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        condition_held(result, "UpdateItem").map(|_| ())
    }
}
