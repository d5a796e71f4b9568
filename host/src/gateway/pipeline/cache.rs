//! Step 4a, cache: on a route with `cache = {…}`, a `GET` or `HEAD` whose response is kept
//! is answered from memory (`gateway/cache.rs`; 304 for a matching `If-None-Match`) after
//! the key, limits and authorizer let it in, and counted against its API key's quota, but
//! with no body read, no slot taken and no guest run. A miss goes on, and its response is
//! kept as it streams out, when it may be.

use std::sync::Arc;

use super::super::Gateway;
use super::super::cache::{self, Pending};
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use crate::server::response::ResponseBody;

/// The kept response for the request, if there is one.
pub(super) async fn lookup(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<Option<hyper::Response<ResponseBody>>, Rejection> {
    let Some(route_cache) = ctx.route.cache.clone() else {
        return Ok(None);
    };
    if parts.method != http::Method::GET && parts.method != http::Method::HEAD {
        return Ok(None);
    }
    let key = cache::key(
        &route_cache.scope,
        &route_cache.spec,
        parts,
        ctx.principal.as_deref(),
    );
    match gateway.cache.get(&key) {
        Some(entry) => {
            ctx.route.metrics.count_cache_lookup(true);
            super::admit::count_quota(gateway, ctx).await?;
            ctx.version_label = entry.version.clone();
            Ok(Some(cache::answer(&entry, &parts.headers)))
        }
        None => {
            ctx.route.metrics.count_cache_lookup(false);
            ctx.cache_key = Some((key, Arc::from(parts.uri.path())));
            Ok(None)
        }
    }
}

/// A miss's response, marked, and kept as it streams out when it may be.
pub(super) fn keep(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    response: hyper::Response<ResponseBody>,
) -> hyper::Response<ResponseBody> {
    let (Some((key, path)), Some(route_cache)) = (ctx.cache_key.take(), &ctx.route.cache) else {
        return response;
    };
    let pending = Pending {
        cache: gateway.cache.clone(),
        key,
        route_id: Arc::from(ctx.route.id.as_str()),
        path,
        ttl: route_cache.spec.ttl,
        version: ctx.version_label.clone(),
    };
    cache::keep(pending, response)
}
