/* Bench users and conversations through the public HTTP API, with the
 * client library's blocking layer. Password hashing (argon2id, ~90 ms) makes
 * this the slow part of a run, so a few threads keep the server's hashing
 * pool busy. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

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

/* One request on a fresh connection: returns the HTTP status or an MPC_ERR_. */
static int request(const mp_bench_opts_t *o, const char *method, const char *path,
                   const char *token, json_t *body, mpc_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    mpc_conn_t *c = mpc_connect(o->host, o->port, HTTP_TIMEOUT_MS);
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

static int one_user(job_t *j, mp_bench_account_t *a)
{
    const mp_bench_opts_t *o = j->o;
    mpc_response_t r;
    int st;
    if (o->setup) {
        json_t *body = json_pack("{s:s,s:s}", "username", a->name, "password", o->password);
        st = request(o, "POST", "/v1/auth/register", NULL, body, &r);
        json_decref(body);
        if (st != 201 && !(st == 409 && strcmp(code_of(&r), "username_taken") == 0)) {
            job_fail(j, "register %s: %s %s", a->name, st < 0 ? mpc_strerror(st) : "http",
                     st < 0 ? "" : code_of(&r));
            mpc_response_free(&r);
            return -1;
        }
        mpc_response_free(&r);
    }
    json_t *body = json_pack("{s:s,s:s,s:s}", "username", a->name, "password", o->password,
                             "device_name", "magpie-bench");
    st = request(o, "POST", "/v1/auth/login", NULL, body, &r);
    json_decref(body);
    const char *uid = r.json ? json_string_value(json_object_get(r.json, "user_id")) : NULL;
    const char *tok = r.json ? json_string_value(json_object_get(r.json, "access_token")) : NULL;
    if (st != 200 || uid == NULL || tok == NULL) {
        job_fail(j, "login %s: %s %d %s%s", a->name, st < 0 ? mpc_strerror(st) : "http", st,
                 st < 0 ? "" : code_of(&r),
                 st == 429   ? " (start the server with a higher --login_rate)"
                 : st == 401 ? (o->setup ? " (user exists with another password?)"
                                         : " (does the user exist? use --setup)")
                             : "");
        mpc_response_free(&r);
        return -1;
    }
    snprintf(a->user_id, sizeof(a->user_id), "%s", uid);
    a->token = mp_strdup(tok);
    mpc_response_free(&r);
    return 0;
}

static void *worker(void *arg)
{
    job_t *j = arg;
    unsigned i;
    while (atomic_load(&j->failed) == 0 && (i = atomic_fetch_add(&j->next, 1)) < j->n)
        one_user(j, &j->acc[i]);
    return NULL;
}

int mp_bench__setup_users(const mp_bench_opts_t *o, mp_bench_account_t *acc, unsigned n, char *err,
                          size_t errlen)
{
    job_t j = {.o = o, .acc = acc, .n = n};
    pthread_mutex_init(&j.mu, NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(acc[i].name, sizeof(acc[i].name), "%s%u", o->prefix, i);
    pthread_t th[SETUP_THREADS];
    unsigned nt = n < SETUP_THREADS ? n : SETUP_THREADS;
    for (unsigned t = 0; t < nt; t++)
        pthread_create(&th[t], NULL, worker, &j);
    for (unsigned t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
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

bool mp_bench__server_has(const mp_bench_opts_t *o, const char *path)
{
    mpc_response_t r;
    int st = request(o, "POST", path, NULL, NULL, &r);
    mpc_response_free(&r);
    return st > 0 && st != 404;
}
