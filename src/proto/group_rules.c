/* The rules of groups: see proto/group_rules.h. */
#include "proto/group_rules.h"

static bool is_admin(mp_group_role_t r)
{
    return r >= MP_GROUP_ADMIN;
}

bool mp_group_rule_outranks(mp_group_role_t actor, mp_group_role_t target)
{
    if (actor == MP_GROUP_OWNER)
        return target != MP_GROUP_OWNER;
    return actor == MP_GROUP_ADMIN && target == MP_GROUP_MEMBER;
}

/* Kick and mute: an admin, on another member it outranks. */
static mp_err_t moderate(const mp_group_facts_t *f)
{
    if (!is_admin(f->role) || f->self)
        return MP_ERR_NOT_ALLOWED;
    if (!f->target_member)
        return MP_ERR_NOT_FOUND;
    return mp_group_rule_outranks(f->role, f->target_role) ? MP_OK : MP_ERR_NOT_ALLOWED;
}

/* A role or a setting that says "admins": MP_ERR_NOT_ALLOWED for a member. */
static mp_err_t admins_if(bool admins_only, const mp_group_facts_t *f)
{
    return admins_only && !is_admin(f->role) ? MP_ERR_NOT_ALLOWED : MP_OK;
}

static mp_err_t owner_only(const mp_group_facts_t *f)
{
    return f->role == MP_GROUP_OWNER ? MP_OK : MP_ERR_NOT_ALLOWED;
}

mp_err_t mp_group_rule(mp_group_rule_op_t op, const mp_group_facts_t *f)
{
    if (!f->member)
        return MP_ERR_NOT_MEMBER;
    bool read = op == MP_GRULE_READ || op == MP_GRULE_READ_ADMIN;
    if (f->dissolved && !read)
        return MP_ERR_DISSOLVED;
    mp_err_t rc;
    switch (op) {
    case MP_GRULE_READ:
    case MP_GRULE_WRITE:
        return MP_OK;
    case MP_GRULE_READ_ADMIN:
    case MP_GRULE_EDIT_SETTINGS:
    case MP_GRULE_REVOKE_INVITE:
    case MP_GRULE_UNBAN:
    case MP_GRULE_ANNOUNCE:
        return admins_if(true, f);
    case MP_GRULE_POST:
        if ((rc = admins_if(f->settings.post_admins, f)) != MP_OK)
            return rc;
        return f->muted ? MP_ERR_MUTED : MP_OK;
    case MP_GRULE_EDIT_INFO:
        return admins_if(f->settings.edit_admins, f);
    case MP_GRULE_INVITE:
        return admins_if(f->settings.invite_admins, f);
    case MP_GRULE_KICK:
    case MP_GRULE_MUTE:
        return moderate(f);
    case MP_GRULE_LEAVE:
        /* The owner hands the group over (or dissolves it) first. */
        return f->role == MP_GROUP_OWNER ? MP_ERR_CONFLICT : MP_OK;
    case MP_GRULE_BAN:
        /* A non-member may be banned too (so they cannot join by link). */
        if (!is_admin(f->role) || f->self)
            return MP_ERR_NOT_ALLOWED;
        if (!f->target_exists)
            return MP_ERR_NOT_FOUND;
        if (f->target_member && !mp_group_rule_outranks(f->role, f->target_role))
            return MP_ERR_NOT_ALLOWED;
        return MP_OK;
    case MP_GRULE_ROLE:
        if ((rc = owner_only(f)) != MP_OK)
            return rc;
        if (!f->target_member)
            return MP_ERR_NOT_FOUND;
        /* There is exactly one owner: only a transfer changes who. */
        if (f->target_role == MP_GROUP_OWNER || f->new_role == MP_GROUP_OWNER)
            return MP_ERR_CONFLICT;
        return MP_OK;
    case MP_GRULE_TRANSFER:
        if ((rc = owner_only(f)) != MP_OK)
            return rc;
        if (f->self)
            return MP_ERR_CONFLICT;
        /* Guests never own a group, not even one made a member before
         * guests were refused as members. */
        if (f->target_guest)
            return MP_ERR_GUEST_FORBIDDEN;
        return f->target_member ? MP_OK : MP_ERR_NOT_FOUND;
    case MP_GRULE_DISSOLVE:
        return owner_only(f);
    case MP_GRULE_PIN:
        return admins_if(f->settings.pin_admins, f);
    case MP_GRULE_DELETE_ANY:
        /* target_* describe the message's sender; one who left counts as a
         * member. Admins are not bound by the recall window, on their own
         * messages either. */
        if (!is_admin(f->role))
            return MP_ERR_NOT_ALLOWED;
        if (f->self ||
            mp_group_rule_outranks(f->role, f->target_member ? f->target_role : MP_GROUP_MEMBER))
            return MP_OK;
        return MP_ERR_NOT_ALLOWED;
    }
    return MP_ERR_INTERNAL;
}
