//! The log's writer: every event is one line. Values that clients and guests control (a
//! path, a header, a token's error, a guest's output) may hold line breaks or terminal
//! escapes; written as they are, they could forge log lines or drive the reader's terminal.
//! So every control character but the event's own final line break, and tabs, is written
//! escaped (`\n`, `\r`, `\u{1b}`…), whatever field it came from.
//!
//! `tracing-subscriber` formats each event into one buffer and writes it with one call, so
//! the writer sees whole events.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Makes [`EscapingWriter`]s around the writers `M` makes.
pub(super) struct EscapingMakeWriter<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for EscapingMakeWriter<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// Writes events with their control characters escaped; see the module documentation.
pub(super) struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match escape_event(buf) {
            Some(escaped) => self.0.write_all(&escaped)?,
            // Most events have nothing to escape: written as they are, without a copy.
            None => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Whether `byte` is written escaped.
fn needs_escape(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// `event` with every control character escaped, but tabs and one final line break; `None`
/// when it has none to escape.
fn escape_event(event: &[u8]) -> Option<Vec<u8>> {
    let (body, end) = match event.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (event, &b""[..]),
    };
    // Whole chunks without an early exit, so the compiler can compare many bytes at once:
    // every line is scanned, and almost none has anything to escape.
    let clean = body.chunks(64).all(|chunk| {
        !chunk
            .iter()
            .fold(false, |found, &byte| found | needs_escape(byte))
    });
    if clean {
        return None;
    }
    let mut out = Vec::with_capacity(event.len() + 8);
    for &byte in body {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(byte),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{{{byte:x}}}").as_bytes()),
            _ => out.push(byte),
        }
    }
    out.extend_from_slice(end);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::escape_event;

    #[test]
    fn an_event_stays_one_line() {
        let forged = b"WARN token refused error=bad alg\n2099-01-01T00:00:00Z INFO wasmgate: FORGED\r\x1b[2J\tend\n";
        let escaped = String::from_utf8(escape_event(forged).expect("escaped")).expect("utf-8");
        assert_eq!(
            escaped,
            "WARN token refused error=bad alg\\n2099-01-01T00:00:00Z INFO wasmgate: FORGED\\r\\u{1b}[2J\tend\n"
        );
        assert_eq!(escape_event(b"plain, \xc3\xa9t\xc3\xa9\ttab\n"), None);
    }
}
