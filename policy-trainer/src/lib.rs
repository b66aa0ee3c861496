//! The embedded trainer: a trainable decoder in candle, its losses (SFT, GRPO and variants),
//! and — fed in-process by the `judges` reward bus — the training loops.

pub mod config;
pub mod data;
mod error;
pub mod eval;
pub mod grpo;
pub mod judge;
pub mod loss;
pub mod model;
pub mod optim;
pub mod recipe;
pub mod rejection;
pub mod run;
pub mod runner;
pub mod sample;
pub mod serve;
pub mod sft;
pub mod text;
pub mod weights;

pub use error::{ErrorKind, TrainError};
pub use model::{Decoder, KvCache, ModelConfig};
