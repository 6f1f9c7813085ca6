//! How the auditscope binary's allocator (mimalloc, set in `src/main.rs`) is tuned.
//!
//! The audit reader allocates and frees a block's worth of events every few milliseconds on
//! three threads. By default mimalloc gives memory it has freed back to the OS after a delay
//! (1 s), and later allocations touch fresh pages: on the virtual machines these runs happen on, each
//! such page costs a fault and a zeroing, which took 5-15% of `correlate`'s time, more on a
//! busy host. A command runs once and exits, and its peak memory is held at some point anyway,
//! so keeping freed memory for reuse costs little (measured: peak RSS 5-10% higher, still 17%
//! of the log; see BENCHMARKS.md).

use libmimalloc_sys::mi_option_t;

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing happens).
///
/// mimalloc asks for huge pages on its whole arena (`MADV_HUGEPAGE`, before `main` runs), so
/// every 2 MB region it touches at all becomes resident whole: on a 382 MB log, `correlate`'s
/// peak RSS was 130 MB with them and 97 MB without (a quarter less), for the same time (see
/// BENCHMARKS.md). The process flag overrides the advice; threads started later inherit it.
pub fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` sets a flag on this process and touches
    // no memory of ours; a kernel that does not know it returns an error, which changes nothing.
    unsafe {
        // Every argument as the `unsigned long` the kernel reads: a variadic `0` would be an
        // `int`, whose upper bits are not defined, and the kernel refuses non-zero ones.
        let (one, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
        libc::prctl(libc::PR_SET_THP_DISABLE, one, zero, zero, zero);
    }
}

/// `mi_option_purge_delay` in mimalloc.h (v3, as libmimalloc-sys 0.1.49 builds it by
/// default): how many milliseconds freed memory is kept before it is given back to the OS; -1
/// for never. The crate exports no constant for it; the test below checks the number still
/// names this option.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;

/// Makes mimalloc keep the memory it frees for reuse rather than give it back to the OS.
/// Only useful where mimalloc is the global allocator (the binary, the benchmarks).
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table, which mimalloc
    // reads on each purge decision; it may be called at any time, from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options around `purge_delay` have their defaults (mimalloc v3's `options.c`), so
    /// the enum has not moved under a newer mimalloc: `eager_commit_delay` (14) is 1,
    /// `purge_delay` (15) is 1000, `use_numa_nodes` (16) is 0.
    #[test]
    fn the_option_number_names_purge_delay() {
        // SAFETY: reading mimalloc's option table.
        let get = |o: mi_option_t| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(
            (
                get(MI_OPTION_PURGE_DELAY - 1),
                get(MI_OPTION_PURGE_DELAY),
                get(MI_OPTION_PURGE_DELAY + 1)
            ),
            (1, 1000, 0)
        );
    }
}
