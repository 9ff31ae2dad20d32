//! Client addresses as the system may keep them: never whole. Heartbeats and
//! request logs keep the /24 (IPv4) or /48 (IPv6) only.

use std::net::IpAddr;

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

    #[test]
    fn ips_are_truncated() {
        assert_eq!(ip_prefix(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(ip_prefix(ip("2001:db8:abcd:12::1")), "2001:db8:abcd::/48");
        assert_eq!(ip_prefix(ip("::ffff:10.1.2.3")), "10.1.2.0/24");
    }
}
