//! Escalation steps: which level of which pass fires at step `n`.
//!
//! A policy with `L` levels and `repeat = R` has `L * (R + 1)` steps. Step
//! `n` is level `n % L` of pass `n / L`. After paging a step, the escalation
//! waits that level's timeout and moves to step `n + 1`; past the last step
//! it stops.

use crate::config::EscalationPolicy;

/// One step of an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    pub index: u32,
    /// 1-based pass through the policy.
    pub pass: u32,
    /// 1-based level number.
    pub level: u32,
    pub targets: &'a [String],
    pub timeout_secs: u32,
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Level;

    fn policy(repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            repeat,
            levels: vec![
                Level {
                    targets: vec!["alice".into()],
                    timeout_minutes: Some(5),
                    timeout_seconds: None,
                },
                Level {
                    targets: vec!["bob".into(), "carol".into()],
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
        assert_eq!(step(&p, 1).unwrap().targets, ["bob", "carol"]);
    }

    #[test]
    fn stops_after_the_last_pass() {
        assert!(step(&policy(0), 2).is_none());
        assert!(step(&policy(1), 4).is_none());
        assert!(step(&policy(0), u32::MAX).is_none());
    }
}
