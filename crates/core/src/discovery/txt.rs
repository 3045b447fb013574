//! The TXT record of a node's `_lanmeet._tcp.local.` service, both ways.
//!
//! ```text
//! v=1  id=<node id>  name=<node name>  s=<serial>  r0=K7MQ2P|2|8|Friday call  r1=…
//! ```
//!
//! `s` changes with every update. Without it, a record that goes back to an
//! earlier content within a second (a guest joins and leaves) would match the
//! copy browsers still hold for their cache-flush second, and mdns-sd would
//! refresh the old copy instead of reporting the change.
//!
//! One property per listed room, `CODE|PEERS|CAPACITY|NAME`, because a TXT
//! string holds at most 255 bytes and a whole record must fit in one mDNS packet
//! (about 1,400 bytes with the PTR, SRV and address records beside it). So names
//! are cut to [`MAX_ROOM_NAME_BYTES`] and the rooms to [`MAX_TXT_BYTES`] in all;
//! rooms that do not fit are still joinable by code (resolution asks the node).
//!
//! Decoding is strict about what it needs (`v=1`, an id, a name) and forgiving
//! about single rooms: a bad room entry is skipped, not the node. Records from
//! other devices are untrusted input, so every size is bounded.

use std::collections::BTreeMap;

use crate::codes::RoomCode;
use crate::protocol::clean_name;

/// The protocol version in `v=`.
pub(crate) const VERSION: &str = "1";
/// Budget for all TXT strings together (length bytes included).
pub(crate) const MAX_TXT_BYTES: usize = 900;
/// A room name in the record is cut to this many bytes (on a character boundary).
pub(crate) const MAX_ROOM_NAME_BYTES: usize = 60;
/// A node name in the record is cut to this many bytes.
pub(crate) const MAX_NODE_NAME_BYTES: usize = 120;
/// Rooms read from one record at most.
pub(crate) const MAX_ROOMS: usize = 64;
/// Capacity above which a room entry is nonsense.
const MAX_CAPACITY: usize = 64;
/// Longest node id we accept.
const MAX_ID_LEN: usize = 64;
/// Longest name shown, in characters (docs/PROTOCOL.md's name limit).
const MAX_NAME_CHARS: usize = 64;

/// A listed room as it travels in a TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxtRoom {
    pub(crate) code: RoomCode,
    pub(crate) peers: usize,
    pub(crate) capacity: usize,
    pub(crate) name: String,
}

/// What a valid record says about its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) rooms: Vec<TxtRoom>,
}

/// Why a record is ignored (logged at debug level only: other devices' noise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("no v=1")]
    Version,
    #[error("missing or bad id")]
    Id,
    #[error("missing or bad name")]
    Name,
    #[error("too many properties")]
    TooLarge,
}

/// `s` cut to at most `max` bytes without splitting a character.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The TXT properties for a node, rooms in the order given, as many as fit.
pub(crate) fn encode(
    id: &str,
    name: &str,
    serial: u32,
    rooms: &[TxtRoom],
) -> Vec<(String, String)> {
    let mut props = vec![
        ("v".to_owned(), VERSION.to_owned()),
        ("id".to_owned(), id.to_owned()),
        ("name".to_owned(), cut(name, MAX_NODE_NAME_BYTES).to_owned()),
        ("s".to_owned(), serial.to_string()),
    ];
    let mut used: usize = props.iter().map(|(k, v)| 1 + k.len() + 1 + v.len()).sum();
    for (i, room) in rooms.iter().take(MAX_ROOMS).enumerate() {
        let key = format!("r{i}");
        let value = format!(
            "{}|{}|{}|{}",
            room.code,
            room.peers,
            room.capacity,
            cut(&room.name, MAX_ROOM_NAME_BYTES)
        );
        let cost = 1 + key.len() + 1 + value.len();
        if used + cost > MAX_TXT_BYTES {
            break;
        }
        used += cost;
        props.push((key, value));
    }
    props
}

/// Reads a record from its properties (key, value) as mdns-sd hands them over.
pub(crate) fn decode<'a>(
    props: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
) -> Result<NodeRecord, RecordError> {
    let mut map: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for (count, (key, value)) in props.into_iter().enumerate() {
        if count > MAX_ROOMS + 16 {
            return Err(RecordError::TooLarge);
        }
        // RFC 6763 6.4: the first occurrence of a key wins.
        map.entry(key).or_insert(value.unwrap_or_default());
    }
    let text = |key: &str| map.get(key).and_then(|v| std::str::from_utf8(v).ok());
    if text("v") != Some(VERSION) {
        return Err(RecordError::Version);
    }
    let id = text("id")
        .filter(|id| {
            (1..=MAX_ID_LEN).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or(RecordError::Id)?;
    let name = text("name")
        .and_then(|n| clean_name(cut_chars(n, MAX_NAME_CHARS), MAX_NAME_CHARS))
        .ok_or(RecordError::Name)?;
    let mut rooms: Vec<TxtRoom> = Vec::new();
    for i in 0..MAX_ROOMS {
        let Some(value) = text(&format!("r{i}")) else {
            break;
        };
        if let Some(room) = decode_room(value) {
            if !rooms.iter().any(|r| r.code == room.code) {
                rooms.push(room);
            }
        }
    }
    Ok(NodeRecord {
        id: id.to_owned(),
        name,
        rooms,
    })
}

fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

fn decode_room(value: &str) -> Option<TxtRoom> {
    let mut parts = value.splitn(4, '|');
    let code = parts.next()?;
    let peers: usize = parts.next()?.parse().ok()?;
    let capacity: usize = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    // Canonical codes only: a record is machine-written.
    let code = RoomCode::parse(code).ok().filter(|c| c.as_str() == code)?;
    if !(2..=MAX_CAPACITY).contains(&capacity) || peers > capacity {
        return None;
    }
    let name = clean_name(cut_chars(name, MAX_NAME_CHARS), MAX_NAME_CHARS)
        .unwrap_or_else(|| code.grouped());
    Some(TxtRoom {
        code,
        peers,
        capacity,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(code: &str, name: &str) -> TxtRoom {
        TxtRoom {
            code: RoomCode::parse(code).unwrap(),
            peers: 1,
            capacity: 8,
            name: name.into(),
        }
    }

    fn decode_pairs(props: &[(String, String)]) -> Result<NodeRecord, RecordError> {
        decode(props.iter().map(|(k, v)| (k.as_str(), Some(v.as_bytes()))))
    }

    fn raw(props: &[(&str, &str)]) -> Result<NodeRecord, RecordError> {
        decode(props.iter().map(|(k, v)| (*k, Some(v.as_bytes()))))
    }

    #[test]
    fn round_trips_rooms() {
        let rooms = vec![room("K7MQ2P", "Friday call"), room("ABCDEF", "a|b|c")];
        let props = encode("node1", "desk", 7, &rooms);
        let record = decode_pairs(&props).unwrap();
        assert_eq!(
            record,
            NodeRecord {
                id: "node1".into(),
                name: "desk".into(),
                rooms
            }
        );
    }

    #[test]
    fn every_string_fits_and_the_record_stays_small() {
        let long = "é".repeat(64);
        let rooms: Vec<TxtRoom> = (0..100)
            .map(|_| TxtRoom {
                name: long.clone(),
                ..room(&format!("{:0>6}", 7), "")
            })
            .collect();
        let props = encode("node1", &"ñ".repeat(64), u32::MAX, &rooms);
        let total: usize = props.iter().map(|(k, v)| 1 + k.len() + 1 + v.len()).sum();
        assert!(total <= MAX_TXT_BYTES, "{total}");
        assert!(props.iter().all(|(k, v)| k.len() + 1 + v.len() <= 255));
        assert!(props.len() > 8, "some rooms fit: {}", props.len());
        // Cut names stay valid UTF-8 and decode.
        let record = decode_pairs(&props).unwrap();
        assert!(record.rooms[0].name.starts_with("éé"));
    }

    #[test]
    fn rejects_foreign_or_broken_records() {
        assert_eq!(
            raw(&[("id", "x"), ("name", "n")]),
            Err(RecordError::Version)
        );
        assert_eq!(
            raw(&[("v", "2"), ("id", "x"), ("name", "n")]),
            Err(RecordError::Version)
        );
        assert_eq!(raw(&[("v", "1"), ("name", "n")]), Err(RecordError::Id));
        assert_eq!(
            raw(&[("v", "1"), ("id", "a b"), ("name", "n")]),
            Err(RecordError::Id)
        );
        assert_eq!(
            raw(&[("v", "1"), ("id", &"x".repeat(65)), ("name", "n")]),
            Err(RecordError::Id)
        );
        assert_eq!(raw(&[("v", "1"), ("id", "x")]), Err(RecordError::Name));
        assert_eq!(
            raw(&[("v", "1"), ("id", "x"), ("name", " ")]),
            Err(RecordError::Name)
        );
        let many: Vec<(String, String)> =
            (0..200).map(|i| (format!("k{i}"), String::new())).collect();
        let mut props = vec![("v".to_owned(), "1".to_owned())];
        props.extend(many);
        assert_eq!(decode_pairs(&props), Err(RecordError::TooLarge));
    }

    #[test]
    fn skips_bad_rooms_but_keeps_the_node() {
        let record = raw(&[
            ("v", "1"),
            ("id", "x"),
            ("name", "n"),
            ("r0", "K7MQ2P|1|8|ok"),
            ("r1", "k7m-q2p|1|8|not canonical"),
            ("r2", "ABCDEF|9|8|more peers than seats"),
            ("r3", "ABCDEG|0|99999|absurd capacity"),
            ("r4", "ABCDEH|x|8|bad number"),
            ("r5", "ABCDEJ|0|8"),
            ("r6", "K7MQ2P|2|8|duplicate"),
            ("r7", "ABCDEK|0|8|"),
        ])
        .unwrap();
        let codes: Vec<&str> = record.rooms.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["K7MQ2P", "ABCDEK"]);
        assert_eq!(
            record.rooms[1].name, "ABC-DEK",
            "an empty name shows the code"
        );
    }

    #[test]
    fn rooms_stop_at_the_first_gap() {
        let record = raw(&[
            ("v", "1"),
            ("id", "x"),
            ("name", "n"),
            ("r0", "K7MQ2P|1|8|a"),
            ("r2", "ABCDEF|1|8|b"),
        ])
        .unwrap();
        assert_eq!(record.rooms.len(), 1);
    }
}
