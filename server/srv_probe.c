/* srv_probe.c -- `serve --probe NAME=FILE`: preflight a token server on a schedule.
 *
 * Design
 * ------
 * Each probe is a preflight (preflight/, pf_run) with its configuration in a JSON file
 * (pf_probe_config_from_json: the template, the App ID, the interval...), read and checked when
 * the service starts: a bad file is a usage error, not a probe that fails forever. All probes run
 * on one thread of their own, one after another, each when its interval has passed: a preflight
 * takes seconds (it sleeps between requests and waits for a slow token server), which no request
 * worker may ever wait for. The thread has its own read-only store connection, looks the probe's
 * project up there at each run (a certificate rotated through the API counts from the next run)
 * and wipes the copy after the run.
 *
 * What a run leaves behind -- the report as JSON, success, time, duration, the requests per
 * finding -- is swapped in under the probe's mutex; /metrics and GET /v1/probes read it under
 * that mutex (the report is deep-copied out, so no jansson reference crosses threads). Probes
 * never touch /healthz or /readyz: a broken token server is the customer's problem to see, not
 * a reason to take tokendoctor out of a load balancer.
 *
 * Stopping: srv_probes_stop sets a flag and signals the condition the thread sleeps on; a run in
 * progress finishes its current request first (each is bounded by the probe's timeout).
 */
#include "srv_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tdpreflight.h"

#define PROBE_FILE_MAX (64u << 10)

struct srv_probe {
    char name[SRV_PROBE_NAME_MAX + 1];
    json_t *doc; /* the configuration file; cfg's strings borrow from it */
    pf_probe_config cfg;
    pf_headers headers; /* secrets: wiped when freed */
    int64_t next_at;

    /* Under lock: the last run. */
    pthread_mutex_t lock;
    uint64_t runs;
    bool has_run, success;
    int64_t last_run_at;
    unsigned last_duration_ms;
    unsigned finding_requests[PF_FINDING_COUNT];
    json_t *last; /* the report, or {"error": ...} when the run could not start */
};

struct srv_probes {
    srv_probe *list;
    size_t count;
    const char *db_path, *key_file;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_bool stop; /* also read by a run in progress (keep_going) */
};

/* NAME: 1..SRV_PROBE_NAME_MAX of [a-z0-9_-] (a metric label value and a JSON key as is). */
static bool name_ok(const char *p, size_t n) {
    if (n == 0 || n > SRV_PROBE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
              p[i] == '-'))
            return false;
    return true;
}

/* Reads and checks one "NAME=FILE" into p. */
static bool probe_load(srv_probe *p, const char *spec, char *err, size_t cap) {
    const char *eq = strchr(spec, '=');
    if (!eq || !name_ok(spec, (size_t)(eq - spec)) || !eq[1]) {
        snprintf(err, cap, "--probe %s: must be NAME=CONFIG_FILE, NAME 1..%d of a-z 0-9 _ -", spec,
                 SRV_PROBE_NAME_MAX);
        return false;
    }
    memcpy(p->name, spec, (size_t)(eq - spec));
    json_error_t jerr;
    p->doc = json_load_file(eq + 1, 0, &jerr);
    if (!p->doc) {
        snprintf(err, cap, "--probe %s: %s: not a JSON file (line %d)", p->name, eq + 1, jerr.line);
        return false;
    }
    char why[400];
    if (!pf_probe_config_from_json(p->doc, &p->cfg, &p->headers, why, sizeof why)) {
        snprintf(err, cap, "--probe %s: %s: %s", p->name, eq + 1, why);
        return false;
    }
    return true;
}

bool srv_probes_init(srv_server *s, char *err, size_t cap) {
    if (s->cfg.nprobes == 0)
        return true;
    if (s->cfg.nprobes > SRV_PROBES_MAX) {
        snprintf(err, cap, "--probe: at most %d probes", SRV_PROBES_MAX);
        return false;
    }
    srv_probes *ps = calloc(1, sizeof *ps);
    srv_probe *list = ps ? calloc(s->cfg.nprobes, sizeof *list) : NULL;
    if (!list) {
        free(ps);
        snprintf(err, cap, "out of memory");
        return false;
    }
    s->probes = ps;
    ps->list = list;
    ps->db_path = s->db_path;
    ps->key_file = s->key_file;
    pthread_mutex_init(&ps->lock, NULL);
    pthread_cond_init(&ps->wake, NULL);
    bool ok = true;
    for (size_t i = 0; ok && i < s->cfg.nprobes; i++) {
        ps->count = i + 1;
        pthread_mutex_init(&list[i].lock, NULL);
        ok = probe_load(&list[i], s->cfg.probes[i], err, cap);
        for (size_t k = 0; ok && k < i; k++)
            if (strcmp(list[k].name, list[i].name) == 0) {
                snprintf(err, cap, "--probe %s: the name is given twice", list[i].name);
                ok = false;
            }
    }
    return ok;
}

/* ---- A run ------------------------------------------------------------------------------- */

static void probe_store(srv_probe *p, const pf_report *r, json_t *doc, int64_t at) {
    pthread_mutex_lock(&p->lock);
    json_decref(p->last);
    p->last = doc;
    p->runs++;
    p->has_run = true;
    p->last_run_at = at;
    p->success = r && pf_report_exit(r) == 0;
    p->last_duration_ms = r ? r->duration_ms : 0;
    for (int f = 0; f < PF_FINDING_COUNT; f++)
        p->finding_requests[f] = r ? (unsigned)__builtin_popcount(r->rows_of[f]) : 0;
    pthread_mutex_unlock(&p->lock);
}

/* A run stops after its current request when the service stops. */
static bool keep_going(size_t done, size_t total, void *arg) {
    (void)done;
    (void)total;
    return !atomic_load(&((srv_probes *)arg)->stop);
}

static void probe_run(srv_probes *ps, srv_probe *p, tdb *db, pf_report *report) {
    int64_t at = srv_now_s();
    diag_project project;
    tdb_status st = db ? tdb_project_get(db, p->cfg.config.app_id, &project) : TDB_ERROR;
    char err[512] = "";
    bool ran = false;
    if (st == TDB_NOT_FOUND)
        snprintf(err, sizeof err, "no project configuration for App ID %s in the store",
                 p->cfg.config.app_id);
    else if (st != TDB_OK)
        snprintf(err, sizeof err, "the store cannot be read");
    else
        ran = pf_run(&p->cfg.config, &project, keep_going, ps, report, err, sizeof err);
    explicit_bzero(&project, sizeof project);
    json_t *doc = ran ? pf_report_to_json(report) : diag_error_json("probe_failed", err);
    probe_store(p, ran ? report : NULL, doc, at);
}

static void *probes_main(void *arg) {
    srv_probes *ps = arg;
    char err[512];
    bool missing = false;
    tdb *db =
        tdb_open_readonly(ps->db_path, ps->key_file, TDB_KEY_REQUIRED, &missing, err, sizeof err);
    pf_report *report = malloc(sizeof *report);
    pthread_mutex_lock(&ps->lock);
    while (!ps->stop) {
        int64_t now = srv_now_s(), next = INT64_MAX;
        for (size_t i = 0; i < ps->count && !ps->stop; i++) {
            srv_probe *p = &ps->list[i];
            if (p->next_at <= now && report) {
                pthread_mutex_unlock(&ps->lock);
                probe_run(ps, p, db, report);
                pthread_mutex_lock(&ps->lock);
                now = srv_now_s();
                p->next_at = now + p->cfg.interval_s;
            }
            next = p->next_at < next ? p->next_at : next;
        }
        if (ps->stop || !report)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(next > now ? next - now : 1);
        pthread_cond_timedwait(&ps->wake, &ps->lock, &until);
    }
    pthread_mutex_unlock(&ps->lock);
    free(report);
    tdb_close(db);
    return NULL;
}

bool srv_probes_start(srv_server *s) {
    srv_probes *ps = s->probes;
    if (!ps)
        return true;
    ps->started = pthread_create(&ps->thread, NULL, probes_main, ps) == 0;
    return ps->started;
}

void srv_probes_stop(srv_server *s) {
    srv_probes *ps = s->probes;
    if (!ps || !ps->started)
        return;
    pthread_mutex_lock(&ps->lock);
    atomic_store(&ps->stop, true);
    pthread_cond_signal(&ps->wake);
    pthread_mutex_unlock(&ps->lock);
    pthread_join(ps->thread, NULL);
    ps->started = false;
}

void srv_probes_free(srv_server *s) {
    srv_probes *ps = s->probes;
    if (!ps)
        return;
    srv_probes_stop(s);
    for (size_t i = 0; i < ps->count; i++) {
        srv_probe *p = &ps->list[i];
        json_decref(p->last);
        json_decref(p->doc);
        pf_headers_wipe(&p->headers);
        pthread_mutex_destroy(&p->lock);
    }
    pthread_cond_destroy(&ps->wake);
    pthread_mutex_destroy(&ps->lock);
    free(ps->list);
    free(ps);
    s->probes = NULL;
}

/* ---- What it shows ------------------------------------------------------------------------ */

json_t *srv_probes_json(srv_server *s) {
    json_t *list = json_array();
    for (size_t i = 0; s->probes && list && i < s->probes->count; i++) {
        srv_probe *p = &s->probes->list[i];
        pthread_mutex_lock(&p->lock);
        json_t *last = p->last ? json_deep_copy(p->last) : json_null();
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o}", "name", p->name, "url", p->cfg.config.url,
            "app_id", p->cfg.config.app_id, "interval_s", (json_int_t)p->cfg.interval_s, "runs",
            (json_int_t)p->runs, "success", p->has_run ? json_boolean(p->success) : json_null(),
            "last_run_at", p->has_run ? json_integer(p->last_run_at) : json_null(), "last", last);
        pthread_mutex_unlock(&p->lock);
        json_array_append_new(list, o);
    }
    return json_pack("{s:o}", "probes", list);
}

void srv_probes_metrics_render(srv_server *s, td_buf *t) {
    if (!s->probes)
        return;
    td_buf_addz(t, "# HELP tokendoctor_probe_success 1 when the probe's last run found every "
                   "token joinable, else 0.\n# TYPE tokendoctor_probe_success gauge\n"
                   "# HELP tokendoctor_probe_last_run_timestamp_seconds When the probe last ran.\n"
                   "# TYPE tokendoctor_probe_last_run_timestamp_seconds gauge\n"
                   "# HELP tokendoctor_probe_last_duration_seconds How long its last run took.\n"
                   "# TYPE tokendoctor_probe_last_duration_seconds gauge\n"
                   "# HELP tokendoctor_probe_runs_total Runs of the probe.\n"
                   "# TYPE tokendoctor_probe_runs_total counter\n"
                   "# HELP tokendoctor_probe_findings Requests of the last run that show each "
                   "finding.\n# TYPE tokendoctor_probe_findings gauge\n");
    for (size_t i = 0; i < s->probes->count; i++) {
        srv_probe *p = &s->probes->list[i];
        pthread_mutex_lock(&p->lock);
        td_buf_addf(t, "tokendoctor_probe_runs_total{probe=\"%s\"} %llu\n", p->name,
                    (unsigned long long)p->runs);
        if (p->has_run) {
            td_buf_addf(t,
                        "tokendoctor_probe_success{probe=\"%s\"} %d\n"
                        "tokendoctor_probe_last_run_timestamp_seconds{probe=\"%s\"} %lld\n"
                        "tokendoctor_probe_last_duration_seconds{probe=\"%s\"} %.3f\n",
                        p->name, p->success ? 1 : 0, p->name, (long long)p->last_run_at, p->name,
                        p->last_duration_ms / 1000.0);
            for (int f = 0; f < PF_FINDING_COUNT; f++)
                td_buf_addf(t, "tokendoctor_probe_findings{probe=\"%s\",finding=\"%s\"} %u\n",
                            p->name, pf_catalog((pf_finding)f)->id, p->finding_requests[f]);
        }
        pthread_mutex_unlock(&p->lock);
    }
}
