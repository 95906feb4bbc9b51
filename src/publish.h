/*
 * publish.h - the intranet pages and feeds of SPEC §6, written into
 * [publish] dir:
 *
 *   index.html          every open network: its question, leads, next
 *                       meetings, latest news, and a mailto link that
 *                       joins it
 *   SLUG/index.html     one network (open or closed) in full
 *   SLUG/calendar.ics   its meetings as a METHOD:PUBLISH feed (ical.h)
 *   SLUG/feed.atom      its news as Atom 1.0 (RFC 4287)
 *
 * Proposed and rejected networks are never published.  Every file is
 * written to a temporary file in its own directory, synced and renamed
 * over the old one, so a web server serves the old page or the new one,
 * never half of one; a file whose content did not change is left alone
 * (its mtime and the HTTP caches with it).  Everything that came from
 * mail is escaped: nothing in a name or title can add markup.
 */
#ifndef LEERNET_PUBLISH_H
#define LEERNET_PUBLISH_H

#include <stddef.h>
#include <time.h>

struct app;

struct publish_stats {
	size_t	networks;	/* networks with pages */
	size_t	written;	/* files replaced */
	size_t	unchanged;	/* files that were already so */
	time_t	stale_at;	/* when a meeting shown as upcoming ends and
				 * the pages need writing again; 0: never */
	int	db_failed;	/* the database could not be read (not a
				 * problem with the files) */
};

/*
 * Write every page and feed as of now.  0, or -1 with the first problem
 * in err (a file that could not be written keeps its old content; the
 * others are still written).  [publish] dir must be set.
 */
int	publish_run(struct app *, time_t now, struct publish_stats *,
	    char *err, size_t errlen);

/* `leernet publish` (argv after "publish"): exit status of SPEC §2. */
int	publish_cmd(struct app *, int argc, char **argv);

/*
 * For the daemon loop: publish when state changed (app->changed, cleared
 * here) or when *next (a time(2) value; 0: now) has come, and set *next to
 * the next time the pages go stale.  Failures are logged and retried a
 * few minutes later.  Nothing happens without [publish] dir.
 */
void	publish_if_due(struct app *, time_t now, time_t *next);

#endif
