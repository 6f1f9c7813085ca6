#!/usr/bin/env bash
# Writes wrapped copies of a plain JSON-lines audit log, for comparing reading speeds:
#   bench/wrap-shapes.sh audit.log OUTDIR
# OUTDIR/log-wrapper.jsonl  {"log":"<event as a string>\n","stream":"stdout","time":…} (docker, fluentd)
# OUTDIR/cri.log            <time> stdout F <event>   (CRI container log)
# OUTDIR/s3-export.log      <time> <event>            (CloudWatch export to S3)
set -euo pipefail
in=$1
out=$2
mkdir -p "$out"
# Escape backslashes and quotes: the event becomes a JSON string.
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
    -e 's/^/{"log":"/' -e 's/$/\\n","stream":"stdout","time":"2026-01-01T00:00:00.000000000Z"}/' \
    "$in" >"$out/log-wrapper.jsonl"
sed -e 's/^/2026-01-01T00:00:00.000000000Z stdout F /' "$in" >"$out/cri.log"
sed -e 's/^/2026-01-01T00:00:00.000Z /' "$in" >"$out/s3-export.log"
