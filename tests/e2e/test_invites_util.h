/* Helpers of the end-to-end tests of invite codes and world moderation
 * (test_invites.c, test_world_moderation.c): making a user a server admin
 * before the server starts, and the admin routes' bodies. Include after
 * cmocka.h. */
#ifndef MPT_INVITES_UTIL_H
#define MPT_INVITES_UTIL_H

#include "test_groups_util.h"

/* Stops srv (so that nothing it keeps in memory goes stale), makes user_id a
 * server admin in the database (users.admin, the flag the server loads at
 * start), and starts it again with flags (a
 * NULL-terminated list, as mpt_server_start takes). The admin's tokens stay
 * valid across the restart. */
static inline void promote_and_restart(mpt_server_t *srv, const char *user_id,
                                       const char *const *flags)
{
    assert_int_equal(mpt_server_terminate(srv), 0);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE users SET admin = 1 WHERE id = %s", user_id);
    db_exec(srv, sql);
    mpt_server_set_flags(srv, flags);
    assert_int_equal(mpt_server_restart(srv), 0);
}

/* Restarts srv with other flags (nothing changed in the database). */
static inline void restart_with(mpt_server_t *srv, const char *const *flags)
{
    assert_int_equal(mpt_server_terminate(srv), 0);
    mpt_server_set_flags(srv, flags);
    assert_int_equal(mpt_server_restart(srv), 0);
}

/* The newest entry of the audit log (GET /v1/admin/audit as admin token),
 * which must be of action and target_id (NULL: not checked). Caller decrefs. */
static inline json_t *audit_newest(const mpt_server_t *srv, const char *token, const char *action,
                                   const char *target_id)
{
    json_t *l = EXPECT_BODY(200, NULL, srv, "GET", token, NULL, "/v1/admin/audit?limit=1");
    json_t *e = json_incref(json_array_get(json_object_get(l, "entries"), 0));
    json_decref(l);
    assert_non_null(e);
    assert_string_equal(jstr(e, "action"), action);
    if (target_id != NULL)
        assert_string_equal(jstr(e, "target_id"), target_id);
    return e;
}

#endif
