/*
 * footer.c - the footer on leaving, put into a list copy beside the
 * author's bytes (SPEC §4b), as Mailman's decorate handler does it.
 *
 * Only the author's body-describing headers are read (Content-Type and
 * friends, RFC 2045, as written: a boundary is compared byte for byte), and
 * nothing the author wrote is changed: the footer is appended to a single
 * text part that can carry it as it is, added as a new last part of a
 * multipart/mixed, or the whole body is wrapped as the first part of a new
 * multipart/mixed.  Pure: bytes in, bytes out.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "footer.h"
#include "mimeout.h"
#include "util.h"

/*
 * Headers of the author that describe the body: copied as written, on top,
 * or into the first part when the body is wrapped for the footer.
 */
static const char *const body_headers[] = {
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Disposition", "Content-Language", "Content-ID",
	"Content-Description",
};
#define BH(i)		(1u << (i))
#define BH_MIMEVER	BH(0)
#define BH_CT		BH(1)
#define BH_CTE		BH(2)
#define BH_ALL		((1u << ARRAY_LEN(body_headers)) - 1)

/* Tries at a boundary that occurs nowhere in the body. */
#define BOUNDARY_TRIES	8

/* Append s, making every bare LF a CRLF (SMTP wants CRLF; it does not
 * change what any encoding decodes to). */
static int
add_crlf(struct buf *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n' || (i > 0 && s[i - 1] == '\r'))
			continue;
		if (buf_add(b, s + start, i - start) == -1 ||
		    buf_add(b, "\r\n", 2) == -1)
			return -1;
		start = i + 1;
	}
	return buf_add(b, s + start, n - start);
}

/*
 * The next header of the block raw[*i, hlen): [*start, *i) is the header
 * with its folded lines, *colon where its name ends.  0 at the end of the
 * block.  Lines without a colon are stepped over.
 */
static int
next_header(const char *raw, size_t hlen, size_t *i, size_t *start,
    size_t *colon)
{
	while (*i < hlen) {
		size_t c;

		*start = *i;
		do {
			const char *nl = memchr(raw + *i, '\n', hlen - *i);

			*i = nl ? (size_t)(nl - raw) + 1 : hlen;
		} while (*i < hlen && (raw[*i] == ' ' || raw[*i] == '\t'));
		for (c = *start; c < *i && raw[c] != ':' && raw[c] != '\n'; c++)
			;
		if (c < *i && raw[c] == ':') {
			*colon = c;
			return 1;
		}
	}
	return 0;
}

static int
header_is(const char *raw, size_t start, size_t colon, const char *name)
{
	size_t n = strlen(name);

	return colon - start == n && strncasecmp(raw + start, name, n) == 0;
}

/*
 * Copy the author's body-describing headers in mask keep (BH_*), folds
 * and all.  *mimever: a MIME-Version was among them.
 */
static int
copy_body_headers(struct buf *b, const char *raw, size_t hlen, unsigned keep,
    int *mimever)
{
	size_t i = 0, start, colon;

	*mimever = 0;
	while (next_header(raw, hlen, &i, &start, &colon)) {
		int k;

		for (k = 0; k < (int)ARRAY_LEN(body_headers); k++)
			if (header_is(raw, start, colon, body_headers[k]))
				break;
		if (k == (int)ARRAY_LEN(body_headers) || !(keep & BH(k)))
			continue;
		if (k == 0)
			*mimever = 1;
		if (add_crlf(b, raw + start, i - start) == -1)
			return -1;
		if (raw[i - 1] != '\n' && buf_add(b, "\r\n", 2) == -1)
			return -1;
	}
	return 0;
}

/* The first header called name, unfolded and trimmed, as written (not
 * RFC 2047-decoded: a boundary is compared byte for byte); caller frees.
 * NULL when there is none. */
static char *
raw_header(const char *raw, size_t hlen, const char *name)
{
	size_t i = 0, start, colon, k = 0;
	char *v, *t;

	while (next_header(raw, hlen, &i, &start, &colon)) {
		if (!header_is(raw, start, colon, name))
			continue;
		v = xmalloc(i - colon);
		for (size_t j = colon + 1; j < i; j++)
			if (raw[j] != '\r' && raw[j] != '\n')
				v[k++] = raw[j];
		v[k] = '\0';
		t = str_trim(v);
		memmove(v, t, strlen(t) + 1);
		return v;
	}
	return NULL;
}

/* ---- Content-Type and friends (RFC 2045) ------------------------------- */

static int
token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Past blanks and (comments), which may nest. */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(')
			depth = 1;
		else if (*p != ' ' && *p != '\t')
			break;
	}
	return p;
}

struct param {
	const char	*start, *end;	/* "name=value" as written */
	char		 name[32];	/* lower case; "" when too long */
	char		*value;		/* unquoted; caller frees */
};

/* The next "; name=value" of a header value at *pp, or 0 at its end.
 * Whatever cannot be read is skipped up to the next ';'. */
static int
next_param(const char **pp, struct param *pa)
{
	const char *p = *pp, *name;
	struct buf v;
	size_t nlen;

	while (*p) {
		p = skip_cfws(p);
		if (*p != ';') {
			/* Junk: on to the next ';' outside quotes. */
			for (int q = 0; *p && (q || *p != ';'); p++) {
				if (*p == '\\' && q && p[1] != '\0')
					p++;
				else if (*p == '"')
					q = !q;
			}
			continue;
		}
		p = skip_cfws(p + 1);
		pa->start = name = p;
		while (token_char((unsigned char)*p))
			p++;
		nlen = (size_t)(p - name);
		p = skip_cfws(p);
		if (nlen == 0 || *p != '=')
			continue;
		p = skip_cfws(p + 1);
		buf_init(&v, 0);
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				(void)buf_addc(&v, *p);
			}
			if (*p == '"')
				p++;
		} else
			while (token_char((unsigned char)*p))
				(void)buf_addc(&v, *p++);
		pa->end = p;
		pa->name[0] = '\0';
		if (nlen < sizeof(pa->name)) {
			memcpy(pa->name, name, nlen);
			pa->name[nlen] = '\0';
			str_lower(pa->name);
		}
		pa->value = v.len ? buf_steal(&v) : xstrdup("");
		buf_free(&v);
		*pp = p;
		return 1;
	}
	*pp = p;
	return 0;
}

/* What the author's top-level headers say about the body. */
struct body_shape {
	char	*ct;		/* Content-Type as written, or NULL */
	char	 type[64];	/* "text/plain", lower case; "" bad */
	char	 charset[32];	/* lower case; "" when none */
	char	*boundary;	/* or NULL */
	int	 named;		/* name= or filename=: a file */
	char	 cte[32];	/* lower case; "" when none */
	int	 attachment;	/* Content-Disposition not inline */
};

/* s[0, n) lower-cased into out; "-" (which names nothing) when it does
 * not fit. */
static void
copy_lower(char *out, size_t outlen, const char *s, size_t n)
{
	if (n >= outlen) {
		s = "-";
		n = 1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	str_lower(out);
}

static void
read_shape(const char *raw, size_t hlen, struct body_shape *sh)
{
	const char *p, *t;
	struct param pa;
	char *v;
	size_t n;

	memset(sh, 0, sizeof(*sh));
	if ((sh->ct = raw_header(raw, hlen, "Content-Type")) == NULL)
		copy_lower(sh->type, sizeof(sh->type), "text/plain", 10);
	else {
		/* type "/" subtype, each a token. */
		p = skip_cfws(sh->ct);
		for (t = p; token_char((unsigned char)*t); t++)
			;
		if (*t == '/' && t > p)
			for (t++; token_char((unsigned char)*t); t++)
				;
		n = (size_t)(t - p);
		if (n > 2 && memchr(p, '/', n) != NULL && p[n - 1] != '/')
			copy_lower(sh->type, sizeof(sh->type), p, n);
		while (next_param(&t, &pa)) {
			if (strcmp(pa.name, "charset") == 0 &&
			    sh->charset[0] == '\0')
				copy_lower(sh->charset, sizeof(sh->charset),
				    pa.value, strlen(pa.value));
			else if (strcmp(pa.name, "boundary") == 0 &&
			    sh->boundary == NULL) {
				sh->boundary = pa.value;
				pa.value = NULL;
			} else if (strcmp(pa.name, "name") == 0 ||
			    strncmp(pa.name, "name*", 5) == 0)
				sh->named = 1;
			free(pa.value);
		}
	}
	if ((v = raw_header(raw, hlen, "Content-Transfer-Encoding")) != NULL) {
		copy_lower(sh->cte, sizeof(sh->cte), v, strlen(v));
		free(v);
	}
	if ((v = raw_header(raw, hlen, "Content-Disposition")) != NULL) {
		p = skip_cfws(v);
		sh->attachment = !str_startswith_ci(p, "inline") ||
		    token_char((unsigned char)p[6]);
		while (next_param(&p, &pa)) {
			if (strcmp(pa.name, "filename") == 0 ||
			    strncmp(pa.name, "filename*", 9) == 0)
				sh->named = 1;
			free(pa.value);
		}
		free(v);
	}
}

static void
shape_clear(struct body_shape *sh)
{
	free(sh->ct);
	free(sh->boundary);
}

/* ---- the footer -------------------------------------------------------- */

static const char *const footer_names[] = {
	[FOOTER_NONE] = "none",
	[FOOTER_APPEND] = "appended",
	[FOOTER_RELABEL] = "appended (text relabelled utf-8, 8bit)",
	[FOOTER_QP] = "appended quoted-printable",
	[FOOTER_PART] = "added as the last part",
	[FOOTER_WRAP] = "added after the wrapped body",
};

const char *
footer_way_name(enum footer_way f)
{
	if ((size_t)f >= ARRAY_LEN(footer_names))
		return "?";
	return footer_names[f];
}

static int
ascii_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			return 0;
	return 1;
}

static int
charset_utf8(const char *cs)
{
	return strcmp(cs, "utf-8") == 0 || strcmp(cs, "utf8") == 0;
}

/* Charsets in which an ASCII footer reads as itself. */
static int
ascii_superset(const char *cs)
{
	return strncmp(cs, "iso-8859-", 9) == 0 ||
	    strncmp(cs, "windows-125", 11) == 0;
}

/* "\r\n--bnd--" (or "--bnd--" at the very start) ending the multipart
 * s[0, n), as an offset to its "--"; n when there is none. */
static size_t
close_delimiter(const char *s, size_t n, const char *bnd)
{
	size_t bl = strlen(bnd), i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n, k = i + bl + 4;

		if (e - i >= bl + 4 && memcmp(s + i, "--", 2) == 0 &&
		    memcmp(s + i + 2, bnd, bl) == 0 &&
		    memcmp(s + i + 2 + bl, "--", 2) == 0) {
			while (k < e && (s[k] == ' ' || s[k] == '\t' ||
			    s[k] == '\r'))
				k++;
			if (k == e)
				return i;
		}
		i = e + 1;
	}
	return n;
}

/*
 * How the footer goes into a body of this shape, after Mailman's decorate
 * handler, never changing a byte the author wrote: appended to a single
 * inline text/plain part it can be written in as it is, else a new last
 * part of a multipart/mixed, else the body wrapped whole as the first part
 * of a new multipart/mixed.  body is the body as it will be sent (CRLF).
 */
static enum footer_way
choose_way(const struct body_shape *sh, const char *body, size_t blen,
    const char *footer, const char **why)
{
	int ascii = ascii_only(footer, strlen(footer));
	int cs_ascii = sh->charset[0] == '\0' ||
	    strcmp(sh->charset, "us-ascii") == 0;
	int cs_utf8 = charset_utf8(sh->charset);
	int cs_fits = cs_utf8 || (ascii && (cs_ascii ||
	    ascii_superset(sh->charset)));

	*why = NULL;
	if (strncmp(sh->type, "multipart/", 10) == 0) {
		if (sh->boundary == NULL || *sh->boundary == '\0') {
			*why = "a multipart without a boundary";
			return FOOTER_NONE;
		}
		if (strcmp(sh->type, "multipart/mixed") == 0 &&
		    (sh->cte[0] == '\0' || strcmp(sh->cte, "7bit") == 0 ||
		    strcmp(sh->cte, "8bit") == 0 ||
		    strcmp(sh->cte, "binary") == 0) &&
		    strstr(footer, sh->boundary) == NULL &&
		    close_delimiter(body, blen, sh->boundary) < blen)
			return FOOTER_PART;
		return FOOTER_WRAP;
	}
	/* A text file sent as the whole mail keeps its bytes. */
	if (strcmp(sh->type, "text/plain") != 0 || sh->attachment ||
	    sh->named)
		return FOOTER_WRAP;
	if (sh->cte[0] == '\0' || strcmp(sh->cte, "7bit") == 0 ||
	    strcmp(sh->cte, "8bit") == 0) {
		if (cs_fits && (ascii || strcmp(sh->cte, "8bit") == 0))
			return FOOTER_APPEND;
		/* ASCII is UTF-8: a clean body may be called so, in 8bit. */
		if (!ascii && (cs_utf8 || (cs_ascii && ascii_only(body,
		    blen))) && (sh->ct == NULL || ascii_only(sh->ct,
		    strlen(sh->ct))))
			return FOOTER_RELABEL;
		return FOOTER_WRAP;
	}
	if (strcmp(sh->cte, "quoted-printable") == 0 && cs_fits)
		return FOOTER_QP;
	return FOOTER_WRAP;
}

static int
ends_with(const struct buf *b, const char *s)
{
	size_t n = strlen(s);

	return b->len >= n && memcmp(b->data + b->len - n, s, n) == 0;
}

/* The footer text without its final line breaks, LF made CRLF. */
static int
add_footer_text(struct buf *b, const char *footer)
{
	size_t fl = strlen(footer);

	while (fl > 0 && (footer[fl - 1] == '\n' || footer[fl - 1] == '\r'))
		fl--;
	return add_crlf(b, footer, fl);
}

/* After the author's text (body of blen bytes at the end of b): its last
 * line ended, a blank line, the footer. */
static int
append_footer(struct buf *b, size_t blen, const char *footer, int qp)
{
	struct buf f;
	int rc;

	if (blen > 0 && !ends_with(b, "\r\n") && buf_add(b, "\r\n", 2) == -1)
		return -1;
	/* A soft line break at the very end joins nothing: end the line. */
	if (qp && blen >= 3 && ends_with(b, "=\r\n") &&
	    buf_add(b, "\r\n", 2) == -1)
		return -1;
	if (blen > 0 && buf_add(b, "\r\n", 2) == -1)
		return -1;
	if (!qp)
		return add_footer_text(b, footer) == -1 ||
		    buf_add(b, "\r\n", 2) == -1 ? -1 : 0;
	buf_init(&f, 0);
	rc = add_footer_text(&f, footer) == -1 ||
	    mime_qp(b, f.data, f.len) == -1 ||
	    (!ends_with(b, "\r\n") && buf_add(b, "\r\n", 2) == -1) ? -1 : 0;
	buf_free(&f);
	return rc;
}

/* The footer as a part of its own, after the delimiter line: inline
 * text/plain, UTF-8, quoted-printable unless it is short plain ASCII. */
static int
footer_part(struct buf *b, const char *footer)
{
	struct buf f;
	int plain, rc;

	buf_init(&f, 0);
	if (add_footer_text(&f, footer) == -1) {
		buf_free(&f);
		return -1;
	}
	plain = ascii_only(f.data ? f.data : "", f.len);
	for (size_t i = 0, ll = 0; plain && i < f.len; i++) {
		ll = f.data[i] == '\n' ? 0 : ll + 1;
		if (ll > 76)
			plain = 0;
	}
	rc = buf_addf(b, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n"
	    "Content-Disposition: inline\r\n\r\n",
	    plain ? "7bit" : "quoted-printable");
	if (rc == 0)
		rc = plain ? buf_add(b, f.data, f.len) :
		    mime_qp(b, f.data, f.len);
	if (rc == 0 && !ends_with(b, "\r\n"))
		rc = buf_add(b, "\r\n", 2);
	buf_free(&f);
	return rc;
}

/* A random boundary found neither in the body nor in the footer; caller
 * frees.  NULL when BOUNDARY_TRIES were all taken (never in practice). */
static char *
free_boundary(const char *body, size_t blen, const char *footer)
{
	for (int i = 0; i < BOUNDARY_TRIES; i++) {
		char *bd = mime_boundary();

		if (memmem(body, blen, bd, strlen(bd)) == NULL &&
		    strstr(footer, bd) == NULL)
			return bd;
		free(bd);
	}
	return NULL;
}

/* The Content-Type of a us-ascii text relabelled UTF-8: its other
 * parameters kept as written. */
static char *
utf8_content_type(const char *ct)
{
	struct buf v;
	struct param pa;
	const char *p;

	buf_init(&v, 0);
	(void)buf_adds(&v, "text/plain; charset=utf-8");
	/* The media type is skipped as junk before the first ';'. */
	if ((p = ct) != NULL)
		while (next_param(&p, &pa)) {
			if (strcmp(pa.name, "charset") != 0)
				(void)buf_addf(&v, "; %.*s",
				    (int)(pa.end - pa.start), pa.start);
			free(pa.value);
		}
	return buf_steal(&v);
}

/* The author's body headers for a text relabelled UTF-8 in 8bit (ASCII
 * is UTF-8), and the blank line after them. */
static int
relabelled_headers(struct buf *b, const char *raw, size_t hlen,
    const struct body_shape *sh)
{
	char *ct;
	int mimever, rc;

	ct = charset_utf8(sh->charset) && sh->ct != NULL ? xstrdup(sh->ct) :
	    utf8_content_type(sh->ct);
	rc = copy_body_headers(b, raw, hlen, BH_ALL & ~(BH_CT | BH_CTE),
	    &mimever) == -1 ||
	    (!mimever && buf_adds(b, "MIME-Version: 1.0\r\n") == -1) ||
	    mime_header_raw(b, "Content-Type", ct) == -1 ||
	    buf_adds(b, "Content-Transfer-Encoding: 8bit\r\n\r\n") == -1 ?
	    -1 : 0;
	free(ct);
	return rc;
}

int
footer_add(struct buf *b, const char *hdr, size_t hlen, const char *body,
    size_t blen, const char *footer, enum footer_way *wayp, const char **why)
{
	struct body_shape sh;
	struct buf cb;
	char *bd = NULL;
	size_t at;
	int mimever, rc = -1;
	enum footer_way way = FOOTER_NONE;

	*wayp = FOOTER_NONE;
	*why = "no footer text";
	read_shape(hdr, hlen, &sh);
	/* Bare LF made CRLF can double the size. */
	buf_init(&cb, 2 * blen + 1);
	if (add_crlf(&cb, body, blen) == -1)
		goto out;
	if (footer != NULL && footer[strspn(footer, "\r\n")] != '\0')
		way = choose_way(&sh, cb.data ? cb.data : "", cb.len, footer,
		    why);
	if (way == FOOTER_WRAP && (bd = free_boundary(cb.data ?
	    cb.data : "", cb.len, footer)) == NULL) {
		way = FOOTER_NONE;
		*why = "no boundary that the body does not contain";
	}

	switch (way) {
	case FOOTER_WRAP:
		if (copy_body_headers(b, hdr, hlen, BH_MIMEVER,
		    &mimever) == -1 ||
		    (!mimever && buf_adds(b, "MIME-Version: 1.0\r\n") == -1) ||
		    buf_addf(b, "Content-Type: multipart/mixed; boundary=\"%s\""
		    "\r\n\r\n--%s\r\n", bd, bd) == -1 ||
		    copy_body_headers(b, hdr, hlen, BH_ALL & ~BH_MIMEVER,
		    &mimever) == -1 ||
		    buf_add(b, "\r\n", 2) == -1 ||
		    buf_add(b, cb.data, cb.len) == -1 ||
		    buf_addf(b, "\r\n--%s\r\n", bd) == -1 ||
		    footer_part(b, footer) == -1 ||
		    buf_addf(b, "\r\n--%s--\r\n", bd) == -1)
			goto out;
		break;
	case FOOTER_RELABEL:
		if (relabelled_headers(b, hdr, hlen, &sh) == -1 ||
		    buf_add(b, cb.data, cb.len) == -1 ||
		    append_footer(b, cb.len, footer, 0) == -1)
			goto out;
		break;
	default:
		if (copy_body_headers(b, hdr, hlen, BH_ALL, &mimever) == -1 ||
		    (!mimever && sh.ct != NULL &&
		    buf_adds(b, "MIME-Version: 1.0\r\n") == -1) ||
		    buf_add(b, "\r\n", 2) == -1)
			goto out;
		if (way != FOOTER_PART) {
			if (buf_add(b, cb.data, cb.len) == -1)
				goto out;
			if ((way == FOOTER_APPEND || way == FOOTER_QP) &&
			    append_footer(b, cb.len, footer,
			    way == FOOTER_QP) == -1)
				goto out;
			break;
		}
		/* Before the closing delimiter, whose CRLF stays its own. */
		at = close_delimiter(cb.data, cb.len, sh.boundary);
		if (at > 0)
			at -= 2;
		if (buf_add(b, cb.data, at) == -1 ||
		    buf_addf(b, "%s--%s\r\n", at > 0 ? "\r\n" : "",
		    sh.boundary) == -1 ||
		    footer_part(b, footer) == -1 ||
		    (at == 0 && buf_add(b, "\r\n", 2) == -1) ||
		    buf_add(b, cb.data + at, cb.len - at) == -1)
			goto out;
		break;
	}
	*wayp = way;
	if (way != FOOTER_NONE)
		*why = NULL;
	rc = 0;
out:
	free(bd);
	buf_free(&cb);
	shape_clear(&sh);
	return rc;
}
