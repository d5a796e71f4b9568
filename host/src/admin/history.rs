//! Admin endpoints of the deployment history: `GET /history` (newest first) and rolling an
//! alias back (`POST /modules/{name}/aliases/{alias}/rollback`).

use http::StatusCode;
use serde_json::json;

use super::endpoints::{Api, module_name};
use super::{ApiError, ApiResult};

/// Entries `GET /history` returns when the query sets no `limit`.
const DEFAULT_LIMIT: usize = 100;

impl Api<'_> {
    /// The latest entries, newest first: `?limit=N` (at most the whole history),
    /// `?module=NAME` (that module's aliases and the routes that run it).
    pub fn history(&self, query: Option<&str>) -> ApiResult {
        let mut limit = DEFAULT_LIMIT;
        let mut module = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "limit" => {
                    limit = value.parse().map_err(|_| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            format!("`limit` is a count, not `{value}`"),
                        )
                    })?;
                }
                "module" => module = Some(module_name(&value)?),
                other => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("unknown query parameter `{other}`: use `limit` or `module`"),
                    ));
                }
            }
        }
        let state = self.gateway.registry().state();
        let entries: Vec<_> = (state.history.iter().rev())
            .filter(|entry| {
                let Some(module) = &module else {
                    return true;
                };
                match &entry.change {
                    crate::registry::Change::Alias { module: m, .. } => m == module.as_str(),
                    crate::registry::Change::Route { from, to, .. } => [from, to]
                        .into_iter()
                        .flatten()
                        .any(|runs| runs.split('@').next() == Some(module.as_str())),
                }
            })
            .take(limit)
            .collect();
        Ok((StatusCode::OK, json!({ "history": entries })))
    }

    pub async fn rollback_alias(&self, name: &str, alias: &str) -> ApiResult {
        let name = module_name(name)?;
        let ((name, alias), (from, to)) = self
            .change_on((name, alias.to_owned()), |registry, (name, alias)| {
                registry.rollback_alias(name, alias)
            })
            .await?;
        Ok((
            StatusCode::OK,
            json!({ "name": name.as_str(), "alias": alias, "from": from, "version": to.version, "canary": to.canary }),
        ))
    }
}
