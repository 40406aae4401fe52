/* mint.c -- the token a `mint` request asks for (tddiag.h: diag_mint), shared by the CLI and
 * POST /v1/tokens so that both give the same privileges, values and layout for the same inputs.
 * The wire work is core's (td_build006 / td_build007); this file only decides what goes in.
 */
#include "diag_internal.h"

#include <stddef.h>
#include <string.h>

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
