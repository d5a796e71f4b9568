//! The machine the tests share: ordinary tests' gateways run side by side; a test that
//! measures latency takes the machine alone.

/// Gateways of ordinary tests share the machine; a test that measures latency takes it
/// alone (see [`exclusive`]).
static MACHINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

std::thread_local! {
    /// Set on the thread of a test that holds the machine exclusively.
    static EXCLUSIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// How many shares of the machine this thread holds (its running gateways).
    static SHARES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A share of the machine, held by a running gateway: the read lock itself for the
/// thread's first, a count for the others. A thread asking again for the lock it holds
/// would wait behind a test waiting for the machine, which waits for this thread: a
/// deadlock (a test running two gateways at once beside an exclusive one).
pub struct Share {
    _guard: Option<std::sync::RwLockReadGuard<'static, ()>>,
}

impl Drop for Share {
    fn drop(&mut self) {
        SHARES.with(|count| count.set(count.get().saturating_sub(1)));
    }
}

/// The machine, held by one test.
pub struct Exclusive {
    _guard: std::sync::RwLockWriteGuard<'static, ()>,
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        EXCLUSIVE.with(|flag| flag.set(false));
    }
}

/// Waits until no other test's gateway runs, and keeps new ones from starting until the
/// guard is dropped: for tests that measure latency. Gateways this thread starts meanwhile
/// do not wait.
pub fn exclusive() -> Exclusive {
    let guard = MACHINE.write().unwrap_or_else(|poison| poison.into_inner());
    EXCLUSIVE.with(|flag| flag.set(true));
    Exclusive { _guard: guard }
}

/// A share of the machine for work that loads it (a gateway, a guest build), waiting while
/// a test holds it exclusively; `None` on that test's own thread, which needs no share.
pub fn share_machine() -> Option<Share> {
    if EXCLUSIVE.with(|flag| flag.get()) {
        return None;
    }
    let held = SHARES.with(|count| count.replace(count.get() + 1));
    let guard = (held == 0).then(|| MACHINE.read().unwrap_or_else(|poison| poison.into_inner()));
    Some(Share { _guard: guard })
}
