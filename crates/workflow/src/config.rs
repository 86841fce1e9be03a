//! `countersign.toml` in the data dir, layered under environment variables, validated on load.
//! A commented default is written on first run so the user can see every setting.

use crate::{Error, ErrorCode};
use countersign_core::TenantId;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "countersign.toml";

const DEFAULT_CONFIG: &str = include_str!("../../../assets/countersign.default.toml");

/// Files larger than this are refused at the edge with `too_large` (before any decoding).
const DEFAULT_MAX_FILE_MB: u64 = 512;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    tenant: Option<String>,
    policy: Option<String>,
    max_file_mb: Option<u64>,
    ocr_threads: Option<usize>,
    watch_folders: Option<Vec<PathBuf>>,
    reviewer_name: Option<String>,
    provider: Option<ProviderSection>,
    relay: Option<RelaySection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSection {
    kind: Option<String>,
    base_url: Option<String>,
    account_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelaySection {
    url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Sandbox,
    Docusign,
}

/// The effective configuration. Secrets (provider and relay tokens) are never part of it: they
/// live in the OS keychain.
#[derive(Clone, Debug)]
pub struct Config {
    pub tenant_id: TenantId,
    pub max_file_bytes: u64,
    pub policy_path: Option<String>,
    pub provider_kind: ProviderKind,
    /// `None`: the local sandbox provider.
    pub provider_base_url: Option<String>,
    pub provider_account_id: Option<String>,
    /// `None`: the local relay.
    pub relay_url: Option<String>,
    /// Hot folders watched while the desktop app runs (absolute paths; may be empty).
    pub watch_folders: Vec<PathBuf>,
    /// Tesseract engines (one per worker thread); `None`: one per core.
    pub ocr_threads: Option<usize>,
    /// The name the review screen records as the reviewer; `None`: the OS login name.
    pub reviewer_name: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidConfig, message)
}

fn check_reviewer_name(name: &str) -> Result<(), Error> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(invalid(format!(
            "reviewer_name must be 1-100 characters on one line, got `{name}`"
        )));
    }
    Ok(())
}

fn check_url(setting: &str, url: &str) -> Result<(), Error> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(format!(
            "{setting} must be an http:// or https:// URL, got `{url}`"
        )))
    }
}

impl Config {
    /// Reads `countersign.toml` (writing the commented default first if there is none) and
    /// applies `COUNTERSIGN_*` environment variables on top.
    pub fn load(data_dir: &Path) -> Result<Config, Error> {
        let path = data_dir.join(CONFIG_FILE);
        if !path.exists() {
            // Best effort: a read-only data dir still works on defaults.
            if let Err(e) = std::fs::write(&path, DEFAULT_CONFIG) {
                tracing::warn!(path = %path.display(), error = %e, "could not write the default config");
            }
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(invalid(format!("cannot read {}: {e}", path.display()))),
        };
        Self::from_toml(&text, &path.display().to_string())
    }

    fn from_toml(text: &str, origin: &str) -> Result<Config, Error> {
        let file: FileConfig =
            toml::from_str(text).map_err(|e| invalid(format!("{origin}: {e}")))?;
        let provider = file.provider.unwrap_or_default();
        let relay = file.relay.unwrap_or_default();

        let tenant = env("COUNTERSIGN_TENANT")
            .or(file.tenant)
            .unwrap_or_else(|| "default".into());
        if tenant.is_empty()
            || tenant.len() > 64
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "tenant must be 1-64 characters of a-z, 0-9, - and _, got `{tenant}`"
            )));
        }
        let kind = env("COUNTERSIGN_PROVIDER_KIND")
            .or(provider.kind)
            .unwrap_or_else(|| "sandbox".into());
        let provider_kind = match kind.as_str() {
            "sandbox" => ProviderKind::Sandbox,
            "docusign" => ProviderKind::Docusign,
            other => {
                return Err(invalid(format!(
                    "provider kind must be `sandbox` or `docusign`, got `{other}`"
                )))
            }
        };
        let provider_base_url = env("COUNTERSIGN_PROVIDER_BASE_URL").or(provider.base_url);
        if let Some(url) = &provider_base_url {
            check_url("provider base URL", url)?;
        }
        let relay_url = env("COUNTERSIGN_RELAY_URL").or(relay.url);
        if let Some(url) = &relay_url {
            check_url("relay URL", url)?;
        }
        let max_file_mb = file.max_file_mb.unwrap_or(DEFAULT_MAX_FILE_MB);
        if max_file_mb == 0 {
            return Err(invalid("max_file_mb must be at least 1".into()));
        }
        let watch_folders = file.watch_folders.unwrap_or_default();
        if let Some(relative) = watch_folders.iter().find(|d| !d.is_absolute()) {
            return Err(invalid(format!(
                "watch_folders must be absolute paths, got `{}`",
                relative.display()
            )));
        }
        let ocr_threads = match env("COUNTERSIGN_OCR_THREADS") {
            Some(v) => Some(v.parse::<usize>().map_err(|_| {
                invalid(format!(
                    "COUNTERSIGN_OCR_THREADS must be a number, got `{v}`"
                ))
            })?),
            None => file.ocr_threads,
        };
        if ocr_threads.is_some_and(|n| n == 0 || n > 64) {
            return Err(invalid("ocr_threads must be between 1 and 64".into()));
        }
        let reviewer_name = env("COUNTERSIGN_REVIEWER").or(file.reviewer_name);
        if let Some(name) = &reviewer_name {
            check_reviewer_name(name)?;
        }
        Ok(Config {
            reviewer_name,
            ocr_threads,
            tenant_id: TenantId::new(tenant),
            max_file_bytes: max_file_mb.saturating_mul(1024 * 1024),
            policy_path: env("COUNTERSIGN_POLICY").or(file.policy),
            provider_kind,
            provider_base_url,
            provider_account_id: env("COUNTERSIGN_PROVIDER_ACCOUNT_ID").or(provider.account_id),
            relay_url,
            watch_folders,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_parses_to_the_defaults() {
        let c = Config::from_toml(DEFAULT_CONFIG, "default").unwrap();
        assert_eq!(c.tenant_id.as_str(), "default");
        assert_eq!(c.provider_kind, ProviderKind::Sandbox);
        assert_eq!(c.max_file_bytes, 512 * 1024 * 1024);
        assert!(c.relay_url.is_none());
        assert!(c.watch_folders.is_empty());
    }

    #[test]
    fn watch_folders_must_be_absolute() {
        let c = Config::from_toml("watch_folders = [\"/srv/scans\", \"/mnt/inbox\"]", "f").unwrap();
        assert_eq!(
            c.watch_folders,
            [PathBuf::from("/srv/scans"), PathBuf::from("/mnt/inbox")]
        );
        let err =
            Config::from_toml("watch_folders = [\"/srv/scans\", \"scans\"]", "f").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(err.message.contains("`scans`"), "{}", err.message);
    }

    #[test]
    fn bad_settings_are_named() {
        let err = Config::from_toml("tennant = \"x\"", "countersign.toml").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert!(err.message.contains("tennant"), "{}", err.message);
        let err = Config::from_toml("[provider]\nkind = \"hellosign\"", "f").unwrap_err();
        assert!(err.message.contains("hellosign"));
        let err = Config::from_toml("[relay]\nurl = \"ftp://x\"", "f").unwrap_err();
        assert!(err.message.contains("relay URL"));
        let err = Config::from_toml("tenant = \"a b\"", "f").unwrap_err();
        assert!(err.message.contains("tenant"));
    }
}

/// Replaces `watch_folders` in the data dir's `countersign.toml`, keeping everything else in the
/// file (comments included); written to a temp file and renamed into place.
pub fn write_watch_folders(data_dir: &Path, folders: &[std::path::PathBuf]) -> Result<(), Error> {
    let path = data_dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| DEFAULT_CONFIG.to_owned());
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let mut list = toml_edit::Array::new();
    for f in folders {
        list.push(f.to_string_lossy().as_ref());
    }
    doc["watch_folders"] = toml_edit::value(list);
    // Checked as a whole before it replaces the file: a bad config never replaces a good one.
    Config::from_toml(&doc.to_string(), &path.display().to_string())?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string())
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| invalid(format!("cannot write {}: {e}", path.display())))
}

/// `watch_folders` as the file says now (the app may have changed it since start-up).
pub fn read_watch_folders(data_dir: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    Ok(Config::load(data_dir)?.watch_folders)
}

/// Sets `reviewer_name` in the data dir's `countersign.toml` (the rest of the file is kept).
pub fn write_reviewer_name(data_dir: &Path, name: &str) -> Result<(), Error> {
    check_reviewer_name(name)?;
    let path = data_dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| DEFAULT_CONFIG.to_owned());
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    doc["reviewer_name"] = toml_edit::value(name.trim());
    Config::from_toml(&doc.to_string(), &path.display().to_string())?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string())
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| invalid(format!("cannot write {}: {e}", path.display())))
}

/// The reviewer's name as the settings say now (`COUNTERSIGN_REVIEWER`, then `reviewer_name`
/// in the file), else the OS login name.
pub fn reviewer_name(data_dir: &Path) -> Result<String, Error> {
    Ok(Config::load(data_dir)?.reviewer_name.unwrap_or_else(|| {
        std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "reviewer".into())
    }))
}
