//! Escalation steps: which level of which pass fires at step `n`, and when
//! the workflow should wake next within a level.
//!
//! A policy with `L` levels and `repeat = R` has `L * (R + 1)` steps. Step
//! `n` is level `n % L` of pass `n / L`. When a step fires, each target's
//! notification rules fire at their own delays; the workflow wakes for each
//! delay, and at the level's timeout moves to step `n + 1`; past the last
//! step it stops.

use super::policy::{EscalationPolicy, Level, Target};

/// A notification is due when its delay is at most this many seconds away:
/// the workflow's timers are not more precise than that.
pub const DUE_TOLERANCE_SECS: u32 = 1;

/// One step of an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    pub index: u32,
    /// 1-based pass through the policy.
    pub pass: u32,
    /// 1-based level number.
    pub level: u32,
    pub targets: &'a [Target],
    pub timeout_secs: u32,
    pub spec: &'a Level,
}

/// When the workflow should run again, seen from inside a fired level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake {
    /// Seconds from now.
    pub after_secs: u32,
    /// Whether that wake-up is the level's timeout (move to the next step),
    /// rather than another notification of this level.
    pub next_step: bool,
}

/// How long to hold paging for an alarm that fires again `window_secs` or
/// less after its OK resolved the previous incident (a flap); `None` when
/// it is not a flap.
pub fn flap_hold(
    window_secs: u32,
    resolved_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Option<u32> {
    if window_secs == 0 || now < resolved_at {
        return None;
    }
    let since = u32::try_from(now.duration_since(resolved_at).as_secs()).ok()?;
    (since < window_secs).then(|| window_secs - since)
}

/// Whether a notification `delay_secs` after the level fired is due
/// `elapsed_secs` after it fired.
pub fn is_due(delay_secs: u32, elapsed_secs: u32) -> bool {
    delay_secs <= elapsed_secs.saturating_add(DUE_TOLERANCE_SECS)
}

/// The next wake-up of a level that fired `elapsed_secs` ago, given the
/// delays of all its notifications and its timeout.
pub fn next_wake(
    delays: impl IntoIterator<Item = u32>,
    elapsed_secs: u32,
    timeout_secs: u32,
) -> Wake {
    let pending = delays
        .into_iter()
        .filter(|&d| !is_due(d, elapsed_secs) && d < timeout_secs)
        .min();
    match pending {
        Some(d) => Wake {
            after_secs: d - elapsed_secs,
            next_step: false,
        },
        None => Wake {
            after_secs: timeout_secs.saturating_sub(elapsed_secs),
            next_step: true,
        },
    }
}

/// How a page whose send failed with an error a retry may fix is retried:
/// `first` after its first failure, then each wait twice the last, up to
/// `max`; given up once it has been failing for `limit`. The stack's
/// template parameters (`PageRetryFirstSeconds`, `PageRetryMaxSeconds`,
/// `PageRetryMinutes`) set them; [`PageRetry::default`] is AWS's deployed
/// default: 10 s, 5 min, an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRetry {
    pub first: jiff::SignedDuration,
    pub max: jiff::SignedDuration,
    pub limit: jiff::SignedDuration,
}

impl Default for PageRetry {
    fn default() -> Self {
        Self {
            first: jiff::SignedDuration::from_secs(10),
            max: jiff::SignedDuration::from_mins(5),
            limit: jiff::SignedDuration::from_hours(1),
        }
    }
}

impl PageRetry {
    /// When a page that has failed `attempts` times, last at
    /// `last_failed_at`, is tried again.
    pub fn retry_at(&self, attempts: u32, last_failed_at: jiff::Timestamp) -> jiff::Timestamp {
        let doublings = attempts.saturating_sub(1).min(20);
        let wait = self
            .first
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max);
        last_failed_at + wait
    }

    /// Whether a page failing since `first_failed_at` is given up at `now`.
    pub fn exhausted(&self, first_failed_at: jiff::Timestamp, now: jiff::Timestamp) -> bool {
        now.duration_since(first_failed_at) >= self.limit
    }
}

/// The generation of an escalation execution (an ARN or a name): 0 for
/// the first, named after its incident; `n` for one restarted as
/// `<name>-g<n>` (incident ids have no lowercase letters).
pub fn generation(execution: &str) -> u32 {
    let name = execution.rsplit(':').next().unwrap_or(execution);
    name.rsplit_once("-g")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// The name suffix of generation `n` (none for the first).
pub fn generation_suffix(n: u32) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("-g{n}")
    }
}

/// Total steps the policy can take.
pub fn total_steps(policy: &EscalationPolicy) -> u32 {
    let levels = u32::try_from(policy.levels.len()).unwrap_or(u32::MAX);
    levels.saturating_mul(policy.repeat.saturating_add(1))
}

/// The step at `index`, or `None` once the policy is exhausted.
pub fn step(policy: &EscalationPolicy, index: u32) -> Option<Step<'_>> {
    if index >= total_steps(policy) {
        return None;
    }
    let levels = policy.levels.len() as u32;
    let level_index = (index % levels) as usize;
    let level = &policy.levels[level_index];
    Some(Step {
        index,
        pass: index / levels + 1,
        level: level_index as u32 + 1,
        targets: &level.targets,
        timeout_secs: level.timeout_secs(),
        spec: level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executions_generation_is_read_from_its_name() {
        let arn = "arn:aws:states:us-east-1:1:execution:k-escalation:20261207-22TM36";
        assert_eq!(generation(arn), 0);
        assert_eq!(generation(&format!("{arn}{}", generation_suffix(3))), 3);
        assert_eq!(generation("selftest-20261207-4NJ9HC-g12"), 12);
        assert_eq!(generation_suffix(0), "");
    }

    #[test]
    fn a_failing_page_is_retried_after_10_s_then_doubling_up_to_5_min() {
        let t: jiff::Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        let retry = PageRetry::default();
        let after = |attempts| retry.retry_at(attempts, t).duration_since(t).as_secs();
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7, 100].map(after),
            [10, 20, 40, 80, 160, 300, 300, 300]
        );
    }

    #[test]
    fn a_page_is_given_up_once_it_has_failed_for_the_limit() {
        let t: jiff::Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        let retry = PageRetry {
            first: jiff::SignedDuration::from_secs(1),
            max: jiff::SignedDuration::from_secs(15),
            limit: jiff::SignedDuration::from_mins(3),
        };
        let after = |attempts| retry.retry_at(attempts, t).duration_since(t).as_secs();
        assert_eq!([1, 2, 4, 5, 30].map(after), [1, 2, 8, 15, 15]);
        assert!(!retry.exhausted(t, t + jiff::SignedDuration::from_secs(179)));
        assert!(retry.exhausted(t, t + jiff::SignedDuration::from_secs(180)));
    }

    fn policy(repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            repeat,
            levels: vec![
                Level {
                    targets: vec![Target::Person("alice".into())],
                    timeout_minutes: Some(5),
                    timeout_seconds: None,
                },
                Level {
                    targets: vec![Target::Person("bob".into()), Target::Person("carol".into())],
                    timeout_minutes: None,
                    timeout_seconds: Some(30),
                },
            ],
        }
    }

    #[test]
    fn walks_levels_in_order_then_repeats() {
        let p = policy(1);
        assert_eq!(total_steps(&p), 4);
        let walk: Vec<(u32, u32, u32)> = (0..4)
            .map(|i| {
                let s = step(&p, i).unwrap();
                (s.pass, s.level, s.timeout_secs)
            })
            .collect();
        assert_eq!(walk, vec![(1, 1, 300), (1, 2, 30), (2, 1, 300), (2, 2, 30)]);
        assert_eq!(
            step(&p, 1).unwrap().targets[1],
            Target::Person("carol".into())
        );
    }

    #[test]
    fn stops_after_the_last_pass() {
        assert!(step(&policy(0), 2).is_none());
        assert!(step(&policy(1), 4).is_none());
        assert!(step(&policy(0), u32::MAX).is_none());
    }

    #[test]
    fn an_alarm_soon_after_its_ok_is_held_for_the_rest_of_the_window() {
        let ok: jiff::Timestamp = "2026-11-21T06:00:00Z".parse().unwrap();
        let at = |s: i64| ok + jiff::SignedDuration::from_secs(s);
        assert_eq!(flap_hold(600, ok, at(120)), Some(480));
        assert_eq!(flap_hold(600, ok, at(0)), Some(600));
        assert_eq!(flap_hold(600, ok, at(600)), None, "the window has passed");
        assert_eq!(flap_hold(0, ok, at(1)), None, "suppression is off");
        assert_eq!(flap_hold(600, ok, at(-5)), None, "clock skew: not a flap");
    }

    #[test]
    fn wakes_for_each_later_notification_then_for_the_timeout() {
        // email at 0, SMS at 120, voice at 600; level timeout 300.
        let delays = [0, 120, 600];
        assert_eq!(
            next_wake(delays, 0, 300),
            Wake {
                after_secs: 120,
                next_step: false
            }
        );
        assert_eq!(
            next_wake(delays, 120, 300),
            Wake {
                after_secs: 180,
                next_step: true
            }
        );
        // Woken a little early: the SMS is due anyway, next is the timeout.
        assert!(next_wake(delays, 119, 300).next_step);
        assert!(is_due(120, 119));
        assert!(!is_due(120, 100));
        // Woken late, past the timeout: move on at once.
        assert_eq!(
            next_wake(delays, 400, 300),
            Wake {
                after_secs: 0,
                next_step: true
            }
        );
    }
}
