'use strict'
/* check_scenarios.js -- the reference must reproduce every public scenario.
 *
 * Usage: node check_scenarios.js shared/vectors/scenarios.jsonl
 *
 * Design: the scenarios are the ground truth for the points diagnosis.md leaves open, so the
 * reference is trusted by run.sh only as far as it reproduces each `expect` exactly (verdict,
 * cause, code, expires_at, repaired; hints and warnings as sets). Prints one line per miss and
 * "scenarios: N passed, M failed"; exits 1 on any miss.
 */
const fs = require('fs')
const { diagnose } = require('./reference')
const file = process.argv[2]
let pass = 0
let fail = 0
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue
    const s = JSON.parse(line)
    const got = diagnose(s.request, s.project)
    const e = s.expect
    const bad = []
    for (const f of ['verdict', 'cause', 'code', 'expires_at']) if (got[f] !== e[f]) bad.push(`${f}: ${got[f]} != ${e[f]}`)
    if (!same(got.hints, e.hints)) bad.push(`hints: ${got.hints} != ${e.hints}`)
    if (!same(got.warnings, e.warnings)) bad.push(`warnings: ${got.warnings} != ${e.warnings}`)
    const er = e.repaired || null
    if (JSON.stringify(got.repaired) !== JSON.stringify(er)) bad.push(`repaired: ${JSON.stringify(got.repaired)} != ${JSON.stringify(er)}`)
    if (bad.length) {
        fail++
        console.log(`${s.id} (${s.mutation} ${s.version}): ${bad.join('; ')}`)
    } else pass++
}
// An empty or truncated file would otherwise "pass" without checking the reference at all.
if (pass + fail === 0) {
    console.log(`${file}: no scenario`)
    fail = 1
}
console.log(`scenarios: ${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
