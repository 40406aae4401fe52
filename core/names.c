/* names.c -- the names of service types, privileges, rtm2 resources and permissions, and of
 * decode statuses.
 *
 * Design
 * ------
 * Plain switch tables transcribed from docs/spec/token-formats.md, so that a reader can check
 * them line by line against the spec. A name is returned only where the spec defines one; an
 * unnamed value is NULL (rendered as null / by number), never a guess.
 */
#include "core_internal.h"

const char *td_status_name(td_status status) {
    switch (status) {
    case TD_OK:
        return "ok";
    case TD_ERR_UNSUPPORTED_VERSION:
        return "unsupported_version";
    case TD_ERR_LEGACY_VERSION:
        return "legacy_version";
    case TD_ERR_NOT_BASE64:
        return "not_base64";
    case TD_ERR_TRUNCATED:
        return "truncated";
    case TD_ERR_CORRUPTED:
        return "corrupted";
    }
    return "corrupted";
}

const char *td_service_name(uint16_t type) {
    switch (type) {
    case TD_SVC_RTC:
        return "rtc";
    case TD_SVC_RTM:
        return "rtm";
    case TD_SVC_STREAMING:
        return "streaming";
    case TD_SVC_FPA:
        return "fpa";
    case TD_SVC_CHAT:
        return "chat";
    case TD_SVC_FCDN:
        return "fcdn";
    case TD_SVC_APAAS:
        return "apaas";
    case TD_SVC_RTM2:
        return "rtm2";
    case TD_SVC_CONVOAI:
        return "convoai";
    case TD_SVC_STT:
        return "stt";
    default:
        return "unknown";
    }
}

/* rtc's ids 1..4, which 006 shares. */
static const char *rtc_privilege_name(uint16_t id) {
    static const char *const rtc[] = {NULL, "join_channel", "publish_audio_stream",
                                      "publish_video_stream", "publish_data_stream"};
    return id < 5 ? rtc[id] : NULL;
}

const char *td_privilege_name(uint16_t service_type, uint16_t id) {
    switch (service_type) {
    case 0: /* 006 */
        return id == TD_PRIV_ADMINISTRATE    ? "administrate_channel"
               : id == TD_PRIV_RTM_LOGIN_006 ? "rtm_login"
                                             : rtc_privilege_name(id);
    case TD_SVC_RTC:
        return rtc_privilege_name(id);
    case TD_SVC_RTM:
    case TD_SVC_FPA:
    case TD_SVC_RTM2:
        return id == 1 ? "login" : NULL;
    case TD_SVC_STREAMING:
        return id == 1 ? "publish_mix_stream" : id == 2 ? "publish_raw_stream" : NULL;
    case TD_SVC_CHAT:
        return id == 1 ? "user" : id == 2 ? "app" : NULL;
    case TD_SVC_FCDN:
        return id == 1 ? "publish" : id == 2 ? "play" : NULL;
    case TD_SVC_APAAS: {
        static const char *const apaas[] = {NULL, "room_user", "user", "app"};
        return id < 4 ? apaas[id] : NULL;
    }
    default:
        return NULL; /* convoai, stt: none defined; unknown types */
    }
}

const char *td_rtm2_resource_name(uint16_t resource_type) {
    static const char *const names[] = {"message_channels", "stream_channels", "group_channels",
                                        "server_groups", "users"};
    return resource_type < 5 ? names[resource_type] : NULL;
}

const char *td_rtm2_permission_name(uint16_t permission_type) {
    return permission_type == 0 ? "read" : permission_type == 1 ? "write" : NULL;
}
