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
		if (store_outbox_failed(app->st, o->id, res->text, t) == -1)
			return -1;
		stats->failed++;
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
		    t) == -1 ||
		    store_outbox_failed(app->st, o->id, res->text, t) == -1)
			return -1;
		stats->failed++;
	} else if (t - o->created >= OUTBOX_EXPIRE) {
		/* Refused for days as an MTA would bounce it: for the
		 * coordinators to look at, but a temporary refusal does not
		 * make the address bouncing. */
		log_warnx("%s to %s given up after %d tries over %ld days: %s",
		    o->kind, o->rcpt, o->attempts + 1,
		    (long)(OUTBOX_EXPIRE / 86400), res->text);
		if (store_outbox_failed(app->st, o->id, res->text, t) == -1)
			return -1;
		stats->failed++;
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
 * Send one batch of due rows, in their order, up to smtp_lanes() at once.
 * Whatever stops the batch (a session failure, a database error,
 * SIGTERM) stops new submissions only: the messages in flight are waited
 * for and their verdicts recorded, so none is left sent but not marked.
 * 0, or -1 when the server could not be reached or the store failed.
 */
static int
send_batch(struct app *app, struct smtp *smtp, struct ob_row *rows, size_t n,
    time_t now, struct outbox_stats *stats)
{
	struct smtp_result res;
	char why[sizeof(res.text)] = "";
	size_t next = 0, waiting = 0;
	int busy = 0, lanes = smtp_lanes(smtp), dberr = 0;
	void *tag;

	for (;;) {
		while (!why[0] && !dberr && !handle_stop && next < n &&
		    busy < lanes) {
			struct ob_row *o = &rows[next++];

			log_set_msgid(o->msgid);
			smtp_submit(smtp, o->env_from, o->rcpt, o->data, o->len,
			    o);
			busy++;
		}
		log_set_msgid(NULL);
		if (busy == 0 || smtp_wait(smtp, &tag, &res) == 0)
			break;
		busy--;
		log_set_msgid(((struct ob_row *)tag)->msgid);
		if (res.status == SMTP_TEMPFAIL && res.code == 0) {
			/*
			 * The session failed before this message's turn
			 * (connect, TLS, login): the server or our
			 * configuration is at fault, not the message.
			 * Nothing is counted against the rows; they show the
			 * reason in `outbox list` and wait for the caller's
			 * reconnect backoff, so the backlog drains as soon as
			 * the server is back.
			 */
			if (!why[0])
				memcpy(why, res.text, sizeof(why));
			waiting++;
		} else if (record(app, tag, &res, stats) == -1)
			dberr = 1;
	}
	log_set_msgid(NULL);
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

	memset(stats, 0, sizeof(*stats));
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

int
outbox_prune(struct app *app, time_t now)
{
	int n = 0;

	if (store_outbox_prune(app->st, now -
	    (time_t)app->cfg->keep_sent_days * 86400, &n) == -1)
		return -1;
	if (n > 0)
		log_info("outbox: dropped the text of %d message%s sent more "
		    "than %d day%s ago ([database] keep_sent_days)", n,
		    n == 1 ? "" : "s", app->cfg->keep_sent_days,
		    app->cfg->keep_sent_days == 1 ? "" : "s");
	return 0;
}
