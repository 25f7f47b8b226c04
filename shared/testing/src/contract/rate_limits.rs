//! The rate limit contract (part of the store contract).

use jiff::SignedDuration;

use super::fixtures::{Store, at};
use klaxon_core::rate_limit::VOICE_PER_NUMBER;
use klaxon_ports::{Allowance, Limit};

/// Three calls to a number in any 15 minutes; the same call counted once;
/// the window slides; other numbers are not affected.
pub async fn a_rate_limit_counts_each_token_once_in_a_sliding_window<S: Store>(s: &S, u: &str) {
    let number = format!("voice#{u}");
    let limit: Limit = VOICE_PER_NUMBER;
    for (i, token) in ["a", "b", "c"].iter().enumerate() {
        assert_eq!(
            s.take(&number, token, limit, at(60 * i as i64))
                .await
                .unwrap(),
            Allowance::Allowed
        );
    }
    // A retry of a counted call goes ahead and counts nothing more.
    assert_eq!(
        s.take(&number, "b", limit, at(200)).await.unwrap(),
        Allowance::Allowed
    );
    assert_eq!(
        s.take(&number, "d", limit, at(300)).await.unwrap(),
        Allowance::Limited {
            until: at(0) + SignedDuration::from_mins(15)
        }
    );
    assert_eq!(
        s.take(&format!("voice#{u}-other"), "d", limit, at(300))
            .await
            .unwrap(),
        Allowance::Allowed
    );
    // Once the first call leaves the window, one more may go.
    assert_eq!(
        s.take(&number, "d", limit, at(15 * 60 + 1)).await.unwrap(),
        Allowance::Allowed
    );
    assert_eq!(
        s.take(&number, "e", limit, at(15 * 60 + 2)).await.unwrap(),
        Allowance::Limited {
            until: at(60) + SignedDuration::from_mins(15)
        }
    );
}
