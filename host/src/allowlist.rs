//! Allowed outbound origins of a module (`allowed_outbound_hosts`): parsing, and the check
//! of one request's target. Internal targets — loopback, link-local, private (RFC 1918),
//! shared (CGNAT, `100.64.0.0/10`), unique-local IPv6 (`fc00::/7`, AWS's IPv6 metadata
//! `fd00:ec2::254`), "this host", multicast and broadcast, and this machine's own interface
//! addresses (`localhost`, `127.0.0.1`, `169.254.169.254`, `10.0.0.5`…) — pass only when an
//! entry names them exactly: a `*` host never covers them, in any spelling (IPv4-mapped,
//! v4-compatible, NAT64, 6to4), even through a name that resolves to one. A request that
//! only a `*` allows may then connect only to the addresses checked
//! ([`Destination::Vetted`]), so a second DNS answer cannot send it elsewhere.
//! `runtime/outbound.rs` applies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where an allowed request may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An entry names the host: connect to it by name.
    Named,
    /// Only a `*` entry allows it: connect only to these addresses, which were checked
    /// (resolving the name again could give others: DNS rebinding).
    Vetted(Vec<SocketAddr>),
}

/// Why a request may not be sent.
#[derive(Debug)]
pub enum Refusal {
    /// The allow-list does not permit it; the reason, for the log.
    Denied(String),
    /// Only a `*` entry could permit it, and its name has no address.
    Unresolved(std::io::Error),
}

/// One allowed origin: a scheme, a host (or `*`), and a port (`None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: Option<String>,
    port: Option<u16>,
}

/// A module's allowed outbound origins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    origins: Vec<Origin>,
}

impl AllowList {
    /// Parses entries like `https://api.example.com` (port 443), `http://127.0.0.1:8080`,
    /// `https://*` (any host, port 443) or `http://*:*` (any host and port).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let origins = entries
            .iter()
            .map(|entry| {
                let (scheme, rest) = entry
                    .split_once("://")
                    .ok_or_else(|| format!("`{entry}` is not `scheme://host[:port]`"))?;
                let https = match scheme {
                    "https" => true,
                    "http" => false,
                    _ => return Err(format!("`{entry}`: the scheme is http or https")),
                };
                if rest.contains('/') {
                    return Err(format!("`{entry}`: an origin has no path"));
                }
                // No port: the scheme's default one; `:*`: any port.
                let default_port = if https { 443 } else { 80 };
                let (host, port) = match rest.rsplit_once(':') {
                    Some((host, "*")) => (host, None),
                    // `[::1]:8080` has a port; `[::1]` (split inside the brackets) has not.
                    Some((host, port)) if !rest.starts_with('[') || host.ends_with(']') => {
                        let port = port
                            .parse::<u16>()
                            .map_err(|_| format!("`{entry}`: `{port}` is not a port"))?;
                        (host, Some(port))
                    }
                    _ => (rest, Some(default_port)),
                };
                if host.is_empty() {
                    return Err(format!("`{entry}` names no host"));
                }
                let host = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase();
                Ok(Origin {
                    https,
                    host: (host != "*").then_some(host),
                    port,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(AllowList { origins })
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Checks a request's target: where it may connect, or why it is refused. Only a
    /// request that a `*` entry alone allows needs a DNS lookup.
    pub async fn check(&self, uri: &http::Uri) -> Result<Destination, Refusal> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(Refusal::Denied(format!(
                    "the scheme {other:?} is not http(s)"
                )));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| Refusal::Denied("the request has no host".to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let matching = |exact: bool| {
            self.origins.iter().any(|o| {
                o.https == https
                    && o.port.is_none_or(|p| p == port)
                    && match &o.host {
                        Some(h) => *h == host,
                        None => !exact,
                    }
            })
        };
        if matching(true) {
            // Named exactly: allowed, loopback or not.
            return Ok(Destination::Named);
        }
        if !matching(false) {
            return Err(Refusal::Denied(format!(
                "{host}:{port} is not in the module's allowed_outbound_hosts"
            )));
        }
        // Allowed by a `*` entry: never a loopback or link-local target.
        if host == "localhost" || host.ends_with(".localhost") {
            return Err(Refusal::Denied(format!(
                "{host} is loopback: list it explicitly to allow it"
            )));
        }
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(Refusal::Unresolved)?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(Refusal::Unresolved(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("{host} has no address"),
            )));
        }
        let own = own_addresses();
        if let Some(address) = addresses
            .iter()
            .find(|a| is_internal(&a.ip()) || own.contains(&a.ip().to_canonical()))
        {
            return Err(Refusal::Denied(format!(
                "{host} is {}, an internal address (loopback, link-local, private, shared, \
                 unique-local or this host's own): list it explicitly to allow it",
                address.ip()
            )));
        }
        Ok(Destination::Vetted(addresses))
    }
}

/// Loopback, link-local, "this host" (`0.0.0.0/8`, which Linux connects to loopback),
/// private, shared (CGNAT), multicast or broadcast; for IPv6 also unique-local and the old
/// site-local. Also when an IPv4 address is written as IPv6: v4-mapped (`::ffff:0.0.0.0`
/// reaches loopback too), v4-compatible, NAT64 or 6to4.
fn is_internal(ip: &IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [first, second, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_link_local()
                || first == 0
                || v4.is_private()
                // Shared address space (RFC 6598), which carriers and clouds use inside.
                || (first == 100 && (second & 0xc0) == 64)
                || v4.is_multicast()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unicast_link_local()
                || v6.is_unique_local()
                // Site-local (`fec0::/10`): deprecated, still routed inside some networks.
                || (v6.segments()[0] & 0xffc0) == 0xfec0
                || v6.is_multicast()
                || embedded_ipv4(&v6).is_some_and(|v4| is_internal(&IpAddr::V4(v4)))
        }
    }
}

/// This machine's own interface addresses (a public one included): a guest given `*` must
/// not reach the gateway's own services through them. Read at each check, so a new
/// address counts at once (only requests that a `*` alone allows get here).
fn own_addresses() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .iter()
            .map(|interface| interface.ip().to_canonical())
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot list this host's addresses");
            Vec::new()
        }
    }
}

/// The IPv4 address an IPv6 address stands for, where one does: v4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`).
fn embedded_ipv4(v6: &Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(low),
        [0x2002, high, next, ..] => Some(Ipv4Addr::new(
            (high >> 8) as u8,
            high as u8,
            (next >> 8) as u8,
            next as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).expect("valid")
    }

    async fn allowed(list: &AllowList, uri: &str) -> bool {
        list.check(&uri.parse().expect("uri")).await.is_ok()
    }

    /// Checks each `(uri, allowed)` against the list of `entries`.
    async fn assert_verdicts(entries: &[&str], cases: &[(&str, bool)]) {
        let list = list(entries);
        for &(uri, expected) in cases {
            assert_eq!(allowed(&list, uri).await, expected, "{uri}");
        }
    }

    #[tokio::test]
    async fn origins_match_scheme_host_and_port() {
        let entries = ["https://api.example.com", "http://127.0.0.1:8080"];
        let cases = [
            ("https://api.example.com/v1", true),
            ("https://API.example.com:443/", true),
            ("http://api.example.com/", false),
            ("https://api.example.com:8443/", false),
            ("https://evil.example.com/", false),
            ("http://127.0.0.1:8080/x", true),
            ("http://127.0.0.1:8081/x", false),
        ];
        assert_verdicts(&entries, &cases).await;
        assert!(!allowed(&AllowList::default(), "https://api.example.com/").await);
    }

    #[tokio::test]
    async fn wildcards_never_reach_loopback_or_link_local() {
        let l = list(&["http://*:*", "https://*"]);
        assert!(allowed(&l, "http://93.184.216.34/").await);
        // Only to the address checked.
        assert_eq!(
            l.check(&"https://93.184.216.34/x".parse().expect("uri"))
                .await
                .ok(),
            Some(Destination::Vetted(vec![
                "93.184.216.34:443".parse().expect("addr")
            ]))
        );
        let exact = list(&["http://127.0.0.1:8080"]);
        assert_eq!(
            exact
                .check(&"http://127.0.0.1:8080/".parse().expect("uri"))
                .await
                .ok(),
            Some(Destination::Named)
        );
        for internal in [
            "http://127.0.0.1/",
            "http://localhost:9080/",
            "http://127.0.0.1:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://0.1.2.3/",
            "http://[::ffff:0.0.0.0]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fe80::1]/",
            // Private, shared and unique-local ranges, in their IPv6 spellings too.
            "http://10.0.0.1/",
            "http://10.255.255.255:8080/",
            "http://172.16.0.1/",
            "http://172.31.255.254/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://100.127.255.254/",
            "http://[::ffff:10.0.0.1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:c0a8:101::]/",
            "http://[fd00:ec2::254]/",
            "http://[fc00::1]/",
            "http://[fec0::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[ff02::1]/",
        ] {
            assert!(!allowed(&l, internal).await, "{internal}");
        }
        // Neighbours of those ranges stay public.
        for public in [
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://11.0.0.1/",
            "http://[fe00::1]/",
        ] {
            assert!(allowed(&l, public).await, "{public}");
        }
    }

    #[tokio::test]
    async fn wildcards_never_reach_this_hosts_own_addresses() {
        let l = list(&["http://*:*"]);
        for own in own_addresses() {
            let uri = match own {
                IpAddr::V4(v4) => format!("http://{v4}/"),
                IpAddr::V6(v6) => format!("http://[{v6}]/"),
            };
            assert!(!allowed(&l, &uri).await, "{uri}");
            // Named exactly, it is allowed.
            let host = uri.trim_start_matches("http://").trim_end_matches('/');
            let exact = list(&[&format!("http://{host}")]);
            assert!(allowed(&exact, &uri).await, "{uri}");
        }
    }

    #[tokio::test]
    async fn a_wildcard_name_without_an_address_is_unresolved_not_denied() {
        let l = list(&["http://*:*"]);
        // `.invalid` never resolves (RFC 6761).
        let checked = l
            .check(&"http://no-such-host.invalid/".parse().expect("uri"))
            .await;
        assert!(
            matches!(checked, Err(Refusal::Unresolved(_))),
            "{checked:?}"
        );
        let checked = l.check(&"ftp://x/".parse().expect("uri")).await;
        assert!(matches!(checked, Err(Refusal::Denied(_))), "{checked:?}");
    }

    #[tokio::test]
    async fn ipv6_entries_with_and_without_a_port() {
        let cases = [
            ("http://[::1]/", true),
            ("http://[::1]:8080/", true),
            ("http://[::1]:8081/", false),
        ];
        assert_verdicts(&["http://[::1]", "http://[::1]:8080"], &cases).await;
        // Public addresses written as IPv6 stay reachable through `*`.
        let wildcard = list(&["http://*:*"]);
        assert!(allowed(&wildcard, "http://[::ffff:93.184.216.34]/").await);
        assert!(allowed(&wildcard, "http://[2606:2800:220:1::]/").await);
    }

    #[test]
    fn bad_entries_say_why() {
        for entry in [
            "api.example.com",
            "ftp://x",
            "https://x/path",
            "https://x:port",
            "https://",
        ] {
            assert!(AllowList::parse(&[entry.to_string()]).is_err(), "{entry}");
        }
    }
}
