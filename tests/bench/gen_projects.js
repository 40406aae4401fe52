// gen_projects.js N [SEED] -- N project configurations as JSON lines on stdout, the input of
// `tokendoctor project import` for the bulk-import measurement (docs/performance.md, "Bulk
// import"): every project has an enabled primary certificate; a quarter also a secondary
// (enabled on every other one of them); a third retired certificates (1 to 3). App IDs and
// certificates come from a seeded xorshift generator, so a run is reproducible; they need not
// be good random numbers, only distinct.
//
//   node tests/bench/gen_projects.js 1000000 > /tmp/1m.jsonl
//   time tokendoctor project import --db /tmp/bulk/t.db /tmp/1m.jsonl
'use strict';

const n = Number(process.argv[2]);
if (!Number.isInteger(n) || n < 0) {
  process.stderr.write('usage: node gen_projects.js N [SEED]\n');
  process.exit(64);
}
let s = BigInt(process.argv[3] || 20261206) | 1n;
const mask = (1n << 64n) - 1n;
function next64() {
  s ^= (s << 13n) & mask;
  s ^= s >> 7n;
  s ^= (s << 17n) & mask;
  return s;
}
const hex32 = () => next64().toString(16).padStart(16, '0') + next64().toString(16).padStart(16, '0');

const out = [];
let pending = 0;
function flush() {
  process.stdout.write(out.join(''));
  out.length = 0;
  pending = 0;
}
for (let i = 0; i < n; i++) {
  const c = { app_id: hex32(), name: `project ${i}`, primary: { certificate: hex32(), enabled: true } };
  if (i % 4 === 0) c.secondary = { certificate: hex32(), enabled: i % 8 === 0 };
  if (i % 3 === 0) c.retired_certificates = Array.from({ length: 1 + (i % 3) }, hex32);
  out.push(JSON.stringify(c) + '\n');
  if (++pending === 10000) flush();
}
flush();
