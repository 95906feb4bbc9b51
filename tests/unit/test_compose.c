/*
 * test_compose.c - composed mail parsed back with libetpan: the MIME
 * shape of each kind of message, the headers of SPEC §5, CRLF and line
 * lengths everywhere, and injection attempts through every field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "compose.h"
#include "util.h"

static const char ics_request[] =
    "BEGIN:VCALENDAR\n"
    "PRODID:-//leernet//NL\n"
    "VERSION:2.0\n"
    "METHOD:REQUEST\n"
    "BEGIN:VEVENT\n"
    "UID:m42@jl.nu\n"
    "SEQUENCE:0\n"
    "DTSTAMP:20270501T120000Z\n"
    "DTSTART;TZID=Europe/Amsterdam:20270514T150000\n"
    "DTEND;TZID=Europe/Amsterdam:20270514T170000\n"
    "SUMMARY:Rekenen – bijeenkomst 3\n"
    "LOCATION:Ichthusschool\\, Zwolle\n"
    "ORGANIZER;CN=Leernetwerken:mailto:lido@jl.nu\n"
    "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:ayse@school.nl\n"
    "END:VEVENT\n"
    "END:VCALENDAR\n";

static struct outmail
base_mail(void)
{
	struct outmail m;

	memset(&m, 0, sizeof(m));
	m.from_name = "Leernetwerken JL";
	m.from_addr = "lido@jl.nu";
	m.to_name = "Ünal, Ayşe";
	m.to_addr = "ayse@school.nl";
	m.subject = "Welkom bij Rekenen";
	m.text = "Beste Ayşe,\n\nWelkom.\n";
	m.domain = "jl.nu";
	m.date = 1810299600;
	return m;
}

/* CRLF only, every line at most 998 octets, ASCII only (we encode). */
static void
assert_wire(const char *s, size_t len)
{
	size_t ll = 0;

	for (size_t i = 0; i < len; i++) {
		assert_true((unsigned char)s[i] < 0x80);
		assert_true(s[i] != '\0');
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			i++;
			ll = 0;
			continue;
		}
		assert_true(s[i] != '\n');
		assert_true(++ll <= 998);
	}
	assert_int_equal(ll, 0);
}

/* The header block, unfolded, one "Name: value" per line (caller frees). */
static char *
header_block(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	struct buf b;

	assert_non_null(end);
	buf_init(&b, 0);
	for (const char *p = msg; p < end + 2; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' ||
		    p[2] == '\t')) {
			p++;
			continue;
		}
		if (p[0] == '\r')
			continue;
		buf_addc(&b, *p);
	}
	return buf_steal(&b);
}

/* How often header `name` occurs at the top level of msg. */
static int
header_count(const char *msg, const char *name)
{
	char *h = header_block(msg);
	size_t nl = strlen(name);
	int n = 0;

	for (char *line = h; line && *line; ) {
		char *eol = strchr(line, '\n');

		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':')
			n++;
		line = eol ? eol + 1 : NULL;
	}
	free(h);
	return n;
}

/* The unfolded value of header `name` (caller frees), NULL if absent. */
static char *
header_value(const char *msg, const char *name)
{
	char *h = header_block(msg), *v = NULL;
	size_t nl = strlen(name);

	for (char *line = h; line && *line; ) {
		char *eol = strchr(line, '\n');

		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *s = line + nl + 1;

			while (*s == ' ')
				s++;
			v = xstrndup(s, (size_t)((eol ? eol : s + strlen(s)) -
			    s));
			break;
		}
		line = eol ? eol + 1 : NULL;
	}
	free(h);
	return v;
}

static void
assert_header(const char *msg, const char *name, const char *want)
{
	char *v = header_value(msg, name);

	if (want == NULL) {
		assert_null(v);
		return;
	}
	if (v == NULL)
		print_error("no %s header in:\n%s\n", name, msg);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static const char *
type_name(const struct mailmime *m, char *out, size_t outlen)
{
	const struct mailmime_type *t = m->mm_content_type->ct_type;
	const char *major = "?";

	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		switch (t->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			major = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_APPLICATION:
			major = "application";
			break;
		}
	} else if (t->tp_data.tp_composite_type->ct_type ==
	    MAILMIME_COMPOSITE_TYPE_MULTIPART)
		major = "multipart";
	snprintf(out, outlen, "%s/%s", major, m->mm_content_type->ct_subtype);
	return out;
}

/* The tree as text: "multipart/mixed(multipart/alternative(...),...)". */
static void
shape(const struct mailmime *m, struct buf *b)
{
	char t[80];

	if (m->mm_type == MAILMIME_MESSAGE) {
		shape(m->mm_data.mm_message.mm_msg_mime, b);
		return;
	}
	buf_adds(b, type_name(m, t, sizeof(t)));
	if (m->mm_type == MAILMIME_MULTIPLE) {
		clistiter *it;

		buf_addc(b, '(');
		for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it;
		    it = clist_next(it)) {
			shape(clist_content(it), b);
			if (clist_next(it))
				buf_addc(b, ',');
		}
		buf_addc(b, ')');
	}
}

/* Parse, check the wire format and the shape; caller mailmime_free()s. */
static struct mailmime *
parse(const char *msg, size_t len, const char *want_shape)
{
	struct mailmime *mime = NULL;
	struct buf b;
	size_t idx = 0;

	assert_wire(msg, len);
	assert_int_equal(mailmime_parse(msg, len, &idx, &mime),
	    MAILIMF_NO_ERROR);
	assert_int_equal(mime->mm_type, MAILMIME_MESSAGE);
	buf_init(&b, 0);
	shape(mime, &b);
	if (strcmp(buf_str(&b), want_shape) != 0)
		print_error("%s\n", msg);
	assert_string_equal(buf_str(&b), want_shape);
	buf_free(&b);
	return mime;
}

/* The n-th part (depth first, leaves only), 0-based. */
static struct mailmime *
leaf(struct mailmime *m, int *n)
{
	if (m->mm_type == MAILMIME_MESSAGE)
		return leaf(m->mm_data.mm_message.mm_msg_mime, n);
	if (m->mm_type == MAILMIME_SINGLE)
		return (*n)-- == 0 ? m : NULL;
	for (clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
	    it; it = clist_next(it)) {
		struct mailmime *r = leaf(clist_content(it), n);

		if (r)
			return r;
	}
	return NULL;
}

static struct mailmime *
nth_leaf(struct mailmime *m, int n)
{
	struct mailmime *r = leaf(m, &n);

	assert_non_null(r);
	return r;
}

/* The decoded body of a leaf (caller frees), and its encoding. */
static char *
decoded(struct mailmime *m, int *enc)
{
	struct mailmime_single_fields sf;
	struct mailmime_data *d = m->mm_data.mm_single;
	char *out = NULL, *copy;
	size_t outlen = 0, idx = 0;

	mailmime_single_fields_init(&sf, m->mm_mime_fields,
	    m->mm_content_type);
	*enc = sf.fld_encoding ? sf.fld_encoding->enc_type :
	    MAILMIME_MECHANISM_7BIT;
	assert_int_equal(mailmime_part_parse(d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length, &idx, *enc, &out, &outlen),
	    MAILIMF_NO_ERROR);
	copy = xstrndup(out, outlen);
	mmap_string_unref(out);
	return copy;
}

static void
assert_leaf(struct mailmime *mime, int n, const char *type, int enc,
    const char *body)
{
	struct mailmime *m = nth_leaf(mime, n);
	struct mailmime_single_fields sf;
	char t[80], *d;
	int got_enc;

	assert_string_equal(type_name(m, t, sizeof(t)), type);
	mailmime_single_fields_init(&sf, m->mm_mime_fields,
	    m->mm_content_type);
	if (strncmp(type, "text/", 5) == 0) {
		assert_non_null(sf.fld_content_charset);
		assert_string_equal(sf.fld_content_charset, "UTF-8");
	}
	d = decoded(m, &got_enc);
	assert_int_equal(got_enc, enc);
	if (body)
		assert_string_equal(d, body);
	free(d);
}

static char *
compose_ok(const struct outmail *m, size_t *len, char **msgid)
{
	char err[256] = "", *msg;

	msg = compose(m, len, msgid, err, sizeof(err));
	if (msg == NULL)
		print_error("compose: %s\n", err);
	assert_non_null(msg);
	assert_int_equal(strlen(msg), *len);
	return msg;
}

static void
test_text_only(void **state)
{
	struct outmail m = base_mail();
	struct mailmime *mime;
	size_t len;
	char *msg, *id, *want;

	(void)state;
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "text/plain");
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_QUOTED_PRINTABLE,
	    "Beste Ayşe,\r\n\r\nWelkom.\r\n");
	/* The returned id is the header's, without <>. */
	assert_null(strchr(id, '<'));
	assert_null(strchr(id, '>'));
	assert_string_equal(id + strlen(id) - 6, "@jl.nu");
	want = xasprintf("<%s>", id);
	assert_header(msg, "Message-ID", want);
	free(want);
	assert_header(msg, "From", "Leernetwerken JL <lido@jl.nu>");
	assert_header(msg, "To",
	    "=?UTF-8?Q?=C3=9Cnal=2C_Ay=C5=9Fe?= <ayse@school.nl>");
	assert_header(msg, "Subject", "Welkom bij Rekenen");
	assert_header(msg, "MIME-Version", "1.0");
	assert_header(msg, "X-Loop", "lido@jl.nu");
	assert_header(msg, "Auto-Submitted", NULL);
	assert_header(msg, "In-Reply-To", NULL);
	assert_header(msg, "References", NULL);
	assert_header(msg, "Reply-To", NULL);
	assert_header(msg, "List-Id", NULL);
	assert_header(msg, "List-Unsubscribe", NULL);
	assert_int_equal(header_count(msg, "Date"), 1);
	{
		char *d = header_value(msg, "Date");
		struct mailimf_date_time *dt = NULL;
		size_t idx = 0;

		assert_int_equal(mailimf_date_time_parse(d, strlen(d), &idx,
		    &dt), MAILIMF_NO_ERROR);
		assert_int_equal(dt->dt_year, 2027);
		mailimf_date_time_free(dt);
		free(d);
	}
	mailmime_free(mime);
	free(msg);
	free(id);

	/* Pure ASCII with short lines is sent as 7bit, LF made CRLF. */
	m.text = "Hallo,\nregel twee\r\nzonder einde";
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "text/plain");
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_7BIT,
	    "Hallo,\r\nregel twee\r\nzonder einde\r\n");
	mailmime_free(mime);
	free(msg);
	free(id);

	/* Without a domain the Message-ID takes the From domain. */
	m.domain = NULL;
	msg = compose_ok(&m, &len, &id);
	assert_string_equal(id + strlen(id) - 6, "@jl.nu");
	free(msg);
	free(id);
}

static void
test_reply_headers(void **state)
{
	struct outmail m = base_mail();
	size_t len;
	char *msg, *id;

	(void)state;
	m.reply_to = "piet@school.nl";
	m.in_reply_to = "CAF=abc+1@mail.gmail.com";
	m.references = "first@x.nl  <second@y.nl>\tCAF=abc+1@mail.gmail.com";
	m.auto_submitted = AUTO_REPLIED;
	msg = compose_ok(&m, &len, &id);
	assert_header(msg, "Reply-To", "piet@school.nl");
	assert_header(msg, "In-Reply-To", "<CAF=abc+1@mail.gmail.com>");
	assert_header(msg, "References",
	    "<first@x.nl> <second@y.nl> <CAF=abc+1@mail.gmail.com>");
	assert_header(msg, "Auto-Submitted", "auto-replied");
	mailmime_free(parse(msg, len, "text/plain"));
	free(msg);
	free(id);

	m.auto_submitted = AUTO_GENERATED;
	m.list_id = "Rekenen <rekenen.lido.jl.nu>";
	m.list_unsubscribe = "<mailto:lido@jl.nu?subject=afmelden%20rekenen>";
	msg = compose_ok(&m, &len, &id);
	assert_header(msg, "Auto-Submitted", "auto-generated");
	assert_header(msg, "List-Id", "Rekenen <rekenen.lido.jl.nu>");
	assert_header(msg, "List-Unsubscribe",
	    "<mailto:lido@jl.nu?subject=afmelden%20rekenen>");
	free(msg);
	free(id);

	/* A long thread: References folds, every id survives. */
	{
		struct buf refs;
		char *v;

		buf_init(&refs, 0);
		for (int i = 0; i < 40; i++)
			buf_addf(&refs, "%sid%d.abcdefghijklmnop@mail.example.org",
			    i ? " " : "", i);
		m.references = refs.data;
		msg = compose_ok(&m, &len, &id);
		assert_wire(msg, len);
		v = header_value(msg, "References");
		assert_non_null(strstr(v, "<id0.abcdefghijklmnop@mail.example.org> "
		    "<id1."));
		assert_non_null(strstr(v, "<id39.abcdefghijklmnop@mail.example.org>"));
		free(v);
		free(msg);
		free(id);
		buf_free(&refs);
	}
}

static void
test_alternative(void **state)
{
	struct outmail m = base_mail();
	struct mailmime *mime;
	size_t len;
	char *msg, *id;

	(void)state;
	m.html = "<p>Beste Ayşe,</p>\n<p>Welkom.</p>\n";
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "multipart/alternative(text/plain,text/html)");
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_QUOTED_PRINTABLE,
	    "Beste Ayşe,\r\n\r\nWelkom.\r\n");
	assert_leaf(mime, 1, "text/html", MAILMIME_MECHANISM_QUOTED_PRINTABLE,
	    "<p>Beste Ayşe,</p>\r\n<p>Welkom.</p>\r\n");
	mailmime_free(mime);
	free(msg);
	free(id);
}

static char *
ics_crlf(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s; s++)
		if (*s == '\n')
			buf_adds(&b, "\r\n");
		else
			buf_addc(&b, *s);
	return buf_steal(&b);
}

static void
test_imip(void **state)
{
	struct outmail m = base_mail();
	struct mailmime *mime, *cal, *att;
	struct mailmime_single_fields sf;
	size_t len;
	char *msg, *id, *want = ics_crlf(ics_request);
	const char *method;

	(void)state;
	m.html = "<p>Uitnodiging</p>\n";
	m.ics = ics_request;
	m.ics_method = "REQUEST";
	m.subject = "Uitnodiging: Rekenen – bijeenkomst 3";
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "multipart/mixed(multipart/alternative("
	    "text/plain,text/html,text/calendar),application/ics)");
	assert_leaf(mime, 2, "text/calendar", MAILMIME_MECHANISM_BASE64, want);
	assert_leaf(mime, 3, "application/ics", MAILMIME_MECHANISM_BASE64,
	    want);

	/* method= on the inline part equals METHOD inside; no disposition. */
	cal = nth_leaf(mime, 2);
	method = mailmime_content_param_get(cal->mm_content_type, "method");
	assert_non_null(method);
	assert_string_equal(method, "REQUEST");
	mailmime_single_fields_init(&sf, cal->mm_mime_fields,
	    cal->mm_content_type);
	assert_null(sf.fld_disposition);

	/* The attachment: invite.ics, as an attachment. */
	att = nth_leaf(mime, 3);
	mailmime_single_fields_init(&sf, att->mm_mime_fields,
	    att->mm_content_type);
	assert_non_null(sf.fld_content_name);
	assert_string_equal(sf.fld_content_name, "invite.ics");
	assert_non_null(sf.fld_disposition);
	assert_int_equal(sf.fld_disposition->dsp_type->dsp_type,
	    MAILMIME_DISPOSITION_TYPE_ATTACHMENT);
	assert_non_null(sf.fld_disposition_filename);
	assert_string_equal(sf.fld_disposition_filename, "invite.ics");
	mailmime_free(mime);
	free(msg);
	free(id);

	/* Without HTML the alternative holds text and calendar. */
	m.html = NULL;
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "multipart/mixed(multipart/alternative("
	    "text/plain,text/calendar),application/ics)");
	mailmime_free(mime);
	free(msg);
	free(id);

	/* A cancellation. */
	{
		char *cancel = xstrdup(ics_request);

		memcpy(strstr(cancel, "METHOD:") + 7, "CANCEL\n", 7);
		memmove(strstr(cancel, "CANCEL\n") + 7,
		    strstr(cancel, "CANCEL\n") + 8,
		    strlen(strstr(cancel, "CANCEL\n") + 8) + 1);
		assert_non_null(strstr(cancel, "METHOD:CANCEL\nBEGIN:VEVENT"));
		m.ics = cancel;
		m.ics_method = "CANCEL";
		msg = compose_ok(&m, &len, &id);
		mime = parse(msg, len, "multipart/mixed(multipart/alternative("
		    "text/plain,text/calendar),application/ics)");
		cal = nth_leaf(mime, 1);
		assert_string_equal(mailmime_content_param_get(
		    cal->mm_content_type, "method"), "CANCEL");
		mailmime_free(mime);
		free(msg);
		free(id);
		free(cancel);
	}
	free(want);
}

static void
expect_fail(const struct outmail *m, const char *want)
{
	char err[256] = "", *id = (char *)1;
	size_t len = 1;

	assert_null(compose(m, &len, &id, err, sizeof(err)));
	assert_string_equal(err, want);
	assert_null(id);
	assert_int_equal(len, 0);
}

static void
test_refusals(void **state)
{
	struct outmail m;

	(void)state;
	m = base_mail();
	m.to_addr = "ayse";
	expect_fail(&m, "invalid To address 'ayse'");
	m.to_addr = "ayse@school.nl\r\nBcc: eve@evil.nl";
	expect_fail(&m, "invalid To address 'ayse@school.nl??Bcc: "
	    "eve@evil.nl'");
	m.to_addr = NULL;
	expect_fail(&m, "invalid To address ''");
	m = base_mail();
	m.from_addr = "<lido@jl.nu>";
	expect_fail(&m, "invalid From address '<lido@jl.nu>'");
	m = base_mail();
	m.reply_to = "a@b@c";
	expect_fail(&m, "invalid Reply-To address 'a@b@c'");
	m = base_mail();
	m.text = NULL;
	expect_fail(&m, "message without a text part");
	m = base_mail();
	m.ics = ics_request;
	m.ics_method = "CANCEL";
	expect_fail(&m, "calendar METHOD differs from method=CANCEL");
	m.ics_method = NULL;
	expect_fail(&m, "calendar without a method");
	m.ics_method = "REQUEST\r\nBcc: x@y";
	expect_fail(&m, "invalid calendar method");
	m.ics = "BEGIN:VCALENDAR\nEND:VCALENDAR\n";
	m.ics_method = "REQUEST";
	expect_fail(&m, "calendar has no METHOD property");
	/* METHOD:REQUESTX is not METHOD:REQUEST. */
	m.ics = "BEGIN:VCALENDAR\nMETHOD:REQUESTX\nEND:VCALENDAR\n";
	expect_fail(&m, "calendar METHOD differs from method=REQUEST");
	m = base_mail();
	m.list_id = "Rékenen <r.jl.nu>";
	expect_fail(&m, "List-Id and List-Unsubscribe must be ASCII");
}

/* Everything a sender controls, at once, and nothing gets through. */
static void
test_injection(void **state)
{
	struct outmail m = base_mail();
	struct mailmime *mime;
	size_t len;
	char *msg, *id, *v;

	(void)state;
	m.from_name = "Leernetwerken\r\nBcc: eve@evil.nl";
	m.to_name = "Bob\r\nBcc: eve@evil.nl\r\n\r\nbody";
	m.subject = "Hoi\r\nBcc: eve@evil.nl\nX-Evil: 1\r\n\r\n<html>";
	m.in_reply_to = "abc@x>\r\nBcc: eve@evil.nl";
	m.references = "ok@x.nl bad<@x.nl\r\nBcc: eve@evil.nl <also@ok.nl>";
	m.list_id = "<r.jl.nu>\r\nBcc: eve@evil.nl";
	m.list_unsubscribe = "<mailto:x@jl.nu>\nBcc: eve@evil.nl";
	m.html = "<p>hi</p>\r\n.\r\nQUIT\r\n";
	m.text = "line\r\n.\r\nMAIL FROM:<x@y>\r\n";
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "multipart/alternative(text/plain,text/html)");
	assert_int_equal(header_count(msg, "Bcc"), 0);
	assert_int_equal(header_count(msg, "X-Evil"), 0);
	assert_int_equal(header_count(msg, "Subject"), 1);
	assert_int_equal(header_count(msg, "To"), 1);
	assert_int_equal(header_count(msg, "From"), 1);
	/* The bad In-Reply-To is left out, the bad References ids too. */
	assert_header(msg, "In-Reply-To", NULL);
	assert_header(msg, "References", "<ok@x.nl> <eve@evil.nl> "
	    "<also@ok.nl>");
	assert_header(msg, "List-Id", "<r.jl.nu> Bcc: eve@evil.nl");
	v = header_value(msg, "Subject");
	{
		size_t idx = 0;
		char *d = NULL;

		assert_int_equal(mailmime_encoded_phrase_parse("us-ascii", v,
		    strlen(v), &idx, "utf-8", &d), MAILIMF_NO_ERROR);
		assert_string_equal(d, "Hoi Bcc: eve@evil.nl X-Evil: 1 <html>");
		free(d);
	}
	free(v);
	/* The body is where it belongs. */
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_7BIT,
	    "line\r\n.\r\nMAIL FROM:<x@y>\r\n");
	mailmime_free(mime);
	free(msg);
	free(id);
}

static void
test_long_lines(void **state)
{
	struct outmail m = base_mail();
	struct mailmime *mime;
	struct buf t;
	size_t len;
	char *msg, *id;

	(void)state;
	/* One 5000-character line without blanks, and a very long subject. */
	buf_init(&t, 0);
	for (int i = 0; i < 500; i++)
		buf_adds(&t, "abcdefghé");
	buf_addc(&t, '\n');
	m.text = t.data;
	m.html = t.data;
	m.subject = t.data;
	m.to_name = t.data;
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "multipart/alternative(text/plain,text/html)");
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_QUOTED_PRINTABLE,
	    NULL);
	/* Headers fold at 78, QP at 76. */
	for (const char *p = msg, *e; (e = strstr(p, "\r\n")); p = e + 2)
		assert_true(e - p <= 78);
	mailmime_free(mime);
	free(msg);
	free(id);
	buf_free(&t);

	/* An ASCII line of 77 characters is not 7bit any more. */
	m = base_mail();
	m.text = "0123456789012345678901234567890123456789012345678901234567890"
	    "1234567890123456\n";
	msg = compose_ok(&m, &len, &id);
	mime = parse(msg, len, "text/plain");
	assert_leaf(mime, 0, "text/plain", MAILMIME_MECHANISM_QUOTED_PRINTABLE,
	    "0123456789012345678901234567890123456789012345678901234567890"
	    "1234567890123456\r\n");
	mailmime_free(mime);
	free(msg);
	free(id);
}

static void
test_unique_ids(void **state)
{
	struct outmail m = base_mail();
	char *ids[50], *msg;
	size_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		msg = compose_ok(&m, &len, &ids[i]);
		free(msg);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	for (size_t i = 0; i < ARRAY_LEN(ids); i++)
		free(ids[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_only),
		cmocka_unit_test(test_reply_headers),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_imip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_unique_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
