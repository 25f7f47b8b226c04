//! AWS SDK errors in one line an operator can act on.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// `Code: message` for a service error; the HTTP status when the answer
/// could not be read as the API's (an endpoint that does not implement the
/// API, such as an emulator); otherwise the SDK's description (no
/// connection, a timeout, ...), on one short line.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => unreadable(ctx.raw().status().as_u16()),
            }
        }
        SdkError::ResponseError(ctx) => unreadable(ctx.raw().status().as_u16()),
        SdkError::TimeoutError(_) => "the request timed out".to_string(),
        other => one_line(&DisplayErrorContext(other).to_string()),
    }
}

fn unreadable(status: u16) -> String {
    format!("HTTP {status} with an answer that is not this API's (is the API implemented here?)")
}

/// Whole text on one line, at most 300 characters.
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
