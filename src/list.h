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

struct config;
struct message;
struct req;
struct store;

#define LIST_MAX_TARGETS	16

/*
 * The list slugs (lower-case, without duplicates, at most LIST_MAX_TARGETS)
 * this message is addressed to, read from Delivered-To, To and Cc: the
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
 * A person's mail (classified MAIL_PERSON) to the list SLUG, inside the
 * caller's transaction: distribute it, or refuse it (not a member, too
 * large), or answer an unknown list.  Sets r->outcome.  0, or -1 on a
 * database or template error (the caller rolls back).
 */
int	 list_handle(struct req *, const char *slug, const char *raw,
	    size_t len);

/*
 * How the footer on leaving went into a list copy (SPEC §4b: "a short
 * footer in the text part"), after Mailman's decorate handler.  The
 * author's bytes are never changed: a single inline text/plain part the
 * footer can be written in gets it at the end, a multipart/mixed gets it as
 * a new last part (inline text/plain, UTF-8), anything else (HTML,
 * multipart/alternative, multipart/signed, base64, other charsets) is
 * wrapped whole as the first part of a new multipart/mixed.
 */
enum list_footer {
	LIST_FOOTER_NONE,	/* malformed (list_info.footer_why says why) */
	LIST_FOOTER_APPEND,	/* after the text, in 7bit/8bit */
	LIST_FOOTER_RELABEL,	/* after the text, relabelled utf-8, 8bit */
	LIST_FOOTER_QP,		/* after quoted-printable text, in QP */
	LIST_FOOTER_PART,	/* a new last part of the author's multipart */
	LIST_FOOTER_WRAP,	/* a part after the wrapped body */
};
const char	*list_footer_name(enum list_footer);

/*
 * What list_handle sends, exported for tests.  Compose the list copy of
 * raw: the list headers, then the author's MIME headers and body
 * byte-for-byte (line ends made CRLF) with the footer put in as
 * enum list_footer says (footer may be NULL: none).  Caller frees; *len
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
	enum list_footer footer_way;
	const char	*footer_why;	/* why none (static), or NULL */
};
char	*list_compose(const struct config *, const struct message *,
	    const char *raw, size_t rawlen, struct list_info *,
	    size_t *len, char **msgid);

#endif
