/*
 * digest.h - the news digests (SPEC §3 [digest], §5): one mail per
 * recipient per schedule, only when there is something new.
 *
 * Members, leads and followers of a network get its news items (`post`,
 * list mail), new members, upcoming meetings with their RSVP counts, the
 * closing of the network, and the calls of networks newly opened that they
 * are not in.  Coordinators get one overview instead: every network, the
 * new items of all of them, and what went wrong in delivery (bouncing
 * addresses, failed outbox rows, mail kept for people).
 *
 * Every item a digest carried is remembered per recipient (table
 * digest_seen), so no digest repeats one; a moved meeting (new SEQUENCE)
 * is a new item, marked as changed, and a cancelled one that the person
 * knew of is told once as cancelled (followers get no CANCEL mail).
 * Bouncing addresses get no digest (SPEC §4).
 *
 * List-Unsubscribe names a network only for a member or follower of that
 * one network alone, in a digest about it; otherwise it is a bare
 * "afmelden"/"leave", answered with how to leave each network.
 *
 * Templates: digest.txt and digest-coordinators.txt (nl, en); variables
 * are listed at the top of each.
 */
#ifndef LEERNET_DIGEST_H
#define LEERNET_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct app;
struct config;
struct dt_zone;

struct digest_stats {
	size_t	recipients;	/* digests queued (or due, in a preview) */
	size_t	items;		/* the items in them */
	size_t	bouncing;	/* recipients left out: bouncing */
};

enum digest_mode { DIGEST_PREVIEW, DIGEST_SEND };

/*
 * Compute the digests due at now.  DIGEST_SEND queues them in the outbox,
 * remembers their items and records the run, all in one transaction
 * (scheduled: the daemon's timer, not `digest --send`).  DIGEST_PREVIEW
 * writes each digest's text to out and changes nothing.  0 or -1 (logged;
 * nothing was queued).
 */
int	digest_run(struct app *, time_t now, enum digest_mode, int scheduled,
	    FILE *out, struct digest_stats *);

/*
 * The hook for network lists (SPEC §4b): a list message that became news
 * item news_id and was delivered directly to person_id is not repeated in
 * that person's digest.  Members in `digest` delivery get it only there.
 * Call inside the transaction that queues the list mail.
 */
int	digest_mark_delivered(struct app *, int64_t person_id, int64_t news_id,
	    time_t now);

/*
 * The schedule of [digest] in the configured zone: the last scheduled
 * instant at or before t, and the first after t.  0 when it is off.
 * A time the clocks skip (02:30 the night summer time starts) is taken
 * an hour later.  Pure.
 */
time_t	digest_slot_before(const struct config *, const struct dt_zone *,
	    time_t t);
time_t	digest_slot_after(const struct config *, const struct dt_zone *,
	    time_t t);

/*
 * Is a digest due at now (SPEC §2 `digest [--send]`)?  With a schedule,
 * once per scheduled instant: 0 when this instant's run has been made,
 * with why saying when and when the next is due.  With `schedule = off`
 * whoever calls decides (cron): always due.  1 due, -1 error.
 */
int	digest_due(struct app *, time_t now, char *why, size_t len);

/*
 * For the daemon: sends the digests once a scheduled instant has passed
 * since the last run (also one missed while leernet was down), and says
 * how many seconds until it wants to look again.
 */
struct digest_timer;
struct digest_timer *digest_timer_new(struct app *, time_t now);
void	digest_timer_free(struct digest_timer *);
time_t	digest_timer_run(struct digest_timer *, struct app *, time_t now);

#endif
