//! The YAML form of a schedule (`schedules.<id>` in `oncall.yaml`).
//!
//! Times, dates, zones and weekdays are kept as raw strings here;
//! [`Schedule::compile`](super::Schedule::compile) parses and checks them.

use serde::{Deserialize, Serialize};

/// One on-call schedule: ordered layers plus one-off overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// IANA time zone, e.g. `Asia/Tokyo`. Default zone of the layers and of
    /// override times written without an offset.
    pub time_zone: String,
    /// Free text for people reading the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rotation layers, lowest first: a later layer wins wherever it has
    /// someone on call.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// Someone on call instead of whoever the layers say, for `[from, to)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideSpec>,
}

/// A rotation of participants with a fixed shift length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Unique within the schedule.
    pub name: String,
    /// Unit of the shift length.
    pub rotation: RotationUnit,
    /// Shift length in `rotation` units (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u32>,
    /// Local time of day of handoffs, `HH:MM` or `HH:MM:SS` (default `09:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<String>,
    /// Weekday of handoffs, weekly rotations only (default: weekday of
    /// `start`). `monday` or `mon`, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_day: Option<String>,
    /// Local date `YYYY-MM-DD`: the first shift starts at the first handoff
    /// on or after this date.
    pub start: String,
    /// Local date `YYYY-MM-DD`: nobody is on call in this layer from its
    /// 00:00 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// IANA time zone of this layer (default: the schedule's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Person ids in rotation order; repeats allowed.
    pub participants: Vec<String>,
    /// Local windows the layer covers; outside them it has nobody.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RestrictionSpec>,
}

/// The unit of a layer's shift length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum RotationUnit {
    /// Shifts of `every` hours (handoffs at civil times, like the others).
    Hourly,
    /// Shifts of `every` days.
    Daily,
    /// Shifts of `every` weeks.
    Weekly,
}

/// A daily window, local to the layer's zone. `to <= from` crosses
/// midnight; the window belongs to the day it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RestrictionSpec {
    /// Weekdays the window starts on (default: every day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// Start, `HH:MM` or `HH:MM:SS`.
    pub from: String,
    /// End, `HH:MM`, `HH:MM:SS` or `24:00`.
    pub to: String,
}

/// `person` is on call for `[from, to)`, whatever the layers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    /// Person id.
    pub person: String,
    /// Civil time in the schedule's zone (`2026-11-21T10:00`) or RFC 3339
    /// with an offset (`2026-11-21T01:00Z`).
    pub from: String,
    /// Same forms as `from`; must be later.
    pub to: String,
}
