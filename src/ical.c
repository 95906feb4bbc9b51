/*
 * ical.c - invitations, the feed and inbound replies, built and read with
 * libical 3.0 (the only file that includes it).  Facts and pitfalls that
 * shaped this file are in CALENDAR.md.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libical/ical.h>

#include "ical.h"
#include "log.h"
#include "util.h"

/* Caps on what we put in a calendar; longer values are cut. */
#define SUMMARY_MAX	1024
#define LOCATION_MAX	1024	/* a "locatie:" line holds as much (command.c) */
#define DESC_MAX	(32 * 1024)
#define CN_MAX		256
#define UID_MAX		255
#define ADDR_MAX	320
#define COMMENT_MAX	4096
#define ZONES_MAX	16

static int	ical_ready;

static void
ical_init(void)
{
	if (ical_ready)
		return;
	/* libical can be built to abort() on its errors; we handle them. */
	icalerror_set_errors_are_fatal(0);
	ical_ready = 1;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- names ------------------------------------------------------------ */

static const char *const method_names[] = {
	[ITIP_NONE] = "",
	[ITIP_PUBLISH] = "PUBLISH",
	[ITIP_REQUEST] = "REQUEST",
	[ITIP_REPLY] = "REPLY",
	[ITIP_ADD] = "ADD",
	[ITIP_CANCEL] = "CANCEL",
	[ITIP_REFRESH] = "REFRESH",
	[ITIP_COUNTER] = "COUNTER",
	[ITIP_DECLINECOUNTER] = "DECLINECOUNTER",
	[ITIP_OTHER] = "OTHER",
};

const char *
ical_method_name(enum itip_method m)
{
	if ((size_t)m >= ARRAY_LEN(method_names))
		return "OTHER";
	return method_names[m];
}

enum itip_method
ical_method_from_name(const char *s)
{
	size_t i;
	char buf[32];

	if (s == NULL)
		return ITIP_NONE;
	while (*s == ' ' || *s == '\t' || *s == '"')
		s++;
	for (i = 0; i + 1 < sizeof(buf) && s[i] && s[i] != '"' &&
	    s[i] != ' ' && s[i] != '\t' && s[i] != ';'; i++)
		buf[i] = s[i];
	buf[i] = '\0';
	if (buf[0] == '\0')
		return ITIP_NONE;
	for (i = ITIP_PUBLISH; i < ITIP_OTHER; i++)
		if (strcasecmp(buf, method_names[i]) == 0)
			return (enum itip_method)i;
	return ITIP_OTHER;
}

static const char *const partstat_names[] = {
	[PARTSTAT_NEEDS_ACTION] = "NEEDS-ACTION",
	[PARTSTAT_ACCEPTED] = "ACCEPTED",
	[PARTSTAT_DECLINED] = "DECLINED",
	[PARTSTAT_TENTATIVE] = "TENTATIVE",
	[PARTSTAT_DELEGATED] = "DELEGATED",
	[PARTSTAT_OTHER] = "OTHER",
};

const char *
ical_partstat_name(enum ical_partstat p)
{
	if ((size_t)p >= ARRAY_LEN(partstat_names))
		return "OTHER";
	return partstat_names[p];
}

/* ---- text from mail --------------------------------------------------- */

enum textmode {
	TEXT_LINE,	/* one line: every control character becomes a space */
	TEXT_MULTI,	/* keeps '\n' and '\t'; CRLF and CR become '\n' */
	TEXT_NAME	/* TEXT_LINE, and '"' and '^' dropped (CN, CALENDAR.md) */
};

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid;
 * *cp gets the code point. */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * A clean copy of untrusted text (caller frees): valid UTF-8 (U+FFFD for
 * bad bytes), no control characters beyond what the mode keeps, at most
 * max bytes (cut at a character boundary), spaces trimmed at both ends.
 */
static char *
clean_text(const char *in, enum textmode mode, size_t max)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), i = 0, o = 0, len;
	char *out, tmp[4];
	uint32_t cp;

	out = xmalloc(max + 1);
	while (i < n) {
		len = utf8_seq(s + i, n - i, &cp);
		if (len == 0) {
			memcpy(tmp, "\xef\xbf\xbd", 3);	/* U+FFFD */
			len = 1;
			cp = 0xfffd;
		} else
			memcpy(tmp, s + i, len);
		i += len;
		if (cp == '\r' && mode == TEXT_MULTI) {
			if (i < n && s[i] == '\n')
				continue;
			cp = '\n';
			tmp[0] = '\n';
		}
		if (mode == TEXT_NAME && (cp == '"' || cp == '^'))
			continue;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (mode == TEXT_MULTI && (cp == '\n' || cp == '\t'))
				tmp[0] = (char)cp;
			else
				tmp[0] = ' ';
			len = 1;
		} else if (cp == 0xfffd && len == 1)
			len = 3;
		if (o + len > max)
			break;
		memcpy(out + o, tmp, len);
		o += len;
	}
	out[o] = '\0';
	/* Trim spaces (and, for multi-line text, blank lines) at both ends. */
	for (i = 0; out[i] == ' ' || (mode == TEXT_MULTI && isspace(
	    (unsigned char)out[i])); i++)
		;
	while (o > i && (out[o - 1] == ' ' || (mode == TEXT_MULTI &&
	    isspace((unsigned char)out[o - 1]))))
		o--;
	memmove(out, out + i, o - i);
	out[o - i] = '\0';
	return out;
}

/* An error naming a value from the caller, made safe for a log line. */
static void
seterr_value(char *err, size_t errlen, const char *what, const char *uid,
    const char *value)
{
	char *v = clean_text(value ? value : "", TEXT_LINE, 80);

	if (uid != NULL)
		seterr(err, errlen, "%s: invalid %s '%s'", uid, what, v);
	else
		seterr(err, errlen, "invalid %s '%s'", what, v);
	free(v);
}

/* Our own UIDs only; anything else is a bug upstream, not text to clean. */
static int
uid_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && strchr("@._+=/-", *s) == NULL)
			return 0;
	return n <= UID_MAX;
}

/* An addr-spec we are willing to put after "mailto:" unescaped. */
static int
addr_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL || (n = strlen(s)) < 3 || n > ADDR_MAX)
		return 0;
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("\"(),:;<>[]\\", *s) != NULL)
			return 0;
	return 1;
}

/* An IANA zone name; also keeps libical from opening paths of our
 * choosing under the zoneinfo directory ("../"). */
static int
zone_name_ok(const char *s)
{
	size_t n = 0;
	char prev = '/';

	if (s == NULL)
		return 0;
	for (; *s; s++, n++) {
		if (!isalnum((unsigned char)*s) && strchr("_+-/", *s) == NULL)
			return 0;
		if (*s == '/' && prev == '/')
			return 0;
		prev = *s;
	}
	return n > 0 && n <= 64 && prev != '/';
}

/* ---- time zones -------------------------------------------------------- */

/* One observance of a compact zone. */
struct zrule {
	int			 from, to;	/* seconds east of UTC */
	const char		*name;		/* TZNAME or NULL */
	struct icaltimetype	 dtstart;	/* local, the first onset */
	const char		*rrule;		/* NULL: a fixed offset */
};

struct zone {
	char		*tzid;
	icaltimezone	*tz;
};

static struct zone	zones[ZONES_MAX];
static size_t		nzones;

static struct icaltimetype
local_tt(int y, int mo, int d, int h, int mi, int s)
{
	struct icaltimetype t = icaltime_null_time();

	t.year = y;
	t.month = mo;
	t.day = d;
	t.hour = h;
	t.minute = mi;
	t.second = s;
	t.is_date = 0;
	return t;
}

static void
add_observance(icalcomponent *vtz, icalcomponent_kind kind,
    const struct zrule *r)
{
	icalcomponent *c = icalcomponent_new(kind);

	icalcomponent_add_property(c, icalproperty_new_tzoffsetfrom(r->from));
	icalcomponent_add_property(c, icalproperty_new_tzoffsetto(r->to));
	if (r->name != NULL)
		icalcomponent_add_property(c, icalproperty_new_tzname(r->name));
	icalcomponent_add_property(c, icalproperty_new_dtstart(r->dtstart));
	if (r->rrule != NULL)
		icalcomponent_add_property(c, icalproperty_new_rrule(
		    icalrecurrencetype_from_string(r->rrule)));
	icalcomponent_add_component(vtz, c);
}

static icalcomponent *
zone_component(const char *tzid, const struct zrule *std,
    const struct zrule *dst)
{
	icalcomponent *vtz = icalcomponent_new(ICAL_VTIMEZONE_COMPONENT);
	icalproperty *loc;

	icalcomponent_add_property(vtz, icalproperty_new_tzid(tzid));
	/* libical-based clients (Evolution) map the zone by this. */
	loc = icalproperty_new_x(tzid);
	icalproperty_set_x_name(loc, "X-LIC-LOCATION");
	icalcomponent_add_property(vtz, loc);
	add_observance(vtz, ICAL_XSTANDARD_COMPONENT, std);
	if (dst != NULL)
		add_observance(vtz, ICAL_XDAYLIGHT_COMPONENT, dst);
	return vtz;
}

/* CALENDAR.md: the compact Europe/Amsterdam, valid since 1996. */
static icalcomponent *
zone_amsterdam(void)
{
	struct zrule std = { 2 * 3600, 3600, "CET",
	    local_tt(1970, 10, 25, 3, 0, 0), "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" };
	struct zrule dst = { 3600, 2 * 3600, "CEST",
	    local_tt(1970, 3, 29, 2, 0, 0), "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" };

	return zone_component("Europe/Amsterdam", &std, &dst);
}

/*
 * The first onset in 1970 of a yearly rule of the kind tzdata produces
 * (BYMONTH with BYDAY "-1SU"/"2SU", optionally BYMONTHDAY for "Sun>=8"),
 * at the time of day of `at`.  -1 for any other kind of rule.
 */
static int
rule_onset_1970(const struct icalrecurrencetype *r, struct icaltimetype at,
    struct icaltimetype *out)
{
	int month, dim, d, wd, pos, i, hit;
	struct icaltimetype t;

	if (r->freq != ICAL_YEARLY_RECURRENCE || r->interval > 1 ||
	    r->count != 0 || !icaltime_is_null_time(r->until))
		return -1;
	if (r->by_month[0] == ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_month[1] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_day[0] == ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_day[1] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_second[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_year_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_week_no[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_set_pos[0] != ICAL_RECURRENCE_ARRAY_MAX)
		return -1;
	month = r->by_month[0];
	if (month < 1 || month > 12)
		return -1;
	wd = (int)icalrecurrencetype_day_day_of_week(r->by_day[0]);
	pos = icalrecurrencetype_day_position(r->by_day[0]);
	dim = icaltime_days_in_month(month, 1970);
	for (d = 1; d <= dim; d++) {
		t = local_tt(1970, month, d, at.hour, at.minute, at.second);
		if (icaltime_day_of_week(t) != wd)
			continue;
		if (pos > 0 && (d - 1) / 7 + 1 != pos)
			continue;
		if (pos < 0 && (dim - d) / 7 + 1 != -pos)
			continue;
		if (r->by_month_day[0] != ICAL_RECURRENCE_ARRAY_MAX) {
			hit = 0;
			for (i = 0; i < ICAL_BY_MONTHDAY_SIZE &&
			    r->by_month_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
				if (r->by_month_day[i] == d)
					hit = 1;
			if (!hit)
				continue;
		}
		*out = t;
		return 0;
	}
	return -1;
}

/* The builtin observances still recurring today: those with a yearly
 * RRULE without UNTIL. */
struct open_rule {
	int			 found;
	struct zrule		 z;
	char			*rrule;
	char			*name;
};

static int
open_rule(icalcomponent *obs, struct open_rule *o)
{
	icalproperty *p;
	struct icalrecurrencetype r;
	struct icaltimetype start, onset;
	const char *name;

	if ((p = icalcomponent_get_first_property(obs, ICAL_RRULE_PROPERTY))
	    == NULL)
		return 0;
	r = icalproperty_get_rrule(p);
	if (!icaltime_is_null_time(r.until) || r.count != 0)
		return 0;
	if (icalcomponent_get_next_property(obs, ICAL_RRULE_PROPERTY) != NULL)
		return -1;
	start = icalcomponent_get_dtstart(obs);
	if (icaltime_is_null_time(start) || rule_onset_1970(&r, start,
	    &onset) == -1)
		return -1;
	if (o->found)
		return -1;
	o->found = 1;
	p = icalcomponent_get_first_property(obs, ICAL_TZOFFSETFROM_PROPERTY);
	o->z.from = p ? icalproperty_get_tzoffsetfrom(p) : 0;
	p = icalcomponent_get_first_property(obs, ICAL_TZOFFSETTO_PROPERTY);
	o->z.to = p ? icalproperty_get_tzoffsetto(p) : 0;
	p = icalcomponent_get_first_property(obs, ICAL_TZNAME_PROPERTY);
	name = p ? icalproperty_get_tzname(p) : NULL;
	o->name = name ? clean_text(name, TEXT_LINE, 32) : NULL;
	o->z.name = o->name;
	o->z.dtstart = onset;
	o->rrule = icalrecurrencetype_as_string_r(&r);
	o->z.rrule = o->rrule;
	return 0;
}

/*
 * Does the reduced zone give the offsets of the full one, every six hours
 * for the next ten years?  Cheap (once per zone) and it catches what the
 * reduction cannot express, such as Morocco's yearly Ramadan changes.
 */
static int
zone_agrees(icalcomponent *vtz, icaltimezone *full)
{
	icaltimezone *tz = icaltimezone_new();
	icalcomponent *copy = icalcomponent_new_clone(vtz);
	struct icaltimetype u;
	time_t t, now = time(NULL);
	int a, b, dst, ok = 1;

	if (!icaltimezone_set_component(tz, copy)) {
		icalcomponent_free(copy);
		icaltimezone_free(tz, 1);
		return 0;
	}
	for (t = now; ok && t < now + 10 * 366 * 86400; t += 6 * 3600) {
		u = icaltime_from_timet_with_zone(t, 0,
		    icaltimezone_get_utc_timezone());
		a = icaltimezone_get_utc_offset_of_utc_time(tz, &u, &dst);
		b = icaltimezone_get_utc_offset_of_utc_time(full, &u, &dst);
		ok = a == b;
	}
	icaltimezone_free(tz, 1);
	return ok;
}

/*
 * Reduce a zone of the system tzdata (through libical's builtin zones) to
 * its current rules: CALENDAR.md explains why the full history, 26
 * observances for Amsterdam, is no good in invitations.
 */
static icalcomponent *
zone_derive(const char *tzid, char *err, size_t errlen)
{
	icaltimezone *b;
	icalcomponent *vtz, *c, *out = NULL;
	icalcompiter it;
	struct open_rule std = { 0 }, dst = { 0 }, *o;
	struct zrule fixed;
	struct icaltimetype now;
	int bad = 0, isdst = 0;

	if ((b = icaltimezone_get_builtin_timezone(tzid)) == NULL) {
		seterr(err, errlen, "unknown time zone '%s' (not in the "
		    "system tzdata)", tzid);
		return NULL;
	}
	if (b == icaltimezone_get_utc_timezone()) {
		/* libical's UTC has no component of its own. */
		memset(&fixed, 0, sizeof(fixed));
		fixed.name = "UTC";
		fixed.dtstart = local_tt(1970, 1, 1, 0, 0, 0);
		return zone_component(tzid, &fixed, NULL);
	}
	if ((vtz = icaltimezone_get_component(b)) == NULL) {
		seterr(err, errlen, "time zone '%s': no rules in the system "
		    "tzdata", tzid);
		return NULL;
	}
	for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
	    (c = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
		if (icalcomponent_isa(c) == ICAL_XSTANDARD_COMPONENT)
			o = &std;
		else if (icalcomponent_isa(c) == ICAL_XDAYLIGHT_COMPONENT)
			o = &dst;
		else
			continue;
		if (open_rule(c, o) == -1)
			bad = 1;
	}
	if (!bad && std.found && dst.found)
		out = zone_component(tzid, &std.z, &dst.z);
	else if (!bad && !std.found && !dst.found) {
		/* No daylight saving any more: the offset in force now. */
		now = icaltime_from_timet_with_zone(time(NULL), 0,
		    icaltimezone_get_utc_timezone());
		fixed.from = fixed.to =
		    icaltimezone_get_utc_offset_of_utc_time(b, &now, &isdst);
		fixed.name = NULL;
		fixed.dtstart = local_tt(1970, 1, 1, 0, 0, 0);
		fixed.rrule = NULL;
		out = zone_component(tzid, &fixed, NULL);
	} else
		seterr(err, errlen, "time zone '%s': its current rules are not "
		    "one yearly standard and one daylight rule", tzid);
	free(std.rrule);
	free(std.name);
	free(dst.rrule);
	free(dst.name);
	if (out != NULL && !zone_agrees(out, b)) {
		icalcomponent_free(out);
		out = NULL;
		seterr(err, errlen, "time zone '%s': its rules for the coming "
		    "years (e.g. Ramadan changes) do not fit one yearly "
		    "standard and one daylight rule", tzid);
	}
	return out;
}

/* The zone for tzid, built once and kept until ical_shutdown(). */
static icaltimezone *
zone_get(const char *tzid, char *err, size_t errlen)
{
	icalcomponent *vtz;
	icaltimezone *tz;
	size_t i;

	ical_init();
	if (tzid == NULL)
		tzid = ICAL_DEFAULT_TZID;
	for (i = 0; i < nzones; i++)
		if (strcmp(zones[i].tzid, tzid) == 0)
			return zones[i].tz;
	if (!zone_name_ok(tzid)) {
		seterr_value(err, errlen, "time zone name", NULL, tzid);
		return NULL;
	}
	if (nzones == ZONES_MAX) {
		seterr(err, errlen, "too many time zones in use");
		return NULL;
	}
	if (strcmp(tzid, "Europe/Amsterdam") == 0)
		vtz = zone_amsterdam();
	else if ((vtz = zone_derive(tzid, err, errlen)) == NULL)
		return NULL;
	tz = icaltimezone_new();
	if (!icaltimezone_set_component(tz, vtz)) {
		icalcomponent_free(vtz);
		icaltimezone_free(tz, 1);
		seterr(err, errlen, "time zone '%s': libical refused it", tzid);
		return NULL;
	}
	zones[nzones].tzid = xstrdup(tzid);
	zones[nzones].tz = tz;
	nzones++;
	return tz;
}

int
ical_zone_check(const char *tzid, char *err, size_t errlen)
{
	return zone_get(tzid, err, errlen) == NULL ? -1 : 0;
}

static int
zone_offset(icaltimezone *tz, time_t t, int *isdst)
{
	struct icaltimetype u;
	int dst = 0, off;

	u = icaltime_from_timet_with_zone(t, 0, icaltimezone_get_utc_timezone());
	off = icaltimezone_get_utc_offset_of_utc_time(tz, &u, &dst);
	if (isdst != NULL)
		*isdst = dst;
	return off;
}

/* UTC instant t as wall-clock time in tz, labelled with tz. */
static struct icaltimetype
local_of(icaltimezone *tz, time_t t)
{
	struct tm tm;
	time_t l = t + zone_offset(tz, t, NULL);
	struct icaltimetype lt;

	gmtime_r(&l, &tm);
	lt = local_tt(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	lt.zone = tz;
	return lt;
}

static struct icaltimetype
utc_of(time_t t)
{
	return icaltime_from_timet_with_zone(t, 0,
	    icaltimezone_get_utc_timezone());
}

int
ical_utc_offset(const char *tzid, time_t t, int *secs)
{
	icaltimezone *tz;

	if ((tz = zone_get(tzid, NULL, 0)) == NULL)
		return -1;
	*secs = zone_offset(tz, t, NULL);
	return 0;
}

int
ical_utc_to_local(const char *tzid, time_t t, struct tm *out)
{
	icaltimezone *tz;
	int off, isdst;
	time_t l;

	if ((tz = zone_get(tzid, NULL, 0)) == NULL)
		return -1;
	off = zone_offset(tz, t, &isdst);
	l = t + off;
	if (gmtime_r(&l, out) == NULL)
		return -1;
	out->tm_isdst = isdst;
	out->tm_gmtoff = off;
	out->tm_zone = "";
	return 0;
}

int
ical_local_to_utc(const char *tzid, int y, int mo, int d, int h, int mi,
    time_t *out)
{
	icaltimezone *tz;
	struct tm tm;
	time_t l, u, best = 0;
	int offs[2], i, found = 0;

	if ((tz = zone_get(tzid, NULL, 0)) == NULL)
		return -1;
	if (y < 1971 || y > 2199 || mo < 1 || mo > 12 || d < 1 ||
	    d > icaltime_days_in_month(mo, y) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	l = timegm(&tm);
	/*
	 * The offsets in force a day before and a day after are the only
	 * candidates; a candidate is right when the instant it gives has
	 * that offset.  Two right ones: the autumn hour that happens twice,
	 * take the first.  None: the spring gap, keep the offset from before
	 * so the time moves forward by the gap.
	 */
	offs[0] = zone_offset(tz, l - 86400, NULL);
	offs[1] = zone_offset(tz, l + 86400, NULL);
	for (i = 0; i < 2; i++) {
		u = l - offs[i];
		if (zone_offset(tz, u, NULL) == offs[i] && (!found || u < best)) {
			best = u;
			found = 1;
		}
	}
	*out = found ? best : l - offs[0];
	return 0;
}

/* ---- building ---------------------------------------------------------- */

/* Every X-LIC-ERROR (a property libical could not read, or a restriction
 * that failed) below c; the PUBLISH feed may lack ORGANIZER. */
static const char *
first_error(icalcomponent *c, int feed)
{
	icalproperty *p;
	icalcomponent *sub;
	icalcompiter it;
	const char *s;

	for (p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	    p != NULL; p = icalcomponent_get_next_property(c,
	    ICAL_XLICERROR_PROPERTY)) {
		s = icalproperty_get_xlicerror(p);
		if (s == NULL)
			s = "X-LIC-ERROR";
		/* RFC 5546 wants ORGANIZER in PUBLISH; CALENDAR.md leaves it
		 * out of the feed so clients do not offer to reply. */
		if (feed && strstr(s, "ORGANIZER property") != NULL)
			continue;
		return s;
	}
	for (it = icalcomponent_begin_component(c, ICAL_ANY_COMPONENT);
	    (sub = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
		if ((s = first_error(sub, feed)) != NULL)
			return s;
	return NULL;
}

/*
 * libical's iTIP restriction check counts every property kind of every
 * component against its table, a linear scan per kind: it was half the
 * CPU of building a fan-out.  Its verdict depends on the calendar's shape
 * only -- the components, their property kinds, METHOD and the STATUS
 * value, the one value its checks read -- so a shape that passed once
 * passes again.  A fan-out builds thousands of calendars of one shape:
 * each is still parsed (names and addresses differ from one to the next),
 * only the restriction check of a shape seen to pass is not repeated.
 */
#define SHAPES_MAX	32

static uint64_t	passed_shapes[SHAPES_MAX];
static size_t	npassed_shapes;

static uint64_t
shape_mix(uint64_t h, unsigned v)
{
	/* FNV-1a over the value's four bytes. */
	for (int i = 0; i < 4; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
	return h;
}

static uint64_t
shape_of(icalcomponent *c, uint64_t h)
{
	icalproperty *p;
	icalcomponent *sub;
	icalcompiter it;
	icalproperty_kind k;

	h = shape_mix(h, 0x10000u + (unsigned)icalcomponent_isa(c));
	for (p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY);
	    p != NULL; p = icalcomponent_get_next_property(c,
	    ICAL_ANY_PROPERTY)) {
		k = icalproperty_isa(p);
		h = shape_mix(h, (unsigned)k);
		if (k == ICAL_STATUS_PROPERTY)
			h = shape_mix(h, (unsigned)icalproperty_get_status(p));
		else if (k == ICAL_METHOD_PROPERTY)
			h = shape_mix(h, (unsigned)icalproperty_get_method(p));
	}
	for (it = icalcomponent_begin_component(c, ICAL_ANY_COMPONENT);
	    (sub = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
		h = shape_of(sub, h);
	return shape_mix(h, 0x20000u);	/* END: nesting is part of it */
}

static int
shape_passed(uint64_t shape)
{
	for (size_t i = 0; i < npassed_shapes; i++)
		if (passed_shapes[i] == shape)
			return 1;
	return 0;
}

static void
shape_remember(uint64_t shape)
{
	if (npassed_shapes < SHAPES_MAX)
		passed_shapes[npassed_shapes++] = shape;
}

int
ical_selfcheck(const char *text, char *err, size_t errlen)
{
	uint64_t shape;
	icalcomponent *cal;
	icalproperty *m;
	const char *e;
	int feed, ok, ret = -1;

	ical_init();
	if ((cal = icalparser_parse_string(text)) == NULL ||
	    icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		seterr(err, errlen, "not exactly one VCALENDAR");
		goto out;
	}
	m = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY);
	feed = m != NULL && icalproperty_get_method(m) == ICAL_METHOD_PUBLISH;
	if ((e = first_error(cal, feed)) != NULL) {
		seterr(err, errlen, "unreadable: %s", e);
		goto out;
	}
	shape = shape_of(cal, 0xcbf29ce484222325ULL);
	if (shape_passed(shape)) {
		ret = 0;
		goto out;
	}
	/* The parsed copy is ours to spoil: the check adds X-LIC-ERRORs. */
	ok = icalrestriction_check(cal);
	if ((e = first_error(cal, feed)) != NULL) {
		seterr(err, errlen, "%s", e);
		goto out;
	}
	if (!ok && !feed) {
		seterr(err, errlen, "iTIP restriction check failed");
		goto out;
	}
	if (ok)
		shape_remember(shape);
	ret = 0;
 out:
	if (cal != NULL)
		icalcomponent_free(cal);
	return ret;
}

static void
add_text(icalcomponent *ev, icalproperty *(*mk)(const char *),
    const char *s, enum textmode mode, size_t max)
{
	char *t;

	if (s == NULL)
		return;
	t = clean_text(s, mode, max);
	if (*t != '\0')
		icalcomponent_add_property(ev, mk(t));
	free(t);
}

static void
add_cn(icalproperty *p, const char *cn)
{
	char *t;

	if (cn == NULL)
		return;
	t = clean_text(cn, TEXT_NAME, CN_MAX);
	if (*t != '\0')
		icalproperty_add_parameter(p, icalparameter_new_cn(t));
	free(t);
}

static icalproperty *
cal_address(icalproperty *(*mk)(const char *), const char *addr)
{
	char *v = xasprintf("mailto:%s", addr);
	icalproperty *p = mk(v);

	free(v);
	return p;
}

/* 2100-01-01T00:00:00Z: zones are expanded no further (TZ_MAX_YEAR). */
#define TIME_MAX	4102444800LL

static int
event_ok(const struct ical_event *ev, int invite, char *err, size_t errlen)
{
	if (!uid_ok(ev->uid)) {
		seterr_value(err, errlen, "UID", NULL, ev->uid);
		return -1;
	}
	if (ev->sequence < 0) {
		seterr(err, errlen, "%s: negative SEQUENCE", ev->uid);
		return -1;
	}
	if (ev->start <= 0 || (long long)ev->end >= TIME_MAX) {
		seterr(err, errlen, "%s: time out of range", ev->uid);
		return -1;
	}
	if (ev->end <= ev->start) {
		seterr(err, errlen, "%s: end is not after start", ev->uid);
		return -1;
	}
	if (ev->summary == NULL) {
		seterr(err, errlen, "%s: no summary", ev->uid);
		return -1;
	}
	if (invite && !addr_ok(ev->organizer_addr)) {
		seterr_value(err, errlen, "organizer address", ev->uid,
		    ev->organizer_addr);
		return -1;
	}
	if (invite && !addr_ok(ev->attendee_addr)) {
		seterr_value(err, errlen, "attendee address", ev->uid,
		    ev->attendee_addr);
		return -1;
	}
	return 0;
}

static icalproperty *
zoned(icalproperty *(*mk)(struct icaltimetype), icaltimezone *tz,
    const char *tzid, time_t t)
{
	icalproperty *p = mk(local_of(tz, t));

	icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
	return p;
}

/* One VEVENT; invite: with ORGANIZER and ATTENDEE. */
static icalcomponent *
build_event(const struct ical_event *ev, int invite, int cancel,
    char *err, size_t errlen)
{
	icalcomponent *ve;
	icalproperty *p;
	icaltimezone *tz;
	const char *tzid = ev->tzid ? ev->tzid : ICAL_DEFAULT_TZID;
	char *summary;

	if (event_ok(ev, invite, err, errlen) == -1)
		return NULL;
	if ((tz = zone_get(tzid, err, errlen)) == NULL)
		return NULL;
	summary = clean_text(ev->summary, TEXT_LINE, SUMMARY_MAX);
	if (*summary == '\0') {
		free(summary);
		seterr(err, errlen, "%s: empty summary", ev->uid);
		return NULL;
	}
	ve = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	icalcomponent_add_property(ve, icalproperty_new_uid(ev->uid));
	icalcomponent_add_property(ve, icalproperty_new_sequence(ev->sequence));
	icalcomponent_add_property(ve, icalproperty_new_dtstamp(
	    utc_of(ev->dtstamp ? ev->dtstamp : time(NULL))));
	/* DTEND, never DURATION: CALENDAR.md. */
	icalcomponent_add_property(ve, zoned(icalproperty_new_dtstart, tz,
	    tzid, ev->start));
	icalcomponent_add_property(ve, zoned(icalproperty_new_dtend, tz,
	    tzid, ev->end));
	icalcomponent_add_property(ve, icalproperty_new_summary(summary));
	free(summary);
	add_text(ve, icalproperty_new_location, ev->location, TEXT_LINE,
	    LOCATION_MAX);
	add_text(ve, icalproperty_new_description, ev->description,
	    TEXT_MULTI, DESC_MAX);
	icalcomponent_add_property(ve, icalproperty_new_status(cancel ?
	    ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	if (ev->last_modified != 0)
		icalcomponent_add_property(ve, icalproperty_new_lastmodified(
		    utc_of(ev->last_modified)));
	if (invite) {
		p = cal_address(icalproperty_new_organizer, ev->organizer_addr);
		add_cn(p, ev->organizer_cn);
		icalcomponent_add_property(ve, p);

		/* Only the recipient: Gmail shows its buttons only to a
		 * listed attendee, and other schools stay private. */
		p = cal_address(icalproperty_new_attendee, ev->attendee_addr);
		add_cn(p, ev->attendee_cn);
		icalproperty_add_parameter(p,
		    icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
		icalproperty_add_parameter(p,
		    icalparameter_new_partstat(ICAL_PARTSTAT_NEEDSACTION));
		icalproperty_add_parameter(p,
		    icalparameter_new_rsvp(ICAL_RSVP_TRUE));
		icalproperty_add_parameter(p,
		    icalparameter_new_cutype(ICAL_CUTYPE_INDIVIDUAL));
		icalcomponent_add_property(ve, p);
	}
	return ve;
}

static icalcomponent *
new_calendar(icalproperty_method m)
{
	return icalcomponent_vanew(ICAL_VCALENDAR_COMPONENT,
	    icalproperty_new_prodid(ICAL_PRODID),
	    icalproperty_new_version("2.0"),
	    icalproperty_new_calscale("GREGORIAN"),
	    icalproperty_new_method(m),
	    (void *)0);
}

static void
add_zone(icalcomponent *cal, const char *tzid)
{
	icaltimezone *tz = zone_get(tzid, NULL, 0);

	/* Callers built an event with this zone first: it is cached. */
	if (tz != NULL)
		icalcomponent_add_component(cal,
		    icalcomponent_new_clone(icaltimezone_get_component(tz)));
}

/* The text of cal (caller frees), self-checked unless NDEBUG. */
static char *
finish(icalcomponent *cal, char *err, size_t errlen)
{
	char *s, *text;

	s = icalcomponent_as_ical_string_r(cal);
	icalcomponent_free(cal);
	if (s == NULL) {
		seterr(err, errlen, "libical could not write the calendar");
		return NULL;
	}
	text = xstrdup(s);
	free(s);
#ifndef NDEBUG
	{
		char why[256];

		if (ical_selfcheck(text, why, sizeof(why)) == -1) {
			log_warnx("ical: built a calendar that fails its "
			    "self-check: %s", why);
			seterr(err, errlen, "internal: calendar fails "
			    "self-check: %s", why);
			free(text);
			return NULL;
		}
	}
#endif
	return text;
}

char *
ical_invite(const struct ical_event *ev, enum itip_method m, char *err,
    size_t errlen)
{
	icalcomponent *cal, *ve;

	ical_init();
	if (m != ITIP_REQUEST && m != ITIP_CANCEL) {
		seterr(err, errlen, "invitations are REQUEST or CANCEL, not %s",
		    ical_method_name(m));
		return NULL;
	}
	if ((ve = build_event(ev, 1, m == ITIP_CANCEL, err, errlen)) == NULL)
		return NULL;
	cal = new_calendar(m == ITIP_CANCEL ? ICAL_METHOD_CANCEL :
	    ICAL_METHOD_REQUEST);
	add_zone(cal, ev->tzid ? ev->tzid : ICAL_DEFAULT_TZID);
	icalcomponent_add_component(cal, ve);
	return finish(cal, err, errlen);
}

char *
ical_feed(const struct ical_event *events, size_t n, const char *calname,
    const char *zone, char *err, size_t errlen)
{
	icalcomponent *cal, *ve;
	icalproperty *p;
	const char *used[ZONES_MAX], *tzid;
	size_t i, j, nused = 0;
	char *name;

	ical_init();
	cal = new_calendar(ICAL_METHOD_PUBLISH);
	name = clean_text(calname ? calname : "", TEXT_LINE, SUMMARY_MAX);
	if (*name != '\0') {
		icalcomponent_add_property(cal, icalproperty_new_name(name));
		p = icalproperty_new_x(name);
		icalproperty_set_x_name(p, "X-WR-CALNAME");
		icalcomponent_add_property(cal, p);
	}
	free(name);
	p = icalproperty_new_refreshinterval(icaldurationtype_from_int(3600));
	icalproperty_add_parameter(p, icalparameter_new_value(
	    ICAL_VALUE_DURATION));
	icalcomponent_add_property(cal, p);
	p = icalproperty_new_x("PT1H");
	icalproperty_set_x_name(p, "X-PUBLISHED-TTL");
	icalcomponent_add_property(cal, p);

	/* Zones first, as RFC 5545 readers expect them before use; the
	 * organisation's always, so that a feed without meetings still
	 * holds a component (RFC 5545 §3.6 wants one). */
	for (i = 0; i <= n; i++) {
		if (i == n)
			tzid = zone ? zone : ICAL_DEFAULT_TZID;
		else if (events[i].cancelled)
			continue;
		else
			tzid = events[i].tzid ? events[i].tzid :
			    ICAL_DEFAULT_TZID;
		for (j = 0; j < nused && strcmp(used[j], tzid) != 0; j++)
			;
		if (j < nused)
			continue;
		if (nused == ZONES_MAX || zone_get(tzid, err, errlen) == NULL) {
			if (nused == ZONES_MAX)
				seterr(err, errlen, "too many time zones");
			icalcomponent_free(cal);
			return NULL;
		}
		used[nused++] = tzid;
		add_zone(cal, tzid);
	}
	for (i = 0; i < n; i++) {
		if (events[i].cancelled)
			continue;
		if ((ve = build_event(&events[i], 0, 0, err, errlen)) == NULL) {
			icalcomponent_free(cal);
			return NULL;
		}
		icalcomponent_add_component(cal, ve);
	}
	return finish(cal, err, errlen);
}

/* ---- parsing ------------------------------------------------------------ */

/*
 * Before libical sees it, the text is unfolded and its BEGIN/END lines are
 * balanced: missing END lines are added, stray ones dropped, lines outside
 * any component dropped, and a VCALENDAR that begins inside another closes
 * it.  libical returns nothing for an unbalanced calendar (and warns on
 * stderr); balanced, it keeps what it can read and marks the rest with
 * X-LIC-ERROR.  The limits of ical.h are enforced here.
 */
struct repair {
	struct buf	 out;
	char		 stack[ICAL_MAX_DEPTH][32];
	int		 depth;
	size_t		 nlines;
	int		 any;
	int		 error;
};

static void
emit_end(struct repair *r)
{
	r->depth--;
	if (buf_addf(&r->out, "END:%s\n", r->stack[r->depth]) == -1)
		r->error = ICAL_ETOOBIG;
}

static int
compname(const char *l, size_t n, size_t skip, char *name, size_t namelen)
{
	size_t i, k = 0;

	for (i = skip; i < n && (l[i] == ' ' || l[i] == '\t'); i++)
		;
	for (; i < n && l[i] != ' ' && l[i] != '\t'; i++) {
		if (k + 1 >= namelen)
			return -1;
		name[k++] = (char)toupper((unsigned char)l[i]);
	}
	for (; i < n; i++)
		if (l[i] != ' ' && l[i] != '\t')
			return -1;
	name[k] = '\0';
	return k > 0 ? 0 : -1;
}

static void
repair_line(struct repair *r, const char *l, size_t n)
{
	char name[32];
	int i;

	if (r->error)
		return;
	if (++r->nlines > ICAL_MAX_LINES) {
		r->error = ICAL_ETOOBIG;
		return;
	}
	if (n >= 6 && strncasecmp(l, "BEGIN:", 6) == 0) {
		if (compname(l, n, 6, name, sizeof(name)) == -1)
			return;
		if (strcmp(name, "VCALENDAR") == 0)
			while (r->depth > 0)
				emit_end(r);
		if (r->depth == ICAL_MAX_DEPTH) {
			r->error = ICAL_ETOOBIG;
			return;
		}
		memcpy(r->stack[r->depth++], name, sizeof(name));
		r->any = 1;
		if (buf_addf(&r->out, "BEGIN:%s\n", name) == -1)
			r->error = ICAL_ETOOBIG;
		return;
	}
	if (n >= 4 && strncasecmp(l, "END:", 4) == 0) {
		if (compname(l, n, 4, name, sizeof(name)) == -1)
			return;
		for (i = r->depth - 1; i >= 0; i--)
			if (strcmp(r->stack[i], name) == 0)
				break;
		while (i >= 0 && r->depth > i)
			emit_end(r);
		return;
	}
	/* libical takes any "BEGIN;..." or "END;..." for a component line. */
	if ((n >= 6 && strncasecmp(l, "BEGIN;", 6) == 0) ||
	    (n >= 4 && strncasecmp(l, "END;", 4) == 0))
		return;
	if (r->depth == 0)
		return;
	if (buf_add(&r->out, l, n) == -1 || buf_addc(&r->out, '\n') == -1)
		r->error = ICAL_ETOOBIG;
}

static int
repair(const char *text, size_t len, struct buf *out)
{
	struct repair r;
	struct buf line;
	size_t i = 0, j;
	int ret;

	memset(&r, 0, sizeof(r));
	buf_init(&r.out, 2 * ICAL_MAX_INPUT);
	buf_init(&line, ICAL_MAX_INPUT + 1);
	while (i < len && !r.error) {
		for (j = i; j < len && text[j] != '\r' && text[j] != '\n'; j++)
			;
		if (i < j && (text[i] == ' ' || text[i] == '\t') &&
		    line.len > 0)
			i++;		/* a folded continuation */
		else if (line.len > 0) {
			repair_line(&r, buf_str(&line), line.len);
			buf_reset(&line);
		}
		/* A NUL byte would end the text early for libical. */
		for (; i < j; i++)
			if (buf_addc(&line, text[i] ? text[i] : ' ') == -1)
				r.error = ICAL_ETOOBIG;
		if (i < len && text[i] == '\r' && i + 1 < len &&
		    text[i + 1] == '\n')
			i++;
		i++;
	}
	if (line.len > 0)
		repair_line(&r, buf_str(&line), line.len);
	buf_free(&line);
	while (!r.error && r.depth > 0)
		emit_end(&r);
	ret = r.error ? r.error : (r.any ? 0 : ICAL_EPARSE);
	if (ret != 0)
		buf_free(&r.out);
	*out = r.out;
	return ret;
}

/* An address as the matcher wants it: "mailto:" gone, lower case. */
static char *
norm_addr(const char *v)
{
	char *t, *s, *e;

	t = clean_text(v, TEXT_LINE, ADDR_MAX);
	s = t;
	while (*s == '"' || *s == '<' || *s == ' ')
		s++;
	if (strncasecmp(s, "mailto:", 7) == 0)
		s += 7;
	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '"' || e[-1] == '>' || e[-1] == ' '))
		e--;
	*e = '\0';
	str_lower(s);
	memmove(t, s, strlen(s) + 1);
	return t;
}

static const char *
param_str(icalproperty *p, icalparameter_kind kind)
{
	icalparameter *par = icalproperty_get_first_parameter(p, kind);

	if (par == NULL)
		return NULL;
	switch (kind) {
	case ICAL_CN_PARAMETER:
		return icalparameter_get_cn(par);
	case ICAL_SENTBY_PARAMETER:
		return icalparameter_get_sentby(par);
	case ICAL_EMAIL_PARAMETER:
		return icalparameter_get_email(par);
	case ICAL_TZID_PARAMETER:
		return icalparameter_get_tzid(par);
	default:
		return NULL;
	}
}

static const char *
xparam_str(icalproperty *p, const char *name)
{
	icalparameter *par;
	const char *n;

	for (par = icalproperty_get_first_parameter(p, ICAL_X_PARAMETER);
	    par != NULL; par = icalproperty_get_next_parameter(p,
	    ICAL_X_PARAMETER))
		if ((n = icalparameter_get_xname(par)) != NULL &&
		    strcasecmp(n, name) == 0)
			return icalparameter_get_xvalue(par);
	return NULL;
}

static enum ical_partstat
partstat_of(icalproperty *p)
{
	icalparameter *par;

	if ((par = icalproperty_get_first_parameter(p,
	    ICAL_PARTSTAT_PARAMETER)) == NULL)
		return PARTSTAT_NEEDS_ACTION;
	switch (icalparameter_get_partstat(par)) {
	case ICAL_PARTSTAT_NEEDSACTION:
		return PARTSTAT_NEEDS_ACTION;
	case ICAL_PARTSTAT_ACCEPTED:
		return PARTSTAT_ACCEPTED;
	case ICAL_PARTSTAT_DECLINED:
		return PARTSTAT_DECLINED;
	case ICAL_PARTSTAT_TENTATIVE:
		return PARTSTAT_TENTATIVE;
	case ICAL_PARTSTAT_DELEGATED:
		return PARTSTAT_DELEGATED;
	default:
		return PARTSTAT_OTHER;
	}
}

static void
read_attendee(icalproperty *p, struct ical_attendee *a)
{
	const char *v = icalproperty_get_attendee(p), *s;

	a->addr = norm_addr(v ? v : "");
	/* Apple may send urn:uuid: values with the address in EMAIL=. */
	if (strchr(a->addr, '@') == NULL &&
	    (s = param_str(p, ICAL_EMAIL_PARAMETER)) != NULL) {
		free(a->addr);
		a->addr = norm_addr(s);
	}
	a->cn = (s = param_str(p, ICAL_CN_PARAMETER)) ?
	    clean_text(s, TEXT_LINE, CN_MAX) : NULL;
	a->sent_by = (s = param_str(p, ICAL_SENTBY_PARAMETER)) ?
	    norm_addr(s) : NULL;
	a->comment = (s = xparam_str(p, "X-RESPONSE-COMMENT")) != NULL &&
	    *s != '\0' ? clean_text(s, TEXT_MULTI, COMMENT_MAX) : NULL;
	a->partstat = partstat_of(p);
}

static time_t
timet_of(struct icaltimetype t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t.year - 1900;
	tm.tm_mon = t.month - 1;
	tm.tm_mday = t.day;
	tm.tm_hour = t.hour;
	tm.tm_min = t.minute;
	tm.tm_sec = t.second;
	return timegm(&tm);
}

static size_t
bylen(const short *by, size_t size)
{
	size_t i;

	for (i = 0; i < size && by[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
		;
	return i;
}

#define LEN(a)	bylen(a, ARRAY_LEN(a))

/*
 * What it costs libical to expand a VTIMEZONE from mail: it expands every
 * observance from its DTSTART up to the year asked for (we ask at most
 * TZ_MAX_YEAR), so "RRULE:FREQ=SECONDLY" from 1601 would run for hours,
 * and rich yearly rules add up.  Returns the number of onsets, or SIZE_MAX
 * for rules real zones do not use.  Real zones (tzdata, Outlook's 1601
 * rules, Google, Apple, libical's full history with UNTILs) have a few
 * yearly rules with one or two BY parts: about a thousand onsets.
 */
#define TZ_MAX_YEAR	2100
#define TZ_BUDGET	20000		/* onsets per parse, all zones */

static size_t
zone_cost(icalcomponent *vtz)
{
	icalcomponent *obs;
	icalcompiter it;
	icalproperty *p;
	struct icalrecurrencetype r;
	struct icaltimetype t;
	size_t nobs = 0, cost = 0, per_year;
	int nrule, last;

	for (it = icalcomponent_begin_component(vtz, ICAL_ANY_COMPONENT);
	    (obs = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it)) {
		if (++nobs > 64)
			return SIZE_MAX;
		if ((p = icalcomponent_get_first_property(obs,
		    ICAL_DTSTART_PROPERTY)) == NULL)
			return SIZE_MAX;
		t = icalproperty_get_dtstart(p);
		if (t.year < 1600 || t.year > TZ_MAX_YEAR)
			return SIZE_MAX;
		cost++;
		nrule = 0;
		for (p = icalcomponent_get_first_property(obs,
		    ICAL_RRULE_PROPERTY); p != NULL;
		    p = icalcomponent_get_next_property(obs,
		    ICAL_RRULE_PROPERTY)) {
			r = icalproperty_get_rrule(p);
			if (++nrule > 1 || r.freq != ICAL_YEARLY_RECURRENCE ||
			    LEN(r.by_second) || LEN(r.by_minute) ||
			    LEN(r.by_hour) || LEN(r.by_year_day) ||
			    LEN(r.by_week_no) || LEN(r.by_set_pos))
				return SIZE_MAX;
			per_year = (LEN(r.by_month) ? LEN(r.by_month) : 1) *
			    (LEN(r.by_day) ? LEN(r.by_day) : 1) *
			    (LEN(r.by_month_day) ? LEN(r.by_month_day) : 1);
			if (per_year > 64)
				return SIZE_MAX;
			last = icaltime_is_null_time(r.until) ||
			    r.until.year > TZ_MAX_YEAR + 5 ? TZ_MAX_YEAR + 5 :
			    r.until.year;
			if (last > t.year)
				cost += per_year * (size_t)(last - t.year + 1);
		}
		for (p = icalcomponent_get_first_property(obs,
		    ICAL_RDATE_PROPERTY); p != NULL;
		    p = icalcomponent_get_next_property(obs,
		    ICAL_RDATE_PROPERTY))
			cost++;
		if (cost > TZ_BUDGET)
			return SIZE_MAX;
	}
	return nobs > 0 ? cost : SIZE_MAX;
}

/* The zones one parse has let libical expand, and what that cost. */
#define ZSEEN_MAX	16

struct zseen {
	icaltimezone	*tz[ZSEEN_MAX];
	size_t		 n;
	size_t		 spent;
};

static int
zone_allowed(struct zseen *zs, icaltimezone *tz, int from_mail)
{
	struct icaltimetype far;
	size_t i, cost;
	int dst;

	for (i = 0; i < zs->n; i++)
		if (zs->tz[i] == tz)
			return 1;
	if (zs->n == ZSEEN_MAX)
		return 0;
	if (from_mail) {
		cost = zone_cost(icaltimezone_get_component(tz));
		if (cost == SIZE_MAX || cost > TZ_BUDGET - zs->spent)
			return 0;
		zs->spent += cost;
		/* Expand once, to the end: libical expands again from the
		 * start whenever a later year is asked for. */
		far = local_tt(TZ_MAX_YEAR, 12, 31, 0, 0, 0);
		(void)icaltimezone_get_utc_offset(tz, &far, &dst);
	}
	zs->tz[zs->n++] = tz;
	return 1;
}

/*
 * DTSTART/DTEND as a UTC instant, 0 when unknown.  A TZID is resolved as
 * libical would (the nearest VTIMEZONE of that TZID, then its builtin
 * zones) with guards: the VTIMEZONE must be tame, one parse expands few
 * zones, and the builtin zones (files under the zoneinfo directory, the
 * name taken from the TZID as given) are only tried for a well-formed
 * IANA name.
 */
static time_t
instant_of(icalcomponent *ev, icalproperty_kind kind, struct zseen *zs)
{
	icalproperty *p;
	icalcomponent *c;
	icaltimezone *tz = NULL;
	const char *tzid;
	struct icaltimetype t;
	int from_mail;

	if ((p = icalcomponent_get_first_property(ev, kind)) == NULL)
		return 0;
	t = icalvalue_get_datetime(icalproperty_get_value(p));
	if (icaltime_is_null_time(t) || t.is_date || t.year < 1900 ||
	    t.year > 9999)
		return 0;
	if (icaltime_is_utc(t))
		return timet_of(t);
	if ((tzid = param_str(p, ICAL_TZID_PARAMETER)) == NULL ||
	    t.year > TZ_MAX_YEAR)
		return 0;	/* floating, or too far off to expand */
	for (c = ev; c != NULL && tz == NULL; c = icalcomponent_get_parent(c))
		tz = icalcomponent_get_timezone(c, tzid);
	from_mail = tz != NULL;
	if (tz == NULL && (!zone_name_ok(tzid) ||
	    (tz = icaltimezone_get_builtin_timezone(tzid)) == NULL))
		return 0;
	if (!zone_allowed(zs, tz, from_mail))
		return 0;
	t = icaltime_set_timezone(&t, tz);
	return timet_of(icaltime_convert_to_zone(t,
	    icaltimezone_get_utc_timezone()));
}

struct collect {
	struct ical_reply	*v;
	size_t			 n, cap;
	enum itip_method	 fallback;
	struct zseen		 zones;
};

static const char *
comment_of(icalcomponent *ev)
{
	icalproperty *p;
	const char *s, *name;

	for (p = icalcomponent_get_first_property(ev, ICAL_COMMENT_PROPERTY);
	    p != NULL; p = icalcomponent_get_next_property(ev,
	    ICAL_COMMENT_PROPERTY))
		if ((s = icalproperty_get_comment(p)) != NULL && *s != '\0')
			return s;
	for (p = icalcomponent_get_first_property(ev, ICAL_X_PROPERTY);
	    p != NULL; p = icalcomponent_get_next_property(ev, ICAL_X_PROPERTY))
		if ((name = icalproperty_get_x_name(p)) != NULL &&
		    strcasecmp(name, "X-RESPONSE-COMMENT") == 0 &&
		    (s = icalproperty_get_x(p)) != NULL && *s != '\0')
			return s;
	return NULL;
}

static void
collect_event(struct collect *c, icalcomponent *ev, enum itip_method m)
{
	struct ical_reply *r;
	icalproperty *p;
	const char *s;
	size_t na = 0, cap = 0, i;
	int seq;

	if (c->n == ICAL_MAX_EVENTS)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	r = &c->v[c->n++];
	memset(r, 0, sizeof(*r));
	r->method = m;
	s = icalcomponent_get_uid(ev);
	r->uid = clean_text(s ? s : "", TEXT_LINE, 1024);
	if ((p = icalcomponent_get_first_property(ev, ICAL_SEQUENCE_PROPERTY))
	    != NULL && (seq = icalproperty_get_sequence(p)) > 0)
		r->sequence = seq;
	if ((p = icalcomponent_get_first_property(ev, ICAL_DTSTAMP_PROPERTY))
	    != NULL) {
		struct icaltimetype t = icalproperty_get_dtstamp(p);

		/* DTSTAMP is UTC by definition; read a floating one as UTC. */
		if (!icaltime_is_null_time(t) && !t.is_date &&
		    t.year >= 1900 && t.year <= 9999)
			r->dtstamp = timet_of(t);
	}
	r->start = instant_of(ev, ICAL_DTSTART_PROPERTY, &c->zones);
	r->end = instant_of(ev, ICAL_DTEND_PROPERTY, &c->zones);
	r->recurrence = icalcomponent_get_first_property(ev,
	    ICAL_RECURRENCEID_PROPERTY) != NULL;
	if ((p = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY))
	    != NULL && (s = icalproperty_get_organizer(p)) != NULL)
		r->organizer = norm_addr(s);
	for (p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY);
	    p != NULL && na < ICAL_MAX_ATTENDEES;
	    p = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
		if (na == cap) {
			cap = cap ? 2 * cap : 2;
			r->attendees = xreallocarray(r->attendees, cap,
			    sizeof(*r->attendees));
		}
		read_attendee(p, &r->attendees[na++]);
	}
	r->nattendees = na;
	if ((s = comment_of(ev)) != NULL)
		r->comment = clean_text(s, TEXT_MULTI, COMMENT_MAX);
	for (i = 0; r->comment == NULL && i < na; i++)
		if (r->attendees[i].comment != NULL)
			r->comment = xstrdup(r->attendees[i].comment);
}

static enum itip_method
method_of(icalcomponent *cal, enum itip_method fallback)
{
	icalproperty *p;
	char *s;
	enum itip_method m;

	if ((p = icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY))
	    == NULL)
		return fallback;
	switch (icalproperty_get_method(p)) {
	case ICAL_METHOD_PUBLISH:
		return ITIP_PUBLISH;
	case ICAL_METHOD_REQUEST:
		return ITIP_REQUEST;
	case ICAL_METHOD_REPLY:
		return ITIP_REPLY;
	case ICAL_METHOD_ADD:
		return ITIP_ADD;
	case ICAL_METHOD_CANCEL:
		return ITIP_CANCEL;
	case ICAL_METHOD_REFRESH:
		return ITIP_REFRESH;
	case ICAL_METHOD_COUNTER:
		return ITIP_COUNTER;
	case ICAL_METHOD_DECLINECOUNTER:
		return ITIP_DECLINECOUNTER;
	default:
		/* libical matches case-sensitively; "Reply" lands here. */
		s = icalproperty_get_value_as_string_r(p);
		m = ical_method_from_name(s);
		free(s);
		return m == ITIP_NONE ? fallback : m;
	}
}

static void
collect_calendar(struct collect *c, icalcomponent *cal)
{
	icalcompiter it;
	icalcomponent *ev;
	enum itip_method m = method_of(cal, c->fallback);

	for (it = icalcomponent_begin_component(cal, ICAL_VEVENT_COMPONENT);
	    (ev = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
		collect_event(c, ev, m);
}

int
ical_parse_reply(const char *text, size_t len, const char *ct_method,
    struct ical_reply **out, size_t *n)
{
	struct buf b;
	struct collect c;
	icalcomponent *root, *cal;
	icalcompiter it;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (text == NULL)
		return ICAL_EPARSE;
	if (len > ICAL_MAX_INPUT)
		return ICAL_ETOOBIG;
	ical_init();
	if ((ret = repair(text, len, &b)) != 0)
		return ret;
	root = icalparser_parse_string(buf_str(&b));
	buf_free(&b);
	if (root == NULL)
		return ICAL_EPARSE;
	memset(&c, 0, sizeof(c));
	c.fallback = ical_method_from_name(ct_method);
	switch (icalcomponent_isa(root)) {
	case ICAL_XROOT_COMPONENT:
		for (it = icalcomponent_begin_component(root,
		    ICAL_ANY_COMPONENT); (cal = icalcompiter_deref(&it))
		    != NULL; icalcompiter_next(&it)) {
			if (icalcomponent_isa(cal) == ICAL_VCALENDAR_COMPONENT)
				collect_calendar(&c, cal);
			else if (icalcomponent_isa(cal) == ICAL_VEVENT_COMPONENT)
				collect_event(&c, cal, c.fallback);
		}
		break;
	case ICAL_VCALENDAR_COMPONENT:
		collect_calendar(&c, root);
		break;
	case ICAL_VEVENT_COMPONENT:
		/* A bare VEVENT: no METHOD but the Content-Type's. */
		collect_event(&c, root, c.fallback);
		break;
	default:
		ret = ICAL_EPARSE;
		break;
	}
	icalcomponent_free(root);
	if (ret == 0) {
		*out = c.v;
		*n = c.n;
	}
	return ret;
}

void
ical_replies_free(struct ical_reply *v, size_t n)
{
	size_t i, j;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].uid);
		free(v[i].organizer);
		free(v[i].comment);
		for (j = 0; j < v[i].nattendees; j++) {
			free(v[i].attendees[j].addr);
			free(v[i].attendees[j].cn);
			free(v[i].attendees[j].sent_by);
			free(v[i].attendees[j].comment);
		}
		free(v[i].attendees);
	}
	free(v);
}

void
ical_shutdown(void)
{
	size_t i;

	for (i = 0; i < nzones; i++) {
		icaltimezone_free(zones[i].tz, 1);
		free(zones[i].tzid);
	}
	nzones = 0;
	icaltimezone_free_builtin_timezones();
	icalmemory_free_ring();
}
