/* tsrv.c -- see tsrv.h. */
#include "tsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *tsrv_transcript;
size_t tsrv_transcript_len;
static pthread_mutex_t tsrv_transcript_lock = PTHREAD_MUTEX_INITIALIZER;

void tsrv_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int tsrv_run_count;

/* The first start's admin key: printed on stdout, or in the file the message there names
 * ("... wrote it to PATH\n"). */
static void tsrv_read_admin_key(tsrv_proc *p, const char *out) {
    char *o = tu_read_file(out, NULL);
    const char *k = o ? strstr(o, "tdk_") : NULL;
    char *from_file = NULL;
    const char *f = o ? strstr(o, "wrote it to ") : NULL;
    if (!k && f) {
        f += strlen("wrote it to ");
        snprintf(p->admin_key_file, sizeof p->admin_key_file, "%.*s", (int)strcspn(f, "\n"), f);
        from_file = tu_read_file(p->admin_key_file, NULL);
        k = from_file && strncmp(from_file, "tdk_", 4) == 0 ? from_file : NULL;
    }
    if (k) {
        size_t klen = strspn(k + 4, "0123456789abcdef") + 4;
        if (klen < sizeof p->admin_key)
            snprintf(p->admin_key, sizeof p->admin_key, "%.*s", (int)klen, k);
    }
    free(from_file);
    free(o);
}

bool tsrv_start(tsrv_proc *p, const char *bin, const char *dir, const char *const *extra) {
    return tsrv_start_out(p, bin, dir, extra, NULL);
}

bool tsrv_start_out(tsrv_proc *p, const char *bin, const char *dir, const char *const *extra,
                    const char *stdout_path) {
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->db, sizeof p->db, "%s/t.db", dir);
    char port_file[320], alog[320];
    const char *err = p->err, *out = p->out;
    int run = ++tsrv_run_count;
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(p->out, sizeof p->out, "%s", stdout_path ? stdout_path : "");
    if (!stdout_path)
        snprintf(p->out, sizeof p->out, "%s/out-%d.txt", dir, run);
    snprintf(p->err, sizeof p->err, "%s/err-%d.txt", dir, run);
    snprintf(alog, sizeof alog, "%s/access.log", dir);
    unlink(port_file);
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    argv[n++] = "--db";
    argv[n++] = p->db;
    argv[n++] = "--access-log";
    argv[n++] = alog;
    /* The tests send thousands of diagnoses from one address; a test of the limit passes its
     * own --rate-limit (the last one given wins). */
    argv[n++] = "--rate-limit";
    argv[n++] = "0";
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = tu_spawn(argv, NULL, out, err);
    if (pid < 0)
        return false;
    p->pid = pid;
    /* Wait until it listens (or dies): the port file appears once the socket is bound. */
    for (int i = 0; i < 3000; i++) {
        size_t len;
        char *txt = tu_read_file(port_file, &len);
        if (txt) {
            p->port = atoi(txt);
            free(txt);
            if (p->port > 0)
                break;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "tsrv: the service exited at start (status %d); see %s\n",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, err);
            p->pid = 0;
            return false;
        }
        tsrv_sleep_ms(10);
    }
    if (p->port <= 0) {
        tsrv_stop(p, SIGKILL);
        return false;
    }
    if (!stdout_path)
        tsrv_read_admin_key(p, out);
    return true;
}

bool tsrv_wait_stderr(const tsrv_proc *p, const char *needle, int timeout_s) {
    for (int i = 0; i < timeout_s * 100; i++) {
        char *txt = tu_read_file(p->err, NULL);
        bool found = txt && strstr(txt, needle);
        free(txt);
        if (found)
            return true;
        /* exited (WNOWAIT: left for tsrv_stop to reap): the line will not come */
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (p->pid <= 0 || waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != 0)
            return false;
        tsrv_sleep_ms(10);
    }
    return false;
}

int tsrv_stop(tsrv_proc *p, int sig) {
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int status = tu_wait(p->pid);
    p->pid = 0;
    return status;
}

/* ---- Client ---------------------------------------------------------------------------------- */

bool tsrv_connect(tsrv_conn *c, int port) {
    c->port = port;
    c->rest_len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A safety net against a hung service, not a timing assertion. */
    struct timeval tv = {60, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

void tsrv_close(tsrv_conn *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rest_len = 0;
}

static bool tsrv_send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

bool tsrv_header(const tsrv_resp *r, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    const char *p = r->headers;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(len - (size_t)(v - p)), v);
            return true;
        }
        if (!eol)
            break;
        p = eol + 2;
    }
    return false;
}

/* Reads the response: status line and headers, then Content-Length bytes (none for HEAD, 204),
 * starting with what the last read kept; what it reads past them is kept for the next. */
static bool tsrv_read_response(tsrv_conn *c, bool head, tsrv_resp *out) {
    size_t cap = TSRV_HEAD_MAX, n = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    if (buf) {
        memcpy(buf, c->rest, c->rest_len);
        n = c->rest_len;
        c->rest_len = 0;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    while (buf && !end) {
        if (n == cap) {
            free(buf);
            return false; /* headers over 16 KiB */
        }
        ssize_t r = recv(c->fd, buf + n, cap - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return false;
        }
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!buf)
        return false;
    size_t hlen = (size_t)(end - buf);
    if (sscanf(buf, "HTTP/1.1 %d", &out->status) != 1) {
        free(buf);
        return false;
    }
    const char *first = strstr(buf, "\r\n");
    ptrdiff_t hl = end - (first + 2);
    snprintf(out->headers, sizeof out->headers, "%.*s", hl > 0 ? (int)hl : 0, first + 2);
    char v[64];
    size_t clen = 0;
    if (tsrv_header(out, "Content-Length", v, sizeof v))
        clen = (size_t)strtoull(v, NULL, 10);
    if (head || out->status == 204 || out->status == 304)
        clen = 0;
    out->close = tsrv_header(out, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
    size_t have = n - (hlen + 4);
    out->body = malloc(clen + 1);
    if (!out->body) {
        free(buf);
        return false;
    }
    size_t take = have < clen ? have : clen;
    memcpy(out->body, end + 4, take);
    size_t got = take;
    c->rest_len = have - take; /* under TSRV_HEAD_MAX: buf held no more */
    memcpy(c->rest, end + 4 + take, c->rest_len);
    free(buf);
    while (got < clen) {
        ssize_t r = recv(c->fd, out->body + got, clen - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(out->body);
            out->body = NULL;
            return false;
        }
        got += (size_t)r;
    }
    out->body[clen] = '\0';
    out->body_len = clen;
    return true;
}

bool tsrv_request(tsrv_conn *c, const char *method, const char *path, const char *extra_headers,
                  const char *content_type, const char *body, size_t body_len, tsrv_resp *out) {
    memset(out, 0, sizeof *out);
    if (c->fd < 0 && !tsrv_connect(c, c->port))
        return false;
    char head[4096];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s", method, path,
                     c->port, extra_headers ? extra_headers : "");
    if (content_type)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", content_type);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    if (!tsrv_send_all(c->fd, head, (size_t)n) ||
        (body_len && !tsrv_send_all(c->fd, body, body_len)) ||
        !tsrv_read_response(c, strcmp(method, "HEAD") == 0, out)) {
        tsrv_close(c);
        return false;
    }
    if (out->close)
        tsrv_close(c);
    return true;
}

bool tsrv_read_reply(tsrv_conn *c, tsrv_resp *out) {
    memset(out, 0, sizeof *out);
    if (c->fd < 0 || !tsrv_read_response(c, false, out)) {
        tsrv_close(c);
        return false;
    }
    return true;
}

void tsrv_resp_free(tsrv_resp *r) {
    free(r->body);
    r->body = NULL;
}

static void tsrv_record(const char *body, size_t len) {
    pthread_mutex_lock(&tsrv_transcript_lock);
    char *grown = realloc(tsrv_transcript, tsrv_transcript_len + len + 2);
    if (grown) {
        tsrv_transcript = grown;
        memcpy(tsrv_transcript + tsrv_transcript_len, body, len);
        tsrv_transcript_len += len;
        tsrv_transcript[tsrv_transcript_len++] = '\n';
        tsrv_transcript[tsrv_transcript_len] = '\0';
    }
    pthread_mutex_unlock(&tsrv_transcript_lock);
}

int tsrv_call(int port, const char *method, const char *path, const char *key, const char *body,
              json_t **json, tsrv_resp *raw) {
    tsrv_conn c = {.fd = -1, .port = port};
    char auth[256] = "";
    if (key)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", key);
    tsrv_resp r;
    bool ok = tsrv_request(&c, method, path, auth, body ? "application/json" : NULL, body,
                           body ? strlen(body) : 0, &r);
    tsrv_close(&c);
    if (json)
        *json = NULL;
    if (!ok)
        return -1;
    tsrv_record(r.body, r.body_len);
    if (json && r.body_len)
        *json = json_loadb(r.body, r.body_len, 0, NULL);
    if (raw)
        *raw = r;
    else
        tsrv_resp_free(&r);
    return r.status;
}

int tsrv_connect_from(const char *src, int port, bool nonblocking) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {0}, to = {0};
    from.sin_family = to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

size_t tsrv_exchange(int fd, const void *req, size_t len, char *out, size_t cap, int quiet_ms,
                     bool *eof) {
    size_t got = 0;
    *eof = false;
    if (len && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        return 0;
    struct timeval tv = {quiet_ms / 1000, (quiet_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (got + 1 < cap) {
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            *eof = true;
            break;
        }
        if (n < 0)
            break; /* quiet for quiet_ms */
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

long long tsrv_sql_count(const char *path, const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* ---- A test program made of suites --------------------------------------------------------- */

enum { TSRV_DIRS_MAX = 8 };
static char tsrv_dirs[TSRV_DIRS_MAX][256];
static int tsrv_ndirs;

bool tsrv_make_dir(char *dir, size_t cap, const char *prefix) {
    if (!CHECK(tu_mkdtemp(dir, cap, prefix), "mkdtemp"))
        return false;
    if (tsrv_ndirs < TSRV_DIRS_MAX)
        snprintf(tsrv_dirs[tsrv_ndirs++], sizeof tsrv_dirs[0], "%s", dir);
    return true;
}

static void tsrv_clean_dirs(bool passed) {
    for (int i = 0; i < tsrv_ndirs; i++)
        if (!passed)
            fprintf(stderr, "kept for inspection: %s\n", tsrv_dirs[i]);
        else if (!tu_rmtree(tsrv_dirs[i]))
            fprintf(stderr, "could not remove %s\n", tsrv_dirs[i]);
}

int tsrv_run_suites(int argc, char **argv, const tsrv_suites *t) {
    if (argc != t->nargs + 2) {
        fprintf(stderr, "usage: %s\n", t->usage);
        return 2;
    }
    for (int i = 0; i < t->nargs; i++)
        *t->args[i] = argv[1 + i];
    signal(SIGPIPE, SIG_IGN);
    const char *name = argv[argc - 1];
    for (int i = 0; i < t->nsuites; i++)
        if (strcmp(name, t->suites[i].name) == 0) {
            t->suites[i].run();
            free(tsrv_transcript);
            tsrv_clean_dirs(tu_failures() == 0);
            return tu_report(name);
        }
    fprintf(stderr, "unknown suite %s\n", name);
    return 2;
}
