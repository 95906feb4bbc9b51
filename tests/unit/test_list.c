/*
 * test_list.c - the pure parts of the network lists: which list addresses
 * a mail is sent to, and the list copy (headers around the author's
 * unchanged body with the footer on leaving; every shape of body is in
 * test_footer.c).
 * Fixtures: $LEERNET_TEST_DATA/{mail,lists} (default tests/fixtures).
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

	/* Servers that write the envelope elsewhere: Postfix's local and
	 * virtual (X-Original-To), Exim (Envelope-To, a list). */
	assert_int_equal(targets("From: a@school.test\r\n"
	    "X-Original-To: lido+bcc@school.test\r\n"
	    "To: undisclosed-recipients:;\r\nSubject: x\r\n\r\nhoi\r\n",
	    &s), 1);
	assert_string_equal(s[0], "bcc");
	list_targets_free(s);
	assert_int_equal(targets("From: a@school.test\r\n"
	    "Envelope-To: bob@school.test,lido+taal@school.test, "
	    "<lido+rekenen@school.test>\r\n"
	    "To: bob@school.test\r\nSubject: x\r\n\r\nhoi\r\n", &s), 2);
	assert_string_equal(s[0], "taal");
	assert_string_equal(s[1], "rekenen");
	list_targets_free(s);
	/* A comma ends an address: no slug of "taal,lido+x". */
	assert_int_equal(targets("From: a@school.test\r\n"
	    "Envelope-To: lido+taal,x@school.test\r\n"
	    "To: bob@school.test\r\nSubject: x\r\n\r\nhoi\r\n", &s), 0);
	assert_null(s);
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

static const char *title = "Rekenen in groep 3";
static enum footer_way way;		/* of the last compose() */
static const char *why;

static char *
compose(const char *raw, const char *footer, size_t *len, char **msgid)
{
	struct message *m = parse(raw);
	struct list_info li = { 0 };
	char *out;

	li.slug = "rekenen";
	li.title = title;
	li.footer = footer;
	li.leave_word = "afmelden";
	li.domain = "school.test";
	li.now = 1700000000;
	out = list_compose(&cfg, m, raw, strlen(raw), &li, len, msgid);
	way = li.footer_way;
	why = li.footer_why;
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
test_compose_multipart_mixed_gets_a_last_part(void **state)
{
	static const char body[] =
	    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHoi\r\n"
	    "--b1\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF/w==\r\n";
	char raw[2048], *out, *id, *want;
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
	    "Content-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\n%s"
	    "--b1--\r\nepilogue\r\n", body);
	out = compose(raw, "-- \nfooter\n", &len, &id);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	assert_string_equal(id, "m1@school.test");
	/* The author's parts byte for byte, then ours, then the close and
	 * the epilogue as they were. */
	assert_int_equal(way, FOOTER_PART);
	want = xasprintf("%s--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "Content-Disposition: inline\r\n\r\n"
	    "-- \r\nfooter\r\n\r\n--b1--\r\nepilogue\r\n", body);
	assert_string_equal(body_of(out), want);
	free(want);
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
	    "<mailto:lido@school.test?subject=afmelden%20rekenen"
	    "&body=list-unsubscribe>"));
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

	/* Without a footer text the body is not touched at all. */
	out = compose(raw, NULL, &len, &id);
	assert_int_equal(way, FOOTER_NONE);
	assert_string_equal(why, "no footer text");
	want = xasprintf("%s--b1--\r\nepilogue\r\n", body);
	assert_string_equal(body_of(out), want);
	free(want);
	free(out);
	free(id);
}

/* The Subject of a composed copy, as a reader's client decodes it. */
static char *
copy_subject(const char *raw)
{
	size_t len;
	char *out, *id, *subj;
	struct message *m;

	out = compose(raw, NULL, &len, &id);
	assert_non_null(out);
	m = parse(out);
	subj = xstrdup(m->subject);
	message_free(m);
	free(out);
	free(id);
	return subj;
}

static void
test_compose_tag_once_however_written(void **state)
{
	static const char *const same[] = {
	    /* "Re: [Één taal] vraag" from a Mac: decomposed (NFD) */
	    "Subject: =?utf-8?q?Re=3A_=5BE=CC=81e=CC=81n_taal=5D_vraag?=",
	    /* composed (NFC), as the tag was sent */
	    "Subject: =?utf-8?q?Re=3A_=5B=C3=89=C3=A9n_taal=5D_vraag?=",
	    /* another case and spacing */
	    "Subject: =?utf-8?q?Re=3A_=5B=C3=A9=C3=A9N__Taal_=5D_vraag?=",
	};
	const char *saved = title;
	char raw[512], *subj;

	(void)state;
	title = "\xc3\x89\xc3\xa9n taal";
	for (size_t i = 0; i < ARRAY_LEN(same); i++) {
		snprintf(raw, sizeof(raw), "From: bob@school.test\r\n"
		    "To: lido+rekenen@school.test\r\n%s\r\n"
		    "Message-ID: <t%zu@school.test>\r\n\r\nbody\r\n",
		    same[i], i);
		subj = copy_subject(raw);
		if (strncmp(subj, "Re: [", 5) != 0)
			fail_msg("subject %zu tagged again: %s", i, subj);
		free(subj);
	}
	/* A title that does not fold (Greek) is not found in another
	 * bracketed tag that does not fold either. */
	title = "\xce\x95\xce\xbb\xce\xbb\xce\xac\xce\xb4\xce\xb1";
	subj = copy_subject("From: bob@school.test\r\nSubject: =?utf-8?q?"
	    "=5B=D0=A0=D1=83=D1=81=5D_x?=\r\n\r\nbody\r\n");
	assert_string_equal(subj, "[\xce\x95\xce\xbb\xce\xbb\xce\xac"
	    "\xce\xb4\xce\xb1] [\xd0\xa0\xd1\x83\xd1\x81] x");
	free(subj);
	title = "\xc3\x89\xc3\xa9n taal";
	/* A subject that only names the network is still tagged. */
	subj = copy_subject("From: bob@school.test\r\nSubject: =?utf-8?q?"
	    "Over_=C3=A9=C3=A9n_taal?=\r\n\r\nbody\r\n");
	assert_string_equal(subj, "[\xc3\x89\xc3\xa9n taal] Over "
	    "\xc3\xa9\xc3\xa9n taal");
	free(subj);
	title = saved;
}

static void
test_compose_plain_lf_footer_and_tag(void **state)
{
	const char *raw = "From: bob@school.test\nTo: lido+rekenen@school.test\n"
	    "Subject: Tafels\nMessage-ID: <m2@school.test>\n\nregel 1\nregel 2";
	char *out, *id;
	size_t len;

	(void)state;
	cfg.base_url = (char *)"https://intranet.school.test/netwerken";
	out = compose(raw, "-- \nvoet\n", &len, &id);
	cfg.base_url = NULL;
	assert_non_null(out);
	assert_int_equal(way, FOOTER_APPEND);
	assert_true(has_line(out, "Subject: [Rekenen in groep 3] Tafels"));
	assert_true(has_line(out, "List-Archive: "
	    "<https://intranet.school.test/netwerken/rekenen/>"));
	/* LF became CRLF; a body without a final newline gets one before
	 * the footer. */
	assert_string_equal(body_of(out),
	    "regel 1\r\nregel 2\r\n\r\n-- \r\nvoet\r\n");
	assert_null(strstr(out, "\r\r"));
	/* Not MIME before, not MIME now. */
	assert_null(strstr(out, "MIME-Version"));
	free(out);
	free(id);
}

static char *
slurp(const char *name, size_t *len)
{
	const char *dir = getenv("LEERNET_TEST_DATA");
	char *path = xasprintf("%s/%s", dir ? dir : "tests/fixtures", name);
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), 0);
	fclose(f);
	free(path);
	*len = b.len;
	return buf_steal(&b);
}

/* Real mail from real clients: every one gets the footer, and the author's
 * body is in the copy unchanged (its line ends made CRLF). */
static void
test_compose_real_clients(void **state)
{
	static const struct {
		const char *file;
		enum footer_way want;
	} c[] = {
		{ "mail/gmail_nl_alternative.eml", FOOTER_WRAP },
		{ "mail/iphone_nl.eml", FOOTER_WRAP },
		{ "mail/outlook_html_nl_cp1252.eml", FOOTER_WRAP },
		{ "mail/exchange_html_body.eml", FOOTER_WRAP },
		{ "mail/encoded_filename.eml", FOOTER_PART },
		{ "lists/thunderbird_pgp_signed.eml", FOOTER_WRAP },
		{ "mail/thunderbird_iso88591_qp.eml", FOOTER_QP },
		{ "mail/outlook_plain_oorspronkelijk_nl.eml", FOOTER_APPEND },
		{ "mail/chinese_reply.eml", FOOTER_WRAP },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct message *m;
		struct list_info li = { 0 };
		struct buf want;
		char *raw, *out, *id, *close;
		size_t len, olen, body;

		raw = slurp(c[i].file, &len);
		assert_int_equal(message_parse(raw, len, &m), 0);
		li.slug = "rekenen";
		li.title = "Rekenen in groep 3";
		li.footer = "-- \nLeernetwerk Rekenen in groep 3\n";
		li.leave_word = "afmelden";
		li.domain = "school.test";
		out = list_compose(&cfg, m, raw, len, &li, &olen, &id);
		assert_non_null(out);
		if (li.footer_way != c[i].want)
			fail_msg("%s: footer %s, want %s", c[i].file,
			    footer_way_name(li.footer_way),
			    footer_way_name(c[i].want));
		assert_non_null(strstr(out, "Leernetwerk Rekenen in groep 3"));
		/* The body with CRLF line ends, up to a closing delimiter
		 * (after which PART puts its part) and the rest after it. */
		body = m->body_offset < len ? m->body_offset : len;
		buf_init(&want, 0);
		for (size_t k = body; k < len; k++) {
			if (raw[k] == '\n' && (k == body || raw[k - 1] != '\r'))
				buf_addc(&want, '\r');
			buf_addc(&want, raw[k]);
		}
		if (c[i].want == FOOTER_PART) {
			close = strstr(want.data, "\r\n------=_Part_5028_"
			    "7368284.1115579351471--");
			assert_non_null(close);
			assert_non_null(strstr(out, close));
			*close = '\0';
		}
		assert_non_null(strstr(out, want.data));
		buf_free(&want);
		message_free(m);
		free(raw);
		free(out);
		free(id);
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
		cmocka_unit_test(test_compose_multipart_mixed_gets_a_last_part),
		cmocka_unit_test(test_compose_plain_lf_footer_and_tag),
		cmocka_unit_test(test_compose_tag_once_however_written),
		cmocka_unit_test(test_compose_real_clients),
		cmocka_unit_test(test_compose_hostile),
	};

	cfg.from_addr = from_addr;
	cfg.language = lang;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
