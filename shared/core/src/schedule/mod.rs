//! On-call schedules: who is on call at any instant, across time zones and
//! DST, from layered rotations, restriction windows and overrides.
//!
//! # Rules
//!
//! * **Handoffs** are civil (wall-clock) times in the layer's zone for every
//!   unit, hourly included: shift `k` starts at the civil
//!   `anchor + k × every × unit`, converted with jiff's "compatible"
//!   disambiguation (a nonexistent 02:30 becomes 03:30, an ambiguous 02:30
//!   is the earlier one). Shift `k` belongs to `participants[k mod n]`.
//!   At any instant the latest shift whose start has passed is on call, so
//!   a shift whose civil start falls in a DST gap and maps to the same
//!   instant as a later shift's start (or after it) is skipped.
//! * The **anchor** (start of shift 0) is the `handoff` time on `start`, or
//!   for weekly rotations on the first `handoff_day` on/after `start`.
//!   Before it, and from `end` 00:00 on, the layer has nobody.
//! * **Restrictions** are daily windows in the layer's zone; a window with
//!   `to <= from` ends the next day. Windows are merged into a weekly
//!   pattern whose edges are converted like handoffs; the layer covers an
//!   instant when the last edge at or before it is a window start.
//! * **Layers**: a later layer wins wherever it has someone on call.
//!   **Overrides** win over every layer for `[from, to)`.
//! * **`until`** is the next instant the answer (person and source)
//!   changes: a handoff to a different person (a one-person rotation never
//!   hands off), a restriction edge, an override edge, a layer start or end
//!   of this or a higher layer. `None`: it never changes again.
//!
//! Finding the last edge crossed looks as far ahead as the zone's largest
//! offset jump between 1970 and 2200; around a bigger jump outside that
//! range the answer may be approximate.

mod compile;
mod layer;
mod spec;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use layer::{Layer, earliest};
pub use spec::{LayerSpec, OverrideSpec, RestrictionSpec, RotationUnit, ScheduleSpec};

/// A compiled schedule, cheap to query.
#[derive(Debug, Clone)]
pub struct Schedule {
    time_zone: TimeZone,
    layers: Vec<Layer>,
    /// Sorted by start; they never overlap.
    overrides: Vec<Override>,
}

#[derive(Debug, Clone)]
struct Override {
    /// Position in the spec.
    index: usize,
    person: String,
    start: Timestamp,
    end: Timestamp,
}

/// Who is on call at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnCall<'a> {
    /// The person on call, `None` when nobody is.
    pub person: Option<&'a str>,
    /// What put them on call.
    pub source: Source<'a>,
    /// The answer holds until this instant (exclusive); `None`: forever.
    pub until: Option<Timestamp>,
}

/// Where an on-call answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// A rotation layer, by position in the spec and name.
    Layer { index: usize, name: &'a str },
    /// An override, by position in the spec.
    Override { index: usize },
    /// No layer and no override covers the instant.
    Nobody,
}

/// One stretch of `[start, end)` with the same person from the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift<'a> {
    /// The person on call, `None` for a gap.
    pub person: Option<&'a str>,
    /// What put them on call.
    pub source: Source<'a>,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Schedule {
    /// Parses and checks a spec. `is_person` says whether a person id
    /// exists. Errors are `(relative path, message)` pairs, all of them.
    pub fn compile(
        spec: &ScheduleSpec,
        is_person: &dyn Fn(&str) -> bool,
    ) -> Result<Schedule, Vec<(String, String)>> {
        compile::compile(spec, is_person)
    }

    /// Layers that can never be on call, as `(hidden, by, by's name)`: a
    /// later layer without restrictions covers every instant of the hidden
    /// one (it starts no later and ends no earlier), and a later layer
    /// always wins. Loads, but `validate` warns: it is almost always a
    /// layer someone forgot to restrict or to end.
    pub fn hidden_layers(&self) -> Vec<(usize, usize, &str)> {
        let mut hidden = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let by = self
                .layers
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, later)| {
                    later.windows.is_none()
                        && later.first <= layer.first
                        && match (later.end, layer.end) {
                            (None, _) => true,
                            (Some(_), None) => false,
                            (Some(later_end), Some(end)) => later_end >= end,
                        }
                });
            if let Some((j, later)) = by {
                hidden.push((i, j, later.name.as_str()));
            }
        }
        hidden
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Who is on call at `at`, and until when that answer holds.
    pub fn on_call(&self, at: Timestamp) -> OnCall<'_> {
        let next = self.overrides.partition_point(|o| o.start <= at);
        if let Some(o) = next.checked_sub(1).map(|i| &self.overrides[i])
            && at < o.end
        {
            return OnCall {
                person: Some(&o.person),
                source: Source::Override { index: o.index },
                until: Some(o.end),
            };
        }
        let mut until = self.overrides.get(next).map(|o| o.start);
        for (index, layer) in self.layers.iter().enumerate().rev() {
            let (slot, changes) = layer.at(at);
            until = earliest(until, changes);
            if let Some(slot) = slot {
                return OnCall {
                    person: Some(&layer.people[slot]),
                    source: Source::Layer {
                        index,
                        name: &layer.name,
                    },
                    until,
                };
            }
        }
        OnCall {
            person: None,
            source: Source::Nobody,
            until,
        }
    }

    /// The shifts covering `[from, to)`: consecutive, covering the whole
    /// range, adjacent pieces with the same person and source merged; gaps
    /// have `person: None`. Empty when `from >= to`.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Shift<'_>> {
        let mut shifts: Vec<Shift<'_>> = Vec::new();
        let mut at = from;
        while at < to {
            let now = self.on_call(at);
            let end = match now.until {
                Some(until) if until > at => until.min(to),
                // Never happens (`until` is always later than `at`); keeps
                // the loop finite regardless.
                Some(_) => at
                    .checked_add(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(to)
                    .min(to),
                None => to,
            };
            match shifts.last_mut() {
                Some(last) if last.person == now.person && last.source == now.source => {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    person: now.person,
                    source: now.source,
                    start: at,
                    end,
                }),
            }
            at = end;
        }
        shifts
    }
}
