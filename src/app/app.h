/* The application: wires config, store, gateway and core modules on one loop,
 * and runs `magpie serve`. mp_app_t is the composition root's own state: the
 * modules are handed an mp_module_ctx_t (core/module.h) and the handles of
 * the modules they use, never this. */
#ifndef MP_APP_APP_H
#define MP_APP_APP_H

#include <uv.h>

#include "bus/bus.h"
#include "config/config.h"
#include "core/hub.h"
#include "core/userflags.h"
#include "mail/mail.h"
#include "net/server.h"
#include "store/backup.h"
#include "store/store.h"

struct mp_auth;
struct mp_chat;
struct mp_groups;
struct mp_people;
struct mp_files;
struct mp_web;
struct mp_admin;
struct mp_sweep;

typedef struct mp_app {
    uv_loop_t *loop;
    const mp_config_t *cfg;
    mp_store_t *store;
    mp_server_t *srv;
    mp_hub_t *hub;
    mp_bus_t *bus; /* NULL unless bus = nats */
    mp_userflags_t *flags;
    mp_mail_t *mail; /* outgoing e-mail, shared by the modules through their ctx */
    struct mp_auth *auth;
    struct mp_chat *chat;
    struct mp_groups *groups;
    struct mp_people *people;
    struct mp_files *files;
    struct mp_web *web; /* NULL when web = off */
    struct mp_admin *admin;
    struct mp_sweep *sweep; /* the guest sweep timer (auth/sweep.h) */
    uint64_t world_id;      /* the world conversation, found or created at start */
} mp_app_t;

/* Runs the server until SIGINT/SIGTERM. Returns a process exit code. */
int mp_app_serve(const mp_config_t *cfg);

/* `magpie check FILE`: verifies a database file offline, without a server
 * (mp_store_check_file in store/backup.h: the command line reaches the
 * store through the composition root only). */
mp_check_result_t mp_app_check_db(const char *path, bool quick, int *version, char *msg,
                                  size_t msglen);

#endif
