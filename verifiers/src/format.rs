//! Format rewards: does a completion follow the answer template it was asked to use?
//!
//! - [`r1_zero_strict`]: exactly `<think>…</think><answer>…</answer>` (whitespace around and between
//!   the blocks allowed, each tag once, both blocks non-empty, nothing else) — multi-line thinking
//!   is fine, unlike the single-line regex many scripts copy.
//! - [`r1_zero_soft`]: the four tags appear in order somewhere.
//! - [`tag_count`]: 0.25 for each of the four tags that appears exactly once (partial credit).
//! - [`r1_readable`]: R1's readable format: a non-empty reasoning block, then a non-empty summary.
//! - [`Template`]: any sequence of tagged sections, checked like the strict R1-Zero template.
//!
//! Chat templates that put `<think>` into the prompt (DeepSeek-R1, Qwen3) make the completion start
//! inside the think block; [`Template::think_opened_by_prompt`] accepts that.

use serde::Serialize;

/// A format score and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormatScore {
    pub score: f64,
    pub reason: String,
}

impl FormatScore {
    fn pass() -> FormatScore {
        FormatScore {
            score: 1.0,
            reason: "well formed".into(),
        }
    }

    fn fail(reason: impl Into<String>) -> FormatScore {
        FormatScore {
            score: 0.0,
            reason: reason.into(),
        }
    }
}

/// One tagged block, e.g. `<think>` … `</think>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Section {
    pub tag: String,
    /// The block must contain non-whitespace text.
    #[serde(default = "yes")]
    pub non_empty: bool,
}

fn yes() -> bool {
    true
}

/// A configurable template: its sections in order, optionally followed by free text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Template {
    pub sections: Vec<Section>,
    /// Text after the last section is allowed (and required non-empty when `true`).
    #[serde(default)]
    pub trailing_text: bool,
    /// The prompt already opened the first section (`<think>` injected by the chat template).
    #[serde(default)]
    pub think_opened_by_prompt: bool,
}

impl Template {
    /// `<think>…</think><answer>…</answer>`.
    pub fn r1_zero() -> Template {
        Template {
            sections: vec![section("think"), section("answer")],
            trailing_text: false,
            think_opened_by_prompt: false,
        }
    }

    /// `<think>…</think>` then a summary.
    pub fn r1_readable() -> Template {
        Template {
            sections: vec![section("think")],
            trailing_text: true,
            think_opened_by_prompt: false,
        }
    }

    /// Check `completion` against the template.
    pub fn check(&self, completion: &str) -> FormatScore {
        let mut rest = completion;
        for (index, section) in self.sections.iter().enumerate() {
            let open = format!("<{}>", section.tag);
            let close = format!("</{}>", section.tag);
            for tag in [&open, &close] {
                let expected = if index == 0 && self.think_opened_by_prompt && tag == &open {
                    0
                } else {
                    1
                };
                let found = completion.matches(tag.as_str()).count();
                if found != expected {
                    return FormatScore::fail(format!(
                        "{tag} appears {found} times, expected {expected}"
                    ));
                }
            }
            rest = rest.trim_start();
            if !(index == 0 && self.think_opened_by_prompt) {
                match rest.strip_prefix(open.as_str()) {
                    Some(after) => rest = after,
                    None => return FormatScore::fail(format!("expected {open} here")),
                }
            }
            let Some(end) = rest.find(close.as_str()) else {
                return FormatScore::fail(format!("{open} is not closed"));
            };
            if section.non_empty && rest[..end].trim().is_empty() {
                return FormatScore::fail(format!("{open} block is empty"));
            }
            rest = &rest[end + close.len()..];
        }
        let tail = rest.trim();
        match (self.trailing_text, tail.is_empty()) {
            (false, false) => FormatScore::fail("text after the last block"),
            (true, true) => FormatScore::fail("no text after the last block"),
            _ => FormatScore::pass(),
        }
    }
}

fn section(tag: &str) -> Section {
    Section {
        tag: tag.to_owned(),
        non_empty: true,
    }
}

/// Exactly `<think>…</think><answer>…</answer>`.
pub fn r1_zero_strict(completion: &str) -> FormatScore {
    Template::r1_zero().check(completion)
}

/// The four R1-Zero tags appear in order (anything may surround them).
pub fn r1_zero_soft(completion: &str) -> FormatScore {
    let mut rest = completion;
    for tag in ["<think>", "</think>", "<answer>", "</answer>"] {
        match rest.find(tag) {
            Some(i) => rest = &rest[i + tag.len()..],
            None => return FormatScore::fail(format!("{tag} missing or out of order")),
        }
    }
    FormatScore::pass()
}

/// 0.25 for each R1-Zero tag that appears exactly once.
pub fn tag_count(completion: &str) -> FormatScore {
    let tags = ["<think>", "</think>", "<answer>", "</answer>"];
    let good: Vec<&str> = tags
        .iter()
        .copied()
        .filter(|t| completion.matches(t).count() == 1)
        .collect();
    FormatScore {
        score: 0.25 * good.len() as f64,
        reason: format!("{} of 4 tags appear exactly once", good.len()),
    }
}

/// A non-empty reasoning block, then a non-empty summary.
pub fn r1_readable(completion: &str) -> FormatScore {
    Template::r1_readable().check(completion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_r1_zero_accepts_multiline_blocks_only_in_order() {
        assert_eq!(
            r1_zero_strict("<think>\na\nb\n</think>\n<answer>\n42\n</answer>").score,
            1.0
        );
        assert_eq!(
            r1_zero_strict("<think>a</think><answer>42</answer> extra").score,
            0.0
        );
        assert_eq!(
            r1_zero_strict("<answer>42</answer><think>a</think>").score,
            0.0
        );
        assert_eq!(
            r1_zero_strict("<think></think><answer>42</answer>").score,
            0.0
        );
        assert_eq!(
            r1_zero_strict("<think>a<think>b</think><answer>1</answer>").score,
            0.0
        );
    }

    #[test]
    fn soft_and_partial_credit() {
        assert_eq!(
            r1_zero_soft("hi <think>a</think> so <answer>1</answer> bye").score,
            1.0
        );
        assert_eq!(
            r1_zero_soft("<answer>1</answer><think>a</think>").score,
            0.0
        );
        assert_eq!(tag_count("<think>a</think> 1</answer>").score, 0.75);
        assert_eq!(tag_count("no tags").score, 0.0);
    }

    #[test]
    fn readable_and_injected_think() {
        assert_eq!(
            r1_readable("<think>work</think>\nThe answer is 4.").score,
            1.0
        );
        assert_eq!(r1_readable("<think>work</think>").score, 0.0);
        let template = Template {
            think_opened_by_prompt: true,
            ..Template::r1_zero()
        };
        assert_eq!(
            template.check("work\n</think>\n<answer>4</answer>").score,
            1.0
        );
        assert_eq!(
            template
                .check("<think>work</think><answer>4</answer>")
                .score,
            0.0
        );
    }
}
