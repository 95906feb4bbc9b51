/*
 * test_list.c - the pure parts of the network lists: which list addresses
 * a mail is sent to, and the list copy (headers around the author's
 * unchanged body).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "list.h"
#include "message.h"
#include "util.h"

static struct config cfg;

static struct message *
parse(const char *raw)
{
	struct message *m = NULL;

	assert_int_equal(message_parse(raw, strlen(raw), &m), 0);
	return m;
}

static size_t
targets(const char *raw, char ***slugs)
{
	struct message *m = parse(raw);
	size_t n = list_targets(m, &cfg, slugs);

	message_free(m);
	return n;
}

static void
test_targets_from_to_cc_and_delivered_to(void **state)
{
	char **s;

	(void)state;
	assert_int_equal(targets("From: a@school.test\r\n"
	    "To: Lijst <LIDO+Rekenen@School.Test>\r\n"
	    "Cc: lido@school.test, lido+taal@school.test\r\n"
	    "Delivered-To: lido+rekenen@school.test\r\n"
	    "Subject: x\r\n\r\nhoi\r\n", &s), 2);
	/* Delivered-To first, then To, then Cc; no duplicates; lower case. */
	assert_string_equal(s[0], "rekenen");
	assert_string_equal(s[1], "taal");
	assert_null(s[2]);
	list_targets_free(s);

	assert_int_equal(targets("From: a@school.test\r\n"
	    "Delivered-To: <lido+bcc@school.test>\r\n"
	    "To: bob@school.test\r\nSubject: x\r\n\r\nhoi\r\n", &s), 1);
	assert_string_equal(s[0], "bcc");
	list_targets_free(s);
}

static void
test_targets_rejects_lookalikes(void **state)
{
	static const char *const no[] = {
		"lido@school.test",		/* the plain address: commands */
		"lido+@school.test",		/* empty slug */
		"lido+rekenen@other.test",	/* other domain */
		"lido+rekenen@school.test.evil",
		"lidox+rekenen@school.test",	/* other local part */
		"lid+rekenen@school.test",
		"bob+rekenen@school.test",
		"lido+rek/enen@school.test",	/* not a slug */
		"\"lido+a b\"@school.test",
		"lido+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "@school.test",		/* 61 characters */
	};
	char raw[512], **s;

	(void)state;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(raw, sizeof(raw), "From: a@school.test\r\nTo: %s\r\n"
		    "Delivered-To: %s\r\nSubject: x\r\n\r\nhoi\r\n", no[i],
		    no[i]);
		if (targets(raw, &s) != 0)
			fail_msg("%s taken for a list address", no[i]);
		assert_null(s);
	}
}

static void
test_targets_capped(void **state)
{
	struct buf b;
	char **s;

	(void)state;
	buf_init(&b, 0);
	buf_adds(&b, "From: a@school.test\r\nTo: ");
	for (int i = 0; i < 100; i++)
		buf_addf(&b, "%slido+l%d@school.test", i ? ", " : "", i);
	buf_adds(&b, "\r\nSubject: x\r\n\r\nhoi\r\n");
	assert_int_equal(targets(buf_str(&b), &s), LIST_MAX_TARGETS);
	assert_null(s[LIST_MAX_TARGETS]);
	list_targets_free(s);
	buf_free(&b);
}

static void
test_list_address(void **state)
{
	char *a = list_address(&cfg, "rekenen");

	(void)state;
	assert_string_equal(a, "lido+rekenen@school.test");
	free(a);
}

static char *
compose(const char *raw, const char *footer, size_t *len, char **msgid)
{
	struct message *m = parse(raw);
	struct list_info li = { 0 };
	char *out;

	li.slug = "rekenen";
	li.title = "Rekenen in groep 3";
	li.footer = footer;
	li.leave_word = "afmelden";
	li.domain = "school.test";
	li.now = 1700000000;
	out = list_compose(&cfg, m, raw, strlen(raw), &li, len, msgid);
	message_free(m);
	return out;
}

/* The header block of a composed mail, and where its body starts. */
static const char *
body_of(const char *mail)
{
	const char *p = strstr(mail, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

static int
has_line(const char *mail, const char *line)
{
	size_t n = strlen(line);
	const char *end = strstr(mail, "\r\n\r\n");

	for (const char *p = mail; p && p < end; p = strstr(p, "\r\n")) {
		if (p != mail)
			p += 2;
		if (strncmp(p, line, n) == 0 && p[n] == '\r')
			return 1;
	}
	return 0;
}

static void
test_compose_multipart_unchanged(void **state)
{
	static const char body[] =
	    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHoi\r\n"
	    "--b1\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF/w==\r\n"
	    "--b1--\r\n";
	char raw[2048], *out, *id;
	size_t len;

	(void)state;
	snprintf(raw, sizeof(raw),
	    "From: Alice Jansen <alice@school.test>\r\n"
	    "To: lido+rekenen@school.test\r\n"
	    "Subject: Re: [Rekenen in groep 3] Werkblad\r\n"
	    "Message-ID: <m1@school.test>\r\n"
	    "In-Reply-To: <m0@school.test>\r\n"
	    "References: <a@x> <m0@school.test>\r\n"
	    "X-Secret: not copied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\n%s",
	    body);
	out = compose(raw, "-- \nfooter\n", &len, &id);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	assert_string_equal(id, "m1@school.test");
	/* Byte-for-byte body: no footer in a multipart. */
	assert_string_equal(body_of(out), body);
	assert_true(has_line(out, "Message-ID: <m1@school.test>"));
	assert_true(has_line(out, "From: Alice Jansen via Rekenen in groep 3"
	    " <lido@school.test>"));
	assert_true(has_line(out, "Reply-To: Alice Jansen <alice@school.test>"));
	assert_true(has_line(out, "To: Rekenen in groep 3 "
	    "<lido+rekenen@school.test>"));
	assert_true(has_line(out, "Subject: Re: [Rekenen in groep 3] Werkblad"));
	assert_true(has_line(out, "In-Reply-To: <m0@school.test>"));
	assert_true(has_line(out, "References: <a@x> <m0@school.test>"));
	assert_true(has_line(out, "List-Id: <rekenen.lido.school.test>"));
	assert_true(has_line(out, "List-Post: <mailto:lido+rekenen@school.test>"));
	assert_true(has_line(out, "List-Unsubscribe: "
	    "<mailto:lido@school.test?subject=afmelden%20rekenen>"));
	assert_true(has_line(out, "Precedence: list"));
	assert_true(has_line(out, "X-Loop: lido@school.test"));
	assert_true(has_line(out, "MIME-Version: 1.0"));
	/* The fold of the author's Content-Type is kept as written. */
	assert_non_null(strstr(out, "Content-Type: multipart/mixed;\r\n "
	    "boundary=\"b1\"\r\n"));
	assert_null(strstr(out, "X-Secret"));
	assert_null(strstr(out, "List-Archive"));
	free(out);
	free(id);
}

static void
test_compose_plain_lf_footer_and_tag(void **state)
{
	const char *raw = "From: bob@school.test\nTo: lido+rekenen@school.test\n"
	    "Subject: Tafels\nMessage-ID: <m2@school.test>\n\nregel 1\nregel 2";
	struct message *m = parse(raw);
	char *out, *id;
	size_t len;

	(void)state;
	assert_int_equal(list_footer_ok(m, raw, strlen(raw)), 1);
	message_free(m);
	cfg.base_url = (char *)"https://intranet.school.test/netwerken";
	out = compose(raw, "-- \nvoet\n", &len, &id);
	cfg.base_url = NULL;
	assert_non_null(out);
	assert_true(has_line(out, "Subject: [Rekenen in groep 3] Tafels"));
	assert_true(has_line(out, "List-Archive: "
	    "<https://intranet.school.test/netwerken/rekenen/>"));
	/* LF became CRLF; a body without a final newline gets one before
	 * the footer. */
	assert_string_equal(body_of(out),
	    "regel 1\r\nregel 2\r\n\r\n-- \r\nvoet\r\n");
	assert_null(strstr(out, "\r\r"));
	free(out);
	free(id);
}

static void
test_footer_only_for_plain_7bit_8bit(void **state)
{
	static const struct {
		const char *headers;
		int want;
	} c[] = {
		{ "", 1 },
		{ "Content-Type: text/plain; charset=utf-8\r\n", 1 },
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n", 2 },
		{ "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n", 1 },
		{ "Content-Type: text/plain; charset=utf-16\r\n", 0 },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n", 0 },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: base64\r\n", 0 },
		{ "Content-Type: text/html\r\n", 0 },
		{ "Content-Type: multipart/mixed; boundary=x\r\n", 0 },
	};
	char raw[512];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct message *m;

		snprintf(raw, sizeof(raw), "From: b@school.test\r\n%s"
		    "Subject: x\r\n\r\nhoi\r\n", c[i].headers);
		m = parse(raw);
		if (list_footer_ok(m, raw, strlen(raw)) != c[i].want)
			fail_msg("case %zu: want %d", i, c[i].want);
		message_free(m);
	}
}

static void
test_compose_hostile(void **state)
{
	char *out, *id;
	size_t len;

	(void)state;
	/* Encoded CR/LF in the name and subject cannot add a header. */
	out = compose("From: =?UTF-8?Q?Eve=0D=0ABcc:_x@evil?= <eve@school.test>\r\n"
	    "Subject: =?UTF-8?Q?hi=0D=0ABcc:_y@evil?=\r\n"
	    "Message-ID: <bad id\x01@x>\r\n"
	    "References: <\xc3\xa9@x>\r\n\r\nbody\r\n", NULL, &len, &id);
	assert_non_null(out);
	assert_null(strstr(out, "\r\nBcc:"));
	/* No usable Message-ID of its own: a fresh one. */
	assert_null(strstr(out, "bad id"));
	assert_non_null(strstr(out, "Message-ID: <"));
	assert_non_null(strstr(id, "@school.test"));
	assert_string_equal(body_of(out), "body\r\n");
	for (const char *p = out; p < body_of(out); p++)
		assert_true((unsigned char)*p < 0x80);
	free(out);
	free(id);

	/* No header/body separator, no body at all, no subject. */
	out = compose("From: a@school.test\r\n", "voet\n", &len, &id);
	assert_non_null(out);
	assert_true(has_line(out, "Subject: [Rekenen in groep 3]"));
	free(out);
	free(id);

	/* An author address that cannot go in a header: nothing. */
	out = compose("From: <\"a b\"@school.test>\r\nSubject: x\r\n\r\nb\r\n",
	    NULL, &len, &id);
	if (out != NULL) {
		assert_non_null(strstr(out, "Reply-To:"));
		free(out);
		free(id);
	} else
		assert_null(id);
}

int
main(void)
{
	static char from_addr[] = "lido@school.test", lang[] = "nl";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_from_to_cc_and_delivered_to),
		cmocka_unit_test(test_targets_rejects_lookalikes),
		cmocka_unit_test(test_targets_capped),
		cmocka_unit_test(test_list_address),
		cmocka_unit_test(test_compose_multipart_unchanged),
		cmocka_unit_test(test_compose_plain_lf_footer_and_tag),
		cmocka_unit_test(test_footer_only_for_plain_7bit_8bit),
		cmocka_unit_test(test_compose_hostile),
	};

	cfg.from_addr = from_addr;
	cfg.language = lang;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
