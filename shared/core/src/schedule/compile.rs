//! Turns a [`ScheduleSpec`] into a [`Schedule`], reporting every problem.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use super::layer::{DAY, Layer, WEEK, Windows, Zone, civil_seconds};
use super::spec::{LayerSpec, OverrideSpec, RotationUnit, ScheduleSpec};
use super::{Override, Schedule};
use crate::time::{TimeError, Written, parse_written};

type Problems = Vec<(String, String)>;

fn problem(problems: &mut Problems, path: impl Into<String>, message: impl Into<String>) {
    problems.push((path.into(), message.into()));
}

pub(super) fn compile(
    spec: &ScheduleSpec,
    is_person: &dyn Fn(&str) -> bool,
) -> Result<Schedule, Problems> {
    let mut problems = Problems::new();
    let time_zone = zone(&spec.time_zone, "time_zone", &mut problems);
    if spec.layers.is_empty() {
        problem(
            &mut problems,
            "layers",
            "a schedule needs at least one layer",
        );
    }
    let mut layers = Vec::with_capacity(spec.layers.len());
    for (i, layer) in spec.layers.iter().enumerate() {
        let path = format!("layers[{i}]");
        if let Some(j) = spec.layers[..i].iter().position(|l| l.name == layer.name) {
            problem(
                &mut problems,
                format!("{path}.name"),
                format!("duplicate layer name {:?} (also layers[{j}])", layer.name),
            );
        }
        if let Some(layer) =
            compile_layer(layer, &path, time_zone.as_ref(), is_person, &mut problems)
        {
            layers.push(layer);
        }
    }
    let overrides = compile_overrides(
        &spec.overrides,
        time_zone.as_ref(),
        is_person,
        &mut problems,
    );
    match time_zone {
        Some(time_zone) if problems.is_empty() => Ok(Schedule {
            time_zone,
            layers,
            overrides,
        }),
        _ => Err(problems),
    }
}

fn zone(name: &str, path: &str, problems: &mut Problems) -> Option<TimeZone> {
    match TimeZone::get(name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            problem(
                problems,
                path,
                format!("unknown time zone {name:?} (expected an IANA name like Europe/Berlin)"),
            );
            None
        }
    }
}

fn compile_layer(
    spec: &LayerSpec,
    path: &str,
    schedule_zone: Option<&TimeZone>,
    is_person: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
) -> Option<Layer> {
    let before = problems.len();
    if spec.name.trim().is_empty() {
        problem(problems, format!("{path}.name"), "must not be empty");
    }
    let tz = match &spec.time_zone {
        Some(name) => zone(name, &format!("{path}.time_zone"), problems),
        None => schedule_zone.cloned(),
    };

    let unit = match spec.rotation {
        RotationUnit::Hourly => 3_600,
        RotationUnit::Daily => DAY,
        RotationUnit::Weekly => WEEK,
    };
    let every = i64::from(spec.every.unwrap_or(1));
    let step = every * unit;
    if every == 0 {
        problem(problems, format!("{path}.every"), "must be at least 1");
    } else if step > 365 * DAY {
        problem(
            problems,
            format!("{path}.every"),
            format!(
                "{every} {} shifts are longer than 365 days",
                match spec.rotation {
                    RotationUnit::Hourly => "hour",
                    RotationUnit::Daily => "day",
                    RotationUnit::Weekly => "week",
                }
            ),
        );
    }

    let handoff = match &spec.handoff {
        None => Some(9 * 3_600),
        Some(text) => clock(text, false).or_else(|| {
            problem(
                problems,
                format!("{path}.handoff"),
                clock_message(text, false),
            );
            None
        }),
    };
    let handoff_day = match (&spec.handoff_day, spec.rotation) {
        (None, _) => None,
        (Some(_), RotationUnit::Hourly | RotationUnit::Daily) => {
            problem(
                problems,
                format!("{path}.handoff_day"),
                "only weekly rotations have a handoff day",
            );
            None
        }
        (Some(text), RotationUnit::Weekly) => weekday(text).or_else(|| {
            problem(
                problems,
                format!("{path}.handoff_day"),
                weekday_message(text),
            );
            None
        }),
    };
    let start = date(&spec.start, &format!("{path}.start"), problems);
    let end = spec
        .end
        .as_deref()
        .and_then(|text| date(text, &format!("{path}.end"), problems));
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        problem(
            problems,
            format!("{path}.end"),
            format!("must be after start ({start})"),
        );
    }

    if spec.participants.is_empty() {
        problem(
            problems,
            format!("{path}.participants"),
            "empty rotation: at least one participant is needed",
        );
    }
    for (j, person) in spec.participants.iter().enumerate() {
        if !is_person(person) {
            problem(
                problems,
                format!("{path}.participants[{j}]"),
                format!("unknown person {person:?}"),
            );
        }
    }
    let windows = restrictions(spec, path, problems);

    let (tz, handoff, start) = (tz?, handoff?, start?);
    if problems.len() > before {
        return None;
    }
    let first_day = match (spec.rotation, handoff_day) {
        (RotationUnit::Weekly, Some(day)) => {
            match start.checked_add(jiff::Span::new().days(start.weekday().until(day))) {
                Ok(first_day) => first_day,
                Err(_) => {
                    problem(
                        problems,
                        format!("{path}.start"),
                        format!("no {day:?} on or after {start} in the supported range"),
                    );
                    return None;
                }
            }
        }
        _ => start,
    };
    let anchor = civil_seconds(first_day.to_datetime(Time::midnight())) + handoff;
    let zone = Zone::new(tz);
    let end = end.map(|end| zone.instant(civil_seconds(end.to_datetime(Time::midnight()))));
    Some(Layer::new(
        spec.name.clone(),
        zone,
        anchor,
        step,
        end,
        spec.participants.clone(),
        windows?,
    ))
}

/// The layer's merged restriction windows: `Some(None)` for none,
/// `None` after a problem.
fn restrictions(spec: &LayerSpec, path: &str, problems: &mut Problems) -> Option<Option<Windows>> {
    if spec.restrictions.is_empty() {
        return Some(None);
    }
    let before = problems.len();
    // (start, end, restriction index) in week seconds.
    let mut intervals: Vec<(i64, i64, usize)> = Vec::new();
    for (j, window) in spec.restrictions.iter().enumerate() {
        let path = format!("{path}.restrictions[{j}]");
        let days: Vec<Weekday> = match &window.days {
            None => (0..7)
                .filter_map(|d| Weekday::from_monday_zero_offset(d).ok())
                .collect(),
            Some(names) if names.is_empty() => {
                problem(
                    problems,
                    format!("{path}.days"),
                    "empty list: omit days to mean every day",
                );
                continue;
            }
            Some(names) => {
                let mut days = Vec::new();
                for (m, name) in names.iter().enumerate() {
                    match weekday(name) {
                        Some(day) if days.contains(&day) => problem(
                            problems,
                            format!("{path}.days[{m}]"),
                            format!("{name:?} is listed twice"),
                        ),
                        Some(day) => days.push(day),
                        None => {
                            problem(problems, format!("{path}.days[{m}]"), weekday_message(name))
                        }
                    }
                }
                days
            }
        };
        let from = clock(&window.from, false);
        if from.is_none() {
            problem(
                problems,
                format!("{path}.from"),
                clock_message(&window.from, false),
            );
        }
        let to = clock(&window.to, true);
        if to.is_none() {
            problem(
                problems,
                format!("{path}.to"),
                clock_message(&window.to, true),
            );
        }
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if from == to {
            problem(problems, path, "empty window: from equals to");
            continue;
        }
        let length = if to > from {
            to - from
        } else {
            to + DAY - from
        };
        for day in days {
            let start = i64::from(day.to_monday_zero_offset()) * DAY + from;
            intervals.push((start, start + length, j));
        }
    }
    // Overlaps, in the civil week (a window wrapping past Sunday comes back
    // on Monday).
    let mut reported: Vec<(usize, usize)> = Vec::new();
    for (a, &(start_a, end_a, j)) in intervals.iter().enumerate() {
        for &(start_b, end_b, k) in &intervals[a + 1..] {
            let (first, second) = (j.min(k), j.max(k));
            if j == k || reported.contains(&(first, second)) {
                continue;
            }
            let overlap = |s1: i64, e1: i64, s2: i64, e2: i64| s1 < e2 && s2 < e1;
            if overlap(start_a, end_a, start_b, end_b)
                || overlap(start_a + WEEK, end_a + WEEK, start_b, end_b)
                || overlap(start_a, end_a, start_b + WEEK, end_b + WEEK)
            {
                reported.push((first, second));
                problem(
                    problems,
                    format!("{path}.restrictions[{second}]"),
                    format!("overlapping windows: overlaps restrictions[{first}]"),
                );
            }
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Windows::merge(
        intervals
            .into_iter()
            .map(|(start, end, _)| (start, end))
            .collect(),
    ))
}

fn compile_overrides(
    specs: &[OverrideSpec],
    tz: Option<&TimeZone>,
    is_person: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
) -> Vec<Override> {
    let mut overrides = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let path = format!("overrides[{i}]");
        if !is_person(&spec.person) {
            problem(
                problems,
                format!("{path}.person"),
                format!("unknown person {:?}", spec.person),
            );
        }
        let from = instant(&spec.from, tz, &format!("{path}.from"), problems);
        let to = instant(&spec.to, tz, &format!("{path}.to"), problems);
        let (Some(start), Some(end)) = (from, to) else {
            continue;
        };
        if end <= start {
            problem(
                problems,
                format!("{path}.to"),
                format!("must be after from ({start})"),
            );
            continue;
        }
        overrides.push(Override {
            index: i,
            person: spec.person.clone(),
            start,
            end,
        });
    }
    for (a, first) in overrides.iter().enumerate() {
        for second in &overrides[a + 1..] {
            if first.start < second.end && second.start < first.end {
                problem(
                    problems,
                    format!("overrides[{}]", second.index),
                    format!(
                        "overlaps overrides[{}]: which person is on call would be ambiguous",
                        first.index
                    ),
                );
            }
        }
    }
    overrides.sort_by_key(|o| o.start);
    overrides
}

/// `HH:MM` or `HH:MM:SS` as seconds of the day; `24:00` too when
/// `end_of_day`.
fn clock(text: &str, end_of_day: bool) -> Option<i64> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let number = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<i64>().ok());
    let (hour, minute, second) = (number(0)?, number(1)?, number(2)?);
    if hour == 24 && minute == 0 && second == 0 && end_of_day {
        return Some(DAY);
    }
    (hour < 24 && minute < 60 && second < 60).then_some(hour * 3_600 + minute * 60 + second)
}

fn clock_message(text: &str, end_of_day: bool) -> String {
    let forms = if end_of_day {
        "HH:MM, HH:MM:SS or 24:00"
    } else {
        "HH:MM or HH:MM:SS"
    };
    format!("expected a time of day {forms}, got {text:?}")
}

fn weekday(text: &str) -> Option<Weekday> {
    use Weekday::*;
    Some(match text.to_ascii_lowercase().as_str() {
        "monday" | "mon" => Monday,
        "tuesday" | "tue" => Tuesday,
        "wednesday" | "wed" => Wednesday,
        "thursday" | "thu" => Thursday,
        "friday" | "fri" => Friday,
        "saturday" | "sat" => Saturday,
        "sunday" | "sun" => Sunday,
        _ => return None,
    })
}

fn weekday_message(text: &str) -> String {
    format!("expected a weekday like monday or mon, got {text:?}")
}

/// A `YYYY-MM-DD` date.
fn date(text: &str, path: &str, problems: &mut Problems) -> Option<Date> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    match text.parse::<Date>() {
        Ok(date) if shaped => Some(date),
        _ => {
            problem(
                problems,
                path,
                format!("expected a date YYYY-MM-DD, got {text:?}"),
            );
            None
        }
    }
}

/// An override time: RFC 3339 with an offset, a zoned `…[Zone]` string, or
/// civil time in the schedule's zone.
fn instant(
    text: &str,
    tz: Option<&TimeZone>,
    path: &str,
    problems: &mut Problems,
) -> Option<Timestamp> {
    let read = match (parse_written(text), tz) {
        (Some(written), Some(tz)) => written.in_zone(tz),
        (Some(Written::Instant(ts)), None) => Ok(ts),
        // Without a valid schedule zone, that problem is already reported.
        (Some(Written::Civil(_)), None) => return None,
        (None, _) => Err(TimeError::NotATime),
    };
    match read {
        Ok(ts) => Some(ts),
        Err(TimeError::OutOfRange(_)) => {
            problem(problems, path, format!("{text:?} is out of range"));
            None
        }
        Err(TimeError::NotATime) => {
            problem(
                problems,
                path,
                format!(
                    "expected a civil time like 2026-11-21T10:00 (schedule time zone) \
                     or RFC 3339 like 2026-11-21T01:00:00Z, got {text:?}"
                ),
            );
            None
        }
    }
}
