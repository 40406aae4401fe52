'use strict'
/* reference.js -- an independent reference implementation of shared/spec/diagnosis.md.
 *
 * Design: written from the spec text (and checked against the public scenarios), never from the C
 * engine, so that the differential test in run.sh compares two readings of the same contract. It
 * is deliberately plain: one function per check of the table "Checks, in precedence order", a
 * small strict decoder of its own for "006"/"007" (the vendor libraries are lenient parsers -- they
 * accept bad base64 and do not classify zlib errors -- so they build the tokens in gen.js but do
 * not judge them here), and the hint/warning/repair rules as separate functions.
 *
 * Every check yields {id, status, hints}; status is pass, fail or skip. The cause is the first
 * failing check; hints are the union of the hints of all failing checks (the public scenarios
 * show e.g. `quoted` next to cause `token_not_expected`).
 *
 * Exports: diagnose(request, project) -> {error} for a bad request, else
 *   {verdict, cause, code, also, hints, warnings, expires_at, repaired, signed_with, checks}.
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
// C isspace(): the whitespace a token can pick up from a shell, a file or a form.
const WS = ' \t\n\v\f\r'
const isWs = c => WS.includes(c)

function trimWs(s) {
    let a = 0
    let b = s.length
    while (a < b && isWs(s[a])) a++
    while (b > a && isWs(s[b - 1])) b--
    return s.slice(a, b)
}

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
            services.push({ type, name: 'unknown' })
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

// Decodes the token exactly as given. Returns {token} or {hints:[...]} (malformed).
function decodeToken(raw) {
    if (isHex32(raw)) return { hints: ['app_id_as_token'] }
    const hints = []
    const whitespace = raw.length > 0 && (isWs(raw[0]) || isWs(raw[raw.length - 1]))
    let t = trimWs(raw)
    const quoted = t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]
    if (quoted) t = trimWs(t.slice(1, -1))
    const urlDecoded = t.includes(' ')
    if (whitespace) hints.push('whitespace')
    if (quoted) hints.push('quoted')
    if (urlDecoded) hints.push('url_decoded')
    const mechanical = whitespace || quoted || urlDecoded
    const prefix = raw.slice(0, 3)
    let res
    if (prefix === '007') res = decode007(raw.slice(3))
    else if (prefix === '006') res = decode006(raw.slice(3))
    else if (/^00[1-5]/.test(raw)) res = { hint: 'legacy_version' }
    else res = { hint: whitespace || quoted ? null : 'unsupported_version' }
    if (res.token) return res
    if (res.hint === 'not_base64' && mechanical) res.hint = null
    if (res.hint) hints.push(res.hint)
    return { hints }
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

// Validates and normalises the inputs; returns {error: field} for a bad request.
function normalise(req) {
    if (typeof req.app_id !== 'string') return { error: 'app_id' }
    const service = req.service === undefined ? 'rtc' : req.service
    if (service !== 'rtc' && service !== 'rtm') return { error: 'service' }
    const role = req.role === undefined ? 'publisher' : req.role
    if (role !== 'publisher' && role !== 'subscriber') return { error: 'role' }
    const platformIn = req.platform === undefined ? 'native' : req.platform
    // aliases are matched ignoring case ("iOS"): the engine's extension, harmless
    const platform = typeof platformIn === 'string' ? PLATFORMS[platformIn.toLowerCase()] : undefined
    if (!platform) return { error: 'platform' }
    if (req.uid !== undefined && req.account !== undefined) return { error: 'uid' }
    if (req.uid !== undefined && !(Number.isInteger(req.uid) && req.uid >= 0 && req.uid <= 4294967295))
        return { error: 'uid' }
    if (req.account !== undefined && (typeof req.account !== 'string' || Buffer.byteLength(req.account) > 255))
        return { error: 'account' }
    if (service === 'rtc' && (typeof req.channel !== 'string' || req.channel === '')) return { error: 'channel' }
    const uid = req.uid === undefined ? 0 : req.uid
    const uidText = req.account !== undefined ? req.account : uid === 0 ? '' : String(uid)
    const userId = req.account !== undefined ? req.account : String(uid)
    const token = req.token === undefined || req.token === null ? '' : req.token
    return {
        token,
        app_id: req.app_id,
        service,
        channel: req.channel,
        uidText,
        userId,
        role,
        platform,
        at: req.at,
    }
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
    return { enabled, disabled, retired: project.retired_certificates || [] }
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

// ---- The diagnosis -----------------------------------------------------------------------------

const CHECK_IDS = [
    'app_id_format',
    'token_present',
    'token_expected',
    'token_decodes',
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
    'token_required',
    'token_not_expected',
    'token_malformed',
    'app_id_mismatch',
    'service_missing',
    'channel_mismatch',
    'uid_mismatch',
    'signature_invalid',
    'token_expired',
    'privilege_expired',
]

const CODES = {
    native: { expiry: 109, required: 110, not_expected: 110, invalid: 110, app: 101 },
    objc: { expiry: 109, required: 110, not_expected: 110, invalid: 110, app: 101 },
    web: { expiry: 109, required: 120, not_expected: 119, invalid: 110, app: 101 },
}

function codeFor(cause, platform) {
    const c = CODES[platform]
    if (cause === 'app_id_malformed') return c.app
    if (cause === 'token_required') return c.required
    if (cause === 'token_not_expected') return c.not_expected
    if (cause === 'token_expired' || cause === 'privilege_expired') return c.expiry
    return c.invalid
}

const CHANNEL_OK = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{}|~,]*$/

// Runs checks 5-11 on a decoded token; returns {checks, matched, signed_with, expires_at}.
function tokenChecks(tok, r, project) {
    const out = []
    const rtc = r.service === 'rtc'
    // 5
    if (tok.app_id === bin(r.app_id)) out.push({ status: 'pass', hints: [] })
    else
        out.push({
            status: 'fail',
            hints: asciiLower(tok.app_id) === asciiLower(bin(r.app_id)) ? ['app_id_case_differs'] : [],
        })
    let matched = null // 007: matched service; 006: true when crcs match
    let joinPrivValue = null // value of the privilege that counts
    let sigRuns = true
    let sigChannel = null
    let sigUid = null
    if (tok.version === '007') {
        const svc = rtc
            ? tok.services.filter(s => s.type === 1 && s.privileges.some(p => p.id === 1))
            : tok.services.filter(s => (s.type === 2 || s.type === 8) && s.privileges.some(p => p.id === 1))
        out.push({ status: svc.length ? 'pass' : 'fail', hints: [] })
        if (rtc) {
            const ch = svc.filter(s => s.channel === bin(r.channel))
            if (!svc.length) out.push({ status: 'skip', hints: [] })
            else out.push({ status: ch.length ? 'pass' : 'fail', hints: [] })
            const u = ch.filter(s => s.uid === '' || s.uid === bin(r.uidText))
            if (!ch.length) out.push({ status: 'skip', hints: [] })
            else
                out.push({
                    status: u.length ? 'pass' : 'fail',
                    hints: u.length || r.uidText !== '' ? [] : ['join_uid_zero'],
                })
            if (u.length) matched = u[0]
        } else {
            out.push({ status: 'skip', hints: [] })
            const u = svc.filter(s => s.user_id === bin(r.userId))
            if (!svc.length) out.push({ status: 'skip', hints: [] })
            else out.push({ status: u.length ? 'pass' : 'fail', hints: [] })
            if (u.length) matched = u[0]
        }
        if (matched) joinPrivValue = matched.privileges.find(p => p.id === 1).value
    } else {
        const pid = rtc ? 1 : 1000
        const p = tok.privileges.find(x => x.id === pid)
        out.push({ status: p ? 'pass' : 'fail', hints: [] })
        if (p) joinPrivValue = p.value
        let crcOk
        if (rtc) {
            const chOk = crc32(r.channel) === tok.crc_channel
            out.push({ status: chOk ? 'pass' : 'fail', hints: [] })
            const uidOk = tok.crc_uid === 0 || tok.crc_uid === crc32(r.uidText)
            out.push({
                status: uidOk ? 'pass' : 'fail',
                hints: uidOk || r.uidText !== '' ? [] : ['join_uid_zero'],
            })
            crcOk = chOk && uidOk
            sigChannel = r.channel
            sigUid = tok.crc_uid === 0 ? '' : r.uidText
        } else {
            out.push({ status: 'skip', hints: [] })
            const uOk = crc32(r.userId) === tok.crc_channel
            out.push({ status: uOk ? 'pass' : 'fail', hints: [] })
            crcOk = uOk && tok.crc_uid === 0
            sigChannel = r.userId
            sigUid = ''
        }
        sigRuns = crcOk
        matched = crcOk && p ? true : null
    }
    // 9
    let signed_with = null
    const certs = project ? certsOf(project) : null
    if (!project || !certs.enabled.length || !sigRuns) {
        out.push({ status: 'skip', hints: [] })
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
        if (signed_with) out.push({ status: 'pass', hints: [] })
        else {
            const hints = []
            // signed_with also names a disabled slot that verifies it (the engine's reading of
            // interfaces.md "project.signed_with"; the hint says it is disabled)
            const dis = certs.disabled.find(d => ver(d.cert))
            if (dis) {
                hints.push('signed_with_disabled_certificate')
                signed_with = dis.slot
            }
            if (certs.retired.some(c => ver(c))) hints.push('signed_with_retired_certificate')
            // "the App ID used as the certificate": the join's or the token's own App ID
            if (ver(r.app_id) || ver(tok.app_id, 'latin1')) hints.push('signed_with_app_id')
            out.push({ status: 'fail', hints })
        }
    }
    // 10, 11
    const te = tokenExpiry(tok)
    out.push({ status: r.at >= te ? 'fail' : 'pass', hints: [] })
    const pe = joinPrivValue === null ? null : privilegeExpiry(tok, joinPrivValue)
    if (joinPrivValue === null) out.push({ status: 'skip', hints: [] })
    else {
        const fail = pe !== null && r.at >= pe
        const hints =
            fail && tok.version === '006' && joinPrivValue < 1000000000 ? ['privilege_expire_looks_relative'] : []
        out.push({ status: fail ? 'fail' : 'pass', hints })
    }
    const expires_at = pe === null ? te : Math.min(te, pe)
    // The rtc service (or 006 token) whose publish privileges count for cohost_auth.
    let publishSet = null
    // diagnosis.md: "the matched rtc service (or 006 token)": a 006 token counts as a whole,
    // whether or not its CRCs match (the public scenarios do not decide this point).
    if (rtc) publishSet = tok.version === '007' ? (matched ? matched.privileges : null) : tok.privileges
    return { checks: out, signed_with, expires_at, publishSet }
}

function diagnoseNormalised(r, project, withRepair) {
    const checks = []
    const known = !!project
    const certs = known ? certsOf(project) : null
    const hasToken = r.token !== ''
    // 1
    checks.push({ status: isHex32(r.app_id) ? 'pass' : 'fail', hints: [] })
    // 2
    if (hasToken) checks.push({ status: 'pass', hints: [] })
    else if (!known) checks.push({ status: 'skip', hints: [] })
    else
        checks.push({
            status: certs.enabled.length && !project.no_certificate ? 'fail' : 'pass',
            hints: [],
        })
    // 3
    if (!hasToken || !known) checks.push({ status: 'skip', hints: [] })
    else checks.push({ status: certs.enabled.length ? 'pass' : 'fail', hints: [] })
    let tok = null
    let tc = null
    let malformedHints = null
    if (!hasToken) {
        checks.push({ status: 'skip', hints: [] })
    } else {
        const d = decodeToken(r.token)
        if (d.token) {
            tok = d.token
            checks.push({ status: 'pass', hints: [] })
        } else {
            malformedHints = d.hints
            checks.push({ status: 'fail', hints: d.hints })
        }
    }
    if (tok) {
        tc = tokenChecks(tok, r, project)
        checks.push(...tc.checks)
    } else {
        for (let i = 4; i < 11; i++) checks.push({ status: 'skip', hints: [] })
    }
    let cause = null
    for (let i = 0; i < checks.length; i++) {
        if (checks[i].status === 'fail') {
            cause = CAUSES[i]
            break
        }
    }
    const hints = []
    for (const c of checks) if (c.status === 'fail') for (const h of c.hints) if (!hints.includes(h)) hints.push(h)
    let verdict
    if (cause) verdict = 'rejected'
    else if (known) {
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
    if (r.service === 'rtc' && (Buffer.byteLength(r.channel) >= 64 || !CHANNEL_OK.test(r.channel)))
        warnings.push('channel_name_invalid')
    if (known && project.cohost_auth && r.role === 'publisher' && tok && tc.publishSet) {
        if (!tc.publishSet.some(p => p.id >= 2 && p.id <= 4)) warnings.push('publish_privilege_missing')
    }
    // Repair.
    let repaired = null
    if (withRepair && malformedHints) {
        let t = trimWs(r.token)
        if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) t = trimWs(t.slice(1, -1))
        t = t.replace(/ /g, '+')
        if (t !== r.token && t !== '' && decodeToken(t).token) {
            const d = diagnoseNormalised({ ...r, token: t }, project, false)
            repaired = { token: t, verdict: d.verdict, cause: d.cause }
        }
    }
    const code = verdict === 'rejected' ? codeFor(cause, r.platform) : null
    const also = code === 109 && r.platform === 'web' ? [118, 2] : []
    return {
        verdict,
        cause,
        code,
        also,
        hints,
        warnings,
        expires_at,
        repaired,
        signed_with: tc ? tc.signed_with : null,
        checks: checks.map((c, i) => ({ id: CHECK_IDS[i], status: c.status })),
    }
}

function diagnose(req, project) {
    const r = normalise(req)
    if (r.error) return { error: r.error }
    if (!Number.isInteger(r.at)) throw new Error('reference needs an explicit at')
    // A project is looked up by the request's exact App ID (interfaces.md: --project arrays).
    const known = project && project.app_id === r.app_id ? project : null
    return diagnoseNormalised(r, known, true)
}

module.exports = { diagnose, decodeToken, crc32, CHECK_IDS, PLATFORMS }
