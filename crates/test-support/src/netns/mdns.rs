//! mDNS packets on a test LAN: built (a device announcing, well or badly) and
//! watched (what actually went over the wire, to count announcements).
//!
//! RFC 1035 wire format; names are written uncompressed and read with
//! compression pointers followed.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{MDNS, enter};

fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend(label.as_bytes());
    }
    out.push(0);
}

fn put_record(out: &mut Vec<u8>, owner: &str, rtype: u16, flush: bool, rdata: &[u8]) {
    put_name(out, owner);
    out.extend(rtype.to_be_bytes());
    out.extend((if flush { 0x8001u16 } else { 1 }).to_be_bytes());
    out.extend(120u32.to_be_bytes());
    out.extend((rdata.len() as u16).to_be_bytes());
    out.extend(rdata);
}

/// An unsolicited announcement of `instance._lanmeet._tcp.local.` with the
/// given TXT strings, SRV port and IPv4 address.
pub fn announcement(instance: &str, txt: &[Vec<u8>], port: u16, ip: [u8; 4]) -> Vec<u8> {
    let service = "_lanmeet._tcp.local";
    let full = format!("{instance}.{service}");
    let host = format!("{instance}-host.local");
    let mut out = vec![0, 0, 0x84, 0, 0, 0, 0, 4, 0, 0, 0, 0];
    let mut ptr = Vec::new();
    put_name(&mut ptr, &full);
    put_record(&mut out, service, 12, false, &ptr);
    let mut srv = vec![0, 0, 0, 0];
    srv.extend(port.to_be_bytes());
    put_name(&mut srv, &host);
    put_record(&mut out, &full, 33, true, &srv);
    let mut rdata = Vec::new();
    for s in txt {
        rdata.push(s.len() as u8);
        rdata.extend(s);
    }
    put_record(&mut out, &full, 16, true, &rdata);
    put_record(&mut out, &host, 1, true, &ip);
    out
}

/// TXT strings from `key=value` texts.
pub fn txt(props: &[&str]) -> Vec<Vec<u8>> {
    props.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// One packet seen on the wire.
#[derive(Debug, Clone)]
pub struct MdnsPacket {
    pub from: SocketAddr,
    pub at: Instant,
    /// A response (QR bit set), as opposed to a query.
    pub response: bool,
    /// Answers, authorities and additionals, in order.
    pub records: Vec<MdnsRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsRecord {
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// A PTR's target (lowercase, no trailing dot).
    Ptr(String),
    /// A TXT's strings.
    Txt(Vec<String>),
    A(Ipv4Addr),
    Other,
}

impl MdnsPacket {
    /// The TXT strings of every record about `_lanmeet._tcp` that a PTR in
    /// this response points at: what a browser learns from it.
    pub fn lanmeet_txts(&self) -> Vec<&[String]> {
        if !self.response {
            return Vec::new();
        }
        let instances: Vec<&str> = self
            .records
            .iter()
            .filter(|r| r.name == "_lanmeet._tcp.local" && r.ttl > 0)
            .filter_map(|r| match &r.data {
                RData::Ptr(target) => Some(target.as_str()),
                _ => None,
            })
            .collect();
        self.records
            .iter()
            .filter(|r| instances.contains(&r.name.as_str()) && r.ttl > 0)
            .filter_map(|r| match &r.data {
                RData::Txt(strings) => Some(strings.as_slice()),
                _ => None,
            })
            .collect()
    }
}

/// Reads a packet; `None` if it is not well-formed DNS.
fn parse(bytes: &[u8], from: SocketAddr, at: Instant) -> Option<MdnsPacket> {
    let u16_at = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]))
    };
    let response = bytes.get(2)? & 0x80 != 0;
    let questions = u16_at(4)?;
    let records = u16_at(6)? as usize + u16_at(8)? as usize + u16_at(10)? as usize;
    let mut pos = 12;
    for _ in 0..questions {
        let (_, next) = read_name(bytes, pos)?;
        pos = next + 4;
    }
    let mut out = Vec::new();
    for _ in 0..records {
        let (name, next) = read_name(bytes, pos)?;
        let rtype = u16_at(next)?;
        let ttl = u32::from_be_bytes(bytes.get(next + 4..next + 8)?.try_into().ok()?);
        let len = u16_at(next + 8)? as usize;
        let start = next + 10;
        let rdata = bytes.get(start..start + len)?;
        let data = match rtype {
            12 => RData::Ptr(read_name(bytes, start)?.0),
            16 => {
                let mut strings = Vec::new();
                let mut i = 0;
                while i < rdata.len() {
                    let n = rdata[i] as usize;
                    let s = rdata.get(i + 1..i + 1 + n)?;
                    strings.push(String::from_utf8_lossy(s).into_owned());
                    i += 1 + n;
                }
                RData::Txt(strings)
            }
            1 if len == 4 => RData::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            _ => RData::Other,
        };
        out.push(MdnsRecord {
            name,
            rtype,
            ttl,
            data,
        });
        pos = start + len;
    }
    Some(MdnsPacket {
        from,
        at,
        response,
        records: out,
    })
}

/// The name at `pos` (lowercase, dotted) and the position after it.
fn read_name(bytes: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    // Bounded: a pointer loop is garbage, not a name.
    for _ in 0..128 {
        let len = *bytes.get(pos)? as usize;
        if len == 0 {
            return Some((labels.join("."), end.unwrap_or(pos + 1)));
        }
        if len & 0xc0 == 0xc0 {
            let target = ((len & 0x3f) << 8) | *bytes.get(pos + 1)? as usize;
            end.get_or_insert(pos + 2);
            pos = target;
            continue;
        }
        let label = bytes.get(pos + 1..pos + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).to_lowercase());
        pos += 1 + len;
    }
    None
}

struct Seen {
    packets: Mutex<Vec<MdnsPacket>>,
    arrived: Condvar,
}

/// Every mDNS packet that reaches one host, recorded by a thread inside its
/// namespace until dropped. The host must run nothing else on port 5353, and
/// sends nothing: a passive listener changes nobody's behaviour.
pub struct MdnsWatch {
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MdnsWatch {
    pub(super) fn start(ns: &str, addr: Ipv4Addr) -> MdnsWatch {
        let seen = Arc::new(Seen {
            packets: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, bound) = mpsc::channel();
        let thread = {
            let (ns, seen, stop) = (ns.to_owned(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                enter(&ns);
                let socket = UdpSocket::bind(("0.0.0.0", MDNS.port()))
                    .and_then(|s| s.join_multicast_v4(MDNS.ip(), &addr).map(|()| s))
                    .and_then(|s| {
                        s.set_read_timeout(Some(Duration::from_millis(50)))
                            .map(|()| s)
                    });
                let socket = match socket {
                    Ok(socket) => {
                        let _ = ready.send(Ok(()));
                        socket
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let mut buf = [0u8; 9000];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(packet) = parse(&buf[..n], from, Instant::now()) {
                        seen.packets
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(packet);
                        seen.arrived.notify_all();
                    }
                }
            })
        };
        bound
            .recv()
            .expect("watch thread")
            .unwrap_or_else(|e| panic!("mDNS watch in {ns}: {e}"));
        MdnsWatch {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything recorded so far.
    pub fn packets(&self) -> Vec<MdnsPacket> {
        self.seen
            .packets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until `done` holds for the packets recorded so far (checked at
    /// each arrival); panics after `limit` with `what` and what was seen.
    pub fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[MdnsPacket]) -> bool,
    ) -> Vec<MdnsPacket> {
        let deadline = Instant::now() + limit;
        let mut packets = self.seen.packets.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if done(&packets) {
                return packets.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {limit:?} waiting for {what}; seen:\n{:#?}",
                *packets
            );
            packets = self
                .seen
                .arrived
                .wait_timeout(packets, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for MdnsWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_builds() {
        let packet = announcement("Node1", &txt(&["v=1", "s=3"]), 7000, [10, 0, 0, 1]);
        let from = SocketAddr::from(([10, 0, 0, 1], 5353));
        let seen = parse(&packet, from, Instant::now()).unwrap();
        assert!(seen.response);
        assert_eq!(seen.records.len(), 4);
        assert_eq!(
            seen.records[0].data,
            RData::Ptr("node1._lanmeet._tcp.local".into())
        );
        assert_eq!(seen.records[3].data, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            seen.lanmeet_txts(),
            vec![&["v=1".to_owned(), "s=3".to_owned()][..]]
        );
    }

    #[test]
    fn follows_compression_and_rejects_loops() {
        // Header: response, one answer: PTR at offset 12 whose target points back.
        let mut p = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        put_name(&mut p, "_lanmeet._tcp.local");
        p.extend([0, 12, 0, 1, 0, 0, 0, 120, 0, 8]);
        p.extend([1, b'x', 0xc0, 12]);
        p.extend([0, 0, 0, 0]);
        let from = SocketAddr::from(([10, 0, 0, 1], 5353));
        let seen = parse(&p[..p.len() - 4], from, Instant::now());
        // rdlength says 8 but only 4 follow: not well-formed.
        assert!(seen.is_none());
        let mut ok = p[..p.len() - 4].to_vec();
        let len_at = ok.len() - 5;
        ok[len_at] = 4;
        let seen = parse(&ok, from, Instant::now()).unwrap();
        assert_eq!(
            seen.records[0].data,
            RData::Ptr("x._lanmeet._tcp.local".into())
        );
        assert!(read_name(&[0xc0, 0], 0).is_none(), "a pointer to itself");
    }
}
