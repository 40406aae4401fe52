/* pf_report.c -- a preflight report, as JSON and for a person.
 *
 * Both read the same report and the same findings catalog (pf_catalog): a finding is printed
 * with its pattern, what the client gets, the requests that show it (by number and label, with
 * the diagnosis each got) and the fix. Values from the token server never reach the output
 * except through the diagnosis' names; the channel names shown are our own. The JSON shape is
 * documented in docs/preflight.md.
 */
#include <string.h>

#include "pf_internal.h"

#define BIT(f) ((uint64_t)1 << (f))

const char *pf_outcome_name(pf_outcome o) {
    static const char *const names[] = {
        [PF_OUT_NOT_SENT] = "not_sent",   [PF_OUT_ANSWERED] = "answered",
        [PF_OUT_TIMEOUT] = "timeout",     [PF_OUT_CLOSED] = "connection_closed",
        [PF_OUT_TOO_LARGE] = "too_large", [PF_OUT_NOT_HTTP] = "not_http",
    };
    return o <= PF_OUT_NOT_HTTP ? names[o] : "unknown";
}

static json_t *names_json(uint32_t bits, int count, const char *(*name)(int)) {
    json_t *a = json_array();
    for (int i = 0; i < count; i++)
        if (bits & 1u << i)
            json_array_append_new(a, json_string(name(i)));
    return a;
}

static const char *hint_name(int h) {
    return diag_hint_name((diag_hint)h);
}
static const char *warning_name(int w) {
    return diag_warning_name((diag_warning)w);
}

static json_t *code_json(const diag_code *code) {
    if (!code)
        return json_null();
    return json_pack("{s:o,s:o}", "code", code->code ? json_integer(code->code) : json_null(),
                     "name", code->name ? json_string(code->name) : json_null());
}

static json_t *row_json(const pf_report *r, size_t i) {
    const pf_row *row = &r->rows[i];
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)i + 1));
    json_object_set_new(o, "label", json_string(row->label));
    if (r->service == DIAG_SERVICE_RTC)
        json_object_set_new(o, "channel", json_stringn(row->channel, row->channel_len));
    if (row->by_account)
        json_object_set_new(o, "account", json_string(row->account));
    else
        json_object_set_new(o, "uid", json_integer(row->uid));
    json_object_set_new(o, "role",
                        json_string(row->role == DIAG_ROLE_PUBLISHER ? "publisher" : "subscriber"));
    json_object_set_new(o, "expire", row->expire ? json_integer(row->expire) : json_null());
    json_object_set_new(o, "outcome", json_string(pf_outcome_name(row->outcome)));
    json_object_set_new(o, "status", row->status ? json_integer(row->status) : json_null());
    json_object_set_new(o, "elapsed_ms", json_integer(row->elapsed_ms));
    if (row->diagnosed) {
        json_object_set_new(o, "verdict", json_string(diag_verdict_name(row->verdict)));
        json_object_set_new(o, "cause", json_string(diag_cause_name(row->cause)));
        json_object_set_new(o, "error", code_json(row->code));
        json_object_set_new(o, "hints", names_json(row->hints, DIAG_HINT_COUNT, hint_name));
        json_object_set_new(o, "warnings",
                            names_json(row->warnings, DIAG_WARN_COUNT, warning_name));
    }
    if (row->has_times) {
        json_object_set_new(o, "issued_at", json_integer(row->issue_ts));
        json_object_set_new(o, "expires_at", json_integer(row->expires_at));
        json_object_set_new(o, "received_at", json_integer(row->received_at));
    }
    json_t *f = json_array();
    for (int k = 0; k < PF_FINDING_COUNT; k++)
        if (row->findings & BIT(k))
            json_array_append_new(f, json_string(pf_catalog((pf_finding)k)->id));
    json_object_set_new(o, "findings", f);
    return o;
}

json_t *pf_report_to_json(const pf_report *r) {
    json_t *findings = json_array(), *rows = json_array();
    for (int k = 0; findings && k < PF_FINDING_COUNT; k++) {
        if (!(r->findings & BIT(k)))
            continue;
        const pf_catalog_entry *e = pf_catalog((pf_finding)k);
        json_t *req = json_array();
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows_of[k] & 1u << i)
                json_array_append_new(req, json_integer((json_int_t)i + 1));
        json_array_append_new(findings,
                              json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", e->id, "title", e->title,
                                        "client", e->client, "fix", e->fix, "requests", req));
    }
    for (size_t i = 0; rows && i < r->nrows; i++)
        json_array_append_new(rows, row_json(r, i));
    const char *result = !r->reached ? "unreachable" : r->findings ? "findings" : "ok";
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:b,s:o,s:o}", "result", result, "url", r->url,
        "app_id", r->app_id, "service", r->service == DIAG_SERVICE_RTC ? "rtc" : "rtm",
        "started_at", (json_int_t)r->started_at, "duration_ms", (json_int_t)r->duration_ms,
        "requests_planned", (json_int_t)r->nrows, "requests_sent", (json_int_t)r->sent,
        "clock_offset_s", r->has_clock_offset ? json_integer(r->clock_offset) : json_null(),
        "roles_checked", r->cohost_auth && r->has_role, "findings", findings, "requests", rows);
}

/* ---- Text --------------------------------------------------------------------------------- */

static void print_row_line(FILE *out, const pf_report *r, size_t i) {
    const pf_row *row = &r->rows[i];
    fprintf(out, "  #%-2zu %-26s ", i + 1, row->label);
    if (row->outcome != PF_OUT_ANSWERED)
        fprintf(out, "%s", pf_outcome_name(row->outcome));
    else if (!row->diagnosed)
        fprintf(out, "HTTP %d", row->status);
    else
        fprintf(out, "HTTP %d, %s (%s)", row->status, diag_verdict_name(row->verdict),
                diag_cause_name(row->cause));
    if (row->diagnosed && row->code && row->code->code)
        fprintf(out, ", client gets %d %s", row->code->code,
                row->code->name ? row->code->name : "");
    for (int h = 0; row->diagnosed && h < DIAG_HINT_COUNT; h++)
        if (row->hints & 1u << h)
            fprintf(out, " [%s]", diag_hint_name((diag_hint)h));
    if (row->sdk_refuses)
        fprintf(out, " (the SDK refuses this channel itself: not counted)");
    fputc('\n', out);
}

void pf_report_print(FILE *out, const pf_report *r, bool color) {
    const char *bold = color ? "\033[1m" : "", *red = color ? "\033[31m" : "",
               *green = color ? "\033[32m" : "", *off = color ? "\033[0m" : "";
    fprintf(out, "preflight %s\n  App ID %s, %s; %zu of %zu requests sent in %.1f s\n", r->url,
            r->app_id, r->service == DIAG_SERVICE_RTC ? "rtc" : "rtm", r->sent, r->nrows,
            r->duration_ms / 1000.0);
    if (r->has_clock_offset)
        fprintf(out, "  server clock: %+lld s against ours (from 007 issue times)\n",
                (long long)r->clock_offset);
    if (!(r->cohost_auth && r->has_role))
        fprintf(out, "  roles: not checked (%s)\n",
                r->has_role ? "the project does not use co-host authentication"
                            : "the template has no {role}");
    fputc('\n', out);
    if (!r->reached)
        fprintf(out, "%sUNREACHABLE%s: no request got an answer (refused, closed or silent)\n\n",
                red, off);
    for (int k = 0; k < PF_FINDING_COUNT; k++) {
        if (!(r->findings & BIT(k)))
            continue;
        const pf_catalog_entry *e = pf_catalog((pf_finding)k);
        fprintf(out, "%sFINDING %s%s: %s\n", bold, e->id, off, e->title);
        fprintf(out, "  client gets: %s\n", e->client);
        fprintf(out, "  fix:         %s\n", e->fix);
        fprintf(out, "  requests:\n");
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows_of[k] & 1u << i)
                print_row_line(out, r, i);
        fputc('\n', out);
    }
    fprintf(out, "requests:\n");
    for (size_t i = 0; i < r->nrows; i++)
        print_row_line(out, r, i);
    int status = pf_report_exit(r);
    fprintf(out, "\n%s%s%s\n", status == 0 ? green : red,
            status == 0   ? "OK: every token would join"
            : status == 1 ? "FINDINGS: fix the token server (above)"
                          : "UNREACHABLE: check the URL and that the server runs",
            off);
}
