#!/bin/sh
# Runs each libFuzzer target of tests/fuzz for SECONDS with its seed corpus:
#   tests/fuzz/run.sh BUILD_DIR/tests/fuzz SECONDS
# New inputs go to BUILD_DIR/tests/fuzz/corpus/<target> (kept between runs), a
# crashing input to BUILD_DIR/tests/fuzz/crash-<target>-*; the exit status is
# non-zero when any target found one (rerun it with: BIN CRASHFILE).
set -eu
bin=$1
seconds=$2
src=$(cd "$(dirname "$0")" && pwd)
repro=$src/../data/fuzz-repro
status=0
for t in fuzz_event_spec fuzz_perfdata fuzz_pprof fuzz_otlp_response fuzz_control fuzz_tp_format; do
	corpus=$bin/corpus/$t
	mkdir -p "$corpus"
	seeds="$src/seeds/$t"
	case $t in
	fuzz_perfdata | fuzz_pprof) seeds="$seeds $repro" ;;
	esac
	echo "== $t: ${seconds} s"
	if ! "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$bin/crash-$t-" \
		"$corpus" $seeds >"$bin/$t.log" 2>&1; then
		tail -n 60 "$bin/$t.log"
		echo "FAIL: $t found a crash, a leak or a timeout (log: $bin/$t.log)"
		status=1
	else
		grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$bin/$t.log" | tail -n 2
	fi
done
exit $status
