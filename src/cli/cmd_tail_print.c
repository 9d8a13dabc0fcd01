/* The lines `magpie tail` prints: the server's objects as JSON, or
 * "HH:MM  LABEL  SENDER: TEXT" for people. Everything the server sends is
 * cleaned of control characters before it reaches a terminal, so that a
 * message cannot move the cursor, retitle the window or worse. */
#include "cli/cmd_tail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/alloc.h"

static char *append_n(char *buf, const char *s, size_t n)
{
    size_t len = buf != NULL ? strlen(buf) : 0;
    char *b = realloc(buf, len + n + 1);
    if (b == NULL)
        abort();
    memcpy(b + len, s, n);
    b[len + n] = '\0';
    return b;
}

static char *append(char *buf, const char *s)
{
    return append_n(buf, s, strlen(s));
}

/* Appends s to buf (a malloc'd string, NULL = empty; returned grown), cleaned
 * for a terminal (mpr_clean_text: controls, bidirectional overrides and
 * malformed bytes become U+FFFD, tabs spaces); newlines are kept when
 * multiline, each then followed by indent spaces, so that a multi-line text
 * stays under its first line. */
static char *tail_append_clean(char *buf, const char *s, bool multiline, int indent)
{
    char *clean = mpr_clean_text(s, multiline);
    const char *p = clean;
    for (const char *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        buf = append_n(buf, p, (size_t)(nl - p) + 1);
        for (int i = 0; i < indent; i++)
            buf = append(buf, " ");
    }
    buf = append(buf, p);
    mp_free(clean);
    return buf;
}

/* Writes one line and flushes it. */
static int emit(const char *line)
{
    if (fputs(line, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
        return -1;
    return 0;
}

static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL ? v : "";
}

/* Terminal columns of a cleaned UTF-8 string, counting each character as
 * one (good enough to indent continuation lines under the text). */
static int columns(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

/* "HH:MM  LABEL  " for conversation at at_ms. */
static char *line_head(const tail_out_t *out, const char *conversation, int64_t at_ms)
{
    char when[32];
    mpr_format_time(at_ms, when, sizeof when);
    char *b = append(NULL, when);
    b = append(b, "  ");
    b = tail_append_clean(b, mpr_names_conv(out->names, conversation), false, 0);
    return append(b, "  ");
}

/* "M:SS" of a duration in ms. */
static void duration(json_t *content, char *out, size_t cap)
{
    json_t *d = json_object_get(content, "duration_ms");
    if (!json_is_integer(d)) {
        out[0] = '\0';
        return;
    }
    long long s = (long long)(json_integer_value(d) + 500) / 1000;
    snprintf(out, cap, " %lld:%02lld", s / 60, s % 60);
}

/* "[image] ", "[file report.pdf] ", ...: what a non-text message holds,
 * before its caption. Appended to b. */
static char *kind_tag(const tail_out_t *out, char *b, json_t *m)
{
    const char *kind = str(m, "kind");
    json_t *c = json_object_get(m, "content");
    char d[32];
    if (strcmp(kind, "text") == 0 || strcmp(kind, "system") == 0 || kind[0] == '\0')
        return b;
    b = append(b, "[");
    if (strcmp(kind, "file") == 0) {
        b = append(b, "file ");
        b = tail_append_clean(b, str(c, "name"), false, 0);
    } else if (strcmp(kind, "voice") == 0 || strcmp(kind, "video") == 0) {
        duration(c, d, sizeof d);
        b = append(append(b, kind), d);
    } else if (strcmp(kind, "location") == 0) {
        b = append(b, "location ");
        if (str(c, "title")[0] != '\0') {
            b = tail_append_clean(b, str(c, "title"), false, 0);
        } else {
            char ll[64];
            snprintf(ll, sizeof ll, "%.5f,%.5f", json_number_value(json_object_get(c, "latitude")),
                     json_number_value(json_object_get(c, "longitude")));
            b = append(b, ll);
        }
    } else if (strcmp(kind, "contact") == 0) {
        b = append(b, "contact @");
        b = tail_append_clean(b, mpr_names_user(out->names, str(c, "user_id")), false, 0);
    } else {
        b = tail_append_clean(b, kind, false, 0);
    }
    return append(b, "]");
}

int tail_print_message(const tail_out_t *out, json_t *m, bool edited)
{
    if (out->json) {
        json_t *ev =
            json_pack("{s:s,s:O}", "event", edited ? "message_edited" : "message", "message", m);
        int rc = mpr_print_json_line(stdout, ev);
        json_decref(ev);
        return rc;
    }
    json_t *at = json_object_get(m, edited ? "edited_at" : "created_at");
    char *b = line_head(out, str(m, "conversation"), json_integer_value(at));
    bool system = strcmp(str(m, "kind"), "system") == 0;
    if (system) {
        b = append(b, "* "); /* the server's line names who did what */
    } else {
        b = tail_append_clean(b, mpr_names_user(out->names, str(m, "sender")), false, 0);
        b = append(b, ": ");
    }
    int indent = columns(b);
    if (json_object_get(m, "forwarded_from") != NULL)
        b = append(b, "[forwarded] ");
    json_t *reply = json_object_get(m, "reply_to");
    if (reply != NULL) {
        b = append(b, "[reply to ");
        b = tail_append_clean(b, mpr_names_user(out->names, str(reply, "sender")), false, 0);
        b = append(b, "] ");
    }
    b = kind_tag(out, b, m);
    const char *text = str(m, "text");
    if (text[0] != '\0' && strcmp(str(m, "kind"), "text") != 0 && !system)
        b = append(b, " ");
    b = tail_append_clean(b, text, true, indent);
    if (edited || json_object_get(m, "edited_at") != NULL)
        b = append(b, " (edited)");
    int rc = emit(b);
    free(b);
    return rc;
}

int tail_print_deleted(const tail_out_t *out, json_t *ev, const char *sender, int64_t at_ms)
{
    if (out->json)
        return mpr_print_json_line(stdout, ev);
    char *b = line_head(out, str(ev, "conversation"), at_ms > 0 ? at_ms : mp_now_ms());
    if (sender != NULL && sender[0] != '\0') {
        b = tail_append_clean(b, mpr_names_user(out->names, sender), false, 0);
        b = append(b, ": ");
    }
    b = append(b, strcmp(str(ev, "for"), "me") == 0 ? "(deleted for you)" : "(deleted)");
    int rc = emit(b);
    free(b);
    return rc;
}

int tail_print_event(const tail_out_t *out, json_t *ev)
{
    return out->json ? mpr_print_json_line(stdout, ev) : 0;
}
