#!/usr/bin/env bash
# Rebuilds assets/demo/RUN.json.gz, the run `auditscope demo` opens.
#
# It is SYNTHETIC: a run written by `auditscope synth` (seed 7, 8 specs, 900 audit events; a
# ginkgo v2 e2e.log with STEP lines, JUnit, an audit log), correlated together with the 8 real
# 2018 backtrace-carrying events of APISnoop's example-user-agent.log (tests/fixtures/, kubectl
# with the client-go stacktrace patch).
# - The modern part: the requests of the first four specs (received before 03:34:12, when the
#   fifth spec starts) have their `stacktrace=[…]` removed from the user agent, as in every
#   modern run (the patch was never merged): the explorer's third pane shows spec → step →
#   endpoint for them, from the STEP lines.
# - The 2018-style part: the last four specs keep synth's client-go backtraces, and the 8 real
#   kubectl events keep theirs.
# The run carries a note saying so, which the explorer and `report summary` show. The demo of
# before steps were read is kept as tests/fixtures/demo-2018-RUN.json.gz.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --release -q
bin="${CARGO_TARGET_DIR:-$root/target}/release/auditscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" synth --events 900 --specs 8 --seed 7 -o "$tmp"
cp tests/fixtures/apisnoop-example-user-agent.log "$tmp/"
# A trace ends at its `]`, or at the end of the user agent when it was truncated.
perl -pi -e 'if (/"requestReceivedTimestamp":"([^"]+)"/ && $1 lt "2018-06-05T03:34:12") { s/ stacktrace=\[(?:[^\]"]*\]|[^"]*)//g }' "$tmp/audit.log"
(cd "$tmp" && "$bin" correlate audit.log apisnoop-example-user-agent.log e2e.log junit_01.xml \
  --note "DEMO RUN: synthetic. A run written by auditscope synth --seed 7 (ginkgo v2 e2e.log with STEP lines, JUnit, audit log); the requests of its first four specs carry no backtrace, as in every modern run (the third pane shows spec → step → endpoint), the last four keep synthetic 2018-style client-go backtraces; plus 8 real 2018 kubectl events with backtraces from APISnoop's example-user-agent.log" \
  -o RUN.json)
gzip -9 -n -c "$tmp/RUN.json" > assets/demo/RUN.json.gz
ls -l assets/demo/RUN.json.gz
