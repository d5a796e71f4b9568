//! Giving the compiler's memory back. Cranelift compiling a large component (a 13 MB
//! JavaScript or a 19 MB Python one) allocates hundreds of MB, which glibc's allocator
//! keeps in its arenas after they are freed: the gateway sat at 435 MB after compiling the
//! default manifest (90 MB when it loads the same code from the cache). `malloc_trim`
//! returns those free pages to the system: 180 MB.

/// Returns the allocator's free memory to the system, where the allocator is glibc's: for
/// after a compile, once its working memory and the serialised code are dropped. (The
/// `wasmgate` binary allocates with jemalloc, whose background threads do this by
/// themselves; then this only trims glibc's small heap of C allocations.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "malloc_trim is a C function; it takes no pointers and only releases free memory"
)]
pub fn release_free_memory() {
    // SAFETY: glibc's `malloc_trim` only returns free pages of its own heaps to the
    // kernel; it may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Elsewhere, nothing to do (or no way to do it).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
