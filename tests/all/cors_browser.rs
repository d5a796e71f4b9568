//! CORS in a real browser: headless Chromium, on a page of one origin, calls a route of
//! another; the route's policy decides whether the page may read the answer.

use crate::support::{DocumentServer, Gateway, guests, module, needs_chromium, route};

/// The page of the browser test: calls `url` with a header that needs a preflight, with
/// credentials, and writes what it got (or why it could not) into `#out`.
fn calling_page(url: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="out">pending</pre><script>
fetch("{url}", {{ headers: {{ "x-trace": "1" }}, credentials: "include" }})
  .then(async (r) => {{
    document.getElementById("out").textContent =
      "status=" + r.status + " body=" + (await r.text()) + " id=" + (r.headers.get("x-request-id") ? "readable" : "hidden");
  }})
  .catch((e) => {{ document.getElementById("out").textContent = "blocked: " + e; }});
</script></body></html>"#
    )
}

/// The DOM of the page at `url` once headless Chromium has run its scripts.
fn page_in_chromium(url: &str) -> String {
    let profile = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new("timeout")
        .arg("90")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Network waits pause virtual time: the budget ends once the fetch has settled.
        .args(["--virtual-time-budget=20000", "--dump-dom", url])
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

needs_chromium! {
    #[test]
    fn a_page_on_another_origin_calls_a_route_in_headless_chromium() {
        let page = DocumentServer::html("not yet");
        let origin = format!("http://127.0.0.1:{}", page.addr.port());
        let gateway = Gateway::start(
            &[
                module("probe", guests::PROBE, ""),
                route(
                    "GET",
                    "/open/{action}",
                    "probe",
                    &format!(
                        "cors = {{ allow_origins = [\"{origin}\"], allow_headers = [\"x-trace\"], expose_headers = [\"x-request-id\"], allow_credentials = true }}"
                    ),
                ),
            ]
            .concat(),
        );
        page.set(Some(&calling_page(&gateway.url("/open/cors"))));
        // From the allowed origin the page reads the response and the exposed header.
        let allowed = page_in_chromium(&format!("{origin}/"));
        assert!(
            allowed.contains("status=200 body=wide open id=readable"),
            "{allowed}"
        );
        // The same page from `localhost` is another origin: the browser blocks the call.
        let other = page_in_chromium(&format!("http://localhost:{}/", page.addr.port()));
        assert!(other.contains("blocked: TypeError"), "{other}");
    }
}
