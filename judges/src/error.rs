use thiserror::Error;

/// Why a reward or the bus could not produce a value.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum RewardError {
    #[error("invalid bus configuration: {0}")]
    Config(String),
    #[error("invalid input for this reward: {0}")]
    Input(String),
    #[error("no result within {0} ms")]
    Timeout(u64),
    #[error("the reward panicked")]
    Panicked,
    /// A model behind the reward (the generative judge) failed to answer usably.
    #[error("judge call failed: {0}")]
    Upstream(String),
}

/// Coarse classes of [`RewardError`] (for status codes and exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Config,
    Input,
    Runtime,
}

impl RewardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RewardError::Config(_) => ErrorKind::Config,
            RewardError::Input(_) => ErrorKind::Input,
            RewardError::Timeout(_) | RewardError::Panicked | RewardError::Upstream(_) => {
                ErrorKind::Runtime
            }
        }
    }
}
