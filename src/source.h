/*
 * source.h - where inbound mail comes from: an IMAP mailbox (imap.c) or a
 * Maildir (maildir.c), behind one small interface.  The pipeline asks for
 * pending messages, handles them, commits, and only then marks them done.
 */
#ifndef LEERNET_SOURCE_H
#define LEERNET_SOURCE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;

struct source_msg {
	uint32_t	 uid;		/* IMAP UID; for Maildir a per-session
					 * sequence number */
	char		*key;		/* stable id: "UIDVALIDITY:UID" for IMAP,
					 * the unique file name for Maildir */
	char		*data;		/* raw message bytes; owned */
	size_t		 len;
};

struct source_batch {
	struct source_msg *msgs;
	size_t		   n;
};

struct source;

enum source_wait {
	SOURCE_WAIT_NEW = 1,		/* something may have arrived */
	SOURCE_WAIT_TIMEOUT = 0,	/* timeout or signal */
	SOURCE_WAIT_ERROR = -1		/* connection lost: close and reopen */
};

/*
 * Connect (IMAP: TLS, certificate check, login, SELECT, create the done and
 * failed folders when missing).  Returns NULL with one clear line in err
 * ("imap 127.0.0.1:1143: login failed: ...").  *temporary is set to 1 when
 * trying again later may help (network), 0 for configuration errors.
 */
struct source	*source_open(const struct config *, int *temporary,
		    char *err, size_t errlen);
void		 source_close(struct source *);

/*
 * Fetch up to max pending messages: in the inbox, not yet moved, not
 * carrying the keyword leernet-human (IMAP) / not in the skip list
 * (Maildir).  Oldest first.  0 on success (batch may be empty), -1 on a
 * connection error.  Free with source_batch_free().
 */
int		 source_fetch(struct source *, size_t max, struct source_batch *);
/*
 * The same, leaving out the messages of busy: a batch fetched before and
 * not yet moved, because it is still being handled (handle.c fetches the
 * next batch while it handles the last).  busy may be NULL.
 */
int		 source_fetch_except(struct source *, size_t max,
		    const struct source_batch *busy, struct source_batch *);
void		 source_batch_free(struct source_batch *);

/* Move handled messages to the done / failed folder.  0 or -1. */
int		 source_done(struct source *, const struct source_msg *, size_t n);
int		 source_failed(struct source *, const struct source_msg *, size_t n);
/* Leave in the inbox, unread, with keyword leernet-human.  0 or -1. */
int		 source_human(struct source *, const struct source_msg *, size_t n);

/*
 * Remove from the done folder the mail that arrived before `before`
 * ([mailbox] keep_done_days): IMAP by its arrival day (SEARCH BEFORE, the
 * INTERNALDATE a move keeps), a Maildir by the file's time.  Only the done
 * folder: what failed stays for people to look at.  Call it between
 * batches, never with a batch fetched and not yet moved (IMAP selects the
 * done folder for it, then the inbox again).  0 with *removed, or -1: the
 * reason is logged; for IMAP the connection may be gone (reopen it).
 */
int		 source_expire_done(struct source *, time_t before,
		    size_t *removed);
/*
 * Wait up to timeout_ms for new mail (IMAP IDLE, or a sleep when the server
 * lacks IDLE or idle = no; Maildir: inotify or a sleep).  Returns early with
 * SOURCE_WAIT_TIMEOUT when a signal arrives.
 */
enum source_wait source_wait(struct source *, int timeout_ms);

/*
 * For the backends' waits: poll(2) with every signal let in while it
 * sleeps, and only then (ppoll(2)).  The daemon blocks its signals from
 * the moment it checks its flags until it is back, so a SIGTERM that comes
 * in between ends the wait at once instead of after it.  timeout_ms < 0:
 * no limit.
 */
int		 source_poll(struct pollfd *, nfds_t, int timeout_ms);

/* For logs: "imap://host:port/INBOX" or "maildir:/path". */
const char	*source_name(const struct source *);

#endif
