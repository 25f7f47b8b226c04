//! Delivering one page: claim it, count a call against its number's
//! limit, send it on its channel, and record it as sent (or why not).

use jiff::{SignedDuration, Timestamp};
use tracing::{info, warn};

use super::{Escalator, EscalatorPorts, SEND_MARGIN, Sent};
use crate::AppError;
use klaxon_core::email::page_email;
use klaxon_core::escalation::Step;
use klaxon_core::incident::{Channel, Incident, TimelineEntry, TimelineEvent};
use klaxon_core::paging::DEFAULT_LEASE_SECONDS;
use klaxon_core::phone::Phone;
use klaxon_core::rate_limit::VOICE_PER_NUMBER;
use klaxon_core::sms::page_text;
use klaxon_ports::{
    Allowance, BackendError, CallArguments, CallPurpose, ClaimOutcome, EmailSender, Incidents,
    PageClaim, Paging, PhoneCalls, RateLimits, SmsSender,
};

impl<P: EscalatorPorts> Escalator<'_, P> {
    /// Claims a page, sends it, and records it as sent: every page, the
    /// self-test sink's included, goes this way.
    pub(super) async fn page(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        claim: &PageClaim,
        name: &str,
        address: &str,
    ) -> Result<Sent, AppError> {
        let now = self.clock.now();
        let lease_until = self
            .deadline
            .unwrap_or(now + SignedDuration::from_secs(DEFAULT_LEASE_SECONDS));
        match self
            .paging
            .claim_page(&incident.id, claim, now, lease_until)
            .await?
        {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::AlreadySent => return Ok(Sent::Done),
            // Not sent yet, and maybe never: its run may have died after
            // claiming. Tried again once that run's lease has ended.
            ClaimOutcome::InFlight { lease_until } => {
                info!(incident = %incident.id, page = %claim.key(), %lease_until, "page claimed by another run; tried again after its lease");
                return Ok(Sent::Later(lease_until + SignedDuration::from_secs(1)));
            }
            ClaimOutcome::NotPaging(_) => return Ok(Sent::Stop),
        }
        if claim.channel == Channel::Voice
            && let Some(sent) = self
                .over_call_limit(incident, step, claim, name, address, lease_until)
                .await?
        {
            return Ok(sent);
        }
        // A run at the end of its lease (slow calls before this one) must
        // not send: once the lease ends another run may take the claim over
        // and send too. The claim lapses by itself; the step comes again.
        let now = self.clock.now();
        if now + self.send_timeout + SEND_MARGIN >= lease_until {
            warn!(incident = %incident.id, page = %claim.key(), "too close to this run's deadline to send; tried again after it");
            return Ok(Sent::Later(lease_until + SignedDuration::from_secs(1)));
        }
        let (sent, to) = self.send(incident, step, claim, address).await;
        let message_id = match sent {
            Ok(id) => id,
            Err(e) => {
                warn!(incident = %incident.id, person = %claim.person, channel = %claim.channel, error = %e, retryable = e.retryable, "page failed");
                // Not sent: recorded as failed, retried on its own schedule.
                let (failed, first) = if e.retryable {
                    let at = self.clock.now();
                    let failed = self
                        .paging
                        .fail_page(&incident.id, claim, lease_until, at, &e.to_string())
                        .await?;
                    let first = failed.as_ref().is_none_or(|f| f.attempts <= 1);
                    (Some(failed.map_or(at, |f| f.retry_at(&self.retry))), first)
                } else {
                    (None, true)
                };
                // The timeline says a page failed once, at its first failure;
                // the retries that follow are counted on the page (and
                // logged), and it ends `paged`, or given up with the count.
                // An hour's outage would otherwise write a dozen entries per
                // page.
                if !first {
                    return Ok(failed.map_or(Sent::Done, Sent::Later));
                }
                self.incidents
                    .append(
                        &incident.id,
                        &TimelineEntry::new(
                            self.clock.now(),
                            format!("page-failed#{}", claim.key()),
                            TimelineEvent::PageFailed {
                                step: step.index,
                                person: name.to_string(),
                                channel: claim.channel,
                                error: e.to_string(),
                            },
                        ),
                    )
                    .await?;
                // A permanent failure (a rejected address) is not retried:
                // it stays on the timeline as a failure.
                return Ok(failed.map_or(Sent::Done, Sent::Later));
            }
        };
        let entry = TimelineEntry::new(
            self.clock.now(),
            format!("page#{}", claim.key()),
            TimelineEvent::Paged {
                step: step.index,
                pass: step.pass,
                level: step.level,
                person: name.to_string(),
                channel: claim.channel,
                to: to.clone(),
                message_id: message_id.clone(),
            },
        );
        self.paging
            .complete_page(&incident.id, claim, &message_id, &entry)
            .await?;
        info!(
            incident = %incident.id,
            step = step.index,
            level = step.level,
            pass = step.pass,
            person = %claim.person,
            channel = %claim.channel,
            to = %to,
            message_id = %message_id,
            "paged"
        );
        Ok(Sent::Done)
    }

    /// Counts a call against its number's limit; when the limit is
    /// reached, gives the claim back (a later wake-up of the step may call)
    /// and says so on the timeline, once.
    async fn over_call_limit(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        claim: &PageClaim,
        name: &str,
        address: &str,
        lease_until: Timestamp,
    ) -> Result<Option<Sent>, AppError> {
        let Ok(number) = Phone::parse(address) else {
            return Ok(None); // refused as an address by send()
        };
        let token = format!("{}#{}", incident.id, claim.key());
        let now = self.clock.now();
        let Allowance::Limited { until } = self
            .limits
            .take(
                &format!("voice#{}", number.as_str()),
                &token,
                VOICE_PER_NUMBER,
                now,
            )
            .await?
        else {
            return Ok(None);
        };
        warn!(incident = %incident.id, to = %number.masked(), %until, "call not placed: rate limit");
        self.paging
            .release_page(&incident.id, claim, lease_until)
            .await?;
        self.incidents
            .append(
                &incident.id,
                &TimelineEntry::new(
                    now,
                    format!("ratelimited#{}", claim.key()),
                    TimelineEvent::Warning {
                        step: step.index,
                        message: format!(
                            "call to {name} at {} not placed: {} calls to that number in {} minutes already (next possible at {})",
                            number.masked(),
                            VOICE_PER_NUMBER.max,
                            VOICE_PER_NUMBER.window.as_mins(),
                            klaxon_core::time::iso(until)
                        ),
                    },
                ),
            )
            .await?;
        Ok(Some(Sent::Done))
    }

    /// Sends one page; returns the provider's message id (or why not) and
    /// the masked address for the timeline.
    async fn send(
        &self,
        incident: &Incident,
        step: &Step<'_>,
        claim: &PageClaim,
        address: &str,
    ) -> (Result<String, BackendError>, String) {
        match claim.channel {
            Channel::Sms => match Phone::parse(address) {
                Ok(phone) => (
                    self.sms.send_sms(&phone, &page_text(incident)).await,
                    phone.masked(),
                ),
                Err(e) => (Err(invalid_address(e)), String::new()),
            },
            Channel::Email => {
                let (subject, body) = page_email(incident);
                let result = match self.email {
                    Some(m) => m.send_email(address, &subject, &body).await,
                    None => Err(invalid_address("email is not configured".into())),
                };
                (result, mask_email(address))
            }
            Channel::Voice => match (Phone::parse(address), self.calls) {
                (Ok(phone), Some(calls)) => {
                    let arguments = CallArguments {
                        person: claim.person.clone(),
                        purpose: CallPurpose::Page {
                            incident_id: incident.id.clone(),
                            step: step.index,
                        },
                    };
                    (calls.place_call(&phone, &arguments).await, phone.masked())
                }
                (Err(e), _) => (Err(invalid_address(e)), String::new()),
                (_, None) => (
                    Err(invalid_address("voice is not configured".into())),
                    String::new(),
                ),
            },
            // Recorded, sent nowhere; and only for the self-test's own incidents.
            Channel::SelfTest if incident.self_test => (
                Ok(format!("self-test:{}:{:04}", incident.id, step.index)),
                "the self-test sink (nobody)".into(),
            ),
            Channel::SelfTest => (
                Err(invalid_address(
                    "the self-test sink takes only self-test incidents".into(),
                )),
                String::new(),
            ),
        }
    }
}

fn invalid_address(message: String) -> BackendError {
    BackendError {
        service: "Klaxon",
        operation: "page",
        message,
        retryable: false,
    }
}

/// `a***@example.com`: enough to recognise, not to harvest.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}
