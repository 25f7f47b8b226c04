//! [`Paging`] on DynamoDB.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use jiff::{SignedDuration, Timestamp};

use super::items::{
    self, META, PageItem, build_error, corrupt, incident_pk, key, level_sk, page_sk, s, t,
};
use super::{DynamoStore, Txn, conflict, entry_writes, put};
use crate::core::incident::{Status, TimelineEntry};
use crate::ports::paging::DEFAULT_LEASE_SECONDS;
use crate::ports::{BackendError, ClaimOutcome, LevelRecord, PageClaim, Paging};

impl Paging for DynamoStore {
    async fn level(
        &self,
        incident_id: &str,
        step: u32,
    ) -> Result<Option<LevelRecord>, BackendError> {
        self.get_item(incident_pk(incident_id), &level_sk(step))
            .await?
            .map(items::level_from)
            .transpose()
    }

    async fn fire_level(
        &self,
        incident_id: &str,
        record: &LevelRecord,
        entries: &[TimelineEntry],
    ) -> Result<LevelRecord, BackendError> {
        let mut writes = vec![put(
            &self.table,
            items::level_item(incident_id, record)?,
            Some("attribute_not_exists(sk)"),
        )?];
        writes.extend(entry_writes(&self.table, incident_id, entries)?);
        if let Txn::Committed = self.transact(writes).await? {
            return Ok(record.clone());
        }
        // Fired before (a concurrent run): use what was stored. Missing means
        // the transaction lost to a concurrent one still in flight: a retry
        // will find it.
        self.level(incident_id, record.step)
            .await?
            .ok_or_else(|| conflict(&format!("recording level {} of {incident_id}", record.step)))
    }

    async fn claim_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<ClaimOutcome, BackendError> {
        // The claim records the person's numbers: from now on their replies count.
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), META)))
            .condition_expression("#status = :triggered")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":triggered", s(Status::Triggered.as_str()))
            .expression_attribute_values(":now", t(now));
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
        let page = items::to_item(&PageItem {
            pk: incident_pk(incident_id),
            sk: page_sk(&claim.key()),
            entity: "page".into(),
            state: "claimed".into(),
            claimed_at: now,
            lease_until: Some(lease_until),
            person: claim.person.clone(),
            channel: claim.channel.as_str().into(),
            contact: claim.contact.clone(),
            expires_at: crate::core::self_test::expires_at(incident_id, now),
        })?;
        // Claims from before leases: taken over a default lease after they were made.
        let stale = now - SignedDuration::from_secs(DEFAULT_LEASE_SECONDS);
        let page_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(page))
            .condition_expression(
                "attribute_not_exists(sk) OR (#state = :claimed AND (lease_until < :now OR (attribute_not_exists(lease_until) AND claimed_at < :stale)))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":now", t(now))
            .expression_attribute_values(":stale", t(stale))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().put(page_put).build(),
        ];
        let txn = self.transact(writes).await?;
        match txn {
            Txn::Committed => Ok(ClaimOutcome::Claimed),
            // Nobody holds the claim yet: try again.
            _ if txn.conflicted() && !matches!(&txn, Txn::Cancelled(f) if f.is_empty()) => {
                Err(conflict("page claim"))
            }
            _ => match self.get_incident(incident_id).await? {
                Some(status) if !status.pages() => Ok(ClaimOutcome::NotPaging(status)),
                Some(_) => self.held_claim(incident_id, claim).await,
                None => Err(corrupt(format!("incident {incident_id} vanished"))),
            },
        }
    }

    async fn release_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
    ) -> Result<(), BackendError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), &page_sk(&claim.key()))))
            .condition_expression("#state = :claimed AND lease_until = :mine")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":mine", t(lease_until))
            .send()
            .await;
        // Not released: sent meanwhile, taken over by another run, or gone.
        super::condition_held(result, "DeleteItem").map(|_| ())
    }

    async fn complete_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        message_id: &str,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), &page_sk(&claim.key()))))
            .update_expression("SET #state = :sent, message_id = :m, sent_at = :at")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":m", s(message_id))
            .expression_attribute_values(":at", t(entry.at));
        match self.update_with_entry(update, incident_id, entry).await? {
            Txn::Committed => Ok(()),
            Txn::Cancelled(_) => Err(conflict("recording a sent page")),
        }
    }
}

impl DynamoStore {
    /// Why a claim was refused while the incident still pages: the page
    /// was sent, or another run holds it.
    async fn held_claim(
        &self,
        incident_id: &str,
        claim: &PageClaim,
    ) -> Result<ClaimOutcome, BackendError> {
        let Some(item) = self
            .get_item(incident_pk(incident_id), &page_sk(&claim.key()))
            .await?
        else {
            // Given back between the claim and this read: try again.
            return Err(conflict("page claim"));
        };
        let page: PageItem = items::from_item(item, "page claim")?;
        if page.state != "claimed" {
            return Ok(ClaimOutcome::AlreadySent);
        }
        let lease_until = page
            .lease_until
            .unwrap_or(page.claimed_at + SignedDuration::from_secs(DEFAULT_LEASE_SECONDS));
        Ok(ClaimOutcome::InFlight { lease_until })
    }

    /// The incident's status, if it exists.
    async fn get_incident(&self, incident_id: &str) -> Result<Option<Status>, BackendError> {
        use crate::ports::Incidents;
        Ok(self.get(incident_id).await?.map(|i| i.status))
    }
}
