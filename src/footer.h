/*
 * footer.h - the footer on leaving in a list copy (SPEC §4b: "a short
 * footer in the text part"), after Mailman's decorate handler.  The
 * author's bytes are never changed: a single inline text/plain part the
 * footer can be written in gets it at the end, a multipart/mixed gets it as
 * a new last part (inline text/plain, UTF-8), anything else (HTML,
 * multipart/alternative, multipart/signed, base64, other charsets, a text
 * file) is wrapped whole as the first part of a new multipart/mixed.  Pure:
 * bytes in, bytes out, no I/O.
 */
#ifndef LEERNET_FOOTER_H
#define LEERNET_FOOTER_H

#include <stddef.h>

struct buf;

enum footer_way {
	FOOTER_NONE,		/* no footer text, or malformed (why says) */
	FOOTER_APPEND,		/* after the text, in 7bit/8bit */
	FOOTER_RELABEL,		/* after the text, relabelled utf-8, 8bit */
	FOOTER_QP,		/* after quoted-printable text, in QP */
	FOOTER_PART,		/* a new last part of the author's multipart */
	FOOTER_WRAP,		/* a part after the wrapped body */
};

/* "appended", "added as the last part", ... for the log; static. */
const char	*footer_way_name(enum footer_way);

/*
 * Append to b the body of a list copy: the author's body-describing
 * headers (MIME-Version, Content-Type, Content-Transfer-Encoding,
 * Content-Disposition, Content-Language, Content-ID, Content-Description,
 * read from the header block hdr[0, hlen) as received, folds kept; other
 * headers in it are skipped), a blank line, and the body body[0, blen),
 * with footer put in the way *way says.  Every bare LF is made CRLF; no
 * other byte of the author's changes, except that RELABEL changes the
 * Content-Type charset to utf-8 and the transfer encoding to 8bit of an
 * ASCII-only text, and WRAP moves the describing headers (but
 * MIME-Version) into the first part.  A MIME-Version is added when the
 * result is MIME and had none.
 *
 * footer is UTF-8 text with LF or CRLF line ends; NULL or only line
 * breaks: none.  *way is set; *why is a static reason when *way is
 * FOOTER_NONE ("a multipart without a boundary"), else NULL.  0, or -1
 * when b's cap is reached (b then holds part of the body).
 */
int	 footer_add(struct buf *b, const char *hdr, size_t hlen,
	    const char *body, size_t blen, const char *footer,
	    enum footer_way *way, const char **why);

#endif
