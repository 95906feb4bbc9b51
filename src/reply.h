/*
 * reply.h - queue a mail in the outbox: a template rendered in the
 * recipient's language, composed with the headers of SPEC §5, stored in
 * the same transaction as the change that caused it.
 */
#ifndef LEERNET_REPLY_H
#define LEERNET_REPLY_H

#include <stdint.h>
#include <time.h>

#include "compose.h"

struct app;
struct message;
struct tvars;

struct reply {
	const char		*tmpl;		/* template name, e.g. "join-confirm" */
	const char		*kind;		/* outbox/sent kind: "reply",
						 * "confirm", "refusal", ... */
	const char		*to_addr;
	const char		*to_name;	/* may be NULL */
	const char		*lang;		/* "nl" / "en" */
	struct tvars		*vars;		/* borrowed; common names are added */
	const struct message	*in;		/* the mail answered, or NULL */
	const char		*token;		/* remembered for replies to this */
	int64_t			 network_id, meeting_id, person_id;
	enum auto_submitted	 auto_submitted;
	const char		*list_id;
	const char		*list_unsubscribe;
	const char		*ics;
	const char		*ics_method;
};

/* 0, or -1 (template or address error, logged). */
int	reply_queue(struct app *, const struct reply *, time_t now);

/*
 * The body a member's List-Unsubscribe mailto asks the mail client to
 * send: one click in Gmail or Outlook is no decision to leave a network
 * (and its meetings), so leaving then asks for confirmation even with
 * DMARC proof.  Followers unfollow at once.
 */
#define UNSUBSCRIBE_BODY	"list-unsubscribe"

#endif
