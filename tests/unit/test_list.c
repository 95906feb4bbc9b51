/*
 * test_list.c - the pure parts of the network lists: which list addresses
 * a mail is sent to, and the list copy (headers around the author's
 * unchanged body, and the footer on leaving in every shape of body).
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
static enum list_footer way;		/* of the last compose() */
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

/* How often s occurs in the header block of mail. */
static int
header_count(const char *mail, const char *s)
{
	const char *end = strstr(mail, "\r\n\r\n"), *p = mail;
	int n = 0;

	while ((p = strstr(p, s)) != NULL && p < end) {
		n++;
		p++;
	}
	return n;
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
	assert_int_equal(way, LIST_FOOTER_PART);
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

	/* Without a footer text the body is not touched at all. */
	out = compose(raw, NULL, &len, &id);
	assert_int_equal(way, LIST_FOOTER_NONE);
	assert_string_equal(why, "no footer text");
	want = xasprintf("%s--b1--\r\nepilogue\r\n", body);
	assert_string_equal(body_of(out), want);
	free(want);
	free(out);
	free(id);
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
	assert_int_equal(way, LIST_FOOTER_APPEND);
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

/* Which way the footer goes, for each shape of body (SPEC §4b). */
static void
test_footer_way_per_shape(void **state)
{
	static const char ascii[] = "-- \nvoet\n";
	static const char utf8[] = "-- \nTaal & Lezen \xe2\x80\x94 groep 5\n";
	static const struct {
		const char *headers, *body, *footer;
		enum list_footer want;
	} c[] = {
		{ "", "hoi\r\n", ascii, LIST_FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=utf-8\r\n", "hoi\r\n",
		    ascii, LIST_FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n", "h\xc3\xa9\r\n", utf8,
		    LIST_FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n",
		    "h\xe9\r\n", ascii, LIST_FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=windows-1252\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_APPEND },
		/* A non-ASCII footer (the title) in ASCII or 7bit text. */
		{ "Content-Type: text/plain; charset=utf-8\r\n", "hoi\r\n",
		    utf8, LIST_FOOTER_RELABEL },
		{ "Content-Type: text/plain; charset=us-ascii\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n", "hoi\r\n", utf8,
		    LIST_FOOTER_RELABEL },
		{ "", "hoi\r\n", utf8, LIST_FOOTER_RELABEL },
		{ "Content-Type: text/plain; charset=us-ascii\r\n",
		    "h\xe9\r\n", utf8, LIST_FOOTER_WRAP },	/* mislabelled */
		{ "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n",
		    "hoi\r\n", utf8, LIST_FOOTER_WRAP },
		{ "Content-Type: text/plain; charset=utf-16\r\n", "hoi\r\n",
		    ascii, LIST_FOOTER_WRAP },
		/* Quoted-printable: our lines in QP too, where they fit. */
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n",
		    "Caf=C3=A9\r\n", utf8, LIST_FOOTER_QP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: Quoted-Printable\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_QP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n",
		    "hoi\r\n", utf8, LIST_FOOTER_WRAP },
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n", "aG9pCg==\r\n",
		    ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: text/html; charset=utf-8\r\n", "<p>hoi</p>\r\n",
		    ascii, LIST_FOOTER_WRAP },
		/* A text file is a file: its bytes are its content. */
		{ "Content-Type: text/plain\r\n"
		    "Content-Disposition: attachment; filename=a.txt\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Disposition: inline; filename=\"a.txt\"\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: text/plain; name=a.txt\r\n", "hoi\r\n", ascii,
		    LIST_FOOTER_WRAP },
		{ "Content-Type: text/plain\r\nContent-Disposition: inline\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_APPEND },
		{ "Content-Type: application/pdf\r\n"
		    "Content-Transfer-Encoding: base64\r\n", "JVBERi0=\r\n",
		    ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: multipart/alternative; boundary=a\r\n",
		    "--a\r\n\r\nhoi\r\n--a--\r\n", ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: multipart/signed; boundary=\"s\"; "
		    "protocol=\"application/pgp-signature\"\r\n",
		    "--s\r\n\r\nhoi\r\n--s\r\n\r\nsig\r\n--s--\r\n", ascii,
		    LIST_FOOTER_WRAP },
		{ "Content-Type: Multipart/Mixed; (c) boundary = \"x y\"\r\n",
		    "--x y\r\n\r\nhoi\r\n--x y--  \r\n", ascii,
		    LIST_FOOTER_PART },
		/* Truncated (no close delimiter), or nested lookalikes. */
		{ "Content-Type: multipart/mixed; boundary=m\r\n",
		    "--m\r\n\r\nhoi\r\n", ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: multipart/mixed; boundary=m\r\n",
		    "--m\r\n\r\n--m--x\r\n--mm--\r\n", ascii, LIST_FOOTER_WRAP },
		{ "Content-Type: multipart/mixed; boundary=m\r\n"
		    "Content-Transfer-Encoding: base64\r\n",
		    "--m\r\n\r\nhoi\r\n--m--\r\n", ascii, LIST_FOOTER_WRAP },
		/* Malformed: nothing to add a part to or to wrap sensibly. */
		{ "Content-Type: multipart/mixed\r\n", "hoi\r\n", ascii,
		    LIST_FOOTER_NONE },
		{ "Content-Type: multipart/alternative; boundary=\"\"\r\n",
		    "hoi\r\n", ascii, LIST_FOOTER_NONE },
		{ "", "hoi\r\n", "\n\n", LIST_FOOTER_NONE },
	};
	char raw[1024], *out, *id;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(raw, sizeof(raw), "From: b@school.test\r\n%s"
		    "Subject: x\r\n\r\n%s", c[i].headers, c[i].body);
		out = compose(raw, c[i].footer, &len, &id);
		assert_non_null(out);
		if (way != c[i].want)
			fail_msg("case %zu: footer %s, want %s", i,
			    list_footer_name(way), list_footer_name(c[i].want));
		if (way == LIST_FOOTER_NONE)
			assert_non_null(why);
		else
			assert_null(why);
		/* The author's body is in the copy as it was (PART: up to
		 * the close delimiter, its own line end kept). */
		if (way == LIST_FOOTER_PART) {
			const char *cl = strstr(c[i].body, "\r\n--x y--");
			char *head = xstrndup(c[i].body,
			    (size_t)(cl - c[i].body));

			assert_non_null(strstr(body_of(out), head));
			assert_non_null(strstr(body_of(out), cl));
			free(head);
		} else
			assert_non_null(strstr(body_of(out), c[i].body));
		free(out);
		free(id);
	}
}

static void
test_compose_relabels_ascii_text_for_a_utf8_footer(void **state)
{
	char *out, *id;
	size_t len;

	(void)state;
	title = "Taal & Lezen \xe2\x80\x94 groep 5";
	out = compose("From: b@school.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\";\r\n"
	    "\tformat=flowed; delsp=yes\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "Content-Language: nl-NL\r\n\r\nHoi allemaal\r\n",
	    "-- \nTaal & Lezen \xe2\x80\x94 groep 5\n", &len, &id);
	title = "Rekenen in groep 3";
	assert_int_equal(way, LIST_FOOTER_RELABEL);
	/* ASCII is UTF-8: only the label changes, the other parameters
	 * stay. */
	assert_true(has_line(out, "Content-Type: text/plain; charset=utf-8; "
	    "format=flowed; delsp=yes"));
	assert_true(has_line(out, "Content-Transfer-Encoding: 8bit"));
	assert_true(has_line(out, "Content-Language: nl-NL"));
	assert_int_equal(header_count(out, "Content-Type:"), 1);
	assert_int_equal(header_count(out, "Content-Transfer-Encoding:"), 1);
	assert_int_equal(header_count(out, "MIME-Version:"), 1);
	assert_null(strstr(out, "us-ascii"));
	assert_string_equal(body_of(out), "Hoi allemaal\r\n\r\n-- \r\n"
	    "Taal & Lezen \xe2\x80\x94 groep 5\r\n");
	free(out);
	free(id);

	/* utf-8 in 7bit keeps its Content-Type as written; no MIME-Version
	 * before: one now. */
	out = compose("From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n\r\nHoi",
	    "-- \n\xc3\xa9\n", &len, &id);
	assert_int_equal(way, LIST_FOOTER_RELABEL);
	assert_true(has_line(out, "Content-Type: text/plain; charset=UTF-8"));
	assert_true(has_line(out, "Content-Transfer-Encoding: 8bit"));
	assert_true(has_line(out, "MIME-Version: 1.0"));
	assert_string_equal(body_of(out), "Hoi\r\n\r\n-- \r\n\xc3\xa9\r\n");
	free(out);
	free(id);
}

static void
test_compose_quoted_printable_footer(void **state)
{
	static const char qp[] = "Caf=C3=A9 om drie uur=\r\n, tot dan.";
	char raw[512], *out, *id, *want;
	size_t len;

	(void)state;
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s", qp);
	out = compose(raw, "-- \nTaal \xe2\x80\x94 5\n", &len, &id);
	assert_int_equal(way, LIST_FOOTER_QP);
	/* The author's encoded lines as they were; ours encoded the same
	 * way (the blank after "--" and the dash escaped). */
	want = xasprintf("%s\r\n\r\n--=20\r\nTaal =E2=80=94 5\r\n", qp);
	assert_string_equal(body_of(out), want);
	free(want);
	free(out);
	free(id);

	/* A soft line break at the very end: the line is ended first. */
	out = compose("From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nhoi=\r\n",
	    "voet\n", &len, &id);
	assert_int_equal(way, LIST_FOOTER_QP);
	assert_string_equal(body_of(out), "hoi=\r\n\r\n\r\nvoet\r\n");
	free(out);
	free(id);
}

static void
test_compose_wraps_html_and_signed_bodies(void **state)
{
	static const char html[] = "<html><body><p>Hoi =E9</p></body></html>\r\n";
	static const char signed_body[] =
	    "This is an OpenPGP/MIME signed message\r\n"
	    "--sig\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "ondertekend\r\n--sig\r\n"
	    "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
	    "\r\n-----BEGIN PGP SIGNATURE-----\r\nxyz\r\n"
	    "-----END PGP SIGNATURE-----\r\n--sig--\r\n";
	char raw[2048], *out, *id, *want, *bd;
	const char *p;
	size_t len;

	(void)state;
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-ID: <c1@x>\r\nContent-Description: brief\r\n"
	    "MIME-Version: 1.0\r\n\r\n%s", html);
	out = compose(raw, "-- \nvoet \xc3\xa9\n", &len, &id);
	assert_int_equal(way, LIST_FOOTER_WRAP);
	/* On top: MIME-Version and the new multipart/mixed; nothing that
	 * described the old body. */
	assert_true(has_line(out, "MIME-Version: 1.0"));
	assert_int_equal(header_count(out, "Content-Type:"), 1);
	assert_int_equal(header_count(out, "Content-Transfer-Encoding:"), 0);
	assert_int_equal(header_count(out, "Content-ID:"), 0);
	assert_int_equal(header_count(out, "Content-Description:"), 0);
	p = strstr(out, "Content-Type: multipart/mixed; boundary=\"");
	assert_non_null(p);
	p += strlen("Content-Type: multipart/mixed; boundary=\"");
	bd = xstrndup(p, strcspn(p, "\""));
	assert_true(strlen(bd) > 20);
	want = xasprintf("--%s\r\n"
	    "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-ID: <c1@x>\r\nContent-Description: brief\r\n\r\n"
	    "%s\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-Disposition: inline\r\n\r\n"
	    "--=20\r\nvoet =C3=A9\r\n\r\n--%s--\r\n", bd, html, bd, bd);
	assert_string_equal(body_of(out), want);
	free(want);
	free(bd);
	free(out);
	free(id);

	/* multipart/signed: wrapped whole, never opened. */
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
	    " protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n"
	    "Content-Disposition: inline\r\n\r\n%s", signed_body);
	out = compose(raw, "-- \nvoet\n", &len, &id);
	assert_int_equal(way, LIST_FOOTER_WRAP);
	p = strstr(body_of(out), "\r\nContent-Type: multipart/signed; "
	    "micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; "
	    "boundary=\"sig\"\r\nContent-Disposition: inline\r\n\r\n");
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	assert_memory_equal(p, signed_body, strlen(signed_body));
	assert_true(strncmp(p + strlen(signed_body), "\r\n--=_lrn_", 10) == 0);
	assert_non_null(strstr(p, "Content-Transfer-Encoding: 7bit\r\n"
	    "Content-Disposition: inline\r\n\r\n-- \r\nvoet\r\n\r\n--=_lrn_"));
	assert_int_equal(header_count(out, "Content-Disposition:"), 0);
	free(out);
	free(id);
}

static void
test_compose_malformed_multipart_says_why(void **state)
{
	char *out, *id;
	size_t len;

	(void)state;
	out = compose("From: b@school.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; bondary=x\r\n\r\n--x\r\n\r\nhoi\r\n"
	    "--x--\r\n", "voet\n", &len, &id);
	assert_non_null(out);
	assert_int_equal(way, LIST_FOOTER_NONE);
	assert_string_equal(why, "a multipart without a boundary");
	assert_string_equal(body_of(out), "--x\r\n\r\nhoi\r\n--x--\r\n");
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
		enum list_footer want;
	} c[] = {
		{ "mail/gmail_nl_alternative.eml", LIST_FOOTER_WRAP },
		{ "mail/iphone_nl.eml", LIST_FOOTER_WRAP },
		{ "mail/outlook_html_nl_cp1252.eml", LIST_FOOTER_WRAP },
		{ "mail/exchange_html_body.eml", LIST_FOOTER_WRAP },
		{ "mail/encoded_filename.eml", LIST_FOOTER_PART },
		{ "lists/thunderbird_pgp_signed.eml", LIST_FOOTER_WRAP },
		{ "mail/thunderbird_iso88591_qp.eml", LIST_FOOTER_QP },
		{ "mail/outlook_plain_oorspronkelijk_nl.eml", LIST_FOOTER_APPEND },
		{ "mail/chinese_reply.eml", LIST_FOOTER_WRAP },
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
			    list_footer_name(li.footer_way),
			    list_footer_name(c[i].want));
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
		if (c[i].want == LIST_FOOTER_PART) {
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
		cmocka_unit_test(test_footer_way_per_shape),
		cmocka_unit_test(test_compose_relabels_ascii_text_for_a_utf8_footer),
		cmocka_unit_test(test_compose_quoted_printable_footer),
		cmocka_unit_test(test_compose_wraps_html_and_signed_bodies),
		cmocka_unit_test(test_compose_malformed_multipart_says_why),
		cmocka_unit_test(test_compose_real_clients),
		cmocka_unit_test(test_compose_hostile),
	};

	cfg.from_addr = from_addr;
	cfg.language = lang;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
