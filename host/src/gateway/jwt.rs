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

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use prometheus_client::metrics::counter::Counter;
use serde_json::{Map, Value};

use crate::config::{JwtSpec, KeySource, decoding_key_from_pem};
use crate::telemetry::metrics::{AuthorizerLabels, metrics};

/// Time allowed to fetch a JWKS.
const JWKS_TIMEOUT: Duration = Duration::from_millis(1_500);
/// Largest JWKS accepted.
const JWKS_MAX_BYTES: usize = 150 * 1024;
/// Least time between two fetches of a JWKS (after a failure, or for an unknown `kid`).
const REFETCH_INTERVAL: Duration = Duration::from_secs(1);
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

struct JwksCache {
    source: KeySource,
    trusted_for: Duration,
    /// The keys and when they were fetched; never held across an `await`.
    state: std::sync::RwLock<JwksState>,
    /// One fetch at a time; requests with known keys never wait for it.
    fetching: tokio::sync::Mutex<()>,
    /// Fetches that succeeded, and that failed.
    fetched: Counter,
    failed: Counter,
}

#[derive(Default)]
struct JwksState {
    set: Option<Arc<JwkSet>>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
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
            source @ (KeySource::JwksUrl(_) | KeySource::JwksFile(_)) => Keys::Jwks(JwksCache {
                source: source.clone(),
                trusted_for: spec.jwks_cache,
                state: std::sync::RwLock::new(JwksState::default()),
                fetching: tokio::sync::Mutex::new(()),
                fetched: fetch_counter(name, "ok"),
                failed: fetch_counter(name, "failed"),
            }),
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

impl JwksCache {
    /// When the keys held now stop being trusted (now, if none were fetched).
    fn trusted_until(&self) -> Instant {
        self.read()
            .fetched_at
            .map_or_else(Instant::now, |at| at + self.trusted_for)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, JwksState> {
        self.state
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The keys if they are still trusted.
    fn fresh(&self) -> Option<Arc<JwkSet>> {
        let state = self.read();
        let fresh = state
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.trusted_for);
        if fresh { state.set.clone() } else { None }
    }

    /// The decoding key for `kid` (or the only key, without a `kid`).
    async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwtError> {
        if let Some(set) = self.fresh()
            && let Some(key) = find(&set, kid, alg)?
        {
            return Ok(key);
        }
        // Expired keys, or an unknown key (perhaps a rotation): fetch again, at most once a
        // second however many requests ask, then use what there is.
        self.refresh().await;
        let set = self.fresh().ok_or_else(|| {
            JwtError::KeysUnavailable(
                "the JWKS could not be fetched and no unexpired keys are cached".into(),
            )
        })?;
        find(&set, kid, alg)?
            .ok_or_else(|| JwtError::Invalid(format!("no signing key with kid {kid:?}")))
    }

    /// Fetches the JWKS unless a fetch was attempted less than a second ago. On failure the
    /// keys already cached are kept (until they expire).
    async fn refresh(&self) {
        let _one_at_a_time = self.fetching.lock().await;
        let recently = self
            .read()
            .attempted_at
            .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL);
        if recently {
            return;
        }
        let fetched = self.fetch().await;
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        state.attempted_at = Some(Instant::now());
        match fetched {
            Ok(set) => {
                self.fetched.inc();
                state.set = Some(Arc::new(set));
                state.fetched_at = Some(Instant::now());
            }
            Err(error) => {
                self.failed.inc();
                tracing::warn!(%error, "JWKS fetch failed; keeping the cached keys");
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let bytes = match &self.source {
            KeySource::JwksFile(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                if bytes.len() > JWKS_MAX_BYTES {
                    return Err(format!("{} is over 150 KB", path.display()));
                }
                bytes
            }
            KeySource::JwksUrl(url) => fetch_url(url).await?,
            other => return Err(format!("{other:?} is not a JWKS")),
        };
        serde_json::from_slice(&bytes).map_err(|e| format!("not a JWKS: {e}"))
    }
}

/// The counter of `name`'s JWKS fetches that ended with `outcome`.
fn fetch_counter(name: &Arc<str>, outcome: &'static str) -> Counter {
    metrics()
        .jwks_fetches
        .get_or_create_owned(&AuthorizerLabels {
            authorizer: name.clone(),
            outcome,
        })
}

async fn fetch_url(url: &str) -> Result<Vec<u8>, String> {
    // Already installed by the binary; a library user may not have.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        // Straight to the issuer: an `HTTPS_PROXY` in the gateway's environment must not
        // see (or answer for) the keys that decide who gets in.
        .no_proxy()
        .timeout(JWKS_TIMEOUT)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > JWKS_MAX_BYTES {
            return Err(format!("GET {url}: the JWKS is over 150 KB"));
        }
    }
    Ok(body)
}

/// The key for `kid` in `set`, checked against `alg`; `Ok(None)` if there is none.
fn find(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<Option<DecodingKey>, JwtError> {
    let jwk = match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => {
            return Err(JwtError::Invalid(
                "the token has no kid and the JWKS holds several keys".into(),
            ));
        }
    };
    let Some(jwk) = jwk else { return Ok(None) };
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string().parse::<Algorithm>().ok() != Some(alg)
    {
        return Err(JwtError::Invalid(format!(
            "the key {kid:?} is for {key_alg}, not {alg:?}"
        )));
    }
    // jsonwebtoken slices an Ed25519 key's 32 bytes without checking: check first.
    if let jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm {
        use base64::Engine as _;
        let length = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(okp.x.trim_end_matches('='))
            .map_or(0, |bytes| bytes.len());
        if length != 32 {
            return Err(JwtError::Invalid(format!(
                "the key {kid:?} is not a 32-byte Ed25519 key"
            )));
        }
    }
    DecodingKey::from_jwk(jwk)
        .map(Some)
        .map_err(|e| JwtError::Invalid(format!("unusable key {kid:?}: {e}")))
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
