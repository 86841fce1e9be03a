use crate::support::*;
use countersign_sandbox::{Config, Faults};
use countersign_sign::{send_once_with, Provider, ProviderError, Sent};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

const LOOKUPS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(20),
    Duration::from_millis(50),
];

/// What a durable job does: attempt, and on a retryable error attempt again, telling
/// `send_once` that an earlier attempt may have reached the provider.
async fn send_until_done(
    provider: &dyn Provider,
    request: &countersign_sign::EnvelopeRequest,
) -> (Sent, u32) {
    let mut attempts = 0;
    loop {
        let outcome = send_once_with(provider, request, attempts > 0, &LOOKUPS).await;
        attempts += 1;
        match outcome {
            Ok(sent) => return (sent, attempts),
            Err(e) if e.is_retryable() && attempts < 50 => {}
            Err(e) => panic!("send failed for good after {attempts} attempts: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sends_under_lost_answers_and_503s_make_one_envelope_per_key() {
    let s = sandbox(Config {
        faults: Faults {
            seed: 20240501,
            create_response_lost: 0.3,
            create_unavailable: 0.1,
            ..Faults::default()
        },
        ..Config::default()
    })
    .await;
    let provider = Arc::new(adapter(&s));
    let pdf = simple_pdf();
    let results: Vec<(String, Sent, u32)> = futures_util::stream::iter(0..200)
        .map(|i| {
            let provider = provider.clone();
            let request = request(pdf.clone(), &format!("document-{i:03}"));
            async move {
                let (sent, attempts) = send_until_done(provider.as_ref(), &request).await;
                (request.idempotency_key, sent, attempts)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    let all = all_envelopes(&s).await;
    assert_eq!(all.len(), 200, "exactly one envelope per send");
    let by_key: HashMap<String, String> = all
        .iter()
        .map(|e| {
            (
                e["idempotency_key"].as_str().unwrap().to_owned(),
                e["envelope_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(by_key.len(), 200, "no key has two envelopes");
    let keys: HashSet<&String> = results.iter().map(|(k, _, _)| k).collect();
    assert_eq!(keys.len(), 200);
    for (key, sent, _) in &results {
        assert_eq!(
            by_key.get(key).map(String::as_str),
            Some(sent.envelope_id.as_str()),
            "the id handed back is the envelope carrying the key"
        );
    }
    // The faults did happen, and every lost answer was adopted rather than re-created.
    let stats = sandbox_stats(&s).await;
    let lost = stats["lost_responses"].as_u64().unwrap();
    let unavailable = stats["unavailable"].as_u64().unwrap();
    assert!(lost >= 30, "{stats}");
    assert!(unavailable >= 5, "{stats}");
    let adopted = results.iter().filter(|(_, sent, _)| sent.adopted).count() as u64;
    assert_eq!(adopted, lost, "{stats}");
    assert!(results.iter().any(|(_, _, attempts)| *attempts > 1));
}

#[tokio::test]
async fn a_slow_search_index_is_waited_for_or_left_to_the_next_attempt() {
    let s = sandbox(Config::default()).await;
    let provider = adapter(&s);
    set_faults(
        &s,
        serde_json::json!({"create_response_lost": 1.0, "list_index_delay_ms": 150}),
    )
    .await;
    // The look-ups outlast the index delay: adopted in the same call.
    let req = request(simple_pdf(), "slow-1");
    let lookups = [
        Duration::ZERO,
        Duration::from_millis(100),
        Duration::from_millis(200),
    ];
    let sent = send_once_with(&provider, &req, false, &lookups)
        .await
        .unwrap();
    assert!(sent.adopted);

    // They do not: the outcome stays unknown, and the next attempt finds it first.
    set_faults(
        &s,
        serde_json::json!({"create_response_lost": 1.0, "list_index_delay_ms": 400}),
    )
    .await;
    let req = request(simple_pdf(), "slow-2");
    let err = send_once_with(&provider, &req, false, &[Duration::ZERO])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unknown { .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let sent = send_once_with(&provider, &req, true, &[Duration::ZERO])
        .await
        .unwrap();
    assert!(sent.adopted);
    assert_eq!(all_envelopes(&s).await.len(), 2, "one envelope per key");
}
