//! The duplicate-safe create: one envelope per idempotency key, however many times the send is
//! retried and whatever answers get lost on the way.

use crate::{EnvelopeRequest, Provider, ProviderError};
use countersign_core::EnvelopeId;
use std::time::Duration;

/// The outcome of [`send_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub envelope_id: EnvelopeId,
    /// `true` when the envelope already existed (an earlier attempt created it) and was adopted
    /// rather than created now.
    pub adopted: bool,
}

/// How long to wait before each look-up after a create whose outcome is unknown: a provider may
/// take a moment to make a new envelope searchable by custom field.
pub const UNKNOWN_OUTCOME_LOOKUPS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// Creates the envelope for `request` unless one with its idempotency key exists, and returns
/// its id. The caller persists the id at once.
///
/// `may_exist`: whether an earlier attempt of this send may have reached the provider (the caller
/// knows: e.g. a durable job's attempt count is above zero, or a crash happened mid-send). When
/// `true` the key is looked up first and an existing envelope is adopted. Pass `true` whenever in
/// doubt: it costs one look-up.
///
/// The invariant: for one key there are never two creates without a look-up in between. A create
/// that fails with [`ProviderError::Unknown`] (timeout, connection lost, 5xx after sending) is
/// followed here by look-ups ([`UNKNOWN_OUTCOME_LOOKUPS`]); if none finds the envelope the
/// `Unknown` error is returned and the caller retries later with `may_exist = true`. Every other
/// error means the provider did not create anything ([`ProviderError::Unavailable`],
/// [`ProviderError::RateLimited`]: retry later; [`ProviderError::Rejected`],
/// [`ProviderError::Unauthorized`]: stop).
#[tracing::instrument(skip_all, fields(idempotency_key = %request.idempotency_key, may_exist = may_exist))]
pub async fn send_once(
    provider: &dyn Provider,
    request: &EnvelopeRequest,
    may_exist: bool,
) -> Result<Sent, ProviderError> {
    send_once_with(provider, request, may_exist, &UNKNOWN_OUTCOME_LOOKUPS).await
}

/// [`send_once`] with its own look-up schedule (tests use short ones).
pub async fn send_once_with(
    provider: &dyn Provider,
    request: &EnvelopeRequest,
    may_exist: bool,
    lookups: &[Duration],
) -> Result<Sent, ProviderError> {
    request.validate()?;
    let key = &request.idempotency_key;
    if may_exist {
        if let Some(found) = provider.find_by_idempotency_key(key).await? {
            tracing::info!(envelope_id = %found.envelope_id, "adopted the envelope an earlier attempt created");
            return Ok(Sent {
                envelope_id: found.envelope_id,
                adopted: true,
            });
        }
    }
    let unknown = match provider.create_envelope(request).await {
        Ok(envelope_id) => {
            tracing::info!(%envelope_id, "envelope created");
            return Ok(Sent {
                envelope_id,
                adopted: false,
            });
        }
        Err(e @ ProviderError::Unknown { .. }) => e,
        Err(e) => return Err(e),
    };
    tracing::warn!(error = %unknown, "create outcome unknown; looking the key up");
    for (attempt, delay) in lookups.iter().enumerate() {
        tokio::time::sleep(*delay).await;
        match provider.find_by_idempotency_key(key).await {
            Ok(Some(found)) => {
                tracing::info!(envelope_id = %found.envelope_id, attempt, "the lost create did happen; adopted");
                return Ok(Sent {
                    envelope_id: found.envelope_id,
                    adopted: true,
                });
            }
            Ok(None) => {}
            // Still unknown: the caller's next attempt looks up again (`may_exist = true`).
            Err(e) => tracing::warn!(error = %e, attempt, "look-up after an unknown create failed"),
        }
    }
    Err(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnvelopeState, EnvelopeStatus, Position, Signer};
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::Mutex;

    /// A scripted provider: each create pops an outcome; every envelope it "created" is findable
    /// after `visible_after` look-ups.
    #[derive(Default)]
    struct Script {
        creates: Mutex<VecDeque<CreateOutcome>>,
        created: Mutex<Vec<String>>,
        lookups: Mutex<u32>,
        visible_after: u32,
        calls: Mutex<Vec<&'static str>>,
    }

    enum CreateOutcome {
        Ok,
        LostAfterCreate,
        Unavailable,
    }

    fn status(id: &str, key: &str) -> EnvelopeStatus {
        EnvelopeStatus {
            envelope_id: EnvelopeId::new(id),
            state: EnvelopeState::Sent,
            provider_status: "sent".into(),
            status_changed_at: None,
            completed_at: None,
            voided_reason: None,
            idempotency_key: Some(key.into()),
        }
    }

    #[async_trait::async_trait]
    impl Provider for Script {
        async fn create_envelope(&self, _: &EnvelopeRequest) -> Result<EnvelopeId, ProviderError> {
            self.calls.lock().unwrap().push("create");
            let outcome = self.creates.lock().unwrap().pop_front().unwrap();
            let id = format!("env-{}", self.created.lock().unwrap().len() + 1);
            match outcome {
                CreateOutcome::Ok => {
                    self.created.lock().unwrap().push(id.clone());
                    Ok(EnvelopeId::new(id))
                }
                CreateOutcome::LostAfterCreate => {
                    self.created.lock().unwrap().push(id);
                    Err(ProviderError::Unknown {
                        message: "connection reset".into(),
                    })
                }
                CreateOutcome::Unavailable => Err(ProviderError::Unavailable {
                    message: "503".into(),
                }),
            }
        }
        async fn find_by_idempotency_key(
            &self,
            key: &str,
        ) -> Result<Option<EnvelopeStatus>, ProviderError> {
            self.calls.lock().unwrap().push("lookup");
            let mut n = self.lookups.lock().unwrap();
            *n += 1;
            if *n <= self.visible_after {
                return Ok(None);
            }
            Ok(self
                .created
                .lock()
                .unwrap()
                .first()
                .map(|id| status(id, key)))
        }
        async fn envelope_status(&self, _: &EnvelopeId) -> Result<EnvelopeStatus, ProviderError> {
            unreachable!()
        }
        async fn void(&self, _: &EnvelopeId, _: &str) -> Result<(), ProviderError> {
            unreachable!()
        }
        async fn combined_pdf(&self, _: &EnvelopeId) -> Result<Vec<u8>, ProviderError> {
            unreachable!()
        }
        async fn certificate_pdf(&self, _: &EnvelopeId) -> Result<Vec<u8>, ProviderError> {
            unreachable!()
        }
    }

    fn request() -> EnvelopeRequest {
        EnvelopeRequest {
            pdf: b"%PDF-1.7".to_vec(),
            document_name: "a.pdf".into(),
            email_subject: "s".into(),
            email_blurb: None,
            signers: vec![Signer {
                role: "r".into(),
                name: "n".into(),
                email: "n@example.com".into(),
                routing_order: 1,
                anchors: vec![crate::Anchor {
                    anchor_text: "Signature:".into(),
                    x_offset: 0.0,
                    y_offset: 0.0,
                    on_document: true,
                    fallback: Position {
                        page_number: 1,
                        x: 0.0,
                        y: 0.0,
                    },
                }],
            }],
            carbon_copies: vec![],
            idempotency_key: "key".into(),
            metadata: BTreeMap::new(),
        }
    }

    const FAST: [Duration; 3] = [Duration::ZERO, Duration::ZERO, Duration::ZERO];

    #[tokio::test]
    async fn first_attempt_creates_without_looking_up() {
        let p = Script::default();
        p.creates.lock().unwrap().push_back(CreateOutcome::Ok);
        let sent = send_once_with(&p, &request(), false, &FAST).await.unwrap();
        assert_eq!(sent.envelope_id.as_str(), "env-1");
        assert!(!sent.adopted);
        assert_eq!(*p.calls.lock().unwrap(), ["create"]);
    }

    #[tokio::test]
    async fn a_lost_create_is_found_by_key_and_adopted_even_when_indexing_is_slow() {
        let p = Script {
            visible_after: 2,
            ..Script::default()
        };
        p.creates
            .lock()
            .unwrap()
            .push_back(CreateOutcome::LostAfterCreate);
        let sent = send_once_with(&p, &request(), false, &FAST).await.unwrap();
        assert!(sent.adopted);
        assert_eq!(sent.envelope_id.as_str(), "env-1");
        assert_eq!(
            *p.calls.lock().unwrap(),
            ["create", "lookup", "lookup", "lookup"]
        );
    }

    #[tokio::test]
    async fn unknown_stays_unknown_when_the_key_is_not_found_and_the_retry_looks_up_first() {
        let p = Script {
            visible_after: 100,
            ..Script::default()
        };
        p.creates
            .lock()
            .unwrap()
            .push_back(CreateOutcome::LostAfterCreate);
        let err = send_once_with(&p, &request(), false, &FAST)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "provider_outcome_unknown");
        // The retry (may_exist) looks up before creating: never two creates in a row.
        p.creates.lock().unwrap().push_back(CreateOutcome::Ok);
        let _ = send_once_with(&p, &request(), true, &FAST).await;
        let calls = p.calls.lock().unwrap().clone();
        let creates: Vec<usize> = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == "create")
            .map(|(i, _)| i)
            .collect();
        for pair in creates.windows(2) {
            assert!(
                calls[pair[0]..pair[1]].contains(&"lookup"),
                "two creates without a look-up between: {calls:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_retry_adopts_what_an_earlier_attempt_created() {
        let p = Script::default();
        p.created.lock().unwrap().push("env-9".into());
        let sent = send_once_with(&p, &request(), true, &FAST).await.unwrap();
        assert_eq!(
            sent,
            Sent {
                envelope_id: EnvelopeId::new("env-9"),
                adopted: true
            }
        );
        assert_eq!(*p.calls.lock().unwrap(), ["lookup"]);
    }

    #[tokio::test]
    async fn unavailable_is_returned_without_look_ups() {
        let p = Script::default();
        p.creates
            .lock()
            .unwrap()
            .push_back(CreateOutcome::Unavailable);
        let err = send_once_with(&p, &request(), false, &FAST)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "provider_unavailable");
        assert_eq!(*p.calls.lock().unwrap(), ["create"]);
    }
}
