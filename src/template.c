/*
 * template.c - the Mustache subset of template.h.
 *
 * A template is parsed into a small tree first (so a syntax error anywhere
 * is reported, even inside a section that would not be rendered), then
 * rendered against a stack of tvars contexts.  Source, nesting and output
 * are capped: a broken template or a huge list cannot take the daemon
 * down.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "template.h"
#include "util.h"

#define TMPL_MAX_SRC	(1024u * 1024)		/* one template file */
#define TMPL_MAX_OUT	(8u * 1024 * 1024)	/* one rendering */
#define TMPL_MAX_DEPTH	32			/* nested sections */
#define TMPL_NAME_MAX	64			/* file name parts */
#define DEFAULT_LANG	"nl"

/* ---- the data ---- */

enum tv_type { TV_OBJ, TV_STR, TV_BOOL, TV_LIST };

struct tvars {
	enum tv_type	 type;
	char		*name;		/* key in the parent object */
	char		*str;		/* TV_STR */
	int		 b;		/* TV_BOOL */
	struct tvars	*head, *tail;	/* TV_OBJ members, TV_LIST items */
	struct tvars	*next;
};

static void
tv_clear(struct tvars *v)
{
	struct tvars *c, *n;

	for (c = v->head; c; c = n) {
		n = c->next;
		tvars_free(c);
	}
	free(v->str);
	v->str = NULL;
	v->head = v->tail = NULL;
	v->b = 0;
}

struct tvars *
tvars_new(void)
{
	struct tvars *v = xcalloc(1, sizeof(*v));

	v->type = TV_OBJ;
	return v;
}

void
tvars_free(struct tvars *v)
{
	if (v == NULL)
		return;
	tv_clear(v);
	free(v->name);
	free(v);
}

static void
tv_append(struct tvars *v, struct tvars *c)
{
	if (v->tail)
		v->tail->next = c;
	else
		v->head = c;
	v->tail = c;
}

static const struct tvars *
tv_member(const struct tvars *v, const char *name, size_t len)
{
	if (v->type != TV_OBJ)
		return NULL;
	for (const struct tvars *c = v->head; c; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

static struct tvars *
tv_find(struct tvars *v, const char *name)
{
	struct tvars *c;

	for (c = v->head; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			break;
	return c;
}

/* The member `name` of v, created empty or emptied for a new value. */
static struct tvars *
tv_slot(struct tvars *v, const char *name, enum tv_type type)
{
	struct tvars *c = tv_find(v, name);

	if (c == NULL) {
		c = tvars_new();
		c->name = xstrdup(name);
		tv_append(v, c);
	} else
		tv_clear(c);
	c->type = type;
	return c;
}

void
tvars_set(struct tvars *v, const char *name, const char *value)
{
	tv_slot(v, name, TV_STR)->str = xstrdup(value ? value : "");
}

void
tvars_setf(struct tvars *v, const char *name, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 0);
	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) == -1)
		buf_reset(&b);
	va_end(ap);
	tv_slot(v, name, TV_STR)->str = buf_steal(&b);
}

void
tvars_set_bool(struct tvars *v, const char *name, int on)
{
	tv_slot(v, name, TV_BOOL)->b = on != 0;
}

struct tvars *
tvars_add_item(struct tvars *v, const char *name)
{
	struct tvars *list = tv_find(v, name), *item;

	if (list == NULL || list->type != TV_LIST)
		list = tv_slot(v, name, TV_LIST);
	item = tvars_new();
	tv_append(list, item);
	return item;
}

struct tvars *
tvars_child(struct tvars *v, const char *name)
{
	struct tvars *c = tv_find(v, name);

	if (c != NULL && c->type == TV_OBJ)
		return c;
	return tv_slot(v, name, TV_OBJ);
}

/* ---- parsing ---- */

enum node_type { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED };

struct node {
	enum node_type	 type;
	const char	*s;		/* text, or the tag name */
	size_t		 len;
	int		 line;
	struct node	*body;		/* sections */
	struct node	*next;
};

struct parser {
	const char	*src;
	size_t		 len;
	size_t		 counted;	/* lines are counted up to here */
	int		 line;		/* the line at `counted` */
	char		*err;
	size_t		 errlen;
};

static void
nodes_free(struct node *n)
{
	struct node *next;

	for (; n; n = next) {
		next = n->next;
		nodes_free(n->body);
		free(n);
	}
}

static int
line_at(struct parser *p, size_t off)
{
	for (; p->counted < off; p->counted++)
		if (p->src[p->counted] == '\n')
			p->line++;
	return p->line;
}

static int
perr(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "line %d: ", line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "." or dot-separated non-empty parts without blanks or braces. */
static int
name_valid(const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == '{' || c == '}' || c == 0x7f ||
		    (c == '.' && s[i + 1] == '.'))
			return 0;
	}
	return 1;
}

static struct node *
node_new(enum node_type type, const char *s, size_t len, int line)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->s = s;
	n->len = len;
	n->line = line;
	return n;
}

static int
parse(struct parser *p, struct node **root)
{
	struct node *open[TMPL_MAX_DEPTH];
	struct node **tail[TMPL_MAX_DEPTH + 1];
	const char *s = p->src;
	size_t len = p->len, pos = 0;
	int depth = 0;

	*root = NULL;
	tail[0] = root;
	while (pos < len) {
		const char *t = memmem(s + pos, len - pos, "{{", 2);
		size_t ts, te, cs, ce, text_end, next;
		char sigil;
		int line, tline = line_at(p, pos);

		if (t == NULL) {
			*tail[depth] = node_new(N_TEXT, s + pos, len - pos,
			    tline);
			tail[depth] = &(*tail[depth])->next;
			break;
		}
		ts = (size_t)(t - s);
		line = line_at(p, ts);
		sigil = ts + 2 < len ? s[ts + 2] : '\0';
		cs = ts + (sigil == '{' ? 3 : 2);
		t = memmem(s + cs, len - cs, sigil == '{' ? "}}}" : "}}",
		    sigil == '{' ? 3 : 2);
		if (t == NULL)
			return perr(p, line, "unterminated tag");
		ce = (size_t)(t - s);
		te = ce + (sigil == '{' ? 3 : 2);
		if (sigil == '=')
			return perr(p, line, "delimiters are not supported");
		if (sigil == '>')
			return perr(p, line, "partials are not supported");
		if (sigil == '<' || sigil == '$')
			return perr(p, line, "template inheritance is not "
			    "supported");
		if (sigil == '{' || sigil == '&' || sigil == '#' ||
		    sigil == '^' || sigil == '/' || sigil == '!')
			cs = ts + 3;

		/* Section tags and comments alone on their line take the
		 * whole line with them (the spec's standalone rule). */
		text_end = ts;
		next = te;
		if (sigil == '#' || sigil == '^' || sigil == '/' ||
		    sigil == '!') {
			size_t ls = ts, le = te;

			while (ls > pos && is_blank(s[ls - 1]))
				ls--;
			while (le < len && is_blank(s[le]))
				le++;
			if ((ls == 0 || s[ls - 1] == '\n') &&
			    (le == len || s[le] == '\n' || (s[le] == '\r' &&
			    le + 1 < len && s[le + 1] == '\n'))) {
				text_end = ls;
				next = le == len ? le :
				    le + (s[le] == '\r' ? 2 : 1);
			}
		}
		if (text_end > pos) {
			*tail[depth] = node_new(N_TEXT, s + pos, text_end - pos,
			    tline);
			tail[depth] = &(*tail[depth])->next;
		}
		pos = next;
		if (sigil == '!')
			continue;

		while (cs < ce && is_blank(s[cs]))
			cs++;
		while (ce > cs && is_blank(s[ce - 1]))
			ce--;
		if (!name_valid(s + cs, ce - cs))
			return perr(p, line, "bad tag name '%.*s'",
			    (int)(ce - cs > 40 ? 40 : ce - cs), s + cs);

		if (sigil == '/') {
			struct node *o;

			if (depth == 0)
				return perr(p, line, "{{/%.*s}} closes no "
				    "section", (int)(ce - cs > 40 ? 40 :
				    ce - cs), s + cs);
			o = open[depth - 1];
			if (o->len != ce - cs || memcmp(o->s, s + cs, o->len))
				return perr(p, line, "{{/%.*s}} does not "
				    "close '%.*s' opened on line %d",
				    (int)(ce - cs > 40 ? 40 : ce - cs), s + cs,
				    (int)(o->len > 40 ? 40 : o->len), o->s,
				    o->line);
			depth--;
			continue;
		}
		{
			enum node_type type = sigil == '#' ? N_SECTION :
			    sigil == '^' ? N_INVERTED :
			    (sigil == '{' || sigil == '&') ? N_RAW : N_VAR;
			struct node *n = node_new(type, s + cs, ce - cs, line);

			*tail[depth] = n;
			tail[depth] = &n->next;
			if (type == N_SECTION || type == N_INVERTED) {
				if (depth == TMPL_MAX_DEPTH)
					return perr(p, line, "sections nested "
					    "deeper than %d", TMPL_MAX_DEPTH);
				open[depth++] = n;
				tail[depth] = &n->body;
			}
		}
	}
	if (depth > 0)
		return perr(p, open[depth - 1]->line, "section '%.*s' is not "
		    "closed", (int)(open[depth - 1]->len > 40 ? 40 :
		    open[depth - 1]->len), open[depth - 1]->s);
	return 0;
}

/* ---- rendering ---- */

struct render {
	const struct tvars *ctx[TMPL_MAX_DEPTH + 1];
	int		 depth;
	enum tmpl_escape esc;
	int		 strict;
	struct buf	*out;
	size_t		 limit;		/* out->len may not pass this */
	char		*err;
	size_t		 errlen;
};

static int
rerr(struct render *r, const struct node *n, const char *what)
{
	snprintf(r->err, r->errlen, "line %d: %s '%.*s'", n->line, what,
	    (int)(n->len > 40 ? 40 : n->len), n->s);
	return -1;
}

/*
 * Mustache name resolution: the first part is looked up from the top of
 * the context stack down, the other parts only inside what was found.
 * "." is the top context itself, or its "." member when it has one (how
 * a list item or the root holds a plain value).
 */
static const struct tvars *
lookup(const struct render *r, const char *name, size_t len)
{
	const struct tvars *v = NULL, *top = r->ctx[r->depth - 1];
	const char *p, *e = name + len;
	size_t k;

	if (len == 1 && name[0] == '.') {
		const struct tvars *self = tv_member(top, ".", 1);

		return self ? self : top;
	}
	p = name;
	k = (size_t)((memchr(p, '.', len) ? (const char *)memchr(p, '.', len) :
	    e) - p);
	for (int i = r->depth - 1; i >= 0 && v == NULL; i--)
		v = tv_member(r->ctx[i], p, k);
	for (p += k; v && p < e; p += k) {
		p++;	/* the dot */
		k = (size_t)((memchr(p, '.', (size_t)(e - p)) ?
		    (const char *)memchr(p, '.', (size_t)(e - p)) : e) - p);
		v = tv_member(v, p, k);
	}
	return v;
}

/* The text of a value, or NULL when it has none (booleans, lists). */
static const char *
text_of(const struct tvars *v)
{
	if (v->type == TV_STR)
		return v->str;
	if (v->type == TV_OBJ && (v = tv_member(v, ".", 1)) != NULL &&
	    v->type == TV_STR)
		return v->str;
	return NULL;
}

static int
truthy(const struct tvars *v)
{
	switch (v->type) {
	case TV_STR:
		return v->str[0] != '\0';
	case TV_BOOL:
		return v->b;
	case TV_LIST:
		return v->head != NULL;
	case TV_OBJ:
		return 1;
	}
	return 0;
}

static int
emit(struct render *r, const struct node *n, const char *s, size_t len,
    int escape)
{
	size_t len0 = r->out->len;

	if (!escape) {
		if (len <= r->limit - r->out->len &&
		    buf_add(r->out, s, len) == 0)
			return 0;
	} else {
		size_t i = 0, run;
		int ok = 1;

		while (ok && i < len) {
			const char *rep = NULL;

			for (run = i; run < len; run++)
				if (s[run] != '\0' && strchr("&<>\"'", s[run]))
					break;
			if (run - i > r->limit - r->out->len ||
			    buf_add(r->out, s + i, run - i) == -1)
				ok = 0;
			if (!ok || run == len)
				break;
			switch (s[run]) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			default: rep = "&#39;"; break;
			}
			if (strlen(rep) > r->limit - r->out->len ||
			    buf_adds(r->out, rep) == -1)
				ok = 0;
			i = run + 1;
		}
		if (ok)
			return 0;
	}
	r->out->len = len0;
	if (r->out->data)
		r->out->data[len0] = '\0';
	snprintf(r->err, r->errlen, "line %d: output too large", n->line);
	return -1;
}

static int render_nodes(struct render *, const struct node *);

static int
render_in(struct render *r, const struct node *n, const struct tvars *ctx)
{
	int rv;

	/* Cannot overflow: the parser caps nesting at TMPL_MAX_DEPTH. */
	r->ctx[r->depth++] = ctx;
	rv = render_nodes(r, n->body);
	r->depth--;
	return rv;
}

static int
render_nodes(struct render *r, const struct node *n)
{
	for (; n; n = n->next) {
		const struct tvars *v;
		const char *s;

		switch (n->type) {
		case N_TEXT:
			if (emit(r, n, n->s, n->len, 0) == -1)
				return -1;
			break;
		case N_VAR:
		case N_RAW:
			if ((v = lookup(r, n->s, n->len)) == NULL) {
				if (r->strict)
					return rerr(r, n, "unknown variable");
				break;
			}
			if ((s = text_of(v)) == NULL) {
				if (r->strict)
					return rerr(r, n, "not a text variable");
				break;
			}
			if (emit(r, n, s, strlen(s),
			    n->type == N_VAR && r->esc == TMPL_HTML) == -1)
				return -1;
			break;
		case N_SECTION:
			/* A missing name is false even when strict: an empty
			 * list is a list nobody added items to. */
			v = lookup(r, n->s, n->len);
			if (v == NULL || !truthy(v))
				break;
			if (v->type != TV_LIST) {
				if (render_in(r, n, v) == -1)
					return -1;
				break;
			}
			for (const struct tvars *it = v->head; it; it = it->next)
				if (render_in(r, n, it) == -1)
					return -1;
			break;
		case N_INVERTED:
			v = lookup(r, n->s, n->len);
			if (v != NULL && truthy(v))
				break;
			if (render_nodes(r, n->body) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

static int
render_src(const char *src, size_t len, int line0, const struct tvars *vars,
    enum tmpl_escape esc, int strict, struct buf *out, char *err,
    size_t errlen)
{
	struct parser p;
	struct render r;
	struct node *root;
	size_t len0 = out->len;
	int rv;
	struct tvars empty = { .type = TV_OBJ };

	if (len > TMPL_MAX_SRC) {
		snprintf(err, errlen, "line %d: template too large (%zu bytes, "
		    "at most %u)", line0, len, TMPL_MAX_SRC);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.line = line0;
	p.err = err;
	p.errlen = errlen;
	if (parse(&p, &root) == -1) {
		nodes_free(root);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.ctx[0] = vars ? vars : &empty;
	r.depth = 1;
	r.esc = esc;
	r.strict = strict;
	r.out = out;
	r.limit = out->len + TMPL_MAX_OUT;
	r.err = err;
	r.errlen = errlen;
	rv = render_nodes(&r, root);
	nodes_free(root);
	if (rv == -1) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
	}
	return rv;
}

int
template_render_opts(const char *src, size_t len, const struct tvars *vars,
    enum tmpl_escape esc, int strict, struct buf *out, char *err,
    size_t errlen)
{
	return render_src(src, len, 1, vars, esc, strict, out, err, errlen);
}

int
template_render(const char *src, size_t len, const struct tvars *vars,
    enum tmpl_escape esc, struct buf *out, char *err, size_t errlen)
{
	return render_src(src, len, 1, vars, esc, 1, out, err, errlen);
}

/* ---- template files ---- */

struct tfile {
	char		*path;
	char		*data;		/* NULL: the file does not exist */
	size_t		 len;
	struct tfile	*next;
};

static struct tfile *cache;

void
template_cache_clear(void)
{
	struct tfile *f, *n;

	for (f = cache; f; f = n) {
		n = f->next;
		free(f->path);
		free(f->data);
		free(f);
	}
	cache = NULL;
}

/* 0 and *fp (data NULL when absent), or -1 with err. */
static int
tfile_get(const char *path, const struct tfile **fp, char *err,
    size_t errlen)
{
	struct tfile *f;
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd, absent = 0;

	for (f = cache; f; f = f->next)
		if (strcmp(f->path, path) == 0) {
			*fp = f;
			return 0;
		}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		absent = 1;
	} else {
		const char *why = NULL;

		if (fstat(fd, &st) == -1)
			why = strerror(errno);
		else if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		else if ((size_t)st.st_size > TMPL_MAX_SRC)
			why = "too large";
		if (why) {
			snprintf(err, errlen, "%s: %s", path, why);
			close(fd);
			return -1;
		}
		data = xmalloc((size_t)st.st_size + 1);
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, data + got,
			    (size_t)st.st_size - got);

			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		close(fd);
		if (got != (size_t)st.st_size) {
			snprintf(err, errlen, "%s: short read", path);
			free(data);
			return -1;
		}
		data[got] = '\0';
		if (!utf8_valid(data, got) || memchr(data, '\0', got)) {
			snprintf(err, errlen, "%s: not UTF-8 text", path);
			free(data);
			return -1;
		}
	}
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->data = absent ? NULL : data;
	f->len = got;
	f->next = cache;
	cache = f;
	*fp = f;
	return 0;
}

/* A name or language we are willing to put in a path. */
static int
component_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TMPL_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* Render and prefix errors with the file's path. */
static char *
render_file(const char *path, const char *src, size_t len, int line0,
    const struct tvars *vars, enum tmpl_escape esc, char *err, size_t errlen)
{
	struct buf out;
	char e[256];

	buf_init(&out, TMPL_MAX_OUT);
	if (render_src(src, len, line0, vars, esc, 1, &out, e, sizeof(e)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", path, e);
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

int
template_mail(const char *dir, const char *name, const char *lang,
    const struct tvars *vars, struct rendered *rd, char *err, size_t errlen)
{
	const struct tfile *txt, *html;
	const char *d, *eol, *subj, *body;
	char *path = NULL, *hpath = NULL;
	size_t slen;
	int rv = -1;

	memset(rd, 0, sizeof(*rd));
	if (lang == NULL || *lang == '\0')
		lang = DEFAULT_LANG;
	if (!component_ok(name) || !component_ok(lang)) {
		snprintf(err, errlen, "bad template name '%.40s' or language "
		    "'%.10s'", name, lang);
		return -1;
	}
	path = xasprintf("%s/%s/%s.txt", dir, lang, name);
	if (tfile_get(path, &txt, err, errlen) == -1)
		goto done;
	if (txt->data == NULL && strcmp(lang, DEFAULT_LANG) != 0) {
		char *fb = xasprintf("%s/%s/%s.txt", dir, DEFAULT_LANG, name);

		if (tfile_get(fb, &txt, err, errlen) == -1) {
			free(fb);
			goto done;
		}
		if (txt->data == NULL) {
			snprintf(err, errlen, "%s: no such template (nor %s)",
			    path, fb);
			free(fb);
			goto done;
		}
		free(path);
		path = fb;
		lang = DEFAULT_LANG;
	} else if (txt->data == NULL) {
		snprintf(err, errlen, "%s: no such template", path);
		goto done;
	}
	/* The HTML part comes from the same language as the text part. */
	hpath = xasprintf("%s/%s/%s.html", dir, lang, name);
	if (tfile_get(hpath, &html, err, errlen) == -1)
		goto done;

	d = txt->data;
	if (strncmp(d, "Subject:", 8) != 0) {
		snprintf(err, errlen, "%s: line 1: expected \"Subject: ...\"",
		    path);
		goto done;
	}
	subj = d + 8;
	while (is_blank(*subj))
		subj++;
	eol = strchr(subj, '\n');
	slen = (size_t)((eol ? eol : d + txt->len) - subj);
	if (slen > 0 && subj[slen - 1] == '\r')
		slen--;
	body = eol ? eol + 1 : d + txt->len;
	if (*body == '\r' && body[1] == '\n')
		body += 2;
	else if (*body == '\n')
		body++;
	else if (*body != '\0') {
		snprintf(err, errlen, "%s: line 2: expected an empty line "
		    "after the Subject line", path);
		goto done;
	}

	if ((rd->subject = render_file(path, subj, slen, 1, vars, TMPL_TEXT,
	    err, errlen)) == NULL)
		goto done;
	/* A subject is one line, whatever the variables held. */
	for (char *p = rd->subject; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	{
		char *t = str_trim(rd->subject);

		memmove(rd->subject, t, strlen(t) + 1);
	}
	if ((rd->text = render_file(path, body,
	    (size_t)(d + txt->len - body), 3, vars, TMPL_TEXT, err,
	    errlen)) == NULL)
		goto done;
	if (html->data && (rd->html = render_file(hpath, html->data,
	    html->len, 1, vars, TMPL_HTML, err, errlen)) == NULL)
		goto done;
	rv = 0;
done:
	if (rv == -1)
		rendered_free(rd);
	free(path);
	free(hpath);
	return rv;
}

void
rendered_free(struct rendered *rd)
{
	free(rd->subject);
	free(rd->text);
	free(rd->html);
	memset(rd, 0, sizeof(*rd));
}
