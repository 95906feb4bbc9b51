/*
 * outbox.h - deliver committed outbox rows over SMTP, up to [smtp]
 * sessions at once, marking each sent right after the server's 250, so a
 * crash can repeat at most the mails in flight (one per session).
 */
#ifndef LEERNET_OUTBOX_H
#define LEERNET_OUTBOX_H

#include <stddef.h>
#include <time.h>

struct app;
struct smtp;

struct outbox_stats {
	size_t	sent;
	size_t	deferred;	/* temporary failure: retried later */
	size_t	failed;		/* permanent failure */
};

/*
 * Send what is due, in the order of the rows.  *smtp is created on first
 * need and kept for reuse (connection reuse across calls).  0, or -1 when
 * the server could not be reached at all (the rows wait; the caller tries
 * again later).  Returns with nothing in flight, also after SIGTERM.
 */
int	outbox_deliver(struct app *, struct smtp **, time_t now,
	    struct outbox_stats *);

/*
 * Note as sent what a server accepted while the database could not be
 * written (outbox_deliver does so first).  0 when nothing waits any more,
 * -1 when the database still cannot be written.  They are sent again
 * if leernet stops before they are noted.
 */
int	outbox_note_unnoted(struct app *);
/* Before leernet ends: tries a few times, else says what will repeat. */
void	outbox_note_at_exit(struct app *);

/*
 * Drop the text of mail sent more than [database] keep_sent_days ago: it
 * is personal data nobody reads again, and it is most of the database.
 * So too the sender and Subject of mail handled that long ago (32 days
 * at least), and the notes of calendar answers to meetings held.  0, or -1
 * on a database error (logged).
 */
int	outbox_prune(struct app *, time_t now);

/* The delay before attempt number `attempts` + 1 (capped, with jitter). */
time_t	outbox_backoff(int attempts);

#endif
