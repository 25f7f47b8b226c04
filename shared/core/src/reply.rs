//! Parsing SMS replies: `ACK 4821`, `res4821`, `ＡＣＫ　４８２１`.
//!
//! Replies are normalised with Unicode NFKC (full-width letters, digits and
//! the ideographic space become ASCII), rid of invisible formatting
//! characters (zero-width spaces, direction marks, a byte order mark),
//! upper-cased and trimmed before the keyword and the four-digit code are
//! read.

use unicode_normalization::UnicodeNormalization;

use super::incident::AckCode;

/// What a reply asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyCommand {
    Acknowledge(AckCode),
    Resolve(AckCode),
    /// A keyword AWS End User Messaging answers itself (opt-out, opt-in,
    /// help: STOP, UNSTOP, START, HELP, ...), with the code it names, if any.
    /// Klaxon does not answer these.
    Keyword {
        keyword: String,
        code: Option<AckCode>,
    },
    /// Anything else.
    Unrecognised,
}

/// The keywords AWS End User Messaging handles for every number (its
/// opt-out list, opt-in and help answers).
pub const CARRIER_KEYWORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "ARRET",
    "UNSTOP",
    "START",
    "HELP",
    "INFO",
];

/// Whether a character is an invisible formatting character that phones
/// and keyboards insert (Unicode category Cf, the ones seen in text):
/// soft hyphen, Arabic letter mark, zero-width spaces and joiners,
/// direction marks, embeddings, overrides and isolates, word joiner and
/// invisible operators, byte order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

/// Parses one SMS reply body.
pub fn parse_reply(body: &str) -> ReplyCommand {
    let normalised: String = body
        .nfkc()
        .filter(|c| !invisible(*c))
        .collect::<String>()
        .to_uppercase();
    let text = normalised.trim().trim_end_matches(['.', '!', '。', '！']);
    let (keyword, rest) = split_keyword(text);
    let ack = match keyword {
        "ACK" | "ACKNOWLEDGE" | "A" => true,
        "RES" | "RESOLVE" | "R" => false,
        k if CARRIER_KEYWORDS.contains(&k) => {
            return ReplyCommand::Keyword {
                keyword: k.to_string(),
                code: read_code(rest),
            };
        }
        _ => return ReplyCommand::Unrecognised,
    };
    match read_code(rest) {
        Some(code) if ack => ReplyCommand::Acknowledge(code),
        Some(code) => ReplyCommand::Resolve(code),
        None => ReplyCommand::Unrecognised,
    }
}

/// The code right after the keyword. Words after it ("ACK 4821 on it") are
/// allowed; a longer number is not a code.
fn read_code(rest: &str) -> Option<AckCode> {
    let rest = rest.trim_start().trim_start_matches('#').trim_start();
    let digits = rest
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(rest.len(), |(i, _)| i);
    let (code, after) = rest.split_at(digits);
    if after
        .chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && !matches!(c, ',' | '.' | '!' | '?'))
    {
        return None;
    }
    AckCode::parse(code)
}

fn split_keyword(text: &str) -> (&str, &str) {
    let end = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphabetic())
        .map_or(text.len(), |(i, _)| i);
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(code: &str) -> ReplyCommand {
        ReplyCommand::Acknowledge(AckCode(code.into()))
    }

    fn res(code: &str) -> ReplyCommand {
        ReplyCommand::Resolve(AckCode(code.into()))
    }

    #[test]
    fn carrier_keywords_are_recognised_with_or_without_a_code() {
        let kw = |k: &str, c: Option<&str>| ReplyCommand::Keyword {
            keyword: k.into(),
            code: c.map(|c| AckCode(c.into())),
        };
        assert_eq!(parse_reply("STOP"), kw("STOP", None));
        assert_eq!(parse_reply("stop 4821"), kw("STOP", Some("4821")));
        assert_eq!(parse_reply("Help."), kw("HELP", None));
        assert_eq!(
            parse_reply("ＵＮＳＴＯＰ　０４２１"),
            kw("UNSTOP", Some("0421"))
        );
        assert_eq!(parse_reply("START"), kw("START", None));
        assert_eq!(parse_reply("STOPPING"), ReplyCommand::Unrecognised);
    }

    #[test]
    fn understands_ack_and_res_with_or_without_space_in_any_case() {
        let cases = [
            ("ACK 4821", ack("4821")),
            ("ack 4821", ack("4821")),
            ("Ack4821", ack("4821")),
            ("  ACK   4821  ", ack("4821")),
            ("RES 0042", res("0042")),
            ("res0042", res("0042")),
            ("Resolve 0042", res("0042")),
            ("acknowledge #4821", ack("4821")),
            ("ACK 4821.", ack("4821")),
            ("ACK 4821 on it", ack("4821")),
            ("ack 4821, thanks", ack("4821")),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_reply(input), expected, "{input:?}");
        }
    }

    #[test]
    fn understands_full_width_japanese_phone_input() {
        assert_eq!(parse_reply("ＡＣＫ　４８２１"), ack("4821"));
        assert_eq!(parse_reply("ａｃｋ４８２１"), ack("4821"));
        assert_eq!(parse_reply("ＲＥＳ　０１２３"), res("0123"));
        assert_eq!(parse_reply("ＲＥＳ０１２３。"), res("0123"));
        assert_eq!(parse_reply("ＡＣＫ　４８２１　対応します"), ack("4821"));
    }

    #[test]
    fn invisible_formatting_characters_are_ignored() {
        // Zero-width spaces, direction marks (phones in right-to-left
        // locales add them), a byte order mark, a soft hyphen.
        for input in [
            "ACK\u{200B}4821",
            "A\u{200B}CK 4821",
            "\u{200F}ACK 4821",
            "ACK \u{200E}4821\u{200E}",
            "\u{FEFF}ACK 4821",
            "\u{202E}ACK 4821\u{202C}",
            "\u{2066}ＡＣＫ　４８２１\u{2069}",
            "AC\u{00AD}K 48\u{2060}21",
        ] {
            assert_eq!(parse_reply(input), ack("4821"), "{input:?}");
        }
        // Visible look-alikes are not letters or digits of a code.
        for input in [
            "АСК 4821",
            "ACK ٤٨٢١",
            "A\u{0301}CK 4821",
            "ACK\u{0007}4821",
        ] {
            assert_eq!(parse_reply(input), ReplyCommand::Unrecognised, "{input:?}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for input in [
            "",
            "ACK",
            "ACK 482",
            "ACK 48211",
            "ACK abcd",
            "YES 4821",
            "4821",
            "了解",
            "ACK ４８２Ｘ",
            "BACK 4821",
            "ACK 4821x",
            "ACK 4821-1",
        ] {
            assert_eq!(parse_reply(input), ReplyCommand::Unrecognised, "{input:?}");
        }
    }
}
