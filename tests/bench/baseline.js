#!/usr/bin/env node
// baseline.js -- the checker a user would write today: a small Node program around the vendor's
// npm token libraries (agora-token@2.0.6 for "007", agora-access-token@2.0.4 for "006"). It is
// the baseline every tokendoctor figure in docs/performance.md is a ratio against.
//
// Design
// ------
// It makes the same checks as tokendoctor's diagnosis (docs/spec/diagnosis.md, v2), in the same
// precedence order and without short-cuts, so that both sides do the same work: validate the
// request (sdk_version and `at` included), look the project up by App ID, check the channel name,
// take an App ID passed as token for no token, parse the token with the vendor library, check the
// client's SDK reads it (5a), compare App ID, service, channel, uid (CRC-32 for 006; for an rtm
// login the user id, with the 006 RTM builder's layout), verify the signature with every enabled
// certificate of the project (and, when none verifies, the disabled, retired, App ID and sample
// candidates, for the hints), then token and privilege expiry (before uid and signature for an
// rtm login), the hints, the repair of a mechanically damaged token and the warnings. Codes are
// those of the request's platform and service: RTC, RTM 1.x, or RTM 2.x with an sdk_version of 2
// or later. Where the vendor library is lenient (Node's base64 decoder skips characters outside
// the alphabet; agora-access-token reads a 006 content cut short as if zero-padded) a strict test
// is added, as a careful user would, so that both checkers reject the same tokens.
//
// Answers are the verdict/cause/code of diagnosis.md, so run.sh can compare the two checkers
// request by request: a benchmark of two programs that disagree would measure nothing.
//
// Modes
//   node baseline.js batch --project projects.json [--workers N] [FILE|-]
//        one JSON line in, one summary JSON line out ({id, verdict, cause, code, hints, warnings,
//        expires_at}), like `tokendoctor diagnose --batch --summary`; never stops at a bad line.
//        --workers N > 1: the lines are shared out to N processes, answers merged in order.
//   node baseline.js serve --project projects.json [--port 8090] [--workers N]
//        POST /v1/diagnose (the diagnosis JSON, sdk_version echoed), GET /healthz; with
//        --workers N > 1, a `cluster` of N worker processes sharing the port (the usual way to
//        use 2 cores with Node).
//   node baseline.js selftest tests/vectors/v2/scenarios.jsonl tests/vectors/v2/sdk.jsonl
//        checks this checker against the contract's scenarios, every expected field (verdict,
//        cause, code, hints and warnings as sets, expires_at, repaired; a line expecting
//        {"bad_request": true} must be refused); one summary line, exit 0 only if all pass.
'use strict';

const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const crc32 = require('crc-32');
const { AccessToken2 } = require('agora-token/src/AccessToken2');
const { AccessToken } = require('agora-access-token/src/AccessToken');

// agora-access-token's fromString() console.log()s every parse error; a checker must not print
// the token's parse errors into its answers, so silence it (answers are written directly).
console.log = () => {};

const HEX32 = /^[0-9a-fA-F]{32}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CHANNEL_OK = /^[a-zA-Z0-9 !#$%&()+\-:;<=.>?@[\]^_{}|~,]*$/;
// Whitespace as C's isspace() sees it (String.prototype.trim also strips Unicode spaces).
const WS_ENDS = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;
const SDK_VERSION = /^v?([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,4}))?$/;
const ISO_UTC = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?Z$/;
const SAMPLE_APP_ID = '970CA35de60c44645bbae8a215061b33';
const SAMPLE_CERTIFICATE = '5CFd2fd1755d40ecb72977518be15d3b';
const UINT32_MAX = 4294967295;

const PLATFORM_ALIASES = {
    native: 'native', android: 'native', windows: 'native', linux: 'native', unity: 'native',
    electron: 'native', flutter: 'native', 'react-native': 'native', cocos: 'native',
    objc: 'objc', ios: 'objc', macos: 'objc', web: 'web',
};

// The first SDK of each kind that reads AccessToken2 ("007"), by the platform the request names
// (before aliasing); diagnosis.md "The client's SDK". Cocos has none fixed: not judged.
const RTC_FIRST_007 = { web: [4, 8, 0], flutter: [4, 2, 0], cocos: null };
const RTC_FIRST_007_OTHER = [3, 5, 2];
const RTM_FIRST_007 = { web: [1, 4, 6] };
const RTM_FIRST_007_OTHER = [1, 5, 0];

// ---- The error catalog --------------------------------------------------------------------

const RTM1_OLD_SDK_FIX = 'Upgrade the RTM SDK to 1.5.0 or later (web 1.4.6), or build a 006 token with the RTM builder of AccessToken (RtmTokenBuilder).';
const RTC_OLD_SDK_FIX = 'Upgrade the SDK (3.5.2, Web 4.8.0, Flutter 4.2.0 or later), or build a 006 token with the AccessToken builder (RtcTokenBuilder).';
const FIX_TOKEN = 'Generate the token with exactly the App ID, channel and uid used to join.';
const FIX_RENEW = 'Fetch a new token from your token server and call renewToken (or rejoin with it after onRequestToken / token-privilege-did-expire).';
const CATALOG = {
    app_id_malformed: ['The App ID is not 32 hexadecimal characters.', 'Copy the App ID from the Console exactly.'],
    channel_name_invalid: ['The channel name is 64 bytes or more or has a character the SDK refuses.', 'Use at most 63 bytes of a-z A-Z 0-9 space and ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,'],
    token_required: ['The project has an enabled certificate: joining needs a token.', 'Pass a token, or turn on "No certificate" for this project.'],
    token_not_expected: ['The project has no enabled certificate: a token is not expected.', 'Join with the App ID only, or enable the certificate that signed the token.'],
    token_malformed: ['The token does not decode.', 'Pass the token exactly as the token server issued it.'],
    token_version_unsupported: ['This SDK is older than the first release that reads AccessToken2 (007).', RTC_OLD_SDK_FIX],
    app_id_mismatch: ['The token was generated for another App ID.', FIX_TOKEN],
    service_missing: ['The token does not grant this service.', FIX_TOKEN],
    channel_mismatch: ['The token was generated for another channel.', FIX_TOKEN],
    uid_mismatch: ['The token was generated for another uid.', FIX_TOKEN],
    signature_invalid: ['No enabled certificate of the project verifies the token.', 'Sign tokens with an enabled certificate of this project.'],
    token_expired: ['The token has expired.', FIX_RENEW],
    privilege_expired: ['The join privilege of the token has expired.', FIX_RENEW],
};
// RTM 2.x (Signaling) answers name the 2.x API.
const RTM2_RENEW = 'Fetch a new token and call RTMClient.renewToken (on the tokenPrivilegeWillExpire event, before it expires).';
const RTM2_FIX = {
    app_id_malformed: CATALOG.app_id_malformed[1], token_expired: RTM2_RENEW, privilege_expired: RTM2_RENEW,
    other: 'Build the token with RtmTokenBuilder2 for exactly this App ID and user id.',
};
const RTC_CODES = {
    app_id_malformed: { native: [101, 'ERR_INVALID_APP_ID'], objc: [101, 'AgoraErrorCodeInvalidAppId'], web: [101, 'ERR_INVALID_VENDOR_KEY'] },
    channel_name_invalid: { native: [102, 'ERR_INVALID_CHANNEL_NAME'], objc: [102, 'AgoraErrorCodeInvalidChannelId'], web: [null, 'INVALID_PARAMS'] },
    token_required: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [120, 'ERR_DYNAMIC_USE_STATIC_KEY'] },
    token_not_expected: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [119, 'ERR_STATIC_USE_DYNAMIC_KEY'] },
    invalid: { native: [110, 'ERR_INVALID_TOKEN'], objc: [110, 'AgoraErrorCodeInvalidToken'], web: [110, 'ERR_NO_AUTHORIZED'] },
    expired: { native: [109, 'ERR_TOKEN_EXPIRED'], objc: [109, 'AgoraErrorCodeTokenExpired'], web: [109, 'ERR_DYNAMIC_KEY_TIMEOUT'] },
};
const RTC_GROUP = {
    app_id_malformed: 'app_id_malformed', token_version_unsupported: 'app_id_malformed',
    channel_name_invalid: 'channel_name_invalid', token_required: 'token_required',
    token_not_expected: 'token_not_expected', token_expired: 'expired', privilege_expired: 'expired',
};
const RTM1_CODES = {
    app_id_malformed: { native: [4, 'LOGIN_ERR_INVALID_APP_ID'], objc: [4, 'AgoraRtmLoginErrorInvalidAppId'], web: [4, 'LOGIN_ERR_INVALID_APP_ID'] },
    invalid: { native: [5, 'LOGIN_ERR_INVALID_TOKEN'], objc: [5, 'AgoraRtmLoginErrorInvalidToken'], web: [5, 'LOGIN_ERR_INVALID_TOKEN'] },
    expired: { native: [6, 'LOGIN_ERR_TOKEN_EXPIRED'], objc: [6, 'AgoraRtmLoginErrorTokenExpired'], web: [6, 'LOGIN_ERR_TOKEN_EXPIRED'] },
};
const RTM_GROUP = { app_id_malformed: 'app_id_malformed', token_expired: 'expired', privilege_expired: 'expired' };
const RTM2_CODES = {
    app_id_malformed: [-10003, 'RTM_ERROR_INVALID_APP_ID'],
    app_id_mismatch: [-10016, 'RTM_ERROR_INCONSISTENT_APPID'],
    token_expired: [-10009, 'RTM_ERROR_TOKEN_EXPIRED'],
    privilege_expired: [-10009, 'RTM_ERROR_TOKEN_EXPIRED'],
};
const WEB_EXPIRED_ALSO = [{ code: 118, name: 'ERR_DYNAMIC_KEY_EXPIRED' }, { code: 2, name: 'K_TIMESTAMP_EXPIRED' }];
const RTM_REJECTED_ALSO = [{ code: 2, name: 'LOGIN_ERR_REJECTED' }];

function errorFor(cause, req) {
    const platform = req.platform;
    const rtm2 = req.service === 'rtm' && req.sdk !== null && req.sdk[0] >= 2;
    let code;
    let name;
    let also = [];
    if (rtm2) {
        [code, name] = RTM2_CODES[cause] || [-10005, 'RTM_ERROR_INVALID_TOKEN'];
    } else if (req.service === 'rtm') {
        [code, name] = RTM1_CODES[RTM_GROUP[cause] || 'invalid'][platform];
        if (cause === 'service_missing' && platform === 'web') also = RTM_REJECTED_ALSO;
    } else {
        [code, name] = RTC_CODES[RTC_GROUP[cause] || 'invalid'][platform];
        if (platform === 'web' && (cause === 'token_expired' || cause === 'privilege_expired')) also = WEB_EXPIRED_ALSO;
    }
    const [reason, solution] = CATALOG[cause];
    let fix = solution;
    if (rtm2) fix = RTM2_FIX[cause] || RTM2_FIX.other;
    else if (cause === 'token_version_unsupported' && req.service === 'rtm') fix = RTM1_OLD_SDK_FIX;
    return { code, name, platform, also, reason, solution: fix };
}

// ---- The checks and their order -----------------------------------------------------------

// Every check of diagnosis.md, in table order, with the cause it gives when it fails.
const CHECKS = [
    ['app_id_format', 'app_id_malformed'], ['channel_name', 'channel_name_invalid'],
    ['token_present', 'token_required'], ['token_expected', 'token_not_expected'],
    ['token_format', 'token_malformed'], ['token_version', 'token_version_unsupported'],
    ['app_id', 'app_id_mismatch'], ['service', 'service_missing'], ['channel', 'channel_mismatch'],
    ['uid', 'uid_mismatch'], ['signature', 'signature_invalid'], ['token_expiry', 'token_expired'],
    ['privilege_expiry', 'privilege_expired'],
];
const CHECK_OF = Object.fromEntries(CHECKS.map(([, cause], i) => [cause, i]));
// Precedence: table order for rtc; for an rtm login the expiry checks come before uid and
// signature (the platform reports an expired RTM token as expired first).
const CAUSES_RTC = CHECKS.map(([, cause]) => cause);
const CAUSES_RTM = ['app_id_malformed', 'channel_name_invalid', 'token_required', 'token_not_expected',
    'token_malformed', 'token_version_unsupported', 'app_id_mismatch', 'service_missing',
    'channel_mismatch', 'token_expired', 'privilege_expired', 'uid_mismatch', 'signature_invalid'];
const PROJECT_BOUND = new Set(['token_required', 'token_not_expected', 'signature_invalid']);

class BadRequest extends Error {}

// ---- Inputs ------------------------------------------------------------------------------

function loadProjects(file) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const map = new Map();
    for (const p of Array.isArray(doc) ? doc : [doc]) map.set(p.app_id, p);
    return map;
}

const trimWs = s => s.replace(WS_ENDS, '');

// An ISO-8601 UTC time (2026-12-05T10:00:00Z, fraction of a second dropped) as Unix seconds,
// or null when the text is not one or names a day that does not exist.
function parseIsoUtc(text) {
    const m = ISO_UTC.exec(text);
    if (!m) return null;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const t = new Date(ms);
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d
        || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) return null;
    return ms / 1000;
}

// The request, validated, as one object of a fixed shape: the defaults applied, the platform
// both as named (for the SDK thresholds) and aliased (for the codes), the uid text and user id.
function parseRequest(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('body: must be a JSON object');
    const { app_id: appId, token, channel, uid, account } = body;
    if (typeof appId !== 'string') throw new BadRequest('app_id: required string');
    const service = body.service === undefined ? 'rtc' : body.service;
    if (service !== 'rtc' && service !== 'rtm') throw new BadRequest('service: must be rtc or rtm');
    if (token !== undefined && typeof token !== 'string') throw new BadRequest('token: must be a string');
    if (uid !== undefined && account !== undefined) throw new BadRequest('uid: not with account');
    if (uid !== undefined && !(Number.isInteger(uid) && uid >= 0 && uid <= UINT32_MAX)) {
        throw new BadRequest('uid: must be an integer in 0..4294967295');
    }
    if (account !== undefined && (typeof account !== 'string' || Buffer.byteLength(account) > 255)) {
        throw new BadRequest('account: must be a string of at most 255 bytes');
    }
    if (service === 'rtc' && (typeof channel !== 'string' || channel === '')) {
        throw new BadRequest('channel: required for rtc');
    }
    const platformName = body.platform === undefined ? 'native' : body.platform;
    const platform = Object.hasOwn(PLATFORM_ALIASES, platformName) ? PLATFORM_ALIASES[platformName] : undefined;
    if (!platform) throw new BadRequest('platform: unknown');
    const role = body.role === undefined ? 'publisher' : body.role;
    if (role !== 'publisher' && role !== 'subscriber') throw new BadRequest('role: must be publisher or subscriber');
    let at = body.at;
    if (at === undefined) {
        at = Math.floor(Date.now() / 1000);
    } else if (typeof at === 'string') {
        at = parseIsoUtc(at);
        if (at === null || at < 0 || at > UINT32_MAX) throw new BadRequest('at: must be Unix seconds in 0..4294967295 or an ISO-8601 UTC time');
    } else if (!(Number.isInteger(at) && at >= 0 && at <= UINT32_MAX)) {
        throw new BadRequest('at: must be Unix seconds in 0..4294967295 or an ISO-8601 UTC time');
    }
    const sdkVersion = body.sdk_version === undefined ? null : body.sdk_version;
    let sdk = null;
    if (sdkVersion !== null) {
        const m = typeof sdkVersion === 'string' ? SDK_VERSION.exec(sdkVersion) : null;
        if (!m) throw new BadRequest('sdk_version: must be MAJOR.MINOR or MAJOR.MINOR.PATCH (a leading v allowed)');
        sdk = [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])];
    }
    return {
        app_id: appId, service, token, channel, uid, account, role, platform, platformName, at,
        sdk_version: sdkVersion, sdk,
        // The join's uid text; an rtm login's user id is the account or the uid's decimal text.
        uidText: account !== undefined ? account : (uid ? String(uid) : ''),
        userId: account !== undefined ? account : String(uid || 0),
    };
}

const versionBelow = (v, first) => v[0] !== first[0] ? v[0] < first[0] : (v[1] !== first[1] ? v[1] < first[1] : v[2] < first[2]);

// Check 5a: the client's SDK cannot read a 007 token.
function sdkReads007(req) {
    if (req.sdk === null) return true;
    if (req.service === 'rtm') {
        if (req.sdk[0] >= 2) return true;
        return !versionBelow(req.sdk, RTM_FIRST_007[req.platformName] || RTM_FIRST_007_OTHER);
    }
    const first = req.platformName in RTC_FIRST_007 ? RTC_FIRST_007[req.platformName] : RTC_FIRST_007_OTHER;
    return first === null || !versionBelow(req.sdk, first);
}

// ---- Token parsing (the vendor libraries) -------------------------------------------------

// Node's base64 decoder skips what is not base64; a careful checker tests the text first.
const isBase64 = body => body.length % 4 === 0 && BASE64.test(body);

function parse007(text) {
    if (!isBase64(text.substring(3))) return null;
    const t = new AccessToken2();
    if (!t.from_string(text)) return null;
    const services = t.services.map(s => ({
        type: s.service_type(),
        privileges: s.__privileges,
        channel: s.__channel_name !== undefined ? s.__channel_name.toString() : undefined,
        uid: s.__uid !== undefined ? s.__uid.toString() : undefined,
        user_id: s.__user_id !== undefined ? s.__user_id.toString() : undefined,
    }));
    return { version: '007', lib: t, app_id: t.appId.toString(), issue_ts: t.issueTs, expire: t.expire, salt: t.salt, services };
}

function parse006(text) {
    const body = text.substring(35);
    if (text.length < 35 || !isBase64(body)) return null;
    const t = new AccessToken('', '', '', 0);
    if (!t.fromString(text)) return null;
    // The library reads a string cut short as if it were zero-padded: check that the content
    // holds the whole structure (signature, two CRCs, m).
    const size = body.length / 4 * 3 - (body.endsWith('==') ? 2 : (body.endsWith('=') ? 1 : 0));
    if (size < 2 + t.signature.length + 8 + 2 + t.m.length) return null;
    return {
        version: '006', lib: t, app_id: text.substring(3, 35), salt: t.salt, ts: t.ts,
        crc_channel: t.crc_channel_name >>> 0, crc_uid: t.crc_uid >>> 0, privileges: t.messages,
    };
}

function parseToken(text) {
    const version = text.substring(0, 3);
    if (version === '007') return parse007(text);
    if (version === '006') return parse006(text);
    return null;
}

// The cleaning of diagnosis.md "Repair", step by step, with the hints each step implies.
function cleanToken(raw) {
    const hints = [];
    let t = trimWs(raw);
    if (t !== raw) hints.push('whitespace');
    if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) {
        hints.push('quoted');
        t = trimWs(t.slice(1, -1));
    }
    if (t.startsWith('Bearer ') || t.startsWith('token=')) {
        hints.push('auth_prefix');
        t = t.substring(t[0] === 'B' ? 7 : 6);
    }
    if (raw.includes('\\/')) {
        hints.push('json_escaped');
        t = t.split('\\/').join('/');
    }
    if (/%(2b|2f|3d)/i.test(raw)) hints.push('percent_encoded');
    if (/%[0-9a-fA-F]{2}/.test(t)) t = t.replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    if (t.includes(' ')) {
        t = t.split(' ').join('+');
        // A '+' lost to URL decoding: with it back, base64 text after a version prefix the
        // checker knows (001..007), so "hello world" is not one (its version is unsupported).
        if (/^00[1-7][A-Za-z0-9+/]*={0,2}$/.test(t)) hints.push('url_decoded');
    }
    return { hints, cleaned: t };
}

// Hints for a token that does not decode (check 5): the token-text hints, else the base64 and
// structure ones.
function malformedHints(raw, textHints) {
    const hints = textHints.slice();
    const version = raw.substring(0, 3);
    const known = version === '006' || version === '007';
    if (/^00[1-5]/.test(raw)) hints.push('legacy_version');
    else if (!known && !hints.includes('whitespace') && !hints.includes('quoted') && !hints.includes('auth_prefix')) {
        hints.push('unsupported_version');
    }
    if (hints.length > 0) return hints;
    const body = raw.substring(version === '006' ? Math.min(raw.length, 35) : 3);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw.substring(3))) return ['not_base64'];
    if (body.length % 4 !== 0) return ['truncated'];
    if (version === '006') return ['truncated']; // too short, or the content ends early
    try {
        zlib.inflateSync(Buffer.from(body, 'base64'));
    } catch (e) {
        return [e.code === 'Z_DATA_ERROR' ? 'corrupted' : 'truncated'];
    }
    return ['truncated']; // inflated, but the content ends before its structure does
}

function verify006(tok, cert, channel, uidText) {
    const msg = Buffer.concat([Buffer.from(tok.app_id), Buffer.from(channel), Buffer.from(uidText), tok.lib.m]);
    const sig = crypto.createHmac('sha256', cert).update(msg).digest();
    return tok.lib.signature.length === sig.length && crypto.timingSafeEqual(tok.lib.signature, sig);
}

// 006: an rtc token signs (App ID, channel, uid text or "" for any uid, m); an rtm token signs
// (App ID, user id, "", m).
function verifies(tok, req, cert) {
    if (tok.version === '007') return tok.lib.verifySignature(cert);
    if (req.service === 'rtm') return verify006(tok, cert, req.userId, '');
    return verify006(tok, cert, req.channel, tok.crc_uid === 0 ? '' : req.uidText);
}

function enabledCerts(project) {
    const certs = [];
    if (project.primary && project.primary.enabled) certs.push(['primary', project.primary.certificate]);
    if (project.secondary && project.secondary.enabled) certs.push(['secondary', project.secondary.certificate]);
    return certs;
}

function signatureHints(tok, req, project, hints) {
    if ([project.primary, project.secondary].some(c => c && !c.enabled && verifies(tok, req, c.certificate))) {
        hints.push('signed_with_disabled_certificate');
    }
    if ((project.retired_certificates || []).some(c => verifies(tok, req, c))) hints.push('signed_with_retired_certificate');
    if (verifies(tok, req, tok.app_id)) hints.push('signed_with_app_id');
    if (verifies(tok, req, SAMPLE_CERTIFICATE)) hints.push('signed_with_sample_certificate');
}

const asciiLower = s => s.replace(/[A-Z]/g, c => String.fromCharCode(c.charCodeAt(0) + 32));
const isUidAbove32Bits = u => /^[1-9][0-9]*$/.test(u) && (u.length > 10 || (u.length === 10 && u > '4294967295'));
const crc = s => crc32.str(s) >>> 0;
const CRC_ZERO_TEXT = crc('0');

// Checks 7-9 for 007. Returns the service whose join/login privilege counts for expiry (and
// whose publish privileges count for publish_privilege_missing): rtc, the service that matched
// both channel and uid, none otherwise (the v2 scenarios require the uid too); rtm, the login
// service with the user id, else the first login service (the expiry checks come before the
// user id for rtm, so the privilege is judged even when the user id is wrong).
function check007(tok, req, fail, hints) {
    if (req.service === 'rtm') {
        const withPriv = tok.services.filter(s => (s.type === 2 || s.type === 8) && s.privileges[1] !== undefined);
        if (withPriv.length === 0) {
            fail('service_missing');
            if (tok.services.some(s => s.type === 1) && !tok.services.some(s => s.type === 2 || s.type === 8)) hints.push('built_for_rtc');
            return null;
        }
        const m = withPriv.find(s => s.user_id === req.userId);
        if (!m) fail('uid_mismatch');
        return m || withPriv[0];
    }
    const withPriv = tok.services.filter(s => s.type === 1 && s.privileges[1] !== undefined);
    if (withPriv.length === 0) {
        fail('service_missing');
        return null;
    }
    const sameChannel = withPriv.filter(s => s.channel === req.channel);
    if (sameChannel.length === 0) {
        fail('channel_mismatch');
        const lower = asciiLower(req.channel);
        const trimmed = trimWs(req.channel);
        if (withPriv.some(s => asciiLower(s.channel) === lower)) hints.push('channel_case_differs');
        if (withPriv.some(s => s.channel === trimmed || trimWs(s.channel) === req.channel)) hints.push('channel_whitespace');
    }
    const pool = sameChannel.length ? sameChannel : withPriv;
    const m = pool.find(s => s.uid === '' || s.uid === req.uidText);
    if (!m) {
        fail('uid_mismatch');
        if (req.uidText === '') hints.push('join_uid_zero');
        if (pool.some(s => s.uid === '0')) hints.push('token_uid_zero_text');
        if (pool.some(s => isUidAbove32Bits(s.uid))) hints.push('token_uid_out_of_range');
    }
    return sameChannel.length && m ? m : null;
}

// Checks 7-9 for 006 (CRC-32 of the channel and uid text).
function check006(tok, req, fail, hints) {
    if (req.service === 'rtm') {
        const channelOk = crc(req.userId) === tok.crc_channel;
        if (!channelOk || tok.crc_uid !== 0) {
            fail('uid_mismatch');
            if (!channelOk && tok.privileges[1] !== undefined && tok.privileges[1000] === undefined) hints.push('built_for_rtc');
        }
        return;
    }
    if (tok.privileges[1] === undefined) fail('service_missing');
    if (crc(req.channel) !== tok.crc_channel) {
        fail('channel_mismatch');
        const trimmed = trimWs(req.channel);
        if (trimmed !== req.channel && crc(trimmed) === tok.crc_channel) hints.push('channel_whitespace');
    }
    if (tok.crc_uid !== 0 && tok.crc_uid !== crc(req.uidText)) {
        fail('uid_mismatch');
        if (req.uidText === '') hints.push('join_uid_zero');
        if (tok.crc_uid === CRC_ZERO_TEXT) hints.push('token_uid_zero_text');
        if (req.account === undefined) {
            const uid = req.uid || 0;
            for (let k = 1; k <= 1023; k++) {
                if (crc(String(uid + k * 4294967296)) === tok.crc_uid) {
                    hints.push('token_uid_out_of_range');
                    break;
                }
            }
        }
    }
}

function expiry(tok, req, service) {
    let tokenExp;
    let value;
    let privExp = null;
    if (tok.version === '007') {
        const life = tok.expire === 0 || tok.expire > 86400 ? 86400 : tok.expire;
        tokenExp = tok.issue_ts + life;
        value = service ? service.privileges[1] : undefined;
        if (value) privExp = Math.min(tok.issue_ts + value, tokenExp);
    } else {
        tokenExp = tok.ts;
        value = tok.privileges[req.service === 'rtc' ? 1 : 1000];
        if (value) privExp = Math.min(value, tokenExp);
    }
    return { tokenExp, privExp, value, expiresAt: privExp === null ? tokenExp : Math.min(tokenExp, privExp) };
}

function diagnose(req, projects, repairing = false) {
    const status = new Array(CHECKS.length).fill('skip');
    const fails = new Set();
    const hints = [];
    const warnings = [];
    const fail = cause => {
        fails.add(cause);
        status[CHECK_OF[cause]] = 'fail';
    };
    const pass = cause => {
        if (status[CHECK_OF[cause]] === 'skip') status[CHECK_OF[cause]] = 'pass';
    };

    // 1. The App ID; the project is looked up by the trimmed App ID when only whitespace is wrong.
    let lookupId = req.app_id;
    if (HEX32.test(req.app_id)) {
        pass('app_id_malformed');
    } else {
        fail('app_id_malformed');
        const trimmed = trimWs(req.app_id);
        if (HEX32.test(trimmed)) {
            hints.push('app_id_whitespace');
            lookupId = trimmed;
        }
    }
    const project = projects.get(lookupId) || null;
    const certs = project ? enabledCerts(project) : [];
    if (!project) {
        warnings.push('project_unknown');
        if (lookupId === SAMPLE_APP_ID) hints.push('sample_app_id');
    }

    // 2. The channel name, as the SDK checks it before contacting the platform.
    if (req.service === 'rtc') {
        if (Buffer.byteLength(req.channel) >= 64 || !CHANNEL_OK.test(req.channel)) fail('channel_name_invalid');
        else pass('channel_name_invalid');
    }

    // 3-5. The token: none, the App ID passed as a token (a static key), or one to decode.
    const raw = req.token === undefined ? '' : req.token;
    const hex32 = HEX32.test(raw);
    const hasToken = raw !== '' && !(hex32 && raw.toLowerCase() === lookupId.toLowerCase());
    if (hex32) hints.push('app_id_as_token');
    if (!hasToken && project && certs.length > 0 && !project.no_certificate) fail('token_required');
    else pass('token_required');
    if (hasToken && project && certs.length === 0) fail('token_not_expected');
    else pass('token_not_expected');
    let tok = null;
    let repaired = null;
    if (hasToken) {
        tok = parseToken(raw);
        if (tok) {
            pass('token_malformed');
        } else {
            fail('token_malformed');
            if (!hex32) {
                const { hints: textHints, cleaned } = cleanToken(raw);
                hints.push(...malformedHints(raw, textHints));
                if (!repairing && cleaned !== raw && parseToken(cleaned)) {
                    const again = diagnose({ ...req, token: cleaned }, projects, true);
                    repaired = { token: cleaned, verdict: again.verdict, cause: again.cause };
                }
            }
        }
    }

    let exp = null;
    let signedWith = null;
    if (tok) {
        // 5a. The client's SDK reads 007.
        if (tok.version === '007') {
            if (sdkReads007(req)) pass('token_version_unsupported');
            else fail('token_version_unsupported');
        }
        // 6. The App ID in the token.
        if (tok.app_id === req.app_id) {
            pass('app_id_mismatch');
        } else {
            fail('app_id_mismatch');
            if (tok.app_id.toLowerCase() === req.app_id.toLowerCase()) hints.push('app_id_case_differs');
            if (tok.app_id === SAMPLE_APP_ID) hints.push('sample_app_id');
        }
        // 7-9. Service, channel, uid.
        let service = null;
        if (tok.version === '007') {
            service = check007(tok, req, fail, hints);
            if (tok.expire > 86400) warnings.push('lifetime_over_24h');
            if (tok.expire >= 1000000000) warnings.push('expire_looks_absolute');
            if (tok.issue_ts > req.at + 300) warnings.push('issued_in_future');
        } else {
            check006(tok, req, fail, hints);
        }
        pass('service_missing');
        if (tok.version === '006' || !fails.has('service_missing')) {
            pass('uid_mismatch');
            if (req.service === 'rtc') pass('channel_mismatch');
        }
        // 10. The signature, with every enabled certificate (006: only when the CRCs match).
        const crcSkip = tok.version === '006' && (fails.has('channel_mismatch') || fails.has('uid_mismatch'));
        if (project && certs.length > 0 && !crcSkip) {
            const hit = certs.find(([, cert]) => verifies(tok, req, cert));
            if (hit) {
                signedWith = hit[0];
                pass('signature_invalid');
            } else {
                fail('signature_invalid');
                signatureHints(tok, req, project, hints);
            }
        }
        // 11-12. Expiry.
        exp = expiry(tok, req, service);
        if (req.at >= exp.tokenExp) fail('token_expired');
        else pass('token_expired');
        if (exp.privExp !== null && req.at >= exp.privExp) {
            fail('privilege_expired');
            const v = exp.value;
            if (tok.version === '006' && v < 1000000000) hints.push('privilege_expire_looks_relative');
            if (v === 1 || v === 2 || v === 101) hints.push('privilege_expire_is_role');
            if (tok.version === '006' && v >= 1000000000 && v <= tok.ts - 86400) hints.push('expired_at_issue');
        } else {
            pass('privilege_expired');
        }
        const left = exp.expiresAt - req.at;
        if (left > 0 && left <= 30) warnings.push('expires_soon');
        if (project && project.cohost_auth && req.service === 'rtc' && req.role === 'publisher' && !fails.has('service_missing')) {
            const privs = tok.version === '007' ? (service && service.privileges) : tok.privileges;
            if (privs && privs[2] === undefined && privs[3] === undefined && privs[4] === undefined) warnings.push('publish_privilege_missing');
        }
    }

    const order = req.service === 'rtm' ? CAUSES_RTM : CAUSES_RTC;
    const cause = fails.size ? order.find(c => fails.has(c)) : undefined;
    if (tok && tok.version === '006' && req.service === 'rtm' && !cause && tok.privileges[1000] === undefined) {
        warnings.push('rtm_login_privilege_missing');
    }
    let verdict;
    let outCause = cause;
    let error = null;
    if (cause) {
        verdict = project || !PROJECT_BOUND.has(cause) ? 'rejected' : 'unverifiable';
        if (verdict === 'rejected') error = errorFor(cause, req);
    } else {
        verdict = project ? 'joinable' : 'unverifiable';
        outCause = !project ? 'project_unknown' : (hasToken ? 'ok' : 'ok_app_id_only');
    }
    return {
        verdict, cause: outCause, error, hints, warnings, repaired, signedWith, status, tok, project, req,
        expires_at: exp ? exp.expiresAt : null,
    };
}

function summaryJson(id, d) {
    return {
        id, verdict: d.verdict, cause: d.cause, code: d.error ? d.error.code : null,
        hints: d.hints, warnings: d.warnings, expires_at: d.expires_at,
    };
}

function fullJson(d) {
    const t = d.tok;
    let token = null;
    if (t && t.version === '007') {
        token = { version: '007', app_id: t.app_id, issue_ts: t.issue_ts, expire: t.expire, salt: t.salt, signature: t.lib.__signature.toString('hex'), services: t.services.map(s => ({ type: s.type, channel: s.channel, uid: s.uid, user_id: s.user_id, privileges: Object.entries(s.privileges).map(([id, expire]) => ({ id: Number(id), expire })) })) };
    } else if (t) {
        token = { version: '006', app_id: t.app_id, signature: t.lib.signature.toString('hex'), crc_channel: t.crc_channel, crc_uid: t.crc_uid, salt: t.salt, ts: t.ts, privileges: Object.entries(t.privileges).map(([id, expire]) => ({ id: Number(id), expire })) };
    }
    return {
        verdict: d.verdict, cause: d.cause, error: d.error, hints: d.hints, warnings: d.warnings, repaired: d.repaired,
        checks: CHECKS.map(([id], i) => ({ id, status: d.status[i] })),
        expires_at: d.expires_at, expires_in: d.expires_at === null ? null : d.expires_at - d.req.at,
        token,
        project: { app_id: d.req.app_id, known: !!d.project, signed_with: d.signedWith },
        at: d.req.at, sdk_version: d.req.sdk_version,
    };
}

// ---- batch --------------------------------------------------------------------------------

// Diagnoses every line of text whose index i (blank lines not counted) has i % shards === shard,
// writing one answer line per input line through write(), in order.
function batchLines(projects, text, shard, shards, write) {
    let chunk = [];
    let n = 0;
    const flush = () => {
        if (chunk.length) write(`${chunk.join('\n')}\n`);
        chunk = [];
    };
    let start = 0;
    while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end < 0) end = text.length;
        const line = text.substring(start, end);
        start = end + 1;
        if (line.trim() === '') continue;
        n++;
        if ((n - 1) % shards !== shard) continue;
        let body;
        try {
            body = JSON.parse(line);
        } catch (e) {
            chunk.push(JSON.stringify({ error: { code: 'bad_json', message: `line ${n}: ${e.message}` } }));
            continue;
        }
        const id = body && typeof body === 'object' ? body.id : undefined;
        try {
            chunk.push(JSON.stringify(summaryJson(id, diagnose(parseRequest(body), projects))));
        } catch (e) {
            if (!(e instanceof BadRequest)) throw e;
            chunk.push(JSON.stringify({ id, error: { code: 'bad_request', message: e.message } }));
        }
        if (chunk.length >= 1024) flush();
    }
    flush();
}

// With workers > 1 the lines are dealt round-robin to a `cluster` of processes, each writing
// its answers to a file of its own; the primary then interleaves them back into input order.
// That merge is part of the measured work, as it would be for any parallel batch.
function runBatch(projects, file, workers) {
    if (workers <= 1) {
        batchLines(projects, fs.readFileSync(file === '-' ? 0 : file, 'utf8'), 0, 1, s => process.stdout.write(s));
        return;
    }
    if (cluster.isWorker) {
        const k = Number(process.env.BASELINE_SHARD);
        const out = fs.openSync(process.env.BASELINE_OUT, 'w');
        batchLines(projects, fs.readFileSync(process.env.BASELINE_IN, 'utf8'), k, workers, s => fs.writeSync(out, s));
        fs.closeSync(out);
        process.exit(0);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baseline-'));
    let input = file;
    if (file === '-') {
        input = path.join(dir, 'input.jsonl');
        fs.writeFileSync(input, fs.readFileSync(0));
    }
    let running = workers;
    for (let k = 0; k < workers; k++) {
        cluster.fork({ BASELINE_SHARD: String(k), BASELINE_IN: input, BASELINE_OUT: path.join(dir, `out.${k}`) })
            .on('exit', code => {
                if (code !== 0) {
                    process.stderr.write(`baseline: batch worker ${k} failed (exit ${code})\n`);
                    process.exit(70);
                }
                if (--running === 0) mergeShards(dir, workers);
            });
    }
}

function mergeShards(dir, workers) {
    const shards = [];
    for (let k = 0; k < workers; k++) {
        const text = fs.readFileSync(path.join(dir, `out.${k}`), 'utf8');
        shards.push(text === '' ? [] : text.slice(0, -1).split('\n'));
    }
    const out = [];
    const total = shards.reduce((a, s) => a + s.length, 0);
    for (let i = 0; i < total; i++) {
        out.push(shards[i % workers][Math.floor(i / workers)]);
        if (out.length >= 4096) {
            process.stdout.write(`${out.join('\n')}\n`);
            out.length = 0;
        }
    }
    if (out.length) process.stdout.write(`${out.join('\n')}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
}

// ---- serve --------------------------------------------------------------------------------

function sendJson(res, status, doc) {
    const body = JSON.stringify(doc);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}

function handle(projects, req, res) {
    if (req.method === 'GET' && req.url === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.url !== '/v1/diagnose') return sendJson(res, 404, { error: { code: 'not_found', message: 'no such path' } });
    if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } });
    }
    const parts = [];
    let size = 0;
    req.on('data', c => {
        size += c.length;
        if (size <= 65536) parts.push(c);
    });
    req.on('end', () => {
        if (size > 65536) return sendJson(res, 413, { error: { code: 'too_large', message: 'body over 64 KiB' } });
        let body;
        try {
            body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch (e) {
            return sendJson(res, 400, { error: { code: 'bad_json', message: e.message } });
        }
        try {
            sendJson(res, 200, fullJson(diagnose(parseRequest(body), projects)));
        } catch (e) {
            if (!(e instanceof BadRequest)) throw e;
            sendJson(res, 400, { error: { code: 'bad_request', message: e.message } });
        }
    });
}

function runServe(projects, port, workers) {
    if (workers > 1 && cluster.isPrimary) {
        let listening = 0;
        for (let i = 0; i < workers; i++) {
            cluster.fork().on('listening', () => {
                if (++listening === workers) process.stderr.write(`baseline: ${workers} workers on 127.0.0.1:${port}\n`);
            });
        }
        const stop = () => {
            for (const w of Object.values(cluster.workers)) w.kill();
            process.exit(0);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        return;
    }
    const server = http.createServer((req, res) => handle(projects, req, res));
    server.keepAliveTimeout = 60000;
    server.listen(port, '127.0.0.1', () => {
        if (workers <= 1) process.stderr.write(`baseline: 1 process on 127.0.0.1:${port}\n`);
    });
    process.on('SIGTERM', () => process.exit(0));
}

// ---- selftest -----------------------------------------------------------------------------

const sameSet = (a, b) => a.length === b.length && new Set(a).size === new Set(b).size && a.every(x => b.includes(x));
const sameRepair = (got, want) => (got === null && want === null)
    || (got !== null && want !== null && got.token === want.token && got.verdict === want.verdict && got.cause === want.cause);

// One scenario line through this checker: null when the answer is the one expected, else what
// differs. Lines whose expect is {"bad_request": true} must be refused as bad requests.
function checkScenario(sc) {
    const projects = new Map(sc.project ? [[sc.project.app_id, sc.project]] : []);
    const e = sc.expect;
    let d;
    try {
        d = diagnose(parseRequest(sc.request), projects);
    } catch (err) {
        if (!(err instanceof BadRequest)) throw err;
        return e.bad_request === true ? null : `expected ${e.verdict}/${e.cause}, got bad request (${err.message})`;
    }
    if (e.bad_request === true) return `expected a bad request, got ${d.verdict}/${d.cause}`;
    const got = summaryJson(sc.id, d);
    const diffs = [];
    for (const k of ['verdict', 'cause', 'code', 'expires_at']) {
        if (got[k] !== e[k]) diffs.push(`${k} ${JSON.stringify(e[k])} != ${JSON.stringify(got[k])}`);
    }
    if (!sameSet(got.hints, e.hints)) diffs.push(`hints ${JSON.stringify(e.hints)} != ${JSON.stringify(got.hints)}`);
    if (!sameSet(got.warnings, e.warnings)) diffs.push(`warnings ${JSON.stringify(e.warnings)} != ${JSON.stringify(got.warnings)}`);
    const wantRepair = e.repaired === undefined ? null : e.repaired;
    if (!sameRepair(d.repaired, wantRepair)) diffs.push(`repaired ${JSON.stringify(wantRepair)} != ${JSON.stringify(d.repaired)}`);
    const echo = sc.request.sdk_version === undefined ? null : sc.request.sdk_version;
    if (fullJson(d).sdk_version !== echo) diffs.push(`sdk_version echo ${JSON.stringify(echo)} != ${JSON.stringify(fullJson(d).sdk_version)}`);
    return diffs.length ? diffs.join('; ') : null;
}

// Runs the contract's diagnosis scenarios through this checker: the baseline must give every
// expected field (verdict, cause, code, hints, warnings, expiry, repair; bad requests refused),
// or its figures would not be comparable. One summary line on stdout, the failures on stderr.
function runSelftest(files) {
    let pass = 0;
    let total = 0;
    const perFile = [];
    const failed = [];
    for (const file of files) {
        const lines = fs.readFileSync(file, 'utf8').split('\n').filter(l => l.trim() !== '');
        let filePass = 0;
        for (const line of lines) {
            const sc = JSON.parse(line);
            const diff = checkScenario(sc);
            if (diff === null) filePass++;
            else failed.push(`${path.basename(file)} ${sc.id}: ${diff}`);
        }
        pass += filePass;
        total += lines.length;
        perFile.push(`${path.basename(file)} ${filePass}/${lines.length}`);
    }
    failed.slice(0, 20).forEach(f => process.stderr.write(`baseline selftest: ${f}\n`));
    const ok = total > 0 && failed.length === 0;
    process.stdout.write(`baseline selftest: ${pass} passed, ${total - pass} failed (${perFile.join(', ')})\n`);
    return ok;
}

// ---- main ---------------------------------------------------------------------------------

function main() {
    const args = process.argv.slice(2);
    const mode = args.shift();
    const opts = { project: null, port: 8090, workers: 1, files: [] };
    while (args.length) {
        const a = args.shift();
        if (a === '--project') opts.project = args.shift();
        else if (a === '--port') opts.port = Number(args.shift());
        else if (a === '--workers') opts.workers = Number(args.shift());
        else opts.files.push(a);
    }
    if (mode === 'selftest' && opts.files.length > 0) process.exit(runSelftest(opts.files) ? 0 : 1);
    if ((mode !== 'batch' && mode !== 'serve') || !opts.project || opts.files.length > 1) {
        process.stderr.write('usage: baseline.js batch --project FILE [--workers N] [FILE|-]\n'
            + '       baseline.js serve --project FILE [--port N] [--workers N]\n'
            + '       baseline.js selftest SCENARIOS.jsonl...\n');
        process.exit(64);
    }
    const projects = loadProjects(opts.project);
    if (mode === 'batch') runBatch(projects, opts.files.length ? opts.files[0] : '-', opts.workers);
    else runServe(projects, opts.port, opts.workers);
}

main();
