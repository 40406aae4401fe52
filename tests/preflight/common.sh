# common.sh -- what run.sh and probe.sh share (sourced after setting $here and td_init NAME):
# node or a skip (exit 77), a $work directory, the vendor libraries of tests/interop (npm ci
# from its lock file when they are missing), the test project (co-host authentication on: the
# only setting under which a role that changes nothing matters), and the token server.
# shellcheck shell=bash
# shellcheck source=../lib.sh
source "$here/../lib.sh"
td_init "$td_suite"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "$td_suite: SKIPPED: node and npm are needed (apt-get install nodejs npm; make test installs them)"
    exit 77
fi
td_make_work
modules=$root/tests/interop/node_modules
[[ -d $modules/agora-token && -d $modules/agora-access-token ]] || td_npm_ci "$root/tests/interop"

app_id=0123456789abcdef0123456789abcdef
cert=fedcba9876543210fedcba9876543210
other=00112233445566778899aabbccddeeff
printf '{"app_id":"%s","primary":{"certificate":"%s","enabled":true},"cohost_auth":true}\n' \
    "$app_id" "$cert" >"$work/project.json"
template='/token?channel={channel}&uid={uid}&account={account}&role={role}&expire={expire}'
server_pid=

stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}

# BUG [server.js options...]: starts server.js with it on a loopback port; sets port and
# server_pid. false when it did not start (its stderr printed).
start_server() {
    : >"$work/server.out"
    NODE_PATH=$modules node "$here/server.js" --bug "$@" --app-id "$app_id" --cert "$cert" \
        --other-cert "$other" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(awk '/^listening /{print $2}' "$work/server.out")
        [[ -n $port ]] && return 0
        sleep 0.05
    done
    cat "$work/server.err" >&2
    return 1
}
