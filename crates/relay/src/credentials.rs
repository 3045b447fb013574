//! TURN REST-style credentials: user name `EXPIRY:MEMBER` (Unix seconds, the
//! member's peer id), password `base64(HMAC-SHA1(secret, username))`. The relay
//! keeps no table of them: anything it handed out it can check again from the
//! secret, which is drawn at start and never leaves the process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use rand::RngCore;
use ring::hmac;

/// Issues and checks credentials with one random secret.
pub(crate) struct Credentials {
    key: hmac::Key,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Credentials {
    pub(crate) fn random() -> Credentials {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Credentials {
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret),
        }
    }

    /// A user name and password for `member`, good for `ttl` from now.
    pub(crate) fn issue(&self, member: &str, ttl: Duration) -> (String, String) {
        let expiry = unix_now().saturating_add(ttl.as_secs());
        let username = format!("{expiry}:{member}");
        let password = self.password(&username);
        (username, password)
    }

    pub(crate) fn password(&self, username: &str) -> String {
        BASE64_STANDARD.encode(hmac::sign(&self.key, username.as_bytes()).as_ref())
    }
}

/// The member of a user name that has not expired; `None` for anything else.
pub(crate) fn member_of(username: &str) -> Option<&str> {
    let (expiry, member) = username.split_once(':')?;
    let expiry: u64 = expiry.parse().ok()?;
    (expiry >= unix_now() && !member.is_empty()).then_some(member)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_names_carry_the_member_until_they_expire() {
        let c = Credentials::random();
        let (user, pass) = c.issue("abc", Duration::from_secs(60));
        assert_eq!(member_of(&user), Some("abc"));
        assert_eq!(c.password(&user), pass);
        assert_ne!(
            Credentials::random().password(&user),
            pass,
            "another secret"
        );
        assert_eq!(member_of("1:abc"), None, "expired in 1970");
        assert_eq!(member_of("abc"), None);
        assert_eq!(member_of("x:abc"), None);
        let far = format!("{}:", u64::MAX);
        assert_eq!(member_of(&far), None, "no member");
    }
}
