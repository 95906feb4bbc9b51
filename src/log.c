/*
 * log.c - leveled logging to stderr.  journald adds the time; we add the
 * level and, while a message is in hand, its Message-ID.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static enum log_level	level = LOG_LVL_INFO;
/* Per thread: the source's thread logs while the handler has a message. */
static _Thread_local char msgid[256];

#define LOG_LINE_MAX	4096

static const char *const level_name[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

/* Priorities in the "<N>" form journald reads at the start of a line
 * (sd-daemon.h), so that journalctl -p warning shows the warnings. */
static const char *const journal_prio[] = {
	[LOG_LVL_ERR] = "<3>",
	[LOG_LVL_WARN] = "<4>",
	[LOG_LVL_INFO] = "<6>",
	[LOG_LVL_DEBUG] = "<7>",
};
static int	journal;	/* stderr is the journal's stream */

/* $JOURNAL_STREAM names the journal's socket as "device:inode"; only when
 * it is stderr itself (not a pipe a child inherited it past). */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(fileno(stderr), &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level l)
{
	level = l;
	msgid[0] = '\0';
	journal = stderr_is_journal();
}

void
log_set_level(enum log_level l)
{
	level = l;
}

void
log_set_msgid(const char *id)
{
	size_t i = 0;

	/* Keep log lines one line each, whatever the mail said. */
	if (id != NULL)
		for (; id[i] && i < sizeof(msgid) - 1; i++)
			msgid[i] = (id[i] < 0x20 || id[i] == 0x7f) ? '?' : id[i];
	msgid[i] = '\0';
}

/*
 * One write(2) per line: stderr is unbuffered, and three writes per line
 * were a tenth of the time spent handling a busy inbox.  It also keeps
 * lines whole when the journal interleaves them.
 */
static void
vlog(enum log_level l, const char *fmt, va_list ap, const char *errstr)
{
	char line[LOG_LINE_MAX];
	size_t len;
	int saved = errno, n;

	if (l > level)
		return;
	if (msgid[0])
		n = snprintf(line, sizeof(line), "%sleernet: %s: <%s>: ",
		    journal ? journal_prio[l] : "", level_name[l], msgid);
	else
		n = snprintf(line, sizeof(line), "%sleernet: %s: ",
		    journal ? journal_prio[l] : "", level_name[l]);
	len = n < 0 ? 0 : (size_t)n;
	if (len < sizeof(line)) {
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		len += n < 0 ? 0 : (size_t)n;
	}
	if (errstr && len < sizeof(line)) {
		n = snprintf(line + len, sizeof(line) - len, ": %s", errstr);
		len += n < 0 ? 0 : (size_t)n;
	}
	/* Room for "...\n" when the line was cut. */
	if (len > sizeof(line) - 5) {
		len = sizeof(line) - 5;
		memcpy(line + len, "...", 3);
		len += 3;
	}
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	errno = saved;
}

#define LOGFN(name, lvl, witherr)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	const char *e = (witherr) ? strerror(errno) : NULL;		\
									\
	va_start(ap, fmt);						\
	vlog(lvl, fmt, ap, e);						\
	va_end(ap);							\
}

LOGFN(log_debug, LOG_LVL_DEBUG, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_warn, LOG_LVL_WARN, 1)
LOGFN(log_warnx, LOG_LVL_WARN, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, e);
	va_end(ap);
	exit(70);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(70);
}
