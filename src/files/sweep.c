/* The sweep of files nothing references and of expired upload sessions.
 *
 * Every file_sweep_interval, batches of mp_store_file_sweep until one finds
 * nothing: the store forgets the rows, then the bytes of the keys it returns
 * and the expired sessions' files are deleted on the pool. One batch at a
 * time; a tick while a sweep runs is skipped. The store deletes a row before
 * its bytes go, and a key is never reused, so an upload can never be handed
 * bytes the sweep is deleting. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "files/files_int.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"

/* Rows of each kind per store job: bounds one job's time in the writer. */
#define SWEEP_BATCH 500

struct mp_files_sweep {
    mp_files_t *files; /* NULL once the module is gone */
    uv_timer_t timer;
    bool running; /* a batch is in the store or on the pool */
    /* This round's batch, its keys and sessions copied out of the store's
     * result for the pool job that deletes their bytes. */
    char (*skeys)[MP_FILE_KEY_MAX + 1];
    size_t nskeys;
    uint64_t *uploads;
    size_t nuploads;
    size_t files_deleted;
    /* This round's totals, logged when it ends. */
    size_t total_files, total_keys, total_uploads;
};

typedef struct mp_files_sweep sweep_t;

static void batch(sweep_t *sw);

static void round_end(sweep_t *sw)
{
    sw->running = false;
    if (sw->total_files + sw->total_keys + sw->total_uploads > 0)
        mp_log_info("file sweep: deleted %zu file(s), %zu stored object(s), %zu expired "
                    "upload(s)",
                    sw->total_files, sw->total_keys, sw->total_uploads);
}

static void delete_run(void *ud)
{
    sweep_t *sw = ud;
    mp_files_t *files = sw->files;
    for (size_t i = 0; i < sw->nskeys; i++) {
        int rc = mp_blobs_delete(files->blobs, sw->skeys[i]);
        if (rc != 0)
            mp_log_warn("file sweep: could not delete %s: %s", sw->skeys[i], uv_strerror(rc));
    }
    char path[MP_MEDIA_PATH_MAX];
    for (size_t i = 0; i < sw->nuploads; i++)
        if (mp_blobs_upload_path(files->blobs, sw->uploads[i], path, sizeof path) == 0 &&
            unlink(path) != 0 && errno != ENOENT)
            mp_log_warn("file sweep: could not delete %s: %s", path, strerror(errno));
}

static void delete_done(void *ud)
{
    sweep_t *sw = ud;
    bool more = sw->nskeys + sw->nuploads + sw->files_deleted > 0;
    sw->total_keys += sw->nskeys;
    sw->total_uploads += sw->nuploads;
    sw->total_files += sw->files_deleted;
    mp_free(sw->skeys);
    mp_free(sw->uploads);
    sw->skeys = NULL;
    sw->uploads = NULL;
    sw->nskeys = sw->nuploads = sw->files_deleted = 0;
    if (more)
        batch(sw); /* until a batch finds nothing */
    else
        round_end(sw);
}

static void on_swept(mp_err_t rc, const mp_file_sweep_out_t *out, void *ud)
{
    sweep_t *sw = ud;
    mp_files__release(sw->files);
    if (rc != MP_OK) {
        mp_log_warn("file sweep failed: %s", mp_err_code(rc));
        round_end(sw);
        return;
    }
    sw->nskeys = out->nskeys;
    sw->skeys = mp_malloc((out->nskeys ? out->nskeys : 1) * sizeof *sw->skeys);
    if (out->nskeys > 0) /* skeys may be NULL when there are none */
        memcpy(sw->skeys, out->skeys, out->nskeys * sizeof *sw->skeys);
    sw->nuploads = out->nuploads;
    sw->uploads = mp_malloc((out->nuploads ? out->nuploads : 1) * sizeof *sw->uploads);
    if (out->nuploads > 0)
        memcpy(sw->uploads, out->uploads, out->nuploads * sizeof *sw->uploads);
    sw->files_deleted = out->files;
    mp_files__work(sw->files, false, delete_run, delete_done, sw);
}

static void batch(sweep_t *sw)
{
    mp_files_t *files = sw->files;
    int64_t now = mp_now_ms();
    int64_t older = now - (int64_t)files->ctx->cfg->file_grace_ms;
    mp_files__hold(files);
    mp_err_t rc = mp_store_file_sweep(files->ctx->store, older, now, SWEEP_BATCH, on_swept, sw);
    if (rc != MP_OK) { /* a full queue: the next tick tries again */
        mp_files__release(files);
        round_end(sw);
    }
}

static void on_tick(uv_timer_t *t)
{
    sweep_t *sw = t->data;
    if (sw->running || sw->files == NULL)
        return;
    /* One node of a cluster sweeps the shared files_dir. */
    if (sw->files->ctx->hub != NULL && !mp_hub_leader(sw->files->ctx->hub))
        return;
    sw->running = true;
    sw->total_files = sw->total_keys = sw->total_uploads = 0;
    batch(sw);
}

void mp_files__sweep_start(mp_files_t *files)
{
    sweep_t *sw = mp_calloc(1, sizeof *sw);
    sw->files = files;
    files->sweep = sw;
    uint64_t every = files->ctx->cfg->file_sweep_interval_ms;
    if (every == 0)
        every = 1000;
    uv_timer_init(files->ctx->loop, &sw->timer);
    sw->timer.data = sw;
    uv_timer_start(&sw->timer, on_tick, every, every);
    /* The timer alone must not keep the loop alive at shutdown. */
    uv_unref((uv_handle_t *)&sw->timer);
}

static void on_timer_closed(uv_handle_t *h)
{
    mp_free(h->data);
}

/* The module is freed right after this; the timer's memory must live until
 * the loop has closed the handle (the app runs the loop after freeing its
 * modules), so it is freed by the close callback. Nothing of the sweep is in
 * flight: its work is counted in files->pending, which is 0 by now. */
void mp_files__sweep_stop(mp_files_t *files)
{
    sweep_t *sw = files->sweep;
    if (sw == NULL)
        return;
    MP_ASSERT(!sw->running);
    files->sweep = NULL;
    sw->files = NULL;
    uv_timer_stop(&sw->timer);
    uv_close((uv_handle_t *)&sw->timer, on_timer_closed);
}
