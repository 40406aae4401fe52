/* tdcore.h -- the token formats: decode, verify and build AccessToken2 ("007") and
 * AccessToken ("006"), byte for byte as the vendor's own libraries do.
 *
 * Design
 * ------
 * A decoded token is one fixed-size value (td_token) that owns a copy of the token's decoded
 * content; every string it reports is a slice (td_str) into that copy. Decoding therefore never
 * allocates, never grows with its input, and a td_token can be copied with memcpy-free struct
 * assignment only while no slice is used afterwards (slices point into the original's buffer).
 *
 * Decoding is bounded everywhere: the token text is at most TD_TOKEN_TEXT_MAX bytes, the inflated
 * content at most TD_CONTENT_MAX (a zip bomb is TD_ERR_CORRUPTED, not an OOM), and every length
 * and count read from the wire is checked against what is left before it is used.
 *
 * The expensive state (an inflate z_stream, three HMAC-SHA256 contexts, a CTR-DRBG for salts) lives
 * in a td_ctx that a caller creates once per thread and reuses: one decode + verify performs no
 * heap allocation. A td_ctx is not thread-safe; a td_token is plain data.
 *
 * Signatures are compared in constant time. Certificates are 32 ASCII characters used as their
 * 32 bytes, never hex-decoded; this module never prints or logs anything.
 *
 * Spec: docs/spec/token-formats.md.
 *
 * The module also holds td_buf, the growable byte buffer with a size cap that every other module
 * writes documents and text into (the bottom of the dependency chain is where all can reach it).
 */
#ifndef TDCORE_H
#define TDCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ---------------------------------------------------------------------------- */

#define TD_TOKEN_TEXT_MAX 4096 /* longest token text accepted, in bytes */
#define TD_CONTENT_MAX 16384   /* largest decoded (inflated) content accepted */
#define TD_SERVICES_MAX 32     /* services kept per token; more is TD_ERR_CORRUPTED */
#define TD_PRIVILEGES_MAX 256  /* privileges kept per token, all services together */
#define TD_PERMISSIONS_MAX 128 /* rtm2 (resource_type, permission_type) groups per token */
#define TD_RESOURCES_MAX 512   /* rtm2 resource strings per token */
#define TD_SIGNATURE_LEN 32    /* HMAC-SHA256 */
#define TD_CERT_LEN 32         /* a certificate or App ID: 32 characters */

/* ---- Values ---------------------------------------------------------------------------- */

/* A byte slice into a td_token's content buffer (or, when building, into caller memory). Not
 * NUL-terminated; may contain any byte. */
typedef struct {
    const char *ptr;
    size_t len;
} td_str;

/* Why a token did not decode. The names are the diagnosis hints of the same meaning. */
typedef enum {
    TD_OK = 0,
    TD_ERR_UNSUPPORTED_VERSION, /* prefix is not 006/007 (nor a legacy one) */
    TD_ERR_LEGACY_VERSION,      /* "001".."005": legacy dynamic keys, not read */
    TD_ERR_NOT_BASE64,          /* a character outside the standard base64 alphabet */
    TD_ERR_TRUNCATED,           /* length not a multiple of 4, or content ends early */
    TD_ERR_CORRUPTED,           /* zlib data error, oversize content, impossible structure */
} td_status;

/* "unsupported_version", "legacy_version", "not_base64", "truncated", "corrupted" ("ok"). */
const char *td_status_name(td_status status);

/* Service types of AccessToken2. */
enum {
    TD_SVC_RTC = 1,
    TD_SVC_RTM = 2,
    TD_SVC_STREAMING = 3,
    TD_SVC_FPA = 4,
    TD_SVC_CHAT = 5,
    TD_SVC_FCDN = 6,
    TD_SVC_APAAS = 7,
    TD_SVC_RTM2 = 8,
    TD_SVC_CONVOAI = 9,
    TD_SVC_STT = 10,
};

/* Privilege ids that the diagnosis uses by number. */
enum {
    TD_PRIV_JOIN_CHANNEL = 1, /* rtc (007 and 006) */
    TD_PRIV_PUBLISH_AUDIO = 2,
    TD_PRIV_PUBLISH_VIDEO = 3,
    TD_PRIV_PUBLISH_DATA = 4,
    TD_PRIV_LOGIN = 1,            /* rtm, rtm2, fpa (007) */
    TD_PRIV_ADMINISTRATE = 101,   /* 006 */
    TD_PRIV_RTM_LOGIN_006 = 1000, /* 006 */
};

/* "rtc", "rtm", "streaming", "fpa", "chat", "fcdn", "apaas", "rtm2", "convoai", "stt";
 * "unknown" for any other type. */
const char *td_service_name(uint16_t type);

/* The name of a privilege id within a 007 service type, or within 006 when type == 0;
 * NULL when the id has no name. */
const char *td_privilege_name(uint16_t service_type, uint16_t id);

/* rtm2 resource and permission type names ("message_channels", ..., "read", "write");
 * NULL when unnamed. */
const char *td_rtm2_resource_name(uint16_t resource_type);
const char *td_rtm2_permission_name(uint16_t permission_type);

typedef struct {
    uint16_t id;
    uint32_t value; /* 007: seconds from issue_ts (0 = no limit); 006: absolute Unix time */
} td_privilege;

/* One rtm2 permission: a resource type, a permission type and its resources. */
typedef struct {
    uint16_t resource_type;
    uint16_t permission_type;
    uint16_t first_resource; /* index into td_token.resources */
    uint16_t resource_count;
} td_permission;

/* One service of a 007 token. Which fields are meaningful depends on type:
 *   rtc        channel = a, uid = b
 *   rtm        user_id = a
 *   streaming  channel = a, account = b
 *   fpa        (none)
 *   chat       user_id = a
 *   fcdn       channel = a, account = b
 *   apaas      room_uuid = a, user_uuid = b, role
 *   rtm2       user_id = a, permissions
 *   convoai, stt (none)
 * known == false: an unknown type; nothing after its type was read and it is the last service. */
typedef struct {
    uint16_t type;
    bool known;
    uint16_t first_privilege; /* index into td_token.privileges */
    uint16_t privilege_count;
    td_str a;
    td_str b;
    int16_t role;
    uint16_t first_permission; /* index into td_token.permissions */
    uint16_t permission_count;
} td_service;

typedef struct {
    char version[4];  /* "007" or "006", NUL-terminated */
    td_str app_id;    /* 007: from the content; 006: the 32 characters after the prefix (a copy
                       * kept in the last 32 bytes of content, beyond content_len) */
    td_str signature; /* raw signature bytes as carried (normally 32) */

    /* 007 */
    uint32_t issue_ts;
    uint32_t expire; /* lifetime in seconds from issue_ts, as carried (not capped) */
    uint32_t salt;   /* both versions */
    uint16_t service_count;
    td_service services[TD_SERVICES_MAX];

    /* 006 */
    uint32_t crc_channel;
    uint32_t crc_uid;
    uint32_t ts;                  /* the token's expiry, Unix time */
    uint16_t first_privilege_006; /* 006 privileges: index into privileges */
    uint16_t privilege_count_006;

    /* Pools the services (and 006) index into. */
    uint16_t privilege_total;
    td_privilege privileges[TD_PRIVILEGES_MAX];
    uint16_t permission_total;
    td_permission permissions[TD_PERMISSIONS_MAX];
    uint16_t resource_total;
    td_str resources[TD_RESOURCES_MAX];

    /* The bytes the signature covers, exactly as received: 007 signing_info (everything after
     * the signature string); 006 the message m. Slices into content. */
    td_str signed_part;

    size_t content_len;
    char content[TD_CONTENT_MAX]; /* 007: inflated content; 006: base64-decoded content */
} td_token;

/* ---- Context ----------------------------------------------------------------------------- */

typedef struct td_ctx td_ctx;

/* Creates a context: zlib and mbedTLS state kept for reuse, a CTR-DRBG seeded from the system
 * entropy source. NULL on allocation or seeding failure. */
td_ctx *td_ctx_new(void);
void td_ctx_free(td_ctx *ctx);

/* ---- Decoding ----------------------------------------------------------------------------- */

/* Decodes token text of len bytes exactly as given (no trimming). On TD_OK *out is filled; on
 * failure *out is unspecified. The version is judged first (so "005..." is LEGACY_VERSION and
 * "abc" UNSUPPORTED_VERSION whatever follows); then text longer than TD_TOKEN_TEXT_MAX, or content
 * that inflates beyond TD_CONTENT_MAX, is TD_ERR_CORRUPTED; a bad character is TD_ERR_NOT_BASE64;
 * a length that is not a multiple of 4, an incomplete zlib stream or content ending before its
 * structure is TD_ERR_TRUNCATED; a zlib data error or an impossible structure (more services
 * than TD_SERVICES_MAX, etc.) is TD_ERR_CORRUPTED. Bytes left over after a complete 007 service
 * list or 006 content are ignored (they are still covered by the signature). */
td_status td_decode(td_ctx *ctx, const char *text, size_t len, td_token *out);

/* Parses already-inflated 007 content (string(signature) + signing_info) of len bytes: it is
 * copied into out->content (len > TD_CONTENT_MAX is TD_ERR_CORRUPTED) and parsed as td_decode
 * does after inflating, with the same error kinds. For fuzzing the parser and for tests. */
td_status td_parse007_content(const char *content, size_t len, td_token *out);

/* True for an AccessToken ("006") that td_decode filled, false for an AccessToken2 ("007"): the
 * one place that tells the two layouts apart after decoding. */
static inline bool td_is_006(const td_token *tok) {
    return tok->version[2] == '6';
}

/* A 007 token lives 24 h at most: a lifetime of 0 or above this counts as this
 * (docs/spec/diagnosis.md "Expiry"). */
#define TD_LIFETIME_MAX 86400

/* Derived times (docs/spec/diagnosis.md "Expiry"). The token's expiry as a Unix time:
 * 007 issue_ts + L, L = expire except TD_LIFETIME_MAX when expire is 0 or above it; 006 ts. */
int64_t td_token_expiry(const td_token *tok);

/* A privilege value's expiry as a Unix time, capped at the token's expiry: 007 issue_ts + value,
 * 006 the value itself; 0 (no limit of its own) is the token's expiry. */
int64_t td_privilege_expiry(const td_token *tok, uint32_t value);

/* ---- Verification ------------------------------------------------------------------------- */

/* 007: true when cert (cert_len bytes, normally 32) signs the token. Constant-time comparison.
 * The token must have been decoded as "007". */
bool td_verify007(td_ctx *ctx, const td_token *tok, const char *cert, size_t cert_len);

/* 006: the signature covers app_id + channel + uid + m, and channel/uid are not in the token, so
 * the join's channel and uid text are needed (uid text: decimal uid, "" for uid 0, or account;
 * pass "" when crc_uid == 0). */
bool td_verify006(td_ctx *ctx, const td_token *tok, const char *cert, size_t cert_len,
                  const char *channel, size_t channel_len, const char *uid, size_t uid_len);

/* zlib's crc32 of len bytes. */
uint32_t td_crc32(const char *data, size_t len);

/* ---- Building (mint) ------------------------------------------------------------------------ */

/* Builds token text from a td_token filled in by the caller (slices may point anywhere; the
 * content buffer and signed_part are ignored; services must be known types and are written in
 * the order given -- builders sort by type). version selects the format. For 006, app_id and the
 * privileges at first_privilege_006 / privilege_count_006 are used with salt and ts; channel and
 * uid text are passed separately and crc_channel / crc_uid are computed from them.
 *
 * The signature is computed with cert and written into the output; out receives a NUL-terminated
 * token of at most out_cap - 1 bytes. Returns the token length, or 0 when it does not fit or the
 * input is invalid (string over 65535 bytes, unknown service type; 006: an app_id that is not
 * 32 printable ASCII characters).
 * 007 compresses with zlib at its default level so that the output matches the vendor's Python
 * reference byte for byte. */
size_t td_build007(td_ctx *ctx, const td_token *spec, const char *cert, size_t cert_len, char *out,
                   size_t out_cap);
size_t td_build006(td_ctx *ctx, const td_token *spec, const char *cert, size_t cert_len,
                   const char *channel, size_t channel_len, const char *uid, size_t uid_len,
                   char *out, size_t out_cap);

/* A salt as builders pick it: uniform in 1..99999999, from the context's CTR-DRBG. */
uint32_t td_random_salt(td_ctx *ctx);

/* Fills buf with len bytes from the context's CTR-DRBG (API keys, nonces). false on failure. */
bool td_random_bytes(td_ctx *ctx, unsigned char *buf, size_t len);

/* ---- Small crypto helpers shared by the other modules --------------------------------------- */

/* SHA-256 of data into out[32]. */
void td_sha256(const void *data, size_t len, unsigned char out[32]);

/* The fingerprint every output shows instead of a certificate: the first 8 lowercase hex
 * characters of SHA-256(cert), NUL-terminated into out[9]. */
void td_fingerprint(const char *cert, size_t cert_len, char out[9]);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void td_hex(const unsigned char *data, size_t len, char *out);

/* The value of one hex digit (either case), or -1 when c is not one. */
int td_hex_digit(char c);

/* Constant-time equality of two byte strings of the same length. */
bool td_ct_equal(const void *a, const void *b, size_t len);

/* ---- Growable byte buffer (buf.c) --------------------------------------------------------
 * The one growable buffer of the code base, after curl's dynbuf: a size cap fixed at init, growth
 * that cannot overflow, and a sticky status, so that a writer appends without checking each call
 * and looks once at the end. After a failure every append does nothing until td_buf_reset.
 *
 *     td_buf b;
 *     td_buf_init(&b, 1 << 20);
 *     td_buf_addz(&b, "id=");
 *     td_buf_addint(&b, 42);
 *     if (b.status != TD_BUF_OK) ...;  // out of memory, or the text would pass 1 MiB
 *     td_buf_free(&b);
 *
 * The buffer owns p. Once anything was appended, p[len] is '\0' (not counted in len), so text can
 * be handed to C string functions. Fields may be read; only the functions below change them. */

typedef enum {
    TD_BUF_OK = 0,
    TD_BUF_NOMEM,  /* an allocation failed */
    TD_BUF_TOOBIG, /* an append would have made len exceed max */
} td_buf_status;

typedef struct {
    char *p;              /* NULL until the first growth */
    size_t len;           /* bytes held */
    size_t cap;           /* bytes allocated at p (len + 1 at least once allocated) */
    size_t max;           /* len never exceeds this (fixed at init) */
    td_buf_status status; /* the first failure; sticky until td_buf_reset */
    bool secret;          /* wipe old memory on growth, reset and free (explicit_bzero) */
} td_buf;

/* An empty buffer whose content never exceeds max bytes; allocates nothing. max must be less than
 * SIZE_MAX / 2. td_buf_init_secret: the same for a buffer that will hold a secret (certificate,
 * API key): every byte it ever held is wiped before its memory is released or reused. */
void td_buf_init(td_buf *b, size_t max);
void td_buf_init_secret(td_buf *b, size_t max);

/* Appends; each returns false (and sets status, if it was TD_BUF_OK) when the buffer cannot take
 * the bytes: then nothing is appended. td_buf_addint writes v in decimal. */
bool td_buf_add(td_buf *b, const void *data, size_t n);
bool td_buf_addz(td_buf *b, const char *s);
bool td_buf_addc(td_buf *b, char c);
bool td_buf_addint(td_buf *b, long long v);
bool td_buf_addf(td_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For writers that fill the buffer in place (escapers, json_dumpb, vsnprintf): a pointer to at
 * least n + 1 writable bytes at p + len, or NULL (status set) when that would pass max or memory
 * runs out. td_buf_commit(b, k) then counts k <= n of them as appended. */
char *td_buf_space(td_buf *b, size_t n);
void td_buf_commit(td_buf *b, size_t k);

/* Drops the bytes from len on (len <= b->len): a writer's rollback after a failed append. The
 * status is left as it is. */
void td_buf_truncate(td_buf *b, size_t len);

/* Empties the buffer and clears its status; the memory is kept for reuse (wiped when secret). */
void td_buf_reset(td_buf *b);

/* Hands p (NUL-terminated, *len bytes; NULL when nothing was ever allocated) to the caller, who
 * frees it with free(); the buffer is left empty, as after init. */
char *td_buf_take(td_buf *b, size_t *len);

/* Releases the memory (wiped first when secret); the buffer is left empty, as after init. */
void td_buf_free(td_buf *b);

/* ---- Text from outside (text.c) -----------------------------------------------------------
 * The one rule for showing bytes that came from a client, a token or a stored row (channel
 * names, accounts, App IDs, token strings, names): td_text_unit says what each unit is, and
 * every output path shows it in the form of its medium (docs/style.md):
 *   JSON (every document, CLI and HTTP alike): a TD_TEXT_INVALID byte is U+FFFD
 *     (td_buf_add_text, then the JSON writer's usual escaping of the rest);
 *   text for a person (a terminal line, a check detail, a hint): TD_TEXT_INVALID and
 *     TD_TEXT_CONTROL bytes are \xNN and '\' is "\\" (td_buf_add_shown), so the exact bytes
 *     can be read off and none of them drives the terminal. */
typedef enum {
    TD_TEXT_PRINTABLE, /* a valid UTF-8 sequence that is not a control character */
    TD_TEXT_CONTROL,   /* U+0001..U+001F, U+007F, U+0080..U+009F: valid, but not for a terminal */
    TD_TEXT_INVALID,   /* one byte that starts no valid UTF-8 sequence, or NUL */
} td_text_kind;

#define TD_TEXT_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* Length of the valid UTF-8 sequence at p (n bytes left, n >= 1), or 0 when it is not one:
 * overlong forms, surrogates and code points above U+10FFFF are invalid, as jansson judges. */
size_t td_utf8_len(const unsigned char *p, size_t n);

/* The unit at p (n >= 1 bytes left): its length in bytes (1 for an invalid byte) and *kind. */
size_t td_text_unit(const char *p, size_t n, td_text_kind *kind);

/* Appends the n bytes at p as JSON text: valid UTF-8 with every TD_TEXT_INVALID byte replaced by
 * U+FFFD (not yet JSON-escaped). false when b failed (b->status). */
bool td_buf_add_text(td_buf *b, const char *p, size_t n);

/* The same into dst (cap >= 1 bytes, NUL-terminated), cut before the first unit that would not
 * fit: a stored row's text put into a fixed-size field. Returns the length written. */
size_t td_text_copy(char *dst, size_t cap, const char *src, size_t n);

/* The unit at p (n >= 1 bytes left) as text for a person, into out (not NUL-terminated): the
 * length written; *used is the unit's length in p. Allocates nothing (diag_run's details). */
#define TD_TEXT_SHOWN_MAX 16 /* a unit of 4 bytes as \xNN\xNN\xNN\xNN */
size_t td_text_show_unit(const char *p, size_t n, char out[TD_TEXT_SHOWN_MAX], size_t *used);

/* Appends the n bytes at p as text for a person (td_text_show_unit after each other): printable
 * sequences as they are, '\' as "\\", every other byte as \xNN. false when b failed (b->status). */
bool td_buf_add_shown(td_buf *b, const char *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* TDCORE_H */
