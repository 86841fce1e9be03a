use chrono::{DateTime, SecondsFormat, Utc};

/// Wall-clock now, truncated to microseconds so it survives a round trip through TEXT unchanged.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn fmt(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse(s: &str) -> crate::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| crate::StoreError::Corrupt(format!("timestamp `{s}`: {e}")))
}
