//! The relay server's settings, validated once here.

use crate::RelayError;
use std::path::PathBuf;
use std::time::Duration;

/// The longest long-poll a client may ask for; larger `wait` values are clamped to it.
pub const MAX_WAIT_SECS: u64 = 60;

/// Where the relay keeps its data. Only SQLite exists so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// `sqlite:PATH` or `sqlite://PATH`. `postgres://…` is recognised and refused (not yet).
    pub fn parse(url: &str) -> Result<Self, RelayError> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"));
        match path {
            Some(p) if !p.is_empty() => {
                // sqlx-style query options are not supported; a path is a path.
                Ok(DatabaseUrl::Sqlite(PathBuf::from(p)))
            }
            _ => Err(RelayError::UnsupportedDatabase(url.to_owned())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    /// Events received longer ago than this are purged.
    pub retention: Duration,
    /// How often the purge runs (it also runs once at start).
    pub purge_interval: Duration,
    /// Larger webhook bodies get 413. DocuSign Connect JSON without documents is a few KiB.
    pub max_body_bytes: usize,
    /// Most events per `GET /v1/events` page.
    pub max_page: u32,
}

impl Config {
    pub fn new(database: DatabaseUrl) -> Self {
        Config {
            database,
            retention: Duration::from_secs(30 * 24 * 3600),
            purge_interval: Duration::from_secs(3600),
            max_body_bytes: 1024 * 1024,
            max_page: 500,
        }
    }

    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention = Duration::from_secs(u64::from(days) * 24 * 3600);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_parse_sqlite_and_refuse_the_rest() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/r.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/r.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://relay.db").unwrap(),
            DatabaseUrl::Sqlite("relay.db".into())
        );
        assert!(DatabaseUrl::parse("postgres://u@h/db").is_err());
        assert!(DatabaseUrl::parse("sqlite:").is_err());
        assert!(DatabaseUrl::parse("relay.db").is_err());
    }
}
