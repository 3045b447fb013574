//! lanmeet-bridge: WebRTC for a page that has none.
//!
//! Debian's WebKitGTK (the desktop app's webview) is built without WebRTC, but it has
//! WebCodecs, WebSocket and AudioWorklet. The bridge runs next to the node, on
//! loopback, and does the WebRTC part natively for such a page: one peer connection per
//! remote person (built by lanmeet-native-peer, the same peer the probe uses), while
//! the page keeps negotiating (its perfect negotiation runs unchanged against an
//! `RTCPeerConnection` shim), encodes its camera and microphone once (VP8, Opus) and
//! decodes what arrives. Signaling still goes through the page and the node
//! (docs/PROTOCOL.md), so the other side sees an ordinary peer.
//!
//! The wire between page and bridge is docs/BRIDGE.md:
//!
//! - [`wire`]: requests, responses, events and the binary media headers.
//! - `server`: the loopback listener, its Origin and secret checks ([`Bridge`]).
//! - `session`: one page: its requests, its frames, its connections.
//! - `peer`: one bridged peer connection, a task of its own.
//! - `sources`: the page's one encoding per kind, fanned out to every peer.
//! - `outbox`: what goes to the page, bounded (media dropped, keyframe asked, when the
//!   page does not keep up).

pub mod error;
mod outbox;
mod peer;
pub mod rtp_out;
mod server;
mod session;
mod sources;
pub mod wire;

pub use error::{BridgeError, PageError};
pub use outbox::{CONTROL_QUEUE, FLOW_WINDOW_BYTES, FLOW_WINDOW_FRAMES, MEDIA_QUEUE_BYTES};
pub use peer::{MAX_CHANNELS, REMOTE_CHANNEL_BASE};
pub use server::{AddressSource, Bridge, BridgeConfig, BridgeHandle, BridgeStats, MAX_SESSIONS};
pub use session::{MAX_FRAME, MAX_PEERS, MAX_TEXT};
pub use sources::{KEYFRAME_REPEAT, SENDER_QUEUE};
