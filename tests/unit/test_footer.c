/*
 * test_footer.c - the footer on leaving beside the author's bytes
 * (footer.c): which way it goes for each shape of body, and what the copy's
 * body then is, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "footer.h"
#include "util.h"

static enum footer_way way;		/* of the last decorate() */
static const char *why;

/*
 * What footer_add makes of the mail raw (headers, a blank line, the
 * body): the body-describing headers, a blank line, the body with the
 * footer.  Caller frees.
 */
static char *
decorate(const char *raw, const char *footer)
{
	const char *crlf = strstr(raw, "\r\n\r\n"), *lf = strstr(raw, "\n\n");
	size_t len = strlen(raw), hlen;
	struct buf b;

	if (crlf != NULL && (lf == NULL || crlf < lf))
		hlen = (size_t)(crlf - raw) + 4;
	else if (lf != NULL)
		hlen = (size_t)(lf - raw) + 2;
	else
		hlen = len;
	buf_init(&b, 0);
	assert_int_equal(footer_add(&b, raw, hlen, raw + hlen, len - hlen,
	    footer, &way, &why), 0);
	return buf_steal(&b);
}

/* The end of the header block of out (its blank line). */
static const char *
headers_end(const char *out)
{
	const char *p;

	if (strncmp(out, "\r\n", 2) == 0)
		return out;
	p = strstr(out, "\r\n\r\n");
	assert_non_null(p);
	return p + 2;
}

static const char *
body_of(const char *out)
{
	return headers_end(out) + 2;
}

static int
has_line(const char *out, const char *line)
{
	size_t n = strlen(line);
	const char *end = headers_end(out);

	for (const char *p = out; p < end; p = strstr(p, "\r\n") + 2)
		if (strncmp(p, line, n) == 0 && p[n] == '\r')
			return 1;
	return 0;
}

/* How often s occurs in the header block of out. */
static int
header_count(const char *out, const char *s)
{
	const char *end = headers_end(out), *p = out;
	int n = 0;

	while ((p = strstr(p, s)) != NULL && p < end) {
		n++;
		p++;
	}
	return n;
}

/* Which way the footer goes, for each shape of body (SPEC §4b). */
static void
test_footer_way_per_shape(void **state)
{
	static const char ascii[] = "-- \nvoet\n";
	static const char utf8[] = "-- \nTaal & Lezen \xe2\x80\x94 groep 5\n";
	static const struct {
		const char *headers, *body, *footer;
		enum footer_way want;
	} c[] = {
		{ "", "hoi\r\n", ascii, FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=utf-8\r\n", "hoi\r\n",
		    ascii, FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n", "h\xc3\xa9\r\n", utf8,
		    FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n",
		    "h\xe9\r\n", ascii, FOOTER_APPEND },
		{ "Content-Type: text/plain; charset=windows-1252\r\n",
		    "hoi\r\n", ascii, FOOTER_APPEND },
		/* A non-ASCII footer (the title) in ASCII or 7bit text. */
		{ "Content-Type: text/plain; charset=utf-8\r\n", "hoi\r\n",
		    utf8, FOOTER_RELABEL },
		{ "Content-Type: text/plain; charset=us-ascii\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n", "hoi\r\n", utf8,
		    FOOTER_RELABEL },
		{ "", "hoi\r\n", utf8, FOOTER_RELABEL },
		{ "Content-Type: text/plain; charset=us-ascii\r\n",
		    "h\xe9\r\n", utf8, FOOTER_WRAP },	/* mislabelled */
		{ "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n",
		    "hoi\r\n", utf8, FOOTER_WRAP },
		{ "Content-Type: text/plain; charset=utf-16\r\n", "hoi\r\n",
		    ascii, FOOTER_WRAP },
		/* Quoted-printable: our lines in QP too, where they fit. */
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n",
		    "Caf=C3=A9\r\n", utf8, FOOTER_QP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: Quoted-Printable\r\n",
		    "hoi\r\n", ascii, FOOTER_QP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n",
		    "hoi\r\n", utf8, FOOTER_WRAP },
		{ "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n", "aG9pCg==\r\n",
		    ascii, FOOTER_WRAP },
		{ "Content-Type: text/html; charset=utf-8\r\n", "<p>hoi</p>\r\n",
		    ascii, FOOTER_WRAP },
		/* A text file is a file: its bytes are its content. */
		{ "Content-Type: text/plain\r\n"
		    "Content-Disposition: attachment; filename=a.txt\r\n",
		    "hoi\r\n", ascii, FOOTER_WRAP },
		{ "Content-Type: text/plain\r\n"
		    "Content-Disposition: inline; filename=\"a.txt\"\r\n",
		    "hoi\r\n", ascii, FOOTER_WRAP },
		{ "Content-Type: text/plain; name=a.txt\r\n", "hoi\r\n", ascii,
		    FOOTER_WRAP },
		{ "Content-Type: text/plain\r\nContent-Disposition: inline\r\n",
		    "hoi\r\n", ascii, FOOTER_APPEND },
		{ "Content-Type: application/pdf\r\n"
		    "Content-Transfer-Encoding: base64\r\n", "JVBERi0=\r\n",
		    ascii, FOOTER_WRAP },
		{ "Content-Type: multipart/alternative; boundary=a\r\n",
		    "--a\r\n\r\nhoi\r\n--a--\r\n", ascii, FOOTER_WRAP },
		{ "Content-Type: multipart/signed; boundary=\"s\"; "
		    "protocol=\"application/pgp-signature\"\r\n",
		    "--s\r\n\r\nhoi\r\n--s\r\n\r\nsig\r\n--s--\r\n", ascii,
		    FOOTER_WRAP },
		{ "Content-Type: Multipart/Mixed; (c) boundary = \"x y\"\r\n",
		    "--x y\r\n\r\nhoi\r\n--x y--  \r\n", ascii,
		    FOOTER_PART },
		/* Truncated (no close delimiter), or nested lookalikes. */
		{ "Content-Type: multipart/mixed; boundary=m\r\n",
		    "--m\r\n\r\nhoi\r\n", ascii, FOOTER_WRAP },
		{ "Content-Type: multipart/mixed; boundary=m\r\n",
		    "--m\r\n\r\n--m--x\r\n--mm--\r\n", ascii, FOOTER_WRAP },
		{ "Content-Type: multipart/mixed; boundary=m\r\n"
		    "Content-Transfer-Encoding: base64\r\n",
		    "--m\r\n\r\nhoi\r\n--m--\r\n", ascii, FOOTER_WRAP },
		/* Malformed: nothing to add a part to or to wrap sensibly. */
		{ "Content-Type: multipart/mixed\r\n", "hoi\r\n", ascii,
		    FOOTER_NONE },
		{ "Content-Type: multipart/alternative; boundary=\"\"\r\n",
		    "hoi\r\n", ascii, FOOTER_NONE },
		{ "", "hoi\r\n", "\n\n", FOOTER_NONE },
	};
	char raw[1024], *out;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(raw, sizeof(raw), "From: b@school.test\r\n%s"
		    "Subject: x\r\n\r\n%s", c[i].headers, c[i].body);
		out = decorate(raw, c[i].footer);
		assert_non_null(out);
		if (way != c[i].want)
			fail_msg("case %zu: footer %s, want %s", i,
			    footer_way_name(way), footer_way_name(c[i].want));
		if (way == FOOTER_NONE)
			assert_non_null(why);
		else
			assert_null(why);
		/* The author's body is in the copy as it was (PART: up to
		 * the close delimiter, its own line end kept). */
		if (way == FOOTER_PART) {
			const char *cl = strstr(c[i].body, "\r\n--x y--");
			char *head = xstrndup(c[i].body,
			    (size_t)(cl - c[i].body));

			assert_non_null(strstr(body_of(out), head));
			assert_non_null(strstr(body_of(out), cl));
			free(head);
		} else
			assert_non_null(strstr(body_of(out), c[i].body));
		free(out);
	}
}

static void
test_relabels_ascii_text_for_a_utf8_footer(void **state)
{
	char *out;

	(void)state;
	out = decorate("From: b@school.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\";\r\n"
	    "\tformat=flowed; delsp=yes\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "Content-Language: nl-NL\r\n\r\nHoi allemaal\r\n",
	    "-- \nTaal & Lezen \xe2\x80\x94 groep 5\n");
	assert_int_equal(way, FOOTER_RELABEL);
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

	/* utf-8 in 7bit keeps its Content-Type as written; no MIME-Version
	 * before: one now. */
	out = decorate("From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n\r\nHoi",
	    "-- \n\xc3\xa9\n");
	assert_int_equal(way, FOOTER_RELABEL);
	assert_true(has_line(out, "Content-Type: text/plain; charset=UTF-8"));
	assert_true(has_line(out, "Content-Transfer-Encoding: 8bit"));
	assert_true(has_line(out, "MIME-Version: 1.0"));
	assert_string_equal(body_of(out), "Hoi\r\n\r\n-- \r\n\xc3\xa9\r\n");
	free(out);
}

static void
test_quoted_printable_footer(void **state)
{
	static const char qp[] = "Caf=C3=A9 om drie uur=\r\n, tot dan.";
	char raw[512], *out, *want;

	(void)state;
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s", qp);
	out = decorate(raw, "-- \nTaal \xe2\x80\x94 5\n");
	assert_int_equal(way, FOOTER_QP);
	/* The author's encoded lines as they were; ours encoded the same
	 * way (the blank after "--" and the dash escaped). */
	want = xasprintf("%s\r\n\r\n--=20\r\nTaal =E2=80=94 5\r\n", qp);
	assert_string_equal(body_of(out), want);
	free(want);
	free(out);

	/* A soft line break at the very end: the line is ended first. */
	out = decorate("From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nhoi=\r\n",
	    "voet\n");
	assert_int_equal(way, FOOTER_QP);
	assert_string_equal(body_of(out), "hoi=\r\n\r\n\r\nvoet\r\n");
	free(out);
}

static void
test_wraps_html_and_signed_bodies(void **state)
{
	static const char html[] = "<html><body><p>Hoi =E9</p></body></html>\r\n";
	static const char signed_body[] =
	    "This is an OpenPGP/MIME signed message\r\n"
	    "--sig\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "ondertekend\r\n--sig\r\n"
	    "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
	    "\r\n-----BEGIN PGP SIGNATURE-----\r\nxyz\r\n"
	    "-----END PGP SIGNATURE-----\r\n--sig--\r\n";
	char raw[2048], *out, *want, *bd;
	const char *p;

	(void)state;
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Content-ID: <c1@x>\r\nContent-Description: brief\r\n"
	    "MIME-Version: 1.0\r\n\r\n%s", html);
	out = decorate(raw, "-- \nvoet \xc3\xa9\n");
	assert_int_equal(way, FOOTER_WRAP);
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

	/* multipart/signed: wrapped whole, never opened. */
	snprintf(raw, sizeof(raw), "From: b@school.test\r\nSubject: x\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
	    " protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n"
	    "Content-Disposition: inline\r\n\r\n%s", signed_body);
	out = decorate(raw, "-- \nvoet\n");
	assert_int_equal(way, FOOTER_WRAP);
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
}

static void
test_malformed_multipart_says_why(void **state)
{
	char *out;

	(void)state;
	out = decorate("From: b@school.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; bondary=x\r\n\r\n--x\r\n\r\nhoi\r\n"
	    "--x--\r\n", "voet\n");
	assert_non_null(out);
	assert_int_equal(way, FOOTER_NONE);
	assert_string_equal(why, "a multipart without a boundary");
	assert_string_equal(body_of(out), "--x\r\n\r\nhoi\r\n--x--\r\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_footer_way_per_shape),
		cmocka_unit_test(test_relabels_ascii_text_for_a_utf8_footer),
		cmocka_unit_test(test_quoted_printable_footer),
		cmocka_unit_test(test_wraps_html_and_signed_bodies),
		cmocka_unit_test(test_malformed_multipart_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
