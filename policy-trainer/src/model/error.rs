use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a model could not be loaded, saved, tokenized or run. Messages name what failed; the cause
/// travels as the error's `source`.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The model's description is unusable (an unsupported architecture, a missing tokenizer).
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// The weights or tokens handed in do not fit (a missing tensor, an empty prompt).
    #[error("invalid model input: {0}")]
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
    /// A safetensors or GGUF file that cannot be read or written.
    #[error("{}: weights", path.display())]
    Weights {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
    #[error("{}: not a GGUF file", path.display())]
    NotGguf {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
    #[error("tokenizer: {context}")]
    Tokenizer {
        context: String,
        #[source]
        source: tokenizers::Error,
    },
    #[error("the device is unavailable ({hint})")]
    Device {
        hint: &'static str,
        #[source]
        source: candle_core::Error,
    },
    #[error("a tensor operation failed")]
    Tensor(#[from] candle_core::Error),
}

impl ModelError {
    pub fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn json(path: &Path, source: serde_json::Error) -> ModelError {
        ModelError::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn weights(path: &Path, source: candle_core::Error) -> ModelError {
        ModelError::Weights {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the caller's configuration (rather than the data or the machine) is at fault.
    pub fn is_config(&self) -> bool {
        matches!(self, ModelError::Config(_) | ModelError::Device { .. })
    }

    /// Whether the data handed in is at fault.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            ModelError::Input(_)
                | ModelError::Json { .. }
                | ModelError::NotGguf { .. }
                | ModelError::Tokenizer { .. }
        )
    }
}
