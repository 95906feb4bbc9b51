/*
 * title.h - what a network's title may be, wherever it comes from (the
 * command line now; a mail's `start TITLE` may share it).
 */
#ifndef LEERNET_TITLE_H
#define LEERNET_TITLE_H

#include <stddef.h>

/* Characters (not bytes) in a title at the most. */
#define TITLE_MAX_CHARS	120

/*
 * Why title cannot be a network's title, as one clause for a message
 * ("the title is empty", "the title contains a line break ..."), or NULL
 * when it can.  A title is valid UTF-8, one line without control
 * characters, not only white space, and at most TITLE_MAX_CHARS long.
 * why (at least 128 bytes) holds the text when it needs a number.
 */
const char	*title_problem(const char *title, char *why, size_t whylen);

#endif
