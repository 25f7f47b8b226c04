//! Functions run by hand under `cargo lambda watch`, each as its own role.
//!
//! Lambda gives a function its execution role's credentials in
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
//! `cargo lambda watch` starts each function with `cargo run --bin <name>`
//! and names it in `AWS_LAMBDA_FUNCTION_NAME`; `scripts/dev.sh watch` makes
//! `klaxon-local lambda-runner` cargo's runner, which finds the deployed
//! function `<stack>-<name>`, assumes the role it was deployed with, and
//! runs the binary with that role's credentials in those three variables.
//! The emulator (`scripts/moto_ext/iam.py`) then allows or denies each call
//! the function makes as IAM would for the deployed function.

use std::ffi::OsString;
use std::path::Path;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;

use crate::HarnessError;
use crate::roles::assume;

/// What `cargo lambda watch` names a function it runs with.
pub const FUNCTION_NAME_VAR: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The name `cargo lambda watch` gave the function `program` runs (its
/// binary's name when watch gave none, or its placeholder `_`).
pub fn function_name(named: Option<OsString>, program: &Path) -> Option<String> {
    named
        .and_then(|n| n.into_string().ok())
        .filter(|n| !n.is_empty() && n != "_")
        .or_else(|| {
            program
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
        })
}

/// The deployed function's role and a session of it.
#[derive(Debug)]
pub struct RoleSession {
    pub function: String,
    pub role: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub env: [(&'static str, String); 3],
}

/// Assumes the role function `<stack>-<function>` was deployed with,
/// with `admin`'s credentials.
pub async fn function_session(
    admin: &SdkConfig,
    stack: &str,
    function: &str,
) -> Result<RoleSession, HarnessError> {
    let name = format!("{stack}-{function}");
    let config = aws_sdk_lambda::Client::new(admin)
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                HarnessError::Template(format!(
                    "no function {name} in the emulator: start the stack with `make up` \
                     (or set KLAXON_STACK to the stack that has {function})"
                ))
            } else {
                HarnessError::Aws(format!(
                    "GetFunctionConfiguration {name}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(&e)
                ))
            }
        })?;
    let role = config
        .role()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| HarnessError::Template(format!("{name} was deployed without a role")))?
        .to_string();
    let credentials = assume(admin, &role, function)
        .await
        .provide_credentials()
        .await
        .map_err(|e| HarnessError::Aws(format!("AssumeRole {role}: {e}")))?;
    Ok(RoleSession {
        function: function.to_string(),
        role,
        env: [
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key().to_string(),
            ),
            (
                "AWS_SESSION_TOKEN",
                credentials.session_token().unwrap_or_default().to_string(),
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_is_the_one_watch_names() {
        let named = function_name(Some("escalator".into()), Path::new("/t/debug/alarm-intake"));
        assert_eq!(named.as_deref(), Some("escalator"));
    }

    #[test]
    fn without_a_name_from_watch_the_function_is_the_binary() {
        for named in [None, Some("_".into()), Some("".into())] {
            let function = function_name(named, Path::new("/t/debug/sms-reply"));
            assert_eq!(function.as_deref(), Some("sms-reply"));
        }
    }
}
