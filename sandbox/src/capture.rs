//! A guest's stderr, captured up to a cap and then counted, never refused.
//!
//! stdout is the answer: past its cap the guest's write fails and the test is an output-limit
//! verdict. stderr is diagnostics: a solution that logs a lot must not fail for it (judges
//! ignore stderr), nor may it fill the host's memory. So the first `cap` bytes are kept, the
//! rest is dropped and counted, and the report says where it was cut.

use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Bytes the guest may write in one go (WASI's `check-write` permit).
const WRITE_PERMIT: usize = 64 << 10;

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

/// A cloneable handle: the guest writes through one clone, the host reads through another.
#[derive(Clone)]
pub(crate) struct CappedPipe {
    cap: usize,
    inner: Arc<Mutex<Captured>>,
}

impl CappedPipe {
    pub(crate) fn new(cap: usize) -> CappedPipe {
        CappedPipe {
            cap,
            inner: Arc::default(),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = self
            .cap
            .saturating_sub(captured.kept.len())
            .min(bytes.len());
        captured.kept.extend_from_slice(&bytes[..room]);
        captured.dropped += (bytes.len() - room) as u64;
    }

    /// What was kept, and how many bytes were dropped after it.
    pub(crate) fn contents(&self) -> (Vec<u8>, u64) {
        let captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (captured.kept.clone(), captured.dropped)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

impl AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_rest() {
        let pipe = CappedPipe::new(5);
        let mut writer: Box<dyn OutputStream> = pipe.p2_stream();
        writer.write(Bytes::from_static(b"abc")).unwrap();
        writer.write(Bytes::from_static(b"defgh")).unwrap();
        assert_eq!(writer.check_write().unwrap(), WRITE_PERMIT);
        assert_eq!(pipe.contents(), (b"abcde".to_vec(), 3));
    }
}
