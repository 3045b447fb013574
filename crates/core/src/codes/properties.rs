//! Property tests for room codes: they forgive what people type and round-trip.
//! 128 cases a property, or `PROPTEST_CASES`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rand::SeedableRng as _;
use serde_json::json;

use super::{CODE_LEN, CodeError, RoomCode};

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Six canonical code characters.
fn code_chars() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(ALPHABET.chars().collect::<Vec<_>>()),
        CODE_LEN,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// How a person might type `code`: any case, `I`/`L` for `1`, `O` for `0`, dashes
/// and (any Unicode) whitespace anywhere.
fn as_typed(code: &str, choices: &[(u8, u8)]) -> String {
    const SEPARATORS: [&str; 7] = ["", "", "-", " ", "\t", "\u{a0}", "\u{3000}"];
    let mut out = String::new();
    for (i, ch) in code.chars().enumerate() {
        let (look, sep) = choices.get(i).copied().unwrap_or((0, 0));
        out.push_str(SEPARATORS[usize::from(sep) % SEPARATORS.len()]);
        let typed = match (ch, look % 4) {
            ('1', 1) => 'I',
            ('1', 2) => 'l',
            ('1', 3) => 'L',
            ('0', 1 | 2) => 'o',
            ('0', 3) => 'O',
            (c, 1 | 3) => c.to_ascii_lowercase(),
            (c, _) => c,
        };
        out.push(typed);
    }
    let (_, tail) = choices.get(CODE_LEN).copied().unwrap_or((0, 0));
    out.push_str(SEPARATORS[usize::from(tail) % SEPARATORS.len()]);
    out
}

/// The parsing rule of `codes.rs`'s documentation, spelled out: separators
/// skipped, look-alikes mapped, the first other character refused, then exactly
/// six characters.
fn code_rule(input: &str) -> Result<String, CodeError> {
    let mut out = String::new();
    for ch in input.chars() {
        if ch == '-' || ch.is_whitespace() {
            continue;
        }
        let canonical = match ch.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            c if ALPHABET.contains(c) => c,
            _ => return Err(CodeError::Character(ch)),
        };
        out.push(canonical);
    }
    match out.chars().count() {
        CODE_LEN => Ok(out),
        n => Err(CodeError::Length(n)),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn codes_parse_forgivingly_and_round_trip(
        code in code_chars(),
        choices in prop::collection::vec((any::<u8>(), any::<u8>()), CODE_LEN + 1),
    ) {
        let parsed = RoomCode::parse(&code).unwrap();
        prop_assert_eq!(parsed.as_str(), code.as_str());
        prop_assert_eq!(parsed.to_string(), code.clone());
        prop_assert_eq!(parsed.grouped(), format!("{}-{}", &code[..3], &code[3..]));
        prop_assert_eq!(RoomCode::parse(&parsed.grouped()).unwrap(), parsed);
        let typed = as_typed(&code, &choices);
        prop_assert_eq!(RoomCode::parse(&typed), Ok(parsed), "typed as {:?}", typed);
        prop_assert_eq!(typed.parse::<RoomCode>(), Ok(parsed));
        prop_assert_eq!(serde_json::to_value(parsed).unwrap(), json!(code));
    }

    #[test]
    fn any_text_parses_by_the_rule(input in prop_oneof![
        any::<String>(),
        "[0-9A-Za-z -]{0,12}",
        "[0-9A-HJKMNP-TV-Za-hjkmnp-tv-zIiLlOo\\- \u{a0}\u{2003}]{4,9}",
    ]) {
        let got = RoomCode::parse(&input).map(|c| c.as_str().to_owned());
        prop_assert_eq!(got.clone(), code_rule(&input), "input {:?}", input);
        if let Ok(canonical) = got {
            prop_assert!(canonical.len() == CODE_LEN && canonical.chars().all(|c| ALPHABET.contains(c)));
            prop_assert_eq!(RoomCode::parse(&canonical).unwrap().to_string(), canonical);
        }
    }

    #[test]
    fn random_codes_are_canonical(seed in any::<u64>()) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for _ in 0..8 {
            let code = RoomCode::random(&mut rng);
            prop_assert!(code.as_str().chars().all(|c| ALPHABET.contains(c)));
            prop_assert_eq!(RoomCode::parse(code.as_str()), Ok(code));
            prop_assert_eq!(RoomCode::parse(&code.grouped().to_lowercase()), Ok(code));
        }
    }
}
