//! One WebRTC peer connection from this probe to one other room member.
//!
//! Each link is a task that owns its `PeerConnection` and handles, one at a time and in
//! order, everything that concerns it: signals relayed by the node, events from the
//! WebRTC driver, and requests from the session. What to do about a negotiation event
//! (offer, answer, glare, candidates, ICE restart) is decided by the pure
//! [`Negotiation`]; this task reads the signaling state, asks it, and
//! carries out its actions. Serializing everything in one task is what makes those
//! decisions sound without locks.
//!
//! The WebRTC parts every native peer shares (building the connection, the negotiation
//! rules, signal shapes, SDP facts, the channel label) are lanmeet-native-peer's; what
//! is here is the probe's use of them:
//!
//! - `signaling`: carrying the decisions out: offers, rollback, answers, candidates.
//! - `channel`: the `lanmeet` data channel: created, read, pinged, nudged open.
//! - `tracks`: counting the RTP of inbound tracks.
//! - `sending`: the probe's clips, sent on tracks of the link's own.

mod channel;
mod sending;
mod signaling;
mod tracks;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::{PeerConnection, RTCIceGatheringState, RTCPeerConnectionState};

use lanmeet_native_peer::channel::{CHANNEL_LABEL, NUDGE_EVERY, NUDGE_FOR};
use lanmeet_native_peer::negotiation::{Event, Negotiation};
use lanmeet_native_peer::{
    EventForwarder, IceServer, LocalCandidates, PcEvent, PeerSettings, SignalData,
};

use self::signaling::Subject;
use crate::state::SnapshotStore;

/// How long a newcomer waits for `negotiationneeded` before offering on its own.
const OFFER_FALLBACK: Duration = Duration::from_millis(500);
/// Pings older than this are given up (their pong will not come).
const PING_EXPIRY: Duration = Duration::from_secs(30);
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
    /// The servers of the last `welcome` (the host's relay, with credentials).
    pub(crate) welcome_ice_servers: Vec<crate::protocol::IceServerInfo>,
    /// The probe's playing clips, sent to every peer; `None` sends nothing.
    pub(crate) send_media: Option<Arc<crate::media::MediaSources>>,
}

impl LinkConfig {
    /// The shared peer settings for this probe's links.
    fn peer_settings(&self) -> PeerSettings {
        PeerSettings {
            bind_addr: self.bind_addr,
            // The probe measures one path, from the address it was given.
            more_addrs: Vec::new(),
            ice_check_interval: self.ice_check_interval,
            // The welcome's servers (the host's relay) first, then `--ice-server`s;
            // host candidates still win wherever they work.
            ice_servers: self
                .welcome_ice_servers
                .iter()
                .filter(|s| !s.urls.is_empty())
                .map(|s| IceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone().unwrap_or_default(),
                    credential: s.credential.clone().unwrap_or_default(),
                })
                .chain((!self.ice_servers.is_empty()).then(|| IceServer {
                    urls: self.ice_servers.clone(),
                    ..Default::default()
                }))
                .collect(),
            // A sending probe answers keyframe requests as a browser does.
            keyframe_requests: self.send_media.is_some(),
        }
    }
}

/// What a link asks of the session.
#[derive(Debug)]
pub(crate) enum LinkRequest {
    /// Send this `signal.data` to the link's peer.
    Signal(Value),
    /// The peer started a new peer connection under the same id (a reloaded page):
    /// replace this link with a fresh one and hand it this offer.
    Replace(Value),
}

/// A request from one link. The generation lets the session drop what a link closed
/// since then had queued.
#[derive(Debug)]
pub(crate) struct Outbound {
    pub(crate) peer_id: String,
    pub(crate) generation: u64,
    pub(crate) request: LinkRequest,
}

/// Everything a link task needs to know about its place in the probe.
pub(crate) struct LinkContext {
    pub(crate) peer_id: String,
    pub(crate) polite: bool,
    pub(crate) offerer: bool,
    pub(crate) generation: u64,
    pub(crate) store: Arc<SnapshotStore>,
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

/// The state of one link task.
struct LinkTask {
    ctx: LinkContext,
    pc: Arc<dyn PeerConnection>,
    negotiation: Negotiation,
    channel: Option<Arc<dyn DataChannel>>,
    local_candidates: LocalCandidates,
    next_ping: u64,
    readers: Vec<JoinHandle<()>>,
    /// The tasks writing the probe's clips to this link's tracks: a set, so they end
    /// with the link even when its task is aborted (a close that timed out).
    senders: tokio::task::JoinSet<()>,
    /// The tracks were added (once per link, see `sending`).
    sending_started: bool,
    /// Until when to nudge the driver (set when the connection becomes connected).
    nudge_until: Option<Instant>,
    /// Local candidates held while our offer awaits its answer.
    held_candidates: Vec<Value>,
    /// Why the stack refused the last remote candidate, until reported or dropped.
    rejected_candidate: Option<String>,
}

async fn run(
    ctx: LinkContext,
    mut input: mpsc::UnboundedReceiver<LinkInput>,
    self_tx: mpsc::UnboundedSender<LinkInput>,
) {
    let forwarder = EventForwarder::new(move |event| {
        let _ = self_tx.send(LinkInput::Event(event));
    });
    let pc =
        match lanmeet_native_peer::build(&ctx.config.peer_settings(), Arc::new(forwarder)).await {
            Ok(pc) => pc,
            Err(e) => {
                warn!(peer = %ctx.peer_id, "cannot create a peer connection: {e}");
                let msg = e.to_string();
                ctx.store
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
    let offerer = ctx.offerer;
    let mut link = LinkTask {
        negotiation: Negotiation::new(ctx.polite, ctx.offerer),
        ctx,
        pc,
        channel: None,
        local_candidates: LocalCandidates::default(),
        next_ping: 1,
        readers: Vec::new(),
        senders: tokio::task::JoinSet::new(),
        sending_started: false,
        nudge_until: None,
        held_candidates: Vec::new(),
        rejected_candidate: None,
    };
    if offerer {
        link.open_channel().await;
    }
    let mut ping = tokio::time::interval(ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut nudge = tokio::time::interval(NUDGE_EVERY);
    nudge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let fallback = tokio::time::sleep(OFFER_FALLBACK);
    tokio::pin!(fallback);
    let mut fallback_armed = offerer;
    loop {
        tokio::select! {
            msg = input.recv() => match msg {
                None | Some(LinkInput::Close) => break,
                Some(msg) => link.handle(msg).await,
            },
            _ = ping.tick() => {
                link.ping().await;
                link.record_selected_pair().await;
            }
            _ = nudge.tick(), if link.nudge_until.is_some() => link.nudge().await,
            _ = &mut fallback, if fallback_armed => {
                fallback_armed = false;
                link.negotiate(Event::OfferTimeout, Subject::Nothing).await;
            }
        }
    }
    link.shutdown().await;
}

impl LinkTask {
    fn record_error(&self, what: &str, e: impl std::fmt::Display) {
        let msg = format!("{what}: {e}");
        debug!(peer = %self.ctx.peer_id, "{msg}");
        self.ctx
            .store
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.last_error = Some(msg)
            });
    }

    /// Notes the candidate pair ICE selected (the report's "via": direct or through a
    /// relay). Read when the connection connects and again at every ping, so a pair
    /// that changes (an ICE restart) is seen; kept as last seen when there is none.
    async fn record_selected_pair(&self) {
        let Some(pair) = lanmeet_native_peer::selected_pair(&*self.pc).await else {
            return;
        };
        self.ctx
            .store
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                if l.selected_pair.as_ref() != Some(&pair) {
                    debug!(peer = %l.peer_id, via = %pair.via(), "selected pair {pair:?}");
                    l.selected_pair = Some(pair);
                }
            });
    }

    fn send(&self, request: LinkRequest) {
        let _ = self.ctx.outbound.send(Outbound {
            peer_id: self.ctx.peer_id.clone(),
            generation: self.ctx.generation,
            request,
        });
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

    async fn on_event(&mut self, event: PcEvent) {
        match event {
            PcEvent::NegotiationNeeded => {
                self.negotiate(Event::NegotiationNeeded, Subject::Nothing)
                    .await;
            }
            PcEvent::Candidate(event) => {
                match self.local_candidates.to_json(&*self.pc, &event).await {
                    Ok(c) => {
                        let data = SignalData::candidate(Some(&c));
                        self.negotiate(Event::LocalCandidate, Subject::LocalCandidate(data))
                            .await;
                    }
                    Err(e) => self.record_error("local candidate", e),
                }
            }
            PcEvent::Gathering(state) => {
                if state == RTCIceGatheringState::Complete {
                    let data = SignalData::candidate(None);
                    self.negotiate(Event::LocalCandidate, Subject::LocalCandidate(data))
                        .await;
                }
            }
            PcEvent::Connection(state) => {
                debug!(peer = %self.ctx.peer_id, "peer connection {state}");
                let s = state.to_string();
                self.ctx
                    .store
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                        l.connection_state = s
                    });
                match state {
                    RTCPeerConnectionState::Connected => {
                        self.nudge_until = Some(Instant::now() + NUDGE_FOR);
                        self.nudge().await;
                        self.record_selected_pair().await;
                        self.negotiate(Event::Connected, Subject::Nothing).await;
                    }
                    RTCPeerConnectionState::Failed => {
                        self.negotiate(Event::Failed, Subject::Nothing).await;
                    }
                    _ => {}
                }
            }
            PcEvent::Signaling(_) => {}
            PcEvent::Ice(state) => {
                debug!(peer = %self.ctx.peer_id, "ICE {state}");
                let s = state.to_string();
                self.ctx
                    .store
                    .update_link(&self.ctx.peer_id, self.ctx.generation, |l| l.ice_state = s);
            }
            PcEvent::Channel(dc) => match dc.label().await {
                Ok(label) if label == CHANNEL_LABEL => self.attach_channel(dc),
                Ok(label) => debug!(peer = %self.ctx.peer_id, "ignoring data channel {label:?}"),
                Err(e) => self.record_error("data channel", e),
            },
            PcEvent::Track(track) => {
                let reader = tokio::spawn(tracks::read_track(
                    track,
                    self.ctx.store.clone(),
                    self.ctx.peer_id.clone(),
                    self.ctx.generation,
                ));
                self.readers.push(reader);
            }
        }
    }

    async fn shutdown(mut self) {
        // The writers never end by themselves (the clips loop).
        self.senders.abort_all();
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
            .store
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.channel_open = false;
                l.connection_state = "closed".into();
            });
    }
}
