/*
 * test_slug.c - slugs from titles, validity, near misses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slug.h"
#include "util.h"

static const struct {
	const char	*title;
	const char	*slug;
} from_title[] = {
	{ "Rekenen",				"rekenen" },
	{ "Rekenen in groep 3",			"rekenen-in-groep-3" },
	{ "  Rekenen -- in   groep 3!! ",	"rekenen-in-groep-3" },
	{ "Taal & Lezen",			"taal-lezen" },
	{ "Cultuureducatie (CKV)",		"cultuureducatie-ckv" },
	/* Dutch and European diacritics */
	{ "Créatief schrijven",			"creatief-schrijven" },
	{ "Ideeën delen",			"ideeen-delen" },
	{ "Naïef onderzoek",			"naief-onderzoek" },
	{ "Coöperatief leren",			"cooperatief-leren" },
	{ "Ĳsselmeer",				"ijsselmeer" },
	{ "ĳs en ĲSBEER",			"ijs-en-ijsbeer" },
	{ "Größe",				"grosse" },
	{ "ẞtraße",				"sstrasse" },
	{ "Æsop en Œdipus",			"aesop-en-oedipus" },
	{ "Ærø Øresund Ålborg",			"aero-oresund-alborg" },
	{ "Çava señor",				"cava-senor" },
	{ "àáâãäå ÀÁÂÃÄÅ",			"aaaaaa-aaaaaa" },
	{ "èéêë ìíîï òóôõö ùúûü ýÿ",		"eeee-iiii-ooooo-uuuu-yy" },
	{ "Łódź Kraków Brno Čeština",		"lodz-krakow-brno-cestina" },
	{ "Şişli Țară ğ",			"sisli-tara-g" },
	{ "ﬁlosofie",				"filosofie" },
	{ "Þór ðe",				"thor-de" },
	/* NFD: e + COMBINING ACUTE, as macOS may send */
	{ "Cre\xcc\x81""atief",			"creatief" },
	/* apostrophes vanish rather than split words */
	{ "Juf's klas",				"jufs-klas" },
	{ "Kids\xe2\x80\x99 club",		"kids-club" },
	{ "'s-Hertogenbosch",			"s-hertogenbosch" },
	/* everything else separates */
	{ "3 × 4 ÷ 2",				"3-4-2" },
	{ "Wiskunde: π en ∞",			"wiskunde-en" },
	{ "email@school.nl",			"email-school-nl" },
	{ "a\tb\nc\rd",				"a-b-c-d" },
	/* nothing usable */
	{ "",					"netwerk" },
	{ "!!!",				"netwerk" },
	{ "Ελληνικά",				"netwerk" },
	{ "日本語",				"netwerk" },
	{ "\xff\xfe\x80",			"netwerk" },
	/* invalid UTF-8 separates, never crashes */
	{ "ab\xc3""cd",				"ab-cd" },
	{ "ab\xed\xa0\x80""cd",			"ab-cd" },	/* surrogate */
	{ "ab\xc0\xaf""cd",			"ab-cd" },	/* overlong */
	{ "ab\xf4\x90\x80\x80""cd",		"ab-cd" },	/* > U+10FFFF */
	{ "ab\xe2\x82",				"ab" },		/* truncated */
	/* length: at most 40, cut at a '-' when that keeps half */
	{ "Professionele leergemeenschap voor het jonge kind in de onderbouw",
	  "professionele-leergemeenschap-voor-het" },
	{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmn" },
	{ "a-bcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	  "a-bcdefghijklmnopqrstuvwxyzabcdefghijklm" },
	{ "abcdefghij abcdefghij abcdefghij abcdefghij",
	  "abcdefghij-abcdefghij-abcdefghij" },
	{ "abcdefghij abcdefghij abcdefghij abcdefg x",
	  "abcdefghij-abcdefghij-abcdefghij-abcdefg" },
	{ "1234567890123456789012345678901234567890",
	  "1234567890123456789012345678901234567890" },
	{ "ĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳĳ",
	  "ijijijijijijijijijijijijijijijijijijijij" },
};

static void
test_from_title(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(from_title); i++) {
		char *s = slug_from_title(from_title[i].title);

		if (strcmp(s, from_title[i].slug) != 0)
			fail_msg("slug_from_title(\"%s\") = \"%s\", want "
			    "\"%s\"", from_title[i].title, s,
			    from_title[i].slug);
		assert_true(slug_valid(s));
		free(s);
	}
}

/* Whatever bytes come in, the result is a valid slug. */
static void
test_from_title_random(void **state)
{
	unsigned char buf[200];
	unsigned seed = 12345;
	size_t i, j, len;

	(void)state;
	for (i = 0; i < 20000; i++) {
		char *s;

		len = i % sizeof(buf);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = (unsigned char)(seed >> 16);
			if (buf[j] == 0)
				buf[j] = 'a';
		}
		buf[len] = '\0';
		s = slug_from_title((const char *)buf);
		if (!slug_valid(s))
			fail_msg("invalid slug \"%s\" from case %zu", s, i);
		free(s);
	}
}

static void
test_fold_text(void **state)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "Re: [\xc3\x89\xc3\xa9n taal] vraag", "re [een taal] vraag" },
		/* the same, decomposed: E + U+0301, e + U+0301 */
		{ "Re: [E\xcc\x81" "e\xcc\x81" "n taal] vraag",
		  "re [een taal] vraag" },
		{ "  [Taal  &  lezen]!! ", "[taal lezen]" },
		{ "Stra\xc3\x9f\xc3\x9f\xc3\x9f \xc4\xb2sselmeer",
		  "strassssss ijsselmeer" },
		{ "", "" },
		{ "!!!", "" },
		/* invalid UTF-8 and characters without a fold separate words */
		{ "a\xff\xfe" "b \xe2\x82\xac c", "a b c" },
		{ "\xc3", "" },
	};
	unsigned char buf[64];
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		char *f = slug_fold_text(c[i].in);

		if (strcmp(f, c[i].want) != 0)
			fail_msg("slug_fold_text(\"%s\") = \"%s\", want \"%s\"",
			    c[i].in, f, c[i].want);
		free(f);
	}
	/* Any bytes: within bounds (ASan) and only letters, digits, [] and
	 * single spaces between words. */
	for (size_t i = 0; i < 20000; i++) {
		size_t len = i % sizeof(buf);
		char *f;

		for (size_t j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = (unsigned char)(seed >> 16) | 1;
		}
		buf[len] = '\0';
		f = slug_fold_text((const char *)buf);
		for (const char *p = f; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' &&
			    *p <= '9') || *p == '[' || *p == ']' ||
			    (*p == ' ' && p > f && p[-1] != ' ' && p[1])))
				fail_msg("case %zu: \"%s\"", i, f);
		free(f);
	}
}

static const struct {
	const char	*s;
	int		 valid;
} validity[] = {
	{ "rekenen", 1 },
	{ "rekenen-groep-3", 1 },
	{ "3", 1 },
	{ "a-b", 1 },
	{ "1234567890123456789012345678901234567890", 1 },
	{ "12345678901234567890123456789012345678901", 0 },
	{ "", 0 },
	{ "-rekenen", 0 },
	{ "rekenen-", 0 },
	{ "rekenen--groep", 0 },
	{ "-", 0 },
	{ "Rekenen", 0 },
	{ "rekenen groep", 0 },
	{ "rekenen_groep", 0 },
	{ "rekenen.nl", 0 },
	{ "créatief", 0 },
	{ "../etc", 0 },
	{ "rekenen\n", 0 },
};

static void
test_valid(void **state)
{
	size_t i;

	(void)state;
	assert_false(slug_valid(NULL));
	for (i = 0; i < ARRAY_LEN(validity); i++)
		if (slug_valid(validity[i].s) != validity[i].valid)
			fail_msg("slug_valid(\"%s\") != %d", validity[i].s,
			    validity[i].valid);
}

static const struct {
	const char	*base;
	unsigned	 n;
	const char	*want;
} suffixes[] = {
	{ "rekenen", 2, "rekenen-2" },
	{ "rekenen", 10, "rekenen-10" },
	{ "1234567890123456789012345678901234567890", 2,
	  "12345678901234567890123456789012345678-2" },
	{ "professionele-leergemeenschap-voor-het", 3,
	  "professionele-leergemeenschap-voor-het-3" },
	{ "professionele-leergemeenschap-voor-hetx", 3,
	  "professionele-leergemeenschap-voor-3" },
	{ "professionele-leergemeenschap-voor-hetxy", 12,
	  "professionele-leergemeenschap-voor-12" },
};

static void
test_with_suffix(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(suffixes); i++) {
		char *s = slug_with_suffix(suffixes[i].base, suffixes[i].n);

		if (strcmp(s, suffixes[i].want) != 0)
			fail_msg("slug_with_suffix(\"%s\", %u) = \"%s\", want "
			    "\"%s\"", suffixes[i].base, suffixes[i].n, s,
			    suffixes[i].want);
		assert_true(slug_valid(s));
		free(s);
	}
}

static const struct {
	const char	*a, *b;
	size_t		 dist;
	int		 near;
} pairs[] = {
	{ "rekenen", "rekenen", 0, 1 },
	{ "rekenen", "rekene", 1, 1 },			/* deletion */
	{ "rekenen", "rekkenen", 1, 1 },		/* insertion */
	{ "rekenen", "rekanen", 1, 1 },			/* substitution */
	{ "rekenen", "reknene", 2, 1 },
	{ "rekenen", "erkenen", 1, 1 },			/* transposition */
	{ "rekenen", "Rekenen", 1, 1 },			/* case */
	{ "rekenen-groep3", "rekenen-groep-3", 1, 1 },
	{ "rekenengroep3", "rekenen-groep-3", 2, 1 },
	{ "rekenen-in-groep-3", "rekeneningroep3", 3, 1 },	/* dashes */
	{ "rekenen", "taal", 7, 0 },
	{ "rekenen", "rekenwerk", 3, 0 },
	{ "lezen", "leren", 1, 1 },
	{ "ckv", "cvk", 1, 1 },				/* 3 bytes: 1 allowed */
	{ "ckv", "xyz", 3, 0 },
	{ "ab", "ba", 1, 0 },				/* too short to guess */
	{ "ab", "ab", 0, 1 },
	{ "", "", 0, 0 },
	{ "", "abc", 3, 0 },
	{ "-", "--", 1, 0 },
	{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm",
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
	  65, 0 },					/* over the bound */
};

static void
test_distance_near(void **state)
{
	size_t i, d;

	(void)state;
	for (i = 0; i < ARRAY_LEN(pairs); i++) {
		d = slug_distance(pairs[i].a, pairs[i].b);
		if (d != pairs[i].dist)
			fail_msg("slug_distance(\"%s\", \"%s\") = %zu, want "
			    "%zu", pairs[i].a, pairs[i].b, d, pairs[i].dist);
		/* symmetric */
		assert_int_equal(slug_distance(pairs[i].b, pairs[i].a), d);
		if (slug_near(pairs[i].a, pairs[i].b) != pairs[i].near)
			fail_msg("slug_near(\"%s\", \"%s\") != %d", pairs[i].a,
			    pairs[i].b, pairs[i].near);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_title),
		cmocka_unit_test(test_from_title_random),
		cmocka_unit_test(test_fold_text),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_with_suffix),
		cmocka_unit_test(test_distance_near),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
