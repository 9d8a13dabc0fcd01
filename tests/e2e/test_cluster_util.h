/* Helpers shared by the cluster end-to-end tests (tests/e2e/test_cluster*.c):
 * starting a `magpie serve` node on the NATS bus, and giving every node the
 * same token-signing secret. Include after cmocka.h and test_chat_util.h. */
#ifndef MPT_CLUSTER_UTIL_H
#define MPT_CLUSTER_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

static inline void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Starts node node_id on the bus at nats_url, with CHAT_FLAGS and then more
 * (NULL-terminated, may be NULL). db_url NULL: a fresh database of the
 * harness's (the first node; stopping it drops the database); otherwise the
 * nodes share that database, which the test owns. NULL if it did not start. */
static inline mpt_server_t *cluster_node_start(int node_id, const char *nats_url,
                                               const char *db_url, const char *const *more)
{
    char id[16];
    snprintf(id, sizeof id, "%d", node_id);
    const char *base[] = {CHAT_FLAGS, "--node_id", id, "--bus", "nats", "--nats_url", nats_url};
    size_t n_base = sizeof base / sizeof base[0], n_more = 0;
    while (more != NULL && more[n_more] != NULL)
        n_more++;
    const char **flags = calloc(n_base + n_more + 1, sizeof *flags);
    for (size_t i = 0; i < n_base; i++)
        flags[i] = base[i];
    for (size_t i = 0; i < n_more; i++)
        flags[n_base + i] = more[i];
    mpt_server_t *srv =
        db_url != NULL ? mpt_server_start_db(db_url, flags) : mpt_server_start(flags);
    free(flags);
    return srv;
}

/* Gives `to` the token-signing secret of `from` (jwt.secret in the data dir)
 * and restarts it, so that an access token signed by any node works on all. */
static inline void cluster_share_secret(const mpt_server_t *from, mpt_server_t *to)
{
    size_t len = 0;
    unsigned char *secret = mpt_read_file(mpt_server_path(from, "jwt.secret"), &len);
    assert_non_null(secret);
    assert_int_equal(mpt_server_terminate(to), 0);
    FILE *f = fopen(mpt_server_path(to, "jwt.secret"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(secret, 1, len, f), len);
    fclose(f);
    free(secret);
    assert_int_equal(mpt_server_restart(to), 0);
}

#endif
