#!/usr/bin/env bash
# run.sh BUILD_DIR -- the npm interop test: tokendoctor's core against agora-token@2.0.6 and
# agora-access-token@2.0.4 (pinned by package-lock.json).
#
#   1. npm ci                      the two vendor libraries into tests/interop/node_modules
#   2. cc check.c                  the C checker, linked with BUILD_DIR's libtdcore.a
#   3. node gen.js                 library-built tokens (fixed seed + one random seed)
#   4. interop_check check         our decode/verify agree with every one (and tests/vectors)
#   5. interop_check mint          tokens minted by td_build007/td_build006 (same two seeds)
#   6. node verify.js              the libraries parse and verify our tokens, field by field
#
# Exits non-zero on any disagreement; the last line is "interop: N passed, M failed".
# Replay a random seed with INTEROP_SEED=<n>; INTEROP_COUNT scales the run (default 2000 library
# tokens and 1000 minted tokens per seed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# 1. The vendor libraries, exactly as locked (with the seeds, the library and $work).
td_node_suite interop "${1:-}" INTEROP_SEED core/libtdcore.a tdcore
count=${INTEROP_COUNT:-2000}
mint_count=$((count / 2))
lib="$build/core/libtdcore.a"

# 2. The checker, built like the library it links (sanitizers when the build uses them).
cflags=(-std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -O1 -g)
if grep -q '^TD_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    cflags+=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
fi
"${CC:-cc}" "${cflags[@]}" -I"$root/core" "$here/check.c" "$lib" -lmbedcrypto -ljansson -lz \
    -o "$work/interop_check" || die "cannot build the checker"

echo "interop: seeds fixed=$fixed_seed random=$random_seed (replay: INTEROP_SEED=$random_seed $0 $build)"

total_passed=0
total_failed=0
status=0

# Runs one step, echoes its "<what>: N passed, M failed" line and adds it to the totals.
step() {
    local out rc=0
    out=$("$@") || rc=$?
    local summary
    summary=$(printf '%s\n' "$out" | grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
    printf '%s\n' "$out"
    if [[ -z $summary ]]; then
        echo "interop: step '$*' printed no summary (exit $rc)" >&2
        total_failed=$((total_failed + 1))
        status=1
        return
    fi
    local p f
    p=$(td_passed "$summary")
    f=$(td_failed "$summary")
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    if [[ $rc -ne 0 || $f -ne 0 ]]; then
        status=1
    fi
}

# 3. Library-built tokens.
(cd "$here" && node gen.js "$work/library.jsonl" "$fixed_seed" "$count" "$random_seed" "$count") ||
    die "gen.js failed"

# 4. Our decode and verify against them, against the repository's vectors, and against the
#    shared ones when they are there and differ (extra cases).
check_files=("$work/library.jsonl" "$root/tests/vectors/tokens.jsonl")
if [[ -f $shared/vectors/tokens.jsonl ]]; then
    cmp -s "$shared/vectors/tokens.jsonl" "$root/tests/vectors/tokens.jsonl" ||
        check_files+=("$shared/vectors/tokens.jsonl")
else
    echo "interop: no $shared/vectors: the repository's vectors only"
fi
step "$work/interop_check" check "${check_files[@]}"

# 5. Our mint (each minted token is also decoded and verified by us: round trip).
step "$work/interop_check" mint "$fixed_seed" "$mint_count" "$work/minted-fixed.jsonl"
step "$work/interop_check" mint "$random_seed" "$mint_count" "$work/minted-random.jsonl"

# 6. The libraries judge our tokens; the library-built file is parsed back as a self-check.
step node "$here/verify.js" "$work/minted-fixed.jsonl" "$work/minted-random.jsonl" "$work/library.jsonl"

if [[ $status -ne 0 ]]; then
    keep_work=1
    echo "interop: inputs kept in $work" >&2
fi
echo "interop: $total_passed passed, $total_failed failed"
exit $status
