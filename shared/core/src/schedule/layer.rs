//! Compiled layers: rotations and restriction windows in civil time, and the
//! search that maps civil edges to instants.
//!
//! Both a rotation and a set of restriction windows are a strictly
//! increasing sequence of civil edges `x_j` (civil seconds since
//! [`EPOCH`]). Edge `j` happens at the instant `X_j` that jiff's
//! "compatible" disambiguation gives for `x_j`. The state at instant `t`
//! is decided by the **last edge crossed**: the largest `j` with
//! `X_j <= t`. Where the civil-to-instant mapping is monotone (always,
//! except for edges inside a DST gap that are followed by an edge less than
//! the gap's length later), this is plain "inside `[X_j, X_{j+1})`".

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Seconds in a civil week.
pub(super) const WEEK: i64 = 7 * DAY;
/// Seconds in a civil day.
pub(super) const DAY: i64 = 86_400;

/// Civil seconds are counted from this Monday 00:00, so `x.rem_euclid(WEEK)`
/// is the position within a Monday-based week.
const EPOCH: DateTime = jiff::civil::datetime(1970, 1, 5, 0, 0, 0, 0);

/// Civil seconds since [`EPOCH`] of a civil date-time (whole seconds).
pub(super) fn civil_seconds(dt: DateTime) -> i64 {
    dt.duration_since(EPOCH).as_secs()
}

/// A time zone plus the largest offset change it makes at once, which
/// bounds how far the civil order of edges can differ from their instant
/// order.
#[derive(Debug, Clone)]
pub(super) struct Zone {
    pub(super) tz: TimeZone,
    /// Seconds; the largest offset jump between 1970 and 2200.
    margin: i64,
}

impl Zone {
    pub(super) fn new(tz: TimeZone) -> Zone {
        // 1970-01-01 and 2200-01-01 in Unix seconds.
        let from = Timestamp::UNIX_EPOCH;
        let to = Timestamp::from_second(7_258_118_400).unwrap_or(Timestamp::MAX);
        let mut previous = tz.to_offset(from).seconds();
        let mut margin = 0_i64;
        for transition in tz.following(from) {
            if transition.timestamp() > to {
                break;
            }
            let offset = transition.offset().seconds();
            margin = margin.max(i64::from(offset.abs_diff(previous)));
            previous = offset;
        }
        Zone { tz, margin }
    }

    /// Civil seconds of `t` in this zone, rounded down.
    fn civil(&self, t: Timestamp) -> i64 {
        let d = self.tz.to_datetime(t).duration_since(EPOCH);
        if d.subsec_nanos() < 0 {
            d.as_secs() - 1
        } else {
            d.as_secs()
        }
    }

    /// The instant of civil second `x` ("compatible" disambiguation),
    /// saturating outside jiff's range.
    pub(super) fn instant(&self, x: i64) -> Timestamp {
        EPOCH
            .checked_add(SignedDuration::from_secs(x))
            .ok()
            .and_then(|dt| self.tz.to_ambiguous_timestamp(dt).compatible().ok())
            .unwrap_or(if x < 0 {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            })
    }

    /// The largest `j >= lo` with `X_j <= t`, searching from `guess`
    /// (an index with `x_guess <= c`, or close to it); `c` is `t` in civil
    /// seconds.
    fn last_crossed(
        &self,
        seq: &impl Fn(i64) -> i64,
        lo: i64,
        guess: i64,
        t: Timestamp,
        c: i64,
    ) -> Option<i64> {
        let start = guess.max(lo);
        let mut best = None;
        let mut j = start;
        loop {
            if self.instant(seq(j)) <= t {
                best = Some(j);
                break;
            }
            if j <= lo {
                break;
            }
            j -= 1;
        }
        // A later edge can still map at or before `t` only if its civil
        // time is within `margin` of `c`.
        let limit = c.saturating_add(self.margin);
        let mut j = start.saturating_add(1);
        loop {
            let x = seq(j);
            if x > limit || j == i64::MAX {
                break;
            }
            if self.instant(x) <= t {
                best = Some(j);
            }
            j += 1;
        }
        best
    }

    /// The earliest instant of the edges `j >= first` with `keep(j)`;
    /// `first` itself must be kept. `None` past jiff's range.
    fn earliest_from(
        &self,
        seq: &impl Fn(i64) -> i64,
        first: i64,
        keep: impl Fn(i64) -> bool,
    ) -> Option<Timestamp> {
        let x0 = seq(first);
        let mut best = self.instant(x0);
        // Only an edge within `margin` (civil) of the first can map earlier.
        let limit = x0.saturating_add(self.margin);
        let mut j = first.saturating_add(1);
        loop {
            let x = seq(j);
            if x > limit || j == i64::MAX {
                break;
            }
            if keep(j) {
                best = best.min(self.instant(x));
            }
            j += 1;
        }
        (best != Timestamp::MAX).then_some(best)
    }
}

/// Restriction windows merged into a weekly pattern: civil edges within a
/// Monday-based week, alternating start and end.
#[derive(Debug, Clone)]
pub(super) struct Windows {
    /// Strictly increasing; even positions are starts, odd ones ends. The
    /// first start is in `[0, WEEK)`; the last end may pass `WEEK` (the
    /// window wraps into next week) but stays before the first start + WEEK.
    edges: Vec<i64>,
}

impl Windows {
    /// Merges `[start, end)` intervals (week seconds, `0 <= start < WEEK`,
    /// `start < end <= start + WEEK`). `None` when they cover the whole
    /// week, i.e. there is no restriction.
    pub(super) fn merge(mut intervals: Vec<(i64, i64)>) -> Option<Windows> {
        intervals.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        // The last window may wrap into the first ones of the next week.
        while merged.len() > 1 {
            let (first_start, first_end) = merged[0];
            let last = merged.len() - 1;
            if merged[last].1 < first_start + WEEK {
                break;
            }
            merged[last].1 = merged[last].1.max(first_end + WEEK);
            merged.remove(0);
        }
        match merged.as_slice() {
            [] => None,
            [(start, end)] if end - start >= WEEK => None,
            _ => Some(Windows {
                edges: merged.iter().flat_map(|&(s, e)| [s, e]).collect(),
            }),
        }
    }

    fn civil(&self, j: i64) -> i64 {
        let m = self.edges.len() as i64;
        let week = j.div_euclid(m);
        let position = self.edges[j.rem_euclid(m) as usize];
        week.saturating_mul(WEEK).saturating_add(position)
    }

    /// Whether the windows cover `t` (civil `c`), and the next instant that
    /// changes.
    fn state(&self, zone: &Zone, t: Timestamp, c: i64) -> (bool, Option<Timestamp>) {
        let m = self.edges.len() as i64;
        let week = c.div_euclid(WEEK);
        let position = c.rem_euclid(WEEK);
        let count = self.edges.partition_point(|&e| e <= position) as i64;
        let guess = week.saturating_mul(m).saturating_add(count - 1);
        let seq = |j: i64| self.civil(j);
        let Some(j) = zone.last_crossed(&seq, i64::MIN, guess, t, c) else {
            return (false, None);
        };
        let covering = j.rem_euclid(2) == 0;
        let next = zone.earliest_from(&seq, j.saturating_add(1), |k| {
            k.rem_euclid(2) != j.rem_euclid(2)
        });
        (covering, next)
    }
}

/// A compiled layer.
#[derive(Debug, Clone)]
pub(super) struct Layer {
    pub(super) name: String,
    pub(super) zone: Zone,
    /// Civil seconds of the start of shift 0.
    pub(super) anchor: i64,
    /// The instant shift 0 starts; nobody before.
    pub(super) first: Timestamp,
    /// Shift length in civil seconds.
    pub(super) step: i64,
    /// Nobody from this instant on.
    pub(super) end: Option<Timestamp>,
    pub(super) people: Vec<String>,
    /// For each slot, the index of the first slot with the same person.
    pub(super) ids: Vec<usize>,
    /// For each slot, how many shifts later the person first differs
    /// (0: never).
    pub(super) next_diff: Vec<i64>,
    pub(super) windows: Option<Windows>,
}

impl Layer {
    pub(super) fn new(
        name: String,
        zone: Zone,
        anchor: i64,
        step: i64,
        end: Option<Timestamp>,
        people: Vec<String>,
        windows: Option<Windows>,
    ) -> Layer {
        let ids: Vec<usize> = people
            .iter()
            .map(|p| people.iter().position(|q| q == p).unwrap_or(0))
            .collect();
        let n = ids.len();
        let next_diff = (0..n)
            .map(|i| {
                (1..n)
                    .find(|d| ids[(i + d) % n] != ids[i])
                    .map_or(0, |d| d as i64)
            })
            .collect();
        let first = zone.instant(anchor);
        Layer {
            name,
            zone,
            anchor,
            first,
            step,
            end,
            people,
            ids,
            next_diff,
            windows,
        }
    }

    fn shift_civil(&self, k: i64) -> i64 {
        self.anchor.saturating_add(k.saturating_mul(self.step))
    }

    fn slot(&self, k: i64) -> usize {
        k.rem_euclid(self.people.len() as i64) as usize
    }

    /// The slot on call at `t` (if any) and the next instant that changes.
    pub(super) fn at(&self, t: Timestamp) -> (Option<usize>, Option<Timestamp>) {
        if self.end.is_some_and(|end| t >= end) || self.people.is_empty() {
            return (None, None);
        }
        let zone = &self.zone;
        let c = zone.civil(t);
        let seq = |k: i64| self.shift_civil(k);
        let guess = c.saturating_sub(self.anchor).div_euclid(self.step);
        if t < self.first {
            // The layer starts at its first handoff, or at the first window
            // after it.
            let start = match &self.windows {
                Some(windows) => match windows.state(zone, self.first, zone.civil(self.first)) {
                    (true, _) => Some(self.first),
                    (false, next) => next,
                },
                None => Some(self.first),
            };
            return (None, self.before_end(start));
        }
        // `X_0 = first <= t`, so there is a last shift crossed.
        let k = zone.last_crossed(&seq, 0, guess, t, c).unwrap_or(0);
        let slot = self.slot(k);
        let handoff = match self.next_diff[slot] {
            0 => None,
            d => zone.earliest_from(&seq, k.saturating_add(d), |j| {
                self.ids[self.slot(j)] != self.ids[slot]
            }),
        };
        match &self.windows {
            None => (Some(slot), earliest(handoff, self.end)),
            Some(windows) => match windows.state(zone, t, c) {
                (true, edge) => (Some(slot), earliest(earliest(handoff, edge), self.end)),
                (false, edge) => (None, self.before_end(edge)),
            },
        }
    }

    /// `at` if the layer has not ended by then.
    fn before_end(&self, at: Option<Timestamp>) -> Option<Timestamp> {
        at.filter(|at| *at != Timestamp::MAX && self.end.is_none_or(|end| *at < end))
    }
}

/// The earlier of two optional instants, `None` meaning never.
pub(super) fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
