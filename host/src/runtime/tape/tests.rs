//! Unit tests of the tape: inputs played back in order, and invocations too large to record.

use rand_core::Rng;
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock};

use super::*;

#[test]
fn recorded_inputs_play_back_in_order_and_reads_past_them_are_noted() {
    let recorder = Recorder::new(Arc::from([]));
    let wall = clocks::RecordingWallClock(recorder.clone());
    let monotonic = clocks::RecordingMonotonicClock::new(recorder.clone());
    let mut random = random::TapedRng::new(recorder.clone(), false);
    let readings = (wall.now(), monotonic.now(), random.next_u64());
    let inputs = recorder.finish().expect("within the bounds");
    assert_eq!(
        (inputs.wall_clock.len(), inputs.monotonic_clock.len()),
        (1, 1)
    );
    assert_eq!(inputs.random.0.len(), 8);

    let player = Player::new(inputs.clone(), 0);
    let wall = clocks::PlayingWallClock(player.clone());
    let monotonic = clocks::PlayingMonotonicClock(player.clone());
    let mut random = random::TapedRng::new(player.clone(), false);
    assert_eq!((wall.now(), monotonic.now(), random.next_u64()), readings);
    assert!(player.notes().is_empty(), "{:?}", player.notes());

    // Past the recording: time goes on from the last reading, bytes are a fixed
    // stream, and each is noted.
    assert!(wall.now() >= readings.0);
    let extra = random.next_u32();
    let again = Player::new(inputs, 0);
    let mut replayed = random::TapedRng::new(again, false);
    replayed.next_u64();
    assert_eq!(replayed.next_u32(), extra, "the same bytes on every replay");
    assert_eq!(
        player.notes(),
        [
            "read the wall clock 1 more time(s) than recorded",
            "read 4 random byte(s) more than recorded",
        ]
    );
}

#[test]
fn an_invocation_reading_too_much_is_not_recorded() {
    let recorder = Recorder::new(Arc::from([]));
    let wall = clocks::RecordingWallClock(recorder.clone());
    for _ in 0..=MAX_CLOCK_READINGS {
        wall.now();
    }
    let reason = recorder.finish().expect_err("over the bound");
    assert!(reason.contains("wall clock"), "{reason}");
}
