use http::Method;

use super::CorsConfig;

fn config(toml: &str) -> CorsConfig {
    toml::from_str(toml).expect("valid")
}

fn problems(toml: &str) -> Vec<String> {
    config(toml)
        .validate("cors")
        .expect_err("invalid")
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn listed_origins_methods_and_headers_are_what_a_policy_allows() {
    let policy = config(
        r#"allow_origins = ["https://app.example", "https://*.example.com"]
           allow_methods = ["GET", "PUT"]
           allow_headers = ["Content-Type", "x-trace"]
           expose_headers = ["x-request-id"]
           max_age = 600"#,
    )
    .validate("cors")
    .expect("valid");
    assert!(!policy.any_origin());
    assert!(policy.allows_origin("https://app.example"));
    assert!(policy.allows_origin("https://eu.example.com"));
    assert!(!policy.allows_origin("https://evil.example"));
    assert!(policy.allows_method(&Method::PUT));
    assert!(!policy.allows_method(&Method::DELETE));
    assert_eq!(
        policy
            .allowed_request_headers("content-type,x-trace")
            .expect("valid"),
        "content-type, x-trace"
    );
    assert_eq!(policy.allowed_request_headers("").expect("valid"), "");
    assert!(
        policy
            .allowed_request_headers("content-type, x-other")
            .is_none()
    );
    assert!(policy.allowed_request_headers("bad header").is_none());
    assert_eq!(policy.expose_headers.expect("valid"), "x-request-id");
    assert_eq!(policy.max_age.expect("valid"), "600");
    assert!(!policy.credentials);
}

#[test]
fn stars_allow_everything_and_omitted_lists_the_defaults() {
    let any = config(
        r#"allow_origins = ["*"]
                        allow_headers = ["*"]"#,
    )
    .validate("cors")
    .expect("valid");
    assert!(any.any_origin() && any.allows_origin("https://anyone.example"));
    assert!(any.allows_method(&Method::DELETE));
    assert_eq!(
        any.allowed_request_headers("x-a, x-b").expect("valid"),
        "x-a, x-b"
    );
    let least = config(r#"allow_origins = ["https://app.example"]"#)
        .validate("cors")
        .expect("valid");
    assert!(
        least.allows_method(&Method::PATCH),
        "routed methods by default"
    );
    assert!(
        least.allowed_request_headers("x-a").is_none(),
        "safelisted only"
    );
    assert!(least.expose_headers.is_none() && least.max_age.is_none());
    let many = vec!["x-h"; 65].join(",");
    assert!(any.allowed_request_headers(&many).is_none());
}

#[test]
fn credentials_refuse_stars_and_every_problem_is_named() {
    assert_eq!(
        problems(
            r#"allow_origins = ["*"]
                    allow_credentials = true"#
        ),
        [
            "cors.allow_origins: `*` cannot be combined with `allow_credentials = true` (browsers refuse it): list the values"
        ]
    );
    assert_eq!(
        problems(
            r#"allow_origins = ["https://a.example"]
                    expose_headers = ["*"]
                    allow_credentials = true"#
        )
        .len(),
        1
    );
    let all = problems(
        r#"allow_origins = []
           allow_methods = ["get"]
           allow_headers = ["bad header"]
           expose_headers = ["*", "x-a"]
           max_age = 90000"#,
    );
    assert_eq!(all.len(), 5, "{all:?}");
    for (key, says) in [
        ("cors.allow_origins", "list the origins"),
        ("cors.allow_methods", "`get` is not a method"),
        ("cors.allow_headers", "`bad header` is not a header name"),
        ("cors.expose_headers", "write it alone"),
        ("cors.max_age", "90000 is out of range: 0 to 86400 s"),
    ] {
        assert!(
            all.iter().any(|p| p.starts_with(key) && p.contains(says)),
            "{key}: {all:?}"
        );
    }
    let too_many: Vec<String> = (0..101)
        .map(|i| format!("\"https://{i}.example\""))
        .collect();
    assert!(
        problems(&format!("allow_origins = [{}]", too_many.join(",")))[0].contains("at most 100")
    );
}
