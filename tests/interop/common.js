'use strict'
/* common.js -- helpers shared by gen.js and verify.js, and by the generator of the committed
 * token vectors, tests/vectors/gen-tokens.js (random text, uids, privilege values, 006
 * expectations, the start of an AccessToken2 and of a high-level builder call: each generator
 * passes its own library copy and distributions); makeRng also by the differential test's
 * generator, tests/diffcheck/gen.js, and the benchmark corpus, tests/bench/gen.js: one PRNG for
 * every seeded test input.
 *
 * Design: the interop test must be reproducible from one number, so every random choice comes from
 * a small seeded PRNG (mulberry32) instead of Math.random; a failing run prints its seed and
 * `INTEROP_SEED=<n> tests/interop/run.sh` replays it. The helpers that build random inputs live
 * here so the generator and the checker of minted tokens describe tokens in the same JSON shape:
 *
 *   {"version":"007","app_id":..,"issue_ts":..,"expire":..,"salt":..,
 *    "services":[{"type":1,"privileges":{"1":60},"channel":..,"uid":..}, ...]}
 *   {"version":"006","app_id":..,"salt":..,"ts":..,"crc_channel":..,"crc_uid":..,
 *    "privileges":{"1":...}}
 *
 * which is the `expect` shape of shared/vectors/tokens.jsonl (an unknown service is
 * {"type":N,"unknown":true}).
 */

const zlib = require('zlib')

// mulberry32: tiny, fast, good enough to spread test inputs; never used for secrets.
function makeRng(seed) {
    let a = seed >>> 0
    const next = () => {
        a = (a + 0x6d2b79f5) >>> 0
        let t = a
        t = Math.imul(t ^ (t >>> 15), t | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const rng = {
        next,
        // Integer in [lo, hi], both inclusive; safe for the full uint32 range.
        int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
        chance: p => next() < p,
        pick: arr => arr[Math.floor(next() * arr.length)],
        u32: () => Math.floor(next() * 4294967296) >>> 0,
        // Picks by weight: [[w, value], ...].
        weighted: pairs => {
            const total = pairs.reduce((s, p) => s + p[0], 0)
            let x = next() * total
            for (const [w, v] of pairs) {
                if ((x -= w) < 0) return v
            }
            return pairs[pairs.length - 1][1]
        },
    }
    return rng
}

// A 32-character hex string (App ID or certificate); sometimes mixed case, because the
// certificate is used as its ASCII bytes and case must therefore matter.
function hex32(rng) {
    const digits = '0123456789abcdef'
    const upper = rng.chance(0.2)
    let s = ''
    for (let i = 0; i < 32; i++) {
        let c = digits[rng.int(0, 15)]
        if (upper && rng.chance(0.5)) c = c.toUpperCase()
        s += c
    }
    return s
}

// Another certificate that must NOT verify: a fresh random one, or the same one with the case of
// one letter flipped (catches a verifier that hex-decodes or lowercases the certificate).
function wrongCerts(rng, cert) {
    const out = []
    let other = hex32(rng)
    while (other === cert) other = hex32(rng)
    out.push(other)
    const letters = [...cert].map((c, i) => (/[a-fA-F]/.test(c) ? i : -1)).filter(i => i >= 0)
    if (letters.length > 0) {
        const i = rng.pick(letters)
        const c = cert[i]
        const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()
        out.push(cert.slice(0, i) + flipped + cert.slice(i + 1))
    }
    // One byte short: the verifier must use the length it is given.
    out.push(cert.slice(0, 31))
    return out
}

// Code point ranges that random text draws from, named once for both generators: printable
// ASCII, Latin-1, Greek, Cyrillic, Arabic (RTL), CJK, emoji (outside the BMP, so UTF-16
// surrogate pairs in JS and 4-byte UTF-8) and combining marks.
const RANGES = {
    ascii: [0x20, 0x7e],
    latin1: [0xa0, 0xff],
    greek: [0x391, 0x3c9],
    cyrillic: [0x410, 0x44f],
    arabic: [0x621, 0x64a],
    cjk: [0x4e00, 0x9fff],
    emoji: [0x1f300, 0x1f64f],
    combining: [0x300, 0x36f],
}

// The pools of randomText (ASCII three times as likely), and control characters including NUL
// (a decoder that stops at NUL fails here).
const CP = RANGES
const POOLS = [CP.ascii, CP.ascii, CP.ascii, CP.latin1, CP.greek, CP.arabic, CP.cjk, CP.emoji, CP.combining, [0x00, 0x1f]]

// len code points: all from pools[0] (printable ASCII) with probability asciiShare, otherwise
// each from a pool picked at random. The generators' random text ends in it, each with its pools.
function poolText(rng, pools, len, asciiShare) {
    const asciiOnly = rng.chance(asciiShare)
    let s = ''
    for (let i = 0; i < len; i++) {
        const pool = asciiOnly ? pools[0] : rng.pick(pools)
        s += String.fromCodePoint(rng.int(pool[0], pool[1]))
    }
    return s
}

function randomText(rng, maxLen) {
    const r = rng.next()
    if (r < 0.1) return ''
    if (r < 0.12) return 'x'.repeat(rng.int(100, 400)) + String(rng.u32()) // long, compressible
    if (r < 0.3) return String(rng.u32()) // uid-like decimal text
    return poolText(rng, POOLS, rng.int(1, maxLen), 0.4)
}

// A uint32 that is sometimes an edge value.
function edgeU32(rng, typical) {
    const r = rng.next()
    if (r < 0.05) return 0
    if (r < 0.1) return 0xffffffff
    if (r < 0.15) return rng.u32()
    return typical()
}

// A privilege's expire value: typical lifetimes, now and then 0 or 2^32-1.
function privValue(rng) {
    return edgeU32(rng, () => rng.pick([0, 60, 600, 3600, 86400, rng.int(1, 7 * 86400)]))
}

// The uid argument of ServiceRtc and friends: a number (0 = any uid, packed as "") or an
// account string from text(rng, maxLen), the generator's own random text.
function uidArg(rng, text) {
    const r = rng.next()
    if (r < 0.15) return 0
    if (r < 0.6) return rng.int(1, 0xffffffff)
    return text(rng, 24)
}

// The `expect` of a 006 token: its fields as a decoder must report them, the CRCs of the channel
// and uid text it was built for, and its privileges map (messages: id -> expire).
function expect006(appId, salt, ts, messages, channel, uid) {
    const privileges = {}
    for (const k of Object.keys(messages)) privileges[k] = messages[k] >>> 0
    return {
        version: '006',
        app_id: appId,
        salt: salt >>> 0,
        ts: ts >>> 0,
        crc_channel: crc32Text(channel),
        crc_uid: crc32Text(uid),
        privileges,
    }
}

// The arguments of agora-token's (B's) high-level 007 builders: a new app id and certificate,
// and makers of a channel name (text(rng, chLen), the generator's own random text), an account,
// an expire (one of expires, or a random lifetime up to a week) and an RTC role.
function builderArgs(rng, B, text, chLen, expires) {
    return {
        appId: hex32(rng),
        cert: hex32(rng),
        ch: () => text(rng, chLen),
        acct: () => text(rng, 24),
        exp: () => rng.pick([...expires, rng.int(1, 7 * 86400)]),
        role: () => rng.pick([B.RtcRole.PUBLISHER, B.RtcRole.SUBSCRIBER]),
    }
}

// A service of agora-token's AccessToken2 module at2 (each generator passes its own copy) of a
// type 1..10, with random fields: t(max) is the generator's random text (t() of its default
// length, t(long) a channel name), uid() a uid argument, perms() rtm2 permissions. The privileges
// are the caller's to add.
function libraryService(rng, at2, type, t, long, uid, perms) {
    const numberOrText = () => (rng.chance(0.3) ? rng.int(0, 0xffffffff) : t())
    if (type === 1) return new at2.ServiceRtc(t(long), uid())
    if (type === 2) return new at2.ServiceRtm(t())
    if (type === 3) return new at2.ServiceStreaming(t(long), numberOrText())
    if (type === 4) return new at2.ServiceFpa()
    if (type === 5) return new at2.ServiceChat(t())
    if (type === 6) return new at2.ServiceFCdn(t(long), numberOrText())
    // The library writes `role || -1`, so 0 becomes -1: the snapshot reads what it packs.
    if (type === 7) return new at2.ServiceApaas(t(), t(), rng.pick([0, 1, 2, 3, -1, -32768, 32767, rng.int(-32768, 32767)]))
    if (type === 8) return new at2.ServiceRtm2(rng.chance(0.1) ? rng.int(0, 99999) : t(), perms())
    if (type === 9) return new at2.ServiceConvoAI()
    return new at2.ServiceStt()
}

// A library AccessToken2 (the class: each generator requires its own copy of the library) with a
// random app id and certificate, and issue time, expire and salt that are now and then 0 or
// 2^32-1; typicalExpire draws the usual expire. Fields are plain properties: set them after
// construction so 0 and 2^32-1 are reachable (the constructor turns an issue time of 0 into "now").
function randomAccessToken2(rng, AccessToken2, typicalExpire) {
    const appId = hex32(rng)
    const cert = hex32(rng)
    const tok = new AccessToken2(appId, cert, rng.int(1, 0xffffffff), 0)
    tok.issueTs = edgeU32(rng, () => rng.int(1600000000, 1900000000))
    tok.expire = edgeU32(rng, typicalExpire)
    tok.salt = edgeU32(rng, () => rng.int(1, 99999999))
    return { tok, cert }
}

// zlib's crc32 of the UTF-8 bytes (Node's own zlib binding, not the libraries' crc-32 package,
// so the expectation is independent of the builder under test).
function crc32Text(s) {
    return zlib.crc32(Buffer.from(s, 'utf8')) >>> 0
}

// ---- The vendor libraries, made reproducible and observed ---------------------------------

// The libraries draw their salt from Math.random and their issue time from Date. Seeded
// stand-ins, installed before a library is loaded, make one seed give the same tokens byte for
// byte: set clock.rng (a makeRng) and clock.ms before each token. Returns the clock.
function seedClock() {
    const clock = { ms: 1700000000000, rng: null }
    Math.random = () => (clock.rng ? clock.rng.next() : 0.5)
    const RealDate = Date
    global.Date = class extends RealDate {
        constructor(...args) {
            if (args.length === 0) super(clock.ms)
            else super(...args)
        }
        static now() {
            return clock.ms
        }
    }
    return clock
}

// What AccessToken2 serialises, read from the library's own object as it builds: the expected
// decode of the token (the `expect` of tokens.jsonl).
function privilegesOf(service) {
    // Object keys that are integers enumerate in ascending order, the order the library packs.
    const out = {}
    for (const k of Object.keys(service.__privileges)) out[k] = service.__privileges[k] >>> 0
    return out
}

function permissionsOf(perms) {
    const out = []
    const rtypes = Object.keys(perms.details).map(Number).sort((a, b) => a - b)
    for (const rt of rtypes) {
        const ptypes = Object.keys(perms.details[rt]).map(Number).sort((a, b) => a - b)
        for (const pt of ptypes) {
            out.push({
                resource_type: rt,
                permission_type: pt,
                resources: perms.details[rt][pt].map(String),
            })
        }
    }
    return out
}

function snapshotService(s) {
    const type = s.service_type()
    const base = { type, privileges: privilegesOf(s) }
    switch (type) {
        case 1:
            return { ...base, channel: s.__channel_name, uid: s.__uid }
        case 2:
        case 5:
            return { ...base, user_id: s.__user_id }
        case 3:
        case 6:
            return { ...base, channel: s.__channel_name, account: s.__account }
        case 4:
        case 9:
        case 10:
            return base
        case 7:
            return { ...base, room_uuid: s.__room_uuid, user_uuid: s.__user_uuid, role: s.__role }
        case 8:
            return { ...base, user_id: s.__user_id, permissions: permissionsOf(s.__permissions) }
        default:
            return { type, unknown: true }
    }
}

function snapshot007(tok) {
    const services = []
    for (const s of tok.__services_for_packing()) {
        const snap = snapshotService(s)
        services.push(snap)
        if (snap.unknown) break // a decoder cannot read past a service it does not know
    }
    return {
        version: '007',
        app_id: tok.appId,
        // writeUInt32LE truncates a fractional issue time (builders use Date/1000).
        issue_ts: Math.floor(tok.issueTs) >>> 0,
        expire: tok.expire >>> 0,
        salt: tok.salt >>> 0,
        services,
    }
}

// Hooks AccessToken2.prototype.build (the library's class) so that builds.last is the snapshot
// of the last token built (set it to null before each token). Returns builds.
function recordBuilds(AccessToken2) {
    const builds = { last: null }
    const originalBuild = AccessToken2.prototype.build
    AccessToken2.prototype.build = function () {
        builds.last = snapshot007(this)
        return originalBuild.call(this)
    }
    return builds
}

module.exports = { makeRng, hex32, wrongCerts, RANGES, poolText, privValue, uidArg, expect006, builderArgs, libraryService, randomAccessToken2, randomText, edgeU32, crc32Text, seedClock, recordBuilds }
