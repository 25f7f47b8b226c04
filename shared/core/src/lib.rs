//! The pure domain core: no I/O, no AWS types.

pub mod alarm;
pub mod channels;
pub mod classify;
pub mod email;
pub mod escalation;
pub mod events;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod incident;
pub mod incident_manager;
pub mod invocation;
pub mod keys;
pub mod metrics;
pub mod notifications;
pub mod paging;
pub mod phone;
pub mod policy;
pub mod rate_limit;
pub mod reply;
pub mod routing;
pub mod schedule;
pub mod secrets;
pub mod self_test;
pub mod signature;
pub mod sms;
pub mod status_page;
pub mod status_update;
pub mod time;
pub mod timeline;
pub mod transition;
pub mod voice;
