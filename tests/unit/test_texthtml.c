/*
 * test_texthtml.c - the HTML part made from a text part: a table of texts
 * and the body they must give, escaping and links, and random text that
 * must never produce markup of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "texthtml.h"
#include "util.h"

#define BODY_START	"<div style=\"max-width: 44em;\">\n"
#define BODY_END	"</div>\n</body>\n</html>\n"
#define PRE		"<pre style=\"font-family: Consolas, Menlo, " \
			"'DejaVu Sans Mono', monospace; font-size: 13px; " \
			"white-space: pre-wrap; margin: 0 0 1em 0;\">"
#define FOOTER_P	"<p style=\"color: #6b6b6b; font-size: 13px;\">"
#define HR		"<hr style=\"border: 0; border-top: 1px solid " \
			"#d0d0d0; margin: 1.5em 0 0.5em 0;\">\n"
#define QUOTE		"<blockquote style=\"margin: 0 0 1em 0; " \
			"padding-left: 0.8em; border-left: 3px solid " \
			"#c8c8c8; color: #555555;\">"

static const struct {
	const char	*text;
	const char	*body;		/* what is inside the <div> */
} cases[] = {
	{ "", "" },
	{ "\n\n  \n", "" },
	{ "Beste Ayşe,\n\nWelkom.\n",
	  "<p>Beste Ayşe,</p>\n<p>Welkom.</p>\n" },
	{ "Beste Ayşe,\r\n\r\nWelkom.\r\n",
	  "<p>Beste Ayşe,</p>\n<p>Welkom.</p>\n" },
	{ "een\ntwee\n", "<p>een<br>\ntwee</p>\n" },
	/* a wrapped paragraph flows; a short line or a colon keeps its break */
	{ "Je stuurt een opdracht als onderwerp (of als eerste regel) van een\n"
	  "mail aan lido. Een netwerk noem je bij zijn korte naam of titel.\n"
	  "Kort.\nNog een.\n",
	  "<p>Je stuurt een opdracht als onderwerp (of als eerste regel) van "
	  "een\nmail aan lido. Een netwerk noem je bij zijn korte naam of "
	  "titel.\nKort.<br>\nNog een.</p>\n" },
	{ "Dit zijn de bijeenkomsten die in de komende weken gepland staan:\n"
	  "een\n", "<p>Dit zijn de bijeenkomsten die in de komende weken "
	  "gepland staan:<br>\neen</p>\n" },
	/* sixty characters, not sixty bytes */
	{ "ëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëë\nx\n",
	  "<p>ëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëëë<br>\nx</p>\n" },
	{ "<script>alert('x')</script> & \"q\"",
	  "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
	  "&quot;q&quot;</p>\n" },
	/* controls vanish, tabs become blanks outside <pre> */
	{ "a\x01" "b\x7f" "c\td\x1b[0m", "<p>abc d[0m</p>\n" },
	/* an aligned table keeps its columns, without the common indent */
	{ "Opdrachten:\n  hulp        dit\n  netwerken   de lijst\n",
	  "<p>Opdrachten:</p>\n" PRE "hulp        dit\nnetwerken   de lijst"
	  "</pre>\n" },
	{ "  a\n    b\n", PRE "a\n  b</pre>\n" },
	/* indented "- item" lines are a list */
	{ "Deelnemers:\n  - ayse@school.nl\n  - Bob <b@x.nl>\n",
	  "<p>Deelnemers:</p>\n<ul>\n<li><a href=\"mailto:ayse@school.nl\">"
	  "ayse@school.nl</a></li>\n<li>Bob &lt;<a href=\"mailto:b@x.nl\">"
	  "b@x.nl</a>&gt;</li>\n</ul>\n" },
	/* items at the margin, continued by indented lines */
	{ "- Bijeenkomst 2\n  3 komen\n* Bijeenkomst 3\n",
	  "<ul>\n<li>Bijeenkomst 2<br>\n3 komen</li>\n"
	  "<li>Bijeenkomst 3</li>\n</ul>\n" },
	{ "- a\n  - a1\n- b\n",
	  "<ul>\n<li>a</li>\n<li>a1</li>\n<li>b</li>\n</ul>\n" },
	{ "\xe2\x80\xa2 punt\n", "<ul>\n<li>punt</li>\n</ul>\n" },
	/* headings */
	{ "Rekenen in groep 3\n==================\nNieuws\n",
	  "<h2 style=\"font-size: 18px; margin: 1.2em 0 0.4em 0;\">Rekenen in "
	  "groep 3</h2>\n<p>Nieuws</p>\n" },
	{ "Intro\nTaal\n----\n",
	  "<p>Intro</p>\n<h3 style=\"font-size: 16px; margin: 1.2em 0 0.4em "
	  "0;\">Taal</h3>\n" },
	{ "----\n", "<p>----</p>\n" },
	/* quotes */
	{ "> eerste\n>tweede\nantwoord\n",
	  QUOTE "eerste<br>\ntweede</blockquote>\n<p>antwoord</p>\n" },
	/* the signature */
	{ "Groet,\nLIDO\n\n--\nLIDO · lido@jl.nu\n",
	  "<p>Groet,<br>\nLIDO</p>\n" HR FOOTER_P "LIDO · <a "
	  "href=\"mailto:lido@jl.nu\">lido@jl.nu</a></p>\n" },
	{ "-- \nx\n", HR FOOTER_P "x</p>\n" },
	/* only the last "--" opens the signature */
	{ "a\n--\nb\n\n--\nc\n", "<p>a<br>\n--<br>\nb</p>\n" HR FOOTER_P
	  "c</p>\n" },
	{ "--\n--\n", "<p>--</p>\n" HR },
	/* links */
	{ "Zie https://intranet.jl.nu/leer?x=1&y=2.",
	  "<p>Zie <a href=\"https://intranet.jl.nu/leer?x=1&amp;y=2\">"
	  "https://intranet.jl.nu/leer?x=1&amp;y=2</a>.</p>\n" },
	{ "(zie http://a.nl/x)", "<p>(zie <a href=\"http://a.nl/x\">"
	  "http://a.nl/x</a>)</p>\n" },
	{ "https://a.nl/x_(y)", "<p><a href=\"https://a.nl/x_(y)\">"
	  "https://a.nl/x_(y)</a></p>\n" },
	{ "HTTPS://A.NL", "<p><a href=\"HTTPS://A.NL\">HTTPS://A.NL</a></p>\n" },
	{ "mailto:lido@jl.nu?subject=hulp",
	  "<p><a href=\"mailto:lido@jl.nu?subject=hulp\">"
	  "mailto:lido@jl.nu?subject=hulp</a></p>\n" },
	{ "Mail lido+rekenen@jl.nu.",
	  "<p>Mail <a href=\"mailto:lido+rekenen@jl.nu\">lido+rekenen@jl.nu"
	  "</a>.</p>\n" },
	/* no links */
	{ "javascript:alert(1)", "<p>javascript:alert(1)</p>\n" },
	/* what a sender wrote, echoed between quotes: no web link */
	{ "Geen netwerk \"http://evil.example/login\"; zie https://a.nl",
	  "<p>Geen netwerk &quot;http://evil.example/login&quot;; zie "
	  "<a href=\"https://a.nl\">https://a.nl</a></p>\n" },
	{ "\"piet@a.nl\" kan niet", "<p>&quot;<a href=\"mailto:piet@a.nl\">"
	  "piet@a.nl</a>&quot; kan niet</p>\n" },
	{ "xhttps://a.nl", "<p>xhttps://a.nl</p>\n" },
	{ "https://", "<p>https://</p>\n" },
	{ "a@b", "<p>a@b</p>\n" },
	{ "a@.nl b@c. @x.nl", "<p>a@.nl b@c. @x.nl</p>\n" },
	/* a quote cannot leave the attribute */
	{ "https://x.nl/\"onmouseover=alert(1)",
	  "<p><a href=\"https://x.nl/\">https://x.nl/</a>&quot;"
	  "onmouseover=alert(1)</p>\n" },
	{ "https://x.nl/'><script>",
	  "<p><a href=\"https://x.nl/\">https://x.nl/</a>&#39;&gt;&lt;"
	  "script&gt;</p>\n" },
};

static char *
body_of(const char *html)
{
	const char *s = strstr(html, BODY_START), *e;

	assert_non_null(s);
	s += strlen(BODY_START);
	e = strstr(s, BODY_END);
	assert_non_null(e);
	assert_string_equal(e, BODY_END);
	return xstrndup(s, (size_t)(e - s));
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *html = text_to_html(cases[i].text, "t", "nl");
		char *body = body_of(html);

		if (strcmp(body, cases[i].body) != 0)
			fail_msg("case %zu: %s\n  got:  %s\n  want: %s", i,
			    cases[i].text, body, cases[i].body);
		free(body);
		free(html);
	}
}

static void
test_document(void **state)
{
	char *html;

	(void)state;
	html = text_to_html("x", "Nieuws <uit> \"je\" netwerken", "en");
	assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
	assert_non_null(strstr(html, "<title>Nieuws &lt;uit&gt; &quot;je&quot; "
	    "netwerken</title>"));
	assert_non_null(strstr(html, "charset=UTF-8"));
	free(html);
	html = text_to_html(NULL, NULL, NULL);
	assert_non_null(strstr(html, "<html lang=\"nl\">"));
	assert_non_null(strstr(html, "<title></title>"));
	free(html);
	/* a language cannot break out of its attribute either */
	html = text_to_html("x", "t", "nl\"><script>");
	assert_null(strstr(html, "<script>"));
	free(html);
}

/* Every '<' in the output opens one of our own tags. */
static void
assert_only_our_tags(const char *html)
{
	static const char *const tags[] = { "<!DOCTYPE html>", "<html ",
	    "</html>", "<head>", "</head>", "<meta ", "<title>", "</title>",
	    "<body ", "</body>", "<div ", "</div>", "<p>", "<p ", "</p>",
	    "<br>", "<ul>", "</ul>", "<li>", "</li>", "<pre ", "</pre>",
	    "<blockquote ", "</blockquote>", "<h2 ", "</h2>", "<h3 ", "</h3>",
	    "<hr ", "<a href=\"", "</a>" };

	for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
		size_t i;

		for (i = 0; i < ARRAY_LEN(tags); i++)
			if (strncmp(p, tags[i], strlen(tags[i])) == 0)
				break;
		if (i == ARRAY_LEN(tags))
			fail_msg("stray markup at: %.40s", p);
	}
	for (const char *p = html; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			fail_msg("control character %#x in the output", *p);
}

static void
test_random_text(void **state)
{
	static const char alphabet[] = "<>&\"' \t\n\r-*=>ab@.:/()hptsmilo\x01";
	char text[200];

	(void)state;
	srand(42);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand() % (int)(sizeof(text) - 1));
		char *html;

		for (size_t i = 0; i < n; i++)
			text[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		text[n] = '\0';
		html = text_to_html(text, text, "nl");
		assert_only_our_tags(html);
		free(html);
	}
}

/* What a sender wrote, echoed in an answer: no link of theirs survives. */
static void
test_defang(void **state)
{
	static const struct { const char *in, *quotes, *plain; } c[] = {
		{ "rekenen", "rekenen", "rekenen" },
		{ "x\" https://evil.example/login \"y",
		  "x' [link] 'y", "x\" [link] \"y" },
		{ "CHEAP PILLS http://evil.example/buy", "CHEAP PILLS [link]",
		  "CHEAP PILLS [link]" },
		{ "zie www.evil.example nu", "zie [link] nu", "zie [link] nu" },
		{ "evil.example/login of taal.rekenen", "[link] of taal.rekenen",
		  "[link] of taal.rekenen" },
		{ "  twee  spaties\n", "  twee  spaties\n", "  twee  spaties\n" },
		{ "", "", "" },
	};
	static const struct { const char *name; int link; } n[] = {
		{ "Alice de Vries", 0 }, { "J.A. de Vries", 0 },
		{ "alice@school.test", 1 },	/* a domain: greet by address */
		{ "Visit evil.example now", 1 }, { "//evil.example now", 1 },
		{ "Log in op https://evil.example/login", 1 },
		{ "www.evil.example", 1 }, { "Jansen, P. (groep 7)", 0 },
		{ "J.Jansen", 0 }, { "Mr.Smith", 0 }, { "VISIT EVIL.COM", 1 },
		{ NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *q = text_defang(c[i].in, 1), *p = text_defang(c[i].in, 0);

		assert_string_equal(q, c[i].quotes);
		assert_string_equal(p, c[i].plain);
		free(q);
		free(p);
	}
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
		if (text_has_link(n[i].name) != n[i].link)
			fail_msg("%s: want %d", n[i].name ? n[i].name : "NULL",
			    n[i].link);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_random_text),
		cmocka_unit_test(test_defang),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
