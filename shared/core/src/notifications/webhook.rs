//! Signed webhooks: the incident event as EventBridge would deliver it
//! (`id`, `source`, `detail-type`, `time`, `detail`), POSTed as JSON with
//! an HMAC-SHA256 signature over the timestamp and the body, so the
//! receiver can check it came from Klaxon and drop replays.
//!
//! Headers: `X-Klaxon-Event-Id` (the stable `detail.event_id`, for
//! dedup), `X-Klaxon-Timestamp` (Unix seconds when sent) and
//! `X-Klaxon-Signature` (`v1=` and the lowercase hex HMAC-SHA256, keyed
//! with the signing key, of `<timestamp>.<body>`).

use serde_json::{Value, json};

use crate::events::{BusEvent, SOURCE};
use crate::signature::sign;
use crate::time::iso;

pub const EVENT_ID_HEADER: &str = "X-Klaxon-Event-Id";
pub const TIMESTAMP_HEADER: &str = "X-Klaxon-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Klaxon-Signature";

/// The body: the same envelope and detail as on Klaxon's bus.
pub fn body(event: &BusEvent) -> Value {
    json!({
        "version": "0",
        "id": event.detail.event_id,
        "source": SOURCE,
        "detail-type": event.detail_type.as_str(),
        "time": iso(event.time),
        "detail": event.detail,
    })
}

/// What to POST: the body's exact bytes and its headers, signed with `key`
/// at `timestamp` (Unix seconds), as [`crate::signature::verify`]
/// checks them.
pub fn signed(event: &BusEvent, key: &[u8], timestamp: i64) -> (Vec<u8>, Vec<(String, String)>) {
    let body = body(event).to_string().into_bytes();
    let signature = sign(key, timestamp, &body);
    (body, headers(event, timestamp, signature))
}

/// The headers of a delivery sent at `timestamp` (Unix seconds) whose body
/// signs to `signature` (from [`crate::signature::sign`]).
pub fn headers(event: &BusEvent, timestamp: i64, signature: String) -> Vec<(String, String)> {
    vec![
        (EVENT_ID_HEADER.into(), event.detail.event_id.clone()),
        (TIMESTAMP_HEADER.into(), timestamp.to_string()),
        (SIGNATURE_HEADER.into(), signature),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DetailType;
    use crate::fixtures::sample_bus_event;

    #[test]
    fn the_body_is_the_bus_envelope_with_the_detail_as_published() {
        let event = sample_bus_event(DetailType::IncidentAcknowledged);
        let b = body(&event);
        assert_eq!(b["id"], event.detail.event_id.as_str());
        assert_eq!(b["source"], "klaxon");
        assert_eq!(b["detail-type"], "Incident Acknowledged");
        assert_eq!(b["detail"], serde_json::to_value(&event.detail).unwrap());
        let h = headers(&event, 1_764_576_000, "v1=ab".into());
        assert!(h.contains(&(TIMESTAMP_HEADER.into(), "1764576000".into())));
        assert!(h.contains(&(EVENT_ID_HEADER.into(), event.detail.event_id.clone())));
    }

    #[test]
    fn a_signed_delivery_verifies_with_the_key_and_its_own_timestamp_header() {
        use crate::signature::{TOLERANCE_SECS, verify};
        let event = sample_bus_event(DetailType::IncidentAcknowledged);
        let (body, h) = signed(&event, b"key", 1_764_576_000);
        let header = |name: &str| {
            h.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let at: i64 = header(TIMESTAMP_HEADER).parse().unwrap();
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(sent, super::body(&event));
        assert_eq!(
            verify(
                b"key",
                at,
                &body,
                &header(SIGNATURE_HEADER),
                at + 5,
                TOLERANCE_SECS
            ),
            Ok(())
        );
    }
}
