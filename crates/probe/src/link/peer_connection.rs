//! Building a link's peer connection, and turning the WebRTC driver's callbacks into
//! events for the link task.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, Registry, SettingEngineBuilder,
    register_default_interceptors,
};

use super::{LinkConfig, LinkInput};

/// A WebRTC driver callback, forwarded into the link task.
pub(super) enum PcEvent {
    NegotiationNeeded,
    Candidate(Box<RTCPeerConnectionIceEvent>),
    Gathering(RTCIceGatheringState),
    Connection(RTCPeerConnectionState),
    Ice(RTCIceConnectionState),
    Channel(Arc<dyn DataChannel>),
    Track(Arc<dyn TrackRemote>),
}

/// Forwards driver callbacks into the link task; never blocks the driver.
pub(super) struct Handler {
    pub(super) tx: mpsc::UnboundedSender<LinkInput>,
}

impl Handler {
    fn send(&self, event: PcEvent) {
        let _ = self.tx.send(LinkInput::Event(event));
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_negotiation_needed(&self) {
        self.send(PcEvent::NegotiationNeeded);
    }
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        self.send(PcEvent::Candidate(Box::new(event)));
    }
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.send(PcEvent::Gathering(state));
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.send(PcEvent::Connection(state));
    }
    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.send(PcEvent::Ice(state));
    }
    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        self.send(PcEvent::Channel(channel));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.send(PcEvent::Track(track));
    }
}

/// Builds a peer connection the way every probe link needs it: one UDP socket on the
/// configured address (that is what yields the host candidate), mDNS off (no multicast
/// ever leaves the machine, and the probe does not resolve `.local` candidates), fast
/// ICE checks, default codecs so browsers' audio and video are accepted, and the
/// answerer as DTLS server.
pub(super) async fn build(
    config: &LinkConfig,
    handler: Handler,
) -> Result<Arc<dyn PeerConnection>, webrtc::error::Error> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(config.ice_check_interval), None)
        // Answer as the DTLS server: the offerer, as DTLS and SCTP client, sends the
        // first handshake packet and the SCTP INIT, and it is the side holding the
        // data channel that `nudge` uses to flush them. With the answerer as client
        // the mesh took ~250 ms longer (measured: N=2 259 ms vs 53 ms median).
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server)
        .build();
    let ice_servers = if config.ice_servers.is_empty() {
        vec![]
    } else {
        vec![RTCIceServer {
            urls: config.ice_servers.clone(),
            ..Default::default()
        }]
    };
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(ice_servers)
                .build(),
        )
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec![SocketAddr::new(config.bind_addr, 0)])
        .build()
        .await?;
    Ok(Arc::new(pc))
}
