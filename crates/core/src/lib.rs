//! The lanmeet node: the small server every lanmeet instance carries.
//!
//! A node hosts rooms and relays WebRTC signaling between the people in them; the
//! media itself flows peer to peer and never touches it. It is built to
//! `docs/PROTOCOL.md` and has no Tauri and no WebRTC in it, so everything here is
//! tested without a display.
//!
//! # Layout
//!
//! The public API is [`Node`] (with [`NodeConfig`]), the room types a host
//! deals with ([`RoomRequest`], [`RoomCreated`], [`RoomCode`], [`Invite`],
//! [`JoinTarget`]) and [`Discovery`] for tools that only browse. Inside, from the
//! bottom up (each module uses only those above it):
//!
//! - `codes`: room codes (`K7M-Q2P`) and their forgiving parsing.
//! - `invite`: `lanmeet://HOST:PORT/CODE` invites and [`JoinTarget`] (a code or
//!   an invite, as typed); `ui/codes.js` repeats its rules.
//! - [`config`]: every limit and interval, with docs/PROTOCOL.md's defaults.
//! - `netif`: which interfaces are the LAN, which address goes in invites.
//! - `ratelimit`: token buckets per socket and per source address.
//! - `budget`: what each listener and each LAN address may hold at once
//!   (connections, peer-socket slots); the open-file limit.
//! - `protocol`: the peer socket's wire types, parsed without copying `data`;
//!   every error code's sentence.
//! - `rooms`: the room rules as a pure state machine (capacity, passcodes, grace
//!   and resume, routing); no I/O, no clock.
//! - `error`: [`NodeError`], what the public API returns.
//! - `registry`: the async shell around `rooms`, shared by all sockets; effects
//!   leave through bounded per-socket queues; publishes the rooms on a watch
//!   channel.
//! - `discovery`: mDNS: advertising the rooms it is handed (a watch channel, not
//!   the registry), a health-checked table of the other nodes' ([`LanRoom`]),
//!   finding codes (listed, or by asking each node).
//! - [`ice`]: ICE servers for `welcome`: a fixed list and the [`IceGrants`]
//!   hook a relay beside the node plugs into (the core has no TURN in it).
//! - `service`: the room service: create (with its checks), list, close, the
//!   LAN's rooms, resolve a code; what the control API and [`Node`] offer.
//! - `connection`: one task per peer socket: join deadline, rate limit, pings,
//!   reading requests, writing the queue.
//! - `json_errors`: every API error as `{"error":{"code","message"}}`.
//! - `http`: the two listeners' routers and their shared state: control API with
//!   Host/Origin guard, LAN listener (peer socket, health, room checks), the
//!   LAN listener over TLS for browser guests (the same plus the UI), static UI
//!   (`static_ui`), QR codes of guest links for the local UI.
//! - `guest_tls`: the self-signed certificate browser guests see: made once in
//!   the data directory, reused, its SHA-256 fingerprint.
//! - `listener`: accepting and serving connections: budgets, header, idle and
//!   request timeouts, TLS or plain by the first byte on the LAN port, graceful
//!   shutdown.
//! - `node`: [`Node`]: binding the listeners, wiring the parts above, shutting
//!   down cleanly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lanmeet_core::NodeError> {
//! use lanmeet_core::{Node, NodeConfig, RoomRequest};
//! use tokio_util::sync::CancellationToken;
//!
//! let stop = CancellationToken::new();
//! let node = Node::start(NodeConfig::loopback(), stop.clone()).await?;
//! let room = node.create_room(RoomRequest::default())?;
//! println!("join {} at {}", room.code, room.ws);
//! stop.cancel();
//! node.stopped().await;
//! # Ok(()) }
//! ```

mod budget;
mod codes;
pub mod config;
mod connection;
mod discovery;
mod error;
mod guest_tls;
mod http;
pub mod ice;
mod invite;
mod json_errors;
mod listener;
mod netif;
mod node;
mod protocol;
mod ratelimit;
mod registry;
mod rooms;
mod service;
mod static_ui;

pub use codes::{CodeError, RoomCode};
pub use config::{BridgeInfo, NodeConfig};
pub use discovery::{Discovery, DiscoveryError, LanRoom};
pub use error::NodeError;
pub use http::NodeStats;
pub use ice::{IceGrants, IceServer, IceServerError, Members};
pub use invite::{Invite, InviteError, JoinTarget, JoinTargetError};
pub use node::Node;
pub use rooms::CreateError;
pub use service::{RoomCreated, RoomRequest};
