/* End-to-end tests of registration invite codes (registration = invite):
 * no code → invite_required; unknown, expired, revoked and used-up codes →
 * invalid_invite; codes compared without case; single- and multi-use codes
 * counted exactly (a failed registration uses nothing); the admin routes
 * (create, list with paging, revoke) and their refusal for non-admins,
 * guests and anonymous callers; registration = closed refusing even with a
 * valid code, registration = open ignoring the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test_invites_util.h"

#define FLAGS_OPEN CHAT_FLAGS, "--registration", "open"
#define FLAGS_INVITE CHAT_FLAGS, "--registration", "invite"
#define FLAGS_CLOSED CHAT_FLAGS, "--registration", "closed"
#define PASSWORD "correct horse 1"

static mpt_server_t *srv;
static mpt_session_t admin, plain;

static int setup(void **state)
{
    (void)state;
    const char *open[] = {FLAGS_OPEN, NULL};
    const char *invite[] = {FLAGS_INVITE, NULL};
    srv = mpt_server_start(open);
    if (srv == NULL)
        return -1;
    if (mpt_user_new(srv, "adm", &admin) != 0 || mpt_user_new(srv, "pln", &plain) != 0)
        return -1;
    promote_and_restart(srv, admin.user_id, invite);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    return rc == 0 ? 0 : -1;
}

/* POST /v1/auth/register with an invite_code (NULL: none); returns the
 * status and the body in *out (may be NULL). */
static int register_code(const char *name, const char *code, json_t **out)
{
    json_t *body = json_pack("{s:s,s:s}", "username", name, "password", PASSWORD);
    if (code != NULL)
        json_object_set_new(body, "invite_code", json_string(code));
    return http_json(srv, "POST", "/v1/auth/register", NULL, body, out);
}

/* Registers a fresh user with code and expects want (and, for an error, the
 * code). */
static void expect_register(int line, const char *code, int want, const char *want_err)
{
    char name[33];
    json_t *out = NULL;
    int st = register_code(mpt_username(name, "inv"), code, &out);
    const char *err = out ? mpt_error_code(out) : NULL;
    if (st != want || (want_err && (err == NULL || strcmp(err, want_err) != 0))) {
        char *d = out ? json_dumps(out, JSON_COMPACT) : NULL;
        fail_msg("line %d: register with %s: want %d %s, got %d %s", line, code ? code : "(none)",
                 want, want_err ? want_err : "", st, d ? d : "");
    }
    json_decref(out);
}
#define EXPECT_REGISTER(code, want, err) expect_register(__LINE__, code, want, err)

/* POST /v1/admin/invites with body (stolen); returns the 201 body. */
static json_t *invite_create(json_t *body)
{
    return EXPECT_BODY(201, NULL, srv, "POST", admin.access, body, "/v1/admin/invites");
}

/* The listed invite with this code (first page of 100), or NULL. */
static json_t *invite_find(const char *code)
{
    json_t *l =
        EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/admin/invites?limit=100");
    json_t *found = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(l, "invites"), i, v)
    {
        if (strcmp(jstr(v, "code"), code) == 0)
            found = json_incref(v);
    }
    json_decref(l);
    return found;
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static void test_code_required(void **state)
{
    (void)state;
    EXPECT_REGISTER(NULL, 403, "invite_required");
    EXPECT_REGISTER("", 403, "invite_required");
    EXPECT_REGISTER("NOSUCHCODE22", 403, "invalid_invite");
    EXPECT_REGISTER("THIS-CODE-IS-FAR-TOO-LONG-TO-BE-A-CODE", 403, "invalid_invite");
    /* A mistyped field is a plain 400 naming it. */
    char name[33];
    json_t *out = NULL;
    json_t *body = json_pack("{s:s,s:s,s:i}", "username", mpt_username(name, "inv"), "password",
                             PASSWORD, "invite_code", 5);
    assert_int_equal(http_json(srv, "POST", "/v1/auth/register", NULL, body, &out), 400);
    json_decref(out);
}

static void test_single_use(void **state)
{
    (void)state;
    json_t *inv = invite_create(json_object());
    const char *code = jstr(inv, "code");
    assert_int_equal(strlen(code), 12);
    assert_int_equal(strspn(code, "23456789ABCDEFGHJKMNPQRSTUVWXYZ"), 12);
    assert_int_equal(jint(inv, "max_uses"), 1);
    assert_int_equal(jint(inv, "uses"), 0);
    assert_int_equal(jint(inv, "expires_at"), 0);
    assert_string_equal(jstr(inv, "note"), "");
    assert_string_equal(jstr(inv, "created_by"), admin.user_id);
    assert_true(jint(inv, "created_at") > 0);
    assert_string_equal(jstr(inv, "state"), "active");
    json_t *e = audit_newest(srv, admin.access, "invite.create", NULL);
    assert_string_equal(jstr(json_object_get(e, "detail"), "code"), code);
    json_decref(e);

    /* Codes are case-insensitive; the new account logs in. */
    char lc[16], name[33];
    snprintf(lc, sizeof lc, "%s", code);
    lower(lc);
    mpt_username(name, "inv");
    assert_int_equal(register_code(name, lc, NULL), 201);
    mpt_session_t s;
    assert_int_equal(mpt_login(srv, name, PASSWORD, NULL, &s), 200);
    /* Used up. */
    EXPECT_REGISTER(code, 403, "invalid_invite");
    json_t *l = invite_find(code);
    assert_non_null(l);
    assert_int_equal(jint(l, "uses"), 1);
    assert_string_equal(jstr(l, "state"), "used_up");
    json_decref(l);
    json_decref(inv);
}

static void test_multi_use_counted(void **state)
{
    (void)state;
    json_t *inv = invite_create(json_pack("{s:i,s:s}", "max_uses", 3, "note", "reading club"));
    const char *code = jstr(inv, "code");
    assert_int_equal(jint(inv, "max_uses"), 3);
    assert_string_equal(jstr(inv, "note"), "reading club");
    /* A registration refused for another reason uses nothing. */
    json_t *out = NULL;
    assert_int_equal(register_code(plain.username, code, &out), 409);
    assert_string_equal(mpt_error_code(out), "username_taken");
    json_decref(out);
    for (int i = 0; i < 3; i++)
        EXPECT_REGISTER(code, 201, NULL);
    EXPECT_REGISTER(code, 403, "invalid_invite");
    json_t *l = invite_find(code);
    assert_int_equal(jint(l, "uses"), 3);
    assert_string_equal(jstr(l, "state"), "used_up");
    json_decref(l);
    json_decref(inv);

    /* Unlimited. */
    inv = invite_create(json_pack("{s:i}", "max_uses", 0));
    for (int i = 0; i < 4; i++)
        EXPECT_REGISTER(jstr(inv, "code"), 201, NULL);
    l = invite_find(jstr(inv, "code"));
    assert_int_equal(jint(l, "uses"), 4);
    assert_string_equal(jstr(l, "state"), "active");
    json_decref(l);
    json_decref(inv);
}

static void test_bad_create_args(void **state)
{
    (void)state;
    EXPECT(400, "bad_request", srv, "POST", admin.access, json_pack("{s:i}", "max_uses", -1),
           "/v1/admin/invites");
    EXPECT(400, "bad_request", srv, "POST", admin.access,
           json_pack("{s:I}", "expires_at", (json_int_t)(mpt_now_ms() - 1000)),
           "/v1/admin/invites");
    EXPECT(
        400, "bad_request", srv, "POST", admin.access,
        json_pack("{s:I,s:i}", "expires_at", (json_int_t)(mpt_now_ms() + 100000), "expires_in", 60),
        "/v1/admin/invites");
    char note[300];
    memset(note, 'n', 257);
    note[257] = '\0';
    EXPECT(400, "bad_request", srv, "POST", admin.access, json_pack("{s:s}", "note", note),
           "/v1/admin/invites");
}

static void test_expired(void **state)
{
    (void)state;
    json_t *inv = invite_create(
        json_pack("{s:i,s:I}", "max_uses", 0, "expires_at", (json_int_t)(mpt_now_ms() + 700)));
    char code[16];
    snprintf(code, sizeof code, "%s", jstr(inv, "code"));
    json_decref(inv);
    inv = invite_create(json_pack("{s:i}", "expires_in", 3600));
    long long exp = jint(inv, "expires_at") - mpt_now_ms();
    assert_true(exp > 3590 * 1000LL && exp <= 3600 * 1000LL + 1000);
    json_decref(inv);
    /* Wait (bounded) until the server itself lists the code as expired. */
    long long until = mpt_mono_ms() + 10000;
    for (;;) {
        json_t *l = invite_find(code);
        bool expired = strcmp(jstr(l, "state"), "expired") == 0;
        json_decref(l);
        if (expired)
            break;
        if (mpt_mono_ms() > until)
            fail_msg("the code never expired");
        sleep_ms(50);
    }
    EXPECT_REGISTER(code, 403, "invalid_invite");
}

static void test_revoke(void **state)
{
    (void)state;
    json_t *inv = invite_create(json_pack("{s:i}", "max_uses", 5));
    char code[16], lc[16];
    snprintf(code, sizeof code, "%s", jstr(inv, "code"));
    snprintf(lc, sizeof lc, "%s", code);
    lower(lc);
    json_decref(inv);
    EXPECT_REGISTER(code, 201, NULL);
    EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/invites/%s", lc);
    json_t *e = audit_newest(srv, admin.access, "invite.revoke", NULL);
    assert_string_equal(jstr(json_object_get(e, "detail"), "code"), code);
    json_decref(e);
    EXPECT(204, NULL, srv, "DELETE", admin.access, NULL, "/v1/admin/invites/%s", code);
    EXPECT(404, "not_found", srv, "DELETE", admin.access, NULL, "/v1/admin/invites/NOSUCHCODE22");
    EXPECT_REGISTER(code, 403, "invalid_invite");
    json_t *l = invite_find(code);
    assert_string_equal(jstr(l, "state"), "revoked");
    assert_true(jint(l, "revoked_at") > 0);
    assert_int_equal(jint(l, "uses"), 1);
    json_decref(l);
}

static void test_list_paging(void **state)
{
    (void)state;
    char made[3][16];
    for (int i = 0; i < 3; i++) {
        json_t *inv = invite_create(json_object());
        snprintf(made[i], sizeof made[i], "%s", jstr(inv, "code"));
        json_decref(inv);
    }
    /* Newest first: the three just made lead the list. */
    json_t *p1 =
        EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL, "/v1/admin/invites?limit=2");
    json_t *a = json_object_get(p1, "invites");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(jstr(json_array_get(a, 0), "code"), made[2]);
    assert_string_equal(jstr(json_array_get(a, 1), "code"), made[1]);
    const char *cur = jstr(p1, "next_cursor");
    assert_non_null(cur);
    json_t *p2 = EXPECT_BODY(200, NULL, srv, "GET", admin.access, NULL,
                             "/v1/admin/invites?limit=2&cursor=%s", cur);
    assert_string_equal(jstr(json_array_get(json_object_get(p2, "invites"), 0), "code"), made[0]);
    json_decref(p1);
    json_decref(p2);
    EXPECT(400, "bad_request", srv, "GET", admin.access, NULL, "/v1/admin/invites?limit=0");
    EXPECT(400, "bad_request", srv, "GET", admin.access, NULL, "/v1/admin/invites?cursor=zzz");
}

static void test_admin_only(void **state)
{
    (void)state;
    const char *paths[][2] = {
        {"POST", "/v1/admin/invites"},
        {"GET", "/v1/admin/invites"},
        {"DELETE", "/v1/admin/invites/ABCDEFGHJKMN"},
    };
    mpt_session_t guest;
    assert_int_equal(guest_new(srv, "Visitor", &guest), 200);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        EXPECT(403, "forbidden", srv, paths[i][0], plain.access, json_object(), "%s", paths[i][1]);
        EXPECT(403, NULL, srv, paths[i][0], guest.access, json_object(), "%s", paths[i][1]);
        EXPECT(401, "unauthorized", srv, paths[i][0], NULL, json_object(), "%s", paths[i][1]);
    }
}

/* Runs `magpie admin --data DIR <args>` and returns its exit status, with
 * its first output line in out (cap bytes; "" when none). */
static int admin_cli(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' admin --data '%s' %s 2>&1", getenv("MAGPIE_BIN"), srv->data_dir,
             args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, (int)cap, p) != NULL)
        out[strcspn(out, "\n")] = '\0';
    char rest[256];
    while (fgets(rest, sizeof rest, p) != NULL)
        ;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The same operations on the control socket, through `magpie admin`. */
static void test_cli(void **state)
{
    (void)state;
    char code[128], line[256];
    assert_int_equal(
        admin_cli("invite create --uses 2 --expires 7d --note 'from the shell'", code, sizeof code),
        0);
    assert_int_equal(strlen(code), 12);
    json_t *l = invite_find(code);
    assert_non_null(l);
    assert_int_equal(jint(l, "max_uses"), 2);
    assert_string_equal(jstr(l, "note"), "from the shell");
    assert_true(json_is_null(json_object_get(l, "created_by"))); /* the operator */
    long long left = jint(l, "expires_at") - mpt_now_ms();
    assert_true(left > 7 * 86400000LL - 60000 && left <= 7 * 86400000LL);
    json_decref(l);
    EXPECT_REGISTER(code, 201, NULL);
    char args[64];
    snprintf(args, sizeof args, "invite revoke %s", code);
    assert_int_equal(admin_cli(args, line, sizeof line), 0);
    EXPECT_REGISTER(code, 403, "invalid_invite");
    assert_int_equal(admin_cli("invite revoke NOSUCHCODE22", line, sizeof line), 1);
    assert_int_equal(admin_cli("invite create --uses -1", line, sizeof line), 2);
    json_decref(audit_newest(srv, admin.access, "invite.revoke", NULL));
}

/* Last: restarts the server in other modes. */
static void test_other_modes(void **state)
{
    (void)state;
    json_t *inv = invite_create(json_pack("{s:i}", "max_uses", 0));
    char code[16];
    snprintf(code, sizeof code, "%s", jstr(inv, "code"));
    json_decref(inv);
    const char *closed[] = {FLAGS_CLOSED, NULL};
    restart_with(srv, closed);
    EXPECT_REGISTER(code, 403, "registration_closed");
    EXPECT_REGISTER(NULL, 403, "registration_closed");
    const char *open[] = {FLAGS_OPEN, NULL};
    restart_with(srv, open);
    EXPECT_REGISTER("NOSUCHCODE22", 201, NULL); /* ignored */
    EXPECT_REGISTER(NULL, 201, NULL);
    json_t *l = invite_find(code);
    assert_int_equal(jint(l, "uses"), 0);
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_required),
        cmocka_unit_test(test_single_use),
        cmocka_unit_test(test_multi_use_counted),
        cmocka_unit_test(test_bad_create_args),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_admin_only),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_other_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
