#!/usr/bin/env bash
# Rebuilds assets/demo/RUN.json.gz, the run `auditscope demo` opens.
#
# It is SYNTHETIC: a run written by `auditscope synth` (seed 7, 8 specs, 900 audit events),
# correlated together with the 8 real backtrace-carrying events of APISnoop's
# example-user-agent.log (tests/fixtures/, kubectl with the client-go stacktrace patch).
# The run carries a note saying so, which the explorer and `report summary` show.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --release -q
bin="$root/target/release/auditscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" synth --events 900 --specs 8 --seed 7 -o "$tmp"
cp tests/fixtures/apisnoop-example-user-agent.log "$tmp/"
(cd "$tmp" && "$bin" correlate audit.log apisnoop-example-user-agent.log e2e.log junit_01.xml \
  --note "DEMO RUN: synthetic (auditscope synth --seed 7) plus 8 real kubectl events with backtraces from APISnoop's example-user-agent.log" \
  -o RUN.json)
gzip -9 -n -c "$tmp/RUN.json" > assets/demo/RUN.json.gz
ls -l assets/demo/RUN.json.gz
