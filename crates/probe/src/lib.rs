//! lanmeet-probe: a headless WebRTC peer that joins a lanmeet room and proves that
//! every pair of members can connect.
//!
//! It serves two audiences. CI gets a full mesh of real peer connections (ICE, DTLS,
//! SCTP data channels) through a real node without a browser. Users get the "network
//! doctor" behind `lanmeet probe CODE|INVITE`: can everyone here reach everyone, how
//! fast, and does media arrive?
//!
//! A probe speaks exactly what a browser running the UI speaks (docs/PROTOCOL.md): the peer
//! socket messages, the `signal.data` shapes, the newcomer-offers rule, perfect
//! negotiation with the polite side chosen by id, one ordered `lanmeet` data channel
//! per pair, and `ping`/`pong`/`chat` on it. So a probe and a browser can call each
//! other, and the probe counts the RTP packets a browser sends it.
//!
//! # Layout
//!
//! - `protocol` (private): the wire shapes, the probe's own copy of the contract.
//! - `probe`: [`Probe`], one participant: the session task (socket, join, resume,
//!   routing, teardown) and its links.
//! - `link` (private): one WebRTC peer connection, a task of its own: the shared
//!   native peer (`lanmeet-native-peer`) builds it and decides (perfect negotiation,
//!   sessions, stale answers, ICE restart), `signaling` carries the decisions out,
//!   `channel` and `tracks` read what arrives.
//! - `state`: [`ProbeSnapshot`], what a probe knows, readable at any time, kept in
//!   a `SnapshotStore` the tasks write to.
//! - `media`: [`SendMedia`], recorded clips (VP8 IVF, Opus Ogg) a probe sends to
//!   every peer as a person would, looped.
//! - `mesh`: [`run`], N probes → [`ProbeReport`] (serde for `--json`, `Display`
//!   for the human matrix).
//! - `bench`: [`time_mesh_setup`], mesh setup timed over rounds (`lanmeet probe
//!   --bench`).
//! - [`local_address_towards`]: the default bind address (lanmeet-native-peer's).
//! - `error`: [`ProbeError`].
//!
//! # WebRTC notes (webrtc 0.21)
//!
//! Every peer connection binds one UDP socket to an explicit address
//! ([`ProbeConfig::bind_addr`]): that socket's address is the host candidate. mDNS is
//! disabled on every connection (no multicast socket, no `.local` candidates), so a
//! probe never sends multicast. ICE checks run every 20 ms by default. All of this is
//! lanmeet-native-peer's, shared with the bridge.

pub mod bench;
pub mod error;
mod link;
pub mod media;
pub mod mesh;
mod ogg_opus;
pub mod probe;
mod protocol;
pub mod state;

pub use bench::{MESH_SETUP_TITLE, MeshSetup, time_mesh_setup};
pub use error::ProbeError;
pub use lanmeet_native_peer::route::local_address_towards;
pub use media::{Clip, ClipFrame, ClipKind, SendMedia};
pub use mesh::{Pair, PeerMedia, ProbeOptions, ProbeReport, run};
pub use probe::{Probe, ProbeConfig};
pub use protocol::RoomInfo;
pub use state::{ChatMessage, CloseReason, LinkSnapshot, ProbeSnapshot, SessionState, TrackStats};
