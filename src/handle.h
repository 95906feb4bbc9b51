/*
 * handle.h - the path of one message: parse, classify, act, and commit the
 * effect, the answer and the "handled" mark in one transaction.  Only
 * after that commit does the caller move the message out of the inbox.
 */
#ifndef LEERNET_HANDLE_H
#define LEERNET_HANDLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

struct app;
struct source;

enum disposition {
	DISP_DONE,	/* handled (or handled before): move to done */
	DISP_FAILED,	/* not a mail we can read at all: move to failed */
	DISP_HUMAN,	/* for the coordinators: leave, keyword leernet-human */
	DISP_RETRY	/* database trouble: leave it, try again later */
};

const char	*disposition_name(enum disposition);

/* Handle one raw message; commits before returning DONE/FAILED/HUMAN. */
enum disposition handle_message(struct app *, const char *raw, size_t len,
		    time_t now);

/*
 * Work through every pending message of the source in batches: handle
 * each, then move the batch.  *handled counts the messages dealt with.
 * 0, -1 when the source failed (reconnect and call again), or -2 when
 * the database could not store a batch (a full disk, a read-only file:
 * logged; the mail stays in the inbox, the source is fine).
 */
int		 handle_pending(struct app *, struct source *, size_t *handled);
/*
 * [mailbox] keep_done_days: drop handled mail that arrived longer ago
 * than that from the done folder (logged with how many).  Nothing when it
 * is 0.  Call it between handle_pending calls.  0, or -1 when the
 * mailbox connection was lost (close and reopen it).
 */
int		 handle_expire_done(struct app *, struct source *, time_t now);

/* Set by the signal handler: finish the message in hand and stop. */
extern atomic_int handle_stop;

#endif
