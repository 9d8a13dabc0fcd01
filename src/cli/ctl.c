/* The client end of the control socket (cli/ctl.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ctl.h"
#include "config/config.h"

int mp_cli_ctl_data_dir(const char *prog, const char *data, const char *config, char *out,
                        size_t outlen)
{
    mp_config_t cfg;
    char err[1024];
    mp_config_defaults(&cfg);
    char *args[] = {"admin", "--data", (char *)data, NULL};
    const char *path = config != NULL ? config : getenv("MAGPIE_CONFIG");
    if (path != NULL && path[0] == '\0')
        path = NULL;
    if (mp_config_load(&cfg, path, data != NULL ? 3 : 1, args, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    snprintf(out, outlen, "%s", cfg.data_dir);
    return 0;
}

void mp_cli_ctl_close(mp_cli_ctl_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int mp_cli_ctl_open(mp_cli_ctl_t *c)
{
    char path[1100];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(path, sizeof path, "%s/" MP_CTL_SOCKET_NAME, c->dir);
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "%s: the socket path %s is too long for a Unix socket\n", c->prog, path);
        return MP_CLI_OFFLINE;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return 0;
    int e = errno;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (e == ENOENT || e == ECONNREFUSED)
        fprintf(stderr, "%s: no server is running with data directory %s (cannot connect to %s)\n",
                c->prog, c->dir, path);
    else
        fprintf(stderr, "%s: cannot connect to %s: %s\n", c->prog, path, strerror(e));
    return MP_CLI_OFFLINE;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

json_t *mp_cli_ctl_call(mp_cli_ctl_t *c, json_t *req, int timeout_ms)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    int rc = n <= MP_CTL_LINE_MAX ? write_all(c->fd, text, n) : -1;
    if (rc == 0)
        rc = write_all(c->fd, "\n", 1);
    /* The password may be in there. */
    memset(text, 0, n);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot send the request: %s\n", c->prog, strerror(errno));
        return NULL;
    }
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL) {
            json_error_t jerr;
            json_t *ans = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &jerr);
            c->len -= (size_t)(nl - c->buf) + 1;
            memmove(c->buf, nl + 1, c->len);
            if (!json_is_object(ans)) {
                fprintf(stderr, "%s: the server's answer is not a JSON object\n", c->prog);
                json_decref(ans);
                return NULL;
            }
            return ans;
        }
        if (c->len > MP_CTL_LINE_MAX) {
            fprintf(stderr, "%s: the server's answer is too long\n", c->prog);
            return NULL;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            fprintf(stderr, "%s: no answer from the server within %d s\n", c->prog,
                    timeout_ms / 1000);
            return NULL;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr,
                    "%s: the server closed the connection without answering (is it shutting "
                    "down?)\n",
                    c->prog);
            return NULL;
        }
        c->len += (size_t)r;
    }
}

int mp_cli_ctl_answer_code(const char *prog, const json_t *ans)
{
    if (json_is_true(json_object_get(ans, "ok")))
        return MP_CLI_OK;
    json_t *e = json_object_get(ans, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    fprintf(stderr, "%s: %s (%s)\n", prog, msg ? msg : "refused", code ? code : "error");
    return MP_CLI_FAIL;
}
