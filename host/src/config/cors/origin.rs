//! Allowed origins as written (`https://app.example`, `https://*.example.com`, `*`), and
//! matching a request's `Origin` against them.
//!
//! Origins are compared as browsers serialise them (RFC 6454): a lowercase scheme and host,
//! and no port when it is the scheme's default. Patterns are normalised the same way when
//! they are read, so `HTTPS://App.Example:443` allows what browsers send as
//! `https://app.example`.

use std::net::Ipv6Addr;

/// The longest origin considered, pattern or request header (a host name is at most 253
/// characters).
pub const MAX_ORIGIN_LEN: usize = 300;

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// Exactly this origin, normalised.
    Exact(String),
    /// Any subdomain (one label or more) of a domain: `https://*.example.com`.
    Subdomains {
        /// `https`.
        scheme: String,
        /// `.example.com`.
        suffix: String,
        /// A port other than the scheme's default.
        port: Option<u16>,
    },
}

impl OriginPattern {
    /// Reads one pattern; the message says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_ORIGIN_LEN {
            return Err(format!("an origin is at most {MAX_ORIGIN_LEN} characters"));
        }
        if text == "null" {
            return Err(
                "`null` is the origin of sandboxed frames and local files, which any \
                        site can produce: it cannot be allowed"
                    .into(),
            );
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!(
                "`{text}` is not an origin: write a scheme, a host and an optional port, like \
                 `https://app.example` or `https://*.example.com`"
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        if !valid_scheme(&scheme) {
            return Err(format!("`{text}` has no valid scheme"));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "`{text}` has a path: an origin is a scheme, a host and a port, like `{scheme}://{}`",
                rest.split(['/', '?', '#']).next().unwrap_or_default()
            ));
        }
        let (host, port) = split_port(rest, &scheme)
            .ok_or_else(|| format!("`{text}` has an invalid port (1 to 65535)"))?;
        let host = host.to_ascii_lowercase();
        match host.strip_prefix("*.") {
            Some(domain) => {
                if !valid_domain(domain) || !domain.contains('.') {
                    return Err(format!(
                        "`{text}`: a wildcard stands for subdomains of a domain with at least \
                         two labels, like `https://*.example.com`"
                    ));
                }
                Ok(OriginPattern::Subdomains {
                    scheme,
                    suffix: format!(".{domain}"),
                    port,
                })
            }
            None if valid_host(&host) => Ok(OriginPattern::Exact(serialise(&scheme, &host, port))),
            None => Err(format!("`{text}` has no valid host name or address")),
        }
    }

    /// Whether `origin` (a request's `Origin`, as sent) is this one.
    pub fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Exact(allowed) => allowed.eq_ignore_ascii_case(origin),
            OriginPattern::Subdomains {
                scheme,
                suffix,
                port,
            } => {
                let Some((their_scheme, rest)) = origin.split_once("://") else {
                    return false;
                };
                let Some((host, their_port)) = split_port(rest, scheme) else {
                    return false;
                };
                their_scheme.eq_ignore_ascii_case(scheme)
                    && their_port == *port
                    && host.len() > suffix.len()
                    && host.is_char_boundary(host.len() - suffix.len())
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                    && valid_domain(&host[..host.len() - suffix.len()])
            }
        }
    }
}

/// `scheme://host[:port]`, the port left out when it is the scheme's default.
fn serialise(scheme: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// The host and the port of `host[:port]`; the scheme's default port becomes `None`.
/// `None` for a port that is not 1 to 65535.
fn split_port<'a>(rest: &'a str, scheme: &str) -> Option<(&'a str, Option<u16>)> {
    // An IPv6 literal's colons are inside its brackets.
    let port_colon = match rest.rfind(']') {
        Some(end) => rest[end..].find(':').map(|i| end + i),
        None => rest.rfind(':'),
    };
    let Some(colon) = port_colon else {
        return Some((rest, None));
    };
    let digits = &rest[colon + 1..];
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = digits.parse().ok().filter(|port| *port != 0)?;
    let default = match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    Some((&rest[..colon], (default != Some(port)).then_some(port)))
}

/// `[a-z][a-z0-9+.-]*` (RFC 3986), lowercase already.
fn valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b))
}

/// A domain name, an IPv4 address or a bracketed IPv6 address.
fn valid_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => valid_domain(host),
    }
}

/// Dot-separated labels of letters, digits and `-`, none empty, at most 253 characters.
fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::OriginPattern;

    fn allows(pattern: &str, origin: &str) -> bool {
        OriginPattern::parse(pattern)
            .expect("valid")
            .matches(origin)
    }

    #[test]
    fn exact_origins_are_normalised_as_browsers_send_them() {
        assert!(allows("https://app.example", "https://app.example"));
        assert!(allows("HTTPS://App.Example:443", "https://app.example"));
        assert!(allows("http://localhost:3000", "http://localhost:3000"));
        assert!(allows("http://[::1]:8080", "http://[::1]:8080"));
        assert!(!allows("https://app.example", "http://app.example"));
        assert!(!allows("https://app.example", "https://app.example:8443"));
        assert!(!allows("https://app.example", "https://app.example.evil"));
    }

    #[test]
    fn a_wildcard_allows_subdomains_only() {
        assert!(allows("https://*.example.com", "https://a.example.com"));
        assert!(allows("https://*.example.com", "https://a.b.example.com"));
        assert!(!allows("https://*.example.com", "https://example.com"));
        assert!(!allows("https://*.example.com", "https://evilexample.com"));
        assert!(!allows("https://*.example.com", "http://a.example.com"));
        assert!(!allows(
            "https://*.example.com",
            "https://a.example.com:8443"
        ));
        assert!(!allows("https://*.example.com", "https://a..example.com"));
        assert!(!allows("https://*.example.com", "https://a b.example.com"));
        assert!(allows(
            "https://*.example.com:8443",
            "https://a.example.com:8443"
        ));
    }

    #[test]
    fn what_is_not_an_origin_is_refused_with_a_reason() {
        for (pattern, says) in [
            ("null", "cannot be allowed"),
            ("app.example", "is not an origin"),
            ("https://app.example/", "has a path"),
            ("https://app.example/api", "has a path"),
            ("https://app.example:0", "invalid port"),
            ("https://app.example:65536", "invalid port"),
            ("https://*.com", "at least two labels"),
            ("https://a.*.example.com", "no valid host"),
            ("https://exa mple.com", "no valid host"),
            ("1http://app.example", "no valid scheme"),
        ] {
            let message = OriginPattern::parse(pattern).expect_err("invalid");
            assert!(message.contains(says), "{pattern}: {message}");
        }
        assert!(OriginPattern::parse(&format!("https://{}.example", "a".repeat(300))).is_err());
    }
}
