//! A route's authorizer, run before its handler (API Gateway's Lambda authorizers):
//!
//! 1. the identity sources are read from the request; one missing → 401, the authorizer
//!    is not called;
//! 2. a decision cached for the same identity values (per authorizer, for its TTL) is
//!    reused — a cached decision applies to every route using that authorizer;
//! 3. otherwise the authorizer runs in a fresh instance; a trap, timeout, error or an
//!    oversized decision → 500 (fail closed, the handler never runs);
//! 4. deny → 403; allow → the handler runs with the principal and context.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use super::build::Versions;
use crate::limits::InvocationLimits;
use crate::manifest::{AuthorizerSpec, IdentitySource, MAX_TTL_SECONDS};
use crate::rejection::Rejection;
use crate::runtime::{AuthRequest, AuthorizerComponent, AuthorizerKind, Decision, InvocationFacts};

/// Most decisions one authorizer's cache keeps.
const CACHE_CAPACITY: u64 = 10_000;

/// What the handler learns from an allowing decision.
pub(super) struct Allowed {
    pub principal: String,
    pub context: Vec<(String, String)>,
}

/// Decisions by identity values, each kept for its own TTL.
pub struct DecisionCache {
    cache: moka::sync::Cache<Vec<String>, CachedDecision>,
}

#[derive(Clone)]
struct CachedDecision {
    decision: Arc<Decision>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<Vec<String>, CachedDecision> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &Vec<String>,
        value: &CachedDecision,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

impl DecisionCache {
    pub(super) fn new() -> Self {
        DecisionCache {
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }
}

/// An authorizer as a route uses it.
pub(super) struct RouteAuthorizer {
    spec: AuthorizerSpec,
    versions: Result<Versions<AuthorizerComponent>, String>,
    cache: Arc<DecisionCache>,
}

/// The parts of a request an authorizer may look at.
pub(super) struct RequestView<'a> {
    pub parts: &'a http::request::Parts,
    pub params: &'a [(String, String)],
    pub source_ip: Option<IpAddr>,
    pub request_id: &'a str,
    pub uuid: &'a uuid::Uuid,
    pub route: &'a Arc<str>,
}

impl RouteAuthorizer {
    pub(super) fn new(
        spec: AuthorizerSpec,
        versions: Result<Versions<AuthorizerComponent>, String>,
        cache: Arc<DecisionCache>,
    ) -> Self {
        RouteAuthorizer {
            spec,
            versions,
            cache,
        }
    }

    /// Decides on one request.
    pub(super) async fn check(&self, request: RequestView<'_>) -> Result<Allowed, Rejection> {
        let identity = self.identity(&request)?;
        let decision = match self.cache.cache.get(&identity) {
            Some(cached) => cached.decision,
            None => {
                let decision = Arc::new(self.run(&request, &identity).await?);
                let ttl = decision.ttl_seconds.map_or(self.spec.ttl, |s| {
                    Duration::from_secs(u64::from(s).min(MAX_TTL_SECONDS))
                });
                if !ttl.is_zero() {
                    self.cache.cache.insert(
                        identity,
                        CachedDecision {
                            decision: decision.clone(),
                            ttl,
                        },
                    );
                }
                decision
            }
        };
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
                    return Err(Rejection::Unauthorized(format!(
                        "the identity source ({source}) is missing"
                    )));
                }
            }
        }
        Ok(values)
    }

    async fn run(
        &self,
        request: &RequestView<'_>,
        identity: &[String],
    ) -> Result<Decision, Rejection> {
        let versions = self.versions.as_ref().map_err(|reason| {
            Rejection::Unavailable(format!("the route's authorizer cannot run: {reason}"))
        })?;
        let version = versions.pick(request.uuid);
        let parts = request.parts;
        let auth_request = AuthRequest {
            kind: if self.spec.token {
                AuthorizerKind::Token
            } else {
                AuthorizerKind::Request
            },
            token: self.spec.token.then(|| identity[0].clone()),
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
            request_id: request.request_id.to_owned(),
        };
        let facts = InvocationFacts {
            request_id: request.request_id.to_owned(),
            route: request.route.clone(),
            path_params: request.params.to_vec(),
            principal: None,
            authorizer_context: Vec::new(),
        };
        let limits = InvocationLimits {
            timeout: self.spec.timeout,
            ..InvocationLimits::default()
        };
        version
            .compiled
            .authorize(auth_request, facts, &limits)
            .await
            .map_err(|error| {
                tracing::warn!(
                    authorizer = %self.spec.name,
                    version = ?version.label,
                    request_id = request.request_id,
                    %error,
                    "authorizer failed: denying"
                );
                Rejection::AuthorizerFailed(error)
            })
    }
}

/// The request's query parameters, decoded.
fn query_pairs(parts: &http::request::Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
