/* Outgoing e-mail: plain-text messages sent through an SMTP server with
 * libcurl, on the libuv thread pool so that the event loop never waits on
 * the network. A few sends run at once; a bounded FIFO holds the rest.
 * Also the rules of an e-mail address (normalisation and syntax). */
#ifndef MP_MAIL_MAIL_H
#define MP_MAIL_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config/config.h"
#include "proto/error.h"

/* Longest address accepted (RFC 5321's path limit, less the angle brackets);
 * the same value as store.h's, which mail may not include. */
#define MP_EMAIL_MAX 254

typedef struct mp_mail mp_mail_t;

/* rc: MP_OK when the SMTP server accepted the message, MP_ERR_UNAVAILABLE when
 * it could not be sent (connection refused, timeout, rejected). */
typedef void (*mp_mail_done_fn)(mp_err_t rc, void *ud);

/* Initialises libcurl once per process (before any thread uses it). Returns
 * false if libcurl refused. */
bool mp_mail_global_init(void);

/* The sender for cfg (smtp_url, smtp_user, smtp_password, smtp_from,
 * smtp_timeout); cfg must outlive it. Never NULL: with an empty smtp_url it
 * exists but is disabled and every send answers MP_ERR_UNAVAILABLE. */
mp_mail_t *mp_mail_new(uv_loop_t *loop, const mp_config_t *cfg);
/* Waiting sends are dropped without their callback; sends on the thread pool
 * finish without it and the memory goes with the last one (run the loop after
 * this). Normally called once mp_mail_pending is 0. NULL is ignored. */
void mp_mail_free(mp_mail_t *mail);
/* True when smtp_url is set. */
bool mp_mail_enabled(const mp_mail_t *mail);
/* Sends running or waiting (shutdown runs the loop until there are none). */
size_t mp_mail_pending(const mp_mail_t *mail);

/* Sends a text/plain UTF-8 message to one address (already normalised by
 * mp_mail_addr_norm). subject must be one line; body uses \n line ends.
 * Returns MP_OK when queued (cb runs later on the loop), MP_ERR_UNAVAILABLE
 * when mail is disabled or the queue is full, MP_ERR_BAD_REQUEST for a
 * subject or address with a line break (cb not called then). */
mp_err_t mp_mail_send(mp_mail_t *mail, const char *to, const char *subject, const char *body,
                      mp_mail_done_fn cb, void *ud) __attribute__((warn_unused_result));

/* Normalises an address typed by a user: trims white space at both ends and
 * lower-cases it all, then checks local@domain: one @, a non-empty local
 * part, a domain with a dot that neither starts nor ends the domain, at most
 * MP_EMAIL_MAX bytes, no spaces, controls, or characters that an address in
 * a mail header must not carry (<>()[]\,;:"). Non-ASCII (UTF-8) is allowed.
 * Writes the result to out. Returns MP_OK or MP_ERR_BAD_EMAIL. */
mp_err_t mp_mail_addr_norm(const char *in, size_t len, char out[MP_EMAIL_MAX + 1]);

/* Builds the RFC 5322 message (headers and body, CRLF line ends) that
 * mp_mail_send hands to the server; returns a heap string (mp_free). now_s
 * is the Date; msgid_rand names the Message-ID. Exposed for unit tests. */
char *mp_mail_format(const char *from, const char *to, const char *subject, const char *body,
                     long long now_s, const char *msgid_rand);

#endif
