//! Status updates: what an operator tells stakeholders about an incident
//! (`klaxon incidents update`), separate from paging responders. The
//! states are Statuspage's, which stakeholders know.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the response stands, as stakeholders are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl UpdateStatus {
    pub const ALL: [Self; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for UpdateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest update accepted, in characters: it goes to chat, email and
/// a status page, and must stay readable on a phone.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The message as it will be posted (trimmed), or why it cannot be.
pub fn message(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("the message is empty".into());
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(format!(
            "the message has {chars} characters; at most {MAX_MESSAGE_CHARS}"
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("the message contains control characters".into());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_written_in_any_case() {
        for s in UpdateStatus::ALL {
            assert_eq!(UpdateStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            UpdateStatus::parse(" Identified "),
            Some(UpdateStatus::Identified)
        );
        assert_eq!(UpdateStatus::parse("fixed"), None);
    }

    #[test]
    fn a_message_is_trimmed_and_bounded() {
        assert_eq!(
            message("  DB failover done.\n").unwrap(),
            "DB failover done."
        );
        assert!(message(" \n ").unwrap_err().contains("empty"));
        assert!(message(&"あ".repeat(2001)).unwrap_err().contains("2001"));
        assert!(message(&"あ".repeat(2000)).is_ok());
        assert!(message("a\u{7}b").unwrap_err().contains("control"));
        assert!(message("line one\nline two").is_ok());
    }
}
