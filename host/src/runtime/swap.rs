//! Whether the kernel may swap out this process's memory, read once at start-up, because
//! the fast way of resetting an instance slot is only safe when it cannot.
//!
//! wasmtime 48 resets the pages a guest dirtied by asking `PAGEMAP_SCAN` for the written
//! pages that are *present* in RAM, copying those back and discarding what lies past the
//! scan. A page the guest wrote that the kernel has swapped out is not present: it is
//! neither copied back nor discarded, and the next instance in that slot (of the same
//! module, or of another one the slot passes to) would read it when it is swapped back in
//! (reported upstream with a fix, wasmtime PR #14357, not released). So where swap can take the gateway's pages,
//! the engine resets slots without the scan (the whole keep-resident region is copied back
//! and the rest discarded), which is correct and slower.

use std::path::Path;

/// Why this process's pages may be swapped out, or `None` when they cannot: no swap area
/// is active, or the process's cgroup (v2) allows it no swap (`memory.swap.max` is 0).
pub(super) fn swap_possible() -> Option<String> {
    let swaps = std::fs::read_to_string("/proc/swaps").ok()?;
    let areas = active_swap_areas(&swaps);
    if areas.is_empty() {
        return None;
    }
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let swap_max = unified_cgroup(&cgroup).and_then(|path| {
        let file = Path::new("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("memory.swap.max");
        std::fs::read_to_string(file).ok()
    });
    if swap_max.as_deref().is_some_and(forbids_swap) {
        return None;
    }
    Some(format!("swap is on ({})", areas.join(", ")))
}

/// The active swap areas listed in `/proc/swaps` (a header line, then one line each).
fn active_swap_areas(proc_swaps: &str) -> Vec<&str> {
    (proc_swaps.lines().skip(1))
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

/// The process's cgroup v2 path, from `/proc/self/cgroup` (its `0::` line).
fn unified_cgroup(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
}

/// Whether a cgroup's `memory.swap.max` allows it no swap at all.
fn forbids_swap(swap_max: &str) -> bool {
    swap_max.trim() == "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_areas_are_the_lines_after_the_header() {
        let none = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert!(active_swap_areas(none).is_empty());
        assert!(active_swap_areas("").is_empty());
        let two = "Filename Type Size Used Priority\n\
                   /swapfile file 1048572 0 -2\n\
                   /dev/zram0 partition 4194300 12 100\n";
        assert_eq!(active_swap_areas(two), ["/swapfile", "/dev/zram0"]);
    }

    #[test]
    fn the_unified_cgroup_is_the_line_of_hierarchy_zero() {
        let hybrid = "4:memory:/a/b\n0::/system.slice/wasmgate.service\n";
        assert_eq!(
            unified_cgroup(hybrid),
            Some("/system.slice/wasmgate.service")
        );
        assert_eq!(unified_cgroup("4:memory:/a/b\n"), None);
    }

    #[test]
    fn only_a_swap_max_of_zero_forbids_swap() {
        assert!(forbids_swap("0\n"));
        assert!(!forbids_swap("max\n"));
        assert!(!forbids_swap("1073741824\n"));
    }
}
