//! Time helpers. Klaxon stores and compares UTC instants only; time zones
//! appear at the edges (display, schedules).

use jiff::Timestamp;

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

#[cfg(test)]
mod tests {
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
}
