#!/usr/bin/env bash
# tests/web/run.sh BUILD_DIR -- the web page's end-to-end test in headless Chromium.
#
# Starts BUILD_DIR/cli/tokendoctor serve on a free port of 127.0.0.1 with a fresh database in a
# temporary directory, creates an admin API key for it (the test PUTs the scenarios' projects),
# and runs e2e.mjs on the repository's own vectors (tests/vectors/v2, so that a fresh clone tests
# itself): playwright-core (from npm, pinned by package-lock.json) driving Debian's
# /usr/bin/chromium. No browser is ever downloaded. The screenshot the README shows is written
# to docs/web-page.png. Prints one line per check and "web: N passed, M failed"; exits non-zero
# when anything failed or could not start. The service's log is printed when something fails.
#
# TD_BROWSER=firefox runs the same test in Debian's firefox-esr (WebDriver BiDi) instead: a
# manual check that the page works in Firefox too (CI installs only chromium).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: tests/web/run.sh BUILD_DIR" >&2
  exit 64
fi
fail() {
  echo "web: $*" >&2
  echo "web: 0 passed, 1 failed"
  exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "$1" 2>/dev/null && pwd)" || fail "no build directory $1: build first (make build)"
td="$build/cli/tokendoctor"
chromium="${TD_CHROMIUM:-/usr/bin/chromium}"
vectors="$repo/tests/vectors"

[ -x "$td" ] || fail "$td not found: build first (make build)"
if [ "${TD_BROWSER:-chromium}" = firefox ]; then
  [ -x "${TD_FIREFOX:-/usr/bin/firefox-esr}" ] ||
    fail "${TD_FIREFOX:-/usr/bin/firefox-esr} not found: apt-get install firefox-esr"
else
  [ -x "$chromium" ] ||
    fail "$chromium not found: install Debian's chromium (make deps-test, as root)"
fi
command -v node >/dev/null 2>&1 || fail "node not found: install nodejs (make deps-test)"
command -v npm >/dev/null 2>&1 || fail "npm not found: install npm (make deps-test)"
for f in v2/scenarios.jsonl v2/sdk.jsonl; do
  [ -f "$vectors/$f" ] || fail "$vectors/$f not found"
done

# playwright-core only (never a browser download), exactly as locked; reinstalled when the lock
# file changed since the last install.
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
    fail "npm ci failed in $here"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/td-web.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

db="$tmp/td.db"
key_out="$("$td" apikey create --role admin --name web-e2e --db "$db" 2>"$tmp/apikey.err")" ||
  fail "tokendoctor apikey create failed: $(cat "$tmp/apikey.err")"
# The key is printed once; take the last word of the last non-empty line.
admin_key="$(printf '%s\n' "$key_out" | awk 'NF { last = $NF } END { print last }')"
[ -n "$admin_key" ] || fail "no admin key in the output of tokendoctor apikey create"

# Port 0: the service binds a free port and writes it to the port file once it listens.
"$td" serve --listen 127.0.0.1:0 --port-file "$tmp/port" --db "$db" --threads 2 \
  --no-bootstrap-key >"$tmp/serve.log" 2>&1 &
server_pid=$!

# Wait (up to 20 s) for the port file and the liveness probe; give up early if it exited.
base="$(node -e '
  const fs = require("fs");
  const [portFile, pid] = process.argv.slice(1);
  const deadline = Date.now() + 20000;
  (async function poll() {
    let port = "";
    try { port = fs.readFileSync(portFile, "utf8").trim(); } catch (e) {}
    if (/^[0-9]+$/.test(port)) {
      const base = "http://127.0.0.1:" + port;
      try {
        if ((await fetch(base + "/healthz")).status === 200) {
          console.log(base);
          process.exit(0);
        }
      } catch (e) {}
    }
    try { process.kill(Number(pid), 0); } catch (e) { process.exit(1); } /* it exited */
    if (Date.now() > deadline) process.exit(1);
    setTimeout(poll, 100);
  })();' "$tmp/port" "$server_pid")" || {
  cat "$tmp/serve.log" >&2
  fail "the service did not start (its log is above)"
}

status=0
TD_BASE_URL="$base" TD_ADMIN_KEY="$admin_key" TD_VECTORS_DIR="$vectors" TD_CHROMIUM="$chromium" \
  TD_SCREENSHOT="$repo/docs/web-page.png" node "$here/e2e.mjs" || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "web: the service exited during the test" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "---- tokendoctor serve log (last 40 lines) ----" >&2
  tail -n 40 "$tmp/serve.log" >&2
fi
exit "$status"
