//! A JWT authorizer's JWKS: fetched with a timeout and a size cap, trusted for the configured
//! time, fetched again (at most once a second) for an unknown `kid`; on a failed fetch the
//! keys already fetched keep working until they expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use prometheus_client::metrics::counter::Counter;

use super::JwtError;
use crate::config::KeySource;
use crate::telemetry::metrics::{AuthorizerLabels, metrics};

/// Time allowed to fetch a JWKS.
const JWKS_TIMEOUT: Duration = Duration::from_millis(1_500);
/// Largest JWKS accepted.
const JWKS_MAX_BYTES: usize = 150 * 1024;
/// Least time between two fetches of a JWKS (after a failure, or for an unknown `kid`).
const REFETCH_INTERVAL: Duration = Duration::from_secs(1);
/// Keys from a JWKS file or URL, fetched when first needed and again when they expire or
/// a token names an unknown `kid`.
pub(super) struct JwksCache {
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

impl JwksCache {
    /// A cache of the keys at `source`, trusted for `trusted_for` once fetched; metrics
    /// name its fetches by the authorizer `name`.
    pub(super) fn new(source: KeySource, trusted_for: Duration, name: &Arc<str>) -> Self {
        JwksCache {
            source,
            trusted_for,
            state: std::sync::RwLock::new(JwksState::default()),
            fetching: tokio::sync::Mutex::new(()),
            fetched: fetch_counter(name, "ok"),
            failed: fetch_counter(name, "failed"),
        }
    }

    /// When the keys held now stop being trusted (now, if none were fetched).
    pub(super) fn trusted_until(&self) -> Instant {
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
    pub(super) async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, JwtError> {
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
