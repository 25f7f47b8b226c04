//! E.164 phone numbers, and masking them for logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form: `+`, a country code that does not start with
/// 0, and at most 15 digits in all.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits = raw.strip_prefix('+').ok_or_else(|| {
            format!(
                "'{}' is not E.164: it must start with '+' and a country code",
                mask(raw)
            )
        })?;
        let ok = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(format!(
                "'{}' is not E.164: '+' then 2 to 15 digits, no spaces, not starting with 0",
                mask(raw)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number for logs: country code and last four digits only.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> Self {
        p.0
    }
}

/// Debug never prints the whole number, so a stray `{:?}` cannot leak it.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// Masks a phone-like string: keeps a leading `+` with up to two digits of
/// country code and the last four characters, e.g. `+81******1234`.
pub fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head = if chars[0] == '+' { 3 } else { 0 };
    let tail = 4;
    let mut out = String::with_capacity(chars.len());
    for (i, c) in chars.iter().enumerate() {
        if i < head || i >= chars.len() - tail {
            out.push(*c);
        } else {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_numbers() {
        for ok in ["+819012345678", "+14155550123", "+442071838750", "+12"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_numbers_that_are_not_e164() {
        for bad in [
            "09012345678",
            "+0901234",
            "+81 90 1234 5678",
            "+8190-1234-5678",
            "+1234567890123456",
            "+",
            "",
            "+81９０１２",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masks_all_but_country_code_and_last_four() {
        assert_eq!(mask("+819012341234"), "+81******1234");
        assert_eq!(
            Phone::parse("+14155550123").unwrap().masked(),
            "+14*****0123"
        );
        assert_eq!(mask("12345"), "*****");
        assert!(!format!("{:?}", Phone::parse("+819012345678").unwrap()).contains("9012345"));
    }
}
