//! What AWS does around the incidents table's stream, which the emulator
//! cannot: the event source mapping that hands stream batches to the event
//! publisher (a checkpoint that moves past a batch only when the function
//! reports no failure, and retries from the reported record), and a tap on
//! the bus (a rule with an SQS target) that shows what was published.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{Map, Value, json};

use crate::HarnessError;
use crate::stack::{Mapping, Stack};

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
    /// The function's deadline: an invocation that runs longer is a
    /// function error (`Task timed out`).
    timeout: Duration,
    settings: Mapping,
    /// The last sequence number handed over without failure.
    checkpoint: Mutex<Option<String>>,
    /// The record a batch failed at, and how many invocations failed there.
    failing: Mutex<Option<(String, u32)>>,
    /// After a function error with `BisectBatchOnFunctionError`: the size
    /// of the next batches, and the last record of the batch that was split
    /// (batches stop there until the checkpoint has passed it).
    bisected: Mutex<Option<(usize, String)>>,
    /// The first record of a batch being gathered (the batching window),
    /// and when it was first seen.
    gathering: Mutex<Option<(String, Instant)>>,
}

/// What an invocation of a stream function came to: its response, or a
/// function error (the handler failed or ran past its deadline).
pub type Invocation = Result<aws_lambda_events::streams::DynamoDbEventResponse, String>;

/// Why Lambda gave up on stream records (the on-failure record's
/// `condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

/// How many records at the front of `ages` are past `max_age` (Lambda
/// discards those instead of invoking the function with them).
pub fn expired_prefix(ages: &[Duration], max_age: Duration) -> usize {
    ages.iter().take_while(|age| **age > max_age).count()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StreamMapping {
    /// The mapping of `function_id`'s stream event, as `stack` deployed
    /// it (its settings, the function's ARN and timeout).
    pub fn deployed(
        sdk: &SdkConfig,
        stack: &Stack,
        function_id: &str,
    ) -> Result<Self, HarnessError> {
        let settings = stack.mapping(function_id, crate::ids::STREAM_EVENT)?;
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
            function_arn: stack.function(function_id)?.arn.clone(),
            timeout: Duration::from_secs(stack.function_timeout(function_id)?),
            settings: settings.clone(),
            checkpoint: Mutex::new(None),
            failing: Mutex::new(None),
            bisected: Mutex::new(None),
            gathering: Mutex::new(None),
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
    async fn give_up(
        &self,
        batch: &[Value],
        invocations: u32,
        why: GaveUp,
    ) -> Result<(), HarnessError> {
        let Some(destination) = &self.settings.on_failure else {
            return Ok(());
        };
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
                "condition": match why {
                    GaveUp::RetryAttemptsExhausted => "RetryAttemptsExhausted",
                    GaveUp::RecordAgeExceeded => "RecordAgeExceeded",
                },
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
        crate::send_on_failure(&self.sqs, destination, &record).await
    }

    fn checkpoint(&self) -> Option<String> {
        lock(&self.checkpoint).clone()
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
        *lock(&self.checkpoint) = Some(sequence.to_string());
    }

    /// What the event source mapping does with the records written since
    /// the checkpoint, as Lambda does with the mapping's deployed settings:
    /// - records its filters drop are skipped (they do not count toward a
    ///   batch); records older than `MaximumRecordAgeInSeconds` (scaled)
    ///   go to the on-failure destination (`RecordAgeExceeded`) unread;
    /// - a batch short of the batch size waits for the batching window
    ///   (scaled) from when its first record was seen;
    /// - `handle` gets at most the batch size as the Lambda event, and has
    ///   the function's timeout to answer;
    /// - no failure: the checkpoint moves past the batch; a reported
    ///   failure: up to the record before it, and the call stops there
    ///   (the next call retries from it); a function error: nothing moves,
    ///   and with `BisectBatchOnFunctionError` the batch is split in two
    ///   and the halves retried;
    /// - after `MaximumRetryAttempts` failed retries at the same record,
    ///   the rest of the batch goes to the on-failure destination
    ///   (`RetryAttemptsExhausted`) and the mapping reads on past it.
    pub async fn deliver(
        &self,
        mut handle: impl AsyncFnMut(&aws_lambda_events::dynamodb::Event) -> Invocation,
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
            // The record just before the admitted record `n` (or the last
            // one read): where the checkpoint goes once `..n` is done.
            let before = |n: usize| admitted.get(n).map_or(sequences.len() - 1, |next| next - 1);
            if let Some(max_age) = self.settings.maximum_record_age_seconds {
                let now = jiff::Timestamp::now().as_second();
                let ages: Vec<Duration> = admitted
                    .iter()
                    .map(|i| {
                        let created = records[*i]["dynamodb"]["ApproximateCreationDateTime"]
                            .as_f64()
                            .unwrap_or(now as f64) as i64;
                        Duration::from_secs(u64::try_from(now - created).unwrap_or(0))
                    })
                    .collect();
                let expired = expired_prefix(&ages, crate::scaled(max_age));
                if expired > 0 {
                    let batch: Vec<Value> = admitted[..expired]
                        .iter()
                        .map(|i| records[*i].clone())
                        .collect();
                    self.give_up(&batch, 0, GaveUp::RecordAgeExceeded).await?;
                    self.commit(&sequences[before(expired)]);
                    continue;
                }
            }
            let bisected = lock(&self.bisected).clone();
            let mut take = admitted
                .len()
                .min(bisected.as_ref().map_or(self.settings.batch_size, |b| b.0));
            if let Some((_, end)) = &bisected {
                // A half never reaches past the batch that was split.
                if let Some(end) = sequences.iter().position(|s| s == end) {
                    take = take.min(admitted.iter().filter(|i| **i <= end).count().max(1));
                }
            }
            let window = crate::scaled(self.settings.batching_window_seconds);
            if self.settings.batching_window_seconds > 0
                && bisected.is_none()
                && take < self.settings.batch_size
            {
                let first = &sequences[admitted[0]];
                let since = {
                    let mut gathering = lock(&self.gathering);
                    match &*gathering {
                        Some((seq, at)) if seq == first => *at,
                        _ => {
                            let at = Instant::now();
                            *gathering = Some((first.clone(), at));
                            at
                        }
                    }
                };
                if since.elapsed() < window {
                    tokio::time::sleep(window - since.elapsed()).await;
                    continue;
                }
            }
            let end = before(take);
            let batch: Vec<Value> = admitted[..take]
                .iter()
                .map(|i| records[*i].clone())
                .collect();
            let kept: Vec<&String> = admitted[..take].iter().map(|i| &sequences[*i]).collect();
            let last = &sequences[end];
            let event: aws_lambda_events::dynamodb::Event =
                serde_json::from_value(json!({ "Records": batch }))
                    .map_err(|e| HarnessError::Emulator(format!("stream event: {e}")))?;
            let outcome = match tokio::time::timeout(self.timeout, handle(&event)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!(
                    "Task timed out after {} seconds",
                    self.timeout.as_secs()
                )),
            };
            let failed = match &outcome {
                Ok(response) => response
                    .batch_item_failures
                    .first()
                    .map(|f| f.item_identifier.clone().unwrap_or_default()),
                // A function error fails the whole batch.
                Err(_) => Some(kept[0].clone()),
            };
            let Some(failed) = failed else {
                self.commit(last);
                *lock(&self.failing) = None;
                let mut bisected = lock(&self.bisected);
                if bisected
                    .as_ref()
                    .is_some_and(|(_, end)| end == last || !sequences.contains(end))
                {
                    *bisected = None;
                }
                continue;
            };
            // An identifier that names no record of the batch fails all of it.
            let at = kept.iter().position(|s| **s == failed).unwrap_or(0);
            let failed = kept[at].clone();
            let at_sequence = sequences.iter().position(|s| *s == failed).unwrap_or(0);
            if at_sequence > 0 {
                self.commit(&sequences[at_sequence - 1]);
            }
            let failures = {
                let mut failing = lock(&self.failing);
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
                if outcome.is_err() && self.settings.bisect_on_error && take > 1 {
                    let mut bisected = lock(&self.bisected);
                    let end = bisected
                        .as_ref()
                        .map_or_else(|| last.clone(), |(_, end)| end.clone());
                    *bisected = Some(((take / 2).max(1), end));
                }
                return Ok(());
            }
            self.give_up(&batch[at..], failures, GaveUp::RetryAttemptsExhausted)
                .await?;
            self.commit(last);
            *lock(&self.failing) = None;
            let mut bisected = lock(&self.bisected);
            if bisected.as_ref().is_some_and(|(_, end)| end == last) {
                *bisected = None;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_records_at_the_front_past_the_maximum_age_expire() {
        let s = Duration::from_secs;
        assert_eq!(expired_prefix(&[s(30), s(20), s(5)], s(10)), 2);
        assert_eq!(expired_prefix(&[s(5), s(30)], s(10)), 0);
        assert_eq!(
            expired_prefix(&[s(10)], s(10)),
            0,
            "at the limit is not past it"
        );
        assert_eq!(expired_prefix(&[], s(10)), 0);
    }
}
