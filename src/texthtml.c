/*
 * texthtml.c - text part → a simple, readable HTML part (see texthtml.h
 * for the conventions).  Line-oriented: the text is cut into lines, runs
 * of lines of one shape become one element, and every byte of text goes
 * through inline(), which escapes it and makes links.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "texthtml.h"
#include "util.h"

/* Far above any mail we compose; the text itself is capped upstream. */
#define HTML_MAX	(32u * 1024 * 1024)
/* A line at least this long, followed by another, was wrapped. */
#define FLOW_WIDTH	60

static const char css_body[] =
    "font-family: 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 15px;"
    " line-height: 1.45; color: #1f1f1f; background: #ffffff;";
static const char css_pre[] =
    "font-family: Consolas, Menlo, 'DejaVu Sans Mono', monospace;"
    " font-size: 13px; white-space: pre-wrap; margin: 0 0 1em 0;";
static const char css_quote[] =
    "margin: 0 0 1em 0; padding-left: 0.8em; border-left: 3px solid #c8c8c8;"
    " color: #555555;";
static const char css_footer[] = "color: #6b6b6b; font-size: 13px;";

struct line {
	const char	*s;
	size_t		 n;
};

struct conv {
	struct buf	 out;
	struct line	*l;
	size_t		 nl;
	size_t		 sig;		/* the signature line, or -1 */
	int		 footer;	/* after it */
};

static int
is_sp(char c)
{
	return c == ' ' || c == '\t';
}

static int
blank(const struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!is_sp(l->s[i]))
			return 0;
	return 1;
}

static int
indented(const struct line *l)
{
	return l->n > 0 && is_sp(l->s[0]) && !blank(l);
}

/* Length of a list marker at s ("- ", "* ", "• "), or 0. */
static size_t
item_marker(const char *s, size_t n)
{
	if (n >= 2 && (s[0] == '-' || s[0] == '*') && s[1] == ' ')
		return 2;
	if (n >= 4 && memcmp(s, "\xe2\x80\xa2 ", 4) == 0)
		return 4;
	return 0;
}

static size_t
lead_blanks(const struct line *l)
{
	size_t i = 0;

	while (i < l->n && is_sp(l->s[i]))
		i++;
	return i;
}

/* "=====" or "-----" (at least 3, trailing blanks allowed). */
static int
underline(const struct line *l, char ch)
{
	size_t i = 0;

	while (i < l->n && l->s[i] == ch)
		i++;
	if (i < 3)
		return 0;
	while (i < l->n && is_sp(l->s[i]))
		i++;
	return i == l->n;
}

static int
sig_line(const struct line *l)
{
	return (l->n == 2 && memcmp(l->s, "--", 2) == 0) ||
	    (l->n == 3 && memcmp(l->s, "-- ", 3) == 0);
}

static int
quote_line(const struct line *l)
{
	return l->n > 0 && l->s[0] == '>';
}

static int
heading_at(const struct conv *c, size_t i)
{
	return i + 1 < c->nl && !indented(&c->l[i]) && !blank(&c->l[i]) &&
	    (underline(&c->l[i + 1], '=') || underline(&c->l[i + 1], '-'));
}

static void
put(struct conv *c, const char *s)
{
	buf_adds(&c->out, s);
}

/* One character of text, escaped; controls other than tab are dropped. */
static void
esc_char(struct buf *b, char ch, int keep_tab)
{
	unsigned char u = (unsigned char)ch;

	switch (ch) {
	case '&':
		buf_adds(b, "&amp;");
		break;
	case '<':
		buf_adds(b, "&lt;");
		break;
	case '>':
		buf_adds(b, "&gt;");
		break;
	case '"':
		buf_adds(b, "&quot;");
		break;
	case '\'':
		buf_adds(b, "&#39;");
		break;
	case '\t':
		buf_addc(b, keep_tab ? '\t' : ' ');
		break;
	default:
		if (u >= 0x20 && u != 0x7f)
			buf_addc(b, ch);
	}
}

static void
esc(struct buf *b, const char *s, size_t n, int keep_tab)
{
	for (size_t i = 0; i < n; i++)
		esc_char(b, s[i], keep_tab);
}

static int
url_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u > 0x20 && u < 0x7f && strchr("<>\"`{}|\\^", ch) == NULL;
}

static int
local_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '%' ||
	    ch == '+' || ch == '-';
}

static int
domain_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

static int
prefix_ci(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && strncasecmp(s, p, pl) == 0;
}

/* Length of a URL starting at s, or 0. */
size_t
texthtml_url_len(const char *s, size_t n)
{
	static const char *const schemes[] = { "https://", "http://",
	    "mailto:" };
	size_t sl = 0, j, open = 0, close = 0;

	for (size_t k = 0; k < ARRAY_LEN(schemes); k++)
		if (prefix_ci(s, n, schemes[k])) {
			sl = strlen(schemes[k]);
			break;
		}
	if (sl == 0)
		return 0;
	for (j = sl; j < n && url_char(s[j]); j++) {
		if (s[j] == '(')
			open++;
		else if (s[j] == ')')
			close++;
	}
	/* Punctuation after a URL belongs to the sentence. */
	while (j > sl && (strchr(".,;:!?'", s[j - 1]) != NULL ||
	    (s[j - 1] == ')' && close > open))) {
		if (s[j - 1] == ')')
			close--;
		j--;
	}
	return j > sl ? j : 0;
}

/* Length of an address "local@domain.tld" starting at s, or 0. */
static size_t
addr_len(const char *s, size_t n)
{
	size_t i = 0, at, dot = 0;

	while (i < n && local_char(s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != '@')
		return 0;
	at = i++;
	while (i < n && domain_char(s[i]))
		i++;
	while (i > at + 1 && (s[i - 1] == '.' || s[i - 1] == '-'))
		i--;
	for (size_t k = at + 1; k < i; k++)
		if (s[k] == '.')
			dot = k;
	/* A dot inside the domain, with a label on both sides. */
	if (dot == 0 || dot == at + 1 || dot + 1 >= i || s[at + 1] == '.')
		return 0;
	return i;
}

static void
link(struct buf *b, const char *prefix, const char *s, size_t n)
{
	buf_adds(b, "<a href=\"");
	buf_adds(b, prefix);
	esc(b, s, n, 0);
	buf_adds(b, "\">");
	esc(b, s, n, 0);
	buf_adds(b, "</a>");
}

/*
 * Text of one line: escaped, with links.  Not a web link between double
 * quotes: that is how the templates echo what a sender wrote ("Er is geen
 * netwerk met de naam "…""), and a forged request must not put a link of
 * its choosing, clickable, in mail from the coordinator address.
 */
static void
inline_text(struct buf *b, const char *s, size_t n, int keep_tab)
{
	size_t i = 0;
	int quoted = 0;

	while (i < n) {
		int boundary = i == 0 || !(local_char(s[i - 1]) ||
		    s[i - 1] == '/' || s[i - 1] == ':' || s[i - 1] == '@');
		size_t k;

		if (s[i] == '"')
			quoted = !quoted;
		if (boundary && !quoted && (k = texthtml_url_len(s + i, n - i)) > 0) {
			link(b, "", s + i, k);
			i += k;
		} else if (boundary && (k = addr_len(s + i, n - i)) > 0) {
			link(b, "mailto:", s + i, k);
			i += k;
		} else if (local_char(s[i])) {
			/*
			 * The rest of a word needs no escape and starts no
			 * link (no boundary inside it): copy it at once.
			 */
			for (k = i + 1; k < n && local_char(s[k]); k++)
				;
			buf_add(b, s + i, k - i);
			i = k;
		} else
			esc_char(b, s[i++], keep_tab);
	}
}

static void
emit_line(struct conv *c, const struct line *l, size_t from)
{
	inline_text(&c->out, l->s + from, l->n - from, 0);
}

static void
open_p(struct conv *c)
{
	if (c->footer) {
		put(c, "<p style=\"");
		put(c, css_footer);
		put(c, "\">");
	} else
		put(c, "<p>");
}

/* Characters (not bytes) of a UTF-8 line. */
static size_t
width(const struct line *l)
{
	size_t w = 0;

	for (size_t i = 0; i < l->n; i++)
		if (((unsigned char)l->s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/*
 * A run of plain lines.  Texts are wrapped at about 72 columns; a long
 * line followed by more is such a wrap and flows on, so that a narrow
 * screen does not show every second line half empty.  Short lines
 * ("Beste Ayse,") keep their break.
 */
static size_t
paragraph(struct conv *c, size_t i)
{
	int first = 1;
	size_t prev = 0;

	open_p(c);
	for (; i < c->nl; i++) {
		const struct line *l = &c->l[i];

		if (blank(l) || indented(l) || quote_line(l) || i == c->sig ||
		    item_marker(l->s, l->n) || (!first && heading_at(c, i)))
			break;
		if (!first)
			put(c, prev >= FLOW_WIDTH && c->l[i - 1].s[c->l[i - 1].n
			    - 1] != ':' ? "\n" : "<br>\n");
		emit_line(c, l, 0);
		prev = width(l);
		first = 0;
	}
	put(c, "</p>\n");
	return i;
}

static size_t
heading(struct conv *c, size_t i)
{
	const char *tag = underline(&c->l[i + 1], '=') ? "h2" : "h3";

	buf_addf(&c->out, "<%s style=\"font-size: %s; margin: 1.2em 0 0.4em 0;\">",
	    tag, tag[1] == '2' ? "18px" : "16px");
	emit_line(c, &c->l[i], 0);
	buf_addf(&c->out, "</%s>\n", tag);
	return i + 2;
}

static size_t
quote(struct conv *c, size_t i)
{
	int first = 1;

	put(c, "<blockquote style=\"");
	put(c, css_quote);
	put(c, "\">");
	for (; i < c->nl && quote_line(&c->l[i]); i++) {
		const struct line *l = &c->l[i];
		size_t from = 1;

		if (from < l->n && l->s[from] == ' ')
			from++;
		if (!first)
			put(c, "<br>\n");
		emit_line(c, l, from);
		first = 0;
	}
	put(c, "</blockquote>\n");
	return i;
}

/* "- item" lines at the margin, with indented continuation lines. */
static size_t
list(struct conv *c, size_t i)
{
	put(c, "<ul>\n");
	while (i < c->nl) {
		const struct line *l = &c->l[i];
		size_t m = item_marker(l->s, l->n);

		if (m == 0 || blank(l))
			break;
		put(c, "<li>");
		emit_line(c, l, m);
		for (i++; i < c->nl && indented(&c->l[i]); i++) {
			const struct line *cl = &c->l[i];
			size_t lb = lead_blanks(cl);

			if (item_marker(cl->s + lb, cl->n - lb))
				break;
			put(c, "<br>\n");
			emit_line(c, cl, lb);
		}
		put(c, "</li>\n");
		/* An indented "- sub item" under an item: shown as its own. */
		while (i < c->nl && indented(&c->l[i])) {
			const struct line *cl = &c->l[i];
			size_t lb = lead_blanks(cl);
			size_t sm = item_marker(cl->s + lb, cl->n - lb);

			put(c, "<li>");
			emit_line(c, cl, lb + sm);
			put(c, "</li>\n");
			i++;
		}
	}
	put(c, "</ul>\n");
	return i;
}

/* Indented lines: a list when each is "- item", else preformatted. */
static size_t
block(struct conv *c, size_t i)
{
	size_t end = i, minlead = (size_t)-1;
	int all_items = 1;

	for (; end < c->nl && indented(&c->l[end]); end++) {
		const struct line *l = &c->l[end];
		size_t lb = lead_blanks(l);

		if (lb < minlead)
			minlead = lb;
		if (item_marker(l->s + lb, l->n - lb) == 0)
			all_items = 0;
	}
	if (all_items) {
		put(c, "<ul>\n");
		for (; i < end; i++) {
			const struct line *l = &c->l[i];
			size_t lb = lead_blanks(l);

			put(c, "<li>");
			emit_line(c, l, lb + item_marker(l->s + lb, l->n - lb));
			put(c, "</li>\n");
		}
		put(c, "</ul>\n");
		return end;
	}
	put(c, "<pre style=\"");
	put(c, css_pre);
	put(c, "\">");
	for (; i < end; i++) {
		const struct line *l = &c->l[i];
		size_t from = 0;

		/* Drop the common indentation, counting a tab as one. */
		while (from < minlead && from < l->n && is_sp(l->s[from]))
			from++;
		inline_text(&c->out, l->s + from, l->n - from, 1);
		if (i + 1 < end)
			put(c, "\n");
	}
	put(c, "</pre>\n");
	return end;
}

static void
split_lines(struct conv *c, const char *text)
{
	size_t cap = 16;
	const char *p = text;

	c->l = xreallocarray(NULL, cap, sizeof(*c->l));
	c->nl = 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (c->nl == cap) {
			cap *= 2;
			c->l = xreallocarray(c->l, cap, sizeof(*c->l));
		}
		c->l[c->nl].s = p;
		c->l[c->nl].n = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
		c->nl++;
		if (e == NULL)
			break;
		p = e + 1;
	}
}

char *
text_to_html(const char *text, const char *title, const char *lang)
{
	struct conv c;
	size_t i = 0;

	memset(&c, 0, sizeof(c));
	buf_init(&c.out, HTML_MAX);
	split_lines(&c, text ? text : "");
	/* Only the last "--" line opens the signature: one inside quoted
	 * text or a news item must not make the rest small print. */
	c.sig = (size_t)-1;
	for (size_t k = c.nl; k > 0; k--)
		if (sig_line(&c.l[k - 1])) {
			c.sig = k - 1;
			break;
		}
	put(&c, "<!DOCTYPE html>\n<html lang=\"");
	esc(&c.out, lang ? lang : "nl", strlen(lang ? lang : "nl"), 0);
	put(&c, "\">\n<head>\n<meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=UTF-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	if (title)
		esc(&c.out, title, strlen(title), 0);
	put(&c, "</title>\n</head>\n<body style=\"");
	put(&c, css_body);
	put(&c, "\">\n<div style=\"max-width: 44em;\">\n");
	while (i < c.nl) {
		const struct line *l = &c.l[i];

		if (blank(l))
			i++;
		else if (i == c.sig) {
			put(&c, "<hr style=\"border: 0; border-top: 1px solid "
			    "#d0d0d0; margin: 1.5em 0 0.5em 0;\">\n");
			c.footer = 1;
			i++;
		} else if (heading_at(&c, i))
			i = heading(&c, i);
		else if (quote_line(l))
			i = quote(&c, i);
		else if (item_marker(l->s, l->n))
			i = list(&c, i);
		else if (indented(l))
			i = block(&c, i);
		else
			i = paragraph(&c, i);
	}
	put(&c, "</div>\n</body>\n</html>\n");
	free(c.l);
	return buf_steal(&c.out);
}
