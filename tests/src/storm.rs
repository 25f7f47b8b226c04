//! An alarm storm: many distinct alarms, each delivered several times by
//! the EventBridge and SNS routes mixed, shuffled, a fixed number of
//! invocations at a time, with the escalator consuming its queue. Used by
//! `make storm` (1,000 × 10, a benchmark) and by a test (100 × 5).
//!
//! What it counts: incidents opened (one per alarm), first pages sent (one
//! per incident, on its timeline and in the emulator's SMS outbox),
//! duplicates and losses of either, each state change recorded once, the
//! wall time, intake latency percentiles, and how much CPU the emulator and
//! Klaxon's own code used, so the figures can be read for what they are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use klaxon_app::intake::IntakeOutcome;
use klaxon_core::incident::TimelineEvent;
use klaxon_ports::Incidents;
use rand::seq::SliceRandom;

use crate::events::{Delivery, alarm};
use crate::template::repo_root;
use crate::{HarnessError, Local, Pump};

/// The shape of a storm.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub alarms: usize,
    pub deliveries: usize,
    /// Invocations in flight at once.
    pub concurrency: usize,
    /// Escalator batches in flight at once (the SQS event source mapping's
    /// concurrency, which AWS scales up to 1,250 by default).
    pub pumps: usize,
    /// How long to wait for the last first page after the last delivery.
    pub page_patience: Duration,
}

/// What a storm did.
#[derive(Debug, Default)]
pub struct Report {
    pub deliveries: usize,
    /// Until the outbox held a page per incident.
    pub wall: Duration,
    /// Until the last delivery returned.
    pub delivery_wall: Duration,
    pub incidents_opened: usize,
    pub first_pages: usize,
    pub sms_pages: usize,
    /// Step messages the escalator received. One per incident when it keeps
    /// up; more when a step waited in the queue past NotifyStep's task
    /// timeout and Step Functions queued it again (the escalator's claim
    /// keeps the page single either way).
    pub step_messages: usize,
    /// What went wrong, one line each (empty: nothing lost or duplicated).
    pub lost: Vec<String>,
    pub duplicated: Vec<String>,
    pub failed_deliveries: Vec<String>,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// CPU time the emulator's process used during the storm, if known.
    pub emulator_cpu: Option<Duration>,
    /// CPU time this process (Klaxon's handlers, the SDK, the harness) used.
    pub klaxon_cpu: Option<Duration>,
}

impl Report {
    pub fn print(&self, plan: &Plan) {
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "storm: {} alarms x {} deliveries = {} invocations, {} at a time, {} escalator batches at a time",
            plan.alarms, plan.deliveries, self.deliveries, plan.concurrency, plan.pumps
        );
        println!("  incidents opened   {}", self.incidents_opened);
        println!(
            "  first pages        {} on timelines, {} SMS in the outbox",
            self.first_pages, self.sms_pages
        );
        println!(
            "  escalation steps   {} received for {} incidents",
            self.step_messages, self.incidents_opened
        );
        println!("  lost               {}", self.lost.len());
        println!("  duplicated         {}", self.duplicated.len());
        println!("  failed deliveries  {}", self.failed_deliveries.len());
        println!(
            "  wall time          {} (deliveries {}, then until every page was in the outbox)",
            secs(self.wall),
            secs(self.delivery_wall)
        );
        println!(
            "  intake latency     p50 {}, p99 {}, max {}",
            ms(self.latency_p50),
            ms(self.latency_p99),
            ms(self.latency_max)
        );
        if let (Some(emu), Some(own)) = (self.emulator_cpu, self.klaxon_cpu) {
            println!(
                "  CPU                emulator {} ({:.0} % of the wall time), Klaxon + harness {}",
                secs(emu),
                100.0 * emu.as_secs_f64() / self.wall.as_secs_f64().max(0.001),
                secs(own)
            );
        }
        for line in self
            .lost
            .iter()
            .chain(&self.duplicated)
            .chain(&self.failed_deliveries)
            .take(20)
        {
            println!("  ! {line}");
        }
    }

    pub fn clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.failed_deliveries.is_empty()
    }
}

/// Runs a storm on `local`, whose configuration must page someone by SMS
/// at level 1 for alarms named `<prefix>-*`.
pub async fn run(
    local: Arc<Local>,
    prefix: &str,
    pager: &str,
    plan: Plan,
) -> Result<Report, HarnessError> {
    let mut events = Vec::with_capacity(plan.alarms * plan.deliveries);
    let names: Vec<String> = (0..plan.alarms)
        .map(|a| format!("{prefix}-{a:04}"))
        .collect();
    for name in &names {
        for d in 0..plan.deliveries {
            let route = if d % 2 == 0 {
                Delivery::EventBridge
            } else {
                Delivery::Sns
            };
            events.push((
                name.clone(),
                alarm(route, name, "ALARM", "2026-11-21T06:00:00.000Z")?,
            ));
        }
    }
    events.shuffle(&mut rand::rng());
    let moto = moto_pid();
    let emulator_before = moto.and_then(cpu_of);
    let own_before = cpu_of_self();
    let started = Instant::now();
    // Lambda runs several escalator batches at once when the queue fills.
    let pumps: Vec<Pump> = (0..plan.pumps.max(1))
        .map(|_| Pump::start(Arc::clone(&local)))
        .collect();
    let mut report = Report {
        deliveries: events.len(),
        ..Report::default()
    };
    let mut outcomes: BTreeMap<String, Vec<IntakeOutcome>> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(events.len());
    let total = events.len();
    let mut done = 0;
    for chunk in events.chunks(plan.concurrency.max(1)) {
        let mut tasks = Vec::with_capacity(chunk.len());
        for (name, event) in chunk.iter().cloned() {
            let local = Arc::clone(&local);
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let result = local.deliver_alarm(&event).await;
                (name, t.elapsed(), result)
            }));
        }
        for task in tasks {
            let (name, took, result) = task
                .await
                .map_err(|e| HarnessError::Emulator(format!("delivery task: {e}")))?;
            latencies.push(took);
            done += 1;
            // A line per tenth, so a long storm shows it is moving.
            if total >= 1000 && done % (total / 10) == 0 {
                eprintln!(
                    "storm: {done}/{total} deliveries after {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
            match result {
                Ok(mut o) => outcomes.entry(name).or_default().append(&mut o),
                Err(e) => report.failed_deliveries.push(format!("{name}: {e}")),
            }
        }
    }
    report.delivery_wall = started.elapsed();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    report.latency_p50 = pick(0.50);
    report.latency_p99 = pick(0.99);
    report.latency_max = latencies.last().copied().unwrap_or_default();

    // One incident per alarm, each opened by exactly one delivery.
    let mut incidents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in local
        .store
        .list_open()
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?
    {
        if i.alarm_name.starts_with(prefix) {
            incidents
                .entry(i.alarm_name.clone())
                .or_default()
                .push(i.id);
        }
    }
    report.incidents_opened = incidents.values().map(Vec::len).sum();
    for name in &names {
        let opened = outcomes.get(name).map_or(0, |o| {
            o.iter()
                .filter(|x| matches!(x, IntakeOutcome::Opened { .. }))
                .count()
        });
        match (incidents.get(name).map_or(0, Vec::len), opened) {
            (0, _) => report.lost.push(format!("{name}: no incident")),
            (1, 1) => {}
            (n, o) => report
                .duplicated
                .push(format!("{name}: {n} incidents, {o} opened")),
        }
    }

    // Wait until the outbox holds a page per incident (one read a round),
    // then stop the escalator, then check every timeline once.
    let ids: BTreeSet<String> = incidents.values().flatten().cloned().collect();
    let deadline = Instant::now() + plan.page_patience;
    let mut said = Instant::now();
    loop {
        let sent = sms_pages(&local, pager, prefix).await?;
        if sent >= ids.len() || Instant::now() >= deadline {
            break;
        }
        if ids.len() >= 1000 && said.elapsed() >= Duration::from_secs(10) {
            said = Instant::now();
            eprintln!(
                "storm: {sent} pages in the outbox for {} incidents after {:.0} s",
                ids.len(),
                started.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for pump in pumps {
        report.step_messages += pump.stop().await;
    }
    report.wall = started.elapsed();
    report.emulator_cpu = match (emulator_before, moto.and_then(cpu_of)) {
        (Some(a), Some(b)) => b.checked_sub(a),
        _ => None,
    };
    report.klaxon_cpu = match (own_before, cpu_of_self()) {
        (Some(a), Some(b)) => b.checked_sub(a),
        _ => None,
    };
    // Every incident's first page, once, with its state change recorded once.
    let mut pages: BTreeMap<String, usize> = BTreeMap::new();
    for id in &ids {
        let timeline = local
            .store
            .timeline(id)
            .await
            .map_err(|e| HarnessError::Aws(e.to_string()))?;
        let paged = timeline
            .iter()
            .filter(|e| matches!(e.event, TimelineEvent::Paged { .. }))
            .count();
        match paged {
            0 => report.lost.push(format!("{id}: no first page")),
            1 => {}
            n => report.duplicated.push(format!("{id}: paged {n} times")),
        }
        if paged > 0 {
            pages.insert(id.clone(), paged);
        }
        let alarms = timeline
            .iter()
            .filter(|e| e.event.kind() == "alarm_state")
            .count();
        if alarms != 1 {
            report
                .duplicated
                .push(format!("{id}: the ALARM recorded {alarms} times"));
        }
    }
    report.first_pages = pages.len();
    report.sms_pages = sms_pages(&local, pager, prefix).await?;
    if report.sms_pages != report.first_pages {
        report.duplicated.push(format!(
            "{} SMS pages in the outbox for {} first pages",
            report.sms_pages, report.first_pages
        ));
    }
    Ok(report)
}

/// Pages of this storm in the emulator's SMS outbox.
async fn sms_pages(local: &Local, pager: &str, prefix: &str) -> Result<usize, HarnessError> {
    Ok(local
        .emulator
        .sms_to(pager)
        .await?
        .iter()
        .filter(|m| m.message.contains(prefix))
        .count())
}

/// The pid of the moto that `scripts/local-aws.sh` started, if any.
fn moto_pid() -> Option<u32> {
    std::fs::read_to_string(repo_root().join(".klaxon").join("moto.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn cpu_of(pid: u32) -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn cpu_of_self() -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User + system CPU time from a `/proc/<pid>/stat` line (fields 14 and 15,
/// in clock ticks of 1/100 s on Linux).
fn cpu_from_stat(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces; fields resume after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_from_the_stat_line_even_with_spaces_in_the_name() {
        let line =
            "4242 (python3 moto (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(cpu_from_stat(line), Some(Duration::from_millis(3250)));
        assert_eq!(cpu_from_stat("garbage"), None);
    }
}
