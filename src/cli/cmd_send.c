/* `magpie send`: messages to @user, #group, world or a conversation id
 * (docs/cli.md). Each message is sent and acknowledged before the next one,
 * so that the server stores them in input order; a message whose reply did
 * not come is sent again with the same client_msg_id after reconnecting, and
 * the server's deduplication (per device and client_msg_id) makes that, and
 * a rerun with --id, store it exactly once. */
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/validate.h"
#include "remote/remote.h"
#include "util/clock.h"

/* The protocol's client_msg_id: 1-64 printable ASCII characters. */
#define CMID_MAX 64
/* --lines appends "-N": room for nine digits, a billion lines. */
#define LINES_ID_MAX (CMID_MAX - 10)
/* A frame larger than the server's ws_max_message (64 KiB) would cost the
 * connection, not just the message: such a message is refused here. */
#define FRAME_MAX (64 * 1024 - 256)
/* Standard input beyond this cannot be one message (4,096 characters). */
#define INPUT_MAX (1024 * 1024)
/* One attempt waits this long for its reply before the connection is taken
 * for dead and a new one tried (within --timeout). */
#define ATTEMPT_MS 10000
#define DEFAULT_TIMEOUT_S 30

typedef struct {
    const char *url, *user, *id, *reply_to, *file;
    bool lines, json, verbose;
    int timeout_ms;
    const char *to, *text; /* positional: TO and the optional TEXT */
} send_opts_t;

/* A sending session: where to, and the connection (NULL while down). */
typedef struct {
    const send_opts_t *o;
    mpr_session_t s;
    mpr_target_t t;
    mpc_ws_t *ws;
    mpr_backoff_t backoff;
    long acked; /* messages acknowledged so far */
} sender_t;

static void send_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie send [options] TO [TEXT]\n"
            "\n"
            "Sends TEXT (or standard input) to TO: @username, #group title, world or a\n"
            "conversation id. Exits 0 once every message is stored for good.\n"
            "\n"
            "  --lines              one message per line of standard input (empty lines skipped)\n"
            "  --id ID              client_msg_id (line N of --lines gets ID-N): a rerun with\n"
            "                       the same ID never stores a message twice\n"
            "  --reply-to MSG_ID    reply to that message of the conversation\n"
            "  --file PATH          upload PATH and send it (TEXT is the caption)\n"
            "  --json               print each acknowledgement as a JSON line on stdout\n"
            "  -v, --verbose        print \"sent #SEQ to TO\" on stderr per message\n"
            "  --timeout SECONDS    give up on a message not stored after this long "
            "(default %d)\n"
            "  --url URL            the server (default $MAGPIE_URL, else %s)\n"
            "  --user NAME          which signed-in user (default: the last one to log in)\n"
            "\n"
            "Exit status: 0 all stored, 1 refused by the server, 2 usage, 3 cannot connect\n"
            "or not logged in.\n",
            DEFAULT_TIMEOUT_S, MPR_DEFAULT_URL);
}

/* The byte rule of the protocol's MP_F_ASCII fields, from proto/. */
static bool printable_ascii(const char *s)
{
    size_t n = strlen(s);
    return mp_ascii_printable_len(s, n) == n;
}

/* A message id as the protocol writes it: 1-20 decimal digits. */
static bool decimal_id(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n >= 1 && n <= 20 && s[n] == '\0';
}

/* Sleeps ms milliseconds (a wait between attempts). */
static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

enum { O_LINES = MP_CLI_OWN, O_ID, O_REPLY_TO, O_FILE, O_TIMEOUT };

static const struct option send_own[] = {
    {"lines", no_argument, NULL, O_LINES},
    {"id", required_argument, NULL, O_ID},
    {"reply-to", required_argument, NULL, O_REPLY_TO},
    {"file", required_argument, NULL, O_FILE},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static int on_option(int id, const char *value, void *arg);

static const mp_cli_spec_t send_spec = {
    .name = "send",
    .usage = send_usage,
    .common = MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON,
    .own = send_own,
    .shorts = "v",
    .on_option = on_option,
    .min_args = 1,
    .max_args = 2,
    .args_hint = "give TO (@username, #group title, world or a conversation id), then TEXT "
                 "(quoted) or nothing",
};

static int on_option(int id, const char *value, void *arg)
{
    send_opts_t *o = arg;
    switch (id) {
    case O_LINES:
        o->lines = true;
        break;
    case O_ID:
        o->id = value;
        break;
    case O_REPLY_TO:
        o->reply_to = value;
        break;
    case O_FILE:
        o->file = value;
        break;
    case 'v':
        o->verbose = true;
        break;
    case O_TIMEOUT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 86400)
            return mp_cli_usage_error(
                &send_spec, "--timeout: \"%s\" is not a number of seconds (1-86400)", value);
        o->timeout_ms = (int)v * 1000;
        break;
    }
    }
    return 0;
}

static int parse(int argc, char **argv, send_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = DEFAULT_TIMEOUT_S * 1000;
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, &send_spec, &c, o);
    if (rc != 0)
        return rc;
    o->url = c.url;
    o->user = c.user;
    o->json = c.json;
    o->to = c.args[0];
    o->text = c.nargs == 2 ? c.args[1] : NULL;
    if (o->lines && o->text != NULL)
        return mp_cli_usage_error(&send_spec, "--lines reads standard input: give no TEXT");
    if (o->text != NULL && o->text[0] == '\0' && o->file == NULL)
        return mp_cli_usage_error(&send_spec, "TEXT is empty");
    if (o->lines && o->file != NULL)
        return mp_cli_usage_error(&send_spec,
                                  "--file sends one message: it does not go with --lines");
    if (o->reply_to != NULL && !decimal_id(o->reply_to))
        return mp_cli_usage_error(
            &send_spec, "--reply-to: \"%s\" is not a message id (1-20 digits)", o->reply_to);
    if (o->id != NULL) {
        size_t max = o->lines ? LINES_ID_MAX : CMID_MAX;
        if (o->id[0] == '\0' || strlen(o->id) > max || !printable_ascii(o->id))
            return mp_cli_usage_error(&send_spec, "--id must be 1-%zu printable ASCII characters%s",
                                      max, o->lines ? " with --lines (which appends -N)" : "");
    }
    return 0;
}

/* ---- standard input ----------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool eof;
} input_t;

/* One read() from standard input into in. 0, or -1 with e filled. */
static int input_fill(input_t *in, mpr_err_t *e)
{
    if (in->cap - in->len < 4096) {
        in->cap = in->cap ? in->cap * 2 : 16384;
        in->buf = realloc(in->buf, in->cap);
        if (in->buf == NULL)
            abort();
    }
    ssize_t n = read(STDIN_FILENO, in->buf + in->len, in->cap - in->len - 1);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "cannot read standard input: %s",
                        strerror(errno));
    if (n == 0)
        in->eof = true;
    in->len += (size_t)n;
    in->buf[in->len] = '\0';
    if (in->len > INPUT_MAX && memchr(in->buf, '\n', in->len) == NULL)
        return mpr_fail(e, MPR_EXIT_REFUSED, "too_large",
                        "more than %d bytes without a newline: no message is that long", INPUT_MAX);
    return 0;
}

/* Takes the first whole line out of in (without "\n" or "\r\n") into a
 * malloc'd string of *len bytes (plus a NUL; the line may hold NULs of its
 * own); at EOF a last line without a newline counts too. NULL when there is
 * none yet. */
static char *input_take_line(input_t *in, size_t *len)
{
    char *nl = in->len > 0 ? memchr(in->buf, '\n', in->len) : NULL;
    size_t n;
    if (nl != NULL)
        n = (size_t)(nl - in->buf);
    else if (in->eof && in->len > 0)
        n = in->len;
    else
        return NULL;
    size_t used = nl != NULL ? n + 1 : n;
    if (n > 0 && in->buf[n - 1] == '\r')
        n--;
    char *line = malloc(n + 1);
    if (line == NULL)
        abort();
    memcpy(line, in->buf, n);
    line[n] = '\0';
    *len = n;
    memmove(in->buf, in->buf + used, in->len - used);
    in->len -= used;
    in->buf[in->len] = '\0';
    return line;
}

/* ---- the connection ----------------------------------------------------------------- */

static void drop_connection(sender_t *sd)
{
    if (sd->ws != NULL)
        mpc_ws_free(sd->ws);
    sd->ws = NULL;
}

/* Reads what the server sent meanwhile: answers its pings (so that an idle
 * connection stays up while standard input is quiet) and drops events, which
 * a sender does not show but must not let pile up. */
static void drain_events(sender_t *sd)
{
    if (sd->ws == NULL)
        return;
    json_t *ev;
    int rc;
    while ((rc = mpc_ws_next_event(sd->ws, 0, &ev)) == MPC_OK)
        json_decref(ev);
    if (rc != MPC_ERR_TIMEOUT)
        drop_connection(sd); /* closed: the next message reconnects */
}

/* The next message line of standard input (empty lines skipped), keeping the
 * connection serviced while waiting. 1 with *line (caller frees) and its
 * length, 0 at the end of the input, -1 with e filled. */
static int next_line(sender_t *sd, input_t *in, char **line, size_t *len, mpr_err_t *e)
{
    for (;;) {
        char *l;
        while ((l = input_take_line(in, len)) != NULL) {
            if (*len > 0) {
                *line = l;
                return 1;
            }
            free(l);
        }
        if (in->eof)
            return 0;
        drain_events(sd);
        struct pollfd p[2] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = sd->ws ? mpc_conn_fd(mpc_ws_conn(sd->ws)) : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "poll: %s", strerror(errno));
        }
        if (p[0].revents != 0 && input_fill(in, e) != 0)
            return -1;
    }
}

/* Refusals that waiting cures; the server says how long when it knows. */
static bool transient(const mpr_err_t *e)
{
    return strcmp(e->code, "rate_limited") == 0 || strcmp(e->code, "slow_mode") == 0 ||
           strcmp(e->code, "unavailable") == 0;
}

static int retry_after_ms(json_t *error_reply)
{
    json_t *v = json_object_get(json_object_get(error_reply, "error"), "retry_after_ms");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 600000)
        return (int)json_integer_value(v);
    return 1000;
}

/* Sends req (a complete "send" frame but its id) until the server stores it:
 * reconnecting with backoff when the connection is lost or a reply does not
 * come, waiting out rate limits, all within --timeout. 0 with *ack (caller
 * decrefs), or -1 with e filled: exit 1 refused, exit 3 no acknowledgement in
 * time or not logged in. */
static int send_until_acked(sender_t *sd, json_t *req, json_t **ack, mpr_err_t *e)
{
    int64_t deadline = mp_mono_ms() + sd->o->timeout_ms;
    for (;;) {
        int wait_ms;
        json_t *reply = NULL;
        if (sd->ws == NULL)
            sd->ws = mpr_ws_open(&sd->s, e);
        if (sd->ws != NULL) {
            int64_t left = deadline - mp_mono_ms();
            int rc = mpr_ws_call_within(sd->ws, "send", req,
                                        left < ATTEMPT_MS ? (int)left : ATTEMPT_MS, &reply, e);
            if (rc == 0) {
                mpr_backoff_reset(&sd->backoff);
                *ack = reply;
                return 0;
            }
        }
        if (strcmp(e->code, "not_logged_in") == 0 ||
            (e->exit == MPR_EXIT_REFUSED && !transient(e))) {
            json_decref(reply);
            return -1; /* signed out, or the server said no to this message */
        }
        if (e->exit == MPR_EXIT_REFUSED) {
            wait_ms = retry_after_ms(reply); /* includes a 429 on the upgrade (reply NULL) */
        } else {
            drop_connection(sd); /* lost, or no reply in time */
            wait_ms = mpr_backoff_next(&sd->backoff);
        }
        json_decref(reply);
        if (mp_mono_ms() + wait_ms >= deadline) {
            char last[sizeof e->msg];
            snprintf(last, sizeof last, "%s", e->msg);
            if (e->exit == MPR_EXIT_REFUSED)
                return -1; /* still refused (rate limit, slow mode): say the server's word */
            return mpr_fail(e, MPR_EXIT_OFFLINE, "timeout", "not stored within %d s: %s",
                            sd->o->timeout_ms / 1000, last);
        }
        sleep_ms(wait_ms);
    }
}

/* ---- one message -------------------------------------------------------------------- */

static void print_ack(const sender_t *sd, json_t *ack, const char *cmid)
{
    if (sd->o->json) {
        json_t *o = json_object();
        static const char *const keep[] = {"message_id", "conversation", "seq", "created_at",
                                           "duplicate"};
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            json_t *v = json_object_get(ack, keep[i]);
            if (v != NULL)
                json_object_set(o, keep[i], v);
        }
        json_object_set_new(o, "client_msg_id", json_string(cmid));
        mpr_print_json_line(stdout, o);
        json_decref(o);
    }
    if (sd->o->verbose)
        fprintf(stderr, "sent #%lld to %s%s\n",
                (long long)json_integer_value(json_object_get(ack, "seq")), sd->t.label,
                json_is_true(json_object_get(ack, "duplicate")) ? " (already stored)" : "");
}

/* The "send" frame for text (may be NULL: none) with kind/content (content
 * borrowed, may be NULL). NULL with e filled when it cannot be sent: text
 * that is not UTF-8, or a frame the server would not read. */
static json_t *build_frame(const sender_t *sd, const char *cmid, const char *text, const char *kind,
                           json_t *content, mpr_err_t *e)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "type", "send", "conversation", sd->t.conversation,
                            "client_msg_id", cmid);
    if (text != NULL) {
        json_t *t = json_string(text);
        if (t == NULL) {
            json_decref(req);
            mpr_fail(e, MPR_EXIT_REFUSED, "bad_request", "the text is not valid UTF-8");
            return NULL;
        }
        json_object_set_new(req, "text", t);
    }
    if (kind != NULL)
        json_object_set_new(req, "kind", json_string(kind));
    if (content != NULL)
        json_object_set(req, "content", content);
    if (sd->o->reply_to != NULL)
        json_object_set_new(req, "reply_to", json_string(sd->o->reply_to));
    char *s = json_dumps(req, JSON_COMPACT);
    size_t n = s != NULL ? strlen(s) : 0;
    free(s);
    if (n == 0 || n > FRAME_MAX) {
        json_decref(req);
        mpr_fail(e, MPR_EXIT_REFUSED, "bad_request",
                 "field 'text' is too long to send (%zu bytes as JSON; a text holds at most "
                 "4096 characters)",
                 n);
        return NULL;
    }
    return req;
}

/* Sends one message and prints its acknowledgement. 0 or -1 (e). */
static int send_one(sender_t *sd, const char *cmid, const char *text, const char *kind,
                    json_t *content, mpr_err_t *e)
{
    json_t *req = build_frame(sd, cmid, text, kind, content, e);
    if (req == NULL)
        return -1;
    json_t *ack = NULL;
    int rc = send_until_acked(sd, req, &ack, e);
    json_decref(req);
    if (rc != 0)
        return -1;
    print_ack(sd, ack, cmid);
    json_decref(ack);
    sd->acked++;
    return 0;
}

static void message_id(const send_opts_t *o, long n, char out[CMID_MAX + 1])
{
    if (o->id == NULL) {
        char tmp[24];
        mpr_msg_id(tmp);
        snprintf(out, CMID_MAX + 1, "%s", tmp);
    } else if (o->lines) {
        snprintf(out, CMID_MAX + 1, "%s-%ld", o->id, n);
    } else {
        snprintf(out, CMID_MAX + 1, "%s", o->id);
    }
}

/* --lines: a message per line as the lines come, stopping at the first one
 * the server refuses. */
static int send_lines(sender_t *sd, mpr_err_t *e)
{
    input_t in = {0};
    int rc = 0;
    for (long n = 1;; n++) {
        char *line = NULL;
        size_t line_len = 0;
        int got = next_line(sd, &in, &line, &line_len, e);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (sd->o->id != NULL && n > 999999999L) { /* "ID-N" would pass 64 characters */
            free(line);
            rc = mpr_fail(e, MPR_EXIT_USAGE, "usage",
                          "more than 999999999 lines for one --id: split the input");
            break;
        }
        char cmid[CMID_MAX + 1];
        message_id(sd->o, n, cmid);
        if (memchr(line, '\0', line_len) != NULL)
            rc = mpr_fail(e, MPR_EXIT_REFUSED, "bad_request", "the line holds a NUL byte");
        else
            rc = send_one(sd, cmid, line, NULL, NULL, e);
        free(line);
        if (rc != 0) {
            mpr_report(e);
            fprintf(stderr, "magpie: stopped at message %ld; %ld sent before it\n", n, sd->acked);
            free(in.buf);
            return e->exit;
        }
    }
    free(in.buf);
    return rc == 0 ? 0 : mpr_report(e);
}

/* The whole of standard input as one message, without one trailing newline. */
static int read_all_stdin(char **out, mpr_err_t *e)
{
    input_t in = {0};
    while (!in.eof) {
        if (input_fill(&in, e) != 0) {
            free(in.buf);
            return -1;
        }
        if (in.len > INPUT_MAX) {
            free(in.buf);
            return mpr_fail(e, MPR_EXIT_REFUSED, "too_large",
                            "standard input holds more than %d bytes: no message is that long",
                            INPUT_MAX);
        }
    }
    if (in.len > 0 && in.buf[in.len - 1] == '\n')
        in.len--;
    if (in.len > 0 && in.buf[in.len - 1] == '\r')
        in.len--;
    if (in.len == 0) {
        free(in.buf);
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "standard input is empty: nothing to send");
    }
    if (memchr(in.buf, '\0', in.len) != NULL) {
        free(in.buf);
        return mpr_fail(e, MPR_EXIT_REFUSED, "bad_request", "standard input holds a NUL byte");
    }
    in.buf[in.len] = '\0';
    *out = in.buf;
    return 0;
}

/* ---- --file ------------------------------------------------------------------------- */

static int read_file(const char *path, char **data, size_t *len, mpr_err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        abort();
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "cannot read %s", path);
    }
    if (n == 0) {
        free(buf);
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s is empty", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

static int retry_after_header(const mpc_response_t *r)
{
    const char *v = mpc_response_header(r, "Retry-After");
    long s = v != NULL ? strtol(v, NULL, 10) : 0;
    return s > 0 && s < 600 ? (int)s * 1000 : 1000;
}

/* POST /v1/files with the bytes of path; a refusal that waiting cures
 * (rate_limited, unavailable) is retried within --timeout, a failure to
 * connect is not (this is the start of the command). 0 with *file (the file
 * object, caller decrefs) or -1 (e). */
static int upload(sender_t *sd, const char *path, json_t **file, mpr_err_t *e)
{
    char *data;
    size_t len;
    if (read_file(path, &data, &len, e) != 0)
        return -1;
    const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    static const char prefix[] = "/v1/files?name=";
    size_t cap = sizeof prefix + strlen(base) * 3;
    char *url = malloc(cap);
    if (url == NULL)
        abort();
    memcpy(url, prefix, sizeof prefix);
    if (mpr_urlencode(base, url + sizeof prefix - 1, cap - (sizeof prefix - 1)) != 0)
        abort(); /* three bytes per byte of base, and the NUL: it fits */
    int64_t deadline = mp_mono_ms() + sd->o->timeout_ms;
    int rc = -1;
    for (;;) {
        mpc_response_t r = {0};
        int st = mpr_http_raw(&sd->s, "POST", url, NULL, data, len, &r, e);
        if (st < 0)
            break;
        if (mpr_http_check(&r, e) == 0) {
            *file = json_incref(r.json);
            mpc_response_free(&r);
            rc = *file != NULL ? 0
                               : mpr_fail(e, MPR_EXIT_REFUSED, "bad_response",
                                          "the upload's answer is not a file object");
            break;
        }
        int wait_ms = retry_after_header(&r);
        mpc_response_free(&r);
        if (!transient(e) || mp_mono_ms() + wait_ms >= deadline)
            break;
        sleep_ms(wait_ms);
    }
    free(url);
    free(data);
    return rc;
}

/* The kind and content of a message carrying the uploaded file: images and
 * videos as themselves, everything else as a file with its name, size and
 * type (the server fills in the rest from the file). */
static const char *file_message(json_t *file, const char *path, json_t **content)
{
    const char *cls = json_string_value(json_object_get(file, "class"));
    json_t *id = json_object_get(file, "file_id");
    if (cls != NULL && (strcmp(cls, "image") == 0 || strcmp(cls, "video") == 0)) {
        *content = json_pack("{s:O}", "file_id", id);
        return cls;
    }
    const char *name = json_string_value(json_object_get(file, "name"));
    if (name == NULL || name[0] == '\0') {
        const char *slash = strrchr(path, '/');
        name = slash != NULL ? slash + 1 : path;
    }
    *content = json_pack("{s:O,s:s}", "file_id", id, "name", name[0] != '\0' ? name : "file");
    json_t *size = json_object_get(file, "size");
    if (json_is_integer(size))
        json_object_set(*content, "size", size);
    const char *mime = json_string_value(json_object_get(file, "mime"));
    if (mime != NULL && strlen(mime) <= 127 && strchr(mime, '/') != NULL && printable_ascii(mime))
        json_object_set_new(*content, "mime", json_string(mime));
    return "file";
}

/* ---- the command -------------------------------------------------------------------- */

/* Connects, then sends the one message or the lines. */
static int run(sender_t *sd, mpr_err_t *e)
{
    const send_opts_t *o = sd->o;
    char *input = NULL;
    json_t *file = NULL, *content = NULL;
    const char *kind = NULL, *text = o->text;
    int rc = -1;
    if (mpr_session_open(&sd->s, o->url, o->user, e) != 0 ||
        mpr_resolve(&sd->s, o->to, &sd->t, e) != 0)
        goto done;
    if (o->file != NULL) {
        if (upload(sd, o->file, &file, e) != 0)
            goto done;
        kind = file_message(file, o->file, &content);
        if (text != NULL && text[0] == '\0')
            text = NULL; /* no caption */
    } else if (!o->lines && text == NULL) {
        if (read_all_stdin(&input, e) != 0)
            goto done;
        text = input;
    }
    /* A command that cannot reach the server at its start fails at once;
     * once connected, it rides out lost connections (send_until_acked). */
    sd->ws = mpr_ws_open(&sd->s, e);
    if (sd->ws == NULL)
        goto done;
    if (o->lines)
        return send_lines(sd, e);
    char cmid[CMID_MAX + 1];
    message_id(o, 1, cmid);
    rc = send_one(sd, cmid, text, kind, content, e);
done:
    free(input);
    json_decref(content);
    json_decref(file);
    return rc == 0 ? 0 : mpr_report(e);
}

int mp_cli_send(int argc, char **argv)
{
    if (mp_cli_wants_help(argc, argv)) {
        send_usage(stdout);
        return MP_CLI_OK;
    }
    send_opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    sender_t sd = {.o = &o};
    mpr_err_t e = {0};
    rc = run(&sd, &e);
    drop_connection(&sd);
    return rc;
}
