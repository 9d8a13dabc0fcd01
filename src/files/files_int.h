/* Internals shared by the files of the files module: its state, the route
 * handlers, the bounded work queue and the file object of the wire. */
#ifndef MP_FILES_FILES_INT_H
#define MP_FILES_FILES_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "blobs/blobs.h"
#include "files/files.h"
#include "media/media.h"
#include "store/files.h"
#include "util/assert.h"
#include "util/map.h"
#include "util/ratelimit.h"

#define MP_FILES_URL_KEY_LEN 32

struct mp_files {
    const mp_module_ctx_t *ctx;
    mp_blobs_t *blobs;
    mp_media_limits_t limits;
    mp_ratelimit_t *upload_limit;                /* uploads started, per user (upload.c, tus.c) */
    unsigned char url_key[MP_FILES_URL_KEY_LEN]; /* HMAC key of signed URLs (urls.c) */
    bool url_key_ready;
    /* Work whose completion calls back into the module and is not done yet:
     * jobs on the pool, file system requests, store jobs (mp_files__hold). */
    size_t pending;
    /* Processing queue (work.c): at most cfg->media_workers run at once, at
     * most MP_FILES_QUEUE_MAX wait. */
    struct mp_files_work *queue_head, *queue_tail;
    unsigned running;
    size_t queued;
    /* The sweep (sweep.c): its own allocation, as its timer handle outlives
     * the module until the loop has closed it. */
    struct mp_files_sweep *sweep;
    /* Resumable uploads a PATCH or DELETE is working on (tus.c): id -> 1. */
    mp_map_t tus_active;
};

/* The mp_files_t of the request's route. */
mp_files_t *mp_files__of(mp_http_req_t *req);

/* ---- the thread pool (work.c) -------------------------------------------- */

/* Heavy work waiting for a worker beyond which processing is refused
 * (unavailable) rather than queued without bound. */
#define MP_FILES_QUEUE_MAX 64

/* Counts work in files->pending from the moment it is handed out (pool, file
 * system, store) until its completion has run: the app drains it before
 * freeing the module, so no completion ever finds the module gone. */
static inline void mp_files__hold(mp_files_t *files)
{
    files->pending++;
}
static inline void mp_files__release(mp_files_t *files)
{
    MP_ASSERT(files->pending > 0);
    files->pending--;
}

/* Runs fn(ud) on a thread of the pool, then done(ud) on the loop. heavy:
 * media processing, queued so that at most cfg->media_workers run at once;
 * otherwise (disk I/O: writes, hashing, reads, deletes) handed to the pool
 * at once. Counted in files->pending until done has run. */
void mp_files__work(mp_files_t *files, bool heavy, void (*fn)(void *ud), void (*done)(void *ud),
                    void *ud);
/* True when MP_FILES_QUEUE_MAX heavy jobs wait already: new processing is
 * then refused with MP_ERR_UNAVAILABLE instead of queued. */
bool mp_files__busy(const mp_files_t *files);

/* ---- streamed bodies to disk (sink.c) ------------------------------------ */

/* Bytes of body gathered before they are written to disk (reading is paused
 * while a write is in flight, so an upload holds at most this plus one socket
 * read). */
#define MP_FILES_SINK_BUF (256 * 1024)

typedef struct mp_files_sink mp_files_sink_t;
/* opened: err 0 or -errno. done (after the file is closed): ev MP_BODY_END
 * with the whole body on disk, or MP_BODY_ABORT when the client went away
 * (with keep_partial, what arrived before is on disk too); err -errno of a
 * failed write (the body is then not read further). */
typedef void (*mp_files_sink_open_fn)(mp_files_sink_t *s, int err);
typedef void (*mp_files_sink_done_fn)(mp_files_sink_t *s, mp_body_ev_t ev, int err);

struct mp_files_sink {
    mp_files_t *files;
    mp_http_req_t *req;
    void *ud;          /* the owner's */
    bool keep_partial; /* on ABORT, write what was received (tus) */
    uint64_t received; /* body bytes received */
    /* private */
    uv_fs_t fs;
    uv_file fd; /* -1 when not open */
    char *buf;
    size_t nbuf, cap, sent; /* sent: bytes of buf already written */
    bool writing, ended, aborted, closing;
    int err;
    mp_files_sink_open_fn opened;
    mp_files_sink_done_fn done;
};

/* Opens path (flags and mode of open(2)) on the pool, then opened(s, err).
 * s is the caller's (embedded in its state) and set up here. */
void mp_files__sink_open(mp_files_sink_t *s, mp_files_t *files, mp_http_req_t *req,
                         const char *path, int flags, mp_files_sink_open_fn opened, void *ud);
/* Takes the request's body (mp_http_body_start) into the open file. */
void mp_files__sink_start(mp_files_sink_t *s, mp_files_sink_done_fn done);
/* Closes the file without taking the body (after a refusal), then done(s,
 * MP_BODY_ABORT, 0). */
void mp_files__sink_close(mp_files_sink_t *s, mp_files_sink_done_fn done);

/* Deletes the file at path on the pool; nothing waits for it (a missing file
 * is no error). */
void mp_files__unlink(mp_files_t *files, const char *path);
/* Size of the file at path, on the pool: cb(size, 0) or (0, -errno). */
typedef void (*mp_files_stat_fn)(uint64_t size, int err, void *ud);
void mp_files__stat(mp_files_t *files, const char *path, mp_files_stat_fn cb, void *ud);

/* ---- finishing an upload (finalize.c) ------------------------------------- */

typedef void (*mp_files_final_fn)(mp_err_t rc, const char *msg, const mp_file_row_t *f, void *ud);
/* The complete bytes of an upload are in the local file at path: hashes it,
 * reuses a blob of the same content or processes it (media) and stores the
 * results (blobs), creates the file record (quota checked again), deletes
 * path and whatever became garbage, then calls cb on the loop with the file
 * (or an error: quota_exceeded, bad_media with msg, unavailable). */
void mp_files__finalize(mp_files_t *files, const char *path, uint64_t owner_id, const char *name,
                        uint64_t upload_id, mp_files_final_fn cb, void *ud);

/* ---- the wire (json.c) ------------------------------------------------------ */

/* The file object (docs/protocol.md, "Files"). New reference. */
json_t *mp_files__json(const mp_file_row_t *f);
/* A client's file name made safe to store and to show: the last path
 * component only, control and direction characters and quotes removed,
 * cut at MP_FILE_NAME_MAX bytes on a character boundary; "." and ".." become
 * "". out has room for MP_FILE_NAME_MAX + 1 bytes. */
void mp_files__sanitize_name(const char *in, char *out);

/* ---- routes ----------------------------------------------------------------- */

/* upload.c */
void mp_files__route_upload(mp_http_req_t *req);
/* Checks shared by both kinds of upload, each answering the refusal itself:
 * one upload started by user (upload_rate, upload_burst; 429 with
 * Retry-After), and a length of 1..max_upload bytes (what names it in the
 * 413 message). */
bool mp_files__rate_ok(mp_files_t *files, mp_http_req_t *req, uint64_t user);
bool mp_files__length_ok(mp_files_t *files, mp_http_req_t *req, uint64_t length, const char *what);
/* True when length more bytes fit in upload_quota beside used. */
bool mp_files__quota_ok(const mp_files_t *files, uint64_t used, uint64_t length);
/* prefix + 32 random hex digits: a name in tmp/ nobody can guess. */
void mp_files__random_name(const char *prefix, char *out, size_t outlen);
/* tus.c */
void mp_files__route_tus_options(mp_http_req_t *req);
void mp_files__route_tus_create(mp_http_req_t *req);
void mp_files__route_tus_get(mp_http_req_t *req);
void mp_files__route_tus_patch(mp_http_req_t *req);
void mp_files__route_tus_delete(mp_http_req_t *req);
/* download.c */
void mp_files__route_download(mp_http_req_t *req);
void mp_files__route_thumbnail(mp_http_req_t *req);
void mp_files__route_info(mp_http_req_t *req);
void mp_files__route_list(mp_http_req_t *req);
/* The parts of a download that are pure functions of headers (download.c),
 * apart for their unit tests. */
typedef enum {
    MP_RANGE_NONE,  /* no usable Range: serve the whole body (200) */
    MP_RANGE_ONE,   /* one satisfiable range: bytes first..last (206) */
    MP_RANGE_UNSAT, /* unsatisfiable: 416 with Content-Range: bytes * /size */
} mp_range_t;
/* Parses a Range header (NULL: none) against a body of size bytes (RFC 9110
 * 14.2): bytes=a-b, a- and -n. Anything invalid, another unit, or several
 * ranges give MP_RANGE_NONE (a server may ignore Range); a first position at
 * or past the end, or a suffix of 0, MP_RANGE_UNSAT. *first and *last
 * (inclusive, last < size) are set for MP_RANGE_ONE. Numbers of any length
 * are handled without overflow. */
mp_range_t mp_files__range_parse(const char *range, uint64_t size, uint64_t *first, uint64_t *last);
/* Whether a Range may be honoured under If-Range (NULL: no If-Range): only
 * when it names exactly our (strong) etag; a date or another tag means the
 * client's copy is not ours, so it gets the whole body. */
bool mp_files__if_range_ok(const char *if_range, const char *etag);
/* Content-Disposition for a file called name ("" = none): inline or
 * attachment; filename="..." an ASCII fallback (no quotes, backslashes,
 * slashes or control characters) and filename*=UTF-8''... the name
 * percent-encoded (RFC 6266, RFC 8187). out has MP_FILES_DISPOSITION_MAX
 * bytes. */
#define MP_FILES_DISPOSITION_MAX (64 + 4 * MP_FILE_NAME_MAX)
void mp_files__disposition(const char *name, bool attachment, char *out);

/* urls.c */
void mp_files__route_sign(mp_http_req_t *req);
/* Reads the URL-signing key from the store (mp_store_secret) into
 * files->url_key; until it is there (url_key_ready) every signature fails
 * and no URL is signed. Called once by mp_files_new. */
void mp_files__url_key_load(mp_files_t *files);
/* Checks a signed request's sig, exp and u query parameters for path at now
 * (ms): true with *user_id when the signature is valid and not expired. */
bool mp_files__signed_ok(const mp_files_t *files, const char *path, const char *exp,
                         const char *user, const char *sig, int64_t now, uint64_t *user_id);
/* The same, also telling whether the URL was made for a guest (*guest), whose
 * access follows the guest rule. */
bool mp_files__signed_check(const mp_files_t *files, const char *path, const char *exp,
                            const char *user, const char *sig, int64_t now, uint64_t *user_id,
                            bool *guest);

/* ---- the sweep (sweep.c) ------------------------------------------------------ */

void mp_files__sweep_start(mp_files_t *files);
void mp_files__sweep_stop(mp_files_t *files);

#endif
