//! Criterion benches live in `benches/`; see README's performance section.
