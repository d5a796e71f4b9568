//! The WASI clocks of a taped invocation: the host's clocks, each reading recorded; or the
//! recorded readings played back in order (then the last one again, noted).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock, MonotonicClock, WallClock};

use super::{MAX_CLOCK_READINGS, Player, Recorder};

/// The host's wall clock, recorded.
pub(super) struct RecordingWallClock(pub Arc<Recorder>);

impl HostWallClock for RecordingWallClock {
    fn resolution(&self) -> Duration {
        WallClock.resolution()
    }

    fn now(&self) -> Duration {
        let now = WallClock.now();
        let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.0.record(
            || format!("the wall clock was read over {MAX_CLOCK_READINGS} times"),
            |state| {
                state.inputs.wall_clock.push(nanos);
                state.inputs.wall_clock.len() <= MAX_CLOCK_READINGS
            },
        );
        now
    }
}

/// The host's monotonic clock, recorded.
pub(super) struct RecordingMonotonicClock {
    recorder: Arc<Recorder>,
    clock: MonotonicClock,
}

impl RecordingMonotonicClock {
    pub fn new(recorder: Arc<Recorder>) -> Self {
        RecordingMonotonicClock {
            recorder,
            clock: MonotonicClock::new(),
        }
    }
}

impl HostMonotonicClock for RecordingMonotonicClock {
    fn resolution(&self) -> u64 {
        self.clock.resolution()
    }

    fn now(&self) -> u64 {
        let now = self.clock.now();
        self.recorder.record(
            || format!("the monotonic clock was read over {MAX_CLOCK_READINGS} times"),
            |state| {
                state.inputs.monotonic_clock.push(now);
                state.inputs.monotonic_clock.len() <= MAX_CLOCK_READINGS
            },
        );
        now
    }
}

/// Nanoseconds since the guest first read a clock past its recorded readings (`since`
/// notes when): time goes on from the last reading, so a guest waiting for it is not
/// stuck until its deadline.
fn past_end(since: &mut Option<Instant>) -> u64 {
    let started = *since.get_or_insert_with(Instant::now);
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The recorded wall clock readings, played back.
pub(super) struct PlayingWallClock(pub Arc<Player>);

impl HostWallClock for PlayingWallClock {
    fn resolution(&self) -> Duration {
        WallClock.resolution()
    }

    fn now(&self) -> Duration {
        let player = &self.0;
        let readings = &player.inputs.wall_clock;
        let mut cursor = player.lock();
        let nanos = match readings.get(cursor.wall) {
            Some(&reading) => {
                cursor.wall += 1;
                reading
            }
            None => {
                cursor.extra_wall += 1;
                let last = readings.last().copied().unwrap_or(player.fallback_wall);
                last.saturating_add(past_end(&mut cursor.wall_past_end))
            }
        };
        Duration::from_nanos(nanos)
    }
}

/// The recorded monotonic clock readings, played back.
pub(super) struct PlayingMonotonicClock(pub Arc<Player>);

impl HostMonotonicClock for PlayingMonotonicClock {
    fn resolution(&self) -> u64 {
        MonotonicClock::new().resolution()
    }

    fn now(&self) -> u64 {
        let player = &self.0;
        let readings = &player.inputs.monotonic_clock;
        let mut cursor = player.lock();
        match readings.get(cursor.monotonic) {
            Some(&reading) => {
                cursor.monotonic += 1;
                reading
            }
            None => {
                cursor.extra_monotonic += 1;
                let last = readings.last().copied().unwrap_or(0);
                last.saturating_add(past_end(&mut cursor.monotonic_past_end))
            }
        }
    }
}
