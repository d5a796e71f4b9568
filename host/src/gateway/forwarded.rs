//! The client's address behind trusted proxies: when the connection comes from a trusted
//! proxy (`[gateway] trusted_proxies`), the client is the rightmost address in `Forwarded`
//! (RFC 7239 `for=`), else in `X-Forwarded-For`, that is not itself a trusted proxy —
//! the hops left of it are whatever the client wrote, so only what the proxies appended is
//! believed. From any other peer those headers are ignored.

use std::net::IpAddr;

use http::HeaderMap;

use crate::config::TrustedProxies;

/// Most hops read from the headers, from the right.
const MAX_HOPS: usize = 32;

/// The client's address, given the connection's `peer`.
pub(super) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    if trusted.is_empty() || !trusted.contains(&peer) {
        return peer;
    }
    let hops = match forwarded_for(headers) {
        Some(hops) => hops,
        None => x_forwarded_for(headers),
    };
    let mut client = peer;
    for hop in hops.into_iter().rev().take(MAX_HOPS) {
        // A hop that is not an address (`unknown`, an obfuscated name) ends what can be
        // believed.
        let Some(ip) = hop else {
            break;
        };
        client = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    client
}

/// The `for=` addresses of every `Forwarded` header, left to right; `None` without one.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all(http::header::FORWARDED).iter().peekable();
    values.peek()?;
    let mut hops = Vec::new();
    for value in values {
        let Ok(text) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in text.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then_some(value.trim())
            });
            if let Some(node) = node {
                hops.push(parse_node(node.trim_matches('"')));
            }
        }
    }
    Some(hops)
}

/// The addresses of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| {
            let text = value.to_str().unwrap_or("");
            text.split(',')
                .map(|hop| parse_node(hop.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// An address from `192.0.2.7`, `192.0.2.7:4711`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&nets.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("valid")
    }

    fn client(peer: &str, headers: &[(&str, &str)], nets: &[&str]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        client_ip(peer.parse().expect("peer"), &map, &trusted(nets)).to_string()
    }

    #[test]
    fn only_trusted_peers_may_say_who_the_client_is() {
        let xff = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(client("10.0.0.2", &xff, &[]), "10.0.0.2");
        assert_eq!(client("192.0.2.1", &xff, &["10.0.0.0/8"]), "192.0.2.1");
        assert_eq!(client("10.0.0.2", &xff, &["10.0.0.0/8"]), "203.0.113.9");
    }

    /// Checks, for each `(headers, client)`, that a request with `headers` from the proxy
    /// `10.0.0.2` is from `client`.
    fn assert_clients(nets: &[&str], cases: &[(&[(&str, &str)], &str)]) {
        for (headers, expected) in cases {
            assert_eq!(client("10.0.0.2", headers, nets), *expected, "{headers:?}");
        }
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let xff = "x-forwarded-for";
        assert_clients(
            &["10.0.0.0/8", "192.168.1.1"],
            &[
                // The client wrote `1.1.1.1` itself; the proxies appended the rest.
                (&[(xff, "1.1.1.1, 203.0.113.9, 192.168.1.1")], "203.0.113.9"),
                // Several headers count as one list.
                (
                    &[(xff, "1.1.1.1"), (xff, "203.0.113.9, 10.1.1.1")],
                    "203.0.113.9",
                ),
                // Only proxies: the leftmost of them.
                (&[(xff, "10.2.2.2, 10.1.1.1")], "10.2.2.2"),
                // Garbage stops the walk at what could be believed.
                (&[(xff, "203.0.113.9, not-an-ip, 10.1.1.1")], "10.1.1.1"),
            ],
        );
    }

    #[test]
    fn forwarded_wins_and_its_forms_are_read() {
        let both = [
            (
                "forwarded",
                "for=198.51.100.17;proto=https, for=\"[2001:db8::1]:4711\"",
            ),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_clients(
            &["10.0.0.0/8"],
            &[
                (&both, "2001:db8::1"),
                (
                    &[("forwarded", "For=\"192.0.2.60:8080\";by=10.0.0.1")],
                    "192.0.2.60",
                ),
                (
                    &[("forwarded", "for=198.51.100.17, for=unknown")],
                    "10.0.0.2",
                ),
            ],
        );
    }
}
