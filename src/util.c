/*
 * util.c - allocation helpers, the capped buffer, small string helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("calloc %zu*%zu", n, size);
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		fatalx("reallocarray: %zu*%zu overflows", n, size);
	p = realloc(old, (n * size) != 0 ? n * size : 1);
	if (p == NULL)
		fatal("realloc %zu*%zu", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;
	size_t len = strnlen(s, n);

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatal("vasprintf");
	return s;
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
}

static int
buf_grow(struct buf *b, size_t need)
{
	size_t ncap;

	if (need > b->max || b->len + need > b->max)
		return -1;
	if (b->len + need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + need + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	b->data = xreallocarray(b->data, ncap, 1);
	b->cap = ncap;
	return 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	b->data[b->len] = '\0';	/* as always, even when empty */
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

void
str_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\f' || c == '\v';
}

char *
str_trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		e--;
	*e = '\0';
	return s;
}

static char
lower_c(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int
str_startswith_ci(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (lower_c(*s) != lower_c(*prefix))
			return 0;
	return 1;
}

int
str_eq_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower_c(*a) != lower_c(*b))
			return 0;
	return *a == *b;
}

int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07;
		} else
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

size_t
utf8_cut(const char *s, size_t len, size_t n)
{
	if (len <= n)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
utf8_strip_bidi(char *s)
{
	char *w = s;

	for (const char *r = s; *r != '\0'; ) {
		const unsigned char *u = (const unsigned char *)r;

		/* U+202A..U+202E: E2 80 AA..AE; U+2066..U+2069: E2 81 A6..A9 */
		if (u[0] == 0xe2 && ((u[1] == 0x80 && u[2] >= 0xaa &&
		    u[2] <= 0xae) || (u[1] == 0x81 && u[2] >= 0xa6 &&
		    u[2] <= 0xa9))) {
			r += 3;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

char *
text_shorten(const char *s, size_t max)
{
	size_t n = strlen(s), cut;

	if (n <= max)
		return xstrdup(s);
	cut = max;
	while (cut > max / 2 && s[cut] != '\n' && s[cut] != ' ')
		cut--;
	if (cut == max / 2)
		cut = utf8_cut(s, n, max);
	return xasprintf("%.*s [\u2026]", (int)cut, s);
}

void
random_bytes(void *p, size_t n)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		c += r;
		n -= (size_t)r;
	}
}

char *
random_token(size_t n)
{
	/* No 0/o, 1/l/i: tokens get read aloud and retyped. */
	static const char alpha[] = "abcdefghjkmnpqrstuvwxyz23456789";
	unsigned char r[64];
	char *t = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		if (i % sizeof(r) == 0)
			random_bytes(r, sizeof(r));
		/* 256 % 31 bias is negligible for tokens of this length. */
		t[i] = alpha[r[i % sizeof(r)] % (sizeof(alpha) - 1)];
	}
	t[n] = '\0';
	return t;
}

int
thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
	    SIGABRT, SIGTRAP };
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	for (size_t i = 0; i < ARRAY_LEN(faults); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

const char *
group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned)gid);
	return buf;
}

/*
 * Why this user may not read path (open said EACCES): "user leernet may
 * not enter /root: it belongs to root, mode 700" (1, the directory in
 * where) or "user leernet may not read it: it belongs to root, mode 600"
 * (0, the file's absolute path in where); -1 when it cannot be told.
 */
int
path_unreadable(const char *path, char *who, size_t wholen, char *where,
    size_t wherelen)
{
	char me[32], own[32], *walk, *slash, *dir = NULL, cwd[PATH_MAX];
	struct stat sb;
	int r = -1;

	/* getcwd(2) needs no rights on the directory: /root is named. */
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		walk = xasprintf("%s/%s", cwd, path);
	else
		walk = xstrdup(path);
	snprintf(where, wherelen, "%s", walk);
	user_name(geteuid(), me, sizeof(me));
	/* The topmost directory that cannot be entered, else the file. */
	while ((slash = strrchr(walk, '/')) != NULL && slash != walk) {
		*slash = '\0';
		if (access(walk, X_OK) == -1 && errno == EACCES) {
			free(dir);
			dir = xstrdup(walk);
		}
	}
	if (dir != NULL && stat(dir, &sb) == 0) {
		snprintf(who, wholen, "user %s may not enter %s: it belongs to "
		    "%s, mode %03o", me, dir, user_name(sb.st_uid, own,
		    sizeof(own)), (unsigned)(sb.st_mode & 0777));
		snprintf(where, wherelen, "%s", dir);
		r = 1;
	} else if (dir == NULL && stat(where, &sb) == 0) {
		snprintf(who, wholen, "user %s may not read it: it belongs to "
		    "%s, mode %03o", me, user_name(sb.st_uid, own,
		    sizeof(own)), (unsigned)(sb.st_mode & 0777));
		r = 0;
	}
	free(walk);
	free(dir);
	return r;
}

int
dir_writable(const char *dir, const char *what, char *err, size_t errlen)
{
	char own[32], me[32];
	struct stat sb;

	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0 ||
	    errno != EACCES || stat(dir, &sb) == -1)
		return 0;
	user_name(geteuid(), me, sizeof(me));
	user_name(sb.st_uid, own, sizeof(own));
	snprintf(err, errlen, "%s: %s cannot be written by user %s (it belongs "
	    "to %s, mode %03o): %s", dir, what, me, own,
	    (unsigned)(sb.st_mode & 0777), ownership_advice(sb.st_uid, dir,
	    me, own));
	return -1;
}

/*
 * What to do about a file or directory of another user: give it to the
 * user the service runs as (the one asking, when run as README says);
 * running leernet as its owner is advice only when that owner is not
 * root: leernet is never meant to run as root.
 */
const char *
ownership_advice(uid_t owner, const char *path, const char *me,
    const char *own)
{
	static char buf[2 * PATH_MAX + 256];
	char grp[32];
	struct stat sb;

	/* /var/lib/leernet made by root's mkdir, or /var/lib itself. */
	if (owner == 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		snprintf(buf, sizeof(buf), "give it to the user the service "
		    "runs as if it is leernet's alone (chown %s %s), else make "
		    "one that is (install -d -o %s -g %s %s%sleernet) and name "
		    "it in the configuration", me, path, me,
		    group_name(getegid(), grp, sizeof(grp)), path,
		    path[strlen(path) - 1] == '/' ? "" : "/");
	else if (owner == 0)
		snprintf(buf, sizeof(buf), "give it to the user the service "
		    "runs as (chown %s %s)", geteuid() == 0 ? "leernet" : me,
		    path);
	else
		/* Another user's (leernet's, made by the service): that is
		 * most likely the user the service runs as, and the one
		 * asking an admin who forgot sudo -u.  "chown ME" would take
		 * it from the service. */
		snprintf(buf, sizeof(buf), "run leernet as its owner, the "
		    "user the service runs as (sudo -u %s); chown it to %s "
		    "only if the service runs as %s", own, me, me);
	return buf;
}

/*
 * Is the word [s, s + n) a domain name: labels of letters, digits and '-'
 * joined by dots, the last of two letters or more?  Its end (a '/' may
 * follow), or NULL.
 */
static const char *
domain_end(const char *s, size_t n)
{
	size_t i = 0, labels = 0, tld = 0;

	for (;;) {
		size_t start = i, lower = 0, upper = 0;

		for (; i < n && (isalnum((unsigned char)s[i]) || s[i] == '-');
		    i++) {
			lower += islower((unsigned char)s[i]) != 0;
			upper += isupper((unsigned char)s[i]) != 0;
		}
		if (i == start)
			return NULL;
		labels++;
		/* In one case, as domains are written: "J.Jansen" and
		 * "Mr.Smith" are names. */
		tld = lower == i - start ? lower : upper == i - start ? upper :
		    0;
		if (i + 1 < n && s[i] == '.' && isalnum((unsigned char)s[i + 1]))
			i++;
		else
			break;
	}
	return labels >= 2 && tld >= 2 ? s + i : NULL;
}

/*
 * The length of the word at s, and whether a mail client would make a
 * link of it: "https://…", "www.…", "//…" (what a parser leaves of an
 * unquoted "http://…" name), "evil.example/login", and with names, any
 * domain ("Visit evil.example") or address.
 */
static size_t
word_at(const char *s, int *link, int names)
{
	size_t n = strcspn(s, " \t\r\n");
	const char *e;

	*link = memmem(s, n, "://", 3) != NULL ||
	    (n > 4 && strncasecmp(s, "www.", 4) == 0) ||
	    (n > 2 && strncmp(s, "//", 2) == 0) ||
	    ((e = domain_end(s, n)) != NULL && (names ||
	    (e < s + n && *e == '/'))) ||
	    (names && memchr(s, '@', n) != NULL);
	return n;
}

int
text_has_link(const char *s)
{
	int link = 0;

	for (s = s ? s : ""; *s && !link; ) {
		size_t n = word_at(s, &link, 1);

		s += n;
		s += strspn(s, " \t\r\n");
	}
	return link;
}

char *
text_defang(const char *s, int quotes)
{
	struct buf b;
	int link;

	buf_init(&b, 0);
	for (s = s ? s : ""; *s; ) {
		size_t n = strspn(s, " \t\r\n");

		(void)buf_add(&b, s, n);
		s += n;
		if ((n = word_at(s, &link, 0)) == 0)
			continue;
		if (link)
			(void)buf_adds(&b, "[link]");
		else
			for (size_t i = 0; i < n; i++)
				(void)buf_add(&b, quotes && s[i] == '"' ? "'" :
				    &s[i], 1);
		s += n;
	}
	return buf_steal(&b);
}
