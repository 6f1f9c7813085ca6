//! Reports: the answers `auditscope report …` prints for scripts, as text or JSON.
//!
//! Each report is a pure function from a [`Run`](crate::run::Run) (and a request filter) to a
//! value that can be written as text or serialized as JSON, so the two forms always agree.

pub mod backtraces;
pub mod coverage;
pub mod endpoints;
pub mod events;
pub mod filter;
pub mod hits;
pub mod latency;
pub mod steps;
pub mod summary;
pub mod tests;

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Text for people (and for the 2018 tools' users, in their formats).
    #[default]
    Text,
    /// The same content as JSON.
    Json,
}

/// The key the 2018 pipeline counted by: `verb path`, query string removed.
pub fn verb_path_key(run: &crate::run::Run, req: &crate::run::Request) -> String {
    format!("{} {}", run.str(req.verb), run.path_of(req))
}
