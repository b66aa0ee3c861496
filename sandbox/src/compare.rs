//! Host-side comparison: the expected outputs never enter the sandbox.
//!
//! `stdio` output is compared token by token (any run of whitespace separates tokens, case
//! matters, a float token matches within the tolerance). `call` return values arrive as tagged
//! JSON from the guest and are compared with Python's `==` semantics: `True == 1`, `2 == 2.0`,
//! tuples equal lists, sets and dicts ignore order.

use crate::problem::Compare;
use serde_json::Value;
use std::cmp::Ordering;

/// A Python value as the guest reports it (or as a dataset writes it in JSON).
#[derive(Debug, Clone, PartialEq)]
enum Py {
    None,
    Bool(bool),
    /// Decimal digits with optional sign; exact for any size.
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Py>),
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    Bytes(Vec<u8>),
    /// Something without a JSON form; only equal to the same repr.
    Repr(String),
}

fn from_json(value: &Value) -> Py {
    match value {
        Value::Null => Py::None,
        Value::Bool(b) => Py::Bool(*b),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                Py::Int(n.to_string())
            } else {
                Py::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Py::Str(s.clone()),
        Value::Array(items) => Py::Seq(items.iter().map(from_json).collect()),
        Value::Object(map) => {
            if map.len() == 1 {
                let (tag, inner) = map.iter().next().expect("one entry");
                if let Some(py) = from_tag(tag, inner) {
                    return py;
                }
            }
            Py::Dict(
                map.iter()
                    .map(|(k, v)| (Py::Str(k.clone()), from_json(v)))
                    .collect(),
            )
        }
    }
}

fn from_tag(tag: &str, inner: &Value) -> Option<Py> {
    let items = || {
        inner
            .as_array()
            .map(|a| a.iter().map(from_json).collect::<Vec<_>>())
    };
    Some(match tag {
        "$int" => Py::Int(inner.as_str()?.to_owned()),
        "$float" => Py::Float(inner.as_str()?.parse().ok()?),
        "$tuple" | "$list_node" | "$tree_node" => Py::Seq(items()?),
        "$set" => Py::Set(items()?),
        "$dict" => Py::Dict(
            inner
                .as_array()?
                .iter()
                .map(|pair| {
                    let pair = pair.as_array()?;
                    Some((from_json(pair.first()?), from_json(pair.get(1)?)))
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        "$bytes" => Py::Bytes(
            inner
                .as_array()?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<_>>>()?,
        ),
        "$complex" => Py::Repr(inner.to_string()),
        "$repr" => Py::Repr(inner.as_str()?.to_owned()),
        _ => return None,
    })
}

/// Numeric view of a value for `==` across bool/int/float.
fn number(py: &Py) -> Option<f64> {
    match py {
        Py::Bool(b) => Some(f64::from(u8::from(*b))),
        Py::Int(digits) => digits.parse().ok(),
        Py::Float(f) => Some(*f),
        _ => None,
    }
}

fn int_digits(py: &Py) -> Option<String> {
    match py {
        Py::Bool(b) => Some(u8::from(*b).to_string()),
        Py::Int(digits) => Some(digits.trim_start_matches('+').to_owned()),
        _ => None,
    }
}

fn floats_match(actual: f64, expected: f64, tol: f64) -> bool {
    if actual == expected {
        return true;
    }
    if !actual.is_finite() || !expected.is_finite() {
        return false;
    }
    tol > 0.0 && (actual - expected).abs() <= tol * expected.abs().max(1.0)
}

/// Python's `==` between a returned value and an expected one. An expected int is matched
/// exactly (`6.0 == 6`, but a float never passes for an int by tolerance: `7 / 2` is not `3`, and
/// `1e17` is not `10**17 + 1`); the tolerance is for expected floats.
fn equal(actual: &Py, expected: &Py, tol: f64) -> bool {
    if let (Some(a), Some(e)) = (int_digits(actual), int_digits(expected)) {
        return a == e;
    }
    if let (Py::Float(a), Some(e)) = (actual, int_digits(expected)) {
        return integral_digits(*a).is_some_and(|a| a == e);
    }
    if let (Some(a), Some(e)) = (number(actual), number(expected)) {
        return floats_match(a, e, tol);
    }
    match (actual, expected) {
        (Py::None, Py::None) => true,
        (Py::Str(a), Py::Str(e)) | (Py::Repr(a), Py::Repr(e)) => a == e,
        (Py::Bytes(a), Py::Bytes(e)) => a == e,
        (Py::Seq(a), Py::Seq(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| equal(x, y, tol))
        }
        // JSON has no sets: an expected list stands for one.
        (Py::Set(a), Py::Set(e)) | (Py::Set(a), Py::Seq(e)) => multiset_equal(a, e, tol),
        (Py::Dict(a), Py::Dict(e)) => {
            let pairs = |d: &[(Py, Py)]| -> Vec<Py> {
                d.iter()
                    .map(|(k, v)| Py::Seq(vec![k.clone(), v.clone()]))
                    .collect()
            };
            a.len() == e.len()
                && one_to_one(&pairs(a), &pairs(e), &|x, y| match (x, y) {
                    (Py::Seq(x), Py::Seq(y)) => key_equal(&x[0], &y[0]) && equal(&x[1], &y[1], tol),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// Dict keys compare by Python's own `==` on hashable values: a frozenset key is not a tuple key.
fn key_equal(actual: &Py, expected: &Py) -> bool {
    match (actual, expected) {
        (Py::Set(_), Py::Seq(_)) | (Py::Seq(_), Py::Set(_)) => false,
        (Py::Seq(a), Py::Seq(e)) | (Py::Set(a), Py::Set(e)) if a.len() == e.len() => {
            if matches!(actual, Py::Set(_)) {
                one_to_one(a, e, &key_equal)
            } else {
                a.iter().zip(e).all(|(x, y)| key_equal(x, y))
            }
        }
        _ => equal(actual, expected, 0.0),
    }
}

/// The exact integer a float holds, as decimal digits (`None` unless finite and integral).
fn integral_digits(value: f64) -> Option<String> {
    (value.is_finite() && value.fract() == 0.0).then(|| {
        let digits = format!("{value:.0}");
        if digits == "-0" {
            "0".into()
        } else {
            digits
        }
    })
}

/// Order-insensitive comparison: a one-to-one matching of equal items. Both sides are first
/// put in one total order (so equal items usually line up and the check is linear); whatever
/// does not line up is matched item by item.
fn multiset_equal(actual: &[Py], expected: &[Py], tol: f64) -> bool {
    if actual.len() != expected.len() {
        return false;
    }
    let mut a: Vec<&Py> = actual.iter().collect();
    let mut e: Vec<&Py> = expected.iter().collect();
    a.sort_by(|x, y| total_order(x, y));
    e.sort_by(|x, y| total_order(x, y));
    if a.iter().zip(&e).all(|(x, y)| equal(x, y, tol)) {
        return true;
    }
    one_to_one(actual, expected, &|x, y| equal(x, y, tol))
}

/// Whether every expected item has its own equal actual item (greedy; exact for equality that
/// is an equivalence, as it is without float tolerance). Quadratic, so bounded.
fn one_to_one(actual: &[Py], expected: &[Py], same: &dyn Fn(&Py, &Py) -> bool) -> bool {
    const MAX_PAIRS: usize = 4_000_000;
    if actual.len() != expected.len() || actual.len().saturating_mul(expected.len()) > MAX_PAIRS {
        return false;
    }
    let mut used = vec![false; actual.len()];
    expected.iter().all(|e| {
        let found = (0..actual.len()).find(|&i| !used[i] && same(&actual[i], e));
        found.map(|i| used[i] = true).is_some()
    })
}

/// A total order over values (any mix of types, NaN included): numbers first by value
/// (`f64::total_cmp`, then exact digits), then the rest by type and a canonical key. Sorting
/// with it never panics.
fn total_order(a: &Py, b: &Py) -> Ordering {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x
            .total_cmp(&y)
            .then_with(|| canonical_key(a).cmp(&canonical_key(b))),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => canonical_key(a).cmp(&canonical_key(b)),
    }
}

fn canonical_key(py: &Py) -> String {
    match py {
        Py::Bool(b) => format!("0{}", u8::from(*b)),
        Py::Int(digits) => format!("0{digits}"),
        Py::Float(f) => format!("0{f:e}"),
        Py::None => "N".into(),
        Py::Str(s) => format!("S{s}"),
        Py::Repr(s) => format!("R{s}"),
        Py::Bytes(b) => format!("B{b:?}"),
        Py::Seq(items) | Py::Set(items) => {
            let inner: Vec<String> = items.iter().map(canonical_key).collect();
            format!("L[{}]", inner.join(","))
        }
        Py::Dict(pairs) => {
            let mut inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", canonical_key(k), canonical_key(v)))
                .collect();
            inner.sort();
            format!("D{{{}}}", inner.join(","))
        }
    }
}

/// Compare a `call` test's tagged return value with the expected JSON.
pub fn value_matches(actual: &Value, expected: &Value, cmp: &Compare) -> Result<(), String> {
    let a = from_json(actual);
    let e = from_json(expected);
    let ok = match (&a, &e, cmp.unordered) {
        (Py::Seq(x), Py::Seq(y), true) => multiset_equal(x, y, cmp.float_tol),
        _ => equal(&a, &e, cmp.float_tol),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {}",
            clip(&expected.to_string()),
            clip(&actual.to_string())
        ))
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn looks_like_float(token: &str) -> bool {
    token.contains(['.', 'e', 'E']) && token.parse::<f64>().is_ok()
}

fn tokens_match(actual: &str, expected: &str, tol: f64) -> bool {
    actual == expected
        || (tol > 0.0
            && looks_like_float(expected)
            && matches!((actual.parse::<f64>(), expected.parse::<f64>()),
                (Ok(a), Ok(e)) if floats_match(a, e, tol)))
}

/// Compare a program's stdout with the expected text, token by token.
pub fn stdout_matches(actual: &str, expected: &str, cmp: &Compare) -> Result<(), String> {
    if cmp.unordered {
        let lines = |text: &str| -> Vec<String> {
            let mut lines: Vec<String> = text
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect();
            lines.sort();
            lines
        };
        let (a, e) = (lines(actual), lines(expected));
        let same = a.len() == e.len()
            && a.iter().zip(&e).all(|(x, y)| {
                let (xs, ys): (Vec<_>, Vec<_>) = (x.split(' ').collect(), y.split(' ').collect());
                xs.len() == ys.len()
                    && xs
                        .iter()
                        .zip(&ys)
                        .all(|(p, q)| tokens_match(p, q, cmp.float_tol))
            });
        return if same {
            Ok(())
        } else {
            Err(format!(
                "expected lines {} (any order), got {}",
                clip(&e.join(" | ")),
                clip(&a.join(" | "))
            ))
        };
    }
    let mut got = actual.split_whitespace();
    let mut want = expected.split_whitespace();
    let mut index = 0usize;
    loop {
        match (got.next(), want.next()) {
            (None, None) => return Ok(()),
            (Some(a), Some(e)) if tokens_match(a, e, cmp.float_tol) => index += 1,
            (Some(a), Some(e)) => {
                return Err(format!(
                    "token {}: expected `{}`, got `{}`",
                    index + 1,
                    clip(e),
                    clip(a)
                ))
            }
            (None, Some(e)) => {
                return Err(format!(
                    "output ended after {index} tokens; expected `{}` next",
                    clip(e)
                ))
            }
            (Some(a), None) => {
                return Err(format!("extra output after {index} tokens: `{}`", clip(a)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(actual: Value, expected: Value, unordered: bool) -> bool {
        let cmp = Compare {
            unordered,
            ..Compare::default()
        };
        value_matches(&actual, &expected, &cmp).is_ok()
    }

    #[test]
    fn nan_and_mixed_types_in_unordered_values_never_panic() {
        let nan = json!({"$float": "nan"});
        let items = json!([3, nan, "a", null, [1, 2], {"$float": "inf"}, 2.5, true]);
        assert!(!check(
            items.clone(),
            json!([3, 1, "a", null, [1, 2], 4, 2.5, true]),
            true
        ));
        assert!(!check(
            json!({"$set": [nan, 1, "x"]}),
            json!([1, "x", 2]),
            false
        ));
        // Large mixed sets sort without a panic whatever the comparison sees.
        let many: Vec<Value> = (0..500)
            .map(|i| match i % 4 {
                0 => json!({"$float": "nan"}),
                1 => json!(i),
                2 => json!(format!("s{i}")),
                _ => json!(i as f64 + 0.5),
            })
            .collect();
        let _ = check(Value::Array(many.clone()), Value::Array(many), true);
    }

    #[test]
    fn a_float_never_passes_for_an_expected_int_by_tolerance() {
        assert!(check(json!({"$float": "6.0"}), json!(6), false));
        assert!(!check(json!(3.5), json!(3), false));
        assert!(!check(json!(2.0000001), json!(2), false));
        // 1e17 (what `/` gives) is not 10**17 + 1.
        assert!(!check(
            json!({"$float": "1e17"}),
            json!({"$int": "100000000000000001"}),
            false
        ));
        assert!(check(
            json!({"$int": "100000000000000001"}),
            json!({"$int": "100000000000000001"}),
            false
        ));
        // Expected floats keep their tolerance, whichever type comes back.
        assert!(check(json!(2.0000001), json!(2.0), false));
        assert!(check(json!(2), json!(2.0000001), false));
    }

    #[test]
    fn dicts_and_sets_match_one_to_one() {
        let tuple_key = json!({"$dict": [[{"$tuple": [1, 2]}, "a"]]});
        let frozenset_key = json!({"$dict": [[{"$set": [1, 2]}, "a"]]});
        assert!(check(tuple_key.clone(), tuple_key.clone(), false));
        assert!(!check(frozenset_key, tuple_key, false));
        // Two returned keys cannot both stand for one expected key.
        let returned = json!({"$dict": [[1, "x"], [{"$float": "1.0"}, "x"]]});
        let expected = json!({"$dict": [[1, "x"], [2, "x"]]});
        assert!(!check(returned, expected, false));
        assert!(check(json!({"$set": [1, 2, 2]}), json!([2, 1, 2]), false));
        assert!(!check(json!({"$set": [1, 1, 2]}), json!([2, 1, 2]), false));
        assert!(check(json!([[1, 2], [3]]), json!([[3], [1, 2]]), true));
    }
}
