'use strict'
/* reference.js -- an independent reference implementation of docs/spec/diagnosis.md (contract v2).
 *
 * Design: written from the spec text (and checked against the public scenarios in
 * tests/vectors/v2), never from the C engine, so that the differential test in run.sh compares two
 * readings of the same contract. It is deliberately plain: one block per check of the table
 * "Checks, in precedence order" (13 rows, 5a included), a small strict decoder of its own for
 * "006"/"007" (the vendor libraries are lenient parsers -- they accept bad base64 and do not
 * classify zlib errors -- so they build the tokens in gen.js but do not judge them here), and the
 * hint/warning/repair/code rules as separate functions.
 *
 * Every check yields {status, hints}; status is pass, fail or skip ("every check runs where its
 * inputs allow": a check is skipped only when an input it compares does not exist). The cause is
 * the first failing check in precedence order -- table order for rtc; for rtm the expiry checks
 * (11, 12) come before 9 and 10 -- and the hints are the union of the hints of all failing checks.
 *
 * Where the spec is open, the most literal reading is taken and written down next to the code as
 * "READING:"; the README of the contract puts the engine's own choices in docs/decisions.md, which
 * this file deliberately does not consult.
 *
 * Exports: diagnose(request, project) -> {error} for a bad request, else
 *   {verdict, cause, code, name, also, hints, warnings, expires_at, repaired, signed_with, checks,
 *    at (the Unix time judged by), sdk_version};
 *   projectKey(app_id): the App ID a project is looked up by (the trimmed one for
 *   app_id_whitespace).
 */

const crypto = require('crypto')
const zlib = require('zlib')

// ---- Small helpers -----------------------------------------------------------------------------

const CRC_TABLE = (() => {
    const t = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
        let c = n
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
        t[n] = c >>> 0
    }
    return t
})()

function crc32(str) {
    const buf = Buffer.from(str, 'utf8')
    let c = 0xffffffff
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
}

function hmac(key, msg) {
    return crypto.createHmac('sha256', key).update(msg).digest()
}

function u32le(v) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v >>> 0)
    return b
}

const isHex32 = s => typeof s === 'string' && /^[0-9a-fA-F]{32}$/.test(s)
// A request string as the byte string the token fields are compared with.
const bin = s => Buffer.from(s, 'utf8').toString('latin1')
// ASCII-only case folding (bytes >= 0x80 are not letters here).
const asciiLower = s => s.replace(/[A-Z]/g, c => c.toLowerCase())
// C isspace(): the whitespace a token, App ID or channel can pick up from a shell, file or form.
const WS = ' \t\n\v\f\r'
const isWs = c => WS.includes(c)

function trimWs(s) {
    let a = 0
    let b = s.length
    while (a < b && isWs(s[a])) a++
    while (b > a && isWs(s[b - 1])) b--
    return s.slice(a, b)
}

const SAMPLE_APP_ID = '970CA35de60c44645bbae8a215061b33'
const SAMPLE_CERT = '5CFd2fd1755d40ecb72977518be15d3b'
const U32_MAX = 4294967295

// ---- Decoder -----------------------------------------------------------------------------------

class Short extends Error {}

// Bounds-checked little-endian reader; running past the end throws Short (-> hint truncated).
class Reader {
    constructor(buf) {
        this.buf = buf
        this.pos = 0
    }
    need(n) {
        if (this.pos + n > this.buf.length) throw new Short('short')
    }
    u16() {
        this.need(2)
        const v = this.buf.readUInt16LE(this.pos)
        this.pos += 2
        return v
    }
    u32() {
        this.need(4)
        const v = this.buf.readUInt32LE(this.pos)
        this.pos += 4
        return v
    }
    bytes() {
        const n = this.u16()
        this.need(n)
        const v = this.buf.subarray(this.pos, this.pos + n)
        this.pos += n
        return v
    }
    // Text fields are kept as byte strings (one char per byte, 'latin1'): the engine compares
    // bytes, so the reference must not let a UTF-8 decoder merge or replace anything.
    str() {
        return this.bytes().toString('latin1')
    }
    privs() {
        const n = this.u16()
        const out = []
        for (let i = 0; i < n; i++) {
            const id = this.u16()
            out.push({ id, value: this.u32() })
        }
        return out
    }
}

const B64 = /^[A-Za-z0-9+/=]*$/

// Strict base64: alphabet, length a multiple of 4, '=' only as 1-2 final pad characters.
// Returns {buf} or {hint}.
function b64decode(s) {
    if (!B64.test(s)) return { hint: 'not_base64' }
    if (s.length % 4 !== 0) return { hint: 'truncated' }
    const pad = s.match(/=*$/)[0].length
    // '=' anywhere but as the final padding is not base64 (the engine's reading; not in the spec)
    if (pad > 2 || s.slice(0, s.length - pad).includes('=')) return { hint: 'not_base64' }
    return { buf: Buffer.from(s, 'base64') }
}

function parse007Content(buf) {
    const r = new Reader(buf)
    const signature = r.bytes()
    const infoStart = r.pos
    const app_id = r.str()
    const issue_ts = r.u32()
    const expire = r.u32()
    const salt = r.u32()
    const count = r.u16()
    const services = []
    for (let i = 0; i < count; i++) {
        const type = r.u16()
        if (type < 1 || type > 10) {
            services.push({ type, name: 'unknown', privileges: [] })
            break
        }
        const s = { type, privileges: r.privs() }
        if (type === 1) {
            s.channel = r.str()
            s.uid = r.str()
        } else if (type === 2 || type === 5) {
            s.user_id = r.str()
        } else if (type === 3 || type === 6) {
            s.channel = r.str()
            s.account = r.str()
        } else if (type === 7) {
            r.str()
            r.str()
            r.need(2)
            r.pos += 2
        } else if (type === 8) {
            s.user_id = r.str()
            const nrt = r.u16()
            for (let a = 0; a < nrt; a++) {
                r.u16()
                const np = r.u16()
                for (let b = 0; b < np; b++) {
                    r.u16()
                    const nr = r.u16()
                    for (let c = 0; c < nr; c++) r.bytes()
                }
            }
        }
        services.push(s)
    }
    return {
        version: '007',
        signature,
        signing_info: buf.subarray(infoStart),
        app_id,
        issue_ts,
        expire,
        salt,
        services,
    }
}

function decode007(body) {
    const b = b64decode(body)
    if (b.hint) return { hint: b.hint }
    let content
    try {
        content = zlib.inflateSync(b.buf)
    } catch (e) {
        // Z_BUF_ERROR: the stream ends before its end marker; anything else is bad data.
        return { hint: e.code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupted' }
    }
    try {
        return { token: parse007Content(content) }
    } catch (e) {
        if (e instanceof Short) return { hint: 'truncated' }
        throw e
    }
}

function decode006(text) {
    const rest = bin(text) // the App ID part is 32 bytes, not 32 characters
    if (rest.length < 32) return { hint: B64.test(rest) ? 'truncated' : 'not_base64' }
    const app_id = rest.slice(0, 32)
    const b = b64decode(rest.slice(32))
    if (b.hint) return { hint: b.hint }
    try {
        const r = new Reader(b.buf)
        const signature = r.bytes()
        const crc_channel = r.u32()
        const crc_uid = r.u32()
        const m = r.bytes()
        const mr = new Reader(m)
        const salt = mr.u32()
        const ts = mr.u32()
        const privileges = mr.privs()
        return { token: { version: '006', app_id, signature, crc_channel, crc_uid, m, salt, ts, privileges } }
    } catch (e) {
        if (e instanceof Short) return { hint: 'truncated' }
        throw e
    }
}

// ---- Token text: the mechanical hints and the repair -------------------------------------------

const QUOTE = c => c === '"' || c === "'"
const AUTH_PREFIXES = ['Bearer ', 'token=']
const PERCENT_HINT = /%(2B|2F|3D)/i

// "%XX" escapes decoded to their bytes (a byte string, like bin()); others left as they are.
const percentDecode = s => s.replace(/%([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))

// The cleaning steps of "Repair", in their order, each step's effect recorded for the hints
// (which name the same steps: whitespace, quoted, auth_prefix, json_escaped, percent_encoded and
// url_decoded). Returns the text after every step but the last (spaces still in) and the flags.
function clean(raw) {
    const whitespace = raw.length > 0 && (isWs(raw[0]) || isWs(raw[raw.length - 1]))
    let t = trimWs(raw)
    const quoted = t.length >= 2 && QUOTE(t[0]) && t[t.length - 1] === t[0]
    if (quoted) t = trimWs(t.slice(1, -1))
    const prefix = AUTH_PREFIXES.find(p => t.startsWith(p))
    if (prefix) t = t.slice(prefix.length)
    // READING: json_escaped and percent_encoded look at the token as given ("it contains"); the
    // repair replaces/decodes in the text the earlier steps left, which contains the same escapes.
    const jsonEscaped = raw.includes('\\/')
    t = t.split('\\/').join('/')
    const percentEncoded = PERCENT_HINT.test(raw)
    // (decoded as bytes; back to text as UTF-8, which every byte of a real token is)
    if (/%[0-9A-Fa-f]{2}/.test(t)) t = Buffer.from(percentDecode(bin(t)), 'latin1').toString('utf8')
    return { text: t, whitespace, quoted, authPrefix: !!prefix, jsonEscaped, percentEncoded }
}

// Decodes the token exactly as given. Returns {token} or {hints:[...]} (malformed).
function decodeToken(raw) {
    // "no other token-text hint then"
    if (isHex32(raw)) return { hints: ['app_id_as_token'] }
    const c = clean(raw)
    // The version is read from the token as given (literal: "the token starts with"). READING:
    // the spec exempts an unknown prefix from unsupported_version when whitespace or quoted
    // applies; the scenarios (`token=007...` has auth_prefix alone) extend that to auth_prefix,
    // the third step that puts characters in front of the version.
    const prefix = raw.slice(0, 3)
    let res
    if (prefix === '007') res = decode007(raw.slice(3))
    else if (prefix === '006') res = decode006(raw.slice(3))
    else if (/^00[1-5]/.test(raw)) res = { hint: 'legacy_version' }
    else res = { hint: c.whitespace || c.quoted || c.authPrefix ? null : 'unsupported_version' }
    if (res.token) return res
    // READING: `hello world` "is not" url_decoded although "hello+world" is in the base64
    // alphabet; the one thing that sets it apart is that unsupported_version (listed above
    // url_decoded) applies to it, so that hint takes the text's explanation: a token with an
    // unknown prefix is not called url_decoded (a legacy "005" one still is).
    const urlDecoded =
        c.text.includes(' ') && B64.test(c.text.replace(/ /g, '+')) && res.hint !== 'unsupported_version'
    const hints = []
    if (c.whitespace) hints.push('whitespace')
    if (c.quoted) hints.push('quoted')
    if (c.authPrefix) hints.push('auth_prefix')
    if (c.jsonEscaped) hints.push('json_escaped')
    if (c.percentEncoded) hints.push('percent_encoded')
    if (urlDecoded) hints.push('url_decoded')
    // not_base64: "none of the token-text hints above applies" (legacy/unsupported cannot come
    // with it: they are only given for prefixes that are never base64-decoded)
    if (res.hint === 'not_base64' && hints.length) res.hint = null
    if (res.hint) hints.push(res.hint)
    return { hints }
}

// The repaired token: every cleaning step, spaces replaced by '+' last; null when it is the
// token itself or does not decode.
function repairText(raw) {
    const t = clean(raw).text.replace(/ /g, '+')
    if (t === raw || t === '' || !decodeToken(t).token) return null
    return t
}

// ---- Request -----------------------------------------------------------------------------------

const PLATFORMS = {
    native: 'native',
    android: 'native',
    windows: 'native',
    linux: 'native',
    unity: 'native',
    electron: 'native',
    flutter: 'native',
    'react-native': 'native',
    cocos: 'native',
    objc: 'objc',
    ios: 'objc',
    macos: 'objc',
    web: 'web',
}

// "MAJOR.MINOR or MAJOR.MINOR.PATCH, a leading v allowed"; each number 1 to 4 digits (the
// contract's bound, so that no comparison overflows), leading zeros allowed (READING: "1 to 4
// digits" says nothing against them). Only a lowercase v.
const SDK_VERSION = /^v?([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,4}))?$/

function parseSdk(s) {
    const m = SDK_VERSION.exec(s)
    if (!m) return null
    return [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])]
}

const cmpVer = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]

// `at` as an ISO-8601 UTC time. READING: the one form the spec shows, YYYY-MM-DDTHH:MM:SSZ, with
// a real calendar date; anything else (offsets, fractions, a lowercase z) is a bad request.
function parseIsoAt(s) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s)
    if (!m) return null
    const [y, mo, d, h, mi, se] = m.slice(1).map(Number)
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return null
    const ms = Date.UTC(y, mo - 1, d, h, mi, se)
    if (new Date(ms).getUTCDate() !== d) return null // 31 April, 30 February
    return ms / 1000
}

// Validates and normalises the inputs; returns {error: field} for a bad request.
function normalise(req) {
    if (typeof req.app_id !== 'string') return { error: 'app_id' }
    const service = req.service === undefined ? 'rtc' : req.service
    if (service !== 'rtc' && service !== 'rtm') return { error: 'service' }
    const role = req.role === undefined ? 'publisher' : req.role
    if (role !== 'publisher' && role !== 'subscriber') return { error: 'role' }
    const platformIn = req.platform === undefined ? 'native' : req.platform
    // aliases are matched ignoring case ("iOS"): the engine's extension, harmless
    const named = typeof platformIn === 'string' ? platformIn.toLowerCase() : undefined
    const platform = named === undefined ? undefined : PLATFORMS[named]
    if (!platform) return { error: 'platform' }
    if (req.uid !== undefined && req.account !== undefined) return { error: 'uid' }
    if (req.uid !== undefined && !(Number.isInteger(req.uid) && req.uid >= 0 && req.uid <= U32_MAX))
        return { error: 'uid' }
    if (req.account !== undefined && (typeof req.account !== 'string' || Buffer.byteLength(req.account) > 255))
        return { error: 'account' }
    if (service === 'rtc' && (typeof req.channel !== 'string' || req.channel === '')) return { error: 'channel' }
    if (req.channel !== undefined && typeof req.channel !== 'string') return { error: 'channel' }
    if (req.token !== undefined && req.token !== null && typeof req.token !== 'string') return { error: 'token' }
    if (req.at === undefined) throw new Error('reference needs an explicit at')
    let at = req.at
    if (typeof at === 'string') at = parseIsoAt(at)
    if (!(Number.isInteger(at) && at >= 0 && at <= U32_MAX)) return { error: 'at' }
    // READING: `"sdk_version": null` is absent (as a null token is no token); any other
    // non-string is a wrong type.
    let sdk = null
    if (req.sdk_version !== undefined && req.sdk_version !== null) {
        if (typeof req.sdk_version !== 'string') return { error: 'sdk_version' }
        sdk = parseSdk(req.sdk_version)
        if (!sdk) return { error: 'sdk_version' }
    }
    const uid = req.uid === undefined ? 0 : req.uid
    const uidText = req.account !== undefined ? req.account : uid === 0 ? '' : String(uid)
    const userId = req.account !== undefined ? req.account : String(uid)
    const token = req.token === undefined || req.token === null ? '' : req.token
    return {
        token,
        app_id: req.app_id,
        service,
        channel: req.channel,
        byUid: req.account === undefined,
        uid,
        uidText,
        userId,
        role,
        platform,
        named,
        at,
        sdk,
        sdkText: sdk ? req.sdk_version : null,
    }
}

// The App ID the project is looked up by: "the project is then looked up by the trimmed App ID"
// (app_id_whitespace); otherwise exactly the request's App ID.
function projectKey(appId) {
    if (typeof appId !== 'string') return appId
    const t = trimWs(appId)
    return !isHex32(appId) && isHex32(t) ? t : appId
}

// ---- Project -----------------------------------------------------------------------------------

function certsOf(project) {
    const enabled = []
    const disabled = []
    for (const slot of ['primary', 'secondary']) {
        const c = project[slot]
        if (!c) continue
        ;(c.enabled ? enabled : disabled).push({ slot, cert: c.certificate })
    }
    // READING: a certificate that is the primary or secondary is current, not retired; the store
    // un-retires it, and the engine reads a project file the same way.
    const current = [...enabled, ...disabled].map(c => c.cert)
    const retired = (project.retired_certificates || []).filter(c => !current.includes(c))
    return { enabled, disabled, retired }
}

// ---- Signature ---------------------------------------------------------------------------------

function verify007(tok, cert) {
    let k = hmac(u32le(tok.issue_ts), cert)
    k = hmac(u32le(tok.salt), k)
    const sig = hmac(k, tok.signing_info)
    return sig.length === tok.signature.length && crypto.timingSafeEqual(sig, tok.signature)
}

function verify006(tok, cert, channel, uid) {
    const msg = Buffer.concat([Buffer.from(tok.app_id, 'latin1'), Buffer.from(channel), Buffer.from(uid), tok.m])
    const sig = hmac(cert, msg)
    return sig.length === tok.signature.length && crypto.timingSafeEqual(sig, tok.signature)
}

// ---- Expiry ------------------------------------------------------------------------------------

function tokenExpiry(tok) {
    if (tok.version === '006') return tok.ts
    const L = tok.expire === 0 || tok.expire > 86400 ? 86400 : tok.expire
    return tok.issue_ts + L
}

// Expiry of one privilege value, capped at the token expiry; null = no limit of its own.
function privilegeExpiry(tok, value) {
    if (value === 0) return null
    const te = tokenExpiry(tok)
    const pe = tok.version === '006' ? value : tok.issue_ts + value
    return Math.min(pe, te)
}

// ---- The client's SDK (check 5a) ---------------------------------------------------------------

// The first SDK of each kind that reads AccessToken2, by the platform as the request names it
// (before aliasing). rtc: none is fixed for Cocos (never 5a).
const RTC_FIRST_007 = { web: [4, 8, 0], flutter: [4, 2, 0], cocos: null }
const RTC_FIRST_007_OTHERS = [3, 5, 2]
// READING: rtm names only "1.5.0 (web 1.4.6)"; the Cocos exception is written for the RTC SDK
// alone, so an RTM login named cocos has the native threshold.
const RTM_FIRST_007 = { web: [1, 4, 6] }
const RTM_FIRST_007_OTHERS = [1, 5, 0]

function firstReader007(r) {
    if (r.service === 'rtc') return r.named in RTC_FIRST_007 ? RTC_FIRST_007[r.named] : RTC_FIRST_007_OTHERS
    return r.named in RTM_FIRST_007 ? RTM_FIRST_007[r.named] : RTM_FIRST_007_OTHERS
}

// ---- Error codes -------------------------------------------------------------------------------

// [code, name] per cause class and platform, from "Error codes by platform" and "The client's SDK".
const RTC_CODES = {
    native: {
        app: [101, 'ERR_INVALID_APP_ID'],
        channel: [102, 'ERR_INVALID_CHANNEL_NAME'],
        required: [110, 'ERR_INVALID_TOKEN'],
        not_expected: [110, 'ERR_INVALID_TOKEN'],
        invalid: [110, 'ERR_INVALID_TOKEN'],
        expiry: [109, 'ERR_TOKEN_EXPIRED'],
    },
    objc: {
        app: [101, 'AgoraErrorCodeInvalidAppId'],
        channel: [102, 'AgoraErrorCodeInvalidChannelId'],
        required: [110, 'AgoraErrorCodeInvalidToken'],
        not_expected: [110, 'AgoraErrorCodeInvalidToken'],
        invalid: [110, 'AgoraErrorCodeInvalidToken'],
        expiry: [109, 'AgoraErrorCodeTokenExpired'],
    },
    web: {
        app: [101, 'ERR_INVALID_VENDOR_KEY'],
        channel: [null, 'INVALID_PARAMS'],
        required: [120, 'ERR_DYNAMIC_USE_STATIC_KEY'],
        not_expected: [119, 'ERR_STATIC_USE_DYNAMIC_KEY'],
        invalid: [110, 'ERR_NO_AUTHORIZED'],
        expiry: [109, 'ERR_DYNAMIC_KEY_TIMEOUT'],
    },
}
const RTM1_CODES = {
    native: {
        app: [4, 'LOGIN_ERR_INVALID_APP_ID'],
        invalid: [5, 'LOGIN_ERR_INVALID_TOKEN'],
        expiry: [6, 'LOGIN_ERR_TOKEN_EXPIRED'],
    },
    objc: {
        app: [4, 'AgoraRtmLoginErrorInvalidAppId'],
        invalid: [5, 'AgoraRtmLoginErrorInvalidToken'],
        expiry: [6, 'AgoraRtmLoginErrorTokenExpired'],
    },
    web: {
        app: [4, 'LOGIN_ERR_INVALID_APP_ID'],
        invalid: [5, 'LOGIN_ERR_INVALID_TOKEN'],
        expiry: [6, 'LOGIN_ERR_TOKEN_EXPIRED'],
    },
}
const RTM2_CODES = {
    app: [-10003, 'RTM_ERROR_INVALID_APP_ID'],
    mismatch: [-10016, 'RTM_ERROR_INCONSISTENT_APPID'],
    invalid: [-10005, 'RTM_ERROR_INVALID_TOKEN'],
    expiry: [-10009, 'RTM_ERROR_TOKEN_EXPIRED'],
}

const EXPIRY = new Set(['token_expired', 'privilege_expired'])

// {code, name, also: [{code, name}]} for a rejected diagnosis.
function errorFor(cause, r) {
    if (r.service === 'rtc') {
        const c = RTC_CODES[r.platform]
        let k = 'invalid'
        if (cause === 'app_id_malformed' || cause === 'token_version_unsupported') k = 'app'
        else if (cause === 'channel_name_invalid') k = 'channel'
        else if (cause === 'token_required') k = 'required'
        else if (cause === 'token_not_expected') k = 'not_expected'
        else if (EXPIRY.has(cause)) k = 'expiry'
        const also =
            k === 'expiry' && r.platform === 'web'
                ? [
                      { code: 118, name: 'ERR_DYNAMIC_KEY_EXPIRED' },
                      { code: 2, name: 'K_TIMESTAMP_EXPIRED' },
                  ]
                : []
        return { code: c[k][0], name: c[k][1], also }
    }
    // "An RTM SDK of major version 2 or later (Signaling 2.x) reports its own codes"
    if (r.sdk && r.sdk[0] >= 2) {
        let k = 'invalid'
        if (cause === 'app_id_malformed') k = 'app'
        else if (cause === 'app_id_mismatch') k = 'mismatch'
        else if (EXPIRY.has(cause)) k = 'expiry'
        return { code: RTM2_CODES[k][0], name: RTM2_CODES[k][1], also: [] }
    }
    const c = RTM1_CODES[r.platform]
    const k = cause === 'app_id_malformed' ? 'app' : EXPIRY.has(cause) ? 'expiry' : 'invalid'
    // READING: "`service_missing` also reported as 2 LOGIN_ERR_REJECTED" stands in the web column
    // of the RTM table only, so only the web answer lists it.
    const also = cause === 'service_missing' && r.platform === 'web' ? [{ code: 2, name: 'LOGIN_ERR_REJECTED' }] : []
    return { code: c[k][0], name: c[k][1], also }
}

// ---- The diagnosis -----------------------------------------------------------------------------

const CHECK_IDS = [
    'app_id_format',
    'channel_name',
    'token_present',
    'token_expected',
    'token_decodes',
    'token_version',
    'app_id_match',
    'service',
    'channel',
    'uid',
    'signature',
    'token_expiry',
    'privilege_expiry',
]

const CAUSES = [
    'app_id_malformed',
    'channel_name_invalid',
    'token_required',
    'token_not_expected',
    'token_malformed',
    'token_version_unsupported',
    'app_id_mismatch',
    'service_missing',
    'channel_mismatch',
    'uid_mismatch',
    'signature_invalid',
    'token_expired',
    'privilege_expired',
]
const I = Object.fromEntries(CHECK_IDS.map((id, i) => [id, i]))

// Precedence: table order; rtm logins judge expiry (11, 12) before the user id and signature.
const ORDER_RTC = CHECK_IDS.map((_, i) => i)
const ORDER_RTM = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 9, 10]

const CHANNEL_OK = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{}|~,]*$/

const pass = (hints = []) => ({ status: 'pass', hints })
const fail = (hints = []) => ({ status: 'fail', hints })
const skip = () => ({ status: 'skip', hints: [] })
const judged = (ok, hints = []) => (ok ? pass() : fail(hints))

const hasPriv = (s, id) => s.privileges.some(p => p.id === id)
const privValue = (list, id) => {
    const p = list.find(x => x.id === id)
    return p ? p.value : null
}
// A decimal uid text (no leading zero) above the SDK's unsigned 32-bit range.
const uidAboveRange = u => /^[1-9][0-9]*$/.test(u) && BigInt(u) > BigInt(U32_MAX)

// 006: the join by uid whose token was built for uid + k * 2^32, k in 1..1023.
function crcOfWrappedUid(uid, crc) {
    for (let k = 1n; k <= 1023n; k++) if (crc32(String(BigInt(uid) + k * 4294967296n)) === crc) return true
    return false
}

// The channel texts of a whitespace slip: the token's channel is the join's channel trimmed, or
// the join's channel is the token's trimmed. READING: "with surrounding whitespace removed from
// one side" -- one of the two sides (join or token), trimmed at both ends, as the 006 rule
// ("crc32 of the trimmed join channel") shows for the join's side.
function whitespaceSlip(tokenChannel, joinChannel) {
    const tj = trimWs(joinChannel)
    const tt = trimWs(tokenChannel)
    return (tj !== joinChannel && tokenChannel === tj) || (tt !== tokenChannel && tt === joinChannel)
}

// Checks 6-12 on a decoded token (slots I.app_id_match..I.privilege_expiry of `checks`).
// Returns what the rest of the diagnosis needs: signed_with, expires_at, the publish set.
function tokenChecks(tok, r, project, checks) {
    const rtc = r.service === 'rtc'
    const joinChannel = rtc ? bin(r.channel) : null
    // 6
    {
        const hints = []
        if (asciiLower(tok.app_id) === asciiLower(bin(r.app_id))) hints.push('app_id_case_differs')
        if (tok.app_id === SAMPLE_APP_ID) hints.push('sample_app_id')
        checks[I.app_id_match] = judged(tok.app_id === bin(r.app_id), hints)
    }
    let matched = null // 007: the service whose join/login privilege counts (checks 6-8)
    let countValue = null // value of the privilege that counts
    let sigRuns = true
    let sigChannel = null
    let sigUid = null
    if (tok.version === '007') {
        // 7
        const svc = rtc
            ? tok.services.filter(s => s.type === 1 && hasPriv(s, 1))
            : tok.services.filter(s => (s.type === 2 || s.type === 8) && hasPriv(s, 1))
        {
            const hints = []
            // built_for_rtc (007): "an rtc service and no rtm/rtm2 service"
            if (!rtc && tok.services.some(s => s.type === 1) && !tok.services.some(s => s.type === 2 || s.type === 8))
                hints.push('built_for_rtc')
            checks[I.service] = judged(svc.length > 0, hints)
        }
        if (rtc) {
            // 8. READING: with no rtc service holding privilege 1 there is no channel to compare
            // ("no such service"): skipped, the service check already failed.
            const ch = svc.filter(s => s.channel === joinChannel)
            if (!svc.length) checks[I.channel] = skip()
            else {
                const hints = []
                // READING: "a service's channel" -- one of the services check 8 looked at.
                if (svc.some(s => asciiLower(s.channel) === asciiLower(joinChannel))) hints.push('channel_case_differs')
                if (svc.some(s => whitespaceSlip(s.channel, joinChannel))) hints.push('channel_whitespace')
                checks[I.channel] = judged(ch.length > 0, hints)
            }
            // 9: "those with the join's channel when any has it, else all"
            const pool = ch.length ? ch : svc
            const u = pool.filter(s => s.uid === '' || s.uid === bin(r.uidText))
            if (!svc.length) checks[I.uid] = skip()
            else {
                const hints = []
                if (r.uidText === '') hints.push('join_uid_zero')
                if (pool.some(s => s.uid === '0')) hints.push('token_uid_zero_text')
                if (pool.some(s => uidAboveRange(s.uid))) hints.push('token_uid_out_of_range')
                checks[I.uid] = judged(u.length > 0, hints)
            }
            // "the service that matched checks 6-8". READING: that range is the v1 numbering
            // (service, channel, uid) left unchanged when row 2 was inserted; the scenarios
            // agree (a uid mismatch leaves the token expiry alone, s155, s610). So: a service
            // with the join's channel that the uid matches.
            matched = ch.length && u.length ? u[0] : null
        } else {
            checks[I.channel] = skip()
            const u = svc.filter(s => s.user_id === bin(r.userId))
            checks[I.uid] = svc.length ? judged(u.length > 0) : skip()
            // rtm: as for rtc, the service that passed the service and user id checks
            matched = u.length ? u[0] : null
        }
        if (matched) countValue = privValue(matched.privileges, 1)
    } else {
        const pid = rtc ? 1 : 1000
        countValue = privValue(tok.privileges, pid)
        if (rtc) {
            checks[I.service] = judged(countValue !== null)
            const chOk = crc32(r.channel) === tok.crc_channel
            {
                const hints = []
                const tj = trimWs(r.channel)
                if (tj !== r.channel && crc32(tj) === tok.crc_channel) hints.push('channel_whitespace')
                checks[I.channel] = judged(chOk, hints)
            }
            const uidOk = tok.crc_uid === 0 || tok.crc_uid === crc32(r.uidText)
            {
                const hints = []
                if (r.uidText === '') hints.push('join_uid_zero')
                if (tok.crc_uid === crc32('0')) hints.push('token_uid_zero_text')
                // READING: "the join is by uid (not account)": uid 0 included (text of 0 + k*2^32)
                if (r.byUid && crcOfWrappedUid(r.uid, tok.crc_uid)) hints.push('token_uid_out_of_range')
                checks[I.uid] = judged(uidOk, hints)
            }
            sigRuns = chOk && uidOk
            sigChannel = r.channel
            sigUid = tok.crc_uid === 0 ? '' : r.uidText
        } else {
            // 006 rtm: privilege 1000 is not required (rtm_login_privilege_missing, a warning)
            checks[I.service] = pass()
            checks[I.channel] = skip()
            const uOk = crc32(r.userId) === tok.crc_channel && tok.crc_uid === 0
            const hints = []
            if (privValue(tok.privileges, 1) !== null && countValue === null && crc32(r.userId) !== tok.crc_channel)
                hints.push('built_for_rtc')
            checks[I.uid] = judged(uOk, hints)
            sigRuns = uOk
            sigChannel = r.userId
            sigUid = ''
        }
    }
    // 10
    let signed_with = null
    const certs = project ? certsOf(project) : null
    if (!project || !certs.enabled.length || !sigRuns) {
        checks[I.signature] = skip()
    } else {
        // certificates are 32 ASCII bytes; an App ID stands in only when it is 32 bytes too
        const ver = (c, enc = 'utf8') => {
            const key = Buffer.from(c, enc)
            if (key.length !== 32) return false
            return tok.version === '007' ? verify007(tok, key) : verify006(tok, key, sigChannel, sigUid)
        }
        for (const e of certs.enabled) {
            if (ver(e.cert)) {
                signed_with = e.slot
                break
            }
        }
        if (signed_with) checks[I.signature] = pass()
        else {
            const hints = []
            // signed_with also names a disabled slot that verifies it (interfaces.md
            // "project.signed_with"; the hint says it is disabled)
            const dis = certs.disabled.find(d => ver(d.cert))
            if (dis) {
                hints.push('signed_with_disabled_certificate')
                signed_with = dis.slot
            }
            if (certs.retired.some(c => ver(c))) hints.push('signed_with_retired_certificate')
            // "the App ID used as the certificate": the join's or the token's own App ID
            if (ver(r.app_id) || ver(tok.app_id, 'latin1')) hints.push('signed_with_app_id')
            if (ver(SAMPLE_CERT)) hints.push('signed_with_sample_certificate')
            checks[I.signature] = fail(hints)
        }
    }
    // 11, 12
    const te = tokenExpiry(tok)
    checks[I.token_expiry] = judged(r.at < te)
    const pe = countValue === null ? null : privilegeExpiry(tok, countValue)
    if (countValue === null) checks[I.privilege_expiry] = skip()
    else {
        const expired = pe !== null && r.at >= pe
        const hints = []
        if (tok.version === '006' && countValue < 1000000000) hints.push('privilege_expire_looks_relative')
        if (countValue === 1 || countValue === 2 || countValue === 101) hints.push('privilege_expire_is_role')
        if (tok.version === '006' && countValue >= 1000000000 && countValue <= tok.ts - 86400)
            hints.push('expired_at_issue')
        checks[I.privilege_expiry] = judged(!expired, hints)
    }
    const expires_at = pe === null ? te : Math.min(te, pe)
    // The rtc service (or 006 token) whose publish privileges count for cohost_auth. READING: a
    // 006 token counts as a whole ("or the 006 token"), whether or not its CRCs match; a 007
    // token only through the service that matched checks 6-8.
    let publishSet = null
    if (rtc) publishSet = tok.version === '007' ? (matched ? matched.privileges : null) : tok.privileges
    return { signed_with, expires_at, publishSet }
}

function diagnoseNormalised(r, project, withRepair) {
    const checks = new Array(CHECK_IDS.length)
    const known = !!project
    const certs = known ? certsOf(project) : null
    const rtc = r.service === 'rtc'
    // "App ID as token": a token equal to the join's App ID, ignoring case, is no token.
    const appIdAsToken = r.token !== '' && isHex32(r.token) && asciiLower(r.token) === asciiLower(r.app_id)
    const hasToken = r.token !== '' && !appIdAsToken
    // 1
    {
        const t = trimWs(r.app_id)
        checks[I.app_id_format] = judged(isHex32(r.app_id), isHex32(t) ? ['app_id_whitespace'] : [])
    }
    // 2 (rtc only)
    checks[I.channel_name] = rtc
        ? judged(Buffer.byteLength(r.channel) < 64 && CHANNEL_OK.test(r.channel))
        : skip()
    // 3, 4
    if (hasToken) checks[I.token_present] = pass()
    else if (!known) checks[I.token_present] = skip()
    else checks[I.token_present] = judged(!(certs.enabled.length && !project.no_certificate))
    if (!hasToken || !known) checks[I.token_expected] = skip()
    else checks[I.token_expected] = judged(certs.enabled.length > 0)
    // 5
    let tok = null
    let malformed = false
    if (!hasToken) checks[I.token_decodes] = skip()
    else {
        const d = decodeToken(r.token)
        if (d.token) {
            tok = d.token
            checks[I.token_decodes] = pass()
        } else {
            malformed = true
            checks[I.token_decodes] = fail(d.hints)
        }
    }
    // 5a. READING: skipped without a decoded token, without an sdk_version, and for an SDK with
    // no known first AccessToken2 release (Cocos); a 006 token passes (every SDK reads 006).
    if (!tok) checks[I.token_version] = skip()
    else if (tok.version === '006') checks[I.token_version] = pass()
    else if (!r.sdk) checks[I.token_version] = skip()
    else {
        const first = firstReader007(r)
        checks[I.token_version] = first ? judged(cmpVer(r.sdk, first) >= 0) : skip()
    }
    // 6-12
    let tc = null
    if (tok) tc = tokenChecks(tok, r, project, checks)
    else for (let i = I.app_id_match; i < CHECK_IDS.length; i++) checks[i] = skip()

    let cause = null
    for (const i of rtc ? ORDER_RTC : ORDER_RTM) {
        if (checks[i].status === 'fail') {
            cause = CAUSES[i]
            break
        }
    }
    const hints = []
    const addHint = h => {
        if (!hints.includes(h)) hints.push(h)
    }
    for (const c of checks) if (c.status === 'fail') c.hints.forEach(addHint)
    // app_id_as_token: "with cause token_required, token_not_expected, token_malformed, or none"
    // -- READING: given whenever the token is 32 hex characters, whatever the cause (the
    // scenarios show it next to channel_name_invalid).
    if (appIdAsToken) addHint('app_id_as_token')
    // sample_app_id with project_unknown: the join's App ID is the samples' one and no project
    // has it (the project_unknown warning; the scenarios give it whatever the cause).
    if (!known && r.app_id === SAMPLE_APP_ID) addHint('sample_app_id')
    let verdict
    if (cause) {
        const projectBound =
            cause === 'token_required' || cause === 'token_not_expected' || cause === 'signature_invalid'
        verdict = known || !projectBound ? 'rejected' : 'unverifiable'
    } else if (known) {
        verdict = 'joinable'
        cause = hasToken ? 'ok' : 'ok_app_id_only'
    } else {
        verdict = 'unverifiable'
        cause = 'project_unknown'
    }
    const expires_at = tok ? tc.expires_at : null
    // Warnings.
    const warnings = []
    if (!known) warnings.push('project_unknown')
    if (expires_at !== null && expires_at - r.at > 0 && expires_at - r.at <= 30) warnings.push('expires_soon')
    if (tok && tok.version === '007') {
        if (tok.expire > 86400) warnings.push('lifetime_over_24h')
        if (tok.expire >= 1000000000) warnings.push('expire_looks_absolute')
        if (tok.issue_ts > r.at + 300) warnings.push('issued_in_future')
    }
    // READING: "that otherwise passes" -- no check fails (the answer is ok or project_unknown).
    if (tok && tok.version === '006' && !rtc && privValue(tok.privileges, 1000) === null && verdict !== 'rejected')
        warnings.push('rtm_login_privilege_missing')
    if (
        known &&
        project.cohost_auth &&
        r.role === 'publisher' &&
        tok &&
        tc.publishSet &&
        checks[I.service].status === 'pass'
    ) {
        if (!tc.publishSet.some(p => p.id >= 2 && p.id <= 4)) warnings.push('publish_privilege_missing')
    }
    // Repair: tried whenever the token does not decode; reported when cleaning changes it into
    // a token that decodes.
    let repaired = null
    if (withRepair && malformed) {
        const t = repairText(r.token)
        if (t !== null) {
            const d = diagnoseNormalised({ ...r, token: t }, project, false)
            repaired = { token: t, verdict: d.verdict, cause: d.cause }
        }
    }
    const error = verdict === 'rejected' ? errorFor(cause, r) : null
    return {
        verdict,
        cause,
        code: error ? error.code : null,
        name: error ? error.name : null,
        also: error ? error.also : [],
        hints,
        warnings,
        expires_at,
        repaired,
        signed_with: tc ? tc.signed_with : null,
        checks: checks.map((c, i) => ({ id: CHECK_IDS[i], status: c.status })),
        at: r.at,
        sdk_version: r.sdkText,
    }
}

// `projects`: one configuration, null, or a lookup function app_id -> configuration|null.
function diagnose(req, projects) {
    const r = normalise(req)
    if (r.error) return { error: r.error }
    const key = projectKey(r.app_id)
    let project = null
    if (typeof projects === 'function') project = projects(key) || null
    else if (projects && projects.app_id === key) project = projects
    return diagnoseNormalised(r, project, true)
}

module.exports = { diagnose, decodeToken, projectKey, crc32, CHECK_IDS, PLATFORMS, SAMPLE_APP_ID, SAMPLE_CERT }
