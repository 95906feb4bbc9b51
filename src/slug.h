/*
 * slug.h - the short names networks are known by in mail commands
 * ("aanmelden rekenen-groep-3") and list addresses (lido+SLUG@...):
 * made from a title, checked, and compared for "did you mean ...?".
 * Pure.  Uniqueness is the store's job; slug_with_suffix() helps it.
 */
#ifndef LEERNET_SLUG_H
#define LEERNET_SLUG_H

#include <stddef.h>

#define SLUG_MAX	40

/*
 * A slug from a UTF-8 title: lower-case ASCII letters and digits,
 * European diacritics folded (é→e, ĳ→ij, ß→ss, æ→ae ...), apostrophes
 * dropped, any other run of characters one '-', at most SLUG_MAX bytes
 * (cut at a '-' when one is not too far back).  "netwerk" when nothing
 * is left.
 * Always slug_valid().  Caller frees.
 */
char	*slug_from_title(const char *utf8_title);

/*
 * Text folded for comparing titles however a mail client wrote them:
 * composed or decomposed (NFC/NFD), any case, any punctuation or spacing.
 * Letters and digits as in a slug, '[' and ']' kept, every other run one
 * space.  Caller frees.
 */
char	*slug_fold_text(const char *utf8);

/* slug-2, slug-3 ...: base cut (at a '-' if it can) so the result stays
 * within SLUG_MAX.  base must be slug_valid().  Caller frees. */
char	*slug_with_suffix(const char *base, unsigned n);

/* [a-z0-9-], 1 to SLUG_MAX bytes, no leading, trailing or double '-'. */
int	 slug_valid(const char *);

/*
 * Optimal-string-alignment (Damerau-Levenshtein) distance, byte-wise.
 * Work is bounded: when either string is longer than 64 bytes the answer
 * is the longer length (an upper bound; such strings are no near miss).
 */
size_t	 slug_distance(const char *a, const char *b);

/* "Did you mean ...?": equal ignoring ASCII case and '-' (rekenen-groep3
 * vs rekenen-groep-3), or within distance 2 ignoring case (1 when the
 * shorter is 3 or 4 bytes, 0 when shorter still). */
int	 slug_near(const char *a, const char *b);

#endif
