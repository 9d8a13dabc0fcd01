/* Who is making a request: filled by authentication, read by every handler. */
#ifndef MP_PROTO_PRINCIPAL_H
#define MP_PROTO_PRINCIPAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mp_principal {
    uint64_t user_id; /* 0 = anonymous */
    uint64_t device_id;
    bool guest;
} mp_principal_t;

#endif
