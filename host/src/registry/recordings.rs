//! Where routes' recordings are kept (`record = {…}`, for `wasmgate replay`): one file per
//! recording in `DATA_DIR/recordings/ROUTE_ID/`, named so that names sort oldest first,
//! written whole or not at all (`fs.rs`) and readable by the gateway's user only. The
//! writer (`gateway/recording/writer.rs`) removes a route's oldest beyond its `max`.
//!
//! Recordings stay on the node that recorded them, whatever the registry's store.

use std::io;
use std::path::{Path, PathBuf};

use super::fs::{ensure_dir, write_atomic_with_mode};

/// The folder of the data dir that holds recordings.
const RECORDINGS: &str = "recordings";
/// Longest name a recording (or route id) may have.
const MAX_NAME: usize = 64;

/// The recordings of every route, in one data dir.
#[derive(Debug, Clone)]
pub struct RecordingStore {
    root: PathBuf,
}

/// Whether `name` can name a route's folder or a recording: letters, digits and `-` only,
/// so no name reaches outside its folder.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn invalid(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("`{name}` is not a recording or route id"),
    )
}

impl RecordingStore {
    /// The recordings kept in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        RecordingStore {
            root: data_dir.join(RECORDINGS),
        }
    }

    fn route_dir(&self, route: &str) -> io::Result<PathBuf> {
        if valid_name(route) {
            Ok(self.root.join(route))
        } else {
            Err(invalid(route))
        }
    }

    /// Keeps `bytes` as recording `name` of `route`.
    pub fn write(&self, route: &str, name: &str, bytes: &[u8]) -> io::Result<()> {
        if !valid_name(name) {
            return Err(invalid(name));
        }
        let dir = self.route_dir(route)?;
        ensure_dir(&dir)?;
        write_atomic_with_mode(&dir.join(format!("{name}.json")), bytes, 0o600)
    }

    /// Removes recording `name` of `route`, if it is kept.
    pub fn remove(&self, route: &str, name: &str) -> io::Result<()> {
        if !valid_name(name) {
            return Err(invalid(name));
        }
        match std::fs::remove_file(self.route_dir(route)?.join(format!("{name}.json"))) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The names of `route`'s recordings, oldest first.
    pub fn list(&self, route: &str) -> io::Result<Vec<String>> {
        let dir = self.route_dir(route)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let file = entry?.file_name();
            // Temporary files of a write under way start with `.`: not recordings yet.
            if let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json"))
                && valid_name(name)
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Recording `name` of `route`, if it is kept.
    pub fn read(&self, route: &str, name: &str) -> io::Result<Option<Vec<u8>>> {
        if !valid_name(name) {
            return Err(invalid(name));
        }
        match std::fs::read(self.route_dir(route)?.join(format!("{name}.json"))) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes every recording of `route`; how many there were.
    pub fn clear(&self, route: &str) -> io::Result<usize> {
        let names = self.list(route)?;
        let dir = self.route_dir(route)?;
        for name in &names {
            std::fs::remove_file(dir.join(format!("{name}.json")))?;
        }
        Ok(names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_listed_oldest_first_read_removed_and_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordingStore::new(dir.path());
        for n in [3, 0, 4, 2, 1] {
            let name = format!("{n:04}");
            store.write("r1", &name, b"{}").expect("write");
        }
        store.remove("r1", "0000").expect("remove");
        store.remove("r1", "0001").expect("remove");
        store
            .remove("r1", "0001")
            .expect("removing a missing one is not an error");
        assert_eq!(store.list("r1").expect("list"), ["0002", "0003", "0004"]);
        assert_eq!(
            store.read("r1", "0004").expect("read").as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(store.read("r1", "0000").expect("read"), None);
        assert_eq!(store.clear("r1").expect("clear"), 3);
        assert!(store.list("r1").expect("list").is_empty());
    }

    #[test]
    fn names_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordingStore::new(dir.path());
        for name in ["../x", "a/b", "", ".hidden"] {
            assert!(store.read("r1", name).is_err(), "{name}");
            assert!(store.list(name).is_err(), "{name}");
        }
    }
}
