//! Recorded media a probe sends to everyone: a VP8 clip (IVF) and an Opus clip (Ogg),
//! looped at their own pace (`lanmeet probe --send-video clip.ivf --send-audio clip.ogg`).
//!
//! Why: a probe that only receives measures connectivity; one that sends like a person
//! is a light participant for calls larger than a machine can carry in browsers. The
//! desktop benchmark puts the window in calls of 4 and 8 this way, with one Chromium
//! page and native probes for the others (two cores cannot run seven Chromium pages
//! next to WebKit).
//!
//! Each probe has one [`MediaSources`]: a pacing task per clip hands every frame, once,
//! to every link that sends it (a broadcast channel), as a browser encodes once per
//! track. A link that falls behind, joins mid-clip or gets a keyframe request (PLI,
//! FIR) waits for a keyframe and asks the source for one: the source then jumps to the
//! clip's next keyframe (the picture skips ahead, as a test pattern may). Nothing
//! queues without bound: a lagging link loses frames, never the source's time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rtc::media::io::ivf_reader::IVFReader;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::error::ProbeError;
use crate::ogg_opus;
use lanmeet_native_peer::media::is_vp8_keyframe;

/// Frames a link may be behind before it loses some (about half a second of video).
const FANOUT_DEPTH: usize = 16;
/// The largest clip file read (a 10-minute 640x360 VP8 clip is some 60 MB).
const MAX_CLIP_BYTES: u64 = 256 << 20;
/// Frames a clip may have: ten minutes of 30 fps video, or of 20 ms audio.
const MAX_FRAMES: usize = 30_000;

/// What a clip carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipKind {
    /// VP8 video.
    Video,
    /// Opus audio.
    Audio,
}

/// One encoded frame of a clip.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// The frame as the codec wrote it (no RTP payload descriptor).
    pub data: Bytes,
    /// A frame a decoder can start from (every audio frame is).
    pub keyframe: bool,
}

/// A recorded clip, in memory, sent in a loop.
#[derive(Debug, Clone)]
pub struct Clip {
    kind: ClipKind,
    frames: Vec<ClipFrame>,
    frame_duration: Duration,
}

impl Clip {
    /// A clip from frames (the first must be a keyframe) and their common duration.
    pub fn new(
        kind: ClipKind,
        frames: Vec<ClipFrame>,
        frame_duration: Duration,
    ) -> Result<Clip, ProbeError> {
        let bad = |why: &str| Err(ProbeError::InvalidOptions(format!("{kind:?} clip: {why}")));
        if frames.is_empty() {
            return bad("no frames");
        }
        if frames.len() > MAX_FRAMES {
            return bad(&format!("more than {MAX_FRAMES} frames"));
        }
        if !frames[0].keyframe {
            return bad("the first frame is not a keyframe");
        }
        if frame_duration < Duration::from_millis(2) || frame_duration > Duration::from_secs(1) {
            return bad(&format!(
                "a frame lasts {frame_duration:?} (2 ms to 1 s expected)"
            ));
        }
        Ok(Clip {
            kind,
            frames,
            frame_duration,
        })
    }

    /// Reads a VP8 IVF file (e.g. `ffmpeg -c:v libvpx … clip.ivf`). The frame rate is
    /// the file's: its timestamps over its time base.
    pub fn read_ivf(path: &Path) -> Result<Clip, ProbeError> {
        let bytes = read_bounded(path)?;
        check_ivf_frames(&bytes).map_err(|why| media_err(path, why))?;
        let (mut reader, header) =
            IVFReader::new(std::io::Cursor::new(bytes)).map_err(|e| media_err(path, e))?;
        if &header.four_cc != b"VP80" {
            return Err(ProbeError::InvalidOptions(format!(
                "{}: {} video, only VP8 is sent",
                path.display(),
                String::from_utf8_lossy(&header.four_cc)
            )));
        }
        let mut frames = Vec::new();
        let mut stamps = Vec::new();
        // The reader's only way to say "end of file" is an error; a truncated last
        // frame ends the clip too (sizes were checked against the file above).
        while let Ok((data, frame)) = reader.parse_next_frame() {
            if frames.len() > MAX_FRAMES {
                break;
            }
            let data = data.freeze();
            frames.push(ClipFrame {
                keyframe: is_vp8_keyframe(&data),
                data,
            });
            stamps.push(frame.timestamp);
        }
        let tick = Duration::from_secs(u64::from(header.timebase_numerator))
            .checked_div(header.timebase_denominator)
            .unwrap_or_default();
        let ticks = match (stamps.first(), stamps.last()) {
            (Some(first), Some(last)) if stamps.len() > 1 && last > first => {
                (last - first) / (stamps.len() as u64 - 1)
            }
            _ => 1,
        };
        let frame_duration = tick.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX));
        Clip::new(ClipKind::Video, frames, frame_duration)
    }

    /// Reads an Ogg Opus file as an encoder writes it (e.g. `ffmpeg -i talk.wav -c:a
    /// libopus clip.ogg`), however many packets a page holds. The pace is the packets'
    /// own duration, which must be the same for all (an encoder's frame size is fixed
    /// unless asked otherwise).
    pub fn read_ogg_opus(path: &Path) -> Result<Clip, ProbeError> {
        let bytes = read_bounded(path)?;
        let audio = ogg_opus::read(&bytes, MAX_FRAMES + 1).map_err(|e| media_err(path, e))?;
        let Some(&samples) = audio.samples.first() else {
            return Err(media_err(path, "an Opus stream with no audio packets"));
        };
        if let Some(other) = audio.samples.iter().find(|&&s| s != samples) {
            return Err(media_err(
                path,
                format!(
                    "packets of {} and of {} ms: a clip is sent at one pace \
                     (encode with a fixed frame size, e.g. ffmpeg -frame_duration 20)",
                    f64::from(samples) / 48.0,
                    f64::from(*other) / 48.0
                ),
            ));
        }
        let frames = audio
            .packets
            .into_iter()
            .map(|data| ClipFrame {
                data,
                keyframe: true,
            })
            .collect();
        Clip::new(
            ClipKind::Audio,
            frames,
            Duration::from_micros(u64::from(samples) * 1_000_000 / 48_000),
        )
    }

    /// Video or audio.
    pub fn kind(&self) -> ClipKind {
        self.kind
    }

    /// How many frames the clip has.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the clip has no frames (never: [`Clip::new`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// How long one frame lasts (the pace it is sent at).
    pub fn frame_duration(&self) -> Duration {
        self.frame_duration
    }

    /// The index of the first keyframe at or after `from`, wrapping (frame 0 is one).
    fn next_keyframe(&self, from: usize) -> usize {
        (from..self.frames.len())
            .find(|&i| self.frames[i].keyframe)
            .unwrap_or(0)
    }
}

/// A clip file read whole, refused past [`MAX_CLIP_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, ProbeError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| media_err(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_CLIP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| media_err(path, e))?;
    if bytes.len() as u64 > MAX_CLIP_BYTES {
        return Err(media_err(
            path,
            format!("larger than {MAX_CLIP_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// Whether every IVF frame header claims no more bytes than the file has: the reader
/// allocates what a header claims before reading it (up to 4 GiB).
fn check_ivf_frames(bytes: &[u8]) -> Result<(), String> {
    const FILE_HEADER: usize = 32;
    const FRAME_HEADER: usize = 12;
    let mut at = FILE_HEADER;
    while at + FRAME_HEADER <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let end = (at + FRAME_HEADER).saturating_add(size);
        if end > bytes.len() {
            return Err(format!(
                "a frame at byte {at} claims {size} bytes past the end of the file"
            ));
        }
        at = end;
    }
    Ok(())
}

fn media_err(path: &Path, e: impl std::fmt::Display) -> ProbeError {
    ProbeError::InvalidOptions(format!("{}: {e}", path.display()))
}

/// The clips a probe sends (either may be absent).
#[derive(Debug, Clone, Default)]
pub struct SendMedia {
    /// VP8 video, sent on a video track to every peer.
    pub video: Option<Arc<Clip>>,
    /// Opus audio, sent on an audio track to every peer.
    pub audio: Option<Arc<Clip>>,
}

impl SendMedia {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.video.is_none() && self.audio.is_none()
    }
}

/// One frame as the links get it.
#[derive(Debug, Clone)]
pub(crate) struct SentFrame {
    pub(crate) data: Bytes,
    pub(crate) keyframe: bool,
    pub(crate) duration: Duration,
    /// The pacing tick it went out on (counts ticks skipped too): a link that missed
    /// frames moves its RTP clock over them, so the stamps keep up with real time.
    pub(crate) tick: u64,
}

/// One clip being played: its pace, its frames to every link, keyframes on request.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) kind: ClipKind,
    frames: broadcast::Sender<SentFrame>,
    want_keyframe: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Source {
    fn start(clip: Arc<Clip>) -> Source {
        let (frames, _) = broadcast::channel(FANOUT_DEPTH);
        let want_keyframe = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(play(clip.clone(), frames.clone(), want_keyframe.clone()));
        Source {
            kind: clip.kind,
            frames,
            want_keyframe,
            task,
        }
    }

    /// A new receiver of the frames from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SentFrame> {
        self.frames.subscribe()
    }

    /// Asks for a keyframe next (a link joined, fell behind, or got a PLI/FIR).
    pub(crate) fn want_keyframe(&self) {
        self.want_keyframe.store(true, Ordering::Relaxed);
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends the clip's frames at its pace, forever (until the source is dropped).
async fn play(clip: Arc<Clip>, out: broadcast::Sender<SentFrame>, want_keyframe: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(clip.frame_duration);
    // A late tick is not made up for: a real encoder drops frames too.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next = 0;
    let start = tokio::time::Instant::now();
    loop {
        let at = tick.tick().await;
        // Ticks missed while this task was not run count as frames not sent.
        let n = u64::try_from(
            at.saturating_duration_since(start).as_micros()
                / clip.frame_duration.as_micros().max(1),
        )
        .unwrap_or(u64::MAX);
        if want_keyframe.swap(false, Ordering::Relaxed) && !clip.frames[next].keyframe {
            next = clip.next_keyframe(next);
        }
        let frame = &clip.frames[next];
        // No receiver (no link yet) is not an error: the clip plays on.
        let _ = out.send(SentFrame {
            data: frame.data.clone(),
            keyframe: frame.keyframe,
            duration: clip.frame_duration,
            tick: n,
        });
        next = (next + 1) % clip.frames.len();
    }
}

/// A probe's playing clips, shared by its links. Dropping the last handle stops them.
#[derive(Debug)]
pub(crate) struct MediaSources {
    /// The stream id both tracks carry, so a browser shows them as one person's.
    pub(crate) stream_id: String,
    pub(crate) sources: Vec<Source>,
}

impl MediaSources {
    /// Starts playing `media`'s clips (inside a tokio runtime).
    pub(crate) fn start(media: &SendMedia, stream_id: String) -> MediaSources {
        let sources = [&media.audio, &media.video]
            .into_iter()
            .flatten()
            .map(|clip| Source::start(clip.clone()))
            .collect();
        MediaSources { stream_id, sources }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(keyframe: bool) -> ClipFrame {
        ClipFrame {
            data: Bytes::from_static(b"x"),
            keyframe,
        }
    }

    #[test]
    fn a_clip_must_start_with_a_keyframe_and_have_a_sane_pace() {
        let ms = Duration::from_millis;
        assert!(Clip::new(ClipKind::Video, vec![], ms(33)).is_err());
        assert!(Clip::new(ClipKind::Video, vec![frame(false), frame(true)], ms(33)).is_err());
        assert!(Clip::new(ClipKind::Video, vec![frame(true)], ms(0)).is_err());
        assert!(Clip::new(ClipKind::Video, vec![frame(true)], Duration::from_secs(5)).is_err());
        assert!(Clip::new(ClipKind::Video, vec![frame(true), frame(false)], ms(33)).is_ok());
    }

    #[test]
    fn a_keyframe_request_skips_ahead_to_the_next_keyframe_or_wraps() {
        let frames = vec![
            frame(true),
            frame(false),
            frame(false),
            frame(true),
            frame(false),
        ];
        let clip = Clip::new(ClipKind::Video, frames, Duration::from_millis(33)).unwrap();
        assert_eq!(clip.next_keyframe(1), 3);
        assert_eq!(clip.next_keyframe(3), 3);
        assert_eq!(clip.next_keyframe(4), 0);
    }
}
