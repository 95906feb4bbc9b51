/*
 * message.h - one inbound mail, decoded.  Pure: bytes in, struct message
 * out, no I/O and no database, so it can be unit-tested and fuzzed.
 *
 * Built on libetpan's MIME parser.  All text is UTF-8 (every charset is
 * converted; invalid bytes become U+FFFD).  All strings are owned by the
 * message and freed by message_free().
 */
#ifndef LEERNET_MESSAGE_H
#define LEERNET_MESSAGE_H

#include <stddef.h>
#include <time.h>

struct address {
	char	*name;		/* decoded display name, "" when none */
	char	*addr;		/* addr-spec, lower-cased, "" when none */
};

struct header {
	char	*name;		/* as written */
	char	*value;		/* unfolded, RFC 2047 decoded to UTF-8, trimmed */
};

/* A text/calendar or application/ics or *.ics part, decoded to UTF-8. */
struct calpart {
	char	*method;	/* Content-Type method= param, upper-case, or NULL */
	char	*text;
	size_t	 len;
};

/* One per-recipient block of a message/delivery-status part (RFC 3464). */
struct dsn_rcpt {
	char	*final_recipient;	/* address only, lower-cased ("rfc822;" removed) */
	char	*original_recipient;	/* likewise, or NULL */
	char	*action;		/* lower-cased: failed, delayed, ... or NULL */
	char	*status;		/* "5.1.1" or NULL */
	char	*diagnostic;		/* or NULL */
};

struct message {
	size_t		 size;		/* raw size in bytes */

	struct header	*headers;	/* top-level headers in file order */
	size_t		 nheaders;

	char		*message_id;	/* without <>; never NULL */
	int		 message_id_derived;	/* 1: none (or unusable) in the mail;
						 * derived from a hash of the content */
	char		*in_reply_to;	/* first msg-id, without <>, or NULL */
	char	       **references;	/* msg-ids without <>, oldest first */
	size_t		 nreferences;

	char		*subject;	/* decoded, unfolded; "" when absent */
	struct address	 from;		/* first From mailbox; addr "" if none */
	struct address	 sender;	/* Sender:, or addr "" */
	struct address	*reply_to;	size_t nreply_to;
	struct address	*to;		size_t nto;
	struct address	*cc;		size_t ncc;
	char		*return_path;	/* envelope sender from Return-Path:
					 * without <>; "" for the null sender;
					 * NULL when there is no Return-Path */
	time_t		 date;		/* Date:, or 0 when absent/unreadable */

	char		*text;		/* the new text the author wrote: quoted
					 * history (">" lines, Outlook "Van:/From:
					 * ... Verzonden:/Sent:" blocks, Gmail "Op
					 * ... schreef ...:", "-----Original
					 * Message-----") and signature ("-- ",
					 * "Sent from my ...") removed; "" if none */
	char		*full_text;	/* the whole text body (text/plain, or HTML
					 * turned into text when there is none) */
	int		 html_only;	/* text came from HTML */
	char		*attachments;	/* the names of its attachments, ", "
					 * between (UTF-8, cut at 1 KB), or NULL */

	struct calpart	*cal;		size_t ncal;	/* every calendar part,
							 * nested ones too, dupes
							 * dropped */
	int		 is_report;	/* multipart/report; report-type=delivery-status */
	int		 is_receipt;	/* a read receipt (MDN, RFC 8098): "Gelezen:",
					 * "Niet gelezen:" */
	struct dsn_rcpt	*dsn;		size_t ndsn;
	char		*returned_id;	/* a report's returned message (message/
					 * rfc822 or text/rfc822-headers): its
					 * Message-ID without <>, or NULL */

	size_t		 body_offset;	/* offset of the top-level body (after the
					 * blank line) in the raw bytes */
};

/* The Message-ID leernet gives bytes that carry none: derived from a
 * SHA-256 of them, so the same bytes get the same one on every fetch.
 * Caller frees. */
char		*message_derived_id(const char *raw, size_t len);

/*
 * Parse raw (need not be NUL-terminated).  Returns 0 and a message the
 * caller frees with message_free(), or -1 when the bytes are not a mail
 * message at all (then *out is NULL).  Never crashes on hostile input.
 */
int		 message_parse(const char *raw, size_t len, struct message **out);
void		 message_free(struct message *);

/* The n-th (0 = topmost) header of that name (case-insensitive), or NULL. */
const char	*message_header(const struct message *, const char *name, size_t n);

/* Split helpers, exported for tests: strip quoted history and signature
 * from UTF-8 text; caller frees. */
char		*message_new_text(const char *text);
/* HTML to readable UTF-8 text (libxml2's HTML parser); caller frees. */
char		*message_html_to_text(const char *html, size_t len);

#endif
