//! The bridge in a real call: two pages without WebRTC, each with its own bridge,
//! call each other through a real node; every property of docs/BRIDGE.md is checked
//! on the wire a page sees.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use bytes::Bytes;
use common::*;
use lanmeet_bridge::wire::Kind;
use lanmeet_bridge::{MAX_TEXT, MEDIA_QUEUE_BYTES};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_keyframes_and_messages_cross_a_real_call_both_ways() {
    let c = call().await;

    // Video both ways, whole and in order; audio too.
    video_flows(&c.a, &c.b, 1, 20).await;
    video_flows(&c.b, &c.a, 1, 20).await;
    audio_flows(&c.a, &c.b).await;
    audio_flows(&c.b, &c.a).await;

    // Keyframe requests both ways: a page asks its remote (PLI), the remote's bridge
    // tells its page to make one.
    for (asker, sender) in [(&c.b, &c.a), (&c.a, &c.b)] {
        let before = sender
            .events
            .count(|v| v["event"] == "keyframeRequest" && v["pc"] == PC);
        asker
            .page
            .ok(json!({"op": "requestKeyframe", "pc": PC}))
            .await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while sender
            .events
            .count(|v| v["event"] == "keyframeRequest" && v["pc"] == PC)
            == before
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the keyframe request never reached the sender's page"
            );
            // The request is repeated while unanswered; keep deltas flowing meanwhile.
            sender
                .page
                .send_frame(&video_frame(9_000, false, 100))
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let stats = asker.page.ok(json!({"op": "getStats", "pc": PC})).await;
        assert!(
            stats["keyframeRequestsSent"].as_u64().unwrap() >= 1,
            "{stats}"
        );
    }

    // The pair ICE chose: host candidates on loopback, no relay. (The remote end is
    // `prflx` when its check arrived before its candidate was signaled: the same
    // address, learned from the check.)
    for side in [&c.a, &c.b] {
        let stats = side.page.ok(json!({"op": "getStats", "pc": PC})).await;
        let pair = &stats["selectedPair"];
        assert_eq!(pair["local"]["type"], "host", "{stats}");
        assert!(
            ["host", "prflx"].contains(&pair["remote"]["type"].as_str().unwrap()),
            "{stats}"
        );
        for end in ["local", "remote"] {
            assert_eq!(pair[end]["protocol"], "udp", "{stats}");
            assert_eq!(pair[end]["address"], "127.0.0.1", "{stats}");
            assert!(pair[end]["port"].as_u64().unwrap() > 0, "{stats}");
            assert!(pair[end].get("relayProtocol").is_none(), "{stats}");
        }
    }
    let (a, b) = (
        c.a.page.ok(json!({"op": "getStats", "pc": PC})).await,
        c.b.page.ok(json!({"op": "getStats", "pc": PC})).await,
    );
    assert_eq!(
        a["selectedPair"]["local"]["port"],
        b["selectedPair"]["remote"]["port"]
    );
    assert_eq!(
        a["selectedPair"]["remote"]["port"],
        b["selectedPair"]["local"]["port"]
    );

    // The lanmeet data channel, both ways.
    c.a.page
        .ok(json!({"op": "sendData", "pc": PC, "channel": c.a.channel_id(), "data": "{\"type\":\"chat\",\"text\":\"hi bob\"}"}))
        .await;
    c.b.events
        .wait_for("chat to bob", |v| {
            v["event"] == "channelmessage"
                && v["data"].as_str().is_some_and(|d| d.contains("hi bob"))
        })
        .await;
    c.b.page
        .ok(json!({"op": "sendData", "pc": PC, "channel": c.b.channel_id(), "data": "hi alice"}))
        .await;
    c.a.events
        .wait_for("chat to alice", |v| {
            v["event"] == "channelmessage" && v["data"] == "hi alice"
        })
        .await;
    finish(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_restart_renegotiates_and_media_goes_on() {
    let c = call().await;
    video_flows(&c.a, &c.b, 1, 5).await;
    let ufrag = |v: &Value| {
        v["description"]["sdp"].as_str().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
                .map(str::to_owned)
        })
    };
    let first =
        c.b.events
            .wait_for("first offer", |v| v["event"] == "test:sent-description")
            .await;
    let sent_before = c.b.events.count(|v| v["event"] == "test:sent-description");
    c.b.page.ok(json!({"op": "restartIce", "pc": PC})).await;
    let restart =
        c.b.events
            .wait_for("the restart offer", |v| {
                v["event"] == "test:sent-description" && ufrag(v) != ufrag(&first)
            })
            .await;
    assert!(c.b.events.count(|v| v["event"] == "test:sent-description") > sent_before);
    assert_eq!(restart["description"]["type"], "offer");
    // Media still flows after the restart's exchange.
    video_flows(&c.a, &c.b, 1000, 5).await;
    video_flows(&c.b, &c.a, 1000, 5).await;
    finish(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_with_an_error_and_the_call_goes_on() {
    let c = call().await;
    let page = &c.a.page;
    // Not JSON, no id, unknown op, a field of the wrong type: each answered.
    page.send_text("{not json".into()).await;
    c.a.page
        .orphans
        .wait_for("bad-request", |v| v["error"]["code"] == "bad-request")
        .await;
    let r = page.call(json!({"op": "fly", "pc": PC})).await;
    assert_eq!(r["error"]["code"], "unknown-op");
    let r = page.call(json!({"op": "closePeer", "pc": "one"})).await;
    assert_eq!(r["error"]["code"], "bad-request");
    let r = page.call(json!({"op": "createOffer", "pc": 77})).await;
    assert_eq!(r["error"]["code"], "no-such-peer");
    let r = page.call(json!({"op": "createPeer", "pc": PC})).await;
    assert_eq!(r["error"]["code"], "peer-exists");
    // Out of order: an answer while stable.
    let r = page
        .call(json!({"op": "setRemoteDescription", "pc": PC, "description": {"type": "answer", "sdp": "v=0\r\n"}}))
        .await;
    assert_eq!(r["ok"], false, "{r}");
    let r = page
        .call(json!({"op": "setRemoteDescription", "pc": PC, "description": {"type": "bogus", "sdp": ""}}))
        .await;
    assert_eq!(r["error"]["code"], "bad-request");
    let r = page
        .call(json!({"op": "sendData", "pc": PC, "channel": 999, "data": "x"}))
        .await;
    assert_eq!(r["error"]["code"], "no-such-channel");
    let r = page
        .call(json!({"op": "setDirection", "pc": PC, "transceiver": 99, "direction": "inactive"}))
        .await;
    assert_eq!(r["error"]["code"], "no-such-transceiver");
    // Oversized text and frame; malformed frames.
    page.send_text(format!(
        "{{\"id\":1,\"op\":\"sendData\",\"pad\":\"{}\"}}",
        "x".repeat(MAX_TEXT)
    ))
    .await;
    page.send_binary(Bytes::from(vec![1u8; lanmeet_bridge::MAX_FRAME + 100]))
        .await;
    page.send_binary(Bytes::from_static(&[1, 0, 1])).await;
    page.send_binary(Bytes::from(vec![9u8; 40])).await;
    let orphans = &c.a.page.orphans;
    orphans
        .wait_count("too-large", 2, |v| v["error"]["code"] == "too-large")
        .await;
    orphans
        .wait_count("bad-frame", 2, |v| v["error"]["code"] == "bad-frame")
        .await;
    // The call goes on: media and messages still cross.
    video_flows(&c.a, &c.b, 1, 5).await;
    page.ok(json!({"op": "sendData", "pc": PC, "channel": c.a.channel_id(), "data": "still here"}))
        .await;
    c.b.events
        .wait_for("message after the bad input", |v| v["data"] == "still here")
        .await;
    finish(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_stops_reading_keeps_memory_bounded_and_recovers_on_a_keyframe() {
    let c = call().await;
    video_flows(&c.b, &c.a, 1, 3).await;
    c.a.page.set_reading(false);
    // Bob sends big frames until Alice's bridge has had to drop some for her.
    let mut i = 10_000u32;
    while c.bridge_a.stats().frames_dropped_for_pages() == 0 {
        assert!(
            i < 10_000 + 5_000,
            "the bridge never dropped for a page that stopped reading"
        );
        c.b.page
            .send_frame(&video_frame(i, i % 5 == 0, 60_000))
            .await;
        i += 1;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert!(
        c.bridge_a.stats().max_page_backlog() <= MEDIA_QUEUE_BYTES,
        "backlog {} over the bound",
        c.bridge_a.stats().max_page_backlog()
    );
    // Her bridge asks Bob for a keyframe (PLI → Bob's page is told, naming the
    // connection). Bob's own senders may have asked his page moments before (the
    // flood outruns them) with no keyframe since, and then the PLI is rightly
    // coalesced into that request; so Bob goes on sending, keyframes included, while
    // Alice still does not read, until a PLI gets through on its own.
    let told = |v: &Value| v["event"] == "keyframeRequest" && v["pc"] == PC;
    let mut k = 15_000u32;
    while c.b.events.count(told) == 0 {
        assert!(
            k < 15_000 + 1_000,
            "Bob's page was never told of Alice's keyframe request"
        );
        c.b.page.send_frame(&video_frame(k, k % 5 == 0, 1000)).await;
        k += 1;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Reading again: the first video frame after the gap is a keyframe, marked so.
    c.a.page.set_reading(true);
    let mut frames = c.a.frames.lock().await;
    let mut n = 20_000u32;
    let first_after_gap = loop {
        assert!(n < 20_000 + 3000, "no frame after the gap");
        c.b.page.send_frame(&video_frame(n, n % 5 == 0, 1000)).await;
        n += 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut found = None;
        while let Ok(f) = frames.try_recv() {
            if f.kind == Kind::Video && f.after_gap {
                found = Some(f);
                break;
            }
        }
        if let Some(f) = found {
            break f;
        }
    };
    assert!(
        first_after_gap.keyframe,
        "a page gets a keyframe after its gap"
    );
    drop(frames);
    finish(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_or_origin_is_refused_with_a_clear_error() {
    let (bridge, url, secret) = start_bridge().await;
    let e = Page::connect(&url, "nope", Some(ORIGIN))
        .await
        .err()
        .expect("refused");
    assert_eq!(e.status, 403);
    assert!(e.body.contains("bad-secret"), "{}", e.body);
    let e = Page::connect(&url, &secret, Some("http://evil.example"))
        .await
        .err()
        .expect("refused");
    assert_eq!(e.status, 403);
    assert!(e.body.contains("forbidden-origin"), "{}", e.body);
    let e = Page::connect(&url, &secret, None)
        .await
        .err()
        .expect("refused");
    assert!(e.body.contains("forbidden-origin"), "{}", e.body);
    // The right pair is let in and greeted.
    let (page, mut events, _frames) = Page::connect(&url, &secret, Some(ORIGIN))
        .await
        .expect("accepted");
    let ready = events.recv().await.unwrap();
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["version"], 1);
    assert_eq!(bridge.stats().refused.load(Ordering::Relaxed), 3);
    // A connection ICE has not connected has no selected pair yet.
    page.ok(json!({"op": "createPeer", "pc": 7})).await;
    let stats = page.ok(json!({"op": "getStats", "pc": 7})).await;
    assert!(stats["selectedPair"].is_null(), "{stats}");
    page.close().await;
    bridge.shutdown().await;
}
