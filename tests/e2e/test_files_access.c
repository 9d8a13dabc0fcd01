/* End-to-end tests of who may read a file (docs/protocol.md "Who can download
 * a file") and of files in messages and avatars: the content the server
 * fills from the file, the uploader, members, a kicked member, non-members,
 * guests and the world room, direct conversations, forwards, delete for
 * everyone (the sweep then removes the file), voice notes, the class of each
 * kind, someone else's upload, and the avatars of users and groups. Files
 * are made at test time with the real tools (test_files_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_files_util.h"
#include "test_groups_util.h"

/* A short grace and a quick sweep: a file that nothing references any more
 * disappears within a second or so after its grace. The grace is long
 * enough for an upload to be sent in the lines that follow it. */
#define GRACE_MS 10000
#define SWEEP_WAIT_MS 30000

static mpt_server_t *srv;
static char dir[] = "/tmp/magpie-fa-XXXXXX";
static fx_path_t photo, photo2, avatar, voice, pdf;

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    const char *flags[] = {CHAT_FLAGS, "--world_slow_mode",     "0",      "--upload_rate",
                           "100000",   "--upload_burst",        "100000", "--file_grace",
                           "4s",       "--file_sweep_interval", "200",    NULL};
    srv = mpt_server_start(flags);
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = mpt_server_stop(srv);
    srv = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return rc == 0 && system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ----------------------------------------------------------------------- */

/* Uploads path as name for token; asserts 201 and copies the file id. */
static void upload(const char *token, const fx_path_t *path, const char *name, char id[24])
{
    int status = 0;
    json_t *f = NULL;
    fx_upload(srv->port, token, path->s, name, &status, &f);
    if (status != 201) {
        char *d = f ? json_dumps(f, JSON_COMPACT) : NULL;
        fail_msg("upload %s: %d %s", name, status, d ? d : "");
    }
    snprintf(id, 24, "%s", jstr(f, "file_id"));
    json_decref(f);
}

/* The status of GET path (a download) for token; the body is dropped, or
 * written to body_path when it is not NULL. */
static int get_status(const char *token, const char *body_path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int get_status(const char *token, const char *body_path, const char *fmt, ...)
{
    char path[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    mpc_response_t r;
    int st = fx_get(srv->port, token, path, NULL, &r, body_path);
    mpc_response_free(&r);
    return st;
}

/* `send` into conv (or to user `to` when conv is NULL) of kind with content
 * (stolen). The reply (caller decrefs). */
static json_t *send_file(mpc_ws_t *ws, const char *conv, const char *to, const char *cmid,
                         const char *kind, json_t *content)
{
    json_t *f = json_pack("{s:s,s:s,s:o}", "client_msg_id", cmid, "kind", kind, "content", content);
    json_object_set_new(f, conv ? "conversation" : "to", json_string(conv ? conv : to));
    return call(ws, "send", f);
}

static void send_file_ok(mpc_ws_t *ws, const char *conv, const char *to, const char *cmid,
                         const char *kind, json_t *content, char id[24], char conv_out[24])
{
    json_t *r = send_file(ws, conv, to, cmid, kind, content);
    if (!is_ok(r)) {
        char *d = json_dumps(r, JSON_COMPACT);
        fail_msg("send %s: %s", cmid, d ? d : "?");
    }
    snprintf(id, 24, "%s", jstr(r, "message_id"));
    if (conv_out)
        snprintf(conv_out, 24, "%s", jstr(r, "conversation"));
    json_decref(r);
}

/* Asserts an error reply with this code whose message contains needle. */
static void assert_err_msg(json_t *reply, const char *code, const char *needle)
{
    const char *msg = jstr(json_object_get(reply, "error"), "message");
    if (msg == NULL || strstr(msg, needle) == NULL) {
        char *d = json_dumps(reply, JSON_COMPACT);
        fail_msg("expected a message about '%s', got %s", needle, d ? d : "?");
    }
    assert_err(reply, code);
}

/* The message event of message id on ws (others skipped). */
static json_t *message_event(mpc_ws_t *ws, const char *id)
{
    for (;;) {
        json_t *ev = next_event(ws, "message");
        const char *got = jstr(json_object_get(ev, "message"), "message_id");
        if (got && strcmp(got, id) == 0)
            return ev;
        json_decref(ev);
    }
}

/* The "system" object of the next system message of action in conv (caller
 * decrefs). */
static json_t *system_event(mpc_ws_t *ws, const char *conv, const char *action)
{
    for (;;) {
        json_t *ev = next_event(ws, "message");
        json_t *m = json_object_get(ev, "message");
        json_t *sys = json_object_get(m, "system");
        if (sys && strcmp(jstr(m, "conversation"), conv) == 0 &&
            strcmp(jstr(sys, "action"), action) == 0) {
            json_incref(sys);
            json_decref(ev);
            return sys;
        }
        json_decref(ev);
    }
}

/* ---- tests --------------------------------------------------------------------------- */

static void make_fixtures(void)
{
    static bool made;
    if (made)
        return;
    made = true;
    photo = fx_image(dir, "photo.jpg", "jpg", 320, 200);
    photo2 = fx_image(dir, "photo2.png", "png", 90, 60);
    avatar = fx_image(dir, "me.jpg", "jpg", 300, 200);
    voice = fx_voice(dir, "note.ogg", "ogg", 2.0);
    pdf = fx_pdf_named_jpg(dir, "paper.pdf");
}

/* A picture in a group: the content the server filled, who can download it
 * now and after a kick, a forward into another group, guests and the world
 * room, the uploader. */
static void test_group_file(void **state)
{
    (void)state;
    make_fixtures();
    chat_dev_t alice, bob, carol, erin, dave;
    dev_new_user(srv, "alice", &alice);
    dev_new_user(srv, "bob", &bob);
    dev_new_user(srv, "carol", &carol);
    dev_new_user(srv, "erin", &erin);
    dev_new_user(srv, "dave", &dave);
    char g1[24], g2[24];
    assert_int_equal(group_create(srv, alice.s.access, "g1",
                                  ids_json(bob.s.user_id, erin.s.user_id, NULL), NULL, g1, NULL),
                     201);
    assert_int_equal(
        group_create(srv, erin.s.access, "g2", ids_json(dave.s.user_id, NULL), NULL, g2, NULL),
        201);

    char fid[24], mid[24];
    upload(alice.s.access, &photo, "photo.jpg", fid);
    /* Before it is sent, only its uploader can read it. */
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", fid), 404);
    /* The client lies about the width: the server's value wins. */
    send_file_ok(alice.ws, g1, NULL, "p1", "image",
                 json_pack("{s:s,s:i,s:i}", "file_id", fid, "width", 5000, "height", 1), mid, NULL);
    json_t *ev = message_event(bob.ws, mid);
    json_t *ct = json_object_get(json_object_get(ev, "message"), "content");
    assert_string_equal(jstr(ct, "file_id"), fid);
    assert_int_equal(jint(ct, "width"), 320);
    assert_int_equal(jint(ct, "height"), 200);
    assert_string_equal(jstr(ct, "mime"), "image/jpeg");
    assert_true(jint(ct, "size") > 0);
    assert_non_null(jstr(ct, "preview"));
    assert_true(strncmp(jstr(ct, "preview"), "data:image/webp;base64,", 23) == 0);
    long long size = jint(ct, "size");
    json_decref(ev);
    /* History shows the same content. */
    json_t *hist = all_history(bob.ws, g1);
    size_t i;
    json_t *m;
    bool seen = false;
    json_array_foreach(hist, i, m)
    {
        if (strcmp(jstr(m, "message_id"), mid) == 0) {
            seen = true;
            assert_int_equal(jint(json_object_get(m, "content"), "width"), 320);
        }
    }
    assert_true(seen);
    json_decref(hist);
    /* So does sync. */
    char cursor[32] = "0";
    json_t *msgs = json_array();
    assert_true(sync_until_done(bob.ws, cursor, msgs, NULL));
    seen = false;
    json_array_foreach(msgs, i, m)
    {
        if (strcmp(jstr(m, "message_id"), mid) == 0) {
            seen = true;
            assert_int_equal(jint(json_object_get(m, "content"), "height"), 200);
            assert_string_equal(jstr(json_object_get(m, "content"), "mime"), "image/jpeg");
        }
    }
    assert_true(seen);
    json_decref(msgs);

    /* A member downloads it: the bytes the content describes. */
    fx_path_t got = fx_join(dir, "got.jpg");
    assert_int_equal(get_status(bob.s.access, got.s, "/v1/files/%s", fid), 200);
    assert_int_equal((long long)fx_size(got.s), size);
    assert_int_equal(get_status(carol.s.access, NULL, "/v1/files/%s", fid), 404);
    assert_int_equal(get_status(carol.s.access, NULL, "/v1/files/%s/thumbnail", fid), 404);

    /* Erin forwards it into g2: Dave may read it now. */
    json_t *r = call(erin.ws, "forward",
                     json_pack("{s:s,s:[s],s:s,s:s}", "from", g1, "message_ids", mid,
                               "conversation", g2, "client_msg_id", "fw1"));
    assert_true(is_ok(r));
    json_decref(r);
    assert_int_equal(get_status(dave.s.access, NULL, "/v1/files/%s", fid), 200);

    /* Bob is kicked: access is checked at request time. */
    EXPECT(204, NULL, srv, "DELETE", alice.s.access, NULL, "/v1/groups/%s/members/%s", g1,
           bob.s.user_id);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", fid), 404);

    /* A guest reads no group's file, but any file posted in the world room. */
    chat_dev_t guest;
    memset(&guest, 0, sizeof guest);
    assert_int_equal(guest_new(srv, "Guest", &guest.s), 200);
    assert_int_equal(get_status(guest.s.access, NULL, "/v1/files/%s", fid), 404);
    json_t *w = EXPECT_BODY(200, NULL, srv, "GET", alice.s.access, NULL, "/v1/world");
    char world[24];
    snprintf(world, sizeof world, "%s", jstr(w, "conversation_id"));
    json_decref(w);
    char wfid[24], wmid[24];
    upload(alice.s.access, &photo2, "photo2.png", wfid);
    send_file_ok(alice.ws, world, NULL, "w1", "image", json_pack("{s:s}", "file_id", wfid), wmid,
                 NULL);
    assert_int_equal(get_status(guest.s.access, NULL, "/v1/files/%s", wfid), 200);
    assert_int_equal(get_status(carol.s.access, NULL, "/v1/files/%s", wfid), 200);
    /* A guest may post their own upload in the world room. */
    dev_open(srv, &guest);
    char gfid[24], gmid[24];
    upload(guest.s.access, &photo2, "guest.png", gfid);
    send_file_ok(guest.ws, world, NULL, "gw1", "image", json_pack("{s:s}", "file_id", gfid), gmid,
                 NULL);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", gfid), 200);

    /* The uploader always. */
    assert_int_equal(get_status(alice.s.access, NULL, "/v1/files/%s", fid), 200);
    assert_int_equal(get_status(alice.s.access, NULL, "/v1/files/%s/info", fid), 200);

    dev_close(&guest);
    dev_close(&alice), dev_close(&bob), dev_close(&carol), dev_close(&erin), dev_close(&dave);
}

/* A direct conversation's file: its peer only. Kinds and classes, voice
 * notes, someone else's upload. */
static void test_direct_and_kinds(void **state)
{
    (void)state;
    make_fixtures();
    chat_dev_t alice, bob, carol;
    dev_new_user(srv, "alice", &alice);
    dev_new_user(srv, "bob", &bob);
    dev_new_user(srv, "carol", &carol);

    char fid[24], mid[24], conv[24];
    upload(alice.s.access, &pdf, "paper.pdf", fid);
    send_file_ok(alice.ws, NULL, carol.s.user_id, "d1", "file",
                 json_pack("{s:s,s:s,s:i}", "file_id", fid, "name", "paper.pdf", "size", 1), mid,
                 conv);
    json_t *ev = message_event(carol.ws, mid);
    json_t *ct = json_object_get(json_object_get(ev, "message"), "content");
    assert_string_equal(jstr(ct, "name"), "paper.pdf");
    assert_string_equal(jstr(ct, "mime"), "application/pdf");
    assert_int_equal(jint(ct, "size"), (long long)fx_size(pdf.s));
    json_decref(ev);
    assert_int_equal(get_status(carol.s.access, NULL, "/v1/files/%s", fid), 200);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", fid), 404);

    /* A voice note without duration_ms: the server's, and a waveform. */
    char vid[24], vmid[24];
    upload(alice.s.access, &voice, "note.ogg", vid);
    send_file_ok(alice.ws, conv, NULL, "v1", "voice", json_pack("{s:s}", "file_id", vid), vmid,
                 NULL);
    ev = message_event(carol.ws, vmid);
    ct = json_object_get(json_object_get(ev, "message"), "content");
    long long dur = jint(ct, "duration_ms");
    assert_true(dur >= 1800 && dur <= 2200);
    assert_int_equal(json_array_size(json_object_get(ct, "waveform")), 64);
    assert_non_null(jstr(ct, "mime"));
    json_decref(ev);
    /* ... and a client's duration is replaced. */
    send_file_ok(alice.ws, conv, NULL, "v2", "voice",
                 json_pack("{s:s,s:i}", "file_id", vid, "duration_ms", 99999), vmid, NULL);
    ev = message_event(carol.ws, vmid);
    assert_int_equal(
        jint(json_object_get(json_object_get(ev, "message"), "content"), "duration_ms"), dur);
    json_decref(ev);

    /* The class must suit the kind. */
    assert_err_msg(
        send_file(alice.ws, conv, NULL, "k1", "image", json_pack("{s:s}", "file_id", vid)),
        "bad_request", "field 'content.file_id' names a file that is not an image");
    assert_err_msg(
        send_file(alice.ws, conv, NULL, "k2", "video", json_pack("{s:s}", "file_id", fid)),
        "bad_request", "not a video");
    /* Someone else's upload that no message shares, or no file at all. */
    char bid[24];
    upload(bob.s.access, &photo2, "bob.png", bid);
    assert_err_msg(
        send_file(alice.ws, conv, NULL, "k3", "image", json_pack("{s:s}", "file_id", bid)),
        "not_found", "field 'content.file_id' names no file you can send");
    assert_err_msg(
        send_file(alice.ws, conv, NULL, "k4", "image", json_pack("{s:s}", "file_id", "12345")),
        "not_found", "content.file_id");

    dev_close(&alice), dev_close(&bob), dev_close(&carol);
}

/* Avatars: one's own image, readable by everyone (user) or by the members
 * (group), in the square sizes. */
static void test_avatars(void **state)
{
    (void)state;
    make_fixtures();
    chat_dev_t alice, bob, carol;
    dev_new_user(srv, "alice", &alice);
    dev_new_user(srv, "bob", &bob);
    dev_new_user(srv, "carol", &carol);

    char aid[24], pid[24], bid[24];
    upload(alice.s.access, &avatar, "me.jpg", aid);
    upload(alice.s.access, &pdf, "paper.pdf", pid);
    upload(bob.s.access, &photo2, "bob.png", bid);
    EXPECT(400, "bad_request", srv, "PATCH", alice.s.access,
           json_pack("{s:s}", "avatar_file_id", pid), "/v1/me");
    EXPECT(404, "not_found", srv, "PATCH", alice.s.access,
           json_pack("{s:s}", "avatar_file_id", bid), "/v1/me");
    json_t *p = EXPECT_BODY(200, NULL, srv, "PATCH", alice.s.access,
                            json_pack("{s:s}", "avatar_file_id", aid), "/v1/me");
    assert_string_equal(jstr(p, "avatar_file_id"), aid);
    json_decref(p);
    p = EXPECT_BODY(200, NULL, srv, "GET", bob.s.access, NULL, "/v1/users/%s", alice.s.user_id);
    assert_string_equal(jstr(p, "avatar_file_id"), aid);
    json_decref(p);
    /* Anyone signed in reads it, in the square sizes. */
    fx_path_t t64 = fx_join(dir, "t64.webp");
    assert_int_equal(get_status(bob.s.access, t64.s, "/v1/files/%s/thumbnail?size=64", aid), 200);
    char wh[32];
    fx_capture(wh, sizeof wh, "vipsheader -f width \"%s\"", t64.s);
    assert_int_equal(atoi(wh), 64);
    fx_capture(wh, sizeof wh, "vipsheader -f height \"%s\"", t64.s);
    assert_int_equal(atoi(wh), 64);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s/thumbnail?size=256", aid), 200);

    /* A group's avatar: who_can_edit_info, the same checks, the members
     * only. */
    char g[24], gid[24];
    assert_int_equal(
        group_create(srv, alice.s.access, "g", ids_json(bob.s.user_id, NULL), NULL, g, NULL), 201);
    upload(alice.s.access, &photo, "group.jpg", gid);
    upload(alice.s.access, &pdf, "paper2.pdf", pid); /* fresh: well within the grace */
    EXPECT(400, "bad_request", srv, "PATCH", alice.s.access,
           json_pack("{s:s}", "avatar_file_id", pid), "/v1/groups/%s", g);
    EXPECT(404, "not_found", srv, "PATCH", alice.s.access,
           json_pack("{s:s}", "avatar_file_id", bid), "/v1/groups/%s", g);
    EXPECT(400, "bad_request", srv, "PATCH", alice.s.access,
           json_pack("{s:i}", "avatar_file_id", 5), "/v1/groups/%s", g);
    json_t *grp = EXPECT_BODY(200, NULL, srv, "PATCH", alice.s.access,
                              json_pack("{s:s}", "avatar_file_id", gid), "/v1/groups/%s", g);
    assert_string_equal(jstr(grp, "avatar_file_id"), gid);
    assert_null(json_object_get(grp, "avatar"));
    json_decref(grp);
    json_t *sys = system_event(bob.ws, g, "info_changed");
    assert_string_equal(jstr(sys, "avatar_file_id"), gid);
    json_decref(sys);
    grp = EXPECT_BODY(200, NULL, srv, "GET", bob.s.access, NULL, "/v1/groups/%s", g);
    assert_string_equal(jstr(grp, "avatar_file_id"), gid);
    json_decref(grp);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s/thumbnail?size=64", gid), 200);
    assert_int_equal(get_status(carol.s.access, NULL, "/v1/files/%s/thumbnail?size=64", gid), 404);
    /* Cleared: null. */
    grp = EXPECT_BODY(200, NULL, srv, "PATCH", alice.s.access, json_pack("{s:n}", "avatar_file_id"),
                      "/v1/groups/%s", g);
    assert_true(json_is_null(json_object_get(grp, "avatar_file_id")));
    json_decref(grp);

    dev_close(&alice), dev_close(&bob), dev_close(&carol);
}

/* Delete for everyone drops the message's reference: once the grace has
 * passed, the sweep removes the file, even for its uploader. */
static void test_delete_sweeps(void **state)
{
    (void)state;
    make_fixtures();
    chat_dev_t alice, bob;
    dev_new_user(srv, "alice", &alice);
    dev_new_user(srv, "bob", &bob);
    char fid[24], mid[24], conv[24];
    upload(alice.s.access, &photo2, "gone.png", fid);
    send_file_ok(alice.ws, NULL, bob.s.user_id, "x1", "image", json_pack("{s:s}", "file_id", fid),
                 mid, conv);
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", fid), 200);
    json_t *r = call(
        alice.ws, "delete",
        json_pack("{s:s,s:s,s:s}", "conversation", conv, "message_id", mid, "for", "everyone"));
    assert_true(is_ok(r));
    json_decref(r);
    /* The reference went with the message. */
    assert_int_equal(get_status(bob.s.access, NULL, "/v1/files/%s", fid), 404);
    long long deadline = mpt_mono_ms() + GRACE_MS + SWEEP_WAIT_MS;
    int st = 200;
    while (st == 200 && mpt_mono_ms() < deadline) {
        st = get_status(alice.s.access, NULL, "/v1/files/%s/info", fid);
        if (st == 200)
            sleep_ms(100); /* polling a state with a deadline, not synchronisation */
    }
    assert_int_equal(st, 404);
    dev_close(&alice), dev_close(&bob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_file),
        cmocka_unit_test(test_direct_and_kinds),
        cmocka_unit_test(test_avatars),
        cmocka_unit_test(test_delete_sweeps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
