//! Instants typed on the command line: `now`, or any form
//! [`klaxon_core::time::parse_in_zone`] reads.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use klaxon_core::time::{TimeError, parse_in_zone};

/// Reads `now`, an RFC 3339 instant (`2026-11-21T09:00:00+09:00`, `...Z`),
/// a zoned one (`2026-11-21T09:00[Asia/Tokyo]`), or a civil date-time or
/// date (`2026-11-21 09:00`, `2026-11-21`) taken in `tz`.
pub fn parse_instant(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(Timestamp::now());
    }
    parse_in_zone(t, tz).map_err(|e| match e {
        TimeError::OutOfRange(reason) => format!("'{t}': {reason}"),
        TimeError::NotATime => format!(
            "'{t}' is not a time: use now, 2026-11-21T09:00:00+09:00, 2026-11-21T09:00[Asia/Tokyo], 2026-11-21 09:00 or 2026-11-21"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_and_padding_are_the_cli_s_own_every_other_form_is_core_s() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let want: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        assert_eq!(parse_instant(" 2026-11-21T09:00 ", &tokyo).unwrap(), want);
        let before = Timestamp::now();
        let now = parse_instant(" NOW", &tokyo).unwrap();
        assert!(now >= before && now <= Timestamp::now());
    }

    #[test]
    fn nonsense_is_explained() {
        let e = parse_instant("yesterday-ish", &TimeZone::UTC).unwrap_err();
        assert!(e.contains("is not a time: use now,"), "{e}");
        let east = TimeZone::fixed(jiff::tz::offset(14));
        let e = parse_instant("-009999-01-01", &east).unwrap_err();
        assert!(e.starts_with("'-009999-01-01': "), "{e}");
    }
}
