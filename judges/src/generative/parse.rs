//! Reading a judge's free-text reply: a binary verdict, a score in a range, or the probability
//! of "yes" from the first token's log-probabilities.

use serde_json::Value;

/// `p_yes / (p_yes + p_no)` over the first token's alternatives (case and spacing ignored).
pub fn yes_probability(alternatives: &[(String, f64)]) -> Option<f64> {
    let (mut yes, mut no) = (0.0, 0.0);
    for (token, logprob) in alternatives {
        let word = token.trim().trim_start_matches('▁').to_ascii_lowercase();
        let p = logprob.exp();
        if !p.is_finite() {
            continue;
        }
        match word.as_str() {
            "yes" => yes += p,
            "no" => no += p,
            _ => {}
        }
    }
    (yes + no > 0.0).then(|| yes / (yes + no))
}

/// A binary verdict from free text: the last JSON object with a verdict key, else the last of
/// the common markers (`[Correct]`, `Final Decision: Yes`, `[[A=B]]`, `<verdict>…`), else a
/// final yes/no/correct/incorrect word.
pub fn parse_verdict(text: &str) -> Option<bool> {
    if let Some(verdict) = json_objects_from_end(text).find_map(|o| json_verdict(&o)) {
        return Some(verdict);
    }
    let lower = text.to_lowercase();
    const MARKERS: [(&str, bool); 14] = [
        ("[correct]", true),
        ("[incorrect]", false),
        ("final decision: yes", true),
        ("final decision: no", false),
        ("[[a=b]]", true),
        ("[[a!=b]]", false),
        ("<verdict>correct</verdict>", true),
        ("<verdict>incorrect</verdict>", false),
        ("<verdict>yes</verdict>", true),
        ("<verdict>no</verdict>", false),
        ("\"correctness\": \"correct\"", true),
        ("\"correctness\": \"incorrect\"", false),
        ("correctness: correct", true),
        ("correctness: incorrect", false),
    ];
    let last_marker = MARKERS
        .iter()
        .filter_map(|(marker, verdict)| lower.rfind(marker).map(|at| (at, *verdict)))
        .max_by_key(|(at, _)| *at);
    if let Some((_, verdict)) = last_marker {
        return Some(verdict);
    }
    let last_word = lower
        .split(|c: char| !c.is_alphanumeric())
        .rfind(|w| !w.is_empty())?;
    word_verdict(last_word)
}

fn word_verdict(word: &str) -> Option<bool> {
    match word.trim().to_lowercase().as_str() {
        "correct" | "yes" | "true" | "right" | "equivalent" => Some(true),
        "incorrect" | "no" | "false" | "wrong" | "not equivalent" => Some(false),
        _ => None,
    }
}

fn json_verdict(object: &serde_json::Map<String, Value>) -> Option<bool> {
    for key in [
        "correctness",
        "correct",
        "verdict",
        "judgement",
        "judgment",
        "decision",
        "is_correct",
    ] {
        match object.get(key) {
            Some(Value::Bool(b)) => return Some(*b),
            Some(Value::String(s)) => {
                if let Some(v) = word_verdict(s) {
                    return Some(v);
                }
            }
            Some(Value::Number(n)) => return n.as_f64().map(|x| x >= 0.5),
            _ => {}
        }
    }
    None
}

/// A score in `[min, max]`: a JSON `score`/`rating`, a `Score: N` line, `<score>N</score>`, or
/// the last number of the last paragraph. Out-of-range numbers are rejected.
pub fn parse_score(text: &str, min: f64, max: f64) -> Option<f64> {
    let in_range = |x: f64| (x.is_finite() && x >= min && x <= max).then_some(x);
    let json_score = json_objects_from_end(text).find_map(|object| {
        ["score", "rating", "grade"]
            .iter()
            .find_map(|key| match object.get(*key)? {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
    });
    if let Some(x) = json_score {
        return in_range(x);
    }
    let lower = text.to_lowercase();
    if let Some(at) = lower.rfind(&format!("/{max}")) {
        if let Some(x) = last_number(&lower[..at]) {
            return in_range(x);
        }
    }
    for marker in ["<score>", "score:", "rating:", "score ="] {
        if let Some(at) = lower.rfind(marker) {
            if let Some(x) = first_number(&lower[at + marker.len()..]) {
                return in_range(x);
            }
        }
    }
    let last_paragraph = text.trim().rsplit("\n\n").next().unwrap_or("");
    last_number(last_paragraph).and_then(in_range)
}

fn numbers(text: &str) -> impl Iterator<Item = f64> + '_ {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse::<f64>().ok())
}

fn first_number(text: &str) -> Option<f64> {
    let head = text.trim_start();
    // Only a number right after the marker counts ("Score: 7", "<score>7").
    let end = head
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(head.len());
    numbers(&head[..end]).next()
}

fn last_number(text: &str) -> Option<f64> {
    let mut last = None;
    for n in numbers(text) {
        last = Some(n);
    }
    last
}

/// JSON objects in the text, last-starting first (an object inside a code fence or after prose
/// included). Bounded: judge replies can be long and full of LaTeX braces.
fn json_objects_from_end(text: &str) -> impl Iterator<Item = serde_json::Map<String, Value>> + '_ {
    text.rmatch_indices('{').take(256).filter_map(|(open, _)| {
        let mut values = serde_json::Deserializer::from_str(&text[open..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(Value::Object(object))) => Some(object),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_in_every_common_shape() {
        let json = "Let me check.\n```json\n{\"analysis\": \"the sum is {4}\", \"correctness\": \"incorrect\"}\n```";
        assert_eq!(parse_verdict(json), Some(false));
        assert_eq!(parse_verdict("{\"correct\": true}"), Some(true));
        assert_eq!(
            parse_verdict("Reasoning... [Incorrect] no wait [Correct]"),
            Some(true)
        );
        assert_eq!(parse_verdict("Final Decision: No"), Some(false));
        assert_eq!(parse_verdict("so [[A!=B]]"), Some(false));
        assert_eq!(parse_verdict("The answer is correct."), Some(true));
        assert_eq!(parse_verdict("Yes"), Some(true));
        assert_eq!(parse_verdict("I cannot tell."), None);
        assert_eq!(parse_verdict(""), None);
    }

    #[test]
    fn scores_are_range_checked() {
        assert_eq!(parse_score("Good answer.\nScore: 8", 1.0, 10.0), Some(8.0));
        assert_eq!(parse_score("{\"score\": 3}", 1.0, 10.0), Some(3.0));
        assert_eq!(parse_score("<score>9</score>", 1.0, 10.0), Some(9.0));
        assert_eq!(
            parse_score("It has 3 parts.\n\nOverall 7/10", 1.0, 10.0),
            Some(7.0)
        );
        assert_eq!(parse_score("Overall: 7", 1.0, 10.0), Some(7.0));
        assert_eq!(parse_score("Score: 42", 1.0, 10.0), None);
        assert_eq!(parse_score("no number", 1.0, 10.0), None);
    }

    #[test]
    fn yes_probability_sums_spelling_variants() {
        let alts = vec![
            ("Yes".to_owned(), (0.6f64).ln()),
            (" yes".to_owned(), (0.2f64).ln()),
            ("No".to_owned(), (0.2f64).ln()),
            ("Maybe".to_owned(), (0.5f64).ln()),
        ];
        let p = yes_probability(&alts).unwrap();
        assert!((p - 0.8).abs() < 1e-9, "{p}");
        assert_eq!(yes_probability(&[("Maybe".into(), 0.0)]), None);
    }
}
