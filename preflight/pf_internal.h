/* pf_internal.h -- what the preflight module's files share. Private to preflight/.
 *
 * pf_config.c reads templates and headers; pf_http.c sends one request; pf_run.c builds the
 * matrix, runs it and derives the findings; pf_report.c renders a report.
 */
#ifndef PF_INTERNAL_H
#define PF_INTERNAL_H

#include <event2/event.h>

#include "tdpreflight.h"

/* Placeholders of a template, as bits (1u << pf_placeholder). */
typedef enum {
    PF_PH_CHANNEL = 0,
    PF_PH_UID,
    PF_PH_ACCOUNT,
    PF_PH_ROLE,
    PF_PH_EXPIRE,
    PF_PH_SERVICE,
    PF_PH_COUNT
} pf_placeholder;

/* The placeholders a template holds. */
unsigned pf_template_placeholders(const char *tmpl);

/* The values a row puts in place of the placeholders (NUL-terminated text). */
typedef struct {
    const char *value[PF_PH_COUNT];
    size_t len[PF_PH_COUNT];
} pf_values;

/* Appends tmpl to b with each placeholder replaced by its value, percent-encoded (url) or
 * JSON-escaped (a body). false when b cannot take it. */
bool pf_template_expand(td_buf *b, const char *tmpl, const pf_values *v, bool url);

/* The parts of an http:// template: the host and port, and where the path starts. */
typedef struct {
    char host[256];
    char authority[300]; /* HOST[:PORT] as written, for the Host header */
    unsigned port;
    const char *path; /* into the template: "/..." or "" */
} pf_url;

/* Splits the template; false with a message ("--url: ...") otherwise. */
bool pf_url_split(const char *tmpl, pf_url *u, char *err, size_t cap);

/* One request's answer. body: malloc'd (NUL-terminated), owned by the caller, NULL when none. */
typedef struct {
    pf_outcome outcome;
    int status;
    char *body;
    size_t body_len;
    unsigned elapsed_ms;
} pf_answer;

/* Sends one request on base and waits for its answer (at most timeout_s seconds in all). target
 * is the path and query; body may be NULL. */
void pf_http_send(struct event_base *base, const pf_url *u, bool post, const char *target,
                  const char *body, size_t body_len, const pf_headers *h, unsigned timeout_s,
                  pf_answer *out);

#endif /* PF_INTERNAL_H */
