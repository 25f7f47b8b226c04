//! The status page as one self-contained HTML document: inline CSS, no
//! script, no external font or image, readable on a phone. Every piece of
//! text from the configuration or an operator is escaped.

use std::fmt::Write;

use jiff::Timestamp;

use super::{PublicIncident, ServiceState, ServiceStatus, StatusPage};

/// `text` safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time as visitors read it, in UTC, inside a `<time>` element carrying
/// the ISO 8601 instant.
fn time(ts: Timestamp) -> String {
    format!(
        r#"<time datetime="{}">{}</time>"#,
        ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ts.strftime("%Y-%m-%d %H:%M UTC")
    )
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f6f7f9;color:#1f2328;font:16px/1.5 -apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;-webkit-text-size-adjust:100%}\
main{max-width:44rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}\
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
h3{font-size:1rem;margin:0;overflow-wrap:anywhere}\
.banner{border-radius:.5rem;padding:.9rem 1rem;color:#fff;font-weight:600;font-size:1.1rem}\
.operational{background:#1a7f37}.degraded{background:#9a6700}.major_outage{background:#cf222e}\
ul{list-style:none;margin:0;padding:0}\
.services li{display:flex;justify-content:space-between;align-items:center;gap:.75rem;background:#fff;border:1px solid #d0d7de;border-top:0;padding:.75rem 1rem}\
.services li:first-child{border-top:1px solid #d0d7de;border-radius:.5rem .5rem 0 0}\
.services li:last-child{border-radius:0 0 .5rem .5rem}\
.services li:only-child{border-radius:.5rem}\
.name{font-weight:600;overflow-wrap:anywhere}\
.pill{flex:none;border-radius:1rem;padding:.1rem .65rem;font-size:.85rem;color:#fff;white-space:nowrap}\
.incident{background:#fff;border:1px solid #d0d7de;border-left-width:.35rem;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 .75rem}\
.i-major_outage{border-left-color:#cf222e}.i-degraded{border-left-color:#9a6700}.i-operational{border-left-color:#1a7f37}\
.meta{color:#59636e;font-size:.875rem;margin:.15rem 0 .5rem}\
.updates li{border-top:1px solid #eaeef2;padding:.5rem 0 0;margin:.5rem 0 0}\
.status{font-weight:600;text-transform:capitalize}\
.message{margin:.15rem 0 0;white-space:pre-line;overflow-wrap:anywhere}\
.none{color:#59636e}\
time{white-space:nowrap}\
footer{color:#59636e;font-size:.875rem;margin:2rem 0 1rem}\
";

fn banner(state: ServiceState) -> &'static str {
    match state {
        ServiceState::Operational => "All systems operational",
        ServiceState::Degraded => "Some systems degraded",
        ServiceState::MajorOutage => "Major outage",
    }
}

fn service(out: &mut String, s: &ServiceStatus) {
    let _ = write!(
        out,
        r#"<li><span class="name">{}</span><span class="pill {}">{}</span></li>"#,
        escape(&s.name),
        s.state.as_str(),
        s.state.label()
    );
}

fn incident(out: &mut String, service_name: &str, i: &PublicIncident) {
    let class = if i.resolved_at.is_some() {
        ServiceState::Operational
    } else {
        i.impact
    };
    let _ = write!(
        out,
        r#"<article class="incident i-{}" id="incident-{}"><h3>{}</h3><p class="meta">{} · {} · opened {}"#,
        class.as_str(),
        escape(&i.id),
        escape(&i.title),
        escape(service_name),
        if i.resolved_at.is_some() {
            "Resolved"
        } else {
            i.impact.label()
        },
        time(i.opened_at)
    );
    if let Some(at) = i.resolved_at {
        let _ = write!(out, " · resolved {}", time(at));
    }
    out.push_str("</p>");
    if i.updates.is_empty() {
        out.push_str(r#"<p class="none">We are aware of the problem and looking into it.</p>"#);
    } else {
        out.push_str(r#"<ul class="updates">"#);
        for u in &i.updates {
            let _ = write!(
                out,
                r#"<li><span class="status">{}</span> · {}<p class="message">{}</p></li>"#,
                u.status.as_str(),
                time(u.at),
                escape(&u.message)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</article>");
}

/// The page as a complete HTML document.
pub fn render(page: &StatusPage) -> String {
    let title = escape(&page.title);
    let mut out = String::with_capacity(8 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style>
</head><body><main>
<h1>{title}</h1>
<div class="banner {}" role="status">{}</div>
<h2>Services</h2><ul class="services">"#,
        page.state.as_str(),
        banner(page.state)
    );
    for s in &page.services {
        service(&mut out, s);
    }
    out.push_str("</ul>\n<h2>Active incidents</h2>");
    let active: Vec<_> = page
        .services
        .iter()
        .flat_map(|s| s.active_incidents.iter().map(move |i| (s, i)))
        .collect();
    if active.is_empty() {
        out.push_str(r#"<p class="none">No active incidents.</p>"#);
    }
    for (s, i) in active {
        incident(&mut out, &s.name, i);
    }
    let _ = write!(out, "\n<h2>Past {} days</h2>", super::RECENT_DAYS);
    let mut recent: Vec<_> = page
        .services
        .iter()
        .flat_map(|s| s.recent_incidents.iter().map(move |i| (s, i)))
        .collect();
    recent.sort_by_key(|(_, i)| std::cmp::Reverse(i.resolved_at));
    if recent.is_empty() {
        out.push_str(r#"<p class="none">No incidents resolved recently.</p>"#);
    }
    for (s, i) in recent {
        incident(&mut out, &s.name, i);
    }
    let _ = write!(
        out,
        "\n<footer>Updated at {} · <a href=\"status.json\">JSON feed</a></footer>\n</main></body></html>\n",
        time(page.updated_at)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, incident, now, paged, resolved, services, update};
    use super::*;
    use crate::classify::Severity;
    use crate::status_update::UpdateStatus;

    fn visible_text(html: &str) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in html
            .split("<style>")
            .next()
            .unwrap_or_default()
            .chars()
            .chain(html.split("</style>").nth(1).unwrap_or_default().chars())
        {
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
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<b class="x">Tom & 'Jerry'</b>"#),
            "&lt;b class=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("決済 ok"), "決済 ok");
    }

    #[test]
    fn an_outage_shows_its_service_state_and_updates_newest_first() {
        let p = StatusPage::build(
            "Acme status",
            &services(),
            &[(
                incident("A", "checkout", Severity::Sev1, "2026-12-01T09:00:00Z"),
                vec![
                    paged("2026-12-01T09:01:00Z"),
                    update(
                        "2026-12-01T09:10:00Z",
                        UpdateStatus::Investigating,
                        "Checking.",
                    ),
                    update(
                        "2026-12-01T09:30:00Z",
                        UpdateStatus::Identified,
                        "Bad deploy.",
                    ),
                ],
            )],
            now(),
        );
        let html = render(&p);
        let text = visible_text(&html);
        assert!(
            text.starts_with("Acme status Acme status Major outage"),
            "{text}"
        );
        assert!(
            text.contains("Checkout Major outage Search Operational"),
            "{text}"
        );
        let identified = text.find("identified · 2026-12-01 09:30 UTC Bad deploy.");
        let investigating = text.find("investigating · 2026-12-01 09:10 UTC Checking.");
        assert!(identified.is_some() && investigating.is_some(), "{text}");
        assert!(identified < investigating, "newest first: {text}");
        assert!(text.contains("Updated at 2026-12-01 10:00 UTC"), "{text}");
        assert!(html.contains(r#"<time datetime="2026-12-01T10:00:00Z">"#));
        assert!(!html.contains("+819012345678") && !html.contains("arn:aws"));
    }

    #[test]
    fn the_page_is_self_contained_and_fits_a_phone() {
        let html = render(&StatusPage::build("Acme", &services(), &[], now()));
        assert!(
            html.contains(
                r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#
            )
        );
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        for external in ["<script", "<link", "@import", "http://", "https://", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        let text = visible_text(&html);
        assert!(text.contains("All systems operational"), "{text}");
        assert!(text.contains("No active incidents."), "{text}");
        assert!(text.contains("No incidents resolved recently."), "{text}");
    }

    #[test]
    fn text_from_operators_and_the_configuration_is_escaped() {
        let mut i = incident("A", "checkout", Severity::Sev2, "2026-12-01T09:00:00Z");
        i.title = "<img src=x onerror=alert(1)>".into();
        let services = vec![("checkout".to_string(), "Check<out>".to_string())];
        let p = StatusPage::build(
            "<script>alert(1)</script>",
            &services,
            &[(
                i,
                vec![update(
                    "2026-12-01T09:10:00Z",
                    UpdateStatus::Monitoring,
                    "\"quoted\" & <b>bold</b>",
                )],
            )],
            now(),
        );
        let html = render(&p);
        assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Check&lt;out&gt;"));
        assert!(html.contains("&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    }

    #[test]
    fn a_resolved_incident_is_listed_under_the_past_days_with_its_resolution_time() {
        let r = resolved(
            incident("R", "search", Severity::Sev2, "2026-11-30T08:00:00Z"),
            "2026-11-30T09:00:00Z",
        );
        let p = StatusPage::build(
            "Acme",
            &services(),
            &[(
                r,
                vec![update(
                    "2026-11-30T09:00:00Z",
                    UpdateStatus::Resolved,
                    "Fixed.",
                )],
            )],
            at("2026-12-01T10:00:00Z"),
        );
        let text = visible_text(&render(&p));
        let past = text.find("Past 7 days").unwrap();
        let title = text.find("search-5xx Search · Resolved · opened 2026-11-30 08:00 UTC · resolved 2026-11-30 09:00 UTC").unwrap();
        assert!(past < title, "{text}");
        assert!(text.contains("No active incidents."), "{text}");
        assert!(
            text.contains("resolved · 2026-11-30 09:00 UTC Fixed."),
            "{text}"
        );
    }
}
