//! Guest sleeps and polls, bounded by the run's deadline.
//!
//! `time.sleep`, `select.select` and friends reach the host as WASI `poll_oneoff`. wasmtime-wasi
//! blocks the calling thread inside that host call, where the epoch deadline cannot interrupt
//! it: a solution sleeping 30 s held a judge worker 30 s. This module shadows `poll_oneoff`:
//! a wait that ends before the deadline really sleeps (the guest sees time pass as it expects);
//! a wait that would pass the deadline is a time-limit trap at once, so no worker is held past
//! any limit and none is held idle at all for a sleep that cannot succeed. Descriptors are
//! in-memory pipes and preopened files, always ready, so a poll naming one never waits.

use std::time::{Duration, Instant, SystemTime};
use wasmtime::{Caller, Trap};
use wasmtime_wasi::HostMonotonicClock;

/// WASI errno values this module returns.
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
/// Sizes of WASI preview-1 `subscription` and `event` records.
const SUBSCRIPTION_BYTES: usize = 48;
const EVENT_BYTES: usize = 32;
/// `eventtype` tags and the absolute-time flag of a clock subscription.
const EVENT_CLOCK: u8 = 0;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_ABSTIME: u16 = 1;
/// More subscriptions than any real program polls at once.
const MAX_SUBSCRIPTIONS: u32 = 4096;

/// When a run must stop, and the origin of the monotonic clock its guest reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    origin: Instant,
    at: Instant,
}

impl Deadline {
    pub(crate) fn after(budget: Duration) -> Deadline {
        let origin = Instant::now();
        Deadline {
            origin,
            at: origin + budget,
        }
    }

    /// The guest's monotonic clock, counting from this run's start.
    pub(crate) fn clock(&self) -> GuestClock {
        GuestClock(self.origin)
    }
}

/// A monotonic clock whose zero the host knows, so absolute guest waits can be bounded.
pub(crate) struct GuestClock(Instant);

impl HostMonotonicClock for GuestClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// One decoded subscription: a clock wake-up instant, or a descriptor (ready at once).
enum Subscription {
    Clock { userdata: u64, wake: Instant },
    Descriptor { userdata: u64, kind: u8 },
}

impl Subscription {
    fn decode(bytes: &[u8], deadline: &Deadline) -> Subscription {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
        let userdata = u64_at(0);
        let kind = bytes[8];
        if kind != EVENT_CLOCK {
            return Subscription::Descriptor { userdata, kind };
        }
        let clock = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default());
        let timeout = Duration::from_nanos(u64_at(24));
        let flags = u16::from_le_bytes(bytes[40..42].try_into().unwrap_or_default());
        let wake = if flags & CLOCK_ABSTIME == 0 {
            Instant::now().checked_add(timeout)
        } else if clock == CLOCK_REALTIME {
            let since_epoch = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            Instant::now().checked_add(timeout.saturating_sub(since_epoch))
        } else {
            deadline.origin.checked_add(timeout)
        };
        Subscription::Clock {
            userdata,
            // A wake-up too far to represent is past any deadline.
            wake: wake.unwrap_or(deadline.at + Duration::from_secs(1)),
        }
    }

    fn event(&self) -> [u8; EVENT_BYTES] {
        let (userdata, kind) = match *self {
            Subscription::Clock { userdata, .. } => (userdata, EVENT_CLOCK),
            Subscription::Descriptor { userdata, kind } => (userdata, kind),
        };
        let mut event = [0u8; EVENT_BYTES];
        event[..8].copy_from_slice(&userdata.to_le_bytes());
        event[10] = kind;
        if kind != EVENT_CLOCK {
            // `nbytes`: at least one byte can be read or written without blocking.
            event[16..24].copy_from_slice(&1u64.to_le_bytes());
        }
        event
    }
}

/// What a poll resolves to before anything is written back.
enum Wait {
    /// Descriptors are ready now: report those.
    Ready(Vec<usize>),
    /// Only clocks: sleep until the earliest, then report every clock due by then.
    Until(Instant),
}

fn plan(subscriptions: &[Subscription]) -> Wait {
    let ready: Vec<usize> = subscriptions
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Subscription::Descriptor { .. }))
        .map(|(i, _)| i)
        .collect();
    if !ready.is_empty() {
        return Wait::Ready(ready);
    }
    let earliest = subscriptions
        .iter()
        .filter_map(|s| match s {
            Subscription::Clock { wake, .. } => Some(*wake),
            Subscription::Descriptor { .. } => None,
        })
        .min()
        .unwrap_or_else(Instant::now);
    Wait::Until(earliest)
}

/// Access to the deadline from the store's data.
pub(crate) trait HasDeadline {
    fn deadline(&self) -> Deadline;
}

/// `wasi_snapshot_preview1.poll_oneoff(in, out, nsubscriptions, nevents_out) -> errno`.
pub(crate) fn poll_oneoff<T: HasDeadline>(
    mut caller: Caller<'_, T>,
    subscriptions_ptr: i32,
    events_ptr: i32,
    count: i32,
    nevents_ptr: i32,
) -> wasmtime::Result<i32> {
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return Ok(ERRNO_FAULT);
    };
    let count = count as u32;
    if count == 0 || count > MAX_SUBSCRIPTIONS {
        return Ok(ERRNO_INVAL);
    }
    let deadline = caller.data().deadline();
    let mut raw = vec![0u8; count as usize * SUBSCRIPTION_BYTES];
    if memory
        .read(&caller, subscriptions_ptr as u32 as usize, &mut raw)
        .is_err()
    {
        return Ok(ERRNO_FAULT);
    }
    let subscriptions: Vec<Subscription> = raw
        .chunks_exact(SUBSCRIPTION_BYTES)
        .map(|bytes| Subscription::decode(bytes, &deadline))
        .collect();
    let due: Vec<usize> = match plan(&subscriptions) {
        Wait::Ready(ready) => ready,
        Wait::Until(wake) if wake > deadline.at => return Err(Trap::Interrupt.into()),
        Wait::Until(wake) => {
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
            (0..subscriptions.len())
                .filter(|&i| matches!(subscriptions[i], Subscription::Clock { wake: w, .. } if w <= wake))
                .collect()
        }
    };
    let mut events = Vec::with_capacity(due.len() * EVENT_BYTES);
    for &i in &due {
        events.extend_from_slice(&subscriptions[i].event());
    }
    let written = memory
        .write(&mut caller, events_ptr as u32 as usize, &events)
        .and_then(|()| {
            memory.write(
                &mut caller,
                nevents_ptr as u32 as usize,
                &(due.len() as u32).to_le_bytes(),
            )
        });
    Ok(if written.is_ok() {
        ERRNO_SUCCESS
    } else {
        ERRNO_FAULT
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_subscription(userdata: u64, timeout_ns: u64, flags: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; SUBSCRIPTION_BYTES];
        bytes[..8].copy_from_slice(&userdata.to_le_bytes());
        bytes[16..20].copy_from_slice(&1u32.to_le_bytes());
        bytes[24..32].copy_from_slice(&timeout_ns.to_le_bytes());
        bytes[40..42].copy_from_slice(&flags.to_le_bytes());
        bytes
    }

    #[test]
    fn relative_and_absolute_waits_resolve_to_instants_on_the_guest_clock() {
        let deadline = Deadline::after(Duration::from_secs(1));
        let relative = Subscription::decode(&clock_subscription(7, 5_000_000, 0), &deadline);
        let absolute =
            Subscription::decode(&clock_subscription(8, 5_000_000, CLOCK_ABSTIME), &deadline);
        let Subscription::Clock {
            wake: rel,
            userdata: 7,
        } = relative
        else {
            panic!("a relative clock subscription")
        };
        let Subscription::Clock {
            wake: abs,
            userdata: 8,
        } = absolute
        else {
            panic!("an absolute clock subscription")
        };
        assert_eq!(abs, deadline.origin + Duration::from_millis(5));
        assert!(rel >= abs && rel < deadline.at);
    }

    #[test]
    fn a_descriptor_makes_the_poll_ready_without_waiting_and_clocks_wait_for_the_earliest() {
        let deadline = Deadline::after(Duration::from_secs(1));
        let mut descriptor = clock_subscription(1, 0, 0);
        descriptor[8] = 1;
        let subscriptions = vec![
            Subscription::decode(&clock_subscription(0, u64::MAX, 0), &deadline),
            Subscription::decode(&descriptor, &deadline),
        ];
        assert!(matches!(plan(&subscriptions), Wait::Ready(ref r) if r == &[1]));
        let clocks = vec![
            Subscription::decode(&clock_subscription(0, 9_000_000, CLOCK_ABSTIME), &deadline),
            Subscription::decode(&clock_subscription(1, 3_000_000, CLOCK_ABSTIME), &deadline),
        ];
        let Wait::Until(wake) = plan(&clocks) else {
            panic!("clocks only")
        };
        assert_eq!(wake, deadline.origin + Duration::from_millis(3));
        // An overflowing timeout lands past the deadline instead of wrapping.
        let Subscription::Clock { wake, .. } =
            Subscription::decode(&clock_subscription(0, u64::MAX, 0), &deadline)
        else {
            panic!("a clock")
        };
        assert!(wake > deadline.at);
    }
}
