//! Pure, fast checks for R1-style rewards: final-answer extraction and exact
//! math equivalence.
//!
//! ```
//! use verifiers::{verify, Config, Status};
//! let v = verify("\\frac12", "so the answer is \\boxed{0.5}", &Config::default());
//! assert_eq!(v.status, Status::Correct);
//! ```
//!
//! Everything is bounded (input size, nesting, number size, evaluation work),
//! free of global state, and `Send + Sync`: call it from any thread.

pub mod extract;
pub mod format;
mod gold;
pub mod language;
pub mod math;
mod verdict;

pub use extract::{Mode, Rule};
pub use gold::Gold;
pub use math::{CompareOptions, ParseLimits};
pub use verdict::{Status, Verdict};

use extract::ExtractOptions;
use math::ParseOptions;

/// Largest completion accepted (bytes); longer inputs get `BudgetExceeded`.
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Everything that changes a verdict: how the answer is found (`extract`), how two answers are
/// compared (`compare`: decimals, variable renaming, set/relation asymmetry) and parse bounds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Config {
    pub extract: ExtractOptions,
    pub compare: CompareOptions,
    pub limits: ParseLimits,
}

impl Config {
    /// Lenient extraction (anchors, math spans, numbers), for evaluation.
    pub fn lenient() -> Self {
        let mut c = Config::default();
        c.extract.mode = Mode::Lenient;
        c
    }

    pub(crate) fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            decimal_comma: self.extract.decimal_comma,
            limits: self.limits,
        }
    }
}

/// Checks `completion` against `gold`.
pub fn verify(gold: &str, completion: &str, config: &Config) -> Verdict {
    Gold::parse(gold, config).check(completion, config)
}

/// Extracts the answer a completion commits to (first candidate), if any.
pub fn extract_answer(
    completion: &str,
    config: &Config,
) -> Result<(String, Rule), extract::NoAnswer> {
    extract::candidates(completion, &config.extract).map(|mut c| {
        let first = c.remove(0);
        (first.text, first.rule)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn verifier_types_are_thread_safe() {
        assert_send_sync::<Config>();
        assert_send_sync::<Gold>();
        assert_send_sync::<Verdict>();
    }
}
