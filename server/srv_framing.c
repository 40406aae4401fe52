/* srv_framing.c -- follows a connection's request framing byte by byte, so that chunk sizes
 * with extensions are accepted and malformed ones are a 400.
 *
 * libevent 2.1 reads a chunk size with strtoll(line, 16) and refuses anything after the digits
 * but a space: `41;foo=bar` (a chunk extension, RFC 9112 section 7.1.1) was refused, and every
 * chunk failure is reported like a body over the limit (413), not as the malformed request it
 * is (400). evhttp has no hook to parse chunks itself. So every byte a connection reads passes
 * through this tracker first (srv_conn.c calls it from a callback on the input buffer, before
 * evhttp sees the bytes). It passes the bytes on unchanged, except:
 *
 *  - a chunk-size line of the RFC's grammar, `1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS
 *    ( token / quoted-string ) ] ) CRLF`, is passed on as its bare size (without leading zeros),
 *    which evhttp accepts;
 *  - a chunk-size line that is not of that grammar, longer than SRV_CHUNK_LINE_MAX, or whose
 *    size does not fit in 63 bits, and a chunk's data not followed by CRLF, is a fault: the
 *    tracker passes on a line evhttp cannot read as a size ("x"), so evhttp refuses the request
 *    at once, and drops every later byte (what follows is never read as a request). srv_conn.c
 *    sees f->fault and makes evhttp's refusal a 400.
 *
 * To know where a chunk-size line is, it follows the framing as evhttp does: a request's head
 * (lines ending in LF or CRLF, until an empty line), its body (Content-Length bytes, or chunks,
 * then trailers until an empty line), then the next pipelined request. It reads the head as
 * evhttp does (the method is the text before the first space; a header's name is the text
 * before the first colon, compared without case; its value skips leading spaces and loses
 * trailing spaces and tabs; evhttp reads a body for GET, POST, PUT, DELETE, OPTIONS, CONNECT
 * and PATCH only).
 *
 * The rule that keeps it safe: it only changes bytes when it is sure it reads them as evhttp
 * does. Whenever the head is one evhttp reads differently or the connection will be closed
 * after it anyway (two Content-Lengths or Transfer-Encodings, both, a coding other than
 * chunked, a Content-Length that is not 1 to 18 digits, a body framed for a method evhttp reads
 * no body for, an obsolete folded header line, a NUL byte, which evhttp's C strings end at), it
 * stops for good and passes every later byte on unchanged: the service then behaves as it did
 * before the tracker existed (srv_worker.c refuses the framing, or evhttp the request).
 *
 * It holds no bytes: a chunk-size line is checked as it arrives (a state per grammar position)
 * and only its value is kept, so a connection's state is about 120 bytes whatever it is sent,
 * and bytes may be split anywhere between calls. Heads, Content-Length bodies and chunk data
 * are passed on as they are, so srv_conn.c asks first how far the bytes pass unchanged
 * (out == NULL) and copies only from the first chunk-size line on.
 */
#include "srv_internal.h"

#include <string.h>
#include <strings.h>

enum {
    /* where in the stream */
    F_HEAD = 0, /* a request's line and headers */
    F_BODY,     /* Content-Length bytes */
    F_SIZE,     /* a chunk-size line (sub-state in f->at) */
    F_DATA,     /* a chunk's data */
    F_DATA_END, /* the CRLF after a chunk's data */
    F_TRAILER,  /* trailer lines, until an empty one */
    F_STOPPED,  /* everything passes unchanged */
    F_DROP,     /* after a fault: everything is dropped */
};

enum {
    /* where in a chunk-size line (RFC 9112 section 7.1.1) */
    Z_DIGITS = 0, /* 1*HEXDIG */
    Z_BWS_SEMI,   /* BWS, then ";" */
    Z_NAME_PRE,   /* after ";": BWS, then a token */
    Z_NAME,       /* the extension's name */
    Z_BWS_EQ,     /* BWS after the name, then "=" or ";" */
    Z_VALUE_PRE,  /* after "=": BWS, then a token or a quoted-string */
    Z_VALUE,      /* a token value */
    Z_QUOTED,     /* inside a quoted-string */
    Z_QUOTED_ESC, /* after a backslash in it */
    Z_QUOTED_END, /* after the closing quote */
    Z_CR,         /* after CR: LF */
};

enum { H_REQUEST_LINE = 0, H_NAME, H_VALUE_LEAD, H_VALUE, H_OTHER };

void srv_framing_init(srv_framing *f) {
    memset(f, 0, sizeof *f);
    f->state = F_HEAD;
}

static bool srv_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int srv_hex(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ---- The head ------------------------------------------------------------------------------- */

static void srv_head_reset_line(srv_framing *f) {
    f->hpos = f->line_no == 0 ? H_REQUEST_LINE : H_NAME;
    f->cap_len = 0;
    f->cap_over = false;
    f->line_len = 0;
}

static void srv_head_capture(srv_framing *f, unsigned char c) {
    if (f->cap_len < sizeof f->cap)
        f->cap[f->cap_len++] = (char)c;
    else
        f->cap_over = true;
}

static bool srv_cap_is(const srv_framing *f, const char *s) {
    size_t n = strlen(s);
    return !f->cap_over && f->cap_len == n && strncasecmp(f->cap, s, n) == 0;
}

/* A header line is complete: its value (the capture) belongs to the header named before. */
static void srv_head_header_done(srv_framing *f) {
    size_t n = f->cap_len;
    if (n && f->cap[n - 1] == '\r') /* the line's CR, which evhttp strips before the value */
        n--;
    while (n && (f->cap[n - 1] == ' ' || f->cap[n - 1] == '\t'))
        n--;
    if (f->header == SRV_FRAMING_HDR_LENGTH) {
        f->lengths++;
        f->length = 0;
        f->length_bad = f->cap_over || n == 0 || n > 18;
        for (size_t i = 0; i < n && !f->length_bad; i++)
            if (f->cap[i] >= '0' && f->cap[i] <= '9')
                f->length = f->length * 10 + (uint64_t)(f->cap[i] - '0');
            else
                f->length_bad = true;
    } else if (f->header == SRV_FRAMING_HDR_CODING) {
        f->codings++;
        f->chunked = !f->cap_over && n == 7 && strncasecmp(f->cap, "chunked", 7) == 0;
    }
}

/* The next bytes are a chunk-size line. */
static void srv_size_start(srv_framing *f) {
    f->state = F_SIZE;
    f->at = Z_DIGITS;
    f->size = 0;
    f->digits = 0;
    f->line_len = 0;
}

/* The empty line: the head is over. What comes next, as evhttp frames it. */
static void srv_head_done(srv_framing *f) {
    static const char *const with_body[] = {"GET",     "POST",    "PUT",  "DELETE",
                                            "OPTIONS", "CONNECT", "PATCH"};
    bool body_read = false;
    for (size_t i = 0; i < sizeof with_body / sizeof with_body[0]; i++)
        body_read = body_read || (f->method_len == strlen(with_body[i]) &&
                                  memcmp(f->method, with_body[i], f->method_len) == 0);
    bool framed = f->codings || (f->lengths && f->length);
    if (f->line_no == 0 || f->lengths > 1 || f->codings > 1 || (f->lengths && f->codings) ||
        (f->codings && !f->chunked) || (f->lengths && f->length_bad) || (framed && !body_read))
        f->state = F_STOPPED; /* the connection is closed after this request */
    else if (f->codings) {
        srv_size_start(f);
    } else if (f->lengths && f->length) {
        f->state = F_BODY;
        f->left = f->length;
    } else {
        srv_framing_init(f); /* no body: the next request */
    }
}

static void srv_head_byte(srv_framing *f, unsigned char c) {
    if (c == '\0') {
        f->state = F_STOPPED;
        return;
    }
    if (c == '\n') {
        bool empty = f->line_len == 0 || (f->line_len == 1 && f->last == '\r');
        if (empty && f->line_no > 0) {
            srv_head_done(f);
            return;
        }
        if (empty) { /* evhttp refuses a request that starts with an empty line */
            f->state = F_STOPPED;
            return;
        }
        if (f->hpos == H_VALUE || f->hpos == H_VALUE_LEAD)
            srv_head_header_done(f);
        f->line_no++;
        srv_head_reset_line(f);
        return;
    }
    if (f->line_len == 0 && f->line_no > 0 && (c == ' ' || c == '\t')) {
        f->state = F_STOPPED; /* an obsolete folded line continues the last header */
        return;
    }
    f->line_len++;
    f->last = c;
    switch (f->hpos) {
    case H_REQUEST_LINE:
        if (c == ' ')
            f->hpos = H_OTHER;
        else if (f->method_len < sizeof f->method)
            f->method[f->method_len++] = (char)c;
        else
            f->method_len = sizeof f->method + 1; /* longer than any method evhttp knows */
        break;
    case H_NAME:
        if (c != ':') {
            srv_head_capture(f, c);
            break;
        }
        f->header = srv_cap_is(f, "content-length")      ? SRV_FRAMING_HDR_LENGTH
                    : srv_cap_is(f, "transfer-encoding") ? SRV_FRAMING_HDR_CODING
                                                         : SRV_FRAMING_HDR_OTHER;
        f->cap_len = 0;
        f->cap_over = false;
        f->hpos = f->header == SRV_FRAMING_HDR_OTHER ? H_OTHER : H_VALUE_LEAD;
        break;
    case H_VALUE_LEAD:
        if (c == ' ')
            break;
        f->hpos = H_VALUE;
        srv_head_capture(f, c);
        break;
    case H_VALUE:
        srv_head_capture(f, c);
        break;
    default:
        break;
    }
}

/* ---- Chunks --------------------------------------------------------------------------------- */

/* The next state of a chunk-size line after c, or -1 when the line is not of the grammar. */
static int srv_size_step(srv_framing *f, unsigned char c) {
    bool ws = c == ' ' || c == '\t';
    switch (f->at) {
    case Z_DIGITS: {
        int d = srv_hex(c);
        if (d >= 0) {
            if (f->size > (UINT64_C(0x7fffffffffffffff) >> 4))
                return -1; /* over 63 bits: evhttp's size is a signed 64-bit integer */
            f->size = f->size << 4 | (uint64_t)d;
            f->digits++;
            return Z_DIGITS;
        }
        if (!f->digits)
            return -1;
        return c == ';' ? Z_NAME_PRE : ws ? Z_BWS_SEMI : c == '\r' ? Z_CR : -1;
    }
    case Z_BWS_SEMI:
        return ws ? Z_BWS_SEMI : c == ';' ? Z_NAME_PRE : -1;
    case Z_NAME_PRE:
        return ws ? Z_NAME_PRE : srv_tchar(c) ? Z_NAME : -1;
    case Z_NAME:
        return srv_tchar(c) ? Z_NAME
               : c == ';'   ? Z_NAME_PRE
               : c == '='   ? Z_VALUE_PRE
               : ws         ? Z_BWS_EQ
               : c == '\r'  ? Z_CR
                            : -1;
    case Z_BWS_EQ:
        return ws ? Z_BWS_EQ : c == '=' ? Z_VALUE_PRE : c == ';' ? Z_NAME_PRE : -1;
    case Z_VALUE_PRE:
        return ws ? Z_VALUE_PRE : c == '"' ? Z_QUOTED : srv_tchar(c) ? Z_VALUE : -1;
    case Z_VALUE:
        return srv_tchar(c) ? Z_VALUE
               : c == ';'   ? Z_NAME_PRE
               : ws         ? Z_BWS_SEMI
               : c == '\r'  ? Z_CR
                            : -1;
    case Z_QUOTED: /* qdtext: HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text */
        return c == '"'                           ? Z_QUOTED_END
               : c == '\\'                        ? Z_QUOTED_ESC
               : (ws || (c >= 0x21 && c != 0x7f)) ? Z_QUOTED
                                                  : -1;
    case Z_QUOTED_ESC: /* quoted-pair: HTAB, SP, VCHAR, obs-text */
        return ws || (c >= 0x21 && c != 0x7f) ? Z_QUOTED : -1;
    case Z_QUOTED_END:
        return c == ';' ? Z_NAME_PRE : ws ? Z_BWS_SEMI : c == '\r' ? Z_CR : -1;
    default: /* Z_CR: only LF, which the caller handles */
        return -1;
    }
}

/* Whether a chunk-size line may end (LF) in its present state. */
static bool srv_size_may_end(const srv_framing *f) {
    return (f->at == Z_DIGITS && f->digits) || f->at == Z_NAME || f->at == Z_VALUE ||
           f->at == Z_QUOTED_END || f->at == Z_CR;
}

/* Writes the size line evhttp is given: the size in hex, then the line's own ending. */
static size_t srv_size_line(const srv_framing *f, char *out) {
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;
    uint64_t v = f->size;
    do
        digits[n++] = hex[v & 15];
    while ((v >>= 4) && n < sizeof digits);
    size_t k = 0;
    while (n)
        out[k++] = digits[--n];
    if (f->at == Z_CR)
        out[k++] = '\r';
    out[k++] = '\n';
    return k;
}

/* A fault: evhttp is given a line it refuses as a chunk size, and nothing after it. */
static size_t srv_fault(srv_framing *f, char *out) {
    f->fault = true;
    f->state = F_DROP;
    memcpy(out, "x\r\n", 3);
    return 3;
}

/* A trailer line is a header line (evhttp adds it to the request's headers): a line without a
 * colon, which is not one, is a fault that evhttp refuses by itself. */
static void srv_trailer_byte(srv_framing *f, unsigned char c) {
    if (c == '\0') {
        f->state = F_STOPPED; /* evhttp would take the line for the empty one */
    } else if (c != '\n') {
        if (f->line_len++ == 0)
            f->colon = c == ' ' || c == '\t'; /* a folded line continues the last one */
        f->colon = f->colon || c == ':';
        f->last = c;
    } else if (f->line_len == 0 || (f->line_len == 1 && f->last == '\r')) {
        srv_framing_init(f); /* the empty line: the next request */
    } else if (!f->colon) {
        f->fault = true;
        f->state = F_DROP;
    } else {
        f->line_len = 0;
    }
}

void srv_framing_drop(srv_framing *f) {
    f->state = F_DROP;
}

/* ---- Feeding bytes --------------------------------------------------------------------------- */

size_t srv_framing_feed(srv_framing *f, const char *in, size_t n, char *out, size_t *out_len) {
    size_t i = 0, o = 0;
    while (i < n) {
        /* without out, stop where the output may differ from the input */
        if (!out && (f->state == F_SIZE || f->state == F_DATA_END || f->state == F_DROP))
            break;
        unsigned char c = (unsigned char)in[i];
        switch (f->state) {
        case F_STOPPED:
            if (out)
                memcpy(out + o, in + i, n - i);
            o += n - i;
            i = n;
            break;
        case F_DROP:
            i = n;
            break;
        case F_BODY:
        case F_DATA: {
            size_t k = n - i < f->left ? n - i : (size_t)f->left;
            if (out)
                memcpy(out + o, in + i, k);
            o += k;
            i += k;
            f->left -= k;
            if (!f->left)
                f->state = f->state == F_BODY ? F_HEAD : F_DATA_END;
            if (f->state == F_HEAD)
                srv_framing_init(f);
            break;
        }
        case F_HEAD:
            if (f->hpos == H_OTHER) { /* the rest of a line that does not matter: at once */
                const char *nl = memchr(in + i, '\n', n - i);
                size_t k = nl ? (size_t)(nl - (in + i)) : n - i;
                if (k && !memchr(in + i, '\0', k)) {
                    if (out)
                        memcpy(out + o, in + i, k);
                    f->line_len += k;
                    f->last = (unsigned char)in[i + k - 1];
                    o += k;
                    i += k;
                    break;
                }
            }
            /* fall through */
        case F_TRAILER:
            if (out)
                out[o] = (char)c;
            o++;
            i++;
            if (f->state == F_HEAD)
                srv_head_byte(f, c);
            else
                srv_trailer_byte(f, c);
            break;
        case F_DATA_END:
            i++;
            if (c == '\r' && !f->cr) {
                f->cr = true; /* held until its LF */
            } else if (c == '\n') {
                if (f->cr)
                    out[o++] = '\r';
                out[o++] = '\n';
                f->cr = false;
                srv_size_start(f);
            } else {
                o += srv_fault(f, out + o);
            }
            break;
        case F_SIZE: {
            i++;
            if (c == '\n') {
                if (!srv_size_may_end(f)) {
                    o += srv_fault(f, out + o);
                    break;
                }
                o += srv_size_line(f, out + o);
                f->left = f->size;
                f->state = f->size ? F_DATA : F_TRAILER;
                f->line_len = 0;
                break;
            }
            /* the line's length without its CRLF (a CR elsewhere is not of the grammar) */
            int next = c != '\r' && ++f->line_len > SRV_CHUNK_LINE_MAX ? -1 : srv_size_step(f, c);
            if (next < 0)
                o += srv_fault(f, out + o);
            else
                f->at = (unsigned char)next;
            break;
        }
        }
    }
    if (out_len)
        *out_len = o;
    return i;
}
