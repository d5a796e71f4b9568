//! Step 4, authorize: a route whose module version cannot run answers 503; a route with an
//! authorizer runs it (`gateway/authorization.rs`: identity sources, decision cache, the
//! WASM authorizer or JWT validation), and an allowing decision's principal and context go
//! on to the handler.

use super::super::authorization::RequestView;
use super::super::rejection::{Rejection, Unavailable};
use super::super::request::RequestCtx;

/// Lets the request on, or refuses it.
pub(super) async fn check(
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<(), Rejection> {
    if let Err(reason) = &ctx.route.backend {
        return Err(Rejection::Unavailable(Unavailable::Route(reason.clone())));
    }
    let Some(authorizer) = &ctx.route.authorizer else {
        return Ok(());
    };
    let unreserved = ctx.snapshot.unreserved.clone();
    let view = RequestView {
        parts,
        params: &ctx.params,
        source_ip: ctx.client_ip,
        id: &ctx.id,
        route: &ctx.route.template,
        scopes: &ctx.route.scopes,
        unreserved: &unreserved,
    };
    let started = std::time::Instant::now();
    let checked = authorizer.check(view).await;
    let took = started.elapsed();
    ctx.authorize_time = Some(took);
    if let Some(observation) = &ctx.observation {
        observation.set_authorize_time(took);
    }
    let allowed = checked?;
    ctx.principal = Some(allowed.principal);
    ctx.authorizer_context = allowed.context;
    Ok(())
}
