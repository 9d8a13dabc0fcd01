/* The local directory backend of the storage seam (blobs/blobs.h) in a
 * temporary directory: the layout on disk, put (the staged file moves in,
 * an existing key is never replaced), reads of ranges up to and past the
 * end, exists and delete, keys refused on every call so that nothing can
 * leave the directory, links planted in it not followed, and the staging
 * directory emptied of regular files (only) when it is opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobs/blobs.h"

typedef struct {
    char root[64]; /* mkdtemp'd */
    char dir[128]; /* root/files: created by mp_blobs_open_dir */
    mp_blobs_t *b;
} fx_t;

static void blobs_open(fx_t *f)
{
    char err[256] = "";
    f->b = mp_blobs_open_dir(f->dir, err, sizeof err);
    if (f->b == NULL)
        fail_msg("mp_blobs_open_dir: %s", err);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/magpie-blobs-XXXXXX");
    if (mkdtemp(f->root) == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/data/files", f->root);
    blobs_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    mp_blobs_close(f->b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Stages len bytes of pattern seed as tmp/<name> and puts them under key. */
static int put_bytes(fx_t *f, const char *name, const char *key, size_t len, int seed)
{
    char path[256];
    assert_int_equal(mp_blobs_tmp_path(f->b, name, path, sizeof path), 0);
    unsigned char *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 7 + (size_t)seed);
    write_file(path, buf, len);
    free(buf);
    return mp_blobs_put(f->b, path, key);
}

/* ---- put, read, exists, delete ------------------------------------------------------ */

static void test_put_read_ranges(void **state)
{
    fx_t *f = *state;
    char staged[256], stored[256];
    assert_int_equal(mp_blobs_tmp_path(f->b, "up-1", staged, sizeof staged), 0);
    assert_int_equal(put_bytes(f, "up-1", "ab12-34", 1000, 3), 0);
    assert_false(path_exists(staged)); /* moved, not copied */
    snprintf(stored, sizeof stored, "%s/blobs/ab/ab12-34", f->dir);
    struct stat st;
    assert_int_equal(lstat(stored, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    snprintf(stored, sizeof stored, "%s/blobs/ab", f->dir);
    assert_int_equal(lstat(stored, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    uint64_t size = 0;
    assert_true(mp_blobs_exists(f->b, "ab12-34", &size));
    assert_int_equal(size, 1000);
    assert_true(mp_blobs_exists(f->b, "ab12-34", NULL));

    mp_blob_reader_t *r = NULL;
    size = 0;
    assert_int_equal(mp_blobs_open(f->b, "ab12-34", &r, &size), 0);
    assert_int_equal(size, 1000);
    unsigned char buf[2048];
    assert_int_equal(mp_blobs_read(r, buf, 10, 0), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(buf[i], (unsigned char)(i * 7 + 3));
    assert_int_equal(mp_blobs_read(r, buf, 10, 500), 10);
    assert_int_equal(buf[0], (unsigned char)(500 * 7 + 3));
    assert_int_equal(mp_blobs_read(r, buf, 10, 995), 5); /* short only at the end */
    assert_int_equal(buf[4], (unsigned char)(999 * 7 + 3));
    assert_int_equal(mp_blobs_read(r, buf, 10, 1000), 0);
    assert_int_equal(mp_blobs_read(r, buf, 10, 5000), 0);
    assert_int_equal(mp_blobs_read(r, buf, sizeof buf, 0), 1000);
    mp_blobs_reader_close(r);

    /* Several keys in one fan-out directory, and a one-character key. */
    assert_int_equal(put_bytes(f, "up-2", "ab99", 3, 1), 0);
    assert_int_equal(put_bytes(f, "up-3", "z", 4, 1), 0);
    assert_true(mp_blobs_exists(f->b, "z", &size));
    assert_int_equal(size, 4);
    assert_true(mp_blobs_exists(f->b, "ab99", NULL));

    /* An empty file is a file. */
    assert_int_equal(put_bytes(f, "up-4", "empty", 0, 0), 0);
    assert_int_equal(mp_blobs_open(f->b, "empty", &r, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(mp_blobs_read(r, buf, 10, 0), 0);
    mp_blobs_reader_close(r);
}

static void test_put_never_replaces(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_bytes(f, "one", "key-1", 100, 1), 0);
    char staged[256];
    assert_int_equal(mp_blobs_tmp_path(f->b, "two", staged, sizeof staged), 0);
    assert_int_equal(put_bytes(f, "two", "key-1", 50, 9), -EEXIST);
    assert_true(path_exists(staged)); /* left to the caller */
    uint64_t size = 0;
    assert_true(mp_blobs_exists(f->b, "key-1", &size));
    assert_int_equal(size, 100);
    mp_blob_reader_t *r = NULL;
    assert_int_equal(mp_blobs_open(f->b, "key-1", &r, NULL), 0);
    unsigned char c;
    assert_int_equal(mp_blobs_read(r, &c, 1, 1), 1);
    assert_int_equal(c, (unsigned char)(7 + 1));
    mp_blobs_reader_close(r);
    /* A staged file that is not there. */
    char missing[256];
    assert_int_equal(mp_blobs_tmp_path(f->b, "missing", missing, sizeof missing), 0);
    assert_int_equal(mp_blobs_put(f->b, missing, "key-2"), -ENOENT);
    assert_false(mp_blobs_exists(f->b, "key-2", NULL));
}

static void test_delete(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_bytes(f, "one", "gone", 10, 1), 0);
    assert_int_equal(mp_blobs_delete(f->b, "gone"), 0);
    assert_false(mp_blobs_exists(f->b, "gone", NULL));
    mp_blob_reader_t *r = (mp_blob_reader_t *)1;
    assert_int_equal(mp_blobs_open(f->b, "gone", &r, NULL), -ENOENT);
    assert_null(r);
    assert_int_equal(mp_blobs_delete(f->b, "gone"), 0);  /* not there: fine */
    assert_int_equal(mp_blobs_delete(f->b, "never"), 0); /* no fan-out dir either */
    /* An open reader still reads a deleted key (a download in progress). */
    assert_int_equal(put_bytes(f, "two", "held", 10, 2), 0);
    assert_int_equal(mp_blobs_open(f->b, "held", &r, NULL), 0);
    assert_int_equal(mp_blobs_delete(f->b, "held"), 0);
    unsigned char buf[16];
    assert_int_equal(mp_blobs_read(r, buf, sizeof buf, 0), 10);
    mp_blobs_reader_close(r);
}

/* ---- keys ------------------------------------------------------------------------------ */

static void test_keys(void **state)
{
    (void)state;
    char k100[101], k101[102];
    memset(k100, 'a', 100);
    k100[100] = '\0';
    memset(k101, 'a', 101);
    k101[101] = '\0';
    assert_true(mp_blobs_key_ok("a"));
    assert_true(mp_blobs_key_ok("9f86d0-383.thumb"));
    assert_true(mp_blobs_key_ok("a_b-c.d"));
    assert_true(mp_blobs_key_ok("a.."));
    assert_true(mp_blobs_key_ok(k100));
    static const char *const bad[] = {"",     ".", "..",  ".x",  "../x",     "a/b", "/a",
                                      "a\\b", "A", "a b", "a\n", "\xc3\xa9", "a:b", "a%2f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (mp_blobs_key_ok(bad[i]))
            fail_msg("key \"%s\" accepted", bad[i]);
    assert_false(mp_blobs_key_ok(k101));
    assert_false(mp_blobs_key_ok(NULL));
}

static void test_bad_keys_on_every_call(void **state)
{
    fx_t *f = *state;
    char k101[102];
    memset(k101, 'a', 101);
    k101[101] = '\0';
    const char *bad[] = {"../x", "a/b", "", ".x", k101, "..", "../../etc"};
    char staged[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mp_blobs_tmp_path(f->b, "st", staged, sizeof staged), 0);
        write_file(staged, "x", 1);
        assert_int_equal(mp_blobs_put(f->b, staged, bad[i]), -EINVAL);
        assert_true(path_exists(staged));
        mp_blob_reader_t *r = NULL;
        assert_int_equal(mp_blobs_open(f->b, bad[i], &r, NULL), -EINVAL);
        assert_null(r);
        assert_int_equal(mp_blobs_delete(f->b, bad[i]), -EINVAL);
        assert_false(mp_blobs_exists(f->b, bad[i], NULL));
        char out[256];
        assert_int_equal(mp_blobs_tmp_path(f->b, bad[i], out, sizeof out), -1);
    }
    /* Nothing landed beside the directory. */
    char path[256];
    snprintf(path, sizeof path, "%s/x", f->dir);
    assert_false(path_exists(path));
    snprintf(path, sizeof path, "%s/blobs/x", f->dir);
    assert_false(path_exists(path));
    /* A path that does not fit. */
    char small[8];
    assert_int_equal(mp_blobs_tmp_path(f->b, "abc", small, sizeof small), -1);
    assert_int_equal(mp_blobs_upload_path(f->b, 42, small, sizeof small), -1);
    assert_int_equal(mp_blobs_upload_path(f->b, 42, path, sizeof path), 0);
    char want[256];
    snprintf(want, sizeof want, "%s/uploads/42", f->dir);
    assert_string_equal(path, want);
}

/* A link planted where a key would be is not followed. */
static void test_links_not_followed(void **state)
{
    fx_t *f = *state;
    char outside[256], fan[256], link[256];
    snprintf(outside, sizeof outside, "%s/secret", f->root);
    write_file(outside, "secret", 6);
    snprintf(fan, sizeof fan, "%s/blobs/li", f->dir);
    assert_int_equal(mkdir(fan, 0700), 0);
    snprintf(link, sizeof link, "%s/link", fan);
    assert_int_equal(symlink(outside, link), 0);
    mp_blob_reader_t *r = NULL;
    assert_int_equal(mp_blobs_open(f->b, "link", &r, NULL), -ENOENT);
    assert_false(mp_blobs_exists(f->b, "link", NULL));
    assert_int_equal(put_bytes(f, "st", "link", 3, 0), -EEXIST);
    assert_int_equal(mp_blobs_delete(f->b, "link"), 0); /* the link, not its target */
    assert_true(path_exists(outside));
    assert_false(path_exists(link));
}

/* ---- opening --------------------------------------------------------------------------- */

static void test_tmp_emptied_at_open(void **state)
{
    fx_t *f = *state;
    char p[256], sub[256], subfile[256], link[256], outside[256], upload[256];
    assert_int_equal(mp_blobs_tmp_path(f->b, "left-over", p, sizeof p), 0);
    write_file(p, "abc", 3);
    snprintf(sub, sizeof sub, "%s/tmp/sub", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(subfile, sizeof subfile, "%s/keep", sub);
    write_file(subfile, "k", 1);
    snprintf(outside, sizeof outside, "%s/outside", f->root);
    write_file(outside, "o", 1);
    snprintf(link, sizeof link, "%s/tmp/link", f->dir);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(mp_blobs_upload_path(f->b, 77, upload, sizeof upload), 0);
    write_file(upload, "partial", 7);
    assert_int_equal(put_bytes(f, "st", "kept", 3, 0), 0);

    mp_blobs_close(f->b);
    blobs_open(f);
    assert_false(path_exists(p));
    assert_true(path_exists(sub));
    assert_true(path_exists(subfile)); /* no recursion */
    assert_true(path_exists(link));    /* not a regular file */
    assert_true(path_exists(outside));
    assert_true(path_exists(upload)); /* sessions resume after a restart */
    assert_true(mp_blobs_exists(f->b, "kept", NULL));
}

static void test_open_errors(void **state)
{
    fx_t *f = *state;
    char file[256], err[256] = "";
    snprintf(file, sizeof file, "%s/plain", f->root);
    write_file(file, "x", 1);
    assert_null(mp_blobs_open_dir(file, err, sizeof err));
    assert_non_null(strstr(err, file));
    err[0] = '\0';
    assert_null(mp_blobs_open_dir("", err, sizeof err));
    assert_true(err[0] != '\0');
    /* The directories are private. */
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/blobs", f->dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_read_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_never_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_bad_keys_on_every_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_emptied_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
