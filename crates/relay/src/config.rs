//! The relay server's settings, validated once here.

use crate::RelayError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The longest long-poll a client may ask for; larger `wait` values are clamped to it.
pub const MAX_WAIT_SECS: u64 = 60;

/// Where the relay keeps its data: one SQLite file for a single instance, or a PostgreSQL
/// database that several instances share (behind a load balancer).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL as libpq takes it (user, password, host, port,
    /// database, `sslmode`, …). Its `Debug` hides the password.
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite:PATH`, `sqlite://PATH`, or a `postgres://…` / `postgresql://…` URL.
    pub fn parse(url: &str) -> Result<Self, RelayError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Checked now, so a typo fails before anything is served; connecting comes later.
            return match url.parse::<sqlx::postgres::PgConnectOptions>() {
                Ok(_) => Ok(DatabaseUrl::Postgres(url.to_owned())),
                Err(_) => Err(RelayError::UnsupportedDatabase(redact(url))),
            };
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"));
        match path {
            Some(p) if !p.is_empty() => {
                // sqlx-style query options are not supported; a path is a path.
                Ok(DatabaseUrl::Sqlite(PathBuf::from(p)))
            }
            _ => Err(RelayError::UnsupportedDatabase(redact(url))),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DatabaseUrl::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// The URL with any password replaced by `***`, for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
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
    fn database_urls_parse_sqlite_and_postgres_and_refuse_the_rest() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/r.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/r.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://relay.db").unwrap(),
            DatabaseUrl::Sqlite("relay.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        assert!(DatabaseUrl::parse("postgresql://u:p@h:5433/db?sslmode=disable").is_ok());
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("sqlite:").is_err());
        assert!(DatabaseUrl::parse("relay.db").is_err());
    }

    #[test]
    fn passwords_stay_out_of_debug_output_and_errors() {
        let url = DatabaseUrl::parse("postgres://relay:hunter2@db.example:5432/relay").unwrap();
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("relay:***@db.example:5432/relay"), "{shown}");
        let err = DatabaseUrl::parse("mysql://root:hunter2@h/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
