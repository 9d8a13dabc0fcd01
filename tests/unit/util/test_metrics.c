/* The metrics registry: an observation equal to a bound falls in that
 * bucket (le = "less or equal"), buckets are cumulative with +Inf equal to
 * _count, label values are escaped, and a labelled family that would outgrow
 * its table counts the excess under "other" instead of growing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/alloc.h"
#include "util/metrics.h"

static char *render(void)
{
    mp_metrics_buf_t b = {0};
    mp_metrics_render(&b);
    mp_metrics_printf(&b, "%s", ""); /* a NUL after the text */
    return b.data;
}

static double value(const char *body, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = body; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    mp_metrics_reset();
    return 0;
}

static void test_buckets(void **state)
{
    (void)state;
    mp_metrics_observe(MP_MH_STORE_BATCH_JOBS, 1);       /* le 1 */
    mp_metrics_observe(MP_MH_STORE_BATCH_JOBS, 2);       /* le 2 */
    mp_metrics_observe(MP_MH_STORE_BATCH_JOBS, 3);       /* le 4 */
    mp_metrics_observe(MP_MH_STORE_BATCH_JOBS, 5000);    /* +Inf only */
    mp_metrics_observe(MP_MH_SEND_ACK_SECONDS, 1000000); /* exactly 1 ms */
    char *t = render();
    assert_true(value(t, "magpie_store_batch_jobs_bucket{le=\"1\"}") == 1);
    assert_true(value(t, "magpie_store_batch_jobs_bucket{le=\"2\"}") == 2);
    assert_true(value(t, "magpie_store_batch_jobs_bucket{le=\"4\"}") == 3);
    assert_true(value(t, "magpie_store_batch_jobs_bucket{le=\"1024\"}") == 3);
    assert_true(value(t, "magpie_store_batch_jobs_bucket{le=\"+Inf\"}") == 4);
    assert_true(value(t, "magpie_store_batch_jobs_count") == 4);
    assert_true(value(t, "magpie_store_batch_jobs_sum") == 5006);
    assert_true(value(t, "magpie_send_ack_seconds_bucket{le=\"0.0005\"}") == 0);
    assert_true(value(t, "magpie_send_ack_seconds_bucket{le=\"0.001\"}") == 1);
    assert_true(value(t, "magpie_send_ack_seconds_sum") == 0.001);
    assert_non_null(strstr(t, "# TYPE magpie_send_ack_seconds histogram\n"));
    mp_free(t);
}

static void test_counters_and_labels(void **state)
{
    (void)state;
    mp_metrics_inc(MP_MC_MESSAGES_SENT);
    mp_metrics_add(MP_MC_EVENTS_PUSHED, 5);
    mp_metrics_http("/v1/a \"b\\c", 200);
    mp_metrics_http("/v1/a \"b\\c", 200);
    mp_metrics_http("/v1/x", 429);
    mp_metrics_ws_error("rate_limited");
    char *t = render();
    assert_true(value(t, "magpie_messages_sent_total") == 1);
    assert_true(value(t, "magpie_events_pushed_total") == 5);
    assert_true(value(t, "magpie_http_requests_total{route=\"/v1/a \\\"b\\\\c\",status=\"200\"}") ==
                2);
    assert_true(value(t, "magpie_rate_limited_total{transport=\"http\"}") == 1);
    assert_true(value(t, "magpie_rate_limited_total{transport=\"websocket\"}") == 1);
    /* One family, one HELP and TYPE, even with two label sets. */
    const char *h = strstr(t, "# TYPE magpie_rate_limited_total counter");
    assert_non_null(h);
    assert_null(strstr(h + 1, "# TYPE magpie_rate_limited_total"));
    mp_free(t);
}

static void test_bounded(void **state)
{
    (void)state;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        mp_metrics_ws_request(name);
    }
    char *t = render();
    size_t lines = 0;
    for (const char *p = strstr(t, "magpie_ws_requests_total{"); p != NULL;
         p = strstr(p + 1, "magpie_ws_requests_total{"))
        lines++;
    assert_true(lines <= 256);
    /* Nothing is lost: the excess is under "other". */
    double other = value(t, "magpie_ws_requests_total{type=\"other\"}");
    assert_true(other == 1000 - (double)(lines - 1));
    mp_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_buckets, setup),
        cmocka_unit_test_setup(test_counters_and_labels, setup),
        cmocka_unit_test_setup(test_bounded, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
