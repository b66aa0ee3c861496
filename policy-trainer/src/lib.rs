//! The embedded trainer, in layers that depend one way: [`model`] (decoder, weights, tokenizer,
//! chat templates, generation) ← [`train`] (losses, optimizer, run folder, rewards seam, SFT and
//! GRPO) ← [`pipeline`] (runs, rejection sampling, evaluation, the recipe) ← [`serve`] (the
//! OpenAI-compatible endpoint). Each layer's invariant is at the top of its module.

pub mod config_value;
mod error;
pub mod model;
pub mod pipeline;
pub mod serve;
pub mod train;

pub use error::{ErrorKind, TrainError};
