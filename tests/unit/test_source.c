/*
 * test_source.c - the source layer without a mail server: the Maildir
 * backend end to end in a temporary Maildir, the certificate checks on
 * certificates made with openssl for each run, and the pure name mappings.
 * IMAP itself is covered by tests/integration (Dovecot and a scripted peer).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "imap.h"
#include "log.h"
#include "maildir.h"
#include "source.h"
#include "tlsverify.h"
#include "util.h"

/* ---- helpers ---- */

static char *
path_of(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
path_of(const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *rel, *p;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	va_end(ap);
	p = xasprintf("%s/%s", dir, rel);
	free(rel);
	return p;
}

static int
exists(const char *dir, const char *rel)
{
	char *p = path_of(dir, "%s", rel);
	struct stat st;
	int r = lstat(p, &st) == 0;

	free(p);
	return r;
}

static char *
slurp(const char *path)
{
	struct buf b;
	char chunk[512];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return NULL;
	buf_init(&b, 0);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)r);
	close(fd);
	return buf_steal(&b);
}

static void
put_file(const char *dir, const char *rel, const char *body, time_t mtime)
{
	char *p = path_of(dir, "%s", rel);
	struct timespec ts[2];
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

/* Deliver as an MDA does: write in tmp/, rename into new/. */
static void
deliver(const char *dir, const char *name, const char *body)
{
	char *tmp = path_of(dir, "tmp/%s", name);
	char *dst = path_of(dir, "new/%s", name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	assert_int_equal(rename(tmp, dst), 0);
	free(tmp);
	free(dst);
}

static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a Maildir fixture ---- */

struct md_fixture {
	char		 dir[64];
	struct config	 conf;
};

static int
md_setup(void **state)
{
	struct md_fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/leernet-md-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	for (int i = 0; i < 3; i++) {
		static const char *const sub[] = { "cur", "new", "tmp" };
		char *p = path_of(f->dir, "%s", sub[i]);

		if (mkdir(p, 0700) == -1)
			return -1;
		free(p);
	}
	f->conf.mailbox.scheme = "maildir";
	f->conf.mailbox.url = "maildir:/tmp";
	f->conf.mailbox.path = f->dir;
	f->conf.mailbox.section = "mailbox";
	f->conf.idle = 1;
	f->conf.poll_interval = 1;
	f->conf.done_folder = "leernet/done";
	f->conf.failed_folder = "leernet/failed";
	*state = f;
	return 0;
}

static int
md_teardown(void **state)
{
	struct md_fixture *f = *state;

	rm_rf(f->dir);
	free(f);
	return 0;
}

static struct source *
md_open(struct md_fixture *f)
{
	char err[512] = "";
	int temporary = -1;
	struct source *src = source_open(&f->conf, &temporary, err,
	    sizeof(err));

	if (src == NULL)
		fail_msg("source_open: %s", err);
	return src;
}

/* ---- Maildir: fetch ---- */

static void
test_maildir_fetch_oldest_first(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;

	/* Names in another order than age: age decides. */
	put_file(f->dir, "new/1700000003.M1P1.host", "Subject: c\r\n\r\nc", 3000);
	put_file(f->dir, "new/1700000001.M1P1.host", "Subject: b\r\n\r\nb", 2000);
	put_file(f->dir, "cur/1700000002.M1P1.host:2,S", "Subject: a\r\n\r\na",
	    1000);
	src = md_open(f);
	{
		char *want = xasprintf("maildir:%s", f->dir);

		assert_string_equal(source_name(src), want);
		free(want);
	}

	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.msgs[0].key, "1700000002.M1P1.host");
	assert_string_equal(b.msgs[1].key, "1700000001.M1P1.host");
	assert_string_equal(b.msgs[2].key, "1700000003.M1P1.host");
	assert_int_equal(b.msgs[0].len, strlen("Subject: a\r\n\r\na"));
	assert_memory_equal(b.msgs[0].data, "Subject: a\r\n\r\na", b.msgs[0].len);
	assert_true(b.msgs[0].uid < b.msgs[1].uid);
	assert_true(b.msgs[1].uid < b.msgs[2].uid);
	/* Fetching does not move or mark anything. */
	assert_true(exists(f->dir, "new/1700000003.M1P1.host"));
	assert_true(exists(f->dir, "cur/1700000002.M1P1.host:2,S"));
	source_batch_free(&b);
	assert_null(b.msgs);
	assert_int_equal(b.n, 0);

	/* max 0 is an empty batch, not an error. */
	assert_int_equal(source_fetch(src, 0, &b), 0);
	assert_int_equal(b.n, 0);
	source_close(src);
}

/* n one-byte messages new/m0, new/m1, ..., oldest first. */
static void
put_numbered(struct md_fixture *f, int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "new/m%d", i);
		put_file(f->dir, name, "x", 1000 + i);
	}
}

static void
test_maildir_fetch_in_batches(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;

	put_numbered(f, 5);
	src = md_open(f);
	assert_int_equal(source_fetch(src, 2, &b), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.msgs[0].key, "m0");
	assert_string_equal(b.msgs[1].key, "m1");
	/* More are waiting: no sleeping before fetching them. */
	assert_int_equal(source_wait(src, 5000), SOURCE_WAIT_NEW);
	assert_int_equal(source_done(src, b.msgs, b.n), 0);
	source_batch_free(&b);
	assert_int_equal(source_fetch(src, 2, &b), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.msgs[0].key, "m2");
	source_batch_free(&b);
	source_close(src);
}

/* A batch still being handled is not fetched again; the next one is. */
static void
test_maildir_fetch_except_busy(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch busy, b;
	struct source *src;

	put_numbered(f, 5);
	src = md_open(f);
	assert_int_equal(source_fetch(src, 2, &busy), 0);
	assert_int_equal(busy.n, 2);
	assert_int_equal(source_fetch_except(src, 10, &busy, &b), 0);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.msgs[0].key, "m2");
	assert_string_equal(b.msgs[2].key, "m4");
	source_batch_free(&b);
	source_batch_free(&busy);
	/* Without busy, m0 and m1 are pending still: nothing moved them. */
	assert_int_equal(source_fetch_except(src, 10, NULL, &busy), 0);
	assert_int_equal(busy.n, 5);
	/* Everything busy: an empty batch, not an error. */
	assert_int_equal(source_fetch_except(src, 10, &busy, &b), 0);
	assert_int_equal(b.n, 0);
	source_batch_free(&busy);
	source_close(src);
}

static void
test_maildir_empty(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src = md_open(f);

	assert_int_equal(source_fetch(src, 100, &b), 0);
	assert_int_equal(b.n, 0);
	assert_null(b.msgs);
	source_batch_free(&b);
	source_close(src);
}

/* Whatever is in new/ or cur/ but is no message must not become one. */
static void
test_maildir_malformed_names(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;
	char *p, *outside;

	put_file(f->dir, "new/good1", "1", 1000);
	put_file(f->dir, "cur/good2:2,", "2", 1001);
	put_file(f->dir, "cur/weird:1,odd", "3", 1002);	/* unknown info */
	put_file(f->dir, "new/.hidden", "x", 1003);
	put_file(f->dir, "new/:2,S", "x", 1004);		/* no unique part */
	put_file(f->dir, "new/bad\x01name", "x", 1005);
	put_file(f->dir, "new/line\nbreak", "x", 1006);
	put_file(f->dir, "cur/gone:2,ST", "x", 1007);	/* trashed */
	p = path_of(f->dir, "new/adir");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	/* A symlink could make us read (and answer with) any file. */
	outside = path_of(f->dir, "secret");
	put_file(f->dir, "secret", "root:x:0:0", 1008);
	p = path_of(f->dir, "new/link");
	assert_int_equal(symlink(outside, p), 0);
	free(p);
	free(outside);
	/* The same unique name twice (new/ and cur/): one message. */
	put_file(f->dir, "new/twice", "t", 1010);
	put_file(f->dir, "cur/twice:2,S", "t", 1010);

	src = md_open(f);
	assert_int_equal(source_fetch(src, 100, &b), 0);
	assert_int_equal(b.n, 4);
	assert_string_equal(b.msgs[0].key, "good1");
	assert_string_equal(b.msgs[1].key, "good2");
	assert_string_equal(b.msgs[2].key, "weird");
	assert_string_equal(b.msgs[3].key, "twice");
	source_batch_free(&b);
	source_close(src);
}

/* ---- Maildir: done, failed ---- */

static void
test_maildir_done_and_failed(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;

	put_file(f->dir, "new/a", "A", 1000);
	put_file(f->dir, "cur/b:2,FS", "B", 1001);
	put_file(f->dir, "new/c", "C", 1002);
	src = md_open(f);
	/* The folders exist from the start, as Maildir++ subfolders. */
	assert_true(exists(f->dir, ".leernet.done/cur"));
	assert_true(exists(f->dir, ".leernet.done/new"));
	assert_true(exists(f->dir, ".leernet.done/tmp"));
	assert_true(exists(f->dir, ".leernet.done/maildirfolder"));
	assert_true(exists(f->dir, ".leernet.failed/new"));

	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(source_done(src, &b.msgs[0], 2), 0);
	assert_int_equal(source_failed(src, &b.msgs[2], 1), 0);
	/* new/ stays new/, cur/ keeps its flags. */
	assert_true(exists(f->dir, ".leernet.done/new/a"));
	assert_true(exists(f->dir, ".leernet.done/cur/b:2,FS"));
	assert_true(exists(f->dir, ".leernet.failed/new/c"));
	assert_false(exists(f->dir, "new/a"));
	assert_false(exists(f->dir, "cur/b:2,FS"));
	assert_false(exists(f->dir, "new/c"));

	/* Moving what is gone already is no error: it left the inbox. */
	assert_int_equal(source_done(src, &b.msgs[0], 1), 0);
	source_batch_free(&b);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 0);
	source_close(src);
}

static void
test_maildir_done_never_overwrites(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;
	char *p, *cmd, *body;

	src = md_open(f);
	/* A copy of the same mail was handled before. */
	put_file(f->dir, ".leernet.done/new/dup", "OLD", 900);
	put_file(f->dir, "new/dup", "NEW", 1000);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(source_done(src, b.msgs, 1), 0);
	source_batch_free(&b);
	assert_false(exists(f->dir, "new/dup"));
	p = path_of(f->dir, ".leernet.done/new/dup");
	body = slurp(p);
	assert_string_equal(body, "OLD");
	free(body);
	free(p);
	/* Both are there: the old one and a renamed new one. */
	cmd = xasprintf("test $(ls '%s/.leernet.done/new' | grep -c '^dup') "
	    "-eq 2", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	source_close(src);
}

static void
test_maildir_nested_folder_names(void **state)
{
	struct md_fixture *f = *state;
	struct source *src;

	f->conf.done_folder = "Archief/leernet/klaar";
	f->conf.failed_folder = "mislukt";
	src = md_open(f);
	assert_true(exists(f->dir, ".Archief.leernet.klaar/new"));
	assert_true(exists(f->dir, ".mislukt/cur"));
	source_close(src);
}

/* ---- Maildir: mail for people ---- */

static void
test_maildir_human(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;
	char *p, *list;

	put_file(f->dir, "new/q1", "question 1", 1000);
	put_file(f->dir, "cur/q2:2,FS", "question 2", 1001);
	put_file(f->dir, "new/cmd", "help", 1002);
	src = md_open(f);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 3);
	assert_int_equal(source_human(src, b.msgs, 2), 0);
	source_batch_free(&b);

	/* Left in the inbox, unread (no S), and out of our way. */
	assert_true(exists(f->dir, "cur/q1:2,"));
	assert_true(exists(f->dir, "cur/q2:2,F"));
	assert_false(exists(f->dir, "new/q1"));
	p = path_of(f->dir, ".leernet-human");
	list = slurp(p);
	assert_non_null(list);
	assert_non_null(strstr(list, "q1\n"));
	assert_non_null(strstr(list, "q2\n"));
	free(list);

	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.msgs[0].key, "cmd");
	source_batch_free(&b);
	source_close(src);

	/* Remembered across restarts. */
	src = md_open(f);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.msgs[0].key, "cmd");
	source_batch_free(&b);
	source_close(src);

	/* A coordinator files q1 away: the list forgets it at next open. */
	{
		char *from = path_of(f->dir, "cur/q1:2,");
		char *to = path_of(f->dir, ".leernet.done/cur/q1:2,S");

		assert_int_equal(rename(from, to), 0);
		free(from);
		free(to);
	}
	src = md_open(f);
	list = slurp(p);
	assert_null(strstr(list, "q1"));
	assert_non_null(strstr(list, "q2\n"));
	free(list);
	/* And if a coordinator puts q1 back into the inbox, it is read. */
	put_file(f->dir, "cur/q1:2,S", "question 1", 1000);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.msgs[0].key, "q1");
	source_batch_free(&b);
	source_close(src);
	free(p);
}

/* ---- Maildir: waiting ---- */

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void
test_maildir_wait(void **state)
{
	struct md_fixture *f = *state;
	struct source_batch b;
	struct source *src;
	struct sigaction sa;
	struct itimerval it;
	int64_t t0;
	pid_t pid;
	int status;

	src = md_open(f);
	/* Right after open everything is news. */
	assert_int_equal(source_wait(src, 5000), SOURCE_WAIT_NEW);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	source_batch_free(&b);

	t0 = ms_now();
	assert_int_equal(source_wait(src, 200), SOURCE_WAIT_TIMEOUT);
	assert_true(ms_now() - t0 >= 190);

	/* Delivered while we were busy: seen at once. */
	deliver(f->dir, "m1", "one");
	t0 = ms_now();
	assert_int_equal(source_wait(src, 5000), SOURCE_WAIT_NEW);
	assert_true(ms_now() - t0 < 1000);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 1);
	source_batch_free(&b);

	/* Delivered while we wait: woken, not at the timeout. */
	if ((pid = fork()) == 0) {
		/* The parent's source is not the child's to keep (valgrind
		 * counts it lost when the child exits). */
		source_close(src);
		usleep(150 * 1000);
		deliver(f->dir, "m2", "two");
		_exit(0);
	}
	t0 = ms_now();
	assert_int_equal(source_wait(src, 10000), SOURCE_WAIT_NEW);
	assert_true(ms_now() - t0 < 5000);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(source_fetch(src, 10, &b), 0);
	assert_int_equal(b.n, 2);
	source_batch_free(&b);

	/* A signal ends the wait early. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 100 * 1000;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = ms_now();
	assert_int_equal(source_wait(src, 10000), SOURCE_WAIT_TIMEOUT);
	assert_true(ms_now() - t0 < 5000);
	assert_int_equal(alarms, 1);
	signal(SIGALRM, SIG_DFL);
	source_close(src);
}

/* ---- open errors ---- */

static void
test_open_errors(void **state)
{
	struct md_fixture *f = *state;
	struct config c = f->conf;
	char err[512];
	int temporary = -1;
	char *p;

	c.mailbox.scheme = "pop3";
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_int_equal(temporary, 0);
	assert_non_null(strstr(err, "unknown scheme 'pop3'"));

	c = f->conf;
	p = path_of(f->dir, "new");
	c.mailbox.path = p;		/* a directory, but no Maildir */
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_int_equal(temporary, 0);
	assert_non_null(strstr(err, "not a Maildir"));
	free(p);

	c = f->conf;
	c.mailbox.path = "/nonexistent/leernet";
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_non_null(strstr(err, "not a Maildir"));

	c = f->conf;
	c.done_folder = "../../etc";
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_non_null(strstr(err, "done_folder"));

	c = f->conf;
	c.failed_folder = "";
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_non_null(strstr(err, "failed_folder"));

	/* Plaintext IMAP to a remote host: refused before connecting. */
	c = f->conf;
	c.mailbox.scheme = "imap";
	c.mailbox.host = "imap.example.org";
	c.mailbox.port = 143;
	c.mailbox.tls = TLS_NONE;
	c.mailbox.path = "INBOX";
	temporary = -1;
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_int_equal(temporary, 0);
	assert_string_equal(err, "imap imap.example.org:143: tls = none is "
	    "only allowed for a loopback host (127.0.0.1, ::1, localhost)");

	/* Nobody listens: temporary, named. */
	c.mailbox.host = "127.0.0.1";
	c.mailbox.port = 1;
	assert_null(source_open(&c, &temporary, err, sizeof(err)));
	assert_int_equal(temporary, 1);
	assert_non_null(strstr(err, "imap 127.0.0.1:1: cannot connect"));
}

/* ---- pure mappings ---- */

static void
test_maildir_folder_path(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} t[] = {
		{ "leernet/done", "/m/.leernet.done" },
		{ "done", "/m/.done" },
		{ "a/b/c", "/m/.a.b.c" },
		{ "Afgehandeld ✓", "/m/.Afgehandeld &JxM-" },
		{ "Tom & Jerry", "/m/.Tom &- Jerry" },
		{ "\xff", NULL },
		{ "", NULL },
		{ "/abs", NULL },
		{ "a//b", NULL },
		{ "a/", NULL },
		{ "..", NULL },
		{ "a/../b", NULL },
		{ "a/./b", NULL },
		{ ".hidden", NULL },
		{ "tab\there", NULL },
		{ "nl\n", NULL },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *got = maildir_folder_path("/m", t[i].in);

		if (t[i].out == NULL) {
			if (got != NULL)
				fail_msg("'%s' gave '%s'", t[i].in, got);
		} else {
			if (got == NULL)
				fail_msg("'%s' refused", t[i].in);
			assert_string_equal(got, t[i].out);
		}
		free(got);
	}
	assert_null(maildir_folder_path("/m", NULL));
}

static void
test_imap_mailbox_encode(void **state)
{
	static const struct {
		const char	*in;
		char		 sep;
		const char	*out;
	} t[] = {
		{ "leernet/done", '.', "leernet.done" },
		{ "leernet/done", '/', "leernet/done" },
		{ "leernet/done", 0, "leernet/done" },
		{ "INBOX", '.', "INBOX" },
		{ "Tom & Jerry", '.', "Tom &- Jerry" },
		/* RFC 3501 §5.1.3's own example. */
		{ "~peter/mail/台北/日本語", '/', "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		{ "Afgehandeld ✓", '.', "Afgehandeld &JxM-" },
		{ "é", '.', "&AOk-" },
		{ "😀", '.', "&2D3eAA-" },		/* a surrogate pair */
		{ "a/é/b", '.', "a.&AOk-.b" },
		{ "", '.', NULL },
		{ "/x", '.', NULL },
		{ "x/", '.', NULL },
		{ "a//b", '.', NULL },
		{ "tab\there", '.', NULL },
		{ "del\x7f", '.', NULL },
		{ "\xff\xfe", '.', NULL },		/* not UTF-8 */
		{ "\xc0\xaf", '.', NULL },		/* overlong '/' */
		{ "\xed\xa0\x80", '.', NULL },		/* a lone surrogate */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		char *got = imap_mailbox_encode(t[i].in, t[i].sep);

		if (t[i].out == NULL) {
			if (got != NULL)
				fail_msg("'%s' gave '%s'", t[i].in, got);
		} else {
			if (got == NULL)
				fail_msg("'%s' refused", t[i].in);
			assert_string_equal(got, t[i].out);
		}
		free(got);
	}
}

/* ---- certificates ---- */

struct certs {
	char	 dir[64];
	char	*ca_pem;		/* the CA that issued server certs */
	char	*other_ca_pem;		/* a CA that issued nothing here */
};

static void
openssl(const char *dir, const char *args)
{
	char *cmd = xasprintf("cd '%s' && openssl %s >/dev/null 2>&1", dir,
	    args);

	if (system(cmd) != 0)
		fail_msg("openssl failed: %s", cmd);
	free(cmd);
}

/* A server certificate signed by ca.pem: name.der, with ext as given. */
static void
make_server_cert(const char *dir, const char *name, const char *ext,
    const char *days)
{
	char *a;

	a = xasprintf("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	    "-nodes -keyout %s.key -out %s.csr -subj /CN=%s", name, name,
	    name);
	openssl(dir, a);
	free(a);
	{
		char *p = path_of(dir, "%s.ext", name);
		FILE *fp = fopen(p, "w");

		assert_non_null(fp);
		fputs(ext, fp);
		fclose(fp);
		free(p);
	}
	a = xasprintf("x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out %s.pem -days %s -extfile %s.ext", name,
	    name, days, name);
	openssl(dir, a);
	free(a);
	a = xasprintf("x509 -in %s.pem -outform DER -out %s.der", name, name);
	openssl(dir, a);
	free(a);
}

static int
certs_setup(void **state)
{
	struct certs *c = xcalloc(1, sizeof(*c));

	snprintf(c->dir, sizeof(c->dir), "/tmp/leernet-tls-XXXXXX");
	if (mkdtemp(c->dir) == NULL)
		return -1;
	openssl(c->dir, "req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
	    "-days 3 -subj /CN=leernet-test-CA");
	openssl(c->dir, "req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem "
	    "-days 3 -subj /CN=leernet-other-CA");
	make_server_cert(c->dir, "mail.test",
	    "subjectAltName=DNS:mail.test,DNS:*.wild.test,IP:127.0.0.1,"
	    "IP:::1\nextendedKeyUsage=serverAuth\n", "3");
	make_server_cert(c->dir, "expired.test",
	    "subjectAltName=DNS:expired.test\n", "-1");
	make_server_cert(c->dir, "client.test",
	    "subjectAltName=DNS:client.test\nextendedKeyUsage=clientAuth\n",
	    "3");
	c->ca_pem = path_of(c->dir, "ca.pem");
	c->other_ca_pem = path_of(c->dir, "other.pem");
	*state = c;
	return 0;
}

static int
certs_teardown(void **state)
{
	struct certs *c = *state;

	rm_rf(c->dir);
	free(c->ca_pem);
	free(c->other_ca_pem);
	free(c);
	return 0;
}

static int
verify(const struct certs *c, const char *cert, const char *host,
    const char *ca, char *err, size_t errlen)
{
	char *p = path_of(c->dir, "%s.der", cert);
	struct tls_cert tc;
	struct stat st;
	char *der;
	int fd, r;

	assert_int_equal(stat(p, &st), 0);
	der = xmalloc((size_t)st.st_size);
	fd = open(p, O_RDONLY);
	assert_int_equal(read(fd, der, (size_t)st.st_size), st.st_size);
	close(fd);
	tc.der = der;
	tc.len = (size_t)st.st_size;
	err[0] = '\0';
	r = tlsverify_chain(&tc, 1, host, ca, err, errlen);
	free(der);
	free(p);
	return r;
}

static void
test_tls_accepts_right_ca_and_name(void **state)
{
	struct certs *c = *state;
	char err[256];

	assert_int_equal(verify(c, "mail.test", "mail.test", c->ca_pem, err,
	    sizeof(err)), 0);
	assert_int_equal(verify(c, "mail.test", "MAIL.TEST", c->ca_pem, err,
	    sizeof(err)), 0);
	assert_int_equal(verify(c, "mail.test", "imap.wild.test", c->ca_pem,
	    err, sizeof(err)), 0);
	assert_int_equal(verify(c, "mail.test", "127.0.0.1", c->ca_pem, err,
	    sizeof(err)), 0);
	assert_int_equal(verify(c, "mail.test", "::1", c->ca_pem, err,
	    sizeof(err)), 0);
	assert_int_equal(verify(c, "mail.test", "[::1]", c->ca_pem, err,
	    sizeof(err)), 0);
}

static void
test_tls_refuses_wrong_name(void **state)
{
	struct certs *c = *state;
	static const char *const hosts[] = {
		"other.test", "mail.test.evil", "a.b.wild.test", "wild.test",
		"127.0.0.2", "::2", "mail", "",
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_LEN(hosts); i++) {
		if (verify(c, "mail.test", hosts[i], c->ca_pem, err,
		    sizeof(err)) != -1)
			fail_msg("host '%s' accepted", hosts[i]);
		assert_string_equal(err,
		    "certificate not trusted: name does not match");
	}
}

static void
test_tls_refuses_unknown_issuer(void **state)
{
	struct certs *c = *state;
	char err[256];

	/* The system store does not know our test CA. */
	assert_int_equal(verify(c, "mail.test", "mail.test", NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "certificate not trusted: issuer unknown");
	/* Nor does another private CA. */
	assert_int_equal(verify(c, "mail.test", "mail.test", c->other_ca_pem,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "certificate not trusted: issuer unknown");
	/* A CA certificate is no server certificate for itself either. */
	openssl(c->dir, "x509 -in other.pem -outform DER -out other.der");
	assert_int_equal(verify(c, "other", "leernet-other-CA", c->ca_pem,
	    err, sizeof(err)), -1);
}

static void
test_tls_refuses_expired_and_client_certs(void **state)
{
	struct certs *c = *state;
	char err[256];

	assert_int_equal(verify(c, "expired.test", "expired.test", c->ca_pem,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "certificate not trusted: expired");
	assert_int_equal(verify(c, "client.test", "client.test", c->ca_pem,
	    err, sizeof(err)), -1);
	assert_string_equal(err,
	    "certificate not trusted: not issued for a TLS server");
}

static void
test_tls_hostile_input(void **state)
{
	struct certs *c = *state;
	struct tls_cert junk[20];
	char err[256], *missing;
	static const char garbage[] = "\x30\x82\xff\xff not DER at all";

	for (size_t i = 0; i < ARRAY_LEN(junk); i++) {
		junk[i].der = garbage;
		junk[i].len = sizeof(garbage) - 1;
	}
	assert_int_equal(tlsverify_chain(junk, 0, "mail.test", c->ca_pem, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "server sent no certificate");
	assert_int_equal(tlsverify_chain(junk, 1, "mail.test", c->ca_pem, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unreadable certificate 0"));
	assert_int_equal(tlsverify_chain(junk, ARRAY_LEN(junk), "mail.test",
	    c->ca_pem, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chain too long"));
	junk[0].len = 0;
	assert_int_equal(tlsverify_chain(junk, 1, "mail.test", c->ca_pem, err,
	    sizeof(err)), -1);

	/* A ca_file that is not there is a clear error, not "unknown". */
	missing = path_of(c->dir, "missing.pem");
	assert_int_equal(verify(c, "mail.test", "mail.test", missing, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "ca_file"));
	free(missing);
	/* Nor is a ca_file with no certificate in it. */
	assert_int_equal(verify(c, "mail.test", "mail.test",
	    "/dev/null", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ca_file /dev/null"));
}

int
main(void)
{
	const struct CMUnitTest md_tests[] = {
		cmocka_unit_test_setup_teardown(test_maildir_fetch_oldest_first,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_fetch_in_batches,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_fetch_except_busy,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_empty,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_malformed_names,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_done_and_failed,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(
		    test_maildir_done_never_overwrites, md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(
		    test_maildir_nested_folder_names, md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_human,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_maildir_wait,
		    md_setup, md_teardown),
		cmocka_unit_test_setup_teardown(test_open_errors,
		    md_setup, md_teardown),
		cmocka_unit_test(test_maildir_folder_path),
		cmocka_unit_test(test_imap_mailbox_encode),
	};
	const struct CMUnitTest tls_tests[] = {
		cmocka_unit_test(test_tls_accepts_right_ca_and_name),
		cmocka_unit_test(test_tls_refuses_wrong_name),
		cmocka_unit_test(test_tls_refuses_unknown_issuer),
		cmocka_unit_test(test_tls_refuses_expired_and_client_certs),
		cmocka_unit_test(test_tls_hostile_input),
	};
	int fails;

	/* main() of leernet ignores SIGPIPE; a test must say so itself. */
	signal(SIGPIPE, SIG_IGN);
	log_init(getenv("LEERNET_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	fails = cmocka_run_group_tests_name("source", md_tests, NULL, NULL);
	fails += cmocka_run_group_tests_name("tlsverify", tls_tests,
	    certs_setup, certs_teardown);
	return fails ? 1 : 0;
}
