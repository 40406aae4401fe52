'use strict'
/* compare.js -- compares `tokendoctor diagnose --batch` output with reference.js, field by field.
 *
 * Usage: node compare.js requests.jsonl projects.json engine-output.jsonl
 *
 * Design: the reference is the second reading of diagnosis.md; every field the spec fixes is
 * compared (verdict, cause, code and `also` for the request's platform, hints and warnings as
 * sets, expires_at, expires_in, repaired, project.known, project.signed_with, the status of each of
 * the 11 checks in order) plus the contract rules that need no second reading: a check detail
 * never contains a certificate, error is null unless rejected. Bad requests must be error lines.
 * Prints one line per disagreement (at most 40 in full) and "diffcheck: N passed, M failed".
 */

const fs = require('fs')
const { diagnose } = require('./reference')

const [reqFile, projFile, outFile, summaryFile] = process.argv.slice(2)
const reqs = fs.readFileSync(reqFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const projects = JSON.parse(fs.readFileSync(projFile, 'utf8'))
const outs = fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
// --summary lines: exactly these fields of the full answer (error lines: id and error).
const summaries = summaryFile
    ? fs.readFileSync(summaryFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
    : null
const SUMMARY_KEYS = ['id', 'verdict', 'cause', 'code', 'hints', 'warnings', 'expires_at']
const byAppId = new Map(projects.map(p => [p.app_id, p]))
// The certificates of one configuration: none may appear in any check detail.
function secretsOf(p) {
    if (!p) return []
    const out = []
    for (const s of ['primary', 'secondary']) if (p[s]) out.push(p[s].certificate.toLowerCase())
    for (const c of p.retired_certificates || []) out.push(c.toLowerCase())
    // A project that configured its App ID as a certificate: that value is public anyway.
    return out.filter(c => c !== p.app_id.toLowerCase())
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
    const want = diagnose(req, byAppId.get(req.app_id) || null)
    const secrets = secretsOf(byAppId.get(req.app_id))
    const bad = []
    if (got.id !== req.id) bad.push(`id: ${show(got.id)} != ${show(req.id)}`)
    const errorLine = got.verdict === undefined
    if (want.error) {
        if (!errorLine) bad.push(`bad request (${want.error}) diagnosed: ${got.verdict}/${got.cause}`)
    } else if (errorLine) {
        bad.push(`error line ${show(got.error)} for a valid request`)
    } else {
        if (got.verdict !== want.verdict) bad.push(`verdict: ${got.verdict} != ${want.verdict}`)
        if (got.cause !== want.cause) bad.push(`cause: ${got.cause} != ${want.cause}`)
        const code = got.error ? got.error.code : null
        if (code !== want.code) bad.push(`code: ${show(code)} != ${show(want.code)}`)
        if (want.verdict !== 'rejected' && got.error !== null) bad.push(`error not null: ${show(got.error)}`)
        if (got.error) {
            const also = (got.error.also || []).map(a => a.code)
            if (!sameSet(also, want.also)) bad.push(`also: ${show(also)} != ${show(want.also)}`)
        }
        if (!sameSet(got.hints, want.hints)) bad.push(`hints: ${show(got.hints)} != ${show(want.hints)}`)
        if (!sameSet(got.warnings, want.warnings)) bad.push(`warnings: ${show(got.warnings)} != ${show(want.warnings)}`)
        if (got.expires_at !== want.expires_at) bad.push(`expires_at: ${got.expires_at} != ${want.expires_at}`)
        const wantIn = want.expires_at === null ? null : want.expires_at - req.at
        if (got.expires_in !== wantIn) bad.push(`expires_in: ${got.expires_in} != ${wantIn}`)
        if (show(got.repaired === undefined ? null : got.repaired) !== show(want.repaired))
            bad.push(`repaired: ${show(got.repaired)} != ${show(want.repaired)}`)
        const known = !!byAppId.get(req.app_id)
        if (!got.project || got.project.known !== known) bad.push(`project.known: ${got.project && got.project.known} != ${known}`)
        else if ((got.project.signed_with || null) !== want.signed_with)
            bad.push(`signed_with: ${show(got.project.signed_with)} != ${show(want.signed_with)}`)
        const line = JSON.stringify(got).toLowerCase()
        for (const sec of secrets) if (line.includes(sec)) bad.push('the answer names a certificate')
        const checks = got.checks || []
        if (checks.length !== 11) bad.push(`checks: ${checks.length} entries`)
        for (let c = 0; c < Math.min(11, checks.length); c++) {
            // warn is a passing check with a remark (e.g. expires soon): compared as pass
            const st = checks[c].status === 'warn' ? 'pass' : checks[c].status
            if (st !== want.checks[c].status)
                bad.push(`check ${c + 1} (${checks[c].id}): ${checks[c].status} != ${want.checks[c].status}`)
            const detail = String(checks[c].detail || '').toLowerCase()
            for (const s of secrets) if (detail.includes(s)) bad.push(`check ${c + 1} detail names a certificate`)
        }
    }
    if (summaries) {
        const sum = summaries[i] || {}
        if (got.verdict === undefined) {
            if (sum.error === undefined || sum.id !== got.id) bad.push(`summary: ${show(sum)} for an error line`)
        } else {
            const full = { ...got, code: got.error ? got.error.code : null }
            const keys = Object.keys(sum).sort().join(',')
            if (keys !== [...SUMMARY_KEYS].sort().join(','))
                bad.push(`summary keys: ${keys}`)
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
