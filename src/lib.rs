//! auditscope: correlate a Kubernetes API server audit log with the e2e run that caused it.
//!
//! The modules follow the data's journey:
//! - [`model`] holds the small shared types (typed ids, strings, operations);
//! - [`ingest`] reads the raw inputs (audit events, e2e logs, JUnit, user agents);
//! - [`endpoints`] maps a request to its OpenAPI operation;
//! - [`correlate`] merges stage events into requests and ties each request to a spec;
//! - [`run`] is the correlated run in memory and its `RUN.json` file format;
//! - [`analysis`] derives indexes and call trees from a run (for the explorer and `search`);
//! - [`report`] prints answers for scripts; [`diff`] compares two runs or releases;
//! - [`export`] writes runs as Parquet or NDJSON tables for query engines;
//! - [`tui`] is the interactive explorer;
//! - [`synth`] writes realistic generated runs for benchmarks and the demo.

pub mod allocator;
pub mod analysis;
pub mod cli;
pub mod correlate;
pub mod diff;
pub mod endpoints;
pub mod export;
pub mod fasthash;
pub mod ingest;
pub mod model;
pub mod report;
pub mod run;
pub mod synth;
pub mod text;
pub mod tui;
