//! The admin web console, end to end in headless Chromium driven through WebDriver
//! (`chromedriver`, Debian's `chromium-driver`, and `fantoccini`): sign in, upload a module
//! and see it listed, create a route, see traffic in the overview, run a test invoke, move a
//! canary with its slider, disable a key and see its next request refused; a value from the
//! registry renders as text. Each page's screenshot is written to
//! `CARGO_TARGET_TMPDIR/console/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{AdminClient, Gateway, client, empty_gateway, guests, needs_chromedriver};

/// A `chromedriver` on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }

    /// A headless Chromium session.
    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1400,1200"] }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (10 s at most) until the text of the first element `css` matches satisfies `done`;
/// answers that text.
async fn wait_text(browser: &Client, css: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if done(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` never matched; its text was {last:?}");
}

/// Types `text` into the field `css`.
async fn fill(browser: &Client, css: &str, text: &str) {
    let field = browser.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

/// Shows `#/page` and keeps its screenshot.
async fn visit(browser: &Client, gw: &Gateway, page: &str, heading: &str) {
    browser
        .goto(&gw.admin_url(&format!("/console/#/{page}")))
        .await
        .expect("goto");
    wait_text(browser, "main h1", |text| text == heading).await;
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_with_a_strict_policy_and_no_data() {
    let gw = empty_gateway();
    let http = client();
    let page = http
        .get(gw.admin_url("/console"))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().expect("ascii");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = page.text().await.expect("body");
    assert!(html.contains("src=\"/console/app.js\""), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");

    let script = http
        .get(gw.admin_url("/console/pages/modules.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // Only the embedded files: nothing is read from disk.
    for path in ["/console/nope.js", "/console/pages/"] {
        let missing = http.get(gw.admin_url(path)).send().await.expect("get");
        assert_eq!(missing.status(), 404, "{path}");
    }
    let refused = http
        .post(gw.admin_url("/console/app.js"))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "GET, HEAD");
    // The admin API still wants its token, and answers no CORS.
    let api = http
        .get(gw.admin_url("/modules"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(api.status(), 401);
    assert!(api.headers().get("access-control-allow-origin").is_none());
}

needs_chromedriver! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_operator_runs_the_gateway_from_the_console() {
        let gw = empty_gateway();
        let admin = AdminClient::new(&gw);
        let driver = Driver::start();
        let browser = driver.browser().await;

        // Signing in: a wrong token is refused, the right one opens the overview.
        browser.goto(&gw.admin_url("/console/")).await.expect("goto");
        fill(&browser, "input[name=token]", "not-the-token").await;
        click(&browser, "form.signin button").await;
        wait_text(&browser, ".message.error", |t| t.contains("not an admin token")).await;
        screenshot(&browser, "sign-in").await;
        fill(&browser, "input[name=token]", &gw.admin_token()).await;
        click(&browser, "form.signin button").await;
        wait_text(&browser, "main h1", |t| t == "Overview").await;

        // Upload a module by choosing its file; a hostile name is refused, shown as text.
        visit(&browser, &gw, "modules", "Modules").await;
        fill(&browser, "input[name=module-name]", "<img src=x onerror=alert(1)>").await;
        let file = browser.find(Locator::Css("input[name=module-file]")).await.expect("file");
        file.send_keys(guests::HELLO).await.expect("choose file");
        wait_text(&browser, ".message.error", |t| t.starts_with("400")).await;
        fill(&browser, "input[name=module-name]", "greet").await;
        let file = browser.find(Locator::Css("input[name=module-file]")).await.expect("file");
        file.send_keys(guests::HELLO).await.expect("choose file");
        wait_text(&browser, ".message.ok", |t| t.contains("greet@1: new version")).await;
        wait_text(&browser, "section[data-module=greet] h2", |t| t.starts_with("greet")).await;
        wait_text(&browser, "section[data-module=greet] details summary", |t| {
            t.ends_with("exports") && t.contains("imports")
        })
        .await;

        // A route through the form.
        visit(&browser, &gw, "routes", "Routes").await;
        fill(&browser, "input[name=path]", "/greet/{name}").await;
        fill(&browser, "textarea[name=settings]", r#"{"module": "greet@prod"}"#).await;
        click(&browser, "form.row button[type=submit]").await;
        // The API's own message: the alias does not exist yet.
        wait_text(&browser, ".message.error", |t| t.contains("prod")).await;
        let (status, _) = admin.put("/modules/greet/aliases/prod", json!({ "version": 1 })).await;
        assert_eq!(status, 200);
        click(&browser, "form.row button[type=submit]").await;
        wait_text(&browser, ".message.ok", |t| t.contains("saved route GET /greet/{name}")).await;
        wait_text(&browser, "table", |t| t.contains("/greet/{name}")).await;
        screenshot(&browser, "routes").await;

        // Traffic shows in the overview.
        visit(&browser, &gw, "overview", "Overview").await;
        let http = client();
        // Traffic over three seconds, so that the charts draw lines.
        for _ in 0..30 {
            let response = http.get(gw.url("/greet/ada")).send().await.expect("get");
            assert_eq!(response.status(), 200);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_text(&browser, "#requests-total", |t| t.parse::<u64>().is_ok_and(|n| n >= 30)).await;
        wait_text(&browser, "main table", |t| t.contains("/greet/{name}")).await;
        screenshot(&browser, "overview").await;
        // A route's row opens its own page.
        click(&browser, "main table tbody tr.link").await;
        wait_text(&browser, "main h1", |t| t == "GET /greet/{name}").await;
        wait_text(&browser, "main pre", |t| t.contains("greet@prod")).await;
        screenshot(&browser, "route").await;

        // A test invoke.
        visit(&browser, &gw, "invoke", "Test invoke").await;
        fill(&browser, "input[name=path]", "/greet/bob").await;
        click(&browser, "main form button[type=submit]").await;
        wait_text(&browser, "#invoke-status", |t| t == "200").await;
        wait_text(&browser, "#invoke-body", |t| t == "Hello, bob!").await;
        screenshot(&browser, "invoke").await;

        // A canary moved with the slider.
        let (status, _) = admin.upload("greet", std::fs::read(guests::ECHO).expect("echo")).await;
        assert_eq!(status, 201);
        visit(&browser, &gw, "modules", "Modules").await;
        wait_text(&browser, "section[data-module=greet]", |t| t.contains("greet@prod")).await;
        browser
            .execute(
                "const select = document.querySelector('[data-alias=prod] select');\
                 select.value = '2';\
                 const slider = document.querySelector('[data-alias=prod] input.canary');\
                 slider.value = '30';\
                 slider.dispatchEvent(new Event('change'));",
                vec![],
            )
            .await
            .expect("move the slider");
        wait_text(&browser, ".message.ok", |t| t.contains("30% to v2")).await;
        let (_, module) = admin.get("/modules/greet").await;
        assert_eq!(
            module["aliases"]["prod"]["canary"],
            json!({ "version": 2, "percent": 30 }),
            "{module}"
        );
        screenshot(&browser, "modules").await;

        // A key named with markup shows as text; disabled, its next request is refused.
        let (status, _) = admin
            .put(
                "/routes",
                json!({ "method": "GET", "path": "/keyed", "module": "greet@1", "api_key_required": true }),
            )
            .await;
        assert_eq!(status, 200);
        visit(&browser, &gw, "keys", "Keys & authorizers").await;
        // A usage plan through its form, for the key below.
        fill(&browser, "input[name=plan-name]", "gold").await;
        fill(&browser, "input[name=plan-quota]", "5").await;
        click(&browser, "form:has(input[name=plan-name]) button").await;
        wait_text(&browser, ".message.ok", |t| t == "saved plan gold").await;
        wait_text(&browser, "select[name=key-plan]", |t| t.contains("gold")).await;
        browser
            .execute("document.querySelector('select[name=key-plan]').value = 'gold';", vec![])
            .await
            .expect("choose the plan");
        let hostile = "<img src=x onerror=window.pwned=1>";
        fill(&browser, "input[name=key-name]", hostile).await;
        click(&browser, "main form button[type=submit]").await;
        let secret = wait_text(&browser, "#new-secret", |t| !t.is_empty()).await;
        wait_text(&browser, "main table", |t| t.contains(hostile)).await;
        let injected = browser
            .execute(
                "return [document.querySelectorAll('img').length, window.pwned === undefined];",
                vec![],
            )
            .await
            .expect("look for injected markup");
        assert_eq!(injected, json!([0, true]));
        let keyed = |key: String| {
            let http = http.clone();
            let url = gw.url("/keyed");
            async move {
                http.get(url).header("x-api-key", key).send().await.expect("get").status()
            }
        };
        assert_eq!(keyed(secret.clone()).await, 200);
        click(&browser, "main table tbody button.plain").await;
        wait_text(&browser, ".message.ok", |t| t.starts_with("disabled key")).await;
        // The list, drawn again, shows the one request the key made of its quota.
        wait_text(&browser, "main table", |t| t.contains("1 of 5 this day")).await;
        assert_eq!(keyed(secret).await, 403);
        screenshot(&browser, "keys").await;

        // The live log shows a request as it happens.
        visit(&browser, &gw, "logs", "Logs").await;
        wait_text(&browser, "main p.muted", |t| t.contains("following")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let response = http.get(gw.url("/greet/logged")).send().await.expect("get");
        assert_eq!(response.status(), 200);
        wait_text(&browser, "main table", |t| t.contains("/greet/logged")).await;
        screenshot(&browser, "logs").await;

        browser.close().await.expect("close the browser");
    }
}
