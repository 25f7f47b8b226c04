//! How a Klaxon function reports a failure to Lambda (the `errorType` of
//! its answer), and what a caller of the function makes of it: whether
//! invoking again can help.

/// The event itself is wrong: invoking again with it cannot help.
pub const INVALID_EVENT: &str = "Klaxon.InvalidEvent";
/// A transient failure (throttling, an AWS error): invoking again can help.
pub const RETRYABLE: &str = "Klaxon.Retryable";
/// Not without a fix (often the applied configuration): the event waits in
/// its dead-letter queue.
pub const FAILED: &str = "Klaxon.Failed";

/// Whether invoking a Klaxon function again can help after it failed with
/// `error_type`: its own `Klaxon.Retryable` can, its other `Klaxon.*` types
/// cannot, and the Lambda platform's own errors (timeouts, crashes,
/// throttling) are worth another try.
pub fn worth_retrying(error_type: &str) -> bool {
    error_type == RETRYABLE || !error_type.starts_with("Klaxon.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_klaxons_retryable_type_and_the_platforms_own_errors_are_worth_retrying() {
        assert!(worth_retrying(RETRYABLE));
        assert!(!worth_retrying(FAILED));
        assert!(!worth_retrying(INVALID_EVENT));
        assert!(worth_retrying("Sandbox.Timedout"));
        assert!(worth_retrying("Runtime.ExitError"));
    }
}
