/* test_cli_decode_mint.c -- `tokendoctor decode` and `tokendoctor mint` run as a user runs them.
 *
 * Each case executes the built program (fork + exec, standard streams redirected to temporary
 * files) and checks the exit status, the output and, for --json, the document's shape. Covered:
 * every mint-exact line the mint options can express (byte for byte, with --uid and --account
 * where both apply), every tokens.jsonl token through `decode --json` compared with its expect,
 * stdin ("-", and no argument), malformed tokens (exit 1, the error object with its hint),
 * usage errors (exit 64 naming the flag), the certificate never appearing in any output, mint
 * round trips (random salt, defaults) and --db signing with a stored project.
 */
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tdcore.h"
#include "tddb.h"

static const char *prog;
static char tmpdir[256];
static char cert_path[512];
static const char cert[] = "5CFd2fd1755d40ecb72977518be15d3b";
static const char app_id[] = "970CA35de60c44645bbae8a215061b33";

typedef struct {
    int status;
    char out[65536];
    char err[16384];
} run_result;

/* The file's text into buf (cut to cap - 1 bytes); "" when it cannot be read. */
static void slurp(const char *path, char *buf, size_t cap) {
    size_t n = 0;
    char *text = tu_read_file(path, &n);
    if (n > cap - 1)
        n = cap - 1;
    if (text)
        memcpy(buf, text, n);
    buf[n] = '\0';
    free(text);
}

/* Runs prog with args (NULL-terminated), feeding `in` (may be NULL) on standard input. */
static void run(run_result *r, const char *in, const char *const *args) {
    char in_path[600], out_path[600], err_path[600];
    snprintf(in_path, sizeof in_path, "%s/in", tmpdir);
    snprintf(out_path, sizeof out_path, "%s/out", tmpdir);
    snprintf(err_path, sizeof err_path, "%s/err", tmpdir);
    tu_write_file(in_path, in ? in : "", in ? strlen(in) : 0);
    const char *argv[64];
    int argc = 0;
    argv[argc++] = prog;
    for (int i = 0; args[i] && argc < 63; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    r->status = tu_wait(tu_spawn(argv, in_path, out_path, err_path));
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
}

#define RUN(r, in, ...)                                                                            \
    do {                                                                                           \
        const char *const args_[] = {__VA_ARGS__, NULL};                                           \
        run((r), (in), args_);                                                                     \
    } while (0)

static void chomp(char *s) {
    size_t n = strlen(s);
    if (n && s[n - 1] == '\n')
        s[n - 1] = '\0';
}

/* The token a mint run printed (r->out, its newline removed), decoded into tok. */
static td_status decode_minted(td_ctx *ctx, run_result *r, td_token *tok) {
    chomp(r->out);
    return td_decode(ctx, r->out, strlen(r->out), tok);
}

/* ---- mint-exact through the CLI --------------------------------------------------------- */

/* The privilege value when privs is {"1": v} (subscriber) or {"1".."4": v} (publisher) or the
 * single key `only`; false when the map is not one mint builds. */
static bool mint_privileges(json_t *privs, const char *only, uint32_t *value, bool *publisher) {
    size_t n = json_object_size(privs);
    json_t *first = json_object_get(privs, only);
    if (!first)
        return false;
    *value = (uint32_t)json_integer_value(first);
    *publisher = n == 4;
    if (n == 1)
        return true;
    if (n != 4 || strcmp(only, "1") != 0)
        return false;
    const char *key;
    json_t *v;
    json_object_foreach(privs, key, v) {
        if ((uint32_t)json_integer_value(v) != *value)
            return false;
    }
    return json_object_get(privs, "4") != NULL;
}

typedef struct {
    const char *argv[40];
    int argc;
    char bufs[8][64];
    int nbufs;
} argbuild;

static void arg(argbuild *b, const char *s) {
    b->argv[b->argc++] = s;
    b->argv[b->argc] = NULL;
}
static void args(argbuild *b, const char *flag, const char *value) {
    arg(b, flag);
    arg(b, value);
}
static void argn(argbuild *b, const char *flag, long long v) {
    snprintf(b->bufs[b->nbufs], sizeof b->bufs[0], "%lld", v);
    arg(b, flag);
    arg(b, b->bufs[b->nbufs++]);
}

/* Builds the mint arguments for a line; returns false when mint cannot express it. uid_form:
 * 0 = --uid for a numeric uid, 1 = --account. */
static bool mint_args_for(json_t *o, argbuild *b, int uid_form) {
    const char *version = tu_str(o, "version");
    memset(b, 0, sizeof *b);
    arg(b, "mint");
    args(b, "--version", version);
    args(b, "--app-id", tu_str(o, "app_id"));
    args(b, "--certificate-file", cert_path);
    argn(b, "--salt", json_integer_value(json_object_get(o, "salt")));
    uint32_t value;
    bool publisher;
    const char *uid;
    if (strcmp(version, "007") == 0) {
        json_t *services = json_object_get(o, "services");
        if (json_array_size(services) != 1)
            return false;
        json_t *s = json_array_get(services, 0);
        json_int_t type = json_integer_value(json_object_get(s, "type"));
        if (!mint_privileges(json_object_get(s, "privileges"), "1", &value, &publisher))
            return false;
        argn(b, "--issue-ts", json_integer_value(json_object_get(o, "issue_ts")));
        argn(b, "--expire", json_integer_value(json_object_get(o, "expire")));
        argn(b, "--privilege-expire", value);
        if (type == 2) {
            if (publisher)
                return false;
            args(b, "--service", "rtm");
            args(b, "--account", tu_str(s, "user_id"));
            return true;
        }
        if (type != 1)
            return false;
        args(b, "--channel", tu_str(s, "channel"));
        uid = tu_str(s, "uid");
    } else {
        json_t *privs = json_object_get(o, "privileges");
        bool rtm = json_object_get(privs, "1000") != NULL;
        if (!mint_privileges(privs, rtm ? "1000" : "1", &value, &publisher))
            return false;
        json_int_t ts = json_integer_value(json_object_get(o, "ts"));
        if (value < ts)
            return false;
        argn(b, "--issue-ts", ts);
        argn(b, "--expire", 0);
        argn(b, "--privilege-expire", value - ts);
        uid = tu_str(o, "uid");
        if (rtm) {
            if (*uid || publisher)
                return false;
            args(b, "--service", "rtm");
            args(b, "--account", tu_str(o, "channel"));
            return true;
        }
        args(b, "--channel", tu_str(o, "channel"));
    }
    args(b, "--role", publisher ? "publisher" : "subscriber");
    if (!*uid)
        args(b, "--uid", "0");
    else if (uid[strspn(uid, "0123456789")] == '\0' && uid_form == 0) /* all digits */
        args(b, "--uid", uid);
    else
        args(b, "--account", uid);
    return true;
}

static void test_mint_exact(const char *dir) {
    tu_lines l;
    if (!tu_lines_open(&l, dir, "mint-exact.jsonl"))
        return;
    int expressible = 0;
    run_result *r = malloc(sizeof *r);
    while (tu_lines_next(&l)) {
        const char *expect = tu_str(l.line, "token");
        argbuild b;
        for (int form = 0; form < 2; form++) {
            if (!mint_args_for(l.line, &b, form))
                break;
            if (form == 0)
                expressible++;
            run(r, NULL, b.argv + 0);
            chomp(r->out);
            CHECK(r->status == 0 && strcmp(r->out, expect) == 0,
                  "mint-exact line %d (form %d): status %d, got '%s', stderr %s", l.n, form,
                  r->status, r->out, r->err);
        }
    }
    free(r);
    CHECK(expressible >= 9, "the 9 mint-exact lines (or more) expressible by mint, found %d",
          expressible);
}

/* ---- decode --json of every vector ------------------------------------------------------ */

/* Our privileges array as the vectors' {"id": value} map. */
static json_t *privileges_as_map(json_t *arr) {
    json_t *m = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p) {
        char key[8];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(p, "id")));
        json_object_set(m, key, json_object_get(p, "expire"));
        CHECK(json_object_get(p, "name") != NULL, "privilege without a name field");
    }
    return m;
}

static void compare_decoded(const char *id, json_t *got, json_t *expect) {
    const char *key;
    json_t *v;
    json_object_foreach(expect, key, v) {
        json_t *g = json_object_get(got, key);
        if (strcmp(key, "privileges") == 0) {
            json_t *m = privileges_as_map(g);
            CHECK(json_equal(m, v), "%s: privileges differ", id);
            json_decref(m);
        } else if (strcmp(key, "services") == 0) {
            CHECK(json_array_size(g) == json_array_size(v), "%s: service count", id);
            for (size_t i = 0; i < json_array_size(v) && i < json_array_size(g); i++) {
                json_t *gs = json_array_get(g, i);
                CHECK(json_is_string(json_object_get(gs, "name")), "%s: service name", id);
                compare_decoded(id, gs, json_array_get(v, i));
            }
        } else if (strcmp(key, "permissions") == 0) {
            CHECK(json_array_size(g) == json_array_size(v), "%s: permission count", id);
            for (size_t i = 0; i < json_array_size(v) && i < json_array_size(g); i++)
                compare_decoded(id, json_array_get(g, i), json_array_get(v, i));
        } else {
            CHECK(g && json_equal(g, v), "%s: field %s differs", id, key);
        }
    }
}

static void test_decode_vectors(const char *dir) {
    tu_lines l;
    if (!tu_lines_open(&l, dir, "tokens.jsonl"))
        return;
    run_result *r = malloc(sizeof *r);
    while (tu_lines_next(&l)) {
        const char *id = tu_str(l.line, "id");
        const char *token = tu_str(l.line, "token");
        /* Alternate between the argument and standard input (the first line: the argument). */
        if (l.n % 2 == 1) {
            RUN(r, NULL, "decode", "--json", token);
        } else {
            char in[8192];
            snprintf(in, sizeof in, "%s\n", token);
            RUN(r, in, "decode", "-", "--json");
        }
        CHECK(r->status == 0, "%s: decode exit %d: %s", id, r->status, r->err);
        json_error_t err;
        json_t *got = json_loads(r->out, 0, &err);
        CHECK(got != NULL, "%s: decode --json is not one JSON document: %s", id, err.text);
        if (got) {
            compare_decoded(id, got, json_object_get(l.line, "expect"));
            CHECK(json_is_string(json_object_get(got, "signature")) &&
                      strlen(json_string_value(json_object_get(got, "signature"))) == 64,
                  "%s: signature hex", id);
            CHECK(json_is_integer(json_object_get(got, "expires_at")), "%s: expires_at", id);
        }
        json_decref(got);
    }
    free(r);
    CHECK(l.n >= 200, "the 200 tokens (or more) decoded through the CLI, got %d", l.n);
}

/* ---- decode: stdin, malformed, usage, human output --------------------------------------- */

static void test_decode_cli(void) {
    run_result *r = malloc(sizeof *r);
    const char *tok = "006970CA35de60c44645bbae8a215061b33IAAsR0qgiCxv0vrpRcpkz5BrbfEWCBZ6kvR6t7qG/"
                      "wJIQob86ogAAAAAEAABAAAAR/QQAAEA6AOvKDdW";
    char in[512];
    snprintf(in, sizeof in, "%s\r\n", tok);
    RUN(r, in, "decode", "-");
    CHECK(r->status == 0 && strstr(r->out, "1000 rtm_login") && strstr(r->out, "1970-01-13T"),
          "decode - with CRLF, human output: %d %s", r->status, r->out);
    RUN(r, in, "decode", "--json");
    CHECK(r->status == 0 && strstr(r->out, "\"crc_uid\": 0"), "decode with no TOKEN reads stdin");
    RUN(r, NULL, "decode", "--at", "1111111", tok);
    CHECK(r->status == 0 && strstr(r->out, "expired just now"), "--at: %s", r->out);
    RUN(r, NULL, "decode", "--at", "1111000", tok);
    CHECK(r->status == 0 && strstr(r->out, "(in 1 min)"), "--at in the past: %s", r->out);

    struct {
        const char *token, *hint;
    } bad[] = {{"007eJxTYA", "truncated"},
               {"007!!!", "not_base64"},
               {"005abcd", "legacy_version"},
               {"hello", "unsupported_version"},
               {"007AAAAAAAAAAAAAAAAAAAAAAAA", "corrupted"},
               {"006339a78472ed0d024", "truncated"},
               /* the hints a diagnosis gives, not only the decoder's kind */
               {" 007eJxTYA== ", "whitespace"},
               {"970CA35de60c44645bbae8a215061b33", "app_id_as_token"},
               {"007eJx TYA", "url_decoded"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        RUN(r, NULL, "decode", "--json", bad[i].token);
        json_t *doc = json_loads(r->out, 0, NULL);
        json_t *e = json_object_get(doc, "error");
        CHECK(r->status == 1, "malformed '%s': exit %d", bad[i].token, r->status);
        CHECK(e && strcmp(json_string_value(json_object_get(e, "code")), "token_malformed") == 0 &&
                  json_is_string(json_object_get(e, "message")) &&
                  strcmp(json_string_value(json_array_get(json_object_get(e, "hints"), 0)),
                         bad[i].hint) == 0,
              "malformed '%s': error object %s", bad[i].token, r->out);
        json_decref(doc);
        RUN(r, NULL, "decode", bad[i].token);
        CHECK(r->status == 1 && r->out[0] == '\0' && strstr(r->err, bad[i].hint),
              "malformed '%s' without --json: message on stderr", bad[i].token);
    }
    /* Nothing to decode -- an empty argument, or standard input that holds nothing or only a
     * newline -- is "empty", not "does not start with a known version" (issue 13). */
    const char *empty_in[] = {NULL, "", "\n"};
    for (int i = 0; i < 3; i++) {
        const char *what = i == 0 ? "''" : i == 1 ? "empty stdin" : "stdin '\\n'";
        if (i == 0)
            RUN(r, NULL, "decode", "--json", "");
        else
            RUN(r, empty_in[i], "decode", "--json", "-");
        json_t *doc = json_loads(r->out, 0, NULL);
        json_t *e = json_object_get(doc, "error");
        CHECK(r->status == 1 && e &&
                  strcmp(json_string_value(json_object_get(e, "message")), "the token is empty") ==
                      0 &&
                  json_array_size(json_object_get(e, "hints")) == 0,
              "decode %s --json: 'the token is empty': %d %s", what, r->status, r->out);
        json_decref(doc);
        if (i == 0)
            RUN(r, NULL, "decode", "");
        else
            RUN(r, empty_in[i], "decode");
        CHECK(r->status == 1 && r->out[0] == '\0' && strstr(r->err, "the token is empty") &&
                  !strstr(r->err, "known version"),
              "decode %s: says empty on stderr: %s", what, r->err);
    }

    /* --json: stdout holds one JSON document whatever fails, the exit status unchanged. */
    const char *const usage_json[][4] = {{"decode", "--json", "--frobnicate", tok},
                                         {"decode", "--json", tok, tok},
                                         {"decode", "--at", "soon", "--json"},
                                         {"decode", "--json", "--at", NULL}};
    for (size_t i = 0; i < sizeof usage_json / sizeof usage_json[0]; i++) {
        run(r, NULL, usage_json[i]);
        json_t *doc = json_loads(r->out, 0, NULL);
        json_t *e = json_object_get(doc, "error");
        CHECK(r->status == 64 && e &&
                  strcmp(json_string_value(json_object_get(e, "code")), "usage") == 0 &&
                  json_is_string(json_object_get(e, "message")),
              "decode usage error #%zu with --json: exit 64 and the error object: %d '%s'", i,
              r->status, r->out);
        json_decref(doc);
    }

    /* An oversize token from stdin. */
    static char big[TD_TOKEN_TEXT_MAX + 16];
    memset(big, 'A', sizeof big - 1);
    memcpy(big, "007", 3);
    RUN(r, big, "decode", "--json", "-");
    CHECK(r->status == 1 && strstr(r->out, "corrupted"), "4 KiB + n: %s", r->out);

    RUN(r, NULL, "decode", "--at", "soon", tok);
    CHECK(r->status == 64 && strstr(r->err, "--at"), "--at bad value");
    RUN(r, NULL, "decode", "--at");
    CHECK(r->status == 64, "--at without value");
    RUN(r, NULL, "decode", tok, tok);
    CHECK(r->status == 64, "two tokens");
    RUN(r, NULL, "decode", "--frobnicate", tok);
    CHECK(r->status == 64 && strstr(r->err, "--frobnicate"), "unknown option");
    RUN(r, NULL, "decode", "--help");
    CHECK(r->status == 0 && strstr(r->out, "usage"), "--help");
    free(r);
}

/* A token whose strings are not UTF-8 still renders as valid JSON, and as text. */
static void test_binary_strings(td_ctx *ctx) {
    static td_token spec;
    memset(&spec, 0, sizeof spec);
    static const char chan[] = "bad\xff\xfe utf8 \xc3\x28 \xed\xa0\x80 nul\0x \x1b[31m";
    spec.app_id = (td_str){app_id, 32};
    spec.issue_ts = 1700000000;
    spec.expire = 60;
    spec.salt = 1;
    spec.service_count = 1;
    spec.services[0] = (td_service){
        .type = TD_SVC_RTC, .known = true, .a = {chan, sizeof chan - 1}, .b = {"\x80", 1}};
    char text[TD_TOKEN_TEXT_MAX];
    size_t len = td_build007(ctx, &spec, cert, 32, text, sizeof text);
    CHECK(len > 0, "build binary token");
    run_result *r = malloc(sizeof *r);
    RUN(r, NULL, "decode", "--json", text);
    json_t *doc = json_loads(r->out, JSON_ALLOW_NUL, NULL); /* the channel holds a NUL byte */
    json_t *svc = json_array_get(json_object_get(doc, "services"), 0);
    const char *got = json_string_value(json_object_get(svc, "channel"));
    CHECK(r->status == 0 && doc && got && strstr(got, "bad\xef\xbf\xbd\xef\xbf\xbd utf8"),
          "binary channel as valid JSON with U+FFFD: %s", r->out);
    CHECK(got && strcmp(json_string_value(json_object_get(svc, "uid")), "\xef\xbf\xbd") == 0,
          "binary uid");
    json_decref(doc);
    RUN(r, NULL, "decode", text);
    CHECK(r->status == 0 && strstr(r->out, "\\xff") && !strchr(r->out, '\x1b'),
          "human output escapes bytes and control characters: %s", r->out);
    free(r);
}

/* ---- mint: usage, secrets, round trips ----------------------------------------------------- */

static void expect_usage(run_result *r, const char *flag, const char *what) {
    CHECK(r->status == 64, "%s: exit %d (want 64)", what, r->status);
    CHECK(!flag || strstr(r->err, flag), "%s: message names %s: %s", what, flag, r->err);
    CHECK(!strstr(r->err, cert) && !strstr(r->out, cert), "%s: certificate printed", what);
}

/* mint --version version --app-id (good) --certificate-file (good), then args (NULL-terminated):
 * a usage error as expect_usage says. */
static void expect_mint_usage(run_result *r, const char *version, const char *const *args,
                              const char *flag, const char *what) {
    const char *argv[24] = {"mint", "--version",          version,  "--app-id",
                            app_id, "--certificate-file", cert_path};
    int n = 7;
    while (*args && n < 23)
        argv[n++] = *args++;
    run(r, NULL, argv);
    expect_usage(r, flag, what);
}

static void test_mint_cli(td_ctx *ctx) {
    run_result *r = malloc(sizeof *r);
    const char *C = cert_path;
#define MINT(...) RUN(r, NULL, "mint", __VA_ARGS__)
    MINT("--app-id", app_id, "--certificate-file", C, "--channel", "c");
    expect_usage(r, "--version", "missing --version");
    MINT("--version", "008", "--app-id", app_id, "--certificate-file", C, "--channel", "c");
    expect_usage(r, "--version", "bad --version");
    MINT("--version", "007", "--app-id", "xyz", "--certificate-file", C, "--channel", "c");
    expect_usage(r, "--app-id", "bad --app-id");
    /* No --certificate-file: the default database, which does not exist here (1, the path and
     * the two ways to give a certificate named). */
    MINT("--version", "007", "--app-id", app_id, "--channel", "c");
    CHECK(r->status == 1 && strstr(r->err, "--certificate-file") &&
              strstr(r->err, "/nonexistent/tokendoctor-test.db"),
          "no certificate, no default database: exit %d: %s", r->status, r->err);
    /* Usage errors after a good --version, --app-id and --certificate-file. */
    const struct {
        const char *version, *args[9], *flag, *what;
    } usage_cases[] = {
        {"007", {"--db", "/nope", "--channel", "c"}, "--db", "file and db"},
        {"007", {NULL}, "--channel", "rtc without channel"},
        {"007", {"--service", "rtm"}, "--account", "rtm without user id"},
        {"007", {"--service", "rtm", "--uid", "0"}, "--uid", "rtm with uid 0"},
        {"007", {"--service", "xmpp"}, "--service", "bad --service"},
        {"007", {"--channel", "c", "--uid", "1", "--account", "a"}, "--uid", "uid and account"},
        {"007", {"--channel", "c", "--uid", "4294967296"}, "--uid", "uid too large"},
        {"007", {"--channel", "c", "--uid", "-1"}, "--uid", "negative uid"},
        {"007", {"--channel", "c", "--role", "king"}, "--role", "bad role"},
        {"007", {"--channel", "c", "--expire", "1h"}, "--expire", "bad expire"},
        {"006",
         {"--channel", "c", "--issue-ts", "4294967000", "--expire", "3600"},
         "--expire",
         "006 ts overflow"},
        {"007", {"--channel"}, "--channel", "missing value"},
        {"007",
         {"--channel", "c", "--certificate", cert},
         "--certificate",
         "no --certificate flag"},
        {"007", {"--channel", "c", "stray"}, "stray", "positional argument"},
        {"007",
         {"--channel", "c", "--certificate=5CFd2fd1755d40ecb72977518be15d3b"},
         "'--certificate'",
         "unknown --name=value, the value not echoed"},
        {"007", {"--channel", "c", "--key-file", "k"}, "--key-file", "--key-file without --db"},
        {"007",
         {"--service", "rtm", "--account", "a", "--channel", "c"},
         "--channel",
         "rtm with --channel"},
        {"007",
         {"--service", "rtm", "--account", "a", "--role", "subscriber"},
         "--role",
         "rtm with --role"},
        {"007",
         {"--channel", "c", "--salt", "1", "--salt", "2"},
         "--salt given twice",
         "number given twice"},
        {"007",
         {"--channel", "c", "--channel", "d"},
         "--channel given twice",
         "string given twice"},
        {"006",
         {"--channel", "c", "--issue-ts", "4294960000", "--expire", "60", "--privilege-expire",
          "4294967295"},
         "--privilege-expire",
         "006 privilege overflow"},
    };
    for (size_t i = 0; i < sizeof usage_cases / sizeof *usage_cases; i++)
        expect_mint_usage(r, usage_cases[i].version, usage_cases[i].args, usage_cases[i].flag,
                          usage_cases[i].what);
    /* the role aliases diagnose accepts (host, audience) are mint's too */
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", C, "--channel", "c",
         "--role", "audience");
    CHECK(r->status == 0, "--role audience: exit %d: %s", r->status, r->err);
    static char long_account[300];
    memset(long_account, 'a', 256);
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", C, "--channel", "c",
         "--account", long_account);
    expect_usage(r, "--account", "account over 255 bytes");

    /* Bad certificate files: the content is never echoed. */
    const char *contents[] = {"5CFd2fd1755d40ecb72977518be15d3bX\n", "5CFd2fd1755d\n",
                              "zzFd2fd1755d40ecb72977518be15d3b", "",
                              "5CFd2fd1755d40ecb72977518be15d3b\n\n"};
    char bad_path[600];
    snprintf(bad_path, sizeof bad_path, "%s/badcert", tmpdir);
    for (size_t i = 0; i < sizeof contents / sizeof *contents; i++) {
        FILE *f = fopen(bad_path, "w");
        fputs(contents[i], f);
        fclose(f);
        MINT("--version", "007", "--app-id", app_id, "--certificate-file", bad_path, "--channel",
             "c");
        expect_usage(r, "--certificate-file", contents[i]);
        CHECK(!strstr(r->err, "5CFd2fd1755d") && !strstr(r->err, "zzFd2"),
              "bad certificate file content echoed: %s", r->err);
    }
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", "/nonexistent/cert",
         "--channel", "c");
    expect_usage(r, "/nonexistent/cert", "missing certificate file");
    /* A CRLF-terminated certificate file is fine. */
    FILE *f = fopen(bad_path, "w");
    fprintf(f, "%s\r\n", cert);
    fclose(f);
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", bad_path, "--channel", "c");
    CHECK(r->status == 0, "CRLF certificate file: %s", r->err);

    /* Defaults: rtc publisher, expire 3600, issue now, random salt; verifies. */
    static td_token tok;
    static char first[sizeof((run_result *)0)->out];
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", C, "--channel", "room");
    chomp(r->out);
    CHECK(r->status == 0 && !strchr(r->out, '\n') && !strstr(r->out, cert), "mint defaults");
    snprintf(first, sizeof first, "%s", r->out);
    td_status st = td_decode(ctx, first, strlen(first), &tok);
    CHECK(st == TD_OK && td_verify007(ctx, &tok, cert, 32), "minted token verifies");
    CHECK(st == TD_OK && tok.expire == 3600 && tok.service_count == 1 &&
              tok.services[0].privilege_count == 4 && tok.services[0].b.len == 0 &&
              tok.privileges[0].value == 3600 && tok.salt >= 1 && tok.salt <= 99999999,
          "mint defaults decoded");
    int64_t now = (int64_t)time(NULL);
    CHECK(st == TD_OK && tok.issue_ts + 5 >= now && tok.issue_ts <= now + 5, "issue_ts = now");
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", C, "--channel", "room");
    chomp(r->out);
    CHECK(strcmp(first, r->out) != 0, "two mints without --salt differ");

    /* 006 rtc publisher with an account; 006 rtm. */
    MINT("--version", "006", "--app-id", app_id, "--certificate-file", C, "--channel", "room",
         "--account", "alice", "--issue-ts", "1700000000", "--expire", "600", "--privilege-expire",
         "300");
    st = decode_minted(ctx, r, &tok);
    CHECK(st == TD_OK && td_verify006(ctx, &tok, cert, 32, "room", 4, "alice", 5) &&
              tok.ts == 1700000600 && tok.privilege_count_006 == 4 &&
              tok.privileges[3].value == 1700000300,
          "006 rtc publisher");
    MINT("--version", "006", "--app-id", app_id, "--certificate-file", C, "--service", "rtm",
         "--uid", "42", "--issue-ts", "1700000000");
    st = decode_minted(ctx, r, &tok);
    CHECK(st == TD_OK && td_verify006(ctx, &tok, cert, 32, "42", 2, "", 0) && tok.crc_uid == 0 &&
              tok.privilege_count_006 == 1 && tok.privileges[0].id == 1000 &&
              tok.privileges[0].value == 1700003600,
          "006 rtm with the user id in the channel's place");
    MINT("--version", "007", "--app-id", app_id, "--certificate-file", C, "--service", "rtm",
         "--account", "bob", "--expire", "100");
    st = decode_minted(ctx, r, &tok);
    CHECK(st == TD_OK && tok.services[0].type == TD_SVC_RTM && tok.privileges[0].value == 100 &&
              td_verify007(ctx, &tok, cert, 32),
          "007 rtm");
#undef MINT
    free(r);
}

/* --db: sign with the stored project's primary certificate. */
static void test_mint_db(td_ctx *ctx) {
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/store.db", tmpdir);
    run_result *r = malloc(sizeof *r);
    RUN(r, NULL, "mint", "--version", "007", "--app-id", app_id, "--db", db_path, "--channel", "c");
    CHECK(r->status == 1 && access(db_path, F_OK) != 0, "--db without a database: %d %s", r->status,
          r->err);
    char err[512];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    CHECK(db != NULL, "tdb_open: %s", err);
    if (db) {
        static diag_project p;
        memset(&p, 0, sizeof p);
        memcpy(p.app_id, app_id, 33);
        p.primary.present = true;
        p.primary.enabled = true;
        memcpy(p.primary.certificate, cert, 33);
        CHECK(tdb_project_put(db, &p, "test", NULL) == TDB_OK, "project put: %s", tdb_errmsg(db));
        tdb_close(db);
    }
    RUN(r, NULL, "mint", "--version", "007", "--app-id", app_id, "--db", db_path, "--channel", "c",
        "--uid", "7");
    static td_token tok;
    td_status st = decode_minted(ctx, r, &tok);
    CHECK(r->status == 0 && st == TD_OK && td_verify007(ctx, &tok, cert, 32),
          "--db signs with the primary certificate: %d %s", r->status, r->err);
    RUN(r, NULL, "mint", "--version", "007", "--app-id", "00000000000000000000000000000000", "--db",
        db_path, "--channel", "c");
    CHECK(r->status == 1 && strstr(r->err, "no project"), "--db unknown project: %s", r->err);
    /* A stored project without a primary certificate: nothing to sign with (1). */
    static const char other_app[] = "0123456789abcdef0123456789abcdef";
    db = tdb_open(db_path, NULL, err, sizeof err);
    if (db) {
        static diag_project p;
        memset(&p, 0, sizeof p);
        memcpy(p.app_id, other_app, 33);
        p.no_certificate = true;
        CHECK(tdb_project_put(db, &p, "test", NULL) == TDB_OK, "project put: %s", tdb_errmsg(db));
        tdb_close(db);
    }
    RUN(r, NULL, "mint", "--version", "007", "--app-id", other_app, "--db", db_path, "--channel",
        "c");
    CHECK(r->status == 1 && r->out[0] == '\0' && strstr(r->err, "no primary certificate"),
          "--db project without a primary certificate: %d %s", r->status, r->err);
    free(r);
}

int main(int argc, char **argv) {
    char **args = tu_args(argc, argv, 2, "TOKENDOCTOR VECTORS_DIR");
    prog = args[0];
    /* Never the default database of wherever the test runs (mint without --certificate-file). */
    setenv("TOKENDOCTOR_DB", "/nonexistent/tokendoctor-test.db", 1);
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir, "td_cli_decode_mint")) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(cert_path, sizeof cert_path, "%s/cert", tmpdir);
    char cert_line[64];
    snprintf(cert_line, sizeof cert_line, "%s\n", cert);
    tu_write_file(cert_path, cert_line, strlen(cert_line));
    td_ctx *ctx = td_ctx_new();
    test_mint_exact(args[1]);
    test_decode_vectors(args[1]);
    test_decode_cli();
    test_binary_strings(ctx);
    test_mint_cli(ctx);
    test_mint_db(ctx);
    td_ctx_free(ctx);
    if (!tu_rmtree(tmpdir))
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return tu_report("cli_decode_mint");
}
