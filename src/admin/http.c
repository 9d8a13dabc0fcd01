/* The HTTP front-end of the admin operations: one route per operation, made
 * from the list in admin_int.h. A route checks that the caller is an
 * administrator, builds the arguments (JSON body, then the query parameters
 * the op names, then the path parameters) and calls the op; the op's answer
 * becomes the response. */
#include <string.h>

#include "admin/admin_int.h"
#include "util/alloc.h"
#include "util/assert.h"

/* Guests reach the handler (GUEST_OK) so that they are told what everyone
 * else who is not an administrator is told. */
#define MP_ADMIN__FLAGS_GET (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK)
#define MP_ADMIN__FLAGS_DELETE (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK)
#define MP_ADMIN__FLAGS_POST                                                                       \
    (MP_ROUTE_AUTH | MP_ROUTE_GUEST_OK | MP_ROUTE_JSON | MP_ROUTE_JSON_EMPTY_OK)

static void http_answer(mp_admin_call_t *call, mp_err_t rc, const char *message, json_t *result)
{
    mp_http_req_t *req = call->front;
    if (rc != MP_OK) {
        json_decref(result);
        mp_http_respond_error(req, rc, message);
    } else if (call->http_ok == 204) {
        json_decref(result);
        mp_http_respond(req, 204, NULL);
    } else {
        mp_http_respond(req, call->http_ok ? call->http_ok : 200,
                        result != NULL ? result : json_object());
    }
    json_decref(call->args);
    mp_free(call);
}

/* Copies the values of the route's {params} into args. */
static void add_path_params(mp_http_req_t *req, const char *route, json_t *args)
{
    for (const char *p = strchr(route, '{'); p != NULL; p = strchr(p, '{')) {
        const char *end = strchr(p, '}');
        char name[64];
        size_t len = (size_t)(end - p - 1);
        if (end == NULL || len >= sizeof name)
            return;
        memcpy(name, p + 1, len);
        name[len] = '\0';
        const char *v = mp_http_req_param(req, name);
        if (v != NULL)
            json_object_set_new(args, name, json_string(v));
        p = end;
    }
}

/* Copies the query parameters named in `query` (space-separated) into args. */
static void add_query_params(mp_http_req_t *req, const char *query, json_t *args)
{
    for (const char *p = query; *p != '\0';) {
        size_t len = strcspn(p, " ");
        char name[64];
        if (len > 0 && len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            const char *v = mp_http_req_query(req, name);
            if (v != NULL)
                json_object_set_new(args, name, json_string(v));
        }
        p += len;
        p += strspn(p, " ");
    }
}

static void http_call(mp_http_req_t *req, const char *name)
{
    const mp_admin_op_t *op = mp_admin__op_find(name);
    mp_admin_t *admin = mp_admin__of(req);
    const mp_principal_t *who = mp_http_req_principal(req);
    MP_ASSERT(op != NULL);

    if (who->guest || !mp_userflags_has(admin->ctx->flags, who->user_id, MP_UF_ADMIN) ||
        mp_userflags_has(admin->ctx->flags, who->user_id, MP_UF_DISABLED)) {
        mp_http_respond_error(req, MP_ERR_FORBIDDEN, "administrators only");
        return;
    }
    json_t *body = mp_http_req_json(req);
    json_t *args = json_is_object(body) ? json_deep_copy(body) : json_object();
    add_query_params(req, op->query, args);
    add_path_params(req, op->route, args);

    mp_admin_call_t *call = mp_calloc(1, sizeof *call);
    call->admin = admin;
    call->actor_id = who->user_id;
    call->args = args;
    call->answer = http_answer;
    call->front = req;
    op->fn(call);
}

#define MP_ADMIN__HANDLER(name, fn, method, route, query)                                          \
    static void h_##fn(mp_http_req_t *req)                                                         \
    {                                                                                              \
        http_call(req, name);                                                                      \
    }
MP_ADMIN_OPS(MP_ADMIN__HANDLER)

#define MP_ADMIN__ROUTE(name, fn, method, route, query)                                            \
    {#method, route, MP_ADMIN__FLAGS_##method, h_##fn},

const mp_route_t mp_admin_routes[] = {
    MP_ADMIN_OPS(MP_ADMIN__ROUTE){0},
};
