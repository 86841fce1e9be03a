//! The routing policy in force: the user's file (`COUNTERSIGN_POLICY`, `policy` in
//! countersign.toml, or `policy.toml` in the data dir) when it is valid, else the last valid one
//! installed, else the embedded default. An invalid file never replaces a good policy: it is
//! reported (file and line) and the previous policy stays in force.

use crate::{Error, ErrorCode, Workspace};
use countersign_route::{Policy, DEFAULT_POLICY_TOML};
use countersign_store::documents::{self, PolicyRow};
use std::path::PathBuf;
use std::sync::Arc;

/// The file name of a user policy kept in the data dir.
pub const POLICY_FILE: &str = "policy.toml";

/// The policy to route with, and what was wrong with the user's file if it was not used.
#[derive(Debug)]
pub struct PolicyState {
    pub policy: Arc<Policy>,
    /// Where the policy in force came from (a path, or "embedded default").
    pub origin: String,
    pub fingerprint: String,
    /// The user's policy file is invalid (code `invalid_policy`, message naming file and line);
    /// the policy above is the previous one, still in force.
    pub problem: Option<Error>,
}

/// The user's policy file, if one is configured or present in the data dir.
pub fn policy_source(ws: &Workspace) -> Option<PathBuf> {
    if let Some(p) = ws.config().policy_path.as_deref() {
        return Some(PathBuf::from(p));
    }
    let in_dir = ws.data_dir().join(POLICY_FILE);
    in_dir.is_file().then_some(in_dir)
}

/// Validates a policy file without installing it (`countersign policy check`).
pub fn check_file(path: &std::path::Path) -> Result<Policy, Error> {
    Policy::load(path).map_err(policy_error)
}

fn policy_error(e: countersign_route::Error) -> Error {
    let code = match e.code() {
        "policy_unreadable" => ErrorCode::UnreadableFile,
        _ => ErrorCode::InvalidPolicy,
    };
    Error::new(code, e.to_string())
}

/// Loads the user's policy (or the embedded default), installs it if it is new and valid, and
/// returns the policy in force.
pub async fn load(ws: &Workspace) -> Result<PolicyState, Error> {
    let source = policy_source(ws);
    let candidate: Result<(String, String), Error> = match &source {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| (text, path.display().to_string()))
            .map_err(|e| {
                Error::new(
                    ErrorCode::UnreadableFile,
                    format!("cannot read the routing policy {}: {e}", path.display()),
                )
            }),
        None => Ok((
            DEFAULT_POLICY_TOML.to_owned(),
            "embedded default".to_owned(),
        )),
    };
    let parsed = candidate.and_then(|(text, origin)| {
        Policy::from_str(&text, &origin)
            .map(|p| (p, text, origin))
            .map_err(policy_error)
    });
    match parsed {
        Ok((policy, text, origin)) => {
            let row = PolicyRow {
                fingerprint: policy.fingerprint().to_owned(),
                origin: origin.clone(),
                text,
            };
            let stored = documents::current_policy(ws.store().pool()).await?;
            if stored.as_ref().map(|s| &s.fingerprint) != Some(&row.fingerprint) {
                let mut tx = ws.store().write().await?;
                if documents::install_policy(&mut tx, &row, "system").await? {
                    tracing::info!(origin = %origin, fingerprint = %row.fingerprint, "routing policy installed");
                }
                tx.commit()
                    .await
                    .map_err(countersign_store::StoreError::from)?;
            }
            Ok(PolicyState {
                fingerprint: row.fingerprint,
                policy: Arc::new(policy),
                origin,
                problem: None,
            })
        }
        Err(problem) => {
            let previous = documents::current_policy(ws.store().pool()).await?;
            let (policy, origin) = match previous {
                Some(row) => match Policy::from_str(&row.text, &row.origin) {
                    Ok(p) => (p, row.origin),
                    Err(_) => (Policy::embedded_default(), "embedded default".to_owned()),
                },
                None => (Policy::embedded_default(), "embedded default".to_owned()),
            };
            let message = format!(
                "{}; the previous policy ({origin}) stays in force",
                problem.message
            );
            tracing::warn!(%message, "routing policy not installed");
            Ok(PolicyState {
                fingerprint: policy.fingerprint().to_owned(),
                policy: Arc::new(policy),
                origin,
                problem: Some(Error::new(problem.code, message)),
            })
        }
    }
}
