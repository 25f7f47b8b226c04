//! Phone calls (Amazon Chime SDK PSTN Audio): placing a call from the
//! stack's voice number, and asking a call under way to end.

use std::collections::BTreeMap;
use std::future::Future;

use super::BackendError;
use klaxon_core::phone::Phone;
pub use klaxon_core::voice::{CallArguments, CallPurpose};

/// What asking a call to end came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallUpdate {
    /// The call was told; its handler ends it.
    Sent,
    /// The call had already ended.
    Ended,
}

/// Places and updates calls.
pub trait PhoneCalls: Send + Sync {
    /// Places a call from the stack's voice number; returns the call's
    /// transaction id. An error means no call was placed.
    fn place_call(
        &self,
        to: &Phone,
        arguments: &CallArguments,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Tells a call under way that its incident changed (`arguments` reach
    /// the call's handler as they are).
    fn update_call(
        &self,
        transaction_id: &str,
        arguments: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<CallUpdate, BackendError>> + Send;
}

impl<T: PhoneCalls> PhoneCalls for &T {
    fn place_call(
        &self,
        to: &Phone,
        arguments: &CallArguments,
    ) -> impl Future<Output = Result<String, BackendError>> + Send {
        (**self).place_call(to, arguments)
    }

    fn update_call(
        &self,
        transaction_id: &str,
        arguments: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<CallUpdate, BackendError>> + Send {
        (**self).update_call(transaction_id, arguments)
    }
}
