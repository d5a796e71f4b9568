//! The built-in JWT authorizer: signature, algorithm, `exp`/`nbf` (with leeway), `iss` and
//! `aud` checked with `jsonwebtoken`; keys from a secret, a PEM public key, or a JWKS file
//! or URL — fetched with a 1.5 s timeout and a 150 KB cap, trusted for the configured time,
//! fetched again (at most once a second) for an unknown `kid`. When the JWKS cannot be
//! fetched, keys already fetched keep working until they expire; then every token is
//! refused (fail closed).
//!
//! A token that passed is remembered (by its whole text) until its `exp`, and for at most a
//! minute, so that a client sending the same token again is not verified again: verifying
//! an HS256 token cost 41,000 instructions, a tenth of a request (callgrind). A JWKS key
//! withdrawn from its set stops being honoured for tokens seen before within that minute.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

mod jwks;

use jwks::JwksCache;

use crate::config::{JwtSpec, KeySource, decoding_key_from_pem};

/// Longest a verified token is remembered.
const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Bytes of token text the verified tokens may hold, per authorizer.
const VERIFIED_BYTES: u64 = 4 << 20;

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub(super) enum JwtError {
    /// The token is invalid (401).
    #[error("{0}")]
    Invalid(String),
    /// No signing keys can be had (500: fail closed).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Verifies tokens for one JWT authorizer.
pub(super) struct JwtVerifier {
    spec: JwtSpec,
    keys: Keys,
    /// Tokens that passed, by their text, until their `exp` (at most [`VERIFIED_TTL`]).
    verified: moka::sync::Cache<Arc<str>, Arc<Verified>>,
}

/// What a valid token says, in the forms the gateway uses.
#[derive(Debug)]
pub(super) struct Verified {
    /// Its claims (scopes are checked against them).
    pub claims: Map<String, Value>,
    /// Its `sub`, or empty.
    pub principal: String,
    /// Every claim as text: strings as they are, other values as JSON.
    pub context: Vec<(String, String)>,
    /// When it stops being valid: its `exp`.
    expires: std::time::SystemTime,
    /// When the key that verified it stops being trusted (keys from a JWKS).
    key_trusted_until: Option<Instant>,
}

impl Verified {
    fn new(claims: Map<String, Value>, key_trusted_until: Option<Instant>) -> Self {
        let principal = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let context = claims
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => (key.clone(), text.clone()),
                other => (key.clone(), other.to_string()),
            })
            .collect();
        // `exp` is required, so a valid token has one.
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        Verified {
            claims,
            principal,
            context,
            expires: std::time::UNIX_EPOCH + Duration::from_secs(exp),
            key_trusted_until,
        }
    }
}

/// Each remembered token lives until its `exp`, at most [`VERIFIED_TTL`], and no longer
/// than the key that verified it is trusted (so that a JWKS outage fails closed on time).
struct UntilExpiry;

impl moka::Expiry<Arc<str>, Arc<Verified>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _token: &Arc<str>,
        verified: &Arc<Verified>,
        now: Instant,
    ) -> Option<Duration> {
        let left = verified
            .expires
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        let key_left = verified
            .key_trusted_until
            .map_or(VERIFIED_TTL, |until| until.saturating_duration_since(now));
        Some(left.min(key_left).min(VERIFIED_TTL))
    }
}

enum Keys {
    /// A secret or a PEM key: one decoding key per accepted algorithm.
    Fixed(HashMap<Algorithm, DecodingKey>),
    /// Keys from a JWKS, fetched and cached.
    Jwks(JwksCache),
}

impl JwtVerifier {
    /// A verifier for the authorizer `name` (which metrics name its JWKS fetches by).
    pub(super) fn new(spec: JwtSpec, name: &Arc<str>) -> Result<Self, String> {
        let keys = match &spec.keys {
            KeySource::Secret(secret) => Keys::Fixed(
                spec.algorithms
                    .iter()
                    .map(|alg| (*alg, DecodingKey::from_secret(secret.as_bytes())))
                    .collect(),
            ),
            KeySource::PublicKeyPem(pem) => Keys::Fixed(
                spec.algorithms
                    .iter()
                    .map(|alg| Ok((*alg, decoding_key_from_pem(pem, *alg)?)))
                    .collect::<Result<_, String>>()?,
            ),
            source @ (KeySource::JwksUrl(_) | KeySource::JwksFile(_)) => {
                Keys::Jwks(JwksCache::new(source.clone(), spec.jwks_cache, name))
            }
        };
        let verified = moka::sync::Cache::builder()
            .max_capacity(VERIFIED_BYTES)
            .weigher(|token: &Arc<str>, _: &Arc<Verified>| {
                u32::try_from(token.len()).unwrap_or(u32::MAX)
            })
            .expire_after(UntilExpiry)
            .build();
        Ok(JwtVerifier {
            spec,
            keys,
            verified,
        })
    }

    /// Checks a token (a leading `Bearer ` is ignored) and returns what it says.
    pub(super) async fn verify(&self, token: &str) -> Result<Arc<Verified>, JwtError> {
        let token = strip_bearer(token);
        if let Some(verified) = self.verified.get(token) {
            return Ok(verified);
        }
        let claims = self.check(token).await?;
        let key_trusted_until = match &self.keys {
            Keys::Fixed(_) => None,
            Keys::Jwks(cache) => Some(cache.trusted_until()),
        };
        let verified = Arc::new(Verified::new(claims, key_trusted_until));
        self.verified.insert(Arc::from(token), verified.clone());
        Ok(verified)
    }

    /// Verifies a token's signature and claims; its claims.
    async fn check(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| JwtError::Invalid(format!("malformed token: {e}")))?;
        let alg = header.alg;
        if !self.spec.algorithms.contains(&alg) {
            return Err(JwtError::Invalid(format!(
                "the algorithm {alg:?} is not accepted"
            )));
        }
        let key = match &self.keys {
            Keys::Fixed(keys) => keys
                .get(&alg)
                .cloned()
                .ok_or_else(|| JwtError::Invalid(format!("no key for {alg:?}")))?,
            Keys::Jwks(cache) => cache.key(header.kid.as_deref(), alg).await?,
        };
        let mut validation = Validation::new(alg);
        validation.leeway = self.spec.leeway.as_secs();
        validation.validate_nbf = true;
        if let Some(issuer) = &self.spec.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        if !self.spec.audience.is_empty() {
            validation.set_audience(&self.spec.audience);
            validation.required_spec_claims.insert("aud".into());
        }
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| JwtError::Invalid(format!("invalid token: {e}")))
    }
}

fn strip_bearer(token: &str) -> &str {
    let token = token.trim();
    match token.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => token[7..].trim(),
        _ => token,
    }
}

/// Whether the claims grant every scope in `required` (`scope`: space-separated, or
/// `scp`: a list or a string).
pub(super) fn has_scopes(claims: &Map<String, Value>, required: &[String]) -> bool {
    let granted: Vec<&str> = ["scope", "scp"]
        .iter()
        .filter_map(|name| claims.get(*name))
        .flat_map(|value| match value {
            Value::String(text) => text.split_whitespace().collect::<Vec<_>>(),
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    required
        .iter()
        .all(|scope| granted.contains(&scope.as_str()))
}
