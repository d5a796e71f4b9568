//! How access-log lines are written. The gateway sends one `wasmgate::access` event through
//! `tracing` for every request; `tracing-subscriber`'s general formatters spent ~23,000
//! instructions on each (callgrind: field-name styling, padding, `Debug` of every value and
//! float printing), a tenth of what serving a small handler costs. [`AccessAware`] writes
//! those events itself, in the same text or JSON shape, with plain string and integer
//! writes, and hands every other event to the general formatter.
//!
//! Escaping: in text lines a string value is written bare only when it is one word of plain
//! visible ASCII, quoted and escaped otherwise (a hostile path or principal cannot pose as
//! another field or line); `log_writer.rs` escapes any control character still left. In
//! JSON lines every string is JSON-escaped.

use std::fmt::{self, Write};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::gateway::record::ACCESS_LOG;

/// Writes `wasmgate::access` events as text or JSON lines, and every other event with `F`.
pub(super) struct AccessAware<F> {
    general: F,
    json: bool,
}

impl<F> AccessAware<F> {
    /// Access lines in JSON when `json`, in text otherwise; the rest through `general`.
    pub(super) fn new(general: F, json: bool) -> Self {
        AccessAware { general, json }
    }
}

impl<S, N, F> FormatEvent<S, N> for AccessAware<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        if metadata.target() != ACCESS_LOG {
            return self.general.format_event(ctx, writer, event);
        }
        let time = humantime::format_rfc3339_micros(SystemTime::now());
        let level = metadata.level().as_str();
        if self.json {
            write!(
                writer,
                r#"{{"timestamp":"{time}","level":"{level}","target":"{ACCESS_LOG}""#
            )?;
        } else {
            write!(writer, "{time} {level:>5} {ACCESS_LOG}:")?;
        }
        let mut line = AccessLine {
            out: &mut writer,
            json: self.json,
            result: Ok(()),
        };
        event.record(&mut line);
        line.result?;
        writer.write_str(if self.json { "}\n" } else { "\n" })
    }
}

/// Writes an event's fields: ` name=value` in text, `,"name":value` in JSON. Pieces are
/// written with `write_str` and numbers with `itoa`: a `write!` costs hundreds of
/// instructions of formatting machinery, and a line has twenty pieces.
struct AccessLine<'w, 'b> {
    out: &'w mut Writer<'b>,
    json: bool,
    result: fmt::Result,
}

impl AccessLine<'_, '_> {
    /// Writes `field`'s name and separator (nothing for a text line's message), then its
    /// value with `value`.
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>, bool) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        let out = &mut *self.out;
        let json = self.json;
        self.result = (|| {
            if json {
                out.write_str(",\"")?;
                out.write_str(name)?;
                out.write_str("\":")?;
            } else if name == "message" {
                out.write_char(' ')?;
            } else {
                out.write_char(' ')?;
                out.write_str(name)?;
                out.write_char('=')?;
            }
            value(out, json)
        })();
    }
}

impl Visit for AccessLine<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let message = field.name() == "message";
        self.field(field, |out, json| match (json, message) {
            (true, _) => json_string(out, value),
            (false, true) => out.write_str(value),
            (false, false) => text_value(out, value),
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out, _| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |out, _| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |out, _| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |out, json| match thousandths(value) {
            // Latencies in ms to the µs, printed from integers.
            Some(milli) => {
                out.write_str(itoa::Buffer::new().format(milli / 1000))?;
                let fraction = (milli % 1000) as u8;
                let digits = [
                    b'.',
                    b'0' + fraction / 100,
                    b'0' + fraction / 10 % 10,
                    b'0' + fraction % 10,
                ];
                out.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
            }
            // JSON has no NaN or infinity.
            None if json && !value.is_finite() => out.write_str("null"),
            None => write!(out, "{value}"),
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out, json| {
            if json {
                out.write_char('"')?;
                write!(JsonEscaped(out), "{value:?}")?;
                out.write_char('"')
            } else {
                write!(out, "{value:?}")
            }
        });
    }
}

/// A text line's string value: bare when it is one word of visible ASCII (no quote, `=` or
/// backslash), otherwise quoted and escaped like `Debug` does, so no value can pass for
/// another field or line.
fn text_value(out: &mut Writer<'_>, value: &str) -> fmt::Result {
    let bare = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'=' | b'\\'));
    if bare {
        out.write_str(value)
    } else {
        write!(out, "{value:?}")
    }
}

/// `value` × 1000 as an integer when that is exact to the thousandth and not negative.
fn thousandths(value: f64) -> Option<u64> {
    let scaled = (value * 1000.0).round();
    let exact = (scaled / 1000.0 - value).abs() <= f64::EPSILON * value.abs().max(1.0);
    (value.is_finite() && (0.0..1e15).contains(&scaled) && exact).then_some(scaled as u64)
}

/// Writes `value` as a JSON string.
fn json_string(out: &mut Writer<'_>, value: &str) -> fmt::Result {
    out.write_char('"')?;
    JsonEscaped(out).write_str(value)?;
    out.write_char('"')
}

/// Writes what passes through it JSON-escaped (without the quotes). Hand-written because
/// `serde_json` escapes only into an `io::Write` or a new `String`, and this runs for every
/// request's line.
struct JsonEscaped<'a, 'b>(&'a mut Writer<'b>);

impl Write for JsonEscaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x00..=0x1f | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = at + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::fmt::format::Writer;

    use super::{text_value, thousandths};

    #[test]
    fn latencies_print_to_the_microsecond_from_integers() {
        assert_eq!(thousandths(0.659), Some(659));
        assert_eq!(thousandths(12.0), Some(12_000));
        assert_eq!(thousandths(1234.567), Some(1_234_567));
        assert_eq!(thousandths(0.0005), None);
        assert_eq!(thousandths(-1.0), None);
        assert_eq!(thousandths(f64::NAN), None);
    }

    #[test]
    fn text_values_are_bare_only_when_they_are_one_plain_word() {
        let written = |value: &str| {
            let mut line = String::new();
            text_value(&mut Writer::new(&mut line), value).expect("written");
            line
        };
        assert_eq!(written("/hello/ada"), "/hello/ada");
        assert_eq!(written("/a b"), r#""/a b""#);
        assert_eq!(written("x\n2026 INFO forged"), r#""x\n2026 INFO forged""#);
        assert_eq!(written(r#"a"b=c"#), r#""a\"b=c""#);
        assert_eq!(written(""), r#""""#);
    }
}
