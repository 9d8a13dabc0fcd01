/* `magpie register`, `login`, `logout` and `whoami`: this machine as one of
 * a user's devices (docs/cli.md). The device's refresh token lives in the
 * credentials file of src/remote, never on the command line. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "remote/remote.h"

#define PASSWORD_MAX 1100

/* The options every account command may take. */
typedef struct {
    const char *url, *user, *password_file, *device_name, *display_name, *email, *invite;
    bool json, no_login, forget;
    const char *arg; /* the one positional argument (USERNAME), or NULL */
} acct_opts_t;

enum {
    O_PASSWORD_FILE = MP_CLI_OWN,
    O_DEVICE_NAME,
    O_DISPLAY_NAME,
    O_EMAIL,
    O_INVITE,
    O_NO_LOGIN,
    O_FORGET,
};

static int on_option(int id, const char *value, void *arg)
{
    acct_opts_t *o = arg;
    switch (id) {
    case O_PASSWORD_FILE:
        o->password_file = value;
        break;
    case O_DEVICE_NAME:
        o->device_name = value;
        break;
    case O_DISPLAY_NAME:
        o->display_name = value;
        break;
    case O_EMAIL:
        o->email = value;
        break;
    case O_INVITE:
        o->invite = value;
        break;
    case O_NO_LOGIN:
        o->no_login = true;
        break;
    case O_FORGET:
        o->forget = true;
        break;
    }
    return 0;
}

/* --help, then the options: returns the exit status when the command is
 * done already (help printed: 0; a usage error: 2), else -1 to go on. */
static int begin(int argc, char **argv, const mp_cli_spec_t *spec, acct_opts_t *o)
{
    if (mp_cli_wants_help(argc, argv)) {
        spec->usage(stdout);
        return MP_CLI_OK;
    }
    memset(o, 0, sizeof *o);
    mp_cli_common_t c;
    int rc = mp_cli_parse(argc, argv, spec, &c, o);
    if (rc != 0)
        return rc;
    o->url = c.url;
    o->user = c.user;
    o->json = c.json;
    o->arg = c.nargs > 0 ? c.args[0] : NULL;
    if (o->arg != NULL && o->arg[0] == '@')
        o->arg++;
    return -1;
}

/* ---- login ---------------------------------------------------------------------- */

static void login_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie login [--url URL] [--password-file FILE] [--device-name NAME] [--json]\n"
            "                    USERNAME\n\n"
            "Signs in to the server and keeps this device's credentials in\n"
            "$XDG_CONFIG_HOME/magpie/credentials (mode 0600). Later commands use them and\n"
            "refresh them by themselves. Logging in again as the same user on the same server\n"
            "replaces the device (the old one is signed out).\n\n"
            "The password comes from --password-file FILE (its first line; - for standard\n"
            "input), else MAGPIE_PASSWORD, else a prompt on the terminal (without echo).\n"
            "URL: --url, else MAGPIE_URL, else " MPR_DEFAULT_URL ". An https:// URL\n"
            "(port 443 unless given) uses TLS and checks the server's certificate: the\n"
            "system's CAs, or the one SSL_CERT_FILE names (a private CA).\n\n"
            "exit status: 0 signed in, 1 refused (e.g. bad_credentials), 2 usage,\n"
            "3 cannot connect\n");
}

/* Signs out the device this machine had for (url, username), if any, before
 * its entry is replaced, so that logging in twice leaves no live device
 * behind. Best effort: when the server cannot be reached the old device
 * stays listed until revoked (GET/DELETE /v1/devices). */
static void sign_out_previous(const mpr_url_t *u, const char *username)
{
    mpr_session_t old = {.url = *u};
    mpr_err_t e;
    if (mpr_creds_find(u->url, username, &old.cred, &e) != 0)
        return;
    mpc_response_t r;
    if (mpr_http(&old, "POST", "/v1/auth/logout", NULL, &r, &e) > 0)
        mpc_response_free(&r);
    explicit_bzero(&old, sizeof old);
}

/* Logs username in with password and stores the device. The previous
 * device of the same entry, if any, is signed out first. */
static int do_login(const mpr_url_t *u, const char *username, const char *password,
                    const char *device_name, bool json)
{
    mpr_err_t e = {0};
    char host[128] = "this computer", name[200];
    gethostname(host, sizeof host - 1);
    if (device_name == NULL) {
        snprintf(name, sizeof name, "magpie CLI on %s", host);
        device_name = name;
    }
    json_t *body = json_pack("{s:s,s:s,s:s}", "username", username, "password", password,
                             "device_name", device_name);
    mpc_response_t r;
    int st = mpr_http_anon(u, "POST", "/v1/auth/login", body, &r, &e);
    json_decref(body);
    if (st < 0)
        return mpr_report(&e);
    if (mpr_http_check(&r, &e) != 0) {
        mpc_response_free(&r);
        return mpr_report(&e);
    }
    mpr_cred_t c = {0};
    snprintf(c.url, sizeof c.url, "%s", u->url);
    for (size_t i = 0; username[i] != '\0' && i + 1 < sizeof c.username; i++)
        c.username[i] =
            (char)((username[i] >= 'A' && username[i] <= 'Z') ? username[i] + 32 : username[i]);
    mpr_cred_from_tokens(&c, r.json);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    c.updated_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    mpc_response_free(&r);
    sign_out_previous(u, c.username);
    if (mpr_creds_store(&c, &e) != 0)
        return mpr_report(&e);
    if (json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "url", c.url, "username", c.username, "user_id",
                              c.user_id, "device_id", c.device_id);
        mpr_print_json_line(stdout, j);
        json_decref(j);
    } else {
        printf("Logged in to %s as %s.\n", c.url, c.username);
    }
    explicit_bzero(&c, sizeof c);
    return MP_CLI_OK;
}

static const struct option login_own[] = {
    {"password-file", required_argument, NULL, O_PASSWORD_FILE},
    {"device-name", required_argument, NULL, O_DEVICE_NAME},
    {NULL, 0, NULL, 0},
};
static const mp_cli_spec_t login_spec = {
    .name = "login",
    .usage = login_usage,
    .common = MP_CLI_URL | MP_CLI_JSON,
    .own = login_own,
    .on_option = on_option,
    .min_args = 1,
    .max_args = 1,
    .args_hint = "give exactly one USERNAME",
};

int mp_cli_login(int argc, char **argv)
{
    acct_opts_t o;
    int rc = begin(argc, argv, &login_spec, &o);
    if (rc >= 0)
        return rc;
    mpr_err_t e = {0};
    mpr_url_t u;
    if (mpr_url_parse(mpr_url_choose(o.url), &u, &e) != 0)
        return mpr_report(&e);
    char prompt[400], password[PASSWORD_MAX];
    snprintf(prompt, sizeof prompt, "Password for %s on %s: ", o.arg, u.url);
    if (mpr_read_password(o.password_file, prompt, password, sizeof password, &e) != 0)
        return mpr_report(&e);
    rc = do_login(&u, o.arg, password, o.device_name, o.json);
    explicit_bzero(password, sizeof password);
    return rc;
}

/* ---- register ------------------------------------------------------------------- */

static void register_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie register [--url URL] [--password-file FILE] [--display-name NAME]\n"
            "                       [--email ADDRESS] [--invite CODE] [--no-login] [--json]\n"
            "                       USERNAME\n\n"
            "Creates an account (3-32 characters of a-z 0-9 _ .) and, unless --no-login, logs\n"
            "this machine in as it. Servers may ask for an e-mail address (then verify it\n"
            "before logging in) or an invite code. The password is read as for login; on a\n"
            "terminal it is asked twice.\n\n"
            "exit status: 0 created, 1 refused (e.g. username_taken, weak_password), 2 usage,\n"
            "3 cannot connect\n");
}

static const struct option register_own[] = {
    {"password-file", required_argument, NULL, O_PASSWORD_FILE},
    {"display-name", required_argument, NULL, O_DISPLAY_NAME},
    {"email", required_argument, NULL, O_EMAIL},
    {"invite", required_argument, NULL, O_INVITE},
    {"no-login", no_argument, NULL, O_NO_LOGIN},
    {NULL, 0, NULL, 0},
};
static const mp_cli_spec_t register_spec = {
    .name = "register",
    .usage = register_usage,
    .common = MP_CLI_URL | MP_CLI_JSON,
    .own = register_own,
    .on_option = on_option,
    .min_args = 1,
    .max_args = 1,
    .args_hint = "give exactly one USERNAME",
};

int mp_cli_register(int argc, char **argv)
{
    acct_opts_t o;
    int rc = begin(argc, argv, &register_spec, &o);
    if (rc >= 0)
        return rc;
    mpr_err_t e = {0};
    mpr_url_t u;
    if (mpr_url_parse(mpr_url_choose(o.url), &u, &e) != 0)
        return mpr_report(&e);
    char prompt[400], password[PASSWORD_MAX];
    snprintf(prompt, sizeof prompt, "New password for %s on %s: ", o.arg, u.url);
    if (mpr_read_new_password(o.password_file, prompt, password, sizeof password, &e) != 0)
        return mpr_report(&e);
    json_t *body = json_pack("{s:s,s:s}", "username", o.arg, "password", password);
    if (o.display_name != NULL)
        json_object_set_new(body, "display_name", json_string(o.display_name));
    if (o.email != NULL)
        json_object_set_new(body, "email", json_string(o.email));
    if (o.invite != NULL)
        json_object_set_new(body, "invite_code", json_string(o.invite));
    mpc_response_t r;
    int st = mpr_http_anon(&u, "POST", "/v1/auth/register", body, &r, &e);
    json_decref(body);
    if (st < 0 || mpr_http_check(&r, &e) != 0) {
        if (st > 0)
            mpc_response_free(&r);
        explicit_bzero(password, sizeof password);
        return mpr_report(&e);
    }
    if (o.json && o.no_login)
        mpr_print_json_line(stdout, r.json);
    else if (!o.json)
        printf("Registered %s on %s.\n", o.arg, u.url);
    mpc_response_free(&r);
    rc = o.no_login ? MP_CLI_OK : do_login(&u, o.arg, password, NULL, o.json);
    explicit_bzero(password, sizeof password);
    return rc;
}

/* ---- logout ----------------------------------------------------------------------- */

static void logout_usage(FILE *out)
{
    fprintf(out,
            "usage: magpie logout [--url URL] [--user NAME] [--forget]\n\n"
            "Signs this machine's device out: the server revokes it (its tokens stop working\n"
            "and its WebSockets close) and its entry leaves the credentials file. When the\n"
            "server cannot be reached nothing changes, unless --forget drops the entry\n"
            "anyway (then revoke the device from another one).\n\n"
            "exit status: 0 signed out, 1 refused, 2 usage, 3 not logged in or cannot connect\n");
}

static const struct option logout_own[] = {
    {"forget", no_argument, NULL, O_FORGET},
    {NULL, 0, NULL, 0},
};
static const mp_cli_spec_t logout_spec = {
    .name = "logout",
    .usage = logout_usage,
    .common = MP_CLI_URL | MP_CLI_USER,
    .own = logout_own,
    .on_option = on_option,
    .max_args = 0,
    .args_hint = "takes no arguments",
};

int mp_cli_logout(int argc, char **argv)
{
    acct_opts_t o;
    int rc = begin(argc, argv, &logout_spec, &o);
    if (rc >= 0)
        return rc;
    mpr_err_t e = {0};
    mpr_session_t s;
    if (mpr_session_open(&s, o.url, o.user, &e) != 0)
        return mpr_report(&e);
    mpc_response_t r;
    int st = mpr_http(&s, "POST", "/v1/auth/logout", NULL, &r, &e);
    bool gone = strcmp(e.code, "not_logged_in") == 0; /* the server had revoked it already */
    if (st < 0 && !gone && !o.forget)
        return mpr_report(&e);
    if (st > 0) {
        rc = mpr_http_check(&r, &e);
        mpc_response_free(&r);
        if (rc != 0 && !o.forget)
            return mpr_report(&e);
    }
    if (mpr_creds_remove(s.url.url, s.cred.username, &e) != 0)
        return mpr_report(&e);
    printf("Logged %s out of %s.\n", s.cred.username, s.url.url);
    explicit_bzero(&s, sizeof s);
    return MP_CLI_OK;
}

/* ---- whoami ---------------------------------------------------------------------- */

static void whoami_usage(FILE *out)
{
    fprintf(out, "usage: magpie whoami [--url URL] [--user NAME] [--json]\n\n"
                 "Shows who this machine is logged in as on the server (asking the server, so it\n"
                 "also checks that the sign-in still works).\n\n"
                 "exit status: 0, 1 refused, 2 usage, 3 not logged in or cannot connect\n");
}

static const mp_cli_spec_t whoami_spec = {
    .name = "whoami",
    .usage = whoami_usage,
    .common = MP_CLI_URL | MP_CLI_USER | MP_CLI_JSON,
    .on_option = on_option,
    .max_args = 0,
    .args_hint = "takes no arguments",
};

int mp_cli_whoami(int argc, char **argv)
{
    acct_opts_t o;
    int rc = begin(argc, argv, &whoami_spec, &o);
    if (rc >= 0)
        return rc;
    mpr_err_t e = {0};
    mpr_session_t s;
    if (mpr_session_open(&s, o.url, o.user, &e) != 0)
        return mpr_report(&e);
    json_t *me;
    if (mpr_http_json(&s, "GET", "/v1/me", NULL, &me, &e) != 0)
        return mpr_report(&e);
    if (o.json) {
        json_object_set_new(me, "url", json_string(s.url.url));
        json_object_set_new(me, "device_id", json_string(s.cred.device_id));
        mpr_print_json_line(stdout, me);
    } else {
        char name[64], display[256];
        mpr_clean_line(json_string_value(json_object_get(me, "username")), name, sizeof name);
        mpr_clean_line(json_string_value(json_object_get(me, "display_name")), display,
                       sizeof display);
        printf("%s (%s) on %s%s%s\n", name, display, s.url.url,
               json_is_true(json_object_get(me, "admin")) ? ", admin" : "",
               json_is_true(json_object_get(me, "guest")) ? ", guest" : "");
    }
    json_decref(me);
    return MP_CLI_OK;
}
