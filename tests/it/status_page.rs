//! The status page in a real browser: Debian's Chromium, headless, at a
//! phone's size (390 × 844), reads the rendered page from a file and shows
//! what a visitor sees. `scripts/local-aws.sh setup` installs Chromium;
//! without it these tests fail, they never skip.
//!
//! The README's screenshot comes from the same page:
//! `cargo test -p klaxon-tests --test it status_page::regenerate_the_readme_screenshot -- --ignored`
//! writes `docs/status-page.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;
use klaxon_core::classify::Severity;
use klaxon_core::incident::{Channel, Incident, Status, TimelineEntry, TimelineEvent};
use klaxon_core::status_page::{StatusPage, html};
use klaxon_core::status_update::UpdateStatus;
use klaxon_local::template::repo_root;
use klaxon_testing::contract::{incident, unique};
use klaxon_testing::status_page::status_update;

const CHROMIUM: &str = "/usr/bin/chromium";
const PHONE: &str = "+819012345678";

fn at(s: &str) -> Timestamp {
    s.parse().expect("a fixed time")
}

fn update(when: &str, status: UpdateStatus, message: &str) -> TimelineEntry {
    status_update(when, status, message, "Aiko Tanaka")
}

fn of(service: &str, name: &str, severity: Severity, opened: &str) -> Incident {
    let mut i = incident("5ac3f1e0", name, at(opened));
    i.service = service.into();
    i.severity = severity;
    i.title = format!("{service}-api-5xx");
    i
}

/// A realistic page: checkout in a major outage with two status updates
/// (and a page to a phone on its timeline, which must not show), search
/// operational, payments operational after an incident resolved yesterday.
fn realistic_page() -> StatusPage {
    let outage = of("checkout", "OUT", Severity::Sev1, "2026-12-01T09:02:00Z");
    let outage_timeline = vec![
        TimelineEntry::new(
            at("2026-12-01T09:02:30Z"),
            "paged",
            TimelineEvent::Paged {
                step: 0,
                pass: 1,
                level: 1,
                person: "aiko".into(),
                channel: Channel::Sms,
                to: PHONE.into(),
                message_id: "m-1".into(),
            },
        ),
        update(
            "2026-12-01T09:10:00Z",
            UpdateStatus::Investigating,
            "Some customers cannot complete checkout. We are investigating.",
        ),
        update(
            "2026-12-01T09:41:00Z",
            UpdateStatus::Identified,
            "A configuration change broke card payments. We are rolling it back.",
        ),
    ];
    let mut past = of("payments", "PST", Severity::Sev2, "2026-11-30T14:20:00Z");
    past.status = Status::Resolved;
    past.resolved_at = Some(at("2026-11-30T15:05:00Z"));
    let past_timeline = vec![
        update(
            "2026-11-30T14:30:00Z",
            UpdateStatus::Monitoring,
            "Refunds are delayed; a fix is deployed and we are watching it.",
        ),
        update(
            "2026-11-30T15:05:00Z",
            UpdateStatus::Resolved,
            "Refunds are processed normally again.",
        ),
    ];
    let services = [
        ("checkout", "Checkout"),
        ("search", "Search"),
        ("payments", "Payments"),
    ]
    .map(|(id, name)| (id.to_string(), name.to_string()));
    StatusPage::build(
        "Acme status",
        &services,
        &[(outage, outage_timeline), (past, past_timeline)],
        at("2026-12-01T10:00:00Z"),
    )
}

/// A fresh directory under the system's temporary directory.
fn fresh_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("klaxon-status-{what}-{}", unique()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// The page written as `index.html` in a fresh directory.
fn written(page: &StatusPage) -> PathBuf {
    let path = fresh_dir("site").join("index.html");
    std::fs::write(&path, html::render(page)).expect("write the page");
    path
}

/// Runs headless Chromium at a phone's size on `page` with `args`; its
/// standard output.
fn chromium(page: &Path, args: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the status page test needs Debian's chromium; \
         run `scripts/local-aws.sh setup` (or `apt-get install chromium`)"
    );
    let profile = fresh_dir("profile");
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=390,844",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the body of a DOM as Chromium serialized it, as a visitor
/// reads it (tags dropped, entities decoded, whitespace collapsed).
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body>").map_or(dom, |(_, b)| b);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The width and height of a PNG, from its header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn a_visitor_on_a_phone_sees_each_services_state_and_the_updates_newest_first() {
    let page = written(&realistic_page());

    let text = visible_text(&chromium(&page, &["--dump-dom"]));

    assert!(text.starts_with("Acme status Major outage"), "{text}");
    assert!(
        text.contains("Checkout Major outage Search Operational Payments Operational"),
        "{text}"
    );
    let identified = text
        .find("identified · 2026-12-01 09:41 UTC A configuration change broke card payments.")
        .unwrap_or_else(|| panic!("the latest update: {text}"));
    let investigating = text
        .find("investigating · 2026-12-01 09:10 UTC Some customers cannot complete checkout.")
        .unwrap_or_else(|| panic!("the first update: {text}"));
    assert!(identified < investigating, "newest first: {text}");
    let past = text.find("Past 7 days").unwrap_or(usize::MAX);
    let refunds = text.find("Refunds are processed normally again.");
    assert!(refunds.is_some_and(|r| r > past), "{text}");
    assert!(text.contains("Updated at 2026-12-01 10:00 UTC"), "{text}");
    for private in [PHONE, "aiko", "Aiko Tanaka", "arn:aws"] {
        assert!(!text.contains(private), "{private} is visible: {text}");
    }
}

#[test]
fn the_page_makes_a_phone_sized_screenshot() {
    let page = written(&realistic_page());
    let shot = fresh_dir("shot").join("status-page.png");

    chromium(&page, &[&format!("--screenshot={}", shot.display())]);

    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(png_size(&png), (390, 844));
}

/// Writes `docs/status-page.png` for the README (a phone at 2× density).
#[test]
#[ignore = "writes docs/status-page.png; run it to refresh the README's screenshot"]
fn regenerate_the_readme_screenshot() {
    let page = written(&realistic_page());
    let target = repo_root().join("docs").join("status-page.png");
    std::fs::create_dir_all(target.parent().expect("docs/")).expect("create docs/");

    chromium(
        &page,
        &[
            "--force-device-scale-factor=2",
            &format!("--screenshot={}", target.display()),
        ],
    );

    let png = std::fs::read(&target).expect("chromium wrote the screenshot");
    assert_eq!(png_size(&png), (780, 1688));
}

/// End to end on a local stack deployed with `StatusPage=enabled`: the
/// real intake, the status page function handed the stream's records by
/// its event source mapping, the template's bucket, and Chromium reading
/// the page as published.
mod on_a_stack {
    use klaxon_app::operator::{UpdateOutcome, post_update};
    use klaxon_core::status_update::UpdateStatus;
    use klaxon_local::events::{Delivery, alarm};
    use klaxon_system::SystemClock;
    use serde_json::Value;

    use super::{chromium, fresh_dir, visible_text};
    use crate::common::{World, oncall_yaml, opened_id};

    async fn given() -> World {
        let w = World::bare().await;
        let yaml = format!(
            "{}status_page: {{title: Acme status, services: [checkout, payments]}}\n",
            oncall_yaml(&w, 60, 0)
        );
        w.local.apply_config(&yaml).await.unwrap();
        w
    }

    fn state_of(feed: &Value, service: &str) -> String {
        feed["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == service)
            .unwrap_or_else(|| panic!("{service} is not on the page: {feed}"))["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn an_alarm_an_update_and_the_recovery_each_reach_the_published_page() {
        // GIVEN a stack with a status page of checkout and payments
        let w = given().await;
        assert_eq!(w.local.status_feed().await.unwrap(), None, "nothing yet");
        // WHEN a SEV1 alarm of payments opens an incident, and an operator
        // posts a status update
        let event = alarm(
            Delivery::EventBridge,
            &w.alarm_name("payments-api-5xx"),
            "ALARM",
            "2026-12-01T08:00:00.000Z",
        )
        .unwrap();
        let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
        let posted = post_update(
            &w.local.store,
            &SystemClock,
            &id,
            Some(UpdateStatus::Identified),
            "Card payments fail; a fix is rolling out.",
            "alice",
        )
        .await
        .unwrap();
        assert!(matches!(posted, UpdateOutcome::Posted(_)), "{posted:?}");
        let round = w.local.refresh_status_page().await.unwrap();
        // THEN the page, as published, shows payments in a major outage
        assert_eq!(round.failed_at, None, "{round:?}");
        assert!(round.published >= 1, "{round:?}");
        let feed = w.local.status_feed().await.unwrap().expect("status.json");
        assert_eq!(state_of(&feed, "payments"), "major_outage");
        assert_eq!(state_of(&feed, "checkout"), "operational");
        // AND a visitor's browser shows it, with the update and no phone number
        let html = w.local.status_html().await.unwrap().expect("index.html");
        let page = fresh_dir("stack").join("index.html");
        std::fs::write(&page, &html).unwrap();
        let text = visible_text(&chromium(&page, &["--dump-dom"]));
        assert!(
            text.contains("checkout Operational payments Major outage"),
            "{text}"
        );
        assert!(
            text.contains("identified · ")
                && text.contains("Card payments fail; a fix is rolling out."),
            "{text}"
        );
        assert!(
            !text.contains(&w.carol),
            "the responder's number is visible"
        );
        // WHEN the handed-over records are handed over again (a retry)
        let again = w.local.refresh_status_page().await.unwrap();
        assert_eq!(again.published, 0, "nothing new: {again:?}");
        // WHEN the alarm returns to OK
        let ok = alarm(
            Delivery::Sns,
            &w.alarm_name("payments-api-5xx"),
            "OK",
            "2026-12-01T08:20:00.000Z",
        )
        .unwrap();
        w.local.deliver_alarm(&ok).await.unwrap();
        w.local.refresh_status_page().await.unwrap();
        // THEN payments is operational again, the incident under the past days
        let feed = w.local.status_feed().await.unwrap().unwrap();
        assert_eq!(state_of(&feed, "payments"), "operational", "{feed}");
        assert!(
            feed.to_string().contains(&id),
            "resolved, shown as recent: {feed}"
        );
    }

    /// The status page's mapping has a batching window (5 s in AWS,
    /// scaled): a batch short of its size is not handed over until the
    /// window has passed since its first record was seen, so changes made
    /// close together are published once.
    #[tokio::test]
    async fn changes_short_of_a_batch_wait_for_the_batching_window() {
        let w = given().await;
        let mapping = w
            .local
            .stack
            .mapping(
                klaxon_local::ids::STATUS_PAGE,
                klaxon_local::ids::STREAM_EVENT,
            )
            .unwrap();
        assert!(mapping.batching_window_seconds > 0, "{mapping:?}");
        let window = klaxon_local::scaled(mapping.batching_window_seconds);
        let event = alarm(
            Delivery::EventBridge,
            &w.alarm_name("payments-api-5xx"),
            "ALARM",
            "2026-12-01T08:00:00.000Z",
        )
        .unwrap();
        opened_id(&w.local.deliver_alarm(&event).await.unwrap());
        let started = std::time::Instant::now();
        let round = w.local.refresh_status_page().await.unwrap();
        assert_eq!(round.published, 1, "{round:?}");
        assert!(
            started.elapsed() >= window,
            "handed over after {:?}, inside the {window:?} window",
            started.elapsed()
        );
    }

    /// A row of the fault matrix: each call the status page function makes
    /// (read from a fault-free round) throttled 4 times, failing with 500
    /// three times, or cut after it applied; the stream's retries (rounds
    /// here, as many as its mapping retries) still publish a page that
    /// shows the outage, and then the recovery.
    #[tokio::test]
    async fn the_status_page_under_each_fault_of_its_calls_ends_showing_every_change() {
        use crate::faults::{Outcome, Row};
        let (w, proxy) = World::behind_proxy().await;
        let yaml = format!(
            "{}status_page: {{title: Acme status, services: [checkout, payments]}}\n",
            oncall_yaml(&w, 60, 0)
        );
        w.local.apply_config(&yaml).await.unwrap();
        let fire = async |name: &str, state: &str, at: &str| {
            let event = alarm(Delivery::EventBridge, name, state, at).unwrap();
            w.local.deliver_alarm(&event).await.unwrap();
        };
        let base = w.alarm_name("payments-base");
        fire(&base, "ALARM", "2026-12-01T08:00:00.000Z").await;
        proxy.clear_calls();
        assert_eq!(w.local.refresh_status_page().await.unwrap().failed_at, None);
        let ops = proxy.operations();
        fire(&base, "OK", "2026-12-01T08:05:00.000Z").await;
        w.local.refresh_status_page().await.unwrap();
        let mut row = Row::new(&format!(
            "the status page's calls ({}) throttled 4 times, failing with 500 three times, or cut once",
            crate::faults::listed(&ops)
        ));
        let mut n = 0;
        for op in &ops {
            for (fault, times) in crate::faults::each_call_fault(4) {
                n += 1;
                let name = w.alarm_name(&format!("payments-sp{n}"));
                fire(&name, "ALARM", "2026-12-01T09:00:00.000Z").await;
                proxy.heal();
                proxy.inject(&op.service, Some(&op.name), fault, times);
                for _ in 0..10 {
                    if w.local
                        .refresh_status_page()
                        .await
                        .unwrap()
                        .failed_at
                        .is_none()
                    {
                        break;
                    }
                }
                let mut out = Outcome {
                    fault_fired: proxy.faults_spent(),
                    ..Outcome::default()
                };
                proxy.heal();
                let feed = w.local.status_feed().await.unwrap().unwrap_or_default();
                if feed["services"].is_null() || state_of(&feed, "payments") != "major_outage" {
                    out.lost.push(format!("the outage on the page: {feed}"));
                }
                fire(&name, "OK", "2026-12-01T09:05:00.000Z").await;
                w.local.refresh_status_page().await.unwrap();
                let feed = w.local.status_feed().await.unwrap().unwrap_or_default();
                if feed["services"].is_null() || state_of(&feed, "payments") != "operational" {
                    out.lost.push(format!("the recovery on the page: {feed}"));
                }
                row.add(&format!("{fault:?} {op}"), &out);
            }
        }
        row.report();
    }
}
