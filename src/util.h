/*
 * util.h - allocation helpers that never return NULL, a size-capped growable
 * buffer, and small string helpers used everywhere.
 */
#ifndef LEERNET_UTIL_H
#define LEERNET_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Each aborts the program (via fatal) on allocation failure. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable byte buffer with a hard cap, so hostile input cannot make it
 * grow without bound.  data is always NUL-terminated (when non-NULL).
 * The add functions return 0, or -1 when the cap would be exceeded (the
 * buffer is then left unchanged).
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

#define BUF_MAX_DEFAULT	(64u * 1024 * 1024)

void	 buf_init(struct buf *, size_t max);	/* max 0: BUF_MAX_DEFAULT */
int	 buf_add(struct buf *, const void *, size_t);
/* Room for n more bytes (and the NUL) after len, or -1 over the cap. */
int	 buf_reserve(struct buf *, size_t n);
int	 buf_adds(struct buf *, const char *);
/* Inline: encoders and decoders call it once per byte. */
static inline int
buf_addc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap || b->len >= b->max)
		return buf_add(b, &c, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return 0;
}
int	 buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vaddf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 buf_reset(struct buf *);		/* len = 0, keeps memory */
char	*buf_steal(struct buf *);		/* caller frees; buf is reset */
void	 buf_free(struct buf *);
const char *buf_str(const struct buf *);	/* "" when empty */

/* ASCII-only helpers: mail keywords and addresses are ASCII. */
void	 str_lower(char *);
char	*str_trim(char *);		/* in place; returns start inside s */
int	 str_startswith_ci(const char *s, const char *prefix);
int	 str_eq_ci(const char *, const char *);

/* Valid UTF-8?  (Overlongs, surrogates and > U+10FFFF are invalid.) */
int	 utf8_valid(const char *, size_t);
/* n, or less so that s[0..n) does not end inside a UTF-8 sequence. */
size_t	 utf8_cut(const char *s, size_t len, size_t n);
/*
 * Drop the bidi embeddings, overrides and isolates (U+202A-202E,
 * U+2066-2069) in place: one left open in a display name turns the rest of
 * every line it is put in around ("\u202emoc.liame@ssob <carol@…>").
 * Hebrew and Arabic need none of them; the marks U+200E/F stay.
 */
void	 utf8_strip_bidi(char *s);
/*
 * What a sender wrote, fit to echo in mail from the coordinator address:
 * a word with "://" or starting with "www." becomes "[link]", and with
 * quotes '"' becomes '\'' (an answer's own quotes around an echo are what
 * keeps a web link out of its HTML part).  Caller frees.
 */
char	*text_defang(const char *s, int quotes);
/* Does s (a display name) hold a link, or a domain a client would link? */
int	 text_has_link(const char *s);
/* s, or its first max bytes or fewer, cut at a line or word (else at a
 * character) and ended with " […]".  Caller frees. */
char	*text_shorten(const char *s, size_t max);

/* Fill with cryptographically random bytes (getrandom); aborts on failure. */
void	 random_bytes(void *, size_t);
/* A random token of n chars from an unambiguous lower-case alphabet;
 * caller frees. */
char	*random_token(size_t n);

/*
 * pthread_create with every signal but the faults blocked in the new
 * thread: SIGTERM, SIGHUP and SIGUSR1 must reach the main thread, whose
 * wait they end, not a worker that ignores them.  0 or an errno value.
 */
int	 thread_start(pthread_t *, void *(*)(void *), void *);

/* CLOCK_MONOTONIC in milliseconds and in seconds: for deadlines. */
int64_t		 mono_ms(void);
time_t		 mono_s(void);
/* "root", or the number when the user has no name; in buf. */
const char	*user_name(uid_t uid, char *buf, size_t len);
const char	*group_name(gid_t gid, char *buf, size_t len);
int		 path_unreadable(const char *path, char *who, size_t wholen,
		    char *where, size_t wherelen);
const char	*ownership_advice(uid_t owner, const char *path,
		    const char *me, const char *own);
/*
 * Can this process make files in dir?  -1 + err naming dir (as `what`),
 * its owner and mode and what to do, when its rights say no; 0 otherwise
 * (missing, or read-only by mount: other messages say those).
 */
int		 dir_writable(const char *dir, const char *what, char *err,
		    size_t errlen);

#endif
