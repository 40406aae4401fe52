#!/bin/sh
# run.sh BUILD_DIR -- smoke-runs every libFuzzer target of a TD_FUZZ build on a seed corpus made
# from the repository's tests/vectors (tokens.jsonl, mint-exact.jsonl, the v2 scenarios' tokens,
# the inflated contents of the 007 ones, and the scenarios' request bodies: seeds.sh) and on the
# corpus kept in tests/fuzz/corpus/TARGET (fuzz_http: that corpus only). Each target runs
# FUZZ_TIME seconds (default 20; fuzz_http FUZZ_HTTP_TIME, default 5: it is the slowest per
# input and its corpus already reaches the routes); `make fuzz-long` (long.sh) runs them by
# execution count. Prints one line per target; exits non-zero when any target crashes (its
# reproducer is kept under BUILD_DIR/fuzz-artifacts/).
set -eu

build=${1:?usage: tests/fuzz/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
vectors=${TD_VECTORS:-$here/../vectors}
seconds=${FUZZ_TIME:-20}
bin=$build/tests/fuzz
targets="fuzz_decode fuzz_decode007_content fuzz_token_json fuzz_diagnose fuzz_http"

for t in $targets fuzz_seed_content; do
    if [ ! -x "$bin/$t" ]; then
        echo "fuzz: $bin/$t missing (configure with CC=clang cmake -DTD_FUZZ=ON)" >&2
        exit 1
    fi
done
if [ ! -d "$vectors" ]; then
    echo "fuzz: vectors not found at $vectors (set TD_VECTORS)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/td_fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$build/fuzz-artifacts"

"$here/seeds.sh" "$build" "$vectors" "$work"
i=$(ls "$work/seeds" | wc -l)
echo "fuzz: $i token seeds, $(ls "$work/content" | wc -l) content seeds, ${seconds} s per target"

failed=0
for t in $targets; do
    mkdir -p "$work/corpus_$t"
    case $t in
    fuzz_decode007_content) seeds="$work/content" ;;
    fuzz_token_json) seeds="$work/seeds $work/content" ;;
    fuzz_diagnose) seeds="$work/requests" ;;
    fuzz_http) seeds="" ;; # raw HTTP requests: the committed corpus only
    *) seeds="$work/seeds" ;;
    esac
    seeds="$seeds $here/corpus/$t"
    limit=$seconds
    [ "$t" = fuzz_http ] && limit=${FUZZ_HTTP_TIME:-5}
    log=$work/$t.log
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin/$t" -max_total_time="$limit" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/fuzz-artifacts/$t-" "$work/corpus_$t" $seeds >"$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
        echo "fuzz: $t: ok (${runs:-?} runs)"
    else
        failed=1
        echo "fuzz: $t: FAILED -- last lines of its log:"
        tail -n 30 "$log" | sed 's/^/    /'
        echo "    reproducers: $build/fuzz-artifacts/$t-*"
    fi
done
exit $failed
