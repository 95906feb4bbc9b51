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
 * When that fails and DIR is not template_shipped_dir(), the shipped copy
 * is rendered instead and the failure is logged as a warning once per
 * template until the cache is cleared: an administrator's slip must not
 * leave a teacher without an answer.  0, or -1 (the shipped copy failed
 * too, or there is none) with a reason naming the file in err.  Free with
 * rendered_free.
 * The first mail from a directory reads all of its templates into a cache;
 * template_cache_clear() drops the cache.
 */
int		 template_mail(const char *dir, const char *name, const char *lang,
		    const struct tvars *, struct rendered *, char *err, size_t errlen);
void		 rendered_free(struct rendered *);
void		 template_cache_clear(void);

/*
 * The templates leernet comes with, what `make install` copies:
 * $LEERNET_DATADIR/templates when that is set in the environment, else
 * LEERNET_DATADIR "/templates" as compiled in.  Static storage.
 */
const char	*template_shipped_dir(void);

/*
 * Check the templates in dir before they are used: every DIR/LANG/NAME.txt
 * and NAME.html must parse as template_mail reads it (the Subject line,
 * balanced sections, closed tags), and every name it uses must be one
 * leernet sets for NAME.  That is a name the shipped copy of NAME uses
 * (either language, .txt or .html: as text for {{x}}, either way for
 * {{#x}}), plus org, coordinator, to_name, to_addr and subject, which
 * every mail but list-footer has.  Names are checked by name only, not by
 * where they stand; the render-time fallback covers the rest.  Names are
 * not checked when dir is the shipped directory or there is no shipped
 * copy of NAME.  A DIR/nl/NAME.txt the shipped directory has and dir
 * lacks is a problem too.  Other files are ignored.
 *
 * Each problem is one line naming the file, e.g. "DIR/nl/help.txt: line 1:
 * unknown variable 'x' (help.txt can use: coordinator, org, ...)", passed
 * to report (which may be NULL).  Returns the number of problems.
 */
typedef void	 template_report_fn(void *arg, const char *problem);
int		 template_check(const char *dir, template_report_fn *report,
		    void *arg);
/* template_check with the problems in err, one per line, as many as fit
 * (then "..."): 0, or -1. */
int		 template_check_dir(const char *dir, char *err, size_t errlen);
/*
 * Notes, not problems: each DIR/LANG/NAME.{txt,html} that lacks a section
 * ({{#x}} or {{^x}}) its shipped counterpart has, one line per file, e.g.
 * "DIR/nl/close-done.txt: the shipped copy SHIPPED/nl/close-done.txt has
 * {{#unrecorded}}, this one not: ...".  An administrator's copy made
 * before an upgrade misses the cases a release added, silently.  Nothing
 * when names are not checked (template_names_checked).  Returns the
 * number of notes.
 */
int		 template_notes(const char *dir, template_report_fn *report,
		    void *arg);
/*
 * Can the mail texts be read at all?  For once, run and digest at start:
 * without them every message would fail in turn and stay in the inbox.
 * At least one DIR/nl/NAME.txt must open (nl is every text's fallback).
 * 1, or 0 with the reason in err.  What is in them is template_check's.
 */
int		 template_dir_readable(const char *dir, char *err, size_t errlen);
/* Whether template_check(dir) checks names: a shipped directory exists
 * and dir is not it. */
int		 template_names_checked(const char *dir);

/*
 * For SIGHUP: check dir as template_check does.  When it is clean its
 * templates, as read for the check, replace the cache (so what is sent is
 * what was checked) and 0 is returned.  Otherwise every problem goes to
 * report, the cache is left as it was, and -1 is returned.
 */
int		 template_reload(const char *dir, template_report_fn *report,
		    void *arg);

#endif
