//! The delivery channels (SMS origination number, sandbox and spend, the
//! email sender and SES account, the voice number): the same reads and
//! decisions the scheduled self-test fails on (`klaxon_app::channels`),
//! shown as checks. A read the account refused is a warning here: doctor
//! says what it could not check.

use jiff::Timestamp;
use klaxon_app::channels::{self, StackChannels};
use klaxon_config::OncallConfig;
use klaxon_core::channels::{Finding, Health};

use super::{Check, Clients, Status};

pub(super) async fn checks(
    clients: &Clients,
    stack: &StackChannels,
    config: Option<&OncallConfig>,
    now: Timestamp,
) -> Vec<Check> {
    channels::check(&clients.channels, stack, config, now)
        .await
        .into_iter()
        .map(check)
        .collect()
}

fn check(finding: Finding) -> Check {
    Check {
        name: finding.check.to_string(),
        status: match finding.health {
            Health::Ok => Status::Ok,
            Health::Warning | Health::Unchecked => Status::Warning,
            Health::Problem => Status::Problem,
        },
        message: finding.message,
        fix: finding.fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_that_could_not_be_read_is_a_warning_and_a_broken_one_a_problem() {
        let unchecked = Finding::unchecked("sms-sandbox", "the SMS sandbox", "boom", "retry");
        let c = check(unchecked);
        assert_eq!(c.status, Status::Warning);
        assert_eq!(c.message, "could not check the SMS sandbox: boom");
        assert_eq!(c.fix.as_deref(), Some("retry"));
        let broken = Finding::problem("voice-number", "gone", "order one");
        assert_eq!(check(broken).status, Status::Problem);
        assert_eq!(check(Finding::ok("ses-account", "fine")).status, Status::Ok);
    }
}
