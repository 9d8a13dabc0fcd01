/* The control socket's request parsing (proto/control.h). */
#include "proto/control.h"

#include <stdio.h>
#include <string.h>

json_t *mp_ctl_parse(const char *line, size_t len, char cmd[MP_CTL_CMD_MAX + 1], json_t **id,
                     char *msg, size_t msglen)
{
    json_error_t jerr;
    *id = NULL;
    cmd[0] = '\0';
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL) {
        snprintf(msg, msglen, "the line is not JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(req)) {
        snprintf(msg, msglen, "a request must be a JSON object");
        json_decref(req);
        return NULL;
    }
    *id = json_incref(json_object_get(req, "id"));
    json_t *c = json_object_get(req, "cmd");
    if (!json_is_string(c) || json_string_length(c) == 0 ||
        json_string_length(c) > MP_CTL_CMD_MAX ||
        strlen(json_string_value(c)) != json_string_length(c)) {
        snprintf(msg, msglen, "field 'cmd' must be a command name (a string of 1 to %d bytes)",
                 MP_CTL_CMD_MAX);
        json_decref(req);
        return NULL;
    }
    memcpy(cmd, json_string_value(c), json_string_length(c) + 1);
    json_object_del(req, "cmd");
    json_object_del(req, "id");
    return req;
}
