#!/usr/bin/env node
// gen.js -- the benchmark corpus: N distinct diagnosis requests over P projects.
//
// Design
// ------
// Every request carries its own token, built here by the vendor's npm libraries (agora-token for
// "007", agora-access-token for "006"), so no two requests share a token and neither checker can
// answer from a cache instead of doing the work. The mix (diagnosis.md v2):
//   - 78% joinable; 22% fail in one place each, over what users actually get wrong: 4% each of
//     wrong channel, wrong uid, expired token, a token signed with a certificate the project does
//     not have, and a malformed token (truncated, corrupted base64 or zlib data, stray
//     whitespace; a changed character sometimes still decodes and fails a later check); 2% a
//     007 token on an SDK too old to read it (token_version_unsupported).
//   - tokens: 85% 007, 15% 006 (always 007 for the old-SDK failure).
//   - 10% rtm logins (by account): 007 with an rtm service, 006 as the RTM builder makes it (the
//     user id in the channel's place, privilege 1000); the rest rtc joins, of which 15% use a
//     user account, ~10% a token for any uid joined with uid 0, and 20% of the 007 tokens also
//     carry an rtm service.
//   - ~25% of the requests carry sdk_version (the RTC SDK for rtc, RTM 1.x or 2.x for rtm, by
//     platform, with and without the leading "v"): one that reads the token (older SDKs only
//     with 006 tokens), so the verdict is unchanged; the old-SDK failures carry one too old.
//   - platforms: native, android, ios, web, windows, objc, flutter, evenly.
//
// Everything is derived from --seed with a small deterministic PRNG (salts and issue times
// included, which the libraries would otherwise draw from Math.random and the clock), and every
// request carries `at`, so the expected verdict of each request is fixed and both checkers can be
// compared line by line. The generator writes:
//   DIR/requests.jsonl   one request per line, the `tokendoctor diagnose --batch` input format
//                        (the HTTP body of POST /v1/diagnose plus an `id`)
//   DIR/projects.json    an array of project configurations (interfaces.md), for --project FILE
//   DIR/expected.jsonl   {id, kind}: the failure the generator injected ("ok" when none; "sdk"
//                        for the old SDK)
//
// With --zipf S (e.g. 1) the project of each request is drawn from a Zipf law of exponent S over
// the projects in their order (the first one the most often) instead of uniformly: the skewed
// mix of a service where a few customers send most of the traffic (docs/performance.md, "Many
// projects").
//
// Usage: node gen.js [--n 100000] [--projects 100] [--seed 1] [--zipf S] [--out DIR]
'use strict';

const fs = require('fs');
const path = require('path');
const { AccessToken2, ServiceRtc, ServiceRtm } = require('agora-token/src/AccessToken2');
const { AccessToken } = require('agora-access-token/src/AccessToken');
const { makeRng: makeSeededRng } = require('../interop/common');

function parseArgs(argv) {
    const opts = { n: 100000, projects: 100, seed: 1, zipf: 0, out: '.' };
    for (let i = 2; i < argv.length; i++) {
        const key = argv[i].replace(/^--/, '');
        const value = argv[++i];
        if (!(key in opts) || value === undefined) {
            throw new Error(`usage: gen.js [--n N] [--projects P] [--seed S] [--out DIR] (bad: ${argv[i - 1]})`);
        }
        opts[key] = key === 'out' ? value : Number(value);
        if (key === 'zipf' ? !(opts.zipf > 0 && opts.zipf <= 4)
            : key !== 'out' && !(Number.isInteger(opts[key]) && opts[key] > 0)) {
            throw new Error(`--${key}: must be a positive integer`);
        }
    }
    return opts;
}

// The interop test's seeded PRNG (mulberry32): one generator for every seeded test input, with
// hex(len) added for App IDs and certificates.
function makeRng(seed) {
    const rng = makeSeededRng(seed);
    rng.hex = len => {
        let s = '';
        for (let i = 0; i < len; i++) s += '0123456789abcdef'[rng.int(0, 15)];
        return s;
    };
    return rng;
}

const CHANNEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
const PLATFORMS = ['native', 'android', 'ios', 'web', 'windows', 'objc', 'flutter'];
const BASE_AT = 1763800000; // a fixed "now" (Nov 2025); every request judges expiry at its own `at`

function makeProjects(rng, count) {
    const projects = [];
    for (let i = 0; i < count; i++) {
        const p = {
            app_id: rng.hex(32),
            name: `bench project ${i}`,
            primary: { certificate: rng.hex(32), enabled: true },
            secondary: null,
            no_certificate: false,
            cohost_auth: i % 5 === 0,
            retired_certificates: [],
        };
        // A quarter of the projects are mid-rotation: both certificates enabled, tokens signed
        // by either, so a checker sometimes has to try the second one.
        if (i % 4 === 1) p.secondary = { certificate: rng.hex(32), enabled: true };
        if (i % 3 === 2) p.retired_certificates.push(rng.hex(32));
        projects.push(p);
    }
    return projects;
}

// The failure injected into a request, about 22% in all.
function pickKind(rng) {
    const r = rng.next();
    if (r < 0.78) return 'ok';
    if (r < 0.8) return 'sdk';
    return ['channel', 'uid', 'expired', 'signature', 'malformed'][Math.floor((r - 0.8) / 0.04)] || 'malformed';
}

// SDK versions by service and platform (diagnosis.md "The client's SDK"): `reads` ones read a
// 007 token, `old` ones only 006 (before RTC 3.5.2, Web 4.8.0, Flutter 4.2.0; RTM 1.5.0, web
// 1.4.6). RTM 2.x answers with its own codes.
const SDK_VERSIONS = {
    rtc: {
        web: { reads: ['4.8.0', '4.20.0', 'v4.22.1'], old: ['4.7.3', 'v4.2.1'] },
        flutter: { reads: ['4.2.0', '6.3.2'], old: ['4.1.1', '3.3.1'] },
        other: { reads: ['3.5.2', '3.7.2', 'v4.3.1', '4.5.0'], old: ['3.4.6', '2.9.1', '3.5.1'] },
    },
    rtm: {
        web: { reads: ['1.4.6', '1.5.1', '2.1.12', 'v2.2.2'], old: ['1.4.5', '1.3.2'] },
        other: { reads: ['1.5.0', '1.5.1', '2.2.0', 'v2.1.9'], old: ['1.4.10', '1.4.9'] },
    },
};

function sdkVersion(rng, service, platform, kind, version) {
    const byPlatform = SDK_VERSIONS[service];
    const v = byPlatform[platform] || byPlatform.other;
    if (kind === 'sdk') return rng.pick(v.old);
    if (rng.next() >= 0.25) return undefined;
    return rng.pick(version === '006' ? v.reads.concat(v.old) : v.reads);
}

function channelName(rng, i) {
    let s = `c${i.toString(36)}-`;
    const len = rng.int(4, 20);
    for (let k = 0; k < len; k++) s += rng.pick(CHANNEL_CHARS);
    return s;
}

function signingCert(rng, project, kind) {
    if (kind === 'signature') return rng.hex(32); // a certificate the project never had
    if (project.secondary && rng.next() < 0.5) return project.secondary.certificate;
    return project.primary.certificate;
}

function build007(rng, project, cert, join, issueTs, expire) {
    const token = new AccessToken2(project.app_id, cert, issueTs, expire);
    token.salt = rng.int(1, 99999999);
    if (join.service === 'rtm') {
        const rtm = new ServiceRtm(join.userId);
        rtm.add_privilege(ServiceRtm.kPrivilegeLogin, expire);
        token.add_service(rtm);
        return token.build();
    }
    const rtc = new ServiceRtc(join.channel, join.tokenUid);
    rtc.add_privilege(ServiceRtc.kPrivilegeJoinChannel, expire);
    if (join.role === 'publisher') {
        rtc.add_privilege(ServiceRtc.kPrivilegePublishAudioStream, expire);
        rtc.add_privilege(ServiceRtc.kPrivilegePublishVideoStream, expire);
        rtc.add_privilege(ServiceRtc.kPrivilegePublishDataStream, expire);
    }
    token.add_service(rtc);
    if (join.withRtm) {
        const rtm = new ServiceRtm(String(join.tokenUid || 'user'));
        rtm.add_privilege(ServiceRtm.kPrivilegeLogin, expire);
        token.add_service(rtm);
    }
    return token.build();
}

function build006(rng, project, cert, join, issueTs, expire) {
    if (join.service === 'rtm') { // the RTM builder: user id in the channel's place, empty uid
        const token = new AccessToken(project.app_id, cert, join.userId, '');
        token.salt = rng.int(1, 99999999);
        token.ts = issueTs + expire;
        token.addPriviledge(1000, issueTs + expire);
        return token.build();
    }
    const token = new AccessToken(project.app_id, cert, join.channel, join.tokenUid);
    token.salt = rng.int(1, 99999999);
    token.ts = issueTs + expire;
    token.addPriviledge(1, issueTs + expire);
    if (join.role === 'publisher') {
        token.addPriviledge(2, issueTs + expire);
        token.addPriviledge(3, issueTs + expire);
        token.addPriviledge(4, issueTs + expire);
    }
    return token.build();
}

// Breaks a token the ways users break them; each still needs work to reject.
function malform(rng, token) {
    switch (rng.int(0, 3)) {
    case 0: // cut at a multiple of 4: valid base64, the content (or zlib stream) ends early
        return token.slice(0, token.length - 4 * rng.int(2, 6));
    case 1: { // one base64 character changed: zlib or structure error, or a bad signature
        const at = rng.int(10, token.length - 3);
        const c = token[at] === 'A' ? 'B' : 'A';
        return token.slice(0, at) + c + token.slice(at + 1);
    }
    case 2: // pasted with a trailing newline
        return `${token}\n`;
    default: // a character outside the alphabet
        return `${token.slice(0, 20)}*${token.slice(21)}`;
    }
}

// A function drawing a project index: uniform, or Zipf(s) by inverting its cumulative weights.
function makePicker(rng, count, s) {
    if (!s) return () => rng.int(0, count - 1);
    const cdf = new Float64Array(count);
    let total = 0;
    for (let k = 0; k < count; k++) cdf[k] = total += 1 / Math.pow(k + 1, s);
    return () => {
        const u = rng.next() * total;
        let lo = 0;
        let hi = count - 1;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (cdf[mid] < u) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    };
}

function makeRequest(rng, projects, pick, i) {
    const project = projects[pick()];
    const kind = pickKind(rng);
    const version = kind === 'sdk' || rng.next() < 0.85 ? '007' : '006';
    const service = rng.next() < 0.1 ? 'rtm' : 'rtc';
    const role = rng.next() < 0.7 ? 'publisher' : 'subscriber';
    const useAccount = service === 'rtc' && rng.next() < 0.15;
    const uid = rng.int(1, 4294967295);
    const account = `user-${i.toString(36)}@bench`;
    const join = {
        service,
        role,
        channel: channelName(rng, i),
        // 10% of rtc tokens are built for any uid (empty uid) and joined with uid 0
        tokenUid: useAccount ? account : (rng.next() < 0.1 && kind !== 'uid' ? 0 : uid),
        userId: account,
        withRtm: version === '007' && rng.next() < 0.2,
    };
    const issueTs = BASE_AT - rng.int(60, 3000);
    const expire = rng.int(3600, 86400);
    const cert = signingCert(rng, project, kind);
    let token = version === '007' ? build007(rng, project, cert, join, issueTs, expire)
        : build006(rng, project, cert, join, issueTs, expire);
    if (kind === 'malformed') token = malform(rng, token);

    const req = {
        id: `r${i}`,
        app_id: project.app_id,
        service,
        role,
        platform: rng.pick(PLATFORMS),
        at: kind === 'expired' ? issueTs + expire + rng.int(1, 100000) : BASE_AT,
        token,
    };
    if (service === 'rtm') {
        req.account = kind === 'uid' ? `${account}x` : account;
    } else {
        req.channel = kind === 'channel' ? `${join.channel}x` : join.channel;
        if (useAccount) {
            req.account = kind === 'uid' ? `${account}x` : account;
        } else {
            const joinUid = join.tokenUid === 0 ? 0 : uid;
            req.uid = kind === 'uid' ? (joinUid + 1) % 4294967296 || 1 : joinUid;
        }
    }
    const sdk = sdkVersion(rng, service, req.platform, kind, version);
    if (sdk !== undefined) req.sdk_version = sdk;
    return { req, kind: service === 'rtm' && kind === 'channel' ? 'ok' : kind };
}

function main() {
    const opts = parseArgs(process.argv);
    const rng = makeRng(opts.seed);
    const projects = makeProjects(rng, opts.projects);
    fs.mkdirSync(opts.out, { recursive: true });
    fs.writeFileSync(path.join(opts.out, 'projects.json'), `${JSON.stringify(projects, null, 1)}\n`);

    const pick = makePicker(rng, projects.length, opts.zipf);
    const reqs = [];
    const kinds = [];
    const counts = {};
    for (let i = 0; i < opts.n; i++) {
        const { req, kind } = makeRequest(rng, projects, pick, i);
        reqs.push(JSON.stringify(req));
        kinds.push(JSON.stringify({ id: req.id, kind }));
        counts[kind] = (counts[kind] || 0) + 1;
    }
    fs.writeFileSync(path.join(opts.out, 'requests.jsonl'), `${reqs.join('\n')}\n`);
    fs.writeFileSync(path.join(opts.out, 'expected.jsonl'), `${kinds.join('\n')}\n`);
    process.stderr.write(`gen: ${opts.n} requests over ${opts.projects} projects -> ${opts.out} ${JSON.stringify(counts)}\n`);
}

main();
