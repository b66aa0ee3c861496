//! The result of a check: a status, a reason, and what was compared.

use crate::extract::{Candidate, Rule};
use crate::math::Expr;
use crate::Gold;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Correct,
    Incorrect,
    /// The completion commits to no answer (or to several).
    NoAnswer,
    GoldUnparseable,
    PredUnparseable,
    /// An input or value exceeded a work bound; no verdict on equivalence.
    BudgetExceeded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Correct => "correct",
            Status::Incorrect => "incorrect",
            Status::NoAnswer => "no_answer",
            Status::GoldUnparseable => "gold_unparseable",
            Status::PredUnparseable => "pred_unparseable",
            Status::BudgetExceeded => "budget_exceeded",
        }
    }
}

/// Why a completion was (not) judged correct.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub status: Status,
    /// `status == Status::Correct`, set by [`Verdict::new`]. Kept as a field because
    /// policy-trainer reads it and `r1-check`'s JSON has it; prefer `status`.
    pub correct: bool,
    pub reason: String,
    /// The answer text taken from the completion.
    pub extracted: Option<String>,
    /// Which extraction rule found it.
    pub rule: Option<Rule>,
    pub gold_canonical: Option<String>,
    pub pred_canonical: Option<String>,
}

impl Verdict {
    pub fn new(status: Status, reason: impl Into<String>) -> Self {
        Verdict {
            status,
            correct: status == Status::Correct,
            reason: reason.into(),
            extracted: None,
            rule: None,
            gold_canonical: None,
            pred_canonical: None,
        }
    }

    pub(crate) fn with_gold(mut self, gold: &Gold) -> Self {
        self.gold_canonical = gold.canonical().map(str::to_string);
        self
    }

    pub(crate) fn with_pred(mut self, c: &Candidate, expr: Option<&Expr>) -> Self {
        self.extracted = Some(c.text.clone());
        self.rule = Some(c.rule);
        self.pred_canonical = expr.map(Expr::to_string);
        self
    }
}
