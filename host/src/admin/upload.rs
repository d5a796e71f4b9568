//! `POST /modules/{name}`: an upload, optionally a deploy that points an alias and a route
//! at the new version in the same change (`?alias=prod&route=GET%20/hello`), so a refused
//! alias or route leaves nothing changed.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use super::endpoints::{Api, module_name};
use super::{ApiError, ApiResult};
use crate::config::{Executor, RouteConfig};
use crate::registry::{Attachments, beyond_aliases};

/// What the query of an upload asks for.
pub(super) struct UploadOptions {
    executor: Executor,
    attach: Attachments,
}

/// Most bytes of one query value (an alias, a route): far beyond any valid one.
const MAX_VALUE_BYTES: usize = 2048;

impl UploadOptions {
    /// Reads `executor`, `alias` and `route` (`METHOD /path`) from the query; anything
    /// else is a 400, answered before anything is compiled.
    pub(super) fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
        let mut options = UploadOptions {
            executor: Executor::default(),
            attach: Attachments::default(),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            if raw.len() > MAX_VALUE_BYTES {
                return Err(bad(format!(
                    "`{key}` is longer than {MAX_VALUE_BYTES} bytes"
                )));
            }
            let value = percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| bad(format!("`{key}` is not UTF-8")))?;
            match key {
                "executor" => options.executor = value.parse().map_err(bad)?,
                "alias" => options.attach.alias = Some(value.into_owned()),
                "route" => options.attach.route = Some(route_config(&value).map_err(bad)?),
                "approve_capabilities" => {
                    options.attach.approve_capabilities = value
                        .parse()
                        .map_err(|_| bad("`approve_capabilities` is true or false".to_owned()))?;
                }
                _ => {
                    return Err(bad(format!(
                        "unknown query parameter `{key}`: an upload takes `executor`, `alias`, \
                         `route` and `approve_capabilities`"
                    )));
                }
            }
        }
        Ok(options)
    }
}

/// `METHOD /path` as a route's configuration (its module set by the deploy).
fn route_config(route: &str) -> Result<RouteConfig, String> {
    let (method, path) = route
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("route `{route}` is not `METHOD /path`"))?;
    serde_json::from_value(json!({ "method": method, "path": path.trim() }))
        .map_err(|e| format!("route `{route}`: {e}"))
}

impl Api<'_> {
    /// Uploads `bytes` as a version of `name` and attaches what `options` ask for.
    pub async fn upload(&self, name: &str, bytes: Bytes, options: UploadOptions) -> ApiResult {
        let name = module_name(name)?;
        let size = bytes.len();
        let started = std::time::Instant::now();
        let UploadOptions { executor, attach } = options;
        let (name, deployed) = self
            .change_on(name, move |registry, name| {
                registry.deploy(name, bytes.to_vec(), executor, &attach)
            })
            .await?;
        let upload = &deployed.upload;
        tracing::info!(
            module = %name,
            version = upload.version,
            new = upload.created,
            ms = started.elapsed().as_millis() as u64,
            "module uploaded"
        );
        let status = if upload.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut answer = json!({
            "name": name.as_str(),
            "version": upload.version,
            "sha256": upload.sha256,
            "size": size,
            "created": upload.created,
            "executor": executor,
        });
        if let Some(alias) = &deployed.alias {
            answer["alias"] = json!(alias);
        }
        if let Some(route) = &deployed.route {
            answer["route"] = super::endpoints::route_json(route);
        }
        // What the version can reach that each alias's versions cannot: moving one of them
        // to it needs approval.
        if let Some(module) = self.gateway.registry().state().modules.get(name.as_str()) {
            answer["capabilities"] = json!(beyond_aliases(module, upload.version));
        }
        Ok((status, answer))
    }
}
