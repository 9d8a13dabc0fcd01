/* `magpie serve`: wires config, store, gateway and core modules on one loop,
 * runs until SIGINT/SIGTERM, then shuts down gracefully and frees everything
 * (the sanitizer build checks for leaks at exit). */
#include "app/app.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "admin/admin.h"
#include "app/signals.h"
#include "auth/auth.h"
#include "auth/deletion.h"
#include "auth/sweep.h"
#include "chat/chat.h"
#include "core/verbs.h"
#include "files/files.h"
#include "groups/groups.h"
#include "media/media.h"
#include "people/people.h"
#include "store/messages.h"
#include "store/world.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/id.h"
#include "util/log.h"
#include "util/metrics.h"
#include "web/web.h"

/* Route tables of every module, concatenated at start (one line per module),
 * with where the module's state is: its handlers find it in
 * mp_http_req_mod(). */
static const struct {
    const mp_route_t *routes;
    size_t mod_offset; /* of the module's handle in mp_app_t */
} route_tables[] = {
    {mp_auth_routes, offsetof(mp_app_t, auth)},
    {mp_chat_routes, offsetof(mp_app_t, chat)},
    {mp_groups_routes, offsetof(mp_app_t, groups)},
    {mp_people_routes, offsetof(mp_app_t, people)},
    {mp_files_routes, offsetof(mp_app_t, files)},
    {mp_admin_routes, offsetof(mp_app_t, admin)},
    {NULL, 0},
};

/* A listener beside the client one: its server (NULL when not configured),
 * its copy of the configuration (listen changed) and its port. */
typedef struct {
    mp_server_t *srv;
    mp_config_t cfg;
    int port;
} side_listener_t;

typedef struct {
    mp_app_t app; /* first: the hooks' ctx is &app */
    mp_module_ctx_t mctx;
    mp_verbs_t *verbs;
    uv_loop_t loop;
    mp_signals_t *signals; /* SIGINT, SIGTERM; SIGHUP with TLS (app/signals.h) */
    mp_route_t *routes;
    void **route_mods; /* the module state of each of routes */
    mp_grace_t *grace; /* frees deleted accounts' usernames (auth/deletion.h) */
    int lock_fd;       /* holds the data directory's flock for the server's lifetime */
    bool stopping;
    int port;                 /* the client listener's */
    side_listener_t metrics;  /* metrics_listen */
    side_listener_t redirect; /* tls_redirect_listen */
} app_state_t;

/* mkdir -p with mode 0700 for what we create (the data dir holds secrets). */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "data directory path is too long");
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create data directory \"%s\": %s", path, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "data directory \"%s\" is not a directory", dir);
        return -1;
    }
    return 0;
}

/* One server per data directory: two would each keep their own routing table
 * and live delivery would silently break between them. The lock is an
 * flock(2) on data/magpie.lock, released by the kernel when the process dies
 * (kill -9 included), so a stale file never blocks a restart. The file holds
 * the owner's pid, for the message a second server prints. */
static int lock_data_dir(const char *dir, int *fd_out, char *err, size_t errlen)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/magpie.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen,
                 "data directory \"%s\" is in use by another magpie server%s%s%s; "
                 "stop it first or give this one its own --data",
                 dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        mp_log_warn("cannot write the pid into %s: %s", path, strerror(errno));
    *fd_out = fd;
    return 0;
}

/* The database holds every message and password hash: files we create are
 * 0600 whatever the caller's umask, and a directory others can enter is worth
 * a warning (we do not change modes the operator chose). */
static void check_data_dir_mode(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        mp_log_warn("data directory %s is accessible by other users (mode %03o); "
                    "chmod 700 it: it holds every message and password hash",
                    dir, (unsigned)(st.st_mode & 0777));
}

static mp_route_t *concat_routes(void)
{
    size_t n = 0;
    for (size_t t = 0; route_tables[t].routes != NULL; t++)
        for (const mp_route_t *r = route_tables[t].routes; r->method != NULL; r++)
            n++;
    mp_route_t *all = mp_calloc(n + 1, sizeof *all);
    n = 0;
    for (size_t t = 0; route_tables[t].routes != NULL; t++)
        for (const mp_route_t *r = route_tables[t].routes; r->method != NULL; r++)
            all[n++] = *r;
    return all;
}

/* The module state of each route of concat_routes, in the same order. The
 * server needs its routes before the modules exist (they need the server), so
 * these are handed to it once the modules are up, before the loop runs. */
static void **route_mods(const mp_app_t *app)
{
    size_t n = 0;
    for (size_t t = 0; route_tables[t].routes != NULL; t++)
        for (const mp_route_t *r = route_tables[t].routes; r->method != NULL; r++)
            n++;
    void **mods = mp_calloc(n + 1, sizeof *mods);
    n = 0;
    for (size_t t = 0; route_tables[t].routes != NULL; t++) {
        void *mod = *(void *const *)((const char *)app + route_tables[t].mod_offset);
        for (const mp_route_t *r = route_tables[t].routes; r->method != NULL; r++)
            mods[n++] = mod;
    }
    return mods;
}

/* ---- gateway hooks ------------------------------------------------------ */

static mp_err_t hook_authenticate(void *ctx, const char *token, mp_principal_t *who)
{
    mp_app_t *app = ctx;
    return mp_auth_authenticate(app->auth, token, who);
}

static void hook_session_open(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    mp_app_t *app = ctx;
    mp_hub_add(app->hub, sid, who);
    /* Best effort: a full store queue only means last_seen_at is a bit stale. */
    mp_err_t queued = mp_store_device_touch(app->store, who->device_id, mp_now_ms(), NULL, NULL);
    (void)queued;
}

static void hook_session_close(void *ctx, mp_sid_t sid, const mp_principal_t *who)
{
    mp_app_t *app = ctx;
    mp_hub_remove(app->hub, sid, who);
}

static int hook_ready(void *ctx)
{
    mp_app_t *app = ctx;
    if (!mp_hub_ready(app->hub))
        return 0;
    if (mp_store_ready(app->store))
        return 1;
    /* After a failed write (disk full) nothing may write again once traffic
     * is routed away, so readiness itself asks the writer to try. */
    mp_store_probe(app->store);
    return 0;
}

static void hook_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, int64_t req_id,
                       const char *type, json_t *frame)
{
    app_state_t *s = ctx; /* the app is its first member */
    if (s->verbs != NULL) /* NULL only while tearing down */
        mp_verbs_dispatch(s->verbs, sid, who, req_id, type, frame);
}

static bool hook_raw_frame(void *ctx, mp_sid_t sid, const mp_principal_t *who, const char *m,
                           size_t n)
{
    app_state_t *s = ctx;
    return s->verbs != NULL && mp_verbs_raw(s->verbs, sid, who, m, n);
}

/* GET /metrics, on either listener: the client server's connections and
 * the store's queues and group commits. */
static void hook_metrics(void *ctx, mp_metrics_buf_t *b)
{
    mp_app_t *app = ctx;
    if (app->srv != NULL)
        mp_server_render_connections(app->srv, b);
    if (app->hub != NULL) {
        mp_metrics_header(b, "magpie_sessions", "gauge",
                          "Authenticated WebSocket sessions, cluster-wide as this node knows.");
        mp_metrics_printf(b, "magpie_sessions %zu\n", (size_t)mp_hub_total_sessions(app->hub));
    }
    if (app->store == NULL)
        return;
    size_t w = 0, r = 0;
    uint64_t batches = 0, jobs = 0;
    mp_store_queue_depths(app->store, &w, &r);
    mp_store_stats(app->store, &batches, &jobs);
    mp_metrics_header(b, "magpie_store_queue_depth", "gauge",
                      "Store jobs waiting for a thread, by queue.");
    mp_metrics_printf(b, "magpie_store_queue_depth{queue=\"write\"} %zu\n", w);
    mp_metrics_printf(b, "magpie_store_queue_depth{queue=\"read\"} %zu\n", r);
    mp_metrics_header(b, "magpie_store_write_jobs_total", "counter",
                      "Write jobs the store's writer has run.");
    mp_metrics_printf(b, "magpie_store_write_jobs_total %llu\n", (unsigned long long)jobs);
    mp_metrics_header(b, "magpie_store_ready", "gauge",
                      "1 while the store answers, 0 after a failed write transaction.");
    mp_metrics_printf(b, "magpie_store_ready %d\n", mp_store_ready(app->store) ? 1 : 0);
}

static const mp_server_hooks_t hooks = {
    .authenticate = hook_authenticate,
    .session_open = hook_session_open,
    .session_close = hook_session_close,
    .frame = hook_frame,
    .raw_frame = hook_raw_frame,
    .ready = hook_ready,
    .metrics = hook_metrics,
};

/* The metrics_listen listener knows nothing of users: metrics only. */
static const mp_server_hooks_t metrics_hooks = {
    .metrics = hook_metrics,
};
/* The tls_redirect_listen listener answers everything with a redirect. */
static const mp_server_hooks_t redirect_hooks = {0};
static const mp_route_t no_routes[1]; /* only the zeroed end */

/* "magpie: WHAT HOST:PORT" on stderr, whatever the log level. */
static void print_address(const char *what, const mp_config_t *cfg, int port)
{
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    mp_log_always(MP_LOG_INFO, v6 ? "magpie: %s [%s]:%d" : "magpie: %s %s:%d", what,
                  cfg->listen_host, port);
}

/* A second listener on addr (the value of key), with side's own copy of
 * cfg: the metrics_listen or tls_redirect_listen one. No per-address or
 * total connection caps of the client listener apply there. */
static int start_side(app_state_t *s, side_listener_t *side, const char *key, const char *addr,
                      const mp_server_hooks_t *side_hooks, char *err, size_t errlen)
{
    side->cfg = *s->app.cfg;
    char e[256];
    if (mp_config_set(&side->cfg, "listen", addr, key, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: %s", key, e);
        return -1;
    }
    /* Plain HTTP whatever the client listener speaks. */
    side->cfg.tls_cert[0] = side->cfg.tls_key[0] = '\0';
    side->srv = mp_server_new(&s->loop, &side->cfg, no_routes, side_hooks, &s->app);
    if (side->srv == NULL) {
        snprintf(err, errlen, "cannot create the %s server", key);
        return -1;
    }
    if (side_hooks == &metrics_hooks)
        mp_server_set_metrics_only(side->srv);
    else
        mp_server_set_https_redirect(side->srv, s->port);
    int rc = mp_server_listen(side->srv, &side->port);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s (%s): %s", addr, key, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* Opens the metrics_listen and tls_redirect_listen listeners when set. */
static int start_sides(app_state_t *s, const mp_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->metrics && cfg->metrics_listen[0] != '\0') {
        if (start_side(s, &s->metrics, "metrics_listen", cfg->metrics_listen, &metrics_hooks, err,
                       errlen) != 0)
            return -1;
        print_address("metrics on", &s->metrics.cfg, s->metrics.port);
    }
    if (cfg->tls_redirect_listen[0] != '\0') {
        if (start_side(s, &s->redirect, "tls_redirect_listen", cfg->tls_redirect_listen,
                       &redirect_hooks, err, errlen) != 0)
            return -1;
        print_address("redirecting to https on", &s->redirect.cfg, s->redirect.port);
    }
    return 0;
}

/* ---- module init / free ------------------------------------------------- */

/* The guest sweep's hook: groups whose owner was swept changed hands (or were
 * dissolved); chat forgets their cached membership and delivers the system
 * messages. */
static void on_guests_swept(void *ud, const mp_guest_sweep_out_t *out)
{
    mp_chat_t *chat = ud;
    for (size_t i = 0; i < out->n_msgs; i++)
        mp_chat_conv_changed(chat, out->msgs[i].conversation_id);
    if (out->n_msgs > 0)
        mp_chat_deliver(chat, out->msgs, out->n_msgs, NULL, 0);
}

/* The account deletion's hook: the groups the account left or owned changed
 * (members, owner), exactly as for a swept guest, and its contacts are told
 * their entry with it is gone. */
static void on_account_deleted(void *ud, const mp_account_delete_out_t *out)
{
    mp_app_t *app = ud;
    on_guests_swept(app->chat, &out->base);
    mp_people_account_deleted(app->people, out);
}

/* Another node revoked a device: its tokens are refused here too. */
static void on_remote_close(void *ud, uint64_t device_id, uint64_t user_id, int code,
                            const char *reason)
{
    (void)user_id; /* a disabled account's flag comes with the flags (core/userflags.h) */
    (void)code;
    (void)reason;
    if (device_id != 0)
        mp_auth_revoked_elsewhere(ud, device_id);
}

/* The bus may have lost another node's news of a flag or a revocation:
 * both are read again from the store (one read; flags changed here
 * meanwhile keep their newer value). */
static void on_cached_state(mp_err_t rc, const mp_userflag_row_t *flags, size_t n_flags,
                            const uint64_t *revoked, size_t n_revoked, void *ud)
{
    mp_app_t *app = ud;
    if (rc != MP_OK) {
        mp_userflags_refresh_abort(app->flags);
        mp_log_warn("cluster: reading user flags and revoked devices again failed: %s",
                    mp_err_code(rc));
        return;
    }
    mp_userflags_refresh_end(app->flags, flags, n_flags);
    for (size_t i = 0; app->auth != NULL && i < n_revoked; i++)
        mp_auth_revoked_elsewhere(app->auth, revoked[i]);
    mp_log_info("cluster: read again %zu user(s) with flags and %zu revoked device(s)", n_flags,
                n_revoked);
}

static void on_cluster_gap(void *ud)
{
    mp_app_t *app = ud;
    /* Older revocations' tokens have expired anyway (as at start). */
    int64_t since = mp_now_ms() - (int64_t)app->cfg->access_token_ttl_s * 1000 - 60000;
    mp_userflags_refresh_begin(app->flags);
    if (mp_store_cached_state(app->store, since, on_cached_state, app) != MP_OK)
        mp_userflags_refresh_abort(app->flags); /* a full queue: the next gap tries again */
}

static void web_init(mp_app_t *app)
{
    app->web = mp_web_new(app->loop, app->cfg);
    if (app->web == NULL) {
        mp_log_info("web client: off (web = off)");
        return;
    }
    mp_server_set_fallback(app->srv, mp_web_handle, app->web);
    if (app->cfg->web_root[0])
        mp_log_info("web client: serving %s (web_root)", app->cfg->web_root);
    else if (mp_web_embedded_count() == 0)
        mp_log_warn("web client: this binary was built without it (MAGPIE_WEB=OFF)");
    else
        mp_log_info("web client: %zu files built in", mp_web_embedded_count());
}

/* Modules that need the store, server and hub. Add new modules here, in
 * dependency order, and the matching free in modules_free (reverse order).
 * module init list:
 *   1. auth  (mp_auth_new)
 *   2. chat  (mp_chat_new + mp_hub_on_presence(app->hub, <chat presence hook>, chat))
 *   3. groups (mp_groups_new: needs chat)
 *   4. people (mp_people_new)
 *   4b. files (mp_files_new: opens the file storage, starts the file sweep)
 *   4c. web (mp_web_new: the web client's files, for every path no route takes)
 *   5. admin (mp_admin_new: needs auth and chat; opens the control socket)
 *   6. sweep (mp_sweep_start: the guest sweep timer; needs store and auth,
 *      and tells chat about groups that lost their owner); the account
 *      deletion hook (same for deleted accounts) and the grace sweep timer
 * Each module gets the shared services (s->mctx) and the handles of the
 * modules it uses, never the app. */
static int modules_init(app_state_t *s, char *err, size_t errlen)
{
    mp_app_t *app = &s->app;
    app->auth = mp_auth_new(&s->mctx, err, errlen);
    if (app->auth == NULL)
        return -1;
    app->chat = mp_chat_new(&s->mctx);
    mp_hub_on_presence(app->hub, mp_chat_presence, app->chat);
    app->groups = mp_groups_new(&s->mctx, app->chat);
    app->people = mp_people_new(&s->mctx);
    app->files = mp_files_new(&s->mctx, err, errlen);
    if (app->files == NULL)
        return -1;
    web_init(app);
    app->admin = mp_admin_new(&s->mctx, app->auth, app->chat, err, errlen);
    if (app->admin == NULL)
        return -1;
    s->route_mods = route_mods(app);
    mp_server_set_route_mods(app->srv, s->route_mods);
    /* Verb tables of every module, concatenated (one line per module). */
    const mp_verb_table_t verb_tables[] = {
        {mp_chat_verbs, app->chat, mp_chat_raw_verbs},
        {NULL, NULL, NULL},
    };
    s->verbs = mp_verbs_new(&s->mctx, verb_tables);
    app->sweep =
        mp_sweep_start(app->loop, app->cfg, app->store, app->auth, on_guests_swept, app->chat);
    mp_auth_on_deleted(app->auth, on_account_deleted, app);
    mp_hub_on_remote_close(app->hub, on_remote_close, app->auth);
    mp_hub_on_gap(app->hub, on_cluster_gap, app);
    s->grace = mp_grace_start(app->loop, app->cfg, app->store, app->hub);
    return 0;
}

static void modules_free(app_state_t *s)
{
    mp_app_t *app = &s->app;
    if (app->hub != NULL) {
        mp_hub_on_remote_close(app->hub, NULL, NULL);
        mp_hub_on_gap(app->hub, NULL, NULL);
    }
    mp_verbs_free(s->verbs);
    s->verbs = NULL;
    mp_sweep_free(app->sweep);
    app->sweep = NULL;
    mp_grace_free(s->grace);
    s->grace = NULL;
    mp_admin_free(app->admin);
    app->admin = NULL;
    mp_web_free(app->web);
    app->web = NULL;
    mp_files_free(app->files);
    app->files = NULL;
    mp_people_free(app->people);
    app->people = NULL;
    mp_groups_free(app->groups);
    app->groups = NULL;
    mp_chat_free(app->chat);
    app->chat = NULL;
    mp_auth_free(app->auth);
    app->auth = NULL;
}

/* ---- shutdown ------------------------------------------------------------ */

static void on_server_down(void *arg)
{
    app_state_t *s = arg;
    uv_stop(&s->loop);
}

/* SIGHUP with TLS: the certificate and key again (a renewal), for new
 * connections. A bad pair is logged and the one in use stays. Without TLS
 * SIGHUP keeps its default action (a terminal that closes ends the server). */
static void on_sighup(app_state_t *s)
{
    const mp_config_t *cfg = s->app.cfg;
    if (s->stopping)
        return;
    char err[1200];
    if (mp_server_tls_load(s->app.srv, err, sizeof err) != 0)
        mp_log_always(MP_LOG_ERROR,
                      "magpie: SIGHUP: the TLS certificate was not reloaded, the one in use "
                      "stays: %s",
                      err);
    else
        mp_log_always(MP_LOG_INFO, "magpie: TLS certificate reloaded from %s", cfg->tls_cert);
}

static void on_signal(int signum, void *ud)
{
    app_state_t *s = ud;
    if (signum == SIGHUP) {
        on_sighup(s);
        return;
    }
    if (s->stopping) {
        mp_log_warn("signal %d again while shutting down; still waiting", signum);
        return;
    }
    s->stopping = true;
    mp_log_info("signal %d: shutting down", signum);
    (void)sd_notify(0, "STOPPING=1");
    /* The metrics listener first: its connections are plain HTTP and close
     * at once, long before the client server's WebSockets are gone. */
    if (s->metrics.srv != NULL)
        mp_server_shutdown(s->metrics.srv, NULL, NULL);
    if (s->redirect.srv != NULL)
        mp_server_shutdown(s->redirect.srv, NULL, NULL);
    mp_server_shutdown(s->app.srv, on_server_down, s);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Lets work already handed to the thread pool (password hashing, e-mail
 * sends, file writes and media processing) finish, so that its completion
 * callbacks run while their modules still exist. A send that completes may
 * start a password job, and the reverse, hence one loop over all. */
static void drain_requests(uv_loop_t *loop, const mp_app_t *app)
{
    while (mp_auth_pending_jobs(app->auth) > 0 || mp_mail_pending(app->mail) > 0 ||
           mp_files_pending(app->files) > 0)
        uv_run(loop, UV_RUN_ONCE);
}

/* Tears down whatever was set up, in reverse order. Safe on partial setup. */
static void teardown(app_state_t *s)
{
    mp_app_t *app = &s->app;
    /* First, while the loop still runs nothing: the other nodes hear this
     * node's goodbye (after the offline notices of its closed sessions), and
     * no message of theirs reaches modules that are going away. */
    if (app->hub != NULL)
        mp_hub_detach_bus(app->hub);
    mp_bus_close(app->bus);
    app->bus = NULL;
    drain_requests(&s->loop, app);
    if (app->store != NULL) {
        mp_store_close(app->store); /* its last completions run in the loop below */
        uv_run(&s->loop, UV_RUN_NOWAIT);
    }
    modules_free(s);
    mp_mail_free(app->mail);
    app->mail = NULL;
    mp_hub_free(app->hub);
    app->hub = NULL;
    mp_userflags_free(app->flags);
    app->flags = NULL;
    /* The signals stay blocked: a repeat from now on (a supervisor's, or a
     * second Ctrl-C) stays pending and cannot kill a shutdown that has only
     * memory left to release. */
    mp_signals_stop(s->signals);
    s->signals = NULL;
    /* Remaining handles (module timers) belong to no one any more. */
    uv_walk(&s->loop, close_walk_cb, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (app->srv != NULL)
        mp_server_free(app->srv);
    app->srv = NULL;
    mp_server_free(s->metrics.srv);
    s->metrics.srv = NULL;
    mp_server_free(s->redirect.srv);
    s->redirect.srv = NULL;
    app->store = NULL;
    if (uv_loop_close(&s->loop) != 0)
        mp_log_warn("event loop closed with handles still open");
    mp_free(s->routes);
    mp_free(s->route_mods);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* after the store: the next server may open it now */
}

/* ---- start-up ------------------------------------------------------------ */

static void print_listening(const mp_config_t *cfg, int port)
{
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    print_address("listening on", cfg, port);
    mp_log_info("listening on %s%s%s:%d (data in %s, node %u)", v6 ? "[" : "", cfg->listen_host,
                v6 ? "]" : "", port, cfg->data_dir, cfg->node_id);
    /* Under systemd (Type=notify) the unit is started once this is said;
     * elsewhere NOTIFY_SOCKET is unset and this does nothing. */
    (void)sd_notifyf(0, "READY=1\nSTATUS=listening on %s%s%s:%d", v6 ? "[" : "", cfg->listen_host,
                     v6 ? "]" : "", port);
}

/* io_threads: 0 is one per core, at most IO_THREADS_AUTO_MAX (past a few,
 * the loop building the writes is the limit, not the writes). */
#define IO_THREADS_AUTO_MAX 8

static void start_io_threads(mp_server_t *srv, const mp_config_t *cfg)
{
    unsigned want = cfg->io_threads;
    if (want == 0) {
        want = uv_available_parallelism();
        if (want > IO_THREADS_AUTO_MAX)
            want = IO_THREADS_AUTO_MAX;
    }
    mp_server_set_io_threads(srv, want);
    if (mp_server_io_threads(srv) < want)
        mp_log_warn("io: %u I/O threads could not be started; the loop writes alone", want - 1);
}

/* Binds the listening port first, so that a port clash stops the server
 * before it creates or locks anything; connections wait in the kernel's
 * backlog until the loop runs. */
static int start(app_state_t *s, const mp_config_t *cfg, char *err, size_t errlen)
{
    mp_app_t *app = &s->app;
    s->routes = concat_routes();
    app->srv = mp_server_new(&s->loop, cfg, s->routes, &hooks, app);
    if (app->srv == NULL) {
        snprintf(err, errlen, "cannot create the server");
        return -1;
    }
    if (cfg->tls_cert[0] != '\0' && mp_server_tls_load(app->srv, err, errlen) != 0)
        return -1;
    start_io_threads(app->srv, cfg);
    int rc = mp_server_listen(app->srv, &s->port);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port,
                 uv_strerror(rc));
        return -1;
    }
    if (start_sides(s, cfg, err, errlen) != 0)
        return -1;
    mp_metrics_start(mp_now_ms());
    if (mkdir_p(cfg->data_dir, err, errlen) != 0)
        return -1;
    check_data_dir_mode(cfg->data_dir);
    if (lock_data_dir(cfg->data_dir, &s->lock_fd, err, errlen) != 0)
        return -1;
    if (mp_store_open_url(cfg->data_dir, cfg->database == MP_DB_POSTGRES ? cfg->database_url : NULL,
                          &s->loop, &app->store, err, errlen) != MP_OK)
        return -1;
    if (mp_store_world_ensure(app->store, mp_now_ms(), &app->world_id) != MP_OK) {
        snprintf(err, errlen, "cannot find or create the world conversation");
        return -1;
    }
    /* Before the first write: the writer must know whether to keep the
     * search index, and an index that was off is rebuilt here. PostgreSQL
     * keeps none (the store never starts one there): search scans. */
    if (cfg->database == MP_DB_SQLITE &&
        mp_store_search_index(app->store, cfg->search_index, err, errlen) != MP_OK)
        return -1;
    app->hub = mp_hub_new(app->srv);
    app->flags = mp_userflags_new();
    if (mp_userflags_load(app->flags, app->store) != MP_OK) {
        snprintf(err, errlen, "cannot read the user flags (admins, disabled accounts)");
        return -1;
    }
    if (cfg->bus == MP_BUS_NATS) {
        app->bus = mp_bus_open(&s->loop, cfg->nats_url, cfg->node_id, err, errlen);
        if (app->bus == NULL)
            return -1;
        if (mp_hub_attach_bus(app->hub, &s->loop, app->bus, cfg->node_id, app->flags) != MP_OK) {
            snprintf(err, errlen, "bus: cannot subscribe");
            return -1;
        }
    }
    app->mail = mp_mail_new(app->loop, cfg);
    s->mctx = (mp_module_ctx_t){
        .loop = app->loop,
        .cfg = app->cfg,
        .store = app->store,
        .srv = app->srv,
        .hub = app->hub,
        .flags = app->flags,
        .mail = app->mail,
        .world_id = app->world_id,
    };
    if (modules_init(s, err, errlen) != 0)
        return -1;

    mp_signals_arm(s->signals);
    if (cfg->tls_cert[0] != '\0')
        mp_log_always(MP_LOG_INFO, "magpie: TLS on, certificate from %s", cfg->tls_cert);
    print_listening(cfg, s->port);
    return 0;
}

/* A failure before start(): only the loop and the signal thread exist. */
static int early_exit(app_state_t *s)
{
    mp_signals_stop(s->signals);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* the signal handle's close */
    uv_loop_close(&s->loop);
    mp_free(s);
    return 1;
}

int mp_app_serve(const mp_config_t *cfg)
{
    app_state_t *s = mp_calloc(1, sizeof *s);
    char err[2048] = ""; /* room for a full data_dir path in messages */
    int code = 0;

    /* First, before libvips, libcurl or the store can start a thread: every
     * thread inherits the mask, so that only the signal thread takes them. */
    mp_signals_block(cfg->tls_cert[0] != '\0');
    mp_log_set_level((mp_log_level_t)cfg->log_level);
    mp_log_set_json(cfg->log_json);
    mp_id_init(cfg->node_id);
    if (uv_loop_init(&s->loop) != 0) {
        mp_log_always(MP_LOG_ERROR, "magpie: cannot create the event loop");
        mp_free(s);
        return 1;
    }
    s->app.loop = &s->loop;
    s->app.cfg = cfg;
    s->lock_fd = -1;
    s->signals = mp_signals_start(&s->loop, on_signal, s);
    if (s->signals == NULL) {
        mp_log_always(MP_LOG_ERROR, "magpie: cannot start the signal thread");
        uv_loop_close(&s->loop);
        mp_free(s);
        return 1;
    }
    /* Every file we create (database, WAL, secret) is ours alone. */
    umask(077);
    /* Past a file-size limit, a write must fail with EFBIG (answered as
     * "unavailable", like a full disk) instead of killing the server. */
    signal(SIGXFSZ, SIG_IGN);
    /* Before any thread exists that could use libcurl. */
    if (!mp_mail_global_init()) {
        mp_log_always(MP_LOG_ERROR, "magpie: cannot initialise libcurl");
        return early_exit(s);
    }
    /* libuv's pool is shared by password hashing, e-mail, file I/O and media
     * processing, each bounded on its own; four threads (libuv's default)
     * would let two thumbnails and two hashes stall every download's disk
     * reads. Read by libuv at its first use of the pool; an operator's own
     * setting wins. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    mp_media_limits_t lim = {cfg->max_image_pixels, cfg->media_timeout_ms, cfg->media_memory};
    if (mp_media_init(&lim, err, sizeof err) != 0) {
        mp_log_always(MP_LOG_ERROR, "magpie: %s", err);
        return early_exit(s);
    }

    if (start(s, cfg, err, sizeof err) != 0) {
        mp_log_always(MP_LOG_ERROR, "magpie: %s", err);
        mp_log_error("start-up failed: %s", err);
        code = 1;
    } else {
        uv_run(&s->loop, UV_RUN_DEFAULT);
        mp_log_info("stopped");
    }
    teardown(s);
    mp_free(s);
    return code;
}

mp_check_result_t mp_app_check_db(const char *path, bool quick, int *version, char *msg,
                                  size_t msglen)
{
    return mp_store_check_file(path, quick, version, msg, msglen);
}
