//! CGI as WAGI speaks it (RFC 3875, and the WAGI conventions Spin follows): the request as
//! environment variables and arguments for a `wasm32-wasip1` command, and the response
//! parsed back from what it wrote to stdout. Pure functions; `wagi.rs` runs the module.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use percent_encoding::percent_decode_str;

use super::context::InvocationFacts;

/// The request-line and head of a request, as CGI describes it.
pub(super) struct CgiRequest<'a> {
    /// The request head.
    pub parts: &'a http::request::Parts,
    /// Bytes of the body the module reads from stdin.
    pub body_len: usize,
    /// What the gateway knows of the invocation.
    pub facts: &'a InvocationFacts,
}

impl CgiRequest<'_> {
    /// The environment: the module's own variables, then the CGI ones. The gateway's
    /// variables win over a module variable of the same name; a module variable wins over
    /// an `HTTP_*` one, which the client chose. Each name is set once.
    pub fn environment(&self, module_env: &[(String, String)]) -> Vec<(String, String)> {
        let from_client = |name: &str| name.starts_with("HTTP_");
        let in_module = |name: &str| module_env.iter().any(|(module, _)| module == name);
        let cgi = self.cgi_variables();
        let mut env: Vec<(String, String)> = module_env
            .iter()
            .filter(|(name, _)| from_client(name) || !cgi.iter().any(|(cgi, _)| cgi == name))
            .cloned()
            .collect();
        env.extend(
            cgi.into_iter()
                .filter(|(name, _)| !(from_client(name) && in_module(name))),
        );
        env
    }

    fn cgi_variables(&self) -> Vec<(String, String)> {
        let parts = self.parts;
        let facts = self.facts;
        let raw_path = parts.uri.path();
        let path = percent_decode_str(raw_path)
            .decode_utf8_lossy()
            .into_owned();
        let query = parts.uri.query().unwrap_or("");
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| header_text(&parts.headers, &HOST))
            .unwrap_or_default();
        let https = facts.over_tls;
        let scheme = if https { "https" } else { "http" };
        let (server_name, server_port) = split_authority(&authority, https);
        let remote = facts.client_ip.map(|ip| ip.to_string()).unwrap_or_default();

        let mut vars: Vec<(String, String)> = vec![
            ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
            (
                "SERVER_SOFTWARE".into(),
                concat!("wasmgate/", env!("CARGO_PKG_VERSION")).into(),
            ),
            ("SERVER_PROTOCOL".into(), format!("{:?}", parts.version)),
            ("SERVER_NAME".into(), server_name.to_owned()),
            ("SERVER_PORT".into(), server_port.to_owned()),
            ("REQUEST_METHOD".into(), parts.method.as_str().to_owned()),
            ("SCRIPT_NAME".into(), String::new()),
            ("PATH_INFO".into(), path.clone()),
            ("PATH_TRANSLATED".into(), path),
            ("X_RAW_PATH_INFO".into(), raw_path.to_owned()),
            ("QUERY_STRING".into(), query.to_owned()),
            ("CONTENT_LENGTH".into(), self.body_len.to_string()),
            ("REMOTE_ADDR".into(), remote.clone()),
            ("REMOTE_HOST".into(), remote),
            (
                "X_FULL_URL".into(),
                format!(
                    "{scheme}://{authority}{}",
                    display_path_and_query(&parts.uri)
                ),
            ),
            ("REQUEST_SCHEME".into(), scheme.into()),
            ("X_MATCHED_ROUTE".into(), facts.route.to_string()),
            ("X_REQUEST_ID".into(), facts.request_id.clone()),
        ];
        if https {
            vars.push(("HTTPS".into(), "on".into()));
        }
        if let Some(content_type) = header_text(&parts.headers, &CONTENT_TYPE) {
            vars.push(("CONTENT_TYPE".into(), content_type));
        }
        if let Some(principal) = &facts.principal {
            vars.push(("REMOTE_USER".into(), principal.clone()));
            vars.push(("X_PRINCIPAL".into(), principal.clone()));
        }
        for (name, value) in &facts.path_params {
            vars.push((format!("X_PARAM_{}", variable_suffix(name)), value.clone()));
        }
        for (name, value) in facts.stage_variables.iter() {
            vars.push((format!("X_STAGE_{}", variable_suffix(name)), value.clone()));
        }
        for (key, value) in &facts.authorizer_context {
            vars.push((
                format!("X_AUTHORIZER_{}", variable_suffix(key)),
                value.clone(),
            ));
        }
        for name in parts.headers.keys() {
            // RFC 3875 §4.1.18: these two are CONTENT_TYPE and CONTENT_LENGTH already. Only
            // names of letters, digits and `-` are passed (as nginx and Apache do): `X_User`
            // or `X.User` would otherwise pass for `X-User`, which a proxy in front may
            // vouch for, and two headers would make one variable.
            let plain = name
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if name == CONTENT_TYPE || name == CONTENT_LENGTH || !plain {
                continue;
            }
            let values: Vec<String> = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            vars.push((
                format!("HTTP_{}", variable_suffix(name.as_str())),
                values.join(", "),
            ));
        }
        vars
    }

    /// Refuses a request whose decoded path, path parameters or query arguments hold a NUL
    /// byte (`%00`): a C program would see them cut short there.
    pub fn refuse_nul_bytes(&self) -> Result<(), String> {
        let path = percent_decode_str(self.parts.uri.path()).collect::<Vec<u8>>();
        let nul = |text: &str| text.contains('\0');
        if path.contains(&0) {
            return Err("the decoded path holds a NUL byte".into());
        }
        if let Some((name, _)) = self.facts.path_params.iter().find(|(_, value)| nul(value)) {
            return Err(format!("the path parameter `{name}` holds a NUL byte"));
        }
        if self.arguments().iter().any(|argument| nul(argument)) {
            return Err("the decoded query holds a NUL byte".into());
        }
        Ok(())
    }

    /// The arguments: the path, then each `&`-separated part of the query, decoded (the
    /// WAGI convention, so a command reads `?a=1&b` as `argv = [path, "a=1", "b"]`).
    pub fn arguments(&self) -> Vec<String> {
        let path = percent_decode_str(self.parts.uri.path())
            .decode_utf8_lossy()
            .into_owned();
        let mut args = vec![path];
        if let Some(query) = self.parts.uri.query() {
            args.extend(
                query
                    .split('&')
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        percent_decode_str(&part.replace('+', " "))
                            .decode_utf8_lossy()
                            .into_owned()
                    }),
            );
        }
        args
    }
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn display_path_and_query(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// `host:port` → (`host`, `port`), the scheme's port (443 over TLS, else 80) when absent;
/// IPv6 literals keep brackets.
fn split_authority(authority: &str, https: bool) -> (&str, &str) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, port)
        }
        _ => (authority, if https { "443" } else { "80" }),
    }
}

/// A name as the tail of a variable name: upper case, anything but letters and digits `_`.
fn variable_suffix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A response parsed from CGI output.
#[derive(Debug)]
pub(super) struct CgiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Headers the gateway sets itself from the parsed body, never taken from a module.
/// (The ones a `wasi:http` component may not set either, plus `Content-Length`.)
fn gateway_owned(name: &HeaderName) -> bool {
    name == CONTENT_LENGTH || wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name)
}

/// Parses a module's stdout: header lines (`Name: value`, ending in `\n` or `\r\n`), a blank
/// line, the body. `Status: 404 Not Found` sets the status; a `Location` without one makes
/// it a 302; at least one of `Content-Type`, `Location` or `Status` is required. The error
/// says what is wrong, for the 502 and the log.
pub(super) fn parse_response(output: Bytes) -> Result<CgiResponse, String> {
    if output.is_empty() {
        return Err("the module wrote nothing to stdout (a CGI response starts with headers such as `content-type: text/plain`, then a blank line)".into());
    }
    let (head_len, body_start) = find_blank_line(&output).ok_or_else(|| {
        "the module's output has no blank line ending its headers (CGI output is headers, a blank line, then the body)".to_owned()
    })?;
    let head = std::str::from_utf8(&output[..head_len])
        .map_err(|_| "the module's output headers are not valid UTF-8".to_owned())?;

    let mut status = None;
    let mut headers = HeaderMap::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            format!(
                "the module's output header line `{}` has no `:`",
                clip(line)
            )
        })?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            status = Some(parse_status(value)?);
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            format!(
                "`{}` in the module's output is not a header name",
                clip(name)
            )
        })?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| format!("the module's output header `{name}` has an invalid value"))?;
        if !gateway_owned(&name) {
            headers.append(name, value);
        }
    }
    let status = match status {
        Some(status) => status,
        None if headers.contains_key(LOCATION) => StatusCode::FOUND,
        None if headers.contains_key(CONTENT_TYPE) => StatusCode::OK,
        None => {
            return Err(
                "the module's output headers have none of `content-type`, `location` or `status`"
                    .into(),
            );
        }
    };
    Ok(CgiResponse {
        status,
        headers,
        body: output.slice(body_start..),
    })
}

/// Where the header section ends: (its length, where the body starts).
fn find_blank_line(output: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    for (i, &byte) in output.iter().enumerate() {
        if byte != b'\n' {
            continue;
        }
        let line = &output[line_start..i];
        if line.is_empty() || line == b"\r" {
            return Some((line_start, i + 1));
        }
        line_start = i + 1;
    }
    None
}

fn parse_status(value: &str) -> Result<StatusCode, String> {
    let code = value.split_whitespace().next().unwrap_or("");
    code.parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|status| status.as_u16() >= 200)
        .ok_or_else(|| {
            format!(
                "`Status: {}` in the module's output is not a status code from 200 to 999",
                clip(value)
            )
        })
}

/// The start of a long value, for a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[path = "cgi_tests.rs"]
mod tests;
