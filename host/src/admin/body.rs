//! Reading admin API request bodies, bounded.

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::BodyExt;

use super::ApiError;

/// Largest JSON body the admin API reads.
pub(super) const MAX_JSON_BYTES: usize = 1 << 20;

/// Reads a whole body of at most `limit` bytes; beyond it, 413.
///
/// An over-long body is still read (and dropped), up to [`DRAIN_LIMIT`]: answering before the
/// client finished sending would close the connection under it, and most clients then report
/// a broken pipe instead of the 413.
pub(super) async fn read_body(
    headers: &http::HeaderMap,
    mut body: hyper::body::Incoming,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {limit} bytes"),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > DRAIN_LIMIT as u64) {
        return Err(too_large());
    }
    let mut collected = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= limit {
            collected.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(collected.freeze())
}

/// How much of an over-long body is read before the connection is given up on.
const DRAIN_LIMIT: usize = 256 << 20;
