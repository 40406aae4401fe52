#!/bin/sh
# seeds.sh BUILD_DIR VECTORS_DIR OUT_DIR -- writes the seed inputs the fuzz targets start from,
# made from the repository's test vectors, into OUT_DIR: seeds/ (token strings of every vector
# file), content/ (their inflated 007 contents, by fuzz_seed_content), requests/ (each v2
# scenario's request object). Sourced by run.sh (smoke runs) and long.sh (corpus refresh).
set -eu

build=${1:?usage: seeds.sh BUILD_DIR VECTORS_DIR OUT_DIR}
vectors=${2:?usage: seeds.sh BUILD_DIR VECTORS_DIR OUT_DIR}
out=${3:?usage: seeds.sh BUILD_DIR VECTORS_DIR OUT_DIR}
mkdir -p "$out/seeds" "$out/content" "$out/requests"

# JSON escapes are left as they are: a seed only has to be a good starting point.
grep -ho '"token": *"[^"]*"' "$vectors"/*.jsonl "$vectors"/v2/*.jsonl | sed 's/^"token": *"//; s/"$//' >"$out/tokens"
i=0
while IFS= read -r tok; do
    printf '%s' "$tok" >"$out/seeds/token_$i"
    i=$((i + 1))
done <"$out/tokens"
"$build/tests/fuzz/fuzz_seed_content" "$out/content" <"$out/tokens" >/dev/null
grep -ho '"request":{[^}]*}' "$vectors"/v2/*.jsonl | sed 's/^"request"://' |
    split -l 1 - "$out/requests/r_"
