//! A route's recordings and their replay (`record = {…}`, `gateway/recording/`):
//!
//! - `GET /routes/{id}/recordings`: every id, and the newest recordings summarised
//!   (`?limit=N`, 100).
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
use crate::gateway::recording::{Recording, ReplayError, Replayer};
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

/// Runs the file work `work` on a blocking thread: the admin API's one worker keeps
/// answering meanwhile.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the recordings failed: {e}"),
        )
    })?
}

/// `GET /routes/{id}/recordings`: every id (oldest first), and the newest `limit`
/// summarised.
pub(super) async fn list(gateway: &Arc<Gateway>, id: &str, query: Option<&str>) -> ApiResult {
    let limit = match query.and_then(|q| q.strip_prefix("limit=")) {
        None => DEFAULT_LIMIT,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "`limit` is a number"))?,
    };
    let (gateway, id) = (gateway.clone(), id.to_owned());
    blocking(move || {
        let names = names(&gateway, &id)?;
        let mut listed = Vec::new();
        for name in names.iter().rev().take(limit) {
            if let Some(recording) = read(&gateway, &id, name)? {
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
            json!({ "route": id, "count": names.len(), "ids": names, "recordings": listed }),
        ))
    })
    .await
}

/// `GET /routes/{id}/recordings/{recording}`.
pub(super) async fn get(gateway: &Arc<Gateway>, id: &str, name: &str) -> ApiResult {
    let (gateway, id, name) = (gateway.clone(), id.to_owned(), name.to_owned());
    blocking(move || {
        names(&gateway, &id)?;
        match read(&gateway, &id, &name)? {
            Some(recording) => Ok((StatusCode::OK, json!(recording))),
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("route `{id}` has no recording `{name}`"),
            )),
        }
    })
    .await
}

/// `DELETE /routes/{id}/recordings`.
pub(super) async fn clear(gateway: &Arc<Gateway>, id: &str) -> ApiResult {
    let (gateway, id) = (gateway.clone(), id.to_owned());
    blocking(move || {
        names(&gateway, &id)?;
        let deleted = gateway.recordings().clear(&id).map_err(storage)?;
        Ok((StatusCode::OK, json!({ "route": id, "deleted": deleted })))
    })
    .await
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

fn replayer(gateway: &Gateway, against: &Target) -> Result<Replayer, ApiError> {
    Replayer::new(gateway, against).map_err(|error| match error {
        ReplayError::Target { .. } => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
        _ => ApiError::new(StatusCode::BAD_REQUEST, error.to_string()),
    })
}

/// `POST /routes/{id}/replay`: each recording read as it is replayed, never all at once.
pub(super) async fn replay_route(gateway: &Arc<Gateway>, id: &str, body: &[u8]) -> ApiResult {
    let request: ReplayRequest = parse_json(body)?;
    if request.recordings.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "`recordings` are given to `POST /replay`; this replays the route's own",
        ));
    }
    let replayer = replayer(gateway, &target(&request.against)?)?;
    let names = {
        let (gateway, id) = (gateway.clone(), id.to_owned());
        blocking(move || names(&gateway, &id)).await?
    };
    let mut results = Vec::with_capacity(names.len());
    for name in names {
        let (gateway, id) = (gateway.clone(), id.to_owned());
        // One removed since it was listed (a newer one pushed it out) is skipped.
        if let Some(recording) = blocking(move || read(&gateway, &id, &name)).await? {
            results.push(replayer.run(&recording).await);
        }
    }
    Ok((StatusCode::OK, json!(replayer.report(results))))
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
    let replayer = replayer(gateway, &against)?;
    let mut results = Vec::with_capacity(recordings.len());
    for recording in &recordings {
        results.push(replayer.run(recording).await);
    }
    Ok((StatusCode::OK, json!(replayer.report(results))))
}
