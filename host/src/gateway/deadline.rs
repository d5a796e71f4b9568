//! A request's deadline: its route's timeout from when the gateway took it, shortened by
//! the client's `x-request-timeout-ms` (never lengthened). The concurrency gate refuses a
//! request that could not start in time, and the handler (or upstream) is given what is
//! left of it.

use std::time::{Duration, Instant};

use http::HeaderName;

use super::rejection::Rejection;

/// The header a client shortens its request's deadline with, in milliseconds.
pub const REQUEST_TIMEOUT: HeaderName = HeaderName::from_static("x-request-timeout-ms");

/// Most digits a `x-request-timeout-ms` value may have (about 115 days).
const MAX_DIGITS: usize = 10;

/// When a request must be answered by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    /// The instant.
    pub at: Instant,
    /// The time it was given: the route's timeout, or the client's shorter one.
    pub budget: Duration,
}

impl Deadline {
    /// The deadline of a request taken at `received` on a route with `timeout`.
    pub fn new(received: Instant, timeout: Duration) -> Self {
        Deadline {
            at: received
                .checked_add(timeout)
                .unwrap_or(received + FAR_FUTURE),
            budget: timeout,
        }
    }

    /// Shortened to the request's `x-request-timeout-ms`, if it has one (400 when it is
    /// not one whole number of milliseconds from 1).
    pub fn shortened_by(
        self,
        received: Instant,
        headers: &http::HeaderMap,
    ) -> Result<Self, Rejection> {
        let mut values = headers.get_all(REQUEST_TIMEOUT).iter();
        let Some(value) = values.next() else {
            return Ok(self);
        };
        let bytes = value.as_bytes();
        let millis = (values.next().is_none()
            && (1..=MAX_DIGITS).contains(&bytes.len())
            && bytes.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok())
        .flatten()
        .filter(|&millis| millis > 0)
        .ok_or(Rejection::InvalidRequestTimeout)?;
        let asked = Duration::from_millis(millis);
        Ok(if asked < self.budget {
            Deadline::new(received, asked)
        } else {
            self
        })
    }

    /// What is left of it now.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Stands in for a deadline too far away to represent.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn shortened(values: &[&str]) -> Result<Duration, ()> {
        let mut headers = http::HeaderMap::new();
        for value in values {
            headers.append(REQUEST_TIMEOUT, value.parse().expect("header value"));
        }
        let now = Instant::now();
        Deadline::new(now, Duration::from_secs(10))
            .shortened_by(now, &headers)
            .map(|deadline| deadline.budget)
            .map_err(|_| ())
    }

    #[test]
    fn a_client_can_shorten_its_deadline_but_not_lengthen_it() {
        assert_eq!(shortened(&[]), Ok(Duration::from_secs(10)));
        assert_eq!(shortened(&["250"]), Ok(Duration::from_millis(250)));
        assert_eq!(shortened(&["99999"]), Ok(Duration::from_secs(10)));
        assert_eq!(shortened(&["9999999999"]), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn a_malformed_timeout_is_refused() {
        for values in [
            &["0"][..],
            &["-5"],
            &["1.5"],
            &[" 100"],
            &["12345678901"],
            &["100", "200"],
            &[""],
        ] {
            assert_eq!(shortened(values), Err(()), "{values:?}");
        }
    }
}
