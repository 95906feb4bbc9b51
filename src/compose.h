/*
 * compose.h - turn what leernet wants to say into the bytes of a mail:
 * headers of SPEC §5, multipart/alternative text + HTML, and for
 * invitations the iMIP structure of CALENDAR.md.
 */
#ifndef LEERNET_COMPOSE_H
#define LEERNET_COMPOSE_H

#include <stddef.h>
#include <time.h>

enum auto_submitted { AUTO_NONE, AUTO_REPLIED, AUTO_GENERATED };

struct outmail {
	const char	*from_name;	/* [smtp] from display part */
	const char	*from_addr;
	const char	*to_name;	/* may be NULL */
	const char	*to_addr;
	const char	*reply_to;	/* address or NULL */
	const char	*subject;	/* UTF-8 */
	const char	*text;		/* UTF-8 text/plain, LF or CRLF */
	const char	*html;		/* UTF-8 text/html or NULL */
	const char	*in_reply_to;	/* msg-id without <>, or NULL */
	const char	*references;	/* space-separated msg-ids without <>, or NULL */
	enum auto_submitted auto_submitted;
	const char	*list_id;	/* "<slug.lido.jl.nu>"-style value or NULL */
	const char	*list_unsubscribe;	/* "<mailto:...>" or NULL */
	const char	*ics;		/* calendar text or NULL */
	const char	*ics_method;	/* "REQUEST", "CANCEL" with ics */
	const char	*domain;	/* for Message-ID */
	time_t		 date;
};

/*
 * Compose the message.  Returns the bytes (CRLF, caller frees) and sets
 * *len and *msgid (the Message-ID without <>, caller frees).  NULL when an
 * address is invalid (err says which).
 */
char	*compose(const struct outmail *, size_t *len, char **msgid,
	    char *err, size_t errlen);

#endif
