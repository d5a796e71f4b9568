//! The admin web console at `/console`: plain HTML, CSS and JavaScript modules from
//! `host/console/`, embedded in the binary (no build step, no Node.js, no CDN: it works
//! offline). The files hold no data and need no token; the page signs in with the admin
//! token (kept in the tab's `sessionStorage`) and makes ordinary admin API calls, so the
//! console, the CLI and scripts see the same thing.
//!
//! Every file is served with a strict `Content-Security-Policy`: scripts, styles and calls
//! from this origin only, no inline code, no framing (`X-Frame-Options: DENY` too).

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use crate::server::response::{ResponseBody, full_body, json_response};

/// What the console's pages may load and do: only this origin's files and API, nothing
/// inline, never inside a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Its path under `/console/`.
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The console's files, each with its `Content-Type`.
macro_rules! assets {
    ($($path:literal => $type:expr),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $type,
            body: include_str!(concat!("../../console/", $path)),
        }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = assets! {
    "index.html" => HTML,
    "console.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "chart.js" => JS,
    "metrics.js" => JS,
    "pages/overview.js" => JS,
    "pages/route.js" => JS,
    "pages/routes.js" => JS,
    "pages/modules.js" => JS,
    "pages/keys.js" => JS,
    "pages/invoke.js" => JS,
    "pages/logs.js" => JS,
};

/// The answer to a request for a console file, or `None` when the path is not the
/// console's (the admin API's own endpoints then answer it).
pub(super) fn serve<B>(request: &hyper::Request<B>) -> Option<http::Response<ResponseBody>> {
    let path = request.uri().path();
    let file = match path {
        "/console" | "/console/" => "index.html",
        _ => path.strip_prefix("/console/")?,
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({ "message": format!("the console's files are read with GET, not {}", request.method()) }),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(response);
    }
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == file) else {
        return Some(json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "message": format!("the console has no file `{file}`") }),
        ));
    };
    let body = if request.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(asset.body.as_bytes())
    };
    let mut response = http::Response::new(full_body(body));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, asset.content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new binary may bring new files under the same names.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module the pages import is embedded (a missing one would break the page).
    #[test]
    fn every_imported_module_is_served() {
        for asset in ASSETS {
            for line in asset.body.lines() {
                let Some(from) = line.split(" from \"").nth(1) else {
                    continue;
                };
                let target = from.trim_end_matches("\";");
                let base = asset.path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let resolved = match target.strip_prefix("../") {
                    Some(rest) => rest.to_owned(),
                    None => {
                        let rest = target.trim_start_matches("./");
                        if base.is_empty() {
                            rest.to_owned()
                        } else {
                            format!("{base}/{rest}")
                        }
                    }
                };
                assert!(
                    ASSETS.iter().any(|a| a.path == resolved),
                    "{} imports `{target}`, which is not embedded",
                    asset.path
                );
            }
        }
    }
}
