//! A probe that sends recorded clips as a person's camera and microphone, in a room of
//! a real node on loopback: every other member gets whole VP8 frames (from a keyframe
//! on) and Opus frames, whether the sender offered or answered; a probe that sends
//! nothing sends no tracks; bad clip files are refused with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{PATIENCE, TestNode, config, wait_for_mesh};
use lanmeet_probe::{Clip, ClipKind, Probe, ProbeSnapshot, SendMedia, TrackStats};

/// The test clips: 2 s of a 320x180 test picture at 12 fps (a keyframe a second) and
/// of a tone, made with `scripts/probe-clips DIR 320x180 12 250 2`; `audio.ogg` has a
/// packet a page, `audio-paged.ogg` fifty (ffmpeg's default, as most files have).
fn clip(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clips")
        .join(name)
}

fn clips() -> SendMedia {
    SendMedia {
        video: Some(Arc::new(
            Clip::read_ivf(&clip("video-320x180-12.ivf")).unwrap(),
        )),
        audio: Some(Arc::new(
            Clip::read_ogg_opus(&clip("audio-paged.ogg")).unwrap(),
        )),
    }
}

/// The track of `kind` that `snap` receives from `from`, if any.
fn track<'a>(snap: &'a ProbeSnapshot, from: &str, kind: &str) -> Option<&'a TrackStats> {
    snap.links
        .get(from)
        .and_then(|l| l.tracks.iter().find(|t| t.kind == kind))
}

/// Waits until `probe` has had a second of `from`'s video and audio, as whole frames.
async fn wait_for_media(probe: &Probe, from: &Probe) -> ProbeSnapshot {
    let from_id = from.id();
    probe
        .wait_until(PATIENCE, |s| {
            track(s, &from_id, "video").is_some_and(|t| t.frames >= 12)
                && track(s, &from_id, "audio").is_some_and(|t| t.frames >= 50)
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{} never got a second of media from {from_id}: {e}\n{:#?}",
                probe.snapshot().name,
                probe.snapshot().links.get(&from_id)
            )
        })
}

#[test]
fn the_clips_are_read_with_their_pace() {
    let video = Clip::read_ivf(&clip("video-320x180-12.ivf")).unwrap();
    assert_eq!(video.kind(), ClipKind::Video);
    assert_eq!(video.len(), 24);
    assert_eq!(video.frame_duration().as_millis(), 83);
    for name in ["audio.ogg", "audio-paged.ogg"] {
        let audio = Clip::read_ogg_opus(&clip(name)).unwrap();
        assert_eq!(audio.kind(), ClipKind::Audio);
        assert_eq!(audio.frame_duration().as_millis(), 20, "{name}");
        assert!(
            (95..=101).contains(&audio.len()),
            "{name}: {} Opus packets",
            audio.len()
        );
    }
}

#[test]
fn a_wrong_or_missing_clip_is_refused_with_the_reason() {
    let missing = Clip::read_ivf(Path::new("/nonexistent/clip.ivf")).unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/clip.ivf"),
        "{missing}"
    );
    let not_ivf = Clip::read_ivf(&clip("audio.ogg")).unwrap_err();
    assert!(not_ivf.to_string().contains("audio.ogg"), "{not_ivf}");
    let not_ogg = Clip::read_ogg_opus(&clip("video-320x180-12.ivf")).unwrap_err();
    assert!(
        not_ogg.to_string().contains("video-320x180-12.ivf"),
        "{not_ogg}"
    );
    // A frame header claiming 3 GiB in a small file: refused, nothing that size allocated.
    let mut bytes = std::fs::read(clip("video-320x180-12.ivf")).unwrap();
    bytes[32..36].copy_from_slice(&3_000_000_000u32.to_le_bytes());
    let path = std::env::temp_dir().join(format!("lanmeet-bad-{}.ivf", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let bad = Clip::read_ivf(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        bad.to_string().contains("past the end of the file"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sending_probe_reaches_every_member_as_offerer_and_as_answerer() {
    let node = TestNode::start().await;
    let room = node.room();
    // `quiet` is there first: the sender joins after it and offers to it. `late`
    // joins last and offers to the sender, which answers with its tracks.
    let quiet = Probe::join(config(&room, "quiet")).await.unwrap();
    let mut sender_config = config(&room, "sender");
    sender_config.send_media = clips();
    let sender = Probe::join(sender_config).await.unwrap();
    let late = Probe::join(config(&room, "late")).await.unwrap();
    let all = [quiet, sender, late];
    wait_for_mesh(&all).await;
    let [quiet, sender, late] = all;

    for receiver in [&quiet, &late] {
        let snap = wait_for_media(receiver, &sender).await;
        let video = track(&snap, &sender.id(), "video").unwrap();
        assert!(video.keyframes >= 1, "{video:?}");
        assert!(video.packets >= video.frames, "{video:?}");
    }
    let snap = sender.snapshot();
    assert!(
        snap.links.get(&quiet.id()).unwrap().offerer,
        "the sender offered to the member that was there first"
    );
    assert!(!snap.links.get(&late.id()).unwrap().offerer);
    // Only the sender sends: the sender gets nothing, nor do the others from each other.
    for (receiver, from) in [
        (&sender, &quiet),
        (&sender, &late),
        (&quiet, &late),
        (&late, &quiet),
    ] {
        let snap = receiver.snapshot();
        let tracks = &snap.links.get(&from.id()).unwrap().tracks;
        assert!(tracks.is_empty(), "{} got {tracks:?}", snap.name);
    }
    for p in [quiet, sender, late] {
        p.leave().await;
    }
}
