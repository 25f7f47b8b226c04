//! The SNS envelope: `Records[].Sns.Message` of an SNS event delivered to
//! Lambda ([`aws_lambda_events::sns::SnsEvent`] in shape). Alarm intake and
//! SMS replies both read their messages through [`sns_messages`].
//!
//! Only `Records` and each record's `Sns.Message` are required: the typed
//! `SnsEvent` also requires the signature, topic and timestamp fields, which
//! hand-written drill and test events leave out.

use serde_json::Value;

/// One record's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnsMessage<'a> {
    /// The record's position in `Records`.
    pub index: usize,
    /// `Sns.MessageId`, when present.
    pub message_id: Option<&'a str>,
    /// `Sns.Message`, as published (possibly empty).
    pub message: &'a str,
}

/// What an SNS event lacks, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    /// `Records` is missing or not an array.
    #[error("not an SNS event: no 'Records' array")]
    NoRecordsArray,
    #[error("SNS event has no records")]
    NoRecords,
    /// A record whose `Sns.Message` is missing or not a string.
    #[error("SNS record {index}: 'Sns.Message' is missing")]
    NoMessage { index: usize },
}

/// The messages of an SNS event, in record order. The envelope is checked
/// at once; each record is read when the iterator reaches it, so a caller
/// can act on the records before a bad one.
pub fn sns_messages(
    event: &Value,
) -> Result<impl ExactSizeIterator<Item = Result<SnsMessage<'_>, SnsError>>, SnsError> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or(SnsError::NoRecordsArray)?;
    if records.is_empty() {
        return Err(SnsError::NoRecords);
    }
    Ok(records.iter().enumerate().map(|(index, record)| {
        let sns = record.get("Sns");
        let message = sns
            .and_then(|s| s.get("Message"))
            .and_then(Value::as_str)
            .ok_or(SnsError::NoMessage { index })?;
        Ok(SnsMessage {
            index,
            message_id: sns.and_then(|s| s.get("MessageId")).and_then(Value::as_str),
            message,
        })
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(event: &Value) -> Result<Vec<SnsMessage<'_>>, SnsError> {
        sns_messages(event)?.collect()
    }

    #[test]
    fn reads_each_records_message_with_its_index_and_id() {
        let event = json!({"Records": [
            {"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": "one"}},
            {"Sns": {"Message": ""}}
        ]});
        assert_eq!(
            read(&event).unwrap(),
            vec![
                SnsMessage {
                    index: 0,
                    message_id: Some("m-1"),
                    message: "one"
                },
                SnsMessage {
                    index: 1,
                    message_id: None,
                    message: ""
                }
            ]
        );
    }

    #[test]
    fn a_sample_lambda_event_reads() {
        let event: Value =
            serde_json::from_str(include_str!("../../../events/sns-alarm.json")).unwrap();
        let messages = read(&event).unwrap();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].message.contains("AlarmName"));
        // The same as the typed event reads.
        let typed: aws_lambda_events::sns::SnsEvent =
            serde_json::from_value(event.clone()).unwrap();
        assert_eq!(messages[0].message, typed.records[0].sns.message);
        assert_eq!(
            messages[0].message_id,
            Some(typed.records[0].sns.message_id.as_str())
        );
    }

    #[test]
    fn errors_name_the_missing_field() {
        for event in [json!({}), json!({"Records": {}}), json!([1])] {
            assert_eq!(read(&event).unwrap_err(), SnsError::NoRecordsArray);
        }
        assert_eq!(
            read(&json!({"Records": []})).unwrap_err(),
            SnsError::NoRecords
        );
        let bad = json!({"Records": [
            {"Sns": {"Message": "fine"}},
            {"Sns": {"Message": 42}},
            {"Sns": {}}
        ]});
        let mut records = sns_messages(&bad).unwrap();
        assert_eq!(records.len(), 3);
        assert!(records.next().unwrap().is_ok(), "read before the bad one");
        let e = records.next().unwrap().unwrap_err();
        assert_eq!(e, SnsError::NoMessage { index: 1 });
        assert_eq!(e.to_string(), "SNS record 1: 'Sns.Message' is missing");
        assert_eq!(
            SnsError::NoRecordsArray.to_string(),
            "not an SNS event: no 'Records' array"
        );
    }
}
