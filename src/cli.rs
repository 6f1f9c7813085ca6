//! The command line: clap definitions and the dispatch from a subcommand to the library.
//!
//! Errors from the library arrive as typed errors and leave here as one line on stderr,
//! naming the file, with exit status 2.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::correlate::{self, Inputs, Options};
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
    },
    /// Print answers for scripts, from a RUN.json or raw inputs.
    Report {
        #[command(subcommand)]
        report: ReportCommand,
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
    /// Another OpenAPI v2 spec (a release, an aggregated API or CRDs), added to the embedded v1.35 table.
    #[arg(long, value_name = "FILE")]
    pub openapi: Vec<String>,
    /// Make the first malformed audit line an error instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
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
}

/// Arguments every report takes.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
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
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("auditscope: {}", crate::text::escape_control(&message));
            2
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Correlate { source, output } => {
            let run = correlate_inputs(&source)?;
            format::write_run(&run, &output)?;
            let s = report::summary::summary(&run);
            let attr = |k: &str| s.attribution.get(k).copied().unwrap_or(0);
            eprintln!(
                "auditscope: wrote {}: {} requests ({} stage events merged, {} lines skipped), {} specs; ua {}, window {}, ambiguous {}, none {}",
                output.display(),
                s.requests,
                s.stage_events_merged,
                s.skipped.values().sum::<u64>(),
                s.specs,
                attr("ua"),
                attr("window"),
                attr("ambiguous"),
                attr("none"),
            );
            Ok(())
        }
        Command::Report { report } => run_report(report),
    }
}

/// Correlates raw inputs named on the command line.
pub fn correlate_inputs(source: &SourceArgs) -> Result<Run> {
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
        progress: true,
        openapi: source.openapi.clone(),
    };
    Ok(correlate::correlate(&inputs, &options)?)
}

/// Loads the run a command works on: a single RUN.json, or the raw inputs correlated now.
pub fn load_run(source: &SourceArgs) -> Result<Run> {
    let only_positional = source.audit.is_empty()
        && source.e2e_log.is_empty()
        && source.entries.is_empty()
        && source.junit.is_empty()
        && source.openapi.is_empty();
    if only_positional
        && let [path] = source.inputs.as_slice()
        && path != "-"
        && is_run_file(Path::new(path))
    {
        return format::read_run(Path::new(path)).map_err(Into::into);
    }
    correlate_inputs(source)
}

fn is_run_file(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(256);
    if file.take(256).read_to_end(&mut head).is_err() {
        return false;
    }
    format::looks_like_run(&head)
}

fn run_report(cmd: ReportCommand) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let keep_all = |_: &crate::run::Request| true;
    match cmd {
        ReportCommand::Hits(args) => {
            let run = load_run(&args.source)?;
            let blocks = report::hits::hits(&run, &keep_all);
            match args.format {
                OutputFormat::Text => report::hits::write_text(&blocks, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &blocks)?,
            }
        }
        ReportCommand::Backtraces(args) => {
            let run = load_run(&args.source)?;
            let all = report::backtraces::backtraces(&run, &keep_all);
            match args.format {
                OutputFormat::Text => report::backtraces::write_text(&all, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &all)?,
            }
        }
        ReportCommand::Events(args) => {
            let run = load_run(&args.source)?;
            match args.format {
                OutputFormat::Text => report::events::write_text(&run, &keep_all, &mut out)?,
                OutputFormat::Json => {
                    for req in &run.requests {
                        serde_json::to_writer(&mut out, &report::events::event_json(&run, req))?;
                        out.write_all(b"\n")?;
                    }
                }
            }
        }
        ReportCommand::Tests { args, operations } => {
            let run = load_run(&args.source)?;
            let rows = report::tests::tests(&run, &|_| true, &keep_all);
            match args.format {
                OutputFormat::Text => report::tests::write_text(&rows, operations, &mut out)?,
                OutputFormat::Json => write_json(&mut out, &rows)?,
            }
        }
        ReportCommand::Summary(args) => {
            let run = load_run(&args.source)?;
            let s = report::summary::summary(&run);
            match args.format {
                OutputFormat::Text => s.write_text(&mut out)?,
                OutputFormat::Json => write_json(&mut out, &s)?,
            }
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

fn write_json<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}
