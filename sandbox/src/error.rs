use thiserror::Error;

/// Why the sandbox could not be set up or a problem could not be judged at all.
#[derive(Debug, Error)]
pub enum SandboxError {
    #[error("provisioning the Python runtime failed: {0}")]
    Provision(String),
    #[error("wasmtime: {0}")]
    Engine(String),
    #[error("cache I/O on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("unsupported language {0:?} (only python is judged)")]
    UnsupportedLanguage(String),
    #[error("the problem has no tests")]
    NoTests,
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
}

/// Coarse classes of [`SandboxError`], for callers that map errors to exit codes or HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The runtime could not be built, fetched or loaded.
    Setup,
    /// The input problem is not judgeable.
    InvalidInput,
}

impl SandboxError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SandboxError::Provision(_) | SandboxError::Engine(_) | SandboxError::Io { .. } => {
                ErrorKind::Setup
            }
            SandboxError::UnsupportedLanguage(_)
            | SandboxError::NoTests
            | SandboxError::InvalidLimits(_) => ErrorKind::InvalidInput,
        }
    }

    pub(crate) fn engine(err: impl std::fmt::Display) -> SandboxError {
        SandboxError::Engine(format!("{err:#}"))
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> SandboxError {
        SandboxError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
