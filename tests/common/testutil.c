/* testutil.c -- see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The one piece of mutable state: a test program's running totals (atomic: threads check). */
static atomic_int tu_check_count;
static atomic_int tu_failure_count;

static bool tu_count(bool ok, const char *file, int line, const char *expr) {
    atomic_fetch_add(&tu_check_count, 1);
    if (!ok) {
        atomic_fetch_add(&tu_failure_count, 1);
        fprintf(stderr, "%s:%d: CHECK(%s) failed", file, line, expr);
    }
    return ok;
}

bool tu_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    if (tu_count(ok, file, line, expr))
        return true;
    fputs(": ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return false;
}

bool tu_expect(bool ok, const char *file, int line, const char *expr) {
    if (tu_count(ok, file, line, expr))
        return true;
    fputc('\n', stderr);
    return false;
}

int tu_checks(void) {
    return atomic_load(&tu_check_count);
}

int tu_failures(void) {
    return atomic_load(&tu_failure_count);
}

int tu_report(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tu_checks(), tu_failures());
    return tu_failures() == 0 ? 0 : 1;
}

int tu_run_tests(const tu_test *tests, size_t count, char **names, int n, const char *report_name) {
    int ran = 0;
    for (size_t i = 0; i < count; i++) {
        bool wanted = n == 0;
        for (int a = 0; a < n; a++)
            wanted = wanted || strcmp(names[a], tests[i].name) == 0;
        if (!wanted)
            continue;
        int before = tu_failures();
        tests[i].run();
        ran++;
        printf("%s %s\n", tu_failures() == before ? "ok  " : "FAIL", tests[i].name);
    }
    if (ran == 0) {
        fprintf(stderr, "no such test\n");
        return 2;
    }
    return tu_report(report_name);
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!buf || failed) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

bool tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

bool tu_file_contains(const char *path, const void *needle, size_t needle_len) {
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    bool found = buf && needle_len <= len && memmem(buf, len, needle, needle_len) != NULL;
    free(buf);
    return found;
}

json_t *tu_load_jsonl(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL, "cannot open %s: %s", path, strerror(errno)))
        return NULL;
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (all && getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        if (!CHECK(v != NULL, "%s:%d: not JSON: %s", path, lineno, e.text)) {
            json_decref(all);
            all = NULL;
        } else if (json_array_append_new(all, v) != 0) {
            json_decref(all);
            all = NULL;
        }
    }
    free(line);
    fclose(f);
    return all;
}

bool tu_lines_open(tu_lines *l, const char *dir, const char *name) {
    *l = (tu_lines){.lines = tu_load_jsonl(dir, name)};
    return l->lines != NULL;
}

bool tu_lines_next(tu_lines *l) {
    if (l->lines && l->index < json_array_size(l->lines)) {
        l->line = json_array_get(l->lines, l->index++);
        l->n++;
        return true;
    }
    json_decref(l->lines);
    l->lines = NULL;
    l->line = NULL;
    return false;
}

const char *tu_str(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

bool tu_mkdtemp(char *dir, size_t cap, const char *prefix) {
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    return n > 0 && (size_t)n < cap && mkdtemp(dir) != NULL;
}

static int tu_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

bool tu_rmtree(const char *dir) {
    return nftw(dir, tu_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

pid_t tu_spawn(const char *const *argv, const char *in_path, const char *out_path,
               const char *err_path) {
    fflush(NULL); /* nothing buffered is written twice by the child */
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

int tu_wait(pid_t pid) {
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (got != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- A test's start ------------------------------------------------------------------------ */

char **tu_args(int argc, char **argv, int n, const char *names) {
    if (argc != n + 1) {
        fprintf(stderr, "usage: %s %s\n", argv[0], names);
        exit(2);
    }
    return argv + 1;
}

const char *tu_vectors_dir(int argc, char **argv) {
    return tu_args(argc, argv, 1, "VECTORS_DIR")[0];
}

td_ctx *tu_ctx(void) {
    td_ctx *ctx = td_ctx_new();
    if (!CHECK(ctx != NULL, "td_ctx_new"))
        exit(1);
    return ctx;
}
