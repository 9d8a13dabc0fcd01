/* Bench users and conversations through the public HTTP API, with the
 * client library's blocking layer. Password hashing (argon2id, ~90 ms per
 * register or login, 2 at once on the server) makes this the slow part of a
 * run, so a few threads keep the server's hashing pool busy, and --accounts
 * keeps user ids and refresh tokens so that later runs refresh (no hashing)
 * instead of logging in. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_int.h"
#include "client/client.h"
#include "util/alloc.h"

#define SETUP_THREADS 4
#define HTTP_TIMEOUT_MS 30000

typedef struct job {
    const mp_bench_opts_t *o;
    mp_bench_account_t *acc;
    unsigned n;
    atomic_uint next;
    atomic_uint done;
    atomic_int failed;
    pthread_mutex_t mu;
    char err[256];
} job_t;

static void job_fail(job_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void job_fail(job_t *j, const char *fmt, ...)
{
    pthread_mutex_lock(&j->mu);
    if (atomic_fetch_add(&j->failed, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->err, sizeof(j->err), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&j->mu);
}

mpc_conn_t *mp_bench__dial(const mp_bench_opts_t *o, int timeout_ms, char *err, size_t errlen)
{
    mpc_connect_opts_t co = {.tls = o->tls};
    char why[200];
    mpc_conn_t *c = mpc_connect_ex(o->host, o->port, &co, timeout_ms, why, sizeof(why));
    if (c == NULL && err != NULL)
        snprintf(err, errlen, "cannot connect to %s://%s: %s", o->tls ? "https" : "http",
                 o->hostport, why);
    return c;
}

/* One request on a fresh connection: returns the HTTP status or an MPC_ERR_. */
static int request(const mp_bench_opts_t *o, const char *method, const char *path,
                   const char *token, json_t *body, mpc_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    mpc_conn_t *c = mp_bench__dial(o, HTTP_TIMEOUT_MS, NULL, 0);
    if (c == NULL)
        return MPC_ERR_IO;
    int rc = mpc_http_request(c, method, path, token, body, resp, HTTP_TIMEOUT_MS);
    mpc_conn_free(c);
    return rc == MPC_OK ? resp->status : rc;
}

static const char *code_of(const mpc_response_t *r)
{
    const char *c = mpc_response_error_code(r);
    return c ? c : "";
}

/* Replaces a's tokens from a login or refresh answer; false if it lacks them. */
static bool take_tokens(mp_bench_account_t *a, const mpc_response_t *r)
{
    const char *uid = r->json ? json_string_value(json_object_get(r->json, "user_id")) : NULL;
    const char *tok = r->json ? json_string_value(json_object_get(r->json, "access_token")) : NULL;
    const char *ref = r->json ? json_string_value(json_object_get(r->json, "refresh_token")) : NULL;
    if (uid == NULL || tok == NULL)
        return false;
    snprintf(a->user_id, sizeof(a->user_id), "%s", uid);
    mp_free(a->token);
    a->token = mp_strdup(tok);
    if (ref != NULL) {
        mp_free(a->refresh);
        a->refresh = mp_strdup(ref);
    }
    return true;
}

/* A cached refresh token instead of a login: no password hashing. Returns 0,
 * or -1 (token unknown to this server, used up...) and the caller logs in. */
static int refresh_user(const mp_bench_opts_t *o, mp_bench_account_t *a)
{
    mpc_response_t r;
    json_t *body = json_pack("{s:s}", "refresh_token", a->refresh);
    int st = request(o, "POST", "/v1/auth/refresh", NULL, body, &r);
    json_decref(body);
    bool ok = st == 200 && take_tokens(a, &r);
    mpc_response_free(&r);
    if (!ok) {
        mp_free(a->refresh);
        a->refresh = NULL;
    }
    return ok ? 0 : -1;
}

static int one_user(job_t *j, mp_bench_account_t *a)
{
    const mp_bench_opts_t *o = j->o;
    mpc_response_t r;
    int st;
    if (a->token != NULL || (a->id_only && a->user_id[0] != '\0'))
        return 0; /* from the --accounts cache */
    if (!a->id_only && a->refresh != NULL && refresh_user(o, a) == 0)
        return 0;
    if (o->setup) {
        json_t *body = json_pack("{s:s,s:s}", "username", a->name, "password", o->password);
        st = request(o, "POST", "/v1/auth/register", NULL, body, &r);
        json_decref(body);
        const char *uid = r.json ? json_string_value(json_object_get(r.json, "user_id")) : NULL;
        if (st == 201 && a->id_only && uid != NULL) {
            /* An offline group member needs no session. */
            snprintf(a->user_id, sizeof(a->user_id), "%s", uid);
            mpc_response_free(&r);
            return 0;
        }
        if (st != 201 && !(st == 409 && strcmp(code_of(&r), "username_taken") == 0)) {
            job_fail(j, "register %s: %s %s%s", a->name, st < 0 ? mpc_strerror(st) : "http",
                     st < 0 ? "" : code_of(&r),
                     st == 429 ? " (start the server with a higher --register_rate)" : "");
            mpc_response_free(&r);
            return -1;
        }
        mpc_response_free(&r);
    }
    json_t *body = json_pack("{s:s,s:s,s:s}", "username", a->name, "password", o->password,
                             "device_name", "magpie-bench");
    st = request(o, "POST", "/v1/auth/login", NULL, body, &r);
    json_decref(body);
    if (st != 200 || !take_tokens(a, &r)) {
        job_fail(j, "login %s: %s %d %s%s", a->name, st < 0 ? mpc_strerror(st) : "http", st,
                 st < 0 ? "" : code_of(&r),
                 st == 429   ? " (start the server with a higher --login_rate)"
                 : st == 401 ? (o->setup ? " (user exists with another password?)"
                                         : " (does the user exist? use --setup)")
                             : "");
        mpc_response_free(&r);
        return -1;
    }
    mpc_response_free(&r);
    return 0;
}

static void *worker(void *arg)
{
    job_t *j = arg;
    unsigned i;
    while (atomic_load(&j->failed) == 0 && (i = atomic_fetch_add(&j->next, 1)) < j->n) {
        one_user(j, &j->acc[i]);
        unsigned d = atomic_fetch_add(&j->done, 1) + 1;
        if (j->o->progress && j->n >= 1000 && d % 1000 == 0)
            fprintf(stderr, "magpie bench: setup: %u of %u users\n", d, j->n);
    }
    return NULL;
}

/* ---- --accounts FILE: {"accounts":{"NAME":{"user_id","refresh_token"}}} ---- */

/* Fills user ids and refresh tokens of acc from the cache. Cached ids are
 * only trusted if acc[0]'s cached refresh token still works on this server
 * (a fresh data directory knows none of them); a refused refresh costs only
 * a login. Returns the loaded file (kept for writing back) or a new object. */
static json_t *cache_load(const mp_bench_opts_t *o, mp_bench_account_t *acc, unsigned n)
{
    json_t *root = json_load_file(o->accounts_path, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        root = json_object();
    }
    json_t *all = json_object_get(root, "accounts");
    unsigned cached = 0;
    for (unsigned i = 0; i < n && json_is_object(all); i++) {
        json_t *e = json_object_get(all, acc[i].name);
        const char *uid = json_string_value(json_object_get(e, "user_id"));
        const char *ref = json_string_value(json_object_get(e, "refresh_token"));
        if (uid == NULL)
            continue;
        snprintf(acc[i].user_id, sizeof(acc[i].user_id), "%s", uid);
        acc[i].refresh = ref ? mp_strdup(ref) : NULL;
        cached++;
    }
    bool trusted = n > 0 && acc[0].refresh != NULL && refresh_user(o, &acc[0]) == 0;
    if (!trusted)
        for (unsigned i = 0; i < n; i++)
            acc[i].user_id[0] = '\0'; /* refresh tokens stay: each is checked by its use */
    if (o->progress && cached > 0)
        fprintf(stderr, "magpie bench: %s: %u of %u users cached%s\n", o->accounts_path, cached, n,
                trusted ? "" : ", but not valid on this server: logging in");
    return root;
}

/* Writes back every account with an id (other names in the file are kept). */
static void cache_save(const mp_bench_opts_t *o, json_t *root, const mp_bench_account_t *acc,
                       unsigned n)
{
    json_t *all = json_object_get(root, "accounts");
    if (!json_is_object(all)) {
        all = json_object();
        json_object_set_new(root, "accounts", all);
    }
    for (unsigned i = 0; i < n; i++) {
        if (acc[i].user_id[0] == '\0')
            continue;
        json_t *e = json_pack("{s:s}", "user_id", acc[i].user_id);
        if (acc[i].refresh != NULL)
            json_object_set_new(e, "refresh_token", json_string(acc[i].refresh));
        json_object_set_new(all, acc[i].name, e);
    }
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", o->accounts_path);
    if (json_dump_file(root, tmp, JSON_COMPACT) != 0 || rename(tmp, o->accounts_path) != 0) {
        fprintf(stderr, "magpie bench: cannot write %s\n", o->accounts_path);
        unlink(tmp);
    }
}

int mp_bench__setup_users(const mp_bench_opts_t *o, mp_bench_account_t *acc, unsigned n, char *err,
                          size_t errlen)
{
    job_t j = {.o = o, .acc = acc, .n = n};
    if (o->tls) {
        /* A certificate that does not verify would fail every account with
         * the same "i/o error": say why once, before starting. */
        mpc_conn_t *probe = mp_bench__dial(o, HTTP_TIMEOUT_MS, err, errlen);
        if (probe == NULL)
            return -1;
        mpc_conn_free(probe);
    }
    pthread_mutex_init(&j.mu, NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(acc[i].name, sizeof(acc[i].name), "%s%u", o->prefix, i);
    json_t *cache = o->accounts_path ? cache_load(o, acc, n) : NULL;
    pthread_t th[SETUP_THREADS];
    unsigned nt = n < SETUP_THREADS ? n : SETUP_THREADS;
    for (unsigned t = 0; t < nt; t++)
        pthread_create(&th[t], NULL, worker, &j);
    for (unsigned t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
    if (cache != NULL) {
        cache_save(o, cache, acc, n);
        json_decref(cache);
    }
    if (atomic_load(&j.failed) > 0) {
        snprintf(err, errlen, "setup: %s", j.err);
        return -1;
    }
    return 0;
}

int mp_bench__setup_pairs(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, char *err, size_t errlen)
{
    for (unsigned i = 0; i < ctx->n_pairs; i++) {
        const mp_bench_account_t *a = &ctx->acc[2 * i], *b = &ctx->acc[2 * i + 1];
        json_t *body = json_pack("{s:s}", "user_id", b->user_id);
        mpc_response_t r;
        int st = request(o, "POST", "/v1/conversations/direct", a->token, body, &r);
        json_decref(body);
        if (st == 404 && i == 0) {
            /* Older server: the first send with "to" opens each conversation. */
            mpc_response_free(&r);
            return 0;
        }
        const char *cid =
            r.json ? json_string_value(json_object_get(r.json, "conversation_id")) : NULL;
        if ((st != 200 && st != 201) || cid == NULL) {
            snprintf(err, errlen, "setup: POST /v1/conversations/direct for %s and %s: %s %d %s",
                     a->name, b->name, st < 0 ? mpc_strerror(st) : "http", st,
                     st < 0 ? "" : code_of(&r));
            mpc_response_free(&r);
            return -1;
        }
        snprintf(ctx->conv[i], sizeof(ctx->conv[i]), "%s", cid);
        mpc_response_free(&r);
    }
    return 0;
}

#define GROUP_CHUNK 100 /* most user ids one request may add */

static json_t *id_chunk(const mp_bench_ctx_t *ctx, unsigned from)
{
    json_t *ids = json_array();
    for (unsigned i = from; i < ctx->n_acc && i < from + GROUP_CHUNK; i++)
        json_array_append_new(ids, json_string(ctx->acc[i].user_id));
    return ids;
}

static int create_group(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, char *err, size_t errlen)
{
    const mp_bench_account_t *owner = &ctx->acc[0];
    char title[64], path[96];
    mpc_response_t r;
    snprintf(title, sizeof(title), "bench %s", ctx->nonce);
    json_t *body = json_pack("{s:s,s:o}", "title", title, "member_ids", id_chunk(ctx, 1));
    int st = request(o, "POST", "/v1/groups", owner->token, body, &r);
    json_decref(body);
    const char *cid = r.json ? json_string_value(json_object_get(r.json, "conversation_id")) : NULL;
    if (st != 201 || cid == NULL) {
        snprintf(err, errlen, "setup: POST /v1/groups: %s %d %s%s",
                 st < 0 ? mpc_strerror(st) : "http", st, st < 0 ? "" : code_of(&r),
                 st == 404 || st == 405 ? " (this server has no groups API)" : "");
        mpc_response_free(&r);
        return -1;
    }
    snprintf(ctx->group, sizeof(ctx->group), "%s", cid);
    mpc_response_free(&r);
    snprintf(path, sizeof(path), "/v1/groups/%s/members", ctx->group);
    for (unsigned from = 1 + GROUP_CHUNK; from < ctx->n_acc; from += GROUP_CHUNK) {
        body = json_pack("{s:o}", "user_ids", id_chunk(ctx, from));
        st = request(o, "POST", path, owner->token, body, &r);
        json_decref(body);
        if (st != 200) {
            snprintf(err, errlen, "setup: POST %s (members %u..): %s %d %s%s", path, from,
                     st < 0 ? mpc_strerror(st) : "http", st, st < 0 ? "" : code_of(&r),
                     st == 409 ? " (start the server with a higher --group_max_members)" : "");
            mpc_response_free(&r);
            return -1;
        }
        mpc_response_free(&r);
    }
    return 0;
}

/* The group this cache remembers for these members, if the server still has
 * it with exactly that many members. Reusing it keeps the users from piling
 * up groups, which would make every presence change of theirs dearer. */
static bool reuse_group(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, json_t *cache,
                        const char *key)
{
    const char *id = json_string_value(json_object_get(json_object_get(cache, "groups"), key));
    char path[64];
    mpc_response_t r;
    if (id == NULL)
        return false;
    snprintf(path, sizeof(path), "/v1/groups/%s", id);
    int st = request(o, "GET", path, ctx->acc[0].token, NULL, &r);
    json_t *count = r.json ? json_object_get(r.json, "member_count") : NULL;
    bool ok = st == 200 && json_is_integer(count) &&
              json_integer_value(count) == (json_int_t)ctx->n_acc &&
              !json_is_true(json_object_get(r.json, "dissolved"));
    mpc_response_free(&r);
    if (ok)
        snprintf(ctx->group, sizeof(ctx->group), "%s", id);
    return ok;
}

int mp_bench__setup_group(const mp_bench_opts_t *o, mp_bench_ctx_t *ctx, char *err, size_t errlen)
{
    if (o->accounts_path == NULL)
        return create_group(o, ctx, err, errlen);
    char key[64];
    snprintf(key, sizeof(key), "%s/%u", o->prefix, ctx->n_acc);
    json_t *cache = json_load_file(o->accounts_path, 0, NULL);
    if (!json_is_object(cache)) {
        json_decref(cache);
        cache = json_object();
    }
    int rc = 0;
    if (reuse_group(o, ctx, cache, key)) {
        if (o->progress)
            fprintf(stderr, "magpie bench: reusing group %s from %s\n", ctx->group,
                    o->accounts_path);
    } else if ((rc = create_group(o, ctx, err, errlen)) == 0) {
        json_t *groups = json_object_get(cache, "groups");
        if (!json_is_object(groups)) {
            groups = json_object();
            json_object_set_new(cache, "groups", groups);
        }
        json_object_set_new(groups, key, json_string(ctx->group));
        if (json_dump_file(cache, o->accounts_path, JSON_COMPACT) != 0)
            fprintf(stderr, "magpie bench: cannot write %s\n", o->accounts_path);
    }
    json_decref(cache);
    return rc;
}

bool mp_bench__server_has(const mp_bench_opts_t *o, const char *path)
{
    mpc_response_t r;
    int st = request(o, "POST", path, NULL, NULL, &r);
    mpc_response_free(&r);
    return st > 0 && st != 404;
}
