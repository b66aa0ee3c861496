//! The training layer: the policy being trained, losses, the optimizer, training data, the run
//! folder with checkpoints, metrics and curves, rollouts and the reward seam ([`reward::Rewarder`]
//! and the bus adapter), the local LLM judge, and the SFT and GRPO loops over one [`session`].
//!
//! Invariant: it never imports `crate::pipeline` or `crate::serve`, never prints or draws
//! progress (loops report each step through the session's callback), and never parses a
//! configuration file — sections arrive as typed values.

pub mod data;
pub mod grpo;
pub mod llm_judge;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod plot;
pub mod policy;
pub mod reward;
pub mod rollout;
pub mod run_dir;
pub mod session;
pub mod sft;
