//! ICE servers handed to members in `welcome` (docs/PROTOCOL.md, `iceServers` [ext]).
//!
//! The node has no WebRTC in it, and no relay either: it only carries two things to
//! its members. A fixed list a person set (`lanmeet host --ice-server`, servers they
//! run themselves), and, through the opaque [`IceGrants`] hook, per-member
//! credentials from a relay that runs beside the node (the `lanmeet-relay` crate).
//! The hook is a trait object so the core crate stays free of the TURN stack; the
//! relay learns who is still a member through [`Members`], so it can refuse and end
//! allocations of people who left, without the node telling it each departure.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Weak};

use serde::Serialize;

/// One ICE server as WebRTC's `RTCIceServer` spells it, so a page can hand the list
/// to `RTCPeerConnection` as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs of one server.
    pub urls: Vec<String>,
    /// TURN user name (absent for STUN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password (absent for STUN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why an `--ice-server` value was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceServerError {
    #[error("an ICE server URL starts with stun:, turn: or turns: (got {0:?})")]
    Scheme(String),
    #[error("an ICE server URL needs a host after the scheme (got {0:?})")]
    NoHost(String),
    #[error("TURN servers need credentials: turn:USER:PASSWORD@HOST:PORT (got {0:?})")]
    NoCredentials(String),
}

impl std::str::FromStr for IceServer {
    type Err = IceServerError;

    /// `stun:HOST[:PORT]`, or `turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp]`
    /// (also `turns:`): WebRTC's URL with the credentials written in it, the way
    /// a person types one server on a command line. The URL handed on is the one
    /// without them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (scheme, rest) = s
            .split_once(':')
            .filter(|(scheme, _)| matches!(*scheme, "stun" | "stuns" | "turn" | "turns"))
            .ok_or_else(|| IceServerError::Scheme(s.to_owned()))?;
        let (credentials, host) = match rest.rsplit_once('@') {
            Some((credentials, host)) => (Some(credentials), host),
            None => (None, rest),
        };
        if host.is_empty() || host.starts_with(['?', ':']) {
            return Err(IceServerError::NoHost(s.to_owned()));
        }
        let (username, credential) = match credentials.and_then(|c| c.split_once(':')) {
            Some((user, password)) => (Some(user.to_owned()), Some(password.to_owned())),
            None => (None, None),
        };
        if scheme.starts_with("turn") && username.is_none() {
            return Err(IceServerError::NoCredentials(s.to_owned()));
        }
        Ok(IceServer {
            urls: vec![format!("{scheme}:{host}")],
            username,
            credential,
        })
    }
}

/// Issues short-lived ICE credentials to members of this node's rooms.
///
/// Called under the rooms lock for every `welcome` (joined or resumed), so it must
/// be quick and must not block: computing an HMAC is fine, I/O is not.
pub trait IceGrants: Send + Sync + fmt::Debug {
    /// Servers (with credentials) for member `member` (its peer id, unique on this
    /// node). Empty when there is nothing to give.
    fn grant(&self, member: &str) -> Vec<IceServer>;

    /// Called once when the node starts, with a handle to ask who is a member and
    /// the address the node puts in invites (the one members reach it at), which a
    /// relay bound to all interfaces advertises.
    fn attach(&self, members: Members, lan_host: IpAddr);
}

/// The node's membership check itself; [`Members`] holds it weakly.
pub type MemberCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What a node asks whether a peer id is still a member of one of its rooms
/// (live, or held for a resume). Holds the rooms weakly: a relay that outlives the
/// node sees nobody.
#[derive(Clone)]
pub struct Members {
    check: Weak<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Members {
    pub(crate) fn new(check: &MemberCheck) -> Members {
        Members {
            check: Arc::downgrade(check),
        }
    }

    /// A handle that answers from `check` for as long as the returned `Arc` lives:
    /// for relays tested without a node.
    pub fn from_fn(check: impl Fn(&str) -> bool + Send + Sync + 'static) -> (Members, MemberCheck) {
        let check: MemberCheck = Arc::new(check);
        (Members::new(&check), check)
    }

    /// Whether `id` is a member of a room on the node now.
    pub fn contains(&self, id: &str) -> bool {
        self.check.upgrade().is_some_and(|check| check(id))
    }
}

impl fmt::Debug for Members {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Members")
            .field("node_running", &(self.check.strong_count() > 0))
            .finish()
    }
}

/// What every `welcome` gets: the fixed list after the granted servers.
#[derive(Debug, Clone, Default)]
pub(crate) struct IceSource {
    pub fixed: Vec<IceServer>,
    pub grants: Option<Arc<dyn IceGrants>>,
}

impl IceSource {
    pub(crate) fn for_member(&self, member: &str) -> Vec<IceServer> {
        let mut servers = self
            .grants
            .as_ref()
            .map(|g| g.grant(member))
            .unwrap_or_default();
        servers.extend(self.fixed.iter().cloned());
        servers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_serialize_as_rtc_ice_server() {
        let s = IceServer {
            urls: vec!["turn:10.0.0.1:7879?transport=udp".into()],
            username: Some("1700000000:abc".into()),
            credential: Some("secret".into()),
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"urls":["turn:10.0.0.1:7879?transport=udp"],
                "username":"1700000000:abc","credential":"secret"})
        );
        let stun = IceServer {
            urls: vec!["stun:10.0.0.1".into()],
            username: None,
            credential: None,
        };
        assert_eq!(
            serde_json::to_value(&stun).unwrap(),
            serde_json::json!({"urls":["stun:10.0.0.1"]})
        );
    }

    #[test]
    fn servers_parse_from_what_a_person_types() {
        let turn: IceServer = "turn:alice:s3:cret@10.0.0.5:3478?transport=tcp"
            .parse()
            .unwrap();
        assert_eq!(turn.urls, ["turn:10.0.0.5:3478?transport=tcp"]);
        assert_eq!(turn.username.as_deref(), Some("alice"));
        assert_eq!(turn.credential.as_deref(), Some("s3:cret"));
        let stun: IceServer = "stun:10.0.0.5".parse().unwrap();
        assert_eq!(stun.urls, ["stun:10.0.0.5"]);
        assert_eq!(stun.username, None);
        assert!(matches!(
            "http://x".parse::<IceServer>(),
            Err(IceServerError::Scheme(_))
        ));
        assert!(matches!(
            "turn:10.0.0.5:3478".parse::<IceServer>(),
            Err(IceServerError::NoCredentials(_))
        ));
        assert!(matches!(
            "stun:".parse::<IceServer>(),
            Err(IceServerError::NoHost(_))
        ));
    }

    #[test]
    fn members_answer_nothing_once_the_node_is_gone() {
        let (members, keep) = Members::from_fn(|id| id == "a");
        assert!(members.contains("a"));
        assert!(!members.contains("b"));
        drop(keep);
        assert!(!members.contains("a"));
    }
}
