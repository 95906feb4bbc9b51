/*
 * test_config.c - the config loader: every key of SPEC §3, defaults, and
 * an exact error (file:line [section] key: reason) for each kind of mistake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "util.h"

static const char good[] =
"[mailbox]\n"
"url = imaps://outlook.office365.com/INBOX ; the inbox\n"
"user = lido@example.nl\n"
"password = geheim\n"
"auth = xoauth2\n"
"poll_interval = 90\n"
"idle = no\n"
"done_folder = leernet/klaar\n"
"\n"
"[smtp]\n"
"url = smtp://smtp.office365.com:587\n"
"user = lido@example.nl\n"
"password_command = echo token\n"
"from = \"LIDO leernetwerken\" <LIDO@Example.nl>\n"
"\n"
"[database]\n"
"path = /tmp/leernet-test.db\n"
"\n"
"[organization]\n"
"name = Stichting Jong Leren\n"
"domains = jl.nu, School.test\n"
"coordinators = femme@jl.nu,  Donna@jl.nu\n"
"announce = intranet@jl.nu\n"
"hours_per_network = 30\n"
"trusted_authserv_id = mx.jl.nu\n"
"staff_only = yes\n"
"max_requests_per_hour = 12\n"
"\n"
"[digest]\n"
"schedule = weekly ma 07:30\n"
"\n"
"[lists]\n"
"max_size = 5M\n"
"\n"
"[publish]\n"
"dir = /var/lib/leernet/www\n"
"base_url = https://intranet.jl.nu/leernetwerken/\n";

static char path[64];

static const char *
write_conf(const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/leernet-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_good(void **state)
{
	char err[512] = "";
	struct config *c;

	(void)state;
	c = config_load(write_conf(good), err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->mailbox.scheme, "imaps");
	assert_string_equal(c->mailbox.host, "outlook.office365.com");
	assert_int_equal(c->mailbox.port, 993);
	assert_string_equal(c->mailbox.path, "INBOX");
	assert_int_equal(c->mailbox.auth, AUTH_XOAUTH2);
	assert_int_equal(c->mailbox.tls, TLS_REQUIRED);
	assert_int_equal(c->idle, 0);
	assert_int_equal(c->poll_interval, 90);
	assert_string_equal(c->done_folder, "leernet/klaar");
	assert_string_equal(c->failed_folder, "leernet/failed");
	assert_int_equal(c->smtp.port, 587);
	assert_string_equal(c->from_name, "LIDO leernetwerken");
	assert_string_equal(c->from_addr, "lido@example.nl");
	assert_string_equal(c->domains[0], "jl.nu");
	assert_string_equal(c->domains[1], "school.test");
	assert_null(c->domains[2]);
	assert_true(config_is_coordinator(c, "donna@jl.nu"));
	assert_false(config_is_coordinator(c, "alice@jl.nu"));
	assert_true(config_domain_allowed(c, "alice@school.test"));
	assert_false(config_domain_allowed(c, "alice@evil.test"));
	assert_false(config_domain_allowed(c, "alice@sub.jl.nu"));
	assert_int_equal(c->hours_per_network, 30);
	assert_int_equal(c->staff_only, 1);
	assert_int_equal(c->max_requests_per_hour, 12);
	assert_int_equal(c->digest, DIGEST_WEEKLY);
	assert_int_equal(c->digest_wday, 1);
	assert_int_equal(c->digest_hour, 7);
	assert_int_equal(c->digest_min, 30);
	assert_int_equal(c->list_max_size, 5 * 1024 * 1024);
	assert_string_equal(c->timezone, "Europe/Amsterdam");
	assert_string_equal(c->language, "nl");
	/* Three: Exchange Online allows no more per mailbox. */
	assert_int_equal(c->smtp_sessions, 3);
	assert_int_equal(c->keep_sent_days, 30);
	config_free(c);
	unlink(path);
}

static void
test_secret(void **state)
{
	char err[512] = "", *s;
	struct config *c;

	(void)state;
	c = config_load(write_conf(good), err, sizeof(err));
	assert_non_null(c);
	s = config_secret(&c->mailbox, err, sizeof(err));
	assert_string_equal(s, "geheim");
	free(s);
	s = config_secret(&c->smtp, err, sizeof(err));
	assert_string_equal(s, "token");
	free(s);
	free(c->smtp.password_command);
	c->smtp.password_command = xstrdup("exit 3");
	assert_null(config_secret(&c->smtp, err, sizeof(err)));
	assert_non_null(strstr(err, "password_command failed"));
	config_free(c);
	unlink(path);
}

/* Replace one line of the good config, expect an error mentioning want. */
struct bad {
	const char	*find;
	const char	*replace;
	const char	*want;
};

static const struct bad bads[] = {
	{ "auth = xoauth2", "auth = kerberos", ":5: [mailbox] auth: expected plain, login or xoauth2, got 'kerberos'" },
	{ "idle = no", "idle = misschien", ":7: [mailbox] idle: expected yes or no" },
	{ "poll_interval = 90", "poll_interval = 1", ":6: [mailbox] poll_interval" },
	{ "poll_interval = 90", "poll_interval = 9O", ":6: [mailbox] poll_interval" },
	{ "[lists]", "[listen]", "unknown section [listen]" },
	{ "max_size = 5M", "max_size = veel", "[lists] max_size: expected a size" },
	{ "schedule = weekly ma 07:30", "schedule = weekly ma 25:00", "[digest] schedule" },
	{ "schedule = weekly ma 07:30", "schedule = monthly", "[digest] schedule" },
	{ "hours_per_network = 30", "hourz_per_network = 30", "[organization] hourz_per_network: unknown key" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = pop3://x", "[mailbox] url: unsupported scheme 'pop3'" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = outlook.office365.com", "[mailbox] url: expected imap://" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = imap://host:99999/INBOX", "[mailbox] url: bad port" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = maildir:relative", "maildir: needs an absolute path" },
	{ "url = smtp://smtp.office365.com:587", "url = smtp://mail.example.nl:587\ntls = none", "[smtp] tls: 'none' is allowed only for 127.0.0.1/localhost" },
	{ "password = geheim", "password = geheim\npassword_file = /etc/passwd", "set only one of password" },
	{ "password = geheim", "", "[mailbox] password: missing" },
	{ "from = \"LIDO leernetwerken\" <LIDO@Example.nl>", "", "[smtp] from: missing" },
	{ "from = \"LIDO leernetwerken\" <LIDO@Example.nl>", "from = LIDO", "[smtp] from: 'LIDO' has no valid address" },
	{ "domains = jl.nu, School.test", "", "[organization] domains: missing" },
	{ "language = nl", "", NULL },	/* absent is fine */
	{ "[organization]", "[organization\n", "syntax error" },
	{ "[smtp]", "garbage line without equals", "syntax error" },
};

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bads); i++) {
		const char *at = strstr(good, bads[i].find);
		struct buf b;
		char err[512] = "";
		struct config *c;

		if (at == NULL) {
			assert_null(bads[i].want);
			continue;
		}
		buf_init(&b, 0);
		buf_add(&b, good, (size_t)(at - good));
		buf_adds(&b, bads[i].replace);
		buf_adds(&b, at + strlen(bads[i].find));
		c = config_load(write_conf(buf_str(&b)), err, sizeof(err));
		buf_free(&b);
		if (c != NULL || strstr(err, bads[i].want) == NULL)
			fail_msg("case %zu: want '%s', got '%s'", i,
			    bads[i].want, c ? "(loaded)" : err);
		assert_true(strncmp(err, path, strlen(path)) == 0);
		unlink(path);
	}
}

/*
 * The good config with "key = value" as the line after the section
 * header; *line is that line's number.
 */
static struct config *
load_with(const char *header, const char *key, const char *value, int *line,
    char *err, size_t errlen)
{
	const char *at = strstr(good, header);
	struct config *c;
	struct buf b;

	assert_non_null(at);
	at += strlen(header);
	*line = 1;
	for (const char *p = good; p < at; p++)
		*line += *p == '\n';
	buf_init(&b, 0);
	buf_add(&b, good, (size_t)(at - good));
	buf_adds(&b, key);
	buf_adds(&b, " = ");
	buf_adds(&b, value);
	buf_adds(&b, "\n");
	buf_adds(&b, at);
	c = config_load(write_conf(buf_str(&b)), err, errlen);
	buf_free(&b);
	unlink(path);
	return c;
}

/* Whole numbers in a range: a case is a value and what it gives. */
struct int_case {
	const char	*value;
	int		 want;		/* -1: an error */
};

static const struct int_case sessions[] = {
	{ "1", 1 }, { "3", 3 }, { "16", 16 }, { "0", -1 }, { "17", -1 },
	{ "-1", -1 }, { "abc", -1 }, { "4x", -1 }, { "2.5", -1 }, { "", -1 },
	{ "99999999999999999999", -1 },
};

static const struct int_case keep_sent[] = {
	{ "0", 0 }, { "30", 30 }, { "3650", 3650 }, { "3651", -1 },
	{ "-1", -1 }, { "abc", -1 }, { "7d", -1 }, { "", -1 },
};

/* Each case of an integer key; wrong ones are refused with `expect`
 * (a format taking the value) on the key's line. */
static void
int_cases(const char *header, const char *key, const struct int_case *cases,
    size_t n, int (*get)(const struct config *), const char *expect)
{
	for (size_t i = 0; i < n; i++) {
		char err[512] = "", want[200], what[120];
		struct config *c;
		int line;

		c = load_with(header, key, cases[i].value, &line, err,
		    sizeof(err));
		if (cases[i].want >= 0) {
			if (c == NULL)
				fail_msg("%s '%s': %s", key, cases[i].value, err);
			assert_int_equal(get(c), cases[i].want);
			config_free(c);
			continue;
		}
		if (c != NULL)
			fail_msg("%s '%s': loaded", key, cases[i].value);
		snprintf(what, sizeof(what), expect, cases[i].value);
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, what);
		assert_string_equal(err, want);
	}
}

static int
get_sessions(const struct config *c)
{
	return c->smtp_sessions;
}

static int
get_keep_sent(const struct config *c)
{
	return c->keep_sent_days;
}

static void
test_sessions(void **state)
{
	(void)state;
	int_cases("[smtp]\n", "sessions", sessions, ARRAY_LEN(sessions),
	    get_sessions, "[smtp] sessions: expected a number of sessions "
	    "from 1 to 16, got '%s'");
}

static void
test_keep_sent_days(void **state)
{
	(void)state;
	int_cases("[database]\n", "keep_sent_days", keep_sent,
	    ARRAY_LEN(keep_sent), get_keep_sent, "[database] keep_sent_days: "
	    "expected a number of days from 0 to 3650, got '%s'");
}

static void
test_missing_file(void **state)
{
	char err[512];

	(void)state;
	assert_null(config_load("/nonexistent/leernet.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/leernet.conf: cannot open: "
	    "No such file or directory");
}

static void
test_loopback(void **state)
{
	(void)state;
	assert_true(host_is_loopback("127.0.0.1"));
	assert_true(host_is_loopback("127.1.2.3"));
	assert_true(host_is_loopback("LOCALHOST"));
	assert_true(host_is_loopback("::1"));
	assert_false(host_is_loopback("128.0.0.1"));
	assert_false(host_is_loopback("localhost.evil.test"));
	assert_false(host_is_loopback("1270.0.0.1") && 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_keep_sent_days),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
