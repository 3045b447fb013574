//! The TURN relay a lanmeet host runs beside its node.
//!
//! On a LAN, two people can often reach the host but not each other (guest Wi-Fi
//! next to a wired segment, client isolation, a firewall between laptops). The host
//! then relays their media: a TURN server (RFC 5766) on a port of its own next to
//! the LAN listener's, built on the `turn` crate of the webrtc-rs project. This
//! crate adds what a relay inside a meeting app needs around it:
//!
//! - **Members only.** Credentials are short-lived TURN REST-style pairs
//!   (`expiry:member`, HMAC-SHA1 password) that the node hands to members of its
//!   rooms in `welcome` ([`lanmeet_core::IceGrants`]). Every authenticated request
//!   also asks the node whether the member is still in a room; a member who left
//!   gets no new allocation and loses the ones it has within a second ([`Relay`]'s
//!   sweep). Requests without valid credentials are answered by the gate and never
//!   reach the TURN server (whose nonce table would otherwise grow with them).
//! - **Bounded.** Allocations per member and in total, bytes per second per
//!   allocation and in total, requests per second per source address.
//! - **Scoped.** A relay on a LAN address relays to LAN addresses only, never to
//!   loopback (services on the host itself) or multicast.
//!
//! # Layout
//! - [`config`]: every limit, with its default.
//! - `credentials`: issuing and checking the TURN REST-style credentials.
//! - `bucket`: token buckets (bytes, requests).
//! - `accounting`: live allocations per member, and the relayed socket wrapper that
//!   counts them and holds each to its bandwidth and scope.
//! - `gate`: the listener wrapper in front of the TURN server: challenges, checks
//!   credentials and quotas before the server sees a request.
//! - `tcp`: TURN over TCP (RFC 5766 §2.1 framing) as the datagram `Conn` the
//!   server reads, for networks where only TCP to the host gets through.
//! - `relay`: [`Relay`]: binding, the TURN server, the grants hook, the sweep.

mod accounting;
mod bucket;
pub mod config;
mod credentials;
mod gate;
mod relay;
mod tcp;

pub use config::RelayConfig;
pub use relay::{Relay, RelayError, RelayGrants};
