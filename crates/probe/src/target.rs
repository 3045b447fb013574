//! What a user types after `probe`: a room code, or an invite that also says where the
//! host's node listens.

use std::net::{IpAddr, ToSocketAddrs, UdpSocket};

use lanmeet_core::JoinTarget;

use crate::error::ProbeError;

/// A room to probe: its code, and the peer-socket URL when the input said where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `ws://HOST:PORT/ws` from an invite; `None` for a bare code (the caller resolves
    /// it, e.g. through a node's `GET /api/lan/resolve/{code}`).
    pub ws_url: Option<String>,
    /// The room code as given (the node normalizes case, `-` and spaces).
    pub room: String,
}

/// Parses `CODE` (`K7M-Q2P`, `k7mq2p`) or `lanmeet://HOST:PORT/CODE`, with the
/// rules every lanmeet tool shares ([`lanmeet_core::JoinTarget`]).
pub fn parse_target(input: &str) -> Result<Target, ProbeError> {
    let input = input.trim();
    match input.parse::<JoinTarget>() {
        Ok(JoinTarget::Invite(invite)) => Ok(Target {
            ws_url: Some(invite.ws_url()),
            room: invite.code().to_string(),
        }),
        Ok(JoinTarget::Code(_)) => Ok(Target {
            ws_url: None,
            room: input.to_owned(),
        }),
        Err(_) => Err(ProbeError::BadTarget(input.to_owned())),
    }
}

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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invite_gives_socket_and_code() {
        let t = parse_target("lanmeet://192.168.1.20:7878/K7MQ2P").unwrap();
        assert_eq!(t.ws_url.as_deref(), Some("ws://192.168.1.20:7878/ws"));
        assert_eq!(t.room, "K7MQ2P");
    }

    #[test]
    fn bare_codes_in_any_form() {
        for c in ["K7MQ2P", "k7m-q2p", "K7M Q2P", "OIL123"] {
            let t = parse_target(c).unwrap();
            assert_eq!(t.ws_url, None);
            assert_eq!(t.room, c);
        }
    }

    #[test]
    fn local_address_follows_the_route() {
        assert_eq!(
            local_address_towards("ws://127.0.0.1:7878/ws"),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
        assert_eq!(local_address_towards("http://127.0.0.1:7878/ws"), None);
        assert_eq!(local_address_towards("ws://"), None);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "K7MQ2",
            "K7MQ2PX",
            "K7MQU2",
            "lanmeet://host",
            "lanmeet://1.2.3.4/K7MQ2P",
            "lanmeet:///K7MQ2P",
            "http://x/K7MQ2P",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
