/*
 * dates.c - dates, times and time zones for planning meetings.
 *
 * Zones are read from TZif files (RFC 8536) into an immutable table, so
 * conversions never touch TZ/tzset() and are safe in any thread.  Parsing
 * is a small lexer plus hand-written grammar over its tokens: the forms of
 * SPEC §4 in Dutch and English, and a clear error for everything else.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dates.h"
#include "util.h"

#define TZIF_MAX	(256 * 1024)	/* bytes of a zone file */
#define TZ_NAME_MAX	255
#define TOK_MAX		40		/* tokens in one date or time */
#define TWORD_MAX	15		/* longer words are no name we know */
#define INPUT_SHOWN	60		/* bytes of bad input quoted back */
#define DEFAULT_LEN	(2 * 3600)	/* a meeting without an end */
#define NIGHT_END	(7 * 60)	/* minutes: dt_check_daytime */
#define DAY		86400
#define YEAR_MIN	1900
#define YEAR_MAX	2199

/* ---- calendar arithmetic (proleptic Gregorian, any int64 day) ---- */

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int
weekday(int64_t days)
{
	return (int)(((days + 4) % 7 + 7) % 7);	/* 1970-01-01 was a Thursday */
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m < 1 || m > 12)
		return 0;
	return dim[m - 1] + (m == 2 && is_leap(y));
}

/* ---- zones ---- */

struct rule_day {
	char	 kind;		/* 'J': 1..365 without Feb 29; 'D': 0..365;
				 * 'M': month m, week w (5 = last), weekday d */
	int	 n, m, w, d;
	long	 secs;		/* local time of day of the change */
};

struct posix_tz {
	long		 std_off;	/* seconds east of UTC */
	long		 dst_off;
	int		 has_dst;
	struct rule_day	 start, end;
};

struct ttype {
	long	 off;
	int	 isdst;
};

struct dt_zone {
	char		*name;
	int64_t		*trans;		/* ascending UTC instants of changes */
	unsigned char	*idx;		/* the type in force from each */
	size_t		 ntrans;
	struct ttype	*types;
	size_t		 ntypes;
	int		 has_rule;	/* a rule for after the last change */
	struct posix_tz	 rule;
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An unsigned number of at most maxdig digits, at most max. */
static int
posix_num(const char **p, int maxdig, long max, long *out)
{
	long v = 0;
	int n = 0;

	while (is_digit(**p) && n < maxdig) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || is_digit(**p) || v > max)
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hours up to maxh, as seconds. */
static int
posix_hms(const char **p, long maxh, long *out)
{
	long sign = 1, h, m = 0, s = 0;

	if (**p == '+' || **p == '-')
		sign = (*(*p)++ == '-') ? -1 : 1;
	if (posix_num(p, 3, maxh, &h) == -1)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (posix_num(p, 2, 59, &m) == -1)
			return -1;
		if (**p == ':') {
			(*p)++;
			if (posix_num(p, 2, 59, &s) == -1)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int
posix_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		for (s++; is_alpha(*s) || is_digit(*s) || *s == '+' ||
		    *s == '-'; s++)
			;
		if (*s != '>' || s - *p < 4)
			return -1;
		*p = s + 1;
		return 0;
	}
	while (is_alpha(*s))
		s++;
	if (s - *p < 3)
		return -1;
	*p = s;
	return 0;
}

static int
posix_rule_day(const char **p, struct rule_day *rd)
{
	long v;

	memset(rd, 0, sizeof(*rd));
	if (**p == 'J') {
		(*p)++;
		rd->kind = 'J';
		if (posix_num(p, 3, 365, &v) == -1 || v < 1)
			return -1;
		rd->n = (int)v;
	} else if (**p == 'M') {
		(*p)++;
		rd->kind = 'M';
		if (posix_num(p, 2, 12, &v) == -1 || v < 1)
			return -1;
		rd->m = (int)v;
		if (*(*p)++ != '.' || posix_num(p, 1, 5, &v) == -1 || v < 1)
			return -1;
		rd->w = (int)v;
		if (*(*p)++ != '.' || posix_num(p, 1, 6, &v) == -1)
			return -1;
		rd->d = (int)v;
	} else {
		rd->kind = 'D';
		if (posix_num(p, 3, 365, &v) == -1)
			return -1;
		rd->n = (int)v;
	}
	rd->secs = 7200;
	if (**p == '/') {
		(*p)++;
		if (posix_hms(p, 167, &rd->secs) == -1)
			return -1;
	}
	return 0;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3" (POSIX offsets count west, ours east). */
static int
posix_parse(const char *s, struct posix_tz *tz)
{
	const char *p = s;
	long off;

	memset(tz, 0, sizeof(*tz));
	if (posix_name(&p) == -1 || posix_hms(&p, 24, &off) == -1)
		return -1;
	tz->std_off = -off;
	if (*p == '\0')
		return 0;
	if (posix_name(&p) == -1)
		return -1;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*p == '+' || *p == '-' || is_digit(*p)) {
		if (posix_hms(&p, 24, &off) == -1)
			return -1;
		tz->dst_off = -off;
	}
	if (*p == '\0') {
		/* POSIX leaves the default rule to the system; use the US one
		 * as glibc does. */
		const char *def = "M3.2.0,M11.1.0";

		return (posix_rule_day(&def, &tz->start) == -1 ||
		    *def++ != ',' || posix_rule_day(&def, &tz->end) == -1) ?
		    -1 : 0;
	}
	if (*p++ != ',' || posix_rule_day(&p, &tz->start) == -1 ||
	    *p++ != ',' || posix_rule_day(&p, &tz->end) == -1 || *p != '\0')
		return -1;
	return 0;
}

/* The local seconds (since the epoch, as if UTC) of a rule day in year y. */
static int64_t
rule_local(const struct rule_day *rd, int64_t y)
{
	int64_t days;
	int day, wd1;

	switch (rd->kind) {
	case 'J':
		days = days_from_civil(y, 1, 1) + rd->n - 1 +
		    (is_leap(y) && rd->n >= 60);
		break;
	case 'D':
		days = days_from_civil(y, 1, 1) + rd->n;
		break;
	default:
		days = days_from_civil(y, rd->m, 1);
		wd1 = weekday(days);
		day = (rd->d - wd1 + 7) % 7 + (rd->w - 1) * 7;
		while (day >= days_in_month(y, rd->m))
			day -= 7;
		days += day;
		break;
	}
	return days * DAY + rd->secs;
}

static long
rule_offset(const struct posix_tz *tz, int64_t t, int *isdst)
{
	int64_t y, s, e;
	int m, d, dst;

	*isdst = 0;
	if (!tz->has_dst)
		return tz->std_off;
	civil_from_days(floor_div(t + tz->std_off, DAY), &y, &m, &d);
	s = rule_local(&tz->start, y) - tz->std_off;
	e = rule_local(&tz->end, y) - tz->dst_off;
	if (s < e)
		dst = t >= s && t < e;
	else				/* southern hemisphere */
		dst = !(t >= e && t < s);
	*isdst = dst;
	return dst ? tz->dst_off : tz->std_off;
}

static long
zone_offset(const struct dt_zone *z, int64_t t, int *isdst)
{
	size_t lo, hi;
	const struct ttype *tt;

	if (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]) {
		if (z->has_rule)
			return rule_offset(&z->rule, t, isdst);
		tt = &z->types[z->ntrans ? z->idx[z->ntrans - 1] : 0];
	} else if (t < z->trans[0])
		tt = &z->types[0];	/* RFC 8536 3.2 */
	else {
		/* The last change at or before t. */
		lo = 0;
		hi = z->ntrans - 1;
		while (lo + 1 < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (z->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		tt = &z->types[z->idx[lo]];
	}
	*isdst = tt->isdst;
	return tt->off;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	size_t	isut, isstd, leap, time, type, chars;
};

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	/* Bounds that keep the size sums below from overflowing. */
	if (c->time > 100000 || c->type == 0 || c->type > 256 ||
	    c->chars > 4096 || c->leap > 10000 || c->isut > c->type ||
	    c->isstd > c->type)
		return -1;
	return 0;
}

static size_t
tzif_block(const struct tzif_counts *c, size_t timesize)
{
	return c->time * timesize + c->time + c->type * 6 + c->chars +
	    c->leap * (timesize + 4) + c->isstd + c->isut;
}

static int
tzif_parse(struct dt_zone *z, const unsigned char *buf, size_t len)
{
	struct tzif_counts c;
	const unsigned char *p;
	size_t timesize = 4, i, off;

	if (tzif_header(buf, len, &c) == -1)
		return -1;
	off = 44;
	if (buf[4] >= '2') {
		/* Skip the 32-bit block: the 64-bit one follows it. */
		off += tzif_block(&c, 4);
		if (off > len || tzif_header(buf + off, len - off, &c) == -1)
			return -1;
		off += 44;
		timesize = 8;
	}
	if (tzif_block(&c, timesize) > len - off)
		return -1;
	p = buf + off;
	z->ntrans = c.time;
	z->trans = xcalloc(c.time, sizeof(*z->trans));
	z->idx = xcalloc(c.time, 1);
	z->ntypes = c.type;
	z->types = xcalloc(c.type, sizeof(*z->types));
	for (i = 0; i < c.time; i++, p += timesize) {
		z->trans[i] = timesize == 8 ? be64(p) : (int32_t)be32(p);
		if (i > 0 && z->trans[i] <= z->trans[i - 1])
			return -1;
	}
	for (i = 0; i < c.time; i++, p++) {
		if (*p >= c.type)
			return -1;
		z->idx[i] = *p;
	}
	for (i = 0; i < c.type; i++, p += 6) {
		int32_t o = (int32_t)be32(p);

		if (o < -25 * 3600 || o > 26 * 3600 || p[4] > 1)
			return -1;
		z->types[i].off = o;
		z->types[i].isdst = p[4];
	}
	off += tzif_block(&c, timesize);
	/* The footer: "\nPOSIX-TZ\n", for times after the last change. */
	if (timesize == 8 && off < len && buf[off] == '\n') {
		const unsigned char *nl = memchr(buf + off + 1, '\n',
		    len - off - 1);
		char *rule;
		int r;

		if (nl == NULL)
			return -1;
		if (nl > buf + off + 1) {
			rule = xstrndup((const char *)buf + off + 1,
			    (size_t)(nl - buf - off - 1));
			r = posix_parse(rule, &z->rule);
			free(rule);
			if (r == -1)
				return -1;
			z->has_rule = 1;
		}
	}
	return 0;
}

static int
zone_name_ok(const char *name)
{
	const char *p;

	if (name[0] == '\0' || name[0] == '/' || strlen(name) > TZ_NAME_MAX ||
	    strstr(name, "..") != NULL)
		return 0;
	for (p = name; *p; p++)
		if (!is_alpha(*p) && !is_digit(*p) &&
		    strchr("/_+-", *p) == NULL)
			return 0;
	return 1;
}

struct dt_zone *
dt_zone_load(const char *name, char *err, size_t errlen)
{
	struct dt_zone *z;
	unsigned char *buf;
	const char *dir;
	char *path;
	struct stat st;
	size_t len = 0;
	int fd;

	if (name == NULL || !zone_name_ok(name)) {
		snprintf(err, errlen, "time zone '%s': not a zone name such as "
		    "Europe/Amsterdam", name ? name : "");
		return NULL;
	}
	if ((dir = getenv("TZDIR")) == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	path = xasprintf("%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "time zone '%s': %s: %s", name, path,
		    strerror(errno));
		free(path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TZIF_MAX) {
		snprintf(err, errlen, "time zone '%s': %s: not a zone file",
		    name, path);
		close(fd);
		free(path);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(name);
	if (len != (size_t)st.st_size || tzif_parse(z, buf, len) == -1) {
		snprintf(err, errlen, "time zone '%s': %s: not a valid TZif "
		    "file", name, path);
		dt_zone_free(z);
		z = NULL;
	}
	free(buf);
	free(path);
	return z;
}

struct dt_zone *
dt_zone_posix(const char *rule, char *err, size_t errlen)
{
	struct dt_zone *z = xcalloc(1, sizeof(*z));

	if (rule == NULL || posix_parse(rule, &z->rule) == -1) {
		snprintf(err, errlen, "time zone rule '%s': not a POSIX TZ "
		    "rule such as CET-1CEST,M3.5.0,M10.5.0/3",
		    rule ? rule : "");
		free(z);
		return NULL;
	}
	z->has_rule = 1;
	z->name = xstrdup(rule);
	z->ntypes = 1;
	z->types = xcalloc(1, sizeof(*z->types));
	z->types[0].off = z->rule.std_off;
	return z;
}

void
dt_zone_free(struct dt_zone *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->trans);
	free(z->idx);
	free(z->types);
	free(z);
}

const char *
dt_zone_name(const struct dt_zone *z)
{
	return z->name;
}

void
dt_localtime(const struct dt_zone *z, time_t t, struct dt_local *l)
{
	int64_t days, secs, y;
	int isdst;
	long off = zone_offset(z, (int64_t)t, &isdst);

	secs = (int64_t)t + off;
	days = floor_div(secs, DAY);
	secs -= days * DAY;
	civil_from_days(days, &y, &l->mon, &l->day);
	l->year = (int)y;
	l->hour = (int)(secs / 3600);
	l->min = (int)(secs / 60 % 60);
	l->sec = (int)(secs % 60);
	l->wday = weekday(days);
	l->utcoff = off;
	l->isdst = isdst;
}

/*
 * Local seconds L to an instant: the earliest t with t + offset(t) == L.
 * Zones change at most once in any 72 hours, so the offsets that can
 * apply are those found 36 hours either side.  -1 in a gap, with *t set
 * to L read with the offset before the gap (a time that does exist).
 */
static int
local_to_utc(const struct dt_zone *z, int64_t L, int64_t *t)
{
	long offs[3];
	int64_t best = 0;
	size_t n = 0, i, j;
	int isdst, found = 0;

	for (i = 0; i < 3; i++) {
		long o = zone_offset(z, L + ((int64_t)i - 1) * 36 * 3600,
		    &isdst);

		for (j = 0; j < n && offs[j] != o; j++)
			;
		if (j == n)
			offs[n++] = o;
	}
	for (i = 0; i < n; i++) {
		int64_t c = L - offs[i];

		if (zone_offset(z, c, &isdst) == offs[i] &&
		    (!found || c < best)) {
			best = c;
			found = 1;
		}
	}
	if (found) {
		*t = best;
		return 0;
	}
	*t = L - offs[0];
	return -1;
}

static int64_t
local_secs(int64_t y, int mon, int day, int hour, int min)
{
	return days_from_civil(y, mon, day) * DAY + hour * 3600 + min * 60;
}

int
dt_mktime(const struct dt_zone *z, int year, int mon, int day, int hour,
    int min, time_t *out)
{
	int64_t t;

	if (mon < 1 || mon > 12 || day < 1 ||
	    day > days_in_month(year, mon) || hour < 0 || hour > 23 ||
	    min < 0 || min > 59)
		return -1;
	if (local_to_utc(z, local_secs(year, mon, day, hour, min), &t) == -1)
		return -1;
	*out = (time_t)t;
	return 0;
}

void
dt_span_set(const struct dt_zone *z, time_t start, time_t end,
    struct dt_span *s)
{
	s->start = start;
	s->end = end;
	dt_localtime(z, start, &s->lstart);
	dt_localtime(z, end, &s->lend);
}

/* ---- the lexer ---- */

enum tkind { T_NUM, T_WORD, T_SEP };

struct tok {
	enum tkind	 kind;
	int		 sp;		/* white space before it */
	long		 num;
	int		 ndig;
	char		 w[TWORD_MAX + 1];	/* lower-case; "?" if unknown */
	char		 sep;
};

struct toks {
	struct tok	 t[TOK_MAX];
	size_t		 n;
};

/* 1: U+00A0 (a space), 2: a dash (U+2012..U+2015, U+2212), else 0;
 * *len is the byte length. */
static int
special(const unsigned char *s, size_t *len)
{
	if (s[0] == 0xc2 && s[1] == 0xa0) {
		*len = 2;
		return 1;
	}
	if ((s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x92 && s[2] <= 0x95) ||
	    (s[0] == 0xe2 && s[1] == 0x88 && s[2] == 0x92)) {
		*len = 3;
		return 2;
	}
	return 0;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

static int
lex(const char *str, struct toks *ts)
{
	const unsigned char *s = (const unsigned char *)str;
	int sp = 0;
	size_t len;

	ts->n = 0;
	while (*s) {
		struct tok *t;
		int sc = special(s, &len);

		if (is_space(*s) || sc == 1) {
			sp = 1;
			s += is_space(*s) ? 1 : len;
			continue;
		}
		if (ts->n == TOK_MAX)
			return -1;
		t = &ts->t[ts->n++];
		memset(t, 0, sizeof(*t));
		t->sp = sp;
		sp = 0;
		if (sc == 2) {
			t->kind = T_SEP;
			t->sep = '-';
			s += len;
		} else if (is_digit((char)*s)) {
			t->kind = T_NUM;
			for (; is_digit((char)*s); s++) {
				if (t->ndig < 9)
					t->num = t->num * 10 + (*s - '0');
				t->ndig++;
			}
		} else if (is_alpha((char)*s) || *s >= 0x80) {
			size_t n = 0;
			int unknown = 0;

			t->kind = T_WORD;
			while ((is_alpha((char)*s) || *s >= 0x80) &&
			    special(s, &len) == 0) {
				if (*s >= 0x80 || n == TWORD_MAX)
					unknown = 1;
				else
					t->w[n++] = (char)(*s | 0x20);
				s++;
			}
			if (unknown)
				memcpy(t->w, "?", 2);
		} else {
			t->kind = T_SEP;
			t->sep = (char)*s++;
		}
	}
	return 0;
}

static int
is_word(const struct toks *ts, size_t i, const char *w)
{
	return i < ts->n && ts->t[i].kind == T_WORD &&
	    strcmp(ts->t[i].w, w) == 0;
}

static int
is_sep(const struct toks *ts, size_t i, const char *seps)
{
	return i < ts->n && ts->t[i].kind == T_SEP &&
	    strchr(seps, ts->t[i].sep) != NULL;
}

static int
is_num(const struct toks *ts, size_t i)
{
	return i < ts->n && ts->t[i].kind == T_NUM;
}

static int
word_in(const struct toks *ts, size_t i, const char *const *list)
{
	for (; *list; list++)
		if (is_word(ts, i, *list))
			return 1;
	return 0;
}

/* The index of the word at i in list (NULL-terminated), or -1. */
static int
lookup_word(const struct toks *ts, size_t i, const char *const *list)
{
	for (int k = 0; list[k]; k++)
		if (is_word(ts, i, list[k]))
			return k;
	return -1;
}

/* ---- names ---- */

static const char *const nl_months[12] = {
	"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december",
};
static const char *const en_months[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const nl_wdays[7] = {
	"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag",
	"zaterdag",
};
static const char *const en_wdays[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

static const struct name {
	const char	*w;
	int		 v;
} month_names[] = {
	{ "januari", 1 }, { "january", 1 }, { "jan", 1 },
	{ "februari", 2 }, { "february", 2 }, { "feb", 2 }, { "febr", 2 },
	{ "maart", 3 }, { "march", 3 }, { "mrt", 3 }, { "mar", 3 },
	{ "april", 4 }, { "apr", 4 },
	{ "mei", 5 }, { "may", 5 },
	{ "juni", 6 }, { "june", 6 }, { "jun", 6 },
	{ "juli", 7 }, { "july", 7 }, { "jul", 7 },
	{ "augustus", 8 }, { "august", 8 }, { "aug", 8 },
	{ "september", 9 }, { "sep", 9 }, { "sept", 9 },
	{ "oktober", 10 }, { "october", 10 }, { "okt", 10 }, { "oct", 10 },
	{ "november", 11 }, { "nov", 11 },
	{ "december", 12 }, { "dec", 12 },
	{ NULL, 0 }
}, wday_names[] = {
	{ "zondag", 0 }, { "sunday", 0 }, { "zo", 0 }, { "sun", 0 },
	{ "maandag", 1 }, { "monday", 1 }, { "ma", 1 }, { "mon", 1 },
	{ "dinsdag", 2 }, { "tuesday", 2 }, { "di", 2 }, { "tue", 2 },
	{ "tues", 2 },
	{ "woensdag", 3 }, { "wednesday", 3 }, { "wo", 3 }, { "wed", 3 },
	{ "donderdag", 4 }, { "thursday", 4 }, { "do", 4 }, { "thu", 4 },
	{ "thur", 4 }, { "thurs", 4 },
	{ "vrijdag", 5 }, { "friday", 5 }, { "vr", 5 }, { "vrij", 5 },
	{ "fri", 5 },
	{ "zaterdag", 6 }, { "saturday", 6 }, { "za", 6 }, { "sat", 6 },
	{ NULL, 0 }
}, rel_names[] = {
	{ "vandaag", 0 }, { "today", 0 },
	{ "morgen", 1 }, { "tomorrow", 1 },
	{ "overmorgen", 2 },
	{ NULL, 0 }
};

static int
lookup(const struct toks *ts, size_t i, const struct name *names)
{
	if (i >= ts->n || ts->t[i].kind != T_WORD)
		return -1;
	for (; names->w; names++)
		if (strcmp(ts->t[i].w, names->w) == 0)
			return names->v;
	return -1;
}

/* ---- errors ---- */

/* Keep bad input printable and short enough to quote in one line. */
static void
set_input(struct dt_error *err, const char *s)
{
	size_t n = 0, cap = sizeof(err->input) - 4, k;
	const unsigned char *p;

	while (*s && is_space((unsigned char)*s))
		s++;
	for (p = (const unsigned char *)s; *p && n < INPUT_SHOWN && n < cap;) {
		if (*p < 0x20 || *p == 0x7f) {
			err->input[n++] = ' ';
			p++;
		} else if (*p < 0x80) {
			err->input[n++] = (char)*p++;
		} else {
			size_t len = (*p & 0xe0) == 0xc0 ? 2 :
			    (*p & 0xf0) == 0xe0 ? 3 :
			    (*p & 0xf8) == 0xf0 ? 4 : 1;

			for (k = 0; k < len && p[k]; k++)
				;
			if (k < len || !utf8_valid((const char *)p, len)) {
				err->input[n++] = '?';
				p++;
			} else if (n + len > INPUT_SHOWN || n + len > cap)
				break;
			else {
				memcpy(err->input + n, p, len);
				n += len;
				p += len;
			}
		}
	}
	while (n > 0 && err->input[n - 1] == ' ')
		n--;
	if (*p) {
		memcpy(err->input + n, "...", 3);
		n += 3;
	}
	err->input[n] = '\0';
}

static int
fail(struct dt_error *err, enum dt_err code, const char *input)
{
	err->code = code;
	set_input(err, input ? input : "");
	return -1;
}

int
dt_check_ahead(const struct dt_zone *z, time_t start, time_t now,
    struct dt_error *err)
{
	struct dt_local l;

	memset(err, 0, sizeof(*err));
	if (start >= now)
		return 0;
	dt_localtime(z, start, &l);
	err->year = l.year;
	err->mon = l.mon;
	err->day = l.day;
	err->wday = l.wday;
	err->hour = l.hour;
	err->min = l.min;
	return fail(err, DT_EPAST, NULL);
}

/* ---- dates ---- */

static void
skip_filler(const struct toks *ts, size_t *i)
{
	/* "a.s." / "as" / "aanstaande": Dutch for "coming". */
	if (is_word(ts, *i, "as") || is_word(ts, *i, "aanstaande"))
		(*i)++;
	else if (is_word(ts, *i, "a") && is_sep(ts, *i + 1, ".") &&
	    is_word(ts, *i + 2, "s")) {
		*i += 3;
		if (is_sep(ts, *i, "."))
			(*i)++;
	}
}

static void
skip_ordinal(const struct toks *ts, size_t *i)
{
	static const char *const suffixes[] = {
		"st", "nd", "rd", "th", "e", "ste", "de", NULL
	};

	if (*i < ts->n && !ts->t[*i].sp && word_in(ts, *i, suffixes))
		(*i)++;
}

static int
year_of(const struct tok *t, int *y)
{
	if (t->ndig == 4)
		*y = (int)t->num;
	else if (t->ndig == 2)
		*y = 2000 + (int)t->num;
	else
		return -1;
	return 0;
}

/*
 * A year after a month name, after a comma or not ("May 14, 2027"): four
 * digits, or two that cannot be an hour ("14 mei 27"; "14 mei 15" stays
 * 15:00, as "15:00" and "15.30" do).  *i is left after it when there is.
 */
static int
year_after_month(const struct toks *ts, size_t *i, int *y)
{
	const struct tok *t;
	size_t j = *i;

	if (is_sep(ts, j, ","))
		j++;
	if (!is_num(ts, j))
		return 0;
	t = &ts->t[j];
	if (t->ndig == 2 && (t->num < 24 || (j + 1 < ts->n &&
	    !ts->t[j + 1].sp && (is_sep(ts, j + 1, ":") ||
	    is_sep(ts, j + 1, ".")))))
		return 0;
	if (t->ndig != 4 && t->ndig != 2)
		return 0;
	(void)year_of(t, y);
	*i = j + 1;
	return 1;
}

/*
 * A date at tokens[*i...]; *i is left after it.  0 or -1 with err.
 * str is the whole input, for messages.
 */
static int
parse_date_at(const struct toks *ts, size_t *ip, const struct dt_local *today,
    struct dt_date *out, const char *str, struct dt_error *err)
{
	static const char *const on[] = { "op", "on", NULL };
	size_t i = *ip;
	int wday = -1, y = 0, m = 0, d = 0, rel, v, k;
	int64_t yy;

	if (ts->n == 0)
		return fail(err, DT_ENODATE, str);
	if (word_in(ts, i, on))
		i++;
	if ((wday = lookup(ts, i, wday_names)) >= 0) {
		i++;
		if (is_sep(ts, i, "."))
			i++;
		if (is_sep(ts, i, ","))
			i++;
	}
	if ((rel = lookup(ts, i, rel_names)) >= 0) {
		i++;
		civil_from_days(days_from_civil(today->year, today->mon,
		    today->day) + rel, &yy, &m, &d);
		y = (int)yy;
	} else if (is_num(ts, i)) {
		const struct tok *a = &ts->t[i++];

		if (is_sep(ts, i, "-/.") && is_num(ts, i + 1)) {
			char sep = ts->t[i].sep;
			const struct tok *b = &ts->t[i + 1];

			i += 2;
			if (a->ndig == 4) {
				/* 2027-05-14, 2027/05/14 */
				if (!(is_sep(ts, i, (char[]){ sep, 0 }) &&
				    is_num(ts, i + 1)) || b->ndig > 2 ||
				    ts->t[i + 1].ndig > 2)
					return fail(err, DT_EDATE, str);
				y = (int)a->num;
				m = (int)b->num;
				d = (int)ts->t[i + 1].num;
				i += 2;
				if (is_word(ts, i, "t") && !ts->t[i].sp)
					i++;	/* 2027-05-14T15:00 */
			} else {
				/* 14-05-2027, 14/5/2027, 14.05.27, 14-5 */
				if (a->ndig > 2 || b->ndig > 2)
					return fail(err, DT_EDATE, str);
				d = (int)a->num;
				m = (int)b->num;
				if (is_sep(ts, i, (char[]){ sep, 0 }) &&
				    is_num(ts, i + 1)) {
					if (year_of(&ts->t[i + 1], &y) == -1)
						return fail(err, DT_EDATE, str);
					i += 2;
				}
			}
		} else {
			/* 14 mei 2027, 14th May */
			if (a->ndig > 2)
				return fail(err, DT_EDATE, str);
			d = (int)a->num;
			skip_ordinal(ts, &i);
			if ((m = lookup(ts, i, month_names)) < 0)
				return fail(err, DT_EDATE, str);
			i++;
			if (is_sep(ts, i, ".") && !ts->t[i].sp)
				i++;
			(void)year_after_month(ts, &i, &y);
		}
	} else if ((m = lookup(ts, i, month_names)) >= 0) {
		/* May 14, 2027 */
		i++;
		if (is_sep(ts, i, ".") && !ts->t[i].sp)
			i++;
		if (!is_num(ts, i) || ts->t[i].ndig > 2)
			return fail(err, DT_EDATE, str);
		d = (int)ts->t[i++].num;
		skip_ordinal(ts, &i);
		(void)year_after_month(ts, &i, &y);
	} else
		return fail(err, DT_EDATE, str);

	if (y == 0) {
		skip_filler(ts, &i);
		/* The next such date on or after today (29 Feb: <= 8 years). */
		if (m < 1 || m > 12 || d < 1 || d > 31)
			return fail(err, DT_ENOSUCHDAY, str);
		for (k = 0; k <= 8 && y == 0; k++) {
			v = today->year + k;
			if (d <= days_in_month(v, m) && (k > 0 ||
			    m > today->mon || (m == today->mon &&
			    d >= today->day)))
				y = v;
		}
		if (y == 0)
			return fail(err, DT_ENOSUCHDAY, str);
	} else if (y < YEAR_MIN || y > YEAR_MAX)
		return fail(err, DT_EDATE, str);
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return fail(err, DT_ENOSUCHDAY, str);
	err->year = y;
	err->mon = m;
	err->day = d;
	err->wday = weekday(days_from_civil(y, m, d));
	if (wday >= 0 && wday != err->wday) {
		err->wday_written = wday;
		return fail(err, DT_EWEEKDAY, str);
	}
	out->year = y;
	out->mon = m;
	out->day = d;
	*ip = i;
	return 0;
}

int
dt_parse_date(const char *s, const struct dt_local *today,
    struct dt_date *out, struct dt_error *err)
{
	struct toks ts;
	size_t i = 0;

	memset(err, 0, sizeof(*err));
	if (s == NULL)
		return fail(err, DT_ENODATE, "");
	if (lex(s, &ts) == -1)
		return fail(err, DT_EDATE, s);
	if (parse_date_at(&ts, &i, today, out, s, err) == -1)
		return -1;
	if (i != ts.n)
		return fail(err, DT_EDATE, s);
	err->code = DT_OK;
	return 0;
}

/* ---- times ---- */

/* One clock time at tokens[*i...]: minutes after midnight. */
/*
 * A time as said in Dutch: "half vier" (15:30), "kwart over drie",
 * "kwart voor vijf", "vier uur", "half 4".  A clock of twelve hours: a
 * time before seven is the afternoon's, when meetings are.
 * 1 and *minutes when it is one, 0 when it is none, -1 with err.
 */
static int
spoken_clock_at(const struct toks *ts, size_t *ip, int after, int *minutes,
    const char *str, struct dt_error *err)
{
	static const char *const numbers[] = { "een", "twee", "drie", "vier",
	    "vijf", "zes", "zeven", "acht", "negen", "tien", "elf", "twaalf",
	    NULL };
	size_t i = *ip;
	long h, off = 0;
	int k, said = 0;

	if (is_word(ts, i, "half")) {
		off = -30;
		i++;
		said = 1;
	} else if (is_word(ts, i, "kwart") && (is_word(ts, i + 1, "over") ||
	    is_word(ts, i + 1, "voor"))) {
		off = is_word(ts, i + 1, "over") ? 15 : -15;
		i += 2;
		said = 1;
	}
	if ((k = lookup_word(ts, i, numbers)) >= 0)
		h = k + 1;
	else if (said && is_num(ts, i) && ts->t[i].ndig <= 2)
		h = ts->t[i].num;
	else if (said)
		return fail(err, DT_ETIME, str);
	else
		return 0;
	i++;
	if (h < 1 || h > 12)
		return fail(err, DT_ENOSUCHTIME, str);
	if (is_word(ts, i, "uur"))
		i++;
	/* "half zeven" is 18:30 as much as "half vier" is 15:30; and the
	 * end of "half zeven tot acht" is 20:00. */
	if (h * 60 + off < 7 * 60 || (after >= 0 && h * 60 + off <= after &&
	    h * 60 + off + 12 * 60 > after && h < 12))
		h += 12;
	*minutes = (int)(h * 60 + off);
	*ip = i;
	return 1;
}

/* after: the start, when this is the end of a range; else -1.
 * *pm (when not NULL): 1 when the clock carried "pm", else 0. */
static int
parse_clock_at(const struct toks *ts, size_t *ip, int after, int *minutes,
    int *pm, const char *str, struct dt_error *err)
{
	static const char *const hour_words[] = { "u", "h", "uur", NULL };
	size_t i = *ip;
	long h, mi = 0;
	int ampm = 0;		/* 1 am, 2 pm */
	int r;

	if (pm != NULL)
		*pm = 0;
	if ((r = spoken_clock_at(ts, ip, after, minutes, str, err)) != 0)
		return r == 1 ? 0 : -1;
	if (!is_num(ts, i) || ts->t[i].ndig > 2)
		return fail(err, DT_ETIME, str);
	h = ts->t[i++].num;
	if (is_sep(ts, i, ":.") && !ts->t[i].sp && is_num(ts, i + 1) &&
	    !ts->t[i + 1].sp) {
		if (ts->t[i + 1].ndig != 2)
			return fail(err, DT_ETIME, str);
		mi = ts->t[i + 1].num;
		i += 2;
	} else if ((is_word(ts, i, "u") || is_word(ts, i, "h")) &&
	    !ts->t[i].sp) {
		/* 15u, 15u30, 15h30 */
		i++;
		if (is_num(ts, i) && !ts->t[i].sp) {
			if (ts->t[i].ndig != 2)
				return fail(err, DT_ETIME, str);
			mi = ts->t[i++].num;
		}
	}
	if (is_word(ts, i, "am") || is_word(ts, i, "pm")) {
		ampm = ts->t[i].w[0] == 'a' ? 1 : 2;
		i++;
	} else if ((is_word(ts, i, "a") || is_word(ts, i, "p")) &&
	    is_sep(ts, i + 1, ".") && is_word(ts, i + 2, "m")) {
		ampm = ts->t[i].w[0] == 'a' ? 1 : 2;
		i += 3;
		if (is_sep(ts, i, "."))
			i++;
	} else if (word_in(ts, i, hour_words))
		i++;
	if (ampm) {
		if (h < 1 || h > 12 || mi > 59)
			return fail(err, DT_ENOSUCHTIME, str);
		h = h % 12 + (ampm == 2 ? 12 : 0);
		if (pm != NULL)
			*pm = ampm == 2;
	} else if (h > 23 || mi > 59)
		return fail(err, DT_ENOSUCHTIME, str);
	*minutes = (int)(h * 60 + mi);
	*ip = i;
	return 0;
}

/* A time or range at tokens[*i...] up to the end. */
static int
parse_time_at(const struct toks *ts, size_t i, struct dt_clock *c,
    const char *str, struct dt_error *err)
{
	static const char *const lead[] = {
		"om", "at", "van", "from", "vanaf", "tijd", "time", NULL
	};
	static const char *const to[] = {
		"tot", "to", "until", "till", "til", NULL
	};
	int between = 0, start_plain, start_pm, end_pm;
	size_t first;

	if (is_sep(ts, i, ","))
		i++;
	if (is_word(ts, i, "tussen") || is_word(ts, i, "between")) {
		between = 1;
		i++;
	} else if (word_in(ts, i, lead))
		i++;
	if (i >= ts->n)
		return fail(err, DT_ENOTIME, str);
	c->end = -1;
	first = i;
	if (parse_clock_at(ts, &i, -1, &c->start, &start_pm, str, err) == -1)
		return -1;
	/* A bare hour ("3", "3:30"), not "15:00", "03:00", "3am", "15u". */
	start_plain = i > first && is_num(ts, first) && is_num(ts, i - 1) &&
	    ts->t[first].num < 12 && ts->t[first].ndig == 1 + (ts->t[first].num
	    >= 10) && c->start < 12 * 60;
	if (is_sep(ts, i, "-") || word_in(ts, i, to) ||
	    (between && (is_word(ts, i, "en") || is_word(ts, i, "and")))) {
		i++;
		if (parse_clock_at(ts, &i, c->start, &c->end, &end_pm, str,
		    err) == -1)
			return -1;
		/* "3-5pm", "3:30 to 5 pm": in English the end's pm is the
		 * start's too, when that keeps the start first ("11-1pm" is
		 * 11:00-13:00). */
		if (start_plain && !start_pm && end_pm &&
		    c->start + 12 * 60 < c->end)
			c->start += 12 * 60;
	}
	if (i != ts->n)
		return fail(err, DT_ETIME, str);
	return 0;
}

int
dt_parse_time(const char *s, struct dt_clock *c, struct dt_error *err)
{
	struct toks ts;

	memset(err, 0, sizeof(*err));
	if (s == NULL)
		return fail(err, DT_ENOTIME, "");
	if (lex(s, &ts) == -1)
		return fail(err, DT_ETIME, s);
	if (ts.n == 0)
		return fail(err, DT_ENOTIME, s);
	return parse_time_at(&ts, 0, c, s, err);
}

/* ---- planning ---- */

/* A DT_EGAP error; exists is an instant near the missing time. */
static int
gap(const struct dt_zone *z, struct dt_error *err, int64_t exists,
    const char *input)
{
	struct dt_local l;

	dt_localtime(z, (time_t)exists, &l);
	err->end_hour = l.hour;
	err->end_min = l.min;
	snprintf(err->zone, sizeof(err->zone), "%s", z->name);
	return fail(err, DT_EGAP, input);
}

static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	while (*s && is_space((unsigned char)*s))
		s++;
	return *s == '\0';
}

int
dt_plan(const struct dt_zone *z, const char *date, const char *time,
    const struct dt_span *old, time_t now, struct dt_span *out,
    struct dt_error *err)
{
	struct dt_local today;
	struct dt_date d;
	struct dt_clock c = { -1, -1 };
	int64_t start, end, len = DEFAULT_LEN;
	int have_clock = 0;
	const char *ttext = blank(time) ? date : time;

	memset(err, 0, sizeof(*err));
	if (blank(date) && blank(time))
		return fail(err, DT_ENODATE, "");
	dt_localtime(z, now, &today);
	if (old != NULL && old->end > old->start)
		len = (int64_t)old->end - old->start;
	if (!blank(date)) {
		struct toks ts;
		size_t i = 0;

		if (lex(date, &ts) == -1)
			return fail(err, DT_EDATE, date);
		if (parse_date_at(&ts, &i, &today, &d, date, err) == -1)
			return -1;
		if (i < ts.n && blank(time)) {
			/* "datum: 14 mei 2027 15:00-17:00" */
			if (parse_time_at(&ts, i, &c, date, err) == -1) {
				if (err->code == DT_ETIME ||
				    err->code == DT_ENOTIME)
					err->code = DT_EDATE;
				return -1;
			}
			have_clock = 1;
		} else if (i < ts.n) {
			struct dt_clock ignored;

			/* The time line wins (the answer shows which time
			 * was taken); the rest must still read as a time. */
			if (parse_time_at(&ts, i, &ignored, date, err) == -1) {
				err->code = DT_EDATE;
				return -1;
			}
		}
	} else if (old != NULL) {
		d.year = old->lstart.year;
		d.mon = old->lstart.mon;
		d.day = old->lstart.day;
	} else
		return fail(err, DT_ENODATE, "");
	if (!blank(time)) {
		if (dt_parse_time(time, &c, err) == -1)
			return -1;
		have_clock = 1;
	}
	if (!have_clock) {
		if (old == NULL)
			return fail(err, DT_ENOTIME, "");
		c.start = old->lstart.hour * 60 + old->lstart.min;
		c.end = -1;
	}
	err->year = d.year;
	err->mon = d.mon;
	err->day = d.day;
	err->wday = weekday(days_from_civil(d.year, d.mon, d.day));
	err->hour = c.start / 60;
	err->min = c.start % 60;
	if (c.end >= 0 && c.end <= c.start) {
		err->end_hour = c.end / 60;
		err->end_min = c.end % 60;
		return fail(err, DT_EORDER, ttext);
	}
	if (local_to_utc(z, local_secs(d.year, d.mon, d.day, c.start / 60,
	    c.start % 60), &start) == -1)
		return gap(z, err, start, ttext);
	if (c.end >= 0) {
		err->hour = c.end / 60;
		err->min = c.end % 60;
		if (local_to_utc(z, local_secs(d.year, d.mon, d.day,
		    c.end / 60, c.end % 60), &end) == -1)
			return gap(z, err, end, ttext);
		err->hour = c.start / 60;
		err->min = c.start % 60;
	} else
		end = start + len;
	if (start < (int64_t)now)
		return fail(err, DT_EPAST, ttext);
	memset(err, 0, sizeof(*err));
	dt_span_set(z, (time_t)start, (time_t)end, out);
	return 0;
}

int
dt_check_daytime(const struct dt_span *s, struct dt_error *err)
{
	memset(err, 0, sizeof(*err));
	if (s->lstart.hour * 60 + s->lstart.min >= NIGHT_END)
		return 0;
	err->code = DT_ENIGHT;
	err->year = s->lstart.year;
	err->mon = s->lstart.mon;
	err->day = s->lstart.day;
	err->wday = s->lstart.wday;
	err->hour = s->lstart.hour;
	err->min = s->lstart.min;
	/* An end on the same day is part of the suggestion. */
	if (s->lend.year == s->lstart.year && s->lend.mon == s->lstart.mon &&
	    s->lend.day == s->lstart.day) {
		err->end_hour = s->lend.hour;
		err->end_min = s->lend.min;
	} else
		err->end_hour = err->end_min = -1;
	return -1;
}

/* ---- text ---- */

static char *
day_text(int year, int mon, int day, int wday, enum lang lang)
{
	if (lang == LANG_EN)
		return xasprintf("%s %d %s %d", en_wdays[wday], day,
		    en_months[mon - 1], year);
	return xasprintf("%s %d %s %d", nl_wdays[wday], day,
	    nl_months[mon - 1], year);
}

char *
dt_format_day(const struct dt_local *l, enum lang lang)
{
	return day_text(l->year, l->mon, l->day, l->wday, lang);
}

char *
dt_error_message(const struct dt_error *e, enum lang lang)
{
	int en = lang == LANG_EN;
	char *day = NULL, *msg;

	if (e->mon >= 1 && e->mon <= 12 && e->wday >= 0 && e->wday <= 6)
		day = day_text(e->year, e->mon, e->day, e->wday, lang);
	switch (e->code) {
	case DT_OK:
		msg = xstrdup(en ? "The date and time are fine." :
		    "De datum en tijd zijn in orde.");
		break;
	case DT_ENODATE:
		msg = xstrdup(en ? "Your message gives no date. Write for "
		    "example: date: 14-05-2027" : "Er staat geen datum in je "
		    "bericht. Schrijf bijvoorbeeld: datum: 14-05-2027");
		break;
	case DT_EDATE:
		msg = en ? xasprintf("I cannot read the date '%s'. Write for "
		    "example: date: 14-05-2027 (or 14 May 2027, or Friday 14 "
		    "May)", e->input) : xasprintf("De datum '%s' begrijp ik "
		    "niet. Schrijf bijvoorbeeld: datum: 14-05-2027 (of 14 mei "
		    "2027, of vrijdag 14 mei)", e->input);
		break;
	case DT_ENOSUCHDAY:
		msg = en ? xasprintf("The date '%s' does not exist. Write for "
		    "example: date: 14-05-2027", e->input) : xasprintf("De "
		    "datum '%s' bestaat niet. Schrijf bijvoorbeeld: datum: "
		    "14-05-2027", e->input);
		break;
	case DT_EWEEKDAY:
		if (day == NULL || e->wday_written < 0 || e->wday_written > 6)
			goto unknown;
		msg = en ? xasprintf("%d %s %d is a %s, not a %s. Write for "
		    "example: date: %s", e->day, en_months[e->mon - 1],
		    e->year, en_wdays[e->wday], en_wdays[e->wday_written],
		    day) :
		    xasprintf("%d %s %d is een %s, geen %s. Schrijf "
		    "bijvoorbeeld: datum: %s", e->day, nl_months[e->mon - 1],
		    e->year, nl_wdays[e->wday], nl_wdays[e->wday_written], day);
		break;
	case DT_ENOTIME:
		msg = xstrdup(en ? "Your message gives no time. Write for "
		    "example: time: 15:00-17:00" : "Er staat geen tijd in je "
		    "bericht. Schrijf bijvoorbeeld: tijd: 15:00-17:00");
		break;
	case DT_ETIME:
		msg = en ? xasprintf("I cannot read the time '%s'. Write for "
		    "example: time: 15:00-17:00 (or 15.00 to 17.00, or 3pm)",
		    e->input) : xasprintf("De tijd '%s' begrijp ik niet. "
		    "Schrijf bijvoorbeeld: tijd: 15:00-17:00 (of 15.00 tot "
		    "17.00, of 15u)", e->input);
		break;
	case DT_ENOSUCHTIME:
		msg = en ? xasprintf("The time '%s' does not exist. Write for "
		    "example: time: 15:00-17:00", e->input) : xasprintf("De "
		    "tijd '%s' bestaat niet. Schrijf bijvoorbeeld: tijd: "
		    "15:00-17:00", e->input);
		break;
	case DT_EGAP:
		if (day == NULL)
			goto unknown;
		msg = en ? xasprintf("On %s there is no %02d:%02d in time "
		    "zone %s: the clocks go forward that night. Choose another "
		    "time, for example %02d:%02d.", day, e->hour, e->min,
		    e->zone, e->end_hour, e->end_min) : xasprintf("Op %s "
		    "bestaat %02d:%02d niet in tijdzone %s: die nacht gaat de "
		    "klok vooruit. Kies een andere tijd, bijvoorbeeld "
		    "%02d:%02d.", day, e->hour, e->min, e->zone, e->end_hour,
		    e->end_min);
		break;
	case DT_EORDER:
		msg = en ? xasprintf("The end time %02d:%02d is not after the "
		    "start time %02d:%02d. Write for example: time: "
		    "15:00-17:00", e->end_hour, e->end_min, e->hour, e->min) :
		    xasprintf("De eindtijd %02d:%02d ligt niet na de begintijd "
		    "%02d:%02d. Schrijf bijvoorbeeld: tijd: 15:00-17:00",
		    e->end_hour, e->end_min, e->hour, e->min);
		break;
	case DT_EPAST:
		if (day == NULL)
			goto unknown;
		day[0] = (char)(day[0] & ~0x20);	/* starts a sentence */
		msg = en ? xasprintf("%s at %02d:%02d is in the past. Choose a "
		    "date in the future.", day, e->hour, e->min) :
		    xasprintf("%s om %02d:%02d ligt in het verleden. Kies een "
		    "datum in de toekomst.", day, e->hour, e->min);
		break;
	case DT_ENIGHT: {
		/* The same clock in the afternoon (00:30 becomes 12:30). */
		int h = e->hour % 12 + 12, eh = e->end_hour % 12 + 12;
		char *range = e->end_hour >= 0 && e->end_hour < 12 &&
		    eh * 60 + e->end_min > h * 60 + e->min ? xasprintf("%02d:%02d-%02d:%02d", h,
		    e->min, eh, e->end_min) : xasprintf("%02d:%02d", h, e->min);

		msg = en ? xasprintf("%02d:%02d is in the middle of the night. "
		    "Did you mean %02d:%02d? Write times on the 24-hour clock, "
		    "for example: time: %s", e->hour, e->min, h, e->min,
		    range) : xasprintf("%02d:%02d is midden in de nacht. "
		    "Bedoel je %02d:%02d? Schrijf tijden op de 24-uursklok, "
		    "bijvoorbeeld: tijd: %s", e->hour, e->min, h, e->min, range);
		free(range);
		break;
	}
	default:
	unknown:
		msg = xstrdup(en ? "I cannot read the date or time. Write for "
		    "example: date: 14-05-2027 and time: 15:00-17:00" :
		    "De datum of tijd begrijp ik niet. Schrijf bijvoorbeeld: "
		    "datum: 14-05-2027 en tijd: 15:00-17:00");
		break;
	}
	free(day);
	return msg;
}

char *
dt_format_iso(const struct dt_zone *z, time_t t, char buf[DT_ISO_LEN])
{
	struct dt_local l;
	long off;
	int r;

	dt_localtime(z, t, &l);
	off = l.utcoff < 0 ? -l.utcoff : l.utcoff;
	r = snprintf(buf, DT_ISO_LEN,
	    "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    l.year, l.mon, l.day, l.hour, l.min, l.sec,
	    l.utcoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
	if (r < 0 || r >= DT_ISO_LEN)
		buf[0] = '\0';		/* only for years beyond 9999 */
	return buf;
}

char *
dt_format_span(const struct dt_span *s, enum lang lang)
{
	char *a, *b, *r;

	a = dt_format_day(&s->lstart, lang);
	if (s->lstart.year == s->lend.year && s->lstart.mon == s->lend.mon &&
	    s->lstart.day == s->lend.day) {
		/* U+2013 EN DASH between the times, as typographers want. */
		r = xasprintf("%s, %02d:%02d\u2013%02d:%02d", a, s->lstart.hour,
		    s->lstart.min, s->lend.hour, s->lend.min);
	} else {
		b = dt_format_day(&s->lend, lang);
		r = xasprintf("%s, %02d:%02d \u2013 %s, %02d:%02d", a,
		    s->lstart.hour, s->lstart.min, b, s->lend.hour,
		    s->lend.min);
		free(b);
	}
	free(a);
	return r;
}

/* The calendar arithmetic above, for other modules (one copy of it). */
int64_t
dt_days_from_civil(int64_t y, int m, int d)
{
	return days_from_civil(y, m, d);
}

void
dt_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	civil_from_days(z, y, m, d);
}
