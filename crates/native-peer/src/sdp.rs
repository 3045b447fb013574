//! The two facts a link reads from an SDP.

/// The first `a=mid:` of an SDP: with BUNDLE, the m-line every candidate belongs to.
pub fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=mid:"))
        .map(|m| m.trim().to_owned())
}

/// The session id of an SDP (`o=<user> <sess-id> …`): fixed for the life of a peer
/// connection, so a new one means the remote started a new connection. The UI's
/// `sdpSessionId`.
pub fn session_id(sdp: &str) -> Option<&str> {
    let origin = sdp.lines().find_map(|l| l.trim().strip_prefix("o="))?;
    let mut fields = origin.split_whitespace();
    let _user = fields.next()?;
    fields.next()
}

/// The media type (`audio`, `video`, `application`) of the m-section with `mid`: the
/// kind of a transceiver the remote's offer made, before any of its media arrived.
pub fn media_of_mid<'a>(sdp: &'a str, mid: &str) -> Option<&'a str> {
    let mut media = None;
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            media = m.split_whitespace().next();
        } else if line.strip_prefix("a=mid:").is_some_and(|m| m.trim() == mid) {
            return media;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_mid_of_sdp() {
        let sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\nm=audio 9 x\r\na=mid:1\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }

    #[test]
    fn media_of_a_mid() {
        let sdp = "v=0\r\nm=audio 9 x\r\na=mid:0\r\nm=video 9 x\r\na=mid:1\r\n";
        assert_eq!(media_of_mid(sdp, "0"), Some("audio"));
        assert_eq!(media_of_mid(sdp, "1"), Some("video"));
        assert_eq!(media_of_mid(sdp, "2"), None);
    }

    #[test]
    fn session_id_is_read_from_the_origin_line() {
        let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n";
        assert_eq!(session_id(sdp), Some("4611731400430051336"));
        assert_eq!(session_id("v=0\r\n"), None);
        assert_eq!(session_id("v=0\r\no=-\r\n"), None);
        assert_eq!(session_id("v=0\r\no=- 42\r\n"), Some("42"));
    }
}
