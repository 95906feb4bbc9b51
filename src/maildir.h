/*
 * maildir.h - the Maildir backend of source.c; nothing else calls it.
 * Each function does what its source_* namesake in source.h says.
 *
 * Layout: the configured path holds cur/ new/ tmp/.  Handled mail moves to
 * Maildir++ subfolders of it (done_folder "leernet/done" is ".leernet.done"),
 * created when missing, keeping new/ or cur/ and the flags.  Maildir has no
 * keywords, so mail for people moves to cur/ without the S (seen) flag and
 * its unique name (the file name up to ':') is appended to the file
 * ".leernet-human" in the maildir, one name per line; source_fetch skips
 * the names listed there, and source_open drops names no longer present.
 */
#ifndef LEERNET_MAILDIR_H
#define LEERNET_MAILDIR_H

#include <stddef.h>
#include <time.h>

#include "source.h"

struct config;

void		*maildir_open(const struct config *, int *temporary,
		    char *err, size_t errlen);
void		 maildir_close(void *);
int		 maildir_fetch(void *, size_t max,
		    const struct source_batch *busy, struct source_batch *);
int		 maildir_done(void *, const struct source_msg *, size_t n);
int		 maildir_failed(void *, const struct source_msg *, size_t n);
int		 maildir_human(void *, const struct source_msg *, size_t n);
enum source_wait maildir_wait(void *, int timeout_ms);
int		 maildir_expire_done(void *, time_t before, size_t *removed);
const char	*maildir_name(const void *);

/*
 * The Maildir++ folder for a configured name: "leernet/done" under root is
 * "root/.leernet.done" (non-ASCII in modified UTF-7, as Dovecot stores it).
 * NULL when the name is empty, absolute, has an empty level or one starting
 * with '.', a control character or invalid UTF-8.  Caller frees.
 */
char		*maildir_folder_path(const char *root, const char *folder);

#endif
