//! [`DeliveryChannels`] over SNS, SESv2, CloudWatch and the Chime SDK.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::Statistic;
use jiff::{Timestamp, tz::TimeZone};

use super::{OnFirstUse, backend_error};
use klaxon_core::channels::{Identity, Origination, SesAccount, VoiceNumber};
use klaxon_ports::{BackendError, DeliveryChannels};

/// The account-wide SMS spend metric SNS publishes.
const SPEND_NAMESPACE: &str = "AWS/SNS";
const SPEND_METRIC: &str = "SMSMonthToDateSpentUSD";

/// The four clients the reads use, each built on its first read.
#[derive(Debug, Clone)]
pub struct AwsDeliveryChannels {
    sns: OnFirstUse<aws_sdk_sns::Client>,
    ses: OnFirstUse<aws_sdk_sesv2::Client>,
    cloudwatch: OnFirstUse<aws_sdk_cloudwatch::Client>,
    chime: OnFirstUse<aws_sdk_chimesdkvoice::Client>,
}

impl AwsDeliveryChannels {
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sns: OnFirstUse::new(sdk, aws_sdk_sns::Client::new),
            ses: OnFirstUse::new(sdk, aws_sdk_sesv2::Client::new),
            cloudwatch: OnFirstUse::new(sdk, aws_sdk_cloudwatch::Client::new),
            chime: OnFirstUse::new(sdk, aws_sdk_chimesdkvoice::Client::new),
        }
    }
}

impl DeliveryChannels for AwsDeliveryChannels {
    async fn origination_numbers(&self) -> Result<Vec<Origination>, BackendError> {
        let numbers = self
            .sns
            .list_origination_numbers()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| backend_error("SNS", "ListOriginationNumbers", e))?;
        Ok(numbers
            .iter()
            .map(|n| Origination {
                number: n.phone_number().unwrap_or_default().to_string(),
                status: n.status().unwrap_or_default().to_string(),
                capabilities: n
                    .number_capabilities()
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
            })
            .collect())
    }

    async fn sms_in_sandbox(&self) -> Result<bool, BackendError> {
        let out = self
            .sns
            .get_sms_sandbox_account_status()
            .send()
            .await
            .map_err(|e| backend_error("SNS", "GetSMSSandboxAccountStatus", e))?;
        Ok(out.is_in_sandbox())
    }

    async fn sms_sandbox_verified(&self) -> Result<Vec<String>, BackendError> {
        let numbers = self
            .sns
            .list_sms_sandbox_phone_numbers()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| backend_error("SNS", "ListSMSSandboxPhoneNumbers", e))?;
        Ok(numbers
            .iter()
            .filter(|n| n.status().is_some_and(|s| s.as_str() == "Verified"))
            .filter_map(|n| n.phone_number().map(str::to_string))
            .collect())
    }

    async fn sms_spend_limit(&self) -> Result<Option<String>, BackendError> {
        let out = self
            .sns
            .get_sms_attributes()
            .attributes("MonthlySpendLimit")
            .send()
            .await
            .map_err(|e| backend_error("SNS", "GetSMSAttributes", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("MonthlySpendLimit"))
            .cloned())
    }

    async fn sms_spent_this_month(&self, now: Timestamp) -> Result<Option<f64>, BackendError> {
        // SNS publishes the month's running total while it sends; a month's
        // first datapoint restarts from zero, so only this month's latest one
        // counts. Hourly maxima: a whole month is at most 744 datapoints,
        // under GetMetricStatistics' 1,440.
        let month_start = now
            .to_zoned(TimeZone::UTC)
            .first_of_month()
            .and_then(|d| d.start_of_day())
            .map(|d| d.timestamp())
            .unwrap_or(now);
        let out = self
            .cloudwatch
            .get_metric_statistics()
            .namespace(SPEND_NAMESPACE)
            .metric_name(SPEND_METRIC)
            .start_time(DateTime::from_millis(month_start.as_millisecond()))
            .end_time(DateTime::from_millis(now.as_millisecond() + 60_000))
            .period(3600)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .map_err(|e| backend_error("CloudWatch", "GetMetricStatistics", e))?;
        Ok(out
            .datapoints()
            .iter()
            .filter_map(|d| Some((d.timestamp()?.to_millis().ok()?, d.maximum()?)))
            .max_by_key(|(at, _)| *at)
            .map(|(_, usd)| usd))
    }

    async fn email_identity(&self, name: &str) -> Result<Option<Identity>, BackendError> {
        match self
            .ses
            .get_email_identity()
            .email_identity(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Identity {
                name: name.to_string(),
                verified_for_sending: out.verified_for_sending_status(),
                status: out.verification_status().map(|s| s.as_str().to_string()),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend_error("SES", "GetEmailIdentity", e)),
        }
    }

    async fn ses_account(&self) -> Result<SesAccount, BackendError> {
        let out = self
            .ses
            .get_account()
            .send()
            .await
            .map_err(|e| backend_error("SES", "GetAccount", e))?;
        Ok(SesAccount {
            sending_enabled: out.sending_enabled(),
            production_access: out.production_access_enabled(),
            enforcement: out.enforcement_status().map(str::to_string),
        })
    }

    async fn voice_number(&self, number: &str) -> Result<Option<VoiceNumber>, BackendError> {
        match self
            .chime
            .get_phone_number()
            .phone_number_id(number)
            .send()
            .await
        {
            Ok(out) => Ok(out.phone_number().map(|n| VoiceNumber {
                status: n
                    .status()
                    .map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string()),
                outbound_call: n.capabilities().and_then(|c| c.outbound_call()),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend_error("Chime SDK Voice", "GetPhoneNumber", e)),
        }
    }
}
