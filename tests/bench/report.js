#!/usr/bin/env node
// report.js -- the bookkeeping of `make bench` (run.sh): agreement checks and the results page.
//
// Design
// ------
// run.sh appends one JSON record per measurement to results.jsonl (machine, micro, each batch
// run, each wrk run, agreement checks, soak); this script owns every computation on them --
// medians, ratios, whether a target is met -- so that run.sh stays a plain sequence of commands
// and the page can be regenerated from the raw records at any time:
//
//   node report.js compare OURS.jsonl BASELINE.jsonl   both checkers' batch answers, by id
//   node report.js probe URL REQUESTS.jsonl ANSWERS.jsonl
//        POSTs the requests to URL/v1/diagnose one by one and compares each answer's verdict
//        and cause with the baseline's answer on the same line
//   node report.js render results.jsonl                 the markdown page (results.md)
//
// A benchmark of two checkers that disagree measures nothing: the agreement figures sit next to
// the speed figures on the page.
'use strict';

const fs = require('fs');
const http = require('http');

const TARGETS = { batch: 6, http: 3, httpP99: 10, micro: 1.3, floor: 0.9, scale: 0.75, scaleP99: 10 };
const WHO = { ours: 'tokendoctor', node: 'baseline', floor: 'floor (evhttp)', 'floor-parse': 'floor + jansson parse' };

function readJsonl(file) {
    return fs.readFileSync(file, 'utf8').split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l));
}

// A diagnosis (which has an `error` member of its own when rejected) or an error object.
function answerKey(o) {
    if (o && o.verdict === undefined && o.error) return `error:${o.error.code}`;
    return `${o.verdict}/${o.cause}`;
}

// ---- compare ------------------------------------------------------------------------------

function compare(oursFile, nodeFile) {
    const ours = readJsonl(oursFile);
    const base = new Map(readJsonl(nodeFile).map(o => [o.id, o]));
    let agree = 0;
    const differ = {};
    const examples = [];
    for (const o of ours) {
        const b = base.get(o.id);
        const a = answerKey(o);
        const k = b ? answerKey(b) : 'missing';
        if (a === k) {
            agree++;
            continue;
        }
        const pair = `${a} vs ${k}`;
        differ[pair] = (differ[pair] || 0) + 1;
        if (examples.length < 5) examples.push(`${o.id}: tokendoctor ${a}, baseline ${k}`);
    }
    return { kind: 'agreement', what: 'batch', total: ours.length, baseline_total: base.size, agree, differ, examples };
}

// ---- probe --------------------------------------------------------------------------------

function post(agent, url, body) {
    return new Promise((resolve, reject) => {
        const req = http.request(`${url}/v1/diagnose`, {
            method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        }, res => {
            const parts = [];
            res.on('data', c => parts.push(c));
            res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
    });
}

async function probe(url, requestsFile, answersFile) {
    const lines = fs.readFileSync(requestsFile, 'utf8').split('\n').filter(l => l.trim() !== '');
    const answers = readJsonl(answersFile);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const status = {};
    let agree = 0;
    const differ = {};
    const examples = [];
    for (let i = 0; i < lines.length; i++) {
        const res = await post(agent, url, lines[i]);
        status[res.status] = (status[res.status] || 0) + 1;
        let got;
        try {
            got = answerKey(JSON.parse(res.body));
        } catch (e) {
            got = `unparsable (${res.status})`;
        }
        const want = answerKey(answers[i]);
        if (got === want) agree++;
        else {
            const pair = `${got} vs ${want}`;
            differ[pair] = (differ[pair] || 0) + 1;
            if (examples.length < 5) examples.push(`line ${i + 1}: tokendoctor ${got}, baseline ${want}`);
        }
    }
    agent.destroy();
    return { kind: 'agreement', what: 'http', total: lines.length, agree, status, differ, examples };
}

// ---- render -------------------------------------------------------------------------------

const median = xs => {
    const s = [...xs].sort((a, b) => a - b);
    if (s.length === 0) return NaN;
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = x => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f2 = x => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f3 = x => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const met = ok => (ok ? '**met**' : '**NOT met**');
const pct = x => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');

function batchRows(recs, who, n) {
    return recs.filter(r => r.kind === 'batch' && r.who === who && r.n === n);
}

function batchRps(recs, who, n) {
    return median(batchRows(recs, who, n).map(r => r.n / r.seconds));
}

// Runs alternate (ours, baseline, ours, ...): the ratio of each pair, then their median, so a
// burst of load elsewhere on the machine hits one pair rather than one side.
function pairedRatio(a, b, value) {
    const ratios = [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push(value(a[i]) / value(b[i]));
    return median(ratios);
}

function batchRatio(recs, n) {
    return pairedRatio(batchRows(recs, 'ours', n), batchRows(recs, 'node', n), r => r.n / r.seconds);
}

// CPU seconds per request of the baseline over ours: what the ratio would be if each had the
// cores to itself (on a loaded machine wall time also counts the other tenants).
function batchCpuRatio(recs, n) {
    const cpu = who => median(batchRows(recs, who, n).map(r => (r.user + r.sys) / r.n));
    return cpu('node') / cpu('ours');
}

function httpRuns(recs, who, label, extra = () => true) {
    return recs.filter(r => r.kind === 'http' && r.who === who && r.label === label && extra(r));
}

function render(file) {
    const recs = readJsonl(file);
    const machine = recs.find(r => r.kind === 'machine') || {};
    const micro = recs.find(r => r.kind === 'micro');
    const selftest = recs.find(r => r.kind === 'selftest');
    const agreements = recs.filter(r => r.kind === 'agreement');
    const out = [];
    const p = s => out.push(s);

    p('# tokendoctor benchmark results');
    p('');
    p(`Run ${machine.date || '?'} on ${machine.nproc} cores (${machine.cpu}), ${machine.mem_gib} GiB, `
        + `Linux ${machine.kernel}; load average at start ${(machine.load || []).join(' ')}. `
        + `Node ${machine.node}, wrk ${machine.wrk || 'n/a'}, ${machine.cc}.`);
    p(`Corpus: ${int(machine.n)} distinct requests over ${machine.projects} projects (gen.js, ~20% failing); `
        + `batch runs: ${machine.repeat} per side, median; HTTP: wrk ${machine.duration} s per run.`);
    if (selftest) p(`Baseline checked against the contract's scenarios (tests/vectors/v2): ${selftest.line}.`);
    p('');

    // Headline table.
    const n = machine.n;
    const bOurs = batchRps(recs, 'ours', n);
    const bNode = batchRps(recs, 'node', n);
    const hOurs = httpRuns(recs, 'ours', 'main');
    const hNode = httpRuns(recs, 'node', 'main');
    const hOursRps = median(hOurs.map(r => r.rps));
    const hNodeRps = median(hNode.map(r => r.rps));
    const hOursP99 = median(hOurs.map(r => r.p99_ms));
    const hNodeP99 = median(hNode.map(r => r.p99_ms));
    const non2xx = hOurs.reduce((a, r) => a + r.non2xx + r.connect_errors + r.read_errors + r.write_errors + r.timeouts, 0);
    p('## Targets');
    p('');
    p('| what | tokendoctor | baseline | ratio | target | |');
    p('|---|---|---|---|---|---|');
    if (Number.isFinite(bOurs)) {
        const ratio = batchRatio(recs, n);
        p(`| \`diagnose --batch --summary\`, ${int(n)} requests | ${int(bOurs)} req/s | ${int(bNode)} req/s (\`baseline.js batch\`) | ${f2(ratio)}× (CPU time: ${f2(batchCpuRatio(recs, n))}×) | ≥ ${TARGETS.batch}× | ${met(ratio >= TARGETS.batch)} |`);
    } else {
        p(`| \`diagnose --batch --summary\`, ${int(n)} requests | not measured | ${Number.isFinite(bNode) ? `${int(bNode)} req/s` : 'n/a'} | | ≥ ${TARGETS.batch}× | not measured |`);
    }
    if (hOurs.length) {
        const ratio = pairedRatio(hOurs, hNode, r => r.rps);
        const cpuPerReq = runs => median(runs.filter(r => r.cpu_s !== undefined).map(r => r.cpu_s / r.requests));
        const cpuRatio = cpuPerReq(hNode) / cpuPerReq(hOurs);
        p(`| \`serve --threads 2\`, \`wrk -t1 -c64\` | ${int(hOursRps)} req/s | ${int(hNodeRps)} req/s (2-worker cluster) | ${f2(ratio)}× (server CPU time: ${f2(cpuRatio)}×) | ≥ ${TARGETS.http}× | ${met(ratio >= TARGETS.http)} |`);
        p(`| p99 latency, same runs | ${f2(hOursP99)} ms | ${f2(hNodeP99)} ms | | ≤ ${TARGETS.httpP99} ms | ${met(hOursP99 <= TARGETS.httpP99)} |`);
        p(`| non-2xx answers and socket errors, same runs | ${non2xx} | ${hNode.reduce((a, r) => a + r.non2xx, 0)} | | 0 | ${met(non2xx === 0)} |`);
    } else {
        p(`| \`serve --threads 2\`, \`wrk -t1 -c64\` | not measured | ${hNode.length ? `${int(hNodeRps)} req/s` : 'n/a'} | | ≥ ${TARGETS.http}×, p99 ≤ ${TARGETS.httpP99} ms, 0 non-2xx | not measured |`);
    }
    if (micro) {
        p(`| one 007 decode+verify (${micro.len007} chars) | ${f3(micro.td007_us)} µs | floor ${f3(micro.floor007_us)} µs | ${f2(micro.ratio007_cpu)}× CPU time (wall: ${f2(micro.ratio007)}×) | ≤ ${TARGETS.micro}× | ${met(micro.ratio007_cpu <= TARGETS.micro)} |`);
        p(`| one 006 decode+verify (${micro.len006} chars) | ${f3(micro.td006_us)} µs | floor ${f3(micro.floor006_us)} µs | ${f2(micro.ratio006_cpu)}× CPU time (wall: ${f2(micro.ratio006)}×) | (none) | |`);
    } else {
        p('| one 007 decode+verify | not measured | | | ≤ 1.3× | not measured |');
    }
    p('');
    const budget = httpBudget(machine, hOurs, hNode);
    if (budget) {
        p(`**The CPU budget of the HTTP target.** wrk runs on the same ${machine.nproc} cores and took ${f2(budget.wrkOurs)} µs of CPU per request against tokendoctor `
            + `(${f2(budget.wrkNode)} µs against the baseline; its start-up, formatting the corpus once, is included). `
            + `At ${TARGETS.http}× the baseline (${int(budget.targetRps)} req/s) wrk alone would take ${f2(budget.wrkShare * 100)}% of the machine, `
            + `leaving the server at most **${f2(budget.serverBudget)} µs of CPU per request**, all its threads and its share of the kernel's loopback TCP included; `
            + `tokendoctor used ${f2(budget.serverOurs)} µs (the baseline ${f2(budget.serverNode)} µs). `
            + `With wrk's cost as measured, the machine could not exceed ${int(budget.ceilingRps)} req/s even for a server that cost nothing (${f2(budget.ceilingRatio)}× the baseline).`);
        p('');
    }

    p('## Do both checkers give the same answers?');
    p('');
    if (!agreements.length) p('Not measured (no tokendoctor answers yet).');
    for (const a of agreements) {
        const where = a.what === 'batch' ? 'Batch outputs, request by request (verdict and cause)'
            : `HTTP: the first ${a.total} requests POSTed to \`serve\` one by one, against the baseline's answers (statuses ${JSON.stringify(a.status)})`;
        p(`- ${where}: ${a.agree} of ${a.total} agree.`
            + (Object.keys(a.differ).length ? ` Differences: ${Object.entries(a.differ).map(([k, v]) => `${v} × ${k}`).join('; ')}. E.g. ${a.examples.join('; ')}.` : ''));
    }
    p('');

    if (micro) {
        p('## Micro-benchmark (micro.c)');
        p('');
        p(`Median of ${micro.runs} alternating runs of ~30 ms, 64 distinct tokens per case; ratio = median of the per-run ratios, in the thread's CPU time (\`CLOCK_THREAD_CPUTIME_ID\`: the cost of the code, which the other tenants of a shared machine do not inflate; the target is judged on it) and in wall time (\`CLOCK_MONOTONIC\`; on an idle machine both agree). The floor redoes the`);
        p('unavoidable work on the same bytes: 007 = inflate with a reused `z_stream` + three HMAC-SHA256 with');
        p('one kept, pre-set-up mbedTLS context; 006 = one such HMAC.');
        p('');
        p('| part (wall time, median) | µs |');
        p('|---|---|');
        p(`| \`td_decode\` alone (007, ${micro.len007} chars → ${micro.content007} B content) | ${f3(micro.decode007_us)} |`);
        p(`| \`td_verify007\` alone | ${f3(micro.verify007_us)} |`);
        p(`| inflate, reused z_stream (floor part) | ${f3(micro.inflate_us)} |`);
        p(`| 3 HMACs, kept context (floor part) | ${f3(micro.hmac3_kept_us)} |`);
        p(`| 3 one-shot \`mbedtls_md_hmac\` (context set up per call; reference) | ${f3(micro.hmac3_oneshot_us)} |`);
        p(`| \`mbedtls_base64_decode\` of the token (reference) | ${f3(micro.mbedtls_base64_us)} |`);
        p('');
        p('By number of rtc services in the token:');
        p('');
        p('| services | token chars | tokendoctor µs | floor µs | ratio | CPU-time ratio |');
        p('|---|---|---|---|---|---|');
        for (const s of micro.services) p(`| ${s.n} | ${s.chars} | ${f3(s.td_us)} | ${f3(s.floor_us)} | ${f2(s.ratio || s.td_us / s.floor_us)}× | ${s.ratio_cpu ? `${f2(s.ratio_cpu)}×` : "n/a"} |`);
        p('');
    }

    const batchAll = recs.filter(r => r.kind === 'batch');
    if (batchAll.length) {
        p('## Batch');
        p('');
        p('Each run: wall seconds, and CPU seconds (user + sys) of the whole process (start-up and file I/O included).');
        p('Runs alternate between the two checkers; the ratio is the median of the per-pair ratios.');
        p('');
        p('| requests | who | runs (s) | median req/s | CPU s per 100k requests |');
        p('|---|---|---|---|---|');
        const sizes = [...new Set(batchAll.map(r => r.n))].sort((a, b) => b - a);
        for (const size of sizes) {
            for (const who of ['ours', 'node', 'node2']) {
                const rows = batchRows(recs, who, size);
                if (!rows.length) continue;
                const cpu = median(rows.map(r => (r.user + r.sys) / r.n * 100000));
                const name = { ours: 'tokendoctor', node: 'baseline', node2: 'baseline, 2 processes (`--workers 2`)' }[who];
                p(`| ${int(size)} | ${name} | ${rows.map(r => f2(r.seconds)).join(', ')} | ${int(batchRps(recs, who, size))} | ${f2(cpu)} |`);
            }
            const r = batchRatio(recs, size);
            if (Number.isFinite(r)) p(`| ${int(size)} | ratio (paired runs) | | ${f2(r)}× | ${f2(batchCpuRatio(recs, size))}× less CPU |`);
        }
        p('');
    }

    const httpAll = recs.filter(r => r.kind === 'http');
    if (httpAll.length) {
        p('## HTTP');
        p('');
        p('`wrk -t1` (one load-generating thread, on the same 2 cores), post.lua posting the corpus in turn.');
        p('"threads" is `serve --threads` for tokendoctor and the number of cluster workers for the baseline.');
        p('RSS is the server process\'s (the cluster primary\'s for the baseline) before and after the run.');
        p('');
        p('"server CPU" is the CPU time of the server process (all threads; the cluster: primary and workers) per request.');
        p('');
        p('"wrk CPU" is the load generator\'s own CPU time (user + sys, its start-up included) per request: it shares the cores with the server.');
        p('');
        p('| run | who | threads | connections | req/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx | errors | server CPU µs/req | wrk CPU µs/req | RSS KiB before → after |');
        p('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
        for (const r of httpAll) {
            const errors = r.connect_errors + r.read_errors + r.write_errors + r.timeouts;
            const label = r.label.startsWith('batch') ? `${r.label} (${r.path}, ${r.label.slice(5)} per body)` : r.label;
            p(`| ${label} | ${WHO[r.who] || r.who} | ${r.threads} | ${r.connections} | ${int(r.rps)} | ${f2(r.p50_ms)} | ${f2(r.p99_ms)} | ${f2(r.p999_ms)} | ${f2(r.max_ms)} | ${r.non2xx} | ${errors} | ${r.cpu_s === undefined ? 'n/a' : f2(r.cpu_s / r.requests * 1e6)} | ${r.wrk_cpu_s === undefined ? 'n/a' : f2(r.wrk_cpu_s / r.requests * 1e6)} | ${int(r.rss_before_kb)} → ${int(r.rss_after_kb)} |`);
        }
        const batches = httpAll.filter(r => r.label.startsWith('batch'));
        if (batches.length) {
            p('');
            p(`Diagnoses per second through /v1/diagnose/batch: ${batches.map(r => `${r.label.slice(5)} per body: ${int(r.rps * Number(r.label.slice(5)))}`).join('; ')} (single requests: ${int(hOursRps)}).`);
        }
        p('');
    }

    renderFloor(recs, p);
    renderScale(recs, p);
    renderStores(recs, p);

    const soak = recs.find(r => r.kind === 'soak');
    if (soak) {
        p('## Soak');
        p('');
        p(`${soak.seconds} s under \`wrk -t1 -c64\`${soak.wrk ? `: ${int(soak.wrk.rps)} req/s, p99 ${f2(soak.wrk.p99_ms)} ms, non-2xx ${soak.wrk.non2xx}` : ''}. `
            + `Server RSS (KiB) every 10 s: ${soak.rss_kb.join(', ')}.`);
        const growth = soakGrowth(soak.rss_kb);
        if (growth) {
            p('');
            p(`After the first minute (warm-up: caches, connections, SQLite's page cache): ${int(growth.first)} KiB; `
                + `at the end: ${int(growth.last)} KiB; highest: ${int(growth.max)} KiB. `
                + `Growth over the last ${growth.minutes} minutes: ${growth.last - growth.first >= 0 ? '+' : ''}${int(growth.last - growth.first)} KiB `
                + `(${f2((growth.last - growth.first) / growth.first * 100)}%).`);
        }
        p('');
    }
    process.stdout.write(`${out.join('\n')}\n`);
}

// What the HTTP target leaves to the server: wrk's CPU per request (median of the headline
// runs) taken out of the cores the machine has, at the target's request rate.
function httpBudget(machine, ours, node) {
    const wrkPerReq = runs => median(runs.filter(r => r.wrk_cpu_s !== undefined).map(r => r.wrk_cpu_s / r.requests * 1e6));
    const serverPerReq = runs => median(runs.filter(r => r.cpu_s !== undefined).map(r => r.cpu_s / r.requests * 1e6));
    const wrkOurs = wrkPerReq(ours), wrkNode = wrkPerReq(node);
    if (!Number.isFinite(wrkOurs) || !Number.isFinite(wrkNode) || !machine.nproc) return null;
    const targetRps = TARGETS.http * median(node.map(r => r.rps));
    const cores = machine.nproc * 1e6; // µs of CPU per second
    return {
        wrkOurs, wrkNode, targetRps,
        wrkShare: targetRps * wrkOurs / cores,
        serverBudget: (cores - targetRps * wrkOurs) / targetRps,
        serverOurs: serverPerReq(ours), serverNode: serverPerReq(node),
        ceilingRps: cores / wrkOurs,
        ceilingRatio: cores / wrkOurs / median(node.map(r => r.rps)),
    };
}

// The service against the floor servers of the same runs (run.sh 4b): the ratio of medians.
function renderFloor(recs, p) {
    const runs = who => httpRuns(recs, who, 'floor');
    const ours = runs('ours');
    const floor = runs('floor');
    const parse = runs('floor-parse');
    const info = recs.find(r => r.kind === 'floor');
    if (!ours.length || !floor.length) return;
    const rps = rs => median(rs.map(r => r.rps));
    const cpu = rs => median(rs.filter(r => r.cpu_s !== undefined).map(r => r.cpu_s / r.requests * 1e6));
    p('## HTTP against its floor');
    p('');
    p(`The same \`wrk -t1 -c64\` load, alternating, ${ours.length} run(s) each: a minimal evhttp server on 2 threads (floor.c) answering every request with a fixed ${info ? info.body_bytes : '?'}-byte body (the service's mean answer in these runs), and the same server parsing each body with jansson first.`);
    p('');
    p('| server | req/s (median) | p99 ms | server CPU µs/req | tokendoctor / this | target |');
    p('|---|---|---|---|---|---|');
    p(`| tokendoctor | ${int(rps(ours))} | ${f2(median(ours.map(r => r.p99_ms)))} | ${f2(cpu(ours))} | | |`);
    const r1 = rps(ours) / rps(floor);
    p(`| floor (evhttp, fixed body) | ${int(rps(floor))} | ${f2(median(floor.map(r => r.p99_ms)))} | ${f2(cpu(floor))} | ${pct(r1)} | ≥ ${pct(TARGETS.floor)}: ${met(r1 >= TARGETS.floor)} |`);
    if (parse.length) {
        const r2 = rps(ours) / rps(parse);
        p(`| floor + jansson parse | ${int(rps(parse))} | ${f2(median(parse.map(r => r.p99_ms)))} | ${f2(cpu(parse))} | ${pct(r2)} | |`);
    }
    p('');
}

// Many projects (run.sh 4c, BENCH_SCALE): the miss path, the batch and the service against the
// main corpus in the same run.
function renderScale(recs, p) {
    const store = recs.find(r => r.kind === 'store');
    const imp = recs.find(r => r.kind === 'scale_import');
    if (!store && !imp) return;
    p(`## Many projects (${store ? int(store.projects) : '?'})`);
    p('');
    if (imp) p(`Import: ${int(imp.projects)} projects in ${imp.seconds} s (${int(imp.projects / imp.seconds)}/s).`);
    if (store) {
        p('');
        p(`The miss path alone (store.c, ${int(store.reads)} App IDs in random order, CPU time): \`tdb_project_get\` ${f2(store.read_us)} µs (first pass ${f2(store.cold_read_us)} µs)${store.snapshot_read_us !== undefined ? `, ${f2(store.snapshot_read_us)} µs in read snapshots of 512 reads (as a batch reads), ${f2(store.rw_read_us)} µs on a read-write connection (the service's: no memory map)` : ''}; through the cache: miss ${f2(store.cache_miss_us)} µs, hit ${f3(store.cache_hit_us)} µs; a project costs ${int(store.cache_bytes_per_project)} bytes in the cache (entry, malloc overhead and table).`);
    }
    const batch = who => recs.filter(r => r.kind === 'scale_batch' && r.who === who);
    const bBase = batch('base');
    const bUni = batch('uniform');
    p('');
    p('| what | main corpus | many projects | ratio | target | |');
    p('|---|---|---|---|---|---|');
    if (bBase.length && bUni.length) {
        const rate = rs => median(rs.map(r => r.n / r.seconds));
        const ratio = rate(bUni) / rate(bBase);
        p(`| \`diagnose --batch --db\`, req/s | ${int(rate(bBase))} (${int(bBase[0].n)} requests) | ${int(rate(bUni))} (${int(bUni[0].n)} requests, uniform) | ${pct(ratio)} | ≥ ${pct(TARGETS.scale)} | ${met(ratio >= TARGETS.scale)} |`);
        const cpu = rs => median(rs.map(r => (r.user + r.sys) * 1e6 / r.n));
        p(`| \`diagnose --batch --db\`, CPU per request (user + system) | ${f2(cpu(bBase))} µs | ${f2(cpu(bUni))} µs | ${pct(cpu(bBase) / cpu(bUni))} | | |`);
        p(`| \`diagnose --batch --db\`, max RSS (the mapped database file's pages included) | ${int(median(bBase.map(r => r.max_rss_kb)))} KiB | ${int(median(bUni.map(r => r.max_rss_kb)))} KiB | | flat | |`);
    }
    const base = httpRuns(recs, 'ours', 'scale-base');
    for (const [label, name] of [['scale-u', 'uniform'], ['scale-z', 'Zipf s=1']]) {
        const runs = httpRuns(recs, 'ours', label);
        if (!base.length || !runs.length) continue;
        const ratio = median(runs.map(r => r.rps)) / median(base.map(r => r.rps));
        const p99 = median(runs.map(r => r.p99_ms));
        p(`| \`serve --threads 2\`, ${name}, req/s | ${int(median(base.map(r => r.rps)))} | ${int(median(runs.map(r => r.rps)))} | ${pct(ratio)} | ≥ ${pct(TARGETS.scale)} | ${met(ratio >= TARGETS.scale)} |`);
        p(`| p99, ${name} | ${f2(median(base.map(r => r.p99_ms)))} ms | ${f2(p99)} ms | | ≤ ${TARGETS.scaleP99} ms | ${met(p99 <= TARGETS.scaleP99)} |`);
        p(`| server RSS after the run, ${name} | ${int(median(base.map(r => r.rss_after_kb)))} KiB | ${int(median(runs.map(r => r.rss_after_kb)))} KiB | | bounded (\`--cache-mb\`) | |`);
    }
    p('');
}

// The store (run.sh 4d, BENCH_PG): `serve --threads 2` on SQLite and on PostgreSQL, alternating
// in the same run, the diagnosis log on: throughput per node and the ratio.
function renderStores(recs, p) {
    const sq = httpRuns(recs, 'ours', 'store-sqlite');
    const pg = httpRuns(recs, 'ours', 'store-pg');
    const info = recs.find(r => r.kind === 'stores');
    if (!sq.length || !pg.length) return;
    p('## Stores: SQLite and PostgreSQL');
    p('');
    p(`\`serve --threads 2\`, the diagnosis log on, \`wrk -t1 -c64\` for ${Math.round(sq[0].seconds)} s a run, alternating;`
        + ` PostgreSQL ${info && info.pg_version ? info.pg_version : ''} on the same machine, on a Unix socket, durable (fsync and synchronous_commit on); its own CPU (the postgres processes) is not in "server CPU", though it shares the 2 cores.`);
    p('');
    p('| store | runs (req/s) | median req/s | p99 ms (median) | server CPU µs/req (median) | non-2xx |');
    p('|---|---|---|---|---|---|');
    const row = (name, rs) => p(`| ${name} | ${rs.map(r => int(r.rps)).join(', ')} | ${int(median(rs.map(r => r.rps)))} | ${f2(median(rs.map(r => r.p99_ms)))} | ${f2(median(rs.filter(r => r.cpu_s !== undefined).map(r => r.cpu_s / r.requests * 1e6)))} | ${rs.reduce((a, r) => a + r.non2xx, 0)} |`);
    row('SQLite', sq);
    row('PostgreSQL', pg);
    p('');
    p(`PostgreSQL / SQLite: **${pct(median(pg.map(r => r.rps)) / median(sq.map(r => r.rps)))}** of the requests per second`
        + ` (paired runs: ${pg.map((r, i) => (sq[i] ? pct(r.rps / sq[i].rps) : 'n/a')).join(', ')}).`
        + (info ? ` Load average ${info.load_before} before, ${info.load_after} after; commit ${info.commit}; rows in the PostgreSQL diagnosis log after the runs: ${info.pg_log_rows === null ? 'n/a' : int(info.pg_log_rows)}.` : ''));
    p('');
}

// RSS from the end of the first minute to the end of a soak (samples every 10 s).
function soakGrowth(rss) {
    if (rss.length < 8) return null;
    const rest = rss.slice(6);
    return { first: rest[0], last: rest[rest.length - 1], max: Math.max(...rest), minutes: Math.round((rest.length - 1) / 6) };
}

async function main() {
    const [cmd, ...args] = process.argv.slice(2);
    if (cmd === 'compare' && args.length === 2) console.log(JSON.stringify(compare(args[0], args[1])));
    else if (cmd === 'probe' && args.length === 3) console.log(JSON.stringify(await probe(args[0], args[1], args[2])));
    else if (cmd === 'render' && args.length === 1) render(args[0]);
    else {
        process.stderr.write('usage: report.js compare OURS BASELINE | probe URL REQUESTS ANSWERS | render RECORDS\n');
        process.exit(64);
    }
}

main().catch(e => {
    process.stderr.write(`report.js: ${e.stack || e}\n`);
    process.exit(1);
});
