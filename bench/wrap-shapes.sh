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
# The batch and export shapes, built from the same lines by Python (each event kept byte for
# byte inside its wrapper; as a JSON string where the shape carries the event as a string):
# OUTDIR/eventlist.jsonl      {"kind":"EventList",…,"items":[<100 events>]} per line (webhook batches)
# OUTDIR/opensearch.jsonl     {"_index":…,"_source":{"Body.value":"<event>"}} per line
# OUTDIR/eventhubs.json       {"records":[{"properties":{"log":"<event>"}},…]} (one document)
# OUTDIR/cloudwatch.json      {"events":[{"message":"<event>",…},…]} (filter-log-events, one document)
# OUTDIR/cloudwatch-pretty.json  the same, indented as the aws CLI prints it (one item field a line)
python3 - "$in" "$out" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
lines = [l.rstrip("\n") for l in open(src, encoding="utf-8") if l.strip()]
with open(f"{out}/eventlist.jsonl", "w") as f:
    for i in range(0, len(lines), 100):
        f.write('{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[')
        f.write(",".join(lines[i:i + 100]))
        f.write("]}\n")
with open(f"{out}/opensearch.jsonl", "w") as f:
    for l in lines:
        f.write('{"_index":"audit-2026.01.01","_id":"x","_source":{"Body.value":%s}}\n' % json.dumps(l))
with open(f"{out}/eventhubs.json", "w") as f:
    f.write('{"records":[')
    f.write(",".join('{"category":"kube-audit","properties":{"log":%s}}' % json.dumps(l) for l in lines))
    f.write("]}\n")
with open(f"{out}/cloudwatch.json", "w") as f:
    f.write('{"events":[')
    f.write(",".join('{"logStreamName":"kube-apiserver-audit-x","timestamp":1767225600000,"message":%s,"ingestionTime":1767225600000,"eventId":"%d"}' % (json.dumps(l), i) for i, l in enumerate(lines)))
    f.write('],"searchedLogStreams":[]}\n')
with open(f"{out}/cloudwatch-pretty.json", "w") as f:
    f.write('{\n    "events": [\n')
    f.write(",\n".join('        {\n            "logStreamName": "kube-apiserver-audit-x",\n            "timestamp": 1767225600000,\n            "message": %s,\n            "ingestionTime": 1767225600000,\n            "eventId": "%d"\n        }' % (json.dumps(l), i) for i, l in enumerate(lines)))
    f.write('\n    ],\n    "searchedLogStreams": []\n}\n')
PY
