#!/usr/bin/env bash
# probe.sh TOKENDOCTOR -- `serve --probe`: a probe of a buggy token server (server.js, planted
# bug uid0-string) and one of a port nothing listens on, in a service with a temporary store.
# Asserts that the tokendoctor_probe_* series appear in /metrics with the finding, that
# GET /v1/probes shows the last report to an admin key only, that /healthz and /readyz stay 200
# with a failing probe, and that a bad probe file is a usage error (64) that creates no database.
# Skipped (77) without node. The last line is "preflight_probe: N passed, M failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
td=${1:?usage: probe.sh TOKENDOCTOR}
td_suite=preflight_probe
# shellcheck source=common.sh
source "$here/common.sh"
pids=()
stop_all() {
    stop_server
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_all; td_cleanup' EXIT
passed=0
failed=0
ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}
bad() {
    echo "FAIL $1"
    failed=$((failed + 1))
    keep_work=1
}

# URL [KEY]: "STATUS BODY" of a GET.
get() {
    node -e 'const [u,k]=process.argv.slice(1);
        fetch(u,{headers:k?{Authorization:"Bearer "+k}:{}}).then(async r=>
            console.log(r.status+" "+await r.text())).catch(e=>console.log("0 "+e))' "$@"
}

"$td" project put --db "$work/td.db" "$work/project.json" >/dev/null
start_server uid0-string || die "the token server did not start"
cat >"$work/tsrv.json" <<EOF
{"url": "http://127.0.0.1:$port/token?channel={channel}&uid={uid}&account={account}&role={role}&expire={expire}",
 "app_id": "$app_id", "token_field": "rtcToken", "interval": 3600, "max_requests": 4}
EOF
cat >"$work/down.json" <<EOF
{"url": "http://127.0.0.1:1/token?channel={channel}&uid={uid}", "app_id": "$app_id",
 "interval": 3600, "max_requests": 2, "timeout": 1}
EOF

# A bad probe file: 64, and no database left behind.
rc=0
echo '{"url": "https://example.com/t?uid={uid}&channel={channel}", "app_id": "'$app_id'"}' \
    >"$work/bad.json"
"$td" serve --db "$work/none.db" --listen 127.0.0.1:0 --probe "x=$work/bad.json" \
    >/dev/null 2>"$work/bad.err" || rc=$?
grep -q 'https is not supported' "$work/bad.err" || rc="$rc (no reason given)"
if [[ $rc -eq 64 && ! -e $work/none.db ]]; then ok "a bad probe file is a usage error"; else
    bad "a bad probe file: exit $rc"
fi

"$td" serve --db "$work/td.db" --listen 127.0.0.1:0 --port-file "$work/port" \
    --admin-key-file "$work/key" --access-log off --threads 2 \
    --probe "tsrv=$work/tsrv.json" --probe "down=$work/down.json" >/dev/null 2>"$work/serve.err" &
pids+=($!)
for _ in $(seq 100); do
    [[ -s $work/port ]] && break
    sleep 0.05
done
sp=$(cat "$work/port")
base=http://127.0.0.1:$sp
metrics=
for _ in $(seq 150); do
    metrics=$(get "$base/metrics")
    grep -q 'tokendoctor_probe_runs_total{probe="tsrv"} 1' <<<"$metrics" &&
        grep -q 'tokendoctor_probe_runs_total{probe="down"} 1' <<<"$metrics" && break
    sleep 0.1
done
if grep -q 'tokendoctor_probe_success{probe="tsrv"} 0' <<<"$metrics" &&
    grep -q 'tokendoctor_probe_findings{probe="tsrv",finding="uid_zero_as_account"} 1' <<<"$metrics" &&
    grep -q 'tokendoctor_probe_success{probe="down"} 0' <<<"$metrics" &&
    grep -q 'tokendoctor_probe_last_run_timestamp_seconds{probe="tsrv"}' <<<"$metrics" &&
    grep -q 'tokendoctor_probe_last_duration_seconds{probe="tsrv"}' <<<"$metrics"; then
    ok "metrics: tokendoctor_probe_* with the finding"
else
    bad "metrics: $(grep probe_ <<<"$metrics" | grep -v ' 0$' | tr '\n' ' ')"
fi

answer=$(get "$base/v1/probes" "$(cat "$work/key")")
ids=$(node -e 'const a=JSON.parse(process.argv[1].replace(/^\d+ /,""));
    console.log(a.probes.map(p=>p.name+":"+(p.last.findings||[]).map(f=>f.id).join(",")+
        ":"+p.last.result).join(" "))' "$answer" 2>/dev/null) || ids="(unreadable)"
if [[ $answer == 200\ * && $ids == "tsrv:uid_zero_as_account:findings down:connection_closed:unreachable" ]]; then
    ok "GET /v1/probes shows the last reports"
else
    bad "GET /v1/probes: $ids (${answer:0:200})"
fi
status=$(get "$base/v1/probes")
[[ $status == 401\ * ]] && ok "GET /v1/probes without a key: 401" || bad "without a key: ${status:0:80}"

ready=$(get "$base/readyz")
health=$(get "$base/healthz")
if [[ $ready == 200\ * && $health == 200\ * ]]; then
    ok "/healthz and /readyz stay 200 with failing probes"
else
    bad "/readyz ${ready:0:80}, /healthz ${health:0:80}"
fi
stop_all
grep -q 'stopped' "$work/serve.err" && ok "stops cleanly with probes" || bad "stop: $(tail -2 "$work/serve.err")"

echo "preflight_probe: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
