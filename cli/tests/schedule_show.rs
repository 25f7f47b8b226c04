//! `klaxon schedule show NAME --config oncall.yaml --from --to`: the shifts
//! of a schedule as rows, in the schedule's zone or in `--tz`.

mod common;

use common::{Run, klaxon};
use serde_json::json;

/// `klaxon [--tz TZ] schedule show NAME --config oncall.yaml --from F --to T [extra...]`.
fn show(tz: Option<&str>, name: &str, from: &str, to: &str, extra: &[&str]) -> Run {
    let mut args = Vec::new();
    if let Some(tz) = tz {
        args.extend(["--tz", tz]);
    }
    args.extend([
        "schedule",
        "show",
        name,
        "--config",
        "oncall.yaml",
        "--from",
        from,
        "--to",
        to,
    ]);
    args.extend(extra);
    klaxon(&args)
}

const HEADER: &str =
    "FROM                     TO                         HOURS ON CALL                  SOURCE";

#[test]
fn a_week_of_the_weekly_rotation_in_the_schedules_zone() {
    // Civil --from/--to are read in the schedule's zone (Asia/Tokyo); the
    // handoff is Monday 2026-11-23 09:00 there.
    let run = show(None, "primary", "2026-11-20", "2026-11-27", &[]).expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "\
primary: 2026-11-20 00:00:00 JST to 2026-11-27 00:00:00 JST (Asia/Tokyo)
{HEADER}
2026-11-20 00:00:00 JST  2026-11-23 09:00:00 JST     81.0 aiko (Aiko Tanaka)       layer weekly
2026-11-23 09:00:00 JST  2026-11-27 00:00:00 JST     87.0 daisuke (Daisuke Ito)    layer weekly
"
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn the_same_week_in_utc_shows_the_handoff_at_midnight_utc() {
    let run = show(
        Some("UTC"),
        "primary",
        "2026-11-20T00:00:00+09:00",
        "2026-11-27T00:00[Asia/Tokyo]",
        &[],
    )
    .expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "\
primary: 2026-11-19 15:00:00 UTC to 2026-11-26 15:00:00 UTC (UTC)
{HEADER}
2026-11-19 15:00:00 UTC  2026-11-23 00:00:00 UTC     81.0 aiko (Aiko Tanaka)       layer weekly
2026-11-23 00:00:00 UTC  2026-11-26 15:00:00 UTC     87.0 daisuke (Daisuke Ito)    layer weekly
"
        )
    );
}

#[test]
fn with_tz_civil_bounds_are_read_in_that_zone() {
    let report = show(
        Some("UTC"),
        "primary",
        "2026-11-20",
        "2026-11-27",
        &["--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(report["from"], "2026-11-20T00:00:00Z");
    assert_eq!(report["to"], "2026-11-27T00:00:00Z");
    assert_eq!(report["time_zone"], "UTC");
}

#[test]
fn an_override_mid_shift_splits_it_into_three_rows() {
    // Ben covers 2026-12-24 18:00 to 2026-12-26 09:00 Tokyo time, inside
    // daisuke's week from Monday 2026-12-21 09:00.
    let run = show(None, "primary", "2026-12-21 09:00", "2026-12-28 09:00", &[]).expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "\
primary: 2026-12-21 09:00:00 JST to 2026-12-28 09:00:00 JST (Asia/Tokyo)
{HEADER}
2026-12-21 09:00:00 JST  2026-12-24 18:00:00 JST     81.0 daisuke (Daisuke Ito)    layer weekly
2026-12-24 18:00:00 JST  2026-12-26 09:00:00 JST     39.0 ben (Ben Miller)         override #1
2026-12-26 09:00:00 JST  2026-12-28 09:00:00 JST     48.0 daisuke (Daisuke Ito)    layer weekly
"
        )
    );
}

#[test]
fn follow_the_sun_hands_over_three_times_a_day() {
    let run = show(None, "follow-the-sun", "2026-11-24", "2026-11-25", &[]).expect_code(0);
    let rows: Vec<&str> = run.stdout.lines().skip(2).collect();
    assert_eq!(
        rows,
        vec![
            "2026-11-24 00:00:00 UTC  2026-11-24 08:00:00 UTC      8.0 aiko (Aiko Tanaka)       layer japan",
            "2026-11-24 08:00:00 UTC  2026-11-24 16:00:00 UTC      8.0 emma (Emma Schulz)       layer europe",
            "2026-11-24 16:00:00 UTC  2026-11-25 00:00:00 UTC      8.0 frank (Frank Lopez)      layer americas",
        ]
    );
}

#[test]
fn the_backstop_fills_the_hour_a_dst_change_leaves_uncovered() {
    // New York moves to summer time on 2027-03-14, London only on 03-28:
    // the Americas' 11:00-19:00 window now ends at 23:00 UTC, an hour
    // before Tokyo's 09:00, and the backstop (ben that week) covers it.
    let run = show(
        Some("America/New_York"),
        "follow-the-sun",
        "2027-03-13 10:00",
        "2027-03-15 10:00",
        &[],
    )
    .expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "\
follow-the-sun: 2027-03-13 10:00:00 EST to 2027-03-15 10:00:00 EDT (America/New_York)
{HEADER}
2027-03-13 10:00:00 EST  2027-03-13 11:00:00 EST      1.0 ben (Ben Miller)         layer europe
2027-03-13 11:00:00 EST  2027-03-13 19:00:00 EST      8.0 chloe (Chloe Martin)     layer americas
2027-03-13 19:00:00 EST  2027-03-14 04:00:00 EDT      8.0 aiko (Aiko Tanaka)       layer japan
2027-03-14 04:00:00 EDT  2027-03-14 11:00:00 EDT      7.0 ben (Ben Miller)         layer europe
2027-03-14 11:00:00 EDT  2027-03-14 19:00:00 EDT      8.0 chloe (Chloe Martin)     layer americas
2027-03-14 19:00:00 EDT  2027-03-14 20:00:00 EDT      1.0 ben (Ben Miller)         layer backstop
2027-03-14 20:00:00 EDT  2027-03-15 04:00:00 EDT      8.0 aiko (Aiko Tanaka)       layer japan
2027-03-15 04:00:00 EDT  2027-03-15 05:00:00 EDT      1.0 ben (Ben Miller)         layer europe
2027-03-15 05:00:00 EDT  2027-03-15 10:00:00 EDT      5.0 emma (Emma Schulz)       layer europe
"
        )
    );
}

#[test]
fn to_before_from_is_an_error() {
    for (from, to) in [
        ("2026-11-27", "2026-11-20"),
        ("2026-11-20T00:00:00Z", "2026-11-20T00:00:00Z"),
    ] {
        let run = show(None, "primary", from, to, &[]).expect_code(1);
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr, "klaxon: --to must be after --from\n");
    }
}

#[test]
fn an_unknown_schedule_is_an_error_naming_the_known_ones() {
    let run = show(None, "secondary", "2026-11-20", "2026-11-27", &[]).expect_code(1);
    assert_eq!(
        run.stderr,
        "klaxon: no schedule 'secondary' (known: follow-the-sun, primary)\n"
    );
}

#[test]
fn json_lists_the_shifts_with_person_and_source() {
    let report = show(
        None,
        "primary",
        "2026-12-21 09:00",
        "2026-12-28 09:00",
        &["--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        report,
        json!({
            "schedule": "primary",
            "time_zone": "Asia/Tokyo",
            "from": "2026-12-21T00:00:00Z",
            "to": "2026-12-28T00:00:00Z",
            "shifts": [
                {
                    "start": "2026-12-21T00:00:00Z",
                    "end": "2026-12-24T09:00:00Z",
                    "person": "daisuke",
                    "source": {"layer": "weekly", "index": 0},
                },
                {
                    "start": "2026-12-24T09:00:00Z",
                    "end": "2026-12-26T00:00:00Z",
                    "person": "ben",
                    "source": {"override": 0},
                },
                {
                    "start": "2026-12-26T00:00:00Z",
                    "end": "2026-12-28T00:00:00Z",
                    "person": "daisuke",
                    "source": {"layer": "weekly", "index": 0},
                },
            ],
        })
    );
}

#[test]
fn a_gap_before_the_rotation_starts_is_a_row_with_nobody() {
    let report = show(None, "primary", "2026-11-01", "2026-11-03", &["--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        report["shifts"],
        json!([
            {
                "start": "2026-10-31T15:00:00Z",
                "end": "2026-11-02T00:00:00Z",
                "person": null,
                "source": null,
            },
            {
                "start": "2026-11-02T00:00:00Z",
                "end": "2026-11-02T15:00:00Z",
                "person": "aiko",
                "source": {"layer": "weekly", "index": 0},
            },
        ])
    );
}
