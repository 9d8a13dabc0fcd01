/* The PostgreSQL schema: see migrations_pg.h. Never edit a shipped
 * migration: append a new one, to both lists. */
#include "store/migrations_pg.h"

#include <stddef.h>

const char *const mp_pg__migrations[] = {NULL};
