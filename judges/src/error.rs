use thiserror::Error;

/// Why a reward or the bus could not produce a value. Where a lower layer failed (TOML, the
/// sandbox, the judge's HTTP client) its error is kept as the [`source`](std::error::Error::source).
#[derive(Debug, Error)]
pub enum RewardError {
    /// The configuration parsed but is not valid (duplicate names, bad weights, missing parts).
    #[error("invalid bus configuration: {0}")]
    Config(String),
    /// The configuration is not valid TOML or does not fit the schema.
    #[error("invalid bus configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// The sample cannot be scored by this reward (the caller's input).
    #[error("invalid input for this reward: {0}")]
    Input(String),
    /// The code sandbox refused the problem ([`sandbox::SandboxError::is_setup`] is false: bad
    /// input) or could not run at all (true: a server-side fault).
    #[error("code sandbox: {0}")]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("no result within {0} ms")]
    Timeout(u64),
    #[error("the reward panicked")]
    Panicked,
    /// A model behind the reward (the generative judge) answered, but not usably.
    #[error("judge call failed: {0}")]
    Upstream(String),
    /// The judge server could not be reached (connection, timeout, unreadable body).
    #[error(
        "judge call failed after {attempts} attempt{}: {}: {source}",
        if *.attempts == 1 { "" } else { "s" },
        transport_failure(.source)
    )]
    Transport {
        attempts: u32,
        source: reqwest::Error,
    },
    /// The judge's HTTP client could not be built.
    #[error("judge http client: {0}")]
    Client(#[source] reqwest::Error),
}

fn transport_failure(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_decode() {
        "the reply is not JSON"
    } else {
        "transport error"
    }
}

/// Coarse classes of [`RewardError`] (for status codes and exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration is wrong (fix the TOML).
    Config,
    /// The sample is wrong (a client error: 4xx).
    Input,
    /// Something the server needs could not be set up (the sandbox, an HTTP client: 5xx).
    Setup,
    /// A reward failed while running: timeout, panic, judge server (5xx).
    Runtime,
}

impl RewardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RewardError::Config(_) | RewardError::Toml(_) => ErrorKind::Config,
            RewardError::Input(_) => ErrorKind::Input,
            RewardError::Sandbox(err) if err.is_setup() => ErrorKind::Setup,
            RewardError::Sandbox(_) => ErrorKind::Input,
            RewardError::Client(_) => ErrorKind::Setup,
            RewardError::Timeout(_)
            | RewardError::Panicked
            | RewardError::Upstream(_)
            | RewardError::Transport { .. } => ErrorKind::Runtime,
        }
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_are_kept_and_classed() {
        let toml = toml::from_str::<toml::Value>("= nope").unwrap_err();
        let err = RewardError::from(toml);
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.source().is_some(), "the TOML error is the source");

        let setup = RewardError::from(sandbox::SandboxError::Provision("no zig".into()));
        assert_eq!(setup.kind(), ErrorKind::Setup);
        assert!(setup.to_string().contains("no zig"), "{setup}");
        assert!(setup.source().is_some());
        let bad = RewardError::from(sandbox::SandboxError::NoTests);
        assert_eq!(bad.kind(), ErrorKind::Input);
    }
}
