/* Server configuration: defaults < config file (INI) < environment MAGPIE_<KEY>
 * < command-line flags. Every key is described once in the table in config.c;
 * docs/configuration.md documents the same table. */
#ifndef MP_CONFIG_CONFIG_H
#define MP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Who may create an account (registration = open | invite | email | closed):
 * anyone; holders of an invite code; anyone with an e-mail address they
 * verify; nobody but an admin. */
typedef enum { MP_REG_OPEN = 0, MP_REG_INVITE, MP_REG_EMAIL, MP_REG_CLOSED } mp_registration_t;
/* What guests may do in the world room (guests = off | read | write). */
typedef enum { MP_GUESTS_OFF = 0, MP_GUESTS_READ, MP_GUESTS_WRITE } mp_guests_t;

/* Where state is kept (database = sqlite | postgres) and how nodes hand live
 * events to each other (bus = none | nats). */
typedef enum { MP_DB_SQLITE = 0, MP_DB_POSTGRES } mp_database_t;
typedef enum { MP_BUS_NONE = 0, MP_BUS_NATS } mp_bus_kind_t;

typedef struct mp_config {
    /* listen = 127.0.0.1:8080; port 0 picks a free port (the chosen address is
     * printed on stderr as "magpie: listening on HOST:PORT"). */
    char listen_host[64];
    int listen_port;
    char data_dir[1024];     /* data = ./data */
    int log_level;           /* log_level = info (mp_log_level_t) */
    bool log_json;           /* log_format = text | json */
    bool access_log;         /* access_log = on */
    bool metrics;            /* metrics = on: GET /metrics */
    char metrics_listen[80]; /* metrics_listen = "": /metrics on listen; else its own listener */
    char tls_cert[1024];     /* tls_cert = "": PEM chain; with tls_key, listen speaks TLS only */
    char tls_key[1024];      /* tls_key = "" */
    char tls_redirect_listen[80]; /* tls_redirect_listen = "": plain HTTP -> https:// redirects */
    mp_database_t database;       /* database = sqlite | postgres */
    char database_url[1024];      /* database_url = "" (libpq connection string) */
    mp_bus_kind_t bus;            /* bus = none | nats */
    char nats_url[1024];          /* nats_url = "" */
    unsigned node_id;             /* node_id = 0 (0..1023), part of every id */

    /* HTTP */
    size_t max_body;            /* max_body = 1048576 bytes */
    size_t max_header;          /* max_header = 16384 bytes (request line + headers) */
    unsigned header_timeout_ms; /* header_timeout = 10000 ms */
    unsigned idle_timeout_ms;   /* idle_timeout = 60000 ms (keep-alive) */
    char cors_origins[1024];    /* cors_origins = "" comma list of allowed origins, or * */

    /* WebSocket */
    char ws_origins[1024];        /* ws_origins = "" comma list; same host always allowed */
    size_t ws_max_message;        /* ws_max_message = 65536 bytes */
    unsigned ws_ping_interval_ms; /* ws_ping_interval = 30000 ms */
    unsigned ws_auth_timeout_ms;  /* ws_auth_timeout = 10000 ms */
    size_t ws_max_queue;          /* ws_max_queue = 1048576 bytes queued to one slow reader */
    unsigned io_threads;          /* io_threads = 0: one per core, at most 8 (net/iopool.h) */

    /* Accounts */
    mp_registration_t registration; /* registration = open | invite | email | closed */
    unsigned login_rate_per_min;    /* login_rate = 10 per minute per username and per IP */
    unsigned access_token_ttl_s;    /* access_token_ttl = 900 seconds */

    /* Messaging */
    unsigned send_rate;  /* send_rate = 20 per second per user */
    unsigned send_burst; /* send_burst = 50 */

    /* Groups */
    unsigned group_max_members; /* group_max_members = 10000 (1..1000000) */

    /* World room and guests */
    unsigned world_slow_mode_ms;      /* world_slow_mode = 1000 ms between a user's world posts */
    mp_guests_t guests;               /* guests = write (off | read | write) */
    unsigned guest_ttl_s;             /* guest_ttl = 86400 s of inactivity before deletion */
    unsigned guest_sweep_interval_ms; /* guest_sweep_interval = 60000 ms (at most; also <= ttl/4) */
    unsigned guest_rate_per_min;      /* guest_rate = 10 guest creations per minute per IP */

    /* Connection caps (0 = no cap; max_connections never exceeds what the
     * open-file limit allows) */
    unsigned max_connections;        /* max_connections = 10000 */
    unsigned max_connections_per_ip; /* max_connections_per_ip = 1000 (IPv4 or IPv6 /64) */
    unsigned max_ws_per_user;        /* max_ws_per_user = 64 authenticated WebSockets */
    unsigned max_ws_per_device;      /* max_ws_per_device = 32 */
    unsigned conn_rate_per_ip;       /* conn_rate_per_ip = 0 (no limit) new connections a second */
    char trusted_proxies[1024];      /* trusted_proxies = "" (CIDR blocks) */
    size_t max_body_total;           /* max_body_total = 64m of request bodies being buffered */
    char allowed_hosts[1024];        /* allowed_hosts = "" Host names accepted (empty = any) */
    /* Output queued to all clients (HTTP responses and WebSocket frames not yet
     * taken by the kernel); over it, connections that lag stop being read. */
    size_t max_output_total; /* max_output_total = 67108864 bytes */
    /* Accounts (continued) */
    unsigned register_rate_per_min; /* register_rate = 5 registrations per minute per IP */
    /* Messages (edits, recall, reactions, search, world moderation) */
    unsigned edit_window_ms; /* edit_window = 48h (0 = unlimited) */
    unsigned
        recall_window_ms; /* recall_window = 2m: delete for everyone by the sender (0 = any time) */
    unsigned max_reaction_kinds; /* max_reaction_kinds = 20 distinct emoji per message */
    bool search_index;           /* search_index = on: keep the full-text index */
    char world_moderators[1024]; /* world_moderators = "" comma-separated usernames */
    /* People */
    unsigned user_search_rate;  /* user_search_rate = 1 search per second per user */
    unsigned user_search_burst; /* user_search_burst = 30 */
    /* E-mail (SMTP through libcurl) and e-mail codes */
    char smtp_url[512];           /* smtp_url = "" smtp://host:port or smtps://...; "" = no mail */
    char smtp_user[256];          /* smtp_user = "" (no authentication) */
    char smtp_password[256];      /* smtp_password = "" (secret) */
    char smtp_from[256];          /* smtp_from = "magpie@localhost" sender address */
    unsigned smtp_timeout_ms;     /* smtp_timeout = 10000 ms to connect, and for a whole send */
    unsigned email_code_ttl_s;    /* email_code_ttl = 900 s a mailed code stays valid */
    unsigned email_pending_ttl_s; /* email_pending_ttl = 86400 s an unverified account waits */
    unsigned email_resend_interval_ms; /* email_resend_interval = 60s between mails to an account */
    /* Accounts (deletion): a deleted account's username stays reserved this
     * long, then the grace sweep frees it. size_t: more than 49 days of ms. */
    size_t account_delete_grace_ms; /* account_delete_grace = 30d */
    /* Files and media (docs/media.md). */
    char files_dir[1024];          /* files_dir = "" means DATA/files */
    size_t max_upload;             /* max_upload = 100m bytes per file */
    size_t upload_quota;           /* upload_quota = 1g bytes per user; 0 = none */
    unsigned upload_rate;          /* upload_rate = 30 uploads a minute per user */
    unsigned upload_burst;         /* upload_burst = 10 */
    size_t upload_expiry_ms;       /* upload_expiry = 24h a resumable upload may take */
    size_t file_grace_ms;          /* file_grace = 24h before an unreferenced file is swept */
    size_t file_sweep_interval_ms; /* file_sweep_interval = 10m */
    unsigned max_image_pixels;     /* max_image_pixels = 50000000 */
    unsigned media_timeout_ms;     /* media_timeout = 30s per file processed */
    size_t media_memory;           /* media_memory = 512m for image processing */
    unsigned media_workers;        /* media_workers = 2 files processed at once */
    unsigned signed_url_ttl_ms;    /* signed_url_ttl = 10m */
    /* The web client (docs/web.md). */
    bool web;            /* web = on: serve the client at / */
    char web_root[1024]; /* web_root = "": the client built into the binary */
} mp_config_t;

/* Fills cfg with the defaults. */
void mp_config_defaults(mp_config_t *cfg);

/* Applies, in order, the config file (if path != NULL), the environment
 * (MAGPIE_<KEY>, upper-case) and the flags `--<key> VALUE` / `--<key>=VALUE`
 * found in argv (argv[0] is skipped; --config, --print-config, --help are
 * recognised and skipped too). On an unknown key or a bad value returns -1 and
 * writes a message naming the key and its source into err. */
int mp_config_load(mp_config_t *cfg, const char *path, int argc, char **argv, char *err,
                   size_t errlen);

/* Sets one key from its string form; source names where it came from ("file",
 * "env", "flag") for the error message. Returns 0 or -1 with err filled. */
int mp_config_set(mp_config_t *cfg, const char *key, const char *value, const char *source,
                  char *err, size_t errlen);

/* Prints the effective configuration as `key = value` lines, secrets masked. */
void mp_config_print(const mp_config_t *cfg, FILE *out);

/* Most address ranges trusted_proxies may list. */
#define MP_CONFIG_PROXIES_MAX 32

/* Prints every key with its default and a one-line description (for --help). */
void mp_config_usage(FILE *out);

/* Calls fn for every key, in the table's order: its name, its default as a
 * config file would spell it, its one-line description, and whether it is a
 * secret (for the man page and the example config file). */
typedef void (*mp_config_key_fn)(void *ud, const char *name, const char *def, const char *help,
                                 bool secret);
void mp_config_each_key(mp_config_key_fn fn, void *ud);

#endif
