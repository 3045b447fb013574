//! One WebRTC peer connection from this probe to one other room member.
//!
//! Each link is a task that owns its `PeerConnection` and handles, one at a time and in
//! order, everything that concerns it: signals relayed by the node, events from the
//! WebRTC driver, and requests from the session. Serializing them in one task is what
//! makes the perfect-negotiation flags (`making_offer`, `ignore_offer`) meaningful
//! without locks. The data channel and every inbound track get a small reader task of
//! their own, because their events arrive on separate streams.
//!
//! The negotiation follows PROTOCOL.md and the UI: the newcomer (the `offerer`)
//! creates the ordered `lanmeet` data channel, and the `negotiationneeded` event that
//! follows makes the first offer; later renegotiations, from either side, use the
//! perfect-negotiation pattern with the polite side chosen by id.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceConnectionState, RTCIceGatheringState,
    RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use crate::protocol::{CandidateJson, ChannelMessage, SignalData};
use crate::state::{ChatMessage, Shared, TrackStats};

/// The data channel every pair shares (PROTOCOL.md).
pub(crate) const CHANNEL_LABEL: &str = "lanmeet";
/// How long a newcomer waits for `negotiationneeded` before offering on its own.
const OFFER_FALLBACK: Duration = Duration::from_millis(500);
/// Pings older than this are given up (their pong will not come).
const PING_EXPIRY: Duration = Duration::from_secs(30);
/// How often the driver is nudged between DTLS completion and the channel opening,
/// and for how long at most (see `Link::nudge`).
const NUDGE_EVERY: Duration = Duration::from_millis(5);
const NUDGE_FOR: Duration = Duration::from_secs(3);
/// How long closing a link may take before its task is aborted.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The WebRTC settings every link of a probe shares.
#[derive(Debug, Clone)]
pub(crate) struct LinkConfig {
    /// The local address the UDP socket binds (gives the host candidate).
    pub(crate) bind_addr: IpAddr,
    /// Delay between ICE connectivity checks.
    pub(crate) ice_check_interval: Duration,
    /// How often to ping each open channel.
    pub(crate) ping_interval: Duration,
    /// Offer recvonly audio and video so browsers can send media in the first round.
    pub(crate) recv_media: bool,
    /// STUN/TURN URLs; empty on a LAN.
    pub(crate) ice_servers: Vec<String>,
}

/// A signal one link wants the session to send: (to, link generation, data). The
/// generation lets the session drop what a link closed since then had queued.
pub(crate) type Outbound = (String, u64, Value);

/// Everything a link task needs to know about its place in the probe.
pub(crate) struct LinkContext {
    pub(crate) peer_id: String,
    pub(crate) polite: bool,
    pub(crate) offerer: bool,
    pub(crate) generation: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) outbound: mpsc::UnboundedSender<Outbound>,
    pub(crate) config: Arc<LinkConfig>,
}

/// Input to a link task.
enum LinkInput {
    Signal(Value),
    Event(PcEvent),
    SendText(String),
    Close,
}

/// A WebRTC driver callback, forwarded into the link task.
enum PcEvent {
    NegotiationNeeded,
    Candidate(Box<RTCPeerConnectionIceEvent>),
    Gathering(RTCIceGatheringState),
    Connection(RTCPeerConnectionState),
    Ice(RTCIceConnectionState),
    Channel(Arc<dyn DataChannel>),
    Track(Arc<dyn TrackRemote>),
}

/// The session's handle on a link task.
pub(crate) struct LinkHandle {
    input: mpsc::UnboundedSender<LinkInput>,
    task: JoinHandle<()>,
    /// The generation this link was created with.
    pub(crate) generation: u64,
}

impl LinkHandle {
    /// Starts a link task. The task builds its peer connection itself, so a bind
    /// failure shows up as the link's `last_error` rather than failing the session.
    pub(crate) fn spawn(ctx: LinkContext) -> LinkHandle {
        // Unbounded on purpose: the producers are the node (rate-limited by it) and the
        // WebRTC driver, whose callbacks must never wait on us; the link task drains it
        // continuously and each item is small.
        let (tx, rx) = mpsc::unbounded_channel();
        let generation = ctx.generation;
        let task = tokio::spawn(run(ctx, rx, tx.clone()));
        LinkHandle {
            input: tx,
            task,
            generation,
        }
    }

    /// Hands a `signal.data` value from this link's peer to the link.
    pub(crate) fn signal(&self, data: Value) {
        let _ = self.input.send(LinkInput::Signal(data));
    }

    /// Sends text on the data channel once it is open (dropped if it is not).
    pub(crate) fn send_text(&self, text: String) {
        let _ = self.input.send(LinkInput::SendText(text));
    }

    /// Closes the peer connection and waits for the task to end.
    pub(crate) async fn close(self) {
        let _ = self.input.send(LinkInput::Close);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(CLOSE_TIMEOUT, self.task)
            .await
            .is_err()
        {
            warn!("link close timed out; aborting its task");
            abort.abort();
        }
    }
}

/// Forwards driver callbacks into the link task; never blocks the driver.
struct Handler {
    tx: mpsc::UnboundedSender<LinkInput>,
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
async fn build_peer_connection(
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

/// The state of one link task.
struct Link {
    ctx: LinkContext,
    pc: Arc<dyn PeerConnection>,
    channel: Option<Arc<dyn DataChannel>>,
    making_offer: bool,
    ignore_offer: bool,
    offered: bool,
    local_mid: Option<String>,
    next_ping: u64,
    readers: Vec<JoinHandle<()>>,
    /// Until when to nudge the driver (set when the connection becomes connected).
    nudge_until: Option<Instant>,
    /// Our offer is out and no answer applied yet: local candidates wait here.
    awaiting_answer: bool,
    held_candidates: Vec<Value>,
}

async fn run(
    ctx: LinkContext,
    mut input: mpsc::UnboundedReceiver<LinkInput>,
    self_tx: mpsc::UnboundedSender<LinkInput>,
) {
    let pc = match build_peer_connection(&ctx.config, Handler { tx: self_tx }).await {
        Ok(pc) => pc,
        Err(e) => {
            warn!(peer = %ctx.peer_id, "cannot create a peer connection: {e}");
            let msg = e.to_string();
            ctx.shared
                .update_link(&ctx.peer_id, ctx.generation, |l| l.last_error = Some(msg));
            // Stay alive until closed, so the session's bookkeeping stays simple.
            while let Some(msg) = input.recv().await {
                if matches!(msg, LinkInput::Close) {
                    break;
                }
            }
            return;
        }
    };
    let ping_interval = ctx.config.ping_interval;
    let mut link = Link {
        ctx,
        pc,
        channel: None,
        making_offer: false,
        ignore_offer: false,
        offered: false,
        local_mid: None,
        next_ping: 1,
        readers: Vec::new(),
        nudge_until: None,
        awaiting_answer: false,
        held_candidates: Vec::new(),
    };
    if link.ctx.offerer {
        link.open_channel().await;
    }
    let mut ping = tokio::time::interval(ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut nudge = tokio::time::interval(NUDGE_EVERY);
    nudge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let fallback = tokio::time::sleep(OFFER_FALLBACK);
    tokio::pin!(fallback);
    let mut fallback_armed = link.ctx.offerer;
    loop {
        tokio::select! {
            msg = input.recv() => match msg {
                None | Some(LinkInput::Close) => break,
                Some(msg) => link.handle(msg).await,
            },
            _ = ping.tick() => link.ping().await,
            _ = nudge.tick(), if link.nudge_until.is_some() => link.nudge().await,
            _ = &mut fallback, if fallback_armed => {
                fallback_armed = false;
                if !link.offered {
                    debug!(peer = %link.ctx.peer_id, "no negotiationneeded yet; offering anyway");
                    link.negotiate().await;
                }
            }
        }
    }
    link.shutdown().await;
}

impl Link {
    fn record_error(&self, what: &str, e: impl std::fmt::Display) {
        let msg = format!("{what}: {e}");
        debug!(peer = %self.ctx.peer_id, "{msg}");
        self.ctx
            .shared
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.last_error = Some(msg)
            });
    }

    /// Sends a local candidate, or holds it while our offer awaits its answer.
    ///
    /// Why hold: the answerer starts ICE checks as soon as it has our candidates, and
    /// they reach us before its answer does. webrtc 0.21's agent, not yet started
    /// (no remote credentials), answers such checks with a role conflict, and the pair
    /// then waits ~1 s for a retry (measured: one pair in three of a 4-probe mesh).
    /// Sending our candidates after the answer costs one signaling hop and makes the
    /// answerer's checks arrive when our agent is ready. Browsers just see a later trickle.
    fn send_local_candidate(&mut self, data: Value) {
        if self.awaiting_answer {
            self.held_candidates.push(data);
        } else {
            self.send_signal(data);
        }
    }

    fn send_signal(&self, data: Value) {
        let _ = self
            .ctx
            .outbound
            .send((self.ctx.peer_id.clone(), self.ctx.generation, data));
    }

    /// The newcomer's side: create the `lanmeet` channel (and, if asked, recvonly media
    /// transceivers) before the first offer, so the offer carries them.
    async fn open_channel(&mut self) {
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        match self.pc.create_data_channel(CHANNEL_LABEL, Some(init)).await {
            Ok(dc) => self.attach_channel(dc),
            Err(e) => self.record_error("create data channel", e),
        }
        if self.ctx.config.recv_media {
            for kind in [
                rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
                rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
            ] {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                if let Err(e) = self.pc.add_transceiver_from_kind(kind, Some(init)).await {
                    self.record_error("add recvonly transceiver", e);
                }
            }
        }
    }

    async fn handle(&mut self, msg: LinkInput) {
        match msg {
            LinkInput::Signal(data) => self.on_signal(data).await,
            LinkInput::Event(event) => self.on_event(event).await,
            LinkInput::SendText(text) => {
                if let Some(dc) = &self.channel
                    && let Err(e) = dc.send_text(&text).await
                {
                    self.record_error("send", e);
                }
            }
            LinkInput::Close => {}
        }
    }

    /// True in the `stable` signaling state. Read from the pending descriptions rather
    /// than from state-change events, which reach this task later than the change.
    async fn is_stable(&self) -> bool {
        self.pc.pending_local_description().await.is_none()
            && self.pc.pending_remote_description().await.is_none()
    }

    /// Makes and sends an offer, unless a negotiation is already under way.
    async fn negotiate(&mut self) {
        if !self.is_stable().await {
            debug!(peer = %self.ctx.peer_id, "negotiation needed while not stable; later");
            return;
        }
        self.making_offer = true;
        let result = async {
            let offer = self.pc.create_offer(None).await?;
            self.pc.set_local_description(offer.clone()).await?;
            Ok::<_, webrtc::error::Error>(offer)
        }
        .await;
        self.making_offer = false;
        match result {
            Ok(offer) => {
                debug!(peer = %self.ctx.peer_id, "offer sent");
                self.offered = true;
                self.awaiting_answer = true;
                self.local_mid = first_mid(&offer.sdp);
                self.send_signal(SignalData::description("offer", &offer.sdp));
            }
            Err(e) => self.record_error("offer", e),
        }
    }

    async fn on_signal(&mut self, data: Value) {
        match SignalData::parse(&data) {
            SignalData::Description { kind, sdp } => self.on_description(&kind, sdp).await,
            SignalData::Candidate(Some(c)) => {
                let init = RTCIceCandidateInit {
                    candidate: c.candidate,
                    sdp_mid: c.sdp_mid,
                    sdp_mline_index: c.sdp_mline_index,
                    username_fragment: c.username_fragment,
                    url: None,
                };
                if let Err(e) = self.pc.add_ice_candidate(init).await {
                    // Candidates of an ignored offer fail by design; `.local` (mDNS)
                    // candidates fail because the probe does not resolve them.
                    if !self.ignore_offer {
                        self.record_error("add candidate", e);
                    }
                }
            }
            SignalData::Candidate(None) => {}
            SignalData::Other => debug!(peer = %self.ctx.peer_id, "ignoring signal {data}"),
        }
    }

    /// The perfect-negotiation handling of a remote description.
    async fn on_description(&mut self, kind: &str, sdp: String) {
        let is_offer = kind == "offer";
        let collision = is_offer && (self.making_offer || !self.is_stable().await);
        self.ignore_offer = !self.ctx.polite && collision;
        if self.ignore_offer {
            debug!(peer = %self.ctx.peer_id, "impolite: ignoring a colliding offer");
            return;
        }
        if collision {
            let rollback = serde_json::from_value::<RTCSessionDescription>(
                serde_json::json!({"type": "rollback", "sdp": ""}),
            );
            match rollback {
                Ok(rb) => {
                    if let Err(e) = self.pc.set_local_description(rb).await {
                        self.record_error("rollback", e);
                    }
                }
                Err(e) => self.record_error("rollback", e),
            }
        }
        let desc = match kind {
            "offer" => RTCSessionDescription::offer(sdp),
            "answer" => RTCSessionDescription::answer(sdp),
            "pranswer" => RTCSessionDescription::pranswer(sdp),
            other => {
                debug!(peer = %self.ctx.peer_id, "ignoring description of type {other}");
                return;
            }
        };
        let result = async {
            self.pc.set_remote_description(desc?).await?;
            if is_offer {
                let answer = self.pc.create_answer(None).await?;
                self.pc.set_local_description(answer.clone()).await?;
                return Ok::<_, webrtc::error::Error>(Some(answer));
            }
            Ok(None)
        }
        .await;
        match result {
            Ok(answer) => {
                debug!(peer = %self.ctx.peer_id, "remote {kind} applied");
                self.ctx
                    .shared
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                        l.descriptions_applied += 1
                    });
                if let Some(answer) = answer {
                    if self.local_mid.is_none() {
                        self.local_mid = first_mid(&answer.sdp);
                    }
                    self.send_signal(SignalData::description("answer", &answer.sdp));
                }
                self.awaiting_answer = false;
                for candidate in std::mem::take(&mut self.held_candidates) {
                    self.send_signal(candidate);
                }
            }
            Err(e) => self.record_error(&format!("apply remote {kind}"), e),
        }
    }

    async fn on_event(&mut self, event: PcEvent) {
        match event {
            PcEvent::NegotiationNeeded => self.negotiate().await,
            PcEvent::Candidate(event) => match event.candidate.to_json() {
                Ok(init) => {
                    if self.local_mid.is_none() {
                        self.local_mid = self
                            .pc
                            .local_description()
                            .await
                            .and_then(|d| first_mid(&d.sdp));
                    }
                    // The core leaves sdpMid empty; browsers need the real mid of the
                    // bundled (first) m-line to place the candidate.
                    let c = CandidateJson {
                        candidate: init.candidate,
                        sdp_mid: Some(self.local_mid.clone().unwrap_or_else(|| "0".into())),
                        sdp_mline_index: Some(0),
                        username_fragment: None,
                    };
                    self.send_local_candidate(SignalData::candidate(Some(&c)));
                }
                Err(e) => self.record_error("local candidate", e),
            },
            PcEvent::Gathering(state) => {
                if state == RTCIceGatheringState::Complete {
                    self.send_local_candidate(SignalData::candidate(None));
                }
            }
            PcEvent::Connection(state) => {
                debug!(peer = %self.ctx.peer_id, "peer connection {state}");
                if state == RTCPeerConnectionState::Connected {
                    self.nudge_until = Some(Instant::now() + NUDGE_FOR);
                    self.nudge().await;
                }
                let s = state.to_string();
                self.ctx
                    .shared
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                        l.connection_state = s
                    });
            }
            PcEvent::Ice(state) => {
                debug!(peer = %self.ctx.peer_id, "ICE {state}");
                let s = state.to_string();
                self.ctx
                    .shared
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| l.ice_state = s);
            }
            PcEvent::Channel(dc) => match dc.label().await {
                Ok(label) if label == CHANNEL_LABEL => self.attach_channel(dc),
                Ok(label) => debug!(peer = %self.ctx.peer_id, "ignoring data channel {label:?}"),
                Err(e) => self.record_error("data channel", e),
            },
            PcEvent::Track(track) => {
                let reader = tokio::spawn(read_track(
                    track,
                    self.ctx.shared.clone(),
                    self.ctx.peer_id.clone(),
                    self.ctx.generation,
                ));
                self.readers.push(reader);
            }
        }
    }

    fn attach_channel(&mut self, dc: Arc<dyn DataChannel>) {
        self.channel = Some(dc.clone());
        let reader = tokio::spawn(read_channel(
            dc,
            self.ctx.shared.clone(),
            self.ctx.peer_id.clone(),
            self.ctx.generation,
        ));
        self.readers.push(reader);
    }

    /// Works around a stall in webrtc 0.21.1's driver: packets the SCTP layer queues
    /// while handling an *event* (the client INIT right after the DTLS handshake, the
    /// DCEP open right after the association is up) are flushed only on the driver's
    /// next wake-up, which can be a protocol timer ~200 ms away; measured, the channel
    /// opened ~400 ms after `connected`. Any data-channel setter wakes the driver's
    /// write path, so between `connected` and the channel opening we call one with the
    /// value it already has, every few ms.
    async fn nudge(&mut self) {
        let open = self
            .ctx
            .shared
            .read_link(&self.ctx.peer_id, self.ctx.generation, |l| l.channel_open)
            .unwrap_or(true);
        let expired = self.nudge_until.is_none_or(|t| Instant::now() >= t);
        if open || expired {
            self.nudge_until = None;
            return;
        }
        if let Some(dc) = &self.channel {
            let _ = dc.set_buffered_amount_high_threshold(u32::MAX).await;
        }
    }

    async fn ping(&mut self) {
        let Some(dc) = self.channel.clone() else {
            return;
        };
        let open = self
            .ctx
            .shared
            .read_link(&self.ctx.peer_id, self.ctx.generation, |l| l.channel_open)
            .unwrap_or(false);
        if !open {
            return;
        }
        let id = self.next_ping;
        self.next_ping += 1;
        let now = Instant::now();
        self.ctx
            .shared
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.pending_pings
                    .retain(|_, sent| now.duration_since(*sent) < PING_EXPIRY);
                l.pending_pings.insert(id, now);
                l.pings_sent += 1;
            });
        if let Err(e) = dc.send_text(&ChannelMessage::ping(id)).await {
            self.record_error("ping", e);
        }
    }

    async fn shutdown(mut self) {
        if let Some(dc) = self.channel.take() {
            let _ = dc.close().await;
        }
        if let Err(e) = self.pc.close().await {
            debug!(peer = %self.ctx.peer_id, "close: {e}");
        }
        // Closing ends the channel and track streams; the readers then return.
        for reader in self.readers.drain(..) {
            let abort = reader.abort_handle();
            if tokio::time::timeout(CLOSE_TIMEOUT, reader).await.is_err() {
                abort.abort();
            }
        }
        self.ctx
            .shared
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.channel_open = false;
                l.connection_state = "closed".into();
            });
    }
}

/// Reads the `lanmeet` channel: marks it open, answers pings at once, matches pongs
/// to our pings, keeps chat and state messages.
async fn read_channel(
    dc: Arc<dyn DataChannel>,
    shared: Arc<Shared>,
    peer_id: String,
    generation: u64,
) {
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                debug!(peer = %peer_id, "channel open");
                let now = Instant::now();
                shared.update_link(&peer_id, generation, |l| {
                    l.channel_open = true;
                    if l.opened_at.is_none() {
                        l.opened_at = Some(now);
                        l.connect_ms = Some(now.duration_since(l.created_at).as_secs_f64() * 1e3);
                    }
                });
            }
            DataChannelEvent::OnMessage(msg) => {
                let received = Instant::now();
                let text = String::from_utf8_lossy(&msg.data);
                let parsed = ChannelMessage::parse(&text);
                if let ChannelMessage::Ping(id) = &parsed {
                    if let Err(e) = dc.send_text(&ChannelMessage::pong(id)).await {
                        debug!(peer = %peer_id, "pong: {e}");
                    }
                }
                shared.update_link(&peer_id, generation, |l| {
                    l.messages_received += 1;
                    match parsed {
                        ChannelMessage::Ping(_) => l.pings_answered += 1,
                        ChannelMessage::Pong(Some(id)) => {
                            if let Some(sent) = l.pending_pings.remove(&id) {
                                l.pongs_received += 1;
                                l.push_rtt(received.duration_since(sent));
                            }
                        }
                        ChannelMessage::Chat { text, ts } => l.push_chat(ChatMessage { text, ts }),
                        ChannelMessage::State(v) => l.remote_state = Some(v),
                        ChannelMessage::Pong(None) | ChannelMessage::Other => {}
                    }
                });
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    shared.update_link(&peer_id, generation, |l| l.channel_open = false);
}

/// Counts the RTP packets of one inbound track.
async fn read_track(
    track: Arc<dyn TrackRemote>,
    shared: Arc<Shared>,
    peer_id: String,
    generation: u64,
) {
    let kind = track.kind().await.to_string();
    let track_id = track.track_id().await;
    let index = shared.update_link(&peer_id, generation, |l| {
        l.tracks.push(TrackStats {
            kind,
            track_id,
            packets: 0,
            bytes: 0,
        });
        l.tracks.len() - 1
    });
    let Some(index) = index else { return };
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let len = packet.payload.len() as u64;
                shared.update_link(&peer_id, generation, |l| {
                    if let Some(t) = l.tracks.get_mut(index) {
                        t.packets += 1;
                        t.bytes += len;
                    }
                });
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}

/// The first `a=mid:` of an SDP: with BUNDLE, the m-line every candidate belongs to.
fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=mid:"))
        .map(|m| m.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_mid_of_sdp() {
        let sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\nm=audio 9 x\r\na=mid:1\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
