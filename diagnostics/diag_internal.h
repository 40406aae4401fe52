/* diag_internal.h -- helpers shared by the files of the diagnostics module (not public).
 *
 * Output safety lives here: every byte string that came from a client (channel names, user
 * accounts, App IDs, token text) goes into JSON through diag_json_text, which never fails on
 * invalid UTF-8, and into a check detail or a terminal through diag_quote, which escapes control
 * characters and cuts long values, so that no client input can break a JSON document or a
 * terminal.
 */
#ifndef DIAG_INTERNAL_H
#define DIAG_INTERNAL_H

#include "tddiag.h"

#include <stddef.h>

/* A JSON string of the n bytes at p: the bytes themselves when they are valid UTF-8 without NUL,
 * otherwise an escaped printable-ASCII rendering (\xNN). Never NULL (except out of memory). */
json_t *diag_json_text(const char *p, size_t n);

/* Writes 'text' (single-quoted) into out (cap bytes, NUL-terminated): printable ASCII and valid
 * UTF-8 sequences as they are, anything else as \xNN, at most max_chars bytes of input shown
 * ("..." appended when cut). Returns out. */
char *diag_quote(char *out, size_t cap, const char *p, size_t n, size_t max_chars);

/* True when the n bytes at p are exactly 32 hexadecimal characters (either case). */
bool diag_is_hex32(const char *p, size_t n);

/* Writes the printf-style message into err (cap bytes; nothing when err is NULL or cap 0) and
 * returns false, so that a validator can say `return diag_fail(err, cap, "uid: ...")`. */
bool diag_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* DIAG_INTERNAL_H */
