//! Time helpers. Klaxon stores and compares UTC instants only; time zones
//! appear at the edges (display, schedules).
//!
//! This is Klaxon's one time parser: [`parse_instant`] reads absolute
//! instants (alarm events, stored records); [`parse_written`] and
//! [`parse_in_zone`] add the forms people write (zoned, civil), for
//! schedule overrides and the command line. There is no clock here: `now`
//! is the caller's business.

use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// Formats an instant as fixed-width ISO 8601 UTC with milliseconds, e.g.
/// `2026-11-21T06:01:02.345Z`. Fixed width keeps lexical order equal to time
/// order, which DynamoDB sort keys rely on.
pub fn iso(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an ISO 8601 / RFC 3339 instant. CloudWatch writes offsets such as
/// `+0000`, which are accepted too.
pub fn parse_instant(s: &str) -> Option<Timestamp> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    // CloudWatch classic notifications use `2026-11-21T06:01:02.345+0000`.
    jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%z", s)
        .ok()
        .and_then(|t| t.to_timestamp().ok())
}

/// A time as a person writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// An instant: with an offset, or zoned (`…[Asia/Tokyo]`).
    Instant(Timestamp),
    /// A civil date-time (or a date, meaning its midnight) whose zone the
    /// reader supplies.
    Civil(DateTime),
}

impl Written {
    /// The instant, reading a civil time in `tz` (a time skipped by a
    /// transition moves forward, a repeated one means the earlier).
    pub fn in_zone(self, tz: &TimeZone) -> Result<Timestamp, TimeError> {
        match self {
            Self::Instant(ts) => Ok(ts),
            Self::Civil(dt) => tz
                .to_ambiguous_timestamp(dt)
                .compatible()
                .map_err(|e| TimeError::OutOfRange(e.to_string())),
        }
    }
}

/// Reads anything [`parse_instant`] reads, a zoned time
/// (`2026-11-21T09:00[Asia/Tokyo]`), or a civil date-time or date
/// (`2026-11-21T09:00`, `2026-11-21 09:00`, `2026-11-21`). Surrounding
/// spaces are not trimmed.
pub fn parse_written(text: &str) -> Option<Written> {
    if let Some(ts) = parse_instant(text) {
        return Some(Written::Instant(ts));
    }
    // A zoned time always carries its zone in brackets.
    if text.contains('[')
        && let Ok(zoned) = text.parse::<Zoned>()
    {
        return Some(Written::Instant(zoned.timestamp()));
    }
    text.parse::<DateTime>().ok().map(Written::Civil)
}

/// Why [`parse_in_zone`] read no instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not a time in any form [`parse_written`] reads.
    NotATime,
    /// A civil time that has no instant in the zone (out of range).
    OutOfRange(String),
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotATime => f.write_str(
                "not a time: use 2026-11-21T09:00:00+09:00, 2026-11-21T09:00[Asia/Tokyo], \
                 2026-11-21 09:00 or 2026-11-21",
            ),
            Self::OutOfRange(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for TimeError {}

/// Reads any form [`parse_written`] reads; civil times are taken in `tz`.
pub fn parse_in_zone(text: &str, tz: &TimeZone) -> Result<Timestamp, TimeError> {
    parse_written(text).ok_or(TimeError::NotATime)?.in_zone(tz)
}

/// Serde for a [`Timestamp`] in Klaxon's one stored format, what [`iso`]
/// writes (`2026-11-21T06:01:02.345Z`); reads anything [`parse_instant`]
/// reads. Use as `#[serde(with = "crate::time::iso_ms")]`.
pub mod iso_ms {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de};

    use super::{iso, parse_instant};

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&iso(*ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        parse_instant(&text)
            .ok_or_else(|| de::Error::custom(format!("'{text}' is not an ISO 8601 timestamp")))
    }
}

/// [`iso_ms`] for an `Option<Timestamp>` (`None` is `null`). Use as
/// `#[serde(default, with = "crate::time::iso_ms_opt")]`.
pub mod iso_ms_opt {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => super::iso_ms::serialize(ts, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        #[derive(Deserialize)]
        struct Iso(#[serde(with = "super::iso_ms")] Timestamp);
        Ok(Option::<Iso>::deserialize(d)?.map(|Iso(ts)| ts))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[test]
    fn iso_is_fixed_width_utc_with_millis() {
        let ts: Timestamp = "2026-11-21T06:01:02Z".parse().unwrap();
        assert_eq!(iso(ts), "2026-11-21T06:01:02.000Z");
    }

    #[test]
    fn parses_cloudwatch_offsets_without_colon() {
        let ts = parse_instant("2026-11-21T06:01:02.345+0000").unwrap();
        assert_eq!(iso(ts), "2026-11-21T06:01:02.345Z");
        let ts = parse_instant("2026-11-21T15:01:02.345+09:00").unwrap();
        assert_eq!(iso(ts), "2026-11-21T06:01:02.345Z");
        assert!(parse_instant("yesterday").is_none());
    }

    #[test]
    fn instants_need_an_offset() {
        assert!(parse_instant("2026-11-21T09:00").is_none());
        assert!(parse_instant("2026-11-21T09:00[Asia/Tokyo]").is_none());
        assert!(parse_instant("2026-11-21").is_none());
    }

    #[test]
    fn the_same_instant_reads_the_same_in_every_form() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let want: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        for text in [
            "2026-11-21T00:00:00Z",
            "2026-11-21T00:00:00.000+0000",
            "2026-11-21T09:00:00+09:00",
            "2026-11-20T19:00:00-05:00[America/New_York]",
            "2026-11-21T09:00[Asia/Tokyo]",
        ] {
            assert_eq!(parse_written(text), Some(Written::Instant(want)), "{text}");
            assert_eq!(parse_in_zone(text, &TimeZone::UTC), Ok(want), "{text}");
        }
        for text in [
            "2026-11-21 09:00",
            "2026-11-21T09:00",
            "2026-11-21T09:00:00",
        ] {
            assert!(
                matches!(parse_written(text), Some(Written::Civil(_))),
                "{text}"
            );
            assert_eq!(parse_in_zone(text, &tokyo), Ok(want), "{text}");
        }
        assert_eq!(
            parse_in_zone("2026-11-21", &tokyo),
            Ok("2026-11-20T15:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn civil_times_in_a_transition_read_as_the_earlier_or_the_later_instant() {
        let ny = TimeZone::get("America/New_York").unwrap();
        // 02:30 does not exist on 2026-03-08: it moves forward to 03:30 EDT.
        assert_eq!(
            parse_in_zone("2026-03-08T02:30", &ny),
            Ok("2026-03-08T07:30:00Z".parse().unwrap())
        );
        // 01:30 happens twice on 2026-11-01: the earlier, EDT.
        assert_eq!(
            parse_in_zone("2026-11-01T01:30", &ny),
            Ok("2026-11-01T05:30:00Z".parse().unwrap())
        );
    }

    #[test]
    fn nonsense_and_out_of_range_times_are_told_apart() {
        for text in ["tomorrow", "", " 2026-11-21T09:00", "2026-13-01T00:00"] {
            assert_eq!(
                parse_in_zone(text, &TimeZone::UTC),
                Err(TimeError::NotATime),
                "{text:?}"
            );
        }
        let east = TimeZone::fixed(jiff::tz::offset(14));
        assert!(matches!(
            parse_in_zone("-009999-01-01T00:00", &east),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(TimeError::NotATime.to_string().contains("not a time"));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Stored {
        #[serde(with = "iso_ms")]
        at: Timestamp,
        #[serde(default, with = "iso_ms_opt")]
        until: Option<Timestamp>,
    }

    #[test]
    fn iso_ms_writes_the_fixed_format_and_reads_any_instant() {
        let at: Timestamp = "2026-11-21T06:01:02Z".parse().unwrap();
        let stored = Stored { at, until: None };
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(json, r#"{"at":"2026-11-21T06:01:02.000Z","until":null}"#);
        assert_eq!(serde_json::from_str::<Stored>(&json).unwrap(), stored);

        let read: Stored = serde_json::from_str(
            r#"{"at":"2026-11-21T15:01:02+09:00","until":"2026-11-21T06:01:02.345+0000"}"#,
        )
        .unwrap();
        assert_eq!(read.at, at);
        assert_eq!(
            serde_json::to_value(&read).unwrap()["until"],
            "2026-11-21T06:01:02.345Z"
        );
        assert_eq!(
            serde_json::from_str::<Stored>(r#"{"at":"2026-11-21T06:01:02Z"}"#)
                .unwrap()
                .until,
            None
        );

        let e = serde_json::from_str::<Stored>(r#"{"at":"soon"}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("'soon' is not an ISO 8601 timestamp"),
            "{e}"
        );
        assert!(
            serde_json::from_str::<Stored>(r#"{"at":"2026-11-21T06:01:02Z","until":"later"}"#)
                .is_err()
        );
    }
}
