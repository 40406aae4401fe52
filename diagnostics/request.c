/* request.c -- a diagnosis request: validation and parsing from JSON.
 *
 * Design
 * ------
 * A request is bad (HTTP 400, CLI exit 64) only for what diagnosis.md "Inputs" says: uid and
 * account together, a uid or an `at` out of range, an sdk_version not of its form, no app_id, no
 * channel for rtc -- plus the limits every front end needs (an account over 255 bytes, a token
 * over TD_TOKEN_TEXT_MAX) and wrong JSON types. A present but malformed App ID (even "") is NOT
 * bad: it is diagnosed (app_id_malformed), since that is what a support engineer needs to hear.
 *
 * Every message starts with the name of the offending field ("uid: must be an integer in
 * 0..4294967295") so that the CLI, the HTTP service and batch lines all say the same thing.
 * Messages never echo the value (it may be large or binary), only its constraint.
 *
 * A uid sent as a JSON string of its digits ("42", common from JavaScript) is taken as that uid
 * and marked (uid_as_string), so that the answer carries the warning uid_as_string: the API
 * takes a number, and an SDK given the string would join with a user account.
 *
 * Parsing borrows: the strings in the diag_request point into the jansson object.
 *
 * Keys given twice are refused where the text is parsed (DIAG_JSON_FLAGS: the tree keeps one
 * value only); diag_json_duplicate_key words that refusal for every front end.
 */
#include "diag_internal.h"

#include <string.h>

bool diag_request_validate(const diag_request *req, char *err, size_t err_cap) {
    if (!req->app_id)
        return diag_fail(err, err_cap, "app_id: required");
    if (req->has_uid && req->has_account)
        return diag_fail(err, err_cap, "uid, account: give either uid or account, not both");
    if (req->has_account && req->account_len > DIAG_ACCOUNT_MAX)
        return diag_fail(err, err_cap, "account: longer than %d bytes", DIAG_ACCOUNT_MAX);
    if (req->service == DIAG_SERVICE_RTC && (!req->has_channel || req->channel_len == 0))
        return diag_fail(err, err_cap, "channel: required (non-empty) for service rtc");
    if (req->has_token && req->token_len > TD_TOKEN_TEXT_MAX)
        return diag_fail(err, err_cap, "token: longer than %d bytes", TD_TOKEN_TEXT_MAX);
    if (req->at < 0 || req->at > (int64_t)UINT32_MAX)
        return diag_fail(err, err_cap, "at: must be %s", DIAG_AT_FORM);
    if ((unsigned)req->client >= DIAG_CLIENT_COUNT)
        return diag_fail(err, err_cap, "platform: unknown");
    if ((unsigned)req->service > DIAG_SERVICE_RTM)
        return diag_fail(err, err_cap, "service: must be rtc or rtm");
    if ((unsigned)req->role > DIAG_ROLE_SUBSCRIBER)
        return diag_fail(err, err_cap, "role: must be publisher or subscriber");
    return true;
}

/* A string field: absent or null leaves *present false; a non-string is an error. */
static bool get_string(json_t *obj, const char *key, bool *present, const char **p, size_t *n,
                       char *err, size_t cap) {
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return diag_fail(err, cap, "%s: must be a string", key);
    *present = true;
    *p = json_string_value(v);
    *n = json_string_length(v);
    return true;
}

/* An enum-like string field parsed by parse(); absent or null keeps the default. */
static bool get_choice(json_t *obj, const char *key, const char *allowed,
                       bool (*parse)(const char *, void *), void *out, char *err, size_t cap) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !parse(json_string_value(v), out))
        return diag_fail(err, cap, "%s: must be one of %s", key, allowed);
    return true;
}

static bool parse_platform(const char *s, void *out) {
    return diag_client_parse(s, out);
}
static bool parse_service(const char *s, void *out) {
    return diag_service_parse(s, out);
}
static bool parse_role(const char *s, void *out) {
    return diag_role_parse(s, out);
}

/* A uid sent as text ("42", common from JavaScript): the decimal form of a uid and nothing else
 * -- no sign, space or leading zero ("0" itself excepted), at most 10 digits -- so that only a
 * string that can only mean that number is taken for it (an account such as "007" or " 42"
 * cannot). The caller range-checks *out. */
static bool uid_text(const char *p, size_t n, int64_t *out) {
    if (n == 0 || n > 10 || (p[0] == '0' && n > 1))
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool diag_request_from_json(json_t *obj, int64_t now, diag_request *req, char *err,
                            size_t err_cap) {
    memset(req, 0, sizeof *req);
    req->at = now;
    if (!json_is_object(obj))
        return diag_fail(err, err_cap, "request: must be a JSON object");

    bool present;
    if (!get_string(obj, "app_id", &present, &req->app_id, &req->app_id_len, err, err_cap))
        return false;
    if (!present)
        return diag_fail(err, err_cap, "app_id: required");
    if (!get_string(obj, "token", &req->has_token, &req->token, &req->token_len, err, err_cap))
        return false;
    if (!get_string(obj, "channel", &req->has_channel, &req->channel, &req->channel_len, err,
                    err_cap))
        return false;
    if (!get_string(obj, "account", &req->has_account, &req->account, &req->account_len, err,
                    err_cap))
        return false;

    json_t *uid = json_object_get(obj, "uid");
    if (uid && !json_is_null(uid)) {
        int64_t v = -1;
        if (json_is_integer(uid))
            v = json_integer_value(uid);
        else if (json_is_string(uid) &&
                 uid_text(json_string_value(uid), json_string_length(uid), &v))
            req->uid_as_string = true;
        if (v < 0 || v > (int64_t)UINT32_MAX)
            return diag_fail(err, err_cap, "uid: must be an integer in 0..4294967295");
        req->has_uid = true;
        req->uid = (uint32_t)v;
    }
    json_t *at = json_object_get(obj, "at");
    if (at && !json_is_null(at)) {
        bool ok = json_is_integer(at) && json_integer_value(at) >= 0 &&
                  json_integer_value(at) <= (json_int_t)UINT32_MAX;
        if (ok)
            req->at = (int64_t)json_integer_value(at);
        else if (json_is_string(at)) /* a string is a time: seconds are a JSON number */
            ok = json_string_length(at) > 10 &&
                 diag_at_parse(json_string_value(at), json_string_length(at), &req->at);
        if (!ok)
            return diag_fail(err, err_cap, "at: must be %s", DIAG_AT_FORM);
    }
    const char *sdk = NULL;
    size_t sdk_len = 0;
    if (!get_string(obj, "sdk_version", &req->has_sdk_version, &sdk, &sdk_len, err, err_cap))
        return false;
    if (req->has_sdk_version && !diag_sdk_version_parse(sdk, sdk_len, &req->sdk_version))
        return diag_fail(err, err_cap, "sdk_version: %s", diag_sdk_version_form);
    if (!get_choice(obj, "service", "rtc, rtm", parse_service, &req->service, err, err_cap) ||
        !get_choice(obj, "role", "publisher, subscriber", parse_role, &req->role, err, err_cap) ||
        !get_choice(obj, "platform", diag_client_names(), parse_platform, &req->client, err,
                    err_cap))
        return false;
    return diag_request_validate(req, err, err_cap);
}

/* ---- Keys given twice ------------------------------------------------------------------------ */

/* jansson's text for a duplicate key is "duplicate object key near '"KEY"'" (the key as written,
 * escapes included, cut to fit its 160 bytes). */
#define DUPLICATE_PREFIX "duplicate object key near '\""

static bool nameable_key(const char *k, size_t n) {
    if (n == 0 || n > 64)
        return false;
    size_t hex_run = 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        hex_run = hex ? hex_run + 1 : 0;
        if (!word || hex_run >= 16)
            return false;
    }
    return true;
}

bool diag_json_duplicate_key(const json_error_t *e, char *msg, size_t cap) {
    if (json_error_code(e) != json_error_duplicate_key)
        return false;
    size_t plen = strlen(DUPLICATE_PREFIX), tlen = strnlen(e->text, sizeof e->text);
    const char *key = e->text + plen;
    size_t klen = tlen >= plen + 2 ? tlen - plen - 2 : 0; /* without the closing "' */
    if (tlen >= plen + 2 && memcmp(e->text, DUPLICATE_PREFIX, plen) == 0 &&
        memcmp(e->text + tlen - 2, "\"'", 2) == 0 && nameable_key(key, klen))
        diag_fail(msg, cap, "%.*s: given twice in one object (a key may appear once)", (int)klen,
                  key);
    else
        diag_fail(msg, cap, "a key is given twice in one object (a key may appear once)");
    return true;
}

/* A JSON string of n bytes, NULL when they are not valid UTF-8. */
static bool put_text(json_t *o, const char *key, const char *p, size_t n) {
    json_t *v = json_stringn(p, n);
    return v && json_object_set_new(o, key, v) == 0;
}

json_t *diag_request_to_json(const diag_request *req) {
    json_t *o = json_object();
    bool ok = o && put_text(o, "app_id", req->app_id ? req->app_id : "", req->app_id_len);
    if (ok && req->has_token && req->token_len > 0)
        ok = put_text(o, "token", req->token, req->token_len);
    ok = ok &&
         json_object_set_new(o, "service",
                             json_string(req->service == DIAG_SERVICE_RTM ? "rtm" : "rtc")) == 0;
    if (ok && req->has_channel)
        ok = put_text(o, "channel", req->channel, req->channel_len);
    if (ok && req->has_uid)
        ok = json_object_set_new(o, "uid", json_integer(req->uid)) == 0;
    if (ok && req->has_account)
        ok = put_text(o, "account", req->account, req->account_len);
    ok = ok &&
         json_object_set_new(
             o, "role",
             json_string(req->role == DIAG_ROLE_SUBSCRIBER ? "subscriber" : "publisher")) == 0 &&
         json_object_set_new(o, "platform", json_string(diag_client_name(req->client))) == 0 &&
         json_object_set_new(o, "at", json_integer(req->at)) == 0;
    if (ok && req->has_sdk_version)
        ok = json_object_set_new(o, "sdk_version", json_string(req->sdk_version.text)) == 0;
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void diag_request_project_key(const diag_request *req, const char **p, size_t *n) {
    const char *s = req->app_id ? req->app_id : "";
    size_t len = req->app_id ? req->app_id_len : 0;
    *p = s;
    *n = len;
    const char *t = s;
    size_t tn = len;
    diag_trim(&t, &tn);
    if (tn != len && diag_is_hex32(t, tn)) {
        *p = t;
        *n = tn;
    }
}

/* ---- `at` as text --------------------------------------------------------------------------- */

/* n digits at p as a number; false unless all are digits. */
static bool digits(const char *p, size_t n, int64_t *out) {
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return n > 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil), so that no time zone or libc state is involved. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool iso_utc_parse(const char *p, size_t n, int64_t *out) {
    /* YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z or +00:00 / -00:00. */
    int64_t y, mo, d, h, mi, s;
    if (n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') || p[13] != ':' ||
        p[16] != ':' || !digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
        !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &s))
        return false;
    size_t i = 19;
    if (i < n && p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    bool zone = (n - i == 1 && (p[i] == 'Z' || p[i] == 'z')) ||
                (n - i == 6 && (p[i] == '+' || p[i] == '-') && memcmp(p + i + 1, "00:00", 5) == 0);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!zone || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return false;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool diag_at_parse(const char *p, size_t n, int64_t *out) {
    int64_t v;
    if (!p || n == 0)
        return false;
    bool ok = n <= 10 ? digits(p, n, &v) : iso_utc_parse(p, n, &v);
    if (!ok || v < 0 || v > (int64_t)UINT32_MAX)
        return false;
    *out = v;
    return true;
}
