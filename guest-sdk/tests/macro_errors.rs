//! `#[handler]` accepts a plain `fn(Request) -> impl IntoResponse` and rejects misuse with a
//! compile error pointing at the offending code.

#[test]
fn handler_macro() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/ok*.rs");
    cases.compile_fail("tests/ui/fail_*.rs");
}
