//! Phone calls through Amazon Chime SDK PSTN Audio: a SIP media application
//! whose handler is the voice-call function places each call.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_chimesdkvoice::error::SdkError;

use super::backend_error;
use klaxon_core::phone::Phone;
use klaxon_ports::{BackendError, CallArguments, CallUpdate, PhoneCalls};

/// Calls from the stack's voice number through its SIP media application.
#[derive(Clone, Debug)]
pub struct ChimeCalls {
    client: aws_sdk_chimesdkvoice::Client,
    sip_media_application_id: String,
    /// `None` for a port that only updates calls (the voice-call function).
    from: Option<Phone>,
}

/// Error codes of the Chime SDK that a later attempt may get past (the SDK
/// retries 5xx itself, not its own throttling code).
const TRANSIENT: &[&str] = &[
    "ThrottledClientException",
    "ServiceFailureException",
    "ServiceUnavailableException",
];

impl ChimeCalls {
    pub fn from_sdk(
        sdk: &aws_config::SdkConfig,
        sip_media_application_id: &str,
        from: Phone,
    ) -> Self {
        Self::new(
            aws_sdk_chimesdkvoice::Client::new(sdk),
            sip_media_application_id,
            from,
        )
    }

    pub fn new(
        client: aws_sdk_chimesdkvoice::Client,
        sip_media_application_id: &str,
        from: Phone,
    ) -> Self {
        Self {
            client,
            sip_media_application_id: sip_media_application_id.to_string(),
            from: Some(from),
        }
    }

    /// Updates calls of an application; placing a call fails.
    pub fn updater(client: aws_sdk_chimesdkvoice::Client, sip_media_application_id: &str) -> Self {
        Self {
            client,
            sip_media_application_id: sip_media_application_id.to_string(),
            from: None,
        }
    }
}

fn chime_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> BackendError
where
    E: aws_sdk_chimesdkvoice::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let throttled = matches!(&err, SdkError::ServiceError(ctx)
        if ctx.err().code().is_some_and(|c| TRANSIENT.contains(&c)));
    let mut e = backend_error("Chime SDK Voice", operation, err);
    e.retryable |= throttled;
    e
}

impl PhoneCalls for ChimeCalls {
    async fn place_call(
        &self,
        to: &Phone,
        arguments: &CallArguments,
    ) -> Result<String, BackendError> {
        let Some(from) = &self.from else {
            return Err(BackendError {
                service: "Chime SDK Voice",
                operation: "CreateSipMediaApplicationCall",
                message: "no voice number to call from".into(),
                retryable: false,
            });
        };
        let map: HashMap<String, String> = arguments.to_map().into_iter().collect();
        let out = self
            .client
            .create_sip_media_application_call()
            .sip_media_application_id(&self.sip_media_application_id)
            .from_phone_number(from.as_str())
            .to_phone_number(to.as_str())
            .set_arguments_map(Some(map))
            .send()
            .await
            .map_err(|e| chime_error("CreateSipMediaApplicationCall", e))?;
        out.sip_media_application_call()
            .and_then(|c| c.transaction_id())
            .map(str::to_string)
            .ok_or_else(|| BackendError {
                service: "Chime SDK Voice",
                operation: "CreateSipMediaApplicationCall",
                message: "response had no TransactionId".into(),
                // A call may well have been placed: another would ring twice.
                retryable: false,
            })
    }

    async fn update_call(
        &self,
        transaction_id: &str,
        arguments: &BTreeMap<String, String>,
    ) -> Result<CallUpdate, BackendError> {
        let map: HashMap<String, String> = arguments.clone().into_iter().collect();
        let result = self
            .client
            .update_sip_media_application_call()
            .sip_media_application_id(&self.sip_media_application_id)
            .transaction_id(transaction_id)
            .set_arguments(Some(map))
            .send()
            .await;
        match result {
            Ok(_) => Ok(CallUpdate::Sent),
            Err(SdkError::ServiceError(ctx)) if ctx.err().is_not_found_exception() => {
                Ok(CallUpdate::Ended)
            }
            Err(e) => Err(chime_error("UpdateSipMediaApplicationCall", e)),
        }
    }
}
