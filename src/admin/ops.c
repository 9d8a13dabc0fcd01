/* The operation table, made from the one list in admin_int.h. */
#include <string.h>

#include "admin/admin_int.h"

#define MP_ADMIN__OP_ENTRY(name, fn, method, route, query) {name, fn, #method, route, query},
#define MP_ADMIN__CTL_OP_ENTRY(name, fn) {name, fn, NULL, NULL, ""},

const mp_admin_op_t mp_admin__ops[] = {
    MP_ADMIN_OPS(MP_ADMIN__OP_ENTRY) MP_ADMIN_CTL_OPS(MP_ADMIN__CTL_OP_ENTRY){0},
};

const mp_admin_op_t *mp_admin__op_find(const char *name)
{
    for (const mp_admin_op_t *op = mp_admin__ops; op->name != NULL; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    return NULL;
}
