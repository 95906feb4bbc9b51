/*
 * test_template.c - the Mustache spec (interpolation, sections, inverted,
 * comments; delimiters and partials must be refused), then our own rules:
 * strict names, syntax errors with line numbers, caps, and template files
 * with their language fallback and cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "template.h"
#include "util.h"

#include "mustache_spec.h"

static void
test_mustache_spec(void **state)
{
	int failed = 0, run = 0, skipped = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(mustache_cases); i++) {
		const struct mustache_case *c = &mustache_cases[i];
		struct tvars *v = tvars_new();
		struct buf out;
		char err[256] = "";
		int r;

		c->build(v);
		buf_init(&out, 0);
		r = template_render_opts(c->tmpl, strlen(c->tmpl), v,
		    TMPL_HTML, 0, &out, err, sizeof(err));
		if (c->expected != NULL &&
		    (r != 0 || strcmp(buf_str(&out), c->expected) != 0)) {
			print_error("%s: %s: got %d '%s' (%s), want '%s'\n",
			    c->file, c->name, r, buf_str(&out), err,
			    c->expected);
			failed++;
		}
		if (c->expected == NULL &&
		    (r != -1 || strstr(err, c->error) == NULL)) {
			print_error("%s: %s: got %d '%s', want error '%s'\n",
			    c->file, c->name, r, err, c->error);
			failed++;
		}
		run++;
		buf_free(&out);
		tvars_free(v);
	}
	for (size_t i = 0; mustache_skipped[i]; i++) {
		print_message("skipped: %s\n", mustache_skipped[i]);
		skipped++;
	}
	print_message("mustache spec: %d run, %d skipped, %d failed\n", run,
	    skipped, failed);
	assert_true(run > 130);
	assert_int_equal(failed, 0);
}

/* Render strictly; returns the output or the error (caller frees). */
static char *
render(const char *tmpl, const struct tvars *v, enum tmpl_escape esc,
    int *rv)
{
	struct buf out;
	char err[256] = "";

	buf_init(&out, 0);
	*rv = template_render(tmpl, strlen(tmpl), v, esc, &out, err,
	    sizeof(err));
	if (*rv == -1) {
		assert_int_equal(out.len, 0);
		buf_free(&out);
		return xstrdup(err);
	}
	assert_true(err[0] == '\0');
	return buf_steal(&out);
}

static void
expect_ok(const char *tmpl, const struct tvars *v, enum tmpl_escape esc,
    const char *want)
{
	int rv;
	char *got = render(tmpl, v, esc, &rv);

	if (rv != 0)
		print_error("template '%s': %s\n", tmpl, got);
	assert_int_equal(rv, 0);
	assert_string_equal(got, want);
	free(got);
}

static void
expect_err(const char *tmpl, const struct tvars *v, const char *want)
{
	int rv;
	char *got = render(tmpl, v, TMPL_TEXT, &rv);

	if (rv != -1)
		print_error("template '%s' rendered as '%s'\n", tmpl, got);
	assert_int_equal(rv, -1);
	assert_string_equal(got, want);
	free(got);
}

static void
test_strict_names(void **state)
{
	struct tvars *v = tvars_new(), *n;

	(void)state;
	tvars_set(v, "naam", "Piet");
	n = tvars_child(v, "netwerk");
	tvars_set(n, "titel", "Rekenen");

	expect_ok("Hallo {{naam}}, {{netwerk.titel}}", v, TMPL_TEXT,
	    "Hallo Piet, Rekenen");
	expect_err("Hallo {{naam}},\n\nJe bent lid van {{netwerk}}.\n"
	    "{{netwerkk.titel}}\n", v,
	    "line 3: not a text variable 'netwerk'");
	expect_err("Hallo {{naam}},\n\nJe bent lid van {{netwerk.titel}}.\n"
	    "{{netwerkk.titel}}\n", v,
	    "line 4: unknown variable 'netwerkk.titel'");
	expect_err("{{netwerk.titl}}", v,
	    "line 1: unknown variable 'netwerk.titl'");
	expect_err("{{{nam}}}", v, "line 1: unknown variable 'nam'");
	expect_err("{{&nam}}", v, "line 1: unknown variable 'nam'");
	/* An unknown variable inside a section that is not rendered is not
	 * looked up; a missing section name is false. */
	expect_ok("[{{#leden}}{{nam}}{{/leden}}]", v, TMPL_TEXT, "[]");
	expect_ok("[{{^leden}}geen leden{{/leden}}]", v, TMPL_TEXT,
	    "[geen leden]");
	/* In a section the names of outer contexts stay visible. */
	expect_ok("{{#netwerk}}{{naam}}: {{titel}}{{/netwerk}}", v, TMPL_TEXT,
	    "Piet: Rekenen");
	/* Comments are never looked up; they end at the first "}}". */
	expect_ok("a{{! {{nam }}b", v, TMPL_TEXT, "ab");
	expect_ok("a{{! {{nam}} }}b", v, TMPL_TEXT, "a }}b");
	tvars_free(v);
}

static void
test_syntax_errors(void **state)
{
	struct tvars *v = tvars_new();

	(void)state;
	tvars_set_bool(v, "a", 1);
	tvars_set_bool(v, "b", 1);
	tvars_set(v, "x", "X");
	expect_err("abc {{x", v, "line 1: unterminated tag");
	expect_err("abc\n{{x}\n}", v, "line 2: unterminated tag");
	expect_err("a\n\n{{{x}}", v, "line 3: unterminated tag");
	expect_err("{{!\nnever closed\n", v, "line 1: unterminated tag");
	expect_err("tail {{", v, "line 1: unterminated tag");
	expect_err("one\n{{#a}}\ntwo\n", v, "line 2: section 'a' is not closed");
	expect_err("{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}\n", v,
	    "line 3: {{/a}} does not close 'b' opened on line 2");
	expect_err("x\n{{/a}}", v, "line 2: {{/a}} closes no section");
	expect_err("{{}}", v, "line 1: bad tag name ''");
	expect_err("{{a b}}", v, "line 1: bad tag name 'a b'");
	expect_err("{{a..b}}", v, "line 1: bad tag name 'a..b'");
	expect_err("{{.a}}", v, "line 1: bad tag name '.a'");
	expect_err("{{#}}{{/}}", v, "line 1: bad tag name ''");
	expect_err("x\n{{=<% %>=}}", v, "line 2: delimiters are not supported");
	expect_err("{{> header}}", v, "line 1: partials are not supported");
	expect_err("{{<parent}}{{/parent}}", v,
	    "line 1: template inheritance is not supported");
	/* Syntax is checked even where nothing is rendered. */
	expect_err("{{^a}}{{#a}}{{/b}}{{/a}}", v,
	    "line 1: {{/b}} does not close 'a' opened on line 1");
	/* A lone "}}" and single braces are text. */
	expect_ok("}} { } {x}", v, TMPL_TEXT, "}} { } {x}");
	tvars_free(v);
}

static void
test_escaping(void **state)
{
	struct tvars *v = tvars_new();

	(void)state;
	tvars_set(v, "x", "<a href='u'>&\"</a>");
	expect_ok("{{x}}|{{{x}}}|{{&x}}", v, TMPL_TEXT,
	    "<a href='u'>&\"</a>|<a href='u'>&\"</a>|<a href='u'>&\"</a>");
	expect_ok("{{x}}|{{{x}}}", v, TMPL_HTML,
	    "&lt;a href=&#39;u&#39;&gt;&amp;&quot;&lt;/a&gt;|"
	    "<a href='u'>&\"</a>");
	/* Template text itself is never escaped. */
	expect_ok("<b>&amp;</b>", v, TMPL_HTML, "<b>&amp;</b>");
	/* Values are not templates. */
	tvars_set(v, "x", "{{x}}");
	expect_ok("{{x}}", v, TMPL_HTML, "{{x}}");
	tvars_free(v);
}

static void
test_tvars(void **state)
{
	struct tvars *v = tvars_new(), *it;

	(void)state;
	tvars_set(v, "a", "1");
	tvars_set(v, "a", "2");			/* replaces */
	tvars_setf(v, "n", "%d leden, %s", 12, "3 scholen");
	tvars_set(v, "leeg", "");
	tvars_set(v, "null", NULL);
	tvars_set_bool(v, "ja", 1);
	tvars_set_bool(v, "nee", 0);
	expect_ok("{{a}} {{n}} [{{leeg}}{{null}}]", v, TMPL_TEXT,
	    "2 12 leden, 3 scholen []");
	expect_ok("{{#ja}}J{{/ja}}{{#nee}}N{{/nee}}{{^nee}}!N{{/nee}}"
	    "{{#leeg}}L{{/leeg}}{{^leeg}}!L{{/leeg}}{{#a}}A={{.}}{{/a}}",
	    v, TMPL_TEXT, "J!N!LA=2");
	expect_err("{{ja}}", v, "line 1: not a text variable 'ja'");

	/* A list of objects, then a list of plain strings. */
	for (int i = 1; i <= 3; i++) {
		it = tvars_add_item(v, "leden");
		tvars_setf(it, "naam", "lid%d", i);
		tvars_set_bool(it, "lead", i == 2);
	}
	expect_ok("{{#leden}}{{naam}}{{#lead}}*{{/lead}}({{a}}) {{/leden}}",
	    v, TMPL_TEXT, "lid1(2) lid2*(2) lid3(2) ");
	for (int i = 0; i < 2; i++)
		tvars_set(tvars_add_item(v, "namen"), ".", i ? "Ayşe" : "Jérôme");
	expect_ok("{{#namen}}<{{.}}>{{/namen}}", v, TMPL_TEXT,
	    "<Jérôme><Ayşe>");
	/* Replacing a list with a value frees the list. */
	tvars_set(v, "leden", "geen");
	expect_ok("{{leden}}", v, TMPL_TEXT, "geen");
	/* A bool set first becomes a list when items are added. */
	tvars_set_bool(v, "bijeenkomsten", 0);
	expect_ok("{{^bijeenkomsten}}geen{{/bijeenkomsten}}", v, TMPL_TEXT,
	    "geen");
	tvars_set(tvars_add_item(v, "bijeenkomsten"), "wanneer", "di");
	expect_ok("{{#bijeenkomsten}}{{wanneer}}{{/bijeenkomsten}}", v,
	    TMPL_TEXT, "di");
	/* tvars_child returns the same child twice. */
	tvars_set(tvars_child(v, "o"), "k1", "a");
	tvars_set(tvars_child(v, "o"), "k2", "b");
	expect_ok("{{o.k1}}{{o.k2}}", v, TMPL_TEXT, "ab");
	/* NULL vars: an empty context. */
	expect_ok("x{{^y}}!{{/y}}", NULL, TMPL_TEXT, "x!");
	tvars_free(v);
}

static void
test_caps(void **state)
{
	struct tvars *v = tvars_new(), *it;
	struct buf out, big;
	char err[256];
	int rv;
	char *got;

	(void)state;
	/* Source larger than 1 MiB. */
	buf_init(&big, 0);
	for (int i = 0; i < 70000; i++)
		buf_adds(&big, "0123456789abcdef");
	buf_init(&out, 0);
	rv = template_render(big.data, big.len, v, TMPL_TEXT, &out, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "template too large"));
	assert_int_equal(out.len, 0);

	/* Just under the cap, full of tags: fine. */
	buf_reset(&big);
	tvars_set(v, "x", "ab");
	for (int i = 0; i < 100000; i++)
		buf_adds(&big, "{{x}}.");
	rv = template_render(big.data, big.len, v, TMPL_TEXT, &out, err,
	    sizeof(err));
	assert_int_equal(rv, 0);
	assert_int_equal(out.len, 300000);
	buf_reset(&out);

	/* Nesting: 32 is allowed, 33 is not. */
	buf_reset(&big);
	for (int i = 0; i < 33; i++)
		buf_adds(&big, "{{#x}}");
	for (int i = 0; i < 33; i++)
		buf_adds(&big, "{{/x}}");
	rv = template_render(big.data, big.len, v, TMPL_TEXT, &out, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_string_equal(err, "line 1: sections nested deeper than 32");
	rv = template_render(big.data + 6, big.len - 12, v, TMPL_TEXT, &out,
	    err, sizeof(err));
	assert_int_equal(rv, 0);
	assert_int_equal(out.len, 0);

	/* Output: a list of 100 items times a 100 KB body passes 8 MiB. */
	for (int i = 0; i < 100; i++) {
		it = tvars_add_item(v, "items");
		tvars_set(it, "y", "y");
	}
	buf_reset(&big);
	buf_adds(&big, "head\n{{#items}}");
	for (int i = 0; i < 6400; i++)
		buf_adds(&big, "0123456789abcdef");
	buf_adds(&big, "{{/items}}");
	buf_adds(&out, "kept");
	rv = template_render(big.data, big.len, v, TMPL_TEXT, &out, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_string_equal(err, "line 2: output too large");
	assert_string_equal(buf_str(&out), "kept");	/* left as it was */
	buf_free(&out);

	/* Work: a list's section inside itself 8 times, writing nothing,
	 * is 100^8 renderings; it stops at the step cap. */
	buf_reset(&big);
	for (int i = 0; i < 8; i++)
		buf_adds(&big, "{{#items}}");
	for (int i = 0; i < 8; i++)
		buf_adds(&big, "{{/items}}");
	buf_init(&out, 0);
	rv = template_render(big.data, big.len, v, TMPL_TEXT, &out, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "too much work for one mail"));
	/* Three deep is a million steps: fine. */
	rv = template_render(big.data + 50, big.len - 100, v, TMPL_TEXT, &out,
	    err, sizeof(err));
	assert_int_equal(rv, 0);
	buf_free(&out);

	/* The caller's buffer cap counts too. */
	buf_init(&out, 10);
	rv = template_render("0123456789{{x}}", 15, v, TMPL_HTML, &out, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_string_equal(err, "line 1: output too large");
	assert_int_equal(out.len, 0);
	buf_free(&out);

	/* Error text is bounded: long names are cut. */
	got = render("{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}",
	    v, TMPL_TEXT, &rv);
	assert_int_equal(rv, -1);
	assert_true(strlen(got) < 80);
	free(got);
	buf_free(&big);
	tvars_free(v);
}

/* ---- template files ---- */

static char tmpdir[64];

static void
write_file(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static int
files_setup(void **state)
{
	char p[128];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/leernet-tmpl-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/nl", tmpdir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/en", tmpdir);
	mkdir(p, 0700);
	return 0;
}

static int
files_teardown(void **state)
{
	static const char *files[] = { "nl/welkom.txt", "nl/welkom.html",
	    "en/welkom.txt", "nl/kapot.txt", "nl/geensubject.txt",
	    "nl/geenleeg.txt", "nl/latin1.txt", "nl/crlf.txt",
	    "nl/kaal.txt", "nl", "en" };
	char p[256];

	(void)state;
	template_cache_clear();
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
		if (unlink(p) == -1)
			rmdir(p);
	}
	rmdir(tmpdir);
	return 0;
}

static void
test_template_mail(void **state)
{
	struct tvars *v = tvars_new();
	struct rendered r;
	char err[512];

	(void)state;
	tvars_set(v, "naam", "Jansen & <Zn>");
	tvars_set(v, "netwerk", "Rekenen\r\nBcc: x@y");
	write_file("nl/welkom.txt", "Subject: Welkom bij {{netwerk}}\n\n"
	    "Beste {{naam}},\n\nWelkom.\n");
	write_file("nl/welkom.html", "<p>Beste {{naam}},</p>\n");
	write_file("en/welkom.txt", "Subject: Welcome, {{naam}}\n\n"
	    "Dear {{naam}},\n");

	assert_int_equal(template_mail(tmpdir, "welkom", "nl", v, &r, err,
	    sizeof(err)), 0);
	/* The subject is one line whatever the variable held. */
	assert_string_equal(r.subject, "Welkom bij Rekenen  Bcc: x@y");
	assert_string_equal(r.text, "Beste Jansen & <Zn>,\n\nWelkom.\n");
	assert_string_equal(r.html, "<p>Beste Jansen &amp; &lt;Zn&gt;,</p>\n");
	rendered_free(&r);

	/* English has no HTML: no Dutch HTML under an English text. */
	assert_int_equal(template_mail(tmpdir, "welkom", "en", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Welcome, Jansen & <Zn>");
	assert_string_equal(r.text, "Dear Jansen & <Zn>,\n");
	assert_null(r.html);
	rendered_free(&r);

	/* Unknown language, and none: Dutch. */
	assert_int_equal(template_mail(tmpdir, "welkom", "de", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.text, "Beste Jansen & <Zn>,\n\nWelkom.\n");
	assert_non_null(r.html);
	rendered_free(&r);
	assert_int_equal(template_mail(tmpdir, "welkom", NULL, v, &r, err,
	    sizeof(err)), 0);
	assert_non_null(r.html);
	rendered_free(&r);

	/* The cache: a changed file is seen only after a clear. */
	write_file("nl/welkom.txt", "Subject: Nieuw\n\nNieuwe tekst\n");
	assert_int_equal(template_mail(tmpdir, "welkom", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Welkom bij Rekenen  Bcc: x@y");
	rendered_free(&r);
	template_cache_clear();
	assert_int_equal(template_mail(tmpdir, "welkom", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Nieuw");
	assert_string_equal(r.text, "Nieuwe tekst\n");
	rendered_free(&r);

	/* CRLF files and a file without a body. */
	write_file("nl/crlf.txt", "Subject:   Hoi {{naam}} \r\n\r\nA\r\nB\r\n");
	assert_int_equal(template_mail(tmpdir, "crlf", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Hoi Jansen & <Zn>");
	assert_string_equal(r.text, "A\r\nB\r\n");
	rendered_free(&r);
	write_file("nl/kaal.txt", "Subject: Alleen een onderwerp");
	assert_int_equal(template_mail(tmpdir, "kaal", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.text, "");
	rendered_free(&r);
	tvars_free(v);
}

static void
expect_mail_err(const char *name, const char *lang, const char *want_rel)
{
	struct tvars *v = tvars_new();
	struct rendered r;
	char err[512], want[512];

	tvars_set(v, "naam", "Piet");
	snprintf(want, sizeof(want), want_rel, tmpdir, tmpdir);
	assert_int_equal(template_mail(tmpdir, name, lang, v, &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_null(r.subject);
	assert_null(r.text);
	assert_null(r.html);
	tvars_free(v);
}

static void
test_template_mail_errors(void **state)
{
	(void)state;
	write_file("nl/kapot.txt", "Subject: Hallo {{naam}}\n\n"
	    "Beste {{naam}},\n\n{{#lijst}}\n{{naaam}}\n");
	write_file("nl/geensubject.txt", "Hallo {{naam}}\n\nTekst\n");
	write_file("nl/geenleeg.txt", "Subject: x\nTekst\n");
	write_file("nl/latin1.txt", "Subject: caf\xe9\n\nx\n");

	expect_mail_err("bestaatniet", "en",
	    "%s/en/bestaatniet.txt: no such template (nor "
	    "%s/nl/bestaatniet.txt)");
	expect_mail_err("bestaatniet", "nl",
	    "%s/nl/bestaatniet.txt: no such template");
	/* Line numbers count the Subject line and the blank line. */
	expect_mail_err("kapot", "en",
	    "%s/nl/kapot.txt: line 5: section 'lijst' is not closed");
	expect_mail_err("geensubject", "nl",
	    "%s/nl/geensubject.txt: line 1: expected \"Subject: ...\"");
	expect_mail_err("geenleeg", "nl",
	    "%s/nl/geenleeg.txt: line 2: expected an empty line after the "
	    "Subject line");
	expect_mail_err("latin1", "nl", "%s/nl/latin1.txt: not UTF-8 text");
	write_file("nl/kapot.txt", "Subject: Hallo {{naam}}\n\n"
	    "Beste {{naam}},\n\n{{naaam}}\n");
	template_cache_clear();
	expect_mail_err("kapot", "nl",
	    "%s/nl/kapot.txt: line 5: unknown variable 'naaam'");
	write_file("nl/kapot.txt", "Subject: Hallo {{nam}}\n\nx\n");
	template_cache_clear();
	expect_mail_err("kapot", "nl",
	    "%s/nl/kapot.txt: line 1: unknown variable 'nam'");
	/* Names that would leave the template directory. */
	expect_mail_err("../nl/welkom", "nl",
	    "bad template name '../nl/welkom' or language 'nl'");
	expect_mail_err("welkom", "../nl", "bad template name 'welkom' or "
	    "language '../nl'");
	expect_mail_err("", "nl", "bad template name '' or language 'nl'");
}

/* ---- checking an edited directory against the shipped one ---- */

static char root[64];

static void
put(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static const char help_nl[] = "Subject: Hulp bij {{org}}\n\n"
    "Beste {{to_name}},\n{{#is_coordinator}}\nJij bent coordinator."
    "\n{{/is_coordinator}}\n";

/* root/share/templates is what leernet came with, root/conf the copy an
 * administrator edits. */
static int
check_setup(void **state)
{
	static const char *dirs[] = { "share", "share/templates",
	    "share/templates/nl", "share/templates/en", "conf", "conf/nl",
	    "conf/en" };
	char p[128];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/leernet-check-XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		mkdir(p, 0700);
	}
	put("share/templates/nl/help.txt", help_nl);
	put("share/templates/en/help.txt", "Subject: Help\n\n"
	    "Dear {{to_name}}, {{keyword}}\n");
	put("share/templates/nl/status.txt", "Subject: {{title}}\n\n"
	    "{{#members}}\n- {{name}}\n{{/members}}\n"
	    "{{#lead}}Er is een trekker.{{/lead}}\n");
	put("conf/nl/help.txt", help_nl);
	put("conf/en/help.txt", "Subject: Help\n\nDear {{to_name}},\n");
	put("conf/nl/status.txt", "Subject: {{title}}\n\n{{title}}\n");
	/* An editor's backup is no template. */
	put("conf/nl/help.txt~", "{{#kapot");
	snprintf(p, sizeof(p), "%s/share", root);
	setenv("LEERNET_DATADIR", p, 1);
	return 0;
}

static int
check_teardown(void **state)
{
	char cmd[128];

	(void)state;
	template_cache_clear();
	unsetenv("LEERNET_DATADIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
expect_problems(const char *want)
{
	char dir[128], err[2048], exp[2048];

	snprintf(dir, sizeof(dir), "%s/conf", root);
	if (want == NULL) {
		assert_int_equal(template_check_dir(dir, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		return;
	}
	/* want: the problems with "%1$s" for the directory. */
	snprintf(exp, sizeof(exp), want, dir, dir, dir, dir);
	assert_int_equal(template_check_dir(dir, err, sizeof(err)), -1);
	assert_string_equal(err, exp);
}

static void
test_template_check(void **state)
{
	static const struct {
		const char *file, *text, *problems;
	} cases[] = {
		/* Names the shipped help uses, in either language, and the
		 * five every mail has. */
		{ "conf/nl/help.txt", "Subject: {{subject}} {{keyword}}\n\n"
		    "{{to_addr}} {{coordinator}}\n", NULL },
		{ "conf/nl/help.txt", "Subject: Hulp {{nonexistent_var}}\n\n"
		    "x\n", "%s/nl/help.txt: line 1: unknown variable "
		    "'nonexistent_var' (help.txt can use: coordinator, keyword, "
		    "org, subject, to_addr, to_name)" },
		{ "conf/nl/help.txt", "Subject: Hulp\n\nBeste {{to_name}},\n"
		    "{{#is_coordinator}}\nx\n", "%s/nl/help.txt: line 4: "
		    "section 'is_coordinator' is not closed" },
		{ "conf/nl/help.txt", "Hulp\n\nx\n", "%s/nl/help.txt: "
		    "line 1: expected \"Subject: ...\"" },
		{ "conf/nl/help.txt", "Subject: x\nx\n", "%s/nl/help.txt: "
		    "line 2: expected an empty line after the Subject line" },
		{ "conf/nl/help.txt", "Subject: x\n\n{{to_name}\n",
		    "%s/nl/help.txt: line 3: unterminated tag" },
		{ "conf/nl/help.txt", "Subject: x\n\n{{#is_coordinatr}}y"
		    "{{/is_coordinatr}}\n", "%s/nl/help.txt: line 3: unknown "
		    "section 'is_coordinatr' (help.txt can use: coordinator, "
		    "is_coordinator, keyword, org, subject, to_addr, to_name)" },
		/* A boolean is no text. */
		{ "conf/nl/help.txt", "Subject: x\n\n{{is_coordinator}}\n",
		    "%s/nl/help.txt: line 3: 'is_coordinator' is not always "
		    "set, or not a text: help.txt uses it only as "
		    "{{#is_coordinator}}...{{/is_coordinator}} (as text it can "
		    "use: coordinator, keyword, org, subject, to_addr, "
		    "to_name)" },
		/* Inside its own section a name that is set only sometimes
		 * is right; a list's item names only inside a section. */
		{ "conf/nl/status.txt", "Subject: {{title}}\n\n{{#lead}}"
		    "{{lead}}{{/lead}} {{#members}}{{name}}{{/members}}\n",
		    NULL },
		{ "conf/nl/status.txt", "Subject: x\n\n{{lead}} {{.}}\n",
		    "%s/nl/status.txt: line 3: 'lead' is not always set, or "
		    "not a text: status.txt uses it only as {{#lead}}..."
		    "{{/lead}} (as text it can use: coordinator, name, org, "
		    "subject, title, to_addr, to_name)\n"
		    "%s/nl/status.txt: line 3: {{.}} outside a section (it "
		    "stands for the item of a list)" },
		/* An HTML part is checked like the text. */
		{ "conf/en/help.html", "<p>{{to_name}} {{naam}}</p>\n",
		    "%s/en/help.html: line 1: unknown variable 'naam' "
		    "(help.html can use: coordinator, keyword, org, subject, "
		    "to_addr, to_name)" },
		/* No shipped copy: only the syntax is checked. */
		{ "conf/nl/eigen.txt", "Subject: {{wat_dan_ook}}\n\nx\n",
		    NULL },
		{ "conf/nl/eigen.txt", "Subject: x\n\n{{/y}}\n",
		    "%s/nl/eigen.txt: line 3: {{/y}} closes no section" },
	};
	char p[256], shipped[128];

	(void)state;
	expect_problems(NULL);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		put(cases[i].file, cases[i].text);
		expect_problems(cases[i].problems);
		snprintf(p, sizeof(p), "%s/%s", root, cases[i].file);
		assert_int_equal(unlink(p), 0);
		put("conf/nl/help.txt", help_nl);
		put("conf/nl/status.txt", "Subject: {{title}}\n\nx\n");
	}

	/* A text the shipped directory has and the copy lacks. */
	snprintf(p, sizeof(p), "%s/conf/nl/status.txt", root);
	assert_int_equal(unlink(p), 0);
	snprintf(shipped, sizeof(shipped), "%s/share/templates/nl/status.txt",
	    root);
	snprintf(p, sizeof(p), "%%s/nl/status.txt: missing (copy it from "
	    "%s)", shipped);
	expect_problems(p);

	/* The shipped directory itself: syntax only. */
	snprintf(p, sizeof(p), "%s/share/templates", root);
	assert_int_equal(template_check(p, NULL, NULL), 0);
	assert_int_equal(template_names_checked(p), 0);
	snprintf(p, sizeof(p), "%s/conf", root);
	assert_int_equal(template_names_checked(p), 1);
	snprintf(p, sizeof(p), "%s/nowhere", root);
	assert_int_equal(template_check(p, NULL, NULL), 1);
}

static void
test_template_fallback(void **state)
{
	struct tvars *v = tvars_new();
	struct rendered r;
	char dir[128], err[512], p[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf", root);
	tvars_set(v, "org", "LIDO");
	tvars_set(v, "to_name", "Piet");
	tvars_set_bool(v, "is_coordinator", 0);

	/* A broken edit: the teacher gets the shipped text. */
	put("conf/nl/help.txt", "Subject: Hulp {{nonexistent_var}}\n\nx\n");
	assert_int_equal(template_mail(dir, "help", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Hulp bij LIDO");
	assert_string_equal(r.text, "Beste Piet,\n");
	rendered_free(&r);
	/* Also for a text the edited directory lacks altogether. */
	put("share/templates/nl/nieuw.txt", "Subject: Nieuw\n\n{{org}}\n");
	assert_int_equal(template_mail(dir, "nieuw", "en", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.text, "LIDO\n");
	rendered_free(&r);

	/* Both broken: an error naming the edited file and why the
	 * shipped one failed too. */
	template_cache_clear();
	put("share/templates/nl/help.txt", "Subject: {{kapot}}\n\nx\n");
	assert_int_equal(template_mail(dir, "help", "nl", v, &r, err,
	    sizeof(err)), -1);
	snprintf(p, sizeof(p), "%s/nl/help.txt: line 1: unknown variable "
	    "'nonexistent_var'; the shipped copy fails too: %s/share/"
	    "templates/nl/help.txt: line 1: unknown variable 'kapot'", dir,
	    root);
	assert_string_equal(err, p);
	assert_null(r.text);

	/* The shipped directory has no second chance. */
	snprintf(p, sizeof(p), "%s/share/templates", root);
	assert_int_equal(template_mail(p, "help", "nl", v, &r, err,
	    sizeof(err)), -1);
	tvars_free(v);
}

static void
test_template_reload(void **state)
{
	struct tvars *v = tvars_new();
	struct rendered r;
	char dir[128], err[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf", root);
	tvars_set(v, "org", "LIDO");
	tvars_set(v, "to_name", "Piet");
	put("conf/nl/help.txt", "Subject: Eerste\n\n{{org}}\n");
	assert_int_equal(template_reload(dir, NULL, NULL), 0);
	/* A broken edit is refused: the checked texts stay in use, even
	 * the ones not rendered yet. */
	put("conf/nl/help.txt", "Subject: Tweede {{nonexistent_var}}\n\n"
	    "x\n");
	put("conf/nl/status.txt", "Subject: {{title}}\n\n{{#open}}\n");
	assert_int_equal(template_reload(dir, NULL, NULL), -1);
	assert_int_equal(template_mail(dir, "help", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Eerste");
	rendered_free(&r);
	tvars_set(v, "title", "Rekenen");
	assert_int_equal(template_mail(dir, "status", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.text, "Rekenen\n");
	rendered_free(&r);
	/* Fixed: the new text is used. */
	put("conf/nl/help.txt", "Subject: Derde\n\n{{org}}\n");
	put("conf/nl/status.txt", "Subject: {{title}}\n\nNieuw\n");
	assert_int_equal(template_reload(dir, NULL, NULL), 0);
	assert_int_equal(template_mail(dir, "help", "nl", v, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.subject, "Derde");
	rendered_free(&r);
	tvars_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mustache_spec),
		cmocka_unit_test(test_strict_names),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_tvars),
		cmocka_unit_test(test_caps),
		cmocka_unit_test_setup_teardown(test_template_mail,
		    files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_template_mail_errors,
		    files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_template_check,
		    check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_template_fallback,
		    check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_template_reload,
		    check_setup, check_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
