//! Client addresses: who the client is behind a load balancer, and what
//! the system may keep of the address (never the whole: heartbeats and
//! request logs keep the /24 (IPv4) or /48 (IPv6) only).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// A network in configuration: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Network(IpNet);

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(Network)
            .map_err(|_| format!("`{s}` is not an address or a network such as 10.0.0.0/8"))
    }
}

impl TryFrom<String> for Network {
    type Error = String;
    fn try_from(s: String) -> Result<Network, String> {
        s.parse()
    }
}

impl From<Network> for String {
    fn from(n: Network) -> String {
        n.to_string()
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The client's address. A request straight from a client is its socket's
/// address. From a trusted proxy it is the nearest address in
/// `X-Forwarded-For` (read right to left, each proxy appending the address
/// it saw) that is not itself a trusted proxy: entries further left were
/// written by the client and prove nothing. An entry that is not an address
/// stops the walk at the hop that wrote it.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[Network],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    for entry in forwarded_for.rev().flat_map(|h| h.split(',').rev()) {
        let Some(ip) = parse_hop(entry) else {
            return client;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            return client;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// IPv4 addresses keep their /24, IPv6 their /48; the rest is never stored.
pub fn ip_prefix(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn networks_parse_with_or_without_a_prefix() {
        assert_eq!(nets(&["10.0.0.0/8", "127.0.0.1", "fd00::/8"]).len(), 3);
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nginx".parse::<Network>().is_err());
        let n: Network = "127.0.0.1".parse().unwrap_or(Network(IpNet::default()));
        assert!(n.contains(ip("::ffff:127.0.0.1")));
        assert!(!n.contains(ip("127.0.0.2")));
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let from = |peer: &str, headers: &[&str]| {
            client_ip(ip(peer), headers.iter().copied(), &trusted).to_string()
        };
        // Not through a proxy: the header is the client's own word.
        assert_eq!(from("198.51.100.7", &["203.0.113.9"]), "198.51.100.7");
        // Through one proxy.
        assert_eq!(from("127.0.0.1", &["203.0.113.9"]), "203.0.113.9");
        // A forged entry to the left of the real one is ignored.
        assert_eq!(from("127.0.0.1", &["6.6.6.6, 203.0.113.9"]), "203.0.113.9");
        // Two proxies, the header repeated, a port on one entry.
        assert_eq!(
            from("127.0.0.1", &["6.6.6.6, 203.0.113.9:4711", "10.1.2.3"]),
            "203.0.113.9"
        );
        // Garbage stops at the proxy that passed it on.
        assert_eq!(from("127.0.0.1", &["203.0.113.9, junk"]), "127.0.0.1");
        // Nothing forwarded: the proxy itself.
        assert_eq!(from("127.0.0.1", &[]), "127.0.0.1");
        // With nothing trusted the socket's address always wins.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["203.0.113.9"].into_iter(), &[]).to_string(),
            "127.0.0.1"
        );
    }

    #[test]
    fn ips_are_truncated() {
        assert_eq!(ip_prefix(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(ip_prefix(ip("2001:db8:abcd:12::1")), "2001:db8:abcd::/48");
        assert_eq!(ip_prefix(ip("::ffff:10.1.2.3")), "10.1.2.0/24");
    }
}
