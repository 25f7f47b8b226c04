//! AWS SDK errors in one line an operator can act on.

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// `Code: message` for a service error; otherwise the SDK's description of
/// what went wrong (no connection, a response it could not read, ...).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(ctx) = err {
        let e = ctx.err();
        match (e.code(), e.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_string(),
            _ => {}
        }
    }
    one_line(&DisplayErrorContext(err).to_string())
}

/// The error code of a service error, if it is one.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

/// Whole text on one line, at most 300 characters (an emulator may answer
/// with a page of HTML).
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        let cut: String = flat.chars().take(300).collect();
        format!("{cut}...")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_multi_line_text_becomes_one_short_line() {
        let text = format!("<html>\n<title>500</title>\n{}", "x ".repeat(400));
        let line = one_line(&text);
        assert!(!line.contains('\n'));
        assert!(line.starts_with("<html> <title>500</title> x"));
        assert!(line.ends_with("..."));
        assert_eq!(line.chars().count(), 303);
    }
}
