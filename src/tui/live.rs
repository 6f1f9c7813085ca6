//! The explorer while its run is still being read: on raw inputs it opens at once on what
//! is read so far and fills in as reading goes on ([`crate::correlate::live::spawn_load`]);
//! with `--follow` it keeps reading what is appended to the logs
//! ([`crate::correlate::live::spawn_follow`]). Each snapshot the reading thread sends replaces
//! the run shown ([`App::reload`]: the selection, focus and filters stay), and the status line
//! says where reading is.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use super::App;
use super::app::Derived;
use crate::correlate::live::{LiveStatus, Update};
use crate::run::Run;

/// A run with what the explorer derives from it.
type Shown = (Run, Derived);

/// A snapshot with its index, built off the event loop's thread.
struct Indexed {
    run: Option<Shown>,
    status: LiveStatus,
    /// See [`Update::held`]: dropped once the run this one replaces is freed.
    held: Option<Arc<()>>,
}

/// Snapshots coming from a reading thread.
pub struct Feed {
    rx: Receiver<Indexed>,
    /// The last status received.
    pub status: LiveStatus,
    /// The reading thread has ended (loading finished, or it failed).
    pub ended: bool,
    /// Set to stop a followed run (on quit).
    stop: Option<Arc<AtomicBool>>,
    /// Where to write the run when the explorer quits (`--follow -o RUN.json`).
    pub output: Option<PathBuf>,
    /// Loading failed (a damaged gzip stream, a log without events): the explorer closes
    /// and this is the error it ends with.
    pub failed: Option<String>,
}

impl Feed {
    /// Takes snapshots from `rx`; `stop` stops the thread when the explorer quits.
    pub fn new(updates: Receiver<Update>, stop: Option<Arc<AtomicBool>>) -> Feed {
        // The index of a large run takes a while to build: a relay thread builds it, so keys
        // keep answering while snapshots arrive. Only the newest waiting snapshot is indexed.
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            while let Ok(mut update) = updates.recv() {
                while let Ok(newer) = updates.try_recv() {
                    let (run, held) = match newer.run {
                        Some(run) => (Some(run), newer.held),
                        None => (update.run, update.held),
                    };
                    update = Update {
                        run,
                        status: newer.status,
                        held,
                    };
                }
                // The index, the latencies and the views' counts are built here, not on the
                // event loop's thread; the Endpoints view (a coverage count, the costliest)
                // only for the whole run.
                let run = update
                    .run
                    .map(|run| Derived::build(run, update.status.complete));
                let indexed = Indexed {
                    run,
                    status: update.status,
                    held: update.held,
                };
                if tx.send(indexed).is_err() {
                    return;
                }
            }
        });
        Feed {
            rx,
            status: LiveStatus::default(),
            ended: false,
            stop,
            output: None,
            failed: None,
        }
    }

    /// Reads a whole run on a thread (`explore RUN.json`): the explorer opens at once, says
    /// it is reading `what` (`bytes` long, 0 when unknown), and shows the run when `read` returns it; an
    /// error closes the explorer with that error, as for raw inputs.
    pub fn reading(
        what: String,
        bytes: u64,
        read: impl FnOnce() -> Result<Run, String> + Send + 'static,
    ) -> Feed {
        let (tx, rx) = channel();
        let started = std::time::Instant::now();
        let status = LiveStatus {
            reading: Some(what),
            // A run already in memory has no size to tell.
            total: (bytes > 0).then_some(bytes),
            ..LiveStatus::default()
        };
        let _ = tx.send(Update {
            run: None,
            status: status.clone(),
            held: None,
        });
        std::thread::spawn(move || {
            let update = match read() {
                Ok(run) => Update {
                    status: LiveStatus {
                        complete: true,
                        bytes,
                        requests: run.requests.len(),
                        elapsed: started.elapsed().as_secs_f64(),
                        ..status
                    },
                    run: Some(run),
                    held: None,
                },
                Err(e) => Update {
                    run: None,
                    status: LiveStatus {
                        error: Some(e),
                        ..status
                    },
                    held: None,
                },
            };
            let _ = tx.send(update);
        });
        Feed::new(rx, None)
    }

    /// Takes every update waiting; the newest run replaces the app's. True when anything
    /// changed (the screen is drawn again).
    pub fn apply(&mut self, app: &mut App) -> bool {
        let mut newest: Option<(Shown, Option<Arc<()>>)> = None;
        let mut changed = false;
        loop {
            match self.rx.try_recv() {
                Ok(update) => {
                    changed = true;
                    if update.run.is_none()
                        && self.stop.is_none()
                        && let Some(e) = &update.status.error
                    {
                        // Loading once failed: nothing more will come.
                        self.failed = Some(e.clone());
                        app.quit = true;
                    }
                    if let Some(run) = update.run {
                        newest = Some((run, update.held));
                    }
                    self.status = update.status;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    changed |= !self.ended;
                    self.ended = true;
                    break;
                }
            }
        }
        if changed {
            // Set before the reload: the first screen's message depends on it.
            app.ctx.reading = self.status.follow || !self.status.complete;
        }
        if let Some(((run, derived), held)) = newest {
            let old = app.reload_derived(run, derived);
            // Freeing a large run takes milliseconds: not on the event loop's thread. The
            // reading thread takes its next snapshot once this one is freed.
            std::thread::spawn(move || {
                drop(old);
                drop(held);
            });
        }
        if changed {
            // A RUN.json read whole has nothing more to say once it is shown.
            let read = self.status.reading.is_some() && self.status.complete;
            app.live = (!read).then(|| self.status.line());
        }
        changed
    }

    /// How long the event loop waits for a key before looking for a snapshot.
    pub fn tick(&self) -> Duration {
        if self.ended {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(100)
        }
    }

    /// Stops a followed run and waits (a few seconds at most) for its final snapshot.
    pub fn finish(&mut self) -> Option<Run> {
        let stop = self.stop.as_ref()?;
        stop.store(true, Ordering::Relaxed);
        let mut last = None;
        while let Ok(update) = self.rx.recv_timeout(Duration::from_secs(30)) {
            if let Some((run, _)) = update.run {
                last = Some(run);
            }
        }
        last
    }
}
