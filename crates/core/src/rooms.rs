//! The room rules as a pure state machine: no sockets, no tasks, no clock.
//!
//! The async shell ([`crate::registry`]) owns a [`Rooms`] behind a mutex, feeds it
//! requests with the current time and fresh random ids, and hands it an
//! [`Outbox`] through which every effect leaves: a frame for a connection, or a
//! close. Nothing here blocks or fails for I/O reasons, so the hard rules of
//! docs/PROTOCOL.md (capacity, passcodes, grace and resume, buffered signals, routing
//! within a room, in order) are unit-tested below without a socket.
//!
//! Invariants:
//! - every member of a room has exactly one entry in `peers` and one live token in
//!   `tokens`; a member is either *live* (has a link) or *held* (has a deadline);
//! - a signal goes only to a member of the sender's own room;
//! - effects for one connection leave in the order they were produced.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::codes::RoomCode;
use crate::config::Limits;
use crate::ice::IceSource;
use crate::protocol::{ErrorCode, Event, Frame, PeerInfo, RoomBrief, close};

/// Where effects go. The shell's implementation pushes into bounded queues without
/// waiting; tests record them.
pub(crate) trait Outbox<L> {
    /// Queue a text frame for the connection behind `link`.
    fn send(&mut self, link: &L, frame: Frame);
    /// Queue a close frame; the connection ends after it.
    fn close(&mut self, link: &L, status: u16, reason: &'static str);
}

/// How a room is set up when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomSettings {
    pub name: String,
    pub listed: bool,
    pub capacity: usize,
    pub passcode: Option<String>,
}

/// A room as listed by the control API and in discovery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RoomSummary {
    pub code: RoomCode,
    pub name: String,
    pub listed: bool,
    pub capacity: usize,
    /// Members, live and held.
    pub peers: usize,
    /// Whether joining needs a passcode (never the passcode itself).
    pub locked: bool,
}

/// Fresh random values the shell draws for a join; the state machine uses them
/// only when it needs them.
#[derive(Debug, Clone)]
pub(crate) struct Fresh {
    pub id: String,
    pub token: String,
}

/// A join as the state machine sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Join<'a> {
    pub room: RoomCode,
    pub name: &'a str,
    pub passcode: Option<&'a str>,
    pub resume: Option<&'a str>,
}

/// The outcome of a successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    pub id: String,
    pub room: RoomCode,
    pub resumed: bool,
}

/// Why a join was refused; each maps to a protocol error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JoinError {
    #[error("{}", ErrorCode::RoomNotFound.message())]
    RoomNotFound,
    #[error("{}", ErrorCode::RoomFull.message())]
    RoomFull,
    #[error("{}", ErrorCode::BadPasscode.message())]
    BadPasscode,
}

impl JoinError {
    pub(crate) fn code(self) -> ErrorCode {
        match self {
            JoinError::RoomNotFound => ErrorCode::RoomNotFound,
            JoinError::RoomFull => ErrorCode::RoomFull,
            JoinError::BadPasscode => ErrorCode::BadPasscode,
        }
    }
}

/// What happened to a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Queued for the recipient's live connection.
    Delivered,
    /// The recipient is held (reconnecting); kept for its resume.
    Buffered,
    /// The recipient is held and its buffer is full: dropped, as docs/PROTOCOL.md says.
    Dropped,
}

/// Why a signal could not be routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignalError {
    #[error("{}", ErrorCode::UnknownPeer.message())]
    UnknownPeer,
    #[error("{}", ErrorCode::NotJoined.message())]
    NotJoined,
}

/// Why a room could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    #[error("a room with that code already exists")]
    CodeTaken,
    #[error("this node already hosts {0} rooms, the most it allows")]
    TooManyRooms(usize),
}

/// Counters for health checks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RoomStats {
    pub rooms: usize,
    /// Members with a live connection.
    pub joined: usize,
    /// Members in their grace period.
    pub held: usize,
}

struct Member<L> {
    info: PeerInfo,
    token: String,
    link: Option<L>,
    held_until: Option<Instant>,
    /// Signals that arrived while held, delivered after the resumed `welcome`.
    buffer: VecDeque<Frame>,
    /// Bytes in `buffer`.
    buffered_bytes: usize,
}

struct Room<L> {
    settings: RoomSettings,
    /// In join order, which is the order of `welcome.peers`.
    members: Vec<Member<L>>,
}

impl<L> Room<L> {
    fn brief(&self, code: RoomCode) -> RoomBrief<'_> {
        RoomBrief {
            code,
            name: &self.settings.name,
            capacity: self.settings.capacity,
        }
    }

    fn member(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.info.id == id)
    }
}

/// Every room on this node and who is in it.
pub(crate) struct Rooms<L> {
    rooms: HashMap<RoomCode, Room<L>>,
    /// Which room each member is in.
    peers: HashMap<String, RoomCode>,
    /// Resume token → member id. One token per member, used once.
    tokens: HashMap<String, String>,
    config: RoomsConfig,
    /// ICE servers for each `welcome` (docs/PROTOCOL.md [ext] `iceServers`).
    ice: IceSource,
}

/// How the room rules are tuned; [`crate::Limits`] holds the node's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomsConfig {
    /// How long a dropped member's id is held for a resume.
    pub grace: Duration,
    /// Signals kept for a held member.
    pub resume_buffer: usize,
    /// Bytes of signals kept for a held member.
    pub resume_buffer_bytes: usize,
    /// Rooms this node hosts at most.
    pub max_rooms: usize,
}

impl From<&Limits> for RoomsConfig {
    fn from(limits: &Limits) -> Self {
        RoomsConfig {
            grace: limits.grace,
            resume_buffer: limits.resume_buffer,
            resume_buffer_bytes: limits.resume_buffer_bytes,
            max_rooms: limits.max_rooms,
        }
    }
}

impl<L: Clone + PartialEq> Rooms<L> {
    pub(crate) fn new(config: RoomsConfig) -> Self {
        Rooms {
            rooms: HashMap::new(),
            peers: HashMap::new(),
            tokens: HashMap::new(),
            config,
            ice: IceSource::default(),
        }
    }

    /// Sets what every later `welcome` carries in `iceServers`.
    pub(crate) fn set_ice(&mut self, ice: IceSource) {
        self.ice = ice;
    }

    /// Whether `id` is a member of a room here (live or held): what the relay asks.
    pub(crate) fn is_member(&self, id: &str) -> bool {
        self.peers.contains_key(id)
    }

    /// Opens a room with the given code. An empty name becomes the code as people
    /// see it (`K7M-Q2P`).
    pub(crate) fn create(
        &mut self,
        code: RoomCode,
        mut settings: RoomSettings,
    ) -> Result<RoomSummary, CreateError> {
        if settings.name.is_empty() {
            settings.name = code.grouped();
        }
        if self.rooms.contains_key(&code) {
            return Err(CreateError::CodeTaken);
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Err(CreateError::TooManyRooms(self.config.max_rooms));
        }
        let room = Room {
            settings,
            members: Vec::new(),
        };
        let summary = summarize(code, &room);
        self.rooms.insert(code, room);
        Ok(summary)
    }

    pub(crate) fn contains(&self, code: RoomCode) -> bool {
        self.rooms.contains_key(&code)
    }

    /// All rooms, sorted by code so listings are stable.
    pub(crate) fn list(&self) -> Vec<RoomSummary> {
        let mut all: Vec<_> = self
            .rooms
            .iter()
            .map(|(code, room)| summarize(*code, room))
            .collect();
        all.sort_by_key(|r| r.code);
        all
    }

    pub(crate) fn stats(&self) -> RoomStats {
        let mut stats = RoomStats {
            rooms: self.rooms.len(),
            ..RoomStats::default()
        };
        for member in self.rooms.values().flat_map(|r| &r.members) {
            if member.link.is_some() {
                stats.joined += 1;
            } else {
                stats.held += 1;
            }
        }
        stats
    }

    /// Puts `link` into a room: a resume when `join.resume` is a live token for
    /// that room, otherwise a new member (passcode and capacity checked).
    pub(crate) fn join(
        &mut self,
        link: &L,
        join: Join<'_>,
        fresh: Fresh,
        out: &mut impl Outbox<L>,
    ) -> Result<Joined, JoinError> {
        if let Some(joined) = self.try_resume(link, &join, &fresh, out) {
            return Ok(joined);
        }
        let room = self
            .rooms
            .get_mut(&join.room)
            .ok_or(JoinError::RoomNotFound)?;
        if let Some(expected) = &room.settings.passcode
            && join.passcode != Some(expected.as_str())
        {
            return Err(JoinError::BadPasscode);
        }
        if room.members.len() >= room.settings.capacity {
            return Err(JoinError::RoomFull);
        }
        let info = PeerInfo {
            id: fresh.id.clone(),
            name: join.name.to_owned(),
        };
        let welcome = Event::Welcome {
            id: &info.id,
            token: &fresh.token,
            resumed: false,
            room: room.brief(join.room),
            peers: room.members.iter().map(|m| &m.info).collect(),
            ice_servers: self.ice.for_member(&info.id),
        }
        .frame();
        out.send(link, welcome);
        let joined_frame = Event::PeerJoined { peer: &info }.frame();
        for other in &room.members {
            if let Some(other_link) = &other.link {
                out.send(other_link, joined_frame.clone());
            }
        }
        room.members.push(Member {
            info,
            token: fresh.token.clone(),
            link: Some(link.clone()),
            held_until: None,
            buffer: VecDeque::new(),
            buffered_bytes: 0,
        });
        self.peers.insert(fresh.id.clone(), join.room);
        self.tokens.insert(fresh.token, fresh.id.clone());
        Ok(Joined {
            id: fresh.id,
            room: join.room,
            resumed: false,
        })
    }

    /// Only a resume: puts `link` back in the place of the member whose live
    /// token `join.resume` is, in that room; `None` (and nothing changed)
    /// otherwise. No passcode or capacity check, as in [`Rooms::join`].
    pub(crate) fn resume(
        &mut self,
        link: &L,
        join: Join<'_>,
        fresh: Fresh,
        out: &mut impl Outbox<L>,
    ) -> Option<Joined> {
        self.try_resume(link, &join, &fresh, out)
    }

    fn try_resume(
        &mut self,
        link: &L,
        join: &Join<'_>,
        fresh: &Fresh,
        out: &mut impl Outbox<L>,
    ) -> Option<Joined> {
        let token = join.resume?;
        let id = self.tokens.get(token)?;
        let code = *self.peers.get(id)?;
        if code != join.room {
            // A token is good in its own room only: this is an ordinary join.
            return None;
        }
        let room = self.rooms.get_mut(&code)?;
        let index = room.member(id)?;
        let id = id.clone();
        self.tokens.remove(token);
        self.tokens.insert(fresh.token.clone(), id.clone());

        let peers: Vec<&PeerInfo> = room
            .members
            .iter()
            .filter(|m| m.info.id != id)
            .map(|m| &m.info)
            .collect();
        let welcome = Event::Welcome {
            id: &id,
            token: &fresh.token,
            resumed: true,
            room: room.brief(code),
            peers,
            ice_servers: self.ice.for_member(&id),
        }
        .frame();
        let member = &mut room.members[index];
        if let Some(old) = member.link.replace(link.clone()) {
            out.close(&old, close::NORMAL, "replaced");
        }
        member.held_until = None;
        member.token = fresh.token.clone();
        out.send(link, welcome);
        for frame in member.buffer.drain(..) {
            out.send(link, frame);
        }
        member.buffer = VecDeque::new();
        member.buffered_bytes = 0;
        Some(Joined {
            id,
            room: code,
            resumed: true,
        })
    }

    /// Relays a prepared `signal` frame from `from` to `to`, within `from`'s room.
    /// `from_link` must be the sender's current connection: a socket that was
    /// replaced by a resume no longer speaks for the member.
    pub(crate) fn signal(
        &mut self,
        from: &str,
        from_link: &L,
        to: &str,
        frame: Frame,
        out: &mut impl Outbox<L>,
    ) -> Result<Routed, SignalError> {
        let code = self.peers.get(from).ok_or(SignalError::NotJoined)?;
        let room = self.rooms.get_mut(code).ok_or(SignalError::NotJoined)?;
        let sender = room.member(from).ok_or(SignalError::NotJoined)?;
        if room.members[sender].link.as_ref() != Some(from_link) {
            return Err(SignalError::NotJoined);
        }
        let index = room.member(to).ok_or(SignalError::UnknownPeer)?;
        let member = &mut room.members[index];
        match &member.link {
            Some(link) => {
                out.send(link, frame);
                Ok(Routed::Delivered)
            }
            None if member.buffer.len() < self.config.resume_buffer
                && member.buffered_bytes + frame.as_str().len()
                    <= self.config.resume_buffer_bytes =>
            {
                member.buffered_bytes += frame.as_str().len();
                member.buffer.push_back(frame);
                Ok(Routed::Buffered)
            }
            None => Ok(Routed::Dropped),
        }
    }

    /// `leave`: the member is gone at once; others get `peer-left`, the socket is
    /// closed (1000, `leave`). Ignored (returns false) unless `link` is the
    /// member's current connection.
    pub(crate) fn leave(&mut self, id: &str, link: &L, out: &mut impl Outbox<L>) -> bool {
        let current = self
            .peers
            .get(id)
            .and_then(|code| self.rooms.get(code))
            .and_then(|room| room.member(id).map(|i| &room.members[i]))
            .is_some_and(|m| m.link.as_ref() == Some(link));
        if !current {
            return false;
        }
        if let Some(member) = self.remove_member(id, out)
            && let Some(link) = &member.link
        {
            out.close(link, close::NORMAL, "leave");
        }
        true
    }

    /// The connection `link` of member `id` ended without `leave`. Holds the id for
    /// the grace period and returns the deadline, at which the shell calls
    /// [`Rooms::expire`]. Returns `None` when `link` is no longer the member's
    /// connection (replaced, left, room closed).
    pub(crate) fn disconnect(&mut self, id: &str, link: &L, now: Instant) -> Option<Instant> {
        let code = self.peers.get(id)?;
        let room = self.rooms.get_mut(code)?;
        let index = room.member(id)?;
        let member = &mut room.members[index];
        if member.link.as_ref() != Some(link) {
            return None;
        }
        let deadline = now + self.config.grace;
        member.link = None;
        member.held_until = Some(deadline);
        Some(deadline)
    }

    /// Ends every hold whose grace period is over; their rooms get `peer-left`.
    /// Returns how many were ended.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut impl Outbox<L>) -> usize {
        let due: Vec<String> = self
            .rooms
            .values()
            .flat_map(|room| &room.members)
            .filter(|m| m.held_until.is_some_and(|t| t <= now))
            .map(|m| m.info.id.clone())
            .collect();
        for id in &due {
            self.remove_member(id, out);
        }
        due.len()
    }

    /// The earliest pending hold deadline, if any (the shell keeps one timer
    /// per hold instead; tests check the holds with it).
    #[cfg(test)]
    fn next_deadline(&self) -> Option<Instant> {
        self.rooms
            .values()
            .flat_map(|r| &r.members)
            .filter_map(|m| m.held_until)
            .min()
    }

    /// Closes a room: its live members get `room-closed` and a close (1000,
    /// `room-closed`); held ids and tokens are dropped. Returns whether it existed.
    pub(crate) fn close_room(&mut self, code: RoomCode, out: &mut impl Outbox<L>) -> bool {
        let Some(room) = self.rooms.remove(&code) else {
            return false;
        };
        let closed = Event::RoomClosed.frame();
        for member in room.members {
            self.peers.remove(&member.info.id);
            self.tokens.remove(&member.token);
            if let Some(link) = &member.link {
                out.send(link, closed.clone());
                out.close(link, close::NORMAL, "room-closed");
            }
        }
        true
    }

    /// Closes every room (node shutdown).
    pub(crate) fn close_all(&mut self, out: &mut impl Outbox<L>) {
        let codes: Vec<RoomCode> = self.rooms.keys().copied().collect();
        for code in codes {
            self.close_room(code, out);
        }
    }

    fn remove_member(&mut self, id: &str, out: &mut impl Outbox<L>) -> Option<Member<L>> {
        let code = self.peers.remove(id)?;
        let room = self.rooms.get_mut(&code)?;
        let index = room.member(id)?;
        let member = room.members.remove(index);
        self.tokens.remove(&member.token);
        let left = Event::PeerLeft { id }.frame();
        for other in &room.members {
            if let Some(link) = &other.link {
                out.send(link, left.clone());
            }
        }
        Some(member)
    }
}

fn summarize<L>(code: RoomCode, room: &Room<L>) -> RoomSummary {
    RoomSummary {
        code,
        name: room.settings.name.clone(),
        listed: room.settings.listed,
        capacity: room.settings.capacity,
        peers: room.members.len(),
        locked: room.settings.passcode.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Records effects per link, as the shell's queues would receive them.
    #[derive(Default)]
    struct Recorder {
        log: Vec<(u32, Value)>,
    }

    impl Outbox<u32> for Recorder {
        fn send(&mut self, link: &u32, frame: Frame) {
            let value = serde_json::from_str(frame.as_str()).unwrap();
            self.log.push((*link, value));
        }
        fn close(&mut self, link: &u32, status: u16, reason: &'static str) {
            self.log.push((
                *link,
                serde_json::json!({"close": status, "reason": reason}),
            ));
        }
    }

    impl Recorder {
        fn take(&mut self, link: u32) -> Vec<Value> {
            let (mine, rest) = std::mem::take(&mut self.log)
                .into_iter()
                .partition(|(l, _)| *l == link);
            self.log = rest;
            mine.into_iter().map(|(_, v)| v).collect()
        }
        fn types(&mut self, link: u32) -> Vec<String> {
            self.take(link)
                .into_iter()
                .map(|v| match v.get("type") {
                    Some(t) => t.as_str().unwrap().to_owned(),
                    None => format!("close:{}", v["reason"].as_str().unwrap()),
                })
                .collect()
        }
    }

    const GRACE: Duration = Duration::from_secs(15);

    fn config(resume_buffer: usize, resume_buffer_bytes: usize, max_rooms: usize) -> RoomsConfig {
        RoomsConfig {
            grace: GRACE,
            resume_buffer,
            resume_buffer_bytes,
            max_rooms,
        }
    }

    fn code() -> RoomCode {
        RoomCode::parse("K7MQ2P").unwrap()
    }

    fn rooms_with(capacity: usize, passcode: Option<&str>) -> Rooms<u32> {
        let mut rooms = Rooms::new(config(3, 1 << 20, 16));
        rooms
            .create(
                code(),
                RoomSettings {
                    name: "Friday".into(),
                    listed: true,
                    capacity,
                    passcode: passcode.map(str::to_owned),
                },
            )
            .unwrap();
        rooms
    }

    fn fresh(n: u32) -> Fresh {
        Fresh {
            id: format!("p{n}"),
            token: format!("t{n}-{}", rand::random::<u32>()),
        }
    }

    fn join(rooms: &mut Rooms<u32>, link: u32, out: &mut Recorder) -> Result<Joined, JoinError> {
        let join = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: None,
        };
        rooms.join(&link, join, fresh(link), out)
    }

    fn token_of(welcome: &Value) -> String {
        welcome["token"].as_str().unwrap().to_owned()
    }

    #[test]
    fn newcomer_gets_peers_in_join_order_and_others_get_peer_joined() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        for link in 1..=3 {
            join(&mut rooms, link, &mut out).unwrap();
        }
        let third = out.take(3);
        let peers: Vec<&str> = third[0]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(peers, ["p1", "p2"]);
        assert_eq!(third[0]["resumed"], false);
        assert_eq!(third[0]["room"]["name"], "Friday");
        assert_eq!(out.types(1), ["welcome", "peer-joined", "peer-joined"]);
        assert_eq!(out.types(2), ["welcome", "peer-joined"]);
    }

    #[test]
    fn capacity_counts_held_members() {
        let mut rooms = rooms_with(2, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        assert_eq!(join(&mut rooms, 3, &mut out), Err(JoinError::RoomFull));
        let now = Instant::now();
        rooms.disconnect("p2", &2, now).unwrap();
        assert_eq!(
            join(&mut rooms, 3, &mut out),
            Err(JoinError::RoomFull),
            "held id still counts"
        );
        rooms.expire(now + GRACE, &mut out);
        assert!(join(&mut rooms, 3, &mut out).is_ok());
    }

    #[test]
    fn passcode_is_checked_and_unknown_rooms_refused() {
        let mut rooms = rooms_with(8, Some("1234"));
        let mut out = Recorder::default();
        assert_eq!(join(&mut rooms, 1, &mut out), Err(JoinError::BadPasscode));
        let ok = Join {
            room: code(),
            name: "A",
            passcode: Some("1234"),
            resume: None,
        };
        assert!(rooms.join(&1, ok, fresh(1), &mut out).is_ok());
        let other = Join {
            room: RoomCode::parse("ZZZZZZ").unwrap(),
            ..ok
        };
        assert_eq!(
            rooms.join(&2, other, fresh(2), &mut out),
            Err(JoinError::RoomNotFound)
        );
    }

    #[test]
    fn signals_route_within_the_room_only() {
        let mut rooms = rooms_with(8, None);
        let other = RoomCode::parse("ABCDEF").unwrap();
        rooms
            .create(
                other,
                RoomSettings {
                    name: "x".into(),
                    listed: false,
                    capacity: 8,
                    passcode: None,
                },
            )
            .unwrap();
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        let elsewhere = Join {
            room: other,
            name: "E",
            passcode: None,
            resume: None,
        };
        rooms.join(&9, elsewhere, fresh(9), &mut out).unwrap();
        out.log.clear();

        let frame: Frame = "{\"type\":\"signal\",\"from\":\"p1\",\"data\":1}".into();
        assert_eq!(
            rooms.signal("p1", &1, "p2", frame.clone(), &mut out),
            Ok(Routed::Delivered)
        );
        assert_eq!(
            rooms.signal("p1", &1, "p9", frame.clone(), &mut out),
            Err(SignalError::UnknownPeer)
        );
        assert_eq!(
            rooms.signal("p1", &1, "nobody", frame.clone(), &mut out),
            Err(SignalError::UnknownPeer)
        );
        assert_eq!(
            rooms.signal("ghost", &7, "p2", frame, &mut out),
            Err(SignalError::NotJoined)
        );
        assert_eq!(out.take(2).len(), 1);
        assert!(
            out.log.is_empty(),
            "nothing reached another room: {:?}",
            out.log
        );
    }

    #[test]
    fn resume_takes_the_id_back_with_buffered_signals_in_order() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        let token = token_of(&out.take(2)[0]);
        out.log.clear();

        let now = Instant::now();
        assert_eq!(rooms.disconnect("p2", &2, now), Some(now + GRACE));
        assert_eq!(
            rooms.stats(),
            RoomStats {
                rooms: 1,
                joined: 1,
                held: 1
            }
        );
        for n in 0..5 {
            let frame: Frame =
                format!("{{\"type\":\"signal\",\"from\":\"p1\",\"data\":{n}}}").into();
            let routed = rooms.signal("p1", &1, "p2", frame, &mut out).unwrap();
            assert_eq!(
                routed,
                if n < 3 {
                    Routed::Buffered
                } else {
                    Routed::Dropped
                }
            );
        }
        assert!(out.log.is_empty(), "no peer-left during grace");

        let again = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        let joined = rooms.join(&20, again, fresh(20), &mut out).unwrap();
        assert_eq!(
            joined,
            Joined {
                id: "p2".into(),
                room: code(),
                resumed: true
            }
        );
        let got = out.take(20);
        assert_eq!(got[0]["type"], "welcome");
        assert_eq!(got[0]["resumed"], true);
        assert_eq!(got[0]["id"], "p2");
        assert_ne!(token_of(&got[0]), token);
        let data: Vec<i64> = got[1..]
            .iter()
            .map(|v| v["data"].as_i64().unwrap())
            .collect();
        assert_eq!(data, [0, 1, 2]);
        assert!(
            out.log.is_empty(),
            "others see neither peer-left nor peer-joined"
        );
        assert_eq!(
            rooms.expire(now + GRACE * 2, &mut out),
            0,
            "the hold ended with the resume"
        );

        // A token is good for one resume only.
        let reuse = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        let joined = rooms.join(&21, reuse, fresh(21), &mut out).unwrap();
        assert!(!joined.resumed);
        assert_eq!(joined.id, "p21");
    }

    #[test]
    fn kept_signals_are_bounded_in_bytes_too() {
        let mut rooms: Rooms<u32> = Rooms::new(config(256, 100, 16));
        rooms
            .create(
                code(),
                RoomSettings {
                    name: "a".into(),
                    listed: true,
                    capacity: 8,
                    passcode: None,
                },
            )
            .unwrap();
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        rooms.disconnect("p2", &2, Instant::now());
        let frame: Frame = "x".repeat(60).into();
        assert_eq!(
            rooms.signal("p1", &1, "p2", frame.clone(), &mut out),
            Ok(Routed::Buffered)
        );
        assert_eq!(
            rooms.signal("p1", &1, "p2", frame, &mut out),
            Ok(Routed::Dropped),
            "120 bytes > 100"
        );
    }

    #[test]
    fn resume_of_a_live_socket_replaces_it() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        let token = token_of(&out.take(1)[0]);
        let again = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        rooms.join(&10, again, fresh(10), &mut out).unwrap();
        assert_eq!(out.types(1), ["close:replaced"]);
        let frame: Frame = "{}".into();
        assert_eq!(
            rooms.signal("p1", &1, "p1", frame, &mut out),
            Err(SignalError::NotJoined),
            "the old link cannot signal"
        );
        assert!(
            !rooms.leave("p1", &1, &mut out),
            "nor leave on the new socket's behalf"
        );
        assert_eq!(
            rooms.disconnect("p1", &1, Instant::now()),
            None,
            "the old link no longer counts"
        );
        assert_eq!(rooms.stats().joined, 1);
    }

    #[test]
    fn resume_token_only_works_in_its_own_room() {
        let mut rooms = rooms_with(8, None);
        let other = RoomCode::parse("ABCDEF").unwrap();
        rooms
            .create(
                other,
                RoomSettings {
                    name: "x".into(),
                    listed: true,
                    capacity: 8,
                    passcode: None,
                },
            )
            .unwrap();
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        let token = token_of(&out.take(1)[0]);
        let wrong = Join {
            room: other,
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        let joined = rooms.join(&2, wrong, fresh(2), &mut out).unwrap();
        assert!(!joined.resumed);
        assert_eq!(joined.id, "p2");
    }

    #[test]
    fn resume_skips_passcode_and_capacity() {
        let mut rooms = rooms_with(2, Some("pw"));
        let mut out = Recorder::default();
        let with_pw = |_n: u32| Join {
            room: code(),
            name: "N",
            passcode: Some("pw"),
            resume: None,
        };
        rooms.join(&1, with_pw(1), fresh(1), &mut out).unwrap();
        rooms.join(&2, with_pw(2), fresh(2), &mut out).unwrap();
        let token = token_of(&out.take(2)[0]);
        rooms.disconnect("p2", &2, Instant::now());
        let back = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        assert!(rooms.join(&3, back, fresh(3), &mut out).unwrap().resumed);
    }

    #[test]
    fn grace_expiry_tells_the_room() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        out.log.clear();
        let now = Instant::now();
        let deadline = rooms.disconnect("p2", &2, now).unwrap();
        assert_eq!(rooms.next_deadline(), Some(deadline));
        assert_eq!(
            rooms.expire(deadline - Duration::from_millis(1), &mut out),
            0
        );
        assert_eq!(rooms.expire(deadline, &mut out), 1);
        assert_eq!(
            out.take(1),
            [serde_json::json!({"type":"peer-left","id":"p2"})]
        );
        assert_eq!(
            rooms.stats(),
            RoomStats {
                rooms: 1,
                joined: 1,
                held: 0
            }
        );
        assert_eq!(rooms.next_deadline(), None);
    }

    #[test]
    fn leave_is_immediate() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        out.log.clear();
        assert!(
            !rooms.leave("p2", &99, &mut out),
            "only the member's own socket can leave"
        );
        assert!(out.log.is_empty());
        assert!(rooms.leave("p2", &2, &mut out));
        assert_eq!(out.types(1), ["peer-left"]);
        assert_eq!(out.types(2), ["close:leave"]);
        assert_eq!(rooms.disconnect("p2", &2, Instant::now()), None);
        assert_eq!(rooms.stats().joined, 1);
    }

    #[test]
    fn closing_a_room_tells_live_members_and_forgets_tokens() {
        let mut rooms = rooms_with(8, None);
        let mut out = Recorder::default();
        join(&mut rooms, 1, &mut out).unwrap();
        join(&mut rooms, 2, &mut out).unwrap();
        let token = token_of(&out.take(2)[0]);
        rooms.disconnect("p2", &2, Instant::now());
        out.log.clear();
        assert!(rooms.close_room(code(), &mut out));
        assert_eq!(out.types(1), ["room-closed", "close:room-closed"]);
        assert!(out.log.is_empty());
        assert_eq!(rooms.stats(), RoomStats::default());
        assert!(rooms.tokens.is_empty() && rooms.peers.is_empty());
        assert!(!rooms.close_room(code(), &mut out));
        // The same code hosted again does not honour the old token.
        rooms
            .create(
                code(),
                RoomSettings {
                    name: "n".into(),
                    listed: true,
                    capacity: 8,
                    passcode: None,
                },
            )
            .unwrap();
        let back = Join {
            room: code(),
            name: "N",
            passcode: None,
            resume: Some(&token),
        };
        assert!(!rooms.join(&3, back, fresh(3), &mut out).unwrap().resumed);
    }

    #[test]
    fn room_limits() {
        let mut rooms: Rooms<u32> = Rooms::new(config(3, 1 << 20, 1));
        let s = RoomSettings {
            name: "a".into(),
            listed: true,
            capacity: 8,
            passcode: None,
        };
        rooms.create(code(), s.clone()).unwrap();
        assert_eq!(rooms.create(code(), s.clone()), Err(CreateError::CodeTaken));
        assert_eq!(
            rooms.create(RoomCode::parse("ABCDEF").unwrap(), s),
            Err(CreateError::TooManyRooms(1))
        );
    }
}

/// Property tests (proptest): random input against what docs/PROTOCOL.md says.
#[cfg(test)]
mod properties;
