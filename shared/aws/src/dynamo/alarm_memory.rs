//! [`AlarmMemory`] on DynamoDB: one `LASTOK#<dedup key>` item per alarm.

use jiff::{SignedDuration, Timestamp};

use super::DynamoStore;
use super::items::{LASTOK, LastOkItem, from_item, key, lastok_pk, n, t};
use klaxon_ports::{AlarmMemory, BackendError, LastOk, ResolvedByAlarm};

/// How long an alarm's OKs are remembered (longer than any flapping window).
const LASTOK_TTL_DAYS: i64 = 2;

pub(super) fn expires(at: Timestamp) -> aws_sdk_dynamodb::types::AttributeValue {
    n((at + SignedDuration::from_hours(LASTOK_TTL_DAYS * 24)).as_second())
}

impl AlarmMemory for DynamoStore {
    async fn note_ok(
        &self,
        dedup_key: &str,
        state_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(lastok_pk(dedup_key), LASTOK)))
            .update_expression("SET ok_state_at = :t, expires_at = :e")
            .condition_expression("attribute_not_exists(ok_state_at) OR ok_state_at < :t")
            .expression_attribute_values(":t", t(state_at))
            .expression_attribute_values(":e", expires(now))
            .send()
            .await;
        // Not noted: a newer OK is remembered already.
        super::condition_held(result, "UpdateItem").map(|_| ())
    }

    async fn last_ok(&self, dedup_key: &str) -> Result<Option<LastOk>, BackendError> {
        let Some(item) = self.get_item(lastok_pk(dedup_key), LASTOK).await? else {
            return Ok(None);
        };
        let item: LastOkItem = from_item(item, "alarm memory")?;
        Ok(Some(LastOk {
            state_at: item.ok_state_at,
            resolved: match (item.incident_id, item.resolved_at) {
                (Some(incident_id), Some(at)) => Some(ResolvedByAlarm { incident_id, at }),
                _ => None,
            },
        }))
    }
}
