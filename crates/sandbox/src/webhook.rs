//! Connect-style webhooks: every committed event becomes a Connect 2.0 JSON message
//! (`connect.schema-v2.json`: `event`, `apiVersion`, `uri`, `retryCount`, `configurationId`,
//! `generatedDateTime`, `data.{accountId, envelopeId, recipientId, envelopeSummary}`), POSTed to
//! each configured URL with `X-DocuSign-Signature-1: base64(HMAC-SHA256(secret, raw body))`.
//!
//! Delivery runs in background tasks, one dispatcher per target, so API calls never wait on a
//! receiver. A dispatcher makes first attempts in event order; a failed message is retried by its
//! own task with doubling delays (`retryCount` counts the retries, and the signature is computed
//! again over each body), so a retried message can arrive after later ones, as with DocuSign.
//! Messages still pending when the sandbox stops are lost.
//!
//! Faults ([`crate::faults::Faults`]): `webhook_drop` never sends a message, `webhook_duplicate`
//! sends it twice, `webhook_reorder` holds it back until after the next one (or a second).

use crate::config::{Config, WebhookTarget};
use crate::faults::FaultState;
use crate::Stats;
use countersign_sign::docusign::{connect, wire};
use countersign_sign::ExposeSecret;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a reordered message waits for a successor before going out anyway.
const REORDER_HOLD: Duration = Duration::from_secs(1);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The dispatchers' inboxes.
pub(crate) struct Webhooks {
    targets: Vec<mpsc::UnboundedSender<wire::ConnectEvent>>,
}

impl Webhooks {
    pub fn enabled(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Queues one event for every target.
    pub fn publish(
        &self,
        account_id: &str,
        envelope_id: &str,
        event: &str,
        recipient_id: Option<String>,
        summary: &wire::Envelope,
    ) {
        let message = wire::ConnectEvent {
            event: event.to_owned(),
            api_version: "v2.1".into(),
            uri: format!("/restapi/v2.1/accounts/{account_id}/envelopes/{envelope_id}"),
            retry_count: 0,
            configuration_id: 0,
            generated_date_time: crate::db::now(),
            data: wire::ConnectData {
                account_id: account_id.to_owned(),
                user_id: None,
                envelope_id: envelope_id.to_owned(),
                recipient_id,
                envelope_summary: Some(summary.clone()),
            },
        };
        for target in &self.targets {
            // A closed inbox means the sandbox is stopping.
            let _ = target.send(message.clone());
        }
    }
}

/// Starts one dispatcher per target.
pub(crate) fn start(
    config: &Config,
    faults: Arc<Mutex<FaultState>>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) -> Webhooks {
    let http = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain HTTP client builds");
    let targets = config
        .webhooks
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let (tx, rx) = mpsc::unbounded_channel();
            let dispatcher = Dispatcher {
                target: target.clone(),
                configuration_id: 1001 + i as u64,
                http: http.clone(),
                faults: faults.clone(),
                stats: stats.clone(),
                attempts: config.webhook_attempts.max(1),
                retry_delay: config.webhook_retry_delay,
                shutdown: shutdown.clone(),
            };
            tokio::spawn(dispatcher.run(rx));
            tx
        })
        .collect();
    Webhooks { targets }
}

#[derive(Clone)]
struct Dispatcher {
    target: WebhookTarget,
    configuration_id: u64,
    http: reqwest::Client,
    faults: Arc<Mutex<FaultState>>,
    stats: Arc<Stats>,
    attempts: u32,
    retry_delay: Duration,
    shutdown: CancellationToken,
}

impl Dispatcher {
    async fn run(self, mut inbox: mpsc::UnboundedReceiver<wire::ConnectEvent>) {
        let mut held: Option<(wire::ConnectEvent, Instant)> = None;
        loop {
            let hold_deadline = held.as_ref().map(|(_, at)| *at);
            let next = tokio::select! {
                m = inbox.recv() => m,
                _ = sleep_until_opt(hold_deadline) => {
                    if let Some((message, _)) = held.take() {
                        self.send(message).await;
                    }
                    continue;
                }
                _ = self.shutdown.cancelled() => return,
            };
            let Some(mut message) = next else { return };
            message.configuration_id = self.configuration_id;
            let (drop, duplicate, reorder) = {
                let mut f = self.faults.lock().expect("faults lock");
                let p = f.faults.clone();
                (
                    f.roll(p.webhook_drop),
                    f.roll(p.webhook_duplicate),
                    f.roll(p.webhook_reorder),
                )
            };
            if drop {
                Stats::bump(&self.stats.webhooks_dropped);
                tracing::info!(event = %message.event, envelope_id = %message.data.envelope_id, "fault: webhook dropped");
                continue;
            }
            if reorder && held.is_none() {
                Stats::bump(&self.stats.webhooks_reordered);
                held = Some((message, Instant::now() + REORDER_HOLD));
                continue;
            }
            self.send(message.clone()).await;
            if duplicate {
                Stats::bump(&self.stats.webhooks_duplicated);
                self.send(message).await;
            }
            if let Some((earlier, _)) = held.take() {
                self.send(earlier).await;
            }
        }
    }

    /// The first attempt, now; retries in a task of their own.
    async fn send(&self, message: wire::ConnectEvent) {
        if self.deliver(&message).await {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut message = message;
            let mut delay = me.retry_delay;
            for retry in 1..me.attempts {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = me.shutdown.cancelled() => return,
                }
                message.retry_count = retry;
                if me.deliver(&message).await {
                    return;
                }
                delay = delay.saturating_mul(2);
            }
            Stats::bump(&me.stats.webhooks_abandoned);
            tracing::warn!(event = %message.event, envelope_id = %message.data.envelope_id, url = %me.target.url, "webhook abandoned after every attempt failed");
        });
    }

    /// One POST; `true` when the receiver answered 2xx.
    async fn deliver(&self, message: &wire::ConnectEvent) -> bool {
        let body = match serde_json::to_vec(message) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a webhook");
                return true;
            }
        };
        let signature = connect::sign_body(self.target.secret.expose_secret().as_bytes(), &body);
        let result = self
            .http
            .post(&self.target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(connect::SIGNATURE_HEADER, signature)
            .header("X-Authorization-Digest", "HMACSHA256")
            .body(body)
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                Stats::bump(&self.stats.webhooks_delivered);
                tracing::debug!(event = %message.event, envelope_id = %message.data.envelope_id, retry = message.retry_count, "webhook delivered");
                true
            }
            Ok(r) => {
                Stats::bump(&self.stats.webhook_failed_attempts);
                tracing::warn!(event = %message.event, status = r.status().as_u16(), retry = message.retry_count, "webhook refused");
                false
            }
            Err(e) => {
                Stats::bump(&self.stats.webhook_failed_attempts);
                tracing::warn!(event = %message.event, error = %e, retry = message.retry_count, "webhook not delivered");
                false
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
