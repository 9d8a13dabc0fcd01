/* Server configuration: ONE table describes every key (type, limits, default,
 * help); defaults, the INI file, the environment, flags, --print-config and
 * --help are all driven by it. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"
#include "util/log.h"

typedef enum {
    K_STRING,   /* char[] field */
    K_LISTEN,   /* HOST:PORT into listen_host + listen_port */
    K_UINT,     /* unsigned field, plain decimal */
    K_SIZE,     /* size_t field, bytes with optional k/m/g suffix */
    K_DURATION, /* unsigned or size_t field, milliseconds with optional ms/s/m/h/d suffix */
    K_LOGLEVEL, /* int field: debug|info|warn|error|off */
    K_REGISTRATION,
    K_GUESTS,
    K_BOOL,       /* bool field: on|off|true|false|yes|no|1|0 */
    K_SMTP_URL,   /* char[] field: empty, smtp://... or smtps://... */
    K_DATABASE,   /* mp_database_t field: sqlite|postgres */
    K_BUS,        /* mp_bus_kind_t field: none|nats */
    K_LOGFORMAT,  /* bool field log_json: text|json */
    K_LISTEN_OPT, /* char[] field: empty, or HOST:PORT as for listen (checked, kept as text) */
} kind_t;

typedef struct {
    const char *name;
    kind_t kind;
    size_t offset, size;
    uint64_t min, max; /* numeric kinds only */
    const char *def;   /* default, in the same string form a user would write */
    const char *help;
    bool secret; /* masked by --print-config */
} cfg_key_t;

#define FIELD(f) offsetof(mp_config_t, f), sizeof(((mp_config_t *)0)->f)
#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)
#define HOUR_MS 3600000ULL

static const cfg_key_t keys[] = {
    {"listen", K_LISTEN, FIELD(listen_host), 0, 0, "127.0.0.1:8080",
     "address to listen on: IPv4:PORT, localhost:PORT or [IPv6]:PORT; port 0 = any free port",
     false},
    {"data", K_STRING, FIELD(data_dir), 0, 0, "./data",
     "data directory (database, secrets); created with mode 0700 if missing", false},
    {"database", K_DATABASE, FIELD(database), 0, 0, "sqlite",
     "where state is kept: sqlite (DATA/magpie.db, one node) or postgres (database_url, any "
     "number of nodes)",
     false},
    {"database_url", K_STRING, FIELD(database_url), 0, 0, "",
     "PostgreSQL connection string when database = postgres, e.g. "
     "postgresql://magpie@db.example/magpie",
     true},
    {"bus", K_BUS, FIELD(bus), 0, 0, "none",
     "how nodes hand live events to each other: none (one node) or nats (nats_url)", false},
    {"nats_url", K_STRING, FIELD(nats_url), 0, 0, "",
     "NATS server(s) when bus = nats, e.g. nats://127.0.0.1:4222 (comma-separated for several)",
     true},
    {"log_level", K_LOGLEVEL, FIELD(log_level), 0, 0, "info",
     "log verbosity: debug, info, warn, error or off", false},
    {"log_format", K_LOGFORMAT, FIELD(log_json), 0, 0, "text",
     "log lines as text, or json: one object per line (time, level, msg, and the fields of the "
     "line, e.g. request_id, user_id, route, status, duration_ms)",
     false},
    {"access_log", K_BOOL, FIELD(access_log), 0, 0, "on",
     "log every HTTP request (at level info): method, path without its query, status, bytes, "
     "duration, request id, user id",
     false},
    /* metrics */
    {"metrics", K_BOOL, FIELD(metrics), 0, 0, "on",
     "answer GET /metrics (Prometheus text format; counts only, no user data)", false},
    {"metrics_listen", K_LISTEN_OPT, FIELD(metrics_listen), 0, 0, "",
     "serve /metrics on this HOST:PORT only (a second listener) instead of on listen", false},
    /* TLS */
    {"tls_cert", K_STRING, FIELD(tls_cert), 0, 0, "",
     "PEM file with the server certificate, then its intermediates: HTTPS and WSS on listen "
     "(reloaded on SIGHUP)",
     false},
    {"tls_key", K_STRING, FIELD(tls_key), 0, 0, "",
     "PEM file with the private key of tls_cert (reloaded on SIGHUP)", false},
    {"tls_redirect_listen", K_LISTEN_OPT, FIELD(tls_redirect_listen), 0, 0, "",
     "also listen on this HOST:PORT for plain HTTP and answer every request with a redirect to "
     "https:// (needs tls_cert)",
     false},
    {"node_id", K_UINT, FIELD(node_id), 0, 1023, "0",
     "this node's number (0-1023), part of every id; unique per cluster node", false},
    {"max_body", K_SIZE, FIELD(max_body), 1, GIB, "1m",
     "largest HTTP request body accepted (bytes, k/m/g suffix allowed)", false},
    {"max_header", K_SIZE, FIELD(max_header), 256, 16 * MIB, "16k",
     "largest HTTP request line plus headers (bytes)", false},
    {"header_timeout", K_DURATION, FIELD(header_timeout_ms), 1, 24 * HOUR_MS, "10s",
     "time allowed for a request's headers to arrive (ms, or with s/m suffix)", false},
    {"idle_timeout", K_DURATION, FIELD(idle_timeout_ms), 1, 24 * HOUR_MS, "60s",
     "idle keep-alive connections are closed after this long", false},
    {"cors_origins", K_STRING, FIELD(cors_origins), 0, 0, "",
     "comma-separated origins allowed by CORS, or * for any; empty = none", false},
    {"ws_origins", K_STRING, FIELD(ws_origins), 0, 0, "",
     "comma-separated extra origins allowed to open WebSockets (same host always allowed)", false},
    {"ws_max_message", K_SIZE, FIELD(ws_max_message), 128, GIB, "64k",
     "largest WebSocket message accepted; larger ones close the connection (1009)", false},
    {"ws_ping_interval", K_DURATION, FIELD(ws_ping_interval_ms), 10, 24 * HOUR_MS, "30s",
     "server ping interval; a connection missing 2 pongs is dropped", false},
    {"ws_auth_timeout", K_DURATION, FIELD(ws_auth_timeout_ms), 10, 24 * HOUR_MS, "10s",
     "a WebSocket that has not authenticated within this time is closed (1008)", false},
    {"ws_max_queue", K_SIZE, FIELD(ws_max_queue), 1, 16 * GIB, "1m",
     "bytes queued to one slow reader before it is disconnected", false},
    {"io_threads", K_UINT, FIELD(io_threads), 0, 64, "0",
     "threads that write WebSocket output when one flush goes to many sockets, the loop's "
     "included (0 = one per core, at most 8; 1 = the loop alone)",
     false},
    {"registration", K_REGISTRATION, FIELD(registration), 0, 0, "open",
     "who may register: open (anyone), invite (with an invite code), email (with a verified e-mail "
     "address) or closed (only admins create accounts)",
     false},
    {"login_rate", K_UINT, FIELD(login_rate_per_min), 1, 1000000, "10",
     "login attempts allowed per minute per username and per IP address", false},
    {"access_token_ttl", K_UINT, FIELD(access_token_ttl_s), 10, 30 * 86400, "900",
     "lifetime of an access token in seconds", false},
    {"send_rate", K_UINT, FIELD(send_rate), 1, 1000000, "20",
     "messages a user may send per second (sustained)", false},
    {"send_burst", K_UINT, FIELD(send_burst), 1, 1000000, "50",
     "messages a user may send in a burst above send_rate", false},
    {"group_max_members", K_UINT, FIELD(group_max_members), 1, 1000000, "10000",
     "most members a group may have (adding or joining beyond answers group_full)", false},
    {"world_slow_mode", K_DURATION, FIELD(world_slow_mode_ms), 0, 24 * HOUR_MS, "1000",
     "slow mode of the world room: minimum time between two posts of one user (0 = off)", false},
    {"guests", K_GUESTS, FIELD(guests), 0, 0, "write",
     "guest accounts: off (none), read (read the world room) or write (read and post)", false},
    {"guest_ttl", K_UINT, FIELD(guest_ttl_s), 1, 365 * 86400, "86400",
     "guests are deleted after this many seconds without activity", false},
    {"guest_sweep_interval", K_DURATION, FIELD(guest_sweep_interval_ms), 10, 24 * HOUR_MS, "60000",
     "how often to look for inactive guests (ms; at most guest_ttl/4 is used)", false},
    {"guest_rate", K_UINT, FIELD(guest_rate_per_min), 1, 1000000, "10",
     "guest accounts that one IP address may create per minute", false},
    {"max_connections", K_UINT, FIELD(max_connections), 0, 10000000, "10000",
     "open connections server-wide; more are answered 503 and closed (0 = open-file limit)", false},
    {"max_connections_per_ip", K_UINT, FIELD(max_connections_per_ip), 0, 10000000, "1000",
     "open connections per client IPv4 address or IPv6 /64; more get 429 (0 = no limit)", false},
    {"max_ws_per_user", K_UINT, FIELD(max_ws_per_user), 0, 10000000, "64",
     "authenticated WebSockets per user; more are refused with 429 (0 = no limit)", false},
    {"max_ws_per_device", K_UINT, FIELD(max_ws_per_device), 0, 10000000, "32",
     "authenticated WebSockets per device (one sign-in); more are refused with 429 (0 = no limit)",
     false},
    {"conn_rate_per_ip", K_UINT, FIELD(conn_rate_per_ip), 0, 10000000, "0",
     "new connections a second from one client address (IPv4, or IPv6 /64), with a burst of as "
     "many; more are answered 429 with Retry-After and closed (0 = no limit)",
     false},
    {"trusted_proxies", K_STRING, FIELD(trusted_proxies), 0, 0, "",
     "reverse proxies (comma-separated addresses or CIDR blocks) whose X-Forwarded-For names the "
     "client: per-address limits and logs then use that address, and the proxy's own connections "
     "are not capped per address",
     false},
    {"max_body_total", K_SIZE, FIELD(max_body_total), 0, 64 * GIB, "64m",
     "request body bytes buffered server-wide; a body over it gets 503 (0 = no limit)", false},
    {"allowed_hosts", K_STRING, FIELD(allowed_hosts), 0, 0, "",
     "comma-separated Host names (optionally NAME:PORT) accepted; empty = any (see docs)", false},
    {"max_output_total", K_SIZE, FIELD(max_output_total), 64 * 1024, 64 * GIB, "64m",
     "output bytes queued to all clients before connections that lag stop being read", false},
    {"register_rate", K_UINT, FIELD(register_rate_per_min), 1, 1000000, "5",
     "registrations that one IP address may make per minute", false},
    {"edit_window", K_DURATION, FIELD(edit_window_ms), 0, 30 * 24 * HOUR_MS, "48h",
     "how long after sending a user may edit a message (0 = any time)", false},
    {"recall_window", K_DURATION, FIELD(recall_window_ms), 0, 30 * 24 * HOUR_MS, "2m",
     "how long after sending a user may delete a message for everyone (0 = any time)", false},
    {"max_reaction_kinds", K_UINT, FIELD(max_reaction_kinds), 1, 1000, "20",
     "distinct reaction emoji one message may have", false},
    {"search_index", K_BOOL, FIELD(search_index), 0, 0, "on",
     "keep the full-text search index (off: search still works by scanning, more slowly)", false},
    {"world_moderators", K_STRING, FIELD(world_moderators), 0, 0, "",
     "comma-separated usernames who may delete any message and pin in the world room", false},
    {"user_search_rate", K_UINT, FIELD(user_search_rate), 1, 1000000, "1",
     "user searches one user may make per second (sustained)", false},
    {"user_search_burst", K_UINT, FIELD(user_search_burst), 1, 1000000, "30",
     "user searches one user may make in a burst above user_search_rate", false},
    {"smtp_url", K_SMTP_URL, FIELD(smtp_url), 0, 0, "",
     "SMTP server for e-mail: smtp://HOST:PORT (STARTTLS when offered; required with smtp_user) "
     "or smtps://HOST:PORT; empty = send no e-mail",
     false},
    {"smtp_user", K_STRING, FIELD(smtp_user), 0, 0, "",
     "user name for SMTP authentication (empty = none)", false},
    {"smtp_password", K_STRING, FIELD(smtp_password), 0, 0, "", "password for SMTP authentication",
     true},
    {"smtp_from", K_STRING, FIELD(smtp_from), 0, 0, "magpie@localhost",
     "sender address of the e-mails the server sends", false},
    {"smtp_timeout", K_DURATION, FIELD(smtp_timeout_ms), 100, HOUR_MS, "10s",
     "time allowed to connect to the SMTP server, and for a whole send", false},
    {"email_code_ttl", K_UINT, FIELD(email_code_ttl_s), 1, 7 * 86400, "900",
     "seconds a mailed verification or password-reset code stays valid", false},
    {"email_pending_ttl", K_UINT, FIELD(email_pending_ttl_s), 1, 365 * 86400, "86400",
     "seconds an account waits for its e-mail verification before it is deleted", false},
    {"email_resend_interval", K_DURATION, FIELD(email_resend_interval_ms), 0, 24 * HOUR_MS, "60s",
     "least time between two code mails to one account (resend, password reset)", false},
    {"account_delete_grace", K_DURATION, FIELD(account_delete_grace_ms), 1, 365 * 24 * HOUR_MS,
     "30d", "how long a deleted account's username stays reserved before anyone may take it",
     false},
    {"files_dir", K_STRING, FIELD(files_dir), 0, 0, "",
     "directory of uploaded files and their renditions; empty = DATA/files", false},
    {"max_upload", K_SIZE, FIELD(max_upload), 1, 64 * GIB, "100m",
     "largest file one upload may carry (bytes, k/m/g suffix allowed)", false},
    {"upload_quota", K_SIZE, FIELD(upload_quota), 0, 1024 * 1024 * GIB, "1g",
     "bytes of uploads each user may keep (counted per upload); 0 = no quota", false},
    {"upload_rate", K_UINT, FIELD(upload_rate), 1, 1000000, "30",
     "uploads one user may start per minute", false},
    {"upload_burst", K_UINT, FIELD(upload_burst), 1, 1000000, "10",
     "uploads one user may start in a burst above upload_rate", false},
    {"upload_expiry", K_DURATION, FIELD(upload_expiry_ms), 1000, 30 * 24 * HOUR_MS, "24h",
     "how long a resumable upload may stay unfinished before its bytes are dropped", false},
    {"file_grace", K_DURATION, FIELD(file_grace_ms), 0, 365 * 24 * HOUR_MS, "24h",
     "how long an uploaded file that no message or avatar references is kept", false},
    {"file_sweep_interval", K_DURATION, FIELD(file_sweep_interval_ms), 100, 24 * HOUR_MS, "10m",
     "how often the sweep looks for unreferenced files and expired uploads", false},
    {"max_image_pixels", K_UINT, FIELD(max_image_pixels), 1, 1000000000, "50000000",
     "largest image (width x height x frames) decoded; larger ones are refused unread", false},
    {"media_timeout", K_DURATION, FIELD(media_timeout_ms), 100, HOUR_MS, "30s",
     "time allowed to process one uploaded file (thumbnails, waveform)", false},
    {"media_memory", K_SIZE, FIELD(media_memory), 16 * MIB, 64 * GIB, "512m",
     "memory image processing may use at once, over all workers", false},
    {"media_workers", K_UINT, FIELD(media_workers), 1, 64, "2",
     "files processed at once (each on a thread of the pool)", false},
    {"signed_url_ttl", K_DURATION, FIELD(signed_url_ttl_ms), 1000, 24 * HOUR_MS, "10m",
     "how long a signed download URL stays valid", false},
    {"web", K_BOOL, FIELD(web), 0, 0, "on", "serve the web client at / (off: the API alone)",
     false},
    {"web_root", K_STRING, FIELD(web_root), 0, 0, "",
     "serve the web client from this directory instead of the copy built into the binary", false},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static void *field_ptr(mp_config_t *cfg, const cfg_key_t *k)
{
    return (char *)cfg + k->offset;
}

static const void *field_cptr(const mp_config_t *cfg, const cfg_key_t *k)
{
    return (const char *)cfg + k->offset;
}

static const cfg_key_t *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
            return &keys[i];
    return NULL;
}

static int errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- parsers: each returns 0, or -1 with *expected describing the form ---- */

static int parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

static int mul_check(uint64_t v, uint64_t m, uint64_t *out)
{
    if (m != 0 && v > UINT64_MAX / m)
        return -1;
    *out = v * m;
    return 0;
}

static int parse_uint(const char *s, uint64_t *out)
{
    if (parse_digits(&s, out) != 0 || *s != '\0')
        return -1;
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mult = 1;
    if (parse_digits(&s, &v) != 0)
        return -1;
    switch (tolower((unsigned char)*s)) {
    case '\0':
        break;
    case 'k':
        mult = KIB;
        s++;
        break;
    case 'm':
        mult = MIB;
        s++;
        break;
    case 'g':
        mult = GIB;
        s++;
        break;
    default:
        return -1;
    }
    if (*s != '\0')
        return -1;
    return mul_check(v, mult, out);
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off", "false",
                                                                                "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int parse_duration(const char *s, uint64_t *out)
{
    uint64_t v, mult;
    if (parse_digits(&s, &v) != 0)
        return -1;
    if (strcmp(s, "") == 0 || strcmp(s, "ms") == 0)
        mult = 1;
    else if (strcmp(s, "s") == 0)
        mult = 1000;
    else if (strcmp(s, "m") == 0)
        mult = 60000;
    else if (strcmp(s, "h") == 0)
        mult = 3600000;
    else if (strcmp(s, "d") == 0)
        mult = 86400000;
    else
        return -1;
    return mul_check(v, mult, out);
}

/* HOST:PORT where HOST is dotted IPv4, "localhost" (stored as 127.0.0.1 so that
 * the listener needs no resolver) or [IPv6] (stored without brackets). */
static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    char h[64];
    unsigned char buf[16];
    int family = AF_INET;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof h)
            return -1;
        memcpy(h, s + 1, (size_t)(end - s - 1));
        h[end - s - 1] = '\0';
        colon = end + 1;
        family = AF_INET6;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof h)
            return -1;
        memcpy(h, s, (size_t)(colon - s));
        h[colon - s] = '\0';
    }
    uint64_t p;
    if (parse_uint(colon + 1, &p) != 0 || p > 65535)
        return -1;
    if (family == AF_INET && strcmp(h, "localhost") == 0)
        strcpy(h, "127.0.0.1");
    if (inet_pton(family, h, buf) != 1 || strlen(h) >= hostlen)
        return -1;
    strcpy(host, h);
    *port = (int)p;
    return 0;
}

static void store_uint(mp_config_t *cfg, const cfg_key_t *k, uint64_t v)
{
    if (k->size == sizeof(size_t))
        *(size_t *)field_ptr(cfg, k) = (size_t)v;
    else
        *(unsigned *)field_ptr(cfg, k) = (unsigned)v;
}

static uint64_t load_uint(const mp_config_t *cfg, const cfg_key_t *k)
{
    if (k->size == sizeof(size_t))
        return *(const size_t *)field_cptr(cfg, k);
    return *(const unsigned *)field_cptr(cfg, k);
}

static const char *expectation(const cfg_key_t *k, char *buf, size_t len)
{
    switch (k->kind) {
    case K_STRING:
        snprintf(buf, len, "a string of at most %zu bytes", k->size - 1);
        break;
    case K_LISTEN:
        snprintf(buf, len, "HOST:PORT with an IPv4 address, localhost or [IPv6], port 0-65535");
        break;
    case K_LISTEN_OPT:
        snprintf(buf, len,
                 "empty, or HOST:PORT with an IPv4 address, localhost or [IPv6], port 0-65535");
        break;
    case K_UINT:
        snprintf(buf, len, "an integer from %llu to %llu", (unsigned long long)k->min,
                 (unsigned long long)k->max);
        break;
    case K_SIZE:
        snprintf(buf, len, "a size in bytes from %llu to %llu (suffix k, m or g allowed)",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        break;
    case K_DURATION:
        snprintf(buf, len, "a duration in ms from %llu to %llu (suffix ms, s, m, h or d allowed)",
                 (unsigned long long)k->min, (unsigned long long)k->max);
        break;
    case K_LOGLEVEL:
        snprintf(buf, len, "one of debug, info, warn, error, off");
        break;
    case K_REGISTRATION:
        snprintf(buf, len, "open or closed");
        break;
    case K_GUESTS:
        snprintf(buf, len, "off, read or write");
        break;
    case K_DATABASE:
        snprintf(buf, len, "sqlite or postgres");
        break;
    case K_BUS:
        snprintf(buf, len, "none or nats");
        break;
    case K_LOGFORMAT:
        snprintf(buf, len, "text or json");
        break;
    case K_BOOL:
        snprintf(buf, len, "on or off");
        break;
    case K_SMTP_URL:
        snprintf(buf, len,
                 "empty, or smtp://HOST[:PORT] or smtps://HOST[:PORT] (at most %zu bytes)",
                 k->size - 1);
        break;
    }
    return buf;
}

static int apply(mp_config_t *cfg, const cfg_key_t *k, const char *value)
{
    uint64_t v = 0;
    int lvl;
    switch (k->kind) {
    case K_SMTP_URL:
        if (value[0] != '\0' && strncmp(value, "smtp://", 7) != 0 &&
            strncmp(value, "smtps://", 8) != 0)
            return -1;
        /* fall through */
    case K_STRING:
        if (strlen(value) >= k->size)
            return -1;
        strcpy(field_ptr(cfg, k), value);
        return 0;
    case K_LISTEN:
        return parse_listen(value, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port);
    case K_LISTEN_OPT: {
        char host[sizeof cfg->listen_host];
        int port;
        if (strlen(value) >= k->size ||
            (value[0] != '\0' && parse_listen(value, host, sizeof host, &port) != 0))
            return -1;
        strcpy(field_ptr(cfg, k), value);
        return 0;
    }
    case K_UINT:
    case K_SIZE:
    case K_DURATION:
        if ((k->kind == K_UINT   ? parse_uint(value, &v)
             : k->kind == K_SIZE ? parse_size(value, &v)
                                 : parse_duration(value, &v)) != 0)
            return -1;
        if (v < k->min || v > k->max)
            return -1;
        store_uint(cfg, k, v);
        return 0;
    case K_LOGLEVEL:
        if ((lvl = mp_log_level_parse(value)) < 0)
            return -1;
        cfg->log_level = lvl;
        return 0;
    case K_REGISTRATION:
        if (strcmp(value, "open") == 0)
            cfg->registration = MP_REG_OPEN;
        else if (strcmp(value, "invite") == 0)
            cfg->registration = MP_REG_INVITE;
        else if (strcmp(value, "email") == 0)
            cfg->registration = MP_REG_EMAIL;
        else if (strcmp(value, "closed") == 0)
            cfg->registration = MP_REG_CLOSED;
        else
            return -1;
        return 0;
    case K_GUESTS:
        if (strcmp(value, "off") == 0)
            cfg->guests = MP_GUESTS_OFF;
        else if (strcmp(value, "read") == 0)
            cfg->guests = MP_GUESTS_READ;
        else if (strcmp(value, "write") == 0)
            cfg->guests = MP_GUESTS_WRITE;
        else
            return -1;
        return 0;
    case K_BOOL:
        return parse_bool(value, field_ptr(cfg, k));
    case K_DATABASE:
        if (strcmp(value, "sqlite") == 0)
            cfg->database = MP_DB_SQLITE;
        else if (strcmp(value, "postgres") == 0)
            cfg->database = MP_DB_POSTGRES;
        else
            return -1;
        return 0;
    case K_BUS:
        if (strcmp(value, "none") == 0)
            cfg->bus = MP_BUS_NONE;
        else if (strcmp(value, "nats") == 0)
            cfg->bus = MP_BUS_NATS;
        else
            return -1;
        return 0;
    case K_LOGFORMAT:
        if (strcmp(value, "text") == 0)
            cfg->log_json = false;
        else if (strcmp(value, "json") == 0)
            cfg->log_json = true;
        else
            return -1;
        return 0;
    }
    return -1;
}

int mp_config_set(mp_config_t *cfg, const char *key, const char *value, const char *source,
                  char *err, size_t errlen)
{
    const cfg_key_t *k = find_key(key, strlen(key));
    if (k == NULL)
        return errorf(err, errlen, "config: unknown key \"%s\" (from %s); see magpie serve --help",
                      key, source);
    if (apply(cfg, k, value) != 0) {
        char exp[160];
        /* Echo a long value only in part so that the error stays readable. */
        int shown = strlen(value) > 80 ? 64 : 80;
        return errorf(err, errlen, "config: bad value \"%.*s%s\" for %s (from %s): expected %s",
                      shown, value, shown == 64 ? "..." : "", k->name, source,
                      expectation(k, exp, sizeof exp));
    }
    return 0;
}

void mp_config_defaults(mp_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++) {
        /* The defaults are written in user syntax and parsed like user input,
         * so the table cannot disagree with itself. */
        if (apply(cfg, &keys[i], keys[i].def) != 0)
            abort();
    }
}

/* ---- the INI file ------------------------------------------------------- */

typedef struct {
    mp_config_t *cfg;
    const char *path;
    FILE *fp;
    int line;      /* line most recently (partly) read by the reader */
    int line_open; /* that line's newline has not been read yet */
    int failed;    /* first error already recorded in err */
    char *err;
    size_t errlen;
} file_ctx_t;

/* inih's handler gets no line number, so the reader counts lines itself. inih
 * may read one long line in several chunks; the handler always runs right after
 * the chunk that ends its line. */
static char *file_reader(char *str, int num, void *stream)
{
    file_ctx_t *fc = stream;
    char *r = fgets(str, num, fc->fp);
    if (r == NULL)
        return NULL;
    size_t n = strlen(r);
    if (fc->line_open == 0)
        fc->line++;
    fc->line_open = n == 0 || r[n - 1] != '\n';
    return r;
}

static int file_handler(void *user, const char *section, const char *name, const char *value)
{
    file_ctx_t *fc = user;
    char source[1200];
    if (fc->failed)
        return 0;
    snprintf(source, sizeof source, "file %s:%d", fc->path, fc->line);
    if (section[0] != '\0' && strcmp(section, "magpie") != 0) {
        fc->failed = 1;
        errorf(fc->err, fc->errlen,
               "config: key \"%s\" in unknown section [%s] (from %s); put keys at the top "
               "level or in [magpie]",
               name, section, source);
        return 0;
    }
    if (mp_config_set(fc->cfg, name, value, source, fc->err, fc->errlen) != 0) {
        fc->failed = 1;
        return 0;
    }
    return 1;
}

static int load_file(mp_config_t *cfg, const char *path, char *err, size_t errlen)
{
    file_ctx_t fc = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
    fc.fp = fopen(path, "r");
    if (fc.fp == NULL)
        return errorf(err, errlen, "config: cannot read config file \"%s\": %s", path,
                      strerror(errno));
    /* Long values (origin lists) need more than inih's 200-byte default line. */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_initial_alloc = 512;
    ini_max_line = 8192;
    int rc = ini_parse_stream(file_reader, &fc, file_handler, &fc);
    fclose(fc.fp);
    if (fc.failed)
        return -1;
    if (rc > 0)
        return errorf(err, errlen, "config: syntax error in file %s:%d (expected key = value)",
                      path, rc);
    if (rc != 0)
        return errorf(err, errlen, "config: cannot parse config file \"%s\"", path);
    return 0;
}

/* ---- environment and flags ---------------------------------------------- */

static int load_env(mp_config_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char var[64] = "MAGPIE_";
        size_t n = strlen(var);
        for (const char *c = keys[i].name; *c && n + 1 < sizeof var; c++)
            var[n++] = (char)toupper((unsigned char)*c);
        var[n] = '\0';
        const char *v = getenv(var);
        if (v == NULL)
            continue;
        char source[80];
        snprintf(source, sizeof source, "env %s", var);
        if (mp_config_set(cfg, keys[i].name, v, source, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Flags handled by the command itself, not config keys. */
static bool is_command_flag(const char *name, size_t len, bool *takes_value)
{
    *takes_value = len == 6 && strncmp(name, "config", 6) == 0;
    return *takes_value || (len == 12 && strncmp(name, "print-config", 12) == 0) ||
           (len == 12 && strncmp(name, "print_config", 12) == 0) ||
           (len == 4 && strncmp(name, "help", 4) == 0);
}

static int load_flags(mp_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0)
            continue;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return errorf(err, errlen,
                          "config: unexpected argument \"%s\" (flags look like "
                          "--key VALUE)",
                          arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        bool takes_value;
        if (is_command_flag(name, len, &takes_value)) {
            if (takes_value && eq == NULL)
                i++;
            continue;
        }
        /* --max-body is accepted as a spelling of --max_body. */
        char key[64];
        if (len >= sizeof key)
            len = sizeof key - 1;
        for (size_t j = 0; j < len; j++)
            key[j] = name[j] == '-' ? '_' : name[j];
        key[len] = '\0';
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL) {
            if (i + 1 >= argc)
                return errorf(err, errlen, "config: flag --%s needs a value", key);
            value = argv[++i];
        }
        char source[80];
        snprintf(source, sizeof source, "flag --%s", key);
        if (mp_config_set(cfg, key, value, source, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Keys that only make sense with another one. */
static int check_together(const mp_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->database == MP_DB_POSTGRES && cfg->database_url[0] == '\0')
        return errorf(err, errlen, "config: database = postgres needs database_url");
    if (cfg->bus == MP_BUS_NATS && cfg->nats_url[0] == '\0')
        return errorf(err, errlen, "config: bus = nats needs nats_url");
    if ((cfg->tls_cert[0] == '\0') != (cfg->tls_key[0] == '\0'))
        return errorf(err, errlen, "config: tls_cert and tls_key go together: set both or neither");
    if (cfg->tls_redirect_listen[0] != '\0' && cfg->tls_cert[0] == '\0')
        return errorf(err, errlen, "config: tls_redirect_listen needs tls_cert and tls_key");
    mp_cidr_t blocks[MP_CONFIG_PROXIES_MAX];
    char why[160];
    if (mp_cidr_parse_list(cfg->trusted_proxies, blocks, MP_CONFIG_PROXIES_MAX, why, sizeof why) <
        0)
        return errorf(err, errlen, "config: bad value for trusted_proxies: %s", why);
    return 0;
}

int mp_config_load(mp_config_t *cfg, const char *path, int argc, char **argv, char *err,
                   size_t errlen)
{
    if (path != NULL && load_file(cfg, path, err, errlen) != 0)
        return -1;
    if (load_env(cfg, err, errlen) != 0)
        return -1;
    if (load_flags(cfg, argc, argv, err, errlen) != 0)
        return -1;
    return check_together(cfg, err, errlen);
}

/* ---- printing ----------------------------------------------------------- */

static void format_value(const mp_config_t *cfg, const cfg_key_t *k, char *buf, size_t len)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", "off"};
    static const char *const regs[] = {"open", "invite", "email", "closed"};
    switch (k->kind) {
    case K_STRING:
    case K_SMTP_URL:
    case K_LISTEN_OPT:
        snprintf(buf, len, "%s", (const char *)field_cptr(cfg, k));
        break;
    case K_LISTEN:
        snprintf(buf, len, strchr(cfg->listen_host, ':') ? "[%s]:%d" : "%s:%d", cfg->listen_host,
                 cfg->listen_port);
        break;
    case K_UINT:
    case K_SIZE:
    case K_DURATION:
        snprintf(buf, len, "%llu", (unsigned long long)load_uint(cfg, k));
        break;
    case K_LOGLEVEL:
        snprintf(buf, len, "%s",
                 cfg->log_level >= 0 && cfg->log_level <= MP_LOG_OFF ? levels[cfg->log_level]
                                                                     : "?");
        break;
    case K_REGISTRATION:
        snprintf(buf, len, "%s", regs[cfg->registration]);
        break;
    case K_GUESTS:
        snprintf(buf, len, "%s",
                 cfg->guests == MP_GUESTS_OFF    ? "off"
                 : cfg->guests == MP_GUESTS_READ ? "read"
                                                 : "write");
        break;
    case K_BOOL:
        snprintf(buf, len, "%s", *(const bool *)field_cptr(cfg, k) ? "on" : "off");
        break;
    case K_DATABASE:
        snprintf(buf, len, "%s", cfg->database == MP_DB_POSTGRES ? "postgres" : "sqlite");
        break;
    case K_BUS:
        snprintf(buf, len, "%s", cfg->bus == MP_BUS_NATS ? "nats" : "none");
        break;
    case K_LOGFORMAT:
        snprintf(buf, len, "%s", cfg->log_json ? "json" : "text");
        break;
    }
}

void mp_config_print(const mp_config_t *cfg, FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char value[1100];
        format_value(cfg, &keys[i], value, sizeof value);
        /* An unset secret shows as unset: nothing to hide, and the output
         * stays a config file that gives the same configuration. */
        if (keys[i].secret && value[0] != '\0')
            strcpy(value, "********");
        fprintf(out, "%s = %s\n", keys[i].name, value);
    }
}

void mp_config_each_key(mp_config_key_fn fn, void *ud)
{
    for (size_t i = 0; i < NKEYS; i++)
        fn(ud, keys[i].name, keys[i].def, keys[i].help, keys[i].secret);
}

void mp_config_usage(FILE *out)
{
    fprintf(out, "Configuration keys (flag --KEY VALUE > env MAGPIE_KEY > file > default):\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const cfg_key_t *k = &keys[i];
        fprintf(out, "  --%-18s %s\n  %-20s   (default \"%s\")\n", k->name, k->help, "", k->def);
    }
}
