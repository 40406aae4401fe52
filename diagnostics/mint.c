/* mint.c -- the token a `mint` request asks for (tddiag.h), shared by the CLI and POST
 * /v1/tokens so that both accept the same inputs (diag_mint_prepare: defaults and rules) and give
 * the same privileges, values and layout for them (diag_mint). The wire work is core's
 * (td_build006 / td_build007); this file only decides what goes in.
 */
#include "diag_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MINT_EXPIRE_DEFAULT 3600

/* A number a 32-bit field holds. */
static bool fits_u32(bool has, uint64_t v) {
    return !has || v <= UINT32_MAX;
}

/* Version, service and role: the words of the request. */
static bool prepare_words(const diag_mint_request *rq, diag_mint_input *out, char *err,
                          size_t cap) {
    const char *version = rq->version ? rq->version : "007";
    if (strcmp(version, "007") != 0 && strcmp(version, "006") != 0)
        return diag_fail(err, cap, "version: must be 007 or 006");
    out->v006 = version[2] == '6';
    out->service = DIAG_SERVICE_RTC;
    if (rq->service && !diag_service_parse(rq->service, &out->service))
        return diag_fail(err, cap, "service: must be rtc or rtm");
    diag_role role = DIAG_ROLE_PUBLISHER;
    if (rq->role && !diag_role_parse(rq->role, &role))
        return diag_fail(err, cap, "role: must be publisher or subscriber (host, audience)");
    out->subscriber = role == DIAG_ROLE_SUBSCRIBER;
    return true;
}

/* Who the token is for: the channel (rtc) and the uid or account (the user id for rtm). */
static bool prepare_identity(const diag_mint_request *rq, diag_mint_input *out, char uid_buf[16],
                             char *err, size_t cap) {
    if (rq->has_uid && rq->account)
        return diag_fail(err, cap, "uid, account: give one of them, not both");
    if (!fits_u32(rq->has_uid, rq->uid))
        return diag_fail(err, cap, "uid: must be an integer in 0..4294967295");
    if (rq->account && rq->account_len > DIAG_ACCOUNT_MAX)
        return diag_fail(err, cap, "account: longer than %d bytes", DIAG_ACCOUNT_MAX);
    uid_buf[0] = '\0';
    if (rq->has_uid && rq->uid != 0)
        snprintf(uid_buf, 16, "%u", (unsigned)rq->uid);
    out->uid = rq->account ? rq->account : uid_buf;
    out->uid_len = rq->account ? rq->account_len : strlen(uid_buf);
    if (out->service == DIAG_SERVICE_RTM) {
        if (rq->channel)
            return diag_fail(err, cap,
                             "channel: not used with service rtm (the user id is the "
                             "account or the uid)");
        if (rq->role)
            return diag_fail(err, cap, "role: not used with service rtm");
        if (out->uid_len == 0)
            return diag_fail(err, cap,
                             "account, uid: service rtm needs a non-empty user id "
                             "(an account, or a uid above 0)");
        return true;
    }
    if (!rq->channel || rq->channel_len == 0)
        return diag_fail(err, cap, "channel: required (non-empty) for service rtc");
    if (rq->channel_len > UINT16_MAX)
        return diag_fail(err, cap, "channel: longer than 65535 bytes");
    out->channel = rq->channel;
    out->channel_len = rq->channel_len;
    return true;
}

bool diag_mint_prepare(const diag_mint_request *rq, int64_t now, diag_mint_input *out,
                       char uid_buf[16], char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (!prepare_words(rq, out, err, err_cap) || !prepare_identity(rq, out, uid_buf, err, err_cap))
        return false;
    const struct {
        const char *name;
        bool has;
        uint64_t v;
    } numbers[] = {{"expire", rq->has_expire, rq->expire},
                   {"privilege_expire", rq->has_privilege_expire, rq->privilege_expire},
                   {"issue_ts", rq->has_issue_ts, rq->issue_ts},
                   {"salt", rq->has_salt, rq->salt}};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (!fits_u32(numbers[i].has, numbers[i].v))
            return diag_fail(err, err_cap, "%s: must be an integer in 0..4294967295",
                             numbers[i].name);
    uint64_t expire = rq->has_expire ? rq->expire : MINT_EXPIRE_DEFAULT;
    uint64_t privilege = rq->has_privilege_expire ? rq->privilege_expire : expire;
    uint64_t issue = rq->has_issue_ts ? rq->issue_ts : (uint64_t)(now < 0 ? 0 : now);
    if (issue > UINT32_MAX)
        return diag_fail(err, err_cap, "issue_ts: must be an integer in 0..4294967295");
    /* 006 holds absolute times: issue time + lifetime must fit its 32 bits. */
    if (out->v006 && issue + expire > UINT32_MAX)
        return diag_fail(err, err_cap, "expire: issue_ts + expire is beyond 4294967295 (006)");
    if (out->v006 && issue + privilege > UINT32_MAX)
        return diag_fail(
            err, err_cap,
            "privilege_expire: issue_ts + privilege_expire is beyond 4294967295 (006)");
    out->issue_ts = (uint32_t)issue;
    out->expire = (uint32_t)expire;
    out->privilege_expire = (uint32_t)privilege;
    out->has_salt = rq->has_salt;
    out->salt = (uint32_t)rq->salt;
    return true;
}

static void add_privilege(td_token *t, uint16_t id, uint32_t value) {
    t->privileges[t->privilege_total++] = (td_privilege){id, value};
}

/* The privileges of the request, all with value; returns how many. */
static uint16_t add_privileges(td_token *t, const diag_mint_input *in, uint32_t value) {
    if (in->service == DIAG_SERVICE_RTM) {
        add_privilege(t, in->v006 ? TD_PRIV_RTM_LOGIN_006 : TD_PRIV_LOGIN, value);
    } else {
        add_privilege(t, TD_PRIV_JOIN_CHANNEL, value);
        if (!in->subscriber) {
            add_privilege(t, TD_PRIV_PUBLISH_AUDIO, value);
            add_privilege(t, TD_PRIV_PUBLISH_VIDEO, value);
            add_privilege(t, TD_PRIV_PUBLISH_DATA, value);
        }
    }
    return t->privilege_total;
}

size_t diag_mint(td_ctx *ctx, const diag_mint_input *in, const char *cert, td_token *spec,
                 char *out, size_t out_cap) {
    memset(spec, 0, offsetof(td_token, content)); /* building never reads the content buffer */
    spec->app_id = (td_str){in->app_id, TD_CERT_LEN};
    spec->salt = in->has_salt ? in->salt : td_random_salt(ctx);
    bool rtm = in->service == DIAG_SERVICE_RTM;
    const char *channel = in->channel ? in->channel : "";
    size_t channel_len = in->channel ? in->channel_len : 0;

    if (in->v006) {
        memcpy(spec->version, "006", 4);
        spec->ts = in->issue_ts + in->expire;
        spec->privilege_count_006 = add_privileges(spec, in, in->issue_ts + in->privilege_expire);
        /* rtm: the user id stands in the channel's place, and no uid is signed */
        return td_build006(ctx, spec, cert, TD_CERT_LEN, rtm ? in->uid : channel,
                           rtm ? in->uid_len : channel_len, rtm ? "" : in->uid,
                           rtm ? 0 : in->uid_len, out, out_cap);
    }
    memcpy(spec->version, "007", 4);
    spec->issue_ts = in->issue_ts;
    spec->expire = in->expire;
    spec->service_count = 1;
    td_service *svc = &spec->services[0];
    svc->known = true;
    svc->privilege_count = add_privileges(spec, in, in->privilege_expire);
    if (rtm) {
        svc->type = TD_SVC_RTM;
        svc->a = (td_str){in->uid, in->uid_len};
    } else {
        svc->type = TD_SVC_RTC;
        svc->a = (td_str){channel, channel_len};
        svc->b = (td_str){in->uid, in->uid_len};
    }
    return td_build007(ctx, spec, cert, TD_CERT_LEN, out, out_cap);
}
