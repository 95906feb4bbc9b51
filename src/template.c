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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "template.h"
#include "util.h"

#define TMPL_MAX_SRC	(1024u * 1024)		/* one template file */
#define TMPL_MAX_OUT	(8u * 1024 * 1024)	/* one rendering */
#define TMPL_MAX_DEPTH	32			/* nested sections */
#define TMPL_MAX_STEPS	(10u * 1000 * 1000)	/* nodes, one rendering */
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

/* Parse src whose first line is line0: 0 and *root, or -1 with err. */
static int
parse_src(const char *src, size_t len, int line0, struct node **root,
    char *err, size_t errlen)
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.line = line0;
	p.err = err;
	p.errlen = errlen;
	if (parse(&p, root) == -1) {
		nodes_free(*root);
		*root = NULL;
		return -1;
	}
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
	size_t		 steps;		/* nodes visited, up to TMPL_MAX_STEPS */
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

		/*
		 * The output cap does not bound the work: a list's section
		 * nested in itself k times, writing nothing, renders n^k
		 * times (16 deep over 3 networks: 22 s for one answer).
		 */
		if (++r->steps > TMPL_MAX_STEPS)
			return rerr(r, n, "too much work for one mail (a "
			    "section inside itself?) at");

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
	if (parse_src(src, len, line0, &root, err, errlen) == -1)
		return -1;
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
	char		*lang, *name;	/* read_dir's files only */
	int		 html;
	struct tfile	*next;
};

/* Files read so far, and the directories read whole (see dir_load). */
static struct tfile *cache;
static struct strlist {
	char		*s;
	struct strlist	*next;
} *loaded, *warned;

static void
tfiles_free(struct tfile *f)
{
	struct tfile *n;

	for (; f; f = n) {
		n = f->next;
		free(f->path);
		free(f->data);
		free(f->lang);
		free(f->name);
		free(f);
	}
}

static void
strlist_free(struct strlist *l)
{
	struct strlist *n;

	for (; l; l = n) {
		n = l->next;
		free(l->s);
		free(l);
	}
}

static int
strlist_has(const struct strlist *l, const char *s)
{
	for (; l; l = l->next)
		if (strcmp(l->s, s) == 0)
			return 1;
	return 0;
}

static void
strlist_add(struct strlist **l, const char *s)
{
	struct strlist *e = xcalloc(1, sizeof(*e));

	e->s = xstrdup(s);
	e->next = *l;
	*l = e;
}

void
template_cache_clear(void)
{
	tfiles_free(cache);
	cache = NULL;
	strlist_free(loaded);
	loaded = NULL;
	/* A reload may have fixed or broken a template: say so again. */
	strlist_free(warned);
	warned = NULL;
}

const char *
template_shipped_dir(void)
{
	static char dir[4096];
	const char *env = getenv("LEERNET_DATADIR");
	int n;

	if (env == NULL || *env == '\0')
		return LEERNET_DATADIR "/templates";
	n = snprintf(dir, sizeof(dir), "%s/templates", env);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return LEERNET_DATADIR "/templates";
	return dir;
}

/* Is a the same directory as b (however the paths are spelled)? */
static int
same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(a, b) == 0;
}

/* 0 with *data (NULL when the file does not exist) and *len, or -1 with
 * "PATH: why" in err.  Caller frees *data. */
static int
file_read(const char *path, char **datap, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat st;
	const char *why = NULL;
	char *data;
	size_t got = 0;
	int fd;

	*datap = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
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
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

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
	*datap = data;
	*lenp = got;
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

static int
no_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/*
 * Every DIR/LANG/NAME.txt and NAME.html, sorted; absent ones are not
 * listed.  Other files (an editor's help.txt~, a README) are not
 * templates and are left alone.  Unreadable ones go to bad (if not NULL)
 * as "PATH: why"; the return value is how many.
 */
static int
read_dir(const char *dir, struct tfile **list,
    void (*bad)(void *, const char *), void *arg)
{
	struct dirent **langs = NULL, **files;
	struct tfile **tail = list;
	char err[1024];
	int nl, nf, nbad = 0;

	*list = NULL;
	if ((nl = scandir(dir, &langs, no_dot, alphasort)) == -1) {
		snprintf(err, sizeof(err), "%s: %s", dir, strerror(errno));
		if (bad)
			bad(arg, err);
		return 1;
	}
	for (int i = 0; i < nl; i++) {
		char *ldir = xasprintf("%s/%s", dir, langs[i]->d_name);

		files = NULL;
		nf = 0;
		/* A stray file beside the language directories: nothing. */
		if (component_ok(langs[i]->d_name) &&
		    (nf = scandir(ldir, &files, no_dot, alphasort)) == -1)
			nf = 0;
		for (int j = 0; j < nf; j++) {
			const char *fn = files[j]->d_name, *dot = strrchr(fn, '.');
			struct tfile *f;
			char *stem, *data;
			size_t len;

			if (dot == NULL || (strcmp(dot, ".txt") != 0 &&
			    strcmp(dot, ".html") != 0))
				goto next;
			stem = xstrndup(fn, (size_t)(dot - fn));
			if (!component_ok(stem)) {
				free(stem);
				goto next;
			}
			f = xcalloc(1, sizeof(*f));
			f->path = xasprintf("%s/%s", ldir, fn);
			if (file_read(f->path, &data, &len, err,
			    sizeof(err)) == -1) {
				if (bad)
					bad(arg, err);
				nbad++;
			}
			if (data == NULL) {
				free(stem);
				tfiles_free(f);
				goto next;
			}
			f->data = data;
			f->len = len;
			f->lang = xstrdup(langs[i]->d_name);
			f->name = stem;
			f->html = strcmp(dot, ".html") == 0;
			*tail = f;
			tail = &f->next;
next:
			free(files[j]);
		}
		free(files);
		free(ldir);
		free(langs[i]);
	}
	free(langs);
	return nbad;
}

/*
 * The first mail from a directory reads all of it, so the running daemon
 * holds one consistent set of texts; template_reload() replaces that set
 * only with one that passed template_check().
 */
static void
dir_load(const char *dir)
{
	struct tfile *list, *f, *n;

	if (strlist_has(loaded, dir))
		return;
	(void)read_dir(dir, &list, NULL, NULL);
	for (f = list; f; f = n) {
		n = f->next;
		f->next = cache;
		cache = f;
	}
	strlist_add(&loaded, dir);
}

/* 0 and *fp (data NULL when absent), or -1 with err. */
static int
tfile_get(const char *path, const struct tfile **fp, char *err,
    size_t errlen)
{
	struct tfile *f;
	char *data;
	size_t len;

	for (f = cache; f; f = f->next)
		if (strcmp(f->path, path) == 0) {
			*fp = f;
			return 0;
		}
	if (file_read(path, &data, &len, err, errlen) == -1)
		return -1;
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->data = data;
	f->len = len;
	f->next = cache;
	cache = f;
	*fp = f;
	return 0;
}

/*
 * A .txt template's Subject (*subj, *slen) and body: 0, or -1 with
 * "line N: why" in err.
 */
static int
txt_split(const char *d, size_t len, const char **subj, size_t *slen,
    const char **body, char *err, size_t errlen)
{
	const char *eol, *s, *b;

	if (strncmp(d, "Subject:", 8) != 0) {
		snprintf(err, errlen, "line 1: expected \"Subject: ...\"");
		return -1;
	}
	s = d + 8;
	while (is_blank(*s))
		s++;
	eol = strchr(s, '\n');
	*slen = (size_t)((eol ? eol : d + len) - s);
	if (*slen > 0 && s[*slen - 1] == '\r')
		(*slen)--;
	b = eol ? eol + 1 : d + len;
	if (*b == '\r' && b[1] == '\n')
		b += 2;
	else if (*b == '\n')
		b++;
	else if (*b != '\0') {
		snprintf(err, errlen, "line 2: expected an empty line after "
		    "the Subject line");
		return -1;
	}
	*subj = s;
	*body = b;
	return 0;
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

/* template_mail from one directory; *absent when it has no such text. */
static int
mail_from(const char *dir, const char *name, const char *lang,
    const struct tvars *vars, struct rendered *rd, int *absent, char *err,
    size_t errlen)
{
	const struct tfile *txt, *html;
	const char *d, *subj, *body;
	char *path = NULL, *hpath = NULL, e[256];
	size_t slen;
	int rv = -1;

	*absent = 0;
	dir_load(dir);
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
			*absent = 1;
			free(fb);
			goto done;
		}
		free(path);
		path = fb;
		lang = DEFAULT_LANG;
	} else if (txt->data == NULL) {
		snprintf(err, errlen, "%s: no such template", path);
		*absent = 1;
		goto done;
	}
	/* The HTML part comes from the same language as the text part. */
	hpath = xasprintf("%s/%s/%s.html", dir, lang, name);
	if (tfile_get(hpath, &html, err, errlen) == -1)
		goto done;

	d = txt->data;
	if (txt_split(d, txt->len, &subj, &slen, &body, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s: %s", path, e);
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

int
template_mail(const char *dir, const char *name, const char *lang,
    const struct tvars *vars, struct rendered *rd, char *err, size_t errlen)
{
	const char *shipped = template_shipped_dir();
	char e[512], *key;
	size_t n;
	int absent;

	memset(rd, 0, sizeof(*rd));
	if (lang == NULL || *lang == '\0')
		lang = DEFAULT_LANG;
	if (!component_ok(name) || !component_ok(lang)) {
		snprintf(err, errlen, "bad template name '%.40s' or language "
		    "'%.10s'", name, lang);
		return -1;
	}
	if (mail_from(dir, name, lang, vars, rd, &absent, err, errlen) == 0)
		return 0;
	/*
	 * An administrator's edit that went wrong: the teacher still gets
	 * the text leernet came with, and the log says once what to fix.
	 */
	if (same_dir(dir, shipped))
		return -1;
	if (mail_from(shipped, name, lang, vars, rd, &absent, e,
	    sizeof(e)) == -1) {
		n = strlen(err);
		if (!absent && n < errlen)
			snprintf(err + n, errlen - n, "; the shipped copy "
			    "fails too: %s", e);
		return -1;
	}
	key = xasprintf("%s/%s/%s", dir, lang, name);
	if (!strlist_has(warned, key)) {
		log_warnx("template %s; until it is fixed, %s mail uses the "
		    "shipped copy in %s", err, name, shipped);
		strlist_add(&warned, key);
	}
	free(key);
	return 0;
}

void
rendered_free(struct rendered *rd)
{
	free(rd->subject);
	free(rd->text);
	free(rd->html);
	memset(rd, 0, sizeof(*rd));
}

/* ---- checking a directory ---- */

/*
 * reply_queue() (reply.c) sets these in every mail, and the digest
 * preview (digest.c) does the same.  list-footer is rendered by list.c
 * with only its own names.
 */
static const char *const every_mail[] = {
	"org", "coordinator", "to_name", "to_addr", "subject",
};
#define NOT_EVERY_MAIL	"list-footer"

/* The names a template uses: as text ({{x}}) and as sections. */
struct names {
	struct strlist	*text, *sect;
	int		 found;		/* a shipped copy was read */
};

struct use {
	const char	*s;
	size_t		 len;
	int		 line;
	int		 sect;		/* {{#x}} or {{^x}} */
	int		 depth;		/* sections around it */
	int		 guarded;	/* inside {{#itself}} */
};

struct uses {
	struct use	*v;
	size_t		 n, cap;
};

/* The tags under n; around holds the depth sections n is inside. */
static void
uses_collect(const struct node *n, const struct node **around, int depth,
    struct uses *u)
{
	for (; n; n = n->next) {
		struct use *use;

		if (n->type == N_TEXT)
			continue;
		if (u->n == u->cap) {
			u->cap = u->cap ? 2 * u->cap : 32;
			u->v = xreallocarray(u->v, u->cap, sizeof(*u->v));
		}
		use = &u->v[u->n++];
		*use = (struct use){ n->s, n->len, n->line,
		    n->type == N_SECTION || n->type == N_INVERTED, depth, 0 };
		for (int i = 0; i < depth; i++)
			if (around[i]->type == N_SECTION &&
			    around[i]->len == n->len &&
			    memcmp(around[i]->s, n->s, n->len) == 0)
				use->guarded = 1;
		/* Cannot overflow: the parser caps nesting. */
		around[depth] = n;
		uses_collect(n->body, around, depth + 1, u);
	}
}

/*
 * The tags of one template file, parsed as template_mail reads it: 0, or
 * -1 with "line N: why".  The uses point into data.
 */
static int
file_uses(const char *data, size_t len, int html, struct uses *u,
    char *err, size_t errlen)
{
	const struct node *around[TMPL_MAX_DEPTH + 1];
	struct node *root;
	const char *subj, *body;
	size_t slen;

	if (html) {
		if (parse_src(data, len, 1, &root, err, errlen) == -1)
			return -1;
		uses_collect(root, around, 0, u);
		nodes_free(root);
		return 0;
	}
	if (txt_split(data, len, &subj, &slen, &body, err, errlen) == -1 ||
	    parse_src(subj, slen, 1, &root, err, errlen) == -1)
		return -1;
	uses_collect(root, around, 0, u);
	nodes_free(root);
	if (parse_src(body, (size_t)(data + len - body), 3, &root, err,
	    errlen) == -1)
		return -1;
	uses_collect(root, around, 0, u);
	nodes_free(root);
	return 0;
}

/* What the shipped copies of NAME use, in any language, .txt and .html. */
static void
shipped_names(const struct tfile *shipped, const char *name,
    struct names *nm)
{
	char err[256];

	memset(nm, 0, sizeof(*nm));
	for (const struct tfile *f = shipped; f; f = f->next) {
		struct uses u = { 0 };

		if (strcmp(f->name, name) != 0 ||
		    file_uses(f->data, f->len, f->html, &u, err,
		    sizeof(err)) == -1) {
			free(u.v);
			continue;
		}
		nm->found = 1;
		for (size_t i = 0; i < u.n; i++) {
			char *s = xstrndup(u.v[i].s, u.v[i].len);
			struct strlist **l = u.v[i].sect ? &nm->sect : &nm->text;

			if (!strlist_has(*l, s))
				strlist_add(l, s);
			free(s);
		}
		free(u.v);
	}
	if (nm->found && strcmp(name, NOT_EVERY_MAIL) != 0)
		for (size_t i = 0; i < ARRAY_LEN(every_mail); i++)
			if (!strlist_has(nm->text, every_mail[i]))
				strlist_add(&nm->text, every_mail[i]);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c" from one or two lists, sorted, without repeats; caller
 * frees. */
static char *
names_str(const struct strlist *a, const struct strlist *b)
{
	const char **v = NULL;
	size_t n = 0, cap = 0;
	struct buf out;

	for (int k = 0; k < 2; k++)
		for (const struct strlist *l = k ? b : a; l; l = l->next) {
			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n++] = l->s;
		}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_str);
	buf_init(&out, 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (out.len > 300) {
			buf_adds(&out, ", ...");
			break;
		}
		buf_addf(&out, "%s%s", out.len ? ", " : "", v[i]);
	}
	free(v);
	if (out.len == 0)
		buf_adds(&out, "none");
	return buf_steal(&out);
}

struct check {
	template_report_fn	*report;
	void			*arg;
	int			 problems;
};

static void
problem(struct check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct check *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report)
		c->report(c->arg, line);
}

static void
problem_cb(void *arg, const char *line)
{
	problem(arg, "%s", line);
}

/* One template file: syntax, then (when nm is not NULL) its names. */
static void
check_file(struct check *c, const struct tfile *f, const struct names *nm)
{
	struct uses u = { 0 };
	char err[256], *allowed;
	const char *ext = f->html ? "html" : "txt";

	if (file_uses(f->data, f->len, f->html, &u, err, sizeof(err)) == -1) {
		problem(c, "%s: %s", f->path, err);
		goto done;
	}
	for (size_t i = 0; i < u.n; i++) {
		const struct use *s = &u.v[i];
		char *name = xstrndup(s->s, s->len);

		/* Only a section's item has a "." of its own. */
		if (!s->sect && strcmp(name, ".") == 0 && s->depth == 0)
			problem(c, "%s: line %d: {{.}} outside a section "
			    "(it stands for the item of a list)", f->path,
			    s->line);
		else if (nm == NULL)
			;
		else if (!s->sect && !strlist_has(nm->text, name) &&
		    !(s->guarded && strlist_has(nm->sect, name))) {
			allowed = names_str(nm->text, NULL);
			/* Set only sometimes ({{#lead}} in confirm), or not
			 * a text at all: only inside its own section can
			 * it be right. */
			if (strlist_has(nm->sect, name))
				problem(c, "%s: line %d: '%s' is not always "
				    "set, or not a text: %s.%s uses it only "
				    "as {{#%s}}...{{/%s}} (as text it can "
				    "use: %s)", f->path, s->line, name,
				    f->name, ext, name, name, allowed);
			else
				problem(c, "%s: line %d: unknown variable "
				    "'%s' (%s.%s can use: %s)", f->path,
				    s->line, name, f->name, ext, allowed);
			free(allowed);
		} else if (s->sect && !strlist_has(nm->sect, name) &&
		    !strlist_has(nm->text, name)) {
			allowed = names_str(nm->sect, nm->text);
			problem(c, "%s: line %d: unknown section '%s' (%s.%s "
			    "can use: %s)", f->path, s->line, name, f->name,
			    ext, allowed);
			free(allowed);
		}
		free(name);
	}
done:
	free(u.v);
}

/*
 * Read every template of dir into *list and check it against the shipped
 * directory; returns the number of problems.
 */
static int
check_dir(const char *dir, struct tfile **list, template_report_fn *report,
    void *arg)
{
	struct check c = { report, arg, 0 };
	const char *sdir = template_shipped_dir();
	struct tfile *shipped = NULL;
	struct stat st;

	*list = NULL;
	if (stat(dir, &st) == -1) {
		problem(&c, "%s: %s", dir, strerror(errno));
		return c.problems;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(&c, "%s: not a directory", dir);
		return c.problems;
	}
	(void)read_dir(dir, list, problem_cb, &c);
	/* The shipped texts are the measure of what leernet sets; they are
	 * not measured against themselves. */
	if (!same_dir(dir, sdir))
		(void)read_dir(sdir, &shipped, NULL, NULL);
	for (const struct tfile *f = *list; f; f = f->next) {
		struct names nm;

		shipped_names(shipped, f->name, &nm);
		check_file(&c, f, nm.found ? &nm : NULL);
		strlist_free(nm.text);
		strlist_free(nm.sect);
	}
	/* Without its Dutch text a mail cannot be written in any language. */
	for (const struct tfile *s = shipped; s; s = s->next) {
		const struct tfile *f;

		if (s->html || strcmp(s->lang, DEFAULT_LANG) != 0)
			continue;
		for (f = *list; f; f = f->next)
			if (!f->html && strcmp(f->lang, DEFAULT_LANG) == 0 &&
			    strcmp(f->name, s->name) == 0)
				break;
		if (f == NULL)
			problem(&c, "%s/%s/%s.txt: missing (copy it from %s)",
			    dir, DEFAULT_LANG, s->name, s->path);
	}
	tfiles_free(shipped);
	return c.problems;
}

int
template_check(const char *dir, template_report_fn *report, void *arg)
{
	struct tfile *list;
	int n = check_dir(dir, &list, report, arg);

	tfiles_free(list);
	return n;
}

/* The section names of one file, each once, in the order of their last
 * use; NULL when it does not parse (template_check reports that). */
static struct strlist *
file_sections(const struct tfile *f)
{
	struct uses u = { 0 };
	struct strlist *l = NULL;
	char err[256];

	if (file_uses(f->data, f->len, f->html, &u, err, sizeof(err)) == 0)
		for (size_t i = u.n; i-- > 0;) {
			char *name;

			if (!u.v[i].sect)
				continue;
			name = xstrndup(u.v[i].s, u.v[i].len);
			if (!strlist_has(l, name))
				strlist_add(&l, name);
			free(name);
		}
	free(u.v);
	return l;
}

int
template_notes(const char *dir, template_report_fn *report, void *arg)
{
	struct tfile *list = NULL, *shipped = NULL;
	int n = 0;

	if (!template_names_checked(dir))
		return 0;
	(void)read_dir(dir, &list, NULL, NULL);
	(void)read_dir(template_shipped_dir(), &shipped, NULL, NULL);
	for (const struct tfile *f = list; f; f = f->next) {
		const struct tfile *s;
		struct strlist *mine, *theirs, *l;
		struct buf line;

		for (s = shipped; s; s = s->next)
			if (s->html == f->html && strcmp(s->lang, f->lang) == 0 &&
			    strcmp(s->name, f->name) == 0)
				break;
		if (s == NULL)
			continue;
		mine = file_sections(f);
		theirs = file_sections(s);
		buf_init(&line, 0);
		for (l = theirs; l; l = l->next)
			if (!strlist_has(mine, l->s))
				buf_addf(&line, "%s{{#%s}}", line.len ? ", " : "",
				    l->s);
		if (line.len > 0) {
			char *text = buf_steal(&line);
			char *msg = xasprintf("%s: the shipped copy %s has %s, "
			    "this one not: a case it writes for is left out "
			    "(copy the part from there if that was not meant)",
			    f->path, s->path, text);

			if (report)
				report(arg, msg);
			n++;
			free(msg);
			free(text);
		} else
			buf_free(&line);
		strlist_free(mine);
		strlist_free(theirs);
	}
	tfiles_free(list);
	tfiles_free(shipped);
	return n;
}

int
template_dir_readable(const char *dir, char *err, size_t errlen)
{
	char *nl = xasprintf("%s/nl", dir);
	struct dirent *de;
	DIR *d;
	int ok = 0, e = ENOENT;

	if ((d = opendir(nl)) == NULL) {
		snprintf(err, errlen, "%s: %s", nl, strerror(errno));
		free(nl);
		return 0;
	}
	while (!ok && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char *path;
		FILE *fp;

		if (n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
			continue;
		path = xasprintf("%s/%s", nl, de->d_name);
		if ((fp = fopen(path, "r")) != NULL) {
			ok = 1;
			fclose(fp);
		} else
			e = errno;
		free(path);
	}
	closedir(d);
	if (!ok)
		snprintf(err, errlen, "%s: no readable NAME.txt: %s", nl,
		    strerror(e));
	free(nl);
	return ok;
}

int
template_names_checked(const char *dir)
{
	struct stat st;
	const char *sdir = template_shipped_dir();

	return !same_dir(dir, sdir) && stat(sdir, &st) == 0 &&
	    S_ISDIR(st.st_mode);
}

struct collect {
	char	*err;
	size_t	 errlen, used;
	int	 full;
};

static void
collect_line(void *arg, const char *line)
{
	struct collect *c = arg;
	size_t need = strlen(line) + (c->used ? 1 : 0);

	if (c->full)
		return;
	if (c->used + need + 5 > c->errlen) {
		/* Room for "\n..." is kept. */
		if (c->used + 4 < c->errlen)
			snprintf(c->err + c->used, c->errlen - c->used,
			    "%s...", c->used ? "\n" : "");
		c->full = 1;
		return;
	}
	snprintf(c->err + c->used, c->errlen - c->used, "%s%s",
	    c->used ? "\n" : "", line);
	c->used += need;
}

int
template_check_dir(const char *dir, char *err, size_t errlen)
{
	struct collect c = { err, errlen, 0, 0 };

	if (errlen > 0)
		*err = '\0';
	return template_check(dir, collect_line, &c) == 0 ? 0 : -1;
}

int
template_reload(const char *dir, template_report_fn *report, void *arg)
{
	struct tfile *list;

	if (check_dir(dir, &list, report, arg) > 0) {
		tfiles_free(list);
		return -1;
	}
	template_cache_clear();
	cache = list;
	strlist_add(&loaded, dir);
	return 0;
}
