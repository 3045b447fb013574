//! Building a peer connection the way every lanmeet native peer needs it, and turning the
//! WebRTC driver's callbacks into events a task can handle in order.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtc::interceptor::Slot;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSignalingState, Registry,
    SettingEngineBuilder, register_default_interceptors,
};

use crate::keyframe_requests::KeyframeRequestForwarder;

/// Where the inbound-RTCP forwarder sits in the interceptor chain: last (the example
/// value of webrtc 0.21), so every interceptor that reads RTCP has seen it first.
const KEYFRAME_FORWARDER_SLOT: usize = 14_000;

/// One STUN or TURN server, as `RTCIceServer` in a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:` / `turn:` URLs.
    pub urls: Vec<String>,
    /// TURN user name (empty for STUN).
    pub username: String,
    /// TURN credential (empty for STUN).
    pub credential: String,
}

/// The WebRTC settings a native peer connection is built with.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    /// The local address the UDP socket binds: that socket's address is the (only) host
    /// candidate, so a test on loopback gets loopback candidates and nothing else.
    pub bind_addr: IpAddr,
    /// More local addresses to bind, one UDP socket (and host candidate) each: the
    /// machine's other LAN interfaces, so a remote on any of them finds a path, as
    /// with a browser, which gathers on every interface. Duplicates are ignored.
    pub more_addrs: Vec<IpAddr>,
    /// Delay between ICE connectivity checks.
    pub ice_check_interval: Duration,
    /// STUN/TURN servers; empty on a LAN (host candidates only).
    pub ice_servers: Vec<IceServer>,
    /// Hand the remote's keyframe requests (PLI, FIR) about the tracks we send to the
    /// application (`TrackLocal::poll`). Without this, webrtc 0.21 stops inbound RTCP
    /// at the end of its interceptor chain and a sender never learns a keyframe is
    /// wanted. Only a peer that sends media needs it.
    pub keyframe_requests: bool,
}

impl PeerSettings {
    /// Host candidates on `bind_addr`, ICE checks every 20 ms, no servers, no
    /// keyframe forwarding.
    pub fn new(bind_addr: IpAddr) -> Self {
        PeerSettings {
            bind_addr,
            more_addrs: Vec::new(),
            ice_check_interval: Duration::from_millis(20),
            ice_servers: Vec::new(),
            keyframe_requests: false,
        }
    }
}

/// The sockets a connection binds: `bind_addr` first, then each of `more_addrs` once
/// (any port).
fn udp_addrs(settings: &PeerSettings) -> Vec<SocketAddr> {
    let mut ips = vec![settings.bind_addr];
    for ip in &settings.more_addrs {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect()
}

/// A WebRTC driver callback, as a value a task can receive in order.
pub enum PcEvent {
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// A local candidate was gathered.
    Candidate(Box<RTCPeerConnectionIceEvent>),
    /// `icegatheringstatechange`.
    Gathering(RTCIceGatheringState),
    /// `signalingstatechange`.
    Signaling(RTCSignalingState),
    /// `connectionstatechange`.
    Connection(RTCPeerConnectionState),
    /// `iceconnectionstatechange`.
    Ice(RTCIceConnectionState),
    /// The remote opened a data channel.
    Channel(Arc<dyn DataChannel>),
    /// The remote started sending a track.
    Track(Arc<dyn TrackRemote>),
}

/// Forwards driver callbacks to a function (typically an unbounded channel send into
/// the task that owns the connection). It must never block: the driver waits for it.
pub struct EventForwarder<F> {
    forward: F,
}

impl<F: Fn(PcEvent) + Send + Sync + 'static> EventForwarder<F> {
    /// Wraps `forward`, called once per driver callback.
    pub fn new(forward: F) -> Self {
        EventForwarder { forward }
    }
}

#[async_trait::async_trait]
impl<F: Fn(PcEvent) + Send + Sync + 'static> PeerConnectionEventHandler for EventForwarder<F> {
    async fn on_negotiation_needed(&self) {
        (self.forward)(PcEvent::NegotiationNeeded);
    }
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        (self.forward)(PcEvent::Candidate(Box::new(event)));
    }
    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        (self.forward)(PcEvent::Signaling(state));
    }
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        (self.forward)(PcEvent::Gathering(state));
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        (self.forward)(PcEvent::Connection(state));
    }
    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        (self.forward)(PcEvent::Ice(state));
    }
    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        (self.forward)(PcEvent::Channel(channel));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        (self.forward)(PcEvent::Track(track));
    }
}

/// Builds a peer connection: one UDP socket on the configured address (that is what
/// yields the host candidate), mDNS off (no multicast ever leaves the machine, and
/// `.local` candidates are not resolved), fast ICE checks, default codecs (VP8, Opus
/// and the rest browsers offer), and the answerer as DTLS server.
pub async fn build(
    settings: &PeerSettings,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, webrtc::error::Error> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let mut registry = register_default_interceptors(Registry::new(), &mut media)?;
    if settings.keyframe_requests {
        registry = registry.with(
            Slot::from(KEYFRAME_FORWARDER_SLOT),
            KeyframeRequestForwarder::default(),
        );
    }
    let engine = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(settings.ice_check_interval), None)
        // Answer as the DTLS server: the offerer, as DTLS and SCTP client, sends the
        // first handshake packet and the SCTP INIT, and it is the side holding the
        // data channel that `channel::nudge` uses to flush them. With the answerer as
        // client the mesh took ~250 ms longer (measured: N=2 259 ms vs 53 ms median).
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server)
        .build();
    let ice_servers = settings
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(ice_servers)
                .build(),
        )
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(engine)
        .with_handler(handler)
        .with_udp_addrs(udp_addrs(settings))
        .build()
        .await?;
    Ok(Arc::new(pc))
}
