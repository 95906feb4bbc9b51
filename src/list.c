/*
 * list.c - the network mailing lists of SPEC §4b.
 *
 * The list copy is the author's mail with new top-level headers: the
 * author's MIME headers and body go out byte-for-byte, so signatures of
 * the content, attachments and encodings survive; only the envelope-level
 * headers change.  The footer on leaving goes beside the author's bytes,
 * never inside them (enum list_footer: appended to plain text, a last part
 * of a multipart/mixed, or the body wrapped whole in a new multipart/mixed,
 * as Mailman does).  From is the coordinator address, because the author's
 * domain may publish DMARC p=reject and we cannot sign for it.  One outbox
 * row per recipient, all in the caller's transaction with the processed
 * mark: a crash redistributes nothing twice and loses nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "app.h"
#include "classify.h"
#include "command.h"
#include "config.h"
#include "digest.h"
#include "list.h"
#include "log.h"
#include "message.h"
#include "mimeout.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define REFUSAL_WINDOW	(24 * 3600)
#define SLUG_MAX	60

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

static int
slug_char(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '-' || c == '_' || c == '.');
}

/*
 * The slug of addr when it is coordinator+SLUG@domain, else NULL.  addr
 * may be "<...>" with blanks around it (a Delivered-To value).
 */
static char *
slug_of(const char *addr, const struct config *cfg)
{
	const char *at = strrchr(cfg->from_addr, '@'), *p, *e, *s, *a;
	size_t local, n;
	char *slug;

	if (at == NULL)
		return NULL;
	local = (size_t)(at - cfg->from_addr);
	while (*addr == ' ' || *addr == '\t' || *addr == '<')
		addr++;
	e = addr + strcspn(addr, "> \t");
	if (e - addr <= (ptrdiff_t)local ||
	    strncasecmp(addr, cfg->from_addr, local) != 0 || addr[local] != '+')
		return NULL;
	s = addr + local + 1;
	if ((a = memchr(s, '@', (size_t)(e - s))) == NULL)
		return NULL;
	n = (size_t)(a - s);
	if (n == 0 || n > SLUG_MAX)
		return NULL;
	for (p = s; p < a; p++)
		if (!slug_char((unsigned char)*p))
			return NULL;
	if ((size_t)(e - a) != strlen(at) || strncasecmp(a, at,
	    (size_t)(e - a)) != 0)
		return NULL;
	slug = xstrndup(s, n);
	str_lower(slug);
	return slug;
}

static void
add_target(char **v, size_t *n, char *slug)
{
	if (slug == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i], slug) == 0) {
			free(slug);
			return;
		}
	if (*n >= LIST_MAX_TARGETS) {
		free(slug);
		return;
	}
	v[(*n)++] = slug;
}

size_t
list_targets(const struct message *m, const struct config *cfg,
    char ***slugs)
{
	char **v = xcalloc(LIST_MAX_TARGETS + 1, sizeof(*v));
	const char *h;
	size_t n = 0;

	for (size_t i = 0; (h = message_header(m, "Delivered-To", i)) != NULL;
	    i++)
		add_target(v, &n, slug_of(h, cfg));
	for (size_t i = 0; i < m->nto; i++)
		add_target(v, &n, slug_of(m->to[i].addr, cfg));
	for (size_t i = 0; i < m->ncc; i++)
		add_target(v, &n, slug_of(m->cc[i].addr, cfg));
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*slugs = v;
	return n;
}

void
list_targets_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* The open list network a distributed msgid belongs to; 1: none. */
static int
thread_network(struct store *st, const char *msgid, struct network *net)
{
	struct sent_ctx ctx = { 0 };
	int rc;

	if ((rc = store_sent_get(st, msgid, &ctx)) != 0)
		return rc;
	rc = strcmp(ctx.kind, "list") == 0 && ctx.network_id != 0 ? 0 : 1;
	if (rc == 0 && (rc = store_network_by_id(st, ctx.network_id,
	    net)) == 0 && net->state != NET_OPEN) {
		network_clear(net);
		rc = 1;
	}
	sent_ctx_clear(&ctx);
	return rc;
}

size_t
list_thread(struct store *st, const struct config *cfg,
    const struct message *m, char ***slugs)
{
	struct request cmd = { 0 };
	struct network net = { 0 };
	const char *why;
	int rc = 1;

	*slugs = NULL;
	if (classify(m, cfg, &why) != MAIL_PERSON)
		return 0;
	/* "afmelden rekenen" written as a reply is still a command. */
	command_parse(m->subject, m->text, &cmd);
	if (cmd.verb != VERB_NONE) {
		request_free(&cmd);
		return 0;
	}
	request_free(&cmd);
	if (m->in_reply_to)
		rc = thread_network(st, m->in_reply_to, &net);
	/* Newest reference first; some clients drop In-Reply-To. */
	for (size_t i = m->nreferences; rc == 1 && i > 0; i--)
		rc = thread_network(st, m->references[i - 1], &net);
	if (rc != 0)
		return 0;
	*slugs = xcalloc(2, sizeof(**slugs));
	(*slugs)[0] = xstrdup(net.slug);
	str_lower((*slugs)[0]);
	network_clear(&net);
	return 1;
}

char *
list_address(const struct config *cfg, const char *slug)
{
	const char *at = strrchr(cfg->from_addr, '@');

	if (at == NULL)
		return xasprintf("%s+%s", cfg->from_addr, slug);
	return xasprintf("%.*s+%s%s", (int)(at - cfg->from_addr),
	    cfg->from_addr, slug, at);
}

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
	[LIST_FOOTER_NONE] = "none",
	[LIST_FOOTER_APPEND] = "appended",
	[LIST_FOOTER_RELABEL] = "appended (text relabelled utf-8, 8bit)",
	[LIST_FOOTER_QP] = "appended quoted-printable",
	[LIST_FOOTER_PART] = "added as the last part",
	[LIST_FOOTER_WRAP] = "added after the wrapped body",
};

const char *
list_footer_name(enum list_footer f)
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
static enum list_footer
footer_way(const struct body_shape *sh, const char *body, size_t blen,
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
			return LIST_FOOTER_NONE;
		}
		if (strcmp(sh->type, "multipart/mixed") == 0 &&
		    (sh->cte[0] == '\0' || strcmp(sh->cte, "7bit") == 0 ||
		    strcmp(sh->cte, "8bit") == 0 ||
		    strcmp(sh->cte, "binary") == 0) &&
		    strstr(footer, sh->boundary) == NULL &&
		    close_delimiter(body, blen, sh->boundary) < blen)
			return LIST_FOOTER_PART;
		return LIST_FOOTER_WRAP;
	}
	/* A text file sent as the whole mail keeps its bytes. */
	if (strcmp(sh->type, "text/plain") != 0 || sh->attachment ||
	    sh->named)
		return LIST_FOOTER_WRAP;
	if (sh->cte[0] == '\0' || strcmp(sh->cte, "7bit") == 0 ||
	    strcmp(sh->cte, "8bit") == 0) {
		if (cs_fits && (ascii || strcmp(sh->cte, "8bit") == 0))
			return LIST_FOOTER_APPEND;
		/* ASCII is UTF-8: a clean body may be called so, in 8bit. */
		if (!ascii && (cs_utf8 || (cs_ascii && ascii_only(body,
		    blen))) && (sh->ct == NULL || ascii_only(sh->ct,
		    strlen(sh->ct))))
			return LIST_FOOTER_RELABEL;
		return LIST_FOOTER_WRAP;
	}
	if (strcmp(sh->cte, "quoted-printable") == 0 && cs_fits)
		return LIST_FOOTER_QP;
	return LIST_FOOTER_WRAP;
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

/*
 * The author's body-describing headers, a blank line and the body, with the
 * footer put in the way footer_way chooses (li->footer_way set, and
 * li->footer_why when there is no footer).
 */
static int
add_body(struct buf *b, const char *raw, size_t hlen, size_t rawlen,
    struct list_info *li)
{
	struct body_shape sh;
	struct buf body;
	char *bd = NULL;
	size_t at;
	int mimever, rc = -1;
	enum list_footer way = LIST_FOOTER_NONE;

	li->footer_way = LIST_FOOTER_NONE;
	li->footer_why = "no footer text";
	read_shape(raw, hlen, &sh);
	/* Bare LF made CRLF can double the size. */
	buf_init(&body, 2 * (rawlen - hlen) + 1);
	if (add_crlf(&body, raw + hlen, rawlen - hlen) == -1)
		goto out;
	if (li->footer != NULL &&
	    li->footer[strspn(li->footer, "\r\n")] != '\0')
		way = footer_way(&sh, body.data ? body.data : "", body.len,
		    li->footer, &li->footer_why);
	if (way == LIST_FOOTER_WRAP && (bd = free_boundary(body.data ?
	    body.data : "", body.len, li->footer)) == NULL) {
		way = LIST_FOOTER_NONE;
		li->footer_why = "no boundary that the body does not contain";
	}

	switch (way) {
	case LIST_FOOTER_WRAP:
		if (copy_body_headers(b, raw, hlen, BH_MIMEVER,
		    &mimever) == -1 ||
		    (!mimever && buf_adds(b, "MIME-Version: 1.0\r\n") == -1) ||
		    buf_addf(b, "Content-Type: multipart/mixed; boundary=\"%s\""
		    "\r\n\r\n--%s\r\n", bd, bd) == -1 ||
		    copy_body_headers(b, raw, hlen, BH_ALL & ~BH_MIMEVER,
		    &mimever) == -1 ||
		    buf_add(b, "\r\n", 2) == -1 ||
		    buf_add(b, body.data, body.len) == -1 ||
		    buf_addf(b, "\r\n--%s\r\n", bd) == -1 ||
		    footer_part(b, li->footer) == -1 ||
		    buf_addf(b, "\r\n--%s--\r\n", bd) == -1)
			goto out;
		break;
	case LIST_FOOTER_RELABEL:
		if (relabelled_headers(b, raw, hlen, &sh) == -1 ||
		    buf_add(b, body.data, body.len) == -1 ||
		    append_footer(b, body.len, li->footer, 0) == -1)
			goto out;
		break;
	default:
		if (copy_body_headers(b, raw, hlen, BH_ALL, &mimever) == -1 ||
		    (!mimever && sh.ct != NULL &&
		    buf_adds(b, "MIME-Version: 1.0\r\n") == -1) ||
		    buf_add(b, "\r\n", 2) == -1)
			goto out;
		if (way != LIST_FOOTER_PART) {
			if (buf_add(b, body.data, body.len) == -1)
				goto out;
			if ((way == LIST_FOOTER_APPEND ||
			    way == LIST_FOOTER_QP) && append_footer(b, body.len,
			    li->footer, way == LIST_FOOTER_QP) == -1)
				goto out;
			break;
		}
		/* Before the closing delimiter, whose CRLF stays its own. */
		at = close_delimiter(body.data, body.len, sh.boundary);
		if (at > 0)
			at -= 2;
		if (buf_add(b, body.data, at) == -1 ||
		    buf_addf(b, "%s--%s\r\n", at > 0 ? "\r\n" : "",
		    sh.boundary) == -1 ||
		    footer_part(b, li->footer) == -1 ||
		    (at == 0 && buf_add(b, "\r\n", 2) == -1) ||
		    buf_add(b, body.data + at, body.len - at) == -1)
			goto out;
		break;
	}
	li->footer_way = way;
	if (way != LIST_FOOTER_NONE)
		li->footer_why = NULL;
	rc = 0;
out:
	free(bd);
	buf_free(&body);
	shape_clear(&sh);
	return rc;
}

static char *
tagged_subject(const char *subject, const char *title)
{
	char *tag = xasprintf("[%s]", title), *s;

	if (*subject == '\0')
		s = xstrdup(tag);
	else if (strcasestr(subject, tag) != NULL)
		s = xstrdup(subject);
	else
		s = xasprintf("%s %s", tag, subject);
	free(tag);
	return s;
}

static int
add_msgids(struct buf *b, const char *name, char *const *ids, size_t n)
{
	struct buf v;
	int rc = 0;

	if (n == 0)
		return 0;
	buf_init(&v, 8 * 1024);
	/* Long chains are cut from the front; the newest ids matter. */
	for (size_t i = n > 20 ? n - 20 : 0; i < n; i++)
		if (buf_addf(&v, "%s<%s>", v.len ? " " : "", ids[i]) == -1)
			break;
	/* A hostile id (not ASCII) loses the header, not the mail. */
	if (v.len > 0 && mime_header_raw(b, name, buf_str(&v)) == -1)
		rc = 0;
	buf_free(&v);
	return rc;
}

char *
list_compose(const struct config *cfg, const struct message *m,
    const char *raw, size_t rawlen, struct list_info *li, size_t *len,
    char **msgid)
{
	const char *at = strrchr(cfg->from_addr, '@');
	struct buf b;
	char date[64], *listaddr, *v, *id = NULL, *subj;
	const char *author;
	size_t hlen = m->body_offset <= rawlen ? m->body_offset : rawlen;

	*msgid = NULL;
	*len = 0;
	li->footer_way = LIST_FOOTER_NONE;
	li->footer_why = NULL;
	if (at == NULL || !mime_addr_valid(m->from.addr))
		return NULL;
	/* Bare LF made CRLF can double the body. */
	buf_init(&b, 2 * rawlen + 128 * 1024);
	listaddr = list_address(cfg, li->slug);

	if (!m->message_id_derived) {
		v = xasprintf("<%s>", m->message_id);
		if (mime_header_raw(&b, "Message-ID", v) == 0)
			id = xstrdup(m->message_id);
		free(v);
	}
	if (id == NULL) {
		v = mime_message_id(li->domain);
		if (mime_header_raw(&b, "Message-ID", v) == -1) {
			free(v);
			goto fail;
		}
		id = xstrndup(v + 1, strlen(v) - 2);
		free(v);
	}
	mime_date(date, sizeof(date), m->date ? m->date : li->now);
	if (mime_header_raw(&b, "Date", date) == -1)
		goto fail;
	author = m->from.name[0] ? m->from.name : m->from.addr;
	v = xasprintf("%s via %s", author, li->title);
	if (mime_header_addr(&b, "From", v, cfg->from_addr) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	if (mime_header_addr(&b, "Reply-To", m->from.name, m->from.addr) == -1 ||
	    mime_header_addr(&b, "To", li->title, listaddr) == -1)
		goto fail;
	subj = tagged_subject(m->subject, li->title);
	if (mime_header(&b, "Subject", subj) == -1) {
		free(subj);
		goto fail;
	}
	free(subj);
	if (m->in_reply_to)
		add_msgids(&b, "In-Reply-To", &m->in_reply_to, 1);
	add_msgids(&b, "References", m->references, m->nreferences);

	v = xasprintf("<%s.%.*s.%s>", li->slug, (int)(at - cfg->from_addr),
	    cfg->from_addr, at + 1);
	if (mime_header_raw(&b, "List-Id", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	v = xasprintf("<mailto:%s>", listaddr);
	if (mime_header_raw(&b, "List-Post", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	v = xasprintf("<mailto:%s?subject=%s%%20%s>", cfg->from_addr,
	    li->leave_word, li->slug);
	if (mime_header_raw(&b, "List-Unsubscribe", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	if (cfg->base_url && *cfg->base_url) {
		size_t bl = strlen(cfg->base_url);

		v = xasprintf("<%s%s%s/>", cfg->base_url,
		    cfg->base_url[bl - 1] == '/' ? "" : "/", li->slug);
		/* A base_url that cannot go in a header only costs the link. */
		(void)mime_header_raw(&b, "List-Archive", v);
		free(v);
	}
	if (mime_header_raw(&b, "Precedence", "list") == -1 ||
	    mime_header_raw(&b, "X-Loop", cfg->from_addr) == -1)
		goto fail;
	if (add_body(&b, raw, hlen, rawlen, li) == -1)
		goto fail;
	free(listaddr);
	*len = b.len;
	*msgid = id;
	return buf_steal(&b);
fail:
	free(listaddr);
	free(id);
	buf_free(&b);
	return NULL;
}

/* ---- handling ---------------------------------------------------------- */

static const char *
lang_of(struct req *r, const struct person *p)
{
	if (p && p->lang && *p->lang)
		return p->lang;
	return strcmp(r->app->cfg->language, "en") == 0 ? "en" : "nl";
}

static int
answer(struct req *r, const char *tmpl, const char *kind, const char *lang,
    struct tvars *v, int64_t network_id)
{
	struct reply rp = { 0 };

	rp.tmpl = tmpl;
	rp.kind = kind;
	rp.to_addr = r->sender;
	rp.to_name = r->sender_name;
	rp.lang = lang;
	rp.vars = v;
	rp.in = r->msg;
	rp.network_id = network_id;
	rp.person_id = r->person_id;
	rp.auto_submitted = AUTO_REPLIED;
	return reply_queue(r->app, &rp, r->now);
}

/* One polite refusal per sender per day, never more. */
static int
refuse(struct req *r, const char *tmpl, const char *lang, struct tvars *v,
    int64_t network_id)
{
	int count;

	if (store_refusals_since(r->app->st, r->sender,
	    r->now - REFUSAL_WINDOW, &count) == -1)
		return -1;
	if (count > 0) {
		log_info("not answering %s again today", r->sender);
		return 0;
	}
	return answer(r, tmpl, "refusal", lang, v, network_id);
}

static int
answer_unknown(struct req *r, const char *slug, const char *lang)
{
	struct tvars *v = tvars_new();
	struct network *nets;
	size_t n = 0;
	int rc;

	if ((nets = store_networks(r->app->st, &n)) == NULL) {
		tvars_free(v);
		return -1;
	}
	tvars_set(v, "name", slug);
	for (size_t i = 0; i < n; i++) {
		struct tvars *it;
		char *addr;

		if (nets[i].state != NET_OPEN)
			continue;
		it = tvars_add_item(v, "networks");
		addr = list_address(r->app->cfg, nets[i].slug);
		tvars_set(it, "slug", nets[i].slug);
		tvars_set(it, "title", nets[i].title);
		tvars_set(it, "address", addr);
		free(addr);
	}
	networks_free(nets, n);
	rc = answer(r, "list-unknown", "reply", lang, v, 0);
	tvars_free(v);
	r->outcome = "list-unknown";
	return rc;
}

/* Active members and leads may post (and coordinators, who act as lead
 * of any network: the caller checks that). */
static int
may_post(struct store *st, int64_t network_id, const struct person *p)
{
	enum role role;
	enum mstate state;

	if (p->id == 0 || store_membership(st, network_id, p->id, &role,
	    &state) != 0)
		return 0;
	return state == MS_ACTIVE && (role == ROLE_LEAD || role == ROLE_MEMBER);
}

static char *
render_footer(struct req *r, const struct network *net, const char *listaddr,
    const char *leave)
{
	const struct config *cfg = r->app->cfg;
	struct rendered out = { 0 };
	struct tvars *v = tvars_new();
	char err[256], *f = NULL;

	tvars_set(v, "title", net->title);
	tvars_set(v, "slug", net->slug);
	tvars_set(v, "address", listaddr);
	tvars_set(v, "coordinator", cfg->from_addr);
	tvars_set(v, "leave", leave);
	if (template_mail(cfg->template_dir, "list-footer", cfg->language, v,
	    &out, err, sizeof(err)) == -1)
		log_warnx("template list-footer: %s", err);
	else
		f = xstrdup(out.text);
	rendered_free(&out);
	tvars_free(v);
	return f;
}

static int
distribute(struct req *r, const struct network *net, const char *raw,
    size_t len)
{
	const struct config *cfg = r->app->cfg;
	struct store *st = r->app->st;
	const struct message *m = r->msg;
	struct list_info li = { 0 };
	struct sent_ctx ctx = { 0 };
	struct member *mem;
	char *listaddr, *footer = NULL, *data, *msgid = NULL, *subj;
	const char *leave = strcmp(cfg->language, "en") == 0 ? "leave" :
	    "afmelden";
	size_t n = 0, dlen, sent = 0;
	int64_t news_id = 0;
	int rc = -1, g;

	listaddr = list_address(cfg, net->slug);
	footer = render_footer(r, net, listaddr, leave);
	li.slug = net->slug;
	li.title = net->title;
	li.footer = footer;
	li.leave_word = leave;
	li.domain = r->app->domain;
	li.now = r->now;
	if ((data = list_compose(cfg, m, raw, len, &li, &dlen,
	    &msgid)) == NULL) {
		log_warnx("cannot put %s in a list mail; keeping it for the "
		    "coordinators", r->sender);
		r->outcome = "human";
		rc = 0;
		goto out;
	}
	/* The post is news first, so direct recipients can be told apart
	 * in their digests (they got it already). */
	subj = command_strip_subject(m->subject);
	if (store_news_add(st, net->id, r->person_id, subj,
	    *m->text ? m->text : m->full_text, r->now, &news_id) == -1) {
		free(subj);
		goto out;
	}
	free(subj);
	if (digest_mark_delivered(r->app, r->person_id, news_id, r->now) == -1)
		goto out;
	if ((mem = store_members(st, net->id, &n)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct member *p = &mem[i];

		if (p->role == ROLE_FOLLOWER || p->state != MS_ACTIVE ||
		    p->digest || p->bouncing || str_eq_ci(p->email, r->sender) ||
		    str_eq_ci(p->email, cfg->from_addr) ||
		    !mime_addr_valid(p->email))
			continue;
		if (store_outbox_add(st, "list", cfg->from_addr, p->email, msgid,
		    data, dlen, r->now, NULL) == -1 ||
		    digest_mark_delivered(r->app, p->person_id, news_id,
		    r->now) == -1) {
			members_free(mem, n);
			goto out;
		}
		sent++;
	}
	members_free(mem, n);
	/* Replies that reach the plain address can find the list later;
	 * an id we know already (Cc'd to two lists) keeps its first meaning. */
	if ((g = store_sent_get(st, msgid, &ctx)) == -1)
		goto out;
	sent_ctx_clear(&ctx);
	if (g == 1 && store_sent_add(st, msgid, "list", NULL, net->id, 0,
	    r->person_id, r->now) == -1)
		goto out;
	r->app->changed = 1;
	if (li.footer_way == LIST_FOOTER_NONE)
		log_info("list %s: %s to %zu member(s), no footer: %s",
		    net->slug, msgid, sent, li.footer_why);
	else
		log_info("list %s: %s to %zu member(s), footer %s", net->slug,
		    msgid, sent, list_footer_name(li.footer_way));
	r->outcome = "list";
	rc = 0;
out:
	free(data);
	free(msgid);
	free(footer);
	free(listaddr);
	return rc;
}

int
list_handle(struct req *r, const char *slug, const char *raw, size_t len)
{
	const struct config *cfg = r->app->cfg;
	struct store *st = r->app->st;
	struct network net = { 0 };
	struct person p = { 0 };
	struct tvars *v = NULL;
	const char *lang;
	char *listaddr = NULL, size[32];
	int rc, count, was_bouncing;

	if ((rc = store_person_get(st, r->sender, &p)) == -1)
		return -1;
	lang = lang_of(r, rc == 0 ? &p : NULL);
	was_bouncing = rc == 0 && p.bouncing;

	if (!config_domain_allowed(cfg, r->sender)) {
		log_info("%s is outside the allowed domains", r->sender);
		v = tvars_new();
		tvars_set(v, "sender", r->sender);
		rc = refuse(r, "refusal", lang, v, 0);
		r->outcome = "refused";
		goto out;
	}
	if ((rc = store_requests_since(st, r->sender, r->now - 3600,
	    &count)) == -1)
		goto out;
	if (count >= cfg->max_requests_per_hour) {
		log_warnx("%s sent %d mails this hour; keeping this one for "
		    "the coordinators", r->sender, count);
		r->outcome = "ratelimited";
		goto out;
	}
	if ((rc = store_network_find(st, slug, &net)) == -1)
		goto out;
	if (rc == 1 || net.state != NET_OPEN || !str_eq_ci(net.slug, slug)) {
		log_info("%s wrote to unknown list %s", r->sender, slug);
		rc = answer_unknown(r, slug, lang);
		goto out;
	}
	/* Writing clears `bouncing`: what was sent meanwhile follows. */
	if (store_person_touch(st, r->sender, r->sender_name, NULL, r->now,
	    &r->person_id) == -1 || (was_bouncing &&
	    meeting_catch_up(r, r->person_id) == -1)) {
		rc = -1;
		goto out;
	}
	person_clear(&p);
	if ((rc = store_person_by_id(st, r->person_id, &p)) != 0) {
		rc = -1;
		goto out;
	}
	lang = lang_of(r, &p);		/* the old one pointed into p */
	listaddr = list_address(cfg, net.slug);
	v = tvars_new();
	tvars_set(v, "title", net.title);
	tvars_set(v, "slug", net.slug);
	tvars_set(v, "address", listaddr);
	if (!may_post(st, net.id, &p) && !config_is_coordinator(cfg, r->sender)) {
		log_info("%s may not post to %s", r->sender, net.slug);
		rc = refuse(r, "list-refused", lang, v, net.id);
		r->outcome = "list-refused";
		goto out;
	}
	if (len > cfg->list_max_size) {
		log_info("%zu bytes to list %s: larger than %zu", len, net.slug,
		    cfg->list_max_size);
		snprintf(size, sizeof(size), "%zu kB", (len + 1023) / 1024);
		tvars_set(v, "size", size);
		snprintf(size, sizeof(size), "%zu kB",
		    (cfg->list_max_size + 1023) / 1024);
		tvars_set(v, "max", size);
		rc = answer(r, "list-too-big", "reply", lang, v, net.id);
		r->outcome = "list-too-big";
		goto out;
	}
	rc = distribute(r, &net, raw, len);
out:
	tvars_free(v);
	free(listaddr);
	network_clear(&net);
	person_clear(&p);
	return rc;
}
