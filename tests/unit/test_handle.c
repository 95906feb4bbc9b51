/*
 * test_handle.c - the pipeline of one message without a network: a real
 * store, the real templates and a Maildir source in a temporary directory.
 *
 *   exactly once	the same message twice: one answer, one mark
 *   one transaction	an answer that cannot be written (templates gone)
 *			leaves nothing behind: no mark, no outbox row, no
 *			person; the message is tried again and then answered
 *   kinds		machines silent, people left for people, junk failed
 *   handle_pending	moves each message where it belongs, after the commit
 *   batches		a backlog of large mail is read in parts (64 MB)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "app.h"
#include "config.h"
#include "dates.h"
#include "handle.h"
#include "log.h"
#include "source.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define NOW	1778745600	/* 2026-05-14, a Thursday */

struct fx {
	char		 dir[64];
	char		*maildir;
	char		*templates;
	struct app	 app;
};

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Into new/ as a delivery agent does: tmp/ first, then a rename. */
static void
deliver(struct fx *f, const char *name, const char *raw)
{
	char *tmp = xasprintf("%s/tmp/%s", f->maildir, name);
	char *dst = xasprintf("%s/new/%s", f->maildir, name);

	write_file(tmp, raw, strlen(raw));
	assert_int_equal(rename(tmp, dst), 0);
	free(tmp);
	free(dst);
}

static int
count_dir(const char *dir)
{
	char *cmd = xasprintf("ls -A %s 2>/dev/null | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

static char *
mail(const char *from, const char *subject, const char *extra,
    const char *msgid)
{
	return xasprintf("From: %s\r\nTo: lido@school.test\r\n%s"
	    "Subject: %s\r\nDate: Thu, 14 May 2026 09:00:00 +0200\r\n"
	    "Message-ID: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\nGroeten\r\n", from, extra, subject, msgid);
}

static size_t
outbox_rows(struct fx *f)
{
	size_t n;
	struct ob_row *rows = store_outbox_list(f->app.st, 1, &n);

	assert_non_null(rows);
	ob_rows_free(rows, n);
	return n;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	const char *data = getenv("LEERNET_TEST_DATA");
	char err[512], *conf, *text;

	snprintf(f->dir, sizeof(f->dir), "/tmp/leernet-handle-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->maildir = xasprintf("%s/Maildir", f->dir);
	for (size_t i = 0; i < 4; i++) {
		static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
		char *p = xasprintf("%s%s", f->maildir, sub[i]);

		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	/* tests/fixtures -> the repository's templates/ */
	f->templates = xasprintf("%s/../../templates",
	    data ? data : "tests/fixtures");
	conf = xasprintf("%s/leernet.conf", f->dir);
	text = xasprintf("[mailbox]\nurl = maildir:%s\n"
	    "[smtp]\nurl = smtp://127.0.0.1:1\ntls = none\n"
	    "from = LIDO leernetwerken <lido@school.test>\n"
	    "[database]\npath = %s/leernet.db\n"
	    "[organization]\nname = Stichting Test\ndomains = school.test\n"
	    "coordinators = femme@school.test\nlanguage = nl\n"
	    "timezone = Europe/Amsterdam\nmax_requests_per_hour = 3\n"
	    "[digest]\nschedule = off\n"
	    "[paths]\ntemplates = %s\n", f->maildir, f->dir, f->templates);
	write_file(conf, text, strlen(text));
	free(text);
	f->app.cfg = config_load(conf, err, sizeof(err));
	free(conf);
	if (f->app.cfg == NULL)
		fail_msg("config: %s", err);
	f->app.zone = dt_zone_load(f->app.cfg->timezone, err, sizeof(err));
	assert_non_null(f->app.zone);
	f->app.domain = xstrdup("school.test");
	f->app.st = store_open(f->app.cfg->db_path, err, sizeof(err));
	assert_non_null(f->app.st);
	assert_true(store_migrate(f->app.st, err, sizeof(err)) >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf %s", f->dir);

	store_close(f->app.st);
	dt_zone_free(f->app.zone);
	config_free(f->app.cfg);
	free(f->app.domain);
	template_cache_clear();
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->maildir);
	free(f->templates);
	free(f);
	handle_stop = 0;
	return 0;
}

static enum disposition
handle(struct fx *f, const char *raw)
{
	return handle_message(&f->app, raw, strlen(raw), NOW);
}

static void
test_exactly_once(void **state)
{
	struct fx *f = *state;
	char *raw = mail("alice@school.test", "hulp", "", "once@test");
	char outcome[64];

	assert_int_equal(handle(f, raw), DISP_DONE);
	assert_int_equal(outbox_rows(f), 1);
	/* The second copy: moved to done, not answered. */
	assert_int_equal(handle(f, raw), DISP_DONE);
	assert_int_equal(outbox_rows(f), 1);
	assert_int_equal(store_processed_get(f->app.st,
	    "once@test lido@school.test", outcome, sizeof(outcome)), 0);
	assert_string_equal(outcome, "answered");
	free(raw);
}

static void
test_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char *raw = mail("bob@school.test", "hulp", "", "rollback@test");
	char *good = f->app.cfg->template_dir, outcome[64];
	struct person p = { 0 };

	/* The answer cannot be rendered: the whole request is undone. */
	f->app.cfg->template_dir = xasprintf("%s/no-templates", f->dir);
	template_cache_clear();
	assert_int_equal(handle(f, raw), DISP_RETRY);
	assert_int_equal(outbox_rows(f), 0);
	assert_int_equal(store_processed_get(f->app.st,
	    "rollback@test lido@school.test", outcome, sizeof(outcome)), 1);
	assert_int_not_equal(store_person_get(f->app.st, "bob@school.test",
	    &p), 0);
	person_clear(&p);

	/* Tried again once the templates are back: answered, once. */
	free(f->app.cfg->template_dir);
	f->app.cfg->template_dir = good;
	template_cache_clear();
	assert_int_equal(handle(f, raw), DISP_DONE);
	assert_int_equal(outbox_rows(f), 1);
	assert_int_equal(store_person_get(f->app.st, "bob@school.test", &p),
	    0);
	person_clear(&p);
	free(raw);
}

static void
test_kinds(void **state)
{
	static const struct {
		const char	*from, *subject, *extra;
		enum disposition want;
		size_t		 answers;	/* outbox rows after it */
	} cases[] = {
		{ "a@school.test", "hulp", "Auto-Submitted: auto-replied\r\n",
		    DISP_DONE, 0 },
		{ "b@school.test", "hulp", "Precedence: bulk\r\n", DISP_DONE, 0 },
		{ "c@school.test", "hulp", "List-Id: <x.school.test>\r\n",
		    DISP_DONE, 0 },
		/* the null sender, returning none of our mail: backscatter */
		{ "d@school.test", "hulp", "Return-Path: <>\r\n", DISP_DONE, 0 },
		{ "d@school.test", "Afwezig", "Return-Path: <>\r\n"
		    "Auto-Submitted: auto-replied\r\n", DISP_DONE, 0 },
		/* a coordinator writing from the shared mailbox */
		{ "lido@school.test", "hulp", "", DISP_HUMAN, 0 },
		{ "lido@school.test", "hulp", "X-Loop: lido@school.test\r\n",
		    DISP_DONE, 0 },
		{ "e@school.test", "Afwezig: bijeenkomst 14 mei", "",
		    DISP_HUMAN, 0 },
		{ "e@school.test", "Automatisch antwoord: hulp", "", DISP_DONE,
		    0 },
		{ "f@school.test", "Een vraag", "", DISP_HUMAN, 0 },
		{ "g@school.test", "hulp", "Auto-Submitted: no\r\n", DISP_DONE,
		    1 },
		{ "buiten@other.test", "hulp", "", DISP_DONE, 2 },	/* refusal */
		{ "buiten@other.test", "hulp 2", "", DISP_DONE, 2 },	/* not again */
	};
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *id = xasprintf("kind%zu@test", i);
		char *raw = mail(cases[i].from, cases[i].subject,
		    cases[i].extra, id);
		enum disposition d = handle(f, raw);

		if (d != cases[i].want || outbox_rows(f) != cases[i].answers)
			fail_msg("case %zu (%s, %s): got %s and %zu answers", i,
			    cases[i].from, cases[i].subject, disposition_name(d),
			    outbox_rows(f));
		free(raw);
		free(id);
	}
}

static void
test_rate_limit(void **state)
{
	struct fx *f = *state;

	/* max_requests_per_hour = 3: the fourth is for the coordinators. */
	for (int i = 0; i < 5; i++) {
		char *id = xasprintf("rate%d@test", i);
		char *raw = mail("alice@school.test", "hulp", "", id);

		assert_int_equal(handle(f, raw), i < 3 ? DISP_DONE : DISP_HUMAN);
		free(raw);
		free(id);
	}
	assert_int_equal(outbox_rows(f), 3);
}

static void
test_unreadable(void **state)
{
	static const char *const junk[] = {
		"Subject: no From\r\nMessage-ID: <nofrom@test>\r\n\r\nhulp\r\n",
		"From: \r\nSubject: empty From\r\n\r\nhulp\r\n",
		"no header at all, just words\r\n",
		"",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(junk); i++)
		assert_int_equal(handle_message(&f->app, junk[i],
		    strlen(junk[i]), NOW), DISP_FAILED);
	assert_int_equal(outbox_rows(f), 0);
}

/* The fixture's Maildir as a source; the test fails with its reason. */
static struct source *
open_source(struct fx *f)
{
	char err[512];
	int temporary;
	struct source *src = source_open(f->app.cfg, &temporary, err,
	    sizeof(err));

	if (src == NULL)
		fail_msg("%s", err);
	return src;
}

static void
test_pending_moves_after_commit(void **state)
{
	struct fx *f = *state;
	struct source *src;
	char *raw, *done, *failed;
	size_t handled;

	raw = mail("alice@school.test", "hulp", "", "p1@test");
	deliver(f, "1.M1.test", raw);
	free(raw);
	raw = mail("bob@school.test", "Vraag", "", "p2@test");
	deliver(f, "2.M2.test", raw);
	free(raw);
	deliver(f, "3.M3.test", "Subject: nobody\r\n\r\nhulp\r\n");
	/* Handled before (a crash after the commit): only moved. */
	raw = mail("alice@school.test", "hulp", "", "p1@test");
	deliver(f, "4.M4.test", raw);
	free(raw);

	src = open_source(f);
	assert_int_equal(handle_pending(&f->app, src, &handled), 0);
	assert_int_equal(handled, 4);
	source_close(src);

	done = xasprintf("%s/.leernet.done/new", f->maildir);
	failed = xasprintf("%s/.leernet.failed/new", f->maildir);
	assert_int_equal(count_dir(done), 2);
	assert_int_equal(count_dir(failed), 1);
	free(done);
	free(failed);
	assert_int_equal(outbox_rows(f), 1);
	/* The question stays, unread, and is not fetched again. */
	done = xasprintf("%s/cur", f->maildir);
	assert_int_equal(count_dir(done), 1);
	free(done);
	src = open_source(f);
	assert_int_equal(handle_pending(&f->app, src, &handled), 0);
	assert_int_equal(handled, 0);
	source_close(src);
}

/*
 * More than one batch: the next batch is fetched while the last is being
 * handled, so a batch must neither be fetched twice nor skipped.  A
 * second fetch of a busy batch would count its messages twice.
 */
static void
test_pending_in_batches(void **state)
{
	struct fx *f = *state;
	struct source *src;
	char *dir;
	size_t handled;
	enum { N = 1103 };

	for (int i = 0; i < N; i++) {
		char *from = xasprintf("p%d@school.test", i);
		char *id = xasprintf("b%d@test", i);
		char *name = xasprintf("%d.M%d.test", 1000 + i, i);
		char *raw = mail(from, "hulp", "", id);

		deliver(f, name, raw);
		free(raw);
		free(name);
		free(id);
		free(from);
	}
	src = open_source(f);
	assert_int_equal(handle_pending(&f->app, src, &handled), 0);
	assert_int_equal(handled, N);
	source_close(src);
	dir = xasprintf("%s/.leernet.done/new", f->maildir);
	assert_int_equal(count_dir(dir), N);
	free(dir);
	dir = xasprintf("%s/new", f->maildir);
	assert_int_equal(count_dir(dir), 0);
	free(dir);
	assert_int_equal(outbox_rows(f), N);
}

static void
test_large_backlog_in_parts(void **state)
{
	struct fx *f = *state;
	struct source_batch b;
	struct source *src;
	size_t handled;

	/* Three mails of 40 MB (sparse files: cheap to make). */
	for (int i = 0; i < 3; i++) {
		char *name = xasprintf("%s/new/%d.big.test", f->maildir, i);
		char *raw = mail("alice@school.test", "hulp", "", "big@test");
		int fd = open(name, O_WRONLY | O_CREAT, 0600);

		assert_true(fd != -1);
		assert_int_equal(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
		assert_int_equal(ftruncate(fd, 40 * 1024 * 1024), 0);
		close(fd);
		free(raw);
		free(name);
	}
	src = open_source(f);
	assert_int_equal(source_fetch(src, 500, &b), 0);
	assert_int_equal(b.n, 1);
	source_batch_free(&b);
	/* The rest is news: no waiting before the next batch. */
	assert_int_equal(source_wait(src, 5000), SOURCE_WAIT_NEW);
	assert_int_equal(handle_pending(&f->app, src, &handled), 0);
	assert_int_equal(handled, 3);
	source_close(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exactly_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_moves_after_commit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_in_batches,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_backlog_in_parts,
		    setup, teardown),
	};

	log_init(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
