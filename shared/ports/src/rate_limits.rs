//! Rate limits per destination (GoAlert's: at most 3 calls to a number in
//! 15 minutes), shared by every run and every incident.

use std::future::Future;

use jiff::Timestamp;

use super::BackendError;
pub use klaxon_core::rate_limit::{Allowance, Limit};

pub trait RateLimits: Send + Sync {
    /// Counts one use of `subject` at `now` under `limit`, unless it would
    /// exceed it. Idempotent per `token`: taking again with a token already
    /// counted in the window is allowed and counts nothing more.
    fn take(
        &self,
        subject: &str,
        token: &str,
        limit: Limit,
        now: Timestamp,
    ) -> impl Future<Output = Result<Allowance, BackendError>> + Send;
}
