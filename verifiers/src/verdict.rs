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

/// Why a completion was (not) judged correct. Serialised with a derived `correct` beside
/// `status` (what `r1-check --json` and the reward breakdowns show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
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

impl Verdict {
    pub fn is_correct(&self) -> bool {
        self.status == Status::Correct
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Verdict", 7)?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("correct", &self.is_correct())?;
        out.serialize_field("reason", &self.reason)?;
        out.serialize_field("extracted", &self.extracted)?;
        out.serialize_field("rule", &self.rule)?;
        out.serialize_field("gold_canonical", &self.gold_canonical)?;
        out.serialize_field("pred_canonical", &self.pred_canonical)?;
        out.end()
    }
}
