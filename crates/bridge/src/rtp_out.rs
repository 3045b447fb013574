//! The RTP a bridged sender writes: the page's encoded frames packetized here, so each
//! frame's RTP timestamp is the one chosen for it.
//!
//! Why not webrtc's `TrackLocalStaticSample`: its packetizer stamps a frame with the
//! running sum of the durations given with the frames *before* it (a frame's duration
//! moves the clock after it is sent), so a video frame carries the interval before the
//! previous one, and frames the page's main thread held up arrive late against their
//! stamps. Chromium reads that as network jitter and as audio/video skew. Measured with
//! the release window in a call of two (`scripts/desktop-bench-call --sizes 2`, the
//! jitter-buffer line; `LANMEET_BRIDGE_VIDEO_CLOCK` picks the clock): summed durations
//! gave an RTP jitter of 46–91 ms and a jitter-buffer *minimum* delay of 128–208 ms
//! (what Chromium adds to line video up with audio); stamped when sent, 3–11 ms and
//! 12–13 ms, as for a browser's stream.
//!
//! Here:
//! - **audio** advances by its samples: Opus frames are contiguous, and the receiver's
//!   audio buffer (NetEq) places them by timestamp. Except where sound was never
//!   captured: a starved page (its audio thread not run in time) or a microphone whose
//!   clock runs slow hands over fewer samples than time passes, and a stamp that only
//!   counts samples falls further and further behind the wall clock (the missing sound
//!   only adds up). A receiver lines video up with sound by those stamps (lip sync), so
//!   the window's video reached Chromium later than it needed to: with WebKit's mock
//!   microphone (48.4–49.8 sound frames a second instead of 50), in a call of two,
//!   window → Chromium p95 was 293–491 ms in 4 runs, and 214–308 ms with this clock in
//!   4 runs alternating with them (`scripts/desktop-bench-call --sizes 2`); in a call of
//!   four (`--probes`), one run each, p50 6.0 s against 1.4 s. So the clock also follows the
//!   frames' capture times ([`AudioClock`]): once the shortfall has held for a second
//!   (every frame over it, so a late delivery of frames that were captured in time is
//!   not mistaken for one), the stamp jumps ahead by it, as over lost packets, and the
//!   receiver conceals the gap;
//! - **video** is stamped, by default, with the time the bridge sends it (90 kHz): on a
//!   LAN a frame's stamp and its arrival then agree. Motion follows the page's delivery
//!   rhythm rather than the camera's, which a call prefers to a steadier picture shown
//!   later. [`VideoClock`] keeps the other two clocks for the benchmark's comparisons.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp::codec::opus::OpusPayloader;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;
use rtc::rtp::{Header, Packet};

use crate::wire::Kind;

/// Payload bytes per packet: what webrtc's own senders use (1200 minus the RTP header).
const PAYLOAD_MTU: usize = 1200 - 12;
const VIDEO_RATE: u64 = 90_000;
const AUDIO_RATE: u64 = 48_000;

/// Which time a video frame's RTP timestamp follows (`LANMEET_BRIDGE_VIDEO_CLOCK`, for
/// the benchmark's comparisons; see the module's comment for the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoClock {
    /// When the bridge sends it.
    #[default]
    Sent,
    /// When the page captured it (the page frame's timestamp).
    Capture,
    /// The durations the page gave, summed (webrtc's `TrackLocalStaticSample`: each
    /// frame carries the sum of the ones before it).
    Durations,
}

impl VideoClock {
    /// `sent`, `capture` or `durations`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sent" => Some(VideoClock::Sent),
            "capture" => Some(VideoClock::Capture),
            "durations" => Some(VideoClock::Durations),
            _ => None,
        }
    }
}

/// The shortfall of sound (captured time not covered by samples) that moves the audio
/// clock ahead: smaller gaps are a receiver's jitter to absorb, not worth a jump.
const AUDIO_RESYNC_US: i64 = 40_000;
/// How long a shortfall must hold, on every frame, before it counts (see [`AudioClock`]).
const AUDIO_SHORTFALL_SPAN_US: u64 = 1_000_000;
/// Frames kept at most to find the smallest shortfall over the last span (a bound
/// whatever durations the page claims; 20 ms frames need 60). Frames shorter than 5 ms
/// would never fill a span, and the clock would then only count samples: the page sends
/// 20 ms (Opus's frame).
const AUDIO_WINDOW_FRAMES: usize = 200;

/// The audio clock: samples, plus the sound that was never captured.
///
/// For each frame, the shortfall is how much more capture time than sound has passed
/// since the first frame. A frame delivered late (the page's worker was busy) shows a
/// large shortfall that the frames after it, delivered in a burst, take back; sound
/// that was never captured shows one that stays. So the clock moves ahead only by the
/// smallest shortfall of the last second or more of frames, and only forward.
#[derive(Debug, Default)]
struct AudioClock {
    /// The first frame's capture time and stamp.
    base: Option<(u64, u32)>,
    /// Samples stamped since the first frame.
    samples: u64,
    /// The shortfall the clock has moved ahead by, µs.
    ahead_us: i64,
    /// The last frames' capture times and shortfalls, oldest first.
    recent: std::collections::VecDeque<(u64, i64)>,
    last_capture: u64,
}

impl AudioClock {
    /// The stamp of a frame of `samples` (48 kHz) captured at `capture_us`; `start_ts`
    /// is the first frame's.
    fn stamp(&mut self, start_ts: u32, capture_us: u64, samples: u64) -> u32 {
        let page_clock_reset = self.base.is_some()
            && (capture_us < self.last_capture || capture_us - self.last_capture > CAPTURE_JUMP_US);
        if page_clock_reset {
            // The page's clock went back or jumped: measure from here on, keeping the
            // stamps going where they were.
            let ts = self.ts(start_ts);
            self.base = Some((capture_us, ts));
            self.samples = 0;
            self.ahead_us = 0;
            self.recent.clear();
        }
        let (base_capture, _) = *self.base.get_or_insert((capture_us, start_ts));
        self.last_capture = capture_us;
        // u128: the page chooses the durations, and a sum of them must not overflow.
        let sound_us = i64::try_from(u128::from(self.samples) * 1_000_000 / u128::from(AUDIO_RATE))
            .unwrap_or(i64::MAX);
        let captured_us = i64::try_from(capture_us - base_capture).unwrap_or(i64::MAX);
        self.recent
            .push_back((capture_us, captured_us.saturating_sub(sound_us)));
        // Keep just over a span: the smallest shortfall then lags a steady one by about
        // a span's worth (3% short: ~35 ms), and never grows with the call.
        while self.recent.len() > AUDIO_WINDOW_FRAMES
            || self.recent.get(1).is_some_and(|&(second, _)| {
                capture_us.saturating_sub(second) >= AUDIO_SHORTFALL_SPAN_US
            })
        {
            self.recent.pop_front();
        }
        let span = self
            .recent
            .front()
            .map_or(0, |&(first, _)| capture_us.saturating_sub(first));
        if span >= AUDIO_SHORTFALL_SPAN_US
            && let Some(shortfall) = self.recent.iter().map(|&(_, s)| s).min()
            && shortfall - self.ahead_us >= AUDIO_RESYNC_US
        {
            self.ahead_us = shortfall;
        }
        let ts = self.ts(start_ts);
        self.samples = self.samples.saturating_add(samples);
        ts
    }

    /// The stamp of the next frame, from the base.
    fn ts(&self, start_ts: u32) -> u32 {
        let base_ts = self.base.map_or(start_ts, |(_, ts)| ts);
        let ahead = u64::try_from(self.ahead_us)
            .unwrap_or(0)
            .saturating_mul(AUDIO_RATE)
            / 1_000_000;
        base_ts.wrapping_add((self.samples.wrapping_add(ahead) % (1u64 << 32)) as u32)
    }
}

/// How a sender's RTP timestamps advance.
#[derive(Debug)]
enum Clock {
    /// Audio: by its samples, and ahead over sound never captured ([`AudioClock`]).
    Audio { start_ts: u32, clock: AudioClock },
    /// By each frame's samples (video with [`VideoClock::Durations`]).
    Samples { next: u32, rate: u64 },
    /// By the time each frame is sent (video): `base_ts` at `base`, then 90 kHz.
    Sent {
        base: Option<Instant>,
        base_ts: u32,
        last: Option<u32>,
    },
    /// By the page's capture time (µs) of each frame, 90 kHz: `base` is a capture
    /// time and its stamp.
    Capture {
        first_ts: u32,
        base: Option<(u64, u32)>,
        last_capture: u64,
        last: Option<u32>,
    },
}

/// A capture time this far from the last one (either way) is not a camera's next frame
/// (a bad or restarted page clock): the clock starts again from the last stamp.
const CAPTURE_JUMP_US: u64 = 10_000_000;

/// One sender's packetizer: payloader, sequence numbers, clock.
#[derive(Debug)]
pub(crate) struct RtpOut {
    payloader: Box<dyn Payloader>,
    seq: u16,
    clock: Clock,
}

impl RtpOut {
    /// A packetizer for `kind`, starting at a random sequence number and timestamp
    /// (RFC 3550).
    pub(crate) fn new(kind: Kind, video_clock: VideoClock) -> Self {
        let start_ts = rand::random::<u32>();
        let (payloader, clock): (Box<dyn Payloader>, Clock) = match kind {
            Kind::Video => (
                {
                    // The picture id lets a receiver see a loss inside a frame.
                    let mut vp8 = Vp8Payloader::default();
                    vp8.enable_picture_id = true;
                    Box::new(vp8)
                },
                match video_clock {
                    VideoClock::Sent => Clock::Sent {
                        base: None,
                        base_ts: start_ts,
                        last: None,
                    },
                    VideoClock::Capture => Clock::Capture {
                        first_ts: start_ts,
                        base: None,
                        last_capture: 0,
                        last: None,
                    },
                    VideoClock::Durations => Clock::Samples {
                        next: start_ts,
                        rate: VIDEO_RATE,
                    },
                },
            ),
            Kind::Audio => (
                Box::new(OpusPayloader),
                Clock::Audio {
                    start_ts,
                    clock: AudioClock::default(),
                },
            ),
        };
        RtpOut {
            payloader,
            seq: rand::random::<u16>(),
            clock,
        }
    }

    /// The RTP timestamp of a frame captured at `capture_us` (the page's clock), sent at
    /// `now`, that lasts `duration`.
    fn timestamp(&mut self, now: Instant, capture_us: u64, duration: Duration) -> u32 {
        match &mut self.clock {
            Clock::Audio { start_ts, clock } => {
                let samples =
                    duration.as_micros().saturating_mul(u128::from(AUDIO_RATE)) / 1_000_000;
                clock.stamp(
                    *start_ts,
                    capture_us,
                    u64::try_from(samples).unwrap_or(u64::MAX),
                )
            }
            Clock::Samples { next, rate } => {
                let ts = *next;
                let samples = duration.as_micros().saturating_mul(u128::from(*rate)) / 1_000_000;
                *next = next.wrapping_add(u32::try_from(samples).unwrap_or(u32::MAX));
                ts
            }
            Clock::Sent {
                base,
                base_ts,
                last,
            } => {
                let start = *base.get_or_insert(now);
                let us = now.saturating_duration_since(start).as_micros();
                increasing(last, base_ts.wrapping_add(ticks_90khz(us)))
            }
            Clock::Capture {
                first_ts,
                base,
                last_capture,
                last,
            } => {
                let (start, start_ts) = match *base {
                    Some(b)
                        if capture_us >= *last_capture
                            && capture_us - *last_capture <= CAPTURE_JUMP_US =>
                    {
                        b
                    }
                    _ => {
                        // The first frame, or a capture time that went back or jumped:
                        // (re)start the clock a frame after the last stamp.
                        let ts = last.map_or(*first_ts, |l| l.wrapping_add(3000));
                        *base = Some((capture_us, ts));
                        (capture_us, ts)
                    }
                };
                *last_capture = capture_us;
                increasing(
                    last,
                    start_ts.wrapping_add(ticks_90khz(u128::from(capture_us - start))),
                )
            }
        }
    }

    /// The packets of one encoded frame, stamped for `now`; the last one has the
    /// marker bit. A frame the codec's payloader cannot split (empty) gives none.
    pub(crate) fn packets(
        &mut self,
        ssrc: u32,
        payload_type: u8,
        frame: &Bytes,
        capture_us: u64,
        duration: Duration,
        now: Instant,
    ) -> Vec<Packet> {
        let Ok(payloads) = self.payloader.payload(PAYLOAD_MTU, frame) else {
            return Vec::new();
        };
        if payloads.is_empty() {
            return Vec::new();
        }
        let timestamp = self.timestamp(now, capture_us, duration);
        let n = payloads.len();
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let sequence_number = self.seq;
                self.seq = self.seq.wrapping_add(1);
                Packet {
                    header: Header {
                        version: 2,
                        marker: i + 1 == n,
                        payload_type,
                        sequence_number,
                        timestamp,
                        ssrc,
                        ..Default::default()
                    },
                    payload,
                }
            })
            .collect()
    }
}

/// `us` microseconds in 90 kHz ticks, modulo 2^32 (RTP clocks wrap).
fn ticks_90khz(us: u128) -> u32 {
    ((us * u128::from(VIDEO_RATE) / 1_000_000) % (1u128 << 32)) as u32
}

/// `ts`, or one past the last stamp when `ts` is not after it (two frames in one
/// tick, or a clock that went back): a receiver wants increasing stamps.
fn increasing(last: &mut Option<u32>, ts: u32) -> u32 {
    let ts = match *last {
        Some(prev) if (ts.wrapping_sub(prev) as i32) <= 0 => prev.wrapping_add(1),
        _ => ts,
    };
    *last = Some(ts);
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Bytes {
        // A VP8 keyframe's first bytes are enough for the payloader (it only splits).
        Bytes::from(vec![0x10u8; len])
    }

    /// The RTP timestamp a small frame gets (captured at `capture_us`, lasting
    /// `duration`, sent at `at`).
    fn stamp(out: &mut RtpOut, capture_us: u64, duration: Duration, at: Instant) -> u32 {
        out.packets(1, 96, &frame(100), capture_us, duration, at)[0]
            .header
            .timestamp
    }

    #[test]
    fn video_is_stamped_with_the_time_it_is_sent_at_90_khz() {
        let mut out = RtpOut::new(Kind::Video, VideoClock::Sent);
        let t0 = Instant::now();
        let a = out.packets(7, 96, &frame(3000), 0, Duration::from_millis(33), t0);
        // Sent 50 ms later although the page said 33 ms: the stamp follows the send.
        let b = out.packets(
            7,
            96,
            &frame(500),
            0,
            Duration::from_millis(33),
            t0 + Duration::from_millis(50),
        );
        assert!(a.len() >= 3, "a 3000-byte frame takes several packets");
        assert!(
            a.iter()
                .all(|p| p.header.timestamp == a[0].header.timestamp)
        );
        assert_eq!(
            b[0].header.timestamp.wrapping_sub(a[0].header.timestamp),
            4500
        );
        // Markers on each frame's last packet only; sequence numbers consecutive.
        assert_eq!(a.iter().filter(|p| p.header.marker).count(), 1);
        assert!(a.last().is_some_and(|p| p.header.marker));
        let seqs: Vec<u16> = a
            .iter()
            .chain(&b)
            .map(|p| p.header.sequence_number)
            .collect();
        for w in seqs.windows(2) {
            assert_eq!(w[1], w[0].wrapping_add(1));
        }
        assert!(
            a.iter()
                .chain(&b)
                .all(|p| p.header.ssrc == 7 && p.header.payload_type == 96)
        );
    }

    #[test]
    fn two_video_frames_at_one_instant_still_get_increasing_stamps() {
        let mut out = RtpOut::new(Kind::Video, VideoClock::Sent);
        let t0 = Instant::now();
        let a = stamp(&mut out, 0, Duration::ZERO, t0);
        let b = stamp(&mut out, 0, Duration::ZERO, t0);
        assert_eq!(b.wrapping_sub(a), 1);
    }

    #[test]
    fn audio_advances_by_its_samples_whenever_it_is_sent() {
        let mut out = RtpOut::new(Kind::Audio, VideoClock::Sent);
        let t0 = Instant::now();
        let a = out.packets(2, 111, &frame(80), 0, Duration::from_millis(20), t0);
        assert_eq!(a.len(), 1);
        let b = stamp(
            &mut out,
            0,
            Duration::from_millis(20),
            t0 + Duration::from_millis(90),
        );
        assert_eq!(b.wrapping_sub(a[0].header.timestamp), 960);
    }

    #[test]
    fn by_capture_time_video_follows_the_page_clock_and_survives_a_jump_back() {
        let mut out = RtpOut::new(Kind::Video, VideoClock::Capture);
        let t = Instant::now();
        let ts = |out: &mut RtpOut, capture: u64| stamp(out, capture, Duration::ZERO, t);
        let a = ts(&mut out, 5_000_000);
        // Sent at the same instant, captured 40 ms apart: 3600 ticks apart.
        let b = ts(&mut out, 5_040_000);
        assert_eq!(b.wrapping_sub(a), 3600);
        // A page clock that went back: a frame later than the last stamp, then on.
        let c = ts(&mut out, 1_000_000);
        assert_eq!(c.wrapping_sub(b), 3000);
        let d = ts(&mut out, 1_010_000);
        assert_eq!(d.wrapping_sub(c), 900);
    }

    #[test]
    fn by_durations_video_carries_the_sum_of_the_frames_before_it() {
        let mut out = RtpOut::new(Kind::Video, VideoClock::Durations);
        let t = Instant::now();
        let a = stamp(&mut out, 0, Duration::from_millis(40), t);
        let b = stamp(&mut out, 0, Duration::from_millis(20), t);
        assert_eq!(
            b.wrapping_sub(a),
            3600,
            "the first frame's 40 ms moved the clock"
        );
    }

    /// Stamps of 20 ms audio frames captured at `captures` (µs), relative to the first.
    fn audio_stamps(captures: impl IntoIterator<Item = u64>) -> Vec<i64> {
        let mut out = RtpOut::new(Kind::Audio, VideoClock::Sent);
        let t = Instant::now();
        let mut first = None;
        captures
            .into_iter()
            .map(|c| {
                let ts = stamp(&mut out, c, Duration::from_millis(20), t);
                let first = *first.get_or_insert(ts);
                i64::from(ts.wrapping_sub(first) as i32)
            })
            .collect()
    }

    #[test]
    fn audio_captured_in_time_advances_by_its_samples_even_when_delivered_in_bursts() {
        // 3 s of frames every 20 ms, but the page delivered 10 of them 300 ms late, in a
        // burst (its worker was busy): captured in time, so no jump.
        let captures = (0..150u64).map(|i| {
            let t = 1_000_000 + i * 20_000;
            if (50..60).contains(&i) {
                1_000_000 + 60 * 20_000
            } else {
                t
            }
        });
        let stamps = audio_stamps(captures);
        for (i, ts) in stamps.iter().enumerate() {
            assert_eq!(*ts, i as i64 * 960, "frame {i}");
        }
    }

    #[test]
    fn audio_moves_ahead_over_sound_that_was_never_captured() {
        // A slow or starved capture: 20 ms frames, but 25 ms of time between them (a
        // fifth of the sound missing), for 4 s.
        let stamps = audio_stamps((0..160u64).map(|i| 1_000_000 + i * 25_000));
        let last = *stamps.last().unwrap();
        let wall = 159 * 25 * 48; // the last frame's capture time, in 48 kHz ticks
        // Behind the wall clock by about the resync step plus a span's shortfall (1 s
        // at 5 ms a frame): not by the 0.8 s that samples alone give, and not growing.
        let samples_only = 159 * 960;
        assert!(
            last > samples_only + 20_000,
            "moved ahead: {last} vs {samples_only}"
        );
        assert!(
            wall - last <= 300 * 48,
            "within 300 ms of the wall clock: {} ticks",
            wall - last
        );
        // Never backwards.
        for w in stamps.windows(2) {
            assert!(w[1] > w[0]);
        }
    }

    #[test]
    fn audio_survives_a_page_clock_that_goes_back() {
        let stamps = audio_stamps([5_000_000, 5_020_000, 1_000_000, 1_020_000]);
        assert_eq!(stamps, vec![0, 960, 1920, 2880]);
    }

    #[test]
    fn video_clock_names() {
        assert_eq!(VideoClock::parse("sent"), Some(VideoClock::Sent));
        assert_eq!(VideoClock::parse("capture"), Some(VideoClock::Capture));
        assert_eq!(VideoClock::parse("durations"), Some(VideoClock::Durations));
        assert_eq!(VideoClock::parse("x"), None);
    }

    #[test]
    fn an_empty_frame_sends_nothing() {
        let mut out = RtpOut::new(Kind::Video, VideoClock::Sent);
        assert!(
            out.packets(1, 96, &Bytes::new(), 0, Duration::ZERO, Instant::now())
                .is_empty()
        );
    }
}
