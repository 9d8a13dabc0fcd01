/* What a feature module is handed at creation: the shared services it may
 * use, and nothing of the other modules (a module that needs another one is
 * given that module's handle explicitly). Filled by the composition root; the
 * pointers outlive every module. */
#ifndef MP_CORE_MODULE_H
#define MP_CORE_MODULE_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/hub.h"
#include "core/userflags.h"
#include "mail/mail.h"
#include "net/server.h"
#include "store/store.h"

typedef struct mp_module_ctx {
    uv_loop_t *loop;
    const mp_config_t *cfg;
    mp_store_t *store;
    mp_server_t *srv;
    mp_hub_t *hub;
    mp_userflags_t *flags; /* admin, disabled, no read receipts: see userflags.h */
    mp_mail_t *mail;       /* outgoing e-mail (disabled when smtp_url is empty) */
    uint64_t world_id;     /* the world conversation, found or created at start */
} mp_module_ctx_t;

#endif
