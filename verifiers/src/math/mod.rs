//! Math answers: normalisation, parsing, evaluation and comparison.

pub mod compare;
pub mod eval;
pub mod expr;
pub mod normalize;
pub mod parse;
mod words;

pub use compare::{compare, CompareOptions, Comparison};
pub use expr::Expr;
pub use parse::{parse, ParseError, ParseLimits, ParseOptions};

/// Normalises and parses one answer span.
pub fn parse_answer(text: &str, options: &ParseOptions) -> Result<Expr, ParseError> {
    if text.len() > options.limits.max_chars * 4 {
        return Err(ParseError::TooLong(options.limits.max_chars));
    }
    parse(&normalize::normalize(text), options)
}
