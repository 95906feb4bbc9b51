/*
 * staff.h - the staff directory: `leernet staff import FILE.csv`.
 *
 * The file is what an HR system or Excel exports: a header row naming the
 * columns email, name, school and optionally function (Dutch names too:
 * e-mail, naam, functie), then one person per row; a file whose first
 * line is already a person has them in that order.  UTF-8 with or
 * without a BOM (staff import converts Windows-1252); fields separated by
 * ',' or by ';' (Excel in a Dutch locale), detected from the first line
 * or named by Excel's first line "sep=;"; quoting as RFC 4180.  Bad rows
 * are reported and skipped; the good ones are kept.
 *
 * The parser is pure (bytes in, rows out through callbacks) so it can be
 * unit-tested and fuzzed; cli_staff.c does the file and the store.
 */
#ifndef LEERNET_STAFF_H
#define LEERNET_STAFF_H

#include <stddef.h>

#define STAFF_FIELD_MAX	256	/* bytes of one value */

/* One good row: trimmed, the address lower-cased and checked, every value
 * valid UTF-8 without control characters.  Borrowed for the callback. */
struct staff_entry {
	const char	*email;
	const char	*name;
	const char	*school;
	const char	*function;	/* "" when the file has no such column */
	size_t		 line;		/* where the row starts (1: the first) */
};

struct staff_cb {
	/* A good row; return -1 to stop reading. */
	int	(*row)(const struct staff_entry *, void *arg);
	/* A bad row (or a bad header, line 1): one clear reason. */
	void	(*bad)(size_t line, const char *reason, void *arg);
	/* A note that changes nothing (an ignored column). May be NULL. */
	void	(*note)(size_t line, const char *text, void *arg);
	void	*arg;
};

/*
 * Read a staff CSV from data[0..len).  *good and *bad count the rows.
 * Returns 0 when the file was read to its end, -1 when it has no usable
 * header (reported through bad), -2 when the row callback stopped it.
 */
int	staff_parse(const char *data, size_t len, const struct staff_cb *,
	    size_t *good, size_t *bad);

/* The delimiter of a header line (a first line that is a person has the
 * one after its address): ';' when it has more semicolons than
 * commas outside quotes (and tabs likewise), else ','. */
char	staff_delimiter(const char *line, size_t len);

/*
 * The file as UTF-8: a copy when it is UTF-8 already (or UTF-16, which
 * staff_parse refuses), else converted from Windows-1252, Excel's default
 * for "CSV" in a Dutch locale, with *converted set.  NULL when it is
 * neither.  Caller frees; *outlen excludes the terminating NUL.
 */
char	*staff_to_utf8(const char *data, size_t len, size_t *outlen,
	    int *converted);

/* A plausible mail address (local@domain.tld, ASCII, no spaces)? */
int	staff_email_valid(const char *);
/* "Name <a@b>", "a@b", "a@b." (a sentence's end) → "a@b", lower-cased;
 * NULL when it is no address.  Caller frees. */
char	*staff_address_of(const char *);

#endif
