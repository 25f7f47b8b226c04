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

/// Why a number that is E.164 in form still cannot be dialled: its calling
/// code is assigned to no country, or no number in that country's plan has
/// its length (`+1234` is E.164 in form, but NANP numbers have 10 digits).
///
/// Fictional ranges such as `+1 555 01xx` or the UK's `+44 7700 900xxx` have
/// a valid length and pass: they are common in tests and drills. Needs the
/// libphonenumber metadata, so it is only built with `numbering-plan`.
#[cfg(feature = "numbering-plan")]
pub fn numbering_plan_problem(phone: &Phone) -> Option<String> {
    use phonenumber::ParseError;
    use phonenumber::metadata::DATABASE;

    let masked = phone.masked();
    let number = match phonenumber::parse(None, phone.as_str()) {
        Ok(n) => n,
        Err(ParseError::InvalidCountryCode) => {
            return Some(format!("'{masked}' starts with no country's calling code"));
        }
        Err(_) => return Some(format!("'{masked}' is not a dialable number")),
    };
    let code = number.code().value();
    let national = number.national().to_string().len();
    let mut lengths: Vec<u16> = DATABASE
        .by_code(&code)
        .unwrap_or_default()
        .iter()
        .flat_map(|m| {
            let d = m.descriptors();
            [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .flat_map(|kind| kind.possible_length().iter().copied())
        })
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    // No lengths known for the code: nothing to check against.
    let (last, init) = lengths.split_last()?;
    if lengths.iter().any(|&l| usize::from(l) == national) {
        return None;
    }
    let expected = if init.is_empty() {
        last.to_string()
    } else {
        let init: Vec<String> = init.iter().map(u16::to_string).collect();
        format!("{} or {last}", init.join(", "))
    };
    Some(format!(
        "'{masked}' has {national} digit{} after +{code}; numbers there have {expected}",
        if national == 1 { "" } else { "s" }
    ))
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

    #[cfg(feature = "numbering-plan")]
    #[test]
    fn numbering_plans_reject_unassigned_codes_and_impossible_lengths() {
        let problem = |raw: &str| numbering_plan_problem(&Phone::parse(raw).unwrap());
        for ok in [
            "+819012340001",
            "+14155550102",
            "+15555550100",
            "+447700900102",
            "+4915112340005",
            "+33612345678",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        let short = problem("+1234").unwrap();
        assert!(short.contains("3 digits after +1"), "{short}");
        assert!(short.contains("7 or 10"), "{short}");
        assert!(!short.contains("1234'"), "masked: {short}");
        let french = problem("+3361234567").unwrap();
        assert!(
            french.contains("after +33; numbers there have 9"),
            "{french}"
        );
        let unassigned = problem("+999123456").unwrap();
        assert!(
            unassigned.contains("no country's calling code"),
            "{unassigned}"
        );
        assert!(problem("+12").is_some());
        assert!(problem("+10000000000").is_some());
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
