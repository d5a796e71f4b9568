//! A JWT authorizer's JWKS: an unknown `kid` fetches the set again (at most once a second),
//! keys outlive an outage until they expire, and the set is fetched directly whatever
//! proxy the environment names.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::{claims, get, jwks, jwt_gateway, jwt_gateway_with_env, rs256, rsa_key, sign};
use crate::support::DocumentServer;

#[tokio::test]
async fn unknown_kid_refetches_once_then_401_and_rotation_is_picked_up() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    assert_eq!(get(&gw, "/api/x", &rs256("a", &claims())).await.0, 200);
    assert_eq!(jwks.fetches(), 1);
    std::thread::sleep(Duration::from_millis(1100));

    let stranger = sign(Algorithm::RS256, Some("b"), &claims(), &rsa_key("rsa-b"));
    assert_eq!(get(&gw, "/api/x", &stranger).await.0, 401);
    assert_eq!(jwks.fetches(), 2, "one refetch for the unknown kid");
    assert_eq!(get(&gw, "/api/x", &stranger).await.0, 401);
    assert_eq!(jwks.fetches(), 2, "refetches are rate-limited");

    // The issuer rotates in key b: after the rate limit, the next unknown kid finds it.
    jwks.set(Some(&jwks_for_rotation()));
    std::thread::sleep(Duration::from_millis(1100));
    let (status, body) = get(&gw, "/api/x", &stranger).await;
    assert_eq!(status, 200, "{body}");
}

fn jwks_for_rotation() -> String {
    jwks(&[("rsa-a", "a"), ("rsa-b", "b")])
}

#[tokio::test]
async fn cached_keys_outlive_a_jwks_outage_until_they_expire() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let token = rs256("a", &claims());
    assert_eq!(get(&gw, "/api/x", &token).await.0, 200);
    jwks.set(None);
    // Within the 3 s the keys are trusted: still served.
    assert_eq!(get(&gw, "/api/x", &token).await.0, 200);
    std::thread::sleep(Duration::from_millis(3200));
    // Expired, and the JWKS cannot be fetched: fail closed.
    let (status, body) = get(&gw, "/api/x", &token).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "authorizer_failed");
    // Back up: served again.
    jwks.set(Some(&jwks_for_rotation()));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(&gw, "/api/x", &token).await.0, 200);
}

#[tokio::test]
async fn keys_are_fetched_directly_whatever_proxy_the_environment_names() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let proxy = DocumentServer::start("{}");
    let via = format!("http://{}", proxy.addr);
    let env: Vec<(&str, &str)> = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"]
        .into_iter()
        .map(|name| (name, via.as_str()))
        .collect();
    let gw = jwt_gateway_with_env(&jwks, &env);
    let (status, body) = get(&gw, "/api/x", &rs256("a", &claims())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(jwks.fetches(), 1);
    assert_eq!(
        proxy.fetches(),
        0,
        "the JWKS request went through the proxy"
    );
}
