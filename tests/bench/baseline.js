#!/usr/bin/env node
// baseline.js -- the checker a user would write today: a small Node program around the vendor's
// npm token libraries (agora-token@2.0.6 for "007", agora-access-token@2.0.4 for "006"). It is
// the baseline every tokendoctor figure in docs/performance.md is a ratio against.
//
// Design
// ------
// It makes the same checks as tokendoctor's diagnosis (shared/spec/diagnosis.md), in the same
// precedence order and without short-cuts, so that both sides do the same work: validate the
// request, look the project up by App ID, parse the token with the vendor library, compare App ID,
// service, channel, uid (CRC-32 for 006), verify the signature with every enabled certificate of
// the project (and, when none verifies, the disabled, retired and App ID candidates, for the
// hints), then token and privilege expiry, plus the cheap warnings. Where the vendor library is
// lenient (Node's base64 decoder skips characters outside the alphabet) a strict alphabet test is
// added, as a careful user would, so that both checkers reject the same tokens.
//
// Answers are the verdict/cause/code of diagnosis.md, so run.sh can compare the two checkers
// request by request: a benchmark of two programs that disagree would measure nothing.
//
// Modes
//   node baseline.js batch --project projects.json [--workers N] [FILE|-]
//        one JSON line in, one summary JSON line out ({id, verdict, cause, code, hints, warnings,
//        expires_at}), like `tokendoctor diagnose --batch --summary`; never stops at a bad line.
//        --workers N > 1: the lines are shared out to N processes, answers merged in order.
//   node baseline.js serve --project projects.json [--port 8090] [--workers N]
//        POST /v1/diagnose (the diagnosis JSON), GET /healthz; with --workers N > 1, a `cluster`
//        of N worker processes sharing the port (the usual way to use 2 cores with Node).
//   node baseline.js selftest shared/vectors/scenarios.jsonl
//        checks this checker against the public scenarios (verdict, cause, code, expires_at).
'use strict';

const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const crc32 = require('crc-32');
const { AccessToken2 } = require('agora-token/src/AccessToken2');
const { AccessToken } = require('agora-access-token/src/AccessToken');

// agora-access-token's fromString() console.log()s every parse error; a checker must not print
// the token's parse errors into its answers, so silence it (answers are written directly).
console.log = () => {};

const HEX32 = /^[0-9a-fA-F]{32}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CHANNEL_OK = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{}|~,]*$/;

const PLATFORM_ALIASES = {
    native: 'native', android: 'native', windows: 'native', linux: 'native', unity: 'native',
    electron: 'native', flutter: 'native', 'react-native': 'native', cocos: 'native',
    objc: 'objc', ios: 'objc', macos: 'objc', web: 'web',
};

const CODES = {
    app_id_malformed: { native: [101, 'ERR_INVALID_APP_ID'], objc: [101, 'AgoraErrorCodeInvalidAppId'], web: [101, 'ERR_INVALID_VENDOR_KEY'] },
    token_required: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [120, 'ERR_DYNAMIC_USE_STATIC_KEY'] },
    token_not_expected: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [119, 'ERR_STATIC_USE_DYNAMIC_KEY'] },
    invalid: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [110, 'ERR_NO_AUTHORIZED'] },
    expired: { native: [109, 'ERR_TOKEN_EXPIRED'], objc: [109, 'AgoraErrorCodeTokenExpired'], web: [109, 'ERR_DYNAMIC_KEY_TIMEOUT'] },
};
const CODE_GROUP = {
    app_id_malformed: 'app_id_malformed', token_required: 'token_required',
    token_not_expected: 'token_not_expected', token_expired: 'expired', privilege_expired: 'expired',
};
const SOLUTION = {
    token_expired: 'Fetch a new token from your token server and call renewToken.',
    privilege_expired: 'Fetch a new token from your token server and call renewToken.',
    token_required: 'Pass a token, or turn on "No certificate" for this project.',
};
const CHECK_IDS = ['app_id_format', 'token_present', 'token_expected', 'token_format', 'app_id',
    'service', 'channel', 'uid', 'signature', 'token_expiry', 'privilege_expiry'];
const CAUSES = ['app_id_malformed', 'token_required', 'token_not_expected', 'token_malformed',
    'app_id_mismatch', 'service_missing', 'channel_mismatch', 'uid_mismatch', 'signature_invalid',
    'token_expired', 'privilege_expired'];

class BadRequest extends Error {}

// ---- Inputs ------------------------------------------------------------------------------

function loadProjects(file) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const map = new Map();
    for (const p of Array.isArray(doc) ? doc : [doc]) map.set(p.app_id, p);
    return map;
}

function parseRequest(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('body: must be a JSON object');
    const req = { ...body };
    if (typeof req.app_id !== 'string') throw new BadRequest('app_id: required string');
    req.service = req.service === undefined ? 'rtc' : req.service;
    if (req.service !== 'rtc' && req.service !== 'rtm') throw new BadRequest('service: must be rtc or rtm');
    if (req.token !== undefined && typeof req.token !== 'string') throw new BadRequest('token: must be a string');
    if (req.uid !== undefined && req.account !== undefined) throw new BadRequest('uid: not with account');
    if (req.uid !== undefined && !(Number.isInteger(req.uid) && req.uid >= 0 && req.uid <= 4294967295)) {
        throw new BadRequest('uid: must be an integer in 0..4294967295');
    }
    if (req.account !== undefined && (typeof req.account !== 'string' || Buffer.byteLength(req.account) > 255)) {
        throw new BadRequest('account: must be a string of at most 255 bytes');
    }
    if (req.service === 'rtc' && (typeof req.channel !== 'string' || req.channel === '')) {
        throw new BadRequest('channel: required for rtc');
    }
    req.platform = PLATFORM_ALIASES[req.platform === undefined ? 'native' : req.platform];
    if (!req.platform) throw new BadRequest('platform: unknown');
    req.role = req.role === undefined ? 'publisher' : req.role;
    if (req.role !== 'publisher' && req.role !== 'subscriber') throw new BadRequest('role: must be publisher or subscriber');
    if (req.at === undefined) req.at = Math.floor(Date.now() / 1000);
    else if (!Number.isInteger(req.at)) throw new BadRequest('at: must be an integer');
    req.uidText = req.account !== undefined ? req.account : (req.uid ? String(req.uid) : '');
    return req;
}

// ---- Token parsing (the vendor libraries) -------------------------------------------------

function parse007(text) {
    const t = new AccessToken2();
    if (!t.from_string(text)) return null;
    const services = t.services.map(s => ({
        type: s.service_type(),
        privileges: s.__privileges,
        channel: s.__channel_name !== undefined ? s.__channel_name.toString() : undefined,
        uid: s.__uid !== undefined ? s.__uid.toString() : undefined,
        user_id: s.__user_id !== undefined ? s.__user_id.toString() : undefined,
    }));
    return { version: '007', lib: t, app_id: t.appId.toString(), issue_ts: t.issueTs, expire: t.expire, salt: t.salt, services };
}

function parse006(text) {
    const t = new AccessToken('', '', '', 0);
    if (!t.fromString(text) || text.length <= 35) return null;
    return {
        version: '006', lib: t, app_id: text.substring(3, 35), salt: t.salt, ts: t.ts,
        crc_channel: t.crc_channel_name >>> 0, crc_uid: t.crc_uid >>> 0, privileges: t.messages,
    };
}

function parseToken(text) {
    const version = text.substring(0, 3);
    const body = version === '006' ? text.substring(35) : text.substring(3);
    if (!BASE64.test(body) || body.length % 4 !== 0) return null;
    if (version === '007') return parse007(text);
    if (version === '006') return parse006(text);
    return null;
}

function verify006(tok, cert, channel, uidText) {
    const msg = Buffer.concat([Buffer.from(tok.app_id), Buffer.from(channel), Buffer.from(uidText), tok.lib.m]);
    const sig = crypto.createHmac('sha256', cert).update(msg).digest();
    return tok.lib.signature.length === sig.length && crypto.timingSafeEqual(tok.lib.signature, sig);
}

function verifies(tok, req, cert) {
    if (tok.version === '007') return tok.lib.verifySignature(cert);
    const channel = req.service === 'rtm' ? req.uidText : req.channel;
    return verify006(tok, cert, channel, req.service === 'rtm' ? '' : (tok.crc_uid === 0 ? '' : req.uidText));
}

// ---- The checks ---------------------------------------------------------------------------

// Checks 6-8 for 007: the service that matches, or the cause why none does.
function match007(tok, req) {
    const types = req.service === 'rtc' ? [1] : [2, 8];
    const withPriv = tok.services.filter(s => types.includes(s.type) && s.privileges[1] !== undefined);
    if (withPriv.length === 0) return { fail: 'service_missing' };
    if (req.service === 'rtm') {
        const m = withPriv.find(s => s.user_id === req.uidText);
        return m ? { service: m } : { fail: 'uid_mismatch' };
    }
    const sameChannel = withPriv.filter(s => s.channel === req.channel);
    if (sameChannel.length === 0) return { fail: 'channel_mismatch' };
    const m = sameChannel.find(s => s.uid === '' || s.uid === req.uidText);
    return m ? { service: m } : { fail: 'uid_mismatch', uidZero: req.uidText === '' };
}

function match006(tok, req) {
    const priv = req.service === 'rtc' ? 1 : 1000;
    const fails = [];
    if (tok.privileges[priv] === undefined) fails.push('service_missing');
    if (req.service === 'rtc') {
        if ((crc32.str(req.channel) >>> 0) !== tok.crc_channel) fails.push('channel_mismatch');
        if (tok.crc_uid !== 0 && (crc32.str(req.uidText) >>> 0) !== tok.crc_uid) fails.push('uid_mismatch');
    } else if ((crc32.str(req.uidText) >>> 0) !== tok.crc_channel) {
        fails.push('uid_mismatch');
    }
    return fails;
}

function enabledCerts(project) {
    const certs = [];
    if (project.primary && project.primary.enabled) certs.push(['primary', project.primary.certificate]);
    if (project.secondary && project.secondary.enabled) certs.push(['secondary', project.secondary.certificate]);
    return certs;
}

function signatureHints(tok, req, project) {
    for (const c of [project.primary, project.secondary]) {
        if (c && !c.enabled && verifies(tok, req, c.certificate)) return ['signed_with_disabled_certificate'];
    }
    for (const c of project.retired_certificates || []) {
        if (verifies(tok, req, c)) return ['signed_with_retired_certificate'];
    }
    return verifies(tok, req, req.app_id) ? ['signed_with_app_id'] : [];
}

function expiry(tok, req, service) {
    let tokenExp;
    let privExp = null;
    if (tok.version === '007') {
        const life = tok.expire === 0 || tok.expire > 86400 ? 86400 : tok.expire;
        tokenExp = tok.issue_ts + life;
        const v = service ? service.privileges[1] : 0;
        if (v) privExp = Math.min(tok.issue_ts + v, tokenExp);
    } else {
        tokenExp = tok.ts;
        const v = tok.privileges[req.service === 'rtc' ? 1 : 1000];
        if (v) privExp = Math.min(v, tokenExp);
    }
    return { tokenExp, privExp, expiresAt: privExp === null ? tokenExp : Math.min(tokenExp, privExp) };
}

function diagnose(req, projects) {
    const status = new Array(CHECK_IDS.length).fill('skip');
    const fails = new Set();
    const hints = [];
    const warnings = [];
    const fail = cause => {
        fails.add(cause);
        status[CAUSES.indexOf(cause)] = 'fail';
    };
    const project = projects.get(req.app_id) || null;
    const certs = project ? enabledCerts(project) : [];
    const hasToken = req.token !== undefined && req.token !== '';
    let tok = null;
    let exp = null;
    let signedWith = null;

    status[0] = HEX32.test(req.app_id) ? 'pass' : 'fail';
    if (status[0] === 'fail') fails.add('app_id_malformed');
    if (!project) warnings.push('project_unknown');
    if (!hasToken) {
        if (project && certs.length > 0 && !project.no_certificate) fail('token_required');
    } else {
        if (project && certs.length === 0) fail('token_not_expected');
        tok = parseToken(req.token);
        if (!tok) {
            fail('token_malformed');
            if (req.token !== req.token.trim()) hints.push('whitespace');
        }
    }
    if (tok) {
        if (tok.app_id !== req.app_id) {
            fail('app_id_mismatch');
            if (tok.app_id.toLowerCase() === req.app_id.toLowerCase()) hints.push('app_id_case_differs');
        }
        let service = null;
        if (tok.version === '007') {
            const m = match007(tok, req);
            if (m.fail) fail(m.fail);
            if (m.uidZero) hints.push('join_uid_zero');
            service = m.service || null;
            if (tok.expire > 86400) warnings.push('lifetime_over_24h');
            if (tok.expire >= 1000000000) warnings.push('expire_looks_absolute');
            if (tok.issue_ts > req.at + 300) warnings.push('issued_in_future');
        } else {
            match006(tok, req).forEach(fail);
        }
        const crcSkip = tok.version === '006' && (fails.has('channel_mismatch') || fails.has('uid_mismatch'));
        if (project && certs.length > 0 && !crcSkip) {
            const hit = certs.find(([, cert]) => verifies(tok, req, cert));
            if (hit) signedWith = hit[0];
            else {
                fail('signature_invalid');
                hints.push(...signatureHints(tok, req, project));
            }
        }
        exp = expiry(tok, req, service);
        if (req.at >= exp.tokenExp) fail('token_expired');
        else if (exp.privExp !== null && req.at >= exp.privExp) fail('privilege_expired');
        const left = exp.expiresAt - req.at;
        if (left > 0 && left <= 30) warnings.push('expires_soon');
    }
    if (req.service === 'rtc' && (Buffer.byteLength(req.channel) >= 64 || !CHANNEL_OK.test(req.channel))) {
        warnings.push('channel_name_invalid');
    }
    for (let i = 0; i < status.length; i++) if (status[i] === 'skip' && (tok || i < 4)) status[i] = 'pass';

    const cause = CAUSES.find(c => fails.has(c));
    let verdict = 'rejected';
    let outCause = cause;
    if (!cause) {
        verdict = project ? 'joinable' : 'unverifiable';
        outCause = !project ? 'project_unknown' : (hasToken ? 'ok' : 'ok_app_id_only');
    }
    let error = null;
    if (cause) {
        const [code, name] = CODES[CODE_GROUP[cause] || 'invalid'][req.platform];
        error = { code, name, platform: req.platform, also: [], reason: cause.replace(/_/g, ' '), solution: SOLUTION[cause] || 'Generate the token with exactly the App ID, channel and uid used to join.' };
    }
    return {
        verdict, cause: outCause, error, hints, warnings, signedWith, status, tok, project, req,
        expires_at: exp ? exp.expiresAt : null,
    };
}

function summaryJson(id, d) {
    return {
        id, verdict: d.verdict, cause: d.cause, code: d.error ? d.error.code : null,
        hints: d.hints, warnings: d.warnings, expires_at: d.expires_at,
    };
}

function fullJson(d) {
    const t = d.tok;
    let token = null;
    if (t && t.version === '007') {
        token = { version: '007', app_id: t.app_id, issue_ts: t.issue_ts, expire: t.expire, salt: t.salt, signature: t.lib.__signature.toString('hex'), services: t.services.map(s => ({ type: s.type, channel: s.channel, uid: s.uid, user_id: s.user_id, privileges: Object.entries(s.privileges).map(([id, expire]) => ({ id: Number(id), expire })) })) };
    } else if (t) {
        token = { version: '006', app_id: t.app_id, signature: t.lib.signature.toString('hex'), crc_channel: t.crc_channel, crc_uid: t.crc_uid, salt: t.salt, ts: t.ts, privileges: Object.entries(t.privileges).map(([id, expire]) => ({ id: Number(id), expire })) };
    }
    return {
        verdict: d.verdict, cause: d.cause, error: d.error, hints: d.hints, warnings: d.warnings, repaired: null,
        checks: CHECK_IDS.map((id, i) => ({ id, status: d.status[i] })),
        expires_at: d.expires_at, expires_in: d.expires_at === null ? null : d.expires_at - d.req.at,
        token,
        project: { app_id: d.req.app_id, known: !!d.project, signed_with: d.signedWith },
        at: d.req.at,
    };
}

// ---- batch --------------------------------------------------------------------------------

// Diagnoses every line of text whose index i (blank lines not counted) has i % shards === shard,
// writing one answer line per input line through write(), in order.
function batchLines(projects, text, shard, shards, write) {
    let chunk = [];
    let n = 0;
    const flush = () => {
        if (chunk.length) write(`${chunk.join('\n')}\n`);
        chunk = [];
    };
    let start = 0;
    while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = text.length;
        const line = text.substring(start, end);
        start = end + 1;
        if (line.trim() === '') continue;
        n++;
        if ((n - 1) % shards !== shard) continue;
        let body;
        try {
            body = JSON.parse(line);
        } catch (e) {
            chunk.push(JSON.stringify({ error: { code: 'bad_json', message: `line ${n}: ${e.message}` } }));
            continue;
        }
        const id = body && typeof body === 'object' ? body.id : undefined;
        try {
            chunk.push(JSON.stringify(summaryJson(id, diagnose(parseRequest(body), projects))));
        } catch (e) {
            if (!(e instanceof BadRequest)) throw e;
            chunk.push(JSON.stringify({ id, error: { code: 'bad_request', message: e.message } }));
        }
        if (chunk.length >= 1024) flush();
    }
    flush();
}

// With workers > 1 the lines are dealt round-robin to a `cluster` of processes, each writing
// its answers to a file of its own; the primary then interleaves them back into input order.
// That merge is part of the measured work, as it would be for any parallel batch.
function runBatch(projects, file, workers) {
    if (workers <= 1) {
        batchLines(projects, fs.readFileSync(file === '-' ? 0 : file, 'utf8'), 0, 1, s => process.stdout.write(s));
        return;
    }
    if (cluster.isWorker) {
        const k = Number(process.env.BASELINE_SHARD);
        const out = fs.openSync(process.env.BASELINE_OUT, 'w');
        batchLines(projects, fs.readFileSync(process.env.BASELINE_IN, 'utf8'), k, workers, s => fs.writeSync(out, s));
        fs.closeSync(out);
        process.exit(0);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baseline-'));
    let input = file;
    if (file === '-') {
        input = path.join(dir, 'input.jsonl');
        fs.writeFileSync(input, fs.readFileSync(0));
    }
    let running = workers;
    for (let k = 0; k < workers; k++) {
        cluster.fork({ BASELINE_SHARD: String(k), BASELINE_IN: input, BASELINE_OUT: path.join(dir, `out.${k}`) })
            .on('exit', code => {
                if (code !== 0) {
                    process.stderr.write(`baseline: batch worker ${k} failed (exit ${code})\n`);
                    process.exit(70);
                }
                if (--running === 0) mergeShards(dir, workers);
            });
    }
}

function mergeShards(dir, workers) {
    const shards = [];
    for (let k = 0; k < workers; k++) {
        const text = fs.readFileSync(path.join(dir, `out.${k}`), 'utf8');
        shards.push(text === '' ? [] : text.slice(0, -1).split('\n'));
    }
    const out = [];
    const total = shards.reduce((a, s) => a + s.length, 0);
    for (let i = 0; i < total; i++) {
        out.push(shards[i % workers][Math.floor(i / workers)]);
        if (out.length >= 4096) {
            process.stdout.write(`${out.join('\n')}\n`);
            out.length = 0;
        }
    }
    if (out.length) process.stdout.write(`${out.join('\n')}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
}

// ---- serve --------------------------------------------------------------------------------

function sendJson(res, status, doc) {
    const body = JSON.stringify(doc);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}

function handle(projects, req, res) {
    if (req.method === 'GET' && req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.url !== '/v1/diagnose') return sendJson(res, 404, { error: { code: 'not_found', message: 'no such path' } });
    if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } });
    }
    const parts = [];
    let size = 0;
    req.on('data', c => {
        size += c.length;
        if (size <= 65536) parts.push(c);
    });
    req.on('end', () => {
        if (size > 65536) return sendJson(res, 413, { error: { code: 'too_large', message: 'body over 64 KiB' } });
        let body;
        try {
            body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch (e) {
            return sendJson(res, 400, { error: { code: 'bad_json', message: e.message } });
        }
        try {
            sendJson(res, 200, fullJson(diagnose(parseRequest(body), projects)));
        } catch (e) {
            if (!(e instanceof BadRequest)) throw e;
            sendJson(res, 400, { error: { code: 'bad_request', message: e.message } });
        }
    });
}

function runServe(projects, port, workers) {
    if (workers > 1 && cluster.isPrimary) {
        let listening = 0;
        for (let i = 0; i < workers; i++) {
            cluster.fork().on('listening', () => {
                if (++listening === workers) process.stderr.write(`baseline: ${workers} workers on 127.0.0.1:${port}\n`);
            });
        }
        const stop = () => {
            for (const w of Object.values(cluster.workers)) w.kill();
            process.exit(0);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        return;
    }
    const server = http.createServer((req, res) => handle(projects, req, res));
    server.keepAliveTimeout = 60000;
    server.listen(port, '127.0.0.1', () => {
        if (workers <= 1) process.stderr.write(`baseline: 1 process on 127.0.0.1:${port}\n`);
    });
    process.on('SIGTERM', () => process.exit(0));
}

// ---- selftest -----------------------------------------------------------------------------

// Runs the public diagnosis scenarios through this checker: the baseline must give the same
// verdict, cause, code and expiry as the spec, or its figures would not be comparable.
function runSelftest(file) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(l => l.trim() !== '');
    let pass = 0;
    const failed = [];
    for (const line of lines) {
        const sc = JSON.parse(line);
        const projects = new Map(sc.project ? [[sc.project.app_id, sc.project]] : []);
        let got;
        try {
            got = summaryJson(sc.id, diagnose(parseRequest(sc.request), projects));
        } catch (e) {
            got = { error: e.message };
        }
        const e = sc.expect;
        if (got.verdict === e.verdict && got.cause === e.cause && got.code === e.code && got.expires_at === e.expires_at) pass++;
        else failed.push(`${sc.id}: expected ${e.cause}, got ${got.cause || got.error}`);
    }
    failed.slice(0, 10).forEach(f => process.stderr.write(`baseline selftest: ${f}\n`));
    process.stdout.write(`baseline selftest: ${pass} passed, ${failed.length} failed\n`);
    return failed.length === 0;
}

// ---- main ---------------------------------------------------------------------------------

function main() {
    const args = process.argv.slice(2);
    const mode = args.shift();
    const opts = { project: null, port: 8090, workers: 1, file: '-' };
    while (args.length) {
        const a = args.shift();
        if (a === '--project') opts.project = args.shift();
        else if (a === '--port') opts.port = Number(args.shift());
        else if (a === '--workers') opts.workers = Number(args.shift());
        else opts.file = a;
    }
    if (mode === 'selftest') process.exit(runSelftest(opts.file) ? 0 : 1);
    if ((mode !== 'batch' && mode !== 'serve') || !opts.project) {
        process.stderr.write('usage: baseline.js batch --project FILE [--workers N] [FILE|-]\n'
            + '       baseline.js serve --project FILE [--port N] [--workers N]\n'
            + '       baseline.js selftest SCENARIOS.jsonl\n');
        process.exit(64);
    }
    const projects = loadProjects(opts.project);
    if (mode === 'batch') runBatch(projects, opts.file, opts.workers);
    else runServe(projects, opts.port, opts.workers);
}

main();
