//! A route's recordings and their replay (`record = {…}`, `gateway/recording/`):
//!
//! - `GET /routes/{id}/recordings`: the newest recordings, summarised (`?limit=N`, 100).
//! - `GET /routes/{id}/recordings/{recording}`: one, whole (what fixtures are made of).
//! - `DELETE /routes/{id}/recordings`: forgets them all.
//! - `POST /routes/{id}/replay` `{"against": "hello@4"}`: replays them on a version.
//! - `POST /replay` `{"against": …, "recordings": [ … ]}`: replays recordings the caller
//!   kept (fixtures) on a version.

use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::endpoints::{missing, parse_json};
use super::{ApiError, ApiResult};
use crate::config::Target;
use crate::gateway::Gateway;
use crate::gateway::recording::{Recording, ReplayError, replay};
use crate::registry::Missing;

/// Recordings a listing shows unless `?limit=` says otherwise.
const DEFAULT_LIMIT: usize = 100;
/// Most recordings one `POST /replay` takes.
const MAX_GIVEN: usize = 1_000;

fn storage(error: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot read the recordings: {error}"),
    )
}

/// 404 unless route `id` exists or has recordings; its recordings' names, oldest first.
fn names(gateway: &Gateway, id: &str) -> Result<Vec<String>, ApiError> {
    let store = gateway.recordings();
    let names = match store.list(id) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Vec::new(),
        Err(e) => return Err(storage(e)),
    };
    let exists = gateway
        .registry()
        .state()
        .routes
        .iter()
        .any(|r| r.id() == id);
    if names.is_empty() && !exists {
        return Err(missing(Missing::Route(id.to_owned())));
    }
    Ok(names)
}

fn read(gateway: &Gateway, id: &str, name: &str) -> Result<Option<Recording>, ApiError> {
    let bytes = match gateway.recordings().read(id, name) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return Ok(None),
        Err(e) => return Err(storage(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("recording `{name}` is not readable: {e}"),
        )
    })
}

/// `GET /routes/{id}/recordings`.
pub(super) fn list(gateway: &Gateway, id: &str, query: Option<&str>) -> ApiResult {
    let names = names(gateway, id)?;
    let limit = match query.and_then(|q| q.strip_prefix("limit=")) {
        None => DEFAULT_LIMIT,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "`limit` is a number"))?,
    };
    let mut listed = Vec::new();
    for name in names.iter().rev().take(limit) {
        if let Some(recording) = read(gateway, id, name)? {
            listed.push(json!({
                "id": recording.id,
                "recorded_at_ms": recording.recorded_at_ms,
                "version": recording.version,
                "request": format!("{} {}", recording.request.method, recording.request.uri),
                "status": recording.response.status,
            }));
        }
    }
    Ok((
        StatusCode::OK,
        json!({ "route": id, "count": names.len(), "recordings": listed }),
    ))
}

/// `GET /routes/{id}/recordings/{recording}`.
pub(super) fn get(gateway: &Gateway, id: &str, name: &str) -> ApiResult {
    names(gateway, id)?;
    match read(gateway, id, name)? {
        Some(recording) => Ok((StatusCode::OK, json!(recording))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("route `{id}` has no recording `{name}`"),
        )),
    }
}

/// `DELETE /routes/{id}/recordings`.
pub(super) fn clear(gateway: &Gateway, id: &str) -> ApiResult {
    names(gateway, id)?;
    let deleted = gateway.recordings().clear(id).map_err(storage)?;
    Ok((StatusCode::OK, json!({ "route": id, "deleted": deleted })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    /// `module`, `module@3` or `module@alias`.
    against: String,
    /// The recordings to replay (`POST /replay` only).
    #[serde(default)]
    recordings: Option<Vec<Recording>>,
}

fn target(against: &str) -> Result<Target, ApiError> {
    Target::parse(against)
        .map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, format!("`against`: {message}")))
}

async fn run(gateway: &Gateway, against: &Target, recordings: &[Recording]) -> ApiResult {
    match replay(gateway, against, recordings).await {
        Ok(report) => Ok((StatusCode::OK, json!(report))),
        Err(error @ ReplayError::Target { .. }) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, error.to_string()))
        }
        Err(error) => Err(ApiError::new(StatusCode::BAD_REQUEST, error.to_string())),
    }
}

/// `POST /routes/{id}/replay`.
pub(super) async fn replay_route(gateway: &Arc<Gateway>, id: &str, body: &[u8]) -> ApiResult {
    let request: ReplayRequest = parse_json(body)?;
    if request.recordings.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "`recordings` are given to `POST /replay`; this replays the route's own",
        ));
    }
    let against = target(&request.against)?;
    let mut recordings = Vec::new();
    for name in names(gateway, id)? {
        recordings.extend(read(gateway, id, &name)?);
    }
    run(gateway, &against, &recordings).await
}

/// `POST /replay`.
pub(super) async fn replay_given(gateway: &Arc<Gateway>, body: &[u8]) -> ApiResult {
    let request: ReplayRequest = parse_json(body)?;
    let against = target(&request.against)?;
    let Some(recordings) = request.recordings else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "give the `recordings` to replay (or replay a route's: `POST /routes/{id}/replay`)",
        ));
    };
    if recordings.len() > MAX_GIVEN {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_GIVEN} recordings at once"),
        ));
    }
    run(gateway, &against, &recordings).await
}
