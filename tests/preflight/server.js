'use strict'
/* server.js -- a small token server on loopback, built on the vendor's npm libraries, correct or
 * with one planted bug, for tokendoctor preflight's tests (run.sh).
 *
 *   node server.js --bug NAME --app-id ID --cert CERT [--other-cert CERT] [--require-auth VALUE]
 *
 * Prints "listening PORT" once it listens on 127.0.0.1 (an ephemeral port). Answers
 *   GET /token?channel=&uid=&account=&role=&expire=   ->  {"rtcToken": TOKEN}
 *   POST /token {"channel", "uid", "account", "role", "expire"} (the same)
 * with agora-token's RtcTokenBuilder (007), or agora-access-token's (006) for the bugs that only
 * a 006 builder can have. Each bug is what a real token server gets wrong, written the way it is
 * usually written:
 *   none            correct (007)             none006       correct (006)
 *   uid0-string     the uid passed as the query's string ("0" is an account)
 *   expiry-once     006, privilegeExpiredTs computed once at start-up
 *   expire-seconds  006, the requested seconds passed where a Unix time belongs
 *   expire-unix     007, now + seconds passed where seconds belong
 *   role-ignored    every token a publisher's
 *   plus-lost       the token through URL decoding ('+' becomes ' ')
 *   clock-ahead     the server's clock one hour ahead
 *   wrong-cert      signed with another project's certificate
 *   quotes          the token JSON-encoded twice ("\"007...\"")
 *   slash           the token's '/' escaped twice (\/ survives one JSON decoding)
 *   percent         the token percent-encoded
 *   hang            never answers a channel with punctuation
 *   error500        500 for uid 0
 *   html            an HTML page instead of JSON
 *   close           closes the connection for the 63-byte channel
 *   huge            a 1 MiB answer for uid 0
 *   trickle         a channel with spaces gets its answer one byte every half second
 *   garbage         bytes that are not HTTP, for every request
 */
const http = require('http')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1]
const bug = args.bug || 'none'
const appId = args['app-id']
const cert = bug === 'wrong-cert' ? args['other-cert'] : args.cert

if (bug === 'clock-ahead') {
    const RealDate = Date
    const ahead = 3600 * 1000
    global.Date = class extends RealDate {
        constructor(...a) {
            if (a.length) super(...a)
            else super(RealDate.now() + ahead)
        }
        static now() {
            return RealDate.now() + ahead
        }
    }
}

const v007 = require('agora-token')
const v006 = require('agora-access-token')
const uses006 = ['none006', 'expiry-once', 'expire-seconds'].includes(bug)
const startedAt = Math.floor(Date.now() / 1000)

function build(q) {
    const now = Math.floor(Date.now() / 1000)
    const expire = Number(q.get('expire') || 3600)
    const channel = q.get('channel')
    const account = q.get('account') || ''
    const uid = bug === 'uid0-string' ? q.get('uid') : Number(q.get('uid') || 0)
    if (uses006) {
        const B = v006.RtcTokenBuilder
        const role = q.get('role') === 'subscriber' ? v006.RtcRole.SUBSCRIBER : v006.RtcRole.PUBLISHER
        const ts =
            bug === 'expiry-once' ? startedAt + 3600 : bug === 'expire-seconds' ? expire : now + expire
        return account
            ? B.buildTokenWithAccount(appId, cert, channel, account, role, ts)
            : B.buildTokenWithUid(appId, cert, channel, uid, role, ts)
    }
    const B = v007.RtcTokenBuilder
    let role = q.get('role') === 'subscriber' ? v007.RtcRole.SUBSCRIBER : v007.RtcRole.PUBLISHER
    if (bug === 'role-ignored') role = v007.RtcRole.PUBLISHER
    const lifetime = bug === 'expire-unix' ? now + expire : expire
    return account
        ? B.buildTokenWithUserAccount(appId, cert, channel, account, role, lifetime)
        : B.buildTokenWithUid(appId, cert, channel, uid, role, lifetime)
}

function damage(token) {
    switch (bug) {
        case 'plus-lost':
            return token.replace(/\+/g, ' ')
        case 'quotes':
            return JSON.stringify(token)
        case 'slash':
            return token.replace(/\//g, '\\/')
        case 'percent':
            return encodeURIComponent(token)
        default:
            return token
    }
}

// A POST's JSON body, or the query, as one get(name) -> string or null.
function params(req, body) {
    if (req.method !== 'POST') return new URL(req.url, 'http://localhost').searchParams
    const o = JSON.parse(body)
    return {get: k => (o[k] === undefined || o[k] === null ? null : String(o[k]))}
}

const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')))
})

function answer(req, res, body) {
    if (args['require-auth'] && req.headers.authorization !== args['require-auth']) {
        res.writeHead(401, {'Content-Type': 'text/plain'})
        return res.end('unauthorized')
    }
    let q
    try {
        q = params(req, body)
    } catch (e) {
        res.writeHead(400, {'Content-Type': 'text/plain'})
        return res.end('bad JSON')
    }
    const channel = q.get('channel') || ''
    if (bug === 'hang' && channel.includes('!')) return // never answers
    if (bug === 'close' && channel.length === 63) return req.socket.destroy()
    if (bug === 'error500' && q.get('uid') === '0') {
        res.writeHead(500, {'Content-Type': 'text/plain'})
        return res.end('internal error')
    }
    if (bug === 'huge' && q.get('uid') === '0') {
        res.writeHead(200, {'Content-Type': 'application/json'})
        return res.end(JSON.stringify({rtcToken: 'x'.repeat(1 << 20)}))
    }
    if (bug === 'trickle' && channel.includes(' ')) {
        res.writeHead(200, {'Content-Type': 'application/json'})
        const timer = setInterval(() => res.write(' '), 500)
        return res.on('close', () => clearInterval(timer))
    }
    if (bug === 'html') {
        res.writeHead(200, {'Content-Type': 'text/html'})
        return res.end('<html><body>Token service</body></html>')
    }
    let token
    try {
        token = damage(build(q))
    } catch (e) {
        res.writeHead(500, {'Content-Type': 'text/plain'})
        return res.end(String(e))
    }
    res.writeHead(200, {'Content-Type': 'application/json'})
    res.end(JSON.stringify({rtcToken: token}))
}
if (bug === 'garbage') server.on('connection', socket => socket.end('NOT HTTP AT ALL\r\n\r\n'))
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port))
