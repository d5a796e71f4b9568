//! The WASI random generators of a taped invocation: the operating system's randomness,
//! each byte recorded; or the recorded bytes played back in order (then a fixed
//! deterministic stream, noted).

use std::convert::Infallible;
use std::sync::Arc;

use rand_core::TryRng;

use super::{MAX_RANDOM_BYTES, Player, Recorder};

/// What a taped generator is: a stream of bytes.
pub(super) trait ByteSource {
    /// Fills `dst` with the stream's next bytes.
    fn fill(&mut self, dst: &mut [u8]);
}

/// A generator over a [`ByteSource`]: its `u32`s and `u64`s are the stream's next 4 and 8
/// bytes, so what the guest got is one byte stream whatever it asked for.
pub(super) struct Generator<S>(S);

impl<S: ByteSource> TryRng for Generator<S> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

/// A taped generator: `wasi:random/random`'s, or with `insecure` `wasi:random/insecure`'s,
/// over a tape's [`Recorder`] (the system's random bytes, recorded) or its [`Player`] (the
/// recorded bytes, played back).
pub(super) struct TapedRng<T> {
    tape: Arc<T>,
    insecure: bool,
}

impl<T> TapedRng<T> {
    pub fn new(tape: Arc<T>, insecure: bool) -> Generator<Self> {
        Generator(TapedRng { tape, insecure })
    }
}

/// The system's random bytes, recorded.
impl ByteSource for TapedRng<Recorder> {
    fn fill(&mut self, dst: &mut [u8]) {
        if let Err(error) = getrandom::fill(dst) {
            // wasmtime-wasi's own generator would panic here; the guest gets what the
            // buffer held, and the log says why.
            tracing::error!(%error, "the system's random source failed");
        }
        let insecure = self.insecure;
        self.tape.record(
            || {
                format!(
                    "over {} KiB of random bytes were read",
                    MAX_RANDOM_BYTES >> 10
                )
            },
            |state| {
                let stream = if insecure {
                    &mut state.insecure_random
                } else {
                    &mut state.random
                };
                stream.extend_from_slice(dst);
                stream.len() <= MAX_RANDOM_BYTES
            },
        );
    }
}

/// The recorded random bytes, played back.
impl ByteSource for TapedRng<Player> {
    fn fill(&mut self, dst: &mut [u8]) {
        let player = &self.tape;
        let mut cursor = player.lock();
        let (stream, position) = if self.insecure {
            (&player.inputs.insecure_random.0, cursor.insecure)
        } else {
            (&player.inputs.random.0, cursor.random)
        };
        let recorded = &stream[position.min(stream.len())..];
        let taken = recorded.len().min(dst.len());
        dst[..taken].copy_from_slice(&recorded[..taken]);
        if self.insecure {
            cursor.insecure += taken;
        } else {
            cursor.random += taken;
        }
        for byte in &mut dst[taken..] {
            // Past the recording: a fixed stream (SplitMix64), the same on every replay.
            cursor.extra_random += 1;
            *byte = split_mix(cursor.extra_random) as u8;
        }
    }
}

/// SplitMix64's output for `n`: well-spread, deterministic bytes.
fn split_mix(n: u64) -> u64 {
    let mut z = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
