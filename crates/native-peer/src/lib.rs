//! lanmeet-native-peer: the one native WebRTC peer of lanmeet, shared by the probe
//! (`lanmeet probe`, the CI mesh) and the bridge (WebRTC for pages that have none).
//!
//! Everything here is what a native client must get right to be an ordinary peer to
//! Chromium, Firefox and Safari on a LAN, written once:
//!
//! - [`connection`]: building a peer connection (host candidates on one bound address,
//!   mDNS disabled so no multicast socket is ever opened, no STUN unless configured,
//!   keyframe requests passed up when asked) and the driver's callbacks as events.
//! - [`negotiation`]: the UI's perfect-negotiation rules as a pure state machine.
//! - [`signal`]: the `signal.data` shapes (descriptions, candidates) of docs/PROTOCOL.md.
//! - [`sdp`]: the mid and session id read from an SDP.
//! - [`channel`]: the `lanmeet` data channel label and the open-promptly workaround.
//! - [`route`]: the local address to bind, the one that routes to the room's host.
//! - [`selected_pair`]: the candidate pair ICE chose, and whether it is relayed.
//! - [`media`]: received RTP made whole frames again (VP8, Opus) with keyframe flags,
//!   and keyframe detection.
//!
//! # WebRTC notes (webrtc 0.21)
//!
//! Every peer connection binds one UDP socket to an explicit address
//! ([`PeerSettings::bind_addr`]): that socket's address is the host candidate. mDNS is
//! disabled on every connection (no multicast socket, no `.local` candidates), so a
//! native peer never sends multicast. ICE checks run every 20 ms by default.

pub mod channel;
pub mod connection;
mod keyframe_requests;
pub mod media;
pub mod negotiation;
pub mod route;
pub mod sdp;
pub mod selected_pair;
pub mod signal;

pub use connection::{EventForwarder, IceServer, PcEvent, PeerSettings, build};
pub use keyframe_requests::is_keyframe_request;
pub use selected_pair::{PairEnd, SelectedPair, Via, selected_pair};
pub use signal::{CandidateJson, LocalCandidates, SignalData};
