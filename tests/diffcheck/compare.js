'use strict'
/* compare.js -- compares `tokendoctor diagnose --batch` output with reference.js, field by field.
 *
 * Usage: node compare.js requests.jsonl projects.json engine-output.jsonl [summary-output.jsonl]
 *
 * Design: the reference is the second reading of diagnosis.md (contract v2); every field the
 * spec fixes is compared (verdict, cause, error code and name and the `also` codes for the
 * request's platform, service and SDK, hints and warnings as sets, expires_at, expires_in, at,
 * repaired, project.known, project.signed_with, the sdk_version echo, the ids and statuses of the
 * 13 checks in table order) plus the contract rules that need no second reading: no certificate
 * in the answer, error is null unless rejected. A bad request must be an error line
 * {"id", "status": "invalid", "error": {"code": "bad_request", "message"}}, every other line
 * {"id", "status": "diagnosed", ...}. --summary lines must hold exactly the
 * summary fields of the full answer. Prints one line per disagreeing request (at most 40 in full),
 * a tally by field, and "diffcheck: N passed, M failed".
 */

const fs = require('fs')
const { diagnose, projectKey, CHECK_IDS, SAMPLE_CERT } = require('./reference')

const [reqFile, projFile, outFile, summaryFile] = process.argv.slice(2)
const reqs = fs.readFileSync(reqFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const projects = JSON.parse(fs.readFileSync(projFile, 'utf8'))
const outs = fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
// --summary lines: exactly these fields of the full answer (error lines: id and error).
const summaries = summaryFile
    ? fs.readFileSync(summaryFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
    : null
const SUMMARY_KEYS = ['id', 'status', 'verdict', 'cause', 'code', 'hints', 'warnings', 'expires_at', 'sdk_version']
const byAppId = new Map(projects.map(p => [p.app_id, p]))
// A project is found by the App ID it is looked up by (the trimmed one for app_id_whitespace).
const lookup = key => byAppId.get(key) || null
const projectOf = req => (typeof req.app_id === 'string' ? lookup(projectKey(req.app_id)) : null)
// The certificates of one configuration: none may appear in the answer.
function secretsOf(p) {
    if (!p) return []
    const out = []
    for (const s of ['primary', 'secondary']) if (p[s]) out.push(p[s].certificate.toLowerCase())
    for (const c of p.retired_certificates || []) out.push(c.toLowerCase())
    // A project that configured its App ID (or the documentation's sample certificate) as a
    // certificate: that value is public anyway, and may be named for what it is.
    return out.filter(c => c !== p.app_id.toLowerCase() && c !== SAMPLE_CERT.toLowerCase())
}

const sameSet = (a, b) => JSON.stringify([...(a || [])].sort()) === JSON.stringify([...(b || [])].sort())
const show = v => JSON.stringify(v)

let passed = 0
let failed = 0
let printed = 0
const tally = new Map()

if (outs.length !== reqs.length) {
    console.log(`diffcheck: engine wrote ${outs.length} lines for ${reqs.length} requests`)
}

for (let i = 0; i < reqs.length; i++) {
    const req = reqs[i]
    const got = outs[i] || {}
    const project = projectOf(req)
    const want = diagnose(req, lookup)
    const secrets = secretsOf(project)
    const bad = []
    if (got.id !== req.id) bad.push(`id: ${show(got.id)} != ${show(req.id)}`)
    const errorLine = got.verdict === undefined
    const status = want.error ? 'invalid' : 'diagnosed'
    if (got.status !== status) bad.push(`status: ${show(got.status)} != ${status}`)
    if (want.error) {
        if (!errorLine) bad.push(`bad request (${want.error}) diagnosed: ${got.verdict}/${got.cause}`)
        else if (!got.error || got.error.code !== 'bad_request' || typeof got.error.message !== 'string')
            bad.push(`error line: ${show(got.error)}`)
    } else if (errorLine) {
        bad.push(`error line ${show(got.error)} for a valid request`)
    } else {
        if (got.verdict !== want.verdict) bad.push(`verdict: ${got.verdict} != ${want.verdict}`)
        if (got.cause !== want.cause) bad.push(`cause: ${got.cause} != ${want.cause}`)
        const code = got.error ? got.error.code : null
        if (code !== want.code) bad.push(`code: ${show(code)} != ${show(want.code)}`)
        if (want.verdict !== 'rejected' && got.error !== null) bad.push(`error not null: ${show(got.error)}`)
        if (want.verdict === 'rejected' && !got.error) bad.push('error: null for a rejection')
        if (got.error && want.name !== null) {
            if (got.error.name !== want.name) bad.push(`name: ${show(got.error.name)} != ${show(want.name)}`)
            const also = (got.error.also || []).map(a => `${a.code} ${a.name}`)
            const wantAlso = want.also.map(a => `${a.code} ${a.name}`)
            if (!sameSet(also, wantAlso)) bad.push(`also: ${show(also)} != ${show(wantAlso)}`)
        }
        if (!sameSet(got.hints, want.hints)) bad.push(`hints: ${show(got.hints)} != ${show(want.hints)}`)
        if (!sameSet(got.warnings, want.warnings)) bad.push(`warnings: ${show(got.warnings)} != ${show(want.warnings)}`)
        if (got.expires_at !== want.expires_at) bad.push(`expires_at: ${got.expires_at} != ${want.expires_at}`)
        const wantIn = want.expires_at === null ? null : want.expires_at - want.at
        if (got.expires_in !== wantIn) bad.push(`expires_in: ${got.expires_in} != ${wantIn}`)
        if (got.at !== want.at) bad.push(`at: ${show(got.at)} != ${want.at}`)
        if (got.sdk_version !== want.sdk_version)
            bad.push(`sdk_version: ${show(got.sdk_version)} != ${show(want.sdk_version)}`)
        if (show(got.repaired === undefined ? null : got.repaired) !== show(want.repaired))
            bad.push(`repaired: ${show(got.repaired)} != ${show(want.repaired)}`)
        const known = !!project
        if (!got.project || got.project.known !== known) bad.push(`project.known: ${got.project && got.project.known} != ${known}`)
        else if ((got.project.signed_with || null) !== want.signed_with)
            bad.push(`signed_with: ${show(got.project.signed_with)} != ${show(want.signed_with)}`)
        const line = JSON.stringify(got).toLowerCase()
        for (const sec of secrets) if (line.includes(sec)) bad.push('the answer names a certificate')
        const checks = got.checks || []
        if (checks.length !== CHECK_IDS.length) bad.push(`checks: ${checks.length} entries`)
        for (let c = 0; c < Math.min(CHECK_IDS.length, checks.length); c++) {
            if (checks[c].id !== CHECK_IDS[c]) bad.push(`check ${c + 1} id: ${show(checks[c].id)} != ${CHECK_IDS[c]}`)
            // warn is a passing check with a remark (e.g. expires soon): compared as pass
            const st = checks[c].status === 'warn' ? 'pass' : checks[c].status
            if (st !== want.checks[c].status)
                bad.push(`check ${CHECK_IDS[c]}: ${checks[c].status} != ${want.checks[c].status}`)
        }
    }
    if (summaries) {
        const sum = summaries[i] || {}
        if (got.verdict === undefined) {
            if (sum.error === undefined || sum.id !== got.id || show(sum.error) !== show(got.error))
                bad.push(`summary: ${show(sum)} for an error line`)
        } else {
            const full = { ...got, code: got.error ? got.error.code : null }
            const keys = Object.keys(sum).sort().join(',')
            if (keys !== [...SUMMARY_KEYS].sort().join(',')) bad.push(`summary keys: ${keys}`)
            for (const k of SUMMARY_KEYS)
                if (show(sum[k]) !== show(full[k])) bad.push(`summary ${k}: ${show(sum[k])} != ${show(full[k])}`)
        }
    }
    if (bad.length) {
        failed++
        for (const b of bad) {
            const key = b.replace(/:.*/, '')
            tally.set(key, (tally.get(key) || 0) + 1)
        }
        if (printed++ < 40) console.log(`FAIL ${req.id} (seed ${req.seed}): ${bad.join('; ')}\n  request: ${show(req)}`)
    } else passed++
}
if (tally.size) console.log('disagreements by field: ' + [...tally].map(([k, v]) => `${k}=${v}`).join(', '))
console.log(`diffcheck: ${passed} passed, ${failed} failed`)
process.exit(failed || outs.length !== reqs.length ? 1 : 0)
