/* The user's side of a Magpie server, for the command-line client (`magpie
 * login`, `send`, `tail`, `chat`, ...): where the server is, who is signed in
 * on this machine, and requests that keep the device's tokens fresh by
 * themselves.
 *
 * Credentials. One file per system user, $XDG_CONFIG_HOME/magpie/credentials
 * (default ~/.config/magpie/credentials), mode 0600 in a 0700 directory: a
 * JSON object with one entry per (server URL, username) holding the device's
 * refresh token and its latest access token. It is replaced atomically
 * (write a temporary file, fsync, rename) and every read-modify-write holds an
 * exclusive flock() on the lock file next to it (credentials.lock).
 *
 * Rotation safety. A refresh token works once: presenting a used one again
 * revokes the device (theft detection). Two commands running at once must
 * therefore never refresh with the same token. Every refresh happens under the
 * lock and starts by re-reading the file: if another process refreshed in the
 * meantime, its access token is taken as it is and no request is made; else
 * the stored refresh token is used and the new pair is written before the
 * lock is released. A command that dies between the server's answer and the
 * write loses the pair; the next command finds the device's token refused
 * and asks the user to log in again. That is the price of never reusing one.
 *
 * Errors. Every call that can fail fills an mpr_err_t whose `exit` is the
 * process exit status the commands use (documented in docs/cli.md):
 *   1 (MPR_EXIT_REFUSED)  the server refused; `code` is its error code
 *   2 (MPR_EXIT_USAGE)    a usage error (bad URL, bad target, ...)
 *   3 (MPR_EXIT_OFFLINE)  cannot connect, or not logged in (code
 *                         "not_logged_in")
 * Secrets (passwords, tokens) are never put in an error message.
 *
 * Threads: none. Everything here blocks with bounded deadlines (poll()), and
 * is used from one thread. Prefix mpr_. */
#ifndef MPR_REMOTE_H
#define MPR_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/client.h"

/* The exit statuses of the client commands. */
enum {
    MPR_EXIT_OK = 0,
    MPR_EXIT_REFUSED = 1,
    MPR_EXIT_USAGE = 2,
    MPR_EXIT_OFFLINE = 3,
};

/* The default server when neither --url nor MAGPIE_URL says. */
#define MPR_DEFAULT_URL "http://127.0.0.1:8080"
/* How long one HTTP request or WebSocket request may take. */
#define MPR_TIMEOUT_MS 30000

typedef struct mpr_err {
    int exit;      /* MPR_EXIT_*; 0 = no error */
    char code[64]; /* the server's error code, or one of ours ("not_logged_in", "cannot_connect",
                      "usage", "not_found", "ambiguous") */
    char msg[512]; /* human text, without secrets */
} mpr_err_t;

/* Sets *e (printf-style message). Returns -1, so that a function returning 0
 * or -1 can `return mpr_fail(e, ...)`; the exit status is e->exit. */
int mpr_fail(mpr_err_t *e, int exit, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints "magpie: CODE: MESSAGE" to stderr and returns e->exit. */
int mpr_report(const mpr_err_t *e);

/* ---- where the server is ----------------------------------------------------- */

/* A parsed server URL: http://HOST[:PORT][/] (port 80 by default) or
 * https://HOST[:PORT][/] (port 443; TLS with the server's certificate
 * verified against the default trust store, which SSL_CERT_FILE or
 * SSL_CERT_DIR can point at a private CA, and HOST checked against it; the
 * WebSocket is then wss:// on the same port). HOST is a name, an IPv4
 * address or [an IPv6 address]. `url` is the normalised form
 * "SCHEME://host:port" (host in lower case), the key of the credentials
 * entry: the scheme is part of it, so a login over https:// is a different
 * entry from one over http:// to the same host and port. */
typedef struct mpr_url {
    char url[300];
    char host[256]; /* without brackets */
    int port;
    bool tls; /* https:// */
} mpr_url_t;

/* Parses url; on failure fills e (exit 2) and returns -1. */
int mpr_url_parse(const char *url, mpr_url_t *out, mpr_err_t *e);
/* The URL to use: flag (when non-NULL), else $MAGPIE_URL, else
 * MPR_DEFAULT_URL. Borrowed. */
const char *mpr_url_choose(const char *flag);

/* ---- the credentials file --------------------------------------------------- */

/* One signed-in device, as stored. */
typedef struct mpr_cred {
    char url[300];
    char username[40];
    char user_id[24];
    char device_id[24];
    char access_token[2048];
    int64_t access_expires_ms; /* wall clock, ms since the epoch */
    char refresh_token[256];
    bool guest;
    int64_t updated_ms; /* last login: the most recent entry of a URL is its default user */
} mpr_cred_t;

/* The credentials file path: $XDG_CONFIG_HOME/magpie/credentials, else
 * $HOME/.config/magpie/credentials. Fills out; -1 (e filled, exit 3) when
 * neither variable is set. */
int mpr_creds_path(char *out, size_t cap, mpr_err_t *e);

/* Finds the entry for url and username (username NULL: $MAGPIE_USER when set,
 * else the URL's most recently used entry). 0 found, else e filled (exit 3,
 * "not_logged_in"). */
int mpr_creds_find(const char *url, const char *username, mpr_cred_t *out, mpr_err_t *e);
/* Adds or replaces the entry (url, username) under the lock. 0 or -1 (e). */
int mpr_creds_store(const mpr_cred_t *c, mpr_err_t *e);
/* Removes the entry (url, username) under the lock; 0 also when absent. */
int mpr_creds_remove(const char *url, const char *username, mpr_err_t *e);

/* Sync cursors saved for the device, by key ("*" for `tail` of everything, a
 * conversation id for `tail TO`), in the entry (so `logout` forgets them).
 * get: 0 and out filled ("0" when none saved). set: under the lock. */
int mpr_cursor_get(const char *url, const char *username, const char *key, char out[24]);
int mpr_cursor_set(const char *url, const char *username, const char *key, const char *cursor,
                   mpr_err_t *e);
/* Several at once, in one locked write of the file (all or none). */
typedef struct mpr_kv {
    const char *key, *value;
} mpr_kv_t;
int mpr_cursors_set(const char *url, const char *username, const mpr_kv_t *kv, size_t n,
                    mpr_err_t *e);

/* Fills c's user_id, device_id, tokens and expiry from a login or refresh
 * answer (borrowed). */
void mpr_cred_from_tokens(mpr_cred_t *c, json_t *answer);

/* ---- a signed-in session ----------------------------------------------------- */

typedef struct mpr_session {
    mpr_url_t url;
    mpr_cred_t cred; /* the entry in use; access_token kept fresh */
} mpr_session_t;

/* Opens the session for url_flag (see mpr_url_choose) and username (NULL:
 * see mpr_creds_find). No network. 0 or -1 (e: exit 2 bad URL, exit 3 not
 * logged in). */
int mpr_session_open(mpr_session_t *s, const char *url_flag, const char *username, mpr_err_t *e);

/* An access token valid for at least another minute, refreshing under the
 * lock when needed (see the top of this file). force: the server refused the
 * current one, refresh even if it looks valid (unless another process already
 * replaced it). Borrowed from s. NULL on failure (e: exit 3 when the device's
 * refresh token was refused, "not_logged_in", the entry then removed; exit 3
 * "cannot_connect"). */
const char *mpr_session_token(mpr_session_t *s, bool force, mpr_err_t *e);

/* mpr_http waiting at most timeout_ms for the connection and the answer
 * (a token refresh, when one is due, still takes up to MPR_TIMEOUT_MS):
 * for callers that must not hold a person up, such as a screen looking up
 * a name. */
int mpr_http_within(mpr_session_t *s, const char *method, const char *path, json_t *body,
                    int timeout_ms, mpc_response_t *out, mpr_err_t *e);
/* The common case of mpr_http: a request whose 2xx answer's JSON is wanted.
 * 0 with *out (caller decrefs; an empty object when the answer had no body),
 * or -1 with e filled (the server's refusal: exit 1; else exit 3). */
int mpr_http_json(mpr_session_t *s, const char *method, const char *path, json_t *body,
                  json_t **out, mpr_err_t *e);
/* Every page of a list route: GET path (which has a query string already),
 * then path&cursor=NEXT while the answer has a "next_cursor", calling fn for
 * each element of the answer's `key` array until fn returns false. At most
 * max_pages pages. 0, or -1 with e filled. */
int mpr_http_pages(mpr_session_t *s, const char *path, const char *key, int max_pages,
                   bool (*fn)(json_t *item, void *arg), void *arg, mpr_err_t *e);
/* An HTTP request with the session's token: JSON body (borrowed, may be
 * NULL). A 401 "unauthorized" refreshes once and retries. Returns the HTTP
 * status (> 0) with *out filled (caller mpc_response_free's), or -1 with e
 * filled (exit 3: cannot connect or not logged in). A status >= 400 is NOT an
 * error here: see mpr_http_check. */
int mpr_http(mpr_session_t *s, const char *method, const char *path, json_t *body,
             mpc_response_t *out, mpr_err_t *e);
/* The same with a raw body (an upload: POST /v1/files?name=...): body_len
 * bytes of body, sent as content_type (NULL: application/octet-stream). */
int mpr_http_raw(mpr_session_t *s, const char *method, const char *path, const char *content_type,
                 const void *body, size_t body_len, mpc_response_t *out, mpr_err_t *e);
/* The same without a session (register, login): no token. */
int mpr_http_anon(const mpr_url_t *u, const char *method, const char *path, json_t *body,
                  mpc_response_t *out, mpr_err_t *e);
/* 0 when r is a 2xx; else fills e from the error body (exit 1, the server's
 * code and message; "Retry-After" added to the message when present) and
 * returns -1. */
int mpr_http_check(const mpc_response_t *r, mpr_err_t *e);

/* A WebSocket on /v1/ws authenticated with the session's token (refreshing
 * once when the upgrade gets 401). NULL with e filled (exit 3) on failure. */
mpc_ws_t *mpr_ws_open(mpr_session_t *s, mpr_err_t *e);
/* A request {"type":type, ...fields} (fields borrowed, may be NULL) and its
 * reply. 0 with *reply (caller decrefs) when ok. -1 with e filled: exit 1 and
 * the server's code for an error reply (*reply is then the error frame, for
 * callers that want e.g. retry_after_ms; caller decrefs), exit 3
 * "cannot_connect" when the connection broke or timed out (*reply NULL).
 * reply may be NULL when the caller does not want it. */
int mpr_ws_call(mpc_ws_t *ws, const char *type, json_t *fields, json_t **reply, mpr_err_t *e);
/* The same, waiting at most timeout_ms for the reply (mpr_ws_call waits
 * MPR_TIMEOUT_MS). */
int mpr_ws_call_within(mpc_ws_t *ws, const char *type, json_t *fields, int timeout_ms,
                       json_t **reply, mpr_err_t *e);

/* ---- naming things ------------------------------------------------------------ */

/* Where a message goes or which conversation to follow, from a TO argument:
 *   @NAME      the direct conversation with that user (created if needed)
 *   #TITLE     the caller's group with that title (exact, else the only one
 *              whose title matches without regard to case); "ambiguous" lists
 *              the ids when several match
 *   world      the world room
 *   DIGITS     a conversation id, as it is
 * label is what people read: "@bob", "#Book club", "world", or the id. */
typedef struct mpr_target {
    char conversation[24];
    char kind[8]; /* "direct", "group", "world", or "" when given as an id */
    char label[160];
} mpr_target_t;

/* Resolves to (see above) through the server. 0 or -1 (e: exit 2 for an
 * empty or malformed TO, exit 1 "not_found"/"ambiguous"/the server's code,
 * exit 3). */
int mpr_resolve(mpr_session_t *s, const char *to, mpr_target_t *t, mpr_err_t *e);

/* A small cache of names for display: user id -> username, conversation id
 * -> label ("@bob", "#Book club", "world"). Looked up through the server on
 * a miss (GET /v1/users/{id}, /v1/groups/{id}, the conversation list);
 * unknown ids are shown as themselves. After a lookup finds the server
 * unreachable, misses answer the id without asking for 10 s. */
typedef struct mpr_names mpr_names_t;

mpr_names_t *mpr_names_new(mpr_session_t *s);
void mpr_names_free(mpr_names_t *n);
/* Borrowed; valid until mpr_names_free or until the cache learns another
 * name for that id (copy it to keep it). Never NULL. */
const char *mpr_names_user(mpr_names_t *n, const char *user_id);
const char *mpr_names_conv(mpr_names_t *n, const char *conversation_id);
/* Teaches the cache what a conversation list entry, a sync "conversations"
 * entry or a group object says (borrowed). */
void mpr_names_learn_conv(mpr_names_t *n, json_t *conv);
void mpr_names_learn_user(mpr_names_t *n, const char *user_id, const char *username);

/* ---- small helpers the commands share ------------------------------------------ */

/* A fresh client_msg_id: "cli-", the time in ms as 11 hex digits, 8 random
 * hex digits (unique per device with overwhelming probability; growing
 * with time, as docs/protocol.md asks). out needs 24 bytes. */
void mpr_msg_id(char out[24]);
/* Reads a password: from the first line of path when non-NULL, else
 * $MAGPIE_PASSWORD, else a prompt on the terminal (/dev/tty, so standard
 * input may carry data) without echo. 0 or -1 (e: exit 2 when there is no
 * terminal to ask). */
int mpr_read_password(const char *path, const char *prompt, char *out, size_t cap, mpr_err_t *e);
/* The same for a new password: on a terminal it is asked twice and must
 * match. */
int mpr_read_new_password(const char *path, const char *prompt, char *out, size_t cap,
                          mpr_err_t *e);
/* Percent-encodes in for a query string or path segment (everything but
 * A-Z a-z 0-9 - . _ ~). Returns 0, or -1 when out (cap bytes) is too small. */
int mpr_urlencode(const char *in, char *out, size_t cap);
/* "HH:MM" (today) or "YYYY-MM-DD HH:MM" (other days), local time. */
void mpr_format_time(int64_t ms, char *out, size_t cap);

/* ---- text from the server, for a terminal ------------------------------------------ */

/* Decodes one character of s (n > 0 bytes left) into *cp, returning the bytes
 * it takes; malformed input is U+FFFD for one byte, so decoding always moves
 * on. */
size_t mpr_utf8_next(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (room for 4 bytes); returns the bytes written. */
size_t mpr_utf8_put(char *out, uint32_t cp);
/* Characters that must not reach a terminal as they are: C0/C1 controls,
 * DEL, bidirectional overrides/embeddings/isolates, line separators. */
bool mpr_unsafe_char(uint32_t cp);
/* A copy of s (mp_malloc'd; mp_free it) with every unsafe character and
 * malformed byte replaced by U+FFFD, tabs as spaces, and newlines kept only
 * when keep_newlines (else spaces). */
char *mpr_clean_text(const char *s, bool keep_newlines);
/* The same on one line into out, cut to fit cap bytes at a character
 * boundary (s may be NULL: ""). */
void mpr_clean_line(const char *s, char *out, size_t cap);
/* j as one compact JSON line on f, flushed, with DEL and C1 controls
 * escaped too (jansson writes them raw). 0, or -1 when f cannot be written. */
int mpr_print_json_line(FILE *f, json_t *j);

/* ---- reconnection pacing ---------------------------------------------------------- */

/* Waits of 100 ms doubling up to max_ms (default 2 s), each drawn at random
 * from the upper half of its bound, so that the clients one server restart
 * cut off do not all come back in the same millisecond. Zero-initialise. */
#define MPR_BACKOFF_FIRST_MS 100
#define MPR_BACKOFF_MAX_MS 2000
typedef struct mpr_backoff {
    int next_ms; /* the bound of the next wait; 0 = not started */
    int max_ms;  /* 0 = MPR_BACKOFF_MAX_MS */
} mpr_backoff_t;

/* The next wait in ms; doubles the bound for the one after. */
int mpr_backoff_next(mpr_backoff_t *b);
/* A connection worked: the next failure starts again at the first wait. */
void mpr_backoff_reset(mpr_backoff_t *b);

#endif
