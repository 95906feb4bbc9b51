/*
 * title.c - the rules for a network's title (title.h).
 */
#include <stdio.h>
#include <string.h>

#include "title.h"
#include "util.h"

const char *
title_problem(const char *title, char *why, size_t whylen)
{
	size_t len = strlen(title), chars = 0;

	if (title[strspn(title, " ")] == '\0' && strpbrk(title, "\t\r\n") ==
	    NULL)
		return "the title is empty";
	if (!utf8_valid(title, len))
		return "the title is not valid UTF-8 text";
	for (const char *p = title; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		/* C0, DEL and C1 (U+0080-U+009F, 0xc2 0x80-0x9f). */
		if (ch < 0x20 || ch == 0x7f || (ch == 0xc2 &&
		    (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f))
			return "the title contains a line break, a tab or "
			    "another control character";
		if ((ch & 0xc0) != 0x80)
			chars++;
	}
	if (chars > TITLE_MAX_CHARS) {
		snprintf(why, whylen, "the title is %zu characters long; at "
		    "most %d are allowed", chars, TITLE_MAX_CHARS);
		return why;
	}
	return NULL;
}
