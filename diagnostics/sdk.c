/* sdk.c -- the client's SDK: its version, and which SDKs read an AccessToken2 ("007") token.
 *
 * Design
 * ------
 * diagnosis.md "The client's SDK" says which SDK releases first read AccessToken2, per service
 * and per platform *as the request names it* (Flutter's agora_rtc_engine has its own numbering,
 * although it reports the native codes). That is one table, first_007, of (service, client,
 * first version); a (service, client) pair without a row has no known threshold (Cocos) and is
 * never judged too old. Adding a platform's threshold is adding a row.
 *
 * Versions are parsed strictly (MAJOR.MINOR[.PATCH], a leading 'v', at most
 * DIAG_SDK_PART_DIGITS digits a part), so that what a client sends is range-checked before any
 * comparison and "2", "2.x" or "1.5.0-beta" are refused as bad requests rather than guessed at.
 */
#include "diag_internal.h"

#include <stdio.h>
#include <string.h>

const char diag_sdk_version_form[] =
    "must be MAJOR.MINOR or MAJOR.MINOR.PATCH (e.g. 4.8.0, 2.2, v1.5.1), each part 1 to 4 digits";

/* Reads one part of 1..DIAG_SDK_PART_DIGITS digits at p[*i]; false on anything else. */
static bool read_part(const char *p, size_t n, size_t *i, uint32_t *out) {
    size_t start = *i;
    uint32_t v = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9' && *i - start < DIAG_SDK_PART_DIGITS)
        v = v * 10 + (uint32_t)(p[(*i)++] - '0');
    if (*i == start || (*i < n && p[*i] >= '0' && p[*i] <= '9'))
        return false; /* no digit, or more than DIAG_SDK_PART_DIGITS */
    *out = v;
    return true;
}

bool diag_sdk_version_parse(const char *p, size_t n, diag_sdk_version *out) {
    if (!p || n == 0 || n > DIAG_SDK_TEXT_MAX)
        return false;
    size_t i = p[0] == 'v' ? 1 : 0;
    uint32_t part[3] = {0, 0, 0};
    int parts = 0;
    while (parts < 3) {
        if (!read_part(p, n, &i, &part[parts]))
            return false;
        parts++;
        if (i == n)
            break;
        if (p[i] != '.')
            return false;
        i++;
    }
    if (i != n || parts < 2)
        return false;
    out->major = part[0];
    out->minor = part[1];
    out->patch = part[2];
    memcpy(out->text, p, n);
    out->text[n] = '\0';
    return true;
}

/* -1, 0, 1 as a is older than, the same as, newer than b (MAJOR.MINOR.PATCH). */
static int version_cmp(const diag_sdk_version *a, uint32_t major, uint32_t minor, uint32_t patch) {
    uint32_t x[3] = {a->major, a->minor, a->patch}, y[3] = {major, minor, patch};
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* The first release of each SDK that reads a 007 token (the vendor's AccessToken2 table). RTM:
 * 1.5.0, the Web SDK 1.4.6; RTC: 3.5.2 natively, Web 4.8.0, Flutter 4.2.0; Cocos: none known. */
typedef struct {
    diag_service service;
    diag_client client;
    uint32_t major, minor, patch;
} first_007;

static const first_007 first_007_table[] = {
    {DIAG_SERVICE_RTM, DIAG_CLIENT_NATIVE, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_OBJC, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_WEB, 1, 4, 6},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_ANDROID, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_WINDOWS, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_LINUX, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_UNITY, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_ELECTRON, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_FLUTTER, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_REACT_NATIVE, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_COCOS, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_IOS, 1, 5, 0},
    {DIAG_SERVICE_RTM, DIAG_CLIENT_MACOS, 1, 5, 0},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_NATIVE, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_OBJC, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_WEB, 4, 8, 0},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_ANDROID, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_WINDOWS, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_LINUX, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_UNITY, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_ELECTRON, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_FLUTTER, 4, 2, 0},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_REACT_NATIVE, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_IOS, 3, 5, 2},
    {DIAG_SERVICE_RTC, DIAG_CLIENT_MACOS, 3, 5, 2},
};

diag_sdk_support diag_sdk_reads_007(diag_service service, diag_client client,
                                    const diag_sdk_version *v, char *first, size_t first_cap) {
    for (size_t i = 0; i < sizeof first_007_table / sizeof first_007_table[0]; i++) {
        const first_007 *f = &first_007_table[i];
        if (f->service != service || f->client != client)
            continue;
        if (first && first_cap)
            snprintf(first, first_cap, "%u.%u.%u", f->major, f->minor, f->patch);
        return version_cmp(v, f->major, f->minor, f->patch) < 0 ? DIAG_SDK_TOO_OLD : DIAG_SDK_READS;
    }
    if (first && first_cap)
        first[0] = '\0';
    return DIAG_SDK_NO_THRESHOLD;
}

diag_table diag_table_of(diag_service service, const diag_sdk_version *sdk) {
    if (service == DIAG_SERVICE_RTC)
        return DIAG_TABLE_RTC;
    return sdk && sdk->major >= 2 ? DIAG_TABLE_RTM2 : DIAG_TABLE_RTM1;
}
