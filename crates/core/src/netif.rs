//! Which network interfaces count as "the LAN", and which address guests get.
//!
//! Invites and `ws` URLs carry one address, so it has to be one a friend's
//! machine can reach: a routable IPv4 address of a real interface, not loopback,
//! link-local, or a container bridge or VPN tunnel (told apart by name, as well as
//! that can be done portably).

use std::net::{IpAddr, Ipv4Addr};

/// An interface and one of its addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LanAddress {
    pub interface: String,
    pub ip: IpAddr,
}

/// Name prefixes of virtual interfaces that are not the user's LAN.
const VIRTUAL_PREFIXES: &[&str] = &[
    "docker",
    "br-",
    "veth",
    "virbr",
    "vboxnet",
    "vmnet",
    "tun",
    "tap",
    "wg",
    "utun",
    "zt",
    "tailscale",
    "ts",
    "ppp",
    "ipsec",
    "lxc",
    "lxd",
    "cni",
    "flannel",
    "podman",
    "awdl",
    "llw",
    "anpi",
    "gif",
    "stf",
    "bridge100",
];

/// Whether an interface name looks like a container bridge, VM network or VPN.
pub(crate) fn is_virtual(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    VIRTUAL_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Whether discovery and invites may use an interface. With `only` non-empty,
/// exactly those interfaces (even virtual ones: the user asked); otherwise every
/// non-loopback, non-virtual interface. mDNS uses the same rule, so a node
/// announces where its invites point.
pub(crate) fn is_lan_interface(name: &str, loopback: bool, only: &[String]) -> bool {
    !loopback
        && if only.is_empty() {
            !is_virtual(name)
        } else {
            only.iter().any(|n| n == name)
        }
}

/// Addresses of the interfaces discovery and invites may use
/// (see [`is_lan_interface`]).
pub(crate) fn lan_addresses(only: &[String]) -> Vec<LanAddress> {
    let Ok(all) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|i| is_lan_interface(&i.name, i.is_loopback(), only))
        .map(|i| LanAddress {
            ip: i.ip(),
            interface: i.name,
        })
        .collect()
}

/// The IPv4 networks (address, netmask) this machine is on, loopback excluded:
/// an address of another node inside one of them is reachable without a router.
pub(crate) fn ipv4_networks() -> Vec<(Ipv4Addr, Ipv4Addr)> {
    let Ok(all) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => Some((v4.ip, v4.netmask)),
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect()
}

/// Of the addresses another node announced, the one to reach it at: an IPv4
/// address on one of `networks`, else any routable IPv4 address, else a
/// non-link-local IPv6 address (a link-local one needs a scope a URL cannot
/// carry portably). `None` when nothing usable was announced.
pub(crate) fn reachable(
    candidates: &[IpAddr],
    networks: &[(Ipv4Addr, Ipv4Addr)],
) -> Option<IpAddr> {
    let usable_v4 = |ip: &Ipv4Addr| {
        !ip.is_loopback()
            && !ip.is_link_local()
            && !ip.is_unspecified()
            && !ip.is_multicast()
            && !ip.is_broadcast()
    };
    let on_link = |ip: &Ipv4Addr| {
        networks.iter().any(|(net, mask)| {
            u32::from(*ip) & u32::from(*mask) == u32::from(*net) & u32::from(*mask)
        })
    };
    let mut v4: Vec<Ipv4Addr> = candidates
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) if usable_v4(v4) => Some(*v4),
            _ => None,
        })
        .collect();
    // Stable choice whatever order the announcements came in.
    v4.sort();
    if let Some(ip) = v4.iter().find(|ip| on_link(ip)).or(v4.first()) {
        return Some(IpAddr::V4(*ip));
    }
    let mut v6: Vec<_> = candidates
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V6(v6)
                if (v6.segments()[0] & 0xffc0) != 0xfe80
                    && !v6.is_loopback()
                    && !v6.is_unspecified()
                    && !v6.is_multicast() =>
            {
                Some(*v6)
            }
            _ => None,
        })
        .collect();
    v6.sort();
    v6.first().map(|ip| IpAddr::V6(*ip))
}

/// An IPv4 address another machine on the LAN can reach: not loopback,
/// link-local or unspecified.
pub(crate) fn is_routable_v4(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if !v4.is_link_local() && !v4.is_loopback() && !v4.is_unspecified())
}

/// The address to put in invites: the first routable IPv4 address, else any
/// non-link-local address, else loopback (a node alone on a machine).
pub(crate) fn preferred(addresses: &[LanAddress]) -> IpAddr {
    addresses
        .iter()
        .map(|a| a.ip)
        .find(is_routable_v4)
        .or_else(|| {
            addresses.iter().map(|a| a.ip).find(|ip| match ip {
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80 && !v6.is_loopback(),
                IpAddr::V4(_) => false,
            })
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// `host:port` for a URL: IPv6 addresses need brackets.
pub(crate) fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(interface: &str, ip: &str) -> LanAddress {
        LanAddress {
            interface: interface.into(),
            ip: ip.parse().unwrap(),
        }
    }

    #[test]
    fn prefers_routable_ipv4() {
        let list = [
            addr("eth0", "fe80::1"),
            addr("eth0", "169.254.3.3"),
            addr("eth0", "192.168.1.20"),
        ];
        assert_eq!(preferred(&list), "192.168.1.20".parse::<IpAddr>().unwrap());
        let v6_only = [addr("eth0", "fe80::1"), addr("eth0", "fd00::5")];
        assert_eq!(preferred(&v6_only), "fd00::5".parse::<IpAddr>().unwrap());
        assert_eq!(preferred(&[]), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn tells_virtual_interfaces_apart() {
        for name in [
            "docker0",
            "br-1a2b",
            "veth12",
            "tun0",
            "wg0",
            "tailscale0",
            "utun3",
        ] {
            assert!(is_virtual(name), "{name}");
        }
        for name in ["eth0", "enp3s0", "wlan0", "wlp2s0", "en0", "lan0"] {
            assert!(!is_virtual(name), "{name}");
        }
    }

    #[test]
    fn reaches_other_nodes_on_our_network_first() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let nets = [(
            "10.1.0.7".parse().unwrap(),
            "255.255.255.0".parse().unwrap(),
        )];
        let announced = [
            ip("fe80::1"),
            ip("192.168.5.5"),
            ip("10.1.0.9"),
            ip("169.254.1.1"),
        ];
        assert_eq!(reachable(&announced, &nets), Some(ip("10.1.0.9")));
        assert_eq!(
            reachable(&announced, &[]),
            Some(ip("10.1.0.9")),
            "lowest routable IPv4"
        );
        assert_eq!(
            reachable(&[ip("fe80::1"), ip("fd00::2")], &nets),
            Some(ip("fd00::2"))
        );
        assert_eq!(
            reachable(&[ip("fe80::1"), ip("127.0.0.1"), ip("169.254.0.3")], &nets),
            None
        );
        assert!(is_lan_interface("eth0", false, &[]));
        assert!(!is_lan_interface("lo", true, &[]));
        assert!(!is_lan_interface("docker0", false, &[]));
        assert!(is_lan_interface("docker0", false, &["docker0".into()]));
        assert!(!is_lan_interface("eth0", false, &["eth1".into()]));
    }

    #[test]
    fn brackets_ipv6() {
        assert_eq!(
            host_port("10.0.0.1".parse().unwrap(), 7878),
            "10.0.0.1:7878"
        );
        assert_eq!(
            host_port("fd00::1".parse().unwrap(), 7878),
            "[fd00::1]:7878"
        );
    }
}
