/* test_cli_diagnose.c -- `tokendoctor diagnose` driven as a user or a script drives it.
 *
 *  1. Every public scenario (v2/scenarios.jsonl and v2/sdk.jsonl) through `diagnose --batch FILE
 *     --project FILE` (one project array, matched by App ID), full and --summary output, and
 *     once more through standard input: every line answered, in order, id echoed, `expect` and
 *     the sdk_version echo reproduced; a bad_request scenario's line is the error object
 *     {"id", "error": {"code": "bad_request", "message": "sdk_version: ..."}}.
 *     Every scenario once more as a single `diagnose --json` with its flags (--sdk-version when
 *     the request has one): the exit status of its verdict and its expect, or exit 64 and a
 *     message for a bad request.
 *  2. Bad batch lines (uid out of range, uid with account, no app_id, no channel, invalid JSON,
 *     `at` out of range, a malformed sdk_version) each get an error line naming the field, and
 *     the next line is still diagnosed.
 *  3. --db PATH: a project stored with tdb_project_put is found by the CLI.
 *  4. Single diagnoses: exit statuses 0/1/2/64, the human headline, --json, TOKEN from
 *     standard input, "" and --no-token, --project with one object or no match, `--at` as
 *     ISO-8601, and bad requests answered with exit 64 and a message naming the flag or field.
 *  5. --threads: the scenarios eight times over (~3,200 lines, ids of every JSON type) mixed
 *     with bad lines, blank lines, CRLF lines, a line over 1 MiB and a last line without a
 *     newline give byte-identical output with 1, 2, 3, 8 and the default number of threads,
 *     every answer carrying its line's id in input order; --summary lines are exactly what
 *     jansson prints; a failed write exits 70 with or without threads.
 *  6. Batch lines (written by the CLI without building JSON values) are byte for byte the
 *     library's diag_result_to_summary_json (--summary) or diag_result_to_json (full) of the
 *     same diagnosis, after "id" and "status".
 *  7. The token from standard input: piped without '-', nothing there is exit 64 ("no token on
 *     standard input"), and on a terminal (a pseudo-terminal) no TOKEN needs --no-token.
 *  8. --json: stdout is one JSON document on every failure (the error object), exit unchanged.
 *  9. --batch --fail-on: exit 1 when a line's verdict (or "invalid") is listed; 70 wins.
 * 10. --server: `serve --auth all` on a loopback port; every case answered the same (bytes and
 *     exit status) as through --db on the same database, decode too; $TOKENDOCTOR_SERVER, the
 *     API key file, and each way of failing.
 *
 * The binary is run with fork/exec (arguments passed verbatim, no shell), standard output and
 * error captured in files under a fresh temporary directory (removed when every check passed).
 *
 * usage: test_cli_diagnose TOKENDOCTOR VECTORS_DIR
 */
#include "scenario_check.h"
#include "tddb.h"
#include "tddiag.h"
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *bin, *work;
static char out_path[4096], err_path[4096];

static void expect(const char *name, bool cond) {
    CHECK(cond, "%s", name);
}

/* Runs bin with args (NULL-terminated, after "diagnose"); stdin from in_path (or /dev/null).
 * Without --project, --db, --key-file or --server, --no-db is added: these runs mean "no project
 * store", and the default database (missing: exit 70) is tests/cli/test_cli_store.sh's subject.
 * Returns the exit status; stdout/stderr land in out_path/err_path. */
static int run(const char *in_path, const char *const *args) {
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "diagnose";
    bool store = false;
    for (int i = 0; args[i]; i++)
        store = store || strcmp(args[i], "--project") == 0 || strcmp(args[i], "--db") == 0 ||
                strcmp(args[i], "--key-file") == 0 || strcmp(args[i], "--server") == 0;
    if (!store)
        argv[n++] = "--no-db";
    for (int i = 0; args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_wait(tu_spawn(argv, in_path, out_path, err_path));
}

/* The file's text; "" when it cannot be read (never NULL unless out of memory). */
static char *slurp(const char *path) {
    char *text = tu_read_file(path, NULL);
    return text ? text : strdup("");
}

static bool file_has(const char *path, const char *needle) {
    char *s = slurp(path);
    bool found = strstr(s, needle) != NULL;
    free(s);
    return found;
}

static void path_in_work(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", work, name);
}

/* ---- 1. scenarios through --batch ------------------------------------------------------------ */

static json_t *scenarios; /* array of scenario objects */

static void load_scenarios(const char *vectors) {
    scenarios = scenario_load(vectors); /* says why on stderr */
    if (!scenarios)
        exit(2);
}

/* Compares the output file line by line with the scenarios. summary: the --summary shape. */
static void compare_batch_output(const char *label, bool summary) {
    FILE *f = fopen(out_path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0;
    int bad = 0;
    while (f && getline(&line, &cap, f) > 0) {
        json_error_t e;
        json_t *got = json_loads(line, 0, &e);
        json_t *sc = json_array_get(scenarios, n);
        char why[512] = "";
        bool ok = got && sc && json_equal(json_object_get(got, "id"), json_object_get(sc, "id"));
        if (!ok)
            snprintf(why, sizeof why, "not the line of this scenario");
        if (ok)
            ok = scenario_matches(sc, got, why, sizeof why);
        /* Every line says what it is: "status" tells a diagnosis (whose "error" is the
         * platform's) from a line that was not diagnosed (whose "error" is the API's). */
        const char *status = json_string_value(json_object_get(got, "status"));
        const char *want_status = scenario_is_bad_request(sc) ? "invalid" : "diagnosed";
        if (ok && (!status || strcmp(status, want_status) != 0)) {
            snprintf(why, sizeof why, "status %s, want %s", status ? status : "(none)",
                     want_status);
            ok = false;
        }
        if (ok && scenario_is_bad_request(sc) && json_object_size(got) != 3) {
            snprintf(why, sizeof why,
                     "an error line is {\"id\", \"status\", \"error\"} (%zu members)",
                     json_object_size(got));
            ok = false;
        }
        /* id, status + verdict, cause, code, hints, warnings, expires_at, sdk_version */
        if (ok && summary && !scenario_is_bad_request(sc)) {
            ok = json_object_size(got) == 9 && json_object_get(got, "code") &&
                 !json_object_get(got, "checks");
            if (!ok)
                snprintf(why, sizeof why, "not the --summary shape (%zu members)",
                         json_object_size(got));
        }
        if (!ok && bad++ < 10)
            printf("  %s line %zu (%s): %s\n", label, n + 1,
                   json_string_value(json_object_get(sc, "id")), why);
        json_decref(got);
        n++;
    }
    free(line);
    if (f)
        fclose(f);
    char name[128];
    snprintf(name, sizeof name, "%s: %zu lines, all as expected", label, n);
    expect(name, bad == 0 && n == json_array_size(scenarios));
}

static void test_scenarios_batch(void) {
    char batch[4096], projects[4096];
    path_in_work(batch, sizeof batch, "scenarios.batch.jsonl");
    path_in_work(projects, sizeof projects, "scenarios.projects.json");
    expect("batch inputs written", scenario_write_batch(scenarios, batch, projects));

    const char *full[] = {"--batch", batch, "--project", projects, NULL};
    expect("batch exit 0", run(NULL, full) == 0);
    compare_batch_output("batch (full)", false);

    const char *summary[] = {"--batch", batch, "--project", projects, "--summary", NULL};
    expect("batch --summary exit 0", run(NULL, summary) == 0);
    compare_batch_output("batch (--summary)", true);

    const char *from_stdin[] = {"--batch", "-", "--project", projects, NULL};
    expect("batch from stdin exit 0", run(batch, from_stdin) == 0);
    compare_batch_output("batch (stdin)", false);
}

/* ---- 2. bad batch lines --------------------------------------------------------------------- */

#define APP "0123456789abcdef0123456789abcdef"

static void test_bad_lines(void) {
    char batch[4096];
    path_in_work(batch, sizeof batch, "bad.batch.jsonl");
    FILE *b = fopen(batch, "w");
    fprintf(b, "{\"id\":\"a\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":1}\n");
    fprintf(b, "{\"id\":\"b\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":4294967296}\n");
    fprintf(b, "{\"id\":\"c\",\"app_id\":\"" APP
               "\",\"channel\":\"c\",\"uid\":1,\"account\":\"x\"}\n");
    fprintf(b, "{\"id\":\"d\",\"channel\":\"c\"}\n");
    fprintf(b, "{\"id\":\"e\",\"app_id\":\"" APP "\"}\n");
    fprintf(b, "{\"id\":\"f\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":-1}\n");
    fprintf(b, "{\"id\":\"g\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":4294967296}\n");
    fprintf(b, "{\"id\":\"h\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"sdk_version\":\"2.x\"}\n");
    fprintf(b,
            "{\"id\":\"i\",\"app_id\":\"" APP
            "\",\"channel\":\"c\",\"at\":\"2026-12-05T10:00:00Z\",\"sdk_version\":\"v2.2.0\"}\n");
    fprintf(b, "{not json\n");
    fprintf(b, "\n");
    fprintf(b, "{\"id\":7,\"app_id\":\"" APP "\",\"channel\":\"c\",\"token\":\"abc\"}\n");
    fprintf(b, "  \t\r\n");
    fprintf(b, "{\"id\":\"utf8\",\"app_id\":\"" APP "\",\"channel\":\"\xff\xfe\"}\n");
    fprintf(b, "{\"id\":\"uid-text\",\"app_id\":\"" APP
               "\",\"channel\":\"c\",\"uid\":\"42\",\"at\":1}\n");
    fprintf(b, "{\"id\":\"uid-0text\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":\"042\"}\n");
    fprintf(b, "{\"app_id\":\"" APP "\",\"channel\":\"c\"}");
    fclose(b);
    const char *args[] = {"--batch", batch, NULL};
    expect("bad lines: batch still exits 0", run(NULL, args) == 0);

    struct {
        const char *id; /* JSON of the id */
        const char *error_field;
        const char *cause;
    } want[] = {
        {"\"a\"", NULL, "project_unknown"},
        {"\"b\"", "uid", NULL},
        {"\"c\"", "uid, account", NULL},
        {"\"d\"", "app_id", NULL},
        {"\"e\"", "channel", NULL},
        {"\"f\"", "at:", NULL},
        {"\"g\"", "at:", NULL},
        {"\"h\"", "sdk_version:", NULL},
        {"\"i\"", NULL, "project_unknown"},
        {"null", "invalid JSON", NULL},
        {"null", "line 11: empty", NULL}, /* one output line per input line, blank ones too */
        {"7", NULL, "token_malformed"},
        {"null", "line 13: empty", NULL},
        {"null", "line 14: not valid UTF-8", NULL}, /* code invalid_utf8, not "invalid JSON" */
        {"\"uid-text\"", NULL, "project_unknown"},  /* uid 42, with the warning uid_as_string */
        {"\"uid-0text\"", "uid", NULL},
        {"null", NULL, "project_unknown"},
    };
    FILE *f = fopen(out_path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char name[256];
        snprintf(name, sizeof name, "bad lines: output line %zu", n + 1);
        if (n >= sizeof want / sizeof want[0]) {
            expect(name, false);
            break;
        }
        json_error_t e;
        json_t *got = json_loads(line, 0, &e);
        json_t *id = json_loads(want[n].id, JSON_DECODE_ANY, &e);
        bool ok = got && json_equal(json_object_get(got, "id"), id);
        const char *status = json_string_value(json_object_get(got, "status"));
        if (want[n].error_field) {
            json_t *err = json_object_get(got, "error");
            const char *msg = json_string_value(json_object_get(err, "message"));
            const char *code =
                strstr(want[n].error_field, "UTF-8") ? "invalid_utf8" : "bad_request";
            ok = ok && json_is_object(err) && status && strcmp(status, "invalid") == 0 &&
                 json_object_size(got) == 3 &&
                 strcmp(json_string_value(json_object_get(err, "code")), code) == 0 && msg &&
                 strstr(msg, want[n].error_field);
        } else {
            const char *cause = json_string_value(json_object_get(got, "cause"));
            ok = ok && status && strcmp(status, "diagnosed") == 0 && cause &&
                 strcmp(cause, want[n].cause) == 0;
        }
        if (strcmp(want[n].id, "\"uid-text\"") == 0) { /* judged as uid 42, with the warning */
            json_t *warnings = json_object_get(got, "warnings");
            bool warned = false;
            for (size_t k = 0; k < json_array_size(warnings); k++)
                warned = warned || strcmp(json_string_value(json_array_get(warnings, k)),
                                          "uid_as_string") == 0;
            ok = ok && warned;
        }
        if (n == 8) /* `at` as ISO-8601, the version echoed as given */
            ok = ok && json_integer_value(json_object_get(got, "at")) == 1796464800 &&
                 json_is_string(json_object_get(got, "sdk_version")) &&
                 strcmp(json_string_value(json_object_get(got, "sdk_version")), "v2.2.0") == 0;
        expect(name, ok);
        json_decref(got);
        json_decref(id);
        n++;
    }
    free(line);
    if (f)
        fclose(f);
    expect("bad lines: one output line per input line, blank ones included", n == 17);

    /* A UTF-8 byte order mark before the first line is not part of its JSON. */
    b = fopen(batch, "w");
    fprintf(b, "\xef\xbb\xbf{\"id\":\"bom\",\"app_id\":\"" APP "\",\"channel\":\"c\"}\r\n"
               "\xef\xbb\xbf{\"id\":\"bom2\"}\n");
    fclose(b);
    expect("BOM: exit 0", run(NULL, args) == 0);
    char *out = slurp(out_path);
    char *second = strchr(out, '\n');
    const char *bom_first = "{\"id\":\"bom\",\"status\":\"diagnosed\",";
    expect("BOM: the first line is diagnosed", strncmp(out, bom_first, strlen(bom_first)) == 0);
    expect("BOM: only at the start of the input (line 2: not valid JSON)",
           second && strstr(second, "\"status\":\"invalid\"") &&
               strstr(second, "line 2: invalid JSON"));
    free(out);

    /* --batch FILE that cannot be opened says why. */
    const char *missing[] = {"--batch", "/nonexistent/batch.jsonl", NULL};
    expect("--batch missing: exit 64 with the reason",
           run(NULL, missing) == 64 && file_has(err_path, "No such file or directory"));
}

/* ---- 3. single diagnoses ------------------------------------------------------------------------
 */

/* The first scenario with this cause and service. */
static json_t *find_scenario(const char *cause, const char *service) {
    size_t i;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        json_t *req = json_object_get(sc, "request");
        const char *c = json_string_value(json_object_get(json_object_get(sc, "expect"), "cause"));
        const char *svc = json_string_value(json_object_get(req, "service"));
        if (c && svc && strcmp(c, cause) == 0 && strcmp(svc, service) == 0)
            return sc;
    }
    return NULL;
}

/* Builds the flags of a scenario's request into args (strings kept in store). */
static int scenario_args(json_t *sc, const char **args, char store[][4096], const char *pfile) {
    json_t *req = json_object_get(sc, "request");
    int n = 0, k = 0;
    const char *flags[][2] = {{"app_id", "--app-id"},
                              {"service", "--service"},
                              {"channel", "--channel"},
                              {"account", "--account"},
                              {"role", "--role"},
                              {"platform", "--platform"},
                              {"sdk_version", "--sdk-version"},
                              {"at", "--at"}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        json_t *v = json_object_get(req, flags[i][0]);
        if (json_is_string(v)) {
            args[n++] = flags[i][1];
            args[n++] = json_string_value(v);
        }
    }
    json_t *uid = json_object_get(req, "uid");
    if (json_is_integer(uid)) {
        snprintf(store[k], 4096, "%lld", (long long)json_integer_value(uid));
        args[n++] = "--uid";
        args[n++] = store[k++];
    }
    json_t *at = json_object_get(req, "at"); /* Unix seconds (or ISO-8601: a string, above) */
    if (json_is_integer(at)) {
        snprintf(store[k], 4096, "%lld", (long long)json_integer_value(at));
        args[n++] = "--at";
        args[n++] = store[k++];
    }
    if (!json_is_null(json_object_get(sc, "project"))) {
        json_dump_file(json_object_get(sc, "project"), pfile, 0);
        args[n++] = "--project";
        args[n++] = pfile;
    }
    args[n] = NULL;
    return n;
}

static void test_single(void) {
    char pfile[4096], tokfile[4096];
    path_in_work(pfile, sizeof pfile, "single.project.json");
    path_in_work(tokfile, sizeof tokfile, "single.token.txt");
    struct {
        const char *cause, *service;
        int status;
    } cases[] = {
        {"ok", "rtc", 0},
        {"ok", "rtm", 0},
        {"uid_mismatch", "rtc", 1},
        {"token_expired", "rtc", 1},
        {"project_unknown", "rtc", 2},
        {"token_required", "rtc", 1},
        {"ok_app_id_only", "rtc", 0},
        {"signature_invalid", "rtc", 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_t *sc = find_scenario(cases[c].cause, cases[c].service);
        char name[160];
        snprintf(name, sizeof name, "single %s/%s: scenario found", cases[c].cause,
                 cases[c].service);
        expect(name, sc != NULL);
        if (!sc)
            continue;
        const char *args[40];
        char store[4][4096];
        int n = scenario_args(sc, args, store, pfile);
        const char *token =
            json_string_value(json_object_get(json_object_get(sc, "request"), "token"));
        /* human, token as an argument ("" when none) */
        args[n] = token ? token : "";
        args[n + 1] = NULL;
        int st = run(NULL, args);
        snprintf(name, sizeof name, "single %s/%s: exit %d (got %d)", cases[c].cause,
                 cases[c].service, cases[c].status, st);
        expect(name, st == cases[c].status);
        snprintf(name, sizeof name, "single %s: human output has checks, no colour",
                 cases[c].cause);
        expect(name, file_has(out_path, "Checks:") && !file_has(out_path, "\033"));
        /* --json, token from stdin */
        FILE *t = fopen(tokfile, "w");
        fprintf(t, "%s\n", token ? token : "");
        fclose(t);
        args[n] = "--json";
        args[n + 1] = token ? "-" : "--no-token";
        args[n + 2] = NULL;
        st = run(token ? tokfile : NULL, args);
        json_error_t e;
        json_t *got = json_load_file(out_path, 0, &e);
        char why[512] = "";
        snprintf(name, sizeof name, "single %s --json (stdin token): exit and expect",
                 cases[c].cause);
        expect(name, st == cases[c].status && scenario_matches(sc, got, why, sizeof why));
        if (why[0])
            printf("  %s\n", why);
        json_decref(got);
    }

    /* The headline of a uid mismatch on native. */
    json_t *sc = find_scenario("uid_mismatch", "rtc");
    if (sc) {
        const char *args[40];
        char store[4][4096];
        int n = scenario_args(sc, args, store, pfile);
        args[n++] = "--platform";
        args[n++] = "linux";
        args[n++] = json_string_value(json_object_get(json_object_get(sc, "request"), "token"));
        args[n] = NULL;
        /* --platform given twice is refused; drop the scenario's own */
        for (int i = 0; i < n; i++)
            if (strcmp(args[i], "--platform") == 0 && i + 2 < n - 2) {
                memmove(&args[i], &args[i + 2], (size_t)(n - i - 1) * sizeof *args);
                n -= 2;
                break;
            }
        expect("headline: exit 1", run(NULL, args) == 1);
        char *out = slurp(out_path);
        expect("headline: verdict first",
               strncmp(out, "REJECTED \xe2\x80\x94 110 ERR_INVALID_TOKEN: uid mismatch\n",
                       strlen("REJECTED \xe2\x80\x94 110 ERR_INVALID_TOKEN: uid mismatch\n")) == 0);
        expect("headline: fix follows", strstr(out, "Fix:") != NULL);
        free(out);
    }

    /* --project with an array that does not hold the App ID: unknown. */
    FILE *p = fopen(pfile, "w");
    fprintf(p, "[{\"app_id\":\"ffffffffffffffffffffffffffffffff\",\"primary\":{\"certificate\":"
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"enabled\":true}}]");
    fclose(p);
    const char *nomatch[] = {"--app-id",  APP,   "--channel",  "c",
                             "--project", pfile, "--no-token", NULL};
    expect("project array without a match: exit 2", run(NULL, nomatch) == 2);
    const char *empty_token[] = {"--app-id", APP, "--channel", "c", "--project", pfile, "", NULL};
    expect("empty TOKEN argument = no token: exit 2", run(NULL, empty_token) == 2);
    p = fopen(pfile, "w");
    fprintf(p, "{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":"
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"enabled\":true}}");
    fclose(p);
    const char *required[] = {"--app-id",   APP,   "--channel", "c",          "--project", pfile,
                              "--platform", "web", "--json",    "--no-token", NULL};
    expect("one project object: token_required exit 1", run(NULL, required) == 1);
    expect("web token_required is 120", file_has(out_path, "\"code\": 120"));
    expect("no certificate in the output", !file_has(out_path, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    p = fopen(pfile, "w");
    fprintf(p, "{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":\"xyz\"}}");
    fclose(p);
    expect("invalid project file: exit 64", run(NULL, required) == 64);
    expect("invalid project file: names the field", file_has(err_path, "primary.certificate"));

    /* --at as ISO-8601 UTC; --sdk-version echoed as given, null without it */
    const char *iso[] = {
        "--app-id",      APP,    "--channel", "c",          "--at", "2026-12-05T10:00:00Z",
        "--sdk-version", "v4.8", "--json",    "--no-token", NULL};
    expect("--at ISO-8601 and --sdk-version: exit 2 (unknown project)", run(NULL, iso) == 2);
    json_error_t e;
    json_t *got = json_load_file(out_path, 0, &e);
    expect("--at ISO-8601: at 1796464800",
           json_integer_value(json_object_get(got, "at")) == 1796464800);
    expect("--sdk-version v4.8 echoed",
           json_is_string(json_object_get(got, "sdk_version")) &&
               strcmp(json_string_value(json_object_get(got, "sdk_version")), "v4.8") == 0);
    json_decref(got);
    const char *no_sdk[] = {"--app-id", APP, "--channel", "c", "--json", "--no-token", NULL};
    expect("no --sdk-version: exit 2", run(NULL, no_sdk) == 2);
    got = json_load_file(out_path, 0, &e);
    expect("no --sdk-version: sdk_version null",
           got && json_is_null(json_object_get(got, "sdk_version")));
    json_decref(got);
}

/* The exit status of a verdict (interfaces.md "Command line"), -1 for none. */
static int verdict_status(const char *verdict) {
    const char *names[] = {"joinable", "rejected", "unverifiable"};
    for (int i = 0; verdict && i < 3; i++)
        if (strcmp(verdict, names[i]) == 0)
            return i;
    return -1;
}

/* One scenario as a single `diagnose --json`: true when the exit status and the answer are right
 * (else why says what is wrong). */
static bool single_matches(json_t *sc, char *why, size_t cap) {
    char pfile[4096], tokfile[4096];
    path_in_work(pfile, sizeof pfile, "all.project.json");
    path_in_work(tokfile, sizeof tokfile, "all.token.txt");
    const char *args[40];
    char store[4][4096];
    int a = scenario_args(sc, args, store, pfile);
    json_t *token = json_object_get(json_object_get(sc, "request"), "token");
    const char *in = NULL;
    args[a++] = "--json";
    if (!json_is_string(token)) {
        args[a++] = "--no-token";
    } else if (json_string_value(token)[0] == '-') { /* it would read as an option: stdin */
        FILE *t = fopen(tokfile, "w");
        if (t) {
            fprintf(t, "%s\n", json_string_value(token));
            fclose(t);
        }
        in = tokfile;
        args[a++] = "-";
    } else {
        args[a++] = json_string_value(token); /* "" is a join without a token */
    }
    args[a] = NULL;
    int st = run(in, args);
    why[0] = '\0';
    if (scenario_is_bad_request(sc)) {
        char *err = slurp(err_path);
        const char *field = scenario_bad_field(sc); /* sdk_version: the flag or the field */
        bool ok = st == 64 && err[0] != '\0' &&
                  (!field || strstr(err, "sdk-version") || strstr(err, "sdk_version"));
        if (!ok)
            snprintf(why, cap, "exit %d (want 64), standard error '%.200s'", st, err);
        free(err);
        return ok;
    }
    json_error_t e;
    json_t *got = json_load_file(out_path, 0, &e);
    bool ok = scenario_matches(sc, got, why, cap);
    json_decref(got);
    int want = verdict_status(
        json_string_value(json_object_get(json_object_get(sc, "expect"), "verdict")));
    if (ok && st != want) {
        snprintf(why, cap, "exit %d, want %d", st, want);
        ok = false;
    }
    return ok;
}

/* Whether the flags can say what the request says: a value of another JSON type than a flag
 * carries (an sdk_version or a channel given as a number, a fractional at) is a bad request in
 * JSON that the command line cannot even write. */
static bool flags_can_express(json_t *req) {
    const char *strings[] = {"app_id", "service",  "channel",     "account",
                             "role",   "platform", "sdk_version", "token"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        json_t *v = json_object_get(req, strings[i]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return false;
    }
    json_t *uid = json_object_get(req, "uid"), *at = json_object_get(req, "at");
    return (!uid || json_is_null(uid) || json_is_integer(uid)) &&
           (!at || json_is_null(at) || json_is_integer(at) || json_is_string(at));
}

/* Every scenario as one `diagnose --json` with its flags. */
static void test_single_all(void) {
    size_t i, bad = 0, inexpressible = 0, skipped = 0;
    /* TD_SINGLE_STRIDE=N runs every Nth scenario (and every bad request): a sanitizer build
     * starts each process ten times slower, and the batch test above still runs them all. */
    const char *stride_env = getenv("TD_SINGLE_STRIDE");
    size_t stride = stride_env && atoi(stride_env) > 0 ? (size_t)atoi(stride_env) : 1;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        char why[512];
        if (!flags_can_express(json_object_get(sc, "request"))) {
            inexpressible++;
            continue;
        }
        if (i % stride != 0 && !scenario_is_bad_request(sc)) {
            skipped++;
            continue;
        }
        if (!single_matches(sc, why, sizeof why) && bad++ < 10)
            printf("  single %s (%s): %s\n", json_string_value(json_object_get(sc, "id")),
                   json_string_value(json_object_get(sc, "mutation")), why);
    }
    char name[160];
    snprintf(name, sizeof name,
             "single --json: %zu scenarios (%zu with JSON types no flag can carry, %zu left out by "
             "TD_SINGLE_STRIDE), %zu wrong",
             json_array_size(scenarios), inexpressible, skipped, bad);
    expect(name, bad == 0);
}

/* ---- --db -------------------------------------------------------------------------------------
 */

static void test_db(void) {
    char dir[2048], db_path[4096], key_path[4096];
    path_in_work(dir, sizeof dir, "db");
    snprintf(db_path, sizeof db_path, "%s/test.db", dir);
    snprintf(key_path, sizeof key_path, "%s/tokendoctor.key", dir);
    unlink(db_path);
    unlink(key_path);
    char err[512];
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    expect("db: opened", db != NULL);
    if (!db) {
        printf("  %s\n", err);
        return;
    }
    json_t *sc = find_scenario("uid_mismatch", "rtc");
    diag_project p;
    bool parsed = sc && diag_project_from_json(json_object_get(sc, "project"), &p, err, sizeof err);
    expect("db: project stored", parsed && tdb_project_put(db, &p, "test", NULL) == TDB_OK);
    tdb_close(db);
    if (!parsed)
        return;
    const char *args[40];
    char store[4][4096], pfile[4096];
    path_in_work(pfile, sizeof pfile, "db.project.json");
    int n = scenario_args(sc, args, store, pfile);
    for (int i = 0; i < n; i++) /* swap --project FILE for --db PATH */
        if (strcmp(args[i], "--project") == 0) {
            args[i] = "--db";
            args[i + 1] = db_path;
        }
    args[n++] = "--json";
    args[n++] = json_string_value(json_object_get(json_object_get(sc, "request"), "token"));
    args[n] = NULL;
    int st = run(NULL, args);
    json_error_t e;
    json_t *got = json_load_file(out_path, 0, &e);
    char why[512] = "";
    expect("db: diagnosis with the stored project",
           st == 1 && scenario_matches(sc, got, why, sizeof why) &&
               json_is_true(json_object_get(json_object_get(got, "project"), "known")));
    if (why[0])
        printf("  %s\n", why);
    json_decref(got);

    /* batch --db: the same line twice (the lookup cache) and an unknown App ID */
    char batch[4096];
    path_in_work(batch, sizeof batch, "db.batch.jsonl");
    FILE *b = fopen(batch, "w");
    json_t *req = json_object_get(sc, "request");
    char *line = json_dumps(req, JSON_COMPACT);
    fprintf(b, "%s\n%s\n{\"app_id\":\"" APP "\",\"channel\":\"c\"}\n", line, line);
    free(line);
    fclose(b);
    const char *bargs[] = {"--batch", batch, "--db", db_path, "--summary", NULL};
    expect("db: batch exit 0", run(NULL, bargs) == 0);
    char *out = slurp(out_path);
    char *second = strchr(out, '\n');
    expect("db: batch answers", strstr(out, "\"uid_mismatch\"") && second &&
                                    strstr(second + 1, "\"uid_mismatch\"") &&
                                    strstr(out, "\"project_unknown\""));
    free(out);
}

static void test_bad_usage(void) {
    struct {
        const char *args[12];
        const char *names;
    } cases[] = {
        {{"--app-id", APP, "--channel", "c", "--uid", "4294967296", NULL}, "--uid"},
        {{"--app-id", APP, "--channel", "c", "--uid", "-1", NULL}, "--uid"},
        {{"--app-id", APP, "--channel", "c", "--uid", "12x", NULL}, "--uid"},
        {{"--app-id", APP, "--channel", "c", "--uid", "1", "--account", "a", NULL}, "account"},
        {{"--channel", "c", NULL}, "--app-id"},
        {{"--app-id", APP, NULL}, "channel"},
        {{"--app-id", APP, "--channel", "", NULL}, "channel"},
        {{"--app-id", APP, "--channel", "c", "--platform", "beos", NULL}, "--platform"},
        {{"--app-id", APP, "--channel", "c", "--service", "xmpp", NULL}, "--service"},
        {{"--app-id", APP, "--channel", "c", "--role", "king", NULL}, "--role"},
        {{"--app-id", APP, "--channel", "c", "--at", "soon", NULL}, "--at"},
        {{"--app-id", APP, "--channel", "c", "--at", "-1", NULL}, "--at"},
        {{"--app-id", APP, "--channel", "c", "--at", "4294967296", NULL}, "--at"},
        {{"--app-id", APP, "--channel", "c", "--at", "2106-02-07T06:28:16Z", NULL}, "--at"},
        {{"--app-id", APP, "--channel", "c", "--sdk-version", "2.x", NULL}, "--sdk-version"},
        {{"--app-id", APP, "--channel", "c", "--sdk-version", "latest", NULL}, "--sdk-version"},
        {{"--app-id", APP, "--channel", "c", "--sdk-version", "1.5.0-beta", NULL}, "--sdk-version"},
        {{"--app-id", APP, "--channel", "c", "--project", "a", "--db", "b", NULL}, "--db"},
        {{"--app-id", APP, "--channel", "c", "--bogus", NULL}, "--bogus"},
        {{"--app-id", APP, "--channel", "c", "t1", "t2", NULL}, "TOKEN"},
        {{"--batch", "-", "--app-id", APP, NULL}, "--batch"},
        {{"--app-id", APP, "--channel", "c", "--summary", NULL}, "--summary"},
        {{"--app-id", NULL}, "--app-id"},
        {{"--app-id", APP, "--channel", "c", "--db", "/nonexistent/x.db", NULL}, "--db"},
        {{"--batch", "/nonexistent/batch.jsonl", NULL}, "--batch"},
        {{"--app-id", APP, "--channel", "c", "--threads", "2", NULL}, "--threads"},
        {{"--batch", "-", "--threads", "0", NULL}, "--threads"},
        {{"--batch", "-", "--threads", "65", NULL}, "--threads"},
        {{"--batch", "-", "--threads", "two", NULL}, "--threads"},
        /* the shared option parser: no abbreviations, no repeats, values where they belong */
        {{"--app", APP, "--channel", "c", NULL}, "unknown option '--app'"},
        {{"--app-id", APP, "--app-id", APP, "--channel", "c", NULL}, "--app-id given twice"},
        {{"--app-id", APP, "--channel", "c", "--json=1", NULL}, "--json takes no value"},
        {{"--app-id", APP, "--channel", NULL}, "--channel needs a value"},
        {{"-x", "--app-id", APP, "--channel", "c", NULL}, "unknown option '-x'"},
        {{"--app-id", APP, "--channel", "c", "--no-token", "tok", NULL}, "--no-token"},
        {{"--app-id", APP, "--channel", "c", "--project", "p.json", "--key-file", "k", NULL},
         "--key-file"},
        {{"--app-id", APP, "--channel", "c", "--project", "/nonexistent/p.json", NULL},
         "cannot open /nonexistent/p.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = run(NULL, cases[i].args);
        char name[160];
        snprintf(name, sizeof name, "bad usage #%zu: exit 64 (got %d), message names '%s'", i, st,
                 cases[i].names);
        expect(name, st == 64 && file_has(err_path, cases[i].names));
    }
    /* An unknown option's value may be a secret: the message stops at '='. */
    const char *secret[] = {"--app-id", APP, "--channel", "c", "--bogus=s3cr3t", NULL};
    expect("unknown --name=value: exit 64, names the option, not the value",
           run(NULL, secret) == 64 && file_has(err_path, "'--bogus'") &&
               !file_has(err_path, "s3cr3t"));

    /* --project files that cannot be used: exit 64, the reason named (a certificate never:
     * jansson's own message would quote the bad token). */
#define CERT_UNQUOTED "fedcba9876543210fedcba9876543210"
    char pfile[4096];
    path_in_work(pfile, sizeof pfile, "usage.project.json");
    const char *with_project[] = {"--app-id", APP, "--channel", "c", "--project", pfile, NULL};
    FILE *p = fopen(pfile, "w");
    fprintf(p, "[{\"app_id\":\"" APP "\",\"primary\":{\"certificate\":%s}}]", CERT_UNQUOTED);
    fclose(p);
    expect("--project invalid JSON: exit 64, the position, not the text",
           run(NULL, with_project) == 64 && file_has(err_path, "invalid JSON at line 1") &&
               !file_has(err_path, "fedcba98"));
    p = fopen(pfile, "w");
    fprintf(p, "[{\"app_id\":\"" APP "\"},{\"app_id\":\"" APP "\"}]");
    fclose(p);
    expect("--project with an App ID twice: exit 64",
           run(NULL, with_project) == 64 && file_has(err_path, "configured twice"));

    /* A batch input that cannot be read (a directory): 70, "read error". */
    const char *dir_batch[] = {"--batch", work, NULL};
    expect("--batch DIRECTORY: exit 70, read error",
           run(NULL, dir_batch) == 70 && file_has(err_path, "read error"));

    const char *help[] = {"--help", NULL};
    expect("--help exits 0", run(NULL, help) == 0 && file_has(out_path, "--batch") &&
                                 file_has(out_path, "--threads"));
}

/* ---- 5. --threads: the same bytes, in the same order, whatever the number of threads -------- */

/* The batch input of this test and, per output line, the id it must carry (JSON text). */
typedef struct {
    FILE *f;
    json_t *ids; /* array: the expected id of each output line, in order */
    size_t long_lines;
} threads_input;

/* One input line that must get one output line carrying id (NULL: "id": null). */
static void put_line(threads_input *in, const char *text, json_t *id) {
    fputs(text, in->f);
    json_array_append(in->ids, id ? id : json_null());
}

/* A blank line: answered too ("empty"), without an id. */
static void put_blank(threads_input *in, const char *text) {
    put_line(in, text, NULL);
}

/* Every scenario request, several times over, with ids of every JSON type, mixed with lines
 * that are bad in each way a batch line can be: the order and the bytes of the answers must
 * not depend on which thread diagnosed which line. Every request carries `at`, so the answers
 * do not depend on the clock either. */
static bool write_threads_input(const char *path, threads_input *in) {
    in->f = fopen(path, "w");
    in->ids = json_array();
    if (!in->f || !in->ids)
        return false;
    const char *bad[] = {
        "{not json\n",
        "[1,2,3]\n",
        "{\"id\":\"bad-uid\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":4294967296}\n",
        "{\"id\":\"bad-app\",\"channel\":\"c\"}\n",
        "\xff\xfe{}\n",
        "{\"id\":\"trailing\"} x\n",
    };
    json_t *bad_ids[] = {NULL, NULL, json_string("bad-uid"), json_string("bad-app"), NULL, NULL};
    size_t n = 0;
    for (int rep = 0; rep < 8; rep++) {
        size_t i;
        json_t *sc;
        json_array_foreach(scenarios, i, sc) {
            json_t *req = json_deep_copy(json_object_get(sc, "request"));
            if (!json_object_get(req, "at"))
                json_object_set_new(req, "at", json_integer(1763800000));
            json_t *id;
            if (n % 7 == 3)
                id = json_integer((json_int_t)n);
            else if (n % 11 == 5)
                id = json_pack("{s:i, s:[s, n, b]}", "n", (int)n, "r", "x", 1);
            else if (n % 13 == 4)
                id = json_real(n / 4.0);
            else {
                char s[32];
                snprintf(s, sizeof s, "t%d-%zu", rep, i);
                id = json_string(s);
            }
            json_object_set(req, "id", id);
            char *text = json_dumps(req, JSON_COMPACT);
            put_line(in, text, id);
            fputs(n % 17 == 9 ? "\r\n" : "\n", in->f);
            free(text);
            json_decref(req);
            json_decref(id);
            if (n % 19 == 0) {
                size_t b = (n / 19) % (sizeof bad / sizeof bad[0]);
                put_line(in, bad[b], bad_ids[b]);
            }
            if (n % 23 == 0)
                put_blank(in, n % 2 ? "\n" : "  \t\r\n");
            if (n == 1500) { /* one line over the 1 MiB limit, mid-chunk */
                fputs("{\"id\":\"too-long\",\"x\":\"", in->f);
                for (int k = 0; k < (1 << 20); k++)
                    fputc('a', in->f);
                put_line(in, "\"}\n", NULL);
                in->long_lines++;
            }
            n++;
        }
    }
    for (size_t b = 0; b < sizeof bad_ids / sizeof bad_ids[0]; b++)
        json_decref(bad_ids[b]);
    /* the last line without a newline */
    json_t *last = json_string("last");
    put_line(in, "{\"id\":\"last\",\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":1}", last);
    json_decref(last);
    return fclose(in->f) == 0;
}

/* The output lines carry the expected ids in order; summary lines are byte for byte what
 * jansson prints for the same values (the summary is written without building JSON values). */
static void check_threads_output(const char *label, const char *text, const threads_input *in,
                                 bool summary) {
    size_t n = 0, bad_order = 0, bad_bytes = 0, too_long = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        json_error_t e;
        json_t *got = json_loadb(p, len, 0, &e);
        json_t *id = json_object_get(got, "id");
        if (!got || !id || !json_equal(id, json_array_get(in->ids, n)))
            bad_order++;
        const char *msg =
            json_string_value(json_object_get(json_object_get(got, "error"), "message"));
        if (msg && strstr(msg, ": longer than 1048576 bytes")) /* the line, not a field */
            too_long++;
        if (summary && got && !json_object_get(got, "error")) {
            char *again = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!again || strlen(again) != len || memcmp(again, p, len) != 0)
                bad_bytes++;
            free(again);
        }
        json_decref(got);
        n++;
        p = nl ? nl + 1 : p + len;
    }
    char name[256];
    snprintf(name, sizeof name, "%s: %zu lines (want %zu), %zu out of order, %zu too long", label,
             n, json_array_size(in->ids), bad_order, too_long);
    expect(name, n == json_array_size(in->ids) && bad_order == 0 && too_long == in->long_lines);
    if (summary) {
        snprintf(name, sizeof name, "%s: summary lines as jansson prints them (%zu differ)", label,
                 bad_bytes);
        expect(name, bad_bytes == 0);
    }
}

static void test_threads(void) {
    char batch[4096], projects[4096], scen[4096];
    path_in_work(scen, sizeof scen, "threads.scenarios.jsonl");
    path_in_work(projects, sizeof projects, "threads.projects.json");
    path_in_work(batch, sizeof batch, "threads.batch.jsonl");
    threads_input in = {0};
    expect("threads: inputs written",
           scenario_write_batch(scenarios, scen, projects) && write_threads_input(batch, &in));

    for (int summary = 0; summary < 2; summary++) {
        const char *mode = summary ? "--summary" : "full";
        /* "1" first (the reference), then several counts and the default, from standard input */
        const char *counts[] = {"1", "2", "3", "8", NULL};
        char *want = NULL;
        for (int k = 0; k < 5; k++) {
            const char *args[12];
            int a = 0;
            args[a++] = "--batch";
            args[a++] = counts[k] ? batch : "-";
            args[a++] = "--project";
            args[a++] = projects;
            if (summary)
                args[a++] = "--summary";
            if (counts[k]) {
                args[a++] = "--threads";
                args[a++] = counts[k];
            }
            args[a] = NULL;
            int st = run(counts[k] ? NULL : batch, args);
            char *got = slurp(out_path);
            char label[96];
            snprintf(label, sizeof label, "threads %s %s", counts[k] ? counts[k] : "default", mode);
            if (!want) {
                expect("threads: --threads 1 exit 0", st == 0);
                check_threads_output(label, got, &in, summary);
                want = got;
                continue;
            }
            char name[160];
            snprintf(name, sizeof name, "%s: exit 0 (got %d), the same bytes as --threads 1", label,
                     st);
            expect(name, st == 0 && strcmp(got, want) == 0);
            free(got);
        }
        free(want);
    }

    /* A failed write ends the run with 70 and a message, threads or not (and does not hang). */
    for (int k = 0; k < 2; k++) {
        const char *args[] = {bin,      "diagnose",  "--batch",     batch, "--project",
                              projects, "--threads", k ? "2" : "1", NULL};
        int st = tu_wait(tu_spawn(args, NULL, "/dev/full", err_path));
        char name[128];
        snprintf(name, sizeof name, "threads %s: writing to /dev/full exits 70 (got %d)",
                 k ? "2" : "1", st);
        expect(name, st == 70 && file_has(err_path, "cannot write"));
    }
    json_decref(in.ids);
}

/* ---- 6. line bytes: the CLI writes batch lines itself, without JSON values; each must be
 * exactly the library's diag_result_to_summary_json (--summary) or diag_result_to_json (full),
 * after "id" and "status", as jansson prints it ---------------------------------------------- */

static void test_line_bytes(bool summary) {
    const char *label = summary ? "summary bytes" : "full bytes";
    char batch[4096], projects[4096], name[160];
    path_in_work(batch, sizeof batch, "summary.batch.jsonl");
    path_in_work(projects, sizeof projects, "summary.projects.json");
    snprintf(name, sizeof name, "%s: inputs written", label);
    expect(name, scenario_write_batch(scenarios, batch, projects));
    const char *args[] = {"--batch", batch, "--project", projects, summary ? "--summary" : NULL,
                          NULL};
    snprintf(name, sizeof name, "%s: exit 0", label);
    expect(name, run(NULL, args) == 0);
    char *out = slurp(out_path);
    td_ctx *ctx = td_ctx_new();
    diag_result *r = malloc(sizeof *r);
    const diag_options opts = {.skip_details = summary};
    size_t i, differ = 0, lines = 0;
    json_t *sc;
    const char *p = out;
    json_array_foreach(scenarios, i, sc) {
        json_t *req_json = json_deep_copy(json_object_get(sc, "request"));
        json_t *pj = json_object_get(sc, "project");
        diag_project project;
        diag_request req;
        char err[256];
        bool have_project =
            !json_is_null(pj) && diag_project_from_json(pj, &project, err, sizeof err);
        json_t *want = NULL;
        if (ctx && r && json_object_get(req_json, "at") &&
            diag_request_from_json(req_json, 0, &req, err, sizeof err)) {
            diag_run(ctx, &req, have_project ? &project : NULL, &opts, r);
            want = json_object();
            json_object_set(want, "id", json_object_get(sc, "id"));
            json_object_set_new(want, "status", json_string("diagnosed"));
            json_t *s = summary ? diag_result_to_summary_json(r) : diag_result_to_json(r);
            json_object_update(want, s);
            json_decref(s);
        }
        char *text = want ? json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (text) { /* requests without "at" are judged at "now": not comparable */
            lines++;
            if (strlen(text) != len || memcmp(text, p, len) != 0) {
                if (differ++ < 3)
                    printf("  %s line %zu:\n    got  %.*s\n    want %s\n", label, i + 1, (int)len,
                           p, text);
            }
        }
        free(text);
        json_decref(want);
        json_decref(req_json);
        p = nl ? nl + 1 : p + len;
    }
    snprintf(name, sizeof name, "%s: %zu lines compared with %s, %zu differ", label, lines,
             summary ? "diag_result_to_summary_json" : "diag_result_to_json", differ);
    expect(name, lines > 300 && differ == 0);
    free(r);
    td_ctx_free(ctx);
    free(out);
}

/* ---- 7. the token from standard input (issue 13) ------------------------------------------ */

/* The program run with a pseudo-terminal as standard input: isatty(0) is true there. */
static int run_on_terminal(const char *const *args) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    const char *slave =
        master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 ? ptsname(master) : NULL;
    char path[256];
    snprintf(path, sizeof path, "%s", slave ? slave : "/nonexistent-pty");
    int st = slave ? run(path, args) : -1;
    if (master >= 0)
        close(master);
    return st;
}

static void test_token_input(void) {
    json_t *sc = find_scenario("uid_mismatch", "rtc");
    expect("stdin: scenario found", sc != NULL);
    if (!sc)
        return;
    char pfile[4096], tokfile[4096], emptyfile[4096], nlfile[4096];
    path_in_work(pfile, sizeof pfile, "stdin.project.json");
    path_in_work(tokfile, sizeof tokfile, "stdin.token.txt");
    path_in_work(emptyfile, sizeof emptyfile, "stdin.empty.txt");
    path_in_work(nlfile, sizeof nlfile, "stdin.newline.txt");
    const char *token = json_string_value(json_object_get(json_object_get(sc, "request"), "token"));
    FILE *t = fopen(tokfile, "w");
    fprintf(t, "%s\n", token);
    fclose(t);
    tu_write_file(emptyfile, "", 0);
    tu_write_file(nlfile, "\n", 1);
    const char *args[40];
    char store[4][4096];
    int n = scenario_args(sc, args, store, pfile);
    args[n] = "--json";
    args[n + 1] = NULL;

    /* `fetch-token | tokendoctor diagnose ...`: no TOKEN, standard input not a terminal. */
    int st = run(tokfile, args);
    json_error_t e;
    json_t *got = json_load_file(out_path, 0, &e);
    char why[512] = "";
    expect("piped token without '-': diagnosed with it (uid_mismatch, exit 1)",
           st == 1 && scenario_matches(sc, got, why, sizeof why));
    if (why[0])
        printf("  %s\n", why);
    json_decref(got);

    /* Nothing on standard input is an error, never a join without a token. */
    const char *inputs[] = {emptyfile, nlfile, NULL};
    for (int i = 0; i < 3; i++) {
        for (int dash = 0; dash < 2; dash++) {
            args[n + 1] = dash ? "-" : NULL;
            args[n + 2] = NULL;
            st = run(inputs[i], args);
            got = json_load_file(out_path, 0, &e);
            json_t *err = json_object_get(got, "error");
            char name[200];
            snprintf(name, sizeof name,
                     "stdin %s, %s: exit 64, 'no token on standard input' (JSON and stderr)",
                     i == 0   ? "empty"
                     : i == 1 ? "'\\n'"
                              : "/dev/null",
                     dash ? "TOKEN '-'" : "no TOKEN");
            expect(name, st == 64 && err &&
                             strcmp(json_string_value(json_object_get(err, "code")),
                                    "bad_request") == 0 &&
                             strstr(json_string_value(json_object_get(err, "message")),
                                    "no token on standard input") &&
                             file_has(err_path, "no token on standard input"));
            json_decref(got);
        }
    }

    /* On a terminal, no TOKEN is a usage error naming --no-token; --no-token is a join without
     * one, and '' too. */
    args[n] = NULL;
    st = run_on_terminal(args);
    expect("terminal, no TOKEN: exit 64 naming --no-token",
           st == 64 && file_has(err_path, "--no-token"));
    args[n] = "--no-token";
    args[n + 1] = NULL;
    st = run_on_terminal(args);
    expect("terminal, --no-token: a join without a token (token_required, exit 1)",
           st == 1 && file_has(out_path, "token required"));
    args[n] = "";
    st = run(emptyfile, args);
    expect("TOKEN '': a join without a token, standard input not read (exit 1)",
           st == 1 && file_has(out_path, "token required"));
}

/* ---- 8. --json: exactly one JSON document on stdout, whatever fails ------------------------- */

static void test_json_errors(void) {
    char pfile[4096];
    path_in_work(pfile, sizeof pfile, "json-errors.project.json");
    FILE *p = fopen(pfile, "w");
    fprintf(p, "{\"app_id\":\"" APP "\",\"primay\":{\"certificate\":"
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"enabled\":true}}");
    fclose(p);
    /* issue 15: a key given twice is refused and named (jansson alone keeps the last) */
    char dupfile[4096];
    path_in_work(dupfile, sizeof dupfile, "json-errors.dup.project.json");
    p = fopen(dupfile, "w");
    fprintf(p, "{\"app_id\":\"" APP "\",\"cohost_auth\":false,\"cohost_auth\":true}");
    fclose(p);
    struct {
        const char *args[12];
        int status;
        const char *code, *message;
    } cases[] = {
        {{"--json", "--app-id", APP, "--channel", "c", "--uid", "x", "--no-token", NULL},
         64,
         "bad_request",
         "--uid: must be an integer"},
        {{"--app-id", APP, "--bogus", "--json", NULL}, 64, "usage", "unknown option '--bogus'"},
        {{"--json", "--app-id", APP, "--channel", "c", "--uid", "1", "t1", "t2", NULL},
         64,
         "usage",
         "only one TOKEN"},
        {{"--json", "--app-id", APP, "--channel", "c", "--project", "/nonexistent/p.json",
          "--no-token", NULL},
         64,
         "usage",
         "cannot open /nonexistent/p.json"},
        /* a misspelt configuration field is refused, not silently "mode none" */
        {{"--json", "--app-id", APP, "--channel", "c", "--project", pfile, "--no-token", NULL},
         64,
         "bad_request",
         "primay: unknown field (did you mean primary?)"},
        {{"--json", "--app-id", APP, "--channel", "c", "--db", "/nonexistent/x.db", "--no-token",
          NULL},
         64,
         "usage",
         "--db"},
        {{"--json", "--app-id", APP, "--channel", "c", "--project", dupfile, "--no-token", NULL},
         64,
         "bad_request",
         "cohost_auth: given twice in one object"},
        /* issue 15, item 7: the attack's `at` values, refused by name */
        {{"--json", "--app-id", APP, "--channel", "c", "--at", "-9223372036854775808", "--no-token",
          NULL},
         64,
         "bad_request",
         "--at: must be"},
        {{"--json", "--app-id", APP, "--channel", "c", "--at", "9223372036854775807", "--no-token",
          NULL},
         64,
         "bad_request",
         "--at: must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = run(NULL, cases[i].args);
        char *out = slurp(out_path);
        json_error_t e;
        json_t *doc = json_loads(out, 0, &e); /* exactly one document: trailing text fails */
        json_t *err = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        char name[256];
        snprintf(name, sizeof name,
                 "--json failure #%zu: exit %d (got %d), {\"error\": {%s, '%s'}}", i,
                 cases[i].status, st, cases[i].code, cases[i].message);
        expect(name, st == cases[i].status && doc && json_object_size(doc) == 1 && code &&
                         strcmp(code, cases[i].code) == 0 && msg && strstr(msg, cases[i].message) &&
                         file_has(err_path, cases[i].message));
        json_decref(doc);
        free(out);
    }
    /* A --batch line with a key given twice is that line's error, naming the key. */
    char dupbatch[4096];
    path_in_work(dupbatch, sizeof dupbatch, "json-errors.dup.batch.jsonl");
    p = fopen(dupbatch, "w");
    fprintf(p, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"uid\":1,\"uid\":2}\n");
    fclose(p);
    const char *batch[] = {"--batch", dupbatch, NULL};
    expect("--batch: a key given twice is the line's error",
           run(NULL, batch) == 0 && file_has(out_path, "line 1: uid: given twice in one object"));
    /* Without --json, stdout stays empty on failure (the message is on stderr). */
    const char *text[] = {"--app-id", APP, "--channel", "c", "--uid", "x", "--no-token", NULL};
    expect("no --json: stdout empty on failure",
           run(NULL, text) == 64 && file_has(err_path, "--uid") && !file_has(out_path, "{"));
}

/* Issue 15, item 8: --project FILE matches an App ID whatever its case, as the store does; the
 * diagnosis in another case is that of an unknown project and its details say why. */
static void test_project_case(void) {
    char pfile[4096];
    path_in_work(pfile, sizeof pfile, "case.project.json");
    FILE *p = fopen(pfile, "w");
    fprintf(p, "{\"app_id\":\"0123456789ABCDEF0123456789ABCDEF\",\"primary\":{\"certificate\":"
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"enabled\":true}}");
    fclose(p);
    const char *args[] = {"--json",    "--app-id", APP,          "--channel", "c",
                          "--project", pfile,      "--no-token", NULL};
    expect("--project in another case: unverifiable, the details name it",
           run(NULL, args) == 2 && file_has(out_path, "\"project_unknown\"") &&
               file_has(out_path, "configured as 0123456789ABCDEF0123456789ABCDEF: the case "
                                  "differs"));
    p = fopen(pfile, "w");
    fprintf(p, "[{\"app_id\":\"0123456789ABCDEF0123456789ABCDEF\"},{\"app_id\":\"" APP "\"}]");
    fclose(p);
    expect("--project: one App ID in two spellings is configured twice",
           run(NULL, args) == 64 && file_has(out_path, "is configured twice"));
}

/* ---- 9. --batch --fail-on ----------------------------------------------------------------------
 */

static void test_fail_on(void) {
    char batch[4096], projects[4096];
    path_in_work(batch, sizeof batch, "fail-on.batch.jsonl");
    path_in_work(projects, sizeof projects, "fail-on.projects.json");
    /* one joinable (App ID only), one rejected (token required), one unverifiable, one bad */
    FILE *p = fopen(projects, "w");
    fprintf(p, "[{\"app_id\":\"" APP "\",\"no_certificate\":true},"
               "{\"app_id\":\"ffffffffffffffffffffffffffffffff\",\"primary\":{\"certificate\":"
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]");
    fclose(p);
    struct {
        const char *lines, *fail_on;
        int status;
    } cases[] = {
        {"j", NULL, 0},
        {"jrub", NULL, 0},
        {"jrub", "rejected", 1},
        {"ju", "rejected", 0},
        {"ju", "unverifiable", 1},
        {"jr", "unverifiable,rejected", 1},
        {"jb", "rejected,unverifiable", 0},
        {"jb", "invalid", 1},
        {"j", "rejected,unverifiable,invalid", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *b = fopen(batch, "w");
        for (const char *k = cases[i].lines; *k; k++)
            if (*k == 'j')
                fprintf(b, "{\"app_id\":\"" APP "\",\"channel\":\"c\",\"at\":1}\n");
            else if (*k == 'r')
                fprintf(b, "{\"app_id\":\"ffffffffffffffffffffffffffffffff\",\"channel\":\"c\","
                           "\"at\":1}\n");
            else if (*k == 'u')
                fprintf(b, "{\"app_id\":\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\",\"channel\":\"c\","
                           "\"at\":1}\n");
            else
                fprintf(b, "{\"app_id\":\"" APP "\"}\n");
        fclose(b);
        const char *args[12] = {"--batch", batch, "--project", projects};
        int a = 4;
        if (cases[i].fail_on) {
            args[a++] = "--fail-on";
            args[a++] = cases[i].fail_on;
        }
        args[a] = NULL;
        int st = run(NULL, args);
        char *out = slurp(out_path);
        size_t lines = 0;
        for (const char *c = out; *c; c++)
            lines += *c == '\n';
        free(out);
        char name[200];
        snprintf(name, sizeof name, "--fail-on %s on '%s': exit %d (got %d), every line answered",
                 cases[i].fail_on ? cases[i].fail_on : "(none)", cases[i].lines, cases[i].status,
                 st);
        expect(name, st == cases[i].status && lines == strlen(cases[i].lines));
    }
    /* 70 (output failed) wins over 1 (--fail-on matched). */
    const char *argv70[] = {bin,      "diagnose",  "--batch", batch, "--project",
                            projects, "--fail-on", "invalid", NULL};
    int st = tu_wait(tu_spawn(argv70, NULL, "/dev/full", err_path));
    expect("--fail-on: a write error is still 70", st == 70);
    const char *bad[][6] = {{"--batch", batch, "--fail-on", "joinable", NULL},
                            {"--batch", batch, "--fail-on", "rejected,", NULL},
                            {"--batch", batch, "--fail-on", "", NULL},
                            {"--app-id", APP, "--channel", "c", "--fail-on", "rejected"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[8];
        int a = 0;
        for (int k = 0; k < 6 && bad[i][k]; k++)
            args[a++] = bad[i][k];
        args[a] = NULL;
        char name[96];
        snprintf(name, sizeof name, "--fail-on usage error #%zu: exit 64", i);
        expect(name, run(NULL, args) == 64 && file_has(err_path, "--fail-on"));
    }
}

/* ---- 10. --server: a running service answers instead of a local store ----------------------
 * `serve --auth all` on a loopback port with a database; the same requests through --db (the
 * same file) and through --server give the same bytes on stdout and the same exit status. */

typedef struct {
    pid_t pid;
    char url[64];
} service;

static bool service_start(service *svc, const char *db, const char *dir) {
    char port_file[4096], out[4096], err[4096];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(out, sizeof out, "%s/serve.out", dir);
    snprintf(err, sizeof err, "%s/serve.err", dir);
    unlink(port_file);
    const char *argv[] = {
        bin,       "serve",        "--listen", "127.0.0.1:0",        "--db",
        db,        "--auth",       "all",      "--no-bootstrap-key", "--port-file",
        port_file, "--access-log", "off",      "--threads",          "2",
        NULL};
    setenv("TOKENDOCTOR_RATE_LIMIT", "0", 1); /* every case comes from one address */
    svc->pid = tu_spawn(argv, NULL, out, err);
    for (int i = 0; svc->pid > 0 && i < 200; i++) { /* up to 10 s */
        char *port = tu_read_file(port_file, NULL);
        int n = port ? atoi(port) : 0;
        free(port);
        if (n > 0) {
            snprintf(svc->url, sizeof svc->url, "http://127.0.0.1:%d", n);
            return true;
        }
        usleep(50 * 1000);
    }
    return false;
}

static void service_stop(service *svc) {
    if (svc->pid > 0) {
        kill(svc->pid, SIGTERM);
        tu_wait(svc->pid);
    }
}

/* Runs diagnose with args twice -- against the database, and against the service -- and
 * compares stdout and the exit status. */
static bool same_answer(const char *label, const char *in, const char *const *args, const char *db,
                        const char *url, int *status) {
    const char *local[48], *remote[48];
    int n = 0;
    local[n] = args[n];
    for (n = 0; args[n]; n++) {
        local[n] = args[n];
        remote[n] = args[n];
    }
    local[n] = "--db";
    local[n + 1] = db;
    local[n + 2] = NULL;
    remote[n] = "--server";
    remote[n + 1] = url;
    remote[n + 2] = NULL;
    int st_local = run(in, local);
    char *want = slurp(out_path);
    int st_remote = run(in, remote);
    char *got = slurp(out_path);
    bool ok = st_local == st_remote && strcmp(want, got) == 0 && want[0];
    if (!ok)
        printf("  %s: local exit %d, remote %d\n    local  %.300s\n    remote %.300s\n    %s\n",
               label, st_local, st_remote, want, got, slurp(err_path));
    *status = st_remote;
    free(want);
    free(got);
    return ok;
}

static void test_server(void) {
    char dir[2048], db_path[4096], key_path[4096], tokfile[4096], err[512];
    path_in_work(dir, sizeof dir, "server");
    mkdir(dir, 0700);
    snprintf(db_path, sizeof db_path, "%s/td.db", dir);
    snprintf(key_path, sizeof key_path, "%s/api-key", dir);
    snprintf(tokfile, sizeof tokfile, "%s/token.txt", dir);
    tdb *db = tdb_open(db_path, NULL, err, sizeof err);
    expect("server: database made", db != NULL);
    if (!db)
        return;
    /* Every scenario that carries an `at` and a project: the projects go to the database. */
    json_t *cases = json_array();
    size_t i;
    json_t *sc;
    json_array_foreach(scenarios, i, sc) {
        json_t *req = json_object_get(sc, "request");
        json_t *pj = json_object_get(sc, "project");
        diag_project p;
        if (json_array_size(cases) < 40 && json_is_integer(json_object_get(req, "at")) &&
            json_is_object(pj) && !scenario_is_bad_request(sc) && flags_can_express(req) &&
            diag_project_from_json(pj, &p, err, sizeof err) &&
            tdb_project_put(db, &p, "test", NULL) == TDB_OK)
            json_array_append(cases, sc);
    }
    char key[TDB_APIKEY_LEN + 1];
    int64_t key_id;
    bool have_key = tdb_apikey_create(db, TDB_ROLE_READER, "cli-test", key, &key_id) == TDB_OK;
    tdb_close(db);
    expect("server: projects and a key stored", json_array_size(cases) >= 20 && have_key);
    char key_line[128];
    snprintf(key_line, sizeof key_line, "%s\n", key);
    tu_write_file(key_path, key_line, strlen(key_line));

    service svc = {0};
    bool up = service_start(&svc, db_path, dir);
    expect("server: serve listens", up);
    if (!up) {
        service_stop(&svc);
        json_decref(cases);
        return;
    }
    setenv("TOKENDOCTOR_API_KEY_FILE", key_path, 1);

    /* The same answers, text and --json, for every case. */
    size_t differ = 0;
    json_array_foreach(cases, i, sc) {
        const char *args[48];
        char store[4][4096], pfile[4096];
        path_in_work(pfile, sizeof pfile, "server.unused.json");
        int n = scenario_args(sc, args, store, pfile);
        for (int k = 0; k < n; k++) /* the project is in the database, not a file */
            if (strcmp(args[k], "--project") == 0) {
                memmove(&args[k], &args[k + 2], (size_t)(n - k - 1) * sizeof *args);
                n -= 2;
                break;
            }
        json_t *token = json_object_get(json_object_get(sc, "request"), "token");
        const char *in = NULL;
        if (json_is_string(token)) {
            FILE *t = fopen(tokfile, "w");
            fprintf(t, "%s\n", json_string_value(token));
            fclose(t);
            in = tokfile;
            args[n++] = "-";
        } else {
            args[n++] = "--no-token";
        }
        args[n] = NULL;
        int st;
        char label[128];
        snprintf(label, sizeof label, "server %s text",
                 json_string_value(json_object_get(sc, "id")));
        bool ok = same_answer(label, in, args, db_path, svc.url, &st);
        args[n++] = "--json";
        args[n] = NULL;
        snprintf(label, sizeof label, "server %s --json",
                 json_string_value(json_object_get(sc, "id")));
        ok = same_answer(label, in, args, db_path, svc.url, &st) && ok;
        json_t *got = json_load_file(out_path, 0, NULL);
        char why[512] = "";
        ok = ok && scenario_matches(sc, got, why, sizeof why);
        json_decref(got);
        if (!ok && differ++ < 3 && why[0])
            printf("  %s\n", why);
    }
    char name[160];
    snprintf(name, sizeof name,
             "--server: %zu cases, the same output and exit status as --db (%zu differ)",
             json_array_size(cases), differ);
    expect(name, differ == 0);

    /* $TOKENDOCTOR_SERVER; a request the flags cannot make is still refused locally. */
    setenv("TOKENDOCTOR_SERVER", svc.url, 1);
    const char *env_args[] = {bin, "diagnose", "--app-id",   APP, "--channel",
                              "c", "--json",   "--no-token", NULL};
    int st = tu_wait(tu_spawn(env_args, NULL, out_path, err_path));
    /* the default database does not exist ($TOKENDOCTOR_DB, main): exit 70 if not asked */
    expect("$TOKENDOCTOR_SERVER: the service is asked (project unknown there: exit 2)",
           st == 2 && file_has(out_path, "\"project_unknown\""));
    const char *env_db[] = {"--app-id",   APP,    "--channel",         "c",
                            "--no-token", "--db", "/nonexistent/x.db", NULL};
    st = run(NULL, env_db);
    expect("$TOKENDOCTOR_SERVER with --db: the local store (exit 64, no such database)",
           st == 64 && file_has(err_path, "/nonexistent/x.db"));
    unsetenv("TOKENDOCTOR_SERVER");

    /* decode --server: the same as decode. */
    json_t *tokcase = json_array_get(cases, 0);
    const char *tok =
        json_string_value(json_object_get(json_object_get(tokcase, "request"), "token"));
    if (tok && tok[0] != '-') {
        for (int json = 0; json < 2; json++) {
            const char *local[] = {bin, "decode", "--at", "1700000000", tok, json ? "--json" : NULL,
                                   NULL};
            const char *remote[] = {bin,    "decode",     "--server", svc.url,
                                    "--at", "1700000000", tok,        json ? "--json" : NULL,
                                    NULL};
            int st_l = tu_wait(tu_spawn(local, NULL, out_path, err_path));
            char *want = slurp(out_path);
            int st_r = tu_wait(tu_spawn(remote, NULL, out_path, err_path));
            char *got = slurp(out_path);
            snprintf(name, sizeof name, "decode --server%s: the same as decode",
                     json ? " --json" : "");
            expect(name, st_l == st_r && strcmp(want, got) == 0 && want[0]);
            free(want);
            free(got);
        }
    }
    const char *bad_decode[] = {bin, "decode", "--server", svc.url, "--json", "005abcd", NULL};
    st = tu_wait(tu_spawn(bad_decode, NULL, out_path, err_path));
    expect("decode --server of a legacy key: exit 1, the service's 422 object",
           st == 1 && file_has(out_path, "\"legacy_version\""));

    /* Failures: each with its exit status, and with --json the error object. */
    unsetenv("TOKENDOCTOR_API_KEY_FILE");
    const char *nokey[] = {"--server", svc.url,      "--app-id", APP, "--channel",
                           "c",        "--no-token", "--json",   NULL};
    st = run(NULL, nokey);
    expect("--server without the key a --auth all service wants: exit 64, unauthorized, names "
           "$TOKENDOCTOR_API_KEY_FILE",
           st == 64 && file_has(out_path, "\"unauthorized\"") &&
               file_has(err_path, "TOKENDOCTOR_API_KEY_FILE"));
    setenv("TOKENDOCTOR_API_KEY_FILE", "/nonexistent/key", 1);
    st = run(NULL, nokey);
    expect("--server, key file missing: exit 64",
           st == 64 && file_has(err_path, "/nonexistent/key"));
    setenv("TOKENDOCTOR_API_KEY_FILE", key_path, 1);
    const char *https[] = {"--server", "https://127.0.0.1:1", "--app-id", APP, "--channel",
                           "c",        "--no-token",          NULL};
    expect("--server https://: exit 64, said to be unsupported",
           run(NULL, https) == 64 && file_has(err_path, "https is not supported"));
    const char *with_db[] = {"--server", svc.url,     "--db", db_path,      "--app-id",
                             APP,        "--channel", "c",    "--no-token", NULL};
    expect("--server with --db: exit 64",
           run(NULL, with_db) == 64 && file_has(err_path, "--server"));
    const char *batch[] = {"--server", svc.url, "--batch", "-", NULL};
    expect("--server with --batch: exit 64 naming the batch route",
           run(NULL, batch) == 64 && file_has(err_path, "/v1/diagnose/batch"));
    service_stop(&svc);
    const char *down[] = {"--server", svc.url,      "--app-id", APP, "--channel",
                          "c",        "--no-token", "--json",   NULL};
    st = run(NULL, down);
    expect("--server, service stopped: exit 70, an error object",
           st == 70 && file_has(out_path, "\"error\"") && file_has(err_path, svc.url));
    unsetenv("TOKENDOCTOR_API_KEY_FILE");
    json_decref(cases);
}

int main(int argc, char **argv) {
    char **args = tu_args(argc, argv, 2, "TOKENDOCTOR VECTORS_DIR");
    bin = args[0];
    load_scenarios(args[1]);
    char work_dir[256];
    if (!tu_mkdtemp(work_dir, sizeof work_dir, "td-cli-diagnose")) {
        perror("mkdtemp");
        return 2;
    }
    work = work_dir;
    /* For every run of the program: plain output, and never the default database. */
    setenv("NO_COLOR", "", 1);
    setenv("TOKENDOCTOR_DB", "/nonexistent/tokendoctor-test.db", 1);
    path_in_work(out_path, sizeof out_path, "cli.stdout");
    path_in_work(err_path, sizeof err_path, "cli.stderr");
    test_scenarios_batch();
    test_bad_lines();
    test_single();
    test_single_all();
    test_db();
    test_bad_usage();
    test_threads();
    test_line_bytes(true);
    test_line_bytes(false);
    test_token_input();
    test_json_errors();
    test_project_case();
    test_fail_on();
    test_server();
    json_decref(scenarios);
    if (tu_failures() == 0)
        tu_rmtree(work);
    else
        fprintf(stderr, "kept for inspection: %s\n", work);
    return tu_report("cli_diagnose");
}
