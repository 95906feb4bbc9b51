/*
 * list.h - every open network is also a mailing list (SPEC §4b): mail to
 * coordinator+SLUG@domain from a member or lead is handed on, unchanged in
 * body and attachments, to every member with direct delivery; From is the
 * coordinator address (DMARC-safe), Reply-To the author.
 */
#ifndef LEERNET_LIST_H
#define LEERNET_LIST_H

#include <stddef.h>
#include <time.h>

#include "footer.h"

struct app;
struct config;
struct message;
struct req;
struct store;

#define LIST_MAX_TARGETS	16

/*
 * The list slugs (lower-case, without duplicates, at most LIST_MAX_TARGETS)
 * this message is addressed to, read from the envelope headers
 * (Delivered-To, X-Original-To, Envelope-To), To and Cc: the
 * local part of [smtp] from plus "+SLUG", same domain, case-insensitively.
 * Returns how many; *slugs is a NULL-terminated array the caller frees with
 * list_targets_free (NULL when there are none).  Pure.
 */
size_t	 list_targets(const struct message *, const struct config *,
	    char ***slugs);
void	 list_targets_free(char **);

/*
 * A person's reply to the plain coordinator address that is not a command
 * and whose In-Reply-To/References name a mail distributed by an open
 * list: that list's slug, as list_targets gives it (1), or 0.  Reads the
 * store (no transaction needed).
 */
size_t	 list_thread(struct store *, const struct config *,
	    const struct message *, char ***slugs);

/* "lido+slug@example.org" for the configured coordinator; caller frees. */
char	*list_address(const struct config *, const char *slug);
/*
 * At the step to schema 8: news stored before it whose body holds more
 * than the writer's new words (a forward, a quote) gets its outside text,
 * so that the pages stop showing it whole.  *n: how many.  0 or -1.
 */
int	 list_news_backfill(struct app *, size_t *n);

/*
 * A person's mail (classified MAIL_PERSON) to the list SLUG, inside the
 * caller's transaction: distribute it, or refuse it (not a member, too
 * large), or answer an unknown list.  Sets r->outcome.  0, or -1 on a
 * database or template error (the caller rolls back).
 */
int	 list_handle(struct req *, const char *slug, const char *raw,
	    size_t len);

/*
 * What list_handle sends, exported for tests.  Compose the list copy of
 * raw: the list headers, then the author's MIME headers and body
 * byte-for-byte (line ends made CRLF) with the footer put in by
 * footer_add (footer may be NULL: none).  Caller frees; *len
 * set; li->footer_way and li->footer_why set.  NULL when the author's
 * address cannot go in a header.
 */
struct list_info {
	const char	*slug;
	const char	*title;		/* network title, UTF-8 */
	const char	*footer;	/* text to add, or NULL */
	const char	*leave_word;	/* "afmelden" / "leave" */
	const char	*domain;	/* for a Message-ID when the mail had none */
	time_t		 now;
	/* Set by list_compose: */
	enum footer_way	 footer_way;
	const char	*footer_why;	/* why none (static), or NULL */
};
char	*list_compose(const struct config *, const struct message *,
	    const char *raw, size_t rawlen, struct list_info *,
	    size_t *len, char **msgid);

#endif
