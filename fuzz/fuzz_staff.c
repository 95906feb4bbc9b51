/*
 * fuzz_staff.c - libFuzzer target for the staff directory an admin
 * imports (src/staff.c): whatever an HR system or Excel wrote, converted
 * to UTF-8 as `staff import` does, then parsed.  No crash, no leak, no
 * undefined behaviour; every good row is what staff.h promises (a valid
 * address in lower case, a name, valid UTF-8), every bad one has a
 * reason, and the counts add up.
 */
#include <string.h>

#include "fuzz.h"
#include "staff.h"
#include "util.h"

struct counts {
	size_t	rows, bad;
	size_t	last_line;
};

static int
on_row(const struct staff_entry *e, void *arg)
{
	struct counts *c = arg;
	const char *v[] = { e->email, e->name, e->school, e->function };

	must(staff_email_valid(e->email));
	for (const char *p = e->email; *p; p++)
		must(*p < 'A' || *p > 'Z');
	must(*e->name != '\0');
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		must(v[i] != NULL && strlen(v[i]) <= STAFF_FIELD_MAX);
		must(utf8_valid(v[i], strlen(v[i])));
	}
	must(e->line >= 1 && e->line > c->last_line);
	c->last_line = e->line;
	c->rows++;
	return 0;
}

static void
on_bad(size_t line, const char *reason, void *arg)
{
	struct counts *c = arg;

	must(line >= 1 && reason != NULL && *reason != '\0');
	c->bad++;
}

static void
on_note(size_t line, const char *text, void *arg)
{
	(void)arg;
	must(line >= 1 && text != NULL && *text != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct counts c = { 0 };
	struct staff_cb cb = { on_row, on_bad, on_note, &c };
	size_t len, good = 0, bad = 0;
	int converted, rc;
	char *text;

	if ((text = staff_to_utf8((const char *)data, size, &len,
	    &converted)) == NULL)
		return 0;
	rc = staff_parse(text, len, &cb, &good, &bad);
	must(rc == 0 || rc == -1);
	must(good == c.rows);
	/* A refused header is reported (through bad) but counts no row. */
	must(rc == -1 ? good == 0 && c.bad >= 1 : bad <= c.bad);
	free(text);
	return 0;
}
