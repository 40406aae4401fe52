'use strict'
/* gen.js -- seeded generator of random diagnosis requests and project configurations.
 *
 * Usage: node gen.js OUT_DIR SEED COUNT [SEED COUNT ...]
 *   writes OUT_DIR/requests.jsonl (one request per line, with "id") and OUT_DIR/projects.json
 *   (an array of configurations, one per App ID, for `diagnose --batch --project`).
 *
 * Design: each case is built from independent random choices so that rules combine: token
 * version x service x identity (uid, account, uid 0, 4294967295) x project certificate mode x who
 * signed the token x lifetime/privilege values x the time `at` (placed on the expiry boundaries)
 * x a mechanical or structural malformation x platform alias x channel text. Tokens are built by
 * the vendor libraries (agora-token AccessToken2 for 007, agora-access-token AccessToken for 006)
 * with a fixed issue time and salt, so a seed reproduces the same file byte for byte. Every case
 * has its own App ID, so one projects array serves the whole batch; an "unknown project" case
 * simply has no entry (or an entry under a different App ID, as for a bad App ID).
 */

const fs = require('fs')
const path = require('path')
const at2 = require('agora-token/src/AccessToken2')
const at006 = require('agora-access-token/src/AccessToken')
// The interop test's seeded PRNG (mulberry32): one generator for every seeded test input.
const { makeRng } = require('../interop/common')

const { AccessToken2, ServiceRtc, ServiceRtm, ServiceRtm2, ServiceChat } = at2

function hex32(rng, upper = false) {
    let s = ''
    for (let i = 0; i < 32; i++) {
        let c = '0123456789abcdef'[rng.int(0, 15)]
        if (upper && rng.chance(0.5)) c = c.toUpperCase()
        s += c
    }
    return s
}

const VALID_CH = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&()+-:;<=.>?@[]^_{}|~,'
const INVALID_CH = ['*', '/', '"', "'", '\\', '`', 'é', '中', '\t', '€', '😀']

function channelText(rng) {
    const kind = rng.weighted([
        [8, 'short'],
        [1, '63'],
        [1, '64'],
        [1, '62+2byte'],
        [2, 'invalid'],
    ])
    const body = n => {
        let s = ''
        for (let i = 0; i < n; i++) s += VALID_CH[rng.int(0, VALID_CH.length - 1)]
        return s
    }
    if (kind === 'short') return body(rng.int(1, 20))
    if (kind === '63') return body(63)
    if (kind === '64') return body(64)
    if (kind === '62+2byte') return body(61) + 'é' // 63 bytes, 62 characters: invalid char anyway
    const s = body(rng.int(0, 10))
    return s + rng.pick(INVALID_CH) + body(rng.int(0, 5))
}

function accountText(rng) {
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789_-@.'
    let s = ''
    const n = rng.weighted([
        [8, rng.int(1, 16)],
        [1, 0],
    ])
    for (let i = 0; i < n; i++) s += chars[rng.int(0, chars.length - 1)]
    if (rng.chance(0.1)) s = String(rng.int(1, 1000000)) // an account that looks like a uid
    if (rng.chance(0.05)) s += rng.pick(['é', '中', '😀', ' ', 'Ä']) // UTF-8 bytes are compared, not characters
    return s
}

// The text in the other letter case (upper, or lower when it is all upper already).
function flipCase(s) {
    return s.toUpperCase() === s ? s.toLowerCase() : s.toUpperCase()
}

const PLATFORM_NAMES = [
    'native',
    'objc',
    'web',
    'android',
    'windows',
    'linux',
    'unity',
    'electron',
    'flutter',
    'react-native',
    'cocos',
    'ios',
    'macos',
]

// ---- Token builders ----------------------------------------------------------------------------

function build007(p) {
    const t = new AccessToken2(p.app_id, p.cert, p.issue_ts, p.expire)
    t.salt = p.salt
    for (const s of p.services) {
        let svc
        if (s.type === 1) svc = new ServiceRtc(s.channel, s.uid)
        else if (s.type === 2) svc = new ServiceRtm(s.user_id)
        else if (s.type === 8) {
            const perms = new at2.Rtm2Permissions()
            if (s.perm) perms.add(0, 1, ['chan-' + s.perm])
            svc = new ServiceRtm2(s.user_id, perms)
        }
        else svc = new ServiceChat(s.user_id)
        for (const [id, v] of s.privileges) svc.add_privilege(id, v)
        t.add_service(svc)
    }
    return t.build()
}

function build006(p) {
    const t = new at006.AccessToken(p.app_id, p.cert, p.channel, p.uid)
    t.salt = p.salt
    t.ts = p.ts
    for (const [id, v] of p.privileges) t.addPriviledge(id, v)
    return t.build()
}

// ---- One case ----------------------------------------------------------------------------------

function lifetime(rng) {
    return rng.weighted([
        [3, rng.int(60, 7200)],
        [1, 0],
        [1, 86400],
        [1, 86401],
        [1, rng.int(86402, 999999999)],
        [1, 1000000000 + rng.int(0, 900000000)],
        [1, 999999999],
        [1, rng.int(1, 59)],
        [1, 4294967295],
    ])
}

function genCase(rng, idx) {
    const issueBase = rng.weighted([
        [20, rng.int(1600000000, 1900000000)],
        [1, rng.int(4294900000, 4294967295)], // issue_ts + lifetime passes 2^32: 64-bit arithmetic
        [1, rng.int(1, 100000)], // (0 would make the library take the current time)
    ])
    const app_id = hex32(rng, rng.chance(0.1))
    const version = rng.chance(0.6) ? '007' : '006'
    const service = rng.chance(0.75) ? 'rtc' : 'rtm'
    const req = { id: `c${idx}`, app_id }
    if (service === 'rtm' || rng.chance(0.8)) req.service = service
    // Identity.
    const idKind = rng.weighted([
        [5, 'uid'],
        [2, 'uid0'],
        [1, 'uidmax'],
        [3, 'account'],
        [1, 'none'],
    ])
    if (idKind === 'uid') req.uid = rng.int(1, 4294967294)
    else if (idKind === 'uid0') req.uid = 0
    else if (idKind === 'uidmax') req.uid = 4294967295
    else if (idKind === 'account') req.account = accountText(rng)
    const uidText = req.account !== undefined ? req.account : req.uid ? String(req.uid) : ''
    const userId = req.account !== undefined ? req.account : String(req.uid || 0)
    if (service === 'rtc' || rng.chance(0.2)) req.channel = channelText(rng)
    if (rng.chance(0.8)) req.role = rng.pick(['publisher', 'subscriber'])
    if (rng.chance(0.9)) req.platform = rng.pick(PLATFORM_NAMES)
    if (req.platform && rng.chance(0.05)) req.platform = req.platform.toUpperCase()

    // Project.
    const primary = hex32(rng, rng.chance(0.1))
    const secondary = hex32(rng)
    const retired = [hex32(rng), hex32(rng)].slice(0, rng.int(0, 2))
    const mode = rng.weighted([
        [2, 'unknown'],
        [1, 'none'],
        [4, 'primary'],
        [2, 'both'],
        [1, 'primary+disabled2'],
        [1, 'disabled1+secondary'],
        [1, 'alldisabled'],
        [1, 'secondaryonly'],
    ])
    let project = null
    if (mode !== 'unknown') {
        project = {
            app_id,
            primary: null,
            secondary: null,
            no_certificate: rng.chance(0.3),
            cohost_auth: rng.chance(0.35),
            retired_certificates: retired,
        }
        if (mode === 'primary') project.primary = { certificate: primary, enabled: true }
        if (mode === 'both') {
            project.primary = { certificate: primary, enabled: true }
            project.secondary = { certificate: secondary, enabled: true }
        }
        if (mode === 'primary+disabled2') {
            project.primary = { certificate: primary, enabled: true }
            project.secondary = { certificate: secondary, enabled: false }
        }
        if (mode === 'disabled1+secondary') {
            project.primary = { certificate: primary, enabled: false }
            project.secondary = { certificate: secondary, enabled: true }
        }
        if (mode === 'alldisabled') {
            project.primary = { certificate: primary, enabled: false }
            if (rng.chance(0.5)) project.secondary = { certificate: secondary, enabled: false }
        }
        if (mode === 'secondaryonly') project.secondary = { certificate: secondary, enabled: true }
        if (mode === 'none' && rng.chance(0.5)) project.retired_certificates = []
        // The App ID configured as a certificate (a Console copy-paste slip), now and then.
        if (project.primary && rng.chance(0.03)) project.primary.certificate = app_id
        // A retired certificate that is also current (a rotation recorded twice).
        if (project.primary && rng.chance(0.03)) project.retired_certificates = [project.primary.certificate]
    }
    // Who signs.
    const signer = rng.weighted([
        [8, primary],
        [3, secondary],
        [1, retired.length ? retired[0] : primary],
        [1, app_id],
        [1, hex32(rng)],
        [1, flipCase(primary)], // the certificate in another case must not verify
    ])

    // Token parameters.
    const tokenAppId = rng.weighted([
        [12, app_id],
        [1, flipCase(app_id)],
        [1, hex32(rng)],
    ])
    const issue_ts = issueBase
    const salt = rng.int(1, 99999999)
    let token
    let expiry // token expiry, for placing `at`
    let privExpiry = null
    if (version === '007') {
        const expire = lifetime(rng)
        const L = expire === 0 || expire > 86400 ? 86400 : expire
        expiry = issue_ts + L
        const privValue = rng.weighted([
            [4, expire],
            [2, 0],
            [2, rng.int(1, Math.max(1, L - 1))],
            [1, L + rng.int(1, 100000)],
            [1, 1000000000 + rng.int(0, 100)],
            [1, 4294967295],
        ])
        if (privValue !== 0) privExpiry = Math.min(issue_ts + privValue, expiry)
        const services = []
        const joinChannel = req.channel || 'room'
        const chanFor = () =>
            rng.weighted([
                [9, joinChannel],
                [1, joinChannel + 'x'],
                [1, flipCase(joinChannel)], // same letters, other case: still a mismatch
            ])
        const uidFor = () =>
            rng.weighted([
                [8, uidText],
                [2, ''],
                [1, String(rng.int(1, 4294967295))],
                [1, uidText + '0'],
            ])
        const privsFor = isRtc => {
            const out = []
            if (rng.chance(0.9)) out.push([1, privValue])
            if (isRtc && rng.chance(0.7)) {
                for (const id of [2, 3, 4]) if (rng.chance(0.7)) out.push([id, rng.chance(0.8) ? privValue : 0])
            }
            if (rng.chance(0.05)) out.push([rng.int(5, 200), privValue])
            return out
        }
        const wrong = rng.chance(0.1)
        const want = wrong ? (service === 'rtc' ? 'rtm' : 'rtc') : service
        const n = rng.weighted([
            [8, 1],
            [2, 2],
            [1, 3],
        ])
        for (let i = 0; i < n; i++) {
            const kind = i === 0 ? want : rng.pick(['rtc', 'rtm', 'rtm2', 'chat', want, want])
            if (kind === 'rtc') services.push({ type: 1, channel: chanFor(), uid: uidFor(), privileges: privsFor(true) })
            else if (kind === 'rtm' || kind === 'rtm2')
                services.push({
                    type: kind === 'rtm' ? 2 : 8,
                    user_id: rng.weighted([
                        [8, userId],
                        [1, userId + 'x'],
                        [1, ''],
                    ]),
                    privileges: privsFor(false),
                    perm: kind === 'rtm2' && rng.chance(0.5) ? rng.int(1, 9) : 0,
                })
            else services.push({ type: 5, user_id: userId, privileges: [[1, privValue]] })
        }
        token = build007({ app_id: tokenAppId, cert: signer, issue_ts, expire, salt, services })
        if (rng.chance(0.04)) {
            // an unknown service type: the decoder must stop there
            token = withUnknownService007(token, signer, rng.chance(0.5))
        }
    } else {
        const ts = rng.weighted([
            [5, issue_ts + 86400],
            [2, issue_ts + rng.int(1, 7200)],
            [1, issue_ts + rng.int(86401, 10000000)],
            [1, 0],
            [1, 4294967295],
        ].map(([w, v]) => [w, Math.min(v, 4294967295)]))
        expiry = ts
        const pv = rng.weighted([
            [4, ts],
            [2, 0],
            [2, issue_ts + rng.int(1, Math.max(1, ts - issue_ts - 1))],
            [1, ts + rng.int(1, 10000)],
            [2, rng.int(1, 999999999)],
            [1, 999999999],
            [1, 1000000000],
            [1, 4294967295],
        ].map(([w, v]) => [w, Math.min(v, 4294967295)]))
        if (pv !== 0) privExpiry = Math.min(pv, ts)
        let channel
        let uid
        if (service === 'rtc') {
            channel = rng.weighted([
                [9, req.channel],
                [1, req.channel + 'x'],
            ])
            uid = rng.weighted([
                [8, uidText],
                [2, ''],
                [1, String(rng.int(1, 4294967295))],
            ])
        } else {
            channel = rng.weighted([
                [9, userId],
                [1, userId + 'x'],
            ])
            uid = rng.chance(0.95) ? '' : String(rng.int(1, 99))
        }
        const privileges = []
        const wrong = rng.chance(0.1)
        const joinId = (service === 'rtc') !== wrong ? 1 : 1000
        if (rng.chance(0.92)) privileges.push([joinId, pv])
        if (joinId === 1 && rng.chance(0.7)) for (const id of [2, 3, 4]) if (rng.chance(0.7)) privileges.push([id, pv])
        if (rng.chance(0.05)) privileges.push([101, pv])
        token = build006({ app_id: tokenAppId, cert: signer, channel, uid, salt, ts, privileges })
    }

    // When to judge.
    const effective = privExpiry !== null ? Math.min(expiry, privExpiry) : expiry
    const anchor = rng.chance(0.5) ? effective : expiry
    req.at = rng.weighted([
        [3, issue_ts + rng.int(0, 60)],
        [2, anchor - 1],
        [2, anchor],
        [1, anchor - 30],
        [1, anchor - 31],
        [1, anchor - 29],
        [1, anchor + rng.int(1, 100000)],
        [1, issue_ts - 300],
        [1, issue_ts - 301],
        [1, issue_ts - rng.int(302, 5000)],
    ])
    if (req.at < 0) req.at = 0
    if (rng.chance(0.01)) req.at = rng.pick([0, 4294967296 + rng.int(0, 100000), 9007199254740991])

    // Mechanical and structural damage.
    const damage = rng.weighted([
        [30, 'none'],
        [2, 'notoken'],
        [2, 'whitespace'],
        [2, 'quoted'],
        [2, 'urldecoded'],
        [1, 'mixed'],
        [1, 'appid'],
        [1, 'legacy'],
        [1, 'unknownprefix'],
        [2, 'truncate'],
        [1, 'truncate4'],
        [2, 'flipchar'],
        [1, 'sigflip'],
        [1, 'garbage'],
        [1, 'innernewline'],
        [1, 'appidpart'],
    ])
    token = damageToken(rng, damage, token, req.app_id, version)
    if (damage === 'notoken') {
        const r = rng.int(0, 2)
        if (r === 1) req.token = ''
        if (r === 2) req.token = null
    } else req.token = token

    // Bad App IDs (the project stays under the good one: unknown for this request).
    if (rng.chance(0.04)) {
        req.app_id = rng.pick([
            app_id.slice(0, 31),
            app_id + 'a',
            app_id.slice(0, 31) + 'g',
            '',
            ' ' + app_id.slice(1),
            app_id.slice(0, 16) + '-' + app_id.slice(17),
        ])
    }
    // The join's App ID in another letter case: the project (kept under the original) is
    // unknown to it, the token's App ID differs only in case.
    if (rng.chance(0.03) && req.app_id.toUpperCase() !== req.app_id) req.app_id = req.app_id.toUpperCase()
    return { req, project }
}

// Adds an unknown service type (42 last, or 0 first: every service after it is unreadable),
// with junk after it, and re-signs with cert.
function withUnknownService007(token, cert, first) {
    const zlib = require('zlib')
    const crypto = require('crypto')
    const buf = zlib.inflateSync(Buffer.from(token.slice(3), 'base64'))
    const sigLen = buf.readUInt16LE(0)
    const info = buf.subarray(2 + sigLen)
    const appLen = info.readUInt16LE(0)
    const head = 2 + appLen + 12
    const count = info.readUInt16LE(head)
    const issue = info.readUInt32LE(2 + appLen)
    const salt = info.readUInt32LE(2 + appLen + 8)
    const rest = info.subarray(head + 2)
    const cnt = Buffer.alloc(2)
    cnt.writeUInt16LE(count + 1)
    // the unknown service goes last (services are sorted by type) with garbage after it
    const unknown = Buffer.from([first ? 0 : 42, 0, 0, 0, 0xde, 0xad])
    const newInfo = first
        ? Buffer.concat([info.subarray(0, head), cnt, unknown, rest])
        : Buffer.concat([info.subarray(0, head), cnt, rest, unknown])
    const h = (k, m) => crypto.createHmac('sha256', k).update(m).digest()
    const u32 = v => {
        const b = Buffer.alloc(4)
        b.writeUInt32LE(v)
        return b
    }
    const sig = h(h(u32(salt), h(u32(issue), cert)), newInfo)
    const len = Buffer.alloc(2)
    len.writeUInt16LE(32)
    return '007' + zlib.deflateSync(Buffer.concat([len, sig, newInfo])).toString('base64')
}

function damageToken(rng, damage, token, appId, version) {
    const WS = [' ', '\t', '\n', '\r', '  ', ' \n', '\v', '\f', '\r\n']
    const ws = () => rng.pick(WS)
    const q = () => rng.pick(['"', "'"])
    const urlDecode = t => (t.includes('+') ? t.replace(/\+/g, ' ') : t)
    const body = version === '007' ? 3 : 35
    switch (damage) {
        case 'none':
        case 'notoken':
            return token
        case 'whitespace': {
            const w = rng.int(0, 2)
            return (w !== 1 ? ws() : '') + token + (w !== 0 ? ws() : '')
        }
        case 'quoted': {
            const c = q()
            const inner = rng.chance(0.3) ? ' ' + token + ' ' : token
            const t = c + inner + (rng.chance(0.9) ? c : c === '"' ? "'" : '"')
            return rng.chance(0.3) ? ws() + t : t
        }
        case 'urldecoded': {
            const t = urlDecode(token)
            return rng.chance(0.2) ? t + ' ' : t
        }
        case 'mixed': {
            const c = q()
            return ws() + c + urlDecode(token) + c + ws()
        }
        case 'appid':
            return rng.chance(0.8) ? appId : appId.toUpperCase()
        case 'legacy':
            return '00' + rng.int(1, 5) + token.slice(3)
        case 'unknownprefix':
            return rng.pick(['008', '000', '01', 'abc', '', 'x']) + token.slice(3)
        case 'truncate': {
            // 006: now and then into the App ID part itself
            const cut = rng.int(version === '006' && rng.chance(0.2) ? 3 : body, token.length - 1)
            return token.slice(0, cut)
        }
        case 'truncate4': {
            // keep base64 well-formed: cut whole quanta so that the structure itself ends early
            const quanta = Math.floor((token.length - body) / 4)
            const keep = rng.int(0, Math.max(0, quanta - 1))
            return token.slice(0, body + keep * 4)
        }
        case 'flipchar': {
            const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
            const end = token.replace(/=+$/, '').length
            const i = rng.int(body, end - 2) // never the last data char: its low bits may be padding
            let c = A[rng.int(0, 63)]
            while (c === token[i]) c = A[rng.int(0, 63)]
            return token.slice(0, i) + c + token.slice(i + 1)
        }
        case 'sigflip': {
            if (version === '006') {
                const buf = Buffer.from(token.slice(35), 'base64')
                buf[2 + rng.int(0, 31)] ^= 1 << rng.int(0, 7)
                return token.slice(0, 35) + buf.toString('base64')
            }
            const zlib = require('zlib')
            const buf = zlib.inflateSync(Buffer.from(token.slice(3), 'base64'))
            buf[2 + rng.int(0, 31)] ^= 1 << rng.int(0, 7)
            return '007' + zlib.deflateSync(buf).toString('base64')
        }
        case 'appidpart': {
            // 006: the 32-byte App ID part altered (not hex, not ASCII, other case); 007: as 'none'
            if (version !== '006') return token
            const i = rng.int(3, 34)
            const c = rng.pick(['g', '-', 'é', 'A', ' ', '+'])
            return token.slice(0, i) + c + token.slice(i + 1)
        }
        case 'innernewline': {
            const i = rng.int(body + 1, token.length - 1)
            return token.slice(0, i) + rng.pick(['\n', '\r\n', '\t']) + token.slice(i)
        }
        case 'garbage':
            return rng.pick([
                'hello',
                'undefined',
                'null',
                '007!!!notbase64***',
                '007' + 'A'.repeat(40),
                '006' + 'A'.repeat(40),
                '006' + appId + 'A'.repeat(40),
                '006' + 'z'.repeat(32) + 'IAA=',
                '006' + appId + '!!!!',
                '007',
                '006',
                '007!!!!',
                '007====',
                '006' + appId,
                '006' + appId.slice(0, 20),
                '007abcd',
                '007eJw=',
                '007eJwDAAAAAAE=', // a complete, empty zlib stream: the content ends at once
                '0',
                '00',
                '005',
                '"',
                "''",
                ' ',
            ])
    }
    return token
}

// ---- Bad requests --------------------------------------------------------------------------

function badRequest(rng, idx) {
    const base = { id: `c${idx}`, app_id: hex32(rng), channel: 'room', at: 1700000000 }
    const kind = rng.int(0, 6)
    if (kind === 0) return { ...base, uid: 5, account: 'bob' }
    if (kind === 1) return { ...base, uid: 4294967296 }
    if (kind === 2) return { ...base, uid: -1 }
    if (kind === 3) {
        const r = { ...base }
        delete r.app_id
        return r
    }
    if (kind === 4) {
        const r = { ...base }
        delete r.channel
        return r
    }
    if (kind === 5) return { ...base, channel: '' }
    return { ...base, account: 'x'.repeat(256) }
}

// ---- Main ----------------------------------------------------------------------------------

function main() {
    const [outDir, ...pairs] = process.argv.slice(2)
    if (!outDir || pairs.length < 2 || pairs.length % 2) {
        console.error('usage: node gen.js OUT_DIR SEED COUNT [SEED COUNT ...]')
        process.exit(64)
    }
    const reqs = []
    const projects = []
    let idx = 0
    for (let i = 0; i < pairs.length; i += 2) {
        const seed = Number(pairs[i])
        const count = Number(pairs[i + 1])
        const rng = makeRng(seed)
        for (let n = 0; n < count; n++, idx++) {
            if (rng.chance(0.02)) {
                reqs.push(badRequest(rng, idx))
                continue
            }
            const { req, project } = genCase(rng, idx)
            req.seed = seed
            reqs.push(req)
            if (project) projects.push(project)
        }
    }
    fs.writeFileSync(path.join(outDir, 'requests.jsonl'), reqs.map(r => JSON.stringify(r)).join('\n') + '\n')
    fs.writeFileSync(path.join(outDir, 'projects.json'), JSON.stringify(projects))
}

main()
