/*
 * test_staff.c - the staff CSV parser: what HR systems and Excel write,
 * and what goes wrong in them.  Each case is a file, the rows it yields
 * and the lines it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "staff.h"
#include "util.h"

/* What a parse produced, as text: "email|name|school|function@line" per
 * good row and "line: reason" per bad one. */
struct got {
	struct buf	rows, bad, notes;
	int		stop_after;	/* stop after n rows (0: never) */
	int		nrows;
};

static int
on_row(const struct staff_entry *e, void *arg)
{
	struct got *g = arg;

	buf_addf(&g->rows, "%s|%s|%s|%s@%zu\n", e->email, e->name, e->school,
	    e->function, e->line);
	if (g->stop_after && ++g->nrows >= g->stop_after)
		return -1;
	return 0;
}

static void
on_bad(size_t line, const char *reason, void *arg)
{
	struct got *g = arg;

	buf_addf(&g->bad, "%zu: %s\n", line, reason);
}

static void
on_note(size_t line, const char *text, void *arg)
{
	struct got *g = arg;

	buf_addf(&g->notes, "%zu: %s\n", line, text);
}

static int
parse(const char *data, size_t len, struct got *g, size_t *good, size_t *bad)
{
	struct staff_cb cb = { on_row, on_bad, on_note, g };

	buf_init(&g->rows, 0);
	buf_init(&g->bad, 0);
	buf_init(&g->notes, 0);
	return staff_parse(data, len, &cb, good, bad);
}

static void
got_free(struct got *g)
{
	buf_free(&g->rows);
	buf_free(&g->bad);
	buf_free(&g->notes);
}

/* A literal and its length, NUL bytes included. */
#define LIT(s)	s, sizeof(s) - 1

static const struct good_case {
	const char	*name;
	const char	*csv;
	const char	*rows;
} good_cases[] = {
	{ "plain comma", "email,name,school\n"
	    "alice@school.test,Alice,De Regenboog\n",
	    "alice@school.test|Alice|De Regenboog|@2\n" },
	{ "function column, CRLF", "email,name,school,function\r\n"
	    "alice@school.test,Alice,De Regenboog,leerkracht\r\n"
	    "bob@school.test,Bob,De Wereld,ib'er\r\n",
	    "alice@school.test|Alice|De Regenboog|leerkracht@2\n"
	    "bob@school.test|Bob|De Wereld|ib'er@3\n" },
	{ "Excel: BOM, semicolons, Dutch names, no final newline",
	    "\xef\xbb\xbf" "E-mail;Naam;School;Functie\r\n"
	    "Alice@School.TEST;Alice Jansen;De Regenboog;leerkracht",
	    "alice@school.test|Alice Jansen|De Regenboog|leerkracht@2\n" },
	{ "columns in another order, extra column ignored",
	    "school,phone,name,email\nDe Wereld,06-1,Bob,bob@school.test\n",
	    "bob@school.test|Bob|De Wereld|@2\n" },
	{ "quoted fields with separators, quotes and spaces",
	    "email;name;school\n"
	    "\"bob@school.test\";\"Vries; Bob \"\"B\"\" de\";  \"A, B\"  \n",
	    "bob@school.test|Vries; Bob \"B\" de|A, B|@2\n" },
	{ "semicolon file with commas in names",
	    "email;name;school\nbob@school.test;Vries, Bob de;X\n",
	    "bob@school.test|Vries, Bob de|X|@2\n" },
	/* An HR export: the name in parts, the school as a location. */
	{ "voornaam, tussenvoegsel, achternaam",
	    "E-mailadres;Voornaam;Tussenvoegsel;Achternaam;Locatie\n"
	    "anne@school.test;Anne-Marie;van 't;Hof;De Regenboog\n"
	    "bob@school.test;Bob;;Jansen;De Wereld\n",
	    "anne@school.test|Anne-Marie van 't Hof|De Regenboog|@2\n"
	    "bob@school.test|Bob Jansen|De Wereld|@3\n" },
	/* Another title for a column already there is left unused (a
	 * note says so), and the first counts. */
	{ "two titles for one column, the name whole and in parts",
	    "E-mail;Naam;School;Voornaam;Roepnaam;Achternaam;Locatie;Mailadres\n"
	    "a@school.test;Anne de Wit;Noord;Anne;An;Wit;Zuid;x@y\n",
	    "a@school.test|Anne de Wit|Noord|@2\n" },
	{ "voornaam beside roepnaam",
	    "email;voornaam;roepnaam;achternaam;school\n"
	    "b@school.test;Robertus;Bob;Jansen;Noord\n",
	    "b@school.test|Robertus Jansen|Noord|@2\n" },
	{ "other common titles",
	    "E-mail adres,Volledige naam,Vestiging,Rol\n"
	    "c@school.test,Carol de Wit,Noord,ib'er\n",
	    "c@school.test|Carol de Wit|Noord|@2\n" },
	{ "tab separated", "email\tname\tschool\nc@school.test\tCarol\tX\n",
	    "c@school.test|Carol|X|@2\n" },
	{ "tab separated, quoted fields and an empty one",
	    "email\tname\tschool\tfunction\n\"c@school.test\"\t\"Carol\"\t\t"
	    "\"ib'er\"\n", "c@school.test|Carol||ib'er@2\n" },
	{ "blank lines and Excel's empty rows are skipped",
	    "email;name;school\n\n;;\r\na@school.test;A;S\n;;\n\n",
	    "a@school.test|A|S|@4\n" },
	{ "spaces trimmed, UTF-8 kept",
	    "email,name,school\n  a@school.test , Zoë Ünal ,  Ĳsselschool \n",
	    "a@school.test|Zoë Ünal|Ĳsselschool|@2\n" },
	{ "missing optional function field at the end",
	    "email,name,school,function\na@school.test,A,S\n",
	    "a@school.test|A|S|@2\n" },
	{ "trailing empty fields beyond the header",
	    "email;name;school\na@school.test;A;S;;;\n",
	    "a@school.test|A|S|@2\n" },
	{ "empty school is allowed", "email,name,school\na@school.test,A,\n",
	    "a@school.test|A||@2\n" },
	{ "old Mac line ends", "email,name,school\ra@school.test,A,S\r",
	    "a@school.test|A|S|@2\n" },
	{ "no header row: SPEC's columns in SPEC's order",
	    "Alice@school.test,Alice,De Regenboog\nbob@school.test,Bob,S\n",
	    "alice@school.test|Alice|De Regenboog|@1\n"
	    "bob@school.test|Bob|S|@2\n" },
	{ "no header row: the separator follows the address, not the most "
	    "frequent one", "a@school.test;Vries, Bob de;School, Noord\n"
	    "b@school.test;Bakker, An;X\n",
	    "a@school.test|Vries, Bob de|School, Noord|@1\n"
	    "b@school.test|Bakker, An|X|@2\n" },
	{ "no header row: tabs, names with commas, blank lines first",
	    "\r\n\t\t\r\n\"a@school.test\"\tVries, Bob, de\tS\r\n",
	    "a@school.test|Vries, Bob, de|S|@3\n" },
	{ "no header row after Excel's sep= line",
	    "sep=;\r\na@school.test;A, B;S\r\n", "a@school.test|A, B|S|@2\n" },
	{ "a header whose first column names an address is a header",
	    "contact (x@school.test),email,name,school\n"
	    "Jan,a@school.test,A,S\n", "a@school.test|A|S|@2\n" },
	{ "AFAS's headers: Voorvoegsel, Werk e-mailadres, Organisatie-eenheid",
	    "Werk e-mailadres;Voornaam;Voorvoegsel;Achternaam;"
	    "Organisatie-eenheid\n"
	    "piet@school.test;Piet;van;Dijk;De Klimop\n",
	    "piet@school.test|Piet van Dijk|De Klimop|@2\n" },
	{ "no header row, with function, semicolons",
	    "\xef\xbb\xbf" "a@school.test;Ann;S;ib'er\r\nb@school.test;Bo;S;\r\n",
	    "a@school.test|Ann|S|ib'er@1\nb@school.test|Bo|S|@2\n" },
};

static void
test_good_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct got g = { 0 };
		size_t good, bad;
		int rc = parse(c->csv, strlen(c->csv), &g, &good, &bad);

		if (rc != 0 || bad != 0 || strcmp(buf_str(&g.rows), c->rows)) {
			print_error("case '%s': rc %d, bad %zu\nrows:\n%s"
			    "wanted:\n%s\nreports:\n%s", c->name, rc, bad,
			    buf_str(&g.rows), c->rows, buf_str(&g.bad));
			fail();
		}
		got_free(&g);
	}
}

static const struct bad_case {
	const char	*name;
	const char	*csv;
	size_t		 len;		/* 0: strlen */
	const char	*rows;		/* the good rows kept */
	const char	*bad;		/* "line: start of reason" per line */
	size_t		 nbad;
} bad_cases[] = {
	{ "bad address, good rows kept", "email,name,school\n"
	    "a@school.test,A,S\nnot-an-address,B,S\nc@school.test,C,S\n", 0,
	    "a@school.test|A|S|@2\nc@school.test|C|S|@4\n",
	    "3: \"not-an-address\" is not a mail address\n", 1 },
	{ "addresses that are not", "email,name,school\n"
	    "a@b,A,S\n@school.test,B,S\nc@@school.test,C,S\n"
	    "d e@school.test,D,S\ne@school..test,E,S\n.f@school.test,F,S\n"
	    "g@-school.test,G,S\n", 0, "",
	    "2: \"a@b\" is not a mail address\n"
	    "3: \"@school.test\" is not a mail address\n"
	    "4: \"c@@school.test\" is not a mail address\n"
	    "5: \"d e@school.test\" is not a mail address\n"
	    "6: \"e@school..test\" is not a mail address\n"
	    "7: \".f@school.test\" is not a mail address\n"
	    "8: \"g@-school.test\" is not a mail address\n", 7 },
	{ "empty address and name", "email,name,school\n,A,S\nb@school.test,,S\n",
	    0, "", "2: no email address\n3: no name for b@school.test\n", 2 },
	{ "too many fields (comma in a comma file)", "email,name,school\n"
	    "a@school.test,Vries, de,S\nb@school.test,B,S\n", 0,
	    "b@school.test|B|S|@3\n",
	    "2: 4 fields, but the header has 3 columns (a value holding a ',' "
	    "needs quotes around it)\n", 1 },
	{ "too few fields", "email;name;school\na@school.test;A\n"
	    "b@school.test,B,S\n", 0, "",
	    "2: 2 fields, but the header has 3 columns\n"
	    "3: 1 field, but the header has 3 columns\n", 2 },
	{ "no header row: a short row and a long one",
	    "a@school.test,A,S\nb@school.test,B\nc@school.test,Vries, de,S,X\n"
	    "d@school.test,D,S,ib'er\n", 0,
	    "a@school.test|A|S|@1\nd@school.test|D|S|ib'er@4\n",
	    "2: 2 fields, but without a header row the columns are "
	    "email,name,school[,function]\n"
	    "3: 5 fields, but the file (email,name,school,function; no header "
	    "row) has 4 columns (a value holding a ',' needs quotes around it)\n",
	    2 },
	{ "no header row, too few and too many columns",
	    "alice@school.test,Alice\nbob@school.test,Bob,S,leerkracht,06-1\n"
	    "carol@school.test,Carol,S\n", 0, "carol@school.test|Carol|S|@3\n",
	    "1: 2 fields, but without a header row the columns are "
	    "email,name,school[,function]\n"
	    "2: 5 fields, but the file (email,name,school,function; no header "
	    "row) has 4 columns (a value holding a ',' needs quotes around it)\n",
	    2 },
	{ "no header row, the first row broken: only it is skipped",
	    "a@school.test,Alice \"Al\" Smith,S\nb@school.test,B,S\n", 0,
	    "b@school.test|B|S|@2\n",
	    "1: a quote inside field 2, which is not quoted: put the whole "
	    "field in quotes and write the quote twice (\"\")\n", 1 },
	{ "stray quote in an unquoted field", "email,name,school\n"
	    "a@school.test,Jan \"Sjonnie\" Jansen,S\nb@school.test,B,S\n", 0,
	    "b@school.test|B|S|@3\n",
	    "2: a quote inside field 2, which is not quoted: put the whole "
	    "field in quotes and write the quote twice (\"\")\n", 1 },
	{ "text after a closing quote", "email,name,school\n"
	    "a@school.test,\"Jan\" Jansen,S\nb@school.test,B,S\n", 0,
	    "b@school.test|B|S|@3\n",
	    "2: text after the closing quote of field 2\n", 1 },
	{ "quote never closed eats the rest, rows before kept",
	    "email,name,school\na@school.test,A,S\nb@school.test,\"B,S\n"
	    "c@school.test,C,S\n", 0, "a@school.test|A|S|@2\n",
	    "3: the quote opened on line 3 is never closed\n", 1 },
	{ "a line break inside a quoted name", "email,name,school\n"
	    "a@school.test,\"A\nBcc: x@evil.test\",S\nb@school.test,B,S\n", 0,
	    "b@school.test|B|S|@4\n",
	    "2: the name contains a line break or a control character\n", 1 },
	{ "control characters", "email,name,school\n"
	    "a@school.test,A\x1b[31m,S\nb@school.test,B,S\x7f\n", 0, "",
	    "2: the name contains a line break or a control character\n"
	    "3: the school contains a line break or a control character\n", 2 },
	{ "latin-1 from Excel's plain CSV", "email;name;school\n"
	    "a@school.test;\xe9l\xe8ve;S\nb@school.test;B;Caf\xc3\xa9\n", 0,
	    "b@school.test|B|Café|@3\n",
	    "2: the name is not UTF-8 text (in Excel: save as \"CSV UTF-8\")\n",
	    1 },
	{ "overlong UTF-8 and a NUL byte", LIT("email,name,school\n"
	    "a@school.test,\xc0\xaf,S\nb@school.test,B\0x,S\n"), "",
	    "2: the name is not UTF-8 text (in Excel: save as \"CSV UTF-8\")\n"
	    "3: the name is not UTF-8 text (in Excel: save as \"CSV UTF-8\")\n",
	    2 },
};

static void
test_bad_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct got g = { 0 };
		size_t good, bad;
		int rc = parse(c->csv, c->len ? c->len : strlen(c->csv), &g,
		    &good, &bad);

		if (rc != 0 || bad != c->nbad || strcmp(buf_str(&g.rows),
		    c->rows) || strcmp(buf_str(&g.bad), c->bad)) {
			print_error("case '%s': rc %d, bad %zu (want %zu)\n"
			    "rows:\n%swanted:\n%s\nreports:\n%swanted:\n%s",
			    c->name, rc, bad, c->nbad, buf_str(&g.rows),
			    c->rows, buf_str(&g.bad), c->bad);
			fail();
		}
		got_free(&g);
	}
}

static const struct header_case {
	const char	*name;
	const char	*csv;
	size_t		 len;
	const char	*bad;
} header_cases[] = {
	{ "empty file", "", 0, "1: the file is empty; write one person per "
	    "line: email,name,school[,function], under a header row naming "
	    "those columns or without one\n" },
	{ "only a BOM and blank lines", "\xef\xbb\xbf\r\n\r\n", 0,
	    "1: the file is empty; write one person per line: "
	    "email,name,school[,function], under a header row naming "
	    "those columns or without one\n" },
	{ "missing school", "email,name\na@school.test,A\n", 0,
	    "1: the first line must name the columns "
	    "email,name,school[,function], or be the first person with those "
	    "columns in that order; found \"email,name\", with no column for "
	    "the school (school or locatie)\n" },
	/* Shown with the file's own separator. */
	{ "neither a header nor a person", "Alice;alice@school.test;S\n", 0,
	    "1: the first line must name the columns "
	    "email,name,school[,function], or be the first person with those "
	    "columns in that order; found \"Alice;alice@school.test;S\", with "
	    "no column for the email address, the name (naam, or voornaam and "
	    "achternaam) and the school (school or locatie)\n" },

	{ "column twice", "email,name,school,Email\n", 0,
	    "1: the header names the column email twice\n" },
	{ "UTF-16 from Excel's Unicode text", LIT("\xff\xfe" "e\0m\0"),
	    "1: the file is UTF-16; save it as \"CSV UTF-8\"\n" },
	{ "broken quote in the header", "\"email,name,school\n", 0,
	    "1: the quote opened on line 1 is never closed\n" },
};

static void
test_bad_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		struct got g = { 0 };
		size_t good, bad;
		int rc = parse(c->csv, c->len ? c->len : strlen(c->csv), &g,
		    &good, &bad);

		if (rc != -1 || good != 0 || strcmp(buf_str(&g.bad), c->bad)) {
			print_error("case '%s': rc %d\nreports:\n%swanted:\n%s",
			    c->name, rc, buf_str(&g.bad), c->bad);
			fail();
		}
		got_free(&g);
	}
}

static void
test_delimiter(void **state)
{
	(void)state;
	assert_int_equal(staff_delimiter("email,name,school", 17), ',');
	assert_int_equal(staff_delimiter("email;name;school", 17), ';');
	assert_int_equal(staff_delimiter("email\tname\tschool", 17), '\t');
	/* Only the first line, and not inside quotes. */
	assert_int_equal(staff_delimiter("\"a;b;c\",d,e\nx;y;z;w", 20), ',');
	assert_int_equal(staff_delimiter("email;name,x;school", 19), ';');
	assert_int_equal(staff_delimiter("", 0), ',');
}

static void
test_callback_stops(void **state)
{
	static const char csv[] = "email,name,school\na@school.test,A,S\n"
	    "b@school.test,B,S\nc@school.test,C,S\n";
	struct got g = { 0 };
	size_t good, bad;

	(void)state;
	g.stop_after = 1;
	assert_int_equal(parse(csv, strlen(csv), &g, &good, &bad), -2);
	assert_string_equal(buf_str(&g.rows), "a@school.test|A|S|@2\n");
	got_free(&g);
}

static void
test_long_values(void **state)
{
	struct buf csv;
	struct got g = { 0 };
	size_t good, bad;

	(void)state;
	buf_init(&csv, 0);
	buf_adds(&csv, "email,name,school\n");
	buf_adds(&csv, "a@school.test,");
	for (int i = 0; i < 100000; i++)
		buf_addc(&csv, 'x');
	buf_adds(&csv, ",S\nb@school.test,");
	for (int i = 0; i < STAFF_FIELD_MAX; i++)
		buf_addc(&csv, 'y');
	buf_adds(&csv, ",S\n");
	/* Many fields in one row. */
	buf_adds(&csv, "c@school.test,C");
	for (int i = 0; i < 5000; i++)
		buf_addc(&csv, ',');
	buf_adds(&csv, "\n");
	assert_int_equal(parse(csv.data, csv.len, &g, &good, &bad), 0);
	assert_int_equal(good, 1);
	assert_int_equal(bad, 2);
	assert_string_equal(buf_str(&g.bad),
	    "2: the name is longer than 256 bytes\n4: more than 32 fields\n");
	got_free(&g);
	buf_free(&csv);
}

/*
 * An address twice, in any case (someone at two schools in an HR export):
 * the first row counts and the second is a note, no bad row: a nightly
 * import must not fail, nor --replace refuse a file holding the address.
 */
static void
test_duplicate_address(void **state)
{
	static const char csv[] = "email,name,school\n"
	    "a@school.test,A,S1\nA@School.Test,A,S2\nb@school.test,B,S\n";
	struct got g = { 0 };
	size_t good, bad;

	(void)state;
	assert_int_equal(parse(csv, strlen(csv), &g, &good, &bad), 0);
	assert_int_equal(good, 2);
	assert_int_equal(bad, 0);
	assert_string_equal(buf_str(&g.rows),
	    "a@school.test|A|S1|@2\nb@school.test|B|S|@4\n");
	assert_string_equal(buf_str(&g.bad), "");
	assert_string_equal(buf_str(&g.notes), "3: a@school.test is already "
	    "on line 2; that row counts, this one is left out\n");
	got_free(&g);
}

/* Thousands of rows: all read, the duplicate set holds them all. */
static void
test_many_rows(void **state)
{
	struct buf csv;
	struct got g = { 0 };
	size_t good, bad;

	(void)state;
	buf_init(&csv, 0);
	buf_adds(&csv, "email;name;school\r\n");
	for (int i = 0; i < 20000; i++)
		buf_addf(&csv, "p%d@school.test;Person %d;School %d\r\n", i, i,
		    i % 40);
	buf_adds(&csv, "p17@school.test;Again;S\r\n");
	assert_int_equal(parse(csv.data, csv.len, &g, &good, &bad), 0);
	assert_int_equal(good, 20000);
	assert_int_equal(bad, 0);
	assert_string_equal(buf_str(&g.notes), "20002: p17@school.test is "
	    "already on line 19; that row counts, this one is left out\n");
	got_free(&g);
	buf_free(&csv);
}

static void
test_email_valid(void **state)
{
	static const char *const good[] = {
		"a@school.test", "first.last+tag@sub.school.nl",
		"o'brien@school.ie", "x_y-z@a-b.c0",
	};
	static const char *const bad[] = {
		"", "a", "a@", "@b.c", "a@b", "a@b.", "a@.b", "a..b@c.d",
		"a.@b.c", "a b@c.d", "a@b_c.d", "a@b.c-", "é@b.c", "a@b..c",
		"a\n@b.c", "a@b@c.d",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (!staff_email_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (staff_email_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
}

static void
test_excel_sep_line(void **state)
{
	struct got g = { 0 };
	size_t good, bad;

	(void)state;
	/* The delimiter is named, and the header follows on line 2. */
	assert_int_equal(parse(LIT("sep=,\r\nemail,name,school\r\n"
	    "a@school.test,Vries; A. de,S\r\n"), &g, &good, &bad), 0);
	assert_string_equal(buf_str(&g.rows),
	    "a@school.test|Vries; A. de|S|@3\n");
	assert_string_equal(buf_str(&g.bad), "");
	got_free(&g);
	assert_int_equal(parse(LIT("\xef\xbb\xbf\"sep=;\"\nemail;name;school\n"
	    "a@school.test;A, B;S\n"), &g, &good, &bad), 0);
	assert_string_equal(buf_str(&g.rows), "a@school.test|A, B|S|@3\n");
	got_free(&g);
	/* Only a whole line "sep=X" is the hint. */
	assert_int_equal(parse(LIT("sep=;;\nemail;name;school\n"), &g, &good,
	    &bad), -1);
	got_free(&g);
}

static void
test_windows_1252(void **state)
{
	/* Excel's "CSV (puntkomma-gescheiden)" in a Dutch Windows. */
	static const char cp[] = "email;naam;school\r\n"
	    "zoe@school.test;Zo\xeb \x80uro;Caf\xe9 \x84t Hoekje\x94\r\n";
	static const char utf8[] = "email;naam;school\r\n"
	    "zoe@school.test;Zoë €uro;Café „t Hoekje”\r\n";
	size_t len;
	int converted;
	char *out;

	(void)state;
	out = staff_to_utf8(cp, sizeof(cp) - 1, &len, &converted);
	assert_non_null(out);
	assert_true(converted);
	assert_string_equal(out, utf8);
	assert_int_equal(len, strlen(utf8));
	free(out);
	/* UTF-8 stays as it is. */
	out = staff_to_utf8(utf8, sizeof(utf8) - 1, &len, &converted);
	assert_non_null(out);
	assert_false(converted);
	assert_string_equal(out, utf8);
	free(out);
	/* UTF-16 is left to staff_parse, which names it. */
	out = staff_to_utf8("\xff\xfe" "e\0m\0", 6, &len, &converted);
	assert_non_null(out);
	assert_false(converted);
	assert_int_equal(len, 6);
	free(out);
	/* A UTF-8 BOM before Windows-1252 text is dropped, not read as
	 * "ï»¿" glued to the first column's name. */
	{
		static const char bom_cp[] = "\xef\xbb\xbf" "e-mail;naam\r\n"
		    "zoe@school.test;Zo\xeb\r\n";

		out = staff_to_utf8(bom_cp, sizeof(bom_cp) - 1, &len,
		    &converted);
		assert_non_null(out);
		assert_true(converted);
		assert_string_equal(out, "e-mail;naam\r\nzoe@school.test;Zoë\r\n");
		free(out);
	}
	/* 0x81 is no character in Windows-1252 either. */
	assert_null(staff_to_utf8("a;\x81\xe9", 4, &len, &converted));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_delimiter),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_duplicate_address),
		cmocka_unit_test(test_many_rows),
		cmocka_unit_test(test_email_valid),
		cmocka_unit_test(test_excel_sep_line),
		cmocka_unit_test(test_windows_1252),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
