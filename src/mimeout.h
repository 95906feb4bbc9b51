/*
 * mimeout.h - building outgoing mail: RFC 2047 header encoding, address
 * headers, folding, quoted-printable and base64 bodies, Message-ID and Date.
 * Nothing from a message or the database reaches a header unencoded: CR, LF
 * and other controls are removed before anything else.
 */
#ifndef LEERNET_MIMEOUT_H
#define LEERNET_MIMEOUT_H

#include <stddef.h>
#include <time.h>

struct buf;

/* "Name: value\r\n", value RFC 2047-encoded when not plain ASCII, folded
 * at 78 columns.  0, or -1 when the buffer cap is hit. */
int	mime_header(struct buf *, const char *name, const char *value);
/* "Name: value\r\n" for a structured ASCII value (Message-ID lists,
 * List-Id, ...): controls removed, folded at its blanks, never encoded.
 * -1 when the value is not ASCII or the cap is hit.  (Addition.) */
int	mime_header_raw(struct buf *, const char *name, const char *value);
/* "Name: \"Display\" <addr>\r\n" with the display name quoted or encoded
 * as needed; display may be NULL or "".  addr must be a plain addr-spec
 * (validated with mime_addr_valid by the caller; -1 here too when it is
 * not valid). */
int	mime_header_addr(struct buf *, const char *name, const char *display,
	    const char *addr);
/* An addr-spec we are willing to put in a header or envelope. */
int	mime_addr_valid(const char *addr);
/* A host name of letters, digits and '-' labels (the domain of one). */
int	mime_domain_valid(const char *domain);

/* Body encodings, CRLF line endings, lines of at most 76 characters. */
int	mime_qp(struct buf *, const char *, size_t);
int	mime_base64(struct buf *, const void *, size_t);

/* "<random@domain>" into out (caller frees). */
char	*mime_message_id(const char *domain);
/* RFC 5322 date, e.g. "Fri, 14 May 2027 15:00:00 +0200" (local zone). */
void	 mime_date(char *out, size_t outlen, time_t);
/* A random MIME boundary; caller frees. */
char	*mime_boundary(void);

#endif
