// check.mjs -- checks docs/openapi.yaml against a running `tokendoctor serve`.
//
// usage: node check.mjs OPENAPI_YAML PORT ADMIN_KEY READER_KEY
//
// Every operation must carry `x-samples`; each sample is sent (in document order, DELETE
// operations last so that the others find their project) and must answer with its `status`,
// which must be one the operation documents. Error answers must be the JSON error object; 2xx
// JSON answers must hold the documented schema's required fields; 405 must carry Allow.
// Documented statuses no sample exercises are listed (they need a broken store or another
// configuration, e.g. 503 or --auth all).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const [file, port, adminKey, readerKey] = process.argv.slice(2);
if (!file || !port || !adminKey || !readerKey) {
  console.error('usage: node check.mjs OPENAPI_YAML PORT ADMIN_KEY READER_KEY');
  process.exit(2);
}
const doc = parse(readFileSync(file, 'utf8'));
const base = `http://127.0.0.1:${port}`;
const keys = { admin: adminKey, reader: readerKey, wrong: 'tdk_' + '0'.repeat(64), none: null };
const METHODS = ['get', 'put', 'post', 'delete', 'head', 'patch', 'options'];

function resolve(obj) {
  let o = obj;
  while (o && o.$ref) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((acc, p) => acc?.[p.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return o;
}

function samplePath(template, sample, params) {
  if (sample.path) return sample.path;
  let p = template;
  for (const prm of params) {
    const r = resolve(prm);
    if (r.in === 'path') p = p.replace(`{${r.name}}`, encodeURIComponent(r.example));
  }
  return p;
}

function sampleBody(sample) {
  if (sample.raw !== undefined) return sample.raw;
  if (sample.rawRepeat) {
    const head = '{"app_id":"","channel":"c","pad":"';
    return head + 'a'.repeat(sample.rawRepeat - head.length - 2) + '"}';
  }
  if (sample.batchOf) {
    const one = { app_id: '', channel: 'c' };
    return JSON.stringify({ requests: Array.from({ length: sample.batchOf }, () => one) });
  }
  if (sample.body !== undefined) return JSON.stringify(sample.body);
  return undefined;
}

const ops = [];
for (const [template, item] of Object.entries(doc.paths)) {
  const params = item.parameters || [];
  for (const m of Object.keys(item)) {
    if (!METHODS.includes(m)) continue;
    ops.push({ template, method: m, op: item[m], params: params.concat(item[m].parameters || []) });
  }
}
ops.sort((a, b) => (a.method === 'delete') - (b.method === 'delete'));

let failures = 0;
let sent = 0;
const fail = (msg) => {
  failures++;
  console.error('FAIL ' + msg);
};

for (const { template, method, op, params } of ops) {
  const name = `${method.toUpperCase()} ${template}`;
  const samples = op['x-samples'] || [];
  if (samples.length === 0) fail(`${name}: no x-samples`);
  const documented = Object.keys(op.responses || {});
  const exercised = new Set();
  for (const sample of samples) {
    const verb = (sample.method || method).toUpperCase();
    let path = samplePath(template, sample, params);
    if (sample.query) path += '?' + sample.query;
    const auth = sample.auth || (op.security && op.security.length ? 'admin' : 'none');
    const headers = {};
    if (keys[auth]) headers.Authorization = `Bearer ${keys[auth]}`;
    const body = sampleBody(sample);
    if (body !== undefined) headers['Content-Type'] = sample.contentType || 'application/json';
    const label = `${name} [${verb} ${path}, auth ${auth}, expect ${sample.status}]`;
    let res;
    try {
      res = await fetch(base + path, { method: verb, headers, body });
    } catch (e) {
      fail(`${label}: ${e.message}`);
      continue;
    }
    sent++;
    const text = await res.text();
    exercised.add(String(sample.status));
    if (res.status !== sample.status) {
      fail(`${label}: got ${res.status} ${text.slice(0, 300)}`);
      continue;
    }
    if (verb === method.toUpperCase() && !documented.includes(String(res.status)))
      fail(`${label}: status ${res.status} is not documented for the operation`);
    if (res.status === 405 && !res.headers.get('allow')) fail(`${label}: 405 without Allow`);
    const ctype = res.headers.get('content-type') || '';
    if (res.status >= 400) {
      let j;
      try {
        j = JSON.parse(text);
      } catch {
        fail(`${label}: error body is not JSON`);
        continue;
      }
      if (typeof j?.error?.code !== 'string' || typeof j?.error?.message !== 'string')
        fail(`${label}: not the JSON error object: ${text.slice(0, 200)}`);
      continue;
    }
    if (ctype.startsWith('application/json') && verb !== 'HEAD') {
      const resp = resolve(op.responses[String(res.status)]);
      const schema = resolve(resp?.content?.['application/json']?.schema);
      const j = JSON.parse(text);
      for (const field of schema?.required || [])
        if (!(field in j)) fail(`${label}: answer lacks required field ${field}`);
    }
  }
  const missing = documented.filter((s) => !exercised.has(s));
  if (missing.length) console.log(`note: ${name}: not exercised here: ${missing.join(', ')}`);
}
console.log(`${sent} sample requests sent, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
