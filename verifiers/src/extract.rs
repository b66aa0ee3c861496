//! Finding the final answer in a completion.
//!
//! Order of trust: the last `<answer>…</answer>`, else the text after the last
//! `</think>`; inside that, the last `\boxed{}` group, then (lenient mode only)
//! "final answer" anchors, then the rightmost math span or plain number.
//! Every scan is linear in the input; nothing backtracks.

use serde::Serialize;

/// Which rule produced a candidate answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    AnswerTag,
    Boxed,
    FinalAnswer,
    MathSpan,
    Number,
    Whole,
}

/// Strict mode accepts only `\boxed{}` or `<answer>` answers (for rewards);
/// lenient mode also uses anchors, math spans and numbers (for evaluation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Strict,
    Lenient,
}

#[derive(Clone, Copy, Debug)]
pub struct ExtractOptions {
    pub mode: Mode,
    /// Consider `$…$`, `\(…\)`, `\[…\]` spans in lenient mode.
    pub math_spans: bool,
    /// Consider plain numbers in lenient mode.
    pub numbers: bool,
    /// Read `2,74` as one number (decimal comma).
    pub decimal_comma: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            mode: Mode::Strict,
            math_spans: true,
            numbers: true,
            decimal_comma: false,
        }
    }
}

/// One possible answer, most trusted first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    pub rule: Rule,
}

/// Why no answer was taken from a completion.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoAnswer {
    #[error("the completion is empty")]
    Empty,
    #[error("reasoning never closed: <think> without </think>")]
    UnterminatedThink,
    #[error("several different boxed answers: {0:?}")]
    ConflictingBoxes(Vec<String>),
    #[error("no boxed answer or <answer> tag (strict mode)")]
    NoBoxed,
    #[error("no answer found")]
    NotFound,
}

/// Candidates for a model completion.
pub fn candidates(text: &str, options: &ExtractOptions) -> Result<Vec<Candidate>, NoAnswer> {
    if text.trim().is_empty() {
        return Err(NoAnswer::Empty);
    }
    if let Some(inner) = last_answer_tag(text) {
        let boxes = box_groups(inner);
        if let Some((_, last)) = boxes.last() {
            check_agreement(&boxes)?;
            return Ok(vec![Candidate {
                text: last.clone(),
                rule: Rule::Boxed,
            }]);
        }
        let mut out = vec![Candidate {
            text: strip_delimiters(inner),
            rule: Rule::AnswerTag,
        }];
        if options.mode == Mode::Lenient {
            out.extend(lenient(inner, options));
        }
        return Ok(out);
    }
    let region = match text.rfind("</think>") {
        Some(k) => &text[k + "</think>".len()..],
        None if text.contains("<think>") && options.mode == Mode::Strict => {
            return Err(NoAnswer::UnterminatedThink)
        }
        None => text,
    };
    let boxes = box_groups(region);
    if let Some((end, last)) = boxes.last() {
        // Lenient mode: an explicit "final answer" after the last box wins
        // (the boxes were intermediate results).
        if options.mode == Mode::Lenient {
            if let Some((at, found)) = anchored(region, options) {
                if at >= *end && !found.is_empty() {
                    return Ok(found);
                }
            }
        }
        check_agreement(&boxes)?;
        return Ok(vec![Candidate {
            text: last.clone(),
            rule: Rule::Boxed,
        }]);
    }
    if options.mode == Mode::Strict {
        return Err(NoAnswer::NoBoxed);
    }
    let out = lenient(region, options);
    if out.is_empty() {
        return Err(NoAnswer::NotFound);
    }
    Ok(out)
}

/// Candidates for a reference answer: usually bare (`\frac12`), sometimes a
/// whole worked solution with a box or a Minerva "final answer" line. Lazy:
/// the fallbacks are only searched when the whole text does not parse.
pub fn gold_candidates<'a>(
    text: &'a str,
    options: &ExtractOptions,
) -> impl Iterator<Item = Candidate> + 'a {
    let boxed = if text.contains("box") {
        box_groups(text).pop()
    } else {
        None
    };
    let lenient_options = ExtractOptions {
        mode: Mode::Lenient,
        ..*options
    };
    let (first, rest_needed) = match boxed {
        Some((_, last)) => (
            Candidate {
                text: last,
                rule: Rule::Boxed,
            },
            false,
        ),
        None => (
            Candidate {
                text: strip_delimiters(text),
                rule: Rule::Whole,
            },
            true,
        ),
    };
    std::iter::once(first).chain(
        std::iter::once(())
            .filter(move |_| rest_needed)
            .flat_map(move |_| lenient(text, &lenient_options)),
    )
}

fn check_agreement(groups: &[(usize, String)]) -> Result<(), NoAnswer> {
    let key = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let Some((_, last)) = groups.last() else {
        return Ok(());
    };
    let mut distinct: Vec<String> = vec![last.clone()];
    for (_, g) in groups {
        if !distinct.iter().any(|d| key(d) == key(g)) {
            distinct.push(g.clone());
        }
    }
    if distinct.len() > 1 {
        return Err(NoAnswer::ConflictingBoxes(distinct));
    }
    Ok(())
}

fn lenient(region: &str, options: &ExtractOptions) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some((_, c)) = anchored(region, options) {
        out.extend(c);
    }
    let trimmed = region.trim();
    if looks_like_bare_math(trimmed) {
        out.push(Candidate {
            text: strip_delimiters(trimmed),
            rule: Rule::Whole,
        });
    }
    let spans = if options.math_spans {
        math_spans(region)
    } else {
        vec![]
    };
    let span = last_span_group(region, &spans);
    let number = if options.numbers {
        last_number(region, &spans, options.decimal_comma)
    } else {
        None
    };
    match (span, number) {
        (Some((s_end, s)), Some((n_end, n))) => {
            let (s, n) = (
                Candidate {
                    text: s,
                    rule: Rule::MathSpan,
                },
                Candidate {
                    text: n,
                    rule: Rule::Number,
                },
            );
            if n_end > s_end {
                out.extend([n, s]);
            } else {
                out.extend([s, n]);
            }
        }
        (Some((_, s)), None) => out.push(Candidate {
            text: s,
            rule: Rule::MathSpan,
        }),
        (None, Some((_, n))) => out.push(Candidate {
            text: n,
            rule: Rule::Number,
        }),
        (None, None) => {}
    }
    out
}

/// Short text without prose: `x = 3`, `\frac{1}{2}`, `xy = 2`. Two or more
/// words of two or more letters (outside LaTeX commands) read as prose.
fn looks_like_bare_math(s: &str) -> bool {
    if s.is_empty() || s.len() > 400 || s.contains('\n') {
        return false;
    }
    const MATH_WORDS: &[&str] = &[
        "sin", "cos", "tan", "log", "ln", "exp", "sqrt", "pi", "and", "or", "inf",
    ];
    // Environment names and array column specs are not prose.
    let mut cleaned = s.to_string();
    for marker in ["\\begin{", "\\end{"] {
        while let Some(p) = cleaned.find(marker) {
            let close = cleaned[p..].find('}').map_or(cleaned.len(), |e| p + e + 1);
            let spec_end = if cleaned[close..].starts_with('{') {
                cleaned[close..].find('}').map_or(close, |e| close + e + 1)
            } else {
                close
            };
            cleaned.replace_range(p..spec_end, " ");
        }
    }
    let s = cleaned.as_str();
    let mut words = 0;
    let mut run = String::new();
    let mut in_command = false;
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphabetic() || c == '\'' {
            if !in_command {
                run.push(c);
            }
            continue;
        }
        if run.len() >= 4 || (run.len() >= 2 && !MATH_WORDS.contains(&run.as_str())) {
            words += 1;
        }
        run.clear();
        in_command = c == '\\';
    }
    words < 2
}

/// Content of the last complete `<answer>…</answer>` pair.
fn last_answer_tag(text: &str) -> Option<&str> {
    let close = text.rfind("</answer>")?;
    let open = text[..close].rfind("<answer>")?;
    Some(&text[open + "<answer>".len()..close])
}

/// `$…$` or `\(…\)` around a whole answer.
fn strip_delimiters(s: &str) -> String {
    let t = s.trim();
    for (a, b) in [("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$")] {
        if let Some(inner) = t.strip_prefix(a).and_then(|r| r.strip_suffix(b)) {
            return inner.trim().to_string();
        }
    }
    t.to_string()
}

/// One `\boxed{…}`: byte range and content.
struct BoxSpan {
    start: usize,
    end: usize,
    content: String,
}

fn find_boxes(text: &str) -> Vec<BoxSpan> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = find_box_command(text, from) {
        let (cmd_start, after) = pos;
        let mut k = after;
        while k < bytes.len() && bytes[k] == b' ' {
            k += 1;
        }
        if k < bytes.len() && bytes[k] == b'{' {
            let mut depth = 0usize;
            let mut j = k;
            let mut end = None;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' => {
                        j += 2;
                        continue;
                    }
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            match end {
                Some(e) => {
                    out.push(BoxSpan {
                        start: cmd_start,
                        end: e + 1,
                        content: text[k + 1..e].to_string(),
                    });
                    from = e + 1;
                }
                None => {
                    // Unclosed box at the end of a truncated completion: its rest.
                    out.push(BoxSpan {
                        start: cmd_start,
                        end: text.len(),
                        content: text[k + 1..].to_string(),
                    });
                    break;
                }
            }
        } else if k > after {
            // `\boxed 5`
            let rest = &text[k..];
            let len = rest
                .find(|c: char| c.is_whitespace() || c == '$')
                .unwrap_or(rest.len());
            if len > 0 {
                out.push(BoxSpan {
                    start: cmd_start,
                    end: k + len,
                    content: rest[..len].to_string(),
                });
            }
            from = k + len.max(1);
        } else {
            from = after;
        }
        if from >= text.len() {
            break;
        }
    }
    out
}

fn find_box_command(text: &str, from: usize) -> Option<(usize, usize)> {
    let hay = text.get(from..)?;
    let mut best: Option<(usize, usize)> = None;
    for cmd in ["\\boxed", "\\fbox"] {
        let mut search = 0;
        while let Some(p) = hay[search..].find(cmd) {
            let at = search + p;
            let after = at + cmd.len();
            if !hay[after..].starts_with(|c: char| c.is_ascii_alphabetic()) {
                if best.is_none_or(|(b, _)| from + at < b) {
                    best = Some((from + at, from + after));
                }
                break;
            }
            search = after;
        }
    }
    best
}

/// Boxes grouped by proximity (Math-Verify's rule: at most 10 characters
/// apart, or at most 70 with a separator word and different content); each
/// group joined into one list answer.
fn box_groups(text: &str) -> Vec<(usize, String)> {
    let boxes = find_boxes(text);
    let mut groups: Vec<Vec<&BoxSpan>> = Vec::new();
    for b in &boxes {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|prev| {
            let gap = &text[prev.end.min(b.start)..b.start];
            let gap_len = gap.chars().count();
            let separated = gap.contains(',')
                || gap.contains(';')
                || gap
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .any(|w| w == "and" || w == "or");
            gap_len <= 10 || (gap_len <= 70 && separated && prev.content.trim() != b.content.trim())
        });
        if joins {
            if let Some(g) = groups.last_mut() {
                g.push(b);
            }
        } else {
            groups.push(vec![b]);
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let mut parts: Vec<&str> = Vec::new();
            let end = g.last().map_or(0, |b| b.end);
            for b in g {
                if parts.last() != Some(&b.content.as_str()) {
                    parts.push(b.content.as_str());
                }
            }
            (end, parts.join(", "))
        })
        .collect()
}

/// Math spans as (start, end, content) byte ranges.
fn math_spans(text: &str) -> Vec<(usize, usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut k = 0;
    while k < b.len() {
        let rest = &text[k..];
        let found = if let Some(inner) = rest.strip_prefix("$$") {
            inner.find("$$").map(|e| (2, e + 2, 2))
        } else if let Some(inner) = rest.strip_prefix("\\[") {
            inner.find("\\]").map(|e| (2, e + 2, 2))
        } else if let Some(inner) = rest.strip_prefix("\\(") {
            inner
                .find("\\)")
                .filter(|e| !inner[..*e].contains('\n'))
                .map(|e| (2, e + 2, 2))
        } else if b[k] == b'$' && (k == 0 || b[k - 1] != b'\\') {
            single_dollar_end(&rest[1..]).map(|e| (1, e + 1, 1))
        } else {
            None
        };
        match found {
            Some((open, close_at, close_len)) => {
                out.push((
                    k,
                    k + close_at + close_len,
                    rest[open..close_at].to_string(),
                ));
                k += close_at + close_len;
            }
            None => k += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// End of a one-line `$…$` span (an escaped `\$` does not close it).
fn single_dollar_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'\n' => return None,
            b'\\' => k += 2,
            b'$' => return (k > 0).then_some(k),
            _ => k += 1,
        }
    }
    None
}

/// The last span, joined with up to four earlier ones separated only by
/// `,` / `and` / `or` (`$1$ and $2$`): (end offset, text).
fn last_span_group(text: &str, spans: &[(usize, usize, String)]) -> Option<(usize, String)> {
    let last = spans.last()?;
    let mut parts = vec![last.2.trim().to_string()];
    let mut k = spans.len() - 1;
    while k > 0 && parts.len() < 5 {
        let gap = text[spans[k - 1].1..spans[k].0].trim().to_ascii_lowercase();
        if matches!(gap.as_str(), "," | "and" | "or" | ", and" | ", or") {
            parts.push(spans[k - 1].2.trim().to_string());
            k -= 1;
        } else {
            break;
        }
    }
    parts.reverse();
    Some((last.1, parts.join(", ")))
}

/// The last plain number outside math spans, not glued to a preceding letter.
fn last_number(
    text: &str,
    spans: &[(usize, usize, String)],
    decimal_comma: bool,
) -> Option<(usize, String)> {
    let b = text.as_bytes();
    // Spans are sorted and disjoint: walk them alongside the scan (linear time).
    let mut next_span = 0;
    let mut in_span = |k: usize| {
        while next_span < spans.len() && spans[next_span].1 <= k {
            next_span += 1;
        }
        spans
            .get(next_span)
            .is_some_and(|(s, e, _)| k >= *s && k < *e)
    };
    let mut best = None;
    let mut k = 0;
    while k < b.len() {
        let starts =
            b[k].is_ascii_digit() || (b[k] == b'.' && b.get(k + 1).is_some_and(u8::is_ascii_digit));
        if !starts
            || in_span(k)
            || (k > 0 && (b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_'))
        {
            k += 1;
            continue;
        }
        let start = if k > 0 && b[k - 1] == b'-' { k - 1 } else { k };
        let mut e = k;
        loop {
            while e < b.len() && b[e].is_ascii_digit() {
                e += 1;
            }
            let sep = b.get(e).copied();
            let next_digit = b.get(e + 1).is_some_and(u8::is_ascii_digit);
            let group3 = (1..=3).all(|d| b.get(e + d).is_some_and(u8::is_ascii_digit))
                && !b.get(e + 4).is_some_and(u8::is_ascii_digit);
            match sep {
                Some(b',') if group3 => e += 1,
                Some(b',') if decimal_comma && next_digit => e += 1,
                Some(b'.') if next_digit => e += 1,
                Some(b'/') if next_digit => e += 1,
                _ => break,
            }
        }
        let mut end = e;
        if b.get(end) == Some(&b'%') {
            end += 1;
        }
        best = Some((end, text[start..end].to_string()));
        k = e.max(k + 1);
    }
    best
}

/// "final answer is …", "answer: …", "答案是 …": the answer after the last anchor.
/// Returns the anchor's byte offset and the candidates after it.
fn anchored(region: &str, options: &ExtractOptions) -> Option<(usize, Vec<Candidate>)> {
    const ANCHORS: &[&str] = &[
        "final answer is",
        "final answer:",
        "answer is",
        "answer:",
        "答案是",
        "答案为",
        "答案：",
    ];
    let lower = region.to_lowercase();
    if lower.len() != region.len() {
        return anchored_exact(region, options);
    }
    let mut best: Option<(usize, usize)> = None;
    for a in ANCHORS {
        if let Some(p) = lower.rfind(a) {
            let end = p + a.len();
            if best.is_none_or(|(_, e)| end > e) {
                best = Some((p, end));
            }
        }
    }
    let (at, end) = best?;
    Some((at, anchor_segment(&region[end..], options)))
}

/// Case-folding changed byte offsets (non-ASCII text): match anchors exactly.
fn anchored_exact(region: &str, options: &ExtractOptions) -> Option<(usize, Vec<Candidate>)> {
    const ANCHORS: &[&str] = &[
        "final answer is",
        "Final Answer:",
        "Final answer:",
        "answer is",
        "Answer:",
        "答案是",
        "答案为",
        "答案：",
    ];
    let (at, end) = ANCHORS
        .iter()
        .filter_map(|a| region.rfind(a).map(|p| (p, p + a.len())))
        .max_by_key(|(_, e)| *e)?;
    Some((at, anchor_segment(&region[end..], options)))
}

fn anchor_segment(after: &str, options: &ExtractOptions) -> Vec<Candidate> {
    let mut seg = after;
    for stop in ["I hope", "\n\n", "<|"] {
        if let Some(p) = seg.find(stop) {
            seg = &seg[..p];
        }
    }
    let seg = seg
        .trim()
        .trim_start_matches(':')
        .trim()
        .trim_matches('*')
        .trim();
    let spans = math_spans(seg);
    let mut out = Vec::new();
    // A segment that is just math (`$\frac{1}{2}$.`): that math.
    if let Some((first_start, _, _)) = spans.first() {
        if *first_start == 0 {
            if let Some((end, text)) = last_span_group(seg, &spans) {
                if seg[end..]
                    .trim()
                    .trim_end_matches(['.', '"', '\''])
                    .trim()
                    .is_empty()
                {
                    out.push(Candidate {
                        text,
                        rule: Rule::FinalAnswer,
                    });
                    return out;
                }
            }
        }
    }
    // Prose: "The volume of $V$ is 120." → what follows the last " is ".
    let sentence = cut_sentence(seg, &spans);
    let tail = match last_is_outside_spans(sentence, &spans) {
        Some(p) => &sentence[p..],
        None => sentence,
    };
    let tail = tail.trim().trim_end_matches(['.', '"']).trim();
    if !tail.is_empty() {
        out.push(Candidate {
            text: strip_delimiters(tail),
            rule: Rule::FinalAnswer,
        });
    }
    let tail_spans = math_spans(tail);
    if let Some((_, s)) = last_span_group(tail, &tail_spans) {
        out.push(Candidate {
            text: s,
            rule: Rule::FinalAnswer,
        });
    }
    if let Some((_, n)) = last_number(tail, &tail_spans, options.decimal_comma) {
        out.push(Candidate {
            text: n,
            rule: Rule::FinalAnswer,
        });
    }
    out
}

/// Up to the first sentence end (". " outside math spans) or the line end.
fn cut_sentence<'a>(seg: &'a str, spans: &[(usize, usize, String)]) -> &'a str {
    let b = seg.as_bytes();
    let mut next_span = 0;
    for k in 0..b.len() {
        while next_span < spans.len() && spans[next_span].1 <= k {
            next_span += 1;
        }
        if spans
            .get(next_span)
            .is_some_and(|(s, e, _)| k >= *s && k < *e)
        {
            continue;
        }
        if b[k] == b'\n'
            || (b[k] == b'.'
                && b.get(k + 1).is_none_or(|c| *c == b' ')
                && !(k > 0
                    && b[k - 1].is_ascii_digit()
                    && b.get(k + 1).is_some_and(u8::is_ascii_digit)))
        {
            return &seg[..k];
        }
    }
    seg
}

fn last_is_outside_spans(s: &str, spans: &[(usize, usize, String)]) -> Option<usize> {
    let mut from = s.len();
    while let Some(p) = s[..from].rfind(" is ") {
        if !spans.iter().any(|(a, e, _)| p >= *a && p < *e) {
            return Some(p + 4);
        }
        from = p;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str, mode: Mode) -> Result<String, NoAnswer> {
        candidates(
            text,
            &ExtractOptions {
                mode,
                ..Default::default()
            },
        )
        .map(|c| c[0].text.clone())
    }

    #[test]
    fn order_of_trust() {
        assert_eq!(
            first("<think>\\boxed{1}</think> so \\boxed{2}", Mode::Strict).unwrap(),
            "2"
        );
        assert_eq!(first("<answer>7</answer>", Mode::Strict).unwrap(), "7");
        assert_eq!(
            first("x \\boxed{\\frac{1}{2}} y", Mode::Strict).unwrap(),
            "\\frac{1}{2}"
        );
        assert_eq!(first("so \\boxed 5", Mode::Strict).unwrap(), "5");
        assert_eq!(
            first(
                "The final answer is $3$. I hope it is correct.",
                Mode::Lenient
            )
            .unwrap(),
            "3"
        );
        let found = candidates(
            "AZYUK2A",
            &ExtractOptions {
                mode: Mode::Lenient,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            found.iter().all(|c| c.rule != Rule::Number),
            "no number is pulled out of a word"
        );
    }

    #[test]
    fn hedging_is_not_an_answer() {
        let hedge = "\\boxed{5} is what I first thought, but after checking the second case again the value is \\boxed{6}";
        assert!(matches!(
            first(hedge, Mode::Strict),
            Err(NoAnswer::ConflictingBoxes(_))
        ));
        assert_eq!(
            first("\\boxed{1} and \\boxed{2}", Mode::Strict).unwrap(),
            "1, 2"
        );
        assert_eq!(
            first("<think>unfinished", Mode::Strict),
            Err(NoAnswer::UnterminatedThink)
        );
    }
}
