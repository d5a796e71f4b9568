//! A concurrency gate: at most `limit` invocations at once, up to `queue` more waiting for
//! a slot, with deadline-aware admission and a queue that is fair per client.
//!
//! - **Fair per client**: waiting requests are kept per client and a freed slot goes to the
//!   clients in turn (round robin), so a client's burst waits behind its own requests,
//!   not in front of everyone else's. When the queue is full, a request from a client with
//!   fewer waiting requests than the longest queue takes the place of that queue's newest
//!   request (longest-queue drop): one client can fill an idle queue, never keep others
//!   out of it.
//! - **Deadline-aware**: a request that would wait longer than its remaining deadline
//!   minus the route's recent median service time is refused at once (503) with a
//!   `Retry-After` of the estimated wait, instead of waiting only to time out. The wait
//!   is estimated from the requests that would go before it (its own client's, and at most
//!   one more each from the other clients per turn) and the service rate, `limit` slots
//!   each serving one request per median service time. Clients that arrive later may take
//!   turns before it, so the same rule is applied again when a slot is offered to it: a
//!   request with less than the median service time left is refused then (503), and the
//!   slot goes to the next one.
//!
//! tokio's `Semaphore` is first come, first served only, so the queue is written here: a
//! mutex over per-client lists of waiters, each woken through a oneshot channel that hands
//! it the slot.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::protection::RouteStats;
use super::rejection::{GateRefusal, Overflow, Rejection};
use super::service_time::ServiceTimes;
use crate::config::ConcurrencySpec;

/// A gate's state shared with the slots it gave out.
struct Shared {
    spec: ConcurrencySpec,
    queue: Mutex<Queue>,
    service: ServiceTimes,
}

/// The gate's slots in use and its waiting requests.
#[derive(Default)]
struct Queue {
    /// Slots in use. While anyone waits, all of them are: a freed slot goes to a waiter.
    busy: usize,
    /// Each client's waiters, oldest first; a client is here only while it has waiters.
    clients: HashMap<Arc<str>, VecDeque<Waiter>>,
    /// The clients with waiters, in the order they get the next slots.
    turns: VecDeque<Arc<str>>,
    /// Waiters in all.
    waiting: usize,
    /// The next waiter's ticket.
    next_ticket: u64,
}

/// A request waiting for a slot, to be answered by `deadline`.
struct Waiter {
    ticket: u64,
    deadline: Option<Instant>,
    wake: oneshot::Sender<Wake>,
}

/// What a waiter is woken with.
enum Wake {
    /// Its slot.
    Slot(GateSlot),
    /// A refusal: a quieter client's request took its place in a full queue
    /// ([`Overflow::PushedOut`]), or its deadline is too close for the handler to answer
    /// in time ([`Overflow::OutOfTime`]).
    Refused(Overflow),
}

/// A slot of the gate, given back when dropped (to the next waiter, if any); how long it
/// was held is the invocation's service time.
pub(super) struct GateSlot {
    gate: Option<Arc<Shared>>,
    since: Instant,
}

impl Drop for GateSlot {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.service.record(self.since.elapsed());
            Shared::release(&gate);
        }
    }
}

/// At most `limit` invocations at once, `queue` more waiting up to `queue_timeout` (and
/// never past their deadline).
pub(super) struct ConcurrencyGate {
    shared: Arc<Shared>,
}

impl ConcurrencyGate {
    pub(super) fn new(spec: ConcurrencySpec) -> Self {
        ConcurrencyGate {
            shared: Arc::new(Shared {
                spec,
                queue: Mutex::default(),
                service: ServiceTimes::default(),
            }),
        }
    }

    /// A slot for a request of `client` that must be answered by `deadline` (if it has
    /// one), waiting in the queue if none is free; counted in `stats`.
    pub(super) async fn enter(
        &self,
        stats: &RouteStats,
        client: &str,
        deadline: Option<Instant>,
    ) -> Result<GateSlot, Rejection> {
        let shared = &self.shared;
        let spec = &shared.spec;
        let refuse = |reason, retry_after| {
            stats.count_rejected();
            Rejection::Overflow(GateRefusal {
                status: match reason {
                    Overflow::PastDeadline | Overflow::OutOfTime => {
                        http::StatusCode::SERVICE_UNAVAILABLE
                    }
                    _ => spec.overflow_status,
                },
                reason,
                limit: spec.limit,
                queue: spec.queue,
                retry_after,
            })
        };
        let now = Instant::now();
        let (woken, wait) = {
            let mut queue = shared.lock();
            if queue.busy < spec.limit as usize {
                queue.busy += 1;
                return Ok(shared.slot(now));
            }
            let wait = queue.estimated_wait(client, shared.service.median(), spec.limit);
            if let (Some(deadline), Some((wait, service))) = (deadline, wait)
                && now + wait + service > deadline
            {
                return Err(refuse(Overflow::PastDeadline, Some(wait)));
            }
            let wait = wait.map(|(wait, _)| wait);
            if queue.waiting >= spec.queue as usize && !queue.push_out_for(client) {
                return Err(refuse(Overflow::QueueFull, wait));
            }
            (queue.add(client, deadline), wait)
        };
        let _waiting = stats.count_waiting();
        let _ticket = TicketGuard {
            gate: shared,
            client,
            ticket: woken.0,
        };
        let give_up = deadline.map_or(now + spec.queue_timeout, |deadline| {
            deadline.min(now + spec.queue_timeout)
        });
        match tokio::time::timeout_at(give_up.into(), woken.1).await {
            Ok(Ok(Wake::Slot(slot))) => Ok(slot),
            Ok(Ok(Wake::Refused(reason))) => Err(refuse(reason, None)),
            _ => Err(refuse(Overflow::WaitedTooLong, wait)),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn slot(self: &Arc<Self>, now: Instant) -> GateSlot {
        GateSlot {
            gate: Some(self.clone()),
            since: now,
        }
    }

    /// Gives a freed slot to the next waiter in turn that can still make its deadline, or
    /// back to the gate.
    fn release(self: &Arc<Self>) {
        let service = self.service.median();
        let mut queue = self.lock();
        while let Some(waiter) = queue.next_waiter() {
            let now = Instant::now();
            if let (Some(deadline), Some(service)) = (waiter.deadline, service)
                && now + service > deadline
            {
                let _ = waiter.wake.send(Wake::Refused(Overflow::OutOfTime));
                continue;
            }
            match waiter.wake.send(Wake::Slot(self.slot(now))) {
                Ok(()) => return,
                // It stopped waiting (its client went away) before it was woken: the slot
                // is not given back twice, but offered to the next waiter.
                Err(mut unclaimed) => {
                    if let Wake::Slot(slot) = &mut unclaimed {
                        slot.gate = None;
                    }
                }
            }
        }
        queue.busy -= 1;
    }
}

impl Queue {
    /// The estimated wait for a new request of `client`, and the service time it is based
    /// on; `None` before the route has served anything.
    fn estimated_wait(
        &self,
        client: &str,
        service: Option<Duration>,
        limit: u32,
    ) -> Option<(Duration, Duration)> {
        let service = service?;
        let own = self.clients.get(client).map_or(0, VecDeque::len);
        let others: usize = (self.clients.iter())
            .filter(|(other, _)| &***other != client)
            .map(|(_, waiters)| waiters.len().min(own + 1))
            .sum();
        // It waits for the requests before it, and for one more slot to free up.
        let ahead = (own + others + 1) as f64;
        Some((service.mul_f64(ahead / f64::from(limit.max(1))), service))
    }

    /// Makes room in a full queue for a request of `client` by dropping the newest waiter
    /// of the longest queue, if that queue is longer than the client's would be.
    fn push_out_for(&mut self, client: &str) -> bool {
        let own = self.clients.get(client).map_or(0, VecDeque::len);
        let longest = (self.clients.iter())
            .max_by_key(|(_, waiters)| waiters.len())
            .filter(|(_, waiters)| waiters.len() > own + 1)
            .map(|(other, _)| other.clone());
        let Some(longest) = longest else {
            return false;
        };
        let pushed_out = self.clients.get_mut(&longest).and_then(VecDeque::pop_back);
        match pushed_out {
            Some(waiter) => {
                self.waiting -= 1;
                let _ = waiter.wake.send(Wake::Refused(Overflow::PushedOut));
                true
            }
            None => false,
        }
    }

    /// Queues a waiter for `client`: its ticket and where it will be woken.
    fn add(&mut self, client: &str, deadline: Option<Instant>) -> (u64, oneshot::Receiver<Wake>) {
        let (wake, woken) = oneshot::channel();
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting += 1;
        match self.clients.get_mut(client) {
            Some(waiters) => waiters.push_back(Waiter {
                ticket,
                deadline,
                wake,
            }),
            None => {
                let client: Arc<str> = Arc::from(client);
                self.turns.push_back(client.clone());
                self.clients.insert(
                    client,
                    VecDeque::from([Waiter {
                        ticket,
                        deadline,
                        wake,
                    }]),
                );
            }
        }
        (ticket, woken)
    }

    /// The oldest waiter of the client whose turn it is; the client goes to the back of
    /// the turns while it has more.
    fn next_waiter(&mut self) -> Option<Waiter> {
        while let Some(client) = self.turns.pop_front() {
            let Some(waiters) = self.clients.get_mut(&client) else {
                continue;
            };
            let waiter = waiters.pop_front();
            if waiters.is_empty() {
                self.clients.remove(&client);
            } else {
                self.turns.push_back(client);
            }
            if let Some(waiter) = waiter {
                self.waiting -= 1;
                return Some(waiter);
            }
        }
        None
    }

    /// Takes out the waiter with `ticket`, if it still waits.
    fn remove(&mut self, client: &str, ticket: u64) {
        let Some(waiters) = self.clients.get_mut(client) else {
            return;
        };
        let Some(at) = waiters.iter().position(|w| w.ticket == ticket) else {
            return;
        };
        waiters.remove(at);
        self.waiting -= 1;
        if waiters.is_empty() {
            self.clients.remove(client);
            self.turns.retain(|other| &**other != client);
        }
    }
}

/// Takes a waiter that stopped waiting (it gave up, was refused or its client went away)
/// out of the queue.
struct TicketGuard<'a> {
    gate: &'a Shared,
    client: &'a str,
    ticket: u64,
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        self.gate.lock().remove(self.client, self.ticket);
    }
}

#[cfg(test)]
mod tests;
