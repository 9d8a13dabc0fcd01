/* argon2id hashing and verification on the libuv thread pool, so that the
 * ~90 ms of each job never runs on the event loop; a small pool of our own
 * bounds how many run at once (each needs 64 MiB) and how many may wait.
 *
 * Two queues: verifications (logins, interactive) and hashes (registrations,
 * bulk). A flood of registrations must not make a login wait behind it, so
 * a free slot always goes to a waiting verification first, and hashes never
 * occupy more than parallel - 1 slots: one slot stays free for logins even
 * while hundreds of registrations wait. (With parallel = 1 there is nothing
 * to reserve; a login then waits for at most the one running hash.) */
#include "auth/auth_int.h"

#include <sodium.h>
#include <string.h>

#include "util/alloc.h"
#include "util/thread.h"

/* Verifying against this when the user is unknown (or a guest) costs the same
 * as a real verification, so timing does not reveal which usernames exist. It
 * is a hash of a random string nobody knows, with the interactive limits. */
static const char mp_auth__dummy_hash[] = "$argon2id$v=19$m=65536,t=2,p=1$XCuL0uRSlNm5oWE1qrbq3g$"
                                          "GFzCT6Xc24lxml8sTqTioTHV96o6J5pvgtLQcW/XAeM";

typedef struct mp_auth_pwjob {
    uv_work_t work;
    struct mp_auth_pwjob *next; /* FIFO link while waiting */
    mp_auth_pwpool_t *pool;
    bool verify, real_hash, match, failed;
    char *pw;
    size_t pw_len;
    char hash[crypto_pwhash_STRBYTES];
    mp_auth_pw_hash_fn hash_cb;
    mp_auth_pw_verify_fn verify_cb;
    void *ud;
} mp_auth_pwjob_t;

/* A FIFO of waiting jobs of one kind. */
typedef struct mp_auth_pwqueue {
    mp_auth_pwjob_t *head, *tail;
    size_t n;
} mp_auth_pwqueue_t;

struct mp_auth_pwpool {
    uv_loop_t *loop;
    unsigned parallel, running;
    unsigned running_bulk; /* hashes among the running jobs */
    size_t queue_max;      /* per queue */
    mp_auth_pwqueue_t interactive, bulk;
    bool closing; /* freed by its owner; the last running job frees it */
};

mp_auth_pwpool_t *mp_auth__pwpool_new(uv_loop_t *loop, unsigned parallel, size_t queue_max)
{
    mp_auth_pwpool_t *p = mp_calloc(1, sizeof(*p));
    p->loop = loop;
    p->parallel = parallel ? parallel : 1;
    p->queue_max = queue_max;
    return p;
}

static void mp_auth__pwqueue_push(mp_auth_pwqueue_t *q, mp_auth_pwjob_t *job)
{
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->n++;
}

static mp_auth_pwjob_t *mp_auth__pwqueue_pop(mp_auth_pwqueue_t *q)
{
    mp_auth_pwjob_t *job = q->head;
    if (!job)
        return NULL;
    q->head = job->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    return job;
}

/* Whether a job of this kind may start now (a slot is free for it). */
static bool mp_auth__pwpool_can_start(const mp_auth_pwpool_t *p, bool bulk)
{
    if (p->running >= p->parallel)
        return false;
    if (!bulk)
        return true;
    /* Hashes wait while a verification does, and leave one slot unused. */
    if (p->interactive.n > 0)
        return false;
    return p->parallel == 1 || p->running_bulk < p->parallel - 1;
}

static void mp_auth__pwjob_free(mp_auth_pwjob_t *job)
{
    sodium_memzero(job->pw, job->pw_len);
    mp_free(job->pw);
    sodium_memzero(job->hash, sizeof(job->hash));
    mp_free(job);
}

void mp_auth__pwpool_free(mp_auth_pwpool_t *p)
{
    if (!p)
        return;
    mp_auth_pwjob_t *job;
    while ((job = mp_auth__pwqueue_pop(&p->interactive)) != NULL)
        mp_auth__pwjob_free(job);
    while ((job = mp_auth__pwqueue_pop(&p->bulk)) != NULL)
        mp_auth__pwjob_free(job);
    /* A job on the thread pool cannot be cancelled: let it finish without
     * its callback (whose context is gone) and free the pool then. */
    if (p->running > 0)
        p->closing = true;
    else
        mp_free(p);
}

/* Thread-pool side: touches only the job. */
static void mp_auth__pwjob_run(uv_work_t *w)
{
    mp_thread_name("mp-pool"); /* libuv's pool runs the work of several modules */
    mp_auth_pwjob_t *job = w->data;

    if (!job->verify) {
        job->failed =
            crypto_pwhash_str(job->hash, job->pw, job->pw_len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
        return;
    }
    bool ok = crypto_pwhash_str_verify(job->hash, job->pw, job->pw_len) == 0;
    job->match = ok && job->real_hash;
}

static void mp_auth__pwpool_pump(mp_auth_pwpool_t *p);

/* Loop side: report, then start the next waiting job. */
static void mp_auth__pwjob_done(uv_work_t *w, int status)
{
    mp_auth_pwjob_t *job = w->data;
    mp_auth_pwpool_t *p = job->pool;
    mp_err_t rc = (status == 0 && !job->failed) ? MP_OK : MP_ERR_INTERNAL;

    p->running--;
    if (!job->verify)
        p->running_bulk--;
    if (p->closing) {
        mp_auth__pwjob_free(job);
        if (p->running == 0)
            mp_free(p);
        return;
    }
    if (job->verify)
        job->verify_cb(rc, rc == MP_OK && job->match, job->ud);
    else
        job->hash_cb(rc, rc == MP_OK ? job->hash : NULL, job->ud);
    mp_auth__pwjob_free(job);
    mp_auth__pwpool_pump(p);
}

static void mp_auth__pwpool_pump(mp_auth_pwpool_t *p)
{
    for (;;) {
        mp_auth_pwjob_t *job = NULL;
        if (p->interactive.n > 0 && mp_auth__pwpool_can_start(p, false))
            job = mp_auth__pwqueue_pop(&p->interactive);
        else if (p->bulk.n > 0 && mp_auth__pwpool_can_start(p, true))
            job = mp_auth__pwqueue_pop(&p->bulk);
        if (!job)
            return;
        job->work.data = job;
        if (uv_queue_work(p->loop, &job->work, mp_auth__pwjob_run, mp_auth__pwjob_done) != 0) {
            /* Cannot happen with valid arguments; fail the job visibly. */
            if (job->verify)
                job->verify_cb(MP_ERR_INTERNAL, false, job->ud);
            else
                job->hash_cb(MP_ERR_INTERNAL, NULL, job->ud);
            mp_auth__pwjob_free(job);
            continue;
        }
        p->running++;
        if (!job->verify)
            p->running_bulk++;
    }
}

static mp_err_t mp_auth__pwpool_submit(mp_auth_pwpool_t *p, mp_auth_pwjob_t *job)
{
    bool bulk = !job->verify;
    mp_auth_pwqueue_t *q = bulk ? &p->bulk : &p->interactive;

    /* Each queue is bounded on its own: a full registration queue refuses
     * registrations, never logins. */
    if (q->n >= p->queue_max && !mp_auth__pwpool_can_start(p, bulk)) {
        mp_auth__pwjob_free(job);
        return MP_ERR_UNAVAILABLE;
    }
    job->pool = p;
    mp_auth__pwqueue_push(q, job);
    mp_auth__pwpool_pump(p);
    return MP_OK;
}

static mp_auth_pwjob_t *mp_auth__pwjob_new(const char *pw, size_t len, void *ud)
{
    mp_auth_pwjob_t *job = mp_calloc(1, sizeof(*job));
    job->pw = mp_malloc(len + 1);
    memcpy(job->pw, pw, len);
    job->pw[len] = '\0';
    job->pw_len = len;
    job->ud = ud;
    return job;
}

mp_err_t mp_auth__pw_hash(mp_auth_pwpool_t *p, const char *pw, size_t len, mp_auth_pw_hash_fn cb,
                          void *ud)
{
    mp_auth_pwjob_t *job = mp_auth__pwjob_new(pw, len, ud);
    job->hash_cb = cb;
    return mp_auth__pwpool_submit(p, job);
}

mp_err_t mp_auth__pw_verify(mp_auth_pwpool_t *p, const char *hash, const char *pw, size_t len,
                            mp_auth_pw_verify_fn cb, void *ud)
{
    mp_auth_pwjob_t *job = mp_auth__pwjob_new(pw, len, ud);
    const char *h = hash && hash[0] ? hash : mp_auth__dummy_hash;

    job->verify = true;
    job->verify_cb = cb;
    job->real_hash = h != mp_auth__dummy_hash;
    if (strlen(h) >= sizeof(job->hash)) { /* cannot be a hash of ours */
        h = mp_auth__dummy_hash;
        job->real_hash = false;
    }
    memcpy(job->hash, h, strlen(h) + 1);
    return mp_auth__pwpool_submit(p, job);
}

size_t mp_auth_pending_jobs(const mp_auth_t *auth)
{
    const mp_auth_pwpool_t *p = auth ? auth->pw : NULL;
    return p ? p->running + p->interactive.n + p->bulk.n : 0;
}
