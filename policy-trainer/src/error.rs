use thiserror::Error;

/// Why training, generation or loading failed.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("{0}")]
    Io(String),
    /// The run folder's state forbids the request (checkpoints to resume or not, a changed
    /// configuration).
    #[error("{0}")]
    Conflict(String),
    #[error("reward: {0}")]
    Reward(String),
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// Coarse classes of [`TrainError`] (for exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Config,
    Input,
    Io,
    Conflict,
    Runtime,
}

impl TrainError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TrainError::Config(_) => ErrorKind::Config,
            TrainError::Input(_) => ErrorKind::Input,
            TrainError::Io(_) => ErrorKind::Io,
            TrainError::Conflict(_) => ErrorKind::Conflict,
            TrainError::Reward(_) | TrainError::Tensor(_) => ErrorKind::Runtime,
        }
    }
}
