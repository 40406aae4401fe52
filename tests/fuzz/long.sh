#!/bin/sh
# long.sh BUILD_DIR -- `make fuzz-long`: runs every libFuzzer target of a TD_FUZZ build for
# FUZZ_RUNS executions (default 10 million) each, one after another with one worker each (the
# numbers are then per target and comparable from run to run), starting from the corpus kept in
# the repository (tests/fuzz/corpus/TARGET/, minimised with -merge=1).
#
# The executables are copied first (BUILD_DIR/fuzz-long/bin), so that rebuilding while a long run
# goes on does not change what it runs. New inputs go to BUILD_DIR/fuzz-long/corpus/TARGET, never
# into the repository; FUZZ_MERGE=1 merges them into tests/fuzz/corpus/TARGET at the end (commit
# what that adds). FUZZ_TARGETS="a b" runs only those. Each target's log is
# BUILD_DIR/fuzz-long/TARGET.log; one summary line per target (runs, seconds, exec/s, cov, ft) is
# printed and appended to BUILD_DIR/fuzz-long/summary.txt. Exits non-zero when a target finds a
# crash, a leak or a timeout; its reproducer is BUILD_DIR/fuzz-artifacts/TARGET-*.
set -eu

build=${1:?usage: tests/fuzz/long.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
runs=${FUZZ_RUNS:-10000000}
targets=${FUZZ_TARGETS:-fuzz_decode fuzz_decode007_content fuzz_token_json fuzz_diagnose fuzz_http}
out=$build/fuzz-long
mkdir -p "$out/bin" "$build/fuzz-artifacts"
for t in $targets; do
    if [ ! -x "$build/tests/fuzz/$t" ]; then
        echo "fuzz-long: $build/tests/fuzz/$t missing (make test-fuzz builds it)" >&2
        exit 1
    fi
    cp "$build/tests/fuzz/$t" "$out/bin/$t"
done
echo "fuzz-long: $runs runs per target, from $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')"

failed=0
for t in $targets; do
    mkdir -p "$out/corpus/$t" "$here/corpus/$t"
    log=$out/$t.log
    start=$(date +%s)
    if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$out/bin/$t" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" "$out/corpus/$t" "$here/corpus/$t" >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed=1
    fi
    secs=$(($(date +%s) - start))
    done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    rate=$(grep '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    line="$(date -u +%FT%TZ) $t: $status runs=${done_runs:-${last%% *}} seconds=$secs exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?}"
    echo "fuzz-long: $line" | tee -a "$out/summary.txt"
    if [ "$status" = FAILED ]; then
        tail -n 30 "$log" | sed 's/^/    /'
        echo "    reproducers: $build/fuzz-artifacts/$t-*"
    elif [ "${FUZZ_MERGE:-0}" = 1 ]; then
        "$out/bin/$t" -merge=1 "$here/corpus/$t" "$out/corpus/$t" >"$out/$t.merge.log" 2>&1
    fi
done
exit $failed
