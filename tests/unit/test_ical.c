/*
 * test_ical.c - src/ical.c: invitations and the feed as we build them,
 * the zone arithmetic on both sides of the DST changes, and replies as
 * Outlook, Google, Apple and Thunderbird send them, malformed ones too.
 *
 * Fixtures: $LEERNET_TEST_DATA/imip-replies (default tests/fixtures),
 * origin in its ORIGIN file.  libical is used here only as an independent
 * check of what we build (its iTIP restriction check, its own parse).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libical/ical.h>

#include "ical.h"
#include "log.h"
#include "util.h"

#define AMS	"Europe/Amsterdam"
#define DTSTAMP	1800000000	/* 2027-01-15T08:00:00Z */

/* ---- helpers ----------------------------------------------------------- */

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static time_t
ams(int y, int mo, int d, int h, int mi)
{
	time_t t;

	assert_int_equal(ical_local_to_utc(AMS, y, mo, d, h, mi, &t), 0);
	return t;
}

static char *
fixture(const char *rel, size_t *len)
{
	const char *dir = getenv("LEERNET_TEST_DATA");
	char *path, *data;
	FILE *f;
	long n;

	path = xasprintf("%s/imip-replies/%s", dir && *dir ? dir :
	    "tests/fixtures", rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return data;
}

/* The text with folds (CRLF + space) removed and CRLF turned into LF. */
static char *
unfold(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s; s++) {
		if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' || s[2] == '\t')) {
			s += 2;
			continue;
		}
		if (s[0] == '\r' && s[1] == '\n')
			continue;
		assert_int_equal(buf_addc(&b, *s), 0);
	}
	return buf_steal(&b);
}

/* How many unfolded lines start with name followed by ':' or ';'. */
static int
count_prop(const char *text, const char *name)
{
	char *u = unfold(text), *l, *p;
	size_t n = strlen(name);
	int c = 0;

	for (l = u; l != NULL; l = p) {
		p = strchr(l, '\n');
		if (p != NULL)
			*p++ = '\0';
		if (strncmp(l, name, n) == 0 && (l[n] == ':' || l[n] == ';'))
			c++;
	}
	free(u);
	return c;
}

/* Does the unfolded text hold this exact line? */
static int
has_line(const char *text, const char *line)
{
	char *u = unfold(text), *l, *p;
	int found = 0;

	for (l = u; l != NULL && !found; l = p) {
		p = strchr(l, '\n');
		if (p != NULL)
			*p++ = '\0';
		found = strcmp(l, line) == 0;
	}
	free(u);
	return found;
}

/* RFC 5545 3.1: CRLF everywhere, at most 75 octets a line, and (ours)
 * no line that splits a UTF-8 character or holds a control character. */
static void
assert_wire_format(const char *text)
{
	const char *l = text, *e;

	assert_true(utf8_valid(text, strlen(text)));
	while (*l) {
		e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 75);
		assert_true(utf8_valid(l, (size_t)(e - l)));
		for (const char *c = l; c < e; c++)
			assert_false((unsigned char)*c < 0x20 ||
			    (unsigned char)*c == 0x7f);
		l = e + 2;
	}
}

/* libical, independently: parse, clone, run the iTIP restriction check on
 * the clone; return how many X-LIC-ERRORs it left (ORGANIZER ones apart
 * when allow_no_organizer). */
static int
restriction_errors(const char *text, int allow_no_organizer, int *ok)
{
	icalcomponent *cal, *clone, *c;
	icalproperty *p;
	int n = 0;

	cal = icalparser_parse_string(text);
	assert_non_null(cal);
	assert_int_equal(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
	clone = icalcomponent_new_clone(cal);
	*ok = icalrestriction_check(clone);
	for (c = clone; c != NULL; ) {
		for (p = icalcomponent_get_first_property(c,
		    ICAL_XLICERROR_PROPERTY); p != NULL;
		    p = icalcomponent_get_next_property(c,
		    ICAL_XLICERROR_PROPERTY)) {
			const char *e = icalproperty_get_xlicerror(p);

			if (allow_no_organizer && e &&
			    strstr(e, "ORGANIZER property"))
				continue;
			print_message("restriction: %s\n", e ? e : "?");
			n++;
		}
		/* VCALENDAR, then each of its components (one level suffices:
		 * our calendars hold VTIMEZONE and VEVENT). */
		if (c == clone)
			c = icalcomponent_get_first_component(clone,
			    ICAL_ANY_COMPONENT);
		else
			c = icalcomponent_get_next_component(clone,
			    ICAL_ANY_COMPONENT);
	}
	icalcomponent_free(clone);
	icalcomponent_free(cal);
	return n;
}

static struct ical_event
meeting(void)
{
	struct ical_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.uid = "lnm-42-3@lido.stichting.nl";
	ev.sequence = 0;
	ev.start = ams(2027, 3, 27, 15, 0);
	ev.end = ams(2027, 3, 27, 16, 30);
	ev.tzid = AMS;
	ev.summary = "Leernetwerk Rekenen #3";
	ev.location = "Lokaal 3";
	ev.description = "Agenda:\n1. Welkom\n2. Rondvraag";
	ev.organizer_addr = "lido@stichting.nl";
	ev.organizer_cn = "Leernet Lido";
	ev.attendee_addr = "jan@basisschool-dewilg.nl";
	ev.attendee_cn = "Jan de Vries";
	ev.dtstamp = DTSTAMP;
	return ev;
}

static struct ical_reply *
parse_fixture(const char *rel, const char *ct, size_t *n)
{
	struct ical_reply *r = NULL;
	size_t len;
	char *text = fixture(rel, &len);

	assert_int_equal(ical_parse_reply(text, len, ct, &r, n), 0);
	free(text);
	return r;
}

/* Every string of a parse result is valid UTF-8 without control
 * characters (comments may hold '\n' and '\t'). */
static void
assert_clean(const char *s, int multi)
{
	if (s == NULL)
		return;
	assert_true(utf8_valid(s, strlen(s)));
	for (; *s; s++)
		assert_false(((unsigned char)*s < 0x20 && !(multi &&
		    (*s == '\n' || *s == '\t'))) || *s == 0x7f);
}

static void
assert_replies_clean(const struct ical_reply *r, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		assert_non_null(r[i].uid);
		assert_clean(r[i].uid, 0);
		assert_clean(r[i].organizer, 0);
		assert_clean(r[i].comment, 1);
		assert_true(r[i].nattendees <= ICAL_MAX_ATTENDEES);
		for (j = 0; j < r[i].nattendees; j++) {
			assert_non_null(r[i].attendees[j].addr);
			assert_clean(r[i].attendees[j].addr, 0);
			assert_clean(r[i].attendees[j].cn, 0);
			assert_clean(r[i].attendees[j].sent_by, 0);
			assert_clean(r[i].attendees[j].comment, 1);
		}
	}
}

/* ---- zones -------------------------------------------------------------- */

static void
test_local_to_utc_dst(void **state)
{
	static const struct {
		int y, mo, d, h, mi;
		int uy, umo, ud, uh, umi;
	} t[] = {
		/* each side of both changes of 2027 */
		{ 2027, 3, 27, 15, 0,	2027, 3, 27, 14, 0 },
		{ 2027, 3, 29, 15, 0,	2027, 3, 29, 13, 0 },
		{ 2027, 10, 30, 15, 0,	2027, 10, 30, 13, 0 },
		{ 2027, 11, 1, 15, 0,	2027, 11, 1, 14, 0 },
		/* around the change itself */
		{ 2027, 3, 28, 1, 59,	2027, 3, 28, 0, 59 },
		{ 2027, 3, 28, 3, 0,	2027, 3, 28, 1, 0 },
		{ 2027, 10, 31, 1, 59,	2027, 10, 30, 23, 59 },
		{ 2027, 10, 31, 3, 0,	2027, 10, 31, 2, 0 },
		/* the spring gap moves forward: 02:30 is 03:30 CEST */
		{ 2027, 3, 28, 2, 30,	2027, 3, 28, 1, 30 },
		/* the autumn hour that happens twice: the first (CEST) */
		{ 2027, 10, 31, 2, 30,	2027, 10, 31, 0, 30 },
		/* other years, leap day, year ends */
		{ 2028, 2, 29, 9, 0,	2028, 2, 29, 8, 0 },
		{ 2026, 3, 29, 12, 0,	2026, 3, 29, 10, 0 },
		{ 2030, 12, 31, 23, 59,	2030, 12, 31, 22, 59 },
		{ 2031, 7, 1, 0, 0,	2031, 6, 30, 22, 0 },
	};
	size_t i;
	time_t got;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		assert_int_equal(ical_local_to_utc(AMS, t[i].y, t[i].mo, t[i].d,
		    t[i].h, t[i].mi, &got), 0);
		if (got != utc(t[i].uy, t[i].umo, t[i].ud, t[i].uh, t[i].umi, 0))
			fail_msg("case %zu: %04d-%02d-%02d %02d:%02d gave %lld",
			    i, t[i].y, t[i].mo, t[i].d, t[i].h, t[i].mi,
			    (long long)got);
	}
}

static void
test_local_to_utc_refuses(void **state)
{
	time_t t = 12345;

	(void)state;
	assert_int_equal(ical_local_to_utc(AMS, 2027, 13, 1, 12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 2027, 2, 29, 12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 2027, 4, 31, 12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 2027, 4, 0, 12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 2027, 4, 1, 24, 0, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 2027, 4, 1, 12, 60, &t), -1);
	assert_int_equal(ical_local_to_utc(AMS, 1900, 4, 1, 12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc("Mars/Olympus_Mons", 2027, 4, 1,
	    12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc("../../../etc/passwd", 2027, 4, 1,
	    12, 0, &t), -1);
	assert_int_equal(ical_local_to_utc("", 2027, 4, 1, 12, 0, &t), -1);
	assert_int_equal(t, 12345);
}

static void
test_offsets_and_local(void **state)
{
	struct tm tm;
	int off;

	(void)state;
	assert_int_equal(ical_utc_offset(AMS, utc(2027, 1, 10, 12, 0, 0),
	    &off), 0);
	assert_int_equal(off, 3600);
	assert_int_equal(ical_utc_offset(AMS, utc(2027, 7, 10, 12, 0, 0),
	    &off), 0);
	assert_int_equal(off, 7200);
	/* one second either side of 2027-03-28T01:00Z */
	assert_int_equal(ical_utc_offset(AMS, utc(2027, 3, 28, 0, 59, 59),
	    &off), 0);
	assert_int_equal(off, 3600);
	assert_int_equal(ical_utc_offset(AMS, utc(2027, 3, 28, 1, 0, 0),
	    &off), 0);
	assert_int_equal(off, 7200);
	assert_int_equal(ical_utc_offset("No/Such_Zone", 0, &off), -1);

	assert_int_equal(ical_utc_to_local(AMS, utc(2027, 10, 30, 13, 0, 0),
	    &tm), 0);
	assert_int_equal(tm.tm_year + 1900, 2027);
	assert_int_equal(tm.tm_mon + 1, 10);
	assert_int_equal(tm.tm_mday, 30);
	assert_int_equal(tm.tm_hour, 15);
	assert_int_equal(tm.tm_isdst, 1);
	assert_int_equal(tm.tm_gmtoff, 7200);
	assert_int_equal(ical_utc_to_local(AMS, utc(2027, 11, 1, 14, 0, 0),
	    &tm), 0);
	assert_int_equal(tm.tm_hour, 15);
	assert_int_equal(tm.tm_isdst, 0);
	assert_int_equal(tm.tm_wday, 1);	/* a Monday */
}

/* Our compact zones against glibc reading the full tzdata, every three
 * hours of 2025-2034 (libical's builtin zones are not consulted here). */
static void
test_zones_match_tzdata(void **state)
{
	static const char *const zones[] = {
		AMS, "Europe/Berlin", "Europe/London", "Europe/Dublin",
		"America/New_York", "America/Sao_Paulo", "Australia/Sydney",
		"Asia/Tokyo", "Asia/Kolkata", "UTC",
	};
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL, err[256];
	size_t i;
	time_t t, from = utc(2025, 1, 1, 0, 0, 0), to = utc(2035, 1, 1, 0, 0, 0);
	struct tm tm;
	int off, y, mo, d;

	(void)state;
	for (i = 0; i < ARRAY_LEN(zones); i++) {
		if (ical_zone_check(zones[i], err, sizeof(err)) != 0)
			fail_msg("%s: %s", zones[i], err);
		setenv("TZ", zones[i], 1);
		tzset();
		for (t = from; t < to; t += 3 * 3600) {
			localtime_r(&t, &tm);
			assert_int_equal(ical_utc_offset(zones[i], t, &off), 0);
			if (off != tm.tm_gmtoff)
				fail_msg("%s at %lld: %d, tzdata says %ld",
				    zones[i], (long long)t, off, tm.tm_gmtoff);
		}
		/* Wall-clock 15:00 every day of 2026-2029 (never in a gap). */
		for (y = 2026; y < 2030; y++)
			for (mo = 1; mo <= 12; mo++)
				for (d = 1; d <= 28; d++) {
					memset(&tm, 0, sizeof(tm));
					tm.tm_year = y - 1900;
					tm.tm_mon = mo - 1;
					tm.tm_mday = d;
					tm.tm_hour = 15;
					tm.tm_isdst = -1;
					assert_int_equal(ical_local_to_utc(zones[i],
					    y, mo, d, 15, 0, &t), 0);
					assert_int_equal(t, mktime(&tm));
				}
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

static void
test_zones_refused(void **state)
{
	char err[256];

	(void)state;
	err[0] = '\0';
	assert_int_equal(ical_zone_check("Foo/Bar", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Foo/Bar"));
	assert_int_equal(ical_zone_check("../../etc/passwd", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid"));
	assert_int_equal(ical_zone_check("Europe//Amsterdam", err,
	    sizeof(err)), -1);
	assert_int_equal(ical_zone_check("Europe/Amsterdam/", err,
	    sizeof(err)), -1);
	assert_int_equal(ical_zone_check("Europe/Amsterdam\r\nX", err,
	    sizeof(err)), -1);
	/* Morocco's Ramadan changes are not two yearly rules (tzdata 2025). */
	err[0] = '\0';
	assert_int_equal(ical_zone_check("Africa/Casablanca", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "rules"));
	assert_int_equal(ical_zone_check(NULL, err, sizeof(err)), 0);
}

/* ---- building ----------------------------------------------------------- */

static void
test_invite_request(void **state)
{
	struct ical_event ev = meeting();
	struct ical_reply *r;
	char err[256], *cal;
	size_t n;
	int ok;

	(void)state;
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	assert_int_equal(strncmp(cal, "BEGIN:VCALENDAR\r\n", 17), 0);
	assert_true(has_line(cal, "PRODID:-//leernet//leernet 1.0//NL"));
	assert_true(has_line(cal, "VERSION:2.0"));
	assert_true(has_line(cal, "CALSCALE:GREGORIAN"));
	assert_true(has_line(cal, "METHOD:REQUEST"));
	assert_int_equal(count_prop(cal, "METHOD"), 1);
	/* the compact zone of CALENDAR.md */
	assert_int_equal(count_prop(cal, "BEGIN"), 5);
	assert_true(has_line(cal, "BEGIN:VTIMEZONE"));
	assert_true(has_line(cal, "TZID:Europe/Amsterdam"));
	assert_true(has_line(cal, "BEGIN:STANDARD"));
	assert_true(has_line(cal, "BEGIN:DAYLIGHT"));
	assert_true(has_line(cal, "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"));
	assert_true(has_line(cal, "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"));
	assert_true(has_line(cal, "DTSTART:19701025T030000"));
	assert_true(has_line(cal, "DTSTART:19700329T020000"));
	/* the event */
	assert_true(has_line(cal, "UID:lnm-42-3@lido.stichting.nl"));
	assert_true(has_line(cal, "SEQUENCE:0"));
	assert_true(has_line(cal, "DTSTAMP:20270115T080000Z"));
	assert_true(has_line(cal,
	    "DTSTART;TZID=Europe/Amsterdam:20270327T150000"));
	assert_true(has_line(cal,
	    "DTEND;TZID=Europe/Amsterdam:20270327T163000"));
	assert_int_equal(count_prop(cal, "DURATION"), 0);
	assert_true(has_line(cal, "SUMMARY:Leernetwerk Rekenen #3"));
	assert_true(has_line(cal, "LOCATION:Lokaal 3"));
	assert_true(has_line(cal,
	    "DESCRIPTION:Agenda:\\n1. Welkom\\n2. Rondvraag"));
	assert_true(has_line(cal, "STATUS:CONFIRMED"));
	assert_true(has_line(cal,
	    "ORGANIZER;CN=Leernet Lido:mailto:lido@stichting.nl"));
	assert_true(has_line(cal, "ATTENDEE;CN=Jan de Vries;"
	    "ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;"
	    "CUTYPE=INDIVIDUAL:mailto:jan@basisschool-dewilg.nl"));
	assert_int_equal(count_prop(cal, "ATTENDEE"), 1);
	assert_int_equal(count_prop(cal, "LAST-MODIFIED"), 0);

	assert_int_equal(restriction_errors(cal, 0, &ok), 0);
	assert_true(ok);
	assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), 0);

	/* and back through our own parser */
	assert_int_equal(ical_parse_reply(cal, strlen(cal), NULL, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].method, ITIP_REQUEST);
	assert_string_equal(r[0].uid, ev.uid);
	assert_int_equal(r[0].sequence, 0);
	assert_int_equal(r[0].dtstamp, DTSTAMP);
	assert_int_equal(r[0].start, ev.start);
	assert_int_equal(r[0].end, ev.end);
	assert_string_equal(r[0].organizer, "lido@stichting.nl");
	assert_int_equal(r[0].nattendees, 1);
	assert_string_equal(r[0].attendees[0].addr, ev.attendee_addr);
	assert_string_equal(r[0].attendees[0].cn, "Jan de Vries");
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_NEEDS_ACTION);
	ical_replies_free(r, n);
	free(cal);
}

static void
test_invite_cancel(void **state)
{
	struct ical_event ev = meeting();
	struct ical_reply *r;
	char err[256], *cal;
	size_t n;
	int ok;

	(void)state;
	ev.sequence = 1;
	ev.last_modified = DTSTAMP;
	cal = ical_invite(&ev, ITIP_CANCEL, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	assert_true(has_line(cal, "METHOD:CANCEL"));
	assert_true(has_line(cal, "STATUS:CANCELLED"));
	assert_int_equal(count_prop(cal, "STATUS"), 1);
	assert_true(has_line(cal, "SEQUENCE:1"));
	assert_true(has_line(cal, "LAST-MODIFIED:20270115T080000Z"));
	assert_int_equal(count_prop(cal, "ORGANIZER"), 1);
	assert_int_equal(count_prop(cal, "ATTENDEE"), 1);
	assert_int_equal(count_prop(cal, "DTSTART"), 3);	/* 2 in VTIMEZONE */
	assert_int_equal(restriction_errors(cal, 0, &ok), 0);
	assert_true(ok);

	assert_int_equal(ical_parse_reply(cal, strlen(cal), NULL, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].method, ITIP_CANCEL);
	assert_int_equal(r[0].sequence, 1);
	assert_string_equal(r[0].uid, ev.uid);
	ical_replies_free(r, n);
	free(cal);

	/* an invitation is REQUEST or CANCEL, nothing else */
	assert_null(ical_invite(&ev, ITIP_REPLY, err, sizeof(err)));
	assert_null(ical_invite(&ev, ITIP_PUBLISH, err, sizeof(err)));
}

/* A meeting on each side of both changes: the wall-clock time written and
 * the instant read back. */
static void
test_invite_dst_sides(void **state)
{
	static const struct {
		int mo, d;
		const char *line;
		int uh;
	} t[] = {
		{ 3, 27, "DTSTART;TZID=Europe/Amsterdam:20270327T150000", 14 },
		{ 3, 29, "DTSTART;TZID=Europe/Amsterdam:20270329T150000", 13 },
		{ 10, 30, "DTSTART;TZID=Europe/Amsterdam:20271030T150000", 13 },
		{ 11, 1, "DTSTART;TZID=Europe/Amsterdam:20271101T150000", 14 },
	};
	struct ical_event ev = meeting();
	struct ical_reply *r;
	char err[256], *cal;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		ev.start = ams(2027, t[i].mo, t[i].d, 15, 0);
		ev.end = ev.start + 5400;
		assert_int_equal(ev.start, utc(2027, t[i].mo, t[i].d, t[i].uh,
		    0, 0));
		cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
		if (cal == NULL)
			fail_msg("%s", err);
		if (!has_line(cal, t[i].line))
			fail_msg("case %zu: no %s in\n%s", i, t[i].line, cal);
		assert_int_equal(ical_parse_reply(cal, strlen(cal), NULL, &r,
		    &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].start, ev.start);
		assert_int_equal(r[0].end, ev.start + 5400);
		ical_replies_free(r, n);
		free(cal);
	}
}

/* Values from mail cannot add properties or components. */
static void
test_invite_injection(void **state)
{
	struct ical_event ev = meeting();
	icalcomponent *c, *ve;
	icalproperty *p;
	char err[256], *cal;
	int ok;

	(void)state;
	ev.location = "Lokaal 3\r\nATTENDEE:mailto:evil@x";
	ev.summary = "Rekenen\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil";
	ev.description = "Zie je daar!\r\nORGANIZER:mailto:evil@x\rX\x01\x1b[1m";
	ev.attendee_cn = "\"Jan\" ^de^ Vries;ROLE=CHAIR:\r\nX-EVIL:1";
	ev.organizer_cn = "Lido, \"de\" coördinator";
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	assert_int_equal(count_prop(cal, "ATTENDEE"), 1);
	assert_int_equal(count_prop(cal, "ORGANIZER"), 1);
	assert_int_equal(count_prop(cal, "UID"), 1);
	assert_int_equal(count_prop(cal, "X-EVIL"), 0);
	assert_int_equal(count_prop(cal, "BEGIN"), 5);
	assert_int_equal(count_prop(cal, "END"), 5);
	assert_null(strstr(cal, "^'"));		/* no RFC 6868 quotes */
	assert_null(strstr(cal, "^^"));
	assert_int_equal(restriction_errors(cal, 0, &ok), 0);
	assert_true(ok);

	/* libical reads each as one value of its own property */
	c = icalparser_parse_string(cal);
	assert_non_null(c);
	ve = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
	assert_non_null(ve);
	assert_null(icalcomponent_get_next_component(c, ICAL_VEVENT_COMPONENT));
	assert_string_equal(icalcomponent_get_location(ve),
	    "Lokaal 3  ATTENDEE:mailto:evil@x");
	assert_string_equal(icalcomponent_get_summary(ve),
	    "Rekenen END:VEVENT BEGIN:VEVENT UID:evil");
	assert_string_equal(icalcomponent_get_description(ve),
	    "Zie je daar!\nORGANIZER:mailto:evil@x\nX  [1m");
	p = icalcomponent_get_first_property(ve, ICAL_ATTENDEE_PROPERTY);
	assert_string_equal(icalparameter_get_cn(icalproperty_get_first_parameter(
	    p, ICAL_CN_PARAMETER)), "Jan de Vries;ROLE=CHAIR:  X-EVIL:1");
	assert_string_equal(icalproperty_get_attendee(p),
	    "mailto:jan@basisschool-dewilg.nl");
	assert_null(icalproperty_get_first_parameter(p, ICAL_X_PARAMETER));
	p = icalcomponent_get_first_property(ve, ICAL_ORGANIZER_PROPERTY);
	assert_string_equal(icalparameter_get_cn(icalproperty_get_first_parameter(
	    p, ICAL_CN_PARAMETER)), "Lido, de coördinator");
	icalcomponent_free(c);
	free(cal);
}

static void
test_invite_cleans_text(void **state)
{
	struct ical_event ev = meeting();
	char err[256], *cal, *big;
	size_t i;

	(void)state;
	/* invalid UTF-8, C1 controls, DEL: gone or replaced */
	ev.summary = "Rek\xff" "enen \xc2\x85 \xc3\x28 \x7f #3";
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	assert_true(has_line(cal,
	    "SUMMARY:Rek\xef\xbf\xbd" "enen   \xef\xbf\xbd(   #3"));
	free(cal);

	/* an overlong summary is cut at a character boundary */
	big = xmalloc(6 * 1000 + 1);
	for (i = 0; i < 2000; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);	/* U+20AC */
	big[6000] = '\0';
	ev.summary = big;
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	{
		icalcomponent *c = icalparser_parse_string(cal);
		const char *s = icalcomponent_get_summary(
		    icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT));

		assert_true(strlen(s) <= 1024 && strlen(s) >= 1020);
		assert_int_equal(strlen(s) % 3, 0);
		icalcomponent_free(c);
	}
	free(cal);
	free(big);

	/* empty location, description and names are left out */
	ev = meeting();
	ev.location = " \r\n ";
	ev.description = "";
	ev.organizer_cn = "\"\"";
	ev.attendee_cn = NULL;
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_int_equal(count_prop(cal, "LOCATION"), 0);
	assert_int_equal(count_prop(cal, "DESCRIPTION"), 0);
	assert_true(has_line(cal, "ORGANIZER:mailto:lido@stichting.nl"));
	assert_true(has_line(cal, "ATTENDEE;ROLE=REQ-PARTICIPANT;"
	    "PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CUTYPE=INDIVIDUAL:"
	    "mailto:jan@basisschool-dewilg.nl"));
	free(cal);
}

/* Long Dutch text in 2-, 3- and 4-byte characters: folded at 75 octets
 * without splitting a character, and read back whole. */
static void
test_invite_folding(void **state)
{
	struct ical_event ev = meeting();
	struct buf b;
	icalcomponent *c;
	char err[256], *cal;
	int i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_adds(&b, "Ééntje café €uro 😀 "), 0);
	ev.summary = "x";
	ev.description = buf_str(&b);
	ev.location = "Ω";
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	c = icalparser_parse_string(cal);
	assert_string_equal(icalcomponent_get_description(
	    icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT)),
	    str_trim(b.data));
	icalcomponent_free(c);
	free(cal);
	buf_free(&b);
}

static void
test_invite_refuses(void **state)
{
	static const char *const bad_addr[] = {
		"evil@x\r\nATTENDEE:mailto:x@y", "a b@c.nl", "noat", "", "@x.nl",
		"x@", "x@@y.nl", "x@y.nl>", "\"x\"@y.nl", "x;y@z.nl", "x:y@z.nl",
		"jän@school.nl",
	};
	static const char *const bad_uid[] = {
		"", "a b", "a\r\nb", "a;b", "a,b", "a\\b", "ü@x",
	};
	struct ical_event ev;
	char err[256], uid[300], *cal;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad_addr); i++) {
		ev = meeting();
		ev.attendee_addr = bad_addr[i];
		err[0] = '\0';
		assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
		assert_non_null(strstr(err, "attendee address"));
		assert_null(strpbrk(err, "\r\n"));	/* safe to log */
		ev = meeting();
		ev.organizer_addr = bad_addr[i];
		assert_null(ical_invite(&ev, ITIP_CANCEL, err, sizeof(err)));
		assert_non_null(strstr(err, "organizer address"));
	}
	ev = meeting();
	ev.attendee_addr = NULL;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	for (i = 0; i < ARRAY_LEN(bad_uid); i++) {
		ev = meeting();
		ev.uid = bad_uid[i];
		err[0] = '\0';
		assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
		assert_non_null(strstr(err, "UID"));
	}
	memset(uid, 'a', sizeof(uid) - 1);
	uid[sizeof(uid) - 1] = '\0';
	ev = meeting();
	ev.uid = uid;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	ev.uid = NULL;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));

	ev = meeting();
	ev.end = ev.start;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	ev = meeting();
	ev.start = 0;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	assert_non_null(strstr(err, "range"));
	ev = meeting();
	ev.end = utc(2100, 1, 1, 0, 0, 0);
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	ev.end = utc(2099, 12, 31, 23, 0, 0);
	ev.start = ev.end - 3600;
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	assert_non_null(cal);
	assert_true(has_line(cal,
	    "DTSTART;TZID=Europe/Amsterdam:20991231T230000"));
	free(cal);
	ev = meeting();
	ev.sequence = -1;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	ev = meeting();
	ev.summary = "\r\n\t ";
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	assert_non_null(strstr(err, "summary"));
	ev.summary = NULL;
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	ev = meeting();
	ev.tzid = "Mars/Olympus_Mons";
	assert_null(ical_invite(&ev, ITIP_REQUEST, err, sizeof(err)));
	assert_non_null(strstr(err, "Mars/Olympus_Mons"));
	/* err may be NULL */
	assert_null(ical_invite(&ev, ITIP_REQUEST, NULL, 0));
}

static void
test_invite_other_zone(void **state)
{
	struct ical_event ev = meeting();
	struct ical_reply *r;
	char err[256], *cal;
	size_t n;
	int ok;

	(void)state;
	ev.tzid = "America/New_York";
	assert_int_equal(ical_local_to_utc(ev.tzid, 2027, 3, 13, 15, 0,
	    &ev.start), 0);
	ev.end = ev.start + 3600;
	assert_int_equal(ev.start, utc(2027, 3, 13, 20, 0, 0));	/* EST */
	cal = ical_invite(&ev, ITIP_REQUEST, err, sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_true(has_line(cal, "TZID:America/New_York"));
	assert_true(has_line(cal,
	    "DTSTART;TZID=America/New_York:20270313T150000"));
	assert_true(has_line(cal, "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"));
	assert_true(has_line(cal, "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"));
	assert_int_equal(count_prop(cal, "BEGIN"), 5);
	assert_int_equal(restriction_errors(cal, 0, &ok), 0);
	assert_int_equal(ical_parse_reply(cal, strlen(cal), NULL, &r, &n), 0);
	assert_int_equal(r[0].start, ev.start);
	ical_replies_free(r, n);
	free(cal);
}

static void
test_feed(void **state)
{
	struct ical_event ev[3];
	struct ical_reply *r;
	char err[256], *cal;
	size_t n;
	int ok;

	(void)state;
	ev[0] = meeting();
	ev[0].last_modified = DTSTAMP;
	ev[1] = meeting();
	ev[1].uid = "lnm-42-4@lido.stichting.nl";
	ev[1].sequence = 2;
	ev[1].start = ams(2027, 11, 1, 15, 0);
	ev[1].end = ev[1].start + 3600;
	ev[1].last_modified = DTSTAMP + 60;
	ev[2] = meeting();
	ev[2].uid = "lnm-42-5@lido.stichting.nl";
	ev[2].cancelled = 1;
	cal = ical_feed(ev, 3, "Rekenen, groep 7\r\nX-EVIL:1", NULL, err,
	    sizeof(err));
	if (cal == NULL)
		fail_msg("%s", err);
	assert_wire_format(cal);
	assert_true(has_line(cal, "METHOD:PUBLISH"));
	assert_int_equal(count_prop(cal, "METHOD"), 1);
	assert_true(has_line(cal, "NAME:Rekenen\\, groep 7  X-EVIL:1"));
	assert_int_equal(count_prop(cal, "X-WR-CALNAME"), 1);
	assert_int_equal(count_prop(cal, "X-EVIL"), 0);
	assert_true(has_line(cal, "REFRESH-INTERVAL;VALUE=DURATION:PT1H"));
	assert_true(has_line(cal, "X-PUBLISHED-TTL:PT1H"));
	assert_int_equal(count_prop(cal, "BEGIN"), 6);	/* CAL TZ STD DST EV EV */
	assert_int_equal(count_prop(cal, "ATTENDEE"), 0);
	assert_int_equal(count_prop(cal, "ORGANIZER"), 0);
	assert_null(strstr(cal, "lnm-42-5"));
	assert_true(has_line(cal, "SEQUENCE:2"));
	assert_true(has_line(cal, "LAST-MODIFIED:20270115T080100Z"));
	assert_true(has_line(cal,
	    "DTSTART;TZID=Europe/Amsterdam:20271101T150000"));
	assert_int_equal(count_prop(cal, "STATUS"), 2);
	/* RFC 5546 wants an ORGANIZER in PUBLISH; CALENDAR.md leaves it out.
	 * That is the only complaint. */
	assert_int_equal(restriction_errors(cal, 1, &ok), 0);
	assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), 0);
	assert_int_equal(ical_parse_reply(cal, strlen(cal), NULL, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].method, ITIP_PUBLISH);
	assert_int_equal(r[1].start, ev[1].start);
	assert_int_equal(r[1].sequence, 2);
	assert_int_equal(r[1].nattendees, 0);
	ical_replies_free(r, n);
	free(cal);

	/* empty feed, and a feed in two zones */
	/* Without meetings the zone is still there: RFC 5545 wants at
	 * least one component, and Google drops a calendar without. */
	cal = ical_feed(NULL, 0, "Leeg", "Europe/Amsterdam", err, sizeof(err));
	assert_non_null(cal);
	assert_int_equal(count_prop(cal, "BEGIN"), 4);
	assert_true(has_line(cal, "BEGIN:VTIMEZONE"));
	assert_true(has_line(cal, "TZID:Europe/Amsterdam"));
	assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), 0);
	free(cal);
	ev[2].cancelled = 0;
	ev[2].tzid = "Europe/London";
	cal = ical_feed(ev, 3, NULL, NULL, err, sizeof(err));
	assert_non_null(cal);
	assert_int_equal(count_prop(cal, "BEGIN"), 10);
	assert_int_equal(count_prop(cal, "NAME"), 0);
	assert_true(has_line(cal, "TZID:Europe/London"));
	free(cal);
	/* one bad event spoils the feed (and says which) */
	ev[1].uid = "bad uid";
	assert_null(ical_feed(ev, 3, "x", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "bad uid"));
}

/* The self-check can fail. */
static void
test_selfcheck_rejects(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(ical_selfcheck("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	    "PRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:a\r\n"
	    "SUMMARY:b\r\nDTSTART:20270101T100000Z\r\nEND:VEVENT\r\n"
	    "END:VCALENDAR\r\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "iTIP"));
	assert_int_equal(ical_selfcheck("garbage", err, sizeof(err)), -1);
	assert_int_equal(ical_selfcheck("BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\n"
	    "SUMMARY:\r\nEND:VCALENDAR\r\n", err, sizeof(err)), -1);
}

/*
 * The self-check remembers calendar shapes that passed libical's
 * restriction check (ical.c); a calendar that differs only in a missing
 * property or in its STATUS is a new shape and is checked again.
 */
static void
test_selfcheck_remembers_only_shapes(void **state)
{
	static const char head[] = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
	    "PRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
	    "DTSTAMP:20270101T090000Z\r\nDTSTART:20270101T100000Z\r\n"
	    "DTEND:20270101T110000Z\r\nSUMMARY:b\r\nSEQUENCE:0\r\n";
	static const char org[] = "ORGANIZER:mailto:lido@school.test\r\n";
	static const char tail[] = "ATTENDEE:mailto:%s@school.test\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n";
	char err[256], cal[1024], uid[64];

	(void)state;
	for (int i = 0; i < 3; i++) {
		/* The same shape, other values: passes each time. */
		snprintf(uid, sizeof(uid), "UID:u%d\r\nSTATUS:CONFIRMED\r\n",
		    i);
		snprintf(cal, sizeof(cal), "%s%s%s", head, uid, org);
		snprintf(cal + strlen(cal), sizeof(cal) - strlen(cal), tail,
		    i == 1 ? "anna" : "bram");
		assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), 0);
	}
	/* Without ORGANIZER: REQUEST requires it. */
	snprintf(cal, sizeof(cal), "%sUID:u9\r\nSTATUS:CONFIRMED\r\n", head);
	snprintf(cal + strlen(cal), sizeof(cal) - strlen(cal), tail, "anna");
	assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), -1);
	/* STATUS:COMPLETED belongs to a to-do, not to an event. */
	snprintf(cal, sizeof(cal), "%sUID:u9\r\nSTATUS:COMPLETED\r\n%s",
	    head, org);
	snprintf(cal + strlen(cal), sizeof(cal) - strlen(cal), tail, "anna");
	assert_int_equal(ical_selfcheck(cal, err, sizeof(err)), -1);
}

/* ---- parsing ------------------------------------------------------------ */

static void
test_parse_google_replies(void **state)
{
	static const struct {
		const char *file, *uid, *addr;
		enum ical_partstat ps;
		const char *cn;
		time_t dtstamp;
	} t[] = {
		{ "upstream/google-reply-invite_w_rsvps3.ics", "cccc@nylas.com",
		  "karim@example.com", PARTSTAT_ACCEPTED, "Karim Hamidou",
		  1427805824 },
		{ "upstream/google-reply-invite_w_rsvps2.ics", "cccc@nylas.com",
		  "test1@example.com", PARTSTAT_TENTATIVE, "Inbox Apptest",
		  1427807659 },
		{ "upstream/google-reply-invite_w_rsvps_4.ics", "cccc@nylas.com",
		  "karim@example.com", PARTSTAT_DECLINED, "Karim Hamidou",
		  1427805824 },
		{ "upstream/google-reply-invalid_rsvp.ics",
		  "234252$cccc@nylas.com", "karim@example.com",
		  PARTSTAT_DECLINED, "Karim Hamidou", 1427805824 },
	};
	struct ical_reply *r;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		r = parse_fixture(t[i].file, "REPLY", &n);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].method, ITIP_REPLY);
		assert_string_equal(r[0].uid, t[i].uid);
		assert_int_equal(r[0].sequence, 0);
		assert_int_equal(r[0].dtstamp, t[i].dtstamp);
		assert_int_equal(r[0].start, utc(2015, 4, 1, 14, 0, 0));
		assert_int_equal(r[0].end, utc(2015, 4, 1, 14, 30, 0));
		assert_string_equal(r[0].organizer, "test2@example.com");
		assert_null(r[0].comment);
		assert_int_equal(r[0].nattendees, 1);
		assert_string_equal(r[0].attendees[0].addr, t[i].addr);
		assert_string_equal(r[0].attendees[0].cn, t[i].cn);
		assert_int_equal(r[0].attendees[0].partstat, t[i].ps);
		assert_null(r[0].attendees[0].sent_by);
		ical_replies_free(r, n);
	}
}

/* libical's RFC 2446 examples: 42 VEVENTs of every method; the REPLYs
 * give their attendees (VTODO and VFREEBUSY replies are not for us). */
static void
test_parse_libical_2446(void **state)
{
	static const struct {
		const char *addr;
		enum ical_partstat ps;
	} replies[] = {
		{ "b@example.com", PARTSTAT_ACCEPTED },
		{ "c@example.com", PARTSTAT_DELEGATED },
		{ "e@example.com", PARTSTAT_ACCEPTED },
		{ "c@example.com", PARTSTAT_DELEGATED },
		{ "b@example.com", PARTSTAT_NEEDS_ACTION },
	};
	struct ical_reply *r;
	size_t i, n, k = 0;
	int count[ITIP_OTHER + 1] = { 0 }, recurrence = 0;

	(void)state;
	r = parse_fixture("upstream/libical-2446.ics", NULL, &n);
	assert_int_equal(n, 42);
	assert_replies_clean(r, n);
	for (i = 0; i < n; i++) {
		count[r[i].method]++;
		recurrence += r[i].recurrence;
		if (r[i].method != ITIP_REPLY)
			continue;
		assert_true(k < ARRAY_LEN(replies));
		assert_int_equal(r[i].nattendees, 1);
		assert_string_equal(r[i].attendees[0].addr, replies[k].addr);
		assert_int_equal(r[i].attendees[0].partstat, replies[k].ps);
		assert_true(r[i].dtstamp > 0);
		k++;
	}
	assert_int_equal(k, ARRAY_LEN(replies));
	assert_int_equal(count[ITIP_PUBLISH], 4);
	assert_int_equal(count[ITIP_REQUEST], 20);
	assert_int_equal(count[ITIP_CANCEL], 5);
	assert_int_equal(count[ITIP_ADD], 3);
	assert_int_equal(count[ITIP_COUNTER], 2);
	assert_int_equal(count[ITIP_DECLINECOUNTER], 1);
	assert_int_equal(count[ITIP_REFRESH], 2);
	assert_true(recurrence >= 4);
	/* "UID: guid-1-12345@host1.com" (a stray space) and a TZID that the
	 * calendar defines (America-Chicago, 16:00 CDT) */
	for (i = 0; i < n && strcmp(r[i].uid, "guid-1-12345@host1.com"); i++)
		;
	assert_true(i < n);
	assert_int_equal(r[3].start, utc(1997, 7, 2, 21, 0, 0));
	ical_replies_free(r, n);
}

/* The calendars of real invitations, as a client answers our own. */
static void
test_parse_client_requests(void **state)
{
	static const struct {
		const char *file;
		const char *ct;
		enum itip_method m;
		size_t natt;
		time_t start;
	} t[] = {
		{ "request_google.ics", "REQUEST", ITIP_REQUEST, 3, 1740074400 },
		{ "request_application_ics.ics", NULL, ITIP_REQUEST, 3,
		  1740074400 },
		{ "request_proton_bridge.ics", NULL, ITIP_REQUEST, 3,
		  1740074400 },
		/* W. Europe Standard Time 08:00 = 07:00Z */
		{ "request_outlook_com.ics", "REQUEST", ITIP_REQUEST, 1,
		  1740553200 },
		/* FLE Standard Time 09:00 = 07:00Z */
		{ "tb-outlook-test-invite.ics", "REQUEST", ITIP_REQUEST, 1,
		  1637996400 },
		{ "tb-teams-meeting-invite.ics", "REQUEST", ITIP_REQUEST, 2,
		  1606928400 },
		{ "tb-meet-meeting-invite.ics", "REQUEST", ITIP_REQUEST, 2,
		  1616405400 },
		{ "tb-single-event.ics", "REQUEST", ITIP_REQUEST, 3,
		  1647428400 },
		{ "tb-update-major.ics", "REQUEST", ITIP_REQUEST, 3,
		  1647406800 },
		{ "tb-update-minor.ics", "REQUEST", ITIP_REQUEST, 3,
		  1647428400 },
		{ "tb-cancel-single-event.ics", "CANCEL", ITIP_CANCEL, 3,
		  1647428400 },
	};
	struct ical_reply *r;
	char *rel;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		rel = xasprintf("upstream/requests/%s", t[i].file);
		r = parse_fixture(rel, t[i].ct, &n);
		assert_int_equal(n, 1);
		assert_replies_clean(r, n);
		if (r[0].method != t[i].m || r[0].nattendees != t[i].natt ||
		    r[0].start != t[i].start || r[0].uid[0] == '\0' ||
		    r[0].organizer == NULL)
			fail_msg("%s: method %s, %zu attendees, start %lld",
			    rel, ical_method_name(r[0].method),
			    r[0].nattendees, (long long)r[0].start);
		ical_replies_free(r, n);
		free(rel);
	}
}

/* The replies written from CALENDAR.md's table (see ORIGIN). */
static void
test_parse_client_replies(void **state)
{
	static const struct {
		const char *file;
		const char *ct;
		enum itip_method m;
		const char *uid;
		int seq;
		time_t dtstamp;
		time_t start;
		const char *organizer;
		const char *addr;
		enum ical_partstat ps;
		const char *sent_by;
		const char *comment;
	} t[] = {
		{ "outlook-accept.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-3@lido.stichting.nl", 1, 0, 1806325200, NULL,
		  "j.devries@basisschool-dewilg.nl", PARTSTAT_ACCEPTED, NULL,
		  "Ik kom, maar iets later." },
		{ "outlook-decline-nl.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-3@lido.stichting.nl", 1, 1805614212, 1806325200, NULL,
		  "f.elamrani@obs-deregenboog.nl", PARTSTAT_DECLINED, NULL,
		  "Helaas, dan is er ouderavond.\n\nGroet, Fatima" },
		{ "outlook-delegate-sent-by.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-3@lido.stichting.nl", 1, 0, 1806325200, NULL,
		  "directeur@basisschool-dewilg.nl", PARTSTAT_TENTATIVE,
		  "secretariaat@basisschool-dewilg.nl", NULL },
		/* COUNTER: reported, with the proposed time, not a REPLY */
		{ "outlook-counter.ics", "COUNTER", ITIP_COUNTER,
		  "lnm-42-3@lido.stichting.nl", 1, 1805619600, 1806328800, NULL,
		  "j.devries@basisschool-dewilg.nl", PARTSTAT_TENTATIVE, NULL,
		  "Kan het een uur later?" },
		/* Apple: no method= in Content-Type; METHOD in the body */
		{ "apple-tentative.ics", NULL, ITIP_REPLY,
		  "lnm-42-4@lido.stichting.nl", 0, 1824023553, 1824901200,
		  "lido@stichting.nl", "piet.bakker@icloud.com",
		  PARTSTAT_TENTATIVE, NULL, NULL },
		{ "thunderbird-accept.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-5@lido.stichting.nl", 2, 1805616062, 1825077600,
		  "lido@stichting.nl", "k.smit@obs-het-anker.nl",
		  PARTSTAT_ACCEPTED, NULL, NULL },
		{ "thunderbird-accept-old-sequence.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-5@lido.stichting.nl", 0, 1804838462, 1824469200,
		  "lido@stichting.nl", "k.smit@obs-het-anker.nl",
		  PARTSTAT_ACCEPTED, NULL, NULL },
		{ "google-accept-comment.ics", "REPLY", ITIP_REPLY,
		  "lnm-42-2@lido.stichting.nl", 0, 1805364610, 1806156000,
		  "lido@stichting.nl", "sanne.deboer@gmail.com",
		  PARTSTAT_ACCEPTED, NULL, "Ik neem mijn collega mee: Kees" },
		/* the body's METHOD wins over a wrong Content-Type */
		{ "google-accept-comment.ics", "REQUEST", ITIP_REPLY,
		  "lnm-42-2@lido.stichting.nl", 0, 1805364610, 1806156000,
		  "lido@stichting.nl", "sanne.deboer@gmail.com",
		  PARTSTAT_ACCEPTED, NULL, "Ik neem mijn collega mee: Kees" },
	};
	struct ical_reply *r;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		r = parse_fixture(t[i].file, t[i].ct, &n);
		assert_int_equal(n, 1);
		assert_replies_clean(r, n);
		print_message("%s\n", t[i].file);
		assert_int_equal(r[0].method, t[i].m);
		assert_string_equal(r[0].uid, t[i].uid);
		assert_int_equal(r[0].sequence, t[i].seq);
		assert_int_equal(r[0].dtstamp, t[i].dtstamp);
		assert_int_equal(r[0].start, t[i].start);
		assert_int_equal(r[0].end, t[i].start + 5400);
		if (t[i].organizer == NULL)
			assert_null(r[0].organizer);
		else
			assert_string_equal(r[0].organizer, t[i].organizer);
		assert_int_equal(r[0].nattendees, 1);
		assert_string_equal(r[0].attendees[0].addr, t[i].addr);
		assert_int_equal(r[0].attendees[0].partstat, t[i].ps);
		if (t[i].sent_by == NULL)
			assert_null(r[0].attendees[0].sent_by);
		else
			assert_string_equal(r[0].attendees[0].sent_by,
			    t[i].sent_by);
		if (t[i].comment == NULL)
			assert_null(r[0].comment);
		else
			assert_string_equal(r[0].comment, t[i].comment);
		ical_replies_free(r, n);
	}

	/* two calendars in one part (XROOT), LF only */
	r = parse_fixture("two-calendars-lf.ics", NULL, &n);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].uid, "lnm-42-6@lido.stichting.nl");
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_ACCEPTED);
	assert_string_equal(r[1].uid, "lnm-42-7@lido.stichting.nl");
	assert_int_equal(r[1].sequence, 3);
	assert_int_equal(r[1].attendees[0].partstat, PARTSTAT_DECLINED);
	assert_int_equal(r[1].method, ITIP_REPLY);
	ical_replies_free(r, n);
}

static struct ical_reply *
parse_str(const char *s, const char *ct, size_t *n)
{
	struct ical_reply *r = NULL;
	int ret = ical_parse_reply(s, strlen(s), ct, &r, n);

	if (ret != 0)
		fail_msg("parse: %d for\n%s", ret, s);
	assert_replies_clean(r, *n);
	return r;
}

#define CAL(method, body) \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n" method \
	"BEGIN:VEVENT\r\nUID:u1\r\n" body "END:VEVENT\r\nEND:VCALENDAR\r\n"

static void
test_parse_methods(void **state)
{
	static const struct {
		const char *text, *ct;
		enum itip_method m;
	} t[] = {
		{ CAL("", ""), "REPLY", ITIP_REPLY },
		{ CAL("", ""), "\"reply\"", ITIP_REPLY },
		{ CAL("", ""), NULL, ITIP_NONE },
		{ CAL("", ""), "", ITIP_NONE },
		{ CAL("", ""), "X-FOO", ITIP_OTHER },
		{ CAL("METHOD:REQUEST\r\n", ""), "REPLY", ITIP_REQUEST },
		{ CAL("METHOD:reply\r\n", ""), NULL, ITIP_REPLY },
		{ CAL("METHOD:X-MS-WHATEVER\r\n", ""), "REPLY", ITIP_OTHER },
		{ CAL("METHOD:\r\n", ""), "CANCEL", ITIP_CANCEL },
		{ CAL("METHOD:COUNTER\r\n", ""), "REPLY", ITIP_COUNTER },
		/* a bare VEVENT: only the Content-Type can tell */
		{ "BEGIN:VEVENT\r\nUID:u1\r\nEND:VEVENT\r\n", "reply",
		  ITIP_REPLY },
	};
	struct ical_reply *r;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(t); i++) {
		r = parse_str(t[i].text, t[i].ct, &n);
		assert_int_equal(n, 1);
		if (r[0].method != t[i].m)
			fail_msg("case %zu: %s", i, ical_method_name(r[0].method));
		assert_string_equal(r[0].uid, "u1");
		ical_replies_free(r, n);
	}
	assert_string_equal(ical_method_name(ITIP_REPLY), "REPLY");
	assert_string_equal(ical_method_name(ITIP_DECLINECOUNTER),
	    "DECLINECOUNTER");
	assert_string_equal(ical_method_name(ITIP_NONE), "");
	assert_int_equal(ical_method_from_name("Cancel"), ITIP_CANCEL);
	assert_int_equal(ical_method_from_name("PUBLISH; x"), ITIP_PUBLISH);
	assert_string_equal(ical_partstat_name(PARTSTAT_TENTATIVE), "TENTATIVE");
}

static void
test_parse_attendees(void **state)
{
	static const char *text = CAL("METHOD:REPLY\r\n",
	    "ATTENDEE;PARTSTAT=ACCEPTED:MailTo:  Upper@Example.NL \r\n"
	    "ATTENDEE;PARTSTAT=DECLINED:<mailto:angle@example.nl>\r\n"
	    "ATTENDEE;EMAIL=Apple@iCloud.com;PARTSTAT=TENTATIVE:"
	    "urn:uuid:5b7c1f2e-0000-4000-8000-000000000000\r\n"
	    "ATTENDEE;PARTSTAT=COMPLETED:mailto:done@example.nl\r\n"
	    "ATTENDEE;PARTSTAT=X-MAYBE:mailto:x@example.nl\r\n"
	    "ATTENDEE:mailto:none@example.nl\r\n"
	    "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:d@x.nl\";"
	    "SENT-BY=\"mailto:Boss@X.nl\":mailto:me@x.nl\r\n"
	    "ATTENDEE;PARTSTAT=ACCEPTED;X-RESPONSE-COMMENT=\"tot dan\\; groet\":"
	    "mailto:g@gmail.com\r\n"
	    "SEQUENCE:-5\r\n"
	    "X-RESPONSE-COMMENT:as a property\\, escaped\\nnext line\r\n");
	struct ical_reply *r;
	size_t n;

	(void)state;
	r = parse_str(text, NULL, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].nattendees, 8);
	assert_string_equal(r[0].attendees[0].addr, "upper@example.nl");
	assert_string_equal(r[0].attendees[1].addr, "angle@example.nl");
	assert_int_equal(r[0].attendees[1].partstat, PARTSTAT_DECLINED);
	assert_string_equal(r[0].attendees[2].addr, "apple@icloud.com");
	assert_int_equal(r[0].attendees[2].partstat, PARTSTAT_TENTATIVE);
	assert_int_equal(r[0].attendees[3].partstat, PARTSTAT_OTHER);
	assert_int_equal(r[0].attendees[4].partstat, PARTSTAT_OTHER);
	assert_int_equal(r[0].attendees[5].partstat, PARTSTAT_NEEDS_ACTION);
	assert_int_equal(r[0].attendees[6].partstat, PARTSTAT_DELEGATED);
	assert_string_equal(r[0].attendees[6].sent_by, "boss@x.nl");
	assert_non_null(r[0].attendees[7].comment);
	assert_int_equal(r[0].sequence, 0);
	/* the X-RESPONSE-COMMENT property comes before the parameter */
	assert_string_equal(r[0].comment, "as a property, escaped\nnext line");
	ical_replies_free(r, n);
}

static void
test_parse_malformed_fixtures(void **state)
{
	static const char *const files[] = {
		"malformed/truncated.ics", "malformed/stray-ends.ics",
		"malformed/empty-values.ics", "malformed/junk-in-calendar.ics",
	};
	struct ical_reply *r, sentinel;
	char *text;
	size_t i, n, len;

	(void)state;
	text = fixture("malformed/binary-junk.bin", &len);
	r = &sentinel;
	n = 7;
	assert_int_equal(ical_parse_reply(text, len, "REPLY", &r, &n),
	    ICAL_EPARSE);
	assert_null(r);
	assert_int_equal(n, 0);
	free(text);

	for (i = 0; i < ARRAY_LEN(files); i++) {
		r = parse_fixture(files[i], NULL, &n);
		assert_int_equal(n, 1);
		assert_replies_clean(r, n);
		assert_int_equal(r[0].nattendees, 1);
		ical_replies_free(r, n);
	}

	/* the truncated Outlook reply still says who accepted */
	r = parse_fixture("malformed/truncated.ics", NULL, &n);
	assert_int_equal(r[0].method, ITIP_REPLY);
	assert_string_equal(r[0].uid, "lnm-42-3@lido.stichting.nl");
	assert_string_equal(r[0].attendees[0].addr,
	    "j.devries@basisschool-dewilg.nl");
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_ACCEPTED);
	assert_int_equal(r[0].start, 0);
	ical_replies_free(r, n);

	r = parse_fixture("malformed/stray-ends.ics", NULL, &n);
	assert_int_equal(r[0].method, ITIP_REPLY);
	assert_string_equal(r[0].attendees[0].addr, "b@school-b.nl");
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_DECLINED);
	ical_replies_free(r, n);

	r = parse_fixture("malformed/junk-in-calendar.ics", NULL, &n);
	assert_string_equal(r[0].attendees[0].addr, "d@school-d.nl");
	assert_string_equal(r[0].comment,
	    "nul byte and \xef\xbf\xbd( bad utf-8");
	ical_replies_free(r, n);
}

static int
expect_error(const char *text, size_t len)
{
	struct ical_reply *r;
	size_t n;
	int ret = ical_parse_reply(text, len, NULL, &r, &n);

	if (ret == 0)
		ical_replies_free(r, n);
	return ret;
}

static void
test_parse_limits(void **state)
{
	struct buf b;
	struct ical_reply *r;
	size_t n, i;
	char *big;

	(void)state;
	assert_int_equal(ical_parse_reply(NULL, 0, NULL, &r, &n), ICAL_EPARSE);
	assert_int_equal(expect_error("", 0), ICAL_EPARSE);
	assert_int_equal(expect_error("\r\n\r\n", 4), ICAL_EPARSE);
	assert_int_equal(expect_error("SUMMARY:x\r\n", 11), ICAL_EPARSE);
	assert_int_equal(expect_error("BEGIN:FOO\r\nEND:FOO\r\n", 20),
	    ICAL_EPARSE);
	/* a calendar with nothing for us is no error */
	r = parse_str("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n", NULL, &n);
	assert_int_equal(n, 0);
	assert_null(r);

	/* len is honoured: the second calendar is past it */
	r = parse_str(CAL("METHOD:REPLY\r\n", ""), NULL, &n);
	ical_replies_free(r, n);
	{
		const char *two = CAL("METHOD:REPLY\r\n", "") CAL("", "");

		assert_int_equal(ical_parse_reply(two,
		    strlen(CAL("METHOD:REPLY\r\n", "")), NULL, &r, &n), 0);
		assert_int_equal(n, 1);
		ical_replies_free(r, n);
	}

	/* over the input limit */
	big = xmalloc(ICAL_MAX_INPUT + 2);
	memset(big, 'A', ICAL_MAX_INPUT + 1);
	big[ICAL_MAX_INPUT + 1] = '\0';
	assert_int_equal(expect_error(big, ICAL_MAX_INPUT + 1), ICAL_ETOOBIG);
	free(big);

	/* 10,000 attendees: kept to the cap */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VEVENT\r\nUID:many\r\n"), 0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_addf(&b, "ATTENDEE;PARTSTAT=ACCEPTED;"
		    "CN=Person %zu:mailto:p%zu@example.nl\r\n", i, i), 0);
	assert_int_equal(buf_adds(&b, "END:VEVENT\r\nEND:VCALENDAR\r\n"), 0);
	r = parse_str(b.data, NULL, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].nattendees, ICAL_MAX_ATTENDEES);
	assert_string_equal(r[0].attendees[999].addr, "p999@example.nl");
	ical_replies_free(r, n);
	buf_free(&b);

	/* a megabyte-long COMMENT line: the comment is capped */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VEVENT\r\nUID:long\r\nCOMMENT:"), 0);
	for (i = 0; i < 1024 * 1024; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_adds(&b, "\r\nATTENDEE;PARTSTAT=DECLINED:"
	    "mailto:x@y.nl\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 0);
	r = parse_str(b.data, NULL, &n);
	assert_int_equal(n, 1);
	assert_true(strlen(r[0].comment) <= 4096);
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_DECLINED);
	ical_replies_free(r, n);
	buf_free(&b);

	/* a megabyte of folded continuation lines, one property */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"
	    "UID:fold\r\nX-JUNK:a"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_adds(&b, "\r\n 0123456789"), 0);
	assert_int_equal(buf_adds(&b, "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 0);
	r = parse_str(b.data, NULL, &n);
	assert_int_equal(n, 1);
	ical_replies_free(r, n);
	buf_free(&b);

	/* too many lines */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"), 0);
	for (i = 0; i < ICAL_MAX_LINES; i++)
		assert_int_equal(buf_adds(&b, "X:1\n"), 0);
	assert_int_equal(expect_error(b.data, b.len), ICAL_ETOOBIG);
	buf_free(&b);

	/* nesting deeper than real calendars go */
	buf_init(&b, 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_adds(&b, "BEGIN:VEVENT\r\n"), 0);
	assert_int_equal(expect_error(b.data, b.len), ICAL_ETOOBIG);
	buf_free(&b);

	/* more VEVENTs than we report */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"),
	    0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "BEGIN:VEVENT\r\nUID:e%zu\r\n"
		    "END:VEVENT\r\n", i), 0);
	r = parse_str(b.data, NULL, &n);
	assert_int_equal(n, ICAL_MAX_EVENTS);
	assert_string_equal(r[ICAL_MAX_EVENTS - 1].uid, "e255");
	ical_replies_free(r, n);
	buf_free(&b);
}

/*
 * A TZID from mail must not name a file for libical to open: libical
 * builds "<zoneinfo>/<TZID>".  A FIFO without writer would block the
 * daemon forever; alarm() turns a hang into a failure.
 */
static void
test_parse_tzid_paths(void **state)
{
	char dir[] = "/tmp/test_ical.XXXXXX", *fifo, *text;
	struct ical_reply *r;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fifo = xasprintf("%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	text = xasprintf(CAL("METHOD:REPLY\r\n",
	    "DTSTART;TZID=../../../../../../../..%s:20270329T150000\r\n"
	    "DTEND;TZID=../../../../../../../../etc/passwd:20270329T160000\r\n"
	    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.nl\r\n"), fifo);
	alarm(20);
	r = parse_str(text, NULL, &n);
	alarm(0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0);
	assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_ACCEPTED);
	ical_replies_free(r, n);
	free(text);
	unlink(fifo);
	rmdir(dir);
	free(fifo);

	/* a well-formed IANA name without VTIMEZONE: tzdata is used */
	r = parse_str(CAL("METHOD:REPLY\r\n",
	    "DTSTART;TZID=Europe/Paris:20270329T150000\r\n"
	    "DTEND;TZID=Europe/Paris:20270329T163000\r\n"), NULL, &n);
	assert_int_equal(r[0].start, utc(2027, 3, 29, 13, 0, 0));
	ical_replies_free(r, n);
	/* unknown and not defined: unknown instant, not a guess */
	r = parse_str(CAL("METHOD:REPLY\r\n",
	    "DTSTART;TZID=Romance Standard Time:20270329T150000\r\n"
	    "DTEND:20270329T160000\r\n"), NULL, &n);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0);
	ical_replies_free(r, n);
}

/*
 * VTIMEZONEs from mail that would make libical expand for hours (it
 * expands every observance from DTSTART on): not used, the instant is
 * unknown.  alarm() turns a hang into a failure.
 */
static void
test_parse_hostile_vtimezone(void **state)
{
	static const char *const rules[] = {
		"DTSTART:16010101T000000\r\nRRULE:FREQ=SECONDLY",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=MINUTELY;INTERVAL=1",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=DAILY",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;BYHOUR=1,2,3",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=1,2,3,"
		    "4,5,6,7,8,9,10,11,12;BYDAY=MO,TU,WE,TH,FR,SA,SU",
		"DTSTART:00010101T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=3",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=3\r\n"
		    "RRULE:FREQ=YEARLY;BYMONTH=4",
		"RRULE:FREQ=YEARLY;BYMONTH=3",
		"DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=1,2,3,"
		    "4,5,6,7,8;BYDAY=MO,TU,WE,TH,FR,SA,SU",
	};
	struct ical_reply *r;
	char *text;
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_LEN(rules); i++) {
		text = xasprintf("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
		    "BEGIN:VTIMEZONE\r\nTZID:Evil\r\nBEGIN:STANDARD\r\n"
		    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n%s\r\n"
		    "END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
		    "UID:u\r\nDTSTART;TZID=Evil:20270101T100000\r\n"
		    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.nl\r\n"
		    "END:VEVENT\r\nEND:VCALENDAR\r\n", rules[i]);
		alarm(20);
		r = parse_str(text, NULL, &n);
		alarm(0);
		assert_int_equal(n, 1);
		assert_int_equal(r[0].start, 0);
		assert_int_equal(r[0].attendees[0].partstat, PARTSTAT_ACCEPTED);
		ical_replies_free(r, n);
		free(text);
	}
	/* the same frame with a real rule: the instant is known */
	r = parse_str("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"
	    "BEGIN:VTIMEZONE\r\nTZID:Tame\r\nBEGIN:STANDARD\r\n"
	    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
	    "DTSTART:16010101T030000\r\n"
	    "RRULE:FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=25,26,27,28,29,30,31;"
	    "BYDAY=SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
	    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
	    "DTSTART:16010101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;"
	    "BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
	    "BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=Tame:20271101T150000\r\n"
	    "DTEND;TZID=Tame:20271030T150000\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n", NULL, &n);
	assert_int_equal(r[0].start, utc(2027, 11, 1, 14, 0, 0));
	assert_int_equal(r[0].end, utc(2027, 10, 30, 13, 0, 0));
	ical_replies_free(r, n);
}

/* A client built on libical (Evolution) sends the full tzdata history,
 * 26 observances back to 1835 (CALENDAR.md): within the budget. */
static void
test_parse_full_history_zone(void **state)
{
	icaltimezone *b;
	struct ical_reply *r;
	char *vtz, *text;
	size_t n;

	(void)state;
	b = icaltimezone_get_builtin_timezone("Europe/Amsterdam");
	assert_non_null(b);
	vtz = icalcomponent_as_ical_string_r(icaltimezone_get_component(b));
	assert_non_null(strstr(vtz, "TZID:/freeassociation.sourceforge.net/"));
	text = xasprintf("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n%s"
	    "BEGIN:VEVENT\r\nUID:u\r\nDTSTART;TZID=/freeassociation."
	    "sourceforge.net/Europe/Amsterdam:20271030T150000\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n", vtz);
	r = parse_str(text, NULL, &n);
	assert_int_equal(r[0].start, utc(2027, 10, 30, 13, 0, 0));
	ical_replies_free(r, n);
	free(text);
	free(vtz);
}

/* One parse lets libical expand at most 16 zones of its own. */
static void
test_parse_many_zones(void **state)
{
	struct buf b;
	struct ical_reply *r;
	size_t i, n;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"),
	    0);
	for (i = 0; i < 20; i++)
		assert_int_equal(buf_addf(&b, "BEGIN:VTIMEZONE\r\nTZID:Z%zu\r\n"
		    "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
		    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\n"
		    "END:STANDARD\r\nEND:VTIMEZONE\r\n", i), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(buf_addf(&b, "BEGIN:VEVENT\r\nUID:e%zu\r\n"
		    "DTSTART;TZID=Z%zu:20270101T100000\r\n"
		    "DTEND;TZID=Z%zu:20270101T110000\r\nEND:VEVENT\r\n",
		    i, i, i), 0);
	r = parse_str(b.data, NULL, &n);
	assert_int_equal(n, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(r[i].start, i < 16 ?
		    utc(2027, 1, 1, 9, 0, 0) : 0);
		assert_int_equal(r[i].end, i < 16 ?
		    utc(2027, 1, 1, 10, 0, 0) : 0);
	}
	ical_replies_free(r, n);
	buf_free(&b);
}

/* Mutations of every fixture: never a crash (ASan/UBSan watch), always
 * clean strings, and libical kept quiet on stderr. */
static void
test_parse_mutations(void **state)
{
	static const char *const files[] = {
		"outlook-accept.ics", "google-accept-comment.ics",
		"apple-tentative.ics", "thunderbird-accept.ics",
		"two-calendars-lf.ics", "upstream/libical-2446.ics",
		"upstream/requests/tb-teams-meeting-invite.ics",
	};
	struct ical_reply *r;
	char *orig, *text, path[] = "/tmp/test_ical_stderr.XXXXXX";
	size_t f, len, n, k, pos;
	unsigned seed = 2027;
	int i, ret, fd, saved;
	struct stat st;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	saved = dup(2);
	assert_true(saved >= 0);
	for (f = 0; f < ARRAY_LEN(files); f++) {
		orig = fixture(files[f], &len);
		text = xmalloc(len + 1);
		for (i = 0; i < 100; i++) {
			memcpy(text, orig, len + 1);
			for (k = 0; k < 1 + (size_t)(rand_r(&seed) % 8); k++) {
				pos = (size_t)rand_r(&seed) % len;
				switch (rand_r(&seed) % 4) {
				case 0:
					text[pos] = (char)rand_r(&seed);
					break;
				case 1:
					text[pos] = "\r\n:;=\",\\ \0"[rand_r(&seed) % 11];
					break;
				case 2:
					memmove(text + pos, text + pos + 1,
					    len - pos);
					break;
				default:
					break;
				}
			}
			/* and cut short at a random place */
			fflush(stderr);
			dup2(fd, 2);
			ret = ical_parse_reply(text, i % 3 ? len :
			    (size_t)rand_r(&seed) % len, NULL, &r, &n);
			fflush(stderr);
			dup2(saved, 2);
			assert_true(ret == 0 || ret == ICAL_EPARSE);
			if (ret == 0) {
				assert_replies_clean(r, n);
				ical_replies_free(r, n);
			}
		}
		free(text);
		free(orig);
	}
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	if (st.st_size != 0)
		fail_msg("libical wrote %lld bytes to stderr (see %s)",
		    (long long)st.st_size, path);
	unlink(path);
}

static int
teardown(void **state)
{
	(void)state;
	ical_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_to_utc_dst),
		cmocka_unit_test(test_local_to_utc_refuses),
		cmocka_unit_test(test_offsets_and_local),
		cmocka_unit_test(test_zones_match_tzdata),
		cmocka_unit_test(test_zones_refused),
		cmocka_unit_test(test_invite_request),
		cmocka_unit_test(test_invite_cancel),
		cmocka_unit_test(test_invite_dst_sides),
		cmocka_unit_test(test_invite_injection),
		cmocka_unit_test(test_invite_cleans_text),
		cmocka_unit_test(test_invite_folding),
		cmocka_unit_test(test_invite_refuses),
		cmocka_unit_test(test_invite_other_zone),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_selfcheck_rejects),
		cmocka_unit_test(test_parse_google_replies),
		cmocka_unit_test(test_parse_libical_2446),
		cmocka_unit_test(test_parse_client_requests),
		cmocka_unit_test(test_parse_client_replies),
		cmocka_unit_test(test_parse_methods),
		cmocka_unit_test(test_parse_attendees),
		cmocka_unit_test(test_parse_malformed_fixtures),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_tzid_paths),
		cmocka_unit_test(test_parse_hostile_vtimezone),
		cmocka_unit_test(test_parse_full_history_zone),
		cmocka_unit_test(test_parse_many_zones),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_selfcheck_remembers_only_shapes),
	};

	log_init(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
