/* E-mail: address normalisation and syntax, the RFC 5322 message that goes
 * to the SMTP server, the disabled sender, and the smtp_* config keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mail/mail.h"
#include "util/alloc.h"

static void expect_norm(const char *in, const char *want)
{
    char out[MP_EMAIL_MAX + 1];
    if (mp_mail_addr_norm(in, strlen(in), out) != MP_OK)
        fail_msg("\"%s\" was refused", in);
    assert_string_equal(out, want);
}

static void expect_bad(const char *in, size_t len)
{
    char out[MP_EMAIL_MAX + 1];
    if (mp_mail_addr_norm(in, len, out) != MP_ERR_BAD_EMAIL)
        fail_msg("\"%s\" was accepted", in);
}

static void test_addr_normalised(void **state)
{
    (void)state;
    expect_norm("alice@example.org", "alice@example.org");
    expect_norm("  Alice.Smith+tag@Example.ORG\t", "alice.smith+tag@example.org");
    expect_norm("a@b.co", "a@b.co");
    expect_norm("o'brien@sub.example.co.uk", "o'brien@sub.example.co.uk");
    /* UTF-8 passes through (only ASCII letters change case). */
    expect_norm("J\xc3\xb6rg@EXAMPLE.de", "j\xc3\xb6rg@example.de");
}

static void test_addr_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "   ",
                         "plain",
                         "@example.org",
                         "alice@",
                         "alice@org",
                         "alice@.org",
                         "alice@org.",
                         "a@b..org",
                         "a@@b.org",
                         "a@b@c.org",
                         "a b@c.org",
                         "a\tb@c.org",
                         "<a@c.org>",
                         "a@c.org>",
                         "a,b@c.org",
                         "a;b@c.org",
                         "\"a\"@c.org",
                         "a(b)@c.org",
                         "a:b@c.org",
                         "a@[1.2.3.4]",
                         ".a@c.org",
                         "a.@c.org",
                         "a@c.org\r\nBcc: x@y.org",
                         "a\x7f@c.org",
                         "a\x01@c.org"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(bad[i], strlen(bad[i]));
    /* An embedded NUL is not part of an address. */
    expect_bad("a@c.org\0x", 9);
    /* Length: 254 bytes pass, 255 do not. */
    char longest[300], out[MP_EMAIL_MAX + 1];
    memset(longest, 'a', 254);
    memcpy(longest + 254 - 7, "@ex.org", 7);
    assert_int_equal(mp_mail_addr_norm(longest, 254, out), MP_OK);
    assert_int_equal(strlen(out), 254);
    memset(longest, 'a', 255);
    memcpy(longest + 255 - 7, "@ex.org", 7);
    assert_int_equal(mp_mail_addr_norm(longest, 255, out), MP_ERR_BAD_EMAIL);
}

static void test_format(void **state)
{
    (void)state;
    /* 2026-11-25 19:30:13 UTC, a Wednesday. */
    char *m = mp_mail_format("magpie@chat.example", "bob@example.org", "Hello",
                             "line one\nline two\n.\nend", 1795635013LL, "abc123");
    assert_non_null(m);
    const char *want = "Date: Wed, 25 Nov 2026 19:30:13 +0000\r\n"
                       "Message-ID: <abc123@chat.example>\r\n"
                       "From: magpie@chat.example\r\n"
                       "To: bob@example.org\r\n"
                       "Subject: Hello\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n"
                       "\r\n"
                       "line one\r\nline two\r\n.\r\nend\r\n";
    assert_string_equal(m, want);
    mp_free(m);
    /* Existing CRLFs are kept as they are. */
    m = mp_mail_format("a@b.org", "c@d.org", "S", "x\r\ny\n", 0, "r");
    assert_non_null(strstr(m, "\r\n\r\nx\r\ny\r\n"));
    assert_null(strstr(m, "\r\r"));
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    mp_free(m);
}

static void done_never(mp_err_t rc, void *ud)
{
    (void)rc, (void)ud;
    fail_msg("a refused send called back");
}

static void test_disabled_and_injection(void **state)
{
    (void)state;
    mp_config_t cfg;
    mp_config_defaults(&cfg);
    uv_loop_t loop;
    uv_loop_init(&loop);
    mp_mail_t *m = mp_mail_new(&loop, &cfg);
    assert_false(mp_mail_enabled(m));
    assert_int_equal(mp_mail_send(m, "a@b.org", "S", "B", done_never, NULL), MP_ERR_UNAVAILABLE);
    snprintf(cfg.smtp_url, sizeof cfg.smtp_url, "smtp://127.0.0.1:1");
    assert_true(mp_mail_enabled(m));
    assert_int_equal(mp_mail_send(m, "a@b.org\r\nBcc: c@d.org", "S", "B", done_never, NULL),
                     MP_ERR_BAD_REQUEST);
    assert_int_equal(mp_mail_send(m, "a@b.org", "S\nBcc: c@d.org", "B", done_never, NULL),
                     MP_ERR_BAD_REQUEST);
    assert_int_equal(mp_mail_pending(m), 0);
    mp_mail_free(m);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_config_keys(void **state)
{
    (void)state;
    mp_config_t cfg;
    char err[300];
    mp_config_defaults(&cfg);
    assert_string_equal(cfg.smtp_url, "");
    assert_string_equal(cfg.smtp_from, "magpie@localhost");
    assert_int_equal(cfg.smtp_timeout_ms, 10000);
    assert_int_equal(cfg.email_code_ttl_s, 900);
    assert_int_equal(cfg.email_pending_ttl_s, 86400);
    assert_int_equal(cfg.email_resend_interval_ms, 60000);
    assert_int_equal(
        mp_config_set(&cfg, "smtp_url", "smtps://mail.example.org:465", "flag", err, sizeof err),
        0);
    assert_int_equal(
        mp_config_set(&cfg, "smtp_url", "smtp://localhost:25", "flag", err, sizeof err), 0);
    assert_int_equal(mp_config_set(&cfg, "smtp_url", "", "flag", err, sizeof err), 0);
    assert_int_equal(
        mp_config_set(&cfg, "smtp_url", "http://mail.example.org", "flag", err, sizeof err), -1);
    assert_non_null(strstr(err, "smtp_url"));
    /* The password never shows in --print-config. */
    assert_int_equal(mp_config_set(&cfg, "smtp_password", "hunter2secret", "env", err, sizeof err),
                     0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mp_config_print(&cfg, f);
    fclose(f);
    assert_null(strstr(buf, "hunter2secret"));
    assert_non_null(strstr(buf, "smtp_password = ********"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_normalised), cmocka_unit_test(test_addr_refused),
        cmocka_unit_test(test_format),          cmocka_unit_test(test_disabled_and_injection),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
