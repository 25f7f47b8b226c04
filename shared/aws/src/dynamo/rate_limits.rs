//! [`RateLimits`] on DynamoDB: one `RATE#<subject>` item per destination,
//! holding the uses still in the window, written with optimistic
//! concurrency (a version number) so concurrent takers never both get the
//! last use.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::items::{from_item, n, to_item};
use klaxon_core::rate_limit::decide;
use klaxon_core::time::iso_ms;
use klaxon_ports::{Allowance, BackendError, Limit, RateLimits};

const RATE: &str = "RATE";
/// Attempts when another run wrote the item in between.
const ATTEMPTS: usize = 8;

fn rate_pk(subject: &str) -> String {
    format!("RATE#{subject}")
}

#[derive(Debug, Serialize, Deserialize)]
struct RateItem {
    pk: String,
    sk: String,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    uses: Vec<Use>,
    /// DynamoDB TTL: the item goes once its newest use leaves the window.
    expires_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Use {
    token: String,
    #[serde(with = "iso_ms")]
    at: Timestamp,
}

impl RateLimits for DynamoStore {
    async fn take(
        &self,
        subject: &str,
        token: &str,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Allowance, BackendError> {
        for _ in 0..ATTEMPTS {
            let stored = match self.get_item(rate_pk(subject), RATE).await? {
                Some(item) => Some(from_item::<RateItem>(item, "rate limit")?),
                None => None,
            };
            let (version, uses) = stored.map_or((0, Vec::new()), |i| (i.version, i.uses));
            let pairs: Vec<(String, Timestamp)> =
                uses.iter().map(|u| (u.token.clone(), u.at)).collect();
            let counted = pairs
                .iter()
                .any(|(t, at)| t == token && *at > now - limit.window);
            let allowance = decide(&pairs, token, limit, now);
            if counted || allowance != Allowance::Allowed {
                return Ok(allowance);
            }
            let mut kept: Vec<Use> = uses
                .into_iter()
                .filter(|u| u.at > now - limit.window)
                .collect();
            kept.push(Use {
                token: token.to_string(),
                at: now,
            });
            let item = RateItem {
                pk: rate_pk(subject),
                sk: RATE.into(),
                version: version + 1,
                uses: kept,
                expires_at: (now + limit.window).as_second(),
            };
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&item)?));
            put = if version == 0 {
                put.condition_expression("attribute_not_exists(pk)")
            } else {
                put.condition_expression("version = :v")
                    .expression_attribute_values(":v", n(version))
            };
            if super::condition_held(put.send().await, "PutItem")? {
                return Ok(Allowance::Allowed);
            }
            // Another run counted a use in between: read again.
        }
        Err(BackendError {
            service: "DynamoDB",
            operation: "PutItem",
            message: format!("rate limit of {subject}: too many concurrent writers"),
            retryable: true,
        })
    }
}
