//! JSON text parsed with integers beyond 64 bits kept exact.
//!
//! serde_json reads an integer literal that fits no 64-bit type as an `f64`: an expected
//! `123456789012345678901` becomes `1.2345678901234568e20`, a right answer then fails and an
//! off-by-one passes within the float tolerance. Where the sandbox parses JSON text itself (tests
//! given as a JSON string, as datasets and verl's `prime_code` ship them, and the CLI's input
//! lines), such literals are rewritten to the tagged form `{"$int": "<digits>"}` first — the
//! form the guest and the comparator already use for big integers — so they stay exact end to
//! end. Literals inside strings and floats are left alone.

use serde_json::Value;
use std::borrow::Cow;

/// Parse `text` as JSON, keeping integer literals beyond 64 bits exact (see the module doc).
pub fn parse(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str(&tag_big_integers(text))
}

/// `text` with every integer literal that fits neither `i64` nor `u64` written as
/// `{"$int": "<digits>"}`.
fn tag_big_integers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, i);
                let literal = &text[i..end];
                if is_big_integer(literal) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 32));
                    out.push_str(&text[copied..i]);
                    out.push_str(&format!("{{\"$int\": \"{literal}\"}}"));
                    copied = end;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Index just past the string starting at the quote at `start` (escapes skipped).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

fn is_big_integer(literal: &str) -> bool {
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && literal.parse::<i64>().is_err()
        && literal.parse::<u64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_beyond_64_bits_are_tagged_and_the_rest_untouched() {
        let text = r#"{"inputs": [[123456789012345678901, -99999999999999999999, 5]],
                       "outputs": [18446744073709551615, 1e30, 2.5, "123456789012345678901"]}"#;
        let value = parse(text).unwrap();
        assert_eq!(
            value["inputs"][0],
            json!([{"$int": "123456789012345678901"}, {"$int": "-99999999999999999999"}, 5])
        );
        assert_eq!(value["outputs"][0], json!(18446744073709551615u64));
        assert_eq!(value["outputs"][1], json!(1e30));
        assert_eq!(value["outputs"][3], json!("123456789012345678901"));
        let plain = r#"{"a": [1, -2, "x\"9"]}"#;
        assert!(matches!(tag_big_integers(plain), Cow::Borrowed(_)));
    }
}
