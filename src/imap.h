/*
 * imap.h - the IMAP backend of source.c; nothing else calls it.  Each
 * function does what its source_* namesake in source.h says.  Handles are
 * the backend's own struct imap_source, passed as void * through the ops
 * table in source.c, as OpenSMTPD's backends do.
 */
#ifndef LEERNET_IMAP_H
#define LEERNET_IMAP_H

#include <stddef.h>
#include <time.h>

#include "source.h"

struct config;

void		*imap_open(const struct config *, int *temporary,
		    char *err, size_t errlen);
void		 imap_close(void *);
int		 imap_fetch(void *, size_t max, const struct source_batch *busy,
		    struct source_batch *);
int		 imap_done(void *, const struct source_msg *, size_t n);
int		 imap_failed(void *, const struct source_msg *, size_t n);
int		 imap_human(void *, const struct source_msg *, size_t n);
enum source_wait imap_wait(void *, int timeout_ms);
int		 imap_expire_done(void *, time_t before, size_t *removed);
const char	*imap_name(const void *);

/*
 * A configured folder name (UTF-8, `/` between levels) as the server wants
 * it: `/` becomes sep (kept when sep is 0, a flat namespace) and the rest is
 * modified UTF-7 (RFC 3501 §5.1.3).  NULL for invalid UTF-8, control
 * characters or an empty level.  Caller frees.
 */
char		*imap_mailbox_encode(const char *utf8, char sep);

#endif
