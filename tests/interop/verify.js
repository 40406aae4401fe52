'use strict'
/* verify.js -- tokens minted by tokendoctor, judged by the vendor npm libraries' own code.
 *
 * Usage: node verify.js MINTED.jsonl [LIBRARY_BUILT.jsonl]
 *
 * Design: for every line that `interop_check mint` wrote (token, certificate, wrong
 * certificates, expect, and for 006 the signed channel/uid text):
 *   007  agora-token's AccessToken2.from_string must parse it, verifySignature(certificate) must
 *        be true and false for every wrong certificate, the parsed fields must equal `expect`,
 *        and re-building the parsed token with the library (same issue time, salt, services)
 *        must give the same content bytes as ours once inflated (the base64 text may differ:
 *        Node bundles its own zlib).
 *   006  neither 006 library has a verify method, so both parse it with fromString, and then
 *        their own builder re-signs the parsed message for the signed channel/uid: the token
 *        text must come out identical (006 is not compressed, so it is byte-exact), and with a
 *        wrong certificate it must not.
 * The optional second file (gen.js output) is parsed back by the same library code as a
 * self-check of the generator's expectations: if the snapshot taken at build time and the
 * library's own parse disagree, the generator -- not tokendoctor -- is wrong.
 *
 * Prints `verify: N passed, M failed` and exits 1 on any failure.
 */

const fs = require('fs')
const util = require('util')
const zlib = require('zlib')
const at2 = require('agora-token/src/AccessToken2')
const at006a = require('agora-access-token/src/AccessToken')
const at006b = require('agora-token/src/AccessToken')
const { crc32Text } = require('./common')

const { AccessToken2 } = at2

const text = v => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))
// The library reads apaas role with readUInt16LE although it writes it with writeInt16LE.
const int16 = v => (v << 16) >> 16

function privileges(map) {
    const out = {}
    for (const k of Object.keys(map)) out[k] = map[k] >>> 0
    return out
}

function permissions(perms) {
    const out = []
    for (const rt of Object.keys(perms.details).map(Number).sort((a, b) => a - b)) {
        for (const pt of Object.keys(perms.details[rt]).map(Number).sort((a, b) => a - b)) {
            out.push({ resource_type: rt, permission_type: pt, resources: perms.details[rt][pt].map(text) })
        }
    }
    return out
}

// A parsed library service in the `expect` shape.
function serviceView(s) {
    const type = s.service_type()
    const v = { type, privileges: privileges(s.__privileges) }
    switch (type) {
        case 1:
            return { ...v, channel: text(s.__channel_name), uid: text(s.__uid) }
        case 2:
        case 5:
            return { ...v, user_id: text(s.__user_id) }
        case 3:
        case 6:
            return { ...v, channel: text(s.__channel_name), account: text(s.__account) }
        case 7:
            return { ...v, room_uuid: text(s.__room_uuid), user_uuid: text(s.__user_uuid), role: int16(s.__role) }
        case 8:
            return { ...v, user_id: text(s.__user_id), permissions: permissions(s.__permissions) }
        default:
            return v
    }
}

function view007(tok) {
    return {
        version: '007',
        app_id: text(tok.appId),
        issue_ts: tok.issueTs,
        expire: tok.expire,
        salt: tok.salt,
        services: tok.services.map(serviceView),
    }
}

function firstDifference(want, got, path = '') {
    if (typeof want !== 'object' || want === null || typeof got !== 'object' || got === null) {
        if (util.isDeepStrictEqual(want, got)) return null
        return `${path || '.'}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`
    }
    const keys = new Set([...Object.keys(want), ...Object.keys(got)])
    for (const k of keys) {
        const d = firstDifference(want[k], got[k], `${path}.${k}`)
        if (d) return d
    }
    return null
}

// Rebuilds a parsed token with the library itself and returns its inflated content.
function rebuiltContent007(parsed, cert) {
    const tok = new AccessToken2(text(parsed.appId), cert, 1, parsed.expire)
    tok.issueTs = parsed.issueTs
    tok.salt = parsed.salt
    for (const s of parsed.services) {
        if (s.service_type() === 7) s.__role = int16(s.__role)
        tok.add_service(s)
    }
    const built = tok.build()
    if (!built) return null
    return zlib.inflateSync(Buffer.from(built.slice(3), 'base64'))
}

function check007(line) {
    const errors = []
    const tok = new AccessToken2()
    if (!tok.from_string(line.token)) return ['agora-token AccessToken2.from_string rejects it']
    if (!tok.verifySignature(line.certificate)) errors.push('verifySignature(certificate) is false')
    for (const w of line.wrong_certificates) {
        if (tok.verifySignature(w)) errors.push('verifySignature(wrong certificate) is true')
    }
    let want = line.expect
    const unknownAt = want.services.findIndex(s => s.unknown)
    if (unknownAt >= 0) {
        // The library silently stops at an unknown service; compare what precedes it.
        want = { ...want, services: want.services.slice(0, unknownAt) }
    }
    const d = firstDifference(want, view007(tok))
    if (d) errors.push('fields differ: ' + d)
    if (unknownAt < 0 && tok.services.length > 0) {
        const ours = zlib.inflateSync(Buffer.from(line.token.slice(3), 'base64'))
        const theirs = rebuiltContent007(tok, line.certificate)
        if (!theirs || !ours.equals(theirs)) errors.push('library re-build gives other content bytes')
    }
    return errors
}

function check006With(lib, name, line) {
    const errors = []
    const parsed = new lib.AccessToken()
    if (!parsed.fromString(line.token)) return [`${name} fromString rejects it`]
    const appId = line.token.substr(3, 32)
    const got = {
        version: '006',
        app_id: appId,
        salt: parsed.salt,
        ts: parsed.ts,
        crc_channel: parsed.crc_channel_name,
        crc_uid: parsed.crc_uid,
        privileges: privileges(parsed.messages),
    }
    const d = firstDifference(line.expect, got)
    if (d) errors.push(`${name} fields differ: ${d}`)
    if (got.crc_channel !== crc32Text(line.signed.channel) || got.crc_uid !== crc32Text(line.signed.uid)) {
        errors.push(`${name}: CRCs are not those of the signed channel/uid text`)
    }
    const resign = cert => {
        const t = new lib.AccessToken(appId, cert, line.signed.channel, line.signed.uid)
        t.salt = parsed.salt
        t.ts = parsed.ts
        t.messages = parsed.messages
        return t.build()
    }
    if (resign(line.certificate) !== line.token) {
        errors.push(`${name}: re-signing with the certificate gives another token`)
    }
    for (const w of line.wrong_certificates) {
        if (resign(w) === line.token) errors.push(`${name}: a wrong certificate gives the same signature`)
    }
    return errors
}

function check006(line) {
    return [
        ...check006With(at006a, 'agora-access-token', line),
        ...check006With(at006b, 'agora-token', line),
    ]
}

function verifyFile(path, tally) {
    const lines = fs.readFileSync(path, 'utf8').split('\n').filter(Boolean)
    for (const raw of lines) {
        const line = JSON.parse(raw)
        let errors
        try {
            errors = line.token.startsWith('006') ? check006(line) : check007(line)
        } catch (e) {
            errors = ['threw: ' + e.message]
        }
        if (errors.length === 0) {
            tally.passed++
        } else {
            tally.failed++
            if (tally.failed <= 20) console.error(`FAIL ${line.id} (${line.builder}): ${errors.join('; ')}`)
        }
    }
}

function main() {
    const files = process.argv.slice(2)
    if (files.length === 0) {
        console.error('usage: node verify.js MINTED.jsonl [LIBRARY_BUILT.jsonl]')
        process.exit(64)
    }
    const tally = { passed: 0, failed: 0 }
    for (const f of files) verifyFile(f, tally)
    console.log(`verify: ${tally.passed} passed, ${tally.failed} failed`)
    process.exit(tally.failed === 0 ? 0 : 1)
}

main()
