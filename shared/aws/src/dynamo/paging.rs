//! [`Paging`] on DynamoDB.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use jiff::{SignedDuration, Timestamp};

use super::items::{
    self, META, PAGE_ABANDONED, PAGE_CLAIMED, PAGE_FAILED, PageItem, build_error, corrupt,
    incident_pk, key, level_sk, n, page_sk, s, t,
};
use super::{DynamoStore, Txn, conflict, entry_writes, put};
use klaxon_core::incident::{Status, TimelineEntry};
use klaxon_core::paging::DEFAULT_LEASE_SECONDS;
use klaxon_ports::paging::FailedPage;
use klaxon_ports::{BackendError, ClaimOutcome, LevelRecord, PageClaim, Paging};

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

    async fn last_fired_step(&self, incident_id: &str) -> Result<Option<u32>, BackendError> {
        let levels = self
            .query_prefix(incident_pk(incident_id), "LEVEL#")
            .await?;
        levels
            .into_iter()
            .last()
            .map(|item| items::level_from(item).map(|l| l.step))
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
        // An update, not a put: a failed page taken over keeps its count.
        let mut set = vec![
            ("entity", s("page")),
            ("state", s(PAGE_CLAIMED)),
            ("claimed_at", t(now)),
            ("lease_until", t(lease_until)),
            ("person", s(claim.person.as_str())),
            ("channel", s(claim.channel.as_str())),
            ("contact", s(claim.contact.as_str())),
            ("step", n(claim.step)),
        ];
        if let Some(at) = klaxon_core::self_test::expires_at(incident_id, now) {
            set.push(("expires_at", n(at)));
        }
        let mut page_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), &page_sk(&claim.key()))))
            .update_expression(format!(
                "SET {}",
                (0..set.len())
                    .map(|i| format!("#a{i} = :a{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        for (i, (name, value)) in set.into_iter().enumerate() {
            page_update = page_update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), value);
        }
        // Claims from before leases: taken over a default lease after they were made.
        let stale = now - SignedDuration::from_secs(DEFAULT_LEASE_SECONDS);
        let page_update = page_update
            .condition_expression(
                "attribute_not_exists(sk) OR #a1 = :failed OR (#a1 = :claimed AND (lease_until < :now OR (attribute_not_exists(lease_until) AND claimed_at < :stale)))",
            )
            .expression_attribute_values(":claimed", s(PAGE_CLAIMED))
            .expression_attribute_values(":failed", s(PAGE_FAILED))
            .expression_attribute_values(":now", t(now))
            .expression_attribute_values(":stale", t(stale))
            .build()
            .map_err(|e| build_error("TransactWriteItems", e))?;
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().update(page_update).build(),
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

    async fn fail_page(
        &self,
        incident_id: &str,
        claim: &PageClaim,
        lease_until: Timestamp,
        at: Timestamp,
        error: &str,
    ) -> Result<Option<FailedPage>, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), &page_sk(&claim.key()))))
            .condition_expression("#state = :claimed AND lease_until = :mine")
            .update_expression(
                "SET #state = :failed, attempts = if_not_exists(attempts, :zero) + :one, \
                 first_failed_at = if_not_exists(first_failed_at, :at), last_failed_at = :at, \
                 last_error = :error REMOVE lease_until",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s(PAGE_CLAIMED))
            .expression_attribute_values(":failed", s(PAGE_FAILED))
            .expression_attribute_values(":mine", t(lease_until))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", t(at))
            .expression_attribute_values(":error", s(error))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(items::failed_page_from).transpose(),
            Err(e) if super::error_code(&e) == Some("ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(super::backend_error("DynamoDB", "UpdateItem", e)),
        }
    }

    async fn failed_pages(&self, incident_id: &str) -> Result<Vec<FailedPage>, BackendError> {
        let mut failed = Vec::new();
        for item in self.query_prefix(incident_pk(incident_id), "PAGE#").await? {
            if item.get("state") == Some(&s(PAGE_FAILED)) {
                failed.push(items::failed_page_from(item)?);
            }
        }
        Ok(failed)
    }

    async fn abandon_page(
        &self,
        incident_id: &str,
        page_key: &str,
        entry: &TimelineEntry,
    ) -> Result<(), BackendError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(incident_pk(incident_id), &page_sk(page_key))))
            .condition_expression("#state = :failed")
            .update_expression("SET #state = :abandoned")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":failed", s(PAGE_FAILED))
            .expression_attribute_values(":abandoned", s(PAGE_ABANDONED));
        // Not abandoned: claimed again meanwhile (that run decides).
        self.update_with_entry(update, incident_id, entry).await?;
        Ok(())
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
        if page.state != PAGE_CLAIMED {
            return Ok(ClaimOutcome::AlreadySent);
        }
        let lease_until = page
            .lease_until
            .unwrap_or(page.claimed_at + SignedDuration::from_secs(DEFAULT_LEASE_SECONDS));
        Ok(ClaimOutcome::InFlight { lease_until })
    }

    /// The incident's status, if it exists.
    async fn get_incident(&self, incident_id: &str) -> Result<Option<Status>, BackendError> {
        use klaxon_ports::Incidents;
        Ok(self.get(incident_id).await?.map(|i| i.status))
    }
}
