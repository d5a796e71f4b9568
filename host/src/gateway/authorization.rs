//! A route's authorizer, run before its handler (API Gateway's Lambda authorizers):
//!
//! 1. the identity sources are read from the request; one missing → 401, the authorizer
//!    is not called;
//! 2. a decision cached for the same identity values (per authorizer, for its TTL) is
//!    reused — a cached decision applies to every route using that authorizer;
//! 3. otherwise the authorizer runs in a fresh instance; a trap, timeout, error or an
//!    oversized decision → 500 (fail closed, the handler never runs);
//! 4. deny → 403; allow → the handler runs with the principal and context.
//!
//! A module authorizer may have a shadow (`shadow.rs`): another module deciding beside it
//! on a share of the requests, off their path, its decisions only compared.
//!
//! A `jwt` authorizer (`jwt.rs`) verifies the token itself instead of steps 2–3: an invalid
//! token → 401, missing route scopes → 403, the claims become the context and `sub` the
//! principal.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::build::Versions;
pub(super) use super::decisions::AuthorizerCache;
use super::jwt::{JwtError, JwtVerifier, has_scopes};
use super::rejection::{Rejection, Unauthenticated, Unavailable};
use super::request::RequestId;
pub(super) use super::shadow::Shadow;
use crate::config::limits::InvocationLimits;
use crate::config::{AuthorizerSpec, IdentitySource, TTL_SECONDS};
use crate::runtime::{AuthRequest, AuthorizerComponent, AuthorizerKind, Decision, InvocationFacts};

/// What the handler learns from an allowing decision.
pub(super) struct Allowed {
    pub principal: String,
    pub context: Vec<(String, String)>,
}

/// What decides for an authorizer.
pub(super) enum Decider {
    /// A custom authorizer module, with the decision cache.
    Module {
        versions: Result<Arc<Versions<AuthorizerComponent>>, Arc<str>>,
        cache: Arc<AuthorizerCache>,
        /// A token authorizer (one header, passed as the token), or a request one.
        token: bool,
        /// How long a decision is reused.
        ttl: Duration,
        /// How long one call may take.
        timeout: Duration,
        /// A module deciding beside it, for comparison only.
        shadow: Option<Shadow>,
    },
    /// The built-in JWT verifier.
    Jwt(Result<Arc<JwtVerifier>, Arc<str>>),
}

impl Decider {
    /// Why it cannot run, if it cannot.
    pub(super) fn ready(&self) -> Result<(), &str> {
        match self {
            Decider::Module { versions, .. } => versions.as_ref().map(|_| ()).map_err(|r| &**r),
            Decider::Jwt(verifier) => verifier.as_ref().map(|_| ()).map_err(|r| &**r),
        }
    }
}

/// An authorizer as a route uses it.
pub(super) struct RouteAuthorizer {
    spec: AuthorizerSpec,
    decider: Decider,
}

/// The parts of a request an authorizer may look at.
pub(super) struct RequestView<'a> {
    pub parts: &'a http::request::Parts,
    pub params: &'a [(String, String)],
    pub source_ip: Option<IpAddr>,
    pub id: &'a RequestId,
    pub route: &'a Arc<str>,
    /// Scopes the route requires (JWT authorizers).
    pub scopes: &'a [String],
    /// The instances no route reserves, which authorizer runs take theirs from.
    pub unreserved: &'a Arc<tokio::sync::Semaphore>,
}

impl RouteAuthorizer {
    pub(super) fn new(spec: AuthorizerSpec, decider: Decider) -> Self {
        RouteAuthorizer { spec, decider }
    }

    /// Where it reads a request's identity: what a recording keeps redacted.
    pub(super) fn identity_sources(&self) -> &[IdentitySource] {
        &self.spec.sources
    }

    /// Decides on one request.
    pub(super) async fn check(&self, request: RequestView<'_>) -> Result<Allowed, Rejection> {
        let identity = self.identity(&request)?;
        let (versions, cache, token, ttl, timeout, shadow) = match &self.decider {
            Decider::Jwt(verifier) => return self.verify_jwt(verifier, &request, &identity).await,
            Decider::Module {
                versions,
                cache,
                token,
                ttl,
                timeout,
                shadow,
            } => (versions, cache, token, ttl, timeout, shadow),
        };
        if !request.scopes.is_empty() {
            // Only a JWT authorizer can check scopes: never serve such a route without them.
            let name = self.spec.name.clone();
            return Err(Rejection::Unavailable(Unavailable::ScopesWithoutJwt(name)));
        }
        let versions = versions
            .as_ref()
            .map_err(|reason| Rejection::Unavailable(Unavailable::Authorizer(reason.clone())));
        let run = async {
            let decision = self
                .run(versions?, *token, *timeout, &request, &identity)
                .await?;
            // Off the request's path: the shadow's task compares when it is done.
            if let Some(shadow) = shadow {
                let input = || self.input(*token, &request, &identity);
                shadow.decide_beside(&self.spec.name, &decision, input, *timeout, &request);
            }
            // The decision may shorten the authorizer's TTL, never lengthen it.
            let ttl = decision.ttl_seconds.map_or(*ttl, |s| {
                Duration::from_secs(u64::from(s).min(TTL_SECONDS.max)).min(*ttl)
            });
            Ok((decision, ttl))
        };
        let decision = cache
            .decide(identity.clone(), !ttl.is_zero(), request.unreserved, run)
            .await?;
        if !decision.allow {
            return Err(Rejection::Forbidden);
        }
        Ok(Allowed {
            principal: decision.principal_id.clone(),
            context: decision.context.clone(),
        })
    }

    /// The identity source values, in order; 401 if one is missing or empty.
    fn identity(&self, request: &RequestView<'_>) -> Result<Vec<String>, Rejection> {
        let mut values = Vec::with_capacity(self.spec.sources.len());
        for source in &self.spec.sources {
            let value = match source {
                IdentitySource::Header(name) => request
                    .parts
                    .headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                IdentitySource::Query(name) => query_pairs(request.parts)
                    .into_iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value),
                IdentitySource::Path(name) => request
                    .params
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone()),
                IdentitySource::SourceIp => request.source_ip.map(|ip| ip.to_string()),
            };
            match value {
                Some(value) if !value.trim().is_empty() => values.push(value),
                _ => {
                    let missing = Unauthenticated::MissingIdentity(source.clone());
                    return Err(Rejection::Unauthorized(missing));
                }
            }
        }
        Ok(values)
    }

    async fn verify_jwt(
        &self,
        verifier: &Result<Arc<JwtVerifier>, Arc<str>>,
        request: &RequestView<'_>,
        identity: &[String],
    ) -> Result<Allowed, Rejection> {
        let verifier = verifier
            .as_ref()
            .map_err(|reason| Rejection::Unavailable(Unavailable::Authorizer(reason.clone())))?;
        let verified = verifier.verify(&identity[0]).await.map_err(|error| {
            tracing::info!(
                authorizer = %self.spec.name,
                request_id = request.id.as_str(),
                %error,
                "token refused"
            );
            match error {
                JwtError::Invalid(_) => Rejection::Unauthorized(Unauthenticated::InvalidToken),
                JwtError::KeysUnavailable(_) => Rejection::AuthorizerUnavailable,
            }
        })?;
        if !has_scopes(&verified.claims, request.scopes) {
            return Err(Rejection::Forbidden);
        }
        Ok(Allowed {
            principal: verified.principal.clone(),
            context: verified.context.clone(),
        })
    }

    async fn run(
        &self,
        versions: &Versions<AuthorizerComponent>,
        token: bool,
        timeout: Duration,
        request: &RequestView<'_>,
        identity: &[String],
    ) -> Result<Decision, Rejection> {
        let version = versions.pick(request.id.uuid());
        let (auth_request, facts) = self.input(token, request, identity);
        let limits = InvocationLimits {
            timeout,
            ..InvocationLimits::default()
        };
        version
            .compiled
            .authorize(auth_request, facts, &limits, &version.sandbox)
            .await
            .map_err(|error| {
                tracing::warn!(
                    authorizer = %self.spec.name,
                    version = ?version.label,
                    request_id = request.id.as_str(),
                    %error,
                    "authorizer failed: denying"
                );
                Rejection::AuthorizerFailed
            })
    }

    /// What an authorizer module is given about `request`.
    fn input(
        &self,
        token: bool,
        request: &RequestView<'_>,
        identity: &[String],
    ) -> (AuthRequest, InvocationFacts) {
        let parts = request.parts;
        let auth_request = AuthRequest {
            kind: if token {
                AuthorizerKind::Token
            } else {
                AuthorizerKind::Request
            },
            token: token.then(|| identity[0].clone()),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            route: request.route.to_string(),
            path_params: request.params.to_vec(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            query: query_pairs(parts),
            source_ip: request
                .source_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            request_id: request.id.as_str().to_owned(),
        };
        let facts = InvocationFacts {
            request_id: request.id.as_str().to_owned(),
            route: request.route.clone(),
            path_params: request.params.to_vec(),
            principal: None,
            authorizer_context: Vec::new(),
            client_ip: request.source_ip,
            over_tls: false,
            stage_variables: Arc::default(),
            traceparent: None,
        };
        (auth_request, facts)
    }
}

/// The request's query parameters, decoded.
fn query_pairs(parts: &http::request::Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
