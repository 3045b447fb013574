//! Property tests for what a client controls: peer-socket frames.
//!
//! Whatever bytes or JSON arrive, parsing must not panic and must give either the
//! request docs/PROTOCOL.md describes or the error it names; valid requests survive a
//! trip through JSON; names are cleaned into something showable.
//! Case counts are kept small so the suite stays fast; set `PROPTEST_CASES` for
//! a longer hunt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{
    BadMessage, ErrorCode, Event, PeerInfo, Request, RoomBrief, clean_name, error_frame,
    parse_request, signal_frame,
};
use crate::codes::RoomCode;
use proptest::prelude::*;
use rand::SeedableRng as _;
use serde_json::{Map, Value, json};

/// The protocol's default name limit.
const MAX_NAME: usize = 64;

/// 128 cases a property, or `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(128),
        // Failures found are kept as plain regression tests beside the code.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Keys that requests use, and some that they don't.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["type", "room", "name", "passcode", "resume", "to", "data", "from"])
            .prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Strings that are sometimes the protocol's own words.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec!["join", "signal", "leave", "", " ", "K7MQ2P", "k7m-q2p", "Alice", "\u{1}"])
            .prop_map(str::to_owned),
        3 => any::<String>(),
    ]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A JSON object shaped like a request, with fields of any type (or missing).
fn request_like() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        3 => text().prop_map(Value::String),
        1 => json_value(),
    ];
    (
        prop::option::weighted(0.9, field.clone()),
        prop::option::of(field.clone()),
        prop::option::of(field.clone()),
        prop::option::of(field.clone()),
        prop::option::of(field.clone()),
        prop::option::of(field),
        prop::option::of(json_value()),
        prop::collection::btree_map(any::<String>(), json_value(), 0..2),
    )
        .prop_map(|(kind, room, name, passcode, resume, to, data, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            for (k, v) in [
                ("type", kind),
                ("room", room),
                ("name", name),
                ("passcode", passcode),
                ("resume", resume),
                ("to", to),
                ("data", data),
            ] {
                match v {
                    Some(v) => {
                        m.insert(k.to_owned(), v);
                    }
                    None => {
                        m.remove(k);
                    }
                }
            }
            Value::Object(m)
        })
}

/// What docs/PROTOCOL.md says a frame holding `v` must parse to, written from the
/// document rather than from the parser: the outcome as a comparable value.
#[derive(Debug, PartialEq)]
enum Expected {
    Join {
        room: String,
        name: String,
        passcode: Option<String>,
        resume: Option<String>,
    },
    Signal {
        to: String,
        data: Value,
    },
    Leave,
    Err(BadMessage),
    /// Not JSON the node understands (the message text is serde's).
    NotJson,
}

fn expected(v: &Value) -> Expected {
    let Some(obj) = v.as_object() else {
        return Expected::NotJson;
    };
    // A field that is present must have its documented type (null counts as absent).
    let text_field = |k: &str| -> Result<Option<String>, ()> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(()),
        }
    };
    let Some(Value::String(kind)) = obj.get("type") else {
        return Expected::NotJson;
    };
    let fields: Result<Vec<Option<String>>, ()> = ["room", "name", "passcode", "resume", "to"]
        .into_iter()
        .map(text_field)
        .collect();
    let Ok(fields) = fields else {
        return Expected::NotJson;
    };
    let [room, name, passcode, resume, to] = <[Option<String>; 5]>::try_from(fields).unwrap();
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    match kind.as_str() {
        "join" => {
            let Some(room) = room else {
                return Expected::Err(BadMessage::Missing("join", "room"));
            };
            let Some(name) = name else {
                return Expected::Err(BadMessage::Missing("join", "name"));
            };
            match clean_name(&name, MAX_NAME) {
                None => Expected::Err(BadMessage::BadName(MAX_NAME)),
                Some(name) => Expected::Join {
                    room,
                    name,
                    passcode: non_empty(passcode),
                    resume: non_empty(resume),
                },
            }
        }
        "signal" => {
            let Some(to) = to else {
                return Expected::Err(BadMessage::Missing("signal", "to"));
            };
            match obj.get("data") {
                None => Expected::Err(BadMessage::Missing("signal", "data")),
                // As the JSON text says it: serde_json reads some floats back
                // one bit off, so compare what the text parses to, not the value.
                Some(data) => Expected::Signal {
                    to,
                    data: reparsed(data),
                },
            }
        }
        "leave" => Expected::Leave,
        other => Expected::Err(BadMessage::UnknownType(shortened(other))),
    }
}

/// `v` written out and read back.
fn reparsed(v: &Value) -> Value {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

/// Client text echoed in an error is cut to 80 characters (and marked).
fn shortened(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// What the parser gave, in the same terms.
fn outcome(text: &str) -> Expected {
    match parse_request(text, MAX_NAME) {
        Ok(Request::Join(j)) => Expected::Join {
            room: j.room.into_owned(),
            name: j.name,
            passcode: j.passcode.map(|p| p.into_owned()),
            resume: j.resume.map(|r| r.into_owned()),
        },
        Ok(Request::Signal { to, data }) => Expected::Signal {
            to: to.into_owned(),
            data: serde_json::from_str(data.get()).expect("data is JSON"),
        },
        Ok(Request::Leave) => Expected::Leave,
        Err(BadMessage::NotJson(_)) => Expected::NotJson,
        Err(other) => Expected::Err(other),
    }
}

/// Line and paragraph separators (become spaces in names).
const BREAKS: [char; 2] = ['\u{2028}', '\u{2029}'];
/// Bidirectional formatting characters docs/PROTOCOL.md says are removed from names.
const BIDI: [char; 12] = [
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];
/// Some of the invisible characters trimmed from both ends of a name.
const INVISIBLE: [char; 10] = [
    '\u{00AD}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{3164}',
    '\u{115F}',
    '\u{2800}',
    '\u{E0041}',
];

/// Names made to fool someone: letters mixed with controls, separators,
/// direction overrides, invisible characters and spaces.
fn tricky_name() -> impl Strategy<Value = String> {
    let mut pieces: Vec<char> = vec![
        'a', 'Z', 'é', '😀', ' ', '\t', '\n', '\u{0}', '\u{7f}', '\u{85}',
    ];
    pieces.extend(BREAKS);
    pieces.extend(BIDI);
    pieces.extend(INVISIBLE);
    prop::collection::vec(prop::sample::select(pieces), 0..12)
        .prop_map(|cs| cs.into_iter().collect())
}

/// Names people type: letters, digits, punctuation, accents, CJK and emoji, with
/// inner spaces; never empty, never padded.
fn good_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9éßøÅ漢字😀'._-]([A-Za-z0-9éßøÅ漢字😀'._ -]{0,40}[A-Za-z0-9éßøÅ漢字😀'._-])?"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), max in 0usize..100) {
        let text = String::from_utf8_lossy(&bytes);
        match parse_request(&text, max) {
            Ok(_) | Err(BadMessage::NotJson(_)) => {}
            Err(BadMessage::UnknownType(t)) => prop_assert!(t.chars().count() <= 81),
            Err(_) => {}
        }
    }

    #[test]
    fn arbitrary_json_parses_as_documented(v in prop_oneof![
        json_value(),
        request_like(),
        // Only an object is a request, whatever an array holds.
        prop::collection::vec(text().prop_map(Value::String), 1..8).prop_map(Value::Array),
    ]) {
        let text = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(outcome(&text), expected(&v), "frame {}", text);
    }

    #[test]
    fn broken_frames_are_not_json(v in request_like(), cut in any::<prop::sample::Index>()) {
        // A frame cut short anywhere (a truncated or fragmented message) is never
        // taken for a request.
        let text = serde_json::to_string(&v).unwrap();
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let at = bounds[cut.index(bounds.len())];
        prop_assert_eq!(outcome(&text[..at]), Expected::NotJson, "frame {}", &text[..at]);
    }

    #[test]
    fn valid_joins_round_trip(
        room in any::<String>(),
        name in good_name(),
        passcode in prop::option::of(any::<String>()),
        resume in prop::option::of(any::<String>()),
        extra in prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..3),
    ) {
        let mut m: Map<String, Value> = extra
            .into_iter()
            .filter(|(k, _)| !["type", "room", "name", "passcode", "resume", "to", "data"].contains(&k.as_str()))
            .collect();
        m.insert("type".into(), json!("join"));
        m.insert("room".into(), json!(room));
        m.insert("name".into(), json!(name));
        if let Some(p) = &passcode { m.insert("passcode".into(), json!(p)); }
        if let Some(r) = &resume { m.insert("resume".into(), json!(r)); }
        let text = serde_json::to_string(&Value::Object(m)).unwrap();
        prop_assert!(name.chars().count() <= MAX_NAME);
        prop_assert_eq!(
            outcome(&text),
            Expected::Join {
                room,
                name,
                passcode: passcode.filter(|p| !p.is_empty()),
                resume: resume.filter(|r| !r.is_empty()),
            }
        );
    }

    #[test]
    fn signals_round_trip_and_from_is_stamped(
        to in any::<String>(),
        from in any::<String>(),
        spoof in prop::option::of(any::<String>()),
        data in json_value(),
    ) {
        let mut req = json!({"type": "signal", "to": to, "data": data});
        if let Some(spoof) = spoof {
            req["from"] = json!(spoof);
        }
        let text = serde_json::to_string(&req).unwrap();
        let Ok(Request::Signal { to: got_to, data: raw }) = parse_request(&text, MAX_NAME) else {
            return Err(TestCaseError::fail(format!("not a signal: {text}")));
        };
        prop_assert_eq!(&*got_to, to.as_str());
        // The relayed frame carries the sender the node stamps and the same data.
        let frame: Value = serde_json::from_str(signal_frame(&from, raw).as_str()).unwrap();
        prop_assert_eq!(frame, json!({"type": "signal", "from": from, "data": reparsed(&data)}));
    }

    #[test]
    fn names_are_cleaned_into_something_showable(
        raw in prop_oneof![any::<String>(), tricky_name()],
        max in 0usize..80,
    ) {
        match clean_name(&raw, max) {
            Some(name) => {
                let n = name.chars().count();
                prop_assert!((1..=max).contains(&n), "{n} characters, limit {max}");
                prop_assert!(
                    !name.chars().any(|c| c.is_control() || BREAKS.contains(&c) || BIDI.contains(&c)),
                    "a control, line break or direction character in {name:?}"
                );
                let ends = [name.chars().next(), name.chars().last()];
                prop_assert!(
                    !ends.into_iter().flatten().any(|c| c.is_whitespace() || INVISIBLE.contains(&c)),
                    "{name:?} starts or ends with nothing to see"
                );
                prop_assert_eq!(clean_name(&name, max), Some(name.clone()), "cleaning is idempotent");
            }
            None => {
                // Refused only when nothing showable is left or it is too long.
                if let Some(longer) = clean_name(&raw, usize::MAX) {
                    prop_assert!(longer.chars().count() > max);
                }
            }
        }
    }

    #[test]
    fn plain_names_are_kept_as_typed(name in good_name()) {
        prop_assert_eq!(clean_name(&name, MAX_NAME), Some(name.clone()));
        let padded = format!(" \t{name}\n ");
        prop_assert_eq!(clean_name(&padded, MAX_NAME), Some(name));
    }

    #[test]
    fn events_are_json_with_what_was_put_in(
        message in any::<String>(),
        names in prop::collection::vec((any::<String>(), any::<String>()), 0..8),
        room_name in any::<String>(),
        capacity in 0usize..1000,
        seed in any::<u64>(),
    ) {
        let codes = [
            ErrorCode::BadMessage, ErrorCode::NotJoined, ErrorCode::AlreadyJoined,
            ErrorCode::RoomNotFound, ErrorCode::RoomFull, ErrorCode::BadPasscode,
            ErrorCode::UnknownPeer, ErrorCode::TooLarge, ErrorCode::RateLimited,
            ErrorCode::JoinTimeout, ErrorCode::SlowConsumer,
        ];
        for c in codes {
            let v: Value = serde_json::from_str(error_frame(c, &message).as_str()).unwrap();
            prop_assert_eq!(v, json!({"type": "error", "code": c.as_str(), "message": message}));
        }
        let peers: Vec<PeerInfo> = names.iter().map(|(id, name)| PeerInfo { id: id.clone(), name: name.clone() }).collect();
        let code = RoomCode::random(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let welcome = Event::Welcome {
            id: "me",
            token: "t",
            resumed: false,
            room: RoomBrief { code, name: &room_name, capacity },
            peers: peers.iter().collect(),
            ice_servers: Vec::new(),
        };
        let v: Value = serde_json::from_str(welcome.frame().as_str()).unwrap();
        let want_peers: Vec<Value> = names.iter().map(|(id, name)| json!({"id": id, "name": name})).collect();
        prop_assert_eq!(v, json!({
            "type": "welcome", "id": "me", "token": "t", "resumed": false,
            "room": {"code": code.as_str(), "name": room_name, "capacity": capacity},
            "peers": want_peers,
        }));
        for p in &peers {
            let v: Value = serde_json::from_str(Event::PeerJoined { peer: p }.frame().as_str()).unwrap();
            prop_assert_eq!(v, json!({"type": "peer-joined", "peer": {"id": p.id, "name": p.name}}));
            let v: Value = serde_json::from_str(Event::PeerLeft { id: &p.id }.frame().as_str()).unwrap();
            prop_assert_eq!(v, json!({"type": "peer-left", "id": p.id}));
        }
    }
}

/// `PROPTEST_CASES` when set (a longer hunt), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
