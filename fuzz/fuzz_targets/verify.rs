//! Any gold/completion pair yields a verdict without panicking, in both
//! extraction modes. The input is split at the first NUL byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verifiers::{verify, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (gold, pred) = text.split_once('\0').unwrap_or((text, text));
    verify(gold, pred, &Config::default());
    verify(gold, pred, &Config::lenient());
});
