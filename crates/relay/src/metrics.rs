//! Counters for `GET /metrics`, in Prometheus' text format. Counters live in memory (they restart
//! at zero with the process, as Prometheus expects); the lag gauge is read from the store.

use crate::store::ClientLag;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a webhook was refused. The label values are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    UnknownTenant,
    Unsigned,
    Forged,
    TooLarge,
    Malformed,
}

impl Rejection {
    const ALL: [Rejection; 5] = [
        Rejection::UnknownTenant,
        Rejection::Unsigned,
        Rejection::Forged,
        Rejection::TooLarge,
        Rejection::Malformed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Rejection::UnknownTenant => "unknown_tenant",
            Rejection::Unsigned => "unsigned",
            Rejection::Forged => "forged",
            Rejection::TooLarge => "too_large",
            Rejection::Malformed => "malformed",
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    rejected: [AtomicU64; 5],
    duplicates: AtomicU64,
    delivered: AtomicU64,
    purged: AtomicU64,
}

impl Metrics {
    pub fn count_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    pub fn count_rejected(&self, why: Rejection) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
    }
    pub fn count_duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    pub fn count_delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
    }
    pub fn count_purged(&self, n: u64) {
        self.purged.fetch_add(n, Ordering::Relaxed);
    }

    /// The exposition text, with the per-workstation lag gauge from `lag`.
    pub fn render(&self, lag: &[ClientLag]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        };
        counter(
            &mut out,
            "countersign_relay_events_received_total",
            "Genuine webhook events stored.",
            &self.received,
        );
        let name = "countersign_relay_events_rejected_total";
        let _ = writeln!(
            out,
            "# HELP {name} Webhooks refused, by reason.\n# TYPE {name} counter"
        );
        for why in Rejection::ALL {
            let v = self.rejected[why as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{reason=\"{}\"}} {v}", why.label());
        }
        counter(
            &mut out,
            "countersign_relay_events_duplicate_total",
            "Genuine webhooks already stored (answered 200, not stored again).",
            &self.duplicates,
        );
        counter(
            &mut out,
            "countersign_relay_events_delivered_total",
            "Events returned to workstations by GET /v1/events.",
            &self.delivered,
        );
        counter(
            &mut out,
            "countersign_relay_events_purged_total",
            "Events deleted by the retention purge.",
            &self.purged,
        );
        let name = "countersign_relay_client_lag";
        let _ = writeln!(
            out,
            "# HELP {name} Events of the tenant after the last cursor the workstation token fetched.\n# TYPE {name} gauge"
        );
        for l in lag {
            let _ = writeln!(
                out,
                "{name}{{tenant=\"{}\",token=\"{}\"}} {}",
                escape(&l.tenant),
                escape(&l.token_name),
                l.lag
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_every_reason_and_escapes_labels() {
        let m = Metrics::default();
        m.count_rejected(Rejection::Forged);
        m.count_rejected(Rejection::Forged);
        let text = m.render(&[ClientLag {
            tenant: "t".into(),
            token_name: "front \"desk\"".into(),
            lag: 3,
        }]);
        assert!(text.contains("countersign_relay_events_rejected_total{reason=\"forged\"} 2\n"));
        assert!(text.contains("countersign_relay_events_rejected_total{reason=\"unsigned\"} 0\n"));
        assert!(text.contains(
            "countersign_relay_client_lag{tenant=\"t\",token=\"front \\\"desk\\\"\"} 3\n"
        ));
    }
}
