#!/usr/bin/env bash
# generate.sh [--out DIR] [--no-npm-ci] -- the generated test vectors, tests/vectors/generated/
# (`make vectors` runs it; commit what it writes).
#
#   1. npm ci in tests/diffcheck     the vendor libraries, exactly as its package-lock.json pins
#                                    them (agora-token, agora-access-token)
#   2. node gen-tokens.js            generated/tokens.jsonl: tokens the libraries build, with the
#                                    fields their own objects held when they serialised them
#   3. node gen-scenarios.js         generated/scenarios.jsonl: requests and projects from
#                                    tests/diffcheck/gen.js, answers from tests/diffcheck/reference.js
#                                    (never from the C code under test); prints its coverage table
#                                    and fails when a cause, hint or warning of the spec has no case
#
# Deterministic: fixed seeds, and the libraries' clocks and salts are seeded stand-ins, so the
# same inputs give the same files byte for byte (the token text is the deflate output of Node's
# zlib). tests/diffcheck/run.sh regenerates into a temporary directory (--out, --no-npm-ci after
# its own npm ci) and fails with "run make vectors" when a committed file differs.
#
#   --out DIR     write there instead of tests/vectors/generated
#   --no-npm-ci   use tests/diffcheck/node_modules as it is (the caller just ran npm ci)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
td_init vectors ""

# The inputs of the generated files: change one and run `make vectors`.
seed=20261212
token_count=400
scenario_pool=25000
scenario_lines=3000

out=$here/generated
npm_ci=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --out)
            [[ $# -ge 2 ]] || die "--out needs a directory"
            out=$2
            shift 2
            ;;
        --no-npm-ci)
            npm_ci=0
            shift
            ;;
        *) die "usage: $0 [--out DIR] [--no-npm-ci]" ;;
    esac
done

td_need_node
td_make_work
if [[ $npm_ci = 1 ]]; then
    td_npm_ci "$root/tests/diffcheck"
else
    [[ -d $root/tests/diffcheck/node_modules/agora-token ]] ||
        die "tests/diffcheck/node_modules is missing: run without --no-npm-ci"
fi
mkdir -p "$out"

# Written next to the target and renamed, so a failed run leaves the committed files alone.
node "$here/gen-tokens.js" "$work/tokens.jsonl" "$seed" "$token_count" || die "gen-tokens.js failed"
node "$here/gen-scenarios.js" "$work/scenarios.jsonl" "$seed" "$scenario_pool" "$scenario_lines" ||
    die "gen-scenarios.js failed"
for f in tokens.jsonl scenarios.jsonl; do
    cp "$work/$f" "$out/$f.tmp"
    mv "$out/$f.tmp" "$out/$f"
done
echo "vectors: wrote $out/tokens.jsonl ($(wc -l <"$out/tokens.jsonl") lines) and" \
    "$out/scenarios.jsonl ($(wc -l <"$out/scenarios.jsonl") lines) with node $(node --version)," \
    "zlib $(node -p process.versions.zlib)"
