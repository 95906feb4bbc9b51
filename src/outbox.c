/*
 * outbox.c - the sender loop.  Rows are only ever marked sent after the
 * server accepted them; temporary failures back off per message, permanent
 * ones mark the address bouncing (SPEC §4) and wait for the coordinators.
 * Up to [smtp] sessions messages are in flight at once (smtp.c's lanes);
 * each verdict is recorded as soon as it arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "handle.h"
#include "log.h"
#include "outbox.h"
#include "smtp.h"
#include "store.h"
#include "util.h"

#define OUTBOX_BATCH	200
#define BACKOFF_MIN	30
#define BACKOFF_MAX	3600
/* A message refused temporarily for this long is given up, as Postfix's
 * maximal_queue_lifetime does. */
#define OUTBOX_EXPIRE	(5 * 24 * 3600)

time_t
outbox_backoff(int attempts)
{
	time_t d = BACKOFF_MIN;
	uint32_t r;

	for (int i = 0; i < attempts && d < BACKOFF_MAX; i++)
		d *= 2;
	if (d > BACKOFF_MAX)
		d = BACKOFF_MAX;
	/* Up to 20% jitter, so a backlog does not return as one wave. */
	random_bytes(&r, sizeof(r));
	return d + (time_t)(r % (uint32_t)(d / 5 + 1));
}

/* A row given up on: for the coordinators' overview, never sent again. */
static int
fail_row(struct app *app, const struct ob_row *o, const char *why, time_t t,
    struct outbox_stats *stats)
{
	if (store_outbox_failed(app->st, o->id, why, t) == -1)
		return -1;
	stats->failed++;
	return 0;
}

/*
 * One message's verdict, recorded right after the server's answer so a
 * crash repeats at most the messages in flight.  -1 on a database error.
 */
static int
record(struct app *app, const struct ob_row *o, const struct smtp_result *res,
    struct outbox_stats *stats)
{
	time_t t = time(NULL);

	if (res->status == SMTP_SENT) {
		if (store_outbox_sent(app->st, o->id, t) == -1)
			return -1;
		stats->sent++;
		log_debug("sent %s to %s", o->kind, o->rcpt);
	} else if (res->status == SMTP_PERMFAIL && res->about_message) {
		/* Too large, or refused by a content filter: the address is
		 * fine, and marking it would silence everyone a list post
		 * went to. */
		log_warnx("%s to %s refused for good, for the message itself "
		    "(the address stays in use): %s", o->kind, o->rcpt,
		    res->text);
		return fail_row(app, o, res->text, t, stats);
	} else if (res->status == SMTP_PERMFAIL) {
		log_warnx("%s to %s refused for good: %s", o->kind, o->rcpt,
		    res->text);
		/*
		 * No more invitations, digests or list mail until the
		 * person writes again (SPEC §4).  Marked before the row:
		 * should the row's mark fail, it is tried again and the
		 * refusal repeats, so neither mark is lost.
		 */
		if (store_person_set_bouncing(app->st, o->rcpt, res->text,
		    t) == -1)
			return -1;
		return fail_row(app, o, res->text, t, stats);
	} else if (t - o->created >= OUTBOX_EXPIRE) {
		/* Refused for days as an MTA would bounce it: for the
		 * coordinators to look at, but a temporary refusal does not
		 * make the address bouncing. */
		log_warnx("%s to %s given up after %d tries over %ld days: %s",
		    o->kind, o->rcpt, o->attempts + 1,
		    (long)(OUTBOX_EXPIRE / 86400), res->text);
		return fail_row(app, o, res->text, t, stats);
	} else {
		time_t next = t + outbox_backoff(o->attempts);

		log_warnx("%s to %s deferred: %s", o->kind, o->rcpt, res->text);
		if (store_outbox_retry_at(app->st, o->id, next, res->text) == -1)
			return -1;
		stats->deferred++;
	}
	return 0;
}

/*
 * A row that was handed to the server when leernet was killed, twice,
 * without its answer noted: the server may have taken it each time.  A
 * third copy is not sent; the coordinators see it among the failed.
 */
#define OUTBOX_INFLIGHT_MAX	2

static int
give_up_uncertain(struct app *app, const struct ob_row *o, time_t now,
    struct outbox_stats *stats)
{
	static const char why[] = "leernet stopped twice while the server "
	    "had this message, before its answer was noted: it may have "
	    "arrived (twice); check with the recipient before 'leernet "
	    "outbox retry'";

	log_warnx("%s to %s: %s", o->kind, o->rcpt, why);
	return fail_row(app, o, why, now, stats);
}

/*
 * 250s whose mark could not be committed: the database locked by another
 * writer past the busy timeout (an admin's sqlite3, a long command), or a
 * full disk.  The row stays in flight in the database; without this it was
 * sent again as soon as the database could be written.  They are noted
 * before anything else is sent; a kill before that is the crash the
 * in-flight count covers (sent again at most once).
 */
struct unnoted {
	int64_t	id;
	time_t	t;
};
static struct unnoted *unnoted;
static size_t nunnoted;

static void
keep_unnoted(const struct ob_row *o, time_t t)
{
	unnoted = xreallocarray(unnoted, nunnoted + 1, sizeof(*unnoted));
	unnoted[nunnoted].id = o->id;
	unnoted[nunnoted].t = t;
	nunnoted++;
	log_warnx("%s to %s: the server accepted it, but the database could "
	    "not note that now; noted as soon as it can be, and not sent "
	    "again", o->kind, o->rcpt);
}

int
outbox_note_unnoted(struct app *app)
{
	size_t n = nunnoted;

	while (nunnoted > 0) {
		const struct unnoted *u = &unnoted[nunnoted - 1];

		if (store_outbox_sent(app->st, u->id, u->t) == -1)
			return -1;
		nunnoted--;
	}
	if (n > 0)
		log_info("outbox: noted %zu message%s sent that the server had "
		    "accepted while the database could not be written", n,
		    n == 1 ? "" : "s");
	free(unnoted);
	unnoted = NULL;
	return 0;
}

void
outbox_note_at_exit(struct app *app)
{
	for (int i = 0; nunnoted > 0 && i < 3; i++) {
		if (i > 0)
			sleep(2);
		if (outbox_note_unnoted(app) == 0)
			return;
	}
	if (nunnoted > 0)
		log_warnx("outbox: %zu message%s the server accepted could not "
		    "be noted as sent (the database cannot be written); the "
		    "next run sends %s again", nunnoted, nunnoted == 1 ? "" :
		    "s", nunnoted == 1 ? "it" : "them");
}

/*
 * Send one batch of due rows, in their order, up to smtp_lanes() at once.
 * Whatever stops the batch (a session failure, a database error,
 * SIGTERM) stops new submissions only: the messages in flight are waited
 * for and their verdicts recorded, so none is left sent but not marked.
 *
 * A row is marked in flight before it goes, in one commit with the
 * verdict that freed its lane, so that a kill between the server's 250
 * and our mark (RFC 1047's window) repeats it at most once more.
 * 0, or -1 when the server could not be reached or the store failed.
 */
static int
send_batch(struct app *app, struct smtp *smtp, struct ob_row *rows, size_t n,
    time_t now, struct outbox_stats *stats)
{
	struct smtp_result res;
	char why[sizeof(res.text)] = "";
	size_t next = 0, waiting = 0, ngo;
	int busy = 0, lanes = smtp_lanes(smtp), dberr = 0, open = 0;
	struct ob_row **go = xcalloc((size_t)lanes, sizeof(*go));
	const struct ob_row *pend = NULL;	/* its 250 noted, not committed */
	time_t pend_t = 0;
	void *tag;

	for (;;) {
		ngo = 0;
		while (!why[0] && !dberr && !handle_stop && next < n &&
		    busy + (int)ngo < lanes) {
			struct ob_row *o = &rows[next++];

			if (!open && store_begin(app->st) == -1) {
				dberr = 1;
				break;
			}
			open = 1;
			if (o->inflight >= OUTBOX_INFLIGHT_MAX) {
				if (give_up_uncertain(app, o, now, stats) == -1)
					dberr = 1;
			} else if (store_outbox_inflight(app->st, o->id, 1) ==
			    -1)
				dberr = 1;
			else
				go[ngo++] = o;
		}
		/* The marks and the verdict before them, or nothing goes. */
		if (open && store_commit(app->st) == -1) {
			store_rollback(app->st);
			dberr = 1;
			ngo = 0;
			if (pend != NULL)
				keep_unnoted(pend, pend_t);
		}
		open = 0;
		pend = NULL;
		for (size_t k = 0; k < ngo; k++) {
			log_set_msgid(go[k]->msgid);
			smtp_submit(smtp, go[k]->env_from, go[k]->rcpt,
			    go[k]->data, go[k]->len, go[k]);
			busy++;
		}
		log_set_msgid(NULL);
		if (busy == 0 || smtp_wait(smtp, &tag, &res) == 0)
			break;
		busy--;
		log_set_msgid(((struct ob_row *)tag)->msgid);
		/* Even after a database error: a verdict not noted is a
		 * message sent twice. */
		if (store_begin(app->st) == 0)
			open = 1;
		else
			dberr = 1;
		if (res.status == SMTP_TEMPFAIL && res.code == 0) {
			/*
			 * The session failed before this message's turn
			 * (connect, TLS, login): the server or our
			 * configuration is at fault, not the message.
			 * Nothing is counted against the rows; they show the
			 * reason in `outbox list` and wait for the caller's
			 * reconnect backoff, so the backlog drains as soon as
			 * the server is back.  The server never had it.
			 */
			if (!why[0])
				memcpy(why, res.text, sizeof(why));
			waiting++;
			if (store_outbox_inflight(app->st,
			    ((struct ob_row *)tag)->id, -1) == -1)
				dberr = 1;
		} else {
			time_t t = time(NULL);

			if (record(app, tag, &res, stats) == -1) {
				dberr = 1;
				if (res.status == SMTP_SENT)
					keep_unnoted(tag, t);
			} else if (res.status == SMTP_SENT && open) {
				pend = tag;
				pend_t = t;
			}
			/* The server refuses this host or sender: the next
			 * rows would meet the same answer, so they wait. */
			if (res.status == SMTP_TEMPFAIL && res.config_fault &&
			    !why[0])
				memcpy(why, res.text, sizeof(why));
		}
	}
	if (open && store_commit(app->st) == -1) {
		store_rollback(app->st);
		dberr = 1;
		if (pend != NULL)
			keep_unnoted(pend, pend_t);
	}
	log_set_msgid(NULL);
	free(go);
	if (dberr)
		return -1;
	if (why[0]) {
		waiting += n - next;
		log_warnx("smtp: %s; %zu message%s wait", why, waiting,
		    waiting == 1 ? "" : "s");
		store_outbox_note(app->st, now, why);
		stats->deferred += waiting;
		return -1;
	}
	return 0;
}

int
outbox_deliver(struct app *app, struct smtp **smtp, time_t now,
    struct outbox_stats *stats)
{
	char err[512];
	int n_unstuck;

	memset(stats, 0, sizeof(*stats));
	/* What the server took must be noted before anything goes. */
	if (outbox_note_unnoted(app) == -1)
		return -1;
	/*
	 * A retry is set at most BACKOFF_MAX (and its jitter) ahead.  One
	 * further ahead was set by a clock that ran fast and was set back
	 * since (a VM's clock corrected after boot): without this it would
	 * wait the difference, a day for a day.
	 */
	if (store_outbox_unstick(app->st, now, now + 2 * BACKOFF_MAX,
	    &n_unstuck) == -1)
		return -1;
	if (n_unstuck > 0)
		log_warnx("%d message%s waited for a retry later than any "
		    "backoff sets (the clock was set back): due now", n_unstuck,
		    n_unstuck == 1 ? "" : "s");
	for (;;) {
		struct ob_row *rows;
		size_t n;
		int rc;

		if ((rows = store_outbox_due(app->st, now, OUTBOX_BATCH,
		    &n)) == NULL)
			return -1;
		/* SIGTERM: what is sent is marked; the rest waits safely. */
		if (n == 0 || handle_stop) {
			ob_rows_free(rows, n);
			return 0;
		}
		if (*smtp == NULL &&
		    (*smtp = smtp_new(app->cfg, err, sizeof(err))) == NULL) {
			log_warnx("smtp: %s", err);
			store_outbox_note(app->st, now, err);
			ob_rows_free(rows, n);
			return -1;
		}
		rc = send_batch(app, *smtp, rows, n, now, stats);
		ob_rows_free(rows, n);
		if (rc == -1)
			return -1;
	}
}

/* Days the sender of handled mail is kept at least: the rate limit (an
 * hour), one refusal a day, and the coordinators' digest (which looks 31
 * days back, after a gap) read it. */
#define HANDLED_KEEP_MIN_DAYS	32

int
outbox_prune(struct app *app, time_t now)
{
	int keep = app->cfg->keep_sent_days, n = 0, notes, senders;

	if (store_outbox_prune(app->st, now - (time_t)keep * 86400,
	    &n) == -1 ||
	    store_privacy_prune(app->st, now - 86400, now -
	    (time_t)(keep > HANDLED_KEEP_MIN_DAYS ? keep :
	    HANDLED_KEEP_MIN_DAYS) * 86400, &notes, &senders) == -1)
		return -1;
	if (notes + senders > 0)
		log_info("dropped %d note%s of calendar answers to meetings "
		    "held, and the sender of %d message%s handled long ago",
		    notes, notes == 1 ? "" : "s", senders, senders == 1 ?
		    "" : "s");
	if (n > 0)
		log_info("outbox: dropped the text of %d message%s sent more "
		    "than %d day%s ago ([database] keep_sent_days)", n,
		    n == 1 ? "" : "s", app->cfg->keep_sent_days,
		    app->cfg->keep_sent_days == 1 ? "" : "s");
	return 0;
}
