//! The model layer: the decoder, weights in and out (Hugging Face folders, GGUF files), the
//! tokenizer and chat templates, and generation.
//!
//! Invariant: it knows nothing of rewards, runs, training, tokio or HTTP — it never imports
//! `crate::train`, `crate::pipeline`, `crate::serve`, `judges`, `sandbox`, `tokio` or `axum`
//! (`tests/layers.rs` checks). Everything above may use it.

pub mod decoder;
pub mod engine;
pub mod eos;
mod error;
mod frozen;
pub mod logprobs;
mod sampler;
pub mod sampling;
pub mod source;
pub mod template;
pub mod tokenizer;
pub mod weights;

pub use decoder::{Decoder, ModelConfig};
pub use error::ModelError;
pub use source::{DeviceKind, LoadedModel, ModelSource, SourceKind, ToyShape, WeightDType};
pub use template::ChatTemplate;
pub use tokenizer::Tokenizer;
