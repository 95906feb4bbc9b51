/*
 * compose.c - struct outmail to the bytes of one message.
 *
 * The shapes (SPEC §5, CALENDAR.md):
 *   text only        text/plain
 *   text + html      multipart/alternative { text/plain, text/html }
 *   with a calendar  multipart/mixed {
 *                      multipart/alternative { text/plain, text/html,
 *                        text/calendar; method=M (base64, inline) },
 *                      application/ics; name="invite.ics" (base64,
 *                        attachment) }
 * Every line ends in CRLF and is at most 998 octets; header values go
 * through mimeout.c, which strips controls before anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose.h"
#include "mimeout.h"
#include "util.h"

#define MSGID_MAX	250	/* keeps "References: <id>" within 998 */
#define METHOD_MAX	32

/* For error messages: at most 60 printable ASCII characters of s. */
static void
shown(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 1 < outlen && o < 60; s++)
		out[o++] = ((unsigned char)*s >= 0x20 &&
		    (unsigned char)*s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

static int
ascii_value(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static int
check_addr(const char *what, const char *addr, char *err, size_t errlen)
{
	char s[64];

	if (mime_addr_valid(addr))
		return 0;
	shown(s, sizeof(s), addr);
	snprintf(err, errlen, "invalid %s address '%s'", what, s);
	return -1;
}

/*
 * One msg-id without <> (tolerating them), or NULL when it could not be
 * put in a header safely: "left@right", printable, no blanks or <>.
 * Caller frees.
 */
static char *
msgid_clean(const char *s, size_t n)
{
	const char *at;

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n == 0 || n > MSGID_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '<' || s[i] == '>')
			return NULL;
	at = memchr(s, '@', n);
	if (at == NULL || at == s || at == s + n - 1)
		return NULL;
	return xstrndup(s, n);
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* In-Reply-To: the value must be one usable id, else it is left out. */
static int
add_in_reply_to(struct buf *b, const char *v)
{
	size_t n;
	char *id, *h;
	int r;

	while (is_wsp(*v))
		v++;
	n = strlen(v);
	while (n > 0 && is_wsp(v[n - 1]))
		n--;
	if ((id = msgid_clean(v, n)) == NULL)
		return 0;
	h = xasprintf("<%s>", id);
	r = mime_header_raw(b, "In-Reply-To", h);
	free(h);
	free(id);
	return r;
}

/* References: "<a> <b> ..." from a blank-separated list; ids we cannot
 * use are left out (a reply must not fail over a strange id). */
static int
add_references(struct buf *b, const char *list)
{
	struct buf v;
	const char *p = list;
	int r = 0;

	buf_init(&v, 0);
	while (r == 0 && *p) {
		const char *w;
		char *id;

		while (is_wsp(*p))
			p++;
		for (w = p; *p && !is_wsp(*p); p++)
			;
		if (p == w || (id = msgid_clean(w, (size_t)(p - w))) == NULL)
			continue;
		r = buf_addf(&v, "%s<%s>", v.len ? " " : "", id);
		free(id);
	}
	if (r == 0 && v.len > 0)
		r = mime_header_raw(b, "References", buf_str(&v));
	buf_free(&v);
	return r;
}

/* 7bit is enough: ASCII, no lone CR, no controls, short lines. */
static int
plain_7bit(const char *s)
{
	size_t ll = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r' && s[1] == '\n')
			continue;
		if (c == '\n') {
			ll = 0;
			continue;
		}
		if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
		if (++ll > 76)
			return 0;
	}
	return 1;
}

/* s with every line ending in CRLF, including the last. */
static int
add_crlf_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if (s[i] == '\n') {
			if (buf_add(b, "\r\n", 2) == -1)
				return -1;
		} else if (buf_addc(b, s[i]) == -1)
			return -1;
	}
	if (n == 0 || s[n - 1] != '\n')
		return buf_add(b, "\r\n", 2);
	return 0;
}

/* Content-Type and -Transfer-Encoding, a blank line, the body. */
static int
add_text_part(struct buf *b, const char *subtype, const char *text)
{
	size_t n = strlen(text);

	if (plain_7bit(text))
		return (buf_addf(b, "Content-Type: text/%s; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n", subtype) ||
		    add_crlf_text(b, text)) ? -1 : 0;
	if (buf_addf(b, "Content-Type: text/%s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	    subtype) == -1 || mime_qp(b, text, n) == -1)
		return -1;
	/* Text ends with a line break, so the part does too. */
	if (n == 0 || text[n - 1] != '\n')
		return buf_add(b, "\r\n", 2);
	return 0;
}

/* iCalendar lines end in CRLF (RFC 5545 3.1); callers may give LF. */
static char *
ics_crlf(const char *ics)
{
	struct buf c;

	buf_init(&c, 0);
	for (const char *p = ics; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			buf_add(&c, "\r\n", 2);
		else
			buf_addc(&c, *p);
	}
	return buf_steal(&c);
}

/*
 * Outlook shows "not supported calendar message" when the Content-Type
 * method differs from the METHOD inside: refuse such a calendar here.
 */
static int
check_method(const char *ics, const char *method, char *err, size_t errlen)
{
	size_t ml;
	const char *p;

	if (method == NULL || (ml = strlen(method)) == 0 || ml > METHOD_MAX) {
		snprintf(err, errlen, "calendar without a method");
		return -1;
	}
	for (p = method; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '-')) {
			snprintf(err, errlen, "invalid calendar method");
			return -1;
		}
	for (p = ics; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (str_startswith_ci(p, "METHOD:")) {
			const char *v = p + 7;
			size_t vl = strcspn(v, "\r\n");

			if (vl == ml && str_startswith_ci(v, method))
				return 0;
			snprintf(err, errlen, "calendar METHOD differs from "
			    "method=%s", method);
			return -1;
		}
	}
	snprintf(err, errlen, "calendar has no METHOD property");
	return -1;
}

static int
add_headers(struct buf *b, const struct outmail *m, const char *msgid)
{
	static const char *auto_names[] = { NULL, "auto-replied",
	    "auto-generated" };
	char date[64];

	mime_date(date, sizeof(date), m->date ? m->date : time(NULL));
	if (mime_header_addr(b, "From", m->from_name, m->from_addr) == -1 ||
	    mime_header_addr(b, "To", m->to_name, m->to_addr) == -1)
		return -1;
	if (m->reply_to && *m->reply_to &&
	    mime_header_addr(b, "Reply-To", NULL, m->reply_to) == -1)
		return -1;
	if (mime_header(b, "Subject", m->subject ? m->subject : "") == -1 ||
	    mime_header_raw(b, "Date", date) == -1 ||
	    buf_addf(b, "Message-ID: <%s>\r\n", msgid) == -1)
		return -1;
	if (m->in_reply_to &&
	    add_in_reply_to(b, m->in_reply_to) == -1)
		return -1;
	if (m->references &&
	    add_references(b, m->references) == -1)
		return -1;
	if (m->auto_submitted > AUTO_NONE &&
	    m->auto_submitted <= AUTO_GENERATED &&
	    mime_header_raw(b, "Auto-Submitted",
	    auto_names[m->auto_submitted]) == -1)
		return -1;
	if (m->list_id && *m->list_id &&
	    mime_header_raw(b, "List-Id", m->list_id) == -1)
		return -1;
	if (m->list_unsubscribe && *m->list_unsubscribe &&
	    mime_header_raw(b, "List-Unsubscribe", m->list_unsubscribe) == -1)
		return -1;
	/* classify.c knows our own mail by this, whatever the relay did. */
	if (mime_header_raw(b, "X-Loop", m->from_addr) == -1 ||
	    buf_adds(b, "MIME-Version: 1.0\r\n") == -1)
		return -1;
	return 0;
}

static int
add_multipart_start(struct buf *b, const char *subtype, const char *bd)
{
	return buf_addf(b, "Content-Type: multipart/%s;\r\n"
	    " boundary=\"%s\"\r\n\r\n--%s\r\n", subtype, bd, bd);
}

/*
 * The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1),
 * so after a part that ends in CRLF one more keeps its last line break.
 */
static int
add_delimiter(struct buf *b, const char *bd, int last)
{
	return buf_addf(b, "\r\n--%s%s\r\n", bd, last ? "--" : "");
}

static int
add_alternative(struct buf *b, const struct outmail *m, const char *ics)
{
	char *bd = mime_boundary();
	int r;

	r = add_multipart_start(b, "alternative", bd) ||
	    add_text_part(b, "plain", m->text);
	if (r == 0 && m->html)
		r = add_delimiter(b, bd, 0) ||
		    add_text_part(b, "html", m->html);
	if (r == 0 && ics)
		r = add_delimiter(b, bd, 0) ||
		    buf_addf(b, "Content-Type: text/calendar; charset=UTF-8; "
		    "method=%s\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    m->ics_method) ||
		    mime_base64(b, ics, strlen(ics));
	if (r == 0)
		r = add_delimiter(b, bd, 1);
	free(bd);
	return r ? -1 : 0;
}

static int
add_body(struct buf *b, const struct outmail *m)
{
	char *ics, *bd;
	int r;

	if (m->ics == NULL && m->html == NULL)
		return add_text_part(b, "plain", m->text);
	if (m->ics == NULL)
		return add_alternative(b, m, NULL);

	ics = ics_crlf(m->ics);
	bd = mime_boundary();
	r = add_multipart_start(b, "mixed", bd) ||
	    add_alternative(b, m, ics) ||
	    add_delimiter(b, bd, 0) ||
	    buf_adds(b,
	    "Content-Type: application/ics; name=\"invite.ics\"\r\n"
	    "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n") ||
	    mime_base64(b, ics, strlen(ics)) ||
	    add_delimiter(b, bd, 1);
	free(bd);
	free(ics);
	return r ? -1 : 0;
}

char *
compose(const struct outmail *m, size_t *len, char **msgid, char *err,
    size_t errlen)
{
	struct buf b;
	const char *domain;
	char *id, *idv;

	*len = 0;
	*msgid = NULL;
	if (check_addr("From", m->from_addr, err, errlen) == -1 ||
	    check_addr("To", m->to_addr, err, errlen) == -1 ||
	    (m->reply_to && *m->reply_to &&
	    check_addr("Reply-To", m->reply_to, err, errlen) == -1))
		return NULL;
	if (m->text == NULL) {
		snprintf(err, errlen, "message without a text part");
		return NULL;
	}
	if (m->ics && check_method(m->ics, m->ics_method, err, errlen) == -1)
		return NULL;
	if ((m->list_id && !ascii_value(m->list_id)) ||
	    (m->list_unsubscribe && !ascii_value(m->list_unsubscribe))) {
		snprintf(err, errlen, "List-Id and List-Unsubscribe must be "
		    "ASCII");
		return NULL;
	}

	domain = m->domain && *m->domain ? m->domain :
	    strrchr(m->from_addr, '@') + 1;
	id = mime_message_id(domain);
	idv = xstrndup(id + 1, strlen(id) - 2);
	free(id);

	buf_init(&b, 0);
	if (add_headers(&b, m, idv) == -1 || add_body(&b, m) == -1) {
		snprintf(err, errlen, "message too large or header unusable");
		buf_free(&b);
		free(idv);
		return NULL;
	}
	*len = b.len;
	*msgid = idv;
	return buf_steal(&b);
}
