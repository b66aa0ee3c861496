use std::error::Error as StdError;
use std::path::PathBuf;
use thiserror::Error;

/// A cause carried by [`SandboxError`] (wasmtime's errors convert into it).
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// Why the sandbox could not be set up or a problem could not be judged at all.
///
/// Two families, told apart by [`SandboxError::is_setup`]: the sandbox itself failed
/// (provisioning, wasmtime, the cache, worker threads: a server-side fault), or the problem is
/// not judgeable (language, tests, limits: the caller's input).
#[derive(Debug, Error)]
pub enum SandboxError {
    /// A provisioning step failed without an underlying error value (a build script's exit
    /// status, a missing output, a panicked step).
    #[error("provisioning the Python runtime failed: {0}")]
    Provision(String),
    /// A process or thread needed for provisioning could not be started.
    #[error("provisioning the Python runtime failed: cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
    /// wasmtime refused to build the engine, compile, link or instantiate the guest.
    #[error("wasmtime: {}", chain(.0.as_ref()))]
    Engine(#[source] Cause),
    /// The guest's `r1_init` failed while the snapshot was taken.
    #[error("r1_init failed in the guest: {}", chain(.0.as_ref()))]
    GuestInit(#[source] Cause),
    #[error("cannot build the worker thread pool: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    #[error("cache I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsupported language {0:?} (only python is judged)")]
    UnsupportedLanguage(String),
    #[error("the problem has no tests")]
    NoTests,
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
    #[error("invalid design problem: {0}")]
    InvalidDesign(String),
}

impl SandboxError {
    /// Whether the sandbox itself failed (a server-side fault), rather than the problem being
    /// unjudgeable (the caller's input).
    pub fn is_setup(&self) -> bool {
        match self {
            SandboxError::Provision(_)
            | SandboxError::Spawn { .. }
            | SandboxError::Engine(_)
            | SandboxError::GuestInit(_)
            | SandboxError::ThreadPool(_)
            | SandboxError::Io { .. } => true,
            SandboxError::UnsupportedLanguage(_)
            | SandboxError::NoTests
            | SandboxError::InvalidLimits(_)
            | SandboxError::InvalidDesign(_) => false,
        }
    }

    pub(crate) fn engine(err: wasmtime::Error) -> SandboxError {
        SandboxError::Engine(err.into())
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> SandboxError {
        SandboxError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// An error and its sources, `outer: inner: …` (wasmtime's messages are layered contexts).
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_up_failures_are_told_apart_from_bad_problems() {
        let io = SandboxError::io(
            std::path::Path::new("/cache/x"),
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        assert!(io.is_setup());
        assert_eq!(io.to_string(), "cache I/O on /cache/x: denied");
        assert!(io.source().is_some(), "the I/O error is kept as the source");
        let engine = SandboxError::engine(wasmtime::Error::msg("inner").context("outer"));
        assert!(engine.is_setup());
        assert_eq!(engine.to_string(), "wasmtime: outer: inner");
        assert!(engine.source().is_some());
        assert!(!SandboxError::NoTests.is_setup());
        assert!(!SandboxError::UnsupportedLanguage("c".into()).is_setup());
        assert!(!SandboxError::InvalidLimits("time".into()).is_setup());
    }
}
