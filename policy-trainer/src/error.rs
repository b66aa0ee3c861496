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
    Runtime,
}

impl TrainError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TrainError::Config(_) => ErrorKind::Config,
            TrainError::Input(_) => ErrorKind::Input,
            TrainError::Io(_) => ErrorKind::Io,
            TrainError::Reward(_) | TrainError::Tensor(_) => ErrorKind::Runtime,
        }
    }
}
