//! Fault injection: the failures a real provider and a real network produce, on demand and
//! reproducibly (a seeded generator decides every roll, so one seed and one request order give
//! one outcome).
//!
//! Set at start (`--faults 'create_response_lost=0.3,create_unavailable=0.1,seed=7'` or JSON) or
//! at run time with `POST /_sandbox/faults` (the JSON below; it replaces the whole set and
//! reseeds). `GET /_sandbox/faults` shows the set in force.

use serde::{Deserialize, Serialize};

/// Probabilities are in 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the generator that decides every roll.
    pub seed: u64,
    /// A create is carried out, then its answer is lost: the connection is cut before the client
    /// reads the answer.
    pub create_response_lost: f64,
    /// A create answers 503 before doing anything.
    pub create_unavailable: f64,
    /// Every API call waits this long before being handled.
    pub latency_ms: u64,
    /// The next N API calls answer 429 with `Retry-After: retry_after_secs` (counts down).
    pub rate_limit_next: u32,
    pub retry_after_secs: u64,
    /// A search by custom field does not see envelopes younger than this (a slow search index).
    pub list_index_delay_ms: u64,
    /// A webhook is never sent.
    pub webhook_drop: f64,
    /// A webhook is sent twice.
    pub webhook_duplicate: f64,
    /// A webhook is held back and sent after the next one (or after a second if none comes).
    pub webhook_reorder: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultsError {
    #[error("invalid faults: {0}")]
    Parse(String),
    #[error(
        "invalid faults: `{name}` is a probability, so it must be between 0 and 1 (got {value})"
    )]
    Probability { name: &'static str, value: f64 },
}

impl Faults {
    /// Parses `--faults`: JSON (`{"create_response_lost": 0.3}`) or `key=value` pairs separated
    /// by commas (`create_response_lost=0.3,seed=7`).
    pub fn parse(spec: &str) -> Result<Faults, FaultsError> {
        let spec = spec.trim();
        let value = if spec.starts_with('{') {
            serde_json::from_str::<serde_json::Value>(spec)
                .map_err(|e| FaultsError::Parse(e.to_string()))?
        } else {
            let mut map = serde_json::Map::new();
            for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| FaultsError::Parse(format!("`{pair}` is not key=value")))?;
                let number: serde_json::Value = serde_json::from_str(v.trim())
                    .map_err(|_| FaultsError::Parse(format!("`{v}` is not a number")))?;
                map.insert(k.trim().to_owned(), number);
            }
            serde_json::Value::Object(map)
        };
        let faults: Faults =
            serde_json::from_value(value).map_err(|e| FaultsError::Parse(e.to_string()))?;
        faults.validate()?;
        Ok(faults)
    }

    pub fn validate(&self) -> Result<(), FaultsError> {
        for (name, value) in [
            ("create_response_lost", self.create_response_lost),
            ("create_unavailable", self.create_unavailable),
            ("webhook_drop", self.webhook_drop),
            ("webhook_duplicate", self.webhook_duplicate),
            ("webhook_reorder", self.webhook_reorder),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultsError::Probability { name, value });
            }
        }
        Ok(())
    }
}

/// The faults in force and the generator that rolls them.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub faults: Faults,
    rng: SplitMix64,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let rng = SplitMix64(faults.seed);
        FaultState { faults, rng }
    }

    /// `true` with probability `p`. Draws from the generator even when `p` is 0 or 1, so turning
    /// one fault on does not shift the rolls of the others.
    pub fn roll(&mut self, p: f64) -> bool {
        let x = self.rng.next_f64();
        x < p
    }

    /// Takes one of the pending 429s, if any: `Some(retry_after_secs)`.
    pub fn take_rate_limit(&mut self) -> Option<u64> {
        if self.faults.rate_limit_next == 0 {
            return None;
        }
        self.faults.rate_limit_next -= 1;
        Some(self.faults.retry_after_secs)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence on every platform
/// and every version of this crate — which a seeded fault run needs.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_json_alike() {
        let a = Faults::parse("create_response_lost=0.3, create_unavailable=0.1,seed=7").unwrap();
        let b = Faults::parse(r#"{"create_response_lost":0.3,"create_unavailable":0.1,"seed":7}"#)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.seed, 7);
        assert_eq!(Faults::parse("").unwrap(), Faults::default());
    }

    #[test]
    fn refuses_unknown_names_and_impossible_probabilities() {
        assert!(Faults::parse("create_lost=0.3").is_err());
        assert!(Faults::parse("webhook_drop=1.5").is_err());
        assert!(Faults::parse("seed").is_err());
        assert!(Faults::parse("seed=x").is_err());
    }

    #[test]
    fn rolls_are_reproducible_and_near_their_probability() {
        let mut a = FaultState::new(Faults {
            seed: 42,
            ..Faults::default()
        });
        let mut b = FaultState::new(Faults {
            seed: 42,
            ..Faults::default()
        });
        let ra: Vec<bool> = (0..1000).map(|_| a.roll(0.3)).collect();
        let rb: Vec<bool> = (0..1000).map(|_| b.roll(0.3)).collect();
        assert_eq!(ra, rb);
        let hits = ra.iter().filter(|x| **x).count();
        assert!((250..350).contains(&hits), "{hits}");
        assert!(!a.roll(0.0));
        assert!(a.roll(1.0));
    }

    #[test]
    fn rate_limits_count_down() {
        let mut s = FaultState::new(Faults {
            rate_limit_next: 2,
            retry_after_secs: 3,
            ..Faults::default()
        });
        assert_eq!(s.take_rate_limit(), Some(3));
        assert_eq!(s.take_rate_limit(), Some(3));
        assert_eq!(s.take_rate_limit(), None);
    }
}
