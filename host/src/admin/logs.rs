//! `GET /logs` (the most recent access records, as JSON) and `GET /logs/stream` (every access
//! record and guest output line from now on, as server-sent events), both filtered by
//! `?route=TEMPLATE` and `?status=5xx|404`. A status filter leaves guest lines out (they have
//! none). The stream ends when the gateway starts draining, so it never holds up shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::channel::Channel;
use tokio::sync::broadcast;

use super::probes::Readiness;
use super::{ApiError, ApiResult};
use crate::server::response::ResponseBody;
use crate::telemetry::live::{self, LiveEvent};

/// How often an idle stream sends a comment (so proxies keep it open, and a closed client
/// is noticed).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How often a stream checks whether the gateway is draining.
const DRAIN_CHECK: Duration = Duration::from_millis(500);

/// Which events a reader wants.
#[derive(Debug, Default)]
pub(super) struct Filter {
    route: Option<String>,
    status: Option<StatusFilter>,
}

#[derive(Debug, Clone, Copy)]
enum StatusFilter {
    /// `4xx`: the hundreds digit.
    Class(u16),
    /// `404`.
    Exact(u16),
}

impl Filter {
    /// `route=` and `status=` from the query; anything else is refused.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut filter = Filter::default();
        let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*key {
                "route" => filter.route = Some(value.into_owned()),
                "status" => {
                    let value = value.to_ascii_lowercase();
                    let parsed = match value.strip_suffix("xx") {
                        Some(class) => class
                            .parse()
                            .ok()
                            .filter(|c| (1..=5).contains(c))
                            .map(StatusFilter::Class),
                        None => value
                            .parse()
                            .ok()
                            .filter(|s| (100..=599).contains(s))
                            .map(StatusFilter::Exact),
                    };
                    filter.status = Some(parsed.ok_or_else(|| {
                        bad(format!(
                            "`status={value}`: give a class (`5xx`) or a status (`404`)"
                        ))
                    })?);
                }
                other => {
                    return Err(bad(format!(
                        "unknown query parameter `{other}`: take `route` and `status`"
                    )));
                }
            }
        }
        Ok(filter)
    }

    fn matches(&self, route: &str, status: Option<u16>) -> bool {
        if self.route.as_deref().is_some_and(|wanted| wanted != route) {
            return false;
        }
        match (self.status, status) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(StatusFilter::Class(class)), Some(status)) => status / 100 == class,
            (Some(StatusFilter::Exact(wanted)), Some(status)) => status == wanted,
        }
    }
}

/// The most recent access records that match, oldest first.
pub(super) fn recent(query: Option<&str>) -> ApiResult {
    let filter = Filter::parse(query)?;
    let events: Vec<serde_json::Value> = live::recent()
        .into_iter()
        .filter(|event| filter.matches(&event.route, Some(event.status)))
        .map(|event| LiveEvent::Access(event).to_json())
        .collect();
    Ok((StatusCode::OK, serde_json::json!({ "events": events })))
}

/// Every matching event from now on, as server-sent events (`data: {json}`).
pub(super) fn stream(
    query: Option<&str>,
    readiness: Arc<Readiness>,
) -> Result<hyper::Response<ResponseBody>, ApiError> {
    let filter = Filter::parse(query)?;
    let mut events = live::follow();
    let (mut sender, body) = Channel::<Bytes, <ResponseBody as Body>::Error>::new(64);
    tokio::spawn(async move {
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        let mut drain_check = tokio::time::interval(DRAIN_CHECK);
        loop {
            let chunk = tokio::select! {
                event = events.recv() => match event {
                    Ok(event) if filter.matches(event.route(), event.status()) => {
                        format!("data: {}\n\n", event.to_json())
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        format!(": {missed} events missed (reading too slowly)\n\n")
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = keep_alive.tick() => ": keep-alive\n\n".to_owned(),
                _ = drain_check.tick() => {
                    if readiness.draining() {
                        break;
                    }
                    continue;
                }
            };
            // The client went away: stop.
            if sender.send_data(Bytes::from(chunk)).await.is_err() {
                break;
            }
        }
    });
    let mut response = hyper::Response::new(body.boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
