/* framing_test.c -- the framing tracker (srv_framing_feed, server/srv_framing.c) on its own.
 *
 * The service's integration tests (edge_test chunked) see what evhttp makes of the tracker's
 * output; this one checks the two properties a byte parser on a socket must have, for every
 * stream below: the output is what RFC 9112 section 7.1.1 allows evhttp to read (the chunk-size
 * lines bare, the rest unchanged, nothing after a fault but the line evhttp refuses), and it is
 * the same however the bytes are split between reads -- at every single point, and one byte at a
 * time -- and whether they are first followed in place (out == NULL, as srv_conn.c does) or not.
 */
#include "srv_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define HEAD "POST /v HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"

static const struct {
    const char *in, *out;
    bool fault;
} cases[] = {
    /* passed on unchanged: no chunks, or chunks without extensions */
    {"GET / HTTP/1.1\r\n\r\nPOST /v HTTP/1.1\r\nContent-Length: 3\r\n\r\n3\r\nGET / "
     "HTTP/1.1\r\n\r\n",
     NULL, false},
    {HEAD "2\r\nab\r\n0\r\n\r\n" HEAD "1\r\nc\r\n0\r\nX-T: 1\r\n\r\n", NULL, false},
    {HEAD "2\nab\n0\n\n", NULL, false},
    /* extensions: the size line is passed on bare */
    {HEAD "2;foo=bar\r\nab\r\n0\r\n\r\n", HEAD "2\r\nab\r\n0\r\n\r\n", false},
    {HEAD "0002 ; a = \"b \\\" ;c\" ;d;e=f\r\nab\r\n0;x\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
     HEAD "2\r\nab\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", false},
    {HEAD "7fffffffffffffff\r\n", HEAD "7fffffffffffffff\r\n", false},
    /* a body a Content-Length frames is not read as chunks, even when it looks like one */
    {"POST /v HTTP/1.1\r\nContent-Length: 8\r\n\r\n2;a=b\r\nGET / HTTP/1.1\r\n\r\n", NULL, false},
    /* faults: evhttp is given "x" and nothing after it */
    {HEAD "zz\r\nGET / HTTP/1.1\r\n\r\n", HEAD "x\r\n", true},
    {HEAD "8000000000000000\r\n", HEAD "x\r\n", true},
    {HEAD "\r\n2\r\nab\r\n", HEAD "x\r\n", true},
    {HEAD "2 \r\nab\r\n", HEAD "x\r\n", true},
    {HEAD "2;\r\nab\r\n", HEAD "x\r\n", true},
    {HEAD "2;a=\"b\r\nab\r\n", HEAD "x\r\n", true},
    {HEAD "2\r\nabc\r\n0\r\n\r\n", HEAD "2\r\nabx\r\n", true},
    {HEAD "2\r\nab\r\n0\r\nno colon\r\nGET / HTTP/1.1\r\n\r\n", HEAD "2\r\nab\r\n0\r\nno colon\r\n",
     true},
    /* heads it does not follow: everything passes unchanged from there on */
    {"POST /v HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2;a\r\n", NULL,
     false},
    {"POST /v HTTP/1.1\r\nX: a\r\n b\r\nTransfer-Encoding: chunked\r\n\r\n2;a\r\n", NULL, false},
    {"HEAD /v HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a\r\n", NULL, false},
    {"POST /v HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n2;a\r\n", NULL, false},
};

/* Feeds in[0, n) in pieces of at most step bytes (the first piece: first bytes), each first
 * followed in place when in_place, into out; returns the output's length. */
static size_t run(const char *in, size_t n, size_t first, size_t step, bool in_place, char *out,
                  srv_framing *f) {
    srv_framing_init(f);
    size_t o = 0;
    for (size_t at = 0; at < n;) {
        size_t len = at == 0 && first ? first : step;
        if (len > n - at)
            len = n - at;
        size_t same = in_place ? srv_framing_feed(f, in + at, len, NULL, NULL) : 0;
        memcpy(out + o, in + at, same);
        o += same;
        size_t got = 0;
        srv_framing_feed(f, in + at + same, len - same, out + o, &got);
        o += got;
        at += len;
    }
    return o;
}

/* Random streams of the pieces framing is made of: whatever they say, the output must not
 * depend on how the bytes are split. */
static void check_random_splits(void) {
    static const char *const pieces[] = {"POST /v HTTP/1.1\r\n",
                                         "GET / HTTP/1.1\r\n",
                                         "HEAD / HTTP/1.1\r\n",
                                         "Transfer-Encoding: chunked\r\n",
                                         "Content-Length: 3\r\n",
                                         "X: y\r\n",
                                         " fold\r\n",
                                         "\r\n",
                                         "\n",
                                         "2",
                                         "0",
                                         "ff",
                                         ";a",
                                         "=b",
                                         "=\"c\\\"d\"",
                                         " ",
                                         "\t",
                                         "ab",
                                         "z",
                                         ":",
                                         "\r",
                                         "fffffffffffffffff"};
    static char in[4096], whole[8192], split[8192];
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    bool same = true;
    for (int round = 0; round < 3000 && same; round++) {
        size_t n = 0;
        for (int k = 0; k < 40; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            const char *p = pieces[rng % (sizeof pieces / sizeof pieces[0])];
            memcpy(in + n, p, strlen(p));
            n += strlen(p);
        }
        srv_framing a, b;
        size_t wa = run(in, n, 0, n, false, whole, &a);
        size_t wb = run(in, n, (size_t)(rng % n) + 1, (size_t)(rng >> 32) % 7 + 1, true, split, &b);
        same = CHECK(wa == wb && memcmp(whole, split, wa) == 0 && a.fault == b.fault,
                     "random stream %d: the same output however it is split", round);
    }
}

int main(void) {
    check_random_splits();
    static char out[8192];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = cases[i].in, *want = cases[i].out ? cases[i].out : in;
        size_t n = strlen(in), w = strlen(want);
        srv_framing f;
        size_t o = run(in, n, 0, n, false, out, &f);
        if (!CHECK(o == w && memcmp(out, want, w) == 0 && f.fault == cases[i].fault,
                   "case %zu: output and fault (%.*s)", i, (int)o, out))
            continue;
        bool same = true;
        for (size_t cut = 1; cut < n && same; cut++)
            for (int in_place = 0; in_place < 2 && same; in_place++) {
                o = run(in, n, cut, n, in_place, out, &f);
                same = CHECK(o == w && memcmp(out, want, w) == 0 && f.fault == cases[i].fault,
                             "case %zu split at %zu (in place: %d)", i, cut, in_place);
            }
        for (int in_place = 0; in_place < 2 && same; in_place++) {
            o = run(in, n, 0, 1, in_place, out, &f);
            same = CHECK(o == w && memcmp(out, want, w) == 0 && f.fault == cases[i].fault,
                         "case %zu one byte at a time (in place: %d)", i, in_place);
        }
    }
    /* a chunk-size line of SRV_CHUNK_LINE_MAX bytes before its CRLF passes; one more is a fault */
    for (size_t extra = 0; extra < 2; extra++) {
        char in[SRV_CHUNK_LINE_MAX + 128];
        size_t n = (size_t)snprintf(in, sizeof in, HEAD "2;");
        size_t line = n;
        while (n - (line - 2) < SRV_CHUNK_LINE_MAX + extra)
            in[n++] = 'e';
        memcpy(in + n, "\r\nab\r\n", 7);
        n += 6;
        srv_framing f;
        size_t o = run(in, n, 0, 1, true, out, &f);
        CHECK(f.fault == (extra == 1) && (extra || o == strlen(HEAD) + 7),
              "a chunk-size line of %zu bytes: %s", (size_t)SRV_CHUNK_LINE_MAX + extra,
              extra ? "a fault" : "passed");
    }
    return tu_report("framing");
}
