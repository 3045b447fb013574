//! The lanmeet node: the small server every lanmeet instance carries.
//!
//! A node hosts rooms and relays WebRTC signaling between the people in them; the
//! media itself flows peer to peer and never touches it. It is built to
//! `PROTOCOL.md` and has no Tauri and no WebRTC in it, so everything here is
//! tested without a display.
//!
//! # Layout
//!
//! - [`codes`]: room codes (`K7M-Q2P`) and their forgiving parsing.
//! - [`protocol`]: the peer socket's wire types, parsed without copying `data`.
//! - [`rooms`]: the room rules as a pure state machine (capacity, passcodes, grace
//!   and resume, routing); no I/O, no clock.
//! - `registry`: the async shell around `rooms`, shared by all sockets; effects
//!   leave through bounded per-socket queues.
//! - `connection`: one task per peer socket: join deadline, rate limit, pings,
//!   reading requests, writing the queue.
//! - `http`: the two listeners' routers: control API with Host/Origin guard,
//!   LAN listener, static UI.
//! - `listener`: accepting and serving connections: budgets, header, idle and
//!   request timeouts, graceful shutdown.
//! - `budget`: what each listener and each LAN address may hold at once
//!   (connections, peer-socket slots); the open-file limit.
//! - `json_errors`: every API error as `{"error":{"code","message"}}`.
//! - [`node`]: starting a node and shutting it down cleanly.
//! - [`discovery`]: mDNS: advertising our rooms, a health-checked table of the
//!   other nodes', resolving codes (listed, or by asking each node).
//! - [`netif`]: which interfaces are the LAN, which address goes in invites.
//! - [`ratelimit`]: token buckets per socket and per source address.
//! - [`config`]: every limit and interval, with PROTOCOL.md's defaults.
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
pub mod codes;
pub mod config;
mod connection;
pub mod discovery;
pub mod error;
mod http;
pub mod invite;
mod json_errors;
mod listener;
pub mod netif;
pub mod node;
pub mod protocol;
pub mod ratelimit;
mod registry;
pub mod rooms;
mod static_ui;

pub use codes::RoomCode;
pub use config::{Limits, NodeConfig};
pub use discovery::Discovery;
pub use error::NodeError;
pub use invite::{Invite, InviteError, JoinTarget, JoinTargetError};
pub use node::{LanRoom, Node, NodeStats, RoomCreated, RoomRequest};
pub use registry::Registry;
