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

const struct option cli_apikey_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"role", required_argument, NULL, OPT_ROLE},
    {"name", required_argument, NULL, OPT_NAME},
    CLI_OPT_JSON_ENTRY,
    CLI_OPT_HELP_ENTRY,
    {NULL, 0, NULL, 0},
};

/* Options may come anywhere; "--" ends them. -1 to go on, otherwise the exit status (--help, a
 * usage error). */
static int parse_apikey_args(int argc, char **argv, apikey_args *a, cli_report *report) {
    memset(a, 0, sizeof *a);
    a->report = report;
    const char **const slots[] = {&a->db_path, &a->key_file, &a->role, &a->name};
    cli_opts p;
    cli_opts_init(&p, "apikey", argc, argv, cli_apikey_options, slots, CLI_COUNT(slots), report);
    return cli_opts_action_run(&p, apikey_usage, &a->json, a->pos, &a->npos, CLI_COUNT(a->pos));
}

/* A time field of the list: "-" when there is none (a key not revoked, or never used). */
/* A time of the list, or "-" when it has none. */
static void format_time(bool set, int64_t t, char *out, size_t cap) {
    if (set)
        cli_format_utc(t, out, cap);
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
    explicit_bzero(key, sizeof key);
    return ok && fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

static int apikey_list(tdb *db, const apikey_args *a) {
    diag_apikey_shown *list;
    size_t n;
    tdb_status s = tdb_apikey_list(db, &list, &n);
    if (s != TDB_OK)
        return cli_store_failure(a->report, db, s);
    if (a->json) {
        json_t *doc = diag_apikey_list_to_json(list, n);
        free(list);
        return cli_answer(a->report, doc) ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
    }
    if (n == 0) {
        printf("no API keys in %s\n", tdb_shown_name(db));
    } else {
        printf("%-6s%-26s%-8s%-25s%-25s%s\n", "ID", "NAME", "ROLE", "CREATED", "LAST USED",
               "REVOKED");
    }
    for (size_t i = 0; i < n; i++) {
        const diag_apikey_shown *k = &list[i];
        char created[40], used[40], revoked[40];
        format_time(true, k->created_at, created, sizeof created);
        format_time(k->used, k->last_used_at, used, sizeof used);
        format_time(k->revoked, k->revoked_at, revoked, sizeof revoked);
        printf("%-6lld%-26s%-8s%-25s%-25s%s\n", (long long)k->id, k->name, k->role, created, used,
               revoked);
    }
    free(list);
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
    int rc = parse_apikey_args(argc, argv, &a, report);
    if (rc >= 0)
        return rc;
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
    rc = CLI_EXIT_INTERNAL;
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
    return cli_run_reported(argc, argv, apikey_run);
}
