#!/usr/bin/env bash
# tests/api/run.sh BUILD_DIR [--db LOCATION --key-file PATH] [--no-lint]
# -- the API documentation is checked twice:
#   1. docs/openapi.yaml is linted with Redocly's CLI (OpenAPI 3.1 rules; warnings fail too);
#   2. a service is started from BUILD_DIR on an ephemeral loopback port with a temporary
#      database, and check.mjs sends every documented sample request (x-samples), checking
#      that each answers with its documented status and validating each answer against its
#      documented schema; that every route of server/srv_routes.c is documented with its 405
#      (and 413/415 where it reads a body); and that GET /openapi.yaml serves the document.
# --db gives the service (and the reader key's `apikey create`) another store, with its key file:
# `make test-pg` runs the same checks against an empty PostgreSQL database (postgresql://...);
# --no-lint skips step 1 there (the document is the same). By default the store is a new SQLite
# file in a temporary directory.
# The npm tools are pinned by tests/api/package-lock.json and installed into
# tests/api/node_modules (never committed) on first use.
set -euo pipefail

usage="usage: tests/api/run.sh BUILD_DIR [--db LOCATION --key-file PATH] [--no-lint]"
BUILD=${1:?$usage}
shift
db='' key_file='' lint=1
while [ $# -gt 0 ]; do
  case "$1" in
  --db) db=${2:?$usage}; shift 2 ;;
  --key-file) key_file=${2:?$usage}; shift 2 ;;
  --no-lint) lint=0; shift ;;
  *) echo "$usage" >&2; exit 64 ;;
  esac
done
if [ -n "$db" ] && [ -z "$key_file" ]; then echo "$usage" >&2; exit 64; fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(cd "$BUILD" && pwd)/cli/tokendoctor
spec=$root/docs/openapi.yaml

[ -x "$bin" ] || { echo "api: $bin not found (build first)" >&2; exit 1; }
cd "$here"
if [ ! -d node_modules/@redocly/cli ] || [ ! -d node_modules/@redocly/ajv ] ||
  [ ! -d node_modules/yaml ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "$lint" = 1 ]; then
  echo "api: linting docs/openapi.yaml"
  out=$(npx --no-install redocly lint "$spec" 2>&1) || { echo "$out" >&2; exit 1; }
  if echo "$out" | grep -q 'warning'; then
    echo "$out" >&2
    echo "api: the lint reported warnings" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# The SQLite default also checks where the first admin key goes by default (beside the
# database); a database server has no "beside", so there it is named.
store=(--db "$tmp/t.db") where="a new SQLite file" admin_file=()
if [ -n "$db" ]; then
  store=(--db "$db" --key-file "$key_file") where="the --db store (${db%%:*})"
  admin_file=(--admin-key-file "$tmp/admin-api-key")
fi

"$bin" serve --listen 127.0.0.1:0 --port-file "$tmp/port" "${store[@]}" --threads 2 \
  "${admin_file[@]}" --access-log "$tmp/access.log" \
  >"$tmp/out.txt" 2>"$tmp/err.txt" &
pid=$!
for _ in $(seq 1 3000); do
  [ -s "$tmp/port" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "api: the service did not start:" >&2
    cat "$tmp/err.txt" >&2
    exit 1
  fi
  sleep 0.01
done
[ -s "$tmp/port" ] || { echo "api: the service did not listen" >&2; exit 1; }
port=$(cat "$tmp/port")
# Standard output is not a terminal: the first admin key is in a file (beside the database, or
# --admin-key-file).
admin=$(grep -o 'tdk_[0-9a-f]\{64\}' "$tmp/admin-api-key" 2>/dev/null | head -n 1)
[ -n "$admin" ] || { echo "api: no admin key in $tmp/admin-api-key after the first start" >&2; exit 1; }
reader=$("$bin" apikey create --role reader --name api-check-reader "${store[@]}" 2>/dev/null |
  grep -o 'tdk_[0-9a-f]\{64\}' | head -n 1)
[ -n "$reader" ] || { echo "api: could not create a reader key" >&2; exit 1; }

echo "api: checking every documented route against the service on port $port ($where)"
status=0
node check.mjs "$spec" "$port" "$admin" "$reader" "$root/server/srv_routes.c" || status=1

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
if [ "$rc" -ne 0 ]; then
  echo "api: the service exited with $rc after SIGTERM" >&2
  cat "$tmp/err.txt" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "api: ok"
exit "$status"
