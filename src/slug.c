/*
 * slug.c - network slugs: folding titles to ASCII, validity, near misses.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "slug.h"
#include "util.h"

#define DIST_MAX	64

/*
 * Base letters of U+0100..U+017F (Latin Extended-A) in code point order;
 * '*' marks the two-letter ones (Ĳ ĳ Œ œ) handled in fold().
 */
static const char latin_ext_a[] =
    "aaaaaa"		/* 0100 Ā..ą */
    "cccccccc"		/* 0106 Ć..č */
    "dddd"		/* 010E Ď..đ */
    "eeeeeeeeee"	/* 0112 Ē..ě */
    "gggggggg"		/* 011C Ĝ..ģ */
    "hhhh"		/* 0124 Ĥ..ħ */
    "iiiiiiiiii"	/* 0128 Ĩ..ı */
    "**"		/* 0132 Ĳ ĳ */
    "jj"		/* 0134 Ĵ ĵ */
    "kkk"		/* 0136 Ķ ķ ĸ */
    "llllllllll"	/* 0139 Ĺ..ł */
    "nnnnnnnnn"		/* 0143 Ń..ŋ */
    "oooooo"		/* 014C Ō..ő */
    "**"		/* 0152 Œ œ */
    "rrrrrr"		/* 0154 Ŕ..ř */
    "ssssssss"		/* 015A Ś..š */
    "tttttt"		/* 0162 Ţ..ŧ */
    "uuuuuuuuuuuu"	/* 0168 Ũ..ų */
    "ww"		/* 0174 Ŵ ŵ */
    "yyy"		/* 0176 Ŷ ŷ Ÿ */
    "zzzzzz"		/* 0179 Ź..ž */
    "s";		/* 017F ſ */

_Static_assert(sizeof(latin_ext_a) == 0x80 + 1, "one letter per code point");

/* U+00C0..U+00FF; NULL for × and ÷, which separate words. */
static const char *const latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* À..Ç */
	"e", "e", "e", "e", "i", "i", "i", "i",		/* È..Ï */
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* Ð..× */
	"o", "u", "u", "u", "u", "y", "th", "ss",	/* Ø..ß */
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* à..ç */
	"e", "e", "e", "e", "i", "i", "i", "i",		/* è..ï */
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* ð..÷ */
	"o", "u", "u", "u", "u", "y", "th", "y",	/* ø..ÿ */
};

/*
 * Decode one UTF-8 sequence at s (NUL-terminated).  Returns the code point
 * and its length in *n, or -1 with *n = 1 for a byte that starts no valid
 * sequence (overlong, surrogate, truncated, > U+10FFFF).
 */
static long
utf8_next(const unsigned char *s, size_t *n)
{
	unsigned c = s[0];
	size_t len, k;
	long cp, min;

	*n = 1;
	if (c < 0x80)
		return c;
	if ((c & 0xe0) == 0xc0) {
		len = 2; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3; cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4; cp = c & 0x07; min = 0x10000;
	} else
		return -1;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = len;
	return cp;
}

/*
 * What code point cp becomes in a slug: an ASCII string, "" to drop it
 * (apostrophes, combining marks of decomposed text), or NULL when it
 * separates words.
 */
static const char *
fold(long cp, char one[2])
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
		one[0] = (char)cp;
		one[1] = '\0';
		return one;
	}
	if (cp >= 'A' && cp <= 'Z') {
		one[0] = (char)(cp - 'A' + 'a');
		one[1] = '\0';
		return one;
	}
	if (cp == '\'' || cp == 0x2018 || cp == 0x2019 || cp == 0x00b4 ||
	    cp == 0x0060 || (cp >= 0x0300 && cp <= 0x036f))
		return "";
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0];
	if (cp >= 0x100 && cp <= 0x17f) {
		if (cp == 0x132 || cp == 0x133)
			return "ij";
		if (cp == 0x152 || cp == 0x153)
			return "oe";
		one[0] = latin_ext_a[cp - 0x100];
		one[1] = '\0';
		return one;
	}
	switch (cp) {
	case 0x218: case 0x219:		/* Ș ș */
		return "s";
	case 0x21a: case 0x21b:		/* Ț ț */
		return "t";
	case 0x1e9e:			/* ẞ */
		return "ss";
	case 0xfb00:
		return "ff";
	case 0xfb01:
		return "fi";
	case 0xfb02:
		return "fl";
	}
	return NULL;
}

/* Cut s (a slug-in-making of len bytes) to at most max bytes, at a '-'
 * when that keeps at least half; then drop trailing '-'. */
static size_t
cut(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len > max) {
		if (s[max] == '-')
			len = max;
		else {
			for (i = max; i > max / 2 && s[i - 1] != '-'; i--)
				;
			len = (i > max / 2) ? i - 1 : max;
		}
	}
	while (len > 0 && s[len - 1] == '-')
		len--;
	return len;
}

/*
 * Fold UTF-8 text s into out (room for max bytes and a NUL): letters and
 * digits as fold() makes them, the bytes of `keep` as themselves, every
 * other run of characters one `sep` between words.  Returns the length;
 * stops once max bytes are written.
 */
static size_t
fold_text(const char *s, char *out, size_t max, const char *keep, char sep)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0, n;
	int gap = 0;

	while (*p && len < max) {
		char one[2];
		const char *f;
		long cp = utf8_next(p, &n);

		p += n;
		if (cp > 0 && cp < 0x80 && strchr(keep, (int)cp) != NULL) {
			one[0] = (char)cp;
			one[1] = '\0';
			f = one;
		} else if ((f = cp < 0 ? NULL : fold(cp, one)) == NULL) {
			gap = 1;
			continue;
		}
		if (*f == '\0')
			continue;
		/* No separator just inside brackets: "[ Taal ]" is "[taal]". */
		if (gap && len > 0 && len < max && out[len - 1] != '[' &&
		    *f != ']')
			out[len++] = sep;
		gap = 0;
		for (; *f && len < max; f++)
			out[len++] = *f;
	}
	out[len] = '\0';
	return len;
}

char *
slug_from_title(const char *title)
{
	char out[SLUG_MAX * 2 + 8];
	size_t len;

	/* A little more than SLUG_MAX so the cut can find a '-'. */
	len = fold_text(title, out, SLUG_MAX + 4, "", '-');
	len = cut(out, len, SLUG_MAX);
	if (len == 0)
		return xstrdup("netwerk");
	return xstrndup(out, len);
}

char *
slug_fold_text(const char *s)
{
	size_t max = strlen(s) * 2 + 1;	/* ß → ss, ĳ → ij: at most twice */
	char *out = xmalloc(max + 1);

	fold_text(s, out, max, "[]", ' ');
	return out;
}

char *
slug_with_suffix(const char *base, unsigned n)
{
	char suffix[16];
	size_t blen, room;
	int r;

	r = snprintf(suffix, sizeof(suffix), "-%u", n);
	if (r < 0 || (size_t)r >= sizeof(suffix))
		fatalx("slug_with_suffix: %u", n);
	room = SLUG_MAX - (size_t)r;
	blen = strlen(base);
	if (blen > room)
		blen = cut(base, blen, room);
	if (blen == 0)
		return xasprintf("netwerk%s", suffix);
	return xasprintf("%.*s%s", (int)blen, base, suffix);
}

int
slug_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '-')
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i >= SLUG_MAX)
			return 0;
		if (c == '-') {
			if (s[i + 1] == '-' || s[i + 1] == '\0')
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

size_t
slug_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev2[DIST_MAX + 1], prev[DIST_MAX + 1], cur[DIST_MAX + 1];
	size_t i, j;

	if (la > DIST_MAX || lb > DIST_MAX)
		return la > lb ? la : lb;
	for (j = 0; j <= lb; j++)
		prev[j] = prev2[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = (a[i - 1] == b[j - 1]) ? 0 : 1;
			size_t v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		memcpy(prev2, prev, sizeof(prev));
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

/* Lower-cased copy of s into out (cap bytes), optionally without '-';
 * -1 when it does not fit. */
static int
squash(const char *s, char *out, size_t cap, int nodash)
{
	size_t n = 0;

	for (; *s; s++) {
		char c = *s;

		if (nodash && c == '-')
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return 0;
}

int
slug_near(const char *a, const char *b)
{
	char la[DIST_MAX + 1], lb[DIST_MAX + 1];
	size_t d, shorter, allowed;

	if (a[0] == '\0' || b[0] == '\0')
		return 0;
	if (squash(a, la, sizeof(la), 1) == 0 &&
	    squash(b, lb, sizeof(lb), 1) == 0 && la[0] && strcmp(la, lb) == 0)
		return 1;
	if (squash(a, la, sizeof(la), 0) == -1 ||
	    squash(b, lb, sizeof(lb), 0) == -1)
		return 0;
	shorter = strlen(la) < strlen(lb) ? strlen(la) : strlen(lb);
	allowed = shorter >= 5 ? 2 : shorter >= 3 ? 1 : 0;
	d = slug_distance(la, lb);
	return d <= allowed;
}
