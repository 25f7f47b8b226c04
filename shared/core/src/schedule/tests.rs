//! Behaviour tests for schedules: DST handoffs, rotations, restrictions,
//! overrides, follow-the-sun, validation, and property tests.

use jiff::Timestamp;

use super::*;

const PEOPLE: [&str; 8] = ["a", "b", "c", "d", "e", "f", "aiko", "ben"];

fn is_person(id: &str) -> bool {
    PEOPLE.contains(&id) || id == "chloe"
}

fn spec(yaml: &str) -> ScheduleSpec {
    serde_norway::from_str(yaml).unwrap()
}

fn schedule(yaml: &str) -> Schedule {
    Schedule::compile(&spec(yaml), &is_person).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn who<'a>(schedule: &'a Schedule, at: &str) -> Option<&'a str> {
    schedule.on_call(ts(at)).person
}

fn second_before(at: &str) -> String {
    (ts(at) - jiff::SignedDuration::from_secs(1)).to_string()
}

/// The handoff instants of `schedule` in `[from, to)`.
fn handoffs(schedule: &Schedule, from: &str, to: &str) -> Vec<String> {
    schedule
        .shifts(ts(from), ts(to))
        .iter()
        .skip(1)
        .map(|s| s.start.to_string())
        .collect()
}

#[test]
fn daily_handoffs_around_dst_changes_happen_at_exact_instants() {
    // (zone, local handoff, start date, expected handoffs in UTC). Each
    // rotation is [a, b], so the person alternates at every handoff.
    let cases = [
        // New York spring forward 2026-03-08: 02:30 does not exist → 03:30 EDT.
        (
            "America/New_York",
            "02:30",
            "2026-03-07",
            ["2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"],
        ),
        // New York fall back 2026-11-01: 02:30 is after the fold (EST); the
        // shift before is 25 h.
        (
            "America/New_York",
            "02:30",
            "2026-10-31",
            ["2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"],
        ),
        // New York fall back: 01:30 is ambiguous → the earlier (EDT).
        (
            "America/New_York",
            "01:30",
            "2026-10-31",
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
        ),
        // Berlin spring forward 2026-03-29: 02:30 does not exist → 03:30 CEST.
        (
            "Europe/Berlin",
            "02:30",
            "2026-03-28",
            ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"],
        ),
        // Berlin fall back 2026-10-25: 02:30 is ambiguous → the earlier (CEST).
        (
            "Europe/Berlin",
            "02:30",
            "2026-10-24",
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
        ),
    ];
    for (zone, handoff, start, expected) in cases {
        let s = schedule(&format!(
            "time_zone: {zone}\nlayers:\n  - {{name: l, rotation: daily, handoff: \"{handoff}\", start: {start}, participants: [a, b]}}\n"
        ));
        let day_after_start = format!("{start}T12:00:00Z");
        let end = ts(expected[1]) + jiff::SignedDuration::from_hours(1);
        assert_eq!(
            handoffs(&s, &day_after_start, &end.to_string()),
            expected,
            "{zone} {handoff} from {start}"
        );
        for (i, at) in expected.iter().enumerate() {
            let (before, after) = if i == 0 { ("a", "b") } else { ("b", "a") };
            assert_eq!(
                who(&s, &second_before(at)),
                Some(before),
                "{zone} before {at}"
            );
            assert_eq!(who(&s, at), Some(after), "{zone} at {at}");
        }
        assert_eq!(s.on_call(ts(expected[0])).until, Some(ts(expected[1])));
    }
}

#[test]
fn hourly_handoff_in_a_dst_gap_gives_an_empty_shift() {
    // 2026-03-08 in New York: 01:30 EST, 02:30 (→ 03:30 EDT), 03:30 EDT.
    // The 02:30 shift starts when the 03:30 one does, so it is empty.
    let s = schedule(
        "time_zone: America/New_York\nlayers:\n  - {name: l, rotation: hourly, handoff: \"00:30\", start: 2026-03-08, participants: [a, b, c]}\n",
    );
    let shifts = s.shifts(ts("2026-03-08T06:00:00Z"), ts("2026-03-08T09:00:00Z"));
    let got: Vec<(String, Option<&str>)> = shifts
        .iter()
        .map(|s| (s.start.to_string(), s.person))
        .collect();
    // Shift k starts at 00:30 + k h: k=0 00:30 EST (a), k=1 01:30 EST (b),
    // k=2 02:30 (c, empty), k=3 03:30 EDT (a), k=4 04:30 EDT (b).
    assert_eq!(
        got,
        [
            ("2026-03-08T06:00:00Z".to_string(), Some("a")),
            ("2026-03-08T06:30:00Z".to_string(), Some("b")),
            ("2026-03-08T07:30:00Z".to_string(), Some("a")),
            ("2026-03-08T08:30:00Z".to_string(), Some("b")),
        ]
    );
}

#[test]
fn tokyo_daily_rotation_hands_off_at_nine_every_day() {
    let s = schedule(
        "time_zone: Asia/Tokyo\nlayers:\n  - {name: jp, rotation: daily, start: 2026-11-02, participants: [aiko, ben, chloe]}\n",
    );
    // 09:00 JST = 00:00 UTC; no DST.
    let cases = [
        ("2026-11-01T23:59:59Z", None),
        ("2026-11-02T00:00:00Z", Some("aiko")),
        ("2026-11-02T23:59:59Z", Some("aiko")),
        ("2026-11-03T00:00:00Z", Some("ben")),
        ("2026-11-04T12:00:00Z", Some("chloe")),
        ("2026-11-05T00:00:00Z", Some("aiko")),
        ("2027-03-29T00:00:00Z", Some("aiko")), // 147 days later: 147 % 3 == 0
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), expected, "at {at}");
    }
    let before = s.on_call(ts("2026-11-01T00:00:00Z"));
    assert_eq!(before.source, Source::Nobody);
    assert_eq!(before.until, Some(ts("2026-11-02T00:00:00Z")));
    assert_eq!(
        s.on_call(ts("2026-11-03T05:00:00Z")).until,
        Some(ts("2026-11-04T00:00:00Z"))
    );
}

#[test]
fn one_participant_is_always_on_call_and_only_restrictions_end_the_answer() {
    // Defined behaviour: handoffs to the same person are not changes, so
    // `until` is None without restrictions, else the next window edge.
    let s = schedule(
        "time_zone: UTC\nlayers:\n  - {name: solo, rotation: daily, start: 2026-01-01, participants: [a]}\n",
    );
    for at in [
        "2026-01-01T09:00:00Z",
        "2026-06-01T00:00:00Z",
        "2099-12-31T23:00:00Z",
    ] {
        let now = s.on_call(ts(at));
        assert_eq!(now.person, Some("a"));
        assert_eq!(now.until, None, "at {at}");
    }
    let s = schedule(
        "time_zone: UTC\nlayers:\n  - name: solo\n    rotation: daily\n    start: 2026-01-01\n    participants: [a]\n    restrictions: [{from: \"08:00\", to: \"20:00\"}]\n",
    );
    let now = s.on_call(ts("2026-03-02T10:00:00Z"));
    assert_eq!(now.person, Some("a"));
    assert_eq!(now.until, Some(ts("2026-03-02T20:00:00Z")));
    let night = s.on_call(ts("2026-03-02T21:00:00Z"));
    assert_eq!(night.person, None);
    assert_eq!(night.until, Some(ts("2026-03-03T08:00:00Z")));
}

#[test]
fn repeated_participant_hands_off_only_when_the_person_changes() {
    let s = schedule(
        "time_zone: UTC\nlayers:\n  - {name: l, rotation: daily, handoff: \"00:00\", start: 2026-01-01, participants: [a, a, b]}\n",
    );
    let now = s.on_call(ts("2026-01-01T12:00:00Z"));
    assert_eq!(now.person, Some("a"));
    assert_eq!(now.until, Some(ts("2026-01-03T00:00:00Z")));
    assert_eq!(
        s.on_call(ts("2026-01-03T12:00:00Z")).until,
        Some(ts("2026-01-04T00:00:00Z"))
    );
}

#[test]
fn weekly_rotation_starting_on_a_wednesday_first_hands_off_the_next_monday() {
    // 2026-11-04 is a Wednesday; first handoff Monday 2026-11-09 09:00 CET.
    let s = schedule(
        "time_zone: Europe/Berlin\nlayers:\n  - {name: w, rotation: weekly, handoff_day: Monday, start: 2026-11-04, participants: [a, b]}\n",
    );
    let before = s.on_call(ts("2026-11-05T10:00:00Z"));
    assert_eq!(before.person, None);
    assert_eq!(before.until, Some(ts("2026-11-09T08:00:00Z")));
    let cases = [
        ("2026-11-09T07:59:59Z", None),
        ("2026-11-09T08:00:00Z", Some("a")),
        ("2026-11-16T07:59:59Z", Some("a")),
        ("2026-11-16T08:00:00Z", Some("b")),
        ("2026-11-23T08:00:00Z", Some("a")),
        // Summer time: 09:00 CEST = 07:00 UTC. 2027-04-05 is week 21 → b.
        ("2027-04-05T06:59:59Z", Some("a")),
        ("2027-04-05T07:00:00Z", Some("b")),
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), expected, "at {at}");
    }
    // `mon` and the default weekday (that of `start`) work too.
    let short = schedule(
        "time_zone: Europe/Berlin\nlayers:\n  - {name: w, rotation: weekly, handoff_day: mon, start: 2026-11-04, participants: [a, b]}\n",
    );
    assert_eq!(who(&short, "2026-11-09T08:00:00Z"), Some("a"));
    let default = schedule(
        "time_zone: Europe/Berlin\nlayers:\n  - {name: w, rotation: weekly, start: 2026-11-04, participants: [a, b]}\n",
    );
    assert_eq!(who(&default, "2026-11-04T08:00:00Z"), Some("a"));
    assert_eq!(who(&default, "2026-11-11T08:00:00Z"), Some("b"));
}

#[test]
fn hourly_every_twelve_and_daily_every_three() {
    let s = schedule(
        "time_zone: UTC\nlayers:\n  - {name: half, rotation: hourly, every: 12, handoff: \"08:00\", start: 2026-01-01, participants: [a, b]}\n",
    );
    let cases = [
        ("2026-01-01T08:00:00Z", Some("a")),
        ("2026-01-01T19:59:59Z", Some("a")),
        ("2026-01-01T20:00:00Z", Some("b")),
        ("2026-01-02T08:00:00Z", Some("a")),
        ("2026-01-02T20:00:00Z", Some("b")),
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), expected, "every 12 h at {at}");
    }
    let s = schedule(
        "time_zone: UTC\nlayers:\n  - {name: three, rotation: daily, every: 3, handoff: \"10:00\", start: 2026-01-01, participants: [a, b, c]}\n",
    );
    let cases = [
        ("2026-01-01T10:00:00Z", Some("a")),
        ("2026-01-04T09:59:59Z", Some("a")),
        ("2026-01-04T10:00:00Z", Some("b")),
        ("2026-01-07T10:00:00Z", Some("c")),
        ("2026-01-10T10:00:00Z", Some("a")),
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), expected, "every 3 days at {at}");
    }
    assert_eq!(
        s.on_call(ts("2026-01-05T00:00:00Z")).until,
        Some(ts("2026-01-07T10:00:00Z"))
    );
}

const BUSINESS_HOURS_OVER_24X7: &str = r#"
time_zone: Europe/Berlin
layers:
  - {name: base, rotation: weekly, handoff_day: monday, start: 2026-11-02, participants: [a, b]}
  - name: office
    rotation: daily
    start: 2026-11-02
    participants: [c, d]
    restrictions:
      - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
"#;

#[test]
fn restricted_layer_wins_inside_its_windows_only() {
    let s = schedule(BUSINESS_HOURS_OVER_24X7);
    // Times in UTC; Berlin is UTC+1 in November. 2026-11-02 is a Monday.
    let cases = [
        ("2026-11-02T08:30:00Z", Some("c"), "office"), // Mon 09:30
        ("2026-11-02T16:59:59Z", Some("c"), "office"),
        ("2026-11-02T17:00:00Z", Some("a"), "base"), // Mon 18:00
        ("2026-11-03T07:59:59Z", Some("a"), "base"), // Tue 08:59:59
        ("2026-11-03T08:00:00Z", Some("d"), "office"),
        ("2026-11-07T10:00:00Z", Some("a"), "base"), // Saturday
        ("2026-11-09T10:00:00Z", Some("d"), "office"), // Mon, day 7 of office
    ];
    for (at, person, layer) in cases {
        let now = s.on_call(ts(at));
        assert_eq!(now.person, person, "at {at}");
        assert!(
            matches!(now.source, Source::Layer { name, .. } if name == layer),
            "at {at}: {:?}",
            now.source
        );
    }
    assert_eq!(who(&s, "2026-11-09T18:00:00Z"), Some("b"));
    // Inside a window: until its end. Outside: until the next window start.
    assert_eq!(
        s.on_call(ts("2026-11-02T10:00:00Z")).until,
        Some(ts("2026-11-02T17:00:00Z"))
    );
    assert_eq!(
        s.on_call(ts("2026-11-06T20:00:00Z")).until,
        Some(ts("2026-11-09T08:00:00Z")),
        "Friday night lasts until base hands off Monday 09:00, when office starts too"
    );
    assert_eq!(
        s.on_call(ts("2026-11-07T20:00:00Z")).until,
        Some(ts("2026-11-09T08:00:00Z"))
    );
}

#[test]
fn windows_crossing_midnight_belong_to_the_day_they_start_on() {
    let s = schedule(
        r#"
time_zone: UTC
layers:
  - {name: base, rotation: daily, start: 2026-01-01, participants: [a]}
  - name: night
    rotation: daily
    start: 2026-01-01
    participants: [b]
    restrictions:
      - {days: [fri], from: "22:00", to: "06:00"}
      - {days: [sunday], from: "20:00", to: "08:00"}
      - {days: [wed], from: "18:00", to: "24:00"}
"#,
    );
    // 2026-01-09 is a Friday.
    let cases = [
        ("2026-01-09T21:59:59Z", "a"),
        ("2026-01-09T22:00:00Z", "b"),
        ("2026-01-10T05:59:59Z", "b"), // Saturday morning, Friday's window
        ("2026-01-10T06:00:00Z", "a"),
        ("2026-01-10T22:30:00Z", "a"), // Saturday night: no window
        ("2026-01-11T20:00:00Z", "b"), // Sunday night, wraps into Monday
        ("2026-01-12T07:59:59Z", "b"),
        ("2026-01-12T08:00:00Z", "a"),
        ("2026-01-14T23:59:59Z", "b"), // Wednesday until 24:00
        ("2026-01-15T00:00:00Z", "a"),
        ("2026-01-08T23:00:00Z", "a"), // Thursday night
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), Some(expected), "at {at}");
    }
    assert_eq!(
        s.on_call(ts("2026-01-11T21:00:00Z")).until,
        Some(ts("2026-01-12T08:00:00Z"))
    );
}

#[test]
fn adjacent_windows_merge_and_a_full_week_means_unrestricted() {
    let s = schedule(
        r#"
time_zone: UTC
layers:
  - name: l
    rotation: weekly
    start: 2026-01-05
    handoff: "00:00"
    participants: [a]
    restrictions:
      - {from: "00:00", to: "12:00"}
      - {from: "12:00", to: "00:00"}
"#,
    );
    let now = s.on_call(ts("2026-02-01T11:00:00Z"));
    assert_eq!(now.person, Some("a"));
    assert_eq!(now.until, None);
    let s = schedule(
        r#"
time_zone: UTC
layers:
  - name: l
    rotation: daily
    start: 2026-01-01
    handoff: "00:00"
    participants: [a]
    restrictions:
      - {days: [mon], from: "09:00", to: "12:00"}
      - {days: [mon], from: "12:00", to: "15:00"}
"#,
    );
    // 2026-01-05 is a Monday.
    assert_eq!(
        s.on_call(ts("2026-01-05T10:00:00Z")).until,
        Some(ts("2026-01-05T15:00:00Z"))
    );
    // Sunday night running into Monday morning, across the week boundary.
    let s = schedule(
        r#"
time_zone: UTC
layers:
  - name: l
    rotation: daily
    start: 2026-01-01
    handoff: "00:00"
    participants: [a]
    restrictions:
      - {days: [mon], from: "08:00", to: "12:00"}
      - {days: [sun], from: "20:00", to: "08:00"}
"#,
    );
    let now = s.on_call(ts("2026-01-11T21:00:00Z"));
    assert_eq!(now.person, Some("a"));
    assert_eq!(now.until, Some(ts("2026-01-12T12:00:00Z")));
    assert_eq!(
        s.on_call(ts("2026-01-12T13:00:00Z")).until,
        Some(ts("2026-01-18T20:00:00Z"))
    );
}

#[test]
fn handoffs_that_a_long_dst_gap_reorders_follow_the_last_one_crossed() {
    // Antarctica/Troll jumps from +00 to +02 at 01:00 UTC on 2026-03-29, so
    // civil 01:00–03:00 does not exist and hourly handoffs map out of order:
    // 00:30 → 00:30Z (a), 01:30 → 01:30Z (a), 02:30 → 02:30Z (b),
    // 03:30 → 01:30Z (c), 04:30 → 02:30Z (a), 05:30 → 03:30Z (a),
    // 06:30 → 04:30Z (b). At each instant the latest shift whose start has
    // passed is on call.
    let s = schedule(
        "time_zone: Antarctica/Troll\nlayers:\n  - {name: l, rotation: hourly, handoff: \"00:30\", start: 2026-03-29, participants: [a, a, b, c]}\n",
    );
    let now = s.on_call(ts("2026-03-29T00:45:00Z"));
    assert_eq!(now.person, Some("a"));
    assert_eq!(now.until, Some(ts("2026-03-29T01:30:00Z")));
    let shifts = s.shifts(ts("2026-03-29T00:00:00Z"), ts("2026-03-29T05:00:00Z"));
    let got: Vec<(Option<&str>, String)> = shifts
        .iter()
        .map(|s| (s.person, s.start.to_string()))
        .collect();
    let want = [
        (None, "2026-03-29T00:00:00Z"),
        (Some("a"), "2026-03-29T00:30:00Z"),
        (Some("c"), "2026-03-29T01:30:00Z"),
        (Some("a"), "2026-03-29T02:30:00Z"),
        (Some("b"), "2026-03-29T04:30:00Z"),
    ];
    let want: Vec<(Option<&str>, String)> = want.iter().map(|&(p, t)| (p, t.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn hourly_handoffs_inside_a_dst_fold_happen_once_in_the_first_pass() {
    // New York falls back on 2026-11-01: 01:00–02:00 happens twice. The
    // 01:45 handoff is the first pass (EDT, 05:45Z); the shift then lasts
    // until 02:45 EST (07:45Z), 2 h.
    let s = schedule(
        "time_zone: America/New_York\nlayers:\n  - {name: l, rotation: hourly, handoff: \"00:45\", start: 2026-11-01, participants: [a, b, c]}\n",
    );
    let cases = [
        ("2026-11-01T05:44:59Z", "a"), // 01:44:59 EDT
        ("2026-11-01T05:45:00Z", "b"), // 01:45 EDT
        ("2026-11-01T06:30:00Z", "b"), // 01:30 EST, second pass
        ("2026-11-01T06:50:00Z", "b"), // 01:50 EST
        ("2026-11-01T07:45:00Z", "c"), // 02:45 EST
    ];
    for (at, expected) in cases {
        assert_eq!(who(&s, at), Some(expected), "at {at}");
    }
    assert_eq!(
        s.on_call(ts("2026-11-01T06:30:00Z")).until,
        Some(ts("2026-11-01T07:45:00Z"))
    );
}

#[test]
fn overrides_take_over_mid_shift_and_end_at_their_edges() {
    let s = schedule(
        r#"
time_zone: Asia/Tokyo
layers:
  - {name: jp, rotation: daily, start: 2026-11-20, participants: [aiko, chloe]}
overrides:
  - {person: ben, from: "2026-11-21T10:00", to: "2026-11-21T14:30"}
  - {person: aiko, from: "2026-11-22T06:00:00Z", to: "2026-11-23T03:00:00+03:00"}
"#,
    );
    // Shift 2026-11-21 09:00 → 11-22 09:00 JST is chloe's (00:00Z → 00:00Z).
    let before = s.on_call(ts("2026-11-21T00:30:00Z")); // 09:30 JST
    assert_eq!(before.person, Some("chloe"));
    assert_eq!(before.until, Some(ts("2026-11-21T01:00:00Z")));
    let inside = s.on_call(ts("2026-11-21T03:00:00Z"));
    assert_eq!(inside.person, Some("ben"));
    assert_eq!(inside.source, Source::Override { index: 0 });
    assert_eq!(inside.until, Some(ts("2026-11-21T05:30:00Z")));
    let after = s.on_call(ts("2026-11-21T05:30:00Z"));
    assert_eq!(after.person, Some("chloe"));
    assert!(matches!(
        after.source,
        Source::Layer {
            index: 0,
            name: "jp"
        }
    ));
    assert_eq!(after.until, Some(ts("2026-11-22T00:00:00Z")));
    // The second one spans a handoff (aiko's own shift starts inside it).
    let spanning = s.on_call(ts("2026-11-22T06:00:00Z"));
    assert_eq!(spanning.source, Source::Override { index: 1 });
    assert_eq!(spanning.until, Some(ts("2026-11-23T00:00:00Z")));
    let shifts = s.shifts(ts("2026-11-21T00:00:00Z"), ts("2026-11-23T12:00:00Z"));
    let got: Vec<(Option<&str>, String, String)> = shifts
        .iter()
        .map(|s| (s.person, s.start.to_string(), s.end.to_string()))
        .collect();
    let want = [
        (
            Some("chloe"),
            "2026-11-21T00:00:00Z",
            "2026-11-21T01:00:00Z",
        ),
        (Some("ben"), "2026-11-21T01:00:00Z", "2026-11-21T05:30:00Z"),
        (
            Some("chloe"),
            "2026-11-21T05:30:00Z",
            "2026-11-22T00:00:00Z",
        ),
        (Some("aiko"), "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
        (Some("aiko"), "2026-11-22T06:00:00Z", "2026-11-23T00:00:00Z"),
        (
            Some("chloe"),
            "2026-11-23T00:00:00Z",
            "2026-11-23T12:00:00Z",
        ),
    ];
    let want: Vec<(Option<&str>, String, String)> = want
        .iter()
        .map(|&(p, s, e)| (p, s.to_string(), e.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn follow_the_sun_covers_a_winter_utc_day_without_gaps() {
    // Winter (2026-01-15, a Thursday): Tokyo is UTC+9, Berlin UTC+1, New
    // York UTC−5. Tokyo 09–17 = 00–08 UTC, Berlin 09–17 = 08–16 UTC, New
    // York 11–19 = 16–24 UTC. (London 09–17 would be 09–17 UTC and leave
    // 08–09 UTC uncovered, hence Berlin.)
    let s = schedule(
        r#"
time_zone: UTC
layers:
  - name: jp
    rotation: weekly
    handoff_day: monday
    start: 2026-01-05
    time_zone: Asia/Tokyo
    participants: [aiko]
    restrictions: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
  - name: eu
    rotation: weekly
    handoff_day: monday
    start: 2026-01-05
    time_zone: Europe/Berlin
    participants: [ben]
    restrictions: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
  - name: us
    rotation: weekly
    handoff_day: monday
    start: 2026-01-05
    time_zone: America/New_York
    participants: [chloe]
    restrictions: [{days: [mon, tue, wed, thu, fri], from: "11:00", to: "19:00"}]
"#,
    );
    let day = ts("2026-01-15T00:00:00Z");
    for hour in 0..24_i64 {
        let at = day + jiff::SignedDuration::from_hours(hour);
        let expected = match hour {
            0..8 => ("aiko", "jp"),
            8..16 => ("ben", "eu"),
            _ => ("chloe", "us"),
        };
        for probe in [at, at + jiff::SignedDuration::from_mins(59)] {
            let now = s.on_call(probe);
            assert_eq!(now.person, Some(expected.0), "at {probe}");
            assert!(matches!(now.source, Source::Layer { name, .. } if name == expected.1));
        }
    }
    let shifts = s.shifts(day, ts("2026-01-16T00:00:00Z"));
    let got: Vec<(Option<&str>, String)> = shifts
        .iter()
        .map(|s| (s.person, s.start.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("aiko"), "2026-01-15T00:00:00Z".to_string()),
            (Some("ben"), "2026-01-15T08:00:00Z".to_string()),
            (Some("chloe"), "2026-01-15T16:00:00Z".to_string()),
        ]
    );
    // The weekend is nobody's.
    assert_eq!(who(&s, "2026-01-17T12:00:00Z"), None);
}

#[test]
fn layer_ends_at_local_midnight_of_its_end_date() {
    let s = schedule(
        "time_zone: Asia/Tokyo\nlayers:\n  - {name: l, rotation: daily, start: 2026-01-01, end: 2026-01-10, participants: [a, b]}\n",
    );
    let last = s.on_call(ts("2026-01-09T10:00:00Z"));
    assert_eq!(last.person, Some("a"));
    assert_eq!(last.until, Some(ts("2026-01-09T15:00:00Z")));
    let after = s.on_call(ts("2026-01-09T15:00:00Z"));
    assert_eq!((after.person, after.until), (None, None));
}

#[test]
fn the_documented_example_parses_and_compiles() {
    let s = schedule(
        r#"
time_zone: Asia/Tokyo
description: "Primary on-call"
layers:
  - name: weekly
    rotation: weekly
    every: 1
    handoff: "09:00"
    handoff_day: monday
    start: 2026-11-02
    end: 2027-03-31
    time_zone: Europe/Berlin
    participants: [aiko, ben, chloe]
    restrictions:
      - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}
overrides:
  - {person: ben, from: "2026-11-21T10:00", to: "2026-11-21T14:30"}
"#,
    );
    assert_eq!(s.time_zone().iana_name(), Some("Asia/Tokyo"));
    assert_eq!(who(&s, "2026-11-03T09:00:00Z"), Some("aiko"));
    assert_eq!(who(&s, "2026-11-21T02:00:00Z"), Some("ben"));
}

#[test]
fn extreme_instants_and_dates_are_answered_without_panicking() {
    let s = schedule(
        r#"
time_zone: Pacific/Kiritimati
layers:
  - {name: far, rotation: hourly, start: 9999-12-30, participants: [a, b], time_zone: Pacific/Pago_Pago}
  - name: early
    rotation: weekly
    start: 0001-01-01
    participants: [c]
    restrictions: [{days: [sun], from: "22:00", to: "02:00"}]
overrides:
  - {person: a, from: "9999-12-31T10:00", to: "9999-12-31T11:00"}
"#,
    );
    for at in [Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH] {
        let now = s.on_call(at);
        assert!(now.until.is_none_or(|until| until > at), "at {at}");
        let end = at
            .checked_add(jiff::SignedDuration::from_hours(24 * 30))
            .unwrap_or(Timestamp::MAX);
        let shifts = s.shifts(at, end);
        assert!(shifts.iter().all(|s| s.start < s.end));
    }
    let last = s.shifts(ts("9999-12-28T00:00:00Z"), Timestamp::MAX);
    assert_eq!(last.last().unwrap().end, Timestamp::MAX);
}

#[test]
fn shifts_of_an_empty_range_are_empty() {
    let s = schedule(BUSINESS_HOURS_OVER_24X7);
    assert!(
        s.shifts(ts("2026-11-02T10:00:00Z"), ts("2026-11-02T10:00:00Z"))
            .is_empty()
    );
    assert!(
        s.shifts(ts("2026-11-03T10:00:00Z"), ts("2026-11-02T10:00:00Z"))
            .is_empty()
    );
}

#[test]
fn a_layer_that_a_later_unrestricted_layer_covers_entirely_is_reported_hidden() {
    let layers = |extra: &str| {
        schedule(&format!(
            "time_zone: Europe/Berlin\nlayers:\n  - {{name: base, rotation: daily, start: 2026-11-02, end: 2026-12-01, participants: [a]}}\n{extra}"
        ))
    };
    // (later layers, expected (hidden, by) pairs)
    let cases: [(&str, &[(usize, usize)]); 6] = [
        // Same start, no end: base is never on call.
        (
            "  - {name: top, rotation: weekly, start: 2026-11-02, participants: [b, c]}\n",
            &[(0, 1)],
        ),
        // Starts a day later: base still has 2 November.
        (
            "  - {name: top, rotation: weekly, start: 2026-11-03, participants: [b]}\n",
            &[],
        ),
        // Restricted to office hours: base covers the nights.
        (
            "  - {name: top, rotation: weekly, start: 2026-11-01, participants: [b], restrictions: [{from: \"09:00\", to: \"18:00\"}]}\n",
            &[],
        ),
        // Restrictions covering the whole week are no restriction.
        (
            "  - {name: top, rotation: weekly, start: 2026-11-01, participants: [b], restrictions: [{from: \"00:00\", to: \"24:00\"}]}\n",
            &[(0, 1)],
        ),
        // Ends a day before base does: base has 30 November.
        (
            "  - {name: top, rotation: weekly, start: 2026-11-01, end: 2026-11-30, participants: [b]}\n",
            &[],
        ),
        // The first later layer that covers it is named; a hidden layer can
        // hide another.
        (
            "  - {name: mid, rotation: daily, start: 2026-10-01, participants: [b]}\n  - {name: top, rotation: daily, start: 2026-10-01, participants: [c]}\n",
            &[(0, 1), (1, 2)],
        ),
    ];
    for (extra, expected) in cases {
        let s = layers(extra);
        let found: Vec<(usize, usize)> = s.hidden_layers().iter().map(|h| (h.0, h.1)).collect();
        assert_eq!(found, expected, "{extra}");
        // Each pair names the covering layer as the spec does.
        let names: Vec<&str> = std::iter::once("base")
            .chain(
                extra
                    .lines()
                    .filter_map(|l| l.split("name: ").nth(1)?.split(',').next()),
            )
            .collect();
        for (_, by, name) in s.hidden_layers() {
            assert_eq!(name, names[by], "{extra}");
        }
    }
}

/// `(yaml, path, part of the message)`: each spec must fail with that
/// problem among its problems.
#[test]
fn validation_reports_each_problem_at_its_path() {
    let layer = |extra: &str| {
        format!(
            "time_zone: UTC\nlayers:\n  - {{name: l, rotation: daily, start: 2026-01-01, participants: [a]{extra}}}\n"
        )
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "time_zone: Mars/Olympus\nlayers: [{name: l, rotation: daily, start: 2026-01-01, participants: [a]}]".into(),
            "time_zone",
            "unknown time zone \"Mars/Olympus\"",
        ),
        (layer(", time_zone: Europe/Atlantis"), "layers[0].time_zone", "Europe/Atlantis"),
        (layer(", handoff: \"9am\""), "layers[0].handoff", "HH:MM"),
        (layer(", handoff: \"24:00\""), "layers[0].handoff", "HH:MM"),
        (layer(", handoff: \"09:60\""), "layers[0].handoff", "HH:MM"),
        (layer(", end: 2026-02-30"), "layers[0].end", "YYYY-MM-DD"),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: daily, start: 01/02/2026, participants: [a]}]".into(),
            "layers[0].start",
            "YYYY-MM-DD",
        ),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: weekly, handoff_day: funday, start: 2026-01-01, participants: [a]}]".into(),
            "layers[0].handoff_day",
            "weekday",
        ),
        (layer(", handoff_day: monday"), "layers[0].handoff_day", "only weekly"),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: daily, start: 2026-01-01, participants: [a, zed]}]".into(),
            "layers[0].participants[1]",
            "unknown person \"zed\"",
        ),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: daily, start: 2026-01-01, participants: []}]".into(),
            "layers[0].participants",
            "empty rotation",
        ),
        (layer(", every: 0"), "layers[0].every", "at least 1"),
        (layer(", every: 366"), "layers[0].every", "365 days"),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: weekly, every: 53, start: 2026-01-01, participants: [a]}]".into(),
            "layers[0].every",
            "365 days",
        ),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: hourly, every: 8761, start: 2026-01-01, participants: [a]}]".into(),
            "layers[0].every",
            "365 days",
        ),
        (layer(", end: 2026-01-01"), "layers[0].end", "after start"),
        (
            "time_zone: UTC\nlayers: [{name: l, rotation: weekly, handoff_day: mon, start: 9999-12-31, participants: [a]}]".into(),
            "layers[0].start",
            "supported range",
        ),
        (layer(", end: 2025-12-01"), "layers[0].end", "after start"),
        (
            "time_zone: UTC\nlayers:\n  - {name: l, rotation: daily, start: 2026-01-01, participants: [a]}\n  - {name: l, rotation: daily, start: 2026-01-01, participants: [b]}".into(),
            "layers[1].name",
            "duplicate layer name \"l\" (also layers[0])",
        ),
        ("time_zone: UTC\nlayers: []".into(), "layers", "at least one layer"),
        ("time_zone: UTC".into(), "layers", "at least one layer"),
        (
            layer(", restrictions: [{from: \"09:00\", to: \"09:00\"}]"),
            "layers[0].restrictions[0]",
            "empty window",
        ),
        (
            layer(", restrictions: [{days: [mon], from: \"09:00\", to: \"17:00\"}, {days: [mon], from: \"16:00\", to: \"18:00\"}]"),
            "layers[0].restrictions[1]",
            "overlapping windows: overlaps restrictions[0]",
        ),
        (
            // Sunday 22:00 → Monday 06:00 overlaps Monday 05:00 → 07:00.
            layer(", restrictions: [{days: [mon], from: \"05:00\", to: \"07:00\"}, {days: [sun], from: \"22:00\", to: \"06:00\"}]"),
            "layers[0].restrictions[1]",
            "overlapping",
        ),
        (
            layer(", restrictions: [{days: [someday], from: \"09:00\", to: \"17:00\"}]"),
            "layers[0].restrictions[0].days[0]",
            "weekday",
        ),
        (
            layer(", restrictions: [{days: [], from: \"09:00\", to: \"17:00\"}]"),
            "layers[0].restrictions[0].days",
            "empty list",
        ),
        (
            layer(", restrictions: [{from: \"9\", to: \"17:00\"}]"),
            "layers[0].restrictions[0].from",
            "HH:MM",
        ),
        (
            layer(", restrictions: [{from: \"09:00\", to: \"25:00\"}]"),
            "layers[0].restrictions[0].to",
            "24:00",
        ),
        (
            format!("{}overrides: [{{person: a, from: \"2026-01-02T10:00\", to: \"2026-01-02T10:00\"}}]", layer("")),
            "overrides[0].to",
            "after from",
        ),
        (
            format!("{}overrides: [{{person: a, from: \"tomorrow\", to: \"2026-01-02T10:00\"}}]", layer("")),
            "overrides[0].from",
            "RFC 3339",
        ),
        (
            format!("{}overrides: [{{person: zed, from: \"2026-01-02T10:00\", to: \"2026-01-02T11:00\"}}]", layer("")),
            "overrides[0].person",
            "unknown person \"zed\"",
        ),
        (
            format!(
                "{}overrides:\n  - {{person: a, from: \"2026-01-02T10:00\", to: \"2026-01-02T12:00\"}}\n  - {{person: b, from: \"2026-01-03T10:00\", to: \"2026-01-03T12:00\"}}\n  - {{person: b, from: \"2026-01-02T11:00Z\", to: \"2026-01-02T13:00Z\"}}\n",
                layer("")
            ),
            "overrides[2]",
            "overlaps overrides[0]",
        ),
    ];
    for (yaml, path, message) in cases {
        let problems = Schedule::compile(&spec(&yaml), &is_person).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|(p, m)| p == path && m.contains(message)),
            "expected {path}: …{message}… in {problems:?} for\n{yaml}"
        );
    }
}

#[test]
fn validation_reports_every_problem_at_once() {
    let yaml = r#"
time_zone: UTC
layers:
  - {name: l, rotation: daily, every: 0, handoff: "x", start: 2026-01-01, participants: [zed]}
  - {name: m, rotation: hourly, handoff_day: mon, start: nope, participants: []}
overrides:
  - {person: nobody, from: "2026-01-02T10:00", to: "2026-01-01T10:00"}
"#;
    let problems = Schedule::compile(&spec(yaml), &is_person).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "layers[0].every",
            "layers[0].handoff",
            "layers[0].participants[0]",
            "layers[1].handoff_day",
            "layers[1].start",
            "layers[1].participants",
            "overrides[0].person",
            "overrides[0].to",
        ]
    );
}

#[test]
fn unknown_fields_are_rejected_when_parsing() {
    let result: Result<ScheduleSpec, _> = serde_norway::from_str(
        "time_zone: UTC\nlayers: [{name: l, rotation: daily, start: 2026-01-01, participants: [a], shift: 3}]",
    );
    assert!(result.is_err());
    let result: Result<ScheduleSpec, _> = serde_norway::from_str(
        "time_zone: UTC\nlayers: [{name: l, rotation: monthly, start: 2026-01-01, participants: [a]}]",
    );
    assert!(result.is_err());
}

mod properties {
    use jiff::civil::{Date, DateTime, Time};
    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, Span, Timestamp, Zoned};
    use proptest::prelude::*;

    use super::super::*;
    use super::is_person;

    const ZONES: [&str; 11] = [
        "UTC",
        "Asia/Tokyo",
        "America/New_York",
        "Europe/Berlin",
        "Europe/London",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "Pacific/Chatham",
        "America/St_Johns",
        "Antarctica/Troll",
    ];
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    fn clock() -> impl Strategy<Value = String> {
        (0..24u32, prop_oneof![Just(0u32), Just(30), 0..60u32])
            .prop_map(|(h, m)| format!("{h:02}:{m:02}"))
    }

    fn restriction() -> impl Strategy<Value = RestrictionSpec> {
        (
            proptest::option::of(proptest::sample::subsequence(DAYS.to_vec(), 1..=7)),
            clock(),
            prop_oneof![clock(), Just("24:00".to_string())],
        )
            .prop_map(|(days, from, to)| RestrictionSpec {
                days: days.map(|d| d.into_iter().map(String::from).collect()),
                from,
                to,
            })
    }

    /// Two windows on the same days that do not overlap (they may touch).
    fn split_day() -> impl Strategy<Value = Vec<RestrictionSpec>> {
        (
            proptest::option::of(proptest::sample::subsequence(DAYS.to_vec(), 1..=7)),
            proptest::collection::btree_set(0..=1440u32, 4),
            any::<bool>(),
        )
            .prop_map(|(days, minutes, touch)| {
                let m: Vec<u32> = minutes.into_iter().collect();
                let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
                let days: Option<Vec<String>> =
                    days.map(|d| d.into_iter().map(String::from).collect());
                let second_from = if touch { m[1] } else { m[2] };
                vec![
                    RestrictionSpec {
                        days: days.clone(),
                        from: hhmm(m[0]),
                        to: hhmm(m[1]),
                    },
                    RestrictionSpec {
                        days,
                        from: hhmm(second_from),
                        to: hhmm(m[3]),
                    },
                ]
            })
    }

    prop_compose! {
        fn layer(restricted: bool, ended: bool)(
            unit in prop_oneof![
                Just(RotationUnit::Hourly),
                Just(RotationUnit::Daily),
                Just(RotationUnit::Weekly)
            ],
            every in prop_oneof![4 => 1..=3u32, 1 => 4..=30u32],
            handoff in clock(),
            handoff_day in proptest::option::of(0..7usize),
            start in 0..900i64,
            end in proptest::option::of(1..400i64),
            zone in proptest::sample::select(ZONES.to_vec()),
            participants in prop_oneof![
                1 => Just(Vec::new()),
                12 => proptest::collection::vec(
                    proptest::sample::select(vec!["a", "b", "c", "d", "e", "f"]),
                    1..=6,
                ),
            ],
            restrictions in prop_oneof![
                6 => proptest::collection::vec(restriction(), 0..=1),
                2 => split_day(),
                1 => proptest::collection::vec(restriction(), 2..=3),
            ],
        ) -> LayerSpec {
            let start_date = Date::constant(2025, 1, 1) + Span::new().days(start);
            LayerSpec {
                name: String::new(),
                rotation: unit,
                every: Some(every),
                handoff: Some(handoff),
                handoff_day: handoff_day
                    .filter(|_| unit == RotationUnit::Weekly)
                    .map(|d| DAYS[d].to_string()),
                start: start_date.to_string(),
                end: end
                    .filter(|_| ended)
                    .map(|e| (start_date + Span::new().days(e)).to_string()),
                time_zone: Some(zone.to_string()),
                participants: participants.into_iter().map(String::from).collect(),
                restrictions: if restricted { restrictions } else { Vec::new() },
            }
        }
    }

    /// A random instant in 2025–2027.
    fn instant() -> impl Strategy<Value = Timestamp> {
        (1_735_689_600..1_830_297_600i64, 0..1_000_000_000i32)
            .prop_map(|(second, nanos)| Timestamp::new(second, nanos).unwrap())
    }

    /// Where to probe a schedule: a random instant, or half the time an
    /// instant within 4 h of a UTC offset change of one of its layers'
    /// zones (`pick` chooses the layer).
    #[derive(Debug, Clone, Copy)]
    struct Probe {
        base: Timestamp,
        near: bool,
        offset: SignedDuration,
        pick: usize,
    }

    impl Probe {
        fn at(&self, layers: &[LayerSpec]) -> Timestamp {
            let layer = &layers[self.pick % layers.len()];
            let zone = TimeZone::get(layer.time_zone.as_deref().unwrap()).unwrap();
            match zone.following(self.base).next() {
                Some(change) if self.near => change.timestamp() + self.offset,
                _ => self.base,
            }
        }
    }

    fn probe() -> impl Strategy<Value = Probe> {
        (
            instant(),
            any::<bool>(),
            -4 * 3_600_000_000_000i64..4 * 3_600_000_000_000i64,
            0..3usize,
        )
            .prop_map(|(base, near, nanos, pick)| Probe {
                base,
                near,
                offset: SignedDuration::from_nanos(nanos),
                pick,
            })
    }

    /// A random schedule (1–3 layers, 0–3 overrides) and an instant to probe
    /// it at; the overrides lie around that instant.
    fn scenario() -> impl Strategy<Value = (ScheduleSpec, Timestamp)> {
        (
            proptest::collection::vec(layer(true, true), 1..=3),
            proptest::sample::select(ZONES.to_vec()),
            probe(),
            proptest::collection::vec((0..3_000i64, 1..3_000i64), 0..=3),
            any::<bool>(),
        )
            .prop_map(|(mut layers, zone, probe, gaps, civil)| {
                for (i, layer) in layers.iter_mut().enumerate() {
                    layer.name = format!("layer{i}");
                }
                let at = probe.at(&layers);
                // Non-overlapping overrides from 2 days before `at`:
                // alternating gaps and lengths, in minutes.
                let tz = TimeZone::get(zone).unwrap();
                let mut end = at - SignedDuration::from_hours(48);
                let people = ["a", "b", "c"];
                let overrides = gaps
                    .iter()
                    .enumerate()
                    .map(|(i, &(gap, length))| {
                        let from = end + SignedDuration::from_mins(gap);
                        let to = from + SignedDuration::from_mins(length);
                        end = to;
                        let text = |t: Timestamp| {
                            if civil {
                                // Civil time in the schedule's zone; in a DST
                                // fold it means the earlier instant.
                                tz.to_datetime(t)
                                    .strftime("%Y-%m-%dT%H:%M:%S%.f")
                                    .to_string()
                            } else {
                                t.to_string()
                            }
                        };
                        OverrideSpec {
                            person: people[i % 3].to_string(),
                            from: text(from),
                            to: text(to),
                        }
                    })
                    .collect();
                let spec = ScheduleSpec {
                    time_zone: zone.to_string(),
                    description: None,
                    layers,
                    overrides,
                };
                (spec, at)
            })
    }

    /// Compiles, or checks that the failure is one the generator can cause
    /// (empty rotations, empty or overlapping windows, civil override times
    /// that fold onto each other) and returns `None`.
    fn compile(spec: &ScheduleSpec) -> Option<Schedule> {
        match Schedule::compile(spec, &is_person) {
            Ok(schedule) => {
                assert!(spec.layers.iter().all(|l| !l.participants.is_empty()));
                Some(schedule)
            }
            Err(problems) => {
                for (path, message) in &problems {
                    assert!(
                        message.contains("empty rotation")
                            || message.contains("empty window")
                            || message.contains("overlapping")
                            || (path.starts_with("overrides[")
                                && (message.contains("after from")
                                    || message.contains("overlaps"))),
                        "{path}: {message}"
                    );
                }
                None
            }
        }
    }

    fn answer<'a>(schedule: &'a Schedule, at: Timestamp) -> (Option<&'a str>, Source<'a>) {
        let now = schedule.on_call(at);
        (now.person, now.source)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// (1) The answer holds on all of `[at, until)`.
        #[test]
        fn answer_holds_until_it_says((spec, at) in scenario()) {
            let Some(schedule) = compile(&spec) else { return Ok(()) };
            let now = schedule.on_call(at);
            let expected = (now.person, now.source);
            match now.until {
                Some(until) => {
                    prop_assert!(until > at, "until {until} not after {at}");
                    let span = until.duration_since(at);
                    for probe in [
                        at,
                        at + span / 2,
                        until - SignedDuration::from_nanos(1),
                        until - SignedDuration::from_secs(1).min(span),
                    ] {
                        prop_assert_eq!(answer(&schedule, probe), expected, "at {} (until {})", probe, until);
                    }
                }
                None => {
                    for days in [1, 30, 400] {
                        let probe = at + SignedDuration::from_hours(24 * days);
                        prop_assert_eq!(answer(&schedule, probe), expected);
                    }
                }
            }
        }

        /// (2) The same instant written in another zone gives the same answer.
        #[test]
        fn answer_does_not_depend_on_the_zone_the_instant_is_written_in(
            (spec, at) in scenario(),
            zone in proptest::sample::select(ZONES.to_vec()),
        ) {
            let Some(schedule) = compile(&spec) else { return Ok(()) };
            let text = at.to_zoned(TimeZone::get(zone).unwrap()).to_string();
            let parsed = text.parse::<Zoned>().unwrap().timestamp();
            prop_assert_eq!(schedule.on_call(parsed), schedule.on_call(at), "{}", text);
        }

        /// (3) `shifts` partitions the range and agrees with `on_call`.
        #[test]
        fn shifts_partition_the_range(
            (spec, at) in scenario(),
            minutes in 1..(14 * 24 * 60i64),
        ) {
            let Some(schedule) = compile(&spec) else { return Ok(()) };
            let from = at - SignedDuration::from_mins(minutes / 2);
            let to = from + SignedDuration::from_mins(minutes);
            let shifts = schedule.shifts(from, to);
            prop_assert!(!shifts.is_empty());
            prop_assert_eq!(shifts[0].start, from);
            prop_assert_eq!(shifts[shifts.len() - 1].end, to);
            for pair in shifts.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
                prop_assert!(
                    (pair[0].person, pair[0].source) != (pair[1].person, pair[1].source),
                    "unmerged neighbours {:?}", pair
                );
            }
            for shift in &shifts {
                prop_assert!(shift.start < shift.end);
                prop_assert_eq!(answer(&schedule, shift.start), (shift.person, shift.source));
                prop_assert_eq!(
                    answer(&schedule, shift.end - SignedDuration::from_nanos(1)),
                    (shift.person, shift.source)
                );
            }
        }

        /// (4) A plain layer is never empty after its first handoff, and
        /// always empty before it.
        #[test]
        fn plain_layer_is_never_empty_after_its_first_handoff(
            mut layer in layer(false, false),
            probe in probe(),
        ) {
            prop_assume!(!layer.participants.is_empty());
            layer.name = "l".into();
            let at = probe.at(std::slice::from_ref(&layer));
            let zone = TimeZone::get(layer.time_zone.as_deref().unwrap()).unwrap();
            let spec = ScheduleSpec {
                time_zone: "UTC".into(),
                description: None,
                layers: vec![layer.clone()],
                overrides: Vec::new(),
            };
            let schedule = Schedule::compile(&spec, &is_person).unwrap();
            // The first handoff, computed independently with jiff.
            let start: Date = layer.start.parse().unwrap();
            let day = match &layer.handoff_day {
                Some(name) => {
                    let mut day = start;
                    while DAYS[day.weekday().to_monday_zero_offset() as usize] != name {
                        day = day.tomorrow().unwrap();
                    }
                    day
                }
                None => start,
            };
            let time: Time = layer.handoff.as_deref().unwrap().parse().unwrap();
            let first = day.to_datetime(time).to_zoned(zone).unwrap().timestamp();
            let person = schedule.on_call(at).person;
            if at >= first {
                prop_assert!(person.is_some(), "nobody at {} (first handoff {})", at, first);
            } else {
                prop_assert_eq!(person, None);
            }
            prop_assert!(schedule.on_call(first).person.is_some());
            prop_assert_eq!(schedule.on_call(first - SignedDuration::from_nanos(1)).person, None);
        }

        /// A single restricted layer agrees with a brute-force evaluation of
        /// the documented rules.
        #[test]
        fn single_layer_matches_brute_force(
            mut layer in layer(true, false),
            probe in probe(),
            days_before in 0..60i64,
        ) {
            layer.name = "l".into();
            // Start the layer up to 60 days before the probe.
            let at = probe.at(std::slice::from_ref(&layer));
            let zone = TimeZone::get(layer.time_zone.as_deref().unwrap()).unwrap();
            let start = zone.to_datetime(at).date() - Span::new().days(days_before);
            layer.start = start.to_string();
            let spec = ScheduleSpec {
                time_zone: "UTC".into(),
                description: None,
                layers: vec![layer.clone()],
                overrides: Vec::new(),
            };
            let Some(schedule) = compile(&spec) else { return Ok(()) };
            let expected = brute_force(&layer, &zone, at);
            prop_assert_eq!(schedule.on_call(at).person, expected.as_deref(), "at {}", at);
        }
    }

    /// Who a single layer (without `end`) puts on call at `at`, from the
    /// rules as documented, by enumeration.
    fn brute_force(layer: &LayerSpec, zone: &TimeZone, at: Timestamp) -> Option<String> {
        let start: Date = layer.start.parse().unwrap();
        let mut day = start;
        if let Some(name) = &layer.handoff_day {
            while DAYS[day.weekday().to_monday_zero_offset() as usize] != name {
                day = day.tomorrow().unwrap();
            }
        }
        let handoff: Time = layer.handoff.as_deref().unwrap().parse().unwrap();
        let anchor = day.to_datetime(handoff);
        let every = i64::from(layer.every.unwrap());
        let step = match layer.rotation {
            RotationUnit::Hourly => Span::new().hours(every),
            RotationUnit::Daily => Span::new().days(every),
            RotationUnit::Weekly => Span::new().weeks(every),
        };
        let instant = |dt: DateTime| dt.to_zoned(zone.clone()).unwrap().timestamp();
        // Last shift whose start is at or before `at` (shifts within 2 days
        // after the first later one are checked too).
        let mut owner = None;
        let mut late = 0;
        let mut k = 0i64;
        while late < 3 {
            let civil = anchor.checked_add(step.checked_mul(k).unwrap()).unwrap();
            if instant(civil) <= at {
                owner = Some(k);
            } else {
                late += 1;
            }
            k += 1;
        }
        if instant(anchor) > at {
            return None;
        }
        let k = owner?;
        if !layer.restrictions.is_empty() {
            // Civil windows around `at`, merged, then the last edge crossed.
            let local = zone.to_datetime(at).date();
            let mut windows: Vec<(DateTime, DateTime)> = Vec::new();
            for offset in -9..=9 {
                let date = local + Span::new().days(offset);
                for r in &layer.restrictions {
                    let weekday = DAYS[date.weekday().to_monday_zero_offset() as usize];
                    if r.days
                        .as_ref()
                        .is_some_and(|d| !d.iter().any(|d| d == weekday))
                    {
                        continue;
                    }
                    let from: Time = r.from.parse().unwrap();
                    let begin = date.to_datetime(from);
                    let end = if r.to == "24:00" {
                        date.tomorrow().unwrap().to_datetime(Time::midnight())
                    } else {
                        let to: Time = r.to.parse().unwrap();
                        if to > from {
                            date.to_datetime(to)
                        } else {
                            date.tomorrow().unwrap().to_datetime(to)
                        }
                    };
                    windows.push((begin, end));
                }
            }
            windows.sort();
            let mut merged: Vec<(DateTime, DateTime)> = Vec::new();
            for (begin, end) in windows {
                match merged.last_mut() {
                    Some(last) if begin <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((begin, end)),
                }
            }
            // A window of a week or more means the pattern covers every
            // moment (the enumerated range cuts its edges short).
            if merged
                .iter()
                .any(|&(b, e)| e.duration_since(b) >= SignedDuration::from_hours(7 * 24))
            {
                return Some(
                    layer.participants[k.rem_euclid(layer.participants.len() as i64) as usize]
                        .clone(),
                );
            }
            let edges: Vec<(Timestamp, bool)> = merged
                .iter()
                .flat_map(|&(b, e)| [(instant(b), true), (instant(e), false)])
                .collect();
            let last = edges.iter().rposition(|&(t, _)| t <= at);
            match last {
                Some(i) if edges[i].1 => {}
                _ => return None,
            }
        }
        Some(layer.participants[k.rem_euclid(layer.participants.len() as i64) as usize].clone())
    }
}
