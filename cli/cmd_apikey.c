/* cmd_apikey.c -- `tokendoctor apikey`: create, list and revoke the API keys of the HTTP
 * service.
 *
 * Design
 * ------
 * A thin layer over db/tddb.h. `create` prints the new key alone on standard output (so that
 * `KEY=$(tokendoctor apikey create --role admin)` works) and a note on standard error; it is the
 * only time the key is ever shown -- the database keeps its SHA-256 only. `list` shows ids,
 * names, roles and times (created, last used -- to a minute, as the service records it --,
 * revoked), never a key or a hash.
 *
 * Exit statuses: 0 ok, 1 no such key, 64 usage (bad role or name), 70 storage error. With
 * --json a failure is also the error object on stdout (cli_report).
 */
#include <stdio.h>
#include <string.h>

#include "tdcli.h"
#include "tddb.h"

typedef struct {
    const char *db_path;
    const char *key_file;
    const char *role;
    const char *name;
    bool json;
    bool help;
    int npos;
    const char *pos[3];
    cli_report *report; /* the run's failures, for --json */
} apikey_args;

static void apikey_usage(FILE *out) {
    fprintf(out, "usage: tokendoctor apikey create --role admin|reader [--name LABEL]\n"
                 "       tokendoctor apikey list\n"
                 "       tokendoctor apikey revoke ID|NAME\n"
                 "\n"
                 "create prints the new key once (only its SHA-256 is stored). admin keys may use\n"
                 "every endpoint; reader keys the diagnosis endpoints when they require a key\n"
                 "(serve --auth all). The key's name is the actor in the configuration history.\n"
                 "\n"
                 "options:\n"
                 "  --json            print exactly one JSON document\n");
    cli_usage_store_options(out, 20, "the database");
    fprintf(out, "\nexit status: 0 ok, 1 no such key, 64 usage, 70 storage error\n");
}

enum { OPT_DB = CLI_OPT_FIRST, OPT_KEY_FILE, OPT_ROLE, OPT_NAME };

static const struct option apikey_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"role", required_argument, NULL, OPT_ROLE},
    {"name", required_argument, NULL, OPT_NAME},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

const struct option *cli_apikey_options(struct option *buf) {
    (void)buf; /* a static table */
    return apikey_options;
}

/* Options may come anywhere; "--" ends them. false (message printed) on a usage error. */
static bool parse_apikey_args(int argc, char **argv, apikey_args *a, cli_report *report) {
    memset(a, 0, sizeof *a);
    a->report = report;
    const char **const slots[] = {&a->db_path, &a->key_file, &a->role, &a->name};
    cli_opts p;
    cli_opts_init(&p, "apikey", argc, argv, apikey_options);
    p.report = report;
    p.slots = slots;
    p.nslots = (int)(sizeof slots / sizeof slots[0]);
    return cli_opts_action(&p, &a->json, &a->help, a->pos, &a->npos,
                           (int)(sizeof a->pos / sizeof a->pos[0]));
}

/* A time field of the list: "-" when there is none (a key not revoked, or never used). */
static void format_time(json_t *v, char *out, size_t cap) {
    if (json_is_integer(v))
        cli_format_utc(json_integer_value(v), out, cap);
    else
        snprintf(out, cap, "-");
}

static int apikey_create(tdb *db, const apikey_args *a, tdb_role role) {
    char key[TDB_APIKEY_LEN + 1];
    int64_t id = 0;
    tdb_status s = tdb_apikey_create(db, role, a->name, key, &id);
    if (s != TDB_OK)
        return cli_store_failure(a->report, db, s);
    char name[TDB_APIKEY_NAME_MAX + 32];
    if (a->name && *a->name)
        snprintf(name, sizeof name, "%s", a->name);
    else
        snprintf(name, sizeof name, "key-%lld", (long long)id);
    bool ok;
    if (a->json) {
        ok = cli_answer(a->report, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "name",
                                             name, "role", tdb_role_name(role), "key", key));
    } else {
        ok = printf("%s\n", key) > 0;
        fprintf(stderr, "API key %lld \"%s\" (%s) created. Store it now: it is not shown again.\n",
                (long long)id, name, tdb_role_name(role));
    }
    memset(key, 0, sizeof key);
    return ok && fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

static int apikey_list(tdb *db, const apikey_args *a) {
    json_t *list = NULL;
    tdb_status s = tdb_apikey_list(db, &list);
    if (s != TDB_OK)
        return cli_store_failure(a->report, db, s);
    if (a->json)
        return cli_answer(a->report, list) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    if (json_array_size(list) == 0) {
        printf("no API keys in %s\n", tdb_path(db));
    } else {
        printf("%-6s%-26s%-8s%-25s%-25s%s\n", "ID", "NAME", "ROLE", "CREATED", "LAST USED",
               "REVOKED");
    }
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        char created[40], used[40], revoked[40];
        format_time(json_object_get(k, "created_at"), created, sizeof created);
        format_time(json_object_get(k, "last_used_at"), used, sizeof used);
        format_time(json_object_get(k, "revoked_at"), revoked, sizeof revoked);
        printf("%-6lld%-26s%-8s%-25s%-25s%s\n",
               (long long)json_integer_value(json_object_get(k, "id")),
               json_string_value(json_object_get(k, "name")),
               json_string_value(json_object_get(k, "role")), created, used, revoked);
    }
    json_decref(list);
    return CLI_EXIT_OK;
}

static int apikey_revoke(tdb *db, const apikey_args *a) {
    tdb_status s = tdb_apikey_revoke(db, a->pos[1]);
    if (s != TDB_OK)
        return cli_store_failure(a->report, db, s);
    /* The argument may be the key itself: never echo it. */
    bool is_key = strncmp(a->pos[1], TDB_APIKEY_PREFIX, strlen(TDB_APIKEY_PREFIX)) == 0;
    if (a->json) {
        return cli_answer(a->report, json_pack("{s:b}", "revoked", 1)) ? CLI_EXIT_OK
                                                                       : CLI_EXIT_INTERNAL;
    }
    printf("API key %s revoked\n", is_key ? "(given by value)" : a->pos[1]);
    return CLI_EXIT_OK;
}

static int apikey_run(int argc, char **argv, cli_report *report) {
    apikey_args a;
    if (!parse_apikey_args(argc, argv, &a, report)) {
        apikey_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (a.help) {
        apikey_usage(stdout);
        return CLI_EXIT_OK;
    }
    report->json = a.json;
    const char *action = a.npos > 0 ? a.pos[0] : "";
    bool is_create = strcmp(action, "create") == 0, is_list = strcmp(action, "list") == 0;
    bool is_revoke = strcmp(action, "revoke") == 0;
    if (!is_create && !is_list && !is_revoke) {
        if (*action)
            cli_fail(report, "usage", "apikey: unknown action '%s'", action);
        else
            cli_fail(report, "usage", "apikey: give an action: create, list or revoke");
        apikey_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    tdb_role role = TDB_ROLE_NONE;
    if (is_create && (!a.role || !tdb_role_parse(a.role, &role))) {
        cli_fail(report, "usage", "apikey create: --role must be admin or reader");
        return CLI_EXIT_USAGE;
    }
    if (!is_create && (a.role || a.name)) {
        cli_fail(report, "usage", "apikey %s: --role and --name are for create", action);
        return CLI_EXIT_USAGE;
    }
    if ((is_revoke && a.npos != 2) || (!is_revoke && a.npos != 1)) {
        if (is_revoke)
            cli_fail(report, "usage", "apikey revoke: give one ID or NAME");
        else
            cli_fail(report, "usage", "apikey %s: takes no argument", action);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_INTERNAL;
    tdb *db = cli_store_open(report, a.db_path, a.key_file,
                             is_create ? CLI_STORE_CREATE
                             : is_list ? CLI_STORE_READ
                                       : CLI_STORE_WRITE,
                             &rc);
    if (!db)
        return rc;
    rc = is_create ? apikey_create(db, &a, role)
         : is_list ? apikey_list(db, &a)
                   : apikey_revoke(db, &a);
    tdb_close(db);
    return rc;
}

int cli_apikey(int argc, char **argv) {
    cli_report report;
    cli_report_init(&report, argc, argv);
    return cli_finish(&report, apikey_run(argc, argv, &report));
}
