//! The reward bus: composes math accuracy (`verifiers`), code accuracy (`sandbox`), format,
//! language consistency, length shaping and a generative LLM judge into one weighted, routed, concurrent reward with a
//! named breakdown per sample.
//!
//! ```no_run
//! # async fn demo() -> Result<(), judges::RewardError> {
//! use judges::{Bus, BusConfig, Sample};
//! let bus = std::sync::Arc::new(Bus::new(&BusConfig::embedded_default(), None)?);
//! let sample = Sample { completion: "<think>1+1</think><answer>\\boxed{2}</answer>".into(),
//!     answer: Some("2".into()), task: Some("math".into()), ..Default::default() };
//! let rewarded = bus.reward(&sample).await;
//! assert_eq!(rewarded.total, 2.0); // accuracy 1 + format 1 (no words for the language reward)
//! # Ok(()) }
//! ```

mod bus;
pub mod config;
mod error;
pub mod generative;
pub mod http;
mod openrlhf;
pub mod reward;

pub use bus::{Bus, Component, Outcome, Rewarded};
pub use config::{BusConfig, RewardKind, RewardSpec, DEFAULT_CONFIG};
pub use error::{ErrorKind, RewardError};
pub use reward::{Reward, Sample, Score};
