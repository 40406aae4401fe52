'use strict'
/* gen.js -- builds random tokens with the vendor npm libraries and writes what a decoder must see.
 *
 * Usage: node gen.js OUT.jsonl SEED COUNT [SEED COUNT ...]
 *
 * Design: the libraries are the ground truth, so the expectation of every token is read from the
 * library's own objects at the moment it serialises them (a hook on AccessToken2.prototype.build
 * snapshots appId, issueTs, expire, salt and every service's fields), not re-derived from our
 * understanding of the format. Two families per seed:
 *   - direct AccessToken2 / AccessToken use with random services of every type the library
 *     offers (1..10), random privileges (named and unnamed ids), edge values (0, 2^32-1), rtm2
 *     permissions, duplicate service types and now and then an unknown service type (a custom
 *     Service subclass), and random channel/uid/account text including unicode and NUL;
 *   - the libraries' high-level builders (RtcTokenBuilder, RtmTokenBuilder, Chat, Apaas, Fpa,
 *     Education, ConvoAI, Stt; 006 RtcTokenBuilder/RtmTokenBuilder) as users call them.
 * The libraries draw their salt from Math.random and their issue time from Date: both are
 * replaced by seeded stand-ins so a seed reproduces the same tokens byte for byte.
 *
 * Each output line: {id, builder, token, certificate, wrong_certificates, expect, signed?,
 * tampered?, tampered_any?}. `tampered` is the same token with one bit flipped in a signed
 * integer field and the signature left alone: it must still decode but must no longer verify.
 * `tampered_any` has one bit flipped anywhere the signature covers: it may fail to decode, but
 * if it decodes it must not verify.
 */

const fs = require('fs')
const zlib = require('zlib')
const { makeRng, hex32, privValue, uidArg, expect006, builderArgs, libraryService, wrongCerts, randomText, randomAccessToken2, edgeU32, seedClock, recordBuilds } = require('./common')

// The libraries draw from a seeded clock (common.js), installed before they are loaded.
const clock = seedClock()

const at2 = require('agora-token/src/AccessToken2')
const agoraToken = require('agora-token')
const at006a = require('agora-access-token/src/AccessToken')
const at006b = require('agora-token/src/AccessToken')
const accessToken006 = require('agora-access-token')

const { AccessToken2, Service, Rtm2Permissions } = at2

// What each AccessToken2 build serialises (common.js: recordBuilds).
const builds = recordBuilds(AccessToken2)

// A service type the decoder does not know, with an opaque payload after its privileges.
class UnknownService extends Service {
    constructor(type, payload) {
        super(type)
        this.payload = payload
    }
    pack() {
        return Buffer.concat([super.pack(), this.payload])
    }
}

// ---- Random 007 content --------------------------------------------------------------------

const NAMED_PRIVS = { 1: [1, 2, 3, 4], 2: [1], 3: [1, 2], 4: [1], 5: [1, 2], 6: [1, 2], 7: [1, 2, 3], 8: [1] }

function addRandomPrivileges(rng, service, type, budget) {
    const named = NAMED_PRIVS[type] || []
    let n = 0
    for (const id of named) {
        if (n < budget.privs && rng.chance(0.7)) {
            service.add_privilege(id, privValue(rng))
            n++
        }
    }
    // Ids without a name (and for convoai/stt, which define none): reported by number.
    const extra = rng.chance(0.15) ? rng.int(1, 3) : 0
    for (let i = 0; i < extra && n < budget.privs; i++) {
        service.add_privilege(rng.pick([0, 5, 7, 100, 1000, 65535, rng.int(0, 65535)]), privValue(rng))
        n++
    }
    budget.privs -= Object.keys(service.__privileges).length
}

function randomPermissions(rng, budget) {
    const perms = new Rtm2Permissions()
    const ntypes = rng.int(0, 4)
    for (let i = 0; i < ntypes && budget.perms > 0; i++) {
        // Mostly the five named resource types; sometimes one without a name.
        const rt = rng.chance(0.9) ? rng.int(0, 4) : rng.int(5, 65535)
        const nperm = rng.int(1, 2)
        for (let j = 0; j < nperm && budget.perms > 0; j++) {
            const pt = rng.chance(0.9) ? rng.int(0, 1) : rng.int(2, 65535)
            const nres = Math.min(rng.int(0, 4), budget.res)
            const res = []
            for (let k = 0; k < nres; k++) res.push(randomText(rng, 16))
            budget.res -= nres
            const before = perms.details[rt] && perms.details[rt][pt] ? 0 : 1
            perms.add(rt, pt, res)
            budget.perms -= before
        }
    }
    return perms
}

function randomService(rng, type, budget) {
    const t = (max = 32) => randomText(rng, max)
    const s = libraryService(rng, at2, type, t, 64, () => uidArg(rng, randomText), () => randomPermissions(rng, budget))
    addRandomPrivileges(rng, s, type, budget)
    return s
}

function randomUnknownService(rng) {
    // 0 sorts first (nothing after it is readable); 11.. sort after every known type.
    const type = rng.chance(0.2) ? 0 : rng.pick([11, 12, 100, 1000, 65535, rng.int(11, 65535)])
    const payload = Buffer.alloc(rng.int(0, 40))
    for (let i = 0; i < payload.length; i++) payload[i] = rng.int(0, 255)
    const s = new UnknownService(type, payload)
    if (rng.chance(0.5)) s.add_privilege(1, privValue(rng))
    return s
}

function direct007(rng) {
    const { tok, cert } = randomAccessToken2(rng, AccessToken2, () =>
        rng.pick([0, 60, 3600, 86400, rng.int(1, 30 * 86400)]))
    const r = rng.next()
    const count = r < 0.6 ? rng.int(1, 3) : r < 0.95 ? rng.int(4, 10) : rng.int(11, 31)
    const budget = { privs: 250, perms: 120, res: 500 }
    for (let i = 0; i < count; i++) tok.add_service(randomService(rng, rng.int(1, 10), budget))
    if (rng.chance(0.06)) tok.add_service(randomUnknownService(rng))
    return { token: tok.build(), cert, builder: 'agora-token@2.0.6 AccessToken2' }
}

// ---- High-level 007 builders ---------------------------------------------------------------

function builder007(rng) {
    const B = agoraToken
    const { appId, cert, ch, acct, exp, role } = builderArgs(rng, B, randomText, 48, [0, 600, 3600, 86400])
    const calls = [
        ['RtcTokenBuilder.buildTokenWithUid', () =>
            B.RtcTokenBuilder.buildTokenWithUid(appId, cert, ch(), rng.int(0, 0xffffffff), role(), exp(), exp())],
        ['RtcTokenBuilder.buildTokenWithUserAccount', () =>
            B.RtcTokenBuilder.buildTokenWithUserAccount(appId, cert, ch(), acct(), role(), exp(), exp())],
        ['RtcTokenBuilder.buildTokenWithUidAndPrivilege', () =>
            B.RtcTokenBuilder.buildTokenWithUidAndPrivilege(appId, cert, ch(), rng.int(0, 0xffffffff),
                exp(), exp(), exp(), exp(), exp())],
        ['RtcTokenBuilder.BuildTokenWithUserAccountAndPrivilege', () =>
            B.RtcTokenBuilder.BuildTokenWithUserAccountAndPrivilege(appId, cert, ch(), acct(),
                exp(), exp(), exp(), exp(), exp())],
        ['RtcTokenBuilder.buildTokenWithRtm', () =>
            B.RtcTokenBuilder.buildTokenWithRtm(appId, cert, ch(), acct(), role(), exp(), exp())],
        ['RtcTokenBuilder.buildTokenWithRtm2', () =>
            B.RtcTokenBuilder.buildTokenWithRtm2(appId, cert, ch(), acct(), role(), exp(),
                exp(), exp(), exp(), exp(), acct(), exp())],
        ['RtmTokenBuilder.buildToken', () => B.RtmTokenBuilder.buildToken(appId, cert, acct(), exp())],
        ['RtmTokenBuilder.buildTokenWithPermissions', () =>
            B.RtmTokenBuilder.buildTokenWithPermissions(appId, cert, acct(),
                randomPermissions(rng, { perms: 20, res: 40 }), exp())],
        ['ChatTokenBuilder.buildUserToken', () => B.ChatTokenBuilder.buildUserToken(appId, cert, acct(), exp())],
        ['ChatTokenBuilder.buildAppToken', () => B.ChatTokenBuilder.buildAppToken(appId, cert, exp())],
        ['ApaasTokenBuilder.buildRoomUserToken', () =>
            B.ApaasTokenBuilder.buildRoomUserToken(appId, cert, acct(), acct(), rng.int(1, 3), exp())],
        ['ApaasTokenBuilder.buildUserToken', () => B.ApaasTokenBuilder.buildUserToken(appId, cert, acct(), exp())],
        ['ApaasTokenBuilder.buildAppToken', () => B.ApaasTokenBuilder.buildAppToken(appId, cert, exp())],
        ['EducationTokenBuilder.buildRoomUserToken', () =>
            B.EducationTokenBuilder.buildRoomUserToken(appId, cert, acct(), acct(), rng.int(1, 3), exp())],
        ['FpaTokenBuilder.buildToken', () => B.FpaTokenBuilder.buildToken(appId, cert)],
        ['ConvoAITokenBuilder.buildToken', () =>
            B.ConvoAITokenBuilder.buildToken(appId, cert, ch(), acct(), role(), exp(),
                exp(), exp(), exp(), exp(), acct(), exp())],
        ['SttTokenBuilder.buildToken', () =>
            B.SttTokenBuilder.buildToken(appId, cert, ch(), acct(), role(), exp(),
                exp(), exp(), exp(), exp(), acct(), exp())],
    ]
    const [name, call] = rng.pick(calls)
    return { token: call(), cert, builder: 'agora-token@2.0.6 ' + name }
}

// ---- 006 ----------------------------------------------------------------------------------

function direct006(rng) {
    const appId = hex32(rng)
    const cert = hex32(rng)
    const channel = randomText(rng, 64)
    const uidIn = uidArg(rng, randomText)
    const lib = rng.chance(0.5) ? at006a : at006b
    const tok = new lib.AccessToken(appId, cert, channel, uidIn)
    tok.salt = edgeU32(rng, () => rng.int(1, 99999999))
    tok.ts = edgeU32(rng, () => rng.int(1600000000, 1900000000))
    const ids = [1, 2, 3, 4, 101, 1000]
    for (const id of ids) {
        if (rng.chance(0.5)) tok.addPriviledge(id, edgeU32(rng, () => rng.int(1600000000, 1900000000)))
    }
    if (rng.chance(0.15)) tok.addPriviledge(rng.pick([5, 12, 0, 65535, rng.int(0, 65535)]), rng.u32())
    const token = tok.build()
    return {
        token,
        cert,
        builder: (lib === at006a ? 'agora-access-token@2.0.4' : 'agora-token@2.0.6') + ' AccessToken',
        expect: expect006(appId, tok.salt, tok.ts, tok.messages, channel, tok.uid),
        signed: { channel, uid: tok.uid },
    }
}

function builder006(rng) {
    const appId = hex32(rng)
    const cert = hex32(rng)
    const { RtcTokenBuilder, RtcRole, RtmTokenBuilder } = accessToken006
    const privTs = rng.pick([0, rng.int(1600000000, 1900000000)])
    const r = rng.next()
    if (r < 0.7) {
        const channel = randomText(rng, 64)
        const useUid = rng.chance(0.5)
        const uid = useUid ? rng.int(0, 0xffffffff) : randomText(rng, 24)
        const role = rng.pick([RtcRole.ATTENDEE, RtcRole.PUBLISHER, RtcRole.SUBSCRIBER, RtcRole.ADMIN])
        const token = useUid
            ? RtcTokenBuilder.buildTokenWithUid(appId, cert, channel, uid, role, privTs)
            : RtcTokenBuilder.buildTokenWithAccount(appId, cert, channel, uid, role, privTs)
        // The builder keeps its AccessToken in RtcTokenBuilder.key: read what it packed.
        const key = RtcTokenBuilder.key
        return {
            token,
            cert,
            builder:
                'agora-access-token@2.0.4 RtcTokenBuilder.' + (useUid ? 'buildTokenWithUid' : 'buildTokenWithAccount'),
            expect: expect006(appId, key.salt, key.ts, key.messages, channel, key.uid),
            signed: { channel, uid: key.uid },
        }
    }
    // RTM 006: the user id stands in the channel's place, the uid is empty.
    const account = randomText(rng, 32)
    const token = RtmTokenBuilder.buildToken(appId, cert, account, 1, privTs)
    const parsed = new at006b.AccessToken()
    if (!parsed.fromString(token)) throw new Error('agora-token cannot parse its own 006 token')
    return {
        token,
        cert,
        builder: 'agora-access-token@2.0.4 RtmTokenBuilder.buildToken',
        expect: expect006(appId, parsed.salt, parsed.ts, { 1000: privTs }, account, ''),
        signed: { channel: account, uid: '' },
    }
}

// ---- Tampering: one bit of a signed integer field, signature untouched -----------------------

function tamper007(rng, token) {
    const content = zlib.inflateSync(Buffer.from(token.slice(3), 'base64'))
    // content = string(signature) string(app_id) uint32 issue_ts uint32 expire uint32 salt ...
    const sigLen = content.readUInt16LE(0)
    const appLen = content.readUInt16LE(2 + sigLen)
    const fieldStart = 2 + sigLen + 2 + appLen
    const pos = fieldStart + rng.int(0, 11)
    content[pos] ^= 1 << rng.int(0, 7)
    return '007' + zlib.deflateSync(content).toString('base64')
}

// One bit flipped anywhere in what the signature covers (007: everything after the signature
// string; 006: the App ID text or the message m). The result may no longer decode; if it does,
// it must not verify.
function tamperAnywhere(rng, token) {
    if (token.startsWith('007')) {
        const content = zlib.inflateSync(Buffer.from(token.slice(3), 'base64'))
        const start = 2 + content.readUInt16LE(0)
        content[rng.int(start, content.length - 1)] ^= 1 << rng.int(0, 7)
        return '007' + zlib.deflateSync(content).toString('base64')
    }
    if (rng.chance(0.3)) {
        const i = rng.int(3, 34)
        const c = token[i] === '0' ? '1' : '0'
        return token.slice(0, i) + c + token.slice(i + 1)
    }
    const content = Buffer.from(token.slice(35), 'base64')
    const mStart = 2 + content.readUInt16LE(0) + 8 + 2
    content[rng.int(mStart, content.length - 1)] ^= 1 << rng.int(0, 7)
    return token.slice(0, 35) + content.toString('base64')
}

function tamper006(rng, token) {
    const content = Buffer.from(token.slice(35), 'base64')
    // content = string(signature) uint32 crc_channel uint32 crc_uid string(m); m = salt ts map
    const sigLen = content.readUInt16LE(0)
    const mStart = 2 + sigLen + 8 + 2
    const pos = mStart + rng.int(0, 7)
    content[pos] ^= 1 << rng.int(0, 7)
    return token.slice(0, 35) + content.toString('base64')
}

// ---- Main ----------------------------------------------------------------------------------

function generate(seed, count, out) {
    const rng = makeRng(seed)
    clock.rng = makeRng(seed ^ 0x5eed)
    let made = 0
    let attempts = 0
    while (made < count) {
        attempts++
        if (attempts > count * 3) throw new Error('too many oversize tokens')
        clock.ms = rng.int(1600000000, 1900000000) * 1000 + rng.int(0, 999)
        builds.last = null
        const r = rng.next()
        let item
        if (r < 0.55) item = direct007(rng)
        else if (r < 0.75) item = builder007(rng)
        else if (r < 0.9) item = direct006(rng)
        else item = builder006(rng)
        if (item.token.startsWith('007')) item.expect = builds.last
        if (!item.token || !item.expect) throw new Error('library built no token: ' + item.builder)
        // tokendoctor accepts token text up to 4096 bytes; longer is rejected by design.
        if (item.token.length > 4096) continue
        const line = {
            id: `s${seed}-${made}`,
            builder: item.builder,
            token: item.token,
            certificate: item.cert,
            wrong_certificates: wrongCerts(rng, item.cert),
            expect: item.expect,
        }
        if (item.signed) line.signed = item.signed
        if (rng.chance(0.3)) {
            line.tampered = item.token.startsWith('007') ? tamper007(rng, item.token) : tamper006(rng, item.token)
        }
        if (rng.chance(0.3)) line.tampered_any = tamperAnywhere(rng, item.token)
        out.push(JSON.stringify(line))
        made++
    }
}

function main() {
    const args = process.argv.slice(2)
    if (args.length < 3 || args.length % 2 !== 1) {
        console.error('usage: node gen.js OUT.jsonl SEED COUNT [SEED COUNT ...]')
        process.exit(64)
    }
    const out = []
    for (let i = 1; i < args.length; i += 2) generate(Number(args[i]) >>> 0, Number(args[i + 1]), out)
    fs.writeFileSync(args[0], out.join('\n') + '\n')
    console.log(`gen: ${out.length} library-built tokens written`)
}

main()
