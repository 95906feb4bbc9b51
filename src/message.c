/*
 * message.c - one inbound mail decoded into a struct message.
 *
 * Pure: bytes in, structures out.  libetpan parses the header fields and
 * the MIME tree, its charconv (iconv) converts charsets, libxml2's HTML
 * parser reads HTML-only mail.  What is ours is the policy on top: which
 * part is the body, what is new text and what is quoted history, which
 * parts are calendars and delivery reports, and the caps that keep hostile
 * mail from costing unbounded time or memory.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <libetpan/libetpan.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "dates.h"
#include "log.h"
#include "message.h"
#include "util.h"

#define PART_TEXT_MAX	(1024u * 1024)	/* decoded bytes kept per part */
#define PART_ENC_MAX	(4 * PART_TEXT_MAX) /* encoded bytes fed to a decoder */
#define BODY_TEXT_MAX	(2 * PART_TEXT_MAX) /* full_text, all parts together */
#define ATTACH_NAMES_MAX 1024			/* their names, all together */
#define LOGO_MAX	(16 * 1024)		/* encoded: a logo, not a screenshot */
#define MIME_DEPTH_MAX	20
#define MIME_PARTS_MAX	200
#define NEST_FIELDS_MAX	64		/* multipart/message types libetpan sees */
#define MIME_DELIMS_MAX	5000		/* "--" lines it sees */
#define HEADERS_MAX	1000
#define HEADER_VALUE_MAX (64u * 1024)
#define ADDRS_MAX	1000
#define REFS_MAX	200
#define MSGID_MAX	250
#define CAL_MAX		20
#define DSN_MAX		100
#define DSN_BLOCKS_MAX	500
#define ATTRIB_LINES	3		/* "On ... wrote:" wraps over at most */

/*
 * Small ASCII helpers.  Mail keywords are ASCII; <ctype.h> would follow
 * the locale.
 */
static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

static char
lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char
uc(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* A span of bytes that is not NUL-terminated: one line, one value. */
struct span {
	const char	*p;
	size_t		 n;
};

static struct span
span_trim(struct span s)
{
	while (s.n > 0 && is_space((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_space((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Case-insensitive (ASCII) equality of n bytes. */
static int
eq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc(a[i]) != lc(b[i]))
			return 0;
	return 1;
}

static int
span_starts(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.n >= n && eq_ci(s.p, prefix, n);
}

static int
span_ends(struct span s, const char *suffix)
{
	size_t n = strlen(suffix);
	struct span t;

	if (s.n < n)
		return 0;
	t.p = s.p + s.n - n;
	t.n = n;
	return span_starts(t, suffix);
}

static int
span_contains(struct span s, const char *needle)
{
	size_t n = strlen(needle);
	char first = lc(needle[0]);

	for (size_t i = 0; i + n <= s.n; i++)
		if (lc(s.p[i]) == first && eq_ci(s.p + i, needle, n))
			return 1;
	return 0;
}

static int
span_blank(struct span s)
{
	return span_trim(s).n == 0;
}

/*
 * Add at most what still fits under the buffer's cap, cut at a UTF-8
 * character boundary, so a capped text is still valid UTF-8.
 */
static void
buf_add_trunc(struct buf *b, const char *s, size_t n)
{
	(void)buf_add(b, s, utf8_cut(s, n, b->max - b->len));
}

/* clist_begin() dereferences its argument; libetpan leaves lists NULL. */
static clistiter *
list_first(clist *l)
{
	return l != NULL ? clist_begin(l) : NULL;
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		cp = c & 0x07;
	} else
		return 0;
	if (n >= len)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */

enum clean {
	CLEAN_HEADER,	/* one line: every control character becomes a space */
	CLEAN_TEXT,	/* LF line ends: CRLF and lone CR become LF */
	CLEAN_RAW,	/* as it is (calendars keep their CRLF) */
};

/*
 * C1 controls never mean anything in mail: they are windows-1252 text
 * decoded as iso-8859-1 (an encoded word labelled iso-8859-1, say).  Read
 * them as windows-1252, as browsers do.
 */
static const char *const c1_as_1252[32] = {
	"\xe2\x82\xac", REPLACEMENT, "\xe2\x80\x9a", "\xc6\x92",
	"\xe2\x80\x9e", "\xe2\x80\xa6", "\xe2\x80\xa0", "\xe2\x80\xa1",
	"\xcb\x86", "\xe2\x80\xb0", "\xc5\xa0", "\xe2\x80\xb9",
	"\xc5\x92", REPLACEMENT, "\xc5\xbd", REPLACEMENT,
	REPLACEMENT, "\xe2\x80\x98", "\xe2\x80\x99", "\xe2\x80\x9c",
	"\xe2\x80\x9d", "\xe2\x80\xa2", "\xe2\x80\x93", "\xe2\x80\x94",
	"\xcb\x9c", "\xe2\x84\xa2", "\xc5\xa1", "\xe2\x80\xba",
	"\xc5\x93", REPLACEMENT, "\xc5\xbe", "\xc5\xb8",
};

/*
 * Valid UTF-8 out of any bytes: invalid sequences and NUL become U+FFFD,
 * and per mode control characters and line ends are normalised.
 * Caller frees.
 */
static char *
utf8_clean(const char *in, size_t len, enum clean mode)
{
	const unsigned char *s = (const unsigned char *)in;
	struct buf b;
	size_t i = 0;

	buf_init(&b, 0);
	(void)buf_reserve(&b, len);
	while (i < len) {
		size_t n, j = i;

		/* Printable ASCII stays as it is, a run at a time. */
		while (j < len && s[j] >= 0x20 && s[j] < 0x7f)
			j++;
		if (j > i) {
			(void)buf_add(&b, s + i, j - i);
			i = j;
			continue;
		}
		n = utf8_seq(s + i, len - i);
		if (n == 0) {
			(void)buf_adds(&b, REPLACEMENT);
			i++;
			continue;
		}
		if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			(void)buf_adds(&b, c1_as_1252[s[i + 1] - 0x80]);
			i += n;
			continue;
		}
		if (n > 1) {
			(void)buf_add(&b, s + i, n);
			i += n;
			continue;
		}
		if (s[i] == '\0')
			(void)buf_adds(&b, REPLACEMENT);
		else if (mode == CLEAN_HEADER && (s[i] < 0x20 || s[i] == 0x7f))
			(void)buf_addc(&b, ' ');
		else if (mode == CLEAN_TEXT && s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				(void)buf_addc(&b, '\n');
		} else
			(void)buf_addc(&b, (char)s[i]);
		i++;
	}
	return buf_steal(&b);
}

/* ------------------------------------------------------------- charsets */

static void
charset_norm(const char *cs, char *out, size_t outsz)
{
	size_t i = 0;

	if (cs == NULL)
		cs = "";
	while (*cs == '"' || *cs == '\'' || is_space((unsigned char)*cs))
		cs++;
	for (; *cs && i + 1 < outsz; cs++)
		if (*cs != '"' && *cs != '\'' && !is_space((unsigned char)*cs))
			out[i++] = lc(*cs);
	out[i] = '\0';
}

static int
charset_in(const char *cs, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(cs, *list) == 0)
			return 1;
	return 0;
}

static const char *const cs_utf8[] = { "utf-8", "utf8", "x-unicode20utf8",
	NULL };
/*
 * Labels decoded as windows-1252, as browsers do (WHATWG): mail labelled
 * iso-8859-1 or us-ascii that holds 8-bit bytes is nearly always 1252.
 */
static const char *const cs_1252[] = { "", "us-ascii", "ascii", "iso-8859-1",
	"iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819",
	"windows-1252", "cp1252", "x-cp1252", "ansi_x3.4-1968", "us",
	"unknown-8bit", "x-unknown", "default", NULL };

/* Charsets whose pure-ASCII bytes still need decoding, or that hold NULs. */
static int
charset_needs_iconv(const char *cs)
{
	return strstr(cs, "utf-7") != NULL || strncmp(cs, "utf-16", 6) == 0 ||
	    strncmp(cs, "utf-32", 6) == 0 || strncmp(cs, "ucs-", 4) == 0 ||
	    strncmp(cs, "iso-2022", 8) == 0 || strncmp(cs, "hz", 2) == 0;
}

static int
has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* 0 and a converted copy in out and outlen (caller frees), or -1. */
static int
iconv_to_utf8(const char *from, const char *s, size_t len, char **out,
    size_t *outlen)
{
	char *res = NULL;
	size_t rlen = 0;

	if (charconv_buffer("utf-8", from, s, len, &res, &rlen) !=
	    MAIL_CHARCONV_NO_ERROR)
		return -1;
	*out = xmalloc(rlen + 1);
	memcpy(*out, res, rlen);
	(*out)[rlen] = '\0';
	*outlen = rlen;
	charconv_buffer_free(res);
	return 0;
}

/*
 * Bytes in a declared charset to clean UTF-8.  Valid UTF-8 with 8-bit
 * bytes wins over the label: mislabelled mail is common, while 8-bit text
 * in a legacy charset is almost never valid UTF-8 by accident.  A charset
 * iconv does not know is tried as UTF-8, then as windows-1252.
 * Caller frees.
 */
static char *
to_utf8(const char *s, size_t len, const char *charset, enum clean mode)
{
	char cs[64], *conv, *res;
	size_t clen;

	charset_norm(charset, cs, sizeof(cs));
	/* A byte-order mark says UTF-8, whatever the label. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		return utf8_clean(s + 3, len - 3, mode);
	if (!charset_needs_iconv(cs) && (!has_8bit(s, len) ||
	    utf8_valid(s, len) || charset_in(cs, cs_utf8)))
		return utf8_clean(s, len, mode);
	if (charset_in(cs, cs_1252) ||
	    iconv_to_utf8(cs, s, len, &conv, &clen) == -1) {
		if (iconv_to_utf8("windows-1252", s, len, &conv, &clen) == -1)
			return utf8_clean(s, len, mode);
	}
	res = utf8_clean(conv, clen, mode);
	free(conv);
	return res;
}

/* -------------------------------------------------------------- headers */

static void
trim_inplace(char *s)
{
	char *t = str_trim(s);

	if (t != s)
		memmove(s, t, strlen(t) + 1);
}

/* Unfold (drop the line breaks of folding), cap and trim.  Caller frees. */
static char *
unfold(const char *v)
{
	size_t n = strlen(v), j = 0;
	char *o;

	if (n > HEADER_VALUE_MAX)
		n = HEADER_VALUE_MAX;
	o = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			o[j++] = v[i];
	o[j] = '\0';
	trim_inplace(o);
	return o;
}

/*
 * An unfolded raw header value to one line of UTF-8: RFC 2047 words
 * decoded, raw 8-bit bytes read as UTF-8 when they are, else as
 * windows-1252.  Caller frees.
 */
static char *
decode_header(const char *raw)
{
	size_t len = strlen(raw), idx = 0;
	const char *from = utf8_valid(raw, len) ? "utf-8" : "windows-1252";
	char *out = NULL, *res;

	if (strstr(raw, "=?") != NULL &&
	    mailmime_encoded_phrase_parse(from, raw, len, &idx, "utf-8",
	    &out) == MAILIMF_NO_ERROR) {
		res = utf8_clean(out, strlen(out), CLEAN_HEADER);
		free(out);
	} else
		res = to_utf8(raw, len, from, CLEAN_HEADER);
	utf8_strip_bidi(res);
	trim_inplace(res);
	return res;
}

/* A display name: decoded, and unquoted when still quoted.  Caller frees. */
static char *
decode_name(const char *raw)
{
	char *s = decode_header(raw);
	size_t n = strlen(s), j = 0;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (size_t i = 1; i < n - 1; i++) {
			if (s[i] == '\\' && i + 1 < n - 1)
				i++;
			s[j++] = s[i];
		}
		s[j] = '\0';
		trim_inplace(s);
	}
	return s;
}

static int
rest_blank(const char *s)
{
	for (; *s; s++)
		if (!is_space((unsigned char)*s))
			return 0;
	return 1;
}

/* An addr-spec, or a bare local name (MAILER-DAEMON); nothing else. */
static int
addr_spec_ok(const char *a)
{
	size_t n = strlen(a);
	const char *at = strrchr(a, '@');

	if (n == 0 || n > 320 || !utf8_valid(a, n))
		return 0;
	if (at != NULL && (at == a || at[1] == '\0'))
		return 0;
	for (; *a; a++) {
		unsigned char c = (unsigned char)*a;

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' ||
		    c == ',' || c == ';' || c == '(' || c == ')' || c == '\\')
			return 0;
	}
	return 1;
}

struct addrs {
	struct address	*v;
	size_t		 n;
};

static void
addrs_push(struct addrs *l, const char *name, const char *addr, size_t alen)
{
	struct address *a;

	if (l->n >= ADDRS_MAX)
		return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	a = &l->v[l->n++];
	a->name = name != NULL ? decode_name(name) : xstrdup("");
	a->addr = xstrndup(addr, alen);
	trim_inplace(a->addr);
	str_lower(a->addr);
}

static void
mailbox_list_push(struct addrs *l, struct mailimf_mailbox_list *ml)
{
	if (ml == NULL || ml->mb_list == NULL)
		return;
	for (clistiter *c = list_first(ml->mb_list); c; c = clist_next(c)) {
		struct mailimf_mailbox *mb = clist_content(c);

		addrs_push(l, mb->mb_display_name, mb->mb_addr_spec,
		    strlen(mb->mb_addr_spec));
	}
}

/* The first whitespace-separated token with an '@' in it. */
static int
addr_token(struct span s, struct span *tok)
{
	const char *t = s.p, *e = s.p + s.n;

	while (t < e) {
		const char *te = t;

		while (te < e && !is_space((unsigned char)*te))
			te++;
		if (memchr(t, '@', (size_t)(te - t)) != NULL) {
			tok->p = t;
			tok->n = (size_t)(te - t);
			return 1;
		}
		for (t = te; t < e && is_space((unsigned char)*t); t++)
			;
	}
	return 0;
}

/*
 * One comma-separated piece that libetpan could not read: "Name <addr"
 * with a missing bracket, or a bare token with an '@'.
 */
static void
addr_loose_one(struct addrs *l, const char *p, size_t n)
{
	struct span s = span_trim((struct span){ p, n }), addr, name = { p, 0 };
	const char *lt = memchr(s.p, '<', s.n);
	char *a, *nm = NULL;

	if (lt != NULL) {
		const char *gt;

		addr.p = lt + 1;
		gt = memchr(addr.p, '>', (size_t)(s.p + s.n - addr.p));
		addr.n = (size_t)((gt != NULL ? gt : s.p + s.n) - addr.p);
		name.p = s.p;
		name.n = (size_t)(lt - s.p);
	} else if (!addr_token(s, &addr))
		return;
	addr = span_trim(addr);
	name = span_trim(name);
	a = xstrndup(addr.p, addr.n);
	if (name.n > 0)
		nm = xstrndup(name.p, name.n);
	if (addr_spec_ok(a))
		addrs_push(l, nm, a, strlen(a));
	free(a);
	free(nm);
}

/* Split on commas outside quotes and angle brackets; drop group syntax. */
static void
addr_loose(struct addrs *l, const char *v)
{
	const char *p = v, *seg = v;
	int quote = 0, angle = 0;

	for (;; p++) {
		if (*p == '\0' || (!quote && !angle && (*p == ',' ||
		    *p == ';'))) {
			const char *s = seg, *colon;

			/* "group: a@b" - the group name ends in ':' before
			 * any address. */
			colon = memchr(s, ':', (size_t)(p - s));
			if (colon != NULL && memchr(s, '<', (size_t)(colon -
			    s)) == NULL && memchr(s, '@', (size_t)(colon - s)) ==
			    NULL && memchr(s, '"', (size_t)(colon - s)) == NULL)
				s = colon + 1;
			addr_loose_one(l, s, (size_t)(p - s));
			if (*p == '\0')
				break;
			seg = p + 1;
			continue;
		}
		if (*p == '\\' && quote && p[1] != '\0')
			p++;
		else if (*p == '"')
			quote = !quote;
		else if (*p == '<' && !quote)
			angle = 1;
		else if (*p == '>' && !quote)
			angle = 0;
	}
}

/*
 * libetpan "repairs" some junk into an address that is nowhere in the
 * value ("Jan Jansen jan@x.nl" becomes janjansenjan@x.nl): take only what
 * is there as written, give or take the blanks RFC 5322 allows around '@'
 * and '.'.  Addresses come in order, so the search goes on from *from.
 */
static int
addr_as_written(const char **from, const char *addr)
{
	if (addr == NULL || !addr_spec_ok(addr))
		return 0;
	for (const char *start = *from; *start; start++) {
		const char *p = start, *a = addr;

		while (*a) {
			if (lc(*p) == lc(*a)) {
				p++;
				a++;
			} else if (is_wsp(*p) && a > addr && (a[-1] == '@' ||
			    a[-1] == '.' || *a == '@' || *a == '.'))
				p++;
			else
				break;
		}
		if (*a == '\0') {
			*from = p;
			return 1;
		}
	}
	return 0;
}

static int
mailbox_list_ok(const char **from, struct mailimf_mailbox_list *ml)
{
	if (ml == NULL || ml->mb_list == NULL)
		return 1;
	for (clistiter *c = list_first(ml->mb_list); c; c = clist_next(c)) {
		struct mailimf_mailbox *mb = clist_content(c);

		if (!addr_as_written(from, mb->mb_addr_spec))
			return 0;
	}
	return 1;
}

/* Append the addresses in one raw (unfolded) value; groups flattened. */
static void
addr_parse(struct addrs *l, const char *v)
{
	struct mailimf_address_list *al = NULL;
	const char *from = v;
	size_t idx = 0;
	int ok = 0;

	if (mailimf_address_list_parse(v, strlen(v), &idx, &al) ==
	    MAILIMF_NO_ERROR) {
		ok = rest_blank(v + idx);
		for (clistiter *c = list_first(al->ad_list); ok && c;
		    c = clist_next(c)) {
			struct mailimf_address *a = clist_content(c);

			if (a->ad_type == MAILIMF_ADDRESS_MAILBOX)
				ok = addr_as_written(&from,
				    a->ad_data.ad_mailbox->mb_addr_spec);
			else
				ok = mailbox_list_ok(&from,
				    a->ad_data.ad_group->grp_mb_list);
		}
		for (clistiter *c = list_first(al->ad_list); ok && c;
		    c = clist_next(c)) {
			struct mailimf_address *a = clist_content(c);

			if (a->ad_type == MAILIMF_ADDRESS_MAILBOX)
				addrs_push(l, a->ad_data.ad_mailbox->mb_display_name,
				    a->ad_data.ad_mailbox->mb_addr_spec,
				    strlen(a->ad_data.ad_mailbox->mb_addr_spec));
			else
				mailbox_list_push(l,
				    a->ad_data.ad_group->grp_mb_list);
		}
		mailimf_address_list_free(al);
	}
	if (!ok)
		addr_loose(l, v);
}

static int
msgid_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > MSGID_MAX)
		return 0;
	for (; *id; id++) {
		unsigned char c = (unsigned char)*id;

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return 0;
	}
	return 1;
}

struct ids {
	char	**v;
	size_t	  n, cap;
};

/* Unbounded but for the value's cap (HEADER_VALUE_MAX). */
static void
ids_push(struct ids *l, const char *id, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(id, n);
}

static void
ids_free(struct ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/*
 * The message ids in a raw value, without <>.  libetpan reads them;
 * when it reads junk ("foo <a@b>", unbalanced brackets) every <...> is
 * taken instead, and a lone id without brackets is taken as it is.
 */
static void
ids_parse(struct ids *l, const char *v)
{
	clist *cl = NULL;
	size_t idx = 0, len = strlen(v);
	int ok = 0;

	if (mailimf_msg_id_list_parse(v, len, &idx, &cl) ==
	    MAILIMF_NO_ERROR) {
		ok = rest_blank(v + idx);
		for (clistiter *c = list_first(cl); ok && c; c = clist_next(c))
			ok = c->data != NULL && msgid_ok(c->data);
		for (clistiter *c = list_first(cl); ok && c; c = clist_next(c))
			ids_push(l, c->data, strlen(c->data));
		for (clistiter *c = list_first(cl); c; c = clist_next(c))
			free(c->data);
		clist_free(cl);
	}
	if (ok)
		return;
	for (const char *p = strchr(v, '<'); p != NULL; ) {
		const char *e = strchr(p + 1, '>');
		char *id;

		if (e == NULL)
			break;
		id = xstrndup(p + 1, (size_t)(e - p - 1));
		trim_inplace(id);
		if (msgid_ok(id))
			ids_push(l, id, strlen(id));
		free(id);
		p = strchr(e + 1, '<');
	}
	if (l->n == 0 && strchr(v, '<') == NULL) {
		char *id = xstrdup(v);

		trim_inplace(id);
		if (msgid_ok(id))
			ids_push(l, id, strlen(id));
		free(id);
	}
}

static time_t
date_parse(const char *v)
{
	struct mailimf_date_time *dt = NULL;
	size_t idx = 0;
	int64_t y, t, zone;

	if (mailimf_date_time_parse(v, strlen(v), &idx, &dt) !=
	    MAILIMF_NO_ERROR)
		return 0;
	y = dt->dt_year;
	if (y >= 0 && y < 50)
		y += 2000;
	else if (y >= 50 && y < 1000)
		y += 1900;
	zone = dt->dt_zone;
	if (y < 1970 || y > 9999 || dt->dt_month < 1 || dt->dt_month > 12 ||
	    dt->dt_day < 1 || dt->dt_day > 31 || dt->dt_hour < 0 ||
	    dt->dt_hour > 23 || dt->dt_min < 0 || dt->dt_min > 59 ||
	    dt->dt_sec < 0 || dt->dt_sec > 60 || zone < -2359 ||
	    zone > 2359 || (zone < 0 ? -zone : zone) % 100 > 59) {
		mailimf_date_time_free(dt);
		return 0;
	}
	t = dt_days_from_civil(y, dt->dt_month, dt->dt_day) * 86400 +
	    dt->dt_hour * 3600 + dt->dt_min * 60 + dt->dt_sec;
	t -= (zone / 100) * 3600 + (zone % 100) * 60;
	mailimf_date_time_free(dt);
	return t > 0 ? (time_t)t : 0;
}

/* The envelope sender, without <>: "" for the null sender. */
static char *
return_path_parse(const char *v)
{
	const char *p = v, *e;
	char *a, *res;

	while (is_space((unsigned char)*p))
		p++;
	if (*p == '<')
		p++;
	for (e = p; *e && *e != '>' && !is_space((unsigned char)*e); e++)
		;
	a = xstrndup(p, (size_t)(e - p));
	str_lower(a);
	res = utf8_clean(a, strlen(a), CLEAN_HEADER);
	free(a);
	return res;
}

char *
message_derived_id(const char *raw, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	char h[2 * sizeof(md) + 1];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, md) != 0)
		fatalx("gnutls_hash_fast: SHA-256 unavailable");
	for (size_t i = 0; i < sizeof(md); i++) {
		h[2 * i] = hex[md[i] >> 4];
		h[2 * i + 1] = hex[md[i] & 0xf];
	}
	h[sizeof(h) - 1] = '\0';
	return xasprintf("derived-%s@leernet.invalid", h);
}

/* ----------------------------------------------------------------- MIME */

struct partinfo {
	char		 type[96];	/* "text/plain", lower-case */
	const char	*charset;	/* borrowed, or NULL */
	int		 flowed;	/* format=flowed (RFC 3676) */
	int		 delsp;		/* ... with delsp=yes */
	int		 attachment;	/* disposition attachment, or a file name */
	int		 logo;		/* a small picture the HTML shows (a
					 * Content-ID, not an attachment): a
					 * signature's logo */
	int		 ics_name;	/* a file name that ends in .ics */
	char		 name[160];	/* the file name as written (raw) */
	int		 name_ext;	/* RFC 2231: charset'lang'%XX */
	int		 name_is_file;	/* from filename=, not name= */
};

static void
mime_type(struct mailmime_content *ct, char *out, size_t outsz)
{
	const char *t = "application", *sub;
	int r;

	if (ct == NULL || ct->ct_type == NULL) {
		snprintf(out, outsz, "text/plain");
		return;
	}
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		struct mailmime_discrete_type *d =
		    ct->ct_type->tp_data.tp_discrete_type;

		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			t = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			t = "image";
			break;
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			t = "audio";
			break;
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			t = "video";
			break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			if (d->dt_extension != NULL)
				t = d->dt_extension;
			break;
		default:
			break;
		}
	} else {
		struct mailmime_composite_type *c =
		    ct->ct_type->tp_data.tp_composite_type;

		switch (c->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			t = "message";
			break;
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			t = "multipart";
			break;
		default:
			if (c->ct_token != NULL)
				t = c->ct_token;
			break;
		}
	}
	sub = ct->ct_subtype != NULL ? ct->ct_subtype : "";
	r = snprintf(out, outsz, "%s/%s", t, sub);
	/* A type too long for the buffer matches nothing we look for. */
	if (r < 0 || (size_t)r >= outsz)
		snprintf(out, outsz, "x-too-long/x-too-long");
	str_lower(out);
}

static int
name_is_ics(const char *name)
{
	struct span s;

	if (name == NULL)
		return 0;
	s = span_trim((struct span){ name, strlen(name) });
	while (s.n > 0 && (s.p[s.n - 1] == '"' || s.p[s.n - 1] == '\''))
		s.n--;
	return span_ends(s, ".ics");
}

/*
 * A file name parameter, or a piece of one (RFC 2231: name*0*=, name*1*=
 * ... continue it; "filename=" wins over "name=").  Kept raw here and
 * decoded by attachment_name().
 */
static void
name_piece(struct partinfo *pi, const char *param, const char *v)
{
	int is_file = str_startswith_ci(param, "filename");
	const char *star = strchr(param, '*');
	size_t n;

	if (v == NULL)
		return;
	/* A filename replaces a name; a first piece starts over. */
	if ((is_file && !pi->name_is_file) || star == NULL ||
	    strncmp(star, "*0", 2) == 0 || strcmp(star, "*") == 0) {
		if (!is_file && pi->name_is_file)
			return;
		pi->name[0] = '\0';
		pi->name_ext = star != NULL && star[strlen(star) - 1] == '*';
		pi->name_is_file = is_file;
	} else if (is_file != pi->name_is_file)
		return;
	n = strlen(pi->name);
	snprintf(pi->name + n, sizeof(pi->name) - n, "%s", v);
}

static void
part_info(struct mailmime *mm, struct partinfo *pi)
{
	struct mailmime_single_fields sf;
	clist *params;

	memset(pi, 0, sizeof(*pi));
	mime_type(mm->mm_content_type, pi->type, sizeof(pi->type));
	mailmime_single_fields_init(&sf, mm->mm_mime_fields,
	    mm->mm_content_type);
	pi->charset = sf.fld_content_charset;
	if (sf.fld_disposition != NULL && sf.fld_disposition->dsp_type !=
	    NULL && sf.fld_disposition->dsp_type->dsp_type ==
	    MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
		pi->attachment = 1;
	else if (sf.fld_id != NULL && strncmp(pi->type, "image/", 6) == 0 &&
	    mm->mm_length < LOGO_MAX)
		pi->logo = 1;
	/* name=, name*=, filename=, filename*0*= ...: RFC 2231 names come
	 * through undecoded, but ".ics" is still their last four bytes. */
	params = mm->mm_content_type ? mm->mm_content_type->ct_parameters :
	    NULL;
	for (clistiter *c = list_first(params); c; c = clist_next(c)) {
		struct mailmime_parameter *p = c->data;

		if (p != NULL && p->pa_name != NULL && p->pa_value != NULL) {
			if (strcasecmp(p->pa_name, "format") == 0)
				pi->flowed = strcasecmp(p->pa_value,
				    "flowed") == 0;
			else if (strcasecmp(p->pa_name, "delsp") == 0)
				pi->delsp = strcasecmp(p->pa_value, "yes") == 0;
		}
		if (p == NULL || p->pa_name == NULL ||
		    !str_startswith_ci(p->pa_name, "name"))
			continue;
		pi->attachment = 1;
		pi->ics_name |= name_is_ics(p->pa_value);
		name_piece(pi, p->pa_name, p->pa_value);
	}
	params = sf.fld_disposition ? sf.fld_disposition->dsp_parms : NULL;
	for (clistiter *c = list_first(params); c; c = clist_next(c)) {
		struct mailmime_disposition_parm *dp = c->data;
		const char *v = NULL;

		if (dp == NULL)
			continue;
		if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
			v = dp->pa_data.pa_filename;
		else if (dp->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER &&
		    dp->pa_data.pa_parameter != NULL &&
		    dp->pa_data.pa_parameter->pa_name != NULL &&
		    str_startswith_ci(dp->pa_data.pa_parameter->pa_name,
		    "filename"))
			v = dp->pa_data.pa_parameter->pa_value;
		else
			continue;
		pi->attachment = 1;
		pi->ics_name |= name_is_ics(v);
		if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
			name_piece(pi, "filename", v);
		else
			name_piece(pi, dp->pa_data.pa_parameter->pa_name, v);
	}
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
hex_val(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/*
 * libetpan decodes any "=" and the two bytes after it, so the unescaped
 * '=' of sloppy HTML (<div name="x">) becomes a NUL and eats a character.
 * Escape every '=' that is neither "=XX" nor a soft line break (spaces
 * before that line break dropped), as lenient decoders do.  Caller frees.
 */
static char *
qp_repair(const char *s, size_t n, size_t *outlen)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (s[i] != '=') {
			(void)buf_addc(&b, s[i]);
			continue;
		}
		if (i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
			(void)buf_add(&b, s + i, 3);
			i += 2;
			continue;
		}
		for (j = i + 1; j < n && is_wsp(s[j]); j++)
			;
		if (j < n && (s[j] == '\n' || s[j] == '\r')) {
			(void)buf_addc(&b, '=');
			i = j - 1;
			continue;
		}
		(void)buf_adds(&b, "=3D");
	}
	*outlen = b.len;
	return buf_steal(&b);
}

/*
 * The transfer-decoded bytes of a single part, at most PART_TEXT_MAX of
 * them.  Caller frees; NULL when the part has no body.
 */
static char *
part_bytes(struct mailmime *mm, size_t *outlen)
{
	struct mailmime_data *d;
	char *dec = NULL, *res;
	size_t n, idx = 0, declen = 0;
	int enc, r;

	*outlen = 0;
	if (mm->mm_type != MAILMIME_SINGLE)
		return NULL;
	d = mm->mm_data.mm_single;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    d->dt_data.dt_text.dt_data == NULL)
		return NULL;
	n = d->dt_data.dt_text.dt_length;
	if (n > PART_ENC_MAX)
		n = PART_ENC_MAX;
	enc = d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT;
	if (enc != MAILMIME_MECHANISM_BASE64 &&
	    enc != MAILMIME_MECHANISM_QUOTED_PRINTABLE)
		enc = MAILMIME_MECHANISM_8BIT;
	if (enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		size_t qlen;
		char *q = qp_repair(d->dt_data.dt_text.dt_data, n, &qlen);

		r = mailmime_part_parse(q, qlen, &idx, enc, &dec, &declen);
		free(q);
	} else
		r = mailmime_part_parse(d->dt_data.dt_text.dt_data, n, &idx,
		    enc, &dec, &declen);
	if (r != MAILIMF_NO_ERROR || dec == NULL)
		return NULL;
	if (declen > PART_TEXT_MAX)
		declen = PART_TEXT_MAX;
	res = xmalloc(declen + 1);
	memcpy(res, dec, declen);
	res[declen] = '\0';
	mmap_string_unref(dec);
	*outlen = declen;
	return res;
}

/* A part's text as UTF-8 (caller frees), "" when it has none. */
static char *
part_text(struct mailmime *mm, const char *charset, enum clean mode)
{
	size_t n;
	char *b = part_bytes(mm, &n), *t;

	if (b == NULL)
		return xstrdup("");
	t = to_utf8(b, n, charset, mode);
	free(b);
	return t;
}

static clist *
mime_children(struct mailmime *mm)
{
	return mm->mm_type == MAILMIME_MULTIPLE ?
	    mm->mm_data.mm_multipart.mm_mp_list : NULL;
}

/* ------------------------------------------------------------ HTML text */

struct h2t {
	struct buf	 out;
	int		 skip_quotes;	/* leave out quoted history */
	int		 stopped;	/* all that follows is history */
	int		 pre;
	int		 space;		/* whitespace seen, not yet written */
	size_t		 a_start;	/* where the open <a>'s text began */
};

static int
h2t_line_start(const struct h2t *h)
{
	return h->out.len == 0 || h->out.data[h->out.len - 1] == '\n';
}

static void
h2t_newline(struct h2t *h)
{
	if (!h2t_line_start(h))
		(void)buf_addc(&h->out, '\n');
	h->space = 0;
}

static void
h2t_para(struct h2t *h)
{
	h2t_newline(h);
	if (h->out.len > 1 && h->out.data[h->out.len - 2] != '\n')
		(void)buf_addc(&h->out, '\n');
}

static void
h2t_text(struct h2t *h, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (h->pre) {
			if (c != '\r')
				(void)buf_addc(&h->out, (char)c);
			continue;
		}
		if (is_space(c)) {
			h->space = 1;
			continue;
		}
		if (h->space && !h2t_line_start(h))
			(void)buf_addc(&h->out, ' ');
		h->space = 0;
		if (c == 0xc2 && (unsigned char)s[1] == 0xa0) {
			/* &nbsp; */
			(void)buf_addc(&h->out, ' ');
			s++;
			continue;
		}
		(void)buf_addc(&h->out, (char)c);
	}
}

static int
name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

static const char *const h2t_skip[] = { "head", "script", "style", "title",
	"template", "xml", "svg", "math", "object", NULL };
static const char *const h2t_paras[] = { "p", "h1", "h2", "h3", "h4", "h5",
	"h6", "blockquote", "pre", "table", "ul", "ol", "dl", NULL };
static const char *const h2t_blocks[] = { "div", "address", "article",
	"aside", "center", "dd", "dt", "fieldset", "figcaption", "figure",
	"footer", "form", "header", "li", "main", "nav", "section", "tr",
	"caption", "tbody", "thead", "tfoot", "body", "html", NULL };

/* Quoted history and signatures by class, and by id where it ends them. */
static const char *const h2t_quote_class[] = { "gmail_quote",
	"gmail_quote_container", "gmail_extra", "gmail_signature",
	"yahoo_quoted", "moz-cite-prefix", "moz-signature", "protonmail_quote",
	NULL };
static const char *const h2t_quote_name[] = { "messageReplySection",
	"messageSignatureSection", NULL };
static const char *const h2t_sig_id[] = { "Signature",
	"ms-outlook-mobile-signature", NULL };
static const char *const h2t_stop_id[] = { "appendonsend", "divRplyFwdMsg",
	NULL };

/* Outlook prefixes ids and classes with "x_" when it quotes HTML mail. */
static int
attr_is(const char *v, size_t n, const char *const *list)
{
	if (n > 2 && v[0] == 'x' && v[1] == '_') {
		v += 2;
		n -= 2;
	}
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(v, *list, n) == 0)
			return 1;
	return 0;
}

static int
class_has(xmlNode *n, const char *const *list)
{
	xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
	const char *p;
	int found = 0;

	if (cls == NULL)
		return 0;
	for (p = (const char *)cls; *p && !found; ) {
		const char *e = p;

		while (*e && !is_space((unsigned char)*e))
			e++;
		found = attr_is(p, (size_t)(e - p), list);
		while (*e && is_space((unsigned char)*e))
			e++;
		p = e;
	}
	xmlFree(cls);
	return found;
}

static int
prop_is(xmlNode *n, const char *prop, const char *const *list)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)prop);
	int found;

	if (v == NULL)
		return 0;
	found = attr_is((const char *)v, strlen((const char *)v), list);
	xmlFree(v);
	return found;
}

/*
 * Outlook desktop puts the quoted mail's header ("From: ... Sent: ...")
 * in a block with a top border; the history follows it.  Looks at the
 * first few dozen bytes of text only, so it stays cheap on deep trees.
 */
static int
h2t_outlook_header(xmlNode *n)
{
	xmlChar *style = xmlGetProp(n, (const xmlChar *)"style");
	char t[32];
	size_t tl = 0;
	int budget = 64, border;
	struct span s;

	if (style == NULL)
		return 0;
	border = span_contains((struct span){ (const char *)style,
	    strlen((const char *)style) }, "border-top");
	xmlFree(style);
	if (!border)
		return 0;
	for (xmlNode *c = n->children; c != NULL && budget-- > 0 &&
	    tl < sizeof(t) - 1; ) {
		if (c->type == XML_TEXT_NODE && c->content != NULL)
			for (const xmlChar *p = c->content; *p &&
			    tl < sizeof(t) - 1; p++)
				if (!is_space(*p) && *p != '*')
					t[tl++] = (char)*p;
		if (c->type == XML_ELEMENT_NODE && c->children != NULL) {
			c = c->children;
			continue;
		}
		while (c != n && c->next == NULL)
			c = c->parent;
		if (c == n)
			break;
		c = c->next;
	}
	s.p = t;
	s.n = tl;
	return span_starts(s, "from:") || span_starts(s, "van:") ||
	    span_starts(s, "de:") || span_starts(s, "von:");
}

enum h2t_kind { H2T_INLINE, H2T_LINE, H2T_PARA };

static enum h2t_kind
h2t_kind(xmlNode *n)
{
	const char *name = (const char *)n->name;

	if (strcmp(name, "p") == 0) {
		/* libxml2 reads Word's <o:p> as <p>; a real <p> closes an
		 * open one, so a <p> in a <p> is Word's and inline. */
		if (n->parent != NULL && n->parent->type == XML_ELEMENT_NODE &&
		    n->parent->name != NULL &&
		    strcmp((const char *)n->parent->name, "p") == 0)
			return H2T_INLINE;
		/* Outlook writes every line as a <p class=MsoNormal>. */
		if (class_has(n, (const char *const[]){ "MsoNormal", NULL }))
			return H2T_LINE;
		return H2T_PARA;
	}
	if (name_in(name, h2t_paras))
		return H2T_PARA;
	if (name_in(name, h2t_blocks))
		return H2T_LINE;
	return H2T_INLINE;
}

/*
 * "Zie <a href=https://x.test/a>de site</a>." keeps where it points:
 * "Zie de site <https://x.test/a>."  Only web links, only when the text
 * does not show the address already.
 */
static void
h2t_link(struct h2t *h, xmlNode *n)
{
	xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
	const char *u = (const char *)href, *shown;
	size_t len;

	if (u == NULL)
		return;
	len = strlen(u);
	shown = h->a_start <= h->out.len && h->out.data != NULL ?
	    h->out.data + h->a_start : "";
	if ((strncasecmp(u, "http://", 7) == 0 ||
	    strncasecmp(u, "https://", 8) == 0) && len <= 2048 &&
	    u[strcspn(u, " \t\r\n<>")] == '\0' && strstr(shown, u) == NULL &&
	    h->out.len > h->a_start) {
		(void)buf_adds(&h->out, " <");
		(void)buf_adds(&h->out, u);
		(void)buf_addc(&h->out, '>');
	}
	xmlFree(href);
}

/* 1: walk into the node; 0: leave it out. */
static int
h2t_enter(struct h2t *h, xmlNode *n)
{
	const char *name;

	if (h->stopped)
		return 0;
	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (n->content != NULL)
			h2t_text(h, (const char *)n->content);
		return 0;
	case XML_ELEMENT_NODE:
		break;
	default:
		return 0;
	}
	name = (const char *)n->name;
	if (name == NULL || name_in(name, h2t_skip))
		return 0;
	if (h->skip_quotes) {
		if (prop_is(n, "id", h2t_stop_id) || h2t_outlook_header(n)) {
			h->stopped = 1;
			return 0;
		}
		if (strcmp(name, "blockquote") == 0 ||
		    class_has(n, h2t_quote_class) ||
		    prop_is(n, "name", h2t_quote_name) ||
		    prop_is(n, "id", h2t_sig_id)) {
			/* What surrounds a quote stays apart. */
			h2t_para(h);
			return 0;
		}
	}
	if (strcmp(name, "br") == 0) {
		(void)buf_addc(&h->out, '\n');
		h->space = 0;
		return 0;
	}
	if (strcmp(name, "hr") == 0) {
		h2t_newline(h);
		return 0;
	}
	if (strcmp(name, "img") == 0)
		return 0;
	switch (h2t_kind(n)) {
	case H2T_PARA:
		h2t_para(h);
		break;
	case H2T_LINE:
		h2t_newline(h);
		break;
	default:
		break;
	}
	if (strcmp(name, "a") == 0)
		h->a_start = h->out.len;
	if (strcmp(name, "li") == 0)
		(void)buf_adds(&h->out, "- ");
	else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)
		h->space = 1;
	else if (strcmp(name, "pre") == 0)
		h->pre++;
	return 1;
}

static void
h2t_leave(struct h2t *h, xmlNode *n)
{
	const char *name = (const char *)n->name;

	if (n->type != XML_ELEMENT_NODE || name == NULL)
		return;
	if (strcmp(name, "pre") == 0 && h->pre > 0)
		h->pre--;
	if (h->stopped)
		return;
	if (strcmp(name, "a") == 0)
		h2t_link(h, n);
	switch (h2t_kind(n)) {
	case H2T_PARA:
		h2t_para(h);
		break;
	case H2T_LINE:
		h2t_newline(h);
		break;
	default:
		break;
	}
}

/* Iterative, so that no nesting depth can exhaust the stack. */
static void
h2t_walk(struct h2t *h, xmlNode *root)
{
	xmlNode *n = root;

	while (n != NULL) {
		int descend = h2t_enter(h, n);

		if (descend && n->children != NULL) {
			n = n->children;
			continue;
		}
		if (descend)
			h2t_leave(h, n);
		while (n != root && n->next == NULL) {
			n = n->parent;
			h2t_leave(h, n);
		}
		if (n == root)
			break;
		n = n->next;
	}
}

/*
 * Lines without trailing blanks; leading and trailing blank lines dropped;
 * with collapse, runs of blank lines made one.  Caller frees.
 */
static char *
text_tidy(const char *s, int collapse)
{
	struct buf b;
	int blanks = 0, started = 0;

	buf_init(&b, 0);
	while (*s) {
		const char *e = strchr(s, '\n');
		struct span l;

		if (e == NULL)
			e = s + strlen(s);
		l.p = s;
		l.n = (size_t)(e - s);
		if (collapse)
			while (l.n > 0 && is_space((unsigned char)l.p[l.n - 1]))
				l.n--;
		if (span_blank(l)) {
			if (started)
				blanks++;
		} else {
			if (blanks > 0)
				for (int i = 0; i < (collapse ? 1 : blanks); i++)
					(void)buf_addc(&b, '\n');
			if (started)
				(void)buf_addc(&b, '\n');
			(void)buf_add(&b, l.p, l.n);
			started = 1;
			blanks = 0;
		}
		s = *e ? e + 1 : e;
	}
	while (b.len > 0 && is_space((unsigned char)b.data[b.len - 1]))
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

static char *
html_walk_text(htmlDocPtr doc, int skip_quotes)
{
	struct h2t h;
	xmlNode *root;
	char *raw, *res;

	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL)
		return xstrdup("");
	memset(&h, 0, sizeof(h));
	buf_init(&h.out, BODY_TEXT_MAX);
	h.skip_quotes = skip_quotes;
	h2t_walk(&h, root);
	raw = utf8_clean(buf_str(&h.out), h.out.len, CLEAN_TEXT);
	buf_free(&h.out);
	res = text_tidy(raw, 1);
	free(raw);
	return res;
}

/*
 * An HTML part's text: all of it, and (fresh, unless NULL) without the
 * quoted history and signatures that clients mark up.  Caller frees both.
 */
static void
html_texts(const char *html, size_t len, char **full, char **fresh)
{
	char *clean;
	htmlDocPtr doc = NULL;
	size_t n;

	if (len > PART_TEXT_MAX)
		len = PART_TEXT_MAX;
	clean = utf8_clean(html, len, CLEAN_RAW);
	n = strlen(clean);
	if (n > PART_TEXT_MAX)
		n = PART_TEXT_MAX;
	/* UTF-8 already: a <meta charset> must not switch it. */
	if (n > 0)
		doc = htmlReadMemory(clean, (int)n, NULL, "UTF-8",
		    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
		    HTML_PARSE_NONET | HTML_PARSE_RECOVER |
		    HTML_PARSE_IGNORE_ENC);
	*full = html_walk_text(doc, 0);
	if (fresh != NULL)
		*fresh = html_walk_text(doc, 1);
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(clean);
}

char *
message_html_to_text(const char *html, size_t len)
{
	char *t;

	if (html == NULL)
		return xstrdup("");
	html_texts(html, len, &t, NULL);
	return t;
}

/* ------------------------------------------------------------- new text */

struct lines {
	struct span	*v;
	size_t		 n;
};

static void
lines_split(const char *s, struct lines *l)
{
	size_t cap = 1;

	for (const char *p = s; (p = strchr(p, '\n')) != NULL; p++)
		cap++;
	l->v = xreallocarray(NULL, cap, sizeof(*l->v));
	l->n = 0;
	while (*s) {
		const char *e = strchr(s, '\n');
		struct span sp;

		if (e == NULL)
			e = s + strlen(s);
		sp.p = s;
		sp.n = (size_t)(e - s);
		if (sp.n > 0 && sp.p[sp.n - 1] == '\r')
			sp.n--;
		l->v[l->n++] = sp;
		s = *e ? e + 1 : e;
	}
}

static int
line_quoted(struct span l)
{
	l = span_trim(l);
	return l.n > 0 && l.p[0] == '>';
}

static int
has_digit(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] >= '0' && s.p[i] <= '9')
			return 1;
	return 0;
}

/* "On <date>, X wrote:", "Op <date> schreef X:" and their kin. */
static int
attribution_text(struct span s)
{
	/* A date is part of every client's line; it keeps "Op dinsdag
	 * schreef ik:" in the author's own text. */
	if (!has_digit(s))
		return 0;
	if (span_starts(s, "on ") && (span_ends(s, "wrote:") ||
	    span_ends(s, "wrote :")))
		return 1;
	if (span_starts(s, "op ") && span_ends(s, ":") &&
	    (span_contains(s, " schreef ") || span_contains(s, " schreef:") ||
	    span_ends(s, "geschreven:")))
		return 1;
	if (span_starts(s, "am ") && span_ends(s, "schrieb:"))
		return 1;
	if (span_starts(s, "le ") && (span_ends(s, "a \xc3\xa9" "crit :") ||
	    span_ends(s, "a \xc3\xa9" "crit:") ||
	    span_ends(s, "a \xc3\xa9" "crit\xc2\xa0:")))
		return 1;
	return 0;
}

/* Number of lines (Gmail wraps it over two) of an attribution at i, or 0. */
static size_t
attribution_at(const struct lines *l, size_t i)
{
	char joined[600];
	size_t jl = 0;
	struct span first = span_trim(l->v[i]);

	if (!span_starts(first, "on ") && !span_starts(first, "op ") &&
	    !span_starts(first, "am ") && !span_starts(first, "le "))
		return 0;
	for (size_t k = 0; k < ATTRIB_LINES && i + k < l->n; k++) {
		struct span s = span_trim(l->v[i + k]);

		if (s.n == 0 || line_quoted(s) || jl + s.n + 1 >= sizeof(joined))
			return 0;
		if (k > 0)
			joined[jl++] = ' ';
		memcpy(joined + jl, s.p, s.n);
		jl += s.n;
		if (attribution_text((struct span){ joined, jl }))
			return k + 1;
	}
	return 0;
}

static const char *const sep_phrases[] = { "original message",
	"oorspronkelijk bericht", "origineel bericht", "forwarded message",
	"doorgestuurd bericht", "message d'origine",
	"message transf\xc3\xa9r\xc3\xa9", "urspr\xc3\xbcngliche nachricht",
	"weitergeleitete nachricht", "original-nachricht", NULL };
static const char *const sep_lines[] = { "begin forwarded message:",
	"begin doorgestuurd bericht:", "doorgestuurd bericht:", NULL };

/* "-----Original Message-----", Outlook's line of underscores, ... */
static int
separator_line(struct span l)
{
	struct span in;
	size_t i;

	l = span_trim(l);
	if (l.n >= 10) {
		for (i = 0; i < l.n && l.p[i] == '_'; i++)
			;
		if (i == l.n)
			return 1;
	}
	for (const char *const *p = sep_lines; *p; p++)
		if (l.n == strlen(*p) && span_starts(l, *p))
			return 1;
	if (!span_starts(l, "--"))
		return 0;
	in = l;
	while (in.n > 0 && (in.p[0] == '-' || is_wsp(in.p[0]))) {
		in.p++;
		in.n--;
	}
	while (in.n > 0 && (in.p[in.n - 1] == '-' || is_wsp(in.p[in.n - 1])))
		in.n--;
	if (in.n == 0 || l.p[l.n - 1] != '-')
		return 0;
	for (const char *const *p = sep_phrases; *p; p++)
		if (in.n == strlen(*p) && span_starts(in, *p))
			return 1;
	return 0;
}

enum hdrkind { HK_NONE, HK_FROM, HK_SENT, HK_DATE, HK_TO, HK_OTHER };

static const struct {
	const char	*key;
	enum hdrkind	 kind;
} hdr_keys[] = {
	{ "from", HK_FROM }, { "van", HK_FROM }, { "de", HK_FROM },
	{ "von", HK_FROM }, { "afzender", HK_FROM },
	{ "sent", HK_SENT }, { "verzonden", HK_SENT },
	{ "verstuurd", HK_SENT }, { "gesendet", HK_SENT },
	{ "envoy\xc3\xa9", HK_SENT },
	{ "date", HK_DATE }, { "datum", HK_DATE },
	{ "to", HK_TO }, { "aan", HK_TO }, { "cc", HK_TO }, { "bcc", HK_TO },
	{ "an", HK_TO }, { "\xc3\x80", HK_TO }, { "\xc3\xa0", HK_TO },
	{ "reply-to", HK_OTHER },
	{ "subject", HK_OTHER }, { "onderwerp", HK_OTHER },
	{ "objet", HK_OTHER }, { "betreff", HK_OTHER },
};

/* Is this a line of a quoted mail's header ("*Van:* Jan")?  Its value. */
static enum hdrkind
header_line(struct span l, struct span *value)
{
	struct span key;
	const char *colon;

	l = span_trim(l);
	while (l.n > 0 && l.p[0] == '*') {
		l.p++;
		l.n--;
	}
	colon = memchr(l.p, ':', l.n < 24 ? l.n : 24);
	if (colon == NULL)
		return HK_NONE;
	key.p = l.p;
	key.n = (size_t)(colon - l.p);
	while (key.n > 0 && (key.p[key.n - 1] == '*' || is_wsp(key.p[key.n - 1])))
		key.n--;
	value->p = colon + 1;
	value->n = (size_t)(l.p + l.n - (colon + 1));
	for (size_t i = 0; i < ARRAY_LEN(hdr_keys); i++)
		if (key.n == strlen(hdr_keys[i].key) &&
		    span_starts(key, hdr_keys[i].key))
			return hdr_keys[i].kind;
	return HK_NONE;
}

/*
 * A quoted mail's header block at i: consecutive header lines with a
 * From and a Sent; or a From and a Date with an address or a To beside
 * them.  "van:", "datum:" and "onderwerp:" can be a meeting request's own
 * lines, never "verzonden:" or "aan:".
 */
static int
header_block_at(const struct lines *l, size_t i)
{
	int from = 0, from_at = 0, sent = 0, date = 0, to = 0;
	size_t k;

	for (k = i; k < l->n; k++) {
		struct span v;
		enum hdrkind hk = header_line(l->v[k], &v);

		if (hk == HK_NONE)
			break;
		if (hk == HK_FROM) {
			from = 1;
			from_at |= memchr(v.p, '@', v.n) != NULL;
		} else if (hk == HK_SENT)
			sent = 1;
		else if (hk == HK_DATE)
			date = 1;
		else if (hk == HK_TO)
			to = 1;
	}
	return k - i >= 2 && from && (sent || (date && (from_at || to)));
}

static const char *const sig_prefixes[] = { "sent from ", "sent with ",
	"verzonden vanaf ", "verzonden vanuit ", "verzonden met ",
	"verstuurd vanaf ", "verstuurd vanuit ", "verstuurd met ",
	"get outlook for ", "download outlook voor ", "outlook voor ios",
	"outlook voor android", "von meinem ", "envoy\xc3\xa9 de mon ", NULL };

static int
mobile_sig(struct span l)
{
	l = span_trim(l);
	if (l.n == 0 || l.n > 100)
		return 0;
	for (const char *const *p = sig_prefixes; *p; p++)
		if (span_starts(l, *p))
			return 1;
	return 0;
}

char *
message_new_text(const char *text)
{
	struct lines l;
	struct buf b;
	char *drop, *res;
	size_t cut, i;

	if (text == NULL)
		return xstrdup("");
	lines_split(text, &l);
	drop = xcalloc(l.n + 1, 1);
	cut = l.n;
	for (i = 0; i < cut; i++) {
		struct span v;
		size_t k, j;

		if (line_quoted(l.v[i])) {
			drop[i] = 1;
			continue;
		}
		/* A header block is judged from its first line, so each is
		 * read once. */
		if (separator_line(l.v[i]) || ((i == 0 ||
		    header_line(l.v[i - 1], &v) == HK_NONE) &&
		    header_block_at(&l, i))) {
			cut = i;
			break;
		}
		if ((k = attribution_at(&l, i)) == 0)
			continue;
		/* Followed by a '>' quote: it belongs to that quote, and new
		 * text may come after (bottom-posting).  Else the unquoted
		 * history of a top-posted reply follows. */
		for (j = i + k; j < l.n && span_blank(l.v[j]); j++)
			;
		if (j < l.n && line_quoted(l.v[j])) {
			memset(drop + i, 1, k);
			i += k - 1;
			continue;
		}
		cut = i;
		break;
	}
	/* Signatures: everything from a "-- " line on ... */
	for (i = 0; i < cut; i++) {
		struct span t = span_trim(l.v[i]);

		if (!drop[i] && t.n == 2 && t.p[0] == '-' && t.p[1] == '-') {
			cut = i;
			break;
		}
	}
	/* ... and a phone's "Sent from my ..." when only blank lines (or
	 * more such lines) follow it. */
	for (i = cut; i > 0 && (drop[i - 1] || span_blank(l.v[i - 1]) ||
	    mobile_sig(l.v[i - 1])); i--)
		;
	for (; i < cut; i++)
		if (!drop[i] && mobile_sig(l.v[i])) {
			cut = i;
			break;
		}
	buf_init(&b, 0);
	for (i = 0; i < cut; i++) {
		if (drop[i])
			continue;
		(void)buf_add(&b, l.v[i].p, l.v[i].n);
		(void)buf_addc(&b, '\n');
	}
	res = text_tidy(buf_str(&b), 1);
	buf_free(&b);
	free(drop);
	free(l.v);
	return res;
}

/* ----------------------------------------------------------------- body */

struct body {
	struct buf	 full;		/* the whole text */
	struct buf	 fresh;		/* without HTML-marked quotes */
	struct buf	 names;		/* attachments' names, ", " between */
	int		 related;	/* inside a multipart/related */
	int		 plain, html;
	size_t		 nparts;
};

static void
body_init(struct body *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->full, BODY_TEXT_MAX);
	buf_init(&b->fresh, BODY_TEXT_MAX);
	buf_init(&b->names, ATTACH_NAMES_MAX);
}

static void
body_free(struct body *b)
{
	buf_free(&b->full);
	buf_free(&b->fresh);
	buf_free(&b->names);
}

/*
 * Undo format=flowed (RFC 3676): a line that ends in a space goes on in
 * the next line of the same quote depth.  Thunderbird and Apple Mail wrap
 * at 72, so "locatie: ... Walsumweg" and "12, 3011 MZ Rotterdam" are one
 * line that was sent as two.  Quoted lines come back as "> " per level.
 * Caller frees.
 */
static char *
unflow(const char *t, int delsp)
{
	struct buf out;
	int open_depth = -1;	/* depth of a paragraph still flowing */

	buf_init(&out, 0);
	for (const char *p = t; *p != '\0'; ) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *q = p;
		int depth = 0, flowed;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		while (q < p + n && *q == '>') {
			depth++;
			q++;
		}
		if (q < p + n && *q == ' ')	/* space-stuffing */
			q++;
		n -= (size_t)(q - p);
		/* "-- " is the signature line, never flowed. */
		flowed = n > 0 && q[n - 1] == ' ' &&
		    !(n == 3 && memcmp(q, "-- ", 3) == 0);
		/* Another depth, or the signature: the paragraph ends. */
		if (open_depth != -1 && (open_depth != depth ||
		    (n == 3 && memcmp(q, "-- ", 3) == 0))) {
			buf_add(&out, "\n", 1);
			open_depth = -1;
		}
		if (open_depth != depth) {
			for (int i = 0; i < depth; i++)
				buf_add(&out, ">", 1);
			if (depth > 0)
				buf_add(&out, " ", 1);
		}
		if (flowed && delsp)
			n--;
		buf_add(&out, q, n);
		if (flowed)
			open_depth = depth;
		else {
			buf_add(&out, "\n", 1);
			open_depth = -1;
		}
		p = e ? e + 1 : p + strlen(p);
	}
	return buf_steal(&out);
}

static void
body_add(struct body *b, const char *full, const char *fresh)
{
	if (b->full.len > 0 && *full)
		buf_add_trunc(&b->full, "\n\n", 2);
	buf_add_trunc(&b->full, full, strlen(full));
	if (b->fresh.len > 0 && *fresh)
		buf_add_trunc(&b->fresh, "\n\n", 2);
	buf_add_trunc(&b->fresh, fresh, strlen(fresh));
}

/* Does the subtree hold an inline part of this type (not in a message)? */
static int
has_part(struct mailmime *mm, const char *type, int depth, size_t *budget)
{
	struct partinfo pi;

	if (mm == NULL || depth > MIME_DEPTH_MAX || *budget == 0)
		return 0;
	(*budget)--;
	if (mm->mm_type == MAILMIME_SINGLE) {
		part_info(mm, &pi);
		return !pi.attachment && strcmp(pi.type, type) == 0;
	}
	for (clistiter *c = list_first(mime_children(mm)); c;
	    c = clist_next(c))
		if (has_part(c->data, type, depth + 1, budget))
			return 1;
	return 0;
}

static void body_walk(struct body *, struct mailmime *, int);

static int
body_blank(const struct body *b)
{
	return span_blank((struct span){ buf_str(&b->full), b->full.len });
}

static void
body_merge(struct body *b, struct body *t)
{
	body_add(b, buf_str(&t->full), buf_str(&t->fresh));
	b->plain |= t->plain;
	b->html |= t->html;
	b->nparts += t->nparts;
}

/*
 * multipart/alternative: the text/plain version, unless it is empty (as
 * Outlook's can be) and an HTML one exists; else the last HTML one.
 */
static void
body_alternative(struct body *b, struct mailmime *mm, int depth)
{
	struct mailmime *plain = NULL, *rich = NULL;
	struct body t;

	for (clistiter *c = list_first(mime_children(mm)); c;
	    c = clist_next(c)) {
		size_t budget = MIME_PARTS_MAX;

		if (plain == NULL && has_part(c->data, "text/plain", depth + 1,
		    &budget))
			plain = c->data;
		budget = MIME_PARTS_MAX;
		if (has_part(c->data, "text/html", depth + 1, &budget))
			rich = c->data;
	}
	if (plain == NULL) {
		if (rich != NULL)
			body_walk(b, rich, depth + 1);
		return;
	}
	body_init(&t);
	t.nparts = b->nparts;
	body_walk(&t, plain, depth + 1);
	if (rich != NULL && rich != plain && body_blank(&t)) {
		struct body r;

		body_init(&r);
		r.nparts = t.nparts;
		body_walk(&r, rich, depth + 1);
		if (!body_blank(&r)) {
			body_free(&t);
			t = r;
		} else
			body_free(&r);
	}
	t.nparts -= b->nparts;
	body_merge(b, &t);
	body_free(&t);
}

/*
 * The body text: inline text/plain and text/html parts in order, one
 * version of each alternative; attachments and attached messages are not
 * the body.
 */
/* A file name: RFC 2231's charset'lang'%XX, or RFC 2047 words, to UTF-8. */
static char *
attachment_name(const struct partinfo *pi)
{
	const char *v = pi->name, *q1, *q2;
	char *raw, *out, charset[40] = "utf-8";
	size_t j = 0;

	if (!pi->name_ext || (q1 = strchr(v, '\'')) == NULL ||
	    (q2 = strchr(q1 + 1, '\'')) == NULL)
		return decode_header(v);
	snprintf(charset, sizeof(charset), "%.*s", (int)(q1 - v), v);
	raw = xmalloc(strlen(q2));
	for (const char *p = q2 + 1; *p; p++) {
		if (p[0] == '%' && is_hex(p[1]) && is_hex(p[2])) {
			raw[j++] = (char)(hex_val(p[1]) * 16 + hex_val(p[2]));
			p += 2;
		} else
			raw[j++] = *p;
	}
	out = to_utf8(raw, j, *charset ? charset : "utf-8", CLEAN_HEADER);
	free(raw);
	trim_inplace(out);
	return out;
}

/*
 * Outlook's text part stands "[cid:image001.png@01DB4C1E.6A9F2B10]" where
 * its HTML shows a picture: a code in the news, not words.  In place.
 */
static void
drop_cids(char *t)
{
	char *r = t, *w = t, *end;

	while (*r) {
		if (*r == '[' && strncasecmp(r, "[cid:", 5) == 0 &&
		    (end = strpbrk(r + 5, "]\n")) != NULL && *end == ']') {
			r = end + 1;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* Outlook's name for a picture in its HTML: "image001.png". */
static int
outlook_image(const char *name)
{
	return strncasecmp(name, "image", 5) == 0 && isdigit((unsigned char)
	    name[5]) && isdigit((unsigned char)name[6]) &&
	    isdigit((unsigned char)name[7]) && name[8] == '.';
}

static void
body_name(struct body *b, const char *name)
{
	if (b->names.len > 0)
		buf_add_trunc(&b->names, ", ", 2);
	buf_add_trunc(&b->names, name, strlen(name));
}

static void
body_walk(struct body *b, struct mailmime *mm, int depth)
{
	struct partinfo pi;

	if (mm == NULL || depth > MIME_DEPTH_MAX || b->nparts >= MIME_PARTS_MAX)
		return;
	b->nparts++;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		part_info(mm, &pi);
		if (pi.logo && (b->related > 0 || outlook_image(pi.name)))
			/* Outlook's image001.png under every signature: no
			 * attachment anyone should be told is missing. */
			return;
		if (pi.attachment) {
			/* Named, for whom the news reaches without it. */
			char *name = attachment_name(&pi);

			body_name(b, *name ? name : pi.type);
			free(name);
			return;
		}
		if (strcmp(pi.type, "text/plain") == 0) {
			char *t = part_text(mm, pi.charset, CLEAN_TEXT);

			if (pi.flowed) {
				char *u = unflow(t, pi.delsp);

				free(t);
				t = u;
			}
			drop_cids(t);
			body_add(b, t, t);
			b->plain = 1;
			free(t);
		} else if (strcmp(pi.type, "text/html") == 0) {
			char *h = part_text(mm, pi.charset, CLEAN_TEXT);
			char *full, *fresh;

			html_texts(h, strlen(h), &full, &fresh);
			body_add(b, full, fresh);
			b->html = 1;
			free(h);
			free(full);
			free(fresh);
		}
		return;
	case MAILMIME_MULTIPLE:
		if (mm->mm_content_type != NULL &&
		    mm->mm_content_type->ct_subtype != NULL &&
		    str_eq_ci(mm->mm_content_type->ct_subtype, "alternative")) {
			body_alternative(b, mm, depth);
			return;
		}
		if (mm->mm_content_type != NULL &&
		    mm->mm_content_type->ct_subtype != NULL &&
		    str_eq_ci(mm->mm_content_type->ct_subtype, "related"))
			b->related++;
		for (clistiter *c = list_first(mime_children(mm)); c;
		    c = clist_next(c))
			body_walk(b, c->data, depth + 1);
		if (mm->mm_content_type != NULL &&
		    mm->mm_content_type->ct_subtype != NULL &&
		    str_eq_ci(mm->mm_content_type->ct_subtype, "related"))
			b->related--;
		return;
	case MAILMIME_MESSAGE: {
		/*
		 * A mail forwarded as an attachment: its text belongs to the
		 * whole text (a forward's news keeps what was forwarded),
		 * never to the new text commands are read from.
		 */
		struct body sub;

		body_init(&sub);
		sub.nparts = b->nparts;
		body_walk(&sub, mm->mm_data.mm_message.mm_msg_mime, depth + 1);
		b->nparts = sub.nparts;
		if (sub.full.len > 0) {
			if (b->full.len > 0)
				buf_add_trunc(&b->full, "\n\n", 2);
			buf_add_trunc(&b->full, buf_str(&sub.full),
			    sub.full.len);
		}
		if (sub.names.len > 0)
			body_name(b, buf_str(&sub.names));
		body_free(&sub);
		return;
	}
	default:
		return;
	}
}

/* ------------------------------------------------ calendars and reports */

/*
 * Equal but for CRs and trailing line ends: the same calendar sent as
 * text/calendar and again as a base64 invite.ics.
 */
static int
same_text(const char *a, const char *b)
{
	const char *ae = a + strlen(a), *be = b + strlen(b);

	while (ae > a && is_space((unsigned char)ae[-1]))
		ae--;
	while (be > b && is_space((unsigned char)be[-1]))
		be--;
	for (;;) {
		while (a < ae && *a == '\r')
			a++;
		while (b < be && *b == '\r')
			b++;
		if (a == ae || b == be)
			return a == ae && b == be;
		if (*a++ != *b++)
			return 0;
	}
}

static void
cal_add(struct message *m, struct mailmime *mm, const struct partinfo *pi)
{
	struct calpart *c;
	char *text, *method;

	if (m->ncal >= CAL_MAX)
		return;
	text = part_text(mm, pi->charset, CLEAN_RAW);
	for (size_t i = 0; i < m->ncal; i++)
		if (same_text(m->cal[i].text, text)) {
			free(text);
			return;
		}
	method = mm->mm_content_type ? mailmime_content_param_get(
	    mm->mm_content_type, "method") : NULL;
	m->cal = xreallocarray(m->cal, m->ncal + 1, sizeof(*m->cal));
	c = &m->cal[m->ncal++];
	c->text = text;
	c->len = strlen(text);
	c->method = NULL;
	if (method != NULL) {
		c->method = utf8_clean(method, strlen(method), CLEAN_HEADER);
		trim_inplace(c->method);
		for (char *p = c->method; *p; p++)
			*p = uc(*p);
		if (*c->method == '\0') {
			free(c->method);
			c->method = NULL;
		}
	}
}

/* "rfc822; <Jan@School.nl>" -> "jan@school.nl". */
static char *
dsn_addr(const char *raw)
{
	char *v = unfold(raw), *a, *p, *res;
	char *semi = strchr(v, ';');

	a = semi != NULL ? semi + 1 : v;
	trim_inplace(a);
	if (*a == '<') {
		a++;
		if ((p = strchr(a, '>')) != NULL)
			*p = '\0';
	}
	trim_inplace(a);
	str_lower(a);
	res = utf8_clean(a, strlen(a), CLEAN_HEADER);
	free(v);
	return res;
}

static char *
dsn_value(const char *raw, int first_word, int lower)
{
	char *v = unfold(raw), *res;

	if (first_word) {
		char *e = v;

		while (*e && !is_space((unsigned char)*e))
			e++;
		*e = '\0';
	}
	if (lower)
		str_lower(v);
	/* Folded continuation lines keep their indentation: one space. */
	for (char *r = v, *w = v; ; r++) {
		if (is_wsp(*r) && r > v && is_wsp(r[-1]))
			continue;
		*w++ = *r;
		if (*r == '\0')
			break;
	}
	res = utf8_clean(v, strlen(v), CLEAN_HEADER);
	free(v);
	return res;
}

static void
dsn_block(struct message *m, struct mailimf_fields *f)
{
	const char *final = NULL, *orig = NULL, *action = NULL;
	const char *status = NULL, *diag = NULL;
	struct dsn_rcpt *d;

	for (clistiter *c = list_first(f->fld_list); c; c = clist_next(c)) {
		struct mailimf_field *fl = c->data;
		struct mailimf_optional_field *of;

		if (fl == NULL || fl->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
			continue;
		of = fl->fld_data.fld_optional_field;
		if (of == NULL || of->fld_name == NULL || of->fld_value == NULL)
			continue;
		if (final == NULL && str_eq_ci(of->fld_name, "Final-Recipient"))
			final = of->fld_value;
		else if (orig == NULL &&
		    str_eq_ci(of->fld_name, "Original-Recipient"))
			orig = of->fld_value;
		else if (action == NULL && str_eq_ci(of->fld_name, "Action"))
			action = of->fld_value;
		else if (status == NULL && str_eq_ci(of->fld_name, "Status"))
			status = of->fld_value;
		else if (diag == NULL &&
		    str_eq_ci(of->fld_name, "Diagnostic-Code"))
			diag = of->fld_value;
	}
	/* The per-message block (Reporting-MTA, ...) names no recipient. */
	if ((final == NULL && orig == NULL) || m->ndsn >= DSN_MAX)
		return;
	m->dsn = xreallocarray(m->dsn, m->ndsn + 1, sizeof(*m->dsn));
	d = &m->dsn[m->ndsn++];
	d->final_recipient = final ? dsn_addr(final) : xstrdup("");
	d->original_recipient = orig ? dsn_addr(orig) : NULL;
	d->action = action ? dsn_value(action, 1, 1) : NULL;
	d->status = status ? dsn_value(status, 1, 0) : NULL;
	d->diagnostic = diag ? dsn_value(diag, 0, 0) : NULL;
}

/*
 * message/delivery-status (RFC 3464): blocks of header fields separated
 * by blank lines; libetpan reads each block, folding included.
 */
static void
dsn_parse(struct message *m, struct mailmime *mm, const struct partinfo *pi)
{
	char *t = part_text(mm, pi->charset, CLEAN_TEXT), *s;
	size_t len, idx = 0;

	/* Lines of only blanks separate blocks too (libetpan would read
	 * them as folding); libetpan drops a last field without a line end. */
	s = xmalloc(strlen(t) + 2);
	len = 0;
	for (const char *p = t; *p; ) {
		const char *e = strchr(p, '\n');
		struct span l = { p, e ? (size_t)(e - p) : strlen(p) };

		if (!span_blank(l)) {
			memcpy(s + len, l.p, l.n);
			len += l.n;
		}
		s[len++] = '\n';
		p = l.p + l.n + (e != NULL);
	}
	s[len] = '\0';
	free(t);
	for (int blocks = 0; idx < len && blocks < DSN_BLOCKS_MAX; blocks++) {
		struct mailimf_fields *f = NULL;
		size_t before;

		while (idx < len) {
			const char *e = strchr(s + idx, '\n');
			struct span l = { s + idx, (size_t)(e - (s + idx)) };

			if (!span_blank(l))
				break;
			idx = (size_t)(e - s) + 1;
		}
		if (idx >= len)
			break;
		before = idx;
		if (mailimf_optional_fields_parse(s, len, &idx, &f) !=
		    MAILIMF_NO_ERROR)
			break;
		if (clist_count(f->fld_list) > 0)
			dsn_block(m, f);
		mailimf_fields_free(f);
		if (idx == before)	/* not a field: skip the line */
			idx = (size_t)(strchr(s + idx, '\n') - s) + 1;
	}
	free(s);
}

struct scan {
	struct message	*m;
	size_t		 nparts;
};

/* The first Message-ID of a returned message, kept as the report's. */
static void
returned_id_set(struct message *m, const char *v)
{
	struct ids ids = { NULL, 0, 0 };

	if (m->returned_id != NULL || v == NULL)
		return;
	ids_parse(&ids, v);
	if (ids.n > 0) {
		m->returned_id = ids.v[0];
		ids.v[0] = NULL;
	}
	ids_free(&ids);
}

/* text/rfc822-headers: the header block of the returned message, read
 * as dsn_parse reads its blocks. */
static void
returned_headers(struct message *m, struct mailmime *mm,
    const struct partinfo *pi)
{
	char *t = part_text(mm, pi->charset, CLEAN_TEXT);
	struct mailimf_fields *f = NULL;
	size_t idx = 0;

	if (mailimf_optional_fields_parse(t, strlen(t), &idx, &f) ==
	    MAILIMF_NO_ERROR) {
		for (clistiter *c = list_first(f->fld_list); c;
		    c = clist_next(c)) {
			struct mailimf_field *fl = c->data;
			struct mailimf_optional_field *o =
			    fl->fld_data.fld_optional_field;

			if (fl->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD &&
			    o->fld_name && o->fld_value &&
			    str_eq_ci(o->fld_name, "Message-ID")) {
				returned_id_set(m, o->fld_value);
				break;
			}
		}
		mailimf_fields_free(f);
	}
	free(t);
}

/* message/rfc822: libetpan read the returned message's header. */
static void
returned_message(struct message *m, struct mailmime *mm)
{
	struct mailimf_fields *f = mm->mm_data.mm_message.mm_fields;

	if (f == NULL)
		return;
	for (clistiter *c = list_first(f->fld_list); c; c = clist_next(c)) {
		struct mailimf_field *fl = c->data;

		if (fl->fld_type == MAILIMF_FIELD_MESSAGE_ID &&
		    fl->fld_data.fld_message_id != NULL &&
		    fl->fld_data.fld_message_id->mid_value != NULL &&
		    msgid_ok(fl->fld_data.fld_message_id->mid_value)) {
			if (m->returned_id == NULL)
				m->returned_id = xstrdup(
				    fl->fld_data.fld_message_id->mid_value);
			return;
		}
	}
}

static int
is_calendar(const struct partinfo *pi)
{
	return strcmp(pi->type, "text/calendar") == 0 ||
	    strcmp(pi->type, "text/x-vcalendar") == 0 ||
	    strcmp(pi->type, "application/ics") == 0 ||
	    strcmp(pi->type, "application/x-ics") == 0 || pi->ics_name;
}

static void
scan_walk(struct scan *sc, struct mailmime *mm, int depth)
{
	struct partinfo pi;

	if (mm == NULL || depth > MIME_DEPTH_MAX ||
	    sc->nparts >= MIME_PARTS_MAX)
		return;
	sc->nparts++;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		part_info(mm, &pi);
		if (is_calendar(&pi))
			cal_add(sc->m, mm, &pi);
		else if (strcmp(pi.type, "message/delivery-status") == 0 ||
		    strcmp(pi.type, "message/global-delivery-status") == 0) {
			sc->m->is_report = 1;
			dsn_parse(sc->m, mm, &pi);
		} else if (strcmp(pi.type, "message/disposition-notification") ==
		    0 || strcmp(pi.type,
		    "message/global-disposition-notification") == 0)
			sc->m->is_receipt = 1;
		else if (strcmp(pi.type, "text/rfc822-headers") == 0 ||
		    strcmp(pi.type, "message/global-headers") == 0)
			returned_headers(sc->m, mm, &pi);
		return;
	case MAILMIME_MULTIPLE:
		part_info(mm, &pi);
		if (strcmp(pi.type, "multipart/report") == 0) {
			const char *rt = mailmime_content_param_get(
			    mm->mm_content_type, "report-type");

			if (rt != NULL && (str_eq_ci(rt, "delivery-status") ||
			    str_eq_ci(rt, "global-delivery-status")))
				sc->m->is_report = 1;
			else if (rt != NULL &&
			    (str_eq_ci(rt, "disposition-notification") ||
			    str_eq_ci(rt, "global-disposition-notification")))
				sc->m->is_receipt = 1;
		}
		for (clistiter *c = list_first(mime_children(mm)); c;
		    c = clist_next(c))
			scan_walk(sc, c->data, depth + 1);
		return;
	default:
		/* An attached message's calendars and reports are its own: a
		 * bounce that carries our REQUEST is a bounce, not a reply.
		 * Its Message-ID says which of our mails a report returns. */
		returned_message(sc->m, mm);
		return;
	}
}

/* ---------------------------------------------------------------- parse */

/*
 * A copy that libetpan can read safely: NUL bytes become spaces (libetpan
 * copies header values with strncpy), a lone CR ends a line as LF does, the
 * extra CRs of CR CR LF become spaces, and the text ends in a line end
 * (libetpan drops a last header field without one).  Offsets are kept.
 */
static char *
work_copy(const char *raw, size_t len, size_t *outlen)
{
	char *s = xmalloc(len + 2);
	size_t n = len;

	memcpy(s, raw, len);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0')
			s[i] = ' ';
		else if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n')) {
			size_t j = i;

			while (j < len && s[j] == '\r')
				j++;
			if (j < len && s[j] == '\n')
				s[i] = ' ';
			else
				s[i] = '\n';
		}
	}
	if (n == 0 || s[n - 1] != '\n')
		s[n++] = '\n';
	s[n] = '\0';
	*outlen = n;
	return s;
}

/*
 * Bounds on what libetpan's MIME parser gets to see, applied in place to
 * the work copy without moving a byte.
 *
 * It recurses once per level of nesting and rescans the rest of the
 * message at each: 100,000 nested parts overflow the stack, 10,000 take
 * seconds.  Only multipart and message types nest, each needs a
 * Content-Type field that says so, so after NEST_FIELDS_MAX such fields
 * the type of the later ones is spoilt ("xultipart", "xessage"): libetpan
 * reads those as single parts of an unknown type.
 *
 * Each part costs it some tens of microseconds in small allocations (and
 * an iconv_open for its Content-Type), so 400,000 tiny parts would take
 * many seconds.  A part begins at a line that starts with "--", so after
 * MIME_DELIMS_MAX of those lines the later ones lose their first '-':
 * the last part seen runs to the end.  We read far fewer parts than that.
 */
static void
cap_mime(char *s, size_t len)
{
	size_t nest = 0, delims = 0;

	for (size_t i = 0; i < len; ) {
		struct span l = { s + i, len - i };
		size_t end = i;

		if (l.n >= 2 && s[i] == '-' && s[i + 1] == '-' &&
		    ++delims > MIME_DELIMS_MAX)
			s[i] = ' ';
		if (!span_starts(l, "content-type")) {
			const char *e = memchr(s + i, '\n', len - i);

			if (e == NULL)
				break;
			i = (size_t)(e - s) + 1;
			continue;
		}
		/* The field: this line and its continuation lines. */
		for (;;) {
			const char *e = memchr(s + end, '\n', len - end);

			end = e != NULL ? (size_t)(e - s) + 1 : len;
			if (end >= len || !is_wsp(s[end]))
				break;
		}
		l.n = end - i;
		if ((span_contains(l, "multipart") ||
		    span_contains(l, "message")) && ++nest > NEST_FIELDS_MAX)
			for (size_t k = i; k < end; k++) {
				struct span t = { s + k, end - k };

				if (span_starts(t, "multipart") ||
				    span_starts(t, "message"))
					s[k] = 'x';
			}
		i = end;
	}
}

/*
 * Some clients wrap a long address list without the space that marks a
 * continuation ("Cc: A <a@x>, B <" and then "b@x>").  A line without a
 * colon after a field left open (an unclosed '<', a trailing ',') is
 * joined to that field by blanking the line break before it.
 */
static void
repair_folding(char *s, size_t len, size_t start)
{
	size_t i = start;
	int angles = 0, comma = 0;

	while (i < len) {
		char *e = memchr(s + i, '\n', len - i);
		struct span l = { s + i, e ? (size_t)(e - (s + i)) : len - i };
		int cont = is_wsp(s[i]), colon = memchr(l.p, ':', l.n) != NULL;

		if (span_blank(l))
			break;
		if (!cont && !colon && i > start && (angles > 0 || comma)) {
			s[i - 1] = ' ';
			if (i >= start + 2 && s[i - 2] == '\r')
				s[i - 2] = ' ';
			cont = 1;
		}
		if (!cont) {
			if (!colon)
				break;
			angles = 0;
		}
		for (size_t k = 0; k < l.n; k++)
			if (l.p[k] == '<')
				angles++;
			else if (l.p[k] == '>' && angles > 0)
				angles--;
		l = span_trim(l);
		comma = l.n > 0 && l.p[l.n - 1] == ',';
		if (e == NULL)
			break;
		i = (size_t)(e - s) + 1;
	}
}

/* Where the header fields begin: after blank lines and an mbox "From ". */
static size_t
header_start(const char *s, size_t len)
{
	size_t i = 0;
	int from_seen = 0;

	while (i < len) {
		const char *e = memchr(s + i, '\n', len - i);
		struct span l = { s + i, e ? (size_t)(e - (s + i)) : len - i };

		if (e == NULL)
			break;
		if (span_blank(l))
			i = (size_t)(e - s) + 1;
		else if (!from_seen && l.n >= 5 && memcmp(l.p, "From ", 5) == 0) {
			from_seen = 1;
			i = (size_t)(e - s) + 1;
		} else
			break;
	}
	return i;
}

static const char *
raw_header(char **raw, const struct message *m, const char *name)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (str_eq_ci(m->headers[i].name, name))
			return raw[i];
	return NULL;
}

static void
addrs_from(struct addrs *l, char **raw, const struct message *m,
    const char *name, int all)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (str_eq_ci(m->headers[i].name, name)) {
			addr_parse(l, raw[i]);
			if (!all)
				return;
		}
}

static void
first_address(struct address *a, char **raw, const struct message *m,
    const char *name)
{
	struct addrs l = { NULL, 0 };

	addrs_from(&l, raw, m, name, 0);
	if (l.n > 0) {
		*a = l.v[0];
		for (size_t i = 1; i < l.n; i++) {
			free(l.v[i].name);
			free(l.v[i].addr);
		}
	} else {
		a->name = xstrdup("");
		a->addr = xstrdup("");
	}
	free(l.v);
}

/* Header fields, in order; raw[i] gets field i's unfolded raw value. */
static int
parse_headers(struct message *m, const char *s, size_t len, size_t start,
    char ***raw)
{
	struct mailimf_fields *f = NULL;
	size_t idx = start;

	*raw = NULL;
	if (mailimf_optional_fields_parse(s, len, &idx, &f) !=
	    MAILIMF_NO_ERROR)
		return -1;
	for (clistiter *c = list_first(f->fld_list); c &&
	    m->nheaders < HEADERS_MAX; c = clist_next(c)) {
		struct mailimf_field *fl = c->data;
		struct mailimf_optional_field *of;
		struct header *h;

		if (fl == NULL || fl->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD ||
		    (of = fl->fld_data.fld_optional_field) == NULL ||
		    of->fld_name == NULL)
			continue;
		m->headers = xreallocarray(m->headers, m->nheaders + 1,
		    sizeof(*m->headers));
		*raw = xreallocarray(*raw, m->nheaders + 1, sizeof(**raw));
		h = &m->headers[m->nheaders];
		h->name = utf8_clean(of->fld_name, strlen(of->fld_name),
		    CLEAN_HEADER);
		(*raw)[m->nheaders] = unfold(of->fld_value ? of->fld_value : "");
		h->value = decode_header((*raw)[m->nheaders]);
		m->nheaders++;
	}
	mailimf_fields_free(f);
	/* The blank line that ends the header; without one the body starts
	 * at the first line that is no header field. */
	(void)mailimf_crlf_parse(s, len, &idx);
	m->body_offset = idx;
	return 0;
}

static void
parse_envelope(struct message *m, char **raw, const char *rawbytes,
    size_t len, size_t start)
{
	struct addrs l;
	struct ids ids = { NULL, 0, 0 };
	const char *v;

	v = raw_header(raw, m, "Subject");
	m->subject = v ? decode_header(v) : xstrdup("");
	first_address(&m->from, raw, m, "From");
	first_address(&m->sender, raw, m, "Sender");
	l = (struct addrs){ NULL, 0 };
	addrs_from(&l, raw, m, "Reply-To", 1);
	m->reply_to = l.v;
	m->nreply_to = l.n;
	l = (struct addrs){ NULL, 0 };
	addrs_from(&l, raw, m, "To", 1);
	m->to = l.v;
	m->nto = l.n;
	l = (struct addrs){ NULL, 0 };
	addrs_from(&l, raw, m, "Cc", 1);
	m->cc = l.v;
	m->ncc = l.n;
	if ((v = raw_header(raw, m, "Return-Path")) != NULL)
		m->return_path = return_path_parse(v);
	if ((v = raw_header(raw, m, "Date")) != NULL)
		m->date = date_parse(v);

	if ((v = raw_header(raw, m, "Message-ID")) != NULL)
		ids_parse(&ids, v);
	if (ids.n > 0) {
		m->message_id = ids.v[0];
		ids.v[0] = NULL;
	} else {
		/* Stable across fetches: the bytes from the first header on
		 * (an mbox "From " line carries a delivery time). */
		m->message_id = message_derived_id(rawbytes + start, len - start);
		m->message_id_derived = 1;
	}
	ids_free(&ids);
	if ((v = raw_header(raw, m, "In-Reply-To")) != NULL)
		ids_parse(&ids, v);
	if (ids.n > 0) {
		m->in_reply_to = ids.v[0];
		ids.v[0] = NULL;
	}
	ids_free(&ids);
	if ((v = raw_header(raw, m, "References")) != NULL)
		ids_parse(&ids, v);
	if (ids.n > REFS_MAX) {
		/* Keep the thread's root and the most recent ones. */
		size_t drop = ids.n - REFS_MAX;

		for (size_t i = 1; i <= drop; i++)
			free(ids.v[i]);
		memmove(&ids.v[1], &ids.v[1 + drop],
		    (ids.n - 1 - drop) * sizeof(*ids.v));
		ids.n = REFS_MAX;
	}
	m->references = ids.v;
	m->nreferences = ids.n;
}

int
message_parse(const char *raw, size_t len, struct message **out)
{
	struct message *m;
	struct mailmime *mime = NULL;
	struct body b;
	struct scan sc;
	char *s, **rawv = NULL;
	size_t slen, start, idx;

	*out = NULL;
	if (raw == NULL || len == 0)
		return -1;
	s = work_copy(raw, len, &slen);
	start = header_start(s, slen);
	repair_folding(s, slen, start);
	m = xcalloc(1, sizeof(*m));
	m->size = len;
	if (parse_headers(m, s, slen, start, &rawv) == -1 ||
	    m->nheaders == 0) {
		free(rawv);
		free(s);
		message_free(m);
		return -1;
	}
	if (m->body_offset > len)
		m->body_offset = len;
	parse_envelope(m, rawv, raw, len, start);
	for (size_t i = 0; i < m->nheaders; i++)
		free(rawv[i]);
	free(rawv);

	cap_mime(s + start, slen - start);
	idx = start;
	body_init(&b);
	if (mailmime_parse(s, slen, &idx, &mime) == MAILIMF_NO_ERROR &&
	    mime != NULL && mime->mm_type == MAILMIME_MESSAGE) {
		struct mailmime *top = mime->mm_data.mm_message.mm_msg_mime;

		body_walk(&b, top, 0);
		sc.m = m;
		sc.nparts = 0;
		scan_walk(&sc, top, 0);
	}
	if (mime != NULL)
		mailmime_free(mime);
	free(s);

	m->full_text = text_tidy(buf_str(&b.full), 0);
	m->text = message_new_text(buf_str(&b.fresh));
	m->attachments = b.names.len > 0 ? xstrdup(buf_str(&b.names)) : NULL;
	m->html_only = b.html && !b.plain;
	body_free(&b);
	*out = m;
	return 0;
}

static void
address_free(struct address *a)
{
	free(a->name);
	free(a->addr);
}

static void
addresses_free(struct address *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		address_free(&v[i]);
	free(v);
}

void
message_free(struct message *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->message_id);
	free(m->in_reply_to);
	for (size_t i = 0; i < m->nreferences; i++)
		free(m->references[i]);
	free(m->references);
	free(m->subject);
	address_free(&m->from);
	address_free(&m->sender);
	addresses_free(m->reply_to, m->nreply_to);
	addresses_free(m->to, m->nto);
	addresses_free(m->cc, m->ncc);
	free(m->return_path);
	free(m->text);
	free(m->full_text);
	free(m->attachments);
	for (size_t i = 0; i < m->ncal; i++) {
		free(m->cal[i].method);
		free(m->cal[i].text);
	}
	free(m->cal);
	for (size_t i = 0; i < m->ndsn; i++) {
		free(m->dsn[i].final_recipient);
		free(m->dsn[i].original_recipient);
		free(m->dsn[i].action);
		free(m->dsn[i].status);
		free(m->dsn[i].diagnostic);
	}
	free(m->dsn);
	free(m->returned_id);
	free(m);
}

const char *
message_header(const struct message *m, const char *name, size_t n)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (str_eq_ci(m->headers[i].name, name) && n-- == 0)
			return m->headers[i].value;
	return NULL;
}
