/* test_core_buf.c -- td_buf, the growable buffer (core/buf.c), against its contract in tdcore.h.
 *
 * The cap is exact (max bytes fit, one more does not), a failure is sticky and appends nothing,
 * reset clears it, growth keeps the bytes and the NUL after them, and sizes near SIZE_MAX are
 * refused instead of wrapping. Out of memory is not provoked: the sanitizers abort on huge
 * allocations instead of returning NULL, and the path is the same as TD_BUF_TOOBIG's.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tdcore.h"

static bool holds(const td_buf *b, const char *text) {
    return b->len == strlen(text) && b->p && memcmp(b->p, text, b->len) == 0 &&
           b->p[b->len] == '\0';
}

static void test_appends(void) {
    td_buf b;
    td_buf_init(&b, 1000);
    EXPECT(b.p == NULL && b.len == 0 && b.status == TD_BUF_OK);
    EXPECT(td_buf_add(&b, "ab", 2));
    EXPECT(td_buf_addz(&b, "cd"));
    EXPECT(td_buf_addc(&b, '-'));
    EXPECT(td_buf_addint(&b, 0));
    EXPECT(td_buf_addc(&b, ' '));
    EXPECT(td_buf_addint(&b, LLONG_MIN));
    EXPECT(td_buf_addc(&b, ' '));
    EXPECT(td_buf_addint(&b, LLONG_MAX));
    EXPECT(td_buf_addf(&b, " %s=%d", "x", -7));
    EXPECT(td_buf_add(&b, NULL, 0));
    CHECK(holds(&b, "abcd-0 -9223372036854775808 9223372036854775807 x=-7"), "got %s", b.p);
    td_buf_free(&b);
    EXPECT(b.p == NULL && b.len == 0 && b.max == 1000);
}

static void test_growth(void) {
    td_buf b;
    td_buf_init(&b, 1 << 20);
    char chunk[100];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 5000; i++)
        td_buf_add(&b, chunk, sizeof chunk);
    EXPECT(b.status == TD_BUF_OK && b.len == 500000 && b.cap > b.len && b.p[b.len] == '\0');
    bool same = true;
    for (size_t i = 0; i < b.len; i++)
        same = same && b.p[i] == 'z';
    EXPECT(same);
    td_buf_free(&b);

    td_buf_init_secret(&b, 1 << 20); /* secret growth copies instead of realloc */
    for (int i = 0; i < 1000; i++)
        td_buf_addint(&b, i % 10);
    EXPECT(b.status == TD_BUF_OK && b.len == 1000 && b.p[999] == '9' && b.p[1000] == '\0');
    td_buf_free(&b);
}

static void test_cap(void) {
    td_buf b;
    td_buf_init(&b, 10);
    EXPECT(td_buf_addz(&b, "0123456789")); /* exactly max */
    EXPECT(b.cap <= 11);                   /* never allocated past max + 1 */
    EXPECT(!td_buf_addc(&b, 'x'));
    EXPECT(b.status == TD_BUF_TOOBIG);
    EXPECT(holds(&b, "0123456789")); /* a refused append writes nothing */
    td_buf_truncate(&b, 4);
    EXPECT(!td_buf_addc(&b, 'x')); /* sticky: room again, still refused */
    EXPECT(holds(&b, "0123") && b.status == TD_BUF_TOOBIG);
    td_buf_reset(&b);
    EXPECT(b.status == TD_BUF_OK && b.len == 0 && b.p && b.p[0] == '\0');
    EXPECT(td_buf_addz(&b, "again"));
    EXPECT(holds(&b, "again"));
    EXPECT(!td_buf_addf(&b, "%d", 123456) && b.status == TD_BUF_TOOBIG);
    EXPECT(holds(&b, "again"));
    td_buf_free(&b);
}

static void test_overflow(void) {
    td_buf b;
    td_buf_init(&b, SIZE_MAX); /* clamped below SIZE_MAX / 2 */
    EXPECT(b.max < SIZE_MAX / 2);
    EXPECT(td_buf_addz(&b, "abc"));
    EXPECT(td_buf_space(&b, SIZE_MAX) == NULL && b.status == TD_BUF_TOOBIG);
    td_buf_reset(&b);
    EXPECT(td_buf_space(&b, SIZE_MAX - 2) == NULL && b.status == TD_BUF_TOOBIG);
    EXPECT(holds(&b, ""));
    td_buf_free(&b);
}

static void test_space_and_take(void) {
    td_buf b;
    td_buf_init(&b, 64);
    char *o = td_buf_space(&b, 5);
    EXPECT(o != NULL);
    if (o)
        memcpy(o, "hello", 5);
    td_buf_commit(&b, 3); /* fewer than reserved */
    EXPECT(holds(&b, "hel"));
    size_t len = 0;
    char *p = td_buf_take(&b, &len);
    EXPECT(p && len == 3 && strcmp(p, "hel") == 0);
    free(p);
    EXPECT(b.p == NULL && b.len == 0 && b.cap == 0 && b.max == 64);
    EXPECT(td_buf_take(&b, &len) == NULL && len == 0);
    td_buf_free(&b); /* freeing an empty buffer is fine, twice too */
    td_buf_free(&b);
}

int main(void) {
    test_appends();
    test_growth();
    test_cap();
    test_overflow();
    test_space_and_take();
    return tu_report("core_buf");
}
