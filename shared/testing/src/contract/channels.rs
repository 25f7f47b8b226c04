//! The contract of [`DeliveryChannels`]: the same cases run against
//! [`FakeDeliveryChannels`](crate::FakeDeliveryChannels) (unit
//! tests here) and against the AWS adapter (`tests/it/contract.rs`: SNS's
//! sandbox and SES's account through the emulator's stand-ins, SES
//! identities and CloudWatch in the emulator). Each case owns the account
//! it is given: its sandbox, spend and SES account are not shared.

use std::future::Future;

use jiff::{SignedDuration, Timestamp};

use klaxon_ports::DeliveryChannels;

/// Sets up the account under test.
pub trait Seed: Sync {
    /// Replaces the SMS sandbox: in it or not, its verified and pending numbers.
    fn sms_sandbox(
        &self,
        in_sandbox: bool,
        verified: &[&str],
        pending: &[&str],
    ) -> impl Future<Output = ()> + Send;
    /// One `SMSMonthToDateSpentUSD` datapoint.
    fn sms_spent(&self, usd: f64, at: Timestamp) -> impl Future<Output = ()> + Send;
    /// `MonthlySpendLimit`.
    fn sms_spend_limit(&self, usd: &str) -> impl Future<Output = ()> + Send;
    /// A verified SES identity (an address or a domain).
    fn verified_email_identity(&self, name: &str) -> impl Future<Output = ()> + Send;
    /// Whether SES sends for the account.
    fn ses_sending(&self, enabled: bool) -> impl Future<Output = ()> + Send;
    /// A Chime SDK phone number of the account with this status, or none.
    fn voice_number(&self, number: &str, status: Option<&str>) -> impl Future<Output = ()> + Send;
}

/// In the sandbox only verified numbers are listed as verified; out of it,
/// the account says so.
pub async fn the_sms_sandbox_lists_only_verified_numbers<C: DeliveryChannels, P: Seed>(
    c: &C,
    p: &P,
) {
    p.sms_sandbox(true, &["+14155550101", "+14155550102"], &["+14155550103"])
        .await;
    assert!(c.sms_in_sandbox().await.unwrap());
    let mut verified = c.sms_sandbox_verified().await.unwrap();
    verified.sort();
    assert_eq!(verified, ["+14155550101", "+14155550102"]);
    p.sms_sandbox(false, &[], &[]).await;
    assert!(!c.sms_in_sandbox().await.unwrap());
}

/// The spend limit reads back as set, and a month's spend is its latest
/// datapoint; a month without one is `None`. (The account may hold this
/// case's datapoints from earlier runs: each run writes the same values.)
pub async fn this_months_sms_spend_is_its_latest_datapoint<C: DeliveryChannels, P: Seed>(
    c: &C,
    p: &P,
    now: Timestamp,
) {
    p.sms_spend_limit("25").await;
    assert_eq!(c.sms_spend_limit().await.unwrap().as_deref(), Some("25"));
    // A month that has no datapoint yet (its first instant is after `now`).
    let next_month = now + SignedDuration::from_hours(24 * 40);
    assert_eq!(c.sms_spent_this_month(next_month).await.unwrap(), None);
    // Last month's total counts in last month only.
    let last_month = now - SignedDuration::from_hours(24 * 35);
    p.sms_spent(30.0, last_month).await;
    assert_eq!(
        c.sms_spent_this_month(last_month + SignedDuration::from_mins(1))
            .await
            .unwrap(),
        Some(30.0)
    );
    let earlier = (now - SignedDuration::from_hours(2)).max(month_start(now));
    p.sms_spent(3.5, earlier).await;
    p.sms_spent(7.25, now).await;
    assert_eq!(c.sms_spent_this_month(now).await.unwrap(), Some(7.25));
}

fn month_start(now: Timestamp) -> Timestamp {
    let z = now.to_zoned(jiff::tz::TimeZone::UTC);
    z.first_of_month()
        .and_then(|d| d.start_of_day())
        .map_or(now, |d| d.timestamp())
}

/// An identity is found by its exact name; an unknown one is `None`.
pub async fn an_email_identity_is_found_by_name<C: DeliveryChannels, P: Seed>(
    c: &C,
    p: &P,
    u: &str,
) {
    let domain = format!("{u}.example.com");
    p.verified_email_identity(&domain).await;
    let found = c.email_identity(&domain).await.unwrap().expect("found");
    assert_eq!(found.name, domain);
    assert!(found.verified_for_sending || found.status.as_deref() == Some("SUCCESS"));
    assert_eq!(
        c.email_identity(&format!("pages@{u}.example.org"))
            .await
            .unwrap(),
        None
    );
}

/// Whether SES sends reads back as the account was set.
pub async fn ses_sending_reads_back<C: DeliveryChannels, P: Seed>(c: &C, p: &P) {
    p.ses_sending(false).await;
    assert!(!c.ses_account().await.unwrap().sending_enabled);
    p.ses_sending(true).await;
    assert!(c.ses_account().await.unwrap().sending_enabled);
}

/// A voice number reads back with its status; one the account does not
/// have is `None`.
pub async fn a_voice_number_reads_back_with_its_status<C: DeliveryChannels, P: Seed>(c: &C, p: &P) {
    let number = "+12065550142";
    p.voice_number(number, Some("ReleaseInProgress")).await;
    let found = c
        .voice_number(number)
        .await
        .unwrap()
        .expect("the account's");
    assert_eq!(found.status, "ReleaseInProgress");
    assert_ne!(found.outbound_call, Some(false));
    p.voice_number(number, None).await;
    assert_eq!(c.voice_number(number).await.unwrap(), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FakeDeliveryChannels;

    #[tokio::test]
    async fn the_fake_passes_the_contract() {
        let now: Timestamp = "2026-12-07T14:00:00Z".parse().unwrap();
        let c = FakeDeliveryChannels::default();
        the_sms_sandbox_lists_only_verified_numbers(&c, &c).await;
        this_months_sms_spend_is_its_latest_datapoint(&c, &c, now).await;
        an_email_identity_is_found_by_name(&c, &c, "u1").await;
        ses_sending_reads_back(&c, &c).await;
        a_voice_number_reads_back_with_its_status(&c, &c).await;
        // Early in a month, the window starts at the month's first instant.
        let early: Timestamp = "2026-12-01T00:30:00Z".parse().unwrap();
        let c = FakeDeliveryChannels::default();
        this_months_sms_spend_is_its_latest_datapoint(&c, &c, early).await;
    }
}
