//! One bridged peer connection: a task that owns the `PeerConnection` and carries out
//! the page's requests for it in order, reports the stack's events to the page, reads
//! its data channels and inbound tracks, and runs its media senders.
//!
//! Ordering is the point of the task: the page's perfect negotiation (ui/peer.js)
//! awaits each call before the next, and the bridge keeps that order per connection
//! while different connections proceed independently.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lanmeet_native_peer::channel::{NUDGE_EVERY, NUDGE_FOR};
use lanmeet_native_peer::media::{Codec, FrameAssembler, negotiated_payload_type, outbound_track};
use lanmeet_native_peer::{
    EventForwarder, IceServer, LocalCandidates, PcEvent, PeerSettings, is_keyframe_request, sdp,
    signal,
};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, RTCIceGatheringState, RTCSessionDescription, RTCSignalingState,
};
use webrtc::rtp_transceiver::{
    RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpSender, RtpTransceiver,
};

use crate::error::PageError;
use crate::outbox::Outbox;
use crate::rtp_out::RtpOut;
use crate::server::BridgeStats;
use crate::sources::Sources;
use crate::wire::{self, Description, Direction, Kind, Op, PageFrame, RemoteFrame};

/// Data channels a connection may hold at most (the UI uses one).
pub const MAX_CHANNELS: usize = 8;
/// Ids of channels the remote opens start here; the page's own are below.
pub const REMOTE_CHANNEL_BASE: u32 = 1 << 31;
/// Requests queued for one connection at most; more are answered `busy`-free by
/// waiting (the session awaits room), so a page cannot grow this.
const INPUT_QUEUE: usize = 64;
/// How long closing may take before the tasks are aborted.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Keyframe requests (PLI) to one remote at most this often.
const PLI_INTERVAL: Duration = Duration::from_millis(200);

/// What the bridge needs to build connections.
#[derive(Debug, Clone)]
pub(crate) struct PeerDefaults {
    /// Local address for the UDP sockets (host candidates).
    pub(crate) bind_addr: std::net::IpAddr,
    /// More addresses, read at each connection (none for a loopback bridge).
    pub(crate) more_addrs: Option<crate::server::AddressSource>,
    /// ICE check interval.
    pub(crate) ice_check_interval: Duration,
    /// Which time video RTP timestamps follow.
    pub(crate) video_clock: crate::rtp_out::VideoClock,
}

/// At most this many host addresses besides the peer address (a machine with dozens
/// of interfaces gets no more sockets per connection than this).
const MORE_ADDRS: usize = 8;

impl PeerDefaults {
    /// The other addresses to bind now: what the source gives, of the peer address's
    /// family and kind (a loopback bridge, in tests, binds only loopback; a real one
    /// never binds loopback), at most [`MORE_ADDRS`].
    pub(crate) fn more_addrs(&self) -> Vec<std::net::IpAddr> {
        let Some(source) = &self.more_addrs else {
            return Vec::new();
        };
        let primary = self.bind_addr;
        if primary.is_unspecified() {
            return Vec::new();
        }
        (source.0)()
            .into_iter()
            .filter(|ip| {
                *ip != primary
                    && ip.is_ipv4() == primary.is_ipv4()
                    && ip.is_loopback() == primary.is_loopback()
                    && !ip.is_unspecified()
            })
            .take(MORE_ADDRS)
            .collect()
    }
}

/// The session's handle on a peer task.
pub(crate) struct PeerHandle {
    input: mpsc::Sender<(u64, Op)>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl PeerHandle {
    /// Hands a request to the task (waits for room: requests are never dropped).
    pub(crate) async fn request(&self, id: u64, op: Op) -> bool {
        self.input.send((id, op)).await.is_ok()
    }

    /// Closes the connection and waits for every task of it to end.
    pub(crate) async fn close(self) {
        self.cancel.cancel();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(CLOSE_TIMEOUT, self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Counters of one connection (`getStats`).
#[derive(Default)]
struct Counters {
    frames_received: AtomicU64,
    frames_sent: AtomicU64,
    frames_dropped: AtomicU64,
    keyframe_requests_sent: AtomicU64,
    keyframe_requests_received: AtomicU64,
}

/// Starts the task of connection `pc`. Fails (answered to the page) if the stack
/// cannot build the connection.
pub(crate) async fn spawn(
    pc_id: u32,
    ice_servers: Vec<IceServer>,
    defaults: &PeerDefaults,
    outbox: Outbox,
    sources: Arc<Sources>,
    stats: Arc<BridgeStats>,
) -> Result<PeerHandle, PageError> {
    let (tx, rx) = mpsc::channel(INPUT_QUEUE);
    // Driver callbacks must never wait: an unbounded channel, drained by the task.
    let (etx, erx) = mpsc::unbounded_channel();
    let forwarder = EventForwarder::new(move |e| {
        let _ = etx.send(e);
    });
    let settings = PeerSettings {
        bind_addr: defaults.bind_addr,
        more_addrs: defaults.more_addrs(),
        ice_check_interval: defaults.ice_check_interval,
        ice_servers,
        keyframe_requests: true,
    };
    let pc = lanmeet_native_peer::build(&settings, Arc::new(forwarder)).await?;
    let cancel = CancellationToken::new();
    let task = PeerTask {
        id: pc_id,
        pc,
        outbox,
        sources,
        cancel: cancel.clone(),
        video_clock: defaults.video_clock,
        tracker: TaskTracker::new(),
        channels: HashMap::new(),
        next_remote_channel: REMOTE_CHANNEL_BASE,
        senders: HashMap::new(),
        remote_video: Vec::new(),
        params: HashMap::new(),
        held_candidates: Vec::new(),
        local_candidates: LocalCandidates::default(),
        counters: Arc::new(Counters::default()),
        nudge_until: None,
        last_pli: None,
        connection_state: "new".into(),
        ice_state: "new".into(),
        secured: Arc::new(AtomicBool::new(false)),
    };
    stats.peers.fetch_add(1, Ordering::Relaxed);
    let handle = tokio::spawn(async move {
        task.run(rx, erx).await;
        stats.peers.fetch_sub(1, Ordering::Relaxed);
    });
    Ok(PeerHandle {
        input: tx,
        cancel,
        task: handle,
    })
}

/// A transceiver that sends the page's encoding.
struct SenderSlot {
    kind: Kind,
    /// Whether it sends now (`replaceTrack(track)` vs `replaceTrack(null)`).
    active: Arc<AtomicBool>,
}

struct PeerTask {
    id: u32,
    pc: Arc<dyn PeerConnection>,
    outbox: Outbox,
    sources: Arc<Sources>,
    cancel: CancellationToken,
    video_clock: crate::rtp_out::VideoClock,
    /// Every task of this connection (channel and track readers, senders).
    tracker: TaskTracker,
    channels: HashMap<u32, Arc<dyn DataChannel>>,
    next_remote_channel: u32,
    senders: HashMap<usize, SenderSlot>,
    remote_video: Vec<Arc<dyn TrackRemote>>,
    params: HashMap<usize, Value>,
    /// Local candidates held while our offer awaits its answer (native-peer's
    /// `Action::HoldCandidate` explains why).
    held_candidates: Vec<Value>,
    local_candidates: LocalCandidates,
    counters: Arc<Counters>,
    nudge_until: Option<Instant>,
    last_pli: Option<Instant>,
    connection_state: String,
    ice_state: String,
    /// Set when the connection first connects: DTLS is done and SRTP has its keys.
    /// Senders write nothing before (packets written earlier would be dropped inside
    /// webrtc, each with a warning); they hold the last keyframe and what follows it
    /// and send those first ([`hold_until_secured`]). Never cleared: an ICE restart
    /// keeps the DTLS session.
    secured: Arc<AtomicBool>,
}

impl PeerTask {
    async fn run(
        mut self,
        mut input: mpsc::Receiver<(u64, Op)>,
        mut events: mpsc::UnboundedReceiver<PcEvent>,
    ) {
        let mut nudge = tokio::time::interval(NUDGE_EVERY);
        nudge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                msg = input.recv() => match msg {
                    Some((id, op)) => {
                        let started = std::time::Instant::now();
                        let name = op.name();
                        let reply = self.handle(op).await;
                        debug!(pc = self.id, op = name, us = started.elapsed().as_micros() as u64, "request answered");
                        self.outbox.text(match reply {
                            Ok(v) => wire::ok(id, v),
                            Err(e) => wire::error(Some(id), &e),
                        });
                        self.flush_candidates().await;
                    }
                    None => break,
                },
                e = events.recv() => match e {
                    Some(e) => self.on_event(e).await,
                    None => break,
                },
                _ = nudge.tick(), if self.nudge_until.is_some() => self.nudge().await,
            }
        }
        self.shutdown().await;
    }

    fn emit(&self, name: &str, mut fields: Value) {
        if let Some(o) = fields.as_object_mut() {
            o.insert("pc".into(), json!(self.id));
        }
        self.outbox.text(wire::event(name, fields));
    }

    async fn shutdown(self) {
        self.cancel.cancel();
        for dc in self.channels.values() {
            let _ = dc.close().await;
        }
        if let Err(e) = self.pc.close().await {
            debug!(pc = self.id, "close: {e}");
        }
        self.tracker.close();
        if tokio::time::timeout(CLOSE_TIMEOUT, self.tracker.wait())
            .await
            .is_err()
        {
            debug!(pc = self.id, "tasks did not end in time");
        }
    }

    async fn signaling_state(&self) -> &'static str {
        if let Some(d) = self.pc.pending_local_description().await {
            return if d.sdp_type.to_string() == "offer" {
                "have-local-offer"
            } else {
                "have-local-pranswer"
            };
        }
        if self.pc.pending_remote_description().await.is_some() {
            return "have-remote-offer";
        }
        "stable"
    }

    async fn flush_candidates(&mut self) {
        if self.held_candidates.is_empty() || self.signaling_state().await == "have-local-offer" {
            return;
        }
        for c in std::mem::take(&mut self.held_candidates) {
            self.emit("icecandidate", json!({ "candidate": c }));
        }
    }

    async fn handle(&mut self, op: Op) -> Result<Value, PageError> {
        match op {
            Op::CreatePeer { pc, .. } => Err(PageError::PeerExists(pc)),
            Op::ClosePeer { .. } => Ok(json!({})),
            Op::CreateOffer { ice_restart, .. } => {
                if ice_restart {
                    self.pc.restart_ice().await?;
                }
                let offer = self.pc.create_offer(None).await?;
                Ok(json!({"description": describe(&offer)}))
            }
            Op::CreateAnswer { .. } => {
                let answer = self.pc.create_answer(None).await?;
                Ok(json!({"description": describe(&answer)}))
            }
            Op::SetLocalDescription { description, .. } => {
                let desc = match description {
                    Some(d) => to_rtc(&d)?,
                    None => {
                        if self.signaling_state().await == "have-remote-offer" {
                            self.pc.create_answer(None).await?
                        } else {
                            self.pc.create_offer(None).await?
                        }
                    }
                };
                self.pc.set_local_description(desc).await?;
                let local = self.pc.local_description().await;
                if let Some(l) = &local {
                    self.local_candidates.set_local_description(&l.sdp);
                }
                // The transceivers too (their mids are set now): the page mirrors them
                // from this answer instead of asking again before its offer goes out.
                Ok(json!({
                    "description": local.as_ref().map(describe),
                    "signalingState": self.signaling_state().await,
                    "transceivers": self.transceivers().await,
                }))
            }
            Op::SetRemoteDescription { description, .. } => {
                let desc = to_rtc(&description)?;
                self.pc.set_remote_description(desc).await?;
                Ok(json!({
                    "signalingState": self.signaling_state().await,
                    "transceivers": self.transceivers().await,
                }))
            }
            Op::AddIceCandidate { candidate, .. } => {
                match candidate {
                    Some(c) if !c.candidate.is_empty() => {
                        self.pc.add_ice_candidate(c.into_init()).await?;
                    }
                    _ => {}
                }
                Ok(json!({}))
            }
            Op::RestartIce { .. } => {
                self.pc.restart_ice().await?;
                // As in a browser: restartIce() makes negotiation needed, and the next
                // offer (implicit or not) carries new ICE credentials. webrtc 0.21
                // does not fire the event itself.
                self.emit("negotiationneeded", json!({}));
                Ok(json!({}))
            }
            Op::AddTransceiver {
                kind,
                direction,
                send,
                sending,
                encodings,
                ..
            } => {
                let init = RTCRtpTransceiverInit {
                    direction: rtc_direction(direction),
                    streams: vec![],
                    send_encodings: vec![],
                };
                let t = if send {
                    let track = local_track(kind)?;
                    let t = self
                        .pc
                        .add_transceiver_from_track(track.clone(), Some(init))
                        .await?;
                    self.start_sender(t.id(), kind, track, sending.unwrap_or(true));
                    t
                } else {
                    self.pc
                        .add_transceiver_from_kind(rtc_kind(kind), Some(init))
                        .await?
                };
                if let Some(encodings) = encodings {
                    self.params.insert(t.id(), encodings);
                }
                Ok(json!({"transceiver": self.describe_transceiver(&t).await}))
            }
            Op::SetDirection {
                transceiver,
                direction,
                ..
            } => {
                let t = self.transceiver(transceiver).await?;
                t.set_direction(rtc_direction(direction)).await?;
                Ok(json!({}))
            }
            Op::SetSending {
                transceiver, send, ..
            } => {
                if let Some(slot) = self.senders.get(&transceiver) {
                    let was = slot.active.swap(send, Ordering::Relaxed);
                    if send && !was {
                        self.sources.want_keyframe(slot.kind, None);
                    }
                    return Ok(json!({}));
                }
                if !send {
                    // Nothing sends on it: nothing to stop.
                    self.transceiver(transceiver).await?;
                    return Ok(json!({}));
                }
                // A transceiver the remote's offer made: give it a sender (webrtc's
                // addTrack reuses a transceiver of the kind that has none).
                let t = self.transceiver(transceiver).await?;
                let kind = self
                    .kind_of(&t)
                    .await
                    .ok_or(PageError::NoSuchTransceiver(transceiver))?;
                let track = local_track(kind)?;
                let sender = self.pc.add_track(track.clone()).await?;
                let id: usize = sender.id().into();
                self.start_sender(id, kind, track, true);
                Ok(json!({"transceiver": id}))
            }
            Op::SetParameters {
                transceiver,
                encodings,
                ..
            } => {
                self.transceiver(transceiver).await?;
                self.params.insert(transceiver, encodings);
                Ok(json!({}))
            }
            Op::GetTransceivers { .. } => Ok(json!({"transceivers": self.transceivers().await})),
            Op::CreateDataChannel {
                channel,
                label,
                ordered,
                ..
            } => {
                if channel >= REMOTE_CHANNEL_BASE {
                    return Err(PageError::BadRequest(format!(
                        "channel ids of the page are below {REMOTE_CHANNEL_BASE}"
                    )));
                }
                if self.channels.contains_key(&channel) {
                    return Err(PageError::BadRequest(format!("channel {channel} exists")));
                }
                if self.channels.len() >= MAX_CHANNELS {
                    return Err(PageError::TooManyChannels(MAX_CHANNELS));
                }
                let init = RTCDataChannelInit {
                    ordered,
                    ..Default::default()
                };
                let dc = self.pc.create_data_channel(&label, Some(init)).await?;
                self.attach_channel(channel, dc);
                Ok(json!({}))
            }
            Op::SendData { channel, data, .. } => {
                let dc = self
                    .channels
                    .get(&channel)
                    .ok_or(PageError::NoSuchChannel(channel))?;
                dc.send_text(&data).await?;
                Ok(json!({}))
            }
            Op::CloseDataChannel { channel, .. } => {
                let dc = self
                    .channels
                    .remove(&channel)
                    .ok_or(PageError::NoSuchChannel(channel))?;
                let _ = dc.close().await;
                Ok(json!({}))
            }
            Op::GetStats { .. } => {
                let c = &self.counters;
                // The pair ICE chose, as the page's shim maps it to a `candidate-pair`
                // report (ui/peer.js reads whether it is relayed); null until connected.
                let pair = lanmeet_native_peer::selected_pair(&*self.pc).await;
                Ok(json!({
                    "selectedPair": pair,
                    "connectionState": self.connection_state,
                    "iceConnectionState": self.ice_state,
                    "framesReceived": c.frames_received.load(Ordering::Relaxed),
                    "framesSent": c.frames_sent.load(Ordering::Relaxed),
                    "framesDropped": c.frames_dropped.load(Ordering::Relaxed),
                    "keyframeRequestsSent": c.keyframe_requests_sent.load(Ordering::Relaxed),
                    "keyframeRequestsReceived": c.keyframe_requests_received.load(Ordering::Relaxed),
                    "pageFramesDropped": self.outbox.stats().frames_dropped.load(Ordering::Relaxed),
                    "pageMaxBacklogBytes": self.outbox.stats().max_media_backlog.load(Ordering::Relaxed),
                }))
            }
            Op::RequestKeyframe { .. } => {
                self.last_pli = None;
                self.send_pli().await;
                Ok(json!({}))
            }
        }
    }

    async fn transceiver(&self, id: usize) -> Result<Arc<dyn RtpTransceiver>, PageError> {
        self.pc
            .get_transceivers()
            .await
            .into_iter()
            .find(|t| t.id() == id)
            .ok_or(PageError::NoSuchTransceiver(id))
    }

    async fn describe_transceiver(&self, t: &Arc<dyn RtpTransceiver>) -> Value {
        let id = t.id();
        let mid = t.mid().await.ok().flatten();
        let direction = t.direction().await.map(|d| d.to_string()).ok();
        let current = t.current_direction().await.map(|d| d.to_string()).ok();
        let kind = self.kind_of(t).await.map(Kind::as_str);
        json!({
            "id": id,
            "mid": mid,
            "kind": kind,
            "direction": direction,
            "currentDirection": current,
            "sending": self.senders.get(&id).is_some_and(|s| s.active.load(Ordering::Relaxed)),
            "encodings": self.params.get(&id),
        })
    }

    /// A transceiver's kind: from its sender, its receiver's track, or (made by the
    /// remote's offer, nothing arrived yet) its m-section in the remote description.
    async fn kind_of(&self, t: &Arc<dyn RtpTransceiver>) -> Option<Kind> {
        if let Some(s) = self.senders.get(&t.id()) {
            return Some(s.kind);
        }
        if let Ok(Some(r)) = t.receiver().await {
            return Some(wire_kind(r.track().kind().await));
        }
        let mid = t.mid().await.ok().flatten()?;
        let remote = self.pc.remote_description().await?;
        match sdp::media_of_mid(&remote.sdp, &mid)? {
            "audio" => Some(Kind::Audio),
            "video" => Some(Kind::Video),
            _ => None,
        }
    }

    async fn transceivers(&self) -> Vec<Value> {
        let mut ts = self.pc.get_transceivers().await;
        ts.sort_by_key(|t| t.id());
        let mut out = Vec::with_capacity(ts.len());
        for t in &ts {
            out.push(self.describe_transceiver(t).await);
        }
        out
    }

    async fn on_event(&mut self, event: PcEvent) {
        match event {
            PcEvent::NegotiationNeeded => self.emit("negotiationneeded", json!({})),
            PcEvent::Candidate(e) => match self.local_candidates.to_json(&*self.pc, &e).await {
                Ok(c) => {
                    let c = json!(c);
                    if self.signaling_state().await == "have-local-offer" {
                        self.held_candidates.push(c);
                    } else {
                        self.emit("icecandidate", json!({ "candidate": c }));
                    }
                }
                Err(e) => debug!(pc = self.id, "local candidate: {e}"),
            },
            PcEvent::Gathering(state) => {
                self.emit(
                    "icegatheringstatechange",
                    json!({"state": state.to_string()}),
                );
                if state == RTCIceGatheringState::Complete {
                    if self.held_candidates.is_empty() {
                        self.emit("icecandidate", json!({"candidate": null}));
                    } else {
                        self.held_candidates.push(Value::Null);
                    }
                }
            }
            PcEvent::Signaling(state) => {
                let s = match state {
                    RTCSignalingState::Closed => "closed".to_owned(),
                    other => other.to_string(),
                };
                self.emit("signalingstatechange", json!({ "state": s }));
            }
            PcEvent::Connection(state) => {
                self.connection_state = state.to_string();
                if self.connection_state == "connected" {
                    self.nudge_until = Some(Instant::now() + NUDGE_FOR);
                    self.secured.store(true, Ordering::Relaxed);
                }
                self.emit(
                    "connectionstatechange",
                    json!({"state": self.connection_state}),
                );
            }
            PcEvent::Ice(state) => {
                self.ice_state = state.to_string();
                self.emit("iceconnectionstatechange", json!({"state": self.ice_state}));
            }
            PcEvent::Channel(dc) => {
                if self.channels.len() >= MAX_CHANNELS {
                    debug!(pc = self.id, "too many data channels; closing one");
                    let _ = dc.close().await;
                    return;
                }
                let id = self.next_remote_channel;
                self.next_remote_channel = self.next_remote_channel.saturating_add(1);
                let label = dc.label().await.unwrap_or_default();
                let ordered = dc.ordered().await.unwrap_or(true);
                self.emit(
                    "datachannel",
                    json!({"channel": id, "label": label, "ordered": ordered}),
                );
                self.attach_channel(id, dc);
            }
            PcEvent::Track(track) => self.on_track(track).await,
        }
    }

    async fn nudge(&mut self) {
        let expired = self.nudge_until.is_none_or(|t| Instant::now() >= t);
        if expired || self.channels.is_empty() {
            self.nudge_until = None;
            return;
        }
        for dc in self.channels.values() {
            lanmeet_native_peer::channel::nudge(dc.as_ref()).await;
        }
    }

    fn attach_channel(&mut self, id: u32, dc: Arc<dyn DataChannel>) {
        self.channels.insert(id, dc.clone());
        let outbox = self.outbox.clone();
        let pc = self.id;
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = cancel.cancelled() => break,
                    e = dc.poll() => e,
                };
                let Some(event) = event else { break };
                let (name, fields) = match event {
                    DataChannelEvent::OnOpen => ("channelopen", json!({})),
                    DataChannelEvent::OnMessage(msg) => {
                        if msg.is_string {
                            let text = String::from_utf8_lossy(&msg.data).into_owned();
                            ("channelmessage", json!({ "data": text }))
                        } else {
                            debug!(pc, "binary data channel message ignored");
                            continue;
                        }
                    }
                    DataChannelEvent::OnClose => {
                        outbox.text(wire::event(
                            "channelclose",
                            json!({"pc": pc, "channel": id}),
                        ));
                        break;
                    }
                    _ => continue,
                };
                let mut fields = fields;
                if let Some(o) = fields.as_object_mut() {
                    o.insert("pc".into(), json!(pc));
                    o.insert("channel".into(), json!(id));
                }
                outbox.text(wire::event(name, fields));
            }
        });
    }

    async fn on_track(&mut self, track: Arc<dyn TrackRemote>) {
        let kind = wire_kind(track.kind().await);
        let track_id = track.track_id().await;
        let stream_id = track.stream_id().await;
        let mut transceiver = None;
        for t in self.pc.get_transceivers().await {
            if let Ok(Some(r)) = t.receiver().await
                && r.track().track_id().await == track_id
            {
                transceiver = Some(t.id());
                break;
            }
        }
        let transceiver = transceiver.unwrap_or(usize::MAX);
        self.emit(
            "track",
            json!({
                "transceiver": transceiver,
                "kind": kind.as_str(),
                "track": track_id.to_string(),
                "streams": [stream_id.to_string()],
            }),
        );
        if kind == Kind::Video {
            self.remote_video.push(track.clone());
        }
        let reader = TrackReader {
            pc: self.id,
            transceiver: u32::try_from(transceiver).unwrap_or(u32::MAX),
            kind,
            track,
            outbox: self.outbox.clone(),
            counters: self.counters.clone(),
            cancel: self.cancel.clone(),
        };
        self.tracker.spawn(reader.run());
    }

    async fn send_pli(&mut self) {
        let now = Instant::now();
        if self
            .last_pli
            .is_some_and(|t| now.duration_since(t) < PLI_INTERVAL)
        {
            return;
        }
        self.last_pli = Some(now);
        for track in &self.remote_video {
            if let Some(ssrc) = track.ssrcs().await.first().copied() {
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc: ssrc,
                };
                if track.write_rtcp(vec![Box::new(pli)]).await.is_ok() {
                    self.counters
                        .keyframe_requests_sent
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn start_sender(
        &mut self,
        transceiver: usize,
        kind: Kind,
        track: Arc<TrackLocalStaticRTP>,
        sending: bool,
    ) {
        let active = Arc::new(AtomicBool::new(sending));
        self.senders.insert(
            transceiver,
            SenderSlot {
                kind,
                active: active.clone(),
            },
        );
        let pc = self.pc.clone();
        let sources = self.sources.clone();
        let counters = self.counters.clone();
        let cancel = self.cancel.clone();
        let pc_id = self.id;
        let video_clock = self.video_clock;
        let secured = self.secured.clone();
        self.tracker.spawn(async move {
            let (sub, mut frames, need_keyframe) = sources.subscribe(kind);
            let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
            let mut out = FrameWriter {
                pc,
                pc_id,
                transceiver,
                kind,
                ssrc,
                payload_type: None,
                rtp: RtpOut::new(kind, video_clock),
                track: track.clone(),
                sources: sources.clone(),
                counters: counters.clone(),
                need_keyframe: need_keyframe.clone(),
            };
            let mut polling = true;
            let mut held: Vec<Arc<PageFrame>> = Vec::new();
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    f = frames.recv() => {
                        let Some(frame) = f else { break };
                        if !active.load(Ordering::Relaxed) {
                            held.clear();
                            need_keyframe.store(true, Ordering::Relaxed);
                            continue;
                        }
                        if !secured.load(Ordering::Relaxed) {
                            hold_until_secured(&mut held, frame, kind);
                            continue;
                        }
                        // Secured: what was held first (the first keyframe and what
                        // followed it), then this frame (drained in place: no
                        // allocation per frame).
                        for frame in held.drain(..).chain(std::iter::once(frame)) {
                            out.write(&frame).await;
                        }
                    }
                    e = track.poll(), if polling => match e {
                        Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                                counters.keyframe_requests_received.fetch_add(1, Ordering::Relaxed);
                                sources.want_keyframe(kind, Some(pc_id));
                            }
                        }
                        Some(_) => {}
                        None => polling = false,
                    },
                }
            }
            sources.unsubscribe(kind, sub);
        });
    }
}

/// One sender's way from page frames to RTP on its track, once its connection is
/// secured: waits for a keyframe when it must, learns the negotiated payload type
/// (again after a failed write: the stream may have been renegotiated), packetizes.
struct FrameWriter {
    pc: Arc<dyn PeerConnection>,
    pc_id: u32,
    transceiver: usize,
    kind: Kind,
    ssrc: u32,
    /// The negotiated payload type, once known.
    payload_type: Option<u8>,
    rtp: RtpOut,
    track: Arc<TrackLocalStaticRTP>,
    sources: Arc<Sources>,
    counters: Arc<Counters>,
    /// Shared with the sources: set, the sender skips deltas until a keyframe.
    need_keyframe: Arc<AtomicBool>,
}

impl FrameWriter {
    async fn write(&mut self, frame: &PageFrame) {
        if self.need_keyframe.load(Ordering::Relaxed) && !frame.keyframe {
            self.counters.frames_dropped.fetch_add(1, Ordering::Relaxed);
            self.sources.want_keyframe(self.kind, None);
            return;
        }
        if self.payload_type.is_none() {
            self.payload_type = negotiated(&self.pc, self.transceiver, self.kind).await;
        }
        let Some(pt) = self.payload_type else {
            // Not negotiated yet: start with a keyframe once it is.
            self.need_keyframe.store(true, Ordering::Relaxed);
            return;
        };
        self.need_keyframe.store(false, Ordering::Relaxed);
        let packets = self.rtp.packets(
            self.ssrc,
            pt,
            &frame.data,
            frame.timestamp_us,
            Duration::from_micros(u64::from(frame.duration_us)),
            Instant::now(),
        );
        for packet in packets {
            if let Err(e) = self.track.write_rtp_with_extensions(packet, &[]).await {
                debug!(pc = self.pc_id, "write frame: {e}");
                self.counters.frames_dropped.fetch_add(1, Ordering::Relaxed);
                // The stream may have been renegotiated (new PT).
                self.payload_type = None;
                self.need_keyframe.store(true, Ordering::Relaxed);
                return;
            }
        }
        self.counters.frames_sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Video frames a sender keeps at most while its connection is not yet secured
/// (about 2 s at 30 fps: a LAN's DTLS takes milliseconds; a slower one starts over
/// from the next keyframe).
const HELD_FRAMES: usize = 60;

/// Keeps, while a sender's connection is not yet secured, what it can send the moment
/// it is: the page's last video keyframe and the deltas after it, so the remote gets
/// a picture at once instead of after a keyframe request's round trip through the
/// page. Sound is not kept: every Opus frame stands alone, and old sound is better
/// dropped than played late.
fn hold_until_secured(held: &mut Vec<Arc<PageFrame>>, frame: Arc<PageFrame>, kind: Kind) {
    if kind != Kind::Video {
        return;
    }
    if frame.keyframe {
        held.clear();
        held.push(frame);
    } else if !held.is_empty() && held.len() < HELD_FRAMES {
        held.push(frame);
    } else {
        // No keyframe to decode it from, or too long a wait: nothing worth keeping
        // (the first delta once secured asks for a keyframe).
        held.clear();
    }
}

/// The negotiated payload type of the transceiver's sender for `kind`'s codec.
async fn negotiated(pc: &Arc<dyn PeerConnection>, transceiver: usize, kind: Kind) -> Option<u8> {
    let t = pc
        .get_transceivers()
        .await
        .into_iter()
        .find(|t| t.id() == transceiver)?;
    let sender: Arc<dyn RtpSender> = t.sender().await.ok()??;
    negotiated_payload_type(sender.as_ref(), codec_of(kind)).await
}

/// The codec the page encodes for `kind`.
fn codec_of(kind: Kind) -> Codec {
    match kind {
        Kind::Audio => Codec::Opus,
        Kind::Video => Codec::Vp8,
    }
}

/// Reads one inbound track: RTP → whole frames → the page; PLI when frames are lost.
struct TrackReader {
    pc: u32,
    transceiver: u32,
    kind: Kind,
    track: Arc<dyn TrackRemote>,
    outbox: Outbox,
    counters: Arc<Counters>,
    cancel: CancellationToken,
}

impl TrackReader {
    async fn run(self) {
        let mut assembler = FrameAssembler::new(codec_of(self.kind));
        let mut sequence: u32 = 0;
        let mut gap = false;
        // The page dropped a frame for want of room: skip deltas until a keyframe.
        let mut page_needs_key = false;
        let mut last_pli: Option<Instant> = None;
        loop {
            let event = tokio::select! {
                _ = self.cancel.cancelled() => break,
                e = self.track.poll() => e,
            };
            let Some(event) = event else { break };
            let packet = match event {
                TrackRemoteEvent::OnRtpPacket(p) => p,
                TrackRemoteEvent::OnEnded => break,
                _ => continue,
            };
            let out = assembler.push(
                packet.header.sequence_number,
                packet.header.timestamp,
                packet.header.marker,
                packet.payload,
            );
            let mut want_key = out.lost;
            gap |= out.lost;
            for frame in out.frames {
                sequence = sequence.wrapping_add(1);
                if page_needs_key && !frame.keyframe {
                    gap = true;
                    continue;
                }
                let bytes = wire::encode_remote_frame(&RemoteFrame {
                    pc: self.pc,
                    transceiver: self.transceiver,
                    kind: self.kind,
                    keyframe: frame.keyframe,
                    after_gap: gap,
                    rtp_timestamp: frame.timestamp,
                    sequence,
                    data: frame.data,
                });
                if self.outbox.media(bytes) {
                    self.counters
                        .frames_received
                        .fetch_add(1, Ordering::Relaxed);
                    page_needs_key = false;
                    gap = false;
                } else {
                    gap = true;
                    if self.kind == Kind::Video {
                        page_needs_key = true;
                        want_key = true;
                    }
                }
            }
            if want_key && self.kind == Kind::Video {
                let now = Instant::now();
                if last_pli.is_none_or(|t| now.duration_since(t) >= PLI_INTERVAL) {
                    last_pli = Some(now);
                    self.pli(packet.header.ssrc).await;
                }
            }
        }
    }

    async fn pli(&self, media_ssrc: u32) {
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        };
        if self.track.write_rtcp(vec![Box::new(pli)]).await.is_ok() {
            self.counters
                .keyframe_requests_sent
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn describe(d: &RTCSessionDescription) -> Value {
    json!({"type": d.sdp_type.to_string(), "sdp": d.sdp})
}

fn to_rtc(d: &Description) -> Result<RTCSessionDescription, PageError> {
    let sdp = d.sdp.clone();
    let r = match d.kind.as_str() {
        "offer" => RTCSessionDescription::offer(sdp),
        "answer" => RTCSessionDescription::answer(sdp),
        "pranswer" => RTCSessionDescription::pranswer(sdp),
        "rollback" => {
            return signal::rollback().map_err(|e| PageError::BadRequest(e.to_string()));
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "description type {:?}",
                other.chars().take(16).collect::<String>()
            )));
        }
    };
    r.map_err(|e| PageError::BadRequest(e.to_string()))
}

fn rtc_direction(d: Direction) -> RTCRtpTransceiverDirection {
    match d {
        Direction::Sendrecv => RTCRtpTransceiverDirection::Sendrecv,
        Direction::Sendonly => RTCRtpTransceiverDirection::Sendonly,
        Direction::Recvonly => RTCRtpTransceiverDirection::Recvonly,
        Direction::Inactive => RTCRtpTransceiverDirection::Inactive,
    }
}

fn rtc_kind(k: Kind) -> RtpCodecKind {
    match k {
        Kind::Audio => RtpCodecKind::Audio,
        Kind::Video => RtpCodecKind::Video,
    }
}

fn wire_kind(k: RtpCodecKind) -> Kind {
    match k {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    }
}

/// A local track of `kind` for one sender: its own SSRC, VP8 or Opus only (so the
/// negotiation offers the codec the page encodes).
fn local_track(kind: Kind) -> Result<Arc<TrackLocalStaticRTP>, PageError> {
    Ok(Arc::new(TrackLocalStaticRTP::new(outbound_track(
        codec_of(kind),
        "lanmeet-bridge",
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::sync::Arc;

    fn defaults(bind: &str, more: Vec<&'static str>) -> PeerDefaults {
        PeerDefaults {
            bind_addr: bind.parse().unwrap(),
            more_addrs: Some(crate::server::AddressSource(Arc::new(move || {
                more.iter().map(|a| a.parse::<IpAddr>().unwrap()).collect()
            }))),
            ice_check_interval: Duration::from_millis(20),
            video_clock: crate::rtp_out::VideoClock::default(),
        }
    }

    #[test]
    fn a_lan_bridge_adds_the_other_lan_addresses_of_its_family_only() {
        let d = defaults(
            "10.0.0.1",
            vec![
                "127.0.0.1",
                "10.0.0.2",
                "192.168.1.5",
                "::1",
                "fd00::1",
                "10.0.0.1",
                "0.0.0.0",
            ],
        );
        let want: Vec<IpAddr> = vec!["10.0.0.2".parse().unwrap(), "192.168.1.5".parse().unwrap()];
        assert_eq!(d.more_addrs(), want);
    }

    #[test]
    fn a_loopback_bridge_never_binds_a_real_interface() {
        let d = defaults("127.0.0.1", vec!["192.168.1.5", "127.0.0.2"]);
        assert_eq!(d.more_addrs(), vec!["127.0.0.2".parse::<IpAddr>().unwrap()]);
        assert!(
            defaults("0.0.0.0", vec!["192.168.1.5"])
                .more_addrs()
                .is_empty()
        );
    }

    #[test]
    fn at_most_a_few_more_sockets_per_connection() {
        let many: Vec<&'static str> = (1..=40)
            .map(|i| &*Box::leak(format!("10.1.0.{i}").into_boxed_str()))
            .collect();
        assert_eq!(defaults("10.0.0.1", many).more_addrs().len(), MORE_ADDRS);
    }

    fn frame(kind: Kind, keyframe: bool, n: u8) -> Arc<PageFrame> {
        Arc::new(PageFrame {
            kind,
            keyframe,
            duration_us: 33_333,
            timestamp_us: u64::from(n),
            data: bytes::Bytes::from(vec![n]),
        })
    }

    #[test]
    fn before_the_connection_is_secured_a_sender_keeps_the_last_keyframe_and_its_deltas() {
        let mut held = Vec::new();
        let ids = |h: &Vec<Arc<PageFrame>>| h.iter().map(|f| f.data[0]).collect::<Vec<_>>();
        // Deltas with no keyframe before them are useless.
        hold_until_secured(&mut held, frame(Kind::Video, false, 1), Kind::Video);
        assert!(held.is_empty());
        hold_until_secured(&mut held, frame(Kind::Video, true, 2), Kind::Video);
        hold_until_secured(&mut held, frame(Kind::Video, false, 3), Kind::Video);
        assert_eq!(ids(&held), [2, 3]);
        // A newer keyframe replaces all of it.
        hold_until_secured(&mut held, frame(Kind::Video, true, 4), Kind::Video);
        assert_eq!(ids(&held), [4]);
        // Bounded: past HELD_FRAMES, nothing is kept (the next keyframe starts over).
        for i in 0..HELD_FRAMES {
            hold_until_secured(
                &mut held,
                frame(Kind::Video, false, (i % 200) as u8),
                Kind::Video,
            );
            assert!(held.len() <= HELD_FRAMES);
        }
        assert!(held.is_empty());
        // Sound is never kept.
        let mut sound = Vec::new();
        hold_until_secured(&mut sound, frame(Kind::Audio, true, 9), Kind::Audio);
        assert!(sound.is_empty());
    }
}
