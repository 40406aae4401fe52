// check.mjs -- checks docs/openapi.yaml against a running `tokendoctor serve`.
//
// usage: node check.mjs OPENAPI_YAML PORT ADMIN_KEY READER_KEY [ROUTES_C]
//
// Every operation must carry `x-samples`; each sample is sent (in document order, DELETE
// operations last so that the others find their project) and must answer with its `status`,
// which must be one the operation documents. Every answer is validated against the schema the
// document gives for its status (JSON Schema 2020-12, as OpenAPI 3.1 defines it), must carry
// X-Request-Id, and a 405 must carry Allow.
//
// The document must also cover the service: every route of server/srv_routes.c's route table
// (ROUTES_C; the path template of each row of srv_routes) is a path of the document; every
// operation lists 405 (a wrong method), and every operation that reads a body lists 413 and
// 415; each of these is exercised by a sample. And GET /openapi.yaml serves this very file.
// Other documented statuses no sample exercises are listed (they need a broken store or another
// configuration, e.g. 503 or --auth all).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
const Ajv2020 = require('@redocly/ajv/dist/2020').default;

const [file, port, adminKey, readerKey, routesC] = process.argv.slice(2);
if (!file || !port || !adminKey || !readerKey) {
  console.error('usage: node check.mjs OPENAPI_YAML PORT ADMIN_KEY READER_KEY [ROUTES_C]');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const doc = parse(text);
const base = `http://127.0.0.1:${port}`;
const keys = { admin: adminKey, reader: readerKey, wrong: 'tdk_' + '0'.repeat(64), none: null };
const METHODS = ['get', 'put', 'post', 'delete', 'head', 'patch', 'options'];

let failures = 0;
let sent = 0;
let validated = 0;
const fail = (msg) => {
  failures++;
  console.error('FAIL ' + msg);
};

// The document as a schema resource, so that a response schema is compiled by its JSON pointer
// and its '#/components/...' references resolve as in the document. OpenAPI's own keywords
// (example, x-...) are not JSON Schema: strict mode off.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
ajv.addSchema(doc, 'openapi');
const compiled = new Map();
function validatorAt(pointer) {
  if (!compiled.has(pointer)) compiled.set(pointer, ajv.compile({ $ref: 'openapi' + pointer }));
  return compiled.get(pointer);
}
const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function resolve(obj) {
  let o = obj;
  while (o && o.$ref) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((acc, p) => acc?.[p.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return o;
}

// The JSON pointer of the schema of an operation's answer with this status and media type, or
// null when the document gives none.
function schemaPointer(template, method, status, media) {
  let ptr = `#/paths/${esc(template)}/${method}/responses/${status}`;
  let resp = doc.paths[template][method].responses?.[status];
  while (resp && resp.$ref) {
    ptr = resp.$ref;
    resp = resolve({ $ref: resp.$ref });
  }
  if (!resp?.content?.[media]?.schema) return null;
  return `${ptr}/content/${esc(media)}/schema`;
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

// ---- The service's routes are documented --------------------------------------------------

if (routesC) {
  const src = readFileSync(routesC, 'utf8');
  // The table's rows are `[SRV_ROUTE_X] = {"<path template>", <methods>, ...}`.
  const table = src.match(/srv_route_row srv_routes\[\] = \{([\s\S]*?)\n\};/);
  if (!table) fail(`${routesC}: no srv_routes table found`);
  const routes = [...(table?.[1] || '').matchAll(/\] =\s*\{\s*"([^"]+)"/g)].map((m) => m[1]);
  if (table && routes.length < 10) fail(`${routesC}: only ${routes.length} routes read`);
  for (const r of routes) {
    if (r === 'unknown' || r === '/') continue; // 404s; the web page is not part of the API
    if (!doc.paths[r]) fail(`route ${r} (server/srv_routes.c) is not a path of the document`);
  }
}

// ---- Every sample against the service --------------------------------------------------------

const ops = [];
for (const [template, item] of Object.entries(doc.paths)) {
  const params = item.parameters || [];
  for (const m of Object.keys(item)) {
    if (!METHODS.includes(m)) continue;
    ops.push({ template, method: m, op: item[m], params: params.concat(item[m].parameters || []) });
  }
}
ops.sort((a, b) => (a.method === 'delete') - (b.method === 'delete'));

const exercisedByPath = new Map(); // template -> statuses any sample of the path got
const mustLater = [];

for (const { template, method, op, params } of ops) {
  const name = `${method.toUpperCase()} ${template}`;
  const samples = op['x-samples'] || [];
  if (samples.length === 0) fail(`${name}: no x-samples`);
  const documented = Object.keys(op.responses || {});
  const must = ['405'].concat(op.requestBody ? ['413', '415'] : []);
  for (const s of must)
    if (!documented.includes(s)) fail(`${name}: does not list its ${s} answer`);
  const exercised = new Set();
  if (!exercisedByPath.has(template)) exercisedByPath.set(template, new Set());
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
    const answer = await res.text();
    exercised.add(String(sample.status));
    exercisedByPath.get(template).add(String(res.status));
    if (res.status !== sample.status) {
      fail(`${label}: got ${res.status} ${answer.slice(0, 300)}`);
      continue;
    }
    if (!documented.includes(String(res.status)))
      fail(`${label}: status ${res.status} is not documented for the operation`);
    if (res.status === 405 && !res.headers.get('allow')) fail(`${label}: 405 without Allow`);
    if (!res.headers.get('x-request-id')) fail(`${label}: no X-Request-Id`);
    if (verb === 'HEAD' || res.status === 204) continue;
    const ctype = (res.headers.get('content-type') || '').split(';')[0].trim();
    const ptr = schemaPointer(template, method, String(res.status), ctype);
    if (!ptr) {
      fail(`${label}: the document gives no ${ctype} schema for ${res.status}`);
      continue;
    }
    let value = answer;
    if (ctype === 'application/json') {
      try {
        value = JSON.parse(answer);
      } catch {
        fail(`${label}: the answer is not JSON: ${answer.slice(0, 200)}`);
        continue;
      }
    }
    const validate = validatorAt(ptr);
    validated++;
    if (!validate(value)) {
      const errs = validate.errors
        .slice(0, 5)
        .map((e) => `${e.instancePath || '/'} ${e.message}`)
        .join('; ');
      fail(`${label}: the answer does not match ${ptr}: ${errs}`);
    }
  }
  const missing = documented.filter((s) => !exercised.has(s));
  mustLater.push({ name, template, must: must.filter((s) => missing.includes(s)) });
  if (missing.length) console.log(`note: ${name}: not exercised here: ${missing.join(', ')}`);
}
// 405 is the path's answer to a method it does not have: one sample per path is enough.
for (const { name, template, must } of mustLater)
  for (const s of must)
    if (!exercisedByPath.get(template).has(s)) fail(`${name}: no sample exercises its ${s} answer`);

// ---- The service serves this document ---------------------------------------------------------

try {
  const res = await fetch(base + '/openapi.yaml');
  const served = await res.text();
  if (res.status !== 200 || served !== text)
    fail(`GET /openapi.yaml: ${res.status}, not the bytes of ${file} (rebuild?)`);
} catch (e) {
  fail(`GET /openapi.yaml: ${e.message}`);
}

console.log(`${sent} sample requests sent, ${validated} answers validated, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
