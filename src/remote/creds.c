/* The credentials file: one JSON object, replaced atomically, every
 * read-modify-write under an exclusive flock() on credentials.lock. See
 * remote.h for why the lock matters (refresh-token rotation).
 *
 *   {"version":1,"entries":[{"url","username","user_id","device_id",
 *     "access_token","access_expires_at","refresh_token","guest",
 *     "updated_at","cursors":{"*":"1843",...}}, ...]}
 */
#include "remote/remote_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a command waits for another one's refresh to finish: a refresh
 * is one request of at most MPR_TIMEOUT_MS. */
#define LOCK_WAIT_MS (MPR_TIMEOUT_MS + 5000)

/* $XDG_CONFIG_HOME/magpie, else $HOME/.config/magpie, into dir. */
static int config_dir(char *dir, size_t cap, mpr_err_t *e)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, cap, "%s/magpie", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(dir, cap, "%s/.config/magpie", home);
    else
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                        "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep credentials");
    if (n < 0 || (size_t)n >= cap)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                        "the config directory path is too long");
    return 0;
}

int mpr_creds_path(char *out, size_t cap, mpr_err_t *e)
{
    char dir[512];
    if (config_dir(dir, sizeof dir, e) != 0)
        return -1;
    if ((size_t)snprintf(out, cap, "%s/credentials", dir) >= cap)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                        "the config directory path is too long");
    return 0;
}

/* Creates dir (and its parent, as XDG says for a missing config home) with
 * mode 0700. */
static int make_dir(const char *dir, mpr_err_t *e)
{
    char parent[512];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = '\0';
        if (mkdir(parent, 0700) != 0 && errno != EEXIST)
            return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials", "cannot create %s: %s", parent,
                            strerror(errno));
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials", "cannot create %s: %s", dir,
                        strerror(errno));
    /* Made by hand or by an older tool with a looser mode: only its owner
     * may list or enter it. */
    struct stat st;
    if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0)
        chmod(dir, 0700);
    return 0;
}

int mpr__lock(mpr_err_t *e)
{
    char dir[512], path[600];
    if (config_dir(dir, sizeof dir, e) != 0 || make_dir(dir, e) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/credentials.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials", "cannot open %s: %s", path,
                        strerror(errno));
    /* Bounded: poll the lock rather than block forever behind a stuck peer. */
    int64_t deadline = mp_now_ms() + LOCK_WAIT_MS;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || mp_now_ms() > deadline) {
            close(fd);
            return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                            "another magpie command holds %s for too long", path);
        }
        usleep(10000);
    }
    return fd;
}

void mpr__unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the descriptor releases the flock */
}

int mpr__load(json_t **root, mpr_err_t *e)
{
    char path[600];
    if (mpr_creds_path(path, sizeof path, e) != 0)
        return -1;
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL) {
        if (access(path, F_OK) != 0) { /* no file yet: nobody logged in */
            *root = json_pack("{s:i,s:[]}", "version", 1, "entries");
            return 0;
        }
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                        "%s is damaged (%s, line %d); remove it and log in again", path, jerr.text,
                        jerr.line);
    }
    if (!json_is_object(j) || !json_is_array(json_object_get(j, "entries"))) {
        json_decref(j);
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials",
                        "%s is damaged (no \"entries\" list); remove it and log in again", path);
    }
    *root = j;
    return 0;
}

int mpr__save(json_t *root, mpr_err_t *e)
{
    char path[600], tmp[640];
    if (mpr_creds_path(path, sizeof path, e) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (text == NULL)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials", "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    size_t len = strlen(text);
    ok = ok && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    explicit_bzero(text, len);
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return mpr_fail(e, MPR_EXIT_OFFLINE, "credentials", "cannot write %s: %s", path,
                        strerror(err));
    }
    /* The rename itself is durable once the directory is synced. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

void mpr__cred_from_json(json_t *o, mpr_cred_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s", str_of(o, "url"));
    snprintf(c->username, sizeof c->username, "%s", str_of(o, "username"));
    snprintf(c->user_id, sizeof c->user_id, "%s", str_of(o, "user_id"));
    snprintf(c->device_id, sizeof c->device_id, "%s", str_of(o, "device_id"));
    snprintf(c->access_token, sizeof c->access_token, "%s", str_of(o, "access_token"));
    snprintf(c->refresh_token, sizeof c->refresh_token, "%s", str_of(o, "refresh_token"));
    c->access_expires_ms = (int64_t)json_integer_value(json_object_get(o, "access_expires_at"));
    c->updated_ms = (int64_t)json_integer_value(json_object_get(o, "updated_at"));
    c->guest = json_is_true(json_object_get(o, "guest"));
}

/* Writes c's fields into the entry object o (other members, e.g. cursors,
 * stay). */
void mpr__cred_to_json(const mpr_cred_t *c, json_t *o)
{
    json_object_set_new(o, "url", json_string(c->url));
    json_object_set_new(o, "username", json_string(c->username));
    json_object_set_new(o, "user_id", json_string(c->user_id));
    json_object_set_new(o, "device_id", json_string(c->device_id));
    json_object_set_new(o, "access_token", json_string(c->access_token));
    json_object_set_new(o, "access_expires_at", json_integer(c->access_expires_ms));
    json_object_set_new(o, "refresh_token", json_string(c->refresh_token));
    json_object_set_new(o, "guest", json_boolean(c->guest));
    json_object_set_new(o, "updated_at", json_integer(c->updated_ms));
}

json_t *mpr__entry(json_t *root, const char *url, const char *username, size_t *index)
{
    json_t *entries = json_object_get(root, "entries");
    size_t i;
    json_t *o;
    json_array_foreach(entries, i, o)
    {
        if (strcmp(str_of(o, "url"), url) == 0 &&
            strcasecmp(str_of(o, "username"), username) == 0) {
            if (index != NULL)
                *index = i;
            return o;
        }
    }
    return NULL;
}

/* The URL's most recently logged-in entry. */
static json_t *latest_entry(json_t *root, const char *url)
{
    json_t *entries = json_object_get(root, "entries"), *best = NULL, *o;
    size_t i;
    json_array_foreach(entries, i, o)
    {
        if (strcmp(str_of(o, "url"), url) != 0)
            continue;
        /* >=: of two logins in the same millisecond, the later entry */
        if (best == NULL || json_integer_value(json_object_get(o, "updated_at")) >=
                                json_integer_value(json_object_get(best, "updated_at")))
            best = o;
    }
    return best;
}

int mpr_creds_find(const char *url, const char *username, mpr_cred_t *out, mpr_err_t *e)
{
    if (username == NULL || username[0] == '\0')
        username = getenv("MAGPIE_USER");
    if (username != NULL && username[0] == '@')
        username++;
    json_t *root;
    if (mpr__load(&root, e) != 0)
        return -1;
    json_t *o = username != NULL && username[0] != '\0' ? mpr__entry(root, url, username, NULL)
                                                        : latest_entry(root, url);
    if (o == NULL) {
        json_decref(root);
        if (username != NULL && username[0] != '\0')
            return mpr_fail(e, MPR_EXIT_OFFLINE, "not_logged_in",
                            "%s is not logged in on %s: run `magpie login %s`", username, url,
                            username);
        return mpr_fail(e, MPR_EXIT_OFFLINE, "not_logged_in",
                        "nobody is logged in on %s: run `magpie login USERNAME`", url);
    }
    mpr__cred_from_json(o, out);
    json_decref(root);
    return 0;
}

/* A read-modify-write of the file under the lock: edit changes root and
 * returns 1 (save it), 0 (nothing changed) or -1 (e filled). */
static int edit_file(int (*edit)(json_t *root, void *arg, mpr_err_t *e), void *arg, mpr_err_t *e)
{
    int lock = mpr__lock(e);
    if (lock < 0)
        return -1;
    json_t *root;
    int rc = mpr__load(&root, e);
    if (rc == 0) {
        rc = edit(root, arg, e);
        if (rc > 0)
            rc = mpr__save(root, e);
        json_decref(root);
    }
    mpr__unlock(lock);
    return rc;
}

static int store_entry(json_t *root, void *arg, mpr_err_t *e)
{
    (void)e;
    const mpr_cred_t *c = arg;
    json_t *o = mpr__entry(root, c->url, c->username, NULL);
    /* A new device starts without the old one's saved cursors. */
    if (o != NULL && strcmp(str_of(o, "device_id"), c->device_id) != 0)
        json_object_del(o, "cursors");
    if (o == NULL) {
        o = json_object();
        json_array_append_new(json_object_get(root, "entries"), o);
    }
    mpr__cred_to_json(c, o);
    return 1;
}

int mpr_creds_store(const mpr_cred_t *c, mpr_err_t *e)
{
    return edit_file(store_entry, (void *)c, e);
}

typedef struct {
    const char *url, *username;
    const mpr_kv_t *kv; /* cursors to set */
    size_t n;
} entry_ref_t;

static int remove_entry(json_t *root, void *arg, mpr_err_t *e)
{
    (void)e;
    const entry_ref_t *r = arg;
    size_t i;
    if (mpr__entry(root, r->url, r->username, &i) == NULL)
        return 0;
    json_array_remove(json_object_get(root, "entries"), i);
    return 1;
}

int mpr_creds_remove(const char *url, const char *username, mpr_err_t *e)
{
    entry_ref_t r = {url, username, NULL, 0};
    return edit_file(remove_entry, &r, e) < 0 ? -1 : 0;
}

int mpr_cursor_get(const char *url, const char *username, const char *key, char out[24])
{
    snprintf(out, 24, "0");
    mpr_err_t e;
    json_t *root;
    if (mpr__load(&root, &e) != 0)
        return 0;
    json_t *o = mpr__entry(root, url, username, NULL);
    const char *v = json_string_value(json_object_get(json_object_get(o, "cursors"), key));
    if (v != NULL && v[0] != '\0' && strlen(v) < 24)
        snprintf(out, 24, "%s", v);
    json_decref(root);
    return 0;
}

static int set_cursors(json_t *root, void *arg, mpr_err_t *e)
{
    const entry_ref_t *r = arg;
    json_t *o = mpr__entry(root, r->url, r->username, NULL);
    if (o == NULL)
        return mpr_fail(e, MPR_EXIT_OFFLINE, "not_logged_in", "%s logged out meanwhile",
                        r->username);
    json_t *cursors = json_object_get(o, "cursors");
    if (!json_is_object(cursors)) {
        cursors = json_object();
        json_object_set_new(o, "cursors", cursors);
    }
    for (size_t i = 0; i < r->n; i++)
        json_object_set_new(cursors, r->kv[i].key, json_string(r->kv[i].value));
    return 1;
}

int mpr_cursors_set(const char *url, const char *username, const mpr_kv_t *kv, size_t n,
                    mpr_err_t *e)
{
    entry_ref_t r = {url, username, kv, n};
    return edit_file(set_cursors, &r, e) < 0 ? -1 : 0;
}

int mpr_cursor_set(const char *url, const char *username, const char *key, const char *cursor,
                   mpr_err_t *e)
{
    mpr_kv_t kv = {key, cursor};
    return mpr_cursors_set(url, username, &kv, 1, e);
}
