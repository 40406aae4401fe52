'use strict'
/* gen-scenarios.js -- the generated diagnosis scenarios: requests and project configurations from
 * the differential test's generator, the expected answers from its independent reference.
 *
 * Usage: node gen-scenarios.js OUT.jsonl SEED POOL LINES
 *   draws POOL cases from tests/diffcheck/gen.js with SEED (as its main loop does: 2% bad
 *   requests, the rest genCase), answers each with tests/diffcheck/reference.js, and writes about
 *   LINES of them, chosen so that every cause, hint and warning of docs/spec/diagnosis.md is
 *   covered; prints the coverage table. (tests/vectors/generate.sh runs it.)
 *
 * Each line has the shape of tests/vectors/v2/scenarios.jsonl:
 *   {"id", "mutation", "version", "request", "project", "expect"}
 * `mutation` is the damage gen.js did to the token text ("none", "whitespace", "truncate", ...) or
 * "bad_<field>" for a bad request; `version` the token version gen.js built ("none" for its bad
 * requests, which carry no token); `project` the configuration gen.js made for the case (null when
 * it made none; for a bad App ID it stays under the good one, so the request does not find it);
 * `expect` {verdict, cause, code, hints, warnings, expires_at[, repaired]} or {"bad_request": true}.
 * The C code under test never computes an expectation.
 *
 * Choice of lines, deterministic: pool order, first every case that brings a feature still below
 * its quota (causes, hints, warnings, verdicts, bad-request fields: 25 cases each; error codes by
 * service, platform and RTM major version, cause by token version and by service, repairs: 6
 * each), then further pool cases at an even stride up to LINES. Fails when a cause, hint or
 * warning named in docs/spec/diagnosis.md has no case, when the file would reach 3 MB, or when one
 * App ID would be configured twice (a batch of every scenario serves one projects file, as the C
 * tests build it, so a request must find exactly its own scenario's project).
 */

const fs = require('fs')
const path = require('path')
const { genCase, badRequest } = require('../diffcheck/gen')
const reference = require('../diffcheck/reference')
const { makeRng } = require('../interop/common')

const ROOT = path.join(__dirname, '..', '..')
const MAX_BYTES = 3 * 1024 * 1024
const QUOTA = 25
const QUOTA_MINOR = 6

// ---- What the spec names -------------------------------------------------------------------

// The causes, hints and warnings of docs/spec/diagnosis.md: the first column of its tables.
function specNames() {
    const text = fs.readFileSync(path.join(ROOT, 'docs', 'spec', 'diagnosis.md'), 'utf8')
    const section = title => {
        const start = text.indexOf('\n## ' + title)
        if (start < 0) throw new Error(`diagnosis.md has no section "${title}"`)
        const end = text.indexOf('\n## ', start + 1)
        return text.slice(start, end < 0 ? text.length : end)
    }
    const column = (sec, re) => [...new Set([...section(sec).matchAll(re)].map(m => m[1]))]
    const causes = column('Checks, in precedence order', /^\| [0-9a-z]+ \| `([a-z_0-9]+)` \|/gm)
    // the causes of an answer with no failing check, as the Verdict section names them
    const verdict = section('Verdict')
    for (const c of ['ok', 'ok_app_id_only', 'project_unknown']) {
        if (!verdict.includes('`' + c + '`')) throw new Error(`diagnosis.md's Verdict no longer names ${c}`)
        causes.push(c)
    }
    const hints = column('Hints (why, more precisely)', /^\| `([a-z_0-9]+)` \|/gm)
    const warnings = column('Warnings (never change the verdict)', /^\| `([a-z_0-9]+)` \|/gm)
    if (causes.length < 16 || hints.length < 20 || warnings.length < 5)
        throw new Error(`diagnosis.md: ${causes.length} causes, ${hints.length} hints, ${warnings.length} warnings?`)
    return { causes, hints, warnings, verdicts: ['joinable', 'rejected', 'unverifiable'] }
}

// ---- One case ------------------------------------------------------------------------------

// gen.js's request without its bookkeeping (id, seed): what a client would send.
function requestOf(req) {
    const r = { ...req }
    delete r.id
    delete r.seed
    return r
}

function scenario(idx, made) {
    const request = requestOf(made.req)
    const project = made.project || null
    const got = reference.diagnose(request, project)
    let expect
    let mutation = made.damage || 'none'
    if (got.error) {
        expect = { bad_request: true }
        mutation = 'bad_' + got.error
    } else {
        expect = {
            verdict: got.verdict,
            cause: got.cause,
            code: got.code,
            hints: got.hints,
            warnings: got.warnings,
            expires_at: got.expires_at,
        }
        if (got.repaired) expect.repaired = got.repaired
    }
    const line = { id: `gs${idx}`, mutation, version: made.version || 'none', request, project, expect }
    return { line, got, features: featuresOf(request, got) }
}

const PLATFORM_OF = reference.PLATFORMS

// The features a case brings: [name, quota].
function featuresOf(req, got) {
    if (got.error) return [['bad_request ' + got.error, QUOTA]]
    const f = [
        ['cause ' + got.cause, QUOTA],
        ['verdict ' + got.verdict, QUOTA],
    ]
    for (const h of got.hints) f.push(['hint ' + h, QUOTA])
    for (const w of got.warnings) f.push(['warning ' + w, QUOTA])
    const service = req.service || 'rtc'
    const sdk = typeof req.sdk_version === 'string' ? /^v?([0-9]+)\./.exec(req.sdk_version) : null
    const major = service === 'rtm' ? (sdk && Number(sdk[1]) >= 2 ? ' 2.x' : ' 1.x') : ''
    const platform = PLATFORM_OF[(req.platform || 'native').toLowerCase()]
    if (got.verdict === 'rejected') f.push([`code ${service}${major} ${platform} ${got.code}`, QUOTA_MINOR])
    const version = req.token && /^(00[67])/.exec(req.token)
    f.push([`token ${version ? version[1] : "-"} cause ${got.cause}`, QUOTA_MINOR])
    f.push([`service ${service} cause ${got.cause}`, QUOTA_MINOR])
    if (got.repaired) f.push(['repaired ' + got.repaired.verdict + ' ' + got.repaired.cause, QUOTA_MINOR])
    if (req.sdk_version !== undefined) f.push(['sdk_version given', QUOTA_MINOR])
    if (typeof req.at === 'string') f.push(['at as ISO-8601', QUOTA_MINOR])
    return f
}

// ---- Checks on the whole file ----------------------------------------------------------------

// Every request finds exactly its own scenario's project in the union of all projects (this
// file's and the contract copies' in tests/vectors/v2, which a test may load with it).
function checkProjects(lines) {
    const byApp = new Map()
    const add = (p, where) => {
        const seen = byApp.get(p.app_id)
        if (seen && JSON.stringify(seen.p) !== JSON.stringify(p))
            throw new Error(`App ID ${p.app_id} configured differently in ${seen.where} and ${where}`)
        if (!seen) byApp.set(p.app_id, { p, where })
    }
    for (const f of ['scenarios.jsonl', 'sdk.jsonl']) {
        const file = path.join(__dirname, 'v2', f)
        if (!fs.existsSync(file)) continue
        for (const l of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
            const s = JSON.parse(l)
            if (s.project) add(s.project, `v2/${f} ${s.id}`)
        }
    }
    for (const s of lines) if (s.project) add(s.project, s.id)
    for (const s of lines) {
        if (s.expect.bad_request) continue
        const key = reference.projectKey(s.request.app_id)
        const found = byApp.has(key) ? byApp.get(key).p : null
        const own = s.project && s.project.app_id === key ? s.project : null
        if (found !== own) {
            const what = found ? 'the project of ' + byApp.get(key).where : 'no project'
            throw new Error(`${s.id}: its App ID finds ${what}`)
        }
    }
    return byApp.size
}

// ---- Main ----------------------------------------------------------------------------------

function main() {
    const [out, seedText, poolText, linesText] = process.argv.slice(2)
    if (!out || !seedText || !poolText || !linesText) {
        console.error('usage: node gen-scenarios.js OUT.jsonl SEED POOL LINES')
        process.exit(64)
    }
    const seed = Number(seedText)
    const poolSize = Number(poolText)
    const target = Number(linesText)
    const spec = specNames()

    // The pool, as gen.js's main loop draws it.
    const rng = makeRng(seed)
    const pool = []
    for (let idx = 0; idx < poolSize; idx++) {
        const made = rng.chance(0.02) ? { req: badRequest(rng, idx), project: null } : genCase(rng, idx)
        pool.push(scenario(idx, made))
    }

    // Quotas first, in pool order; then an even stride through the rest.
    const count = new Map()
    const chosen = new Set()
    const take = i => {
        chosen.add(i)
        for (const [name] of pool[i].features) count.set(name, (count.get(name) || 0) + 1)
    }
    pool.forEach((c, i) => {
        if (c.features.some(([name, quota]) => (count.get(name) || 0) < quota)) take(i)
    })
    const rest = pool.map((_, i) => i).filter(i => !chosen.has(i))
    const more = Math.max(0, target - chosen.size)
    for (let k = 0; k < more && k < rest.length; k++) take(rest[Math.floor((k * rest.length) / more)])

    const picked = [...chosen].sort((a, b) => a - b).map(i => pool[i])
    const lines = picked.map(c => c.line)
    const projects = checkProjects(lines)
    const text = lines.map(l => JSON.stringify(l)).join('\n') + '\n'

    // The coverage table: every cause, hint and warning of the spec, then the rest.
    const all = new Map()
    for (const c of picked) for (const [name] of c.features) all.set(name, (all.get(name) || 0) + 1)
    const missing = []
    const row = (name, n) => console.log(`  ${String(n).padStart(5)}  ${name}`)
    for (const [kind, names] of [
        ['cause', spec.causes],
        ['hint', spec.hints],
        ['warning', spec.warnings],
        ['verdict', spec.verdicts],
    ]) {
        console.log(`${kind}s (docs/spec/diagnosis.md):`)
        for (const n of names) {
            const k = all.get(`${kind} ${n}`) || 0
            if (!k) missing.push(`${kind} ${n}`)
            row(n, k)
        }
        // an answer naming something the spec does not (the reference and the spec disagree)
        for (const [name, k] of all) {
            if (name.startsWith(kind + ' ') && !names.includes(name.slice(kind.length + 1))) {
                missing.push(`${name} (not in the spec)`)
                row(name.slice(kind.length + 1) + '  (NOT IN THE SPEC)', k)
            }
        }
    }
    console.log('also:')
    for (const [name, k] of [...all].sort()) if (!/^(cause|hint|warning|verdict) /.test(name)) row(name, k)
    console.log(
        `gen-scenarios: ${lines.length} scenarios from a pool of ${poolSize} (seed ${seed}), ` +
            `${projects} projects, ${Buffer.byteLength(text)} bytes`,
    )
    if (missing.length) {
        console.error(`gen-scenarios: no case for ${missing.join(', ')}`)
        console.error('(a larger pool, or tests/diffcheck/gen.js made to reach it)')
        process.exit(1)
    }
    if (Buffer.byteLength(text) >= MAX_BYTES) {
        console.error(`gen-scenarios: ${Buffer.byteLength(text)} bytes, the limit is ${MAX_BYTES}: fewer LINES`)
        process.exit(1)
    }
    fs.writeFileSync(out, text)
}

main()
