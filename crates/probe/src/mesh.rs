//! `run`: join N probes into a room, wait for the mesh, measure, report.
//!
//! This is the "network doctor" behind `lanmeet probe`: the report says, for every
//! pair it can see (probe–probe, and probe–other member), whether the pair connected,
//! how long that took and the data-channel round-trip time, plus the media each other
//! member sent to the probes. Pairs between two members that are not probes are out of
//! its sight and are not reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lanmeet_native_peer::{SelectedPair, Via};
use serde::Serialize;

use crate::error::ProbeError;
use tokio_util::sync::CancellationToken;

use crate::media::SendMedia;
use crate::probe::{Probe, ProbeConfig};
use crate::state::{LinkSnapshot, ProbeSnapshot, SessionState, TrackStats, median};

/// Most probes one run may join: a room holds at most 8 (a mesh).
pub const MAX_PROBES: usize = 8;
/// How often `run` re-checks the mesh while waiting (completion times themselves come
/// from the channels' exact open instants, not from this tick).
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// What `run` does.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The room's peer-socket URL.
    pub ws_url: String,
    /// The room code.
    pub room: String,
    /// How many probes to join (1–8).
    pub peers: usize,
    /// How long to keep measuring round trips and media once the mesh is up.
    pub duration: Duration,
    /// Probes are named `{name_prefix}-1` … `{name_prefix}-N`.
    pub name_prefix: String,
    /// The room's passcode, if any.
    pub passcode: Option<String>,
    /// The local address for the WebRTC sockets (see [`ProbeConfig::bind_addr`]).
    pub bind_addr: IpAddr,
    /// How long to wait for every pair to connect before reporting the ones that did not.
    pub connect_timeout: Duration,
    /// Also wait until each probe sees this many room members in total (itself
    /// included), for runs that expect other participants to arrive.
    pub expect_members: Option<usize>,
    /// After `duration`, keep measuring until this many chat messages have arrived
    /// (all probes together), for at most `connect_timeout` more: a run that checks
    /// chat typed by a person then does not depend on how fast they type.
    pub expect_chats: Option<usize>,
    /// Offer recvonly audio/video (see [`ProbeConfig::recv_media`]).
    pub recv_media: bool,
    /// STUN/TURN URLs; empty on a LAN.
    pub ice_servers: Vec<String>,
    /// Ping period on each channel.
    pub ping_interval: Duration,
    /// ICE check period.
    pub ice_check_interval: Duration,
    /// Clips every probe sends (see [`ProbeConfig::send_media`]).
    pub send_media: SendMedia,
    /// Cancelled to end the run early: the probes stop waiting or measuring, leave,
    /// and the report is made of what was seen (e.g. on Ctrl-C or SIGTERM).
    pub stop: CancellationToken,
}

impl ProbeOptions {
    /// Options with the defaults: 2 probes named `probe-N`, 3 s of measuring, 20 s
    /// to connect, and the local address that routes to the node (loopback for a node
    /// on this machine; see [`local_address_towards`](crate::local_address_towards)).
    pub fn new(ws_url: impl Into<String>, room: impl Into<String>) -> Self {
        let base = ProbeConfig::new("", "", "");
        let ws_url = ws_url.into();
        let bind_addr =
            crate::local_address_towards(&ws_url).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        ProbeOptions {
            ws_url,
            room: room.into(),
            peers: 2,
            duration: Duration::from_secs(3),
            name_prefix: "probe".into(),
            passcode: None,
            bind_addr,
            connect_timeout: Duration::from_secs(20),
            expect_members: None,
            expect_chats: None,
            recv_media: base.recv_media,
            ice_servers: Vec::new(),
            ping_interval: base.ping_interval,
            ice_check_interval: base.ice_check_interval,
            send_media: SendMedia::default(),
            stop: CancellationToken::new(),
        }
    }

    /// The config of probe number `n` (1-based).
    pub fn probe_config(&self, n: usize) -> ProbeConfig {
        let mut c = ProbeConfig::new(
            self.ws_url.clone(),
            self.room.clone(),
            format!("{}-{n}", self.name_prefix),
        );
        c.passcode = self.passcode.clone();
        c.bind_addr = self.bind_addr;
        c.recv_media = self.recv_media;
        c.ice_servers = self.ice_servers.clone();
        c.ping_interval = self.ping_interval;
        c.ice_check_interval = self.ice_check_interval;
        c.send_media = self.send_media.clone();
        c
    }
}

/// One pair of room members.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pair {
    /// Peer id of one side (always a probe).
    pub a: String,
    /// Peer id of the other side.
    pub b: String,
    /// Name of `a`.
    pub a_name: String,
    /// Name of `b`.
    pub b_name: String,
    /// True when the `lanmeet` data channel opened on every side the probes can see.
    pub connected: bool,
    /// From the first side creating its peer connection to the last side seeing the
    /// channel open, in ms.
    pub connect_ms: Option<f64>,
    /// Median data-channel round trip (ping/pong), in ms.
    pub rtt_ms: Option<f64>,
    /// `direct`, or `relay` when the pair goes through a TURN relay (either end's
    /// candidate is a relayed one); `null` when no side the probes see selected a pair.
    pub via: Option<Via>,
    /// The candidate pair ICE selected, as `a` sees it (`b`'s when `a` has none).
    pub selected_pair: Option<SelectedPair>,
}

/// Media one member sent to the probes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeerMedia {
    /// Its peer id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// True for the probes of this run.
    pub probe: bool,
    /// RTP packets of audio tracks the probes received from it.
    pub audio_packets: u64,
    /// RTP packets of video tracks the probes received from it.
    pub video_packets: u64,
    /// Whole video frames the probes received from it (from a keyframe on).
    pub video_frames: u64,
    /// The tracks, per receiving probe.
    pub tracks: Vec<InboundTrack>,
}

/// A track one probe received.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InboundTrack {
    /// The receiving probe's name.
    pub by: String,
    /// The counters.
    #[serde(flatten)]
    pub stats: TrackStats,
}

/// A chat message one probe received.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReceivedChat {
    /// The receiving probe's name.
    pub by: String,
    /// The sender's peer id.
    pub from: String,
    /// The text.
    pub text: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The room code as the node reported it.
    pub room: String,
    /// The peer-socket URL used.
    pub ws: String,
    /// Every pair the probes could see.
    pub pairs: Vec<Pair>,
    /// Inbound media per member.
    pub peers: Vec<PeerMedia>,
    /// Chat messages the probes received from other members.
    pub chats: Vec<ReceivedChat>,
    /// From the last probe's `welcome` until every pair was connected, in ms.
    pub mesh_ms: Option<f64>,
    /// True when there was at least one pair and every pair connected.
    pub ok: bool,
    /// What went wrong, in words.
    pub problems: Vec<String>,
}

/// Joins `options.peers` probes one after another, waits for the mesh (up to
/// `connect_timeout`), measures for `duration`, leaves, and reports.
pub async fn run(options: ProbeOptions) -> Result<ProbeReport, ProbeError> {
    if options.peers == 0 || options.peers > MAX_PROBES {
        return Err(ProbeError::InvalidOptions(format!(
            "--peers must be 1 to {MAX_PROBES}, not {}",
            options.peers
        )));
    }
    let mut probes = Vec::with_capacity(options.peers);
    for n in 1..=options.peers {
        match Probe::join(options.probe_config(n)).await {
            Ok(p) => probes.push(p),
            Err(e) => {
                leave_all(probes).await;
                return Err(e);
            }
        }
    }
    let last_join = Instant::now();
    let deadline = last_join + options.connect_timeout;
    let mut complete = false;
    while Instant::now() < deadline && !options.stop.is_cancelled() {
        let snaps: Vec<ProbeSnapshot> = probes.iter().map(Probe::snapshot).collect();
        if mesh_complete(&snaps, options.expect_members) {
            complete = true;
            break;
        }
        if snaps
            .iter()
            .any(|s| matches!(s.state, SessionState::Closed(_)))
        {
            // Room closed, refused or lost: waiting longer cannot help.
            break;
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
    let at_mesh: Vec<ProbeSnapshot> = probes.iter().map(Probe::snapshot).collect();
    let mesh_ms = if complete {
        last_open(&at_mesh).map(|t| t.saturating_duration_since(last_join).as_secs_f64() * 1e3)
    } else {
        None
    };
    if complete {
        tokio::select! {
            _ = tokio::time::sleep(options.duration) => {}
            _ = options.stop.cancelled() => {}
        }
        if let Some(want) = options.expect_chats {
            let chat_deadline = Instant::now() + options.connect_timeout;
            while chats_received(&probes) < want
                && Instant::now() < chat_deadline
                && !options.stop.is_cancelled()
            {
                tokio::time::sleep(CHECK_EVERY).await;
            }
        }
    }
    let at_end = leave_all(probes).await;
    // Members that left during the measuring window (e.g. another run's probes that
    // finished first) keep the pairs they had when the mesh was complete.
    let snaps: Vec<ProbeSnapshot> = at_end
        .into_iter()
        .zip(at_mesh)
        .map(|(end, mesh)| merge_departed(end, mesh))
        .collect();
    Ok(build_report(&options, &snaps, mesh_ms, complete))
}

/// How many chat messages the probes have received so far, over all their links.
fn chats_received(probes: &[Probe]) -> usize {
    probes
        .iter()
        .map(|p| {
            p.snapshot()
                .links
                .values()
                .map(|l| l.chats.len())
                .sum::<usize>()
        })
        .sum()
}

/// `end`, plus the members and links that are gone from it: the last state of the
/// links torn down during the run, and the members seen when the mesh was complete.
fn merge_departed(mut end: ProbeSnapshot, earlier: ProbeSnapshot) -> ProbeSnapshot {
    let departed: Vec<LinkSnapshot> = end.departed.iter().filter_map(|d| d.link.clone()).collect();
    for link in departed {
        if earlier.members.contains_key(&link.peer_id) || end.members.contains_key(&link.peer_id) {
            end.links.entry(link.peer_id.clone()).or_insert(link);
        }
    }
    for (id, name) in earlier.members {
        end.members.entry(id).or_insert(name);
    }
    for (id, link) in earlier.links {
        end.links.entry(id).or_insert(link);
    }
    end
}

async fn leave_all(probes: Vec<Probe>) -> Vec<ProbeSnapshot> {
    // Snapshots before leaving: leaving tears the links down.
    let snaps: Vec<ProbeSnapshot> = probes.iter().map(Probe::snapshot).collect();
    futures_util::future::join_all(probes.into_iter().map(Probe::leave)).await;
    snaps
}

/// True when every probe has an open channel to every member it knows of (and knows
/// at least `expect_members - 1` of them).
pub fn mesh_complete(snaps: &[ProbeSnapshot], expect_members: Option<usize>) -> bool {
    let ids: Vec<&str> = snaps.iter().map(|s| s.id.as_str()).collect();
    snaps.iter().all(|s| {
        let others = ids.iter().copied().filter(|id| *id != s.id);
        let members = s.members.keys().map(String::as_str);
        let enough = expect_members.is_none_or(|m| s.members.len() + 1 >= m);
        enough && s.connected_to_all(others) && s.connected_to_all(members)
    })
}

/// The latest channel-open instant over all links of all probes.
fn last_open(snaps: &[ProbeSnapshot]) -> Option<Instant> {
    snaps
        .iter()
        .flat_map(|s| s.links.values())
        .filter_map(|l| l.opened_at)
        .max()
}

fn pair_of(a: &ProbeSnapshot, b_id: &str, b: Option<&ProbeSnapshot>) -> Pair {
    let ab = a.links.get(b_id);
    let ba = b.and_then(|b| b.links.get(&a.id));
    let sides: Vec<&LinkSnapshot> = [ab, ba].into_iter().flatten().collect();
    let expected_sides = if b.is_some() { 2 } else { 1 };
    // Connected = the channel opened on every side we can see. A channel that closed
    // later because a member left is not a connectivity failure.
    let connected = sides.len() == expected_sides && sides.iter().all(|l| l.has_connected());
    let connect_ms = if connected {
        let start = sides.iter().map(|l| l.created_at).min();
        let end = sides.iter().filter_map(|l| l.opened_at).max();
        match (start, end) {
            (Some(s), Some(e)) => Some(e.saturating_duration_since(s).as_secs_f64() * 1e3),
            _ => None,
        }
    } else {
        None
    };
    let samples: Vec<f64> = sides
        .iter()
        .flat_map(|l| l.rtt_ms.iter().copied())
        .collect();
    let b_name = match b {
        Some(b) => b.name.clone(),
        None => a.members.get(b_id).cloned().unwrap_or_default(),
    };
    // What `a` selected, else what `b` did (both see the same pair from its two ends).
    let selected_pair = sides.iter().find_map(|l| l.selected_pair.clone());
    Pair {
        a: a.id.clone(),
        b: b_id.to_owned(),
        a_name: a.name.clone(),
        b_name,
        connected,
        connect_ms,
        rtt_ms: median(&samples),
        via: selected_pair.as_ref().map(SelectedPair::via),
        selected_pair,
    }
}

/// Builds the report from the probes' last snapshots.
pub fn build_report(
    options: &ProbeOptions,
    snaps: &[ProbeSnapshot],
    mesh_ms: Option<f64>,
    complete: bool,
) -> ProbeReport {
    let probe_ids: BTreeSet<&str> = snaps.iter().map(|s| s.id.as_str()).collect();
    let mut pairs = Vec::new();
    for (i, a) in snaps.iter().enumerate() {
        for b in &snaps[i + 1..] {
            pairs.push(pair_of(a, &b.id, Some(b)));
        }
    }
    // Other members, by id, with their names, as any probe saw them.
    let mut others: BTreeMap<String, String> = BTreeMap::new();
    for s in snaps {
        for (id, name) in &s.members {
            if !probe_ids.contains(id.as_str()) {
                others.insert(id.clone(), name.clone());
            }
        }
    }
    for a in snaps {
        for id in others.keys() {
            pairs.push(pair_of(a, id, None));
        }
    }

    let mut peers = Vec::new();
    let all_members = snaps
        .iter()
        .map(|s| (s.id.clone(), s.name.clone(), true))
        .chain(others.iter().map(|(id, n)| (id.clone(), n.clone(), false)));
    for (id, name, probe) in all_members {
        let mut media = PeerMedia {
            id: id.clone(),
            name,
            probe,
            audio_packets: 0,
            video_packets: 0,
            video_frames: 0,
            tracks: Vec::new(),
        };
        for s in snaps {
            if let Some(link) = s.links.get(&id) {
                for t in &link.tracks {
                    match t.kind.as_str() {
                        "audio" => media.audio_packets += t.packets,
                        "video" => {
                            media.video_packets += t.packets;
                            media.video_frames += t.frames;
                        }
                        _ => {}
                    }
                    media.tracks.push(InboundTrack {
                        by: s.name.clone(),
                        stats: t.clone(),
                    });
                }
            }
        }
        peers.push(media);
    }

    let mut chats = Vec::new();
    for s in snaps {
        for (from, link) in &s.links {
            for c in &link.chats {
                chats.push(ReceivedChat {
                    by: s.name.clone(),
                    from: from.clone(),
                    text: c.text.clone(),
                });
            }
        }
    }

    let mut problems = Vec::new();
    for s in snaps {
        if let SessionState::Closed(reason) = &s.state {
            problems.push(format!("{}: session ended early ({reason:?})", s.name));
        }
    }
    if pairs.is_empty() {
        problems.push("no other member to connect to: join more probes or people".to_owned());
    }
    if !complete && !pairs.is_empty() {
        problems.push(format!(
            "the mesh was not complete after {:.1} s",
            options.connect_timeout.as_secs_f64()
        ));
    }
    for p in pairs.iter().filter(|p| !p.connected) {
        let why = snaps
            .iter()
            .find(|s| s.id == p.a)
            .and_then(|s| s.links.get(&p.b))
            .map(|l| {
                let mut w = format!(
                    "peer connection {}, ICE {}",
                    l.connection_state, l.ice_state
                );
                if let Some(e) = &l.last_error {
                    w.push_str(&format!(", last error: {e}"));
                }
                w
            })
            .unwrap_or_else(|| "no peer connection was started".to_owned());
        problems.push(format!(
            "{} ↔ {}: not connected ({why})",
            p.a_name, p.b_name
        ));
    }
    let room = snaps
        .iter()
        .map(|s| s.room.code.clone())
        .find(|c| !c.is_empty())
        .unwrap_or_else(|| options.room.clone());
    ProbeReport {
        room,
        ws: options.ws_url.clone(),
        ok: !pairs.is_empty() && pairs.iter().all(|p| p.connected),
        pairs,
        peers,
        chats,
        mesh_ms,
        problems,
    }
}

fn label(name: &str, id: &str) -> String {
    if name.is_empty() {
        id.chars().take(8).collect()
    } else {
        name.to_owned()
    }
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 10.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.0} ms"),
        None => "-".to_owned(),
    }
}

/// The human matrix: a grid of every member against every other (cell = round trip
/// when connected, FAIL when not, `?` where no probe could look), then every pair with
/// its connect time, then inbound media, then the verdict.
impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let probes = self.peers.iter().filter(|p| p.probe).count();
        writeln!(
            f,
            "room {} via {}: {} probe(s), {} other member(s)",
            self.room,
            self.ws,
            probes,
            self.peers.len() - probes
        )?;
        let names: Vec<String> = self.peers.iter().map(|p| label(&p.name, &p.id)).collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(4)
            .max(9)
            + 2;
        write!(f, "\n{:width$}", "")?;
        for n in &names {
            write!(f, "{n:>width$}")?;
        }
        writeln!(f)?;
        for (i, row) in self.peers.iter().enumerate() {
            write!(f, "{:width$}", names[i])?;
            for (j, col) in self.peers.iter().enumerate() {
                let cell = if i == j {
                    "-".to_owned()
                } else {
                    match self.pairs.iter().find(|p| {
                        (p.a == row.id && p.b == col.id) || (p.a == col.id && p.b == row.id)
                    }) {
                        Some(p) if p.connected => match p.rtt_ms {
                            Some(_) => ms(p.rtt_ms),
                            None => "ok".to_owned(),
                        },
                        Some(_) => "FAIL".to_owned(),
                        None => "?".to_owned(),
                    }
                };
                write!(f, "{cell:>width$}")?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "\n(cells: data-channel round trip; FAIL = no connection; ? = not visible to a probe)\n"
        )?;
        writeln!(
            f,
            "{:<40} {:>10} {:>12} {:>10} {:>8}",
            "pair", "connected", "connect", "rtt", "via"
        )?;
        for p in &self.pairs {
            let pair = format!("{} <-> {}", label(&p.a_name, &p.a), label(&p.b_name, &p.b));
            writeln!(
                f,
                "{:<40} {:>10} {:>12} {:>10} {:>8}",
                pair,
                if p.connected { "yes" } else { "NO" },
                ms(p.connect_ms),
                ms(p.rtt_ms),
                p.via.map_or("-", Via::as_str)
            )?;
        }
        let media: Vec<&PeerMedia> = self.peers.iter().filter(|p| !p.tracks.is_empty()).collect();
        if !media.is_empty() {
            writeln!(f, "\ninbound media (RTP packets the probes received):")?;
            for p in media {
                writeln!(
                    f,
                    "  {:<24} audio {:>7}  video {:>7} ({} frames)  ({} track(s))",
                    label(&p.name, &p.id),
                    p.audio_packets,
                    p.video_packets,
                    p.video_frames,
                    p.tracks.len()
                )?;
            }
        } else if self.peers.iter().any(|p| !p.probe) {
            writeln!(f, "\ninbound media: none received")?;
        }
        let connected = self.pairs.iter().filter(|p| p.connected).count();
        writeln!(f)?;
        writeln!(f, "pairs connected: {connected}/{}", self.pairs.len())?;
        if let Some(m) = self.mesh_ms {
            writeln!(f, "mesh complete {m:.0} ms after the last join")?;
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        write!(f, "result: {}", if self.ok { "OK" } else { "FAILED" })
    }
}
