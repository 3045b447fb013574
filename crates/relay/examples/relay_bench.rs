//! What the host's relay costs a call: round-trip time and the host's CPU for a
//! 640x360 call stream, direct and through the relay, in one run.
//!
//! `cargo run --release -p lanmeet-relay --example relay_bench [-- SECONDS]`
//!
//! Everything on loopback, in this one process: a relay, a member's TURN client
//! (the `turn` crate's) with an allocation, and a peer with a plain UDP socket,
//! the usual relayed pair (one side relayed). The member sends what a browser
//! sends for 640x360 in a call of three (ui/peer.js: VP8 at 24 frames/s capped at
//! 900 kbit/s): each frame a burst of 4 packets of 1,200 bytes (SRTP on the wire:
//! RTP header and extensions, VP8 payload, auth tag), plus Opus every 20 ms in
//! packets of 120 bytes: 146 packets/s, ~970 kbit/s. The peer echoes each packet,
//! so the relay carries the stream both ways, as for a pair that sends video both
//! ways. Then the same between two plain sockets (direct). Keyframes (bigger
//! bursts, only when a receiver asks) and congestion control are not modelled.
//! Printed: median and 95th percentile round trip of each, the ratio, and the
//! process's CPU time per second of each phase (the relayed phase's extra is the
//! relay's work plus the TURN client's framing on the member's side).

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanmeet_core::{IceGrants, Members};
use lanmeet_relay::{Relay, RelayConfig};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Video frames a second (ui/peer.js, 640x360 with two remotes).
const VIDEO_FPS: u64 = 24;
/// Packets per video frame: 900 kbit/s / 24 = 4,688 bytes a frame.
const VIDEO_PACKETS_PER_FRAME: usize = 4;
/// A video packet as sent (SRTP): the usual full packet of a browser.
const VIDEO_PACKET: usize = 1200;
/// Opus packets a second (20 ms frames).
const AUDIO_RATE: u64 = 50;
/// An Opus packet as sent (SRTP, ~32 kbit/s of speech).
const AUDIO_PACKET: usize = 120;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 120);
    let relay = Relay::start(RelayConfig {
        bind: LO,
        ..RelayConfig::default()
    })
    .await?;
    let (members, _keep) = Members::from_fn(|id| id == "bench");
    relay.grants().attach(members, LO);
    let grant = relay.grants().grant("bench");
    let server = grant.first().ok_or("no grant")?;
    let client = Client::new(ClientConfig {
        stun_serv_addr: String::new(),
        turn_serv_addr: relay.udp_addr().to_string(),
        username: server.username.clone().unwrap_or_default(),
        password: server.credential.clone().unwrap_or_default(),
        realm: String::new(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(UdpSocket::bind((LO, 0)).await?),
        vnet: None,
    })
    .await?;
    client.listen().await?;
    let relayed: Arc<dyn Conn + Send + Sync> = Arc::new(client.allocate().await?);

    let schedule = schedule(secs);
    let bits: usize = schedule.iter().map(|(_, len)| len * 8).sum();
    println!(
        "relay bench: 640x360 call stream: VP8 {VIDEO_FPS} frames/s x {VIDEO_PACKETS_PER_FRAME} \
         packets of {VIDEO_PACKET} B + Opus {AUDIO_RATE}/s x {AUDIO_PACKET} B = {} packets/s, \
         {:.0} kbit/s; {secs} s per phase, echoed",
        schedule.len() as u64 / secs,
        bits as f64 / secs as f64 / 1000.0,
    );
    let peer = Arc::new(UdpSocket::bind((LO, 0)).await?);
    let via_relay = phase(relayed.clone(), peer.clone(), &schedule).await?;
    let a: Arc<dyn Conn + Send + Sync> = Arc::new(UdpSocket::bind((LO, 0)).await?);
    let direct = phase(a, peer, &schedule).await?;
    println!(
        "{:<10} {:>10} {:>10} {:>8} {:>12}",
        "path", "rtt p50", "rtt p95", "lost", "cpu ms/s"
    );
    for (name, r) in [("direct", &direct), ("relayed", &via_relay)] {
        println!(
            "{name:<10} {:>8.0}µs {:>8.0}µs {:>8} {:>12.1}",
            r.p50_us, r.p95_us, r.lost, r.cpu_ms_per_s
        );
    }
    println!(
        "relayed/direct: rtt p50 x{:.2} (+{:.0} µs), cpu x{:.2} (+{:.1} ms of CPU per second)",
        via_relay.p50_us / direct.p50_us.max(1.0),
        via_relay.p50_us - direct.p50_us,
        via_relay.cpu_ms_per_s / direct.cpu_ms_per_s.max(0.001),
        via_relay.cpu_ms_per_s - direct.cpu_ms_per_s,
    );
    drop(relayed);
    client.close().await?;
    relay.close().await;
    Ok(())
}

struct Figures {
    p50_us: f64,
    p95_us: f64,
    lost: usize,
    cpu_ms_per_s: f64,
}

/// When each packet of the stream leaves (from the phase's start) and its size:
/// every video frame's packets back to back, as a browser's pacer lets a frame of
/// this size go, and the audio packets between them.
fn schedule(secs: u64) -> Vec<(Duration, usize)> {
    let mut packets = Vec::new();
    for f in 0..VIDEO_FPS * secs {
        let at = Duration::from_micros(f * 1_000_000 / VIDEO_FPS);
        packets.extend(std::iter::repeat_n(
            (at, VIDEO_PACKET),
            VIDEO_PACKETS_PER_FRAME,
        ));
    }
    for a in 0..AUDIO_RATE * secs {
        packets.push((
            Duration::from_micros(a * 1_000_000 / AUDIO_RATE),
            AUDIO_PACKET,
        ));
    }
    packets.sort_by_key(|(at, _)| *at);
    packets
}

/// `sender` sends the `schedule`d packets to `echo`, which sends each back to where
/// it came from; round trips are timed by a sequence number.
async fn phase(
    sender: Arc<dyn Conn + Send + Sync>,
    echo: Arc<UdpSocket>,
    schedule: &[(Duration, usize)],
) -> Res<Figures> {
    let target = echo.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let echoer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    got = echo.recv_from(&mut buf) => {
                        if let Ok((n, from)) = got {
                            let _ = echo.send_to(&buf[..n], from).await;
                        }
                    }
                }
            }
        })
    };
    let total = schedule.len();
    let sent_at = Arc::new(std::sync::Mutex::new(vec![None::<Instant>; total]));
    let receiver = {
        let sender = sender.clone();
        let sent_at = sent_at.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut rtts = Vec::with_capacity(total);
            let mut buf = vec![0u8; 2048];
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    got = sender.recv_from(&mut buf) => {
                        let Ok((n, _)) = got else { break };
                        if n < 8 { continue; }
                        let mut seq = [0u8; 8];
                        seq.copy_from_slice(&buf[..8]);
                        let seq = usize::try_from(u64::from_be_bytes(seq)).unwrap_or(usize::MAX);
                        let at = sent_at.lock().ok().and_then(|s| s.get(seq).copied().flatten());
                        if let Some(at) = at {
                            rtts.push(at.elapsed());
                        }
                    }
                }
            }
            rtts
        })
    };
    // Warm up: the first packet creates the relay's permission.
    sender.send_to(&[0u8; 8], target).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cpu0 = cpu_time();
    let start = Instant::now();
    let mut packet = vec![0u8; VIDEO_PACKET.max(AUDIO_PACKET)];
    for (seq, &(at, len)) in schedule.iter().enumerate() {
        tokio::time::sleep_until((start + at).into()).await;
        let packet = &mut packet[..len];
        packet[..8].copy_from_slice(&(seq as u64).to_be_bytes());
        if let Ok(mut s) = sent_at.lock()
            && let Some(slot) = s.get_mut(seq)
        {
            *slot = Some(Instant::now());
        }
        sender.send_to(packet, target).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(cpu0);
    stop.cancel();
    let _ = echoer.await;
    let mut rtts = receiver.await?;
    rtts.sort();
    let pick = |q: f64| {
        let i = ((rtts.len() as f64 - 1.0) * q).round() as usize;
        rtts.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
    };
    Ok(Figures {
        p50_us: pick(0.5),
        p95_us: pick(0.95),
        lost: total.saturating_sub(rtts.len()),
        cpu_ms_per_s: cpu.as_secs_f64() * 1000.0 / elapsed,
    })
}

/// This process's CPU time (user + system) so far, from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 here; 100 ticks/s.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
