use thiserror::Error;

/// Why training, generation or loading failed.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// Coarse classes of [`TrainError`] (for exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Config,
    Input,
    Runtime,
}

impl TrainError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TrainError::Config(_) => ErrorKind::Config,
            TrainError::Input(_) => ErrorKind::Input,
            TrainError::Tensor(_) => ErrorKind::Runtime,
        }
    }
}
