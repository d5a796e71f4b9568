//! Connections per client: one client (an IPv4 address, an IPv6 /64) may hold at most so
//! many of the server's connections, so it cannot take every slot of `--max-connections`.
//! Trusted proxies and loopback peers (a reverse proxy or a health check on this host),
//! through which many clients may come, are exempt.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use crate::config::TrustedProxies;

/// The address a client is counted under: an IPv4 address as it is (IPv4-mapped IPv6
/// too); an IPv6 address cut to its first `ipv6_prefix` bits (its network: a client can
/// change addresses within it at will).
pub fn client_network(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(ipv6_prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Open connections by client.
pub(super) struct ClientConnections {
    /// Most connections per client; 0: no limit.
    limit: usize,
    exempt: TrustedProxies,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One client's connection, counted until dropped.
pub(super) struct ClientSlot {
    clients: Arc<ClientConnections>,
    key: Option<IpAddr>,
}

impl ClientConnections {
    pub(super) fn new(limit: usize, exempt: TrustedProxies) -> Arc<Self> {
        Arc::new(ClientConnections {
            limit,
            exempt,
            open: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A slot for a connection from `peer`, or `None` when the client has its limit.
    pub(super) fn enter(self: &Arc<Self>, peer: IpAddr) -> Option<ClientSlot> {
        if self.limit == 0 || peer.to_canonical().is_loopback() || self.exempt.contains(&peer) {
            return Some(ClientSlot {
                clients: self.clone(),
                key: None,
            });
        }
        let key = client_network(peer, 64);
        let mut open = self.lock();
        let count = open.entry(key).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: self.clone(),
            key: Some(key),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut open = self.clients.lock();
        if let Some(count) = open.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_gets_its_share_and_gives_it_back() {
        let clients = ClientConnections::new(2, TrustedProxies::default());
        let a: IpAddr = "203.0.113.1".parse().expect("ip");
        let first = clients.enter(a).expect("first");
        let _second = clients.enter(a).expect("second");
        assert!(clients.enter(a).is_none());
        assert!(clients.enter("203.0.113.2".parse().expect("ip")).is_some());
        // One /64 is one client.
        let v6 = |ip: &str| clients.enter(ip.parse().expect("ip"));
        let _x = v6("2001:db8:1:2::1").expect("x");
        let _y = v6("2001:db8:1:2::ffff").expect("y");
        assert!(v6("2001:db8:1:2:abcd::1").is_none());
        drop(first);
        assert!(clients.enter(a).is_some());
    }

    #[test]
    fn trusted_proxies_and_loopback_are_not_counted() {
        let exempt = TrustedProxies::parse(&["10.0.0.0/8".to_owned()]).expect("valid");
        let clients = ClientConnections::new(1, exempt);
        for peer in ["10.1.2.3", "127.0.0.1", "::1"] {
            let peer: IpAddr = peer.parse().expect("ip");
            let held: Vec<_> = (0..5).filter_map(|_| clients.enter(peer)).collect();
            assert_eq!(held.len(), 5, "{peer}");
        }
    }
}
