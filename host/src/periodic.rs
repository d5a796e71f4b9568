//! Housekeeping on a thread of its own: a task run at a fixed interval for as long as the
//! value it works on lives (the thread holds it weakly and ends once it is dropped).

use std::sync::{Arc, Weak};
use std::time::Duration;

/// Runs `task` on `owner` every `interval` on a thread named `name`, until `owner` is
/// dropped (noticed at the next interval).
pub fn every<T: Send + Sync + 'static>(
    name: &str,
    interval: Duration,
    owner: &Arc<T>,
    task: fn(&T),
) -> std::io::Result<()> {
    let owner: Weak<T> = Arc::downgrade(owner);
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                match owner.upgrade() {
                    Some(owner) => task(&owner),
                    None => return,
                }
            }
        })
        .map(drop)
}
