/*
 * daemon.c - the main loop.  Signal handlers only set flags; the loop
 * computes its next deadline, waits on the mailbox (IDLE or a poll
 * interval), and does all work itself.  SIGTERM finishes the message in
 * hand; SIGHUP reloads config and templates between messages; SIGUSR1
 * (a command changed something, store_wake_daemon) runs the loop again.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "dates.h"
#include "digest.h"
#include "handle.h"
#include "ical.h"
#include "log.h"
#include "outbox.h"
#include "publish.h"
#include "rsvp.h"
#include "smtp.h"
#include "source.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define RECONNECT_MIN	1
#define RECONNECT_MAX	300
#define IDLE_PERIOD	(20 * 60)	/* servers drop IDLE after 29-30 min */
#define PRUNE_PERIOD	3600		/* dropping old mail text: hourly */

static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
static volatile sig_atomic_t quit, reload, wake;
static sigset_t our_signals;

static uint64_t wd_usec;	/* systemd's WatchdogSec=, 0: none */

/* Alive: once per loop turn, and while the outbox waits for a slow
 * server (smtp_while_waiting). */
static void
watchdog_tick(void)
{
	if (wd_usec)
		sd_notify(0, "WATCHDOG=1");
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else if (sig == SIGUSR1)
		wake = 1;
	else {
		quit = 1;
		handle_stop = 1;
	}
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must end the wait at once. */
	sigemptyset(&our_signals);
	for (size_t i = 0; i < ARRAY_LEN(caught); i++) {
		sigaction(caught[i], &sa, NULL);
		sigaddset(&our_signals, caught[i]);
	}
}

/*
 * Wait for mail, the next timer or a signal.  A signal that came while we
 * worked (sending the outbox, say) has set its flag but interrupted no
 * wait: so the signals are blocked from the flag check on, and let in
 * again only inside the wait's ppoll() (source_poll), as pselect(2) is
 * meant to be used.  Otherwise a SIGTERM could sit out a 20-minute IDLE.
 * SIGUSR1 stays blocked outside the wait (store_lock): a command's
 * wake-up must not break off a read, it is pending until the wait.
 */
static void
wait_for_work(struct source **src, time_t wait, time_t *reconnect_at)
{
	sigset_t orig, during;
	struct timespec ts;

	sigprocmask(SIG_BLOCK, &our_signals, &orig);
	during = orig;
	for (size_t i = 0; i < ARRAY_LEN(caught); i++)
		sigdelset(&during, caught[i]);
	if (!quit && !reload && !wake && *src != NULL &&
	    source_wait(*src, (int)(wait * 1000)) == SOURCE_WAIT_ERROR) {
		log_warnx("mailbox connection lost while waiting; "
		    "reconnecting");
		source_close(*src);
		*src = NULL;
		*reconnect_at = mono_s();
	} else if (!quit && !reload && !wake && *src == NULL && wait > 0) {
		ts.tv_sec = wait;
		ts.tv_nsec = 0;
		ppoll(NULL, 0, &ts, &during);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

/* The arg of report_template: at a reload, or at start. */
static char at_reload[] = "reload: ", at_start[] = "";

static void
report_template(void *arg, const char *problem)
{
	log_warnx("%stemplates: %s", (const char *)arg, problem);
}

/* Swap in a freshly read config; keep the old one when it is broken. */
static void
do_reload(struct app *app, struct source **src, struct smtp **smtp)
{
	char err[1024];
	struct config *n = config_load(app->cfg->file, err, sizeof(err));

	struct dt_zone *zone = NULL;

	if (n != NULL && strcmp(n->timezone, app->cfg->timezone) != 0 &&
	    ((zone = dt_zone_load(n->timezone, err, sizeof(err))) == NULL ||
	    ical_zone_check(n->timezone, err, sizeof(err)) == -1)) {
		dt_zone_free(zone);
		zone = NULL;
		config_free(n);
		n = NULL;
	}
	if (n == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	/* Checked before they are used, and swapped in as checked: an edit
	 * with a slip keeps the running texts (each problem logged). */
	if (template_reload(n->template_dir, report_template, at_reload) == -1) {
		log_warnx("reload: the templates in %s have problems; keeping "
		    "the running configuration and templates", n->template_dir);
		dt_zone_free(zone);
		config_free(n);
		return;
	}
	if (zone) {
		dt_zone_free(app->zone);
		app->zone = zone;
	}
	if (strcmp(n->db_path, app->cfg->db_path) != 0)
		log_warnx("reload: [database] path changes only on restart");
	free(n->db_path);
	n->db_path = xstrdup(app->cfg->db_path);
	config_free(app->cfg);
	app->cfg = n;
	/* Reconnect with the new settings. */
	if (*src) {
		source_close(*src);
		*src = NULL;
	}
	if (*smtp) {
		smtp_free(*smtp);
		*smtp = NULL;
	}
	log_info("configuration and templates reloaded from %s", n->file);
}

/*
 * After a command the server refused or a lost connection: close the
 * session and try again after *backoff, doubling it; it is reset only once
 * mail could be handled (a server that lets us in but refuses each move
 * would otherwise be logged into every second).
 */
static void
drop_source(struct source **src, time_t *reconnect_at, time_t *backoff)
{
	source_close(*src);
	*src = NULL;
	*reconnect_at = mono_s() + *backoff;
	*backoff = *backoff * 2 > RECONNECT_MAX ? RECONNECT_MAX : *backoff * 2;
}

int
daemon_run(struct app *app)
{
	struct source *src = NULL;
	struct smtp *smtp = NULL;
	time_t reconnect_at = 0, backoff = RECONNECT_MIN;
	time_t smtp_at = 0, smtp_backoff = RECONNECT_MIN;
	time_t store_at = 0, store_backoff = RECONNECT_MIN;
	time_t publish_next = 0;	/* publish additions: 0 = at start */
	time_t prune_at = 0;		/* old mail text: hourly, from start */
	int ready = 0, rc = 0;
	struct digest_timer *digests = digest_timer_new(app, time(NULL));

	install_signals();
	/* The texts as started with, so that a reload refused later keeps
	 * serving them rather than what is on disk by then. */
	if (template_reload(app->cfg->template_dir, report_template,
	    at_start) == -1)
		log_warnx("templates in %s have problems: those mails are "
		    "written from the shipped copies in %s", app->cfg->template_dir,
		    template_shipped_dir());
	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	smtp_while_waiting(watchdog_tick);
	while (!quit) {
		struct outbox_stats os;
		time_t now = mono_s(), wait, next_ob, next_digest;
		size_t handled = 0;
		char err[1024];
		int temporary;

		/* Before anything is handled into it: a file removed or
		 * replaced under us takes what we write with it. */
		if (store_replaced(app->st)) {
			log_warnx("database %s was removed or replaced while "
			    "leernet ran: stopping before anything more goes "
			    "into the old file (exit 75; systemd starts it "
			    "again on the file there now)", app->cfg->db_path);
			rc = EXIT_TEMPFAIL;
			break;
		}
		if (reload) {
			reload = 0;
			do_reload(app, &src, &smtp);
		}
		if (wake) {
			/* A command changed the database: what it queued goes
			 * out now, backoff or not, and the pages follow. */
			wake = 0;
			smtp_at = 0;
			app->changed = 1;
			log_debug("woken: a command changed something");
		}
		if (src == NULL && now >= reconnect_at) {
			src = source_open(app->cfg, &temporary, err, sizeof(err));
			if (src == NULL) {
				log_warnx("mailbox: %s; trying again in %lds", err,
				    (long)backoff);
				reconnect_at = now + backoff;
				backoff = backoff * 2 > RECONNECT_MAX ?
				    RECONNECT_MAX : backoff * 2;
				sd_notifyf(0, "STATUS=mailbox unreachable: %s", err);
			} else {
				/* backoff stays: see drop_source */
				log_info("watching %s", source_name(src));
				sd_notifyf(0, "STATUS=watching %s",
				    source_name(src));
			}
		}
		if (!ready) {
			sd_notify(0, "READY=1");
			ready = 1;
		}
		if (src && mono_s() >= store_at) {
			int r = handle_pending(app, src, &handled);

			if (r == -1) {
				/* The connection lost, or a command the
				 * server refused (a MOVE into a mailbox over
				 * its quota): said above, in its words. */
				log_warnx("mailbox: a command failed (see "
				    "above); the mail stays in the inbox; "
				    "reconnecting in %lds", (long)backoff);
				drop_source(&src, &reconnect_at, &backoff);
			} else if (r == -2) {
				/* A full disk or a read-only database: the
				 * mailbox is fine, and a retry every second
				 * only fills the log. */
				log_warnx("database: mail waits in the inbox; "
				    "trying again in %lld s",
				    (long long)store_backoff);
				store_at = mono_s() + store_backoff;
				store_backoff = store_backoff * 2 >
				    RECONNECT_MAX ? RECONNECT_MAX :
				    store_backoff * 2;
			} else {
				store_backoff = RECONNECT_MIN;
				backoff = RECONNECT_MIN;
			}
		}
		if (quit)
			break;
		rsvp_remind_attendance(app, time(NULL));
		next_digest = digest_timer_run(digests, app, time(NULL));
		if (mono_s() >= smtp_at) {
			if (outbox_deliver(app, &smtp, time(NULL), &os) == -1) {
				/* The server is away: wait before the next
				 * try, and start a new session then. */
				if (smtp) {
					smtp_free(smtp);
					smtp = NULL;
				}
				smtp_at = mono_s() + smtp_backoff;
				smtp_backoff = smtp_backoff * 2 > RECONNECT_MAX ?
				    RECONNECT_MAX : smtp_backoff * 2;
			} else
				smtp_backoff = RECONNECT_MIN;
		}
		/* publish additions: the pages follow every change. */
		publish_if_due(app, time(NULL), &publish_next);
		if (mono_s() >= prune_at) {
			outbox_prune(app, time(NULL));
			if (src && handle_expire_done(app, src, time(NULL)) ==
			    -1) {
				log_warnx("mailbox: reconnecting after the "
				    "done folder's clean-up failed");
				drop_source(&src, &reconnect_at, &backoff);
			}
			prune_at = mono_s() + PRUNE_PERIOD;
		}
		watchdog_tick();

		/*
		 * How long may we sleep?  IDLE too is ended every
		 * poll_interval (SPEC §3: the fallback): a server that hung
		 * with our IDLE open says nothing, and only the answer to
		 * DONE that never comes shows it is gone.
		 */
		wait = src ? app->cfg->poll_interval : reconnect_at -
		    mono_s();
		if (src && app->cfg->idle && wait > IDLE_PERIOD)
			wait = IDLE_PERIOD;
		if (next_digest < wait)
			wait = next_digest;
		if (src && store_at > mono_s() && store_at - mono_s() < wait)
			wait = store_at - mono_s();
		next_ob = store_outbox_next(app->st);
		if (next_ob) {
			time_t d = next_ob - time(NULL);

			if (smtp_at - mono_s() > d)
				d = smtp_at - mono_s();
			if (d < wait)
				wait = d;
		}
		if (wd_usec && (time_t)(wd_usec / 2000000) < wait)
			wait = (time_t)(wd_usec / 2000000);
		if (wait < 0)
			wait = 0;
		wait_for_work(&src, wait, &reconnect_at);
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	outbox_note_at_exit(app);
	if (src)
		source_close(src);
	if (smtp)
		smtp_free(smtp);
	digest_timer_free(digests);
	return rc;
}
