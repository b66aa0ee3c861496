use crate::model::ModelError;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why training, generation or loading failed. Messages name what failed; the cause travels as
/// the error's `source` (a binary prints the whole chain, [`TrainError::report`] does too).
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid configuration")]
    Toml(#[from] toml::de::Error),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid JSON", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}:{line}: not a valid record", path.display())]
    JsonLine {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{}: drawing the curves", path.display())]
    Plot {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The run folder's state forbids the request (checkpoints to resume or not, a changed
    /// configuration).
    #[error("{0}")]
    Conflict(String),
    #[error("starting the reward runtime")]
    RewardRuntime(#[source] std::io::Error),
    #[error("the reward bus failed")]
    Reward(#[from] judges::RewardError),
    #[error("the code sandbox failed")]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("a tensor operation failed")]
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
            TrainError::Config(_) | TrainError::Toml(_) => ErrorKind::Config,
            TrainError::Model(e) if e.is_config() => ErrorKind::Config,
            TrainError::Input(_) | TrainError::Json { .. } | TrainError::JsonLine { .. } => {
                ErrorKind::Input
            }
            TrainError::Model(e) if e.is_input() => ErrorKind::Input,
            TrainError::Model(ModelError::Io { .. }) => ErrorKind::Io,
            TrainError::Io { .. } | TrainError::Plot { .. } => ErrorKind::Io,
            TrainError::Reward(judges::RewardError::Config { .. }) => ErrorKind::Config,
            TrainError::Conflict(_) => ErrorKind::Conflict,
            TrainError::Model(_)
            | TrainError::RewardRuntime(_)
            | TrainError::Reward(_)
            | TrainError::Sandbox(_)
            | TrainError::Tensor(_) => ErrorKind::Runtime,
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> TrainError {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A JSON file at `path` that does not parse as expected.
    pub fn json(path: &Path, source: serde_json::Error) -> TrainError {
        TrainError::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message and every cause below it, `: `-separated (for places that keep only text,
    /// such as an HTTP error body).
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(&format!(": {error}"));
            cause = error.source();
        }
        text
    }
}
