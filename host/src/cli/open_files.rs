//! The open-file limit, raised at start-up to the most the system allows this process, as
//! nginx (`worker_rlimit_nofile`), Go's runtime and most servers do: every connection
//! holds a descriptor, and so does every loaded module (its compiled code is mapped from
//! its file in the data dir), so the usual soft limit of 1,024 would refuse connections
//! long before the hard limit (often 524,288) does.

/// Raises the soft `RLIMIT_NOFILE` to the hard one; says what it is when it stays low.
#[cfg_attr(
    unix,
    expect(
        unsafe_code,
        reason = "getrlimit and setrlimit are C functions; they read or write one rlimit we own"
    )
)]
pub(super) fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid `rlimit` the call writes.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: `raised` is a valid `rlimit` the call reads.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            }
        }
        if limit.rlim_cur < LOW {
            tracing::warn!(
                open_files = limit.rlim_cur,
                "this process may open few files: each connection and each loaded module \
                 holds one; raise the limit (ulimit -n, systemd's LimitNOFILE)"
            );
        }
    }
}

/// Below this many open files, start-up warns.
#[cfg(unix)]
const LOW: libc::rlim_t = 4096;
