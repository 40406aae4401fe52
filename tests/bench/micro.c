/* micro.c -- the micro-benchmark of the hot path: one token decode + verify, against its floor.
 *
 * Design
 * ------
 * What a 007 decode + verify cannot avoid is the cryptography and the decompression: three
 * HMAC-SHA256 computations (k1 over the certificate, k2 over k1, the signature over the signing
 * info) and one inflate of the content. The FLOOR is exactly that, done as cheaply as mbedTLS and
 * zlib allow: one kept, pre-set-up mbedtls_md context (mbedtls_md_setup once, then only
 * hmac_starts / update / finish) and one z_stream that is reset, never re-created, working on the
 * same bytes as the token under test. For 006 the floor is the one HMAC over
 * app_id + channel + uid + m. The figure that matters is the ratio "tokendoctor / floor" measured
 * in the same run on the same tokens, since the absolute times on a shared machine move with the
 * load; the target is <= 1.3x for 007.
 *
 * Tokens are built with the core's own td_build007 / td_build006 from a pool of distinct inputs
 * (different salts, channels and uids), and every timed loop cycles through the pool, so no
 * branch predictor or cache sees the same token twice in a row. Before timing, every result is
 * checked: tokendoctor must decode and verify each token, and the floor must reproduce each
 * token's signature byte for byte -- a floor that skipped work would make every ratio a lie.
 *
 * Timing: clock_gettime(CLOCK_MONOTONIC) around a loop calibrated to ~CALIBRATE_NS. Each case
 * and its floor are timed in alternating runs (RUNS of each); the medians of both and the median
 * of the per-run ratios are reported (robust to the other processes of a shared machine).
 *
 * Besides the two headline pairs it reports the parts (decode alone, verify alone, mbedTLS's own
 * base64 decoder, one-shot mbedtls_md_hmac that sets up a context per call) so that a reader can
 * see where the time goes, and a sweep over the number of services in a 007 token.
 *
 * Output: a table for people, then one line "MICROJSON {...}" for run.sh.
 * Usage: micro [--quick]
 */
#define _POSIX_C_SOURCE 200809L

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "tdcore.h"

#define POOL 64         /* distinct tokens per measured case */
#define RUNS_DEFAULT 21 /* timed runs per case; the median is reported */
#define MAX_RUNS 64
#define CALIBRATE_NS 30000000 /* aim for ~30 ms per timed run */
#define TEXT_CAP 8192
#define SWEEP_MAX 16

static const char APP_ID[] = "970ca35de60c44645bbae8a215061b33";
static const char CERT[] = "5cfd2fd1755d40ecb72977518be15d3b";

/* ---- timing --------------------------------------------------------------------------- */

static int64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void) {
    return clock_ns(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*bench_fn)(void *state, size_t iterations);

/* Iterations of fn that take about CALIBRATE_NS. */
static size_t calibrate(bench_fn fn, void *state) {
    size_t n = 64;
    for (;;) {
        int64_t t0 = now_ns();
        fn(state, n);
        int64_t dt = now_ns() - t0;
        if (dt >= CALIBRATE_NS / 4 || n > ((size_t)1 << 30)) {
            double per = (double)dt / (double)n;
            return (size_t)((double)CALIBRATE_NS / (per > 0.1 ? per : 0.1)) + 1;
        }
        n *= 4;
    }
}

/* Wall (CLOCK_MONOTONIC) nanoseconds per iteration; *cpu receives the thread's CPU nanoseconds
 * per iteration over the same run, which leaves out the time other processes had the core. */
static double time_ns(bench_fn fn, void *state, size_t n, double *cpu) {
    int64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t t0 = now_ns();
    fn(state, n);
    int64_t t1 = now_ns();
    *cpu = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)n;
    return (double)(t1 - t0) / (double)n;
}

static double median_of(double *v, int count) {
    qsort(v, (size_t)count, sizeof v[0], cmp_double);
    return count % 2 ? v[count / 2] : (v[count / 2 - 1] + v[count / 2]) / 2;
}

/* A measured pair: the medians of both sides and the median of their per-run ratios, in wall
 * time (the figure reported) and in thread CPU time (a cross-check on a busy machine). */
typedef struct {
    double a_ns;
    double b_ns;
    double ratio;
    double ratio_cpu;
} pair_result;

/* Times a and b in alternating runs (a b, b a, a b, ...), so that a change of the machine's load
 * during the measurement hits both sides alike; the ratio of each run pair is kept and their
 * median reported -- on a shared machine that ratio is far steadier than either time. */
static pair_result measure_pair(bench_fn a, bench_fn b, void *state, int runs) {
    size_t na = calibrate(a, state), nb = calibrate(b, state);
    double ta[MAX_RUNS], tb[MAX_RUNS], ratio[MAX_RUNS], ratio_cpu[MAX_RUNS], ca, cb;
    if (runs > MAX_RUNS)
        runs = MAX_RUNS;
    for (int r = 0; r < runs; r++) {
        if (r % 2 == 0) {
            ta[r] = time_ns(a, state, na, &ca);
            tb[r] = time_ns(b, state, nb, &cb);
        } else {
            tb[r] = time_ns(b, state, nb, &cb);
            ta[r] = time_ns(a, state, na, &ca);
        }
        ratio[r] = ta[r] / tb[r];
        ratio_cpu[r] = ca / cb;
    }
    return (pair_result){median_of(ta, runs), median_of(tb, runs), median_of(ratio, runs),
                         median_of(ratio_cpu, runs)};
}

/* Median nanoseconds per iteration of fn alone. */
static double measure_ns(bench_fn fn, void *state, int runs) {
    size_t n = calibrate(fn, state);
    double t[MAX_RUNS], cpu;
    if (runs > MAX_RUNS)
        runs = MAX_RUNS;
    for (int r = 0; r < runs; r++)
        t[r] = time_ns(fn, state, n, &cpu);
    return median_of(t, runs);
}

/* ---- the tokens under test ------------------------------------------------------------- */

/* One token and what the floor needs to redo its unavoidable work. */
typedef struct {
    char text[TEXT_CAP];
    size_t text_len;
    /* 007: the deflated bytes (base64-decoded outside the timing), the inflated size, and the
     * HMAC inputs; 006: the signed message parts. */
    unsigned char packed[TEXT_CAP];
    size_t packed_len;
    size_t content_len;
    uint32_t issue_ts;
    uint32_t salt;
    unsigned char signature[32];
    char channel[64];
    size_t channel_len;
    char uid[16];
    size_t uid_len;
} sample;

typedef struct {
    td_ctx *ctx;
    td_token *tok;           /* scratch decode target (large: heap) */
    sample *pool;            /* POOL samples */
    mbedtls_md_context_t md; /* the floor's kept HMAC context */
    z_stream zs;             /* the floor's kept inflate stream */
    unsigned char content[TD_CONTENT_MAX];
    unsigned char b64[TEXT_CAP];
    unsigned sink; /* results folded in so no loop can be optimised away */
    bool is006;
} bench;

static td_token *spec_new(void) {
    td_token *spec = calloc(1, sizeof *spec);
    if (!spec) {
        fprintf(stderr, "micro: out of memory\n");
        exit(70);
    }
    return spec;
}

/* A 007 token with `services` rtc services (distinct channels), as the vendor builds them. */
static bool make007(bench *b, sample *s, int index, int services) {
    td_token *spec = spec_new();
    memcpy(spec->version, "007", 4);
    spec->app_id = (td_str){APP_ID, 32};
    spec->issue_ts = 1763800000u - (uint32_t)index;
    spec->expire = 86400;
    spec->salt = 1000003u * (uint32_t)(index + 1) % 99999999u + 1;
    s->channel_len = (size_t)snprintf(s->channel, sizeof s->channel, "room-%d-bench", index);
    s->uid_len = (size_t)snprintf(s->uid, sizeof s->uid, "%u", 100000u + (unsigned)index * 7u);
    char channels[SWEEP_MAX][32];
    for (int k = 0; k < services && k < SWEEP_MAX; k++) {
        td_service *svc = &spec->services[k];
        size_t len =
            k == 0 ? s->channel_len
                   : (size_t)snprintf(channels[k], sizeof channels[k], "extra-%d-%d", k, index);
        svc->type = TD_SVC_RTC;
        svc->known = true;
        svc->a = (td_str){k == 0 ? s->channel : channels[k], len};
        svc->b = (td_str){s->uid, s->uid_len};
        svc->first_privilege = spec->privilege_total;
        svc->privilege_count = 4;
        for (uint16_t id = 1; id <= 4; id++)
            spec->privileges[spec->privilege_total++] = (td_privilege){id, 86400};
        spec->service_count++;
    }
    s->text_len = td_build007(b->ctx, spec, CERT, 32, s->text, sizeof s->text);
    s->issue_ts = spec->issue_ts;
    s->salt = spec->salt;
    free(spec);
    if (s->text_len == 0)
        return false;
    /* What the floor starts from: the deflated bytes (base64 is not part of the floor). */
    if (mbedtls_base64_decode(s->packed, sizeof s->packed, &s->packed_len,
                              (const unsigned char *)s->text + 3, s->text_len - 3) != 0)
        return false;
    if (td_decode(b->ctx, s->text, s->text_len, b->tok) != TD_OK || b->tok->signature.len != 32)
        return false;
    s->content_len = b->tok->content_len;
    memcpy(s->signature, b->tok->signature.ptr, 32);
    return true;
}

static bool make006(bench *b, sample *s, int index) {
    td_token *spec = spec_new();
    memcpy(spec->version, "006", 4);
    spec->app_id = (td_str){APP_ID, 32};
    spec->salt = 1000003u * (uint32_t)(index + 1) % 99999999u + 1;
    spec->ts = 1763886400u + (uint32_t)index;
    spec->first_privilege_006 = 0;
    spec->privilege_count_006 = 4;
    for (uint16_t id = 1; id <= 4; id++)
        spec->privileges[spec->privilege_total++] = (td_privilege){id, spec->ts};
    s->channel_len = (size_t)snprintf(s->channel, sizeof s->channel, "room-%d-bench", index);
    s->uid_len = (size_t)snprintf(s->uid, sizeof s->uid, "%u", 100000u + (unsigned)index * 7u);
    s->text_len = td_build006(b->ctx, spec, CERT, 32, s->channel, s->channel_len, s->uid,
                              s->uid_len, s->text, sizeof s->text);
    free(spec);
    if (s->text_len == 0 || td_decode(b->ctx, s->text, s->text_len, b->tok) != TD_OK ||
        b->tok->signature.len != 32)
        return false;
    /* The floor signs app_id + channel + uid + m: keep m (it lives in the decoded content). */
    memcpy(s->packed, b->tok->signed_part.ptr, b->tok->signed_part.len);
    s->packed_len = b->tok->signed_part.len;
    memcpy(s->signature, b->tok->signature.ptr, 32);
    return true;
}

/* ---- the measured loops ----------------------------------------------------------------- */

static void run_td007(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        td_status st = td_decode(b->ctx, s->text, s->text_len, b->tok);
        b->sink += (unsigned)st + (unsigned)td_verify007(b->ctx, b->tok, CERT, 32);
    }
}

static void run_td006(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        td_status st = td_decode(b->ctx, s->text, s->text_len, b->tok);
        b->sink += (unsigned)st + (unsigned)td_verify006(b->ctx, b->tok, CERT, 32, s->channel,
                                                         s->channel_len, s->uid, s->uid_len);
    }
}

static void run_decode_only(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        b->sink += (unsigned)td_decode(b->ctx, s->text, s->text_len, b->tok);
    }
}

/* Verify alone: decode every pool token once, then verify the last one decoded repeatedly --
 * the HMAC inputs have the same size for every token of a pool. */
static void run_verify007_only(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++)
        b->sink += (unsigned)td_verify007(b->ctx, b->tok, CERT, 32);
}

static void hmac_kept(mbedtls_md_context_t *md, const void *key, size_t key_len, const void *msg,
                      size_t msg_len, unsigned char out[32]) {
    mbedtls_md_hmac_starts(md, key, key_len);
    mbedtls_md_hmac_update(md, msg, msg_len);
    mbedtls_md_hmac_finish(md, out);
}

static size_t inflate_kept(z_stream *zs, const unsigned char *in, size_t in_len, unsigned char *out,
                           size_t out_cap) {
    inflateReset(zs);
    zs->next_in = (unsigned char *)in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = out;
    zs->avail_out = (uInt)out_cap;
    inflate(zs, Z_FINISH);
    return out_cap - zs->avail_out;
}

/* The 007 floor for one sample: inflate + the three HMACs; returns the signature check. */
static bool floor007_one(bench *b, const sample *s) {
    size_t len = inflate_kept(&b->zs, s->packed, s->packed_len, b->content, sizeof b->content);
    /* content = uint16 sig_len, signature, signing_info (trusted here: built above). */
    size_t sig_len = (size_t)b->content[0] | (size_t)b->content[1] << 8;
    const unsigned char *info = b->content + 2 + sig_len;
    size_t info_len = len - 2 - sig_len;
    unsigned char ts_le[4] = {(unsigned char)s->issue_ts, (unsigned char)(s->issue_ts >> 8),
                              (unsigned char)(s->issue_ts >> 16),
                              (unsigned char)(s->issue_ts >> 24)};
    unsigned char salt_le[4] = {(unsigned char)s->salt, (unsigned char)(s->salt >> 8),
                                (unsigned char)(s->salt >> 16), (unsigned char)(s->salt >> 24)};
    unsigned char k1[32], k2[32], sig[32];
    hmac_kept(&b->md, ts_le, 4, CERT, 32, k1);
    hmac_kept(&b->md, salt_le, 4, k1, 32, k2);
    hmac_kept(&b->md, k2, 32, info, info_len, sig);
    return memcmp(sig, s->signature, 32) == 0;
}

static void run_floor007(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++)
        b->sink += (unsigned)floor007_one(b, &b->pool[i % POOL]);
}

static bool floor006_one(bench *b, const sample *s) {
    unsigned char sig[32];
    mbedtls_md_hmac_starts(&b->md, (const unsigned char *)CERT, 32);
    mbedtls_md_hmac_update(&b->md, (const unsigned char *)APP_ID, 32);
    mbedtls_md_hmac_update(&b->md, (const unsigned char *)s->channel, s->channel_len);
    mbedtls_md_hmac_update(&b->md, (const unsigned char *)s->uid, s->uid_len);
    mbedtls_md_hmac_update(&b->md, s->packed, s->packed_len);
    mbedtls_md_hmac_finish(&b->md, sig);
    return memcmp(sig, s->signature, 32) == 0;
}

static void run_floor006(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++)
        b->sink += (unsigned)floor006_one(b, &b->pool[i % POOL]);
}

/* Reference points, not floors: what the prototype of issue 6 did. */
static void run_hmac_oneshot3(void *state, size_t n) {
    bench *b = state;
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    unsigned char k[32];
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        mbedtls_md_hmac(sha, (const unsigned char *)"abcd", 4, (const unsigned char *)CERT, 32, k);
        mbedtls_md_hmac(sha, (const unsigned char *)"efgh", 4, k, 32, k);
        mbedtls_md_hmac(sha, k, 32, b->content, s->content_len - 34, k);
        b->sink += k[0];
    }
}

static void run_hmac_kept3(void *state, size_t n) {
    bench *b = state;
    unsigned char k[32];
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        hmac_kept(&b->md, "abcd", 4, CERT, 32, k);
        hmac_kept(&b->md, "efgh", 4, k, 32, k);
        hmac_kept(&b->md, k, 32, b->content, s->content_len - 34, k);
        b->sink += k[0];
    }
}

static void run_inflate_only(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        b->sink +=
            (unsigned)inflate_kept(&b->zs, s->packed, s->packed_len, b->content, sizeof b->content);
    }
}

static void run_mbedtls_base64(void *state, size_t n) {
    bench *b = state;
    for (size_t i = 0; i < n; i++) {
        const sample *s = &b->pool[i % POOL];
        size_t olen = 0;
        mbedtls_base64_decode(b->b64, sizeof b->b64, &olen, (const unsigned char *)s->text + 3,
                              s->text_len - 3);
        b->sink += (unsigned)olen;
    }
}

/* ---- setup and checks --------------------------------------------------------------------- */

static bool pool_fill(bench *b, bool is006, int services) {
    b->is006 = is006;
    for (int i = 0; i < POOL; i++) {
        sample *s = &b->pool[i];
        if (!(is006 ? make006(b, s, i) : make007(b, s, i, services)))
            return false;
    }
    return true;
}

/* Every result checked once before anything is timed. */
static bool pool_check(bench *b) {
    for (int i = 0; i < POOL; i++) {
        const sample *s = &b->pool[i];
        if (td_decode(b->ctx, s->text, s->text_len, b->tok) != TD_OK)
            return fprintf(stderr, "micro: tokendoctor did not decode token %d\n", i), false;
        bool ok = b->is006 ? td_verify006(b->ctx, b->tok, CERT, 32, s->channel, s->channel_len,
                                          s->uid, s->uid_len)
                           : td_verify007(b->ctx, b->tok, CERT, 32);
        if (!ok)
            return fprintf(stderr, "micro: tokendoctor did not verify token %d\n", i), false;
        if (!(b->is006 ? floor006_one(b, s) : floor007_one(b, s)))
            return fprintf(stderr, "micro: the floor did not reproduce signature %d\n", i), false;
    }
    return true;
}

static bool bench_init(bench *b) {
    memset(b, 0, sizeof *b);
    b->ctx = td_ctx_new();
    b->tok = malloc(sizeof *b->tok);
    b->pool = calloc(POOL, sizeof *b->pool);
    mbedtls_md_init(&b->md);
    if (!b->ctx || !b->tok || !b->pool ||
        mbedtls_md_setup(&b->md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) != 0 ||
        inflateInit(&b->zs) != Z_OK)
        return false;
    return true;
}

static void bench_free(bench *b) {
    inflateEnd(&b->zs);
    mbedtls_md_free(&b->md);
    free(b->pool);
    free(b->tok);
    td_ctx_free(b->ctx);
}

/* Fills the pools, measures every case and prints the report; false (nothing printed) when a
 * pool fails its check. */
static bool measure(bench *b, int runs) {
    if (!pool_fill(b, false, 1) || !pool_check(b))
        return false;
    size_t len007 = b->pool[0].text_len, content007 = b->pool[0].content_len;
    pair_result m007 = measure_pair(run_td007, run_floor007, b, runs);
    double dec007 = measure_ns(run_decode_only, b, runs);
    double ver007 = measure_ns(run_verify007_only, b, runs);
    double infl = measure_ns(run_inflate_only, b, runs);
    double b64 = measure_ns(run_mbedtls_base64, b, runs);
    double kept3 = measure_ns(run_hmac_kept3, b, runs);
    double oneshot3 = measure_ns(run_hmac_oneshot3, b, runs);

    int sweep_n[] = {1, 2, 4, 8, 16};
    pair_result sweep[5];
    size_t sweep_len[5];
    for (int k = 0; k < 5; k++) {
        if (!pool_fill(b, false, sweep_n[k]) || !pool_check(b))
            return false;
        sweep_len[k] = b->pool[0].text_len;
        sweep[k] = measure_pair(run_td007, run_floor007, b, runs);
    }

    if (!pool_fill(b, true, 1) || !pool_check(b))
        return false;
    size_t len006 = b->pool[0].text_len;
    pair_result m006 = measure_pair(run_td006, run_floor006, b, runs);

    printf("micro-benchmark: median of %d alternating runs, ~%d ms each, %d distinct tokens per "
           "case\n",
           runs, CALIBRATE_NS / 1000000, POOL);
    printf("  %-46s %9s %9s %7s %9s\n", "case", "td (us)", "floor", "ratio", "cpu ratio");
    printf("  007 decode+verify (%4zu chars, %3zu B content)  %9.3f %9.3f %6.2fx %8.2fx\n", len007,
           content007, m007.a_ns / 1e3, m007.b_ns / 1e3, m007.ratio, m007.ratio_cpu);
    printf("  006 decode+verify (%4zu chars)                  %9.3f %9.3f %6.2fx %8.2fx\n", len006,
           m006.a_ns / 1e3, m006.b_ns / 1e3, m006.ratio, m006.ratio_cpu);
    printf("  parts of 007: td_decode %.3f us, td_verify007 %.3f us; inflate %.3f us,\n"
           "    3 HMACs with a kept context %.3f us, 3 one-shot mbedtls_md_hmac %.3f us,\n"
           "    mbedtls_base64_decode of the token %.3f us\n",
           dec007 / 1e3, ver007 / 1e3, infl / 1e3, kept3 / 1e3, oneshot3 / 1e3, b64 / 1e3);
    printf("  007 by number of rtc services:\n");
    for (int k = 0; k < 5; k++)
        printf("    %2d services (%4zu chars)  td %7.3f us  floor %7.3f us  ratio %5.2fx  cpu "
               "%5.2fx\n",
               sweep_n[k], sweep_len[k], sweep[k].a_ns / 1e3, sweep[k].b_ns / 1e3, sweep[k].ratio,
               sweep[k].ratio_cpu);

    printf(
        "MICROJSON {\"runs\": %d, \"td007_us\": %.4f, \"floor007_us\": %.4f, \"ratio007\": %.4f, "
        "\"ratio007_cpu\": %.4f, \"td006_us\": %.4f, \"floor006_us\": %.4f, \"ratio006\": %.4f, "
        "\"ratio006_cpu\": %.4f, \"len007\": %zu, "
        "\"content007\": %zu, \"len006\": %zu, \"decode007_us\": %.4f, \"verify007_us\": %.4f, "
        "\"inflate_us\": %.4f, \"hmac3_kept_us\": %.4f, \"hmac3_oneshot_us\": %.4f, "
        "\"mbedtls_base64_us\": %.4f, \"services\": [",
        runs, m007.a_ns / 1e3, m007.b_ns / 1e3, m007.ratio, m007.ratio_cpu, m006.a_ns / 1e3,
        m006.b_ns / 1e3, m006.ratio, m006.ratio_cpu, len007, content007, len006, dec007 / 1e3,
        ver007 / 1e3, infl / 1e3, kept3 / 1e3, oneshot3 / 1e3, b64 / 1e3);
    for (int k = 0; k < 5; k++)
        printf(
            "%s{\"n\": %d, \"chars\": %zu, \"td_us\": %.4f, \"floor_us\": %.4f, \"ratio\": %.4f, "
            "\"ratio_cpu\": %.4f}",
            k ? ", " : "", sweep_n[k], sweep_len[k], sweep[k].a_ns / 1e3, sweep[k].b_ns / 1e3,
            sweep[k].ratio, sweep[k].ratio_cpu);
    printf("], \"sink\": %u}\n", b->sink);
    return true;
}

int main(int argc, char **argv) {
    int runs = RUNS_DEFAULT;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0)
        runs = 3;
    else if (argc > 1) {
        fprintf(stderr, "usage: micro [--quick]\n");
        return 64;
    }
    bench *b = malloc(sizeof *b);
    if (!b || !bench_init(b)) {
        fprintf(stderr, "micro: setup failed\n");
        free(b);
        return 70;
    }
    int status = measure(b, runs) ? 0 : 1;
    if (status != 0)
        fprintf(stderr, "micro: a check failed; nothing was measured\n");
    bench_free(b);
    free(b);
    return status;
}
