//! What can go wrong talking to a provider, classified by what the caller may do next.

use std::time::Duration;

/// A provider call that did not succeed. The variants answer "may I retry, and how?":
///
/// | variant | did the provider act? | next step |
/// |---|---|---|
/// | [`Unknown`](Self::Unknown) | maybe | look the idempotency key up before any new create ([`crate::send_once`] does) |
/// | [`Unavailable`](Self::Unavailable) | no | retry later, as is |
/// | [`RateLimited`](Self::RateLimited) | no | retry after `retry_after` |
/// | [`Rejected`](Self::Rejected) | no | do not retry as is: the request (or the envelope's state) is wrong |
/// | [`Unauthorized`](Self::Unauthorized) | no | fix the credentials, then retry |
/// | [`InvalidResponse`](Self::InvalidResponse) | yes, for a read | retry later; report if it persists |
///
/// Messages never contain the bearer token or document bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The request may have reached the provider and taken effect, but no answer came back: a
    /// timeout, a connection lost after the request was written, a 5xx (other than 503) to a
    /// request that is not safe to repeat, or a success whose body could not be read.
    #[error("the provider's answer was lost, so it may or may not have acted: {message}")]
    Unknown { message: String },
    /// Nothing happened: the connection was refused, or the provider answered 503 (or any 5xx to
    /// a read). Safe to retry as is.
    #[error("the provider is unavailable: {message}")]
    Unavailable { message: String },
    /// HTTP 429, or our own pause after one: nothing happened; retry after `retry_after`.
    #[error("the provider's rate limit was reached; retry in {} s", retry_after.as_secs_f64())]
    RateLimited { retry_after: Duration },
    /// A 4xx: the provider refused this request for good (`code` is the provider's `errorCode`,
    /// e.g. `ENVELOPE_DOES_NOT_EXIST`, or `COUNTERSIGN_INVALID_REQUEST` when we refused it before
    /// sending).
    #[error("the provider refused the request ({code}): {message}")]
    Rejected { code: String, message: String },
    /// 401: the token is missing, wrong or expired.
    #[error("the provider refused the credentials: {message}")]
    Unauthorized { message: String },
    /// The provider answered, but not with what its API promises (e.g. a PDF download that is not
    /// a PDF, or JSON that does not parse).
    #[error("the provider's answer is not understood: {message}")]
    InvalidResponse { message: String },
}

impl ProviderError {
    /// A stable, snake_case code for boundaries (CLI `--json`, the UI, logs) to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Unknown { .. } => "provider_outcome_unknown",
            ProviderError::Unavailable { .. } => "provider_unavailable",
            ProviderError::RateLimited { .. } => "provider_rate_limited",
            ProviderError::Rejected { .. } => "provider_rejected",
            ProviderError::Unauthorized { .. } => "provider_unauthorized",
            ProviderError::InvalidResponse { .. } => "provider_invalid_response",
        }
    }

    /// Whether retrying later can succeed without anyone changing anything. (An [`Unknown`]
    /// create must still be looked up first: [`crate::send_once`] with `may_exist = true`.)
    ///
    /// [`Unknown`]: ProviderError::Unknown
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            ProviderError::Rejected { .. } | ProviderError::Unauthorized { .. }
        )
    }

    /// How long to wait before retrying, when the provider said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        ProviderError::Rejected {
            code: "COUNTERSIGN_INVALID_REQUEST".into(),
            message: message.into(),
        }
    }
}

/// The adapter's configuration cannot work (found when it is built, before any call).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid provider base URL `{url}`: {message}")]
    BaseUrl { url: String, message: String },
    #[error("the provider account id is empty")]
    AccountId,
    #[error("the provider token is empty")]
    Token,
    #[error("invalid rate limit: {0}")]
    RateLimit(String),
    #[error("invalid look-up window: {0}")]
    LookupWindow(String),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        "provider_config_invalid"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            ProviderError::Unknown {
                message: String::new(),
            },
            ProviderError::Unavailable {
                message: String::new(),
            },
            ProviderError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            ProviderError::Rejected {
                code: "X".into(),
                message: String::new(),
            },
            ProviderError::Unauthorized {
                message: String::new(),
            },
            ProviderError::InvalidResponse {
                message: String::new(),
            },
        ];
        let codes: Vec<_> = all.iter().map(ProviderError::code).collect();
        assert_eq!(
            codes,
            [
                "provider_outcome_unknown",
                "provider_unavailable",
                "provider_rate_limited",
                "provider_rejected",
                "provider_unauthorized",
                "provider_invalid_response"
            ]
        );
        assert!(all[0].is_retryable() && all[1].is_retryable() && all[2].is_retryable());
        assert!(!all[3].is_retryable() && !all[4].is_retryable());
        assert_eq!(all[2].retry_after(), Some(Duration::from_secs(1)));
    }
}
