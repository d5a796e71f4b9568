//! Bodies stream in both directions, through a plain `wasi:http` component built without
//! the SDK.

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::support::{client, standard_gateway};

const CHUNK: usize = 64 * 1024;
const TOTAL: usize = 20 * 1024 * 1024;

/// Deterministic pseudo-random chunk number `n` (xorshift), so both ends can hash it.
fn chunk(n: usize) -> Bytes {
    let mut state = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut data = Vec::with_capacity(CHUNK);
    while data.len() < CHUNK {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    Bytes::from(data)
}

#[tokio::test]
async fn plain_wasi_http_component_serves_unmodified() {
    let gw = standard_gateway();
    let response = gw.post("/stream", "no sdk here").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-plain-component"], "yes");
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(response.text().await.expect("body"), "no sdk here");
}

#[tokio::test]
async fn twenty_megabytes_stream_through_in_both_directions() {
    let gw = standard_gateway();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let upload = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, std::io::Error>(bytes), rx))
    });

    // A declared length streams (a chunked body would be read whole before the guest runs,
    // to enforce the route's size limit).
    let request = client()
        .post(gw.url("/stream"))
        .header("content-length", TOTAL)
        .body(reqwest::Body::wrap_stream(upload))
        .send();
    let sender = async {
        // The first megabyte only: the echo must start before the upload ends.
        for n in 0..16 {
            tx.send(chunk(n)).await.expect("send chunk");
        }
    };
    let (response, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(request, sender)
    })
    .await
    .expect("the response head arrives while the upload is still going");
    let mut response = response.expect("response head");
    assert_eq!(response.status(), 200);

    let mut received = Sha256::new();
    let mut received_len = 0usize;
    // Bytes come back while most of the upload has not been sent: neither side buffers
    // the whole body.
    let first = tokio::time::timeout(Duration::from_secs(30), response.chunk())
        .await
        .expect("echoed bytes arrive before the upload is complete")
        .expect("read")
        .expect("a first chunk");
    received.update(&first);
    received_len += first.len();

    let mut expected = Sha256::new();
    for n in 0..TOTAL / CHUNK {
        expected.update(chunk(n));
    }
    let rest = async {
        for n in 16..TOTAL / CHUNK {
            tx.send(chunk(n)).await.expect("send chunk");
        }
        drop(tx);
    };
    let read = async {
        while let Some(bytes) = response.chunk().await.expect("read") {
            received.update(&bytes);
            received_len += bytes.len();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(rest, read) })
        .await
        .expect("the rest streams through");

    assert_eq!(received_len, TOTAL);
    assert_eq!(received.finalize(), expected.finalize());
}
