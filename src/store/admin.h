/* Store operations of server administration: accounts as an administrator
 * sees them (e-mail, flags, paged listing), the admin and disabled flags,
 * the audit log and the server's counts. Callbacks run on the loop; rows
 * passed to them are valid only during the call. */
#ifndef MP_STORE_ADMIN_H
#define MP_STORE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MP_EMAIL_MAX 254
#define MP_AUDIT_ACTION_MAX 64
#define MP_AUDIT_DETAIL_MAX 4096 /* bytes of JSON text; longer details are refused */

/* A user with what only an administrator sees. password_hash of u is left
 * empty. */
typedef struct mp_admin_user_row {
    mp_user_row_t u;
    char email[MP_EMAIL_MAX + 1]; /* "" = none */
    bool pending;                 /* e-mail not verified yet: cannot log in */
    bool admin;
    int64_t disabled_at;  /* 0 = active */
    int64_t deleted_at;   /* 0 = alive */
    int64_t last_seen_at; /* the latest of its devices', 0 = never */
} mp_admin_user_row_t;

typedef void (*mp_store_admin_user_fn)(mp_err_t rc, const mp_admin_user_row_t *user, void *ud);
typedef void (*mp_store_admin_users_fn)(mp_err_t rc, const mp_admin_user_row_t *users, size_t n,
                                        bool has_more, void *ud);
/* changed: false when the flag already had the asked value. */
typedef void (*mp_store_admin_flag_fn)(mp_err_t rc, bool changed, void *ud);

/* One user by id (username NULL) or by username (case-insensitive; id 0).
 * MP_ERR_NOT_FOUND when absent. A reader job. */
mp_err_t mp_store_admin_user_get(mp_store_t *st, uint64_t id, const char *username,
                                 mp_store_admin_user_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Filters of the user list: -1 = either, 0 = no, 1 = yes. */
typedef struct mp_admin_user_filter {
    const char *q; /* NULL or a substring of username, display name or e-mail (case-insensitive) */
    int admin, disabled, guest;
    bool with_deleted; /* deleted accounts are left out unless asked */
} mp_admin_user_filter_t;

/* Users ordered by username, at most limit (1..1000) of them after the
 * username `after` (NULL or "" = from the start); has_more when more match.
 * A reader job. */
mp_err_t mp_store_admin_user_list(mp_store_t *st, const mp_admin_user_filter_t *f,
                                  const char *after, size_t limit, mp_store_admin_users_fn cb,
                                  void *ud) __attribute__((warn_unused_result));

/* Sets users.admin of a registered (not guest), not deleted user:
 * MP_ERR_NOT_FOUND for an unknown or deleted one, MP_ERR_BAD_REQUEST for a
 * guest. Clearing it is refused with MP_ERR_CONFLICT when the user is the
 * last administrator. A writer job; the caller updates the in-memory flag in
 * cb. */
mp_err_t mp_store_admin_set_admin(mp_store_t *st, uint64_t user_id, bool admin,
                                  mp_store_admin_flag_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* Sets (disabled_at = now_ms) or clears users.disabled_at of a not deleted
 * user (MP_ERR_NOT_FOUND otherwise). Disabling an already disabled user
 * keeps its first disabled_at. A writer job. */
mp_err_t mp_store_admin_set_disabled(mp_store_t *st, uint64_t user_id, bool disabled,
                                     int64_t now_ms, mp_store_admin_flag_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* ---- the audit log -------------------------------------------------------- */

typedef struct mp_audit_row {
    uint64_t id; /* grows with time: the page cursor */
    int64_t at;
    uint64_t actor_id;                    /* 0 = the operator on the control socket */
    char actor_name[MP_USERNAME_MAX + 1]; /* the actor's username now, "" for 0 */
    char action[MP_AUDIT_ACTION_MAX + 1];
    uint64_t target_id; /* 0 = none */
    char *detail;       /* JSON text, "" = none */
} mp_audit_row_t;

typedef void (*mp_store_audit_fn)(mp_err_t rc, const mp_audit_row_t *rows, size_t n, bool has_more,
                                  void *ud);

/* Appends a row (detail: JSON text or NULL, at most MP_AUDIT_DETAIL_MAX
 * bytes). cb may be NULL. A writer job. */
mp_err_t mp_store_audit_add(mp_store_t *st, int64_t at, uint64_t actor_id, const char *action,
                            uint64_t target_id, const char *detail, mp_store_done_fn cb, void *ud)
    __attribute__((warn_unused_result));

/* The newest rows with id below `before` (0 = from the newest), newest first,
 * at most limit (1..1000). A reader job. */
mp_err_t mp_store_audit_page(mp_store_t *st, uint64_t before, size_t limit, mp_store_audit_fn cb,
                             void *ud) __attribute__((warn_unused_result));

/* ---- counts ----------------------------------------------------------------- */

typedef struct mp_admin_stats {
    uint64_t users;         /* registered accounts, not deleted (disabled and pending included) */
    uint64_t guests;        /* guest accounts */
    uint64_t admins;        /* administrators */
    uint64_t disabled;      /* disabled accounts */
    uint64_t pending;       /* accounts waiting for e-mail verification */
    uint64_t deleted;       /* deleted accounts whose row remains */
    uint64_t conversations; /* every conversation: direct, group and the world room */
    uint64_t direct;
    uint64_t groups;
    uint64_t messages;   /* stored messages, deleted ones included */
    uint64_t db_bytes;   /* the database file (pages in use and free), without its WAL */
    uint64_t files;      /* distinct stored contents (identical uploads share one) */
    uint64_t file_bytes; /* their bytes on disk, renditions (thumbnails, posters) included */
} mp_admin_stats_t;

typedef void (*mp_store_admin_stats_fn)(mp_err_t rc, const mp_admin_stats_t *stats, void *ud);

/* The counts above. A reader job. */
mp_err_t mp_store_admin_stats(mp_store_t *st, mp_store_admin_stats_fn cb, void *ud)
    __attribute__((warn_unused_result));

#endif
