//! Validation: every problem in a parsed configuration, each with its
//! path, and the warnings that do not stop it from loading.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ConfigError, ConfigIssue, MAX_FLAPPING_MINUTES, MAX_REPEAT, MAX_TIMEOUT_SECONDS, OncallConfig,
    Profile, RawConfig, SCHEMA_VERSION,
};
use klaxon_core::incident::Channel;
use klaxon_core::policy::{EscalationPolicy, Target};
use klaxon_core::routing::{CompiledRouting, Urgency};
use klaxon_core::schedule::Schedule;

/// Collects problems with their full paths.
#[derive(Default)]
struct Issues(Vec<ConfigIssue>);

impl Issues {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue::new(path, message));
    }

    /// Adds problems reported relative to `base`.
    fn extend(&mut self, base: &str, relative: Vec<(String, String)>) {
        for (path, message) in relative {
            let path = match (base.is_empty(), path.is_empty()) {
                (_, true) => base.to_string(),
                (true, false) => path,
                (false, false) => format!("{base}.{path}"),
            };
            self.add(path, message);
        }
    }
}

impl OncallConfig {
    /// Validates an already-parsed configuration.
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let mut issues = Issues::default();
        let mut warnings = Issues::default();

        if raw.version != SCHEMA_VERSION {
            issues.add(
                "version",
                format!(
                    "unsupported version {}; this Klaxon reads version {SCHEMA_VERSION}",
                    raw.version
                ),
            );
        }

        // People.
        if raw.people.is_empty() {
            issues.add("people", "at least one person is required");
        }
        let mut people = BTreeMap::new();
        for (id, spec) in &raw.people {
            match Profile::compile(id, spec) {
                Ok(p) => {
                    people.insert(id.clone(), p);
                }
                Err(found) => issues.extend(&format!("people.{id}"), found),
            }
        }
        for (id, p) in &people {
            for urgency in [Urgency::High, Urgency::Low] {
                if p.rules(urgency).iter().any(|r| r.channel == Channel::Voice) {
                    warnings.add(
                        format!("people.{id}.notification_rules"),
                        "voice calls go out only from a stack deployed with VoiceFromNumber (an Amazon Chime SDK phone number); without one, each due call is a warning on the incident's timeline and the other rules still fire (klaxon doctor checks the stack)",
                    );
                    break;
                }
            }
        }
        let is_person = |id: &str| raw.people.contains_key(id);

        // Teams.
        for (tid, team) in &raw.teams {
            if team.name.trim().is_empty() {
                issues.add(format!("teams.{tid}.name"), "must not be empty");
            }
            for (i, m) in team.members.iter().enumerate() {
                if !is_person(m) {
                    issues.add(
                        format!("teams.{tid}.members[{i}]"),
                        format!("unknown person '{m}'"),
                    );
                }
            }
        }

        // Schedules.
        let mut schedules = BTreeMap::new();
        for (sid, spec) in &raw.schedules {
            match Schedule::compile(spec, &is_person) {
                Ok(s) => {
                    for (hidden, by, name) in s.hidden_layers() {
                        warnings.add(
                            format!("schedules.{sid}.layers[{hidden}]"),
                            format!(
                                "never on call: layers[{by}] ('{name}') comes later, has no restrictions and covers all of this layer's time; restrict, end or remove one of them"
                            ),
                        );
                    }
                    schedules.insert(sid.clone(), s);
                }
                Err(found) => issues.extend(&format!("schedules.{sid}"), found),
            }
        }

        // Escalation policies.
        if raw.escalation_policies.is_empty() {
            issues.add("escalation_policies", "at least one policy is required");
        }
        for (pid, policy) in &raw.escalation_policies {
            check_policy(
                &format!("escalation_policies.{pid}"),
                policy,
                &raw,
                &people,
                &mut issues,
                &mut warnings,
            );
        }

        // Services.
        if raw.services.is_empty() {
            issues.add("services", "at least one service is required");
        }
        for (sid, service) in &raw.services {
            let base = format!("services.{sid}");
            if !raw
                .escalation_policies
                .contains_key(&service.escalation_policy)
            {
                issues.add(
                    format!("{base}.escalation_policy"),
                    format!("unknown escalation policy '{}'", service.escalation_policy),
                );
            }
            if let Some(team) = &service.team
                && !raw.teams.contains_key(team)
            {
                issues.add(format!("{base}.team"), format!("unknown team '{team}'"));
            }
            if service.flapping_window_minutes.is_some()
                && service.flapping_window_seconds.is_some()
            {
                issues.add(
                    base.clone(),
                    "set flapping_window_minutes or flapping_window_seconds, not both",
                );
            } else if service.flapping_window_secs() > MAX_FLAPPING_MINUTES * 60 {
                issues.add(
                    format!("{base}.flapping_window_minutes"),
                    format!("{} s is more than one day", service.flapping_window_secs()),
                );
            }
        }

        for (sid, service) in &raw.services {
            if let Some(problem) = service.incident_manager.as_ref().and_then(|m| m.problem()) {
                issues.add(
                    format!("services.{sid}.incident_manager.response_plan_arn"),
                    problem,
                );
            }
        }

        // Notifications and the status page.
        for (nid, spec) in &raw.notifications {
            issues.extend(&format!("notifications.{nid}"), spec.problems(&raw));
        }
        if let Some(page) = &raw.status_page {
            if page.title.trim().is_empty() {
                issues.add("status_page.title", "must not be empty");
            }
            for (i, s) in page.services.iter().enumerate() {
                if !raw.services.contains_key(s) {
                    issues.add(
                        format!("status_page.services[{i}]"),
                        format!("unknown service '{s}'"),
                    );
                }
            }
        }

        // Routing.
        let routing = match CompiledRouting::compile(&raw.routing) {
            Ok(r) => Some(r),
            Err(found) => {
                issues.extend("routing", found);
                None
            }
        };
        let known_service = |path: String, name: &str, issues: &mut Issues| {
            if !raw.services.contains_key(name) {
                issues.add(path, format!("unknown service '{name}'"));
            }
        };
        known_service(
            "routing.default.service".into(),
            &raw.routing.default.service,
            &mut issues,
        );
        for (i, rule) in raw.routing.rules.iter().enumerate() {
            if let Some(service) = &rule.service {
                known_service(format!("routing.rules[{i}].service"), service, &mut issues);
            }
            if let Some(policy) = &rule.policy
                && !raw.escalation_policies.contains_key(policy)
            {
                issues.add(
                    format!("routing.rules[{i}].policy"),
                    format!("unknown escalation policy '{policy}'"),
                );
            }
        }

        match routing {
            Some(routing) if issues.0.is_empty() => Ok(Self {
                raw,
                people,
                schedules,
                routing,
                warnings: warnings.0,
            }),
            _ => Err(ConfigError { issues: issues.0 }),
        }
    }
}

/// Checks one escalation policy: timeouts, targets, reachability.
fn check_policy(
    base: &str,
    policy: &EscalationPolicy,
    raw: &RawConfig,
    people: &BTreeMap<String, Profile>,
    issues: &mut Issues,
    warnings: &mut Issues,
) {
    if policy.levels.is_empty() {
        issues.add(
            format!("{base}.levels"),
            "a policy needs at least one level",
        );
    }
    if policy.repeat > MAX_REPEAT {
        issues.add(
            format!("{base}.repeat"),
            format!("{} is more than the maximum of {MAX_REPEAT}", policy.repeat),
        );
    }
    // Everyone the policy could ever page (schedules: every participant).
    let mut reachable = false;
    let mut interrupts = false;
    // A target person with problems of their own is reported there; the
    // reachability check would only repeat it.
    let mut incomplete = false;
    for (li, level) in policy.levels.iter().enumerate() {
        let lpath = format!("{base}.levels[{li}]");
        match (level.timeout_minutes, level.timeout_seconds) {
            (Some(_), Some(_)) => issues.add(
                lpath.clone(),
                "set timeout_minutes or timeout_seconds, not both",
            ),
            (None, None) => issues.add(
                format!("{lpath}.timeout_minutes"),
                "is required (minutes before the next level)",
            ),
            _ => {
                let secs = level.timeout_secs();
                if secs == 0 || secs > MAX_TIMEOUT_SECONDS {
                    issues.add(
                        lpath.clone(),
                        format!("timeout must be between 1 second and 24 hours, got {secs} s"),
                    );
                }
            }
        }
        if level.targets.is_empty() {
            issues.add(
                format!("{lpath}.targets"),
                "a level needs at least one target",
            );
        }
        let mut seen = BTreeSet::new();
        for (ti, target) in level.targets.iter().enumerate() {
            let tpath = format!("{lpath}.targets[{ti}]");
            if !seen.insert(target) {
                issues.add(
                    tpath.clone(),
                    format!("{target} is listed twice in this level"),
                );
            }
            let ids: Vec<&str> = match target {
                Target::Person(id) => {
                    if !raw.people.contains_key(id) {
                        issues.add(tpath, format!("unknown person '{id}'"));
                        // Whether anyone is reachable is unknown until
                        // the target is fixed: say nothing about it.
                        incomplete = true;
                        continue;
                    }
                    vec![id.as_str()]
                }
                Target::Schedule(sid) => match raw.schedules.get(sid) {
                    None => {
                        issues.add(tpath, format!("unknown schedule '{sid}'"));
                        incomplete = true;
                        continue;
                    }
                    Some(spec) => spec
                        .layers
                        .iter()
                        .flat_map(|l| l.participants.iter())
                        .chain(spec.overrides.iter().map(|o| &o.person))
                        .map(String::as_str)
                        .collect(),
                },
            };
            for id in ids {
                let Some(p) = people.get(id) else {
                    incomplete = true;
                    continue;
                };
                reachable |= !p.rules(Urgency::High).is_empty();
                interrupts |= p
                    .rules(Urgency::High)
                    .iter()
                    .any(|r| r.channel.interrupts());
                for r in p.rules(Urgency::High) {
                    let timeout = level.timeout_secs();
                    if timeout > 0 && r.after_secs >= timeout {
                        warnings.add(
                            lpath.clone(),
                            format!(
                                "{id}'s {} notification {} s after the level fires never happens here: the level times out after {timeout} s",
                                r.channel, r.after_secs
                            ),
                        );
                    }
                }
            }
        }
    }
    if incomplete {
        return;
    }
    if !policy.levels.is_empty() && !reachable {
        issues.add(
            base,
            "nobody in this policy can be notified: no target person has a usable contact method",
        );
    } else if !policy.levels.is_empty() && !interrupts {
        warnings.add(
            base,
            "nobody in this policy is paged by SMS or voice at high urgency (email only)",
        );
    }
}
