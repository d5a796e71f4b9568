//! The thread that stores finished recordings (`registry/recordings.rs`), so a request
//! never waits for a disk. Its queue is bounded: when the disk falls behind, recordings
//! are dropped (and counted in a warning, at most one a second), not requests delayed.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use super::Recording;
use crate::registry::RecordingStore;

/// Recordings that may wait for the writer.
const QUEUE: usize = 16;

/// Queues recordings for the writer thread.
pub(in crate::gateway) struct RecordingWriter {
    sender: SyncSender<(Box<Recording>, u32)>,
    /// Recordings dropped since the last warning, and the second it was given in.
    dropped: AtomicU64,
    warned_at: AtomicU64,
    started: Instant,
}

impl RecordingWriter {
    /// Starts the thread writing into `store`; it ends when the writer is dropped.
    pub fn start(store: RecordingStore) -> std::io::Result<Arc<Self>> {
        let (sender, receiver) = sync_channel::<(Box<Recording>, u32)>(QUEUE);
        std::thread::Builder::new()
            .name("recordings".into())
            .spawn(move || {
                // Each route's recordings, oldest first: listed once, then kept up to date
                // here, so a write never lists the folder.
                let mut kept: HashMap<String, VecDeque<String>> = HashMap::new();
                for (recording, max) in receiver {
                    let route = recording.route.id.clone();
                    if let Err(error) = write(&store, &mut kept, &recording, max as usize) {
                        tracing::warn!(%error, route, "a recording was not stored");
                    }
                }
            })?;
        Ok(Arc::new(RecordingWriter {
            sender,
            dropped: AtomicU64::new(0),
            warned_at: AtomicU64::new(0),
            started: Instant::now(),
        }))
    }

    /// Queues `recording` for its route, which keeps at most `max`.
    pub fn send(&self, recording: Box<Recording>, max: u32) {
        match self.sender.try_send((recording, max)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // One warning a second at most: a busy route may drop thousands.
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                let now = self.started.elapsed().as_secs() + 1;
                if self.warned_at.swap(now, Ordering::Relaxed) != now {
                    self.dropped.store(0, Ordering::Relaxed);
                    tracing::warn!(
                        dropped,
                        "recordings dropped: the writer is {QUEUE} recordings behind"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Stores `recording`, then removes its route's oldest beyond `max`.
fn write(
    store: &RecordingStore,
    kept: &mut HashMap<String, VecDeque<String>>,
    recording: &Recording,
    max: usize,
) -> std::io::Result<()> {
    let route = &recording.route.id;
    let json = serde_json::to_vec(recording).map_err(std::io::Error::other)?;
    let names = match kept.entry(route.clone()) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => entry.insert(store.list(route)?.into()),
    };
    store.write(route, &recording.id, &json)?;
    names.push_back(recording.id.clone());
    while names.len() > max {
        let Some(oldest) = names.pop_front() else {
            break;
        };
        if let Err(error) = store.remove(route, &oldest) {
            // Tried again after the next recording.
            names.push_front(oldest);
            return Err(error);
        }
    }
    Ok(())
}
