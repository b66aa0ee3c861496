//! Language-consistency reward (DeepSeek-R1): the share of the chain of thought's words that
//! are in the target language.
//!
//! What a "word" is here:
//! - the chain of thought is the text inside `<think>…</think>`, or the whole response when it has
//!   no think tags;
//! - fenced and inline code, Asymptote `[asy]` blocks, LaTeX (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) and `\commands` are removed
//!   first: they are not words;
//! - every Han, Hiragana, Katakana, Hangul or Thai character is one word (these scripts do not put
//!   spaces between words);
//! - other letters form words split at anything that is not a letter (spaces, punctuation,
//!   digits); one-letter Latin words are dropped (in math text they are variables), and so are
//!   numbers.
//!
//! A word counts for the target when its script is the target's (Han counts for both Chinese and
//! Japanese; Han also for Korean). Latin-script targets are told apart by `whatlang` on runs of
//! consecutive Latin words (a sentence at most); runs shorter than four words are classified
//! like the run before them (the target when they come first).

use whatlang::{Detector, Lang};

/// The result of scoring one response.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LanguageScore {
    /// `target_words / words`; `None` when the text has no words (the reward does not apply).
    pub score: Option<f64>,
    pub words: usize,
    pub target_words: usize,
    /// ISO 639-1 code of the target language.
    pub target: &'static str,
}

/// Target languages this reward knows: ISO 639-1 code, whatlang language, scripts.
const LANGUAGES: &[(&str, Lang, &[Script])] = &[
    ("en", Lang::Eng, &[Script::Latin]),
    ("es", Lang::Spa, &[Script::Latin]),
    ("fr", Lang::Fra, &[Script::Latin]),
    ("pt", Lang::Por, &[Script::Latin]),
    ("vi", Lang::Vie, &[Script::Latin]),
    ("de", Lang::Deu, &[Script::Latin]),
    ("it", Lang::Ita, &[Script::Latin]),
    ("zh", Lang::Cmn, &[Script::Han]),
    ("ja", Lang::Jpn, &[Script::Han, Script::Kana]),
    ("ko", Lang::Kor, &[Script::Hangul, Script::Han]),
    ("ar", Lang::Ara, &[Script::Arabic]),
    ("th", Lang::Tha, &[Script::Thai]),
    ("ru", Lang::Rus, &[Script::Cyrillic]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Han,
    Kana,
    Hangul,
    Thai,
    Arabic,
    Cyrillic,
    Other,
}

impl Script {
    fn of(c: char) -> Option<Script> {
        let u = c as u32;
        Some(match u {
            0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF => Script::Han,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
            0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => Script::Hangul,
            0x0E00..=0x0E7F => Script::Thai,
            _ if !c.is_alphabetic() => return None,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
            0x0400..=0x04FF => Script::Cyrillic,
            _ if u <= 0x024F || (0x1E00..=0x1EFF).contains(&u) => Script::Latin,
            _ => Script::Other,
        })
    }

    /// Scripts written without spaces: one character, one word.
    fn per_character(self) -> bool {
        matches!(
            self,
            Script::Han | Script::Kana | Script::Hangul | Script::Thai
        )
    }
}

/// A bad target language code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target language {0:?} (use an ISO 639-1 code such as en, zh, ja)")]
pub struct UnknownLanguage(pub String);

fn language(
    code: &str,
) -> Result<&'static (&'static str, Lang, &'static [Script]), UnknownLanguage> {
    let wanted = code.trim().to_ascii_lowercase();
    let wanted = wanted.split(['-', '_']).next().unwrap_or("");
    LANGUAGES
        .iter()
        .find(|(iso, lang, _)| *iso == wanted || lang.code() == wanted)
        .ok_or_else(|| UnknownLanguage(code.to_owned()))
}

/// The part of a response the reward looks at: the chain of thought.
fn chain_of_thought(response: &str) -> &str {
    match (response.find("<think>"), response.rfind("</think>")) {
        (Some(open), Some(close)) if open + 7 <= close => &response[open + 7..close],
        (None, Some(close)) => &response[..close],
        (Some(open), None) => &response[open + 7..],
        _ => response,
    }
}

/// Remove code and LaTeX; display blocks also end word runs, inline spans do not.
fn strip_non_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let closers: [(&str, &str); 7] = [
        ("```", "```"),
        ("[asy]", "[/asy]"),
        ("$$", "$$"),
        ("\\[", "\\]"),
        ("\\(", "\\)"),
        ("$", "$"),
        ("`", "`"),
    ];
    'outer: while !rest.is_empty() {
        for (open, close) in closers {
            if let Some(after) = rest.strip_prefix(open) {
                // Inline spans (`$…$`, `` `…` ``) end at the line. An unclosed code fence runs to
                // the end (a truncated completion); any other unclosed opener is a literal.
                let inline = matches!(open, "$" | "`");
                let limit = if inline {
                    after.find('\n').unwrap_or(after.len())
                } else {
                    after.len()
                };
                match after[..limit].find(close) {
                    Some(i) => rest = &after[i + close.len()..],
                    None if open == "```" => rest = "",
                    None => break,
                }
                // Inline math sits inside a sentence; a display block or code ends one.
                out.push(if inline || open == "\\(" { ' ' } else { '\n' });
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        let c = chars.next().expect("non-empty");
        if c == '\\' {
            // A LaTeX command outside math: drop its name.
            let name_len = chars
                .as_str()
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            out.push(' ');
            rest = &chars.as_str()[name_len..];
            continue;
        }
        out.push(c);
        rest = chars.as_str();
    }
    out
}

struct Word<'a> {
    text: &'a str,
    script: Script,
    /// Index of the run of consecutive same-script words (broken by sentence punctuation).
    run: usize,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut run = 0usize;
    let mut last_script = None;
    let mut start: Option<(usize, Script)> = None;
    fn close<'a>(
        text: &'a str,
        words: &mut Vec<Word<'a>>,
        start: &mut Option<(usize, Script)>,
        end: usize,
        run: usize,
    ) {
        if let Some((from, script)) = start.take() {
            let word = &text[from..end];
            if !(script == Script::Latin && word.chars().count() < 2) {
                words.push(Word {
                    text: word,
                    script,
                    run,
                });
            }
        }
    }
    for (i, c) in text.char_indices() {
        match Script::of(c) {
            Some(script) if script.per_character() => {
                close(text, &mut words, &mut start, i, run);
                if last_script != Some(script) {
                    run += 1;
                }
                words.push(Word {
                    text: &text[i..i + c.len_utf8()],
                    script,
                    run,
                });
                last_script = Some(script);
            }
            Some(script) => match start {
                Some((_, current)) if current == script => {}
                _ => {
                    close(text, &mut words, &mut start, i, run);
                    if last_script != Some(script) {
                        run += 1;
                    }
                    start = Some((i, script));
                    last_script = Some(script);
                }
            },
            None => {
                close(text, &mut words, &mut start, i, run);
                if matches!(c, '.' | '!' | '?' | ';' | ':' | '\n' | '。' | '！' | '？') {
                    last_script = None;
                }
            }
        }
    }
    close(text, &mut words, &mut start, text.len(), run);
    words
}

/// Shortest run of Latin words that is classified rather than given the benefit of the doubt.
const MIN_CLASSIFIED_RUN: usize = 4;
/// Runs shorter than this are classified together with the Latin runs next to them.
const SHORT_SENTENCE: usize = 12;
/// How sure a target-versus-rival detection must be to count a run against the target.
const RIVAL_CONFIDENCE: f64 = 0.5;

fn latin_detector(target: Lang) -> Detector {
    let mut allow: Vec<Lang> = LANGUAGES
        .iter()
        .filter(|(_, _, scripts)| scripts == &[Script::Latin])
        .map(|(_, lang, _)| *lang)
        .collect();
    if !allow.contains(&target) {
        allow.push(target);
    }
    Detector::with_allowlist(allow)
}

/// Score a response's chain of thought against `target` (ISO 639-1, e.g. `"en"`, `"zh"`).
pub fn language_consistency(
    response: &str,
    target: &str,
) -> Result<LanguageScore, UnknownLanguage> {
    let &(iso, lang, scripts) = language(target)?;
    let text = strip_non_words(chain_of_thought(response));
    let words = words(&text);
    let latin_target = scripts == [Script::Latin];
    // One detector per rival Latin language: target-versus-rival decisions are far more reliable
    // on short runs than a many-way vote.
    let rivals: Vec<Detector> = LANGUAGES
        .iter()
        .filter(|(_, other, scripts)| scripts == &[Script::Latin] && *other != lang)
        .map(|(_, other, _)| Detector::with_allowlist(vec![lang, *other]))
        .collect();
    // Whatlang scores each language independently, so when the target beats every rival at
    // once it beats each of them pairwise: one detection settles most runs.
    let all_rivals = latin_detector(lang);
    // Runs of consecutive same-script words, as index ranges into `words`.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (index, word) in words.iter().enumerate() {
        match runs.last_mut() {
            Some((_, end)) if words[*end - 1].run == word.run => *end = index + 1,
            _ => runs.push((index, index + 1)),
        }
    }
    let latin = |r: usize| words[runs[r].0].script == Script::Latin;
    let mut target_words = 0usize;
    for (r, &(from, to)) in runs.iter().enumerate() {
        let count = to - from;
        let in_target = if !scripts.contains(&words[from].script) {
            false
        } else if latin_target && count >= MIN_CLASSIFIED_RUN {
            // A short sentence is classified together with its Latin neighbours.
            let (mut lo, mut hi) = (r, r);
            if count < SHORT_SENTENCE {
                if r > 0 && latin(r - 1) {
                    lo = r - 1;
                }
                if r + 1 < runs.len() && latin(r + 1) {
                    hi = r + 1;
                }
            }
            let text: Vec<&str> = words[runs[lo].0..runs[hi].1]
                .iter()
                .map(|w| w.text)
                .collect();
            let text = text.join(" ");
            let target_wins = all_rivals
                .detect(&text)
                .is_some_and(|info| info.lang() == lang);
            target_wins
                || rivals.iter().all(|rival| {
                    rival.detect(&text).is_none_or(|info| {
                        info.lang() == lang || info.confidence() < RIVAL_CONFIDENCE
                    })
                })
        } else {
            true
        };
        if in_target {
            target_words += count;
        }
    }
    Ok(LanguageScore {
        score: (!words.is_empty()).then(|| target_words as f64 / words.len() as f64),
        words: words.len(),
        target_words,
        target: iso,
    })
}

/// The language a prompt is written in (ISO 639-1), for when a request names none.
pub fn detect_language(prompt: &str) -> Option<&'static str> {
    let text = strip_non_words(prompt);
    let words = words(&text);
    let count = |s: Script| words.iter().filter(|w| w.script == s).count();
    let by_script = [
        (Script::Hangul, "ko"),
        (Script::Kana, "ja"),
        (Script::Thai, "th"),
        (Script::Arabic, "ar"),
        (Script::Cyrillic, "ru"),
        (Script::Han, "zh"),
    ];
    let latin = count(Script::Latin);
    // Kana anywhere means Japanese even when Han characters outnumber it.
    if count(Script::Kana) > 0 && count(Script::Kana) * 10 >= count(Script::Han) {
        return Some("ja");
    }
    let (best, n) = by_script
        .iter()
        .map(|(s, code)| (*code, count(*s)))
        .max_by_key(|(_, n)| *n)?;
    if n > 0 && n >= latin {
        return Some(best);
    }
    if latin == 0 {
        return None;
    }
    let sentence: Vec<&str> = words
        .iter()
        .filter(|w| w.script == Script::Latin)
        .map(|w| w.text)
        .collect();
    let found = latin_detector(Lang::Eng).detect_lang(&sentence.join(" "))?;
    LANGUAGES
        .iter()
        .find(|(_, lang, _)| *lang == found)
        .map(|(iso, _, _)| *iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_characters_and_latin_counts_words() {
        let s = language_consistency("<think>我们计算 the answer 是</think>42", "zh").unwrap();
        assert_eq!((s.words, s.target_words), (7, 5));
        let s = language_consistency("Let x be 3, so $x^2 = 9$ and `x` is odd.", "en").unwrap();
        // "x" is a one-letter word, the LaTeX and code are gone, numbers are not words.
        assert_eq!(s.words, 6);
        assert_eq!(s.score, Some(1.0));
    }

    #[test]
    fn latin_languages_are_told_apart_by_runs() {
        let english = "First we compute the sum of the two numbers and then we divide it by two.";
        let spanish =
            "Primero calculamos la suma de los dos números y luego la dividimos entre dos.";
        let s = language_consistency(&format!("{english} {spanish}"), "es").unwrap();
        let share = s.score.unwrap();
        assert!((share - 0.5).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn empty_or_math_only_text_has_no_score() {
        assert_eq!(language_consistency("$x+1$ 42", "en").unwrap().score, None);
        assert!(language_consistency("hi", "xx").is_err());
    }

    #[test]
    fn prompts_reveal_their_language() {
        assert_eq!(detect_language("次の方程式を解きなさい。"), Some("ja"));
        assert_eq!(detect_language("求方程式的解。"), Some("zh"));
        assert_eq!(
            detect_language("Résoudre l'équation suivante et donner la réponse."),
            Some("fr")
        );
        assert_eq!(detect_language("$1+1$"), None);
    }
}
