/* The human line of a group's system message ("alice added bob"), rendered
 * from the facts the store recorded (proto/group_fact.h) when the message is
 * encoded for clients. */
#ifndef MP_CHAT_SYSMSG_H
#define MP_CHAT_SYSMSG_H

#include <jansson.h>

/* The line for a stored body: its "text" when it has one (rows stored before
 * the facts were), else rendered from "system" and "names". NULL when body
 * is neither (no object "system"). The result is mp_malloc'd. */
char *mp_chat_sysmsg_text(const json_t *body);

#endif
