//! The `klaxon` CLI's library: the operator commands that look at a
//! deployed (or local) stack, kept here so the integration tests in
//! `tests/` drive the same code the binary runs.
//!
//! * [`names`]: the stack's resource names, derived from the stack name as
//!   `infra/template.yaml` names them.
//! * [`validation`]: the configuration validation `klaxon config validate`
//!   runs (numbering plans included), shared with `klaxon doctor`.
//! * [`doctor`]: `klaxon doctor`, every check with a status, a message and a fix.
//! * [`dlq`]: `klaxon dlq list|show|redrive`, the dead letters of both
//!   dead-letter queues with the reason they failed.
//! * [`test_notify`]: `klaxon test-notify`, a marked test notification
//!   through the stack's real senders.
//! * [`aws_error`]: short descriptions of AWS SDK errors for operators.

pub mod aws_error;
pub mod dlq;
pub mod doctor;
pub mod names;
pub mod test_notify;
pub mod validation;
