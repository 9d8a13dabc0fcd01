/* Errors, server URLs and the small helpers of the client commands: message
 * ids, passwords, times. */
#include "remote/remote.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

int mpr_fail(mpr_err_t *e, int exit, const char *code, const char *fmt, ...)
{
    e->exit = exit;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int mpr_report(const mpr_err_t *e)
{
    fprintf(stderr, "magpie: %s: %s\n", e->code[0] ? e->code : "error", e->msg);
    return e->exit != 0 ? e->exit : MPR_EXIT_REFUSED;
}

/* ---- URLs ---------------------------------------------------------------------- */

const char *mpr_url_choose(const char *flag)
{
    if (flag != NULL && flag[0] != '\0')
        return flag;
    const char *env = getenv("MAGPIE_URL");
    if (env != NULL && env[0] != '\0')
        return env;
    return MPR_DEFAULT_URL;
}

int mpr_url_parse(const char *url, mpr_url_t *out, mpr_err_t *e)
{
    memset(out, 0, sizeof *out);
    const char *p = url;
    if (strncmp(p, "https://", 8) == 0) {
        out->tls = true;
        p += 8;
    } else if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        return mpr_fail(e, MPR_EXIT_USAGE, "usage",
                        "%s: the URL must start with http:// or https://", url);
    }
    const char *host = p, *host_end;
    if (*p == '[') { /* [IPv6]:port */
        host = ++p;
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s: unclosed [ in the host", url);
        p = host_end + 1;
    } else {
        while (*p != '\0' && *p != ':' && *p != '/')
            p++;
        host_end = p;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof out->host)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s: no host", url);
    memcpy(out->host, host, hl);
    out->host[hl] = '\0';
    out->port = out->tls ? 443 : 80;
    if (*p == ':') {
        char *end;
        errno = 0;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || errno != 0 || port < 1 || port > 65535)
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s: bad port", url);
        out->port = (int)port;
        p = end;
    }
    if (*p == '/')
        p++;
    if (*p != '\0')
        return mpr_fail(e, MPR_EXIT_USAGE, "usage",
                        "%s: give the server's address only (http[s]://HOST:PORT)", url);
    bool v6 = strchr(out->host, ':') != NULL;
    for (char *c = out->host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* The scheme stays in the key: credentials stored for http://h:p are not
     * sent to https://h:p, nor the other way round. */
    snprintf(out->url, sizeof out->url, "%s://%s%s%s:%d", out->tls ? "https" : "http",
             v6 ? "[" : "", out->host, v6 ? "]" : "", out->port);
    return 0;
}

/* ---- small helpers -------------------------------------------------------------- */

void mpr_msg_id(char out[24])
{
    uint64_t ms = (uint64_t)mp_now_ms();
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        /* getrandom on Linux >= 3.17 only fails for tiny reads interrupted
         * by a signal before the pool is ready: the monotonic clock's
         * nanoseconds then. */
        r = (uint32_t)mp_mono_ns();
    snprintf(out, 24, "cli-%011" PRIx64 "%08" PRIx32, ms & (uint64_t)0xfffffffffff, r);
}

/* The terminal's settings while echo is off, for the signal handler. */
static struct termios saved_tty;
static volatile sig_atomic_t saved_fd = -1;

/* Ctrl-C at the prompt: echo back on before dying of the signal. */
static void restore_and_die(int sig)
{
    if (saved_fd >= 0)
        tcsetattr(saved_fd, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line into out; -1 when f ends first, -2 when it does not fit. */
static int read_line(FILE *f, char *out, size_t cap)
{
    if (fgets(out, (int)cap, f) == NULL)
        return -1;
    size_t n = strcspn(out, "\r\n");
    bool whole = out[n] != '\0' || feof(f);
    out[n] = '\0';
    return whole ? 0 : -2;
}

/* One line from the terminal without echo. The terminal is /dev/tty, so a
 * command whose standard input is data (send) can still ask. */
static int ask_noecho(const char *prompt, char *out, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return -1;
    int fd = fileno(tty);
    bool restore = tcgetattr(fd, &saved_tty) == 0;
    struct sigaction sa = {.sa_handler = restore_and_die}, old_int, old_term;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (restore) {
        struct termios quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        saved_fd = fd;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    int rc = read_line(tty, out, cap);
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &saved_tty);
        saved_fd = -1;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    fclose(tty);
    return rc;
}

static int password_from_file(const char *path, char *out, size_t cap, mpr_err_t *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "cannot read %s: %s", path, strerror(errno));
    int rc = read_line(f, out, cap);
    if (f != stdin)
        fclose(f);
    if (rc == -2)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "the password in %s is too long", path);
    if (rc != 0 || out[0] == '\0')
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "%s holds no password", path);
    return 0;
}

static int read_password(const char *path, const char *prompt, bool twice, char *out, size_t cap,
                         mpr_err_t *e)
{
    if (path != NULL)
        return password_from_file(path, out, cap, e);
    const char *env = getenv("MAGPIE_PASSWORD");
    if (env != NULL && env[0] != '\0') {
        if ((size_t)snprintf(out, cap, "%s", env) >= cap)
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "MAGPIE_PASSWORD is too long");
        return 0;
    }
    int rc = ask_noecho(prompt, out, cap);
    if (rc == -2)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage", "the password is too long");
    if (rc != 0)
        return mpr_fail(e, MPR_EXIT_USAGE, "usage",
                        "no password given: use --password-file FILE, the MAGPIE_PASSWORD "
                        "variable, or run on a terminal to be asked");
    if (twice) {
        char again[1100];
        if (ask_noecho("Again: ", again, sizeof again) != 0 || strcmp(again, out) != 0) {
            explicit_bzero(again, sizeof again);
            explicit_bzero(out, cap);
            return mpr_fail(e, MPR_EXIT_USAGE, "usage", "the passwords differ");
        }
        explicit_bzero(again, sizeof again);
    }
    return 0;
}

int mpr_read_password(const char *path, const char *prompt, char *out, size_t cap, mpr_err_t *e)
{
    return read_password(path, prompt, false, out, cap, e);
}

int mpr_read_new_password(const char *path, const char *prompt, char *out, size_t cap, mpr_err_t *e)
{
    return read_password(path, prompt, true, out, cap, e);
}

void mpr_format_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000), now = time(NULL);
    struct tm tm, tn;
    localtime_r(&t, &tm);
    localtime_r(&now, &tn);
    if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
        strftime(out, cap, "%H:%M", &tm);
    else
        strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
}

int mpr_urlencode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (o + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return 0;
}
