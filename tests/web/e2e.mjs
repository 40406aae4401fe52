// e2e.mjs -- drives tokendoctor's web page in headless Debian Chromium (run by run.sh).
//
// Design
// ------
// run.sh starts `tokendoctor serve` on a fresh database and passes its URL, an admin key and
// the shared vectors here (TD_BASE_URL, TD_ADMIN_KEY, TD_SHARED_DIR, TD_SCREENSHOT). Everything
// is checked the way a support engineer uses the page: fields found by their accessible label,
// the Diagnose button by its role and name, the answer read from the role="status" region.
//
// Checks, in order: the page and its CSP header; the served assets byte for byte; the
// scenarios (verdict, cause, code and constant name, other platforms, fix, hints, warnings,
// expiry, the 11 checks); the repair button; the decode preview (a token, a truncated one); a
// bad request; keyboard only (Tab order, Enter in an input, on the button, in the Token field);
// a phone viewport and the collapsible decoded token; the live countdown (on a fake clock); the
// README screenshot (clock frozen, so the picture is the same every run); then the globals.
//
// The scenarios are public ones from shared/vectors/scenarios.jsonl, chosen to cover every
// verdict, every cause and the three platforms (aliases included: android, flutter, ios). Each
// scenario's project configuration is PUT through the admin API first (or deleted when the
// scenario has none). Scenarios carry an `at` in the past, so the test opens "Advanced" and
// fills "At"; otherwise the page sends no `at` and the service judges expiry now.
//
// Global checks run on every page load of the test: no console error and no uncaught
// exception, no request to anything but the service (every other URL is aborted and reported),
// nothing stored in localStorage/sessionStorage/cookies, no token in the URL. Chromium logs
// "Failed to load resource: ... status of N" as a console error for every non-2xx answer to a
// fetch, and some are the page working as designed: the live preview of an undecodable token
// (POST /v1/decode answers 422) and the one test that sends a bad request on purpose (POST
// /v1/diagnose answers 400). Only those exact (URL, status) pairs are tolerated, the 400 only
// during that test.
//
// Output: one line per check ("ok - ..." / "not ok - ...: why") and a final
// "web: N passed, M failed"; the exit status is 1 when anything failed.
import { readFileSync } from 'node:fs';
import { chromium, firefox } from 'playwright-core';

const BASE = process.env.TD_BASE_URL; // e.g. http://127.0.0.1:40123
const ADMIN_KEY = process.env.TD_ADMIN_KEY;
const SHARED = process.env.TD_SHARED_DIR;
const SCREENSHOT = process.env.TD_SCREENSHOT;
const CHROMIUM = process.env.TD_CHROMIUM || '/usr/bin/chromium';
// TD_BROWSER=firefox runs the same checks in Debian's firefox-esr over WebDriver BiDi (a manual
// check: CI installs only chromium). TD_FIREFOX overrides the executable.
const BROWSER = process.env.TD_BROWSER || 'chromium';
const FIREFOX = process.env.TD_FIREFOX || '/usr/bin/firefox-esr';
const WAIT_MS = 15000; // how long an element may take to appear before the check fails

if (!BASE || !ADMIN_KEY || !SHARED) {
  console.error('e2e.mjs: set TD_BASE_URL, TD_ADMIN_KEY and TD_SHARED_DIR (run.sh does)');
  process.exit(2);
}

// ---- The scenarios ------------------------------------------------------------------------

// id -> why it is here. Every cause of diagnosis.md appears once at least.
const CHOSEN = {
  s17: 'joinable ok, web, 007 rtc uid',
  s10: 'joinable ok, flutter (native), 007 rtm account, warning lifetime_over_24h',
  s97: 'joinable ok_app_id_only, ios (objc), no token',
  s11: 'unverifiable project_unknown, objc, 006',
  s41: 'token_malformed url_decoded, web, with a repair that is joinable',
  s5: 'token_malformed truncated, android (native)',
  s28: 'token_not_expected, web code 119, hint truncated, account',
  s115: 'token_required, web code 120',
  s24: 'app_id_mismatch, hint app_id_case_differs',
  s214: 'uid_mismatch 006, hint join_uid_zero, native',
  s158: 'channel_mismatch 006, objc',
  s19: 'signature_invalid web, signed_with_disabled_certificate, publish_privilege_missing',
  s150: 'service_missing, android rtm',
  s136: 'token_expired, web 109 (also 118, 2)',
  s188: 'privilege_expired 006 rtm, web',
  s6: 'app_id_malformed, code 101',
};
const PLATFORM_ALIAS = {
  android: 'native', windows: 'native', linux: 'native', unity: 'native', electron: 'native',
  flutter: 'native', 'react-native': 'native', cocos: 'native', ios: 'objc', macos: 'objc',
};

function loadScenarios() {
  const all = new Map();
  for (const line of readFileSync(`${SHARED}/vectors/scenarios.jsonl`, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const s = JSON.parse(line);
    all.set(s.id, s);
  }
  const chosen = Object.keys(CHOSEN).map((id) => {
    const s = all.get(id);
    if (!s) throw new Error(`scenario ${id} is not in scenarios.jsonl`);
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
  await label('UID').fill(request.uid === undefined ? '' : String(request.uid));
  await label('User account').fill(request.account === undefined ? '' : request.account);
  const platform = PLATFORM_ALIAS[request.platform] || request.platform || 'native';
  await label('Platform').selectOption(platform);
  await label('Role').selectOption(request.role || 'publisher');
  await label('Service').selectOption(request.service || 'rtc');
  if (request.at !== undefined) {
    const advanced = page.locator('details', { has: page.getByLabel('At', { exact: true }) });
    if (!(await advanced.evaluate((d) => d.open))) {
      await advanced.locator('summary').click();
    }
    await label('At').fill(String(request.at));
  }
}

// Runs `action` (a click or a key press that submits) and waits until the page has rendered the
// answer of the POST /v1/diagnose it caused. Returns that answer's JSON.
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
  return r.json();
}

async function clickDiagnose(page) {
  return submitAndWait(page,
                       () => page.getByRole('button', { name: 'Diagnose', exact: true }).click());
}

// Checks that the answer shown matches the scenario's expected answer.
async function expectShown(page, expect, platform) {
  assertEqual('verdict shown', await text(page, '#verdict'), expect.verdict);
  assertEqual('cause shown', await text(page, '#cause'), expect.cause);
  if (expect.code === null) {
    assertEqual('error code shown', await text(page, '#error-code'), 'none');
  } else {
    assertEqual('error code shown', await text(page, '#error-code'), String(expect.code));
    const name = await text(page, '#error-name');
    assert(/^[A-Za-z_]+$/.test(name), `error constant name shown: ${JSON.stringify(name)}`);
    const others = await page.getByRole('status').locator('#other-platforms li').allTextContents();
    const otherPlatforms = ['native', 'objc', 'web'].filter((p) => p !== platform);
    assertEqual('other platforms listed', others.map((t) => t.split(':')[0]).join(','),
                otherPlatforms.join(','));
    assert(await page.getByRole('status').locator('#fix').count() === 1, 'no fix shown');
  }
  for (const [kind, ids] of [['hints', expect.hints], ['warnings', expect.warnings]]) {
    const items = page.getByRole('status').locator(`#${kind} li code`);
    const shown = ids.length ? await items.allTextContents() : [];
    assertEqual(`${kind} shown`, [...shown].sort().join(','), [...ids].sort().join(','));
    if (!ids.length) {
      assertEqual(`${kind} list`, await page.getByRole('status').locator(`#${kind}`).count(), 0);
    }
  }
  if (expect.expires_at === null) {
    assertEqual('expiry', await page.getByRole('status').locator('#expires-at').count(), 0);
  } else {
    assertEqual('expiry shown', await text(page, '#expires-at'), isoUtc(expect.expires_at));
    assert((await text(page, '#countdown')).length > 0, 'no countdown');
  }
  const checks = await page.getByRole('status').locator('#checks li').count();
  assertEqual('checks listed', checks, 11);
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
  const scenarios = loadScenarios();
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
                for (const label of ['Token', 'App ID', 'Channel', 'UID', 'User account',
                                     'Platform', 'Role', 'Service']) {
                  assertEqual(`fields labelled ${label}`,
                              await page.getByLabel(label, { exact: true }).count(), 1);
                }
                const tag = await page.getByLabel('Token', { exact: true })
                                .evaluate((e) => e.tagName);
                assertEqual('Token is a', tag, 'TEXTAREA');
                assertEqual('Platform options',
                            (await page.getByLabel('Platform', { exact: true })
                                 .locator('option').evaluateAll((o) => o.map((x) => x.value)))
                                .join(','), 'native,objc,web');
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

  for (const s of scenarios) {
    const platform = PLATFORM_ALIAS[s.request.platform] || s.request.platform;
    await check(`${s.id}: ${CHOSEN[s.id]} -> ${s.expect.verdict}/${s.expect.cause}`, async () => {
      await prepareProject(s);
      await fillForm(page, s.request);
      const answer = await clickDiagnose(page);
      assertEqual('service answer cause', answer.cause, s.expect.cause);
      await expectShown(page, s.expect, platform);
    });
  }

  // The repair: s41's token lost its '+' signs; the page offers the cleaned token.
  const repairable = scenarios.find((s) => s.expect.repaired);
  await check(`repair button (${repairable.id}): diagnoses the repaired token`, async () => {
    await prepareProject(repairable);
    await fillForm(page, repairable.request);
    await clickDiagnose(page);
    const want = repairable.expect.repaired;
    assertEqual('repaired verdict shown', await text(page, '#repaired-verdict'), want.verdict);
    assertEqual('repaired cause shown', await text(page, '#repaired-cause'), want.cause);
    const answer = await submitAndWait(
        page, () => page.getByRole('button', { name: 'Use repaired token' }).click());
    assertEqual('token field', await page.getByLabel('Token', { exact: true }).inputValue(),
                want.token);
    assertEqual('service answer cause', answer.cause, want.cause);
    assertEqual('verdict shown', await text(page, '#verdict'), want.verdict);
    assertEqual('cause shown', await text(page, '#cause'), want.cause);
  });

  await check('decode preview of a valid token: version, App ID, services, expiry', async () => {
    const s = scenarios.find((x) => x.id === 's17');
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
    const s = scenarios.find((x) => x.id === 's5');
    await page.getByLabel('Token', { exact: true }).fill(s.request.token);
    const error = page.locator('#preview-error');
    await error.waitFor({ timeout: WAIT_MS });
    assert((await error.textContent()).startsWith('Does not decode'),
           `preview says: ${await error.textContent()}`);
    const hints = await page.locator('#preview-hints li code').allTextContents();
    assertEqual('hints', hints.join(','), s.expect.hints.join(','));
  });

  await check('a bad request shows the service\'s message naming the field', async () => {
    await page.getByLabel('Token', { exact: true }).fill('');
    await page.getByLabel('App ID', { exact: true }).fill('0123456789abcdef0123456789abcdef');
    await page.getByLabel('Channel', { exact: true }).fill('c');
    await page.getByLabel('UID', { exact: true }).fill('5');
    await page.getByLabel('User account', { exact: true }).fill('alice');
    await page.getByLabel('Service', { exact: true }).selectOption('rtc');
    expectedStatuses.add(`${BASE}/v1/diagnose 400`);
    try {
      await clickDiagnose(page);
    } finally {
      expectedStatuses.delete(`${BASE}/v1/diagnose 400`);
    }
    const failure = await text(page, '#failure');
    assert(/account|uid/.test(failure), `failure shown: ${failure}`);
  });

  await check('keyboard only: Tab through the form, Enter submits', async () => {
    const s = scenarios.find((x) => x.id === 's17');
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
                                  ['UID', String(s.request.uid)]]) {
      await tab(label);
      await page.keyboard.insertText(value);
    }
    // Enter in a text input submits. No `at` is sent, so the service judges now: this token
    // expired in 2024.
    const answer = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (judged now)', answer.cause, 'token_expired');
    assertEqual('verdict shown', await text(page, '#verdict'), 'rejected');
    // On to the button: the remaining fields, the Advanced section, then Diagnose.
    for (const name of ['User account', 'Platform', 'Role', 'Service', 'Advanced', 'Diagnose']) {
      await tab(name);
    }
    const byButton = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (button)', byButton.cause, 'token_expired');
    // Back to the Token field: Enter there diagnoses, Shift+Enter inserts a line break.
    for (const name of ['Advanced', 'Service', 'Role', 'Platform', 'User account', 'UID',
                        'Channel', 'App ID', 'Token']) {
      await tab(name, true);
    }
    const again = await submitAndWait(page, () => page.keyboard.press('Enter'));
    assertEqual('cause (Token field)', again.cause, 'token_expired');
    await page.keyboard.press('Shift+Enter');
    assert((await page.getByLabel('Token', { exact: true }).inputValue()).includes('\n'),
           'Shift+Enter in the Token field should insert a line break');
  });

  await check('phone viewport: nothing wider than the screen', async () => {
    const s = scenarios.find((x) => x.id === 's19');
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
    const s = scenarios.find((x) => x.id === 's17');
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
    const s = scenarios.find((x) => x.id === 's136');
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
