use super::*;

fn page() -> Subject {
    Subject::Page {
        service: "payments".into(),
        severity: "SEV1".into(),
        alarm: "決済API 5xx error rate".into(),
    }
}

fn hana(language: Language) -> Callee {
    Callee {
        name: "Hana".into(),
        language,
    }
}

fn lines(d: Decision) -> (Vec<Line>, CallState) {
    match d {
        Decision::Lines(l, s) => (l, s),
        other => panic!("expected lines, got {other:?}"),
    }
}

fn answered(language: Language) -> CallState {
    let (_, state) = lines(decide(
        &page(),
        &hana(language),
        CallState::default(),
        Input::Answered(&Standing::Open),
    ));
    state
}

#[test]
fn an_answered_page_says_who_calls_about_what_and_the_keys() {
    let (said, state) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        CallState::default(),
        Input::Answered(&Standing::Open),
    ));
    assert_eq!(
        said,
        vec![Line::Ask(
            "Klaxon alert for payments. Severity 1. 決済API 5xx error rate. Press 4 to acknowledge. Press 6 to resolve. Press star to hear this again.".into()
        )]
    );
    assert!(state.answered);
    assert_eq!(state.prompts, 1);
}

#[test]
fn a_japanese_speaking_responder_hears_japanese() {
    let (said, _) = lines(decide(
        &page(),
        &hana(Language::JaJp),
        CallState::default(),
        Input::Answered(&Standing::Open),
    ));
    let Line::Ask(text) = &said[0] else {
        panic!("{said:?}")
    };
    assert!(text.starts_with("Klaxon のアラートです。サービス payments、重大度 1。"));
    assert!(text.contains("確認は 4 を"));
    assert_eq!(Language::JaJp.voice().voice_id, "Takumi");
    assert_eq!(Language::EnUs.voice().voice_id, "Joanna");
}

#[test]
fn four_asks_to_acknowledge_and_six_to_resolve() {
    let state = answered(Language::EnUs);
    let d = decide(&page(), &hana(Language::EnUs), state, Input::Digits("4"));
    assert!(matches!(d, Decision::Change(Change::Acknowledge, _)));
    let d = decide(&page(), &hana(Language::EnUs), state, Input::Digits("6#"));
    assert!(matches!(d, Decision::Change(Change::Resolve, _)));
}

#[test]
fn after_an_acknowledgement_the_call_thanks_the_responder_and_hangs_up() {
    let state = answered(Language::EnUs);
    let (said, state) = after_change(
        &hana(Language::EnUs),
        state,
        Change::Acknowledge,
        &ChangeOutcome::Done,
    );
    assert_eq!(
        said,
        vec![
            Line::Say("Acknowledged. Thank you, Hana.".into()),
            Line::HangUp
        ]
    );
    assert_eq!(CallOutcome::of(&state, Some(0)), CallOutcome::Acted);
}

#[test]
fn a_key_after_someone_else_acted_says_who_did_instead() {
    let state = answered(Language::EnUs);
    let (said, state) = after_change(
        &hana(Language::EnUs),
        state,
        Change::Acknowledge,
        &ChangeOutcome::Already {
            status: Status::Acknowledged,
            by: Some("Ben (+81******5678)".into()),
        },
    );
    assert_eq!(
        said[0],
        Line::Say("This alert was already acknowledged by Ben. Goodbye.".into())
    );
    assert_eq!(CallOutcome::of(&state, Some(0)), CallOutcome::NoKey);
}

#[test]
fn nine_removes_nobody_it_repeats_the_options_and_four_still_works() {
    let state = answered(Language::EnUs);
    let (said, state) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        state,
        Input::Digits("9"),
    ));
    assert_eq!(
        said,
        vec![Line::Ask(
            "That key does nothing. Press 4 to acknowledge. Press 6 to resolve. Press star to hear this again.".into()
        )]
    );
    let d = decide(&page(), &hana(Language::EnUs), state, Input::Digits("4"));
    assert!(matches!(d, Decision::Change(Change::Acknowledge, _)));
}

#[test]
fn star_repeats_the_whole_message() {
    let state = answered(Language::EnUs);
    let (said, _) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        state,
        Input::Digits("*"),
    ));
    let Line::Ask(text) = &said[0] else {
        panic!("{said:?}")
    };
    assert!(text.starts_with("Klaxon alert for payments."));
}

#[test]
fn silence_repeats_the_options_twice_then_ends_the_call_unacknowledged() {
    let mut state = answered(Language::EnUs);
    for _ in 0..MAX_SILENCES {
        let (said, next) = lines(decide(
            &page(),
            &hana(Language::EnUs),
            state,
            Input::Silence,
        ));
        assert!(matches!(&said[..], [Line::Ask(t)] if t.starts_with("Press 4")));
        state = next;
    }
    let (said, state) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        state,
        Input::Silence,
    ));
    assert_eq!(
        said,
        vec![
            Line::Say("No key was pressed. Goodbye.".into()),
            Line::HangUp
        ]
    );
    assert_eq!(CallOutcome::of(&state, Some(0)), CallOutcome::NoKey);
}

#[test]
fn endless_wrong_keys_end_the_call_after_the_prompt_limit() {
    let mut state = answered(Language::EnUs);
    let mut hung_up = false;
    for _ in 0..=MAX_PROMPTS {
        let (said, next) = lines(decide(
            &page(),
            &hana(Language::EnUs),
            state,
            Input::Digits("9"),
        ));
        state = next;
        if said.contains(&Line::HangUp) {
            hung_up = true;
            break;
        }
    }
    assert!(hung_up);
}

#[test]
fn a_call_answered_after_the_incident_was_acknowledged_says_so_and_asks_nothing() {
    let (said, state) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        CallState::default(),
        Input::Answered(&Standing::Closed {
            status: Status::Acknowledged,
            by: Some("Ben (+81******5678)".into()),
        }),
    ));
    assert_eq!(
        said,
        vec![
            Line::Say("This alert was acknowledged by Ben. Goodbye.".into()),
            Line::HangUp
        ]
    );
    assert_eq!(CallOutcome::of(&state, Some(0)), CallOutcome::Cancelled);
}

#[test]
fn an_update_while_ringing_just_hangs_up_and_during_the_call_says_why() {
    let closed = Standing::Closed {
        status: Status::Resolved,
        by: Some("alarm OK".into()),
    };
    let (said, state) = lines(decide(
        &page(),
        &hana(Language::EnUs),
        CallState::default(),
        Input::Updated(&closed),
    ));
    assert_eq!(said, vec![Line::HangUp]);
    assert_eq!(CallOutcome::of(&state, Some(487)), CallOutcome::Cancelled);
    let (said, _) = lines(decide(
        &page(),
        &hana(Language::JaJp),
        answered(Language::JaJp),
        Input::Updated(&closed),
    ));
    assert_eq!(
        said[0],
        Line::Say("このアラートはアラームが正常に戻り、解決済みです。失礼します。".into())
    );
}

#[test]
fn unanswered_calls_are_told_apart_by_their_sip_code() {
    let s = CallState::default();
    assert_eq!(CallOutcome::of(&s, Some(480)), CallOutcome::NoAnswer);
    assert_eq!(CallOutcome::of(&s, None), CallOutcome::NoAnswer);
    assert_eq!(CallOutcome::of(&s, Some(486)), CallOutcome::Busy);
    assert_eq!(CallOutcome::of(&s, Some(503)), CallOutcome::Failed);
    let hung_up_mid_message = answered(Language::EnUs);
    assert_eq!(
        CallOutcome::of(&hung_up_mid_message, Some(0)),
        CallOutcome::NoKey
    );
}

#[test]
fn a_test_call_confirms_with_four_and_never_resolves() {
    let callee = hana(Language::EnUs);
    let (said, state) = lines(decide(
        &Subject::Test,
        &callee,
        CallState::default(),
        Input::Answered(&Standing::Open),
    ));
    assert!(
        matches!(&said[0], Line::Ask(t) if t.starts_with("This is a Klaxon test call for Hana."))
    );
    let (said, _) = lines(decide(&Subject::Test, &callee, state, Input::Digits("6")));
    assert!(matches!(&said[0], Line::Ask(t) if t.starts_with("That key does nothing.")));
    let (said, state) = lines(decide(&Subject::Test, &callee, state, Input::Digits("4")));
    assert_eq!(
        said,
        vec![
            Line::Say("Thank you, Hana. The test call worked. Goodbye.".into()),
            Line::HangUp
        ]
    );
    assert_eq!(CallOutcome::of(&state, Some(0)), CallOutcome::Acted);
}

#[test]
fn languages_parse_leniently_and_nothing_else() {
    assert_eq!(Language::parse("ja-JP"), Some(Language::JaJp));
    assert_eq!(Language::parse("ja_jp"), Some(Language::JaJp));
    assert_eq!(Language::parse("EN-us"), Some(Language::EnUs));
    assert_eq!(Language::parse("fr-FR"), None);
    for code in LANGUAGES {
        assert_eq!(Language::parse(code).map(Language::code), Some(code));
    }
}
