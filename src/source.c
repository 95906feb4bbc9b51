/*
 * source.c - the inbound mailbox: picks the backend for the configured
 * scheme and dispatches through its ops table (as OpenSMTPD's queue
 * backends do), so the pipeline never knows whether mail comes from IMAP
 * or a Maildir.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "imap.h"
#include "log.h"
#include "maildir.h"
#include "source.h"
#include "util.h"

struct source_ops {
	const char	*scheme;
	void		*(*open)(const struct config *, int *, char *, size_t);
	void		 (*close)(void *);
	int		 (*fetch)(void *, size_t, const struct source_batch *,
			    struct source_batch *);
	int		 (*done)(void *, const struct source_msg *, size_t);
	int		 (*failed)(void *, const struct source_msg *, size_t);
	int		 (*human)(void *, const struct source_msg *, size_t);
	enum source_wait (*wait)(void *, int);
	const char	*(*name)(const void *);
	int		 (*expire_done)(void *, time_t, size_t *);
};

static const struct source_ops backends[] = {
	{ "imap", imap_open, imap_close, imap_fetch, imap_done, imap_failed,
	    imap_human, imap_wait, imap_name, imap_expire_done },
	{ "imaps", imap_open, imap_close, imap_fetch, imap_done, imap_failed,
	    imap_human, imap_wait, imap_name, imap_expire_done },
	{ "maildir", maildir_open, maildir_close, maildir_fetch, maildir_done,
	    maildir_failed, maildir_human, maildir_wait, maildir_name,
	    maildir_expire_done },
};

struct source {
	const struct source_ops	*ops;
	void			*be;
};

struct source *
source_open(const struct config *conf, int *temporary, char *err,
    size_t errlen)
{
	const struct source_ops *ops = NULL;
	const char *scheme = conf->mailbox.scheme;
	struct source *src;
	void *be;

	*temporary = 0;
	for (size_t i = 0; scheme != NULL && i < ARRAY_LEN(backends); i++)
		if (strcmp(scheme, backends[i].scheme) == 0)
			ops = &backends[i];
	if (ops == NULL) {
		snprintf(err, errlen, "[mailbox] url: unknown scheme '%s' "
		    "(expected imap, imaps or maildir)",
		    scheme ? scheme : "");
		return NULL;
	}
	if ((be = ops->open(conf, temporary, err, errlen)) == NULL)
		return NULL;
	src = xcalloc(1, sizeof(*src));
	src->ops = ops;
	src->be = be;
	log_debug("source %s: open", ops->name(be));
	return src;
}

void
source_close(struct source *src)
{
	if (src == NULL)
		return;
	src->ops->close(src->be);
	free(src);
}

int
source_fetch(struct source *src, size_t max, struct source_batch *b)
{
	return source_fetch_except(src, max, NULL, b);
}

int
source_fetch_except(struct source *src, size_t max,
    const struct source_batch *busy, struct source_batch *b)
{
	b->msgs = NULL;
	b->n = 0;
	if (max == 0)
		return 0;
	return src->ops->fetch(src->be, max, busy, b);
}

void
source_batch_free(struct source_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->msgs[i].key);
		free(b->msgs[i].data);
	}
	free(b->msgs);
	b->msgs = NULL;
	b->n = 0;
}

int
source_done(struct source *src, const struct source_msg *m, size_t n)
{
	return n == 0 ? 0 : src->ops->done(src->be, m, n);
}

int
source_failed(struct source *src, const struct source_msg *m, size_t n)
{
	return n == 0 ? 0 : src->ops->failed(src->be, m, n);
}

int
source_human(struct source *src, const struct source_msg *m, size_t n)
{
	return n == 0 ? 0 : src->ops->human(src->be, m, n);
}

int
source_expire_done(struct source *src, time_t before, size_t *removed)
{
	return src->ops->expire_done(src->be, before, removed);
}

enum source_wait
source_wait(struct source *src, int timeout_ms)
{
	/* Negative: no limit of the caller's (backends still cap IDLE). */
	return src->ops->wait(src->be, timeout_ms);
}

int
source_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	sigset_t none;

	sigemptyset(&none);
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	return ppoll(fds, n, tsp, &none);
}

const char *
source_name(const struct source *src)
{
	return src->ops->name(src->be);
}
