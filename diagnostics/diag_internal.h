/* diag_internal.h -- helpers shared by the files of the diagnostics module (not public).
 *
 * Output safety lives here: every byte string that came from a client (channel names, user
 * accounts, App IDs, token text) goes into JSON through diag_jw_text (diag_json_text for a
 * tree), which never fails on invalid UTF-8, and into a check detail or a terminal
 * through diag_quote, which escapes control characters and cuts long values, so that no client
 * input can break a JSON document or a terminal. Both follow core's one rule (td_text_unit).
 */
#ifndef DIAG_INTERNAL_H
#define DIAG_INTERNAL_H

#include "tddiag.h"

#include <stddef.h>

/* A JSON string of the n bytes at p (NULL: ""), by core's rule: every byte td_text_unit calls
 * TD_TEXT_INVALID (not UTF-8, or NUL) as U+FFFD. NULL only when out of memory. */
json_t *diag_json_text(const char *p, size_t n);

/* Writes 'text' (single-quoted) into out (cap bytes, NUL-terminated), each unit as
 * td_text_show_unit shows it to a person (printable UTF-8 as it is, '\\' doubled, anything else as
 * \xNN), at most max_chars bytes of input shown ("..." appended when cut). Returns out. */
char *diag_quote(char *out, size_t cap, const char *p, size_t n, size_t max_chars);

/* Moves *p and *n past the whitespace (C isspace: space, \t \n \v \f \r) around the text:
 * what a shell, a form or a config file adds to a token, an App ID or a channel name. */
void diag_trim(const char **p, size_t *n);

/* "2024-01-02 03:04:05 UTC" (the plain number when t is not representable) into buf; returns
 * buf. */
const char *diag_utc_time(char *buf, size_t cap, int64_t t);

/* Writes the printf-style message into err (cap bytes; nothing when err is NULL or cap 0) and
 * returns false, so that a validator can say `return diag_fail(err, cap, "uid: ...")`. */
bool diag_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- The client's SDK (sdk.c) ------------------------------------------------------------- */

typedef enum { DIAG_SDK_READS = 0, DIAG_SDK_TOO_OLD, DIAG_SDK_NO_THRESHOLD } diag_sdk_support;

/* Whether SDK version v of (service, client) reads a 007 token. first (first_cap bytes, may be
 * NULL) receives the first version that does ("" when no threshold is known). */
diag_sdk_support diag_sdk_reads_007(diag_service service, diag_client client,
                                    const diag_sdk_version *v, char *first, size_t first_cap);

/* ---- Token text damage and repair (token_text.c) -------------------------------------------- */

/* What a token's text went through on its way (diagnosis.md "Hints" and "Repair"), and the text
 * cleaned of it: trim; strip one pair of matching quotes and trim; strip a leading "Bearer " or
 * "token="; "\/" -> "/"; percent-decode; spaces -> '+'. */
typedef struct {
    bool whitespace, quoted, auth_prefix, json_escaped, percent_encoded, url_decoded;
    size_t len;   /* of the cleaned text written to the caller's buffer */
    bool changed; /* the cleaned text differs from the input */
} diag_token_damage;

/* Analyses n bytes at t and writes the cleaned text (NUL-terminated) into buf (cap bytes). The
 * flags are set even when the cleaned text does not fit; then len is 0 and changed false. */
void diag_token_clean(const char *t, size_t n, char *buf, size_t cap, diag_token_damage *d);

/* The damage hints of d, as bits (1u << diag_hint). */
uint32_t diag_token_damage_hints(const diag_token_damage *d);

/* ---- Direct JSON writing ------------------------------------------------------------------ */

/* The writers that render a diagnosis straight to JSON text (diag_result_json_write) append to a
 * td_buf (core's growable buffer): no jansson tree, no allocation once the buffer is large
 * enough. A failed append sets the buffer's status and later ones do nothing, so a writer checks
 * once at the end. Structure (braces, keys) goes in with td_buf_add / DIAG_JW_LIT, numbers with
 * td_buf_addint, strings with the functions below. The bytes are exactly what
 * json_dumpb(JSON_COMPACT) writes for the same tree (the test oracle, tests/common/oracle_json.c):
 * '"', '\\' and control characters escaped (\b \f \n \r \t, else \u00XX), nothing else. */

/* lit must be a string literal (the "" makes anything else a compile error: sizeof of a pointer
 * would silently be wrong). */
#define DIAG_JW_LIT(w, lit) td_buf_add((w), "" lit, sizeof("" lit) - 1)
/* A JSON string of n bytes known to be valid UTF-8 (catalog text, names, digits). */
void diag_jw_strn(td_buf *w, const char *s, size_t n);
void diag_jw_str(td_buf *w, const char *s);
/* Client bytes as the JSON string diag_json_text(p, n) holds: every byte td_text_unit calls
 * TD_TEXT_INVALID (not UTF-8, or NUL) as U+FFFD. p may be NULL (""). */
void diag_jw_text(td_buf *w, const char *p, size_t n);
/* Any JSON value, as json_dumpb(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) writes it
 * (a request's "id"); NULL as null. */
void diag_jw_json(td_buf *w, json_t *v);

/* The most one document (a diagnosis, a decoded token) takes when written alone: the token text
 * is at most TD_TOKEN_TEXT_MAX bytes and its content TD_CONTENT_MAX, and even with every byte
 * escaped to six a document stays far below 1 MiB. */
#define DIAG_DOC_MAX ((size_t)1 << 20)

/* The document written into b (written: the writer returned true) parsed back into a tree, and
 * b freed: how diag_result_to_json and its siblings give a tree without a second writer. NULL
 * when it was not written. A token string may hold U+0000, hence JSON_ALLOW_NUL. */
json_t *diag_jw_tree(td_buf *b, bool written);

/* The decoded-token object, written directly (token_json.c). */
void diag_token_json_write(td_buf *w, const td_token *tok);

#endif /* DIAG_INTERNAL_H */
