/*
 * cli_staff.c - `leernet staff import [--replace] FILE.csv`: the file read
 * and converted, its rows (src/staff.c parses them) stored in one
 * transaction, and the daemon woken for what they change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "staff.h"
#include "store.h"
#include "util.h"

#define FILE_MAX	(64u * 1024 * 1024)
#define PROGRESS_EVERY	1000	/* lines between two "lines read" notes */
#define EXIT_NOINPUT	66	/* sysexits.h EX_NOINPUT */

struct import {
	struct app	*app;
	const char	*path;
	time_t		 now;
	size_t		 shown, added, updated;	/* shown: lines, in notes */
	int		 dberr;
};

/* Counted in lines, not rows: whether line 1 was a header or a person
 * (or a "sep=" line came first) does not shift the count. */
static void
progress(struct import *im, size_t line)
{
	if (line / PROGRESS_EVERY > im->shown / PROGRESS_EVERY) {
		im->shown = line - line % PROGRESS_EVERY;
		fprintf(stderr, "%s: %zu lines read\n", im->path, im->shown);
	}
}

static int
import_row(const struct staff_entry *e, void *arg)
{
	struct import *im = arg;
	int rc;

	if (!config_domain_allowed(im->app->cfg, e->email))
		fprintf(stderr, "%s:%zu: warning: %s is outside the allowed "
		    "domains ([organization] domains); imported, but leernet "
		    "answers no mail from it\n", im->path, e->line, e->email);
	rc = store_staff_upsert(im->app->st, e->email, e->name, e->school,
	    e->function, im->now);
	if (rc == -1) {
		im->dberr = 1;
		return -1;
	}
	if (rc == 2)
		im->updated++;
	else
		im->added++;
	progress(im, e->line);
	return 0;
}

static void
import_bad(size_t line, const char *reason, void *arg)
{
	struct import *im = arg;

	fprintf(stderr, "%s:%zu: %s\n", im->path, line, reason);
	progress(im, line);
}

static void
import_note(size_t line, const char *text, void *arg)
{
	struct import *im = arg;

	fprintf(stderr, "%s:%zu: note: %s\n", im->path, line, text);
}

/* The whole file; NULL with a message on stderr. */
static char *
read_file(const char *path, size_t *len, int *status)
{
	struct stat sb;
	char *data;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		char who[PATH_MAX + 128], where[PATH_MAX], me[32], grp[32];
		int e = errno;

		/* The export in root's home, read by sudo -u leernet. */
		if (e == EACCES && path_unreadable(path, who, sizeof(who),
		    where, sizeof(where)) != -1)
			fprintf(stderr, "%s: Permission denied (%s): put the "
			    "file where user %s may read it (install -m 0640 "
			    "-g %s %s /var/lib/leernet/)\n", path, who,
			    user_name(geteuid(), me, sizeof(me)),
			    group_name(getegid(), grp, sizeof(grp)), path);
		else
			fprintf(stderr, "%s: %s\n", path, strerror(e));
		if (fd != -1)
			close(fd);
		*status = EXIT_NOINPUT;
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || (uintmax_t)sb.st_size > FILE_MAX) {
		fprintf(stderr, "%s: %s\n", path, !S_ISREG(sb.st_mode) ?
		    "not a regular file" : "larger than 64 MiB; is this the "
		    "staff list?");
		close(fd);
		*status = S_ISREG(sb.st_mode) ? EXIT_DATAERR : EXIT_NOINPUT;
		return NULL;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, data + got, (size_t)sb.st_size - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: %s\n", path, n == 0 ?
			    "shorter than expected" : strerror(errno));
			free(data);
			close(fd);
			*status = EXIT_NOINPUT;
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*len = got;
	return data;
}

static void
leavers_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int
import(struct app *app, int argc, char **argv)
{
	static const char use[] = "leernet staff import [--replace] "
	    "FILE.csv\n"
	    "       FILE.csv: one person per row, email,name,school"
	    "[,function]; a first row naming the columns may set their "
	    "order\n"
	    "       (UTF-8; fields separated by ',' or ';')\n"
	    "       --replace: FILE.csv is the whole directory; whoever it "
	    "no longer names is no longer staff";
	struct staff_cb cb = { import_row, import_bad, import_note, NULL };
	struct import im = { 0 };
	size_t len, rawlen, good, bad;
	char *data, *raw;
	char **leavers = NULL;
	size_t nleavers = 0;
	int rc, status = 0, replace, left = 0, converted;

	if ((rc = cli_group_usage("staff", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "import") != 0)
		return cli_usage(use, "unknown staff command '%s'", argv[0]);
	replace = argc >= 2 && strcmp(argv[1], "--replace") == 0;
	if (argc == 1 + replace)
		return cli_usage(use, "staff import: the FILE.csv is missing");
	if (argv[1 + replace][0] == '-')
		return cli_usage(use, "staff import: unknown option '%s'",
		    argv[1 + replace]);
	if (argc != 2 + replace)
		return cli_usage(use, "staff import: one FILE.csv, not '%s' "
		    "as well", argv[2 + replace]);
	if ((raw = read_file(argv[1 + replace], &rawlen, &status)) == NULL)
		return status;
	data = staff_to_utf8(raw, rawlen, &len, &converted);
	free(raw);
	if (data == NULL) {
		fprintf(stderr, "%s: neither UTF-8 nor Windows-1252 text; in "
		    "Excel save it as \"CSV UTF-8\"\n", argv[1 + replace]);
		return EXIT_DATAERR;
	}
	if (converted)
		fprintf(stderr, "%s: not UTF-8; read as Windows-1252 (Excel's "
		    "usual CSV) and converted\n", argv[1 + replace]);
	im.app = app;
	im.path = argv[1 + replace];
	im.now = time(NULL);
	cb.arg = &im;
	if (store_begin(app->st) == -1) {
		free(data);
		return EXIT_SOFTWARE;
	}
	rc = replace && store_staff_replace_begin(app->st) == -1 ? -2 : 0;
	if (rc == 0)
		rc = staff_parse(data, len, &cb, &good, &bad);
	free(data);
	/*
	 * A row skipped for a typo is somebody still at work: with
	 * --replace they would lose their staff status, so the whole file
	 * waits until it is right.
	 */
	if (rc == 0 && replace && bad > 0) {
		store_rollback(app->st);
		fprintf(stderr, "leernet: staff import --replace: nothing was "
		    "imported; fix the %zu bad row%s first (with --replace "
		    "everyone a skipped row names would stop being staff)\n",
		    bad, bad == 1 ? "" : "s");
		return EXIT_DATAERR;
	}
	/* An empty export is a mistake, not a foundation without staff. */
	if (rc == 0 && replace && good == 0) {
		store_rollback(app->st);
		fprintf(stderr, "leernet: staff import --replace: %s names "
		    "nobody; nothing was changed (with --replace everyone "
		    "would stop being staff)\n", im.path);
		return EXIT_DATAERR;
	}
	if (rc == 0 && replace && ((leavers = store_staff_leavers(app->st,
	    &nleavers)) == NULL ||
	    store_staff_replace_end(app->st, &left) == -1))
		rc = -2;
	if (rc == -2 || im.dberr || rc == -1 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		leavers_free(leavers);
		if (rc == -1)
			return EXIT_DATAERR;
		fprintf(stderr, "leernet: staff import: database error; nothing "
		    "was imported\n");
		return EXIT_SOFTWARE;
	}
	printf("%s: %zu %s added, %zu updated, %zu bad row%s skipped",
	    im.path, im.added, im.added == 1 ? "person" : "people", im.updated,
	    bad, bad == 1 ? "" : "s");
	if (replace)
		printf(", %d no longer staff", left);
	printf("\n");
	/* Leaving the foundation ends no membership: their mail keeps
	 * coming until someone acts. */
	for (size_t i = 0; i < nleavers; i++)
		fprintf(stderr, "%s%s", i == 0 ? "leernet: note: no longer "
		    "staff but still in networks (they get its mail until they "
		    "leave; 'leernet member remove SLUG EMAIL' takes them out, "
		    "'leernet person forget EMAIL' erases them): " : ", ",
		    leavers[i]);
	if (nleavers > 0)
		fprintf(stderr, "\n");
	leavers_free(leavers);
	return bad > 0 ? EXIT_DATAERR : 0;
}

/* Exit status: 0 every row good, 65 some rows (or the header) bad, 64
 * usage, 66 the file cannot be read, 70 a database error. */
int
cli_staff(struct app *app, int argc, char **argv)
{
	int rc = import(app, argc, argv);

	/* 65 may follow a commit too: the good rows of an import with a
	 * bad one are in.  A wake-up with nothing new costs one round. */
	if (rc == 0 || rc == EXIT_DATAERR)
		store_wake_daemon(app->st);
	return rc;
}
