#!/usr/bin/env bash
# run.sh BUILD_DIR -- the differential test of the diagnosis engine against reference.js.
#
#   1. npm ci                  the vendor token libraries (pinned by package-lock.json)
#   2. node check_scenarios.js the reference reproduces every v2 scenario (tests/vectors/v2,
#                              and ../shared/vectors/v2 where it differs; it is trusted only
#                              as far as it agrees with them)
#   3. node gen.js             random requests + project configurations (fixed seed + one
#                              random seed) that combine the rules of diagnosis.md
#   4. tokendoctor diagnose --batch - --project projects.json   (BUILD_DIR's binary)
#   5. node compare.js         field by field against the reference (and --summary lines
#                              against the full answers)
#   6. node single.js          a sample again through the flag interface (same JSON, exit status)
#   7. tests/vectors/generate.sh --out TMP   the generated vectors made again (from gen.js,
#                              reference.js and the locked libraries) and compared byte for byte
#                              with tests/vectors/generated: a difference fails ("run make vectors")
#
# Exits non-zero on any disagreement; the last line is "diffcheck: N passed, M failed".
# Replay a random seed with DIFFCHECK_SEED=<n>; DIFFCHECK_COUNT scales the run (default 20000
# requests per seed, about 15 s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# 1. The vendor libraries, exactly as locked (with the seeds, the binary and $work).
td_node_suite diffcheck "${1:-}" DIFFCHECK_SEED cli/tokendoctor tokendoctor
count=${DIFFCHECK_COUNT:-20000}
single_count=${DIFFCHECK_SINGLE:-200}
bin="$build/cli/tokendoctor"

status=0

# 2. The reference against the ground truth: the repository's v2 vectors always, and the shared
#    contract's copies too where one differs from them (a contract change not yet copied in).
vectors=("$root/tests/vectors/v2/scenarios.jsonl" "$root/tests/vectors/v2/sdk.jsonl")
if [[ -d $shared/vectors/v2 ]]; then
    for f in "$shared"/vectors/v2/*.jsonl; do
        [[ -f $f ]] || continue
        cmp -s "$f" "$root/tests/vectors/v2/$(basename "$f")" || vectors+=("$f")
    done
fi
node "$here/check_scenarios.js" "${vectors[@]}" | tail -n 20 ||
    die "the reference does not reproduce ${vectors[*]}"

# 3-5. Generate, diagnose, compare.
echo "diffcheck: seeds fixed=$fixed_seed random=$random_seed (replay: DIFFCHECK_SEED=$random_seed $0 $build)"
node "$here/gen.js" "$work" "$fixed_seed" "$count" "$random_seed" "$count" || die "gen.js failed"
rc=0
"$bin" diagnose --batch - --project "$work/projects.json" <"$work/requests.jsonl" >"$work/out.jsonl" ||
    rc=$?
[[ $rc -eq 0 ]] || { keep_work=1; die "tokendoctor diagnose --batch exited $rc (inputs in $work)"; }
"$bin" diagnose --batch "$work/requests.jsonl" --summary --project "$work/projects.json" \
    >"$work/summary.jsonl" || rc=$?
[[ $rc -eq 0 ]] || { keep_work=1; die "tokendoctor diagnose --batch --summary exited $rc (inputs in $work)"; }

single_line=""
node "$here/single.js" "$bin" "$work/requests.jsonl" "$work/projects.json" "$work/out.jsonl" \
    "$single_count" >"$work/single.txt" || status=1
cat "$work/single.txt"
single_line=$(tail -n 1 "$work/single.txt")

node "$here/compare.js" "$work/requests.jsonl" "$work/projects.json" "$work/out.jsonl" \
    "$work/summary.jsonl" >"$work/compare.txt" || status=1
summary=$(tail -n 1 "$work/compare.txt")
head -n -1 "$work/compare.txt"

# 7. The committed generated vectors are what their generator makes now: gen.js, reference.js,
#    the generator scripts and the locked libraries are all they depend on, so a change to any of
#    them without `make vectors` fails here instead of leaving the files silently stale.
stale=0
if "$root/tests/vectors/generate.sh" --no-npm-ci --out "$work/vectors" >"$work/vectors.log" 2>&1; then
    for name in $( (cd "$work/vectors" && ls -- *.jsonl; cd "$root/tests/vectors/generated" && ls -- *.jsonl) |
        sort -u); do
        if ! cmp -s "$work/vectors/$name" "$root/tests/vectors/generated/$name" 2>/dev/null; then
            echo "diffcheck: tests/vectors/generated/$name is not what tests/vectors/generate.sh" \
                "makes now: run make vectors and commit the result (made now with node" \
                "$(node --version), zlib $(node -p process.versions.zlib): $work/vectors/$name)" >&2
            stale=1
        fi
    done
    [[ $stale = 1 ]] || echo "diffcheck: tests/vectors/generated is up to date"
else
    tail -n 20 "$work/vectors.log" >&2
    echo "diffcheck: tests/vectors/generate.sh failed" >&2
    stale=1
fi
[[ $stale = 0 ]] || status=1

# One summary line for both comparisons (and the vectors check).
p=$(td_passed "$summary")
f=$(td_failed "$summary")
sp=$(td_passed "$single_line")
sf=$(td_failed "$single_line")
[[ $p =~ ^[0-9]+$ && $f =~ ^[0-9]+$ && $sp =~ ^[0-9]+$ && $sf =~ ^[0-9]+$ ]] ||
    { keep_work=1; die "a comparison printed no summary (inputs in $work)"; }
if [[ $status -ne 0 ]]; then
    keep_work=1
    echo "diffcheck: inputs kept in $work" >&2
fi
echo "diffcheck: $((p + sp + 1 - stale)) passed, $((f + sf + stale)) failed"
exit $status
