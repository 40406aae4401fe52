'use strict'
/* check_scenarios.js -- the reference must reproduce every public scenario.
 *
 * Usage: node check_scenarios.js FILE.jsonl [FILE.jsonl ...]
 *   (run.sh: tests/vectors/v2/scenarios.jsonl and tests/vectors/v2/sdk.jsonl)
 *
 * Design: the scenarios are the ground truth for the points diagnosis.md leaves open, so the
 * reference is trusted by run.sh only as far as it reproduces each `expect` exactly (verdict,
 * cause, code, expires_at, repaired; hints and warnings as sets), and answers an error for every
 * line whose expect is {"bad_request": true}. Prints one line per miss and
 * "scenarios: N passed, M failed" over all files; exits 1 on any miss.
 */
const fs = require('fs')
const { diagnose } = require('./reference')

const files = process.argv.slice(2)
if (!files.length) {
    console.error('usage: node check_scenarios.js FILE.jsonl [FILE.jsonl ...]')
    process.exit(64)
}
let pass = 0
let fail = 0
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())
for (const file of files) {
    let n = 0
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue
        n++
        const s = JSON.parse(line)
        const got = diagnose(s.request, s.project)
        const e = s.expect
        const bad = []
        if (e.bad_request) {
            if (!got.error) bad.push(`bad request diagnosed: ${got.verdict}/${got.cause}`)
        } else if (got.error) {
            bad.push(`refused as a bad request (${got.error})`)
        } else {
            for (const f of ['verdict', 'cause', 'code', 'expires_at'])
                if (got[f] !== e[f]) bad.push(`${f}: ${got[f]} != ${e[f]}`)
            if (!same(got.hints, e.hints)) bad.push(`hints: ${got.hints} != ${e.hints}`)
            if (!same(got.warnings, e.warnings)) bad.push(`warnings: ${got.warnings} != ${e.warnings}`)
            const er = e.repaired || null
            if (JSON.stringify(got.repaired) !== JSON.stringify(er))
                bad.push(`repaired: ${JSON.stringify(got.repaired)} != ${JSON.stringify(er)}`)
            // the answer echoes the sdk_version it judged by, as given
            const sv = s.request.sdk_version === undefined ? null : s.request.sdk_version
            if (got.sdk_version !== sv) bad.push(`sdk_version: ${got.sdk_version} != ${sv}`)
        }
        if (bad.length) {
            fail++
            console.log(`${file}: ${s.id} (${s.mutation} ${s.version}): ${bad.join('; ')}`)
        } else pass++
    }
    // An empty or truncated file would otherwise "pass" without checking the reference at all.
    if (n === 0) {
        console.log(`${file}: no scenario`)
        fail++
    }
}
console.log(`scenarios: ${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
