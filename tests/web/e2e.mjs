// e2e.mjs -- drives tokendoctor's web page in headless Debian Chromium (run by run.sh).
//
// Design
// ------
// run.sh starts `tokendoctor serve` on a fresh database and passes its URL, an admin key and
// the repository's vectors here (TD_BASE_URL, TD_ADMIN_KEY, TD_VECTORS_DIR, TD_SCREENSHOT).
// Everything is checked the way a support engineer uses the page: fields found by their
// accessible label, the Diagnose button by its role and name, the answer read from the
// role="status" region.
//
// Checks, in order: the page and its CSP header; the served assets byte for byte; the error
// catalog's shape (GET /v1/errors); the SDK version field (its label names the SDK of the
// service); the scenarios (verdict, cause, code and constant name, other platforms from the
// catalog table of the service and SDK generation, reason and fix, hints and warnings in plain
// words, expiry, the 13 checks, the SDK version sent and echoed); an RTM login with an RTC 006
// token (warning rtm_login_privilege_missing); the repair button of every repairable scenario;
// the decode preview (a token, a truncated one); two bad requests (a uid that is not a number, a
// malformed SDK version); keyboard only (Tab order, Enter in an input, on the button, in the
// Token field); then, at a laptop's and at a phone's width (1280 and 390 px), each point of
// issue 13's "The web page": the uid / user account switch (only the chosen one is sent), the
// App ID field showing all 32 characters, a refused field marked next to it (aria-invalid,
// aria-describedby, focus), focus after "Use repaired token", the copy button (clipboard,
// confirmation, no request), the footer's account of what the service logs, and the At field
// taking ISO-8601 as well as Unix seconds; a phone viewport and the collapsible decoded token;
// the live countdown (on a fake clock); the README screenshot (clock frozen, so the picture is
// the same every run); then the globals.
//
// The scenarios are public ones from the repository's copy of the contract's vectors
// (tests/vectors/v2/scenarios.jsonl and sdk.jsonl, diagnosis.md v2), chosen to cover every
// verdict, every cause, rtc joins and rtm logins on the three platforms (aliases included:
// android, flutter, ios), RTM 1.x and 2.x codes, SDK versions and the v2 hints. Each scenario's
// project configuration is PUT through the admin API first (or deleted when the scenario has
// none). Scenarios carry an `at` in the past, so the test opens "Advanced" and fills "At";
// otherwise the page sends no `at` and the service judges expiry now.
//
// Global checks run on every page load of the test: no console error and no uncaught
// exception, no request to anything but the service (every other URL is aborted and reported),
// nothing stored in localStorage/sessionStorage/cookies, no token in the URL. Chromium logs
// "Failed to load resource: ... status of N" as a console error for every non-2xx answer to a
// fetch, and some are the page working as designed: the live preview of an undecodable token
// (POST /v1/decode answers 422) and the tests that send a bad request on purpose (POST
// /v1/diagnose answers 400). Only those exact (URL, status) pairs are tolerated, the 400 only
// during those tests.
//
// Output: one line per check ("ok - ..." / "not ok - ...: why") and a final
// "web: N passed, M failed"; the exit status is 1 when anything failed.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chromium, firefox } from 'playwright-core';

const BASE = process.env.TD_BASE_URL; // e.g. http://127.0.0.1:40123
const ADMIN_KEY = process.env.TD_ADMIN_KEY;
const VECTORS = process.env.TD_VECTORS_DIR; // the repository's tests/vectors
const SCREENSHOT = process.env.TD_SCREENSHOT;
const CHROMIUM = process.env.TD_CHROMIUM || '/usr/bin/chromium';
// TD_BROWSER=firefox runs the same checks in Debian's firefox-esr over WebDriver BiDi (a manual
// check: CI installs only chromium). TD_FIREFOX overrides the executable.
const BROWSER = process.env.TD_BROWSER || 'chromium';
const FIREFOX = process.env.TD_FIREFOX || '/usr/bin/firefox-esr';
const WAIT_MS = 15000; // how long an element may take to appear before the check fails

if (!BASE || !ADMIN_KEY || !VECTORS) {
  console.error('e2e.mjs: set TD_BASE_URL, TD_ADMIN_KEY and TD_VECTORS_DIR (run.sh does)');
  process.exit(2);
}

const VECTOR_FILES = ['v2/scenarios.jsonl', 'v2/sdk.jsonl'];

// ---- The scenarios ------------------------------------------------------------------------

// id -> why it is here. Every verdict and every cause of diagnosis.md appears once at least,
// for rtc joins and for rtm logins.
const CHOSEN = {
  // rtc joins
  s7: 'joinable ok, web, 007 uid',
  s173: 'joinable ok_app_id_only, web, no token',
  s100: 'unverifiable project_unknown, objc',
  s45: 'app_id_malformed 101, ios, hint app_id_whitespace',
  s22: 'channel_name_invalid, web: INVALID_PARAMS, no number',
  s56: 'channel_name_invalid 102, native, 64 bytes',
  s48: 'token_required, web 120',
  s0: 'token_not_expected, web 119',
  s38: 'token_malformed, web, hint auth_prefix, repaired',
  s46: 'token_malformed, native, hint truncated',
  's309-sdk': 'token_malformed, flutter 6.3.2, hint json_escaped, repaired',
  's28-sdk': 'token_version_unsupported 101, Web SDK 4.5.0',
  's43-sdk': 'token_version_unsupported 101, Flutter SDK 4.1.1, unknown project',
  's92-sdk': 'app_id_mismatch, android, hints sample_app_id, signed_with_sample_certificate',
  s34: 'service_missing, android',
  s124: 'channel_mismatch, web, hint channel_case_differs',
  s36: 'channel_mismatch, android, hint channel_whitespace',
  s26: 'uid_mismatch, android, hints join_uid_zero, token_uid_zero_text',
  's603-sdk': 'uid_mismatch, flutter, hint token_uid_out_of_range',
  s29: 'signature_invalid, web, hint signed_with_sample_certificate',
  s54: 'token_expired, web 109 (also 118, 2)',
  s102: 'token_expired, web, warning publish_privilege_missing',
  s84: 'privilege_expired, objc, hint privilege_expire_is_role',
  // rtm logins: RTM 1.x codes without a version or with a 1.x one, RTM 2.x codes with 2.x
  s72: 'rtm joinable ok, web',
  's248-sdk': 'rtm joinable ok, ios, RTM SDK 2.2.0: the 2.x fix',
  s291: 'rtm unverifiable project_unknown, web',
  s476: 'rtm joinable ok_app_id_only, web',
  s244: 'rtm token_required 5, web',
  s236: 'rtm token_not_expected 5, ios, warning expires_soon',
  s101: 'rtm token_malformed 5, web, hint percent_encoded, repaired',
  s423: 'rtm token_malformed 5, android, hint auth_prefix, repaired',
  's504-sdk': 'rtm token_version_unsupported 5, ios, RTM SDK 1.4.10',
  s391: 'rtm service_missing 5, android, hint built_for_rtc',
  s181: 'rtm uid_mismatch 5, flutter',
  s76: 'rtm privilege_expired 6, objc, hint expired_at_issue',
  's197-sdk': 'rtm app_id_malformed -10003, ios, RTM SDK 2.3',
  's436-sdk': 'rtm app_id_mismatch -10016, web, RTM SDK v2.2.2, hint sample_app_id',
  's82-sdk': 'rtm signature_invalid -10005, ios, RTM SDK 2.2.0',
  's249-sdk': 'rtm token_expired -10009, ios, RTM SDK 2.3',
};
const PLATFORM_CODES = {
  android: 'native', windows: 'native', linux: 'native', unity: 'native', electron: 'native',
  flutter: 'native', 'react-native': 'native', cocos: 'native', ios: 'objc', macos: 'objc',
};
const ALL_PLATFORMS = ['native', 'android', 'windows', 'linux', 'unity', 'electron', 'flutter',
                       'react-native', 'cocos', 'objc', 'ios', 'macos', 'web'];
const CHECK_IDS = ['app_id_format', 'channel_name', 'token_present', 'token_expected',
                   'token_decodes', 'token_version', 'app_id_match', 'service', 'channel', 'uid',
                   'signature', 'token_expiry', 'privilege_expiry'];
const SDK_LABEL = { rtc: 'Video SDK version', rtm: 'RTM SDK version' };
// The switch of the user's identity: its radios, and the label of the one input after each.
const IDENTITY_RADIO = { uid: 'uid (a number)', account: 'user account (a string)' };
const IDENTITY_LABEL = { uid: 'UID', account: 'User account' };
// The widths every check of the page's layout and accessibility runs at: a laptop, a phone.
const VIEWPORTS = [{ width: 1280, height: 900 }, { width: 390, height: 844 }];

function loadVectors() {
  const all = new Map();
  for (const file of VECTOR_FILES) {
    for (const line of readFileSync(`${VECTORS}/${file}`, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const s = JSON.parse(line);
      all.set(s.id, s);
    }
  }
  return all;
}

function chooseScenarios(all) {
  const chosen = Object.keys(CHOSEN).map((id) => {
    const s = all.get(id);
    if (!s) throw new Error(`scenario ${id} is not in ${VECTOR_FILES.join(' or ')}`);
    return s;
  });
  // Projects are PUT one after the other: two scenarios sharing an App ID would disturb each
  // other (a replaced certificate is retired), so the choice must not contain such a pair.
  const seen = new Set();
  for (const s of chosen) {
    for (const id of new Set([s.request.app_id, s.project && s.project.app_id])) {
      if (!id) continue;
      if (seen.has(id)) throw new Error(`App ID ${id} used by two chosen scenarios`);
      seen.add(id);
    }
  }
  return chosen;
}

function serviceOf(request) {
  return request.service === 'rtm' ? 'rtm' : 'rtc';
}

function codesOf(platform) {
  return PLATFORM_CODES[platform] || platform || 'native';
}

// The catalog table of a diagnosis (diagnosis.md "The client's SDK"): rtc joins use `errors`,
// rtm logins `rtm_errors` of sdk 2.x when the SDK's major version is 2 or more, else of 1.x.
function catalogTable(catalog, service, sdkVersion) {
  if (service !== 'rtm') return catalog.errors;
  const m = /^v?(\d+)\./.exec(sdkVersion || '');
  const sdk = m && Number(m[1]) >= 2 ? '2.x' : '1.x';
  return catalog.rtm_errors.filter((row) => row.sdk === sdk);
}

function codeLabel(c) {
  return [c.code, c.name].filter((x) => x !== null && x !== undefined).join(' ');
}

// ---- Reporting ----------------------------------------------------------------------------

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
}

function assertEqual(what, got, want) {
  if (got !== want) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ---- The admin API ------------------------------------------------------------------------

async function admin(method, path, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: {
      Authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, text };
}

async function prepareProject(s) {
  if (s.project) {
    const r = await admin('PUT', `/v1/projects/${s.project.app_id}`, s.project);
    assert(r.status >= 200 && r.status < 300,
           `PUT /v1/projects/${s.project.app_id}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  } else if (/^[0-9a-fA-F]{32}$/.test(s.request.app_id)) {
    const r = await admin('DELETE', `/v1/projects/${s.request.app_id}`);
    assert(r.status === 404 || (r.status >= 200 && r.status < 300),
           `DELETE /v1/projects/${s.request.app_id}: HTTP ${r.status}`);
  }
}

// ---- Driving the page ---------------------------------------------------------------------

function isoUtc(unix) {
  return new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

async function text(page, selector) {
  const locator = page.getByRole('status').locator(selector);
  await locator.first().waitFor({ state: 'attached', timeout: WAIT_MS });
  return (await locator.first().textContent()).trim();
}

async function fillForm(page, request) {
  const label = (name) => page.getByLabel(name, { exact: true });
  await label('Token').fill(request.token === undefined ? '' : request.token);
  await label('App ID').fill(request.app_id);
  await label('Channel').fill(request.channel === undefined ? '' : request.channel);
  // One input for the user, named by the switch: the account when the request has one, else
  // the uid.
  if (request.account !== undefined) {
    await page.getByRole('radio', { name: IDENTITY_RADIO.account, exact: true }).check();
    await label(IDENTITY_LABEL.account).fill(request.account);
  } else {
    await page.getByRole('radio', { name: IDENTITY_RADIO.uid, exact: true }).check();
    await label(IDENTITY_LABEL.uid).fill(request.uid === undefined ? '' : String(request.uid));
  }
  await label('Platform').selectOption(request.platform || 'native');
  await label('Role').selectOption(request.role || 'publisher');
  const service = serviceOf(request);
  await label('Service').selectOption(service);
  // The field's label names the SDK of the service just chosen.
  await label(SDK_LABEL[service]).fill(request.sdk_version === undefined ? ''
                                                                         : request.sdk_version);
  if (request.at !== undefined) {
    const advanced = page.locator('details', { has: page.getByLabel('At', { exact: true }) });
    if (!(await advanced.evaluate((d) => d.open))) {
      await advanced.locator('summary').click();
    }
    await label('At').fill(String(request.at));
  }
}

// Runs `action` (a click or a key press that submits) and waits until the page has rendered the
// answer of the POST /v1/diagnose it caused. Returns that answer's JSON; its `sent` and
// `status` properties (not enumerable) are the request body the page sent and the HTTP status.
async function submitAndWait(page, action) {
  const response = page.waitForResponse(
      (r) => r.url() === `${BASE}/v1/diagnose` && r.request().method() === 'POST',
      { timeout: WAIT_MS });
  await action();
  const r = await response;
  await page.waitForFunction(() => {
    const el = document.getElementById('result');
    return el && el.getAttribute('data-state') !== 'busy' && !el.hasAttribute('aria-busy');
  }, null, { timeout: WAIT_MS });
  const answer = await r.json();
  Object.defineProperty(answer, 'sent', { value: r.request().postDataJSON() });
  Object.defineProperty(answer, 'status', { value: r.status() });
  return answer;
}

async function clickDiagnose(page) {
  return submitAndWait(page,
                       () => page.getByRole('button', { name: 'Diagnose', exact: true }).click());
}

// The hints or warnings shown: each "id — the catalog's text for it".
async function expectNotes(page, kind, ids, texts) {
  const items = page.getByRole('status').locator(`#${kind} li`);
  const shown = ids.length ? (await items.allTextContents()).map((t) => t.trim()) : [];
  const want = ids.map((id) => {
    assert(texts.has(id), `the catalog has no text for ${kind.slice(0, -1)} ${id}`);
    return `${id} — ${texts.get(id)}`;
  });
  assertEqual(`${kind} shown`, [...shown].sort().join(' | '), [...want].sort().join(' | '));
  if (!ids.length) {
    assertEqual(`${kind} list`, await page.getByRole('status').locator(`#${kind}`).count(), 0);
  }
}

// Checks that the answer shown matches the scenario's expected answer and the service's answer
// (its error object) and, for what the answer does not carry, the catalog table of the
// diagnosis' service and SDK generation.
async function expectShown(page, s, answer, catalog) {
  const { expect, request } = s;
  const status = page.getByRole('status');
  const service = serviceOf(request);
  const platform = codesOf(request.platform);
  const table = catalogTable(catalog, service, request.sdk_version);
  const row = table.find((r) => r.cause === expect.cause);
  assertEqual('verdict shown', await text(page, '#verdict'), expect.verdict);
  assertEqual('cause shown', await text(page, '#cause'), expect.cause);
  if (expect.verdict !== 'rejected') {
    assertEqual('error code shown', await text(page, '#error-code'), 'none');
    // Not an error: the reason and fix are the catalog's, from the diagnosis' table.
    if (row && row.solution) assertEqual('fix shown', await text(page, '#fix'), row.solution);
    if (row && row.reason) assertEqual('reason shown', await text(page, '#reason'), row.reason);
  } else {
    const error = answer.error;
    assert(error && typeof error === 'object', 'a rejected answer without error');
    assertEqual('service answer code', error.code, expect.code);
    const name = await text(page, '#error-name');
    assertEqual('error name shown', name, error.name);
    assert(/^[A-Za-z_]+$/.test(name), `error constant name shown: ${JSON.stringify(name)}`);
    if (expect.code === null) {
      assertEqual('a number shown', await status.locator('#error-code').count(), 0);
      const dd = await text(page, '#error');
      assert(!/null/.test(dd), `the error shows "null": ${dd}`);
    } else {
      assertEqual('error code shown', await text(page, '#error-code'), String(expect.code));
    }
    if (service === 'rtm') {
      const rtm2 = table !== catalog.errors && table.length && table[0].sdk === '2.x';
      const prefix = rtm2 ? /^RTM_ERROR_/ : platform === 'objc' ? /^AgoraRtmLoginError/
                                                                 : /^LOGIN_ERR_/;
      assert(prefix.test(name), `RTM error name ${name} does not match ${prefix}`);
    }
    // Other platforms: the catalog row of this cause in the diagnosis' table.
    assert(row, `no catalog row for ${expect.cause} in the ${service} table`);
    const others = await status.locator('#other-platforms li').allTextContents();
    const want = ['native', 'objc', 'web'].filter((p) => p !== platform && row.codes[p])
                     .map((p) => `${p}: ${codeLabel(row.codes[p])}`);
    assertEqual('other platforms listed', others.map((t) => t.trim()).join(' | '),
                want.join(' | '));
    // The diagnosis' own reason and fix (its solution accounts for the hints).
    assertEqual('fix shown', await text(page, '#fix'), error.solution);
    assertEqual('reason shown', await text(page, '#reason'), error.reason);
    assertEqual('title shown', await text(page, '#cause-title'), `— ${error.title}`);
  }
  await expectNotes(page, 'hints', expect.hints, catalog.hintTexts);
  await expectNotes(page, 'warnings', expect.warnings, catalog.warningTexts);
  if (expect.expires_at === null) {
    assertEqual('expiry', await status.locator('#expires-at').count(), 0);
  } else {
    assertEqual('expiry shown', await text(page, '#expires-at'), isoUtc(expect.expires_at));
    assert((await text(page, '#countdown')).length > 0, 'no countdown');
  }
  const checks = await status.locator('#checks li code').allTextContents();
  assertEqual('checks listed', checks.join(','), CHECK_IDS.join(','));
  if (request.sdk_version === undefined) {
    assertEqual('SDK version shown', await status.locator('#sdk-judged').count(), 0);
  } else {
    assertEqual('SDK version shown', await text(page, '#sdk-judged'), request.sdk_version);
  }
}

// The error catalog, with its hint and warning texts as maps.
async function loadCatalog() {
  const response = await fetch(`${BASE}/v1/errors`);
  assertEqual('GET /v1/errors', response.status, 200);
  const catalog = await response.json();
  catalog.hintTexts = new Map((catalog.hints || []).map((h) => [h.hint, h.text]));
  catalog.warningTexts = new Map((catalog.warnings || []).map((w) => [w.warning, w.text]));
  return catalog;
}

// ---- Global watchers ----------------------------------------------------------------------

// "URL status" pairs whose console message is expected (see the top of the file).
const expectedStatuses = new Set([`${BASE}/v1/decode 422`]);

function watch(page, problems) {
  const origin = new URL(BASE).origin;
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    const status = /^Failed to load resource: the server responded with a status of (\d+)/
                       .exec(msg.text());
    if (status && expectedStatuses.has(`${url} ${status[1]}`)) return;
    problems.push(`console error: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message}`));
  page.on('requestfailed', (req) => {
    // ERR_ABORTED: a navigation of the test cut a request in flight (e.g. a preview).
    if (new URL(req.url()).origin === origin && req.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
    }
  });
  return page.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    problems.push(`request leaving the service: ${url}`);
    return route.abort('blockedbyclient');
  });
}

async function noStorage(page, context) {
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length);
  assertEqual('items in localStorage/sessionStorage', stored, 0);
  assertEqual('cookies', (await context.cookies()).length, 0);
  const url = new URL(page.url());
  assertEqual('page URL', url.pathname + url.search + url.hash, '/');
}

// ---- The test -----------------------------------------------------------------------------

function launch() {
  if (BROWSER === 'firefox') {
    return firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX, headless: true });
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function main() {
  const vectors = loadVectors();
  const scenarios = chooseScenarios(vectors);
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  await watch(page, problems);

  await check('GET / serves the page with Content-Security-Policy default-src \'self\'',
              async () => {
                const response = await page.goto(BASE + '/', { waitUntil: 'load' });
                assertEqual('status', response.status(), 200);
                const headers = response.headers();
                assert(/text\/html/.test(headers['content-type'] || ''),
                       `content-type ${headers['content-type']}`);
                assert(/default-src 'self'/.test(headers['content-security-policy'] || ''),
                       `content-security-policy: ${headers['content-security-policy']}`);
                for (const label of ['Token', 'App ID', 'Channel', 'UID', 'Platform', 'Role',
                                     'Service', 'Video SDK version']) {
                  assertEqual(`fields labelled ${label}`,
                              await page.getByLabel(label, { exact: true }).count(), 1);
                }
                // The user's input is the UID until the switch says user account.
                assertEqual('fields labelled User account',
                            await page.getByLabel('User account', { exact: true }).count(), 0);
                const tag = await page.getByLabel('Token', { exact: true })
                                .evaluate((e) => e.tagName);
                assertEqual('Token is a', tag, 'TEXTAREA');
                assertEqual('Platform options',
                            (await page.getByLabel('Platform', { exact: true })
                                 .locator('option').evaluateAll((o) => o.map((x) => x.value)))
                                .join(','), ALL_PLATFORMS.join(','));
              });

  await check('the embedded assets are byte-identical to server/assets/', async () => {
    const dir = new URL('../../server/assets/', import.meta.url);
    for (const [path, file, type] of [['/', 'index.html', 'text/html'],
                                      ['/assets/app.js', 'app.js', 'text/javascript'],
                                      ['/assets/style.css', 'style.css', 'text/css'],
                                      ['/assets/favicon.svg', 'favicon.svg', 'image/svg+xml']]) {
      const response = await fetch(BASE + path);
      assertEqual(`GET ${path}`, response.status, 200);
      assert((response.headers.get('content-type') || '').startsWith(type),
             `GET ${path}: content-type ${response.headers.get('content-type')}`);
      const served = Buffer.from(await response.arrayBuffer());
      assert(served.equals(readFileSync(new URL(file, dir))),
             `GET ${path} differs from server/assets/${file} (rebuild?)`);
    }
    const missing = await fetch(BASE + '/assets/nope.js');
    assertEqual('GET /assets/nope.js', missing.status, 404);
  });

  let catalog = null;
  await check('GET /v1/errors: RTC rows, RTM 1.x and 2.x rows, hint and warning texts',
              async () => {
                catalog = await loadCatalog();
                assert(Array.isArray(catalog.errors) && catalog.errors.length > 0, 'no errors');
                assert(Array.isArray(catalog.rtm_errors), 'no rtm_errors');
                for (const row of catalog.errors) {
                  assertEqual(`errors ${row.cause} service`, row.service, 'rtc');
                  assertEqual(`errors ${row.cause} sdk`, row.sdk, null);
                }
                const sdks = catalog.rtm_errors.map((row) => row.sdk);
                assert(sdks.includes('1.x') && sdks.includes('2.x'), `rtm sdks: ${sdks}`);
                assert(sdks.indexOf('2.x') > sdks.lastIndexOf('1.x'), 'rtm 1.x rows come first');
                for (const row of catalog.rtm_errors) {
                  assertEqual(`rtm_errors ${row.cause} service`, row.service, 'rtm');
                }
                const causes = new Set(catalog.errors.map((row) => row.cause));
                for (const s of scenarios) {
                  assert(causes.has(s.expect.cause), `no RTC row for ${s.expect.cause}`);
                  for (const h of s.expect.hints) assert(catalog.hintTexts.has(h), `hint ${h}`);
                  for (const w of s.expect.warnings) {
                    assert(catalog.warningTexts.has(w), `warning ${w}`);
                  }
                }
                assert(catalog.warningTexts.has('rtm_login_privilege_missing'),
                       'no text for warning rtm_login_privilege_missing');
                assert(!catalog.warningTexts.has('channel_name_invalid'),
                       'warning channel_name_invalid is gone in v2');
              });
  if (!catalog) catalog = { errors: [], rtm_errors: [], hintTexts: new Map(),
                            warningTexts: new Map() };

  await check('the SDK version field names the SDK of the service', async () => {
    const label = (name) => page.getByLabel(name, { exact: true });
    await label('Service').selectOption('rtm');
    assertEqual('RTM SDK version fields', await label('RTM SDK version').count(), 1);
    assertEqual('Video SDK version fields', await label('Video SDK version').count(), 0);
    const placeholder = await label('RTM SDK version').getAttribute('placeholder');
    assert(/^e\.g\. \d+\.\d+\.\d+$/.test(placeholder || ''), `placeholder ${placeholder}`);
    await label('RTM SDK version').fill('2.2.0');
    await label('Service').selectOption('rtc');
    assertEqual('Video SDK version fields', await label('Video SDK version').count(), 1);
    assertEqual('RTM SDK version fields', await label('RTM SDK version').count(), 0);
    assertEqual('value kept', await label('Video SDK version').inputValue(), '2.2.0');
    assertEqual('placeholder', await label('Video SDK version').getAttribute('placeholder'),
                'e.g. 4.8.0');
    await label('Video SDK version').fill('');
  });

  for (const s of scenarios) {
    await check(`${s.id}: ${CHOSEN[s.id]} -> ${s.expect.verdict}/${s.expect.cause}`, async () => {
      await prepareProject(s);
      await fillForm(page, s.request);
      const answer = await clickDiagnose(page);
      assertEqual('sdk_version sent', answer.sent.sdk_version, s.request.sdk_version);
      assertEqual('service answer cause', answer.cause, s.expect.cause);
      assertEqual('service answer sdk_version', answer.sdk_version,
                  s.request.sdk_version === undefined ? null : s.request.sdk_version);
      await expectShown(page, s, answer, catalog);
    });
  }

  await check('rtm login with a 006 RTC token for a channel named like the user: ' +
                  'warning rtm_login_privilege_missing', async () => {
    const appId = randomBytes(16).toString('hex');
    const project = { app_id: appId, primary: { certificate: randomBytes(16).toString('hex'),
                                                enabled: true },
                      secondary: null, no_certificate: false, cohost_auth: false,
                      retired_certificates: [] };
    const put = await admin('PUT', `/v1/projects/${appId}`, project);
    assert(put.status >= 200 && put.status < 300, `PUT: HTTP ${put.status} ${put.text}`);
    const minted = await admin('POST', '/v1/tokens', { version: '006', app_id: appId,
                                                       service: 'rtc', channel: 'alice', uid: 0,
                                                       role: 'subscriber', expire: 3600 });
    assertEqual(`POST /v1/tokens (${minted.text.slice(0, 200)})`, minted.status, 200);
    const request = { app_id: appId, service: 'rtm', account: 'alice', platform: 'web',
                      token: JSON.parse(minted.text).token };
    // A page of its own: no `at` left in the Advanced section (the token is judged now).
    await page.goto(BASE + '/');
    await fillForm(page, request);
    const answer = await clickDiagnose(page);
    assertEqual('service answer', `${answer.verdict}/${answer.cause}`, 'joinable/ok');
    assertEqual('verdict shown', await text(page, '#verdict'), 'joinable');
    await expectNotes(page, 'warnings', ['rtm_login_privilege_missing'], catalog.warningTexts);
  });

  // The repair: every chosen scenario with a repairable damage (auth_prefix, json_escaped,
  // percent_encoded); the page offers the cleaned token, and its button diagnoses it.
  for (const repairable of scenarios.filter((s) => s.expect.repaired)) {
    await check(`repair button (${repairable.id}, ${repairable.expect.hints.join(', ')}): ` +
                    'diagnoses the repaired token', async () => {
      await prepareProject(repairable);
      await fillForm(page, repairable.request);
      await clickDiagnose(page);
      const want = repairable.expect.repaired;
      assertEqual('repaired verdict shown', await text(page, '#repaired-verdict'), want.verdict);
      assertEqual('repaired cause shown', await text(page, '#repaired-cause'), want.cause);
      assertEqual('repaired token shown', await text(page, '#repaired pre'), want.token);
      const answer = await submitAndWait(
          page, () => page.getByRole('button', { name: 'Use repaired token' }).click());
      assertEqual('token field', await page.getByLabel('Token', { exact: true }).inputValue(),
                  want.token);
      assertEqual('token sent', answer.sent.token, want.token);
      assertEqual('service answer cause', answer.cause, want.cause);
      assertEqual('verdict shown', await text(page, '#verdict'), want.verdict);
      assertEqual('cause shown', await text(page, '#cause'), want.cause);
      assertEqual('repair offered again', await page.locator('#repaired').count(), 0);
    });
  }

  await check('decode preview of a valid token: version, App ID, services, expiry', async () => {
    const s = scenarios.find((x) => x.id === 's7');
    await page.getByLabel('Token', { exact: true }).fill('');
    await page.getByLabel('Token', { exact: true }).fill(s.request.token);
    const version = page.locator('#preview-version');
    await version.waitFor({ timeout: WAIT_MS });
    assertEqual('version', (await version.textContent()).trim(), s.version);
    assertEqual('App ID', (await page.locator('#preview-app-id').textContent()).trim(),
                s.request.app_id);
    const services = (await page.locator('#preview-services').textContent()).trim();
    assert(services.startsWith('rtc'), `services: ${services}`);
    assert(services.includes(s.request.channel), `services lack the channel: ${services}`);
    const expiry = (await page.locator('#preview-expiry').textContent()).trim();
    assert(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/.test(expiry), `expiry: ${expiry}`);
  });

  await check('decode preview of a truncated token: why it does not decode', async () => {
    const s = scenarios.find((x) => x.id === 's46');
    await page.getByLabel('Token', { exact: true }).fill(s.request.token);
    const error = page.locator('#preview-error');
    await error.waitFor({ timeout: WAIT_MS });
    assert((await error.textContent()).startsWith('Does not decode'),
           `preview says: ${await error.textContent()}`);
    const hints = await page.locator('#preview-hints li code').allTextContents();
    assertEqual('hints', hints.join(','), s.expect.hints.join(','));
  });

  await check('a bad request shows the service\'s message naming the field', async () => {
    await fillForm(page, { app_id: '0123456789abcdef0123456789abcdef', channel: 'c',
                           uid: 'five', service: 'rtc' });
    expectedStatuses.add(`${BASE}/v1/diagnose 400`);
    let body;
    try {
      body = await clickDiagnose(page);
    } finally {
      expectedStatuses.delete(`${BASE}/v1/diagnose 400`);
    }
    assertEqual('uid sent', body.sent.uid, 'five');
    assertEqual('status', body.status, 400);
    const failure = await text(page, '#failure');
    assertEqual('failure shown', failure, `No diagnosis. bad_request: ${body.error.message}`);
    assert(/^uid: /.test(body.error.message), `message ${body.error.message}`);
  });

  // The malformed SDK versions of sdk.jsonl (expect {"bad_request": true}). The page trims the
  // field, so a version that is well-formed once trimmed (" 2.2.0") is not one of them here.
  const badVersions = [...vectors.values()].filter(
      (v) => v.expect.bad_request && typeof v.request.sdk_version === 'string' &&
             v.request.sdk_version.trim() === v.request.sdk_version);
  await check(`a malformed SDK version shows the service's 400 message (${badVersions.length} ` +
                  'versions)', async () => {
    assert(badVersions.length > 0, 'no bad_request lines in sdk.jsonl');
    expectedStatuses.add(`${BASE}/v1/diagnose 400`);
    try {
      for (const v of badVersions) {
        await fillForm(page, v.request);
        const body = await clickDiagnose(page);
        const what = `${v.id} (${JSON.stringify(v.request.sdk_version)})`;
        assertEqual(`${what} status`, body.status, 400);
        assertEqual(`${what} error code`, body.error && body.error.code, 'bad_request');
        assert(/^sdk_version: ./.test(body.error.message), `${what} message ${body.error.message}`);
        assertEqual(`${what} shown`, await text(page, '#failure'),
                    `No diagnosis. bad_request: ${body.error.message}`);
      }
    } finally {
      expectedStatuses.delete(`${BASE}/v1/diagnose 400`);
    }
  });

  await check('keyboard only: Tab through the form, Enter submits', async () => {
    const s = scenarios.find((x) => x.id === 's7');
    await page.goto(BASE + '/');
    const focusedName = () => page.evaluate(() => {
      const e = document.activeElement;
      return (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent).trim();
    });
    const tab = async (want, shift = false) => {
      await page.keyboard.press(shift ? 'Shift+Tab' : 'Tab');
      assertEqual('focus after Tab', await focusedName(), want);
    };
    await tab('Token');
    await page.keyboard.insertText(s.request.token);
    for (const [label, value] of [['App ID', s.request.app_id], ['Channel', s.request.channel],
                                  [IDENTITY_RADIO.uid, null], ['UID', String(s.request.uid)]]) {
      await tab(label);
      if (value !== null) await page.keyboard.insertText(value);
    }
    // Enter in a text input submits. No `at` is sent, so the service judges now: this token
    // expired in 2024.
    const answer = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (judged now)', answer.cause, 'token_expired');
    assertEqual('verdict shown', await text(page, '#verdict'), 'rejected');
    // On to the button: the remaining fields, the Advanced section, then Diagnose.
    for (const name of ['Platform', 'Role', 'Service', 'Video SDK version', 'Advanced',
                        'Diagnose']) {
      await tab(name);
    }
    const byButton = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (button)', byButton.cause, 'token_expired');
    // Back to the Token field: Enter there diagnoses, Shift+Enter inserts a line break.
    for (const name of ['Advanced', 'Video SDK version', 'Service', 'Role', 'Platform', 'UID',
                        IDENTITY_RADIO.uid, 'Channel', 'App ID', 'Token']) {
      await tab(name, true);
    }
    const again = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (Token field)', again.cause, 'token_expired');
    await page.keyboard.press('Shift+Enter');
    assert((await page.getByLabel('Token', { exact: true }).inputValue()).includes('\n'),
           'Shift+Enter in the Token field should insert a line break');
  });

  // ---- The page at a laptop's and a phone's width (issue 13, "The web page") ----------------
  // Each check below runs at every width of VIEWPORTS, on a fresh load of the page.
  const label = (name) => page.getByLabel(name, { exact: true });
  const radio = (kind) => page.getByRole('radio', { name: IDENTITY_RADIO[kind], exact: true });
  const s7 = scenarios.find((x) => x.id === 's7');
  const repairable = scenarios.find((x) => x.id === 's38');
  const overflow = () => page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  // Sends the form expecting a 400 (tolerated on the console only here).
  const refused = async () => {
    expectedStatuses.add(`${BASE}/v1/diagnose 400`);
    try {
      return await clickDiagnose(page);
    } finally {
      expectedStatuses.delete(`${BASE}/v1/diagnose 400`);
    }
  };
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });

  for (const viewport of VIEWPORTS) {
    const px = `(${viewport.width} px)`;
    await page.setViewportSize(viewport);

    await check(`${px} uid and user account are one switch: only the chosen one is sent`,
                async () => {
                  await page.goto(BASE + '/');
                  await prepareProject(s7);
                  const group = page.getByRole('group', { name: 'The user is named by' });
                  assertEqual('radios in the switch', await group.getByRole('radio').count(), 2);
                  assert(await radio('uid').isChecked(), 'uid is the default');
                  assertEqual('UID inputs', await label('UID').count(), 1);
                  assertEqual('User account inputs', await label('User account').count(), 0);
                  assertEqual('UID keyboard', await label('UID').getAttribute('inputmode'),
                              'numeric');
                  await fillForm(page, s7.request);
                  const byUid = await clickDiagnose(page);
                  assertEqual('uid sent', byUid.sent.uid, s7.request.uid);
                  assert(!('account' in byUid.sent), 'an account sent with the uid');
                  assertEqual('cause', byUid.cause, s7.expect.cause);
                  // The keyboard moves the switch (arrow keys); the same input is now the
                  // account's, and only the account is sent.
                  await radio('uid').focus();
                  await page.keyboard.press('ArrowRight');
                  assert(await radio('account').isChecked(), 'ArrowRight picks user account');
                  assertEqual('User account inputs', await label('User account').count(), 1);
                  assertEqual('UID inputs', await label('UID').count(), 0);
                  assertEqual('account keyboard',
                              await label('User account').getAttribute('inputmode'), 'text');
                  assertEqual('value kept', await label('User account').inputValue(),
                              String(s7.request.uid));
                  await label('User account').fill('alice');
                  const byAccount = await clickDiagnose(page);
                  assertEqual('account sent', byAccount.sent.account, 'alice');
                  assert(!('uid' in byAccount.sent), 'a uid sent with the account');
                  assertEqual('status', byAccount.status, 200);
                  assertEqual('overflow', await overflow(), 0);
                });

    await check(`${px} the App ID field shows all 32 characters`, async () => {
      for (const appId of [s7.request.app_id, '0123456789abcdef0123456789abcdef',
                           'dddddddddddddddddddddddddddddddd']) {
        await label('App ID').fill(appId);
        const { scroll, client, shown } = await label('App ID').evaluate((e) => {
          e.setSelectionRange(0, 0); // scrolled to its start, as after typing Home
          return { scroll: e.scrollWidth, client: e.clientWidth,
                   shown: e.getBoundingClientRect().right <= window.innerWidth };
        });
        assert(scroll <= client, `${appId}: ${scroll}px of text in a ${client}px field`);
        assert(shown, 'the App ID field reaches past the screen');
      }
    });

    await check(`${px} a refused field is marked next to it (aria-invalid, aria-describedby)`,
                async () => {
                  // One field broken at a time, on an otherwise good rtc join; the service's
                  // 400 "<field>: <why>" lands on that field.
                  const cases = [
                    ['UID', 'uid', { uid: 'x' }],
                    ['At', 'at', { at: 'yesterday' }],
                    ['Channel', 'channel', { channel: undefined }],
                    ['Video SDK version', 'sdk_version', { sdk_version: '4.x' }],
                    ['App ID', 'app_id', { app_id: '' }],
                  ];
                  for (const [name, field, change] of cases) {
                    await page.goto(BASE + '/'); // the Advanced section closed again
                    const request = { ...s7.request, at: undefined, ...change };
                    await fillForm(page, request);
                    const body = await refused();
                    assertEqual(`${name}: status`, body.status, 400);
                    const m = /^([a-z_]+): (.+)$/.exec(body.error.message);
                    assert(m && m[1] === field, `${name}: the service says ${body.error.message}`);
                    const input = label(name);
                    assertEqual(`${name} aria-invalid`, await input.getAttribute('aria-invalid'),
                                'true');
                    const note = await input.evaluate((e) => {
                      const first = document.getElementById(
                          (e.getAttribute('aria-describedby') || '').split(' ')[0]);
                      const r = first && first.getBoundingClientRect();
                      const f = e.getBoundingClientRect();
                      return first && { text: first.textContent.trim(),
                                        sameField: e.closest('.field') === first.closest('.field'),
                                        visible: r.width > 0 && r.height > 0,
                                        gap: r.top - f.bottom,
                                        invalid: document.querySelectorAll(
                                            '[aria-invalid="true"]').length,
                                        focused: document.activeElement === e };
                    });
                    assert(note, `${name}: aria-describedby names no element`);
                    assertEqual(`${name}: message next to the field`, note.text, m[2]);
                    assert(note.sameField && note.visible && note.gap >= 0 && note.gap < 24,
                           `${name}: the message is not right under the field ` +
                               JSON.stringify(note));
                    assertEqual(`${name}: fields marked`, note.invalid, 1);
                    assert(note.focused, `${name}: focus is not on the refused field`);
                    assertEqual(`${name}: result panel`, await text(page, '#failure'),
                                `No diagnosis. bad_request: ${body.error.message}`);
                    assertEqual(`${name}: overflow`, await overflow(), 0);
                  }
                  // Corrected and sent again: the mark goes.
                  await label('App ID').fill(s7.request.app_id);
                  assertEqual('mark after an edit', await label('App ID').getAttribute(
                      'aria-invalid'), null);
                  const good = await clickDiagnose(page);
                  assertEqual('status once corrected', good.status, 200);
                  assertEqual('fields marked', await page.locator('[aria-invalid="true"]').count(),
                              0);
                  assertEqual('messages left', await page.locator('.field-error').count(), 0);
                  assertEqual('App ID described by', await label('App ID').getAttribute(
                      'aria-describedby'), 'app-id-help');
                });

    await check(`${px} Use repaired token: focus moves to the new answer's heading`, async () => {
      await page.goto(BASE + '/');
      await prepareProject(repairable);
      await fillForm(page, repairable.request);
      await clickDiagnose(page);
      // By keyboard: the button is focused and Enter pressed; the answer replaces the button.
      await page.getByRole('button', { name: 'Use repaired token' }).focus();
      const answer = await submitAndWait(page, () => page.keyboard.press('Enter'));
      assertEqual('token sent', answer.sent.token, repairable.expect.repaired.token);
      const focused = await page.evaluate(() => {
        const e = document.activeElement;
        const r = e.getBoundingClientRect();
        return { tag: e.tagName, text: e.textContent.trim(),
                 inResult: document.getElementById('result').contains(e),
                 inView: r.top >= 0 && r.bottom <= window.innerHeight };
      });
      assert(focused.inResult && /^H[1-6]$/.test(focused.tag),
             `focus after the repair: ${JSON.stringify(focused)}`);
      assertEqual('heading focused', focused.text, 'Diagnosis');
      assert(focused.inView, 'the focused heading is not on the screen');
      assertEqual('the result is named by it',
                  await page.getByRole('status', { name: 'Diagnosis' }).count(), 1);
    });

    await check(`${px} Copy token: the repaired token on the clipboard, confirmed, no request`,
                async () => {
                  await page.goto(BASE + '/');
                  await fillForm(page, repairable.request);
                  await clickDiagnose(page);
                  // The live preview of the token typed is the last request before the copy.
                  await page.locator('#preview').waitFor({ state: 'visible', timeout: WAIT_MS });
                  await page.evaluate(() => navigator.clipboard.writeText('before'));
                  const requests = [];
                  const onRequest = (r) => requests.push(r.url());
                  page.on('request', onRequest);
                  try {
                    await page.getByRole('button', { name: 'Copy token', exact: true }).click();
                    const said = page.getByRole('status').getByText('Copied to the clipboard.');
                    await said.waitFor({ state: 'visible', timeout: WAIT_MS });
                  } finally {
                    page.off('request', onRequest);
                  }
                  const clipboard = await page.evaluate(() => navigator.clipboard.readText());
                  assertEqual('clipboard', clipboard, repairable.expect.repaired.token);
                  assertEqual('requests while copying', requests.join(' '), '');
                  assertEqual('overflow', await overflow(), 0);
                });

    await check(`${px} the footer says what the service keeps, and that it never keeps the token`,
                async () => {
                  const footer = page.getByRole('contentinfo');
                  const said = (await footer.textContent()).replace(/\s+/g, ' ');
                  for (const part of ['logs each diagnosis', 'App ID', 'channel', 'uid',
                                      'fingerprint of the token', 'retention period',
                                      '7 days by default', 'never stores the token']) {
                    assert(said.includes(part), `the footer does not say "${part}": ${said}`);
                  }
                  assert(!/Nothing you paste is stored/.test(said), `the footer says ${said}`);
                  assert(await footer.isVisible(), 'no visible footer');
                });

    await check(`${px} the At field takes ISO-8601 as well as Unix seconds`, async () => {
      const s = scenarios.find((x) => x.id === 's54');
      await page.goto(BASE + '/');
      await prepareProject(s);
      const iso = new Date(s.request.at * 1000).toISOString().replace(/\.000Z$/, 'Z');
      await fillForm(page, { ...s.request, at: iso });
      const help = (await page.locator('#' + await label('At').getAttribute('aria-describedby'))
                        .textContent()).replace(/\s+/g, ' ');
      assert(/ISO-8601/.test(help) && /Unix seconds/.test(help), `At help: ${help}`);
      // A phone's numeric keypad has no "T" or "Z".
      assert((await label('At').getAttribute('inputmode')) !== 'numeric',
             'the At field asks for a numeric keyboard');
      const byIso = await clickDiagnose(page);
      assertEqual('at sent (ISO)', byIso.sent.at, iso);
      assertEqual('at judged', byIso.at, s.request.at);
      assertEqual('cause', byIso.cause, s.expect.cause);
      assert((await text(page, '#expires-at')).length > 0, 'no expiry shown');
      const judged = await page.getByRole('status').getByText('At the time judged').textContent();
      assert(judged.includes(isoUtc(s.request.at)), `judged: ${judged}`);
      await label('At').fill(String(s.request.at));
      const byUnix = await clickDiagnose(page);
      assertEqual('at sent (Unix)', byUnix.sent.at, s.request.at);
      assertEqual('cause (Unix)', byUnix.cause, s.expect.cause);
    });
  }
  await page.setViewportSize(VIEWPORTS[0]);

  await check('phone viewport: nothing wider than the screen', async () => {
    const s = scenarios.find((x) => x.id === 's29');
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(BASE + '/');
    await prepareProject(s);
    await fillForm(page, s.request);
    await clickDiagnose(page);
    const decoded = page.getByRole('status').locator('details#decoded-token');
    assert(!(await decoded.evaluate((d) => d.open)), 'the decoded token starts collapsed');
    await decoded.locator('summary').click();
    const json = JSON.parse(await decoded.locator('pre').textContent());
    assertEqual('decoded token App ID', json.app_id, s.request.app_id);
    const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `the page scrolls sideways by ${overflow}px on a phone`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await check('the expiry countdown is live', async () => {
    // A page of its own with a fake clock (the countdown runs on the browser's clock, against
    // the expiry the service reported), paused so that every reading is exact.
    const s = scenarios.find((x) => x.id === 's7');
    const expires = s.expect.expires_at;
    const own = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const p = await own.newPage();
      await watch(p, problems);
      await p.clock.install({ time: new Date((expires - 600) * 1000) });
      await p.goto(BASE + '/');
      await prepareProject(s);
      await fillForm(p, s.request);
      await clickDiagnose(p);
      assertEqual('verdict', await text(p, '#verdict'), 'joinable');
      await p.clock.pauseAt(new Date((expires - 90) * 1000));
      await p.clock.runFor(1000);
      assertEqual('countdown', await text(p, '#countdown'), 'in 1 min 29 s');
      await p.clock.runFor(60000);
      assertEqual('countdown a minute later', await text(p, '#countdown'), 'in 29 s');
      await p.clock.runFor(40000);
      assertEqual('countdown after expiry', await text(p, '#countdown'), 'expired 11 s ago');
    } finally {
      await own.close();
    }
  });

  await check('screenshot for the README', async () => {
    const s = scenarios.find((x) => x.id === 's54');
    // The page's clock is frozen at the scenario's time, so the countdown (and so the picture)
    // is the same on every run.
    await page.clock.setFixedTime(new Date(s.request.at * 1000));
    await page.goto(BASE + '/');
    await prepareProject(s);
    await fillForm(page, s.request);
    await clickDiagnose(page);
    await page.locator('#preview-version').waitFor({ timeout: WAIT_MS });
    // Chromium only: in Firefox, Playwright's screenshot injects a <style> that the page's CSP
    // rightly blocks (reported as an error), and the README's picture comes from Chromium.
    if (SCREENSHOT && BROWSER === 'chromium') {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
  });

  await check('nothing stored in the browser and no token in the URL', async () => {
    await noStorage(page, context);
  });

  await check('no console error, no failed request, no request leaving the service',
              async () => {
                assert(problems.length === 0, problems.join(' | '));
              });

  await browser.close();
  console.log(`web: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`not ok - the test itself: ${e && e.stack ? e.stack : e}`);
  console.log(`web: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
