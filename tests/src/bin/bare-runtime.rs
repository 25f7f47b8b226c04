//! The floor of a Rust Lambda's cold start: a binary that only starts
//! `lambda_runtime` (Tokio, the runtime client) and answers every event
//! with nothing. `make bench` measures each function beside it, built the
//! same way (release profile), under the same stub Runtime API.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(Value::Null)
    }))
    .await
}
