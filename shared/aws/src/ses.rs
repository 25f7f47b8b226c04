//! Email through Amazon SES (API v2 `SendEmail`).

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::backend_error;
use klaxon_ports::{BackendError, EmailSender};

/// Sends plain-text email from one verified SES identity.
#[derive(Clone, Debug)]
pub struct SesEmail {
    client: super::OnFirstUse<aws_sdk_sesv2::Client>,
    from: String,
}

impl SesEmail {
    /// Its client is built on the first email sent.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, from: impl Into<String>) -> Self {
        Self {
            client: super::OnFirstUse::new(sdk, aws_sdk_sesv2::Client::new),
            from: from.into(),
        }
    }

    /// `from` must be an SES identity verified in the account.
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client: super::OnFirstUse::ready(client),
            from: from.into(),
        }
    }
}

fn content(text: &str) -> Result<Content, BackendError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| BackendError {
            service: "SES",
            operation: "SendEmail",
            message: e.to_string(),
            retryable: false,
        })
}

impl EmailSender for SesEmail {
    async fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<String, BackendError> {
        let message = Message::builder()
            .subject(content(subject)?)
            .body(Body::builder().text(content(body)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| backend_error("SES", "SendEmail", e))?;
        out.message_id.ok_or_else(|| BackendError {
            service: "SES",
            operation: "SendEmail",
            message: "response had no MessageId".into(),
            retryable: true,
        })
    }
}
