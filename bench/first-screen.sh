#!/usr/bin/env bash
# Times a terminal program's first screen, as a person sees it: the program runs in a private
# tmux server's 120x40 pane, and the pane is read (`capture-pane -p`) every 20 ms.
#
#   bench/first-screen.sh FIRST DONE -- COMMAND [ARG ...]
#
# Prints "<first s> <done s> <peak RSS MB>": seconds from starting COMMAND until the pane
# shows the regex FIRST, then until it shows the regex DONE ('-' when DONE is empty or not
# seen within $TIMEOUT seconds, default 120), and the program's peak RSS (VmHWM) at that point.
set -euo pipefail
first=$1
done_re=$2
shift 3
timeout=${TIMEOUT:-120}
sock=$(mktemp -u /tmp/first-screen.XXXXXX)
cleanup() { tmux -S "$sock" kill-server 2>/dev/null || true; rm -f "$sock"; }
trap cleanup EXIT
cmd=$(printf '%q ' "$@")
# Microseconds since the epoch, without starting a process (bash 5).
now() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
start=$(now)
tmux -S "$sock" new-session -d -x 120 -y 40 "exec $cmd"
seen() { tmux -S "$sock" capture-pane -p 2>/dev/null | grep -Eq -- "$1"; }
elapsed() { local us=$(($(now) - start)); printf '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000)); }
limit=$((timeout * 1000000))
t_first=-
while [ $(($(now) - start)) -lt "$limit" ]; do
    if seen "$first"; then t_first=$(elapsed); break; fi
    sleep 0.02
done
t_done=-
if [ -n "$done_re" ]; then
    while [ $(($(now) - start)) -lt "$limit" ]; do
        if seen "$done_re"; then t_done=$(elapsed); break; fi
        sleep 0.05
    done
fi
pid=$(tmux -S "$sock" list-panes -F '#{pane_pid}' 2>/dev/null | head -1)
rss=-
if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
    rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
fi
echo "$t_first $t_done $rss"
