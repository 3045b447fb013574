//! How a relay is set up; `Default` gives the limits `lanmeet host` uses.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Relay settings. The defaults carry a room of 8 where every pair is relayed
/// (28 pairs, two allocations each would be 56; in practice only the pairs that
/// cannot connect directly are) with video at a few Mbit/s each.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address the listeners and relayed sockets bind; unspecified = all.
    pub bind: IpAddr,
    /// Port of the UDP and TCP listeners; 0 = any free port (one for both).
    pub port: u16,
    /// Address written in relayed candidates and in the TURN URLs given to
    /// members. `None`: the node's invite address (given when the node starts), or
    /// `bind` when that is a specific address.
    pub advertise: Option<IpAddr>,
    /// Realm of the long-term credentials.
    pub realm: String,
    /// How long a credential handed out in `welcome` is good for new allocations
    /// and refreshes. A member gets a new one with every `welcome` (join, resume).
    pub credential_ttl: Duration,
    /// Live allocations one member may hold (a browser makes one per peer
    /// connection and transport: UDP and TCP).
    pub max_allocations_per_member: usize,
    /// Live allocations in all.
    pub max_allocations: usize,
    /// Relayed bytes per second per allocation (both directions together), and
    /// the burst: more is dropped, as a congested link would.
    pub allocation_bytes_per_sec: u32,
    /// Relayed bytes per second over all allocations.
    pub total_bytes_per_sec: u32,
    /// TURN requests (not data) per second a source address may send, and the
    /// burst: challenges and refusals cost the host little, and cannot be
    /// reflected at others in volume.
    pub requests_per_sec: u32,
    pub requests_burst: u32,
    /// TCP connections to the relay at most.
    pub max_tcp_connections: usize,
    /// How often allocations of people who left are looked for and ended.
    pub sweep_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            advertise: None,
            realm: "lanmeet".to_owned(),
            credential_ttl: Duration::from_secs(12 * 3600),
            max_allocations_per_member: 16,
            max_allocations: 128,
            // 640x360 video is ~1 Mbit/s, 720p ~2.5: 1 MB/s leaves room for both
            // directions and audio.
            allocation_bytes_per_sec: 1_000_000,
            total_bytes_per_sec: 40_000_000,
            requests_per_sec: 20,
            requests_burst: 60,
            max_tcp_connections: 256,
            sweep_interval: Duration::from_secs(1),
        }
    }
}
