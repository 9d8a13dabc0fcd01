/* The rules of groups, one row per line of docs/protocol.md "Roles and
 * settings" and of its route table: operation x actor role x target x
 * settings and flags -> the answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proto/group_rules.h"

enum {
    M = MP_GROUP_MEMBER,
    A = MP_GROUP_ADMIN,
    O = MP_GROUP_OWNER,
    NON = -1,  /* actor: not a member; target: a user who is not a member */
    SELF = -2, /* target: the actor themselves */
    NT = -3,   /* no target */
};

enum {
    POST_ADMINS = 1 << 0, /* who_can_post: admins */
    INV_ADMINS = 1 << 1,  /* who_can_invite: admins */
    EDIT_ADMINS = 1 << 2, /* who_can_edit_info: admins */
    DISSOLVED = 1 << 3,
    MUTED = 1 << 4,      /* the actor's mute has not passed */
    GUEST = 1 << 5,      /* the target is a guest */
    NO_USER = 1 << 6,    /* the target is no known user */
    ASK_OWNER = 1 << 7,  /* ROLE: the role asked for is owner */
    ASK_ADMIN = 1 << 8,  /* ROLE: the role asked for is admin */
    PIN_ADMINS = 1 << 9, /* who_can_pin: admins */
};

typedef struct row {
    int line; /* of this file, to name a failing row */
    mp_group_rule_op_t op;
    int actor, target;
    unsigned flags;
    mp_err_t want;
} row_t;

#define R(op, actor, target, flags, want)                                                          \
    {                                                                                              \
        __LINE__, op, actor, target, flags, want                                                   \
    }

static const row_t rows[] = {
    /* GET /v1/groups/{id}, GET members: members; reads ignore dissolution. */
    R(MP_GRULE_READ, M, NT, 0, MP_OK),
    R(MP_GRULE_READ, M, NT, DISSOLVED, MP_OK),
    R(MP_GRULE_READ, NON, NT, 0, MP_ERR_NOT_MEMBER),
    /* GET bans, GET invites: admins. */
    R(MP_GRULE_READ_ADMIN, M, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_READ_ADMIN, A, NT, 0, MP_OK),
    R(MP_GRULE_READ_ADMIN, O, NT, DISSOLVED, MP_OK),
    R(MP_GRULE_READ_ADMIN, NON, NT, 0, MP_ERR_NOT_MEMBER),

    /* who_can_post governs send; then the mute. */
    R(MP_GRULE_POST, M, NT, 0, MP_OK),
    R(MP_GRULE_POST, M, NT, POST_ADMINS, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_POST, A, NT, POST_ADMINS, MP_OK),
    R(MP_GRULE_POST, O, NT, POST_ADMINS, MP_OK),
    R(MP_GRULE_POST, M, NT, MUTED, MP_ERR_MUTED),
    R(MP_GRULE_POST, A, NT, MUTED, MP_ERR_MUTED),
    R(MP_GRULE_POST, M, NT, POST_ADMINS | MUTED, MP_ERR_NOT_ALLOWED), /* role before mute */
    R(MP_GRULE_POST, M, NT, DISSOLVED | MUTED, MP_ERR_DISSOLVED),
    R(MP_GRULE_POST, NON, NT, DISSOLVED, MP_ERR_NOT_MEMBER), /* membership first */

    /* PATCH: who_can_edit_info (title, description); admins (settings). */
    R(MP_GRULE_EDIT_INFO, M, NT, 0, MP_OK),
    R(MP_GRULE_EDIT_INFO, M, NT, EDIT_ADMINS, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_EDIT_INFO, A, NT, EDIT_ADMINS, MP_OK),
    R(MP_GRULE_EDIT_INFO, O, NT, EDIT_ADMINS, MP_OK),
    R(MP_GRULE_EDIT_INFO, M, NT, POST_ADMINS | INV_ADMINS, MP_OK), /* other settings */
    R(MP_GRULE_EDIT_SETTINGS, M, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_EDIT_SETTINGS, A, NT, 0, MP_OK),
    R(MP_GRULE_EDIT_SETTINGS, O, NT, 0, MP_OK),

    /* POST members, POST invites: who_can_invite. */
    R(MP_GRULE_INVITE, M, NT, 0, MP_OK),
    R(MP_GRULE_INVITE, M, NT, INV_ADMINS, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_INVITE, A, NT, INV_ADMINS, MP_OK),
    R(MP_GRULE_INVITE, O, NT, INV_ADMINS, MP_OK),
    R(MP_GRULE_INVITE, M, NT, EDIT_ADMINS | POST_ADMINS, MP_OK),
    /* DELETE invites/{token}: admins. */
    R(MP_GRULE_REVOKE_INVITE, M, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_REVOKE_INVITE, A, NT, 0, MP_OK),
    R(MP_GRULE_REVOKE_INVITE, O, NT, 0, MP_OK),

    /* DELETE members/{user_id}: the hierarchy (kick). */
    R(MP_GRULE_KICK, O, A, 0, MP_OK),
    R(MP_GRULE_KICK, O, M, 0, MP_OK),
    R(MP_GRULE_KICK, A, M, 0, MP_OK),
    R(MP_GRULE_KICK, A, A, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_KICK, A, O, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_KICK, M, M, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_KICK, M, NON, 0, MP_ERR_NOT_ALLOWED), /* role before the target */
    R(MP_GRULE_KICK, A, NON, 0, MP_ERR_NOT_FOUND),
    R(MP_GRULE_KICK, O, SELF, 0, MP_ERR_NOT_ALLOWED),
    /* ... and anyone but the owner for themselves (leave). */
    R(MP_GRULE_LEAVE, M, SELF, 0, MP_OK),
    R(MP_GRULE_LEAVE, A, SELF, 0, MP_OK),
    R(MP_GRULE_LEAVE, O, SELF, 0, MP_ERR_CONFLICT),
    R(MP_GRULE_LEAVE, M, SELF, DISSOLVED, MP_ERR_DISSOLVED),

    /* PUT members/{user_id}/role: owner; never to or from owner. */
    R(MP_GRULE_ROLE, O, M, ASK_ADMIN, MP_OK),
    R(MP_GRULE_ROLE, O, A, 0, MP_OK),
    R(MP_GRULE_ROLE, O, A, ASK_ADMIN, MP_OK), /* unchanged: nothing to do */
    R(MP_GRULE_ROLE, A, M, ASK_ADMIN, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_ROLE, M, M, ASK_ADMIN, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_ROLE, O, NON, ASK_ADMIN, MP_ERR_NOT_FOUND),
    R(MP_GRULE_ROLE, O, M, ASK_OWNER, MP_ERR_CONFLICT),
    R(MP_GRULE_ROLE, O, SELF, 0, MP_ERR_CONFLICT), /* the owner's own role */

    /* POST transfer: owner, to another member who is no guest. */
    R(MP_GRULE_TRANSFER, O, M, 0, MP_OK),
    R(MP_GRULE_TRANSFER, O, A, 0, MP_OK),
    R(MP_GRULE_TRANSFER, A, M, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_TRANSFER, M, A, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_TRANSFER, O, SELF, 0, MP_ERR_CONFLICT),
    R(MP_GRULE_TRANSFER, O, M, GUEST, MP_ERR_GUEST_FORBIDDEN),
    R(MP_GRULE_TRANSFER, O, NON, GUEST, MP_ERR_GUEST_FORBIDDEN), /* guest before member */
    R(MP_GRULE_TRANSFER, O, NON, 0, MP_ERR_NOT_FOUND),

    /* POST bans: admins (hierarchy); a non-member may be banned. */
    R(MP_GRULE_BAN, O, A, 0, MP_OK),
    R(MP_GRULE_BAN, O, M, 0, MP_OK),
    R(MP_GRULE_BAN, A, M, 0, MP_OK),
    R(MP_GRULE_BAN, A, A, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_BAN, A, O, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_BAN, M, M, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_BAN, M, NON, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_BAN, A, NON, 0, MP_OK),
    R(MP_GRULE_BAN, A, NON, NO_USER, MP_ERR_NOT_FOUND),
    R(MP_GRULE_BAN, M, NON, NO_USER, MP_ERR_NOT_ALLOWED), /* role before the target */
    R(MP_GRULE_BAN, O, SELF, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_BAN, A, SELF, 0, MP_ERR_NOT_ALLOWED),
    /* DELETE bans/{user_id}: admins. */
    R(MP_GRULE_UNBAN, M, NON, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_UNBAN, A, NON, 0, MP_OK),
    R(MP_GRULE_UNBAN, O, NON, 0, MP_OK),

    /* POST / DELETE members/{user_id}/mute: admins (hierarchy). */
    R(MP_GRULE_MUTE, O, A, 0, MP_OK),
    R(MP_GRULE_MUTE, O, M, 0, MP_OK),
    R(MP_GRULE_MUTE, A, M, 0, MP_OK),
    R(MP_GRULE_MUTE, A, A, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_MUTE, A, O, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_MUTE, M, M, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_MUTE, A, NON, 0, MP_ERR_NOT_FOUND),
    R(MP_GRULE_MUTE, A, SELF, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_MUTE, O, SELF, 0, MP_ERR_NOT_ALLOWED),

    /* PUT / DELETE announcement: admins. */
    R(MP_GRULE_ANNOUNCE, M, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_ANNOUNCE, A, NT, 0, MP_OK),
    R(MP_GRULE_ANNOUNCE, O, NT, 0, MP_OK),

    /* POST dissolve: owner. */
    R(MP_GRULE_DISSOLVE, M, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DISSOLVE, A, NT, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DISSOLVE, O, NT, 0, MP_OK),
    R(MP_GRULE_DISSOLVE, O, NT, DISSOLVED, MP_ERR_DISSOLVED),

    /* pin / unpin: who_can_pin ("all" by default); not in a dissolved group. */
    R(MP_GRULE_PIN, M, NT, 0, MP_OK),
    R(MP_GRULE_PIN, A, NT, 0, MP_OK),
    R(MP_GRULE_PIN, M, NT, PIN_ADMINS, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_PIN, A, NT, PIN_ADMINS, MP_OK),
    R(MP_GRULE_PIN, O, NT, PIN_ADMINS, MP_OK),
    R(MP_GRULE_PIN, M, NT, POST_ADMINS | INV_ADMINS | EDIT_ADMINS, MP_OK), /* other settings */
    R(MP_GRULE_PIN, M, NT, MUTED, MP_OK), /* a mute stops posting only */
    R(MP_GRULE_PIN, O, NT, DISSOLVED, MP_ERR_DISSOLVED),
    R(MP_GRULE_PIN, M, NT, DISSOLVED | PIN_ADMINS, MP_ERR_DISSOLVED), /* dissolution first */
    R(MP_GRULE_PIN, NON, NT, 0, MP_ERR_NOT_MEMBER),

    /* delete for everyone another's message: admins by the hierarchy (the
     * owner: anyone's; an admin: members' and its own). The target is the
     * sender; one who has left counts as a member. */
    R(MP_GRULE_DELETE_ANY, O, A, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, O, M, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, O, NON, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, O, SELF, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, A, M, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, A, NON, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, A, SELF, 0, MP_OK),
    R(MP_GRULE_DELETE_ANY, A, A, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DELETE_ANY, A, O, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DELETE_ANY, M, M, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DELETE_ANY, M, SELF, 0, MP_ERR_NOT_ALLOWED), /* own: the recall window */
    R(MP_GRULE_DELETE_ANY, M, NON, 0, MP_ERR_NOT_ALLOWED),
    R(MP_GRULE_DELETE_ANY, A, M, DISSOLVED, MP_ERR_DISSOLVED),
    R(MP_GRULE_DELETE_ANY, NON, M, 0, MP_ERR_NOT_MEMBER),

    /* Any other write: a member of a live group. */
    R(MP_GRULE_WRITE, M, NT, 0, MP_OK),
    R(MP_GRULE_WRITE, M, NT, DISSOLVED, MP_ERR_DISSOLVED),
    R(MP_GRULE_WRITE, NON, NT, 0, MP_ERR_NOT_MEMBER),
};

static mp_group_facts_t facts(const row_t *r)
{
    mp_group_facts_t f = {
        .member = r->actor != NON,
        .dissolved = (r->flags & DISSOLVED) != 0,
        .role = r->actor == NON ? MP_GROUP_MEMBER : (mp_group_role_t)r->actor,
        .settings = {.post_admins = (r->flags & POST_ADMINS) != 0,
                     .invite_admins = (r->flags & INV_ADMINS) != 0,
                     .edit_admins = (r->flags & EDIT_ADMINS) != 0,
                     .pin_admins = (r->flags & PIN_ADMINS) != 0},
        .muted = (r->flags & MUTED) != 0,
        .self = r->target == SELF,
        .target_exists = (r->flags & NO_USER) == 0,
        .target_guest = (r->flags & GUEST) != 0,
        .target_member = r->target == SELF || r->target >= 0,
        .new_role = (r->flags & ASK_OWNER)   ? MP_GROUP_OWNER
                    : (r->flags & ASK_ADMIN) ? MP_GROUP_ADMIN
                                             : MP_GROUP_MEMBER,
    };
    if (r->target == SELF)
        f.target_role = f.role;
    else if (r->target >= 0)
        f.target_role = (mp_group_role_t)r->target;
    return f;
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mp_group_facts_t f = facts(&rows[i]);
        mp_err_t got = mp_group_rule(rows[i].op, &f);
        if (got != rows[i].want)
            fail_msg("row at line %d: got %s, want %s", rows[i].line, mp_err_code(got),
                     mp_err_code(rows[i].want));
    }
}

static const mp_group_rule_op_t writes[] = {
    MP_GRULE_WRITE,  MP_GRULE_POST,          MP_GRULE_EDIT_INFO, MP_GRULE_EDIT_SETTINGS,
    MP_GRULE_INVITE, MP_GRULE_REVOKE_INVITE, MP_GRULE_KICK,      MP_GRULE_LEAVE,
    MP_GRULE_BAN,    MP_GRULE_UNBAN,         MP_GRULE_MUTE,      MP_GRULE_ANNOUNCE,
    MP_GRULE_ROLE,   MP_GRULE_TRANSFER,      MP_GRULE_DISSOLVE,
};

/* The order of checks: membership, then dissolution (writes), before any
 * role, whatever else the facts say; the owner of a dissolved group can do
 * nothing more to it. */
static void test_membership_then_dissolution(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        mp_group_facts_t f = {.member = false, .dissolved = true, .role = MP_GROUP_OWNER};
        assert_int_equal(mp_group_rule(writes[i], &f), MP_ERR_NOT_MEMBER);
        f.member = true;
        f.target_member = true;
        f.target_exists = true;
        assert_int_equal(mp_group_rule(writes[i], &f), MP_ERR_DISSOLVED);
    }
    mp_group_facts_t f = {.member = false};
    assert_int_equal(mp_group_rule(MP_GRULE_READ, &f), MP_ERR_NOT_MEMBER);
    assert_int_equal(mp_group_rule(MP_GRULE_READ_ADMIN, &f), MP_ERR_NOT_MEMBER);
}

/* The hierarchy as a matrix: row = actor, column = target. */
static void test_outranks(void **state)
{
    (void)state;
    static const bool want[3][3] = {
        /* member admin owner */
        {false, false, false}, /* member */
        {true, false, false},  /* admin */
        {true, true, false},   /* owner */
    };
    for (int a = 0; a < 3; a++)
        for (int t = 0; t < 3; t++)
            assert_int_equal(mp_group_rule_outranks((mp_group_role_t)a, (mp_group_role_t)t),
                             want[a][t]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_membership_then_dissolution),
        cmocka_unit_test(test_outranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
