//! Validation of a `type = "jwt"` authorizer's fields: algorithms, one key source, leeway.

use std::str::FromStr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};

use super::authorizer::{
    AuthorizerConfig, AuthorizerKindSpec, JWKS_CACHE_SECONDS, JwtSpec, KeySource, LEEWAY_SECONDS,
};

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// A PEM public key for `alg`, parsed as its family requires.
fn pem_key(pem: &str, alg: Algorithm) -> Result<DecodingKey, String> {
    let pem = pem.as_bytes();
    let parsed = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
        _ => DecodingKey::from_rsa_pem(pem),
    };
    parsed.map_err(|e| format!("not a PEM public key for {alg:?}: {e}"))
}

/// Decoding keys come from `PublicKeyPem` text checked here; the verifier parses it again.
pub fn decoding_key_from_pem(pem: &str, alg: Algorithm) -> Result<DecodingKey, String> {
    pem_key(pem, alg)
}

impl AuthorizerConfig {
    pub(super) fn validate_jwt(
        &self,
        problem: &mut impl FnMut(&str, String),
    ) -> Option<AuthorizerKindSpec> {
        if self.module.is_some() {
            problem(
                "module",
                "a jwt authorizer validates tokens itself: it has no `module`".into(),
            );
        }
        for (field, set) in [
            ("ttl_seconds", self.ttl_seconds.is_some()),
            ("timeout_ms", self.timeout_ms.is_some()),
            ("max_concurrency", self.max_concurrency.is_some()),
        ] {
            if set {
                problem(
                    field,
                    format!("`{field}` is for token and request authorizers"),
                );
            }
        }
        let mut algorithms = Vec::new();
        for name in &self.algorithms {
            match Algorithm::from_str(name) {
                Ok(alg) => algorithms.push(alg),
                Err(_) => problem(
                    "algorithms",
                    format!(
                        "`{name}` is not a JWT algorithm: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384 or EdDSA"
                    ),
                ),
            }
        }
        if self.algorithms.is_empty() {
            problem(
                "algorithms",
                "list the accepted algorithms, e.g. [\"RS256\"]".into(),
            );
        }
        let sources = [
            self.jwks_url.clone().map(KeySource::JwksUrl),
            self.jwks_file
                .clone()
                .map(|f| KeySource::JwksFile(f.into())),
            self.secret.clone().map(KeySource::Secret),
            self.public_key_pem.clone().map(KeySource::PublicKeyPem),
        ];
        let mut given: Vec<KeySource> = sources.into_iter().flatten().collect();
        let keys = match given.len() {
            1 => given.pop(),
            0 => {
                problem(
                    "jwks_url",
                    "a jwt authorizer needs its keys: `jwks_url`, `jwks_file`, `secret` or `public_key_pem`".into(),
                );
                None
            }
            _ => {
                problem(
                    "jwks_url",
                    "give exactly one of `jwks_url`, `jwks_file`, `secret` and `public_key_pem`"
                        .into(),
                );
                None
            }
        };
        match &keys {
            Some(KeySource::Secret(secret)) => {
                if let Some(alg) = algorithms.iter().find(|alg| !is_hmac(**alg)) {
                    problem(
                        "algorithms",
                        format!("a `secret` verifies HS* tokens only, not {alg:?}"),
                    );
                }
                if secret.len() < 32 {
                    problem("secret", "an HMAC secret needs at least 32 bytes".into());
                }
            }
            Some(KeySource::PublicKeyPem(pem)) => {
                if let Some(alg) = algorithms.iter().find(|alg| is_hmac(**alg)) {
                    problem(
                        "algorithms",
                        format!(
                            "a public key cannot verify {alg:?} (an HMAC algorithm): that is the key-confusion attack"
                        ),
                    );
                }
                for alg in &algorithms {
                    if let Err(message) = pem_key(pem, *alg) {
                        problem("public_key_pem", message);
                    }
                }
            }
            Some(KeySource::JwksUrl(url)) => {
                if let Err(message) = check_jwks_url(url) {
                    problem("jwks_url", message);
                }
            }
            Some(KeySource::JwksFile(_)) | None => {}
        }
        let leeway = LEEWAY_SECONDS.resolve_at("leeway_seconds", self.leeway_seconds, problem);
        let cache =
            JWKS_CACHE_SECONDS.resolve_at("jwks_cache_seconds", self.jwks_cache_seconds, problem);
        Some(AuthorizerKindSpec::Jwt(JwtSpec {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            algorithms,
            keys: keys?,
            leeway: Duration::from_secs(leeway),
            jwks_cache: Duration::from_secs(cache),
        }))
    }
}

/// A JWKS URL must be `https`, except on the loopback interface (where nobody can swap the
/// keys in transit).
fn check_jwks_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let loopback = match uri.host() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => return Err(format!("`{url}` has no host")),
    };
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        Some("http") => Err(format!(
            "`{url}` is plain http: signing keys must come over https (http only on loopback)"
        )),
        _ => Err(format!("`{url}` is not an http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_jwks_url;

    #[test]
    fn jwks_urls_must_be_https_except_on_loopback() {
        for ok in [
            "https://issuer.example/jwks.json",
            "http://127.0.0.1:8000/jwks.json",
            "http://localhost/jwks",
            "http://[::1]:9000/jwks",
        ] {
            assert!(check_jwks_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example/jwks.json",
            "ftp://x/jwks",
            "/jwks.json",
        ] {
            assert!(check_jwks_url(bad).is_err(), "{bad}");
        }
    }
}
