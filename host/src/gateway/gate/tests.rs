//! Unit tests of the concurrency gate: slots, queue, fairness and deadlines.

use super::*;

fn gate(limit: u32, queue: u32) -> ConcurrencyGate {
    ConcurrencyGate::new(ConcurrencySpec {
        limit,
        queue,
        queue_timeout: Duration::from_secs(60),
        overflow_status: http::StatusCode::TOO_MANY_REQUESTS,
    })
}

/// A gate of one slot, taken by the returned holder, with room for `queue` requests.
async fn one_slot_taken(queue: u32) -> (Arc<ConcurrencyGate>, Arc<RouteStats>, GateSlot) {
    let gate = Arc::new(gate(1, queue));
    let stats = Arc::new(RouteStats::default());
    let holder = gate.enter(&stats, "first", None).await;
    (gate, stats, holder.expect("a free slot"))
}

/// Waits until `count` requests are queued.
async fn until_queued(stats: &RouteStats, count: usize) {
    while stats.queued() < count {
        tokio::task::yield_now().await;
    }
}

/// Queues a request of `client` on its own task; it answers once it got a slot (and
/// holds it until told to let go) or was refused.
fn queued(
    gate: &Arc<ConcurrencyGate>,
    stats: &Arc<RouteStats>,
    client: &'static str,
    admitted: tokio::sync::mpsc::UnboundedSender<Result<&'static str, &'static str>>,
) -> tokio::task::JoinHandle<()> {
    let (gate, stats) = (gate.clone(), stats.clone());
    tokio::spawn(async move {
        match gate.enter(&stats, client, None).await {
            Ok(slot) => {
                let _ = admitted.send(Ok(client));
                // Held until the test frees slots by dropping them in turn.
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(slot);
            }
            Err(_) => {
                let _ = admitted.send(Err(client));
            }
        }
    })
}

#[tokio::test]
async fn freed_slots_go_to_the_clients_in_turn() {
    let (gate, stats, holder) = one_slot_taken(10).await;
    let (sender, mut admitted) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for client in ["flood", "flood", "flood", "flood", "quiet", "quiet"] {
        tasks.push(queued(&gate, &stats, client, sender.clone()));
        tokio::task::yield_now().await;
    }
    until_queued(&stats, 6).await;
    drop(holder);
    let mut order = Vec::new();
    for _ in 0..6 {
        order.push(admitted.recv().await.expect("an answer").expect("admitted"));
    }
    assert_eq!(
        order,
        ["flood", "quiet", "flood", "quiet", "flood", "flood"]
    );
}

#[tokio::test]
async fn a_full_queue_drops_the_longest_queues_newest_request() {
    let (gate, stats, _holder) = one_slot_taken(3).await;
    let (sender, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..3 {
        queued(&gate, &stats, "flood", sender.clone());
    }
    until_queued(&stats, 3).await;
    // The flood cannot add a fourth…
    queued(&gate, &stats, "flood", sender.clone());
    assert_eq!(answers.recv().await, Some(Err("flood")));
    // …but a quiet client takes the flood's newest place.
    queued(&gate, &stats, "quiet", sender.clone());
    assert_eq!(answers.recv().await, Some(Err("flood")));
    until_queued(&stats, 3).await;
    assert_eq!(stats.snapshot()["rejected"], 2);
}

#[tokio::test]
async fn a_request_that_cannot_make_its_deadline_is_refused_at_once() {
    let gate = gate(1, 100);
    let stats = RouteStats::default();
    let holder = gate.enter(&stats, "a", None).await.expect("a free slot");
    // No service time yet: nothing to estimate, the request would queue.
    gate.shared.service.record(Duration::from_millis(100));
    let soon = Instant::now() + Duration::from_millis(150);
    let refused = gate.enter(&stats, "a", Some(soon)).await;
    let Err(Rejection::Overflow(GateRefusal {
        status,
        reason: Overflow::PastDeadline,
        retry_after: Some(wait),
        ..
    })) = refused
    else {
        panic!("refused for its deadline");
    };
    assert_eq!(status, http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(wait, Duration::from_millis(100));
    drop(holder);
    let later = Instant::now() + Duration::from_millis(150);
    assert!(gate.enter(&stats, "a", Some(later)).await.is_ok());
}
