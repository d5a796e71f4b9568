//! Request heads as the framing watcher (`framing.rs`) reads them: parsed with `httparse`
//! under hyper's settings, and their body framing decided by hyper's rules.

pub(super) enum Parsed {
    Partial,
    Invalid,
    Complete { length: usize, head: Head },
}

pub(super) struct Head {
    pub(super) method: http::Method,
    pub(super) uri: http::Uri,
    pub(super) framing: Framing,
}

/// How a request's body is delimited, as hyper will read it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// Both `Content-Length` and `Transfer-Encoding`.
    Ambiguous,
    Length(u64),
    Chunked,
    /// Anything hyper refuses. (Upgrades and `CONNECT` are framed like any request: the
    /// server does not serve upgrades, and hyper reads nothing more after a 101 or a 2xx to
    /// `CONNECT`.)
    Unknown,
}

pub(super) fn parse_head(bytes: &[u8]) -> Parsed {
    // The parser and the limit hyper is given (`server/mod.rs`), so that both read the same
    // heads.
    let mut headers = [httparse::EMPTY_HEADER; super::MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match super::h1_parser_config().parse_request(&mut request, bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Parsed::Invalid;
    };
    // As hyper reads them; it refuses a request whose method or target does not parse.
    let (Ok(method), Ok(uri)) = (
        http::Method::from_bytes(method.as_bytes()),
        http::Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(target.as_bytes())),
    ) else {
        return Parsed::Invalid;
    };
    let framing = framing(version, request.headers);
    Parsed::Complete {
        length,
        head: Head {
            method,
            uri,
            framing,
        },
    }
}

/// The body framing of a head, by the rules of hyper's request parser.
fn framing(version: u8, headers: &[httparse::Header<'_>]) -> Framing {
    let mut length: Option<u64> = None;
    let mut has_length = false;
    let mut has_length_error = false;
    let mut transfer_encoding: Option<bool> = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            has_length = true;
            match (parse_length(header.value), length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(previous)) if n == previous => {}
                _ => has_length_error = true,
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last field counts.
            let last = header.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
            transfer_encoding = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
    }
    if has_length && transfer_encoding.is_some() {
        Framing::Ambiguous
    } else if has_length_error {
        Framing::Unknown
    } else {
        match transfer_encoding {
            Some(true) if version == 1 => Framing::Chunked,
            Some(_) => Framing::Unknown,
            None => Framing::Length(length.unwrap_or(0)),
        }
    }
}

/// A `Content-Length` value: decimal digits only, as hyper accepts.
fn parse_length(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}
