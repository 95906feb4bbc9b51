/*
 * main.c - the leernet command line (SPEC §2): global options, the
 * subcommands that need the mail servers (init, once, run, check-config),
 * and dispatch to the admin commands in cli.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "dates.h"
#include "digest.h"
#include "handle.h"
#include "ical.h"
#include "list.h"
#include "log.h"
#include "outbox.h"
#include "publish.h"
#include "rsvp.h"
#include "smtp.h"
#include "source.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define LEERNET_VERSION "0.1.0"

static const char usage_text[] =
"usage: leernet [-c FILE] [-v] COMMAND [ARGS]\n"
"       leernet --help | --version\n"
"\n"
"  init                 create or migrate the database (idempotent)\n"
"  run                  the daemon: inbound, outbox, digests, publishing\n"
"  once                 process every pending inbound message, deliver the\n"
"                       outbox, then exit\n"
"  check-config         validate the config and reach both servers\n"
"  network add SLUG --title TITLE [--lead EMAIL]... [--question TEXT]\n"
"  network list [--csv] | show SLUG | close SLUG\n"
"  member list SLUG [--csv] | remove SLUG EMAIL\n"
"  meeting list SLUG [--csv]\n"
"  staff import [--replace] FILE.csv\n"
"  report hours [--network SLUG] [--year YYYY] [--csv]\n"
"  person show EMAIL | reset EMAIL | forget [--dry-run] EMAIL\n"
"  outbox list [--all] [--csv] | retry\n"
"  digest [--send]\n"
"  publish\n"
"\n"
"  -c FILE   configuration (default: $LEERNET_CONFIG, then\n"
"            /etc/leernet/leernet.conf)\n"
"  -v        debug logging\n";

/* What a command needs of the database before it runs. */
enum db_need {
	DB_SCHEMA,	/* initialised and current: every command of the data */
	DB_ANY,		/* any version: init migrates it */
	DB_PEEK,	/* check-config: looks, and creates no file */
};

/* The directory a database path names ("." for a bare name). */
static char *
db_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, slash - path);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A database file absent in a directory that exists: init's to make. */
static int
db_not_made_yet(const char *path)
{
	struct stat st;
	char *dir;
	int r;

	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0;
	dir = db_dir(path);
	r = is_dir(dir);
	free(dir);
	return r;
}

static int
app_open(struct app *app, const char *file, enum db_need need)
{
	char err[1024];
	const char *at;
	int v;

	memset(app, 0, sizeof(*app));
	if ((app->cfg = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "leernet: %s\n", err);
		return EXIT_CONFIG;
	}
	/* Refused where the config is read, not at the first invitation:
	 * no meeting could ever be sent in a zone calendars cannot carry. */
	if ((app->zone = dt_zone_load(app->cfg->timezone, err,
	    sizeof(err))) == NULL || ical_zone_check(app->cfg->timezone, err,
	    sizeof(err)) == -1) {
		char line[16] = "";

		if (app->cfg->timezone_line > 0)
			snprintf(line, sizeof(line), ":%d",
			    app->cfg->timezone_line);
		fprintf(stderr, "leernet: %s%s: [organization] timezone: %s\n",
		    app->cfg->file, line, err);
		return EXIT_CONFIG;
	}
	at = strrchr(app->cfg->from_addr, '@');
	app->domain = xstrdup(at ? at + 1 : "localhost");
	/* A check made as root must not leave a database root owns. */
	if (need == DB_PEEK && db_not_made_yet(app->cfg->db_path))
		return 0;
	if ((app->st = store_open(app->cfg->db_path, err, sizeof(err))) == NULL) {
		int disk = errno == EIO;
		char *dir = db_dir(app->cfg->db_path);
		struct stat st;

		/* Before the service's first start systemd has not made its
		 * StateDirectory yet: say so rather than "cannot open". */
		if (stat(dir, &st) == -1 && errno == ENOENT)
			/* systemd makes only the unit's StateDirectory=. */
			fprintf(stderr, "leernet: %s: the directory %s does not "
			    "exist ([database] path in %s): create it for the "
			    "service user (install -d -o leernet -g leernet %s)"
			    "%s\n", app->cfg->db_path, dir, app->cfg->file, dir,
			    strcmp(dir, "/var/lib/leernet") == 0 ? " or start "
			    "the service once (systemd makes it)" : ", or check "
			    "the path: the service may write only "
			    "/var/lib/leernet and its ReadWritePaths=");
		else if (disk)		/* full: not the config */
			fprintf(stderr, "leernet: %s\n", err);
		else
			fprintf(stderr, "leernet: %s ([database] path in %s)\n",
			    err, app->cfg->file);
		free(dir);
		return disk ? EXIT_TEMPFAIL : EXIT_CONFIG;
	}
	/* A newer leernet migrated it: this one would misread its tables. */
	if ((v = store_version(app->st)) > STORE_SCHEMA_VERSION) {
		fprintf(stderr, "leernet: %s: schema version %d is newer than "
		    "this leernet (%d): install the newer leernet again\n",
		    app->cfg->db_path, v, STORE_SCHEMA_VERSION);
		return EXIT_CONFIG;
	}
	if (need == DB_SCHEMA && v < STORE_SCHEMA_VERSION) {
		fprintf(stderr, "leernet: database %s is %s; run 'leernet -c %s "
		    "init' first\n", app->cfg->db_path, v <= 0 ?
		    "not initialised" : "of an older version", app->cfg->file);
		return EXIT_CONFIG;
	}
	return 0;
}

static void
app_close(struct app *app)
{
	store_close(app->st);
	config_free(app->cfg);
	dt_zone_free(app->zone);
	free(app->domain);
	template_cache_clear();
}

static int
cmd_init(struct app *app, int argc, char **argv)
{
	char err[1024];
	int from = store_migrate(app->st, err, sizeof(err));

	(void)argc;
	(void)argv;
	if (from < 0) {
		int disk = errno;	/* store_migrate's: EIO, EROFS or 0 */

		fprintf(stderr, "leernet: %s\n", err);
		return disk == EIO ? EXIT_TEMPFAIL : disk == EROFS ?
		    EXIT_CONFIG : EXIT_SOFTWARE;
	}
	if (from == STORE_SCHEMA_VERSION)
		printf("database %s is up to date (schema version %d)\n",
		    app->cfg->db_path, STORE_SCHEMA_VERSION);
	else
		printf("database %s: schema version %d (was %d)\n",
		    app->cfg->db_path, STORE_SCHEMA_VERSION, from);
	/* Once, with the step to schema 8: news stored after it has its
	 * outside text where it needs one. */
	if (from > 0 && from < 8) {
		size_t n;

		if (list_news_backfill(app, &n) == -1) {
			fprintf(stderr, "leernet: %s: the news stored before "
			    "schema 8 could not be looked at (see above): "
			    "forwarded mail among it still shows whole on the "
			    "intranet pages\n", app->cfg->db_path);
			return EXIT_SOFTWARE;
		}
		if (n > 0)
			printf("%zu news item%s held forwarded or quoted mail: "
			    "the intranet pages, feeds and followers now get "
			    "the writer's own words of %s\n", n, n == 1 ? "" :
			    "s", n == 1 ? "it" : "them");
	}
	return 0;
}

static int
take_lock_or(struct app *app, const char *busy_hint)
{
	int r = store_lock(app->st);

	if (r == 0)
		(void)store_checkpoint_aside(app->st);
	if (r == 1) {
		pid_t pid = store_lock_holder(app->st);
		char who[32] = "";

		if (pid > 0)
			snprintf(who, sizeof(who), ", by pid %ld", (long)pid);
		fprintf(stderr, "leernet: another leernet process is handling "
		    "mail (lock %s.lock is held%s); try again later%s\n",
		    app->cfg->db_path, who, busy_hint);
		return EXIT_TEMPFAIL;
	}
	return r == 0 ? 0 : r == -2 ? EXIT_CONFIG : EXIT_SOFTWARE;
}

static int
take_lock(struct app *app)
{
	return take_lock_or(app, "");
}

/* For once, run and digest: say so once instead of failing per message. */
static int
need_templates(struct app *app)
{
	char err[1024];

	if (template_dir_readable(app->cfg->template_dir, err, sizeof(err)))
		return 0;
	fprintf(stderr, "leernet: templates: %s (set [paths] templates in %s "
	    "or $LEERNET_TEMPLATES, or install them with 'make install')\n",
	    err, app->cfg->file);
	return EXIT_CONFIG;
}

static int
cmd_once(struct app *app, int argc, char **argv)
{
	struct source *src;
	struct smtp *smtp = NULL;
	struct outbox_stats os;
	char err[1024];
	size_t handled = 0;
	int temporary, rc = 0;

	(void)argc;
	(void)argv;
	if ((rc = need_templates(app)) != 0 || (rc = take_lock(app)) != 0)
		return rc;
	src = source_open(app->cfg, &temporary, err, sizeof(err));
	if (src == NULL) {
		fprintf(stderr, "leernet: mailbox: %s\n", err);
		rc = temporary ? EXIT_TEMPFAIL : EXIT_CONFIG;
	} else {
		int r = handle_pending(app, src, &handled);

		if (r == -1)
			fprintf(stderr, "leernet: mailbox %s: a command "
			    "failed (see above); what was handled is "
			    "committed, the rest waits\n",
			    source_name(src));
		else if (r == -2)
			fprintf(stderr, "leernet: database %s: mail could not be "
			    "stored (see above); it stays in the inbox\n",
			    app->cfg->db_path);
		if (r == 0 && handle_expire_done(app, src, time(NULL)) == -1)
			fprintf(stderr, "leernet: mailbox %s: the done folder "
			    "could not be cleaned up (see above); tried again "
			    "next time\n", source_name(src));
		if (r != 0)
			rc = EXIT_TEMPFAIL;
		source_close(src);
	}
	if (rsvp_remind_attendance(app, time(NULL)) == -1)
		rc = rc ? rc : EXIT_SOFTWARE;
	if (app->changed && app->cfg->publish_dir) {
		time_t next = 0;

		/* Pages follow what this run changed, as the daemon does. */
		publish_if_due(app, time(NULL), &next);
	}
	/* Deliver what is queued even when the mailbox is away. */
	if (outbox_deliver(app, &smtp, time(NULL), &os) == -1) {
		fprintf(stderr, "leernet: outbox: not all could be "
		    "delivered now (the server or the database, see above); "
		    "what waits is kept and retried\n");
		rc = rc ? rc : EXIT_TEMPFAIL;
	}
	outbox_note_at_exit(app);
	if (smtp)
		smtp_free(smtp);
	if (outbox_prune(app, time(NULL)) == -1)
		rc = rc ? rc : EXIT_SOFTWARE;
	log_info("handled %zu message%s; sent %zu, deferred %zu, failed %zu",
	    handled, handled == 1 ? "" : "s", os.sent, os.deferred, os.failed);
	return rc;
}

/*
 * The outcome of check-config so far: a configuration error (78) stays,
 * whatever is found later; otherwise the first failure counts.
 */
static void
outcome(int *rc, int r)
{
	if (r != 0 && (*rc == 0 || r == EXIT_CONFIG))
		*rc = r;
}

/* A server's secret, fetched once before connecting: 0, or the exit status
 * for what is wrong (the line is printed). */
static int
check_secret(const struct server_conf *sc, const char *what)
{
	char err[1024], *secret;
	int permanent;

	if (sc->host == NULL || sc->user == NULL)
		return 0;
	if (!config_logs_in(sc)) {
		printf("%s: user %s has no password, password_file or "
		    "password_command: mail is sent without logging in\n",
		    what, sc->user);
		return 0;
	}
	if ((secret = config_secret_ex(sc, &permanent, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", what, err);
		return permanent ? EXIT_CONFIG : EXIT_TEMPFAIL;
	}
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return 0;
}

static void
template_problem(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "templates: %s\n", line);
}

static void
template_note(void *arg, const char *line)
{
	(void)arg;
	printf("templates: note: %s\n", line);
}

/*
 * Every template parses and uses only names leernet sets: an edit that
 * went wrong is found here rather than by the first teacher who needs it.
 */
static int
check_templates(const char *dir)
{
	const char *shipped = template_shipped_dir();
	int n;

	if ((n = template_check(dir, template_problem, NULL)) > 0) {
		if (template_names_checked(dir))
			fprintf(stderr, "templates %s: %d problem%s; until "
			    "fixed, those mails are written from the shipped "
			    "copies in %s ([paths] templates)\n", dir, n,
			    n == 1 ? "" : "s", shipped);
		else
			fprintf(stderr, "templates %s: %d problem%s ([paths] "
			    "templates)\n", dir, n, n == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	if (template_names_checked(dir)) {
		printf("templates %s: OK (names checked against %s)\n", dir,
		    shipped);
		(void)template_notes(dir, template_note, NULL);
	} else
		printf("templates %s: OK (names not checked: no shipped "
		    "templates besides these in %s)\n", dir, shipped);
	return 0;
}

/*
 * Can the pages be written: the directory, or where it will be made?
 * 0, or 73 as `publish` itself exits (the line is printed).
 */
static int
check_publish_dir(const char *dir)
{
	char err[1024], *d = xstrdup(dir), *slash;
	struct stat sb;
	int rc = 0;

	/* Not made yet: publish makes it, in its nearest existing parent. */
	while (stat(d, &sb) == -1 && (slash = strrchr(d, '/')) != NULL)
		*(slash == d ? slash + 1 : slash) = '\0';
	if (stat(d, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "publish: %s: %s is a file, not a directory\n",
		    d, strcmp(d, dir) == 0 ? "[publish] dir" :
		    "a parent of [publish] dir");
		rc = EXIT_CANTCREAT;
	} else if (access(d, W_OK) == -1 && errno == EROFS) {
		/* dir_writable judges rights only; the pages would fail. */
		fprintf(stderr, "publish: %s: read-only file system (a mount "
		    "option, or the unit's ReadWritePaths= leaves it out)\n",
		    d);
		rc = EXIT_CANTCREAT;
	} else if (strcmp(d, dir) != 0 && dir_writable(d,
	    "the parent of [publish] dir", err, sizeof(err)) == -1) {
		char me[32], grp[32];

		/* /var/www is not leernet's to own: make the directory. */
		user_name(geteuid(), me, sizeof(me));
		group_name(getegid(), grp, sizeof(grp));
		fprintf(stderr, "publish: %s: user %s cannot make [publish] dir "
		    "%s there (%s belongs to %s): make it for the service user "
		    "first (install -d -o %s -g %s %s)\n", d, me, dir, d,
		    user_name(sb.st_uid, err, sizeof(err)), me, grp, dir);
		rc = EXIT_CANTCREAT;
	} else if (dir_writable(d, "[publish] dir", err, sizeof(err)) == -1) {
		fprintf(stderr, "publish: %s\n", err);
		rc = EXIT_CANTCREAT;
	} else
		printf("publish %s: OK\n", dir);
	free(d);
	return rc;
}

/*
 * A password written in the file is any local user's to read when the file
 * is (make install puts the example there 0644).  A warning among the OK
 * lines, not an error: the admin may have reasons, but should know.
 */
static void
warn_readable_password(const struct config *cfg)
{
	const struct server_conf *sv[] = { &cfg->mailbox, &cfg->smtp };
	struct stat sb;

	if ((cfg->mailbox.password != NULL || cfg->smtp.password != NULL) &&
	    stat(cfg->file, &sb) == 0 && (sb.st_mode & S_IROTH) != 0)
		printf("warning: %s holds a password and every user on this "
		    "machine can read it: chmod o-r %s (or use password_file "
		    "in the service's credentials)\n", cfg->file, cfg->file);
	/* A password_file is the same secret, and as easy to leave 0644. */
	for (size_t i = 0; i < ARRAY_LEN(sv); i++)
		if (sv[i]->password_file != NULL &&
		    (i == 0 || sv[0]->password_file == NULL ||
		    strcmp(sv[0]->password_file, sv[i]->password_file) != 0) &&
		    stat(sv[i]->password_file, &sb) == 0 &&
		    (sb.st_mode & S_IROTH) != 0)
			printf("warning: [%s] password_file %s can be read by "
			    "every user on this machine: chmod o-r %s\n",
			    sv[i]->section, sv[i]->password_file,
			    sv[i]->password_file);
}

/*
 * check-config: the file (already loaded), the database, the templates,
 * then both servers.  OK lines go to stdout, every problem to stderr; the
 * exit status is 78 for anything in our configuration (a refused login or
 * certificate too), 69/75 for a server that is away.
 */
static int
cmd_check_config(struct app *app, int argc, char **argv)
{
	struct source *src;
	struct smtp *smtp;
	struct smtp_result res;
	const struct server_conf *sc = &app->cfg->smtp;
	char err[1024];
	int temporary, rc = 0, r;

	(void)argc;
	(void)argv;
	/* "check-config 2>&1 | tee": OK lines and problems in the order
	 * they happened, or "NOT OK (see above)" comes before the rest. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: syntax and values OK; checking the database, templates "
	    "and servers\n", app->cfg->file);
	warn_readable_password(app->cfg);
	if (app->cfg->coordinators == NULL || app->cfg->coordinators[0] == NULL)
		printf("note: [organization] coordinators is not set: a "
		    "proposal for a new network reaches nobody and cannot be "
		    "approved, and nobody gets the coordinators' digest of the "
		    "mail kept for people. Set it to the coordinators' "
		    "addresses\n");
	/* Answers to leernet's mail go to From: a mailbox other than the
	 * one it reads loses them, unless mail to From lands there too (a
	 * service account reading a shared mailbox is such a case). */
	if (app->cfg->mailbox.user != NULL && app->cfg->from_addr != NULL &&
	    strchr(app->cfg->mailbox.user, '@') != NULL &&
	    strcasecmp(app->cfg->mailbox.user, app->cfg->from_addr) != 0)
		printf("note: [smtp] from is %s, [mailbox] user %s: replies to "
		    "leernet's mail (confirmations, calendar answers) go to %s; "
		    "unless that mail lands in the mailbox leernet reads, make "
		    "the two the same address\n", app->cfg->from_addr,
		    app->cfg->mailbox.user, app->cfg->from_addr);
	if (app->cfg->trusted_authserv_id == NULL)
		/* The default, and a choice; but one an admin should know. */
		printf("note: [organization] trusted_authserv_id is not set: "
		    "mail to a network's list is passed on from anyone who "
		    "writes a member's address as From, forged or not; lead "
		    "commands are confirmed by mail. Set it to the name your "
		    "mail server writes in Authentication-Results\n");
	if (app->st != NULL)
		printf("database %s: schema version %d%s\n", app->cfg->db_path,
		    store_version(app->st), store_version(app->st) <
		    STORE_SCHEMA_VERSION ? "; 'leernet init' brings it up to "
		    "date" : "");
	else if (store_usable(app->cfg->db_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "database: %s\n", err);
		outcome(&rc, EXIT_CONFIG);
	} else
		printf("database %s: not made yet; 'leernet -c %s init' makes "
		    "it\n", app->cfg->db_path, app->cfg->file);
	if (!template_dir_readable(app->cfg->template_dir, err, sizeof(err))) {
		fprintf(stderr, "templates: %s ([paths] templates)\n", err);
		outcome(&rc, EXIT_CONFIG);
	} else
		outcome(&rc, check_templates(app->cfg->template_dir));
	if (app->cfg->publish_dir != NULL && *app->cfg->publish_dir)
		outcome(&rc, check_publish_dir(app->cfg->publish_dir));
	if ((r = check_secret(&app->cfg->mailbox, "mailbox")) != 0)
		outcome(&rc, r);
	else if ((src = source_open(app->cfg, &temporary, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "mailbox: %s\n", err);
		outcome(&rc, temporary ? EXIT_UNAVAIL : EXIT_CONFIG);
	} else {
		printf("mailbox %s: OK\n", source_name(src));
		source_close(src);
	}
	if ((r = check_secret(sc, "smtp")) != 0) {
		outcome(&rc, r);
		goto done;
	}
	if ((smtp = smtp_new(app->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "smtp: %s\n", err);
		outcome(&rc, EXIT_CONFIG);
		goto done;
	}
	smtp_probe(smtp, &res);
	smtp_free(smtp);
	if (res.status != SMTP_SENT) {
		fprintf(stderr, "smtp %s: %s\n", sc->url, res.text);
		outcome(&rc, res.config_fault ? EXIT_CONFIG : EXIT_UNAVAIL);
	} else if (config_logs_in(sc) && sc->tls == TLS_NONE &&
	    strcmp(sc->scheme, "smtp") == 0 &&
	    smtp_offers_auth(sc->host, sc->port, app->domain) == 0) {
		fprintf(stderr, "smtp %s: the server offers no login (AUTH) "
		    "without TLS, so [smtp] user and password would never be "
		    "used: use STARTTLS (tls = required) or remove user/"
		    "password\n", sc->url);
		outcome(&rc, EXIT_CONFIG);
	} else
		printf("smtp %s: OK\n", sc->url);
done:
	if (rc == 0)
		printf("configuration OK\n");
	else if (rc != EXIT_UNAVAIL && rc != EXIT_TEMPFAIL)
		fprintf(stderr, "%s: configuration NOT OK (see above)\n",
		    app->cfg->file);
	else
		/* Nothing to fix in the file; maybe in the network. */
		fprintf(stderr, "%s: not checked to the end: a server or "
		    "password_command failed for now (see above); try again "
		    "later\n", app->cfg->file);
	return rc;
}

/* `digest`: show what is due; `digest --send`: queue it and deliver. */
static int
cmd_digest(struct app *app, int argc, char **argv)
{
	struct digest_stats ds;
	struct outbox_stats os;
	struct smtp *smtp = NULL;
	char why[256];
	int send = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--send") == 0)
			send = 1;
		else {
			fprintf(stderr, "leernet: digest: unknown argument "
			    "'%s'\nusage: leernet digest [--send]\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	/* One per recipient per schedule (SPEC §5): a second --send in the
	 * same slot would send what the first left out, a day early.  The
	 * lock comes first: beside a running daemon, --send exits 75. */
	/* "Try again later" alone would fail a weekly cron job for ever
	 * beside the daemon, which holds the lock as long as it runs. */
	if (send && ((rc = need_templates(app)) != 0 ||
	    (rc = take_lock_or(app, "; beside 'leernet run', which sends "
	    "the digests itself, set [digest] schedule rather than sending "
	    "from cron ('leernet digest' shows what is due)")) != 0))
		return rc;
	if ((rc = digest_due(app, time(NULL), why, sizeof(why))) == -1)
		return EXIT_SOFTWARE;
	if (rc == 0) {
		printf("no digest due: %s\n", why);
		return 0;
	}
	rc = 0;
	if (!send) {
		if (digest_run(app, time(NULL), DIGEST_PREVIEW, 0, stdout,
		    &ds) == -1)
			return EXIT_SOFTWARE;
		if (ds.recipients == 0)
			printf("no digest due: nothing new since the last "
			    "one\n");
		else
			printf("%zu digest%s due with %zu item%s; nothing "
			    "sent (send with 'leernet digest --send')\n",
			    ds.recipients, ds.recipients == 1 ? "" : "s",
			    ds.items, ds.items == 1 ? "" : "s");
		return 0;
	}
	if (digest_run(app, time(NULL), DIGEST_SEND, 0, NULL, &ds) == -1)
		return EXIT_SOFTWARE;
	printf("%zu digest%s queued with %zu item%s\n", ds.recipients,
	    ds.recipients == 1 ? "" : "s", ds.items, ds.items == 1 ? "" : "s");
	if (outbox_deliver(app, &smtp, time(NULL), &os) == -1) {
		fprintf(stderr, "leernet: outbox: not all could be "
		    "delivered now (the server or the database, see above); "
		    "what waits is kept and retried\n");
		rc = EXIT_TEMPFAIL;
	}
	outbox_note_at_exit(app);
	if (smtp)
		smtp_free(smtp);
	return rc;
}

static int
cmd_run(struct app *app, int argc, char **argv)
{
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = need_templates(app)) != 0 || (rc = take_lock(app)) != 0)
		return rc;
	return daemon_run(app);
}

/* Every command: what it needs of the database, and how it takes words. */
#define CMD_NO_ARGS	0x1	/* a word after it is a mistake, not ignored */
#define CMD_OWN_HELP	0x2	/* has subcommands and answers --help itself */

static const struct command {
	const char	*name;
	enum db_need	 need;
	int		 flags;
	int		(*fn)(struct app *, int argc, char **argv);
} commands[] = {
	{ "init",		DB_ANY,		CMD_NO_ARGS,	cmd_init },
	{ "run",		DB_SCHEMA,	CMD_NO_ARGS,	cmd_run },
	{ "once",		DB_SCHEMA,	CMD_NO_ARGS,	cmd_once },
	{ "check-config",	DB_PEEK,	CMD_NO_ARGS,	cmd_check_config },
	{ "network",		DB_SCHEMA,	CMD_OWN_HELP,	cli_network },
	{ "member",		DB_SCHEMA,	CMD_OWN_HELP,	cli_member },
	{ "person",		DB_SCHEMA,	CMD_OWN_HELP,	cli_person },
	{ "outbox",		DB_SCHEMA,	CMD_OWN_HELP,	cli_outbox },
	{ "meeting",		DB_SCHEMA,	CMD_OWN_HELP,	cli_meeting },
	{ "report",		DB_SCHEMA,	CMD_OWN_HELP,	cli_report },
	{ "staff",		DB_SCHEMA,	0,		cli_staff },
	{ "digest",		DB_SCHEMA,	0,		cmd_digest },
	{ "publish",		DB_SCHEMA,	0,		publish_cmd },
};

/*
 * "leernet check-config -v", "leernet once -c /etc/…": -v and -c FILE
 * after the command mean what they mean before it, as people type them.
 * Taken out of argv (up to "--", and not as the value of an option that
 * takes one); returns the new argc.
 */
static int
late_options(int argc, char *argv[], const char **file, int *verbose)
{
	static const char *const valued[] = { "--title", "--lead",
	    "--question", "--network", "--year" };
	int i = 1, out = 1;

	while (i < argc) {
		int after_value = 0;

		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		for (size_t k = 0; k < ARRAY_LEN(valued); k++)
			after_value |= strcmp(argv[out - 1], valued[k]) == 0;
		if (!after_value && strcmp(argv[i], "-v") == 0) {
			*verbose = 1;
			i++;
		} else if (!after_value && strcmp(argv[i], "-c") == 0 &&
		    i + 1 < argc) {
			*file = argv[i + 1];
			i += 2;
		} else
			argv[out++] = argv[i++];
	}
	argv[out] = NULL;
	return out;
}

int
main(int argc, char *argv[])
{
	const char *file = NULL, *cmd;
	struct app app;
	const struct command *c;
	int ch, rc, verbose = 0;

	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (ulimit -f, LimitFSIZE=) makes a write fail
	 * with EFBIG, which the database reports like a full disk; the
	 * default action killed the daemon without a word. */
	signal(SIGXFSZ, SIG_IGN);
	log_init(LOG_LVL_INFO);
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "+c:vhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("leernet %s\n", LEERNET_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fputs("leernet: no command given\n", stderr);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[0];
	argc = late_options(argc, argv, &file, &verbose);
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (file == NULL)
		file = config_default_path();
	smtp_watch_stop(&handle_stop);

	for (c = commands; c < commands + ARRAY_LEN(commands); c++)
		if (strcmp(cmd, c->name) == 0)
			break;
	if (c == commands + ARRAY_LEN(commands)) {
		fprintf(stderr, "leernet: unknown command '%s'\n", cmd);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	/* Commands without subcommands answer --help before anything is
	 * opened. */
	if (argc > 1 && !(c->flags & CMD_OWN_HELP) &&
	    cli_wants_help(argc - 1, argv + 1)) {
		fputs(usage_text, stdout);
		return 0;
	}
	/* The commands of the mail servers take no arguments: an unknown
	 * one (once --dry-run) must not be run as if it were understood. */
	if (argc > 1 && (c->flags & CMD_NO_ARGS)) {
		fprintf(stderr, "leernet: %s: unexpected argument '%s' (%s "
		    "takes none)\n", cmd, argv[1], cmd);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if ((rc = app_open(&app, file, c->need)) != 0) {
		if (app.cfg || app.st)
			app_close(&app);
		return rc;
	}
	rc = c->fn(&app, argc - 1, argv + 1);
	app_close(&app);
	return rc;
}
