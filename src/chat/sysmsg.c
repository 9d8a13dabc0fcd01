/* Renders system message lines: see chat/sysmsg.h. The buffer sizes are the
 * ones the lines have always been cut at: a name at 95 bytes, a line at 256
 * or 512 (320 for a deleted owner's). */
#include "chat/sysmsg.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define NAME_LEN 96

/* Cuts s back to a whole UTF-8 character when snprintf cut one in the
 * middle: a line is always valid UTF-8. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* names[i] as the line shows it, cut like a line, into buf. */
static const char *name_at(const json_t *names, size_t i, char *buf, size_t len)
{
    const char *s = json_string_value(json_array_get(names, i));
    snprintf(buf, len, "%s", s != NULL ? s : "a deleted user");
    utf8_trim(buf);
    return buf;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* "Bob, Carol and Dan" for up to three users, else "N members". */
static void names_line(const json_t *names, size_t n, char *out, size_t len)
{
    char name[NAME_LEN];
    if (n > 3 || n == 0) {
        snprintf(out, len, "%zu member%s", n, n == 1 ? "" : "s");
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        name_at(names, i + 1, name, sizeof name);
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", name);
    }
}

/* "<actor> <verb> <target>" for the actions about one user. */
static const char *target_verb(const char *action)
{
    static const struct {
        const char *action, *verb;
    } verbs[] = {
        {"member_removed", "removed"},
        {"ownership_transferred", "transferred ownership to"},
        {"banned", "banned"},
        {"unbanned", "unbanned"},
        {"muted", "muted"},
        {"unmuted", "unmuted"},
        {"role_changed", "made"},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(action, verbs[i].action) == 0)
            return verbs[i].verb;
    return NULL;
}

static char *render(const json_t *body, const json_t *sys)
{
    const json_t *names = json_object_get(body, "names");
    const char *action = str(sys, "action");
    bool owner_deleted = strcmp(str(sys, "reason"), "owner_deleted") == 0;
    char a[NAME_LEN], t[NAME_LEN], text[512];
    size_t cap = 256;
    name_at(names, 0, a, sizeof a);
    name_at(names, 1, t, sizeof t);
    const char *verb = target_verb(action);
    if (owner_deleted) {
        /* The deleted user's name whole, as the account deletion gave it. */
        const char *gone = json_string_value(json_array_get(names, 0));
        gone = gone != NULL ? gone : "a deleted user";
        cap = 320;
        if (strcmp(action, "dissolved") == 0)
            snprintf(text, cap, "%s's account was deleted; the group was dissolved", gone);
        else
            snprintf(text, cap, "%s's account was deleted; %s is now the owner", gone, t);
    } else if (strcmp(action, "created") == 0) {
        cap = 512;
        snprintf(text, cap, "%s created the group \"%s\"", a, str(sys, "title"));
    } else if (strcmp(action, "members_added") == 0) {
        char who[320];
        names_line(names, json_array_size(json_object_get(sys, "user_ids")), who, sizeof who);
        cap = 512;
        snprintf(text, cap, "%s added %s", a, who);
    } else if (strcmp(action, "member_left") == 0) {
        snprintf(text, cap, "%s left the group", a);
    } else if (verb != NULL) {
        const char *tail = "";
        if (strcmp(action, "role_changed") == 0)
            tail = strcmp(str(sys, "role"), "admin") == 0 ? " an admin" : " a member";
        snprintf(text, cap, "%s %s %s%s", a, verb, t, tail);
    } else if (strcmp(action, "info_changed") == 0) {
        cap = 512;
        if (json_is_true(json_object_get(body, "renamed")))
            snprintf(text, cap, "%s renamed the group to \"%s\"", a, str(sys, "title"));
        else
            snprintf(text, cap, "%s changed the group info", a);
    } else if (strcmp(action, "settings_changed") == 0) {
        snprintf(text, cap, "%s changed the group settings", a);
    } else if (strcmp(action, "announcement_set") == 0) {
        snprintf(text, cap, "%s pinned an announcement", a);
    } else if (strcmp(action, "announcement_cleared") == 0) {
        snprintf(text, cap, "%s cleared the announcement", a);
    } else if (strcmp(action, "dissolved") == 0) {
        snprintf(text, cap, "%s dissolved the group", a);
    } else if (strcmp(action, "joined_by_link") == 0) {
        snprintf(text, cap, "%s joined the group by invite link", a);
    } else {
        snprintf(text, cap, "%s changed the group", a); /* an action from a newer server */
    }
    utf8_trim(text);
    return mp_strdup(text);
}

char *mp_chat_sysmsg_text(const json_t *body)
{
    const json_t *sys = json_object_get(body, "system");
    if (!json_is_object(sys))
        return NULL;
    const char *text = json_string_value(json_object_get(body, "text"));
    if (text != NULL)
        return mp_strdup(text);
    return render(body, sys);
}
