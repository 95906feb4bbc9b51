/*
 * staff.c - the staff directory's CSV file (SPEC §2), read into rows;
 * cli_staff.c stores them.
 *
 * Exports come from HR systems and from Excel, which in a Dutch locale
 * separates fields with ';' and may start the file with a BOM.  A first
 * line naming the columns is usual; without one, SPEC's order holds.  Every
 * bad row gets one reason and is skipped; the good ones are handed on.
 */
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staff.h"
#include "util.h"

#define FIELDS_MAX	32		/* more in one row is no staff list */
#define SHOW_MAX	60		/* bytes of a value quoted in a reason */

/* The name may come whole or, as HR systems export it, in parts
 * (voornaam, tussenvoegsel, achternaam) joined in that order. */
enum col { COL_IGNORE, COL_EMAIL, COL_NAME, COL_SCHOOL, COL_FUNCTION,
	COL_FIRST, COL_INFIX, COL_LAST, COL__COUNT };

static const struct alias {
	const char	*name;
	enum col	 col;
} aliases[] = {
	{ "email", COL_EMAIL }, { "e-mail", COL_EMAIL },
	{ "emailadres", COL_EMAIL }, { "e-mailadres", COL_EMAIL },
	{ "e-mail adres", COL_EMAIL }, { "email adres", COL_EMAIL },
	{ "mailadres", COL_EMAIL }, { "email address", COL_EMAIL },
	{ "e-mail address", COL_EMAIL }, { "mail", COL_EMAIL },
	{ "name", COL_NAME }, { "naam", COL_NAME },
	{ "volledige naam", COL_NAME }, { "full name", COL_NAME },
	{ "weergavenaam", COL_NAME }, { "display name", COL_NAME },
	{ "school", COL_SCHOOL }, { "schoolnaam", COL_SCHOOL },
	{ "locatie", COL_SCHOOL }, { "vestiging", COL_SCHOOL },
	{ "function", COL_FUNCTION }, { "functie", COL_FUNCTION },
	{ "voornaam", COL_FIRST }, { "roepnaam", COL_FIRST },
	{ "first name", COL_FIRST }, { "tussenvoegsel", COL_INFIX },
	{ "tussenvoegsels", COL_INFIX }, { "achternaam", COL_LAST },
	{ "last name", COL_LAST }, { "surname", COL_LAST },
	/* AFAS, Youforce and the like. */
	{ "voorvoegsel", COL_INFIX }, { "voorvoegsels", COL_INFIX },
	{ "werk e-mailadres", COL_EMAIL }, { "e-mailadres werk", COL_EMAIL },
	{ "zakelijk e-mailadres", COL_EMAIL }, { "e-mail werk", COL_EMAIL },
	{ "organisatie-eenheid", COL_SCHOOL },
	{ "organisatieeenheid", COL_SCHOOL },
};

static const char *const col_names[] = {
	[COL_IGNORE] = "?", [COL_EMAIL] = "email", [COL_NAME] = "name",
	[COL_SCHOOL] = "school", [COL_FUNCTION] = "function",
	[COL_FIRST] = "first name", [COL_INFIX] = "name infix",
	[COL_LAST] = "last name",
};

/* ---- the CSV reader (RFC 4180, with ';' and bare LF/CR tolerated) ---- */

enum { REC_END = 0, REC_OK = 1, REC_BAD = -1, REC_FATAL = -2 };

struct reader {
	const char	*p, *end;
	size_t		 line;		/* of p */
	char		 delim;
};

struct record {
	struct buf	 f[FIELDS_MAX];
	int		 too_long[FIELDS_MAX];
	size_t		 n;
};

/* The length of the line end at p (CRLF, LF or CR), or 0. */
static size_t
eol_len(const char *p, const char *end)
{
	if (p >= end)
		return 0;
	if (*p == '\n')
		return 1;
	if (*p == '\r')
		return p + 1 < end && p[1] == '\n' ? 2 : 1;
	return 0;
}

static void
skip_line(struct reader *rd)
{
	while (rd->p < rd->end) {
		size_t n = eol_len(rd->p, rd->end);

		if (n > 0) {
			rd->p += n;
			rd->line++;
			return;
		}
		rd->p++;
	}
}

/* Keep at most STAFF_FIELD_MAX + 1 bytes: enough to say "too long". */
static void
field_add(struct record *r, size_t i, const char *p, size_t n)
{
	if (buf_add(&r->f[i], p, n) == -1)
		r->too_long[i] = 1;
}

/*
 * One record into r.  REC_OK, REC_END, REC_BAD (reason in err, the rest
 * of that line skipped) or REC_FATAL (an unclosed quote ate the file).
 */
static int
read_record(struct reader *rd, struct record *r, size_t *start, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < r->n; i++) {
		buf_reset(&r->f[i]);
		r->too_long[i] = 0;
	}
	r->n = 0;
	if (rd->p >= rd->end)
		return REC_END;
	*start = rd->line;
	for (;;) {
		const char *q = rd->p;
		size_t i, n;

		if (r->n == FIELDS_MAX) {
			snprintf(err, errlen, "more than %d fields", FIELDS_MAX);
			skip_line(rd);
			return REC_BAD;
		}
		i = r->n++;
		/* Spaces before an opening quote are layout, not data (a
		 * tab too, unless it separates the fields). */
		while (q < rd->end && (*q == ' ' || (*q == '\t' &&
		    rd->delim != '\t')))
			q++;
		if (q < rd->end && *q == '"') {
			size_t qline = rd->line;

			rd->p = q + 1;
			for (;;) {
				if (rd->p >= rd->end) {
					snprintf(err, errlen, "the quote opened "
					    "on line %zu is never closed", qline);
					return REC_FATAL;
				}
				if (*rd->p == '"') {
					if (rd->p + 1 < rd->end &&
					    rd->p[1] == '"') {
						field_add(r, i, "\"", 1);
						rd->p += 2;
						continue;
					}
					rd->p++;
					break;
				}
				if ((n = eol_len(rd->p, rd->end)) > 0) {
					field_add(r, i, rd->p, n);
					rd->p += n;
					rd->line++;
					continue;
				}
				field_add(r, i, rd->p++, 1);
			}
			while (rd->p < rd->end && (*rd->p == ' ' ||
			    (*rd->p == '\t' && rd->delim != '\t')))
				rd->p++;
			if (rd->p < rd->end && *rd->p != rd->delim &&
			    eol_len(rd->p, rd->end) == 0) {
				snprintf(err, errlen, "text after the closing "
				    "quote of field %zu", i + 1);
				skip_line(rd);
				return REC_BAD;
			}
		} else {
			while (rd->p < rd->end && *rd->p != rd->delim &&
			    eol_len(rd->p, rd->end) == 0) {
				if (*rd->p == '"') {
					snprintf(err, errlen, "a quote inside "
					    "field %zu, which is not quoted: put "
					    "the whole field in quotes and write "
					    "the quote twice (\"\")", i + 1);
					skip_line(rd);
					return REC_BAD;
				}
				field_add(r, i, rd->p++, 1);
			}
		}
		if (rd->p >= rd->end)
			return REC_OK;
		if (*rd->p == rd->delim) {
			rd->p++;
			continue;
		}
		rd->p += eol_len(rd->p, rd->end);
		rd->line++;
		return REC_OK;
	}
}

char
staff_delimiter(const char *line, size_t len)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;

	for (size_t i = 0; i < len && line[i] != '\n' && line[i] != '\r'; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (!quoted && line[i] == ',')
			comma++;
		else if (!quoted && line[i] == ';')
			semi++;
		else if (!quoted && line[i] == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

/* ---- checking values ---- */

static int
email_local_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL);
}

int
staff_email_valid(const char *s)
{
	const char *at = strchr(s, '@'), *d, *label;
	size_t len = strlen(s), dots = 0;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    len > 254 || at - s > 64)
		return 0;
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return 0;
	for (const char *p = s; p < at; p++)
		if (!email_local_char(*p >= 'A' && *p <= 'Z' ?
		    (char)(*p - 'A' + 'a') : *p))
			return 0;
	/* Domain: labels of letters, digits and inner hyphens, one dot or
	 * more. */
	for (d = label = at + 1;; d++) {
		char c = *d;

		if (c == '.' || c == '\0') {
			if (d == label || label[0] == '-' || d[-1] == '-' ||
			    d - label > 63)
				return 0;
			if (c == '\0')
				break;
			dots++;
			label = d + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return dots > 0;
}

/* Trim spaces and tabs in place; returns the start inside s. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* A value for a message: at most SHOW_MAX bytes, control bytes as '?'. */
static void
show(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < outlen && i < SHOW_MAX; i++)
		out[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    '?' : s[i];
	if (len > SHOW_MAX && n + 4 < outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* Why the value of column c cannot be used, or NULL. */
static const char *
value_problem(const struct buf *f, int too_long, enum col c, char *why,
    size_t whylen)
{
	const char *s = buf_str(f);

	if (too_long || f->len > STAFF_FIELD_MAX) {
		snprintf(why, whylen, "the %s is longer than %d bytes",
		    col_names[c], STAFF_FIELD_MAX);
		return why;
	}
	if (memchr(s, '\0', f->len) != NULL || !utf8_valid(s, f->len)) {
		snprintf(why, whylen, "the %s is not UTF-8 text (in Excel: "
		    "save as \"CSV UTF-8\")", col_names[c]);
		return why;
	}
	for (size_t i = 0; i < f->len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f) {
			snprintf(why, whylen, "the %s contains a line break or "
			    "a control character", col_names[c]);
			return why;
		}
	return NULL;
}

/* ---- addresses seen in this file: an open-addressing set ---- */

struct seen {
	char	**keys;
	size_t	 *lines;
	size_t	  cap, n;
};

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* The line an address was first seen on (0: new, now remembered). */
static size_t
seen_add(struct seen *st, const char *key, size_t line)
{
	size_t i;

	if (st->n * 2 >= st->cap) {
		struct seen bigger = { 0 };

		bigger.cap = st->cap ? st->cap * 2 : 1024;
		bigger.keys = xcalloc(bigger.cap, sizeof(*bigger.keys));
		bigger.lines = xcalloc(bigger.cap, sizeof(*bigger.lines));
		for (size_t k = 0; k < st->cap; k++) {
			if (st->keys[k] == NULL)
				continue;
			for (i = hash(st->keys[k]) % bigger.cap;
			    bigger.keys[i]; i = (i + 1) % bigger.cap)
				;
			bigger.keys[i] = st->keys[k];
			bigger.lines[i] = st->lines[k];
		}
		bigger.n = st->n;
		free(st->keys);
		free(st->lines);
		*st = bigger;
	}
	for (i = hash(key) % st->cap; st->keys[i]; i = (i + 1) % st->cap)
		if (strcmp(st->keys[i], key) == 0)
			return st->lines[i];
	st->keys[i] = xstrdup(key);
	st->lines[i] = line;
	st->n++;
	return 0;
}

static void
seen_free(struct seen *st)
{
	for (size_t i = 0; i < st->cap; i++)
		free(st->keys[i]);
	free(st->keys);
	free(st->lines);
}

/* ---- the file ---- */

struct parse {
	const struct staff_cb	*cb;
	char			 delim;
	enum col		 cols[FIELDS_MAX];
	size_t			 ncols;
	int			 no_header;	/* SPEC's columns, no header */
	struct seen		 seen;
};

static int
all_empty(const struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const char *s = buf_str(&r->f[i]);

		if (s[strspn(s, " \t")] != '\0')
			return 0;
	}
	return 1;
}

static int
header(struct parse *ps, struct record *r, size_t line)
{
	int have[COL__COUNT] = { 0 };
	const char *title[COL__COUNT] = { NULL };
	char why[512], found[SHOW_MAX * 2 + 8];
	struct buf names;

	buf_init(&names, 4096);
	for (size_t i = 0; i < r->n; i++) {
		static char none[] = "";
		char *name = r->f[i].data ? trim(r->f[i].data) : none;
		enum col c = COL_IGNORE;

		if (i > 0)
			buf_addc(&names, ps->delim);
		buf_adds(&names, name);
		str_lower(name);
		for (size_t k = 0; k < ARRAY_LEN(aliases); k++)
			if (strcmp(name, aliases[k].name) == 0)
				c = aliases[k].col;
		/* The same title twice cannot be told apart; another title
		 * for a column we have (Voornaam beside Roepnaam, Locatie
		 * beside School) is left unused, and the first one counts. */
		if (c != COL_IGNORE && have[c] && strcmp(title[c], name) == 0) {
			snprintf(why, sizeof(why), "the header names the "
			    "column %s twice", col_names[c]);
			ps->cb->bad(line, why, ps->cb->arg);
			buf_free(&names);
			return -1;
		}
		if (c != COL_IGNORE && have[c]) {
			show(found, sizeof(found), name, strlen(name));
			snprintf(why, sizeof(why), "column \"%s\" is not used: "
			    "\"%s\" is the %s", found, title[c], col_names[c]);
			if (ps->cb->note)
				ps->cb->note(line, why, ps->cb->arg);
			ps->cols[i] = COL_IGNORE;
			continue;
		}
		have[c] = 1;
		title[c] = name;
		ps->cols[i] = c;
		if (c == COL_IGNORE && *name != '\0' && ps->cb->note) {
			show(found, sizeof(found), name, strlen(name));
			snprintf(why, sizeof(why), "column \"%s\" is not used",
			    found);
			ps->cb->note(line, why, ps->cb->arg);
		}
	}
	ps->ncols = r->n;
	/* The name whole wins over its parts. */
	for (size_t i = 0; have[COL_NAME] && i < r->n; i++)
		if (ps->cols[i] == COL_FIRST || ps->cols[i] == COL_INFIX ||
		    ps->cols[i] == COL_LAST) {
			if (ps->cb->note) {
				snprintf(why, sizeof(why), "column \"%s\" is not "
				    "used: \"%s\" is the whole name",
				    title[ps->cols[i]], title[COL_NAME]);
				ps->cb->note(line, why, ps->cb->arg);
			}
			have[ps->cols[i]] = 0;
			ps->cols[i] = COL_IGNORE;
		}
	if (!have[COL_EMAIL] || (!have[COL_NAME] && !have[COL_LAST]) ||
	    !have[COL_SCHOOL]) {
		const char *missing[3];
		size_t nm = 0, used = 0;
		char list[160] = "";

		if (!have[COL_EMAIL])
			missing[nm++] = "the email address";
		if (!have[COL_NAME] && !have[COL_LAST])
			missing[nm++] = "the name (naam, or voornaam and "
			    "achternaam)";
		if (!have[COL_SCHOOL])
			missing[nm++] = "the school (school or locatie)";
		for (size_t i = 0; i < nm && used < sizeof(list); i++) {
			int w = snprintf(list + used, sizeof(list) - used,
			    "%s%s", i == 0 ? "" : i + 1 == nm ? " and " : ", ",
			    missing[i]);

			used += w > 0 ? (size_t)w : 0;
		}
		show(found, sizeof(found), buf_str(&names), names.len);
		snprintf(why, sizeof(why), "the first line must name the "
		    "columns email,name,school[,function], or be the first "
		    "person with those columns in that order; found \"%s\", "
		    "with no column for %s", found, list);
		ps->cb->bad(line, why, ps->cb->arg);
		buf_free(&names);
		return -1;
	}
	buf_free(&names);
	return 0;
}

/*
 * Check one data row and hand it on: 1 good, 0 bad (reported), 2 left out
 * with a note (an address twice), -1 stop.
 */
static int
row(struct parse *ps, struct record *r, size_t line)
{
	static char none[] = "";
	char *val[COL__COUNT] = { none, none, none, none, none, none, none,
	    none };
	char why[512], shown[SHOW_MAX * 2 + 8], whole[STAFF_FIELD_MAX + 1];
	struct staff_entry e;
	size_t first;

	if (r->n > ps->ncols) {
		for (size_t i = ps->ncols; i < r->n; i++) {
			const char *s = buf_str(&r->f[i]);

			if (s[strspn(s, " \t")] != '\0') {
				snprintf(why, sizeof(why), "%zu fields, but the "
				    "%s has %zu columns (a value holding "
				    "a '%c' needs quotes around it)", r->n,
				    ps->no_header ? "file (email,name,school,"
				    "function; no header row)" : "header",
				    ps->ncols, ps->delim);
				ps->cb->bad(line, why, ps->cb->arg);
				return 0;
			}
		}
	}
	for (size_t i = r->n; i < ps->ncols; i++)
		if (ps->cols[i] != COL_IGNORE && ps->cols[i] != COL_FUNCTION &&
		    ps->cols[i] != COL_INFIX) {
			if (ps->no_header)
				snprintf(why, sizeof(why), "%zu field%s, but "
				    "without a header row the columns are "
				    "email,name,school[,function]", r->n,
				    r->n == 1 ? "" : "s");
			else
				snprintf(why, sizeof(why), "%zu field%s, but "
				    "the header has %zu columns", r->n,
				    r->n == 1 ? "" : "s", ps->ncols);
			ps->cb->bad(line, why, ps->cb->arg);
			return 0;
		}
	for (size_t i = 0; i < r->n && i < ps->ncols; i++) {
		enum col c = ps->cols[i];

		if (c == COL_IGNORE)
			continue;
		if (value_problem(&r->f[i], r->too_long[i], c, why,
		    sizeof(why)) != NULL) {
			ps->cb->bad(line, why, ps->cb->arg);
			return 0;
		}
		val[c] = r->f[i].data ? trim(r->f[i].data) : none;
	}
	if (*val[COL_EMAIL] == '\0') {
		ps->cb->bad(line, "no email address", ps->cb->arg);
		return 0;
	}
	str_lower(val[COL_EMAIL]);
	if (!staff_email_valid(val[COL_EMAIL])) {
		show(shown, sizeof(shown), val[COL_EMAIL],
		    strlen(val[COL_EMAIL]));
		snprintf(why, sizeof(why), "\"%s\" is not a mail address",
		    shown);
		ps->cb->bad(line, why, ps->cb->arg);
		return 0;
	}
	if (*val[COL_NAME] == '\0' && *val[COL_LAST] != '\0') {
		/* "Anne-Marie" "van 't" "Hof": "Anne-Marie van 't Hof" */
		size_t n = 0;

		for (enum col c = COL_FIRST; c <= COL_LAST; c++) {
			size_t len = strlen(val[c]);

			if (len == 0)
				continue;
			if (n > 0 && n < STAFF_FIELD_MAX)
				whole[n++] = ' ';
			len = utf8_cut(val[c], len, STAFF_FIELD_MAX - n);
			memcpy(whole + n, val[c], len);
			n += len;
		}
		whole[n] = '\0';
		val[COL_NAME] = whole;
	}
	if (*val[COL_NAME] == '\0') {
		snprintf(why, sizeof(why), "no name for %s", val[COL_EMAIL]);
		ps->cb->bad(line, why, ps->cb->arg);
		return 0;
	}
	/* Someone at two schools is in an HR export twice: no bad row, or
	 * a nightly import would fail every night, and --replace would
	 * refuse the file while the address is in it. */
	if ((first = seen_add(&ps->seen, val[COL_EMAIL], line)) != 0) {
		snprintf(why, sizeof(why), "%s is already on line %zu; that "
		    "row counts, this one is left out", val[COL_EMAIL], first);
		if (ps->cb->note)
			ps->cb->note(line, why, ps->cb->arg);
		return 2;
	}
	e.email = val[COL_EMAIL];
	e.name = val[COL_NAME];
	e.school = val[COL_SCHOOL];
	e.function = val[COL_FUNCTION];
	e.line = line;
	return ps->cb->row(&e, ps->cb->arg) == -1 ? -1 : 1;
}

/* The delimiter of a first line "sep=X" (or "\"sep=X\""), or '\0'. */
static char
excel_sep(const char *data, size_t len)
{
	size_t q = len > 0 && data[0] == '"';
	const char *p = data + q;

	if (len < q + 5 || strncasecmp(p, "sep=", 4) != 0)
		return '\0';
	p += 4;
	if (*p == '\r' || *p == '\n')
		return '\0';
	if (q && (len < 7 || p[1] != '"'))
		return '\0';
	if ((size_t)(p + 1 + q - data) < len &&
	    eol_len(p + 1 + q, data + len) == 0)
		return '\0';
	return *p;
}

/*
 * Does the first line with content in [p, end) start with a mail address?
 * Then the file has no header row but SPEC's columns in SPEC's order, and
 * the character after the address is the separator (*delim; ',' when the
 * line is the address alone): no address holds ',', ';' or a tab, while
 * names often hold a comma ("Vries, Bob de").  Sets *line to its number
 * (first is the number of [p]).  A header naming its column
 * "E-mail (naam@school.nl)" starts with no valid address.
 */
static int
first_is_person(const char *p, const char *end, size_t first, char *delim,
    size_t *line)
{
	char addr[STAFF_FIELD_MAX + 1];
	const char *a;
	size_t n;
	int quoted;

	*line = first;
	/* Blank lines and Excel's empty rows (";;") are no content. */
	for (;;) {
		const char *q = p;

		while (q < end && *q != '\0' && strchr(" \t,;", *q) != NULL)
			q++;
		if (q >= end)
			return 0;
		if ((n = eol_len(q, end)) == 0)
			break;
		p = q + n;
		(*line)++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	quoted = p < end && *p == '"';
	a = p += quoted;
	while (p < end && *p != '\0' && strchr(",;\t \"\r\n", *p) == NULL)
		p++;
	if ((n = (size_t)(p - a)) == 0 || n > STAFF_FIELD_MAX)
		return 0;
	memcpy(addr, a, n);
	addr[n] = '\0';
	if (!staff_email_valid(addr))
		return 0;
	if (quoted && p < end && *p == '"')
		p++;
	while (p < end && *p == ' ')
		p++;
	if (p < end && strchr(",;\t", *p) != NULL)
		*delim = *p;
	else if (p >= end || eol_len(p, end) > 0)
		*delim = ',';
	else
		return 0;		/* "a@b.nl x": no address alone */
	return 1;
}

int
staff_parse(const char *data, size_t len, const struct staff_cb *cb,
    size_t *good, size_t *bad)
{
	struct parse ps = { 0 };
	struct reader rd;
	struct record *r = xcalloc(1, sizeof(*r));
	char err[256];
	size_t line = 1;
	int rc, got_header = 0, result = 0;
	char sep, after;

	*good = *bad = 0;
	ps.cb = cb;
	for (size_t i = 0; i < FIELDS_MAX; i++)
		buf_init(&r->f[i], STAFF_FIELD_MAX + 1);
	if (len >= 2 && (((unsigned char)data[0] == 0xff &&
	    (unsigned char)data[1] == 0xfe) || ((unsigned char)data[0] == 0xfe &&
	    (unsigned char)data[1] == 0xff))) {
		cb->bad(1, "the file is UTF-16; save it as \"CSV UTF-8\"",
		    cb->arg);
		result = -1;
		goto out;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	rd.p = data;
	rd.end = data + len;
	rd.line = 1;
	if ((sep = excel_sep(data, len)) != '\0') {
		/* Excel's "sep=;" names the delimiter; the header follows. */
		skip_line(&rd);
		rd.delim = ps.delim = sep;
	} else
		rd.delim = ps.delim = staff_delimiter(data, len);
	if (first_is_person(rd.p, rd.end, rd.line, &after, &line)) {
		ps.cols[0] = COL_EMAIL;
		ps.cols[1] = COL_NAME;
		ps.cols[2] = COL_SCHOOL;
		ps.cols[3] = COL_FUNCTION;
		ps.ncols = 4;
		ps.no_header = 1;
		if (sep == '\0')	/* else "sep=" said it */
			rd.delim = ps.delim = after;
		got_header = 1;
		if (cb->note)
			cb->note(line, "no header row: the columns are read as "
			    "email,name,school[,function]", cb->arg);
	}
	while ((rc = read_record(&rd, r, &line, err, sizeof(err))) != REC_END) {
		if (rc == REC_OK && all_empty(r))
			continue;
		if (!got_header) {
			if (rc != REC_OK || header(&ps, r, line) == -1) {
				if (rc != REC_OK)
					cb->bad(line, err, cb->arg);
				result = -1;
				break;
			}
			got_header = 1;
			continue;
		}
		if (rc == REC_BAD || rc == REC_FATAL) {
			cb->bad(line, err, cb->arg);
			(*bad)++;
			if (rc == REC_FATAL)
				break;
			continue;
		}
		if ((rc = row(&ps, r, line)) == -1) {
			result = -2;
			break;
		}
		if (rc == 1)
			(*good)++;
		else if (rc == 0)
			(*bad)++;
	}
	if (!got_header && result == 0) {
		cb->bad(1, "the file is empty; write one person per line: "
		    "email,name,school[,function], under a header row naming "
		    "those columns or without one", cb->arg);
		result = -1;
	}
out:
	for (size_t i = 0; i < FIELDS_MAX; i++)
		buf_free(&r->f[i]);
	free(r);
	seen_free(&ps.seen);
	return result;
}

char *
staff_to_utf8(const char *data, size_t len, size_t *outlen, int *converted)
{
	iconv_t cd;
	char *out, *in = (char *)(uintptr_t)data, *o;
	size_t inleft = len, cap = len * 3 + 1, oleft = cap;

	*converted = 0;
	/* UTF-16 is refused by staff_parse with a message of its own. */
	if (utf8_valid(data, len) || (len >= 2 &&
	    (((unsigned char)data[0] == 0xff && (unsigned char)data[1] == 0xfe) ||
	    ((unsigned char)data[0] == 0xfe && (unsigned char)data[1] == 0xff)))) {
		out = xmalloc(len + 1);
		memcpy(out, data, len);
		out[len] = '\0';
		*outlen = len;
		return out;
	}
	/* A UTF-8 BOM before Windows-1252 text (a header saved by one tool,
	 * the rows by Excel): the BOM is no text, and read as Windows-1252
	 * it would become "ï»¿" in front of the first column's name. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		in += 3;
		inleft -= 3;
	}
	if ((cd = iconv_open("UTF-8", "WINDOWS-1252")) == (iconv_t)-1)
		return NULL;
	/* One byte of Windows-1252 is at most three of UTF-8. */
	out = o = xmalloc(cap);
	if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1) {
		iconv_close(cd);
		free(out);
		return NULL;
	}
	iconv_close(cd);
	*outlen = cap - oleft;
	out[*outlen] = '\0';
	*converted = 1;
	return out;
}

char *
staff_address_of(const char *s)
{
	const char *lt = strchr(s, '<'), *gt;
	char *a, *t;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		a = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	else
		a = xstrdup(s);
	t = str_trim(a);
	memmove(a, t, strlen(t) + 1);
	/* "… wordt piet@school.nl." ends a sentence */
	for (size_t n = strlen(a); n > 0 && strchr(".,;:!?)", a[n - 1]); n--)
		a[n - 1] = '\0';
	str_lower(a);
	if (!staff_email_valid(a)) {
		free(a);
		return NULL;
	}
	return a;
}
