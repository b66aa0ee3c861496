//! [`Gold`]: a reference answer parsed once, then checked against many completions.

use crate::extract::{self, Candidate};
use crate::math::{self, compare, parse_answer, Comparison, Expr, ParseError};
use crate::{Config, Status, Verdict, MAX_INPUT_BYTES};

/// A gold answer parsed once, to check many completions against it.
#[derive(Clone, Debug)]
pub struct Gold {
    /// `Err` keeps why the gold could not be parsed: such a gold still
    /// matches a completion whose answer is the identical text.
    expr: Result<Expr, Verdict>,
    /// Normalised text, for the identical-answer fast path.
    key: String,
    canonical: Option<String>,
}

impl Gold {
    /// Parses a reference answer (bare, delimited, boxed, or a worked solution).
    pub fn parse(gold: &str, config: &Config) -> Gold {
        if gold.len() > MAX_INPUT_BYTES {
            let v = Verdict::new(Status::BudgetExceeded, "gold answer too long");
            return Gold::new(Err(v), String::new());
        }
        let mut first_error: Option<ParseError> = None;
        let mut first_text: Option<String> = None;
        for c in extract::gold_candidates(gold, &config.extract) {
            match parse_answer(&c.text, &config.parse_options()) {
                Ok(expr) => return Gold::new(Ok(expr), c.text),
                Err(e) => {
                    first_error.get_or_insert(e);
                    first_text.get_or_insert(c.text);
                }
            }
        }
        let status = if first_error.as_ref().is_some_and(ParseError::is_budget) {
            Status::BudgetExceeded
        } else {
            Status::GoldUnparseable
        };
        let why = first_error.map_or_else(|| "nothing to parse".to_string(), |e| e.to_string());
        Gold::new(
            Err(Verdict::new(status, format!("gold answer: {why}"))),
            first_text.unwrap_or_default(),
        )
    }

    fn new(expr: Result<Expr, Verdict>, text: String) -> Gold {
        let canonical = expr.as_ref().ok().map(Expr::to_string);
        Gold {
            expr,
            key: text_key(&text),
            canonical,
        }
    }

    /// The parsed form, as reported in verdicts.
    pub fn canonical(&self) -> Option<&str> {
        self.canonical.as_deref()
    }

    /// Checks one completion.
    pub fn check(&self, completion: &str, config: &Config) -> Verdict {
        if completion.len() > MAX_INPUT_BYTES {
            return Verdict::new(Status::BudgetExceeded, "completion too long").with_gold(self);
        }
        let candidates = match extract::candidates(completion, &config.extract) {
            Ok(c) => c,
            Err(why) => return Verdict::new(Status::NoAnswer, why.to_string()).with_gold(self),
        };
        let mut unparsed: Option<(Candidate, ParseError)> = None;
        for c in candidates {
            if !self.key.is_empty() && self.key == text_key(&c.text) {
                let expr = self.expr.as_ref().ok();
                return Verdict::new(Status::Correct, "identical to the gold answer")
                    .with_gold(self)
                    .with_pred(&c, expr);
            }
            let gold = match &self.expr {
                Ok(g) => g,
                Err(v) => return v.clone().with_pred(&c, None),
            };
            let expr = match parse_answer(&c.text, &config.parse_options()) {
                Ok(e) => e,
                Err(e) => {
                    if unparsed.is_none() {
                        unparsed = Some((c, e));
                    }
                    continue;
                }
            };
            let verdict = match compare(gold, &expr, &config.compare) {
                Comparison::Equal => Verdict::new(Status::Correct, "equivalent to the gold answer"),
                Comparison::NotEqual => {
                    Verdict::new(Status::Incorrect, "not equivalent to the gold answer")
                }
                Comparison::Budget => Verdict::new(
                    Status::BudgetExceeded,
                    "a value exceeds the evaluation budget",
                ),
            };
            return verdict.with_gold(self).with_pred(&c, Some(&expr));
        }
        match unparsed {
            Some((c, e)) => {
                let status = if e.is_budget() {
                    Status::BudgetExceeded
                } else {
                    Status::PredUnparseable
                };
                Verdict::new(status, format!("answer {:?}: {e}", c.text))
                    .with_gold(self)
                    .with_pred(&c, None)
            }
            None => Verdict::new(Status::NoAnswer, "no answer found").with_gold(self),
        }
    }
}

fn text_key(s: &str) -> String {
    math::normalize::normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}
