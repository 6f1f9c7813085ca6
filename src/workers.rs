//! How the binary's rayon pool is set up: its threads run one step below the thread that
//! starts them in priority.
//!
//! Correlating is a pipeline: rayon's threads parse blocks of audit events while one thread
//! (the sink) merges the parsed events into requests, in order. On two cores that is three
//! busy threads, and the kernel shares the cores among them alike: the sink, which needs most
//! of a core and which everything waits for at the end, got two thirds of one. The parsers
//! then ran ahead until the queue between them was full and one core stood idle while the sink
//! caught up. With the parsers below it, the sink keeps a core and the parsers share the
//! rest: `correlate` on a 1.27 GB log took ~0.87 of the time (see BENCHMARKS.md). The
//! explorer gains the same way: its screen and loading threads come before rayon's work.

/// How many steps of `nice` rayon's threads are below the thread that starts the pool: from
/// 4, a thread at the default priority gets all of a core against two of them (the kernel's
/// weights for nice 0 and 4 are 1024 and 423).
const WORKER_NICE_STEPS: i32 = 4;

/// Builds rayon's global pool with threads [`WORKER_NICE_STEPS`] below this one in priority
/// (Linux; elsewhere the pool is built as rayon builds it). Call it before anything uses rayon:
/// a pool already built is left as it is.
pub fn start_pool_below_caller() {
    let base = current_nice();
    let builder = rayon::ThreadPoolBuilder::new().start_handler(move |_| {
        if let Some(base) = base {
            set_current_thread_nice((base + WORKER_NICE_STEPS).min(19));
        }
    });
    // An error means the pool exists already (or no thread could start, which rayon says
    // again on first use): nothing to do here.
    let _ = builder.build_global();
}

/// The calling thread's nice value, when it can be read.
fn current_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `getpriority` reads a number of the kernel's; -1 is also a valid value, so
        // errno is cleared first and read after, as getpriority(2) says.
        unsafe {
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
            (*libc::__errno_location() == 0).then_some(nice)
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Sets the calling thread's nice value (on Linux, `setpriority` on a thread id affects that
/// thread alone). A refusal changes nothing: the thread keeps its priority.
fn set_current_thread_nice(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` and `setpriority` take and return plain integers and touch no memory of
    // ours.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool built this way runs its threads below the caller: a local pool (the global one
    /// may be built by another test) with the same start handler.
    #[test]
    fn pool_threads_run_below_the_caller() {
        let base = current_nice().expect("the nice value is readable on Linux");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .start_handler(move |_| set_current_thread_nice((base + WORKER_NICE_STEPS).min(19)))
            .build()
            .expect("a one-thread pool starts");
        let inside = pool.install(current_nice);
        assert_eq!(inside, Some((base + WORKER_NICE_STEPS).min(19)));
        assert_eq!(current_nice(), Some(base), "the caller keeps its priority");
    }
}
