/*
 * fuzz_footer.c - libFuzzer target for src/footer.c: any mail through
 * footer_add(), split into header block and body the way list_compose does
 * it (message_parse's body_offset, or the first blank line when it is no
 * mail at all), with one of a few footers picked by the input's length (so
 * that every byte is the mail's, and fixtures are seeds as they are).  No
 * crash, no leak, no undefined behaviour, and what footer.h promises holds:
 *   - with a footer, the copy parses (src/message.c, as fuzz_message), and
 *     the footer, as it is written there (plain or quoted-printable),
 *     occurs exactly once more than in the author's body (and, wrapped, in
 *     the author's Content-* fields copied to the first part);
 *   - the author's body (line ends made CRLF) is in the copy unchanged:
 *     whole and untouched without a footer, whole after WRAP, at the start
 *     after an append, and around our part after PART.
 */
#include <string.h>

#include "footer.h"
#include "fuzz.h"
#include "message.h"
#include "mimeout.h"
#include "util.h"

/* What the copy's header block starts with in list_compose. */
#define TOP	"From: \"Alice via Rekenen\" <lido@school.test>\r\n" \
		"To: Rekenen <lido+rekenen@school.test>\r\n" \
		"Subject: [Rekenen] x\r\nMessage-ID: <f@school.test>\r\n" \
		"Date: Tue, 24 Nov 2026 08:26:04 +0000\r\n"

static const char *const footers[] = {
	/* templates/nl/list-footer.txt, rendered */
	("-- \nLeernetwerk Rekenen in groep 3: lido+rekenen@school.test\n"
	"Afmelden: mail lido@school.test met onderwerp \"afmelden rekenen\"\n"),
	/* a title that is not ASCII: relabel, or quoted-printable */
	"-- \nTaal & Lezen \xe2\x80\x94 groep 5\nAfmelden: lido@school.test\n",
	/* a line too long for 7bit, CRLF, an "=" and trailing blanks */
	("voet = 3 \r\nEen regel die langer is dan zesenzeventig tekens, "
	"want dan moet hij quoted-printable.\r\n\r\n"),
	"voet\n",
};

/* s with every bare LF made CRLF, as footer_add sends the body. */
static void
crlf(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			must(buf_addc(b, '\r') == 0);
		must(buf_addc(b, s[i]) == 0);
	}
}

static size_t
count(const char *s, size_t n, const char *w, size_t wl)
{
	size_t k = 0;
	const char *p;

	while (wl > 0 && (p = memmem(s, n, w, wl)) != NULL) {
		k++;
		n -= (size_t)(p - s) + 1;
		s = p + 1;
	}
	return k;
}

/* The footer as the copy carries it: its final line breaks dropped, LF
 * made CRLF, plain or in quoted-printable. */
static void
footer_as_sent(struct buf *b, const char *footer, int qp)
{
	struct buf f;
	size_t fl = strlen(footer);

	while (fl > 0 && (footer[fl - 1] == '\n' || footer[fl - 1] == '\r'))
		fl--;
	buf_init(&f, 0);
	crlf(&f, footer, fl);
	if (qp)
		must(mime_qp(b, f.data, f.len) == 0);
	else
		must(buf_add(b, f.data, f.len) == 0);
	buf_free(&f);
}

/* Where the header block of raw[0, n) ends: after its blank line. */
static size_t
blank_line(const char *raw, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (raw[i] != '\n')
			continue;
		if (i + 1 < n && raw[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && raw[i + 1] == '\r' && raw[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *raw = (const char *)data, *footer = footers[size %
	    ARRAY_LEN(footers)], *why, *ob, *p;
	struct message *m = NULL;
	struct buf out, body, mail, e, q;
	enum footer_way way;
	size_t len, hlen, olen, pre, suf, n, p1;

	len = size;
	if (message_parse(raw, len, &m) == 0) {
		hlen = m->body_offset <= len ? m->body_offset : len;
		message_free(m);
	} else
		hlen = blank_line(raw, len);

	buf_init(&out, 0);
	must(footer_add(&out, raw, hlen, raw + hlen, len - hlen, footer, &way,
	    &why) == 0);
	must((way == FOOTER_NONE) == (why != NULL));
	must(way >= FOOTER_NONE && way <= FOOTER_WRAP);
	must(strcmp(footer_way_name(way), "?") != 0);

	/* Header lines (each ended), a blank line, the body. */
	if (out.len >= 2 && memcmp(out.data, "\r\n", 2) == 0)
		ob = out.data + 2;
	else {
		ob = memmem(out.data, out.len, "\r\n\r\n", 4);
		must(ob != NULL);
		ob += 4;
	}
	olen = out.len - (size_t)(ob - out.data);
	buf_init(&body, 0);
	crlf(&body, raw + hlen, len - hlen);
	for (pre = 0; pre < olen && pre < body.len && ob[pre] ==
	    body.data[pre]; pre++)
		;
	for (suf = 0; suf < olen && suf < body.len &&
	    ob[olen - 1 - suf] == body.data[body.len - 1 - suf]; suf++)
		;

	switch (way) {
	case FOOTER_NONE:
		must(olen == body.len && pre == body.len);
		break;
	case FOOTER_APPEND:
	case FOOTER_RELABEL:
	case FOOTER_QP:
		must(pre == body.len);
		break;
	case FOOTER_PART:
		must(pre + suf >= body.len);
		break;
	case FOOTER_WRAP:
		must(body.len == 0 || memmem(ob, olen, body.data,
		    body.len) != NULL);
		break;
	}

	if (way != FOOTER_NONE) {
		buf_init(&mail, 0);
		must(buf_adds(&mail, TOP) == 0 &&
		    buf_add(&mail, out.data, out.len) == 0);
		must(message_parse(mail.data, mail.len, &m) == 0);
		message_free(m);
		buf_free(&mail);

		/* Plain or quoted-printable (the same text when QP leaves it
		 * as it is): one of them, once. */
		buf_init(&e, 0);
		buf_init(&q, 0);
		footer_as_sent(&e, footer, 0);
		footer_as_sent(&q, footer, 1);
		/* WRAP copies the author's Content-* fields into the first
		 * part's header block: what they say is theirs too. */
		p1 = 0;
		if (way == FOOTER_WRAP &&
		    (p = memmem(ob, olen, "\r\n\r\n", 4)) != NULL)
			p1 = (size_t)(p - ob) + 4;
		n = count(ob, olen, e.data, e.len) - count(body.data ?
		    body.data : "", body.len, e.data, e.len) -
		    count(ob, p1, e.data, e.len);
		if (q.len != e.len || memcmp(q.data, e.data, e.len) != 0)
			n += count(ob, olen, q.data, q.len) - count(body.data ?
			    body.data : "", body.len, q.data, q.len) -
			    count(ob, p1, q.data, q.len);
		must(n == 1);
		buf_free(&q);
		buf_free(&e);
	}
	buf_free(&body);
	buf_free(&out);
	return 0;
}
