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
 * x a mechanical or structural malformation x platform alias x channel text x the client's SDK
 * version. Contract v2 added rules that only some inputs reach, so those inputs are made on
 * purpose: sdk_version around every first-AccessToken2 release for the named platform (cocos
 * included), RTM 1.x and 2.x, and a few malformed ones; RTC tokens (006 and 007) used to log in to
 * RTM and 006 RTM tokens without privilege 1000; uid text "0" and uids above 2^32 (007 text, 006
 * crc of uid + k * 2^32 for k up to 1024); channels differing in case or surrounding whitespace;
 * App IDs with whitespace; the documentation's sample App ID and certificate; role constants and
 * "start-up" times as privilege expiry; Bearer/token= prefixes, `\/` escapes, percent-encoding.
 * Tokens are built by the vendor libraries (agora-token AccessToken2 for 007, agora-access-token
 * AccessToken for 006) with a fixed issue time and salt, so a seed reproduces the same file byte
 * for byte. Every case has its own App ID, so one projects array serves the whole batch; an
 * "unknown project" case simply has no entry (or an entry under a different App ID, as for a bad
 * App ID); the sample App ID, shared by many cases, never has one.
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
    // Invalid names are a cause of their own (check 2) that hides every later one: kept rare.
    const kind = rng.weighted([
        [20, 'short'],
        [1, '63'],
        [1, '64'],
        [1, '62+2byte'],
        [2, 'invalid'],
        [2, 'spaced'],
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
    // a space on one side: a valid name that a token server may have trimmed
    if (kind === 'spaced') return rng.chance(0.5) ? ' ' + body(rng.int(1, 20)) : body(rng.int(1, 20)) + ' '
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

// ---- The client's SDK --------------------------------------------------------------------------

// The first AccessToken2 readers of diagnosis.md, by the platform as named (rtc) -- the versions
// are placed around them. Cocos has none: any version, never check 5a.
const RTC_FIRST = { web: [4, 8, 0], flutter: [4, 2, 0] }
const MALFORMED_SDK = [
    '2',
    '2.x',
    'latest',
    '1.5.0-beta',
    '2.2.0.1',
    ' 2.2.0',
    '2.2.0 ',
    '1..2',
    '99999.1',
    '1.99999',
    '1.2.10000',
    'V2.1',
    'v',
    '',
    '2.',
    '.2',
    'vv2.1',
    '+2.1',
    '-1.0',
    '2.1.',
    '١.٢', // Arabic-Indic digits: not [0-9]
    2,
    2.1,
]

function sdkVersion(rng, service, platform) {
    const p = (platform || 'native').toLowerCase()
    let first
    if (service === 'rtm') {
        // Signaling 2.x: its own codes, and it reads 007
        if (rng.chance(0.4)) return rng.pick(['2.0', '2.0.0', 'v2.1.9', '2.1.12', '2.2.0', '2.3', '10.0.1', '02.1'])
        first = p === 'web' ? [1, 4, 6] : [1, 5, 0]
    } else if (p === 'cocos') first = rng.pick([[3, 5, 2], [4, 8, 0], [2, 0, 0]])
    else first = RTC_FIRST[p] || [3, 5, 2]
    const [a, b, c] = first
    const below = c > 0 ? `${a}.${b}.${c - 1}` : b > 0 ? `${a}.${b - 1}.99` : `${a - 1}.99.99`
    return rng.weighted([
        [3, `${a}.${b}.${c}`],
        [3, below],
        [2, `${a}.${b}.${c + 1}`],
        [1, `${a}.${b}`], // patch 0: below the first when its patch is not 0
        [1, `v${a}.${b}.${c}`],
        [1, `v${below}`],
        [1, `${a}.${b + 1}`],
        [1, `${a}.${b + 10}.0`], // 4.10.0 > 4.8.0: numbers, not text
        [1, `${a + 1}.0.0`],
        [1, `${Math.max(0, a - 1)}.${b + 1}.${c + 1}`],
        [1, `0${a}.0${b}.${c}`], // leading zeros are digits too
        [1, '9999.9999.9999'],
        [1, '0.0'],
    ])
}

// ---- One case ----------------------------------------------------------------------------------

const SAMPLE_APP_ID = '970CA35de60c44645bbae8a215061b33'
const SAMPLE_CERT = '5CFd2fd1755d40ecb72977518be15d3b'
const TWO32 = 4294967296n

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

// Text as a JSON/PHP encoder, a URL encoder or a form would have mangled it.
const jsonEscape = t => t.replace(/\//g, '\\/')
function percentEncode(rng, t) {
    const lower = rng.chance(0.3)
    const enc = t.replace(/[+/=]/g, c => {
        const h = '%' + c.charCodeAt(0).toString(16).toUpperCase()
        return lower ? h.toLowerCase() : h
    })
    return rng.chance(0.1) ? enc.replace(/%/g, '%25') : enc // encoded twice: %252B is no hint
}

// A uid text above the SDK's 32-bit range (or just around it).
function bigUidText(rng, uid) {
    return rng.weighted([
        [3, String(BigInt(uid) + BigInt(rng.int(1, 1023)) * TWO32)],
        [1, String(BigInt(uid) + 1023n * TWO32)],
        [1, String(BigInt(uid) + 1024n * TWO32)], // out of range, but past the 006 search
        [1, '1' + String(rng.int(0, 999999999)).padStart(10, '0')], // an 11-digit phone number
        [1, String(Date.UTC(2026, 0, 1) + rng.int(0, 1e9))], // milliseconds
        [1, '4294967296'],
        [1, '0' + String(rng.int(1, 99999))], // leading zero: not a number for the hint
        [1, '99999999999999999999999999'],
    ])
}

function genCase(rng, idx) {
    const issueBase = rng.weighted([
        [20, rng.int(1600000000, 1900000000)],
        [1, rng.int(4294900000, 4294967295)], // issue_ts + lifetime passes 2^32: 64-bit arithmetic
        [1, rng.int(1, 100000)], // (0 would make the library take the current time)
    ])
    // The samples' App ID: a join with it never has a project (many cases share it).
    const sampleJoin = rng.chance(0.02)
    const app_id = sampleJoin ? SAMPLE_APP_ID : hex32(rng, rng.chance(0.1))
    const version = rng.chance(0.6) ? '007' : '006'
    const service = rng.chance(0.7) ? 'rtc' : 'rtm'
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
    const byUid = req.account === undefined
    const uidNum = req.uid || 0
    const uidText = req.account !== undefined ? req.account : req.uid ? String(req.uid) : ''
    const userId = req.account !== undefined ? req.account : String(req.uid || 0)
    if (service === 'rtc' || rng.chance(0.2)) req.channel = channelText(rng)
    if (rng.chance(0.8)) req.role = rng.pick(['publisher', 'subscriber'])
    if (rng.chance(0.9)) req.platform = rng.pick(PLATFORM_NAMES)
    if (req.platform && rng.chance(0.05)) req.platform = req.platform.toUpperCase()
    if (rng.chance(0.55)) req.sdk_version = sdkVersion(rng, service, req.platform)

    // Project.
    const primary = hex32(rng, rng.chance(0.1))
    const secondary = hex32(rng)
    const retired = [hex32(rng), hex32(rng)].slice(0, rng.int(0, 2))
    const mode = sampleJoin
        ? 'unknown'
        : rng.weighted([
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
        // The samples' certificate configured or retired by the project itself: then it is the
        // project's own certificate (or an old one), and the signature hints say which.
        if (project.primary && rng.chance(0.01)) project.primary.certificate = SAMPLE_CERT
        if (rng.chance(0.01)) project.retired_certificates = [SAMPLE_CERT]
    }
    // Who signs.
    const signer = rng.weighted([
        [8, primary],
        [3, secondary],
        [1, retired.length ? retired[0] : primary],
        [1, app_id],
        [1, hex32(rng)],
        [1, flipCase(primary)], // the certificate in another case must not verify
        [1, SAMPLE_CERT], // a token server still on the documentation's sample values
    ])

    // Token parameters.
    const tokenAppId = rng.weighted([
        [24, app_id],
        [2, flipCase(app_id)],
        [2, hex32(rng)],
        [1, SAMPLE_APP_ID],
    ])
    const issue_ts = issueBase
    const salt = rng.int(1, 99999999)
    let token
    let expiry // token expiry, for placing `at`
    let privExpiry = null
    const joinChannel = req.channel || 'room'
    // The join's channel with a whitespace slip on one side (or trimmed when it has one).
    const spaced = ch =>
        rng.weighted([
            [2, ' ' + ch],
            [2, ch + ' '],
            [1, '\t' + ch],
            [1, ch + '\n'],
            [2, ch.trim() || ch + ' '],
        ])
    if (version === '007') {
        const expire = lifetime(rng)
        const L = expire === 0 || expire > 86400 ? 86400 : expire
        expiry = issue_ts + L
        const privValue = rng.weighted([
            [8, expire],
            [4, 0],
            [4, rng.int(1, Math.max(1, L - 1))],
            [2, L + rng.int(1, 100000)],
            [2, 1000000000 + rng.int(0, 100)],
            [2, 4294967295],
            [1, 1], // role constants where the expiry belongs (arguments shifted)
            [1, 2],
            [1, 101],
        ])
        if (privValue !== 0) privExpiry = Math.min(issue_ts + privValue, expiry)
        const services = []
        const chanFor = () =>
            rng.weighted([
                [12, joinChannel],
                [1, joinChannel + 'x'],
                [1, flipCase(joinChannel)], // same letters, other case: still a mismatch
                [1, spaced(joinChannel)],
            ])
        const uidFor = () =>
            rng.weighted([
                [12, uidText],
                [3, ''],
                [1, String(rng.int(1, 4294967295))],
                [1, uidText + '0'],
                [1, '0'], // the account "0", not "any uid"
                [1, bigUidText(rng, uidNum)],
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
        // An RTC token used to log in to RTM (the Console's temporary token), and the reverse.
        const wrong = rng.chance(service === 'rtm' ? 0.2 : 0.08)
        const want = wrong ? (service === 'rtc' ? 'rtm' : 'rtc') : service === 'rtm' && rng.chance(0.3) ? 'rtm2' : service
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
        const ts = rng.weighted(
            [
                [5, issue_ts + 86400],
                [2, issue_ts + rng.int(1, 7200)],
                [1, issue_ts + rng.int(86401, 10000000)],
                [1, 0],
                [1, 4294967295],
            ].map(([w, v]) => [w, Math.min(v, 4294967295)]),
        )
        expiry = ts
        const pv = rng.weighted(
            [
                [8, ts],
                [4, 0],
                [4, issue_ts + rng.int(1, Math.max(1, ts - issue_ts - 1))],
                [2, ts + rng.int(1, 10000)],
                [4, rng.int(1, 999999999)],
                [2, 999999999],
                [2, 1000000000],
                [2, 4294967295],
                [1, 1],
                [1, 2],
                [1, 101],
                // computed once at the token server's start-up: at or before the issue time
                [2, issue_ts - rng.int(0, 3000000)],
                [1, ts - 86400],
                [1, ts - 86399],
            ].map(([w, v]) => [w, Math.min(Math.max(v, 0), 4294967295)]),
        )
        if (pv !== 0) privExpiry = Math.min(pv, ts)
        let channel
        let uid
        const privileges = []
        if (service === 'rtc') {
            channel = rng.weighted([
                [12, req.channel],
                [1, req.channel + 'x'],
                [1, spaced(req.channel)],
            ])
            uid = rng.weighted([
                [12, uidText],
                [3, ''],
                [1, String(rng.int(1, 4294967295))],
                [1, '0'],
                [2, byUid ? bigUidText(rng, uidNum) : uidText],
            ])
            const joinId = rng.chance(0.92) ? 1 : 1000 // an RTM token used to join
            if (rng.chance(0.92)) privileges.push([joinId, pv])
            if (joinId === 1 && rng.chance(0.7))
                for (const id of [2, 3, 4]) if (rng.chance(0.7)) privileges.push([id, pv])
        } else {
            const kind = rng.weighted([
                [6, 'rtm'], // the RTM builder: user id as channel, empty uid, privilege 1000
                [2, 'rtcnamedlikeuser'], // an RTC token for a channel named like the user
                [2, 'rtc'], // an RTC token for some channel: built_for_rtc
            ])
            channel = kind === 'rtc' ? rng.pick([joinChannel, 'room', userId + 'x']) : rng.chance(0.9) ? userId : userId + 'x'
            uid = kind === 'rtc' ? rng.pick([uidText, '', String(rng.int(1, 99))]) : rng.chance(0.93) ? '' : String(rng.int(1, 99))
            if (kind === 'rtm') {
                if (rng.chance(0.92)) privileges.push([1000, pv])
                if (rng.chance(0.2)) privileges.push([1, pv])
            } else {
                if (rng.chance(0.92)) privileges.push([1, pv])
                for (const id of [2, 3, 4]) if (rng.chance(0.5)) privileges.push([id, pv])
            }
        }
        if (rng.chance(0.05)) privileges.push([101, pv])
        privileges.sort((a, b) => a[0] - b[0])
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
    if (req.at < 0 || rng.chance(0.002)) req.at = 0
    if (req.at > 4294967295) req.at = 4294967295
    // Now and then as an ISO-8601 UTC time (the same instant).
    if (rng.chance(0.05)) req.at = new Date(req.at * 1000).toISOString().replace('.000Z', 'Z')

    // Mechanical and structural damage.
    const damage = rng.weighted([
        [40, 'none'],
        [2, 'notoken'],
        [2, 'whitespace'],
        [2, 'quoted'],
        [2, 'urldecoded'],
        [1, 'mixed'],
        [2, 'appid'],
        [1, 'otherhex'],
        [1, 'legacy'],
        [1, 'unknownprefix'],
        [2, 'truncate'],
        [1, 'truncate4'],
        [2, 'flipchar'],
        [1, 'sigflip'],
        [1, 'garbage'],
        [1, 'innernewline'],
        [1, 'appidpart'],
        [2, 'authprefix'],
        [2, 'jsonescaped'],
        [2, 'percent'],
        [1, 'layered'],
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
            '<Your App ID>',
        ])
    } else if (rng.chance(0.03)) {
        // Surrounding whitespace: the project is still found, by the trimmed App ID.
        req.app_id = rng.pick([' ', '\t', '\n', '  ', '\r\n']) + app_id
        if (rng.chance(0.5)) req.app_id = req.app_id.trim() + rng.pick([' ', '\n', '\t'])
    }
    // The join's App ID in another letter case: the project (kept under the original) is
    // unknown to it, the token's App ID differs only in case.
    if (rng.chance(0.03) && req.app_id.toUpperCase() !== req.app_id) req.app_id = req.app_id.toUpperCase()
    // A malformed sdk_version makes the whole request a bad request.
    if (rng.chance(0.01)) req.sdk_version = rng.pick(MALFORMED_SDK)
    // (version and damage: what was built, for tests/vectors/gen-scenarios.js to label the case)
    return { req, project, version, damage }
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
        case 'otherhex': {
            // 32 hex characters that are not the join's App ID: malformed, hint app_id_as_token
            let h = ''
            for (let i = 0; i < 32; i++) h += '0123456789abcdefABCDEF'[rng.int(0, 21)]
            return h
        }
        case 'authprefix': {
            // a header or query fragment pasted with the token, now and then quoted or spaced
            const t = rng.pick(['Bearer ', 'token=', 'Bearer ', 'bearer ', 'Token=', 'Bearer  ']) + token
            return rng.weighted([
                [6, t],
                [1, '"' + t + '"'],
                [1, ws() + t],
                [1, 'Authorization: ' + t],
            ])
        }
        case 'jsonescaped':
            return rng.chance(0.9) ? jsonEscape(token) : jsonEscape(urlDecode(token))
        case 'percent':
            return rng.chance(0.85) ? percentEncode(rng, token) : percentEncode(rng, token).replace(/%2F/gi, '/')
        case 'layered': {
            // several slips at once: the cleaning order of "Repair" matters
            let t = token
            if (rng.chance(0.5)) t = jsonEscape(t)
            else if (rng.chance(0.5)) t = percentEncode(rng, t)
            if (rng.chance(0.4)) t = urlDecode(t)
            if (rng.chance(0.5)) t = rng.pick(['Bearer ', 'token=']) + t
            if (rng.chance(0.5)) t = q() + t + q()
            if (rng.chance(0.5)) t = ws() + t
            if (rng.chance(0.3)) t = t + ws()
            if (rng.chance(0.1)) t = '00' + rng.int(1, 5) + ' ' + t.slice(3) // a legacy key, spaced
            return t
        }
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
                'hello world', // a space, but no token that lost a '+'
                'Bearer x',
                'Bearer ',
                'token=',
                'token=hello',
                '"hello"',
                ' hello ',
                'hello%2B',
                '005abc def',
                ' 005' + appId,
                '007 ',
                '007' + 'A'.repeat(40) + ' ',
                '\\/',
                '%2B%2F%3D',
            ])
    }
    return token
}

// ---- Bad requests --------------------------------------------------------------------------

function badRequest(rng, idx) {
    const base = { id: `c${idx}`, app_id: hex32(rng), channel: 'room', at: 1700000000 }
    const kind = rng.int(0, 9)
    if (kind === 7) return { ...base, sdk_version: rng.pick(MALFORMED_SDK) }
    if (kind === 8)
        return {
            ...base,
            at: rng.pick([
                -1,
                4294967296,
                1.5,
                '1969-12-31T23:59:59Z', // -1
                '2106-02-07T06:28:16Z', // 2^32
                '2026-13-01T00:00:00Z',
                '2026-02-30T00:00:00Z',
                'yesterday',
                '',
            ]),
        }
    if (kind === 9) return { ...base, platform: rng.pick(['tizen', '', 'native ']) }
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

// tests/vectors/gen-scenarios.js draws its cases from the same generator.
module.exports = { genCase, badRequest }

if (require.main === module) main()
