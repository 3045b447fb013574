//! Ogg Opus read packet by packet: pages (RFC 3533), the Opus mapping (RFC 7845) and
//! each packet's duration from its TOC byte (RFC 6716 §3.1).
//!
//! Why a reader of our own: the `rtc` reader hands out whole pages, and an encoder's
//! default (ffmpeg, opusenc) puts up to a second of packets in a page. A probe sends
//! packets one by one at their own pace, so it needs the packets, not the pages.
//! Everything here comes from a file a person names: every length is checked against
//! the bytes there are, and a bad file is refused with where and why.

use bytes::Bytes;

/// The largest Opus audio packet kept: RFC 6716 caps a frame at 1275 bytes and a
/// packet at 48 frames (61,200 bytes). The header packets are not kept (a comment
/// header with cover art is larger), so this does not apply to them.
const MAX_PACKET_BYTES: usize = 64 * 1024;
/// The longest Opus packet (RFC 6716: 120 ms), in 48 kHz samples.
const MAX_PACKET_SAMPLES: u32 = 5_760;
/// A page's fixed header, before its segment table.
const PAGE_HEADER: usize = 27;
/// Header-type flags of a page.
const CONTINUED: u8 = 0x01;
const FIRST_PAGE: u8 = 0x02;

/// The audio of an Ogg Opus file: its packets in order and how long each lasts.
#[derive(Debug)]
pub(crate) struct OpusPackets {
    /// The audio packets (the two header packets left out), as an RTP payload.
    pub(crate) packets: Vec<Bytes>,
    /// Each packet's duration in 48 kHz samples, from its TOC byte.
    pub(crate) samples: Vec<u32>,
}

/// Reads the first Opus stream of an Ogg file, at most `max_packets` audio packets
/// (the rest is left unread, as a clip has a length limit). A file cut off inside a
/// page (a copy or a recording that stopped short) ends with the last whole page; a
/// missing page (a gap in the pages' sequence numbers) loses the packet it cut, not
/// the clip. A damaged page (its checksum) or bytes that are not Ogg refuse the file,
/// saying where: a clip is sent to people as it is read.
pub(crate) fn read(bytes: &[u8], max_packets: usize) -> Result<OpusPackets, String> {
    let mut serial = None;
    let mut last_seq: Option<u32> = None;
    let mut headers_seen = 0;
    // The audio packet being put together, and whether one is (its start was read).
    let mut partial: Vec<u8> = Vec::new();
    let mut in_packet = false;
    let mut out = OpusPackets {
        packets: Vec::new(),
        samples: Vec::new(),
    };
    let mut at = 0;
    let mut cut_at = None;
    while at < bytes.len() && out.packets.len() < max_packets {
        let Some(page) = Page::parse(bytes, at)? else {
            cut_at = Some(at);
            break;
        };
        at = page.end;
        // The first stream that starts with an Opus head is the one played; any other
        // (a video stream, a second audio stream) is skipped.
        match serial {
            None if page.flags & FIRST_PAGE != 0 && page.body.starts_with(b"OpusHead") => {
                check_head(page.body).map_err(|why| format!("{why} (byte {})", page.start))?;
                serial = Some(page.serial);
            }
            None => continue,
            Some(s) if s != page.serial => continue,
            Some(_) => {}
        }
        let gap = last_seq.is_some_and(|s| page.seq != s.wrapping_add(1));
        last_seq = Some(page.seq);
        if gap || page.flags & CONTINUED == 0 {
            // A packet cut off by a lost page is dropped, not glued to the next one.
            partial.clear();
            in_packet = false;
        }
        // A page that begins inside a packet whose start is lost: skip to its end.
        let mut skipping = page.flags & CONTINUED != 0 && !in_packet;
        let mut offset = 0;
        for &lace in page.lacing {
            let len = usize::from(lace);
            let piece = &page.body[offset..offset + len];
            offset += len;
            if skipping {
                skipping = lace == 255;
                continue;
            }
            let header = headers_seen < 2;
            if !header {
                partial.extend_from_slice(piece);
                if partial.len() > MAX_PACKET_BYTES {
                    return Err(format!(
                        "a packet in the page at byte {} is larger than {MAX_PACKET_BYTES} bytes",
                        page.start
                    ));
                }
            }
            in_packet = lace == 255;
            if in_packet {
                continue;
            }
            if header {
                // The identification header (checked above) and the comment header.
                headers_seen += 1;
                continue;
            }
            let packet = std::mem::take(&mut partial);
            if packet.is_empty() {
                continue;
            }
            let samples = packet_samples(&packet).map_err(|why| {
                format!(
                    "{why} (audio packet {}, in the page at byte {})",
                    out.packets.len() + 1,
                    page.start
                )
            })?;
            out.packets.push(Bytes::from(packet));
            out.samples.push(samples);
            if out.packets.len() >= max_packets {
                break;
            }
        }
    }
    if serial.is_none() {
        let cut = cut_at.map_or(String::new(), |at| {
            format!("; the file ends inside a page at byte {at}")
        });
        return Err(format!(
            "no Opus stream (no page starts with an OpusHead{cut})"
        ));
    }
    Ok(out)
}

/// Checks the identification header: version 0 and a stream RTP can carry as one
/// Opus stream (mono or stereo, mapping family 0).
fn check_head(body: &[u8]) -> Result<(), String> {
    // "OpusHead", version, channels, pre-skip (2), rate (4), gain (2), family.
    let (Some(&version), Some(&channels), Some(&family)) = (body.get(8), body.get(9), body.get(18))
    else {
        return Err("the Opus head is cut short".into());
    };
    if version >> 4 != 0 {
        return Err(format!(
            "Opus head version {version}, only version 0 is read"
        ));
    }
    if family != 0 || !(1..=2).contains(&channels) {
        return Err(format!(
            "{channels} channels (mapping family {family}): only mono or stereo can be sent"
        ));
    }
    Ok(())
}

/// A packet's duration in 48 kHz samples, from its TOC byte and frame count.
pub(crate) fn packet_samples(packet: &[u8]) -> Result<u32, String> {
    let Some(&toc) = packet.first() else {
        return Err("an empty Opus packet".into());
    };
    let config = toc >> 3;
    let frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1_920, 2_880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => match packet.get(1) {
            Some(&count) if count & 0x3f > 0 => u32::from(count & 0x3f),
            Some(_) => return Err("an Opus packet of zero frames".into()),
            None => return Err("an Opus packet with no frame count".into()),
        },
    };
    let samples = frames * frame;
    if samples > MAX_PACKET_SAMPLES {
        return Err(format!(
            "an Opus packet of {} ms (at most 120 ms)",
            samples / 48
        ));
    }
    Ok(samples)
}

/// One page, borrowed from the file (None from `parse`: the file ends inside it).
struct Page<'a> {
    start: usize,
    end: usize,
    flags: u8,
    serial: u32,
    seq: u32,
    lacing: &'a [u8],
    body: &'a [u8],
}

impl<'a> Page<'a> {
    fn parse(bytes: &'a [u8], start: usize) -> Result<Option<Page<'a>>, String> {
        let err = |why: &str| Err(format!("{why} at byte {start}"));
        let rest = &bytes[start..];
        if rest.len() < PAGE_HEADER {
            return if b"OggS".starts_with(&rest[..rest.len().min(4)]) {
                Ok(None)
            } else {
                err("not an Ogg page (no OggS)")
            };
        }
        if &rest[..4] != b"OggS" {
            return err("not an Ogg page (no OggS)");
        }
        if rest[4] != 0 {
            return err(&format!("Ogg version {}", rest[4]));
        }
        let flags = rest[5];
        let serial = u32::from_le_bytes([rest[14], rest[15], rest[16], rest[17]]);
        let seq = u32::from_le_bytes([rest[18], rest[19], rest[20], rest[21]]);
        let stored_crc = u32::from_le_bytes([rest[22], rest[23], rest[24], rest[25]]);
        let segments = usize::from(rest[26]);
        let Some(lacing) = rest.get(PAGE_HEADER..PAGE_HEADER + segments) else {
            return Ok(None);
        };
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let len = PAGE_HEADER + segments + body_len;
        let Some(page) = rest.get(..len) else {
            return Ok(None);
        };
        if crc32(page) != stored_crc {
            return err("a page whose checksum does not match");
        }
        Ok(Some(Page {
            start,
            end: start + len,
            flags,
            serial,
            seq,
            lacing,
            body: &page[PAGE_HEADER + segments..],
        }))
    }
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, starting at 0) over a page
/// with its checksum field taken as zero.
fn crc32(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0u32, |crc, (i, &byte)| {
        let byte = if (22..26).contains(&i) { 0 } else { byte };
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)]
    })
}

/// The CRC of each byte value, for a byte at a time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of `packets` (laced as Ogg does), with a correct checksum.
    /// Page `seq` of stream `serial`; `open_end`: its last packet goes on in the next page.
    fn page(flags: u8, serial: u32, seq: u32, packets: &[&[u8]], open_end: bool) -> Vec<u8> {
        let mut lacing = Vec::new();
        let mut body = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            let mut left = p.len();
            loop {
                let lace = left.min(255);
                lacing.push(u8::try_from(lace).unwrap());
                left -= lace;
                if lace < 255 {
                    break;
                }
                if left == 0 && open_end && i + 1 == packets.len() {
                    break;
                }
            }
            body.extend_from_slice(p);
        }
        let mut out = b"OggS\0".to_vec();
        out.push(flags);
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.push(u8::try_from(lacing.len()).unwrap());
        out.extend_from_slice(&lacing);
        out.extend_from_slice(&body);
        let crc = crc32(&out);
        out[22..26].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn head(channels: u8, family: u8) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, family]);
        h
    }

    /// A 20 ms CELT packet (config 31, one frame) of `len` bytes.
    fn packet(len: usize) -> Vec<u8> {
        let mut p = vec![0xab; len];
        p[0] = 31 << 3;
        p
    }

    #[test]
    fn packets_come_out_one_by_one_across_and_within_pages() {
        let big = packet(600); // laced 255 + 255 + 90, and split over two pages below
        let mut file = page(FIRST_PAGE, 7, 0, &[&head(2, 0)], false);
        file.extend(page(0, 7, 1, &[b"OpusTags\0\0\0\0\0\0\0\0"], false));
        file.extend(page(0, 9, 0, &[b"another stream"], false));
        file.extend(page(0, 7, 2, &[&packet(3), &packet(4), &big[..510]], true));
        file.extend(page(CONTINUED, 7, 3, &[&big[510..], &packet(5)], false));
        let audio = read(&file, 100).unwrap();
        let lens: Vec<usize> = audio.packets.iter().map(Bytes::len).collect();
        assert_eq!(lens, [3, 4, 600, 5]);
        assert_eq!(audio.packets[2], big);
        assert_eq!(audio.samples, [960; 4]);
        assert_eq!(read(&file, 2).unwrap().packets.len(), 2);
    }

    #[test]
    fn a_comment_header_larger_than_any_audio_packet_is_read_past() {
        // Cover art in the comment header: 70,000 bytes over two pages.
        let mut tags = b"OpusTags".to_vec();
        tags.resize(70_000, 0x5a);
        let mut file = page(FIRST_PAGE, 1, 0, &[&head(2, 0)], false);
        file.extend(page(0, 1, 1, &[&tags[..65_025]], true));
        file.extend(page(CONTINUED, 1, 2, &[&tags[65_025..], &packet(9)], false));
        let audio = read(&file, 10).unwrap();
        assert_eq!(audio.packets.len(), 1);
        assert_eq!(audio.packets[0].len(), 9);
    }

    #[test]
    fn a_lost_page_loses_the_packet_it_cut_not_the_clip() {
        let big = packet(600);
        let mut file = page(FIRST_PAGE, 1, 0, &[&head(1, 0)], false);
        file.extend(page(0, 1, 1, &[b"OpusTags"], false));
        file.extend(page(0, 1, 2, &[&packet(3), &big[..510]], true));
        // Page 3 (more of `big`) is lost; page 4 goes on with the end of another part
        // of it, then whole packets.
        file.extend(page(
            CONTINUED,
            1,
            4,
            &[&big[100..], &packet(5), &packet(6)],
            false,
        ));
        let audio = read(&file, 10).unwrap();
        let lens: Vec<usize> = audio.packets.iter().map(Bytes::len).collect();
        assert_eq!(lens, [3, 5, 6], "the cut packet is dropped, nothing glued");
    }

    #[test]
    fn a_bad_file_is_refused_with_where_and_why() {
        let good = page(FIRST_PAGE, 1, 0, &[&head(1, 0)], false);
        let mut flipped = good.clone();
        flipped[30] ^= 1;
        assert!(read(&flipped, 10).unwrap_err().contains("checksum"));
        let cut = read(&good[..good.len() - 1], 10).unwrap_err();
        assert!(cut.contains("ends inside a page at byte 0"), "{cut}");
        assert!(read(b"RIFF....", 10).unwrap_err().contains("no OggS"));
        assert!(
            read(&[b"RIFF".as_slice(), &[0; 40]].concat(), 10)
                .unwrap_err()
                .contains("no OggS")
        );
        let surround = page(FIRST_PAGE, 1, 0, &[&head(6, 1)], false);
        assert!(read(&surround, 10).unwrap_err().contains("mono or stereo"));
        let vorbis = page(FIRST_PAGE, 1, 0, &[b"\x01vorbis"], false);
        assert!(read(&vorbis, 10).unwrap_err().contains("no Opus stream"));
    }

    #[test]
    fn any_cut_or_changed_byte_of_a_real_file_is_read_or_refused_never_a_panic() {
        let file = include_bytes!("../tests/clips/audio-paged.ogg");
        assert_eq!(read(file, usize::MAX).unwrap().packets.len(), 101);
        // Cut inside its fourth page (two header pages, then 50 packets a page): the
        // third page's packets are the clip.
        let cut = file.len() - 2_000;
        assert_eq!(read(&file[..cut], usize::MAX).unwrap().packets.len(), 50);
        for len in (0..file.len()).step_by(3) {
            let _ = read(&file[..len], usize::MAX);
        }
        let mut pages = Vec::new();
        let mut at = 0;
        while at < file.len() {
            let page = Page::parse(file, at).unwrap().unwrap();
            pages.push(at..page.end);
            at = page.end;
        }
        for at in (0..file.len()).step_by(5) {
            let mut bad = file.to_vec();
            bad[at] ^= 0x5a;
            // With the page's checksum made right again, so the parse gets past it to
            // the wrong lengths, flags and packets.
            if let Some(page) = pages.iter().find(|p| p.contains(&at)) {
                let crc = crc32(&bad[page.clone()]);
                if !(page.start + 22..page.start + 26).contains(&at) {
                    bad[page.start + 22..page.start + 26].copy_from_slice(&crc.to_le_bytes());
                }
            }
            let _ = read(&bad, usize::MAX);
        }
    }

    #[test]
    fn a_packet_lasts_what_its_toc_byte_says() {
        // SILK 60 ms, hybrid 10 ms, CELT 2.5 ms, each one frame.
        assert_eq!(packet_samples(&[11 << 3]), Ok(2_880));
        assert_eq!(packet_samples(&[12 << 3]), Ok(480));
        assert_eq!(packet_samples(&[16 << 3]), Ok(120));
        // Two frames (codes 1 and 2), and code 3 with its count.
        assert_eq!(packet_samples(&[(31 << 3) | 1]), Ok(1_920));
        assert_eq!(packet_samples(&[(31 << 3) | 2]), Ok(1_920));
        assert_eq!(packet_samples(&[(16 << 3) | 3, 48]), Ok(5_760));
        assert!(
            packet_samples(&[(31 << 3) | 3, 7])
                .unwrap_err()
                .contains("at most 120 ms")
        );
        assert!(packet_samples(&[(31 << 3) | 3, 0]).is_err());
        assert!(packet_samples(&[(31 << 3) | 3]).is_err());
        assert!(packet_samples(&[]).is_err());
    }
}
