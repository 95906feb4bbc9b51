/*
 * mimeout.c - the building blocks of outgoing mail.
 *
 * Every header value goes through clean_value() first: CR, LF and TAB
 * become spaces, other controls (C0, DEL, C1) are dropped and invalid
 * UTF-8 becomes '?'.  Only then is the value encoded (RFC 2047) or folded,
 * so no name, subject or address from a message can start a header line of
 * its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mimeout.h"
#include "util.h"

#define LINE_SOFT	78	/* RFC 5322 2.1.1: SHOULD */
#define LINE_HARD	998	/* RFC 5322 2.1.1: MUST */
#define EW_MAX		75	/* RFC 2047 2: one encoded-word */
#define EW_OVERHEAD	12	/* "=?UTF-8?Q?" + "?=" */
#define BODY_LINE	76	/* RFC 2045 6.7 (5), 6.8 */
#define ADDR_MAX	254	/* RFC 5321 4.5.3.1.3 path minus <> */
#define LOCAL_MAX	64
#define LABEL_MAX	63

static const char hexdig[] = "0123456789ABCDEF";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		k = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4;
	else
		return 0;
	if (k > n || !utf8_valid((const char *)s, k))
		return 0;
	return k;
}

/*
 * The value as it may appear in a header: one line, no controls, valid
 * UTF-8, no leading or trailing blanks.  Caller frees.
 */
static char *
clean_value(const char *v)
{
	const unsigned char *s = (const unsigned char *)(v ? v : "");
	size_t n = strlen((const char *)s), i = 0, o = 0;
	char *out = xmalloc(n + 1);

	while (i < n) {
		size_t k;

		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t') {
			/* "a\r\nb" unfolds to "a b", not "ab". */
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			i++;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			i++;
			continue;
		}
		if (s[i] < 0x80) {
			out[o++] = (char)s[i++];
			continue;
		}
		if ((k = utf8_seq(s + i, n - i)) == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		/* C1 controls (U+0080..U+009F, e.g. NEL) are dropped too. */
		if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			i += k;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	i = 0;
	while (out[i] == ' ')
		i++;
	if (i > 0)
		memmove(out, out + i, o - i + 1);
	return out;
}

static int
is_ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* Restores the buffer on failure: a header is written whole or not at all. */
static int
fail(struct buf *b, size_t len0)
{
	b->len = len0;
	if (b->data)
		b->data[len0] = '\0';
	return -1;
}

/*
 * RFC 2047 "Q" for phrases and unstructured text alike: only the characters
 * of 5 (3) stay literal, so the same words are safe in a display name.
 */
static int
q_literal(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static size_t
q_len(const unsigned char *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += (q_literal(s[i]) || s[i] == ' ') ? 1 : 3;
	return len;
}

static size_t
b_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

static int
add_q(struct buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (q_literal(s[i])) {
			if (buf_addc(b, (char)s[i]) == -1)
				return -1;
		} else if (s[i] == ' ') {
			if (buf_addc(b, '_') == -1)
				return -1;
		} else {
			char e[3] = { '=', hexdig[s[i] >> 4], hexdig[s[i] & 15] };

			if (buf_add(b, e, 3) == -1)
				return -1;
		}
	}
	return 0;
}

static int
add_b64(struct buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		if (buf_add(b, q, 4) == -1)
			return -1;
	}
	return 0;
}

/*
 * Write v (clean, non-empty) as encoded-words starting at column *col,
 * each word at most 75 characters and each line at most 78, folding
 * between words.  Words are cut between characters, never inside a UTF-8
 * sequence.  Q unless B is much shorter for the whole value.
 */
static int
add_encoded(struct buf *b, const char *v, size_t *col)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i = 0;
	/* Q keeps mostly-Latin text legible in logs and raw headers. */
	int useq = q_len(s, n) <= b_len(n) + b_len(n) / 2;

	while (i < n) {
		size_t room = LINE_SOFT - *col, start = i, enc = 0;

		if (room > EW_MAX)
			room = EW_MAX;
		/* Room for at least one 4-byte character, else fold first. */
		if (room < EW_OVERHEAD + 12) {
			if (buf_add(b, "\r\n ", 3) == -1)
				return -1;
			*col = 1;
			continue;
		}
		for (;;) {
			size_t k, e;

			if (i >= n)
				break;
			k = utf8_seq(s + i, n - i);
			if (k == 0)
				k = 1;	/* cannot happen after clean_value */
			e = useq ? enc + q_len(s + i, k) : b_len(i + k - start);
			if (EW_OVERHEAD + e > room)
				break;
			enc = e;
			i += k;
		}
		if (buf_adds(b, useq ? "=?UTF-8?Q?" : "=?UTF-8?B?") == -1 ||
		    (useq ? add_q(b, s + start, i - start) :
		    add_b64(b, s + start, i - start)) == -1 ||
		    buf_add(b, "?=", 2) == -1)
			return -1;
		*col += EW_OVERHEAD + enc;
		if (i < n) {
			if (buf_add(b, "\r\n ", 3) == -1)
				return -1;
			*col = 1;
		}
	}
	return 0;
}

/*
 * Write ASCII text v at column *col, folding at its blanks so that lines
 * stay within 78 columns where a word allows it.  Returns -1 when a line
 * would pass 998 (a word that long) or the buffer is full.
 */
static int
add_folded(struct buf *b, const char *v, size_t *col)
{
	const char *p = v;
	int first = 1;

	while (*p) {
		const char *ws = p, *w;
		size_t nws, nw;

		while (*p == ' ')
			p++;
		nws = (size_t)(p - ws);
		w = p;
		while (*p && *p != ' ')
			p++;
		nw = (size_t)(p - w);
		if (nw == 0)
			break;	/* trailing blanks: clean values have none */
		if (!first && *col + nws + nw > LINE_SOFT) {
			if (buf_add(b, "\r\n", 2) == -1)
				return -1;
			*col = 0;
		}
		if (*col + nws + nw > LINE_HARD)
			return -1;
		if (buf_add(b, ws, nws) == -1 || buf_add(b, w, nw) == -1)
			return -1;
		*col += nws + nw;
		first = 0;
	}
	return 0;
}

/* Would the words of v fit in 78 columns, the first after col? */
static int
words_fit(const char *v, size_t col)
{
	size_t w = 0;

	for (;; v++) {
		if (*v == ' ' || *v == '\0') {
			if (col + w > LINE_SOFT)
				return 0;
			col = 1;
			w = 0;
			if (*v == '\0')
				return 1;
		} else
			w++;
	}
}

static int
needs_encoding(const char *v, size_t col)
{
	return !is_ascii_printable(v) || strstr(v, "=?") != NULL ||
	    !words_fit(v, col);
}

int
mime_header(struct buf *b, const char *name, const char *value)
{
	size_t len0 = b->len, col;
	char *v = clean_value(value);
	int r;

	col = strlen(name) + 2;
	if (buf_addf(b, "%s: ", name) == -1) {
		free(v);
		return fail(b, len0);
	}
	if (*v == '\0')
		r = 0;
	else if (needs_encoding(v, col))
		r = add_encoded(b, v, &col);
	else
		r = add_folded(b, v, &col);
	free(v);
	if (r == -1 || buf_add(b, "\r\n", 2) == -1)
		return fail(b, len0);
	return 0;
}

int
mime_header_raw(struct buf *b, const char *name, const char *value)
{
	size_t len0 = b->len, col = strlen(name) + 2;
	char *v = clean_value(value);
	int r = -1;

	if (is_ascii_printable(v) && buf_addf(b, "%s: ", name) == 0 &&
	    add_folded(b, v, &col) == 0 && buf_add(b, "\r\n", 2) == 0)
		r = 0;
	free(v);
	return r == 0 ? 0 : fail(b, len0);
}

/* atext of RFC 5322 3.2.3 */
static int
is_atext(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A phrase of atoms needs no quotes; anything else ("Jansen, Piet",
 * "J. de Vries") does. */
static int
phrase_is_atoms(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && !is_atext((unsigned char)*s))
			return 0;
	return 1;
}

int
mime_header_addr(struct buf *b, const char *name, const char *display,
    const char *addr)
{
	size_t len0 = b->len, col, alen;
	char *d;
	int r = 0;

	if (addr == NULL || !mime_addr_valid(addr))
		return -1;
	alen = strlen(addr);
	d = clean_value(display);
	col = strlen(name) + 2;
	if (buf_addf(b, "%s: ", name) == -1)
		r = -1;
	else if (*d == '\0') {
		r = buf_adds(b, addr);
		col += alen;
	} else if (!needs_encoding(d, col) &&
	    col + strlen(d) + 2 <= LINE_SOFT) {
		if (phrase_is_atoms(d)) {
			r = buf_adds(b, d);
			col += strlen(d);
		} else {
			r = buf_addc(b, '"');
			for (const char *p = d; r == 0 && *p; p++) {
				if (*p == '"' || *p == '\\')
					r = buf_addc(b, '\\');
				if (r == 0)
					r = buf_addc(b, *p);
				col++;
			}
			if (r == 0)
				r = buf_addc(b, '"');
			col += 2;
		}
	} else
		r = add_encoded(b, d, &col);
	if (r == 0 && *d != '\0') {
		if (col + 3 + alen > LINE_SOFT)
			r = buf_addf(b, "\r\n <%s>", addr);
		else
			r = buf_addf(b, " <%s>", addr);
	}
	free(d);
	if (r == -1 || buf_add(b, "\r\n", 2) == -1)
		return fail(b, len0);
	return 0;
}

int
mime_domain_valid(const char *d)
{
	size_t label = 0;

	if (*d == '\0' || *d == '.' || *d == '-')
		return 0;
	for (; *d; d++) {
		unsigned char c = (unsigned char)*d;

		if (c == '.') {
			if (label == 0 || d[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > LABEL_MAX)
			return 0;
	}
	return label > 0 && d[-1] != '-';
}

/*
 * A dot-atom local part and a host name: what a person's address looks
 * like.  Quoted local parts, domain literals and non-ASCII (SMTPUTF8) are
 * refused: none is needed by a school, each widens what reaches a header
 * or an SMTP command.
 */
int
mime_addr_valid(const char *addr)
{
	const char *at, *p;
	size_t len;

	if (addr == NULL || (len = strlen(addr)) == 0 || len > ADDR_MAX)
		return 0;
	if ((at = strrchr(addr, '@')) == NULL || at == addr ||
	    (size_t)(at - addr) > LOCAL_MAX)
		return 0;
	if (addr[0] == '.' || at[-1] == '.')
		return 0;
	for (p = addr; p < at; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)*p))
			return 0;
	}
	return mime_domain_valid(at + 1);
}

/*
 * Quoted-printable (RFC 2045 6.7).  LF and CRLF in the input are line
 * breaks and come out as CRLF; a lone CR is encoded.  Blanks before a line
 * break are encoded so that no transport can strip them, and "From " at
 * the start of a line becomes "=46rom " for mbox-style transports.
 *
 * The encoder writes into out, which has room for the worst case (see
 * qp_room); mime_qp reserves that room once instead of checking the
 * buffer per byte (the per-byte checks were a tenth of the CPU of
 * answering a request).  Returns the bytes written.
 */
#define QP_PLAIN(c)	((c) >= 33 && (c) <= 126 && (c) != '=')

static size_t
qp_encode(char *out, const unsigned char *s, size_t n)
{
	char *o = out;
	size_t i = 0;

	while (i < n) {
		const unsigned char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n, stop = end, ll = 0;

		/* The line is s[i, stop); CRLF or LF ends it (a lone CR not). */
		if (nl != NULL && stop > i && s[stop - 1] == '\r')
			stop--;
		for (size_t k = i; k < stop; k++) {
			unsigned char c = s[k];
			int eol = k + 1 == stop, lit;
			size_t t, j = k;

			/*
			 * Printable characters that fit before a soft break,
			 * short of the line's last (which may take the last
			 * column): copied as they are.
			 */
			if (ll > 0 || c != 'F')
				while (j + 1 < stop && ll + (j - k) < BODY_LINE - 1 &&
				    QP_PLAIN(s[j]))
					j++;
			if (j > k) {
				memcpy(o, s + k, j - k);
				o += j - k;
				ll += j - k;
				k = j - 1;
				continue;
			}
			if (c == ' ' || c == '\t')
				lit = !eol;
			else
				lit = QP_PLAIN(c);
			if (lit && ll == 0 && c == 'F' && stop - k >= 5 &&
			    memcmp(s + k, "From ", 5) == 0)
				lit = 0;
			t = lit ? 1 : 3;
			/* A soft break "=" needs a column of its own. */
			if (ll + t > (eol ? BODY_LINE : BODY_LINE - 1)) {
				*o++ = '=';
				*o++ = '\r';
				*o++ = '\n';
				ll = 0;
			}
			if (lit)
				*o++ = (char)c;
			else {
				*o++ = '=';
				*o++ = hexdig[c >> 4];
				*o++ = hexdig[c & 15];
			}
			ll += t;
		}
		if (nl == NULL)
			break;
		*o++ = '\r';
		*o++ = '\n';
		i = end + 1;
	}
	return (size_t)(o - out);
}

/*
 * The most qp_encode can write for n bytes: each byte 3 (CRLF for LF is
 * less), plus a soft break "=CRLF" per output line, and a line holds at
 * least BODY_LINE - 3 characters before it breaks.  0 when n is too large
 * to count.
 */
static size_t
qp_room(size_t n)
{
	if (n > SIZE_MAX / 8)
		return 0;
	return 3 * n + 3 * (3 * n / (BODY_LINE - 3) + 1);
}

int
mime_qp(struct buf *b, const char *src, size_t n)
{
	size_t room = qp_room(n), len;
	char *tmp;
	int rc;

	if (n == 0)
		return 0;
	if (room == 0)
		return -1;
	/* Room for the worst case: write in place. */
	if (buf_reserve(b, room) == 0) {
		len = qp_encode(b->data + b->len, (const unsigned char *)src, n);
		b->len += len;
		b->data[b->len] = '\0';
		return 0;
	}
	/* Near the cap: encode aside, and add it only if it fits. */
	tmp = xmalloc(room);
	len = qp_encode(tmp, (const unsigned char *)src, n);
	rc = buf_add(b, tmp, len);
	free(tmp);
	return rc;
}

int
mime_base64(struct buf *b, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t len0 = b->len;

	/* 57 bytes make one line of 76 characters. */
	for (size_t i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;

		if (add_b64(b, s + i, k) == -1 || buf_add(b, "\r\n", 2) == -1)
			return fail(b, len0);
	}
	return 0;
}

char *
mime_message_id(const char *domain)
{
	char *tok = random_token(24), *id;

	/* An id must be unique, not informative: 24 chars of 31 ≈ 119 bits. */
	if (domain == NULL || !mime_domain_valid(domain) ||
	    strlen(domain) > 200)
		domain = "leernet.invalid";
	id = xasprintf("<%s@%s>", tok, domain);
	free(tok);
	return id;
}

void
mime_date(char *out, size_t outlen, time_t t)
{
	/* Our own names: strftime's %a and %b follow the locale. */
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	int r;

	if (outlen == 0)
		return;
	if (localtime_r(&t, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	off = tm.tm_gmtoff / 60;
	r = snprintf(out, outlen, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
	    (off < 0 ? -off : off) % 60);
	if (r < 0 || (size_t)r >= outlen)
		out[0] = '\0';
}

char *
mime_boundary(void)
{
	char *tok = random_token(28), *bd;

	/* "=_" cannot occur in quoted-printable or base64 text. */
	bd = xasprintf("=_lrn_%s", tok);
	free(tok);
	return bd;
}
