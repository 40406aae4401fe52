/* pf_config.c -- what a preflight is told: templates, headers, limits, a probe's file.
 *
 * Templates are plain text with placeholders {channel} {uid} {account} {role} {expire}
 * {service}; any other brace is literal (a JSON body template is full of them). A value is
 * percent-encoded where it lands in a URL (everything but the unreserved characters, so a '+'
 * or a space in a channel reaches the server as the client's SDK would send it) and JSON-escaped
 * in a body (the template supplies the quotes). The host and port of the URL must be written
 * out: a placeholder there could send requests elsewhere than the URL given.
 *
 * Which placeholders a template holds decides the matrix (pf_run.c): a server that takes only
 * accounts is never asked for uid 0. Messages name the option and never quote a header value.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pf_internal.h"

static const char *const placeholder_names[PF_PH_COUNT] = {
    [PF_PH_CHANNEL] = "channel", [PF_PH_UID] = "uid",       [PF_PH_ACCOUNT] = "account",
    [PF_PH_ROLE] = "role",       [PF_PH_EXPIRE] = "expire", [PF_PH_SERVICE] = "service",
};

/* The placeholder at p ("{name}"), its length in *n; -1 when p does not start one. */
static int placeholder_at(const char *p, size_t *n) {
    if (*p != '{')
        return -1;
    for (int i = 0; i < PF_PH_COUNT; i++) {
        size_t k = strlen(placeholder_names[i]);
        if (strncmp(p + 1, placeholder_names[i], k) == 0 && p[1 + k] == '}') {
            *n = k + 2;
            return i;
        }
    }
    return -1;
}

unsigned pf_template_placeholders(const char *tmpl) {
    unsigned bits = 0;
    for (const char *p = tmpl; p && *p; p++) {
        size_t n;
        int i = placeholder_at(p, &n);
        if (i >= 0)
            bits |= 1u << i;
    }
    return bits;
}

static bool add_value(td_buf *b, const char *p, size_t n, bool url) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool ok;
        if (url && !(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            ok = td_buf_add(b, e, 3);
        } else if (!url && (c == '"' || c == '\\')) {
            char e[2] = {'\\', (char)c};
            ok = td_buf_add(b, e, 2);
        } else if (!url && c < 0x20) {
            ok = td_buf_addf(b, "\\u%04x", c);
        } else {
            ok = td_buf_addc(b, (char)c);
        }
        if (!ok)
            return false;
    }
    return true;
}

bool pf_template_expand(td_buf *b, const char *tmpl, const pf_values *v, bool url) {
    for (const char *p = tmpl; *p;) {
        size_t n;
        int i = placeholder_at(p, &n);
        bool ok = i >= 0 ? add_value(b, v->value[i] ? v->value[i] : "", v->len[i], url)
                         : td_buf_addc(b, *p);
        if (!ok)
            return false;
        p += i >= 0 ? n : 1;
    }
    return true;
}

bool pf_authority_parse(const char *p, size_t n, char *host, size_t host_cap, unsigned *port) {
    const char *h = p, *end = p + n, *colon;
    size_t host_len;
    if (n && p[0] == '[') { /* [v6]:port */
        const char *close = memchr(p, ']', n);
        if (!close || (close + 1 < end && close[1] != ':'))
            return false;
        h = p + 1;
        host_len = (size_t)(close - h);
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', n);
        host_len = colon ? (size_t)(colon - p) : n;
    }
    unsigned long v = 80;
    if (colon) {
        v = 0;
        for (const char *d = colon + 1; d < end && v <= 65535; d++)
            v = *d >= '0' && *d <= '9' ? v * 10 + (unsigned long)(*d - '0') : 65536;
        v = colon + 1 < end ? v : 0;
    }
    if (host_len == 0 || host_len >= host_cap || memchr(h, '\0', host_len) || v == 0 || v > 65535)
        return false;
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    *port = (unsigned)v;
    return true;
}

bool pf_url_split(const char *tmpl, pf_url *u, char *err, size_t cap) {
    memset(u, 0, sizeof *u);
    const char *p = tmpl;
    if (strncasecmp(p, "https://", 8) == 0) {
        snprintf(err, cap,
                 "--url: https is not supported (plain http:// only: libevent 2.1's client "
                 "cannot use mbedTLS, the project's TLS library; reach the token server over "
                 "http on its private address or through a tunnel)");
        return false;
    }
    if (strncasecmp(p, "http://", 7) != 0) {
        snprintf(err, cap, "--url: must be http://HOST[:PORT]/PATH[?QUERY]");
        return false;
    }
    p += 7;
    size_t auth_len = strcspn(p, "/?#");
    if (auth_len == 0 || auth_len >= sizeof u->authority || memchr(p, '{', auth_len) ||
        memchr(p, '@', auth_len)) {
        snprintf(err, cap,
                 "--url: must be http://HOST[:PORT]/PATH[?QUERY], the host and port written "
                 "out (no placeholder, no user)");
        return false;
    }
    memcpy(u->authority, p, auth_len);
    if (!pf_authority_parse(u->authority, auth_len, u->host, sizeof u->host, &u->port)) {
        snprintf(err, cap,
                 "--url: must be http://HOST[:PORT]/PATH[?QUERY], PORT 1..65535 (IPv6: "
                 "[ADDRESS]:PORT)");
        return false;
    }
    u->path = p + auth_len;
    if (*u->path == '#') {
        snprintf(err, cap, "--url: a fragment has no place in a request");
        return false;
    }
    return true;
}

void pf_config_defaults(pf_config *c) {
    memset(c, 0, sizeof *c);
    c->role_word[DIAG_ROLE_PUBLISHER] = "publisher";
    c->role_word[DIAG_ROLE_SUBSCRIBER] = "subscriber";
    c->service = DIAG_SERVICE_RTC;
    c->max_requests = PF_REQUESTS_DEFAULT;
    c->timeout_s = PF_TIMEOUT_DEFAULT;
}

bool pf_config_check(const pf_config *c, char *err, size_t cap) {
    pf_url u;
    if (!c->url) {
        snprintf(err, cap, "--url: required (the token server's URL template)");
        return false;
    }
    if (strlen(c->url) > PF_TEMPLATE_MAX || (c->body && strlen(c->body) > PF_TEMPLATE_MAX)) {
        snprintf(err, cap, "--url, --body: at most %d bytes", PF_TEMPLATE_MAX);
        return false;
    }
    if (!pf_url_split(c->url, &u, err, cap))
        return false;
    if (!c->app_id || !diag_is_hex32(c->app_id, strlen(c->app_id))) {
        snprintf(err, cap, "--app-id: required, 32 hexadecimal characters");
        return false;
    }
    if (c->body && !c->post) {
        snprintf(err, cap, "--body: only with --method POST");
        return false;
    }
    unsigned ph = pf_template_placeholders(c->url) | pf_template_placeholders(c->body);
    if (!(ph & (1u << PF_PH_UID | 1u << PF_PH_ACCOUNT))) {
        snprintf(err, cap,
                 "--url, --body: the template needs {uid} or {account} (the user a token is "
                 "built for)");
        return false;
    }
    if (c->service == DIAG_SERVICE_RTC && !(ph & 1u << PF_PH_CHANNEL)) {
        snprintf(err, cap, "--url, --body: an rtc template needs {channel}");
        return false;
    }
    for (int i = 0; i < 2; i++)
        if (!c->role_word[i] || !*c->role_word[i] || strlen(c->role_word[i]) > 64) {
            snprintf(err, cap, "--roles: publisher=NAME,subscriber=NAME, names of 1..64 bytes");
            return false;
        }
    if (c->max_requests < 1 || c->max_requests > PF_REQUESTS_MAX) {
        snprintf(err, cap, "--max-requests: 1..%d", PF_REQUESTS_MAX);
        return false;
    }
    if (c->timeout_s < 1 || c->timeout_s > PF_TIMEOUT_MAX) {
        snprintf(err, cap, "--timeout: 1..%d seconds", PF_TIMEOUT_MAX);
        return false;
    }
    if (c->token_field &&
        (!*c->token_field || c->token_field[0] == '.' ||
         c->token_field[strlen(c->token_field) - 1] == '.' || strstr(c->token_field, ".."))) {
        snprintf(err, cap, "--token-field: a dotted path such as data.token");
        return false;
    }
    return true;
}

/* ---- Headers ------------------------------------------------------------------------------ */

static bool is_tchar(unsigned char c) {
    return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *const reserved_headers[] = {"host", "content-length", "connection",
                                               "transfer-encoding"};

void pf_headers_wipe(pf_headers *h) {
    explicit_bzero(h, sizeof *h);
}

bool pf_headers_parse(const char *p, size_t len, pf_headers *h, char *err, size_t cap) {
    memset(h, 0, sizeof *h);
    err[0] = '\0';
    if (len > PF_HEADERS_BYTES) {
        snprintf(err, cap, "--header-file: larger than %d bytes", PF_HEADERS_BYTES);
        return false;
    }
    memcpy(h->text, p, len);
    h->text[len] = '\0';
    bool ok = memchr(p, '\0', len) == NULL;
    unsigned line = 0;
    for (char *s = h->text, *next; ok && *s; s = next) {
        line++;
        char *nl = strchr(s, '\n');
        next = nl ? nl + 1 : s + strlen(s);
        if (nl)
            *nl = '\0';
        size_t n = strlen(s);
        if (n && s[n - 1] == '\r')
            s[--n] = '\0';
        if (n == 0 || s[0] == '#')
            continue;
        char *colon = strchr(s, ':');
        size_t name_len = colon ? (size_t)(colon - s) : 0;
        for (size_t i = 0; i < name_len && ok; i++)
            ok = is_tchar((unsigned char)s[i]);
        if (!ok || name_len == 0 || h->count == PF_HEADERS_MAX) {
            snprintf(err, cap, "--header-file: line %u: %s", line,
                     h->count == PF_HEADERS_MAX ? "too many headers"
                                                : "not a header line (Name: value)");
            ok = false;
            break;
        }
        *colon = '\0';
        for (size_t i = 0; i < sizeof reserved_headers / sizeof *reserved_headers; i++)
            if (strcasecmp(s, reserved_headers[i]) == 0) {
                snprintf(err, cap, "--header-file: line %u: %s is set by tokendoctor", line,
                         reserved_headers[i]);
                ok = false;
            }
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        for (const char *q = value; ok && *q; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t') {
                snprintf(err, cap, "--header-file: line %u: a control character in the value",
                         line);
                ok = false;
            }
        h->name[h->count] = s;
        h->value[h->count++] = value;
    }
    if (!ok && !err[0])
        snprintf(err, cap, "--header-file: holds a NUL byte");
    if (!ok)
        pf_headers_wipe(h);
    return ok;
}

/* ---- A probe's file ----------------------------------------------------------------------- */

#define PROBE_INTERVAL_DEFAULT 300
#define PROBE_INTERVAL_MIN 10
#define PROBE_INTERVAL_MAX 86400

/* The string member name of doc into *out (untouched when absent); false when not a string. */
static bool get_string(json_t *doc, const char *name, const char **out, char *err, size_t cap) {
    json_t *v = json_object_get(doc, name);
    if (!v)
        return true;
    if (!json_is_string(v)) {
        snprintf(err, cap, "%s: must be a string", name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool get_uint(json_t *doc, const char *name, unsigned lo, unsigned hi, unsigned *out,
                     char *err, size_t cap) {
    json_t *v = json_object_get(doc, name);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, cap, "%s: must be an integer in %u..%u", name, lo, hi);
        return false;
    }
    *out = (unsigned)json_integer_value(v);
    return true;
}

/* Reads the header file at path into h. */
static bool read_headers(const char *path, pf_headers *h, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "header_file: cannot open %s", path);
        return false;
    }
    char text[PF_HEADERS_BYTES + 2];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    bool ok = pf_headers_parse(text, n, h, err, cap);
    explicit_bzero(text, sizeof text);
    return ok;
}

bool pf_probe_config_from_json(json_t *doc, pf_probe_config *out, pf_headers *headers, char *err,
                               size_t cap) {
    memset(out, 0, sizeof *out);
    pf_config *c = &out->config;
    pf_config_defaults(c);
    out->interval_s = PROBE_INTERVAL_DEFAULT;
    if (!json_is_object(doc)) {
        snprintf(err, cap, "a probe's configuration is a JSON object");
        return false;
    }
    const char *service = NULL, *method = NULL, *header_file = NULL;
    json_t *roles = json_object_get(doc, "roles");
    bool ok = get_string(doc, "url", &c->url, err, cap) &&
              get_string(doc, "app_id", &c->app_id, err, cap) &&
              get_string(doc, "service", &service, err, cap) &&
              get_string(doc, "method", &method, err, cap) &&
              get_string(doc, "body", &c->body, err, cap) &&
              get_string(doc, "token_field", &c->token_field, err, cap) &&
              get_string(doc, "header_file", &header_file, err, cap) &&
              get_uint(doc, "max_requests", 1, PF_REQUESTS_MAX, &c->max_requests, err, cap) &&
              get_uint(doc, "timeout", 1, PF_TIMEOUT_MAX, &c->timeout_s, err, cap) &&
              get_uint(doc, "interval", PROBE_INTERVAL_MIN, PROBE_INTERVAL_MAX, &out->interval_s,
                       err, cap);
    if (ok && roles && !json_is_object(roles)) {
        snprintf(err, cap, "roles: must be an object {\"publisher\", \"subscriber\"}");
        ok = false;
    }
    ok = ok && (!roles || (get_string(roles, "publisher", &c->role_word[0], err, cap) &&
                           get_string(roles, "subscriber", &c->role_word[1], err, cap)));
    if (ok && service && !diag_service_parse(service, &c->service)) {
        snprintf(err, cap, "service: rtc or rtm");
        ok = false;
    }
    if (ok && method && strcasecmp(method, "GET") != 0 && strcasecmp(method, "POST") != 0) {
        snprintf(err, cap, "method: GET or POST");
        ok = false;
    }
    c->post = method && strcasecmp(method, "POST") == 0;
    ok = ok && (!header_file || read_headers(header_file, headers, err, cap));
    c->headers = header_file ? headers : NULL;
    ok = ok && pf_config_check(c, err, cap);
    return ok;
}
