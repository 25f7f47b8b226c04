//! Webhook signatures: `v1=` and the lowercase hex HMAC-SHA256, keyed with
//! the webhook's signing key, of `<timestamp>.<body>` (the timestamp in
//! Unix seconds, as sent in `X-Klaxon-Timestamp`). A receiver recomputes
//! it, compares in constant time, and drops a delivery whose timestamp is
//! too far from its own clock (a replay).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The scheme prefix of a signature.
pub const SCHEME: &str = "v1=";

/// How far a timestamp may be from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is not `v1=` and 64 hex digits")]
    Malformed,
    #[error("the signature does not match the body and timestamp")]
    Mismatch,
    #[error("the timestamp is {age} s from now, more than the {tolerance} s allowed")]
    Stale { age: i64, tolerance: i64 },
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Klaxon-Signature` value of `body` sent at `timestamp`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key, timestamp, body).finalize().into_bytes();
    format!("{SCHEME}{}", hex::encode(tag))
}

/// Checks a delivery as a receiver would: the signature matches (compared
/// in constant time) and `timestamp` is within `tolerance_secs` of
/// `now_unix`, either way.
pub fn verify(
    key: &[u8],
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let hex_tag = signature
        .trim()
        .strip_prefix(SCHEME)
        .ok_or(SignatureError::Malformed)?;
    let tag = hex::decode(hex_tag).map_err(|_| SignatureError::Malformed)?;
    if tag.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    mac(key, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)?;
    let age = now_unix.saturating_sub(timestamp);
    if age.saturating_abs() > tolerance_secs {
        return Err(SignatureError::Stale {
            age,
            tolerance: tolerance_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"whsec_klaxon_test";
    const AT: i64 = 1_764_576_000;
    const BODY: &[u8] = br#"{"id":"evt-1"}"#;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_timestamp_dot_body() {
        // python3: hmac.new(b"whsec_klaxon_test",
        //   b'1764576000.{"id":"evt-1"}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(KEY, AT, BODY),
            "v1=a256e972e189514adc2d301ea64ecc4ef6d8f5b212875271ed1183de1624449b"
        );
    }

    #[test]
    fn a_fresh_signed_delivery_verifies() {
        let s = sign(KEY, AT, BODY);
        assert_eq!(verify(KEY, AT, BODY, &s, AT + 10, TOLERANCE_SECS), Ok(()));
        assert_eq!(verify(KEY, AT, BODY, &s, AT - 10, TOLERANCE_SECS), Ok(()));
    }

    #[test]
    fn a_tampered_body_timestamp_or_key_does_not_verify() {
        let s = sign(KEY, AT, BODY);
        let tampered = br#"{"id":"evt-2"}"#;
        assert_eq!(
            verify(KEY, AT, tampered, &s, AT, TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(KEY, AT + 1, BODY, &s, AT, TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other key", AT, BODY, &s, AT, TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_delivery_older_or_newer_than_five_minutes_is_a_replay() {
        let s = sign(KEY, AT, BODY);
        assert_eq!(
            verify(KEY, AT, BODY, &s, AT + 301, TOLERANCE_SECS),
            Err(SignatureError::Stale {
                age: 301,
                tolerance: 300
            })
        );
        assert!(verify(KEY, AT, BODY, &s, AT - 301, TOLERANCE_SECS).is_err());
        assert_eq!(verify(KEY, AT, BODY, &s, AT + 300, TOLERANCE_SECS), Ok(()));
    }

    #[test]
    fn a_signature_without_the_scheme_or_of_the_wrong_length_is_malformed() {
        let s = sign(KEY, AT, BODY);
        let bare = s.trim_start_matches(SCHEME);
        for bad in [bare, "v1=zz", "v1=abcd", "v0=00", ""] {
            assert_eq!(
                verify(KEY, AT, BODY, bad, AT, TOLERANCE_SECS),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
