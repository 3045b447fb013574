//! One probe: a room participant over the peer socket, with a WebRTC link to every
//! other member.
//!
//! A `Probe` is a handle; the work happens in a session task that owns the WebSocket
//! and the links. The session reads node frames (welcome, peer-joined, peer-left,
//! signal, error, room-closed), creates links (as the newcomer for everyone in
//! `welcome.peers`, as the answerer for anyone who offers later), routes signals both
//! ways, and tears links down on `peer-left`, on leave and on room close. When the
//! socket drops without a leave it reconnects with the resume token; signals the links
//! produce meanwhile wait in a bounded backlog and go out after `welcome`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::error::ProbeError;
use lanmeet_native_peer::SignalData;

use crate::link::{LinkConfig, LinkContext, LinkHandle, LinkRequest, Outbound};
use crate::media::{MediaSources, SendMedia};
use crate::protocol::{
    ClientMessage, IceServerInfo, PeerInfo, RoomInfo, ServerMessage, is_fatal_error,
};
use crate::state::{
    CloseReason, Departed, LinkSnapshot, ProbeSnapshot, SessionState, SnapshotStore,
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Signals kept while the socket is down; beyond this the oldest are dropped (the
/// node itself keeps at most 256 for us in the other direction).
const MAX_BACKLOG: usize = 1024;
/// How long `leave` waits for the node to close the socket.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How one probe joins and behaves.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// The room's peer-socket URL, e.g. `ws://192.168.1.20:7878/ws`.
    pub ws_url: String,
    /// The room code (any form the node accepts).
    pub room: String,
    /// The display name to join with (1–64 characters).
    pub name: String,
    /// The room's passcode, if it has one.
    pub passcode: Option<String>,
    /// The local address the WebRTC UDP sockets bind: its host candidate is what the
    /// other members dial. Loopback works between probes on one machine; a browser
    /// peer needs a LAN (non-loopback) address.
    pub bind_addr: IpAddr,
    /// Delay between ICE connectivity checks (default 20 ms: quicker connects on a LAN).
    pub ice_check_interval: Duration,
    /// How often each open data channel is pinged for round-trip times.
    pub ping_interval: Duration,
    /// Add recvonly audio and video to our offers, so a browser answering us sends its
    /// media without a renegotiation. Off by default: browsers renegotiate anyway.
    pub recv_media: bool,
    /// STUN/TURN server URLs; empty (the default) on a LAN.
    pub ice_servers: Vec<String>,
    /// How long to wait for the socket, and then for `welcome`.
    pub join_timeout: Duration,
    /// Resume attempts after the socket drops, before giving up.
    pub reconnect_attempts: u32,
    /// A resume token (from [`Probe::resume_token`]) to send with the first `join`:
    /// the probe comes back as that member, with new peer connections, as a reloaded
    /// page does. `None` (the default) joins as a new member.
    pub resume: Option<String>,
    /// Clips to send to every peer, looped (see [`crate::media`]); empty sends nothing.
    pub send_media: SendMedia,
}

impl ProbeConfig {
    /// A config with the defaults: loopback bind address, 20 ms ICE checks, a ping
    /// every 250 ms, 5 s join timeout, 10 resume attempts.
    pub fn new(
        ws_url: impl Into<String>,
        room: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ProbeConfig {
            ws_url: ws_url.into(),
            room: room.into(),
            name: name.into(),
            passcode: None,
            bind_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ice_check_interval: Duration::from_millis(20),
            ping_interval: Duration::from_millis(250),
            recv_media: false,
            ice_servers: Vec::new(),
            join_timeout: Duration::from_secs(5),
            reconnect_attempts: 10,
            resume: None,
            send_media: SendMedia::default(),
        }
    }

    /// The links' settings; starts playing the clips to send (one set per probe).
    fn link_config(&self) -> LinkConfig {
        LinkConfig {
            bind_addr: self.bind_addr,
            ice_check_interval: self.ice_check_interval,
            ping_interval: self.ping_interval,
            recv_media: self.recv_media,
            ice_servers: self.ice_servers.clone(),
            welcome_ice_servers: Vec::new(),
            send_media: (!self.send_media.is_empty()).then(|| {
                Arc::new(MediaSources::start(
                    &self.send_media,
                    // An SDP token: the name's letters and digits only.
                    format!(
                        "lanmeet-probe-{}",
                        self.name
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .collect::<String>()
                    ),
                ))
            }),
        }
    }
}

/// What `welcome` carries.
struct Welcome {
    id: String,
    token: String,
    resumed: bool,
    room: RoomInfo,
    peers: Vec<PeerInfo>,
    ice_servers: Vec<IceServerInfo>,
}

enum Command {
    Leave,
    DropSocket(Duration),
    SendChat(String, oneshot::Sender<usize>),
    SendText(String, String, oneshot::Sender<bool>),
}

/// A joined probe. Dropping it stops the probe without `leave` (the node then holds
/// its id for the grace period, as for any dropped participant).
pub struct Probe {
    store: Arc<SnapshotStore>,
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Probe {
    /// Opens the peer socket, joins the room and waits for `welcome`; from then on a
    /// session task runs the probe until `leave`, `stop`, room close or drop.
    pub async fn join(config: ProbeConfig) -> Result<Probe, ProbeError> {
        let store = SnapshotStore::new(config.name.clone());
        let (ws, welcome) = connect_and_join(&config, config.resume.as_deref()).await?;
        let (commands_tx, commands_rx) = mpsc::channel(64);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let link_config = Arc::new(config.link_config());
        let mut session = Session {
            config: Arc::new(config),
            link_config,
            store: store.clone(),
            id: String::new(),
            token: String::new(),
            links: HashMap::new(),
            generation: 0,
            out_tx,
            out_rx,
            backlog: VecDeque::new(),
            commands: commands_rx,
            cancel: cancel.clone(),
            closing: JoinSet::new(),
            leaving: false,
            fatal: None,
        };
        session.on_welcome(welcome, true);
        let task = tokio::spawn(session.run(ws));
        Ok(Probe {
            store,
            commands: commands_tx,
            cancel,
            task: Some(task),
        })
    }

    /// This probe's peer id.
    pub fn id(&self) -> String {
        self.store.snapshot().id
    }

    /// The token that resumes this probe's id (see [`ProbeConfig::resume`]). Kept out
    /// of the snapshot, which reports print.
    pub fn resume_token(&self) -> String {
        self.store.resume_token()
    }

    /// Everything the probe knows now.
    pub fn snapshot(&self) -> ProbeSnapshot {
        self.store.snapshot()
    }

    /// A receiver that changes whenever the snapshot may have changed.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.store.subscribe()
    }

    /// Waits until `cond` holds for the snapshot, or `timeout` passes.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut cond: impl FnMut(&ProbeSnapshot) -> bool,
    ) -> Result<ProbeSnapshot, ProbeError> {
        let mut rx = self.store.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let snap = self.store.snapshot();
            if cond(&snap) {
                return Ok(snap);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ProbeError::Stopped),
                Err(_) => return Err(ProbeError::Timeout(timeout, "the probe's condition")),
            }
        }
    }

    /// Sends `{"type":"chat","text","ts"}` to every member with an open channel;
    /// returns to how many links it was handed.
    pub async fn send_chat(&self, text: impl Into<String>) -> Result<usize, ProbeError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::SendChat(text.into(), tx)).await?;
        rx.await.map_err(|_| ProbeError::Stopped)
    }

    /// Sends raw text on the data channel to one member; false if there is no link.
    pub async fn send_text(
        &self,
        peer_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<bool, ProbeError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::SendText(peer_id.into(), text.into(), tx))
            .await?;
        rx.await.map_err(|_| ProbeError::Stopped)
    }

    /// Drops the peer socket without `leave` (as a network failure would) and resumes
    /// after `reconnect_after`. The WebRTC links stay up: they do not use the socket.
    /// Used by tests and by anyone checking the resume path of a node.
    pub async fn drop_connection(&self, reconnect_after: Duration) -> Result<(), ProbeError> {
        self.command(Command::DropSocket(reconnect_after)).await
    }

    /// Sends `leave`, closes every link and ends the session; returns the last snapshot.
    pub async fn leave(mut self) -> ProbeSnapshot {
        if self.command(Command::Leave).await.is_ok() {
            self.wait_task().await;
        }
        self.stop_now().await
    }

    /// Ends the session without `leave` (the node holds the id for its grace period).
    pub async fn stop(mut self) -> ProbeSnapshot {
        self.stop_now().await
    }

    /// Waits until the session ends on its own (room closed, refused, lost).
    pub async fn closed(&self) -> ProbeSnapshot {
        let mut rx = self.store.subscribe();
        loop {
            let snap = self.store.snapshot();
            if matches!(snap.state, SessionState::Closed(_)) {
                return snap;
            }
            if rx.changed().await.is_err() {
                return self.store.snapshot();
            }
        }
    }

    async fn stop_now(&mut self) -> ProbeSnapshot {
        self.cancel.cancel();
        self.wait_task().await;
        self.store.snapshot()
    }

    async fn wait_task(&mut self) {
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            warn!("probe session task failed: {e}");
        }
    }

    async fn command(&self, cmd: Command) -> Result<(), ProbeError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| ProbeError::Stopped)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Opens the socket, sends `join` (with `resume` when given) and reads up to `welcome`.
async fn connect_and_join(
    config: &ProbeConfig,
    resume: Option<&str>,
) -> Result<(Ws, Welcome), ProbeError> {
    let connect = tokio_tungstenite::connect_async(config.ws_url.as_str());
    let (mut ws, _) = tokio::time::timeout(config.join_timeout, connect)
        .await
        .map_err(|_| ProbeError::Timeout(config.join_timeout, "the peer socket"))?
        .map_err(|e| ProbeError::Connect {
            url: config.ws_url.clone(),
            source: Box::new(e),
        })?;
    let join = ClientMessage::Join {
        room: &config.room,
        name: &config.name,
        passcode: config.passcode.as_deref(),
        resume,
    }
    .to_text()?;
    ws.send(Message::text(join))
        .await
        .map_err(|e| ProbeError::NoWelcome(e.to_string()))?;
    let read_welcome = async {
        while let Some(frame) = ws.next().await {
            match frame {
                Ok(Message::Text(text)) => match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Welcome {
                        id,
                        token,
                        resumed,
                        room,
                        peers,
                        ice_servers,
                    }) => {
                        return Ok(Welcome {
                            id,
                            token,
                            resumed,
                            room,
                            peers,
                            ice_servers,
                        });
                    }
                    Ok(ServerMessage::Error { code, message }) => {
                        return Err(ProbeError::Refused { code, message });
                    }
                    Ok(other) => debug!("before welcome, ignoring {other:?}"),
                    Err(e) => debug!("before welcome, unreadable frame: {e}"),
                },
                Ok(Message::Close(frame)) => {
                    let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    return Err(ProbeError::NoWelcome(format!("socket closed ({why})")));
                }
                Ok(_) => {}
                Err(e) => return Err(ProbeError::NoWelcome(e.to_string())),
            }
        }
        Err(ProbeError::NoWelcome("socket ended".into()))
    };
    let welcome = tokio::time::timeout(config.join_timeout, read_welcome)
        .await
        .map_err(|_| ProbeError::Timeout(config.join_timeout, "welcome"))??;
    Ok((ws, welcome))
}

/// How a connected stretch of the session ended.
enum Ended {
    Closed(CloseReason),
    /// The socket is gone but the session is not: resume after this delay.
    Resume(Duration),
}

struct Session {
    config: Arc<ProbeConfig>,
    link_config: Arc<LinkConfig>,
    store: Arc<SnapshotStore>,
    id: String,
    token: String,
    links: HashMap<String, LinkHandle>,
    generation: u64,
    out_tx: mpsc::UnboundedSender<Outbound>,
    out_rx: mpsc::UnboundedReceiver<Outbound>,
    backlog: VecDeque<(String, serde_json::Value)>,
    commands: mpsc::Receiver<Command>,
    cancel: CancellationToken,
    /// Links being closed in the background (so a slow close never stalls the socket).
    closing: JoinSet<()>,
    leaving: bool,
    /// A fatal error code the node sent; its close follows.
    fatal: Option<String>,
}

impl Session {
    async fn run(mut self, ws: Ws) {
        let mut socket = Some(ws);
        let reason = loop {
            let Some(ws) = socket.take() else {
                break CloseReason::Lost;
            };
            match self.connected(ws).await {
                Ended::Closed(reason) => break reason,
                Ended::Resume(delay) => match self.reconnect(delay).await {
                    Ok(ws) => socket = Some(ws),
                    Err(reason) => break reason,
                },
            }
        };
        info!(name = %self.config.name, "session over: {reason:?}");
        let ids: Vec<String> = self.links.keys().cloned().collect();
        for id in ids {
            self.close_link(&id, "closed");
        }
        while self.closing.join_next().await.is_some() {}
        self.store
            .update(|s| s.state = SessionState::Closed(reason));
    }

    /// Runs while the socket is up.
    async fn connected(&mut self, ws: Ws) -> Ended {
        let (mut sink, mut stream) = ws.split();
        self.store.update(|s| s.state = SessionState::Joined);
        while let Some((to, data)) = self.backlog.pop_front() {
            if send_signal(&mut sink, &to, &data).await.is_err() {
                self.backlog.push_front((to, data));
                return Ended::Resume(Duration::ZERO);
            }
        }
        let leave_deadline = tokio::time::sleep(Duration::from_secs(86_400 * 365));
        tokio::pin!(leave_deadline);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => {
                    let _ = sink.close().await;
                    return Ended::Closed(CloseReason::Stopped);
                }
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(ended) = self.on_text(&text) {
                            return ended;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => return self.on_close(frame),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        debug!("peer socket error: {e}");
                        return self.on_lost();
                    }
                    None => return self.on_lost(),
                },
                cmd = self.commands.recv() => match cmd {
                    None => return Ended::Closed(CloseReason::Stopped),
                    Some(Command::Leave) => {
                        self.leaving = true;
                        let sent = match ClientMessage::Leave.to_text() {
                            Ok(text) => sink.send(Message::text(text)).await.is_ok(),
                            Err(_) => false,
                        };
                        if !sent {
                            return Ended::Closed(CloseReason::Left);
                        }
                        leave_deadline
                            .as_mut()
                            .reset(tokio::time::Instant::now() + LEAVE_TIMEOUT);
                    }
                    Some(Command::DropSocket(delay)) => {
                        // Dropping both halves drops the TCP stream: no close frame,
                        // exactly what a network failure looks like to the node.
                        drop(sink);
                        drop(stream);
                        return Ended::Resume(delay);
                    }
                    Some(Command::SendChat(text, reply)) => {
                        let ts = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map(|d| d.as_millis() as u64)
                            .unwrap_or(0);
                        let msg = crate::protocol::ChannelMessage::chat(&text, ts);
                        for link in self.links.values() {
                            link.send_text(msg.clone());
                        }
                        let _ = reply.send(self.links.len());
                    }
                    Some(Command::SendText(peer, text, reply)) => {
                        let found = self.links.get(&peer).map(|l| l.send_text(text)).is_some();
                        let _ = reply.send(found);
                    }
                },
                Some(out) = self.out_rx.recv() => {
                    if self.links.get(&out.peer_id).is_none_or(|l| l.generation != out.generation) {
                        continue;
                    }
                    match out.request {
                        LinkRequest::Signal(data) => {
                            if send_signal(&mut sink, &out.peer_id, &data).await.is_err() {
                                self.push_backlog(out.peer_id, data);
                                return self.on_lost();
                            }
                        }
                        LinkRequest::Replace(offer) => self.replace_link(out.peer_id, offer),
                    }
                }
                _ = &mut leave_deadline, if self.leaving => {
                    return Ended::Closed(CloseReason::Left);
                }
            }
        }
    }

    fn on_lost(&self) -> Ended {
        if self.leaving {
            Ended::Closed(CloseReason::Left)
        } else if let Some(code) = &self.fatal {
            Ended::Closed(CloseReason::Refused(code.clone()))
        } else {
            Ended::Resume(Duration::ZERO)
        }
    }

    fn on_close(&self, frame: Option<CloseFrame>) -> Ended {
        let reason = frame
            .as_ref()
            .map(|f| f.reason.to_string())
            .unwrap_or_default();
        debug!(name = %self.config.name, "node closed the socket: {reason:?}");
        match reason.as_str() {
            "room-closed" => Ended::Closed(CloseReason::RoomClosed),
            "replaced" => Ended::Closed(CloseReason::Replaced),
            _ if self.leaving => Ended::Closed(CloseReason::Left),
            _ if is_fatal_error(&reason) => Ended::Closed(CloseReason::Refused(reason)),
            _ => self.on_lost(),
        }
    }

    fn push_backlog(&mut self, to: String, data: serde_json::Value) {
        if self.backlog.len() >= MAX_BACKLOG {
            warn!("signal backlog full; dropping the oldest");
            self.backlog.pop_front();
        }
        self.backlog.push_back((to, data));
    }

    /// Handles one node frame; returns how the session ends, when it does.
    fn on_text(&mut self, text: &str) -> Option<Ended> {
        let msg = match serde_json::from_str::<ServerMessage>(text) {
            Ok(msg) => msg,
            Err(e) => {
                warn!("unreadable frame from the node: {e}");
                return None;
            }
        };
        match msg {
            ServerMessage::Welcome { .. } => warn!("unexpected second welcome; ignored"),
            ServerMessage::PeerJoined { peer } => {
                self.store.update(|s| {
                    s.members.insert(peer.id.clone(), peer.name.clone());
                    if let Some(l) = s.links.get_mut(&peer.id) {
                        l.name = Some(peer.name);
                    }
                });
            }
            ServerMessage::PeerLeft { id } => {
                self.store.update(|s| s.members.remove(&id));
                self.close_link(&id, "peer-left");
            }
            ServerMessage::Signal { from, data } => self.route_signal(from, data),
            ServerMessage::Error { code, message } => {
                // unknown-peer is routine while members leave (a late candidate to
                // someone already gone); the fatal ones end the session anyway.
                if code == "unknown-peer" {
                    debug!(name = %self.config.name, "node error {code}: {message}");
                } else {
                    warn!(name = %self.config.name, "node error {code}: {message}");
                }
                if is_fatal_error(&code) {
                    self.fatal = Some(code.clone());
                }
                self.store
                    .update(|s| s.last_error = Some(format!("{code}: {message}")));
            }
            ServerMessage::RoomClosed => return Some(Ended::Closed(CloseReason::RoomClosed)),
            ServerMessage::Unknown => {}
        }
        None
    }

    fn route_signal(&mut self, from: String, data: serde_json::Value) {
        if let Some(link) = self.links.get(&from) {
            link.signal(data);
            return;
        }
        // A member we have no link with starts one by offering (it is the newcomer,
        // or we missed its peer-joined while our socket was down).
        if matches!(SignalData::parse(&data), SignalData::Description { ref kind, .. } if kind == "offer")
        {
            self.spawn_link(from.clone(), false);
            if let Some(link) = self.links.get(&from) {
                link.signal(data);
            }
        } else {
            debug!(%from, "signal for no link, ignored");
        }
    }

    /// The peer started a new peer connection under the same id (a reloaded page
    /// resumes its id): a fresh link, as the answerer, takes its offer.
    fn replace_link(&mut self, peer_id: String, offer: serde_json::Value) {
        info!(name = %self.config.name, peer = %peer_id, "peer started a new connection; new link");
        self.close_link(&peer_id, "restarted");
        self.spawn_link(peer_id.clone(), false);
        if let Some(link) = self.links.get(&peer_id) {
            link.signal(offer);
        }
    }

    fn spawn_link(&mut self, peer_id: String, offerer: bool) {
        self.generation += 1;
        let generation = self.generation;
        // docs/PROTOCOL.md: of two peers, the one whose id sorts first is polite.
        let polite = self.id < peer_id;
        let snapshot_peer = peer_id.clone();
        self.store.update(|s| {
            let name = s.members.get(&snapshot_peer).cloned();
            s.links.insert(
                snapshot_peer.clone(),
                LinkSnapshot::new(snapshot_peer, name, polite, offerer, generation),
            );
        });
        let handle = LinkHandle::spawn(LinkContext {
            peer_id: peer_id.clone(),
            polite,
            offerer,
            generation,
            store: self.store.clone(),
            outbound: self.out_tx.clone(),
            config: self.link_config.clone(),
        });
        if let Some(old) = self.links.insert(peer_id, handle) {
            self.closing.spawn(old.close());
        }
    }

    /// Tears a link down in the background; its snapshot entry goes once it is closed.
    fn close_link(&mut self, peer_id: &str, reason: &str) {
        let Some(link) = self.links.remove(peer_id) else {
            return;
        };
        let store = self.store.clone();
        let peer_id = peer_id.to_owned();
        let reason = reason.to_owned();
        self.closing.spawn(async move {
            let generation = link.generation;
            link.close().await;
            store.update(|s| {
                let link = if s
                    .links
                    .get(&peer_id)
                    .is_some_and(|l| l.generation == generation)
                {
                    s.links.remove(&peer_id)
                } else {
                    None
                };
                s.departed.push(Departed {
                    peer_id,
                    reason,
                    link,
                });
            });
        });
    }

    fn on_welcome(&mut self, welcome: Welcome, first: bool) {
        let fresh = first || !welcome.resumed;
        info!(
            name = %self.config.name,
            id = %welcome.id,
            resumed = welcome.resumed,
            peers = welcome.peers.len(),
            "welcome"
        );
        self.token = welcome.token;
        self.store.set_resume_token(self.token.clone());
        // Links made from now on also gather the welcome's servers (the host's
        // relay): ICE still prefers host candidates, the relay is the fallback.
        if !welcome.ice_servers.is_empty() {
            let mut config = (*self.link_config).clone();
            config.welcome_ice_servers = welcome.ice_servers.clone();
            self.link_config = Arc::new(config);
        }
        let members = welcome
            .peers
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        self.store.update(|s| {
            s.id = welcome.id.clone();
            s.room = welcome.room;
            s.welcomes += 1;
            if welcome.resumed {
                s.resumes += 1;
            }
            s.members = members;
            s.state = SessionState::Joined;
        });
        if fresh {
            // A new identity: whatever we had belongs to the old one.
            let ids: Vec<String> = self.links.keys().cloned().collect();
            for id in ids {
                self.close_link(&id, "rejoined");
            }
            self.backlog.clear();
            self.id = welcome.id;
            for peer in welcome.peers {
                self.spawn_link(peer.id, true);
            }
        } else {
            // Same id: keep the links (they never used the socket), drop those whose
            // peer left while we were away; newcomers' offers were held for us.
            let present: HashSet<&str> = welcome.peers.iter().map(|p| p.id.as_str()).collect();
            let gone: Vec<String> = self
                .links
                .keys()
                .filter(|id| !present.contains(id.as_str()))
                .cloned()
                .collect();
            for id in gone {
                self.close_link(&id, "missed-leave");
            }
        }
    }

    async fn reconnect(&mut self, delay: Duration) -> Result<Ws, CloseReason> {
        self.store.update(|s| s.state = SessionState::Reconnecting);
        let mut wait = delay;
        for attempt in 0..self.config.reconnect_attempts {
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(CloseReason::Stopped),
                _ = tokio::time::sleep(wait) => {}
            }
            let token = self.token.clone();
            match connect_and_join(&self.config, Some(&token)).await {
                Ok((ws, welcome)) => {
                    self.on_welcome(welcome, false);
                    return Ok(ws);
                }
                Err(ProbeError::Refused { code, message }) => {
                    warn!(name = %self.config.name, "resume refused: {code}: {message}");
                    self.store
                        .update(|s| s.last_error = Some(format!("{code}: {message}")));
                    return Err(CloseReason::Refused(code));
                }
                Err(e) => {
                    debug!(name = %self.config.name, attempt, "resume failed: {e}");
                    wait = (wait * 2).clamp(Duration::from_millis(100), Duration::from_secs(1));
                }
            }
        }
        Err(CloseReason::Lost)
    }
}

async fn send_signal(
    sink: &mut futures_util::stream::SplitSink<Ws, Message>,
    to: &str,
    data: &serde_json::Value,
) -> Result<(), ()> {
    let text = ClientMessage::Signal { to, data }
        .to_text()
        .map_err(|_| ())?;
    sink.send(Message::text(text)).await.map_err(|_| ())
}
