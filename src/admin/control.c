/* The control socket: DATA/control.sock, a Unix stream socket of mode 0600
 * that `magpie admin` speaks. Whoever can open it is the operator (actor 0
 * in the audit log): the data directory's permissions are the
 * authorisation.
 *
 * Protocol: one JSON object per line each way. A request is
 * {"cmd":"user.add", "id":any?, ...arguments}; the answer is
 * {"ok":true, ...result} or {"ok":false, "error":{"code","message"}}, with
 * the request's "id" copied when it had one. A client's requests run one
 * at a time, in order: the next line runs once the answer is queued, so a
 * client that pipelines gets its answers in order and cannot pile work up
 * (what it sends meanwhile waits in a bounded buffer). A line longer than
 * MP_CTL_LINE_MAX is answered with an error and the connection closed. A client that goes away
 * while its request runs does not stop it: the operation completes and its answer is dropped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "proto/control.h"
#include "util/log.h"

#define MP_CTL_MAX_CLIENTS 64

typedef struct ctl ctl_t;
typedef struct ctl_client ctl_client_t;

struct ctl_client {
    uv_pipe_t pipe; /* first: the handle's data is not needed to find us */
    ctl_t *ctl;
    ctl_client_t *prev, *next;
    char *buf; /* bytes read and not yet consumed, at most MP_CTL_LINE_MAX + 1 */
    size_t len;
    bool busy;     /* a request is running: reading waits */
    bool pumping;  /* client_pump is on the stack: answers do not re-enter it */
    bool flushing; /* closing once the queued answers are written */
    bool closing;  /* uv_close called (the pipe is gone once closed) */
    bool closed;   /* the close callback ran */
    json_t *id;    /* the running request's "id", or NULL */
};

struct ctl {
    mp_admin_t *admin;
    uv_pipe_t server;
    bool listening; /* server handle initialised */
    bool closing;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    ctl_client_t *clients;
    size_t n_clients;
    size_t open_handles; /* server + clients not yet closed */
};

static void client_close(ctl_client_t *c);
static void client_pump(ctl_client_t *c);

/* Frees ctl and the module once every handle has closed. */
static void maybe_finish(ctl_t *ctl)
{
    if (!ctl->closing || ctl->open_handles > 0)
        return;
    mp_admin_t *admin = ctl->admin;
    mp_free(ctl);
    mp_admin__freed(admin);
}

/* A client is freed once its pipe closed and no request of it runs. */
static void client_maybe_free(ctl_client_t *c)
{
    if (!c->closed || c->busy)
        return;
    ctl_t *ctl = c->ctl;
    mp_free(c->buf);
    json_decref(c->id);
    mp_free(c);
    MP_ASSERT(ctl->open_handles > 0);
    ctl->open_handles--;
    maybe_finish(ctl);
}

static void on_client_closed(uv_handle_t *h)
{
    ctl_client_t *c = (ctl_client_t *)h;
    c->closed = true;
    client_maybe_free(c);
}

static void client_close(ctl_client_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    ctl_t *ctl = c->ctl;
    if (c->prev)
        c->prev->next = c->next;
    else
        ctl->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ctl->n_clients--;
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    ctl_client_t *c = req->data;
    mp_free(req);
    client_close(c); /* a no-op when it is closing already */
}

/* Closes once what is queued has been written (uv_close would drop it): the
 * answer that explains why the server hangs up reaches the client. */
static void client_close_flushed(ctl_client_t *c)
{
    if (c->closing || c->flushing)
        return;
    uv_shutdown_t *req = mp_calloc(1, sizeof *req);
    req->data = c;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (uv_shutdown(req, (uv_stream_t *)&c->pipe, on_shutdown) != 0) {
        mp_free(req);
        client_close(c);
        return;
    }
    c->flushing = true; /* nothing more is read or sent */
}

/* ---- writing answers ---------------------------------------------------------- */

typedef struct {
    uv_write_t req;
    char *text;
} ctl_write_t;

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a client that went away misses its answer: nothing to do */
    ctl_write_t *w = (ctl_write_t *)req;
    free(w->text); /* jansson's allocator */
    mp_free(w);
}

/* Queues obj (stolen) as one line to the client. */
static void client_send(ctl_client_t *c, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL || c->closing || c->flushing) {
        free(text);
        return;
    }
    size_t n = strlen(text);
    ctl_write_t *w = mp_calloc(1, sizeof *w);
    w->text = text;
    uv_buf_t bufs[2] = {uv_buf_init(text, (unsigned)n), uv_buf_init("\n", 1)};
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, bufs, 2, on_written) != 0) {
        free(text);
        mp_free(w);
        client_close(c);
    }
}

static json_t *error_obj(mp_err_t rc, const char *message)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", mp_err_code(rc), "message",
                     message != NULL ? message : mp_err_message(rc));
}

/* ---- running requests ----------------------------------------------------------- */

static void ctl_answer(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    ctl_client_t *c = call->front;
    json_t *out;
    if (rc != MP_OK) {
        json_decref(result);
        out = error_obj(rc, message);
    } else {
        out = json_is_object(result) ? json_incref(result) : json_object();
        json_decref(result);
        json_object_set_new(out, "ok", json_true());
    }
    if (c->id != NULL)
        json_object_set(out, "id", c->id);
    json_decref(call->args);
    mp_free(call);

    c->busy = false;
    json_decref(c->id);
    c->id = NULL;
    if (c->closing || c->flushing) {
        json_decref(out); /* the client went away: the answer is dropped */
        client_maybe_free(c);
        return;
    }
    client_send(c, out);
    if (!c->pumping)
        client_pump(c);
}

/* Runs one request line (len bytes, without the newline). */
static void client_request(ctl_client_t *c, const char *line, size_t len)
{
    char msg[200];
    char cmd[MP_CTL_CMD_MAX + 1];
    json_t *id = NULL;
    json_t *args = mp_ctl_parse(line, len, cmd, &id, msg, sizeof msg);
    if (args == NULL) {
        json_t *out = error_obj(MP_ERR_BAD_REQUEST, msg);
        if (id != NULL)
            json_object_set_new(out, "id", id);
        client_send(c, out);
        return;
    }
    const mp_admin_op_t *op = mp_admin__op_find(cmd);
    if (op == NULL) {
        snprintf(msg, sizeof msg, "unknown command '%.64s'", cmd);
        json_t *out = error_obj(MP_ERR_BAD_REQUEST, msg);
        if (id != NULL)
            json_object_set_new(out, "id", id);
        json_decref(args);
        client_send(c, out);
        return;
    }
    mp_admin_call_t *call = mp_calloc(1, sizeof *call);
    call->admin = c->ctl->admin;
    call->actor_id = 0;
    call->args = args;
    call->answer = ctl_answer;
    call->front = c;
    c->busy = true;
    c->id = id;
    op->fn(call); /* may answer at once, re-entering client_pump */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    ctl_client_t *c = (ctl_client_t *)h;
    /* Room for one more byte than the longest line: its absence of a
     * newline is how an overlong line is seen. */
    size_t room = MP_CTL_LINE_MAX + 1 - c->len;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    ctl_client_t *c = (ctl_client_t *)s;
    if (n < 0) {
        client_close(c); /* EOF or error; a running request still completes */
        return;
    }
    c->len += (size_t)n;
    /* While a request runs, reading goes on (so that a client that leaves
     * is seen at once) until the buffer is full. */
    if (c->busy && c->len > MP_CTL_LINE_MAX)
        uv_read_stop(s);
    client_pump(c);
}

/* Runs the complete lines buffered, one at a time; reads more when none is
 * left and no request runs. */
static void client_pump(ctl_client_t *c)
{
    c->pumping = true;
    while (!c->busy && !c->closing && !c->flushing) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl == NULL) {
            if (c->len > MP_CTL_LINE_MAX) {
                char msg[80];
                snprintf(msg, sizeof msg, "a line may be at most %d bytes", MP_CTL_LINE_MAX);
                client_send(c, error_obj(MP_ERR_TOO_LARGE, msg));
                client_close_flushed(c);
                break;
            }
            uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
            break;
        }
        size_t linelen = (size_t)(nl - c->buf);
        /* The line is copied out: the request may outlive this buffer's
         * contents (the next read overwrites them). */
        char *line = mp_malloc(linelen + 1);
        memcpy(line, c->buf, linelen);
        line[linelen] = '\0';
        c->len -= linelen + 1;
        memmove(c->buf, nl + 1, c->len);
        if (linelen > 0 && line[linelen - 1] == '\r')
            linelen--;
        if (linelen > 0)
            client_request(c, line, linelen);
        mp_free(line);
    }
    c->pumping = false;
}

static void on_connection(uv_stream_t *server, int status)
{
    ctl_t *ctl = server->data;
    if (status < 0 || ctl->closing)
        return;
    ctl_client_t *c = mp_calloc(1, sizeof *c);
    c->ctl = ctl;
    c->buf = mp_malloc(MP_CTL_LINE_MAX + 1);
    uv_pipe_init(server->loop, &c->pipe, 0);
    ctl->open_handles++;
    c->next = ctl->clients;
    if (ctl->clients)
        ctl->clients->prev = c;
    ctl->clients = c;
    ctl->n_clients++;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        client_close(c);
        return;
    }
    if (ctl->n_clients > MP_CTL_MAX_CLIENTS) {
        client_send(c, error_obj(MP_ERR_UNAVAILABLE, "too many control connections"));
        client_close_flushed(c);
        return;
    }
    client_pump(c);
}

/* ---- the socket file ---------------------------------------------------------- */

/* A socket file left by a server that crashed is removed; one that a live
 * server answers on is not (that server owns the data directory). */
static int clear_stale(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT
                   ? 0
                   : (snprintf(err, errlen, "cannot inspect %s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; remove it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "another magpie server answers on %s; stop it first", path);
        return -1;
    }
    if (e != ECONNREFUSED && e != ENOENT) {
        snprintf(err, errlen, "cannot check %s: %s", path, strerror(e));
        return -1;
    }
    mp_log_info("removing the stale control socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the stale %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void on_server_closed(uv_handle_t *h)
{
    ctl_t *ctl = h->data;
    ctl->open_handles--;
    maybe_finish(ctl);
}

int mp_admin__ctl_open(mp_admin_t *admin, char *err, size_t errlen)
{
    ctl_t *ctl = mp_calloc(1, sizeof *ctl);
    ctl->admin = admin;
    admin->ctl = ctl;
    const char *dir = admin->ctx->cfg->data_dir;
    if (snprintf(ctl->path, sizeof ctl->path, "%s/" MP_CTL_SOCKET_NAME, dir) >=
        (int)sizeof ctl->path) {
        snprintf(err, errlen,
                 "the control socket's path %s/" MP_CTL_SOCKET_NAME " is longer than the %zu "
                 "bytes a Unix socket allows; use a shorter --data path",
                 dir, sizeof ctl->path - 1);
        goto fail;
    }
    if (clear_stale(ctl->path, err, errlen) != 0)
        goto fail;
    uv_pipe_init(admin->ctx->loop, &ctl->server, 0);
    ctl->server.data = ctl;
    ctl->listening = true;
    ctl->open_handles = 1;
    /* The file is created 0600 (no moment with a wider mode: nothing can
     * connect before listen anyway, and the umask covers bind), and chmod
     * makes sure of it whatever the umask was. */
    mode_t old = umask(0177);
    int rc = uv_pipe_bind(&ctl->server, ctl->path);
    umask(old);
    if (rc == 0 && chmod(ctl->path, 0600) != 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", ctl->path, uv_strerror(rc));
        unlink(ctl->path);
        goto fail;
    }
    return 0;
fail:
    if (ctl->listening) {
        /* The handle is closed on the loop; ctl goes with it, the module
         * is freed by the caller. */
        ctl->closing = true;
        ctl->admin = NULL;
        uv_close((uv_handle_t *)&ctl->server, on_server_closed);
    } else {
        mp_free(ctl);
    }
    admin->ctl = NULL;
    return -1;
}

void mp_admin__ctl_close(mp_admin_t *admin)
{
    ctl_t *ctl = admin->ctl;
    if (ctl == NULL) {
        mp_admin__freed(admin);
        return;
    }
    admin->ctl = NULL;
    ctl->closing = true;
    unlink(ctl->path);
    while (ctl->clients != NULL)
        client_close(ctl->clients);
    uv_close((uv_handle_t *)&ctl->server, on_server_closed);
}
