//! The built-in JWT authorizer: every forged, expired or misdirected token is refused with
//! 401, tokens inside the leeway pass; JWKS rotation, outages and proxies in `jwks.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{DocumentServer, Gateway, guests, module, read_json, route};

mod jwks;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "api://wasmgate";
const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!!";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/jwt")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture(&format!("{name}.key.pem"))).expect("RSA key")
}

/// A JWKS with the public halves of `keys` (`(fixture, kid)`).
fn jwks(keys: &[(&str, &str)]) -> String {
    let keys = keys
        .iter()
        .map(|(name, kid)| {
            let mut jwk = Jwk::from_encoding_key(&rsa_key(name), Algorithm::RS256).expect("jwk");
            jwk.common.key_id = Some((*kid).to_owned());
            jwk
        })
        .collect();
    serde_json::to_string(&JwkSet { keys }).expect("json")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "sub": "user-7",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
        "scope": "orders:read profile",
        "tenant": "acme",
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn rs256(kid: &str, claims: &Value) -> String {
    sign(Algorithm::RS256, Some(kid), claims, &rsa_key("rsa-a"))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Echo behind `jwt` (RS256 from a JWKS URL, keys trusted 3 s) and `hs` (HS256 secret).
fn jwt_gateway(jwks: &DocumentServer) -> Gateway {
    jwt_gateway_with_env(jwks, &[])
}

/// [`jwt_gateway`] with these environment variables.
fn jwt_gateway_with_env(jwks: &DocumentServer, env: &[(&str, &str)]) -> Gateway {
    let authorizers = format!(
        r#"
[[authorizers]]
name = "jwt"
type = "jwt"
issuer = "{ISSUER}"
audience = ["{AUDIENCE}"]
algorithms = ["RS256"]
jwks_url = "{url}"
jwks_cache_seconds = 3

[[authorizers]]
name = "hs"
type = "jwt"
algorithms = ["HS256"]
secret = "{SECRET}"
audience = ["{AUDIENCE}"]

"#,
        url = jwks.url(),
    );
    Gateway::start_with_env(
        &[
            module("echo", guests::ECHO, ""),
            authorizers,
            route("GET", "/api/{p+}", "echo", "authorizer = \"jwt\""),
            route(
                "GET",
                "/orders",
                "echo",
                "authorizer = \"jwt\"\nscopes = [\"orders:read\"]",
            ),
            route(
                "GET",
                "/admin",
                "echo",
                "authorizer = \"jwt\"\nscopes = [\"admin\"]",
            ),
            route("GET", "/hs", "echo", "authorizer = \"hs\""),
        ]
        .concat(),
        env,
    )
}

async fn get(gw: &Gateway, path: &str, token: &str) -> (u16, Value) {
    read_json(
        gw.get_with(path, "authorization", &format!("Bearer {token}"))
            .await,
    )
    .await
}

#[tokio::test]
async fn valid_tokens_pass_and_the_handler_sees_the_claims() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let (status, body) = get(&gw, "/api/x", &rs256("a", &claims())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["principal"], "user-7");
    assert_eq!(body["authorizer_context"]["tenant"], "acme");
    assert_eq!(body["authorizer_context"]["iss"], ISSUER);

    let hs = sign(
        Algorithm::HS256,
        None,
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    assert_eq!(get(&gw, "/hs", &hs).await.0, 200);
}

#[tokio::test]
async fn every_bad_token_is_401() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let good = rs256("a", &claims());
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims();
        change(&mut claims);
        rs256("a", &claims)
    };
    let parts: Vec<&str> = good.split('.').collect();
    let mut tampered_claims = claims();
    tampered_claims["sub"] = json!("admin");
    let public_pem = fixture("rsa-a.pub.pem");

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims().to_string().as_bytes())
            ),
        ),
        (
            "RS256 key re-used as an HS256 secret (key confusion)",
            sign(
                Algorithm::HS256,
                Some("a"),
                &claims(),
                &EncodingKey::from_secret(&public_pem),
            ),
        ),
        (
            "an algorithm not in the list",
            sign(Algorithm::RS384, Some("a"), &claims(), &rsa_key("rsa-a")),
        ),
        ("expired", with(&|c| c["exp"] = json!(now() - 120))),
        (
            "expired, exp as a string",
            with(&|c| c["exp"] = json!((now() - 120).to_string())),
        ),
        (
            "exp as a far-future string",
            with(&|c| c["exp"] = json!("99999999999")),
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().expect("object").remove("exp");
            }),
        ),
        ("not yet valid", with(&|c| c["nbf"] = json!(now() + 300))),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.test")),
        ),
        ("wrong audience", with(&|c| c["aud"] = json!("api://other"))),
        (
            "tampered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(tampered_claims.to_string().as_bytes()),
                parts[2]
            ),
        ),
        (
            "signed by another key",
            sign(Algorithm::RS256, Some("a"), &claims(), &rsa_key("rsa-b")),
        ),
        ("malformed", "not.a.token".to_owned()),
        ("garbage", "garbage".to_owned()),
    ];
    for (what, token) in cases {
        let (status, body) = get(&gw, "/api/x", &token).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["message"], "Unauthorized", "{what}");
    }
    // The secret-keyed authorizer refuses a token carrying no audience it accepts, too.
    let mut no_aud = claims();
    no_aud.as_object_mut().expect("object").remove("aud");
    let hs = sign(
        Algorithm::HS256,
        None,
        &no_aud,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    assert_eq!(get(&gw, "/hs", &hs).await.0, 401);
}

#[tokio::test]
async fn tokens_inside_the_leeway_pass() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let mut c = claims();
    c["exp"] = json!(now() - 30);
    assert_eq!(get(&gw, "/api/x", &rs256("a", &c)).await.0, 200);
    let mut c = claims();
    c["nbf"] = json!(now() + 30);
    assert_eq!(get(&gw, "/api/x", &rs256("a", &c)).await.0, 200);
}

#[tokio::test]
async fn route_scopes_are_required() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let token = rs256("a", &claims());
    assert_eq!(get(&gw, "/orders", &token).await.0, 200);
    let (status, body) = get(&gw, "/admin", &token).await;
    assert_eq!((status, body), (403, json!({ "message": "Forbidden" })));
}

#[tokio::test]
async fn jwt_authorizers_through_the_admin_api_keep_secrets_out_of_listings() {
    let jwks = DocumentServer::start(&jwks(&[("rsa-a", "a")]));
    let gw = jwt_gateway(&jwks);
    let admin = crate::support::AdminClient::new(&gw);
    let (status, hs) = admin.get("/authorizers/hs").await;
    assert_eq!(status, 200);
    assert_eq!(hs["secret"], "(redacted)");
    for (bad, expected) in [
        (
            json!({ "name": "x", "type": "jwt", "algorithms": ["RS256"] }),
            "needs its keys",
        ),
        (
            json!({ "name": "x", "type": "jwt", "algorithms": ["none"], "secret": SECRET }),
            "not a JWT algorithm",
        ),
        (
            json!({ "name": "x", "type": "jwt", "algorithms": ["HS256"], "public_key_pem": String::from_utf8(fixture("rsa-a.pub.pem")).expect("pem") }),
            "key-confusion",
        ),
        (
            json!({ "name": "x", "type": "jwt", "algorithms": ["RS256"], "secret": SECRET }),
            "HS* tokens only",
        ),
        (
            json!({ "name": "x", "type": "jwt", "algorithms": ["HS256"], "secret": "short" }),
            "at least 32 bytes",
        ),
    ] {
        admin.put_refused("/authorizers", bad, expected).await;
    }
    // A PEM public key verifies RS256 tokens without any JWKS.
    let pem = String::from_utf8(fixture("rsa-a.pub.pem")).expect("pem");
    let (status, body) = admin
        .put("/authorizers", json!({ "name": "pem", "type": "jwt", "algorithms": ["RS256"], "public_key_pem": pem, "audience": [AUDIENCE] }))
        .await;
    assert_eq!(status, 200, "{body}");
    admin
        .put("/routes", json!({ "method": "GET", "path": "/pem", "module": "echo", "authorizer": "pem", "scopes": ["profile"] }))
        .await;
    assert_eq!(get(&gw, "/pem", &rs256("whatever", &claims())).await.0, 200);
    let (status, body) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/x", "module": "echo", "scopes": ["a"] }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_it_expires() {
    // No leeway: the token is valid until its `exp`, and so is the gateway's memory of it.
    let gw = Gateway::start(
        &[
            module("echo", guests::ECHO, ""),
            format!(
                "[[authorizers]]\nname = \"hs\"\ntype = \"jwt\"\nalgorithms = [\"HS256\"]\nsecret = \"{SECRET}\"\naudience = [\"{AUDIENCE}\"]\nleeway_seconds = 0\n\n"
            ),
            route("GET", "/hs", "echo", "authorizer = \"hs\""),
        ]
        .concat(),
    );
    let exp = now() + 2;
    let mut c = claims();
    c["exp"] = json!(exp);
    let token = sign(
        Algorithm::HS256,
        None,
        &c,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    // Verified, then answered from memory.
    for _ in 0..2 {
        let (status, body) = get(&gw, "/hs", &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["principal"], "user-7", "{body}");
    }
    while now() <= exp + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(get(&gw, "/hs", &token).await.0, 401);
}
