//! What the account says about each delivery channel: the reads behind
//! `klaxon doctor`'s messaging checks and the self-test's channel checks.
//! None of them sends anything.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;
use klaxon_core::channels::{Identity, Origination, SesAccount, VoiceNumber};

/// Reads of SNS (SMS), SES (email) and the Chime SDK (voice). In AWS one
/// adapter over the three SDK clients and CloudWatch; every read is a
/// `Get`/`List` call that pages nobody.
pub trait DeliveryChannels: Send + Sync {
    /// SNS `ListOriginationNumbers`, every page.
    fn origination_numbers(
        &self,
    ) -> impl Future<Output = Result<Vec<Origination>, BackendError>> + Send;

    /// SNS `GetSMSSandboxAccountStatus`: whether only verified numbers
    /// receive SMS.
    fn sms_in_sandbox(&self) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// SNS `ListSMSSandboxPhoneNumbers`, every page: the numbers whose
    /// status is `Verified` (pending ones receive nothing).
    fn sms_sandbox_verified(
        &self,
    ) -> impl Future<Output = Result<Vec<String>, BackendError>> + Send;

    /// SNS `GetSMSAttributes` `MonthlySpendLimit`, as stored (`None` when
    /// not set).
    fn sms_spend_limit(&self) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// This calendar month's SMS spend so far (UTC), in USD: the latest
    /// `AWS/SNS SMSMonthToDateSpentUSD` of the month up to `now`; `None`
    /// when there is no datapoint this month.
    fn sms_spent_this_month(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<f64>, BackendError>> + Send;

    /// SESv2 `GetEmailIdentity`; `None` when the identity does not exist.
    fn email_identity(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Identity>, BackendError>> + Send;

    /// SESv2 `GetAccount`.
    fn ses_account(&self) -> impl Future<Output = Result<SesAccount, BackendError>> + Send;

    /// Chime SDK Voice `GetPhoneNumber` (its id is the E.164 number);
    /// `None` when the account has no such number.
    fn voice_number(
        &self,
        number: &str,
    ) -> impl Future<Output = Result<Option<VoiceNumber>, BackendError>> + Send;
}
