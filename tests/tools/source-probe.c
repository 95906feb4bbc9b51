/*
 * source-probe.c - drive the source layer from the command line, for the
 * integration tests and for looking at a real mailbox by hand.
 *
 *   source-probe CONFIG COMMAND... where each COMMAND is one of
 *	fetch [MAX]	print "UID KEY LENGTH SUBJECT" per pending message
 *	wait MS		print "new|timeout|error ELAPSED_MS"
 *	done UID...	fetch, then move those messages to done_folder
 *	failed UID...	... to failed_folder
 *	human UID...	... leave them for people
 *	name		print source_name()
 *
 * Commands run in order on one session ("fetch wait 5000" is what a daemon
 * does).  Exit: 0, 1 when a command failed, 64 usage, 75 cannot connect
 * (temporary), 78 configuration.  LEERNET_DEBUG=1 logs at debug level.
 * SIGUSR1 / SIGINT / SIGTERM interrupt a wait, as in the daemon.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "source.h"
#include "util.h"

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static void
usage(void)
{
	fprintf(stderr, "usage: source-probe CONFIG fetch [MAX] | wait MS | "
	    "done UID... | failed UID... | human UID... | name ...\n");
	exit(64);
}

static int
is_command(const char *s)
{
	static const char *const cmds[] = { "fetch", "wait", "done", "failed",
	    "human", "name" };

	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(s, cmds[i]) == 0)
			return 1;
	return 0;
}

static int
is_number(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Subject of a raw message, on one line, for eyes and tests. */
static void
print_subject(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (l >= 8 && strncasecmp(p, "subject:", 8) == 0) {
			for (size_t i = 8; i < l; i++)
				if (p[i] != '\r')
					putchar((unsigned char)p[i] < 0x20 ?
					    '?' : p[i]);
			return;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
}

int
main(int argc, char **argv)
{
	struct config *conf;
	struct source *src;
	struct sigaction sa;
	char err[1024];
	int temporary, i, status = 0;

	if (argc < 3)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(getenv("LEERNET_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits end early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if ((conf = config_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "source-probe: %s\n", err);
		return 78;
	}
	if ((src = source_open(conf, &temporary, err, sizeof(err))) == NULL) {
		fprintf(stderr, "source-probe: %s\n", err);
		config_free(conf);
		return temporary ? 75 : 78;
	}

	for (i = 2; i < argc && status == 0;) {
		const char *cmd = argv[i++];
		struct source_batch b;

		if (strcmp(cmd, "name") == 0) {
			printf("%s\n", source_name(src));
		} else if (strcmp(cmd, "fetch") == 0) {
			size_t max = 1000000;

			if (i < argc && is_number(argv[i]))
				max = strtoul(argv[i++], NULL, 10);
			if (source_fetch(src, max, &b) == -1) {
				status = 1;
				break;
			}
			for (size_t k = 0; k < b.n; k++) {
				printf("%u %s %zu ", b.msgs[k].uid,
				    b.msgs[k].key, b.msgs[k].len);
				print_subject(b.msgs[k].data, b.msgs[k].len);
				putchar('\n');
			}
			source_batch_free(&b);
		} else if (strcmp(cmd, "wait") == 0) {
			static const char *const what[] = { "error", "timeout",
			    "new" };
			enum source_wait w;
			long long t0;

			if (i >= argc || !is_number(argv[i]))
				usage();
			t0 = ms_now();
			w = source_wait(src, atoi(argv[i++]));
			printf("%s %lld\n", what[w + 1], ms_now() - t0);
			if (w == SOURCE_WAIT_ERROR)
				status = 1;
		} else if (strcmp(cmd, "done") == 0 ||
		    strcmp(cmd, "failed") == 0 || strcmp(cmd, "human") == 0) {
			struct source_msg *sel;
			size_t nsel = 0;
			int r;

			if (source_fetch(src, 1000000, &b) == -1) {
				status = 1;
				break;
			}
			sel = xcalloc(b.n ? b.n : 1, sizeof(*sel));
			for (; i < argc && !is_command(argv[i]); i++) {
				uint32_t uid = (uint32_t)strtoul(argv[i], NULL,
				    10);

				for (size_t k = 0; k < b.n; k++)
					if (b.msgs[k].uid == uid)
						sel[nsel++] = b.msgs[k];
			}
			if (cmd[0] == 'd')
				r = source_done(src, sel, nsel);
			else if (cmd[0] == 'f')
				r = source_failed(src, sel, nsel);
			else
				r = source_human(src, sel, nsel);
			printf("%s %zu %s\n", cmd, nsel, r == 0 ? "ok" : "error");
			if (r != 0)
				status = 1;
			free(sel);
			source_batch_free(&b);
		} else
			usage();
	}
	source_close(src);
	config_free(conf);
	return status;
}
