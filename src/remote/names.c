/* Names people read instead of ids: resolving a TO argument, and a cache of
 * user and conversation labels for display. */
#include "remote/remote_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/map.h"

/* Pages of the conversation list read when looking for a group by title:
 * 200 conversations a page, so 10,000 groups and chats. */
#define LIST_PAGES 50

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static uint64_t id_key(const char *id)
{
    return all_digits(id) ? strtoull(id, NULL, 10) : 0;
}

/* The caller's conversation list, every page, archived ones too; calls fn
 * for each entry until it returns false. */
static int each_conversation(mpr_session_t *s, bool (*fn)(json_t *conv, void *arg), void *arg,
                             mpr_err_t *e)
{
    if (mpr_http_pages(s, "/v1/conversations?limit=200", "conversations", LIST_PAGES, fn, arg, e) !=
        0)
        return -1;
    return mpr_http_pages(s, "/v1/conversations?limit=200&archived=true", "conversations",
                          LIST_PAGES, fn, arg, e);
}

/* ---- TO arguments ------------------------------------------------------------- */

typedef struct {
    const char *title;
    json_t *exact, *folded; /* arrays of matching conversation ids */
} group_search_t;

static bool match_group(json_t *conv, void *arg)
{
    group_search_t *g = arg;
    const char *kind = json_string_value(json_object_get(conv, "kind"));
    const char *title = json_string_value(json_object_get(conv, "title"));
    json_t *id = json_object_get(conv, "conversation_id");
    if (kind == NULL || strcmp(kind, "group") != 0 || title == NULL)
        return true;
    if (strcmp(title, g->title) == 0)
        json_array_append(g->exact, id);
    else if (strcasecmp(title, g->title) == 0)
        json_array_append(g->folded, id);
    return true;
}

static int resolve_group(mpr_session_t *s, const char *title, mpr_target_t *t, mpr_err_t *e)
{
    group_search_t g = {title, json_array(), json_array()};
    int rc = each_conversation(s, match_group, &g, e);
    json_t *hits = json_array_size(g.exact) > 0 ? g.exact : g.folded;
    if (rc == 0 && json_array_size(hits) == 0)
        rc = mpr_fail(e, MPR_EXIT_REFUSED, "not_found", "you are in no group named \"%s\"", title);
    if (rc == 0 && json_array_size(hits) > 1) {
        char ids[400] = "";
        size_t i;
        json_t *id;
        json_array_foreach(hits, i, id)
        {
            size_t len = strlen(ids);
            snprintf(ids + len, sizeof ids - len, "%s%s", i ? ", " : "", json_string_value(id));
        }
        rc = mpr_fail(e, MPR_EXIT_REFUSED, "ambiguous",
                      "%zu of your groups are named \"%s\"; give the conversation id: %s",
                      json_array_size(hits), title, ids);
    }
    if (rc == 0) {
        snprintf(t->conversation, sizeof t->conversation, "%s",
                 json_string_value(json_array_get(hits, 0)));
        snprintf(t->kind, sizeof t->kind, "group");
        snprintf(t->label, sizeof t->label, "#%s", title);
    }
    json_decref(g.exact);
    json_decref(g.folded);
    return rc;
}

/* GET or POST path (body may be NULL) and copy the answer's conversation_id. */
static int conversation_of(mpr_session_t *s, const char *method, const char *path, json_t *body,
                           mpr_target_t *t, mpr_err_t *e)
{
    json_t *ans;
    if (mpr_http_json(s, method, path, body, &ans, e) != 0)
        return -1;
    const char *id = json_string_value(json_object_get(ans, "conversation_id"));
    int rc = 0;
    if (id == NULL)
        rc = mpr_fail(e, MPR_EXIT_REFUSED, "internal", "%s answered no conversation_id", path);
    else
        snprintf(t->conversation, sizeof t->conversation, "%s", id);
    json_decref(ans);
    return rc;
}

int mpr_resolve(mpr_session_t *s, const char *to, mpr_target_t *t, mpr_err_t *e)
{
    memset(t, 0, sizeof *t);
    if (to == NULL || to[0] == '\0')
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "no TO given");
    if (strcmp(to, "world") == 0) {
        snprintf(t->kind, sizeof t->kind, "world");
        snprintf(t->label, sizeof t->label, "world");
        return conversation_of(s, "GET", "/v1/world", NULL, t, e);
    }
    if (to[0] == '@' && to[1] != '\0') {
        snprintf(t->kind, sizeof t->kind, "direct");
        snprintf(t->label, sizeof t->label, "%s", to);
        json_t *body = json_pack("{s:s}", "username", to + 1);
        int rc = conversation_of(s, "POST", "/v1/conversations/direct", body, t, e);
        json_decref(body);
        return rc;
    }
    if (to[0] == '#' && to[1] != '\0')
        return resolve_group(s, to + 1, t, e);
    if (all_digits(to) && strlen(to) < sizeof t->conversation) {
        snprintf(t->conversation, sizeof t->conversation, "%s", to);
        snprintf(t->label, sizeof t->label, "%s", to);
        return 0;
    }
    return mpr_fail(e, MPR_EXIT_USAGE, "usage",
                    "\"%s\": TO is @username, #group title, world or a conversation id", to);
}

/* ---- the names cache --------------------------------------------------------------- */

/* After a lookup fails for want of the server, none is tried for this long:
 * a screen redrawn while offline must not wait on the network each time. */
#define OFFLINE_QUIET_MS 10000

struct mpr_names {
    mpr_session_t *s;
    int64_t quiet_until; /* monotonic ms; no lookups before */
    mp_map_t users;      /* user id -> malloc'd username */
    mp_map_t convs;      /* conversation id -> malloc'd label */
    bool listed;         /* the conversation list was read once */
};

mpr_names_t *mpr_names_new(mpr_session_t *s)
{
    mpr_names_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        abort();
    n->s = s;
    mp_map_init(&n->users);
    mp_map_init(&n->convs);
    return n;
}

static void free_values(mp_map_t *m)
{
    mp_map_iter_t it;
    void *v;
    mp_map_iter_init(m, &it);
    while (mp_map_iter_next(m, &it, NULL, &v))
        free(v);
    mp_map_free(m);
}

void mpr_names_free(mpr_names_t *n)
{
    if (n == NULL)
        return;
    free_values(&n->users);
    free_values(&n->convs);
    free(n);
}

/* Learning the same name again keeps the string, so that what a caller
 * holds stays valid; a new name replaces it. */
static const char *put(mp_map_t *m, uint64_t key, const char *value)
{
    char *old = mp_map_get(m, key);
    if (old != NULL && strcmp(old, value) == 0)
        return old;
    char *copy = strdup(value);
    if (copy == NULL)
        abort();
    free(mp_map_put(m, key, copy));
    return copy;
}

/* False while the server was found unreachable a moment ago. */
static bool may_ask(const mpr_names_t *n)
{
    return mp_mono_ms() >= n->quiet_until;
}

static void went_offline(mpr_names_t *n)
{
    n->quiet_until = mp_mono_ms() + OFFLINE_QUIET_MS;
}

void mpr_names_learn_user(mpr_names_t *n, const char *user_id, const char *username)
{
    uint64_t k = id_key(user_id);
    if (k != 0 && username != NULL)
        put(&n->users, k, username);
}

void mpr_names_learn_conv(mpr_names_t *n, json_t *conv)
{
    const char *id = json_string_value(json_object_get(conv, "conversation_id"));
    const char *kind = json_string_value(json_object_get(conv, "kind"));
    uint64_t k = id != NULL ? id_key(id) : 0;
    if (k == 0 || kind == NULL)
        return;
    char label[160];
    json_t *peer = json_object_get(conv, "peer");
    if (strcmp(kind, "world") == 0) {
        snprintf(label, sizeof label, "world");
    } else if (strcmp(kind, "group") == 0 && json_is_string(json_object_get(conv, "title"))) {
        snprintf(label, sizeof label, "#%s", json_string_value(json_object_get(conv, "title")));
    } else if (json_is_object(peer)) { /* the conversation list: the peer's profile */
        const char *uid = json_string_value(json_object_get(peer, "user_id"));
        const char *name = json_string_value(json_object_get(peer, "username"));
        if (uid == NULL || name == NULL)
            return;
        mpr_names_learn_user(n, uid, name);
        snprintf(label, sizeof label, "@%s", name);
    } else if (json_is_string(peer)) { /* sync: the peer's id */
        snprintf(label, sizeof label, "@%s", mpr_names_user(n, json_string_value(peer)));
    } else {
        return;
    }
    put(&n->convs, k, label);
}

const char *mpr_names_user(mpr_names_t *n, const char *user_id)
{
    uint64_t k = id_key(user_id);
    if (k == 0)
        return user_id;
    const char *v = mp_map_get(&n->users, k);
    if (v != NULL)
        return v;
    if (!may_ask(n))
        return user_id;
    char path[64];
    snprintf(path, sizeof path, "/v1/users/%s", user_id);
    mpc_response_t r;
    mpr_err_t e;
    const char *name = NULL;
    if (mpr_http(n->s, "GET", path, NULL, &r, &e) > 0) {
        if (r.status == 200)
            name = json_string_value(json_object_get(r.json, "username"));
        /* Unknown or unreadable (guests may not read profiles): the id. */
        v = put(&n->users, k, name != NULL ? name : user_id);
        mpc_response_free(&r);
        return v;
    }
    went_offline(n);
    return user_id; /* try again once the quiet time is over */
}

static bool learn_one(json_t *conv, void *arg)
{
    mpr_names_learn_conv(arg, conv);
    return true;
}

const char *mpr_names_conv(mpr_names_t *n, const char *conversation_id)
{
    uint64_t k = id_key(conversation_id);
    if (k == 0)
        return conversation_id;
    const char *v = mp_map_get(&n->convs, k);
    if (v != NULL)
        return v;
    mpr_err_t e;
    mpc_response_t r;
    char path[64];
    snprintf(path, sizeof path, "/v1/groups/%s", conversation_id);
    if (mpr_http(n->s, "GET", path, NULL, &r, &e) > 0) {
        if (r.status == 200)
            mpr_names_learn_conv(n, r.json);
        mpc_response_free(&r);
    }
    if ((v = mp_map_get(&n->convs, k)) != NULL)
        return v;
    if (mpr_http(n->s, "GET", "/v1/world", NULL, &r, &e) > 0) {
        if (r.status == 200)
            mpr_names_learn_conv(n, r.json);
        mpc_response_free(&r);
    }
    if ((v = mp_map_get(&n->convs, k)) != NULL)
        return v;
    /* A direct conversation: the list has its peer. Read once per run; a
     * conversation that appears later is named by the sync entry or event
     * that brings it (mpr_names_learn_conv). */
    if (!n->listed) {
        n->listed = true;
        each_conversation(n->s, learn_one, n, &e);
        if ((v = mp_map_get(&n->convs, k)) != NULL)
            return v;
    }
    return put(&n->convs, k, conversation_id);
}
