#!/usr/bin/env bash
# tests/pg/run.sh BUILD_DIR -- `make test-pg`: the suites again, on a real PostgreSQL.
#
# Starts a PostgreSQL server of its own (tests/pg/pg.sh: installed with apt-get when absent, a
# cluster in a temporary directory, a Unix socket only), gives each suite an empty database of
# its own, and runs:
#   db     the db suite's PostgreSQL variant: ctest -R "$TD_PG_CTEST_REGEX" (default _pg, e.g.
#          db_store_pg) in BUILD_DIR with TOKENDOCTOR_TEST_PG set to the database's URL;
#          finding no such test, or one that skips itself, is a failure
#   api    tests/api/run.sh against `serve --db postgresql://...` (the documented samples)
#   fleet  tests/fleet/fleet.py: two nodes on one database, PostgreSQL stopped and started
# Every step runs even when one before it failed; the server is stopped and its directory
# removed at the end whatever happens (also on SIGINT/SIGTERM). Exit status 1 when a step failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: tests/pg/run.sh BUILD_DIR}" && pwd)
regex=${TD_PG_CTEST_REGEX:-_pg}
jobs=${JOBS:-2}

pgdir=$(mktemp -d /tmp/tdpg.XXXXXX)
work=$(mktemp -d /tmp/tdpgwork.XXXXXX)
cleanup() {
  "$here/pg.sh" stop "$pgdir" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/pg.sh" start "$pgdir" >/dev/null

failed=()
passed=()
step() {
  local name=$1 t0=$SECONDS
  shift
  echo "test-pg: $name"
  if "$@"; then
    passed+=("$name")
    echo "test-pg: $name passed ($((SECONDS - t0)) s)"
  else
    failed+=("$name")
    echo "test-pg: $name FAILED ($((SECONDS - t0)) s)"
  fi
}

db_suite() {
  local url rc=0
  url=$("$here/pg.sh" db "$pgdir" td_dbsuite) || return 1
  (cd "$build" && TOKENDOCTOR_TEST_PG="$url" ctest --output-on-failure --no-tests=error \
    -R "$regex" -j "$jobs") | tee "$work/ctest.log" || rc=$?
  # A PostgreSQL variant skips itself (77) without TOKENDOCTOR_TEST_PG, and ctest counts a skip
  # as no failure: here, where the server is there, a skip is one.
  if grep -q 'Skipped\|Not Run' "$work/ctest.log"; then
    echo "test-pg: a PostgreSQL test was skipped although TOKENDOCTOR_TEST_PG was set" >&2
    rc=1
  fi
  return "$rc"
}

api_suite() {
  local url
  url=$("$here/pg.sh" db "$pgdir" td_api) || return 1
  "$root/tests/api/run.sh" "$build" --db "$url" --key-file "$work/api.key" --no-lint
}

fleet_suite() {
  local url
  url=$("$here/pg.sh" db "$pgdir" td_fleet) || return 1
  python3 "$root/tests/fleet/fleet.py" "$build" --db "$url" --pg-dir "$pgdir"
}

step db db_suite
step api api_suite
step fleet fleet_suite

echo "test-pg: ${#passed[@]} passed, ${#failed[@]} failed${failed[*]:+ (${failed[*]})}"
[ ${#failed[@]} -eq 0 ]
