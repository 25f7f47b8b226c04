//! [`FakeDeliveryChannels`]: the account's delivery channels in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::{Timestamp, tz::TimeZone};

use crate::contract::channels::Seed;
use klaxon_core::channels::{Identity, Origination, SesAccount, VoiceNumber};
use klaxon_ports::{BackendError, DeliveryChannels};

/// What the fake account holds. Defaults: out of the SMS sandbox, no spend
/// limit set, SES sending with production access, nothing else.
#[derive(Debug, Clone)]
pub struct ChannelState {
    pub origination: Vec<Origination>,
    pub in_sandbox: bool,
    /// Sandbox numbers and whether each is verified.
    pub sandbox: Vec<(String, bool)>,
    pub spend_limit: Option<String>,
    /// `SMSMonthToDateSpentUSD` datapoints.
    pub spent: Vec<(Timestamp, f64)>,
    pub identities: BTreeMap<String, Identity>,
    pub ses: SesAccount,
    pub voice: BTreeMap<String, VoiceNumber>,
    /// Reads that fail, by operation name (`GetSMSSandboxAccountStatus`, ...).
    pub failing: BTreeMap<&'static str, BackendError>,
}

impl Default for ChannelState {
    fn default() -> Self {
        Self {
            origination: Vec::new(),
            in_sandbox: false,
            sandbox: Vec::new(),
            spend_limit: None,
            spent: Vec::new(),
            identities: BTreeMap::new(),
            ses: SesAccount {
                sending_enabled: true,
                production_access: true,
                enforcement: Some("HEALTHY".into()),
            },
            voice: BTreeMap::new(),
            failing: BTreeMap::new(),
        }
    }
}

/// The fake. Every read answers from [`ChannelState`] as the services do:
/// a missing identity or number is `None`, pending sandbox numbers are not
/// listed as verified, and only this month's spend counts.
#[derive(Debug, Default)]
pub struct FakeDeliveryChannels {
    state: Mutex<ChannelState>,
}

impl FakeDeliveryChannels {
    pub fn new(state: ChannelState) -> Self {
        Self {
            state: Mutex::new(state),
        }
    }

    /// Changes the account.
    pub fn update(&self, change: impl FnOnce(&mut ChannelState)) {
        change(&mut self.lock());
    }

    /// Makes `operation` fail with `error` from now on.
    pub fn fail(&self, operation: &'static str, error: BackendError) {
        self.lock().failing.insert(operation, error);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ChannelState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&ChannelState) -> T,
    ) -> Result<T, BackendError> {
        let state = self.lock();
        match state.failing.get(operation) {
            Some(e) => Err(e.clone()),
            None => Ok(f(&state)),
        }
    }
}

impl DeliveryChannels for FakeDeliveryChannels {
    async fn origination_numbers(&self) -> Result<Vec<Origination>, BackendError> {
        self.read("ListOriginationNumbers", |s| s.origination.clone())
    }

    async fn sms_in_sandbox(&self) -> Result<bool, BackendError> {
        self.read("GetSMSSandboxAccountStatus", |s| s.in_sandbox)
    }

    async fn sms_sandbox_verified(&self) -> Result<Vec<String>, BackendError> {
        self.read("ListSMSSandboxPhoneNumbers", |s| {
            s.sandbox
                .iter()
                .filter(|(_, verified)| *verified)
                .map(|(n, _)| n.clone())
                .collect()
        })
    }

    async fn sms_spend_limit(&self) -> Result<Option<String>, BackendError> {
        self.read("GetSMSAttributes", |s| s.spend_limit.clone())
    }

    async fn sms_spent_this_month(&self, now: Timestamp) -> Result<Option<f64>, BackendError> {
        let month = |t: Timestamp| {
            let z = t.to_zoned(TimeZone::UTC);
            (z.year(), z.month())
        };
        self.read("GetMetricStatistics", |s| {
            s.spent
                .iter()
                .filter(|(at, _)| *at <= now && month(*at) == month(now))
                .max_by_key(|(at, _)| *at)
                .map(|(_, usd)| *usd)
        })
    }

    async fn email_identity(&self, name: &str) -> Result<Option<Identity>, BackendError> {
        self.read("GetEmailIdentity", |s| s.identities.get(name).cloned())
    }

    async fn ses_account(&self) -> Result<SesAccount, BackendError> {
        self.read("GetAccount", |s| s.ses.clone())
    }

    async fn voice_number(&self, number: &str) -> Result<Option<VoiceNumber>, BackendError> {
        self.read("GetPhoneNumber", |s| s.voice.get(number).cloned())
    }
}

impl Seed for FakeDeliveryChannels {
    async fn sms_sandbox(&self, in_sandbox: bool, verified: &[&str], pending: &[&str]) {
        self.update(|s| {
            s.in_sandbox = in_sandbox;
            s.sandbox = verified
                .iter()
                .map(|n| (n.to_string(), true))
                .chain(pending.iter().map(|n| (n.to_string(), false)))
                .collect();
        });
    }

    async fn sms_spent(&self, usd: f64, at: Timestamp) {
        self.update(|s| s.spent.push((at, usd)));
    }

    async fn sms_spend_limit(&self, usd: &str) {
        self.update(|s| s.spend_limit = Some(usd.to_string()));
    }

    async fn verified_email_identity(&self, name: &str) {
        self.update(|s| {
            s.identities.insert(
                name.to_string(),
                Identity {
                    name: name.to_string(),
                    verified_for_sending: true,
                    status: Some("SUCCESS".into()),
                },
            );
        });
    }

    async fn ses_sending(&self, enabled: bool) {
        self.update(|s| s.ses.sending_enabled = enabled);
    }

    async fn voice_number(&self, number: &str, status: Option<&str>) {
        self.update(|s| match status {
            Some(status) => {
                s.voice.insert(
                    number.to_string(),
                    VoiceNumber {
                        status: status.to_string(),
                        outbound_call: Some(true),
                    },
                );
            }
            None => {
                s.voice.remove(number);
            }
        });
    }
}
