/* app.js -- the logic of tokendoctor's page for support engineers (see index.html).
 *
 * Design
 * ------
 * The page is a thin client of the service's public API (docs/spec/interfaces.md, "HTTP"):
 *   POST /v1/diagnose  the form, as JSON           -> the diagnosis, rendered in #result
 *   POST /v1/decode    the token while it is typed -> the live preview under the Token field
 *   GET  /v1/errors    once, when the page loads   -> other platforms' codes, hint and warning
 *                                                     texts, the reason and fix of non-errors
 * A diagnosis' own `error` (code, name, title, reason, solution) is shown as the service wrote
 * it: its solution already accounts for the hints. The catalog only adds what the answer does not
 * carry, from the table of the diagnosis' service and SDK generation (diagnosis.md "Error codes
 * by platform" and "The client's SDK"): an RTC join (`errors`), an RTM 1.x login, or an RTM 2.x
 * login (`rtm_errors`, by `sdk`; an rtm diagnosis whose sdk_version has major version 2 or more).
 * It keeps no copy of anything typed: no cookie, no localStorage/sessionStorage, nothing in the
 * URL (the form is POSTed as JSON, never submitted as a GET query). The optional API key (for a
 * service run with --auth all) lives only in its password field.
 *
 * Everything the service or the user supplies is inserted with textContent (the el() helper),
 * never as HTML, so a token or channel name cannot inject markup. The Content-Security-Policy
 * `default-src 'self'` forbids inline script and style, so this file attaches every handler and
 * style.css holds every style (elements get classes, never a style attribute).
 *
 * Requests race: a slow diagnosis or preview must not overwrite a newer one, so each kind has a
 * sequence number and a response is rendered only when it is still the latest. The preview is
 * debounced so that typing a token sends one request, not one per key.
 *
 * Keys: Enter submits from any input (native form behaviour). In the Token textarea Enter and
 * Ctrl/Cmd+Enter submit too, since a token never contains a line break, while Shift+Enter still
 * inserts one (to reproduce a token pasted with a stray newline).
 *
 * The user is named by a uid or by a user account, never both (the service refuses both): a
 * switch of two radios picks which, and one input holds the value, labelled after the choice
 * ("UID" or "User account"); only the chosen field is sent. The At field takes what the user
 * typed: digits are sent as a JSON integer (Unix seconds), anything else as the string (an
 * ISO-8601 UTC time such as 2024-11-17T14:06:00Z), and the service judges it.
 *
 * A 400 names the field it refuses ("<field>: <why>", "uid, account: <why>"): the page marks
 * each named input (aria-invalid, the message next to it and in its aria-describedby, focus on
 * the first one) as well as showing the message in the result panel. A field's mark goes when
 * it is edited or the form is sent again.
 *
 * "Use repaired token" puts the cleaned token in the Token field and diagnoses it; the new
 * answer replaces the button, so focus moves to the result panel's heading (the user reads on
 * from the top of the new answer). "Copy token" writes the repaired token to the clipboard
 * (Clipboard API; selected for Ctrl+C where it is not available) and says so next to the button.
 *
 * The SDK version field names the SDK the chosen service means (the Video SDK of a join, the RTM
 * SDK of a login) and is sent only when filled. The Platform list offers every platform name the
 * service accepts, grouped by the code table it reports with (data-codes of its optgroup): the
 * name itself matters with an SDK version (Flutter's first AccessToken2 release differs).
 */
'use strict';

(function () {
  const PLATFORMS = ['native', 'objc', 'web'];
  const PREVIEW_DELAY_MS = 300;

  /* What the client does: an rtc join or an rtm login. */
  const ACTION = { rtc: 'join', rtm: 'login' };

  const VERDICT_TEXT = {
    joinable: (a) => 'The platform accepts this ' + a + '.',
    rejected: (a) => 'The platform refuses this ' + a + '.',
    unverifiable: (a) => 'The token fits this ' + a + ', but this service has no configuration ' +
                             'for the App ID: its signature and certificate rules cannot be ' +
                             'checked.',
  };

  /* The SDK version field of each service: the SDK it means. */
  const SDK_FIELD = {
    rtc: {
      label: 'Video SDK version',
      placeholder: 'e.g. 4.8.0',
      help: 'The version of the Video SDK the client runs (MAJOR.MINOR or MAJOR.MINOR.PATCH). ' +
                'An SDK older than AccessToken2 support cannot read a 007 token. Empty: not known.',
    },
    rtm: {
      label: 'RTM SDK version',
      placeholder: 'e.g. 2.2.0',
      help: 'The version of the RTM SDK the client runs (MAJOR.MINOR or MAJOR.MINOR.PATCH): ' +
                'RTM 2.x reports its own error codes, and an SDK older than AccessToken2 support ' +
                'cannot read a 007 token. Empty: not known (RTM 1.x codes).',
    },
  };

  /* The catalog tables (diagnosis.md "Error codes by platform"), and what their codes are. */
  const TABLE_CODE_LABEL = {
    rtc: 'Error code',
    'rtm 1.x': 'RTM login error',
    'rtm 2.x': 'RTM 2.x error code',
  };
  const VERDICT_MARK = { joinable: '✓', rejected: '✗', unverifiable: '?' };

  const CHECK_MARK = { pass: '✓', fail: '✗', warn: '!', skip: '–' };

  /* The identity input after the switch: its label, keyboard and help. */
  const IDENTITY = {
    uid: { label: 'UID', inputmode: 'numeric',
           help: '0..4294967295; 0 lets the SDK pick.' },
    account: { label: 'User account', inputmode: 'text',
               help: 'A string account (for rtm: the user id), sent exactly as typed.' },
  };

  /* The input of each request field a 400 may name ("<field>: <why>"). */
  const FIELD_INPUT = {
    token: 'token',
    app_id: 'app-id',
    channel: 'channel',
    uid: 'identity',
    account: 'identity',
    platform: 'platform',
    role: 'role',
    service: 'service',
    sdk_version: 'sdk-version',
    at: 'at',
  };

  /* ---- DOM helpers: text only, never HTML ------------------------------------------------ */

  function $(id) {
    return document.getElementById(id);
  }

  /* el('p', {class: 'x', id: 'y', ...attributes}, child, 'text', ...): children are nodes or
   * strings (inserted as text nodes); null/undefined children are skipped. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === 'class') node.className = value;
        else node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' || typeof child === 'number'
                           ? document.createTextNode(String(child))
                           : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* ---- Times ------------------------------------------------------------------------------ */

  function isoUtc(unix) {
    const d = new Date(unix * 1000);
    if (Number.isNaN(d.getTime())) return String(unix);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  /* "3 d 4 h", "2 h 5 min", "4 min 2 s", "9 s": two units at most, for a reader. */
  function duration(seconds) {
    let s = Math.floor(Math.abs(seconds));
    const units = [
      ['d', 86400],
      ['h', 3600],
      ['min', 60],
      ['s', 1],
    ];
    const parts = [];
    for (const [name, size] of units) {
      if (s >= size || (name === 's' && parts.length === 0)) {
        parts.push(Math.floor(s / size) + ' ' + name);
        s %= size;
      }
      if (parts.length === 2) break;
      if (parts.length === 1 && s === 0) break;
    }
    return parts.join(' ');
  }

  function relative(unix, now) {
    const delta = unix - now;
    return delta > 0 ? 'in ' + duration(delta) : 'expired ' + duration(delta) + ' ago';
  }

  function nowUnix() {
    return Math.floor(Date.now() / 1000);
  }

  /* ---- HTTP ------------------------------------------------------------------------------- */

  /* Resolves to {status, body} (body: parsed JSON or null); rejects only when the service
   * cannot be reached. The API key of the Advanced section, when filled (a service run with
   * --auth all), goes in the Authorization header; it lives only in that field. */
  async function api(method, path, body) {
    const init = {
      method,
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
      referrerPolicy: 'no-referrer',
    };
    const key = $('api-key').value.trim();
    if (key !== '') init.headers.Authorization = 'Bearer ' + key;
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch (e) {
      parsed = null;
    }
    return { status: response.status, body: parsed };
  }

  function errorMessage(status, body) {
    const error = body && body.error;
    let message = 'HTTP ' + status;
    if (error && typeof error === 'object') {
      const code = error.code ? String(error.code) : 'error';
      message = code + ': ' + (error.message ? String(error.message) : message);
    }
    if (status === 401) message += ' (enter an API key under Advanced)';
    return message;
  }

  /* ---- The error catalog (GET /v1/errors), loaded once ------------------------------------ */

  let catalogPromise = null;

  /* A {code, name, also} of the catalog or of a diagnosis' error.also, or null. */
  function codeOf(value) {
    if (!value || typeof value !== 'object') return null;
    const code = typeof value.code === 'number' ? value.code : null;
    const name = typeof value.name === 'string' ? value.name : null;
    if (code === null && name === null) return null;
    return { code, name, also: Array.isArray(value.also) ? value.also : [] };
  }

  /* The catalog table of a service and SDK generation: 'rtc', 'rtm 1.x' or 'rtm 2.x'. */
  function tableKey(service, sdk) {
    if (service !== 'rtm') return 'rtc';
    return sdk === '2.x' ? 'rtm 2.x' : 'rtm 1.x';
  }

  /* The major version of an sdk_version text ("2.2.0", "v4.20"), or null. */
  function sdkMajor(version) {
    const m = /^[vV]?(\d+)\./.exec(typeof version === 'string' ? version : '');
    return m ? Number(m[1]) : null;
  }

  /* The table a diagnosis' codes come from: rtc; rtm with an SDK of major version 2 or more
   * (Signaling 2.x, its own codes); rtm otherwise (1.x, also when the version is not known). */
  function tableOf(service, sdkVersion) {
    if (service !== 'rtm') return 'rtc';
    const major = sdkMajor(sdkVersion);
    return tableKey('rtm', major !== null && major >= 2 ? '2.x' : '1.x');
  }

  /* The catalog as {tables: Map table -> Map cause -> {codes: {platform: {code, name, also}},
   * title, reason, solution}, hints: Map id -> text, warnings: Map id -> text}, from what the
   * service (this page's own binary) sends: {"errors": [RTC rows], "rtm_errors": [RTM rows, "sdk"
   * "1.x" or "2.x"], "hints": [{hint, text}], "warnings": [{warning, text}]}, each row {cause,
   * service, sdk, title, codes: {native, objc, web}, reason, solution}. No answer (null): an
   * empty catalog, and the page shows fewer details. */
  function normalizeCatalog(json) {
    const catalog = { tables: new Map(), hints: new Map(), warnings: new Map() };
    if (!json || typeof json !== 'object') return catalog;
    const rows = [].concat(Array.isArray(json.errors) ? json.errors : [],
                           Array.isArray(json.rtm_errors) ? json.rtm_errors : []);
    for (const entry of rows) {
      if (!entry || typeof entry.cause !== 'string') continue;
      const codes = {};
      for (const platform of PLATFORMS) {
        const c = codeOf(entry.codes && entry.codes[platform]);
        if (c) codes[platform] = c;
      }
      const key = tableKey(entry.service, entry.sdk);
      if (!catalog.tables.has(key)) catalog.tables.set(key, new Map());
      catalog.tables.get(key).set(entry.cause, {
        codes,
        title: typeof entry.title === 'string' ? entry.title : null,
        reason: typeof entry.reason === 'string' ? entry.reason : null,
        solution: typeof entry.solution === 'string' ? entry.solution : null,
      });
    }
    for (const [kind, key] of [['hints', 'hint'], ['warnings', 'warning']]) {
      if (!Array.isArray(json[kind])) continue;
      for (const item of json[kind]) {
        if (item && typeof item[key] === 'string' && typeof item.text === 'string') {
          catalog[kind].set(item[key], item.text);
        }
      }
    }
    return catalog;
  }

  /* The catalog row of a cause in a table, or null. */
  function catalogEntry(catalog, table, cause) {
    const rows = catalog.tables.get(table);
    return (rows && rows.get(cause)) || null;
  }

  /* Fetched once; a failure (service down, 401 before an API key was entered) is not kept, so
   * the next diagnosis asks again. */
  function loadCatalog() {
    if (!catalogPromise) {
      const retry = () => {
        catalogPromise = null;
        return normalizeCatalog(null);
      };
      catalogPromise = api('GET', '/v1/errors')
                           .then((r) => (r.status === 200 ? normalizeCatalog(r.body) : retry()))
                           .catch(retry);
    }
    return catalogPromise;
  }

  /* ---- Reading the form ------------------------------------------------------------------- */

  /* The diagnosis inputs: empty fields are omitted (the service applies its defaults, `at`
   * included: now); uid and at are sent as integers when they are digits, otherwise as typed
   * (an ISO-8601 `at`; a bad uid, so that the service's 400 names the field). The identity
   * input is sent as the uid or as the account, as the switch says, never as both. The SDK
   * version is sent trimmed, and only when filled; a malformed one is the service's 400 too. */
  function readForm() {
    const request = {};
    const text = (id) => $(id).value;
    if (text('token') !== '') request.token = text('token');
    if (text('app-id') !== '') request.app_id = text('app-id');
    if (text('channel') !== '') request.channel = text('channel');
    if (identityKind() === 'account') {
      if (text('identity') !== '') request.account = text('identity');
    } else {
      const uid = text('identity').trim();
      if (uid !== '') request.uid = /^\d+$/.test(uid) ? Number(uid) : uid;
    }
    request.platform = text('platform');
    request.role = text('role');
    request.service = text('service');
    const sdk = text('sdk-version').trim();
    if (sdk !== '') request.sdk_version = sdk;
    const at = text('at').trim();
    if (at !== '') request.at = /^\d+$/.test(at) ? Number(at) : at;
    return request;
  }

  /* The code table (native, objc, web) of the chosen platform: its optgroup's data-codes. */
  function platformCodes() {
    const option = $('platform').selectedOptions[0];
    const group = option && option.parentElement;
    return (group && group.getAttribute('data-codes')) || 'native';
  }

  /* The SDK version field names the SDK of the chosen service. */
  function updateSdkField() {
    const field = SDK_FIELD[$('service').value] || SDK_FIELD.rtc;
    const input = $('sdk-version');
    input.labels[0].textContent = field.label;
    input.placeholder = field.placeholder;
    $('sdk-version-help').textContent = field.help;
  }

  /* 'uid' or 'account': the switch's choice. */
  function identityKind() {
    return $('identity-account').checked ? 'account' : 'uid';
  }

  /* The identity input is labelled after the switch ("UID" or "User account"). */
  function updateIdentityField() {
    const kind = IDENTITY[identityKind()];
    const input = $('identity');
    input.labels[0].textContent = kind.label;
    input.setAttribute('inputmode', kind.inputmode);
    $('identity-help').textContent = kind.help;
  }

  /* ---- Field errors ----------------------------------------------------------------------- */

  /* Marks an input as refused: aria-invalid, the reason next to it (after the input, before
   * its help) and first in its aria-describedby. */
  function markField(id, text) {
    const input = $(id);
    if (!input || input.getAttribute('aria-invalid') === 'true') return;
    const note = el('p', { id: id + '-error', class: 'field-error' }, text);
    input.insertAdjacentElement('afterend', note);
    const described = input.getAttribute('aria-describedby');
    input.setAttribute('data-describedby', described || '');
    input.setAttribute('aria-describedby', described ? note.id + ' ' + described : note.id);
    input.setAttribute('aria-invalid', 'true');
  }

  function unmarkField(input) {
    if (input.getAttribute('aria-invalid') !== 'true') return;
    const note = $(input.id + '-error');
    if (note) note.remove();
    const described = input.getAttribute('data-describedby');
    if (described) input.setAttribute('aria-describedby', described);
    else input.removeAttribute('aria-describedby');
    input.removeAttribute('data-describedby');
    input.removeAttribute('aria-invalid');
  }

  function clearFieldErrors() {
    for (const input of document.querySelectorAll('#diagnose-form [aria-invalid="true"]')) {
      unmarkField(input);
    }
  }

  /* A 400's "<field>[, <field>...]: <why>": each named field the form has gets the reason.
   * Returns the first input marked (null when the message names none of them). */
  function showFieldErrors(body) {
    const error = body && body.error;
    const message = error && typeof error.message === 'string' ? error.message : '';
    const m = /^([a-z_]+(?:, [a-z_]+)*): (.+)$/s.exec(message);
    if (!m) return null;
    let first = null;
    for (const field of m[1].split(', ')) {
      const id = FIELD_INPUT[field];
      if (!id) continue;
      const input = $(id);
      const details = input.closest('details');
      if (details) details.open = true; /* the At field lives under Advanced */
      markField(id, m[2]);
      if (!first) first = input;
    }
    return first;
  }

  /* ---- Rendering a diagnosis -------------------------------------------------------------- */

  let countdownTimer = null;

  function stopCountdown() {
    if (countdownTimer !== null) {
      clearInterval(countdownTimer);
      countdownTimer = null;
    }
  }

  function section(title, ...children) {
    return el('section', { class: 'block' }, el('h3', null, title), ...children);
  }

  function codeLabel(c) {
    if (!c || (c.code === null && !c.name)) return 'none';
    return [c.code, c.name].filter((x) => x !== null && x !== undefined).join(' ');
  }

  function renderVerdict(d, view) {
    const verdict = String(d.verdict);
    const says = VERDICT_TEXT[verdict];
    return el('div', { class: 'verdict verdict-' + verdict.replace(/[^a-z_]/g, '') },
              el('span', { class: 'verdict-mark', 'aria-hidden': 'true' },
                 VERDICT_MARK[verdict] || '•'),
              el('div', { class: 'verdict-text' },
                 el('strong', { id: 'verdict', 'data-verdict': verdict }, verdict),
                 el('span', { class: 'verdict-says' }, says ? says(view.action) : '')));
  }

  /* The error code as the platform reports it: the number and the constant name, or the name
   * alone where the platform reports no number (web, channel_name_invalid: INVALID_PARAMS). */
  function renderErrorCode(error) {
    const name = el('code', { id: 'error-name' }, String(error.name || ''));
    if (typeof error.code !== 'number') {
      return [name, el('span', { class: 'muted' }, ' (named only: the SDK gives no number)')];
    }
    return [el('span', { id: 'error-code', class: 'error-code', 'data-code': error.code },
               String(error.code)),
            ' ', name];
  }

  /* Cause, the error code for the chosen platform (and the codes it may also report), and the
   * other platforms' codes from the catalog table of the diagnosis' service and SDK. */
  function renderCodes(d, catalog, view) {
    const entry = catalogEntry(catalog, view.table, d.cause);
    const error = d.error && typeof d.error === 'object' ? d.error : null;
    const platform = error && error.platform ? String(error.platform) : view.codes;
    const title = (error && error.title) || (entry && entry.title);
    const list = el('dl', { class: 'facts' });
    list.append(el('dt', null, 'Cause'),
                el('dd', null, el('code', { id: 'cause', 'data-cause': d.cause }, String(d.cause)),
                   title ? el('span', { class: 'muted', id: 'cause-title' }, ' — ' + title)
                         : null));
    const label = (TABLE_CODE_LABEL[view.table] || 'Error code') + ' (' + platform + ')';
    if (error) {
      const also = Array.isArray(error.also) && error.also.length
                       ? el('span', { class: 'also' }, ' also reported as ',
                            error.also.map((a) => codeLabel(codeOf(a))).join(', '))
                       : null;
      list.append(el('dt', null, label),
                  el('dd', { id: 'error' }, ...renderErrorCode(error), also));
      const others = PLATFORMS.filter((p) => p !== platform && entry && entry.codes[p]);
      if (others.length) {
        list.append(el('dt', null, 'Other platforms'),
                    el('dd', null,
                       el('ul', { id: 'other-platforms', class: 'inline-list' },
                          ...others.map((p) => el('li', null, p + ': ',
                                                  el('code', null, codeLabel(entry.codes[p])))))));
      }
    } else {
      list.append(el('dt', null, label),
                  el('dd', null, el('span', { id: 'error-code', 'data-code': '' }, 'none'),
                     el('span', { class: 'muted' }, ' — the ' + view.action + ' is not refused')));
    }
    if (typeof d.sdk_version === 'string') {
      list.append(el('dt', null, view.service === 'rtm' ? 'RTM SDK' : 'Video SDK'),
                  el('dd', null, el('code', { id: 'sdk-judged' }, d.sdk_version),
                     view.table === 'rtm 2.x' ? el('span', { class: 'muted' }, ' (RTM 2.x codes)')
                                              : null));
    }
    return list;
  }

  /* The reason and the fix: the diagnosis' own (its solution accounts for the hints), else, for
   * a cause that is not an error, the catalog's. */
  function renderReasonFix(d, catalog, view) {
    const error = d.error && typeof d.error === 'object' ? d.error : null;
    const entry = catalogEntry(catalog, view.table, d.cause);
    const reason = error ? error.reason : entry && entry.reason;
    const solution = error ? error.solution : entry && entry.solution;
    const nodes = [];
    if (reason) nodes.push(section('Why', el('p', { id: 'reason' }, String(reason))));
    if (solution) {
      nodes.push(section('Fix', el('p', { id: 'fix', class: 'fix' }, String(solution))));
    }
    return nodes;
  }

  /* Hint or warning ids, each with its explanation from the catalog. */
  function idList(id, ids, texts) {
    return el('ul', { id, class: 'notes' },
              ...ids.map((x) => el('li', null, el('code', null, String(x)),
                                   texts.has(x) ? ' — ' + texts.get(x) : '')));
  }

  function renderIdList(title, id, ids, texts) {
    if (!Array.isArray(ids) || ids.length === 0) return null;
    return section(title, idList(id, ids, texts));
  }

  /* What the repair removed, by the hints of the damage it undid (diagnosis.md "Repair"). */
  const REPAIR_STEPS = [
    ['whitespace', 'surrounding whitespace'],
    ['quoted', 'quotes'],
    ['auth_prefix', 'a "Bearer " or "token=" prefix'],
    ['json_escaped', 'JSON escaping (\\/ for /)'],
    ['percent_encoded', 'URL encoding (%2B, %2F, %3D)'],
    ['url_decoded', 'spaces that were "+" signs'],
  ];

  function repairSteps(hints) {
    const steps = REPAIR_STEPS.filter(([hint]) => Array.isArray(hints) && hints.includes(hint))
                      .map(([, text]) => text);
    if (steps.length === 0) return 'Cleaned';
    const last = steps.pop();
    return 'Cleaned of ' + (steps.length ? steps.join(', ') + ' and ' : '') + last;
  }

  /* Writes text to the clipboard: the Clipboard API (a secure context: https or localhost),
   * else the selection and the copy command. Nothing leaves the browser. Resolves to what to
   * tell the user. */
  async function copyText(text, pre) {
    if (navigator.clipboard && typeof navigator.clipboard.writeText === 'function') {
      try {
        await navigator.clipboard.writeText(text);
        return { ok: true, say: 'Copied to the clipboard.' };
      } catch (e) {
        /* refused (permission, no focus): fall back to the selection below */
      }
    }
    const selection = window.getSelection();
    selection.selectAllChildren(pre);
    let copied = false;
    try {
      copied = document.execCommand('copy');
    } catch (e) {
      copied = false;
    }
    if (copied) {
      selection.removeAllRanges();
      return { ok: true, say: 'Copied to the clipboard.' };
    }
    return { ok: false, say: 'Could not copy: the token is selected, press Ctrl+C (⌘C).' };
  }

  function renderRepaired(d) {
    const r = d.repaired;
    if (!r || typeof r !== 'object' || typeof r.token !== 'string') return null;
    const pre = el('pre', { class: 'token-text', id: 'repaired-token' }, r.token);
    const button = el('button', { type: 'button', id: 'use-repaired', class: 'secondary' },
                      'Use repaired token');
    button.addEventListener('click', () => {
      $('token').value = r.token;
      schedulePreview();
      /* This button goes with the answer it belongs to: focus the new answer's heading. */
      diagnose({ focusResult: true });
    });
    const copied = el('span', { id: 'copy-status', class: 'copy-status' });
    const copy = el('button', { type: 'button', id: 'copy-repaired', class: 'secondary' },
                    'Copy token');
    copy.addEventListener('click', async () => {
      copied.textContent = '';
      const outcome = await copyText(r.token, pre);
      copied.className = outcome.ok ? 'copy-status copy-ok' : 'copy-status copy-bad';
      copied.textContent = outcome.say;
    });
    return el('section', { class: 'block repaired', id: 'repaired' },
              el('h3', null, 'Repaired token'),
              el('p', null, repairSteps(d.hints) + ', the token would be ',
                 el('strong', { id: 'repaired-verdict', class: 'tag tag-' + r.verdict },
                    String(r.verdict)),
                 ' (', el('code', { id: 'repaired-cause' }, String(r.cause)), ').'),
              pre, el('div', { class: 'repaired-actions' }, button, copy, copied));
  }

  function renderExpiry(d) {
    if (typeof d.expires_at !== 'number') {
      return section('Expiry', el('p', { class: 'muted' }, 'No decodable token: no expiry.'));
    }
    const countdown = el('span', { id: 'countdown', 'aria-live': 'off' });
    const tick = () => {
      countdown.textContent = relative(d.expires_at, nowUnix());
      countdown.className = d.expires_at > nowUnix() ? 'countdown' : 'countdown expired';
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
    /* The diagnosis judged expiry at `at` (now, or the At field): say how it stood then. */
    let judged = null;
    if (typeof d.at === 'number' && typeof d.expires_in === 'number') {
      const state = d.expires_in > 0 ? 'valid for ' + duration(d.expires_in)
                                     : 'expired ' + duration(d.expires_in) + ' before';
      judged = el('p', { class: 'muted' }, 'At the time judged (' + isoUtc(d.at) + '): ' + state);
    }
    return section('Expiry',
                   el('p', null, 'Expires ', el('time', { id: 'expires-at' }, isoUtc(d.expires_at)),
                      ' — ', countdown),
                   judged);
  }

  /* One check: a mark (also readable as the status word, not by colour alone), the check id,
   * its status and what it compared. */
  function renderCheck(c) {
    const status = String(c.status);
    const kind = status.replace(/[^a-z]/g, '');
    return el('li', { class: 'check check-' + kind, 'data-status': status },
              el('span', { class: 'check-mark', 'aria-hidden': 'true' }, CHECK_MARK[kind] || '•'),
              el('code', null, String(c.id)), ' ', el('span', { class: 'check-status' }, status),
              c.detail ? el('span', { class: 'check-detail' }, ' — ' + c.detail) : null);
  }

  function renderChecks(d) {
    if (!Array.isArray(d.checks)) return null;
    return section('Checks',
                   el('ol', { id: 'checks', class: 'checks' }, ...d.checks.map(renderCheck)));
  }

  function renderProject(d) {
    const p = d.project;
    if (!p || typeof p !== 'object') return null;
    const facts = el('dl', { class: 'facts' });
    facts.append(el('dt', null, 'Known to this service'), el('dd', null, p.known ? 'yes' : 'no'));
    if (p.known) {
      facts.append(el('dt', null, 'Certificates enabled'),
                   el('dd', null, String(p.certificate_mode)),
                   el('dt', null, '"No certificate" switch'),
                   el('dd', null, p.no_certificate ? 'on' : 'off'),
                   el('dt', null, 'Signed with'),
                   el('dd', null, p.signed_with ? String(p.signed_with) + ' certificate' : '—'));
    }
    return section('Project', facts);
  }

  function renderToken(d) {
    if (!d.token || typeof d.token !== 'object') return null;
    return el('details', { class: 'block decoded', id: 'decoded-token' },
              el('summary', null, 'Decoded token'),
              el('pre', { class: 'json' }, JSON.stringify(d.token, null, 2)));
  }

  /* What a diagnosis is read with: the service (rtc join, rtm login), the code table of the
   * chosen platform, and the catalog table of the service and the SDK version judged by (the
   * answer's echo). */
  function viewOf(d, request, codes) {
    const service = request.service === 'rtm' ? 'rtm' : 'rtc';
    const sdk = 'sdk_version' in d ? d.sdk_version : request.sdk_version;
    return { service, action: ACTION[service], codes, table: tableOf(service, sdk) };
  }

  function renderDiagnosis(d, catalog, view) {
    const result = $('result-body');
    stopCountdown();
    clear(result);
    result.append(renderVerdict(d, view), renderCodes(d, catalog, view),
                  ...renderReasonFix(d, catalog, view));
    for (const node of [renderIdList('Hints', 'hints', d.hints, catalog.hints),
                        renderIdList('Warnings', 'warnings', d.warnings, catalog.warnings),
                        renderRepaired(d), renderExpiry(d), renderChecks(d), renderProject(d),
                        renderToken(d)]) {
      if (node) result.append(node);
    }
    $('result').setAttribute('data-state', 'done');
  }

  function renderFailure(text) {
    const result = $('result-body');
    stopCountdown();
    clear(result);
    result.append(el('div', { class: 'failure', id: 'failure' },
                     el('strong', null, 'No diagnosis. '), text));
    $('result').setAttribute('data-state', 'error');
  }

  /* ---- Diagnose --------------------------------------------------------------------------- */

  let diagnoseSeq = 0;

  /* options.focusResult: move focus to the result's heading once the answer is shown (the
   * control that asked is gone with the previous answer). */
  async function diagnose(options) {
    const seq = ++diagnoseSeq;
    const request = readForm();
    const codes = platformCodes();
    clearFieldErrors();
    $('busy').hidden = false;
    $('result').setAttribute('aria-busy', 'true');
    $('result').setAttribute('data-state', 'busy');
    let invalid = null;
    try {
      const [response, catalog] = await Promise.all([api('POST', '/v1/diagnose', request),
                                                     loadCatalog()]);
      if (seq !== diagnoseSeq) return;
      if (response.status === 200 && response.body && typeof response.body === 'object') {
        renderDiagnosis(response.body, catalog, viewOf(response.body, request, codes));
      } else {
        renderFailure(errorMessage(response.status, response.body));
        if (response.status === 400) invalid = showFieldErrors(response.body);
      }
    } catch (e) {
      if (seq === diagnoseSeq) renderFailure('The service did not answer (' + e.message + ').');
    } finally {
      if (seq === diagnoseSeq) {
        $('busy').hidden = true;
        $('result').removeAttribute('aria-busy');
        if (invalid) invalid.focus();
        else if (options && options.focusResult) $('result-heading').focus();
      }
    }
  }

  /* ---- The live decode preview ------------------------------------------------------------ */

  let previewTimer = null;
  let previewSeq = 0;

  function describeService(s) {
    const name = s && s.name ? String(s.name) : 'type ' + (s && s.type);
    const parts = [];
    for (const key of ['channel', 'uid', 'user_id', 'account', 'room_uuid', 'user_uuid', 'role']) {
      if (s && s[key] !== undefined && s[key] !== null) {
        const value = s[key] === '' ? '(any)' : String(s[key]);
        parts.push(key + ' ' + JSON.stringify(value).slice(1, -1));
      }
    }
    return parts.length ? name + ' (' + parts.join(', ') + ')' : name;
  }

  function renderPreviewToken(t) {
    const preview = $('preview');
    clear(preview);
    preview.className = 'preview preview-ok';
    const facts = el('dl', { class: 'facts compact' });
    facts.append(el('dt', null, 'Version'), el('dd', { id: 'preview-version' }, String(t.version)),
                 el('dt', null, 'App ID'), el('dd', { id: 'preview-app-id' }, String(t.app_id)));
    let services;
    if (Array.isArray(t.services)) {
      services = t.services.length ? t.services.map(describeService).join('; ') : 'none';
    } else if (Array.isArray(t.privileges)) {
      services = 'privileges ' + (t.privileges.map((p) => p.name || p.id).join(', ') || 'none');
    } else {
      services = '—';
    }
    facts.append(el('dt', null, 'Services'), el('dd', { id: 'preview-services' }, services));
    /* The service derives it (td_token_expiry): the page does not apply the rule again. */
    const expiry = typeof t.expires_at === 'number' ? t.expires_at : null;
    const when =
        expiry === null ? '—' : isoUtc(expiry) + ' (' + relative(expiry, nowUnix()) + ')';
    facts.append(el('dt', null, 'Expires'), el('dd', { id: 'preview-expiry' }, when));
    preview.append(el('p', { class: 'preview-title' }, 'Decodes as:'), facts);
    preview.hidden = false;
  }

  function renderPreviewFailure(status, body, catalog) {
    const preview = $('preview');
    clear(preview);
    preview.className = 'preview preview-bad';
    const error = body && body.error && typeof body.error === 'object' ? body.error : {};
    let hints = error.hints || (body && body.hints) || [];
    if (!Array.isArray(hints)) hints = [];
    const message = status === 422 ? 'Does not decode: ' + (error.message || 'malformed token')
                                   : 'No preview: ' + errorMessage(status, body);
    preview.append(el('p', { id: 'preview-error' }, message));
    if (hints.length) {
      preview.append(idList('preview-hints', hints, catalog.hints));
    }
    preview.hidden = false;
  }

  async function decodePreview(token) {
    const seq = ++previewSeq;
    try {
      const [response, catalog] = await Promise.all([api('POST', '/v1/decode', { token }),
                                                     loadCatalog()]);
      if (seq !== previewSeq) return;
      if (response.status === 200 && response.body && typeof response.body === 'object') {
        renderPreviewToken(response.body);
      } else {
        renderPreviewFailure(response.status, response.body, catalog);
      }
    } catch (e) {
      if (seq === previewSeq) renderPreviewFailure(0, null, normalizeCatalog(null));
    }
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    const token = $('token').value;
    if (token === '') {
      ++previewSeq; /* drop any answer still on its way */
      $('preview').hidden = true;
      clear($('preview'));
      return;
    }
    previewTimer = setTimeout(() => decodePreview(token), PREVIEW_DELAY_MS);
  }

  /* ---- Wiring ----------------------------------------------------------------------------- */

  /* ---- Probes (serve --probe): one status line, for an admin key only ----------------------
   * GET /v1/probes is admin-only, so it is asked only once an API key is entered (never on
   * load: a page without a key would only collect 401s). */
  async function loadProbes() {
    const line = $('probes');
    line.hidden = true;
    if ($('api-key').value.trim() === '') return;
    let answer;
    try {
      answer = await api('GET', '/v1/probes');
    } catch (e) {
      return;
    }
    const probes = answer.status === 200 && answer.body && Array.isArray(answer.body.probes)
      ? answer.body.probes : [];
    if (probes.length === 0) return;
    line.textContent = 'Token server probes: ' + probes.map((p) => {
      const last = p.last && Array.isArray(p.last.findings) ? p.last.findings : [];
      const state = p.success === null ? 'not run yet'
        : p.success ? 'ok' : last.length ? last.map((f) => f.id).join(', ') : 'failed';
      return String(p.name) + ': ' + state;
    }).join('; ') + ' (details: /v1/probes).';
    line.hidden = false;
  }

  function onTokenKeydown(event) {
    if (event.key !== 'Enter' || event.isComposing || event.shiftKey || event.altKey) return;
    event.preventDefault();
    $('diagnose-form').requestSubmit();
  }

  function start() {
    const form = $('diagnose-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      diagnose();
    });
    $('token').addEventListener('input', schedulePreview);
    $('token').addEventListener('keydown', onTokenKeydown);
    $('service').addEventListener('change', updateSdkField);
    updateSdkField(); /* the service may have been restored by the browser */
    for (const radio of document.querySelectorAll('input[name="identity_kind"]')) {
      radio.addEventListener('change', () => {
        unmarkField($('identity'));
        updateIdentityField();
      });
    }
    updateIdentityField();
    /* An edited field's mark is out of date. */
    form.addEventListener('input', (event) => {
      if (event.target && event.target.id) unmarkField(event.target);
    });
    form.addEventListener('change', (event) => {
      if (event.target && event.target.id) unmarkField(event.target);
    });
    if ($('token').value !== '') schedulePreview(); /* a value restored by the browser */
    $('api-key').addEventListener('change', loadProbes);
    loadCatalog();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
