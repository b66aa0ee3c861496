//! The pipeline layer: whole jobs built from the training layer — one run end to end (resume
//! rules, the SFT then GRPO phases, the final model and curves), rejection sampling into a
//! dataset, evaluation (pass@1, cons@k, language consistency) and the R1 recipe.
//!
//! Invariant: it never imports `crate::serve`, never prints or draws (progress goes out as
//! [`progress::Event`]s; the binary renders them), and owns every configuration file's schema.

pub mod config;
pub mod eval;
pub mod progress;
pub mod recipe;
pub mod rejection;
pub mod runner;
