//! Property tests for the room state machine (`rooms.rs`): random sequences of
//! creates, joins, drops, resumes, signals, leaves, expiries and closes, checked
//! step by step against a model written from docs/PROTOCOL.md.
//!
//! After every step: each connection got exactly the frames and closes the
//! document says, in order (so a signal reaches only its addressee, in the
//! sender's room, and a resume only works with the member's current token);
//! capacity is never exceeded; ids are unique; buffered signals stay within
//! their count and byte bounds; closed rooms are gone with their tokens; and the
//! listing, the counters and the next deadline agree with the model.
//!
//! 200 sequences by default; set `PROPTEST_CASES` for a longer hunt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use super::{
    CreateError, Fresh, Join, JoinError, Joined, Outbox, RoomSettings, RoomStats, Rooms,
    RoomsConfig, Routed, SignalError,
};
use crate::codes::RoomCode;
use crate::protocol::Frame;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

const GRACE: Duration = Duration::from_secs(15);
/// Signals kept for a held member, and their bytes: small, so the bounds are hit.
const KEEP: usize = 3;
const KEEP_BYTES: usize = 240;
const MAX_ROOMS: usize = 3;
/// The codes rooms are created under (more than `MAX_ROOMS`).
const CODES: [&str; 4] = ["K7MQ2P", "ABCDEF", "00000Z", "ZZZZZZ"];
const PASSCODE: &str = "pw";

fn new_rooms() -> Rooms<u32> {
    Rooms::new(RoomsConfig {
        grace: GRACE,
        resume_buffer: KEEP,
        resume_buffer_bytes: KEEP_BYTES,
        max_rooms: MAX_ROOMS,
    })
}

fn code(slot: usize) -> RoomCode {
    RoomCode::parse(CODES[slot % CODES.len()]).unwrap()
}

/// One effect on one connection.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    Frame(Value),
    Close(u16, &'static str),
}

/// What the state machine did, per connection, in order.
#[derive(Default)]
struct Recorder {
    log: Vec<(u32, Effect)>,
}

impl Outbox<u32> for Recorder {
    fn send(&mut self, link: &u32, frame: Frame) {
        let value = serde_json::from_str(frame.as_str()).expect("every frame is JSON");
        self.log.push((*link, Effect::Frame(value)));
    }
    fn close(&mut self, link: &u32, status: u16, reason: &'static str) {
        self.log.push((*link, Effect::Close(status, reason)));
    }
}

fn per_link(log: Vec<(u32, Effect)>) -> BTreeMap<u32, Vec<Effect>> {
    let mut map: BTreeMap<u32, Vec<Effect>> = BTreeMap::new();
    for (link, effect) in log {
        map.entry(link).or_default().push(effect);
    }
    map
}

// --- The model ----------------------------------------------------------------

#[derive(Debug, Clone)]
struct MMember {
    id: String,
    name: String,
    token: String,
    /// The live connection; `None` while held.
    link: Option<u32>,
    /// The last connection it had (to try it after it was replaced or dropped).
    last_link: u32,
    held_until: Option<Instant>,
    /// Frames kept while held.
    kept: Vec<Value>,
    kept_bytes: usize,
}

#[derive(Debug, Clone)]
struct MRoom {
    code: RoomCode,
    name: String,
    capacity: usize,
    passcode: Option<String>,
    /// In join order.
    members: Vec<MMember>,
}

struct Model {
    rooms: Vec<MRoom>,
    now: Instant,
    next: u32,
    /// Tokens that were good once (used, or their member or room is gone).
    spent_tokens: Vec<String>,
    /// (member id, connection) pairs whose connection no longer speaks for it.
    dead_links: Vec<(String, u32)>,
    /// Every id ever handed out.
    ids: HashSet<String>,
    expected: Vec<(u32, Effect)>,
}

impl Model {
    fn new() -> Self {
        Model {
            rooms: Vec::new(),
            now: Instant::now(),
            next: 1,
            spent_tokens: Vec::new(),
            dead_links: Vec::new(),
            ids: HashSet::new(),
            expected: Vec::new(),
        }
    }

    fn fresh(&mut self) -> (u32, Fresh) {
        let n = self.next;
        self.next += 1;
        (
            n,
            Fresh {
                id: format!("p{n}"),
                token: format!("t{n}"),
            },
        )
    }

    fn room(&self, code: RoomCode) -> Option<usize> {
        self.rooms.iter().position(|r| r.code == code)
    }

    /// Every member as (room index, member index).
    fn members(&self) -> Vec<(usize, usize)> {
        self.rooms
            .iter()
            .enumerate()
            .flat_map(|(r, room)| (0..room.members.len()).map(move |m| (r, m)))
            .collect()
    }

    fn expect(&mut self, link: u32, effect: Effect) {
        self.expected.push((link, effect));
    }

    fn tell_live(&mut self, room: usize, frame: &Value) {
        let links: Vec<u32> = self.rooms[room]
            .members
            .iter()
            .filter_map(|m| m.link)
            .collect();
        for link in links {
            self.expect(link, Effect::Frame(frame.clone()));
        }
    }

    fn remove_member(&mut self, room: usize, index: usize) -> MMember {
        let gone = self.rooms[room].members.remove(index);
        self.spent_tokens.push(gone.token.clone());
        self.dead_links.push((gone.id.clone(), gone.last_link));
        self.tell_live(room, &json!({"type": "peer-left", "id": gone.id}));
        gone
    }

    fn stats(&self) -> RoomStats {
        let all = self.rooms.iter().flat_map(|r| &r.members);
        RoomStats {
            rooms: self.rooms.len(),
            joined: all.clone().filter(|m| m.link.is_some()).count(),
            held: all.filter(|m| m.link.is_none()).count(),
        }
    }
}

fn welcome(room: &MRoom, id: &str, token: &str, resumed: bool) -> Value {
    let peers: Vec<Value> = room
        .members
        .iter()
        .filter(|m| m.id != id)
        .map(|m| json!({"id": m.id, "name": m.name}))
        .collect();
    json!({
        "type": "welcome", "id": id, "token": token, "resumed": resumed,
        "room": {"code": room.code.as_str(), "name": room.name, "capacity": room.capacity},
        "peers": peers,
    })
}

// --- Operations -----------------------------------------------------------------

#[derive(Debug, Clone)]
enum Pass {
    None,
    Right,
    Wrong,
}

#[derive(Debug, Clone)]
enum Resume {
    None,
    /// The current token of some member (of any room).
    Current(Index),
    /// A token that was good once.
    Spent(Index),
    Garbage,
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        slot: usize,
        capacity: usize,
        locked: bool,
        named: bool,
    },
    Join {
        slot: usize,
        name: usize,
        pass: Pass,
        resume: Resume,
    },
    /// A new connection joins the member's own room with its current token.
    Resume(Index),
    /// `Rooms::resume` (a resume and nothing else) with some token, in some room.
    ResumeOnly {
        slot: usize,
        resume: Resume,
    },
    /// The member's connection ends without `leave`.
    Drop(Index),
    /// A connection that no longer speaks for its member tries to act for it.
    DeadLink(Index, Index),
    Leave {
        member: Index,
        own_link: bool,
    },
    Signal {
        from: Index,
        to: Index,
        /// A recipient id nobody has.
        nobody: bool,
        size: usize,
    },
    Wait(u64),
    Close(usize),
}

const NAMES: [&str; 3] = ["Alice", "Bob", "Ça va 😀"];

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..CODES.len();
    let pass = prop_oneof![Just(Pass::None), Just(Pass::Right), Just(Pass::Wrong)];
    let resume = prop_oneof![
        3 => Just(Resume::None),
        3 => any::<Index>().prop_map(Resume::Current),
        1 => any::<Index>().prop_map(Resume::Spent),
        1 => Just(Resume::Garbage),
    ];
    prop_oneof![
        2 => (slot.clone(), 1usize..5, any::<bool>(), any::<bool>())
            .prop_map(|(slot, capacity, locked, named)| Op::Create { slot, capacity, locked, named }),
        6 => (slot.clone(), 0..NAMES.len(), pass, resume.clone())
            .prop_map(|(slot, name, pass, resume)| Op::Join { slot, name, pass, resume }),
        3 => any::<Index>().prop_map(Op::Resume),
        2 => (slot.clone(), resume.clone())
            .prop_map(|(slot, resume)| Op::ResumeOnly { slot, resume }),
        3 => any::<Index>().prop_map(Op::Drop),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::DeadLink(a, b)),
        2 => (any::<Index>(), prop::bool::weighted(0.8))
            .prop_map(|(member, own_link)| Op::Leave { member, own_link }),
        5 => (any::<Index>(), any::<Index>(), prop::bool::weighted(0.1), 0usize..120)
            .prop_map(|(from, to, nobody, size)| Op::Signal { from, to, nobody, size }),
        2 => (0u64..20).prop_map(Op::Wait),
        1 => slot.prop_map(Op::Close),
    ]
}

/// Applies `op` to both, records what the model expects, and checks the outcome.
fn step(rooms: &mut Rooms<u32>, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let mut out = Recorder::default();
    match op {
        Op::Create {
            slot,
            capacity,
            locked,
            named,
        } => {
            let code = code(*slot);
            let name = if *named {
                format!("Room {slot}")
            } else {
                String::new()
            };
            let passcode = locked.then(|| PASSCODE.to_owned());
            let got = rooms.create(
                code,
                RoomSettings {
                    name: name.clone(),
                    listed: true,
                    capacity: *capacity,
                    passcode: passcode.clone(),
                },
            );
            let want = if model.room(code).is_some() {
                Err(CreateError::CodeTaken)
            } else if model.rooms.len() >= MAX_ROOMS {
                Err(CreateError::TooManyRooms(MAX_ROOMS))
            } else {
                let name = if name.is_empty() {
                    code.grouped()
                } else {
                    name
                };
                model.rooms.push(MRoom {
                    code,
                    name,
                    capacity: *capacity,
                    passcode,
                    members: Vec::new(),
                });
                Ok(())
            };
            prop_assert_eq!(got.map(|summary| summary.code == code), want.map(|()| true));
        }
        Op::ResumeOnly { slot, resume } => {
            let code = code(*slot);
            let token = pick_token(model, resume);
            let (link, fresh) = model.fresh();
            let join = Join {
                room: code,
                name: "N",
                passcode: Some("nope"),
                resume: token.as_deref(),
            };
            let got = rooms.resume(&link, join, fresh.clone(), &mut out);
            let want = model_resume(model, code, token.as_deref(), link, &fresh);
            prop_assert_eq!(got, want);
        }
        Op::Join {
            slot,
            name,
            pass,
            resume,
        } => {
            let code = code(*slot);
            let token = pick_token(model, resume);
            let passcode = match pass {
                Pass::None => None,
                Pass::Right => Some(PASSCODE),
                Pass::Wrong => Some("nope"),
            };
            let (link, fresh) = model.fresh();
            let got = rooms.join(
                &link,
                Join {
                    room: code,
                    name: NAMES[*name],
                    passcode,
                    resume: token.as_deref(),
                },
                fresh.clone(),
                &mut out,
            );
            let want = model_join(
                model,
                code,
                NAMES[*name],
                passcode,
                token.as_deref(),
                link,
                &fresh,
            );
            prop_assert_eq!(got, want);
        }
        Op::Resume(i) => {
            let all = model.members();
            if all.is_empty() {
                return Ok(());
            }
            let (r, m) = all[i.index(all.len())];
            let (code, token) = (model.rooms[r].code, model.rooms[r].members[m].token.clone());
            let (link, fresh) = model.fresh();
            let join = Join {
                room: code,
                name: "Someone else",
                passcode: None,
                resume: Some(&token),
            };
            let got = rooms.join(&link, join, fresh.clone(), &mut out);
            let want = model_join(
                model,
                code,
                "Someone else",
                None,
                Some(&token),
                link,
                &fresh,
            );
            prop_assert!(want.as_ref().is_ok_and(|j| j.resumed));
            prop_assert_eq!(got, want);
        }
        Op::Drop(i) => {
            let all = model.members();
            if all.is_empty() {
                return Ok(());
            }
            let (r, m) = all[i.index(all.len())];
            let member = &model.rooms[r].members[m];
            let (id, link) = (member.id.clone(), member.last_link);
            let got = rooms.disconnect(&id, &link, model.now);
            let member = &mut model.rooms[r].members[m];
            let want = if member.link.is_some() {
                // A live member is held for the grace period.
                let deadline = model.now + GRACE;
                member.link = None;
                member.held_until = Some(deadline);
                model.dead_links.push((id, link));
                Some(deadline)
            } else {
                None
            };
            prop_assert_eq!(got, want);
        }
        Op::DeadLink(pick, target) => {
            if model.dead_links.is_empty() {
                return Ok(());
            }
            let (id, link) = model.dead_links[pick.index(model.dead_links.len())].clone();
            let to = model
                .members()
                .get(target.index(model.members().len().max(1)))
                .map(|&(r, m)| model.rooms[r].members[m].id.clone())
                .unwrap_or_else(|| id.clone());
            let frame: Frame = json!({"type": "signal", "from": id, "data": "stale"})
                .to_string()
                .into();
            prop_assert_eq!(
                rooms.signal(&id, &link, &to, frame, &mut out),
                Err(SignalError::NotJoined),
                "a connection that was replaced, dropped or closed cannot signal"
            );
            prop_assert!(!rooms.leave(&id, &link, &mut out), "nor leave");
            prop_assert_eq!(rooms.disconnect(&id, &link, model.now), None, "nor be held");
        }
        Op::Leave { member, own_link } => {
            let all = model.members();
            if all.is_empty() {
                return Ok(());
            }
            let (r, m) = all[member.index(all.len())];
            let mm = &model.rooms[r].members[m];
            let id = mm.id.clone();
            let link = if *own_link { mm.last_link } else { 0 };
            let live = mm.link == Some(link);
            let got = rooms.leave(&id, &link, &mut out);
            if live {
                let gone = model.remove_member(r, m);
                model.expect(link, Effect::Close(1000, "leave"));
                prop_assert_eq!(gone.link, Some(link));
            }
            prop_assert_eq!(got, live);
        }
        Op::Signal {
            from,
            to,
            nobody,
            size,
        } => {
            let all = model.members();
            if all.is_empty() {
                return Ok(());
            }
            let (fr, fm) = all[from.index(all.len())];
            let (tr, tm) = all[to.index(all.len())];
            let sender = model.rooms[fr].members[fm].clone();
            let to_id = if *nobody {
                "nobody".to_owned()
            } else {
                model.rooms[tr].members[tm].id.clone()
            };
            let value = json!({"type": "signal", "from": sender.id, "data": "x".repeat(*size)});
            let text = value.to_string();
            let got = rooms.signal(
                &sender.id,
                &sender.last_link,
                &to_id,
                text.clone().into(),
                &mut out,
            );
            let want = if sender.link.is_none() {
                // A held member has no connection to speak with.
                Err(SignalError::NotJoined)
            } else if *nobody || tr != fr {
                Err(SignalError::UnknownPeer)
            } else {
                let target = &mut model.rooms[tr].members[tm];
                match target.link {
                    Some(link) => {
                        model.expected.push((link, Effect::Frame(value)));
                        Ok(Routed::Delivered)
                    }
                    None if target.kept.len() < KEEP
                        && target.kept_bytes + text.len() <= KEEP_BYTES =>
                    {
                        target.kept.push(value);
                        target.kept_bytes += text.len();
                        Ok(Routed::Buffered)
                    }
                    None => Ok(Routed::Dropped),
                }
            };
            prop_assert_eq!(got, want);
        }
        Op::Wait(secs) => {
            model.now += Duration::from_secs(*secs);
            let now = model.now;
            let got = rooms.expire(now, &mut out);
            let mut ended = 0;
            for r in 0..model.rooms.len() {
                while let Some(m) = model.rooms[r]
                    .members
                    .iter()
                    .position(|m| m.held_until.is_some_and(|t| t <= now))
                {
                    model.remove_member(r, m);
                    ended += 1;
                }
            }
            prop_assert_eq!(got, ended);
        }
        Op::Close(slot) => {
            let code = code(*slot);
            let got = rooms.close_room(code, &mut out);
            let want = match model.room(code) {
                None => false,
                Some(r) => {
                    let room = model.rooms.remove(r);
                    for m in room.members {
                        model.spent_tokens.push(m.token.clone());
                        model.dead_links.push((m.id.clone(), m.last_link));
                        if let Some(link) = m.link {
                            model.expect(link, Effect::Frame(json!({"type": "room-closed"})));
                            model.expect(link, Effect::Close(1000, "room-closed"));
                        }
                    }
                    true
                }
            };
            prop_assert_eq!(got, want);
        }
    }
    let got = per_link(std::mem::take(&mut out.log));
    let want = per_link(std::mem::take(&mut model.expected));
    prop_assert_eq!(got, want, "effects of {:?}", op);
    check_invariants(rooms, model)
}

fn pick_token(model: &Model, resume: &Resume) -> Option<String> {
    match resume {
        Resume::None => None,
        Resume::Garbage => Some("no-such-token".into()),
        Resume::Current(i) => {
            let all = model.members();
            (!all.is_empty()).then(|| {
                let (r, m) = all[i.index(all.len())];
                model.rooms[r].members[m].token.clone()
            })
        }
        Resume::Spent(i) => (!model.spent_tokens.is_empty())
            .then(|| model.spent_tokens[i.index(model.spent_tokens.len())].clone()),
    }
}

/// A join as docs/PROTOCOL.md describes it: a resume when the token is a member's
/// current one in this room, otherwise an ordinary join (room, passcode,
/// capacity, in that order).
fn model_join(
    model: &mut Model,
    code: RoomCode,
    name: &str,
    passcode: Option<&str>,
    token: Option<&str>,
    link: u32,
    fresh: &Fresh,
) -> Result<Joined, JoinError> {
    if let Some(joined) = model_resume(model, code, token, link, fresh) {
        return Ok(joined);
    }
    let r = model.room(code).ok_or(JoinError::RoomNotFound)?;
    if let Some(expected) = &model.rooms[r].passcode
        && passcode != Some(expected.as_str())
    {
        return Err(JoinError::BadPasscode);
    }
    if model.rooms[r].members.len() >= model.rooms[r].capacity {
        return Err(JoinError::RoomFull);
    }
    let hello = welcome(&model.rooms[r], &fresh.id, &fresh.token, false);
    model.expect(link, Effect::Frame(hello));
    model.tell_live(
        r,
        &json!({"type": "peer-joined", "peer": {"id": fresh.id, "name": name}}),
    );
    model.rooms[r].members.push(MMember {
        id: fresh.id.clone(),
        name: name.to_owned(),
        token: fresh.token.clone(),
        link: Some(link),
        last_link: link,
        held_until: None,
        kept: Vec::new(),
        kept_bytes: 0,
    });
    model.ids.insert(fresh.id.clone());
    Ok(Joined {
        id: fresh.id.clone(),
        room: code,
        resumed: false,
    })
}

/// A resume: the token is a member's current one, in this room. The member's new
/// connection gets `welcome` (the room as it is now) and what was kept for it, in
/// order; a connection it still had is closed as `replaced`; nobody else hears of
/// it. Anything else is no resume, and changes nothing.
fn model_resume(
    model: &mut Model,
    code: RoomCode,
    token: Option<&str>,
    link: u32,
    fresh: &Fresh,
) -> Option<Joined> {
    let r = model.room(code)?;
    let m = model.rooms[r]
        .members
        .iter()
        .position(|m| Some(m.token.as_str()) == token)?;
    let old_token = std::mem::replace(&mut model.rooms[r].members[m].token, fresh.token.clone());
    model.spent_tokens.push(old_token);
    let member = model.rooms[r].members[m].clone();
    if let Some(old) = member.link {
        model.expect(old, Effect::Close(1000, "replaced"));
    }
    model.dead_links.push((member.id.clone(), member.last_link));
    let hello = welcome(&model.rooms[r], &member.id, &fresh.token, true);
    model.expect(link, Effect::Frame(hello));
    for frame in &member.kept {
        model.expect(link, Effect::Frame(frame.clone()));
    }
    let member = &mut model.rooms[r].members[m];
    member.link = Some(link);
    member.last_link = link;
    member.held_until = None;
    member.kept.clear();
    member.kept_bytes = 0;
    Some(Joined {
        id: member.id.clone(),
        room: code,
        resumed: true,
    })
}

fn check_invariants(rooms: &Rooms<u32>, model: &Model) -> Result<(), TestCaseError> {
    // The listing matches the model, and no room is over capacity.
    let listed: Vec<(RoomCode, String, usize, usize, bool)> = rooms
        .list()
        .into_iter()
        .map(|s| (s.code, s.name, s.capacity, s.peers, s.locked))
        .collect();
    let mut want: Vec<_> = model
        .rooms
        .iter()
        .map(|r| {
            (
                r.code,
                r.name.clone(),
                r.capacity,
                r.members.len(),
                r.passcode.is_some(),
            )
        })
        .collect();
    want.sort_by_key(|r| r.0);
    prop_assert_eq!(&listed, &want);
    for (code, _, capacity, peers, _) in &listed {
        prop_assert!(
            peers <= capacity,
            "room {} has {} of {}",
            code,
            peers,
            capacity
        );
    }
    for slot in 0..CODES.len() {
        let code = code(slot);
        prop_assert_eq!(rooms.contains(code), model.room(code).is_some());
    }
    // Counters and the next deadline.
    let stats = rooms.stats();
    prop_assert_eq!(stats, model.stats());
    prop_assert_eq!(
        stats.joined + stats.held,
        listed.iter().map(|r| r.3).sum::<usize>()
    );
    let next = model
        .rooms
        .iter()
        .flat_map(|r| &r.members)
        .filter_map(|m| m.held_until)
        .min();
    prop_assert_eq!(rooms.next_deadline(), next);
    // Ids are unique among members, and every held member has a deadline.
    let mut seen = HashSet::new();
    for m in model.rooms.iter().flat_map(|r| &r.members) {
        prop_assert!(seen.insert(m.id.clone()), "id {} twice", m.id);
        prop_assert_eq!(m.link.is_none(), m.held_until.is_some());
        prop_assert!(m.kept.len() <= KEEP && m.kept_bytes <= KEEP_BYTES);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
        // Failures found are kept as plain regression tests beside the code.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rooms_follow_the_protocol(ops in prop::collection::vec(op(), 1..64)) {
        let mut rooms = new_rooms();
        let mut model = Model::new();
        for op in &ops {
            step(&mut rooms, &mut model, op)?;
        }
        // Closing everything leaves nothing behind, and no old token resumes.
        let mut out = Recorder::default();
        rooms.close_all(&mut out);
        prop_assert_eq!(rooms.stats(), RoomStats::default());
        prop_assert!(rooms.list().is_empty() && rooms.next_deadline().is_none());
        let code = code(0);
        rooms
            .create(code, RoomSettings { name: "again".into(), listed: false, capacity: 8, passcode: None })
            .unwrap();
        let mut tokens = model.spent_tokens.clone();
        tokens.extend(model.rooms.iter().flat_map(|r| &r.members).map(|m| m.token.clone()));
        for (n, token) in tokens.iter().enumerate() {
            let fresh = Fresh { id: format!("q{n}"), token: format!("u{n}") };
            let join = Join { room: code, name: "N", passcode: None, resume: Some(token) };
            match rooms.join(&(100_000 + n as u32), join, fresh, &mut out) {
                Ok(joined) => prop_assert!(!joined.resumed, "token {} outlived its room", token),
                Err(err) => prop_assert_eq!(err, JoinError::RoomFull),
            }
        }
    }
}
