//! The command line: clap definitions and the dispatch from a subcommand to the library.
//!
//! Errors from the library arrive as typed errors and leave here as one line on stderr,
//! naming the file, with exit status 2.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::correlate::{self, Inputs, Options};
use crate::report::filter::{FilterArgs, RequestFilter};
use crate::report::{self, OutputFormat};
use crate::run::{Run, format};

/// Correlate Kubernetes API server audit logs with e2e test runs.
#[derive(Debug, Parser)]
#[command(name = "auditscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read an audit log and a description of the e2e run; write the correlated RUN.json.
    Correlate {
        #[command(flatten)]
        source: SourceArgs,
        /// Where to write the run.
        #[arg(short, long, value_name = "RUN.json")]
        output: PathBuf,
        /// A note to keep in the run (shown by `report summary` and the explorer).
        #[arg(long, value_name = "TEXT")]
        note: Vec<String>,
        /// Keep reading what is appended to the audit and e2e logs (like `tail -F`: a rotated
        /// or truncated log is read again from its start), rewriting RUN.json atomically
        /// every `--interval` seconds; ctrl-c writes it a last time and ends.
        #[arg(long)]
        follow: bool,
        /// With `--follow`: seconds between two writes of RUN.json.
        #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
        interval: f64,
    },
    /// Print answers for scripts, from a RUN.json or raw inputs.
    Report {
        #[command(subcommand)]
        report: ReportCommand,
    },
    /// Open the interactive explorer on a RUN.json (or raw inputs, correlated first).
    Explore {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        ui: ExploreArgs,
        /// Keep reading what is appended to the audit and e2e logs (raw inputs only):
        /// new specs, requests and steps appear as they are logged.
        #[arg(long)]
        follow: bool,
        /// With `--follow`: write the run here when the explorer quits.
        #[arg(short, long, value_name = "RUN.json", requires = "follow")]
        output: Option<PathBuf>,
    },
    /// Open the explorer on the bundled demo run (synthetic, see assets/demo/make-demo.sh).
    Demo {
        #[command(flatten)]
        ui: ExploreArgs,
    },
    /// Find a function across every request's backtrace: frames with their request and test
    /// counts. `auditscope search RUN.json PATTERN`, or `search --audit FILE PATTERN`: the last
    /// argument is the pattern (fuzzy, smart case).
    Search {
        #[command(flatten)]
        source: SourceArgs,
        /// At most this many frames.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write runs as Hive-partitioned tables (requests, specs, operations) in Parquet or NDJSON,
    /// for DuckDB, Spark, Trino or BigQuery: `export RUN.json… --out DIR` (see docs/export.md).
    Export {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        export: ExportArgs,
    },
    /// Compare two runs, two releases, or a run with an APISnoop coverage file: endpoints and
    /// tests gained and lost, and the six coverage totals. `--gate` exits 1 when coverage is lost.
    Diff(DiffArgs),
    /// Write a realistic generated run (audit log, entries.log, e2e.log, JUnit) for benchmarks and demos.
    Synth {
        /// Audit events (stage events) to write; about 1.5 KB each.
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// Specs in the run.
        #[arg(long, default_value_t = 20)]
        specs: u32,
        /// Seed: the same options and seed write the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write audit.log.gz instead of audit.log.
        #[arg(long)]
        gzip: bool,
        /// Instead, rebuild the run behind an APISnoop coverage file (X.Y.Z.json, gzip too):
        /// audit.log and e2e.log in which every test of each endpoint's tests[] calls it,
        /// plus controller and kubelet traffic that must not count.
        #[arg(long, value_name = "FILE")]
        from_apisnoop: Option<String>,
        /// The folder to write into (created if missing).
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
    },
}

/// Where a run comes from: a RUN.json, or the raw inputs to correlate first.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// A RUN.json, or inputs whose kind is detected from their content (audit log, ginkgo
    /// log, entries.log, JUnit). `-` is stdin; gzip is detected by its magic bytes.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// An API server audit log (JSON lines, EventList, Event Hubs or OpenSearch export). Repeat for rotated logs.
    #[arg(long, value_name = "FILE")]
    pub audit: Vec<String>,
    /// A ginkgo v1 or v2 e2e log.
    #[arg(long = "e2e-log", value_name = "FILE")]
    pub e2e_log: Vec<String>,
    /// The 2018 spy's entries.log.
    #[arg(long, value_name = "FILE")]
    pub entries: Vec<String>,
    /// A JUnit XML file from ginkgo.
    #[arg(long, value_name = "FILE")]
    pub junit: Vec<String>,
    /// Another OpenAPI v2 spec (an aggregated API or CRDs), added to the release's embedded table.
    #[arg(long, value_name = "FILE")]
    pub openapi: Vec<String>,
    /// The Kubernetes release whose endpoints to match (1.17 to 1.37); detected from the
    /// inputs when absent (e2e log, e2e.test or component user agents), else the latest.
    /// With a RUN.json, its requests are matched again against this release.
    #[arg(long, value_name = "X.Y")]
    pub release: Option<crate::endpoints::Release>,
    /// Make the first malformed audit line an error instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
}

/// Where and how `export` writes.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The file format.
    #[arg(long, value_enum, default_value_t = crate::export::ExportFormat::Parquet)]
    pub format: crate::export::ExportFormat,
    /// The folder that holds the tables (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Gzip the NDJSON files.
    #[arg(long)]
    pub gzip: bool,
    /// The run's partition ID instead of the one derived from it (one run only).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
}

/// How the explorer behaves.
#[derive(Debug, Clone, Args)]
pub struct ExploreArgs {
    /// How `y` copies: OSC 52, `tmux load-buffer`, or not at all (auto picks by $TMUX/$STY).
    #[arg(long, value_enum, default_value_t = crate::tui::ClipboardMode::Auto)]
    pub clipboard: crate::tui::ClipboardMode,
    /// Capture the mouse (scrolling); off by default so text stays selectable over SSH.
    #[arg(long)]
    pub mouse: bool,
    /// Start with the requests of all tests, and those attributed to none.
    #[arg(long)]
    pub all: bool,
    /// A keymap file instead of `~/.config/auditscope/keymap.toml`.
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<PathBuf>,
    /// Compare with an older run: endpoints and tests are marked new, lost or changed. A
    /// RUN.json, raw inputs (repeat the option) or an APISnoop coverage file, as `diff` reads OLD.
    #[arg(long, value_name = "OLD")]
    pub baseline: Vec<String>,
}

impl ExploreArgs {
    fn options(&self) -> crate::tui::ExploreOptions {
        crate::tui::ExploreOptions {
            clipboard: self.clipboard,
            mouse: self.mouse,
            show_all: self.all,
            keymap_path: self.keymap.clone(),
            baseline: None,
        }
    }
}

/// The bundled demo run, gzipped.
const DEMO_RUN: &[u8] = include_bytes!("../assets/demo/RUN.json.gz");

/// Loads the bundled demo run.
pub fn demo_run() -> Result<Run> {
    use std::io::Read;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(DEMO_RUN)
        .read_to_end(&mut bytes)
        .context("the bundled demo run is damaged")?;
    Ok(format::read_run_from_slice(
        &bytes,
        "assets/demo/RUN.json.gz",
    )?)
}

/// The reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Per spec, the count of each `verb path` it made (the 2018 pipeline's output.txt).
    Hits(ReportArgs),
    /// Every request with a client-go backtrace, frame by frame.
    Backtraces(ReportArgs),
    /// One line per request in the API server's own EventString form.
    Events(ReportArgs),
    /// Per spec: status, duration, requests by attribution, distinct keys, operations.
    Tests {
        #[command(flatten)]
        args: ReportArgs,
        /// List the operations each spec hit beneath it.
        #[arg(long)]
        operations: bool,
    },
    /// Lines read, requests, stage events merged, lines skipped by reason, attribution.
    Summary(ReportArgs),
    /// Requests one per line with code, user, impersonation, authorization decision and reason
    /// (e.g. `--code 403` to debug RBAC).
    Requests(ReportArgs),
    /// Per OpenAPI operation: hits, specs, conformance specs, first/last hit, by attribution; then unmatched paths.
    Endpoints(ReportArgs),
    /// Latency per endpoint, spec or user agent: count, p50/p90/p99/max (ms, nearest rank),
    /// slowest p99 first; then the slowest requests. Watches and streams are counted apart.
    Latency {
        #[command(flatten)]
        args: ReportArgs,
        /// What to group by.
        #[arg(long, value_enum, default_value_t = report::latency::LatencyBy::Endpoint)]
        by: report::latency::LatencyBy,
        /// List this many of the slowest requests.
        #[arg(long, default_value_t = 10, value_name = "N")]
        top: usize,
    },
    /// Per spec, its STEP: lines (text, start, location) and the requests received during each;
    /// `outside_steps` counts the rest of the spec's requests.
    Steps(ReportArgs),
    /// Endpoint coverage counted as APISnoop counts it, in the shape of its coverage files
    /// (use `--format json`). Several RUN.json files of one release are merged.
    Coverage {
        #[command(flatten)]
        args: ReportArgs,
        /// Also count requests attributed by time window (default: only those whose user agent names the spec).
        #[arg(long)]
        window: bool,
        /// Count only 2xx and 101 responses as hits.
        #[arg(long)]
        success_only: bool,
        /// The ineligible list: Kubernetes' ineligible_endpoints.yaml or APISnoop's
        /// ineligible_endpoints.json (default: the embedded snapshot of the YAML).
        #[arg(long, value_name = "FILE")]
        ineligible: Option<String>,
        /// Another conformance.yaml (default: the embedded snapshot).
        #[arg(long, value_name = "FILE")]
        conformance: Option<String>,
    },
}

/// Arguments every report takes.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// The arguments of `diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// OLD then NEW: each a RUN.json, an APISnoop coverage file (`resources/coverage/X.Y.Z.json`)
    /// or an input to correlate (kind detected from content). A single one fills the side
    /// that `--old`/`--new` leave empty.
    #[arg(value_name = "OLD NEW")]
    pub sides: Vec<String>,
    /// A further raw input for the old side (e.g. its e2e log or JUnit). Repeat as needed.
    #[arg(long, value_name = "FILE")]
    pub old: Vec<String>,
    /// A further raw input for the new side.
    #[arg(long, value_name = "FILE")]
    pub new: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Exit with status 1 when any endpoint tested in OLD is untested in NEW (conformance-eligible
    /// ones named first); 0 otherwise, 2 for errors.
    #[arg(long)]
    pub gate: bool,
    /// Also count requests attributed by time window as testing (as `report coverage --window`).
    #[arg(long)]
    pub window: bool,
    /// Only 2xx and 101 responses count (as `report coverage --success-only`).
    #[arg(long)]
    pub success_only: bool,
    /// The release whose endpoint table sides given as raw inputs are matched against
    /// (`1.33`); detected from the inputs by default.
    #[arg(long, value_name = "X.Y", value_parser = parse_diff_release)]
    pub release: Option<crate::model::Release>,
    /// List an endpoint as a latency regression when its p50 or p99 grew more than RATIO times
    /// and by at least MIN milliseconds: `RATIO[x][,MIN[ms]]`.
    #[arg(long, value_name = "RATIO[,MIN]", default_value = "1.5x,10ms")]
    pub latency_threshold: crate::diff::LatencyThreshold,
    /// Another OpenAPI v2 spec for sides given as raw inputs.
    #[arg(long, value_name = "FILE")]
    pub openapi: Vec<String>,
    /// Make the first malformed audit line of raw inputs an error.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Parses the arguments, runs the command, and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            if is_broken_pipe(&e) {
                return 0;
            }
            // `diff --gate` found coverage lost: not an error, a verdict (status 1).
            if let Some(gate) = e.downcast_ref::<crate::diff::GateFailed>() {
                eprintln!(
                    "auditscope: {}",
                    crate::text::escape_control(&gate.to_string())
                );
                return 1;
            }
            let message = one_line(&e);
            eprintln!("auditscope: {}", crate::text::escape_control(&message));
            2
        }
    }
}

/// The error and its causes on one line, leaving out a cause its parent already quoted.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message.replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            // serde_json keeps the io::Error inside and does not give it as a source.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Correlate {
            source,
            output,
            note,
            follow: true,
            interval,
        } => follow_correlate(&source, &output, note, interval),
        Command::Correlate {
            source,
            output,
            note,
            follow: false,
            ..
        } => {
            let run = correlate_and_write(&source, note, &output)?;
            let s = report::summary::summary(&run);
            let attr = |k: &str| s.attribution.get(k).copied().unwrap_or(0);
            eprintln!(
                "auditscope: wrote {}: {} requests ({} stage events merged, {} lines skipped), {} specs; ua {}, window {}, ambiguous {}, none {}",
                shown(&output),
                s.requests,
                s.stage_events_merged,
                s.skipped.values().sum::<u64>(),
                s.specs,
                attr("ua"),
                attr("window"),
                attr("ambiguous"),
                attr("none"),
            );
            // The process exits next, and the OS takes its memory back whole: freeing the
            // run's allocations one by one (an audit ID each request) only delays the exit.
            std::mem::forget(run);
            Ok(())
        }
        Command::Report { report } => run_report(report),
        Command::Diff(args) => run_diff(&args),
        Command::Explore {
            source,
            ui,
            follow,
            output,
        } => {
            if follow || !is_single_run(&source) {
                return explore_raw(&source, &ui, follow, output);
            }
            if ui.baseline.is_empty() {
                // A large RUN.json takes seconds to read: the explorer opens at once and
                // shows the run when it is read (a file that is no RUN.json was told apart
                // above; a damaged one closes the explorer with the error).
                return explore_run_file(&source, &ui);
            }
            // The run is read, and any error reported, before the terminal is taken over.
            let run = load_run(&source)?;
            let mut options = ui.options();
            if !ui.baseline.is_empty() {
                let name = source.inputs.join(", ");
                options.baseline = Some(crate::tui::baseline_diff(
                    &run,
                    name,
                    &ui.baseline,
                    source.release,
                )?);
            }
            crate::tui::explore(run, options)
        }
        Command::Export { source, export } => run_export(&source, &export),
        Command::Demo { ui } => {
            let run = demo_run()?;
            let mut options = ui.options();
            if !ui.baseline.is_empty() {
                let name = "assets/demo/RUN.json.gz".to_string();
                options.baseline = Some(crate::tui::baseline_diff(&run, name, &ui.baseline, None)?);
            }
            crate::tui::explore(run, options)
        }
        Command::Search {
            mut source,
            limit,
            json,
        } => {
            let Some(pattern) = source.inputs.pop() else {
                bail!("name the function to look for: auditscope search RUN.json PATTERN");
            };
            let run = load_run(&source)?;
            let index = crate::analysis::RunIndex::build(&run);
            let hits = crate::analysis::search_frames(&index, &pattern, limit);
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            if json {
                write_json(&mut out, &hits)?;
            } else {
                writeln!(out, "{:>8} {:>6}  FUNCTION  FILE:LINE", "REQUESTS", "TESTS")?;
                for h in &hits {
                    writeln!(
                        out,
                        "{:>8} {:>6}  {}  {}:{}",
                        h.requests,
                        h.tests,
                        crate::text::escape_control(&h.function),
                        crate::text::escape_control(&h.file),
                        h.line
                    )?;
                }
            }
            out.flush()?;
            Ok(())
        }
        Command::Synth {
            events,
            specs,
            seed,
            gzip,
            from_apisnoop,
            output,
        } => {
            if let Some(file) = from_apisnoop {
                let bytes = crate::ingest::source::read_to_vec(&file)?;
                let s = crate::synth::apisnoop::from_coverage(&bytes, &output)
                    .with_context(|| format!("{file}: cannot rebuild its run"))?;
                eprintln!(
                    "auditscope: wrote {} ({} test requests, {} by other clients) and {} ({} specs) for release {}",
                    shown(&s.audit_path),
                    s.test_requests,
                    s.other_requests,
                    shown(&s.e2e_log_path),
                    s.specs,
                    s.release
                );
                return Ok(());
            }
            let opts = crate::synth::SynthOptions {
                events,
                specs,
                seed,
                gzip,
                ..Default::default()
            };
            let s = crate::synth::generate(&opts, &output)?;
            eprintln!(
                "auditscope: wrote {} ({} events, {} requests, {} bytes), {}, {}, {} ({} specs)",
                shown(&s.audit_path),
                s.events,
                s.requests,
                s.bytes,
                shown(&s.entries_path),
                shown(&s.e2e_log_path),
                shown(&s.junit_path),
                s.specs
            );
            Ok(())
        }
    }
}

/// A path for a message on stderr, its control characters shown escaped.
fn shown(path: &Path) -> String {
    crate::text::escape_control(&path.display().to_string()).into_owned()
}

/// True when `source` names its inputs by position only (no `--audit`, `--e2e-log`,
/// `--entries`, `--junit` or `--openapi`): the only way RUN.json files are named.
fn only_positional(source: &SourceArgs) -> bool {
    source.audit.is_empty()
        && source.e2e_log.is_empty()
        && source.entries.is_empty()
        && source.junit.is_empty()
        && source.openapi.is_empty()
}

/// True when `source` names one RUN.json and nothing else.
fn is_single_run(source: &SourceArgs) -> bool {
    only_positional(source)
        && matches!(source.inputs.as_slice(), [path] if path != "-" && is_run_file(path))
}

/// The raw inputs and correlation options named on the command line.
fn raw_inputs(source: &SourceArgs) -> Result<(Inputs, Options)> {
    let inputs = Inputs {
        audit: source.audit.clone(),
        e2e_logs: source.e2e_log.clone(),
        entries: source.entries.clone(),
        junit: source.junit.clone(),
        auto: source.inputs.clone(),
    };
    if inputs.is_empty() {
        bail!("no input given: name a RUN.json, or an audit log with --audit FILE");
    }
    let options = Options {
        strict: source.strict,
        progress: false,
        openapi: source.openapi.clone(),
        release: source.release,
        show_walk: false,
    };
    Ok((inputs, options))
}

/// `explore RUN.json`: the run is read on a thread while the explorer is already drawn.
fn explore_run_file(source: &SourceArgs, ui: &ExploreArgs) -> Result<()> {
    let path = source.inputs.first().cloned().unwrap_or_default();
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let what = Path::new(&path)
        .file_name()
        .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
    let source = source.clone();
    let feed = crate::tui::live::Feed::reading(what, bytes, move || {
        load_run(&source).map_err(|e| format!("{e:#}"))
    });
    crate::tui::explore_live(Run::default(), ui.options(), Some(feed))
}

/// `explore` on raw inputs: the explorer opens at once and fills in while they are read;
/// with `--follow` it keeps reading what is appended.
fn explore_raw(
    source: &SourceArgs,
    ui: &ExploreArgs,
    follow: bool,
    output: Option<PathBuf>,
) -> Result<()> {
    use crate::correlate::live;
    let (inputs, options) = raw_inputs(source)?;
    let feed = if follow {
        if inputs.audit.iter().chain(&inputs.auto).any(|p| p == "-") {
            bail!("--follow reads files: stdin (-) cannot be followed");
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rx = live::spawn_follow(
            inputs,
            options,
            std::time::Duration::from_millis(500),
            std::sync::Arc::clone(&stop),
        )?;
        let mut feed = crate::tui::live::Feed::new(rx, Some(stop));
        feed.output = output;
        feed
    } else {
        // Inputs that are missing or of no known kind fail here, before the terminal is
        // taken over.
        let resolved = correlate::resolve(&inputs, &options)?;
        let rx = live::spawn_load(resolved, options, live::DEFAULT_EVERY);
        crate::tui::live::Feed::new(rx, None)
    };
    crate::tui::explore_live(Run::default(), ui.options(), Some(feed))
}

/// `correlate --follow`: reads what is appended to the logs, rewriting `output` every
/// `interval` seconds, until ctrl-c (SIGINT) or SIGTERM; then writes it a last time.
fn follow_correlate(
    source: &SourceArgs,
    output: &std::path::Path,
    note: Vec<String>,
    interval: f64,
) -> Result<()> {
    use std::sync::atomic::Ordering;
    let (inputs, options) = raw_inputs(source)?;
    if inputs.audit.iter().chain(&inputs.auto).any(|p| p == "-") {
        bail!("--follow reads files: stdin (-) cannot be followed");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))?;
    }
    let mut follower = correlate::live::Follower::new(&inputs, &options)?;
    let every = std::time::Duration::from_secs_f64(interval.max(0.1));
    let mut last_write: Option<std::time::Instant> = None;
    let write = |follower: &mut correlate::live::Follower| -> Result<Option<usize>> {
        match follower.snapshot() {
            Ok(mut run) => {
                run.notes.splice(0..0, note.iter().cloned());
                format::write_run(&run, output)?;
                Ok(Some(run.requests.len()))
            }
            Err(e) => {
                eprintln!("auditscope: {e}");
                Ok(None)
            }
        }
    };
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        // Catch up with everything there before the last write.
        let read = follower.poll();
        for said in follower.take_said() {
            eprintln!("auditscope: {}", crate::text::escape_control(&said));
        }
        if stopping && !read {
            break;
        }
        if follower.changed() && last_write.is_none_or(|t| t.elapsed() >= every) {
            write(&mut follower)?;
            last_write = Some(std::time::Instant::now());
        }
        if !read {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    if let Some(n) = write(&mut follower)? {
        eprintln!("auditscope: wrote {}: {n} requests", shown(output));
    }
    Ok(())
}

/// Correlates raw inputs named on the command line.
pub fn correlate_inputs(source: &SourceArgs) -> Result<Run> {
    let (inputs, options) = raw_inputs(source)?;
    let options = Options {
        progress: true,
        show_walk: true,
        ..options
    };
    Ok(correlate::correlate(&inputs, &options)?)
}

/// [`correlate_inputs`] and writing the run to `output` at once (see
/// [`correlate::correlate_and_write`]), with `notes` first among the run's notes.
fn correlate_and_write(source: &SourceArgs, notes: Vec<String>, output: &Path) -> Result<Run> {
    let (inputs, options) = raw_inputs(source)?;
    let options = Options {
        progress: true,
        show_walk: true,
        ..options
    };
    Ok(correlate::correlate_and_write(
        &inputs, &options, notes, output,
    )?)
}

/// Loads the run a command works on: a single RUN.json, or the raw inputs correlated now.
pub fn load_run(source: &SourceArgs) -> Result<Run> {
    load_run_skipping(source, format::Skip::NONE)
}

/// The request columns `report latency` never looks at, left unread for speed.
const LATENCY_SKIPS: &[&str] = &[
    "user",
    "impersonated",
    "source_ips",
    "namespace",
    "name",
    "api_group",
    "api_version",
    "level",
    "stage_events",
    "decision",
    "reason",
    "input",
    "line",
];

/// [`load_run`], leaving the request columns `skip` names unread when the run is a RUN.json
/// (see [`format::read_run_from_slice_skipping`]).
pub fn load_run_skipping(source: &SourceArgs, skip: format::Skip) -> Result<Run> {
    if is_single_run(source)
        && let [path] = source.inputs.as_slice()
    {
        // RUN.json may be gzipped (as the bundled demo is).
        // Read into a buffer of the file's size (growing one by doubling copies it and
        // touches twice the memory), freed before the requests are built.
        let mut opened = crate::ingest::source::open_input(path)?;
        let mut bytes = Vec::new();
        if !opened.gzip
            && let Some(size) = opened.size_on_disk
        {
            bytes.reserve_exact(usize::try_from(size).unwrap_or(0));
        }
        opened.reader.read_to_end(&mut bytes).map_err(|source| {
            crate::ingest::source::classify_read_error(path, opened.gzip, source)
        })?;
        let mut run = format::read_run_from_vec(bytes, path, skip)?;
        if let Some(release) = source.release {
            correlate::rematch(&mut run, release);
        }
        return Ok(run);
    }
    correlate_inputs(source)
}

/// The runs `report coverage` counts: several RUN.json files, each loaded (and matched again
/// with `--release`), or the raw inputs correlated into one run. Also the name of each run
/// for messages.
pub fn load_runs(source: &SourceArgs) -> Result<(Vec<Run>, Vec<String>)> {
    if only_positional(source)
        && source.inputs.len() > 1
        && source.inputs.iter().all(|p| p != "-" && is_run_file(p))
    {
        let mut runs = Vec::with_capacity(source.inputs.len());
        for path in &source.inputs {
            let one = SourceArgs {
                inputs: vec![path.clone()],
                release: source.release,
                ..SourceArgs::default()
            };
            runs.push(load_run(&one)?);
        }
        return Ok((runs, source.inputs.clone()));
    }
    let name = source
        .inputs
        .first()
        .or(source.audit.first())
        .cloned()
        .unwrap_or_default();
    Ok((vec![load_run(source)?], vec![name]))
}

/// The eligibility and conformance lists: the embedded ones, or those of the given files.
fn coverage_rules(
    ineligible: Option<&str>,
    conformance: Option<&str>,
) -> Result<report::coverage::CoverageRules> {
    let mut rules = report::coverage::CoverageRules::embedded();
    if let Some(path) = ineligible {
        let bytes = crate::ingest::source::read_to_vec(path)?;
        rules.eligibility = rules.eligibility.with_ineligible(&bytes, path)?;
    }
    if let Some(path) = conformance {
        let bytes = crate::ingest::source::read_to_vec(path)?;
        rules.conformance =
            crate::endpoints::conformance::ConformanceTests::from_yaml(&bytes, path)?;
    }
    Ok(rules)
}

/// `export`: each RUN.json named is a run; raw inputs make one run.
fn run_export(source: &SourceArgs, args: &ExportArgs) -> Result<()> {
    use crate::export::{Export, ExportOptions, release_of, run_id};
    let only_runs = source.audit.is_empty()
        && source.e2e_log.is_empty()
        && source.entries.is_empty()
        && source.junit.is_empty()
        && source.openapi.is_empty()
        && source.inputs.len() > 1
        && source.inputs.iter().all(|p| p != "-" && is_run_file(p));
    let sources: Vec<SourceArgs> = if only_runs {
        source
            .inputs
            .iter()
            .map(|p| SourceArgs {
                inputs: vec![p.clone()],
                ..SourceArgs::default()
            })
            .collect()
    } else {
        vec![source.clone()]
    };
    if args.run_id.is_some() && sources.len() > 1 {
        bail!("--run-id names one run, and {} were given", sources.len());
    }
    let mut export = Export::begin(&ExportOptions {
        format: args.format,
        out: args.out.clone(),
        gzip: args.gzip,
    })?;
    // One run in memory at a time; nothing is in place until every run is written.
    for s in &sources {
        let run = load_run(s)?;
        let id = args.run_id.clone().unwrap_or_else(|| run_id(&run));
        let e = export.add(&run, &release_of(&run), &id)?;
        let rows: Vec<String> = e
            .tables
            .iter()
            .map(|(name, _, rows)| format!("{rows} {name}"))
            .collect();
        eprintln!(
            "auditscope: {}: release={}/run={}: {}",
            crate::text::escape_control(&s.inputs.join(" ")),
            e.release,
            e.id,
            rows.join(", ")
        );
    }
    export.commit()?;
    eprintln!("auditscope: wrote {}", shown(&args.out));
    Ok(())
}

/// True when `path` (plain or gzip) starts like a RUN.json.
fn is_run_file(path: &str) -> bool {
    !std::path::Path::new(path).is_dir()
        && matches!(
            crate::ingest::kind::detect(path),
            Ok(crate::ingest::kind::InputKind::Run)
        )
}

fn run_report(cmd: ReportCommand) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (args, kind) = match &cmd {
        ReportCommand::Hits(a)
        | ReportCommand::Backtraces(a)
        | ReportCommand::Events(a)
        | ReportCommand::Summary(a)
        | ReportCommand::Requests(a)
        | ReportCommand::Endpoints(a)
        | ReportCommand::Steps(a) => (a, &cmd),
        ReportCommand::Tests { args, .. }
        | ReportCommand::Coverage { args, .. }
        | ReportCommand::Latency { args, .. } => (args, &cmd),
    };
    // A bad filter is reported before any input is read.
    let filter: RequestFilter = args.filter.to_filter()?;
    if let ReportCommand::Coverage {
        window,
        success_only,
        ineligible,
        conformance,
        ..
    } = kind
    {
        let rules = coverage_rules(ineligible.as_deref(), conformance.as_deref())?;
        let (runs, names) = load_runs(&args.source)?;
        let refs: Vec<&Run> = runs.iter().collect();
        let opts = report::coverage::CoverageOptions {
            filter: &filter,
            count_window: *window,
            success_only: *success_only,
            rules: &rules,
        };
        let c = report::coverage::coverage(&refs, &opts).map_err(|e| match e {
            report::coverage::CoverageError::MixedReleases {
                first,
                first_release,
                other,
                other_release,
            } => anyhow::anyhow!(
                "{} is of release {first_release} but {} is of release {other_release}: coverage merges runs of one release",
                names[first],
                names[other]
            ),
            e => e.into(),
        })?;
        match args.format {
            OutputFormat::Text => report::coverage::write_text(&c, &mut out)?,
            OutputFormat::Json => write_json(&mut out, &c)?,
        }
        out.flush().context("writing to stdout")?;
        return Ok(());
    }
    let run = match kind {
        ReportCommand::Latency { .. } => {
            load_run_skipping(&args.source, format::Skip::columns(LATENCY_SKIPS))?
        }
        _ => load_run(&args.source)?,
    };
    let keep = |r: &crate::run::Request| filter.matches(&run, r);
    let format = args.format;
    match kind {
        ReportCommand::Hits(_) => {
            let blocks = report::hits::hits(&run, &keep);
            match format {
                OutputFormat::Text => report::hits::write_text(&blocks, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &blocks)?,
            }
        }
        ReportCommand::Backtraces(_) => {
            let all = report::backtraces::backtraces(&run, &keep);
            match format {
                OutputFormat::Text => report::backtraces::write_text(&all, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &all)?,
            }
        }
        ReportCommand::Events(_) => match format {
            OutputFormat::Text => report::events::write_text(&run, &keep, &mut out)?,
            OutputFormat::Json => write_json_lines(&run, &keep, &mut out)?,
        },
        ReportCommand::Requests(_) => match format {
            OutputFormat::Text => report::events::write_table(&run, &keep, &mut out)?,
            OutputFormat::Json => write_json_lines(&run, &keep, &mut out)?,
        },
        ReportCommand::Tests { operations, .. } => {
            let show = |s: &crate::run::Spec| {
                filter
                    .spec
                    .as_ref()
                    .is_none_or(|re| re.is_match(run.str(s.name)))
            };
            let mut rows = report::tests::tests(&run, &show, &keep);
            if filter.narrows_requests() {
                // Only the specs that hit what the request filters ask for.
                rows.retain(|r| r.requests.values().any(|&n| n > 0));
            }
            match format {
                OutputFormat::Text => report::tests::write_text(&rows, *operations, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &rows)?,
            }
        }
        ReportCommand::Summary(_) => {
            let s = report::summary::summary(&run);
            match format {
                OutputFormat::Text => s.write_text(&mut out)?,
                OutputFormat::Json => write_json(&mut out, &s)?,
            }
        }
        ReportCommand::Endpoints(_) => {
            let r = report::endpoints::endpoints_report(&run, &filter);
            match format {
                OutputFormat::Text => r.write_text(&mut out)?,
                OutputFormat::Json => write_json(&mut out, &r)?,
            }
        }
        ReportCommand::Steps(_) => {
            let show = |s: &crate::run::Spec| {
                filter
                    .spec
                    .as_ref()
                    .is_none_or(|re| re.is_match(run.str(s.name)))
            };
            let rows = report::steps::steps_report(&run, &show, &keep);
            match format {
                OutputFormat::Text => report::steps::write_text(&rows, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &rows)?,
            }
        }
        ReportCommand::Latency { by, top, .. } => {
            let r = report::latency::latency_report(&run, &keep, *by, *top);
            match format {
                OutputFormat::Text => r.write_text(&mut out)?,
                OutputFormat::Json => write_json(&mut out, &r)?,
            }
        }
        ReportCommand::Coverage { .. } => unreachable!("handled above"),
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// Reads `--release X.Y` of `diff`.
fn parse_diff_release(text: &str) -> std::result::Result<crate::model::Release, String> {
    crate::model::Release::parse(text)
        .ok_or_else(|| format!("{text:?} is not a release such as 1.33"))
}

/// `auditscope diff`: reads both sides, writes the comparison, then applies `--gate`.
fn run_diff(args: &DiffArgs) -> Result<()> {
    // A bad filter is reported before any input is read.
    args.filter.to_filter()?;
    let (mut old, mut new) = (args.old.clone(), args.new.clone());
    match args.sides.as_slice() {
        [] => {}
        [one] if old.is_empty() && !new.is_empty() => old.insert(0, one.clone()),
        [one] if new.is_empty() && !old.is_empty() => new.insert(0, one.clone()),
        [o, n] => {
            old.insert(0, o.clone());
            new.insert(0, n.clone());
        }
        _ => bail!("name two sides to compare: auditscope diff OLD NEW"),
    }
    let opts = crate::diff::SideOptions {
        filter: args.filter.clone(),
        count_window: args.window,
        success_only: args.success_only,
        release: args.release,
        openapi: args.openapi.clone(),
        strict: args.strict,
        progress: true,
    };
    let mut clock = correlate::StageClock::from_env();
    // One side after the other: each read already uses every core, and the second reuses the
    // memory the first touched instead of faulting in fresh pages.
    let (old, new) = crate::diff::load_sides(&old, &new, &opts)?;
    clock.lap("read both sides");
    let diff = crate::diff::compare_with(&old, &new, args.latency_threshold);
    clock.lap("compare");
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        OutputFormat::Text => crate::diff::write_text(&diff, &mut out)?,
        OutputFormat::Json => write_json(&mut out, &diff)?,
    }
    out.flush().context("writing to stdout")?;
    clock.lap("write");
    if args.gate {
        diff.gate()?;
    }
    Ok(())
}

fn write_json_lines(
    run: &Run,
    keep: &dyn Fn(&crate::run::Request) -> bool,
    out: &mut dyn Write,
) -> Result<()> {
    for req in run.requests.iter().filter(|r| keep(r)) {
        crate::text::write_json(&mut *out, &report::events::event_json(run, req), false)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> Result<()> {
    crate::text::write_json(&mut *out, value, true)?;
    out.write_all(b"\n")?;
    Ok(())
}
