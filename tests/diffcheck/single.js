'use strict'
/* single.js -- the single-join CLI (`diagnose --json` with flags) answers as --batch does.
 *
 * Usage: node single.js TOKENDOCTOR requests.jsonl projects.json batch-output.jsonl COUNT
 *
 * Design: run.sh already judges every batch line against the reference; this re-runs COUNT
 * requests (spread over the file) through the flag interface, where the parsing is different code
 * (--uid text, --account, --platform alias, --at as Unix time or ISO-8601, --sdk-version, `--`
 * before a token that starts with '-', '' and --no-token), and requires the same JSON document
 * (less "id" and "status") and the exit status of the verdict (0 joinable, 1 rejected, 2 unverifiable, 64 bad
 * request: a batch error line, e.g. a malformed --sdk-version, must exit 64 here). The sample
 * takes up to COUNT bad requests of the file too (spread over it), since those are the lines
 * whose flag parsing differs most from the JSON reader's. Prints "single: N passed, M failed".
 */

const fs = require('fs')
const { spawnSync } = require('child_process')
const { projectKey } = require('./reference')

const [bin, reqFile, projFile, outFile, countArg] = process.argv.slice(2)
const reqs = fs.readFileSync(reqFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const outs = fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const count = Math.min(Number(countArg) || 100, reqs.length)
const step = Math.max(1, Math.floor(reqs.length / count))
const EXIT = { joinable: 0, rejected: 1, unverifiable: 2 }
// Each run parses its --project file: give it only the configurations of the sampled requests.
const sample = []
for (let i = 0; i < reqs.length && sample.length < count; i += step) sample.push(i)
const errorLines = []
for (let i = 0; i < reqs.length; i++)
    if (outs[i] && outs[i].verdict === undefined && !sample.includes(i)) errorLines.push(i)
const errStep = Math.max(1, Math.ceil(errorLines.length / count))
sample.push(...errorLines.filter((_, k) => k % errStep === 0))
// (by the App ID the project is looked up by: the trimmed one for app_id_whitespace, whatever
// its case, as --project finds a project configured in another case and names it in the details)
const lower = s => (typeof s === 'string' ? s.toLowerCase() : s)
const wanted = new Set(sample.map(i => lower(projectKey(reqs[i].app_id))))
const smallProj = projFile + '.single.json'
fs.writeFileSync(smallProj, JSON.stringify(JSON.parse(fs.readFileSync(projFile, 'utf8')).filter(p => wanted.has(lower(p.app_id)))))

function argsOf(req) {
    const a = ['diagnose', '--json', '--project', smallProj]
    if (req.app_id !== undefined) a.push('--app-id', req.app_id)
    if (req.service !== undefined) a.push('--service', req.service)
    if (req.channel !== undefined) a.push('--channel', req.channel)
    if (req.uid !== undefined) a.push('--uid', String(req.uid))
    if (req.account !== undefined) a.push('--account', req.account)
    if (req.role !== undefined) a.push('--role', req.role)
    if (req.platform !== undefined) a.push('--platform', req.platform)
    a.push('--at', String(req.at))
    if (req.sdk_version !== undefined) a.push('--sdk-version', req.sdk_version)
    if (req.token === undefined || req.token === null) a.push('--no-token')
    else a.push('--', req.token)
    return a
}

// Values argv cannot carry, or flags that would not say the same as the JSON request.
function expressible(req) {
    for (const k of ['app_id', 'channel', 'account', 'token', 'platform'])
        if (typeof req[k] === 'string' && (req[k].includes('\0') || (req[k] === '' && k !== 'token'))) return false
    // JSON types argv has no word for (a number or null as sdk_version, a non-string platform)
    if (req.sdk_version !== undefined && typeof req.sdk_version !== 'string') return false
    for (const k of ['service', 'role', 'platform', 'app_id', 'channel', 'account'])
        if (req[k] !== undefined && typeof req[k] !== 'string') return false
    const atOk = typeof req.at === 'string' ? req.at !== '' : Number.isSafeInteger(req.at)
    return atOk && (req.uid === undefined || Number.isInteger(req.uid))
}

let passed = 0
let failed = 0
for (const i of sample) {
    const req = reqs[i]
    const want = outs[i]
    if (!expressible(req) || !want) continue
    const r = spawnSync(bin, argsOf(req), { encoding: 'utf8' })
    const bad = []
    if (want.verdict === undefined) {
        if (r.status !== 64) bad.push(`bad request: exit ${r.status}, want 64`)
    } else {
        if (r.status !== EXIT[want.verdict]) bad.push(`exit ${r.status}, want ${EXIT[want.verdict]} (${want.verdict})`)
        let got = null
        try {
            got = JSON.parse(r.stdout)
        } catch (e) {
            bad.push(`stdout is not one JSON document: ${JSON.stringify(r.stdout.slice(0, 200))}`)
        }
        if (got) {
            const w = { ...want }
            delete w.id
            delete w.status // a batch line's: {"id", "status": "diagnosed", ...the diagnosis}
            delete got.id
            if (JSON.stringify(got) !== JSON.stringify(w)) {
                for (const k of new Set([...Object.keys(got), ...Object.keys(w)]))
                    if (JSON.stringify(got[k]) !== JSON.stringify(w[k]))
                        bad.push(`${k}: ${JSON.stringify(got[k])} != batch ${JSON.stringify(w[k])}`.slice(0, 400))
            }
        }
    }
    if (bad.length) {
        failed++
        if (failed <= 20) console.log(`FAIL single ${req.id}: ${bad.join('; ')}\n  request: ${JSON.stringify(req)}`)
    } else passed++
}
console.log(`single: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
