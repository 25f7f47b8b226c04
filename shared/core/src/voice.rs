//! Voice pages: what a call says, in the responder's language, and what
//! each event of the call leads to. Pure: the voice-call function turns the
//! SIP media application's events into [`Input`]s, performs the status
//! change a keypress asks for, and turns the [`Line`]s back into actions.
//!
//! Keys follow PagerDuty and GoAlert: 4 acknowledges, 6 resolves, star
//! repeats the message. No key removes anyone or unsubscribes. A wrong key
//! repeats the options; silence repeats them up to twice, then the call
//! ends, not acknowledged.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::incident::Status;

mod arguments;
pub use arguments::{CallArguments, CallPurpose};

/// The key that acknowledges.
pub const ACK_KEY: &str = "4";
/// The key that resolves.
pub const RESOLVE_KEY: &str = "6";
/// The key that repeats the message.
pub const REPEAT_KEY: &str = "*";
/// Silences answered by repeating the options; the next one ends the call.
pub const MAX_SILENCES: u8 = 2;
/// Prompts in one call, whatever the keys: a caller pressing wrong keys
/// forever does not keep the line (and the SIP media application's limit
/// of 1,000 invocations per call) busy.
pub const MAX_PROMPTS: u8 = 8;

/// A language a call can be made in, with the Amazon Polly voice that
/// speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    EnUs,
    JaJp,
}

/// The languages a person's `language` may name.
pub const LANGUAGES: [&str; 2] = ["en-US", "ja-JP"];

impl Language {
    /// `en-US` or `ja-JP` (case-insensitive; `_` for `-` accepted).
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().replace('_', "-").to_ascii_lowercase().as_str() {
            "en-us" => Some(Self::EnUs),
            "ja-jp" => Some(Self::JaJp),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::EnUs => "en-US",
            Self::JaJp => "ja-JP",
        }
    }

    /// The Polly voice and engine: neural voices, which the Chime SDK's
    /// Speak actions accept (`standard` or `neural`).
    pub fn voice(self) -> Voice {
        match self {
            Self::EnUs => Voice {
                language_code: "en-US",
                voice_id: "Joanna",
                engine: "neural",
            },
            Self::JaJp => Voice {
                language_code: "ja-JP",
                voice_id: "Takumi",
                engine: "neural",
            },
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a text is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voice {
    pub language_code: &'static str,
    pub voice_id: &'static str,
    pub engine: &'static str,
}

/// What a call is about, read when it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A page for an incident.
    Page {
        service: String,
        /// `SEV1`..`SEV4`.
        severity: String,
        alarm: String,
    },
    /// `klaxon test-notify`: a rehearsal; the keys act on nothing.
    Test,
}

/// The one being called, as the call addresses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callee {
    pub name: String,
    pub language: Language,
}

/// Where an incident stands when a call is answered or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Still triggered: the call asks for a key.
    Open,
    /// Acknowledged or resolved: by whom, as recorded.
    Closed { status: Status, by: Option<String> },
}

/// The call's memory between events, kept in the call's transaction
/// attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CallState {
    pub answered: bool,
    /// Prompts spoken so far.
    pub prompts: u8,
    /// Prompts answered by silence in a row.
    pub silences: u8,
    /// The last key pressed, if any.
    pub key: Option<Key>,
    /// Why the call is ending, once it has said its last words.
    pub closing: Option<Closing>,
}

/// Why a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closing {
    /// A key acknowledged or resolved the incident, or confirmed a test.
    Acted,
    /// A key asked for a change that was refused (already done by someone
    /// else, or the number was not paged).
    Refused,
    /// The incident was closed elsewhere before or during the call.
    Cancelled,
    /// No key after the options were repeated, or too many prompts.
    NoKey,
}

/// A key that was pressed, remembered for the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    Acknowledge,
    Resolve,
    Repeat,
    Other,
}

/// What happened on the call, as the voice-call function sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The callee answered (a person or a voicemail).
    Answered(&'a Standing),
    /// Keys were pressed while the prompt played.
    Digits(&'a str),
    /// The prompt ended with no key.
    Silence,
    /// Klaxon asked to update the call: the incident changed elsewhere.
    Updated(&'a Standing),
}

/// One thing the call does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Says the text.
    Say(String),
    /// Says the text and waits for one key.
    Ask(String),
    /// Ends the call.
    HangUp,
}

/// What the call does with an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// These lines, and the state to remember.
    Lines(Vec<Line>, CallState),
    /// Change the incident's status first, then [`after_change`].
    Change(Change, CallState),
}

/// The status change a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Acknowledge,
    Resolve,
}

/// What came of the status change a key asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    Done,
    /// Someone else got there first.
    Already {
        status: Status,
        by: Option<String>,
    },
    /// This number was not paged for the incident.
    NotPaged,
    /// The incident is gone.
    NotFound,
}

/// Decides what the call does next.
pub fn decide(subject: &Subject, callee: &Callee, state: CallState, input: Input<'_>) -> Decision {
    let words = Words::of(callee.language);
    let mut state = state;
    match input {
        Input::Answered(standing) => {
            state.answered = true;
            match (subject, standing) {
                (Subject::Page { .. }, Standing::Closed { status, by }) => {
                    state.closing = Some(Closing::Cancelled);
                    Decision::Lines(
                        vec![
                            Line::Say(words.closed(*status, by.as_deref(), false)),
                            Line::HangUp,
                        ],
                        state,
                    )
                }
                _ => ask(subject, callee, state),
            }
        }
        Input::Digits(digits) => {
            state.silences = 0;
            let key = digits.trim().trim_end_matches('#');
            match key {
                ACK_KEY => {
                    state.key = Some(Key::Acknowledge);
                    match subject {
                        Subject::Test => {
                            state.closing = Some(Closing::Acted);
                            Decision::Lines(
                                vec![Line::Say(words.test_done(&callee.name)), Line::HangUp],
                                state,
                            )
                        }
                        Subject::Page { .. } => Decision::Change(Change::Acknowledge, state),
                    }
                }
                RESOLVE_KEY if matches!(subject, Subject::Page { .. }) => {
                    state.key = Some(Key::Resolve);
                    Decision::Change(Change::Resolve, state)
                }
                REPEAT_KEY => {
                    state.key = Some(Key::Repeat);
                    ask(subject, callee, state)
                }
                _ => {
                    state.key = Some(Key::Other);
                    let options = words.options(subject);
                    reask(callee, state, words.join(words.wrong_key, &options))
                }
            }
        }
        Input::Silence => {
            state.silences += 1;
            if state.silences > MAX_SILENCES {
                state.closing = Some(Closing::NoKey);
                return Decision::Lines(vec![Line::Say(words.no_key.into()), Line::HangUp], state);
            }
            let options = words.options(subject);
            reask(callee, state, options)
        }
        Input::Updated(standing) => {
            state.closing = Some(Closing::Cancelled);
            let mut lines = Vec::new();
            if state.answered
                && let Standing::Closed { status, by } = standing
            {
                lines.push(Line::Say(words.closed(*status, by.as_deref(), false)));
            }
            lines.push(Line::HangUp);
            Decision::Lines(lines, state)
        }
    }
}

/// The lines after a key's status change, and the state to remember.
pub fn after_change(
    callee: &Callee,
    state: CallState,
    change: Change,
    outcome: &ChangeOutcome,
) -> (Vec<Line>, CallState) {
    let words = Words::of(callee.language);
    let mut state = state;
    state.closing = Some(match outcome {
        ChangeOutcome::Done => Closing::Acted,
        _ => Closing::Refused,
    });
    let text = match outcome {
        ChangeOutcome::Done => match change {
            Change::Acknowledge => words.acknowledged(&callee.name),
            Change::Resolve => words.resolved(&callee.name),
        },
        ChangeOutcome::Already { status, by } => words.closed(*status, by.as_deref(), true),
        ChangeOutcome::NotPaged => words.not_paged.into(),
        ChangeOutcome::NotFound => words.gone.into(),
    };
    (vec![Line::Say(text), Line::HangUp], state)
}

/// The whole message: who calls, about what, and the keys.
fn ask(subject: &Subject, callee: &Callee, state: CallState) -> Decision {
    let words = Words::of(callee.language);
    reask(callee, state, words.message(subject, &callee.name))
}

/// A prompt, unless the call has prompted enough.
fn reask(callee: &Callee, mut state: CallState, text: String) -> Decision {
    if state.prompts >= MAX_PROMPTS {
        state.closing = Some(Closing::NoKey);
        let words = Words::of(callee.language);
        return Decision::Lines(vec![Line::Say(words.no_key.into()), Line::HangUp], state);
    }
    state.prompts += 1;
    Decision::Lines(vec![Line::Ask(text)], state)
}

/// How a call ended, for the timeline and `klaxon incidents show`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A key acknowledged or resolved the incident (or confirmed a test).
    Acted,
    /// Answered (by a person or a voicemail); no key changed anything.
    NoKey,
    /// Ended by Klaxon: the incident was closed elsewhere.
    Cancelled,
    NoAnswer,
    Busy,
    Failed,
}

impl CallOutcome {
    /// From the call's state and the hang-up's SIP response code (0 normal
    /// clearing, 480 no answer, 486 busy; others: the call failed).
    pub fn of(state: &CallState, sip_code: Option<u16>) -> Self {
        match state.closing {
            Some(Closing::Acted) => return Self::Acted,
            Some(Closing::Cancelled) => return Self::Cancelled,
            _ => {}
        }
        if state.answered {
            return Self::NoKey;
        }
        match sip_code {
            Some(486 | 600) => Self::Busy,
            None | Some(0 | 408 | 480 | 487) => Self::NoAnswer,
            Some(_) => Self::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acted => "acted on",
            Self::NoKey => "answered, no key acted",
            Self::Cancelled => "ended by Klaxon: closed elsewhere",
            Self::NoAnswer => "no answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call's progress, on the incident's timeline.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum CallNote {
    Answered,
    /// A key was pressed; `effect` says what it did.
    Key {
        key: String,
        effect: String,
    },
    /// The call was asked to end: the incident was closed elsewhere.
    Updated {
        reason: String,
    },
    Ended {
        outcome: CallOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sip_code: Option<u16>,
    },
}

impl CallNote {
    /// Each call is answered, asked to end and ends once; keys may repeat.
    pub fn once_key(&self, call: &str) -> Option<String> {
        match self {
            Self::Answered => Some(format!("call#{call}#answered")),
            Self::Updated { .. } => Some(format!("call#{call}#updated")),
            Self::Ended { .. } => Some(format!("call#{call}#ended")),
            Self::Key { .. } => None,
        }
    }
}

impl fmt::Display for CallNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered => f.write_str("answered"),
            Self::Key { key, effect } => write!(f, "pressed {key}: {effect}"),
            Self::Updated { reason } => write!(f, "asked to end: {reason}"),
            Self::Ended {
                outcome,
                sip_code: Some(code),
            } if *code != 0 && !matches!(outcome, CallOutcome::Acted) => {
                write!(f, "ended, {outcome} (SIP {code})")
            }
            Self::Ended { outcome, .. } => write!(f, "ended, {outcome}"),
        }
    }
}

/// The spoken name of whoever closed an incident: `Ben` from
/// `Ben (+81******1234)`; the alarm's own OK as words.
fn spoken_by(by: &str) -> &str {
    by.split(" (").next().unwrap_or(by).trim()
}

/// Everything a call says, in one language.
struct Words {
    language: Language,
    wrong_key: &'static str,
    no_key: &'static str,
    not_paged: &'static str,
    gone: &'static str,
}

impl Words {
    fn of(language: Language) -> Self {
        match language {
            Language::EnUs => Self {
                language,
                wrong_key: "That key does nothing.",
                no_key: "No key was pressed. Goodbye.",
                not_paged: "This number was not paged for this alert. Goodbye.",
                gone: "This alert no longer exists. Goodbye.",
            },
            Language::JaJp => Self {
                language,
                wrong_key: "そのキーは使えません。",
                no_key: "キーが押されませんでした。失礼します。",
                not_paged: "この番号はこのアラートの呼び出し先ではありません。失礼します。",
                gone: "このアラートはもうありません。失礼します。",
            },
        }
    }

    /// Two sentences: a space between them in English, none in Japanese.
    fn join(&self, a: &str, b: &str) -> String {
        match self.language {
            Language::EnUs => format!("{a} {b}"),
            Language::JaJp => format!("{a}{b}"),
        }
    }

    fn message(&self, subject: &Subject, name: &str) -> String {
        let options = self.options(subject);
        match (self.language, subject) {
            (
                Language::EnUs,
                Subject::Page {
                    service,
                    severity,
                    alarm,
                },
            ) => format!(
                "Klaxon alert for {service}. Severity {}. {alarm}. {options}",
                severity_number(severity)
            ),
            (
                Language::JaJp,
                Subject::Page {
                    service,
                    severity,
                    alarm,
                },
            ) => format!(
                "Klaxon のアラートです。サービス {service}、重大度 {}。{alarm}。{options}",
                severity_number(severity)
            ),
            (Language::EnUs, Subject::Test) => {
                format!("This is a Klaxon test call for {name}. No action is needed. {options}")
            }
            (Language::JaJp, Subject::Test) => {
                format!("{name} さんへの Klaxon のテスト電話です。対応は不要です。{options}")
            }
        }
    }

    fn options(&self, subject: &Subject) -> String {
        match (self.language, subject) {
            (Language::EnUs, Subject::Page { .. }) => {
                "Press 4 to acknowledge. Press 6 to resolve. Press star to hear this again.".into()
            }
            (Language::JaJp, Subject::Page { .. }) => {
                "確認は 4 を、解決は 6 を、もう一度聞くには米印を押してください。".into()
            }
            (Language::EnUs, Subject::Test) => {
                "Press 4 to confirm you can hear this. Press star to hear this again.".into()
            }
            (Language::JaJp, Subject::Test) => {
                "聞こえていれば 4 を、もう一度聞くには米印を押してください。".into()
            }
        }
    }

    fn acknowledged(&self, name: &str) -> String {
        match self.language {
            Language::EnUs => format!("Acknowledged. Thank you, {name}."),
            Language::JaJp => format!("確認済みにしました。{name} さん、ありがとうございます。"),
        }
    }

    fn resolved(&self, name: &str) -> String {
        match self.language {
            Language::EnUs => format!("Resolved. Thank you, {name}."),
            Language::JaJp => format!("解決済みにしました。{name} さん、ありがとうございます。"),
        }
    }

    fn test_done(&self, name: &str) -> String {
        match self.language {
            Language::EnUs => format!("Thank you, {name}. The test call worked. Goodbye."),
            Language::JaJp => {
                format!("{name} さん、ありがとうございます。テスト電話は成功です。失礼します。")
            }
        }
    }

    /// "This alert was acknowledged by Ben. Goodbye." `already`: said to
    /// someone who tried to act on it.
    fn closed(&self, status: Status, by: Option<&str>, already: bool) -> String {
        let by = by.map(spoken_by).filter(|b| !b.is_empty());
        let alarm_ok = by == Some("alarm OK");
        match self.language {
            Language::EnUs => {
                let was = if already { "was already" } else { "was" };
                let what = match status {
                    Status::Resolved => "resolved",
                    _ => "acknowledged",
                };
                match by {
                    _ if alarm_ok => {
                        format!("This alert {was} resolved: the alarm returned to OK. Goodbye.")
                    }
                    Some(by) => format!("This alert {was} {what} by {by}. Goodbye."),
                    None => format!("This alert {was} {what}. Goodbye."),
                }
            }
            Language::JaJp => {
                let what = match status {
                    Status::Resolved => "解決済み",
                    _ => "確認済み",
                };
                match by {
                    _ if alarm_ok => {
                        "このアラートはアラームが正常に戻り、解決済みです。失礼します。".into()
                    }
                    Some(by) => format!("このアラートは {by} さんが{what}にしました。失礼します。"),
                    None => format!("このアラートは{what}です。失礼します。"),
                }
            }
        }
    }
}

/// `1` from `SEV1`; anything else as it is.
fn severity_number(severity: &str) -> &str {
    severity.strip_prefix("SEV").unwrap_or(severity)
}

#[cfg(test)]
mod tests;
