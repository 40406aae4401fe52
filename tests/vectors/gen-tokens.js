'use strict'
/* gen-tokens.js -- the generated token vectors: tokens built by the vendor's npm libraries, with
 * the fields a decoder must report and the certificate that signed them.
 *
 * Usage: node gen-tokens.js OUT.jsonl SEED COUNT
 *   (tests/vectors/generate.sh runs it; the libraries come from tests/diffcheck/node_modules, as
 *   pinned by tests/diffcheck/package-lock.json)
 *
 * Each line has the shape of tests/vectors/tokens.jsonl:
 *   {"id", "version", "token", "app_id", "certificate", "expect", "signed" (006 only), "builder"}
 * where `expect` is {"version":"007","app_id","issue_ts","expire","salt","services":[...]} or
 * {"version":"006","app_id","salt","ts","crc_channel","crc_uid","privileges":{...}} and `signed`
 * is the channel and uid text a 006 signature covers.
 *
 * Design: the libraries are the ground truth. For 007 the expectation is read from the library's
 * own AccessToken2 object at the moment it serialises it (a hook on build() snapshots appId,
 * issueTs, expire, salt and every service's fields); for 006 from the AccessToken's fields, with
 * the CRCs computed by Node's zlib (not the libraries' crc-32 package). Families: AccessToken2
 * used directly with every service type 1..10 the library offers (privileges named and unnamed,
 * edge values 0 and 2^32-1, rtm2 permissions, several services, unicode text), the high-level
 * builders of agora-token as users call them (RtcTokenBuilder, RtmTokenBuilder, Chat, Apaas,
 * Education, Fpa, ConvoAI, Stt), the 006 AccessToken of both libraries used directly, and the 006
 * RtcTokenBuilder / RtmTokenBuilder of both. The libraries draw their salt from Math.random and
 * their issue time from Date: both are seeded stand-ins here, so a seed gives the same file byte
 * for byte (with the same Node zlib: the token text is its deflate output).
 *
 * Kept out on purpose, because the vector tests (tests/core) compare every line: unknown service
 * types (their expect cannot be compared field by field), NUL characters (jansson refuses them),
 * tokens longer than 4096 characters (tokendoctor refuses longer text by design), and for 006 the
 * channel "x" and uid "9" (the tests verify with those as the wrong channel and uid).
 *
 * Every line is checked before it is written: the independent strict decoder of
 * tests/diffcheck/reference.js reads the same fields, and the signature verifies with the
 * certificate (HMAC computed here); any disagreement stops the generator.
 */

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { createRequire } = require('module')
const { makeRng, hex32, privValue, uidArg, expect006, builderArgs, libraryService, RANGES, poolText, randomAccessToken2, edgeU32, seedClock, recordBuilds } = require('../interop/common')

// The libraries draw from a seeded clock (common.js), installed before they are loaded.
const clock = seedClock()

// The vendor libraries as tests/diffcheck pins them.
const diffcheck = path.join(__dirname, '..', 'diffcheck')
const requireLib = createRequire(path.join(diffcheck, 'package.json'))
const at2 = requireLib('agora-token/src/AccessToken2')
const agoraToken = requireLib('agora-token')
const at006a = requireLib('agora-access-token/src/AccessToken')
const at006b = requireLib('agora-token/src/AccessToken')
const accessToken006 = requireLib('agora-access-token')
const rtc006b = requireLib('agora-token/src/RtcTokenBuilder')
const rtm006b = requireLib('agora-token/src/RtmTokenBuilder')
const reference = require('../diffcheck/reference')

const TOKEN_LIB = 'agora-token@' + requireLib('agora-token/package.json').version
const ACCESS_LIB = 'agora-access-token@' + requireLib('agora-access-token/package.json').version

const { AccessToken2, Rtm2Permissions } = at2

// What each AccessToken2 build serialises (common.js: recordBuilds).
const builds = recordBuilds(AccessToken2)

// ---- Random text -----------------------------------------------------------------------------

// Code point pools (common.js: RANGES): printable ASCII (most), Latin-1, Greek, Cyrillic, Arabic
// (RTL), CJK, emoji (outside the BMP: 4-byte UTF-8), combining marks, and control characters
// other than NUL.
const CP = RANGES
const POOLS = [CP.ascii, CP.ascii, CP.ascii, CP.latin1, CP.greek, CP.cyrillic, CP.arabic, CP.cjk, CP.emoji, CP.combining, [0x01, 0x1f]]
const WORDS = ['room', 'lobby', 'class', 'live', 'test', 'demo', 'Zoë', 'канал', '会议室', 'sala', 'ch']
const ACCOUNTS = ['alice', 'bob@example.com', 'user_42', 'Zoë', '0', '1', '4294967295', '4294967296', ' bob ']

function text(rng, maxLen) {
    const r = rng.next()
    if (r < 0.06) return ''
    if (r < 0.2) return String(rng.u32()) // uid-like decimal text
    if (r < 0.35) return rng.pick(WORDS) + rng.pick(['', ' ', '-', '_', ' 😀 ', '#']) + rng.int(0, 999)
    if (r < 0.42) return rng.pick(ACCOUNTS)
    return poolText(rng, POOLS, rng.int(1, maxLen), 0.5)
}

// ---- 007 ---------------------------------------------------------------------------------

// Privilege ids the library names, by service type.
const NAMED_PRIVS = { 1: [1, 2, 3, 4], 2: [1], 3: [1, 2], 5: [1, 2], 6: [1, 2], 7: [1, 2, 3], 8: [1] }

function addPrivileges(rng, service, type) {
    for (const id of NAMED_PRIVS[type] || []) if (rng.chance(0.7)) service.add_privilege(id, privValue(rng))
    // ids without a name (and for fpa, convoai and stt, which define none): reported by number
    const extra = rng.chance(0.2) ? rng.int(1, 2) : 0
    for (let i = 0; i < extra; i++) {
        service.add_privilege(rng.pick([0, 5, 100, 1000, 65535, rng.int(0, 65535)]), privValue(rng))
    }
}

function permissions(rng, maxTypes) {
    const perms = new Rtm2Permissions()
    const ntypes = rng.int(0, maxTypes)
    for (let i = 0; i < ntypes; i++) {
        const rt = rng.chance(0.9) ? rng.int(0, 4) : rng.int(5, 65535) // sometimes one without a name
        const pt = rng.chance(0.9) ? rng.int(0, 1) : rng.int(2, 65535)
        const res = []
        for (let k = rng.int(0, 3); k > 0; k--) res.push(text(rng, 12))
        perms.add(rt, pt, res)
    }
    return perms
}

function service007(rng, type) {
    const t = (max = 24) => text(rng, max)
    const s = libraryService(rng, at2, type, t, 40, () => uidArg(rng, text), () => permissions(rng, 3))
    addPrivileges(rng, s, type)
    return s
}

function direct007(rng) {
    const { tok, cert } = randomAccessToken2(rng, AccessToken2, () =>
        rng.pick([0, 60, 3600, 86400, 86401, rng.int(1, 30 * 86400), 1700000000]))
    const count = rng.weighted([
        [6, 1],
        [3, 2],
        [2, 3],
        [1, rng.int(4, 8)],
    ])
    // every type now and then; rtc (the one joins use) most often
    for (let i = 0; i < count; i++) tok.add_service(service007(rng, rng.chance(0.3) ? 1 : rng.int(1, 10)))
    return { token: tok.build(), cert, builder: `${TOKEN_LIB} AccessToken2` }
}

function builder007(rng) {
    const B = agoraToken
    const { appId, cert, ch, acct, exp, role } = builderArgs(rng, B, text, 40, [0, 600, 3600, 86400, 86401])
    const uid = () => (rng.chance(0.15) ? 0 : rng.int(1, 0xffffffff))
    const [a, c] = [appId, cert]
    const R = B.RtcTokenBuilder
    const five = () => [exp(), exp(), exp(), exp(), exp()] // token, join, and the three publish
    const calls = [
        ['RtcTokenBuilder.buildTokenWithUid', () => R.buildTokenWithUid(a, c, ch(), uid(), role(), exp(), exp())],
        ['RtcTokenBuilder.buildTokenWithUid', () => R.buildTokenWithUid(a, c, ch(), uid(), role(), exp())],
        [
            'RtcTokenBuilder.buildTokenWithUserAccount',
            () => R.buildTokenWithUserAccount(a, c, ch(), acct(), role(), exp(), exp()),
        ],
        [
            'RtcTokenBuilder.buildTokenWithUidAndPrivilege',
            () => R.buildTokenWithUidAndPrivilege(a, c, ch(), uid(), ...five()),
        ],
        [
            'RtcTokenBuilder.BuildTokenWithUserAccountAndPrivilege',
            () => R.BuildTokenWithUserAccountAndPrivilege(a, c, ch(), acct(), ...five()),
        ],
        ['RtcTokenBuilder.buildTokenWithRtm', () => R.buildTokenWithRtm(a, c, ch(), acct(), role(), exp(), exp())],
        [
            'RtcTokenBuilder.buildTokenWithRtm2',
            () => R.buildTokenWithRtm2(a, c, ch(), acct(), role(), ...five(), acct(), exp()),
        ],
        ['RtmTokenBuilder.buildToken', () => B.RtmTokenBuilder.buildToken(a, c, acct(), exp())],
        [
            'RtmTokenBuilder.buildTokenWithPermissions',
            () => B.RtmTokenBuilder.buildTokenWithPermissions(a, c, acct(), permissions(rng, 4), exp()),
        ],
        ['ChatTokenBuilder.buildUserToken', () => B.ChatTokenBuilder.buildUserToken(a, c, acct(), exp())],
        ['ChatTokenBuilder.buildAppToken', () => B.ChatTokenBuilder.buildAppToken(a, c, exp())],
        [
            'ApaasTokenBuilder.buildRoomUserToken',
            () => B.ApaasTokenBuilder.buildRoomUserToken(a, c, acct(), acct(), rng.int(1, 3), exp()),
        ],
        ['ApaasTokenBuilder.buildUserToken', () => B.ApaasTokenBuilder.buildUserToken(a, c, acct(), exp())],
        ['ApaasTokenBuilder.buildAppToken', () => B.ApaasTokenBuilder.buildAppToken(a, c, exp())],
        [
            'EducationTokenBuilder.buildRoomUserToken',
            () => B.EducationTokenBuilder.buildRoomUserToken(a, c, acct(), acct(), rng.int(1, 3), exp()),
        ],
        ['FpaTokenBuilder.buildToken', () => B.FpaTokenBuilder.buildToken(a, c)],
        [
            'ConvoAITokenBuilder.buildToken',
            () => B.ConvoAITokenBuilder.buildToken(a, c, ch(), acct(), role(), ...five(), acct(), exp()),
        ],
        [
            'SttTokenBuilder.buildToken',
            () => B.SttTokenBuilder.buildToken(a, c, ch(), acct(), role(), ...five(), acct(), exp()),
        ],
    ]
    const [name, call] = rng.pick(calls)
    return { token: call(), cert, builder: `${TOKEN_LIB} ${name}` }
}

// ---- 006 ---------------------------------------------------------------------------------

function direct006(rng) {
    const appId = hex32(rng)
    const cert = hex32(rng)
    const channel = text(rng, 48)
    const [lib, name] = rng.chance(0.6) ? [at006a, ACCESS_LIB] : [at006b, TOKEN_LIB]
    const tok = new lib.AccessToken(appId, cert, channel, uidArg(rng, text))
    tok.salt = edgeU32(rng, () => rng.int(1, 99999999))
    tok.ts = edgeU32(rng, () => rng.int(1600000000, 1900000000))
    for (const id of [1, 2, 3, 4, 101, 1000]) {
        const value = () => rng.pick([tok.ts, rng.int(1600000000, 1900000000)])
        if (rng.chance(0.5)) tok.addPriviledge(id, edgeU32(rng, value))
    }
    if (rng.chance(0.15)) tok.addPriviledge(rng.pick([5, 12, 0, 65535, rng.int(0, 65535)]), rng.u32())
    return {
        token: tok.build(),
        cert,
        builder: `${name} AccessToken (006)`,
        expect: expect006(appId, tok.salt, tok.ts, tok.messages, channel, tok.uid),
        signed: { channel, uid: tok.uid },
    }
}

function builder006(rng) {
    const appId = hex32(rng)
    const cert = hex32(rng)
    const access = rng.chance(0.6)
    const [name, Rtc, RtcRole, Rtm, AT] = access
        ? [ACCESS_LIB, accessToken006.RtcTokenBuilder, accessToken006.RtcRole, accessToken006.RtmTokenBuilder, at006a]
        : [TOKEN_LIB, rtc006b.RtcTokenBuilder, rtc006b.Role, rtm006b.RtmTokenBuilder, at006b]
    // the privilege expiry: a Unix time, 0 (no limit), or the mistakes users make
    const privTs = rng.weighted([
        [4, Math.floor(clock.ms / 1000) + rng.pick([600, 3600, 86400])],
        [2, 0],
        [1, rng.int(1, 86400)],
        [1, rng.pick([1, 2, 101])],
    ])
    if (rng.chance(0.7)) {
        const channel = text(rng, 48)
        const useUid = rng.chance(0.5)
        const uid = useUid ? (rng.chance(0.15) ? 0 : rng.int(1, 0xffffffff)) : text(rng, 24)
        const role = rng.pick([RtcRole.ATTENDEE, RtcRole.PUBLISHER, RtcRole.SUBSCRIBER, RtcRole.ADMIN])
        const token = useUid
            ? Rtc.buildTokenWithUid(appId, cert, channel, uid, role, privTs)
            : Rtc.buildTokenWithAccount(appId, cert, channel, uid, role, privTs)
        const key = Rtc.key // the builder keeps its AccessToken here: read what it packed
        return {
            token,
            cert,
            builder: `${name} RtcTokenBuilder.${useUid ? "buildTokenWithUid" : "buildTokenWithAccount"} (006)`,
            expect: expect006(appId, key.salt, key.ts, key.messages, channel, key.uid),
            signed: { channel, uid: key.uid },
        }
    }
    // RTM 006: the user id stands in the channel's place, the uid is empty.
    const account = text(rng, 32)
    const token = Rtm.buildToken(appId, cert, account, 1, privTs)
    const parsed = new AT.AccessToken()
    if (!parsed.fromString(token)) throw new Error(`${name} cannot parse its own 006 token`)
    return {
        token,
        cert,
        builder: `${name} RtmTokenBuilder.buildToken (006)`,
        expect: expect006(appId, parsed.salt, parsed.ts, { 1000: privTs }, account, ''),
        signed: { channel: account, uid: '' },
    }
}

// ---- The independent check of every line -------------------------------------------------

const bin = s => Buffer.from(s, 'utf8').toString('latin1') // text as the decoder's byte string
const hmac = (k, m) => crypto.createHmac('sha256', k).update(m).digest()
const u32 = v => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v >>> 0)
    return b
}

function signatureOk(line, tok) {
    const cert = Buffer.from(line.certificate)
    if (tok.version === '007') {
        const key = hmac(u32(tok.salt), hmac(u32(tok.issue_ts), cert))
        return hmac(key, tok.signing_info).equals(tok.signature)
    }
    const { channel, uid } = line.signed
    const msg = Buffer.concat([Buffer.from(tok.app_id, 'latin1'), Buffer.from(channel), Buffer.from(uid), tok.m])
    return hmac(cert, msg).equals(tok.signature)
}

// Problems with one line: the strict decoder of reference.js must read the expect's fields.
function problems(line) {
    const out = []
    const d = reference.decodeToken(line.token)
    if (!d.token) return [`does not decode: ${d.hints}`]
    const tok = d.token
    const e = line.expect
    const eq = (what, got, want) => got !== want && out.push(`${what}: ${got} != ${want}`)
    eq('version', tok.version, e.version)
    eq('app_id', tok.app_id, bin(e.app_id))
    const privs = list => JSON.stringify(Object.fromEntries(list.map(p => [p.id, p.value])))
    if (e.version === '007') {
        for (const f of ['issue_ts', 'expire', 'salt']) eq(f, tok[f], e[f])
        eq('service count', tok.services.length, e.services.length)
        e.services.forEach((s, i) => {
            const t = tok.services[i] || {}
            eq(`service ${i} type`, t.type, s.type)
            eq(`service ${i} privileges`, privs(t.privileges || []), JSON.stringify(s.privileges))
            for (const f of ['channel', 'uid', 'user_id', 'account']) {
                if (f in t) eq(`service ${i} ${f}`, t[f], bin(s[f]))
            }
        })
    } else {
        for (const f of ['salt', 'ts']) eq(f, tok[f], e[f])
        eq('crc_channel', tok.crc_channel, e.crc_channel)
        eq('crc_uid', tok.crc_uid, e.crc_uid)
        eq('privileges', privs(tok.privileges), JSON.stringify(e.privileges))
        if (line.signed.channel === 'x' || line.signed.uid === '9')
            out.push('channel "x" or uid "9" (the tests use them as wrong values)')
    }
    if (!signatureOk(line, tok)) out.push('does not verify with its certificate')
    if (line.token.length > 4096) out.push('longer than 4096 characters')
    if (JSON.stringify(line).includes('\\u0000')) out.push('a NUL character')
    return out
}

// ---- Main ----------------------------------------------------------------------------------

function main() {
    const [out, seedText, countText] = process.argv.slice(2)
    if (!out || !seedText || !countText) {
        console.error('usage: node gen-tokens.js OUT.jsonl SEED COUNT')
        process.exit(64)
    }
    const seed = Number(seedText) >>> 0
    const count = Number(countText)
    const rng = makeRng(seed)
    clock.rng = makeRng(seed ^ 0x5eed)
    const lines = []
    const tally = new Map()
    let skipped = 0
    while (lines.length < count) {
        clock.ms = rng.int(1600000000, 1900000000) * 1000 + rng.int(0, 999)
        builds.last = null
        const r = rng.next()
        const item = r < 0.4 ? direct007(rng) : r < 0.65 ? builder007(rng) : r < 0.8 ? direct006(rng) : builder006(rng)
        if (item.token.startsWith('007')) item.expect = builds.last
        const line = {
            id: `gt${lines.length}`,
            version: item.expect.version,
            token: item.token,
            app_id: item.expect.app_id,
            certificate: item.cert,
            expect: item.expect,
        }
        if (item.signed) line.signed = item.signed
        line.builder = item.builder
        const bad = problems(line)
        // the constraints of the vector tests: another draw (deterministic, like the rest)
        if (bad.some(b => /4096|NUL|"x"/.test(b))) {
            skipped++
            continue
        }
        if (bad.length) throw new Error(`${line.builder}: ${bad.join('; ')}\n${JSON.stringify(line)}`)
        lines.push(JSON.stringify(line))
        const key = line.builder.replace(/@[0-9.]+/, '')
        tally.set(key, (tally.get(key) || 0) + 1)
    }
    fs.writeFileSync(out, lines.join('\n') + '\n')
    for (const [k, v] of [...tally].sort()) console.log(`  ${String(v).padStart(4)}  ${k}`)
    console.log(`gen-tokens: ${lines.length} tokens (${skipped} draws left out), seed ${seed}`)
}

main()
