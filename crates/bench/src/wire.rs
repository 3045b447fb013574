//! The three targets' wire dialects and the bench's own marker inside each signal.
//!
//! Every signal carries, as a JSON string at the start of its data, a fixed-width
//! marker `LMB:SSSSSS:RRRRRR:PP:TTTTTTTTTTTT:QQQQQQQQQQ` (sender index, receiver index,
//! phase, send time in µs since the bench started, per-pair sequence number). A string
//! value survives any re-serialization by the server unchanged, so the receiver finds it
//! with one substring search and needs no JSON parse on the hot path. Frames are built
//! from a per-(sender, receiver) prefix, the marker's variable part, and a shared tail:
//! one allocation and three copies per message.

use std::fmt;

/// Which server a run talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `lanmeet host`, every protocol rule on.
    Lanmeet,
    /// The bench's own bare forwarder (`lanmeet-bench relay`): the floor.
    Relay,
    /// The PeerJS server (npm `peer`).
    Peerjs,
}

impl Kind {
    pub(crate) fn parse(name: &str) -> Option<Kind> {
        match name.trim() {
            "lanmeet" => Some(Kind::Lanmeet),
            "relay" => Some(Kind::Relay),
            "peerjs" => Some(Kind::Peerjs),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Lanmeet => "lanmeet",
            Kind::Relay => "relay",
            Kind::Peerjs => "peerjs",
        }
    }

    /// The peer-socket URL for the socket with bench index `idx`. Relay and PeerJS
    /// take the id from the URL; lanmeet assigns one in `welcome`.
    pub(crate) fn socket_url(self, port: u16, idx: usize) -> String {
        match self {
            Kind::Lanmeet => format!("ws://127.0.0.1:{port}/ws"),
            Kind::Relay => format!("ws://127.0.0.1:{port}/ws?id={}", client_id(idx)),
            Kind::Peerjs => format!(
                "ws://127.0.0.1:{port}/peerjs?key=peerjs&id={}&token=t{idx}",
                client_id(idx)
            ),
        }
    }

    /// The key with which the server stamps the sender into a forwarded signal; the
    /// bare relay forwards frames untouched.
    pub(crate) fn stamp_key(self) -> Option<&'static [u8]> {
        match self {
            Kind::Lanmeet => Some(br#""from":""#),
            Kind::Relay => None,
            Kind::Peerjs => Some(br#""src":""#),
        }
    }

    /// The start of a signal frame addressed to `to`, up to where the data value
    /// begins.
    fn frame_head(self, to: &str, offer: bool) -> String {
        match self {
            Kind::Lanmeet => format!(r#"{{"type":"signal","to":"{to}","data":"#),
            Kind::Relay => format!(r#"{{"to":"{to}","data":"#),
            Kind::Peerjs => {
                let ty = if offer { "OFFER" } else { "CANDIDATE" };
                format!(r#"{{"type":"{ty}","dst":"{to}","payload":"#)
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The id a relay or PeerJS socket chooses for itself.
pub(crate) fn client_id(idx: usize) -> String {
    format!("s{idx}")
}

/// The marker's fixed tag; it never occurs elsewhere in a frame.
pub(crate) const TAG: &[u8] = b"LMB:";
/// Length of the marker after the tag: `SSSSSS:RRRRRR:PP:TTTTTTTTTTTT:QQQQQQQQQQ`.
const MARK_LEN: usize = 6 + 1 + 6 + 1 + 2 + 1 + 12 + 1 + 10;
/// Length of the part written per message: `PP:TTTTTTTTTTTT:QQQQQQQQQQ`.
const VAR_LEN: usize = 2 + 1 + 12 + 1 + 10;

/// Size of an offer's data value, as the brief says ("3 KB offer").
pub(crate) const OFFER_BYTES: usize = 3072;
/// Size of a candidate's data value ("250 B candidates", also the steady signal).
pub(crate) const CANDIDATE_BYTES: usize = 250;

/// The tails (data after the marker, then the frame's closing brace) shared by every
/// frame, padded so the data value has the stated size.
pub(crate) struct Tails {
    offer: String,
    candidate: String,
}

impl Tails {
    pub(crate) fn new() -> Tails {
        // data = {"m":"LMB:<MARK_LEN>", ...rest...}
        let data_head = r#"{"m":""#.len() + TAG.len() + MARK_LEN;
        let offer_fixed = r#"","description":{"type":"offer","sdp":"v=0 "}}"#.len();
        let offer_pad = OFFER_BYTES.saturating_sub(data_head + offer_fixed);
        let offer = format!(
            r#"","description":{{"type":"offer","sdp":"v=0 {}"}}}}"#,
            pad(offer_pad)
        );
        let cand_fixed =
            r#"","candidate":{"candidate":"candidate:","sdpMid":"0","sdpMLineIndex":0}}"#.len();
        let cand_pad = CANDIDATE_BYTES.saturating_sub(data_head + cand_fixed);
        let candidate = format!(
            r#"","candidate":{{"candidate":"candidate:{}","sdpMid":"0","sdpMLineIndex":0}}}}"#,
            pad(cand_pad)
        );
        // Every frame dialect is one object around the data: close it.
        Tails {
            offer: offer + "}",
            candidate: candidate + "}",
        }
    }
}

/// Filler text shaped a little like SDP, with no characters JSON would escape.
fn pad(n: usize) -> String {
    let pattern = b"a=candidate 1 udp 2113937151 192.168.1.23 54321 typ host ";
    (0..n)
        .map(|i| char::from(pattern[i % pattern.len()]))
        .collect()
}

/// The fixed part of one sender's frames to one receiver.
pub(crate) struct Route {
    offer_prefix: String,
    candidate_prefix: String,
}

impl Route {
    pub(crate) fn new(kind: Kind, to: &str, from_idx: usize, to_idx: usize) -> Route {
        let mark = format!(
            "{}{:06}:{:06}:",
            tag_str(),
            from_idx % 1_000_000,
            to_idx % 1_000_000
        );
        Route {
            offer_prefix: format!(r#"{}{{"m":"{mark}"#, kind.frame_head(to, true)),
            candidate_prefix: format!(r#"{}{{"m":"{mark}"#, kind.frame_head(to, false)),
        }
    }

    /// One frame, stamped now.
    pub(crate) fn frame(
        &self,
        tails: &Tails,
        offer: bool,
        phase: u8,
        t_us: u64,
        seq: u32,
    ) -> String {
        let (prefix, tail) = if offer {
            (&self.offer_prefix, &tails.offer)
        } else {
            (&self.candidate_prefix, &tails.candidate)
        };
        let mut s = String::with_capacity(prefix.len() + VAR_LEN + tail.len());
        s.push_str(prefix);
        push_digits(&mut s, u64::from(phase), 2);
        s.push(':');
        push_digits(&mut s, t_us, 12);
        s.push(':');
        push_digits(&mut s, u64::from(seq), 10);
        s.push_str(tail);
        s
    }
}

fn tag_str() -> &'static str {
    "LMB:"
}

/// Appends `v` as exactly `width` decimal digits (zero-padded, high digits dropped).
fn push_digits(s: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    for &b in &buf[..width] {
        s.push(char::from(b));
    }
}

/// A marker read back from a received frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) phase: u8,
    pub(crate) t_us: u64,
    pub(crate) seq: u32,
}

/// Finds and reads the marker; `None` for frames that are not bench signals (or a
/// marker the server mangled, which the caller counts).
pub(crate) fn find_mark(frame: &[u8]) -> Option<Result<Mark, ()>> {
    let at = memchr::memmem::find(frame, TAG)? + TAG.len();
    Some(frame.get(at..at + MARK_LEN).ok_or(()).and_then(parse_mark))
}

fn parse_mark(m: &[u8]) -> Result<Mark, ()> {
    let num = |range: std::ops::Range<usize>| -> Result<u64, ()> {
        let digits = m.get(range).ok_or(())?;
        digits.iter().try_fold(0u64, |acc, &d| {
            if d.is_ascii_digit() {
                Ok(acc * 10 + u64::from(d - b'0'))
            } else {
                Err(())
            }
        })
    };
    Ok(Mark {
        from: usize::try_from(num(0..6)?).map_err(|_| ())?,
        to: usize::try_from(num(7..13)?).map_err(|_| ())?,
        phase: u8::try_from(num(14..16)?).map_err(|_| ())?,
        t_us: num(17..29)?,
        seq: u32::try_from(num(30..40)?).map_err(|_| ())?,
    })
}

/// The sender id the server stamped into a frame (`from` or `src`), if any.
pub(crate) fn stamped_sender<'a>(frame: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = memchr::memmem::find(frame, key)? + key.len();
    let rest = frame.get(at..)?;
    let end = memchr::memchr(b'"', rest)?;
    rest.get(..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_of(frame: &str, key: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(frame).unwrap_or_default();
        v[key].clone()
    }

    #[test]
    fn frames_are_json_with_the_stated_data_sizes() {
        let tails = Tails::new();
        let route = Route::new(Kind::Lanmeet, "abc", 12, 345);
        for (offer, size) in [(true, OFFER_BYTES), (false, CANDIDATE_BYTES)] {
            let f = route.frame(&tails, offer, 3, 123_456_789, 42);
            let data = data_of(&f, "data");
            assert_eq!(data.to_string().len(), size);
            assert_eq!(data_of(&f, "to"), "abc");
        }
    }

    #[test]
    fn marker_round_trips_through_reserialization() {
        let tails = Tails::new();
        let route = Route::new(Kind::Peerjs, "s9", 7, 9);
        let f = route.frame(&tails, false, 17, 987_654_321_012, 4_000_000_000);
        // A server may reorder keys and reformat: the marker must still be found.
        let v: serde_json::Value = serde_json::from_str(&f).unwrap_or_default();
        let again = serde_json::to_string_pretty(&v).unwrap_or_default();
        let mark = find_mark(again.as_bytes()).and_then(Result::ok);
        assert_eq!(
            mark,
            Some(Mark {
                from: 7,
                to: 9,
                phase: 17,
                t_us: 987_654_321_012,
                seq: 4_000_000_000
            })
        );
    }

    #[test]
    fn stamped_sender_is_read() {
        let f = br#"{"type":"signal","from":"Xy-9","data":{}}"#;
        assert_eq!(stamped_sender(f, br#""from":""#), Some(&b"Xy-9"[..]));
        assert_eq!(stamped_sender(f, br#""src":""#), None);
    }

    #[test]
    fn mangled_marker_is_an_error_not_a_panic() {
        assert_eq!(find_mark(b"..LMB:12"), Some(Err(())));
        assert_eq!(find_mark(b"no marker"), None);
    }
}
