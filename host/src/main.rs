//! The `wasmgate` binary: everything lives in the library's `cli` module.

/// jemalloc rather than glibc's allocator. Each request allocates and frees many small
/// blocks across threads, where glibc's allocator spent 12% of the gateway's cycles (`perf`,
/// SDK hello at 32 connections); with jemalloc, 20% more requests a second there, and its
/// background threads hand freed memory (a compile's, hundreds of MB) back to the system on
/// their own. bench/RESULTS.md, "The allocator".
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    wasmgate::cli::main()
}
