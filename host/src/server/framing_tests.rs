//! The framing tracker over whole byte streams, fed in every read size from one byte up.

use super::*;

/// What a stream leaves behind: heads counted, the ambiguous head if any, and whether the
/// tracker still follows the stream (it ended between requests).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    heads: u64,
    ambiguous: Option<(u64, String)>,
    watching_at_boundary: bool,
}

/// Feeds `stream` in reads of every size from 1 to its length, checks they all agree, and
/// returns the outcome.
fn follow(stream: &[u8]) -> Outcome {
    let outcomes: Vec<Outcome> = (1..=stream.len())
        .map(|read_size| {
            let verdicts = Arc::new(FramingVerdicts::default());
            let mut tracker = FramingTracker::new(verdicts.clone(), 16 * 1024);
            for read in stream.chunks(read_size) {
                tracker.observe(read);
            }
            Outcome {
                heads: tracker.heads,
                ambiguous: verdicts
                    .ambiguous
                    .get()
                    .map(|head| (head.index, format!("{} {}", head.method, head.uri))),
                watching_at_boundary: tracker.state == State::Head(Vec::new()),
            }
        })
        .collect();
    for (size, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome, &outcomes[0], "reads of {} bytes", size + 1);
    }
    outcomes.into_iter().next().expect("a non-empty stream")
}

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const POST_LENGTH: &[u8] = b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
const POST_CHUNKED: &[u8] = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;ext=1\r\nabc\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";

fn stream(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn pipelined_requests_of_every_framing_are_followed_to_their_ends() {
    let outcome = follow(&stream(&[GET, POST_LENGTH, POST_CHUNKED, b"\r\n", GET]));
    assert_eq!(
        outcome,
        Outcome {
            heads: 4,
            ambiguous: None,
            watching_at_boundary: true
        }
    );
}

#[test]
fn a_head_with_both_framings_is_flagged_by_its_position_whatever_the_order() {
    for head in [
        &b"POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        &b"POST /smuggle HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n"[..],
        &b"POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: identity\r\n\r\n"[..],
    ] {
        let outcome = follow(&stream(&[GET, POST_CHUNKED, head, GET]));
        assert_eq!(outcome.heads, 3, "{}", String::from_utf8_lossy(head));
        assert_eq!(
            outcome.ambiguous,
            Some((3, "POST /smuggle".to_owned())),
            "{}",
            String::from_utf8_lossy(head)
        );
        assert!(!outcome.watching_at_boundary);
    }
}

#[test]
fn upgrades_connect_fragments_and_absolute_targets_are_followed_like_any_request() {
    let outcome = follow(&stream(&[
        b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
        b"\r\n\n",
        b"GET HTTP://x/abs HTTP/1.1\r\n\r\n",
        b"POST /s#fragment HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]));
    assert_eq!(outcome.heads, 4);
    // Parsed as hyper parses them: no fragment.
    assert_eq!(outcome.ambiguous, Some((4, "POST /s".to_owned())));
}

#[test]
fn heads_inside_bodies_are_not_mistaken_for_requests() {
    let fake = b"GET /fake HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut with_length = format!(
        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        fake.len()
    )
    .into_bytes();
    with_length.extend_from_slice(fake);
    let mut chunked = format!(
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        fake.len()
    )
    .into_bytes();
    chunked.extend_from_slice(fake);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let outcome = follow(&stream(&[&with_length, &chunked, GET]));
    assert_eq!(
        outcome,
        Outcome {
            heads: 3,
            ambiguous: None,
            watching_at_boundary: true
        }
    );
}

#[test]
fn streams_it_does_not_understand_are_let_go() {
    for (stream, heads) in [
        (&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..], 0),
        (b"POST /b HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 1),
        (
            b"POST /b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            1,
        ),
        (b"POST /b HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 1),
        (
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            1,
        ),
        (
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            1,
        ),
        (
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nb\r\n",
            1,
        ),
        (b"\x16\x03\x01\x00", 0),
        (b"GET /a b HTTP/1.1\r\n\r\n", 0),
        (b"G@T /a HTTP/1.1\r\n\r\n", 0),
    ] {
        let mut with_smuggling_after = stream.to_vec();
        with_smuggling_after.extend_from_slice(
            b"POST /s HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let outcome = follow(&with_smuggling_after);
        assert_eq!(
            (
                outcome.heads,
                outcome.ambiguous,
                outcome.watching_at_boundary
            ),
            (heads, None, false),
            "{}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[test]
fn a_head_larger_than_the_limit_stops_the_watch() {
    let verdicts = Arc::new(FramingVerdicts::default());
    let mut tracker = FramingTracker::new(verdicts, 64);
    tracker.observe(b"GET / HTTP/1.1\r\n");
    for _ in 0..10 {
        tracker.observe(b"X-Long: aaaaaaaaaa\r\n");
    }
    assert_eq!(tracker.state, State::Off);
}

#[test]
fn only_the_flagged_request_in_hand_is_refused() {
    let verdicts = FramingVerdicts::default();
    verdicts
        .ambiguous
        .set(AmbiguousHead {
            index: 2,
            method: http::Method::POST,
            uri: http::Uri::from_static("/s"),
        })
        .expect("unset");
    let request = |method: &str, target: &str, chunked: bool| {
        let mut builder = http::Request::builder().method(method).uri(target);
        if chunked {
            builder = builder.header("transfer-encoding", "chunked");
        }
        builder.body(()).expect("request")
    };
    assert!(!verdicts.take_ambiguous(&request("POST", "/s", true)));
    assert!(verdicts.take_ambiguous(&request("POST", "/s", true)));

    for mismatch in [
        request("POST", "/other", true),
        request("PUT", "/s", true),
        request("POST", "/s", false),
    ] {
        let verdicts = FramingVerdicts::default();
        verdicts
            .ambiguous
            .set(AmbiguousHead {
                index: 1,
                method: http::Method::POST,
                uri: http::Uri::from_static("/s"),
            })
            .expect("unset");
        assert!(!verdicts.take_ambiguous(&mismatch), "{mismatch:?}");
    }
}

#[test]
fn any_bytes_in_any_reads_leave_it_in_a_sane_state() {
    // A small deterministic generator (xorshift): streams stitched from request pieces and
    // noise, cut at random places, must never panic, loop or invent requests.
    let pieces: [&[u8]; 9] = [
        GET,
        POST_LENGTH,
        POST_CHUNKED,
        b"Content-Length: 3\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"\r\n",
        b"5\r\n",
        b"\x00\xff;\n\r",
        b"POST /x HTTP/1.1\r\n",
    ];
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..2_000 {
        let stream: Vec<u8> = (0..next() % 12)
            .flat_map(|_| pieces[(next() % pieces.len() as u64) as usize].to_vec())
            .collect();
        let verdicts = Arc::new(FramingVerdicts::default());
        let mut tracker = FramingTracker::new(verdicts, 256);
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let cut = 1 + (next() as usize % rest.len());
            tracker.observe(&rest[..cut]);
            rest = &rest[cut..];
        }
        // Every head counted has a request line of its own in the stream.
        let request_lines = stream.windows(11).filter(|w| w == b" HTTP/1.1\r\n").count();
        assert!(tracker.heads <= request_lines as u64);
    }
}

/// A small deterministic random sequence (xorshift64), for the randomised tests.
pub(super) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
