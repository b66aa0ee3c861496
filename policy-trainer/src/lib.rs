//! The embedded trainer: a trainable decoder in candle, its losses (SFT, GRPO and variants),
//! and — fed in-process by the `judges` reward bus — the training loops.

mod error;
pub mod loss;
pub mod model;
pub mod sample;

pub use error::{ErrorKind, TrainError};
pub use model::{Decoder, KvCache, ModelConfig};
