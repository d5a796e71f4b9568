//! Progress of an upload on a terminal (`indicatif`): a bar while the bytes go out, then a
//! spinner while the gateway compiles them. Nothing when stderr is not a terminal (piped,
//! in a script) or with `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};

/// Bytes handed to the connection at a time (the bar moves by this much).
const CHUNK: usize = 64 << 10;

/// The progress shown for one upload.
pub(super) struct UploadProgress {
    bar: Option<ProgressBar>,
}

impl UploadProgress {
    /// A bar for `len` bytes, on stderr if it is a terminal and `wanted`.
    pub(super) fn new(len: u64, wanted: bool) -> Self {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("uploading");
            bar
        });
        UploadProgress { bar }
    }

    /// `bytes` as a request body that moves the bar as it is sent, then turns it into a
    /// spinner saying the gateway compiles.
    pub(super) fn body(&self, bytes: Vec<u8>) -> reqwest::Body {
        let Some(bar) = self.bar.clone() else {
            return bytes.into();
        };
        let bytes = Bytes::from(bytes);
        let total = bytes.len();
        let chunks = (0..total)
            .step_by(CHUNK)
            .map(move |start| bytes.slice(start..(start + CHUNK).min(total)));
        let stream = futures_util::stream::iter(chunks.map(move |chunk| {
            bar.inc(chunk.len() as u64);
            if bar.position() >= total as u64 {
                compiling(&bar);
            }
            Ok::<_, std::io::Error>(chunk)
        }));
        reqwest::Body::wrap_stream(stream)
    }

    /// Takes the bar off the terminal (the command prints its outcome next).
    pub(super) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The spinner shown while the gateway validates and compiles what it received.
fn compiling(bar: &ProgressBar) {
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message("compiling");
    bar.enable_steady_tick(Duration::from_millis(100));
}
