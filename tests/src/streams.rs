//! What AWS does around the incidents table's stream, which the emulator
//! cannot: the event source mapping that hands stream batches to the event
//! publisher (a checkpoint that moves past a batch only when the function
//! reports no failure, and retries from the reported record), and a tap on
//! the bus (a rule with an SQS target) that shows what was published.

use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{Map, Value, json};

use crate::HarnessError;
use crate::stack::Mapping;

fn err(context: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Aws(format!("{context}: {e}"))
}

/// An attribute value as DynamoDB JSON, the form the Lambda event carries.
fn attribute(v: &AttributeValue) -> Result<Value, HarnessError> {
    Ok(match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::L(items) => json!({
            "L": items.iter().map(attribute).collect::<Result<Vec<_>, _>>()?
        }),
        AttributeValue::M(m) => json!({ "M": image(m)? }),
        other => {
            return Err(HarnessError::Emulator(format!(
                "attribute type Klaxon never writes: {other:?}"
            )));
        }
    })
}

fn image(
    m: &std::collections::HashMap<String, AttributeValue>,
) -> Result<Map<String, Value>, HarnessError> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
        .collect()
}

/// One stream record as a record of Lambda's DynamoDB event.
fn lambda_record(r: &Record, stream_arn: &str, region: &str) -> Result<Value, HarnessError> {
    let d = r
        .dynamodb
        .as_ref()
        .ok_or_else(|| HarnessError::Emulator("stream record without dynamodb".into()))?;
    let mut change = Map::new();
    if let Some(t) = d.approximate_creation_date_time {
        change.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
    }
    if let Some(keys) = &d.keys {
        change.insert("Keys".into(), Value::Object(image(keys)?));
    }
    if let Some(new) = &d.new_image {
        change.insert("NewImage".into(), Value::Object(image(new)?));
    }
    change.insert("SequenceNumber".into(), json!(d.sequence_number));
    change.insert("SizeBytes".into(), json!(d.size_bytes));
    change.insert(
        "StreamViewType".into(),
        json!(d.stream_view_type.as_ref().map(|v| v.as_str())),
    );
    Ok(json!({
        "eventID": r.event_id,
        "eventName": r.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }))
}

/// How many stream records the mapping reads at once before filtering
/// (GetRecords' own limit).
const READ_AHEAD: usize = 1000;

/// The event source mapping of one stream, as deployed: reads from its
/// checkpoint on, hands over only the records its filter criteria let
/// through, and gives up on a batch after its retry attempts, sending
/// Lambda's on-failure record to its destination queue.
pub struct StreamMapping {
    client: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    /// The emulator, which evaluates filter patterns as Lambda does.
    emulator: String,
    stream_arn: String,
    region: String,
    function_arn: String,
    settings: Mapping,
    /// The last sequence number handed over without failure.
    checkpoint: Mutex<Option<String>>,
    /// The record a batch failed at, and how many invocations failed there.
    failing: Mutex<Option<(String, u32)>>,
}

impl StreamMapping {
    /// The mapping `settings` (read back from the deployed stack) of the
    /// function `function_arn`.
    pub fn deployed(
        sdk: &SdkConfig,
        settings: &Mapping,
        function_arn: &str,
    ) -> Result<Self, HarnessError> {
        Ok(Self {
            client: aws_sdk_dynamodbstreams::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            http: crate::http_client(),
            emulator: crate::Emulator::from_env()?.endpoint,
            stream_arn: settings.source_arn.clone(),
            region: sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            function_arn: function_arn.to_string(),
            settings: settings.clone(),
            checkpoint: Mutex::new(None),
            failing: Mutex::new(None),
        })
    }

    /// How many records one invocation gets (the mapping's `BatchSize`).
    pub fn batch_size(&self) -> usize {
        self.settings.batch_size
    }

    /// Which records the mapping's filter criteria let through (all of
    /// them without criteria), decided by the emulator with EventBridge's
    /// pattern matcher, the syntax Lambda's filters use.
    async fn admitted(&self, records: &[Value]) -> Result<Vec<bool>, HarnessError> {
        if self.settings.filters.is_empty() {
            return Ok(vec![true; records.len()]);
        }
        let url = format!("{}/moto-api/klaxon/filter-records", self.emulator);
        let answer = self
            .http
            .post(&url)
            .json(&json!({ "patterns": self.settings.filters, "records": records }))
            .send()
            .await
            .map_err(|e| err("filter-records", e))?;
        let status = answer.status();
        let body: Value = answer.json().await.map_err(|e| err("filter-records", e))?;
        if !status.is_success() {
            return Err(err("filter-records", body));
        }
        serde_json::from_value(body["matches"].clone()).map_err(|e| err("filter-records", e))
    }

    /// Lambda's on-failure record of a stream batch, to the mapping's
    /// destination (`DDBStreamBatchInfo`, as `klaxon dlq` reads it).
    async fn give_up(&self, batch: &[Value], invocations: u32) -> Result<(), HarnessError> {
        let Some(destination) = &self.settings.on_failure else {
            return Ok(());
        };
        let url = crate::queue_url_of(&self.sqs, destination).await?;
        let sequence = |r: Option<&Value>| r.map(|r| r["dynamodb"]["SequenceNumber"].clone());
        let arrival = |r: Option<&Value>| {
            r.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
                .and_then(|t| jiff::Timestamp::from_second(t as i64).ok())
                .map(|t| t.to_string())
        };
        let record = json!({
            "requestContext": {
                "requestId": format!("{:032x}", rand::random::<u128>()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": jiff::Timestamp::now().to_string(),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-local",
                "startSequenceNumber": sequence(batch.first()),
                "endSequenceNumber": sequence(batch.last()),
                "approximateArrivalOfFirstRecord": arrival(batch.first()),
                "approximateArrivalOfLastRecord": arrival(batch.last()),
                "batchSize": batch.len(),
                "streamArn": self.stream_arn,
            },
        });
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(record.to_string())
            .send()
            .await
            .map_err(|e| err("SendMessage", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
        Ok(())
    }

    fn checkpoint(&self) -> Option<String> {
        self.checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The next batch after the checkpoint, at most `max` records, as the
    /// Lambda event AWS would deliver (`{"Records": [...]}`), with the
    /// sequence numbers in order. Empty when nothing is new.
    pub async fn next_batch(&self, max: usize) -> Result<(Value, Vec<String>), HarnessError> {
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| {
                err(
                    "DescribeStream",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e),
                )
            })?;
        let shards = stream
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        let mut records = Vec::new();
        let mut sequences = Vec::new();
        for shard in shards {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            let mut req = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(shard_id);
            req = match self.checkpoint() {
                Some(seq) => req
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let iterator = req
                .send()
                .await
                .map_err(|e| {
                    err(
                        "GetShardIterator",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e),
                    )
                })?
                .shard_iterator;
            let Some(iterator) = iterator else { continue };
            let out = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(i32::try_from(max).unwrap_or(1000))
                .send()
                .await
                .map_err(|e| {
                    err(
                        "GetRecords",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e),
                    )
                })?;
            for r in out.records.unwrap_or_default().iter().take(max) {
                sequences.push(
                    r.dynamodb
                        .as_ref()
                        .and_then(|d| d.sequence_number.clone())
                        .unwrap_or_default(),
                );
                records.push(lambda_record(r, &self.stream_arn, &self.region)?);
            }
        }
        Ok((json!({ "Records": records }), sequences))
    }

    /// Moves the checkpoint past `sequence` (the function reported no
    /// failure up to and including it).
    pub fn commit(&self, sequence: &str) {
        *self.checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(sequence.to_string());
    }

    /// What the event source mapping does with the records written since
    /// the checkpoint: hands those its filters let through to `handle` in
    /// batches of at most its batch size, as the Lambda event; moves the
    /// checkpoint past each batch the function answers with no failure,
    /// and, when it names a failed record, only up to the record before
    /// it, and stops there (the next call retries from it). After the
    /// mapping's retry attempts fail at the same record, the rest of the
    /// batch goes to the on-failure destination and the checkpoint moves
    /// past it, as Lambda gives up.
    pub async fn deliver(
        &self,
        mut handle: impl AsyncFnMut(
            &aws_lambda_events::dynamodb::Event,
        ) -> aws_lambda_events::streams::DynamoDbEventResponse,
    ) -> Result<(), HarnessError> {
        loop {
            // Records the filters drop do not count toward a batch, as in
            // Lambda: read ahead, filter, then batch.
            let (event, sequences) = self.next_batch(READ_AHEAD).await?;
            let Some(last) = sequences.last() else {
                return Ok(());
            };
            let records = event["Records"].as_array().cloned().unwrap_or_default();
            let admitted: Vec<usize> = self
                .admitted(&records)
                .await?
                .iter()
                .enumerate()
                .filter(|(_, admit)| **admit)
                .map(|(i, _)| i)
                .collect();
            if admitted.is_empty() {
                self.commit(last);
                continue;
            }
            let take = admitted.len().min(self.settings.batch_size);
            // The batch ends just before the next admitted record.
            let end = admitted
                .get(take)
                .map_or(sequences.len() - 1, |next| next - 1);
            let batch: Vec<Value> = admitted[..take]
                .iter()
                .map(|i| records[*i].clone())
                .collect();
            let kept: Vec<&String> = admitted[..take].iter().map(|i| &sequences[*i]).collect();
            let last = &sequences[end];
            let event: aws_lambda_events::dynamodb::Event =
                serde_json::from_value(json!({ "Records": batch }))
                    .map_err(|e| HarnessError::Emulator(format!("stream event: {e}")))?;
            let response = handle(&event).await;
            let failed = response
                .batch_item_failures
                .first()
                .and_then(|f| f.item_identifier.clone());
            let Some(failed) = failed else {
                self.commit(last);
                *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = None;
                continue;
            };
            let at = sequences.iter().position(|s| *s == failed).unwrap_or(0);
            if at > 0 {
                self.commit(&sequences[at - 1]);
            }
            let failures = {
                let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
                let n = match &*failing {
                    Some((seq, n)) if *seq == failed => n + 1,
                    _ => 1,
                };
                *failing = Some((failed.clone(), n));
                n
            };
            let exhausted = self
                .settings
                .maximum_retry_attempts
                .is_some_and(|retries| failures > retries);
            if !exhausted {
                return Ok(());
            }
            let from = kept.iter().position(|s| **s == failed).unwrap_or(0);
            self.give_up(&batch[from..], failures).await?;
            self.commit(last);
            *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// A rule on the bus that copies every Klaxon event to an SQS queue, so
/// tests can read what was published.
pub struct BusTap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl BusTap {
    pub async fn attach(sdk: &SdkConfig, bus: &str, name: &str) -> Result<Self, HarnessError> {
        Self::attach_with(sdk, bus, name, r#"{"source": ["klaxon"]}"#, None).await
    }

    /// A rule with `pattern` whose target is a new queue named `name`,
    /// transforming each event with `input` (the paths map and the
    /// template) when given.
    pub async fn attach_with(
        sdk: &SdkConfig,
        bus: &str,
        name: &str,
        pattern: &str,
        input: Option<(std::collections::BTreeMap<String, String>, String)>,
    ) -> Result<Self, HarnessError> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| err("CreateQueue", aws_sdk_sqs::error::DisplayErrorContext(&e)))?
            .queue_url
            .ok_or_else(|| err("CreateQueue", "no URL"))?;
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let queue_arn = format!(
            "arn:aws:sqs:{region}:{}:{name}",
            crate::stack::LOCAL_ACCOUNT
        );
        events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .event_pattern(pattern)
            .send()
            .await
            .map_err(|e| {
                err(
                    "PutRule",
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e),
                )
            })?;
        events
            .put_targets()
            .rule(name)
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("tap")
                    .arn(queue_arn)
                    .set_input_transformer(
                        input
                            .map(|(paths, template)| {
                                aws_sdk_eventbridge::types::InputTransformer::builder()
                                    .set_input_paths_map(Some(paths.into_iter().collect()))
                                    .input_template(template)
                                    .build()
                            })
                            .transpose()
                            .map_err(|e| err("InputTransformer", e))?,
                    )
                    .build()
                    .map_err(|e| err("Target", e))?,
            )
            .send()
            .await
            .map_err(|e| {
                err(
                    "PutTargets",
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e),
                )
            })?;
        Ok(Self { sqs, queue_url })
    }

    /// Every event delivered to the tap so far (and not yet drained), as
    /// EventBridge delivers it (`source`, `detail-type`, `detail`, ...).
    pub async fn drain(&self) -> Result<Vec<Value>, HarnessError> {
        let mut events = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(|e| {
                    err(
                        "ReceiveMessage",
                        aws_sdk_sqs::error::DisplayErrorContext(&e),
                    )
                })?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(events);
            }
            for m in messages {
                let body = m.body.unwrap_or_default();
                events.push(
                    serde_json::from_str(&body)
                        .map_err(|e| HarnessError::Emulator(format!("tap message: {e}")))?,
                );
                if let Some(handle) = m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| {
                            err("DeleteMessage", aws_sdk_sqs::error::DisplayErrorContext(&e))
                        })?;
                }
            }
        }
    }
}
