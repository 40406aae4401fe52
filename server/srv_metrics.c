/* srv_metrics.c -- counters per worker, summed into Prometheus text at scrape time.
 *
 * Each worker writes only its own counters (srv_count: a relaxed load and store, no locked
 * instruction), and the scraping worker reads all of them with relaxed loads. A scrape is
 * therefore not one atomic snapshot -- counters may be a few requests apart -- which Prometheus
 * tolerates by design, and the request path stays free of shared cache lines.
 *
 * The process_* metrics are those every Prometheus client library exports, with the same names,
 * types and units, so that the usual dashboards and alerts work unchanged: read at scrape time
 * from /proc/self (stat, fd/) and /proc/stat (boot time), as the Go client does; the descriptor
 * limit is getrlimit()'s soft limit, the number /proc/self/limits shows. Where /proc cannot be
 * read (not Linux, a restricted sandbox) they are left out rather than reported as zero.
 *
 * Label values never hold a space (route="/" is the web page), so that simple parsers of the
 * text format and of queries need no quoting rules beyond the format's own.
 */
#include "srv_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The most the text may take: every (route, status) and (verdict, cause) pair with a count, the
 * latency histograms and the process metrics stay well under 1 MiB; 4 MiB leaves room for new
 * series without letting a defect grow the scrape without bound. */
#define SRV_METRICS_MAX ((size_t)4 * 1024 * 1024)

#ifndef TD_VERSION
#define TD_VERSION "0.1.0"
#endif

static const int srv_statuses[SRV_STATUS_COUNT - 1] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
                                                       413, 415, 417, 422, 500, 503, 304, 429};

static const int64_t srv_buckets_us[SRV_BUCKET_COUNT] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

static int srv_status_index(int status) {
    for (int i = 0; i < SRV_STATUS_COUNT - 1; i++)
        if (srv_statuses[i] == status)
            return i;
    return SRV_STATUS_COUNT - 1; /* other */
}

void srv_metrics_record(srv_worker *w, srv_route route, int status, int64_t latency_us) {
    srv_metrics *m = &w->metrics;
    srv_count(&m->requests[route][srv_status_index(status)], 1);
    int b = 0;
    while (b < SRV_BUCKET_COUNT && latency_us > srv_buckets_us[b])
        b++;
    srv_count(&m->latency[route][b], 1);
    srv_count(&m->latency_sum_us[route], (uint64_t)latency_us);
}

static uint64_t srv_load(const _Atomic uint64_t *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void srv_render_requests(srv_server *s, td_buf *t) {
    td_buf_addf(t, "# HELP tokendoctor_http_requests_total HTTP requests answered, by route "
                   "and status.\n# TYPE tokendoctor_http_requests_total counter\n");
    for (int r = 0; r < SRV_ROUTE_COUNT; r++)
        for (int i = 0; i < SRV_STATUS_COUNT; i++) {
            uint64_t n = 0;
            for (int k = 0; k < s->nworkers; k++)
                n += srv_load(&s->workers[k].metrics.requests[r][i]);
            if (n == 0)
                continue;
            if (i == SRV_STATUS_COUNT - 1)
                td_buf_addf(t,
                            "tokendoctor_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                            srv_route_name((srv_route)r), (unsigned long long)n);
            else
                td_buf_addf(t, "tokendoctor_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                            srv_route_name((srv_route)r), srv_statuses[i], (unsigned long long)n);
        }
}

static void srv_render_latency(srv_server *s, td_buf *t) {
    td_buf_addf(t, "# HELP tokendoctor_http_request_duration_seconds Time from a complete request "
                   "to its response, by route.\n"
                   "# TYPE tokendoctor_http_request_duration_seconds histogram\n");
    for (int r = 0; r < SRV_ROUTE_COUNT; r++) {
        uint64_t counts[SRV_BUCKET_COUNT + 1] = {0}, sum = 0, total = 0;
        for (int k = 0; k < s->nworkers; k++) {
            for (int b = 0; b <= SRV_BUCKET_COUNT; b++)
                counts[b] += srv_load(&s->workers[k].metrics.latency[r][b]);
            sum += srv_load(&s->workers[k].metrics.latency_sum_us[r]);
        }
        for (int b = 0; b <= SRV_BUCKET_COUNT; b++)
            total += counts[b];
        if (total == 0)
            continue;
        const char *name = srv_route_name((srv_route)r);
        uint64_t cum = 0;
        for (int b = 0; b < SRV_BUCKET_COUNT; b++) {
            cum += counts[b];
            td_buf_addf(t,
                        "tokendoctor_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                        "%llu\n",
                        name, (double)srv_buckets_us[b] / 1e6, (unsigned long long)cum);
        }
        td_buf_addf(t,
                    "tokendoctor_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                    "%llu\n",
                    name, (unsigned long long)total);
        td_buf_addf(t, "tokendoctor_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                    (double)sum / 1e6);
        td_buf_addf(t, "tokendoctor_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                    (unsigned long long)total);
    }
}

static void srv_render_diagnoses(srv_server *s, td_buf *t) {
    td_buf_addf(t, "# HELP tokendoctor_diagnoses_total Diagnoses made, by verdict and cause.\n"
                   "# TYPE tokendoctor_diagnoses_total counter\n");
    for (int v = 0; v < 3; v++)
        for (int c = 0; c < DIAG_CAUSE_COUNT; c++) {
            uint64_t n = 0;
            for (int k = 0; k < s->nworkers; k++)
                n += srv_load(&s->workers[k].metrics.diagnoses[v][c]);
            if (n)
                td_buf_addf(t, "tokendoctor_diagnoses_total{verdict=\"%s\",cause=\"%s\"} %llu\n",
                            diag_verdict_name((diag_verdict)v), diag_cause_name((diag_cause)c),
                            (unsigned long long)n);
        }
}

/* What the report says of the log's writes: failing (then the fault's text follows), working
 * again since the last report, or nothing. */
static const char *srv_fault_phrase(const srv_server *s, tdb_fault now) {
    if (now != TDB_FAULT_NONE)
        return "; writes fail: ";
    return s->reported_fault != TDB_FAULT_NONE ? "; writes work again" : "";
}

void srv_log_report(srv_server *s, int64_t now_s) {
    if (!s->log || now_s - s->reported_at < SRV_LOG_REPORT_INTERVAL_S)
        return;
    tdb_log_stats st;
    tdb_log_health h;
    tdb_log_snapshot(s->log, &st, &h);
    if (st.dropped == s->reported_drops && h.fault == s->reported_fault)
        return;
    fprintf(stderr,
            "tokendoctor: diagnosis log: %llu entries not logged since the last report (%llu "
            "in all: at its bound %llu, write failed %llu, queue full %llu)%s%s\n",
            (unsigned long long)(st.dropped - s->reported_drops), (unsigned long long)st.dropped,
            (unsigned long long)h.dropped_bound, (unsigned long long)h.dropped_failed,
            (unsigned long long)h.dropped_queue, srv_fault_phrase(s, h.fault),
            tdb_fault_text(h.fault));
    s->reported_drops = st.dropped;
    s->reported_fault = h.fault;
    s->reported_at = now_s;
}

/* The diagnosis log: its queue, what it wrote and dropped (and why), the rows deleted to stay
 * within the bound, and whether writes fail now (1) -- what an alert on a full disk or a flood of
 * anonymous diagnoses watches. Zero when the service keeps no log. */
static void srv_render_log(srv_server *s, td_buf *t) {
    tdb_log_stats ls = {0};
    tdb_log_health h = {0};
    if (s->log)
        tdb_log_snapshot(s->log, &ls, &h);
    td_buf_addf(t,
                "# HELP tokendoctor_diagnosis_log_queue_depth Diagnoses queued for the log, not "
                "yet written.\n# TYPE tokendoctor_diagnosis_log_queue_depth gauge\n"
                "tokendoctor_diagnosis_log_queue_depth %zu\n"
                "# HELP tokendoctor_diagnosis_log_queue_capacity Capacity of the diagnosis-log "
                "queue.\n# TYPE tokendoctor_diagnosis_log_queue_capacity gauge\n"
                "tokendoctor_diagnosis_log_queue_capacity %zu\n"
                "# HELP tokendoctor_diagnosis_log_dropped_total Diagnoses not logged (queue full "
                "or write failed).\n# TYPE tokendoctor_diagnosis_log_dropped_total counter\n"
                "tokendoctor_diagnosis_log_dropped_total %llu\n"
                "# HELP tokendoctor_diagnosis_log_written_total Diagnoses written to the log.\n"
                "# TYPE tokendoctor_diagnosis_log_written_total counter\n"
                "tokendoctor_diagnosis_log_written_total %llu\n",
                ls.depth, ls.capacity, (unsigned long long)ls.dropped,
                (unsigned long long)ls.written);
    td_buf_addf(t,
                "# HELP tokendoctor_diagnosis_log_dropped_by_reason_total Diagnoses not logged, by "
                "reason.\n# TYPE tokendoctor_diagnosis_log_dropped_by_reason_total counter\n"
                "tokendoctor_diagnosis_log_dropped_by_reason_total{reason=\"queue_full\"} %llu\n"
                "tokendoctor_diagnosis_log_dropped_by_reason_total{reason=\"at_bound\"} %llu\n"
                "tokendoctor_diagnosis_log_dropped_by_reason_total{reason=\"write_failed\"} %llu\n"
                "# HELP tokendoctor_diagnosis_log_trimmed_total Oldest log rows deleted to stay "
                "within the log's bound.\n# TYPE tokendoctor_diagnosis_log_trimmed_total counter\n"
                "tokendoctor_diagnosis_log_trimmed_total %llu\n"
                "# HELP tokendoctor_diagnosis_log_recovered_total Diagnoses counted as dropped "
                "(write failed) that a retry wrote after all.\n"
                "# TYPE tokendoctor_diagnosis_log_recovered_total counter\n"
                "tokendoctor_diagnosis_log_recovered_total %llu\n"
                "# HELP tokendoctor_diagnosis_log_write_failing 1 while the diagnosis log cannot "
                "write (disk full, database busy or gone).\n"
                "# TYPE tokendoctor_diagnosis_log_write_failing gauge\n"
                "tokendoctor_diagnosis_log_write_failing %d\n",
                (unsigned long long)h.dropped_queue, (unsigned long long)h.dropped_bound,
                (unsigned long long)h.dropped_failed, (unsigned long long)h.trimmed,
                (unsigned long long)h.recovered, h.fault != TDB_FAULT_NONE);
}

static void srv_render_process(srv_server *s, td_buf *t) {
    srv_render_log(s, t);
    uint64_t hits = 0, misses = 0;
    for (int k = 0; k < s->nworkers; k++) {
        hits += srv_load(&s->workers[k].metrics.cache_hits);
        misses += srv_load(&s->workers[k].metrics.cache_misses);
    }
    td_buf_addf(t,
                "# HELP tokendoctor_project_cache_lookups_total Project-cache lookups, by result.\n"
                "# TYPE tokendoctor_project_cache_lookups_total counter\n"
                "tokendoctor_project_cache_lookups_total{result=\"hit\"} %llu\n"
                "tokendoctor_project_cache_lookups_total{result=\"miss\"} %llu\n",
                (unsigned long long)hits, (unsigned long long)misses);
    td_buf_addf(t,
                "# HELP tokendoctor_build_info Version of the running service.\n"
                "# TYPE tokendoctor_build_info gauge\n"
                "tokendoctor_build_info{version=\"%s\",schema=\"%d\"} 1\n"
                "# HELP tokendoctor_worker_threads Worker threads serving HTTP.\n"
                "# TYPE tokendoctor_worker_threads gauge\n"
                "tokendoctor_worker_threads %d\n"
                "# HELP tokendoctor_start_time_seconds Unix time the service started.\n"
                "# TYPE tokendoctor_start_time_seconds gauge\n"
                "tokendoctor_start_time_seconds %lld\n",
                TD_VERSION, TDB_SCHEMA_VERSION, s->nworkers, (long long)s->started_at);
}

/* ---- process_* ---------------------------------------------------------------------------- */

/* What /proc/self/stat says about this process. */
typedef struct {
    unsigned long long utime, stime; /* clock ticks */
    unsigned long long starttime;    /* clock ticks after boot */
    unsigned long long vsize;        /* bytes */
    long long rss;                   /* pages */
} srv_proc_stat;

/* Reads a small /proc file into buf (NUL-terminated); false when it cannot be read. */
static bool srv_read_proc(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

static bool srv_proc_self_stat(srv_proc_stat *st) {
    char buf[1024];
    if (!srv_read_proc("/proc/self/stat", buf, sizeof buf))
        return false;
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
     * from the last ')'. After it: state is field 3 of proc(5); utime 14, stime 15, starttime 22,
     * vsize 23, rss 24. */
    const char *p = strrchr(buf, ')');
    return p && sscanf(p + 1,
                       " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                       "%*d %*d %llu %llu %lld",
                       &st->utime, &st->stime, &st->starttime, &st->vsize, &st->rss) == 5;
}

/* The boot time (Unix seconds) from /proc/stat's "btime" line; 0 when unknown. Read a piece
 * at a time: the lines before it (per-CPU times, the interrupt counts) can be many kilobytes. */
static long long srv_boot_time(void) {
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    char piece[256];
    long long boot = 0;
    bool line_start = true;
    while (!boot && fgets(piece, sizeof piece, f)) {
        if (line_start && strncmp(piece, "btime ", 6) == 0)
            boot = atoll(piece + 6);
        line_start = strchr(piece, '\n') != NULL;
    }
    fclose(f);
    return boot;
}

/* Open descriptors: the entries of /proc/self/fd but the one reading it; -1 when unknown. */
static long srv_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    int own = dirfd(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != own)
            n++;
    closedir(d);
    return n;
}

static void srv_render_process_std(td_buf *t) {
    srv_proc_stat st;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (ticks > 0 && page > 0 && srv_proc_self_stat(&st)) {
        td_buf_addf(t,
                    "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
                    "seconds.\n# TYPE process_cpu_seconds_total counter\n"
                    "process_cpu_seconds_total %.2f\n"
                    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                    "# TYPE process_resident_memory_bytes gauge\n"
                    "process_resident_memory_bytes %lld\n"
                    "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                    "# TYPE process_virtual_memory_bytes gauge\n"
                    "process_virtual_memory_bytes %llu\n",
                    (double)(st.utime + st.stime) / (double)ticks, st.rss * (long long)page,
                    st.vsize);
        long long boot = srv_boot_time();
        if (boot > 0)
            td_buf_addf(t,
                        "# HELP process_start_time_seconds Start time of the process since unix "
                        "epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds %.2f\n",
                        (double)boot + (double)st.starttime / (double)ticks);
    }
    long fds = srv_open_fds();
    if (fds >= 0)
        td_buf_addf(t,
                    "# HELP process_open_fds Number of open file descriptors.\n"
                    "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                    fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        td_buf_addf(t,
                    "# HELP process_max_fds Maximum number of open file descriptors.\n"
                    "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                    (unsigned long long)rl.rlim_cur);
}

char *srv_metrics_render(srv_server *s, size_t *len) {
    td_buf t;
    td_buf_init(&t, SRV_METRICS_MAX);
    srv_render_requests(s, &t);
    srv_render_latency(s, &t);
    srv_render_diagnoses(s, &t);
    srv_conn_metrics_render(s, &t);
    srv_probes_metrics_render(s, &t);
    srv_render_process(s, &t);
    srv_render_process_std(&t);
    if (t.status != TD_BUF_OK) {
        td_buf_free(&t);
        return NULL;
    }
    return td_buf_take(&t, len);
}
