//! Loading a large on-call configuration: 500 people, 100 schedules,
//! 50 services, 60 escalation policies and 80 routing rules, generated
//! deterministically below. Budget: ≤ 50 ms for `OncallConfig::from_yaml`
//! end to end (`config/load_validate`); `config/parse_raw` (YAML to
//! `RawConfig`, as `from_yaml` does it) and `config/from_raw` (validation
//! and compilation) show where the time goes. `config/resolve_policy`
//! resolves every level of a 3-level policy at one instant.
//! `config/numbering_plan` (with the `numbering-plan` feature, as
//! `scripts/bench.sh` runs it) is the check only the CLI's `validate` adds.
//!
//!     cargo bench -p klaxon-config --features numbering-plan --bench config

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use klaxon_config::{OncallConfig, RawConfig};
use klaxon_core::policy::Target;

const PEOPLE: usize = 500;
const TEAMS: usize = 20;
const SCHEDULES: usize = 100;
const SERVICES: usize = 50;
const POLICIES: usize = 60;
const RULES: usize = 80;

const ZONES: &[&str] = &[
    "Asia/Tokyo",
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "UTC",
    "Asia/Singapore",
    "Europe/Paris",
    "America/Chicago",
];

const DAYS: &[&str] = &["monday", "tue", "Wednesday", "thu", "friday", "sat", "sun"];

/// SplitMix64: a fixed sequence, so the file is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (bias irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `k` distinct values from `0..n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let v = self.below(n);
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

fn person(i: usize) -> String {
    format!("p{i:03}")
}

/// Five shapes of person, by `i % 5`: shorthands only; shorthands with
/// rules; labelled contact methods with rules; phone only; shorthands plus
/// an extra labelled SMS with rules. Rule delays stay under every level
/// timeout (≥ 5 min), so no "never happens" warnings.
fn people(y: &mut String) {
    y.push_str("people:\n");
    for i in 0..PEOPLE {
        let id = person(i);
        let zone = ZONES[i % ZONES.len()];
        let phone = format!("+1415555{i:04}");
        let email = format!("{id}@example.com");
        writeln!(y, "  {id}:\n    name: Person {i}\n    time_zone: {zone}").unwrap();
        match i % 5 {
            0 => writeln!(y, "    phone: \"{phone}\"\n    email: {email}").unwrap(),
            1 => writeln!(
                y,
                "    phone: \"{phone}\"\n    email: {email}\n    notification_rules:\n      high:\n        - {{channel: email, after_minutes: 0}}\n        - {{channel: sms, after_minutes: 2}}\n      low:\n        - {{channel: email}}"
            )
            .unwrap(),
            2 => writeln!(
                y,
                "    contact_methods:\n      - {{type: sms, address: \"{phone}\", label: work}}\n      - {{type: sms, address: \"+4477009{i:05}\", label: personal}}\n      - {{type: email, address: {email}}}\n    notification_rules:\n      high:\n        - {{channel: sms, contact: work}}\n        - {{channel: sms, contact: personal, after_minutes: 3}}\n      low:\n        - {{channel: email}}"
            )
            .unwrap(),
            3 => writeln!(y, "    phone: \"{phone}\"").unwrap(),
            _ => writeln!(
                y,
                "    phone: \"{phone}\"\n    email: {email}\n    contact_methods:\n      - {{type: sms, address: \"+8190123{i:05}\", label: backup}}\n    notification_rules:\n      high:\n        - {{channel: sms, contact: phone}}\n        - {{channel: email, after_seconds: 60}}\n        - {{channel: sms, contact: backup, after_minutes: 4}}\n      low:\n        - {{channel: email, after_minutes: 30}}"
            )
            .unwrap(),
        }
    }
}

fn teams(y: &mut String) {
    y.push_str("teams:\n");
    let per = PEOPLE / TEAMS;
    for t in 0..TEAMS {
        let members: Vec<String> = (t * per..(t + 1) * per).map(person).collect();
        writeln!(
            y,
            "  team{t:02}: {{name: Team {t}, members: [{}]}}",
            members.join(", ")
        )
        .unwrap();
    }
}

/// 1–3 layers each (daily, weekly or hourly; upper layers restricted or
/// ending),
/// 2–4 overrides a week apart, in civil or RFC 3339 form.
fn schedules(y: &mut String, rng: &mut Rng) {
    y.push_str("schedules:\n");
    for s in 0..SCHEDULES {
        let zone = ZONES[(s * 7) % ZONES.len()];
        writeln!(
            y,
            "  s{s:03}:\n    time_zone: {zone}\n    description: generated schedule {s}\n    layers:"
        )
        .unwrap();
        let layers = 1 + s % 3;
        for l in 0..layers {
            let kind = (s + l) % 3;
            writeln!(y, "      - name: layer{l}").unwrap();
            match kind {
                0 => writeln!(
                    y,
                    "        rotation: daily\n        handoff: \"{:02}:30\"",
                    rng.below(24)
                )
                .unwrap(),
                1 => writeln!(
                    y,
                    "        rotation: weekly\n        handoff: \"09:00\"\n        handoff_day: {}",
                    DAYS[rng.below(DAYS.len())]
                )
                .unwrap(),
                _ => writeln!(
                    y,
                    "        rotation: hourly\n        every: {}\n        handoff: \"07:00\"",
                    [4, 8, 12][rng.below(3)]
                )
                .unwrap(),
            }
            writeln!(
                y,
                "        start: 2026-{:02}-{:02}",
                1 + rng.below(10),
                1 + rng.below(28)
            )
            .unwrap();
            if s % 10 == 3 && l == 0 {
                y.push_str("        end: 2027-12-31\n");
            }
            if l > 0 && s % 4 != 0 {
                writeln!(y, "        time_zone: {}", ZONES[rng.below(ZONES.len())]).unwrap();
            }
            let n = 2 + rng.below(7);
            let participants: Vec<String> =
                rng.distinct(n, PEOPLE).into_iter().map(person).collect();
            writeln!(y, "        participants: [{}]", participants.join(", ")).unwrap();
            // Restrict the upper layers of some schedules.
            if l > 0 {
                match (s + l) % 4 {
                    0 => y.push_str(
                        "        restrictions: [{days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"17:00\"}]\n",
                    ),
                    1 => y.push_str("        restrictions: [{from: \"18:00\", to: \"09:00\"}]\n"),
                    2 => y.push_str(
                        "        restrictions:\n          - {from: \"08:00\", to: \"12:00\"}\n          - {days: [saturday, sunday], from: \"13:00\", to: \"24:00\"}\n",
                    ),
                    // Unrestricted but ending, so it never hides the
                    // layers below it for good (`validate` would warn).
                    _ => y.push_str("        end: 2027-06-30\n"),
                }
            }
        }
        y.push_str("    overrides:\n");
        for o in 0..2 + s % 3 {
            let who = person(rng.below(PEOPLE));
            let day = 1 + 7 * o;
            if o % 2 == 0 {
                writeln!(
                    y,
                    "      - {{person: {who}, from: \"2026-12-{day:02}T18:00\", to: \"2026-12-{:02}T09:00\"}}",
                    day + 1
                )
                .unwrap();
            } else {
                writeln!(
                    y,
                    "      - {{person: {who}, from: \"2026-12-{day:02}T01:00:00Z\", to: \"2026-12-{day:02}T13:30:00Z\"}}"
                )
                .unwrap();
            }
        }
    }
}

fn services(y: &mut String) {
    y.push_str("services:\n");
    for i in 0..SERVICES {
        writeln!(
            y,
            "  svc{i:02}:\n    name: Service {i}\n    escalation_policy: ep{i:02}"
        )
        .unwrap();
        if i % 3 != 2 {
            writeln!(y, "    team: team{:02}", i % TEAMS).unwrap();
        }
        match i % 5 {
            1 => y.push_str("    urgency: low\n"),
            2 => y.push_str("    auto_resolve: false\n    flapping_window_minutes: 15\n"),
            3 => y.push_str("    urgency: high\n"),
            _ => {}
        }
    }
}

/// 2–3 levels mixing schedules and people (both target forms), repeat 0–3.
/// Even-numbered policies have 3 levels, the first two on schedules.
fn policies(y: &mut String, rng: &mut Rng) {
    y.push_str("escalation_policies:\n");
    for p in 0..POLICIES {
        writeln!(y, "  ep{p:02}:\n    repeat: {}\n    levels:", p % 4).unwrap();
        let levels = if p % 2 == 0 { 3 } else { 2 };
        for l in 0..levels {
            let mut targets = Vec::new();
            if l < 2 {
                targets.push(format!("{{schedule: s{:03}}}", (p * 3 + l * 7) % SCHEDULES));
            }
            let extra = 1 + rng.below(2);
            for (k, who) in rng.distinct(extra, PEOPLE).into_iter().enumerate() {
                targets.push(if k == 0 {
                    person(who)
                } else {
                    format!("{{person: {}}}", person(who))
                });
            }
            let timeout = [5, 10, 15, 30][(p + l) % 4];
            writeln!(
                y,
                "      - targets: [{}]\n        timeout_minutes: {timeout}",
                targets.join(", ")
            )
            .unwrap();
        }
    }
}

/// Eight kinds of matcher, ten of each, all distinct.
fn routing(y: &mut String) {
    y.push_str(
        "routing:\n  default: {service: svc00, severity: SEV3}\n  insufficient_data: ignore\n  rules:\n",
    );
    const SEV: [&str; 4] = ["SEV1", "SEV2", "SEV3", "SEV4"];
    for i in 0..RULES {
        let svc = format!("svc{:02}", i % SERVICES);
        let sev = SEV[i % 4];
        writeln!(y, "    - name: rule{i:02}").unwrap();
        match i % 8 {
            0 => writeln!(y, "      match: {{alarm_name: \"app{i}-*-prod\"}}").unwrap(),
            1 => writeln!(
                y,
                "      match: {{alarm_name_regex: \"^batch-job{i}-[a-z]+-(late|failed)$\"}}"
            )
            .unwrap(),
            2 => writeln!(
                y,
                "      match:\n        namespace: AWS/RDS\n        dimensions: {{DBInstanceIdentifier: \"prod-db{i}-*\"}}"
            )
            .unwrap(),
            3 => writeln!(
                y,
                "      match:\n        namespace: \"AWS/*\"\n        metric_name: 5XXError\n        dimensions: {{ApiName: \"api{i}\", Stage: \"prod\"}}"
            )
            .unwrap(),
            4 => writeln!(
                y,
                "      match:\n        tags: {{team: \"team{i}\", env: \"prod*\"}}"
            )
            .unwrap(),
            5 => writeln!(
                y,
                "      match:\n        description: {{team: payments{i}}}\n        region: [ap-northeast-1, us-east-1]"
            )
            .unwrap(),
            6 => writeln!(
                y,
                "      match:\n        account: \"1234567890{:02}\"\n        alarm_name: \"*-{i}\"\n        alarm_name_regex: \"(?i)queue[0-9]+-depth\"",
                i % 100
            )
            .unwrap(),
            _ => writeln!(
                y,
                "      match:\n        description: {{Component: \"svc{i}*\", owner: \"[a-m]*\"}}\n        region: eu-west-1"
            )
            .unwrap(),
        }
        writeln!(y, "      service: {svc}\n      severity: {sev}").unwrap();
        if i % 8 == 7 {
            writeln!(y, "      urgency: low\n      policy: ep{:02}", 50 + i % 10).unwrap();
        }
    }
}

/// The whole file.
fn large_config() -> String {
    let mut rng = Rng(0x5EED_0003);
    let mut y = String::with_capacity(256 * 1024);
    y.push_str("# Generated by shared/config/benches/config.rs\nversion: 1\n\n");
    people(&mut y);
    teams(&mut y);
    schedules(&mut y, &mut rng);
    services(&mut y);
    policies(&mut y, &mut rng);
    routing(&mut y);
    y
}

/// YAML to `RawConfig` the way `from_yaml` does it (with field paths).
fn parse_raw(text: &str) -> RawConfig {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).expect("bench config parses")
}

fn benches(c: &mut Criterion) {
    let text = large_config();

    // Sanity: the file is valid, warning-free, and has what it says.
    let config = match OncallConfig::from_yaml(&text) {
        Ok(config) => config,
        Err(e) => panic!("generated config is invalid: {e}"),
    };
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let raw = &config.raw;
    assert_eq!(raw.people.len(), PEOPLE);
    assert_eq!(config.people.len(), PEOPLE);
    assert_eq!(raw.teams.len(), TEAMS);
    assert_eq!(raw.schedules.len(), SCHEDULES);
    assert_eq!(config.schedules.len(), SCHEDULES);
    assert_eq!(raw.services.len(), SERVICES);
    assert_eq!(raw.escalation_policies.len(), POLICIES);
    assert_eq!(raw.routing.rules.len(), RULES);
    assert_eq!(config.routing.rules().len(), RULES);
    let layers: Vec<usize> = raw.schedules.values().map(|s| s.layers.len()).collect();
    assert!(layers.iter().all(|n| (1..=3).contains(n)));
    assert!(layers.contains(&1) && layers.contains(&3));
    assert!(
        raw.schedules
            .values()
            .all(|s| (2..=4).contains(&s.overrides.len()))
    );
    let levels: Vec<usize> = raw
        .escalation_policies
        .values()
        .map(|p| p.levels.len())
        .collect();
    assert!(levels.iter().all(|n| (2..=3).contains(n)));
    assert_eq!(
        raw.people.values().filter(|p| p.phone.is_some()).count(),
        400
    );
    assert_eq!(
        raw.people
            .values()
            .filter(|p| p.notification_rules.is_some())
            .count(),
        300
    );
    assert_eq!(parse_raw(&text), *raw, "both parses agree");
    eprintln!(
        "config: {} bytes, {} lines, {} layers, {} overrides",
        text.len(),
        text.lines().count(),
        layers.iter().sum::<usize>(),
        raw.schedules
            .values()
            .map(|s| s.overrides.len())
            .sum::<usize>()
    );

    c.bench_function("config/load_validate", |b| {
        b.iter(|| OncallConfig::from_yaml(black_box(&text)).is_ok())
    });
    c.bench_function("config/parse_raw", |b| {
        b.iter(|| parse_raw(black_box(&text)).people.len())
    });
    c.bench_function("config/parse_raw_no_paths", |b| {
        b.iter(|| {
            serde_norway::from_str::<RawConfig>(black_box(&text))
                .expect("bench config parses")
                .people
                .len()
        })
    });
    // What `klaxon config validate` adds: every phone number against its
    // country's numbering plan (libphonenumber metadata; CLI only).
    #[cfg(feature = "numbering-plan")]
    {
        assert!(raw.numbering_plan_issues().is_empty());
        c.bench_function("config/numbering_plan", |b| {
            b.iter(|| black_box(raw).numbering_plan_issues().len())
        });
    }
    c.bench_function("config/from_raw", |b| {
        b.iter_batched(
            || raw.clone(),
            |raw| OncallConfig::from_raw(raw).is_ok(),
            BatchSize::LargeInput,
        )
    });

    // ep00: schedule, schedule + people, people. December 2026, when every
    // layer has started and no override runs, so the layers are walked.
    let policy = config.policy("ep00").expect("ep00");
    assert_eq!(policy.levels.len(), 3);
    assert!(matches!(policy.levels[0].targets[0], Target::Schedule(_)));
    let at: Timestamp = "2026-12-09T21:30:00Z".parse().unwrap();
    for level in &policy.levels {
        let r = config.resolve_level(level, at);
        assert!(!r.targets.is_empty() && r.warnings.is_empty(), "{r:?}");
    }
    assert!(
        policy.levels[..2].iter().all(|l| config
            .resolve_level(l, at)
            .targets
            .iter()
            .any(|t| t.via.is_some())),
        "both schedules have someone on call"
    );
    c.bench_function("config/resolve_policy", |b| {
        b.iter(|| {
            policy
                .levels
                .iter()
                .map(|level| config.resolve_level(level, black_box(at)).targets.len())
                .sum::<usize>()
        })
    });
}

criterion_group! {
    name = config;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(config);
