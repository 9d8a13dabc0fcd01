/* SMTP sends with libcurl on the libuv thread pool. At most MP_MAIL_PARALLEL
 * sends run at once (each holds a thread of the pool for up to
 * smtp_timeout, and the pool is shared with password hashing and the file
 * system); up to MP_MAIL_QUEUE_MAX more wait in a FIFO on the loop. */
#include "mail/mail.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"
#include "util/thread.h"

#define MP_MAIL_PARALLEL 2
#define MP_MAIL_QUEUE_MAX 64

typedef struct mp_mail_job {
    uv_work_t work;
    struct mp_mail_job *next; /* FIFO link while waiting */
    mp_mail_t *mail;
    char to[MP_EMAIL_MAX + 1];
    char *msg; /* the whole message, CRLF line ends */
    size_t msg_len, msg_off;
    bool ok;
    char err[CURL_ERROR_SIZE];
    mp_mail_done_fn cb;
    void *ud;
} mp_mail_job_t;

struct mp_mail {
    uv_loop_t *loop;
    const mp_config_t *cfg;
    mp_mail_job_t *head, *tail; /* waiting */
    size_t waiting;
    unsigned running;
    bool closing; /* freed by its owner; the last running job frees it */
};

bool mp_mail_global_init(void)
{
    static bool done;
    if (!done)
        done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return done;
}

mp_mail_t *mp_mail_new(uv_loop_t *loop, const mp_config_t *cfg)
{
    mp_mail_t *m = mp_calloc(1, sizeof *m);
    m->loop = loop;
    m->cfg = cfg;
    return m;
}

bool mp_mail_enabled(const mp_mail_t *mail)
{
    return mail != NULL && mail->cfg->smtp_url[0] != '\0';
}

size_t mp_mail_pending(const mp_mail_t *mail)
{
    return mail ? mail->waiting + mail->running : 0;
}

static void job_free(mp_mail_job_t *j)
{
    if (j->msg) {
        sodium_memzero(j->msg, j->msg_len); /* it carries a one-time code */
        mp_free(j->msg);
    }
    mp_free(j);
}

void mp_mail_free(mp_mail_t *mail)
{
    if (mail == NULL)
        return;
    while (mail->head) {
        mp_mail_job_t *j = mail->head;
        mail->head = j->next;
        job_free(j);
    }
    mail->tail = NULL;
    mail->waiting = 0;
    if (mail->running > 0)
        mail->closing = true;
    else
        mp_free(mail);
}

/* ---- the message ------------------------------------------------------------ */

/* Appends s to buf, turning every bare \n into \r\n. */
static void put_crlf(char **buf, size_t *len, size_t *cap, const char *s)
{
    for (; *s; s++) {
        if (*len + 3 > *cap) {
            *cap = *cap * 2 + 64;
            *buf = mp_realloc(*buf, *cap);
        }
        if (*s == '\n' && (*len == 0 || (*buf)[*len - 1] != '\r'))
            (*buf)[(*len)++] = '\r';
        (*buf)[(*len)++] = *s;
    }
    (*buf)[*len] = '\0';
}

/* The domain of an address (after the last @), or "localhost". */
static const char *addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at && at[1] ? at + 1 : "localhost";
}

char *mp_mail_format(const char *from, const char *to, const char *subject, const char *body,
                     long long now_s, const char *msgid_rand)
{
    /* Written out rather than strftime'd: %a and %b follow the locale. */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char head[1200];
    snprintf(head, sizeof head,
             "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n"
             "Message-ID: <%s@%s>\n"
             "From: %s\n"
             "To: %s\n"
             "Subject: %s\n"
             "MIME-Version: 1.0\n"
             "Content-Type: text/plain; charset=utf-8\n"
             "Content-Transfer-Encoding: 8bit\n"
             "\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec, msgid_rand, addr_domain(from), from, to, subject);
    size_t len = 0, cap = strlen(head) + strlen(body) + 64;
    char *buf = mp_malloc(cap);
    buf[0] = '\0';
    put_crlf(&buf, &len, &cap, head);
    put_crlf(&buf, &len, &cap, body);
    if (len < 2 || buf[len - 1] != '\n')
        put_crlf(&buf, &len, &cap, "\n");
    return buf;
}

/* ---- the send, on a thread of the pool ---------------------------------------- */

static size_t read_cb(char *out, size_t size, size_t nmemb, void *ud)
{
    mp_mail_job_t *j = ud;
    size_t room = size * nmemb, left = j->msg_len - j->msg_off;
    size_t n = left < room ? left : room;
    memcpy(out, j->msg + j->msg_off, n);
    j->msg_off += n;
    return n;
}

static void work_cb(uv_work_t *w)
{
    mp_thread_name("mp-pool"); /* libuv's pool runs the work of several modules */
    mp_mail_job_t *j = w->data;
    const mp_config_t *cfg = j->mail->cfg;
    char from[MP_EMAIL_MAX + 3], to[MP_EMAIL_MAX + 3];
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(j->err, sizeof j->err, "curl_easy_init failed");
        return;
    }
    snprintf(from, sizeof from, "<%s>", cfg->smtp_from);
    snprintf(to, sizeof to, "<%s>", j->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we are on a worker thread */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->smtp_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->smtp_timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, j);
    curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)j->msg_len);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, j->err);
    if (cfg->smtp_user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
        /* Credentials never travel in clear: smtp:// must upgrade (STARTTLS). */
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    } else {
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    }
    CURLcode rc = curl_easy_perform(c);
    j->ok = rc == CURLE_OK;
    if (!j->ok && j->err[0] == '\0')
        snprintf(j->err, sizeof j->err, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
}

static void start_next(mp_mail_t *m);

static void after_work_cb(uv_work_t *w, int status)
{
    mp_mail_job_t *j = w->data;
    mp_mail_t *m = j->mail;
    m->running--;
    if (m->closing) {
        job_free(j);
        if (m->running == 0)
            mp_free(m);
        return;
    }
    mp_err_t rc = MP_OK;
    if (status != 0 || !j->ok) {
        mp_log_warn("mail: sending to %s failed: %s", j->to, status ? "cancelled" : j->err);
        rc = MP_ERR_UNAVAILABLE;
    }
    mp_mail_done_fn cb = j->cb;
    void *ud = j->ud;
    job_free(j);
    start_next(m);
    cb(rc, ud);
}

static void start_next(mp_mail_t *m)
{
    while (m->head && m->running < MP_MAIL_PARALLEL) {
        mp_mail_job_t *j = m->head;
        m->head = j->next;
        if (m->head == NULL)
            m->tail = NULL;
        m->waiting--;
        j->work.data = j;
        m->running++;
        int rc = uv_queue_work(m->loop, &j->work, work_cb, after_work_cb);
        MP_ASSERT(rc == 0);
        (void)rc;
    }
}

static bool one_line(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

mp_err_t mp_mail_send(mp_mail_t *mail, const char *to, const char *subject, const char *body,
                      mp_mail_done_fn cb, void *ud)
{
    if (!mp_mail_enabled(mail))
        return MP_ERR_UNAVAILABLE;
    if (!one_line(to) || !one_line(subject) || strlen(to) > MP_EMAIL_MAX)
        return MP_ERR_BAD_REQUEST; /* no header injection */
    if (mail->waiting >= MP_MAIL_QUEUE_MAX)
        return MP_ERR_UNAVAILABLE;
    mp_mail_job_t *j = mp_calloc(1, sizeof *j);
    uint8_t rnd[12];
    char hex[sizeof rnd * 2 + 1];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    j->mail = mail;
    snprintf(j->to, sizeof j->to, "%s", to);
    j->msg = mp_mail_format(mail->cfg->smtp_from, to, subject, body, (long long)time(NULL), hex);
    j->msg_len = strlen(j->msg);
    j->cb = cb;
    j->ud = ud;
    if (mail->tail)
        mail->tail->next = j;
    else
        mail->head = j;
    mail->tail = j;
    mail->waiting++;
    start_next(mail);
    return MP_OK;
}

/* ---- addresses ---------------------------------------------------------------- */

static bool addr_char_ok(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f)
        return false; /* spaces and controls */
    return strchr("<>()[]\\,;:\"", c) == NULL;
}

mp_err_t mp_mail_addr_norm(const char *in, size_t len, char out[MP_EMAIL_MAX + 1])
{
    while (len > 0 && (in[0] == ' ' || in[0] == '\t' || in[0] == '\r' || in[0] == '\n'))
        in++, len--;
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\r' ||
                       in[len - 1] == '\n'))
        len--;
    if (len == 0 || len > MP_EMAIL_MAX)
        return MP_ERR_BAD_EMAIL;
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '@') {
            if (at != len)
                return MP_ERR_BAD_EMAIL; /* a second @ */
            at = i;
        } else if (!addr_char_ok(c)) {
            return MP_ERR_BAD_EMAIL;
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
    }
    out[len] = '\0';
    if (at == len || at == 0 || at + 1 == len)
        return MP_ERR_BAD_EMAIL;
    const char *domain = out + at + 1;
    size_t dlen = len - at - 1;
    const char *dot = strchr(domain, '.');
    if (dot == NULL || domain[0] == '.' || domain[dlen - 1] == '.' || strstr(domain, "..") ||
        out[0] == '.' || out[at - 1] == '.')
        return MP_ERR_BAD_EMAIL;
    return MP_OK;
}
