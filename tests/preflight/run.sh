#!/usr/bin/env bash
# run.sh TOKENDOCTOR -- tokendoctor preflight against token servers built on the vendor's npm
# libraries (server.js): a correct one (007 and 006), one per planted bug, and the transport
# failures (a hang, an answer trickled byte by byte, a 500, an HTML page, a 1 MiB answer, bytes
# that are not HTTP, a closed connection, nothing listening).
#
# Each case starts `node server.js --bug NAME` on a loopback port, runs `preflight --json` and
# asserts the exit status and that the findings are exactly the planted one (by id). The vendor
# libraries are tests/interop's, installed exactly as its package-lock.json says (npm ci, once).
# Without node the test is skipped (exit 77) with a message; `make test` installs node.
#
# PREFLIGHT_ONLY="NAME ..." runs only those cases (and the text and usage checks).
# The last line is "preflight: N passed, M failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
td=${1:?usage: run.sh TOKENDOCTOR}
td_suite=preflight
# shellcheck source=common.sh
source "$here/common.sh"
trap 'stop_server; td_cleanup' EXIT
passed=0
failed=0

# NAME BUG EXIT "FINDING ..." [preflight options...]: one case (BUG "-" for nothing listening).
check() {
    local name=$1 bug=$2 want_exit=$3 want=$4
    shift 4
    [[ -z ${PREFLIGHT_ONLY:-} || " $PREFLIGHT_ONLY " == *" $name "* ]] || return 0
    local url rc=0
    if [[ $bug = - ]]; then
        # A port nothing listens on: bind one, close it.
        port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    elif ! start_server "$bug"; then
        echo "FAIL $name: the server did not start"
        failed=$((failed + 1))
        return
    fi
    url="http://127.0.0.1:$port$template"
    if [[ ${1:-} = --method ]]; then # --method M --url-path PATH ...: PATH, no query
        url="http://127.0.0.1:$port$4"
        set -- "$1" "$2" "${@:5}"
    fi
    "$td" preflight --url "$url" --app-id "$app_id" --project "$work/project.json" \
        --token-field rtcToken --json "$@" >"$work/$name.json" 2>"$work/$name.err" || rc=$?
    stop_server
    local got
    got=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
        console.log(r.findings.map(f=>f.id).sort().join(" "))' "$work/$name.json" 2>/dev/null) ||
        got="(no report)"
    want=$(tr ' ' '\n' <<<"$want" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
    if [[ $rc -eq $want_exit && $got == "$want" ]]; then
        echo "ok   $name: exit $rc, findings [${got}]"
        passed=$((passed + 1))
    else
        echo "FAIL $name: exit $rc (want $want_exit), findings [$got] (want [$want])"
        cat "$work/$name.err" >&2
        keep_work=1
        failed=$((failed + 1))
    fi
}

check correct-007 none 0 ""
check correct-006 none006 0 ""
check correct-post none 0 "" --method POST --url-path /token \
    --body '{"channel":"{channel}","uid":"{uid}","account":"{account}","role":"{role}","expire":{expire}}'
check uid0-string uid0-string 1 "uid_zero_as_account"
check expiry-once expiry-once 1 "expiry_computed_once"
check expire-seconds expire-seconds 1 "expire_relative"
check expire-unix expire-unix 1 "expire_absolute"
check role-ignored role-ignored 1 "role_ignored"
check plus-lost plus-lost 1 "token_plus_lost"
check clock-ahead clock-ahead 1 "clock_ahead"
check wrong-cert wrong-cert 1 "wrong_certificate"
check quotes quotes 1 "token_quoted"
check slash slash 1 "token_json_escaped"
check percent percent 1 "token_percent_encoded"
check hang hang 1 "timeout" --timeout 1
check error500 error500 1 "http_error"
check html html 1 "not_json"
check close close 1 "connection_closed"
check huge huge 1 "answer_too_large"
check trickle trickle 1 "timeout" --timeout 2
check garbage garbage 1 "not_http" --max-requests 2
check unreachable - 2 "connection_closed" --max-requests 2

# The header file's Authorization reaches the server; the text report names the finding and
# never prints the secret.
printf '# the token service key\nAuthorization: Bearer s3cr3t-preflight-key\n' >"$work/headers"
start_server uid0-string --require-auth "Bearer s3cr3t-preflight-key"
rc=0
"$td" preflight --url "http://127.0.0.1:$port$template" --app-id "$app_id" \
    --project "$work/project.json" --token-field rtcToken --header-file "$work/headers" \
    >"$work/text.out" 2>&1 || rc=$?
stop_server
if [[ $rc -eq 1 ]] && grep -q 'FINDING uid_zero_as_account: uid 0 is signed as the account "0"' \
    "$work/text.out" && ! grep -q s3cr3t "$work/text.out"; then
    echo "ok   text report, with the header file"
    passed=$((passed + 1))
else
    echo "FAIL text report, with the header file (exit $rc)"
    cat "$work/text.out" >&2
    failed=$((failed + 1))
fi

# Usage errors: exit 64 with a message naming the option, never a header's value.
usage() {
    local want=$1 rc=0
    shift
    "$td" preflight --app-id "$app_id" --project "$work/project.json" "$@" \
        >/dev/null 2>"$work/usage.err" || rc=$?
    if [[ $rc -eq 64 ]] && grep -qF -- "$want" "$work/usage.err" && ! grep -q s3cr3t "$work/usage.err"; then
        echo "ok   usage: $want"
        passed=$((passed + 1))
    else
        echo "FAIL usage: want 64 and '$want', got $rc: $(cat "$work/usage.err")"
        failed=$((failed + 1))
    fi
}
u="http://127.0.0.1:9$template"
printf 'Authorization: Bearer s3cr3t\x01\n' >"$work/bad-value"
printf 'Host: s3cr3t.example\n' >"$work/bad-host"
printf 'no colon s3cr3t\n' >"$work/bad-line"
usage 'https is not supported' --url "https://127.0.0.1/token?uid={uid}&channel={channel}"
usage 'needs {uid} or {account}' --url "http://127.0.0.1:9/token?channel={channel}"
usage 'needs {channel}' --url "http://127.0.0.1:9/token?uid={uid}"
usage 'host and port written out' --url "http://{channel}.example/token?uid={uid}"
usage 'PORT 1..65535' --url "http://127.0.0.1:0/token?uid={uid}&channel={channel}"
usage '--body: only with --method POST' --url "$u" --body '{"uid":{uid}}'
usage '--max-requests: 1..24' --url "$u" --max-requests 0
usage '--timeout: 1..120' --url "$u" --timeout 121
usage '--roles: publisher=NAME' --url "$u" --roles 'owner=x'
usage '--token-field: a dotted path' --url "$u" --token-field 'data..token'
usage 'line 1: a control character' --url "$u" --header-file "$work/bad-value"
usage 'line 1: host is set by tokendoctor' --url "$u" --header-file "$work/bad-host"
usage 'line 1: not a header line' --url "$u" --header-file "$work/bad-line"
usage 'one of them' --url "$u" --db "$work/none.db"
rc=0
"$td" preflight --url "$u" --app-id ffffffffffffffffffffffffffffffff --project "$work/project.json" \
    >/dev/null 2>"$work/usage.err" || rc=$?
if [[ $rc -eq 64 ]] && grep -q 'no project configuration' "$work/usage.err"; then
    echo "ok   usage: no project for the App ID"
    passed=$((passed + 1))
else
    echo "FAIL usage: no project for the App ID: $rc $(cat "$work/usage.err")"
    failed=$((failed + 1))
fi

echo "preflight: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
