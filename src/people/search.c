/* GET /v1/users/search?q=&limit=&cursor=: finding people by username prefix
 * and display-name words, rate-limited per user so that nobody lists every
 * account by trying every prefix. The order, the exclusions (privacy,
 * guests, deleted, disabled and pending accounts) and the paging are the
 * store's (store/people.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people/people_int.h"
#include "proto/validate.h"
#include "util/alloc.h"
#include "util/clock.h"

#define Q_MAX_CHARS 64
#define LIMIT_DEFAULT 20
#define LIMIT_MAX 50

static void on_found(mp_err_t rc, const mp_profile_row_t *rows, size_t n, const char *next,
                     void *ud)
{
    mp_http_req_t *req = ud;
    if (rc != MP_OK) {
        mp_http_respond_error(req, rc, NULL);
        return;
    }
    json_t *users = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(users, mp_people__profile_json(&rows[i]));
    mp_http_respond(req, 200,
                    json_pack("{s:o,s:o}", "users", users, "next_cursor",
                              next ? json_string(next) : json_null()));
}

/* q without surrounding spaces and one leading '@', into out. NULL when
 * fine, else the message. */
static const char *parse_q(const char *q, char *out, size_t outlen)
{
    static const char rule[] = "field 'q' must be 1 to 64 characters";
    if (q == NULL)
        return "field 'q' is required";
    size_t len = strlen(q);
    while (len > 0 && isspace((unsigned char)q[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*q)) {
        q++;
        len--;
    }
    if (len > 0 && *q == '@') {
        q++;
        len--;
    }
    if (len == 0 || len >= outlen || !mp_utf8_valid(q, len) || mp_utf8_chars(q, len) > Q_MAX_CHARS)
        return rule;
    if (!mp_text_check(q, len, MP_TEXT_NAME))
        return "field 'q' must not contain control or invisible characters";
    memcpy(out, q, len);
    out[len] = '\0';
    return NULL;
}

/* limit: absent → the default; else a decimal 1..50. */
static bool parse_limit(const char *s, unsigned *out)
{
    *out = LIMIT_DEFAULT;
    if (s == NULL)
        return true;
    char *end = NULL;
    if (!isdigit((unsigned char)s[0]))
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v < 1 || v > LIMIT_MAX)
        return false;
    *out = (unsigned)v;
    return true;
}

/* False when over the caller's budget (then answered 429). */
static bool search_rate_ok(mp_http_req_t *req, mp_people_t *people, uint64_t user)
{
    int64_t retry_ms = 0;
    if (mp_ratelimit_take(people->search_limit, user, mp_mono_ms(), &retry_ms))
        return true;
    mp_http_respond_retry(req, MP_ERR_RATE_LIMITED, "too many user searches; try again later",
                          (unsigned)((retry_ms + 999) / 1000));
    return false;
}

void mp_people__route_search(mp_http_req_t *req)
{
    mp_people_t *people = mp_people__of(req);
    char q[MP_PEOPLE_SEARCH_Q_MAX + 1];
    unsigned limit;
    const char *cursor = mp_http_req_query(req, "cursor");
    const char *bad = parse_q(mp_http_req_query(req, "q"), q, sizeof q);
    if (bad == NULL && !parse_limit(mp_http_req_query(req, "limit"), &limit))
        bad = "field 'limit' must be an integer from 1 to 50";
    if (bad == NULL && cursor != NULL && strlen(cursor) > MP_PEOPLE_SEARCH_CURSOR_MAX)
        bad = "field 'cursor' is not a cursor of this search";
    if (bad != NULL) {
        mp_http_respond_error(req, MP_ERR_BAD_REQUEST, bad);
        return;
    }
    uint64_t me = mp_http_req_principal(req)->user_id;
    if (!search_rate_ok(req, people, me))
        return;
    mp_people_search_in_t in = {.viewer = me, .q = q, .limit = limit, .cursor = cursor};
    mp_err_t rc = mp_store_people_search(people->ctx->store, &in, on_found, req);
    if (rc == MP_ERR_BAD_REQUEST)
        mp_http_respond_error(req, rc, "field 'cursor' is not a cursor of this search");
    else if (rc != MP_OK)
        mp_http_respond_error(req, rc, NULL);
}
