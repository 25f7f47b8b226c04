//! Klaxon's library crate.
//!
//! * [`core`] is the pure domain: alarm parsing, classification, incidents,
//!   SMS text and reply parsing, escalation steps. It needs no AWS types.
//! * [`config`] is the on-call configuration (`oncall.yaml`) and its validation.
//! * [`ports`] are the traits the application needs from the outside world.
//! * [`aws`] holds the adapters that implement those ports with the AWS SDK.
//! * [`https`] is the process's one HTTPS stack (rustls, Mozilla's roots
//!   compiled in), under the SDK's clients and the HTTP deliveries (`http`).
//! * [`app`] holds the handlers each Lambda function runs, written against ports.
//! * [`runtime`] is the shared Lambda plumbing: tracing, typed settings, errors.
//! * [`system`] is the system's clock, timer and randomness (the ports'
//!   adapters the functions use).
//! * `testing` (feature `testing`) holds in-memory fakes of every port and
//!   the store contract suite.

pub mod app;
pub mod aws;
pub mod config;
pub mod core;
#[cfg(feature = "http")]
pub mod http;
pub mod https;
pub mod ports;
pub mod runtime;
pub mod system;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
