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
#include <sys/stat.h>
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
	/* local parts that route on: the mail would go elsewhere */
	assert_false(config_domain_allowed(c, "carol%evil.test@school.test"));
	assert_false(config_domain_allowed(c, "evil.test!carol@school.test"));
	assert_false(config_domain_allowed(c, "carol@evil.test@school.test"));
	assert_false(config_domain_allowed(c,
	    "\"carol@evil.test\"@school.test"));
	assert_true(config_domain_allowed(c, "carol.de-vries+x@school.test"));
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
	/* the last one silently winning hides the first from who reads it */
	{ "idle = no", "idle = no\nidle = yes", ":8: [mailbox] idle: given twice (also on line 7); keep one" },
	/* 2^64 + 1k wrapped round to 1k */
	{ "idle = no", "idle = no\n[lists]\nmax_size = 18014398509481985k", "[lists] max_size: '18014398509481985k' is more than the largest size, 1G" },
	{ "idle = no", "idle = no\n[lists]\nmax_size = 2G", "[lists] max_size: '2G' is more than the largest size" },
	/* libinih takes an indented line for more of the value above it */
	{ "idle = no", "idle = no\n  tls = none", ":8: [mailbox] idle: this line is indented, which makes it part of the value of 'idle' above it" },
	/* handled mail moved into the watched folder comes back for ever */
	{ "done_folder = leernet/klaar", "done_folder = inbox", ":8: [mailbox] done_folder: 'inbox' is the mailbox leernet watches (INBOX)" },
	{ "done_folder = leernet/klaar", "failed_folder = INBOX", "[mailbox] failed_folder: 'INBOX' is the mailbox" },
	{ "idle = no", "idle = no\nfailed_folder = leernet.klaar", "[mailbox] failed_folder: 'leernet.klaar' is also the done_folder" },
	{ "poll_interval = 90", "poll_interval = 1", ":6: [mailbox] poll_interval" },
	{ "poll_interval = 90", "poll_interval = 9O", ":6: [mailbox] poll_interval" },
	{ "[lists]", "[listen]", "unknown section [listen]" },
	{ "max_size = 5M", "max_size = veel", "[lists] max_size: expected a size" },
	{ "max_size = 5M", "max_size = 5M\nneed_proof = misschien", "[lists] need_proof: expected yes or no, got 'misschien'" },
	{ "schedule = weekly ma 07:30", "schedule = weekly ma 25:00", "[digest] schedule" },
	{ "schedule = weekly ma 07:30", "schedule = monthly", "[digest] schedule" },
	{ "hours_per_network = 30", "hourz_per_network = 30", "[organization] hourz_per_network: unknown key (did you mean 'hours_per_network'?)" },
	/* a typo is named with the key meant; a key of another section
	 * with where it goes; anything else with the section's keys */
	{ "poll_interval = 90", "pol_interval = 90", "[mailbox] pol_interval: unknown key (did you mean 'poll_interval'?)" },
	{ "idle = no", "idle = no\nfrom = lido@jl.nu", "[mailbox] from: unknown key (it belongs in [smtp])" },
	{ "max_size = 5M", "max_size = 5M\nkleur = blauw", "[lists] kleur: unknown key ([lists] knows: max_size need_proof)" },
	{ "max_size = 5M", "max_size = 5M\nkeep_done_days = 90", "[lists] keep_done_days: unknown key (it belongs in [mailbox])" },
	{ "poll_interval = 90", "poll_interval = 90\nkeep_done_days = -1", "[mailbox] keep_done_days: expected a number of days from 0 (keep for ever) to 3650, got '-1'" },
	/* "starttls" is the url's business */
	{ "idle = no", "idle = no\ntls = starttls", "[mailbox] tls: expected required or none, got 'starttls' (TLS from the start or STARTTLS is chosen by the url" },
	/* checked once the file is read, pointed at the key's line */
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = pop3://x", ":2: [mailbox] url: unsupported scheme 'pop3'" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = outlook.office365.com", "[mailbox] url: expected imap://" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = imap://host:99999/INBOX", "[mailbox] url: bad port" },
	{ "url = imaps://outlook.office365.com/INBOX ; the inbox", "url = maildir:relative", "maildir: needs an absolute path" },
	{ "url = smtp://smtp.office365.com:587", "url = smtp://mail.example.nl:587\ntls = none", "[smtp] tls: 'none' is allowed only for localhost, ::1 and 127.x.x.x, not for 'mail.example.nl'" },
	{ "password = geheim", "password = geheim\npassword_file = /etc/passwd", "set only one of password" },
	{ "password = geheim", "", "[mailbox] password: missing" },
	{ "from = \"LIDO leernetwerken\" <LIDO@Example.nl>", "", "[smtp] from: missing" },
	{ "from = \"LIDO leernetwerken\" <LIDO@Example.nl>", "from = LIDO", ":14: [smtp] from: 'LIDO' has no valid address" },
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
	assert_true(host_is_loopback("127.255.255.255"));
	assert_true(host_is_loopback("LOCALHOST"));
	assert_true(host_is_loopback("::1"));
	assert_true(host_is_loopback("0:0:0:0:0:0:0:1"));
	assert_false(host_is_loopback("128.0.0.1"));
	assert_false(host_is_loopback("localhost.evil.test"));
	assert_false(host_is_loopback("1270.0.0.1"));
	/* A name that starts like an address is a name, anywhere. */
	assert_false(host_is_loopback("127.evil.com"));
	assert_false(host_is_loopback("127.0.0.1.evil.com"));
	assert_false(host_is_loopback("127."));
	assert_false(host_is_loopback("::2"));
	assert_false(host_is_loopback(""));
}

static void
test_not_a_file(void **state)
{
	char err[512];

	(void)state;
	assert_null(config_load("/tmp", err, sizeof(err)));
	assert_non_null(strstr(err, "/tmp: cannot open: is a directory"));
}

/*
 * The good config with the line "key = ..." after header replaced by
 * "key = value" (added after header when there is none).
 */
static struct config *
load_replacing(const char *header, const char *key, const char *value,
    char *err, size_t errlen)
{
	const char *h = strstr(good, header), *at, *end;
	char find[64];
	struct config *c;
	struct buf b;
	int line;

	assert_non_null(h);
	snprintf(find, sizeof(find), "\n%s = ", key);
	at = strstr(h, find);
	if (at == NULL || (strstr(h + 1, "\n[") && at > strstr(h + 1, "\n[")))
		return load_with(header, key, value, &line, err, errlen);
	at++;
	end = strchr(at, '\n');
	buf_init(&b, 0);
	buf_add(&b, good, (size_t)(at - good));
	buf_addf(&b, "%s = %s", key, value);
	buf_adds(&b, end);
	c = config_load(write_conf(buf_str(&b)), err, errlen);
	buf_free(&b);
	unlink(path);
	return c;
}

/* A list key: what it is set to, and the items it yields or the error. */
struct list_case {
	const char	*value;
	const char	*want;	/* items joined by '|', or an error part */
	int		 ok;
};

static const struct list_case domain_cases[] = {
	{ "jl.nu, school.test", "jl.nu|school.test", 1 },
	{ "jl.nu;School.test", "jl.nu|school.test", 1 },
	{ "jl.nu school.test\tx.nl", "jl.nu|school.test|x.nl", 1 },
	{ "jl.nu,,;school.test,", "jl.nu|school.test", 1 },
	{ "jl.nu ; the staff domains", "jl.nu", 1 },
	/* " ;" starts a comment: the domain after it would be lost. */
	{ "jl.nu ; school.test", "[organization] domains: ' ;' starts a "
	    "comment, so 'school.test' after it would be ignored", 0 },
	{ "xn--bcher-kva.nl", "xn--bcher-kva.nl", 1 },
	{ "jl.nu # our domains", "[organization] domains: '#' is not a mail "
	    "domain (expected e.g. school.nl; separate domains with ','); '#' "
	    "starts a comment only at the start of a line", 0 },
	{ "localhost", "'localhost' is not a mail domain", 0 },
	{ "@jl.nu", "'@jl.nu' is not a mail domain", 0 },
	{ "femme@jl.nu", "'femme@jl.nu' is not a mail domain", 0 },
	{ "jl..nu", "'jl..nu' is not a mail domain", 0 },
	{ "-jl.nu", "'-jl.nu' is not a mail domain", 0 },
	{ "jl.nu.", "'jl.nu.' is not a mail domain", 0 },
	{ "jl_nu.nl", "'jl_nu.nl' is not a mail domain", 0 },
};

static const struct list_case coordinator_cases[] = {
	{ "femme@jl.nu, Donna@jl.nu", "femme@jl.nu|donna@jl.nu", 1 },
	{ "femme@jl.nu;donna@jl.nu dirk@jl.nu", "femme@jl.nu|donna@jl.nu|"
	    "dirk@jl.nu", 1 },
	{ "Femme de Vries <Femme@jl.nu>, donna@jl.nu", "femme@jl.nu|"
	    "donna@jl.nu", 1 },
	{ "\"Vries, Femme de\" <femme@jl.nu>;Donna <donna@jl.nu>",
	    "femme@jl.nu|donna@jl.nu", 1 },
	{ "", "", 1 },
	{ "femme@jl.nu ; coordinators", "femme@jl.nu", 1 },
	{ "femme@jl.nu ; donna@jl.nu", "'donna@jl.nu' after it would be "
	    "ignored", 0 },
	{ "femme", "[organization] coordinators: 'femme' is not an address", 0 },
	{ "femme@jl.nu # coordinators", "'#' is not an address", 0 },
	{ "Femme de Vries", "'Femme' is not an address", 0 },
	{ "Femme <femme@jl.nu", "'Femme <femme@jl.nu' is not an address", 0 },
	{ "Femme <femme@jl.nu> extra", "is not an address", 0 },
	{ "Femme <femme>", "'femme' is not an address", 0 },
	{ "femme@@jl.nu", "'femme@@jl.nu' is not an address", 0 },
	{ "femme@jl", "'femme@jl' is not an address", 0 },
};

static void
list_cases(const char *key, const struct list_case *cases, size_t n,
    int coordinators)
{
	for (size_t i = 0; i < n; i++) {
		char err[512] = "";
		struct config *c;
		struct buf got;

		c = load_replacing("[organization]\n", key, cases[i].value,
		    err, sizeof(err));
		if (!cases[i].ok) {
			if (c != NULL || strstr(err, cases[i].want) == NULL)
				fail_msg("%s '%s': want '%s', got '%s'", key,
				    cases[i].value, cases[i].want,
				    c ? "(loaded)" : err);
			config_free(c);
			continue;
		}
		if (c == NULL)
			fail_msg("%s '%s': %s", key, cases[i].value, err);
		buf_init(&got, 0);
		for (char **p = coordinators ? c->coordinators : c->domains;
		    *p; p++)
			buf_addf(&got, "%s%s", got.len ? "|" : "", *p);
		if (strcmp(buf_str(&got), cases[i].want) != 0)
			fail_msg("%s '%s': want '%s', got '%s'", key,
			    cases[i].value, cases[i].want, buf_str(&got));
		buf_free(&got);
		config_free(c);
	}
}

static void
test_domains(void **state)
{
	(void)state;
	list_cases("domains", domain_cases, ARRAY_LEN(domain_cases), 0);
}

static void
test_coordinators(void **state)
{
	(void)state;
	list_cases("coordinators", coordinator_cases,
	    ARRAY_LEN(coordinator_cases), 1);
}

/* A key whose value is good or refused with an error containing want. */
struct value_case {
	const char	*header;
	const char	*key;
	const char	*value;
	const char	*want;		/* NULL: loads */
};

static const struct value_case value_cases[] = {
	{ "[organization]\n", "announce", "Intranet@jl.nu", NULL },
	{ "[organization]\n", "announce", "intranet", "[organization] "
	    "announce: 'intranet' is not an address" },
	{ "[organization]\n", "announce", "Intranet <intranet@jl.nu>",
	    "is not an address" },
	{ "[publish]\n", "base_url", "http://intranet.jl.nu/", NULL },
	{ "[publish]\n", "base_url", "HTTPS://intranet.jl.nu/x/", NULL },
	{ "[publish]\n", "base_url", "intranet.jl.nu/leernetwerken",
	    "[publish] base_url: expected an http:// or https:// address" },
	{ "[publish]\n", "base_url", "ftp://intranet.jl.nu/",
	    "expected an http:// or https://" },
	{ "[publish]\n", "base_url", "https://", "expected an http://" },
	{ "[publish]\n", "base_url", "https://a b/", "expected an http://" },
	{ "[publish]\n", "base_url", "https://intra.jl.nu/ln/?page=1",
	    "no query (?), fragment (#)" },
	{ "[publish]\n", "base_url", "https://intra.jl.nu/ln/#top",
	    "no query (?), fragment (#)" },
	{ "[publish]\n", "base_url", "https://sch\xc3\xb6ol.nl/ln/",
	    "in its xn-- form" },
	{ "[publish]\n", "base_url", "https://intra.jl.nu/<ln>/",
	    "any of <>\"\\^`{|}, got 'https://intra.jl.nu/<ln>/'" },
	{ "[smtp]\n", "url", "smtp://127.evil.com:25\ntls = none",
	    "[smtp] tls: 'none' is allowed only for localhost, ::1 and "
	    "127.x.x.x, not for '127.evil.com'" },
	{ "[smtp]\n", "url", "smtp://127.0.0.2:25\ntls = none", NULL },
	{ "[smtp]\n", "url", "smtp://[::1]:25\ntls = none", NULL },
};

static void
test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(value_cases); i++) {
		const struct value_case *vc = &value_cases[i];
		char err[512] = "";
		struct config *c;

		c = load_replacing(vc->header, vc->key, vc->value, err,
		    sizeof(err));
		if (vc->want == NULL && c == NULL)
			fail_msg("%s '%s': %s", vc->key, vc->value, err);
		if (vc->want != NULL && (c != NULL ||
		    strstr(err, vc->want) == NULL))
			fail_msg("%s '%s': want '%s', got '%s'", vc->key,
			    vc->value, vc->want, c ? "(loaded)" : err);
		config_free(c);
	}
	/* Non-ASCII is percent-encoded: List-Archive must be ASCII. */
	{
		char err[512] = "";
		struct config *c = load_replacing("[publish]\n", "base_url",
		    "https://intra.jl.nu/leernetw\xc3\xabrken/", err,
		    sizeof(err));

		assert_non_null(c);
		assert_string_equal(c->base_url,
		    "https://intra.jl.nu/leernetw%C3%ABrken/");
		config_free(c);
	}
}

/* Day names: full, or two or three letters; Dutch or English. */
static const struct int_case days[] = {
	{ "weekly mon 07:00", 1 }, { "weekly Monday 07:00", 1 },
	{ "weekly ma 07:00", 1 }, { "weekly maandag 07:00", 1 },
	{ "weekly maa 07:00", 1 }, { "weekly tue 07:00", 2 },
	{ "weekly di 07:00", 2 }, { "weekly woensdag 07:00", 3 },
	{ "weekly wo 07:00", 3 }, { "weekly thu 07:00", 4 },
	{ "weekly do 07:00", 4 }, { "weekly vr 07:00", 5 },
	{ "weekly fri 07:00", 5 }, { "weekly za 07:00", 6 },
	{ "weekly zondag 07:00", 0 }, { "weekly sun 07:00", 0 },
	{ "weekly maart 07:00", -1 }, { "weekly mond 07:00", -1 },
	{ "weekly m 07:00", -1 }, { "weekly donderdagmiddag 07:00", -1 },
	{ "weekly sunny 07:00", -1 }, { "weekly 1 07:00", -1 },
};

static int
get_wday(const struct config *c)
{
	return c->digest_wday;
}

static void
test_schedule_days(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(days); i++) {
		char err[512] = "", want[200];
		struct config *c;

		c = load_replacing("[digest]\n", "schedule", days[i].value, err,
		    sizeof(err));
		if (days[i].want >= 0) {
			if (c == NULL)
				fail_msg("'%s': %s", days[i].value, err);
			if (get_wday(c) != days[i].want)
				fail_msg("'%s': day %d, want %d", days[i].value,
				    get_wday(c), days[i].want);
			config_free(c);
			continue;
		}
		if (c != NULL)
			fail_msg("'%s': loaded", days[i].value);
		snprintf(want, sizeof(want), "[digest] schedule: expected "
		    "'daily HH:MM', 'weekly DAY HH:MM' or 'off', got '%s'",
		    days[i].value);
		if (strstr(err, want) == NULL)
			fail_msg("'%s': got '%s'", days[i].value, err);
	}
}

/* A config whose [mailbox] secret is the given line instead of
 * "password = geheim"; *c loaded, or NULL with err. */
static struct config *
with_secret(const char *line, const char *file, char *err, size_t errlen)
{
	const char *at = strstr(good, "password = geheim\n");
	struct config *c;
	struct buf b;
	FILE *fp;

	buf_init(&b, 0);
	buf_add(&b, good, (size_t)(at - good));
	buf_adds(&b, line);
	buf_adds(&b, at + strlen("password = geheim"));
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs(buf_str(&b), fp);
	fclose(fp);
	buf_free(&b);
	c = config_load(file, err, errlen);
	return c;
}

static void
write_file(const char *name, const char *text)
{
	FILE *fp = fopen(name, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_password_file(void **state)
{
	char dir[] = "/tmp/leernet-pw-XXXXXX", conf[128], file[128];
	char creds[128], err[512] = "", *s;
	struct config *c;
	int permanent;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/leernet.conf", dir);
	snprintf(file, sizeof(file), "%s/mailbox-password", dir);
	snprintf(creds, sizeof(creds), "%s/creds", dir);
	assert_int_equal(mkdir(creds, 0700), 0);
	write_file(file, "next-to-the-config\n");
	unsetenv("CREDENTIALS_DIRECTORY");

	/* Outside systemd: next to the config file, not in the cwd. */
	assert_int_equal(chdir("/"), 0);
	c = with_secret("password_file = mailbox-password", conf, err,
	    sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->mailbox.password_file, file);
	s = config_secret(&c->mailbox, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(s, "next-to-the-config");
	free(s);
	config_free(c);

	/* Under systemd: the credential. */
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	c = with_secret("password_file = mailbox-password", conf, err,
	    sizeof(err));
	assert_non_null(c);
	assert_null(config_secret_ex(&c->mailbox, &permanent, err,
	    sizeof(err)));
	/* Where it looked, and why there. */
	assert_non_null(strstr(err, "[mailbox] password_file: cannot read '"));
	assert_non_null(strstr(err, "/creds/mailbox-password': No such file"));
	assert_non_null(strstr(err, "$CREDENTIALS_DIRECTORY"));
	assert_true(permanent);
	config_free(c);
	unsetenv("CREDENTIALS_DIRECTORY");

	/* An empty file, an empty key. */
	write_file(file, "\n");
	c = with_secret("password_file = mailbox-password", conf, err,
	    sizeof(err));
	assert_non_null(c);
	assert_null(config_secret_ex(&c->mailbox, &permanent, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "[mailbox] password_file: '"));
	assert_non_null(strstr(err, "' is empty"));
	assert_true(permanent);
	config_free(c);
	/* An empty key is not set (SPEC §3 writes "ca_file ="). */
	assert_null(with_secret("password_file =", conf, err, sizeof(err)));
	assert_non_null(strstr(err, "[mailbox] password: missing"));

	unlink(file);
	unlink(conf);
	rmdir(creds);
	rmdir(dir);
}

static const struct {
	const char	*command;
	const char	*want;		/* NULL: the secret "token" */
	int		 permanent;
} commands[] = {
	{ "echo token", NULL, 0 },
	{ "true", "[mailbox] password_command: 'true' printed nothing", 1 },
	{ "echo", "printed nothing", 1 },
	{ "leernet-no-such-helper --secret x", "[mailbox] password_command: "
	    "'leernet-no-such-helper' not found (exit status 127)", 1 },
	{ "/etc/passwd", "'/etc/passwd' cannot be run (exit status 126)", 1 },
	{ "exit 3", "[mailbox] password_command failed (exit status 3)", 0 },
};

static void
test_password_command(void **state)
{
	char err[512];
	struct config *c;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		char line[200], *s;
		int permanent = -1;

		snprintf(line, sizeof(line), "password_command = %s",
		    commands[i].command);
		c = with_secret(line, write_conf(""), err, sizeof(err));
		assert_non_null(c);
		s = config_secret_ex(&c->mailbox, &permanent, err, sizeof(err));
		if (commands[i].want == NULL) {
			assert_non_null(s);
			assert_string_equal(s, "token");
			free(s);
		} else {
			if (s != NULL || strstr(err, commands[i].want) == NULL)
				fail_msg("'%s': want '%s', got '%s'",
				    commands[i].command, commands[i].want,
				    s ? s : err);
			/* Never the command's arguments: they may be secret. */
			assert_null(strstr(err, "--secret"));
			assert_int_equal(permanent, commands[i].permanent);
		}
		config_free(c);
		unlink(path);
	}
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
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_coordinators),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_schedule_days),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_password_command),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
