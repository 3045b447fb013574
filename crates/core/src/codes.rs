//! Room codes: six characters of Crockford base32, typed by people.
//!
//! Codes are read aloud and typed on phones, so parsing forgives what people get
//! wrong (case, dashes, spaces, `I`/`L` for `1`, `O` for `0`) and display groups them
//! as `K7M-Q2P`. 30 random bits are plenty for a LAN: probing codes on the LAN
//! listener (`HEAD /api/rooms/{code}`) and failed joins on the peer socket are
//! both rate-limited per source address.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// Crockford's base32 alphabet: digits and letters without `I L O U`.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Number of characters in a room code.
pub(crate) const CODE_LEN: usize = 6;

/// A valid room code, stored in its canonical form (`K7MQ2P`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomCode([u8; CODE_LEN]);

/// Why a string is not a room code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Wrong number of code characters once dashes and spaces are removed.
    #[error("a room code has {CODE_LEN} characters, this has {0}")]
    Length(usize),
    /// A character that is not in the code alphabet (e.g. `U` or `#`).
    #[error("{0:?} cannot appear in a room code")]
    Character(char),
}

impl RoomCode {
    /// A fresh random code.
    pub(crate) fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut code = [0u8; CODE_LEN];
        for c in &mut code {
            *c = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        RoomCode(code)
    }

    /// Parses what a person typed: any case, `-` and whitespace ignored,
    /// `I`/`L` read as `1` and `O` as `0`.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let mut code = [0u8; CODE_LEN];
        let mut len = 0usize;
        for ch in input.chars() {
            if ch == '-' || ch.is_whitespace() {
                continue;
            }
            let canonical = match ch.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return Err(CodeError::Character(ch)),
            };
            if len < CODE_LEN {
                code[len] = canonical as u8;
            }
            len += 1;
        }
        if len != CODE_LEN {
            return Err(CodeError::Length(len));
        }
        Ok(RoomCode(code))
    }

    /// The canonical form, `K7MQ2P`: what goes on the wire and in URLs.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes from ALPHABET are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??????")
    }

    /// The form shown to people, `K7M-Q2P`: two groups are easier to read out.
    pub fn grouped(&self) -> String {
        let s = self.as_str();
        format!("{}-{}", &s[..3], &s[3..])
    }
}

impl FromStr for RoomCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoomCode::parse(s)
    }
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomCode({})", self.as_str())
    }
}

impl serde::Serialize for RoomCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_code() {
        let code = RoomCode::parse("K7MQ2P").unwrap();
        assert_eq!(code.as_str(), "K7MQ2P");
        assert_eq!(code.grouped(), "K7M-Q2P");
        assert_eq!(code.to_string(), "K7MQ2P");
    }

    #[test]
    fn forgives_case_dashes_spaces_and_lookalikes() {
        let want = RoomCode::parse("K7MQ2P").unwrap();
        for typed in ["k7m-q2p", " K7M Q2P ", "k7mq2p", "K-7-M-Q-2-P", "k7m\tq2p"] {
            assert_eq!(RoomCode::parse(typed).unwrap(), want, "{typed:?}");
        }
        assert_eq!(RoomCode::parse("ILO-ilo").unwrap().as_str(), "110110");
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(RoomCode::parse("K7MQ2"), Err(CodeError::Length(5)));
        assert_eq!(RoomCode::parse("K7MQ2PX"), Err(CodeError::Length(7)));
        assert_eq!(RoomCode::parse(""), Err(CodeError::Length(0)));
        assert_eq!(RoomCode::parse("---"), Err(CodeError::Length(0)));
        assert!(matches!(
            RoomCode::parse(&"A".repeat(10_000)),
            Err(CodeError::Length(10_000))
        ));
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(RoomCode::parse("K7MQ2U"), Err(CodeError::Character('U')));
        assert_eq!(RoomCode::parse("K7M#2P"), Err(CodeError::Character('#')));
        assert_eq!(RoomCode::parse("K7MQ2é"), Err(CodeError::Character('é')));
    }

    #[test]
    fn random_codes_round_trip_and_differ() {
        let mut rng = rand::rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let code = RoomCode::random(&mut rng);
            assert_eq!(RoomCode::parse(&code.grouped()).unwrap(), code);
            assert_eq!(
                RoomCode::parse(&code.as_str().to_lowercase()).unwrap(),
                code
            );
            seen.insert(code);
        }
        assert!(
            seen.len() > 990,
            "1000 random codes gave only {} distinct",
            seen.len()
        );
    }
}

/// Property tests (proptest): random input against what docs/PROTOCOL.md says.
#[cfg(test)]
mod properties;
