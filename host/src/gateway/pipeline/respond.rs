//! Step 8, respond: the handler's response or the rejection, with `x-request-id`,
//! `x-wasmgate-version` (the module version that ran) and the `RateLimit-*` headers.

use super::super::EXECUTED_VERSION;
use super::super::protection::rate_limit_headers;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use crate::server::response::{REQUEST_ID, ResponseBody};

/// The response to send.
pub(super) fn finish(
    ctx: &RequestCtx,
    outcome: Result<hyper::Response<ResponseBody>, Rejection>,
) -> hyper::Response<ResponseBody> {
    let mut response = match outcome {
        Ok(response) => response,
        Err(rejection) => rejection.into_response(ctx.id.header()),
    };
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, ctx.id.header().clone());
    if let Some(label) = &ctx.version_label {
        headers.insert(EXECUTED_VERSION, label.clone());
    }
    if let Some(verdict) = &ctx.rate {
        rate_limit_headers(headers, verdict);
    }
    response
}
