//! `[gateway] trusted_proxies`: the networks of the load balancers in front of the gateway.
//! Only a request whose connection comes from one of them may say who the client is
//! (`Forwarded`, `X-Forwarded-For`); from anyone else those headers are ignored.

use std::net::IpAddr;

use ipnet::IpNet;

/// The trusted proxies' networks; empty: trust none (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// Most networks a manifest may list.
const MAX_NETWORKS: usize = 256;

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (`192.0.2.7`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        if entries.len() > MAX_NETWORKS {
            return Err(format!("at most {MAX_NETWORKS} networks"));
        }
        let networks = entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("`{entry}` is not a network (CIDR) or an address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies(networks))
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
