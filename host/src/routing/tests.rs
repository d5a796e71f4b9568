//! Table-driven tests of route precedence, 404/405 and conflicts.

use http::Method;

use super::*;

/// Adds the route `method template`, whose value is its own description.
fn insert(
    table: &mut RouteTable<String>,
    method: &str,
    template: &str,
) -> Result<(), RouteConflict> {
    table.insert(
        MethodFilter::parse(method).expect("method"),
        template.parse().expect("template"),
        format!("{method} {template}"),
    )
}

fn table(routes: &[(&str, &str)]) -> RouteTable<String> {
    let mut table = RouteTable::new();
    for (method, template) in routes {
        insert(&mut table, method, template).unwrap_or_else(|e| panic!("{method} {template}: {e}"));
    }
    table
}

/// Adds a route that the table must refuse, and returns why it did.
fn refused(table: &mut RouteTable<String>, method: &str, template: &str) -> RouteConflict {
    match insert(table, method, template) {
        Ok(()) => panic!("{method} {template} was accepted"),
        Err(conflict) => conflict,
    }
}

/// The lookup of a path whose routes accept only `allow`, not the request's method.
fn not_allowed(allow: &[Method]) -> Lookup<'static, String> {
    Lookup::MethodNotAllowed {
        allow: allow.to_vec(),
    }
}

fn found(
    table: &RouteTable<String>,
    method: Method,
    path: &str,
) -> (String, Vec<(String, String)>) {
    match table.lookup(&method, path) {
        Lookup::Found { route, params } => (route.clone(), params),
        other => panic!("{method} {path}: expected a match, got {other:?}"),
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn precedence_table() {
    let t = table(&[
        ("GET", "/users/me"),
        ("GET", "/users/{id}"),
        ("ANY", "/users/{id}"),
        ("POST", "/users/{id}/avatar"),
        ("GET", "/{proxy+}"),
        ("ANY", "/static/{file+}"),
        ("DELETE", "/static/locked"),
    ]);
    /// (method, path, expected route, expected params)
    type Case<'a> = (Method, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    #[rustfmt::skip]
    let cases: &[Case<'_>] = &[
        // literal beats parameter
        (Method::GET, "/users/me", "GET /users/me", &[]),
        // a parameter beats a greedy tail starting further left
        (Method::GET, "/users/42", "GET /users/{id}", &[("id", "42")]),
        // a method beats ANY on the same template…
        (Method::GET, "/users/7", "GET /users/{id}", &[("id", "7")]),
        // …and ANY takes the other methods
        (Method::PUT, "/users/42", "ANY /users/{id}", &[("id", "42")]),
        // methods nobody names fall back to ANY routes
        (Method::from_bytes(b"PURGE").expect("method"), "/users/7", "ANY /users/{id}", &[("id", "7")]),
        // a more specific template for another method does not hide a match for this one
        (Method::GET, "/users/42/avatar", "GET /{proxy+}", &[("proxy", "users/42/avatar")]),
        (Method::POST, "/users/42/avatar", "POST /users/{id}/avatar", &[("id", "42")]),
        // greedy tail takes the rest, slashes included
        (Method::GET, "/a/b/c", "GET /{proxy+}", &[("proxy", "a/b/c")]),
        (Method::PATCH, "/static/css/site.css", "ANY /static/{file+}", &[("file", "css/site.css")]),
        // for GET, the literal-prefixed ANY tail beats the bare greedy GET route
        (Method::GET, "/static/x", "ANY /static/{file+}", &[("file", "x")]),
        (Method::DELETE, "/static/locked", "DELETE /static/locked", &[]),
    ];
    for (method, path, expected, params) in cases {
        let (route, got) = found(&t, method.clone(), path);
        assert_eq!(route, *expected, "{method} {path}");
        assert_eq!(got, pairs(params), "{method} {path}");
    }
}

#[test]
fn params_are_percent_decoded_after_matching() {
    let t = table(&[("GET", "/hello/{name}"), ("GET", "/files/{path+}")]);
    for (path, name, value) in [
        ("/hello/ada%20lovelace", "name", "ada lovelace"),
        // an encoded slash stays inside its parameter
        ("/hello/a%2Fb", "name", "a/b"),
        ("/hello/%C3%A9t%C3%A9", "name", "été"),
        ("/files/a/b%20c", "path", "a/b c"),
    ] {
        assert_eq!(
            found(&t, Method::GET, path).1,
            pairs(&[(name, value)]),
            "{path}"
        );
    }
    assert_eq!(
        t.lookup(&Method::GET, "/hello/%FF"),
        Lookup::InvalidParam {
            name: "name".into()
        }
    );
}

#[test]
fn not_found_and_method_not_allowed() {
    let t = table(&[
        ("GET", "/items/{id}"),
        ("DELETE", "/items/{id}"),
        ("POST", "/items"),
    ]);
    for (method, path, expected) in [
        (Method::GET, "/nothing", Lookup::NotFound),
        (Method::GET, "/items/1/extra", Lookup::NotFound),
        (Method::GET, "/", Lookup::NotFound),
        (
            Method::PUT,
            "/items/1",
            not_allowed(&[Method::DELETE, Method::GET, Method::HEAD]),
        ),
        (Method::GET, "/items", not_allowed(&[Method::POST])),
    ] {
        assert_eq!(t.lookup(&method, path), expected, "{method} {path}");
    }
    // a greedy tail needs at least one character
    let t = table(&[("GET", "/files/{path+}")]);
    assert_eq!(t.lookup(&Method::GET, "/files/"), Lookup::NotFound);
}

#[test]
fn encoded_unreserved_characters_match_literal_segments() {
    let t = table(&[
        ("GET", "/users/me"),
        ("GET", "/users/{id}"),
        ("GET", "/files/{path+}"),
    ]);
    // `%65` is `e`: this is the literal route, not `{id}` = "me".
    assert_eq!(found(&t, Method::GET, "/users/m%65").0, "GET /users/me");
    assert_eq!(found(&t, Method::GET, "/users/%6D%65").0, "GET /users/me");
    // Reserved characters stay encoded while matching.
    assert_eq!(
        found(&t, Method::GET, "/users/a%2Fb"),
        ("GET /users/{id}".to_string(), pairs(&[("id", "a/b")]))
    );
    assert_eq!(
        found(&t, Method::GET, "/files/%7Euser/%C3%A9%20x%"),
        (
            "GET /files/{path+}".to_string(),
            pairs(&[("path", "~user/é x%")])
        )
    );
}

#[test]
fn same_shape_with_other_names_is_fine_for_other_methods() {
    let t = table(&[
        ("GET", "/a/{x}"),
        ("POST", "/a/{y}"),
        ("DELETE", "/a/{z}/b"),
    ]);
    assert_eq!(found(&t, Method::GET, "/a/1").1, pairs(&[("x", "1")]));
    assert_eq!(found(&t, Method::POST, "/a/1").1, pairs(&[("y", "1")]));
    assert_eq!(
        t.lookup(&Method::PUT, "/a/1"),
        not_allowed(&[Method::GET, Method::HEAD, Method::POST])
    );
}

#[test]
fn root_route() {
    let t = table(&[("GET", "/")]);
    assert_eq!(found(&t, Method::GET, "/").0, "GET /");
}

#[test]
fn conflicts_are_rejected_and_leave_the_table_unchanged() {
    let mut t = table(&[
        ("GET", "/users/{id}"),
        ("ANY", "/x"),
        ("POST", "/orders/{order}"),
    ]);
    let err = refused(&mut t, "GET", "/users/{id}");
    assert_eq!(err.to_string(), "`GET /users/{id}` is declared twice");

    // Same method, same shape, other name: ambiguous.
    let err = refused(&mut t, "GET", "/users/{name}");
    assert_eq!(
        err.to_string(),
        "`/users/{name}` conflicts with `/users/{id}`: both match the same paths"
    );
    let err = refused(&mut t, "ANY", "/x");
    assert!(matches!(err, RouteConflict::Duplicate { .. }));

    // An ANY route goes into every method's tree: this one fits the ANY tree and the GET
    // tree, then conflicts in the POST tree. Nothing of it may stay behind.
    let err = refused(&mut t, "ANY", "/orders/{id}");
    assert!(matches!(err, RouteConflict::Ambiguous { .. }), "{err}");

    // A param and a greedy tail at the same position are ambiguous to the radix tree.
    let err = refused(&mut t, "GET", "/users/{rest+}");
    assert!(matches!(err, RouteConflict::Ambiguous { .. }), "{err}");

    assert_eq!(t.len(), 3);
    assert_eq!(found(&t, Method::GET, "/users/1").0, "GET /users/{id}");
    for (method, path, allow) in [
        (Method::GET, "/orders/1", &[Method::POST][..]),
        (Method::PUT, "/orders/1", &[Method::POST]),
        (Method::POST, "/users/1", &[Method::GET, Method::HEAD]),
    ] {
        assert_eq!(
            t.lookup(&method, path),
            not_allowed(allow),
            "{method} {path}"
        );
    }
}

#[test]
fn head_takes_the_get_route_unless_a_head_or_any_route_matches() {
    let t = table(&[
        ("GET", "/items/{id}"),
        ("HEAD", "/items/special"),
        ("ANY", "/any/{x}"),
        ("GET", "/any/get"),
        ("POST", "/posts"),
    ]);
    assert_eq!(found(&t, Method::HEAD, "/items/1").0, "GET /items/{id}");
    assert_eq!(
        found(&t, Method::HEAD, "/items/special").0,
        "HEAD /items/special"
    );
    // The ANY route accepts HEAD itself, so it is the HEAD route here.
    assert_eq!(found(&t, Method::HEAD, "/any/get").0, "ANY /any/{x}");
    assert_eq!(
        t.lookup(&Method::HEAD, "/posts"),
        not_allowed(&[Method::POST])
    );
    assert_eq!(t.lookup(&Method::HEAD, "/nothing"), Lookup::NotFound);
}
