/*
 * template.h - a small Mustache subset for the texts leernet sends:
 * {{var}} (HTML-escaped in HTML mode), {{{var}}} and {{&var}} (raw),
 * {{#section}}...{{/section}} (lists and booleans), {{^inverted}},
 * {{! comments }}, dotted names and {{.}}; standalone-line rules of the
 * Mustache spec.  No partials, no delimiter changes, no lambdas.
 *
 * Templates live in files: DIR/LANG/NAME.txt (text part, first line
 * "Subject: ..." then a blank line) and optionally DIR/LANG/NAME.html.
 * Lookup falls back from the asked language to "nl" (the default).
 * An unknown variable is an error, so a typo in a template is caught by the
 * tests rather than sent as an empty string.
 */
#ifndef LEERNET_TEMPLATE_H
#define LEERNET_TEMPLATE_H

#include <stddef.h>

struct buf;

/* The data a template is rendered with: a tree of string values, booleans
 * and lists of child contexts.  Names are copied. */
struct tvars;

struct tvars	*tvars_new(void);
void		 tvars_free(struct tvars *);	/* frees children too */
void		 tvars_set(struct tvars *, const char *name, const char *value);
void		 tvars_setf(struct tvars *, const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
void		 tvars_set_bool(struct tvars *, const char *name, int);
/* Append an item to list `name` (created on first use); the returned child
 * is owned by the parent.  Children see their parents' names too. */
struct tvars	*tvars_add_item(struct tvars *, const char *name);
/* A nested object {{name.key}}; owned by the parent. */
struct tvars	*tvars_child(struct tvars *, const char *name);
/*
 * Setting a name again replaces (and frees) what it held.  The name "."
 * holds a context's own value: tvars_set(item, ".", "Piet") makes a list
 * of plain strings for {{#names}}{{.}}{{/names}}.  A section over a name
 * that is not set is false (an empty list is a list nobody added to); a
 * non-empty string is true, "" is false.
 */

enum tmpl_escape { TMPL_TEXT = 0, TMPL_HTML = 1 };

/*
 * Render src (len bytes) with vars into out.  0 on success; -1 on a syntax
 * error or unknown variable, with "line N: reason" in err.
 */
int		 template_render(const char *src, size_t len,
		    const struct tvars *, enum tmpl_escape, struct buf *out,
		    char *err, size_t errlen);
/*
 * (Addition.)  template_render with strict = 0: an unknown variable
 * renders as "", as the Mustache spec wants.  For the spec tests only;
 * leernet's own texts are always rendered strict.
 */
int		 template_render_opts(const char *src, size_t len,
		    const struct tvars *, enum tmpl_escape, int strict,
		    struct buf *out, char *err, size_t errlen);

/* A rendered mail text: subject, text part and optional HTML part. */
struct rendered {
	char	*subject;
	char	*text;
	char	*html;		/* NULL when there is no .html template */
};

/*
 * Load DIR/LANG/NAME.{txt,html} (falling back to DIR/nl/...) and render.
 * 0 or -1 with a reason naming the file in err.  Free with rendered_free.
 * Template files are cached after their first read; template_cache_clear()
 * drops the cache (SIGHUP).
 */
int		 template_mail(const char *dir, const char *name, const char *lang,
		    const struct tvars *, struct rendered *, char *err, size_t errlen);
void		 rendered_free(struct rendered *);
void		 template_cache_clear(void);

#endif
