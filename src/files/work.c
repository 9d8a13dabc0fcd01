/* The module's work on the thread pool, media processing bounded by
 * media_workers: a heavy job waits in a FIFO until one of the workers is
 * free, so that a burst of uploads cannot take every thread of the pool
 * (file writes and downloads need them too) nor hold more decoded images in
 * memory than media_memory was sized for. */
#include "files/files_int.h"
#include "util/alloc.h"
#include "util/thread.h"

typedef struct mp_files_work {
    uv_work_t req;
    mp_files_t *files;
    bool heavy;
    void (*fn)(void *ud);
    void (*done)(void *ud);
    void *ud;
    struct mp_files_work *next; /* in the queue */
} work_t;

static void run(uv_work_t *req)
{
    mp_thread_name("mp-pool"); /* libuv's pool runs the work of several modules */
    work_t *w = req->data;
    w->fn(w->ud);
}

static void submit(work_t *w);

/* Starts the heavy jobs that wait while a worker is free. */
static void queue_pump(mp_files_t *files)
{
    unsigned workers = files->ctx->cfg->media_workers ? files->ctx->cfg->media_workers : 1;
    while (files->queue_head != NULL && files->running < workers) {
        work_t *w = files->queue_head;
        files->queue_head = w->next;
        if (files->queue_head == NULL)
            files->queue_tail = NULL;
        files->queued--;
        files->running++;
        submit(w);
    }
}

static void after(uv_work_t *req, int status)
{
    work_t *w = req->data;
    mp_files_t *files = w->files;
    MP_ASSERT(status == 0); /* nothing cancels the module's work */
    (void)status;
    if (w->heavy) {
        MP_ASSERT(files->running > 0);
        files->running--;
        queue_pump(files);
    }
    void (*done)(void *ud) = w->done;
    void *ud = w->ud;
    mp_free(w);
    mp_files__release(files);
    done(ud);
}

static void submit(work_t *w)
{
    int rc = uv_queue_work(w->files->ctx->loop, &w->req, run, after);
    MP_ASSERT(rc == 0); /* fails only for a NULL work function */
    (void)rc;
}

void mp_files__work(mp_files_t *files, bool heavy, void (*fn)(void *ud), void (*done)(void *ud),
                    void *ud)
{
    work_t *w = mp_calloc(1, sizeof *w);
    w->req.data = w;
    w->files = files;
    w->heavy = heavy;
    w->fn = fn;
    w->done = done;
    w->ud = ud;
    mp_files__hold(files);
    if (!heavy) {
        submit(w);
        return;
    }
    if (files->queue_tail != NULL)
        files->queue_tail->next = w;
    else
        files->queue_head = w;
    files->queue_tail = w;
    files->queued++;
    queue_pump(files);
}

bool mp_files__busy(const mp_files_t *files)
{
    return files->queued >= MP_FILES_QUEUE_MAX;
}
