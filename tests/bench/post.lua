-- post.lua -- wrk script: POSTs the corpus's diagnosis requests to /v1/diagnose, each in turn.
--
-- Design: every line of the requests file (gen.js's requests.jsonl, one JSON body per line) is
-- formatted into a complete HTTP request once, at init, so that wrk spends its time on the
-- network and not on Lua while measuring. Connections then take the requests in turn, so
-- consecutive requests carry different tokens (no cache can answer instead of the work); each
-- wrk thread starts at a different offset. The path can be changed to /v1/diagnose/batch with a
-- file of {"requests": [...]} bodies (run.sh writes those for the batch-size sweep).
--
-- At the end it prints one machine-readable line, "WRKJSON {...}", that run.sh reads: requests,
-- seconds, requests/s, latency percentiles (ms), socket errors and non-2xx/3xx answers.
--
-- Usage: wrk -t1 -c64 -d10s -s post.lua http://127.0.0.1:PORT -- requests.jsonl [/v1/diagnose]

local threads = {}
local thread_count = 0

function setup(thread)
    thread:set("id", thread_count)
    thread_count = thread_count + 1
    table.insert(threads, thread)
end

local requests = {}
local index = 1

function init(args)
    local file = args[1] or "requests.jsonl"
    local path = args[2] or "/v1/diagnose"
    local headers = { ["Content-Type"] = "application/json" }
    local f = assert(io.open(file, "r"), "post.lua: cannot open " .. file)
    for line in f:lines() do
        if #line > 0 then
            requests[#requests + 1] = wrk.format("POST", path, headers, line)
        end
    end
    f:close()
    assert(#requests > 0, "post.lua: no requests in " .. file)
    index = ((id or 0) * 7919) % #requests + 1
end

function request()
    local r = requests[index]
    index = index + 1
    if index > #requests then
        index = 1
    end
    return r
end

function done(summary, latency, _)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        'WRKJSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "bytes": %d, ' ..
        '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f, "max_ms": %.3f, ' ..
        '"mean_ms": %.3f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
        '"timeouts": %d, "non2xx": %d}\n',
        summary.requests, seconds, summary.requests / seconds, summary.bytes,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000,
        e.connect, e.read, e.write, e.timeout, e.status))
end
