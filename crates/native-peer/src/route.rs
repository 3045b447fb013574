//! Which local address a native peer's WebRTC sockets should use (the probe's and
//! the bridge's): the one whose host candidate the others can dial.

use std::net::{IpAddr, ToSocketAddrs, UdpSocket};

/// The local address this machine would use to reach the host of `ws_url`: the
/// address whose host candidate the room's other members can dial. Loopback for a
/// node on this machine, the LAN address of the right interface otherwise.
///
/// Asks the kernel's routing table by connecting an unbound UDP socket, which sends
/// nothing. `None` when the URL has no usable host or there is no route.
pub fn local_address_towards(ws_url: &str) -> Option<IpAddr> {
    let rest = ws_url
        .strip_prefix("ws://")
        .or_else(|| ws_url.strip_prefix("wss://"))?;
    let authority = rest.split('/').next()?;
    let target = authority.to_socket_addrs().ok()?.next()?;
    let any: IpAddr = if target.is_ipv4() {
        IpAddr::from([0u8; 4])
    } else {
        IpAddr::from([0u16; 8])
    };
    let socket = UdpSocket::bind((any, 0)).ok()?;
    socket.connect(target).ok()?;
    let local = socket.local_addr().ok()?.ip();
    (!local.is_unspecified()).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_address_follows_the_route() {
        assert_eq!(
            local_address_towards("ws://127.0.0.1:7878/ws"),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
        assert_eq!(local_address_towards("http://127.0.0.1:7878/ws"), None);
        assert_eq!(local_address_towards("ws://"), None);
    }
}
