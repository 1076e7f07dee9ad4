#!/usr/bin/env bash
# stat-startup.sh - compare the start-up overhead of `pmuprof stat` and `perf stat`.
#
# usage: bench/stat-startup.sh PMUPROF_BINARY [ROUNDS=200]
#        EVENTS=task-clock,page-faults bench/stat-startup.sh build/pmuprof 500
#
# Times the wall clock of
#     PMUPROF_BINARY stat -e $EVENTS -- /bin/true
#     perf           stat -e $EVENTS -- /bin/true
# (stdout and stderr to /dev/null). Each round runs both tools back to back,
# swapping which goes first every round, so machine noise hits both equally.
# A few warm-up runs of each are discarded. Prints a markdown table with the
# median and p90 (ms) of each tool and the pmuprof/perf ratio of medians.
set -euo pipefail

usage() {
    echo "usage: $0 PMUPROF_BINARY [ROUNDS=200]   (env: EVENTS=task-clock)" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 == -h || $1 == --help ]] && { echo "usage: $0 PMUPROF_BINARY [ROUNDS=200]   (env: EVENTS=task-clock)"; exit 0; }

pmuprof=$1
rounds=${2:-200}
events=${EVENTS:-task-clock}

[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$0: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
if [[ $pmuprof != */* ]]; then
    # Bare name: resolve through PATH.
    resolved=$(command -v -- "$pmuprof" || true)
    [[ -n $resolved ]] || { echo "$0: '$pmuprof' not found in PATH" >&2; exit 1; }
    pmuprof=$resolved
fi
[[ -x $pmuprof ]] || { echo "$0: '$pmuprof' is not an executable file" >&2; exit 1; }

perf_bin=$(command -v perf || true)
[[ -n $perf_bin ]] || { echo "$0: error: 'perf' not found in PATH (install linux-perf / linux-tools)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "$0: error: python3 is required" >&2; exit 1; }

cpu=$(grep -m1 -E '^(model name|Model|cpu model)[[:space:]]*:' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

echo "## pmuprof stat vs perf stat start-up time"
echo
echo "- command: \`$0 $*\` (EVENTS=$events, ROUNDS=$rounds)"
echo "- pmuprof: \`$pmuprof stat -e $events -- /bin/true\`"
echo "- perf:    \`$perf_bin stat -e $events -- /bin/true\`"
echo "- kernel:  $(uname -r)"
echo "- cpu:     ${cpu:-unknown} ($(nproc) online CPUs)"
echo "- date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo

python3 - "$pmuprof" "$perf_bin" "$events" "$rounds" <<'PY'
import subprocess, sys, time

pmuprof, perf, events, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
WARMUP = 5
cmds = {
    "pmuprof": [pmuprof, "stat", "-e", events, "--", "/bin/true"],
    "perf":    [perf,    "stat", "-e", events, "--", "/bin/true"],
}

def run(name):
    """Wall time of one run in ns; abort if the tool fails."""
    t0 = time.perf_counter_ns()
    rc = subprocess.run(cmds[name], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    t1 = time.perf_counter_ns()
    if rc != 0:
        sys.exit(f"error: `{' '.join(cmds[name])}` exited with status {rc}")
    return t1 - t0

for _ in range(WARMUP):
    run("pmuprof"); run("perf")

samples = {"pmuprof": [], "perf": []}
for i in range(rounds):
    order = ("pmuprof", "perf") if i % 2 == 0 else ("perf", "pmuprof")
    for name in order:
        samples[name].append(run(name))

def pct(xs, p):
    """Percentile with linear interpolation between closest ranks."""
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

stats = {n: (pct(v, 0.5) / 1e6, pct(v, 0.9) / 1e6) for n, v in samples.items()}
print(f"| tool | runs | median (ms) | p90 (ms) |")
print(f"|------|-----:|------------:|---------:|")
for n in ("pmuprof", "perf"):
    print(f"| {n} | {rounds} | {stats[n][0]:.3f} | {stats[n][1]:.3f} |")
print()
print(f"ratio pmuprof/perf (medians): **{stats['pmuprof'][0] / stats['perf'][0]:.2f}**")
PY
