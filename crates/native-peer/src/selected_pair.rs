//! Which candidate pair ICE selected for a connection, and whether it goes through a
//! TURN relay: what `lanmeet probe`'s "via" column and the bridge's `getStats` report.
//!
//! A browser page learns this from `getStats()` (the transport's selected
//! `candidate-pair` and its `local-candidate` / `remote-candidate`); webrtc 0.21 has
//! the same facts on the ICE transport, which is reached through the SCTP transport
//! (every lanmeet connection has the `lanmeet` data channel) or, for a connection with
//! media only, through any transceiver's DTLS transport (bundled: all share one).

use std::sync::Arc;

use rtc::peer_connection::transport::{RTCIceCandidate, RTCIceCandidatePair, RTCIceCandidateType};
use serde::Serialize;
use webrtc::peer_connection::PeerConnection;
use webrtc::peer_connection::transport::{DtlsTransport, IceTransport};

/// How a connection's media and data travel: straight between the two peers, or
/// through a TURN relay (either end's candidate is a relayed one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Host (or reflexive) candidates on both ends.
    Direct,
    /// At least one end is a TURN relay candidate.
    Relay,
}

impl Via {
    /// `"direct"` or `"relay"`, as printed and as the UI's `Route` names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Relay => "relay",
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One end of the selected pair, in the words of a browser's `local-candidate` /
/// `remote-candidate` stats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairEnd {
    /// `host`, `srflx`, `prflx` or `relay` (the stats' `candidateType`).
    #[serde(rename = "type")]
    pub candidate_type: String,
    /// `udp` or `tcp`: the candidate's own transport. A relay candidate's is always
    /// `udp` (TURN relays UDP); how the peer reaches its TURN server is
    /// `relay_protocol`.
    pub protocol: String,
    /// The candidate's IP address (a relay candidate's is the relay's).
    pub address: String,
    /// The candidate's port.
    pub port: u16,
    /// For a local relay candidate, how this peer reaches its TURN server: `udp`, `tcp`
    /// or `tls` (from the server URL's `?transport=` or `turns:`); `None` otherwise,
    /// and for remote candidates (a peer never learns how the other reached its relay).
    #[serde(rename = "relayProtocol", skip_serializing_if = "Option::is_none")]
    pub relay_protocol: Option<String>,
}

impl PairEnd {
    fn from_candidate(c: &RTCIceCandidate) -> PairEnd {
        let relay = c.typ == RTCIceCandidateType::Relay;
        PairEnd {
            candidate_type: c.typ.to_string(),
            protocol: c.protocol.to_string(),
            address: c.address.clone(),
            port: c.port,
            relay_protocol: if relay {
                c.url.as_deref().and_then(relay_protocol_of_url)
            } else {
                None
            },
        }
    }

    /// Whether this end is a TURN relay candidate.
    pub fn is_relay(&self) -> bool {
        self.candidate_type == "relay"
    }

    /// A remote end ICE first learned as peer-reflexive (its checks arrived before
    /// the signaled candidate did) becomes the signaled candidate with the same
    /// transport address, if one has arrived since. Chromium does the same (its
    /// `remote-candidate` stats change type once the candidate is signaled); webrtc
    /// 0.21 keeps the pair's remote as `prflx`, so without this a pair through the
    /// other peer's relay read `direct` whenever its checks won the race with
    /// signaling (the relay suite's flake).
    fn resolve_peer_reflexive<'a>(&mut self, signaled: impl IntoIterator<Item = &'a PairEnd>) {
        if self.candidate_type != "prflx" {
            return;
        }
        if let Some(known) = signaled.into_iter().find(|c| {
            c.candidate_type != "prflx"
                && same_ip(&c.address, &self.address)
                && c.port == self.port
                && c.protocol.eq_ignore_ascii_case(&self.protocol)
        }) {
            *self = known.clone();
        }
    }
}

/// Whether two candidate addresses are the same IP (compared parsed: IPv6 has more
/// than one way to write an address), or the same text when either is not an IP.
fn same_ip(a: &str, b: &str) -> bool {
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The candidate pair ICE selected: this peer's end and the remote's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectedPair {
    /// This peer's candidate.
    pub local: PairEnd,
    /// The remote peer's candidate.
    pub remote: PairEnd,
}

impl SelectedPair {
    /// Relay when either end is a relay candidate (as the UI's `routeOf` decides),
    /// direct otherwise.
    pub fn via(&self) -> Via {
        if self.local.is_relay() || self.remote.is_relay() {
            Via::Relay
        } else {
            Via::Direct
        }
    }

    fn from_pair(pair: &RTCIceCandidatePair) -> SelectedPair {
        SelectedPair {
            local: PairEnd::from_candidate(pair.local()),
            remote: PairEnd::from_candidate(pair.remote()),
        }
    }
}

/// How a TURN URL reaches its server: `tls` for `turns:`, else its `?transport=`
/// (`udp` when absent, as RFC 7065 says); `None` for anything that is not a TURN URL.
fn relay_protocol_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    match scheme.to_ascii_lowercase().as_str() {
        "turns" => Some("tls".into()),
        "turn" => {
            let transport = rest
                .split_once('?')
                .and_then(|(_, query)| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("transport="))
                })
                .unwrap_or("udp");
            Some(transport.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The connection's ICE transport: the SCTP transport's if the connection has data
/// channels, else the first transceiver's (bundled, so all share it); `None` before
/// negotiation has associated one.
async fn ice_transport(pc: &dyn PeerConnection) -> Option<Arc<dyn IceTransport>> {
    if let Some(sctp) = pc.sctp().await {
        return Some(sctp.transport().ice_transport());
    }
    for t in pc.get_transceivers().await {
        let dtls: Option<Arc<dyn DtlsTransport>> = match t.sender().await {
            Ok(Some(s)) => s.transport().await.ok().flatten(),
            _ => None,
        };
        let dtls = match dtls {
            Some(d) => Some(d),
            None => match t.receiver().await {
                Ok(Some(r)) => r.transport().await.ok().flatten(),
                _ => None,
            },
        };
        if let Some(d) = dtls {
            return Some(d.ice_transport());
        }
    }
    None
}

/// The pair ICE selected for `pc`, or `None` while it has none (not yet connected,
/// closed, or the driver gone).
pub async fn selected_pair(pc: &dyn PeerConnection) -> Option<SelectedPair> {
    let ice = ice_transport(pc).await?;
    let pair = ice.get_selected_candidate_pair().await.ok()??;
    let mut selected = SelectedPair::from_pair(&pair);
    if selected.remote.candidate_type == "prflx" {
        let signaled: Vec<PairEnd> = ice
            .get_remote_candidates()
            .await
            .unwrap_or_default()
            .iter()
            .map(PairEnd::from_candidate)
            .collect();
        selected.remote.resolve_peer_reflexive(&signaled);
    }
    Some(selected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn end(kind: &str) -> PairEnd {
        PairEnd {
            candidate_type: kind.into(),
            protocol: "udp".into(),
            address: "10.0.0.1".into(),
            port: 5000,
            relay_protocol: None,
        }
    }

    #[test]
    fn either_relayed_end_makes_the_pair_relayed() {
        let pair = |l: &str, r: &str| SelectedPair {
            local: end(l),
            remote: end(r),
        };
        assert_eq!(pair("host", "host").via(), Via::Direct);
        assert_eq!(pair("host", "prflx").via(), Via::Direct);
        assert_eq!(pair("relay", "host").via(), Via::Relay);
        assert_eq!(pair("host", "relay").via(), Via::Relay);
        assert_eq!(Via::Relay.to_string(), "relay");
    }

    #[test]
    fn a_peer_reflexive_remote_takes_the_type_of_its_signaled_candidate() {
        let at = |kind: &str, address: &str, port: u16| PairEnd {
            address: address.into(),
            port,
            ..end(kind)
        };
        let signaled = [
            at("prflx", "10.81.1.1", 6000),
            at("host", "10.81.2.2", 5000),
            at("relay", "10.81.1.1", 6000),
        ];
        // The other peer's relay candidate, first seen as peer-reflexive: relay.
        let mut pair = SelectedPair {
            local: at("host", "10.81.1.2", 4000),
            remote: at("prflx", "10.81.1.1", 6000),
        };
        assert_eq!(pair.via(), Via::Direct);
        pair.remote.resolve_peer_reflexive(&signaled);
        assert_eq!(pair.remote, signaled[2]);
        assert_eq!(pair.via(), Via::Relay);
        // No signaled candidate at that address and port (yet): stays peer-reflexive.
        let mut other = at("prflx", "10.81.1.1", 6001);
        other.resolve_peer_reflexive(&signaled);
        assert_eq!(other.candidate_type, "prflx");
        // The same IPv6 address written another way matches.
        let six = [at("relay", "fd00::1", 6000)];
        let mut prflx6 = at("prflx", "fd00:0:0:0:0:0:0:1", 6000);
        prflx6.resolve_peer_reflexive(&six);
        assert_eq!(prflx6.candidate_type, "relay");
        // Only a peer-reflexive end is resolved; a host end keeps its own type.
        let mut host = at("host", "10.81.1.1", 6000);
        host.resolve_peer_reflexive(&signaled);
        assert_eq!(host.candidate_type, "host");
    }

    #[test]
    fn relay_protocol_comes_from_the_server_url() {
        let p = |u: &str| relay_protocol_of_url(u);
        assert_eq!(
            p("turn:10.0.0.1:7879?transport=tcp").as_deref(),
            Some("tcp")
        );
        assert_eq!(
            p("turn:10.0.0.1:7879?transport=udp").as_deref(),
            Some("udp")
        );
        assert_eq!(p("turn:10.0.0.1:7879").as_deref(), Some("udp"));
        assert_eq!(p("TURN:h?x=1&transport=TCP").as_deref(), Some("tcp"));
        assert_eq!(p("turns:h:5349?transport=tcp").as_deref(), Some("tls"));
        assert_eq!(p("stun:h"), None);
        assert_eq!(p("nonsense"), None);
    }

    #[test]
    fn serializes_as_the_bridge_documents_it() {
        let mut local = end("relay");
        local.relay_protocol = Some("tcp".into());
        let v = serde_json::to_value(SelectedPair {
            local,
            remote: end("host"),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({
                "local": {"type":"relay","protocol":"udp","address":"10.0.0.1","port":5000,"relayProtocol":"tcp"},
                "remote": {"type":"host","protocol":"udp","address":"10.0.0.1","port":5000},
            })
        );
    }
}
