use crate::support::*;
use countersign_sandbox::Config;
use countersign_sign::{Provider, ProviderError};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_short_retry_after_is_waited_out_and_the_call_repeated() {
    let s = sandbox(Config::default()).await;
    set_faults(
        &s,
        serde_json::json!({"rate_limit_next": 1, "retry_after_secs": 1}),
    )
    .await;
    let a = adapter(&s);
    let started = Instant::now();
    let found = a.find_by_idempotency_key("k").await.unwrap();
    assert!(found.is_none());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let stats = sandbox_stats(&s).await;
    assert_eq!(stats["rate_limited"], 1);
    assert_eq!(stats["api_requests"], 2, "one 429, one repeat");
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back_and_pauses_the_adapter() {
    let s = sandbox(Config::default()).await;
    set_faults(
        &s,
        serde_json::json!({"rate_limit_next": 1, "retry_after_secs": 120}),
    )
    .await;
    let a = adapter(&s);
    let started = Instant::now();
    let err = a.find_by_idempotency_key("k").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let ProviderError::RateLimited { retry_after } = err else {
        panic!("{err:?}")
    };
    assert_eq!(retry_after, Duration::from_secs(120));
    // The adapter honours the pause itself: the next call does not reach the provider.
    let err = a.find_by_idempotency_key("k").await.unwrap_err();
    assert!(
        matches!(err, ProviderError::RateLimited { retry_after } if retry_after > Duration::from_secs(100)),
        "{err:?}"
    );
    assert_eq!(sandbox_stats(&s).await["api_requests"], 1);
}
