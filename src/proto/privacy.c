/* The privacy rules of proto/privacy.h. */
#include "proto/privacy.h"

#include <stddef.h>
#include <string.h>

static const char *const NAMES[] = {"everyone", "contacts", "nobody"};

bool mp_privacy_parse(const char *s, mp_privacy_t *out)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (strcmp(s, NAMES[i]) == 0) {
            *out = (mp_privacy_t)i;
            return true;
        }
    return false;
}

const char *mp_privacy_name(mp_privacy_t p)
{
    return (unsigned)p < sizeof NAMES / sizeof NAMES[0] ? NAMES[p] : "nobody";
}

mp_privacy_t mp_privacy_from_int(long long v)
{
    return v == MP_PRIV_EVERYONE   ? MP_PRIV_EVERYONE
           : v == MP_PRIV_CONTACTS ? MP_PRIV_CONTACTS
                                   : MP_PRIV_NOBODY;
}

bool mp_privacy_allows(mp_privacy_t setting, bool is_contact)
{
    switch (setting) {
    case MP_PRIV_EVERYONE:
        return true;
    case MP_PRIV_CONTACTS:
        return is_contact;
    default:
        return false;
    }
}

mp_privacy_verdict_t mp_privacy_rule(mp_privacy_op_t op, const mp_privacy_facts_t *f)
{
    if (op == MP_PRIVACY_MESSAGE && f->actor_blocked_target)
        return MP_PRIVACY_YOU_BLOCKED;
    if (f->target_blocked_actor || !mp_privacy_allows(f->setting, f->friends))
        return MP_PRIVACY_REFUSED;
    return MP_PRIVACY_ALLOWED;
}
