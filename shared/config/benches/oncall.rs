//! "Who is on call now" for a realistic schedule: 3 layers × 10 people in
//! three time zones (one layer restricted to office hours) and 50
//! overrides. Budget: ≤ 10 µs per query, `until` included.
//!
//!     cargo bench -p klaxon-config --bench oncall

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use klaxon_core::schedule::{Schedule, ScheduleSpec, Source};

fn people(prefix: &str) -> String {
    (0..10)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The schedule, lowest layer first: a weekly Tokyo base, a 12-hourly New
/// York layer from December, a daily Berlin office-hours layer on top; plus
/// 50 one-hour overrides every 3 days.
fn spec() -> ScheduleSpec {
    let mut yaml = format!(
        r#"
time_zone: Asia/Tokyo
layers:
  - {{name: base, rotation: weekly, handoff_day: monday, handoff: "10:00", start: 2026-01-05, participants: [{}]}}
  - {{name: us, rotation: hourly, every: 12, handoff: "07:30", start: 2026-12-01, time_zone: America/New_York, participants: [{}]}}
  - name: office
    rotation: daily
    start: 2026-01-01
    time_zone: Europe/Berlin
    participants: [{}]
    restrictions:
      - {{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}}
overrides:
"#,
        people("jp"),
        people("us"),
        people("eu")
    );
    let first: Timestamp = "2026-01-02T03:00:00Z".parse().unwrap();
    for i in 0..50 {
        let from = first + SignedDuration::from_hours(72 * i);
        let to = from + SignedDuration::from_hours(1);
        writeln!(
            yaml,
            "  - {{person: jp{}, from: \"{from}\", to: \"{to}\"}}",
            i % 10
        )
        .unwrap();
    }
    serde_norway::from_str(&yaml).expect("bench schedule parses")
}

fn benches(c: &mut Criterion) {
    let is_person = |id: &str| ["jp", "eu", "us"].iter().any(|p| id.starts_with(p));
    let schedule = Schedule::compile(&spec(), &is_person).expect("bench schedule compiles");

    // Wednesday 22:30 in Berlin, November: the office layer is closed and
    // the New York one not started, so all three layers are evaluated and
    // the base wins (the slowest case); the next override is days away.
    let night: Timestamp = "2026-11-18T21:30:00Z".parse().unwrap();
    let answer = schedule.on_call(night);
    assert!(matches!(answer.source, Source::Layer { name: "base", .. }));
    assert!(answer.until.is_some());
    c.bench_function("oncall/now_three_layers", |b| {
        b.iter(|| schedule.on_call(black_box(night)))
    });

    // Wednesday 10:30 in Berlin: the office layer (top, restricted) wins.
    let now: Timestamp = "2026-11-18T09:30:00Z".parse().unwrap();
    let answer = schedule.on_call(now);
    assert!(matches!(
        answer.source,
        Source::Layer { name: "office", .. }
    ));
    c.bench_function("oncall/now_office", |b| {
        b.iter(|| schedule.on_call(black_box(now)))
    });

    // 1000 instants spread over 2026 (every 8 h 45 min 17 s): overrides,
    // gaps, every layer winning, DST days.
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let instants: Vec<Timestamp> = (0..1000)
        .map(|i| start + SignedDuration::from_secs(31_517 * i))
        .collect();
    c.bench_function("oncall/sweep_1000", |b| {
        b.iter(|| {
            instants
                .iter()
                .filter(|&&at| schedule.on_call(black_box(at)).person.is_some())
                .count()
        })
    });

    let week = now + SignedDuration::from_hours(24 * 7);
    c.bench_function("oncall/shifts_week", |b| {
        b.iter(|| schedule.shifts(black_box(now), black_box(week)).len())
    });
}

criterion_group! {
    name = oncall;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(oncall);
