#!/usr/bin/env bash
# Speed and scale benchmark of auditscope (see BENCHMARKS.md).
#
# In one run, on the same generated files, measures side by side:
#   - `auditscope correlate` wall time and peak RSS on the main log (plain and gzip);
#   - the same log through `jq -c '[.verb,.requestURI]'` and a bare Python `json.loads` loop;
#   - the floor (examples/floor.rs): a borrowed serde struct of the six fields correlation
#     needs, parsed on rayon line by line; correlate's target is at most 1.2x of it;
#   - opening RUN.json to the first frame and per-keystroke latency in the explorer (headless);
#   - scaling: 100k, 1M and 5M requests, and the explorer on the largest point's RUN.json.
# Generated files live under $SCRATCH (default /tmp/auditscope-bench), never in the repository,
# and are deleted at the end unless KEEP=1.
#
# Environment:
#   SCRATCH   scratch directory                       (default /tmp/auditscope-bench)
#   EVENTS    stage events of the main log            (default 900000: ~1.4 GB)
#   SPECS     specs in the generated runs              (default 1000)
#   SCALE     requests of the scaling points (default "100000 1000000 5000000"; "" for none)
#   BIN       the auditscope binary                     (default: cargo build --release)
#   EXPLORE   the explore_bench example binary          (default: beside BIN, built if missing)
#   FLOOR     the floor example binary                  (default: beside BIN, built if missing)
#   REPEAT    runs of Python and the explorer on the main log; medians are reported
#             (default 3: the machine is shared, one run can be off by 20%)
#   PAIRS     runs of correlate and the floor, alternating (default 5: their ratio is the bar, and
#             one run of either can be off by 20% on a shared machine)
#   SKIP_JQ=1 skip jq (slow); KEEP=1 keep the generated files
set -euo pipefail

SCRATCH=${SCRATCH:-/tmp/auditscope-bench}
EVENTS=${EVENTS:-900000}
SPECS=${SPECS:-1000}
SCALE=${SCALE-"100000 1000000 5000000"}
REPEAT=${REPEAT:-3}
PAIRS=${PAIRS:-5}
# Stage events per request in generated runs (measured: 200000 events make 95778 requests).
EVENTS_PER_REQUEST=2.09

here=$(cd "$(dirname "$0")/.." && pwd)
for tool in jq python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
    (cd "$here" && cargo build --release --quiet)
    BIN=${CARGO_TARGET_DIR:-$here/target}/release/auditscope
fi
mkdir -p "$SCRATCH"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$SCRATCH"/main "$SCRATCH"/main-gz "$SCRATCH"/scale-*; }
trap cleanup EXIT

cat >"$SCRATCH/loads.py" <<'EOF'
import json, sys
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        if line.strip():
            json.loads(line)
            n += 1
print(n, file=sys.stderr)
EOF

# Runs a command, prints "<wall seconds> <peak RSS KB> <CPU seconds (user + system)>" (its
# output goes to $SCRATCH/cmd.*). CPU seconds are shown because wall times on a shared machine
# depend on the load; the load average is printed with each table.
measure() {
    /usr/bin/time -o "$SCRATCH/time.out" -f "%e %M %U %S" "$@" >"$SCRATCH/cmd.out" 2>"$SCRATCH/cmd.err"
    read -r e m u s <"$SCRATCH/time.out"
    echo "$e $m $(python3 -c "print(round($u+$s, 2))")"
}
# The request count from correlate's "wrote RUN.json: N requests (…)" line.
requests_of() { grep -o '[0-9]* requests' "$1" | head -1 | cut -d' ' -f1; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
mb() { python3 -c "print(f'{$1/1e6:.0f}')"; }

echo "## Machine"
echo "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
free -g | sed -n 1,2p
echo "auditscope: $("$BIN" --version 2>/dev/null || echo "$BIN")"
echo

correlate() { # dir audit-file -> "<s> <KB>"
    measure "$BIN" correlate "$2" "$1/e2e.log" "$1/junit_01.xml" -o "$1/RUN.json"
}

echo "## Main log: synth --events $EVENTS --specs $SPECS"
"$BIN" synth --events "$EVENTS" --specs "$SPECS" -o "$SCRATCH/main" 2>&1 | tail -1
"$BIN" synth --events "$EVENTS" --specs "$SPECS" --gzip -o "$SCRATCH/main-gz" >/dev/null 2>&1 || true
log="$SCRATCH/main/audit.log"
bytes=$(stat -c %s "$log")
echo "log: $bytes bytes ($(mb "$bytes") MB), $(wc -l <"$log") lines"
sync
cat "$log" >/dev/null # warm the page cache so every reader sees the same cache state

# The median of $REPEAT measurements of a command: "<wall s> <peak RSS KB> <CPU s>", the run
# with the median wall time. Correlate, the floor and Python alternate, so drifting load hits them alike.
median_of() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
FLOOR=${FLOOR:-$(dirname "$BIN")/examples/floor}
if [ ! -x "$FLOOR" ]; then
    (cd "$here" && cargo build --release --quiet --example floor)
fi
: >"$SCRATCH/c.runs"
: >"$SCRATCH/py.runs"
: >"$SCRATCH/f.runs"
for i in $(seq "$PAIRS"); do
    correlate "$SCRATCH/main" "$log" >>"$SCRATCH/c.runs"
    cp "$SCRATCH/cmd.err" "$SCRATCH/correlate.err"
    measure "$FLOOR" "$log" >>"$SCRATCH/f.runs"
    [ "$i" -gt "$REPEAT" ] || measure python3 "$SCRATCH/loads.py" "$log" >>"$SCRATCH/py.runs"
done
echo "correlate runs (wall s, peak KB, CPU s): $(tr '\n' ';' <"$SCRATCH/c.runs")"
echo "floor runs     (wall s, peak KB, CPU s): $(tr '\n' ';' <"$SCRATCH/f.runs")"
echo "python runs    (wall s, peak KB, CPU s): $(tr '\n' ';' <"$SCRATCH/py.runs")"
read -r f_s f_kb f_cpu < <(median_of <"$SCRATCH/f.runs")
read -r c_s c_kb c_cpu < <(median_of <"$SCRATCH/c.runs")
requests=$(requests_of "$SCRATCH/correlate.err")
run_bytes=$(stat -c %s "$SCRATCH/main/RUN.json")
read -r py_s py_kb py_cpu < <(median_of <"$SCRATCH/py.runs")
if [ "${SKIP_JQ:-0}" != 1 ]; then
    read -r jq_s jq_kb jq_cpu < <(measure jq -c '[.verb,.requestURI]' "$log")
else
    jq_s=nan jq_kb=0 jq_cpu=nan
fi
echo "requests: $requests; RUN.json: $run_bytes bytes ($(python3 -c "print(round($run_bytes/$requests))") bytes/request)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %10s %12s\n' "tool" "wall s" "CPU s" "peak MB" "MB/s"
printf '%-34s %8s %8s %10s %12s\n' "auditscope correlate" "$c_s" "$c_cpu" "$((c_kb / 1024))" "$(python3 -c "print(round($bytes/1e6/$c_s))")"
printf '%-34s %8s %8s %10s %12s\n' "floor (serde, 6 fields, rayon)" "$f_s" "$f_cpu" "$((f_kb / 1024))" "$(python3 -c "print(round($bytes/1e6/$f_s))")"
printf '%-34s %8s %8s %10s %12s\n' "python3 json.loads loop" "$py_s" "$py_cpu" "$((py_kb / 1024))" "$(python3 -c "print(round($bytes/1e6/$py_s))")"
printf '%-34s %8s %8s %10s %12s\n' "jq -c '[.verb,.requestURI]'" "$jq_s" "$jq_cpu" "$((jq_kb / 1024))" "$(python3 -c "print('-' if '$jq_s'=='nan' else round($bytes/1e6/$jq_s))")"
echo "correlate / floor (wall): $(ratio "$c_s" "$f_s") (target <= 1.2); CPU: $(ratio "$c_cpu" "$f_cpu")"
echo "correlate / python (wall): $(ratio "$c_s" "$py_s") (target <= 0.35); CPU: $(ratio "$c_cpu" "$py_cpu")"
[ "$jq_s" = nan ] || echo "correlate / jq: $(ratio "$c_s" "$jq_s")"
echo "peak RSS / log size: $(python3 -c "print(f'{$c_kb*1024/$bytes*100:.1f}%')") (target <= 25%)"

gz="$SCRATCH/main-gz/audit.log.gz"
if [ -f "$gz" ]; then
    cat "$gz" >/dev/null
    : >"$SCRATCH/g.runs"
    for _ in $(seq "$REPEAT"); do correlate "$SCRATCH/main-gz" "$gz" >>"$SCRATCH/g.runs"; done
    echo "gzip runs (wall s, peak KB, CPU s): $(tr '\n' ';' <"$SCRATCH/g.runs")"
    read -r g_s g_kb g_cpu < <(median_of <"$SCRATCH/g.runs")
    echo "gzip: $(stat -c %s "$gz") bytes compressed; correlate $g_s s ($g_cpu s CPU), peak $((g_kb / 1024)) MB," \
        "$(python3 -c "print(round($bytes/1e6/$g_s))") MB/s of decompressed data (target >= 250)"
fi
echo

echo "## First screen in tmux at 120x40 (bench/first-screen.sh; REPEAT runs each)"
# explore on the raw log: the first screen is the panes drawn (they fill in while the log is
# read), "done" is the status line saying "complete:". lnav: the first log line drawn, and
# done when its status shows the view at 100% of the file. Peak RSS at done.
if command -v tmux >/dev/null; then
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-40s %10s %10s %10s\n' "program" "first s" "done s" "peak MB"
    for _ in $(seq "$REPEAT"); do
        read -r f d r < <("$here/bench/first-screen.sh" 'Tests \(' 'complete:' -- \
            "$BIN" explore --audit "$log" --e2e-log "$SCRATCH/main/e2e.log" --junit "$SCRATCH/main/junit_01.xml")
        printf '%-40s %10s %10s %10s\n' "auditscope explore --audit (raw log)" "$f" "$d" "$r"
        # explore RUN.json reads the run on a thread: first screen at once, done when the run is
        # shown (a count in the Tests pane's title).
        read -r f d r < <("$here/bench/first-screen.sh" 'Tests \(' 'Tests \([1-9]' -- "$BIN" explore "$SCRATCH/main/RUN.json")
        printf '%-40s %10s %10s %10s\n' "auditscope explore RUN.json" "$f" "$d" "$r"
        if command -v lnav >/dev/null; then
            read -r f d r < <("$here/bench/first-screen.sh" '^\{"kind":"Event"' 'L[0-9]+ +100%' -- lnav "$log")
            printf '%-40s %10s %10s %10s\n' "lnav $(lnav -V | head -1 | cut -d' ' -f2)" "$f" "$d" "$r"
        fi
    done
    command -v lnav >/dev/null || echo "(lnav not installed: apt-get install lnav)"
else
    echo "tmux not installed: first screens not measured"
fi
echo

echo "## Explorer on the main RUN.json (headless: examples/explore_bench.rs, TestBackend 160x48)"
EXPLORE=${EXPLORE:-$(dirname "$BIN")/examples/explore_bench}
if [ ! -x "$EXPLORE" ]; then
    (cd "$here" && cargo build --release --quiet --example explore_bench) || true
fi
if [ -x "$EXPLORE" ]; then
    for i in $(seq "$REPEAT"); do
        echo "run $i:"
        "$EXPLORE" "$SCRATCH/main/RUN.json"
    done
    echo "(targets: first frame within 1 s, every keystroke under 50 ms; explorer RSS <= 25% of the log:" \
        "$((bytes / 4 / 1048576)) MB)"
else
    echo "explorer benchmark not built: cargo build --release --example explore_bench"
fi
echo

echo "## Scaling"
avail_kb=$(df -Pk "$SCRATCH" | awk 'NR==2 {print $4}')
printf '%10s %10s %12s %8s %10s %10s %14s\n' requests events "log MB" "wall s" "peak MB" "MB/s" "RSS/log"
for req in $SCALE; do
    events=$(python3 -c "print(round($req*$EVENTS_PER_REQUEST))")
    need_kb=$(python3 -c "print(round($events*1600/1024*1.1))")
    if [ "$need_kb" -gt "$avail_kb" ]; then
        echo "skip $req requests: needs ~$((need_kb / 1048576)) GB in $SCRATCH, $((avail_kb / 1048576)) GB free"
        continue
    fi
    dir="$SCRATCH/scale-$req"
    "$BIN" synth --events "$events" --specs "$SPECS" -o "$dir" >/dev/null 2>&1
    b=$(stat -c %s "$dir/audit.log")
    read -r s kb _ < <(correlate "$dir" "$dir/audit.log")
    got=$(requests_of "$SCRATCH/cmd.err")
    printf '%10s %10s %12s %8s %10s %10s %13s%%\n' "$got" "$events" "$(mb "$b")" "$s" "$((kb / 1024))" \
        "$(python3 -c "print(round($b/1e6/$s))")" "$(python3 -c "print(f'{$kb*1024/$b*100:.1f}')")"
    if [ "$req" = "${SCALE##* }" ]; then
        # The largest point: the explorer on its RUN.json (issue 15 item 4: first screen
        # within 1 s, every key under 50 ms, RSS under 25% of the log). The log is not needed.
        rm -f "$dir/audit.log"
        largest_dir=$dir largest_bytes=$b
    else
        rm -rf "$dir"
    fi
done
if [ -n "${largest_dir:-}" ]; then
    run_json="$largest_dir/RUN.json"
    echo
    echo "## Explorer on the largest point's RUN.json ($(mb "$(stat -c %s "$run_json")") MB; log was $(mb "$largest_bytes") MB)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    if command -v tmux >/dev/null; then
        # First screen: the panes drawn while the RUN.json is read on a thread; done: the run
        # shown (a count in the Tests pane title).
        printf '%-40s %10s %10s %10s\n' "program" "first s" "done s" "peak MB"
        read -r f d r < <("$here/bench/first-screen.sh" 'Tests \(' 'Tests \([1-9]' -- "$BIN" explore "$run_json")
        printf '%-40s %10s %10s %10s\n' "auditscope explore RUN.json (tmux)" "$f" "$d" "$r"
    fi
    if [ -x "$EXPLORE" ]; then
        echo "explore_bench --live (read on a thread as explore does; keys while it is read, then on the whole run):"
        "$EXPLORE" --live "$run_json" 120 40
        echo "explore_bench (read first, then the first frame and the keys):"
        "$EXPLORE" "$run_json" 120 40
    fi
    echo "(targets: first screen within 1 s, every key under 50 ms, RSS <= 25% of the log:" \
        "$((largest_bytes / 4 / 1048576)) MB)"
    rm -rf "$largest_dir"
fi
