#!/usr/bin/env bash
# run.sh BUILD_DIR -- `make bench`: tokendoctor measured side by side with the checker a user
# would write today (baseline.js on the vendor's npm libraries), in one run, on this machine.
#
#   0. tools         npm ci (agora-token@2.0.6, agora-access-token@2.0.4, pinned by the lock
#                    file); wrk from Debian if missing; the machine (nproc, CPU model, load)
#   1. corpus        node gen.js: BENCH_N (100000) distinct requests over BENCH_PROJECTS (100)
#                    projects, ~22% failing somewhere, some with sdk_version; the baseline checked
#                    against tests/vectors/v2/{scenarios,sdk}.jsonl (it must give every answer of
#                    the contract, diagnosis.md v2, or no ratio means anything)
#   2. micro         micro.c against BUILD_DIR/core/libtdcore.a: 007 and 006 decode+verify next
#                    to their floor (HMACs with a kept mbedTLS context + a reused z_stream), and by
#                    number of services in a token
#   3. batch         `tokendoctor diagnose --batch --summary` vs `node baseline.js batch`, same
#                    file, BENCH_REPEAT (3) alternating runs each, median; both outputs compared
#                    answer by answer; the baseline once more on 2 processes (for reference);
#                    then by batch size (1k, 10k, 100k lines)
#   4. http          `tokendoctor serve --threads 2` vs the 2-worker Node cluster under
#                    `wrk -t1 -c64 -d${BENCH_DURATION}s` (post.lua posts the corpus in turn):
#                    req/s, p99, non-2xx, RSS, CPU per request of the server and of wrk; then
#                    sweeps over connections, threads/workers and the HTTP batch size
#                    (/v1/diagnose/batch); BENCH_SOAK=SECONDS adds a soak run sampling the
#                    server's RSS every 10 s
#   4b. floor        the HTTP path against its own floor (floor.c): a minimal evhttp server on the
#                    same 2 threads answering every request with a fixed body of the service's mean
#                    answer size, and one that also parses the body with jansson; alternating
#                    with the service under the same wrk load, twice (once with BENCH_QUICK)
#   4c. scale        BENCH_SCALE=N (opt-in; e.g. 1000000, ~10 minutes and ~3 GB under BUILD_DIR/
#                    bench/scale, deleted after): N projects (gen.js: a quarter with both
#                    certificates, a third with a retired one) imported into a fresh database;
#                    the miss path alone (store.c: tdb_project_get, then the cache's miss, hit
#                    and bytes per project); `diagnose --batch --db` over N requests spread
#                    uniformly over them against the main corpus, rate and max RSS; then
#                    `serve --threads 2` on them, uniform and Zipf (s = 1), each after a warm-up
#                    that sends every request once, alternating with the main corpus's service
#   4d. stores       BENCH_PG=1 (the default; 0 skips it), when PostgreSQL can be started
#                    (tests/pg/pg.sh, durable: fsync and synchronous_commit on, as in production):
#                    the same projects put into a PostgreSQL database, then `serve --threads 2`
#                    on SQLite and on PostgreSQL alternating (BENCH_STORES_REPEAT times: default
#                    twice, once with BENCH_QUICK), the
#                    diagnosis log on, each BENCH_DURATION s under the headline wrk load: req/s per
#                    node and the ratio PostgreSQL/SQLite, with the load average and the commit
#   5. report        report.js writes BUILD_DIR/bench/results.md (+ results.jsonl, the raw
#                    records) and prints it, with each target "met" or "NOT met"
#
# Figures are ratios against the baseline measured in the same run: the machine is shared and
# noisy, absolute numbers move, ratios much less. Nothing here asserts a time: a missed target is
# reported, not failed. The script exits non-zero only when something could not be measured
# correctly (a build failure, a checker that disagrees with the spec, a server that would not
# start). A step whose tokendoctor command is not available yet is reported as "not measured".
# Loopback only. The whole run takes about 3 minutes (BENCH_QUICK=1: about 1 minute), plus
# BENCH_SOAK seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build/release}
[[ $build = /* ]] || build="$PWD/$build"
out="$build/bench"
td="$build/cli/tokendoctor"

quick=${BENCH_QUICK:-0}
n=${BENCH_N:-100000}
projects=${BENCH_PROJECTS:-100}
repeat=${BENCH_REPEAT:-3}
duration=${BENCH_DURATION:-10}
sweep_duration=${BENCH_SWEEP_DURATION:-4}
soak=${BENCH_SOAK:-0}
scale=${BENCH_SCALE:-0}
if [[ $quick = 1 ]]; then
    n=${BENCH_N:-20000} repeat=1 duration=${BENCH_DURATION:-4} sweep_duration=2
fi

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

mkdir -p "$out"
records="$out/results.jsonl"
: >"$records"
# One JSON object per measurement; report.js aggregates them.
rec() { printf '%s\n' "$1" >>"$records"; }

pids=()
pg_dir=
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [[ -z $pg_dir ]] || "$root/tests/pg/pg.sh" stop "$pg_dir" || true
}
trap cleanup EXIT

# ---- 0. tools ------------------------------------------------------------------------------

# Debian packages, installed when missing and we may (make bench runs as root on the CI image).
apt_install() {
    [[ $(id -u) = 0 ]] || return 1
    log "installing $* (Debian packages)"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm ||
    die "node and npm are needed (apt-get install nodejs npm)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in $here"
command -v wrk >/dev/null || apt_install wrk ||
    log "wrk is missing (apt-get install wrk): the HTTP figures will be missing"
command -v curl >/dev/null || apt_install curl ||
    log "curl is missing (apt-get install curl): the HTTP figures will be missing"
cc=${CC:-cc}
command -v "$cc" >/dev/null || cc=gcc

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
rec "$(node -e 'const os=require("os");console.log(JSON.stringify({kind:"machine",nproc:Number(process.argv[1]),cpu:process.argv[2]||os.cpus()[0].model,mem_gib:+(os.totalmem()/2**30).toFixed(1),kernel:os.release(),load:os.loadavg().map(x=>+x.toFixed(2)),node:process.version,wrk:process.argv[3],cc:process.argv[4],date:new Date().toISOString(),n:+process.argv[5],projects:+process.argv[6],repeat:+process.argv[7],duration:+process.argv[8]}))' \
    "$(nproc)" "$cpu" "$(wrk -v 2>&1 | head -1 | awk '{print $2}' || true)" "$($cc --version | head -1)" "$n" "$projects" "$repeat" "$duration")"
log "machine: $(nproc) cores, $cpu; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. corpus -------------------------------------------------------------------------------

corpus="$out/corpus"
node "$here/gen.js" --n "$n" --projects "$projects" --seed 20261122 --out "$corpus"
head -n 1000 "$corpus/requests.jsonl" >"$corpus/requests-1k.jsonl"
head -n 10000 "$corpus/requests.jsonl" >"$corpus/requests-10k.jsonl"
# The baseline's answers to the first 1000 requests: what the HTTP answers are compared with.
node "$here/baseline.js" batch --project "$corpus/projects.json" "$corpus/requests-1k.jsonl" \
    >"$corpus/answers-1k.jsonl"
# The baseline must give the contract's answers (diagnosis.md v2) on the repository's copy of its
# scenarios, sdk_version ones included, or no ratio against it means anything.
vectors="$root/tests/vectors/v2"
for f in scenarios.jsonl sdk.jsonl; do
    [[ -s $vectors/$f ]] || die "missing $vectors/$f: the baseline cannot be checked against the contract"
done
selftest=$(node "$here/baseline.js" selftest "$vectors/scenarios.jsonl" "$vectors/sdk.jsonl") ||
    die "the baseline checker disagrees with the contract's scenarios: $selftest"
log "$selftest"
rec "$(node -e 'console.log(JSON.stringify({kind:"selftest",line:process.argv[1]}))' "$selftest")"

# ---- 2. micro --------------------------------------------------------------------------------

if [[ -f $build/core/libtdcore.a ]]; then
    "$cc" -std=c17 -O2 -Wall -Wextra -Werror -I"$root/core" "$here/micro.c" \
        "$build/core/libtdcore.a" -lmbedcrypto -lz -o "$out/micro" || die "micro.c did not build"
    micro_args=()
    [[ $quick = 1 ]] && micro_args=(--quick)
    "$out/micro" "${micro_args[@]}" | tee "$out/micro.txt" | grep -v '^MICROJSON' >&2 ||
        die "the micro-benchmark failed"
    rec "$(sed -n 's/^MICROJSON //p' "$out/micro.txt" | node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8"));o.kind="micro";console.log(JSON.stringify(o))')"
else
    log "no $build/core/libtdcore.a: micro-benchmark not measured"
fi

# ---- 3. batch --------------------------------------------------------------------------------

# time_run WHO SIZE FILE OUTFILE CMD...: one timed run, recorded (wall and CPU seconds).
time_run() {
    local who=$1 size=$2 file=$3 result=$4
    shift 4
    local t
    t=$({ TIMEFORMAT='%R %U %S'; time "$@" <"$file" >"$result" 2>"$out/$who.stderr"; } 2>&1) || {
        # diagnose exits 1/2 when some answers are rejected/unverifiable: only >= 64 is failure.
        local rc=$?
        [[ $rc -lt 64 ]] || { log "$who batch failed (exit $rc): $(head -c 300 "$out/$who.stderr")"; return 1; }
    }
    t=$(tail -n 1 <<<"$t")
    read -r wall user sys <<<"$t"
    rec "{\"kind\":\"batch\",\"who\":\"$who\",\"n\":$size,\"seconds\":$wall,\"user\":$user,\"sys\":$sys}"
    log "batch $who n=$size: ${wall}s ($(node -e "console.log(Math.round($size/$wall))") req/s)"
}

batch_ours=("$td" diagnose --batch - --summary --project "$corpus/projects.json")
batch_node=(node "$here/baseline.js" batch --project "$corpus/projects.json" -)
batch_node2=(node "$here/baseline.js" batch --project "$corpus/projects.json" --workers 2 -)

# Probe: is `diagnose --batch --summary` there yet, and does it answer?
have_batch=0
if [[ -x $td ]]; then
    probe_rc=0
    "${batch_ours[@]}" <"$corpus/requests-1k.jsonl" >"$out/probe.jsonl" 2>"$out/probe.stderr" || probe_rc=$?
    if [[ $probe_rc -lt 64 ]] && [[ $(wc -l <"$out/probe.jsonl") -eq 1000 ]]; then
        have_batch=1
    else
        log "tokendoctor diagnose --batch --summary is not available (exit $probe_rc: $(head -c 200 "$out/probe.stderr")): batch not measured"
    fi
else
    log "no $td: batch and HTTP not measured"
fi

if [[ $have_batch = 1 ]]; then
    for ((r = 0; r < repeat; r++)); do
        time_run ours "$n" "$corpus/requests.jsonl" "$out/batch-ours.jsonl" "${batch_ours[@]}"
        time_run node "$n" "$corpus/requests.jsonl" "$out/batch-node.jsonl" "${batch_node[@]}"
    done
    rec "$(node "$here/report.js" compare "$out/batch-ours.jsonl" "$out/batch-node.jsonl")"
    # For reference: the baseline on both cores (lines dealt to 2 processes, merged in order).
    time_run node2 "$n" "$corpus/requests.jsonl" "$out/batch-node2.jsonl" "${batch_node2[@]}"
    for size in 1000 10000; do
        f="$corpus/requests-$((size / 1000))k.jsonl"
        time_run ours "$size" "$f" "$out/batch-ours-$size.jsonl" "${batch_ours[@]}"
        time_run node "$size" "$f" "$out/batch-node-$size.jsonl" "${batch_node[@]}"
    done
fi

# ---- 4. http ---------------------------------------------------------------------------------

free_port() {
    local p
    for p in $(seq "$1" $(($1 + 200))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
            echo "$p"
            return 0
        }
    done
    return 1
}

wait_ready() { # URL PID
    local i
    for i in $(seq 1 100); do
        kill -0 "$2" 2>/dev/null || return 1
        curl -sf -o /dev/null "$1/healthz" && return 0
        sleep 0.1
    done
    return 1
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# CPU ticks (user + system) used so far by a process, its threads and its child processes (the
# cluster's workers): with it, a run's CPU time per request, which the other tenants of a shared
# machine disturb much less than requests per second.
cpu_ticks() {
    # cat, not awk on the files: a process may exit between the glob and the read, and some
    # awks stop at a file they cannot open.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v p="$1" '$1 == p || $4 == p { t += $14 + $15 } END { print t + 0 }'
}
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

server_pid=
start_ours() { # THREADS [MORE SERVE OPTIONS]
    local port threads=$1
    shift
    port=$(free_port 18380)
    # Defaults otherwise, as a user runs it: diagnosis log, metrics and the access log (stderr,
    # here a file) all on. But the rate limit per client address: every load comes from one.
    "$td" serve --listen "127.0.0.1:$port" --db "${serve_db:-$out/bench.db}" ${serve_key:+--key-file "$serve_key"} --threads "$threads" --rate-limit 0 "$@" \
        >"$out/serve.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    url="http://127.0.0.1:$port"
    wait_ready "$url" "$server_pid" || { log "tokendoctor serve did not start: $(tail -c 400 "$out/serve.log")"; return 1; }
}

start_node() { # WORKERS
    local port
    port=$(free_port 18680)
    node "$here/baseline.js" serve --project "$corpus/projects.json" --port "$port" --workers "$1" \
        >"$out/baseline-serve.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    url="http://127.0.0.1:$port"
    wait_ready "$url" "$server_pid" || { log "the baseline server did not start: $(cat "$out/baseline-serve.log")"; return 1; }
}

start_floor() { # THREADS SIZE [--parse]
    local port
    port=$(free_port 18980)
    "$out/floor" "$port" "$@" >"$out/floor.log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    url="http://127.0.0.1:$port"
    wait_ready "$url" "$server_pid" || { log "the floor server did not start: $(cat "$out/floor.log")"; return 1; }
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# wrk_run WHO LABEL THREADS CONNECTIONS SECONDS FILE PATH: one wrk run against $url, recorded.
wrk_run() {
    local who=$1 label=$2 threads=$3 conns=$4 secs=$5 file=$6 path=$7
    local rss0 rss1 line cpu0 cpu1
    rss0=$(rss_kb "$server_pid")
    cpu0=$(cpu_ticks "$server_pid")
    # wrk's own CPU time (user + sys, from bash's `time`): it runs on the same cores, so what it
    # takes per request bounds what any server can reach here (report.js works out the budget).
    local TIMEFORMAT='%U %S' wrk_cpu
    { time wrk -t1 -c"$conns" -d"${secs}s" --timeout 5s -s "$here/post.lua" "$url" -- \
        "$file" "$path" >"$out/wrk.out" 2>&1; } 2>"$out/wrk.time" || true
    line=$(sed -n 's/^WRKJSON //p' "$out/wrk.out")
    [[ -n $line ]] || { log "wrk gave no result for $who $label: $(tail -c 300 "$out/wrk.out")"; return 1; }
    wrk_cpu=$(awk 'NF == 2 { print $1 + $2 }' "$out/wrk.time" | tail -1)
    cpu1=$(cpu_ticks "$server_pid")
    rss1=$(rss_kb "$server_pid")
    rec "$(node -e 'const o=JSON.parse(process.argv[1]);Object.assign(o,{kind:"http",who:process.argv[2],label:process.argv[3],threads:+process.argv[4],connections:+process.argv[5],path:process.argv[6],rss_before_kb:+process.argv[7],rss_after_kb:+process.argv[8],cpu_s:(+process.argv[9])/(+process.argv[10])});if(process.argv[11])o.wrk_cpu_s=+process.argv[11];console.log(JSON.stringify(o))' \
        "$line" "$who" "$label" "$threads" "$conns" "$path" "$rss0" "$rss1" "$((cpu1 - cpu0))" "$clk_tck" "${wrk_cpu:-}")"
    log "http $who $label: $(node -e 'const o=JSON.parse(process.argv[1]);console.log(`${Math.round(o.rps)} req/s, p99 ${o.p99_ms} ms, non-2xx ${o.non2xx}, errors ${o.connect_errors+o.read_errors+o.write_errors+o.timeouts}`)' "$line")"
}

warm() { wrk -t1 -c16 -d1s -s "$here/post.lua" "$url" -- "$corpus/requests-10k.jsonl" >/dev/null; }
# wrk_field NAME: a field of the last wrk run's result.
wrk_field() { sed -n 's/^WRKJSON //p' "$out/wrk.out" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8"))[process.argv[1]])' "$1"; }

have_serve=0
if [[ -x $td ]] && command -v wrk >/dev/null && command -v curl >/dev/null; then
    rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm" "$out/tokendoctor.key"
    node -e 'const fs=require("fs");const d=process.argv[2];JSON.parse(fs.readFileSync(process.argv[1],"utf8")).forEach((p,i)=>fs.writeFileSync(`${d}/project-${i}.json`,JSON.stringify(p)))' \
        "$corpus/projects.json" "$corpus"
    loaded=0
    for f in "$corpus"/project-*.json; do
        "$td" project put --db "$out/bench.db" --file "$f" >/dev/null 2>"$out/project-put.stderr" || break
        loaded=$((loaded + 1))
    done
    if [[ $loaded -ne $projects ]]; then
        log "tokendoctor project put is not available ($(head -c 200 "$out/project-put.stderr")): HTTP not measured"
    elif start_ours 2; then
        if curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data-binary "$(head -n 1 "$corpus/requests.jsonl")" "$url/v1/diagnose"; then
            have_serve=1
        else
            log "POST /v1/diagnose does not answer 200: HTTP not measured"
        fi
        stop_server
    fi
fi

if [[ $have_serve = 1 ]]; then
    main_file="$corpus/requests.jsonl"
    # The headline pair, twice, alternating (a burst of load elsewhere hits both sides).
    for ((r = 0; r < (quick == 1 ? 1 : 2); r++)); do
        start_ours 2 && warm
        [[ $r = 0 ]] && rec "$(node "$here/report.js" probe "$url" "$corpus/requests-1k.jsonl" \
            "$corpus/answers-1k.jsonl")"
        wrk_run ours main 2 64 "$duration" "$main_file" /v1/diagnose
        stop_server
        start_node 2 && warm
        wrk_run node main 2 64 "$duration" "$main_file" /v1/diagnose
        stop_server
    done
    # The HTTP path against its floor (floor.c): the same threads, the same load, a fixed body of
    # the service's mean answer size (what wrk read per request, less the service's headers).
    if "$cc" -std=c17 -O2 -Wall -Wextra -Werror "$here/floor.c" -levent -levent_pthreads -ljansson \
        -lpthread -o "$out/floor"; then
        start_ours 2 && warm
        head_bytes=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data-binary "$(head -n 1 "$corpus/requests.jsonl")" "$url/v1/diagnose" | wc -c)
        for ((r = 0; r < (quick == 1 ? 1 : 2); r++)); do
            [[ $r = 0 ]] || { start_ours 2 && warm; }
            wrk_run ours floor 2 64 "$duration" "$main_file" /v1/diagnose
            body_bytes=$(($(wrk_field bytes) / $(wrk_field requests) - head_bytes))
            stop_server
            start_floor 2 "$body_bytes" && warm && wrk_run floor floor 2 64 "$duration" "$main_file" /v1/diagnose
            stop_server
            start_floor 2 "$body_bytes" --parse && warm &&
                wrk_run floor-parse floor 2 64 "$duration" "$main_file" /v1/diagnose
            stop_server
        done
        rec "{\"kind\":\"floor\",\"body_bytes\":$body_bytes,\"service_head_bytes\":$head_bytes}"
    else
        log "floor.c did not build (libevent and jansson headers): the floor not measured"
    fi
    # Connections (threads/workers = 2).
    for c in 1 16 256; do
        start_ours 2 && warm && wrk_run ours conns 2 "$c" "$sweep_duration" "$main_file" /v1/diagnose
        stop_server
        start_node 2 && warm && wrk_run node conns 2 "$c" "$sweep_duration" "$main_file" /v1/diagnose
        stop_server
    done
    # Threads (ours) and workers (Node), 64 connections.
    for t in 1 4; do
        start_ours "$t" && warm && wrk_run ours threads "$t" 64 "$sweep_duration" "$main_file" /v1/diagnose
        stop_server
    done
    start_node 1 && warm && wrk_run node threads 1 64 "$sweep_duration" "$main_file" /v1/diagnose
    stop_server
    # What the access log costs (it is on by default, to stderr).
    start_ours 2 --access-log off && warm &&
        wrk_run ours access-log-off 2 64 "$sweep_duration" "$main_file" /v1/diagnose
    stop_server
    # HTTP batch size: POST /v1/diagnose/batch with 10 and 100 requests per body.
    for b in 10 100; do
        node -e 'const fs=require("fs");const L=fs.readFileSync(process.argv[1],"utf8").trim().split("\n");const b=+process.argv[2];const o=[];for(let i=0;i+b<=L.length;i+=b)o.push(`{"requests":[${L.slice(i,i+b).join(",")}]}`);fs.writeFileSync(process.argv[3],o.join("\n")+"\n")' \
            "$corpus/requests-10k.jsonl" "$b" "$corpus/batch-$b.jsonl"
        start_ours 2 && warm && wrk_run ours "batch$b" 2 64 "$sweep_duration" "$corpus/batch-$b.jsonl" /v1/diagnose/batch
        stop_server
    done
    if [[ $soak -gt 0 ]]; then
        start_ours 2
        log "soak: ${soak}s under wrk -c64, RSS sampled every 10 s"
        wrk -t1 -c64 -d"${soak}s" --timeout 5s -s "$here/post.lua" "$url" -- "$main_file" \
            >"$out/soak-wrk.txt" &
        wrk_pid=$!
        pids+=("$wrk_pid")
        samples=()
        while kill -0 "$wrk_pid" 2>/dev/null; do
            samples+=("$(rss_kb "$server_pid")")
            sleep 10
        done
        wait "$wrk_pid" || true
        rec "{\"kind\":\"soak\",\"seconds\":$soak,\"rss_kb\":[$(IFS=,; echo "${samples[*]}")],\"wrk\":$(sed -n 's/^WRKJSON //p' "$out/soak-wrk.txt" | grep . || echo null)}"
        stop_server
    fi
fi

# ---- 4c. scale (BENCH_SCALE=N) ---------------------------------------------------------------

if [[ $scale -gt 0 && $have_serve = 1 ]]; then
    sdir="$out/scale"
    rm -rf "$sdir"
    mkdir -p "$sdir"
    zipf_n=$((scale / 4 > 100000 ? scale / 4 : 100000))
    log "scale: $scale projects, $scale uniform and $zipf_n Zipf requests (gen.js, a few minutes)"
    node --max-old-space-size=8000 "$here/gen.js" --n "$scale" --projects "$scale" --seed 20261206 --out "$sdir/u"
    node --max-old-space-size=8000 "$here/gen.js" --n "$zipf_n" --projects "$scale" --seed 20261206 --zipf 1 --out "$sdir/z"
    t0=$(date +%s.%N)
    "$td" project import --db "$sdir/scale.db" "$sdir/u/projects.json" >"$sdir/import.log" 2>&1 ||
        die "scale: the import failed: $(tail -c 300 "$sdir/import.log")"
    rec "{\"kind\":\"scale_import\",\"projects\":$scale,\"seconds\":$(node -e "console.log(($(date +%s.%N)-$t0).toFixed(1))")}"
    rm -f "$sdir/u/projects.json" "$sdir/z/projects.json"
    # The miss path alone, on App IDs in random order.
    "$cc" -std=c17 -O2 -Wall -Wextra -Werror -I"$root/db" -I"$root/project" -I"$root/core" "$here/store.c" \
        "$build/db/libtddb.a" "$build/project/libtdproject.a" "$build/core/libtdcore.a" \
        -lsqlite3 -lpq -lmbedcrypto -ljansson -lz -lpthread -o "$out/store" || die "store.c did not build"
    sed -n 's/.*"app_id":"\([0-9a-f]*\)".*/\1/p' "$sdir/u/requests.jsonl" | sort -u | shuf --random-source=<(yes) >"$sdir/ids.txt"
    line=$("$out/store" "$sdir/scale.db" "$sdir/tokendoctor.key" "$sdir/ids.txt" 200000) || die "store failed"
    rec "$(node -e 'const o=JSON.parse(process.argv[1]);o.kind="store";o.projects=+process.argv[2];console.log(JSON.stringify(o))' "$line" "$scale")"
    log "scale: miss path $line"
    # diagnose --batch --db: the main corpus's database, then the scale one (max RSS from GNU time).
    batch_db() { # WHO DB FILE
        local wall user sys maxrss
        /usr/bin/time -f '%e %U %S %M' "$td" diagnose --batch - --summary --db "$2" <"$3" \
            >"$sdir/batch.out" 2>"$sdir/batch.err" || true
        read -r wall user sys maxrss <<<"$(tail -1 "$sdir/batch.err")"
        rec "{\"kind\":\"scale_batch\",\"who\":\"$1\",\"n\":$(wc -l <"$3"),\"seconds\":$wall,\"user\":$user,\"sys\":$sys,\"max_rss_kb\":$maxrss}"
        log "scale: batch $1: ${wall}s, max RSS ${maxrss} kB"
    }
    # Three rounds: a run's rate moves by a few percent from one to the next (docs/performance.md,
    # "Schema 7"), and the median of three is steadier than the mean of two.
    for ((r = 0; r < (quick == 1 ? 1 : 3); r++)); do
        batch_db base "$out/bench.db" "$corpus/requests.jsonl"
        batch_db uniform "$sdir/scale.db" "$sdir/u/requests.jsonl"
    done
    # serve: the main corpus, then the scale database uniform and Zipf, each warmed by a pass
    # over all its requests (every project it will see is in the caches, as in a service that
    # has run for a while), alternating.
    scale_warm() { # FILE
        local secs=$(($(wc -l <"$1") / 15000 + 2))
        wrk -t1 -c64 -d"${secs}s" -s "$here/post.lua" "$url" -- "$1" >/dev/null
    }
    for ((r = 0; r < (quick == 1 ? 1 : 2); r++)); do
        serve_db= start_ours 2 && warm && wrk_run ours scale-base 2 64 "$duration" "$main_file" /v1/diagnose
        stop_server
        for mix in u z; do
            serve_db="$sdir/scale.db" start_ours 2 && scale_warm "$sdir/$mix/requests.jsonl" &&
                wrk_run ours "scale-$mix" 2 64 "$duration" "$sdir/$mix/requests.jsonl" /v1/diagnose
            stop_server
        done
    done
    [[ ${BENCH_KEEP:-0} = 1 ]] || rm -rf "$sdir"
fi

# ---- 4d. stores (BENCH_PG) ---------------------------------------------------------------------

if [[ $have_serve = 1 && ${BENCH_PG:-1} != 0 ]]; then
    pg_dir=$(mktemp -d /tmp/tdpg.XXXXXX)
    if TD_PG_DURABLE=1 "$root/tests/pg/pg.sh" start "$pg_dir" >/dev/null 2>"$out/pg.log"; then
        pg_url=$("$root/tests/pg/pg.sh" db "$pg_dir" td_bench)
        pg_key="$out/bench-pg.key"
        rm -f "$pg_key"
        loaded=0
        for f in "$corpus"/project-*.json; do
            "$td" project put --db "$pg_url" --key-file "$pg_key" --file "$f" >/dev/null \
                2>"$out/project-put.stderr" || break
            loaded=$((loaded + 1))
        done
        if [[ $loaded -ne $projects ]]; then
            log "stores: the PostgreSQL store is not available ($(head -c 200 "$out/project-put.stderr")): not measured"
        else
            pg_version=$(psql "$pg_url" -qAtX -c 'SHOW server_version' 2>/dev/null | awk '{print $1}' || true)
            log "stores: serve on SQLite and on PostgreSQL ${pg_version:-?}, alternating"
            load0=$(cut -d' ' -f1-3 /proc/loadavg)
            for ((r = 0; r < ${BENCH_STORES_REPEAT:-$((quick == 1 ? 1 : 2))}; r++)); do
                # (--no-bootstrap-key: the runs need no admin key)
                start_ours 2 --no-bootstrap-key && warm &&
                    wrk_run ours store-sqlite 2 64 "$duration" "$corpus/requests.jsonl" /v1/diagnose
                stop_server
                serve_db=$pg_url serve_key=$pg_key start_ours 2 --no-bootstrap-key && warm &&
                    wrk_run ours store-pg 2 64 "$duration" "$corpus/requests.jsonl" /v1/diagnose
                stop_server
            done
            pg_rows=$(psql "$pg_url" -qAtX -c 'SELECT count(*) FROM diagnoses' 2>/dev/null || echo null)
            rec "{\"kind\":\"stores\",\"load_before\":\"$load0\",\"load_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"commit\":\"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\",\"pg_log_rows\":${pg_rows:-null},\"durable\":true,\"pg_version\":\"${pg_version:-}\"}"
        fi
        "$root/tests/pg/pg.sh" stop "$pg_dir" || true
    else
        log "stores: PostgreSQL could not be started ($(tail -c 200 "$out/pg.log")): not measured"
    fi
    pg_dir=
fi

# The service's database holds every diagnosis of the run (~170 bytes each: ~1.5 GB after a
# soak) and serve.log its access log; neither is a result. BENCH_KEEP=1 keeps them.
if [[ ${BENCH_KEEP:-0} != 1 ]]; then
    rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm" "$out/tokendoctor.key" "$out/serve.log"
fi

# ---- 5. report -------------------------------------------------------------------------------

node "$here/report.js" render "$records" >"$out/results.md"
cat "$out/results.md"
log "results: $out/results.md (raw records: $records)"
