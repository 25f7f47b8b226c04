//! `klaxon oncall --config oncall.yaml --at T`: who is on call, whichever
//! way the instant is written.
//!
//! In `oncall.yaml`, `primary` hands off weekly on Mondays at 09:00 Tokyo
//! time from 2026-11-02 (aiko, daisuke, aiko, daisuke, ...), and
//! `follow-the-sun` covers 00-08 UTC from Japan (aiko), 08-16 from Europe
//! (weekly: ben, emma, ...) and 16-24 from the Americas (weekly: chloe,
//! frank, ...) in November, with a weekly backstop (ben, chloe) below.

mod common;

use common::{Run, klaxon};
use serde_json::{Value, json};

/// `klaxon [--tz TZ] oncall --config oncall.yaml --at AT [extra...]`.
fn oncall(tz: Option<&str>, at: &str, extra: &[&str]) -> Run {
    let mut args = Vec::new();
    if let Some(tz) = tz {
        args.extend(["--tz", tz]);
    }
    args.extend(["oncall", "--config", "oncall.yaml", "--at", at]);
    args.extend(extra);
    klaxon(&args)
}

/// The JSON entry for `schedule`.
fn entry<'a>(report: &'a Value, schedule: &str) -> &'a Value {
    report["schedules"]
        .as_array()
        .expect("schedules is a list")
        .iter()
        .find(|s| s["schedule"] == schedule)
        .unwrap_or_else(|| panic!("no {schedule} in {report}"))
}

#[test]
fn the_same_instant_in_every_notation_gives_the_same_people() {
    // Tuesday 2026-11-24 10:00 UTC = 19:00 in Tokyo.
    let notations = [
        (None, "2026-11-24T10:00:00Z"),
        (None, "2026-11-24T19:00:00+09:00"),
        (None, "2026-11-24T05:00:00-05:00"),
        (None, "2026-11-24T19:00[Asia/Tokyo]"),
        (None, "2026-11-24 10:00"),
        (Some("Asia/Tokyo"), "2026-11-24 19:00"),
        (Some("America/New_York"), "2026-11-24T05:00"),
    ];
    for (tz, at) in notations {
        let report = oncall(tz, at, &["--json"]).expect_code(0).json();
        assert_eq!(report["at"], "2026-11-24T10:00:00Z", "{tz:?} {at}");
        assert_eq!(
            entry(&report, "primary")["person"],
            "daisuke",
            "{tz:?} {at}"
        );
        assert_eq!(
            entry(&report, "follow-the-sun")["person"],
            "emma",
            "{tz:?} {at}"
        );
    }
}

#[test]
fn the_table_shows_the_instant_in_tz_and_each_handoff_in_its_schedules_zone() {
    let run = oncall(Some("Asia/Tokyo"), "2026-11-24 19:00", &[]).expect_code(0);
    assert_eq!(
        run.stdout,
        "\
on call at 2026-11-24 19:00:00 JST
SCHEDULE           ON CALL                  FROM                   UNTIL
follow-the-sun     emma (Emma Schulz)       layer europe           2026-11-25 01:00:00 JST
primary            daisuke (Daisuke Ito)    layer weekly           2026-11-30 09:00:00 JST
"
    );
    let run = oncall(None, "2026-11-24T10:00:00Z", &[]).expect_code(0);
    assert_eq!(
        run.stdout,
        "\
on call at 2026-11-24 10:00:00 UTC
SCHEDULE           ON CALL                  FROM                   UNTIL
follow-the-sun     emma (Emma Schulz)       layer europe           2026-11-24 16:00:00 UTC
primary            daisuke (Daisuke Ito)    layer weekly           2026-11-30 09:00:00 JST
"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn follow_the_sun_pages_the_region_whose_working_day_it_is() {
    // (instant, person, layer, until)
    let cases = [
        // 10:00 in Tokyo.
        (
            "2026-11-24T01:00:00Z",
            "aiko",
            "japan",
            "2026-11-24T08:00:00Z",
        ),
        // 10:00 in London, the second week of the Europe rotation.
        (
            "2026-11-24T10:00:00Z",
            "emma",
            "europe",
            "2026-11-24T16:00:00Z",
        ),
        // 13:00 in New York, the second week of the Americas rotation.
        (
            "2026-11-24T18:00:00Z",
            "frank",
            "americas",
            "2026-11-25T00:00:00Z",
        ),
        // The week before, the other halves of the weekly rotations.
        (
            "2026-11-17T10:00:00Z",
            "ben",
            "europe",
            "2026-11-17T16:00:00Z",
        ),
        (
            "2026-11-17T18:00:00Z",
            "chloe",
            "americas",
            "2026-11-18T00:00:00Z",
        ),
        // New York is on summer time, London not yet: 23:30 UTC is after
        // the Americas' 19:00 EDT and before Tokyo's 09:00, so the
        // backstop (week 19: chloe) covers it.
        (
            "2027-03-17T23:30:00Z",
            "chloe",
            "backstop",
            "2027-03-18T00:00:00Z",
        ),
    ];
    for (at, person, layer, until) in cases {
        let report = oncall(None, at, &["--schedule", "follow-the-sun", "--json"])
            .expect_code(0)
            .json();
        let now = entry(&report, "follow-the-sun");
        assert_eq!(now["person"], person, "{at}");
        assert_eq!(now["source"]["layer"], layer, "{at}");
        assert_eq!(now["until"], until, "{at}");
    }
}

#[test]
fn schedule_filter_shows_only_that_schedule() {
    let run = oncall(None, "2026-11-24T01:00:00Z", &["--schedule", "primary"]).expect_code(0);
    let rows: Vec<&str> = run.stdout.lines().skip(2).collect();
    assert_eq!(
        rows,
        vec![
            "primary            daisuke (Daisuke Ito)    layer weekly           2026-11-30 09:00:00 JST"
        ]
    );
    let report = oncall(
        None,
        "2026-11-24T01:00:00Z",
        &["--schedule", "primary", "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(report["schedules"].as_array().map(Vec::len), Some(1));
}

#[test]
fn an_unknown_schedule_is_an_error_naming_the_known_ones() {
    let run = oncall(None, "2026-11-24T01:00:00Z", &["--schedule", "secondary"]).expect_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "klaxon: no schedule 'secondary' (known: follow-the-sun, primary)\n"
    );
}

#[test]
fn json_lists_each_schedule_with_person_source_and_until() {
    let report = oncall(None, "2026-12-25T00:00:00Z", &["--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        report,
        json!({
            "at": "2026-12-25T00:00:00Z",
            "schedules": [
                {
                    "schedule": "follow-the-sun",
                    "person": "aiko",
                    "source": {"layer": "japan", "index": 1},
                    "until": "2026-12-25T08:00:00Z",
                },
                {
                    // The Christmas override: ben, 2026-12-24 18:00 to
                    // 2026-12-26 09:00 Tokyo time.
                    "schedule": "primary",
                    "person": "ben",
                    "source": {"override": 0},
                    "until": "2026-12-26T00:00:00Z",
                },
            ],
        })
    );
}

#[test]
fn an_override_is_named_in_the_table() {
    let run = oncall(None, "2026-12-25T00:00:00Z", &["--schedule", "primary"]).expect_code(0);
    assert!(
        run.stdout.contains(
            "primary            ben (Ben Miller)         override #1            2026-12-26 09:00:00 JST"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn before_any_rotation_starts_nobody_is_on_call_until_the_first_handoff() {
    let report = oncall(None, "2026-10-01T00:00:00Z", &["--json"])
        .expect_code(0)
        .json();
    for schedule in ["primary", "follow-the-sun"] {
        let now = entry(&report, schedule);
        assert_eq!(now["person"], Value::Null, "{schedule}");
        assert_eq!(now["source"], Value::Null, "{schedule}");
        // Both start at 2026-11-02 09:00 in Tokyo.
        assert_eq!(now["until"], "2026-11-02T00:00:00Z", "{schedule}");
    }
    let run = oncall(None, "2026-10-01T00:00:00Z", &["--schedule", "primary"]).expect_code(0);
    assert!(
        run.stdout.contains(
            "primary            -                        nobody                 2026-11-02 09:00:00 JST"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unreadable_instant_or_zone_is_refused() {
    let run = oncall(None, "next tuesday", &[]).expect_code(2);
    assert!(
        run.stderr.contains("'next tuesday' is not a time"),
        "{}",
        run.stderr
    );
    let run = oncall(Some("Mars/Olympus"), "2026-11-24T01:00:00Z", &[]).expect_code(2);
    assert!(
        run.stderr.starts_with("klaxon: --tz Mars/Olympus: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn a_broken_config_file_stops_with_its_problems() {
    let run = klaxon(&[
        "oncall",
        "--config",
        "no-such.yaml",
        "--at",
        "2026-11-24T01:00:00Z",
    ])
    .expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("no-such.yaml: "), "{}", run.stderr);
}
